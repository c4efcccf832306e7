//! The book-form corpus (`tests/book/`): specs that each hold one equation of the book as it
//! is printed, with a data file of fixed inputs and parameters and the values the equation
//! must take there, computed independently of nnspec (`tests/book/values.py`, numpy).
//!
//! Every spec is checked, lowered, run through the interpreter in f64 at the stored values and
//! compared with every expected value (relative tolerance 1e-10), and its losses are
//! gradient-checked. All failures of all specs are reported together, each naming its spec
//! and quantity.

use faer::Mat;
use nnspec::dsl::{self, check::Options, ir::Graph, ir::Shape};
use nnspec::{interp, json};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `|got − want| ≤ REL·|want| + ABS`: relative, with a floor for values that are zero.
const REL: f64 = 1e-10;
const ABS: f64 = 1e-14;

fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/book")
}

/// One spec of the corpus: its stem, its source and its data file.
struct Case {
    stem: String,
    src: String,
    data: Value,
}

fn cases() -> Vec<Case> {
    let mut stems: Vec<String> = std::fs::read_dir(book_dir())
        .expect("tests/book")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "nn"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    stems
        .into_iter()
        .map(|stem| {
            let read = |ext: &str| {
                let path = book_dir().join(format!("{stem}.{ext}"));
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            };
            let data =
                serde_json::from_str(&read("json")).unwrap_or_else(|e| panic!("{stem}.json: {e}"));
            Case {
                src: read("nn"),
                stem,
                data,
            }
        })
        .collect()
}

/// `θ_{10}` and `θ_10`, `D_{KL}` and `D_KL`: one spelling for comparing names.
fn plain(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '{' | '}' | ' '))
        .collect()
}

/// The value and shape of a named quantity: an output of the graph (the model function, a
/// loss), or else the last node the lowering named so (an intermediate such as `h_1`).
fn quantity<'v>(
    g: &Graph,
    values: &'v interp::Values<f64>,
    name: &str,
) -> Option<(&'v Mat<f64>, Shape)> {
    let want = plain(name);
    let id = g
        .outputs
        .iter()
        .find(|(n, _)| plain(n) == want)
        .map(|(_, id)| *id)
        .or_else(|| {
            g.nodes
                .iter()
                .rposition(|n| n.name.as_deref().is_some_and(|n| plain(n) == want))
                .map(|i| dsl::ir::NodeId(i as u32))
        })?;
    Some((values.get(id)?, g.node(id).shape))
}

/// Compares two JSON values of the same layout number by number; `at` locates the entry.
fn compare(want: &Value, got: &Value, at: &str, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (k, (w, g)) in w.iter().zip(g).enumerate() {
                compare(w, g, &format!("{at}[{k}]"), out);
            }
        }
        (Value::Number(w), Value::Number(g)) => {
            let (w, g) = (
                w.as_f64().unwrap_or(f64::NAN),
                g.as_f64().unwrap_or(f64::NAN),
            );
            let close = (g - w).abs() <= REL * w.abs() + ABS;
            if !close {
                out.push(format!("{at}: expected {w:e}, got {g:e}"));
            }
        }
        _ => out.push(format!("{at}: expected {want}, got {got}")),
    }
}

