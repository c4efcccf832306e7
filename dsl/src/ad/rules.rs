//! One VJP rule per op: given a node `y = op(x…)` and the cotangent `ḡ = ∂L/∂y`, the
//! contributions `∂L/∂xₖ`, built from IR ops. `None` is a symbolic zero. The match is
//! exhaustive on purpose: a new op does not compile until it has a rule here.

use super::Builder;
use crate::ir::extreme::ExtPart;
use crate::ir::{Cols, F64, Node, NodeId, Op, Shape, ShapeError, Unary};

type Contribs = Vec<Option<NodeId>>;

/// The contributions of node `y` (with id `yid`) to its arguments, for cotangent `g`.
pub fn vjp(b: &mut Builder<'_>, y: &Node, yid: NodeId, g: NodeId) -> Result<Contribs, ShapeError> {
    let x = &y.args;
    Ok(match y.op {
        // Leaves and non-differentiable ops.
        Op::Input(_) | Op::Param(_) | Op::Const(_) | Op::Identity | Op::Table(_) => Vec::new(),
        Op::OneHot { .. } | Op::StopGradient => vec![None],
        // Training mode: the batch's statistic itself, ∂ = ḡ (evaluation mode is not
        // differentiated).
        Op::BatchStat { .. } => vec![Some(g)],
        // ∂(a + b) = ḡ, ḡ;  ∂(a - b) = ḡ, -ḡ.
        Op::Add => vec![Some(g), Some(g)],
        Op::Sub => vec![Some(g), Some(b.op(Op::Unary(Unary::Neg), &[g])?)],
        // ∂(a ⊙ b) = ḡ ⊙ b, ḡ ⊙ a.
        Op::Mul => vec![Some(b.mul(g, x[1])?), Some(b.mul(g, x[0])?)],
        // ∂(a / b) = ḡ / b, -ḡ ⊙ y / b.
        Op::Div => div(b, x, yid, g)?,
        Op::Unary(u) => vec![unary(b, u, x[0], yid, g)?],
        // Un-broadcasting: sum the cotangent over the dimensions the broadcast repeated.
        Op::Broadcast => vec![Some(unbroadcast(b, b.graph.shape(x[0]), y.shape, g)?)],
        // ∂(𝟏ᵀx) = 𝟏 ḡ: repeat the row;  ∂(∑ over columns) = ḡ 𝟏ᵀ: repeat the column.
        // ∂(X 𝟏 per example) = ḡ 𝟏ᵀ: repeat each example's column over its columns.
        Op::SumRows | Op::SumCols | Op::SumExampleCols => {
            vec![Some(b.broadcast(g, b.graph.shape(x[0]))?)]
        }
        // C = op(A) op(B):  ∂A = ḡ op(B)ᵀ (or its transpose),  ∂B = op(A)ᵀ ḡ (or its transpose).
        Op::MatMul { ta, tb } => matmul(b, x, ta, tb, g)?,
        // ∂(aᵀ) = ḡᵀ, as a whole or example by example.
        Op::Transpose => vec![Some(b.op(Op::Transpose, &[g])?)],

        // y = softmax(x):  ∂x = y ⊙ (ḡ - 𝟏 (yᵀ ḡ)), column by column.
        Op::Softmax => vec![Some(softmax(b, y.shape, yid, g)?)],
        // y = Softmask[s, m]: the softmax's rule with y zero where m is (so is ∂s there); the
        // mask only selects entries and gets nothing.
        Op::Softmask => vec![Some(softmax(b, y.shape, yid, g)?), None],
        // y = diag[v] per example:  ∂v = the diagonal of ḡ;  y = the diagonal of x:  ∂x =
        // diag[ḡ] (each the other's transpose).
        Op::Diag => vec![Some(b.op(Op::DiagPart, &[g])?)],
        Op::DiagPart => vec![Some(b.op(Op::Diag, &[g])?)],
        // y = log ∑ exp x:  ∂x = softmax(x) ḡ.
        Op::LogSumExp => {
            let p = b.op(Op::Softmax, &[x[0]])?;
            let gb = b.broadcast(g, b.graph.shape(x[0]))?;
            vec![Some(b.mul(p, gb)?)]
        }
        // y = x[k, :]:  ∂x is zero except row k.
        Op::Row(k) => {
            let rows = b.graph.shape(x[0]).rows as u32;
            vec![Some(b.op(Op::PlaceRow { k, rows }, &[g])?)]
        }
        Op::PlaceRow { k, .. } => vec![Some(b.op(Op::Row(k), &[g])?)],
        Op::Conv(c) => conv(b, c, x, g)?,
        // Each part is constant in x (the maximisers) and linear in its second argument,
        // its gradient the other part: ∂Pick(x, h)/∂h = Place(x, ḡ), ∂Place(x, g)/∂g =
        // Pick(x, ḡ); nothing flows to x (MaxPool[h] = Pick(h, h) gets Place(h, ḡ) this way).
        Op::MaxPool(p) => vec![None, Some(b.op(p.part(p.part.other()), &[x[0], g])?)],
        // The same for the maximum over neighbours: constant in (h, a), linear in the last
        // argument, ∂Pick(h, a, x)/∂x = Place(h, a, ḡ) and ∂Place(h, a, g)/∂g = Pick(h, a, ḡ).
        Op::MaxNe(p) => vec![
            None,
            None,
            Some(b.op(Op::MaxNe(p.other()), &[x[0], x[1], g])?),
        ],
        Op::Extreme(e) => extreme(b, e, x, g)?,
        // The same numbers in the same order: the cotangent reshaped back.
        Op::Reshape { .. } => vec![Some(reshape_back(b, y.op, b.graph.shape(x[0]), g)?)],
        Op::ConcatRows | Op::SliceRows { .. } => rows(b, y, g)?,
        Op::ExampleMatMul { .. }
        | Op::ExampleTranspose
        | Op::SumExamples
        | Op::TileExamples
        | Op::ExampleCol(_)
        | Op::PlaceExampleCol { .. } => per_example(b, y, g)?,
        // y_j = x[label_j, j]:  ∂x = onehot(labels) ⊙ ḡ; labels get nothing.
        Op::PickLabel { lo } => vec![Some(pick_label(b, x, lo, g)?), None],
    })
}

