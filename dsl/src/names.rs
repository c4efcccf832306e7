//! Canonical spellings of names: `beta_0`, `β₀` and `β_0` are one name, printed `β_0`.
//!
//! A canonical name is the Greek letter for an ASCII Greek word, then primes, then the frozen
//! mark, then the subscript items (in braces when longer than one character): `β_0`, `h'`,
//! `θ_{10}`, `φ⁻`. Single-character items run together (`θ_{d,0}` with d = 2 is `θ_{20}`);
//! longer ones are joined by commas (`x_{i,10}`).

/// ASCII spellings of Greek letters, and Unicode variants, with the letter they stand for.
const GREEK: &[(&str, &str)] = &[
    ("alpha", "α"),
    ("beta", "β"),
    ("gamma", "γ"),
    ("delta", "δ"),
    ("epsilon", "ε"),
    ("zeta", "ζ"),
    ("eta", "η"),
    ("theta", "θ"),
    ("iota", "ι"),
    ("kappa", "κ"),
    ("lambda", "λ"),
    ("mu", "μ"),
    ("nu", "ν"),
    ("xi", "ξ"),
    ("pi", "π"),
    ("rho", "ρ"),
    ("sigma", "σ"),
    ("tau", "τ"),
    ("upsilon", "υ"),
    ("phi", "φ"),
    ("chi", "χ"),
    ("psi", "ψ"),
    ("omega", "ω"),
    ("Gamma", "Γ"),
    ("Delta", "Δ"),
    ("Theta", "Θ"),
    ("Lambda", "Λ"),
    ("Xi", "Ξ"),
    ("Pi", "Π"),
    ("Sigma", "Σ"),
    ("Phi", "Φ"),
    ("Psi", "Ψ"),
    ("Omega", "Ω"),
    ("ell", "ℓ"),
    ("ϕ", "φ"),
    ("ϵ", "ε"),
    ("ϑ", "θ"),
];

/// The Greek letters with their ASCII spellings (`("beta", "β")`), for tools that convert or
/// complete spellings (`crate::spelling`).
pub fn greek_letters() -> impl Iterator<Item = (&'static str, &'static str)> {
    GREEK.iter().copied().filter(|(a, _)| a.is_ascii())
}

/// The canonical form of a word: the Greek letter for its ASCII spelling, else the word.
pub fn word(w: &str) -> &str {
    GREEK
        .iter()
        .find(|(ascii, _)| *ascii == w)
        .map_or(w, |(_, g)| g)
}

/// The ASCII spelling of a Greek letter (`β` → `beta`, `Ω` → `Omega`), if it has one.
pub fn ascii_letter(c: char) -> Option<&'static str> {
    GREEK
        .iter()
        .find(|(a, g)| a.is_ascii() && g.chars().eq(std::iter::once(c)))
        .map(|(a, _)| *a)
}

/// Builds a canonical name from its canonical word, primes, frozen mark and subscript items.
pub fn build(word_text: &str, primes: u8, frozen: bool, items: &[String]) -> String {
    let mut s = word(word_text).to_string();
    for _ in 0..primes {
        s.push('\'');
    }
    if frozen {
        s.push('⁻');
    }
    if !items.is_empty() {
        // Single-character indices run together, as the book writes them: `θ_{d,0}` with
        // d = 2 is `θ_{20}`. Longer items keep their commas: `x_{i,10}`.
        let sep = if items.iter().all(|i| i.chars().count() == 1) {
            ""
        } else {
            ","
        };
        let sub = items.join(sep);
        if sub.chars().count() == 1 {
            s.push('_');
            s.push_str(&sub);
        } else {
            s.push_str("_{");
            s.push_str(&sub);
            s.push('}');
        }
    }
    s
}

/// A name's word as the compiler holds it: in Unicode's composed form (NFC), so that `ŷ`
/// typed as one character (U+0177) and as `y` followed by a combining circumflex (U+0302) are
/// one name, as they look. A mark with no composed form (`x̂`) stays a combining mark.
pub fn composed(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc().collect()
}

/// The canonical form of a name written as text outside a spec (a JSON key, a command-line
/// argument): `beta_0` → `β_0`, `theta_10` → `θ_{10}`, `W_hh` → `W_{hh}`, `Ω₀` → `Ω_0`, and a
/// sub-model's parameter `phi_1.beta` → `φ_1.β`. Numbers in a subscript are taken as written
/// (there are no hyper-parameters to evaluate). Text that is not a name is returned as is.
pub fn canonical(text: &str) -> String {
    if text.contains('.') {
        return text.split('.').map(canonical).collect::<Vec<_>>().join(".");
    }
    canonical_name(text).unwrap_or_else(|| text.to_string())
}

