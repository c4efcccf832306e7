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
//!
//! `Place` is also max unpooling (§10.4.2), `MaxUnpool[p, h]` = `Place(h, p)`: the pooled
//! values put back where the maxima of `h` were, zeros elsewhere.
//!
//! With channels ([`Pool::image`]), an image `C × H × W` per example is `C × (H·W·B)` as the
//! convolution holds it (`conv::Conv::chan_rows`), and each channel is pooled alone: output
//! `(c, i, j)` is the maximum of the same four entries of channel `c`.

use super::{Cols, Op, Shape, ShapeError};

/// Which of the two parts of 2×2 max pooling (`Op::MaxPool`) or of the maximum over each
/// node's neighbours (`Op::MaxNe`, whose selecting arguments are `(H, A)`) an op computes.
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

/// A max pooling op: its part and where each example's image lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool {
    /// What the op computes.
    pub part: PoolPart,
    /// With channels in rows (`C × (H·W·B)`, an image `ℝ^{C×H×W}` per example), the sizes
    /// `H, W` of the input, each channel pooled alone; `None` for one channel, the matrix
    /// per example `H × (W·B)`.
    pub image: Option<[u32; 2]>,
}

impl Pool {
    /// The same windows computing another part.
    pub fn part(self, part: PoolPart) -> Op {
        Op::MaxPool(Pool { part, ..self })
    }

    /// The pooled shape of `x`: `r/2 × (n/2·B)` of `r × (n·B)` with `r` and `n` even, or with
    /// channels `C × (H/2·W/2·B)` of `C × (H·W·B)` with `H` and `W` even.
    fn pooled(self, x: Shape) -> Option<Shape> {
        let Cols::Batch(n) = x.cols else { return None };
        match self.image {
            None if x.rows.is_multiple_of(2) && n.is_multiple_of(2) && x.rows > 0 => {
                Some(Shape::batch_matrix(x.rows / 2, n / 2))
            }
            Some([h, w])
                if h.is_multiple_of(2)
                    && w.is_multiple_of(2)
                    && h > 0
                    && w > 0
                    && n == h as usize * w as usize =>
            {
                Some(Shape::batch_matrix(x.rows, n / 4))
            }
            _ => None,
        }
    }

    /// The shape rule of both parts: `Pick` `x, h → p` with `h` of `x`'s shape; `Place`
    /// `x, g → ∂h` with `g` of the pooled shape; `x` an image per example of even sizes.
    pub fn infer(self, x: Shape, b: Shape) -> Result<Shape, ShapeError> {
        let out = self.pooled(x).and_then(|p| match self.part {
            PoolPart::Pick if b == x => Some(p),
            PoolPart::Place if b == p => Some(x),
            _ => None,
        });
        out.ok_or(ShapeError::Operands {
            op: Op::MaxPool(self),
            args: vec![x, b],
        })
    }
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