/// Everything wrong with one spec, each line naming the spec and the quantity.
fn failures(case: &Case) -> Vec<String> {
    let stem = &case.stem;
    let checked = match dsl::check_source(&case.src, &Options::default()) {
        Ok(c) => c,
        Err(d) => {
            let rendered = dsl::diag::render(&d, &format!("tests/book/{stem}.nn"), &case.src);
            return vec![format!("{stem}: does not compile:\n{rendered}")];
        }
    };
    let model = case.data.get("model").and_then(Value::as_str);
    let Some(g) = checked.graph(model) else {
        return vec![format!("{stem}: no compilable model {model:?}")];
    };
    let slots = |key: &str, slots, what| {
        let empty = Value::Object(Default::default());
        json::read_slots(slots, case.data.get(key).unwrap_or(&empty), what)
            .map_err(|e| format!("{stem}.json: {e}"))
    };
    let (params, inputs) = match (
        slots("params", &g.params, "parameters"),
        slots("inputs", &g.inputs, "inputs"),
    ) {
        (Ok(p), Ok(x)) => (p, x),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let values = match interp::run(g, &inputs, &params) {
        Ok(v) => v,
        Err(e) => return vec![format!("{stem}: the interpreter fails: {e}")],
    };
    let mut out = Vec::new();
    let expected = case.data.get("expected").and_then(Value::as_object);
    let Some(expected) = expected.filter(|e| !e.is_empty()) else {
        return vec![format!("{stem}.json: no expected values")];
    };
    for loss in &g.losses {
        if !expected.keys().any(|k| plain(k) == plain(&loss.name)) {
            out.push(format!(
                "{stem}: the loss `{}` has no expected value",
                loss.name
            ));
        }
    }
    for (name, want) in expected {
        let Some((m, shape)) = quantity(g, &values, name) else {
            out.push(format!("{stem}: the model has no quantity `{name}`"));
            continue;
        };
        compare(
            want,
            &json::write(m, shape),
            &format!("{stem}: {name}"),
            &mut out,
        );
    }
    out.extend(gradient_failures(stem, g, &inputs, &params));
    out
}

/// The step of the central differences.
const STEP: f64 = 1e-5;

/// The rounding noise of a central difference of the loss: each value of the loss is
/// computed to about ε·|L|, so `(L(θ + h) − L(θ − h)) / 2h` is uncertain by about ε·|L|/h;
/// ten times that is noise, not a wrong gradient. It matters for a gradient that is zero in
/// exact arithmetic (self-attention's key biases `β_k`, which shift every score of a query
/// alike) next to a loss in the tens.
fn difference_floor(g: &Graph, loss: &str, inputs: &[Mat<f64>], params: &[Mat<f64>]) -> f64 {
    interp::run(g, inputs, params)
        .and_then(|v| v.scalar(loss))
        .map_or(0.0, |l| 10.0 * f64::EPSILON * l.abs() / STEP)
}

/// Every loss's gradients against central differences, at the stored values.
fn gradient_failures(
    stem: &str,
    g: &Graph,
    inputs: &[Mat<f64>],
    params: &[Mat<f64>],
) -> Vec<String> {
    let mut out = Vec::new();
    for loss in &g.losses {
        match interp::gradcheck(g, &loss.name, inputs, params, STEP) {
            Err(e) => out.push(format!("{stem}: gradient check of {}: {e}", loss.name)),
            Ok(rows) => {
                let floor = crate::specs::rounding_floor(&rows)
                    .max(difference_floor(g, &loss.name, inputs, params));
                out.extend(
                    rows.into_iter()
                        .filter(|row| {
                            row.max_rel_error.is_nan()
                                || (row.max_rel_error >= 1e-6 && row.max_abs_error > floor)
                        })
                        .map(|row| format!("{stem}: ∂{}/∂{row}", loss.name)),
                )
            }
        }
    }
    out
}

#[test]
fn the_corpus_covers_the_book() {
    let all = cases();
    assert!(all.len() >= 25, "only {} book-form specs", all.len());
    for case in &all {
        assert!(
            case.src.lines().next().is_some_and(|l| l.starts_with('#')),
            "{}: a book-form spec starts with a comment citing its equation",
            case.stem
        );
    }
}

#[test]
fn every_book_form_computes_the_books_value() {
    let all = cases();
    let mut report = Vec::new();
    let mut failing = Vec::new();
    for case in &all {
        let f = failures(case);
        if !f.is_empty() {
            failing.push(case.stem.clone());
            report.extend(f);
        }
    }
    assert!(
        failing.is_empty(),
        "{} of {} book-form specs fail ({}):\n\n{}",
        failing.len(),
        all.len(),
        failing.join(", "),
        report.join("\n")
    );
}
