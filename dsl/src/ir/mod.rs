//! The IR: an SSA graph of tensor operations on `rows × cols` matrices.
//!
//! A [`Graph`] is an arena of [`Node`]s in topological order (every argument precedes its
//! users), addressed by typed [`NodeId`]s, with a side table of source spans. Every value is a
//! matrix whose column count is either fixed or the run-time batch size `B`: the book's
//! per-example equations become batched operations on `D × B` matrices (one column per
//! example), parameters are fixed-size, a scalar is `1 × 1`.
//!
//! The IR knows nothing about differentiation: `ad` builds gradients out of the same ops.
//! [`Op::infer`] is the one shape rule per op, used when building and by [`verify`] after every
//! pass. The text form ([`Graph`]'s `Display`, like a jaxpr) is what every snapshot shows.

pub mod lower;
mod print;
mod verify;

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

/// A column count: fixed, or the batch size `B` known only at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cols {
    /// A fixed number of columns.
    Fixed(usize),
    /// One column per example.
    Batch,
}

/// The shape of a value: `rows × cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Rows (the book's vector length).
    pub rows: usize,
    /// Columns.
    pub cols: Cols,
}

impl Shape {
    /// A `1 × 1` scalar.
    pub const SCALAR: Shape = Shape {
        rows: 1,
        cols: Cols::Fixed(1),
    };

    /// A fixed-size `rows × cols` matrix.
    pub fn fixed(rows: usize, cols: usize) -> Shape {
        Shape {
            rows,
            cols: Cols::Fixed(cols),
        }
    }

    /// A `rows × B` batch of column vectors.
    pub fn batch(rows: usize) -> Shape {
        Shape {
            rows,
            cols: Cols::Batch,
        }
    }

    /// Entries per example (for a batch) or in all (for a fixed shape).
    pub fn len_per_example(self) -> usize {
        match self.cols {
            Cols::Fixed(c) => self.rows * c,
            Cols::Batch => self.rows,
        }
    }
}

/// An `f64` constant that can be compared and hashed (by its bits), for CSE.
#[derive(Clone, Copy, Debug)]
pub struct F64(pub f64);

impl PartialEq for F64 {
    fn eq(&self, other: &F64) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for F64 {}
impl std::hash::Hash for F64 {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h);
    }
}

/// Element-wise functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unary {
    /// `-x`.
    Neg,
    /// `exp[x]`.
    Exp,
    /// `log[x]`.
    Log,
    /// `sin[x]`.
    Sin,
    /// `cos[x]`.
    Cos,
    /// `tanh[x]`.
    Tanh,
    /// `sig[x] = 1/(1 + exp[-x])`.
    Sig,
    /// `ReLU[x] = max(0, x)`.
    Relu,
    /// `LReLU_α[x] = x` for x ≥ 0, `α·x` otherwise.
    LRelu(F64),
    /// `softplus[x] = log[1 + exp[x]]`, computed stably.
    Softplus,
    /// `HardSwish[x]` (eq. 3.13): 0 below -3, x(x+3)/6 on [-3, 3], x above 3.
    HardSwish,
    /// `Heaviside[x]`: 1 for x ≥ 0, else 0.
    Heaviside,
    /// `rect[x]`: 1 on [0, 1], else 0.
    Rect,
    /// `√x`.
    Sqrt,
    /// `|x|`.
    Abs,
    /// `sign[x]` ∈ {-1, 0, 1} (the derivative of `|x|`).
    Sign,
    /// `x^p` for a constant `p`.
    Powf(F64),
    /// `1/x`.
    Recip,
    /// The derivative of HardSwish: 0 below -3, (2x+3)/6 on [-3, 3], 1 above.
    HardSwishGrad,
}

/// The operations of the IR. Each variant's doc gives its meaning; [`Op::infer`] its shape rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Data input `index` of the model (`rows × B`), or a class label as a number (`1 × B`).
    Input(u32),
    /// Trainable parameter `index` (fixed shape).
    Param(u32),
    /// A constant filling the node's shape.
    Const(F64),
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
    /// `D × B`, a scalar `1 × 1` to anything.
    Broadcast,
    /// Sum over rows: `r × c → 1 × c` (`𝟏ᵀ x`).
    SumRows,
    /// Sum over columns: `r × c → r × 1` (over the batch for a `r × B` value).
    SumCols,
    /// `op(a) · op(b)` where `op` transposes when the flag is set; transposes are views.
    MatMul {
        /// Transpose the left operand.
        ta: bool,
        /// Transpose the right operand.
        tb: bool,
    },
    /// `aᵀ` (fixed shapes only; batched values are never transposed).
    Transpose,
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
    /// For a parameter: its group (`∈ θ`, or the instance name of a sub-model call).
    pub group: Option<String>,
    /// The node that reads it.
    pub node: NodeId,
    /// What the slot holds.
    pub role: Role,
}

/// What a graph slot holds: the statement that declared it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `input x : …`: data the model function reads.
    Input,
    /// `target y : …`: what the loss compares the model's output with.
    Target,
    /// `ε : ℝ^D ~ Norm[0, I]`: noise drawn afresh each step.
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
    /// Named results: the model function, every loss, and (after `ad`) gradients.
    pub outputs: Vec<(String, NodeId)>,
    /// The losses (outputs by name) and the parameters each one trains (`loss L[φ]`).
    pub losses: Vec<Loss>,
    /// The initialiser of each parameter, by index into [`Graph::params`] (missing entries
    /// take the default: He for matrices, zero for vectors and scalars).
    pub inits: Vec<Init>,
}

