//! Leaves: the values a graph reads rather than computes from its arguments — an input
//! (`Input`), a parameter (`Param`), the identity matrix (`Identity`, `I` in `A + I`,
//! eq. 13.10), a constant matrix folded at compile time (`Table`: sinusoidal positional
//! encodings, a causal mask, defined entry by entry), and a statistic over the batch with a
//! running value (`BatchStat`, the mean and standard deviation of batch normalisation,
//! eq. 11.7). None of them fuses; none has a gradient to pass on but `BatchStat`'s.
//!
//! **Tables.** `Table(k)` is the `rows × cols` matrix `Graph::tables[k]` (column-major
//! numbers), fixed: a constant, with no gradient.
//!
//! **BatchStat.** In training mode its argument, the statistic of the batch at hand (VJP the
//! identity); in evaluation mode the running value `Graph::stats[slot]` (evaluation graphs
//! are not differentiated).
//!
//! Emitted: an input or a parameter is read where it is (no statement); `Identity` and
//! `Table` write their numbers with loops of their own (a table's as a `const` array);
//! `BatchStat` copies the batch's statistic or the model's running value by the mode of the
//! step (`emit::cx::Mode`). Interpreted in `src/interp.rs::eval_node` the same way (`copy_slot`
//! for the slots and the running value, `table` for a table), with no runtime kernel.

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::emit::cx::{Cx, Mode};
use proc_macro2::TokenStream;
use quote::quote;

/// Leaves do not fuse into element-wise loops.
pub(crate) const FUSES: bool = false;

/// `Identity`: the declared shape, which must be square and fixed.
pub(crate) fn identity_shape(op: Op, declared: Shape) -> Result<Shape, ShapeError> {
    match declared.cols {
        Cols::Fixed(c) if c == declared.rows => Ok(declared),
        _ => Err(ShapeError::Operands {
            op,
            args: vec![declared],
        }),
    }
}

/// `Table`: the declared shape, which must be fixed.
pub(crate) fn table_shape(op: Op, declared: Shape) -> Result<Shape, ShapeError> {
    match declared.cols {
        Cols::Fixed(_) => Ok(declared),
        Cols::Batch(_) => Err(ShapeError::Operands {
            op,
            args: vec![declared],
        }),
    }
}

/// `BatchStat`: its argument's shape, which must be fixed.
pub(crate) fn batch_stat_shape(op: Op, args: &[Shape]) -> Result<Shape, ShapeError> {
    match args[0].cols {
        Cols::Fixed(_) => Ok(args[0]),
        Cols::Batch(_) => Err(ShapeError::Operands {
            op,
            args: args.to_vec(),
        }),
    }
}

/// Training mode: the batch's statistic itself, `∂ = ḡ` (evaluation mode is not
/// differentiated).
pub(crate) fn batch_stat_vjp(g: NodeId) -> Contribs {
    vec![Some(g)]
}

/// `Identity`: zeros and ones on the diagonal.
pub(crate) fn identity_stmt(cx: &Cx<'_>, id: NodeId) -> TokenStream {
    let dst = cx.write(id);
    quote! {
        let mut dst = #dst;
        dst.fill(T::ZERO);
        for k in 0..dst.nrows() {
            dst[(k, k)] = T::ONE;
        }
    }
}

/// `Table(k)`: the constant's numbers, column by column, written into its buffer.
pub(crate) fn table_stmt(cx: &Cx<'_>, id: NodeId, k: usize) -> TokenStream {
    let dst = cx.write(id);
    let numbers = cx.g.tables.get(k).map_or(&[][..], Vec::as_slice);
    let len = numbers.len();
    quote! {
        const TABLE: [f64; #len] = [#(#numbers),*];
        let mut dst = #dst;
        let rows = dst.nrows();
        for j in 0..dst.ncols() {
            for r in 0..rows {
                dst[(r, j)] = T::from_f64(TABLE[j * rows + r]);
            }
        }
    }
}

/// A statistic over the batch with a running value (`m_h`, `s_h` of eq. 11.7): in
/// training mode the batch's (recorded into `grads`' running value when the step keeps
/// it), in evaluation mode the model's running value.
pub(crate) fn batch_stat_stmt(cx: &Cx<'_>, id: NodeId, slot: usize) -> TokenStream {
    let dst = cx.write(id);
    let field = &cx.stats[slot];
    let a = cx.read(cx.g.node(id).args[0]);
    match cx.mode.get() {
        Mode::Eval => quote!(#dst.copy_from(&self.#field);),
        Mode::Training => quote!(#dst.copy_from(#a);),
        Mode::Recording => quote! {
            #dst.copy_from(#a);
            grads.#field.copy_from(#a);
        },
    }
}
