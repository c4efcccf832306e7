//! Update rules (eqs. 19.11–19.15): `q[s_t, a_t] ← q[s_t, a_t] + α (r[s_t, a_t] + γ · max_{a'}
//! [q[s_{t+1}, a']] − q[s_t, a_t])`. The left side is an entry of a parameter's table, looked
//! up as any table (`check::table`, `E0330`), with labels or numbers; the right side is an
//! ordinary expression, one number per example. The subscript of the left side's indices
//! (`t` of `s_t`) is the step, the example index of the statement: the examples of an update
//! are the transitions (or the states of a sweep) it is applied to, and `s_{t+1}` is the
//! transition's next state `s'` (`conventions::next_step`). The model's `←` statements form
//! one update step: every right side is read before any entry is written (lowering makes each
//! an output, `ir::Update`; the runtime writes them after one run of the graph).

use super::shape::Shape;
use super::{Bound, Entry, ModelCx, Sym};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic};
use std::collections::BTreeSet;

impl ModelCx<'_, '_> {
    pub(super) fn update(&mut self, lhs: &ast::Lhs, rhs: &Expr) {
        if crate::conventions::is_whole(lhs) {
            self.update_whole(lhs, rhs);
            return;
        }
        // A parameter `t` (the step counter `A_t` reads) is not the index: inside the rule,
        // `s_t` is the transition's state.
        let step = crate::conventions::step_index(lhs).filter(|t| {
            self.bound(t).is_none()
                && !matches!(self.scope.get(t), Some(e) if !matches!(e.sym, Sym::Param(..)))
        });
        if let Some(t) = &step {
            self.binds.push((t.clone(), Bound::Batch));
        }
        self.update_entry(lhs, rhs);
        if step.is_some() {
            self.binds.pop();
        }
    }

    /// A whole rule (`conventions::steps`): `m ← β m + (1 − β) ∂L/∂φ` writes the parameter `m`
    /// with a value of its shape, the same for every example; `m̃ ← …` of a name not declared
    /// defines a value of the step. Either way the new value is named `m_{t+1}`.
    fn update_whole(&mut self, lhs: &ast::Lhs, rhs: &Expr) {
        let name = self.canonical_plain(&lhs.name);
        let next = crate::conventions::next_name(&name, lhs.span);
        let next = self.canonical_plain(&next);
        let param = match self.scope.get(&name) {
            Some(Entry {
                sym: Sym::Poisoned, ..
            }) => {
                self.define(&next, Sym::Poisoned, lhs.span, None);
                return;
            }
            Some(Entry {
                sym: Sym::Param(v, _),
                ..
            }) => Some(v.clone()),
            None => None,
            Some(_) => {
                self.error(
                    Diagnostic::new(
                        Code::E0242,
                        lhs.span,
                        format!("`{name}` is defined by the model, not a parameter a rule can write"),
                    )
                    .label("not a parameter")
                    .help("a rule writes a parameter (`m_{t+1} ← β m_t + (1 − β) ∂L/∂φ`, with `param m : ℝ^{2} = 0`) or names a new value of the step (`m̃_{t+1} ← m_{t+1}/(1 − β^{t+1})`)"),
                );
                self.define(&next, Sym::Poisoned, lhs.span, None);
                return;
            }
        };
        self.in_rule = true;
        let v = self.expr(rhs);
        self.in_rule = false;
        let Some(v) = v else {
            self.define(&next, Sym::Poisoned, lhs.span, None);
            return;
        };
        let wrong = match &param {
            _ if v.per_example => Some("one value per example".to_string()),
            Some(p) if !p.shape.same(&v.shape) => Some(format!(
                "{}, not {} like `{name}`",
                v.shape.describe(),
                p.shape.describe()
            )),
            _ => None,
        };
        if let Some(what) = wrong {
            self.error(
                Diagnostic::new(
                    Code::E0243,
                    rhs.span,
                    format!("the new value of `{name}` is {what}"),
                )
                .label("not the parameter's value")
                .help("a rule's right side is one value for the step, of the shape of what it writes: sum over the examples (the loss's gradient `∂L/∂φ` already does)"),
            );
        }
        if param.is_some() && !self.updated.insert(name.clone()) {
            self.error(
                Diagnostic::new(
                    Code::E0244,
                    lhs.span,
                    format!("`{name}` is updated by two `←` statements"),
                )
                .label("a second update")
                .help("the `←` statements of a model are one step; write each parameter once, naming the values between (`m̃_{t+1} ← …`)"),
            );
        }
        self.define(
            &next,
            Sym::Value(v),
            lhs.span,
            Some(super::SymbolKind::Value),
        );
    }

    /// A model with `←` rules and a loss: the rules are its training step, the built-in
    /// optimiser is not run, so a loss is trained only through a rule that reads its gradient
    /// (`φ_{t+1} ← φ_t − α ∂L/∂φ`). A loss no rule reads would silently stay untrained: `E0247`.
    pub(super) fn rules_and_losses(&mut self, model: &ast::Model) {
        let mut read = BTreeSet::new();
        let mut any = false;
        for s in &model.stmts {
            if let ast::StmtKind::Update { rhs, .. } = &s.kind {
                any = true;
                let mut e = rhs.clone();
                self.gradients_read(&mut e, &mut read);
            }
        }
        if !any {
            return;
        }
        for s in &model.stmts {
            let ast::StmtKind::Equation {
                lhs, loss: true, ..
            } = &s.kind
            else {
                continue;
            };
            let name = self.canonical_plain(&lhs.name);
            if !read.contains(&name) {
                self.error(
                    Diagnostic::new(
                        Code::E0247,
                        lhs.span,
                        format!("the loss `{name}` is read by no `←` rule, which are the model's training step"),
                    )
                    .label("never trained")
                    .help(format!("a model with update rules is trained by them alone: write the step that trains it, `φ_{{t+1}} ← φ_t − α ∂{name}/∂φ` (eq. 6.3), or put the loss in a model of its own")),
                );
            }
        }
    }

