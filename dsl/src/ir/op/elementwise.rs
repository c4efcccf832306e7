//! Element-wise ops: a constant filling its shape (`Const`), `a + b`, `a - b`, `a ⊙ b`,
//! `a / b` of equal shapes, a function of one argument (`Unary`, every `nnspec_ops::Unary`
//! with its one formula `Unary::apply`), a broadcast of a `1`-sized dimension (`Broadcast`,
//! a bias `β 𝟏ᵀ`), and a value with no gradient flowing back (`StopGradient`, frozen copies
//! `φ⁻`). Each entry is computed from the same entry of the arguments (or a broadcast one),
//! so they fuse: a fusion group of the plan is one loop whose element expression nests them.
//!
//! Broadcasts are explicit ops, so un-broadcasting (the cotangent summed over the repeated
//! dimensions) is `Broadcast`'s VJP. A function's derivative is written in IR ops (an
//! exhaustive match over `Unary` in [`unary_vjp`]), so gradients can be differentiated again.
//! Constant folding evaluates a function by `Unary::apply` in f64, the formula every
//! evaluator runs.
//!
//! Emitted: the root of a fusion group is one loop (`Cx::element_loop`, `emit/fused.rs`)
//! whose element expression is built here (a function as `rt::Unary::Relu.apply(x)`, which
//! inlines to the formula); a constant that owns a buffer is a `fill`. Interpreted in
//! `src/interp.rs::eval_node` by `runtime::elementwise::binary`/`unary` (over `Unary::apply`)
//! and `runtime::layout::broadcast`.

use super::super::{Cols, F64, Node, NodeId, Op, Shape, ShapeError, Unary};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;
use quote::quote;

/// Element-wise ops fuse into one loop.
pub(crate) const FUSES: bool = true;

/// Two operands of one shape (element-wise arithmetic).
pub(crate) fn same(op: Op, a: Shape, b: Shape) -> Result<Shape, ShapeError> {
    if a == b {
        Ok(a)
    } else {
        Err(ShapeError::Operands {
            op,
            args: vec![a, b],
        })
    }
}

/// `Broadcast`: a `1`-sized dimension repeated to the declared shape.
pub(crate) fn broadcast_shape(a: Shape, to: Shape) -> Result<Shape, ShapeError> {
    let rows_ok = a.rows == to.rows || a.rows == 1;
    let cols_ok = a.cols == to.cols
        || a.cols == Cols::Fixed(1)
        || (a.cols == Cols::EXAMPLE && to.cols.is_batch());
    if rows_ok && cols_ok {
        Ok(to)
    } else {
        Err(ShapeError::Broadcast { from: a, to })
    }
}

/// `∂(a + b) = ḡ, ḡ`.
pub(crate) fn add_vjp(g: NodeId) -> Contribs {
    vec![Some(g), Some(g)]
}

/// `∂(a - b) = ḡ, -ḡ`.
pub(crate) fn sub_vjp(b: &mut Builder<'_>, g: NodeId) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(g), Some(b.op(Op::Unary(Unary::Neg), &[g])?)])
}

/// `∂(a ⊙ b) = ḡ ⊙ b, ḡ ⊙ a`.
pub(crate) fn mul_vjp(
    b: &mut Builder<'_>,
    x: &[NodeId],
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    Ok(vec![Some(b.mul(g, x[1])?), Some(b.mul(g, x[0])?)])
}

/// `y = a / b`: `∂a = ḡ / b`, `∂b = -ḡ ⊙ y / b`.
pub(crate) fn div_vjp(
    b: &mut Builder<'_>,
    x: &[NodeId],
    yid: NodeId,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let da = b.op(Op::Div, &[g, x[1]])?;
    let gy = b.mul(g, yid)?;
    let q = b.op(Op::Div, &[gy, x[1]])?;
    Ok(vec![Some(da), Some(b.op(Op::Unary(Unary::Neg), &[q])?)])
}

/// Un-broadcasting: the cotangent summed over the dimensions the broadcast from `x`'s shape
/// to `to` repeated.
pub(crate) fn broadcast_vjp(
    b: &mut Builder<'_>,
    x: NodeId,
    to: Shape,
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    let from = b.graph.shape(x);
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
    Ok(vec![Some(d)])
}

