//! A run saved so that it can go on: the last parameters, the optimiser's state, the best
//! parameters and where the run stopped ([`RunState`]), in one safetensors file written
//! atomically beside the model's checkpoint.
//!
//! Tensors are named `param.<name>` (the last parameters), `best.<name>` (the parameters with
//! the lowest validation loss) and `opt.<k>` (the optimiser's matrices); the metadata holds
//! the counters and the history, numbers written in Rust's shortest form that reads back to
//! the same `f64`, so a continued run is bit for bit the run that never stopped.

use crate::checkpoint::{self, CheckpointError};
use crate::optim::Optimizer;
use crate::params::NamedParams;
use crate::train::{Best, Epoch, History, LossHistory, RunState, Stop};
use crate::{Params, Scalar};
use faer::Mat;
use std::collections::BTreeMap;
use std::path::Path;

/// The metadata key that marks a run-state file.
const FORMAT: &str = "nnspec-run";

/// Saves `model` (its current, last parameters), `opt`'s state and `state` to `path`, with
/// the caller's `metadata` (which [`load`] returns).
pub fn save<T: Scalar, P: Params<T>>(
    path: &Path,
    model: &P,
    opt: &Optimizer<T>,
    state: &RunState<T>,
    metadata: &[(&str, &str)],
) -> Result<(), CheckpointError> {
    let mut names = Vec::new();
    let mut mats = Vec::new();
    model.for_each_saved(&mut |n, m| {
        names.push(format!("param.{n}"));
        mats.push(m.to_owned());
    });
    let params = names.clone();
    if let Some(b) = &state.best {
        for (n, m) in params.iter().zip(&b.params) {
            names.push(format!("best.{}", &n["param.".len()..]));
            mats.push(m.clone());
        }
    }
    let (steps, opt_state) = opt.state();
    for (k, m) in opt_state.iter().enumerate() {
        names.push(format!("opt.{k}"));
        mats.push(m.clone());
    }
    let nums = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| x.to_string());
    let own: Vec<(&str, String)> = vec![
        ("format", FORMAT.into()),
        ("epochs_done", state.epochs_done.to_string()),
        ("batches_done", state.batches_done.to_string()),
        ("partial_loss", state.partial_loss.to_string()),
        ("since_best", state.since_best.to_string()),
        ("first_loss", nums(state.first_loss)),
        ("lowest_loss", nums(state.lowest_loss)),
        (
            "best_epoch",
            nums(state.best.as_ref().map(|b| b.epoch as f64)),
        ),
        (
            "best_val_loss",
            nums(state.best.as_ref().map(|b| b.val_loss)),
        ),
        ("optimizer_steps", steps.to_string()),
        ("optimizer_matrices", opt_state.len().to_string()),
        ("history", history_text(&state.history)),
        ("per_loss", per_loss_text(&state.history)),
        (
            "partial_per_loss",
            state
                .partial_per_loss
                .iter()
                .map(|(sum, n)| format!("{sum} {n}"))
                .collect::<Vec<_>>()
                .join(";"),
        ),
    ];
    let mut meta: Vec<(&str, &str)> = own.iter().map(|(k, v)| (*k, v.as_str())).collect();
    meta.extend(
        metadata
            .iter()
            .filter(|(k, _)| !own.iter().any(|(o, _)| o == k)),
    );
    checkpoint::save(path, &NamedParams { names, mats }, &meta)
}

