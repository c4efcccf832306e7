//! Parsing: source text → [`ast::File`]. The only module that sees pest's `Pairs`.
//!
//! Before pest runs, a lexical pre-scan rejects what would make a recursive-descent parser
//! overflow its stack (brackets nested deeper than [`MAX_NESTING`]) and control characters,
//! each with a diagnostic at the exact character. pest's own errors become `E0101` with the
//! expected tokens named in words, or `E0105` when the offending character is a symbol the
//! language does not know.

use crate::ast::{self, BigOp, BinOp, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use pest::Parser as _;
use pest::iterators::Pair;

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
            Err(e) => vec![pest_error(src, &e)],
            Ok(_) => vec![Diagnostic::new(
                Code::E0101,
                Span::new(0, 0),
                "syntax error",
            )],
        }
    })?;
    let mut file = pairs
        .next()
        .map(build_file)
        .unwrap_or(ast::File { models: Vec::new() });
    let mut diags = Vec::new();
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
            lint_stmt(stmt, &mut diags);
        }
    }
    if diags.is_empty() {
        Ok(file)
    } else {
        Err(diags)
    }
}

// ------------------------------------------------------------------------------- pre-scan

fn prescan(src: &str) -> Result<(), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    // `open` holds, per open bracket, the big operators (∑ ∏ √ ∂) seen since the last `+`/`-`
    // at that level: each of them nests its body, a `+` or `-` ends their bodies.
    let mut open: Vec<usize> = vec![0];
    let mut reported_depth = false;
    let mut in_comment = false;
    // Norm bars in the current statement, `‖` counting 2 and `|` 1: a norm's bars look alike,
    // so how deeply norms nest is bounded through how many bars a statement has.
    let mut bars = 0usize;
    for (i, c) in src.char_indices() {
        let span = Span::new(i, i + c.len_utf8());
        if c == '\n' {
            in_comment = false;
            if open.len() == 1 {
                open[0] = 0;
            }
            // A line break at the level of a model's statements ends a statement.
            if open.len() <= 2 {
                bars = 0;
            }
            continue;
        }
        if c.is_control() && c != '\t' && c != '\r' {
            diags.push(
                Diagnostic::new(
                    Code::E0107,
                    span,
                    format!("control character U+{:04X} in the source", c as u32),
                )
                .label("not allowed here")
                .help("delete it; only tabs, spaces and line breaks may separate tokens"),
            );
            continue;
        }
        if in_comment {
            continue;
        }
        match c {
            '#' => in_comment = true,
            '[' | '(' | '{' => open.push(0),
            ']' | ')' | '}' if open.len() > 1 => {
                open.pop();
            }
            '∑' | '∏' | '√' | '∂' => {
                if let Some(n) = open.last_mut() {
                    *n += 1;
                }
            }
            '+' | '-' | '−' | ';' | ',' | '=' => {
                if let Some(n) = open.last_mut() {
                    *n = 0;
                }
                if c == ';' && open.len() <= 2 {
                    bars = 0;
                }
            }
            '‖' => bars += 2,
            '|' => bars += 1,
            _ => {}
        }
        if bars > 4 * MAX_NESTING && !reported_depth {
            reported_depth = true;
            diags.push(
                Diagnostic::new(
                    Code::E0102,
                    span,
                    format!("more than {} norm bars `‖` in one statement", 2 * MAX_NESTING),
                )
                .label("one bar too many")
                .help("name an intermediate quantity with its own equation, as the book does with h_1, h_2, …"),
            );
        }
        let nesting = open.len() - 1 + open.iter().sum::<usize>();
        if nesting > MAX_NESTING && !reported_depth {
            reported_depth = true;
            diags.push(
                Diagnostic::new(
                    Code::E0102,
                    span,
                    format!("nested more than {MAX_NESTING} levels deep"),
                )
                .label("too deep here")
                .help("name an intermediate quantity with its own equation, as the book does with h_1, h_2, …"),
            );
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

// ------------------------------------------------------------------------------- pest errors

/// Symbols the language knows; any other non-ASCII symbol at an error is reported as unknown.
const KNOWN_SYMBOLS: &str = "ℝ×∈…⋯·⋅⊙ᵀ‖𝟏𝟙∑∏√∂²³⁻′−₀₁₂₃₄₅₆₇₈₉½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒";

fn pest_error(src: &str, e: &pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let mut pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // pest's attempt tracking knows the furthest position and the literal tokens (`=`, `]`)
    // expected there; its rule list alone never names them.
    let attempts = e.parse_attempts();
    let mut literals: Vec<String> = Vec::new();
    if let Some(a) = &attempts
        && a.max_position >= pos
        && a.max_position <= src.len()
    {
        pos = a.max_position;
        for t in a.expected_tokens() {
            let token = t.to_string();
            if is_shown_literal(&token) {
                literals.push(format!("`{token}`"));
            }
        }
    }
    while pos < src.len() && !src.is_char_boundary(pos) {
        pos += 1;
    }
    // pest may have looked past a keyword it then refused as a name: report the keyword.
    let before = src[..pos].trim_end();
    if let Some(kw) = KEYWORDS.iter().find(|k| {
        before.ends_with(*k)
            && !before[..before.len() - k.len()]
                .ends_with(|c: char| c.is_alphanumeric() || c == '_')
    }) && !src[pos..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    {
        pos = before.len() - kw.len();
    }
    // Report the token found, not the blank before it.
    while let Some(c) = src[pos..].chars().next()
        && (c == ' ' || c == '\t')
    {
        pos += c.len_utf8();
    }
    let rest = &src[pos.min(src.len())..];
    let found = rest.chars().next();
    // Point at the whole word that was found, or at the end of the line (zero width).
    let len = match found {
        Some(c) if c.is_alphanumeric() => rest
            .find(|c: char| !c.is_alphanumeric() && c != '_')
            .unwrap_or(rest.len()),
        Some('\n' | '\r') | None => 0,
        Some(c) => c.len_utf8(),
    };
    let span = Span::new(pos, pos + len);
    if let Some(c) = found
        && !c.is_ascii()
        && !c.is_alphabetic()
        && !KNOWN_SYMBOLS.contains(c)
        && !c.is_whitespace()
    {
        if is_mark(c) {
            return Diagnostic::new(
                Code::E0105,
                span,
                format!("combining mark U+{:04X} on no letter", c as u32),
            )
            .label("a mark here sits on a character that is not a letter of a name")
            .help("a name's letters may carry marks, as the book's `\\hat{x}` and `\\tilde{h}`: write `x̂`, `h̃`");
        }
        let mut d = Diagnostic::new(Code::E0105, span, format!("unknown symbol `{c}`"))
            .label("the language has no meaning for this symbol");
        if let Some(h) = symbol_help(c) {
            d = d.help(h);
        }
        return d;
    }
    let (expected, label) = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut rules: Vec<&str> = positives.iter().filter_map(|r| rule_words(*r)).collect();
            rules.sort_unstable();
            rules.dedup();
            // A literal that starts a phrase's example (`[` in "hyper-parameters `[D = 3]`",
            // `~` in "an initialiser `~ He`") is named once, by the phrase.
            let mut words: Vec<&str> = literals
                .iter()
                .map(String::as_str)
                .filter(|l| {
                    let bare = l.trim_matches('`');
                    !rules.iter().any(|r| r.contains(&format!("`{bare}")))
                })
                .collect();
            words.extend(rules);
            words.dedup();
            let list = join_or(&words);
            (
                list.clone(),
                if list.is_empty() {
                    String::new()
                } else {
                    format!("expected {list}")
                },
            )
        }
        ErrorVariant::CustomError { message } => (message.clone(), message.clone()),
    };
    if let Some(d) = unclosed(src, pos, found) {
        return d;
    }
    let found_text = match found {
        None => "the end of the file".to_string(),
        Some('\n') | Some('\r') => "the end of the line".to_string(),
        Some(_) => format!("`{}`", &rest[..len]),
    };
    let message = if expected.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {expected}, found {found_text}")
    };
    let mut d = Diagnostic::new(Code::E0101, span, message).label(label);
    let line_start = src[..pos.min(src.len())].rfind('\n').map_or(0, |i| i + 1);
    let starts_line = src[line_start..pos].trim().is_empty();
    // The code before this token, without blank lines and comments.
    let prev = previous_code(&src[..line_start]);
    let continued = prev
        .chars()
        .last()
        .filter(|c| matches!(c, '+' | '-' | '−' | '·' | '*' | '/' | '⊙' | ',' | '='));
    if let (true, Some(op)) = (starts_line, continued) {
        // The statement on the line before is unfinished: this line was read as its rest.
        let end = line_start.saturating_sub(1).min(src.len());
        let op_at = src[..end].rfind(op).unwrap_or(end);
        let help = match op {
            '=' => "write the right-hand side after `=`, on the same line".to_string(),
            ',' => "write the next item after `,`, or delete the `,`".to_string(),
            _ => format!("finish the expression after `{op}`, or delete the `{op}`"),
        };
        d = d
            .with(
                Span::new(op_at, op_at + op.len_utf8()),
                format!("the line ends with `{op}`, so the next line continues it"),
            )
            .help(help);
    } else if starts_line && expected.contains("`model`") {
        d = d.help("statements belong inside a model: `model Name[D = 3] { … }`");
    } else if let Some(kw) = KEYWORDS
        .iter()
        .find(|k| rest.starts_with(*k) && len == k.len())
        && !starts_line
    {
        d = d.help(format!("`{kw}` is a keyword and cannot be used as a name"));
    }
    let line_before = &src[line_start..pos.min(src.len())];
    if found == Some('=') && line_before.trim_end().ends_with(':') {
        d = d.help("an equation is written `h = …`; `h : ℝ^{D}` declares a type");
    }
    if expected.contains("`…`") && line_before.contains('{') {
        d = d.help("a range is written `{1 … K}` (ASCII `{1 ... K}`) or `{1, …, K}`");
    }
    let first_word = line_before.split_whitespace().next().unwrap_or("");
    if matches!(first_word, "param" | "input" | "target")
        && expected.contains("`,`")
        && found.is_some_and(char::is_alphabetic)
    {
        d = d.help("separate the declarations of one line with commas: `β : ℝ^D, Ω : ℝ^{D×E}`");
    }
    if found == Some(',')
        && let Some(tilde) = line_before.rfind('~')
        && line_before[tilde..].contains('(')
    {
        d = d.help("a distribution's parameters go in square brackets: `~ Norm[0, 0.01]`");
    }
    if src[line_start..pos.min(src.len())].contains("Σ_") {
        d = d.help("the sum is `∑` (U+2211) or `sum`; `Σ` is the Greek capital sigma, a name");
    }
    if found == Some('(') {
        d = d.help("square brackets apply a function: `a[z]`; round brackets only group");
    }
    if let Some(c) = found
        && let Some((_, v)) = VULGAR_FRACTIONS.iter().find(|(f, _)| *f == c)
        && let Some(digits) = mixed_number_digits(&src[..pos])
    {
        d = d.help(format!(
            "`{digits}{c}` could be a mixed number or a product: write `{}` for the number, or `{digits}·{c}` for the product",
            digits.parse::<f64>().unwrap_or(0.0) + v
        ));
    }
    d
}

