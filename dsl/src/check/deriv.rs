//! Derivatives inside a spec: `∂f[x, φ]/∂x` (eq. 15.17), `‖∂f[x̂, φ]/∂x̂‖` (a gradient
//! penalty) and `‖∂L/∂φ‖²` (the gradient-norm regulariser of eq. 9.8).
//!
//! What is differentiated is one number: a scalar per example (then the derivative is per
//! example, of the shape of the value it is taken with respect to) or a global scalar. A
//! derivative with respect to a value (an input, noise, or a named intermediate value) is a
//! value like any other; a derivative with respect to parameters (one parameter or a group) is
//! only read through its norm, `‖∂L/∂φ‖` or `‖∂L/∂φ‖²`: elsewhere it would be a training step,
//! which is the optimiser's. Whether the value depends on what it is differentiated with
//! respect to, and whether the examples stay apart on the way, is decided on the graph by
//! lowering (`ir/lower/deriv.rs`, E0328, E0329).

use super::shape::Val;
use super::{Entry, ModelCx, Sym};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};

/// What a derivative is taken with respect to.
enum Wrt {
    /// Parameters: a group (`φ`) or one parameter (`ω`).
    Params(String),
    /// A value: an input, noise or a named value, with its type.
    Value(Val),
}

impl ModelCx<'_, '_> {
    /// `∂of/∂wrt`; `in_norm` when it is the argument of a norm `‖·‖`, the only place a
    /// derivative with respect to parameters may stand.
    pub(super) fn deriv(
        &mut self,
        of: &Expr,
        wrt: &ast::Name,
        span: Span,
        in_norm: bool,
    ) -> Option<Val> {
        if self.look_ahead(of, wrt) {
            return None;
        }
        let target = self.wrt(wrt);
        let v = self.expr(of)?;
        let target = target?;
        let what = self.snippet(of.span);
        let by = self.snippet(wrt.span);
        if !v.shape.is_scalar() {
            self.error(
                Diagnostic::new(
                    Code::E0401,
                    span,
                    format!(
                        "the derivative of {what}, {}, is a Jacobian matrix, which is not supported yet",
                        v.shape.describe()
                    ),
                )
                .label("not one number")
                .help("a derivative inside a spec is of one number (per example): a component `∂h_1/∂x`, a sum `∂(𝟏ᵀ h)/∂x`, or the model's scalar output `∂f[x, φ]/∂x` (eq. 15.17)"),
            );
            return None;
        }
        match target {
            Wrt::Params(name) => {
                if v.per_example {
                    self.error(
                        Diagnostic::new(
                            Code::E0326,
                            span,
                            format!("{what} is one number per example, and {by} is the same for every example"),
                        )
                        .label("a derivative per example with respect to parameters")
                        .help(format!("differentiate a number for the whole batch, a loss or a sum `L = ∑_i ℓ_i`, then `‖∂L/∂{name}‖²` (eq. 9.8)")),
                    );
                    return None;
                }
                if self.in_rule && !in_norm {
                    return self.rule_gradient(&name, span);
                }
                if !in_norm {
                    self.error(
                        Diagnostic::new(
                            Code::E0401,
                            span,
                            format!("the gradient with respect to the parameters {by} is only supported inside a norm"),
                        )
                        .label("not inside `‖·‖`")
                        .help(format!("the compiler derives ∂L/∂φ of every `loss` for the optimiser; a step written in the spec is a rule, `φ_{{t+1}} ← φ_t − α ∂L/∂φ` (eq. 6.3), and a regulariser reads its norm, `‖∂L/∂{name}‖²` (eq. 9.8)")),
                    );
                    return None;
                }
                // Read through its norm only: the norm makes it one number.
                Some(Val::scalar())
            }
            Wrt::Value(w) => {
                if w.per_example != v.per_example {
                    let (msg, help) = if w.per_example {
                        (
                            format!("{what} is one number for the whole batch, and {by} is per example"),
                            "differentiate a number per example (`∂f[x, φ]/∂x`, eq. 15.17), not a sum over the batch".to_string(),
                        )
                    } else {
                        (
                            format!("{what} is one number per example, and {by} is the same for every example"),
                            "differentiate a number for the whole batch (sum over the batch first), or with respect to a value per example".to_string(),
                        )
                    };
                    self.error(
                        Diagnostic::new(Code::E0326, span, msg)
                            .label("one side per example, the other not")
                            .help(help),
                    );
                    return None;
                }
                if w.labels.is_some() {
                    self.error(
                        Diagnostic::new(
                            Code::E0325,
                            wrt.span,
                            format!("{by} holds class labels, which nothing is differentiable with respect to"),
                        )
                        .label("class labels")
                        .help("differentiate with respect to a real value: an input, noise or a named value"),
                    );
                    return None;
                }
                Some(Val {
                    shape: w.shape,
                    per_example: w.per_example,
                    labels: None,
                    diagonal: false,
                    structure: Default::default(),
                })
            }
        }
    }

