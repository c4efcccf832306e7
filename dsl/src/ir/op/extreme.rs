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

use super::{Op, Shape, ShapeError};
pub use nnspec_ops::Extreme;

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
