//! Generated models behind `Supervised` against the interpreter's `InterpModel`, on the
//! models `InterpModel` trains beyond one input and one target: two inputs per example (the
//! GCN's `X` and `A`), a label per token (`Y`), noise with no target (the VAE), a dropout
//! mask (evaluation mode reads its mean `p`), and two losses stepped in turn (the GAN). With
//! the same parameters, the same batch and the same noise seed, each loss, gradient and
//! prediction agrees to 1e-12 (f64); a step does not allocate; and `fit` trains the
//! generated GCN on the built-in graphs. Inputs that are class labels beside others (a DQN's
//! terminal flag `d`, an actor-critic's, matrix factorisation's user and item) come as label
//! values in the batch's rows and reach the generated steps as indices.

use crate::generated::{
    allocations, gan_groups_noise, gcn_spec, matrix_factorisation, max_norm, sequence, vae,
};
use faer::{Mat, MatRef};
use nnspec::dsl;
use nnspec::runtime::data::{BatchTargets, Dataset, Targets, TargetsRef};
use nnspec::runtime::optim::{Config, MaxNorm, Method, Optimizer};
use nnspec::runtime::train::{Supervised, TrainConfig, evaluate, fit};
use nnspec::runtime::{Params, Rng};
use nnspec::training::{self, InterpModel};

mod dropout {
    nnspec::model!("../../specs/dropout.nn");
}
mod dqn {
    nnspec::model!("../../specs/dqn.nn");
}
mod actor_critic {
    nnspec::model!("../../specs/actor_critic.nn");
}

/// The model `name` of `file` behind the interpreter, parameters drawn with `seed`.
fn interp(file: &str, name: &str, seed: u64) -> InterpModel<f64> {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    let checked = dsl::check_source(&src, &dsl::check::Options::default()).unwrap();
    let graph = checked.graph(Some(name)).unwrap();
    InterpModel::new(graph, &src, file, &mut Rng::new(seed)).unwrap()
}

/// `m` with the interpreter's parameters, checked to be the same names in the same order.
fn loaded<M: Params<f64>>(mut m: M, from: &InterpModel<f64>) -> M {
    let mut k = 0;
    m.for_each_param_mut(&mut |name, mut p| {
        assert_eq!(name, from.params.names[k]);
        p.copy_from(&from.params.mats[k]);
        k += 1;
    });
    assert_eq!(k, from.params.mats.len());
    m
}

fn close(what: &str, got: f64, want: f64, scale: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * scale.max(1.0),
        "{what}: generated {got} vs interpreter {want}"
    );
}

fn largest(m: MatRef<'_, f64>) -> f64 {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)].abs()))
        .fold(0.0, f64::max)
}

fn same_matrix(what: &str, got: MatRef<'_, f64>, want: MatRef<'_, f64>) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    let scale = largest(want);
    for j in 0..want.ncols() {
        for i in 0..want.nrows() {
            close(
                &format!("{what}[{i},{j}]"),
                got[(i, j)],
                want[(i, j)],
                scale,
            );
        }
    }
}

fn params_of<M: Params<f64>>(m: &M) -> Vec<(String, Mat<f64>)> {
    let mut out = Vec::new();
    m.for_each_param(&mut |n, p| out.push((n.to_string(), p.to_owned())));
    out
}

/// The first `b` examples of `ds` as a batch the models take (`Io::batch_shape`).
struct Batch {
    x: Mat<f64>,
    y: BatchTargets<f64>,
    b: usize,
}

impl Batch {
    fn new<M: Supervised<f64>>(model: &M, ds: &Dataset<f64>, b: usize) -> Batch {
        let (rows, cols) = model.io().batch_shape(b);
        let mut batch = Batch {
            x: Mat::zeros(rows, cols),
            y: BatchTargets::for_dataset(ds, b),
            b,
        };
        let idx: Vec<usize> = (0..b).collect();
        ds.gather(&idx, &mut batch.x, &mut batch.y);
        batch
    }

    fn x(&self) -> MatRef<'_, f64> {
        self.x.as_ref()
    }

    fn y(&self) -> TargetsRef<'_, f64> {
        match &self.y {
            BatchTargets::Labels(l) => TargetsRef::Labels(&l[..self.b]),
            BatchTargets::Values(v) => TargetsRef::Values(v.as_ref().subcols(0, self.b)),
        }
    }
}

