//! The training loop: epochs of shuffled mini-batches, validation, early stopping, and a stop
//! with a name when a NaN or infinity appears.
//!
//! It works on anything that implements [`Supervised`]: every model `model!` generates with
//! a data `input` and a loss (several inputs, a target of labels, values or a label per
//! token, or none; noise; several losses), and the interpreter's models in the facade crate. One step is the model's `loss_and_grad` on a batch followed by
//! [`Optimizer::step`]; after the workspace and the optimiser state exist, a step does not
//! touch the heap.
//!
//! The loss a spec writes is a sum over the batch (`∑_i`), so the learning rate applies to
//! that sum, as in eq. 6.9; the loss *reported* (progress bar, history) is per example, so
//! numbers from different batch sizes compare. There is no mean mode: for SGD, momentum and
//! Nesterov, the mean's update at rate `α` is the sum's at rate `α / B`, and the adaptive
//! methods divide by the gradient's own scale (up to their `ε`).
//!
//! Early stopping follows the usual pseudo-code: after each epoch the validation loss `V_c`
//! is compared with the best `V` so far; on improvement the parameters are kept as `θ*` and
//! the counter reset, otherwise the counter grows, and at `patience` training stops and the
//! model is set back to `θ*`.
//!
//! A model of several losses over different groups (a GAN, eq. 15.5; a WGAN critic and its
//! generator, eq. 15.16) is a game, not a minimisation: its first loss falls as the other
//! player gets worse, so the lowest validation value of the first loss picks the epoch
//! where the generator was weakest, and the epoch's mixed training loss neither falls nor
//! diverges in the usual sense. Such a model keeps its last parameters (no best epoch, no
//! early stopping), and only a NaN or an infinity stops it.

use crate::data::{BatchTargets, Batches, Dataset, InputShape, TargetKind, Targets, TargetsRef};
use crate::optim::Optimizer;
use crate::params::{Params, all_finite};
use crate::{Rng, Scalar, StepError};
use faer::{Mat, MatRef};
use std::fmt;
use std::time::Instant;

/// What a supervised model reads and writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Io {
    /// The model's name in its spec.
    pub model: String,
    /// The name of the loss it trains (`L`), for naming gradients in messages.
    pub loss: String,
    /// The input's name in the spec (`x`, `X`).
    pub input: String,
    /// Rows of the input `x` (its dimension `D_i`), or of `X ∈ ℝ^{D×N}` (its `D`).
    pub inputs: usize,
    /// Columns of the input per example: 1 for a vector `x`, `N` for a matrix
    /// `X ∈ ℝ^{D×N}`. A data set holds `inputs · input_cols` numbers per example (`X` column
    /// by column, [`Io::features`]); the model's methods take a batch as `D × (N·B)`, example
    /// `b`'s `N` columns side by side ([`Dataset::gather`] lays it out so).
    pub input_cols: usize,
    /// Rows of the model function's output `f[x, φ]`.
    pub outputs: usize,
    /// What the target holds: class labels (with their first value and count) or values;
    /// values of no rows (`count: 0`) for a model with no target, whose data are its input
    /// (an autoencoder, a VAE).
    pub target: TargetKind,
    /// The inputs after the first, in the spec's order (`A ∈ ℝ^{N×N}` after `X`): empty for
    /// a model of one input. A data set holds each example's inputs one after the other in
    /// its column ([`Dataset::inputs`]); a model of several inputs takes a batch as those
    /// columns, `F × B` ([`Io::batch_shape`]), and splits it into its inputs.
    pub more_inputs: Vec<InputShape>,
    /// Whether the target is a label per token: a one-hot matrix `Y ∈ {0, 1}^{K×N}` per
    /// example (`Values { count: K·N }`, column by column), read against the model
    /// function's `K × N` output, whose largest entry in each column is the predicted label.
    /// The accuracy is then per token.
    pub token_labels: bool,
}

impl Io {
    /// The numbers of one example's inputs in a data set: `D` for `x ∈ ℝ^D`, `D·N` for
    /// `X ∈ ℝ^{D×N}`, the sum over the inputs for several.
    pub fn features(&self) -> usize {
        self.input_shapes().iter().map(InputShape::len).sum()
    }

    /// Every input the model reads, the first (`input`) and then `more_inputs`.
    pub fn input_shapes(&self) -> Vec<InputShape> {
        let first = InputShape {
            name: self.input.clone(),
            rows: self.inputs,
            cols: self.input_cols.max(1),
        };
        std::iter::once(first)
            .chain(self.more_inputs.iter().cloned())
            .collect()
    }

    /// The shape of a batch of `batch` examples as the model's methods take it: `D × B` for
    /// a vector input, `D × (N·B)` for `X ∈ ℝ^{D×N}` (example `b`'s `N` columns side by
    /// side), and the examples' columns of all inputs, `F × B`, for a model of several
    /// inputs.
    pub fn batch_shape(&self, batch: usize) -> (usize, usize) {
        if self.more_inputs.is_empty() {
            (self.inputs, batch * self.input_cols.max(1))
        } else {
            (self.features(), batch)
        }
    }

    /// The number of examples in a batch of `cols` columns as [`Io::batch_shape`] lays it out.
    pub fn examples_in(&self, cols: usize) -> usize {
        if self.more_inputs.is_empty() {
            cols / self.input_cols.max(1)
        } else {
            cols
        }
    }
}

/// One loss of a model, the parameters it trains, and how many consecutive batches it takes
/// in each round when a model has several (eq. 15.5: `k` steps of the discriminator's loss
/// `L[φ]` per step of the generator's `L[θ]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// The loss's name in the spec (`L`, `L'`).
    pub name: String,
    /// For each parameter in visiting order, whether this loss trains it.
    pub trains: Vec<bool>,
    /// Consecutive batches of this loss per round (at least 1).
    pub steps: usize,
}

