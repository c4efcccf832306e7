//! The IR interpreter: the reference semantics of every [`Op`], on faer matrices through the
//! `nnspec-runtime` kernels that generated code calls too.
//!
//! [`run`] evaluates a graph node by node, in order, into one freshly allocated matrix per node
//! (clarity over speed: this is the oracle that optimised and generated code must agree with).
//! The batch size `B` is a run-time value, taken from the batched inputs. Everything that can go
//! wrong with the caller's data — the number or shape of inputs and parameters, disagreeing
//! batch sizes, a class label that is not one of the classes — is an [`EvalError`], never a
//! panic. A graph that fails [`ir::verify`] is an error too.
//!
//! [`gradcheck`] compares the gradients built by [`dsl::ad::grad`](crate::dsl::ad::grad) and run
//! here against central differences of the forward graph, in `f64`.
//!
//! ```
//! use nnspec::dsl::ir::{Graph, Op, Role, Shape, Slot};
//! use nnspec::dsl::Span;
//! use nnspec::interp::run;
//! use faer::Mat;
//!
//! // y = Ω x for a 2 × 3 parameter Ω and a batch of 3-vectors x.
//! let mut g = Graph::default();
//! let sp = Span::default();
//! let x = g.push(Op::Input(0), vec![], Shape::batch(3), sp).unwrap();
//! let w = g.push(Op::Param(0), vec![], Shape::fixed(2, 3), sp).unwrap();
//! let y = g.push(Op::MatMul { ta: false, tb: false }, vec![w, x], Shape::SCALAR, sp).unwrap();
//! let slot = |name: &str, shape, node, role| {
//!     Slot { name: name.into(), shape, labels: None, entry_labels: None, group: None, node, role, dist: None }
//! };
//! g.inputs.push(slot("x", Shape::batch(3), x, Role::Input));
//! g.params.push(slot("Ω", Shape::fixed(2, 3), w, Role::Param));
//! g.outputs.push(("y".into(), y));
//!
//! let xs = Mat::from_fn(3, 4, |i, j| (i + j) as f64); // B = 4
//! let omega = Mat::from_fn(2, 3, |i, j| if i == j { 1.0 } else { 0.0 });
//! let v = run(&g, &[xs], &[omega]).unwrap();
//! assert_eq!(v.batch(), 4);
//! assert_eq!(v.output("y").unwrap()[(1, 2)], 3.0);
//! ```

use crate::dsl::ir::{self, Cols, Graph, NodeId, Op, Shape};
use faer::{Mat, MatMut, MatRef};
use nnspec_runtime::{
    BinaryFn, LabelError, Scalar, elementwise, gemm, labels, layout, pool, reduce,
};
use std::fmt;

/// Why a graph could not be evaluated.
#[derive(Clone, Debug, PartialEq)]
pub enum EvalError {
    /// The number of inputs or parameters given differs from the graph's.
    Count {
        /// Inputs or parameters.
        kind: SlotKind,
        /// How many the graph has.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// An input or parameter whose matrix does not have its slot's shape.
    Shape {
        /// Input or parameter.
        kind: SlotKind,
        /// Its position in `inputs` or `params`.
        index: usize,
        /// Its name in the spec.
        name: String,
        /// The slot's shape (`B` is the batch size of this run).
        expected: Shape,
        /// The batch size of this run.
        batch: usize,
        /// The matrix's `rows × cols`.
        got: (usize, usize),
    },
    /// Two batched inputs with different numbers of columns.
    Batch {
        /// The input that fixed `B`.
        first: String,
        /// Its column count, the batch size.
        batch: usize,
        /// The input that disagrees.
        name: String,
        /// Its position in `inputs`.
        index: usize,
        /// Its column count.
        got: usize,
    },
    /// A class-label input holding a value that is not one of its labels.
    InputLabel {
        /// Its position in `inputs`.
        index: usize,
        /// Its name in the spec.
        name: String,
        /// The bad label.
        error: LabelError,
    },
    /// A `PickLabel` or `OneHot` node met a value that is not one of its labels.
    Label {
        /// The node.
        node: NodeId,
        /// Its name in the spec, if it has one.
        name: Option<String>,
        /// The bad label.
        error: LabelError,
    },
    /// The graph is not well formed (it fails [`ir::verify`]): a compiler bug.
    InvalidGraph(String),
    /// No output of that name.
    NoOutput(String),
    /// The named output is not a `1 × 1` scalar.
    NotScalar {
        /// The output.
        name: String,
        /// Its shape.
        shape: Shape,
    },
    /// Differentiating the graph failed (in [`gradcheck`]): a compiler bug.
    Grad(String),
}

/// Which kind of graph slot an [`EvalError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// `Graph::inputs`: data, targets, labels, noise.
    Input,
    /// `Graph::params`: trainable parameters.
    Param,
}

