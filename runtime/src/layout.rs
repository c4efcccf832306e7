//! Moving entries without arithmetic: broadcasting `1`-sized dimensions and placing a row into
//! an otherwise zero matrix. (Transposes and row selection are faer views: `a.transpose()`,
//! `a.subrows(k, 1)`; copy them with `dst.copy_from(view)`.)

use crate::Scalar;
use faer::{MatMut, MatRef};

/// `dst[i, j] = src[i', j']` where `i' = 0` if `src` has one row and `i` otherwise (likewise
/// `j'`): repeats a `1`-sized dimension — a bias `D × 1` to `D × B`, a scalar `1 × 1` to
/// anything, a row `1 × c` to `r × c`, a column per example `D × B` to each of the example's
/// `N` columns `D × NB`.
///
/// # Panics
/// If a dimension of `src` is neither `1` nor that of `dst`.
pub fn broadcast<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    let (r, c) = (dst.nrows(), dst.ncols());
    let rows_ok = src.nrows() == r || src.nrows() == 1;
    let cols_ok = src.ncols() >= 1 && c.is_multiple_of(src.ncols());
    assert!(
        rows_ok && cols_ok,
        "broadcast: {}×{} to {r}×{c}",
        src.nrows(),
        src.ncols()
    );
    // Each source column fills `per` consecutive columns: all of them (a bias), one (the
    // same shape), or one example's (a value per example over its columns).
    let per = c / src.ncols();
    let row_of = |i: usize| if src.nrows() == 1 { 0 } else { i };
    for j in 0..c {
        for i in 0..r {
            dst[(i, j)] = src[(row_of(i), j / per)];
        }
    }
}

/// `dst = 0` except row `k`, which is `src` (`1 × c`): the transpose of taking row `k`.
///
/// # Panics
/// If `src` is not `1 × dst.ncols()` or `k ≥ dst.nrows()`.
pub fn place_row<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>, k: usize) {
    assert!(
        src.nrows() == 1 && src.ncols() == dst.ncols() && k < dst.nrows(),
        "place_row: {}×{} at row {k} of {}×{}",
        src.nrows(),
        src.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    dst.fill(T::ZERO);
    dst.subrows_mut(k, 1).copy_from(src);
}

/// Per example, the transpose of its block: `src` is `r × (n·B)`, `dst` is `n × (r·B)`, and
/// `dst[j, b·r + i] = src[i, b·n + j]`.
///
/// # Panics
/// If `dst` is not `n × (r·B)` for `src` in blocks of `n` columns.
pub fn transpose_per_example<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>, n: usize) {
    let r = src.nrows();
    assert!(
        n > 0
            && src.ncols().is_multiple_of(n)
            && dst.nrows() == n
            && dst.ncols() == src.ncols() / n * r,
        "transpose_per_example: {}×{} in blocks of {n} columns into {}×{}",
        r,
        src.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    for b in 0..src.ncols() / n {
        for i in 0..r {
            for j in 0..n {
                dst[(j, b * r + i)] = src[(i, b * n + j)];
            }
        }
    }
}

/// Column `k` of each example's block: `src` is `r × (n·B)`, `dst` is `r × B`, and
/// `dst[:, b] = src[:, b·n + k]`.
///
/// # Panics
/// If `k ≥ n` or `dst` is not `r × B` for `src` in blocks of `n` columns.
pub fn example_col<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>, k: usize, n: usize) {
    assert!(
        k < n && dst.nrows() == src.nrows() && src.ncols() == n * dst.ncols(),
        "example_col: column {k} of {}×{} in blocks of {n} into {}×{}",
        src.nrows(),
        src.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    for b in 0..dst.ncols() {
        dst.as_mut().col_mut(b).copy_from(src.col(b * n + k));
    }
}

/// `dst = 0` except column `k` of each example's block, which is that example's column of
/// `src` (`r × B`): the transpose of [`example_col`].
///
/// # Panics
/// If `k ≥ n` or `dst` is not `r × (n·B)` for `src` `r × B`.
pub fn place_example_col<T: Scalar>(
    mut dst: MatMut<'_, T>,
    src: MatRef<'_, T>,
    k: usize,
    n: usize,
) {
    assert!(
        k < n && dst.nrows() == src.nrows() && dst.ncols() == n * src.ncols(),
        "place_example_col: {}×{} at column {k} of blocks of {n} in {}×{}",
        src.nrows(),
        src.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    dst.fill(T::ZERO);
    for b in 0..src.ncols() {
        dst.as_mut().col_mut(b * n + k).copy_from(src.col(b));
    }
}

/// Every example's block is `src`: `src` is `r × n`, `dst` is `r × (n·B)` (the transpose
/// of `reduce::sum_examples`).
///
/// # Panics
/// If `dst` is not `src.nrows() × n·B`.
pub fn tile_examples<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    let n = src.ncols();
    assert!(
        dst.nrows() == src.nrows() && n > 0 && dst.ncols().is_multiple_of(n),
        "tile_examples: {}×{} into {}×{}",
        src.nrows(),
        n,
        dst.nrows(),
        dst.ncols()
    );
    for b in 0..dst.ncols() / n {
        dst.as_mut().subcols_mut(b * n, n).copy_from(src);
    }
}

/// Rows `start … start + src.nrows() - 1` of `dst` = `src`: one block of a row
/// concatenation `[A; B; …]` (eq. 12.12's heads stacked), the blocks written in turn.
///
/// # Panics
/// If `src` does not fit in `dst` at row `start` or has another column count.
pub fn put_rows<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>, start: usize) {
    assert!(
        src.ncols() == dst.ncols() && start + src.nrows() <= dst.nrows(),
        "put_rows: {}×{} at row {start} of {}×{}",
        src.nrows(),
        src.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    dst.as_mut().subrows_mut(start, src.nrows()).copy_from(src);
}

/// `dst` = `src`'s numbers in the same column-major order (each example's block of a
/// matrix per example is contiguous, so a whole batch reshapes at once): `vec[P]` of a
/// matrix per example `r × (n·B)` is `rn × B`, column by column.
///
/// # Panics
/// If the two hold different numbers of entries.
pub fn reshape<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    let (r, c, sr) = (dst.nrows(), dst.ncols(), src.nrows());
    assert!(
        r * c == sr * src.ncols() && sr > 0,
        "reshape: {sr}×{} to {r}×{c}",
        src.ncols()
    );
    for j in 0..c {
        for i in 0..r {
            let k = j * r + i;
            dst[(i, j)] = src[(k % sr, k / sr)];
        }
    }
}

