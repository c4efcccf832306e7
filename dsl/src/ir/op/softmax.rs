//! Softmax and friends, column by column: `Softmax`, `LogSumExp` (`r × c → 1 × c`, computed
//! stably), and the masked softmax `Softmask[S, M]` (eq. 13.24; a causal mask in a decoder).
//!
//! **Softmask.** `(S, M) → P`, each column of `S` through a softmax over the entries where
//! `M` is not zero, exactly zero elsewhere (no `−∞` in the scores). `M` has `S`'s shape, or
//! it is one fixed block `r × n` of an `S` per example `r × nB`, shared by every example (a
//! causal mask). The mask only selects entries: nothing flows back to it, and the VJP for `S`
//! is the softmax's, `P ⊙ (ḡ − 𝟏 (Pᵀ ḡ))` column by column, which is zero where `P` is.
//! `LogSumExp`'s VJP is the softmax of its argument times the cotangent. None fuses.
//!
//! Emitted: `runtime::reduce::softmax_cols`, `logsumexp_cols` and `softmask_cols`.
//! Interpreted in `src/interp.rs::eval_node` by the same kernels.

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;
use quote::quote;

/// Column-wise kernels, not loops.
pub(crate) const FUSES: bool = false;

/// `Softmask`: `S`'s shape; `M` of the same shape, or a fixed `r × n` block of an `S` of
/// `r × nB`.
pub(crate) fn softmask_shape(s: Shape, m: Shape) -> Result<Shape, ShapeError> {
    let fits = s == m
        || (m.rows == s.rows
            && matches!((s.cols, m.cols), (Cols::Batch(n), Cols::Fixed(k)) if n == k));
    if fits {
        Ok(s)
    } else {
        Err(ShapeError::Operands {
            op: Op::Softmask,
            args: vec![s, m],
        })
    }
}

/// `y = softmax(x)` (or a masked softmax, zero where masked, so `y` already is):
/// `∂x = y ⊙ (ḡ - 𝟏 (yᵀ ḡ))`, column by column.
pub(crate) fn softmax_vjp(
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

/// `y = Softmask[s, m]`: the softmax's rule with `y` zero where `m` is (so is `∂s` there);
/// the mask only selects entries and gets nothing.
pub(crate) fn softmask_vjp(
    b: &mut Builder<'_>,
    shape: Shape,
    yid: NodeId,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(softmax_vjp(b, shape, yid, g)?), None])
}

/// `y = log ∑ exp x`:  `∂x = softmax(x) ḡ`.
pub(crate) fn logsumexp_vjp(
    b: &mut Builder<'_>,
    x: NodeId,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let p = b.op(Op::Softmax, &[x])?;
    let gb = b.broadcast(g, b.graph.shape(x))?;
    Ok(vec![Some(b.mul(p, gb)?)])
}

/// `Softmax`: `runtime::reduce::softmax_cols`.
pub(crate) fn softmax_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(reduce::softmax_cols), quote!())
}

/// `LogSumExp`: `runtime::reduce::logsumexp_cols`.
pub(crate) fn logsumexp_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(reduce::logsumexp_cols), quote!())
}

/// `Softmask`: `runtime::reduce::softmask_cols` with the mask.
pub(crate) fn softmask_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    let m = cx.read(cx.g.node(id).args[1]);
    cx.kernel(id, quote!(reduce::softmask_cols), quote!(, #m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_per_example_or_shared() {
        let s = Shape::batch_matrix(4, 4);
        assert_eq!(softmask_shape(s, s), Ok(s));
        assert_eq!(softmask_shape(s, Shape::fixed(4, 4)), Ok(s));
        assert!(softmask_shape(s, Shape::fixed(4, 3)).is_err());
        assert!(softmask_shape(s, Shape::batch(4)).is_err());
    }
}
