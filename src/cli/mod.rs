//! What the subcommands share: the model a command targets (`Target`), reading a spec, the
//! checked and lowered models of a file with their diagnostics rendered, and `--set`
//! overrides. Each subcommand is a file of its own; `train` and `predict` are
//! `train_cli.rs`.

pub(crate) mod check;
pub(crate) mod emit;
pub(crate) mod eval;
pub(crate) mod export;
pub(crate) mod fmt;
pub(crate) mod grad;
pub(crate) mod gradcheck;
pub(crate) mod graph;
pub(crate) mod ir;
pub(crate) mod lsp;
pub(crate) mod sample;

use nnspec::dsl;
use std::io::IsTerminal;
use std::path::PathBuf;

/// What to evaluate a spec at, and which model.
#[derive(clap::Args)]
pub(crate) struct Target {
    /// The spec file.
    pub(crate) file: PathBuf,
    /// The model (default: the last one in the file).
    #[arg(long)]
    pub(crate) model: Option<String>,
    /// Override a hyper-parameter, e.g. `--set K=5` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_override)]
    pub(crate) overrides: Vec<(String, f64)>,
}
pub(crate) fn parse_override(s: &str) -> Result<(String, f64), String> {
    let (name, value) = s.split_once('=').ok_or("expected NAME=VALUE, e.g. K=5")?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not a number", value.trim()))?;
    let name = dsl::names::canonical_name(name)
        .ok_or_else(|| format!("`{}` is not a name", name.trim()))?;
    Ok((name, value))
}

/// Reads a spec file, or prints why it cannot and returns `None`.
pub(crate) fn read_spec(path: &std::path::Path) -> Option<String> {
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

pub(crate) fn options(overrides: Vec<(String, f64)>) -> dsl::check::Options {
    dsl::check::Options {
        overrides: overrides.into_iter().map(|(n, v)| (None, n, v)).collect(),
    }
}

/// Checks and lowers the target model, printing diagnostics on failure.
pub(crate) fn load(target: &Target) -> Option<dsl::ir::Graph> {
    // The named model, or the last one of the file.
    load_all(&target.file, target.model.as_deref(), &target.overrides)?.pop()
}

/// Checks and lowers every model of a file (or the one `--model` names).
pub(crate) fn load_all(
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

pub(crate) fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The `--set` values a checkpoint was trained with (its metadata `overrides`).
pub(crate) fn saved_overrides(
    meta: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<(String, f64)>, String> {
    let mut saved: Vec<(String, f64)> = Vec::new();
    for item in meta.get("overrides").map_or("", String::as_str).split(',') {
        if item.is_empty() {
            continue;
        }
        let (k, v) = item
            .split_once('=')
            .and_then(|(k, v)| Some((k.to_string(), v.parse::<f64>().ok()?)))
            .ok_or_else(|| format!("checkpoint metadata `overrides` has `{item}`"))?;
        saved.push((k, v));
    }
    Ok(saved)
}
