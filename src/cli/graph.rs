//! `nnspec graph FILE -o graph.svg`: the computation graph drawn by `dsl::graph_svg`.

use super::{Target, load};
use nnspec::dsl;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `nnspec graph`.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    target: Target,
    /// The SVG file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Include the backward pass of every loss.
    #[arg(long)]
    grad: bool,
}

pub(crate) fn graph(args: &Args) -> ExitCode {
    let Some(forward) = load(&args.target) else {
        return ExitCode::FAILURE;
    };
    let svg = match dsl::graph_svg::render(&forward, args.grad) {
        Ok(svg) => svg,
        Err(e) => {
            eprintln!("error: internal compiler error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&args.output, svg) {
        eprintln!("error: cannot write {}: {e}", args.output.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