/// A model trained on batches of examples: its data inputs, a target (or none) and its losses.
///
/// Generated models implement it when their spec has a loss, at least one `input`, at most
/// one `target` (class labels from a non-negative first value, values, a vector or a matrix
/// of labels per example, or none: the data are the input), and a model function, if any,
/// that does not read the target — the same models the interpreter's `InterpModel` trains.
/// Both read a batch the same way, through [`crate::batch`]: several inputs come as the
/// examples' columns `F × B` and are split ([`batch::split`](crate::batch::split)), a target
/// matrix per example as its numbers per column; each noise input is drawn per call in the
/// spec's order of the inputs ([`batch::noise`](crate::batch::noise); in evaluation mode,
/// `batch_loss` and `predict`, a dropout mask is its mean `p`) from a generator that starts
/// at [`batch::NOISE_SEED`](crate::batch::NOISE_SEED) and that `seed_noise` seeds, so one
/// seed gives both the same noise. A generated model of several losses steps each with its
/// own `loss_and_grad_…`, one batch per round (`steps: 1`; [`TrainConfig::steps`] sets
/// more for the first). The split inputs and the noise live in the workspace, so a step
/// still does not allocate.
pub trait Supervised<T: Scalar>: Params<T> + Clone {
    /// The buffers of a step, allocated once.
    type Workspace;

    /// What the model reads and writes.
    fn io(&self) -> Io;

    /// Buffers for batches of up to `max_batch` examples, for code generic over models. A
    /// generated model `M` implements it by calling its own `M::workspace(max_batch)`, the
    /// name to use when the type is known.
    fn new_workspace(&self, max_batch: usize) -> Self::Workspace;

    /// A zero parameter set of the same shapes, to receive gradients.
    fn new_grads(&self) -> Self;

    /// The loss over a batch (`x` is `D × B`).
    fn batch_loss(
        &self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        ws: &mut Self::Workspace,
    ) -> Result<T, StepError>;

    /// The loss over a batch, with its gradient written into `grads`.
    fn batch_loss_and_grad(
        &self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        grads: &mut Self,
        ws: &mut Self::Workspace,
    ) -> Result<T, StepError>;

    /// The losses training alternates between, in order. By default the one loss of
    /// [`batch_loss_and_grad`](Self::batch_loss_and_grad), training every parameter.
    fn objectives(&self) -> Vec<Objective> {
        let mut n = 0;
        self.for_each_param(&mut |_, _| n += 1);
        vec![Objective {
            name: self.io().loss,
            trains: vec![true; n],
            steps: 1,
        }]
    }

    /// Loss `k` of [`objectives`](Self::objectives) over a batch, with its gradient with
    /// respect to the parameters it trains written into `grads` (the others' entries are
    /// left as they are, and not read). By default the one loss.
    fn batch_loss_and_grad_of(
        &self,
        k: usize,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        grads: &mut Self,
        ws: &mut Self::Workspace,
    ) -> Result<T, StepError> {
        debug_assert_eq!(k, 0, "a model of one loss");
        self.batch_loss_and_grad(x, y, grads, ws)
    }

    /// The spec's max-norm constraints (`‖w_j‖ ≤ c`, the course notes' MaxNorm): the
    /// projections an optimiser applies after every update when they are in its
    /// [`Config::max_norms`](crate::optim::Config::max_norms): [`fit`] puts them there when
    /// the caller left that empty, as `nnspec train` does. None by default.
    fn max_norms(&self) -> Vec<crate::optim::MaxNorm> {
        Vec::new()
    }

    /// Seeds the generator the noise of the next steps is drawn from (`ε ~ Norm[0, I]`):
    /// `fit` seeds it before every training batch and every evaluation pass from the run's
    /// seed and the position in the run, so a resumed run draws the same noise as one that
    /// never stopped. Nothing for a model without noise.
    fn seed_noise(&self, ws: &mut Self::Workspace, seed: u64) {
        let _ = (ws, seed);
    }

    /// The model's own training step on a batch, for a model whose spec writes it (`←` rules
    /// of whole parameters, the optimisers of eqs. 6.3–6.17): `fit` calls this instead of the
    /// optimiser's step, right after [`batch_loss_and_grad_of`](Self::batch_loss_and_grad_of)
    /// on the same batch, whose run has computed every rule's new value with the loss and its
    /// gradient (`grads` and `ws` hold them): the step writes them, computing nothing again.
    /// `None` (the default): the model has no rules, the optimiser steps.
    fn rule_step(
        &mut self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        grads: &mut Self,
        ws: &mut Self::Workspace,
    ) -> Option<Result<(), StepError>> {
        let _ = (x, y, grads, ws);
        None
    }

    /// After a training step: folds the batch statistics that
    /// [`Supervised::batch_loss_and_grad`] left in `batch` (the gradient set) into the running
    /// statistics, `r ← 0.9 r + 0.1 m`. Nothing for a model without running statistics.
    fn update_running(&mut self, batch: &Self) {
        let _ = batch;
    }

