//! The `…` of a block matrix: `[a_1, a_2, …, a_H]` lists a family's members (eq. 12.12's
//! `[Sa_1[X]ᵀ, Sa_2[X]ᵀ, …, Sa_H[X]ᵀ]ᵀ`).
//!
//! The blocks on either side of `…` must be the same expression except for one subscript,
//! whose values (integers, once the hyper-parameters are known) give the members in between;
//! the block before them, if written, must be the member before (a step of one). Checking
//! expands through [`expand`] once and records the members (`Numbers::expansion` in
//! `check/numbers.rs`), which lowering reads.

use crate::ast::{Entry, Expr, ExprKind, Name};
use crate::diag::Span;
use crate::dump;

/// Why a row of blocks cannot be expanded: the place and a sentence.
pub type Failure = (Span, String);

/// Every row of a block matrix expanded; a column of single blocks (`[a_1; a_2; …; a_H]`)
/// is expanded as one list, each member its own row.
pub fn expand_rows(
    rows: &[Vec<Entry>],
    int: &dyn Fn(&Expr) -> Option<i64>,
) -> Result<Vec<Vec<Expr>>, Failure> {
    if rows.len() > 1 && rows.iter().all(|r| r.len() == 1) {
        let column: Vec<Entry> = rows.iter().flatten().cloned().collect();
        return Ok(expand(&column, int)?.into_iter().map(|e| vec![e]).collect());
    }
    rows.iter().map(|r| expand(r, int)).collect()
}

/// The blocks of one row with every `…` replaced by the members it stands for. `int`
/// evaluates a subscript to an integer (`None` when it has no value). A last member equal to
/// the one before `…` (`a_1, a_2, …, a_H` with `H = 2`) is listed once.
pub fn expand(row: &[Entry], int: &dyn Fn(&Expr) -> Option<i64>) -> Result<Vec<Expr>, Failure> {
    let mut out: Vec<Expr> = Vec::new();
    let mut skip_next = false;
    for (k, entry) in row.iter().enumerate() {
        let span = match entry {
            Entry::Item(x) => {
                if !std::mem::take(&mut skip_next) {
                    out.push(x.clone());
                }
                continue;
            }
            Entry::Ellipsis(span) => *span,
        };
        let before = match k.checked_sub(1).map(|j| &row[j]) {
            Some(Entry::Item(x)) => x,
            _ => return Err((span, "`…` needs a block before it".to_string())),
        };
        let Some(Entry::Item(after)) = row.get(k + 1) else {
            return Err((span, "`…` needs a block after it".to_string()));
        };
        let (slot, p, q) = varying(before, after, int).ok_or_else(|| {
            (
                span,
                "the blocks around `…` must be one expression that differs in one integer subscript (`a_2, …, a_H`)"
                    .to_string(),
            )
        })?;
        if let Some(Entry::Item(first)) = k.checked_sub(2).map(|j| &row[j]) {
            let step = varying(first, before, int);
            if step.is_none_or(|(s, a, b)| s != slot || b != a + 1) {
                return Err((
                    span,
                    "the blocks before `…` must be consecutive members (`a_1, a_2, …`)".to_string(),
                ));
            }
        }
        if q < p {
            return Err((
                span,
                format!(
                    "the members run from {p} down to {q}: the list has fewer members than it writes"
                ),
            ));
        }
        if q - p > crate::check::MAX_UNROLL as i64 {
            return Err((
                span,
                format!(
                    "`…` stands for {} members, more than {}",
                    q - p,
                    crate::check::MAX_UNROLL
                ),
            ));
        }
        for m in p + 1..q {
            let mut member = before.clone();
            let mut n = 0;
            replace(&mut member, slot, m, &mut n);
            out.push(member);
        }
        skip_next = q == p;
    }
    Ok(out)
}

