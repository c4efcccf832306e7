//! nnspec: neural networks written in the notation of *Understanding Deep Learning* (Prince),
//! checked and compiled to Rust.
//!
//! This facade crate is what users depend on. [`model!`] compiles a `.nn` spec into a Rust
//! type at build time; [`runtime`] holds the faer-backed kernels that generated code calls and
//! what training needs (optimisers, data sets, the training loop, checkpoints); [`faer`] is
//! re-exported. With the `interp` feature it also holds the compiler library ([`dsl`]), the IR
//! interpreter ([`interp`], the reference semantics of the IR), the JSON forms of
//! `nnspec eval` ([`json`]), deterministic random values for gradient checks ([`sample`]) and
//! [`gradcheck`]; with `cli`, the command-line tool `nnspec` and [`training`].
//!
//! # Quick start
//!
//! A model from a spec, trained for a few steps with Adam, then used to predict (the README's
//! example, kept the same by a test):
//!
//! ```rust
//! use nnspec::faer::Mat;
//! use nnspec::runtime::Rng;
//! use nnspec::runtime::optim::{Config, Method, Optimizer};
//!
//! // Shallow<T>, generated at build time from the spec (here inline; a path such as
//! // "../specs/shallow.nn" is read relative to the file that calls model!).
//! nnspec::model!(r#"
//! model Shallow[D_i = 2, D = 16, D_o = 2] {
//!     input  x : ℝ^{D_i}
//!     target y : {0 … D_o-1}
//!     param  β_0 : ℝ^D,       Ω_0 : ℝ^{D×D_i}
//!     param  β_1 : ℝ^{D_o},   Ω_1 : ℝ^{D_o×D}
//!     h = ReLU[β_0 + Ω_0 x]
//!     f[x, φ] = β_1 + Ω_1 h
//!     loss L[φ] = -∑_i log[softmax_{y_i}[f[x_i, φ]]]
//! }
//! "#);
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Four examples, one per column (a batch is D × B), and their classes: XOR.
//!     let x = Mat::from_fn(2, 4, |i, j| [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]][j][i]);
//!     let labels = [0, 1, 1, 0];
//!
//!     let mut net = Shallow::<f64>::init(&mut Rng::new(7)); // as the spec declares, else He
//!     let mut grads = net.zeros_like();
//!     let mut ws = Shallow::<f64>::workspace(4); // every buffer for batches of up to 4
//!     let mut opt = Optimizer::new(Config::new(Method::parse("adam")?, 0.05));
//!     for _ in 0..300 {
//!         // L over the batch (a sum over i), its gradient into `grads`; no allocation.
//!         let loss = net.loss_and_grad(x.as_ref(), &labels, &mut grads, &mut ws)?;
//!         assert!(loss.is_finite());
//!         opt.step(&mut net, &grads); // φ ← φ − α …, for every parameter
//!     }
//!
//!     let f = net.forward(x.as_ref(), &mut ws)?; // f[x, φ], D_o × B: a view into `ws`
//!     let class = |j: usize| if f[(1, j)] > f[(0, j)] { 1 } else { 0 };
//!     assert_eq!((0..4).map(class).collect::<Vec<_>>(), labels);
//!     Ok(())
//! }
//! ```
//!
//! # What `model!` generates
//!
//! `nnspec::model!("../specs/deep.nn")` called from `src/main.rs` reads `specs/deep.nn` of the
//! crate: a path is relative to the directory of the calling file, like `include_str!`'s.
//! `model!(DeepNet[K = 5] from "../specs/deep.nn")` takes one model and overrides its
//! hyper-parameters. A spec error is a compile error at the call, naming `file:line:col`.
//!
//! For each model `M` of the spec, generic over `T` (`f32` or `f64`):
//!
//! - `struct M<T>`, one public `faer::Mat<T>` field per parameter (`omega_0` for `Ω_0`; each
//!   field's documentation gives its spec name and shape). The same type holds gradients.
//! - `M::init(&mut Rng)` (initialised as the spec declares), `M::zeros()`,
//!   `m.zeros_like()` (a gradient buffer).
//! - `M::workspace(max_batch)`: the `MWorkspace<T>` holding every buffer a step needs for
//!   batches of up to `max_batch` examples, allocated once. This is the name to call; the trait
//!   method [`Supervised::new_workspace`](runtime::train::Supervised::new_workspace) exists
//!   for generic code such as [`fit`](runtime::train::fit) and calls it.
//! - `m.loss_and_grad(x, y, &mut grads, &mut ws)`: the loss with the gradient of every
//!   parameter written into `grads` (overwritten, not accumulated); `m.loss(x, y, &mut ws)`:
//!   the loss alone; `m.forward(x, &mut ws)`: the model function `f[x, φ]`, a view into the
//!   workspace. Inputs are `D × B` matrices (one column per example), class labels one index
//!   per example. None of them allocates.
//! - [`Params`](runtime::Params) (and, for every model the interpreter trains — one input
//!   or several, a target of labels, values or a label per token or none, noise, several
//!   losses — [`Supervised`](runtime::train::Supervised), so [`fit`](runtime::train::fit)
//!   trains it; a batch of several inputs is the examples' columns, split as
//!   [`runtime::batch::split`] says, and noise is drawn into the workspace as the
//!   interpreter draws it).
//!
//! `nnspec emit FILE` prints the generated code with these documentation comments.
//!
//! A model is generic over its scalar, and the types say so: `f64` data feed an `f64` model,
//!
//! ```
//! nnspec::model!(r#"model Lin {
//!     input x : ℝ^2
//!     target y : ℝ
//!     param ω : ℝ^{1×2}
//!     f[x, φ] = ω x
//!     loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2
//! }"#);
//!
//! let net = Lin::<f64>::zeros();
//! let mut grads = net.zeros_like();
//! let mut ws = Lin::<f64>::workspace(4);
//! let x = nnspec::faer::Mat::<f64>::zeros(2, 4);
//! let y = nnspec::faer::Mat::<f64>::zeros(1, 4);
//! let _ = net.loss_and_grad(x.as_ref(), y.as_ref(), &mut grads, &mut ws);
//! ```
//!
//! and `f32` data do not (a mismatched-types error at the call, E0308, not a conversion at run
//! time; a test checks that the two examples differ in that one type):
//!
//! ```compile_fail,E0308
//! nnspec::model!(r#"model Lin {
//!     input x : ℝ^2
//!     target y : ℝ
//!     param ω : ℝ^{1×2}
//!     f[x, φ] = ω x
//!     loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2
//! }"#);
//!
//! let net = Lin::<f64>::zeros();
//! let mut grads = net.zeros_like();
//! let mut ws = Lin::<f64>::workspace(4);
//! let x = nnspec::faer::Mat::<f32>::zeros(2, 4);
//! let y = nnspec::faer::Mat::<f64>::zeros(1, 4);
//! let _ = net.loss_and_grad(x.as_ref(), y.as_ref(), &mut grads, &mut ws);
//! ```
//!
//! **The loss is the batch sum.** A spec's loss is what it writes, `∑_i` over the examples of
//! the batch, so its value and gradients grow with the batch size, and the learning rate
//! applies to the sum (as in eq. 6.9). There is no mean mode: the update of the mean with rate
//! `α` is, for SGD, momentum and Nesterov, exactly the update of the sum with rate `α / B`;
//! Adam, AdamW, RMSProp and AdaGrad divide by the gradient's own scale and differ only through
//! `ε`. The loss [`fit`](runtime::train::fit) *reports* is per example.
//!
//! # Optimisers
//!
//! [`Optimizer::step(&mut model, &grads)`](runtime::optim::Optimizer::step) updates every
//! parameter from the gradient of the same name, through the [`Params`](runtime::Params)
//! trait generated types implement; its state is allocated on the first step only.
//! [`Config`](runtime::optim::Config) sets the rule, the rate, weight decay, a schedule and
//! clipping.
//!
//! # Training on a data set
//!
//! [`fit`](runtime::train::fit) runs epochs of shuffled mini-batches, with validation and
//! early stopping. Data in memory become a [`Dataset`](runtime::data::Dataset) through
//! [`Dataset::from_labels`](runtime::data::Dataset::from_labels) or
//! [`Dataset::from_values`](runtime::data::Dataset::from_values); CSV files through
//! [`Dataset::from_csv_path`](runtime::data::Dataset::from_csv_path).
//!
//! ```rust
//! use nnspec::faer::Mat;
//! use nnspec::runtime::Rng;
//! use nnspec::runtime::data::Dataset;
//! use nnspec::runtime::optim::{Config, Method, Optimizer};
//! use nnspec::runtime::train::{TrainConfig, evaluate, fit};
//!
//! nnspec::model!(r#"
//! model Logistic[D_i = 2, D_o = 2] {
//!     input  x : ℝ^{D_i}
//!     target y : {0 … D_o-1}
//!     param  β : ℝ^{D_o},   Ω : ℝ^{D_o×D_i}
//!     f[x, φ] = β + Ω x
//!     loss L[φ] = -∑_i log[softmax_{y_i}[f[x_i, φ]]]
//! }
//! "#);
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // 200 points, one per column; the class is whether x_1 + x_2 > 0.
//! let mut rng = Rng::new(3);
//! let x = Mat::from_fn(2, 200, |_, _| rng.normal(1.0));
//! let labels = (0..200).map(|j| usize::from(x[(0, j)] + x[(1, j)] > 0.0)).collect();
//! let data = Dataset::from_labels(x, labels, 2)?;
//!
//! let mut model = Logistic::<f64>::init(&mut Rng::new(1));
//! let mut opt = Optimizer::new(Config::new(Method::Sgd, 0.01));
//! let cfg = TrainConfig { epochs: 20, batch: 10, ..TrainConfig::default() };
//! let history = fit(&mut model, &mut opt, &data, None, &cfg)?;
//! assert_eq!(history.epochs.len(), 20);
//!
//! let mut ws = Logistic::<f64>::workspace(50);
//! let metrics = evaluate(&model, &data, 50, &mut ws)?;
//! assert!(metrics.accuracy.unwrap() > 0.95);
//! # Ok(())
//! # }
//! ```
//!
//! # faer
//!
//! Generated code and the runtime use [`faer`] 0.24, re-exported here as `nnspec::faer`:
//! build inputs with `nnspec::faer::Mat` rather than adding `faer` to your own manifest. (A
//! direct dependency must be the same version, or its `Mat` is a different type.)
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `cli` | yes | the `nnspec` binary and [`training`]; turns on every feature below |
//! | `interp` | via `cli` | [`dsl`], [`interp`], [`json`], [`sample`], [`gradcheck`] |
//! | `plot` | via `cli` | `runtime::report::loss_plot_svg` (plotters) |
//! | `progress` | via `cli` | a progress bar on a terminal during `fit` (indicatif) |
//! | `gzip` | via `cli` | gzip-compressed CSV (flate2) |
//! | `signals` | via `cli` | `runtime::interrupt::on_signals`: Ctrl-C stops training cleanly |
//!
//! A program that only uses `model!`, the kernels, optimisers, data and `fit` can depend on
//! `nnspec = { version = "0.1", default-features = false }` and compiles none of them.

