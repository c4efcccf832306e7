//! Lowering of chapter 19's constructs (`check::table`): tables indexed by labels and frozen
//! copies.
//!
//! - A table lookup `q[s_i, a_i]` (a fixed `Q ∈ ℝ^{S×A}`, labels `s ∈ {1 … S}`, `a ∈ {1 … A}`)
//!   is `e_sᵀ Q e_a` in existing ops: the rows picked by a product with the one-hot matrix of
//!   the first label, `Qᵀ OneHot(s)` (`A × B`, each example's row of `Q` as its column), then
//!   the entry picked by the second label, `PickLabel`; a number instead of a label is a row
//!   (`Row`). `v[s_i]` of a vector is `vᵀ OneHot(s)`. The gradient with respect to `Q` is the
//!   product's, `OneHot(s) ḡᵀ`: each example's `ḡ` lands in the entry it read.
//! - A row `u_i` of the matrix `U` (`check::table`'s `row`) is the first step alone,
//!   `Uᵀ OneHot(i)`: each example's row of `U` as its column.
//! - A frozen copy `β⁻` of a parameter `β` (eq. 19.18's `φ⁻`) is a parameter of its own, made
//!   once per graph (`Cx::frozen_copy`), in the group `φ⁻` that no loss names, and recorded in
//!   `Graph::frozen`: no gradient flows from it to `β`, and training refreshes it from `β`. A
//!   model function called with a frozen group, `q[s'_i, φ⁻]`, is inlined with every
//!   parameter of the group read as its copy.

use super::{Cx, Item, Lv, R, Scope, Val, canonical, item, unsupported};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::Span;
use crate::ir::{Cols, Init, NodeId, Op, Role, Slot};

