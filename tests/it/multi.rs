//! Models of several inputs and of a label per token, through the interpreter and `fit`: a
//! batch of the examples' columns split into each input as the interpreter reads it alone,
//! data named by input checked against the model, the graph network of `specs/gcn.nn` on the
//! built-in graphs, and the transformer of `specs/sequence.nn` reversing sequences.

use faer::Mat;
use nnspec::dsl;
use nnspec::runtime::data::{Dataset, InputShape};
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::train::{Supervised, TrainConfig, check_data, evaluate, fit};
use nnspec::runtime::{Rng, Scalar};
use nnspec::training::{self, InterpModel};

fn model_of(src: &str, file: &str) -> InterpModel<f64> {
    let checked = dsl::check_source(src, &dsl::check::Options::default()).unwrap();
    let graph = checked.graphs.last().unwrap().clone().unwrap();
    InterpModel::<f64>::new(&graph, src, file, &mut Rng::new(1)).unwrap()
}

fn spec(name: &str) -> InterpModel<f64> {
    let path = format!("{}/specs/{name}", env!("CARGO_MANIFEST_DIR"));
    model_of(&std::fs::read_to_string(&path).unwrap(), name)
}

const TWO_INPUTS: &str = "model G[N = 3, D = 2] {
    input  X : ℝ^{D×N}
    input  A : ℝ^{N×N}
    target y : ℝ
    param  ω : ℝ^{1×D}
    f[X, A, φ] = ω X (A + I) 𝟏
    loss L[φ] = ∑_i (f[X_i, A_i, φ] - y_i)²
}";

/// The loss of a packed batch (each example's column `X` then `A`, column by column) is the
/// interpreter's loss on `X` (`D × N·B`) and `A` (`N × N·B`) given apart.
#[test]
fn a_batch_of_several_inputs_is_split_into_each_input() {
    let model = model_of(TWO_INPUTS, "g.nn");
    let io = model.io();
    assert_eq!(io.features(), 2 * 3 + 3 * 3);
    assert_eq!(io.batch_shape(4), (15, 4));
    let (b, n, d) = (4, 3, 2);
    let value = |e: usize, k: usize| ((e * 31 + k * 7) % 11) as f64 / 5.0 - 1.0;
    let packed = Mat::from_fn(15, b, |k, e| value(e, k));
    let y = Mat::from_fn(1, b, |_, e| e as f64);
    // X's entry (r, t) of example e is row t·D + r; A's (r, t) is row D·N + t·N + r.
    let x = Mat::from_fn(d, n * b, |r, j| value(j / n, (j % n) * d + r));
    let a = Mat::from_fn(n, n * b, |r, j| value(j / n, d * n + (j % n) * n + r));
    let checked = dsl::check_source(TWO_INPUTS, &dsl::check::Options::default()).unwrap();
    let graph = checked.graphs.last().unwrap().clone().unwrap();
    let omega = model.params.mats[0].clone();
    let want = nnspec::interp::run(&graph, &[x, a, y.clone()], &[omega])
        .unwrap()
        .scalar("L")
        .unwrap();
    let mut ws = model.new_workspace(b);
    let got = model
        .batch_loss(
            packed.as_ref(),
            nnspec::runtime::data::TargetsRef::Values(y.as_ref()),
            &mut ws,
        )
        .unwrap();
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{got} vs {want}"
    );
}

fn named<T: Scalar>(inputs: &[(&str, usize, usize)], n: usize) -> Dataset<T> {
    let f: usize = inputs.iter().map(|(_, r, c)| r * c).sum();
    let mut ds = Dataset::from_values(Mat::zeros(f, n), Mat::zeros(1, n)).unwrap();
    ds.inputs = inputs
        .iter()
        .map(|&(name, rows, cols)| InputShape {
            name: name.into(),
            rows,
            cols,
        })
        .collect();
    ds
}

