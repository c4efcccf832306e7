//! Optimisers written as the book prints them (`specs/optimisers.nn`, eqs. 6.3, 6.11,
//! 6.15–6.17): the spec's `←` rules, run by the interpreter as the training step
//! (`nnspec::tabular::step_whole`), make the same parameter trajectory as the runtime's
//! built-in optimiser with the same hyper-parameters, fed the gradient of eq. 6.7 computed
//! here by hand, to 1e-12 in f64 over several steps; and the code `model!` generates for
//! them steps the same trajectory as the interpreter, without touching the heap.

use faer::Mat;
use nnspec::dsl;
use nnspec::dsl::ir::Graph;
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::{NamedParams, Params};

const X: [f64; 5] = [-1.0, 0.0, 0.5, 1.5, 2.0];
const Y: [f64; 5] = [-2.1, 0.4, 1.2, 3.3, 3.9];
const PHI0: [f64; 2] = [0.3, -0.7];
const STEPS: usize = 8;

fn graph(model: &str) -> Graph {
    let path = format!("{}/specs/optimisers.nn", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(path).unwrap();
    let checked = dsl::check_source(&src, &dsl::check::Options::default())
        .unwrap_or_else(|d| panic!("{}", dsl::diag::render(&d, "optimisers.nn", &src)));
    checked.graph(Some(model)).unwrap().clone()
}

/// Eq. 6.7 summed over the examples: `∂L/∂φ = ∑_i [2(φ_1 + φ_2 x_i − y_i), 2 x_i (…)]`.
fn gradient(phi: &[f64; 2]) -> [f64; 2] {
    let mut g = [0.0; 2];
    for (x, y) in X.iter().zip(Y) {
        let r = phi[0] + phi[1] * x - y;
        g[0] += 2.0 * r;
        g[1] += 2.0 * x * r;
    }
    g
}

/// The interpreter's trajectory: every parameter (`φ`, `m`, `v`, `t`, flattened in
/// declaration order) after each of `STEPS` steps of the spec's rules on the whole batch.
fn interpreted(model: &str) -> Vec<Vec<f64>> {
    let g = graph(model);
    let mut params: Vec<Mat<f64>> = g
        .params
        .iter()
        .map(|p| {
            let (r, c) = nnspec::interp::dims(p.shape, 1);
            Mat::zeros(r, c)
        })
        .collect();
    let phi = g.params.iter().position(|p| p.name == "φ").unwrap();
    params[phi] = Mat::from_fn(2, 1, |i, _| PHI0[i]);
    let inputs: Vec<Mat<f64>> = g
        .inputs
        .iter()
        .map(|s| {
            let v = if s.name == "x" { X } else { Y };
            Mat::from_fn(1, X.len(), |_, j| v[j])
        })
        .collect();
    (0..STEPS)
        .map(|_| {
            nnspec::tabular::step_whole(&g, &inputs, &mut params).unwrap();
            params.iter().flat_map(flat).collect()
        })
        .collect()
}

/// The entries of `m`, column by column.
fn flat(m: &Mat<f64>) -> Vec<f64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect()
}

/// The spec's trajectory of `φ`.
fn spec_trajectory(model: &str) -> Vec<[f64; 2]> {
    let g = graph(model);
    // `φ`'s entries in the flattened parameters: those before it come first.
    let at = g
        .params
        .iter()
        .take_while(|p| p.name != "φ")
        .map(|p| {
            let (r, c) = nnspec::interp::dims(p.shape, 1);
            r * c
        })
        .sum::<usize>();
    interpreted(model)
        .iter()
        .map(|p| [p[at], p[at + 1]])
        .collect()
}