/// `y = a / b`: `∂a = ḡ / b`, `∂b = -ḡ ⊙ y / b`.
fn div(b: &mut Builder<'_>, x: &[NodeId], yid: NodeId, g: NodeId) -> Result<Contribs, ShapeError> {
    let da = b.op(Op::Div, &[g, x[1]])?;
    let gy = b.mul(g, yid)?;
    let q = b.op(Op::Div, &[gy, x[1]])?;
    Ok(vec![Some(da), Some(b.op(Op::Unary(Unary::Neg), &[q])?)])
}

/// Un-broadcasting from `to` back to `from`: the cotangent summed over the dimensions the
/// broadcast repeated.
fn unbroadcast(
    b: &mut Builder<'_>,
    from: Shape,
    to: Shape,
    g: NodeId,
) -> Result<NodeId, ShapeError> {
    let mut d = g;
    if from.rows == 1 && to.rows != 1 {
        d = b.op(Op::SumRows, &[d])?;
    }
    if from.cols != to.cols {
        // One column per example repeated over its columns: sum each example's.
        let op = if from.cols == Cols::EXAMPLE {
            Op::SumExampleCols
        } else {
            Op::SumCols
        };
        d = b.op(op, &[d])?;
    }
    Ok(d)
}

/// `C = op(A) op(B)`: `∂A = ḡ op(B)ᵀ` (or its transpose), `∂B = op(A)ᵀ ḡ` (or its transpose).
fn matmul(
    b: &mut Builder<'_>,
    x: &[NodeId],
    ta: bool,
    tb: bool,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let da = if ta {
        b.op(Op::MatMul { ta: tb, tb: true }, &[x[1], g])?
    } else {
        b.op(Op::MatMul { ta: false, tb: !tb }, &[g, x[1]])?
    };
    let db = if tb {
        b.op(Op::MatMul { ta: true, tb: ta }, &[g, x[0]])?
    } else {
        b.op(Op::MatMul { ta: !ta, tb: false }, &[x[0], g])?
    };
    Ok(vec![Some(da), Some(db)])
}

