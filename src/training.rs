//! Training outside generated code: the built-in data sets, data prepared for a model (split
//! and standardised), the files a run leaves behind, and [`InterpModel`], the IR
//! interpreter behind the [`Supervised`] interface so `nnspec train` can train any spec
//! without compiling Rust.
//!
//! The interpreter allocates its values on every step; it is the slow, general path. Code
//! from `model!` is the fast one, and both train through the same loop
//! ([`runtime::train::fit`](crate::runtime::train::fit)).

use crate::dsl::ir::{self, Graph, NodeId, Role};
use crate::interp::{self, EvalError};
use crate::runtime::batch;
use crate::runtime::data::{
    CsvOptions, Dataset, InputShape, Standardizer, TargetKind, Targets, TargetsRef,
};
use crate::runtime::init::Sample;
use crate::runtime::tabular::Rule;
use crate::runtime::train::{History, Io, Objective, Supervised};
use crate::runtime::{NamedParams, Params, Rng, Scalar, StepError, checkpoint, report};
use faer::{Mat, MatRef};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The digits set embedded in the binary: 1797 8×8 images (64 features, pixel values 0..16),
/// classes 0..9 (UCI, CC BY 4.0; see `data/README.md`).
pub fn digits<T: Scalar>() -> Dataset<T> {
    let bytes = include_bytes!("../data/digits.csv.gz");
    Dataset::from_csv_gz_bytes(bytes, "digits.csv.gz", &CsvOptions::default())
        .expect("the embedded digits set parses")
}

/// Fisher's iris set embedded in the binary: 150 examples, 4 features, classes 0..2.
pub fn iris<T: Scalar>() -> Dataset<T> {
    let text = include_str!("../data/iris.csv");
    Dataset::from_csv_str(text, "iris.csv", &CsvOptions::default())
        .expect("the embedded iris set parses")
}

/// A data set split for training: features standardised with the training split's statistics.
#[derive(Clone, Debug)]
pub struct Prepared<T> {
    /// The training split.
    pub train: Dataset<T>,
    /// The validation split.
    pub val: Dataset<T>,
    /// The test split.
    pub test: Dataset<T>,
    /// The standardisation fitted on `train` and applied to all three.
    pub standardizer: Standardizer,
}

/// How the data are standardised with the training split's statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scaling {
    /// Each feature by its own mean and standard deviation.
    #[default]
    Features,
    /// All features by one mean and standard deviation (pictures: a pixel is a pixel).
    Global,
    /// All features together onto [−1, 1], by the training split's smallest and largest
    /// number (pictures for a generator with a `tanh` output, §15.2's usual recipe).
    Range,
    /// As given.
    None,
}

/// Splits `ds` (fractions `val` and `test`, shuffled with `seed`) and standardises every
/// split with the training split's mean and standard deviation of each feature (data of
/// named inputs, [`Dataset::inputs`], are used as given).
///
/// # Errors
/// When a value does not standardise to a finite number, naming its feature and example.
pub fn prepare<T: Scalar>(
    ds: &Dataset<T>,
    val: f64,
    test: f64,
    seed: u64,
) -> Result<Prepared<T>, String> {
    prepare_scaled(ds, val, test, seed, Scaling::Features)
}

/// [`prepare`] with the standardisation chosen by `scaling`.
///
/// # Errors
/// When a value does not standardise to a finite number, naming its feature and example.
pub fn prepare_scaled<T: Scalar>(
    ds: &Dataset<T>,
    val: f64,
    test: f64,
    seed: u64,
    scaling: Scaling,
) -> Result<Prepared<T>, String> {
    let (mut train, mut v, mut t) = ds.split(val, test, &mut Rng::new(seed));
    // Named inputs are used as given (`Dataset::inputs`): the identity standardisation.
    let standardizer = match scaling {
        _ if !ds.inputs.is_empty() => Standardizer::identity(ds.features()),
        Scaling::Features => Standardizer::fit(train.x.as_ref()),
        Scaling::Global => Standardizer::fit_global(train.x.as_ref()),
        Scaling::Range => Standardizer::fit_range(train.x.as_ref()),
        Scaling::None => Standardizer::identity(ds.features()),
    };
    for (d, split) in [
        (&mut train, "training"),
        (&mut v, "validation"),
        (&mut t, "test"),
    ] {
        standardizer
            .apply_checked(d.x.as_mut(), &ds.feature_names)
            .map_err(|e| format!("the {split} split: {e}"))?;
    }
    Ok(Prepared {
        train,
        val: v,
        test: t,
        standardizer,
    })
}