    /// The model function `f[x, φ]` on a batch in evaluation mode (running statistics, not
    /// the batch's): a view into the workspace.
    fn predict<'w>(
        &self,
        x: MatRef<'_, T>,
        ws: &'w mut Self::Workspace,
    ) -> Result<MatRef<'w, T>, StepError>;

    /// Re-runs the loss on a batch whose loss was NaN or infinite, and names the first spec
    /// quantity (in evaluation order) that holds a NaN or an infinity, with its spec line.
    fn locate_non_finite(
        &self,
        x: MatRef<'_, T>,
        y: TargetsRef<'_, T>,
        ws: &mut Self::Workspace,
    ) -> Result<Option<String>, StepError>;
}

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per mini-batch.
    pub batch: usize,
    /// Seed of the batch order (the caller seeds initialisation).
    pub seed: u64,
    /// Stop after this many epochs without a better validation loss, and restore the best
    /// parameters. `None`: train every epoch.
    pub patience: Option<usize>,
    /// Show a progress bar (on a terminal) or one line per epoch (otherwise).
    pub progress: bool,
    /// With several losses, the consecutive batches of the first in each round (`k` steps
    /// of the discriminator's `L[φ]` per step of the generator's `L[θ]`, eq. 15.5), for
    /// generated and interpreted models alike (`nnspec train --steps K`); `None`: the
    /// model's own [`Objective::steps`]. A model of one loss ignores it.
    pub steps: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 20,
            batch: 32,
            seed: 0,
            patience: None,
            progress: false,
            steps: None,
        }
    }
}

/// The loss per example and, for class labels, the accuracy of a model on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// The spec's loss divided by the number of examples.
    pub loss: f64,
    /// The fraction of examples classified correctly (class-label targets only).
    pub accuracy: Option<f64>,
}

/// One epoch of the history.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epoch {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean loss per example over the epoch's batches (as they were trained).
    pub train_loss: f64,
    /// Accuracy on the training set after the epoch.
    pub train_accuracy: Option<f64>,
    /// Validation loss per example after the epoch.
    pub val_loss: Option<f64>,
    /// Validation accuracy after the epoch.
    pub val_accuracy: Option<f64>,
    /// The learning rate used (NaN for alternating least squares, which has none).
    pub lr: f64,
    /// Wall time of the epoch, seconds.
    pub seconds: f64,
}

/// Why training stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// Every epoch ran.
    Completed,
    /// No better validation loss for `patience` epochs; the parameters are those of
    /// `best_epoch`.
    EarlyStopped {
        /// The patience that ran out.
        patience: usize,
    },
    /// A stop was requested ([`interrupt`](crate::interrupt)); the step under way finished.
    Interrupted {
        /// 1-based epoch it stopped in.
        epoch: usize,
        /// Batches of that epoch trained (0: it stopped between epochs).
        batch: usize,
    },
}

/// What training did, epoch by epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct History {
    /// One record per epoch run.
    pub epochs: Vec<Epoch>,
    /// The epoch with the lowest validation loss (with validation data).
    pub best_epoch: Option<usize>,
    /// Why it stopped.
    pub stop: Stop,
    /// For a model of several losses, each loss's mean per example over the batches it
    /// trained, epoch by epoch (the epoch's `train_loss` mixes them); empty for one loss.
    pub per_loss: Vec<LossHistory>,
}

/// One loss of a model of several, epoch by epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct LossHistory {
    /// The loss's name in the spec (`L`, `L'`).
    pub name: String,
    /// Its mean per example in each epoch of [`History::epochs`] (NaN in an epoch where it
    /// trained no batch).
    pub means: Vec<f64>,
}

/// Why training failed. The history up to the failure is kept, and the model holds the last
/// parameters that were finite.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainError {
    /// The epochs that completed.
    pub history: History,
    /// What went wrong.
    pub kind: Box<TrainErrorKind>,
}