    /// The names whose gradient `∂L/∂…` the expression reads.
    fn gradients_read(&self, e: &mut Expr, read: &mut BTreeSet<String>) {
        if let ExprKind::Deriv { of, .. } = &e.kind
            && let ExprKind::Name(n) | ExprKind::Call { func: n, .. } = &of.kind
        {
            read.insert(self.canonical_plain(n));
        }
        crate::conventions::for_each_child(e, &mut |c| self.gradients_read(c, read));
    }

    fn update_entry(&mut self, lhs: &ast::Lhs, rhs: &Expr) {
        let written = self
            .src()
            .get(lhs.span.range())
            .unwrap_or_default()
            .to_string();
        let name = self.canonical_plain(&lhs.name);
        let table = match self.scope.get(&name) {
            Some(Entry {
                sym: Sym::Poisoned, ..
            }) => {
                self.expr(rhs);
                return;
            }
            Some(Entry {
                sym: Sym::Param(v, _),
                ..
            }) => matches!(v.shape, Shape::Col(_) | Shape::Mat(..)),
            _ => false,
        };
        let entry = match (&lhs.args, table && !lhs.name.frozen && !lhs.squared) {
            (Some(args), true) => self.table(&lhs.name, args, lhs.span),
            _ => None,
        };
        match entry {
            Some(None) => {}
            Some(Some(_)) => {
                if !self.updated.insert(name.clone()) {
                    self.error(
                        Diagnostic::new(
                            Code::E0244,
                            lhs.span,
                            format!("`{name}` is updated by two `←` statements"),
                        )
                        .label("a second update of this table")
                        .help("the `←` statements of a model are one step, each right side read before any entry is written; update each table once per step"),
                    );
                }
            }
            None => {
                // The right side is not checked: its reading depends on what it updates.
                self.error(
                    Diagnostic::new(
                        Code::E0242,
                        lhs.span,
                        format!("`{written}` is not an entry of a parameter's table"),
                    )
                    .label("not a table entry")
                    .help("an update writes an entry of a parameter `q : ℝ^{S×A}` or `v : ℝ^{S}` looked up with labels (`q[s_t, a_t] ← …`, `v[s] ← …`), or a whole parameter, bare or at the next step (`φ_{t+1} ← φ_t − α ∂L/∂φ`, eq. 6.3); a new value in the forward pass (eq. 12.13's `X ← X + MhSa[X]`) is a new name, `X' = X + MhSa[X]`"),
                );
                return;
            }
        }
        if let Some(labels) = self.labels_of_table(&name) {
            self.label_rule(&written, &labels, rhs);
        }
        let Some(v) = self.expr(rhs) else { return };
        if !matches!(v.shape, Shape::Scalar) {
            self.error(
                Diagnostic::new(
                    Code::E0243,
                    rhs.span,
                    format!(
                        "the new value of `{written}` is {}, not one number",
                        v.shape.describe()
                    ),
                )
                .label("not one number")
                .help("an entry of a table takes one number per transition: pick a component, or look the table up with labels (`q[s_t, a_t]`)"),
            );
        }
    }
}

impl ModelCx<'_, '_> {
    /// The right side of a rule writing a table of labels (`π[s] ← argmax_{a=1}^{A} […]`,
    /// eq. 19.12's greedy improvement): an `argmax` or `argmin` whose limits lie in the
    /// table's label set, so every entry written is one of its labels (`E0228` otherwise).
    fn label_rule(&mut self, written: &str, labels: &super::shape::Labels, rhs: &Expr) {
        let lo = labels.lo;
        let hi = labels.count.value.map(|n| lo + n - 1);
        let set = match hi {
            Some(hi) => format!("{{{lo} … {hi}}}"),
            None => format!("{{{lo} … }}"),
        };
        let problem = match &rhs.kind {
            ExprKind::Big {
                op: ast::BigOp::ArgMax | ast::BigOp::ArgMin,
                binder,
                upper,
                ..
            } => {
                let from = binder
                    .as_ref()
                    .and_then(|b| b.lo.as_deref())
                    .and_then(|e| self.eval_num(e));
                let to = upper.as_deref().and_then(|e| self.eval_num(e));
                match (from, to) {
                    (Some(a), Some(b)) if a >= lo as f64 && hi.is_none_or(|h| b <= h as f64) => {
                        None
                    }
                    (Some(_), Some(_)) => Some("an index range outside its labels"),
                    _ => Some("an index without limits"),
                }
            }
            _ => Some("not an `argmax` or `argmin`"),
        };
        if let Some(p) = problem {
            self.error(
                Diagnostic::new(
                    Code::E0228,
                    rhs.span,
                    format!("`{written}` holds labels of {set}, and this right side is {p}"),
                )
                .label(p)
                .help(format!("a table of labels takes the label that is best: `{written} ← argmax_{{a={lo}}}^{{…}} […]` (eq. 19.12), its index running over the labels")),
            );
        }
    }
}
