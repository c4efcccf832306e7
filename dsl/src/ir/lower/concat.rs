//! Lowering block matrices: `[A; B]` is [`Op::ConcatRows`]; a row of blocks side by side,
//! `[A, B]`, is the transpose of its blocks' transposes stacked, `[Aᵀ; Bᵀ]ᵀ`; so the book's
//! `[Sa_1ᵀ, Sa_2ᵀ, …, Sa_Hᵀ]ᵀ` (eq. 12.12) is the heads stacked with no transpose left:
//! a transpose of a transpose is its argument. A transpose of a matrix per example is
//! [`Op::ExampleTranspose`], of a fixed one [`Op::Transpose`].

use super::{Cx, Lv, R, Scope, Val, unsupported};
use crate::ast::{Entry, Expr, ExprKind};
use crate::diag::Span;
use crate::ir::{Cols, NodeId, Op};

impl Cx<'_, '_> {
    /// `[…]`, or `[…]ᵀ` when `transposed`.
    pub(super) fn stack(
        &mut self,
        rows: &[Vec<Entry>],
        transposed: bool,
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        let expanded = self
            .expansion(rows, scope)
            .ok_or_else(|| unsupported(span, "a block matrix whose `…` checking did not expand"))?;
        // `[a_1, …, a_n]ᵀ` = `[a_1ᵀ; …; a_nᵀ]`.
        if let ([items], true) = (expanded.as_slice(), transposed) {
            let parts = self.transposed_blocks(items, scope)?;
            return Ok(Val::Node(Lv::of(self.concat(&parts, span)?)));
        }
        let mut parts = Vec::with_capacity(expanded.len());
        for items in &expanded {
            parts.push(match items.as_slice() {
                [one] => {
                    let v = self.value(one, scope)?;
                    self.materialise(v, one.span)?
                }
                _ => {
                    let t = self.transposed_blocks(items, scope)?;
                    let c = self.concat(&t, span)?;
                    self.flip(c, span)?
                }
            });
        }
        let mut id = self.concat(&parts, span)?;
        if transposed {
            id = self.flip(id, span)?;
        }
        Ok(Val::Node(Lv::of(id)))
    }

    /// The transposes of the blocks: `a` for a block written `aᵀ`.
    fn transposed_blocks(&mut self, items: &[Expr], scope: &mut Scope) -> R<Vec<NodeId>> {
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            let mut inner = e;
            while let ExprKind::Paren(x) = &inner.kind {
                inner = x;
            }
            let id = match &inner.kind {
                ExprKind::Transpose(x) => {
                    let v = self.value(x, scope)?;
                    self.materialise(v, x.span)?
                }
                _ => {
                    let v = self.value(e, scope)?;
                    let id = self.materialise(v, e.span)?;
                    self.flip(id, e.span)?
                }
            };
            out.push(id);
        }
        Ok(out)
    }

    /// One node holding the value: a transposed vector (`xᵀ`, kept as `x` with a flag)
    /// transposed for real.
    fn materialise(&mut self, v: Lv, span: Span) -> R<NodeId> {
        if !v.row || self.graph.shape(v.id).rows == 1 {
            return Ok(v.id);
        }
        self.flip(v.id, span)
    }

    /// The transpose of a node: its argument if it is a transpose, else a transpose per
    /// example (a batch) or of the whole (a fixed matrix).
    fn flip(&mut self, id: NodeId, span: Span) -> R<NodeId> {
        let n = self.graph.node(id);
        if matches!(n.op, Op::Transpose | Op::ExampleTranspose) {
            return Ok(n.args[0]);
        }
        let s = self.graph.shape(id);
        match s.cols {
            Cols::Batch(_) => self.op(Op::ExampleTranspose, &[id], span),
            Cols::Fixed(1) if s.rows == 1 => Ok(id),
            Cols::Fixed(_) => self.op(Op::Transpose, &[id], span),
        }
    }

    /// `[a; b; …]`; one block is itself.
    fn concat(&mut self, parts: &[NodeId], span: Span) -> R<NodeId> {
        match parts {
            [one] => Ok(*one),
            _ => self.op(Op::ConcatRows, parts, span),
        }
    }
}
