//! Training end to end: generated models and the interpreter through the same loop, on the
//! built-in data sets; determinism; NaN located by spec quantity; checkpoints of generated
//! models; no allocation in a training step.

use crate::generated::allocations;
use faer::Mat;
use nnspec::dsl;
use nnspec::runtime::checkpoint::{self, CheckpointError};
use nnspec::runtime::data::BatchTargets;
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::train::{Supervised, TrainConfig, TrainErrorKind, evaluate, fit};
use nnspec::runtime::{Params, Rng};
use nnspec::training::{self, InterpModel};

mod net {
    // One hidden layer: 64 → 64 → 10 on digits.
    nnspec::model!(DeepNet[K = 1] from "../../specs/deep.nn");
}
mod iris_net {
    // Softmax regression with a small hidden layer, labels {1 … 3}.
    nnspec::model!(MulticlassClassification[D_i = 4, K = 3] from "../../specs/losses.nn");
}

fn adam() -> Optimizer<f32> {
    Optimizer::new(Config::new(
        Method::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
        1e-3,
    ))
}

fn params_of<P: Params<f32>>(p: &P) -> Vec<Mat<f32>> {
    let mut out = Vec::new();
    p.for_each_param(&mut |_, m| out.push(m.to_owned()));
    out
}

fn named<P: Params<f64>>(p: &P) -> Vec<(String, Mat<f64>)> {
    let mut out = Vec::new();
    p.for_each_param(&mut |n, m| out.push((n.to_string(), m.to_owned())));
    out
}

#[test]
fn digits_trains_to_96_percent_and_is_deterministic() {
    let data = training::prepare(&training::digits::<f32>(), 0.1, 0.2, 1).unwrap();
    let cfg = TrainConfig {
        epochs: 15,
        batch: 32,
        seed: 1,
        patience: None,
        progress: false,
        steps: None,
    };
    let run = || {
        let mut model = net::DeepNet::<f32>::init(&mut Rng::new(1));
        let history = fit(&mut model, &mut adam(), &data.train, Some(&data.val), &cfg).unwrap();
        (model, history)
    };
    let (model, history) = run();
    assert_eq!(history.epochs.len(), 15);
    let first = history.epochs[0].train_loss;
    let last = history.epochs[14].train_loss;
    assert!(last < first / 4.0, "loss {first} → {last}");
    let mut ws = model.new_workspace(256);
    let test = evaluate(&model, &data.test, 256, &mut ws).unwrap();
    let acc = test.accuracy.unwrap();
    assert!(acc >= 0.96, "test accuracy {acc}");

    // The same seed gives bit-identical parameters and history.
    let (again, history2) = run();
    let (a, b) = (params_of(&model), params_of(&again));
    for (x, y) in a.iter().zip(&b) {
        for j in 0..x.ncols() {
            for i in 0..x.nrows() {
                assert_eq!(x[(i, j)].to_bits(), y[(i, j)].to_bits());
            }
        }
    }
    assert_eq!(
        history
            .epochs
            .iter()
            .map(|e| e.train_loss)
            .collect::<Vec<_>>(),
        history2
            .epochs
            .iter()
            .map(|e| e.train_loss)
            .collect::<Vec<_>>()
    );
}

#[test]
fn iris_trains_to_95_percent() {
    let model0 = iris_net::MulticlassClassification::<f32>::init(&mut Rng::new(3));
    // Labels {1 … 3}: the built-in iris set, shifted to the spec's first label.
    let (ds, what) = training::builtin::<f32>(&model0.io(), 3);
    assert!(what.starts_with("iris"), "{what}");
    let data = training::prepare(&ds, 0.1, 0.2, 3).unwrap();
    let mut model = model0;
    let cfg = TrainConfig {
        epochs: 100,
        batch: 16,
        seed: 3,
        patience: None,
        progress: false,
        steps: None,
    };
    let mut opt = Optimizer::new(Config::new(Method::parse("adam").unwrap(), 1e-2));
    fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).unwrap();
    let mut ws = model.new_workspace(64);
    let acc = evaluate(&model, &data.test, 64, &mut ws)
        .unwrap()
        .accuracy
        .unwrap();
    assert!(acc >= 0.95, "iris test accuracy {acc}");
}

