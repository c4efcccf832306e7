//! Layout: ops that move numbers without arithmetic. `Transpose` (fixed shapes only; a
//! batch as a whole is never transposed), `ExampleTranspose` (each example's block,
//! `r × nB → n × rB`), `Reshape` (each example's numbers in the same order as another matrix,
//! `vec[P]` column by column), `ConcatRows` (`[A; B; …]`, the heads of eq. 12.12 stacked) and
//! its transpose for one argument `SliceRows`, and diagonals: `Diag` (each example's vector
//! as the diagonal of a square matrix, `diag[A 𝟏]`, the degree matrix of eq. 13.18) and its
//! transpose `DiagPart`. Each is linear, and its VJP is its transpose: the same op for the
//! transposes, the reshape back, the slices of a concatenation, `[0; ḡ; 0]` of a slice,
//! `DiagPart` of `Diag` and the other way round. None fuses.
//!
//! **Diagonals.** `Diag`: `n × B → n × nB` (a fixed `n × 1` into `n × n`); `DiagPart`:
//! `n × nB → n × B`. A power of a diagonal matrix (`D^{-1/2}`) is lowered as
//! `Diag(DiagPart(D)^p)`: the power of each diagonal entry, the zeros off the diagonal kept
//! (an entry-wise power would turn them into `0^{-1/2} = ∞`).
//!
//! Emitted: `runtime::layout::transpose_per_example`, `reshape`, `put_rows` (each argument of
//! a concatenation at its first row), `diag` and `diag_part`; a transpose by a loop and a
//! slice by a copy of a view. Interpreted in `src/interp.rs::eval_node` by the same
//! `layout` kernels and copies.

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;
use quote::quote;

/// Moves of numbers are kernel calls, not loops.
pub(crate) const FUSES: bool = false;

/// `Transpose`: fixed shapes only.
pub(crate) fn transpose_shape(a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Fixed(c) => Ok(Shape::fixed(c, a.rows)),
        Cols::Batch(_) => Err(ShapeError::TransposedBatch),
    }
}

/// `ExampleTranspose`: `r × NB → N × rB`.
pub(crate) fn example_transpose_shape(a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(n) => Ok(Shape::batch_matrix(n, a.rows)),
        Cols::Fixed(_) => Err(ShapeError::NotPerExample {
            what: "a transpose per example",
            shape: a,
        }),
    }
}

/// `Reshape { rows, cols }`: `r × nB → rows × (cols·B)` with the same numbers per example.
pub(crate) fn reshape_shape(rows: u32, cols: u32, a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(n) if a.rows * n == rows as usize * cols as usize && rows > 0 => {
            Ok(Shape::batch_matrix(rows as usize, cols as usize))
        }
        _ => Err(ShapeError::Operands {
            op: Op::Reshape { rows, cols },
            args: vec![a],
        }),
    }
}

/// `ConcatRows`: one or more arguments of one column count; the rows add up.
pub(crate) fn concat_rows_shape(op: Op, args: &[Shape]) -> Result<Shape, ShapeError> {
    let Some(first) = args.first() else {
        return Err(ShapeError::Arity {
            op,
            want: 1,
            got: 0,
        });
    };
    if args.iter().any(|a| a.cols != first.cols) {
        return Err(ShapeError::Operands {
            op,
            args: args.to_vec(),
        });
    }
    Ok(Shape {
        rows: args.iter().map(|a| a.rows).sum(),
        cols: first.cols,
    })
}

/// `SliceRows { start, rows }`: rows `start … start + rows - 1` of the argument, at least one.
pub(crate) fn slice_rows_shape(
    op: Op,
    start: u32,
    rows: u32,
    a: Shape,
) -> Result<Shape, ShapeError> {
    let end = start as usize + rows as usize;
    if rows == 0 || end > a.rows {
        return Err(ShapeError::Operands { op, args: vec![a] });
    }
    Ok(Shape {
        rows: rows as usize,
        cols: a.cols,
    })
}

/// `Diag`: `n × B → n × nB`, or `n × 1 → n × n`.
pub(crate) fn diag_shape(a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(1) => Ok(Shape::batch_matrix(a.rows, a.rows)),
        Cols::Fixed(1) => Ok(Shape::fixed(a.rows, a.rows)),
        _ => Err(ShapeError::Operands {
            op: Op::Diag,
            args: vec![a],
        }),
    }
}

/// `DiagPart`: `n × nB → n × B`, or `n × n → n × 1`.
pub(crate) fn diag_part_shape(a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(n) if n == a.rows => Ok(Shape::batch(a.rows)),
        Cols::Fixed(n) if n == a.rows => Ok(Shape::fixed(a.rows, 1)),
        _ => Err(ShapeError::Operands {
            op: Op::DiagPart,
            args: vec![a],
        }),
    }
}

/// `∂(aᵀ) = ḡᵀ`.
pub(crate) fn transpose_vjp(b: &mut Builder<'_>, g: NodeId) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.op(Op::Transpose, &[g])?)])
}

/// `∂(each example's block transposed) = ḡ`'s blocks transposed.
pub(crate) fn example_transpose_vjp(
    b: &mut Builder<'_>,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.op(Op::ExampleTranspose, &[g])?)])
}

