//! Matrix products into preallocated outputs: `C = op(A)·op(B)` or `C += op(A)·op(B)`, where
//! `op` is the identity or the transpose.
//!
//! Transposes are free views (swapped strides), never copies. The product runs on one thread
//! for small problems and on the global rayon pool for large ones ([`par_for`]): on the
//! project's 2-core machine, splitting below about `192³` multiply-adds costs more than it gains
//! (DEPENDENCIES.md §1.5). With `Par::Seq` faer's `matmul` does not allocate (its packing
//! buffer is thread-local and reused).

use crate::Scalar;
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// Below this many multiply-adds (`m·n·k`) a product runs on one thread: `192³`.
pub const PAR_THRESHOLD: u128 = 192 * 192 * 192;

/// The threading policy for an `m × k` by `k × n` product: [`Par::Seq`] when
/// `m·n·k < 192³`, otherwise `Par::rayon(0)` (every thread of the global rayon pool).
///
/// Do not call a parallel product from inside a rayon task: that oversubscribes the pool.
pub fn par_for(m: usize, n: usize, k: usize) -> Par {
    if (m as u128)
        .saturating_mul(n as u128)
        .saturating_mul(k as u128)
        < PAR_THRESHOLD
    {
        Par::Seq
    } else {
        Par::rayon(0)
    }
}

/// `dst = op(a)·op(b)`, or `dst += op(a)·op(b)` when `accumulate`, where `op(a) = aᵀ` if `ta`
/// (likewise `tb`), with the threading policy of [`par_for`].
///
/// `dst` is not read unless `accumulate`; an empty inner dimension gives zeros (or leaves
/// `dst` unchanged when accumulating).
///
/// # Panics
/// If the dimensions do not fit: `op(a)` must be `m × k`, `op(b)` `k × n` and `dst` `m × n`.
pub fn gemm<T: Scalar>(
    dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    ta: bool,
    tb: bool,
    accumulate: bool,
) {
    gemm_scaled(dst, a, b, ta, tb, accumulate, T::ONE);
}

/// `dst = α·op(a)·op(b)` (or `dst += …` when `accumulate`): [`gemm`] with a scale factor,
/// which generated code uses for a product divided or multiplied by a constant (`KᵀQ / √D`).
///
/// # Panics
/// As [`gemm`].
pub fn gemm_scaled<T: Scalar>(
    dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    ta: bool,
    tb: bool,
    accumulate: bool,
    alpha: T,
) {
    let k = if ta { a.nrows() } else { a.ncols() };
    let par = par_for(dst.nrows(), dst.ncols(), k);
    product(dst, a, b, ta, tb, accumulate, alpha, par);
}

/// [`gemm`] with an explicit threading policy.
///
/// # Panics
/// As [`gemm`].
pub fn gemm_par<T: Scalar>(
    dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    ta: bool,
    tb: bool,
    accumulate: bool,
    par: Par,
) {
    product(dst, a, b, ta, tb, accumulate, T::ONE, par);
}

/// Per example, `dst_b = α·op(a_b)·op(b_b)`: the product of a batch of matrices held side
/// by side, example `b`'s block of `a` being its columns `b·a_cols … (b+1)·a_cols - 1` (and
/// likewise for `b` and `dst`); `a_cols = 0` (or `b_cols = 0`) makes the operand one matrix
/// shared by every example. One product per example on the contiguous column blocks, so it
/// allocates nothing; the batch is the column count of a batched operand over its block's.
///
/// # Panics
/// If both operands are shared, a column count is not a whole number of blocks, or the
/// blocks do not fit.
#[allow(clippy::too_many_arguments)]
pub fn gemm_per_example<T: Scalar>(
    mut dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    a_cols: usize,
    b: MatRef<'_, T>,
    b_cols: usize,
    ta: bool,
    tb: bool,
    alpha: T,
) {
    let (batched, per) = if a_cols > 0 { (a, a_cols) } else { (b, b_cols) };
    assert!(
        per > 0 && batched.ncols().is_multiple_of(per),
        "gemm_per_example: {}×{} in blocks of {per} columns",
        batched.nrows(),
        batched.ncols()
    );
    let batch = batched.ncols() / per;
    let fits = |m: MatRef<'_, T>, cols: usize| cols == 0 || m.ncols() == batch * cols;
    assert!(
        fits(a, a_cols) && fits(b, b_cols) && (batch == 0 || dst.ncols().is_multiple_of(batch)),
        "gemm_per_example: {} examples of {}×{a_cols} and {}×{b_cols} into {}×{}",
        batch,
        a.nrows(),
        b.nrows(),
        dst.nrows(),
        dst.ncols()
    );
    if batch == 0 {
        return;
    }
    let d_cols = dst.ncols() / batch;
    for e in 0..batch {
        product(
            dst.as_mut().subcols_mut(e * d_cols, d_cols),
            block(a, a_cols, e),
            block(b, b_cols, e),
            ta,
            tb,
            false,
            alpha,
            Par::Seq,
        );
    }
}

