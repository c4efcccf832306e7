//! The numbers checking evaluates for lowering: a sum's and a big maximum's limits, an
//! exponent (and a constant base to a computed power), `LReLU`'s slope, and the subscripts
//! that a block matrix's `…` expands between. Each is recorded by its expression's span and
//! the values of the indices it reads (a family's member, an unrolled term), since a limit
//! such as `∑_{j=1}^{k}` inside `for k ∈ {1 … K}` has one value per member. Lowering walks the
//! same statements with the same indices bound, so it reads here the number checking
//! computed ([`Numbers::number`]) instead of evaluating the expression again: one evaluation,
//! by [`crate::resolve::number`], in one place.

use crate::ast::{Expr, ExprKind};
use crate::diag::Span;
use crate::resolve::{Index, Names};
use std::collections::HashMap;

/// The recorded numbers of one model (`ModelInfo::numbers`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Numbers {
    by_span: HashMap<Span, Recorded>,
}

/// One expression's values.
#[derive(Clone, Debug, PartialEq)]
struct Recorded {
    /// The plain names the expression reads, anywhere (also inside subscripts: `D_{k}`).
    reads: Vec<String>,
    /// The value (`None`: none) for each way those names were bound.
    values: HashMap<Vec<Key>, Option<f64>>,
}

/// How one name an expression reads was bound where it was evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// Not an index: a hyper-parameter (whose value is the model's) or another name.
    Free,
    /// A family variable or an unrolled index with this value.
    Int(i64),
    /// The example index.
    Batch,
    /// An index over a parameter group.
    Group,
}

impl Numbers {
    /// The value of `e` with the indices bound as in `names`, evaluated by the one evaluator
    /// and recorded for lowering.
    pub(crate) fn evaluate(&mut self, e: &Expr, names: &impl Names) -> Option<f64> {
        let value = crate::resolve::number(e, names);
        let rec = self.by_span.entry(e.span).or_insert_with(|| Recorded {
            reads: reads(e),
            values: HashMap::new(),
        });
        rec.values.insert(key(&rec.reads, names), value);
        value
    }

    /// [`Numbers::evaluate`] as an integer (exact and below 10¹⁵ in magnitude).
    pub(crate) fn evaluate_integer(&mut self, e: &Expr, names: &impl Names) -> Option<i64> {
        self.evaluate(e, names).and_then(crate::eval::exact_integer)
    }

    /// The value checking recorded for `e` with the indices bound as in `names`; `None` if
    /// it had none there (or checking never evaluated it there).
    pub(crate) fn number(&self, e: &Expr, names: &impl Names) -> Option<f64> {
        let rec = self.by_span.get(&e.span)?;
        *rec.values.get(&key(&rec.reads, names))?
    }

    /// [`Numbers::number`] as an integer.
    pub(crate) fn integer(&self, e: &Expr, names: &impl Names) -> Option<i64> {
        self.number(e, names).and_then(crate::eval::exact_integer)
    }
}

/// The plain names `e` reads, in order of first appearance.
fn reads(e: &Expr) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    crate::syntax::walk(e, &mut |x| {
        if let ExprKind::Name(n) = &x.kind {
            let plain = crate::names::build(&n.word, n.primes, n.frozen, &[]);
            if !out.contains(&plain) {
                out.push(plain);
            }
        }
    });
    out
}

fn key(reads: &[String], names: &impl Names) -> Vec<Key> {
    reads
        .iter()
        .map(|r| match names.index(r) {
            None => Key::Free,
            Some(Index::Int(v)) => Key::Int(v),
            Some(Index::Batch) => Key::Batch,
            Some(Index::Group) => Key::Group,
        })
        .collect()
}