/// The residual network with batch normalisation (`specs/resnet.nn`, eq. 11.4 and 11.7–11.9)
/// learns the digits through the interpreter, as `nnspec train` runs it: from a fixed seed,
/// three epochs bring the training loss below 0.15 and the test accuracy above 90%.
#[test]
fn a_residual_network_with_batch_normalisation_learns_the_digits() {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/resnet.nn")).unwrap();
    let checked = dsl::check_source(&src, &dsl::check::Options::default()).unwrap();
    let graph = checked.graphs.last().unwrap().clone().unwrap();
    let mut model = InterpModel::<f64>::new(&graph, &src, "resnet.nn", &mut Rng::new(1)).unwrap();
    let data = training::prepare(&training::digits::<f64>(), 0.1, 0.2, 1).unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        batch: 32,
        seed: 1,
        patience: None,
        progress: false,
        steps: None,
    };
    let mut opt = Optimizer::<f64>::new(Config::new(Method::parse("adam").unwrap(), 1e-2));
    let history = fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).unwrap();
    let loss = history.epochs.last().unwrap().train_loss;
    assert!(loss < 0.15, "training loss after 3 epochs {loss}");
    let mut ws = model.new_workspace(64);
    let acc = evaluate(&model, &data.test, 64, &mut ws)
        .unwrap()
        .accuracy
        .unwrap();
    assert!(acc >= 0.9, "resnet test accuracy {acc}");
}

/// The interpreter and the generated code start from the same initial parameters (the
/// runtime's initialisers, drawn in declaration order) and follow the same training path.
#[test]
fn interpreter_and_generated_code_train_alike() {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/deep.nn")).unwrap();
    let mut opts = dsl::check::Options::default();
    opts.overrides.push((None, "K".into(), 1.0));
    let checked = dsl::check_source(&src, &opts).unwrap();
    let graph = checked.graphs[0].clone().unwrap();
    let mut interp = InterpModel::<f64>::new(&graph, &src, "deep.nn", &mut Rng::new(9)).unwrap();
    mod net64 {
        nnspec::model!(DeepNet[K = 1] from "../../specs/deep.nn");
    }
    let mut generated = net64::DeepNet::<f64>::init(&mut Rng::new(9));
    let same = |x: Vec<(String, Mat<f64>)>, y: Vec<(String, Mat<f64>)>, tol: f64| {
        assert_eq!(x.len(), y.len());
        for ((n1, m1), (n2, m2)) in x.iter().zip(&y) {
            assert_eq!(n1, n2);
            let d = (m1 - m2).norm_max();
            assert!(d <= tol * (1.0 + m1.norm_max()), "{n1}: differs by {d}");
        }
    };
    same(named(&interp), named(&generated), 0.0);
    let all = training::digits::<f64>();
    let data = training::prepare(&all.subset(&(0..300).collect::<Vec<_>>()), 0.0, 0.0, 2).unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch: 25,
        seed: 2,
        patience: None,
        progress: false,
        steps: None,
    };
    let opt = || Optimizer::<f64>::new(Config::new(Method::parse("momentum").unwrap(), 1e-3));
    let h1 = fit(&mut interp, &mut opt(), &data.train, None, &cfg).unwrap();
    let h2 = fit(&mut generated, &mut opt(), &data.train, None, &cfg).unwrap();
    same(named(&interp), named(&generated), 1e-10);
    let rel = (h1.epochs[1].train_loss - h2.epochs[1].train_loss).abs() / h2.epochs[1].train_loss;
    assert!(rel < 1e-10, "losses {h1:?} {h2:?}");
}