/// The runtime optimiser's trajectory from the same start with the hand-computed gradient.
fn runtime_trajectory(method: Method, lr: f64) -> Vec<[f64; 2]> {
    let mut opt = Optimizer::<f64>::new(Config::new(method, lr));
    let mut p = NamedParams::new([("φ".to_string(), Mat::from_fn(2, 1, |i, _| PHI0[i]))]);
    let mut at = PHI0;
    (0..STEPS)
        .map(|_| {
            let g = gradient(&at);
            let grads = NamedParams::new([("φ".to_string(), Mat::from_fn(2, 1, |i, _| g[i]))]);
            opt.step(&mut p, &grads);
            p.for_each_param(&mut |_, m| at = [m[(0, 0)], m[(1, 0)]]);
            at
        })
        .collect()
}

fn same(model: &str, method: Method, lr: f64) {
    let (a, b) = (spec_trajectory(model), runtime_trajectory(method, lr));
    for (t, (x, y)) in a.iter().zip(&b).enumerate() {
        for k in 0..2 {
            assert!(
                (x[k] - y[k]).abs() <= 1e-12,
                "{model}, step {}: φ_{} is {} as printed, {} by the runtime",
                t + 1,
                k + 1,
                x[k],
                y[k]
            );
        }
    }
    // The steps moved φ: the comparison is not of two standing starts.
    assert!((a[STEPS - 1][1] - PHI0[1]).abs() > 0.1, "{model}: {a:?}");
}

#[test]
fn gradient_descent_as_printed_is_the_runtimes_sgd() {
    same("GradientDescent", Method::Sgd, 0.01);
}

#[test]
fn momentum_as_printed_is_the_runtimes_momentum() {
    same("Momentum", Method::Momentum { beta: 0.9 }, 0.01);
}

#[test]
fn adam_as_printed_is_the_runtimes_adam() {
    let adam = Method::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    same("Adam", adam, 0.05);
}

mod generated {
    nnspec::model!("../../specs/optimisers.nn");
}

/// `STEPS` steps of a generated model's rules as `runtime::train::fit` takes them (the loss
/// and its gradient by `Supervised::batch_loss_and_grad`, whose run also computes the rules'
/// new values, then `Supervised::rule_step` writing them), from `φ = PHI0` and zero state,
/// with every parameter after each; the steps after the first must not allocate.
macro_rules! generated_trajectory {
    ($model:ty) => {{
        use nnspec::runtime::train::Supervised;
        let mut net = <$model>::zeros();
        net.visit(|name, p| {
            if name == "φ" {
                *p = Mat::from_fn(2, 1, |i, _| PHI0[i]);
            }
        });
        let x = Mat::from_fn(1, X.len(), |_, j| X[j]);
        let y = Mat::from_fn(1, Y.len(), |_, j| Y[j]);
        let mut grads = <$model>::zeros();
        let mut ws = <$model>::workspace(X.len());
        let mut out: Vec<Vec<f64>> = Vec::new();
        for step in 0..STEPS {
            let before = crate::generated::allocations();
            let targets = nnspec::runtime::data::TargetsRef::Values(y.as_ref());
            <$model as Supervised<f64>>::batch_loss_and_grad(
                &net,
                x.as_ref(),
                targets,
                &mut grads,
                &mut ws,
            )
            .expect("step");
            let done = <$model as Supervised<f64>>::rule_step(
                &mut net,
                x.as_ref(),
                targets,
                &mut grads,
                &mut ws,
            );
            let allocated = crate::generated::allocations() - before;
            assert!(matches!(done, Some(Ok(()))), "step {}: {done:?}", step + 1);
            if step > 0 {
                assert_eq!(allocated, 0, "step {} allocated", step + 1);
            }
            let mut params = Vec::new();
            net.visit(|_, p| params.extend(flat(p)));
            out.push(params);
        }
        out
    }};
}

