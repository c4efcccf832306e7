//! The ops side by side: one module per family of [`Op`] variants, each holding for its
//! variants the shape rule, the VJP, constant folding, whether they fuse, and how they are
//! emitted (the statement, a runtime kernel call, and for element-wise ops the element
//! expression of a fused loop) — the way JAX's `lax.py` keeps a primitive's abstract
//! evaluation and transpose rule together.
//!
//! | family          | variants                                                             |
//! |-----------------|----------------------------------------------------------------------|
//! | [`leaf`]        | `Input`, `Param`, `Identity`, `Table`, `BatchStat`                   |
//! | [`elementwise`] | `Const`, `Add`, `Sub`, `Mul`, `Div`, `Unary`, `Broadcast`, `StopGradient` |
//! | [`product`]     | `MatMul`, `ExampleMatMul`                                            |
//! | [`reduce`]      | `SumRows`, `SumCols`, `SumExampleCols`, `SumExamples`, `TileExamples` |
//! | [`softmax`]     | `Softmax`, `LogSumExp`, `Softmask`                                   |
//! | [`index`]       | `Row`, `PlaceRow`, `PickLabel`, `OneHot`, `ExampleCol`, `PlaceExampleCol` |
//! | [`layout`]      | `Transpose`, `ExampleTranspose`, `Reshape`, `ConcatRows`, `SliceRows`, `Diag`, `DiagPart` |
//! | [`conv`]        | `Conv`                                                               |
//! | [`pool`]        | `MaxPool`, `MaxNe`                                                   |
//! | [`extreme`]     | `Extreme`                                                            |
//!
//! This module holds only the dispatchers, each an exhaustive match of one line per variant
//! (or per group of a family) with no catch-all, so a new variant does not compile until
//! every one of them names its family's function: [`Op::infer`], [`Op::arity_of`],
//! [`Op::is_elementwise`], [`vjp`] (asked by `ad`), [`fold`] (`opt::fold`), [`stmt`]
//! (`emit::stmt`) and [`elem`] (`emit::fused`). What stays outside, because it lives in
//! another crate or target: the interpreter's case in `src/interp.rs::eval_node` (it runs the
//! `runtime` kernels, which this crate cannot depend on; each family's `//!` names the
//! kernels), the exporters' `export/table.rs` and `export/onnx.rs`, and a non-default text
//! form in `ir/print.rs` — all exhaustive matches as well.

pub mod conv;
pub(crate) mod elementwise;
pub mod extreme;
pub(crate) mod index;
pub(crate) mod layout;
pub(crate) mod leaf;
pub mod pool;
pub(crate) mod product;
pub(crate) mod reduce;
pub(crate) mod softmax;

use super::{Node, NodeId, Op, Shape, ShapeError};
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;

/// The contributions of a node to its arguments' cotangents, one per argument; `None` is a
/// symbolic zero.
pub(crate) type Contribs = Vec<Option<NodeId>>;

