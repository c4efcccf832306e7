//! The numbers checking evaluates for lowering: a sum's and a big maximum's limits, an
//! exponent (and a constant base to a computed power), `LReLU`'s slope, and the subscripts
//! that a block matrix's `…` expands between. Each is recorded by its expression's span and
//! the values of the indices it reads (a family's member, an unrolled term), since a limit
//! such as `∑_{j=1}^{k}` inside `for k ∈ {1 … K}` has one value per member. Lowering walks the
//! same statements with the same indices bound, so it reads here the number checking
//! computed ([`Numbers::number`]) instead of evaluating the expression again: one evaluation,
//! by [`crate::resolve::number`], in one place.
//!
//! Keyed the same way, what checking found of the forms whose numbers it decides: a
//! convolution's geometry and channels ([`Numbers::conv`]), a matrix defined entry by entry
//! ([`Numbers::entries`]), and a block matrix's `…` expanded ([`Numbers::expansion`]).

use crate::ast::{Entry, Expr, ExprKind};
use crate::check::entries;
use crate::check::entrywise::{Entrywise, Geometry};
use crate::diag::Span;
use crate::resolve::{Index, Names};
use std::collections::HashMap;

/// The recorded numbers of one model (`ModelInfo::numbers`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Numbers {
    by_span: HashMap<Span, Recorded<Option<f64>>>,
    /// Each statement of the convolution form, by its sum's span.
    convs: HashMap<Span, Recorded<Conv>>,
    /// Each run defining a matrix entry by entry, by its first left side's span.
    entries: HashMap<Span, Recorded<Entries>>,
    /// Each block matrix's `…` expanded, by the span of the stack.
    ellipses: HashMap<Span, Recorded<Expansion>>,
}

/// What checking found of a statement of the convolution form (`check::entrywise`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Conv {
    /// Whether its ranges start at 1 (`entrywise::starts_at_one`); if not, it is a family.
    pub starts_at_one: bool,
    /// Whether the factor written with the bare sum index is the kernel and the other the
    /// input (`entrywise::orientation`, decided by which is per example); `None` when it does
    /// not start at 1 or neither reading is a convolution: a family.
    pub exchange: Option<bool>,
    /// Its geometry per axis and its channels' sizes `(C_o, C_i)`, when it is a convolution
    /// checking accepted.
    pub sizes: Option<([Geometry; 2], Option<[i64; 2]>)>,
}

/// What checking found of a run defining a matrix entry by entry (`check::entries`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Entries {
    /// A constant: rows, columns and its numbers column by column (`entries::table`).
    Table(usize, usize, Vec<f64>),
    /// A matrix of values entry by entry, its rows and columns (`entries::cells`).
    Cells([i64; 2]),
    /// A constant refused (E0319, E0405).
    Refused,
    /// Not of the form: a family, member by member.
    NotOfForm,
}

/// The rows of a block matrix with its `…` expanded (`ellipsis::expand_rows`), when they
/// expand.
pub(crate) type Expansion = Option<Vec<Vec<Expr>>>;

/// One expression's (or statement's) values.
#[derive(Clone, Debug, PartialEq)]
struct Recorded<T> {
    /// The plain names it reads, anywhere (also inside subscripts: `D_{k}`).
    reads: Vec<String>,
    /// The value for each way those names were bound.
    values: HashMap<Vec<Key>, T>,
}

impl<T> Recorded<T> {
    fn new(reads: Vec<String>) -> Self {
        Recorded {
            reads,
            values: HashMap::new(),
        }
    }

    fn get(&self, names: &impl Names) -> Option<&T> {
        self.values.get(&key(&self.reads, names))
    }
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
        let rec = self
            .by_span
            .entry(e.span)
            .or_insert_with(|| Recorded::new(reads(&[e])));
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
        *self.by_span.get(&e.span)?.get(names)?
    }

    /// [`Numbers::number`] as an integer.
    pub(crate) fn integer(&self, e: &Expr, names: &impl Names) -> Option<i64> {
        self.number(e, names).and_then(crate::eval::exact_integer)
    }
}

