//! A matrix defined entry by entry, as the book and the notes print one: its entry at two
//! indices given by a formula over them, with a `for` clause over both.
//!
//! ```text
//! PE_{(pos,2i)}   = sin[pos / 10000^{2i/D}]      for pos ∈ {0 … N-1}, i ∈ {0 … D/2-1}
//! PE_{(pos,2i+1)} = cos[pos / 10000^{2i/D}]      for pos ∈ {0 … N-1}, i ∈ {0 … D/2-1}
//! M_{mn} = Heaviside[n - m]                      for m ∈ {1 … N}, n ∈ {1 … N}
//! S_{mn} = a[φᵀ [H'_m; H'_n]]                    for m ∈ {1 … N}, n ∈ {1 … N}
//! ```
//!
//! A statement is of this form when it is an equation whose `for` clause has two variables
//! and whose left side is a name with two subscripts (`M_{r,c}`, `M_{(r,c)}`, or `M_{mn}`, one
//! word made of the two variables) — unless it is a convolution written entry by entry
//! (`check::entrywise`, asked first). Consecutive statements of the form with the same name
//! define one matrix together ([`same_matrix`]; `check::family_runs` keeps them in one run).
//!
//! Two readings, decided by [`table`] for checking and lowering alike:
//!
//! - **A constant** ([`Outcome::Table`]): every right side and subscript evaluates to a
//!   number from the indices, numbers and hyper-parameters (`eval::formula`, with the
//!   element-wise built-ins): the matrix is folded at compile time (`Op::Table`). The
//!   subscripts may be any integer formulas (`2i`, `2i+1`); the entries they reach must
//!   fill a rectangle, each once, counted from 0 or from 1 on each axis (the notes count
//!   positions from 0, the book from 1); anything else is E0319.
//! - **Values** ([`cells`]): a single statement whose right side reads the model's values,
//!   its subscripts exactly the two variables, both ranges from 1: each entry is checked and
//!   lowered on its own, and the matrix is per example (`S ∈ ℝ^{N×N}`, the attention scores
//!   of a graph, eq. 13.23).

use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::eval::{self, Lookup};
use std::collections::BTreeMap;

/// One subscript of the left side: a formula, or one of the two variables (`M_{mn}`).
#[derive(Clone, Copy)]
pub(crate) enum Sub<'a> {
    /// `2i+1`, `pos`: evaluated with the variables bound.
    Expr(&'a Expr),
    /// The first or second variable of the clause, from a word made of both.
    Var(usize),
}

/// One statement of the form.
pub(crate) struct Cell<'a> {
    /// Its left side.
    pub lhs: &'a ast::Lhs,
    /// Its two subscripts.
    pub subs: [Sub<'a>; 2],
    /// The two variables, as written.
    pub vars: [String; 2],
    /// Each variable's first and last value.
    pub ranges: [(&'a Expr, &'a Expr); 2],
    /// The right side.
    pub rhs: &'a Expr,
}

/// A matrix defined entry by entry: its name and the statements that define it.
pub(crate) struct Entries<'a> {
    /// The name without its subscript (`PE`, `S`).
    pub name: ast::Name,
    /// The statements, in order.
    pub cells: Vec<Cell<'a>>,
}

