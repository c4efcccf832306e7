//! `nnspec train` of a reinforcement-learning spec (one with an `env` line, chapter 19): deep
//! Q-learning (`runtime::rl::dqn`) of the spec's model in its built-in environment, no data.
//! The model's inputs are the transition's parts by name (`s`, `s'`, `r`, `d`), its target the
//! action taken; the run writes `model.safetensors` (the parameters and their frozen copies),
//! `returns.csv` and `returns.svg`, the return curve.

use super::{TrainArgs, check_options, fail};
use nnspec::dsl::ir::Graph;
use nnspec::runtime::checkpoint;
use nnspec::runtime::data::TargetKind;
use nnspec::runtime::env::{self, Env};
use nnspec::runtime::optim::{Config, Optimizer};
use nnspec::runtime::rl::{self, DqnConfig, DqnRun, Layout, Role};
use nnspec::runtime::train::Supervised;
use nnspec::runtime::{Params, Rng, report};
use nnspec::training::{self, InterpModel};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The progress line of the episode just played, every environment loop's with a loss (deep
/// Q-learning, policy gradients): its return, the mean of the last 100, its loss, `extra`
/// (the exploration rate) and the steps so far.
pub(super) fn episode_line(returns: &[f64], losses: &[f64], steps: usize, extra: &str) -> String {
    let k = returns.len();
    let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
    format!(
        "episode {k:>5}  return {:>7.1}  mean(100) {:>7.1}  loss {:>9.4}  {extra}steps {steps}",
        last(returns),
        rl::recent_mean(returns),
        last(losses)
    )
}

/// The mean return of 100 episodes at which an environment counts as solved, by default.
pub(super) fn solved_by_default(name: &str) -> Option<f64> {
    (name == "CartPole").then_some(195.0)
}

