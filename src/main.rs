//! The `nnspec` command-line tool.
//!
//! `nnspec check FILE…` reports every diagnostic in every file and exits 0 when all are clean,
//! 1 otherwise (2 for a usage error). It never exits with a panic's 101: a compiler bug is
//! reported as an internal error with exit status 1.

#[macro_use]
mod out;
mod train_cli;

use clap::{Parser, Subcommand, ValueEnum};
use nnspec::dsl;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "nnspec",
    version,
    about = "Neural networks in the notation of Understanding Deep Learning, checked and compiled"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check .nn files: names, hyper-parameters, families and shapes.
    Check {
        /// The files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also print the parsed tree or the inferred shape of every named quantity.
        #[arg(long, value_enum)]
        dump: Option<Dump>,
        /// Override a hyper-parameter, e.g. `--set K=5` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, f64)>,
    },
    /// Print the Rust code that `model!` generates for a spec, formatted.
    Emit {
        /// The spec file.
        file: PathBuf,
        /// Only this model (default: every model of the file that can be compiled).
        #[arg(long)]
        model: Option<String>,
        /// Override a hyper-parameter, e.g. `--set K=5` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, f64)>,
    },
    /// Evaluate a model at given parameters and inputs: outputs, losses and gradients.
    Eval {
        #[command(flatten)]
        target: Target,
        /// A JSON object mapping each parameter to its value (`{"β_0": [0.1, …], …}`).
        #[arg(long)]
        params: PathBuf,
        /// A JSON object mapping each input, target and noise sample to its value.
        #[arg(long)]
        inputs: PathBuf,
        /// Also compute the gradients of every loss.
        #[arg(long)]
        grad: bool,
        /// Also compute the gradients of the first loss with respect to the inputs.
        #[arg(long)]
        input_grads: bool,
        /// Print JSON (otherwise a readable summary).
        #[arg(long)]
        json: bool,
    },
    /// Train a model (the interpreter, f64) on a CSV file or a built-in data set; writes
    /// model.safetensors, history.csv and loss.svg.
    Train(Box<train_cli::TrainArgs>),
    /// Predict with a trained checkpoint: the model function on every example, as CSV.
    Predict(train_cli::PredictArgs),
    /// Check every gradient of every loss against central differences in f64.
    Gradcheck(GradcheckArgs),
    /// Print a model's IR: as lowered from the spec, or with its gradients.
    Ir {
        #[command(flatten)]
        target: Target,
        /// Which stage to print.
        #[arg(long, value_enum, default_value = "lowered")]
        stage: Stage,
        /// Also print the memory plan: fusion groups, buffers, what the backward keeps.
        #[arg(long)]
        plan: bool,
    },
}

/// `nnspec gradcheck FILE…`: every model of every file, at random parameters and inputs.
#[derive(clap::Args)]
struct GradcheckArgs {
    /// The spec files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Check only this model.
    #[arg(long)]
    model: Option<String>,
    /// Override a hyper-parameter, e.g. `--set K=5` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_override)]
    overrides: Vec<(String, f64)>,
    /// Examples in the random batch.
    #[arg(long, default_value_t = 3)]
    batch: usize,
    /// Seed of the random parameters, inputs and sampled coordinates.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Relative tolerance: an entry agrees when |got − want| ≤ rtol·|want| + atol·scale.
    #[arg(long, alias = "tolerance", default_value_t = 1e-6)]
    rtol: f64,
    /// Absolute tolerance, as a fraction of the largest gradient magnitude of the loss.
    #[arg(long, default_value_t = 1e-6)]
    atol: f64,
    /// Check at most this many coordinates per loss by central differences (a random subset,
    /// drawn with the seed, beyond).
    #[arg(long, default_value_t = 2000)]
    max_coords: usize,
}

