//! Max pooling (§10.4: "max pooling retains the maximum of 2×2 regions") and `vec`, the
//! flattening of each example's matrix into a vector, column by column.
//!
//! Max pooling of each example's image `H × W` (the matrix per example `H × (W·B)`, `H` and
//! `W` even) keeps the largest of each 2×2 window: output `(i, j)` (0-based) is the maximum
//! of inputs `(2i, 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1)`; the maximiser of a window is
//! the first of those four, in this order (row-major), that is strictly larger than every
//! earlier one, so a tie goes to the first. With `W` even, every example's block holds
//! whole windows, and column `c` of the output reads columns `2c, 2c+1` of the input: the
//! batch needs no index of its own.
//!
//! The maximiser is constant wherever no window has a tie, so the op is written as two
//! parts, each linear in its second argument and constant in its first, whose gradients are
//! each other ([`PoolPart`]): `MaxPool[h]` is `Pick(h, h)`, its gradient `Place(h, ḡ)`, and
//! `Place`'s gradient with respect to `ḡ` is `Pick` again, so gradients of gradients stay in
//! the one op. At a tie the subgradient goes to the first maximiser.

use super::{Cols, Op, Shape, ShapeError};

/// Which of the two parts of 2×2 max pooling an op computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolPart {
    /// `(x, h) → p`: of each 2×2 window, the entry of `h` where `x` is largest
    /// (`MaxPool[h]` is `Pick(h, h)`).
    Pick,
    /// `(x, g) → ∂h`: each entry of `g` placed where `x` is largest in its window, zeros
    /// elsewhere (the transpose of `Pick(x, ·)`).
    Place,
}

impl PoolPart {
    /// The other part: the gradient of this one with respect to its second argument.
    pub fn other(self) -> PoolPart {
        match self {
            PoolPart::Pick => PoolPart::Place,
            PoolPart::Place => PoolPart::Pick,
        }
    }
}

/// The pooled shape of `r × (n·B)`: `r/2 × (n/2·B)`, if `r` and `n` are even.
fn pooled(x: Shape) -> Option<Shape> {
    match x.cols {
        Cols::Batch(n) if x.rows.is_multiple_of(2) && n.is_multiple_of(2) && x.rows > 0 => {
            Some(Shape::batch_matrix(x.rows / 2, n / 2))
        }
        _ => None,
    }
}

/// The shape rule of both parts: `Pick` `x, h → p` with `h` of `x`'s shape; `Place`
/// `x, g → ∂h` with `g` of the pooled shape; `x` a matrix per example of even size.
pub fn infer(part: PoolPart, x: Shape, b: Shape) -> Result<Shape, ShapeError> {
    let out = pooled(x).and_then(|p| match part {
        PoolPart::Pick if b == x => Some(p),
        PoolPart::Place if b == p => Some(x),
        _ => None,
    });
    out.ok_or(ShapeError::Operands {
        op: Op::MaxPool(part),
        args: vec![x, b],
    })
}

/// The shape rule of `Reshape { rows, cols }`: `r × (n·B) → rows × (cols·B)` when
/// `r·n = rows·cols` (each example's numbers in the same order).
pub fn reshape_shape(rows: u32, cols: u32, a: Shape) -> Result<Shape, ShapeError> {
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
