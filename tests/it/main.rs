//! The facade crate's integration tests, in one binary: the command line end to end and
//! the IR interpreter with its per-op gradient table, and every spec gradient-checked and
//! run through every optimisation pass.

mod cli;
mod generated;
mod ops;
mod specs;
mod train;
mod ui;
