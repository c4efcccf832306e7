//! The one reading of a name's subscripts, asked by checking and lowering alike.
//!
//! A subscript item means different things by what its names are bound to: `x_i` with `i`
//! the example index is the current example, `softmax_{y_i}` with `y` a class-label target
//! the component of the example's class, `y_{i,n}` an entry of a vector of labels, `φ_j`
//! inside `∑_j` each parameter of a group, `h_{k+1}` with `k` a family variable the member
//! `h_2`. Checking and lowering hold their own scopes (checking symbolic values and
//! diagnostics, lowering graph nodes), so each implements [`Names`], the few questions this
//! reading asks, and both call [`sub`], [`canonical`] and [`number`]: the question "what does
//! this subscript mean" has one answer. Each then acts on the [`Sub`] in its own terms
//! (checking reports what is wrong, lowering builds nodes).

use crate::ast::{self, Expr, ExprKind};
use crate::eval::Lookup;
use crate::names;

/// How an index variable is bound where it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Index {
    /// A family variable or an unrolled sum's index, with its current value.
    Int(i64),
    /// The example index of a sum over the batch (or of `ℓ_i = …`).
    Batch,
    /// `∑_j φ_j²`: an index running over the parameters of a group.
    Group,
}

/// What a canonical name is bound to, as far as reading subscripts is concerned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Symbol {
    /// A hyper-parameter, with its value if it has one.
    Hyper(Option<f64>),
    /// A name whose own definition failed (reported there).
    Poisoned,
    /// Data holding one class label per example (`target y : {1 … K}`).
    Label,
    /// Data holding a vector of labels per example (`target y : {1 … K}^{N}`).
    Labels,
    /// Anything else in scope: data, a parameter, a value, a function, a group.
    Other,
    /// A name the scope does not know.
    Unknown,
}

/// The questions the reading asks of a scope.
pub(crate) trait Names {
    /// How `var` is bound as an index, innermost binding first; `None` if it is not one.
    fn index(&self, var: &str) -> Option<Index>;
    /// What the canonical name `name` is bound to.
    fn symbol(&self, name: &str) -> Symbol;
}

/// What one subscript item means.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Sub {
    /// A number (a literal, a hyper-parameter, a family variable, arithmetic of them).
    Int(i64),
    /// The example index, by its variable's name.
    Batch(String),
    /// An index over a parameter group (`φ_j` in `∑_j`), by its variable's name.
    Group(String),
    /// The current example's class label: `y` alone (`softmax_y`), or `y_i` with `i` the
    /// example index. `input` names the data, `text` is the item's canonical spelling.
    Label {
        input: String,
        text: String,
        vector: bool,
    },
    /// `y_{i,n}`: entry `n` (1-based, not yet checked against the vector's length) of the
    /// current example's vector of labels `input`.
    LabelEntry {
        input: String,
        entry: i64,
        text: String,
    },
    /// Anything else, by its canonical text (a name, or an expression's printed form).
    Text(String),
}

/// What a name is worth in a numeric expression: bound indices, then hyper-parameters.
pub(crate) fn lookup(n: &ast::Name, names: &impl Names) -> Lookup {
    let name = canonical(n, names);
    match names.index(&name) {
        Some(Index::Int(v)) => return Lookup::Value(v as f64),
        Some(_) => return Lookup::NoValue,
        None => {}
    }
    match names.symbol(&name) {
        Symbol::Hyper(Some(v)) => Lookup::Value(v),
        Symbol::Hyper(None) | Symbol::Poisoned => Lookup::NoValue,
        Symbol::Unknown => Lookup::Unknown,
        Symbol::Label | Symbol::Labels | Symbol::Other => Lookup::NotANumber,
    }
}

/// The integer value of `e` in the scope of `names`; `None` if it has none here.
pub(crate) fn integer(e: &Expr, names: &impl Names) -> Option<i64> {
    crate::eval::integer(e, &|n| lookup(n, names))
}

/// The numeric value of `e` in the scope of `names`; `None` if it has none here.
pub(crate) fn number(e: &Expr, names: &impl Names) -> Option<f64> {
    crate::eval::number(e, &|n| lookup(n, names)).ok()
}

/// A name's canonical text with its integer subscripts evaluated (`h_{k+1}` → `h_2`); a
/// hyper-parameter is named as written (`D_h` stays `D_h` inside `for h ∈ …`).
pub(crate) fn canonical(n: &ast::Name, names: &impl Names) -> String {
    if !n.sub.is_empty() {
        let literal = names::literal(n);
        if let Symbol::Hyper(_) = names.symbol(&literal) {
            return literal;
        }
    }
    let items: Vec<String> = n.sub.iter().map(|s| index_text(s, names)).collect();
    names::build(&n.word, n.primes, n.frozen, &items)
}

/// A subscript item's canonical text: its value, a name's canonical text, or the
/// expression as printed.
pub(crate) fn index_text(e: &Expr, names: &impl Names) -> String {
    if let Some(v) = integer(e, names) {
        return v.to_string();
    }
    match &e.kind {
        ExprKind::Name(n) => canonical(n, names),
        _ => crate::dump::expr(e),
    }
}

/// What the subscript item `e` means where `names` says how its names are bound.
pub(crate) fn sub(e: &Expr, names: &impl Names) -> Sub {
    if let Some(v) = integer(e, names) {
        return Sub::Int(v);
    }
    let ExprKind::Name(n) = &e.kind else {
        return Sub::Text(crate::dump::expr(e));
    };
    let text = canonical(n, names);
    if n.sub.is_empty() {
        return match names.index(&text) {
            Some(Index::Batch) => Sub::Batch(text),
            Some(Index::Group) => Sub::Group(text),
            Some(Index::Int(_)) => Sub::Text(text),
            // `softmax_y[…]` with `y` a class label of the current example.
            None => match names.symbol(&text) {
                Symbol::Label => Sub::Label {
                    input: text.clone(),
                    text,
                    vector: false,
                },
                Symbol::Labels => Sub::Label {
                    input: text.clone(),
                    text,
                    vector: true,
                },
                _ => Sub::Text(text),
            },
        };
    }
    if let Some((input, entry)) = label_entry(n, names) {
        return Sub::LabelEntry { input, entry, text };
    }
    // `y_i` with `y` a class-label target and `i` the example index: the example's label.
    let (last, base) = n.sub.split_last().expect("a subscripted name");
    let example = matches!(
        &last.kind,
        ExprKind::Name(l) if l.sub.is_empty() && names.index(&canonical(l, names)) == Some(Index::Batch)
    );
    let input = canonical(
        &ast::Name {
            sub: base.to_vec(),
            ..n.clone()
        },
        names,
    );
    match names.symbol(&input) {
        Symbol::Label if example => Sub::Label {
            input,
            text,
            vector: false,
        },
        Symbol::Labels if example => Sub::Label {
            input,
            text,
            vector: true,
        },
        _ => Sub::Text(text),
    }
}

/// `y_{i,n}` with `y` a vector of labels per example, `i` the example index and `n` a number:
/// `y` and `n`.
fn label_entry(n: &ast::Name, names: &impl Names) -> Option<(String, i64)> {
    let [batch, entry] = n.sub.as_slice() else {
        return None;
    };
    let ExprKind::Name(b) = &batch.kind else {
        return None;
    };
    if !b.sub.is_empty() || names.index(&canonical(b, names)) != Some(Index::Batch) {
        return None;
    }
    let base = names::build(&n.word, n.primes, n.frozen, &[]);
    if names.symbol(&base) != Symbol::Labels {
        return None;
    }
    Some((base, integer(entry, names)?))
}