/// Every `Supervised` method of `generated` against `reference` on `batch`, with the noise
/// seeded `seed` in both: `io`, `objectives`, each loss with the gradients of the parameters
/// it trains, the evaluation-mode loss and the prediction; a second step does not allocate.
/// Returns the first loss.
fn agree<M: Supervised<f64>>(
    generated: &M,
    reference: &InterpModel<f64>,
    batch: &Batch,
    seed: u64,
) -> f64 {
    let (x, y) = (batch.x(), batch.y());
    assert_eq!(generated.io(), reference.io());
    let objectives = reference.objectives();
    assert_eq!(generated.objectives(), objectives);
    let mut gws = generated.new_workspace(batch.b);
    let mut iws = reference.new_workspace(batch.b);
    let mut first = None;
    for (k, objective) in objectives.iter().enumerate() {
        let (mut gg, mut ig) = (generated.new_grads(), reference.new_grads());
        generated.seed_noise(&mut gws, seed);
        reference.seed_noise(&mut iws, seed);
        let got = generated
            .batch_loss_and_grad_of(k, x, y, &mut gg, &mut gws)
            .unwrap();
        let want = reference
            .batch_loss_and_grad_of(k, x, y, &mut ig, &mut iws)
            .unwrap();
        close(&objective.name, got, want, want.abs());
        first.get_or_insert(got);
        let (gp, ip) = (params_of(&gg), params_of(&ig));
        for (i, ((name, g), (_, w))) in gp.iter().zip(&ip).enumerate() {
            if objective.trains[i] {
                same_matrix(
                    &format!("∂{}/∂{name}", objective.name),
                    g.as_ref(),
                    w.as_ref(),
                );
            }
        }
        // The same step again, with the same noise: no allocation, the same loss.
        generated.seed_noise(&mut gws, seed);
        let before = allocations();
        let again = generated
            .batch_loss_and_grad_of(k, x, y, &mut gg, &mut gws)
            .unwrap();
        assert_eq!(allocations(), before, "a generated step allocated");
        assert_eq!(again.to_bits(), got.to_bits());
    }
    let (mut gg, mut ig) = (generated.new_grads(), reference.new_grads());
    generated.seed_noise(&mut gws, seed);
    reference.seed_noise(&mut iws, seed);
    let got = generated
        .batch_loss_and_grad(x, y, &mut gg, &mut gws)
        .unwrap();
    let want = reference
        .batch_loss_and_grad(x, y, &mut ig, &mut iws)
        .unwrap();
    close("batch_loss_and_grad", got, want, want.abs());
    // Evaluation mode: the loss and the prediction.
    generated.seed_noise(&mut gws, seed + 1);
    reference.seed_noise(&mut iws, seed + 1);
    let before = allocations();
    let got = generated.batch_loss(x, y, &mut gws).unwrap();
    assert_eq!(allocations(), before, "batch_loss allocated");
    let want = reference.batch_loss(x, y, &mut iws).unwrap();
    close("batch_loss", got, want, want.abs());
    if generated.io().outputs > 0 {
        generated.seed_noise(&mut gws, seed + 2);
        reference.seed_noise(&mut iws, seed + 2);
        let before = allocations();
        let f = generated.predict(x, &mut gws).unwrap();
        let after = allocations();
        let got = f.to_owned();
        assert_eq!(after, before, "predict allocated");
        let want = reference.predict(x, &mut iws).unwrap().to_owned();
        same_matrix("f", got.as_ref(), want.as_ref());
    }
    first.unwrap()
}

/// The GCN reads two inputs per example, `X ∈ ℝ^{8×8}` and `A ∈ ℝ^{8×8}`, split from the
/// examples' columns (128 numbers each).
#[test]
fn a_generated_model_of_two_inputs_matches_the_interpreter() {
    let reference = interp("specs/gcn.nn", "GCN", 3);
    let generated = loaded(gcn_spec::GCN::<f64>::zeros(), &reference);
    let io = generated.io();
    assert_eq!(io.more_inputs.len(), 1);
    assert_eq!(io.batch_shape(5), (128, 5));
    let (ds, _) = training::builtin::<f64>(&io, 1);
    agree(&generated, &reference, &Batch::new(&generated, &ds, 5), 7);
}

/// A label per token: the target `Y ∈ {0, 1}^{8×8}` comes as its 64 numbers per example.
#[test]
fn a_generated_model_with_a_label_per_token_matches_the_interpreter() {
    let reference = interp("specs/sequence.nn", "Sequence", 3);
    let generated = loaded(sequence::Sequence::<f64>::zeros(), &reference);
    assert!(generated.io().token_labels);
    let (ds, _) = training::builtin::<f64>(&generated.io(), 1);
    agree(&generated, &reference, &Batch::new(&generated, &ds, 4), 7);
    // Token accuracy through the generated prediction, as `evaluate` computes it.
    let mut ws = generated.new_workspace(8);
    let m = evaluate(&generated, &ds.subset(&[0, 1, 2]), 8, &mut ws).unwrap();
    let mut iws = reference.new_workspace(8);
    let r = evaluate(&reference, &ds.subset(&[0, 1, 2]), 8, &mut iws).unwrap();
    assert_eq!(m.accuracy, r.accuracy);
}