/// What to evaluate a spec at, and which model.
#[derive(clap::Args)]
struct Target {
    /// The spec file.
    file: PathBuf,
    /// The model (default: the last one in the file).
    #[arg(long)]
    model: Option<String>,
    /// Override a hyper-parameter, e.g. `--set K=5` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_override)]
    overrides: Vec<(String, f64)>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Stage {
    /// The forward graph, lowered from the spec.
    Lowered,
    /// The forward graph and the backward pass of every loss.
    Grad,
    /// Forward and backward, after the optimisation passes.
    Opt,
}

#[derive(Clone, Copy, ValueEnum)]
enum Dump {
    /// The syntax tree, as S-expressions.
    Ast,
    /// Every named quantity with its type in the book's notation.
    Shapes,
}

fn parse_override(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s.split_once('=').ok_or("expected NAME=VALUE, e.g. K=5")?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", value.trim()))?;
    let name = dsl::names::canonical_name(name)
        .ok_or_else(|| format!("`{}` is not a name", name.trim()))?;
    Ok((name, value))
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal compiler error: {info}");
        eprintln!("note: this is a bug in nnspec; please report it with the spec that caused it");
    }));
    let cli = Cli::parse();
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(code) => code,
        Err(_) => ExitCode::FAILURE,
    }
}

fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check {
            files,
            dump,
            overrides,
        } => check(&files, dump, overrides),
        Command::Ir {
            target,
            stage,
            plan,
        } => ir(&target, stage, plan),
        Command::Eval {
            target,
            params,
            inputs,
            grad,
            input_grads,
            json,
        } => eval(&target, &params, &inputs, (grad, input_grads), json),
        Command::Gradcheck(args) => gradcheck(&args),
        Command::Train(args) => train_cli::train(&args),
        Command::Predict(args) => train_cli::predict(&args),
        Command::Emit {
            file,
            model,
            overrides,
        } => emit(&file, model, overrides),
    }
}

/// `nnspec emit`: the tokens `model!` expands to, formatted by prettyplease.
fn emit(file: &std::path::Path, model: Option<String>, overrides: Vec<(String, f64)>) -> ExitCode {
    let Some(src) = read_spec(file) else {
        return ExitCode::FAILURE;
    };
    let opts = dsl::emit::Options {
        model,
        check: options(overrides),
        ..dsl::emit::Options::default()
    };
    let tokens = match dsl::emit::expand(&src, &file.display().to_string(), &opts) {
        Ok(tokens) => tokens,
        Err(text) => {
            eprintln!("{}", text.trim_end());
            return ExitCode::FAILURE;
        }
    };
    match syn::parse2::<syn::File>(tokens) {
        Ok(parsed) => {
            out!(
                "{}",
                dsl::emit::comments_from_markers(&prettyplease::unparse(&parsed))
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: internal compiler error: the generated code does not parse: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads a spec file, or prints why it cannot and returns `None`.
fn read_spec(path: &std::path::Path) -> Option<String> {
    let shown = path.display();
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!(
                    "error: {shown}: not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                );
                None
            }
        },
        Err(e) => {
            eprintln!("error: cannot read {shown}: {e}");
            None
        }
    }
}

fn options(overrides: Vec<(String, f64)>) -> dsl::check::Options {
    dsl::check::Options {
        overrides: overrides.into_iter().map(|(n, v)| (None, n, v)).collect(),
    }
}

fn ir(target: &Target, stage: Stage, plan: bool) -> ExitCode {
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

/// Checks and lowers the target model, printing diagnostics on failure.
fn load(target: &Target) -> Option<dsl::ir::Graph> {
    // The named model, or the last one of the file.
    load_all(&target.file, target.model.as_deref(), &target.overrides)?.pop()
}

fn read_json(path: &std::path::Path) -> Option<serde_json::Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("error: {}:{}:{}: {e}", path.display(), e.line(), e.column());
            None
        }
    }
}

fn eval(
    target: &Target,
    params: &std::path::Path,
    inputs: &std::path::Path,
    (grad, input_grads): (bool, bool),
    json: bool,
) -> ExitCode {
    let Some(forward) = load(target) else {
        return ExitCode::FAILURE;
    };
    let graph = match dsl::eval_graph(&forward, grad, input_grads) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: internal compiler error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (Some(pj), Some(ij)) = (read_json(params), read_json(inputs)) else {
        return ExitCode::FAILURE;
    };
    let p = match nnspec::json::read_slots(&graph.params, &pj, "parameters") {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", params.display());
            return ExitCode::FAILURE;
        }
    };
    let x = match nnspec::json::read_slots(&graph.inputs, &ij, "inputs") {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {}: {e}", inputs.display());
            return ExitCode::FAILURE;
        }
    };
    let values = match nnspec::interp::run(&graph, &x, &p) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(message) = non_finite_output(target, &graph, &values) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let result = nnspec::json::result(&graph, &values);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
    } else if let serde_json::Value::Object(obj) = &result {
        for (k, v) in obj {
            outln!("{k}: {v}");
        }
    }
    ExitCode::SUCCESS
}

