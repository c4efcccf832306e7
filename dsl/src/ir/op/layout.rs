//! The shape rules of the ops behind the book's graph and attention constructs: diagonal
//! matrices (`diag[A 𝟏]`, the degree matrix `D` of eq. 13.18–13.20, and its powers), the
//! masked softmax `Softmask[S, M]` (eq. 13.24; a causal mask in a decoder), and a constant
//! matrix folded at compile time (`Op::Table`: sinusoidal positional encodings, a causal
//! mask, defined entry by entry).
//!
//! **Diagonals.** `Diag` turns each example's vector into the diagonal of a square matrix,
//! `n × B → n × nB` (a fixed `n × 1` into `n × n`); `DiagPart` reads the diagonal of each
//! example's square block back, `n × nB → n × B`. Each is linear and the other's transpose,
//! so each is the other's VJP. A power of a diagonal matrix (`D^{-1/2}`) is lowered as
//! `Diag(DiagPart(D)^p)`: the power of each diagonal entry, the zeros off the diagonal kept
//! (an entry-wise power would turn them into `0^{-1/2} = ∞`).
//!
//! **Softmask.** `(S, M) → P`, each column of `S` through a softmax over the entries where
//! `M` is not zero, exactly zero elsewhere (`runtime::reduce::softmask_cols`). `M` has `S`'s
//! shape, or it is one fixed block `r × n` of an `S` per example `r × nB`, shared by every
//! example (a causal mask). The mask only selects entries: nothing flows back to it, and the
//! VJP for `S` is the softmax's, `P ⊙ (ḡ − 𝟏 (Pᵀ ḡ))` column by column, which is zero where
//! `P` is.
//!
//! **Maximum over neighbours.** `MaxNe(part) (H, A, X)` is eq. 13.21's `max_{m ∈ ne[n]}
//! [h_m]` for every node at once, row by row (`runtime::extreme::max_ne_pick`): `H` and `X`
//! are `D × N` per example (a node per column), `A` the `N × N` adjacency per example (or
//! one fixed for every example), and node `m` is a neighbour of node `n` when `A[m, n] ≠ 0`
//! (column `n` lists `n`'s neighbours, as in eq. 13.18's `H A`). `Pick` gives `X[d, m]` at
//! the neighbour where `H[d, m]` is largest (the first in index order on a tie; a node with
//! no neighbour gets 0), so `MaxNe[H, A]` is `Pick(H, A, H)`; `Place (H, A, G)` puts `G`
//! back at those neighbours, its transpose. As max pooling's parts, each is constant in
//! `H, A` (the selection) and linear in its last argument, its VJP the other part, so
//! gradients of gradients stay in the one op.
//!
//! **Tables.** `Table(k)` is the `rows × cols` matrix `Graph::tables[k]` (column-major
//! numbers), fixed: a constant, with no gradient.

use super::{Cols, Op, Shape, ShapeError};

/// `Diag`: `n × B → n × nB`, or `n × 1 → n × n`.
pub(super) fn diag_shape(a: Shape) -> Result<Shape, ShapeError> {
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
pub(super) fn diag_part_shape(a: Shape) -> Result<Shape, ShapeError> {
    match a.cols {
        Cols::Batch(n) if n == a.rows => Ok(Shape::batch(a.rows)),
        Cols::Fixed(n) if n == a.rows => Ok(Shape::fixed(a.rows, 1)),
        _ => Err(ShapeError::Operands {
            op: Op::DiagPart,
            args: vec![a],
        }),
    }
}

/// `Softmask`: `S`'s shape; `M` of the same shape, or a fixed `r × n` block of an `S` of
/// `r × nB`.
pub(super) fn softmask_shape(s: Shape, m: Shape) -> Result<Shape, ShapeError> {
    let fits = s == m
        || (m.rows == s.rows
            && matches!((s.cols, m.cols), (Cols::Batch(n), Cols::Fixed(k)) if n == k));
    if fits {
        Ok(s)
    } else {
        Err(ShapeError::Operands {
            op: Op::Softmask,
            args: vec![s, m],
        })
    }
}

/// `MaxNe`: `H`, `X` and the result `D × N` per example (or fixed `D × N`), `A` `N × N`
/// per example or fixed (fixed `H` needs a fixed `A`).
pub(super) fn max_ne_shape(op: Op, args: &[Shape]) -> Result<Shape, ShapeError> {
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

/// `Table`: the declared shape, which must be fixed.
pub(super) fn table_shape(op: Op, declared: Shape) -> Result<Shape, ShapeError> {
    match declared.cols {
        Cols::Fixed(_) => Ok(declared),
        Cols::Batch(_) => Err(ShapeError::Operands {
            op,
            args: vec![declared],
        }),
    }
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

    #[test]
    fn a_mask_per_example_or_shared() {
        let s = Shape::batch_matrix(4, 4);
        assert_eq!(softmask_shape(s, s), Ok(s));
        assert_eq!(softmask_shape(s, Shape::fixed(4, 4)), Ok(s));
        assert!(softmask_shape(s, Shape::fixed(4, 3)).is_err());
        assert!(softmask_shape(s, Shape::batch(4)).is_err());
    }
}
