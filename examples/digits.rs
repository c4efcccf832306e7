//! The README's first command: train the book's deep network (eq. 4.15, loss 5.24), compiled
//! by `model!` from `specs/deep.nn` with one hidden layer of 64 ReLU units, on the digits set
//! embedded in nnspec, and report its test accuracy.
//!
//! ```text
//! cargo run --release --example digits [-- --epochs 40 --seed 1 --out out/digits --require 0.97]
//! ```
//!
//! Writes `model.safetensors`, `history.csv` and `loss.svg` into the output directory.

mod common;

// 64 inputs → 64 ReLU units → 10 classes, softmax cross-entropy.
nnspec::model!(DeepNet[K = 1] from "../specs/deep.nn");

fn main() {
    let example = common::Example {
        model: "DeepNet",
        metadata: &[("spec", "specs/deep.nn"), ("overrides", "K=1")],
        network: "64 → 64 → 10 ReLU network from specs/deep.nn",
        epochs: 30,
        out: "out/digits",
        lr: 1e-3,
        patience: 8,
    };
    common::exit_on_error(|| {
        common::train(&example, DeepNet::<f32>::init, DeepNet::<f32>::workspace)
    });
}
