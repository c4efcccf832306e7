//! The IR: an SSA graph of tensor operations on `rows × cols` matrices.
//!
//! A [`Graph`] is an arena of [`Node`]s in topological order (every argument precedes its
//! users), addressed by typed [`NodeId`]s, with a side table of source spans. Every value is a
//! matrix whose column count is either fixed or the run-time batch size `B`: the book's
//! per-example equations become batched operations on `D × B` matrices (one column per
//! example), parameters are fixed-size, a scalar is `1 × 1`.
//!
//! `ad` builds gradients out of the same ops. [`Op::infer`] is the one shape rule per op,
//! used when building and by [`verify`] after every pass. Everything an op is besides its
//! meaning — its shape rule, its VJP, folding, whether it fuses, how it is emitted — is in
//! the module of its family under `op/`. The text form ([`Graph`]'s `Display`, like a jaxpr)
//! is what every snapshot shows.

pub mod lower;
pub(crate) mod op;
mod print;
pub mod size;
pub mod trained;
mod verify;

pub use op::{conv, extreme, pool};
pub use verify::verify;

use crate::diag::Span;
use std::fmt;

/// A handle to a node of one graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index into the graph's arena.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

pub use crate::shape::layout::{Cols, Shape};

/// `F64` (an `f64` compared and hashed by its bits, for CSE) and `Unary` (the element-wise
/// functions, with their formulas) are defined once in `nnspec-ops`.
pub use nnspec_ops::{F64, Unary};

