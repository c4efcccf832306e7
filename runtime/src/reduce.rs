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

/// Independent partial results per reduction: a single floating-point accumulator is a chain
/// the compiler may not reorder, `LANES` of them are a vector it can use.
const LANES: usize = 8;

/// `∑ x`, accumulated in [`LANES`] partial sums (pairwise combined), then the tail.
#[inline]
fn sum_slice<T: Scalar>(x: &[T]) -> T {
    let (chunks, tail) = x.as_chunks::<LANES>();
    let mut acc = [T::ZERO; LANES];
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    combine(acc) + tail.iter().fold(T::ZERO, |s, &x| s + x)
}

/// The sum of the lanes, pairwise.
#[inline]
fn combine<T: Scalar>(a: [T; LANES]) -> T {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// The maximum of `x`, ignoring NaN (`-∞` if `x` is empty or all NaN).
#[inline]
fn max_slice<T: Scalar>(x: &[T]) -> T {
    let (chunks, tail) = x.as_chunks::<LANES>();
    let mut acc = [T::NEG_INFINITY; LANES];
    for c in chunks {
        for l in 0..LANES {
            // A select, not `max`: `x > m` is false for NaN, so NaN is skipped.
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    let mut m = T::NEG_INFINITY;
    for &x in acc.iter().chain(tail) {
        m = if x > m { x } else { m };
    }
    m
}

/// Softmax of one contiguous column: `dst = exp(src - max) / ∑ exp(src - max)`.
#[inline]
fn softmax_slice<T: Scalar>(dst: &mut [T], src: &[T]) {
    let dst = &mut dst[..src.len()];
    // NaN entries are skipped here but make the sum, hence every entry, NaN.
    let m = max_slice(src);
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = (x - m).exp();
    }
    let inv = T::ONE / sum_slice(dst);
    for d in dst.iter_mut() {
        *d *= inv;
    }
}

/// How many exponentials [`logsumexp_slice`] computes into a stack buffer before summing them.
const BLOCK: usize = 64;

/// Log-sum-exp of one contiguous column: `m + log ∑ exp(src - m)` with `m` its maximum.
#[inline]
fn logsumexp_slice<T: Scalar>(src: &[T]) -> T {
    let m = max_slice(src);
    if !m.is_finite() {
        // `±∞` (empty: `-∞`), unless there is a NaN, which the maximum skipped.
        return src.iter().copied().find(|x| x.is_nan()).unwrap_or(m);
    }
    // The exponentials go through a small buffer so that their loop and the sum's each
    // vectorise.
    let mut buf = [T::ZERO; BLOCK];
    let mut s = T::ZERO;
    for block in src.chunks(BLOCK) {
        let buf = &mut buf[..block.len()];
        for (e, &x) in buf.iter_mut().zip(block) {
            *e = (x - m).exp();
        }
        s += sum_slice(buf);
    }
    m + s.ln()
}

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
    if let Some(src) = src.try_as_col_major() {
        for j in 0..src.ncols() {
            dst[(0, j)] = sum_slice(src.col(j).as_slice());
        }
        return;
    }
    for j in 0..src.ncols() {
        let mut s = T::ZERO;
        for i in 0..src.nrows() {
            s += src[(i, j)];
        }
        dst[(0, j)] = s;
    }
}

/// Per example, the sum of its `n` columns: `r × nB → r × B` (`X 𝟏` for a matrix `X` per
/// example, whose columns are side by side, example by example).
///
/// # Panics
/// If `src` does not have `n` columns per column of `dst`, or the rows differ.
pub fn sum_example_cols<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>, n: usize) {
    assert!(
        dst.nrows() == src.nrows() && src.ncols() == n * dst.ncols(),
        "sum_example_cols: dst {}×{} for src {}×{} with {n} columns per example",
        dst.nrows(),
        dst.ncols(),
        src.nrows(),
        src.ncols()
    );
    for b in 0..dst.ncols() {
        for i in 0..src.nrows() {
            let mut s = T::ZERO;
            for k in 0..n {
                s += src[(i, b * n + k)];
            }
            dst[(i, b)] = s;
        }
    }
}