#[test]
fn an_overflow_is_named_by_its_spec_line_and_the_parameters_stay_finite() {
    let data = training::prepare(&training::digits::<f32>(), 0.1, 0.2, 1).unwrap();
    let mut model = net::DeepNet::<f32>::init(&mut Rng::new(1));
    // Every entry of Ω_0 at f32's largest value: Ω_0 x = max · ∑ x overflows for any example
    // whose standardised pixels do not sum to within ±1, in the first term of h_1.
    model.omega_0.fill(f32::MAX);
    let before = params_of(&model);
    let err = fit(
        &mut model,
        &mut adam(),
        &data.train,
        None,
        &TrainConfig {
            epochs: 1,
            ..TrainConfig::default()
        },
    )
    .unwrap_err();
    match &*err.kind {
        TrainErrorKind::NonFinite {
            epoch,
            batch,
            quantity,
            ..
        } => {
            assert_eq!((*epoch, *batch), (1, 1));
            assert_eq!(quantity, "a term of h_1 = a[β_0 + Ω_0 x] (deep.nn:10)");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("first appeared in a term of h_1"));
    assert!(err.history.epochs.is_empty());
    assert_eq!(
        params_of(&model),
        before,
        "parameters changed by a failed step"
    );
}

#[test]
fn a_learning_rate_that_diverges_stops_with_the_last_finite_parameters() {
    let data = training::prepare(&training::digits::<f32>(), 0.1, 0.2, 1).unwrap();
    let mut model = net::DeepNet::<f32>::init(&mut Rng::new(1));
    let mut opt = Optimizer::new(Config::new(Method::Sgd, 1e30));
    let err = fit(
        &mut model,
        &mut opt,
        &data.train,
        None,
        &TrainConfig::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&*err.kind, TrainErrorKind::NonFinite { .. }),
        "{err}"
    );
    assert_eq!(model.first_non_finite(), None, "{err}");
}

#[test]
fn wrong_data_is_an_error_not_a_panic() {
    let mut model = net::DeepNet::<f32>::init(&mut Rng::new(1));
    let iris = training::iris::<f32>();
    let err = fit(
        &mut model,
        &mut adam(),
        &iris,
        None,
        &TrainConfig::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the training data have 4 features, but `DeepNet` reads x with 64 rows"
    );
}

