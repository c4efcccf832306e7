//! Indexing: one row (`Row(k)`: `r × c → 1 × c`) and its transpose, a row placed among zeros
//! (`PlaceRow`); one column of each example's block (`ExampleCol(k)`: `r × NB → r × B`, `X_t`
//! of a sequence) and its transpose (`PlaceExampleCol`); and class labels: each column's
//! entry at its label (`PickLabel`, `[x, y]`, the label's probability in a cross-entropy) and
//! the one-hot matrix of labels (`OneHot`). Each placing op is the VJP of the matching
//! picking op and the other way round; `PickLabel`'s VJP is a one-hot mask of the cotangent,
//! and labels get no gradient. None fuses.
//!
//! Emitted: `runtime::layout::place_row`, `example_col` and `place_example_col`; a row, a
//! label's pick and a one-hot matrix by loops of their own, a label out of range a
//! `StepError::Label`. Interpreted in `src/interp.rs::eval_node` by the same `layout`
//! kernels, a row by a copy of it, and `runtime::labels::pick_label`/`one_hot` (a label out
//! of range an `EvalError::Label`).

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;
use quote::quote;

/// Picking and placing are kernel calls, not loops.
pub(crate) const FUSES: bool = false;

/// `Row(k)`: `r × c → 1 × c`, for `k < r`.
pub(crate) fn row_shape(k: u32, a: Shape) -> Result<Shape, ShapeError> {
    if (k as usize) < a.rows {
        Ok(Shape {
            rows: 1,
            cols: a.cols,
        })
    } else {
        Err(ShapeError::Row { k, shape: a })
    }
}

/// `OneHot`, `PlaceRow`: a `1 × c` row to `rows × c`.
pub(crate) fn place_row_shape(op: Op, rows: u32, a: Shape) -> Result<Shape, ShapeError> {
    if a.rows == 1 {
        Ok(Shape {
            rows: rows as usize,
            cols: a.cols,
        })
    } else {
        Err(ShapeError::Operands { op, args: vec![a] })
    }
}

/// `PickLabel`: one label per column of `x`.
pub(crate) fn pick_label_shape(x: Shape, labels: Shape) -> Result<Shape, ShapeError> {
    if labels.rows == 1 && labels.cols == x.cols {
        Ok(Shape {
            rows: 1,
            cols: x.cols,
        })
    } else {
        Err(ShapeError::Labels { labels, of: x })
    }
}

/// `ExampleCol(k)`: column `k` of each example, `r × NB → r × B`.
pub(crate) fn example_col_shape(k: u32, a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(n) if (k as usize) < n => Ok(Shape::batch(a.rows)),
        _ => Err(ShapeError::ExampleCol { k, shape: a }),
    }
}

/// `PlaceExampleCol { k, n }`: one column per example to column `k` of `n`.
pub(crate) fn place_example_col_shape(
    op: Op,
    k: u32,
    n: u32,
    a: Shape,
) -> Result<Shape, ShapeError> {
    if a.cols == Cols::EXAMPLE && k < n {
        Ok(Shape::batch_matrix(a.rows, n as usize))
    } else {
        Err(ShapeError::Operands { op, args: vec![a] })
    }
}

/// `y = x[k, :]`:  `∂x` is zero except row `k`.
pub(crate) fn row_vjp(
    b: &mut Builder<'_>,
    x: NodeId,
    k: u32,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let rows = b.graph.shape(x).rows as u32;
    Ok(vec![Some(b.op(Op::PlaceRow { k, rows }, &[g])?)])
}

/// `y` = zero but row `k`: `∂g` = row `k` of `ḡ`.
pub(crate) fn place_row_vjp(
    b: &mut Builder<'_>,
    k: u32,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.op(Op::Row(k), &[g])?)])
}

/// `y_j = x[label_j, j]`: `∂x = onehot(labels) ⊙ ḡ`; the labels get nothing.
pub(crate) fn pick_label_vjp(
    b: &mut Builder<'_>,
    x: &[NodeId],
    lo: i32,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let shape = b.graph.shape(x[0]);
    let onehot = b.op(
        Op::OneHot {
            rows: shape.rows as u32,
            lo,
        },
        &[x[1]],
    )?;
    let gb = b.broadcast(g, shape)?;
    Ok(vec![Some(b.mul(onehot, gb)?), None])
}

/// `y` = column `k` of each example's block:  `∂x` is zero except those columns.
pub(crate) fn example_col_vjp(
    b: &mut Builder<'_>,
    x: NodeId,
    k: u32,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let n = match b.graph.shape(x).cols {
        Cols::Batch(n) | Cols::Fixed(n) => n as u32,
    };
    Ok(vec![Some(b.op(Op::PlaceExampleCol { k, n }, &[g])?)])
}

