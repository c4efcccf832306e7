//! Sums: over rows (`SumRows`, `𝟏ᵀ x`: `r × c → 1 × c`), over columns (`SumCols`: `r × c →
//! r × 1`, over the batch for a batched value — `∑_i`, a bias's gradient), over each
//! example's columns (`SumExampleCols`, `X 𝟏` per example: `r × NB → r × B`), over the
//! examples' blocks (`SumExamples`, `∑_i X_i`: `r × nB → r × n`), and the transpose of the
//! last, one fixed matrix as every example's block (`TileExamples`). Each is linear, its VJP
//! the cotangent repeated back (a broadcast, or the other of `SumExamples`/`TileExamples`).
//! None fuses as a loop of its own, but a sum over the batch of a chain read nowhere else is
//! the root of that chain's group, and a bias gradient whose argument is a loop's root is
//! accumulated inside that loop (`Plan::summed_in_producer`).
//!
//! Emitted: `runtime::reduce::sum_rows`, `sum_cols` (or the loop of the group it roots),
//! `sum_example_cols`, `sum_examples`, and `runtime::layout::tile_examples`. Interpreted in
//! `src/interp.rs::eval_node` by the same kernels.

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;
use quote::quote;

/// Sums are kernel calls (or accumulated in a loop of another root).
pub(crate) const FUSES: bool = false;

/// `SumRows` (and `LogSumExp`): `r × c → 1 × c`.
pub(crate) fn sum_rows_shape(a: Shape) -> Shape {
    Shape {
        rows: 1,
        cols: a.cols,
    }
}

/// `SumExampleCols`: `r × NB → r × B`.
pub(crate) fn sum_example_cols_shape(a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(_) => Ok(Shape::batch(a.rows)),
        Cols::Fixed(_) => Err(ShapeError::NotPerExample {
            what: "a sum of each example's columns",
            shape: a,
        }),
    }
}

/// `SumExamples`: `r × NB → r × N`, the sum over the batch of a matrix per example.
pub(crate) fn sum_examples_shape(a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(n) => Ok(Shape::fixed(a.rows, n)),
        Cols::Fixed(_) => Err(ShapeError::NotPerExample {
            what: "a sum over the batch",
            shape: a,
        }),
    }
}

/// `TileExamples`: `r × N → r × NB`, the same matrix for every example.
pub(crate) fn tile_examples_shape(a: Shape, to: Shape) -> Result<Shape, ShapeError> {
    match (a.cols, to.cols) {
        (Cols::Fixed(c), Cols::Batch(n)) if c == n && a.rows == to.rows => Ok(to),
        _ => Err(ShapeError::Broadcast { from: a, to }),
    }
}

/// `∂(𝟏ᵀx) = 𝟏 ḡ`: repeat the row;  `∂(∑ over columns) = ḡ 𝟏ᵀ`: repeat the column;
/// `∂(X 𝟏 per example) = ḡ 𝟏ᵀ`: repeat each example's column over its columns.
pub(crate) fn sum_vjp(b: &mut Builder<'_>, x: NodeId, g: NodeId) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.broadcast(g, b.graph.shape(x))?)])
}

/// `∂(∑_i X_i) = ḡ` in every example.
pub(crate) fn sum_examples_vjp(
    b: &mut Builder<'_>,
    x: NodeId,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let shape = b.graph.shape(x);
    Ok(vec![Some(b.graph.push(
        Op::TileExamples,
        vec![g],
        shape,
        b.span,
    )?)])
}

/// `∂(ḡ in every example) = ∑_i ḡ_i`.
pub(crate) fn tile_examples_vjp(b: &mut Builder<'_>, g: NodeId) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.op(Op::SumExamples, &[g])?)])
}

/// `SumRows` of a constant `a` filling `r` rows: `r a`.
pub(crate) fn sum_rows_fold(consts: &[f64], args: &[Shape]) -> Option<f64> {
    match (consts, args) {
        ([a], [s]) => Some(a * s.rows as f64),
        _ => None,
    }
}

/// `SumCols` of a constant `a` filling `c` fixed columns: `c a` (not over a batch, whose size
/// is not known).
pub(crate) fn sum_cols_fold(consts: &[f64], args: &[Shape]) -> Option<f64> {
    match (consts, args) {
        ([a], [s]) => match s.cols {
            Cols::Fixed(c) => Some(a * c as f64),
            Cols::Batch(_) => None,
        },
        _ => None,
    }
}

/// `SumRows`: `runtime::reduce::sum_rows`.
pub(crate) fn sum_rows_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(reduce::sum_rows), quote!())
}

/// `SumCols`: nothing for a bias gradient summed inside the loop that computes its argument;
/// the loop of its argument's group when the plan fused that group into it; else
/// `runtime::reduce::sum_cols`.
pub(crate) fn sum_cols_stmt(cx: &Cx<'_>, id: NodeId) -> Option<TokenStream> {
    let n = cx.g.node(id);
    if cx.plan.summed_in_producer[id.index()] {
        return None;
    }
    Some(if cx.plan.fused_into[n.args[0].index()] == Some(id) {
        cx.element_loop(id)
    } else {
        cx.kernel(id, quote!(reduce::sum_cols), quote!())
    })
}

/// `SumExampleCols`: `runtime::reduce::sum_example_cols` with the columns per example.
pub(crate) fn sum_example_cols_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    let per = cx.cols_per_example(cx.g.node(id).args[0]);
    cx.kernel(id, quote!(reduce::sum_example_cols), quote!(, #per))
}

/// `SumExamples`: `runtime::reduce::sum_examples`.
pub(crate) fn sum_examples_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(reduce::sum_examples), quote!())
}

/// `TileExamples`: `runtime::layout::tile_examples`.
pub(crate) fn tile_examples_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(layout::tile_examples), quote!())
}
