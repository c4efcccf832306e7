//! `nnspec eval FILE --params P --inputs X`: a model's outputs, losses and (with `--grad`)
//! gradients at given values, read from and written as JSON; a non-finite output names the
//! spec quantity where it first appears.

use super::{Target, load, read_spec};
use nnspec::dsl;
use std::process::ExitCode;

pub(crate) fn eval(
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
