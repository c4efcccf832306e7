//! Losses: `loss L[φ] = …` with the parameter groups it trains, and the checks and help for
//! a loss value that is not one number for the whole batch.

use super::shape::Val;
use super::{Entry, ModelCx, Sym, SymbolKind};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::dump;
use crate::names;

impl ModelCx<'_, '_> {
    pub(super) fn loss(&mut self, lhs: &ast::Lhs, args: &[Expr], rhs: &Expr) {
        let canon = self.canonical_plain(&lhs.name);
        self.loss_index = match lhs.name.sub.last().map(|e| &e.kind) {
            Some(ExprKind::Name(n)) if n.sub.is_empty() => {
                Some((self.canonical_plain(n), lhs.name.span))
            }
            _ => None,
        };
        for a in args {
            let ExprKind::Name(n) = &a.kind else {
                self.error(
                    Diagnostic::new(
                        Code::E0210,
                        a.span,
                        "a loss is taken over a parameter group, such as `φ`",
                    )
                    .label("not a group name"),
                );
                continue;
            };
            let g = self.canonical_plain(n);
            if !self.groups.is_empty() && !self.groups.contains(&g) {
                self.unknown_group(&g, a.span);
            }
        }
        let v = self.expr(rhs);
        self.loss_index = None;
        let Some(v) = v else {
            self.define(&canon, Sym::Poisoned, lhs.span, None);
            return;
        };
        self.check_loss_value(&v, rhs);
        let shown = format!(
            "{canon}[{}]",
            args.iter()
                .map(|a| match &a.kind {
                    ExprKind::Name(n) => self.canonical_plain(n),
                    _ => dump::expr(a),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.define(&canon, Sym::Value(v), lhs.span, None);
        self.order.push((SymbolKind::Loss, canon, Some(shown)));
    }

    pub(super) fn unknown_group(&mut self, g: &str, span: Span) {
        let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
        let mut d = Diagnostic::new(Code::E0210, span, format!("no parameter group `{g}`"))
            .label("not a group")
            .note(format!("the groups are {}", groups.join(", ")));
        if let Some(c) = names::closest(g, groups.iter().copied()) {
            d = d.help(format!("did you mean `{c}`?"));
        } else if let [only] = groups.as_slice() {
            d = d.help(format!(
                "the only parameter group of this model is `{only}`: write `[{only}]`"
            ));
        }
        self.error(d);
    }

    pub(super) fn check_loss_value(&mut self, v: &Val, rhs: &Expr) {
        if !v.shape.is_scalar() {
            let d = Diagnostic::new(
                Code::E0305,
                rhs.span,
                format!(
                    "a loss must be a scalar, but this is {}",
                    v.shape.describe()
                ),
            )
            .label(v.shape.symbolic())
            .help(self.scalar_loss_help(rhs));
            self.error(d);
        } else if v.per_example {
            let d = Diagnostic::new(Code::E0306, rhs.span, "this loss is still per example")
                .label("varies from example to example")
                .help(self.batch_sum_help(rhs));
            self.error(d);
        }
    }

    /// How to make a vector loss a scalar: a squared norm for a square, else a sum of entries.
    fn scalar_loss_help(&self, rhs: &Expr) -> String {
        let mut square = None;
        crate::syntax::walk(rhs, &mut |x| {
            if let ExprKind::Power(b, p) = &x.kind
                && matches!(p.kind, ExprKind::Number(v) if v == 2.0)
                && square.is_none()
            {
                let inner = match &b.kind {
                    ExprKind::Paren(i) => i.span,
                    _ => b.span,
                };
                square = Some((x.span, inner));
            }
        });
        let text = |s: Span| self.src().get(s.range()).unwrap_or("");
        if let Some((sq, inner)) = square
            && !text(rhs.span).contains('\n')
        {
            let (before, after) = (
                &self.src()[rhs.span.start as usize..sq.start as usize],
                &self.src()[sq.end as usize..rhs.span.end as usize],
            );
            return format!(
                "for a sum of squares take the squared norm: `{before}‖{}‖²{after}`",
                text(inner)
            );
        }
        "sum the entries with a row of ones, `𝟏ᵀ(…)`, or take a norm, `‖…‖²`".to_string()
    }

    /// How to sum a per-example loss over the batch, naming the data it uses.
    fn batch_sum_help(&self, rhs: &Expr) -> String {
        let mut per_example: Vec<String> = Vec::new();
        crate::syntax::walk(rhs, &mut |x| {
            if let ExprKind::Name(n) = &x.kind
                && n.sub.is_empty()
            {
                let name = self.canonical_plain(n);
                let per = matches!(
                    self.scope.get(&name),
                    Some(Entry { sym: Sym::Data(_, v) | Sym::Value(v), .. }) if v.per_example
                );
                if per && !per_example.contains(&name) {
                    per_example.push(name);
                }
            }
        });
        if per_example.is_empty() {
            return "sum it over the batch: `∑_i …`".to_string();
        }
        let indexed: Vec<String> = per_example.iter().map(|n| format!("`{n}_i`")).collect();
        format!(
            "sum it over the batch: `∑_i …`, with {} for the i-th example",
            indexed.join(", ")
        )
    }
}