/// The VAE draws `ε ~ Norm[0, I]` and has no target: with one seed both draw the same
/// noise; with another the loss differs (the noise is drawn, not fixed).
#[test]
fn a_generated_model_with_noise_and_no_target_matches_the_interpreter() {
    let reference = interp("specs/vae.nn", "VAE", 3);
    let generated = loaded(vae::VAE::<f64>::zeros(), &reference);
    assert_eq!(generated.io().target, reference.io().target);
    let (ds, _) = training::builtin::<f64>(&generated.io(), 1);
    assert!(matches!(&ds.y, Targets::Values(v) if v.nrows() == 0));
    let batch = Batch::new(&generated, &ds, 6);
    let l7 = agree(&generated, &reference, &batch, 7);
    let l8 = agree(&generated, &reference, &batch, 8);
    assert_ne!(l7, l8, "the noise of seeds 7 and 8 is the same");
}

/// Dropout: training draws the mask `r ~ Bernoulli[p]`, evaluation mode reads its mean p,
/// so the prediction is the network without dropout, `β_1 + Ω_1 ReLU[β_0 + Ω_0 x]`.
#[test]
fn generated_dropout_matches_the_interpreter_and_evaluates_with_the_mean_mask() {
    let reference = interp("specs/dropout.nn", "DropoutNet", 3);
    let generated = loaded(dropout::DropoutNet::<f64>::zeros(), &reference);
    let (ds, _) = training::builtin::<f64>(&generated.io(), 1);
    let batch = Batch::new(&generated, &ds, 5);
    let l7 = agree(&generated, &reference, &batch, 7);
    let l8 = agree(&generated, &reference, &batch, 8);
    assert_ne!(l7, l8, "the masks of seeds 7 and 8 are the same");
    let p = params_of(&generated);
    let get = |n: &str| &p.iter().find(|(k, _)| k == n).unwrap().1;
    let h = get("Ω_0") * batch.x();
    let h = Mat::from_fn(h.nrows(), h.ncols(), |i, j| {
        (h[(i, j)] + get("β_0")[(i, 0)]).max(0.0)
    });
    let f = get("Ω_1") * &h;
    let want = Mat::from_fn(f.nrows(), f.ncols(), |i, j| f[(i, j)] + get("β_1")[(i, 0)]);
    let mut ws = generated.new_workspace(5);
    let got = generated.predict(batch.x(), &mut ws).unwrap();
    same_matrix("f without dropout", got, want.as_ref());
}

/// Two losses (eq. 15.5): each is its own step, training its own group, in turn.
#[test]
fn a_generated_model_of_two_losses_matches_the_interpreter() {
    let reference = interp("dsl/tests/data/ok/gan_groups_noise.nn", "GAN", 3);
    let generated = loaded(gan_groups_noise::GAN::<f64>::zeros(), &reference);
    let names: Vec<String> = generated.objectives().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["L", "L'"]);
    let (ds, _) = training::builtin::<f64>(&generated.io(), 1);
    agree(&generated, &reference, &Batch::new(&generated, &ds, 6), 7);
}

/// A batch of the wrong shape is an error naming the inputs, never a panic.
#[test]
fn a_generated_model_refuses_a_batch_of_the_wrong_shape() {
    let generated = gcn_spec::GCN::<f64>::zeros();
    let mut ws = generated.new_workspace(4);
    let mut grads = generated.new_grads();
    let x = Mat::<f64>::zeros(100, 3);
    let e = generated
        .batch_loss_and_grad(
            x.as_ref(),
            TargetsRef::Labels(&[0, 1, 0]),
            &mut grads,
            &mut ws,
        )
        .unwrap_err();
    assert_eq!(e.to_string(), "`X`, `A` should be 128×3, but it is 100×3");
    let x = Mat::<f64>::zeros(128, 5);
    let e = generated.predict(x.as_ref(), &mut ws).unwrap_err();
    assert!(e.to_string().contains('5'), "{e}");
}