#[test]
fn data_of_named_inputs_must_match_the_model_by_name_and_shape() {
    let io = model_of(TWO_INPUTS, "g.nn").io();
    let check =
        |inputs: &[(&str, usize, usize)]| check_data(&io, &named::<f64>(inputs, 3), "input");
    assert_eq!(check(&[("X", 2, 3), ("A", 3, 3)]), Ok(()));
    assert_eq!(
        check(&[("X", 2, 3), ("B", 3, 3)]).unwrap_err(),
        "the input data have no input `A` (they hold `X`, `B`), but `G` reads `X`, `A`"
    );
    assert_eq!(
        check(&[("X", 2, 3), ("A", 9, 1)]).unwrap_err(),
        "the input data's input `A` is ℝ^{9} per example, but `G` reads A ∈ ℝ^{3×3}"
    );
    assert_eq!(
        check(&[("A", 3, 3), ("X", 2, 3)]).unwrap_err(),
        "the input data hold the inputs in the order `A`, `X`, but `G` reads `X`, `A`"
    );
    assert_eq!(
        check(&[("X", 2, 3), ("A", 3, 3), ("Z", 1, 1)]).unwrap_err(),
        "the input data have an input `Z` that `G` does not read (it reads `X`, `A`)"
    );
    // Unnamed data (a CSV file's rows): the count of all inputs' numbers, each named.
    let plain = Dataset::<f64>::from_values(Mat::zeros(14, 3), Mat::zeros(1, 3)).unwrap();
    assert_eq!(
        check_data(&io, &plain, "input").unwrap_err(),
        "the input data have 14 numbers per example, but `G` reads X ∈ ℝ^{2×3}, A ∈ ℝ^{3×3}: \
         15 in all (each input column by column, one after the other)"
    );
}

/// Trains on the built-in data set; returns the test accuracy (per token for a label per
/// token), after checking that the history has a training accuracy for every epoch.
fn train(model: &mut InterpModel<f64>, epochs: usize, lr: f64) -> f64 {
    let (ds, _) = training::builtin::<f64>(&model.io(), 1);
    let data = training::prepare(&ds, 0.1, 0.2, 1).unwrap();
    let cfg = TrainConfig {
        epochs,
        batch: 32,
        seed: 1,
        patience: None,
        progress: false,
        steps: None,
    };
    let mut opt = Optimizer::<f64>::new(Config::new(Method::parse("adam").unwrap(), lr));
    let history = fit(model, &mut opt, &data.train, Some(&data.val), &cfg).unwrap();
    assert!(history.epochs.iter().all(|e| e.train_accuracy.is_some()));
    let mut ws = model.new_workspace(256);
    evaluate(model, &data.test, 256, &mut ws)
        .unwrap()
        .accuracy
        .unwrap()
}

/// Built-in graphs are used as given: the adjacency matrix stays 0 or 1 after `prepare`.
#[test]
fn a_graph_network_tells_cycles_from_trees() {
    let mut model = spec("gcn.nn");
    let (ds, what) = training::builtin::<f64>(&model.io(), 1);
    assert!(what.starts_with("graphs (built in)"), "{what}");
    let prepared = training::prepare(&ds, 0.1, 0.2, 1).unwrap();
    assert!(
        prepared
            .train
            .x
            .col(0)
            .iter()
            .all(|v| *v == 0.0 || *v == 1.0)
    );
    let acc = train(&mut model, 8, 3e-3);
    assert!(
        acc >= 0.95,
        "graph classification test accuracy {acc} (chance 0.5)"
    );
}

/// Per token: of 8 symbols, chance is 1/8.
#[test]
fn a_transformer_reverses_sequences_to_99_percent_of_tokens() {
    let mut model = spec("sequence.nn");
    assert!(model.io().token_labels);
    let acc = train(&mut model, 8, 1e-3);
    assert!(acc >= 0.99, "token accuracy {acc}");
}

/// Token accuracy counts each example's tokens: the largest output of each column against
/// the row of the 1 in the target's column.
#[test]
fn token_accuracy_compares_each_column_with_its_one_hot_label() {
    // K = 2 classes, N = 2 tokens, B = 2 examples: f is 2 × 4, y is 4 × 2.
    let f = Mat::from_fn(2, 4, |r, j| {
        [[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]][r][j]
    });
    let y = Mat::from_fn(4, 2, |k, b| {
        [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]][k][b]
    });
    // Example 1: tokens (0, 1) predicted, labels (0, 1); example 2: predicted (1, 0), labels (1, 1).
    assert_eq!(
        nnspec::runtime::train::correct_tokens(f.as_ref(), y.as_ref()),
        (3, 4)
    );
}