#[test]
fn checkpoints_of_generated_models_round_trip_and_are_checked() {
    let dir = std::env::temp_dir().join(format!("nnspec-train-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    let model = net::DeepNet::<f32>::init(&mut Rng::new(5));
    checkpoint::save(&path, &model, &[("model", "DeepNet")]).unwrap();
    let mut back = net::DeepNet::<f32>::zeros();
    let meta = checkpoint::load(&path, &mut back).unwrap();
    assert_eq!(meta.get("model").map(String::as_str), Some("DeepNet"));
    assert_eq!(params_of(&back), params_of(&model));
    // A model with a different hidden width: a shape error, and the model is unchanged.
    mod wide {
        nnspec::model!(DeepNet[K = 1, D = 32] from "../../specs/deep.nn");
    }
    let mut other = wide::DeepNet::<f32>::zeros();
    match checkpoint::load(&path, &mut other) {
        Err(CheckpointError::Shape { name, .. }) => assert_eq!(name, "β_0"),
        other => panic!("{other:?}"),
    }
    assert!(params_of(&other).iter().all(|m| m.norm_max() == 0.0));
    // A parameter set with a name the file does not have.
    let mut extra = nnspec::runtime::NamedParams::new(
        params_of(&model)
            .into_iter()
            .enumerate()
            .map(|(k, m)| (["β_0", "Ω_0", "β_1", "Ω_1"][k].to_string(), m))
            .chain([("γ".to_string(), Mat::<f32>::zeros(1, 1))]),
    );
    match checkpoint::load(&path, &mut extra) {
        Err(CheckpointError::Missing { name, .. }) => assert_eq!(name, "γ"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A whole training iteration — gather a batch, `loss_and_grad`, the optimiser's update —
/// does not touch the heap once the workspace and the optimiser's state exist.
#[test]
fn a_training_iteration_allocates_nothing() {
    let ds = training::digits::<f32>();
    let mut model = net::DeepNet::<f32>::init(&mut Rng::new(1));
    let mut grads = model.new_grads();
    let mut ws = model.new_workspace(32);
    let mut x = Mat::<f32>::zeros(64, 32);
    let mut y = BatchTargets::for_dataset(&ds, 32);
    let mut opt = adam();
    let idx: Vec<usize> = (0..32).collect();
    let mut iteration = |model: &mut net::DeepNet<f32>| {
        let (xb, yb) = ds.gather(&idx, &mut x, &mut y);
        model
            .batch_loss_and_grad(xb, yb, &mut grads, &mut ws)
            .unwrap();
        opt.step(model, &grads);
    };
    iteration(&mut model);
    let before = allocations();
    iteration(&mut model);
    iteration(&mut model);
    assert_eq!(allocations(), before);
}

/// With patience, training stops after that many epochs without a better validation loss
/// and leaves the model at the best epoch's parameters (its validation loss, recomputed,
/// is the one recorded for that epoch).
#[test]
fn early_stopping_restores_the_best_epoch() {
    let data = training::prepare(&training::digits::<f32>(), 0.1, 0.2, 1).unwrap();
    let mut model = net::DeepNet::<f32>::init(&mut Rng::new(1));
    // A learning rate high enough that the validation loss stops improving early.
    let mut opt = Optimizer::new(Config::new(Method::parse("adam").unwrap(), 3e-2));
    let cfg = TrainConfig {
        epochs: 60,
        batch: 32,
        seed: 1,
        patience: Some(2),
        progress: false,
        steps: None,
    };
    let h = fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).unwrap();
    assert_eq!(
        h.stop,
        nnspec::runtime::train::Stop::EarlyStopped { patience: 2 }
    );
    let best = h.best_epoch.unwrap();
    assert_eq!(
        h.epochs.len(),
        best + 2,
        "stopped {} epochs after the best",
        h.epochs.len() - best
    );
    let recorded = h.epochs[best - 1].val_loss.unwrap();
    let mut ws = model.new_workspace(256);
    let now = evaluate(&model, &data.val, 256, &mut ws).unwrap().loss;
    assert_eq!(now.to_bits(), recorded.to_bits());
    // Every later epoch was no better.
    assert!(
        h.epochs[best..]
            .iter()
            .all(|e| e.val_loss.unwrap() >= recorded)
    );
}

mod noise {
    nnspec::model!("../data/noise.nn");
}

/// The mean and (population) variance of a matrix's entries.
fn moments(m: faer::MatRef<'_, f64>) -> (f64, f64) {
    let v: Vec<f64> = (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n)
}

#[test]
fn noise_is_drawn_from_its_declared_distribution() {
    const N: usize = 20_000;
    // (model, mean, variance, bound on the mean's error, bound on the variance's error), by
    // hand: Uniform[0, 1] has mean 1/2, variance 1/12, standard error of the mean
    // √(1/12/N) ≈ 0.0020 and of the variance √((1/80 − 1/144)/N) ≈ 0.00053; Bernoulli[0.3]
    // has mean 0.3, variance 0.21, standard errors 0.0032 and
    // √((p(1−p)(1−3p+3p²) − 0.21²)/N) ≈ 0.0013; Norm[2, 0.25] has
    // mean 2, variance 0.25, standard errors 0.0035 and 0.25·√(2/N) = 0.0025. The bounds are
    // about five standard errors.
    let cases = [
        ("Uniform01", 0.5, 1.0 / 12.0, 0.01, 0.003),
        ("Bernoulli03", 0.3, 0.21, 0.016, 0.0065),
        ("Norm2", 2.0, 0.25, 0.018, 0.0125),
    ];
    let within =
        |what: &str, m: faer::MatRef<'_, f64>, (mean, var, dm, dv): (f64, f64, f64, f64)| {
            let (got_mean, got_var) = moments(m);
            assert!(
                (got_mean - mean).abs() < dm,
                "{what}: mean {got_mean}, want {mean}"
            );
            assert!(
                (got_var - var).abs() < dv,
                "{what}: variance {got_var}, want {var}"
            );
        };
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/noise.nn"))
        .unwrap();
    let checked = dsl::check_source(&src, &dsl::check::Options::default()).unwrap();
    for (name, mean, var, dm, dv) in cases {
        let graph = checked
            .graphs
            .iter()
            .flatten()
            .find(|g| g.name == name)
            .unwrap();
        // The interpreter draws the noise of every batch (here the model function's value,
        // in evaluation mode); a Bernoulli mask is its mean there (dropout's rule), drawn
        // only by training steps, through the sampler the generated code's check below uses.
        let model = InterpModel::<f64>::new(graph, &src, "noise.nn", &mut Rng::new(3)).unwrap();
        let mut ws = model.new_workspace(N);
        let x = Mat::<f64>::zeros(1, N);
        let f = model.predict(x.as_ref(), &mut ws).unwrap();
        if name == "Bernoulli03" {
            assert!(
                (0..N).all(|j| f[(0, j)] == 0.3),
                "a mask is p in evaluation mode"
            );
        } else {
            within(&format!("interpreter {name}"), f, (mean, var, dm, dv));
        }
    }
    // Generated code draws noise through the same sampler.
    let mut rng = Rng::new(4);
    let u = noise::Uniform01::<f64>::sample_u(N, &mut rng);
    within(
        "generated Uniform01",
        u.as_ref(),
        (0.5, 1.0 / 12.0, 0.01, 0.003),
    );
    let m = noise::Bernoulli03::<f64>::sample_m(N, &mut rng);
    assert!((0..N).all(|j| m[(0, j)] == 0.0 || m[(0, j)] == 1.0));
    within(
        "generated Bernoulli03",
        m.as_ref(),
        (0.3, 0.21, 0.016, 0.0065),
    );
    let e = noise::Norm2::<f64>::sample_e(N, &mut rng);
    within("generated Norm2", e.as_ref(), (2.0, 0.25, 0.018, 0.0125));
}

/// The iris data (labels {1 … 3}) prepared for the small classifier, and the classifier.
fn iris_run() -> (
    iris_net::MulticlassClassification<f32>,
    training::Prepared<f32>,
) {
    let model = iris_net::MulticlassClassification::<f32>::init(&mut Rng::new(3));
    let (ds, _) = training::builtin::<f32>(&model.io(), 3);
    (model, training::prepare(&ds, 0.2, 0.2, 3).unwrap())
}

fn iris_cfg(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch: 16,
        seed: 3,
        patience: None,
        progress: false,
        steps: None,
    }
}

/// Four epochs in one go, and two epochs saved to a file, loaded into a fresh model and
/// optimiser and continued for two more: the same parameters (last and best), bit for bit.
#[test]
fn a_run_saved_and_resumed_is_bit_identical_to_one_that_never_stopped() {
    use nnspec::runtime::train::{RunState, fit_with};
    let (model0, data) = iris_run();
    let mut opt = adam();
    let mut whole = model0.clone();
    let mut state = RunState::default();
    fit_with(
        &mut whole,
        &mut opt,
        &data.train,
        Some(&data.val),
        &iris_cfg(4),
        &mut state,
    )
    .unwrap();

    let dir = std::env::temp_dir().join(format!("nnspec-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let mut first = model0.clone();
    let (mut opt1, mut s1) = (adam(), RunState::default());
    fit_with(
        &mut first,
        &mut opt1,
        &data.train,
        Some(&data.val),
        &iris_cfg(2),
        &mut s1,
    )
    .unwrap();
    nnspec::runtime::resume::save(&path, &first, &opt1, &s1, &[("note", "two epochs")]).unwrap();

    let mut second = iris_net::MulticlassClassification::<f32>::zeros();
    let mut opt2 = adam();
    let (mut s2, meta) = nnspec::runtime::resume::load(&path, &mut second, &mut opt2).unwrap();
    assert_eq!(meta.get("note").map(String::as_str), Some("two epochs"));
    assert_eq!((s2.epochs_done, opt2.steps()), (2, opt1.steps()));
    let h = fit_with(
        &mut second,
        &mut opt2,
        &data.train,
        Some(&data.val),
        &iris_cfg(4),
        &mut s2,
    )
    .unwrap();
    assert_eq!(h.epochs.len(), 4);
    assert_eq!(
        params_of(&second),
        params_of(&whole),
        "last parameters differ"
    );
    let best = |s: &RunState<f32>| s.best.as_ref().map(|b| (b.epoch, b.params.clone()));
    assert_eq!(best(&s2), best(&state), "best parameters differ");
    for (a, b) in h.epochs.iter().zip(&state.history.epochs) {
        assert_eq!((a.train_loss, a.val_loss), (b.train_loss, b.val_loss));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Without patience, `fit` still ends at the parameters of the best validation loss.
#[test]
fn the_best_parameters_are_kept_without_patience() {
    let (mut model, data) = iris_run();
    // A rate high enough that the validation loss goes up and down.
    let mut opt = Optimizer::new(Config::new(Method::parse("adam").unwrap(), 0.3));
    let h = fit(
        &mut model,
        &mut opt,
        &data.train,
        Some(&data.val),
        &iris_cfg(25),
    )
    .unwrap();
    let best = h.best_epoch.unwrap();
    let losses: Vec<f64> = h.epochs.iter().map(|e| e.val_loss.unwrap()).collect();
    assert!(
        best < losses.len(),
        "the last epoch was the best: {losses:?}"
    );
    let mut ws = model.new_workspace(64);
    let now = evaluate(&model, &data.val, 256, &mut ws).unwrap().loss;
    assert_eq!(now, losses[best - 1], "validation losses {losses:?}");
}

/// SGD at a learning rate of 1e6 does not overflow on this model, but the loss grows by
/// orders of magnitude: the run fails as diverged and keeps finite parameters.
#[test]
fn divergence_is_a_failure_that_keeps_the_best_parameters() {
    let (mut model, data) = iris_run();
    let before = params_of(&model);
    let mut opt = Optimizer::new(Config::new(Method::Sgd, 1e6));
    let err = fit(
        &mut model,
        &mut opt,
        &data.train,
        Some(&data.val),
        &iris_cfg(5),
    )
    .unwrap_err();
    match &*err.kind {
        TrainErrorKind::Diverged {
            epoch,
            loss,
            lowest,
        } => {
            assert!(*loss > 1e3 * lowest.abs(), "{loss} vs {lowest}");
            assert_eq!(*epoch, err.history.epochs.len());
        }
        TrainErrorKind::NonFinite { updates, .. } => assert!(*updates > 0, "{err}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(model.first_non_finite(), None);
    if err.history.epochs.len() == 1 {
        assert_eq!(params_of(&model), before, "not the initial parameters");
    }
    assert!(err.to_string().contains("lower learning rate"), "{err}");
}

/// A one-column weight matrix (`Ω_0 : ℝ^{D×D_i}` with `D_i = 1`) starts with He, not at
/// zero: the heteroscedastic regression's variance `f_2²` is not 0 at the start, so its
/// loss is finite at the first step for every seed.
#[test]
fn a_one_column_weight_matrix_is_not_initialised_as_a_bias() {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/losses.nn")).unwrap();
    let checked = dsl::check_source(&src, &dsl::check::Options::default()).unwrap();
    let graph = checked
        .graphs
        .iter()
        .flatten()
        .find(|g| g.name == "Heteroscedastic")
        .unwrap();
    for seed in 1..=5 {
        let mut model =
            InterpModel::<f64>::new(graph, &src, "losses.nn", &mut Rng::new(seed)).unwrap();
        let omega = model.params.get("Ω_0").unwrap();
        assert!(omega.norm_max() > 0.0, "Ω_0 starts at zero");
        let (ds, _) = training::builtin::<f64>(&model.io(), seed);
        let data = training::prepare(&ds, 0.1, 0.1, seed).unwrap();
        let mut opt = Optimizer::new(Config::new(Method::parse("adam").unwrap(), 1e-3));
        let cfg = TrainConfig {
            epochs: 1,
            seed,
            ..TrainConfig::default()
        };
        fit(&mut model, &mut opt, &data.train, None, &cfg).unwrap();
    }
}

/// A NaN at the initial parameters is not blamed on the learning rate.
#[test]
fn a_non_finite_loss_before_any_update_says_so() {
    let (mut model, data) = iris_run();
    model.for_each_param_mut(&mut |_, mut m| m.fill(f32::NAN));
    let err = fit(&mut model, &mut adam(), &data.train, None, &iris_cfg(1)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("at the initial parameters, before any update"),
        "{text}"
    );
    assert!(!text.contains("lower learning rate"), "{text}");
}

mod seq {
    // A small GRU over the digits as 8 rows of 8 pixels.
    nnspec::model!(GRUDigits[D_h = 6] from "../../specs/sequences.nn");
}

/// A model reading a sequence `X ∈ ℝ^{8×8}` per example trains through `fit` from data of 64
/// numbers per example, in generated code and in the interpreter alike, and its loss falls.
#[test]
fn a_sequence_model_trains_on_rows_of_d_times_t_numbers_in_both_evaluators() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/sequences.nn"))
        .unwrap();
    let mut opts = dsl::check::Options::default();
    opts.overrides.push((None, "D_h".into(), 6.0));
    let checked = dsl::check_source(&src, &opts).unwrap();
    let graph = checked.graphs[1].clone().unwrap();
    assert_eq!(graph.name, "GRUDigits");
    let mut interp =
        InterpModel::<f64>::new(&graph, &src, "sequences.nn", &mut Rng::new(4)).unwrap();
    let mut generated = seq::GRUDigits::<f64>::init(&mut Rng::new(4));
    assert_eq!(interp.io(), generated.io());
    assert_eq!(
        (generated.io().input_cols, generated.io().features()),
        (8, 64)
    );
    let all = training::digits::<f64>();
    let data = training::prepare(&all.subset(&(0..200).collect::<Vec<_>>()), 0.0, 0.0, 3).unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        batch: 20,
        seed: 3,
        patience: None,
        progress: false,
        steps: None,
    };
    let opt = || Optimizer::<f64>::new(Config::new(Method::parse("adam").unwrap(), 1e-2));
    let h1 = fit(&mut interp, &mut opt(), &data.train, None, &cfg).unwrap();
    let h2 = fit(&mut generated, &mut opt(), &data.train, None, &cfg).unwrap();
    for ((n1, m1), (n2, m2)) in named(&interp).iter().zip(&named(&generated)) {
        assert_eq!(n1, n2);
        let d = (m1 - m2).norm_max();
        assert!(d <= 1e-10 * (1.0 + m1.norm_max()), "{n1}: differs by {d}");
    }
    let losses: Vec<f64> = h2.epochs.iter().map(|e| e.train_loss).collect();
    assert!(losses[2] < losses[1] && losses[1] < losses[0], "{losses:?}");
    let rel = (h1.epochs[2].train_loss - losses[2]).abs() / losses[2];
    assert!(rel < 1e-10, "{h1:?} {h2:?}");
}

#[test]
fn data_that_do_not_fill_a_sequence_name_it_and_its_count() {
    let mut model = seq::GRUDigits::<f32>::init(&mut Rng::new(1));
    let iris = training::iris::<f32>();
    let err = fit(
        &mut model,
        &mut adam(),
        &iris,
        None,
        &TrainConfig::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the training data have 4 numbers per example, but `GRUDigits` reads X ∈ ℝ^{8×8}: \
         8·8 = 64 per example (the columns X_1 … X_8 in turn)"
    );
}

/// Alternating least squares (course notes 004) on `specs/matrix_factorisation.nn`: solving
/// for `U` with `V` fixed gives, row by row, the ridge regression the notes derive,
/// `u_i = (∑_{j∈Ω_i} v_j v_jᵀ + 2λ I)⁻¹ ∑_{j∈Ω_i} r_{ij} v_j` (the gradient of
/// `½ ∑ (r − u_iᵀ v_j)² + λ ‖U‖_F²`), computed here by Gaussian elimination on each 3 × 3
/// system; and a few sweeps reach the held-out RMSE of the noise.
#[test]
fn alternating_least_squares_solves_each_factor_in_closed_form() {
    use nnspec::runtime::als;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/matrix_factorisation.nn");
    let src = std::fs::read_to_string(path).unwrap();
    let checked = dsl::check_source(&src, &dsl::check::Options::default()).unwrap();
    let graph = checked.graphs[0].as_ref().unwrap();
    let mut model = InterpModel::<f64>::new(graph, &src, "mf", &mut Rng::new(3)).unwrap();
    let ds = nnspec::tasks::ratings::<f64>(("i", 100, 1), ("j", 80, 1), 7);
    let n = ds.len();
    let (mut xb, mut yb) = (Mat::zeros(2, n), BatchTargets::for_dataset(&ds, n));
    let all: Vec<usize> = (0..n).collect();
    let (x, y) = ds.gather(&all, &mut xb, &mut yb);
    let mut grads = model.new_grads();
    let mut ws = model.new_workspace(n);
    let names: Vec<String> = named(&model).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["U", "V"]);
    let v = named(&model)[1].1.clone();
    let mut batch = als::Batch {
        x,
        y,
        grads: &mut grads,
        ws: &mut ws,
    };
    als::solve(&mut model, 0, &mut batch).unwrap();
    let u = named(&model)[0].1.clone();
    let nnspec::runtime::data::Targets::Values(r) = &ds.y else {
        panic!("values")
    };
    let lambda = 1e-4;
    let mut worst: f64 = 0.0;
    for i in 0..100 {
        let mut a = [[0.0f64; 4]; 3];
        for (row, a_row) in a.iter_mut().enumerate() {
            a_row[row] = 2.0 * lambda;
        }
        for c in (0..n).filter(|&c| ds.x[(0, c)] as usize == i + 1) {
            let j = ds.x[(1, c)] as usize - 1;
            for p in 0..3 {
                for q in 0..3 {
                    a[p][q] += v[(j, p)] * v[(j, q)];
                }
                a[p][3] += r[(0, c)] * v[(j, p)];
            }
        }
        // Gaussian elimination with partial pivoting on [A | b].
        for col in 0..3 {
            let pivot = (col..3)
                .max_by(|&s, &t| a[s][col].abs().total_cmp(&a[t][col].abs()))
                .unwrap();
            a.swap(col, pivot);
            for row in col + 1..3 {
                let f = a[row][col] / a[col][col];
                let pivot_row = a[col];
                for (x, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
        let mut want = [0.0; 3];
        for row in (0..3).rev() {
            let s: f64 = (row + 1..3).map(|k| a[row][k] * want[k]).sum();
            want[row] = (a[row][3] - s) / a[row][row];
        }
        for (k, w) in want.iter().enumerate() {
            worst = worst.max((u[(i, k)] - w).abs() / w.abs().max(1e-3));
        }
    }
    assert!(worst < 1e-7, "U differs from the closed form by {worst:e}");
    // Sweeps over both factors: the training loss falls to the noise's share, ½ σ² per pair.
    let mut losses = Vec::new();
    for _ in 0..6 {
        losses.push(als::sweep(&mut model, &mut batch, &[true, true]).unwrap() / n as f64);
    }
    let floor = 0.5 * nnspec::tasks::RATINGS_NOISE.powi(2);
    assert!(
        losses.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-9)),
        "{losses:?}"
    );
    assert!(losses[5] < 1.2 * floor, "{losses:?} against ½σ² = {floor}");
}

/// Alternating least squares refuses a loss that is not a convex quadratic in a parameter
/// (a classifier's cross-entropy), naming the parameter, and leaves it as it was.
#[test]
fn alternating_least_squares_refuses_a_loss_that_is_not_quadratic() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("train/als_refused");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "train",
            "specs/deep.nn",
            "--optimizer",
            "als",
            "--epochs",
            "1",
        ])
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("needs a loss that is a convex quadratic in each parameter")
            && stderr.contains("is not one in `"),
        "{stderr}"
    );
}
