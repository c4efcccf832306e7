//! `max`, `min`, `argmax` and `argmin` as the book prints them.
//!
//! - `max[a, b]`, `min[a, b]`: the larger (smaller) of two values of one shape, entry by
//!   entry, a scalar broadcast (`max[0, z]`, the hinge).
//! - `max_k z_k`, `max_k [z_k]`, `max_{k=1}^{K} z_k`, `max_{k ∈ {1 … K}} z_k`: the largest of
//!   the terms, entry by entry, over a range; the terms are the members of a family (maxout,
//!   `z_k = Ω_k x + β_k for k ∈ {1 … K}`) or the components of a vector (`max_j h_j`, a
//!   scalar). Without limits, the range is read off the body: the index subscripts a family
//!   whose members are defined (`z_1 … z_K`, or from `z_0`), or a vector (`h_1 … h_D`); a
//!   body that allows two readings, or none, is `E0221` with the readings in its help.
//! - `argmax_j h_j`, `argmin_k z_k`: the index of the largest (smallest) term, counted as the
//!   range counts (`j` from 1 for `h_1 … h_D`), the first on a tie: a number, from which no
//!   gradient flows.
//!
//! Lowering (`ir::lower`) folds the terms from the left with `Op::Extreme` (`ir::extreme`).

use super::builtins::Builtin;
use super::shape::{Shape, Val};
use super::{Entry, ModelCx, Sym};
use crate::ast::{self, BigOp, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::names;
use crate::syntax::walk;

/// What the index of a `max_k` without limits runs over, read off one name of its body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Reading {
    /// The members `z_lo … z_hi` of a family.
    Members(String, i64, i64),
    /// The components `h_1 … h_D` of a vector.
    Components(String, i64),
    /// The entries along the last axis of a table read by a label, `q[s, 1] … q[s, A]`.
    Entries(String, i64),
}

impl Reading {
    fn range(&self) -> (i64, i64) {
        match self {
            Reading::Members(_, lo, hi) => (*lo, *hi),
            Reading::Components(_, d) | Reading::Entries(_, d) => (1, *d),
        }
    }

    /// The reading in words, with the spelling that states it.
    fn text(&self, sym: &str, var: &str) -> String {
        let (lo, hi) = self.range();
        match self {
            Reading::Members(z, ..) => format!(
                "over the members {z}_{lo} … {z}_{hi} of a family: `{sym}_{{{var}={lo}}}^{{{hi}}} …`"
            ),
            Reading::Components(h, _) => format!(
                "over the components {h}_1 … {h}_{hi} of the vector {h}: `{sym}_{{{var}=1}}^{{{hi}}} …`"
            ),
            Reading::Entries(q, _) => format!(
                "over the entries {q}[…, 1] … {q}[…, {hi}] of the table {q}: `{sym}_{{{var}=1}}^{{{hi}}} …`"
            ),
        }
    }
}

