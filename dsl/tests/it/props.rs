//! Property tests: random text and random mutations of every valid spec never panic, and
//! every diagnostic renders with a `file:line:col` and a caret (12 000 cases), and mutants that
//! check clean go through AD, the optimiser, the plan and emission (200 cases; a longer
//! campaign is `fuzz_campaign`).

use crate::mutants::{self, Mutation, STRAY, TokenMutation, apply};
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

fn token_mutation() -> impl Strategy<Value = TokenMutation> {
    prop_oneof![
        any::<usize>().prop_map(TokenMutation::Delete),
        any::<usize>().prop_map(TokenMutation::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| TokenMutation::Replace(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| TokenMutation::Insert(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| TokenMutation::Swap(a, b)),
    ]
}

/// A mutant that checks clean must go through the whole pipeline: AD, the optimiser, the
/// buffer plan and emission, without a panic or an internal error. Returns whether it
/// checked clean (the caller counts those).
pub fn pipeline_never_fails(src: &str) -> bool {
    use nnspec_dsl::{emit, opt::plan, training_graph};
    let Ok(checked) = check_source(src, &Options::default()) else {
        return false;
    };
    // A model whose hyper-parameters lack values checks but is not compiled.
    if checked.graphs.iter().flatten().next().is_none() {
        return true;
    }
    for g in checked.graphs.iter().flatten() {
        let train = training_graph(g)
            .unwrap_or_else(|e| panic!("internal error after a clean check: {e}\n{src}"));
        let p = plan::plan(&train);
        assert_eq!(p.buffer.len(), train.nodes.len());
    }
    match emit::expand(src, "m.nn", &emit::Options::default()) {
        // A whole rule whose new value is another parameter as it stands runs in the
        // interpreter only; `model!` refuses it by name.
        Err(e) if e.contains("copies a parameter as it stands") => {}
        // A table looked up at a policy's action runs in the interpreter only, refused by name.
        Err(e) if e.contains("labels another table holds") => {}
        Err(e) => panic!("emission failed after a clean check: {e}\n{src}"),
        Ok(_) => {}
    }
    true
}

fn mutant(which: usize, chars: &[Mutation], toks: &[TokenMutation]) -> String {
    let specs = &*SPECS;
    mutants::mutant(&specs[which % specs.len()], chars, toks)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutants_that_check_clean_compile(
        which in any::<usize>(),
        chars in prop::collection::vec(mutation(), 0..2),
        toks in prop::collection::vec(token_mutation(), 1..3),
    ) {
        pipeline_never_fails(&mutant(which, &chars, &toks));
    }
}

/// The long campaign: `NNSPEC_FUZZ_CASES=200000 NNSPEC_FUZZ_SEED=1 cargo test -p nnspec-dsl
/// --test it fuzz_campaign -- --ignored --nocapture` (counts recorded in `docs/ROBUSTNESS.md`).
#[test]
#[ignore = "a long campaign, run by hand"]
fn fuzz_campaign() {
    campaign(
        "fuzz campaign",
        "checked clean and compiled",
        pipeline_never_fails,
    );
}

/// The check-only campaign, many times faster: `check_source` (parse, check, lower) on each
/// mutant, which must answer with a graph or diagnostics, never a panic.
/// `NNSPEC_FUZZ_CASES=1000000 NNSPEC_FUZZ_SEED=1 cargo test --release -p nnspec-dsl --test it
/// check_campaign -- --ignored --nocapture`.
#[test]
#[ignore = "a long campaign, run by hand"]
fn check_campaign() {
    campaign("check campaign", "checked clean", |src| {
        check_source(src, &Options::default()).is_ok()
    });
}

/// Runs `run` on `NNSPEC_FUZZ_CASES` mutants (10 000 by default) drawn from
/// `NNSPEC_FUZZ_SEED` (random if unset), counting those it calls clean.
fn campaign(what: &str, clean_means: &str, run: impl Fn(&str) -> bool) {
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("NNSPEC_FUZZ_CASES").unwrap_or(10_000) as u32;
    let rng_seed = env("NNSPEC_FUZZ_SEED").map_or(RngSeed::Random, RngSeed::Fixed);
    let clean = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        any::<usize>(),
        prop::collection::vec(mutation(), 0..2),
        prop::collection::vec(token_mutation(), 1..3),
    );
    let started = std::time::Instant::now();
    let result = runner.run(&strategy, |(which, chars, toks)| {
        if run(&mutant(which, &chars, &toks)) {
            clean.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    });
    println!(
        "{what}: {cases} mutants, {} {clean_means}, {:.0} s",
        clean.into_inner(),
        started.elapsed().as_secs_f64()
    );
    result.unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() })]

    /// `fmt` on mutated specs: never a panic; in every spelling either a diagnostic or a file
    /// that formats to itself again.
    #[test]
    fn formatting_mutated_specs_never_panics_and_is_idempotent(
        which in any::<usize>(),
        muts in prop::collection::vec(mutation(), 1..3),
    ) {
        use nnspec_dsl::fmt::{Spelling, format};
        let specs = &*SPECS;
        let mut src = specs[which % specs.len()].clone();
        for m in &muts {
            src = apply(&src, m);
        }
        for spelling in [Spelling::Keep, Spelling::Ascii, Spelling::Unicode] {
            if let Ok(out) = format(&src, spelling) {
                prop_assert_eq!(format(&out, spelling).ok(), Some(out));
            }
        }
    }
}
