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
            let rows = interp::gradcheck(&g, &loss.name, &inputs, &params, 1e-5)
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

/// The graph of the model `name` in a spec file.
fn model(file: &str, name: &str) -> Graph {
    let src =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("spec");
    let checked = dsl::check_source(&src, &Options::default()).expect("checks");
    checked.graph(Some(name)).cloned().expect("model")
}

fn scalar(x: f64) -> faer::Mat<f64> {
    faer::Mat::from_fn(1, 1, |_, _| x)
}

#[test]
fn the_toy_chain_matches_the_books_backpropagation_by_hand() {
    // UDL eq. 7.5–7.16 for one example: the forward pass (7.9) and the backward pass
    // (7.11–7.16) written out as in the book, against the compiler's gradients.
    let (x, y): (f64, f64) = (0.7, 0.3);
    let beta: [f64; 4] = [0.1, -0.4, 0.5, 0.2];
    let omega: [f64; 4] = [1.3, 0.8, -0.6, 1.1];
    let f0 = beta[0] + omega[0] * x;
    let h1 = f0.sin();
    let f1 = beta[1] + omega[1] * h1;
    let h2 = f1.exp();
    let f2 = beta[2] + omega[2] * h2;
    let h3 = f2.cos();
    let f3 = beta[3] + omega[3] * h3;
    let l = (f3 - y) * (f3 - y);
    let dl_df3 = 2.0 * (f3 - y); // (7.11)
    let dl_dh3 = omega[3] * dl_df3; // (7.12)
    let dl_df2 = -f2.sin() * dl_dh3;
    let dl_dh2 = omega[2] * dl_df2;
    let dl_df1 = f1.exp() * dl_dh2;
    let dl_dh1 = omega[1] * dl_df1;
    let dl_df0 = f0.cos() * dl_dh1; // (7.13)
    let df = [dl_df0, dl_df1, dl_df2, dl_df3];
    let h = [x, h1, h2, h3];

    let g = dsl::training_graph(&model("specs/toy_chain.nn", "ToyChain")).expect("compiles");
    // Parameters in declaration order: β_0, ω_0, β_1, ω_1, …
    let params: Vec<_> = (0..4)
        .flat_map(|k| [scalar(beta[k]), scalar(omega[k])])
        .collect();
    let v = interp::run(&g, &[scalar(x), scalar(y)], &params).expect("runs");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0);
    assert!(close(v.scalar("L").expect("loss"), l));
    for k in 0..4 {
        let db = v.output(&format!("∂L/∂β_{k}")).expect("∂L/∂β")[(0, 0)];
        let dw = v.output(&format!("∂L/∂ω_{k}")).expect("∂L/∂ω")[(0, 0)];
        assert!(close(db, df[k]), "∂ℓ/∂β_{k}: {db} vs the book's {}", df[k]); // (7.15–7.16)
        assert!(
            close(dw, h[k] * df[k]),
            "∂ℓ/∂ω_{k}: {dw} vs the book's {}",
            h[k] * df[k]
        );
    }
}

#[test]
fn stable_rewrites_keep_cross_entropy_finite_at_large_logits() {
    // Logits ±80: in f64 sig(80) rounds to 1, so log(1 - sig(80)) is -∞ in the naive form.
    let src = "model BCE { input z : ℝ; target y : {0, 1}; param β : ℝ
        f[z, φ] = β + z
        loss L[φ] = ∑_i (-(1 - y_i) log[1 - sig[f[z_i, φ]]] - y_i log[sig[f[z_i, φ]]]) }";
    let checked = dsl::check_source(src, &Options::default()).expect("checks");
    let naive = checked.graph(None).cloned().expect("graph");
    let z = faer::Mat::from_fn(1, 2, |_, j| if j == 0 { 80.0 } else { -80.0 });
    let y = faer::Mat::from_fn(1, 2, |_, j| j as f64);
    let p = [scalar(0.0)];
    let plain = interp::run(&naive, &[z.clone(), y.clone()], &p).expect("runs");
    assert!(
        !plain.scalar("L").expect("loss").is_finite(),
        "the naive form should overflow"
    );
    let stable = dsl::training_graph(&naive).expect("compiles");
    let v = interp::run(&stable, &[z, y], &p).expect("runs");
    let loss = v.scalar("L").expect("loss");
    assert!((loss - 160.0).abs() < 1e-9, "loss {loss}, expected 80 + 80");
    let grad = v.output("∂L/∂β").expect("gradient")[(0, 0)];
    // ∂L/∂β = ∑ (sig(f) - y) = (1 - 0) + (sig(-80) - 1) ≈ 0, and finite.
    assert!(grad.is_finite() && grad.abs() < 1e-9, "gradient {grad}");
}