/// The operations of the IR. Each variant's doc gives its meaning; [`Op::infer`] its shape rule;
/// `op/` the family that holds everything else about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Data input `index` of the model (`rows × B`), or a class label as a number (`1 × B`).
    Input(u32),
    /// Trainable parameter `index` (fixed shape).
    Param(u32),
    /// A constant filling the node's shape.
    Const(F64),
    /// The identity matrix of the node's (square, fixed) shape: `I` in `A + I` (eq. 13.10).
    Identity,
    /// `a + b` (equal shapes).
    Add,
    /// `a - b` (equal shapes).
    Sub,
    /// `a ⊙ b` (equal shapes).
    Mul,
    /// `a / b` element-wise (equal shapes).
    Div,
    /// An element-wise function.
    Unary(Unary),
    /// Repeats a `1`-sized dimension of the argument to the node's shape: a bias `D × 1` to
    /// `D × B` (or to every column `D × NB`), a scalar `1 × 1` to anything, one column per
    /// example `D × B` to each of the example's columns `D × NB`.
    Broadcast,
    /// Sum over rows: `r × c → 1 × c` (`𝟏ᵀ x`).
    SumRows,
    /// Sum over columns: `r × c → r × 1` (over the batch for a `r × B` value, over every
    /// column of every example for `r × NB`).
    SumCols,
    /// Per example, the sum of its columns: `r × NB → r × B` (`X 𝟏` for a matrix `X` per
    /// example).
    SumExampleCols,
    /// `op(a) · op(b)` where `op` transposes when the flag is set; transposes are views.
    MatMul {
        /// Transpose the left operand.
        ta: bool,
        /// Transpose the right operand.
        tb: bool,
    },
    /// `aᵀ` (fixed shapes only; a batch as a whole is never transposed).
    Transpose,
    /// Per example, `op(a_b) · op(b_b)`, where `a_b` is example `b`'s block of columns of a
    /// batched operand (a fixed operand is the same matrix for every example) and `op`
    /// transposes the block when the flag is set: `Kᵀ Q` (`D × NB` and `D × NB` to
    /// `N × NB`), `V A` (`D × NB` and `N × NB` to `D × NB`), `X ω` (`D × NB` and `N × B`, or
    /// a fixed `N × 1`, to `D × B`). At least one operand is batched; a fixed left operand
    /// times a batch is [`Op::MatMul`] (`Ω X`, one GEMM for the whole batch).
    ExampleMatMul {
        /// Transpose each example's block of the left operand.
        ta: bool,
        /// Transpose each example's block of the right operand.
        tb: bool,
    },
    /// Per example, the transpose of its block: `r × nB → n × rB` (`Xᵀ` for a matrix `X` per
    /// example). Read by a product, it becomes that product's transpose flag.
    ExampleTranspose,
    /// Column-wise softmax.
    Softmax,
    /// Column-wise `log ∑ exp`: `r × c → 1 × c`, computed stably.
    LogSumExp,
    /// Row `k` (0-based): `r × c → 1 × c`.
    Row(u32),
    /// `[x, y]`: for each column j, `x[y_j - lo, j]`, where `y` holds class labels (`1 × c`).
    PickLabel {
        /// The first label value.
        lo: i32,
    },
    /// `[y]`: the one-hot matrix `rows × c` of the labels in `y` (offset by `lo`).
    OneHot {
        /// Rows of the result.
        rows: u32,
        /// The first label value.
        lo: i32,
    },
    /// `[g]` for a `1 × c` value: a `rows × c` matrix that is zero except row `k` = g.
    PlaceRow {
        /// The row to fill.
        k: u32,
        /// Rows of the result.
        rows: u32,
    },
    /// The value, with no gradient flowing back (frozen copies `φ⁻`).
    StopGradient,
    /// A statistic over the batch with a running value, [`Graph::stats`]`[slot]` (the mean
    /// `m_h` and the standard deviation `s_h` of batch normalisation, eq. 11.7): in training
    /// mode its argument, the statistic of the batch at hand (its VJP the identity), which
    /// the training step also folds into the running value; in evaluation mode the running
    /// value, whatever the batch (no gradient). The same shape as its argument, fixed.
    BatchStat {
        /// The index into [`Graph::stats`].
        slot: u32,
    },
    /// The sum of the examples' blocks: `r × nB → r × n` (`∑_i X_i` of a matrix per example).
    SumExamples,
    /// The same fixed `r × n` matrix as every example's block: `r × n → r × nB` (the
    /// transpose of [`Op::SumExamples`]; the node's shape is declared).
    TileExamples,
    /// Column `k` (0-based) of each example's block: `r × nB → r × B` (`X_t`, the t-th
    /// column of a matrix `X` per example: a sequence's t-th element).
    ExampleCol(u32),
    /// `[g]` for a `r × B` value: a `r × nB` matrix that is zero except column `k` of each
    /// example's block = that example's column of g (the transpose of [`Op::ExampleCol`]).
    PlaceExampleCol {
        /// The column of each block to fill.
        k: u32,
        /// Columns per example of the result.
        n: u32,
    },
    /// A convolution of each example's signal or image (eq. 10.3–10.6), or one of the two
    /// parts of its gradient (`conv::ConvPart`): the geometry, the layout and the formulas
    /// are `conv::Conv`'s.
    Conv(conv::Conv),
    /// 2×2 max pooling of each example's image (§10.4), each channel alone, or the part of
    /// its gradient that places the cotangent at the maximisers (`pool::Pool`; the windows,
    /// the ties and the layouts are `pool`'s).
    MaxPool(pool::Pool),
    /// The element-wise maximum or minimum of two values of one shape, or a part of its
    /// gradient (`extreme::Ext`: `Pick (xa, xb, ha, hb)`, `ha` where `xa` is kept against
    /// `xb`, `hb` elsewhere, so `max[a, b]` is `Pick(a, b, a, b)`; `First`/`Second (xa, xb,
    /// g)`, `g` where that side is kept). A tie keeps the first value.
    Extreme(extreme::Ext),
    /// Each example's numbers in the same order, as a `rows × cols` matrix: `r × nB →
    /// rows × (cols·B)` with `r·n = rows·cols` (`vec[P]`, a matrix per example column by
    /// column, is `Reshape { rows: r·n, cols: 1 }`; its transpose is the reshape back).
    Reshape {
        /// Rows of the result.
        rows: u32,
        /// Columns per example of the result.
        cols: u32,
    },
    /// `[A; B; …]`: the arguments' rows one above the other, `r_1 × c, r_2 × c, … →
    /// (r_1 + r_2 + …) × c` (one or more arguments of one column count; per example, each
    /// example's blocks stacked, eq. 12.12's `[Sa_1ᵀ, …, Sa_Hᵀ]ᵀ`).
    ConcatRows,
    /// Rows `start … start + rows - 1`: `r × c → rows × c` (the transpose of
    /// [`Op::ConcatRows`] for one of its arguments).
    SliceRows {
        /// The first row taken.
        start: u32,
        /// How many rows.
        rows: u32,
    },
    /// Each example's vector as the diagonal of a square matrix, zero elsewhere: `n × B →
    /// n × nB`, or `n × 1 → n × n` (`diag[A 𝟏]`, the degree matrix of eq. 13.18).
    Diag,
    /// The diagonal of each example's square block: `n × nB → n × B`, or `n × n → n × 1`
    /// (the transpose of [`Op::Diag`]).
    DiagPart,
    /// `Softmask[S, M]` (eq. 13.24): column by column, a softmax over the entries of `S`
    /// where the mask `M` is not zero, exactly zero elsewhere; `M` of `S`'s shape or one
    /// fixed block shared by every example (`op::softmax`).
    Softmask,
    /// `MaxNe[H, A]` (eq. 13.21) for every node at once, or the part of its gradient that
    /// puts the cotangent back at the maximisers (`op::pool`; the parts are max pooling's,
    /// `pool::PoolPart`): `Pick (H, A, X)`, for node `n` and row `d`, `X[d, m]` at the
    /// neighbour `m` (`A[m, n] ≠ 0`) where `H[d, m]` is largest, 0 for a node with no
    /// neighbour; `Place (H, A, G)`, `G` put back at those neighbours.
    MaxNe(pool::PoolPart),
    /// The constant matrix [`Graph::tables`]`[k]` (fixed shape, folded at compile time: a
    /// matrix defined entry by entry, such as sinusoidal positional encodings).
    Table(u32),
}