/// `y = softmax(x)` (or a masked softmax, zero where masked, so `y` already is):
/// `∂x = y ⊙ (ḡ - 𝟏 (yᵀ ḡ))`, column by column.
fn softmax(
    b: &mut Builder<'_>,
    shape: Shape,
    yid: NodeId,
    g: NodeId,
) -> Result<NodeId, ShapeError> {
    let gy = b.mul(g, yid)?;
    let s = b.op(Op::SumRows, &[gy])?;
    let s = b.broadcast(s, shape)?;
    let diff = b.op(Op::Sub, &[g, s])?;
    b.mul(yid, diff)
}

/// Each part of a maximum is constant in the selecting `xa`, `xb` and linear in the rest:
/// `∂Pick(xa, xb, ha, hb)/∂ha = First(xa, xb, ḡ)`, `∂/∂hb = Second(xa, xb, ḡ)`; `First`
/// and `Second` are masks, each its own transpose: `∂First(xa, xb, g)/∂g = First(xa, xb, ḡ)`.
fn extreme(
    b: &mut Builder<'_>,
    e: crate::ir::extreme::Ext,
    x: &[NodeId],
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let place = |b: &mut Builder<'_>, part| b.op(e.part(part), &[x[0], x[1], g]);
    Ok(match e.part {
        ExtPart::Pick => vec![
            None,
            None,
            Some(place(b, ExtPart::First)?),
            Some(place(b, ExtPart::Second)?),
        ],
        part @ (ExtPart::First | ExtPart::Second) => vec![None, None, Some(place(b, part)?)],
    })
}

/// A reshape keeps the numbers in their order: the cotangent reshaped back to `s`.
fn reshape_back(b: &mut Builder<'_>, op: Op, s: Shape, g: NodeId) -> Result<NodeId, ShapeError> {
    let cols = match s.cols {
        Cols::Batch(n) => n as u32,
        Cols::Fixed(_) => {
            return Err(ShapeError::Operands { op, args: vec![s] });
        }
    };
    b.op(
        Op::Reshape {
            rows: s.rows as u32,
            cols,
        },
        &[g],
    )
}

/// `y_j = x[label_j, j]`: `∂x = onehot(labels) ⊙ ḡ`; the labels get nothing.
fn pick_label(b: &mut Builder<'_>, x: &[NodeId], lo: i32, g: NodeId) -> Result<NodeId, ShapeError> {
    let shape = b.graph.shape(x[0]);
    let onehot = b.op(
        Op::OneHot {
            rows: shape.rows as u32,
            lo,
        },
        &[x[1]],
    )?;
    let gb = b.broadcast(g, shape)?;
    b.mul(onehot, gb)
}

/// The three bilinear parts of a convolution (`ir::conv`), each differentiated into the
/// other two: `y = ω ⋆ x`: `∂ω = Kernel(x, ḡ)`, `∂x = Input(ω, ḡ)`; `z = Input(ω, g)`:
/// `∂ω = Kernel(z̄, g)`, `∂g = ω ⋆ z̄`; `w = Kernel(x, g)`: `∂x = Input(w̄, g)`, `∂g = w̄ ⋆ x`.
fn conv(
    b: &mut Builder<'_>,
    c: crate::ir::conv::Conv,
    x: &[NodeId],
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    use crate::ir::conv::ConvPart::{Forward, Input, Kernel};
    let (p, q) = (x[0], x[1]);
    Ok(match c.part {
        Forward => vec![
            Some(b.op(c.part(Kernel), &[q, g])?),
            Some(b.op(c.part(Input), &[p, g])?),
        ],
        Input => vec![
            Some(b.op(c.part(Kernel), &[g, q])?),
            Some(b.op(c.part(Forward), &[p, g])?),
        ],
        Kernel => vec![
            Some(b.op(c.part(Input), &[g, q])?),
            Some(b.op(c.part(Forward), &[g, p])?),
        ],
    })
}