/// The sum of the examples' blocks: `src` is `r × (n·B)`, `dst` is `r × n`, and
/// `dst[:, j] = ∑_b src[:, b·n + j]` (`∑_i X_i` of a matrix per example).
///
/// # Panics
/// If `dst` is not `src.nrows() × n` with `src` a whole number of blocks of `n` columns.
pub fn sum_examples<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    let n = dst.ncols();
    assert!(
        dst.nrows() == src.nrows() && n > 0 && src.ncols().is_multiple_of(n),
        "sum_examples: dst {}×{} for src {}×{}",
        dst.nrows(),
        dst.ncols(),
        src.nrows(),
        src.ncols()
    );
    dst.fill(T::ZERO);
    for b in 0..src.ncols() / n {
        for j in 0..n {
            for i in 0..src.nrows() {
                dst[(i, j)] += src[(i, b * n + j)];
            }
        }
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
    if let (Some(src), Some(dst)) = (src.try_as_col_major(), dst.as_mut().try_as_col_major_mut()) {
        let dst = dst.col_mut(0).as_slice_mut();
        dst.fill(T::ZERO);
        for j in 0..src.ncols() {
            let col = &src.col(j).as_slice()[..dst.len()];
            for (d, &x) in dst.iter_mut().zip(col) {
                *d += x;
            }
        }
        return;
    }
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
/// column's maximum. Each output column is a probability vector for finite input (`-∞`
/// entries give `0` if the column has a finite entry); a column containing NaN or `+∞`, or
/// only `-∞`, gives NaN.
///
/// Column-major operands (unit row stride, as every owned `Mat`) are processed as slices in
/// vectorised passes; other views element by element.
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
    if let (Some(src), Some(mut dst)) =
        (src.try_as_col_major(), dst.as_mut().try_as_col_major_mut())
    {
        for j in 0..src.ncols() {
            softmax_slice(
                dst.as_mut().col_mut(j).as_slice_mut(),
                src.col(j).as_slice(),
            );
        }
        return;
    }
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

/// Column-wise softmax restricted to the entries where `mask` is not zero (`Softmask[S, M]`,
/// eq. 13.24): `dst[i, j] = exp(src[i, j] - m) / ∑_{i': mask ≠ 0} exp(src[i', j] - m)` where
/// `mask[i, j] ≠ 0`, with `m` the maximum over those entries, and exactly `0` elsewhere,
/// whatever `src` holds there. A column with no entry allowed is all zeros. `mask` is
/// `src`'s shape, or one example's block `r × n` of a `src` of `r × (n·B)` (column `j` of
/// `src` reads column `j mod n` of `mask`: a causal mask shared by every example).
///
/// # Panics
/// If `dst` and `src` differ in shape, or `mask`'s rows or columns do not fit.
pub fn softmask_cols<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>, mask: MatRef<'_, T>) {
    let (r, c) = (src.nrows(), src.ncols());
    assert!(
        dst.nrows() == r
            && dst.ncols() == c
            && mask.nrows() == r
            && mask.ncols() > 0
            && c.is_multiple_of(mask.ncols()),
        "softmask_cols: dst {}×{} for src {r}×{c} and mask {}×{}",
        dst.nrows(),
        dst.ncols(),
        mask.nrows(),
        mask.ncols()
    );
    let n = mask.ncols();
    for j in 0..c {
        let allowed = |i: usize| mask[(i, j % n)] != T::ZERO;
        let mut m = T::NEG_INFINITY;
        for i in (0..r).filter(|&i| allowed(i)) {
            let x = src[(i, j)];
            if x > m || x.is_nan() {
                m = x;
                if x.is_nan() {
                    break;
                }
            }
        }
        let mut s = T::ZERO;
        for i in 0..r {
            let e = if allowed(i) {
                (src[(i, j)] - m).exp()
            } else {
                T::ZERO
            };
            dst[(i, j)] = e;
            s += e;
        }
        if s == T::ZERO {
            continue;
        }
        let inv = T::ONE / s;
        for i in 0..r {
            dst[(i, j)] *= inv;
        }
    }
}