impl Op {
    /// The shape rule: the node's shape from its arguments' shapes, or why they do not fit.
    /// `Const`, `Input`, `Param` and `Broadcast` take their shape from the node itself, passed
    /// as `declared`.
    pub fn infer(&self, args: &[Shape], declared: Shape) -> Result<Shape, ShapeError> {
        if let Some(n) = self.arity_of() {
            self.arity(args, n)?;
        }
        let op = *self;
        match op {
            Op::Input(_) | Op::Param(_) => Ok(declared),
            Op::Identity => leaf::identity_shape(op, declared),
            Op::Table(_) => leaf::table_shape(op, declared),
            Op::BatchStat { .. } => leaf::batch_stat_shape(op, args),
            Op::Const(_) => Ok(declared),
            Op::Add | Op::Sub | Op::Mul | Op::Div => elementwise::same(op, args[0], args[1]),
            Op::Unary(_) | Op::StopGradient => Ok(args[0]),
            Op::Broadcast => elementwise::broadcast_shape(args[0], declared),
            Op::MatMul { ta, tb } => product::matmul_shape(ta, tb, args[0], args[1]),
            Op::ExampleMatMul { ta, tb } => product::example_matmul_shape(ta, tb, args[0], args[1]),
            Op::SumRows => Ok(reduce::sum_rows_shape(args[0])),
            Op::SumCols => Ok(Shape::fixed(args[0].rows, 1)),
            Op::SumExampleCols => reduce::sum_example_cols_shape(args[0]),
            Op::SumExamples => reduce::sum_examples_shape(args[0]),
            Op::TileExamples => reduce::tile_examples_shape(args[0], declared),
            Op::Softmax => Ok(args[0]),
            Op::LogSumExp => Ok(reduce::sum_rows_shape(args[0])),
            Op::Softmask => softmax::softmask_shape(args[0], args[1]),
            Op::Row(k) => index::row_shape(k, args[0]),
            Op::PickLabel { .. } => index::pick_label_shape(args[0], args[1]),
            Op::OneHot { rows, .. } | Op::PlaceRow { rows, .. } => {
                index::place_row_shape(op, rows, args[0])
            }
            Op::ExampleCol(k) => index::example_col_shape(k, args[0]),
            Op::PlaceExampleCol { k, n } => index::place_example_col_shape(op, k, n, args[0]),
            Op::Transpose => layout::transpose_shape(args[0]),
            Op::ExampleTranspose => layout::example_transpose_shape(args[0]),
            Op::Reshape { rows, cols } => layout::reshape_shape(rows, cols, args[0]),
            Op::ConcatRows => layout::concat_rows_shape(op, args),
            Op::SliceRows { start, rows } => layout::slice_rows_shape(op, start, rows, args[0]),
            Op::Diag => layout::diag_shape(args[0]),
            Op::DiagPart => layout::diag_part_shape(args[0]),
            Op::Conv(c) => c.infer(args[0], args[1]),
            Op::MaxPool(p) => p.infer(args[0], args[1]),
            Op::MaxNe(_) => pool::max_ne_shape(op, args),
            Op::Extreme(e) => e.infer(args),
        }
    }

    /// How many arguments the op takes; `None` for the ops of any number (`ConcatRows`) or of
    /// several forms (`Extreme`), which check their arguments in their own rule.
    pub fn arity_of(&self) -> Option<usize> {
        Some(match *self {
            Op::Input(_) | Op::Param(_) | Op::Const(_) | Op::Identity | Op::Table(_) => 0,
            Op::Unary(_)
            | Op::Softmax
            | Op::StopGradient
            | Op::BatchStat { .. }
            | Op::Broadcast
            | Op::SumRows
            | Op::LogSumExp
            | Op::SumCols
            | Op::SumExampleCols
            | Op::Row(_)
            | Op::OneHot { .. }
            | Op::PlaceRow { .. }
            | Op::Transpose
            | Op::SumExamples
            | Op::TileExamples
            | Op::ExampleCol(_)
            | Op::PlaceExampleCol { .. }
            | Op::ExampleTranspose
            | Op::Reshape { .. }
            | Op::Diag
            | Op::DiagPart
            | Op::SliceRows { .. } => 1,
            Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::PickLabel { .. }
            | Op::MatMul { .. }
            | Op::ExampleMatMul { .. }
            | Op::Conv(_)
            | Op::MaxPool(_)
            | Op::Softmask => 2,
            Op::MaxNe(_) => 3,
            Op::Extreme(_) | Op::ConcatRows => return None,
        })
    }