/// One node: an op, its arguments and its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What it computes.
    pub op: Op,
    /// Its arguments, all earlier in the graph.
    pub args: Vec<NodeId>,
    /// Its shape.
    pub shape: Shape,
    /// A name from the spec (`h_1`, `L`), for printing and for the code generator.
    pub name: Option<String>,
}

/// What a graph input or parameter is.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    /// The name as the spec writes it (`x`, `β_0`).
    pub name: String,
    /// Its shape (batched for data).
    pub shape: Shape,
    /// For class labels: the first label and the number of classes.
    pub labels: Option<(i32, usize)>,
    /// For a vector of labels (`target y : {0, 1}^{D}`): the set each entry is in, as its
    /// first label and count. The entries are numbers to the model; the data must hold them.
    pub entry_labels: Option<(i32, usize)>,
    /// For a parameter: its group (`∈ θ`, or the instance name of a sub-model call).
    pub group: Option<String>,
    /// The node that reads it.
    pub node: NodeId,
    /// What the slot holds.
    pub role: Role,
    /// For noise: the distribution it is drawn from (`Norm[0, I]` is `Normal { 0, 1 }`).
    pub dist: Option<Init>,
}

impl Slot {
    /// The set every value of the slot must be in, as its first label and count: the classes
    /// of a class label, or the set of each entry of a vector of labels.
    pub fn label_set(&self) -> Option<(i32, usize)> {
        self.labels.or(self.entry_labels)
    }
}

/// What a graph slot holds: the statement that declared it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `input x : …`: data the model function reads.
    Input,
    /// `target y : …`: what the loss compares the model's output with.
    Target,
    /// `ε : ℝ^D ~ Norm[0, I]`: noise drawn afresh each step from the slot's `dist`.
    Noise,
    /// `param …`: a parameter.
    Param,
}

