//! Lowering of a sum over every class but the example's label, `∑_{j≠y_i} body`
//! (`check::except`): the body once per class `j = 1 … K`, each term multiplied by
//! `1 − [y_i = j]` (a row of the labels' one-hot matrix, `OneHot`, subtracted from one) and the
//! terms added. The labelled class's term is computed and then zeroed, so its gradient is zero
//! too; no new op is needed.

use super::{Bind, Cx, Item, Lv, R, Scope, Val, canonical, item, unsupported};
use crate::ast::{self, Expr};
use crate::diag::Span;
use crate::ir::{F64, Op, Shape};

impl Cx<'_, '_> {
    /// `∑_{j≠y_i} body` as the masked, unrolled sum.
    pub(super) fn except_sum(
        &mut self,
        b: &ast::Binder,
        body: &Expr,
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        let Some(except) = b.except.as_deref() else {
            return Err(unsupported(span, "this sum"));
        };
        let Item::Label(label) = item(except, scope) else {
            return Err(unsupported(except.span, "this excluded value"));
        };
        let Some(&(lo, count)) = scope.labels.get(&label) else {
            return Err(unsupported(except.span, format!("the label `{label}`")));
        };
        let Some(Val::Node(y)) = scope.names.get(&label).cloned() else {
            return Err(unsupported(except.span, format!("the label `{label}`")));
        };
        let rows = u32::try_from(count).map_err(|_| unsupported(span, "this many classes"))?;
        let hot = self.op(Op::OneHot { rows, lo }, &[y.id], span)?;
        let one = self.push(Op::Const(F64(1.0)), Vec::new(), Shape::SCALAR, span)?;
        let var = canonical(&b.var, scope);
        let mut acc: Option<Lv> = None;
        for j in 1..=rows {
            scope.binds.push((var.clone(), Bind::Int(i64::from(j))));
            let v = self.value(body, scope);
            scope.binds.pop();
            let v = v?;
            let is_label = self.op(Op::Row(j - 1), &[hot], span)?;
            let keep = self.elementwise(Op::Sub, Lv::of(one), Lv::of(is_label), span)?;
            let Val::Node(keep) = keep else {
                return Err(unsupported(span, "this sum"));
            };
            let Val::Node(term) = self.elementwise(Op::Mul, v, keep, span)? else {
                return Err(unsupported(span, "this sum"));
            };
            acc = Some(match acc {
                None => term,
                Some(a) => match self.elementwise(Op::Add, a, term, span)? {
                    Val::Node(n) => n,
                    _ => return Err(unsupported(span, "this sum")),
                },
            });
        }
        acc.map(Val::Node)
            .ok_or_else(|| unsupported(span, "a sum over no classes"))
    }
}
