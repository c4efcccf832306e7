//! Convolutions of each example's signal or image (chapter 10, eq. 10.3–10.6) and the two
//! parts of their gradient. Output `(o_1, o_2)` of channel `c` reads input
//! `(o_a·s_a + m_a·d_a - p_a)` on each axis of every input channel `c'` through weight
//! `Ω_{c,c',m_1,m_2}` (0-based); an index outside the input reads the zero padding. A signal
//! is an image of width one. Layout ([`Geom::chan_rows`]): an image `C × H × W` per example
//! is `C × (H·W·B)` and the kernel `C_o × (C_i·K_1·K_2)`, each block column-major (first
//! index fastest); with one channel, `H × (W·B)` and `K_1 × K_2` (a vector `D × B` and a
//! kernel `K × 1` in 1-D), the same numbers in the same order. No allocation.
//!
//! With channels in rows each part is a GEMM around one gather/scatter loop nest
//! (`Geom::each_column`): im2col gathers the patch matrix `P` (`C_i·K_1·K_2 × H_o·W_o·B`, rows
//! in the kernel's column order, columns in the output's) into a scratch buffer the caller
//! owns (the generated workspace sizes it by [`Geom::scratch`]); then `y = Ω P`, `∂Ω = ḡ Pᵀ`,
//! and `∂x` is col2im of `Ωᵀ ḡ`. With one channel the patch matrix has one row per weight
//! and the products would be matrix-vector products, so those run as direct loops
//! ([`conv_direct`]), which are also the reference the GEMM path is tested against. One entry
//! point, [`conv`], computes any of the three parts ([`Part`]).

use crate::Scalar;
use faer::{MatMut, MatRef};

/// The geometry of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geom {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel size per axis.
    pub k: [usize; 2],
    /// Zero padding before the first entry, per axis.
    pub pad: [usize; 2],
    /// Stride per axis.
    pub stride: [usize; 2],
    /// Dilation per axis.
    pub dil: [usize; 2],
    /// Input size per axis.
    pub n_in: [usize; 2],
    /// Output size per axis.
    pub n_out: [usize; 2],
    /// Channels in rows (`C × (H·W·B)`); otherwise one channel, the first axis in rows.
    pub chan_rows: bool,
}

impl Geom {
    /// The book's kernel of `k` weights along a signal of `n_in` entries (eq. 10.4): one
    /// channel, width one.
    pub fn signal(
        k: usize,
        pad: usize,
        stride: usize,
        dil: usize,
        n_in: usize,
        n_out: usize,
    ) -> Geom {
        Geom {
            c_in: 1,
            c_out: 1,
            k: [k, 1],
            pad: [pad, 0],
            stride: [stride, 1],
            dil: [dil, 1],
            n_in: [n_in, 1],
            n_out: [n_out, 1],
            chan_rows: false,
        }
    }

    /// The input entry that output `o` reads through weight `m` on axis `a`, if inside.
    #[inline]
    fn source(&self, a: usize, o: usize, m: usize) -> Option<usize> {
        (o * self.stride[a] + m * self.dil[a])
            .checked_sub(self.pad[a])
            .filter(|&q| q < self.n_in[a])
    }

    /// `(row, column)` of entry `(c, i, j)` of example `b` of an image of size `n`.
    #[inline]
    fn at(&self, n: [usize; 2], c: usize, i: usize, j: usize, b: usize) -> (usize, usize) {
        if self.chan_rows {
            (c, i + n[0] * (j + n[1] * b))
        } else {
            (i, j + n[1] * b)
        }
    }

    /// `(row, column)` of the kernel's weight `(c, c', m, n)`.
    #[inline]
    fn w(&self, c: usize, ci: usize, m: usize, n: usize) -> (usize, usize) {
        if self.chan_rows {
            (c, ci + self.c_in * (m + self.k[0] * n))
        } else {
            (m, n)
        }
    }