/// The digits written right before a fraction (`2` of `2½`), if any.
fn mixed_number_digits(before: &str) -> Option<&str> {
    let start = before
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.')
        .len();
    let digits = &before[start..];
    digits
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(digits)
}

/// The source before a line, without trailing blank lines and comments.
fn previous_code(before: &str) -> &str {
    let mut text = before;
    loop {
        let trimmed = text.trim_end();
        let line_start = trimmed.rfind('\n').map_or(0, |i| i + 1);
        let line = &trimmed[line_start..];
        match line.find('#') {
            // A comment: drop it (a `#` cannot occur in code).
            Some(i) if line[..i].trim().is_empty() => text = &trimmed[..line_start],
            Some(i) => return trimmed[..line_start + i].trim_end(),
            None => return trimmed,
        }
        if text.is_empty() {
            return text;
        }
    }
}

/// An error where a bracket opened earlier is still open: at the end of the file, at the end
/// of a line inside `[…]` or `(…)`, or at a closing bracket of the wrong kind.
fn unclosed(src: &str, pos: usize, found: Option<char>) -> Option<Diagnostic> {
    let mut stack: Vec<(usize, char)> = Vec::new();
    let mut in_comment = false;
    for (i, c) in src[..pos.min(src.len())].char_indices() {
        match c {
            '\n' => in_comment = false,
            _ if in_comment => {}
            '#' => in_comment = true,
            '[' | '(' | '{' => stack.push((i, c)),
            ']' | ')' | '}' if stack.last().is_some_and(|(_, o)| closer(*o) == c) => {
                stack.pop();
            }
            _ => {}
        }
    }
    let &(at, open) = stack.last()?;
    let later_line = src[at..pos.min(src.len())].contains('\n');
    let relevant = match found {
        None => true,
        Some('\n' | '\r') => open != '{',
        Some(c @ (']' | ')' | '}')) => c != closer(open),
        // A new statement on a later line while `[` or `(` is still open.
        Some(_) => open != '{' && later_line,
    };
    if !relevant {
        return None;
    }
    // Past the end of the bracket's line: point at the end of the last line with text.
    let (pos, found) = if found.is_some_and(|c| !matches!(c, '\n' | '\r' | ']' | ')' | '}')) {
        let end = src[..pos].trim_end().len();
        (end, Some('\n'))
    } else {
        (pos, found)
    };
    let close = closer(open);
    let found_text = match found {
        None => "the end of the file".to_string(),
        Some('\n' | '\r') => "the end of the line".to_string(),
        Some(c) => format!("`{c}`"),
    };
    let here = Span::new(
        pos,
        pos + found
            .filter(|c| !matches!(c, '\n' | '\r'))
            .map_or(0, char::len_utf8),
    );
    Some(
        Diagnostic::new(
            Code::E0101,
            here,
            format!("expected `{close}` to close the `{open}`, found {found_text}"),
        )
        .label(format!("expected `{close}`"))
        .with(Span::new(at, at + open.len_utf8()), "opened here"),
    )
}

