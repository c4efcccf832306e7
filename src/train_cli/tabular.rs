//! `nnspec train` of a spec with update rules (`q[s_t, a_t] ← …`, eqs. 19.11–19.15): the
//! rules applied by `runtime::tabular` in the spec's environment, no data and no optimiser. A
//! model whose only input is the state `s` is swept (dynamic programming: every state each
//! step, until nothing moves; with a rule writing a policy `π[s]`, policy iteration, the
//! evaluation swept to its values before each improvement); any other learns from episodes, acting ε-greedily on `q`.
//! The run writes `model.safetensors` (the tables) and, for episodes, `returns.csv` and
//! `returns.svg` (`env_run.rs`, every environment loop's skeleton).

use super::env_run::{Curve, Progress, Run};
use super::{TrainArgs, fail};
use nnspec::dsl::ir::Graph;
use nnspec::runtime::env;
use nnspec::runtime::tabular::{self, EpisodeConfig, EpisodeRun, Rules};
use nnspec::runtime::{Rng, interrupt, rl};
use nnspec::tabular::TabularModel;
use std::process::ExitCode;

/// The exploration rate of the first episode (falling linearly to 0 at the last).
pub const EPSILON: f64 = 0.5;
/// The exploration rate of a bandit, constant through its one game of pulls (ε-greedy with
/// ε = 0.1, Sutton & Barto's testbed).
pub const BANDIT_EPSILON: f64 = 0.1;
/// Sweeps stop once no entry moves by more than this.
pub const TOLERANCE: f64 = 1e-12;
/// The most sweeps.
pub const MAX_SWEEPS: usize = 10_000;

/// Trains `graph`, a model with update rules.
pub(super) fn train(args: &TrainArgs, graph: &Graph) -> ExitCode {
    train_inner(args, graph).unwrap_or_else(|code| code)
}

fn train_inner(args: &TrainArgs, graph: &Graph) -> Result<ExitCode, ExitCode> {
    if graph.updates.iter().all(|u| u.index.is_empty()) {
        return Err(fail(format!(
            "`{}`'s rules write whole parameters (an optimiser as printed, eqs. 6.3–6.17), which \
             train on data, not in an environment: remove the `env` line",
            graph.name
        )));
    }
    if graph.env.is_none() {
        return Err(fail(format!(
            "`{}` has update rules but no environment: add an `env` line ({})",
            graph.name,
            env::NAMES.join(", ")
        )));
    }
    let (run, mut world) = Run::start(args, graph)?;
    fits(graph, world.as_ref()).map_err(fail)?;
    let mut model = TabularModel::new(graph, &mut Rng::new(args.seed)).map_err(fail)?;
    let sweep = graph.inputs.len() == 1 && graph.inputs[0].name == "s";
    if sweep {
        run.reads("update rules swept over every state", &[])?;
    } else {
        run.reads("update rules learning from episodes", &[&["episodes"]])?;
    }
    if !sweep {
        let played = episodes(&run, &mut model, world.as_mut())?;
        let curve = Curve {
            returns: &played.returns,
            losses: &[],
            steps: played.steps,
            solved: None,
        };
        return run.finish(&model.params, &curve, None, played.interrupted);
    }
    let states = world.states().unwrap_or(1);
    let summary = if model.has_policy() {
        policy_iteration(&run, &mut model, states)?
    } else {
        sweeps(&run, &mut model, states)?
    };
    run.finish(
        &model.params,
        &Curve::NONE,
        Some(summary),
        interrupt::requested(),
    )
}

/// Policy iteration of a model whose rules write a policy, over `states` states; the summary.
fn policy_iteration(
    run: &Run<'_>,
    model: &mut TabularModel,
    states: usize,
) -> Result<String, ExitCode> {
    let quiet = run.args.quiet;
    let mut report = |k: usize, sweeps: usize, moved: f64| {
        if !quiet {
            println!(
                "improvement {k:>3}  after {sweeps:>4} evaluation sweeps  {}",
                if moved == 0.0 {
                    "no action changed".to_string()
                } else {
                    "actions changed".to_string()
                }
            );
        }
    };
    let done = tabular::policy_iteration(model, states, TOLERANCE, MAX_SWEEPS, &mut report)
        .map_err(|e| fail(format!("training stopped: {e}")))?;
    Ok(format!(
        "{} improvements, {} evaluation sweeps of {states} states in {}: {}",
        done.improvements,
        done.sweeps,
        run.env,
        if done.stable {
            "the policy is stable"
        } else {
            "stopped before the policy was stable"
        }
    ))
}

