//! `nnspec check FILE…`: every diagnostic of every file, and `--dump ast|shapes`.

use nnspec::dsl;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Dump {
    /// The syntax tree, as S-expressions.
    Ast,
    /// Every named quantity with its type in the book's notation.
    Shapes,
}

pub(crate) fn check(
    files: &[PathBuf],
    dump: Option<Dump>,
    overrides: Vec<(String, f64)>,
) -> ExitCode {
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