fn closer(open: char) -> char {
    match open {
        '[' => ']',
        '(' => ')',
        _ => '}',
    }
}

/// Whether `c` is a combining diacritical mark (the blocks `x̂`, `h̃`, `x⃗` draw from).
fn is_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

fn symbol_help(c: char) -> Option<&'static str> {
    Some(match c {
        '∘' => "write the composition out: `f[g[x]]`",
        '≤' | '≥' | '<' | '>' => {
            "comparisons are not part of the language; use `ReLU`, `Heaviside` or `rect`"
        }
        '→' | '←' | '⟵' | '⟶' => {
            "an equation uses `=`; updates such as `φ ← φ - α ∂L/∂φ` belong to the optimiser"
        }
        '∇' => "gradients are derived by the compiler; write the loss and use `loss L[φ] = …`",
        '∫' => "integrals are not part of the language",
        'Σ' => "the sum is `∑` (U+2211) or `sum`; `Σ` is the Greek letter",
        '∙' | '•' => "scaling is `·` (U+00B7) or `*`",
        _ => return None,
    })
}

/// The reserved words of the grammar.
const KEYWORDS: &[&str] = &[
    "model", "input", "target", "param", "let", "loss", "for", "in", "partial", "sum", "prod",
];

/// Literal tokens worth naming in "expected …": punctuation and keywords, not every operator.
fn is_shown_literal(token: &str) -> bool {
    matches!(
        token,
        "=" | "]" | ")" | "}" | "{" | "[" | ":" | "…" | "," | "~" | "model"
    )
}

