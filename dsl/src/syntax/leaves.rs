//! The spelled symbols of a parsed file, for tools that rewrite the text rather than the tree
//! (`fmt`): each word, operator and symbol that has more than one spelling, with its span
//! and what the grammar says it is. Punctuation that the grammar matches inside silent rules
//! (`∈`, `…`, `‖`, `←`, `∂`, `≤`, `≠`) is not listed; a tool finds it between the leaves.

use super::grammar::{NnParser, Rule};
use crate::diag::{Diagnostic, Span};
use pest::Parser as _;
use pest::iterators::Pair;

/// What a spelled leaf is, in the grammar's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// A name's word, or a one-word subscript (`β`, `beta`, `x_i`'s `i`).
    Word,
    /// `ℝ` or `R` in a type.
    Real,
    /// `×` or `x` between dimensions.
    DimSep,
    /// `ᵀ`, `^T`, `^{T}`.
    Transpose,
    /// `²`.
    Square,
    /// `³`.
    Cube,
    /// A power `^…` (`^2`).
    Power,
    /// `∑`, `∏`, `sum`, `prod`, `max`, …
    BigOp,
    /// A minus, unary or binary.
    Minus,
    /// `+`.
    Plus,
    /// `·`, `⋅`, `*`, `⊙`, `.*`, `/`.
    MulOp,
    /// `⁻` or `^-`.
    Frozen,
    /// Primes `'`, `′`.
    Primes,
    /// Unicode subscript digits `₀₁`.
    SubUnicode,
    /// `𝟏`, `𝟙`.
    Ones,
    /// A name written `ones` on its own.
    OnesWord,
    /// `√`, with the span of its operand.
    Sqrt(Span),
    /// The keyword `in`.
    KwIn,
    /// The keyword `partial`.
    KwPartial,
    /// A number (digits, or a vulgar fraction).
    Number,
    /// `…` in a block matrix.
    StackDots,
    /// A statement's keyword `input`, `target` or `param`.
    DeclKeyword,
}

/// The leaves of a file in source order, or the parse's diagnostics when it does not parse.
pub fn leaves(src: &str) -> Result<Vec<(Span, Leaf)>, Vec<Diagnostic>> {
    super::parse(src)?;
    let pairs = NnParser::parse(Rule::file, src).map_err(|_| Vec::new())?;
    let mut out = Vec::new();
    for p in pairs {
        collect(p, false, &mut out);
    }
    out.sort_by_key(|(s, _)| (s.start, s.end));
    Ok(out)
}

fn span_of(p: &Pair<'_, Rule>) -> Span {
    let s = p.as_span();
    Span::new(s.start(), s.end())
}

/// Walks the pairs; `in_name` is true under a name, where a word is a name's word (and not a
/// model's or an environment's name).
fn collect(p: Pair<'_, Rule>, in_name: bool, out: &mut Vec<(Span, Leaf)>) {
    let span = span_of(&p);
    let leaf = match p.as_rule() {
        Rule::word if in_name => Some(Leaf::Word),
        Rule::sub_word => Some(Leaf::Word),
        Rule::real_sym => Some(Leaf::Real),
        Rule::dim_sep if p.as_str() != "," => Some(Leaf::DimSep),
        Rule::transpose => Some(Leaf::Transpose),
        Rule::square => Some(Leaf::Square),
        Rule::cube => Some(Leaf::Cube),
        Rule::power => Some(Leaf::Power),
        Rule::bigop_sym => Some(Leaf::BigOp),
        Rule::neg => Some(Leaf::Minus),
        Rule::add_op if p.as_str() == "+" => Some(Leaf::Plus),
        Rule::add_op => Some(Leaf::Minus),
        Rule::mul_op => Some(Leaf::MulOp),
        Rule::frozen => Some(Leaf::Frozen),
        Rule::primes if !p.as_str().is_empty() => Some(Leaf::Primes),
        Rule::sub_unicode => Some(Leaf::SubUnicode),
        Rule::ones => Some(Leaf::Ones),
        Rule::name_atom if p.as_str() == "ones" => Some(Leaf::OnesWord),
        Rule::sqrt => p
            .clone()
            .into_inner()
            .next()
            .map(|operand| Leaf::Sqrt(span_of(&operand))),
        Rule::kw_in => Some(Leaf::KwIn),
        Rule::kw_partial => Some(Leaf::KwPartial),
        Rule::number => Some(Leaf::Number),
        Rule::stack_dots => Some(Leaf::StackDots),
        Rule::kw_input | Rule::kw_target | Rule::kw_param => Some(Leaf::DeclKeyword),
        _ => None,
    };
    if let Some(l) = leaf {
        out.push((span, l));
    }
    let under_name = in_name || matches!(p.as_rule(), Rule::name | Rule::name_plain);
    for c in p.into_inner() {
        collect(c, under_name, out);
    }
}
