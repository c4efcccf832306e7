//! Runtime support for nnspec: the faer-backed kernels that generated code and the IR
//! interpreter (in the facade crate `nnspec`) call.
//!
//! This crate knows nothing about the compiler (`nnspec-dsl`): it works on faer matrices and
//! plain numbers. Every value is a column-major matrix whose columns are examples (the book's
//! column convention: a batch is `D × B`).
//!
//! Kernels write into **preallocated outputs** (`MatMut`) and never allocate, so a training
//! step can run without touching the heap. A kernel whose output has the wrong dimensions is a
//! bug in the caller and panics (each documents this under *Panics*); label values are data and
//! are checked, returning a [`labels::LabelError`].
//!
//! - [`scalar`] — the [`Scalar`] trait (`f32`, `f64`).
//! - [`ops`] (the crate `nnspec-ops`, re-exported) — every element-wise function's formula
//!   ([`Unary::apply`]), the [`Real`] trait behind [`Scalar`], and [`fastmath`], the
//!   branch-free, vectorisable `exp` (≤ 1 ulp).
//! - [`gemm`](mod@gemm) — matrix products with transposes as views and the threading policy.
//! - [`elementwise`] — kernels mapping the element-wise functions and binary operations over
//!   matrices.
//! - [`tiny`] — products whose constant dimensions are tiny, unrolled at compile time.
//! - [`reduce`] — row and column sums, column-wise softmax and log-sum-exp.
//! - [`layout`] — broadcasting and placing a row.
//! - [`labels`] — class labels stored as numbers: picking `x[y]` and one-hot matrices.
//! - [`init`] — initialisers (He, Glorot, LeCun, normal, uniform, constants).
//! - [`optim`] — optimisers, learning-rate schedules, weight decay and gradient clipping.
//! - [`npy`] — NumPy `.npy` arrays read as data sets (no dependency).
//! - [`batch`] — a batch cut into a model's inputs, and the noise of a step, shared by the
//!   interpreter and generated code.
//! - [`env`](mod@env) — environments for reinforcement learning: the frozen lake, a bandit, CartPole.
//! - [`data`] — CSV data sets, splits, standardisation and `D × B` mini-batches.
//! - [`checkpoint`] — parameters saved as safetensors, atomically, and loaded with checks.
//! - [`files`] — atomic writes, and the removal of temporaries left by killed processes.
//! - [`interrupt`] — a clean stop of training on request (Ctrl-C with the `signals` feature).
//! - [`train`] — the training loop over any [`train::Supervised`] model, resumable.
//! - [`rl`] — deep Q-learning: ε-greedy acting, a replay buffer, frozen copies refreshed.
//! - [`resume`] — a run saved so that it continues bit for bit: parameters, optimiser, epoch.
//! - [`report`] — the progress bar, the history CSV and the loss plot.
//! - `image` (feature `plot`) — generated images (one per column) as a PNG grid.
//! - [`params`] — the parameter-visiting trait optimisers, checkpoints and training use.
//! - [`step`] — the error a generated step returns, and the seeded generator of initialisers.

pub mod als;
pub mod batch;
pub mod checkpoint;
pub mod conv;
pub mod data;
pub mod elementwise;
pub mod env;
pub mod extreme;
pub mod files;
pub mod gemm;
#[cfg(feature = "plot")]
pub mod image;
pub mod init;
pub mod interrupt;
pub mod labels;
pub mod layout;
pub mod npy;
pub mod optim;
pub mod params;
pub mod policy;
pub mod pool;
pub mod reduce;
pub mod report;
pub mod resume;
pub mod rl;
pub mod scalar;
pub mod step;
pub mod tabular;
pub mod tiny;
pub mod train;

pub use elementwise::BinaryFn;
pub use faer;
pub use gemm::{gemm, gemm_par, par_for};
pub use labels::LabelError;
pub use nnspec_ops::{self as ops, F64, Real, Unary, fastmath};
pub use params::{NamedParams, Params};
pub use scalar::Scalar;
pub use step::{Rng, StepError};