/// The canonical form of text that is exactly one name (`D_{i}`, `D_i` and `D_{ i }` are all
/// `D_i`), or `None` when it is not one.
pub fn canonical_name(text: &str) -> Option<String> {
    crate::syntax::parse_name(text.trim()).map(|n| literal(&n))
}

/// The canonical text of a parsed name as written, without evaluating its subscript
/// (`D_q`, `θ_{10}`, `D_h` even where `h` is a family variable).
pub fn literal(n: &crate::ast::Name) -> String {
    use crate::ast::ExprKind;
    let items: Vec<String> = n
        .sub
        .iter()
        .map(|e| match &e.kind {
            ExprKind::Number(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", *v as i64),
            ExprKind::Name(m) => literal(m),
            _ => crate::dump::expr(e),
        })
        .collect();
    build(&n.word, n.primes, n.frozen, &items)
}

/// A canonical name spelt in ASCII where it starts with a Greek letter: `Ω_0` → `Omega_0`.
pub fn ascii(name: &str) -> String {
    for (ascii, greek) in GREEK {
        if ascii.is_ascii()
            && let Some(rest) = name.strip_prefix(greek)
            && !rest.starts_with(char::is_alphanumeric)
        {
            return format!("{ascii}{rest}");
        }
    }
    name.to_string()
}

/// The edit distance between two names, in characters (for "did you mean" help).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within a small edit distance, if any.
pub fn closest<'a>(target: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let len = target.chars().count();
    let limit = (len / 3).clamp(1, 3);
    candidates
        .filter(|c| *c != target)
        .map(|c| (distance(target, c), c))
        .filter(|(d, _)| *d <= limit && *d < len)
        .min()
        .map(|(_, c)| c)
}

/// Whether an unknown function's name reads as an activation function (the book's `a[·]`,
/// `act`, `activation`), so that binding a built-in activation to it is the likely fix.
pub fn looks_like_activation(word: &str) -> bool {
    matches!(word, "a" | "act" | "activation")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_unicode_spellings_agree() {
        assert_eq!(build("beta", 0, false, &["0".into()]), "β_0");
        assert_eq!(build("β", 0, false, &["0".into()]), "β_0");
        assert_eq!(build("θ", 0, false, &["10".into()]), "θ_{10}");
        assert_eq!(build("phi", 1, false, &["0".into()]), "φ'_0");
        assert_eq!(build("phi", 0, true, &[]), "φ⁻");
        assert_eq!(build("x", 0, false, &["i".into(), "j".into()]), "x_{ij}");
        assert_eq!(build("θ", 0, false, &["2".into(), "0".into()]), "θ_{20}");
        assert_eq!(build("x", 0, false, &["i".into(), "10".into()]), "x_{i,10}");
    }

    #[test]
    fn written_names_take_the_spelling_of_the_spec() {
        assert_eq!(canonical("beta_0"), "β_0");
        assert_eq!(canonical("β₀"), "β_0");
        assert_eq!(canonical("theta_10"), "θ_{10}");
        assert_eq!(canonical("theta_{10}"), "θ_{10}");
        assert_eq!(canonical("θ_{1,0}"), "θ_{10}");
        assert_eq!(canonical("W_hh"), "W_{hh}");
        assert_eq!(canonical("Omega_0"), "Ω_0");
        assert_eq!(canonical("phi_1.beta"), "φ_1.β");
        assert_eq!(canonical("x"), "x");
        assert_eq!(canonical("not a name"), "not a name");
        assert_eq!(canonical(""), "");
    }

    #[test]
    fn a_marked_letter_is_one_name_however_it_is_typed() {
        // `ŷ` as one character (U+0177) and as `y` + U+0302; `x̂` has no composed form.
        assert_eq!(canonical("\u{177}"), canonical("y\u{302}"));
        assert_eq!(canonical("y\u{302}_1"), "\u{177}_1");
        assert_eq!(composed("x\u{302}"), "x\u{302}");
    }

    #[test]
    fn ascii_spelling_of_canonical_names() {
        assert_eq!(ascii("Ω_0"), "Omega_0");
        assert_eq!(ascii("ℓ_i"), "ell_i");
        assert_eq!(ascii("h_1"), "h_1");
    }

    #[test]
    fn closest_suggests_small_edits_only() {
        let names = ["β_0", "Ω_0", "h_1"];
        assert_eq!(closest("β_O", names.iter().copied()), Some("β_0"));
        assert_eq!(closest("zzzzzz", names.iter().copied()), None);
    }
}
