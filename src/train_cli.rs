//! `nnspec train` and `nnspec predict`: any spec's model, run by the IR interpreter in f64,
//! trained on a CSV file or on the built-in data set that suits it.

use clap::ValueEnum;
use nnspec::runtime::checkpoint::{self, CheckpointError};
use nnspec::runtime::data::{Column, CsvOptions, Dataset, Header, TargetKind, Targets};
use nnspec::runtime::npy::NpyOptions;
use nnspec::runtime::optim::{Config, Method, Optimizer, Schedule};
use nnspec::runtime::train::{
    History, Io, RunState, Stop, Supervised, TrainConfig, correct, evaluate, fit_with,
};
use nnspec::runtime::{Rng, Scalar};
use nnspec::training::{self, InterpModel, Prepared};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

mod env_run;
mod policy;
mod rl;
mod tabular;

/// Where the data come from and how to read them.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// A CSV file (`.csv` or `.csv.gz`), one example per row, or a NumPy `.npy` file of the
    /// features, `(N, D)`, with the targets in --targets, or a folder of `.npy` files, one per
    /// input named after it (`X.npy`, `A.npy`, each row a matrix column by column) and the
    /// targets named after the target (`y.npy`). Default: a built-in data set that suits the
    /// model (digits, iris, generated graphs or sequences, or a synthetic set of its shape).
    #[arg(long)]
    data: Option<PathBuf>,
    /// With a `.npy` --data: the targets, a `.npy` file with one row per example (labels
    /// `(N,)`, values `(N, K)`).
    #[arg(long, alias = "labels", value_name = "FILE", requires = "data")]
    targets: Option<PathBuf>,
    /// The target column: a 0-based index (negative counts from the end) or a header name.
    /// Default: the last column (the last K for a K-row real-valued target).
    #[arg(long, value_name = "COLUMN")]
    label_column: Option<String>,
    /// The feature columns, 0-based and comma-separated (default: every other column).
    #[arg(long, value_delimiter = ',', value_name = "I,J,…")]
    features: Option<Vec<usize>>,
    /// Whether the first row is a header.
    #[arg(long, value_enum, default_value = "auto")]
    header: HeaderArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum HeaderArg {
    /// A first row with a cell that is not a number.
    Auto,
    /// Always.
    Yes,
    /// Never.
    No,
}

/// `--standardize`: the command line's names of [`training::Scaling`].
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Standardize {
    /// Each feature by its own mean and standard deviation.
    Features,
    /// All features by one mean and standard deviation (pictures).
    Global,
    /// All features together onto [−1, 1] by their smallest and largest value (pictures for a
    /// generator whose output is `tanh`).
    Range,
    /// As given.
    None,
}

impl From<Standardize> for training::Scaling {
    fn from(s: Standardize) -> Self {
        match s {
            Standardize::Features => training::Scaling::Features,
            Standardize::Global => training::Scaling::Global,
            Standardize::Range => training::Scaling::Range,
            Standardize::None => training::Scaling::None,
        }
    }
}

/// `nnspec train`'s options.
#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    target: super::Target,
    #[command(flatten)]
    data: DataArgs,
    /// The optimiser: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad, or als
    /// (alternating least squares: each parameter solved for in turn over the whole training
    /// set, for a loss quadratic in each; no learning rate).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Adam's (and AdamW's) decay of the first moment, β₁ (default 0.9; 0.5 is the usual
    /// choice for a GAN).
    #[arg(long, value_name = "B", allow_negative_numbers = true, value_parser = fraction)]
    beta1: Option<f64>,
    /// The learning rate (applied to the spec's loss, a sum over the batch).
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true, value_parser = positive)]
    lr: f64,
    /// Weight decay λ (coupled L2, eq. 9.13; decoupled for adamw).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = non_negative)]
    weight_decay: f64,
    /// Learning-rate schedule: constant, step:EVERY:GAMMA, exp:GAMMA, inverse:DECAY,
    /// cosine:EPOCHS[:MIN].
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// Clip the gradient to this global norm (a positive number).
    #[arg(long, allow_negative_numbers = true, value_parser = positive)]
    clip: Option<f64>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 30, value_parser = at_least_one)]
    epochs: usize,
    /// Examples per mini-batch.
    #[arg(long, default_value_t = 32, value_parser = at_least_one)]
    batch: usize,
    /// Seed of the split, the initial parameters and the batch order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many epochs without a better validation loss (and keep the best).
    #[arg(long)]
    patience: Option<usize>,
    /// How the inputs are standardised with the training split's statistics: each feature
    /// by its own mean and standard deviation, all features by one (pictures), or not.
    #[arg(long, value_enum, default_value_t = Standardize::Features)]
    standardize: Standardize,
    /// Fraction of the data held out for validation.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true, value_parser = fraction)]
    val: f64,
    /// Fraction of the data held out for the final test.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true, value_parser = fraction)]
    test: f64,
    /// Where to write model.safetensors, history.csv and loss.svg (default: out/<model>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With several losses (a GAN, eq. 15.5): K consecutive batches of the first loss per
    /// batch of each other, each loss with its own optimiser stepping only the parameters it
    /// trains.
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = at_least_one)]
    steps: usize,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    /// A model in an environment (`env CartPole`): the most episodes to run (default: 600
    /// for deep Q-learning, 3000 for a policy).
    #[arg(long, value_parser = at_least_one)]
    episodes: Option<usize>,
    /// A policy in an environment (`π[s, θ]`): the episodes sampled per optimiser step.
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    rollouts: usize,
    /// A policy in an environment: optimiser steps per loss over each round's episodes
    /// (PPO's epochs; the frozen copies stay the policy that played them).
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    passes: usize,
    /// A model in an environment: the steps between refreshes of the frozen copies,
    /// `φ⁻ ← φ` (eq. 19.18).
    #[arg(long, default_value_t = 500, value_parser = at_least_one)]
    refresh: usize,
    /// A model in an environment: stop once the mean return of the last 100 episodes
    /// reaches this (default: 195 for CartPole).
    #[arg(long, allow_negative_numbers = true, value_parser = number)]
    solved: Option<f64>,
    /// Continue the run saved in this folder (its `run.safetensors`), up to --epochs in all;
    /// the other options must be those the run started with.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// The options given on the command line (clap's ids), set by [`TrainArgs::given_in`]: a
    /// run refuses those it does not read rather than ignore them ([`refuse_unread`]).
    #[arg(skip)]
    given: Vec<String>,
}

