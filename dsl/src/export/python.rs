//! What the Python targets share: literals (names as strings, floats that read back to the
//! same `f64`), the tables of parameter and input shapes, the constant matrices, and which
//! parameters each loss trains.

use crate::ir::{Graph, Init, Op, Role};
use std::fmt::Write;

/// A Python string literal (the names are Unicode; quotes and backslashes escaped).
pub(super) fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A float literal Python reads back to the same `f64`.
pub(super) fn float(x: f64) -> String {
    if x.is_nan() {
        "float(\"nan\")".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "float(\"inf\")"
        } else {
            "-float(\"inf\")"
        }
        .into()
    } else {
        format!("{x:?}")
    }
}

/// A structured parameter's initial value (`ir::Init::Structured`) in the array module `m`
/// (`jnp`, `torch`) with the dtype argument `dtype`: the identity on a trained diagonal plus
/// `std ·` the standard normal draw `normal` inside the structure, 0 outside.
pub(super) fn structured(
    (m, dtype): (&str, &str),
    (rows, cols): (usize, usize),
    band: crate::ir::Band,
    normal: &str,
) -> String {
    let crate::ir::Band {
        below,
        above,
        diagonal,
        std,
    } = band;
    let ones = format!("{m}.ones(({rows}, {cols}), {dtype})");
    let eye = format!("{m}.eye({rows}, {cols}, {dtype})");
    let mask: Vec<String> = [
        below.then(|| format!("{m}.tril({ones}, -1)")),
        above.then(|| format!("{m}.triu({ones}, 1)")),
        diagonal.then(|| eye.clone()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let noise = format!("({}) * {} * {normal}", mask.join(" + "), float(std));
    match (mask.is_empty(), diagonal) {
        (true, _) => format!("{m}.zeros(({rows}, {cols}), {dtype})"),
        (false, true) => format!("{eye} + {noise}"),
        (false, false) => noise,
    }
}

/// `PARAMS`, `INPUTS`, `LABELS` and `NOISE`: each parameter's shape, each input's rows and
/// columns per example, the label sets (of inputs, and of parameters that are tables of
/// labels), and each noise input's law.
pub(super) fn shapes(out: &mut String, g: &Graph) {
    let params: Vec<String> = g
        .params
        .iter()
        .map(|p| {
            format!(
                "    {}: ({}, {}),",
                quoted(&p.name),
                p.shape.rows,
                p.shape.cols_for(1)
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "# Each parameter's shape (rows, columns).\nPARAMS = {{\n{}\n}}",
        params.join("\n")
    );
    let inputs: Vec<String> = g
        .inputs
        .iter()
        .map(|s| {
            let role = match s.role {
                Role::Input => "input",
                Role::Target => "target",
                Role::Noise => "noise",
                Role::Param => "param",
            };
            format!(
                "    {}: ({}, {}),  # {role}",
                quoted(&s.name),
                s.shape.rows,
                s.shape.cols_for(1)
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "# Each input's rows and columns per example.\nINPUTS = {{\n{}\n}}",
        inputs.join("\n")
    );
    // A parameter's labels: a table of labels (a policy's action per state, `π : {1 … A}^{S}`).
    let labels: Vec<String> = (g.inputs.iter().chain(&g.params))
        .filter_map(|s| Some(format!("{}: {:?}", quoted(&s.name), s.label_set()?)))
        .collect();
    let _ = writeln!(
        out,
        "# The label sets (first label, count) of class labels and vectors of labels.\nLABELS = {{{}}}",
        labels.join(", ")
    );
    let noise: Vec<String> = g
        .inputs
        .iter()
        .filter(|s| s.role == Role::Noise)
        .filter_map(|s| Some(format!("{}: {}", quoted(&s.name), law(s.dist)?)))
        .collect();
    let _ = writeln!(
        out,
        "# Each noise input's law as the spec declares it: (\"normal\", mean, variance),\n\
         # (\"uniform\", lo, hi) or (\"bernoulli\", p).\nNOISE = {{{}}}",
        noise.join(", ")
    );
}

/// A noise input's law as a Python tuple (`Norm[0, I]` when the spec names none).
fn law(dist: Option<Init>) -> Option<String> {
    Some(
        match dist.unwrap_or(Init::Normal {
            mean: 0.0,
            variance: 1.0,
        }) {
            Init::Normal { mean, variance } => {
                format!("(\"normal\", {}, {})", float(mean), float(variance))
            }
            Init::Uniform { lo, hi } => format!("(\"uniform\", {}, {})", float(lo), float(hi)),
            Init::Bernoulli { p } => format!("(\"bernoulli\", {})", float(p)),
            _ => return None,
        },
    )
}

/// Each constant matrix of the graph (`Op::Table`) as a NumPy array `_TABLE_k`.
pub(super) fn tables(out: &mut String, g: &Graph) {
    for (k, t) in g.tables.iter().enumerate() {
        let (rows, cols) = g
            .nodes
            .iter()
            .find(|n| n.op == Op::Table(k as u32))
            .map_or((0, 0), |n| (n.shape.rows, n.shape.cols_for(1)));
        let nums: Vec<String> = t.iter().map(|v| float(*v)).collect();
        let _ = writeln!(
            out,
            "# A constant matrix of the spec, folded by the compiler (column by column).\n_TABLE_{k} = np.array([{}]).reshape({cols}, {rows}).T",
            nums.join(", ")
        );
    }
}

/// `{"L": ["β_0", …]}`: the parameters each loss trains.
pub(super) fn trains(g: &Graph) -> String {
    let trains: Vec<String> = g
        .losses
        .iter()
        .map(|l| {
            let names: Vec<String> = l
                .wrt
                .iter()
                .map(|&k| quoted(&g.params[k as usize].name))
                .collect();
            format!("{}: [{}]", quoted(&l.name), names.join(", "))
        })
        .collect();
    format!("{{{}}}", trains.join(", "))
}
