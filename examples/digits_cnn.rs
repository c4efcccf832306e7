//! Train the small convolutional network of `specs/cnn.nn` (eq. 10.6, 2×2 max pooling of
//! §10.4, `vec`, loss 5.24), compiled by `model!`, on the digits set embedded in nnspec read as
//! 8×8 images, and report its test accuracy.
//!
//! ```text
//! cargo run --release --example digits_cnn [-- --epochs 100 --seed 1 --out out/digits_cnn --require 0.97]
//! ```
//!
//! Writes `model.safetensors`, `history.csv` and `loss.svg` into the output directory.

mod common;

// An 8×8 image → four 3×3 convolutions, ReLU → 2×2 max pooling → vec, stacked → 10 classes.
nnspec::model!(DigitsCnn from "../specs/cnn.nn");

fn main() {
    let example = common::Example {
        model: "DigitsCnn",
        metadata: &[("spec", "specs/cnn.nn")],
        network: "four feature maps, max pooling, 64 → 10, from specs/cnn.nn",
        epochs: 100,
        out: "out/digits_cnn",
        lr: 3e-3,
        patience: 15,
    };
    common::exit_on_error(|| {
        common::train(
            &example,
            DigitsCnn::<f32>::init,
            DigitsCnn::<f32>::workspace,
        )
    });
}
