//! The facade crate's integration tests, in one binary: the command line end to end and
//! the IR interpreter with its per-op gradient table.

mod cli;
mod ops;
