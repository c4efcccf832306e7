//! The ONNX target: a model's function (inference) as an ONNX graph, opset [`OPSET`], with
//! the parameters as initialisers under their spec names (`nnspec export --to onnx`).
//!
//! Layout: ONNX models take a batch as rows, so each data input `x : ℝ^D` is a graph input
//! of shape `[B, D]` (`B` symbolic) and the output `[B, K]`; inside, the graph transposes to
//! nnspec's columns-per-example layout and back, so every op keeps its meaning from the IR.
//! When the checkpoint was trained on standardised data, its mean and standard deviation are
//! applied first (`(x − mean) / std`), so the file takes the raw features `nnspec predict`
//! reads. Tensors are `float` or `double` ([`Precision`]).
//!
//! What the graph can hold is the dense networks' ops (products, element-wise functions,
//! broadcasts, sums over rows or columns, softmax, log-sum-exp, rows, slices,
//! concatenation); any other op is refused by name, as the Python targets do, and nothing is
//! written. The protobuf encoding is `export/proto.rs`.

use super::proto::Msg;
use crate::ir::{Cols, Graph, NodeId, Op, Role, Unary};

/// The ONNX operator set the graph uses (Softmax over one axis, `ReduceSum`'s axes as an
/// input, `HardSwish`: opset 14 or later; `ReduceLogSumExp`'s axes as an attribute: before 18).
pub const OPSET: i64 = 17;
/// The IR version of the file (the one that goes with opset 17).
const IR_VERSION: i64 = 8;

/// The element type of the tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// `float` (ONNX `FLOAT`, 1).
    F32,
    /// `double` (ONNX `DOUBLE`, 11).
    F64,
}

impl Precision {
    fn elem(self) -> i64 {
        match self {
            Precision::F32 => 1,
            Precision::F64 => 11,
        }
    }

    fn raw(self, values: &[f64]) -> Vec<u8> {
        match self {
            Precision::F32 => values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect(),
            Precision::F64 => values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        }
    }
}

/// Each feature's mean and standard deviation: the graph computes `(x − mean) / std` first.
#[derive(Clone, Debug)]
pub struct Scale {
    /// The means.
    pub mean: Vec<f64>,
    /// The standard deviations.
    pub std: Vec<f64>,
}

/// What the file is built from besides the graph.
#[derive(Clone, Debug)]
pub struct Values {
    /// Each parameter of the graph (in `Graph::params` order): its entries row by row.
    pub params: Vec<Vec<f64>>,
    /// The data's standardisation, if the model was trained on standardised inputs.
    pub standardize: Option<Scale>,
    /// The tensors' element type.
    pub precision: Precision,
}

/// The ONNX model (its bytes) of `g`'s model function, the graph prepared as for the other
/// targets (`super::prepare`). `Err` names the construct it cannot express.
pub fn model(g: &Graph, file: &str, values: &Values) -> Result<Vec<u8>, String> {
    let (out_name, out) = g
        .outputs
        .iter()
        .find(|(n, _)| !g.losses.iter().any(|l| l.name == *n) && !g.is_grad(n))
        .ok_or_else(|| "a model without a model function (only losses)".to_string())?;
    let mut b = Builder {
        g,
        precision: values.precision,
        names: vec![String::new(); g.nodes.len()],
        nodes: Vec::new(),
        inits: Vec::new(),
        inputs: Vec::new(),
        batch: None,
        fresh: 0,
    };
    b.params(values)?;
    let needed = needed(g, *out);
    for i in (0..g.nodes.len()).filter(|&i| needed[i]) {
        b.node(NodeId(i as u32), values)?;
    }
    let output = b.output(out_name, *out)?;
    let mut graph = Msg::default();
    for n in &b.nodes {
        graph.msg(1, n);
    }
    graph.str(2, &g.name);
    for t in &b.inits {
        graph.msg(5, t);
    }
    graph.str(
        10,
        &format!(
            "The model function of `{}` in {file}, exported by nnspec.",
            g.name
        ),
    );
    for i in &b.inputs {
        graph.msg(11, i);
    }
    graph.msg(12, &output);
    let mut opset = Msg::default();
    opset.str(1, "").int(2, OPSET);
    let mut model = Msg::default();
    model
        .int(1, IR_VERSION)
        .str(2, "nnspec")
        .str(3, env!("CARGO_PKG_VERSION"))
        .msg(7, &graph)
        .msg(8, &opset);
    Ok(model.0)
}