impl Numbers {
    /// Records what checking found of a statement of the convolution form `m`.
    pub(crate) fn record_conv(&mut self, m: &Entrywise<'_>, names: &impl Names, conv: Conv) {
        let rec = self
            .convs
            .entry(m.sum.span)
            .or_insert_with(|| Recorded::new(reads(&conv_reads(m))));
        rec.values.insert(key(&rec.reads, names), conv);
    }

    /// What checking found of `m` with the indices bound as in `names`.
    pub(crate) fn conv(&self, m: &Entrywise<'_>, names: &impl Names) -> Option<Conv> {
        self.convs.get(&m.sum.span)?.get(names).copied()
    }

    /// Records what checking found of a run defining a matrix entry by entry.
    pub(crate) fn record_entries(
        &mut self,
        m: &entries::Entries<'_>,
        names: &impl Names,
        found: Entries,
    ) {
        let rec = self
            .entries
            .entry(m.cells[0].lhs.span)
            .or_insert_with(|| Recorded::new(reads(&entries_reads(m))));
        rec.values.insert(key(&rec.reads, names), found);
    }

    /// What checking found of the run `m` with the indices bound as in `names`.
    pub(crate) fn entries(&self, m: &entries::Entries<'_>, names: &impl Names) -> Option<&Entries> {
        self.entries.get(&m.cells[0].lhs.span)?.get(names)
    }

    /// Records the rows of a block matrix with its `…` expanded.
    pub(crate) fn record_expansion(
        &mut self,
        rows: &[Vec<Entry>],
        names: &impl Names,
        expanded: Expansion,
    ) {
        let Some(span) = first_span(rows) else {
            return;
        };
        let rec = self
            .ellipses
            .entry(span)
            .or_insert_with(|| Recorded::new(reads(&items(rows))));
        rec.values.insert(key(&rec.reads, names), expanded);
    }

    /// The rows checking expanded for this block matrix with the indices bound as in
    /// `names`; `None` if they did not expand there.
    pub(crate) fn expansion(
        &self,
        rows: &[Vec<Entry>],
        names: &impl Names,
    ) -> Option<&Vec<Vec<Expr>>> {
        self.ellipses.get(&first_span(rows)?)?.get(names)?.as_ref()
    }
}

/// The expressions of a convolution form whose names its numbers read.
fn conv_reads<'a>(m: &Entrywise<'a>) -> Vec<&'a Expr> {
    let mut out = vec![m.rhs, &m.family.lo, &m.family.hi];
    if let Some(s) = &m.second {
        out.extend([&s.family.lo, &s.family.hi]);
    }
    if let Some(c) = &m.channels {
        out.extend([&c.family.lo, &c.family.hi]);
    }
    out
}

/// The expressions of a run defining a matrix entry by entry.
fn entries_reads<'a>(m: &entries::Entries<'a>) -> Vec<&'a Expr> {
    let mut out = Vec::new();
    for c in &m.cells {
        out.push(c.rhs);
        for (lo, hi) in c.ranges {
            out.extend([lo, hi]);
        }
        for s in c.subs {
            if let entries::Sub::Expr(e) = s {
                out.push(e);
            }
        }
    }
    out
}

/// The blocks of a block matrix.
fn items(rows: &[Vec<Entry>]) -> Vec<&Expr> {
    rows.iter()
        .flatten()
        .filter_map(|e| match e {
            Entry::Item(x) => Some(x),
            Entry::Ellipsis(_) => None,
        })
        .collect()
}

/// The span of a block matrix's first entry, which names it for the record.
fn first_span(rows: &[Vec<Entry>]) -> Option<Span> {
    rows.iter().flatten().next().map(|e| match e {
        Entry::Item(x) => x.span,
        Entry::Ellipsis(s) => *s,
    })
}

