//! Lowering derivatives inside a spec: `∂f[x̂, φ]/∂x̂` (eq. 15.17) and `‖∂L/∂φ‖²` (eq. 9.8).
//!
//! The derivative is built in the graph by the AD's own reverse sweep (`ad::backward`): the
//! cotangent 1 of the differentiated number (one per example, `1 × B`, or one for the batch)
//! is carried back through the nodes that lie between it and what it is differentiated with
//! respect to, every other node held fixed — the partial derivative the book writes. The
//! result is ordinary IR, so the loss that reads it is differentiated again by the same
//! rules (gradient of a gradient); every VJP rule is written in IR ops that have VJP rules
//! themselves (`tests/it/ops.rs` checks each op's second derivative).
//!
//! A derivative per example is the column of the batch's gradient only if no node on the way
//! mixes the examples (a sum over the batch, batch statistics): such a node is E0328. A value
//! that does not depend on what it is differentiated with respect to is E0327 rather than a
//! silent zero (it is almost always the wrong name: `∂f[x, φ]/∂x̂`).

use super::{Cx, Fail, Lv, MAX_NODES, R, Scope, Val, unsupported};
use crate::ad;
use crate::ast::{self, Expr};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Cols, NodeId, Op, Role};
use crate::names;

impl Cx<'_, '_> {
    /// `∂of/∂wrt` as a value: with respect to a value (an input, noise, a named value).
    pub(super) fn deriv(
        &mut self,
        of: &Expr,
        wrt: &ast::Name,
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        match self.deriv_parts(of, wrt, span, scope)?.as_slice() {
            [g] => Ok(Val::Node(*g)),
            _ => Err(unsupported(
                span,
                "a gradient with respect to a group of parameters outside a norm",
            )),
        }
    }

    /// `‖∂of/∂wrt‖²`: the sum of the squared entries of the gradient, over every parameter of
    /// a group (`‖∂L/∂φ‖²`, eq. 9.8), per example for a derivative per example.
    pub(super) fn deriv_squared_norm(
        &mut self,
        of: &Expr,
        wrt: &ast::Name,
        span: Span,
        scope: &mut Scope,
    ) -> R<NodeId> {
        let parts = self.deriv_parts(of, wrt, span, scope)?;
        let mut total: Option<NodeId> = None;
        for g in parts {
            let s = self.sum_squares(g.id, span)?;
            total = Some(match total {
                None => s,
                Some(t) => self.op(Op::Add, &[t, s], span)?,
            });
        }
        total.ok_or_else(|| unsupported(span, "a gradient with respect to no parameter"))
    }

    /// The gradient of `of` with respect to each node `wrt` names (one value, or every
    /// parameter of a group, in declaration order).
    fn deriv_parts(
        &mut self,
        of: &Expr,
        wrt: &ast::Name,
        span: Span,
        scope: &mut Scope,
    ) -> R<Vec<Lv>> {
        let y = self.value(of, scope)?;
        let targets: Vec<Lv> = match self.name(wrt, wrt.span, scope)? {
            Val::Node(w) => vec![w],
            Val::Group => self.group_params(wrt, scope),
            _ => return Err(unsupported(wrt.span, "this derivative")),
        };
        let yshape = self.graph.shape(y.id);
        let per_example = yshape.cols == Cols::EXAMPLE;
        // The nodes between the targets and y: downstream of a target, upstream of y.
        let up = self.graph.ancestors([y.id]);
        let mut relevant = vec![false; self.graph.nodes.len()];
        for t in &targets {
            relevant[t.id.index()] = true;
        }
        for i in 0..=y.id.index() {
            if !relevant[i] && self.graph.nodes[i].args.iter().any(|a| relevant[a.index()]) {
                relevant[i] = true;
            }
        }
        for (r, u) in relevant.iter_mut().zip(&up) {
            *r &= *u;
        }
        if !targets.iter().any(|t| relevant[t.id.index()]) {
            return Err(self.no_dependence(wrt, span));
        }
        if per_example
            && let Some(i) = (0..relevant.len())
                .find(|&i| relevant[i] && matches!(self.graph.nodes[i].shape.cols, Cols::Fixed(_)))
        {
            return Err(self.mixes_examples(wrt, span, self.graph.spans[i]));
        }
        let seed = self.constant(1.0, yshape, span)?;
        let ct = ad::backward(self.graph, y.id, seed, Some(&relevant), false)
            .map_err(|e| unsupported(span, format!("this derivative ({e})")))?;
        if self.graph.nodes.len() > MAX_NODES {
            return Err(self.too_large(span));
        }
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            let id = match ct.get(t.id.index()).copied().flatten() {
                Some(id) => id,
                // A parameter of the group the value does not depend on: a zero gradient.
                None => self.constant(0.0, self.graph.shape(t.id), span)?,
            };
            if let Some(hw) = self.spatial.get(&t.id).copied() {
                self.spatial.insert(id, hw);
            }
            out.push(Lv { id, row: t.row });
        }
        Ok(out)
    }

    /// The parameter nodes of the group `wrt` names, in declaration order: its members, or
    /// every parameter in a model that declares no groups.
    fn group_params(&self, wrt: &ast::Name, scope: &Scope) -> Vec<Lv> {
        let name = super::canonical(wrt, scope);
        let grouped = self
            .graph
            .params
            .iter()
            .any(|p| p.group.is_some() && !scope.groups.is_empty());
        self.graph
            .params
            .iter()
            .filter(|p| p.role == Role::Param)
            .filter(|p| !grouped || p.group.as_deref() == Some(name.as_str()))
            .map(|p| Lv::of(p.node))
            .collect()
    }

    fn no_dependence(&self, wrt: &ast::Name, span: Span) -> Fail {
        let by = names::literal(wrt);
        Fail::Report(Box::new(
            Diagnostic::new(
                Code::E0327,
                span,
                format!("the value differentiated here does not depend on `{by}`, so this derivative is zero"),
            )
            .label(format!("`{by}` does not reach the value differentiated"))
            .help(format!(
                "differentiate the value that reads `{by}`: the model function at it, `∂f[{by}, φ]/∂{by}` (eq. 15.17); a derivative that is zero is refused rather than computed"
            )),
        ))
    }

    fn mixes_examples(&self, wrt: &ast::Name, span: Span, at: Span) -> Fail {
        let by = names::literal(wrt);
        Fail::Report(Box::new(
            Diagnostic::new(
                Code::E0328,
                span,
                format!("this value per example depends on `{by}` through a value of the whole batch, so its derivative per example is not the example's own"),
            )
            .label("a derivative per example")
            .with(at, "this mixes the examples of the batch (a sum over the batch, batch statistics)")
            .help("differentiate a value that each example computes on its own: no `∑_i`, `1/|B| ∑`, or `BatchNorm` between the two"),
        ))
    }
}