/// What went wrong in training.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainErrorKind {
    /// The model refused a batch (shapes, labels).
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch in the epoch.
        batch: usize,
        /// The model's error.
        error: StepError,
    },
    /// A NaN or infinity appeared.
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch in the epoch.
        batch: usize,
        /// The first spec quantity holding it (`h_2 (deep.nn:11)`, `∂L/∂Ω_0`).
        quantity: String,
        /// Updates the optimiser had made when it appeared (0: at the initial parameters,
        /// so no learning rate is to blame).
        updates: usize,
    },
    /// The training loss grew by orders of magnitude over the lowest seen: the run diverged.
    /// The parameters are set back to those at the start of the epoch.
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// The epoch's training loss per example.
        loss: f64,
        /// The lowest training loss per example seen before.
        lowest: f64,
    },
    /// The data do not fit the model (the data set's shape or targets).
    Data(String),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            TrainErrorKind::Step {
                epoch,
                batch,
                error,
            } => write!(f, "epoch {epoch}, batch {batch}: {error}"),
            TrainErrorKind::NonFinite {
                epoch,
                batch,
                quantity,
                updates: 0,
            } => write!(
                f,
                "epoch {epoch}, batch {batch}: a NaN or infinity first appeared in {quantity}, \
                 at the initial parameters, before any update (the learning rate is not the \
                 cause: look at the spec's initialisers, the data, and that quantity's formula)"
            ),
            TrainErrorKind::NonFinite {
                epoch,
                batch,
                quantity,
                updates,
            } => write!(
                f,
                "epoch {epoch}, batch {batch}: a NaN or infinity first appeared in {quantity}, \
                 after {updates} update{}; training stopped with finite parameters \
                 (try a lower learning rate or gradient clipping)",
                if *updates == 1 { "" } else { "s" }
            ),
            TrainErrorKind::Diverged {
                epoch,
                loss,
                lowest,
            } => write!(
                f,
                "epoch {epoch}: training diverged: the training loss per example is {loss:.4e}, \
                 orders of magnitude above the lowest seen ({lowest:.4e}); the parameters are \
                 those at the start of epoch {epoch} (try a lower learning rate or gradient \
                 clipping)"
            ),
            TrainErrorKind::Data(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TrainError {}

/// Checks that a data set fits a model: its feature count and its kind of targets.
pub fn check_data<T: Scalar>(io: &Io, ds: &Dataset<T>, what: &str) -> Result<(), String> {
    check_inputs(io, ds, what)?;
    if ds.x.nrows() != io.features() {
        return Err(feature_count(io, ds.x.nrows(), &format!("the {what} data")));
    }
    match (&io.target, &ds.y) {
        (
            TargetKind::Labels { lo, classes },
            Targets::Labels {
                values,
                lo: dlo,
                classes: dclasses,
            },
        ) => {
            let want = classes.unwrap_or(*dclasses);
            let hi = lo + want;
            if let Some((i, v)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| **v < *lo || **v >= hi)
            {
                return Err(format!(
                    "the {what} data have label {v} (example {}), but `{}` takes labels in {{{lo} … {}}} (the data's labels start at {dlo}, {dclasses} classes)",
                    i + 1,
                    io.model,
                    hi - 1
                ));
            }
            Ok(())
        }
        (TargetKind::Values { count }, Targets::Values(y)) if y.nrows() == *count => Ok(()),
        (TargetKind::Values { count }, Targets::Values(y)) => Err(format!(
            "the {what} data have {} target columns, but `{}` has a target of {count} rows",
            y.nrows(),
            io.model
        )),
        (TargetKind::Labels { .. }, Targets::Values(_)) => Err(format!(
            "`{}` takes class labels, but the {what} data have real-valued targets",
            io.model
        )),
        (TargetKind::Values { .. }, Targets::Labels { .. }) => Err(format!(
            "`{}` takes real-valued targets, but the {what} data have class labels",
            io.model
        )),
    }
}

/// The named inputs of a data set against the model's: the same names, in the same order,
/// of the same shapes.
fn check_inputs<T: Scalar>(io: &Io, ds: &Dataset<T>, what: &str) -> Result<(), String> {
    if ds.inputs.is_empty() {
        return Ok(());
    }
    let want = io.input_shapes();
    let model = &io.model;
    let names = |v: &[InputShape]| {
        v.iter()
            .map(|s| format!("`{}`", s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for s in &want {
        let Some(d) = ds.inputs.iter().find(|d| d.name == s.name) else {
            return Err(format!(
                "the {what} data have no input `{}` (they hold {}), but `{model}` reads {}",
                s.name,
                names(&ds.inputs),
                names(&want)
            ));
        };
        if (d.rows, d.cols) != (s.rows, s.cols) {
            return Err(format!(
                "the {what} data's input `{}` is {} per example, but `{model}` reads {} ∈ {}",
                s.name,
                d.book(),
                s.name,
                s.book()
            ));
        }
    }
    if let Some(d) = ds
        .inputs
        .iter()
        .find(|d| !want.iter().any(|s| s.name == d.name))
    {
        return Err(format!(
            "the {what} data have an input `{}` that `{model}` does not read (it reads {})",
            d.name,
            names(&want)
        ));
    }
    if ds.inputs != want {
        return Err(format!(
            "the {what} data hold the inputs in the order {}, but `{model}` reads {}",
            names(&ds.inputs),
            names(&want)
        ));
    }
    Ok(())
}

/// The message for data of `got` numbers per example where `io` reads another count: `x`'s
/// rows, or `X`'s `D·N` numbers (column by column).
pub fn feature_count(io: &Io, got: usize, data: &str) -> String {
    let (model, x, d, n) = (&io.model, &io.input, io.inputs, io.input_cols);
    if !io.more_inputs.is_empty() {
        let parts: Vec<String> = io
            .input_shapes()
            .iter()
            .map(|s| format!("{} ∈ {}", s.name, s.book()))
            .collect();
        return format!(
            "{data} have {got} numbers per example, but `{model}` reads {}: {} in all (each \
             input column by column, one after the other)",
            parts.join(", "),
            io.features()
        );
    }
    if n <= 1 {
        format!("{data} have {got} features, but `{model}` reads {x} with {d} rows")
    } else {
        format!(
            "{data} have {got} numbers per example, but `{model}` reads {x} ∈ ℝ^{{{d}×{n}}}: \
             {d}·{n} = {} per example (the columns {x}_1 … {x}_{n} in turn)",
            d * n
        )
    }
}

/// How many of the predictions `f` (`outputs × B`) match the labels: the largest output
/// (its row plus the first label), or for a single output and two classes, `f > 0` (a logit,
/// as in eq. 5.18 where `λ = sig[f]`).
pub fn correct<T: Scalar>(f: MatRef<'_, T>, labels: &[usize], lo: usize) -> usize {
    (0..f.ncols())
        .filter(|&j| {
            let predicted = if f.nrows() == 1 {
                usize::from(f[(0, j)] > T::ZERO)
            } else {
                (1..f.nrows()).fold(0, |best, r| if f[(r, j)] > f[(best, j)] { r } else { best })
            };
            predicted + lo == labels[j]
        })
        .count()
}

/// How many tokens the predictions `f` (`K × (N·B)`, example `b`'s tokens side by side) label
/// as the one-hot targets `y` (`K·N × B`, each example's `N` columns one after the other) do —
/// the largest entry of each column against the row of its 1 —, and the number of tokens.
pub fn correct_tokens<T: Scalar>(f: MatRef<'_, T>, y: MatRef<'_, T>) -> (usize, usize) {
    let k = f.nrows();
    if k == 0 || y.ncols() == 0 || f.ncols() % y.ncols() != 0 {
        return (0, 0);
    }
    let n = f.ncols() / y.ncols();
    let argmax =
        |get: &dyn Fn(usize) -> T| (1..k).fold(0, |b, r| if get(r) > get(b) { r } else { b });
    let mut right = 0;
    for j in 0..f.ncols() {
        let (b, t) = (j / n, j % n);
        if t * k + k > y.nrows() {
            return (0, 0);
        }
        if argmax(&|r| f[(r, j)]) == argmax(&|r| y[(t * k + r, b)]) {
            right += 1;
        }
    }
    (right, f.ncols())
}

/// The loss per example and the accuracy of `model` on `ds`, in batches of `batch` (per
/// token for a label per token, [`Io::token_labels`]).
pub fn evaluate<T: Scalar, M: Supervised<T>>(
    model: &M,
    ds: &Dataset<T>,
    batch: usize,
    ws: &mut M::Workspace,
) -> Result<Metrics, StepError> {
    let batch = batch.max(1);
    let io = model.io();
    let (rows, cols) = io.batch_shape(batch);
    let mut x = Mat::zeros(rows, cols);
    if ds.features() != io.features() {
        // Data the model does not read: its own check says so on the first batch.
        x = Mat::zeros(ds.features(), batch);
    }
    let mut y = BatchTargets::for_dataset(ds, batch);
    let mut indices: Vec<usize> = Vec::with_capacity(batch);
    let mut loss = 0.0;
    let labels = match io.target {
        TargetKind::Labels { lo, .. } => Some(lo),
        TargetKind::Values { .. } => None,
    };
    let (mut right, mut tokens) = (0usize, 0usize);
    for start in (0..ds.len()).step_by(batch) {
        indices.clear();
        indices.extend(start..(start + batch).min(ds.len()));
        let (xb, yb) = ds.gather(&indices, &mut x, &mut y);
        loss += model.batch_loss(xb, yb, ws)?.to_f64();
        match (labels, yb) {
            (Some(lo), TargetsRef::Labels(l)) => right += correct(model.predict(xb, ws)?, l, lo),
            (None, TargetsRef::Values(v)) if io.token_labels => {
                let (r, t) = correct_tokens(model.predict(xb, ws)?, v);
                (right, tokens) = (right + r, tokens + t);
            }
            _ => {}
        }
    }
    let n = ds.len().max(1) as f64;
    let accuracy = if io.token_labels {
        Some(right as f64 / tokens.max(1) as f64)
    } else {
        labels.map(|_| right as f64 / n)
    };
    Ok(Metrics {
        loss: loss / n,
        accuracy,
    })
}

/// How many times its lowest a training loss may grow (measured on the larger of the lowest
/// loss and the first batch's, in absolute value) before the run counts as diverged.
pub const DIVERGENCE: f64 = 1e3;

/// The lowest validation loss of a run and the parameters that gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct Best<T> {
    /// 1-based epoch.
    pub epoch: usize,
    /// Its validation loss per example.
    pub val_loss: f64,
    /// The parameters after that epoch, in visiting order.
    pub params: Vec<Mat<T>>,
}

/// Where a run is: everything [`fit_with`] needs, besides the model's parameters and the
/// optimiser's state, to continue it exactly as if it had not stopped (the batch order is
/// replayed from the seed). [`resume`](crate::resume) saves and loads it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunState<T> {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Batches of the next epoch already trained (non-zero after an interruption).
    pub batches_done: usize,
    /// The sum of those batches' losses.
    pub partial_loss: f64,
    /// With several losses, per loss: the sum of those batches' losses and their examples.
    pub partial_per_loss: Vec<(f64, usize)>,
    /// The completed epochs.
    pub history: History,
    /// The lowest validation loss so far, with its parameters.
    pub best: Option<Best<T>>,
    /// Epochs since `best`.
    pub since_best: usize,
    /// The first batch's loss per example, at the initial parameters.
    pub first_loss: Option<f64>,
    /// The lowest training loss per example so far (the first batch's, then epoch means).
    pub lowest_loss: Option<f64>,
}

impl<T: Scalar> Default for RunState<T> {
    fn default() -> Self {
        RunState {
            epochs_done: 0,
            batches_done: 0,
            partial_loss: 0.0,
            partial_per_loss: Vec::new(),
            history: History {
                epochs: Vec::new(),
                best_epoch: None,
                stop: Stop::Completed,
                per_loss: Vec::new(),
            },
            best: None,
            since_best: 0,
            first_loss: None,
            lowest_loss: None,
        }
    }
}

impl<T: Scalar> RunState<T> {
    /// Sets `model` to the best parameters, if a validation loss was measured; returns
    /// whether it did.
    pub fn restore_best<P: Params<T>>(&self, model: &mut P) -> bool {
        match &self.best {
            Some(b) => {
                restore_params(model, &b.params);
                true
            }
            None => false,
        }
    }

    /// Whether an epoch's training loss `loss` is orders of magnitude above the lowest.
    fn diverged(&self, loss: f64) -> Option<f64> {
        let (first, lowest) = (self.first_loss?, self.lowest_loss?);
        let scale = lowest.abs().max(first.abs());
        (scale > 0.0 && loss > lowest + DIVERGENCE * scale).then_some(lowest)
    }

    /// Records a stop requested in `epoch` after its first `batches` batches, whose losses
    /// sum to `partial_loss` (`per_loss`, per loss): where a resumed run continues.
    fn pause(
        &mut self,
        epoch: usize,
        batches: usize,
        partial_loss: f64,
        per_loss: Vec<(f64, usize)>,
    ) {
        self.batches_done = batches;
        self.partial_loss = partial_loss;
        self.partial_per_loss = per_loss;
        self.history.stop = Stop::Interrupted {
            epoch,
            batch: batches,
        };
    }
}

/// Trains `model` on `train` with `opt`, validating on `val` after every epoch, and leaves
/// the model at the parameters with the lowest validation loss (when there is validation
/// data; otherwise at the last ones).
///
/// A stop requested through [`interrupt`](crate::interrupt) ends the run after the step
/// under way, with [`Stop::Interrupted`]; use [`fit_with`] to be able to continue it.
///
/// The model's max-norm constraints ([`Supervised::max_norms`], a spec's `‖w_j‖ ≤ c`) are
/// applied after every update: `opt` takes them when its
/// [`Config::max_norms`](crate::optim::Config::max_norms) is empty (constraints set there
/// replace the model's).
///
/// # Errors
/// A [`TrainError`] when the data do not fit the model, when the model refuses a batch, when
/// a NaN or infinity appears, or when the loss diverges; it carries the history so far. The
/// model keeps finite parameters: those of the failing step, or, when the optimiser's update
/// itself overflowed, those at the start of the epoch; after a divergence, the best ones.
pub fn fit<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    opt: &mut Optimizer<T>,
    train: &Dataset<T>,
    val: Option<&Dataset<T>>,
    cfg: &TrainConfig,
) -> Result<History, TrainError> {
    let mut state = RunState::default();
    let result = fit_with(model, opt, train, val, cfg, &mut state);
    let keep_best = match &result {
        Ok(_) => true,
        Err(e) => matches!(*e.kind, TrainErrorKind::Diverged { .. }),
    };
    if keep_best {
        state.restore_best(model);
    }
    result
}

/// [`fit`] from where `state` says a run is, up to `cfg.epochs` epochs in all, updating
/// `state` as it goes. The model is left at the *last* parameters (so that the run can go on
/// from `model`, `opt` and `state`); `state.best` holds the best ones.
///
/// Continuing a run this way gives bit for bit the parameters of a run that never stopped,
/// for a model whose loss draws no noise of its own.
///
/// # Errors
/// As [`fit`]; after a divergence the model is at the parameters of the start of the epoch.
pub fn fit_with<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    opt: &mut Optimizer<T>,
    train: &Dataset<T>,
    val: Option<&Dataset<T>>,
    cfg: &TrainConfig,
    state: &mut RunState<T>,
) -> Result<History, TrainError> {
    let io = model.io();
    state.history.stop = Stop::Completed;
    let data_error = |state: &RunState<T>, m| fail(&state.history, TrainErrorKind::Data(m));
    check_data(&io, train, "training").map_err(|m| data_error(state, m))?;
    if let Some(v) = val {
        check_data(&io, v, "validation").map_err(|m| data_error(state, m))?;
    }
    if train.is_empty() {
        return Err(data_error(state, "the training set is empty".into()));
    }
    // Alternating least squares solves over the whole training set (`crate::als`).
    let als = opt.config().method == crate::optim::Method::Als;
    if als && model.objectives().len() > 1 {
        return Err(data_error(
            state,
            "alternating least squares trains a model of one loss".into(),
        ));
    }
    // The model's max-norm constraints, unless the caller gave the optimiser its own.
    if opt.config().max_norms.is_empty() {
        opt.set_max_norms(model.max_norms());
    }
    let batch = if als {
        train.len()
    } else {
        cfg.batch.clamp(1, train.len())
    };
    let mut run = Loop {
        ws: model.new_workspace(batch.max(256)),
        grads: model.new_grads(),
        xb: {
            let (rows, cols) = io.batch_shape(batch);
            Mat::zeros(rows, cols)
        },
        yb: BatchTargets::for_dataset(train, batch),
        order: Batches::new(train.len(), batch),
        rng: Rng::new(cfg.seed),
        seed: cfg.seed,
        progress: crate::report::Progress::new(
            cfg.progress,
            cfg.epochs,
            train.len().div_ceil(batch),
        ),
        // The parameters at the start of the epoch, restored if an update makes one
        // non-finite (copied once per epoch, not per step).
        backup: Vec::new(),
        io,
        eval_batch: batch.max(256),
        objectives: with_steps(model.objectives(), cfg.steps),
        others: Vec::new(),
        als,
    };
    // One optimiser per loss: the first is the caller's, the others start from its settings.
    run.others = (1..run.objectives.len())
        .map(|_| Optimizer::new(opt.config().clone()))
        .collect();
    model.for_each_saved(&mut |_, m| run.backup.push(m.to_owned()));
    // The batch orders of the epochs already run: shuffling is all the generator does.
    for _ in 0..state.epochs_done {
        run.order.shuffle(&mut run.rng);
    }
    for epoch in state.epochs_done + 1..=cfg.epochs {
        let start = Instant::now();
        opt.set_epoch(epoch - 1);
        let lr = if run.als { f64::NAN } else { opt.lr() };
        run.order.shuffle(&mut run.rng);
        copy_params(model, &mut run.backup);
        let Some(total) = run.epoch(model, opt, train, epoch, state)? else {
            run.progress.finish();
            return Ok(state.history.clone());
        };
        let stop = run.end_epoch(model, train, val, (epoch, lr, total, start), cfg, state)?;
        if stop {
            break;
        }
        if crate::interrupt::requested() && epoch < cfg.epochs {
            state.history.stop = Stop::Interrupted { epoch, batch: 0 };
            break;
        }
    }
    run.progress.finish();
    Ok(state.history.clone())
}

