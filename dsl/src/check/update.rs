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
use crate::ast::{self, Expr};
use crate::diag::{Code, Diagnostic};

impl ModelCx<'_, '_> {
    pub(super) fn update(&mut self, lhs: &ast::Lhs, rhs: &Expr) {
        let step = crate::conventions::step_index(lhs)
            .filter(|t| self.bound(t).is_none() && !self.scope.contains_key(t));
        if let Some(t) = &step {
            self.binds.push((t.clone(), Bound::Batch));
        }
        self.update_entry(lhs, rhs);
        if step.is_some() {
            self.binds.pop();
        }
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
                    .help("an update writes an entry of a parameter `q : ℝ^{S×A}` or `v : ℝ^{S}` looked up with labels: `q[s_t, a_t] ← …`, `v[s] ← …`; a whole parameter is the optimiser's to update, and a new value in the forward pass (eq. 12.13's `X ← X + MhSa[X]`) is a new name, `X' = X + MhSa[X]`"),
                );
                return;
            }
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
