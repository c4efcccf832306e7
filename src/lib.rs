//! nnspec: neural networks written in the notation of *Understanding Deep Learning* (Prince),
//! checked and compiled to Rust.
//!
//! This facade crate is what users depend on. It re-exports the compiler library ([`dsl`]) and
//! the faer-backed kernels ([`runtime`]), and holds the IR interpreter ([`interp`]), the
//! reference semantics of the IR, which needs both, with the JSON forms of `nnspec eval`
//! ([`json`]) and deterministic random values for gradient checks ([`sample`]). The
//! command-line tool `nnspec` is its binary.

pub mod interp;
pub mod json;
pub mod sample;

pub use nnspec_dsl as dsl;
pub use nnspec_runtime as runtime;