/// When an output of `eval` is NaN or infinite: which, and the first spec quantity (in
/// evaluation order) that holds a NaN or an infinity.
fn non_finite_output(
    target: &Target,
    graph: &dsl::ir::Graph,
    values: &nnspec::interp::Values<f64>,
) -> Option<String> {
    let (name, _) = graph.outputs.iter().find(|(_, id)| {
        !nnspec::runtime::params::all_finite(values.nodes()[id.index()].as_ref())
    })?;
    let src = read_spec(&target.file).unwrap_or_default();
    let file = target.file.display().to_string();
    let at = nnspec::training::first_non_finite(graph, values, &src, &file)
        .map_or_else(String::new, |q| format!(": it first appears in {q}"));
    Some(format!("`{name}` is not finite (a NaN or an infinity){at}"))
}

/// Checks and lowers every model of a file (or the one `--model` names).
fn load_all(
    file: &std::path::Path,
    model: Option<&str>,
    overrides: &[(String, f64)],
) -> Option<Vec<dsl::ir::Graph>> {
    let src = read_spec(file)?;
    let shown = file.display().to_string();
    let checked = match dsl::check_source(&src, &options(overrides.to_vec())) {
        Ok(c) => c,
        Err(diags) => {
            eprint!("{}", dsl::diag::render_with(&diags, &shown, &src, color()));
            return None;
        }
    };
    let graphs: Vec<dsl::ir::Graph> = checked
        .graphs
        .iter()
        .flatten()
        .filter(|g| model.is_none_or(|m| g.name == m))
        .cloned()
        .collect();
    if graphs.is_empty() {
        match model {
            Some(m) => {
                let models: Vec<&str> = checked
                    .info
                    .models
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect();
                eprintln!(
                    "error: no compilable model `{m}` in {shown} (models: {})",
                    models.join(", ")
                );
            }
            None => eprintln!("error: no model in {shown} has values for all its hyper-parameters"),
        }
        return None;
    }
    Some(graphs)
}

fn gradcheck(check: &GradcheckArgs) -> ExitCode {
    let opts = nnspec::gradcheck::Options {
        rtol: check.rtol,
        atol: check.atol,
        max_coords: check.max_coords.max(1),
        batch: check.batch.max(1),
        ..nnspec::gradcheck::Options::default()
    };
    let mut tally = Tally::default();
    for file in &check.files {
        let Some(graphs) = load_all(file, check.model.as_deref(), &check.overrides) else {
            tally.failed = true;
            continue;
        };
        let stem = file
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        for forward in graphs {
            let model = format!("{stem}/{}", forward.name);
            if forward.losses.is_empty() {
                eprintln!("error: {model} has no loss: there is no gradient to check");
                tally.failed = true;
                continue;
            }
            let graph = match dsl::opt::optimize(&forward) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("error: internal compiler error in {}: {e}", forward.name);
                    tally.failed = true;
                    continue;
                }
            };
            let mut rng = nnspec::sample::Rng::new(check.seed);
            for loss in &graph.losses {
                check_one_loss(&graph, loss, &model, &mut rng, &opts, &mut tally);
            }
        }
    }
    let rule = format!(
        "|got − want| ≤ {:e}·|want| + {:e}·scale",
        check.rtol, check.atol
    );
    let worst = if tally.nan {
        "NaN".to_string()
    } else {
        format!("{:.2e}", tally.worst)
    };
    let coords = format!("{} of {} coordinates", tally.checked, tally.total);
    if tally.failed {
        outln!("gradient check failed ({coords} checked; worst error {worst} × tolerance; {rule})");
        ExitCode::FAILURE
    } else {
        outln!(
            "all gradients agree with central differences ({coords} checked; worst error {worst} × tolerance; {rule})"
        );
        ExitCode::SUCCESS
    }
}

