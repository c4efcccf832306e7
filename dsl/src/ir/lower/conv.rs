//! Lowering a vector defined entry by entry through a convolution (`check::entrywise`):
//! one [`Op::Conv`] node for the sum, bound to the placeholder name while the rest of the
//! right side is lowered as the equation for the whole vector. With channels the image is
//! `C × (H·W·B)` (`chan_rows`), its sizes `H, W` read from `Cx::spatial`, and each bias per
//! channel `β_c` is `β` broadcast over the positions.

use super::{Cx, Fail, Lv, R, Scope, Val, canonical};
use crate::ast;
use crate::check::entrywise::{
    Geometry, Reading, bias_placeholder, channel_biases, matches, orient, placeholder, rewritten,
};
use crate::ir::conv::{Conv, ConvPart};
use crate::ir::{Cols, Op};

impl Cx<'_, '_> {
    /// Lowers a statement of the entrywise form; false when it is not one (then it is a
    /// family, unrolled member by member). Decided as checking decides.
    pub(super) fn entrywise(&mut self, run: &[ast::Stmt], scope: &mut Scope) -> bool {
        let Some(m) = matches(run) else {
            return false;
        };
        // What checking found of the statement: whether it is of the form, which factor is
        // the kernel, its sizes.
        let Some(found) = self.conv_found(&m, scope) else {
            return false;
        };
        let Some(exchange) = found.exchange.filter(|_| found.starts_at_one) else {
            return false;
        };
        let m = orient(m, exchange);
        let cols = if m.second.is_some() {
            |c: Cols| matches!(c, Cols::Batch(_))
        } else {
            |c: Cols| c == Cols::EXAMPLE
        };
        let x = match scope.names.get(&canonical(&m.input, scope)) {
            Some(Val::Node(x)) if cols(self.graph.shape(x.id).cols) => *x,
            _ => return false,
        };
        let result = if m.channels.is_some() && !self.spatial.contains_key(&x.id) {
            // An image with channels made by an op that does not carry its sizes.
            Err(super::unsupported(
                m.sum.span,
                "a convolution of an image whose height and width are not known here",
            ))
        } else {
            found.sizes.map_or_else(
                || {
                    Err(super::unsupported(
                        m.sum.span,
                        "a convolution whose sizes checking did not find",
                    ))
                },
                |sizes| self.entrywise_conv(&m, x, sizes, scope),
            )
        };
        self.record(result);
        true
    }

    fn entrywise_conv(
        &mut self,
        m: &crate::check::entrywise::Entrywise<'_>,
        x: Lv,
        (g, channels): ([Geometry; 2], Option<[i64; 2]>),
        scope: &mut Scope,
    ) -> R<()> {
        let w = match scope.names.get(&canonical(&m.kernel, scope)) {
            Some(Val::Node(w)) => *w,
            _ => return Err(Fail::Quiet),
        };
        let transposed = m.reading == Reading::Transposed;
        let (lhs, rhs) = rewritten(m).map_err(Fail::Report)?;
        let shape = self.graph.shape(x.id);
        let width = match shape.cols {
            Cols::Batch(n) => n as u32,
            Cols::Fixed(_) => return Err(Fail::Quiet),
        };
        let (c_x, c_h, n_x, chan_rows) = match channels {
            None => (1, 1, [shape.rows as u32, width], false),
            Some([c_h, _]) => {
                let hw = self.spatial.get(&x.id).copied().ok_or(Fail::Quiet)?;
                let c_h = u32::try_from(c_h).map_err(|_| Fail::Quiet)?;
                (shape.rows as u32, c_h, hw, true)
            }
        };
        let n_h = g.map(|g| g.n_out as u32);
        // Transposed, the op is the `Input` part of the convolution from `h` to `x`.
        let ((c_in, n_in), (c_out, n_out)) = if transposed {
            ((c_h, n_h), (c_x, n_x))
        } else {
            ((c_x, n_x), (c_h, n_h))
        };
        let conv = Conv {
            part: if transposed {
                ConvPart::Input
            } else {
                ConvPart::Forward
            },
            c_in,
            c_out,
            k: g.map(|g| g.k as u32),
            pad: g.map(|g| g.pad),
            stride: g.map(|g| g.stride),
            dil: g.map(|g| g.dil),
            n_in,
            n_out,
            chan_rows,
        };
        let id = self.op(Op::Conv(conv), &[w.id, x.id], m.sum.span)?;
        let mut holders = Vec::new();
        if chan_rows {
            self.spatial.insert(id, n_h);
            let out = self.graph.shape(id);
            for b in channel_biases(m) {
                let Some(Val::Node(v)) = scope.names.get(&canonical(&b, scope)).cloned() else {
                    return Err(Fail::Quiet);
                };
                let bias = self.broadcast(v.id, out, b.span)?;
                let holder = crate::names::literal(&bias_placeholder(m, &b));
                scope.names.insert(holder.clone(), Val::Node(Lv::of(bias)));
                holders.push(holder);
            }
        }
        let holder = crate::names::literal(&placeholder(m));
        scope.names.insert(holder.clone(), Val::Node(Lv::of(id)));
        holders.push(holder);
        let out = self.equation(&lhs, &rhs, false, scope);
        for h in holders {
            scope.names.remove(&h);
        }
        out
    }
}
