//! `nnspec train` and `nnspec predict`: any spec's model, run by the IR interpreter in f64,
//! trained on a CSV file or on the built-in data set that suits it.

use clap::ValueEnum;
use nnspec::runtime::checkpoint::{self, CheckpointError};
use nnspec::runtime::data::{Column, CsvOptions, Dataset, Header, TargetKind, Targets};
use nnspec::runtime::optim::{Config, Method, Optimizer, Schedule};
use nnspec::runtime::train::{Io, Supervised, TrainConfig, correct, evaluate, fit};
use nnspec::runtime::{Rng, Scalar};
use nnspec::training::{self, InterpModel, Prepared};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Where the data come from and how to read them.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// A CSV file (`.csv` or `.csv.gz`), one example per row. Default: a built-in data set
    /// that suits the model (digits, iris, or a synthetic set of its shape).
    #[arg(long)]
    data: Option<PathBuf>,
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

/// `nnspec train`'s options.
#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    target: super::Target,
    #[command(flatten)]
    data: DataArgs,
    /// The optimiser: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// The learning rate (applied to the spec's loss, a sum over the batch).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Weight decay λ (coupled L2, eq. 9.13; decoupled for adamw).
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Learning-rate schedule: constant, step:EVERY:GAMMA, exp:GAMMA, inverse:DECAY,
    /// cosine:EPOCHS[:MIN].
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// Clip the gradient to this global norm.
    #[arg(long)]
    clip: Option<f64>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Examples per mini-batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Seed of the split, the initial parameters and the batch order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many epochs without a better validation loss (and keep the best).
    #[arg(long)]
    patience: Option<usize>,
    /// Fraction of the data held out for validation.
    #[arg(long, default_value_t = 0.1)]
    val: f64,
    /// Fraction of the data held out for the final test.
    #[arg(long, default_value_t = 0.2)]
    test: f64,
    /// Where to write model.safetensors, history.csv and loss.svg (default: out/<model>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
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
    /// The CSV has no target column: every column (or those of --features) is a feature.
    #[arg(long, requires = "data")]
    no_target: bool,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// The model to train: the spec's graph behind the interpreter.
fn model<T: Scalar>(target: &super::Target, seed: u64) -> Result<InterpModel<T>, ExitCode> {
    let graph = super::load(target).ok_or(ExitCode::FAILURE)?;
    let src = super::read_spec(&target.file).ok_or(ExitCode::FAILURE)?;
    let file = target.file.display().to_string();
    InterpModel::new(&graph, &src, &file, &mut Rng::new(seed)).map_err(fail)
}

/// The data for a model: the CSV file given, or the built-in set that suits it.
fn data<T: Scalar>(
    io: &Io,
    args: &DataArgs,
    seed: u64,
    no_target: bool,
) -> Result<(Dataset<T>, String), String> {
    let Some(path) = &args.data else {
        return Ok(training::builtin(io, seed));
    };
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
        ..CsvOptions::default()
    };
    let ds = Dataset::from_csv_path(path, &opts).map_err(|e| e.to_string())?;
    Ok((ds, path.display().to_string()))
}

