//! The JSON forms of `nnspec eval`: parameters, inputs and results in the book's shapes.
//!
//! | value | JSON |
//! | --- | --- |
//! | a scalar parameter `ℝ` | a number |
//! | a vector `ℝ^{D}` | a flat list of D numbers |
//! | a matrix `ℝ^{D×E}` | a list of D rows of E numbers |
//! | a batch of column vectors `ℝ^{D}` per example | a list of D rows of B numbers |
//! | a scalar per example, or class labels | a list of B numbers (labels: integers) |
//! | a matrix `ℝ^{D×N}` per example | a list of B examples of D rows of N numbers, or D rows of N·B numbers (example by example) |
//!
//! Keys are the names as the spec writes them (`"β_0"`, `"Ω_0"`); ASCII spellings
//! (`"beta_0"`) are accepted too.

use faer::Mat;
use nnspec_dsl::ir::{Cols, Graph, Shape, Slot, Wrt};
use serde_json::{Map, Value};

/// A named array that is missing, unexpected or of the wrong shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError(pub String);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn book_shape(shape: Shape) -> String {
    match (shape.rows, shape.cols) {
        (1, Cols::Fixed(1)) => "ℝ".into(),
        (r, Cols::Fixed(1)) => format!("ℝ^{{{r}}}"),
        (r, Cols::Fixed(c)) => format!("ℝ^{{{r}×{c}}}"),
        (1, Cols::EXAMPLE) => "ℝ per example (a list of B numbers)".into(),
        (r, Cols::EXAMPLE) => format!("ℝ^{{{r}}} per example ({r} rows of B numbers)"),
        (r, Cols::Batch(n)) => {
            format!(
                "ℝ^{{{r}×{n}}} per example (B lists of {r} rows of {n} numbers, or {r} rows of \
                 {n}·B numbers, example by example)"
            )
        }
    }
}

fn numbers(v: &Value, what: &str) -> Result<Vec<f64>, JsonError> {
    let list = v
        .as_array()
        .ok_or_else(|| JsonError(format!("`{what}`: expected a list of numbers, found {v}")))?;
    list.iter()
        .map(|x| {
            x.as_f64()
                .ok_or_else(|| JsonError(format!("`{what}`: `{x}` is not a number")))
        })
        .collect()
}

/// Reads one array for a slot; `batch` is the batch size if already known.
fn read(slot: &Slot, v: &Value, batch: Option<usize>) -> Result<Mat<f64>, JsonError> {
    let name = &slot.name;
    let want = book_shape(slot.shape);
    let wrong = |got: String| JsonError(format!("`{name}` should be {want}, but it is {got}"));
    match (slot.shape.rows, slot.shape.cols) {
        (1, Cols::Fixed(1)) => match v {
            Value::Number(n) => Ok(Mat::from_fn(1, 1, |_, _| n.as_f64().unwrap_or(f64::NAN))),
            Value::Array(a) if a.len() == 1 => read(slot, &a[0], batch),
            other => Err(wrong(describe(other))),
        },
        // A batch of scalars: a flat list of B numbers, or one row of B.
        (1, Cols::EXAMPLE) if matches!(v, Value::Array(a) if a.len() == 1 && a[0].is_array()) => {
            read(slot, &v[0], batch)
        }
        // One example of a vector input, given as a flat list: a batch of one.
        (r, Cols::EXAMPLE)
            if r > 1
                && matches!(v, Value::Array(a) if a.len() == r && a.iter().all(Value::is_number)) =>
        {
            let xs = numbers(v, name)?;
            Ok(Mat::from_fn(r, 1, |i, _| xs[i]))
        }
        (r, Cols::Fixed(1)) | (r @ 1, Cols::EXAMPLE) => {
            let xs = numbers(v, name).map_err(|_| wrong(describe(v)))?;
            let expected = if slot.shape.cols == Cols::EXAMPLE {
                batch.unwrap_or(xs.len())
            } else {
                r
            };
            if xs.len() != expected {
                return Err(wrong(format!("a list of {} numbers", xs.len())));
            }
            let (rows, cols) = if slot.shape.cols == Cols::EXAMPLE {
                (1, xs.len())
            } else {
                (r, 1)
            };
            Ok(Mat::from_fn(rows, cols, |i, j| xs[i + j]))
        }
        (_, Cols::Batch(n))
            if n > 1 && v.get(0).and_then(|e| e.get(0)).is_some_and(Value::is_array) =>
        {
            examples(slot, v, batch)
        }
        (r, cols) => {
            let rows = v.as_array().ok_or_else(|| wrong(describe(v)))?;
            if rows.len() != r {
                return Err(wrong(format!("a list of {} rows", rows.len())));
            }
            let rows: Vec<Vec<f64>> = rows
                .iter()
                .map(|row| numbers(row, name))
                .collect::<Result<_, _>>()?;
            let c = match cols {
                Cols::Fixed(c) => c,
                Cols::Batch(n) => match batch {
                    Some(b) => n * b,
                    None => {
                        let c = rows.first().map_or(0, Vec::len);
                        if !c.is_multiple_of(n) {
                            return Err(wrong(format!(
                                "rows of {c} numbers, not a multiple of {n}"
                            )));
                        }
                        c
                    }
                },
            };
            if let Some(bad) = rows.iter().find(|row| row.len() != c) {
                return Err(wrong(format!(
                    "a row of {} numbers where {c} were expected",
                    bad.len()
                )));
            }
            Ok(Mat::from_fn(r, c, |i, j| rows[i][j]))
        }
    }
}

