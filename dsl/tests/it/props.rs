//! Property tests: random text and random mutations of every valid spec never panic, and
//! every diagnostic renders with a `file:line:col` and a caret. 12 000 cases in all.

use crate::valid_specs;
use nnspec_dsl::{check::Options, check_source, diag};
use proptest::prelude::*;
use std::sync::LazyLock;

static SPECS: LazyLock<Vec<String>> = LazyLock::new(|| {
    valid_specs()
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable spec"))
        .collect()
});

/// Characters the mutations insert: the language's own symbols, look-alikes, and noise.
const STRAY: &[char] = &[
    'β', 'Ω', 'φ', 'ℝ', '×', '∈', '…', '·', '⊙', 'ᵀ', '‖', '𝟏', '∑', '∏', '√', '∂', '²', '⁻', '′',
    '₀', '₉', '[', ']', '(', ')', '{', '}', '_', '^', '=', '~', ',', ';', '\n', '#', ':', '|',
    '\'', '"', '\\', '−', 'Σ', '∘', '→', '\u{200B}', '\u{FEFF}', '\u{0301}', 'é', '😀', '\t', '\r',
    '\u{7}', '0', '9', '.',
];

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Delete(usize),
    Duplicate(usize),
    SwapBrackets(usize),
    Insert(usize, char),
    Replace(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Duplicate),
        any::<usize>().prop_map(Mutation::SwapBrackets),
        (any::<usize>(), prop::sample::select(STRAY)).prop_map(|(i, c)| Mutation::Insert(i, c)),
        (any::<usize>(), prop::sample::select(STRAY)).prop_map(|(i, c)| Mutation::Replace(i, c)),
    ]
}

fn apply(src: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let at = |i: usize| i % chars.len();
    match *m {
        Mutation::Truncate(i) => chars.truncate(at(i)),
        Mutation::Delete(i) => {
            chars.remove(at(i));
        }
        Mutation::Duplicate(i) => {
            let k = at(i);
            chars.insert(k, chars[k]);
        }
        Mutation::SwapBrackets(i) => {
            let k = at(i);
            let swapped = match chars[k] {
                '[' => ']',
                ']' => '[',
                '(' => ')',
                ')' => '(',
                '{' => '}',
                '}' => '{',
                c => c,
            };
            chars[k] = swapped;
        }
        Mutation::Insert(i, c) => chars.insert(at(i), c),
        Mutation::Replace(i, c) => {
            let k = at(i);
            chars[k] = c;
        }
    }
    chars.into_iter().collect()
}

/// Checks a source and renders its diagnostics; panics (failing the property) on any bug.
fn check_and_render(src: &str) {
    if let Err(diags) = check_source(src, &Options::default()) {
        assert!(!diags.is_empty());
        let text = diag::render(&diags, "m.nn", src);
        for d in &diags {
            assert!(
                d.span.start <= d.span.end && d.span.end as usize <= src.len(),
                "span out of range: {d:?}"
            );
        }
        assert!(text.contains("m.nn:"), "no file:line:col in\n{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_and_render(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_symbol_soup_never_panics(s in prop::collection::vec(prop::sample::select(STRAY), 0..120)) {
        let text: String = s.into_iter().collect();
        check_and_render(&format!("model M[D = 2] {{ input x : ℝ^D\n h = {text}\n}}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_specs_never_panic(
        which in any::<usize>(),
        muts in prop::collection::vec(mutation(), 1..4),
    ) {
        let specs = &*SPECS;
        let mut src = specs[which % specs.len()].clone();
        for m in &muts {
            src = apply(&src, m);
        }
        check_and_render(&src);
    }
}
