//! `nnspec ir FILE`: a model's IR as lowered, with its gradients, or optimised; with
//! `--plan`, its memory plan.

use super::{Target, load};
use nnspec::dsl;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Stage {
    /// The forward graph, lowered from the spec.
    Lowered,
    /// The forward graph and the backward pass of every loss.
    Grad,
    /// Forward and backward, after the optimisation passes.
    Opt,
}

pub(crate) fn ir(target: &Target, stage: Stage, plan: bool) -> ExitCode {
    let Some(graph) = load(target) else {
        return ExitCode::FAILURE;
    };
    let graph = &graph;
    let result = match stage {
        Stage::Lowered => Ok(graph.clone()),
        Stage::Grad => dsl::ad::grad_all(graph),
        Stage::Opt => dsl::training_graph(graph),
    };
    match result {
        Ok(g) => {
            out!("{g}");
            if plan {
                out!("{}", dsl::opt::plan::render(&g, &dsl::opt::plan::plan(&g)));
            }
        }
        Err(e) => {
            eprintln!("error: internal compiler error: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