fn rule_words(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::expr | Rule::term | Rule::unary | Rule::juxt | Rule::factor | Rule::atom => {
            "an expression"
        }
        Rule::postfix | Rule::paren | Rule::call | Rule::norm | Rule::sqrt | Rule::bigop => {
            "an expression"
        }
        Rule::name | Rule::name_plain | Rule::word => "a name",
        Rule::number | Rule::dim_leaf | Rule::dim_expr | Rule::dim_term => "a number or a name",
        Rule::model | Rule::kw_model => "`model`",
        Rule::stmt => "a statement",
        Rule::input_decl | Rule::kw_input => "`input`",
        Rule::target_decl | Rule::kw_target => "`target`",
        Rule::param_decl | Rule::kw_param => "`param`",
        Rule::let_decl | Rule::kw_let => "`let`",
        Rule::loss_eq | Rule::kw_loss => "`loss`",
        Rule::equation | Rule::lhs => "an equation",
        Rule::noise_decl => "`~`",
        Rule::family | Rule::kw_for => "`for`",
        Rule::type_expr | Rule::real_type | Rule::label_type => {
            "a type such as `ℝ^{D}` or `{0 … K-1}`"
        }
        Rule::dims => "dimensions such as `{D×E}`",
        Rule::add_op => "an operator",
        Rule::mul_op => "an operator",
        Rule::transpose | Rule::power | Rule::square | Rule::cube => "an operator",
        Rule::hypers | Rule::hyper => "hyper-parameters `[D = 3]`",
        Rule::init => "an initialiser `~ He`",
        Rule::group => "`∈`",
        Rule::subscript
        | Rule::sub_items
        | Rule::sub_digits
        | Rule::sub_word
        | Rule::sub_keyword
        | Rule::sub_unicode => "a subscript",
        Rule::binder => "a binder `_{i=1}`",
        Rule::upper => "an upper limit `^{I}`",
        Rule::EOI => "the end of the file",
        _ => return None,
    })
}

fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

// ------------------------------------------------------------------------------- lints

/// Built-in function names that the book applies with square brackets.
const FUNCTION_WORDS: &[&str] = &[
    "exp",
    "log",
    "sin",
    "cos",
    "tanh",
    "sig",
    "sqrt",
    "ReLU",
    "softmax",
    "softplus",
    "Softmax",
    "logsumexp",
    "HardSwish",
    "LReLU",
    "Heaviside",
    "rect",
    "LayerNorm",
    "BatchNorm",
    "abs",
];

/// Syntax-level lints that need the tree but no names: `exp(x)` instead of `exp[x]`.
fn lint_stmt(stmt: &ast::Stmt, diags: &mut Vec<Diagnostic>) {
    let mut visit = |e: &Expr| {
        if let ExprKind::Binary {
            op: BinOp::Juxt,
            lhs,
            rhs,
        } = &e.kind
            && let ExprKind::Paren(_) = &rhs.kind
            && let ExprKind::Name(n) = &rightmost_factor(lhs).kind
            && n.sub.is_empty()
            && FUNCTION_WORDS.contains(&n.word.as_str())
        {
            diags.push(
                Diagnostic::new(
                    Code::E0106,
                    rightmost_factor(lhs).span.to(rhs.span),
                    format!("`{}` is applied with round brackets", n.word),
                )
                .label("round brackets only group")
                .help(format!(
                    "write `{}[…]`: square brackets apply a function",
                    n.word
                )),
            );
        }
    };
    match &stmt.kind {
        ast::StmtKind::Equation { rhs, .. } => walk(rhs, &mut visit),
        ast::StmtKind::Let { body, .. } => walk(body, &mut visit),
        ast::StmtKind::Noise { dist, .. } => walk(dist, &mut visit),
        ast::StmtKind::Param { items, .. } => {
            for it in items {
                if let Some(init) = &it.init {
                    walk(&init.expr, &mut visit);
                }
            }
        }
        ast::StmtKind::Input(_) | ast::StmtKind::Target(_) => {}
    }
}

/// The last factor of a juxtaposition chain: `log` in `y_i log`.
fn rightmost_factor(mut e: &Expr) -> &Expr {
    while let ExprKind::Binary {
        op: BinOp::Juxt,
        rhs,
        ..
    } = &e.kind
    {
        e = rhs;
    }
    e
}

/// Pre-order walk over an expression and its sub-expressions (subscripts included).
pub fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Number(_) | ExprKind::Ones | ExprKind::BatchSize => {}
        ExprKind::Name(n) => n.sub.iter().for_each(|s| walk(s, f)),
        ExprKind::Call { func, args } => {
            func.sub.iter().for_each(|s| walk(s, f));
            args.iter().for_each(|a| walk(a, f));
        }
        ExprKind::Neg(x)
        | ExprKind::Paren(x)
        | ExprKind::Transpose(x)
        | ExprKind::Norm(x)
        | ExprKind::Sqrt(x) => walk(x, f),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Power(lhs, rhs) => {
            walk(lhs, f);
            walk(rhs, f);
        }
        ExprKind::Big {
            binder,
            upper,
            body,
            ..
        } => {
            if let Some(b) = binder {
                b.lo.iter().chain(b.set.iter()).for_each(|x| walk(x, f));
            }
            upper.iter().for_each(|x| walk(x, f));
            walk(body, f);
        }
        ExprKind::Prob { event, given } => {
            walk(event, f);
            given.iter().for_each(|g| walk(g, f));
        }
        ExprKind::Deriv { of, .. } => walk(of, f),
    }
}

// ------------------------------------------------------------------------------- tree building

/// A pair's span without the trailing whitespace and comments pest may have consumed.
fn span_of(p: &Pair<'_, Rule>) -> Span {
    let s = p.as_span();
    let text = s.as_str();
    let mut end = text.len();
    // Drop a trailing comment, then whitespace.
    if let Some(hash) = text.rfind('#')
        && !text[hash..].contains('\n')
        && text[..hash].ends_with(char::is_whitespace)
    {
        end = hash;
    }
    end = text[..end]
        .trim_end()
        .len()
        .max(usize::from(end > 0 && text[..end].trim_end().is_empty()));
    Span::new(s.start(), s.start() + end.min(text.len()))
}