/// The generated trajectory equals the interpreter's, every parameter at every step.
fn same_as_interpreted(model: &str, generated: &[Vec<f64>]) {
    let interp = interpreted(model);
    assert_eq!(interp.len(), generated.len());
    for (t, (a, b)) in interp.iter().zip(generated).enumerate() {
        assert_eq!(a.len(), b.len(), "{model}: parameter entries");
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                "{model}, step {}: entry {k} is {x} interpreted, {y} generated",
                t + 1
            );
        }
    }
    // The steps moved the parameters: not a comparison of two standing starts.
    assert!(
        interp[STEPS - 1]
            .iter()
            .zip(&interp[0])
            .any(|(a, b)| a != b),
        "{model}: nothing moved"
    );
}

#[test]
fn generated_gradient_descent_steps_as_the_interpreter() {
    let t = generated_trajectory!(generated::GradientDescent<f64>);
    same_as_interpreted("GradientDescent", &t);
}

#[test]
fn generated_momentum_steps_as_the_interpreter() {
    let t = generated_trajectory!(generated::Momentum<f64>);
    same_as_interpreted("Momentum", &t);
}

#[test]
fn generated_adam_steps_as_the_interpreter() {
    let t = generated_trajectory!(generated::Adam<f64>);
    same_as_interpreted("Adam", &t);
    // `t` counts the steps: the generated model holds it as a parameter, as the
    // interpreter does (so checkpoints keep it).
    assert_eq!(
        t[STEPS - 1][0],
        STEPS as f64,
        "t after {STEPS} steps: {:?}",
        t[STEPS - 1]
    );
}

/// `runtime::train::fit` drives generated code as it drives the interpreter: Adam's rules in
/// the optimiser's place, three epochs of batches of two from the same start, the same
/// parameters (`t`, `φ`, `m`, `v`) at the end, to 1e-12. The optimiser passed is never
/// stepped (a learning rate that would move `φ` far if it were).
/// `specs/optimisers.nn`'s Adam behind the interpreter, its parameters drawn with seed 3.
fn interpreted_adam() -> nnspec::training::InterpModel<f64> {
    let path = format!("{}/specs/optimisers.nn", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(path).unwrap();
    nnspec::training::InterpModel::<f64>::new(
        &graph("Adam"),
        &src,
        "optimisers.nn",
        &mut nnspec::runtime::Rng::new(3),
    )
    .unwrap()
}

#[test]
fn fit_trains_generated_rules_as_the_interpreted_ones() {
    use nnspec::runtime::data::Dataset;
    use nnspec::runtime::train::{TrainConfig, fit};
    let mut interp = interpreted_adam();
    let mut start = Vec::new();
    interp.for_each_param(&mut |_, m| start.push(m.to_owned()));
    let mut net = generated::Adam::<f64>::zeros();
    let mut k = 0;
    net.visit(|_, p| {
        p.copy_from(&start[k]);
        k += 1;
    });
    let data = Dataset::from_values(
        Mat::from_fn(1, X.len(), |_, j| X[j]),
        Mat::from_fn(1, Y.len(), |_, j| Y[j]),
    )
    .unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        batch: 2,
        seed: 5,
        ..TrainConfig::default()
    };
    let opt = || Optimizer::<f64>::new(Config::new(Method::Sgd, 100.0));
    let a = fit(&mut interp, &mut opt(), &data, None, &cfg).unwrap();
    let b = fit(&mut net, &mut opt(), &data, None, &cfg).unwrap();
    assert_eq!(a.epochs.len(), b.epochs.len());
    let (mut pa, mut pb) = (Vec::new(), Vec::new());
    interp.for_each_param(&mut |n, m| pa.push((n.to_string(), m.to_owned())));
    net.for_each_param(&mut |n, m| pb.push((n.to_string(), m.to_owned())));
    assert_eq!(
        pa.iter().map(|p| &p.0).collect::<Vec<_>>(),
        pb.iter().map(|p| &p.0).collect::<Vec<_>>(),
        "the state the rules carry is held under the same names (a checkpoint's)"
    );
    for ((name, x), (_, y)) in pa.iter().zip(&pb) {
        for i in 0..x.nrows() {
            let (u, v) = (x[(i, 0)], y[(i, 0)]);
            assert!(
                (u - v).abs() <= 1e-12 * u.abs().max(1.0),
                "{name}_{}: {u} vs {v}",
                i + 1
            );
        }
    }
    // Three epochs of three batches: the step counter says nine rule steps were taken.
    assert_eq!(pb[0], ("t".to_string(), Mat::from_fn(1, 1, |_, _| 9.0)));
}