/// Batch `k` of `epoch` by alternating least squares (`crate::als`), in the optimiser's
/// place: each parameter `trains` marks solved for in turn; the batch's loss.
fn als_batch<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    mut batch: crate::als::Batch<'_, '_, T, M>,
    trains: &[bool],
    (epoch, k): (usize, usize),
    history: &History,
) -> Result<f64, TrainError> {
    crate::als::sweep(model, &mut batch, trains).map_err(|e| match e {
        crate::als::AlsError::Step(error) => fail(
            history,
            TrainErrorKind::Step {
                epoch,
                batch: k + 1,
                error,
            },
        ),
        other => fail(history, TrainErrorKind::Data(other.to_string())),
    })
}

fn fail(history: &History, kind: TrainErrorKind) -> TrainError {
    TrainError {
        history: history.clone(),
        kind: Box::new(kind),
    }
}

/// The buffers and settings of one run of [`fit_with`].
struct Loop<T: Scalar, M: Supervised<T>> {
    ws: M::Workspace,
    grads: M,
    xb: Mat<T>,
    yb: BatchTargets<T>,
    order: Batches,
    rng: Rng,
    /// The run's seed, from which the noise of every batch is seeded.
    seed: u64,
    progress: crate::report::Progress,
    backup: Vec<Mat<T>>,
    io: Io,
    eval_batch: usize,
    /// The losses, alternated batch by batch (one of them for most models).
    objectives: Vec<Objective>,
    /// The optimisers of the losses after the first.
    others: Vec<Optimizer<T>>,
    /// Whether a step is a sweep of alternating least squares (`crate::als`) instead of the
    /// optimiser's update.
    als: bool,
}

