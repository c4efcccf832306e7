//! `nnspec train` of a policy in an environment (§19.6–19.7): a spec with an `env` line whose
//! model function is `π[s, θ]`, the action probabilities, trained by `runtime::policy::train`
//! — episodes drawn from π, the returns `G` (eq. 19.32, discounted by the spec's `γ`, or 1
//! when it has none), and one optimiser step per loss of the spec (REINFORCE's `L[θ]` with a
//! value baseline's `L'[ω]`, or an actor-critic's). The run writes what deep Q-learning's
//! does: `model.safetensors`, `returns.csv` and `returns.svg` (`env_run.rs`, every
//! environment loop's skeleton).

use super::env_run::{Curve, OPTIMISER, Progress, Run, episode_line};
use super::{TrainArgs, fail};
use nnspec::dsl::ir::Graph;
use nnspec::runtime::policy::{self, PolicyConfig, PolicyRun};
use nnspec::runtime::rl;
use std::process::ExitCode;

/// Whether `graph`'s model function (its first output that is not a loss) is a policy `π`.
pub(super) fn is_policy(graph: &Graph) -> bool {
    graph
        .outputs
        .iter()
        .find(|(n, _)| !graph.losses.iter().any(|l| l.name == *n))
        .is_some_and(|(n, _)| n == "π")
}

/// The spec's discount `γ` (the hyper-parameter of that name), 1 without one (eq. 19.31).
fn discount(args: &TrainArgs, graph: &Graph) -> Result<f64, String> {
    let src = super::super::read_spec(&args.target.file).ok_or("cannot read the spec")?;
    let opts = crate::cli::options(args.target.overrides.clone());
    let checked = nnspec::dsl::check_source(&src, &opts).map_err(|_| "the spec has errors")?;
    let gamma = checked
        .info
        .models
        .iter()
        .find(|m| m.name == graph.name)
        .and_then(|m| m.hypers.iter().find(|(n, _)| n == "γ"))
        .and_then(|(_, v)| *v)
        .unwrap_or(1.0);
    if !(0.0..=1.0).contains(&gamma) {
        return Err(format!("the discount γ = {gamma} is not within [0, 1]"));
    }
    Ok(gamma)
}

/// Trains the policy `graph`, whose `env` line names its environment.
pub(super) fn train(args: &TrainArgs, graph: &Graph) -> ExitCode {
    train_inner(args, graph).unwrap_or_else(|code| code)
}

fn train_inner(args: &TrainArgs, graph: &Graph) -> Result<ExitCode, ExitCode> {
    let (run, mut world) = Run::start(args, graph)?;
    let own: &[&str] = &["episodes", "solved", "rollouts", "passes"];
    run.reads("policy gradients", &[OPTIMISER, own])?;
    let (mut model, layout) = run.interp(world.as_ref())?;
    let mut opt = run.optimizer(&model)?;
    let pg = PolicyConfig {
        episodes: args.episodes.unwrap_or(3000),
        episodes_per_step: args.rollouts,
        passes: args.passes,
        gamma: discount(args, graph).map_err(fail)?,
        solved: run.solved(),
        seed: args.seed,
    };
    if !args.quiet {
        let losses: Vec<&str> = graph.losses.iter().map(|l| l.name.as_str()).collect();
        println!(
            "{}: policy gradients in {} ({} actions), {} episodes at most, {} per step of {}, \
             returns discounted by γ = {}{}",
            graph.name,
            run.env,
            layout.actions,
            pg.episodes,
            pg.episodes_per_step,
            losses.join(" and "),
            pg.gamma,
            run.solved_clause()
        );
    }
    let mut progress = Progress::new(args.quiet, 50);
    let mut report = |played: &PolicyRun| {
        let last = played.solved_at.is_some() || played.interrupted;
        if progress.due(played.returns.len(), last) {
            let line = episode_line(&played.returns, &played.losses, played.steps, "");
            println!("{line}");
        }
    };
    let played = policy::train(
        &mut model,
        &layout,
        world.as_mut(),
        &mut opt,
        &pg,
        &mut report,
    )
    .map_err(|e| fail(format!("training stopped: {e}")))?;
    let curve = Curve {
        returns: &played.returns,
        losses: &played.losses,
        steps: played.steps,
        solved: pg.solved,
    };
    let secs = run.seconds();
    let summary = match played.solved_at {
        Some(e) => format!(
            "solved after {e} episodes ({} steps, {} updates, {secs:.1} s): mean return of episodes {}–{e} {:.1}",
            played.steps,
            played.rounds,
            e.saturating_sub(99),
            rl::recent_mean(&played.returns[..e])
        ),
        None => format!(
            "{} episodes ({} steps, {} updates, {secs:.1} s): mean return of the last 100 {:.1}",
            played.returns.len(),
            played.steps,
            played.rounds,
            rl::recent_mean(&played.returns)
        ),
    };
    run.finish(&model, &curve, Some(summary), played.interrupted)
}
