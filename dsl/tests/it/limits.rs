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
    // Each bar after a factor has one reading (closing inside a norm, separating a
    // divergence's arguments, opening a juxtaposed norm elsewhere), and a name directly followed
    // by `[` is only ever a call; trying both readings would take 2^100 steps here.
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
        (format!("{}x{}", "a [x ‖ ".repeat(n), "]".repeat(n)), false),
        (
            format!("{}x{}", "exp[2 ‖x‖ ".repeat(n), "]".repeat(n)),
            true,
        ),
        (format!("{}x{}", "a[x|".repeat(n), "]".repeat(n)), false),
        (format!("{}x{}", "a[x |x| ".repeat(n), "]".repeat(n)), false),
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

#[test]
fn let_functions_that_recurse_are_refused_without_overflowing() {
    for src in [
        "model M { input x : ℝ; let a[z] = a[z]; f[x, φ] = a[x] }",
        "model M { input x : ℝ; let a[z] = b[z]; let b[z] = a[z]; f[x, φ] = a[x] }",
        "model M { input x : ℝ; let a[z] = a[z]; f[x, φ] = x }",
        // Through a binding, which the search over `let` bodies cannot see.
        "model M { input x : ℝ; let b[z] = a[z]; let a = b; f[x, φ] = a[x] }",
    ] {
        assert_eq!(codes(src), vec![Code::E0218], "{src}");
    }
}

#[test]
fn exponential_inlining_is_cut_off_by_its_budget() {
    let mut src = String::from("model M { input x : ℝ\n let f_0[z] = sig[z]\n");
    for k in 0..24 {
        src += &format!(" let f_{{{}}}[z] = f_{k}[f_{k}[z]]\n", k + 1);
    }
    src += " g[x, φ] = f_24[x] }";
    assert_eq!(codes(&src), vec![Code::E0407]);
    // 2⁸ copies of a three-term body are well within the budget.
    let small = src.replace("f_24[x]", "f_8[x]");
    assert_eq!(codes(&small), Vec::<Code>::new());
    const { assert!(nnspec_dsl::check::MAX_INLINED >= 3 << 8) };
}

#[test]
fn repeated_errors_are_summarised_after_twenty_of_a_code() {
    let lines: String = (0..4_000).map(|k| format!(" h_{k} = q\n")).collect();
    let src = format!("model M {{ input x : ℝ\n{lines}}}");
    let Err(d) = check_source(&src, &Options::default()) else {
        panic!("4000 unknown names check clean");
    };
    assert_eq!(d.len(), nnspec_dsl::diag::MAX_SHOWN_PER_CODE);
    assert!(d.iter().all(|d| d.code == Code::E0201));
    let last = d.last().map(|d| d.notes.join(" ")).unwrap_or_default();
    assert!(last.contains("3980 more E0201"), "{last}");
    // A family of 100 000 members with an error each: one error, at the family's place.
    let fam = "model M[K = 100000] { input x : ℝ\n h_k = q for k ∈ {1 … K}\n}";
    assert_eq!(codes(fam), vec![Code::E0201]);
}

#[test]
fn long_chains_emit_with_shallow_loops() {
    use nnspec_dsl::{emit, opt::plan};
    // 5 000 factors: one fusion group would nest 5 000 deep.
    let chain = vec!["x"; 5_000].join(" ⊙ ");
    let src = format!("model M {{ input x : ℝ^2\n param β : ℝ^2\n f[x, φ] = β ⊙ {chain}\n}}");
    let checked = check_source(&src, &Options::default()).expect("checks");
    let g = checked.graph(None).expect("a graph");
    let p = plan::plan(g);
    // Each node's depth below its group's root, following the (single) user.
    let mut depth = vec![0usize; g.nodes.len()];
    for i in (0..g.nodes.len()).rev() {
        if p.fused_into[i].is_some() {
            let user = (i + 1..g.nodes.len())
                .find(|&u| g.nodes[u].args.iter().any(|a| a.index() == i))
                .expect("a fused node has a user");
            depth[i] = depth[user] + 1;
        }
    }
    let deepest = depth.iter().copied().max().unwrap_or(0);
    assert!(deepest <= plan::MAX_FUSED_DEPTH, "{deepest}");
    assert!(
        deepest >= plan::MAX_FUSED_DEPTH / 2,
        "the chain is still fused: {deepest}"
    );
    let tokens = emit::expand(&src, "m.nn", &emit::Options::default()).expect("emits");
    // Each statement's comment quotes its 30 KB spec line cut short, not in full.
    let size = tokens.to_string().len();
    assert!(size < 1 << 21, "{size} bytes of generated code");
    syn::parse2::<syn::File>(tokens).expect("generated code parses");
    // 10 000 squares, each its own statement: emission stays linear.
    let squares: String = (1..=10_000)
        .map(|k| format!(" h_{} = h_{k} ⊙ h_{k}\n", k + 1))
        .collect();
    let src = format!(
        "model M {{ input x : ℝ\n param β : ℝ\n h_1 = β x\n{squares} f[x, φ] = h_10001\n}}"
    );
    let tokens = emit::expand(&src, "m.nn", &emit::Options::default()).expect("emits");
    assert!(tokens.to_string().matches("h_10001").count() >= 1);
}

#[test]
fn sizes_beyond_memory_or_32_bits_are_diagnostics() {
    for (hypers, body) in [
        (
            "D = 200000",
            "input x : ℝ^D; param Ω : ℝ^{D×D}; f[x, φ] = Ω x",
        ),
        (
            "D = 4294967296",
            "input x : ℝ^D; param Ω : ℝ^{D×D}; f[x, φ] = Ω x",
        ),
        ("D = 2147483648", "input x : ℝ^D; f[x, φ] = x"),
        (
            "K = 4294967296",
            "input x : ℝ^2; target y : {0 … K-1}; f[x, φ] = x",
        ),
        // Small parameters, a huge fixed product of them.
        (
            "D = 1000000",
            "param ω : ℝ^D; input x : ℝ; f[x, φ] = (ω ωᵀ) 𝟏 x",
        ),
    ] {
        let src = format!("model M[{hypers}] {{ {body} }}");
        assert_eq!(codes(&src), vec![Code::E0317], "{src}");
    }
}

#[test]
fn a_graph_beyond_its_operation_budget_is_refused() {
    // 60 000 members of two operations each: 120 000 operations, over `MAX_NODES`.
    let src = "model M[K = 60000] { input x : ℝ\n h_1 = x\n \
               h_{k+1} = sig[h_k] + h_k for k ∈ {1 … K}\n f[x, φ] = h_{K+1}\n}";
    assert_eq!(codes(src), vec![Code::E0407]);
    const { assert!(nnspec_dsl::ir::lower::MAX_NODES < 120_000) };
    let fewer = src.replace("K = 60000", "K = 20000");
    assert_eq!(codes(&fewer), Vec::<Code>::new());
}
