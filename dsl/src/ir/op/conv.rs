//! Convolutions (chapter 10): the one geometry of a convolution of each example's signal or
//! image, its shape rule, and the three ops it takes with its gradients.
//!
//! Two spatial axes `(i, j)` always; a 1-D convolution (eq. 10.3–10.5) is the case of width
//! one with a kernel of width one. 0-based, output `(o_1, o_2)` of channel `c` reads input
//! `(o_a·s_a + m_a·d_a - p_a)` on each axis `a` of every input channel `c'` through weight
//! `Ω_{c,c',m_1,m_2}`; an index outside the input reads the zero padding (§10.2):
//!
//! `y_{c,o} = ∑_{c'} ∑_{m} Ω_{c,c',m} x_{c', o·s + m·d - p}`  (eq. 10.6 with channels, §10.2.7).
//!
//! It is bilinear in `(Ω, x)`, and so are the two ops of its gradient, whose own gradients are
//! again these three ops:
//!
//! - [`ConvPart::Forward`] `(Ω, x) → y`;
//! - [`ConvPart::Input`] `(Ω, g) → ∂x`, the transposed convolution:
//!   `∂x_{c',q} = ∑_c ∑_o ∑_m Ω_{c,c',m} g_{c,o} [q = o·s + m·d - p]`;
//! - [`ConvPart::Kernel`] `(x, g) → ∂Ω`, the sum over examples and positions of products:
//!   `∂Ω_{c,c',m} = ∑_b ∑_o g_{c,o,b} x_{c', o·s + m·d - p, b}`.
//!
//! Layout (each example's block column-major, the first index fastest, as every per-example
//! value): with [`Conv::chan_rows`], an image `C × H × W` per example is `C × (H·W·B)` and
//! the kernel `C_o × C_i × K_1 × K_2` is `C_o × (C_i·K_1·K_2)`; without (one channel in and
//! out), an image `H × W` is the matrix per example `H × (W·B)` and the kernel `K_1 × K_2`
//! (a vector `D × B` and a kernel `K × 1` in 1-D). With one channel both are the same numbers
//! in the same order.
//!
//! Each part is bilinear, so the VJP of each is the other two: `y = ω ⋆ x`: `∂ω = Kernel(x,
//! ḡ)`, `∂x = Input(ω, ḡ)`; `z = Input(ω, g)`: `∂ω = Kernel(z̄, g)`, `∂g = ω ⋆ z̄`; `w =
//! Kernel(x, g)`: `∂x = Input(w̄, g)`, `∂g = w̄ ⋆ x`. It does not fuse.
//!
//! Emitted: `runtime::conv::conv(Part::…, dst, a, b, scratch, Geom { … })` with channels in
//! rows (im2col and GEMM, the scratch the workspace's patch matrix, `scratch_init`), or
//! `runtime::conv::conv_direct(Part::…, …)` with one channel (direct loops, no scratch), the
//! geometry a literal. Interpreted in `src/interp.rs::eval_node` (`conv`) by the same two
//! kernels, its patch matrix allocated per call.

use super::super::{Cols, NodeId, Op, Shape, ShapeError};
use super::Contribs;
use crate::ad::Builder;
use crate::emit::cx::Cx;
use proc_macro2::TokenStream;
use quote::quote;

/// A convolution is a kernel call, not a loop.
pub(crate) const FUSES: bool = false;

/// Which of the three bilinear maps of a convolution an op computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvPart {
    /// `(Ω, x) → y`.
    Forward,
    /// `(Ω, g) → ∂x` (transposed convolution).
    Input,
    /// `(x, g) → ∂Ω` (summed over the batch).
    Kernel,
}

/// A convolution of each example's signal or image (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv {
    /// What the op computes.
    pub part: ConvPart,
    /// Input channels `C_i`.
    pub c_in: u32,
    /// Output channels `C_o`.
    pub c_out: u32,
    /// Kernel size per axis `K_a` (`K_2 = 1` in 1-D).
    pub k: [u32; 2],
    /// Zero padding before the first entry per axis `p_a`.
    pub pad: [u32; 2],
    /// Stride per axis `s_a`.
    pub stride: [u32; 2],
    /// Dilation per axis `d_a`.
    pub dil: [u32; 2],
    /// Input size per axis (`H, W`; `D, 1` in 1-D).
    pub n_in: [u32; 2],
    /// Output size per axis.
    pub n_out: [u32; 2],
    /// Channels in rows (`C × (H·W·B)`); otherwise one channel, the first axis in rows.
    pub chan_rows: bool,
}