/// Trains `graph`, whose `env` line names its environment: by policy gradients when its
/// model function is a policy `π[s, θ]`, else by deep Q-learning.
pub(super) fn train(args: &TrainArgs, graph: &Graph) -> ExitCode {
    if super::policy::is_policy(graph) {
        return super::policy::train(args, graph);
    }
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
    if layout.inputs.iter().any(|(r, _)| *r == Role::Return) {
        return Err(fail(
            "`G`, the return, is an input of a policy `π[s, θ]`; deep Q-learning reads `r` and `s'`",
        ));
    }
    let mut config = Config::new(method, args.lr);
    config.weight_decay = args.weight_decay;
    config.schedule = schedule;
    config.clip_norm = args.clip;
    let mut opt = Optimizer::new(config);
    let dqn = DqnConfig {
        episodes: args.episodes.unwrap_or(600),
        batch: args.batch,
        refresh: args.refresh,
        solved: args.solved.or_else(|| solved_by_default(name)),
        seed: args.seed,
        ..DqnConfig::default()
    };
    if !args.quiet {
        println!(
            "{}: deep Q-learning in {name} ({} actions), {} episodes at most, minibatches of {}, \
             φ⁻ ← φ every {} steps{}",
            graph.name,
            layout.actions,
            dqn.episodes,
            dqn.batch,
            dqn.refresh,
            dqn.solved.map_or(String::new(), |s| format!(
                ", solved at a mean return ≥ {s}"
            ))
        );
    }
    if let Err(e) = nnspec::runtime::interrupt::on_signals() {
        eprintln!("warning: {e}; Ctrl-C will stop without saving");
    }
    let quiet = args.quiet;
    let mut report = |run: &DqnRun, eps: f64| {
        let k = run.returns.len();
        if !quiet && (k.is_multiple_of(10) || run.solved_at.is_some() || run.interrupted) {
            let eps = format!("ε {eps:.3}  ");
            println!(
                "{}",
                episode_line(&run.returns, &run.losses, run.steps, &eps)
            );
        }
    };
    let run = rl::dqn(
        &mut model,
        &layout,
        world.as_mut(),
        &mut opt,
        &dqn,
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
    save(args, graph, &model, &curve, &out, name, dqn.solved).map_err(fail)?;
    let secs = start.elapsed().as_secs_f64();
    if !args.quiet {
        match run.solved_at {
            Some(e) => println!(
                "solved after {e} episodes ({} steps, {secs:.1} s): mean return of the last 100 {:.1}",
                run.steps,
                rl::recent_mean(&run.returns)
            ),
            None => println!(
                "{} episodes ({} steps, {secs:.1} s): mean return of the last 100 {:.1}",
                run.returns.len(),
                run.steps,
                rl::recent_mean(&run.returns)
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

/// Where each transition's part goes among the model's inputs, checked against `world`.
pub(super) fn layout(model: &InterpModel<f64>, world: &dyn Env) -> Result<Layout, String> {
    let io = model.io();
    let mut inputs = Vec::new();
    for s in io.input_shapes() {
        let role = Role::of(&s.name).ok_or_else(|| {
            format!(
                "`{}`: the inputs of a model in an environment are named by what they hold: \
                 `s` the state, `s'` the next state, `r` the reward, `d` whether `s'` is terminal, \
                 `G` the return from `s` (a policy's)",
                s.name
            )
        })?;
        let rows = s.rows * s.cols;
        let want = match role {
            Role::State | Role::Next => world.observation_size(),
            Role::Reward | Role::Done | Role::Return => 1,
        };
        if rows != want {
            return Err(format!(
                "`{}` has {rows} numbers, but {}'s {} {want}",
                s.name,
                world.name(),
                if want == 1 {
                    "value is".to_string()
                } else {
                    "observation has".to_string()
                }
            ));
        }
        inputs.push((role, rows));
    }
    if !inputs.iter().any(|(r, _)| *r == Role::State) {
        return Err("the model has no state input `s`".into());
    }
    let TargetKind::Labels { lo, classes } = io.target else {
        return Err("the target must be the action taken, a label `a : {1 … A}`".into());
    };
    let actions = classes.unwrap_or(0);
    if actions != world.actions() || io.outputs != actions {
        return Err(format!(
            "{} has {} actions, but the model's actions are {actions} and its function has {} outputs",
            world.name(),
            world.actions(),
            io.outputs
        ));
    }
    Ok(Layout {
        inputs,
        lo: lo as i32,
        actions,
    })
}

/// What a run in an environment did, episode by episode.
pub(super) struct Curve<'a> {
    /// Each episode's return.
    pub returns: &'a [f64],
    /// Each episode's loss.
    pub losses: &'a [f64],
    /// Environment steps taken.
    pub steps: usize,
}

/// The checkpoint (the parameters, frozen copies or tables, by name) and, after episodes,
/// the returns and their plot: `returns.csv` (with a loss column when the run trained a
/// loss, `run.losses` not empty) and `returns.svg`. Every loop in an environment saves here.
#[allow(clippy::too_many_arguments)]
pub(super) fn save<P: Params<f64> + ?Sized>(
    args: &TrainArgs,
    graph: &Graph,
    params: &P,
    run: &Curve<'_>,
    out: &std::path::Path,
    env: &str,
    solved: Option<f64>,
) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let spec = super::super::read_spec(&args.target.file).unwrap_or_default();
    let mut meta = vec![
        ("format", "nnspec".to_string()),
        ("model", graph.name.clone()),
        ("spec", training::spec_path(&args.target.file)),
        ("spec_hash", training::spec_hash(&spec)),
        ("seed", args.seed.to_string()),
        ("env", env.to_string()),
    ];
    if !run.returns.is_empty() {
        meta.push(("episodes", run.returns.len().to_string()));
        meta.push(("steps", run.steps.to_string()));
    }
    let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
    checkpoint::save(&out.join("model.safetensors"), params, &meta).map_err(|e| e.to_string())?;
    if run.returns.is_empty() {
        return Ok(());
    }
    let with_loss = !run.losses.is_empty();
    let mut csv = String::from(if with_loss {
        "episode,return,mean100,loss\n"
    } else {
        "episode,return,mean100\n"
    });
    for (k, r) in run.returns.iter().enumerate() {
        let mean = rl::recent_mean(&run.returns[..=k]);
        match run.losses.get(k).filter(|_| with_loss) {
            Some(l) => csv.push_str(&format!("{},{r},{mean},{l}\n", k + 1)),
            None => csv.push_str(&format!("{},{r},{mean}\n", k + 1)),
        }
    }
    let write = |name: &str, bytes: &[u8]| {
        let p = out.join(name);
        report::write_atomic(&p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    write("returns.csv", csv.as_bytes())?;
    let svg = report::return_plot_svg(run.returns, solved, &graph.name)?;
    write("returns.svg", svg.as_bytes())
}
