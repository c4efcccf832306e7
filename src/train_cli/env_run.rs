//! What every `nnspec train` in an environment shares, whatever learns there (deep
//! Q-learning, `rl.rs`; policy gradients, `policy.rs`; update rules, `tabular.rs`): the
//! skeleton around the run's own loop of episodes. [`Run::start`] refuses `--resume`, finds
//! the environment of the `env` line, installs the Ctrl-C handler and decides the output
//! folder; [`Run::optimizer`] and [`Run::interp`] give a loop with a loss its optimiser, the
//! spec's model behind the interpreter and where a transition goes among its inputs
//! ([`layout`]); [`Progress`] says which episodes get a progress line ([`episode_line`]);
//! [`Run::finish`] writes the checkpoint, the returns and their curve, prints the summary and
//! gives the exit status — 130 after a Ctrl-C, the run so far saved.
//!
//! `--resume` is refused rather than half done: a run in an environment continues as the run
//! that never stopped only from its replay buffer, its generators' states and where its
//! exploration schedule stands, besides the parameters, their frozen copies and the
//! optimiser's moments; its checkpoint holds the parameters (and frozen copies, or tables)
//! alone, so a continuation would be another run under the same name.

pub(super) use super::OPTIMISER;
use super::{TrainArgs, catch_signals, check_options, fail, optimizer_config, usage};
use nnspec::dsl::ir::Graph;
use nnspec::runtime::checkpoint;
use nnspec::runtime::data::TargetKind;
use nnspec::runtime::env::{self, Env};
use nnspec::runtime::optim::Optimizer;
use nnspec::runtime::rl::{self, Layout, Role};
use nnspec::runtime::train::Supervised;
use nnspec::runtime::{Params, Rng, report};
use nnspec::training::{self, InterpModel};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// A run in an environment: its options, its model and where it writes.
pub(super) struct Run<'a> {
    /// The command line's options.
    pub args: &'a TrainArgs,
    /// The spec's model.
    pub graph: &'a Graph,
    /// The environment's name (the spec's `env` line).
    pub env: &'a str,
    /// Where the files go: `--out`, else `out/<model>`.
    pub out: PathBuf,
    start: Instant,
}

impl<'a> Run<'a> {
    /// Starts a run of `graph` in the environment its `env` line names, which it returns.
    ///
    /// # Errors
    /// `--resume` (a usage error: see the module's documentation), or an unknown environment.
    pub fn start(
        args: &'a TrainArgs,
        graph: &'a Graph,
    ) -> Result<(Run<'a>, Box<dyn Env>), ExitCode> {
        if let Some(dir) = &args.resume {
            return Err(usage(format!(
                "--resume {}: a run in an environment (`env {}`) cannot be continued: its \
                 checkpoint holds the parameters, not the replay buffer, the generators or the \
                 exploration schedule that continuing it would need; run it again from the start",
                dir.display(),
                graph.env.as_deref().unwrap_or_default()
            )));
        }
        let env = graph.env.as_deref().unwrap_or_default();
        let world = env::by_name(env).ok_or_else(|| fail(format!("no environment `{env}`")))?;
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(&graph.name));
        catch_signals();
        let run = Run {
            args,
            graph,
            env,
            out,
            start: Instant::now(),
        };
        Ok((run, world))
    }

    /// Refuses the options given that this run does not read ([`super::refuse_unread`]);
    /// `what` names the run (`deep Q-learning`), `reads` its own options.
    pub fn reads(&self, what: &str, reads: &[&[&str]]) -> Result<(), ExitCode> {
        super::refuse_unread(self.args, &format!("{what} in {}", self.env), reads)
    }

    /// The optimiser of a loop that trains `model`'s loss, as the options describe it, with
    /// the spec's max-norm constraints applied after every update.
    pub fn optimizer(&self, model: &InterpModel<f64>) -> Result<Optimizer<f64>, ExitCode> {
        let (method, schedule) = check_options(self.args)?;
        let mut config = optimizer_config(self.args, method, schedule);
        config.max_norms = model.max_norms();
        Ok(Optimizer::new(config))
    }

    /// The spec's model behind the interpreter (from `--seed`) and where each part of a
    /// transition goes among its inputs, checked against `world`.
    pub fn interp(&self, world: &dyn Env) -> Result<(InterpModel<f64>, Layout), ExitCode> {
        let file = &self.args.target.file;
        let src = super::super::read_spec(file).ok_or(ExitCode::FAILURE)?;
        let shown = file.display().to_string();
        let model =
            InterpModel::<f64>::new(self.graph, &src, &shown, &mut Rng::new(self.args.seed))
                .map_err(fail)?;
        let layout = layout(&model, world).map_err(fail)?;
        Ok((model, layout))
    }

    /// The mean return at which the run stops: `--solved`, else the environment's default.
    pub fn solved(&self) -> Option<f64> {
        self.args
            .solved
            .or_else(|| (self.env == "CartPole").then_some(195.0))
    }

    /// The end of the announcement of a run that stops when solved.
    pub fn solved_clause(&self) -> String {
        self.solved().map_or(String::new(), |s| {
            format!(", solved at a mean return ≥ {s}")
        })
    }

    /// Seconds since the run started.
    pub fn seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// The end of a run: its files ([`Run::save`], `curve` the episodes played, if any),
    /// `summary` and where the files went (unless `--quiet`), and the exit status: 130 when
    /// `interrupted`, with a word on standard error that the run so far is saved.
    pub fn finish<P: Params<f64> + ?Sized>(
        &self,
        params: &P,
        curve: &Curve<'_>,
        summary: Option<String>,
        interrupted: bool,
    ) -> Result<ExitCode, ExitCode> {
        let files = self.save(params, curve).map_err(fail)?;
        if !self.args.quiet {
            if let Some(s) = summary {
                println!("{s}");
            }
            println!("wrote {}", self.out.display());
        }
        if !interrupted {
            return Ok(ExitCode::SUCCESS);
        }
        let played = match curve.returns.len() {
            0 => String::new(),
            1 => " after 1 episode".to_string(),
            k => format!(" after {k} episodes"),
        };
        eprintln!(
            "interrupted{played}: the run so far is saved in {} ({}); a run in an environment \
             starts again from the beginning",
            self.out.display(),
            files.join(", ")
        );
        Ok(ExitCode::from(super::INTERRUPTED))
    }

    /// The checkpoint (the parameters, frozen copies or tables, by name) and, after episodes,
    /// the returns and their plot: `returns.csv` (with a loss column when the run trained a
    /// loss, `curve.losses` not empty) and `returns.svg`. The names of the files written.
    fn save<P: Params<f64> + ?Sized>(
        &self,
        params: &P,
        curve: &Curve<'_>,
    ) -> Result<Vec<&'static str>, String> {
        let out = &self.out;
        std::fs::create_dir_all(out)
            .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        let spec = super::super::read_spec(&self.args.target.file).unwrap_or_default();
        let mut meta = vec![
            ("format", "nnspec".to_string()),
            ("model", self.graph.name.clone()),
            ("spec", training::spec_path(&self.args.target.file)),
            ("spec_hash", training::spec_hash(&spec)),
            ("seed", self.args.seed.to_string()),
            ("env", self.env.to_string()),
        ];
        if !curve.returns.is_empty() {
            meta.push(("episodes", curve.returns.len().to_string()));
            meta.push(("steps", curve.steps.to_string()));
        }
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
        checkpoint::save(&out.join("model.safetensors"), params, &meta)
            .map_err(|e| e.to_string())?;
        if curve.returns.is_empty() {
            return Ok(vec!["model.safetensors"]);
        }
        let write = |name: &str, bytes: &[u8]| {
            let p = out.join(name);
            report::write_atomic(&p, bytes)
                .map_err(|e| format!("cannot write {}: {e}", p.display()))
        };
        write("returns.csv", curve.csv().as_bytes())?;
        let svg = report::return_plot_svg(curve.returns, curve.solved, &self.graph.name)?;
        write("returns.svg", svg.as_bytes())?;
        Ok(vec!["model.safetensors", "returns.csv", "returns.svg"])
    }
}