/// The one subscript in which `a` and `b` differ, by its position in a pre-order walk, with
/// its integer values in `a` and in `b`.
fn varying(a: &Expr, b: &Expr, int: &dyn Fn(&Expr) -> Option<i64>) -> Option<(usize, i64, i64)> {
    let mut slots = Vec::new();
    let mut n = 0;
    if !diff(a, b, &mut n, &mut slots) {
        return None;
    }
    match slots.as_slice() {
        [(slot, x, y)] => Some((*slot, int(x)?, int(y)?)),
        _ => None,
    }
}

/// Walks `a` and `b` together; false where they differ other than in a name's subscript,
/// whose differing items are collected with their positions.
fn diff<'e>(
    a: &'e Expr,
    b: &'e Expr,
    n: &mut usize,
    slots: &mut Vec<(usize, &'e Expr, &'e Expr)>,
) -> bool {
    match (&a.kind, &b.kind) {
        (ExprKind::Name(x), ExprKind::Name(y)) => names(x, y, n, slots),
        (ExprKind::Call { func: f, args: xs }, ExprKind::Call { func: g, args: ys }) => {
            names(f, g, n, slots)
                && xs.len() == ys.len()
                && xs.iter().zip(ys).all(|(x, y)| diff(x, y, n, slots))
        }
        (ExprKind::Transpose(x), ExprKind::Transpose(y))
        | (ExprKind::Paren(x), ExprKind::Paren(y))
        | (ExprKind::Neg(x), ExprKind::Neg(y))
        | (ExprKind::Sqrt(x), ExprKind::Sqrt(y))
        | (ExprKind::Norm(x), ExprKind::Norm(y)) => diff(x, y, n, slots),
        (
            ExprKind::Binary {
                op: o1,
                lhs: l1,
                rhs: r1,
            },
            ExprKind::Binary {
                op: o2,
                lhs: l2,
                rhs: r2,
            },
        ) => o1 == o2 && diff(l1, l2, n, slots) && diff(r1, r2, n, slots),
        (ExprKind::Power(x1, p1), ExprKind::Power(x2, p2)) => {
            diff(x1, x2, n, slots) && diff(p1, p2, n, slots)
        }
        _ => dump::expr(a) == dump::expr(b),
    }
}

/// Two names with the same word, primes and mark; their subscripts' differing items
/// collected.
fn names<'e>(
    x: &'e Name,
    y: &'e Name,
    n: &mut usize,
    slots: &mut Vec<(usize, &'e Expr, &'e Expr)>,
) -> bool {
    if x.word != y.word
        || x.primes != y.primes
        || x.frozen != y.frozen
        || x.sub.len() != y.sub.len()
    {
        return false;
    }
    for (s, t) in x.sub.iter().zip(&y.sub) {
        if dump::expr(s) != dump::expr(t) {
            slots.push((*n, s, t));
        }
        *n += 1;
    }
    true
}

/// `e` with the subscript at position `slot` (as [`diff`] counts them) replaced by `m`.
fn replace(e: &mut Expr, slot: usize, m: i64, n: &mut usize) {
    let in_name = |name: &mut Name, n: &mut usize| {
        for s in &mut name.sub {
            if *n == slot {
                s.kind = ExprKind::Number(m as f64);
            }
            *n += 1;
        }
    };
    match &mut e.kind {
        ExprKind::Name(x) => in_name(x, n),
        ExprKind::Call { func, args } => {
            in_name(func, n);
            args.iter_mut().for_each(|a| replace(a, slot, m, n));
        }
        ExprKind::Transpose(x)
        | ExprKind::Paren(x)
        | ExprKind::Neg(x)
        | ExprKind::Sqrt(x)
        | ExprKind::Norm(x) => replace(x, slot, m, n),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Power(lhs, rhs) => {
            replace(lhs, slot, m, n);
            replace(rhs, slot, m, n);
        }
        ExprKind::Number(_)
        | ExprKind::Ones
        | ExprKind::Identity
        | ExprKind::BatchSize
        | ExprKind::Big { .. }
        | ExprKind::Prob { .. }
        | ExprKind::Deriv { .. }
        | ExprKind::Stack(_) => {}
    }
}