impl<T: Scalar, M: Supervised<T>> Loop<T, M> {
    /// The steps of one epoch (from `state.batches_done`): the sum of the batch losses, or
    /// `None` when a stop was requested (with `state` recording where).
    fn epoch(
        &mut self,
        model: &mut M,
        opt: &mut Optimizer<T>,
        train: &Dataset<T>,
        epoch: usize,
        state: &mut RunState<T>,
    ) -> Result<Option<f64>, TrainError> {
        let skip = std::mem::take(&mut state.batches_done);
        let mut total = std::mem::take(&mut state.partial_loss);
        let mut per_loss = std::mem::take(&mut state.partial_per_loss);
        per_loss.resize(self.objectives.len(), (0.0, 0));
        let batches = self.order.len();
        let batch = self.io.examples_in(self.xb.ncols());
        for (k, indices) in self.order.iter().enumerate().skip(skip) {
            model.seed_noise(&mut self.ws, noise_seed(self.seed, epoch, k));
            let (x, y) = train.gather(indices, &mut self.xb, &mut self.yb);
            let at = |kind| fail(&state.history, kind);
            if self.als {
                let batch = crate::als::Batch {
                    x,
                    y,
                    grads: &mut self.grads,
                    ws: &mut self.ws,
                };
                let trains = &self.objectives[0].trains;
                total += als_batch(model, batch, trains, (epoch, k), &state.history)?;
                self.progress.step(epoch, total / train.len() as f64);
                continue;
            }
            let which = which_loss(&self.objectives, k);
            let loss = model
                .batch_loss_and_grad_of(which, x, y, &mut self.grads, &mut self.ws)
                .map_err(|error| {
                    let batch = k + 1;
                    at(TrainErrorKind::Step {
                        epoch,
                        batch,
                        error,
                    })
                })?;
            let bad = if !loss.is_finite() {
                Some(locate(model, x, y, &mut self.ws, &self.io))
            } else {
                self.grads
                    .first_non_finite()
                    .map(|p| format!("`∂{}/∂{p}`, the gradient", self.objectives[which].name))
            };
            let non_finite = |quantity, updates| {
                self.progress.finish();
                let batch = k + 1;
                at(TrainErrorKind::NonFinite {
                    epoch,
                    batch,
                    quantity,
                    updates,
                })
            };
            if let Some(quantity) = bad {
                return Err(non_finite(quantity, opt.steps()));
            }
            if state.first_loss.is_none() {
                let per_example = loss.to_f64() / indices.len() as f64;
                state.first_loss = Some(per_example);
                state.lowest_loss = Some(per_example);
            }
            let ruled = model
                .rule_step(x, y, &mut self.grads, &mut self.ws)
                .transpose()
                .map_err(|error| {
                    at(TrainErrorKind::Step {
                        epoch,
                        batch: k + 1,
                        error,
                    })
                })?;
            // A spec's own rules (`←`) have stepped already; else the optimiser's step.
            if ruled.is_none() {
                optimise(
                    model,
                    opt,
                    &mut self.others,
                    &self.objectives,
                    &self.grads,
                    which,
                );
            }
            model.update_running(&self.grads);
            if let Some(p) = model.first_non_finite() {
                restore_params(model, &self.backup);
                return Err(non_finite(
                    format!(
                        "`{p}` after the optimiser's update (the parameters are set back to \
                         those at the start of epoch {epoch})"
                    ),
                    opt.steps(),
                ));
            }
            total += loss.to_f64();
            per_loss[which].0 += loss.to_f64();
            per_loss[which].1 += indices.len();
            self.progress
                .step(epoch, total / ((k + 1) * batch).min(train.len()) as f64);
            if k + 1 < batches && crate::interrupt::requested() {
                state.pause(epoch, k + 1, total, per_loss);
                return Ok(None);
            }
        }
        self.record_per_loss(&per_loss, &mut state.history);
        Ok(Some(total))
    }

