//! The training loop: epochs of shuffled mini-batches, validation, early stopping, and a stop
//! with a name when a NaN or infinity appears.
//!
//! It works on anything that implements [`Supervised`]: every model `model!` generates whose
//! loss compares one `input` with one `target`, and the interpreter's models in the facade
//! crate. One step is the model's `loss_and_grad` on a batch followed by
//! [`Optimizer::step`]; after the workspace and the optimiser state exist, a step does not
//! touch the heap.
//!
//! The loss a spec writes is a sum over the batch (`∑_i`), so the learning rate applies to
//! that sum, as in eq. 6.9; the loss *reported* (progress bar, history) is per example, so
//! numbers from different batch sizes compare.
//!
//! Early stopping follows the usual pseudo-code: after each epoch the validation loss `V_c`
//! is compared with the best `V` so far; on improvement the parameters are kept as `θ*` and
//! the counter reset, otherwise the counter grows, and at `patience` training stops and the
//! model is set back to `θ*`.

use crate::data::{BatchTargets, Batches, Dataset, TargetKind, Targets, TargetsRef};
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
    /// Rows of the input `x` (its dimension `D_i`).
    pub inputs: usize,
    /// Rows of the model function's output `f[x, φ]`.
    pub outputs: usize,
    /// What the target holds: class labels (with their first value and count) or values.
    pub target: TargetKind,
}

/// A model trained on pairs `(x, y)`: one data input, one target and a loss.
///
/// Generated models implement it when their spec has exactly one `input`, one `target`, no
/// noise, a loss and a model function; the interpreter's models implement it in the facade.
pub trait Supervised<T: Scalar>: Params<T> + Clone {
    /// The buffers of a step, allocated once.
    type Workspace;

    /// What the model reads and writes.
    fn io(&self) -> Io;

    /// Buffers for batches of up to `max_batch` examples.
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