/// Example `e`'s block of `cols` columns of `m`, or all of `m` when `cols` is 0 (shared).
fn block<T>(m: MatRef<'_, T>, cols: usize, e: usize) -> MatRef<'_, T> {
    if cols == 0 {
        m
    } else {
        m.subcols(e * cols, cols)
    }
}

#[allow(clippy::too_many_arguments)]
fn product<T: Scalar>(
    dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    ta: bool,
    tb: bool,
    accumulate: bool,
    alpha: T,
    par: Par,
) {
    let a = if ta { a.transpose() } else { a };
    let b = if tb { b.transpose() } else { b };
    assert!(
        a.ncols() == b.nrows() && dst.nrows() == a.nrows() && dst.ncols() == b.ncols(),
        "gemm: {}×{} = {}×{} · {}×{}",
        dst.nrows(),
        dst.ncols(),
        a.nrows(),
        a.ncols(),
        b.nrows(),
        b.ncols()
    );
    let beta = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    matmul(dst, beta, a, b, alpha, par);
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    fn naive(a: &Mat<f64>, b: &Mat<f64>, ta: bool, tb: bool) -> Mat<f64> {
        let at = |i: usize, j: usize| if ta { a[(j, i)] } else { a[(i, j)] };
        let bt = |i: usize, j: usize| if tb { b[(j, i)] } else { b[(i, j)] };
        let (m, k) = if ta {
            (a.ncols(), a.nrows())
        } else {
            (a.nrows(), a.ncols())
        };
        let n = if tb { b.nrows() } else { b.ncols() };
        Mat::from_fn(m, n, |i, j| (0..k).map(|l| at(i, l) * bt(l, j)).sum())
    }

    #[test]
    fn all_transpose_flags_and_accumulation() {
        let (m, k, n) = (3, 4, 5);
        for ta in [false, true] {
            for tb in [false, true] {
                let a = if ta {
                    Mat::from_fn(k, m, |i, j| (i * 7 + j) as f64 * 0.1 - 1.0)
                } else {
                    Mat::from_fn(m, k, |i, j| (i * 7 + j) as f64 * 0.1 - 1.0)
                };
                let b = if tb {
                    Mat::from_fn(n, k, |i, j| (i + 3 * j) as f64 * 0.2)
                } else {
                    Mat::from_fn(k, n, |i, j| (i + 3 * j) as f64 * 0.2)
                };
                let want = naive(&a, &b, ta, tb);
                let mut c = Mat::<f64>::full(m, n, f64::NAN);
                gemm(c.as_mut(), a.as_ref(), b.as_ref(), ta, tb, false);
                let mut acc = Mat::<f64>::full(m, n, 1.0);
                gemm(acc.as_mut(), a.as_ref(), b.as_ref(), ta, tb, true);
                for i in 0..m {
                    for j in 0..n {
                        assert!((c[(i, j)] - want[(i, j)]).abs() < 1e-12);
                        assert!((acc[(i, j)] - want[(i, j)] - 1.0).abs() < 1e-12);
                    }
                }
            }
        }
    }

    #[test]
    fn a_scaled_product_is_the_product_times_alpha() {
        let a = Mat::from_fn(3, 4, |i, j| (i * 4 + j) as f64 * 0.25 - 1.0);
        let b = Mat::from_fn(4, 2, |i, j| (i + 2 * j) as f64 * 0.5);
        let want = naive(&a, &b, false, false);
        let mut c = Mat::<f64>::full(3, 2, f64::NAN);
        gemm_scaled(
            c.as_mut(),
            a.as_ref(),
            b.as_ref(),
            false,
            false,
            false,
            0.125,
        );
        for i in 0..3 {
            for j in 0..2 {
                assert!((c[(i, j)] - 0.125 * want[(i, j)]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn a_product_per_example_is_the_product_of_each_examples_blocks() {
        // Two examples: a is 2×(3·2), b is 2×(3·2); per example a_bᵀ b_b is 3×3.
        let a = Mat::from_fn(2, 6, |i, j| (i * 6 + j) as f64 * 0.3 - 1.0);
        let b = Mat::from_fn(2, 6, |i, j| (i + 2 * j) as f64 * 0.1 + 0.5);
        let mut c = Mat::<f64>::full(3, 6, f64::NAN);
        gemm_per_example(c.as_mut(), a.as_ref(), 3, b.as_ref(), 3, true, false, 2.0);
        for e in 0..2 {
            for i in 0..3 {
                for j in 0..3 {
                    let want: f64 = (0..2).map(|l| a[(l, e * 3 + i)] * b[(l, e * 3 + j)]).sum();
                    assert!((c[(i, e * 3 + j)] - 2.0 * want).abs() < 1e-12);
                }
            }
        }
        // A shared right operand: a_b w for every example.
        let w = Mat::from_fn(3, 1, |i, _| i as f64 - 0.5);
        let mut cw = Mat::<f64>::full(2, 2, f64::NAN);
        gemm_per_example(cw.as_mut(), a.as_ref(), 3, w.as_ref(), 0, false, false, 1.0);
        for e in 0..2 {
            for i in 0..2 {
                let want: f64 = (0..3).map(|l| a[(i, e * 3 + l)] * w[(l, 0)]).sum();
                assert!((cw[(i, e)] - want).abs() < 1e-12);
            }
        }
        // No examples: nothing to do.
        let mut empty = Mat::<f64>::zeros(3, 0);
        let z = Mat::<f64>::zeros(2, 0);
        gemm_per_example(
            empty.as_mut(),
            z.as_ref(),
            3,
            z.as_ref(),
            3,
            true,
            false,
            1.0,
        );
    }

    #[test]
    fn empty_inner_dimension_gives_zeros() {
        let a = Mat::<f64>::zeros(2, 0);
        let b = Mat::<f64>::zeros(0, 3);
        let mut c = Mat::<f64>::full(2, 3, f64::NAN);
        gemm(c.as_mut(), a.as_ref(), b.as_ref(), false, false, false);
        assert!((0..2).all(|i| (0..3).all(|j| c[(i, j)] == 0.0)));
    }

    #[test]
    fn policy() {
        assert_eq!(par_for(8, 8, 8), Par::Seq);
        assert_eq!(par_for(191, 192, 192), Par::Seq);
        assert_eq!(par_for(192, 192, 192), Par::rayon(0));
        assert_eq!(par_for(usize::MAX, usize::MAX, usize::MAX), Par::rayon(0));
    }
}