/// How a parameter starts, as the spec writes it after `~` or `=`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// The default: He (eq. 7.32) for a matrix, zero for a vector or a scalar. Lowering
    /// writes `He` for a declared matrix of one column (`ℝ^{D×D_i}` with `D_i = 1`), which
    /// the runtime, seeing only its shape, would take for a bias.
    Default,
    /// `~ He`: normal with variance `2 / fan-in` (eq. 7.32).
    He,
    /// `~ Glorot`: normal with variance `4 / (fan-in + fan-out)` (eq. 7.34).
    Glorot,
    /// `~ LeCun`: normal with variance `1 / fan-in`.
    LeCun,
    /// `~ Norm[μ, σ²]`.
    Normal {
        /// Mean.
        mean: f64,
        /// Variance.
        variance: f64,
    },
    /// `~ Uniform[a, b]`.
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// `= c`.
    Const(f64),
}

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Op {
    /// The shape rule: the node's shape from its arguments' shapes, or why they do not fit.
    /// `Const`, `Input`, `Param` and `Broadcast` take their shape from the node itself, passed
    /// as `declared`.
    pub fn infer(&self, args: &[Shape], declared: Shape) -> Result<Shape, ShapeError> {
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(ShapeError(format!(
                    "{self:?} takes {n} arguments, got {}",
                    args.len()
                )))
            }
        };
        let same = |a: Shape, b: Shape| {
            if a == b {
                Ok(a)
            } else {
                Err(ShapeError(format!("{self:?}: {a:?} vs {b:?}")))
            }
        };
        match *self {
            Op::Input(_) | Op::Param(_) | Op::Const(_) => {
                arity(0)?;
                Ok(declared)
            }
            Op::Add | Op::Sub | Op::Mul | Op::Div => {
                arity(2)?;
                same(args[0], args[1])
            }
            Op::Unary(_) | Op::Softmax | Op::StopGradient => {
                arity(1)?;
                Ok(args[0])
            }
            Op::Broadcast => {
                arity(1)?;
                let a = args[0];
                let rows_ok = a.rows == declared.rows || a.rows == 1;
                let cols_ok = a.cols == declared.cols || a.cols == Cols::Fixed(1);
                if rows_ok && cols_ok {
                    Ok(declared)
                } else {
                    Err(ShapeError(format!(
                        "cannot broadcast {a:?} to {declared:?}"
                    )))
                }
            }
            Op::SumRows | Op::LogSumExp => {
                arity(1)?;
                Ok(Shape {
                    rows: 1,
                    cols: args[0].cols,
                })
            }
            Op::SumCols => {
                arity(1)?;
                Ok(Shape::fixed(args[0].rows, 1))
            }
            Op::Row(k) => {
                arity(1)?;
                if (k as usize) < args[0].rows {
                    Ok(Shape {
                        rows: 1,
                        cols: args[0].cols,
                    })
                } else {
                    Err(ShapeError(format!("row {k} of {:?}", args[0])))
                }
            }
            Op::PickLabel { .. } => {
                arity(2)?;
                if args[1].rows == 1 && args[1].cols == args[0].cols {
                    Ok(Shape {
                        rows: 1,
                        cols: args[0].cols,
                    })
                } else {
                    Err(ShapeError(format!(
                        "labels {:?} for {:?}",
                        args[1], args[0]
                    )))
                }
            }
            Op::OneHot { rows, .. } | Op::PlaceRow { rows, .. } => {
                arity(1)?;
                if args[0].rows == 1 {
                    Ok(Shape {
                        rows: rows as usize,
                        cols: args[0].cols,
                    })
                } else {
                    Err(ShapeError(format!("{self:?} of {:?}", args[0])))
                }
            }
            Op::Transpose => {
                arity(1)?;
                match args[0].cols {
                    Cols::Fixed(c) => Ok(Shape::fixed(c, args[0].rows)),
                    Cols::Batch => Err(ShapeError("cannot transpose a batch".into())),
                }
            }
            Op::MatMul { ta, tb } => {
                arity(2)?;
                let (a, b) = (args[0], args[1]);
                // The left operand gives the rows and an inner dimension; the right one the
                // inner dimension and the columns. An inner dimension of `B` contracts over
                // the batch (a gradient's sum over examples, `G Xᵀ`).
                let (rows, inner_a) = match (ta, a.cols) {
                    (false, c) => (a.rows, c),
                    (true, Cols::Fixed(c)) => (c, Cols::Fixed(a.rows)),
                    (true, Cols::Batch) => {
                        return Err(ShapeError(
                            "a transposed batch cannot be a left operand".into(),
                        ));
                    }
                };
                let (inner_b, cols) = if tb {
                    (b.cols, Cols::Fixed(b.rows))
                } else {
                    (Cols::Fixed(b.rows), b.cols)
                };
                if inner_a == inner_b {
                    Ok(Shape { rows, cols })
                } else {
                    Err(ShapeError(format!(
                        "matmul {a:?}{} × {b:?}{}",
                        t(ta),
                        t(tb)
                    )))
                }
            }
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
    /// that is not a gradient `∂…`); the rest of a training graph is the backward pass.
    pub fn forward_nodes(&self) -> Vec<bool> {
        self.ancestors(
            self.outputs
                .iter()
                .filter(|(n, _)| !n.starts_with('∂'))
                .map(|(_, id)| *id),
        )
    }

    /// The output with this name.
    pub fn output(&self, name: &str) -> Option<NodeId> {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
    }
}