/// A matrix per example written as a list of examples, each a list of D rows of N numbers:
/// the `D × (N·B)` batch, example `b`'s columns side by side.
fn examples(slot: &Slot, v: &Value, batch: Option<usize>) -> Result<Mat<f64>, JsonError> {
    let (name, r) = (&slot.name, slot.shape.rows);
    let n = slot.shape.cols_for(1);
    let want = book_shape(slot.shape);
    let wrong = |got: String| JsonError(format!("`{name}` should be {want}, but it is {got}"));
    let list = v.as_array().ok_or_else(|| wrong(describe(v)))?;
    if let Some(b) = batch.filter(|b| *b != list.len()) {
        return Err(wrong(format!(
            "a list of {} examples where {b} were expected",
            list.len()
        )));
    }
    let mut m = Mat::zeros(r, n * list.len());
    for (b, example) in list.iter().enumerate() {
        let rows = example.as_array().filter(|rows| rows.len() == r);
        let rows = rows.ok_or_else(|| {
            wrong(format!(
                "a list whose example [{b}] is {}",
                describe(example)
            ))
        })?;
        for (i, row) in rows.iter().enumerate() {
            let xs = numbers(row, name)?;
            if xs.len() != n {
                return Err(wrong(format!(
                    "a list whose example [{b}] has a row of {} numbers where {n} were expected",
                    xs.len()
                )));
            }
            for (t, x) in xs.iter().enumerate() {
                m[(i, b * n + t)] = *x;
            }
        }
    }
    Ok(m)
}

/// Checks every value of a slot with labels (a class label, or each entry of a vector of
/// labels) against its set, with the runtime's test of a label; an error names the key and
/// the index of the value as the JSON writes it (`y[3]`, `y[1][0]`, 0-based).
fn check_labels(slot: &Slot, v: &Value, m: &Mat<f64>) -> Result<(), JsonError> {
    let Some((lo, n)) = slot.label_set() else {
        return Ok(());
    };
    let nested = matches!(v, Value::Array(a) if a.iter().any(Value::is_array));
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            let x = m[(i, j)];
            if nnspec_runtime::labels::label_index(x, lo, n).is_some() {
                continue;
            }
            let at = if nested {
                format!("[{i}][{j}]")
            } else if m.ncols() == 1 && m.nrows() > 1 {
                format!("[{i}]")
            } else if matches!(v, Value::Array(_)) {
                format!("[{j}]")
            } else {
                String::new()
            };
            return Err(JsonError(format!(
                "`{}`{at}: label {x} is not in {{{lo} … {}}}",
                slot.name,
                i64::from(lo) + n as i64 - 1
            )));
        }
    }
    Ok(())
}

fn describe(v: &Value) -> String {
    match v {
        Value::Number(_) => "a number".into(),
        Value::Array(a) => format!("a list of {}", a.len()),
        Value::Object(_) => "an object".into(),
        Value::String(_) => "a string".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Null => "null".into(),
    }
}

