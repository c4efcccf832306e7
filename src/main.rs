//! The `nnspec` command-line tool.
//!
//! `nnspec check FILE…` reports every diagnostic in every file and exits 0 when all are clean,
//! 1 otherwise (2 for a usage error). It never exits with a panic's 101: a compiler bug is
//! reported as an internal error with exit status 1.

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
    /// Print a model's IR: as lowered from the spec, or with its gradients.
    Ir {
        /// The spec file.
        file: PathBuf,
        /// Which stage to print.
        #[arg(long, value_enum, default_value = "lowered")]
        stage: Stage,
        /// The model to print (default: the last one in the file).
        #[arg(long)]
        model: Option<String>,
        /// Also print the memory plan: fusion groups, buffers, what the backward keeps.
        #[arg(long)]
        plan: bool,
        /// Override a hyper-parameter, e.g. `--set K=5` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_override)]
        overrides: Vec<(String, f64)>,
    },
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
    let name = dsl::names::word(name.trim()).to_string();
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
            file,
            stage,
            model,
            plan,
            overrides,
        } => ir(&file, stage, model.as_deref(), plan, overrides),
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

fn ir(
    path: &std::path::Path,
    stage: Stage,
    model: Option<&str>,
    plan: bool,
    overrides: Vec<(String, f64)>,
) -> ExitCode {
    let Some(src) = read_spec(path) else {
        return ExitCode::FAILURE;
    };
    let shown = path.display().to_string();
    let checked = match dsl::check_source(&src, &options(overrides)) {
        Ok(c) => c,
        Err(diags) => {
            eprint!("{}", dsl::diag::render_with(&diags, &shown, &src, color()));
            return ExitCode::FAILURE;
        }
    };
    let Some(graph) = checked.graph(model) else {
        let names: Vec<&str> = checked
            .graphs
            .iter()
            .flatten()
            .map(|g| g.name.as_str())
            .collect();
        match model {
            Some(m) => eprintln!(
                "error: no compilable model `{m}` in {shown} (models: {})",
                names.join(", ")
            ),
            None => eprintln!("error: no model in {shown} has values for all its hyper-parameters"),
        }
        return ExitCode::FAILURE;
    };
    let result = match stage {
        Stage::Lowered => Ok(graph.clone()),
        Stage::Grad => dsl::ad::grad_all(graph),
        Stage::Opt => dsl::training_graph(graph),
    };
    match result {
        Ok(g) => {
            print!("{g}");
            if plan {
                print!("{}", dsl::opt::plan::render(&g, &dsl::opt::plan::plan(&g)));
            }
        }
        Err(e) => {
            eprintln!("error: internal compiler error: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
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
                Some(Dump::Ast) => print!("{}", dsl::dump::ast(&checked.ast, &src)),
                Some(Dump::Shapes) => print!("{}", dsl::check::dump(&checked.info)),
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