/// The built-in data set for a model: digits for 64 inputs and 10 classes, or 64 inputs and
/// no target (an autoencoder's data are its input), iris for 4 inputs and 3 classes, otherwise a synthetic set of the model's shape (Gaussian clusters for
/// class labels, a smooth function of the inputs with values in `[0, 1]` for real targets).
/// Returns the data and a one-line description.
pub fn builtin<T: Scalar>(io: &Io, seed: u64) -> (Dataset<T>, String) {
    if let Some(found) = structured(io, seed) {
        return found;
    }
    let shift = |mut ds: Dataset<T>, lo: usize| {
        if let Targets::Labels { values, lo: l, .. } = &mut ds.y {
            values.iter_mut().for_each(|v| *v += lo);
            *l = lo;
        }
        ds
    };
    match io.target {
        TargetKind::Labels {
            lo,
            classes: Some(10),
        } if io.features() == 64 => (
            shift(digits(), lo),
            "digits (built in): 1797 8×8 images, 10 classes".into(),
        ),
        TargetKind::Labels {
            lo,
            classes: Some(3),
        } if io.features() == 4 => (
            shift(iris(), lo),
            "iris (built in): 150 flowers, 4 measurements, 3 classes".into(),
        ),
        TargetKind::Labels { lo, classes } => {
            let classes = classes.unwrap_or(2).max(2);
            (
                clusters(io.features(), classes, lo, 200, seed),
                format!(
                    "synthetic (built in): {classes} Gaussian clusters in {} dimensions, {} examples",
                    io.features(),
                    200 * classes
                ),
            )
        }
        TargetKind::Values { count: 0 } if io.features() == 64 => {
            let mut ds = digits();
            ds.y = Targets::Values(Mat::zeros(0, ds.len()));
            (
                ds,
                "digits (built in): 1797 8×8 images, no targets (the data are the input)".into(),
            )
        }
        TargetKind::Values { count } => (
            smooth(io.features(), count, 512, seed),
            format!(
                "synthetic (built in): {count} smooth function(s) of {} input(s) with noise, 512 examples",
                io.features()
            ),
        ),
    }
}

/// The pixel value from which a binarised digit's pixel is 1: half the range `0 … 16`.
pub const BINARY_THRESHOLD: f64 = 8.0;

/// The digits binarised ([`digits`], each pixel 1 where its value is at least
/// [`BINARY_THRESHOLD`], else 0), no targets: the data of a density model of binary vectors,
/// one input `x ∈ {0, 1}^{64}` and no target (MADE, NADE, PixelCNN in `specs/`). The input
/// is named, so the pixels are used as given, never standardised.
pub fn binary_digits<T: Scalar>(
    io: &Io,
    inputs: &[(&str, Option<(i32, usize)>)],
) -> Option<(Dataset<T>, String)> {
    let [(_, Some((0, 2)))] = inputs else {
        return None;
    };
    if io.target != (TargetKind::Values { count: 0 }) || io.features() != 64 {
        return None;
    }
    let mut ds = digits::<T>();
    for j in 0..ds.x.ncols() {
        for i in 0..ds.x.nrows() {
            let on = ds.x[(i, j)].to_f64() >= BINARY_THRESHOLD;
            ds.x[(i, j)] = if on { T::ONE } else { T::ZERO };
        }
    }
    ds.y = Targets::Values(Mat::zeros(0, ds.len()));
    ds.inputs = io.input_shapes();
    ds.feature_names = crate::runtime::data::input_feature_names(&ds.inputs);
    let what = format!(
        "binarised digits (built in): 1797 8×8 images, each pixel 1 where its value is ≥ {BINARY_THRESHOLD} of 0 … 16, no targets"
    );
    Some((ds, what))
}

/// Synthetic ratings ([`crate::tasks::ratings`]) for a model of two label inputs, a user
/// `i ∈ {1 … M}` and an item `j ∈ {1 … N}`, and a rating as its one real target (matrix
/// factorisation, course notes 004).
pub fn ratings<T: Scalar>(
    io: &Io,
    inputs: &[(&str, Option<(i32, usize)>)],
    seed: u64,
) -> Option<(Dataset<T>, String)> {
    let [(u, Some((lo_u, users))), (v, Some((lo_v, items)))] = inputs else {
        return None;
    };
    if io.target != (TargetKind::Values { count: 1 }) {
        return None;
    }
    let ds = crate::tasks::ratings((u, *users, *lo_u), (v, *items, *lo_v), seed);
    let what = format!(
        "ratings (built in): {} ratings of {users} users for {items} items, rank {} plus noise σ = {} \
         (the held-out RMSE's floor)",
        ds.len(),
        crate::tasks::RATINGS_RANK,
        crate::tasks::RATINGS_NOISE
    );
    Some((ds, what))
}

/// The generated sets of [`crate::tasks`] for the models that read them: graphs for a model of
/// two inputs `X ∈ ℝ^{D×N}`, `A ∈ ℝ^{N×N}` and two classes; sequences to reverse for one
/// input `X ∈ ℝ^{S×N}` and a label per token, `Y ∈ {0, 1}^{S×N}`.
fn structured<T: Scalar>(io: &Io, seed: u64) -> Option<(Dataset<T>, String)> {
    let nodes = io.input_cols;
    match (&io.more_inputs[..], &io.target) {
        (
            [a],
            TargetKind::Labels {
                lo: 0,
                classes: Some(2),
            },
        ) if nodes > 1 && (a.rows, a.cols) == (nodes, nodes) => {
            let count = 1000;
            Some((
                crate::tasks::graphs((&io.input, io.inputs), &a.name, nodes, count, seed),
                format!(
                    "graphs (built in): {count} graphs of {nodes} nodes, a cycle through every \
                     node (class 1) or a tree (class 0)"
                ),
            ))
        }
        ([], TargetKind::Values { count }) if io.token_labels && *count == io.features() => {
            let (symbols, len, n) = (io.inputs, nodes, 2000);
            Some((
                crate::tasks::reversal(&io.input, symbols, len, n, seed),
                format!(
                    "reversal (built in): {n} sequences of {len} tokens over {symbols} \
                     symbols, one-hot, the target the sequence reversed"
                ),
            ))
        }
        _ => None,
    }
}

