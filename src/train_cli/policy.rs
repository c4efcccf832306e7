//! `nnspec train` of a policy in an environment (§19.6–19.7): a spec with an `env` line whose
//! model function is `π[s, θ]`, the action probabilities, trained by `runtime::policy::train`
//! — episodes drawn from π, the returns `G` (eq. 19.32, discounted by the spec's `γ`, or 1
//! when it has none), and one optimiser step per loss of the spec (REINFORCE's `L[θ]` with a
//! value baseline's `L'[ω]`, or an actor-critic's). The run writes what deep Q-learning's
//! does: `model.safetensors`, `returns.csv` and `returns.svg`.

use super::rl::{Curve, layout, save, solved_by_default};
use super::{TrainArgs, check_options, fail};
use nnspec::dsl::ir::Graph;
use nnspec::runtime::Rng;
use nnspec::runtime::env;
use nnspec::runtime::optim::{Config, Optimizer};
use nnspec::runtime::policy::{self, PolicyConfig, PolicyRun};
use nnspec::runtime::rl;
use nnspec::training::InterpModel;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

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
    let start = Instant::now();
    let name = graph.env.as_deref().unwrap_or_default();
    let mut world = env::by_name(name).ok_or_else(|| fail(format!("no environment `{name}`")))?;
    let (method, schedule) = check_options(args)?;
    let src = super::super::read_spec(&args.target.file).ok_or(ExitCode::FAILURE)?;
    let file = args.target.file.display().to_string();
    let mut model =
        InterpModel::<f64>::new(graph, &src, &file, &mut Rng::new(args.seed)).map_err(fail)?;
    let layout = layout(&model, world.as_ref()).map_err(fail)?;
    let mut config = Config::new(method, args.lr);
    config.weight_decay = args.weight_decay;
    config.schedule = schedule;
    config.clip_norm = args.clip;
    let mut opt = Optimizer::new(config);
    let pg = PolicyConfig {
        episodes: args.episodes.unwrap_or(3000),
        episodes_per_step: args.rollouts,
        passes: args.passes,
        gamma: discount(args, graph).map_err(fail)?,
        solved: args.solved.or_else(|| solved_by_default(name)),
        seed: args.seed,
    };
    if !args.quiet {
        let losses: Vec<&str> = graph.losses.iter().map(|l| l.name.as_str()).collect();
        println!(
            "{}: policy gradients in {name} ({} actions), {} episodes at most, {} per step of {}, \
             returns discounted by γ = {}{}",
            graph.name,
            layout.actions,
            pg.episodes,
            pg.episodes_per_step,
            losses.join(" and "),
            pg.gamma,
            pg.solved.map_or(String::new(), |s| format!(
                ", solved at a mean return ≥ {s}"
            ))
        );
    }
    if let Err(e) = nnspec::runtime::interrupt::on_signals() {
        eprintln!("warning: {e}; Ctrl-C will stop without saving");
    }
    let quiet = args.quiet;
    let mut shown = 0;
    let mut report = |run: &PolicyRun| {
        let k = run.returns.len();
        if !quiet && (k / 50 > shown || run.solved_at.is_some() || run.interrupted) {
            shown = k / 50;
            println!(
                "{}",
                super::rl::episode_line(&run.returns, &run.losses, run.steps, "")
            );
        }
    };
    let run = policy::train(
        &mut model,
        &layout,
        world.as_mut(),
        &mut opt,
        &pg,
        &mut report,
    )
    .map_err(|e| fail(format!("training stopped: {e}")))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&graph.name));
    let curve = Curve {
        returns: &run.returns,
        losses: &run.losses,
        steps: run.steps,
    };
    save(args, graph, &model, &curve, &out, name, pg.solved).map_err(fail)?;
    if !args.quiet {
        let secs = start.elapsed().as_secs_f64();
        let mean = rl::recent_mean(&run.returns);
        match run.solved_at {
            Some(e) => println!(
                "solved after {e} episodes ({} steps, {} updates, {secs:.1} s): mean return of episodes {}–{e} {:.1}",
                run.steps,
                run.rounds,
                e.saturating_sub(99),
                rl::recent_mean(&run.returns[..e])
            ),
            None => println!(
                "{} episodes ({} steps, {} updates, {secs:.1} s): mean return of the last 100 {mean:.1}",
                run.returns.len(),
                run.steps,
                run.rounds
            ),
        }
        println!("wrote {}", out.display());
    }
    Ok(if run.interrupted {
        ExitCode::from(super::INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}