    /// `n` arguments, or why not.
    fn arity(&self, args: &[Shape], n: usize) -> Result<(), ShapeError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(ShapeError::Arity {
                op: *self,
                want: n,
                got: args.len(),
            })
        }
    }

    /// Whether the op computes each entry from the same entry of its arguments (or a
    /// broadcast one): such ops fuse into one loop (`opt::plan`), emitted by
    /// `emit`'s element-wise loop. The one place this is decided, a family at a time.
    pub fn is_elementwise(self) -> bool {
        match self {
            Op::Input(_) | Op::Param(_) | Op::Identity | Op::Table(_) | Op::BatchStat { .. } => {
                leaf::FUSES
            }
            Op::Const(_)
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Unary(_)
            | Op::Broadcast
            | Op::StopGradient => elementwise::FUSES,
            Op::MatMul { .. } | Op::ExampleMatMul { .. } => product::FUSES,
            Op::SumRows | Op::SumCols | Op::SumExampleCols | Op::SumExamples | Op::TileExamples => {
                reduce::FUSES
            }
            Op::Softmax | Op::LogSumExp | Op::Softmask => softmax::FUSES,
            Op::Row(_)
            | Op::PlaceRow { .. }
            | Op::PickLabel { .. }
            | Op::OneHot { .. }
            | Op::ExampleCol(_)
            | Op::PlaceExampleCol { .. } => index::FUSES,
            Op::Transpose
            | Op::ExampleTranspose
            | Op::Reshape { .. }
            | Op::ConcatRows
            | Op::SliceRows { .. }
            | Op::Diag
            | Op::DiagPart => layout::FUSES,
            Op::Conv(_) => conv::FUSES,
            Op::MaxPool(_) | Op::MaxNe(_) => pool::FUSES,
            Op::Extreme(_) => extreme::FUSES,
        }
    }
}

/// The VJP of node `y` (with id `yid`) for the cotangent `g`: its contributions to its
/// arguments, built from IR ops so that gradients can be differentiated again.
pub(crate) fn vjp(
    b: &mut Builder<'_>,
    y: &Node,
    yid: NodeId,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let x = &y.args;
    match y.op {
        Op::Input(_) | Op::Param(_) | Op::Identity | Op::Table(_) => Ok(Vec::new()),
        Op::BatchStat { .. } => Ok(leaf::batch_stat_vjp(g)),
        Op::Const(_) => Ok(Vec::new()),
        Op::Add => Ok(elementwise::add_vjp(g)),
        Op::Sub => elementwise::sub_vjp(b, g),
        Op::Mul => elementwise::mul_vjp(b, x, g),
        Op::Div => elementwise::div_vjp(b, x, yid, g),
        Op::Unary(u) => Ok(vec![elementwise::unary_vjp(b, u, x[0], yid, g)?]),
        Op::Broadcast => elementwise::broadcast_vjp(b, x[0], y.shape, g),
        Op::StopGradient => Ok(vec![None]),
        Op::MatMul { ta, tb } => product::matmul_vjp(b, x, ta, tb, g),
        Op::ExampleMatMul { ta, tb } => product::example_matmul_vjp(b, x, ta, tb, g),
        Op::SumRows | Op::SumCols | Op::SumExampleCols => reduce::sum_vjp(b, x[0], g),
        Op::SumExamples => reduce::sum_examples_vjp(b, x[0], g),
        Op::TileExamples => reduce::tile_examples_vjp(b, g),
        Op::Softmax => Ok(vec![Some(softmax::softmax_vjp(b, y.shape, yid, g)?)]),
        Op::LogSumExp => softmax::logsumexp_vjp(b, x[0], g),
        Op::Softmask => softmax::softmask_vjp(b, y.shape, yid, g),
        Op::Row(k) => index::row_vjp(b, x[0], k, g),
        Op::PlaceRow { k, .. } => index::place_row_vjp(b, k, g),
        Op::PickLabel { lo } => index::pick_label_vjp(b, x, lo, g),
        Op::OneHot { .. } => Ok(vec![None]),
        Op::ExampleCol(k) => index::example_col_vjp(b, x[0], k, g),
        Op::PlaceExampleCol { k, .. } => index::place_example_col_vjp(b, k, g),
        Op::Transpose => layout::transpose_vjp(b, g),
        Op::ExampleTranspose => layout::example_transpose_vjp(b, g),
        Op::Diag => layout::diag_vjp(b, g),
        Op::DiagPart => layout::diag_part_vjp(b, g),
        Op::Reshape { .. } => layout::reshape_vjp(b, y.op, x[0], g),
        Op::ConcatRows => layout::concat_rows_vjp(b, x, g),
        Op::SliceRows { start, rows } => layout::slice_rows_vjp(b, x[0], start, rows, g),
        Op::Conv(c) => conv::vjp(b, c, x, g),
        Op::MaxPool(p) => pool::max_pool_vjp(b, p, x, g),
        Op::MaxNe(p) => pool::max_ne_vjp(b, p, x, g),
        Op::Extreme(e) => extreme::vjp(b, e, x, g),
    }
}

