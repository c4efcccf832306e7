//! Products: `op(A) op(B)` of whole matrices (`MatMul`, transposes as flags: `Ω X` one GEMM
//! for the whole batch, `G Xᵀ` a parameter's gradient contracting over the batch) and the
//! product per example (`ExampleMatMul`: `Kᵀ Q`, `V A`, `X ω` of a matrix per example, each
//! example's block times the other operand's block, a fixed operand the same for every
//! example). Why two ops and not one: in `MatMul` a batched inner dimension already means a
//! contraction over the batch, so the same operand shapes would have two meanings; and the
//! VJP of a per-example product is again per example (`∂K = Q ḡᵀ`, `∂Q = K ḡ`), never a
//! contraction, except for a fixed operand, whose gradient sums the examples' contributions.
//! Neither fuses.
//!
//! Emitted: `runtime::gemm` (`gemm_scaled` with the constant of a scaled product as α,
//! written into the scaling's buffer, `Plan::scaled`), the plan's straight-line form of
//! a tiny product (`runtime::tiny::cols`/`inner`, `Plan::tiny`), and
//! `runtime::gemm::gemm_per_example`. Interpreted in `src/interp.rs::eval_node` by
//! `runtime::gemm` and `gemm_per_example`.

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use crate::opt::plan::Tiny;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// Products are kernel calls, not loops.
pub(crate) const FUSES: bool = false;

