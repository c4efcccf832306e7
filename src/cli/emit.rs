//! `nnspec emit FILE`: the Rust code `model!` generates for a spec, formatted.

use super::{options, read_spec};
use nnspec::dsl;
use std::process::ExitCode;

/// `nnspec emit`: the tokens `model!` expands to, formatted by prettyplease.
pub(crate) fn emit(
    file: &std::path::Path,
    model: Option<String>,
    overrides: Vec<(String, f64)>,
) -> ExitCode {
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