/// `fit` trains the generated GCN on the built-in graphs (cycles against trees).
#[test]
fn fit_trains_the_generated_gcn_on_the_built_in_graphs() {
    let mut model = gcn_spec::GCN::<f64>::init(&mut Rng::new(1));
    let (ds, what) = training::builtin::<f64>(&model.io(), 1);
    assert!(what.starts_with("graphs (built in)"), "{what}");
    let data = training::prepare(&ds, 0.1, 0.2, 1).unwrap();
    let cfg = TrainConfig {
        epochs: 8,
        batch: 32,
        seed: 1,
        patience: None,
        progress: false,
        steps: None,
    };
    let mut opt = Optimizer::<f64>::new(Config::new(Method::parse("adam").unwrap(), 3e-3));
    fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).unwrap();
    let mut ws = model.new_workspace(256);
    let acc = evaluate(&model, &data.test, 256, &mut ws)
        .unwrap()
        .accuracy
        .unwrap();
    eprintln!(
        "generated GCN: test accuracy {:.1}% after 8 epochs",
        100.0 * acc
    );
    assert!(acc >= 0.95, "test accuracy {acc} (chance 0.5)");
}

/// A batch of `b` transitions `(s, r, s', d)` of CartPole's shape as the examples' columns
/// (10 numbers each: `s` 4, `r`, `s'` 4, the terminal flag `d ∈ {0, 1}`), with the actions
/// `a ∈ {1, 2}` as labels; every third transition terminal.
fn transitions(b: usize) -> Batch {
    let mut rng = Rng::new(5);
    let mut x = Mat::from_fn(10, b, |_, _| rng.normal(1.0));
    for j in 0..b {
        x[(9, j)] = f64::from(u8::from(j % 3 == 2));
    }
    let a = (0..b).map(|j| 1 + (j * 7 + 1) % 2).collect();
    Batch {
        x,
        y: BatchTargets::Labels(a),
        b,
    }
}

/// A DQN (eq. 19.18) reads `s`, `r`, `s'` and the label input `d`: one generated step matches
/// the interpreter's, `d` read as its label values; a `d` outside `{0, 1}` is named.
#[test]
fn a_generated_dqn_with_a_label_input_matches_the_interpreter() {
    let reference = interp("specs/dqn.nn", "DQN", 3);
    let generated = loaded(dqn::DQN::<f64>::zeros(), &reference);
    assert_eq!(generated.io().batch_shape(6), (10, 6));
    let mut batch = transitions(6);
    agree(&generated, &reference, &batch, 7);
    batch.x[(9, 4)] = 2.0;
    let mut ws = generated.new_workspace(6);
    let mut grads = generated.new_grads();
    let e = generated
        .batch_loss_and_grad(batch.x(), batch.y(), &mut grads, &mut ws)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "input `d`: label 2 in column 4 is not one of the labels 0..=1"
    );
}

/// Actor-critic (eqs. 19.40–19.42): two losses, each its own step, with the label input `d`.
#[test]
fn a_generated_actor_critic_with_a_label_input_matches_the_interpreter() {
    let reference = interp("specs/actor_critic.nn", "ActorCritic", 3);
    let generated = loaded(actor_critic::ActorCritic::<f64>::zeros(), &reference);
    assert_eq!(generated.objectives().len(), 2);
    agree(&generated, &reference, &transitions(5), 7);
}

/// Matrix factorisation's two label inputs (user, item) and a real target, on the built-in
/// ratings.
#[test]
fn generated_matrix_factorisation_with_two_label_inputs_matches_the_interpreter() {
    let reference = interp("specs/matrix_factorisation.nn", "MatrixFactorisation", 3);
    let generated = loaded(
        matrix_factorisation::MatrixFactorisation::<f64>::zeros(),
        &reference,
    );
    let labels = [("i", Some((1, 100))), ("j", Some((1, 80)))];
    let (ds, _) = training::ratings::<f64>(&generated.io(), &labels, 1).unwrap();
    agree(&generated, &reference, &Batch::new(&generated, &ds, 8), 7);
}

/// A checkpoint of a model of several groups and frozen copies (actor-critic: `θ`, `ω`,
/// `ω⁻`) round-trips: every parameter back under its name, bit for bit.
#[test]
fn a_checkpoint_of_a_model_of_several_groups_round_trips() {
    use nnspec::runtime::checkpoint;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("supervised-groups");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ac.safetensors");
    let model = actor_critic::ActorCritic::<f64>::init(&mut Rng::new(4));
    checkpoint::save(&path, &model, &[("model", "ActorCritic")]).unwrap();
    let mut back = actor_critic::ActorCritic::<f64>::zeros();
    checkpoint::load(&path, &mut back).unwrap();
    let (want, got) = (params_of(&model), params_of(&back));
    assert!(want.iter().any(|(n, _)| n.contains('⁻')), "{want:?}");
    assert_eq!(got, want);
}