impl TrainArgs {
    /// Records which of `matches`' options (the `train` subcommand's) the command line gave.
    pub fn given_in(&mut self, matches: &clap::ArgMatches) {
        // The options' ids (not those of the argument groups of the flattened structs).
        let options = <TrainArgs as clap::Args>::augment_args(clap::Command::new("train"));
        self.given = options
            .get_arguments()
            .map(|a| a.get_id().as_str())
            .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
            .map(str::to_string)
            .collect();
    }
}

/// The options every kind of run reads: the spec, its model and hyper-parameters, the seed,
/// the output and `--quiet` (`--resume` is refused where it does not apply, with its reason).
const READ_BY_EVERY_RUN: &[&str] = &[
    "file",
    "model",
    "overrides",
    "seed",
    "out",
    "quiet",
    "resume",
];

/// The options of a run in an environment, which training on data does not read.
const ENV_ONLY: &[&str] = &["episodes", "rollouts", "passes", "refresh", "solved"];

/// The options of the optimiser of a loss (`Run::optimizer`).
const OPTIMISER: &[&str] = &[
    "optimizer",
    "beta1",
    "lr",
    "weight_decay",
    "schedule",
    "clip",
];

/// A usage error (status 2) naming the options given that a run in an environment reads
/// neither among [`READ_BY_EVERY_RUN`] nor in `reads`: `what` says what the run is, so the
/// user sees why an option would do nothing (`--epochs` for deep Q-learning, which plays
/// episodes).
fn refuse_unread(args: &TrainArgs, what: &str, reads: &[&[&str]]) -> Result<(), ExitCode> {
    let read = |id: &str| READ_BY_EVERY_RUN.contains(&id) || reads.iter().any(|r| r.contains(&id));
    let mut options: Vec<String> = reads
        .iter()
        .flat_map(|r| r.iter())
        .map(|id| flag(id))
        .collect();
    options.sort();
    let note = if options.is_empty() {
        "it reads only --seed, --out, --quiet and --set".to_string()
    } else {
        format!(
            "besides --seed, --out, --quiet and --set, it reads {}",
            options.join(", ")
        )
    };
    refuse_given(args, what, &note, |id| !read(id))
}

/// The usage error of [`refuse_unread`], for the given options `unread` picks; `note` says what
/// the run does read.
fn refuse_given(
    args: &TrainArgs,
    what: &str,
    note: &str,
    unread: impl Fn(&str) -> bool,
) -> Result<(), ExitCode> {
    let unread: Vec<String> = args
        .given
        .iter()
        .filter(|id| unread(id))
        .map(|id| flag(id))
        .collect();
    if unread.is_empty() {
        return Ok(());
    }
    let verb = if unread.len() == 1 { "does" } else { "do" };
    Err(usage(format!(
        "{} {verb} not apply to {what} ({note})",
        unread.join(", ")
    )))
}

/// The command line's spelling of the option with clap id `id`.
fn flag(id: &str) -> String {
    match id {
        "overrides" => "--set".to_string(),
        _ => format!("--{}", id.replace('_', "-")),
    }
}

/// `nnspec predict`'s options.
#[derive(clap::Args)]
pub struct PredictArgs {
    #[command(flatten)]
    target: super::Target,
    #[command(flatten)]
    data: DataArgs,
    /// The checkpoint written by `nnspec train` (or by a program using `write_outputs`).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The data have no targets: every column of the CSV file (or those of --features) is a
    /// feature; a `.npy` file needs no --targets.
    #[arg(long, requires = "data", conflicts_with = "targets")]
    no_target: bool,
    /// For a classifier, print each class's probability (softmax of the outputs, or the
    /// sigmoid of a single output) instead of the raw outputs.
    #[arg(long)]
    probs: bool,
    /// Instead of predicting, draw these spec quantities as heat maps into one PNG (--out):
    /// parameters (`ω`, `Omega_1`) as they are, values the model computes (`A`, `Sa_1`) on
    /// one example (--example). White is 0, red positive, blue negative, each map to its
    /// own largest |value|.
    #[arg(long, num_args = 1.., value_name = "NAME")]
    show: Vec<String>,
    /// With --show: which example of the data (0-based) the values are computed on.
    #[arg(long, default_value_t = 0, requires = "show")]
    example: usize,
    /// With --show: the PNG file to write.
    #[arg(long, short, default_value = "show.png", requires = "show")]
    out: PathBuf,
    /// With --show: screen pixels per entry.
    #[arg(long, default_value_t = 12, requires = "show", value_parser = clap::value_parser!(u8).range(1..=64))]
    scale: u8,
}

/// A number for an option, or why it is not one (clap names the option and exits with 2).
fn number(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_nan() {
        return Err("NaN is not a valid value".into());
    }
    Ok(v)
}

/// A finite number greater than 0 (learning rate, clipping norm).
fn positive(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{v} is out of range: expected a finite number > 0"))
    }
}

/// A finite number of at least 0 (weight decay).
fn non_negative(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v >= 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{v} is out of range: expected a finite number ≥ 0"))
    }
}