/// The rules of the ops that know the columns of each example.
fn per_example(b: &mut Builder<'_>, y: &Node, g: NodeId) -> Result<Contribs, ShapeError> {
    let x = &y.args;
    Ok(match y.op {
        // Per example, C_b = op(A_b) op(B_b): the same rule, example by example; a fixed
        // operand's gradient is the sum of its examples' contributions.
        Op::ExampleMatMul { ta, tb } => {
            let mm = |ta, tb| Op::ExampleMatMul { ta, tb };
            let da = if ta {
                b.op(mm(tb, true), &[x[1], g])?
            } else {
                b.op(mm(false, !tb), &[g, x[1]])?
            };
            let db = if tb {
                b.op(mm(true, ta), &[g, x[0]])?
            } else {
                b.op(mm(!ta, false), &[x[0], g])?
            };
            vec![
                Some(over_examples(b, da, x[0])?),
                Some(over_examples(b, db, x[1])?),
            ]
        }
        // ∂(∑_i X_i) = ḡ in every example;  ∂(ḡ in every example) = ∑_i ḡ_i.
        Op::SumExamples => {
            let shape = b.graph.shape(x[0]);
            vec![Some(b.graph.push(
                Op::TileExamples,
                vec![g],
                shape,
                b.span,
            )?)]
        }
        Op::TileExamples => vec![Some(b.op(Op::SumExamples, &[g])?)],
        // ∂(each example's block transposed) = ḡ's blocks transposed.
        Op::ExampleTranspose => vec![Some(b.op(Op::ExampleTranspose, &[g])?)],
        // y = column k of each example's block:  ∂x is zero except those columns.
        Op::ExampleCol(k) => {
            let n = match b.graph.shape(x[0]).cols {
                Cols::Batch(n) | Cols::Fixed(n) => n as u32,
            };
            vec![Some(b.op(Op::PlaceExampleCol { k, n }, &[g])?)]
        }
        Op::PlaceExampleCol { k, .. } => vec![Some(b.op(Op::ExampleCol(k), &[g])?)],
        _ => {
            return Err(ShapeError::Operands {
                op: y.op,
                args: vec![y.shape],
            });
        }
    })
}

/// A contribution `d` per example to the gradient of `x`: itself if `x` is per example, else
/// (a fixed operand of a product per example) its sum over the examples.
fn over_examples(b: &mut Builder<'_>, d: NodeId, x: NodeId) -> Result<NodeId, ShapeError> {
    match (b.graph.shape(x).cols, b.graph.shape(d).cols) {
        (Cols::Fixed(_), Cols::EXAMPLE) => b.op(Op::SumCols, &[d]),
        (Cols::Fixed(_), _) => b.op(Op::SumExamples, &[d]),
        _ => Ok(d),
    }
}