/// Max-norm (`‖W_j‖ ≤ c`, `specs/max_norm.nn`) in generated code: the generated model gives
/// the optimiser the interpreter's constraints, and two optimiser steps with them (SGD at a
/// rate that pushes columns past the radius) leave both with the same parameters, every
/// column of `W` within c and some on the sphere.
#[test]
fn generated_max_norm_projects_as_the_interpreter_does() {
    let mut reference = interp("specs/max_norm.nn", "MaxNormNet", 3);
    let mut generated = loaded(max_norm::MaxNormNet::<f64>::zeros(), &reference);
    let constraints = generated.max_norms();
    assert_eq!(constraints, reference.max_norms());
    assert_eq!(constraints.len(), 1, "{constraints:?}");
    assert!(constraints[0].columns && constraints[0].param == "W");
    let c = constraints[0].bound;
    let (ds, _) = training::builtin::<f64>(&reference.io(), 1);
    let batch = Batch::new(&generated, &ds, 16);
    let sgd = |max_norms| {
        let mut config = Config::new(Method::Sgd, 0.05);
        config.max_norms = max_norms;
        Optimizer::new(config)
    };
    let mut opt_g = sgd(generated.max_norms());
    let mut opt_r = sgd(reference.max_norms());
    let mut ws_g = generated.new_workspace(16);
    let mut ws_r = reference.new_workspace(16);
    for _ in 0..2 {
        let mut grads_g = generated.new_grads();
        let mut grads_r = reference.new_grads();
        generated
            .batch_loss_and_grad(batch.x(), batch.y(), &mut grads_g, &mut ws_g)
            .unwrap();
        reference
            .batch_loss_and_grad(batch.x(), batch.y(), &mut grads_r, &mut ws_r)
            .unwrap();
        opt_g.step(&mut generated, &grads_g);
        opt_r.step(&mut reference, &grads_r);
    }
    for ((name, got), (_, want)) in params_of(&generated)
        .iter()
        .zip(params_of(&reference).iter())
    {
        same_matrix(name, got.as_ref(), want.as_ref());
    }
    let w = params_of(&generated)
        .into_iter()
        .find(|(n, _)| n == "W")
        .unwrap()
        .1;
    let most = column_norms(&w).into_iter().fold(0.0, f64::max);
    assert!(most <= c * (1.0 + 1e-12), "a column of norm {most} > {c}");
    assert!(
        most > c * (1.0 - 1e-9),
        "no column reached the sphere: {most}"
    );
}

/// The largest column norm of the generated model's `W`.
fn widest_column(model: &max_norm::MaxNormNet<f64>) -> f64 {
    let w = params_of(model)
        .into_iter()
        .find(|(n, _)| n == "W")
        .expect("W")
        .1;
    column_norms(&w).into_iter().fold(0.0, f64::max)
}

/// `fit` applies the model's own max-norm constraints (`‖W_j‖ ≤ c`, c = 1) when the
/// optimiser's `Config::max_norms` is left empty: after an epoch of SGD at a rate that
/// pushes columns past the radius, every column of `W` is within c and some on the sphere.
/// Constraints the caller sets replace the model's: with a radius of 10⁹ a column leaves
/// the unit ball.
#[test]
fn fit_applies_the_models_max_norms_by_default() {
    let cfg = TrainConfig {
        epochs: 1,
        batch: 16,
        seed: 1,
        patience: None,
        progress: false,
        steps: None,
    };
    let run = |max_norms: Vec<MaxNorm>| {
        let mut model = max_norm::MaxNormNet::<f64>::init(&mut Rng::new(3));
        let (ds, _) = training::builtin::<f64>(&model.io(), 1);
        let mut config = Config::new(Method::Sgd, 0.05);
        config.max_norms = max_norms;
        let mut opt = Optimizer::<f64>::new(config);
        fit(&mut model, &mut opt, &ds, None, &cfg).unwrap();
        widest_column(&model)
    };
    let most = run(Vec::new());
    assert!(most <= 1.0 + 1e-12, "a column of norm {most} > 1");
    assert!(most > 1.0 - 1e-9, "no column reached the sphere: {most}");
    let loose = MaxNorm {
        param: "W".into(),
        columns: true,
        bound: 1e9,
    };
    let free = run(vec![loose]);
    assert!(
        free > 1.0 + 1e-3,
        "unconstrained, the widest column is {free}"
    );
}

/// The Euclidean norm of each column of `w` (a max-norm constraint's measure).
pub(crate) fn column_norms(w: &faer::Mat<f64>) -> Vec<f64> {
    (0..w.ncols())
        .map(|j| {
            (0..w.nrows())
                .map(|i| w[(i, j)].powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}