/// ∂f(x) for an element-wise `f`, as `ḡ ⊙ f'(x)`; `None` where `f'` is zero almost everywhere.
pub(crate) fn unary_vjp(
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

/// `a + b` of constants.
pub(crate) fn fold_add(consts: &[f64]) -> Option<f64> {
    fold2(consts, |a, b| Some(a + b))
}

/// `a - b` of constants.
pub(crate) fn fold_sub(consts: &[f64]) -> Option<f64> {
    fold2(consts, |a, b| Some(a - b))
}

/// `a ⊙ b` of constants.
pub(crate) fn fold_mul(consts: &[f64]) -> Option<f64> {
    fold2(consts, |a, b| Some(a * b))
}

/// `a / b` of constants; a division by zero is not folded.
pub(crate) fn fold_div(consts: &[f64]) -> Option<f64> {
    fold2(consts, |a, b| (b != 0.0).then_some(a / b))
}

/// A function of a constant, by the one formula, `Unary::apply` in f64 (the caller leaves a
/// value that is not finite, `log 0`, `1/0`, for the run to report).
pub(crate) fn fold_unary(u: Unary, consts: &[f64]) -> Option<f64> {
    fold_copy(consts).map(|a| u.apply(a))
}

/// `f(a, b)` of two constant arguments.
fn fold2(consts: &[f64], f: impl Fn(f64, f64) -> Option<f64>) -> Option<f64> {
    match consts {
        [a, b] => f(*a, *b),
        _ => None,
    }
}

/// A copy of a constant (a broadcast, a frozen copy, a transpose) is that constant.
pub(crate) fn fold_copy(consts: &[f64]) -> Option<f64> {
    match consts {
        [a] => Some(*a),
        _ => None,
    }
}

/// A constant that owns a buffer: its `fill`.
pub(crate) fn const_stmt(cx: &Cx<'_>, id: NodeId, v: f64) -> TokenStream {
    let dst = cx.write(id);
    quote!(#dst.fill(T::from_f64(#v));)
}

/// `(a + b)` of the arguments' element expressions.
pub(crate) fn add_elem(cx: &Cx<'_>, n: &Node, leaves: &mut Vec<NodeId>) -> TokenStream {
    binary_elem(cx, n, leaves, |a, b| quote!((#a + #b)))
}

/// `(a - b)` of the arguments' element expressions.
pub(crate) fn sub_elem(cx: &Cx<'_>, n: &Node, leaves: &mut Vec<NodeId>) -> TokenStream {
    binary_elem(cx, n, leaves, |a, b| quote!((#a - #b)))
}

/// `(a * b)` of the arguments' element expressions.
pub(crate) fn mul_elem(cx: &Cx<'_>, n: &Node, leaves: &mut Vec<NodeId>) -> TokenStream {
    binary_elem(cx, n, leaves, |a, b| quote!((#a * #b)))
}

/// `(a / b)` of the arguments' element expressions.
pub(crate) fn div_elem(cx: &Cx<'_>, n: &Node, leaves: &mut Vec<NodeId>) -> TokenStream {
    binary_elem(cx, n, leaves, |a, b| quote!((#a / #b)))
}

/// `f(a, b)` of the element expressions of the two arguments, the first read first.
fn binary_elem(
    cx: &Cx<'_>,
    n: &Node,
    leaves: &mut Vec<NodeId>,
    f: impl Fn(TokenStream, TokenStream) -> TokenStream,
) -> TokenStream {
    let a = cx.elem(n.args[0], leaves);
    let b = cx.elem(n.args[1], leaves);
    f(a, b)
}

/// A function of the argument's element expression.
pub(crate) fn unary_elem(cx: &Cx<'_>, u: Unary, n: &Node, leaves: &mut Vec<NodeId>) -> TokenStream {
    let a = cx.elem(n.args[0], leaves);
    unary_call(&cx.rt, u, a)
}

/// `Unary::Relu.apply(a)`: the function's one formula (`nnspec-ops`), with the function a
/// constant so that the call inlines to the formula alone. The variant is written as its
/// `Debug` form (`LRelu(F64(0.1))`), with paths, so no variant is listed here.
fn unary_call(rt: &TokenStream, u: Unary, a: TokenStream) -> TokenStream {
    let text = format!("{rt}::Unary::{u:?}").replace("F64(", &format!("{rt}::F64("));
    let f: TokenStream = text.parse().unwrap_or_else(|_| {
        quote!(compile_error!(
            "nnspec: an element-wise function without a Rust form"
        ))
    });
    quote!(#f.apply(#a))
}

#[cfg(test)]
mod tests {
    use super::{Unary, unary_call};
    use quote::quote;

    #[test]
    fn every_element_wise_function_is_emitted_as_a_rust_expression() {
        let rt = quote!(::nnspec::__private::runtime);
        for &u in Unary::EXAMPLES {
            let e = unary_call(&rt, u, quote!(x)).to_string();
            assert!(!e.contains("compile_error"), "{u:?}: {e}");
            assert!(e.contains(". apply (x)"), "{u:?}: {e}");
            syn::parse_str::<syn::Expr>(&e).unwrap_or_else(|err| panic!("{u:?}: {e}: {err}"));
        }
    }
}
