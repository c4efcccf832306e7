//! What the digits examples share: their arguments, training a generated model with Adam on
//! the embedded digits, the test accuracy, the outputs, and `--require`.

use nnspec::runtime::Rng;
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::train::{Supervised, TrainConfig, evaluate, fit};
use nnspec::training::{digits, prepare, write_outputs};
use std::path::PathBuf;
use std::time::Instant;

/// One example: the model and how it is trained.
pub struct Example<'a> {
    /// The model's name, for the plot's title and the checkpoint's metadata.
    pub model: &'a str,
    /// Metadata written into the checkpoint beside `model`.
    pub metadata: &'a [(&'a str, &'a str)],
    /// What the network is, printed with the data set's sizes.
    pub network: &'a str,
    /// The defaults of `--epochs` and `--out`.
    pub epochs: usize,
    pub out: &'a str,
    /// Adam's learning rate and the patience of early stopping, in epochs.
    pub lr: f64,
    pub patience: usize,
}

/// Runs `run`, printing its error and exiting with status 1 if it fails.
pub fn exit_on_error(run: impl FnOnce() -> Result<(), String>) {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Trains the model `init` makes on the digits (`--epochs`, `--seed`, `--out`, `--require`
/// from the command line), reports its test accuracy and writes its outputs.
pub fn train<M: Supervised<f32>>(
    ex: &Example<'_>,
    init: impl FnOnce(&mut Rng) -> M,
    workspace: impl FnOnce(usize) -> M::Workspace,
) -> Result<(), String> {
    let (mut epochs, mut seed, mut out) = (ex.epochs, 1u64, PathBuf::from(ex.out));
    let mut require = 0.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--epochs" => epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => out = PathBuf::from(value()?),
            "--require" => require = value()?.parse().map_err(|e| format!("--require: {e}"))?,
            other => {
                return Err(format!(
                    "unknown argument `{other}` (try --epochs, --seed, --out, --require)"
                ));
            }
        }
    }
    let start = Instant::now();
    let data = prepare(&digits::<f32>(), 0.1, 0.2, seed)?;
    println!(
        "digits: {} training, {} validation, {} test examples; {}",
        data.train.len(),
        data.val.len(),
        data.test.len(),
        ex.network
    );
    let mut model = init(&mut Rng::new(seed));
    let mut opt = Optimizer::new(Config::new(Method::parse("adam")?, ex.lr));
    let cfg = TrainConfig {
        epochs,
        batch: 32,
        seed,
        patience: Some(ex.patience),
        progress: true,
        steps: None,
    };
    let history =
        fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).map_err(|e| e.to_string())?;
    let mut ws = workspace(256);
    let test = evaluate(&model, &data.test, 256, &mut ws).map_err(|e| e.to_string())?;
    let mut metadata = vec![("model", ex.model)];
    metadata.extend_from_slice(ex.metadata);
    let title = format!("{} on digits", ex.model);
    let files = write_outputs(
        &out,
        &model,
        &metadata,
        Some(&data.standardizer),
        &history,
        &title,
    )?;
    println!(
        "test accuracy {:.1}% (loss {:.4}) after {} epochs (best {}), {:.1} s",
        100.0 * test.accuracy.unwrap_or(0.0),
        test.loss,
        history.epochs.len(),
        history
            .best_epoch
            .map_or("-".to_string(), |e| e.to_string()),
        start.elapsed().as_secs_f64()
    );
    println!(
        "wrote {}, {} and {}",
        files.checkpoint.display(),
        files.history.display(),
        files.plot.display()
    );
    let accuracy = test.accuracy.unwrap_or(0.0);
    if accuracy < require {
        return Err(format!(
            "test accuracy {:.1}% is below the required {:.1}%",
            100.0 * accuracy,
            100.0 * require
        ));
    }
    Ok(())
}