/// `y` = zero but column `k` of each example: `∂g` = those columns of `ḡ`.
pub(crate) fn place_example_col_vjp(
    b: &mut Builder<'_>,
    k: u32,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.op(Op::ExampleCol(k), &[g])?)])
}

/// `Row(k)`: row `k` of the argument.
pub(crate) fn row_stmt(cx: &Cx<'_>, id: NodeId, k: usize) -> TokenStream {
    let (dst, a) = (cx.write(id), cx.read(cx.g.node(id).args[0]));
    quote! {
        let src = #a;
        let mut dst = #dst;
        for j in 0..dst.ncols() {
            dst[(0, j)] = src[(#k, j)];
        }
    }
}

/// `PlaceRow`: `runtime::layout::place_row`.
pub(crate) fn place_row_stmt(cx: &Cx<'_>, id: NodeId, k: usize) -> TokenStream {
    cx.kernel(id, quote!(layout::place_row), quote!(, #k))
}

/// `PickLabel`: each column's entry at its label, a label out of range a `StepError`.
pub(crate) fn pick_label_stmt(cx: &Cx<'_>, id: NodeId, lo: i32) -> TokenStream {
    let rt = &cx.rt;
    let n = cx.g.node(id);
    let (dst, x) = (cx.write(id), cx.read(n.args[0]));
    if !is_input(cx, n.args[1]) {
        let y = cx.read(n.args[1]);
        return computed_labels(cx, quote!(#rt::labels::pick_label(#dst, #x, #y, #lo)));
    }
    // Input labels are `usize`: a negative first label wraps, as `wrapping_sub` undoes.
    let lo = lo as usize;
    let y = cx.labels(n.args[1]);
    let rows = cx.g.shape(n.args[0]).rows;
    quote! {
        let src = #x;
        let mut dst = #dst;
        for j in 0..dst.ncols() {
            let k = #y[j].wrapping_sub(#lo);
            if k >= #rows {
                return Err(#rt::StepError::Label { column: j, value: #y[j], lo: #lo, classes: #rows });
            }
            dst[(0, j)] = src[(k, j)];
        }
    }
}

/// `OneHot`: the one-hot columns of the labels, a label out of range a `StepError`.
pub(crate) fn one_hot_stmt(cx: &Cx<'_>, id: NodeId, rows: usize, lo: i32) -> TokenStream {
    let rt = &cx.rt;
    let dst = cx.write(id);
    let labels = cx.g.node(id).args[0];
    if !is_input(cx, labels) {
        let y = cx.read(labels);
        return computed_labels(cx, quote!(#rt::labels::one_hot(#dst, #y, #lo)));
    }
    let lo = lo as usize;
    let y = cx.labels(labels);
    quote! {
        let mut dst = #dst;
        dst.fill(T::ZERO);
        for j in 0..dst.ncols() {
            let k = #y[j].wrapping_sub(#lo);
            if k >= #rows {
                return Err(#rt::StepError::Label { column: j, value: #y[j], lo: #lo, classes: #rows });
            }
            dst[(k, j)] = T::ONE;
        }
    }
}

fn is_input(cx: &Cx<'_>, id: NodeId) -> bool {
    matches!(cx.g.node(id).op, Op::Input(_))
}

/// A pick or one-hot at labels the model computes (a table of labels read at an input,
/// `r[s, π[s]]`): the runtime's kernel on the labels as numbers, a value that is no label a
/// `StepError` naming it. Labels given as inputs are `usize` slices and skip the conversion.
fn computed_labels(cx: &Cx<'_>, call: TokenStream) -> TokenStream {
    let rt = &cx.rt;
    quote! {
        #call.map_err(|e| #rt::StepError::Eval(::std::format!("a label the model computes: {e}")))?;
    }
}

/// `ExampleCol(k)`: `runtime::layout::example_col` with the columns per example.
pub(crate) fn example_col_stmt(cx: &Cx<'_>, id: NodeId, k: usize) -> TokenStream {
    let per = cx.cols_per_example(cx.g.node(id).args[0]);
    cx.kernel(id, quote!(layout::example_col), quote!(, #k, #per))
}

/// `PlaceExampleCol { k, n }`: `runtime::layout::place_example_col`.
pub(crate) fn place_example_col_stmt(cx: &Cx<'_>, id: NodeId, k: u32, n: u32) -> TokenStream {
    let (k, per) = (k as usize, n as usize);
    cx.kernel(id, quote!(layout::place_example_col), quote!(, #k, #per))
}
