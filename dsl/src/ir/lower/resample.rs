//! Mean pooling and up-sampling (§10.4.1–10.4.2) lowered to the convolution op with a constant
//! kernel, so that neither needs an op, a kernel or a VJP of its own.
//!
//! `MeanPool[h]` is a convolution with a 2×2 kernel of `¼`, stride 2 and no padding, each
//! channel alone (with channels the kernel `C × C × 2 × 2` is `¼ δ_{cc'}`); `Upsample[h]`,
//! "duplicate all the channels at each spatial position four times", is the transposed
//! convolution (`ConvPart::Input`) of the same geometry with a kernel of ones: the output of
//! stride 2 reads each input position through its 2×2 block. Both are linear, and the VJP of
//! each is the other's part of the one op (the gradient of mean pooling is up-sampling
//! divided by 4), as `ad::rules` already gives for `Op::Conv`.

use super::{Cx, F64, Lv, Op, R, Shape, Span, unsupported};
use crate::ir::conv::{Conv, ConvPart};
use crate::ir::{Cols, NodeId};

/// Which of the two a built-in call computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resample {
    /// `MeanPool[h]`: the mean of each 2×2 region.
    MeanPool,
    /// `Upsample[h]`: each position duplicated into a 2×2 block.
    Upsample,
}

impl Cx<'_, '_> {
    /// `MeanPool[x]` or `Upsample[x]`, of an image per example (one channel, `H × (W·B)`,
    /// or channels in rows with its sizes in `Cx::spatial`).
    pub(super) fn resample(&mut self, what: Resample, x: Lv, span: Span) -> R<NodeId> {
        let shape = self.graph.shape(x.id);
        let Cols::Batch(width) = shape.cols else {
            return Err(unsupported(
                span,
                "this function of a matrix that is not per example",
            ));
        };
        let image = self.spatial.get(&x.id).copied();
        let (c, size) = match image {
            Some(hw) => (shape.rows as u32, hw),
            None => (1, [shape.rows as u32, width as u32]),
        };
        let too_large = || unsupported(span, "an image of this size");
        let (n_in, n_out) = match what {
            Resample::MeanPool => (size, size.map(|n| n / 2)),
            Resample::Upsample => {
                let big = [size[0].checked_mul(2), size[1].checked_mul(2)];
                let [Some(h), Some(w)] = big else {
                    return Err(too_large());
                };
                ([h, w], size)
            }
        };
        let conv = Conv {
            part: match what {
                Resample::MeanPool => ConvPart::Forward,
                Resample::Upsample => ConvPart::Input,
            },
            c_in: c,
            c_out: c,
            k: [2, 2],
            pad: [0, 0],
            stride: [2, 2],
            dil: [1, 1],
            n_in,
            n_out,
            chan_rows: image.is_some(),
        };
        let weight = match what {
            Resample::MeanPool => 0.25,
            Resample::Upsample => 1.0,
        };
        let kernel = if image.is_some() {
            // `C × (C·2·2)`, column `c' + C·(m + 2n)`: the weight where `c' = c`.
            let (rows, cols) = (c as usize, 4 * c as usize);
            let data = (0..rows * cols)
                .map(|k| {
                    let (row, col) = (k % rows, k / rows);
                    if col % rows == row { weight } else { 0.0 }
                })
                .collect();
            let k = self.graph.tables.len() as u32;
            self.graph.tables.push(data);
            self.push(Op::Table(k), Vec::new(), Shape::fixed(rows, cols), span)?
        } else {
            self.push(Op::Const(F64(weight)), Vec::new(), Shape::fixed(2, 2), span)?
        };
        let id = self.op(Op::Conv(conv), &[kernel, x.id], span)?;
        if image.is_some() {
            let out = match what {
                Resample::MeanPool => n_out,
                Resample::Upsample => n_in,
            };
            self.spatial.insert(id, out);
        }
        Ok(id)
    }
}