/// The constant an op of constant arguments (`consts`, each filling its argument's shape
/// `args`) folds to, if it folds.
pub(crate) fn fold(op: Op, consts: &[f64], args: &[Shape]) -> Option<f64> {
    match op {
        Op::Input(_) | Op::Param(_) | Op::Identity | Op::Table(_) | Op::BatchStat { .. } => None,
        Op::Const(_) => None,
        Op::Add => elementwise::fold_add(consts),
        Op::Sub => elementwise::fold_sub(consts),
        Op::Mul => elementwise::fold_mul(consts),
        Op::Div => elementwise::fold_div(consts),
        Op::Unary(u) => elementwise::fold_unary(u, consts),
        Op::Broadcast | Op::StopGradient => elementwise::fold_copy(consts),
        Op::MatMul { .. } | Op::ExampleMatMul { .. } => None,
        Op::SumRows => reduce::sum_rows_fold(consts, args),
        Op::SumCols => reduce::sum_cols_fold(consts, args),
        Op::SumExampleCols => None,
        Op::SumExamples | Op::TileExamples => None,
        Op::Softmax | Op::LogSumExp | Op::Softmask => None,
        Op::Row(_) | Op::PlaceRow { .. } | Op::PickLabel { .. } | Op::OneHot { .. } => None,
        Op::ExampleCol(_) | Op::PlaceExampleCol { .. } => None,
        Op::Transpose => layout::transpose_fold(consts),
        Op::ExampleTranspose | Op::Reshape { .. } | Op::ConcatRows | Op::SliceRows { .. } => None,
        Op::Diag | Op::DiagPart => None,
        Op::Conv(_) | Op::MaxPool(_) | Op::MaxNe(_) | Op::Extreme(_) => None,
    }
}