/// A computation graph for one model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// The model's name.
    pub name: String,
    /// The nodes, in topological order.
    pub nodes: Vec<Node>,
    /// The source span of each node (side table, same index).
    pub spans: Vec<Span>,
    /// Inputs, targets and noise, in declaration order.
    pub inputs: Vec<Slot>,
    /// Parameters, in declaration order.
    pub params: Vec<Slot>,
    /// Named results: the model function, every loss, and (after `ad`) gradients, each under
    /// its printed name (`∂L/∂β_0`); in a model with none of these nor an update rule (a
    /// sampling chain), its last equation's value. What a gradient is, is [`Graph::grads`]'s to say.
    pub outputs: Vec<(String, NodeId)>,
    /// The gradients among the outputs (after `ad`): of which loss, with respect to what.
    pub grads: Vec<Grad>,
    /// The losses (outputs by name) and the parameters each one trains (`loss L[φ]`).
    pub losses: Vec<Loss>,
    /// The initialiser of each parameter, by index into [`Graph::params`] (missing entries
    /// take the default: He for matrices, zero for vectors and scalars).
    pub inits: Vec<Init>,
    /// The statistics over the batch that have a running value ([`Op::BatchStat`]): state
    /// beside the parameters, updated by training steps, read in evaluation mode, never
    /// trained by an optimiser.
    pub stats: Vec<Stat>,
    /// The numbers of each [`Op::Table`], column by column.
    pub tables: Vec<Vec<f64>>,
    /// The frozen copies (eq. 19.18's `φ⁻`): `(copy, of)`, indices into [`Graph::params`].
    /// A copy is a parameter of its own (`β⁻` beside `β`, in the group `φ⁻`), which no loss
    /// trains, so no gradient reaches `β` through it; training copies `of` into `copy` at the
    /// start and then every `refresh` steps.
    pub frozen: Vec<(u32, u32)>,
    /// `env CartPole`: the environment the model acts in (chapter 19), which makes
    /// `nnspec train` run reinforcement learning instead of reading data.
    pub env: Option<String>,
    /// The update rules `q[s_t, a_t] ← …` (eqs. 19.11–19.15), one update step together: each
    /// new value is an output, computed from the parameters before the step.
    pub updates: Vec<Update>,
    /// `‖w_j‖ ≤ c`: the max-norm constraints training applies after each step.
    pub max_norms: Vec<MaxNorm>,
}

/// One update rule: the entries of a parameter's table written with an output's values.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    /// The parameter written, by index into [`Graph::params`].
    pub param: u32,
    /// Its row and (for a matrix) column, per example.
    pub index: Vec<UpdateIndex>,
    /// The output holding the new values (`1 × B`, one per example; or `1 × 1`, the same
    /// for every example).
    pub output: String,
}

/// Which entry an update writes along one axis of its table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UpdateIndex {
    /// The label of a data slot (index into [`Graph::inputs`]): its first label is entry 0.
    Label(u32),
    /// A fixed entry, counted from 0.
    Fixed(u32),
}

/// `‖w_j‖ ≤ c` (`check::max_norm`): after each optimiser step, the parameter `param` — each
/// column if `columns`, else all of it — is scaled back to norm `bound` where it exceeds it.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxNorm {
    /// The parameter's name, as [`Slot::name`].
    pub param: String,
    /// Each column separately (`‖w_j‖ ≤ c`), or the whole parameter (`‖w‖ ≤ c`).
    pub columns: bool,
    /// The radius `c`.
    pub bound: f64,
}

/// A running statistic: the state an [`Op::BatchStat`] reads in evaluation mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    /// Its name: `m_k` or `s_k` for the mean and standard deviation of the k-th `BatchNorm`
    /// in lowering order (checkpoints hold it as `running.m_k`).
    pub name: String,
    /// Its shape (fixed: one value per hidden unit, `D × 1`).
    pub shape: Shape,
    /// Its value before any training step (0 for a mean, 1 for a standard deviation).
    pub init: f64,
}

/// A gradient output: `∂loss/∂wrt`, computed at `node`.
#[derive(Clone, Debug, PartialEq)]
pub struct Grad {
    /// The loss's output name.
    pub loss: String,
    /// What it is taken with respect to.
    pub wrt: Wrt,
    /// The node holding it (also an output, under its printed name).
    pub node: NodeId,
}

/// What a gradient is taken with respect to: a parameter or an input, by slot index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrt {
    /// [`Graph::params`]`[k]`.
    Param(u32),
    /// [`Graph::inputs`]`[k]`.
    Input(u32),
}

/// How a parameter starts, or what noise is drawn from, as the spec writes it after `~` or
/// `=`: one definition, shared with the runtime (which samples it) and the exporters.
pub use nnspec_ops::init::{Band, Init};

/// A loss of the model and the parameter group it differentiates.
#[derive(Clone, Debug, PartialEq)]
pub struct Loss {
    /// The output that holds it.
    pub name: String,
    /// The group written in brackets (`φ`).
    pub group: Vec<String>,
    /// Indices into [`Graph::params`] of the parameters it trains.
    pub wrt: Vec<u32>,
}

