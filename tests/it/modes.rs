//! Training and evaluation mode: the running statistics of batch normalisation (eq.
//! 11.7–11.8) updated by training steps, read in evaluation mode, kept by checkpoints.
//! Expected values are numpy's, from the formulas: `m = x.mean(axis=1)`,
//! `s = √(((x − m)²).mean(axis=1))`, `r_m ← 0.9 r_m + 0.1 m`, `r_s ← 0.9 r_s + 0.1 s`
//! from `r_m = 0`, `r_s = 1`.

use faer::Mat;
use nnspec::dsl;
use nnspec::interp::{self, Mode};
use nnspec::runtime::checkpoint;
use nnspec::runtime::data::TargetsRef;
use nnspec::runtime::train::Supervised;
use nnspec::runtime::{NamedParams, Rng};
use nnspec::training::InterpModel;

const SPEC: &str = include_str!("modes_bn.nn");

// The same spec through `model!`: generated code has both modes too.
mod generated {
    nnspec::model!("modes_bn.nn");
}

/// The two batches of the update test (one example per column).
fn batches() -> [Mat<f64>; 2] {
    let x1 = [[1.0, 2.0, 4.0, -1.0], [0.5, 0.5, 3.0, -2.0]];
    let x2 = [[3.0, -2.0, 0.0], [1.0, 1.5, -0.5]];
    [
        Mat::from_fn(2, 4, |i, j| x1[i][j]),
        Mat::from_fn(2, 3, |i, j| x2[i][j]),
    ]
}

/// numpy: the running mean and standard deviation after the first and the second batch.
const AFTER: [([f64; 2], [f64; 2]); 2] = [
    (
        [0.15000000000000002, 0.05],
        [1.0802775637731994, 1.0767766952966369],
    ),
    (
        [0.16833333333333336, 0.11166666666666666],
        [1.177730274161512, 1.054082684326853],
    ),
];

fn graph() -> dsl::ir::Graph {
    let checked = dsl::check_source(SPEC, &dsl::check::Options::default()).unwrap();
    checked.graphs.last().unwrap().clone().unwrap()
}

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{got} ≠ {want}"
    );
}

#[test]
fn batch_norm_has_a_running_mean_and_standard_deviation() {
    let g = graph();
    let names: Vec<&str> = g.stats.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["m_1", "s_1"]);
}

/// Each training step of the interpreter's model folds its batch's statistics into the
/// running values, `r ← 0.9 r + 0.1 m`.
#[test]
fn training_steps_update_the_running_statistics() {
    let g = graph();
    let mut model = InterpModel::<f64>::new(&g, SPEC, "bn.nn", &mut Rng::new(1)).unwrap();
    let mut grads = model.new_grads();
    let mut ws = model.new_workspace(4);
    for (x, (m, s)) in batches().iter().zip(AFTER) {
        let y = Mat::<f64>::zeros(2, x.ncols());
        model
            .batch_loss_and_grad(
                x.as_ref(),
                TargetsRef::Values(y.as_ref()),
                &mut grads,
                &mut ws,
            )
            .unwrap();
        model.update_running(&grads);
        for k in 0..2 {
            close(model.running.mats[0][(k, 0)], m[k]);
            close(model.running.mats[1][(k, 0)], s[k]);
        }
    }
}

/// In evaluation mode an example's result is the same alone as in a batch of many: it is
/// `(x − r_m) / (r_s + ε)`, whatever the other examples.
#[test]
fn evaluation_mode_does_not_depend_on_the_batch() {
    let g = graph();
    let (m, s) = AFTER[1];
    let running = [
        Mat::from_fn(2, 1, |k, _| m[k]),
        Mat::from_fn(2, 1, |k, _| s[k]),
    ];
    let params = [Mat::from_fn(2, 1, |_, _| 1.0)];
    let f = g.output("f").unwrap();
    let x = Mat::from_fn(2, 5, |i, j| {
        (i as f64 + 1.0) * (j as f64 - 1.5) + 0.25 * j as f64
    });
    let y = Mat::<f64>::zeros(2, 5);
    let whole = interp::run_in(&g, &[x.clone(), y], &params, Mode::Eval(&running)).unwrap();
    for j in 0..5 {
        let xj = Mat::from_fn(2, 1, |i, _| x[(i, j)]);
        let alone =
            interp::run_in(&g, &[xj, Mat::zeros(2, 1)], &params, Mode::Eval(&running)).unwrap();
        for i in 0..2 {
            assert_eq!(alone[f][(i, 0)], whole[f][(i, j)], "example {j}, row {i}");
        }
    }
    // numpy: (z − r_m) / (r_s + 1e-5) for z = (2, −1) after the two batches.
    let z = Mat::from_fn(2, 1, |i, _| [2.0, -1.0][i]);
    let v = interp::run_in(&g, &[z, Mat::zeros(2, 1)], &params, Mode::Eval(&running)).unwrap();
    close(v[f][(0, 0)], 1.5552382022179847);
    close(v[f][(1, 0)], -1.0546194686633088);
    // Training mode normalises a batch of one by its own statistics: every entry is 0.
    let z = Mat::from_fn(2, 1, |i, _| [2.0, -1.0][i]);
    let t = interp::run(&g, &[z, Mat::zeros(2, 1)], &params).unwrap();
    assert_eq!((t[f][(0, 0)], t[f][(1, 0)]), (0.0, 0.0));
}

