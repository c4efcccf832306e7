//! Train the variational autoencoder of `specs/vae.nn` (eqs. 17.20–17.25: an encoder's mean
//! and log-variance, `z = μ + Σ^{1/2} ε` with `ε ~ Norm[0, I]`, the negative ELBO), compiled
//! by `model!`, on the digits embedded in nnspec (no target: the data are the input); report
//! its validation ELBO per example, and draw digits from the prior: `z ~ Norm[0, I]` through
//! the trained decoder `f[z, φ]` (the generated `Decoder`, with the VAE's instance `φ` of its
//! parameters), set back to the pixels' scale, as one PNG.
//!
//! ```text
//! cargo run --release --example vae_digits [-- --epochs 50 --seed 1 --out out/vae_digits]
//! ```
//!
//! Writes `model.safetensors`, `history.csv`, `loss.svg` and `samples.png` into the output
//! directory.

use nnspec::faer::Mat;
use nnspec::runtime::image::{Grid, grid_png};
use nnspec::runtime::init::{Init, Sample};
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::train::{Supervised, TrainConfig, evaluate, fit};
use nnspec::runtime::{Params, Rng};
use nnspec::training::{digits, prepare, write_outputs};
use std::path::PathBuf;
use std::time::Instant;

// `Decoder` (f[z, φ]) and `VAE`, whose instance `φ` of the decoder is its parameter group φ.
nnspec::model!("../specs/vae.nn");

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let (mut epochs, mut seed, mut out) = (50usize, 1u64, PathBuf::from("out/vae_digits"));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--epochs" => epochs = value()?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => out = PathBuf::from(value()?),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (try --epochs, --seed, --out)"
                ));
            }
        }
    }
    let start = Instant::now();
    // No target: the digits' pixels are the data, standardised with the training split's
    // statistics.
    let mut ds = digits::<f64>();
    ds.y = nnspec::runtime::data::Targets::Values(Mat::zeros(0, ds.len()));
    let data = prepare(&ds, 0.1, 0.2, seed)?;
    println!(
        "digits: {} training, {} validation, {} test examples; the VAE of specs/vae.nn (64 → 128 → z ∈ ℝ^4 → 128 → 64)",
        data.train.len(),
        data.val.len(),
        data.test.len()
    );
    let mut model = VAE::<f64>::init(&mut Rng::new(seed));
    let elbo = |model: &VAE<f64>| -> Result<f64, String> {
        let mut ws = model.new_workspace(256);
        model.seed_noise(&mut ws, seed);
        Ok(-evaluate(model, &data.val, 256, &mut ws)
            .map_err(|e| e.to_string())?
            .loss)
    };
    let before = elbo(&model)?;
    let mut opt = Optimizer::new(Config::new(Method::parse("adam")?, 1e-3));
    let cfg = TrainConfig {
        epochs,
        batch: 32,
        seed,
        patience: None,
        progress: true,
        steps: None,
    };
    let history =
        fit(&mut model, &mut opt, &data.train, Some(&data.val), &cfg).map_err(|e| e.to_string())?;
    let after = elbo(&model)?;
    let trained = start.elapsed().as_secs_f64();
    println!(
        "validation ELBO per example: {before:.2} at the initial parameters, {after:.2} after {} epochs ({trained:.1} s)",
        history.epochs.len()
    );
    let files = write_outputs(
        &out,
        &model,
        &[("model", "VAE"), ("spec", "specs/vae.nn")],
        Some(&data.standardizer),
        &history,
        "VAE on digits (loss: −ELBO)",
    )?;
    let samples = out.join("samples.png");
    let png = sample_grid(&model, &data.standardizer, seed)?;
    nnspec::runtime::files::write_atomic(&samples, &png)
        .map_err(|e| format!("cannot write {}: {e}", samples.display()))?;
    println!(
        "wrote {}, {}, {} and {}",
        files.checkpoint.display(),
        files.history.display(),
        files.plot.display(),
        samples.display()
    );
    Ok(())
}

/// 64 digits from the prior: `z ~ Norm[0, I]` decoded by the generated `Decoder` with the
/// VAE's decoder parameters (named `φ.β_1`, … in the VAE), in pixel units, as a PNG grid.
fn sample_grid(
    model: &VAE<f64>,
    standardizer: &nnspec::runtime::data::Standardizer,
    seed: u64,
) -> Result<Vec<u8>, String> {
    let mut trained = Vec::new();
    model.for_each_param(&mut |n, m| trained.push((n.to_string(), m.to_owned())));
    let mut decoder = Decoder::<f64>::zeros();
    let mut missing = None;
    decoder.for_each_param_mut(&mut |n, mut m| match trained
        .iter()
        .find(|(t, _)| t.ends_with(&format!(".{n}")))
    {
        Some((_, v)) => m.copy_from(v),
        None => missing = Some(n.to_string()),
    });
    if let Some(n) = missing {
        return Err(format!("the VAE has no decoder parameter `{n}`"));
    }
    let count = 64;
    let z = Init::Normal {
        mean: 0.0,
        variance: 1.0,
    }
    .sample::<f64>(4, count, &mut Rng::new(seed ^ 0x5A));
    let mut ws = Decoder::<f64>::workspace(count);
    let x = decoder
        .forward(z.as_ref(), &mut ws)
        .map_err(|e| e.to_string())?;
    // Back to the pixels' scale (0 … 16), shown from 0 (black) to 16 (white).
    let pixels = Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
        x[(i, j)] * standardizer.std[i] + standardizer.mean[i]
    });
    let grid = Grid {
        height: 8,
        width: 8,
        per_row: 8,
        scale: 4,
        lo: 0.0,
        hi: 16.0,
    };
    grid_png(pixels.as_ref(), &grid)
}