impl Cx<'_, '_> {
    /// `q[s_i, a_i]`, `v[s_i]`, `q⁻[s'_i, a]`: `None` when `fname` is not a table (a fixed
    /// vector or matrix in scope, called with as many indices as it has axes).
    pub(super) fn table(
        &mut self,
        fname: &ast::Name,
        args: &[Expr],
        span: Span,
        scope: &mut Scope,
    ) -> R<Option<Val>> {
        if !fname.sub.is_empty() || !(1..=2).contains(&args.len()) {
            return Ok(None);
        }
        let mut thawed = fname.clone();
        thawed.frozen = false;
        let name = canonical(&thawed, scope);
        let t = match scope.names.get(&name).cloned() {
            Some(Val::Node(t)) => t,
            None => match self.env_table(&name, span, scope)? {
                Some(t) => t,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let shape = self.graph.shape(t.id);
        // `r[s_t, a_t]`: a number observed per example, looked up with its own labels.
        if shape.rows == 1
            && shape.cols == Cols::Batch(1)
            && args
                .iter()
                .all(|a| matches!(item(a, scope), Item::Label(_)))
        {
            return Ok(Some(Val::Node(t)));
        }
        let axes = if shape.cols == Cols::Fixed(1) { 1 } else { 2 };
        if !matches!(shape.cols, Cols::Fixed(_)) || axes != args.len() {
            return Ok(None);
        }
        let mut x = t.id;
        if fname.frozen {
            x = self.frozen_of(x, span)?;
        }
        if axes == 2 {
            // The rows: each example's row of the table as its column (`Qᵀ OneHot(s)`), or
            // one row as a column.
            x = match self.table_index(&args[0], scope)? {
                Index::Int(k) => {
                    let row = self.row_of(x, k, span)?;
                    self.op(Op::Transpose, &[row], span)?
                }
                Index::Label(y, lo) => {
                    let hot = self.one_hot_of(x, y, lo, span)?;
                    self.rows_at(x, hot, span)?
                }
            };
        }
        let id = match self.table_index(&args[axes - 1], scope)? {
            Index::Int(k) => self.row_of(x, k, span)?,
            Index::Label(y, lo) if self.graph.shape(x).cols == Cols::Fixed(1) => {
                self.entry_at(x, y, lo, span)?
            }
            Index::Label(y, lo) => self.op(Op::PickLabel { lo }, &[x, y], span)?,
        };
        Ok(Some(Val::Node(Lv::of(id))))
    }

    /// `Qᵀ OneHot(s)`: each example's row of the fixed matrix `x` at its label, as a column.
    fn rows_by_label(&mut self, x: NodeId, label: &str, scope: &Scope, span: Span) -> R<NodeId> {
        let hot = self.one_hot(x, label, scope, span)?;
        self.rows_at(x, hot, span)
    }

    /// `xᵀ hot`: each example's row of `x` picked by its one-hot column, as a column.
    fn rows_at(&mut self, x: NodeId, hot: NodeId, span: Span) -> R<NodeId> {
        self.push(
            Op::MatMul {
                ta: true,
                tb: false,
            },
            vec![x, hot],
            self.graph.shape(hot),
            span,
        )
    }

    /// `u_i`: row `i` of the matrix `U` as a column per example (`check::table`'s `row`);
    /// `None` when the name is not that reading.
    pub(super) fn table_row(
        &mut self,
        n: &ast::Name,
        items: &[Item],
        scope: &Scope,
        span: Span,
    ) -> R<Option<Val>> {
        let ([Item::Label(label)], false) = (items, n.frozen) else {
            return Ok(None);
        };
        let mut letters = n.word.chars();
        let (Some(c), None) = (letters.next(), letters.next()) else {
            return Ok(None);
        };
        let upper: String = c.to_uppercase().collect();
        let matrix = crate::names::build(&upper, n.primes, false, &[]);
        let Some(Val::Node(t)) = scope.names.get(&matrix).cloned() else {
            return Ok(None);
        };
        if !matches!(self.graph.shape(t.id).cols, Cols::Fixed(_)) {
            return Ok(None);
        }
        let id = self.rows_by_label(t.id, label, scope, span)?;
        Ok(Some(Val::Node(Lv::of(id))))
    }

    /// `vᵀ OneHot(s)`: the entry of the fixed vector `x` at each example's label (what
    /// `Cx::pick` does for a vector the same for every example).
    pub(super) fn table_entry(
        &mut self,
        x: NodeId,
        label: &str,
        scope: &Scope,
        span: Span,
    ) -> R<NodeId> {
        let (lo, _) = scope.labels.get(label).copied().unwrap_or((0, 0));
        let Some(Val::Node(y)) = scope.names.get(label).cloned() else {
            return Err(unsupported(span, format!("the label `{label}`")));
        };
        self.entry_at(x, y.id, lo, span)
    }

    /// `vᵀ OneHot(y)`: the entry of the fixed vector `x` at each of the labels `y`.
    fn entry_at(&mut self, x: NodeId, y: NodeId, lo: i32, span: Span) -> R<NodeId> {
        let hot = self.one_hot_of(x, y, lo, span)?;
        let mut s = self.graph.shape(hot);
        s.rows = 1;
        self.push(
            Op::MatMul {
                ta: true,
                tb: false,
            },
            vec![x, hot],
            s,
            span,
        )
    }

    /// Row `k` (counted from 1) of `x`.
    fn row_of(&mut self, x: NodeId, k: i64, span: Span) -> R<NodeId> {
        let rows = self.graph.shape(x).rows as i64;
        if k < 1 || k > rows {
            return Err(unsupported(span, format!("entry {k} of {rows}")));
        }
        self.op(Op::Row((k - 1) as u32), &[x], span)
    }

    /// The one-hot matrix of the labels `label` over the rows of `x`.
    pub(super) fn one_hot(
        &mut self,
        x: NodeId,
        label: &str,
        scope: &Scope,
        span: Span,
    ) -> R<NodeId> {
        let (lo, _) = scope.labels.get(label).copied().unwrap_or((0, 0));
        let Some(Val::Node(y)) = scope.names.get(label).cloned() else {
            return Err(unsupported(span, format!("the label `{label}`")));
        };
        self.one_hot_of(x, y.id, lo, span)
    }

    /// The one-hot matrix of the labels `y` (first label `lo`) over the rows of `x`.
    fn one_hot_of(&mut self, x: NodeId, y: NodeId, lo: i32, span: Span) -> R<NodeId> {
        let rows = self.graph.shape(x).rows as u32;
        self.op(Op::OneHot { rows, lo }, &[y], span)
    }

    /// An index of a table or of `Pr(s'|s, a)` (`check::table_ix`): a number, a label input,
    /// or the entry `π[s]` of a table of labels, a label per example computed by its lookup.
    pub(super) fn table_index(&mut self, e: &Expr, scope: &mut Scope) -> R<Index> {
        match item(e, scope) {
            Item::Int(k) => return Ok(Index::Int(k)),
            Item::Label(name) => {
                let (lo, _) = scope.labels.get(&name).copied().unwrap_or((0, 0));
                let Some(Val::Node(y)) = scope.names.get(&name).cloned() else {
                    return Err(unsupported(e.span, format!("the label `{name}`")));
                };
                return Ok(Index::Label(y.id, lo));
            }
            _ => {}
        }
        if let ExprKind::Call { func, .. } = &e.kind
            && let Some(Val::Node(t)) = scope.names.get(&canonical(func, scope)).cloned()
            && let Op::Param(k) = self.graph.node(t.id).op
            && let Some((lo, _)) = self.graph.params[k as usize].entry_labels
        {
            let y = self.value(e, scope)?;
            return Ok(Index::Label(y.id, lo));
        }
        Err(unsupported(e.span, "this index of a table"))
    }

    /// The frozen copy of what `x` reads: the copy's node for a parameter; any other value
    /// is held as it is, with no gradient flowing back (`Op::StopGradient`).
    pub(super) fn frozen_of(&mut self, x: NodeId, span: Span) -> R<NodeId> {
        match self.graph.node(x).op {
            Op::Param(k) => self.frozen_copy(k, span),
            _ => self.op(Op::StopGradient, &[x], span),
        }
    }

    /// The node of parameter `k`'s frozen copy, made on first use: `β⁻` beside `β`, `Ω⁻_1`
    /// beside `Ω_1`, in the group of `β` with the frozen mark (`φ⁻` when it has none).
    fn frozen_copy(&mut self, k: u32, span: Span) -> R<NodeId> {
        let src = self.graph.params[k as usize].clone();
        if src.name.contains('.') {
            return Err(unsupported(
                span,
                "a frozen copy of a sub-model's parameters",
            ));
        }
        let name = match src.name.split_once('_') {
            Some((head, sub)) => format!("{head}⁻_{sub}"),
            None => format!("{}⁻", src.name),
        };
        if let Some(&id) = self.instances.get(&name) {
            return Ok(id);
        }
        let index = self.graph.params.len() as u32;
        let id = self.push(Op::Param(index), Vec::new(), src.shape, span)?;
        let init = self
            .graph
            .inits
            .get(k as usize)
            .cloned()
            .unwrap_or(Init::Default);
        self.graph.inits.resize(index as usize, Init::Default);
        self.graph.inits.push(init);
        let group = format!("{}⁻", src.group.as_deref().unwrap_or("φ"));
        self.graph.params.push(Slot {
            name: name.clone(),
            shape: src.shape,
            labels: None,
            entry_labels: None,
            group: Some(group),
            node: id,
            dist: None,
            role: Role::Param,
        });
        self.graph.frozen.push((index, k));
        self.instances.insert(name, id);
        Ok(id)
    }

    /// Rebinds every parameter of `group` in `scope` to its frozen copy, returning what to
    /// put back (`unfreeze`).
    pub(super) fn freeze_group(
        &mut self,
        group: &[String],
        scope: &mut Scope,
        span: Span,
    ) -> R<Vec<(String, Val)>> {
        let mut saved = Vec::new();
        for name in group {
            if let Some(Val::Node(v)) = scope.names.get(name).cloned() {
                let copy = self.frozen_of(v.id, span)?;
                saved.push((name.clone(), Val::Node(v)));
                scope.names.insert(
                    name.clone(),
                    Val::Node(Lv {
                        id: copy,
                        row: v.row,
                    }),
                );
            }
        }
        Ok(saved)
    }
}

/// An index of a table: a number (from 1), or labels per example (a node `1 × B`, first label).
pub(super) enum Index {
    Int(i64),
    Label(NodeId, i32),
}

/// Puts back what [`Cx::freeze_group`] rebound.
pub(super) fn unfreeze(saved: Vec<(String, Val)>, scope: &mut Scope) {
    for (name, v) in saved {
        scope.names.insert(name, v);
    }
}