/// A shape error in the IR: always a compiler bug (user errors are caught by `check`).
/// `Display` renders it in the book's notation (`` `add` of ℝ^{3} and ℝ ``).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// An op given the wrong number of arguments.
    Arity {
        /// The op.
        op: Op,
        /// The arguments it takes.
        want: usize,
        /// The arguments it was given.
        got: usize,
    },
    /// Arguments whose shapes the op does not take (element-wise ops of different shapes,
    /// a one-hot or a placed row of more than one row).
    Operands {
        /// The op.
        op: Op,
        /// The arguments' shapes.
        args: Vec<Shape>,
    },
    /// A broadcast to a shape the value does not repeat to.
    Broadcast {
        /// The value's shape.
        from: Shape,
        /// The shape asked for.
        to: Shape,
    },
    /// An op over the columns of each example, of a value that is not per example.
    NotPerExample {
        /// What the op computes (`a sum of each example's columns`).
        what: &'static str,
        /// The value's shape.
        shape: Shape,
    },
    /// Row `k` of a value with fewer rows.
    Row {
        /// The row (0-based).
        k: u32,
        /// The value's shape.
        shape: Shape,
    },
    /// Column `k` of each example of a value with fewer columns per example (or not per
    /// example).
    ExampleCol {
        /// The column (0-based).
        k: u32,
        /// The value's shape.
        shape: Shape,
    },
    /// Class labels that do not fit the value they pick from.
    Labels {
        /// The labels' shape.
        labels: Shape,
        /// The shape of the value picked from.
        of: Shape,
    },
    /// A batch transposed as a whole.
    TransposedBatch,
    /// A transposed batch as the left operand of a product.
    TransposedLeftBatch,
    /// A product whose operands do not fit.
    Product {
        /// Per example ([`Op::ExampleMatMul`]) or whole ([`Op::MatMul`]).
        per_example: bool,
        /// The left operand's shape.
        a: Shape,
        /// Whether it is transposed.
        ta: bool,
        /// The right operand's shape.
        b: Shape,
        /// Whether it is transposed.
        tb: bool,
    },
    /// A malformed graph: ids out of order, slots not bound, a missing output.
    Malformed(String),
    /// An error at node `%node`.
    AtNode {
        /// The node's index.
        node: u32,
        /// What is wrong there.
        error: Box<ShapeError>,
    },
    /// A graph an optimisation pass left malformed.
    AfterPass {
        /// The pass.
        pass: &'static str,
        /// What is wrong.
        error: Box<ShapeError>,
    },
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::Arity { op, want, got } => {
                write!(f, "`{op}` takes {want} arguments, got {got}")
            }
            ShapeError::Operands { op, args } => {
                let args: Vec<String> = args.iter().map(Shape::book).collect();
                write!(f, "`{op}` of {}", args.join(" and "))
            }
            ShapeError::Broadcast { from, to } => {
                write!(f, "cannot broadcast {} to {}", from.book(), to.book())
            }
            ShapeError::NotPerExample { what, shape } => {
                write!(f, "{what} of {}, which is not per example", shape.book())
            }
            ShapeError::Row { k, shape } => write!(f, "row {k} of {}", shape.book()),
            ShapeError::ExampleCol { k, shape } => {
                write!(f, "column {k} of each example of {}", shape.book())
            }
            ShapeError::Labels { labels, of } => {
                write!(f, "labels {} for {}", labels.book(), of.book())
            }
            ShapeError::TransposedBatch => f.write_str("cannot transpose a batch"),
            ShapeError::TransposedLeftBatch => {
                f.write_str("a transposed batch cannot be a left operand")
            }
            ShapeError::Product {
                per_example,
                a,
                ta,
                b,
                tb,
            } => write!(
                f,
                "a product{} of {}{} and {}{}",
                if *per_example { " per example" } else { "" },
                a.book(),
                t(*ta),
                b.book(),
                t(*tb)
            ),
            ShapeError::Malformed(what) => f.write_str(what),
            ShapeError::AtNode { node, error } => write!(f, "%{node}: {error}"),
            ShapeError::AfterPass { pass, error } => write!(f, "after `{pass}`: {error}"),
        }
    }
}

fn t(flag: bool) -> &'static str {
    if flag { "ᵀ" } else { "" }
}