/// Reads the arrays for `slots` from a JSON object; every slot present, nothing extra.
pub fn read_slots(slots: &[Slot], json: &Value, what: &str) -> Result<Vec<Mat<f64>>, JsonError> {
    let obj = json
        .as_object()
        .ok_or_else(|| JsonError(format!("the {what} file must be a JSON object")))?;
    // Keys are names as a spec writes them, in any spelling (`theta_10`, `θ_{10}`, `θ₁₀`).
    let mut by_name = Map::new();
    let mut written: Map<String, Value> = Map::new();
    for (k, v) in obj {
        let canon = nnspec_dsl::names::canonical(k);
        if let Some(Value::String(first)) = written.get(&canon) {
            return Err(JsonError(format!(
                "`{first}` and `{k}` are both the {what} `{canon}`"
            )));
        }
        written.insert(canon.clone(), Value::String(k.clone()));
        by_name.insert(canon, v.clone());
    }
    for k in by_name.keys() {
        if !slots.iter().any(|s| s.name == *k) {
            let names: Vec<&str> = slots.iter().map(|s| s.name.as_str()).collect();
            return Err(JsonError(format!(
                "unexpected {what} `{k}`: the model's {what} are {}",
                names.join(", ")
            )));
        }
    }
    let mut batch = None;
    let mut out = Vec::new();
    for s in slots {
        let v = by_name.get(&s.name).ok_or_else(|| {
            JsonError(format!(
                "missing {what} `{}` ({})",
                s.name,
                book_shape(s.shape)
            ))
        })?;
        let m = read(s, v, batch)?;
        check_labels(s, v, &m)?;
        if let Cols::Batch(n) = s.shape.cols {
            batch = Some(m.ncols() / n);
        }
        out.push(m);
    }
    Ok(out)
}

/// A matrix in the JSON form of its shape.
pub fn write(m: &Mat<f64>, shape: Shape) -> Value {
    let num = |x: f64| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number);
    match (shape.rows, shape.cols) {
        (1, Cols::Fixed(1)) => num(m[(0, 0)]),
        (_, Cols::Fixed(1)) => Value::Array((0..m.nrows()).map(|i| num(m[(i, 0)])).collect()),
        (1, Cols::EXAMPLE) => Value::Array((0..m.ncols()).map(|j| num(m[(0, j)])).collect()),
        _ => Value::Array(
            (0..m.nrows())
                .map(|i| Value::Array((0..m.ncols()).map(|j| num(m[(i, j)])).collect()))
                .collect(),
        ),
    }
}

/// The result object of `nnspec eval`: `{"loss", "losses", "outputs", "grads"}`.
pub fn result(g: &Graph, values: &crate::interp::Values<f64>) -> Value {
    let mut outputs = Map::new();
    let mut grads = Map::new();
    let mut input_grads = Map::new();
    let mut losses = Map::new();
    for gr in &g.grads {
        let Some(m) = values.get(gr.node) else {
            continue;
        };
        let v = write(m, g.node(gr.node).shape);
        match gr.wrt {
            Wrt::Input(k) => input_grads.insert(g.inputs[k as usize].name.clone(), v),
            Wrt::Param(k) => grads.insert(g.params[k as usize].name.clone(), v),
        };
    }
    for (name, id) in &g.outputs {
        let Some(m) = values.get(*id) else { continue };
        let v = write(m, g.node(*id).shape);
        if g.is_grad(name) {
            continue;
        } else if g.losses.iter().any(|l| l.name == *name) {
            losses.insert(name.clone(), v);
        } else {
            outputs.insert(name.clone(), v);
        }
    }
    let mut obj = Map::new();
    if let Some(first) = g.losses.first().and_then(|l| losses.get(&l.name)) {
        obj.insert("loss".into(), first.clone());
    }
    if losses.len() > 1 {
        obj.insert("losses".into(), Value::Object(losses));
    }
    obj.insert("outputs".into(), Value::Object(outputs));
    if !grads.is_empty() {
        obj.insert("grads".into(), Value::Object(grads));
    }
    if !input_grads.is_empty() {
        obj.insert("input_grads".into(), Value::Object(input_grads));
    }
    Value::Object(obj)
}
