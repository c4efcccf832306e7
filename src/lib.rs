//! nnspec: neural networks written in the notation of *Understanding Deep Learning* (Prince),
//! checked and compiled to Rust.
//!
//! This facade crate is what users depend on. Today it re-exports the compiler library
//! ([`dsl`]); the command-line tool `nnspec` is its binary.

pub use nnspec_dsl as dsl;