impl Conv {
    /// The same geometry computing another part.
    pub fn part(self, part: ConvPart) -> Op {
        Op::Conv(Conv { part, ..self })
    }

    /// Whether the convolution is of a signal (width one, kernel width one, no channels).
    pub fn is_1d(&self) -> bool {
        !self.chan_rows && self.n_in[1] == 1 && self.n_out[1] == 1 && self.k[1] == 1
    }

    /// The shape of an image `channels × n` per example in this layout.
    fn image(&self, channels: u32, n: [u32; 2]) -> Shape {
        if self.chan_rows {
            Shape::batch_matrix(channels as usize, n[0] as usize * n[1] as usize)
        } else {
            Shape::batch_matrix(n[0] as usize, n[1] as usize)
        }
    }

    /// The kernel's shape: `C_o × (C_i·K_1·K_2)`, or `K_1 × K_2`.
    fn kernel(&self) -> Shape {
        let (k1, k2) = (self.k[0] as usize, self.k[1] as usize);
        if self.chan_rows {
            Shape::fixed(self.c_out as usize, self.c_in as usize * k1 * k2)
        } else {
            Shape::fixed(k1, k2)
        }
    }

    /// The shape rule: `Forward` `Ω, x → y`; `Input` `Ω, y → x`; `Kernel` `x, y → Ω`, with
    /// the shapes of `Conv::kernel` and `Conv::image`.
    pub fn infer(&self, a: Shape, b: Shape) -> Result<Shape, ShapeError> {
        let kernel = self.kernel();
        let x = self.image(self.c_in, self.n_in);
        let y = self.image(self.c_out, self.n_out);
        let ok = match self.part {
            ConvPart::Forward => a == kernel && b == x,
            ConvPart::Input => a == kernel && b == y,
            ConvPart::Kernel => a == x && b == y,
        };
        let positive = [self.k, self.stride, self.dil, self.n_in, self.n_out]
            .iter()
            .all(|v| v[0] > 0 && v[1] > 0)
            && self.c_in > 0
            && self.c_out > 0;
        let one_channel = self.chan_rows || (self.c_in == 1 && self.c_out == 1);
        if !ok || !positive || !one_channel || matches!(x.cols, Cols::Fixed(_)) {
            return Err(ShapeError::Operands {
                op: Op::Conv(*self),
                args: vec![a, b],
            });
        }
        Ok(match self.part {
            ConvPart::Forward => y,
            ConvPart::Input => x,
            ConvPart::Kernel => kernel,
        })
    }

    /// The text form: `conv1d[k=3, pad=1, stride=1, dil=1, 6→6]` for a signal,
    /// `conv2d[k=3×3, pad=1×1, stride=1×1, dil=1×1, 8×8→8×8]` for an image of one channel
    /// (`conv2d[channels 1→16, k=…]` with channels in rows), with
    /// `_input` or `_kernel` after the name for the gradient parts.
    pub fn name(&self) -> String {
        let part = match self.part {
            ConvPart::Forward => "",
            ConvPart::Input => "_input",
            ConvPart::Kernel => "_kernel",
        };
        if self.is_1d() {
            return format!(
                "conv1d{part}[k={}, pad={}, stride={}, dil={}, {}→{}]",
                self.k[0], self.pad[0], self.stride[0], self.dil[0], self.n_in[0], self.n_out[0]
            );
        }
        let x = |v: [u32; 2]| format!("{}×{}", v[0], v[1]);
        let channels = if self.chan_rows {
            format!("channels {}→{}, ", self.c_in, self.c_out)
        } else {
            String::new()
        };
        format!(
            "conv2d{part}[{channels}k={}, pad={}, stride={}, dil={}, {}→{}]",
            x(self.k),
            x(self.pad),
            x(self.stride),
            x(self.dil),
            x(self.n_in),
            x(self.n_out)
        )
    }
}

