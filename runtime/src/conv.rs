//! Convolutions of each example's vector (chapter 10, eq. 10.3–10.6) and the two parts of
//! their gradient. A batch is a `D × B` matrix, one column per example; the kernel is a
//! `K × 1` column. Output entry `o` reads input entry `o·s + j·d - p` through weight `j`
//! (0-based), and an index outside the input reads the zero padding. No allocation.

use crate::Scalar;
use faer::{MatMut, MatRef};

/// The geometry of a convolution: padding `p`, stride `s`, dilation `d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geom {
    /// Zero padding before the first entry.
    pub pad: usize,
    /// Stride.
    pub stride: usize,
    /// Dilation.
    pub dil: usize,
}

impl Geom {
    /// The input entry that output `o` reads through weight `j`, if inside `0 … n_in-1`.
    #[inline]
    fn source(&self, o: usize, j: usize, n_in: usize) -> Option<usize> {
        (o * self.stride + j * self.dil)
            .checked_sub(self.pad)
            .filter(|&q| q < n_in)
    }
}

/// `dst[o, b] = ∑_j w[j] x[o·s + j·d - p, b]`.
///
/// # Panics
/// If `w` is not a column, or `dst` and `x` have different column counts.
pub fn conv1d<T: Scalar>(mut dst: MatMut<'_, T>, w: MatRef<'_, T>, x: MatRef<'_, T>, g: Geom) {
    assert!(
        w.ncols() == 1 && dst.ncols() == x.ncols(),
        "conv1d: kernel {}×{}, input {}×{}, output {}×{}",
        w.nrows(),
        w.ncols(),
        x.nrows(),
        x.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    let (n_in, n_out, k) = (x.nrows(), dst.nrows(), w.nrows());
    for b in 0..x.ncols() {
        for o in 0..n_out {
            let mut s = T::ZERO;
            for j in 0..k {
                if let Some(q) = g.source(o, j, n_in) {
                    s += w[(j, 0)] * x[(q, b)];
                }
            }
            dst[(o, b)] = s;
        }
    }
}

/// The transposed convolution, the gradient with respect to the input:
/// `dst[q, b] = ∑_o ∑_j w[j] g[o, b] [q = o·s + j·d - p]`.
///
/// # Panics
/// If `w` is not a column, or `dst` and `grad` have different column counts.
pub fn conv1d_input<T: Scalar>(
    mut dst: MatMut<'_, T>,
    w: MatRef<'_, T>,
    grad: MatRef<'_, T>,
    g: Geom,
) {
    assert!(
        w.ncols() == 1 && dst.ncols() == grad.ncols(),
        "conv1d_input: kernel {}×{}, gradient {}×{}, output {}×{}",
        w.nrows(),
        w.ncols(),
        grad.nrows(),
        grad.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    let (n_in, n_out, k) = (dst.nrows(), grad.nrows(), w.nrows());
    dst.fill(T::ZERO);
    for b in 0..grad.ncols() {
        for o in 0..n_out {
            let go = grad[(o, b)];
            for j in 0..k {
                if let Some(q) = g.source(o, j, n_in) {
                    dst[(q, b)] += w[(j, 0)] * go;
                }
            }
        }
    }
}

/// The gradient with respect to the kernel, summed over the batch:
/// `dst[j] = ∑_b ∑_o g[o, b] x[o·s + j·d - p, b]`.
///
/// # Panics
/// If `dst` is not a column, or `x` and `grad` have different column counts.
pub fn conv1d_kernel<T: Scalar>(
    mut dst: MatMut<'_, T>,
    x: MatRef<'_, T>,
    grad: MatRef<'_, T>,
    g: Geom,
) {
    assert!(
        dst.ncols() == 1 && x.ncols() == grad.ncols(),
        "conv1d_kernel: input {}×{}, gradient {}×{}, output {}×{}",
        x.nrows(),
        x.ncols(),
        grad.nrows(),
        grad.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    let (n_in, n_out, k) = (x.nrows(), grad.nrows(), dst.nrows());
    for j in 0..k {
        let mut s = T::ZERO;
        for b in 0..x.ncols() {
            for o in 0..n_out {
                if let Some(q) = g.source(o, j, n_in) {
                    s += grad[(o, b)] * x[(q, b)];
                }
            }
        }
        dst[(j, 0)] = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// The book's kernel of three with zero padding (eq. 10.4), against the formula written
    /// out with explicit padding, and the adjoint identities of the two gradient parts.
    #[test]
    fn kernel_three_padded_and_adjoints() {
        let x = Mat::from_fn(5, 2, |i, b| {
            (i as f64 + 1.0) * if b == 0 { 1.0 } else { -0.5 }
        });
        let w = Mat::from_fn(3, 1, |j, _| [0.5, -1.0, 2.0][j]);
        let g = Geom {
            pad: 1,
            stride: 1,
            dil: 1,
        };
        let mut y = Mat::<f64>::zeros(5, 2);
        conv1d(y.as_mut(), w.as_ref(), x.as_ref(), g);
        for b in 0..2 {
            let xp: Vec<f64> = std::iter::once(0.0)
                .chain((0..5).map(|i| x[(i, b)]))
                .chain(std::iter::once(0.0))
                .collect();
            for i in 0..5 {
                let want = 0.5 * xp[i] - xp[i + 1] + 2.0 * xp[i + 2];
                assert!((y[(i, b)] - want).abs() < 1e-15, "{i} {b}");
            }
        }
        // ⟨conv(w, x), r⟩ = ⟨x, input(w, r)⟩ = ⟨w, kernel(x, r)⟩.
        let r = Mat::from_fn(5, 2, |i, b| (i * 3 + b) as f64 * 0.25 - 1.0);
        let mut dx = Mat::<f64>::zeros(5, 2);
        conv1d_input(dx.as_mut(), w.as_ref(), r.as_ref(), g);
        let mut dw = Mat::<f64>::zeros(3, 1);
        conv1d_kernel(dw.as_mut(), x.as_ref(), r.as_ref(), g);
        let dot = |a: &Mat<f64>, b: &Mat<f64>| {
            (0..a.nrows())
                .flat_map(|i| (0..a.ncols()).map(move |j| (i, j)))
                .map(|(i, j)| a[(i, j)] * b[(i, j)])
                .sum::<f64>()
        };
        let lhs = dot(&y, &r);
        assert!((lhs - dot(&x, &dx)).abs() < 1e-12);
        assert!((lhs - dot(&w, &dw)).abs() < 1e-12);
    }

    /// Stride two and dilation two read `2o + 2j - p`.
    #[test]
    fn stride_and_dilation() {
        let x = Mat::from_fn(7, 1, |i, _| i as f64 + 1.0);
        let w = Mat::from_fn(2, 1, |j, _| [1.0, 10.0][j]);
        let g = Geom {
            pad: 1,
            stride: 2,
            dil: 2,
        };
        let mut y = Mat::<f64>::zeros(3, 1);
        conv1d(y.as_mut(), w.as_ref(), x.as_ref(), g);
        // o = 0: x[-1] = 0, x[1] = 2; o = 1: x[1] = 2, x[3] = 4; o = 2: x[3] = 4, x[5] = 6.
        assert_eq!([y[(0, 0)], y[(1, 0)], y[(2, 0)]], [20.0, 42.0, 64.0]);
    }
}
