//! The op table of the Python targets: what each IR node is in Python, written once for JAX
//! and PyTorch. What differs between the two engines is a [`Dialect`]: the array module and
//! its keyword spellings (`axis=`/`dim=`, `keepdims=`/`keepdim=`), a few function names, and
//! the element-wise functions, one-hot and row padding as functions of their own. The match
//! over ops in [`op`] is exhaustive, so a new op is refused at compile time until it has a
//! line here (or a `Err` naming the construct).

use super::{Expr, cols};
use crate::ir::extreme::ExtPart;
use crate::ir::{Cols, Graph, NodeId, Op, Shape, Unary};
use std::collections::BTreeSet;

/// An element-wise function of `x` (`o`: `x` as an operand) in one engine; the helpers it
/// calls go in the callback.
pub(super) type UnaryFn =
    fn(Unary, &str, &str, &mut dyn FnMut(&'static str)) -> Result<Expr, String>;

/// How one Python engine spells what the op table writes.
pub(super) struct Dialect {
    /// The array module (`jnp`, `torch`).
    pub np: &'static str,
    /// Where `softmax` and `logsumexp` live (`jax.nn`, `torch`).
    pub nn: &'static str,
    /// The keyword naming an axis (`axis`, `dim`; also `axis1`/`dim1`).
    pub axis: &'static str,
    /// The keyword keeping a reduced axis (`keepdims`, `keepdim`).
    pub keep: &'static str,
    /// The dtype argument of a new array (`dtype=_FLOAT`, `dtype=_DTYPE`).
    pub dtype: &'static str,
    /// Concatenation along an axis.
    pub concat: &'static str,
    /// Repeating each column `n` times, side by side.
    pub repeat: &'static str,
    /// Picking one entry per column by index along an axis.
    pub take: &'static str,
    /// A value the gradient does not flow through.
    pub stop: &'static str,
    /// Per example, a vector's diagonal matrix (applied to the `B × r` transpose).
    pub diag_embed: &'static str,
    /// The cast of labels to integer indices (a method suffix).
    pub int: &'static str,
    /// An element-wise function of `x` (`o`: `x` as an operand); helpers it calls go in `help`.
    pub unary: UnaryFn,
    /// `rows × B` one-hot columns of 0-based integer labels `y` (a `1 × B` row).
    pub one_hot: fn(&str, usize) -> String,
    /// `x` with `before` rows of zeros above and `after` below.
    pub pad_rows: fn(&str, usize, usize) -> String,
}

/// Node `id` of `g` in the dialect `d`, from its arguments' expressions; the helpers it needs
/// go in `helpers`. An op the targets cannot express yet is an `Err` naming it.
pub(super) fn op(
    d: &Dialect,
    g: &Graph,
    id: NodeId,
    args: &[Expr],
    helpers: &mut BTreeSet<&'static str>,
) -> Result<Expr, String> {
    let node = g.node(id);
    // `a[k]` as an operand (parenthesised if need be), `x(k)` as a call's argument.
    let a: Vec<String> = args.iter().map(Expr::operand).collect();
    let x = |k: usize| args[k].text.as_str();
    let shape = node.shape;
    let (rows, c) = (shape.rows, cols(shape.cols));
    let arg = |k: usize| g.node(node.args[k]).shape;
    let per = |k: usize| match arg(k).cols {
        Cols::Batch(n) => n.to_string(),
        Cols::Fixed(_) => "None".to_string(),
    };
    let atom = Expr::atom;
    let Dialect {
        np, nn, axis, keep, ..
    } = *d;
    Ok(match node.op {
        Op::Input(_) | Op::Param(_) => return Err("a slot read as an op".into()),
        Op::Const(v) => atom(format!(
            "{np}.full(({rows}, {c}), {}, {})",
            super::python::float(v.0),
            d.dtype
        )),
        Op::Identity => atom(format!("{np}.eye({rows}, {})", d.dtype)),
        Op::Add => Expr::compound(format!("{} + {}", a[0], a[1])),
        Op::Sub => Expr::compound(format!("{} - {}", a[0], a[1])),
        Op::Mul => Expr::compound(format!("{} * {}", a[0], a[1])),
        Op::Div => Expr::compound(format!("{} / {}", a[0], a[1])),
        Op::Unary(u) => (d.unary)(u, x(0), &a[0], &mut |h| {
            helpers.insert(h);
        })?,
        Op::Broadcast => broadcast(d, arg(0), shape, x(0)),
        Op::SumRows => atom(format!("{np}.sum({}, {axis}=0, {keep}=True)", x(0))),
        Op::SumCols => atom(format!("{np}.sum({}, {axis}=1, {keep}=True)", x(0))),
        Op::SumExampleCols => helped(
            helpers,
            "_columns",
            format!("{np}.sum(_columns({}, {}), {axis}=2)", x(0), per(0)),
        ),
        Op::MatMul { ta, tb } => {
            let t = |b: bool| if b { ".T" } else { "" };
            Expr::compound(format!("{}{} @ {}{}", a[0], t(ta), a[1], t(tb)))
        }
        Op::Transpose => atom(format!("{}.T", a[0])),
        Op::ExampleMatMul { ta, tb } => {
            let flag = |b: bool| if b { "True" } else { "False" };
            let (p, q, x0, x1) = (per(0), per(1), x(0), x(1));
            let call = format!(
                "_example_matmul({x0}, {p}, {}, {x1}, {q}, {})",
                flag(ta),
                flag(tb)
            );
            helped(helpers, "_example_matmul", call)
        }
        Op::ExampleTranspose => helped(
            helpers,
            "_example_transpose",
            format!("_example_transpose({}, {})", x(0), per(0)),
        ),
        Op::Softmax => atom(format!("{nn}.softmax({}, {axis}=0)", x(0))),
        Op::LogSumExp => atom(format!("{nn}.logsumexp({}, {axis}=0, {keep}=True)", x(0))),
        Op::Row(k) => atom(format!("{}[{k}:{}]", a[0], k + 1)),
        Op::PickLabel { lo } => atom(format!(
            "{}({}, {}, {axis}=0)",
            d.take,
            x(0),
            labels(d, &a[1], lo)
        )),
        Op::OneHot { rows, lo } => atom((d.one_hot)(&labels(d, &a[0], lo), rows as usize)),
        Op::PlaceRow { k, rows } => atom((d.pad_rows)(x(0), k as usize, (rows - k - 1) as usize)),
        Op::StopGradient => atom(format!("{}({})", d.stop, x(0))),
        Op::SumExamples => helped(
            helpers,
            "_blocks",
            format!("{np}.sum(_blocks({}, {}), {axis}=0)", x(0), per(0)),
        ),
        Op::TileExamples => atom(format!("{np}.tile({}, (1, B))", x(0))),
        Op::ExampleCol(k) => helped(
            helpers,
            "_columns",
            format!("_columns({}, {})[:, :, {k}]", x(0), per(0)),
        ),
        Op::PlaceExampleCol { k, n } => helped(
            helpers,
            "_place_column",
            format!("_place_column({}, {k}, {n})", x(0)),
        ),
        // The ops no target expresses yet, named for the refusal.
        Op::Conv(_) | Op::MaxPool(_) | Op::MaxNe(_) | Op::BatchStat { .. } => {
            return Err(refused(node.op).into());
        }
        Op::Extreme(e) => extreme(d, e, &a, args)?,
        Op::Reshape { rows, cols } => helped(
            helpers,
            "_reshape",
            format!("_reshape({}, {}, {rows}, {cols})", x(0), per(0)),
        ),
        Op::ConcatRows => {
            let parts: Vec<&str> = args.iter().map(|e| e.text.as_str()).collect();
            atom(format!("{}([{}], {axis}=0)", d.concat, parts.join(", ")))
        }
        Op::SliceRows { start, rows } => atom(format!("{}[{start}:{}]", a[0], start + rows)),
        Op::Diag | Op::DiagPart => diag(d, node.op, arg(0).cols, &a[0], helpers),
        Op::Softmask => helped(
            helpers,
            "_softmask",
            format!("_softmask({}, {})", x(0), x(1)),
        ),
        Op::Table(k) => atom(format!("{np}.asarray(_TABLE_{k}, {})", d.dtype)),
    })
}

/// What an op the exporters cannot express yet is called in their refusal.
fn refused(op: Op) -> &'static str {
    match op {
        Op::Conv(_) => "a convolution",
        Op::MaxPool(_) => "max pooling",
        Op::MaxNe(_) => "the maximum over neighbours `MaxNe`",
        Op::BatchStat { .. } => {
            "batch normalisation (a statistic over the batch with a running value)"
        }
        _ => "this op",
    }
}

/// `Extreme`'s pick: `where(a ≥ b, x, y)` (`≤` for `min`); its gradient parts are not
/// exported (the target differentiates).
fn extreme(
    d: &Dialect,
    e: crate::ir::extreme::Ext,
    a: &[String],
    args: &[Expr],
) -> Result<Expr, String> {
    let cmp = match e.which {
        nnspec_ops::Extreme::Max => ">=",
        nnspec_ops::Extreme::Min => "<=",
    };
    match e.part {
        ExtPart::Pick => Ok(Expr::atom(format!(
            "{}.where({} {cmp} {}, {}, {})",
            d.np, a[0], a[1], args[2].text, args[3].text
        ))),
        ExtPart::First | ExtPart::Second => Err("the gradient of `max`/`min`".into()),
    }
}

/// `Diag` (a vector's diagonal matrix) or `DiagPart` (a matrix's diagonal as a vector) of
/// `o` (an operand), per example when its columns are per example.
fn diag(d: &Dialect, op: Op, cols: Cols, o: &str, helpers: &mut BTreeSet<&'static str>) -> Expr {
    let (np, axis) = (d.np, d.axis);
    match (op, cols) {
        (Op::Diag, Cols::Fixed(_)) => Expr::atom(format!("{np}.diag({o}[:, 0])")),
        (Op::Diag, Cols::Batch(_)) => {
            helped(helpers, "_join", format!("_join({}({o}.T))", d.diag_embed))
        }
        (_, Cols::Fixed(_)) => Expr::atom(format!("{np}.diagonal({o})[:, None]")),
        (_, Cols::Batch(n)) => helped(
            helpers,
            "_blocks",
            format!("{np}.diagonal(_blocks({o}, {n}), {axis}1=1, {axis}2=2).T"),
        ),
    }
}

/// A call of the helper `h` (recorded in `helpers`, so the module defines it).
fn helped(helpers: &mut BTreeSet<&'static str>, h: &'static str, text: String) -> Expr {
    helpers.insert(h);
    Expr::atom(text)
}

/// Class labels `y` (numbered from `lo`) as 0-based integer indices.
fn labels(d: &Dialect, y: &str, lo: i32) -> String {
    match lo {
        0 => format!("{y}{}", d.int),
        lo => format!("({y} - {lo}){}", d.int),
    }
}

/// `Broadcast` from `from` to `to`: a bias over the columns, a scalar to anything, or one
/// column per example repeated over each example's columns.
fn broadcast(d: &Dialect, from: Shape, to: Shape, x: &str) -> Expr {
    let target = format!("({}, {})", to.rows, cols(to.cols));
    let np = d.np;
    match (from.cols, to.cols) {
        (Cols::Batch(1), Cols::Batch(n)) if n > 1 => {
            let rep = format!("{}({x}, {n}, {}=1)", d.repeat, d.axis);
            if from.rows == to.rows {
                Expr::atom(rep)
            } else {
                Expr::atom(format!("{np}.broadcast_to({rep}, {target})"))
            }
        }
        _ => Expr::atom(format!("{np}.broadcast_to({x}, {target})")),
    }
}