/// Sweeps of every state until nothing moves, over `states` states; the summary.
fn sweeps(run: &Run<'_>, model: &mut TabularModel, states: usize) -> Result<String, ExitCode> {
    let quiet = run.args.quiet;
    let mut report = |k: usize, change: f64| {
        if !quiet && (k.is_multiple_of(10) || change <= TOLERANCE) {
            println!("sweep {k:>5}  largest change {change:.3e}");
        }
    };
    let (k, change) = tabular::sweeps(model, states, TOLERANCE, MAX_SWEEPS, &mut report)
        .map_err(|e| fail(format!("training stopped: {e}")))?;
    Ok(format!(
        "{k} sweeps of {states} states in {}: largest change {change:.3e}",
        run.env
    ))
}

/// Episodes acting ε-greedily (or by the model's own choice), one update per step; a
/// bandit's are games ([`games`]).
fn episodes(
    run: &Run<'_>,
    model: &mut TabularModel,
    world: &mut dyn env::Env,
) -> Result<EpisodeRun, ExitCode> {
    let bandit = run.env == "Bandit";
    let config = EpisodeConfig {
        episodes: run.args.episodes.unwrap_or(600),
        epsilon: if bandit { BANDIT_EPSILON } else { EPSILON },
        next_action: model.reads_next_action(),
        seed: run.args.seed,
    };
    let mut progress = Progress::new(run.args.quiet, 50);
    let mut report = |played: &EpisodeRun| {
        let k = played.returns.len();
        // The first episode, and the one a Ctrl-C ended (the last the files hold).
        if progress.due(k, k == 1 || interrupt::requested()) {
            println!(
                "episode {k:>5}  return {:>5.1}  mean(100) {:>6.3}  steps {}",
                played.returns[k - 1],
                rl::recent_mean(&played.returns),
                played.steps
            );
        }
    };
    if bandit {
        games(run.graph, model, world, &config, &mut report)
    } else {
        tabular::episodes(model, world, &config, &mut report)
            .map_err(|e| fail(format!("training stopped: {e}")))
    }
}

/// The label sets of the states and actions against the environment's.
fn fits(graph: &Graph, world: &dyn env::Env) -> Result<(), String> {
    for slot in &graph.inputs {
        let (what, want) = match slot.name.as_str() {
            "s" | "s'" => ("states", world.states().unwrap_or(0)),
            "a" | "a'" => ("actions", world.actions()),
            _ => continue,
        };
        let have = slot.labels.map(|(_, n)| n);
        if have != Some(want) {
            return Err(format!(
                "`{}` must be a label of {want} values: {} has {want} {what}",
                slot.name,
                world.name()
            ));
        }
    }
    Ok(())
}

/// A bandit's episodes are games: each draws new arms, so each starts from fresh tables (the
/// spec's initial values) and keeps ε through its pulls; the model left is the last game's.
fn games(
    graph: &Graph,
    model: &mut TabularModel,
    world: &mut dyn env::Env,
    config: &EpisodeConfig,
    report: &mut dyn FnMut(&EpisodeRun),
) -> Result<EpisodeRun, ExitCode> {
    let mut run = EpisodeRun::default();
    for game in 0..config.episodes {
        let seed = config.seed.wrapping_add(game as u64);
        *model = TabularModel::new(graph, &mut Rng::new(seed)).map_err(fail)?;
        let one = EpisodeConfig {
            episodes: 1,
            seed,
            ..config.clone()
        };
        let played = tabular::episodes(model, world, &one, &mut |_| {})
            .map_err(|e| fail(format!("training stopped: {e}")))?;
        run.returns.extend(played.returns);
        run.steps += played.steps;
        report(&run);
        if played.interrupted {
            run.interrupted = true;
            break;
        }
    }
    Ok(run)
}