/// A checkpoint holds the running statistics as `running.m_1`, `running.s_1` and loads them
/// back; one without them (saved before they were kept) is refused, naming them.
#[test]
fn checkpoints_keep_the_running_statistics() {
    let g = graph();
    let mut model = InterpModel::<f64>::new(&g, SPEC, "bn.nn", &mut Rng::new(1)).unwrap();
    model.running.mats[0] = Mat::from_fn(2, 1, |k, _| [0.25, -3.5][k]);
    model.running.mats[1] = Mat::from_fn(2, 1, |k, _| [2.0, 0.125][k]);
    let bytes = checkpoint::to_bytes(&model, &[]).unwrap();
    let mut back = InterpModel::<f64>::new(&g, SPEC, "bn.nn", &mut Rng::new(2)).unwrap();
    checkpoint::from_bytes(&bytes, "m.safetensors".as_ref(), &mut back).unwrap();
    assert_eq!(back.running, model.running);
    assert_eq!(back.params, model.params);

    let old = checkpoint::to_bytes(&model.params, &[]).unwrap();
    let err = checkpoint::from_bytes(&old, "old.safetensors".as_ref(), &mut back).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("running statistic `running.m_1`"), "{text}");
    let _: &NamedParams<f64> = &back.running;
}

/// Generated code: `loss_and_grad` is training mode and leaves the batch's statistics in the
/// gradient set, `update_running` folds them in (numpy's values after each batch), and
/// `forward` is evaluation mode, reading the running values (numpy's normalised example).
#[test]
fn generated_code_keeps_running_statistics_and_predicts_in_evaluation_mode() {
    use nnspec::runtime::Params;
    let mut net = generated::BN::<f64>::init(&mut Rng::new(1));
    let mut grads = net.zeros_like();
    let mut ws = generated::BN::<f64>::workspace(4);
    for (x, (m, s)) in batches().iter().zip(AFTER) {
        let y = Mat::<f64>::zeros(2, x.ncols());
        net.loss_and_grad(x.as_ref(), y.as_ref(), &mut grads, &mut ws)
            .unwrap();
        net.update_running(&grads);
        for k in 0..2 {
            close(net.running_m_1[(k, 0)], m[k]);
            close(net.running_s_1[(k, 0)], s[k]);
        }
    }
    let mut names = Vec::new();
    net.for_each_saved(&mut |n, _| names.push(n.to_string()));
    assert_eq!(names, ["γ", "running.m_1", "running.s_1"]);
    // numpy: (z − r_m) / (r_s + 1e-5) for z = (2, −1), γ = 1.
    let z = Mat::from_fn(2, 1, |i, _| [2.0, -1.0][i]);
    let f = net.forward(z.as_ref(), &mut ws).unwrap();
    close(f[(0, 0)], 1.5552382022179847);
    close(f[(1, 0)], -1.0546194686633088);
}

/// Dropout (`r ~ Bernoulli[p]`, `h = ReLU[β_0 + Ω_0 x] ⊙ r / p`): in evaluation mode the mask
/// is its mean p, so a prediction is the network without dropout, computed here by hand from
/// the parameters; training steps draw a new mask each time.
#[test]
fn a_dropout_mask_is_its_mean_in_evaluation_mode() {
    let src = std::fs::read_to_string(format!("{}/specs/dropout.nn", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    let mut opts = dsl::check::Options::default();
    for (k, v) in [("D_i", 3.0), ("D", 5.0), ("D_o", 2.0)] {
        opts.overrides.push((None, k.into(), v));
    }
    let checked = dsl::check_source(&src, &opts).unwrap();
    let g = checked.graphs.last().unwrap().clone().unwrap();
    let model = InterpModel::<f64>::new(&g, &src, "dropout.nn", &mut Rng::new(4)).unwrap();
    let x = Mat::from_fn(3, 4, |i, j| (i as f64 - 1.0) * 0.7 + j as f64 * 0.3);
    let mut ws = model.new_workspace(4);
    let f = model.predict(x.as_ref(), &mut ws).unwrap().to_owned();
    let p = |name: &str| {
        let k = model.params.names.iter().position(|n| n == name).unwrap();
        model.params.mats[k].clone()
    };
    let (b0, w0, b1, w1) = (p("β_0"), p("Ω_0"), p("β_1"), p("Ω_1"));
    for j in 0..4 {
        for o in 0..2 {
            let mut want = b1[(o, 0)];
            for u in 0..5 {
                let mut z = b0[(u, 0)];
                for i in 0..3 {
                    z += w0[(u, i)] * x[(i, j)];
                }
                want += w1[(o, u)] * z.max(0.0);
            }
            close(f[(o, j)], want);
        }
    }
    // Training mode draws the mask: two steps on the same batch differ.
    let labels = [0usize, 1, 1, 0];
    let mut grads = model.new_grads();
    let mut loss = || {
        model
            .batch_loss_and_grad(x.as_ref(), TargetsRef::Labels(&labels), &mut grads, &mut ws)
            .unwrap()
    };
    let (a, b) = (loss(), loss());
    assert_ne!(a, b, "two training steps drew the same mask");
}
