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

#[test]
fn bars_are_read_once_so_many_norms_parse_in_linear_time() {
    // Each bar after a factor has one reading (closing inside a norm, separating in a call,
    // opening a juxtaposed norm elsewhere); trying both would take 2^100 steps here.
    let n = 100;
    for (body, clean) in [
        ("‖x‖ ".repeat(n), true),
        (format!("{}x{}", "‖".repeat(n), "‖".repeat(n)), true),
        (
            format!("{}{}", "‖ ‖x‖ ".repeat(n / 2), "‖".repeat(n / 2)),
            false,
        ),
        ("‖x ".repeat(2 * n), false),
        (format!("{}x{}", "a[x ‖ ".repeat(n), "]".repeat(n)), false),
    ] {
        let src = format!("model M {{ input x : ℝ^2\n let a[z] = z\n h = {body}\n}}");
        let got = codes(&src);
        assert_eq!(got.is_empty(), clean, "{body:.40}…: {got:?}");
    }
}

#[test]
fn too_many_norm_bars_in_a_statement_give_a_diagnostic() {
    let deep = 100_000; // 600 KB of nested norms
    let src = format!(
        "model M {{ input x : ℝ^2\n h = {}x{}\n}}",
        "‖".repeat(deep),
        "‖".repeat(deep)
    );
    assert_eq!(codes(&src), vec![Code::E0102]);
    let flat = format!(
        "model M {{ input x : ℝ^2\n h = {}\n}}",
        "‖x‖ ".repeat(50_000)
    );
    assert_eq!(codes(&flat), vec![Code::E0102]);
    // The bound is per statement: as many norms as wanted on separate lines.
    let lines = "h = ‖x‖\n".repeat(2_000);
    let ok = format!("model M {{ input x : ℝ^2\n {lines}}}");
    assert_eq!(codes(&ok).iter().filter(|&&c| c == Code::E0102).count(), 0);
}