/// What a run in an environment did, episode by episode.
pub(super) struct Curve<'a> {
    /// Each episode's return.
    pub returns: &'a [f64],
    /// Each episode's loss (empty for a run that trains no loss).
    pub losses: &'a [f64],
    /// Environment steps taken.
    pub steps: usize,
    /// The mean return at which the run stopped, drawn on the plot.
    pub solved: Option<f64>,
}

impl Curve<'_> {
    /// A run of no episodes (sweeps).
    pub const NONE: Curve<'static> = Curve {
        returns: &[],
        losses: &[],
        steps: 0,
        solved: None,
    };

    /// `returns.csv`: each episode's return, the mean of the last 100 and, with losses, its
    /// loss.
    fn csv(&self) -> String {
        let with_loss = !self.losses.is_empty();
        let mut csv = String::from(if with_loss {
            "episode,return,mean100,loss\n"
        } else {
            "episode,return,mean100\n"
        });
        for (k, r) in self.returns.iter().enumerate() {
            let mean = rl::recent_mean(&self.returns[..=k]);
            match self.losses.get(k).filter(|_| with_loss) {
                Some(l) => csv.push_str(&format!("{},{r},{mean},{l}\n", k + 1)),
                None => csv.push_str(&format!("{},{r},{mean}\n", k + 1)),
            }
        }
        csv
    }
}

/// Which episodes get a progress line: the first of each `every` episodes (a round of several
/// episodes may pass a multiple of `every` without ending on it), and those the loop asks
/// for; none with `--quiet`.
pub(super) struct Progress {
    quiet: bool,
    every: usize,
    shown: usize,
}

impl Progress {
    /// A line every `every` episodes (unless `quiet`).
    pub fn new(quiet: bool, every: usize) -> Progress {
        Progress {
            quiet,
            every: every.max(1),
            shown: 0,
        }
    }

    /// Whether the run, `k` episodes played, shows a line now: `k` passed a multiple of
    /// `every` since the last line, or `also` (the last episode, solved or interrupted).
    pub fn due(&mut self, k: usize, also: bool) -> bool {
        if self.quiet || !(k / self.every > self.shown || also) {
            return false;
        }
        self.shown = k / self.every;
        true
    }
}

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
