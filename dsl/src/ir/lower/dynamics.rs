//! Lowering of an environment's dynamics (`check::dynamics`): the expected reward `r` is a
//! parameter `r ∈ ℝ^{S×A}` and the transitions a parameter `Pr ∈ ℝ^{S×(A·S)}` (row `s`,
//! column `a·S + s'`, from 0), each made once, in the group `env` that no loss trains; the
//! runtime fills both from the environment. `r[s, a]` is then an ordinary table lookup, and
//! `Pr(s'|s, a)` the row of `s` (`Prᵀ OneHot(s)`, or a row of `Pr` for a number) and the
//! entry of the column `a·S + s'`, which needs `s'` to be a number (inside `∑_{s'=1}^{S}`);
//! `a` is a number (inside `max_{a=1}^{A}`), or labels per example (the policy's `π[s]`):
//! then the entries of `s'` under every action are stacked and each example's picked.

use super::rl::Index;
use super::{Cx, Item, Lv, R, Scope, Val, item, unsupported};
use crate::ast::Expr;
use crate::check::dynamics::{LAKE, REWARD, TRANSITIONS, known};
use crate::diag::Span;
use crate::ir::{Init, Op, Role, Shape, Slot};

impl Cx<'_, '_> {
    /// The parameter of the environment's table `name` (`r` or `Pr`), made on first use.
    pub(super) fn env_table(&mut self, name: &str, span: Span, scope: &mut Scope) -> R<Option<Lv>> {
        if !known(self.graph.env.as_deref()) || (name != REWARD && name != TRANSITIONS) {
            return Ok(None);
        }
        if let Some(Val::Node(v)) = scope.names.get(name) {
            return Ok(Some(*v));
        }
        let (s, a) = LAKE;
        let cols = if name == REWARD { a } else { a * s };
        let shape = Shape::fixed(s, cols);
        let index = self.graph.params.len() as u32;
        let id = self.push(Op::Param(index), Vec::new(), shape, span)?;
        self.graph.inits.resize(index as usize, Init::Default);
        self.graph.inits.push(Init::Const(0.0));
        self.graph.params.push(Slot {
            name: name.to_string(),
            shape,
            labels: None,
            entry_labels: None,
            group: Some("env".to_string()),
            node: id,
            dist: None,
            role: Role::Param,
        });
        scope.names.insert(name.to_string(), Val::Node(Lv::of(id)));
        Ok(Some(Lv::of(id)))
    }

    /// `Pr(s'|s, a)`.
    pub(super) fn prob(
        &mut self,
        event: &Expr,
        given: &[Expr],
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        let [from, action] = given else {
            return Err(unsupported(span, "this probability"));
        };
        let Some(p) = self.env_table(TRANSITIONS, span, scope)? else {
            return Err(unsupported(span, "this probability"));
        };
        let (states, actions) = LAKE;
        let Item::Int(to) = item(event, scope) else {
            return Err(unsupported(
                span,
                "`Pr(s'|s, a)` with a label for `s'` (write it as the index of `∑_{s'=1}^{S}`)",
            ));
        };
        let action = self.table_index(action, scope)?;
        let row = match item(from, scope) {
            Item::Label(name) => {
                let hot = self.one_hot(p.id, &name, scope, span)?;
                self.push(
                    Op::MatMul {
                        ta: true,
                        tb: false,
                    },
                    vec![p.id, hot],
                    Shape::batch(actions * states),
                    span,
                )?
            }
            Item::Int(k) if k >= 1 && k as usize <= states => {
                let r = self.op(Op::Row((k - 1) as u32), &[p.id], span)?;
                self.op(Op::Transpose, &[r], span)?
            }
            _ => return Err(unsupported(from.span, "this state of `Pr(s'|s, a)`")),
        };
        let col = |a: i64| ((a - 1) * states as i64 + (to - 1)) as u32;
        let id = match action {
            Index::Int(a) => self.op(Op::Row(col(a)), &[row], span)?,
            // The policy's action `π[s]`: the rows of `s'` under every action, stacked, then
            // each example's row at its action.
            Index::Label(y, lo) => {
                let mut rows = Vec::with_capacity(actions);
                for a in 1..=actions as i64 {
                    rows.push(self.op(Op::Row(col(a)), &[row], span)?);
                }
                let stacked = self.op(Op::ConcatRows, &rows, span)?;
                self.op(Op::PickLabel { lo }, &[stacked, y], span)?
            }
        };
        Ok(Val::Node(Lv::of(id)))
    }
}
