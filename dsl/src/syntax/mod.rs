//! Parsing: source text → [`ast::File`]. The only module that sees pest's `Pairs`.
//!
//! Before pest runs, a lexical pre-scan (`prescan.rs`) rejects what would make a
//! recursive-descent parser overflow its stack (brackets nested deeper than [`MAX_NESTING`])
//! and control characters, each with a diagnostic at the exact character. pest's own errors
//! become `E0101` with the expected tokens named in words, or `E0105` when the offending
//! character is a symbol the language does not know (`errors.rs`). The tree is built from
//! pest's pairs in `tree.rs` (models, statements, declarations, types) and `expr.rs`
//! (expressions, names, numbers); `lints.rs` holds the syntax lints that need the tree and
//! [`walk`], the expression visitor.

mod errors;
mod expr;
mod leaves;
mod lints;
mod prescan;
mod tree;

pub use expr::VULGAR_FRACTIONS;
pub use leaves::{Leaf, leaves};
pub use lints::walk;

use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use pest::Parser as _;
use prescan::prescan;

mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub struct NnParser;
}

use grammar::{NnParser, Rule};

/// The deepest nesting of brackets and big operators a spec may use.
pub const MAX_NESTING: usize = 128;

/// Parses a whole file. On failure, every diagnostic found (the pre-scan can find several).
pub fn parse(src: &str) -> Result<ast::File, Vec<Diagnostic>> {
    prescan(src)?;
    let mut pairs = NnParser::parse(Rule::file, src).map_err(|_| {
        // Parse again with pest's attempt tracking on, which names the literal tokens
        // expected at the furthest position. Only failed parses pay for it. The switch is
        // process-wide; turning it on only adds detail to errors.
        pest::set_error_detail(true);
        match NnParser::parse(Rule::file, src) {
            Err(e) => vec![errors::pest_error(src, &e)],
            Ok(_) => vec![Diagnostic::new(
                Code::E0101,
                Span::new(0, 0),
                "syntax error",
            )],
        }
    })?;
    let mut diags = norm_subscripts(pairs.clone());
    let mut file = pairs
        .next()
        .map(tree::build_file)
        .unwrap_or(ast::File { models: Vec::new() });
    crate::conventions::apply(&mut file, src, &mut diags);
    if file.models.is_empty() {
        diags.push(
            Diagnostic::new(Code::E0104, Span::new(0, 0), "no model in this file")
                .label("expected `model Name { … }`")
                .help("a spec starts with `model Name[D = 3] {`, then one statement per line, then `}`"),
        );
    }
    for model in &file.models {
        for stmt in &model.stmts {
            lints::lint_stmt(stmt, &mut diags);
        }
    }
    if diags.is_empty() {
        Ok(file)
    } else {
        Err(diags)
    }
}

/// `E0337` for each subscript on a norm other than `F`: `‖A‖_F` is the Frobenius norm, the
/// square root of the sum of the squares of every entry, which is what `‖A‖` computes of a
/// matrix (and of a vector its 2-norm, the same sum), so `_F` changes nothing and the tree
/// does not keep it. Any other subscript names a norm the language does not compute.
fn norm_subscripts(pairs: pest::iterators::Pairs<'_, Rule>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for p in pairs
        .flatten()
        .filter(|p| p.as_rule() == Rule::norm_sub_word)
    {
        let sub = p.as_str();
        if sub == "F" {
            continue;
        }
        let help = match sub {
            "2" => {
                "of a vector, the 2-norm is `‖x‖` (no subscript); of a matrix, `‖A‖_2` is the \
                    largest singular value, which the language does not compute (`‖A‖` and \
                    `‖A‖_F` are the Frobenius norm, `√(∑_{i,j} A_{ij}²)`)"
            }
            "1" => "the 1-norm of a vector is written as its sum, `∑_i |x_i|`",
            "∞" | "inf" => "the max-norm of a vector is written as its maximum, `max_i |x_i|`",
            _ => {
                "only `F` is read as a norm's subscript: `‖A‖_F`, the Frobenius norm \
                  `√(∑_{i,j} A_{ij}²)`, is `‖A‖` (of a vector, its 2-norm)"
            }
        };
        let span = p.as_span();
        diags.push(
            Diagnostic::new(
                Code::E0337,
                Span::new(span.start(), span.end()),
                format!("the norm `‖·‖_{sub}` is not in the language"),
            )
            .label("a norm's subscript")
            .help(help),
        );
    }
    diags
}

/// Parses `text` as one name as a spec writes it (`beta_0`, `θ_{10}`, `W_hh`, `Ω₀`), or
/// `None` when it is not exactly one name.
pub fn parse_name(text: &str) -> Option<ast::Name> {
    prescan(text).ok()?;
    let mut pairs = NnParser::parse(Rule::name_alone, text).ok()?;
    let pair = pairs.next()?;
    (pair.as_str().len() == text.len()).then(|| expr::build_name(pair))
}