/// The three bilinear parts of a convolution, each differentiated into the other two: `y =
/// ω ⋆ x`: `∂ω = Kernel(x, ḡ)`, `∂x = Input(ω, ḡ)`; `z = Input(ω, g)`: `∂ω = Kernel(z̄, g)`,
/// `∂g = ω ⋆ z̄`; `w = Kernel(x, g)`: `∂x = Input(w̄, g)`, `∂g = w̄ ⋆ x`.
pub(crate) fn vjp(
    b: &mut Builder<'_>,
    c: Conv,
    x: &[NodeId],
    g: NodeId,
) -> Result<Contribs, ShapeError> {
    use ConvPart::{Forward, Input, Kernel};
    let (p, q) = (x[0], x[1]);
    Ok(match c.part {
        Forward => vec![
            Some(b.op(c.part(Kernel), &[q, g])?),
            Some(b.op(c.part(Input), &[p, g])?),
        ],
        Input => vec![
            Some(b.op(c.part(Kernel), &[g, q])?),
            Some(b.op(c.part(Forward), &[p, g])?),
        ],
        Kernel => vec![
            Some(b.op(c.part(Input), &[g, q])?),
            Some(b.op(c.part(Forward), &[g, p])?),
        ],
    })
}

/// `rt::conv::conv(Part::…, dst, a, b, scratch, Geom { … });` with channels in rows, the
/// scratch the workspace's patch matrix (`scratch_init`); with one channel, whose kernel
/// is the runtime's direct loops (`Geom::uses_gemm` is `chan_rows`), `conv_direct` and no
/// scratch.
pub(crate) fn stmt(cx: &Cx<'_>, id: NodeId, c: Conv) -> TokenStream {
    let rt = &cx.rt;
    let dst = cx.write(id);
    let n = cx.g.node(id);
    let (a, b) = (cx.read(n.args[0]), cx.read(n.args[1]));
    let s = cx.conv_scratch();
    let part = match c.part {
        ConvPart::Forward => quote!(#rt::conv::Part::Forward),
        ConvPart::Input => quote!(#rt::conv::Part::Input),
        ConvPart::Kernel => quote!(#rt::conv::Part::Kernel),
    };
    let geom = geom(rt, c);
    if c.chan_rows {
        quote!(#rt::conv::conv(#part, #dst, #a, #b, ws.#s.as_mut(), #geom);)
    } else {
        quote!(#rt::conv::conv_direct(#part, #dst, #a, #b, #geom);)
    }
}

/// The workspace's patch matrix for the convolutions of a graph, sized by the runtime
/// (`conv::scratch_for`) from their geometries: `None` without a convolution with channels
/// in rows (the only ones with a patch matrix).
pub(crate) fn scratch_init(
    rt: &TokenStream,
    faer: &TokenStream,
    convs: &[Conv],
) -> Option<TokenStream> {
    let convs: Vec<Conv> = convs.iter().copied().filter(|c| c.chan_rows).collect();
    if convs.is_empty() {
        return None;
    }
    let geoms = convs.iter().map(|c| geom(rt, *c));
    Some(quote!({
        let (rows, cols) = #rt::conv::scratch_for(&[#(#geoms),*]);
        #faer::Mat::zeros(rows, cols * max_batch)
    }))
}

/// The geometry as a literal `rt::conv::Geom { … }`.
fn geom(rt: &TokenStream, c: Conv) -> TokenStream {
    let (c_in, c_out) = (c.c_in as usize, c.c_out as usize);
    let pair = |v: [u32; 2]| {
        let (a, b) = (v[0] as usize, v[1] as usize);
        quote!([#a, #b])
    };
    let (k, pad, stride, dil) = (pair(c.k), pair(c.pad), pair(c.stride), pair(c.dil));
    let (n_in, n_out, chan_rows) = (pair(c.n_in), pair(c.n_out), c.chan_rows);
    quote!(#rt::conv::Geom {
        c_in: #c_in, c_out: #c_out, k: #k, pad: #pad, stride: #stride, dil: #dil,
        n_in: #n_in, n_out: #n_out, chan_rows: #chan_rows,
    })
}
