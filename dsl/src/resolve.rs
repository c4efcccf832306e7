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
//! (checking reports what is wrong, lowering builds nodes). What a whole name resolves to is
//! one walk as well, [`path`]: the longest prefix bound in scope and the steps after it
//! (the example, a component, a label's pick, an entry `X_{r,c}`), which each side applies.

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

/// `r_{i,j}` inside `∑_{(i,j)∈Ω}`: the name with the observed pair's members run together
/// into the sum's index, `r_{ij}` (the example's rating, as the notes print it); `None` for
/// any other name. It applies when the subscript is two or more plain names, each a class
/// label of the example (the pair's members are, `check::pairs`), that together spell a
/// bound example index (the binder's, which the parser sets to the members run together).
pub(crate) fn pair_joined(n: &ast::Name, names: &impl Names) -> Option<ast::Name> {
    if n.sub.len() < 2 {
        return None;
    }
    let mut joined = String::new();
    for item in &n.sub {
        let ExprKind::Name(m) = &item.kind else {
            return None;
        };
        if !m.sub.is_empty() || m.primes > 0 || m.frozen || m.node.is_some() {
            return None;
        }
        let member = canonical(m, names);
        if names.index(&member).is_some() || names.symbol(&member) != Symbol::Label {
            return None;
        }
        joined.push_str(&member);
    }
    if names.index(&joined) != Some(Index::Batch) {
        return None;
    }
    let (first, last) = (n.sub.first()?.span, n.sub.last()?.span);
    let span = crate::diag::Span {
        start: first.start,
        end: last.end,
    };
    let index = ast::Name {
        word: joined,
        primes: 0,
        frozen: false,
        sub: Vec::new(),
        node: None,
        span,
    };
    Some(ast::Name {
        sub: vec![Expr {
            kind: ExprKind::Name(index),
            span,
        }],
        ..n.clone()
    })
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

/// What the walk of a name's prefix needs to know of one subscript item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemKind {
    /// A number: a component, or with the next number an entry `X_{r,c}`.
    Int(i64),
    /// The example index: keeps the value of a name per example.
    Batch,
    /// Anything else (a class label, a group's index, text).
    Other,
}

/// What one subscript item after the root does to the value before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Item `k` (0-based) applied to the value: the example (`x_i`), a component (`f_1`,
    /// `X_t` a column of a matrix per example), a label's pick (`softmax_{y_i}`), an entry
    /// of a vector of labels, a group's member (`φ_j`).
    Item(usize),
    /// Items `k` and `k + 1`, both numbers: the entry `X_{r,c}` (1-based) of a matrix with
    /// more than one column, per example (`X ∈ ℝ^{D×N}`) or fixed (`w_{k,l}`).
    Entry(usize, i64, i64),
}

/// How a name with subscripts resolves: the name with its first `root` items names something
/// (or `root` is 0: the word alone, a built-in constant or nothing), and each later item is a
/// step from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Path {
    /// How many subscript items the root's name has.
    pub root: usize,
    /// The steps after the root, in order.
    pub steps: Vec<Step>,
}