/// [`builtin`], for a model whose target is a vector of labels of `{lo … lo+count−1}` (the
/// set of [`InterpModel::target_labels`]): the synthetic values, in `[0, 1]`, rounded to the
/// nearest label of the set.
pub fn builtin_labels<T: Scalar>(
    io: &Io,
    (lo, count): (i32, usize),
    seed: u64,
) -> (Dataset<T>, String) {
    if let Some(found) = structured(io, seed) {
        return found;
    }
    let (mut ds, what) = builtin::<T>(io, seed);
    if let Targets::Values(y) = &mut ds.y {
        let top = count.saturating_sub(1) as f64;
        for j in 0..y.ncols() {
            for i in 0..y.nrows() {
                let v = (y[(i, j)].to_f64() * top).round() + f64::from(lo);
                y[(i, j)] = T::from_f64(v);
            }
        }
    }
    let hi = i64::from(lo) + count as i64 - 1;
    (ds, format!("{what}, rounded to labels {{{lo} … {hi}}}"))
}

/// `per_class` examples around each of `classes` centres drawn `N(0, 3²)` in `dims` dimensions.
fn clusters<T: Scalar>(
    dims: usize,
    classes: usize,
    lo: usize,
    per_class: usize,
    seed: u64,
) -> Dataset<T> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let centres: Vec<Vec<f64>> = (0..classes)
        .map(|_| (0..dims).map(|_| rng.normal(3.0f64)).collect())
        .collect();
    let n = classes * per_class;
    let labels: Vec<usize> = (0..n).map(|j| j % classes).collect();
    let x = Mat::from_fn(dims, n, |_, _| T::ZERO);
    let mut x = x;
    for j in 0..n {
        for i in 0..dims {
            x[(i, j)] = T::from_f64(centres[labels[j]][i] + rng.normal(1.0f64));
        }
    }
    Dataset {
        x,
        y: Targets::Labels {
            values: labels.iter().map(|l| l + lo).collect(),
            lo,
            classes,
        },
        feature_names: (1..=dims).map(|i| format!("x{i}")).collect(),
        class_names: Vec::new(),
        inputs: Vec::new(),
    }
}

/// `y_k = (1 + sin(2 w_k·x + k)) / 2` plus a little noise, `x` uniform in `[-1, 1]^dims`.
fn smooth<T: Scalar>(dims: usize, count: usize, n: usize, seed: u64) -> Dataset<T> {
    let mut rng = Rng::new(seed ^ 0xF00D);
    let w: Vec<Vec<f64>> = (0..count)
        .map(|_| (0..dims).map(|_| rng.normal(1.0f64)).collect())
        .collect();
    let mut x = Mat::<T>::zeros(dims, n);
    let mut y = Mat::<T>::zeros(count, n);
    for j in 0..n {
        let xs: Vec<f64> = (0..dims).map(|_| 2.0 * rng.uniform() - 1.0).collect();
        for (i, v) in xs.iter().enumerate() {
            x[(i, j)] = T::from_f64(*v);
        }
        for (k, wk) in w.iter().enumerate() {
            let s: f64 = wk.iter().zip(&xs).map(|(a, b)| a * b).sum();
            let v = (1.0 + (2.0 * s + k as f64).sin()) / 2.0 + rng.normal(0.02f64);
            y[(k, j)] = T::from_f64(v.clamp(0.0, 1.0));
        }
    }
    Dataset {
        x,
        y: Targets::Values(y),
        feature_names: (1..=dims).map(|i| format!("x{i}")).collect(),
        class_names: Vec::new(),
        inputs: Vec::new(),
    }
}

/// Where a run's files went.
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    /// The parameters, as safetensors.
    pub checkpoint: PathBuf,
    /// The history, as CSV.
    pub history: PathBuf,
    /// The loss curves, as SVG.
    pub plot: PathBuf,
}

