//! `nnspec train` of a spec with update rules (`q[s_t, a_t] ← …`, eqs. 19.11–19.15): the
//! rules applied by `runtime::tabular` in the spec's environment, no data and no optimiser. A
//! model whose only input is the state `s` is swept (dynamic programming: every state each
//! step, until nothing moves; with a rule writing a policy `π[s]`, policy iteration, the
//! evaluation swept to its values before each improvement); any other learns from episodes, acting ε-greedily on `q`.
//! The run writes `model.safetensors` (the tables) and, for episodes, `returns.csv` and
//! `returns.svg`; for sweeps, `sweeps.csv` (the largest change of each sweep).

use super::{TrainArgs, fail};
use nnspec::dsl::ir::Graph;
use nnspec::runtime::env;
use nnspec::runtime::tabular::{self, EpisodeConfig, EpisodeRun, Rules};
use nnspec::runtime::{Rng, rl};
use nnspec::tabular::TabularModel;
use std::path::{Path, PathBuf};
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
    let name = graph.env.as_deref().unwrap_or_default();
    let mut world = env::by_name(name).ok_or_else(|| {
        fail(format!(
            "`{}` has update rules but no environment: add an `env` line ({})",
            graph.name,
            env::NAMES.join(", ")
        ))
    })?;
    fits(graph, world.as_ref()).map_err(fail)?;
    let mut model = TabularModel::new(graph, &mut Rng::new(args.seed)).map_err(fail)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&graph.name));
    if let Err(e) = nnspec::runtime::interrupt::on_signals() {
        eprintln!("warning: {e}; Ctrl-C will stop without saving");
    }
    let quiet = args.quiet;
    let sweep = graph.inputs.len() == 1 && graph.inputs[0].name == "s";
    let interrupted = if sweep && model.has_policy() {
        let states = world.states().unwrap_or(1);
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
        let run = tabular::policy_iteration(&mut model, states, TOLERANCE, MAX_SWEEPS, &mut report)
            .map_err(|e| fail(format!("training stopped: {e}")))?;
        if !quiet {
            println!(
                "{} improvements, {} evaluation sweeps of {states} states in {name}: {}",
                run.improvements,
                run.sweeps,
                if run.stable {
                    "the policy is stable"
                } else {
                    "stopped before the policy was stable"
                }
            );
        }
        save(args, graph, &model, &out, None).map_err(fail)?;
        !run.stable
    } else if sweep {
        let states = world.states().unwrap_or(1);
        let mut report = |k: usize, change: f64| {
            if !quiet && (k.is_multiple_of(10) || change <= TOLERANCE) {
                println!("sweep {k:>5}  largest change {change:.3e}");
            }
        };
        let (k, change) = tabular::sweeps(&mut model, states, TOLERANCE, MAX_SWEEPS, &mut report)
            .map_err(|e| fail(format!("training stopped: {e}")))?;
        if !quiet {
            println!("{k} sweeps of {states} states in {name}: largest change {change:.3e}");
        }
        save(args, graph, &model, &out, None).map_err(fail)?;
        false
    } else {
        let config = EpisodeConfig {
            episodes: args.episodes.unwrap_or(600),
            epsilon: if name == "Bandit" {
                BANDIT_EPSILON
            } else {
                EPSILON
            },
            next_action: model.reads_next_action(),
            seed: args.seed,
        };
        let mut report = |run: &EpisodeRun| {
            let k = run.returns.len();
            if !quiet && (k.is_multiple_of(50) || k == 1) {
                println!(
                    "episode {k:>5}  return {:>5.1}  mean(100) {:>6.3}  steps {}",
                    run.returns[k - 1],
                    rl::recent_mean(&run.returns),
                    run.steps
                );
            }
        };
        let run = if name == "Bandit" {
            games(graph, &mut model, world.as_mut(), &config, &mut report)?
        } else {
            tabular::episodes(&mut model, world.as_mut(), &config, &mut report)
                .map_err(|e| fail(format!("training stopped: {e}")))?
        };
        save(args, graph, &model, &out, Some(&run)).map_err(fail)?;
        run.interrupted
    };
    if !quiet {
        println!("wrote {}", out.display());
    }
    Ok(if interrupted {
        ExitCode::from(super::INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
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

/// The checkpoint (the tables) and, after episodes, the returns and their plot
/// ([`rl::save`](super::rl::save), every environment loop's).
fn save(
    args: &TrainArgs,
    graph: &Graph,
    model: &TabularModel,
    out: &Path,
    run: Option<&EpisodeRun>,
) -> Result<(), String> {
    let curve = super::rl::Curve {
        returns: run.map_or(&[], |r| &r.returns),
        losses: &[],
        steps: run.map_or(0, |r| r.steps),
    };
    let env = graph.env.clone().unwrap_or_default();
    super::rl::save(args, graph, &model.params, &curve, out, &env, None)
}