/// A fraction of the data in `[0, 1)`.
fn fraction(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{v} is out of range: expected a fraction in [0, 1)"
        ))
    }
}

/// A count of at least 1 (epochs, batch size).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 is out of range: expected a whole number ≥ 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number ≥ 1")),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// A usage error: exit status 2, as clap gives for a malformed option.
fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The model to train: the spec's graph behind the interpreter.
fn model<T: Scalar>(target: &super::Target, seed: u64) -> Result<InterpModel<T>, ExitCode> {
    let graph = super::load(target).ok_or(ExitCode::FAILURE)?;
    let src = super::read_spec(&target.file).ok_or(ExitCode::FAILURE)?;
    let file = target.file.display().to_string();
    InterpModel::new(&graph, &src, &file, &mut Rng::new(seed)).map_err(fail)
}

/// What the data must hold besides the model's `Io`: the set of each entry of a vector of
/// labels (checked in every file), and the class names of a trained model.
#[derive(Clone, Copy, Debug, Default)]
struct Expect<'a> {
    value_labels: Option<(i32, usize)>,
    class_names: Option<&'a [String]>,
    /// The target's name in the spec: a folder of `.npy` files holds it as `<name>.npy`.
    target: Option<&'a str>,
    /// The inputs with their label sets, for the built-in ratings.
    inputs: &'a [(&'a str, Option<(i32, usize)>)],
}

/// The data for a model: the CSV file given, or the built-in set that suits it.
fn data<T: Scalar>(
    io: &Io,
    args: &DataArgs,
    seed: u64,
    no_target: bool,
    expect: Expect<'_>,
) -> Result<(Dataset<T>, String), String> {
    let Some(path) = &args.data else {
        if let Some(found) = training::ratings(io, expect.inputs, seed) {
            return Ok(found);
        }
        if let Some(found) = training::binary_digits(io, expect.inputs) {
            return Ok(found);
        }
        return Ok(match expect.value_labels {
            Some(set) => training::builtin_labels(io, set, seed),
            None => training::builtin(io, seed),
        });
    };
    if path.is_dir() {
        return npy_folder(io, args, path, no_target, expect);
    }
    if is_npy(path) {
        return npy_data(io, args, path, no_target, expect);
    }
    if let Some(t) = &args.targets {
        return Err(format!(
            "--targets {} goes with a .npy --data; a CSV file holds its targets",
            t.display()
        ));
    }
    let count = match io.target {
        TargetKind::Values { count } => count,
        TargetKind::Labels { .. } => 1,
    };
    let target = match &args.label_column {
        _ if no_target => Column::Absent,
        None => Column::Index(-(count as isize)),
        Some(c) => match c.parse::<isize>() {
            Ok(i) => Column::Index(i),
            Err(_) => Column::Name(c.clone()),
        },
    };
    let opts = CsvOptions {
        header: match args.header {
            HeaderArg::Auto => Header::Auto,
            HeaderArg::Yes => Header::Yes,
            HeaderArg::No => Header::No,
        },
        target,
        kind: io.target.clone(),
        features: args.features.clone(),
        class_names: expect.class_names.map(<[String]>::to_vec),
        value_labels: expect.value_labels,
        ..CsvOptions::default()
    };
    let ds = Dataset::from_csv_path(path, &opts).map_err(|e| e.to_string())?;
    Ok((ds, path.display().to_string()))
}

