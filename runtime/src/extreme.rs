//! The element-wise maximum and minimum of two values, `max[a, b]` and `min[a, b]`, and the
//! two parts of their gradient: [`pick`] (`ha` where `xa` is kept against `xb`, `hb`
//! elsewhere; `max[a, b]` is `pick(a, b, a, b)`) and [`place`] (the cotangent where one side
//! was kept, zero elsewhere). The comparison is [`Extreme::first`], the one definition
//! generated code calls too: a tie keeps the first value.
//!
//! The maximum over each node's neighbours in a graph (`MaxNe[H, A]`, eq. 13.21) has the
//! same two parts: [`max_ne_pick`] (for each node, the entries of `x` at the neighbours where
//! `h` is largest, row by row) and [`max_ne_place`] (the cotangent put back at those
//! neighbours), each the other's transpose.

use crate::Scalar;
use faer::{MatMut, MatRef};
pub use nnspec_ops::Extreme;

/// `dst = ha` where `xa` is kept against `xb` by `e`, `hb` elsewhere, entry by entry.
///
/// # Panics
/// If the five matrices differ in shape.
pub fn pick<T: Scalar>(
    mut dst: MatMut<'_, T>,
    [xa, xb]: [MatRef<'_, T>; 2],
    [ha, hb]: [MatRef<'_, T>; 2],
    e: Extreme,
) {
    let (r, c) = (dst.nrows(), dst.ncols());
    for m in [xa, xb, ha, hb] {
        assert_eq!(
            (m.nrows(), m.ncols()),
            (r, c),
            "extreme::pick: shapes differ"
        );
    }
    for j in 0..c {
        for i in 0..r {
            dst[(i, j)] = e.pick(xa[(i, j)], xb[(i, j)], ha[(i, j)], hb[(i, j)]);
        }
    }
}

/// `dst = g` where the side `second` names (the first value when `false`) is kept by `e`,
/// zero elsewhere: the gradient of [`pick`] with respect to that side's `h`.
///
/// # Panics
/// If the four matrices differ in shape.
pub fn place<T: Scalar>(
    mut dst: MatMut<'_, T>,
    [xa, xb]: [MatRef<'_, T>; 2],
    g: MatRef<'_, T>,
    e: Extreme,
    second: bool,
) {
    let (r, c) = (dst.nrows(), dst.ncols());
    for m in [xa, xb, g] {
        assert_eq!(
            (m.nrows(), m.ncols()),
            (r, c),
            "extreme::place: shapes differ"
        );
    }
    for j in 0..c {
        for i in 0..r {
            let kept = e.first(xa[(i, j)], xb[(i, j)]) != second;
            dst[(i, j)] = if kept { g[(i, j)] } else { T::ZERO };
        }
    }
}

/// For node `n` of an example and row `d`, the neighbour `m` (`a[m, n] ≠ 0`, the index
/// within the example) where `h[d, m]` is largest, the first on a tie; `None` for a node
/// with no neighbour. `base` is the example's first column in `h`, `col` the node's column
/// in `a`.
#[inline]
fn max_ne_at<T: Scalar>(
    h: MatRef<'_, T>,
    a: MatRef<'_, T>,
    (base, col): (usize, usize),
    d: usize,
) -> Option<usize> {
    let mut best: Option<(usize, T)> = None;
    for m in 0..a.nrows() {
        if a[(m, col)] == T::ZERO {
            continue;
        }
        let v = h[(d, base + m)];
        match best {
            Some((_, b)) if Extreme::Max.first(b, v) => {}
            _ => best = Some((m, v)),
        }
    }
    best.map(|(m, _)| m)
}

/// Checks the shapes of [`max_ne_pick`] and [`max_ne_place`]: `h`, `x` and `dst` of one
/// shape `D × (N·B)`, `a` of `N × (N·B)` or `N × N`. Returns `N`.
fn max_ne_shapes<T: Scalar>(
    dst: &MatMut<'_, T>,
    h: MatRef<'_, T>,
    a: MatRef<'_, T>,
    x: MatRef<'_, T>,
) -> usize {
    let (r, c, n) = (h.nrows(), h.ncols(), a.nrows());
    assert!(
        (dst.nrows(), dst.ncols()) == (r, c)
            && (x.nrows(), x.ncols()) == (r, c)
            && n > 0
            && c.is_multiple_of(n)
            && (a.ncols() == n || a.ncols() == c),
        "max_ne: dst {}×{}, h {r}×{c}, a {n}×{}, x {}×{}",
        dst.nrows(),
        dst.ncols(),
        a.ncols(),
        x.nrows(),
        x.ncols()
    );
    n
}

/// `MaxNe[H, A]` (eq. 13.21) and its gradients' pick: `dst[d, n] = x[d, m]` for the
/// neighbour `m` of node `n` (`a[m, n] ≠ 0`, within the same example) where `h[d, m]` is
/// largest (the first in index order on a tie), and 0 for a node with no neighbour.
/// `MaxNe[H, A]` is `max_ne_pick(H, A, H)`. `h`, `x`, `dst` are `D × (N·B)`, each example's
/// `N` columns one block; `a` is `N × (N·B)`, an adjacency per example, or `N × N`, one for
/// every example.
///
/// # Panics
/// If the shapes do not fit.
pub fn max_ne_pick<T: Scalar>(
    mut dst: MatMut<'_, T>,
    h: MatRef<'_, T>,
    a: MatRef<'_, T>,
    x: MatRef<'_, T>,
) {
    let n = max_ne_shapes(&dst, h, a, x);
    for j in 0..h.ncols() {
        let at = (j - j % n, j % a.ncols());
        for d in 0..h.nrows() {
            dst[(d, j)] = match max_ne_at(h, a, at, d) {
                Some(m) => x[(d, at.0 + m)],
                None => T::ZERO,
            };
        }
    }
}

/// The transpose of [`max_ne_pick`] in its last argument: `dst[d, m] = ∑ g[d, n]` over the
/// nodes `n` whose maximiser in row `d` is `m` (zero where `m` is no node's maximiser).
///
/// # Panics
/// If the shapes do not fit.
pub fn max_ne_place<T: Scalar>(
    mut dst: MatMut<'_, T>,
    h: MatRef<'_, T>,
    a: MatRef<'_, T>,
    g: MatRef<'_, T>,
) {
    let n = max_ne_shapes(&dst, h, a, g);
    dst.fill(T::ZERO);
    for j in 0..h.ncols() {
        let at = (j - j % n, j % a.ncols());
        for d in 0..h.nrows() {
            if let Some(m) = max_ne_at(h, a, at, d) {
                dst[(d, at.0 + m)] += g[(d, j)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn pick_and_place_agree_with_naive_loops() {
        let a = Mat::from_fn(3, 4, |i, j| (i as f64 * 1.3 - j as f64 * 0.7).sin());
        let b = Mat::from_fn(
            3,
            4,
            |i, j| if i == j { a[(i, j)] } else { (j as f64).cos() },
        );
        let g = Mat::from_fn(3, 4, |i, j| 1.0 + i as f64 + 10.0 * j as f64);
        for e in [Extreme::Max, Extreme::Min] {
            let mut p = Mat::<f64>::zeros(3, 4);
            pick(
                p.as_mut(),
                [a.as_ref(), b.as_ref()],
                [a.as_ref(), b.as_ref()],
                e,
            );
            let mut first = Mat::<f64>::zeros(3, 4);
            let mut second = Mat::<f64>::zeros(3, 4);
            place(
                first.as_mut(),
                [a.as_ref(), b.as_ref()],
                g.as_ref(),
                e,
                false,
            );
            place(
                second.as_mut(),
                [a.as_ref(), b.as_ref()],
                g.as_ref(),
                e,
                true,
            );
            for i in 0..3 {
                for j in 0..4 {
                    let (x, y) = (a[(i, j)], b[(i, j)]);
                    let want = if e == Extreme::Max {
                        x.max(y)
                    } else {
                        x.min(y)
                    };
                    assert_eq!(p[(i, j)], want);
                    // A tie (the diagonal) goes to the first value.
                    let to_first = if e == Extreme::Max { x >= y } else { x <= y };
                    let (f, s) = if to_first {
                        (g[(i, j)], 0.0)
                    } else {
                        (0.0, g[(i, j)])
                    };
                    assert_eq!((first[(i, j)], second[(i, j)]), (f, s), "{e:?} at {i},{j}");
                }
            }
        }
    }

    /// `max_ne_pick` and `max_ne_place` against naive loops, on two examples of three nodes
    /// (a per-example adjacency with a node without neighbours, and one shared by both).
    #[test]
    fn max_ne_agrees_with_naive_loops() {
        let (d, n, b) = (2, 3, 2);
        let h = Mat::from_fn(d, n * b, |i, j| ((i * 7 + j * 3) as f64 * 0.9).sin());
        let x = Mat::from_fn(d, n * b, |i, j| 1.0 + i as f64 + 10.0 * j as f64);
        // Example 0: edges 0–1, 1–2; example 1: edges 0–2, node 1 alone.
        let edges = [[(0, 1), (1, 2)], [(0, 2), (2, 0)]];
        let per = Mat::from_fn(n, n * b, |m, j| {
            let (e, k) = (j / n, j % n);
            let on = edges[e]
                .iter()
                .any(|&(p, q)| (p, q) == (m, k) || (q, p) == (m, k));
            if on { 1.0 } else { 0.0 }
        });
        let shared = Mat::from_fn(n, n, |m, k| if m != k { 1.0 } else { 0.0 });
        for a in [per.as_ref(), shared.as_ref()] {
            let mut p = Mat::<f64>::zeros(d, n * b);
            max_ne_pick(p.as_mut(), h.as_ref(), a, x.as_ref());
            let mut back = Mat::<f64>::zeros(d, n * b);
            max_ne_place(back.as_mut(), h.as_ref(), a, x.as_ref());
            let mut want_back = Mat::<f64>::zeros(d, n * b);
            for e in 0..b {
                for k in 0..n {
                    for i in 0..d {
                        let col = if a.ncols() == n { k } else { e * n + k };
                        let ne: Vec<usize> = (0..n).filter(|&m| a[(m, col)] != 0.0).collect();
                        let best =
                            ne.iter()
                                .copied()
                                .fold(None, |acc: Option<usize>, m| match acc {
                                    Some(q) if h[(i, e * n + q)] >= h[(i, e * n + m)] => Some(q),
                                    _ => Some(m),
                                });
                        let want = best.map_or(0.0, |m| x[(i, e * n + m)]);
                        assert_eq!(p[(i, e * n + k)], want, "{i}, {e}, {k}");
                        if let Some(m) = best {
                            want_back[(i, e * n + m)] += x[(i, e * n + k)];
                        }
                    }
                }
            }
            assert_eq!(back, want_back);
        }
        // The lone node of example 1 aggregates to zero.
        let mut p = Mat::<f64>::zeros(d, n * b);
        max_ne_pick(p.as_mut(), h.as_ref(), per.as_ref(), h.as_ref());
        assert_eq!((p[(0, n + 1)], p[(1, n + 1)]), (0.0, 0.0));
    }
}
