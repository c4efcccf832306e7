//! Products whose fixed dimensions are tiny, as straight-line code: `dst = α·op(a)·op(b)`
//! where every dimension but one is a small constant (the compiler plans those of at most 8).
//!
//! The constant dimensions are const generics, so each instance is compiled with every loop
//! over them unrolled and the tiny operand (or the accumulators) held in registers; only the
//! loop over the one free dimension (the batch) is left. At these sizes faer's dispatch costs
//! more than the arithmetic. Which products take this form is the compiler's plan's choice
//! (`nnspec_dsl::opt::plan`, `Plan::tiny`); generated code calls these with the dimensions
//! it planned, and the shapes are checked once per call.
//!
//! - [`cols`]: `op(a)` is `M × K`, constant; any number of columns of `op(b)` and `dst`.
//! - [`inner`]: `dst` is `M × N`, constant; any inner dimension (a weight's gradient, summed
//!   over the batch).
//!
//! Neither allocates; transposes are views, as in [`gemm`](crate::gemm()).

use crate::Scalar;
use faer::{MatMut, MatRef};

/// `dst = α·op(a)·op(b)` for a constant `M × K` matrix `op(a)` and a `K × n` matrix `op(b)`
/// (`op(a) = aᵀ` if `ta`, likewise `tb`): column by column of `op(b)`, each column's `M`
/// entries as unrolled sums of `K` products with `op(a)` held in registers.
///
/// # Panics
/// If `op(a)` is not `M × K`, `op(b)` not `K × n` or `dst` not `M × n`.
#[inline]
pub fn cols<T: Scalar, const M: usize, const K: usize>(
    mut dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    ta: bool,
    tb: bool,
    alpha: T,
) {
    let a = if ta { a.transpose() } else { a };
    let b = if tb { b.transpose() } else { b };
    let n = b.ncols();
    assert!(
        a.nrows() == M && a.ncols() == K && b.nrows() == K && dst.nrows() == M && dst.ncols() == n,
        "tiny::cols::<{M}, {K}>: {}×{} by {}×{} into {}×{}",
        a.nrows(),
        a.ncols(),
        b.nrows(),
        b.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    let w: [[T; K]; M] = std::array::from_fn(|i| std::array::from_fn(|k| alpha * a[(i, k)]));
    for j in 0..n {
        let x: [T; K] = std::array::from_fn(|k| b[(k, j)]);
        for i in 0..M {
            let mut s = T::ZERO;
            for k in 0..K {
                s += w[i][k] * x[k];
            }
            dst[(i, j)] = s;
        }
    }
}

/// `dst = α·op(a)·op(b)` for a constant `M × N` result, `op(a)` `M × k` and `op(b)` `k × N`
/// with any `k` (`op(a) = aᵀ` if `ta`, likewise `tb`): `M·N` accumulators in registers, one
/// pass over the inner dimension.
///
/// # Panics
/// If `dst` is not `M × N`, `op(a)` not `M × k` or `op(b)` not `k × N`.
#[inline]
pub fn inner<T: Scalar, const M: usize, const N: usize>(
    mut dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    ta: bool,
    tb: bool,
    alpha: T,
) {
    let a = if ta { a.transpose() } else { a };
    // `op(b)ᵀ`, `N × k`: its column `c` is row `c` of `op(b)`.
    let b = if tb { b } else { b.transpose() };
    let k = a.ncols();
    assert!(
        a.nrows() == M && b.nrows() == N && b.ncols() == k && dst.nrows() == M && dst.ncols() == N,
        "tiny::inner::<{M}, {N}>: {}×{} by {}×{} into {}×{}",
        a.nrows(),
        a.ncols(),
        b.ncols(),
        b.nrows(),
        dst.nrows(),
        dst.ncols()
    );
    let mut acc = [[T::ZERO; N]; M];
    for c in 0..k {
        let x: [T; M] = std::array::from_fn(|i| a[(i, c)]);
        let y: [T; N] = std::array::from_fn(|l| b[(l, c)]);
        for i in 0..M {
            for l in 0..N {
                acc[i][l] += x[i] * y[l];
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (l, v) in row.iter().enumerate() {
            dst[(i, l)] = alpha * *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// `op(a)·op(b)` by the definition, in f64.
    fn reference(a: &Mat<f64>, b: &Mat<f64>, ta: bool, tb: bool) -> Mat<f64> {
        let a = if ta {
            a.transpose().to_owned()
        } else {
            a.clone()
        };
        let b = if tb {
            b.transpose().to_owned()
        } else {
            b.clone()
        };
        Mat::from_fn(a.nrows(), b.ncols(), |i, j| {
            (0..a.ncols()).map(|k| a[(i, k)] * b[(k, j)]).sum()
        })
    }

    fn filled(r: usize, c: usize, seed: f64) -> Mat<f64> {
        Mat::from_fn(r, c, |i, j| {
            seed + (i * 7 + j * 3) as f64 * 0.25 - (j % 2) as f64
        })
    }

    /// `op(a)` (`m × k`) and `op(b)` (`k × n`) stored as `ta`, `tb` say, filled with distinct
    /// values.
    fn operands(m: usize, k: usize, n: usize, ta: bool, tb: bool) -> (Mat<f64>, Mat<f64>) {
        let a = if ta {
            filled(k, m, 0.5)
        } else {
            filled(m, k, 0.5)
        };
        let b = if tb {
            filled(n, k, -1.0)
        } else {
            filled(k, n, -1.0)
        };
        (a, b)
    }

    /// `dst` is `alpha` times the product by the definition, entry by entry.
    fn assert_scaled(dst: &Mat<f64>, want: &Mat<f64>, alpha: f64, ta: bool, tb: bool) {
        for j in 0..want.ncols() {
            for i in 0..want.nrows() {
                assert_eq!(
                    dst[(i, j)],
                    alpha * want[(i, j)],
                    "({i}, {j}) ta={ta} tb={tb}"
                );
            }
        }
    }

    #[test]
    fn cols_matches_the_definition_for_every_transpose() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (a, b) = operands(3, 2, 5, ta, tb);
            let mut dst = Mat::<f64>::zeros(3, 5);
            cols::<f64, 3, 2>(dst.as_mut(), a.as_ref(), b.as_ref(), ta, tb, 2.0);
            assert_scaled(&dst, &reference(&a, &b, ta, tb), 2.0, ta, tb);
        }
    }

    #[test]
    fn inner_matches_the_definition_for_every_transpose() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (a, b) = operands(2, 7, 3, ta, tb);
            let mut dst = Mat::<f64>::zeros(2, 3);
            inner::<f64, 2, 3>(dst.as_mut(), a.as_ref(), b.as_ref(), ta, tb, 1.0);
            assert_scaled(&dst, &reference(&a, &b, ta, tb), 1.0, ta, tb);
        }
    }

    #[test]
    fn a_hand_computed_product() {
        // [1 2; 3 4] · [5; 6] = [17; 39], and [1 2]·[3 4]ᵀ over k = 2 is 11.
        let a = Mat::from_fn(2, 2, |i, j| [[1.0f32, 2.0], [3.0, 4.0]][i][j]);
        let b = Mat::from_fn(2, 1, |i, _| [5.0f32, 6.0][i]);
        let mut d = Mat::<f32>::zeros(2, 1);
        cols::<f32, 2, 2>(d.as_mut(), a.as_ref(), b.as_ref(), false, false, 1.0);
        assert_eq!((d[(0, 0)], d[(1, 0)]), (17.0, 39.0));
        let (x, y) = (
            Mat::from_fn(1, 2, |_, j| [1.0f32, 2.0][j]),
            Mat::from_fn(1, 2, |_, j| [3.0f32, 4.0][j]),
        );
        let mut s = Mat::<f32>::zeros(1, 1);
        inner::<f32, 1, 1>(s.as_mut(), x.as_ref(), y.as_ref(), false, true, 1.0);
        assert_eq!(s[(0, 0)], 11.0);
    }

    #[test]
    #[should_panic(expected = "tiny::cols::<3, 2>")]
    fn a_wrong_shape_panics() {
        let (a, b) = (Mat::<f64>::zeros(3, 3), Mat::<f64>::zeros(2, 4));
        let mut d = Mat::<f64>::zeros(3, 4);
        cols::<f64, 3, 2>(d.as_mut(), a.as_ref(), b.as_ref(), false, false, 1.0);
    }
}
