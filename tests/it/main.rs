//! The facade crate's integration tests, in one binary: the book-form corpus (each equation's
//! value against an independent computation), the command line end to end and the IR
//! interpreter with its per-op gradient table, and every spec gradient-checked and run through
//! every optimisation pass.

mod book;
mod cli;
mod data;
mod export;
mod generated;
mod generative;
mod lsp;
mod modes;
mod multi;
#[path = "../../dsl/tests/it/mutants.rs"]
mod mutants;
mod npy;
mod ops;
mod per_member;
mod rl;
mod robust;
mod rules;
mod specs;
mod supervised;
mod tabular;
mod tabular_generated;
mod train;