/// The shape rule of `op(a) op(b)`. The left operand gives the rows and an inner dimension;
/// the right one the inner dimension and the columns. An inner dimension of `B` (or `NB`)
/// contracts over the batch (a gradient's sum over examples, `G Xᵀ`).
pub(crate) fn matmul_shape(ta: bool, tb: bool, a: Shape, b: Shape) -> Result<Shape, ShapeError> {
    let (rows, inner_a) = match (ta, a.cols) {
        (false, c) => (a.rows, c),
        (true, Cols::Fixed(c)) => (c, Cols::Fixed(a.rows)),
        (true, Cols::Batch(_)) => {
            return Err(ShapeError::TransposedLeftBatch);
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
        Err(ShapeError::Product {
            per_example: false,
            a,
            ta,
            b,
            tb,
        })
    }
}

/// The shape rule of the per-example product `op(a_b) op(b_b)`: each operand's block per
/// example (`rows × n` of a `rows × nB` value, or the whole of a fixed one), transposed by
/// its flag, must fit, and one operand at least is per example; the result has the left
/// block's rows and, per example, the right block's columns.
pub(crate) fn example_matmul_shape(
    ta: bool,
    tb: bool,
    a: Shape,
    b: Shape,
) -> Result<Shape, ShapeError> {
    let block = |s: Shape, flag: bool| {
        let n = match s.cols {
            Cols::Batch(n) | Cols::Fixed(n) => n,
        };
        if flag { (n, s.rows) } else { (s.rows, n) }
    };
    let ((m, k), (k2, p)) = (block(a, ta), block(b, tb));
    if k == k2 && (a.cols.is_batch() || b.cols.is_batch()) {
        Ok(Shape::batch_matrix(m, p))
    } else {
        Err(ShapeError::Product {
            per_example: true,
            a,
            ta,
            b,
            tb,
        })
    }
}

/// `C = op(A) op(B)`: `∂A = ḡ op(B)ᵀ` (or its transpose), `∂B = op(A)ᵀ ḡ` (or its transpose).
pub(crate) fn matmul_vjp(
    b: &mut Builder<'_>,
    x: &[NodeId],
    ta: bool,
    tb: bool,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let (da, db) = product_rule(b, x, ta, tb, g, |ta, tb| Op::MatMul { ta, tb })?;
    Ok(vec![Some(da), Some(db)])
}

/// Per example, `C_b = op(A_b) op(B_b)`: the same rule, example by example; a fixed
/// operand's gradient is the sum of its examples' contributions.
pub(crate) fn example_matmul_vjp(
    b: &mut Builder<'_>,
    x: &[NodeId],
    ta: bool,
    tb: bool,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let (da, db) = product_rule(b, x, ta, tb, g, |ta, tb| Op::ExampleMatMul { ta, tb })?;
    Ok(vec![
        Some(over_examples(b, da, x[0])?),
        Some(over_examples(b, db, x[1])?),
    ])
}

/// The product rule of `op(A) op(B)` with transposes as flags, its two products built by
/// `mm` (whole or per example): `∂A = ḡ op(B)ᵀ` (as `op(B) ḡᵀ` when `A` is transposed),
/// `∂B = op(A)ᵀ ḡ` (as `ḡᵀ op(A)` when `B` is transposed).
fn product_rule(
    b: &mut Builder<'_>,
    x: &[NodeId],
    ta: bool,
    tb: bool,
    g: NodeId,
    mm: impl Fn(bool, bool) -> Op,
) -> Result<(NodeId, NodeId), ShapeError> {
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
    Ok((da, db))
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

/// `op(a) op(b)` into its buffer: one GEMM, or the straight-line form the plan chose for
/// a tiny product (`runtime::tiny`). When the product's only reader scales it by a
/// constant, the scale is the product's α, written straight into the reader's buffer.
pub(crate) fn matmul_stmt(cx: &Cx<'_>, id: NodeId, ta: bool, tb: bool) -> TokenStream {
    let rt = &cx.rt;
    let n = cx.g.node(id);
    let (a, b) = (cx.read(n.args[0]), cx.read(n.args[1]));
    let (dst, alpha) = match cx.plan.scaled[id.index()] {
        Some((u, alpha)) => (cx.write(u), Some(alpha)),
        None => (cx.write(id), None),
    };
    let alpha_t = match alpha {
        Some(alpha) => quote!(T::from_f64(#alpha)),
        None => quote!(T::ONE),
    };
    match (cx.plan.tiny[id.index()], alpha) {
        (Some(Tiny::Cols { m, k }), _) => {
            let (m, k) = (Literal::usize_unsuffixed(m), Literal::usize_unsuffixed(k));
            quote!(#rt::tiny::cols::<T, #m, #k>(#dst, #a, #b, #ta, #tb, #alpha_t);)
        }
        (Some(Tiny::Inner { m, n }), _) => {
            let (m, n) = (Literal::usize_unsuffixed(m), Literal::usize_unsuffixed(n));
            quote!(#rt::tiny::inner::<T, #m, #n>(#dst, #a, #b, #ta, #tb, #alpha_t);)
        }
        (None, Some(_)) => {
            quote!(#rt::gemm::gemm_scaled(#dst, #a, #b, #ta, #tb, false, #alpha_t);)
        }
        (None, None) => quote!(#rt::gemm(#dst, #a, #b, #ta, #tb, false);),
    }
}

/// A product per example: one GEMM per example on the operands' contiguous column blocks
/// (`runtime::gemm::gemm_per_example`), with the scale of a scaled product as its α.
pub(crate) fn example_matmul_stmt(cx: &Cx<'_>, id: NodeId, ta: bool, tb: bool) -> TokenStream {
    let rt = &cx.rt;
    let n = cx.g.node(id);
    let (a, b) = (cx.read(n.args[0]), cx.read(n.args[1]));
    // Columns per example; 0 for a fixed operand, shared by every example.
    let per = |k: usize| match cx.g.node(n.args[k]).shape.cols {
        Cols::Batch(per) => per,
        Cols::Fixed(_) => 0,
    };
    let (pa, pb) = (per(0), per(1));
    let (dst, alpha) = match cx.plan.scaled[id.index()] {
        Some((u, alpha)) => (cx.write(u), quote!(T::from_f64(#alpha))),
        None => (cx.write(id), quote!(T::ONE)),
    };
    quote!(#rt::gemm::gemm_per_example(#dst, #a, #pa, #b, #pb, #ta, #tb, #alpha);)
}