// Generated code names the facade `::nnspec`, also inside this crate's own tests.
extern crate self as nnspec;

#[cfg(feature = "interp")]
pub mod gradcheck;
#[cfg(feature = "interp")]
pub mod interp;
#[cfg(feature = "interp")]
pub mod json;
#[cfg(feature = "interp")]
pub mod sample;
#[cfg(feature = "cli")]
pub mod tabular;
#[cfg(feature = "cli")]
pub mod tasks;
#[cfg(feature = "cli")]
pub mod training;

pub use faer;
#[cfg(feature = "interp")]
pub use nnspec_dsl as dsl;
pub use nnspec_macros::model;
pub use nnspec_runtime as runtime;

/// What code generated by [`model!`] refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use faer;
    pub use nnspec_runtime as runtime;
}

#[cfg(test)]
mod tests {
    /// The first `rust` block of `text`'s lines, fences included.
    fn first_rust_block(lines: &[&str]) -> Vec<String> {
        let start = lines
            .iter()
            .position(|l| *l == "```rust")
            .expect("a rust block");
        let len = lines[start + 1..]
            .iter()
            .position(|l| *l == "```")
            .expect("its end");
        lines[start..start + len + 2]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    /// The README's Rust example is the crate documentation's quick start, which rustdoc
    /// compiles and runs: the same lines, less the lines rustdoc hides (`# …`).
    #[test]
    fn the_readme_example_is_the_quick_start_doctest() {
        let readme = include_str!("../README.md");
        let section = &readme[readme
            .find("## In Rust")
            .expect("the README's Rust section")..];
        let readme_block = first_rust_block(&section.lines().collect::<Vec<_>>());
        let doc: Vec<&str> = include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .filter(|l| *l != "#" && !l.starts_with("# "))
            .collect();
        assert_eq!(readme_block, first_rust_block(&doc));
    }
}