impl Graph {
    /// The node behind an id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// Appends a node after checking its shape rule; returns its id.
    pub fn push(
        &mut self,
        op: Op,
        args: Vec<NodeId>,
        declared: Shape,
        span: Span,
    ) -> Result<NodeId, ShapeError> {
        let shapes: Vec<Shape> = args.iter().map(|a| self.nodes[a.index()].shape).collect();
        let shape = op.infer(&shapes, declared)?;
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node {
            op,
            args,
            shape,
            name: None,
        });
        self.spans.push(span);
        Ok(id)
    }

    /// The shape of a node.
    pub fn shape(&self, id: NodeId) -> Shape {
        self.nodes[id.index()].shape
    }

    /// Which nodes the given roots depend on (the roots included), by node index.
    pub fn ancestors(&self, roots: impl IntoIterator<Item = NodeId>) -> Vec<bool> {
        let mut mark = vec![false; self.nodes.len()];
        for r in roots {
            mark[r.index()] = true;
        }
        for i in (0..self.nodes.len()).rev() {
            if mark[i] {
                for a in &self.nodes[i].args {
                    mark[a.index()] = true;
                }
            }
        }
        mark
    }

    /// The forward pass: the nodes the model function and the losses need (every output
    /// that is not a gradient); the rest of a training graph is the backward pass.
    pub fn forward_nodes(&self) -> Vec<bool> {
        self.ancestors(
            self.outputs
                .iter()
                .filter(|(n, _)| !self.is_grad(n))
                .map(|(_, id)| *id),
        )
    }

    /// Whether the output of this name is a gradient.
    pub fn is_grad(&self, output: &str) -> bool {
        self.grads.iter().any(|gr| self.grad_name(gr) == output)
    }

    /// The printed name of a gradient output: `∂L/∂β_0`.
    pub fn grad_name(&self, gr: &Grad) -> String {
        let of = match gr.wrt {
            Wrt::Param(k) => &self.params[k as usize].name,
            Wrt::Input(k) => &self.inputs[k as usize].name,
        };
        format!("∂{}/∂{of}", gr.loss)
    }

    /// The gradient of `loss` with respect to parameter `k`, if the graph has it.
    pub fn param_grad(&self, loss: &str, k: usize) -> Option<NodeId> {
        self.grads
            .iter()
            .find(|gr| gr.loss == loss && gr.wrt == Wrt::Param(k as u32))
            .map(|gr| gr.node)
    }

    /// The output with this name.
    pub fn output(&self, name: &str) -> Option<NodeId> {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_errors_speak_the_books_notation() {
        let m = Shape::fixed(4, 4);
        let e = Op::Broadcast
            .infer(&[m], Shape::batch(4))
            .expect_err("a matrix is not broadcast to a batch");
        assert_eq!(
            e.to_string(),
            "cannot broadcast ℝ^{4×4} to ℝ^{4} per example"
        );
        let e = Op::Add
            .infer(&[Shape::fixed(3, 1), Shape::SCALAR], Shape::SCALAR)
            .expect_err("different shapes");
        assert_eq!(e.to_string(), "`add` of ℝ^{3} and ℝ");
        let e = Op::MatMul {
            ta: true,
            tb: false,
        }
        .infer(&[Shape::fixed(2, 3), Shape::batch(4)], Shape::SCALAR)
        .expect_err("inner dimensions differ");
        assert_eq!(e.to_string(), "a product of ℝ^{2×3}ᵀ and ℝ^{4} per example");
    }

    #[test]
    fn shape_errors_are_typed() {
        let k = Shape::batch_matrix(2, 3);
        let e = Op::ExampleMatMul {
            ta: false,
            tb: false,
        }
        .infer(&[k, k], k)
        .expect_err("2×3 by 2×3 per example");
        assert!(matches!(
            e,
            ShapeError::Product {
                per_example: true,
                ta: false,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "a product per example of ℝ^{2×3} per example and ℝ^{2×3} per example"
        );
        let e = Op::ExampleCol(3).infer(&[k], k).expect_err("3 columns");
        assert_eq!(e, ShapeError::ExampleCol { k: 3, shape: k });
        assert_eq!(
            e.to_string(),
            "column 3 of each example of ℝ^{2×3} per example"
        );
        let e = Op::Add.infer(&[k], k).expect_err("one argument");
        assert_eq!(
            e,
            ShapeError::Arity {
                op: Op::Add,
                want: 2,
                got: 1
            }
        );
        let e = Op::ExampleTranspose
            .infer(&[Shape::fixed(2, 2)], k)
            .expect_err("a fixed matrix");
        assert!(matches!(e, ShapeError::NotPerExample { .. }));
        assert_eq!(
            e.to_string(),
            "a transpose per example of ℝ^{2×2}, which is not per example"
        );
    }
}
