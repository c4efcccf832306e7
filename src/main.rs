//! The `nnspec` command-line tool.
//!
//! `nnspec check FILE…` reports every diagnostic in every file and exits 0 when all are clean,
//! 1 otherwise (2 for a usage error). It never exits with a panic's 101: a compiler bug is
//! reported as an internal error with exit status 1.

#[macro_use]
mod out;
mod cli;
mod train_cli;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cli::check::Dump;
use cli::gradcheck::GradcheckArgs;
use cli::ir::Stage;
use cli::{Target, parse_override};
// `train_cli` reads specs and loads models as every subcommand does.
use cli::{load, read_spec};
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
    /// Print the backward pass of every loss in the book's notation, one equation per line
    /// with the spec line it comes from (eqs. 7.18–7.26 for a deep network).
    Grad {
        #[command(flatten)]
        target: Target,
        /// Print a LaTeX document instead of text.
        #[arg(long)]
        latex: bool,
    },
    /// Draw a model's computation graph as SVG: nodes with spec names and shapes, the plan's
    /// fusion groups and buffers.
    Graph(cli::graph::Args),
    /// Export a model to another engine (JAX): the same functions, parameter names and
    /// checkpoints.
    Export(cli::export::Args),
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
    /// Draw samples from a trained generative model (its generator on z ~ Norm[0, I]) as a
    /// PNG grid of pictures.
    Sample(cli::sample::SampleArgs),
    /// Check every gradient of every loss against central differences in f64.
    Gradcheck(GradcheckArgs),
    /// Lay specs out canonically, and convert them between the Unicode and ASCII spellings.
    Fmt(cli::fmt::FmtArgs),
    /// A language server over standard input and output: diagnostics, hover with shapes,
    /// go to definition, completion of symbols from their ASCII or LaTeX names.
    Lsp,
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

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal compiler error: {info}");
        eprintln!("note: this is a bug in nnspec; please report it with the spec that caused it");
    }));
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `train` refuses the options a run does not read: it needs to know which were given.
    if let (Command::Train(args), Some(("train", sub))) = (&mut cli.command, matches.subcommand()) {
        args.given_in(sub);
    }
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
        } => cli::check::check(&files, dump, overrides),
        Command::Ir {
            target,
            stage,
            plan,
        } => cli::ir::ir(&target, stage, plan),
        Command::Eval {
            target,
            params,
            inputs,
            grad,
            input_grads,
            json,
        } => cli::eval::eval(&target, &params, &inputs, (grad, input_grads), json),
        Command::Grad { target, latex } => cli::grad::grad(&target, latex),
        Command::Graph(args) => cli::graph::graph(&args),
        Command::Export(args) => cli::export::export(&args),
        Command::Gradcheck(args) => cli::gradcheck::gradcheck(&args),
        Command::Train(args) => train_cli::train(&args),
        Command::Predict(args) => train_cli::predict(&args),
        Command::Sample(args) => cli::sample::sample(&args),
        Command::Fmt(args) => cli::fmt::fmt(&args),
        Command::Lsp => cli::lsp::lsp(),
        Command::Emit {
            file,
            model,
            overrides,
        } => cli::emit::emit(&file, model, overrides),
    }
}