/// `nnspec train`.
pub fn train(args: &TrainArgs) -> ExitCode {
    match train_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn train_inner(args: &TrainArgs) -> Result<(), ExitCode> {
    let start = Instant::now();
    let method = Method::parse(&args.optimizer).map_err(fail)?;
    let schedule = Schedule::parse(&args.schedule).map_err(fail)?;
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        return Err(fail(format!(
            "--lr must be a positive number, not {}",
            args.lr
        )));
    }
    if !(0.0..1.0).contains(&args.val)
        || !(0.0..1.0).contains(&args.test)
        || args.val + args.test >= 1.0
    {
        return Err(fail(
            "--val and --test are fractions in [0, 1) that must leave some data for training",
        ));
    }
    if args.batch == 0 || args.epochs == 0 {
        return Err(fail("--batch and --epochs must be at least 1"));
    }
    let mut model = model::<f64>(&args.target, args.seed)?;
    let io = model.io();
    let (ds, source) = data::<f64>(&io, &args.data, args.seed, false).map_err(fail)?;
    if ds.len() < 3 {
        return Err(fail(format!(
            "{source}: {} examples; training needs at least 3 (training, validation, test)",
            ds.len()
        )));
    }
    nnspec::runtime::train::check_data(&io, &ds, "input").map_err(fail)?;
    let Prepared {
        train,
        val,
        test,
        standardizer,
    } = training::prepare(&ds, args.val, args.test, args.seed);
    if !args.quiet {
        eprintln!(
            "training `{}` ({} parameters) on {source}: {} training, {} validation, {} test examples",
            io.model,
            model
                .params
                .mats
                .iter()
                .map(|m| m.nrows() * m.ncols())
                .sum::<usize>(),
            train.len(),
            val.len(),
            test.len()
        );
    }
    let mut config = Config::new(method, args.lr);
    config.weight_decay = args.weight_decay;
    config.schedule = schedule;
    config.clip_norm = args.clip;
    let mut opt = Optimizer::new(config);
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        seed: args.seed,
        patience: args.patience,
        progress: !args.quiet,
    };
    let val_ref = (!val.is_empty()).then_some(&val);
    let (history, failure) = match fit(&mut model, &mut opt, &train, val_ref, &cfg) {
        Ok(h) => (h, None),
        Err(e) => (e.history.clone(), Some(e)),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&io.model));
    let file = args.target.file.display().to_string();
    let mut meta: Vec<(&str, String)> = vec![
        ("format", "nnspec".into()),
        ("model", io.model.clone()),
        ("spec", file),
    ];
    let sets: Vec<String> = args
        .target
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !sets.is_empty() {
        meta.push(("overrides", sets.join(",")));
    }
    let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let title = format!("{} on {}", io.model, source);
    let files = training::write_outputs(&out, &model, &meta, Some(&standardizer), &history, &title)
        .map_err(fail)?;
    if let Some(e) = failure {
        eprintln!("error: {e}");
        eprintln!(
            "finite parameters and the history so far are in {}",
            out.display()
        );
        return Err(ExitCode::FAILURE);
    }
    let mut ws = model.new_workspace(256);
    let mut line = String::new();
    if !test.is_empty() {
        let m = evaluate(&model, &test, 256, &mut ws).map_err(fail)?;
        line = format!("test loss {:.4}", m.loss);
        if let Some(a) = m.accuracy {
            line += &format!(", test accuracy {:.1}%", 100.0 * a);
        }
        line += "; ";
    }
    outln!(
        "{line}{} epochs in {:.1} s; wrote {}, {} and {}",
        history.epochs.len(),
        start.elapsed().as_secs_f64(),
        files.checkpoint.display(),
        files.history.display(),
        files.plot.display()
    );
    Ok(())
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

fn predict_as<T: Scalar>(args: &PredictArgs) -> Result<(), Failure> {
    let exit = |m: String| Failure::Exit(fail(m));
    let mut model = model::<T>(&args.target, 0).map_err(Failure::Exit)?;
    let meta = match checkpoint::load(&args.checkpoint, &mut model) {
        Ok(m) => m,
        Err(CheckpointError::Dtype { .. }) => return Err(Failure::Dtype),
        Err(e) => return Err(exit(e.to_string())),
    };
    let io = model.io();
    let (mut ds, _) = data::<T>(&io, &args.data, 0, args.no_target).map_err(exit)?;
    if args.no_target {
        if ds.features() != io.inputs {
            return Err(exit(format!(
                "the data have {} features, but `{}` reads x with {} rows",
                ds.features(),
                io.model,
                io.inputs
            )));
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
        s.apply(ds.x.as_mut());
    }
    let batch = 256;
    let mut ws = model.new_workspace(batch);
    let mut out = String::new();
    let labels = match io.target {
        TargetKind::Labels { lo, .. } => Some(lo),
        TargetKind::Values { .. } => None,
    };
    if labels.is_some() {
        out.push_str("predicted,");
    }
    let head: Vec<String> = (1..=io.outputs).map(|k| format!("f{k}")).collect();
    out.push_str(&head.join(","));
    out.push('\n');
    let mut right = 0;
    for start in (0..ds.len()).step_by(batch) {
        let end = (start + batch).min(ds.len());
        let x = ds.x.as_ref().subcols(start, end - start);
        let f = model.predict(x, &mut ws).map_err(|e| exit(e.to_string()))?;
        for j in 0..f.ncols() {
            if let Some(lo) = labels {
                let best = if f.nrows() == 1 {
                    usize::from(f[(0, j)] > T::ZERO)
                } else {
                    (0..f.nrows()).fold(0, |b, r| if f[(r, j)] > f[(b, j)] { r } else { b })
                };
                out.push_str(&format!("{},", best + lo));
            }
            let vals: Vec<String> = (0..f.nrows())
                .map(|r| format!("{}", f[(r, j)].to_f64()))
                .collect();
            out.push_str(&vals.join(","));
            out.push('\n');
        }
        if let (Some(lo), Targets::Labels { values, .. }) = (labels, &ds.y) {
            right += correct(f, &values[start..end], lo);
        }
    }
    out!("{out}");
    if args.no_target {
        eprintln!("{} examples predicted", ds.len());
        return Ok(());
    }
    let m = evaluate(&model, &ds, batch, &mut ws).map_err(|e| exit(e.to_string()))?;
    match labels {
        Some(_) => eprintln!(
            "{} examples: accuracy {:.1}% ({right} correct), loss {:.4} per example",
            ds.len(),
            100.0 * right as f64 / ds.len().max(1) as f64,
            m.loss
        ),
        None => eprintln!("{} examples: loss {:.4} per example", ds.len(), m.loss),
    }
    Ok(())
}