/// Writes the checkpoint (`model.safetensors`, with the standardisation in its metadata), the
/// history (`history.csv`) and the loss plot (`loss.svg`) into `dir`, each atomically.
pub fn write_outputs<T: Scalar, P: Params<T> + ?Sized>(
    dir: &Path,
    params: &P,
    metadata: &[(&str, &str)],
    standardizer: Option<&Standardizer>,
    history: &History,
    title: &str,
) -> Result<Outputs, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let out = Outputs {
        checkpoint: dir.join("model.safetensors"),
        history: dir.join("history.csv"),
        plot: dir.join("loss.svg"),
    };
    let (mean, std) = standardizer.map_or((String::new(), String::new()), |s| {
        (join(&s.mean), join(&s.std))
    });
    let mut meta: Vec<(&str, &str)> = metadata.to_vec();
    if standardizer.is_some() {
        meta.push(("standardize_mean", &mean));
        meta.push(("standardize_std", &std));
    }
    checkpoint::save(&out.checkpoint, params, &meta).map_err(|e| e.to_string())?;
    let write = |p: &Path, bytes: &[u8]| {
        report::write_atomic(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    write(&out.history, report::history_csv(history).as_bytes())?;
    let svg = report::loss_plot_svg(history, title)?;
    write(&out.plot, svg.as_bytes())?;
    Ok(out)
}

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The standardisation stored in a checkpoint's metadata by [`write_outputs`], if any.
pub fn standardizer_from_metadata(
    meta: &std::collections::BTreeMap<String, String>,
) -> Result<Option<Standardizer>, String> {
    let parse = |key: &str| -> Result<Option<Vec<f64>>, String> {
        meta.get(key)
            .map(|s| {
                s.split(',')
                    .map(|v| {
                        v.parse::<f64>()
                            .map_err(|_| format!("checkpoint metadata `{key}` has `{v}`"))
                    })
                    .collect()
            })
            .transpose()
    };
    let s = match (parse("standardize_mean")?, parse("standardize_std")?) {
        (Some(mean), Some(std)) => Standardizer { mean, std },
        (None, None) => return Ok(None),
        _ => return Err("checkpoint metadata has an incomplete standardisation".into()),
    };
    s.validate()
        .map_err(|e| format!("checkpoint metadata: the standardisation is invalid: {e}"))?;
    Ok(Some(s))
}

/// A 64-bit FNV-1a hash of a spec's text, in hexadecimal: stored in a checkpoint so that a
/// later use can tell whether the spec has changed since (a change detector, not a
/// cryptographic hash).
pub fn spec_hash(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016x}")
}