impl fmt::Display for SlotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlotKind::Input => "input",
            SlotKind::Param => "parameter",
        })
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Count {
                kind,
                expected,
                got,
            } => {
                write!(f, "expected {expected} {kind}s, got {got}")
            }
            EvalError::Shape {
                kind,
                index,
                name,
                expected,
                batch,
                got,
            } => {
                write!(f, "{kind} {index} `{name}`: expected {expected}")?;
                if expected.cols.is_batch() {
                    write!(f, " (B = {batch})")?;
                }
                write!(f, ", got {}×{}", got.0, got.1)
            }
            EvalError::Batch {
                first,
                batch,
                name,
                index,
                got,
            } => write!(
                f,
                "input {index} `{name}` has {got} columns but `{first}` has {batch}: batched inputs must agree on B"
            ),
            EvalError::InputLabel { index, name, error } => {
                write!(f, "input {index} `{name}`: {error}")
            }
            EvalError::Label { node, name, error } => {
                write!(f, "%{}", node.0)?;
                if let Some(n) = name {
                    write!(f, " `{n}`")?;
                }
                write!(f, ": {error}")
            }
            EvalError::InvalidGraph(e) => write!(f, "invalid graph: {e}"),
            EvalError::NoOutput(n) => write!(f, "no output `{n}`"),
            EvalError::NotScalar { name, shape } => {
                write!(f, "output `{name}` is {shape}, not a scalar")
            }
            EvalError::Grad(e) => write!(f, "differentiation failed: {e}"),
        }
    }
}

impl std::error::Error for EvalError {}

/// The value of every node of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Values<T> {
    values: Vec<Mat<T>>,
    outputs: Vec<(String, NodeId)>,
    batch: usize,
}

impl<T> Values<T> {
    /// The batch size `B` of the run.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The value of a node (`None` for an id outside the graph).
    pub fn get(&self, id: NodeId) -> Option<&Mat<T>> {
        self.values.get(id.index())
    }

    /// The value of the named output (the model function, a loss, a gradient `∂L/∂β_0`).
    pub fn output(&self, name: &str) -> Option<&Mat<T>> {
        let (_, id) = self.outputs.iter().find(|(n, _)| n == name)?;
        self.get(*id)
    }

    /// Every named output, in the graph's order.
    pub fn outputs(&self) -> impl Iterator<Item = (&str, &Mat<T>)> {
        self.outputs
            .iter()
            .map(|(n, id)| (n.as_str(), &self.values[id.index()]))
    }

    /// The values of all nodes, indexed by [`NodeId::index`].
    pub fn nodes(&self) -> &[Mat<T>] {
        &self.values
    }

    /// The values of all nodes, indexed by [`NodeId::index`].
    pub fn into_nodes(self) -> Vec<Mat<T>> {
        self.values
    }
}

impl<T: Scalar> Values<T> {
    /// The named `1 × 1` output as a number (a loss).
    pub fn scalar(&self, name: &str) -> Result<T, EvalError> {
        let m = self
            .output(name)
            .ok_or_else(|| EvalError::NoOutput(name.to_owned()))?;
        if (m.nrows(), m.ncols()) == (1, 1) {
            Ok(m[(0, 0)])
        } else {
            let shape = Shape::fixed(m.nrows(), m.ncols());
            Err(EvalError::NotScalar {
                name: name.to_owned(),
                shape,
            })
        }
    }
}

impl<T> std::ops::Index<NodeId> for Values<T> {
    type Output = Mat<T>;

    /// # Panics
    /// For an id outside the graph.
    fn index(&self, id: NodeId) -> &Mat<T> {
        &self.values[id.index()]
    }
}

/// `rows × cols` of a shape, with `B` resolved.
pub fn dims(shape: Shape, batch: usize) -> (usize, usize) {
    (shape.rows, shape.cols_for(batch))
}