/// What `nnspec gradcheck` has seen so far.
#[derive(Default)]
struct Tally {
    failed: bool,
    nan: bool,
    /// The largest error as a multiple of its tolerance.
    worst: f64,
    checked: usize,
    total: usize,
}

/// Checks one loss of one model and prints its rows.
fn check_one_loss(
    graph: &dsl::ir::Graph,
    loss: &dsl::ir::Loss,
    model: &str,
    rng: &mut nnspec::sample::Rng,
    opts: &nnspec::gradcheck::Options,
    tally: &mut Tally,
) {
    let total: usize = loss
        .wrt
        .iter()
        .map(|&k| {
            let s = graph.params[k as usize].shape;
            let (r, c) = nnspec::interp::dims(s, 1);
            r * c
        })
        .sum();
    let what = if total > opts.max_coords {
        format!(
            "{} of {total} coordinates, chosen at random (--max-coords)",
            opts.max_coords
        )
    } else {
        format!("all {total} coordinates")
    };
    outln!("{model} {}: central differences at {what}", loss.name);
    let report = match nnspec::gradcheck::check_loss(graph, loss, rng, opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {model}: {e}");
            tally.failed = true;
            return;
        }
    };
    tally.checked += report.checked;
    tally.total += report.total;
    if report.all_zero {
        outln!(
            "{model} {}: every gradient is exactly zero at each of {} random points (every ReLU inactive?): agreement not established",
            loss.name,
            report.draws
        );
        tally.failed = true;
        return;
    }
    if report.draws > 1 {
        outln!(
            "note: every gradient was exactly zero at {} random point(s) (every ReLU inactive?); checked at point {}",
            report.draws - 1,
            report.draws
        );
    }
    outln!(
        "  {:<16} {:>15} {:>12} {:>12}  status",
        "parameter",
        "checked",
        "abs. error",
        "÷ tolerance"
    );
    for row in &report.rows {
        let status = if row.checked == 0 {
            "not sampled"
        } else if row.has_nan() {
            "FAILED (NaN)"
        } else if row.agrees() {
            "ok"
        } else {
            "FAILED"
        };
        tally.failed |= !row.agrees();
        tally.nan |= row.has_nan();
        if !row.has_nan() {
            tally.worst = tally.worst.max(row.ratio);
        }
        outln!(
            "  {:<16} {:>15} {:>12.3e} {:>12.2e}  {status}",
            row.param,
            format!("{}/{}", row.checked, row.total),
            row.max_abs_error,
            row.ratio
        );
        if let (false, Some((c, got, want))) = (row.agrees(), row.worst) {
            outln!(
                "    worst at ({}, {}): AD {got:e}, central differences {want:e}",
                c.row,
                c.col
            );
        }
    }
}

fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn check(files: &[PathBuf], dump: Option<Dump>, overrides: Vec<(String, f64)>) -> ExitCode {
    let opts = dsl::check::Options {
        overrides: overrides.into_iter().map(|(n, v)| (None, n, v)).collect(),
    };
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut failed = 0usize;
    let mut errors = 0usize;
    for path in files {
        let shown = path.display().to_string();
        let src = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!(
                        "error: {shown}: not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    );
                    failed += 1;
                    errors += 1;
                    continue;
                }
            },
            Err(e) => {
                eprintln!("error: cannot read {shown}: {e}");
                failed += 1;
                errors += 1;
                continue;
            }
        };
        match dsl::check_source(&src, &opts) {
            Ok(checked) => match dump {
                Some(Dump::Ast) => out!("{}", dsl::dump::ast(&checked.ast, &src)),
                Some(Dump::Shapes) => out!("{}", dsl::check::dump(&checked.info)),
                None => {}
            },
            Err(diags) => {
                eprint!("{}", dsl::diag::render_with(&diags, &shown, &src, color));
                failed += 1;
                errors += diags.len();
            }
        }
    }
    let n = files.len();
    let plural = |k: usize, w: &str| {
        if k == 1 {
            format!("{k} {w}")
        } else {
            format!("{k} {w}s")
        }
    };
    if failed == 0 {
        eprintln!("checked {}: all clean", plural(n, "file"));
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "checked {}: {} in {}",
            plural(n, "file"),
            plural(errors, "error"),
            plural(failed, "file")
        );
        ExitCode::FAILURE
    }
}