    /// What `∂…/∂wrt` differentiates with respect to; `None` after reporting why it cannot be.
    /// `∂L/∂φ` on the right side of a whole rule (eq. 6.3): the gradient of the loss with
    /// respect to one parameter, a value of its shape.
    fn rule_gradient(&mut self, name: &str, span: Span) -> Option<Val> {
        if let Some(Entry {
            sym: Sym::Param(p, _),
            ..
        }) = self.scope.get(name)
        {
            return Some(Val {
                per_example: false,
                labels: None,
                ..p.clone()
            });
        }
        self.error(
            Diagnostic::new(
                Code::E0401,
                span,
                format!("the gradient with respect to the group `{name}` is one matrix per parameter"),
            )
            .label("a group of parameters")
            .help("a rule updates one parameter with its own gradient: declare `φ` as one parameter (`param φ : ℝ^{2}`), or write one rule per parameter, `ω_{t+1} ← ω_t − α ∂L/∂ω`"),
        );
        None
    }

    fn wrt(&mut self, wrt: &ast::Name) -> Option<Wrt> {
        let full = self.canonical_plain(wrt);
        let entry = self.scope.get(&full).cloned();
        let not_a_value = |cx: &mut Self, what: &str| {
            let by = cx.snippet(wrt.span);
            cx.error(
                Diagnostic::new(
                    Code::E0325,
                    wrt.span,
                    format!("{by} is {what}, which nothing is differentiated with respect to"),
                )
                .label(what.to_string())
                .help("differentiate with respect to an input, noise, a named value (`∂f[x̂, φ]/∂x̂`, eq. 15.17) or parameters inside a norm (`‖∂L/∂φ‖²`, eq. 9.8)"),
            );
            None
        };
        match entry {
            Some(Entry {
                sym: Sym::Group, ..
            }) => Some(Wrt::Params(full)),
            Some(Entry {
                sym: Sym::Param(..),
                ..
            }) => Some(Wrt::Params(full)),
            Some(Entry {
                sym: Sym::Hyper(_), ..
            }) => not_a_value(self, "a hyper-parameter, a number"),
            Some(Entry {
                sym: Sym::Func(_), ..
            }) => not_a_value(self, "a function"),
            Some(Entry {
                sym: Sym::Poisoned, ..
            }) => None,
            None if self.groups.contains(&full) || (self.groups.is_empty() && full == "φ") => {
                Some(Wrt::Params(full))
            }
            _ => {
                let w = self.name_value(wrt, wrt.span)?;
                Some(Wrt::Value(w))
            }
        }
    }
}

impl ModelCx<'_, '_> {
    /// `∂L[φ_t − α β · m_t]/∂φ` in a rule: the loss's gradient at another point than the
    /// parameters (Nesterov momentum's look-ahead, eq. 6.12), which is `E0231` — reported, so
    /// `true`. The step computes the loss once, at the parameters' values, and `∂L/∂φ` is its
    /// gradient there; evaluating the loss again at a point the rules compute is not supported.
    fn look_ahead(&mut self, of: &Expr, wrt: &ast::Name) -> bool {
        let ExprKind::Call { func, args } = &of.kind else {
            return false;
        };
        if !self.in_rule || !func.sub.is_empty() {
            return false;
        }
        let name = self.canonical_plain(func);
        if !matches!(
            self.scope.get(&name),
            Some(Entry {
                sym: Sym::Value(_),
                ..
            })
        ) {
            return false;
        }
        let point = args
            .first()
            .map_or("this".to_string(), |a| self.snippet(a.span));
        let by = self.canonical_plain(wrt);
        self.error(
            Diagnostic::new(
                Code::E0231,
                of.span,
                format!("the gradient of `{name}` at {point}, another point than the parameters' values, is not supported yet"),
            )
            .label("a look-ahead point")
            .help(format!("a step computes `{name}` once, at the parameters' values, and `∂{name}/∂{by}` is its gradient there; Nesterov momentum (eq. 6.12) needs `{name}` a second time at the look-ahead point, which a rule cannot ask for yet: write momentum as eq. 6.11 prints it, `m_{{t+1}} ← β · m_t + (1 - β) ∂{name}/∂{by}`")),
        );
        true
    }
}