    /// A model of several losses: each loss's mean per example this epoch, in the history.
    fn record_per_loss(&self, per_loss: &[(f64, usize)], history: &mut History) {
        if self.objectives.len() < 2 {
            return;
        }
        if history.per_loss.len() != self.objectives.len() {
            history.per_loss = self
                .objectives
                .iter()
                .map(|o| LossHistory {
                    name: o.name.clone(),
                    means: Vec::new(),
                })
                .collect();
        }
        let epochs = history.epochs.len();
        for (l, &(sum, n)) in history.per_loss.iter_mut().zip(per_loss) {
            l.means.truncate(epochs);
            l.means.resize(epochs, f64::NAN);
            l.means.push(if n > 0 { sum / n as f64 } else { f64::NAN });
        }
    }

    /// After an epoch's steps: its record, the validation, the best parameters, divergence
    /// and early stopping. Returns whether training stops here.
    fn end_epoch(
        &mut self,
        model: &mut M,
        train: &Dataset<T>,
        val: Option<&Dataset<T>>,
        (epoch, lr, total, start): (usize, f64, f64, Instant),
        cfg: &TrainConfig,
        state: &mut RunState<T>,
    ) -> Result<bool, TrainError> {
        // Evaluation draws its own noise, the same however the run got here.
        model.seed_noise(&mut self.ws, noise_seed(self.seed, epoch, usize::MAX));
        let train_accuracy = match self.io.target {
            TargetKind::Labels { .. } => evaluate(model, train, self.eval_batch, &mut self.ws)
                .ok()
                .and_then(|m| m.accuracy),
            TargetKind::Values { .. } if self.io.token_labels => {
                evaluate(model, train, self.eval_batch, &mut self.ws)
                    .ok()
                    .and_then(|m| m.accuracy)
            }
            TargetKind::Values { .. } => None,
        };
        let val_metrics = match val {
            Some(v) => Some(evaluate(model, v, self.eval_batch, &mut self.ws).map_err(
                |error| {
                    fail(
                        &state.history,
                        TrainErrorKind::Step {
                            epoch,
                            batch: 0,
                            error,
                        },
                    )
                },
            )?),
            None => None,
        };
        let record = Epoch {
            epoch,
            train_loss: total / train.len() as f64,
            train_accuracy,
            val_loss: val_metrics.map(|m| m.loss),
            val_accuracy: val_metrics.and_then(|m| m.accuracy),
            lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        self.progress.epoch(&record, cfg.epochs);
        state.history.epochs.push(record);
        state.epochs_done = epoch;
        // A game of several losses has no best epoch and no divergence by the loss's size
        // (module docs): it keeps its last parameters.
        let game = self.objectives.len() > 1;
        if let Some(lowest) = state.diverged(record.train_loss).filter(|_| !game) {
            self.progress.finish();
            restore_params(model, &self.backup);
            let loss = record.train_loss;
            return Err(fail(
                &state.history,
                TrainErrorKind::Diverged {
                    epoch,
                    loss,
                    lowest,
                },
            ));
        }
        if state.lowest_loss.is_none_or(|l| record.train_loss < l) {
            state.lowest_loss = Some(record.train_loss);
        }
        let Some(m) = val_metrics.filter(|_| !game) else {
            return Ok(false);
        };
        if state.best.as_ref().is_none_or(|b| m.loss < b.val_loss) {
            // The best parameters, copied into the same buffers each time after the first.
            let best = state.best.get_or_insert_with(|| Best {
                epoch,
                val_loss: m.loss,
                params: self.backup.clone(),
            });
            best.epoch = epoch;
            best.val_loss = m.loss;
            copy_params(model, &mut best.params);
            state.history.best_epoch = Some(epoch);
            state.since_best = 0;
        } else {
            state.since_best += 1;
        }
        if let Some(p) = cfg.patience
            && state.since_best >= p
        {
            state.history.stop = Stop::EarlyStopped { patience: p };
            return Ok(true);
        }
        Ok(false)
    }
}

/// The seed of the noise of batch `k` of `epoch` (`usize::MAX`: its evaluation) in a run
/// of seed `seed`: a function of the three alone.
/// The optimiser's step for loss `which`: its own optimiser (`opt` for the first, `others`
/// after it), on the parameters it trains.
fn optimise<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    opt: &mut Optimizer<T>,
    others: &mut [Optimizer<T>],
    objectives: &[Objective],
    grads: &M,
    which: usize,
) {
    match which {
        0 if objectives.len() == 1 => {
            opt.step(model, grads);
        }
        0 => {
            opt.step_group(model, grads, Some(&objectives[0].trains));
        }
        w => {
            let trains = Some(&objectives[w].trains[..]);
            others[w - 1].step_group(model, grads, trains);
        }
    }
}