/// Each column of `src` (`n × B`) as the diagonal of a matrix: `dst` is `n × (n·B)`, example
/// `b`'s block `diag[src[:, b]]`, zero off the diagonal (`diag[A 𝟏]`, the degree matrix of
/// eq. 13.18; a fixed `n × 1` gives one `n × n` matrix).
///
/// # Panics
/// If `dst` is not `n × (n·B)`.
pub fn diag<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    let n = src.nrows();
    assert!(
        dst.nrows() == n && dst.ncols() == n * src.ncols(),
        "diag: {}×{} into {}×{}",
        n,
        src.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    dst.fill(T::ZERO);
    for b in 0..src.ncols() {
        for i in 0..n {
            dst[(i, b * n + i)] = src[(i, b)];
        }
    }
}

/// The diagonal of each example's square block: `src` is `n × (n·B)`, `dst` is `n × B`,
/// `dst[i, b] = src[i, b·n + i]` (the transpose of [`diag`]).
///
/// # Panics
/// If `src` is not `n × (n·B)` for `dst` `n × B`.
pub fn diag_part<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>) {
    let n = dst.nrows();
    assert!(
        src.nrows() == n && src.ncols() == n * dst.ncols(),
        "diag_part: {}×{} into {}×{}",
        src.nrows(),
        src.ncols(),
        n,
        dst.ncols()
    );
    for b in 0..dst.ncols() {
        for i in 0..n {
            dst[(i, b)] = src[(i, b * n + i)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Two 2×3 matrices per example to two columns of 6, column by column, and back.
    #[test]
    fn reshape_column_by_column() {
        let x = Mat::from_fn(2, 6, |i, j| (10 * i + j) as f64);
        let mut v = Mat::<f64>::zeros(6, 2);
        reshape(v.as_mut(), x.as_ref());
        let want = [0.0, 10.0, 1.0, 11.0, 2.0, 12.0];
        for b in 0..2 {
            for k in 0..6 {
                assert_eq!(v[(k, b)], want[k] + 3.0 * b as f64);
            }
        }
        let mut back = Mat::<f64>::zeros(2, 6);
        reshape(back.as_mut(), v.as_ref());
        assert_eq!(back, x);
    }

    #[test]
    fn puts_blocks_of_rows_and_slices_them_back() {
        let a = Mat::from_fn(2, 3, |i, j| (10 * i + j) as f64);
        let b = Mat::from_fn(1, 3, |_, j| 100.0 + j as f64);
        let mut d = Mat::full(3, 3, f64::NAN);
        put_rows(d.as_mut(), a.as_ref(), 0);
        put_rows(d.as_mut(), b.as_ref(), 2);
        for j in 0..3 {
            assert_eq!(
                [d[(0, j)], d[(1, j)], d[(2, j)]],
                [a[(0, j)], a[(1, j)], b[(0, j)]]
            );
        }
        assert_eq!(d.as_ref().subrows(2, 1), b.as_ref());
    }

    #[test]
    fn broadcasts_each_one_sized_dimension() {
        let col = Mat::from_fn(2, 1, |i, _| i as f64 + 1.0);
        let mut d = Mat::zeros(2, 3);
        broadcast(d.as_mut(), col.as_ref());
        assert!((0..3).all(|j| d[(0, j)] == 1.0 && d[(1, j)] == 2.0));
        let row = Mat::from_fn(1, 3, |_, j| j as f64);
        broadcast(d.as_mut(), row.as_ref());
        assert!((0..3).all(|j| d[(0, j)] == j as f64 && d[(1, j)] == j as f64));
        let s = Mat::full(1, 1, 7.0);
        broadcast(d.as_mut(), s.as_ref());
        assert!((0..3).all(|j| d[(0, j)] == 7.0 && d[(1, j)] == 7.0));
    }

    #[test]
    fn transposes_each_examples_block() {
        // Two examples of 2×3: into two examples of 3×2.
        let x = Mat::from_fn(2, 6, |i, j| (10 * i + j) as f64);
        let mut d = Mat::full(3, 4, f64::NAN);
        transpose_per_example(d.as_mut(), x.as_ref(), 3);
        for b in 0..2 {
            for i in 0..2 {
                for j in 0..3 {
                    assert_eq!(d[(j, b * 2 + i)], x[(i, b * 3 + j)]);
                }
            }
        }
    }

    #[test]
    fn takes_and_places_a_column_of_each_example() {
        // Two examples of 2×3; column 1 of each.
        let x = Mat::from_fn(2, 6, |i, j| (10 * i + j) as f64);
        let mut c = Mat::full(2, 2, f64::NAN);
        example_col(c.as_mut(), x.as_ref(), 1, 3);
        assert_eq!(
            [c[(0, 0)], c[(1, 0)], c[(0, 1)], c[(1, 1)]],
            [1.0, 11.0, 4.0, 14.0]
        );
        let mut p = Mat::full(2, 6, f64::NAN);
        place_example_col(p.as_mut(), c.as_ref(), 1, 3);
        for j in 0..6 {
            for i in 0..2 {
                let want = if j % 3 == 1 { x[(i, j)] } else { 0.0 };
                assert_eq!(p[(i, j)], want);
            }
        }
    }

    #[test]
    fn tiles_and_sums_the_examples_blocks() {
        let m = Mat::from_fn(2, 3, |i, j| (10 * i + j) as f64);
        let mut t = Mat::full(2, 6, f64::NAN);
        tile_examples(t.as_mut(), m.as_ref());
        assert!((0..6).all(|j| (0..2).all(|i| t[(i, j)] == m[(i, j % 3)])));
        let mut s = Mat::full(2, 3, f64::NAN);
        crate::reduce::sum_examples(s.as_mut(), t.as_ref());
        assert!((0..3).all(|j| (0..2).all(|i| s[(i, j)] == 2.0 * m[(i, j)])));
    }

    #[test]
    fn makes_and_reads_a_diagonal_per_example() {
        let v = Mat::from_fn(3, 2, |i, b| (10 * b + i + 1) as f64);
        let mut d = Mat::full(3, 6, f64::NAN);
        diag(d.as_mut(), v.as_ref());
        for j in 0..6 {
            for i in 0..3 {
                let want = if j % 3 == i { v[(i, j / 3)] } else { 0.0 };
                assert_eq!(d[(i, j)], want);
            }
        }
        let mut back = Mat::full(3, 2, f64::NAN);
        diag_part(back.as_mut(), d.as_ref());
        assert_eq!(back, v);
    }

    #[test]
    fn places_a_row() {
        let g = Mat::from_fn(1, 2, |_, j| j as f64 + 1.0);
        let mut d = Mat::full(3, 2, f64::NAN);
        place_row(d.as_mut(), g.as_ref(), 1);
        assert_eq!(
            [d[(0, 0)], d[(1, 0)], d[(1, 1)], d[(2, 1)]],
            [0.0, 1.0, 2.0, 0.0]
        );
    }
}