fn build_file(p: Pair<'_, Rule>) -> ast::File {
    let models = p
        .into_inner()
        .filter(|p| p.as_rule() == Rule::model)
        .map(build_model)
        .collect();
    ast::File { models }
}

fn build_model(p: Pair<'_, Rule>) -> ast::Model {
    let span = span_of(&p);
    let mut name = None;
    let mut hypers = Vec::new();
    let mut stmts = Vec::new();
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::word => {
                name = Some(ast::Word {
                    text: c.as_str().to_string(),
                    span: span_of(&c),
                })
            }
            Rule::hypers => {
                for h in c.into_inner() {
                    let hspan = span_of(&h);
                    let mut it = h.into_inner();
                    let name = it
                        .next()
                        .map(build_name)
                        .unwrap_or_else(|| empty_name(hspan));
                    let default = it.next().map(build_expr);
                    hypers.push(ast::Hyper {
                        name,
                        default,
                        span: hspan,
                    });
                }
            }
            Rule::stmt => stmts.extend(build_stmts(c)),
            _ => {}
        }
    }
    let name = name.unwrap_or(ast::Word {
        text: String::new(),
        span,
    });
    ast::Model {
        name,
        hypers,
        stmts,
        span,
    }
}

fn empty_name(span: Span) -> ast::Name {
    ast::Name {
        word: String::new(),
        primes: 0,
        frozen: false,
        sub: Vec::new(),
        span,
    }
}

/// A statement of the grammar as statements of the tree: a `param` declaration whose items
/// carry their own group or `for` clause (`param β : ℝ^D ∈ θ, ω : ℝ ∈ ψ`) becomes one
/// declaration per clause, each holding the items written before its clause.
fn build_stmts(p: Pair<'_, Rule>) -> Vec<ast::Stmt> {
    let is_param = p
        .clone()
        .into_inner()
        .next()
        .is_some_and(|s| s.as_rule() == Rule::param_decl);
    if !is_param {
        return vec![build_stmt(p)];
    }
    let span = span_of(&p);
    let Some(decl) = p.into_inner().next() else {
        return Vec::new();
    };
    let mut out: Vec<ast::Stmt> = Vec::new();
    let mut items: Vec<ast::ParamItem> = Vec::new();
    let mut group = None;
    let mut family = None;
    let mut start = span.start;
    let mut end = span.start;
    let mut flush = |items: &mut Vec<ast::ParamItem>,
                     group: &mut Option<ast::Name>,
                     family: &mut Option<ast::Family>,
                     start: u32,
                     end: u32| {
        if !items.is_empty() {
            out.push(ast::Stmt {
                kind: ast::StmtKind::Param {
                    items: std::mem::take(items),
                    group: group.take(),
                },
                family: family.take(),
                span: Span { start, end },
            });
        }
    };
    for c in decl.into_inner() {
        let cspan = span_of(&c);
        match c.as_rule() {
            Rule::param_item => {
                if group.is_some() || family.is_some() {
                    flush(&mut items, &mut group, &mut family, start, end);
                    start = cspan.start;
                }
                if let Some(item) = build_param_item(c) {
                    items.push(item);
                }
            }
            Rule::group => {
                group = c
                    .into_inner()
                    .find(|n| n.as_rule() == Rule::name)
                    .map(build_name)
            }
            Rule::family => family = Some(build_family(c)),
            _ => continue,
        }
        end = cspan.end;
    }
    flush(&mut items, &mut group, &mut family, start, end);
    // One clause (or none): the statement keeps its whole span, as any other.
    if let [only] = out.as_mut_slice() {
        only.span = span;
    }
    out
}

fn build_param_item(c: Pair<'_, Rule>) -> Option<ast::ParamItem> {
    let mut it = c.into_inner();
    let (n, t) = (it.next()?, it.next()?);
    let init = it.next().map(build_init);
    Some(ast::ParamItem {
        name: build_name(n),
        ty: build_type(t),
        init,
    })
}

fn build_stmt(p: Pair<'_, Rule>) -> ast::Stmt {
    let span = span_of(&p);
    let inner = p.into_inner().next();
    let Some(s) = inner else {
        // The grammar never produces an empty statement; keep the tree total anyway.
        return ast::Stmt {
            kind: ast::StmtKind::Input(Vec::new()),
            family: None,
            span,
        };
    };
    let rule = s.as_rule();
    let mut family = None;
    let mut typed = Vec::new();
    let mut items = Vec::new();
    let mut group = None;
    let mut names = Vec::new();
    let mut exprs = Vec::new();
    let mut ty = None;
    let mut lhs = None;
    let mut formals = Vec::new();
    for c in s.into_inner() {
        match c.as_rule() {
            Rule::family => family = Some(build_family(c)),
            Rule::typed => {
                let mut it = c.into_inner();
                if let (Some(n), Some(t)) = (it.next(), it.next()) {
                    typed.push(ast::Typed {
                        name: build_name(n),
                        ty: build_type(t),
                    });
                }
            }
            Rule::param_item => items.extend(build_param_item(c)),
            Rule::group => {
                group = c
                    .into_inner()
                    .find(|n| n.as_rule() == Rule::name)
                    .map(build_name)
            }
            Rule::name => names.push(build_name(c)),
            Rule::type_expr => ty = Some(build_type(c)),
            Rule::expr => exprs.push(build_expr(c)),
            Rule::lhs => lhs = Some(build_lhs(c)),
            Rule::formals => formals = c.into_inner().map(build_name).collect(),
            _ => {}
        }
    }
    let first_name = || names.first().cloned().unwrap_or_else(|| empty_name(span));
    let first_expr = |exprs: &mut Vec<Expr>| {
        if exprs.is_empty() {
            Expr {
                kind: ExprKind::Number(0.0),
                span,
            }
        } else {
            exprs.remove(0)
        }
    };
    let kind = match rule {
        Rule::input_decl => ast::StmtKind::Input(typed),
        Rule::target_decl => ast::StmtKind::Target(typed),
        Rule::param_decl => ast::StmtKind::Param { items, group },
        Rule::noise_decl => ast::StmtKind::Noise {
            name: first_name(),
            ty,
            dist: first_expr(&mut exprs),
        },
        Rule::let_decl => ast::StmtKind::Let {
            name: first_name(),
            formals,
            body: first_expr(&mut exprs),
        },
        _ => ast::StmtKind::Equation {
            lhs: lhs.unwrap_or_else(|| ast::Lhs {
                name: empty_name(span),
                squared: false,
                args: None,
                span,
            }),
            rhs: first_expr(&mut exprs),
            loss: rule == Rule::loss_eq,
        },
    };
    ast::Stmt { kind, family, span }
}