impl ModelCx<'_, '_> {
    /// `max[a, b]`, `min[a, b]`: two values of one shape, or a scalar and a value.
    pub(super) fn extreme_pair(&mut self, b: Builtin, args: &[Expr], span: Span) -> Option<Val> {
        let name = b.name();
        if args.len() == 1 {
            let what = match &args[0].kind {
                ExprKind::Name(n) if n.sub.is_empty() => self.code(&args[0]),
                _ => None,
            }
            .unwrap_or_else(|| "h".to_string());
            self.error(
                Diagnostic::new(
                    Code::E0204,
                    span,
                    format!("`{name}[…]` takes two values; a {name} over an index needs the index"),
                )
                .label("one argument")
                .help(format!(
                    "the {name} of the components of a vector is `{name}_j {what}_j`; of two values, `{name}[a, b]`"
                )),
            );
            return None;
        }
        if !self.arity(name, 2, args, span) {
            return None;
        }
        let (a, c) = (self.expr(&args[0]), self.expr(&args[1]));
        let (a, c) = (a?, c?);
        let shape = if a.shape.same(&c.shape) {
            a.shape.unify(&c.shape)
        } else if a.shape.is_scalar() {
            c.shape.clone()
        } else if c.shape.is_scalar() {
            a.shape.clone()
        } else {
            self.error(
                Diagnostic::new(
                    Code::E0302,
                    args[0].span.to(args[1].span),
                    format!(
                        "`{name}` compares two values entry by entry, but {} is {} and {} is {}",
                        self.snippet(args[0].span),
                        a.shape.describe(),
                        self.snippet(args[1].span),
                        c.shape.describe()
                    ),
                )
                .label("shapes differ")
                .help("give both the same shape, or make one a scalar (`max[0, z]`)"),
            );
            return None;
        };
        Some(Val {
            shape,
            per_example: a.per_example || c.per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// `max_k body` and its kin: the terms over the binder's range, of one shape.
    pub(super) fn extreme_big(
        &mut self,
        op: BigOp,
        binder: Option<&ast::Binder>,
        upper: Option<&Expr>,
        body: &Expr,
        span: Span,
    ) -> Option<Val> {
        let sym = op.symbol();
        let Some(b) = binder else {
            self.needs_index(sym, span, format!(
                "write `{sym}_k z_k` over a family's members or a vector's components, or `{sym}[a, b]` of two values"
            ));
            return None;
        };
        let var = self.canonical_plain(&b.var);
        if let Some(set) = &b.set {
            // `max_{m ∈ ne[n]} [h_m]` (eq. 13.21): which matrix is the adjacency, and which
            // index of it the neighbour, the set does not say; `MaxNe[H, A]` does.
            let neighbours = self.snippet(set.span).starts_with("`ne[");
            let help = if neighbours && op == BigOp::Max {
                "the maximum over each node's neighbours (eq. 13.21) for every node at once is `MaxNe[H, A]`: the node features `H ∈ ℝ^{D×N}` (node m the column `H_m`) and the adjacency `A ∈ ℝ^{N×N}`, m a neighbour of n when `A[m, n] ≠ 0`; read as `max_{m ∈ ne[n]} [H_m]` for each row of `H`, 0 for a node with no neighbour; node by node, an equation `agg[n] = max_{m ∈ ne[n]} [h_m]` defines that matrix `agg`".to_string()
            } else {
                format!(
                    "a {} over a range is `{sym}_{{{var}=1}}^{{K}} …` or `{sym}_{{{var} ∈ {{1 … K}}}} …`",
                    op.word()
                )
            };
            self.error(
                Diagnostic::new(
                    Code::E0404,
                    set.span,
                    format!("not supported yet: a {} over a set", op.word()),
                )
                .label("not supported yet")
                .help(help),
            );
            return None;
        }
        let batch_upper = upper.is_some_and(crate::conventions::is_batch_upper);
        let v = if batch_upper {
            self.error(
                Diagnostic::new(
                    Code::E0404,
                    span,
                    format!("not supported yet: a {} over the batch", op.word()),
                )
                .label("not supported yet"),
            );
            return None;
        } else if b.lo.is_some() || upper.is_some() {
            self.unrolled(op, &var, b, upper, body, span)?
        } else {
            let range = self.index_range(op, &var, body, b.span)?;
            self.unrolled_terms(op, &var, range, body, span)?
        };
        Some(Val {
            labels: None,
            diagonal: false,
            structure: Default::default(),
            ..v
        })
    }

    /// The range of the index of `max_k body` written without limits ([`readings`], with
    /// this model's scope): one reading, or `E0221` with the readings in its help.
    fn index_range(&mut self, op: BigOp, var: &str, body: &Expr, at: Span) -> Option<(i64, i64)> {
        let defined = |name: &str| self.scope.contains_key(name);
        let vector_len = |name: &str| match self.scope.get(name) {
            Some(Entry {
                sym: Sym::Value(v) | Sym::Data(_, v) | Sym::Param(v, _),
                ..
            }) => match &v.shape {
                Shape::Col(d) => d.value.filter(|&n| n > 1),
                _ => None,
            },
            _ => None,
        };
        let table_len = |name: &str, axes: usize| match self.scope.get(name) {
            Some(Entry {
                sym: Sym::Value(v) | Sym::Param(v, _),
                ..
            }) if !v.per_example => match (&v.shape, axes) {
                (Shape::Col(d), 1) | (Shape::Mat(_, d), 2) => d.value,
                _ => None,
            },
            _ => None,
        };
        let readings = readings(body, var, &defined, &vector_len, &table_len);
        if let Some(r) = implied_range(&readings) {
            return Some(r);
        }
        let sym = op.symbol();
        let mut d = Diagnostic::new(
            Code::E0221,
            at,
            format!(
                "what `{var}` runs over in this {} cannot be told",
                op.word()
            ),
        )
        .label(if readings.is_empty() {
            "no family or vector subscripted by it"
        } else {
            "more than one reading"
        });
        if readings.is_empty() {
            d = d.help(format!(
                "write its range, `{sym}_{{{var}=1}}^{{K}} …`: over the members z_1 … z_K of a family defined before, or the components of a vector"
            ));
        }
        for r in &readings {
            d = d.help(r.text(sym, var));
        }
        if let Some(z) = readings.iter().find_map(|r| match r {
            Reading::Components(z, _) => readings
                .iter()
                .any(|m| matches!(m, Reading::Members(b, ..) if b == z))
                .then_some(z),
            Reading::Members(..) | Reading::Entries(..) => None,
        }) {
            d = d.help(format!(
                "`{z}_1` reads the family's member where both exist: rename the vector or the family"
            ));
        }
        self.error(d);
        None
    }
}

/// How the index `var` of a `max_k body` without limits can be read, from the names of the
/// body it subscripts alone (`z_k`, `h_j`): for each, the members of a family (`z_1 …`, or
/// `z_0 …`, defined: both are two readings) and the components of a vector `h`; and from the
/// tables it is the last index of (`q[s'_i, a]`, `table_len` giving the last axis' length of
/// a table looked up with that many indices). Checking and lowering ask this with their own
/// scopes.
pub(crate) fn readings(
    body: &Expr,
    var: &str,
    defined: &dyn Fn(&str) -> bool,
    vector_len: &dyn Fn(&str) -> Option<i64>,
    table_len: &dyn Fn(&str, usize) -> Option<i64>,
) -> Vec<Reading> {
    let mut bases = Vec::new();
    let mut tables = Vec::new();
    walk(body, &mut |x| {
        if let ExprKind::Call { func, args } = &x.kind
            && func.sub.is_empty()
            && let Some(ExprKind::Name(i)) = args.last().map(|a| &a.kind)
            && i.sub.is_empty()
            && names::build(&i.word, i.primes, false, &[]) == var
        {
            let table = names::build(&func.word, func.primes, false, &[]);
            if let Some(d) = table_len(&table, args.len())
                && !tables
                    .iter()
                    .any(|r| matches!(r, Reading::Entries(t, _) if *t == table))
            {
                tables.push(Reading::Entries(table, d));
            }
        }
        if let ExprKind::Name(n) = &x.kind
            && let [ix] = &n.sub[..]
            && let ExprKind::Name(i) = &ix.kind
            && i.sub.is_empty()
            && names::build(&i.word, i.primes, false, &[]) == var
        {
            let base = names::build(&n.word, n.primes, n.frozen, &[]);
            if !bases.contains(&base) {
                bases.push(base);
            }
        }
    });
    let mut out = Vec::new();
    for base in bases {
        let member = |k: i64| defined(&format!("{base}_{k}"));
        for lo in [0, 1] {
            if member(lo) {
                let mut hi = lo;
                while member(hi + 1) && hi < super::MAX_UNROLL as i64 {
                    hi += 1;
                }
                out.push(Reading::Members(base.clone(), lo, hi));
            }
        }
        if let Some(d) = vector_len(&base) {
            out.push(Reading::Components(base, d));
        }
    }
    out.extend(tables);
    out
}

/// The range every reading agrees on: one reading per name at most (a name that is both a
/// family and a vector, or a family from 0 and from 1, is two), all of one range.
pub(crate) fn implied_range(readings: &[Reading]) -> Option<(i64, i64)> {
    let first = readings.first()?.range();
    let base = |r: &Reading| match r {
        Reading::Members(b, ..) | Reading::Components(b, _) | Reading::Entries(b, _) => b.clone(),
    };
    let one_each = (readings.iter().enumerate())
        .all(|(k, r)| readings[..k].iter().all(|s| base(s) != base(r)));
    (one_each && readings.iter().all(|r| r.range() == first)).then_some(first)
}