/// The plain names `es` read, in order of first appearance.
fn reads(es: &[&Expr]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in es {
        crate::syntax::walk(e, &mut |x| {
            if let ExprKind::Name(n) = &x.kind {
                let plain = crate::names::build(&n.word, n.primes, n.frozen, &[]);
                if !out.contains(&plain) {
                    out.push(plain);
                }
            }
        });
    }
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

#[cfg(test)]
mod tests {
    use crate::resolve::{Index, Names, Symbol};

    /// No index bound: the names a statement reads at the top of a model.
    struct Top;

    impl Names for Top {
        fn index(&self, _: &str) -> Option<Index> {
            None
        }

        fn symbol(&self, _: &str) -> Symbol {
            Symbol::Other
        }
    }

    /// Without channels syntax cannot tell kernel from input: in `ω_{i-2j+2} x_j` the factor
    /// with the arithmetic reads like the input; checking records that `x`, the per-example
    /// name, is the input (the transposed convolution, §10.4.2) and lowering reads that.
    #[test]
    fn checking_records_which_factor_is_the_kernel() {
        let src = "model T[D = 4] {\n input x : ℝ^{D}\n param ω : ℝ^{3}\n h_i = ∑_{j=1}^{D} ω_{i-2j+2} x_j   for i ∈ {1 … 8}\n f[x, φ] = ∑_{i=1}^{8} h_i\n}\n";
        with_conv(src, |numbers, _, m| {
            let written = (m.kernel.word.clone(), m.input.word.clone());
            let conv = numbers.conv(&m, &Top).expect("recorded");
            assert_eq!(conv.exchange, Some(true), "as written: {written:?}");
            let m = crate::check::entrywise::orient(m, true);
            assert_eq!((m.kernel.word.as_str(), m.input.word.as_str()), ("ω", "x"));
            assert_eq!(m.reading, crate::check::entrywise::Reading::Transposed);
        });
    }

    /// Checks `src` (one model) and hands `f` its record of numbers, its statements and its
    /// one convolution as written.
    fn with_conv(
        src: &str,
        f: impl FnOnce(&super::Numbers, &[crate::ast::Stmt], crate::check::entrywise::Entrywise<'_>),
    ) {
        let file = crate::syntax::parse(src).expect("parses");
        let info = crate::check::check_with(&file, src, &Default::default()).expect("checks");
        let stmts = &file.models[0].stmts;
        let h = stmts
            .iter()
            .position(|s| crate::check::entrywise::matches(std::slice::from_ref(s)).is_some());
        let h = &stmts[h.expect("the convolution")..][..1];
        let m = crate::check::entrywise::matches(h).expect("the convolution");
        f(&info.models[0].numbers, stmts, m);
    }

    #[test]
    fn checking_records_the_forms_lowering_reads() {
        let src = "model T[D = 5] {\n input x : ℝ^{D}\n param ω : ℝ^{3}\n h_i = ∑_{j=1}^{3} ω_j x_{2i+j-2}   for i ∈ {1 … 2}\n M_{mn} = m + 10 n   for m ∈ {1 … 2}, n ∈ {1 … 3}\n f[x, φ] = ∑_{i=1}^{2} h_i\n}\n";
        with_conv(src, |numbers, stmts, m| {
            let conv = numbers.conv(&m, &Top).expect("recorded");
            assert!(conv.starts_at_one);
            assert_eq!(
                conv.exchange,
                Some(false),
                "x, read at x_{{2i+j-2}}, is the input"
            );
            let (g, channels) = conv.sizes.expect("its sizes");
            // Output i reads x_{2i+j-2}; with o = i − 1 and j' = j − 1 (0-based) that is entry
            // 2(o+1) + (j'+1) − 2 − 1 = 2o + j' of x: stride 2, dilation 1, no padding.
            assert_eq!(
                (g[0].n_out, g[0].k, g[0].stride, g[0].dil, g[0].pad),
                (2, 3, 2, 1, 0)
            );
            assert_eq!(channels, None);
            let at = stmts
                .iter()
                .position(|s| crate::check::entries::matches(std::slice::from_ref(s)).is_some());
            let cells = &stmts[at.expect("the matrix")..][..1];
            let m = crate::check::entries::matches(cells).expect("the matrix");
            // Entry (m, n) is m + 10n, column by column.
            let want = super::Entries::Table(2, 3, vec![11.0, 12.0, 21.0, 22.0, 31.0, 32.0]);
            assert_eq!(numbers.entries(&m, &Top), Some(&want));
        });
    }
}