/// ∂f(x) for an element-wise `f`, as `ḡ ⊙ f'(x)`; `None` where `f'` is zero almost everywhere.
fn unary(
    b: &mut Builder<'_>,
    u: Unary,
    x: NodeId,
    y: NodeId,
    g: NodeId,
) -> Result<Option<NodeId>, ShapeError> {
    let shape = b.graph.shape(x);
    let f = |b: &mut Builder<'_>, u: Unary, a: NodeId| b.op(Op::Unary(u), &[a]);
    let d = match u {
        // -ḡ
        Unary::Neg => return f(b, Unary::Neg, g).map(Some),
        // exp' = exp = y
        Unary::Exp => y,
        // log' = 1/x
        Unary::Log => return b.op(Op::Div, &[g, x]).map(Some),
        // sin' = cos
        Unary::Sin => f(b, Unary::Cos, x)?,
        // cos' = -sin
        Unary::Cos => {
            let s = f(b, Unary::Sin, x)?;
            f(b, Unary::Neg, s)?
        }
        // tanh' = 1 - y²
        Unary::Tanh => {
            let y2 = b.mul(y, y)?;
            let one = b.constant(1.0, shape)?;
            b.op(Op::Sub, &[one, y2])?
        }
        // sig' = y (1 - y)
        Unary::Sig => {
            let one = b.constant(1.0, shape)?;
            let c = b.op(Op::Sub, &[one, y])?;
            b.mul(y, c)?
        }
        // ReLU' = [x > 0] = sign(y), read from the output y = max(x, 0) ≥ 0, so the
        // pre-activation need not be kept for the backward pass and fuses with the
        // activation (the subgradient at 0 is 0).
        Unary::Relu => f(b, Unary::Sign, y)?,
        // LReLU_α' = α + (1 - α) Heaviside; for α > 0 the output has the input's sign.
        Unary::LRelu(F64(alpha)) => {
            let h = f(b, Unary::Heaviside, if alpha > 0.0 { y } else { x })?;
            let h = b.scale(1.0 - alpha, h)?;
            let a = b.constant(alpha, shape)?;
            b.add(h, a)?
        }
        // softplus' = sig
        Unary::Softplus => f(b, Unary::Sig, x)?,
        // HardSwish' = 0, (2x + 3)/6, 1 on the three pieces
        Unary::HardSwish => f(b, Unary::HardSwishGrad, x)?,
        // √' = 1/(2y)
        Unary::Sqrt => {
            let two_y = b.scale(2.0, y)?;
            return b.op(Op::Div, &[g, two_y]).map(Some);
        }
        // |x|' = sign x
        Unary::Abs => f(b, Unary::Sign, x)?,
        // (x^p)' = p x^(p-1)
        Unary::Powf(F64(p)) => {
            if p == 0.0 {
                return Ok(None);
            }
            let xp = if p == 2.0 {
                x
            } else {
                f(b, Unary::Powf(F64(p - 1.0)), x)?
            };
            b.scale(p, xp)?
        }
        // (1/x)' = -1/x² = -y²
        Unary::Recip => {
            let y2 = b.mul(y, y)?;
            f(b, Unary::Neg, y2)?
        }
        // HardSwish'' = 1/3 on [-3, 3], else 0.
        Unary::HardSwishGrad => {
            let three = b.constant(3.0, shape)?;
            let up = b.add(x, three)?;
            let down = b.op(Op::Sub, &[x, three])?;
            let h_up = f(b, Unary::Heaviside, up)?;
            let h_down = f(b, Unary::Heaviside, down)?;
            let band = b.op(Op::Sub, &[h_up, h_down])?;
            b.scale(1.0 / 3.0, band)?
        }
        // Piecewise constant: zero derivative almost everywhere.
        Unary::Heaviside | Unary::Rect | Unary::Sign => return Ok(None),
    };
    b.mul(g, d).map(Some)
}

/// The rules of joining and splitting rows.
fn rows(b: &mut Builder<'_>, y: &Node, g: NodeId) -> Result<Contribs, ShapeError> {
    let x = &y.args;
    Ok(match y.op {
        // y = [x_1; x_2; …]:  ∂x_k = the rows of ḡ where x_k sits.
        Op::ConcatRows => {
            let mut start = 0;
            let mut out = Vec::with_capacity(x.len());
            for a in x {
                let rows = b.graph.shape(*a).rows as u32;
                out.push(Some(b.op(Op::SliceRows { start, rows }, &[g])?));
                start += rows;
            }
            out
        }
        // y = rows start … start + r - 1 of x:  ∂x = [0; ḡ; 0].
        Op::SliceRows { start, rows } => {
            let shape = b.graph.shape(x[0]);
            let below = shape.rows - start as usize - rows as usize;
            let mut parts = Vec::with_capacity(3);
            if start > 0 {
                parts.push(b.constant(
                    0.0,
                    Shape {
                        rows: start as usize,
                        cols: shape.cols,
                    },
                )?);
            }
            parts.push(g);
            if below > 0 {
                parts.push(b.constant(
                    0.0,
                    Shape {
                        rows: below,
                        cols: shape.cols,
                    },
                )?);
            }
            vec![Some(b.op(Op::ConcatRows, &parts)?)]
        }
        _ => {
            return Err(ShapeError::Operands {
                op: y.op,
                args: vec![y.shape],
            });
        }
    })
}
