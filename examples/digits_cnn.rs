//! Train the small convolutional network of `specs/cnn.nn` (eq. 10.6 with channels, 2×2 max
//! pooling of §10.4 per channel, `vec`, loss 5.24), compiled by `model!`, on the digits set
//! embedded in nnspec read as 1×8×8 images, and report its test accuracy.
//!
//! ```text
//! cargo run --release --example digits_cnn [-- --epochs 100 --seed 1 --out out/digits_cnn --require 0.97]
//! ```
//!
//! Writes `model.safetensors`, `history.csv` and `loss.svg` into the output directory.

mod common;

// A 1×8×8 image → 3×3 convolution to 32 channels, ReLU → 2×2 max pooling → 3×3 convolution
// to 64 channels, ReLU → 2×2 max pooling → vec (256) → 10 classes.
nnspec::model!(DigitsCnn[C_1 = 32, C_2 = 64] from "../specs/cnn.nn");

fn main() {
    let example = common::Example {
        model: "DigitsCnn",
        metadata: &[("spec", "specs/cnn.nn")],
        network: "conv 1→32, pool, conv 32→64, pool, 256 → 10, from specs/cnn.nn",
        epochs: 150,
        out: "out/digits_cnn",
        lr: 1e-3,
        patience: 30,
    };
    common::exit_on_error(|| {
        common::train(
            &example,
            DigitsCnn::<f32>::init,
            DigitsCnn::<f32>::workspace,
        )
    });
}
