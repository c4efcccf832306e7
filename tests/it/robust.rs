//! Specs at the edges, end to end through the command line: what `check` accepts, every
//! other command handles; what they cannot handle, `check` refuses with a diagnostic.

use std::path::{Path, PathBuf};

use super::cli::nnspec;

fn scratch(name: &str, contents: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robust");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write scratch spec");
    p
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `A` has a target and a loss of its own; `B` calls `A`'s function with its own target.
const SUB_MODEL_WITH_LOSS: &str = "\
model A[D = 2] {
    input  x : ℝ^D
    target y : ℝ^D
    param  β : ℝ^D
    f[x, φ] = β + x
    loss L[φ] = ∑_i ‖f[x_i, φ] - y_i‖²
}
model B[D = 2] {
    input  x : ℝ^D
    target t : ℝ^D
    f[x, φ] = A[x, φ_1]
    loss M[φ] = ∑_i ‖f[x_i, φ] - t_i‖²
}
";

#[test]
fn a_sub_model_with_a_loss_contributes_only_its_function() {
    let spec = scratch("sub_loss.nn", SUB_MODEL_WITH_LOSS);
    let spec = spec.to_str().unwrap();
    let ir = nnspec(&["ir", spec, "--model", "B", "--stage", "grad"]);
    let out = text(&ir.stdout);
    assert!(ir.status.success(), "{}", text(&ir.stderr));
    // The caller's inputs are its own: `x` and `t`, not the callee's target `y`.
    assert!(out.contains("graph B(x: 2×B, t: 2×B)"), "{out}");
    assert!(out.contains("M = ") && !out.contains("L = "), "{out}");
    let emit = nnspec(&["emit", spec, "--model", "B"]);
    assert!(emit.status.success(), "{}", text(&emit.stderr));
    let gc = nnspec(&["gradcheck", spec]);
    assert!(gc.status.success(), "{}", text(&gc.stdout));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("robust")
        .join("sub_loss");
    let train = nnspec(&[
        "train",
        spec,
        "--model",
        "B",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(train.status.success(), "{}", text(&train.stderr));
    // The callee still trains on its own loss.
    let ir = nnspec(&["ir", spec, "--model", "A", "--stage", "grad"]);
    assert!(text(&ir.stdout).contains("L = "), "{}", text(&ir.stdout));
}

#[test]
fn sizes_beyond_memory_stop_ir_with_a_diagnostic_not_a_wrapped_count() {
    let spec = scratch(
        "huge.nn",
        "model M[D = 4294967296] { input x : ℝ^D; param Ω : ℝ^{D×D}; f[x, φ] = Ω x }\n",
    );
    let r = nnspec(&["ir", spec.to_str().unwrap(), "--plan"]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("E0317") && !err.contains("internal"), "{err}");
}

#[test]
fn two_models_with_one_name_are_refused_by_every_command() {
    let spec = scratch(
        "dup.nn",
        "model M { input x : ℝ; param β : ℝ; f[x, φ] = β x }\n\
         model M { input x : ℝ; param β : ℝ; f[x, φ] = β + x }\n",
    );
    for cmd in ["check", "ir", "emit"] {
        let r = nnspec(&[cmd, spec.to_str().unwrap()]);
        assert_eq!(r.status.code(), Some(1), "{cmd}");
        assert!(
            text(&r.stderr).contains("E0219"),
            "{cmd}: {}",
            text(&r.stderr)
        );
    }
}

/// What `check` accepts, the whole pipeline compiles and the interpreter runs: a mutant that
/// checks clean is differentiated, optimised, planned and emitted, and its training graph
/// evaluated at sampled parameters and inputs, with no panic and no error. Returns whether it
/// checked clean.
fn interpreter_runs_what_checks(src: &str, rng: &mut nnspec::sample::Rng) -> bool {
    use nnspec::dsl::{self, check::Options};
    let Ok(checked) = dsl::check_source(src, &Options::default()) else {
        return false;
    };
    match dsl::emit::expand(src, "m.nn", &dsl::emit::Options::default()) {
        // A whole rule whose new value is another parameter as it stands runs in the
        // interpreter only; `model!` refuses it by name.
        Err(e) if e.contains("copies a parameter as it stands") => {}
        // A table looked up at a policy's action runs in the interpreter only, refused by name.
        Err(e) if e.contains("labels another table holds") => {}
        Err(e) => panic!("emission failed after a clean check: {e}\n{src}"),
        Ok(_) => {}
    }
    for g in checked.graphs.iter().flatten() {
        let train = dsl::training_graph(g)
            .unwrap_or_else(|e| panic!("internal error after a clean check: {e}\n{src}"));
        let plan = dsl::opt::plan::plan(&train);
        assert_eq!(plan.buffer.len(), train.nodes.len(), "{src}");
        let params = nnspec::sample::params(&train, rng);
        let inputs = nnspec::sample::inputs(&train, 3, rng);
        if let Err(e) = nnspec::interp::run(&train, &inputs, &params) {
            panic!("the interpreter failed after a clean check: {e}\n{src}");
        }
    }
    true
}

/// Mutants of every spec through the whole pipeline, the interpreter included: `cases` of
/// them from a fixed seed; returns how many checked clean.
fn whole_pipeline_campaign(cases: usize, seed: u64) -> usize {
    let specs: Vec<String> = super::specs::spec_files()
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable spec"))
        .collect();
    let mut rng = nnspec::sample::Rng::new(seed);
    let mut clean = 0;
    for _ in 0..cases {
        let which = rng.next_u64() as usize % specs.len();
        let (chars, toks) = super::mutants::draw(&mut || rng.next_u64());
        let src = super::mutants::mutant(&specs[which], &chars, &toks);
        if interpreter_runs_what_checks(&src, &mut rng) {
            clean += 1;
        }
    }
    clean
}

#[test]
fn mutants_that_check_clean_run_through_the_interpreter() {
    let clean = whole_pipeline_campaign(300, 7);
    // Most single mutations break a spec; enough survive that the property is exercised.
    assert!(clean >= 30, "only {clean} of 300 mutants checked clean");
}

/// The long campaign: `NNSPEC_FUZZ_CASES=100000 cargo test --release --test it
/// whole_pipeline_fuzz_campaign -- --ignored --nocapture` (counts in `docs/ROBUSTNESS.md`).
#[test]
#[ignore = "a long campaign, run by hand"]
fn whole_pipeline_fuzz_campaign() {
    let cases = std::env::var("NNSPEC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed = std::env::var("NNSPEC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let clean = whole_pipeline_campaign(cases, seed);
    println!("whole-pipeline campaign: {cases} mutants, {clean} checked clean and ran");
}

#[test]
fn a_number_times_a_row_of_ones_is_scaled_ones() {
    // `c 𝟏ᵀ x_i` is c times the sum of x_i's entries, not `c x_i` (found by the whole-pipeline
    // campaign: `δ c e 𝟏ᵀ x_i` lowered as a vector, a 2×1 loss). Two examples (1, 3) and
    // (2, 4), whose entries sum to 10; c = 0.5 and e = 3 by hand: 5 and 15.
    use nnspec::dsl::{self, check::Options};
    use nnspec::faer::Mat;
    for (loss, want) in [("∑_i c 𝟏ᵀ x_i", 5.0), ("∑_i c e 𝟏ᵀ x_i", 15.0)] {
        let src = format!(
            "model M[D = 2] {{ input x : ℝ^D\n param c : ℝ\n param e : ℝ\n loss L[φ] = {loss}\n}}"
        );
        let checked = dsl::check_source(&src, &Options::default()).expect("checks");
        let g = checked.graph(None).expect("a graph");
        let x = Mat::from_fn(2, 2, |r, c| [[1.0, 2.0], [3.0, 4.0]][r][c]);
        let params = [
            Mat::from_fn(1, 1, |_, _| 0.5),
            Mat::from_fn(1, 1, |_, _| 3.0),
        ];
        let values = nnspec::interp::run(g, &[x], &params).expect("runs");
        assert_eq!(values.scalar("L").expect("a scalar loss"), want, "{loss}");
    }
}