fn build_init(p: Pair<'_, Rule>) -> ast::Init {
    let span = span_of(&p);
    let random = p.as_str().trim_start().starts_with('~');
    let expr = p.into_inner().next().map(build_expr).unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    });
    ast::Init { random, expr, span }
}

fn build_lhs(p: Pair<'_, Rule>) -> ast::Lhs {
    let span = span_of(&p);
    let mut name = None;
    let mut squared = false;
    let mut args: Option<Vec<Expr>> = None;
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::name => name = Some(build_name(c)),
            Rule::square => squared = true,
            Rule::number => squared = c.as_str() == "2" || squared,
            Rule::expr => args.get_or_insert_with(Vec::new).push(build_expr(c)),
            _ => {}
        }
    }
    ast::Lhs {
        name: name.unwrap_or_else(|| empty_name(span)),
        squared,
        args,
        span,
    }
}

fn build_family(p: Pair<'_, Rule>) -> ast::Family {
    let span = span_of(&p);
    let mut var = None;
    let mut bounds = Vec::new();
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::name => var = Some(build_name(c)),
            Rule::expr => bounds.push(build_expr(c)),
            _ => {}
        }
    }
    let zero = Expr {
        kind: ExprKind::Number(0.0),
        span,
    };
    let hi = bounds.pop().unwrap_or_else(|| zero.clone());
    let lo = bounds.pop().unwrap_or(zero);
    ast::Family {
        var: var.unwrap_or_else(|| empty_name(span)),
        lo,
        hi,
        span,
    }
}

fn build_type(p: Pair<'_, Rule>) -> ast::Type {
    let span = span_of(&p);
    let Some(t) = p.into_inner().next() else {
        return ast::Type {
            kind: ast::TypeKind::Real(Vec::new()),
            span,
        };
    };
    let rule = t.as_rule();
    let mut dims = Vec::new();
    let mut first = None;
    let mut set = None;
    for c in t.into_inner() {
        match c.as_rule() {
            Rule::dims => dims = build_dims(c),
            Rule::expr => first = Some(build_expr(c)),
            Rule::label_range => {
                let hi = c.into_inner().next().map(build_expr);
                set = Some((true, hi.into_iter().collect::<Vec<_>>()));
            }
            Rule::label_set => set = Some((false, c.into_inner().map(build_expr).collect())),
            _ => {}
        }
    }
    let kind = if rule == Rule::real_type {
        ast::TypeKind::Real(dims)
    } else {
        let zero = Expr {
            kind: ExprKind::Number(0.0),
            span,
        };
        let first = first.unwrap_or_else(|| zero.clone());
        let set = match set {
            Some((true, mut hi)) => ast::LabelSet::Range(first, hi.pop().unwrap_or(zero)),
            Some((false, rest)) => {
                let mut all = vec![first];
                all.extend(rest);
                ast::LabelSet::Set(all)
            }
            None => ast::LabelSet::Set(vec![first]),
        };
        ast::TypeKind::Label { set, dims }
    };
    ast::Type { kind, span }
}

fn build_dims(p: Pair<'_, Rule>) -> Vec<ast::Dim> {
    p.into_inner()
        .filter(|c| c.as_rule() != Rule::dim_sep)
        .map(|c| ast::Dim {
            expr: build_dim_expr(c),
        })
        .collect()
}

/// Dimension expressions reuse [`Expr`] with only numbers, names, `+ - · /`.
fn build_dim_expr(p: Pair<'_, Rule>) -> Expr {
    let span = span_of(&p);
    match p.as_rule() {
        Rule::dim_expr | Rule::dim_term => fold_binary(p.into_inner(), build_dim_expr),
        Rule::dim_leaf => match p.into_inner().next() {
            Some(c) => build_dim_expr(c),
            None => Expr {
                kind: ExprKind::Number(0.0),
                span,
            },
        },
        Rule::number => number(&p),
        Rule::name => Expr {
            kind: ExprKind::Name(build_name(p)),
            span,
        },
        _ => Expr {
            kind: ExprKind::Number(0.0),
            span,
        },
    }
}

