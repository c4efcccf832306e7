//! Lowering of `max`, `min`, `argmax` and `argmin` (`check::extreme`): `max[a, b]` is one
//! `Op::Extreme` pick, `Pick(a, b, a, b)` (a scalar broadcast first); `max_k z_k` folds its
//! terms from the left, `m ← Pick(m, z_k, m, z_k)`, so the first maximiser is kept; `argmax`
//! folds the index beside it, `i ← Pick(m, z_k, i, k)`, constants picked, so no gradient
//! flows through it. A range without limits is read as checking read it
//! (`check::extreme::readings`), from this scope.

use super::{Bind, Cx, Lv, R, Scope, Val, canonical, unsupported};
use crate::ast::{self, BigOp, Expr};
use crate::check::extreme::{implied_range, readings};
use crate::diag::Span;
use crate::ir::extreme::{Ext, ExtPart, Extreme};
use crate::ir::{Cols, Op};

impl Cx<'_, '_> {
    /// `max[a, b]`, `min[a, b]`.
    pub(super) fn extreme_pair(
        &mut self,
        which: Extreme,
        args: &[Expr],
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        let [a, b] = args else {
            return Err(unsupported(span, "`max` or `min` without two arguments"));
        };
        let (a, b) = (self.value(a, scope)?, self.value(b, scope)?);
        let (x, y) = self.align(a.id, b.id, span)?;
        let pick = Op::Extreme(Ext {
            which,
            part: ExtPart::Pick,
        });
        Ok(Val::Node(Lv {
            id: self.op(pick, &[x, y, x, y], span)?,
            row: a.row && b.row,
        }))
    }

    /// `max_k body`, `argmax_k body`, … over the binder's range.
    pub(super) fn extreme_big(
        &mut self,
        op: BigOp,
        b: &ast::Binder,
        upper: Option<&Expr>,
        body: &Expr,
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        let Some((which, index)) = op.extreme() else {
            return Err(unsupported(span, "this big operator"));
        };
        if b.set.is_some() {
            return Err(unsupported(span, "a maximum over a set"));
        }
        let var = canonical(&b.var, scope);
        let (lo, hi) = if b.lo.is_some() || upper.is_some() {
            let lo = b.lo.as_deref().map_or(Some(1), |e| self.int(e, scope));
            let hi = upper.and_then(|e| self.int(e, scope));
            lo.zip(hi)
        } else {
            let defined = |n: &str| scope.names.contains_key(n);
            let vector_len = |n: &str| match scope.names.get(n) {
                Some(Val::Node(v)) if !v.row => {
                    let s = self.graph.shape(v.id);
                    let column = matches!(s.cols, Cols::Fixed(1) | Cols::EXAMPLE);
                    (column && s.rows > 1).then_some(s.rows as i64)
                }
                _ => None,
            };
            let table_len = |n: &str, axes: usize| match scope.names.get(n) {
                Some(Val::Node(v)) => {
                    let s = self.graph.shape(v.id);
                    match (s.cols, axes) {
                        (Cols::Fixed(1), 1) => Some(s.rows as i64),
                        (Cols::Fixed(c), 2) if c > 1 => Some(c as i64),
                        _ => None,
                    }
                }
                _ => None,
            };
            implied_range(&readings(body, &var, &defined, &vector_len, &table_len))
        }
        .filter(|(lo, hi)| lo <= hi)
        .ok_or_else(|| unsupported(span, "this range"))?;
        let pick = Op::Extreme(Ext {
            which,
            part: ExtPart::Pick,
        });
        let mut acc: Option<(Lv, Option<Lv>)> = None;
        for k in lo..=hi {
            scope.binds.push((var.clone(), Bind::Int(k)));
            let v = self.value(body, scope);
            scope.binds.pop();
            let v = v?;
            acc = Some(match acc {
                None => {
                    let i = if index {
                        let s = self.graph.shape(v.id);
                        Some(Lv::of(self.constant(k as f64, s, span)?))
                    } else {
                        None
                    };
                    (v, i)
                }
                Some((m, i)) => {
                    let (x, y) = self.align(m.id, v.id, span)?;
                    let row = m.row && v.row;
                    let best = Lv {
                        id: self.op(pick, &[x, y, x, y], span)?,
                        row,
                    };
                    let i = match i {
                        Some(i) => {
                            let s = self.graph.shape(x);
                            let i = self.broadcast(i.id, s, span)?;
                            let k = self.constant(k as f64, s, span)?;
                            Some(Lv {
                                id: self.op(pick, &[x, y, i, k], span)?,
                                row,
                            })
                        }
                        None => None,
                    };
                    (best, i)
                }
            });
        }
        match acc {
            Some((_, Some(i))) => Ok(Val::Node(i)),
            Some((m, None)) => Ok(Val::Node(m)),
            None => Err(unsupported(span, "an empty range")),
        }
    }
}
