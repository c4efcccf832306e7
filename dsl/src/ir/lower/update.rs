//! Lowering of update rules (`check::update`): `q[s_t, a_t] ← e` lowers `e` as any
//! expression, with the step `t` as the example index, and records an [`Update`]: the
//! parameter, the label slot or fixed entry along each axis, and the output holding the new
//! values. Nothing is written in the graph: every output of a run is computed from the same
//! parameters, so the runtime, writing the entries after the run, makes the step simultaneous.

use super::{Bind, Cx, Item, R, Scope, canonical, item, unsupported};
use crate::ast::{self, Expr};
use crate::ir::{Update, UpdateIndex};

impl Cx<'_, '_> {
    pub(super) fn update(&mut self, lhs: &ast::Lhs, rhs: &Expr, scope: &mut Scope) -> R<()> {
        if crate::conventions::is_whole(lhs) {
            return self.update_whole(lhs, rhs, scope);
        }
        let step = crate::conventions::step_index(lhs).filter(|t| {
            scope.bound(t).is_none()
                && !scope.hypers.contains_key(t)
                && (!scope.names.contains_key(t) || self.graph.params.iter().any(|p| p.name == **t))
        });
        if let Some(t) = &step {
            scope.binds.push((t.clone(), Bind::Batch));
        }
        let out = self.update_entry(lhs, rhs, scope);
        if step.is_some() {
            scope.binds.pop();
        }
        out
    }

    /// A whole rule (`conventions::steps`): the right side's value is named `m_{t+1}`; when
    /// the left side is a parameter, an [`Update`] with no index writes all of it with that
    /// value, after the run.
    fn update_whole(&mut self, lhs: &ast::Lhs, rhs: &Expr, scope: &mut Scope) -> R<()> {
        let name = canonical(&lhs.name, scope);
        let next = canonical(&crate::conventions::next_name(&name, lhs.span), scope);
        let v = self.value(rhs, scope)?;
        scope.names.insert(next, super::Val::Node(v));
        if let Some(param) = self.graph.params.iter().position(|p| p.name == name) {
            let output = format!("{name} ←");
            scope.outputs.push((output.clone(), v.id));
            self.graph.updates.push(Update {
                param: param as u32,
                index: Vec::new(),
                output,
            });
        }
        Ok(())
    }

    fn update_entry(&mut self, lhs: &ast::Lhs, rhs: &Expr, scope: &mut Scope) -> R<()> {
        let name = canonical(&lhs.name, scope);
        let param = self
            .graph
            .params
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| unsupported(lhs.span, "an update of a sub-model's table"))?;
        let mut index = Vec::new();
        for a in lhs.args.iter().flatten() {
            index.push(match item(a, scope) {
                Item::Int(k) if k >= 1 => UpdateIndex::Fixed((k - 1) as u32),
                Item::Label(l) => {
                    let slot = self.graph.inputs.iter().position(|s| s.name == l);
                    UpdateIndex::Label(
                        slot.ok_or_else(|| unsupported(a.span, "this index of an update"))? as u32,
                    )
                }
                _ => return Err(unsupported(a.span, "this index of an update")),
            });
        }
        let v = self.value(rhs, scope)?;
        let output = format!("{name} ←");
        scope.outputs.push((output.clone(), v.id));
        self.graph.updates.push(Update {
            param: param as u32,
            index,
            output,
        });
        Ok(())
    }
}