/// Which nodes the value `out` needs.
fn needed(g: &Graph, out: NodeId) -> Vec<bool> {
    let mut needed = vec![false; g.nodes.len()];
    let mut stack = vec![out];
    while let Some(id) = stack.pop() {
        if !std::mem::replace(&mut needed[id.index()], true) {
            stack.extend(g.node(id).args.iter().copied());
        }
    }
    needed
}

/// The ONNX graph being built.
struct Builder<'g> {
    g: &'g Graph,
    precision: Precision,
    /// The ONNX value holding each IR node (once built).
    names: Vec<String>,
    nodes: Vec<Msg>,
    inits: Vec<Msg>,
    inputs: Vec<Msg>,
    /// A 1-D `int64` tensor `[B]`, once an input has given it.
    batch: Option<String>,
    fresh: usize,
}

impl Builder<'_> {
    /// A new value name.
    fn fresh(&mut self, stem: &str) -> String {
        self.fresh += 1;
        format!("{stem}#{}", self.fresh)
    }

    /// An ONNX node; its output is returned.
    fn op(&mut self, op_type: &str, inputs: &[&str], attrs: &[Msg]) -> String {
        let out = self.fresh(op_type);
        let mut n = Msg::default();
        for i in inputs {
            n.str(1, i);
        }
        n.str(2, &out).str(3, &out).str(4, op_type);
        for a in attrs {
            n.msg(5, a);
        }
        self.nodes.push(n);
        out
    }

    /// An initialiser of the model's element type with these dims and row-major values.
    fn tensor(&mut self, name: &str, dims: &[i64], values: &[f64]) -> String {
        let mut t = Msg::default();
        t.ints(1, dims)
            .int(2, self.precision.elem())
            .str(8, name)
            .bytes(9, &self.precision.raw(values));
        self.inits.push(t);
        name.to_string()
    }

    /// A constant `int64` vector (shapes, axes, slice bounds).
    fn ints(&mut self, stem: &str, values: &[i64]) -> String {
        let name = self.fresh(stem);
        let mut t = Msg::default();
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        t.ints(1, &[values.len() as i64])
            .int(2, 7)
            .str(8, &name)
            .bytes(9, &raw);
        self.inits.push(t);
        name
    }

    /// The parameters as initialisers under their spec names.
    fn params(&mut self, values: &Values) -> Result<(), String> {
        for (k, p) in self.g.params.iter().enumerate() {
            let (r, c) = (p.shape.rows, p.shape.cols_for(1));
            let v = values
                .params
                .get(k)
                .filter(|v| v.len() == r * c)
                .ok_or_else(|| format!("no values of shape {r}×{c} for `{}`", p.name))?;
            self.tensor(&p.name, &[r as i64, c as i64], v);
        }
        Ok(())
    }

    /// The value of `shape`'s columns: a number, or the batch for one column per example.
    fn cols_dim(&self, cols: Cols) -> Result<ColsDim, String> {
        match cols {
            Cols::Fixed(c) => Ok(ColsDim::Fixed(c as i64)),
            Cols::Batch(1) => Ok(ColsDim::Batch),
            Cols::Batch(_) => Err("a matrix per example".into()),
        }
    }

    /// A 1-D `int64` shape `[rows, cols]` for `Expand`.
    fn shape_of(&mut self, rows: usize, cols: ColsDim) -> Result<String, String> {
        match cols {
            ColsDim::Fixed(c) => Ok(self.ints("shape", &[rows as i64, c])),
            ColsDim::Batch => {
                let b = self
                    .batch
                    .clone()
                    .ok_or("a batch-sized value with no data input")?;
                let r = self.ints("rows", &[rows as i64]);
                Ok(self.op("Concat", &[&r, &b], &[attr_int("axis", 0)]))
            }
        }
    }

    /// A data input: `[B, D]` in the file, standardised if the model was, transposed.
    fn input(&mut self, k: usize, values: &Values) -> Result<String, String> {
        let slot = &self.g.inputs[k];
        match slot.role {
            Role::Input if slot.labels.is_none() => {}
            Role::Noise => return Err(format!("the noise `{}` in the model function", slot.name)),
            _ => {
                return Err(format!(
                    "the labels or target `{}` in the model function",
                    slot.name
                ));
            }
        }
        let rows = slot.shape.rows;
        let cols = self.cols_dim(slot.shape.cols)?;
        let dims = match cols {
            ColsDim::Batch => vec![Dim::Param("B"), Dim::Value(rows as i64)],
            ColsDim::Fixed(c) => vec![Dim::Value(c), Dim::Value(rows as i64)],
        };
        self.inputs
            .push(value_info(&slot.name, self.precision, &dims));
        let mut x = slot.name.clone();
        if cols == ColsDim::Batch && self.batch.is_none() {
            let shape = self.op("Shape", &[&x], &[]);
            let (s, e, a) = (
                self.ints("s", &[0]),
                self.ints("e", &[1]),
                self.ints("a", &[0]),
            );
            self.batch = Some(self.op("Slice", &[&shape, &s, &e, &a], &[]));
        }
        if let Some(Scale { mean, std }) = &values.standardize {
            if mean.len() != rows || std.len() != rows {
                return Err(format!(
                    "a standardisation of {} features for `{}` of {rows} rows",
                    mean.len(),
                    slot.name
                ));
            }
            let m = self.fresh(&format!("{}.mean", slot.name));
            let m = self.tensor(&m, &[rows as i64], mean);
            let s = self.fresh(&format!("{}.std", slot.name));
            let s = self.tensor(&s, &[rows as i64], std);
            let centred = self.op("Sub", &[&x, &m], &[]);
            x = self.op("Div", &[&centred, &s], &[]);
        }
        Ok(self.op("Transpose", &[&x], &[attr_ints("perm", &[1, 0])]))
    }

    /// The graph output: the model function's value transposed to `[B, K]`.
    fn output(&mut self, name: &str, out: NodeId) -> Result<Msg, String> {
        let shape = self.g.node(out).shape;
        let v = self.names[out.index()].clone();
        let dims = match self.cols_dim(shape.cols)? {
            ColsDim::Batch => vec![Dim::Param("B"), Dim::Value(shape.rows as i64)],
            ColsDim::Fixed(c) => vec![Dim::Value(c), Dim::Value(shape.rows as i64)],
        };
        let mut n = Msg::default();
        n.str(1, &v).str(2, name).str(3, name).str(4, "Transpose");
        n.msg(5, &attr_ints("perm", &[1, 0]));
        self.nodes.push(n);
        Ok(value_info(name, self.precision, &dims))
    }

    /// The ONNX value of IR node `id`, its arguments built.
    fn node(&mut self, id: NodeId, values: &Values) -> Result<(), String> {
        let g = self.g;
        let node = g.node(id);
        let a: Vec<String> = node
            .args
            .iter()
            .map(|x| self.names[x.index()].clone())
            .collect();
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let shape = node.shape;
        let rows = shape.rows;
        let name = match node.op {
            Op::Param(k) => g.params[k as usize].name.clone(),
            Op::Input(k) => self.input(k as usize, values)?,
            Op::Const(v) => {
                let cols = self.cols_dim(shape.cols)?;
                let c = match cols {
                    ColsDim::Fixed(c) => c as usize,
                    ColsDim::Batch => 1,
                };
                let t = self.fresh("const");
                let t = self.tensor(&t, &[rows as i64, c as i64], &vec![v.0; rows * c]);
                match cols {
                    ColsDim::Fixed(_) => t,
                    ColsDim::Batch => {
                        let s = self.shape_of(rows, cols)?;
                        self.op("Expand", &[&t, &s], &[])
                    }
                }
            }
            Op::Identity => {
                let eye: Vec<f64> = (0..rows * rows)
                    .map(|k| f64::from(u8::from(k / rows == k % rows)))
                    .collect();
                let t = self.fresh("I");
                self.tensor(&t, &[rows as i64, rows as i64], &eye)
            }
            Op::Add => self.op("Add", &a, &[]),
            Op::Sub => self.op("Sub", &a, &[]),
            Op::Mul => self.op("Mul", &a, &[]),
            Op::Div => self.op("Div", &a, &[]),
            Op::Unary(u) => self.unary(u, a[0])?,
            Op::Broadcast => {
                let cols = self.cols_dim(shape.cols)?;
                let s = self.shape_of(rows, cols)?;
                self.op("Expand", &[a[0], &s], &[])
            }
            Op::SumRows | Op::SumCols => {
                let axis = self.ints("axis", &[i64::from(node.op == Op::SumCols)]);
                self.op("ReduceSum", &[a[0], &axis], &[attr_int("keepdims", 1)])
            }
            Op::LogSumExp => self.op(
                "ReduceLogSumExp",
                &[a[0]],
                &[attr_ints("axes", &[0]), attr_int("keepdims", 1)],
            ),
            Op::Softmax => self.op("Softmax", &[a[0]], &[attr_int("axis", 0)]),
            Op::MatMul { ta, tb } => self.op(
                "Gemm",
                &a,
                &[
                    attr_int("transA", i64::from(ta)),
                    attr_int("transB", i64::from(tb)),
                ],
            ),
            Op::Transpose => self.op("Transpose", &a, &[attr_ints("perm", &[1, 0])]),
            Op::Row(k) => self.slice(a[0], k as i64, k as i64 + 1),
            Op::SliceRows { start, rows } => {
                self.slice(a[0], start as i64, start as i64 + rows as i64)
            }
            Op::ConcatRows => self.op("Concat", &a, &[attr_int("axis", 0)]),
            Op::StopGradient => self.op("Identity", &a, &[]),
            Op::PlaceRow { k, rows } => {
                let pads = self.ints("pads", &[k as i64, 0, (rows - k - 1) as i64, 0]);
                self.op("Pad", &[a[0], &pads], &[])
            }
            Op::PickLabel { .. } | Op::OneHot { .. } => return Err("labels".into()),
            Op::BatchStat { .. } => return Err("batch normalisation".into()),
            Op::SumExampleCols
            | Op::ExampleMatMul { .. }
            | Op::ExampleTranspose
            | Op::SumExamples
            | Op::TileExamples
            | Op::ExampleCol(_)
            | Op::PlaceExampleCol { .. }
            | Op::Reshape { .. } => return Err("a matrix per example".into()),
            Op::Conv(_) => return Err("a convolution".into()),
            Op::MaxPool(_) => return Err("max pooling".into()),
            Op::MaxNe(_) => return Err("the maximum over neighbours `MaxNe`".into()),
            Op::Extreme(_) => return Err("`max`/`min`".into()),
            Op::Diag | Op::DiagPart => return Err("a diagonal matrix".into()),
            Op::Softmask => return Err("`Softmask`".into()),
            Op::Table(_) => return Err("a constant table".into()),
        };
        self.names[id.index()] = name;
        Ok(())
    }

    /// Rows `start..end` of `x`.
    fn slice(&mut self, x: &str, start: i64, end: i64) -> String {
        let (s, e, a) = (
            self.ints("s", &[start]),
            self.ints("e", &[end]),
            self.ints("a", &[0]),
        );
        self.op("Slice", &[x, &s, &e, &a], &[])
    }

    /// An element-wise function of `x`.
    fn unary(&mut self, u: Unary, x: &str) -> Result<String, String> {
        let simple = |f: &str| Some(f.to_string());
        let op = match u {
            Unary::Neg => simple("Neg"),
            Unary::Exp => simple("Exp"),
            Unary::Log => simple("Log"),
            Unary::Sin => simple("Sin"),
            Unary::Cos => simple("Cos"),
            Unary::Tanh => simple("Tanh"),
            Unary::Sig => simple("Sigmoid"),
            Unary::Relu => simple("Relu"),
            Unary::Softplus => simple("Softplus"),
            Unary::Sqrt => simple("Sqrt"),
            Unary::Abs => simple("Abs"),
            Unary::Sign => simple("Sign"),
            Unary::Recip => simple("Reciprocal"),
            Unary::LRelu(_) | Unary::Powf(_) | Unary::Heaviside | Unary::HardSwish => None,
            Unary::Rect => return Err("`rect`".into()),
            Unary::HardSwishGrad => return Err("the derivative of `HardSwish`".into()),
        };
        if let Some(op) = op {
            return Ok(self.op(&op, &[x], &[]));
        }
        let scalar = |b: &mut Builder<'_>, stem: &str, v: f64| {
            let t = b.fresh(stem);
            b.tensor(&t, &[], &[v])
        };
        Ok(match u {
            // `Where(x < 0, a·x, x)`: `LeakyRelu`'s `alpha` is a 32-bit attribute, which would
            // round the slope of a `double` model.
            Unary::LRelu(a) => {
                let (zero, a) = (scalar(self, "zero", 0.0), scalar(self, "a", a.0));
                let neg = self.op("Less", &[x, &zero], &[]);
                let ax = self.op("Mul", &[x, &a], &[]);
                self.op("Where", &[&neg, &ax, x], &[])
            }
            Unary::Powf(p) => {
                let p = scalar(self, "p", p.0);
                self.op("Pow", &[x, &p], &[])
            }
            // `x · min(max(x + 3, 0), 6) / 6` (onnxruntime has no `double` HardSwish).
            Unary::HardSwish => {
                let (zero, three, six) = (
                    scalar(self, "zero", 0.0),
                    scalar(self, "three", 3.0),
                    scalar(self, "six", 6.0),
                );
                let shifted = self.op("Add", &[x, &three], &[]);
                let low = self.op("Max", &[&shifted, &zero], &[]);
                let clipped = self.op("Min", &[&low, &six], &[]);
                let times = self.op("Mul", &[x, &clipped], &[]);
                self.op("Div", &[&times, &six], &[])
            }
            // 𝕀[x ≥ 0]: `Where(x ≥ 0, 1, 0)`.
            _ => {
                let (zero, one) = (scalar(self, "zero", 0.0), scalar(self, "one", 1.0));
                let ge = self.op("GreaterOrEqual", &[x, &zero], &[]);
                self.op("Where", &[&ge, &one, &zero], &[])
            }
        })
    }
}

