//! Optimisers written as the book prints them (`specs/optimisers.nn`, eqs. 6.3, 6.11,
//! 6.15–6.17): the spec's `←` rules, run by the interpreter as the training step
//! (`nnspec::tabular::step_whole`), make the same parameter trajectory as the runtime's
//! built-in optimiser with the same hyper-parameters, fed the gradient of eq. 6.7 computed
//! here by hand, to 1e-12 in f64 over several steps.

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

/// The spec's trajectory of `φ`: `STEPS` steps of its rules on the whole batch.
fn spec_trajectory(model: &str) -> Vec<[f64; 2]> {
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
            [params[phi][(0, 0)], params[phi][(1, 0)]]
        })
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
