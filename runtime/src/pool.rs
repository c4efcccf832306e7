//! 2×2 max pooling of each example's image (§10.4) and the part of its gradient that places
//! a cotangent at the maximisers. An image `H × W` per example is the matrix `H × (W·B)`,
//! `H` and `W` even, so output column `c` reads input columns `2c, 2c+1` whatever the
//! example. The maximiser of a window is the first of `(2i, 2j), (2i, 2j+1), (2i+1, 2j),
//! (2i+1, 2j+1)` (row-major) strictly larger than every earlier one: a tie goes to the
//! first. With channels in rows ([`Layout::Channels`], `C × (H·W·B)`), each channel's image
//! is pooled alone, the same windows in the same order. No allocation.

use crate::Scalar;
use faer::{MatMut, MatRef};

/// Where an example's image lies in the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One channel: the image `H × W` is the matrix per example `H × (W·B)`.
    Image,
    /// Channels in rows: the image `C × H × W` is `C × (H·W·B)`, each channel's `H × W`
    /// column-major (`i + H·(j + W·b)`); each channel is pooled alone.
    Channels {
        /// `H`.
        h: usize,
        /// `W`.
        w: usize,
    },
}

impl Layout {
    /// The four positions of window `(r, c)` of the output (row `r`, column `c`), in the
    /// window's row-major order.
    #[inline]
    fn window(self, r: usize, c: usize) -> [(usize, usize); 4] {
        match self {
            Layout::Image => [
                (2 * r, 2 * c),
                (2 * r, 2 * c + 1),
                (2 * r + 1, 2 * c),
                (2 * r + 1, 2 * c + 1),
            ],
            Layout::Channels { h, w } => ByColumn { h, w }.sources(c).map(|q| (r, q)),
        }
    }

    /// The column-by-column form of this layout's windows, if it has one.
    fn windows_by_column(self) -> Option<ByColumn> {
        match self {
            Layout::Image => None,
            Layout::Channels { h, w } => Some(ByColumn { h, w }),
        }
    }

    /// Whether `x` (`xr × xc`) pools to `pr × pc`.
    fn fits(self, (xr, xc): (usize, usize), (pr, pc): (usize, usize)) -> bool {
        match self {
            Layout::Image => xr == 2 * pr && xc == 2 * pc,
            Layout::Channels { h, w } => {
                h % 2 == 0
                    && w % 2 == 0
                    && h * w > 0
                    && xr == pr
                    && xc % (h * w) == 0
                    && pc * 4 == xc
            }
        }
    }
}

/// The position in `x` of the maximiser of window `(r, c)` of the output.
#[inline]
fn argmax<T: Scalar>(x: MatRef<'_, T>, layout: Layout, r: usize, c: usize) -> (usize, usize) {
    let w = layout.window(r, c);
    let mut best = w[0];
    for p in &w[1..] {
        if x[*p] > x[best] {
            best = *p;
        }
    }
    best
}

/// `dst[r, c] = h[argmax of x's window (r, c)]`: `MaxPool[x]` when `h` is `x`.
///
/// # Panics
/// If `x` and `h` do not pool to `dst`'s shape in this layout.
pub fn max_pool_pick<T: Scalar>(
    mut dst: MatMut<'_, T>,
    x: MatRef<'_, T>,
    h: MatRef<'_, T>,
    layout: Layout,
) {
    let (r, c) = (dst.nrows(), dst.ncols());
    assert!(
        layout.fits((x.nrows(), x.ncols()), (r, c))
            && h.nrows() == x.nrows()
            && h.ncols() == x.ncols(),
        "max_pool_pick: {}×{} and {}×{} to {r}×{c} ({layout:?})",
        x.nrows(),
        x.ncols(),
        h.nrows(),
        h.ncols()
    );
    if let Some(w) = layout.windows_by_column() {
        for j in 0..c {
            let q = w.sources(j);
            let (xs, hs) = (w.cols(x, q), w.cols(h, q));
            let d = dst.as_mut().col_mut(j).try_as_col_major_mut();
            if let (Some(xs), Some(hs), Some(d)) = (xs, hs, d) {
                let d = &mut d.as_slice_mut()[..r];
                let [x0, x1, x2, x3] = xs.map(|x| &x[..r]);
                let [h0, h1, h2, h3] = hs.map(|h| &h[..r]);
                // Selects rather than an index, so that the loop vectorises.
                for i in 0..r {
                    let (mut m, mut v) = (x0[i], h0[i]);
                    for (x, h) in [(x1[i], h1[i]), (x2[i], h2[i]), (x3[i], h3[i])] {
                        if x > m {
                            (m, v) = (x, h);
                        }
                    }
                    d[i] = v;
                }
                continue;
            }
            for i in 0..r {
                dst[(i, j)] = h[argmax(x, layout, i, j)];
            }
        }
        return;
    }
    for j in 0..c {
        for i in 0..r {
            dst[(i, j)] = h[argmax(x, layout, i, j)];
        }
    }
}

