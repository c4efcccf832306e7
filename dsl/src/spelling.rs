//! The one table of the language's symbol spellings: each symbol's Unicode form (as the book
//! prints it), its ASCII form (as `grammar.pest` also accepts it), other Unicode variants, and
//! its LaTeX names. `fmt --ascii` and `fmt --unicode` convert with it in both directions and
//! the language server completes from it; Greek letters come from [`crate::names`]'s table.

/// One symbol and its spellings.
#[derive(Clone, Copy, Debug)]
pub struct Symbol {
    /// The book's spelling (`∑`).
    pub unicode: &'static str,
    /// The ASCII spelling the grammar accepts (`sum`).
    pub ascii: &'static str,
    /// Other Unicode characters the grammar reads the same (`⋅` for `·`).
    pub variants: &'static [&'static str],
    /// LaTeX names that complete to it (`\sum`).
    pub latex: &'static [&'static str],
    /// Whether `fmt --unicode` writes the Unicode form for the ASCII one. `false` where the
    /// ASCII form is the usual one in the book too (`-`, `'`) or is a different construct
    /// (`sqrt[x]` is a call, `√x` an operator).
    pub to_unicode: bool,
    /// What it is, in a few words (completion detail).
    pub what: &'static str,
}

const fn sym(
    unicode: &'static str,
    ascii: &'static str,
    variants: &'static [&'static str],
    latex: &'static [&'static str],
    what: &'static str,
) -> Symbol {
    Symbol {
        unicode,
        ascii,
        variants,
        latex,
        to_unicode: true,
        what,
    }
}

const fn one_way(s: Symbol) -> Symbol {
    Symbol {
        to_unicode: false,
        ..s
    }
}

/// Every symbol with two spellings, Greek letters aside.
pub const SYMBOLS: &[Symbol] = &[
    sym(
        "ℝ",
        "R",
        &[],
        &["\\mathbb{R}", "\\R", "\\reals"],
        "the real numbers (a type)",
    ),
    sym("×", "x", &[], &["\\times"], "between dimensions"),
    sym("∑", "sum", &[], &["\\sum"], "sum (big operator)"),
    sym("∏", "prod", &[], &["\\prod"], "product (big operator)"),
    sym("∈", "in", &[], &["\\in"], "member of (families, groups)"),
    sym(
        "…",
        "...",
        &["⋯", ".."],
        &["\\ldots", "\\dots", "\\cdots"],
        "ellipsis",
    ),
    sym("←", "<-", &[], &["\\leftarrow", "\\gets"], "update rule"),
    sym("∂", "partial", &[], &["\\partial"], "derivative"),
    sym("‖", "||", &[], &["\\|", "\\Vert"], "norm bar"),
    sym("≤", "<=", &[], &["\\leq", "\\le"], "max-norm bound"),
    sym("≠", "!=", &[], &["\\neq", "\\ne"], "every index but"),
    sym("ᵀ", "^T", &[], &["\\top", "\\T"], "transpose"),
    sym("²", "^2", &[], &["\\sq"], "square"),
    sym("³", "^3", &[], &["\\cube"], "cube"),
    sym("·", "*", &["⋅"], &["\\cdot"], "product"),
    sym("⊙", ".*", &[], &["\\odot"], "element-wise product"),
    sym("⁻", "^-", &[], &["\\frozen"], "frozen (no gradient)"),
    sym(
        "𝟏",
        "ones",
        &["𝟙"],
        &["\\mathbf{1}", "\\one", "\\ones"],
        "vector of ones",
    ),
    one_way(sym("√", "sqrt", &[], &["\\sqrt"], "square root")),
    one_way(sym("−", "-", &[], &["\\minus"], "minus")),
    one_way(sym("′", "'", &[], &["\\prime"], "prime")),
];

/// The symbol spelt `text` in Unicode (its form or a variant), if any.
pub fn by_unicode(text: &str) -> Option<&'static Symbol> {
    SYMBOLS
        .iter()
        .find(|s| s.unicode == text || s.variants.contains(&text))
}

/// The symbol spelt `text` in ASCII, if any.
pub fn by_ascii(text: &str) -> Option<&'static Symbol> {
    SYMBOLS.iter().find(|s| s.ascii == text)
}

/// A completion: what is typed (`\beta`, `beta`, `sum`), what it becomes, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The typed text.
    pub typed: String,
    /// The symbol it stands for.
    pub symbol: String,
    /// A few words about it.
    pub what: String,
}

/// Every completion from an ASCII or LaTeX name to a symbol: the Greek letters (`beta` and
/// `\beta` → `β`) and every symbol's ASCII form with more than one character (`sum` → `∑`)
/// and LaTeX names.
pub fn completions() -> Vec<Completion> {
    let mut out = Vec::new();
    for (ascii, greek) in crate::names::greek_letters() {
        for typed in [ascii.to_string(), format!("\\{ascii}")] {
            out.push(Completion {
                typed,
                symbol: greek.to_string(),
                what: format!("Greek letter {ascii}"),
            });
        }
    }
    for s in SYMBOLS {
        let ascii = (s.ascii.len() > 1 && s.ascii.chars().all(|c| c.is_ascii_alphabetic()))
            .then(|| s.ascii.to_string());
        for typed in ascii
            .into_iter()
            .chain(s.latex.iter().map(|l| l.to_string()))
        {
            out.push(Completion {
                typed,
                symbol: s.unicode.to_string(),
                what: s.what.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_is_one_symbol() {
        let mut seen = std::collections::HashSet::new();
        for s in SYMBOLS {
            assert!(s.ascii.is_ascii(), "{}", s.ascii);
            assert!(!s.unicode.is_ascii(), "{}", s.unicode);
            assert!(seen.insert(s.unicode), "{} twice", s.unicode);
            assert!(seen.insert(s.ascii), "{} twice", s.ascii);
            assert_eq!(by_unicode(s.unicode).map(|t| t.ascii), Some(s.ascii));
            assert_eq!(by_ascii(s.ascii).map(|t| t.unicode), Some(s.unicode));
        }
    }

    #[test]
    fn completions_cover_greek_latex_and_words() {
        let c = completions();
        let find = |t: &str| c.iter().find(|c| c.typed == t).map(|c| c.symbol.as_str());
        assert_eq!(find("\\beta"), Some("β"));
        assert_eq!(find("Omega"), Some("Ω"));
        assert_eq!(find("sum"), Some("∑"));
        assert_eq!(find("\\mathbb{R}"), Some("ℝ"));
        assert_eq!(find("\\times"), Some("×"));
    }
}