/// Whether a data file is NumPy's `.npy`.
fn is_npy(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// The data of a `.npy` features file and its `.npy` targets (none with `--no-target`).
fn npy_data<T: Scalar>(
    io: &Io,
    args: &DataArgs,
    path: &std::path::Path,
    no_target: bool,
    expect: Expect<'_>,
) -> Result<(Dataset<T>, String), String> {
    let shown = path.display();
    if args.label_column.is_some() {
        return Err(format!(
            "{shown}: --label-column is for CSV files; a .npy file's targets are in --targets"
        ));
    }
    let targets = match &args.targets {
        _ if no_target => None,
        Some(t) => Some(t.as_path()),
        None => {
            return Err(format!(
                "{shown}: the targets of .npy features are another .npy file: give --targets"
            ));
        }
    };
    let opts = NpyOptions {
        kind: io.target.clone(),
        features: args.features.clone(),
        value_labels: expect.value_labels,
    };
    let ds = Dataset::from_npy_paths(path, targets, &opts).map_err(|e| e.to_string())?;
    let source = match targets {
        Some(t) => format!("{shown} and {}", t.display()),
        None => shown.to_string(),
    };
    Ok((ds, source))
}

/// The data of a folder of `.npy` files, one per input named after it (`X.npy`, `A.npy`), and
/// the targets: `--targets`, or the folder's file named after the target (`y.npy`).
fn npy_folder<T: Scalar>(
    io: &Io,
    args: &DataArgs,
    dir: &std::path::Path,
    no_target: bool,
    expect: Expect<'_>,
) -> Result<(Dataset<T>, String), String> {
    let shown = dir.display();
    if args.label_column.is_some() || args.features.is_some() {
        return Err(format!(
            "{shown}: a folder holds one .npy file per input; --label-column and --features \
             are for CSV files"
        ));
    }
    let targets = match (&args.targets, expect.target) {
        _ if no_target => None,
        (Some(t), _) => Some(t.clone()),
        (None, Some(name)) => Some(dir.join(format!("{name}.npy"))),
        (None, None) => None,
    };
    if let Some(t) = targets.as_ref().filter(|t| !t.is_file()) {
        return Err(format!(
            "{shown}: no targets file {} (the target `{}` of `{}`; or give --targets)",
            t.display(),
            expect.target.unwrap_or("y"),
            io.model
        ));
    }
    let opts = NpyOptions {
        kind: io.target.clone(),
        features: None,
        value_labels: expect.value_labels,
    };
    let ds = Dataset::from_npy_dir(dir, &io.input_shapes(), targets.as_deref(), &opts)
        .map_err(|e| e.to_string())?;
    Ok((ds, shown.to_string()))
}

/// `nnspec train`.
pub fn train(args: &TrainArgs) -> ExitCode {
    // A model in an environment (`env CartPole`) learns from acting in it, not from data.
    if let Some(graph) = super::load(&args.target) {
        // Rules of whole parameters without an environment (an optimiser as printed, eqs.
        // 6.3–6.17) train on data, the rules taking the optimiser's place.
        let on_data = graph.env.is_none() && graph.updates.iter().all(|u| u.index.is_empty());
        if !graph.updates.is_empty() && !on_data {
            return tabular::train(args, &graph);
        }
        if graph.env.is_some() {
            return rl::train(args, &graph);
        }
    }
    match train_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// The file beside `model.safetensors` that lets a run continue (`--resume`).
const RUN_FILE: &str = "run.safetensors";

/// The exit status of a run stopped by Ctrl-C or SIGTERM after saving (128 + SIGINT).
const INTERRUPTED: u8 = 130;

fn train_inner(args: &TrainArgs) -> Result<(), ExitCode> {
    let start = Instant::now();
    refuse_given(
        args,
        "training on data",
        "options of a model in an environment, a spec with an `env` line",
        |id| ENV_ONLY.contains(&id),
    )?;
    let (method, schedule) = check_options(args)?;
    if method == Method::Als {
        refuse_given(
            args,
            "alternating least squares (`--optimizer als`)",
            "each parameter is solved for in turn, with no step to size or clip",
            |id| id != "optimizer" && OPTIMISER.contains(&id),
        )?;
    }
    let mut model = model::<f64>(&args.target, args.seed)?;
    if model.has_rules() {
        refuse_given(
            args,
            "a model its own `←` rules train",
            "its rules take the optimiser's place",
            |id| OPTIMISER.contains(&id),
        )?;
    }
    let io = model.io();
    if args.resume.is_some() && model.objectives().len() > 1 {
        return Err(usage(
            "--resume: a run of several losses cannot be continued (the optimisers of the \
             losses after the first are not saved)",
        ));
    }
    let (prepared, source, class_names) = training_data(args, &io, &model)?;
    let mut config = optimizer_config(args, method, schedule);
    config.max_norms = model.max_norms();
    let mut opt = Optimizer::new(config);
    let run = RunInfo::new(args, &io, &source, &class_names)?;
    // Temporaries left in the output folder by a killed run.
    for f in ["model.safetensors", RUN_FILE, "history.csv", "loss.svg"] {
        nnspec::runtime::files::remove_stale(&run.out.join(f));
    }
    let mut state = RunState::default();
    if let Some(dir) = &args.resume {
        state = resume(dir, &mut model, &mut opt, &run)?;
    }
    if !args.quiet {
        announce(&model, &io, &source, &prepared, &state);
        if model.has_rules() {
            println!("the spec's `←` rules are the training step, in the optimiser's place");
        }
    }
    catch_signals();
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        seed: args.seed,
        patience: args.patience,
        progress: !args.quiet,
        steps: Some(args.steps),
    };
    let Prepared {
        train,
        val,
        test,
        standardizer,
    } = &prepared;
    let val_ref = (!val.is_empty()).then_some(val);
    let result = fit_with(&mut model, &mut opt, train, val_ref, &cfg, &mut state);
    let title = format!("{} on {}", io.model, source);
    let outcome = Outcome {
        model: &mut model,
        opt: &opt,
        state: &mut state,
        run: &run,
        standardizer,
        title: &title,
    };
    let (history, files) = save_run(outcome, result)?;
    report_test(&model, test, &history, start, &files)
}

/// Ctrl-C and SIGTERM from here on ask the run to stop after its step and save
/// (`runtime::interrupt`); a warning when that cannot be arranged.
fn catch_signals() {
    if let Err(e) = nnspec::runtime::interrupt::on_signals() {
        eprintln!("warning: {e}; Ctrl-C will stop without saving");
    }
}

/// The optimiser's settings the options give (`--lr`, `--weight-decay`, `--schedule`,
/// `--clip`), for the `method` and `schedule` [`check_options`] read.
fn optimizer_config(args: &TrainArgs, method: Method, schedule: Schedule) -> Config {
    let mut config = Config::new(method, args.lr);
    config.weight_decay = args.weight_decay;
    config.schedule = schedule;
    config.clip_norm = args.clip;
    config
}

/// The options clap cannot check alone: the optimiser, the schedule, and the split.
fn check_options(args: &TrainArgs) -> Result<(Method, Schedule), ExitCode> {
    let mut method = Method::parse(&args.optimizer).map_err(usage)?;
    if let Some(b) = args.beta1 {
        match &mut method {
            Method::Adam { beta1, .. } | Method::AdamW { beta1, .. } => *beta1 = b,
            _ => {
                return Err(usage(format!(
                    "--beta1 is Adam's: `--optimizer {}` has no β₁",
                    args.optimizer
                )));
            }
        }
    }
    let schedule = Schedule::parse(&args.schedule).map_err(usage)?;
    if args.val + args.test >= 1.0 {
        return Err(usage(
            "--val and --test together must leave some data for training (their sum is < 1)",
        ));
    }
    Ok((method, schedule))
}

/// The data of a run, checked against the model, split and standardised; with where they
/// come from and their class names (when the labels were names).
fn training_data(
    args: &TrainArgs,
    io: &Io,
    model: &InterpModel<f64>,
) -> Result<(Prepared<f64>, String, Vec<String>), ExitCode> {
    let inputs = model.input_labels();
    let expect = Expect {
        value_labels: model.target_labels(),
        class_names: None,
        target: model.target_name(),
        inputs: &inputs,
    };
    // A model with no target reads every column of a data file as a feature.
    let no_target = io.target == TargetKind::Values { count: 0 };
    let (ds, source) = data::<f64>(io, &args.data, args.seed, no_target, expect).map_err(fail)?;
    if ds.len() < 3 {
        return Err(fail(format!(
            "{source}: {} examples; training needs at least 3 (training, validation, test)",
            ds.len()
        )));
    }
    nnspec::runtime::train::check_data(io, &ds, "input").map_err(fail)?;
    // Inputs of labels (grey levels `{0 … 16}`, binary pixels) are used as they are: scaled,
    // they would no longer be in their set.
    let scaling = if !inputs.is_empty() && inputs.iter().all(|(_, l)| l.is_some()) {
        training::Scaling::None
    } else {
        args.standardize.into()
    };
    let prepared = training::prepare_scaled(&ds, args.val, args.test, args.seed, scaling)
        .map_err(|e| fail(format!("{source}: {e}")))?;
    Ok((prepared, source, ds.class_names))
}

/// The first line of a run on standard error: the model, its size and the splits.
fn announce(
    model: &InterpModel<f64>,
    io: &Io,
    source: &str,
    data: &Prepared<f64>,
    state: &RunState<f64>,
) {
    let size: usize = model
        .params
        .mats
        .iter()
        .map(|m| m.nrows() * m.ncols())
        .sum();
    eprintln!(
        "training `{}` ({size} parameters) on {source}: {} training, {} validation, {} test examples{}",
        io.model,
        data.train.len(),
        data.val.len(),
        data.test.len(),
        if state.epochs_done > 0 || state.batches_done > 0 {
            format!("; continuing after epoch {}", state.epochs_done)
        } else {
            String::new()
        }
    );
}

/// What a finished (or failed, or interrupted) run leaves to save.
struct Outcome<'a> {
    model: &'a mut InterpModel<f64>,
    opt: &'a Optimizer<f64>,
    state: &'a mut RunState<f64>,
    run: &'a RunInfo,
    standardizer: &'a nnspec::runtime::data::Standardizer,
    title: &'a str,
}

