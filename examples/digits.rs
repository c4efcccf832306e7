//! The README's first command: train the book's deep network (eq. 4.15, loss 5.24), compiled
//! by `model!` from `specs/deep.nn` with one hidden layer of 64 ReLU units, on the digits set
//! embedded in nnspec, and report its test accuracy.
//!
//! ```text
//! cargo run --release --example digits [-- --epochs 40 --seed 1 --out out/digits --require 0.97]
//! ```
//!
//! Writes `model.safetensors`, `history.csv` and `loss.svg` into the output directory.

use nnspec::runtime::Rng;
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::train::{TrainConfig, evaluate, fit};
use nnspec::training::{digits, prepare, write_outputs};
use std::path::PathBuf;
use std::time::Instant;

// 64 inputs → 64 ReLU units → 10 classes, softmax cross-entropy.
nnspec::model!(DeepNet[K = 1] from "../specs/deep.nn");

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let (mut epochs, mut seed, mut out) = (30usize, 1u64, PathBuf::from("out/digits"));
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
        "digits: {} training, {} validation, {} test examples; 64 → 64 → 10 ReLU network from specs/deep.nn",
        data.train.len(),
        data.val.len(),
        data.test.len()
    );
    let mut model = DeepNet::<f32>::init(&mut Rng::new(seed));
    let mut opt = Optimizer::new(Config::new(Method::parse("adam")?, 1e-3));
    let cfg = TrainConfig {
        epochs,
        batch: 32,
        seed,
        patience: Some(8),
        progress: true,
    };
    let history =
        fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).map_err(|e| e.to_string())?;
    let mut ws = DeepNet::<f32>::workspace(256);
    let test = evaluate(&model, &data.test, 256, &mut ws).map_err(|e| e.to_string())?;
    let files = write_outputs(
        &out,
        &model,
        &[
            ("model", "DeepNet"),
            ("spec", "specs/deep.nn"),
            ("overrides", "K=1"),
        ],
        Some(&data.standardizer),
        &history,
        "DeepNet on digits",
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
