//! Max pooling (§10.4: "max pooling retains the maximum of 2×2 regions", `MaxPool`) and the
//! maximum over each node's neighbours of a graph (eq. 13.21, `MaxNe`), which share their
//! parts ([`PoolPart`]).
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
//!
//! **Maximum over neighbours.** `MaxNe(part) (H, A, X)` is eq. 13.21's `max_{m ∈ ne[n]}
//! [h_m]` for every node at once, row by row: `H` and `X` are `D × N` per example (a node per
//! column), `A` the `N × N` adjacency per example (or one fixed for every example), and node
//! `m` is a neighbour of node `n` when `A[m, n] ≠ 0` (column `n` lists `n`'s neighbours, as
//! in eq. 13.18's `H A`). `Pick` gives `X[d, m]` at the neighbour where `H[d, m]` is largest
//! (the first in index order on a tie; a node with no neighbour gets 0), so `MaxNe[H, A]` is
//! `Pick(H, A, H)`; `Place (H, A, G)` puts `G` back at those neighbours, its transpose. As
//! max pooling's parts, each is constant in `H, A` (the selection) and linear in its last
//! argument, its VJP the other part, so gradients of gradients stay in the one op.
//!
//! Neither fuses. Emitted: `runtime::pool::max_pool_pick`/`max_pool_place` with the layout
//! (`pool::Layout::Image`, or `Channels { h, w }`), and
//! `runtime::extreme::max_ne_pick`/`max_ne_place`. Interpreted in
//! `src/interp.rs::eval_node` (`max_pool`, and the `MaxNe` case) by the same kernels.

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;
use quote::quote;

/// Pooling is a kernel call, not a loop.
pub(crate) const FUSES: bool = false;

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

/// `MaxNe`: `H`, `X` and the result `D × N` per example (or fixed `D × N`), `A` `N × N`
/// per example or fixed (fixed `H` needs a fixed `A`).
pub(crate) fn max_ne_shape(op: Op, args: &[Shape]) -> Result<Shape, ShapeError> {
    let (h, a, x) = (args[0], args[1], args[2]);
    let n = match h.cols {
        Cols::Batch(n) | Cols::Fixed(n) => n,
    };
    let a_fits = a.rows == n
        && match (h.cols, a.cols) {
            (Cols::Batch(_), Cols::Batch(k) | Cols::Fixed(k)) => k == n,
            (Cols::Fixed(_), Cols::Fixed(k)) => k == n,
            (Cols::Fixed(_), Cols::Batch(_)) => false,
        };
    if x == h && n > 0 && a_fits {
        Ok(h)
    } else {
        Err(ShapeError::Operands {
            op,
            args: args.to_vec(),
        })
    }
}

/// Each part is constant in `x` (the maximisers) and linear in its second argument, its
/// gradient the other part: `∂Pick(x, h)/∂h = Place(x, ḡ)`, `∂Place(x, g)/∂g = Pick(x, ḡ)`;
/// nothing flows to `x` (`MaxPool[h] = Pick(h, h)` gets `Place(h, ḡ)` this way).
pub(crate) fn max_pool_vjp(
    b: &mut Builder<'_>,
    p: Pool,
    x: &[NodeId],
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    Ok(vec![None, Some(b.op(p.part(p.part.other()), &[x[0], g])?)])
}

/// The same for the maximum over neighbours: constant in `(h, a)`, linear in the last
/// argument, `∂Pick(h, a, x)/∂x = Place(h, a, ḡ)` and `∂Place(h, a, g)/∂g = Pick(h, a, ḡ)`.
pub(crate) fn max_ne_vjp(
    b: &mut Builder<'_>,
    p: PoolPart,
    x: &[NodeId],
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    Ok(vec![
        None,
        None,
        Some(b.op(Op::MaxNe(p.other()), &[x[0], x[1], g])?),
    ])
}

/// `runtime::pool::max_pool_pick`/`max_pool_place` of the part, with the layout.
pub(crate) fn max_pool_stmt(cx: &Cx<'_>, id: NodeId, p: Pool) -> TokenStream {
    let dst = cx.write(id);
    let n = cx.g.node(id);
    let (a, b) = (cx.read(n.args[0]), cx.read(n.args[1]));
    let rt = &cx.rt;
    let f = match p.part {
        PoolPart::Pick => quote!(max_pool_pick),
        PoolPart::Place => quote!(max_pool_place),
    };
    let layout = match p.image {
        None => quote!(#rt::pool::Layout::Image),
        Some([h, w]) => {
            let (h, w) = (h as usize, w as usize);
            quote!(#rt::pool::Layout::Channels { h: #h, w: #w })
        }
    };
    quote!(#rt::pool::#f(#dst, #a, #b, #layout);)
}

/// `runtime::extreme::max_ne_pick`/`max_ne_place` of the part.
pub(crate) fn max_ne_stmt(cx: &Cx<'_>, id: NodeId, p: PoolPart) -> TokenStream {
    let dst = cx.write(id);
    let n = cx.g.node(id);
    let rt = &cx.rt;
    let [h, a, x] = [0, 1, 2].map(|k| cx.read(n.args[k]));
    let f = match p {
        PoolPart::Pick => quote!(max_ne_pick),
        PoolPart::Place => quote!(max_ne_place),
    };
    quote!(#rt::extreme::#f(#dst, #h, #a, #x);)
}