/// `dst = 0` except at the maximiser of each window of `x`, which holds `g`'s entry of that
/// window: the transpose of [`max_pool_pick`] with the same `x`.
///
/// # Panics
/// If `x` is not `dst`'s shape or does not pool to `g`'s in this layout.
pub fn max_pool_place<T: Scalar>(
    mut dst: MatMut<'_, T>,
    x: MatRef<'_, T>,
    g: MatRef<'_, T>,
    layout: Layout,
) {
    let (r, c) = (g.nrows(), g.ncols());
    assert!(
        layout.fits((x.nrows(), x.ncols()), (r, c))
            && dst.nrows() == x.nrows()
            && dst.ncols() == x.ncols(),
        "max_pool_place: {}×{} and {r}×{c} to {}×{} ({layout:?})",
        x.nrows(),
        x.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    if let Some(w) = layout.windows_by_column() {
        // The windows tile the image, so every entry of `dst` is written once.
        for j in 0..c {
            let q = w.sources(j);
            let gs = g.col(j).try_as_col_major();
            let ds = w.cols_mut(dst.as_mut(), q);
            if let (Some(xs), Some(gs), Some(ds)) = (w.cols(x, q), gs, ds) {
                let [x0, x1, x2, x3] = xs.map(|x| &x[..r]);
                let gs = &gs.as_slice()[..r];
                let [d0, d1, d2, d3] = ds.map(|d| &mut d[..r]);
                for i in 0..r {
                    let (mut m, mut k) = (x0[i], 0);
                    for (x, n) in [(x1[i], 1), (x2[i], 2), (x3[i], 3)] {
                        if x > m {
                            (m, k) = (x, n);
                        }
                    }
                    let at = |n: usize| if k == n { gs[i] } else { T::ZERO };
                    (d0[i], d1[i], d2[i], d3[i]) = (at(0), at(1), at(2), at(3));
                }
                continue;
            }
            for i in 0..r {
                for &q in &q {
                    dst[(i, q)] = T::ZERO;
                }
                dst[argmax(x, layout, i, j)] = g[(i, j)];
            }
        }
        return;
    }
    dst.fill(T::ZERO);
    for j in 0..c {
        for i in 0..r {
            dst[argmax(x, layout, i, j)] = g[(i, j)];
        }
    }
}

/// The windows of [`Layout::Channels`] column by column: output column `c`'s window is the
/// same four input columns for every channel (row), so a column's windows read four column
/// slices.
#[derive(Clone, Copy)]
struct ByColumn {
    h: usize,
    w: usize,
}

impl ByColumn {
    /// The input columns of output column `c`'s window, in the window's row-major order.
    #[inline]
    fn sources(self, c: usize) -> [usize; 4] {
        let (h2, w2) = (self.h / 2, self.w / 2);
        let (i, rest) = (c % h2, c / h2);
        let (j, b) = (rest % w2, rest / w2);
        let at = |di: usize, dj: usize| 2 * i + di + self.h * (2 * j + dj + self.w * b);
        [at(0, 0), at(0, 1), at(1, 0), at(1, 1)]
    }

    /// The four columns `q` of `m` (from [`ByColumn::sources`]: `q_0`, `q_0 + H`, `q_0 + 1`,
    /// `q_0 + H + 1`) as disjoint mutable slices, if they are contiguous.
    fn cols_mut<'a, T: Scalar>(self, m: MatMut<'a, T>, q: [usize; 4]) -> Option<[&'a mut [T]; 4]> {
        let (left, right) = m.subcols_mut(q[0], self.h + 2).split_at_col_mut(self.h);
        let (a, rest) = left.split_at_col_mut(1);
        let (c, d) = right.split_at_col_mut(1);
        let b = rest.subcols_mut(0, 1);
        let s = |m: MatMut<'a, T>| {
            m.col_mut(0)
                .try_as_col_major_mut()
                .map(|c| c.as_slice_mut())
        };
        Some([s(a)?, s(c)?, s(b)?, s(d)?])
    }

    /// The four columns `q` of `m` as slices, if they are contiguous.
    #[inline]
    fn cols<'a, T: Scalar>(self, m: MatRef<'a, T>, q: [usize; 4]) -> Option<[&'a [T]; 4]> {
        let col = |k: usize| m.col(q[k]).try_as_col_major().map(|c| c.as_slice());
        Some([col(0)?, col(1)?, col(2)?, col(3)?])
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
        max_pool_pick(p.as_mut(), x.as_ref(), x.as_ref(), Layout::Image);
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
        max_pool_place(d.as_mut(), t.as_ref(), g.as_ref(), Layout::Image);
        assert_eq!(
            (d[(0, 0)], d[(0, 1)], d[(1, 0)], d[(1, 1)]),
            (3.0, 0.0, 0.0, 0.0)
        );
        // ⟨pick(x, h), g⟩ = ⟨h, place(x, g)⟩.
        let h = Mat::from_fn(4, 8, |i, j| (i * 8 + j) as f64 * 0.25);
        let g = Mat::from_fn(2, 4, |i, j| 1.0 + (i + 2 * j) as f64);
        let mut ph = Mat::<f64>::zeros(2, 4);
        max_pool_pick(ph.as_mut(), x.as_ref(), h.as_ref(), Layout::Image);
        let mut dg = Mat::<f64>::zeros(4, 8);
        max_pool_place(dg.as_mut(), x.as_ref(), g.as_ref(), Layout::Image);
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

    /// Channels in rows: each channel of a batch of two 2×4×6 images pooled alone, against
    /// naive loops over the images.
    #[test]
    fn channels_against_naive_loops() {
        let (c, h, w, batch) = (2, 4, 6, 2);
        let x = Mat::from_fn(c, h * w * batch, |r, k| ((5 * r + 7 * k) % 13) as f64 - 6.0);
        let mut p = Mat::<f64>::zeros(c, h * w * batch / 4);
        let layout = Layout::Channels { h, w };
        max_pool_pick(p.as_mut(), x.as_ref(), x.as_ref(), layout);
        for b in 0..batch {
            for ch in 0..c {
                for i in 0..h / 2 {
                    for j in 0..w / 2 {
                        let mut m = f64::NEG_INFINITY;
                        for (di, dj) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                            m = m.max(x[(ch, 2 * i + di + h * (2 * j + dj + w * b))]);
                        }
                        assert_eq!(p[(ch, i + h / 2 * (j + w / 2 * b))], m);
                    }
                }
            }
        }
        let g = Mat::from_fn(c, h * w * batch / 4, |r, k| (r + 2 * k) as f64);
        // Whatever `dst` held is overwritten.
        let mut d = Mat::from_fn(c, h * w * batch, |_, _| 7.0);
        max_pool_place(d.as_mut(), x.as_ref(), g.as_ref(), layout);
        let (a, b): (f64, f64) = (
            (0..c)
                .flat_map(|r| (0..g.ncols()).map(move |k| (r, k)))
                .map(|i| p[i] * g[i])
                .sum(),
            (0..c)
                .flat_map(|r| (0..x.ncols()).map(move |k| (r, k)))
                .map(|i| x[i] * d[i])
                .sum(),
        );
        assert!((a - b).abs() < 1e-12);
        // A tie in every window of two channels: the first position takes the gradient.
        let t = Mat::from_fn(2, 4, |_, _| 1.0);
        let g = Mat::from_fn(2, 1, |r, _| 3.0 + r as f64);
        let mut d = Mat::from_fn(2, 4, |_, _| 7.0);
        max_pool_place(
            d.as_mut(),
            t.as_ref(),
            g.as_ref(),
            Layout::Channels { h: 2, w: 2 },
        );
        assert_eq!(
            d,
            Mat::from_fn(2, 4, |r, k| if k == 0 { 3.0 + r as f64 } else { 0.0 })
        );
    }
}
