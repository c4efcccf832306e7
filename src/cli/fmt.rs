//! `nnspec fmt FILE… [--ascii | --unicode] [--write | --check]`: the canonical layout of
//! specs, and their conversion between the Unicode and ASCII spellings (`dsl::fmt`).

use super::{color, read_spec};
use nnspec::dsl;
use nnspec::dsl::fmt::Spelling;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct FmtArgs {
    /// The spec files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write every symbol in ASCII (`beta`, `R^{D x D}`, `sum`).
    #[arg(long, conflicts_with = "unicode")]
    ascii: bool,
    /// Write every symbol as the book prints it (`β`, `ℝ^{D×D}`, `∑`).
    #[arg(long)]
    unicode: bool,
    /// Rewrite the files in place instead of printing them.
    #[arg(short, long, conflicts_with = "check")]
    write: bool,
    /// Print nothing; exit 1 if a file is not formatted.
    #[arg(long)]
    check: bool,
}

pub(crate) fn fmt(args: &FmtArgs) -> ExitCode {
    let spelling = if args.ascii {
        Spelling::Ascii
    } else if args.unicode {
        Spelling::Unicode
    } else {
        Spelling::Keep
    };
    let mut failed = false;
    for path in &args.files {
        let Some(src) = read_spec(path) else {
            failed = true;
            continue;
        };
        let shown = path.display().to_string();
        let formatted = match dsl::fmt::format(&src, spelling) {
            Ok(f) => f,
            Err(diags) => {
                eprint!("{}", dsl::diag::render_with(&diags, &shown, &src, color()));
                failed = true;
                continue;
            }
        };
        if args.check {
            if formatted != src {
                eprintln!("{shown}: not formatted");
                failed = true;
            }
        } else if args.write {
            if formatted != src
                && let Err(e) = std::fs::write(path, &formatted)
            {
                eprintln!("error: cannot write {shown}: {e}");
                failed = true;
            }
        } else {
            out!("{formatted}");
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