    /// The model function `f[x, φ]` on a batch: a view into the workspace.
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
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 20,
            batch: 32,
            seed: 0,
            patience: None,
            progress: false,
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
    /// The learning rate used.
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
            } => write!(
                f,
                "epoch {epoch}, batch {batch}: a NaN or infinity first appeared in {quantity}; \
                 training stopped with finite parameters \
                 (try a lower learning rate or gradient clipping)"
            ),
            TrainErrorKind::Data(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TrainError {}

/// Checks that a data set fits a model: its feature count and its kind of targets.
pub fn check_data<T: Scalar>(io: &Io, ds: &Dataset<T>, what: &str) -> Result<(), String> {
    if ds.x.nrows() != io.inputs {
        return Err(format!(
            "the {what} data have {} features, but `{}` reads x with {} rows",
            ds.x.nrows(),
            io.model,
            io.inputs
        ));
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

/// The loss per example and the accuracy of `model` on `ds`, in batches of `batch`.
pub fn evaluate<T: Scalar, M: Supervised<T>>(
    model: &M,
    ds: &Dataset<T>,
    batch: usize,
    ws: &mut M::Workspace,
) -> Result<Metrics, StepError> {
    let batch = batch.max(1);
    let mut x = Mat::zeros(ds.x.nrows(), batch);
    let mut y = BatchTargets::for_dataset(ds, batch);
    let mut indices: Vec<usize> = Vec::with_capacity(batch);
    let (mut loss, mut right) = (0.0, 0usize);
    let labels = match model.io().target {
        TargetKind::Labels { lo, .. } => Some(lo),
        TargetKind::Values { .. } => None,
    };
    for start in (0..ds.len()).step_by(batch) {
        indices.clear();
        indices.extend(start..(start + batch).min(ds.len()));
        let (xb, yb) = ds.gather(&indices, &mut x, &mut y);
        loss += model.batch_loss(xb, yb, ws)?.to_f64();
        if let (Some(lo), TargetsRef::Labels(l)) = (labels, yb) {
            right += correct(model.predict(xb, ws)?, l, lo);
        }
    }
    let n = ds.len().max(1) as f64;
    Ok(Metrics {
        loss: loss / n,
        accuracy: labels.map(|_| right as f64 / n),
    })
}

/// Trains `model` on `train` with `opt`, validating on `val` after every epoch.
///
/// # Errors
/// A [`TrainError`] when the data do not fit the model, when the model refuses a batch, or
/// when a NaN or infinity appears; it carries the history so far, and the model keeps its
/// finite parameters: those of the failing step, or, when the optimiser's update itself
/// overflowed, those at the start of the epoch.
pub fn fit<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    opt: &mut Optimizer<T>,
    train: &Dataset<T>,
    val: Option<&Dataset<T>>,
    cfg: &TrainConfig,
) -> Result<History, TrainError> {
    let io = model.io();
    let mut history = History {
        epochs: Vec::new(),
        best_epoch: None,
        stop: Stop::Completed,
    };
    let fail = |history: &History, kind| TrainError {
        history: history.clone(),
        kind: Box::new(kind),
    };
    check_data(&io, train, "training").map_err(|m| fail(&history, TrainErrorKind::Data(m)))?;
    if let Some(v) = val {
        check_data(&io, v, "validation").map_err(|m| fail(&history, TrainErrorKind::Data(m)))?;
    }
    if train.is_empty() {
        return Err(fail(
            &history,
            TrainErrorKind::Data("the training set is empty".into()),
        ));
    }

    let batch = cfg.batch.clamp(1, train.len());
    let eval_batch = batch.max(256);
    let mut ws = model.new_workspace(eval_batch);
    let mut grads = model.new_grads();
    let mut xb = Mat::zeros(train.x.nrows(), batch);
    let mut yb = BatchTargets::for_dataset(train, batch);
    let mut order = Batches::new(train.len(), batch);
    let mut rng = Rng::new(cfg.seed);
    let progress = crate::report::Progress::new(cfg.progress, cfg.epochs, order.len());
    // The parameters at the start of the epoch, restored if an update makes one non-finite
    // (copied once per epoch, not per step).
    let mut backup: Vec<Mat<T>> = Vec::new();
    model.for_each_param(&mut |_, m| backup.push(m.to_owned()));
    let mut best: Option<(f64, Option<M>)> = None;
    let mut since_best = 0;

    for epoch in 1..=cfg.epochs {
        let start = Instant::now();
        opt.set_epoch(epoch - 1);
        let lr = opt.lr();
        order.shuffle(&mut rng);
        copy_params(model, &mut backup);
        let mut total = 0.0;
        for (k, indices) in order.iter().enumerate() {
            let (x, y) = train.gather(indices, &mut xb, &mut yb);
            let loss = model
                .batch_loss_and_grad(x, y, &mut grads, &mut ws)
                .map_err(|error| {
                    let (epoch, batch) = (epoch, k + 1);
                    fail(
                        &history,
                        TrainErrorKind::Step {
                            epoch,
                            batch,
                            error,
                        },
                    )
                })?;
            let bad = if !loss.is_finite() {
                Some(locate(model, x, y, &mut ws, &io))
            } else {
                grads
                    .first_non_finite()
                    .map(|p| format!("`∂{}/∂{p}`, the gradient", io.loss))
            };
            let non_finite = |quantity| {
                progress.finish();
                let (epoch, batch) = (epoch, k + 1);
                fail(
                    &history,
                    TrainErrorKind::NonFinite {
                        epoch,
                        batch,
                        quantity,
                    },
                )
            };
            if let Some(quantity) = bad {
                return Err(non_finite(quantity));
            }
            opt.step(model, &grads);
            if let Some(p) = model.first_non_finite() {
                restore_params(model, &backup);
                return Err(non_finite(format!(
                    "`{p}` after the optimiser's update (the parameters are set back to those \
                     at the start of epoch {epoch})"
                )));
            }
            total += loss.to_f64();
            progress.step(epoch, total / ((k + 1) * batch).min(train.len()) as f64);
        }
        let train_accuracy = match io.target {
            TargetKind::Labels { .. } => evaluate(model, train, eval_batch, &mut ws)
                .ok()
                .and_then(|m| m.accuracy),
            TargetKind::Values { .. } => None,
        };
        let val_metrics = match val {
            Some(v) => Some(evaluate(model, v, eval_batch, &mut ws).map_err(|error| {
                fail(
                    &history,
                    TrainErrorKind::Step {
                        epoch,
                        batch: 0,
                        error,
                    },
                )
            })?),
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
        progress.epoch(&record, cfg.epochs);
        history.epochs.push(record);

        if let Some(m) = val_metrics {
            let improved = best.as_ref().is_none_or(|(v, _)| m.loss < *v);
            if improved {
                // The parameters are kept only when early stopping may restore them.
                best = Some((m.loss, cfg.patience.map(|_| model.clone())));
                history.best_epoch = Some(epoch);
                since_best = 0;
            } else {
                since_best += 1;
            }
            if let Some(p) = cfg.patience
                && since_best >= p
            {
                history.stop = Stop::EarlyStopped { patience: p };
                break;
            }
        }
    }
    progress.finish();
    if let Some((_, Some(params))) = best {
        *model = params;
    }
    Ok(history)
}

/// Copies every parameter into `to` (one matrix per parameter, in visiting order).
fn copy_params<T: Scalar, P: Params<T>>(from: &P, to: &mut [Mat<T>]) {
    let mut k = 0;
    from.for_each_param(&mut |_, m| {
        to[k].copy_from(m);
        k += 1;
    });
}

/// Sets every parameter back from `from` (as filled by [`copy_params`]).
fn restore_params<T: Scalar, P: Params<T>>(to: &mut P, from: &[Mat<T>]) {
    let mut k = 0;
    to.for_each_param_mut(&mut |_, mut m| {
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
        return "the input `x` (the data hold a NaN or infinity)".into();
    }
    match model.locate_non_finite(x, y, ws) {
        Ok(Some(q)) => q,
        _ => format!("the loss `{}`", io.loss),
    }
}