/// The spec's path as stored in a checkpoint: canonical (absolute, no `.` or `..`, links
/// resolved), so that `cls.nn` and `./cls.nn` give the same bytes; as given when it cannot
/// be resolved.
pub fn spec_path(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// The first spec quantity, in evaluation order, whose value in `values` (a run of `g`)
/// holds a NaN or an infinity: its name and the spec text it comes from, with `file:line`
/// (`source` is the spec's text). Parameters and inputs are not reported.
pub fn first_non_finite<T: Scalar>(
    g: &Graph,
    values: &interp::Values<T>,
    source: &str,
    file: &str,
) -> Option<String> {
    let i = g.nodes.iter().enumerate().position(|(i, node)| {
        !matches!(node.op, ir::Op::Input(_) | ir::Op::Param(_))
            && !crate::runtime::params::all_finite(values.nodes()[i].as_ref())
    })?;
    let span = g.spans[i];
    let text = (span.end > span.start).then(|| {
        let (line, _) = crate::dsl::diag::line_col(source, span.start as usize);
        let term = source
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
            .lines()
            .map(|l| l.split('#').next().unwrap_or(l))
            .collect::<Vec<_>>()
            .join(" ");
        let term = term.split_whitespace().collect::<Vec<_>>().join(" ");
        (term, format!("{file}:{line}"))
    });
    Some(match (&g.nodes[i].name, text) {
        (Some(n), Some((t, at))) if t.starts_with(n.as_str()) => format!("`{n}` in {t} ({at})"),
        (Some(n), Some((t, at))) => format!("`{n}` = {t} ({at})"),
        (None, Some((t, at))) => format!("the term {t} ({at})"),
        (Some(n), None) => format!("`{n}`"),
        (None, None) => format!("value %{i}"),
    })
}

/// The graphs and source an interpreted model runs.
#[derive(Debug)]
struct Compiled {
    /// The optimised forward graph (model function and losses).
    forward: Graph,
    /// The model function's node in `forward`, if the spec defines one `f[x, φ]`.
    function: Option<ir::NodeId>,
    /// Each loss's forward and backward graph, in the spec's order.
    losses: Vec<LossGraph>,
    io: Io,
    /// Input slots: the data inputs in the spec's order and the target, if any (any other is
    /// noise, drawn each step).
    xs: Vec<usize>,
    y: Option<usize>,
    source: String,
    file: String,
}

/// One loss, differentiated with respect to the parameters it trains.
#[derive(Debug)]
struct LossGraph {
    /// Its name in the spec.
    name: String,
    /// Forward and backward: the losses and this loss's gradients.
    train: Graph,
    /// For each parameter, the output of `train` holding its gradient (if the loss uses it).
    grad_outputs: Vec<Option<ir::NodeId>>,
    /// For each parameter, whether this loss trains it.
    trains: Vec<bool>,
}

/// A spec's model run by the IR interpreter, as a [`Supervised`] model: parameters are a
/// [`NamedParams`], noise inputs are drawn afresh for each batch from the distribution the
/// spec declares (`ε ~ Norm[0, I]`, `u ~ Uniform[0, 1]`, `m ~ Bernoulli[p]`).
#[derive(Clone, Debug)]
pub struct InterpModel<T> {
    compiled: Arc<Compiled>,
    /// The parameters, in the spec's declaration order.
    pub params: NamedParams<T>,
    /// The running statistics (`Graph::stats`, `m_1`, `s_1`, …): what evaluation mode
    /// (prediction, validation) normalises with. In a gradient set, the statistics of the
    /// last step's batch.
    pub running: NamedParams<T>,
}

/// The interpreter's workspace: the last prediction, the noise generator, and the new values
/// of the spec's `←` rules that the last training step computed (by parameter), which
/// `rule_step` writes.
#[derive(Clone, Debug)]
pub struct InterpWorkspace<T> {
    out: Mat<T>,
    rng: Rng,
    rules: Vec<(usize, Mat<T>)>,
}

impl<T: Scalar> InterpModel<T> {
    /// For a vector of labels as target (`target y : {0, 1}^{D}`): the set of each entry, as
    /// its first label and count (the data must hold labels of it, not any numbers).
    pub fn target_labels(&self) -> Option<(i32, usize)> {
        self.compiled
            .y
            .and_then(|y| self.compiled.forward.inputs[y].entry_labels)
    }

    /// The model's inputs in the spec's order, each with its label set when it holds labels
    /// (`input i : {1 … M}`: first label and count).
    pub fn input_labels(&self) -> Vec<(&str, Option<(i32, usize)>)> {
        let g = &self.compiled.forward;
        g.inputs
            .iter()
            .filter(|s| s.role == Role::Input)
            .map(|s| (s.name.as_str(), s.label_set()))
            .collect()
    }

    /// The target's name in the spec (`y`, `Y`), if the model has one.
    pub fn target_name(&self) -> Option<&str> {
        let c = &self.compiled;
        c.y.map(|y| c.forward.inputs[y].name.as_str())
    }

    /// Prepares `forward` (one model of a checked spec) for training, with parameters drawn
    /// from the spec's initialisers. `source` and `file` are the spec, for messages.
    ///
    /// # Errors
    /// When the model does not have one `input`, one `target`, a loss and a model function
    /// that reads the input.
    pub fn new(forward: &Graph, source: &str, file: &str, rng: &mut Rng) -> Result<Self, String> {
        let name = &forward.name;
        let loss = forward
            .losses
            .first()
            .ok_or_else(|| format!("`{name}` has no loss to train"))?;
        let role = |r: Role| -> Vec<usize> {
            (0..forward.inputs.len())
                .filter(|&k| forward.inputs[k].role == r)
                .collect()
        };
        let (xs, ys) = (role(Role::Input), role(Role::Target));
        if xs.is_empty() {
            return Err(format!(
                "`{name}` has no `input`; `nnspec train` trains models that read data"
            ));
        }
        // No target: the data are the input (an autoencoder, a VAE).
        let y = match ys[..] {
            [] => None,
            [y] => Some(y),
            _ => {
                return Err(format!(
                    "`{name}` has {} targets; `nnspec train` trains models with one `target` \
                     or none",
                    ys.len()
                ));
            }
        };
        let fwd = crate::dsl::opt::optimize(forward).map_err(|e| e.to_string())?;
        // The model function, when there is one `f[x, φ]` (not one per output component).
        let function = fwd
            .outputs
            .iter()
            .find(|(n, _)| !fwd.losses.iter().any(|l| l.name == *n))
            .map(|(_, id)| *id);
        let losses = forward
            .losses
            .iter()
            .map(|l| {
                let train = crate::dsl::ad::grad(&fwd, &l.name, &l.wrt)
                    .and_then(|g| crate::dsl::opt::optimize(&g))
                    .map_err(|e| e.to_string())?;
                let grad_outputs = (0..forward.params.len())
                    .map(|k| train.param_grad(&l.name, k))
                    .collect();
                let trains = (0..forward.params.len())
                    .map(|k| l.wrt.contains(&(k as u32)))
                    .collect();
                Ok(LossGraph {
                    name: l.name.clone(),
                    train,
                    grad_outputs,
                    trains,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let target = match y {
            Some(y) => target_kind(forward, y)?,
            None => TargetKind::Values { count: 0 },
        };
        let io = Io {
            model: name.clone(),
            loss: loss.name.clone(),
            input: forward.inputs[xs[0]].name.clone(),
            inputs: forward.inputs[xs[0]].shape.rows,
            input_cols: forward.inputs[xs[0]].shape.cols_for(1),
            outputs: function.map_or(0, |f| fwd.shape(f).rows),
            token_labels: y.is_some_and(|y| {
                let s = &forward.inputs[y];
                s.entry_labels.is_some() && s.shape.cols_for(1) > 1
            }),
            target,
            more_inputs: xs[1..]
                .iter()
                .map(|&k| {
                    let s = &forward.inputs[k];
                    InputShape {
                        name: s.name.clone(),
                        rows: s.shape.rows,
                        cols: s.shape.cols_for(1),
                    }
                })
                .collect(),
        };
        let params = NamedParams::new(forward.params.iter().enumerate().map(|(k, p)| {
            let (r, c) = interp::dims(p.shape, 1);
            let init = forward.inits.get(k).copied().unwrap_or(ir::Init::Default);
            (p.name.clone(), init.sample(r, c, rng))
        }));
        let running = NamedParams::new(
            forward
                .stats
                .iter()
                .map(|s| s.name.clone())
                .zip(interp::initial_running(forward)),
        );
        let mut model = InterpModel {
            running,
            compiled: Arc::new(Compiled {
                forward: fwd,
                function,
                losses,
                io,
                xs,
                y,
                source: source.to_string(),
                file: file.to_string(),
            }),
            params,
        };
        // A frozen copy (`φ⁻`, eq. 19.18) starts as the parameters it copies.
        crate::runtime::rl::refresh_frozen(&mut model);
        Ok(model)
    }

    /// Whether the spec's `←` rules of whole parameters are the training step (an optimiser
    /// as printed, eqs. 6.3–6.17), in the optimiser's place.
    pub fn has_rules(&self) -> bool {
        self.compiled
            .forward
            .updates
            .iter()
            .any(|u| u.index.is_empty())
    }

    /// The spec's own rules (`φ_{t+1} ← φ_t − α ∂L/∂φ`, eqs. 6.3–6.17) written with the new
    /// values the last training step left in `ws` (its run computes them with the loss and the
    /// gradient), each checked through the runtime's `tabular::Rule` before any is written.
    fn write_rules(&mut self, ws: &mut InterpWorkspace<T>) -> Result<(), StepError> {
        let pending = std::mem::take(&mut ws.rules);
        if pending.is_empty() {
            return Err(StepError::Eval(
                "no training step has computed the rules' new values".to_string(),
            ));
        }
        let updates = self.compiled.forward.updates.iter();
        let rules: Vec<(usize, Rule<'_, T>)> = pending
            .iter()
            .zip(updates.filter(|u| u.index.is_empty()))
            .map(|((k, values), u)| {
                let old = &self.params.mats[*k];
                let rule = Rule {
                    name: &u.output,
                    values: values.as_ref(),
                    at: None,
                    table: (old.nrows(), old.ncols()),
                    labels: None,
                };
                (*k, rule)
            })
            .collect();
        for (_, rule) in &rules {
            rule.check(&[]).map_err(StepError::Eval)?;
        }
        for (k, rule) in &rules {
            rule.write(&[], self.params.mats[*k].as_mut());
        }
        Ok(())
    }

    /// The graph inputs for a batch: `x` (`D × B`, or `D × (N·B)` for `X ∈ ℝ^{D×N}`; for
    /// several inputs the examples' columns `F × B`, split here, [`Io::batch_shape`]), the
    /// targets as numbers, and fresh noise.
    fn inputs(
        &self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        rng: &mut Rng,
        eval: bool,
    ) -> Result<Vec<Mat<T>>, StepError> {
        let c = &self.compiled;
        let g = &c.forward;
        let batch = c.io.examples_in(x.ncols());
        // Several inputs come as the examples' columns, split as generated code splits them.
        let mut split: Vec<Mat<T>> = Vec::new();
        if c.xs.len() > 1 {
            let names: Vec<String> = c.io.input_shapes().into_iter().map(|s| s.name).collect();
            split =
                c.io.input_shapes()
                    .iter()
                    .map(|s| Mat::zeros(s.rows, s.cols * batch))
                    .collect();
            let mut parts: Vec<_> = split
                .iter_mut()
                .zip(c.io.input_shapes())
                .map(|(m, s)| (m.as_mut(), s.cols))
                .collect();
            batch::split(&names.join("`, `"), x, batch, &mut parts)?;
        }
        let mut split = split.into_iter();
        let mut inputs = Vec::with_capacity(g.inputs.len());
        for (k, s) in g.inputs.iter().enumerate() {
            let (r, cols) = interp::dims(s.shape, batch);
            let m = if c.xs.contains(&k) && c.xs.len() > 1 {
                split.next().expect("one split matrix per input")
            } else if c.xs.contains(&k) {
                check_shape(&s.name, x, (r, cols))?;
                x.to_owned()
            } else if Some(k) == c.y {
                match (y, s.labels) {
                    (TargetsRef::Labels(l), Some(_)) => {
                        if l.len() != batch {
                            return Err(StepError::Shape {
                                name: "y",
                                expected: (1, batch),
                                got: (1, l.len()),
                            });
                        }
                        Mat::from_fn(1, batch, |_, j| T::from_f64(l[j] as f64))
                    }
                    (TargetsRef::Values(v), None) => {
                        // A matrix per example comes as its columns one after the other.
                        let n = cols / batch.max(1);
                        let mut m = Mat::zeros(r, cols);
                        batch::split(&s.name, v, batch, &mut [(m.as_mut(), n)])?;
                        m
                    }
                    (_, Some(_)) => {
                        return Err(StepError::Targets {
                            name: "y",
                            expected: "class labels",
                        });
                    }
                    (_, None) => {
                        return Err(StepError::Targets {
                            name: "y",
                            expected: "real values",
                        });
                    }
                }
            } else {
                // Noise, drawn as the spec declares it (`~ Norm[0, I]` when it says nothing);
                // in evaluation mode a dropout mask (`~ Bernoulli[p]`) is its mean, p.
                crate::sample::draw_noise(s, batch, rng, eval)
            };
            inputs.push(m);
        }
        Ok(inputs)
    }

    /// Runs `g` in training mode (batch statistics) or, with `eval`, in evaluation mode
    /// (the running statistics).
    fn run(
        &self,
        g: &Graph,
        inputs: &[Mat<T>],
        eval: bool,
    ) -> Result<interp::Values<T>, StepError> {
        let mode = if eval {
            interp::Mode::Eval(&self.running.mats)
        } else {
            interp::Mode::Training
        };
        interp::run_in(g, inputs, &self.params.mats, mode).map_err(|e| match e {
            EvalError::Label { error, .. } => StepError::Label {
                column: error.column,
                value: error.value as usize,
                lo: error.lo.max(0) as usize,
                classes: error.classes,
            },
            other => StepError::Eval(other.to_string()),
        })
    }

    /// The model's graph run on the examples of `x` in evaluation mode (the running
    /// statistics), targets zero: they are not read by the model function.
    fn evaluation_run(
        &self,
        x: MatRef<'_, T>,
        ws: &mut InterpWorkspace<T>,
    ) -> Result<interp::Values<T>, StepError> {
        let c = &self.compiled;
        let g = &c.forward;
        let batch = c.io.examples_in(x.ncols());
        let labels: Vec<usize>;
        let values: Mat<T>;
        let y = match c.y.map(|y| &g.inputs[y]).map(|s| (s.labels, s.shape.rows)) {
            Some((Some((lo, _)), _)) => {
                labels = vec![lo.max(0) as usize; batch];
                TargetsRef::Labels(&labels)
            }
            Some((None, _)) => {
                let rows = match c.io.target {
                    TargetKind::Values { count } => count,
                    TargetKind::Labels { .. } => 1,
                };
                values = Mat::zeros(rows, batch);
                TargetsRef::Values(values.as_ref())
            }
            None => {
                values = Mat::zeros(0, batch);
                TargetsRef::Values(values.as_ref())
            }
        };
        let inputs = self.inputs(x, y, &mut ws.rng, true)?;
        self.run(g, &inputs, true)
    }

    /// The value of the spec quantity `name` on the examples of `x`, in evaluation mode: a
    /// parameter (`ω`, `Ω_1`) as it is, or an input or a value the model computes (`X`, `A`,
    /// `Sa_1`, `h_2`) with one block of columns per example. `None` when the model has no such name.
    ///
    /// # Errors
    /// As [`Supervised::predict`].
    pub fn value_of(
        &self,
        name: &str,
        x: MatRef<'_, T>,
        ws: &mut InterpWorkspace<T>,
    ) -> Result<Option<Mat<T>>, StepError> {
        if let Some(k) = self.params.names.iter().position(|n| n == name) {
            return Ok(Some(self.params.mats[k].clone()));
        }
        let g = &self.compiled.forward;
        let input = g.inputs.iter().find(|s| s.name == name).map(|s| s.node);
        let Some(id) = input.or_else(|| g.output(name)).or_else(|| {
            g.nodes
                .iter()
                .rposition(|n| n.name.as_deref() == Some(name))
                .map(|i| NodeId(i as u32))
        }) else {
            return Ok(None);
        };
        let v = self.evaluation_run(x, ws)?;
        Ok(Some(v[id].clone()))
    }

    fn loss_value(&self, g: &Graph, v: &interp::Values<T>) -> T {
        g.output(&self.compiled.io.loss)
            .map_or(T::ZERO, |id| v[id][(0, 0)])
    }
}

/// What the target slot `y` of `forward` holds, as the training loop reads it: a class
/// label, or values (a vector, or a matrix per example column by column).
fn target_kind(forward: &Graph, y: usize) -> Result<TargetKind, String> {
    let name = &forward.name;
    let ys = &forward.inputs[y];
    Ok(match ys.labels {
        Some((lo, classes)) if lo >= 0 => TargetKind::Labels {
            lo: lo as usize,
            classes: Some(classes),
        },
        Some(_) => return Err(format!("`{name}`: negative class labels cannot be trained")),
        // A matrix per example `Y ∈ ℝ^{K×N}`: its K·N numbers, column by column.
        None => TargetKind::Values {
            count: ys.shape.rows * ys.shape.cols_for(1),
        },
    })
}

/// The input `name`'s batch `m` has the dimensions `want` (as [`StepError::Shape`] says it,
/// with the spec's name of the input).
fn check_shape<T>(name: &str, m: MatRef<'_, T>, want: (usize, usize)) -> Result<(), StepError> {
    if (m.nrows(), m.ncols()) != want {
        return Err(StepError::Eval(format!(
            "`{name}` should be {}×{}, but it is {}×{}",
            want.0,
            want.1,
            m.nrows(),
            m.ncols()
        )));
    }
    Ok(())
}

impl<T: Scalar> Params<T> for InterpModel<T> {
    fn for_each_param(&self, f: &mut dyn FnMut(&str, MatRef<'_, T>)) {
        self.params.for_each_param(f);
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&str, faer::MatMut<'_, T>)) {
        self.params.for_each_param_mut(f);
    }

    fn for_each_param_with_grad(
        &mut self,
        grads: &Self,
        f: &mut crate::runtime::params::GradVisitor<'_, T>,
    ) {
        self.params.for_each_param_with_grad(&grads.params, f);
    }

    fn for_each_state(&self, f: &mut dyn FnMut(&str, MatRef<'_, T>)) {
        self.running.for_each_param(f);
    }

    fn for_each_state_mut(&mut self, f: &mut dyn FnMut(&str, faer::MatMut<'_, T>)) {
        self.running.for_each_param_mut(f);
    }
}

impl<T: Scalar> Supervised<T> for InterpModel<T> {
    type Workspace = InterpWorkspace<T>;

    /// The spec's max-norm constraints, `ir::Graph::max_norms`.
    fn max_norms(&self) -> Vec<crate::runtime::optim::MaxNorm> {
        self.compiled
            .forward
            .max_norms
            .iter()
            .map(|m| crate::runtime::optim::MaxNorm {
                param: m.param.clone(),
                columns: m.columns,
                bound: m.bound,
            })
            .collect()
    }

    fn rule_step(
        &mut self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        _grads: &mut Self,
        ws: &mut InterpWorkspace<T>,
    ) -> Option<Result<(), StepError>> {
        if !self.has_rules() {
            return None;
        }
        let _ = (x, y);
        Some(self.write_rules(ws))
    }

    fn io(&self) -> Io {
        self.compiled.io.clone()
    }

    fn new_workspace(&self, _max_batch: usize) -> InterpWorkspace<T> {
        InterpWorkspace {
            out: Mat::zeros(0, 0),
            rng: Rng::new(batch::NOISE_SEED),
            rules: Vec::new(),
        }
    }

    fn new_grads(&self) -> Self {
        InterpModel {
            compiled: self.compiled.clone(),
            params: self.params.zeros_like(),
            running: self.running.clone(),
        }
    }

    fn batch_loss(
        &self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        ws: &mut InterpWorkspace<T>,
    ) -> Result<T, StepError> {
        let inputs = self.inputs(x, y, &mut ws.rng, true)?;
        let g = &self.compiled.forward;
        let v = self.run(g, &inputs, true)?;
        Ok(self.loss_value(g, &v))
    }

    fn batch_loss_and_grad(
        &self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        grads: &mut Self,
        ws: &mut InterpWorkspace<T>,
    ) -> Result<T, StepError> {
        self.batch_loss_and_grad_of(0, x, y, grads, ws)
    }

    fn objectives(&self) -> Vec<Objective> {
        let losses = &self.compiled.losses;
        losses
            .iter()
            .map(|l| Objective {
                name: l.name.clone(),
                trains: l.trains.clone(),
                steps: 1,
            })
            .collect()
    }

    fn batch_loss_and_grad_of(
        &self,
        which: usize,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        grads: &mut Self,
        ws: &mut InterpWorkspace<T>,
    ) -> Result<T, StepError> {
        let inputs = self.inputs(x, y, &mut ws.rng, false)?;
        let l = &self.compiled.losses[which];
        let v = self.run(&l.train, &inputs, false)?;
        for (k, out) in l.grad_outputs.iter().enumerate() {
            match out {
                Some(id) => grads.params.mats[k].copy_from(&v[*id]),
                None => grads.params.mats[k].fill(T::ZERO),
            }
        }
        interp::batch_stats(&l.train, &v, &mut grads.running.mats)
            .map_err(|e| StepError::Eval(e.to_string()))?;
        // The spec's own rules: their new values, computed by this run, for `rule_step`.
        ws.rules.clear();
        for u in self
            .compiled
            .forward
            .updates
            .iter()
            .filter(|u| u.index.is_empty())
        {
            let id = l.train.output(&u.output).ok_or_else(|| {
                StepError::Eval(format!("no output `{}` in the training graph", u.output))
            })?;
            ws.rules.push((u.param as usize, v[id].clone()));
        }
        Ok(v.scalar(&l.name).unwrap_or(T::ZERO))
    }

    fn seed_noise(&self, ws: &mut InterpWorkspace<T>, seed: u64) {
        ws.rng = Rng::new(seed);
    }

    fn update_running(&mut self, batch: &Self) {
        interp::fold_running(&mut self.running.mats, &batch.running.mats);
    }

    fn predict<'w>(
        &self,
        x: MatRef<'_, T>,
        ws: &'w mut InterpWorkspace<T>,
    ) -> Result<MatRef<'w, T>, StepError> {
        let c = &self.compiled;
        let v = self.evaluation_run(x, ws)?;
        let f = c.function.ok_or_else(|| {
            StepError::Eval(format!(
                "`{}` has no single model function f[x, φ] to predict with",
                c.io.model
            ))
        })?;
        ws.out = v[f].clone();
        Ok(ws.out.as_ref())
    }

    fn locate_non_finite(
        &self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        ws: &mut InterpWorkspace<T>,
    ) -> Result<Option<String>, StepError> {
        let inputs = self.inputs(x, y, &mut ws.rng, false)?;
        let c = &self.compiled;
        let g = &c.forward;
        let v = self.run(g, &inputs, false)?;
        Ok(first_non_finite(g, &v, &c.source, &c.file))
    }
}