/// `fit` computes the loss and its gradient once per batch: the rule step after it reads
/// nothing of the batch. Given no examples at all, `Supervised::rule_step` after
/// `batch_loss_and_grad` on the batch writes exactly what the generated model's own
/// `rule_step` (a step and its rules in one call) writes on the batch, and what the
/// interpreter's `step_whole` writes (1e-12); the interpreter's `rule_step` as well.
#[test]
fn the_rule_step_after_the_loss_computes_nothing_again() {
    use nnspec::runtime::data::TargetsRef;
    use nnspec::runtime::train::Supervised;
    let x = Mat::from_fn(1, X.len(), |_, j| X[j]);
    let y = Mat::from_fn(1, Y.len(), |_, j| Y[j]);
    let none = Mat::<f64>::zeros(1, 0);
    let start = |net: &mut generated::Adam<f64>| {
        net.visit(|name, p| {
            if name == "φ" {
                *p = Mat::from_fn(2, 1, |i, _| PHI0[i]);
            }
        })
    };
    let (mut once, mut whole) = (
        generated::Adam::<f64>::zeros(),
        generated::Adam::<f64>::zeros(),
    );
    start(&mut once);
    start(&mut whole);
    let mut grads = generated::Adam::<f64>::zeros();
    let mut ws = generated::Adam::<f64>::workspace(X.len());
    whole
        .rule_step(x.as_ref(), y.as_ref(), &mut grads, &mut ws)
        .expect("a step with its rules");
    let mut ws = generated::Adam::<f64>::workspace(X.len());
    once.batch_loss_and_grad(
        x.as_ref(),
        TargetsRef::Values(y.as_ref()),
        &mut grads,
        &mut ws,
    )
    .expect("step");
    let wrote = Supervised::rule_step(
        &mut once,
        none.as_ref(),
        TargetsRef::Values(none.as_ref()),
        &mut grads,
        &mut ws,
    );
    assert!(matches!(wrote, Some(Ok(()))), "{wrote:?}");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    once.visit(|_, p| a.extend(flat(p)));
    whole.visit(|_, p| b.extend(flat(p)));
    assert_eq!(a, b);
    let want = &interpreted("Adam")[0];
    let mut interp = interpreted_adam();
    interp.for_each_param_mut(&mut |name, mut p| {
        let v = if name == "φ" {
            PHI0.to_vec()
        } else {
            vec![0.0; p.nrows() * p.ncols()]
        };
        let rows = p.nrows();
        for (i, v) in v.iter().enumerate() {
            p[(i % rows, i / rows)] = *v;
        }
    });
    let mut grads = interp.new_grads();
    let mut ws = interp.new_workspace(X.len());
    interp
        .batch_loss_and_grad(
            x.as_ref(),
            TargetsRef::Values(y.as_ref()),
            &mut grads,
            &mut ws,
        )
        .expect("step");
    let wrote = interp.rule_step(
        none.as_ref(),
        TargetsRef::Values(none.as_ref()),
        &mut grads,
        &mut ws,
    );
    assert!(matches!(wrote, Some(Ok(()))), "{wrote:?}");
    let mut c = Vec::new();
    interp.for_each_param(&mut |_, p| c.extend(flat(&p.to_owned())));
    for (k, ((u, v), w)) in a.iter().zip(&c).zip(want).enumerate() {
        assert!(
            (u - w).abs() <= 1e-12 * w.abs().max(1.0) && (v - w).abs() <= 1e-12 * w.abs().max(1.0),
            "entry {k}: generated {u}, interpreter's rule step {v}, step_whole {w}"
        );
    }
}