/// A value's columns in the file: a number, or the batch.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ColsDim {
    Fixed(i64),
    Batch,
}

/// A dimension of a graph input or output.
enum Dim {
    Value(i64),
    Param(&'static str),
}

/// A graph input's or output's name, element type and shape.
fn value_info(name: &str, precision: Precision, dims: &[Dim]) -> Msg {
    let mut shape = Msg::default();
    for d in dims {
        let mut dim = Msg::default();
        match d {
            Dim::Value(v) => dim.int(1, *v),
            Dim::Param(p) => dim.str(2, p),
        };
        shape.msg(1, &dim);
    }
    let mut tensor = Msg::default();
    tensor.int(1, precision.elem()).msg(2, &shape);
    let mut ty = Msg::default();
    ty.msg(1, &tensor);
    let mut info = Msg::default();
    info.str(1, name).msg(2, &ty);
    info
}

/// An `int` attribute.
fn attr_int(name: &str, v: i64) -> Msg {
    let mut a = Msg::default();
    a.str(1, name).int(3, v).int(20, 2);
    a
}

/// An `ints` attribute.
fn attr_ints(name: &str, vs: &[i64]) -> Msg {
    let mut a = Msg::default();
    a.str(1, name).ints(8, vs).int(20, 7);
    a
}