    /// Columns per example of an image of size `n`.
    fn cols(&self, n: [usize; 2]) -> usize {
        if self.chan_rows { n[0] * n[1] } else { n[1] }
    }

    /// Whether this convolution runs as im2col and GEMM (channels in rows) rather than as
    /// direct loops (one channel, where the patch matrix has a single row per weight and the
    /// GEMM would be a matrix-vector product).
    pub fn uses_gemm(&self) -> bool {
        self.chan_rows
    }

    /// The patch matrix's rows and its columns per example, `(C_i·K_1·K_2, H_o·W_o)`: the
    /// scratch a step needs, `rows × (cols·B)`; `(0, 0)` for direct loops.
    pub fn scratch(&self) -> (usize, usize) {
        if self.uses_gemm() {
            (
                self.c_in * self.k[0] * self.k[1],
                self.n_out[0] * self.n_out[1],
            )
        } else {
            (0, 0)
        }
    }

    /// Every column `k = o_1 + H_o·(o_2 + W_o·b)` of the patch matrix of `batch` examples
    /// (the output's column), in order, with its [`Patch`]: the one loop nest of im2col
    /// (gather) and col2im (scatter), which take the column's slice once and walk its entries.
    #[inline]
    fn each_column(&self, batch: usize, mut f: impl FnMut(usize, Patch<'_>)) {
        let mut k = 0;
        for b in 0..batch {
            for o2 in 0..self.n_out[1] {
                for o1 in 0..self.n_out[0] {
                    f(
                        k,
                        Patch {
                            g: self,
                            o: [o1, o2],
                            b,
                        },
                    );
                    k += 1;
                }
            }
        }
    }

    /// The patch matrix of `x` (im2col) in the top-left corner of `scratch`, which it returns.
    /// Each patch position's `c_in` channels are one column of `x` and `c_in` consecutive
    /// rows of the patch matrix: copied as slices when both are contiguous.
    fn gather<'s, T: Scalar>(
        &self,
        x: MatRef<'_, T>,
        scratch: MatMut<'s, T>,
        batch: usize,
    ) -> MatMut<'s, T> {
        let (rows, cols) = self.scratch();
        let ci = self.c_in;
        let mut p = scratch.submatrix_mut(0, 0, rows, cols * batch);
        if let Some(xc) = x.try_as_col_major().filter(|x| x.nrows() == ci)
            && let Some(mut pc) = p.as_mut().try_as_col_major_mut()
        {
            self.each_column(batch, |k, patch| {
                let dst = &mut pc.as_mut().col_mut(k).as_slice_mut()[..rows];
                if ci == 1 {
                    // One channel (a first layer) is one number: no call to `memcpy` for it.
                    let x = xc.row(0);
                    patch.each(|r, col| dst[r] = col.map_or(T::ZERO, |q| x[q]));
                } else {
                    patch.each(|r, col| {
                        let dst = &mut dst[r..r + ci];
                        match col {
                            Some(q) => dst.copy_from_slice(xc.col(q).as_slice()),
                            None => dst.fill(T::ZERO),
                        }
                    });
                }
            });
            return p;
        }
        self.each_column(batch, |k, patch| {
            patch.each(|r, col| {
                for c in 0..ci {
                    p[(r + c, k)] = col.map_or(T::ZERO, |q| x[(c, q)]);
                }
            });
        });
        p
    }

    /// `dst += ` each entry of the patch matrix `p` at the input entry it reads (col2im): the
    /// transpose of [`Geom::gather`], with slices where both are contiguous.
    fn scatter<T: Scalar>(&self, mut dst: MatMut<'_, T>, p: MatRef<'_, T>, batch: usize) {
        let ci = self.c_in;
        let rows = self.scratch().0;
        if let Some(pc) = p.try_as_col_major()
            && let Some(mut dc) = dst
                .as_mut()
                .try_as_col_major_mut()
                .filter(|d| d.nrows() == ci)
        {
            self.each_column(batch, |k, patch| {
                let src = &pc.col(k).as_slice()[..rows];
                patch.each(|r, col| {
                    if let Some(q) = col {
                        let out = dc.as_mut().col_mut(q).as_slice_mut();
                        for (o, v) in out.iter_mut().zip(&src[r..r + ci]) {
                            *o += *v;
                        }
                    }
                });
            });
            return;
        }
        self.each_column(batch, |k, patch| {
            patch.each(|r, col| {
                if let Some(q) = col {
                    for c in 0..ci {
                        dst[(c, q)] += p[(r + c, k)];
                    }
                }
            });
        });
    }

    /// Checks `scratch` holds the patch matrix of `batch` examples.
    fn check_scratch(&self, what: &str, scratch: (usize, usize), batch: usize) {
        let (rows, cols) = self.scratch();
        assert!(
            scratch.0 >= rows && scratch.1 >= cols * batch,
            "{what}: scratch {}×{} for a patch matrix {rows}×{} ({self:?})",
            scratch.0,
            scratch.1,
            cols * batch
        );
    }

    /// Every `(c, c', o_1, o_2, m_1, m_2, q_1, q_2)` of example-independent positions with the
    /// source inside the input, in a fixed order: the one loop nest of all three parts.
    #[inline]
    fn each(&self, mut f: impl FnMut([usize; 8])) {
        for c in 0..self.c_out {
            for ci in 0..self.c_in {
                for o2 in 0..self.n_out[1] {
                    for o1 in 0..self.n_out[0] {
                        for m2 in 0..self.k[1] {
                            let Some(q2) = self.source(1, o2, m2) else {
                                continue;
                            };
                            for m1 in 0..self.k[0] {
                                if let Some(q1) = self.source(0, o1, m1) {
                                    f([c, ci, o1, o2, m1, m2, q1, q2]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn check(
        &self,
        what: &str,
        kernel: (usize, usize),
        x: (usize, usize),
        y: (usize, usize),
    ) -> usize {
        let (kr, kc) = if self.chan_rows {
            (self.c_out, self.c_in * self.k[0] * self.k[1])
        } else {
            (self.k[0], self.k[1])
        };
        let rows = |c: usize, n: [usize; 2]| if self.chan_rows { c } else { n[0] };
        let (cx, cy) = (self.cols(self.n_in), self.cols(self.n_out));
        let batch = x.1 / cx.max(1);
        assert!(
            kernel == (kr, kc)
                && x == (rows(self.c_in, self.n_in), batch * cx)
                && y == (rows(self.c_out, self.n_out), batch * cy),
            "{what}: kernel {}×{}, input {}×{}, output {}×{} for {self:?}",
            kernel.0,
            kernel.1,
            x.0,
            x.1,
            y.0,
            y.1
        );
        batch
    }
}

/// One column of a patch matrix: output position `o` of example `b`.
#[derive(Clone, Copy)]
struct Patch<'g> {
    g: &'g Geom,
    o: [usize; 2],
    b: usize,
}

impl Patch<'_> {
    /// Every entry of the column: its first row `r = c' + C_i·(m_1 + K_1·m_2)` (for `c' = 0`;
    /// the channels follow) and the column of the input it reads (`None` in the zero padding).
    #[inline]
    fn each(self, mut f: impl FnMut(usize, Option<usize>)) {
        let g = self.g;
        let (h, w) = (g.n_in[0], g.n_in[1]);
        let mut r = 0;
        for m2 in 0..g.k[1] {
            let q2 = g.source(1, self.o[1], m2);
            for m1 in 0..g.k[0] {
                let q1 = g.source(0, self.o[0], m1);
                f(r, q1.zip(q2).map(|(q1, q2)| q1 + h * (q2 + w * self.b)));
                r += g.c_in;
            }
        }
    }
}

/// The scratch that serves every convolution of `geoms`: the largest patch matrix's rows and
/// the largest columns per example (times the batch for the buffer's columns).
pub fn scratch_for(geoms: &[Geom]) -> (usize, usize) {
    geoms.iter().fold((0, 0), |(r, c), g| {
        let (gr, gc) = g.scratch();
        (r.max(gr), c.max(gc))
    })
}

/// Which of the three bilinear maps of a convolution a call computes, and so what its
/// operands `(a, b)` and its destination are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `(w, x) → y`: `y[c, o, b] = ∑_{c', m} w[c, c', m] x[c', o·s + m·d - p, b]`.
    Forward,
    /// `(w, ḡ) → ∂x`, the transposed convolution:
    /// `∂x[c', q, b] = ∑_{c, o, m} w[c, c', m] ḡ[c, o, b] [q = o·s + m·d - p]`.
    Input,
    /// `(x, ḡ) → ∂w`, summed over the batch: `∂w[c, c', m] = ∑_b ∑_o ḡ[c, o, b] x[c', o·s +
    /// m·d - p, b]`.
    Kernel,
}

impl Part {
    /// The name in panic messages.
    fn name(self) -> &'static str {
        match self {
            Part::Forward => "conv",
            Part::Input => "conv_input",
            Part::Kernel => "conv_kernel",
        }
    }
}

/// Checks the shapes of a call of `part` and returns the batch.
fn check_part<T: Scalar>(
    g: &Geom,
    part: Part,
    dst: &MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
) -> usize {
    let (d, a, b) = (
        (dst.nrows(), dst.ncols()),
        (a.nrows(), a.ncols()),
        (b.nrows(), b.ncols()),
    );
    let (kernel, x, y) = match part {
        Part::Forward => (a, b, d),
        Part::Input => (a, d, b),
        Part::Kernel => (d, a, b),
    };
    g.check(part.name(), kernel, x, y)
}

/// One part of the convolution ([`Part`]: `dst = part(a, b)`). With channels in rows
/// ([`Geom::uses_gemm`]) im2col and one GEMM: `y = w · P` with `P` the patch matrix of `x` in
/// `scratch` (at least [`Geom::scratch`] rows and its columns times the batch), `∂w = ḡ ·
/// Pᵀ`, and `∂x` col2im of `wᵀ · ḡ` computed into `scratch`; otherwise the direct loops of
/// [`conv_direct`] (`scratch` unused, may be empty).
///
/// # Panics
/// If the shapes are not the geometry's, or the scratch is too small.
pub fn conv<T: Scalar>(
    part: Part,
    mut dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    scratch: MatMut<'_, T>,
    g: Geom,
) {
    if !g.uses_gemm() {
        return conv_direct(part, dst, a, b, g);
    }
    let batch = check_part(&g, part, &dst, a, b);
    g.check_scratch(part.name(), (scratch.nrows(), scratch.ncols()), batch);
    let (rows, cols) = g.scratch();
    let in_cols = g.cols(g.n_in);
    // A few examples at a time, so that the patch matrix stays in cache between its
    // gather and its product (the whole batch's would be written to memory and read back).
    let per_chunk = (CHUNK_BYTES / (rows * cols * std::mem::size_of::<T>()).max(1)).max(1);
    let mut scratch = scratch;
    let mut first = 0;
    while first < batch {
        let n = per_chunk.min(batch - first);
        let (xs, ys) = ((first * in_cols, n * in_cols), (first * cols, n * cols));
        match part {
            Part::Forward => {
                let p = g.gather(b.subcols(xs.0, xs.1), scratch.as_mut(), n);
                let dst = dst.as_mut().subcols_mut(ys.0, ys.1);
                crate::gemm::gemm(dst, a, p.as_ref(), false, false, false);
            }
            Part::Input => {
                let mut p = scratch.as_mut().submatrix_mut(0, 0, rows, cols * n);
                crate::gemm::gemm(p.as_mut(), a, b.subcols(ys.0, ys.1), true, false, false);
                let mut dst = dst.as_mut().subcols_mut(xs.0, xs.1);
                dst.fill(T::ZERO);
                g.scatter(dst, p.as_ref(), n);
            }
            Part::Kernel => {
                let p = g.gather(a.subcols(xs.0, xs.1), scratch.as_mut(), n);
                let gb = b.subcols(ys.0, ys.1);
                crate::gemm::gemm(dst.as_mut(), gb, p.as_ref(), false, true, first > 0);
            }
        }
        first += n;
    }
}

/// The bytes of patch matrix [`conv`] gathers before each product: a part of the per-core
/// cache (1 MiB of L2 on the machines measured), so the product reads it from there.
const CHUNK_BYTES: usize = 256 * 1024;

/// [`conv`] as direct loops over every weight and position, whatever the layout: the kernel
/// of a convolution of one channel, and the reference im2col and GEMM are tested against.
///
/// # Panics
/// If the shapes are not the geometry's.
pub fn conv_direct<T: Scalar>(
    part: Part,
    mut dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    g: Geom,
) {
    let batch = check_part(&g, part, &dst, a, b);
    dst.fill(T::ZERO);
    for e in 0..batch {
        // The kernel's, the input's and the output's entry of each term.
        let at = |[c, ci, o1, o2, m1, m2, q1, q2]: [usize; 8]| {
            let x = g.at(g.n_in, ci, q1, q2, e);
            (g.w(c, ci, m1, m2), x, g.at(g.n_out, c, o1, o2, e))
        };
        match part {
            Part::Forward => g.each(|i| {
                let (w, x, y) = at(i);
                dst[y] += a[w] * b[x];
            }),
            Part::Input => g.each(|i| {
                let (w, x, y) = at(i);
                dst[x] += a[w] * b[y];
            }),
            Part::Kernel => g.each(|i| {
                let (w, x, y) = at(i);
                dst[w] += b[y] * a[x];
            }),
        }
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
        let g = Geom::signal(3, 1, 1, 1, 5, 5);
        let mut y = Mat::<f64>::zeros(5, 2);
        conv(
            Part::Forward,
            y.as_mut(),
            w.as_ref(),
            x.as_ref(),
            Mat::zeros(0, 0).as_mut(),
            g,
        );
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
        conv(
            Part::Input,
            dx.as_mut(),
            w.as_ref(),
            r.as_ref(),
            Mat::zeros(0, 0).as_mut(),
            g,
        );
        let mut dw = Mat::<f64>::zeros(3, 1);
        conv(
            Part::Kernel,
            dw.as_mut(),
            x.as_ref(),
            r.as_ref(),
            Mat::zeros(0, 0).as_mut(),
            g,
        );
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
        let g = Geom::signal(2, 1, 2, 2, 7, 3);
        let mut y = Mat::<f64>::zeros(3, 1);
        conv(
            Part::Forward,
            y.as_mut(),
            w.as_ref(),
            x.as_ref(),
            Mat::zeros(0, 0).as_mut(),
            g,
        );
        // o = 0: x[-1] = 0, x[1] = 2; o = 1: x[1] = 2, x[3] = 4; o = 2: x[3] = 4, x[5] = 6.
        assert_eq!([y[(0, 0)], y[(1, 0)], y[(2, 0)]], [20.0, 42.0, 64.0]);
    }

    /// Two channels in, three out, a 3×3 kernel with zero padding one and stride two on the
    /// rows over 5×4 images, against the formula over an explicitly padded copy; and the
    /// adjoint identities of the gradient parts.
    #[test]
    fn channels_two_axes_padded_against_naive_loops() {
        let g = Geom {
            c_in: 2,
            c_out: 3,
            k: [3, 3],
            pad: [1, 1],
            stride: [2, 1],
            dil: [1, 1],
            n_in: [5, 4],
            n_out: [3, 4],
            chan_rows: true,
        };
        let (batch, (h, w), (h2, w2)) = (2, (5, 4), (3, 4));
        let x = Mat::from_fn(2, h * w * batch, |c, col| {
            ((c * 7 + col * 3) % 11) as f64 - 5.0
        });
        let k = Mat::from_fn(3, 2 * 9, |c, col| {
            ((c * 5 + col * 2) % 7) as f64 * 0.5 - 1.5
        });
        let mut y = Mat::<f64>::zeros(3, h2 * w2 * batch);
        let (sr, sc) = g.scratch();
        let mut scratch = Mat::<f64>::zeros(sr, sc * batch);
        conv(
            Part::Forward,
            y.as_mut(),
            k.as_ref(),
            x.as_ref(),
            scratch.as_mut(),
            g,
        );
        for b in 0..batch {
            // The padded image: (H + 2) × (W + 2) per channel, zero at the border.
            let xp = |c: usize, i: usize, j: usize| {
                if (1..=h).contains(&i) && (1..=w).contains(&j) {
                    x[(c, (i - 1) + h * ((j - 1) + w * b))]
                } else {
                    0.0
                }
            };
            for c in 0..3 {
                for i in 0..h2 {
                    for j in 0..w2 {
                        let mut want = 0.0;
                        for ci in 0..2 {
                            for m in 0..3 {
                                for n in 0..3 {
                                    want += k[(c, ci + 2 * (m + 3 * n))] * xp(ci, 2 * i + m, j + n);
                                }
                            }
                        }
                        let got = y[(c, i + h2 * (j + w2 * b))];
                        assert!((got - want).abs() < 1e-12, "{c} {i} {j} {b}");
                    }
                }
            }
        }
        let r = Mat::from_fn(3, h2 * w2 * batch, |c, col| ((c + col) % 5) as f64 - 2.0);
        let mut dx = Mat::<f64>::zeros(2, h * w * batch);
        conv(
            Part::Input,
            dx.as_mut(),
            k.as_ref(),
            r.as_ref(),
            scratch.as_mut(),
            g,
        );
        let mut dk = Mat::<f64>::zeros(3, 18);
        conv(
            Part::Kernel,
            dk.as_mut(),
            x.as_ref(),
            r.as_ref(),
            scratch.as_mut(),
            g,
        );
        // im2col and GEMM against the direct loops, part by part.
        let mut want = Mat::<f64>::zeros(2, h * w * batch);
        conv_direct(Part::Input, want.as_mut(), k.as_ref(), r.as_ref(), g);
        assert!((&want - &dx).norm_max() < 1e-12);
        let mut want = Mat::<f64>::zeros(3, 18);
        conv_direct(Part::Kernel, want.as_mut(), x.as_ref(), r.as_ref(), g);
        assert!((&want - &dk).norm_max() < 1e-12);
        let mut want = Mat::<f64>::zeros(3, h2 * w2 * batch);
        conv_direct(Part::Forward, want.as_mut(), k.as_ref(), x.as_ref(), g);
        assert!((&want - &y).norm_max() < 1e-12);
        let dot = |a: &Mat<f64>, b: &Mat<f64>| {
            (0..a.nrows())
                .flat_map(|i| (0..a.ncols()).map(move |j| (i, j)))
                .map(|(i, j)| a[(i, j)] * b[(i, j)])
                .sum::<f64>()
        };
        let lhs = dot(&y, &r);
        assert!((lhs - dot(&x, &dx)).abs() < 1e-9);
        assert!((lhs - dot(&k, &dk)).abs() < 1e-9);
    }

    /// A batch whose patch matrix is several chunks ([`CHUNK_BYTES`]): each part through
    /// im2col and GEMM equals the direct loops, the kernel's gradient summed over every chunk.
    #[test]
    fn a_batch_of_several_chunks_against_direct_loops() {
        let g = Geom {
            c_in: 16,
            c_out: 4,
            k: [3, 3],
            pad: [1, 1],
            stride: [1, 1],
            dil: [1, 1],
            n_in: [16, 16],
            n_out: [16, 16],
            chan_rows: true,
        };
        let (rows, cols) = g.scratch();
        let batch = 3;
        // One example's patch matrix in f64 is more than a chunk: three chunks.
        assert!(rows * cols * 8 > CHUNK_BYTES);
        let x = Mat::from_fn(16, 256 * batch, |c, k| ((c * 7 + k * 3) % 11) as f64 - 5.0);
        let w = Mat::from_fn(4, rows, |c, k| ((c * 5 + k * 2) % 7) as f64 * 0.5 - 1.5);
        let r = Mat::from_fn(4, cols * batch, |c, k| ((c + k) % 5) as f64 - 2.0);
        let mut scratch = Mat::<f64>::zeros(rows, cols * batch);
        for (part, (a, b), shape) in [
            (Part::Forward, (&w, &x), (4, cols * batch)),
            (Part::Input, (&w, &r), (16, 256 * batch)),
            (Part::Kernel, (&x, &r), (4, rows)),
        ] {
            let mut got = Mat::<f64>::zeros(shape.0, shape.1);
            conv(
                part,
                got.as_mut(),
                a.as_ref(),
                b.as_ref(),
                scratch.as_mut(),
                g,
            );
            let mut want = Mat::<f64>::zeros(shape.0, shape.1);
            conv_direct(part, want.as_mut(), a.as_ref(), b.as_ref(), g);
            assert!((&want - &got).norm_max() < 1e-9, "{part:?}");
        }
    }

    /// Mean pooling and up-sampling as the compiler lowers them (a 2×2 kernel of stride 2,
    /// `¼ δ_{cc'}` forward, ones transposed) against the naive loops: the mean of each 2×2
    /// region of each channel, and each entry copied into its 2×2 block.
    #[test]
    fn mean_pooling_and_up_sampling_against_naive_loops() {
        let (c, h, w, batch) = (3, 4, 6, 2);
        let g = Geom {
            c_in: c,
            c_out: c,
            k: [2, 2],
            pad: [0, 0],
            stride: [2, 2],
            dil: [1, 1],
            n_in: [h, w],
            n_out: [h / 2, w / 2],
            chan_rows: true,
        };
        let delta = |v: f64| Mat::from_fn(c, 4 * c, move |r, k| if k % c == r { v } else { 0.0 });
        let x = Mat::from_fn(c, h * w * batch, |r, k| ((r * 5 + k * 7) % 11) as f64 - 4.5);
        let (sr, sc) = g.scratch();
        let mut scratch = Mat::<f64>::zeros(sr, sc * batch);
        let mut p = Mat::<f64>::zeros(c, h * w * batch / 4);
        conv(
            Part::Forward,
            p.as_mut(),
            delta(0.25).as_ref(),
            x.as_ref(),
            scratch.as_mut(),
            g,
        );
        let mut u = Mat::<f64>::zeros(c, h * w * batch);
        conv(
            Part::Input,
            u.as_mut(),
            delta(1.0).as_ref(),
            p.as_ref(),
            scratch.as_mut(),
            g,
        );
        // The column of entry (i, j) of example b of an image of size n.
        let at = |n: (usize, usize), i: usize, j: usize, b: usize| i + n.0 * (j + n.1 * b);
        for b in 0..batch {
            for r in 0..c {
                for i in 0..h / 2 {
                    for j in 0..w / 2 {
                        let px = |a: usize, e: usize| x[(r, at((h, w), 2 * i + a, 2 * j + e, b))];
                        let mean = (px(0, 0) + px(0, 1) + px(1, 0) + px(1, 1)) / 4.0;
                        let got = p[(r, at((h / 2, w / 2), i, j, b))];
                        assert!((got - mean).abs() < 1e-12, "mean {r} {i} {j} {b}");
                        for (a, e) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                            assert_eq!(u[(r, at((h, w), 2 * i + a, 2 * j + e, b))], got);
                        }
                    }
                }
            }
        }
    }
}
