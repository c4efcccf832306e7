//! `nnspec export FILE --to jax|pytorch [-o DIR]`: a model as a module for another engine, with the
//! spec's parameter names (the exporter is `dsl::export`).

use super::{Target, options, read_spec};
use nnspec::dsl;
use std::path::PathBuf;
use std::process::ExitCode;

/// The engines `--to` names.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum To {
    /// A Python module of pure `jax.numpy` functions.
    Jax,
    /// A Python module with a PyTorch `nn.Module`.
    Pytorch,
}

/// `nnspec export`'s arguments.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    target: Target,
    /// The engine to export to.
    #[arg(long, value_enum)]
    to: To,
    /// Write the module into this directory (as `<model>.py`) instead of printing it.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
}

pub(crate) fn export(args: &Args) -> ExitCode {
    let file = &args.target.file;
    let Some(src) = read_spec(file) else {
        return ExitCode::FAILURE;
    };
    let opts = dsl::export::Options {
        model: args.target.model.clone(),
        check: options(args.target.overrides.clone()),
    };
    let target = match args.to {
        To::Jax => dsl::export::Target::Jax,
        To::Pytorch => dsl::export::Target::PyTorch,
    };
    let exported = match dsl::export::export(&src, &file.display().to_string(), target, &opts) {
        Ok(e) => e,
        Err(message) => {
            eprintln!("{}", message.trim_end());
            return ExitCode::FAILURE;
        }
    };
    let Some(dir) = &args.out else {
        out!("{}", exported.code);
        return ExitCode::SUCCESS;
    };
    let path = dir.join(&exported.file_name);
    if let Err(e) =
        std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &exported.code))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    outln!("{}", path.display());
    ExitCode::SUCCESS
}
