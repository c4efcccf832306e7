//! Lowering a matrix defined entry by entry (`check::entries`): a constant folded into one
//! [`Op::Table`], or a matrix of values built from its entries, each lowered on its own and
//! put in place (`PlaceRow` into its row, `PlaceExampleCol` into its column of each
//! example's block, the placed entries summed), so that its gradient reads each entry back.

use super::{Bind, Cx, Fail, Lv, R, Scope, Val, canonical, unsupported};
use crate::ast;
use crate::check::entries::{Cell, matches};
use crate::check::numbers::Entries as Found;
use crate::ir::{Cols, Op, Shape};

impl Cx<'_, '_> {
    /// Lowers a run that defines a matrix entry by entry; false when it is not one (decided
    /// as checking decides).
    pub(super) fn entries(&mut self, run: &[ast::Stmt], scope: &mut Scope) -> bool {
        let Some(m) = matches(run) else {
            return false;
        };
        let canon = canonical(&m.name, scope);
        let span = m.cells[0].lhs.span;
        let Some(found) = self.entries_found(&m, scope) else {
            return false;
        };
        let result = match found {
            Found::Table(rows, cols, data) => {
                let k = self.graph.tables.len() as u32;
                self.graph.tables.push(data);
                self.push(Op::Table(k), Vec::new(), Shape::fixed(rows, cols), span)
                    .map(Lv::of)
            }
            Found::Refused => Err(Fail::Quiet),
            Found::Cells([rows, cols]) => {
                self.cell_values(&m.cells[0], rows as usize, cols as usize, scope)
            }
            Found::NotOfForm => return false,
        };
        let result = result.map(|v| {
            self.name_node(v.id, &canon);
            scope.last = Some((canon.clone(), v.id));
            scope.names.insert(canon, Val::Node(v));
        });
        self.record(result);
        true
    }

    /// `∑_{m,n}` entry (m, n) put in row m and column n of each example's block.
    fn cell_values(&mut self, c: &Cell<'_>, rows: usize, cols: usize, scope: &mut Scope) -> R<Lv> {
        let span = c.lhs.span;
        let mut entries = Vec::with_capacity(rows * cols);
        for a in 1..=rows {
            for b in 1..=cols {
                scope.binds.push((c.vars[0].clone(), Bind::Int(a as i64)));
                scope.binds.push((c.vars[1].clone(), Bind::Int(b as i64)));
                let v = self.value(c.rhs, scope);
                scope.binds.truncate(scope.binds.len() - 2);
                entries.push((a, b, v?.id));
            }
        }
        if !entries
            .iter()
            .any(|(_, _, id)| self.graph.shape(*id).cols.is_batch())
        {
            return Err(unsupported(
                span,
                "a matrix defined entry by entry whose entries are the same for every example",
            ));
        }
        let (rows32, cols32) = (rows as u32, cols as u32);
        let mut sum = None;
        for (a, b, id) in entries {
            let id = self.broadcast(id, Shape::batch(1), span)?;
            let row = self.op(
                Op::PlaceRow {
                    k: (a - 1) as u32,
                    rows: rows32,
                },
                &[id],
                span,
            )?;
            let placed = self.op(
                Op::PlaceExampleCol {
                    k: (b - 1) as u32,
                    n: cols32,
                },
                &[row],
                span,
            )?;
            sum = Some(match sum {
                None => placed,
                Some(s) => self.op(Op::Add, &[s, placed], span)?,
            });
        }
        let id = sum.ok_or(Fail::Quiet)?;
        debug_assert_eq!(self.graph.shape(id).cols, Cols::Batch(cols));
        Ok(Lv::of(id))
    }
}
