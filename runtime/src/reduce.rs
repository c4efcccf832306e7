//! Reductions: sums over rows and columns, and the column-wise softmax and log-sum-exp, which
//! are computed stably by subtracting each column's maximum first.
//!
//! For a column `x` with maximum `m`:
//!
//! ```text
//! softmax(x)ᵢ = exp(xᵢ - m) / ∑ₖ exp(xₖ - m)
//! log ∑ₖ exp(xₖ) = m + log ∑ₖ exp(xₖ - m)
//! ```
//!
//! Every exponent is at most 0, so nothing overflows and the largest term is exactly 1: finite
//! inputs of any magnitude give finite results.

use crate::Scalar;
use faer::{MatMut, MatRef};

/// `dst = 𝟏ᵀ src`: the sum of each column, `r × c → 1 × c`.
///
/// # Panics
/// If `dst` is not `1 × src.ncols()`.
pub fn sum_rows<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    assert!(
        dst.nrows() == 1 && dst.ncols() == src.ncols(),
        "sum_rows: dst {}×{} for src {}×{}",
        dst.nrows(),
        dst.ncols(),
        src.nrows(),
        src.ncols()
    );
    for j in 0..src.ncols() {
        let mut s = T::ZERO;
        for i in 0..src.nrows() {
            s += src[(i, j)];
        }
        dst[(0, j)] = s;
    }
}

/// `dst = src 𝟏`: the sum of each row, `r × c → r × 1` (over the batch for a `r × B` value).
///
/// # Panics
/// If `dst` is not `src.nrows() × 1`.
pub fn sum_cols<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    assert!(
        dst.nrows() == src.nrows() && dst.ncols() == 1,
        "sum_cols: dst {}×{} for src {}×{}",
        dst.nrows(),
        dst.ncols(),
        src.nrows(),
        src.ncols()
    );
    for i in 0..src.nrows() {
        dst[(i, 0)] = T::ZERO;
    }
    for j in 0..src.ncols() {
        for i in 0..src.nrows() {
            dst[(i, 0)] += src[(i, j)];
        }
    }
}

/// The maximum of column `j` (`-∞` for an empty column; NaN if any entry is NaN).
fn col_max<T: Scalar>(src: MatRef<'_, T>, j: usize) -> T {
    let mut m = T::NEG_INFINITY;
    for i in 0..src.nrows() {
        let x = src[(i, j)];
        if x > m || x.is_nan() {
            m = x;
            if x.is_nan() {
                break;
            }
        }
    }
    m
}

/// Column-wise softmax: `dst[:, j] = exp(src[:, j] - m) / ∑ exp(src[:, j] - m)` with `m` the
/// column's maximum. Each output column is a probability vector for finite input; a column
/// containing NaN or `±∞` gives NaN.
///
/// # Panics
/// If `dst` and `src` differ in shape.
pub fn softmax_cols<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    assert!(
        dst.nrows() == src.nrows() && dst.ncols() == src.ncols(),
        "softmax_cols: dst {}×{} for src {}×{}",
        dst.nrows(),
        dst.ncols(),
        src.nrows(),
        src.ncols()
    );
    for j in 0..src.ncols() {
        let m = col_max(src, j);
        let mut s = T::ZERO;
        for i in 0..src.nrows() {
            let e = (src[(i, j)] - m).exp();
            dst[(i, j)] = e;
            s += e;
        }
        let inv = T::ONE / s;
        for i in 0..src.nrows() {
            dst[(i, j)] *= inv;
        }
    }
}

/// Column-wise log-sum-exp: `dst[0, j] = m + log ∑ᵢ exp(src[i, j] - m)` with `m` the column's
/// maximum, `r × c → 1 × c`. A column whose maximum is `±∞` gives `±∞` (an empty column
/// `-∞`, the log of an empty sum); NaN gives NaN.
///
/// # Panics
/// If `dst` is not `1 × src.ncols()`.
pub fn logsumexp_cols<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    assert!(
        dst.nrows() == 1 && dst.ncols() == src.ncols(),
        "logsumexp_cols: dst {}×{} for src {}×{}",
        dst.nrows(),
        dst.ncols(),
        src.nrows(),
        src.ncols()
    );
    for j in 0..src.ncols() {
        let m = col_max(src, j);
        dst[(0, j)] = if m.is_finite() {
            let mut s = T::ZERO;
            for i in 0..src.nrows() {
                s += (src[(i, j)] - m).exp();
            }
            m + s.ln()
        } else {
            m
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn sums() {
        let x = Mat::from_fn(2, 3, |i, j| (i * 3 + j) as f64);
        let mut r = Mat::zeros(1, 3);
        sum_rows(r.as_mut(), x.as_ref());
        assert_eq!([r[(0, 0)], r[(0, 1)], r[(0, 2)]], [3.0, 5.0, 7.0]);
        let mut c = Mat::full(2, 1, f64::NAN);
        sum_cols(c.as_mut(), x.as_ref());
        assert_eq!([c[(0, 0)], c[(1, 0)]], [3.0, 12.0]);
    }

    #[test]
    fn softmax_and_logsumexp_are_stable() {
        let x = Mat::from_fn(3, 2, |i, j| 1000.0 * (j as f64 * 2.0 - 1.0) + i as f64);
        let mut p = Mat::zeros(3, 2);
        softmax_cols(p.as_mut(), x.as_ref());
        let mut l = Mat::zeros(1, 2);
        logsumexp_cols(l.as_mut(), x.as_ref());
        let z: f64 = (0..3).map(|i| (i as f64).exp()).sum();
        for j in 0..2 {
            for i in 0..3 {
                assert!((p[(i, j)] - (i as f64).exp() / z).abs() < 1e-15);
            }
            assert!((l[(0, j)] - (x[(0, j)] + z.ln())).abs() < 1e-12);
        }
        let inf = Mat::from_fn(2, 1, |i, _| if i == 0 { f64::NEG_INFINITY } else { 2.0 });
        let mut l = Mat::zeros(1, 1);
        logsumexp_cols(l.as_mut(), inf.as_ref());
        assert_eq!(l[(0, 0)], 2.0);
        let empty = Mat::<f64>::zeros(0, 1);
        logsumexp_cols(l.as_mut(), empty.as_ref());
        assert_eq!(l[(0, 0)], f64::NEG_INFINITY);
    }
}
