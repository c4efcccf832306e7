//! The element-wise maximum and minimum of two values (`max[a, b]`, `min[a, b]`, the hinge
//! `max[0, z]`), from which every `max`/`min`/`argmax`/`argmin` of the language is built: a
//! maximum over the members of a family (`max_k z_k`, maxout) or over the components of a
//! vector (`max_j h_j`) is these folded from the left.
//!
//! As max pooling (`pool`), the op is written as parts ([`ExtPart`]), each constant in its
//! selecting arguments `xa, xb` and linear in the rest: `Pick (xa, xb, ha, hb)` is `ha` where
//! `xa` is kept against `xb` and `hb` elsewhere (`max[a, b]` is `Pick(a, b, a, b)`), and
//! `Place(side) (xa, xb, g)` is `g` where that side is kept and zero elsewhere, the gradient
//! of `Pick` with respect to that side's `h`. `Place` is a mask, its own transpose, so its
//! gradient is itself and gradients of gradients stay in the one op. The comparison is
//! `nnspec_ops::Extreme::first`: a tie keeps the first value, so the subgradient at a tie
//! goes to the first argument and a left fold keeps the first maximiser. `argmax` is a `Pick`
//! of constants (the indices), so no gradient flows through it.
//!
//! Emitted: in a fused loop, as the element expression `if Extreme::Max.first(xa, xb) { ha }
//! else { hb }` (the root of a group is `Cx::element_loop`). Interpreted in
//! `src/interp.rs::eval_node` (`extreme`) by `runtime::extreme::pick`/`place`, which call the
//! same `Extreme::first`.

use super::super::{Node, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
pub use nnspec_ops::Extreme;
use proc_macro2::TokenStream;
use quote::quote;

/// The maximum is element-wise: it fuses into loops.
pub(crate) const FUSES: bool = true;

/// Which part of a selection an op computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtPart {
    /// `(xa, xb, ha, hb) → ha` where `xa` is kept, `hb` elsewhere.
    Pick,
    /// `(xa, xb, g) → g` where the first value is kept, 0 elsewhere (`∂Pick/∂ha`).
    First,
    /// `(xa, xb, g) → g` where the second value is kept, 0 elsewhere (`∂Pick/∂hb`).
    Second,
}

/// A selection op: which extreme it keeps and which part it computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ext {
    /// The larger or the smaller value.
    pub which: Extreme,
    /// What the op computes.
    pub part: ExtPart,
}

impl Ext {
    /// The same selection computing another part.
    pub fn part(self, part: ExtPart) -> Op {
        Op::Extreme(Ext { part, ..self })
    }

    /// How many arguments the part takes.
    pub fn arity(self) -> usize {
        match self.part {
            ExtPart::Pick => 4,
            ExtPart::First | ExtPart::Second => 3,
        }
    }

    /// The shape rule: every argument of one shape, which is the result's.
    pub fn infer(self, args: &[Shape]) -> Result<Shape, ShapeError> {
        let op = Op::Extreme(self);
        if args.len() != self.arity() {
            return Err(ShapeError::Arity {
                op,
                want: self.arity(),
                got: args.len(),
            });
        }
        if args.iter().all(|a| *a == args[0]) {
            Ok(args[0])
        } else {
            Err(ShapeError::Operands {
                op,
                args: args.to_vec(),
            })
        }
    }
}

/// Each part of a maximum is constant in the selecting `xa`, `xb` and linear in the rest:
/// `∂Pick(xa, xb, ha, hb)/∂ha = First(xa, xb, ḡ)`, `∂/∂hb = Second(xa, xb, ḡ)`; `First`
/// and `Second` are masks, each its own transpose: `∂First(xa, xb, g)/∂g = First(xa, xb, ḡ)`.
pub(crate) fn vjp(
    b: &mut Builder<'_>,
    e: Ext,
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

/// The element expression of a part, by `nnspec_ops::Extreme::first`, the one comparison: a
/// tie keeps the first value.
pub(crate) fn elem(cx: &Cx<'_>, e: Ext, n: &Node, leaves: &mut Vec<NodeId>) -> TokenStream {
    let mut sub = |k: usize| cx.elem(n.args[k], leaves);
    let (xa, xb) = (sub(0), sub(1));
    let which = match e.which {
        Extreme::Max => quote!(Max),
        Extreme::Min => quote!(Min),
    };
    let rt = &cx.rt;
    let kept = quote!(#rt::ops::Extreme::#which.first(#xa, #xb));
    match e.part {
        ExtPart::Pick => {
            let (ha, hb) = (sub(2), sub(3));
            quote!((if #kept { #ha } else { #hb }))
        }
        ExtPart::First => {
            let g = sub(2);
            quote!((if #kept { #g } else { T::ZERO }))
        }
        ExtPart::Second => {
            let g = sub(2);
            quote!((if #kept { T::ZERO } else { #g }))
        }
    }
}
