//! Hyper-parameters: their values (defaults, `--set` overrides), the evaluation of numeric
//! expressions over them and over bound integers, and the header shown in help.

use super::{ModelCx, Sym};
use crate::ast::{self, Expr};
use crate::diag::{Code, Diagnostic, Span};
use crate::eval::{Fail, Lookup};

impl ModelCx<'_, '_> {
    pub(super) fn hypers(&mut self, model: &ast::Model) {
        for h in &model.hypers {
            let name = self.canonical_plain(&h.name);
            let overridden =
                self.chk.opts.overrides.iter().rev().find(|(m, n, _)| {
                    *n == name && m.as_ref().is_none_or(|m| *m == model.name.text)
                });
            let value = match (overridden, &h.default) {
                (Some((_, _, v)), _) => Some(*v),
                (None, Some(d)) => self.eval_num(d),
                (None, None) => None,
            };
            self.hyper_defs
                .insert(name.clone(), (h.span, overridden.is_some()));
            if let Some(v) = value
                && !v.is_finite()
            {
                self.bad_hypers.insert(name.clone());
                self.error(
                    Diagnostic::new(
                        Code::E0103,
                        h.span,
                        format!("`{name}` is not a finite number"),
                    )
                    .label("evaluates to ±∞ or NaN"),
                );
            }
            self.define(&name, Sym::Hyper(value), h.name.span, None);
        }
    }

    /// Evaluates a numeric expression over hyper-parameters and bound integers.
    /// `None` when it has no value (symbolic, or an error that was reported).
    pub(super) fn eval_num(&mut self, e: &Expr) -> Option<f64> {
        let fail = match crate::eval::number(e, &|n| self.lookup_number(n)) {
            Ok(v) => return Some(v),
            Err(f) => f,
        };
        match fail {
            Fail::NoValue => {}
            Fail::NotFinite(x) => self.error(
                Diagnostic::new(Code::E0103, x.span, "this number is too large")
                    .label("not a finite number"),
            ),
            Fail::NotANumber(n, x) => {
                let name = self.canonical_plain(n);
                self.error(
                    Diagnostic::new(
                        Code::E0214,
                        x.span,
                        format!("`{name}` has no value here: only hyper-parameters and numbers can be used"),
                    )
                    .label("not a hyper-parameter"),
                );
            }
            Fail::Unknown(n, x) => {
                let name = self.canonical_plain(n);
                self.unknown_name(&name, x.span, n);
            }
            Fail::NotArithmetic(x) => self.error(
                Diagnostic::new(
                    Code::E0312,
                    x.span,
                    "expected a number or an expression of hyper-parameters",
                )
                .label("cannot be evaluated when the model is built"),
            ),
        }
        None
    }

    /// What a name is worth in a numeric expression: bound indices, then hyper-parameters.
    pub(super) fn lookup_number(&self, n: &ast::Name) -> Lookup {
        crate::resolve::lookup(n, self)
    }

    /// Evaluates an integer (family bounds, sum limits, subscripts); `None` if symbolic.
    pub(super) fn eval_int_quiet(&self, e: &Expr) -> Option<i64> {
        crate::eval::integer(e, &|n| self.lookup_number(n))
    }

    /// Evaluates a number lowering needs too, and records it for lowering
    /// (`ModelInfo::numbers`); `None` if it has no value here.
    pub(super) fn eval_recorded(&self, e: &Expr) -> Option<f64> {
        self.numbers.borrow_mut().evaluate(e, self)
    }

    /// [`ModelCx::eval_recorded`] as an integer (sum limits, the subscripts around `…`).
    pub(super) fn eval_int_recorded(&self, e: &Expr) -> Option<i64> {
        self.numbers.borrow_mut().evaluate_integer(e, self)
    }

    pub(super) fn eval_quiet(&self, e: &Expr) -> Option<f64> {
        crate::eval::number(e, &|n| self.lookup_number(n)).ok()
    }

    /// The hyper-parameters as written in the header, with `name` given `value`.
    pub(super) fn header_with(&self, name: &str, value: &str) -> String {
        let mut defs: Vec<(&String, &(Span, bool))> = self.hyper_defs.iter().collect();
        defs.sort_by_key(|(_, (span, _))| span.start);
        defs.iter()
            .map(|(n, (span, _))| {
                if n.as_str() == name {
                    format!("{name} = {value}")
                } else {
                    self.src().get(span.range()).unwrap_or(n).trim().to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
