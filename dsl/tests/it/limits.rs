//! Pathological inputs: deep nesting, long chains, huge families. Each gets a diagnostic or
//! checks clean; none overflows the stack or hangs.

use nnspec_dsl::{Code, check::Options, check_source};

fn codes(src: &str) -> Vec<Code> {
    match check_source(src, &Options::default()) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(|d| d.code).collect(),
    }
}

#[test]
fn ten_thousand_nested_brackets_give_a_diagnostic() {
    for (open, close) in [("(", ")"), ("[", "]"), ("a[", "]"), ("{", "}")] {
        let src = format!(
            "model M {{ h = {}x{} }}",
            open.repeat(10_000),
            close.repeat(10_000)
        );
        assert_eq!(codes(&src), vec![Code::E0102], "nesting with {open}");
    }
}

#[test]
fn unclosed_deep_nesting_gives_a_diagnostic() {
    let src = format!("model M {{ h = {}", "(".repeat(10_000));
    assert_eq!(codes(&src), vec![Code::E0102]);
}

#[test]
fn a_long_chain_of_big_operators_gives_a_diagnostic() {
    let src = format!("model M {{ input x : ℝ; L = {} x }}", "∑_i ".repeat(10_000));
    assert_eq!(codes(&src), vec![Code::E0102]);
}

#[test]
fn nesting_within_the_limit_checks() {
    let depth = 100;
    let src = format!(
        "model M {{ input x : ℝ; h = {}x{} }}",
        "exp[".repeat(depth),
        "]".repeat(depth)
    );
    assert_eq!(codes(&src), Vec::<Code>::new());
}

#[test]
fn a_long_flat_sum_checks_without_overflowing() {
    let terms = vec!["x"; 20_000].join(" + ");
    let src = format!("model M {{ input x : ℝ; h = {terms} }}");
    assert_eq!(codes(&src), Vec::<Code>::new());
    let minus = vec!["x"; 20_000].join(" - ");
    let src = format!("model M {{ input x : ℝ; h = {} x }}", "-".repeat(5_000));
    assert_eq!(codes(&src), Vec::<Code>::new());
    let src2 = format!("model M {{ input x : ℝ; h = {minus} }}");
    assert_eq!(codes(&src2), Vec::<Code>::new());
}

#[test]
fn a_huge_family_is_refused() {
    let src = "model M[K = 1000000000] { param β_k : ℝ for k ∈ {1 … K} }";
    assert_eq!(codes(src), vec![Code::E0405]);
}

#[test]
fn empty_and_blank_files_are_reported() {
    for src in ["", "\n\n", "# only a comment\n"] {
        assert_eq!(codes(src), vec![Code::E0104], "{src:?}");
    }
}