/// A constant matrix, its numbers column by column.
pub(crate) struct Table {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows · cols` numbers, the first column first.
    pub data: Vec<f64>,
}

/// How a matrix defined entry by entry reads.
pub(crate) enum Outcome {
    /// A constant.
    Table(Table),
    /// Its right side reads values: entry by entry ([`cells`]).
    NotConstant,
    /// A constant that does not fill a matrix (E0319), or too many entries (E0405).
    Error(Box<Diagnostic>),
}

fn cell(s: &ast::Stmt) -> Option<Cell<'_>> {
    let ast::StmtKind::Equation {
        lhs,
        rhs,
        loss: false,
    } = &s.kind
    else {
        return None;
    };
    let f = s.family.as_ref()?;
    let second = f.second.as_ref()?;
    // Entries are placed by their subscripts over ranges counted by one.
    if lhs.args.is_some() || lhs.squared || f.next.is_some() || second.next.is_some() {
        return None;
    }
    let vars = [
        crate::names::literal(&f.var),
        crate::names::literal(&second.var),
    ];
    let subs = match lhs.name.sub.as_slice() {
        [a, b] => [Sub::Expr(a), Sub::Expr(b)],
        [w] => match &w.kind {
            ExprKind::Name(n)
                if n.sub.is_empty()
                    && n.primes == 0
                    && crate::names::literal(n) == format!("{}{}", vars[0], vars[1]) =>
            {
                [Sub::Var(0), Sub::Var(1)]
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(Cell {
        lhs,
        subs,
        vars,
        ranges: [(&f.lo, &f.hi), (&second.lo, &second.hi)],
        rhs,
    })
}

fn base(lhs: &ast::Lhs) -> ast::Name {
    let mut name = lhs.name.clone();
    name.sub.clear();
    name
}

/// The statements of a run as one matrix defined entry by entry, if they are one.
pub(crate) fn matches(group: &[ast::Stmt]) -> Option<Entries<'_>> {
    let cells: Vec<Cell<'_>> = group.iter().map(cell).collect::<Option<_>>()?;
    let name = base(cells.first()?.lhs);
    let word = crate::names::literal(&name);
    cells
        .iter()
        .all(|c| crate::names::literal(&base(c.lhs)) == word)
        .then_some(Entries { name, cells })
}

/// Whether two statements define entries of one matrix (one run of statements).
pub(crate) fn same_matrix(a: &ast::Stmt, b: &ast::Stmt) -> bool {
    match (cell(a), cell(b)) {
        (Some(x), Some(y)) => {
            crate::names::literal(&base(x.lhs)) == crate::names::literal(&base(y.lhs))
        }
        _ => false,
    }
}

/// A value of `lookup` with the clause's variables bound to `at`.
fn bound<'l>(
    vars: &'l [String; 2],
    at: [i64; 2],
    lookup: &'l dyn Fn(&ast::Name) -> Lookup,
) -> impl Fn(&ast::Name) -> Lookup + 'l {
    move |n: &ast::Name| {
        if n.sub.is_empty() && n.primes == 0 {
            let w = crate::names::literal(n);
            if let Some(k) = vars.iter().position(|v| *v == w) {
                return Lookup::Value(at[k] as f64);
            }
        }
        lookup(n)
    }
}

fn e0319(span: Span, msg: String, label: &str) -> Outcome {
    Outcome::Error(Box::new(
        Diagnostic::new(Code::E0319, span, msg)
            .label(label.to_string())
            .help("the statements together give every entry once, counting rows and columns from 0 (`PE_{(pos,2i)}` with `pos ∈ {0 … N-1}`) or from 1 (`M_{mn}` with `m ∈ {1 … N}`)"),
    ))
}

/// The ranges of a statement, if they have values.
fn ranges(c: &Cell<'_>, lookup: &dyn Fn(&ast::Name) -> Lookup) -> Option<[(i64, i64); 2]> {
    let r = |k: usize| {
        let (lo, hi) = c.ranges[k];
        Some((eval::integer(lo, lookup)?, eval::integer(hi, lookup)?))
    };
    Some([r(0)?, r(1)?])
}

/// The matrix as a constant, if it is one (see the module's documentation).
pub(crate) fn table(m: &Entries<'_>, lookup: &dyn Fn(&ast::Name) -> Lookup) -> Outcome {
    let mut entries: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    let mut total = 0usize;
    for c in &m.cells {
        let Some(rs) = ranges(c, lookup) else {
            return Outcome::NotConstant;
        };
        let len = |(lo, hi): (i64, i64)| usize::try_from(hi - lo + 1).unwrap_or(0);
        total = total.saturating_add(len(rs[0]).saturating_mul(len(rs[1])));
        if total > super::MAX_UNROLL {
            return Outcome::Error(Box::new(
                Diagnostic::new(
                    Code::E0405,
                    c.lhs.span,
                    format!("more than {} entries to define", super::MAX_UNROLL),
                )
                .label("too many entries")
                .help("a matrix defined entry by entry has at most 100 000 entries"),
            ));
        }
        for a in rs[0].0..=rs[0].1 {
            for b in rs[1].0..=rs[1].1 {
                let at = bound(&c.vars, [a, b], lookup);
                let Ok(v) = eval::formula(c.rhs, &at) else {
                    return Outcome::NotConstant;
                };
                let ix = |s: Sub<'_>| match s {
                    Sub::Var(k) => Some([a, b][k]),
                    Sub::Expr(e) => eval::integer(e, &at),
                };
                let (Some(r), Some(col)) = (ix(c.subs[0]), ix(c.subs[1])) else {
                    return e0319(
                        c.lhs.span,
                        format!(
                            "the subscripts of `{}` must be integers, at {} = {a}, {} = {b}",
                            crate::names::literal(&m.name),
                            c.vars[0],
                            c.vars[1]
                        ),
                        "not an integer",
                    );
                };
                if !v.is_finite() {
                    return e0319(
                        c.rhs.span,
                        format!("entry ({r}, {col}) is {v}, not a finite number"),
                        "not finite",
                    );
                }
                if entries.insert((r, col), v).is_some() {
                    return e0319(
                        c.lhs.span,
                        format!(
                            "entry ({r}, {col}) of `{}` is defined twice",
                            crate::names::literal(&m.name)
                        ),
                        "defined again here",
                    );
                }
            }
        }
    }
    filled(m, &entries)
}

/// The entries as a matrix, if they fill one counted from 0 or 1 on each axis.
fn filled(m: &Entries<'_>, entries: &BTreeMap<(i64, i64), f64>) -> Outcome {
    let span = m.cells[0].lhs.span;
    let name = crate::names::literal(&m.name);
    let (Some(r0), Some(c0)) = (
        entries.keys().map(|k| k.0).min(),
        entries.keys().map(|k| k.1).min(),
    ) else {
        return e0319(span, format!("`{name}` has no entries"), "no entries");
    };
    let (r1, c1) = (
        entries.keys().map(|k| k.0).max().unwrap_or(r0),
        entries.keys().map(|k| k.1).max().unwrap_or(c0),
    );
    if !(0..=1).contains(&r0) || !(0..=1).contains(&c0) {
        return e0319(
            span,
            format!("the entries of `{name}` start at ({r0}, {c0}), not at 0 or 1 on each axis"),
            "the first entry",
        );
    }
    let (rows, cols) = ((r1 - r0 + 1) as usize, (c1 - c0 + 1) as usize);
    let mut data = Vec::with_capacity(rows * cols);
    for c in c0..=c1 {
        for r in r0..=r1 {
            match entries.get(&(r, c)) {
                Some(v) => data.push(*v),
                None => {
                    return e0319(
                        span,
                        format!("entry ({r}, {c}) of `{name}` is not defined"),
                        "a gap in the matrix",
                    );
                }
            }
        }
    }
    Outcome::Table(Table { rows, cols, data })
}

/// The reading entry by entry of a matrix of values: one statement, its subscripts the two
/// variables in order, both ranges from 1; the matrix's size is the two ranges' last values
/// (their expressions).
pub(crate) fn cells<'m, 'a>(
    m: &'m Entries<'a>,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
) -> Option<(&'m Cell<'a>, [i64; 2])> {
    let [c] = m.cells.as_slice() else {
        return None;
    };
    if !matches!(c.subs, [Sub::Var(0), Sub::Var(1)])
        && !c.subs.iter().enumerate().all(|(k, s)| {
            matches!(s, Sub::Expr(e) if matches!(&e.kind, ExprKind::Name(n)
                if n.sub.is_empty() && crate::names::literal(n) == c.vars[k]))
        })
    {
        return None;
    }
    let rs = ranges(c, lookup)?;
    (rs[0].0 == 1 && rs[1].0 == 1 && rs[0].1 >= 1 && rs[1].1 >= 1)
        .then_some((c, [rs[0].1, rs[1].1]))
}

impl super::ModelCx<'_, '_> {
    /// Checks a run that defines a matrix entry by entry; false when it is not one.
    pub(super) fn entries(&mut self, group: &[ast::Stmt]) -> bool {
        use super::SymbolKind;
        use super::numbers::Entries as Recorded;
        use super::scope::Sym;
        use super::shape::{Dim, Shape, Val};
        let Some(m) = matches(group) else {
            return false;
        };
        let canon = self.canonical_plain(&m.name);
        let span = m.cells[0].lhs.span;
        let outcome = table(&m, &|n| self.lookup_number(n));
        let found = match &outcome {
            Outcome::Table(t) => Recorded::Table(t.rows, t.cols, t.data.clone()),
            Outcome::Error(_) => Recorded::Refused,
            Outcome::NotConstant => match cells(&m, &|n| self.lookup_number(n)) {
                Some((_, size)) => Recorded::Cells(size),
                None => Recorded::NotOfForm,
            },
        };
        self.numbers
            .borrow_mut()
            .record_entries(&m, self, found.clone());
        match outcome {
            Outcome::Table(t) => {
                if self.reserve(t.rows * t.cols, span) {
                    let shape =
                        Shape::Mat(Dim::constant(t.rows as i64), Dim::constant(t.cols as i64));
                    self.define(
                        &canon,
                        Sym::Value(Val::global(shape)),
                        span,
                        Some(SymbolKind::Value),
                    );
                } else {
                    self.define(&canon, Sym::Poisoned, span, None);
                }
            }
            Outcome::Error(d) => {
                self.error(*d);
                self.define(&canon, Sym::Poisoned, span, None);
            }
            Outcome::NotConstant => {
                let Recorded::Cells([rows, cols]) = found else {
                    return false;
                };
                let v = self.cell_values(&m.cells[0], rows, cols);
                let sym = v.map_or(Sym::Poisoned, Sym::Value);
                self.define(&canon, sym, span, Some(SymbolKind::Value));
            }
        }
        true
    }

    /// Each entry of a matrix of values checked on its own: a number (per example or not).
    fn cell_values(&mut self, c: &Cell<'_>, rows: i64, cols: i64) -> Option<super::shape::Val> {
        use super::Bound;
        use super::shape::{Shape, Val};
        let count = usize::try_from(rows.saturating_mul(cols)).unwrap_or(usize::MAX);
        if !self.reserve(count, c.lhs.span) {
            return None;
        }
        let mut per_example = false;
        for a in 1..=rows {
            for b in 1..=cols {
                self.binds.push((c.vars[0].clone(), Bound::Int(a)));
                self.binds.push((c.vars[1].clone(), Bound::Int(b)));
                let v = self.expr(c.rhs);
                self.binds.truncate(self.binds.len() - 2);
                let v = v?;
                if !v.shape.is_scalar() {
                    self.error(
                        Diagnostic::new(
                            Code::E0304,
                            c.rhs.span,
                            format!(
                                "an entry of a matrix must be a number, but this is {}",
                                v.shape.describe()
                            ),
                        )
                        .label(format!("at {} = {a}, {} = {b}", c.vars[0], c.vars[1])),
                    );
                    return None;
                }
                per_example |= v.per_example;
            }
        }
        let (r, k) = (self.dim(c.ranges[0].1)?, self.dim(c.ranges[1].1)?);
        Some(Val {
            per_example,
            ..Val::global(Shape::Mat(r, k))
        })
    }
}