/// The Unicode vulgar fractions the grammar admits as numbers, with their values.
pub const VULGAR_FRACTIONS: &[(char, f64)] = &[
    ('½', 1.0 / 2.0),
    ('⅓', 1.0 / 3.0),
    ('⅔', 2.0 / 3.0),
    ('¼', 1.0 / 4.0),
    ('¾', 3.0 / 4.0),
    ('⅕', 1.0 / 5.0),
    ('⅖', 2.0 / 5.0),
    ('⅗', 3.0 / 5.0),
    ('⅘', 4.0 / 5.0),
    ('⅙', 1.0 / 6.0),
    ('⅚', 5.0 / 6.0),
    ('⅐', 1.0 / 7.0),
    ('⅛', 1.0 / 8.0),
    ('⅜', 3.0 / 8.0),
    ('⅝', 5.0 / 8.0),
    ('⅞', 7.0 / 8.0),
    ('⅑', 1.0 / 9.0),
    ('⅒', 1.0 / 10.0),
];

/// The value of a number token: digits, or one vulgar fraction.
fn number_value(text: &str) -> f64 {
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && let Some((_, v)) = VULGAR_FRACTIONS.iter().find(|(f, _)| *f == c)
    {
        return *v;
    }
    // Otherwise the grammar only admits digit strings, so parsing succeeds; an overflow to
    // infinity is reported by the checker (E0103).
    text.parse::<f64>().unwrap_or(f64::INFINITY)
}

fn number(p: &Pair<'_, Rule>) -> Expr {
    let v = number_value(p.as_str());
    Expr {
        kind: ExprKind::Number(v),
        span: span_of(p),
    }
}

fn binop(p: &Pair<'_, Rule>) -> BinOp {
    match p.as_str() {
        "+" => BinOp::Add,
        "-" | "−" => BinOp::Sub,
        "⊙" | ".*" => BinOp::Hadamard,
        "/" => BinOp::Div,
        _ => BinOp::Scale,
    }
}

/// Folds `operand (op operand)*` to the left, without recursion.
fn fold_binary<'i>(
    pairs: pest::iterators::Pairs<'i, Rule>,
    operand: fn(Pair<'i, Rule>) -> Expr,
) -> Expr {
    let mut acc: Option<Expr> = None;
    let mut op = BinOp::Add;
    for c in pairs {
        match c.as_rule() {
            Rule::add_op | Rule::mul_op => op = binop(&c),
            _ => {
                let rhs = operand(c);
                acc = Some(match acc {
                    None => rhs,
                    Some(lhs) => Expr::binary(op, lhs, rhs),
                });
            }
        }
    }
    acc.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span: Span::default(),
    })
}

fn build_expr(p: Pair<'_, Rule>) -> Expr {
    let span = span_of(&p);
    match p.as_rule() {
        Rule::expr | Rule::term => fold_binary(p.into_inner(), build_expr),
        Rule::unary => {
            let mut negs = Vec::new();
            let mut body = None;
            for c in p.into_inner() {
                if c.as_rule() == Rule::neg {
                    negs.push(span_of(&c));
                } else {
                    body = Some(build_expr(c));
                }
            }
            let mut e = body.unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            });
            for s in negs.into_iter().rev() {
                let sp = s.to(e.span);
                e = Expr {
                    kind: ExprKind::Neg(Box::new(e)),
                    span: sp,
                };
            }
            e
        }
        Rule::juxt => {
            let mut acc: Option<Expr> = None;
            for c in p.into_inner() {
                let rhs = build_expr(c);
                acc = Some(match acc {
                    None => rhs,
                    Some(lhs) => Expr::binary(BinOp::Juxt, lhs, rhs),
                });
            }
            acc.unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            })
        }
        Rule::factor | Rule::atom => match p.into_inner().next() {
            Some(c) => build_expr(c),
            None => Expr {
                kind: ExprKind::Number(0.0),
                span,
            },
        },
        Rule::postfix => {
            let mut it = p.into_inner();
            let mut e = match it.next() {
                Some(c) => build_expr(c),
                None => Expr {
                    kind: ExprKind::Number(0.0),
                    span,
                },
            };
            for op in it {
                let sp = e.span.to(span_of(&op));
                let kind = match op.as_rule() {
                    Rule::transpose => ExprKind::Transpose(Box::new(e)),
                    Rule::square | Rule::cube => {
                        let n = if op.as_rule() == Rule::square {
                            2.0
                        } else {
                            3.0
                        };
                        let exp = Expr {
                            kind: ExprKind::Number(n),
                            span: span_of(&op),
                        };
                        ExprKind::Power(Box::new(e), Box::new(exp))
                    }
                    _ => {
                        let opspan = span_of(&op);
                        let exp = match op.into_inner().next() {
                            Some(c) if c.as_rule() == Rule::number => number(&c),
                            Some(c) if c.as_rule() == Rule::name => Expr {
                                kind: ExprKind::Name(build_name(c.clone())),
                                span: span_of(&c),
                            },
                            Some(c) => build_expr(c),
                            None => Expr {
                                kind: ExprKind::Number(1.0),
                                span: opspan,
                            },
                        };
                        ExprKind::Power(Box::new(e), Box::new(exp))
                    }
                };
                e = Expr { kind, span: sp };
            }
            e
        }
        Rule::number => number(&p),
        Rule::name => Expr {
            kind: ExprKind::Name(build_name(p)),
            span,
        },
        Rule::paren => {
            let inner = p.into_inner().next().map(build_expr);
            let inner = inner.unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            });
            Expr {
                kind: ExprKind::Paren(Box::new(inner)),
                span,
            }
        }
        Rule::norm => {
            let inner = p.into_inner().next().map(build_expr);
            let inner = inner.unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            });
            Expr {
                kind: ExprKind::Norm(Box::new(inner)),
                span,
            }
        }
        Rule::sqrt => {
            let inner = p.into_inner().next().map(build_expr);
            let inner = inner.unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            });
            Expr {
                kind: ExprKind::Sqrt(Box::new(inner)),
                span,
            }
        }
        Rule::ones => Expr {
            kind: ExprKind::Ones,
            span,
        },
        Rule::batch_size => Expr {
            kind: ExprKind::BatchSize,
            span,
        },
        Rule::call => {
            let mut it = p.into_inner();
            let func = it
                .next()
                .map(build_name)
                .unwrap_or_else(|| empty_name(span));
            let args = it.map(build_expr).collect();
            Expr {
                kind: ExprKind::Call { func, args },
                span,
            }
        }
        Rule::prob => {
            let mut it = p.into_inner().map(build_expr);
            let event = it.next().unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            });
            Expr {
                kind: ExprKind::Prob {
                    event: Box::new(event),
                    given: it.collect(),
                },
                span,
            }
        }
        Rule::deriv => {
            let mut of = None;
            let mut wrt = None;
            for c in p.into_inner() {
                match c.as_rule() {
                    Rule::postfix => of = Some(build_expr(c)),
                    Rule::name => wrt = Some(build_name(c)),
                    _ => {}
                }
            }
            let of = of.unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            });
            let wrt = wrt.unwrap_or_else(|| empty_name(span));
            Expr {
                kind: ExprKind::Deriv {
                    of: Box::new(of),
                    wrt,
                },
                span,
            }
        }
        Rule::bigop => build_bigop(p),
        _ => Expr {
            kind: ExprKind::Number(0.0),
            span,
        },
    }
}

