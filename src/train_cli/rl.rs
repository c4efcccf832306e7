//! `nnspec train` of a reinforcement-learning spec (one with an `env` line, chapter 19): deep
//! Q-learning (`runtime::rl::dqn`) of the spec's model in its built-in environment, no data.
//! The model's inputs are the transition's parts by name (`s`, `s'`, `r`, `d`), its target the
//! action taken; the run writes `model.safetensors` (the parameters and their frozen copies),
//! `returns.csv` and `returns.svg`, the return curve (`env_run.rs`, every environment
//! loop's skeleton).

use super::TrainArgs;
use super::env_run::{Curve, OPTIMISER, Progress, Run, episode_line};
use nnspec::dsl::ir::Graph;
use nnspec::runtime::rl::{self, DqnConfig, DqnRun, Role};
use std::process::ExitCode;

/// Trains `graph`, whose `env` line names its environment: by policy gradients when its
/// model function is a policy `π[s, θ]`, else by deep Q-learning.
pub(super) fn train(args: &TrainArgs, graph: &Graph) -> ExitCode {
    if super::policy::is_policy(graph) {
        return super::policy::train(args, graph);
    }
    train_inner(args, graph).unwrap_or_else(|code| code)
}

fn train_inner(args: &TrainArgs, graph: &Graph) -> Result<ExitCode, ExitCode> {
    let (run, mut world) = Run::start(args, graph)?;
    let own: &[&str] = &["episodes", "solved", "batch", "refresh"];
    run.reads("deep Q-learning", &[OPTIMISER, own])?;
    let (mut model, layout) = run.interp(world.as_ref())?;
    let mut opt = run.optimizer(&model)?;
    if layout.inputs.iter().any(|(r, _)| *r == Role::Return) {
        return Err(super::fail(
            "`G`, the return, is an input of a policy `π[s, θ]`; deep Q-learning reads `r` and `s'`",
        ));
    }
    let dqn = DqnConfig {
        episodes: args.episodes.unwrap_or(600),
        batch: args.batch,
        refresh: args.refresh,
        solved: run.solved(),
        seed: args.seed,
        ..DqnConfig::default()
    };
    if !args.quiet {
        println!(
            "{}: deep Q-learning in {} ({} actions), {} episodes at most, minibatches of {}, \
             φ⁻ ← φ every {} steps{}",
            graph.name,
            run.env,
            layout.actions,
            dqn.episodes,
            dqn.batch,
            dqn.refresh,
            run.solved_clause()
        );
    }
    let mut progress = Progress::new(args.quiet, 10);
    let mut report = |played: &DqnRun, eps: f64| {
        let last = played.solved_at.is_some() || played.interrupted;
        if progress.due(played.returns.len(), last) {
            let eps = format!("ε {eps:.3}  ");
            let line = episode_line(&played.returns, &played.losses, played.steps, &eps);
            println!("{line}");
        }
    };
    let played = rl::dqn(
        &mut model,
        &layout,
        world.as_mut(),
        &mut opt,
        &dqn,
        &mut report,
    )
    .map_err(|e| super::fail(format!("training stopped: {e}")))?;
    let curve = Curve {
        returns: &played.returns,
        losses: &played.losses,
        steps: played.steps,
        solved: dqn.solved,
    };
    let (secs, mean) = (run.seconds(), rl::recent_mean(&played.returns));
    let summary = match played.solved_at {
        Some(e) => format!(
            "solved after {e} episodes ({} steps, {secs:.1} s): mean return of the last 100 {mean:.1}",
            played.steps
        ),
        None => format!(
            "{} episodes ({} steps, {secs:.1} s): mean return of the last 100 {mean:.1}",
            played.returns.len(),
            played.steps
        ),
    };
    run.finish(&model, &curve, Some(summary), played.interrupted)
}
