//! 2×2 max pooling of each example's image (§10.4) and the part of its gradient that places
//! a cotangent at the maximisers. An image `H × W` per example is the matrix `H × (W·B)`,
//! `H` and `W` even, so output column `c` reads input columns `2c, 2c+1` whatever the
//! example. The maximiser of a window is the first of `(2i, 2j), (2i, 2j+1), (2i+1, 2j),
//! (2i+1, 2j+1)` (row-major) strictly larger than every earlier one: a tie goes to the
//! first. No allocation.

use crate::Scalar;
use faer::{MatMut, MatRef};

/// The position in `x` of the maximiser of window `(i, c)` of the output.
fn argmax<T: Scalar>(x: MatRef<'_, T>, i: usize, c: usize) -> (usize, usize) {
    let mut best = (2 * i, 2 * c);
    for (r, k) in [
        (2 * i, 2 * c + 1),
        (2 * i + 1, 2 * c),
        (2 * i + 1, 2 * c + 1),
    ] {
        if x[(r, k)] > x[best] {
            best = (r, k);
        }
    }
    best
}

/// `dst[i, c] = h[argmax of x's window (i, c)]`: `MaxPool[x]` when `h` is `x`.
///
/// # Panics
/// If `x` and `h` are not `2·dst.nrows() × 2·dst.ncols()`.
pub fn max_pool_pick<T: Scalar>(mut dst: MatMut<'_, T>, x: MatRef<'_, T>, h: MatRef<'_, T>) {
    let (r, c) = (dst.nrows(), dst.ncols());
    assert!(
        x.nrows() == 2 * r
            && x.ncols() == 2 * c
            && h.nrows() == x.nrows()
            && h.ncols() == x.ncols(),
        "max_pool_pick: {}×{} and {}×{} to {r}×{c}",
        x.nrows(),
        x.ncols(),
        h.nrows(),
        h.ncols()
    );
    for j in 0..c {
        for i in 0..r {
            dst[(i, j)] = h[argmax(x, i, j)];
        }
    }
}

/// `dst = 0` except at the maximiser of each window of `x`, which holds `g`'s entry of that
/// window: the transpose of [`max_pool_pick`] with the same `x`.
///
/// # Panics
/// If `x` is not `dst`'s shape or `g` not half of it in each dimension.
pub fn max_pool_place<T: Scalar>(mut dst: MatMut<'_, T>, x: MatRef<'_, T>, g: MatRef<'_, T>) {
    let (r, c) = (g.nrows(), g.ncols());
    assert!(
        x.nrows() == 2 * r
            && x.ncols() == 2 * c
            && dst.nrows() == x.nrows()
            && dst.ncols() == x.ncols(),
        "max_pool_place: {}×{} and {r}×{c} to {}×{}",
        x.nrows(),
        x.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    dst.fill(T::ZERO);
    for j in 0..c {
        for i in 0..r {
            dst[argmax(x, i, j)] = g[(i, j)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Against the windows' maxima by naive loops over a batch of two 4×4 images, ties to
    /// the first in row-major order, and `place` the transpose of `pick`.
    #[test]
    fn pick_and_place_against_naive_loops() {
        let x = Mat::from_fn(4, 8, |i, j| ((7 * i + 3 * j) % 11) as f64 - 5.0);
        let mut p = Mat::<f64>::zeros(2, 4);
        max_pool_pick(p.as_mut(), x.as_ref(), x.as_ref());
        for b in 0..2 {
            for i in 0..2 {
                for j in 0..2 {
                    let mut m = f64::NEG_INFINITY;
                    for di in 0..2 {
                        for dj in 0..2 {
                            m = m.max(x[(2 * i + di, 4 * b + 2 * j + dj)]);
                        }
                    }
                    assert_eq!(p[(i, 2 * b + j)], m, "{b} {i} {j}");
                }
            }
        }
        // A tie: every entry of the window equal; the first takes the gradient.
        let t = Mat::from_fn(2, 2, |_, _| 1.0);
        let g = Mat::from_fn(1, 1, |_, _| 3.0);
        let mut d = Mat::<f64>::zeros(2, 2);
        max_pool_place(d.as_mut(), t.as_ref(), g.as_ref());
        assert_eq!(
            (d[(0, 0)], d[(0, 1)], d[(1, 0)], d[(1, 1)]),
            (3.0, 0.0, 0.0, 0.0)
        );
        // ⟨pick(x, h), g⟩ = ⟨h, place(x, g)⟩.
        let h = Mat::from_fn(4, 8, |i, j| (i * 8 + j) as f64 * 0.25);
        let g = Mat::from_fn(2, 4, |i, j| 1.0 + (i + 2 * j) as f64);
        let mut ph = Mat::<f64>::zeros(2, 4);
        max_pool_pick(ph.as_mut(), x.as_ref(), h.as_ref());
        let mut dg = Mat::<f64>::zeros(4, 8);
        max_pool_place(dg.as_mut(), x.as_ref(), g.as_ref());
        let lhs: f64 = (0..2)
            .flat_map(|i| (0..4).map(move |j| (i, j)))
            .map(|(i, j)| ph[(i, j)] * g[(i, j)])
            .sum();
        let rhs: f64 = (0..4)
            .flat_map(|i| (0..8).map(move |j| (i, j)))
            .map(|(i, j)| h[(i, j)] * dg[(i, j)])
            .sum();
        assert!((lhs - rhs).abs() < 1e-12);
    }
}