/// The one walk of a name's prefix (`x_i` → `x`, then the example; `y_{i,1}` → `y`, the
/// example, its first component; `X_{r,c}` an entry rather than column r's component c).
/// `known(len)` says whether the name with its first `len` items is bound to something in the
/// caller's scope; `matrix(root, through_batch)` whether the root's value is a matrix with
/// more than one column (and, when the example index stands between it and the entry, one per
/// example). The longest known prefix is the root, found from the whole name down; an entry
/// is read where the two items before it lead to such a matrix. Checking and lowering apply
/// the steps in their own terms (types and diagnostics, graph nodes).
pub(crate) fn path(
    kinds: &[ItemKind],
    known: impl Fn(usize) -> bool,
    matrix: impl Fn(usize, bool) -> bool,
) -> Path {
    // Bottom up: the path of every prefix from a shorter one, so the work is linear. Each
    // prefix keeps its root, the prefix it extends with its last step, and whether its steps
    // are all the example index.
    struct Prefix {
        root: usize,
        last: Option<(usize, Step)>,
        batch_only: bool,
    }
    // The whole name bound: the root, with no walk (the common case).
    if kinds.is_empty() || known(kinds.len()) {
        return Path {
            root: kinds.len(),
            steps: Vec::new(),
        };
    }
    let mut prefixes: Vec<Prefix> = Vec::with_capacity(kinds.len() + 1);
    for len in 0..=kinds.len() {
        if len == 0 || (len < kinds.len() && known(len)) {
            prefixes.push(Prefix {
                root: len,
                last: None,
                batch_only: true,
            });
            continue;
        }
        let entry = match kinds[..len] {
            [.., ItemKind::Int(r), ItemKind::Int(c)] => {
                let base = &prefixes[len - 2];
                let through_batch = base.last.is_some();
                (base.batch_only && matrix(base.root, through_batch)).then_some((r, c))
            }
            _ => None,
        };
        let (from, step) = match entry {
            Some((r, c)) => (len - 2, Step::Entry(len - 2, r, c)),
            None => (len - 1, Step::Item(len - 1)),
        };
        let base = &prefixes[from];
        prefixes.push(Prefix {
            root: base.root,
            last: Some((from, step)),
            batch_only: base.batch_only
                && step == Step::Item(len - 1)
                && kinds[len - 1] == ItemKind::Batch,
        });
    }
    let mut steps = Vec::new();
    let mut at = kinds.len();
    while let Some((from, step)) = prefixes.get(at).and_then(|p| p.last) {
        steps.push(step);
        at = from;
    }
    steps.reverse();
    Path {
        root: prefixes.get(kinds.len()).map_or(0, |p| p.root),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::{ItemKind, Path, Step, path};
    use ItemKind::{Batch, Int, Other};

    #[test]
    fn the_longest_known_prefix_is_the_root() {
        // `h_2` in scope: the whole name.
        let p = path(&[Int(2)], |len| len == 1, |_, _| false);
        assert_eq!(
            p,
            Path {
                root: 1,
                steps: vec![]
            }
        );
        // `y_{i,1}`: `y`, its example, the example's first component.
        let p = path(&[Batch, Int(1)], |len| len == 0, |_, _| false);
        assert_eq!(p.steps, vec![Step::Item(0), Step::Item(1)]);
        // `softmax_{y_i}` style items after a known prefix `f_1`: `f_1`, then the pick.
        let p = path(&[Int(1), Other], |len| len == 1, |_, _| false);
        assert_eq!(
            p,
            Path {
                root: 1,
                steps: vec![Step::Item(1)]
            }
        );
    }

    #[test]
    fn two_numbers_after_a_matrix_are_an_entry() {
        // `X_{i,2,3}` with `X` a matrix per example: the example, then the entry (2, 3).
        let p = path(
            &[Batch, Int(2), Int(3)],
            |len| len == 0,
            |root, through| root == 0 && through,
        );
        assert_eq!(p.steps, vec![Step::Item(0), Step::Entry(1, 2, 3)]);
        // The same subscripts after a vector: components, one after the other.
        let p = path(&[Batch, Int(2), Int(3)], |len| len == 0, |_, _| false);
        assert_eq!(p.steps, vec![Step::Item(0), Step::Item(1), Step::Item(2)]);
        // `X_{1,2,3}` of a matrix: the entry (1, 2), then a component of that number (which
        // checking refuses); an entry is read only right after the matrix or its example.
        let p = path(&[Int(1), Int(2), Int(3)], |len| len == 0, |_, _| true);
        assert_eq!(p.steps, vec![Step::Entry(0, 1, 2), Step::Item(2)]);
    }

    #[test]
    fn a_long_subscript_is_walked_in_linear_time() {
        let kinds = vec![Int(1); 20_000];
        let p = path(&kinds, |len| len == 0, |_, _| true);
        assert_eq!(p.root, 0);
        assert_eq!(p.steps.len(), 19_999);
    }
}
