//! Every spec through the interpreter: gradients agree with central differences in f64, and
//! every optimisation pass preserves values (before vs after, to 1e-12).

use nnspec::dsl::{self, check::Options, ir::Graph};
use nnspec::interp;
use nnspec::sample::{self, Rng};
use std::path::{Path, PathBuf};

fn spec_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for dir in ["specs", "dsl/tests/data/ok"] {
        for e in std::fs::read_dir(root.join(dir))
            .expect("spec folder")
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "nn") {
                v.push(e.path());
            }
        }
    }
    v.sort();
    v
}

/// Every compilable model of every spec, with its file's stem.
fn graphs() -> Vec<(String, Graph)> {
    let mut out = Vec::new();
    for path in spec_files() {
        let src = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let checked = dsl::check_source(&src, &Options::default())
            .unwrap_or_else(|d| panic!("{}", dsl::diag::render(&d, &stem, &src)));
        for g in checked.graphs.into_iter().flatten() {
            out.push((format!("{stem}/{}", g.name), g));
        }
    }
    out
}

#[test]
fn every_spec_gradient_checks_through_the_interpreter() {
    let all = graphs();
    assert!(
        all.len() >= 20,
        "expected the book's models, found {}",
        all.len()
    );
    let mut checked = 0;
    for (name, forward) in all {
        let g = dsl::opt::optimize(&forward).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut rng = Rng::new(7);
        let params = sample::params(&g, &mut rng);
        let inputs = sample::inputs(&g, 3, &mut rng);
        for loss in &g.losses {
            let rows = interp::gradcheck(&g, &loss.name, &inputs, &params, 1e-6)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            for row in rows {
                assert!(
                    row.max_rel_error < 1e-6,
                    "{name}: ∂{}/∂{} relative error {:.3e}",
                    loss.name,
                    row.param,
                    row.max_rel_error
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} gradients checked");
}

#[test]
fn every_pass_preserves_values_on_every_spec() {
    for (name, forward) in graphs() {
        let joint = dsl::ad::grad_all(&forward).unwrap_or_else(|e| panic!("{name}: {e}"));
        for g in [forward, joint] {
            let mut rng = Rng::new(11);
            let params = sample::params(&g, &mut rng);
            let inputs = sample::inputs(&g, 4, &mut rng);
            let before =
                interp::run(&g, &inputs, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut current = g.clone();
            for (pass, run) in dsl::opt::PASSES {
                let Some(next) = run(&current) else { continue };
                dsl::ir::verify(&next).unwrap_or_else(|e| panic!("{name}: after {pass}: {e}"));
                let after = interp::run(&next, &inputs, &params)
                    .unwrap_or_else(|e| panic!("{name}: after {pass}: {e}"));
                for (out, _) in &g.outputs {
                    let (a, b) = (
                        before.output(out).expect("output"),
                        after.output(out).expect("output"),
                    );
                    for j in 0..a.ncols() {
                        for i in 0..a.nrows() {
                            let (x, y) = (a[(i, j)], b[(i, j)]);
                            let scale = x.abs().max(y.abs()).max(1.0);
                            assert!(
                                (x - y).abs() <= 1e-12 * scale,
                                "{name}: `{pass}` changed {out}[{i},{j}]: {x} vs {y}"
                            );
                        }
                    }
                }
                current = next;
            }
        }
    }
}

#[test]
fn training_graphs_are_value_preserving_end_to_end() {
    for (name, forward) in graphs() {
        let plain = dsl::ad::grad_all(&forward).expect("differentiates");
        let optimised = dsl::training_graph(&forward).expect("optimises");
        let mut rng = Rng::new(3);
        let params = sample::params(&plain, &mut rng);
        let inputs = sample::inputs(&plain, 2, &mut rng);
        let a = interp::run(&plain, &inputs, &params).expect("runs");
        let b = interp::run(&optimised, &inputs, &params).expect("runs");
        for (out, _) in &plain.outputs {
            let (x, y) = (
                a.output(out).expect("output"),
                b.output(out).expect("output"),
            );
            for j in 0..x.ncols() {
                for i in 0..x.nrows() {
                    let scale = x[(i, j)].abs().max(y[(i, j)].abs()).max(1.0);
                    assert!(
                        (x[(i, j)] - y[(i, j)]).abs() <= 1e-10 * scale,
                        "{name}: {out}[{i},{j}] {} vs {}",
                        x[(i, j)],
                        y[(i, j)]
                    );
                }
            }
        }
    }
}
