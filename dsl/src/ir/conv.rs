//! Convolutions (chapter 10): the geometry of a 1-D convolution of each example's vector,
//! its shape rule, and the three ops it takes with its gradients.
//!
//! `y_o = ∑_{j=0}^{K-1} ω_j x_{o·s + j·d - p}` (0-based; an index outside `0 … D-1` reads
//! the zero padding), eq. 10.3–10.6. It is bilinear in `(ω, x)`, and so are the two ops of its
//! gradient, whose own gradients are again these three ops:
//!
//! - [`ConvPart::Forward`] `(ω, x) → y`;
//! - [`ConvPart::Input`] `(ω, g) → ∂x`, the transposed convolution:
//!   `∂x_q = ∑_o ∑_j ω_j g_o [q = o·s + j·d - p]`;
//! - [`ConvPart::Kernel`] `(x, g) → ∂ω`, the sum over examples and positions of products:
//!   `∂ω_j = ∑_b ∑_o g_{o,b} x_{o·s + j·d - p, b}`.

use super::{Op, Shape, ShapeError};

/// Which of the three bilinear maps of a convolution an op computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvPart {
    /// `(ω, x) → y`.
    Forward,
    /// `(ω, g) → ∂x` (transposed convolution).
    Input,
    /// `(x, g) → ∂ω` (summed over the batch).
    Kernel,
}

/// A 1-D convolution of each example's vector by a kernel of `k` weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv1d {
    /// What the op computes.
    pub part: ConvPart,
    /// Kernel size `K`.
    pub k: u32,
    /// Zero padding before the first entry `p`: the entry read is `o·s + j·d - p`.
    pub pad: u32,
    /// Stride `s`.
    pub stride: u32,
    /// Dilation `d`.
    pub dil: u32,
    /// Entries of the input `D`.
    pub n_in: u32,
    /// Entries of the output.
    pub n_out: u32,
}

impl Conv1d {
    /// The input index read by output `o` through weight `j`, if inside the input.
    pub fn source(&self, o: usize, j: usize) -> Option<usize> {
        let q = (o * self.stride as usize + j * self.dil as usize) as i64 - i64::from(self.pad);
        (0..i64::from(self.n_in)).contains(&q).then_some(q as usize)
    }

    /// The same geometry computing another part.
    pub fn part(self, part: ConvPart) -> Op {
        Op::Conv1d(Conv1d { part, ..self })
    }

    /// The shape rule: `Forward` `K × 1, D × B → D' × B`; `Input` `K × 1, D' × B → D × B`;
    /// `Kernel` `D × B, D' × B → K × 1`.
    pub fn infer(&self, a: Shape, b: Shape) -> Result<Shape, ShapeError> {
        let (k, n_in, n_out) = (self.k as usize, self.n_in as usize, self.n_out as usize);
        let kernel = Shape::fixed(k, 1);
        let ok = match self.part {
            ConvPart::Forward => a == kernel && b == Shape::batch(n_in),
            ConvPart::Input => a == kernel && b == Shape::batch(n_out),
            ConvPart::Kernel => a == Shape::batch(n_in) && b == Shape::batch(n_out),
        };
        if !ok || k == 0 || self.stride == 0 || self.dil == 0 {
            return Err(ShapeError::Operands {
                op: Op::Conv1d(*self),
                args: vec![a, b],
            });
        }
        Ok(match self.part {
            ConvPart::Forward => Shape::batch(n_out),
            ConvPart::Input => Shape::batch(n_in),
            ConvPart::Kernel => kernel,
        })
    }

    /// The text form: `conv1d[k=3, pad=1, stride=1, dil=1, 6→6]`, `conv1d_input[…]`.
    pub fn name(&self) -> String {
        let part = match self.part {
            ConvPart::Forward => "conv1d",
            ConvPart::Input => "conv1d_input",
            ConvPart::Kernel => "conv1d_kernel",
        };
        format!(
            "{part}[k={}, pad={}, stride={}, dil={}, {}→{}]",
            self.k, self.pad, self.stride, self.dil, self.n_in, self.n_out
        )
    }
}
