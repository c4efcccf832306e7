//! Train the small convolutional network of `specs/cnn.nn` (eq. 10.6, 2×2 max pooling of
//! §10.4, `vec`, loss 5.24), compiled by `model!`, on the digits set embedded in nnspec read as
//! 8×8 images, and report its test accuracy.
//!
//! ```text
//! cargo run --release --example digits_cnn [-- --epochs 100 --seed 1 --out out/digits_cnn --require 0.97]
//! ```
//!
//! Writes `model.safetensors`, `history.csv` and `loss.svg` into the output directory.

use nnspec::runtime::Rng;
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::train::{TrainConfig, evaluate, fit};
use nnspec::training::{digits, prepare, write_outputs};
use std::path::PathBuf;
use std::time::Instant;

// An 8×8 image → four 3×3 convolutions, ReLU → 2×2 max pooling → vec, stacked → 10 classes.
nnspec::model!(DigitsCnn from "../specs/cnn.nn");

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let (mut epochs, mut seed, mut out) = (100usize, 1u64, PathBuf::from("out/digits_cnn"));
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
        "digits: {} training, {} validation, {} test examples; four feature maps, max pooling, 64 → 10, from specs/cnn.nn",
        data.train.len(),
        data.val.len(),
        data.test.len()
    );
    let mut model = DigitsCnn::<f32>::init(&mut Rng::new(seed));
    let mut opt = Optimizer::new(Config::new(Method::parse("adam")?, 3e-3));
    let cfg = TrainConfig {
        epochs,
        batch: 32,
        seed,
        patience: Some(15),
        progress: true,
    };
    let history =
        fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).map_err(|e| e.to_string())?;
    let mut ws = DigitsCnn::<f32>::workspace(256);
    let test = evaluate(&model, &data.test, 256, &mut ws).map_err(|e| e.to_string())?;
    let files = write_outputs(
        &out,
        &model,
        &[("model", "DigitsCnn"), ("spec", "specs/cnn.nn")],
        Some(&data.standardizer),
        &history,
        "DigitsCnn on digits",
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