fn noise_seed(seed: u64, epoch: usize, k: usize) -> u64 {
    let z = seed
        ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (k as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    // splitmix64's finaliser: nearby positions give unrelated generators.
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The model's objectives with the first taking `steps` consecutive batches per round when
/// there are several ([`TrainConfig::steps`]).
fn with_steps(mut objectives: Vec<Objective>, steps: Option<usize>) -> Vec<Objective> {
    if let (Some(k), [first, _, ..]) = (steps, objectives.as_mut_slice()) {
        first.steps = k.max(1);
    }
    objectives
}

/// The loss batch `k` of an epoch trains: the losses take their `steps` consecutive
/// batches in turn, round after round.
pub fn which_loss(objectives: &[Objective], k: usize) -> usize {
    let round: usize = objectives.iter().map(|o| o.steps.max(1)).sum();
    let mut at = k % round.max(1);
    for (i, o) in objectives.iter().enumerate() {
        if at < o.steps.max(1) {
            return i;
        }
        at -= o.steps.max(1);
    }
    0
}

/// Copies every parameter and running statistic into `to` (one matrix each, in the order
/// of [`Params::for_each_saved`]).
fn copy_params<T: Scalar, P: Params<T>>(from: &P, to: &mut [Mat<T>]) {
    let mut k = 0;
    from.for_each_saved(&mut |_, m| {
        to[k].copy_from(m);
        k += 1;
    });
}

/// Sets every parameter back from `from` (as filled by [`copy_params`]).
fn restore_params<T: Scalar, P: Params<T>>(to: &mut P, from: &[Mat<T>]) {
    let mut k = 0;
    to.for_each_saved_mut(&mut |_, mut m| {
        m.copy_from(&from[k]);
        k += 1;
    });
}

fn locate<T: Scalar, M: Supervised<T>>(
    model: &M,
    x: MatRef<'_, T>,
    y: TargetsRef<'_, T>,
    ws: &mut M::Workspace,
    io: &Io,
) -> String {
    if let Some(p) = model.first_non_finite() {
        return format!("the parameter `{p}`");
    }
    if !all_finite(x) {
        return format!("the input `{}` (the data hold a NaN or infinity)", io.input);
    }
    match model.locate_non_finite(x, y, ws) {
        Ok(Some(q)) => q,
        _ => format!("the loss `{}`", io.loss),
    }
}