fn build_bigop(p: Pair<'_, Rule>) -> Expr {
    let span = span_of(&p);
    let mut op = BigOp::Sum;
    let mut binder = None;
    let mut upper = None;
    let mut body = None;
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::bigop_sym => {
                let s = c.as_str();
                op = if s == "∏" || s == "prod" {
                    BigOp::Prod
                } else {
                    BigOp::Sum
                };
            }
            Rule::binder => {
                let bspan = span_of(&c);
                let is_set = c.as_str().contains('∈') || c.as_str().contains(" in ");
                let mut var = None;
                let mut bound = None;
                for b in c.into_inner() {
                    match b.as_rule() {
                        Rule::name | Rule::name_plain => var = Some(build_name(b)),
                        Rule::expr => bound = Some(Box::new(build_expr(b))),
                        _ => {}
                    }
                }
                let (lo, set) = if is_set { (None, bound) } else { (bound, None) };
                let var = var.unwrap_or_else(|| empty_name(bspan));
                binder = Some(ast::Binder {
                    var,
                    lo,
                    set,
                    span: bspan,
                });
            }
            Rule::upper => {
                let uspan = span_of(&c);
                upper = c.into_inner().next().map(|u| {
                    Box::new(match u.as_rule() {
                        Rule::number => number(&u),
                        Rule::name_plain | Rule::name => Expr {
                            kind: ExprKind::Name(build_name(u)),
                            span: uspan,
                        },
                        _ => build_expr(u),
                    })
                });
            }
            Rule::term => body = Some(build_expr(c)),
            _ => {}
        }
    }
    let body = Box::new(body.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    }));
    Expr {
        kind: ExprKind::Big {
            op,
            binder,
            upper,
            body,
        },
        span,
    }
}

/// Parses `text` as one name as a spec writes it (`beta_0`, `θ_{10}`, `W_hh`, `Ω₀`), or
/// `None` when it is not exactly one name.
pub fn parse_name(text: &str) -> Option<ast::Name> {
    prescan(text).ok()?;
    let mut pairs = NnParser::parse(Rule::name_alone, text).ok()?;
    let pair = pairs.next()?;
    (pair.as_str().len() == text.len()).then(|| build_name(pair))
}

fn build_name(p: Pair<'_, Rule>) -> ast::Name {
    let span = span_of(&p);
    let mut name = empty_name(span);
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::word => name.word = c.as_str().to_string(),
            Rule::primes => {
                name.primes = name.primes.saturating_add(c.as_str().chars().count() as u8)
            }
            Rule::frozen => name.frozen = true,
            Rule::subscript => name.sub = build_subscript(c),
            _ => {}
        }
    }
    name
}

fn build_subscript(p: Pair<'_, Rule>) -> Vec<Expr> {
    let mut out = Vec::new();
    for c in p.into_inner() {
        let span = span_of(&c);
        match c.as_rule() {
            Rule::sub_items => out.extend(c.into_inner().map(build_expr)),
            Rule::sub_digits => out.push(number(&c)),
            Rule::sub_unicode => {
                let digits: String = c
                    .as_str()
                    .chars()
                    .map(|d| char::from_digit(d as u32 - '₀' as u32, 10).unwrap_or('0'))
                    .collect();
                let v = digits.parse::<f64>().unwrap_or(0.0);
                out.push(Expr {
                    kind: ExprKind::Number(v),
                    span,
                });
            }
            Rule::sub_word | Rule::sub_keyword => {
                let text = c.as_str();
                let word = text.trim_end_matches(['\'', '′']);
                let primes = (text.chars().count() - word.chars().count()) as u8;
                let name = ast::Name {
                    word: word.to_string(),
                    primes,
                    frozen: false,
                    sub: Vec::new(),
                    span,
                };
                out.push(Expr {
                    kind: ExprKind::Name(name),
                    span,
                });
            }
            _ => {}
        }
    }
    out
}