/// Saves a run: a failed one beside the files of an earlier one (in `failed/`), a finished or
/// interrupted one as the checkpoint of its best parameters, the history, the plot and the
/// run state that lets it continue. Returns the history and the files of a finished run.
fn save_run(
    o: Outcome<'_>,
    result: Result<History, nnspec::runtime::train::TrainError>,
) -> Result<(History, training::Outputs), ExitCode> {
    let out = &o.run.out;
    let meta = o.run.metadata();
    let history = match result {
        Ok(h) => h,
        Err(e) => {
            // A failed run never replaces the files of an earlier one: it goes beside them.
            let dir = out.join("failed");
            o.state.restore_best(o.model);
            let title = nnspec::runtime::report::failed_title(o.title, &e);
            training::write_outputs(
                &dir,
                o.model,
                &meta,
                Some(o.standardizer),
                &e.history,
                &title,
            )
            .map_err(fail)?;
            eprintln!("error: {e}");
            eprintln!(
                "the best finite parameters and the history so far are in {} ({} is unchanged)",
                dir.display(),
                out.display()
            );
            return Err(ExitCode::FAILURE);
        }
    };
    std::fs::create_dir_all(out)
        .map_err(|e| fail(format!("cannot create {}: {e}", out.display())))?;
    let fingerprint = o.run.fingerprint();
    nnspec::runtime::resume::save(&out.join(RUN_FILE), o.model, o.opt, o.state, &fingerprint)
        .map_err(fail)?;
    o.state.restore_best(o.model);
    let files =
        training::write_outputs(out, o.model, &meta, Some(o.standardizer), &history, o.title)
            .map_err(fail)?;
    if let Stop::Interrupted { epoch, batch } = history.stop {
        eprintln!(
            "interrupted in epoch {epoch} after batch {batch}: the run so far is saved in {} \
             ({}, {}, {} and {RUN_FILE}); continue it with the same options and --resume {}",
            out.display(),
            files.checkpoint.display(),
            files.history.display(),
            files.plot.display(),
            out.display()
        );
        return Err(ExitCode::from(INTERRUPTED));
    }
    Ok((history, files))
}

/// The test metrics of the kept parameters and the files written, on standard output.
fn report_test(
    model: &InterpModel<f64>,
    test: &Dataset<f64>,
    history: &History,
    start: Instant,
    files: &training::Outputs,
) -> Result<(), ExitCode> {
    let mut ws = model.new_workspace(256);
    let mut line = String::new();
    if !test.is_empty() {
        let m = evaluate(model, test, 256, &mut ws).map_err(fail)?;
        if !m.loss.is_finite() {
            return Err(fail(format!(
                "the test loss is {} with the kept parameters",
                m.loss
            )));
        }
        line = format!("test loss {:.4}", m.loss);
        if let Some(a) = m.accuracy {
            line += &format!(", test accuracy {:.1}%", 100.0 * a);
        }
        line += "; ";
    }
    let kept = match history.best_epoch {
        Some(e) => format!(" (kept the parameters of epoch {e}, the best by validation loss)"),
        // A game of several losses keeps its last parameters (`runtime::train`).
        None if !history.per_loss.is_empty() => {
            " (kept the last parameters: a model of several losses has no best epoch)".into()
        }
        None => String::new(),
    };
    outln!(
        "{line}{} epochs in {:.1} s{kept}; wrote {}, {} and {}",
        history.epochs.len(),
        start.elapsed().as_secs_f64(),
        files.checkpoint.display(),
        files.history.display(),
        files.plot.display()
    );
    Ok(())
}