/// Column-wise log-sum-exp: `dst[0, j] = m + log ∑ᵢ exp(src[i, j] - m)` with `m` the column's
/// maximum, `r × c → 1 × c`. A column whose maximum is `±∞` gives `±∞` (an empty column
/// `-∞`, the log of an empty sum); NaN gives NaN.
///
/// Column-major `src` is processed as slices in vectorised passes; other views element by
/// element.
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
    if let Some(src) = src.try_as_col_major() {
        for j in 0..src.ncols() {
            dst[(0, j)] = logsumexp_slice(src.col(j).as_slice());
        }
        return;
    }
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
    fn softmask_is_a_softmax_over_the_allowed_entries() {
        // Two examples of 3×3 scores, one causal mask: entry (i, j) allowed for i ≤ j.
        let s = Mat::from_fn(3, 6, |i, j| {
            (i as f64) - 0.5 * j as f64 + 1e3 * f64::from(u8::from(i == 2))
        });
        let mask = Mat::from_fn(3, 3, |i, j| f64::from(u8::from(i <= j)));
        let mut p = Mat::full(3, 6, f64::NAN);
        softmask_cols(p.as_mut(), s.as_ref(), mask.as_ref());
        for j in 0..6 {
            let k = j % 3;
            let z: f64 = (0..=k).map(|i| s[(i, j)].exp()).sum();
            for i in 0..3 {
                let want = if i <= k { (s[(i, j)]).exp() / z } else { 0.0 };
                if i <= k && k < 2 {
                    assert!((p[(i, j)] - want).abs() < 1e-15, "{i} {j}");
                }
                if i > k {
                    assert_eq!(p[(i, j)], 0.0);
                }
            }
            let total: f64 = (0..3).map(|i| p[(i, j)]).sum();
            assert!((total - 1.0).abs() < 1e-15);
        }
        // A column with nothing allowed is zero; a NaN where masked is ignored.
        let s = Mat::from_fn(2, 2, |i, _| if i == 1 { f64::NAN } else { 0.3 });
        let mask = Mat::from_fn(2, 2, |i, j| f64::from(u8::from(i == 0 && j == 0)));
        let mut p = Mat::full(2, 2, f64::NAN);
        softmask_cols(p.as_mut(), s.as_ref(), mask.as_ref());
        assert_eq!(
            [p[(0, 0)], p[(1, 0)], p[(0, 1)], p[(1, 1)]],
            [1.0, 0.0, 0.0, 0.0]
        );
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

    /// Naive stable softmax of a column, in `f64` with the standard library's `exp`.
    fn naive_softmax(x: &[f64]) -> Vec<f64> {
        let m = if x.iter().any(|v| v.is_nan()) {
            f64::NAN
        } else {
            x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v))
        };
        let e: Vec<f64> = x.iter().map(|&v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|&v| v / s).collect()
    }

    /// Naive log-sum-exp of a column, in `f64` with the standard library's `exp`.
    fn naive_logsumexp(x: &[f64]) -> f64 {
        if x.iter().any(|v| v.is_nan()) {
            return f64::NAN;
        }
        let m = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        if !m.is_finite() {
            return m;
        }
        m + x.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
    }

    /// `got` is `want` within `tol`, relative to `max(1, |want|)`, or both are NaN, or both are
    /// the same infinity.
    fn close(got: f64, want: f64, tol: f64) -> bool {
        if want.is_nan() || got.is_nan() {
            return want.is_nan() && got.is_nan();
        }
        if want.is_infinite() || got.is_infinite() {
            return got == want;
        }
        (got - want).abs() <= tol * want.abs().max(1.0)
    }

    /// Checks the kernels against the naive versions on every column of `x`, contiguous and
    /// through a non-contiguous view (the same matrix stored transposed).
    fn check<T: Scalar>(x: &Mat<T>, tol: f64) {
        let (r, c) = (x.nrows(), x.ncols());
        let xt = Mat::from_fn(c, r, |i, j| x[(j, i)]);
        let mut p = Mat::<T>::zeros(r, c);
        let mut l = Mat::<T>::zeros(1, c);
        let mut pt = Mat::<T>::zeros(c, r);
        for strided in [false, true] {
            let src = if strided {
                xt.as_ref().transpose()
            } else {
                x.as_ref()
            };
            if strided {
                softmax_cols(pt.as_mut().transpose_mut(), src);
            } else {
                softmax_cols(p.as_mut(), src);
            }
            logsumexp_cols(l.as_mut(), src);
            for j in 0..c {
                let col: Vec<f64> = (0..r).map(|i| x[(i, j)].to_f64()).collect();
                let want = naive_softmax(&col);
                for (i, &w) in want.iter().enumerate() {
                    let got = if strided { pt[(j, i)] } else { p[(i, j)] }.to_f64();
                    assert!(
                        close(got, w, tol),
                        "softmax ({strided}) [{i}, {j}]: {got} vs {w}"
                    );
                }
                let (got, want) = (l[(0, j)].to_f64(), naive_logsumexp(&col));
                assert!(
                    close(got, want, tol),
                    "logsumexp ({strided}) [{j}]: {got} vs {want}"
                );
            }
        }
    }

    /// Random columns of several lengths (below, at and above the lane and block sizes), and
    /// columns of extreme and non-finite entries.
    fn cases() -> Vec<Mat<f64>> {
        let mut rng = crate::Rng::new(7);
        let mut out = Vec::new();
        for r in [1, 2, 7, 8, 9, 63, 64, 65, 128, 200] {
            out.push(Mat::from_fn(r, 5, |_, j| {
                (rng.uniform() - 0.5) * 10f64.powi(j as i32)
            }));
        }
        let inf = f64::INFINITY;
        let cols: [&[f64]; 9] = [
            &[
                1e4,
                -1e4,
                1e4 - 1.0,
                0.0,
                -1e4 + 3.0,
                1e4,
                5.0,
                -7.0,
                1e4 - 0.5,
            ],
            &[
                -1e4,
                -1e4,
                -1e4 + 1.0,
                -1e4 - 20.0,
                -1e4,
                -1e4,
                -1e4,
                -1e4,
                -1e4 + 2.0,
            ],
            &[-inf, 2.0, -inf, -inf, 1.0, -inf, -inf, -inf, 0.5],
            &[-inf; 9],
            &[1.0, 2.0, f64::NAN, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            &[1.0, 2.0, inf, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            &[1.0, inf, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, f64::NAN],
            &[f64::NAN; 9],
            &[
                -100.0, -100.0, -100.0, -100.0, -100.0, -100.0, -100.0, -100.0, -10.0,
            ],
        ];
        out.push(Mat::from_fn(9, cols.len(), |i, j| cols[j][i]));
        // A single row, no columns, no rows.
        out.push(Mat::from_fn(1, 4, |_, j| [3.0, -1e4, -inf, inf][j]));
        out.push(Mat::zeros(6, 0));
        out.push(Mat::zeros(0, 3));
        out
    }

    #[test]
    fn softmax_and_logsumexp_match_naive_f64() {
        for x in cases() {
            check(&x, 1e-14);
        }
    }

    #[test]
    fn softmax_and_logsumexp_match_naive_f32() {
        for x in cases() {
            check(
                &Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] as f32),
                1e-6,
            );
        }
    }

    #[test]
    fn sums_match_naive_contiguous_and_strided() {
        let mut rng = crate::Rng::new(3);
        for (r, c) in [(1, 1), (5, 3), (8, 2), (17, 4), (100, 9), (0, 3), (4, 0)] {
            let x = Mat::from_fn(r, c, |_, _| rng.uniform() - 0.5);
            let xt = Mat::from_fn(c, r, |i, j| x[(j, i)]);
            for src in [x.as_ref(), xt.as_ref().transpose()] {
                let mut rows = Mat::full(1, c, f64::NAN);
                sum_rows(rows.as_mut(), src);
                let mut cols = Mat::full(r, 1, f64::NAN);
                sum_cols(cols.as_mut(), src);
                for j in 0..c {
                    let want: f64 = (0..r).map(|i| x[(i, j)]).sum();
                    assert!(close(rows[(0, j)], want, 1e-14));
                }
                for i in 0..r {
                    let want: f64 = (0..c).map(|j| x[(i, j)]).sum();
                    assert!(close(cols[(i, 0)], want, 1e-14));
                }
            }
        }
    }
}