/// The statement computing node `id` into its buffer (a node that owns one, not fused into
/// a loop), or `None` for no statement (a value read where it is: an input, a parameter; a
/// sum accumulated by its argument's loop).
pub(crate) fn stmt(cx: &Cx<'_>, id: NodeId) -> Option<TokenStream> {
    let n = cx.g.node(id);
    Some(match n.op {
        Op::Input(_) | Op::Param(_) => return None,
        Op::Identity => leaf::identity_stmt(cx, id),
        Op::Table(k) => leaf::table_stmt(cx, id, k as usize),
        Op::BatchStat { slot } => leaf::batch_stat_stmt(cx, id, slot as usize),
        Op::Const(c) => elementwise::const_stmt(cx, id, c.0),
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Unary(_) | Op::Broadcast | Op::StopGradient => {
            cx.element_loop(id)
        }
        Op::MatMul { ta, tb } => product::matmul_stmt(cx, id, ta, tb),
        Op::ExampleMatMul { ta, tb } => product::example_matmul_stmt(cx, id, ta, tb),
        Op::SumRows => reduce::sum_rows_stmt(cx, id),
        Op::SumCols => reduce::sum_cols_stmt(cx, id)?,
        Op::SumExampleCols => reduce::sum_example_cols_stmt(cx, id),
        Op::SumExamples => reduce::sum_examples_stmt(cx, id),
        Op::TileExamples => reduce::tile_examples_stmt(cx, id),
        Op::Softmax => softmax::softmax_stmt(cx, id),
        Op::LogSumExp => softmax::logsumexp_stmt(cx, id),
        Op::Softmask => softmax::softmask_stmt(cx, id),
        Op::Row(k) => index::row_stmt(cx, id, k as usize),
        Op::PlaceRow { k, .. } => index::place_row_stmt(cx, id, k as usize),
        Op::PickLabel { lo } => index::pick_label_stmt(cx, id, lo),
        Op::OneHot { rows, lo } => index::one_hot_stmt(cx, id, rows as usize, lo),
        Op::ExampleCol(k) => index::example_col_stmt(cx, id, k as usize),
        Op::PlaceExampleCol { k, n } => index::place_example_col_stmt(cx, id, k, n),
        Op::Transpose => layout::transpose_stmt(cx, id),
        Op::ExampleTranspose => layout::example_transpose_stmt(cx, id),
        Op::Reshape { .. } => layout::reshape_stmt(cx, id),
        Op::ConcatRows => layout::concat_rows_stmt(cx, id),
        Op::SliceRows { start, rows } => layout::slice_rows_stmt(cx, id, start, rows),
        Op::Diag => layout::diag_stmt(cx, id),
        Op::DiagPart => layout::diag_part_stmt(cx, id),
        Op::Conv(c) => conv::stmt(cx, id, c),
        Op::MaxPool(p) => pool::max_pool_stmt(cx, id, p),
        Op::MaxNe(p) => pool::max_ne_stmt(cx, id, p),
        Op::Extreme(_) => cx.element_loop(id),
    })
}

/// The element expression of the root `id` of a fused loop over its arguments (fused or
/// read, through `Cx::elem`, which adds the leaves read to `leaves`). Only the element-wise
/// families have one; any other op here is an internal error in the generated code.
pub(crate) fn elem(cx: &Cx<'_>, id: NodeId, leaves: &mut Vec<NodeId>) -> TokenStream {
    let n = cx.g.node(id);
    match n.op {
        Op::Add => elementwise::add_elem(cx, n, leaves),
        Op::Sub => elementwise::sub_elem(cx, n, leaves),
        Op::Mul => elementwise::mul_elem(cx, n, leaves),
        Op::Div => elementwise::div_elem(cx, n, leaves),
        Op::Broadcast | Op::StopGradient => cx.elem(n.args[0], leaves),
        Op::Unary(u) => elementwise::unary_elem(cx, u, n, leaves),
        Op::Extreme(e) => extreme::elem(cx, e, n, leaves),
        Op::Input(_) | Op::Param(_) | Op::Identity | Op::Table(_) | Op::BatchStat { .. } => {
            not_elementwise()
        }
        Op::Const(_) => not_elementwise(),
        Op::MatMul { .. } | Op::ExampleMatMul { .. } => not_elementwise(),
        Op::SumRows | Op::SumCols | Op::SumExampleCols | Op::SumExamples | Op::TileExamples => {
            not_elementwise()
        }
        Op::Softmax | Op::LogSumExp | Op::Softmask => not_elementwise(),
        Op::Row(_)
        | Op::PlaceRow { .. }
        | Op::PickLabel { .. }
        | Op::OneHot { .. }
        | Op::ExampleCol(_)
        | Op::PlaceExampleCol { .. } => not_elementwise(),
        Op::Transpose
        | Op::ExampleTranspose
        | Op::Reshape { .. }
        | Op::ConcatRows
        | Op::SliceRows { .. }
        | Op::Diag
        | Op::DiagPart => not_elementwise(),
        Op::Conv(_) | Op::MaxPool(_) | Op::MaxNe(_) => not_elementwise(),
    }
}

/// The element expression of an op that is not an element-wise root: an internal error.
fn not_elementwise() -> TokenStream {
    quote::quote!(compile_error!("internal: not an element-wise root"))
}