/// Loads a run saved by [`save`] into `model` (the last parameters), `opt` and a
/// [`RunState`]; returns the state and the file's metadata. Nothing is changed on error.
pub fn load<T: Scalar, P: Params<T>>(
    path: &Path,
    model: &mut P,
    opt: &mut Optimizer<T>,
) -> Result<(RunState<T>, BTreeMap<String, String>), String> {
    let meta = checkpoint::read_metadata(path).map_err(|e| e.to_string())?;
    let bad = |key: &str| format!("{}: the run state has no valid `{key}`", path.display());
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(format!(
            "{}: not a saved run (written by `nnspec train` beside model.safetensors)",
            path.display()
        ));
    }
    let get = |key: &str| meta.get(key).map(String::as_str).ok_or_else(|| bad(key));
    let count = |key: &str| get(key)?.parse::<usize>().map_err(|_| bad(key));
    let num = |key: &str| -> Result<Option<f64>, String> {
        match get(key)? {
            "-" => Ok(None),
            v => v.parse::<f64>().map(Some).map_err(|_| bad(key)),
        }
    };
    let mut shapes = Vec::new();
    let mut param_names = Vec::new();
    model.for_each_saved(&mut |n, m| {
        param_names.push(n.to_string());
        shapes.push((m.nrows(), m.ncols()));
    });
    // The optimiser keeps state for the trained parameters only.
    let mut opt_shapes = Vec::new();
    model.for_each_param(&mut |_, m| opt_shapes.push((m.nrows(), m.ncols())));
    let best_epoch = num("best_epoch")?;
    let opt_count = count("optimizer_matrices")?;
    let slots = if opt_shapes.is_empty() {
        0
    } else {
        opt_count / opt_shapes.len()
    };
    if slots * opt_shapes.len() != opt_count {
        return Err(bad("optimizer_matrices"));
    }
    let mut names = Vec::new();
    let mut mats = Vec::new();
    for (n, &(r, c)) in param_names.iter().zip(&shapes) {
        names.push(format!("param.{n}"));
        mats.push(Mat::<T>::zeros(r, c));
    }
    if best_epoch.is_some() {
        for (n, &(r, c)) in param_names.iter().zip(&shapes) {
            names.push(format!("best.{n}"));
            mats.push(Mat::<T>::zeros(r, c));
        }
    }
    for k in 0..opt_count {
        let (r, c) = opt_shapes[k / slots.max(1)];
        names.push(format!("opt.{k}"));
        mats.push(Mat::<T>::zeros(r, c));
    }
    let mut all = NamedParams { names, mats };
    checkpoint::load(path, &mut all).map_err(|e| e.to_string())?;
    let mut mats = all.mats.into_iter();
    let last: Vec<Mat<T>> = mats.by_ref().take(shapes.len()).collect();
    let best = match (best_epoch, num("best_val_loss")?) {
        (Some(e), Some(v)) => Some(Best {
            epoch: e as usize,
            val_loss: v,
            params: mats.by_ref().take(shapes.len()).collect(),
        }),
        (None, None) => None,
        _ => return Err(bad("best_val_loss")),
    };
    let mut history = parse_history(get("history")?, best.as_ref().map(|b| b.epoch))
        .ok_or_else(|| bad("history"))?;
    // A run of one loss, or saved before losses were recorded apart, has none.
    let per_loss_meta = meta.get("per_loss").map_or("", String::as_str);
    history.per_loss = parse_per_loss(per_loss_meta).ok_or_else(|| bad("per_loss"))?;
    let partial_meta = meta.get("partial_per_loss").map_or("", String::as_str);
    let partial_per_loss = partial_meta
        .split(';')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (sum, n) = l.split_once(' ')?;
            Some((sum.parse().ok()?, n.parse().ok()?))
        })
        .collect::<Option<Vec<(f64, usize)>>>()
        .ok_or_else(|| bad("partial_per_loss"))?;
    let state = RunState {
        epochs_done: count("epochs_done")?,
        batches_done: count("batches_done")?,
        partial_loss: num("partial_loss")?.ok_or_else(|| bad("partial_loss"))?,
        partial_per_loss,
        history,
        best,
        since_best: count("since_best")?,
        first_loss: num("first_loss")?,
        lowest_loss: num("lowest_loss")?,
    };
    if state.history.epochs.len() != state.epochs_done {
        return Err(bad("history"));
    }
    opt.set_state(model, count("optimizer_steps")?, mats.collect())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut last = last.into_iter();
    model.for_each_saved_mut(&mut |_, mut m| {
        if let Some(v) = last.next() {
            m.copy_from(&v);
        }
    });
    Ok((state, meta))
}

/// The epochs as text: one line per epoch, seven fields, `-` for a missing value.
fn history_text(h: &History) -> String {
    let o = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| x.to_string());
    h.epochs
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {} {} {}",
                e.epoch,
                e.train_loss,
                o(e.train_accuracy),
                o(e.val_loss),
                o(e.val_accuracy),
                e.lr,
                e.seconds
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Each loss of a model of several as `name=m_1 m_2 …`, joined by `;`.
fn per_loss_text(h: &History) -> String {
    h.per_loss
        .iter()
        .map(|l| {
            let means: Vec<String> = l.means.iter().map(f64::to_string).collect();
            format!("{}={}", l.name, means.join(" "))
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn parse_per_loss(text: &str) -> Option<Vec<LossHistory>> {
    text.split(';')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, means) = l.split_once('=')?;
            let means = means
                .split(' ')
                .filter(|m| !m.is_empty())
                .map(|m| m.parse().ok())
                .collect::<Option<Vec<f64>>>()?;
            Some(LossHistory {
                name: name.to_string(),
                means,
            })
        })
        .collect()
}

fn parse_history(text: &str, best_epoch: Option<usize>) -> Option<History> {
    let o = |s: &str| -> Option<Option<f64>> {
        if s == "-" {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    let mut epochs = Vec::new();
    for line in text.split(';').filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(' ').collect();
        let [epoch, train, tacc, val, vacc, lr, secs] = f[..] else {
            return None;
        };
        epochs.push(Epoch {
            epoch: epoch.parse().ok()?,
            train_loss: train.parse().ok()?,
            train_accuracy: o(tacc)?,
            val_loss: o(val)?,
            val_accuracy: o(vacc)?,
            lr: lr.parse().ok()?,
            seconds: secs.parse().ok()?,
        });
    }
    Some(History {
        epochs,
        best_epoch,
        stop: Stop::Completed,
        per_loss: Vec::new(),
    })
}