/// The batch size of a run: the column count of the batched inputs (which must agree), or 1
/// when the graph has none. Checks the number of inputs first.
pub fn batch_size<T>(g: &Graph, inputs: &[Mat<T>]) -> Result<usize, EvalError> {
    if inputs.len() != g.inputs.len() {
        return Err(EvalError::Count {
            kind: SlotKind::Input,
            expected: g.inputs.len(),
            got: inputs.len(),
        });
    }
    let mut found: Option<(usize, &str)> = None;
    for (index, (slot, m)) in g.inputs.iter().zip(inputs).enumerate() {
        let Cols::Batch(per) = slot.shape.cols else {
            continue;
        };
        // A matrix per example holds `per` columns per example; a count that is not a
        // multiple is reported as a shape error when the input is read.
        let b = m.ncols() / per;
        match found {
            None => found = Some((b, &slot.name)),
            Some((batch, first)) if batch != b => {
                return Err(EvalError::Batch {
                    first: first.to_owned(),
                    batch,
                    name: slot.name.clone(),
                    index,
                    got: m.ncols(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(found.map_or(1, |(b, _)| b))
}

/// Checks inputs and parameters against the graph's slots; returns the batch size.
fn check_slots<T: Scalar>(
    g: &Graph,
    inputs: &[Mat<T>],
    params: &[Mat<T>],
) -> Result<usize, EvalError> {
    let batch = batch_size(g, inputs)?;
    if params.len() != g.params.len() {
        return Err(EvalError::Count {
            kind: SlotKind::Param,
            expected: g.params.len(),
            got: params.len(),
        });
    }
    for (kind, slots, mats) in [
        (SlotKind::Input, &g.inputs, inputs),
        (SlotKind::Param, &g.params, params),
    ] {
        for (index, (slot, m)) in slots.iter().zip(mats).enumerate() {
            // The slot and the node reading it must agree (a malformed graph otherwise).
            let node_shape = g.nodes.get(slot.node.index()).map(|n| n.shape);
            if node_shape.is_some_and(|s| s != slot.shape) {
                let msg = format!(
                    "{kind} `{}` is {} but its node is {}",
                    slot.name,
                    slot.shape.book(),
                    node_shape.map_or_else(|| "missing".to_string(), |s| s.book())
                );
                return Err(EvalError::InvalidGraph(msg));
            }
            let got = (m.nrows(), m.ncols());
            if got != dims(slot.shape, batch) {
                return Err(EvalError::Shape {
                    kind,
                    index,
                    name: slot.name.clone(),
                    expected: slot.shape,
                    batch,
                    got,
                });
            }
            if let (SlotKind::Input, Some((lo, classes))) = (kind, slot.label_set()) {
                for j in 0..m.ncols() {
                    for i in 0..m.nrows() {
                        let y = m[(i, j)];
                        if labels::label_index(y, lo, classes).is_none() {
                            let error = LabelError {
                                column: j,
                                value: y.to_f64(),
                                lo,
                                classes,
                            };
                            return Err(EvalError::InputLabel {
                                index,
                                name: slot.name.clone(),
                                error,
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(batch)
}

/// Evaluates every node of `g`.
///
/// - `inputs[k]` is the value of `g.inputs[k]`: a `rows × B` matrix for a batched slot (one
///   column per example; class labels are a `1 × B` matrix of label values as numbers, which
///   must be among the slot's labels), or exactly the slot's shape for a fixed one.
/// - `params[k]` has the shape of `g.params[k]`.
/// - `B` is the column count of the batched inputs, which must all agree; a graph without a
///   batched input runs with `B = 1`. `B = 0` (an empty batch) is allowed.
///
/// Every op follows its documentation in [`ir::Op`]; `f32` and `f64` both work. Errors name the
/// slot or node and are returned, never panicked.
pub fn run<T: Scalar>(
    g: &Graph,
    inputs: &[Mat<T>],
    params: &[Mat<T>],
) -> Result<Values<T>, EvalError> {
    run_in(g, inputs, params, Mode::Training)
}

/// Which value a statistic over the batch ([`Op::BatchStat`]) takes: the one switch between
/// a training step and an evaluation (prediction, validation). Dropout is to read it too.
#[derive(Clone, Copy, Debug)]
pub enum Mode<'a, T> {
    /// The statistics of the batch at hand (what [`run`], `eval` and `gradcheck` use); the
    /// caller folds them into the running values with [`fold_running`].
    Training,
    /// The running values, `running[k]` for [`Graph::stats`]`[k]`: each example's result
    /// depends on that example alone.
    Eval(&'a [Mat<T>]),
}

/// [`run`] in the given mode.
pub fn run_in<T: Scalar>(
    g: &Graph,
    inputs: &[Mat<T>],
    params: &[Mat<T>],
    mode: Mode<'_, T>,
) -> Result<Values<T>, EvalError> {
    ir::verify(g).map_err(|e| EvalError::InvalidGraph(e.to_string()))?;
    if let Mode::Eval(running) = mode {
        check_running(g, running)?;
    }
    run_verified(g, inputs, params, mode)
}

/// The running statistics of a graph before any training step: each [`ir::Stat`]'s `init`.
pub fn initial_running<T: Scalar>(g: &Graph) -> Vec<Mat<T>> {
    g.stats
        .iter()
        .map(|s| {
            let (r, c) = dims(s.shape, 1);
            Mat::from_fn(r, c, |_, _| T::from_f64(s.init))
        })
        .collect()
}

/// The batch statistics of a training-mode run of `g` (the graph `values` came from): the
/// value of every [`Op::BatchStat`] node, written into `out[slot]` (shaped as
/// [`initial_running`]).
pub fn batch_stats<T: Scalar>(
    g: &Graph,
    values: &Values<T>,
    out: &mut [Mat<T>],
) -> Result<(), EvalError> {
    check_running(g, out)?;
    for (i, n) in g.nodes.iter().enumerate() {
        if let (Op::BatchStat { slot }, Some(m)) = (n.op, values.values.get(i)) {
            let dst = &mut out[slot as usize];
            if (m.nrows(), m.ncols()) != (dst.nrows(), dst.ncols()) {
                return Err(EvalError::InvalidGraph(format!(
                    "%{i}: the statistic is not of its running value's shape"
                )));
            }
            dst.copy_from(m);
        }
    }
    Ok(())
}

/// A training step's update of the running statistics: `r ← ρ r + (1 − ρ) m` for each
/// running value `r` and the batch's statistic `m` (as [`batch_stats`] gives them), with
/// `ρ = runtime::params::RUNNING_MOMENTUM` (0.9).
pub fn fold_running<T: Scalar>(running: &mut [Mat<T>], batch: &[Mat<T>]) {
    for (r, m) in running.iter_mut().zip(batch) {
        nnspec_runtime::params::fold_running(r.as_mut(), m.as_ref());
    }
}

/// Every running statistic present with its slot's shape.
fn check_running<T>(g: &Graph, running: &[Mat<T>]) -> Result<(), EvalError> {
    if running.len() != g.stats.len() {
        return Err(EvalError::InvalidGraph(format!(
            "{} running statistics given, the model has {}",
            running.len(),
            g.stats.len()
        )));
    }
    for (s, m) in g.stats.iter().zip(running) {
        let (r, c) = dims(s.shape, 1);
        if (m.nrows(), m.ncols()) != (r, c) {
            return Err(EvalError::InvalidGraph(format!(
                "running statistic {} is {}×{}, not {r}×{c}",
                s.name,
                m.nrows(),
                m.ncols()
            )));
        }
    }
    Ok(())
}

/// [`run`] on a graph already verified (`ir::verify`): what repeated evaluations of one graph
/// (central differences) call, so the graph is verified once rather than once per run.
fn run_verified<T: Scalar>(
    g: &Graph,
    inputs: &[Mat<T>],
    params: &[Mat<T>],
    mode: Mode<'_, T>,
) -> Result<Values<T>, EvalError> {
    let batch = check_slots(g, inputs, params)?;
    let mut values: Vec<Mat<T>> = Vec::with_capacity(g.nodes.len());
    for (i, node) in g.nodes.iter().enumerate() {
        let (r, c) = dims(node.shape, batch);
        let mut out = Mat::<T>::zeros(r, c);
        let arg = |k: usize| values[node.args[k].index()].as_ref();
        eval_node(g, i, arg, out.as_mut(), inputs, params, mode)?;
        values.push(out);
    }
    Ok(Values {
        values,
        outputs: g.outputs.clone(),
        batch,
    })
}

/// Evaluates node `i` of `g` into `dst` (already of the node's size), reading its `k`-th
/// argument's value as `arg(k)`: the meaning of every op, shared by a whole run and by the
/// re-evaluation of a perturbed parameter's dependents ([`Perturbed`]).
fn eval_node<'v, T: Scalar>(
    g: &Graph,
    i: usize,
    arg: impl Fn(usize) -> MatRef<'v, T>,
    mut dst: MatMut<'_, T>,
    inputs: &[Mat<T>],
    params: &[Mat<T>],
    mode: Mode<'_, T>,
) -> Result<(), EvalError> {
    let node = &g.nodes[i];
    let label_error = |error: LabelError| EvalError::Label {
        node: NodeId(i as u32),
        name: node.name.clone(),
        error,
    };
    // One group per family of `ir::op` (the family module names the same kernels for
    // generated code).
    match node.op {
        // `ir::op::leaf`
        Op::Input(k) => copy_slot(dst, &inputs[k as usize], i, "input", k)?,
        Op::Param(k) => copy_slot(dst, &params[k as usize], i, "parameter", k)?,
        Op::Identity => {
            dst.fill(T::ZERO);
            for k in 0..dst.nrows().min(dst.ncols()) {
                dst[(k, k)] = T::ONE;
            }
        }
        Op::Table(k) => table(dst, g, k, i)?,
        Op::BatchStat { slot } => match mode {
            Mode::Training => dst.copy_from(arg(0)),
            Mode::Eval(running) => match running.get(slot as usize) {
                Some(m) => copy_slot(dst, m, i, "running statistic", slot)?,
                None => {
                    return Err(EvalError::InvalidGraph(format!(
                        "%{i}: no running statistic {slot}"
                    )));
                }
            },
        },
        // `ir::op::elementwise`
        Op::Const(v) => dst.fill(T::from_f64(v.0)),
        Op::Add => elementwise::binary(dst, arg(0), arg(1), BinaryFn::Add),
        Op::Sub => elementwise::binary(dst, arg(0), arg(1), BinaryFn::Sub),
        Op::Mul => elementwise::binary(dst, arg(0), arg(1), BinaryFn::Mul),
        Op::Div => elementwise::binary(dst, arg(0), arg(1), BinaryFn::Div),
        Op::Unary(u) => elementwise::unary(dst, arg(0), u),
        Op::Broadcast => layout::broadcast(dst, arg(0)),
        Op::StopGradient => dst.copy_from(arg(0)),
        // `ir::op::product`
        Op::MatMul { ta, tb } => gemm(dst, arg(0), arg(1), ta, tb, false),
        Op::ExampleMatMul { ta, tb } => {
            // Columns per example; 0 for a fixed operand, shared by every example.
            let per = |k: usize| match g.shape(node.args[k]).cols {
                Cols::Batch(n) => n,
                Cols::Fixed(_) => 0,
            };
            let (a, b) = ((arg(0), per(0)), (arg(1), per(1)));
            nnspec_runtime::gemm::gemm_per_example(dst, a.0, a.1, b.0, b.1, ta, tb, T::ONE);
        }
        // `ir::op::reduce`
        Op::SumRows => reduce::sum_rows(dst, arg(0)),
        Op::SumCols => reduce::sum_cols(dst, arg(0)),
        Op::SumExampleCols => {
            let per = dims(g.shape(node.args[0]), 1).1;
            reduce::sum_example_cols(dst, arg(0), per);
        }
        Op::SumExamples => reduce::sum_examples(dst, arg(0)),
        Op::TileExamples => layout::tile_examples(dst, arg(0)),
        // `ir::op::softmax`
        Op::Softmax => reduce::softmax_cols(dst, arg(0)),
        Op::LogSumExp => reduce::logsumexp_cols(dst, arg(0)),
        Op::Softmask => reduce::softmask_cols(dst, arg(0), arg(1)),
        // `ir::op::index`
        Op::Row(k) => dst.copy_from(arg(0).subrows(k as usize, 1)),
        Op::PlaceRow { k, .. } => layout::place_row(dst, arg(0), k as usize),
        Op::PickLabel { lo } => labels::pick_label(dst, arg(0), arg(1), lo).map_err(label_error)?,
        Op::OneHot { lo, .. } => labels::one_hot(dst, arg(0), lo).map_err(label_error)?,
        Op::ExampleCol(k) => {
            let per = dims(g.shape(node.args[0]), 1).1;
            layout::example_col(dst, arg(0), k as usize, per);
        }
        Op::PlaceExampleCol { k, n } => {
            layout::place_example_col(dst, arg(0), k as usize, n as usize);
        }
        // `ir::op::layout`
        Op::Transpose => dst.copy_from(arg(0).transpose()),
        Op::ExampleTranspose => {
            let per = dims(g.shape(node.args[0]), 1).1;
            layout::transpose_per_example(dst, arg(0), per);
        }
        Op::Reshape { .. } => layout::reshape(dst, arg(0)),
        Op::ConcatRows => {
            (0..node.args.len()).fold(0, |start, k| {
                layout::put_rows(dst.as_mut(), arg(k), start);
                start + arg(k).nrows()
            });
        }
        Op::SliceRows { start, rows } => {
            dst.copy_from(arg(0).subrows(start as usize, rows as usize));
        }
        Op::Diag => layout::diag(dst, arg(0)),
        Op::DiagPart => layout::diag_part(dst, arg(0)),
        // `ir::op::conv`, `ir::op::pool`, `ir::op::extreme`
        Op::Conv(c) => conv(dst, arg(0), arg(1), c),
        Op::MaxPool(p) => max_pool(dst, arg(0), arg(1), p),
        Op::MaxNe(p) => {
            use nnspec_runtime::extreme::{max_ne_pick, max_ne_place};
            let kernel = match p {
                ir::pool::PoolPart::Pick => max_ne_pick,
                ir::pool::PoolPart::Place => max_ne_place,
            };
            kernel(dst, arg(0), arg(1), arg(2));
        }
        Op::Extreme(e) => extreme(dst, e, &arg),
    }
    Ok(())
}

/// `Table(k)`: the graph's constant table `k`, column-major, into its node.
fn table<T: Scalar>(mut dst: MatMut<'_, T>, g: &Graph, k: u32, i: usize) -> Result<(), EvalError> {
    let (r, c) = (dst.nrows(), dst.ncols());
    match g.tables.get(k as usize) {
        Some(t) if t.len() == r * c => {
            for (j, col) in t.chunks(r.max(1)).enumerate().take(c) {
                for (i, v) in col.iter().enumerate() {
                    dst[(i, j)] = T::from_f64(*v);
                }
            }
            Ok(())
        }
        _ => Err(EvalError::InvalidGraph(format!(
            "%{i}: table {k} does not hold {r}×{c} numbers"
        ))),
    }
}

/// An input, a parameter or a running statistic copied into its node, which must have its
/// shape (a caller's matrix of another shape is an invalid graph, not a panic).
fn copy_slot<T: Scalar>(
    mut dst: MatMut<'_, T>,
    m: &Mat<T>,
    node: usize,
    what: &str,
    k: u32,
) -> Result<(), EvalError> {
    let (r, c) = (dst.nrows(), dst.ncols());
    if (m.nrows(), m.ncols()) != (r, c) {
        return Err(EvalError::InvalidGraph(format!(
            "%{node}: {what} {k} is not {r}×{c}"
        )));
    }
    dst.copy_from(m);
    Ok(())
}

/// A part of an element-wise maximum or minimum (`ir::extreme`) by the runtime's kernel.
fn extreme<'v, T: Scalar>(
    dst: MatMut<'_, T>,
    e: ir::extreme::Ext,
    arg: &impl Fn(usize) -> MatRef<'v, T>,
) {
    use nnspec_runtime::extreme::{pick, place};
    let x = [arg(0), arg(1)];
    match e.part {
        ir::extreme::ExtPart::Pick => pick(dst, x, [arg(2), arg(3)], e.which),
        ir::extreme::ExtPart::First => place(dst, x, arg(2), e.which, false),
        ir::extreme::ExtPart::Second => place(dst, x, arg(2), e.which, true),
    }
}

/// A max-pooling op (`ir::pool`) by the runtime's kernel of its part and layout.
fn max_pool<T: Scalar>(dst: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, p: ir::pool::Pool) {
    let layout = match p.image {
        None => pool::Layout::Image,
        Some([h, w]) => pool::Layout::Channels {
            h: h as usize,
            w: w as usize,
        },
    };
    match p.part {
        ir::pool::PoolPart::Pick => pool::max_pool_pick(dst, a, b, layout),
        ir::pool::PoolPart::Place => pool::max_pool_place(dst, a, b, layout),
    }
}

/// A convolution op (`ir::conv`) by the runtime's kernel of its part.
fn conv<T: Scalar>(dst: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, c: ir::conv::Conv) {
    use nnspec_runtime::conv;
    let u = |v: [u32; 2]| v.map(|x| x as usize);
    let geom = conv::Geom {
        c_in: c.c_in as usize,
        c_out: c.c_out as usize,
        k: u(c.k),
        pad: u(c.pad),
        stride: u(c.stride),
        dil: u(c.dil),
        n_in: u(c.n_in),
        n_out: u(c.n_out),
        chan_rows: c.chan_rows,
    };
    // The patch matrix of im2col: its columns are the output's (`y` or `ḡ`).
    let rows = geom.scratch().0;
    let out_cols = match c.part {
        ir::conv::ConvPart::Forward => dst.ncols(),
        ir::conv::ConvPart::Input | ir::conv::ConvPart::Kernel => b.ncols(),
    };
    let mut scratch = faer::Mat::<T>::zeros(rows, if rows == 0 { 0 } else { out_cols });
    let s = scratch.as_mut();
    let part = match c.part {
        ir::conv::ConvPart::Forward => conv::Part::Forward,
        ir::conv::ConvPart::Input => conv::Part::Input,
        ir::conv::ConvPart::Kernel => conv::Part::Kernel,
    };
    conv::conv(part, dst, a, b, s, geom);
}

/// One run of a graph kept as the base of many runs that each change one parameter entry:
/// a changed run evaluates only the nodes downstream of that parameter (in graph order, by
/// [`eval_node`], into scratch matrices) and reads every other value from the base, so its
/// result is bit for bit the whole run's at the changed parameters. The base is never
/// overwritten, so nothing needs restoring between runs.
struct Perturbed<'g, T> {
    g: &'g Graph,
    inputs: &'g [Mat<T>],
    base: Values<T>,
    /// The value of a dependent node in the current changed run.
    scratch: Vec<Option<Mat<T>>>,
    /// Whether a node depends on the parameter being changed.
    dirty: Vec<bool>,
}

impl<'g, T: Scalar> Perturbed<'g, T> {
    /// Runs `g` (already verified) once at `params`.
    fn new(g: &'g Graph, inputs: &'g [Mat<T>], params: &[Mat<T>]) -> Result<Self, EvalError> {
        let base = run_verified(g, inputs, params, Mode::Training)?;
        let n = g.nodes.len();
        Ok(Perturbed {
            g,
            inputs,
            base,
            scratch: (0..n).map(|_| None).collect(),
            dirty: vec![false; n],
        })
    }

    /// The nodes that depend on parameter `k`, in graph order (its own node first); marks
    /// them dirty, clearing the marks of the previous parameter.
    fn dependents(&mut self, k: usize) -> Vec<usize> {
        self.dirty.fill(false);
        let Some(start) = self.g.params.get(k).map(|s| s.node.index()) else {
            return Vec::new();
        };
        let mut out = vec![start];
        self.dirty[start] = true;
        for i in start + 1..self.g.nodes.len() {
            if self.g.nodes[i].args.iter().any(|a| self.dirty[a.index()]) {
                self.dirty[i] = true;
                out.push(i);
            }
        }
        out
    }

    /// The value of node `id` in the changed run described by the current dirty marks.
    fn value(&self, id: NodeId) -> MatRef<'_, T> {
        match &self.scratch[id.index()] {
            Some(m) if self.dirty[id.index()] => m.as_ref(),
            _ => self.base.values[id.index()].as_ref(),
        }
    }

    /// Re-evaluates the nodes `order` (from [`Perturbed::dependents`]) at `params`, which
    /// differ from the base's in the marked parameter only; returns the node `out`'s value.
    fn rerun(
        &mut self,
        order: &[usize],
        params: &[Mat<T>],
        out: NodeId,
    ) -> Result<MatRef<'_, T>, EvalError> {
        for &i in order {
            let (r, c) = dims(self.g.nodes[i].shape, self.base.batch);
            let mut m = self.scratch[i]
                .take()
                .unwrap_or_else(|| Mat::<T>::zeros(r, c));
            let args = &self.g.nodes[i].args;
            let result = eval_node(
                self.g,
                i,
                |k| self.value(args[k]),
                m.as_mut(),
                self.inputs,
                params,
                Mode::Training,
            );
            self.scratch[i] = Some(m);
            result?;
        }
        Ok(self.value(out))
    }
}

/// One row of a [`gradcheck`] table: how far the gradient of the loss with respect to one
/// parameter is from its central-difference estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheck {
    /// The parameter's name.
    pub param: String,
    /// `maxᵢⱼ |aᵢⱼ - nᵢⱼ| / max(‖a‖∞, ‖n‖∞)` for the gradient `a` from AD and the estimate
    /// `n`: the error relative to the gradient's largest entry (0 when both are zero).
    pub max_rel_error: f64,
    /// `maxᵢⱼ |aᵢⱼ - nᵢⱼ|`.
    pub max_abs_error: f64,
    /// The entry `(i, j)` where the error is largest.
    pub worst: (usize, usize),
    /// The gradient computed by AD.
    pub analytic: Mat<f64>,
    /// The central-difference estimate.
    pub numeric: Mat<f64>,
}

impl fmt::Display for GradCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (i, j) = self.worst;
        write!(
            f,
            "{}: max relative error {:.3e} (absolute {:.3e}) at ({i}, {j})",
            self.param, self.max_rel_error, self.max_abs_error
        )?;
        if self.analytic.nrows() > i && self.analytic.ncols() > j {
            write!(
                f,
                ": AD {:e}, numeric {:e}",
                self.analytic[(i, j)],
                self.numeric[(i, j)]
            )?;
        }
        Ok(())
    }
}

/// The gradients of the scalar output `loss` with respect to every parameter, by AD
/// ([`dsl::ad::grad`](crate::dsl::ad::grad)) run through the interpreter.
pub fn ad_grads(
    g_forward: &Graph,
    loss: &str,
    inputs: &[Mat<f64>],
    params: &[Mat<f64>],
) -> Result<Vec<Mat<f64>>, EvalError> {
    scalar_loss(g_forward, loss)?;
    let wrt: Vec<u32> = (0..g_forward.params.len() as u32).collect();
    let gg =
        crate::dsl::ad::grad(g_forward, loss, &wrt).map_err(|e| EvalError::Grad(e.to_string()))?;
    let v = run(&gg, inputs, params)?;
    // One gradient per parameter, each found by what it is the gradient of.
    wrt.iter()
        .map(|&k| {
            gg.param_grad(loss, k as usize)
                .map(|id| v[id].clone())
                .ok_or_else(|| EvalError::Grad(format!("no gradient for parameter {k}")))
        })
        .collect()
}

/// Central-difference estimates `(L(p + ε eᵢⱼ) - L(p - ε eᵢⱼ)) / 2ε` of the gradients of the
/// scalar output `loss` with respect to every parameter entry.
pub fn numeric_grads(
    g: &Graph,
    loss: &str,
    inputs: &[Mat<f64>],
    params: &[Mat<f64>],
    eps: f64,
) -> Result<Vec<Mat<f64>>, EvalError> {
    let coords: Vec<Coord> = params
        .iter()
        .enumerate()
        .flat_map(|(k, p)| {
            let rows = p.nrows();
            (0..p.ncols())
                .flat_map(move |col| (0..rows).map(move |row| Coord { param: k, row, col }))
        })
        .collect();
    let values = numeric_at(g, loss, inputs, params, eps, &coords)?;
    let mut grads: Vec<Mat<f64>> = params
        .iter()
        .map(|p| Mat::zeros(p.nrows(), p.ncols()))
        .collect();
    for (c, v) in coords.iter().zip(values) {
        grads[c.param][(c.row, c.col)] = v;
    }
    Ok(grads)
}

/// One entry of one parameter: `params[param][(row, col)]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coord {
    /// The parameter's index.
    pub param: usize,
    /// The entry's row.
    pub row: usize,
    /// The entry's column.
    pub col: usize,
}

/// The central-difference estimate of `∂loss/∂p` at each coordinate (as [`numeric_grads`],
/// for chosen entries only: four evaluations of the loss per coordinate). The graph is run
/// once whole; each evaluation then recomputes only the nodes that depend on the perturbed
/// parameter, reading the others from that run, so the estimates are bit for bit those of
/// whole runs at the perturbed parameters, at a cost that shrinks with the parameter's reach.
///
/// # Errors
/// When `loss` is not a scalar output, a coordinate is outside its parameter, or the graph
/// cannot be run.
pub fn numeric_at(
    g: &Graph,
    loss: &str,
    inputs: &[Mat<f64>],
    params: &[Mat<f64>],
    eps: f64,
    coords: &[Coord],
) -> Result<Vec<f64>, EvalError> {
    scalar_loss(g, loss)?;
    let out_id = g
        .output(loss)
        .ok_or_else(|| EvalError::NoOutput(loss.to_owned()))?;
    ir::verify(g).map_err(|e| EvalError::InvalidGraph(e.to_string()))?;
    let mut p: Vec<Mat<f64>> = params.to_vec();
    let mut runs = Perturbed::new(g, inputs, &p)?;
    let mut out = Vec::with_capacity(coords.len());
    let mut last: Option<(usize, Vec<usize>)> = None;
    for &Coord {
        param: k,
        row: i,
        col: j,
    } in coords
    {
        if p.get(k).is_none_or(|m| i >= m.nrows() || j >= m.ncols()) {
            return Err(EvalError::InvalidGraph(format!(
                "no entry ({i}, {j}) in parameter {k}"
            )));
        }
        // Coordinates come grouped by parameter: its dependents are found once.
        let order = match last.take() {
            Some((pk, order)) if pk == k => order,
            _ => runs.dependents(k),
        };
        let x = p[k][(i, j)];
        let mut central = |h: f64| -> Result<f64, EvalError> {
            p[k][(i, j)] = x + h;
            let up = runs.rerun(&order, &p, out_id)?[(0, 0)];
            p[k][(i, j)] = x - h;
            let down = runs.rerun(&order, &p, out_id)?[(0, 0)];
            p[k][(i, j)] = x;
            Ok((up - down) / (2.0 * h))
        };
        // Richardson extrapolation of two central differences: error O(eps⁴).
        let (wide, narrow) = (central(eps)?, central(eps / 2.0)?);
        out.push((4.0 * narrow - wide) / 3.0);
        last = Some((k, order));
    }
    Ok(out)
}

fn scalar_loss(g: &Graph, loss: &str) -> Result<(), EvalError> {
    let id = g
        .output(loss)
        .ok_or_else(|| EvalError::NoOutput(loss.to_owned()))?;
    match g.nodes.get(id.index()) {
        Some(n) if n.shape == Shape::SCALAR => Ok(()),
        Some(n) => Err(EvalError::NotScalar {
            name: loss.to_owned(),
            shape: n.shape,
        }),
        None => Err(EvalError::InvalidGraph(format!(
            "output `{loss}` points past the graph"
        ))),
    }
}

/// Compares two gradients entry by entry (see [`GradCheck`] for the measure).
pub fn compare(param: &str, analytic: Mat<f64>, numeric: Mat<f64>) -> GradCheck {
    let mut scale = 0.0f64;
    let (mut max_abs_error, mut worst) = (0.0f64, (0, 0));
    let same_shape = (analytic.nrows(), analytic.ncols()) == (numeric.nrows(), numeric.ncols());
    if same_shape {
        for j in 0..analytic.ncols() {
            for i in 0..analytic.nrows() {
                let (a, n) = (analytic[(i, j)], numeric[(i, j)]);
                scale = scale.max(a.abs()).max(n.abs());
                let e = (a - n).abs();
                // A NaN error is the worst (and stays so: no comparison with it holds).
                if e > max_abs_error || e.is_nan() {
                    max_abs_error = e;
                    worst = (i, j);
                }
            }
        }
    }
    let max_rel_error = if !same_shape {
        f64::INFINITY
    } else if max_abs_error == 0.0 {
        0.0
    } else {
        max_abs_error / scale
    };
    GradCheck {
        param: param.to_owned(),
        max_rel_error,
        max_abs_error,
        worst,
        analytic,
        numeric,
    }
}

/// The graph with every `StopGradient` node replaced by a new input holding its value at
/// `params`, and the inputs extended with those values: what central differences must
/// perturb to estimate the gradient that AD computes through a frozen copy.
pub fn freeze_stop_gradients(
    g: &Graph,
    inputs: &[Mat<f64>],
    params: &[Mat<f64>],
) -> Result<(Graph, Vec<Mat<f64>>), EvalError> {
    if !g.nodes.iter().any(|n| n.op == Op::StopGradient) {
        return Ok((g.clone(), inputs.to_vec()));
    }
    let base = run(g, inputs, params)?;
    let mut frozen = g.clone();
    let mut extended = inputs.to_vec();
    for (i, node) in g.nodes.iter().enumerate() {
        if node.op != Op::StopGradient {
            continue;
        }
        let k = frozen.inputs.len() as u32;
        frozen.nodes[i] = ir::Node {
            op: Op::Input(k),
            args: Vec::new(),
            shape: node.shape,
            name: node.name.clone(),
        };
        frozen.inputs.push(ir::Slot {
            name: format!("frozen %{i}"),
            shape: node.shape,
            labels: None,
            entry_labels: None,
            group: None,
            node: NodeId(i as u32),
            role: ir::Role::Input,
            dist: None,
        });
        extended.push(base[NodeId(i as u32)].clone());
    }
    Ok((frozen, extended))
}

/// The gradient table of `loss`: for every parameter, the AD gradient
/// ([`dsl::ad::grad`](crate::dsl::ad::grad), run through [`run`]) against central differences
/// with step `eps` ([`numeric_grads`]), all in `f64`. With `eps ≈ 1e-5` a correct gradient of
/// a smooth loss typically agrees to a relative error below `1e-8`.
pub fn gradcheck(
    g_forward: &Graph,
    loss: &str,
    inputs: &[Mat<f64>],
    params: &[Mat<f64>],
    eps: f64,
) -> Result<Vec<GradCheck>, EvalError> {
    let analytic = ad_grads(g_forward, loss, inputs, params)?;
    // A frozen copy (`φ⁻`) is a constant to the gradient: hold it at its value here too.
    let (frozen, frozen_inputs) = freeze_stop_gradients(g_forward, inputs, params)?;
    let numeric = numeric_grads(&frozen, loss, &frozen_inputs, params, eps)?;
    Ok(g_forward
        .params
        .iter()
        .zip(analytic.into_iter().zip(numeric))
        .map(|(slot, (a, n))| compare(&slot.name, a, n))
        .collect())
}