/// `y = diag[v]` per example: `∂v` = the diagonal of `ḡ`.
pub(crate) fn diag_vjp(b: &mut Builder<'_>, g: NodeId) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.op(Op::DiagPart, &[g])?)])
}

/// `y` = the diagonal of `x`: `∂x = diag[ḡ]`.
pub(crate) fn diag_part_vjp(b: &mut Builder<'_>, g: NodeId) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.op(Op::Diag, &[g])?)])
}

/// A reshape keeps the numbers in their order: the cotangent reshaped back to `x`'s shape.
pub(crate) fn reshape_vjp(
    b: &mut Builder<'_>,
    op: Op,
    x: NodeId,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let s = b.graph.shape(x);
    let cols = match s.cols {
        Cols::Batch(n) => n as u32,
        Cols::Fixed(_) => {
            return Err(ShapeError::Operands { op, args: vec![s] });
        }
    };
    let back = Op::Reshape {
        rows: s.rows as u32,
        cols,
    };
    Ok(vec![Some(b.op(back, &[g])?)])
}

/// `y = [x_1; x_2; …]`:  `∂x_k` = the rows of `ḡ` where `x_k` sits.
pub(crate) fn concat_rows_vjp(
    b: &mut Builder<'_>,
    x: &[NodeId],
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let mut start = 0;
    let mut out = Vec::with_capacity(x.len());
    for a in x {
        let rows = b.graph.shape(*a).rows as u32;
        out.push(Some(b.op(Op::SliceRows { start, rows }, &[g])?));
        start += rows;
    }
    Ok(out)
}

/// `y` = rows `start … start + r - 1` of `x`:  `∂x = [0; ḡ; 0]`.
pub(crate) fn slice_rows_vjp(
    b: &mut Builder<'_>,
    x: NodeId,
    start: u32,
    rows: u32,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let shape = b.graph.shape(x);
    let below = shape.rows - start as usize - rows as usize;
    let zeros = |rows: usize| Shape {
        rows,
        cols: shape.cols,
    };
    let mut parts = Vec::with_capacity(3);
    if start > 0 {
        parts.push(b.constant(0.0, zeros(start as usize))?);
    }
    parts.push(g);
    if below > 0 {
        parts.push(b.constant(0.0, zeros(below))?);
    }
    Ok(vec![Some(b.op(Op::ConcatRows, &parts)?)])
}

/// A transpose of a constant is that constant.
pub(crate) fn transpose_fold(consts: &[f64]) -> Option<f64> {
    super::elementwise::fold_copy(consts)
}

/// `Transpose` of a fixed matrix.
pub(crate) fn transpose_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    let (dst, a) = (cx.write(id), cx.read(cx.g.node(id).args[0]));
    quote! {
        let src = #a;
        let mut dst = #dst;
        for j in 0..dst.ncols() {
            for r in 0..dst.nrows() {
                dst[(r, j)] = src[(j, r)];
            }
        }
    }
}

/// `ExampleTranspose`: `runtime::layout::transpose_per_example` with the columns per example.
pub(crate) fn example_transpose_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    let per = cx.cols_per_example(cx.g.node(id).args[0]);
    cx.kernel(id, quote!(layout::transpose_per_example), quote!(, #per))
}

/// `Reshape`: `runtime::layout::reshape`.
pub(crate) fn reshape_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(layout::reshape), quote!())
}

/// `ConcatRows`: every argument put at its first row, in order (`runtime::layout::put_rows`).
pub(crate) fn concat_rows_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    let rt = &cx.rt;
    let dst = cx.write(id);
    let mut start = 0usize;
    let puts: Vec<TokenStream> = (cx.g.node(id).args.iter())
        .map(|&a| {
            let src = cx.read(a);
            let at = start;
            start += cx.g.shape(a).rows;
            quote!(#rt::layout::put_rows(dst.as_mut(), #src, #at);)
        })
        .collect();
    quote! {
        let mut dst = #dst;
        #(#puts)*
    }
}

/// `SliceRows`: rows `start … start + rows - 1` of the argument, a view copied.
pub(crate) fn slice_rows_stmt(cx: &Cx<'_>, id: NodeId, start: u32, rows: u32) -> TokenStream {
    let dst = cx.write(id);
    let a = cx.read(cx.g.node(id).args[0]);
    let (start, rows) = (start as usize, rows as usize);
    quote! {
        let src = #a;
        let mut dst = #dst;
        dst.copy_from(src.subrows(#start, #rows));
    }
}

/// `Diag`: `runtime::layout::diag`.
pub(crate) fn diag_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(layout::diag), quote!())
}

/// `DiagPart`: `runtime::layout::diag_part`.
pub(crate) fn diag_part_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    cx.kernel(id, quote!(layout::diag_part), quote!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonals_per_example_and_fixed() {
        assert_eq!(diag_shape(Shape::batch(3)), Ok(Shape::batch_matrix(3, 3)));
        assert_eq!(diag_shape(Shape::fixed(3, 1)), Ok(Shape::fixed(3, 3)));
        assert!(diag_shape(Shape::fixed(3, 2)).is_err());
        assert_eq!(
            diag_part_shape(Shape::batch_matrix(3, 3)),
            Ok(Shape::batch(3))
        );
        assert!(diag_part_shape(Shape::batch_matrix(3, 2)).is_err());
    }
}