/// What a run records about itself: where it writes, what a checkpoint's metadata holds (so
/// `predict` can rebuild the model and its data), and the options a continued run must
/// share with it.
struct RunInfo {
    out: PathBuf,
    /// Metadata of `model.safetensors`.
    meta: Vec<(&'static str, String)>,
    /// The options that decide the run's trajectory, by option name.
    options: Vec<(&'static str, String)>,
}

impl RunInfo {
    fn new(
        args: &TrainArgs,
        io: &Io,
        source: &str,
        class_names: &[String],
    ) -> Result<RunInfo, ExitCode> {
        let spec = super::read_spec(&args.target.file).ok_or(ExitCode::FAILURE)?;
        let overrides: Vec<String> = args
            .target
            .overrides
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let data = match &args.data.data {
            Some(p) => training::spec_path(p),
            None => "builtin".into(),
        };
        let mut meta: Vec<(&'static str, String)> = vec![
            ("format", "nnspec".into()),
            ("model", io.model.clone()),
            ("spec", training::spec_path(&args.target.file)),
            ("spec_hash", training::spec_hash(&spec)),
            ("seed", args.seed.to_string()),
            ("val", args.val.to_string()),
            ("test", args.test.to_string()),
            ("data", data),
        ];
        if !overrides.is_empty() {
            meta.push(("overrides", overrides.join(",")));
        }
        if let Some(t) = &args.data.targets {
            meta.push(("targets", training::spec_path(t)));
        }
        if let Some(c) = &args.data.label_column {
            meta.push(("label_column", c.clone()));
        }
        if let Some(f) = &args.data.features {
            let f: Vec<String> = f.iter().map(usize::to_string).collect();
            meta.push(("features", f.join(",")));
        }
        meta.push(("header", format!("{:?}", args.data.header).to_lowercase()));
        if !class_names.is_empty() {
            // A JSON list: names may hold commas.
            meta.push(("class_names", serde_json::json!(class_names).to_string()));
        }
        let mut options: Vec<(&'static str, String)> = vec![
            ("--optimizer", args.optimizer.clone()),
            (
                "--beta1",
                args.beta1.map_or("default".into(), |b| b.to_string()),
            ),
            ("--lr", args.lr.to_string()),
            ("--weight-decay", args.weight_decay.to_string()),
            ("--schedule", args.schedule.clone()),
            ("--clip", args.clip.map_or("none".into(), |c| c.to_string())),
            ("--batch", args.batch.to_string()),
            ("--steps", args.steps.to_string()),
            ("the data", source.to_string()),
        ];
        options.extend(meta.iter().filter(|(k, _)| *k != "format").cloned());
        let out = args
            .out
            .clone()
            .or_else(|| args.resume.clone())
            .unwrap_or_else(|| PathBuf::from("out").join(&io.model));
        Ok(RunInfo { out, meta, options })
    }

    fn metadata(&self) -> Vec<(&str, &str)> {
        self.meta.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    /// The options as run-state metadata (`option <name>`).
    fn fingerprint(&self) -> Vec<(&str, &str)> {
        self.options.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// Loads the run saved in `dir` into the model and the optimiser, after checking that it was
/// started with the same options.
fn resume(
    dir: &std::path::Path,
    model: &mut InterpModel<f64>,
    opt: &mut Optimizer<f64>,
    run: &RunInfo,
) -> Result<RunState<f64>, ExitCode> {
    let path = dir.join(RUN_FILE);
    let meta = checkpoint::read_metadata(&path).map_err(|e| {
        fail(format!(
            "--resume {}: {e} (a run saved by `nnspec train` has {RUN_FILE})",
            dir.display()
        ))
    })?;
    for (key, now) in &run.options {
        let then = meta.get(*key).map_or("(not recorded)", String::as_str);
        if then != now {
            let what = if key.starts_with("--") {
                format!("{key} {then}")
            } else {
                format!("{key} `{then}`")
            };
            return Err(fail(format!(
                "--resume {}: the run was started with {what}, this command has `{now}`; \
                 continue it with the options it started with",
                dir.display()
            )));
        }
    }
    let (state, _) = nnspec::runtime::resume::load(&path, model, opt).map_err(fail)?;
    Ok(state)
}

/// `nnspec predict`: the model function on every example, as CSV on standard output (the
/// predicted class first for classifiers, then every output), and the accuracy or loss on
/// standard error when the data hold targets.
pub fn predict(args: &PredictArgs) -> ExitCode {
    // A checkpoint holds f32 or f64 tensors; read it in the type it was written in.
    match predict_as::<f64>(args) {
        Err(Failure::Dtype) => match predict_as::<f32>(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(Failure::Dtype) => fail("the checkpoint holds neither f32 nor f64 tensors"),
            Err(Failure::Exit(c)) => c,
        },
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Exit(c)) => c,
    }
}

enum Failure {
    Dtype,
    Exit(ExitCode),
}

/// The model a checkpoint was trained as: the name and `--set` overrides in its metadata,
/// unless the command line gives the same ones (different ones are refused).
fn checkpoint_target(
    args: &PredictArgs,
    meta: &std::collections::BTreeMap<String, String>,
) -> Result<super::Target, String> {
    let given = &args.target;
    let model = match (&given.model, meta.get("model")) {
        (Some(m), Some(saved)) if m != saved => {
            return Err(format!(
                "the checkpoint holds `{saved}`, not `{m}` (drop --model, or give another checkpoint)"
            ));
        }
        (m, saved) => m.clone().or_else(|| saved.cloned()),
    };
    let saved = super::cli::saved_overrides(meta)?;
    if !given.overrides.is_empty() && given.overrides != saved {
        let show = |o: &[(String, f64)]| {
            o.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(format!(
            "the checkpoint was trained with --set {}, not --set {} (drop --set to use the checkpoint's)",
            if saved.is_empty() {
                "(none)".into()
            } else {
                show(&saved)
            },
            show(&given.overrides)
        ));
    }
    Ok(super::Target {
        file: given.file.clone(),
        model,
        overrides: saved,
    })
}

/// The data to predict on: the file given (every row), or else the held-out test split of
/// the data the checkpoint was trained on.
fn predict_data<T: Scalar>(
    args: &PredictArgs,
    io: &Io,
    meta: &std::collections::BTreeMap<String, String>,
    expect: Expect<'_>,
) -> Result<(Dataset<T>, String), String> {
    if args.data.data.is_some() {
        return data::<T>(io, &args.data, 0, args.no_target, expect);
    }
    let num = |k: &str| meta.get(k).and_then(|v| v.parse::<f64>().ok());
    let (Some(seed), Some(val), Some(test)) = (
        meta.get("seed").and_then(|v| v.parse::<u64>().ok()),
        num("val"),
        num("test"),
    ) else {
        return Err("the checkpoint does not say how its data were split; give --data".into());
    };
    if !((0.0..1.0).contains(&val) && (0.0..1.0).contains(&test) && val + test < 1.0) {
        return Err("the checkpoint's split fractions are invalid; give --data".into());
    }
    let mut args_then = args.data.clone();
    args_then.data = match meta.get("data").map(String::as_str) {
        None | Some("builtin") => None,
        Some(path) => Some(PathBuf::from(path)),
    };
    args_then.targets = meta.get("targets").map(PathBuf::from);
    args_then.label_column = meta.get("label_column").cloned();
    args_then.features = match meta.get("features") {
        Some(f) => Some(
            f.split(',')
                .map(|i| i.parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| "checkpoint metadata `features` is invalid".to_string())?,
        ),
        None => None,
    };
    let (ds, source) = data::<T>(io, &args_then, seed, false, expect)?;
    let (_, _, held_out) = ds.split(val, test, &mut Rng::new(seed));
    Ok((held_out, format!("the test split of {source}")))
}

fn predict_as<T: Scalar>(args: &PredictArgs) -> Result<(), Failure> {
    let exit = |m: String| Failure::Exit(fail(m));
    let meta = checkpoint::read_metadata(&args.checkpoint).map_err(|e| exit(e.to_string()))?;
    let target = checkpoint_target(args, &meta).map_err(exit)?;
    let trained_on = meta.get("spec").map_or("?", String::as_str);
    if trained_on != "?" && trained_on != training::spec_path(&target.file) {
        eprintln!(
            "warning: the checkpoint was trained on {trained_on}, not {}",
            target.file.display()
        );
    } else if let (Some(spec), Some(saved)) =
        (super::read_spec(&target.file), meta.get("spec_hash"))
        && training::spec_hash(&spec) != *saved
    {
        eprintln!(
            "warning: {} has changed since the checkpoint was trained (it was {})",
            target.file.display(),
            meta.get("spec").map_or("?", String::as_str)
        );
    }
    let mut model = model::<T>(&target, 0).map_err(Failure::Exit)?;
    match checkpoint::load(&args.checkpoint, &mut model) {
        Ok(_) => {}
        Err(CheckpointError::Dtype { .. }) => return Err(Failure::Dtype),
        Err(e) => return Err(exit(e.to_string())),
    }
    let io = model.io();
    let class_names = class_names(&meta).map_err(exit)?;
    let inputs = model.input_labels();
    let expect = Expect {
        value_labels: model.target_labels(),
        class_names: class_names.as_deref(),
        target: model.target_name(),
        inputs: &inputs,
    };
    let (mut ds, source) = predict_data::<T>(args, &io, &meta, expect).map_err(exit)?;
    if args.no_target {
        if ds.features() != io.features() {
            let message = nnspec::runtime::train::feature_count(&io, ds.features(), "the data");
            return Err(exit(message));
        }
    } else {
        nnspec::runtime::train::check_data(&io, &ds, "input").map_err(exit)?;
    }
    if let Some(s) = training::standardizer_from_metadata(&meta).map_err(exit)? {
        if s.mean.len() != ds.features() {
            return Err(exit(format!(
                "the checkpoint's standardisation has {} features, the data {}",
                s.mean.len(),
                ds.features()
            )));
        }
        s.apply_checked(ds.x.as_mut(), &ds.feature_names)
            .map_err(|e| exit(format!("{source}: {e}")))?;
    }
    if !args.show.is_empty() {
        return show(args, &model, &ds, &source).map_err(exit);
    }
    let labels = match io.target {
        TargetKind::Labels { lo, .. } => Some(lo),
        TargetKind::Values { .. } => None,
    };
    if args.probs && labels.is_none() {
        return Err(exit(format!(
            "--probs: `{}` has real-valued targets, not classes",
            io.model
        )));
    }
    let batch = 256;
    let mut ws = model.new_workspace(batch);
    let names = class_names.as_deref().unwrap_or_default();
    let (out, right) =
        predictions(&model, &ds, (labels, names), args.probs, &mut ws).map_err(exit)?;
    out!("{out}");
    if args.no_target {
        eprintln!("{} examples predicted ({source})", ds.len());
        return Ok(());
    }
    let m = evaluate(&model, &ds, batch, &mut ws).map_err(|e| exit(e.to_string()))?;
    match labels {
        Some(_) => eprintln!(
            "{} examples ({source}): accuracy {:.1}% ({right} correct), loss {:.4} per example",
            ds.len(),
            100.0 * right as f64 / ds.len().max(1) as f64,
            m.loss
        ),
        // A label per token: the accuracy over every example's tokens.
        None if io.token_labels => eprintln!(
            "{} examples ({source}): token accuracy {:.1}%, loss {:.4} per example",
            ds.len(),
            100.0 * m.accuracy.unwrap_or(0.0),
            m.loss
        ),
        None => eprintln!(
            "{} examples ({source}): loss {:.4} per example",
            ds.len(),
            m.loss
        ),
    }
    Ok(())
}

/// `predict --show`: the named parameters and values (on example `--example`) as heat maps
/// side by side in one PNG, and a line per map naming its shape and range.
fn show<T: Scalar>(
    args: &PredictArgs,
    model: &InterpModel<T>,
    ds: &Dataset<T>,
    source: &str,
) -> Result<(), String> {
    if args.example >= ds.len() {
        return Err(format!(
            "--example {}: {source} has {} examples",
            args.example,
            ds.len()
        ));
    }
    let io = model.io();
    // Example `--example` laid out as the model reads it (`D × N` for `X ∈ ℝ^{D×N}`).
    let (rows, cols) = io.batch_shape(1);
    let mut buf = faer::Mat::zeros(rows, cols);
    let x = ds.gather_inputs(&[args.example], &mut buf);
    let mut ws = model.new_workspace(1);
    let mut maps = Vec::with_capacity(args.show.len());
    let mut lines = Vec::with_capacity(args.show.len());
    for text in &args.show {
        let name = nnspec::dsl::names::canonical(text);
        let m = model
            .value_of(&name, x, &mut ws)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "`{}` has no parameter or named value `{name}` (a value is named by its equation: `A = …`)",
                    io.model
                )
            })?;
        let range = nnspec::runtime::image::heat_range(m.as_ref());
        lines.push(format!(
            "{name}: {}×{}, |value| ≤ {range:.4}",
            m.nrows(),
            m.ncols()
        ));
        maps.push(m);
    }
    let refs: Vec<_> = maps.iter().map(|m| m.as_ref()).collect();
    let bytes = nnspec::runtime::image::heat_png(&refs, args.scale.into())?;
    std::fs::write(&args.out, bytes)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    for l in lines {
        outln!("{l}");
    }
    eprintln!(
        "wrote {} (example {} of {source}; white 0, red positive, blue negative)",
        args.out.display(),
        args.example
    );
    Ok(())
}

/// The class names a checkpoint's metadata holds (`class_names`, a JSON list of strings), if
/// the labels it was trained on were names.
fn class_names(
    meta: &std::collections::BTreeMap<String, String>,
) -> Result<Option<Vec<String>>, String> {
    let Some(text) = meta.get("class_names") else {
        return Ok(None);
    };
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(names) if !names.is_empty() => Ok(Some(names)),
        _ => Err(format!(
            "checkpoint metadata `class_names` is not a JSON list of names: {text}"
        )),
    }
}

/// The CSV of predictions (the predicted class first for classifiers, by name when the
/// labels were names, then every output or, with `probs`, every class's probability) and
/// the number classified correctly.
fn predictions<T: Scalar>(
    model: &InterpModel<T>,
    ds: &Dataset<T>,
    (labels, names): (Option<usize>, &[String]),
    probs: bool,
    ws: &mut <InterpModel<T> as Supervised<T>>::Workspace,
) -> Result<(String, usize), String> {
    let mut out = String::new();
    if labels.is_some() {
        out.push_str("predicted,");
    }
    let io = model.io();
    let head: Vec<String> = match labels {
        Some(lo) if probs => {
            let classes = io.outputs.max(2);
            (lo..lo + classes).map(|k| format!("p{k}")).collect()
        }
        _ => (1..=io.outputs).map(|k| format!("f{k}")).collect(),
    };
    out.push_str(&head.join(","));
    out.push('\n');
    let mut right = 0;
    let batch = 256;
    // A batch as the model reads it (`D × (N·B)` for a matrix `X ∈ ℝ^{D×N}` per example).
    let (rows, cols) = io.batch_shape(batch);
    let mut xb = faer::Mat::zeros(rows, cols);
    let mut indices = Vec::with_capacity(batch);
    for start in (0..ds.len()).step_by(batch) {
        let end = (start + batch).min(ds.len());
        indices.clear();
        indices.extend(start..end);
        let x = ds.gather_inputs(&indices, &mut xb);
        let f = model.predict(x, ws).map_err(|e| e.to_string())?;
        for j in 0..f.ncols() {
            let col: Vec<f64> = (0..f.nrows()).map(|r| f[(r, j)].to_f64()).collect();
            if let Some(r) = col.iter().position(|v| !v.is_finite()) {
                return Err(format!(
                    "the prediction for example {} is not finite (output f{} = {}): the \
                     checkpoint's parameters or the data overflow the model",
                    start + j + 1,
                    r + 1,
                    col[r]
                ));
            }
            if let Some(lo) = labels {
                let best = if col.len() == 1 {
                    usize::from(col[0] > 0.0)
                } else {
                    (0..col.len()).fold(0, |b, r| if col[r] > col[b] { r } else { b })
                };
                match names.get(best) {
                    Some(name) => out.push_str(&csv_cell(name)),
                    None => out.push_str(&(best + lo).to_string()),
                }
                out.push(',');
            }
            let shown = if probs { probabilities(&col) } else { col };
            let vals: Vec<String> = shown.iter().map(|v| format!("{v}")).collect();
            out.push_str(&vals.join(","));
            out.push('\n');
        }
        if let (Some(lo), Targets::Labels { values, .. }) = (labels, &ds.y) {
            right += correct(f, &values[start..end], lo);
        }
    }
    Ok((out, right))
}

/// A name as a CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_cell(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

/// Class probabilities from a classifier's outputs: the softmax of several (shifted by their
/// largest, so it cannot overflow), or `1 − sig(f), sig(f)` for one logit.
fn probabilities(f: &[f64]) -> Vec<f64> {
    if let [z] = f {
        let p = 1.0 / (1.0 + (-z).exp());
        return vec![1.0 - p, p];
    }
    let top = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = f.iter().map(|v| (v - top).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}
