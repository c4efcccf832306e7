//! `nnspec grad FILE`: the backward pass of every loss in the book's notation
//! (`dsl::notation`), one equation per line with the spec line it comes from; `--latex`, a
//! LaTeX document.

use super::{Target, load_all, read_spec};
use nnspec::dsl;
use std::process::ExitCode;

pub(crate) fn grad(target: &Target, latex: bool) -> ExitCode {
    let Some(graphs) = load_all(&target.file, target.model.as_deref(), &target.overrides) else {
        return ExitCode::FAILURE;
    };
    let Some(src) = read_spec(&target.file) else {
        return ExitCode::FAILURE;
    };
    let with_loss: Vec<dsl::ir::Graph> = graphs
        .into_iter()
        .filter(|g| !g.losses.is_empty())
        .collect();
    if with_loss.is_empty() {
        eprintln!(
            "error: {}: no model{} has a loss to differentiate",
            target.file.display(),
            target
                .model
                .as_deref()
                .map_or(String::new(), |m| format!(" `{m}`"))
        );
        return ExitCode::FAILURE;
    }
    let result = if latex {
        dsl::notation::latex(&with_loss, &src)
    } else {
        with_loss
            .iter()
            .map(|g| dsl::notation::text(g, &src))
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| parts.join("\n"))
    };
    match result {
        Ok(text) => {
            out!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: internal compiler error: {e}");
            ExitCode::FAILURE
        }
    }
}
