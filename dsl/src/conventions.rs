//! The book's reading conventions, decided once on the tree, before any name is resolved.
//!
//! Three conventions of mathematical writing are not grammar but still fix what a spec means.
//! They are applied here, to the parsed [`ast::File`], so that checking, lowering and every
//! printer see one reading:
//!
//! - **A numeric fraction in front of a term is its coefficient.** `1/2 ∑_i ℓ_i`, `1/|B| ∑_i`,
//!   `1/(2σ²) ‖y − f‖²`, `1/√(2πσ²) exp[…]` mean `(1/2)·∑…`, not `1/(2·∑…)`. Precisely: in
//!   `a / d₁ d₂ … dₙ` (juxtaposed factors after the `/`) with a constant numerator `a` (numbers,
//!   hyper-parameters, the batch size, `π`, a family variable or the index of an unrolled sum,
//!   and expressions of them), when `d₁` is constant and `d₂` is not, or `d₁` is a bracketed
//!   group (`(…)`, `√…`, `‖…‖`, a call), `a / d₁` is the coefficient of `d₂ … dₙ`. When every
//!   factor is constant the whole product divides (`(y − μ)² / 2σ²` is `/(2σ²)`, eq. 5.7).
//!   Any other `a / d₁ d₂ …` (`1/2 D σ² x`: is it `½ D σ² x` or `1/(2D) σ² x`?) is ambiguous and
//!   an error (`E0108`) whose help shows both readings.
//! - **`|B|` and `I` are the number of examples.** `|B|` (eq. 11.7) anywhere, and `I` as a
//!   sum's upper limit or the first factor of a denominator (`1/I ∑_{i=1}^{I} …`), become
//!   [`ExprKind::BatchSize`], the batch size at run time. Anywhere else `I` is the identity
//!   (`A + I`, eq. 13.10; `Norm[0, I]`). Because `I` has these meanings, a model may not declare
//!   a quantity named `I` (`E0217`).
//!
//! - **In an update rule, `x_{t+1}` is the next step's `x'`.** The book writes a transition
//!   as `s_t, a_t → r, s_{t+1}, a_{t+1}` (eqs. 19.14–19.15). In a `←` statement whose left
//!   side is indexed at a step `t` (`q[s_t, a_t] ← …`), a name subscripted `t+1` is the
//!   primed name at `t`: `s_{t+1}` reads the input `s'` (the next state), `a_{t+1}` the input
//!   `a'` (the next action), of the same transition ([`next_step`]).
//!
//! The fourth convention, which subscript of a left side is the example index, needs the scope
//! and lives with the checker ([`crate::check::example_index`]); lowering asks it too. The
//! fifth, **an update of a whole value is written at steps `t` and `t+1`** (the optimisers of
//! eqs. 6.3–6.17), is [`steps`].

use crate::ast::{self, BinOp, Expr, ExprKind, StmtKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::names::{self, literal};
use std::collections::BTreeSet;

mod steps;
pub(crate) use steps::{is_whole, next_name};

/// Applies the conventions to every model of `file`; `src` is its text, for the readings
/// shown in diagnostics.
pub(crate) fn apply(file: &mut ast::File, src: &str, diags: &mut Vec<Diagnostic>) {
    for model in &mut file.models {
        steps::apply(model, diags);
        Model::new(model, src, diags).run(model);
    }
}

struct Model<'s, 'd> {
    src: &'s str,
    diags: &'d mut Vec<Diagnostic>,
    /// The model's hyper-parameters, by canonical name.
    hypers: BTreeSet<String>,
    /// Index variables with a constant value where an expression is read: the statement's
    /// family variable and the indices of enclosing unrolled sums.
    indices: Vec<String>,
    /// Names a left side defines squared (`σ² = …`), spelt as defined (`σ²`, `σ²_Ω`).
    squared: BTreeSet<String>,
    /// Hyper-parameters, inputs, targets, noise and parameters, by canonical name.
    declared: BTreeSet<String>,
    /// Places where `I` counts the examples, found on the way down (`counting_places`).
    counting: Vec<*const Expr>,
}

impl<'s, 'd> Model<'s, 'd> {
    fn new(model: &ast::Model, src: &'s str, diags: &'d mut Vec<Diagnostic>) -> Self {
        let hypers = model.hypers.iter().map(|h| literal(&h.name)).collect();
        let mut declared: BTreeSet<String> =
            model.hypers.iter().map(|h| literal(&h.name)).collect();
        for s in &model.stmts {
            match &s.kind {
                StmtKind::Input(items) | StmtKind::Target(items) => {
                    declared.extend(items.iter().map(|t| literal(&t.name)));
                }
                StmtKind::Param { items, .. } => {
                    declared.extend(items.iter().map(|t| literal(&t.name)));
                }
                StmtKind::Noise { name, .. } => {
                    declared.insert(literal(name));
                }
                _ => {}
            }
        }
        Model {
            src,
            diags,
            hypers,
            indices: Vec::new(),
            squared: BTreeSet::new(),
            declared,
            counting: Vec::new(),
        }
    }

    fn run(&mut self, model: &mut ast::Model) {
        for h in &mut model.hypers {
            self.reserved(&h.name);
            if let Some(d) = &mut h.default {
                self.expr(d, false);
            }
        }
        for s in &mut model.stmts {
            self.indices.clear();
            self.counting.clear();
            if let Some(f) = &s.family {
                self.indices.push(literal(&f.var));
            }
            self.stmt(&mut s.kind);
        }
    }

    fn stmt(&mut self, kind: &mut StmtKind) {
        match kind {
            StmtKind::Input(items) | StmtKind::Target(items) => {
                for t in items.iter() {
                    self.reserved(&t.name);
                }
            }
            StmtKind::Param { items, .. } => {
                for it in items {
                    self.reserved(&it.name);
                    if let Some(init) = &mut it.init {
                        self.expr(&mut init.expr, false);
                    }
                }
            }
            StmtKind::Noise { name, dist, .. } => {
                self.reserved(name);
                self.expr(dist, false);
            }
            StmtKind::Let { name, body, .. } => {
                self.reserved(name);
                self.expr(body, false);
            }
            StmtKind::Update { lhs, rhs } => {
                self.expr(rhs, false);
                next_step(lhs, rhs);
            }
            StmtKind::Equation { lhs, rhs, .. } => {
                if lhs.name.sub.is_empty() {
                    self.reserved(&lhs.name);
                }
                self.expr(rhs, false);
                if lhs.squared {
                    self.define_squared(lhs);
                }
            }
        }
    }

    /// `σ² = …` (eq. 5.14) defines the name `σ²`, which later `σ²` and `σ^2` read. The left
    /// side is rewritten to that name; squaring a declared `σ` cannot be redefined.
    fn define_squared(&mut self, lhs: &mut ast::Lhs) {
        let base = literal(&lhs.name);
        if self.declared.contains(&base) {
            self.diags.push(
                Diagnostic::new(
                    Code::E0207,
                    lhs.span,
                    format!("`{base}` is declared, so `{base}²` is its square; an equation cannot redefine it"),
                )
                .label("redefined here")
                .help(format!("give the new quantity its own name, e.g. `{base}'²` or `v`")),
            );
            return;
        }
        lhs.name = squared_name(&lhs.name);
        lhs.squared = false;
        self.squared.insert(literal(&lhs.name));
    }

    /// `I` names the number of examples; a declaration of it is an error.
    fn reserved(&mut self, n: &ast::Name) {
        if n.is_bare("I") {
            self.diags.push(
                Diagnostic::new(
                    Code::E0217,
                    n.span,
                    "`I` is the number of training examples in the book's notation, so it cannot name another quantity",
                )
                .label("declared here")
                .help("`I` (like `|B|`) is the batch size wherever it is used as a value, as in `1/I ∑_{i=1}^{I} ℓ_i`; give this quantity another name"),
            );
        }
    }

    /// Rewrites `e` bottom-up. `batch_i`: whether a bare `I` here is the batch size: in a
    /// sum's upper limit and in the first factor of a denominator (`∑_{i=1}^{I}`, `1/I`,
    /// `1/(2I)`), and in what they contain. Elsewhere (`A + I`, `σ² I`, `Norm[0, I]`) `I` is
    /// the identity.
    fn expr(&mut self, e: &mut Expr, batch_i: bool) {
        let pushed = self.enter(e);
        let batch_i = batch_i || self.counting.contains(&(e as *const Expr));
        self.counting.extend(counting_places(e));
        let inner_batch_i = batch_i && !is_distribution(e);
        for_each_child(e, &mut |c| self.expr(c, inner_batch_i));
        if pushed {
            self.indices.pop();
        }
        if let ExprKind::Power(b, p) = &e.kind
            && let (ExprKind::Name(n), ExprKind::Number(2.0)) = (&b.kind, &p.kind)
            && self.squared.contains(&literal(&squared_name(n)))
        {
            e.kind = ExprKind::Name(squared_name(n));
            return;
        }
        if let ExprKind::Name(n) = &e.kind
            && n.is_bare("I")
        {
            e.kind = match batch_i {
                true => ExprKind::BatchSize,
                false => ExprKind::Identity,
            };
        }
        self.fraction(e);
    }

    /// Binds the index of an unrolled sum (`∑_{k=1}^{K}`) for its body; true if one was.
    fn enter(&mut self, e: &Expr) -> bool {
        if let ExprKind::Big {
            binder: Some(b),
            upper,
            ..
        } = &e.kind
            && b.set.is_none()
            && (b.lo.is_some() || upper.is_some())
            && !upper.as_ref().is_some_and(|u| is_batch_upper(u))
        {
            self.indices.push(literal(&b.var));
            return true;
        }
        false
    }

    /// `a / d₁ … dₙ`: a coefficient, a plain division, or an ambiguity.
    fn fraction(&mut self, e: &mut Expr) {
        let ExprKind::Binary {
            op: BinOp::Div,
            lhs,
            rhs,
        } = &mut e.kind
        else {
            return;
        };
        let n = juxt_len(rhs);
        if n < 2 {
            return;
        }
        let factors = juxt_factors(rhs);
        let k = factors.iter().take_while(|f| self.constant(f)).count();
        if k == n {
            return;
        }
        // The coefficient's denominator is one factor: a constant, or a bracketed group.
        let one = k == 1 || (k == 0 && delimited(factors[0]));
        if one && self.constant(lhs) {
            let rest = split_juxt(rhs, 1);
            let num = std::mem::replace(lhs.as_mut(), placeholder());
            let den = std::mem::replace(rhs.as_mut(), placeholder());
            let coef = Expr::binary(BinOp::Div, num, den);
            e.kind = Expr::binary(BinOp::Juxt, coef, rest).kind;
            return;
        }
        let (a, first, rest) = (
            self.text(lhs.span),
            self.text(factors[0].span),
            self.text(factors[1].span.to(factors[n - 1].span)),
        );
        self.diags.push(
            Diagnostic::new(
                Code::E0108,
                e.span,
                format!("`{a} / {first} {rest}` can be read two ways"),
            )
            .label("ambiguous fraction")
            .help(format!(
                "write `({a} / {first}) {rest}` to scale `{rest}`, or `{a} / ({first} {rest})` to divide by the product; a fraction of numbers or hyper-parameters in front of a term, as in `1/2 ∑_i ℓ_i`, is read as its coefficient"
            )),
        );
    }

    /// Whether `e` has one value for the whole model: numbers, hyper-parameters, the batch
    /// size, `π`, bound index variables, and expressions of them.
    fn constant(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Number(_) | ExprKind::BatchSize => true,
            ExprKind::Name(n) => {
                let name = literal(n);
                name == "π" || self.hypers.contains(&name) || self.indices.contains(&name)
            }
            ExprKind::Paren(x) | ExprKind::Neg(x) | ExprKind::Sqrt(x) => self.constant(x),
            ExprKind::Power(b, p) => self.constant(b) && self.constant(p),
            ExprKind::Binary { lhs, rhs, .. } => self.constant(lhs) && self.constant(rhs),
            _ => false,
        }
    }

    fn text(&self, span: Span) -> String {
        self.src
            .get(span.start as usize..span.end as usize)
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }
}

/// `∑_{i=1}^{I}`: an upper limit that is the number of examples.
pub(crate) fn is_batch_upper(u: &Expr) -> bool {
    match &u.kind {
        ExprKind::BatchSize => true,
        ExprKind::Name(n) => n.is_bare("I"),
        _ => false,
    }
}

/// The name `σ²` of the square of `σ` (`σ²_Ω` of `σ_Ω`).
fn squared_name(n: &ast::Name) -> ast::Name {
    ast::Name {
        word: format!("{}²", names::word(&n.word)),
        ..n.clone()
    }
}

/// A factor whose extent is marked: `(2σ²)`, `√(2π σ²)`, `‖x‖`, `exp[z]`.
fn delimited(e: &Expr) -> bool {
    matches!(
        &e.kind,
        ExprKind::Paren(_) | ExprKind::Sqrt(_) | ExprKind::Norm(_) | ExprKind::Call { .. }
    )
}

/// The sub-expressions of `e` in which `I` counts the examples: a big operator's upper limit,
/// and a quotient's first juxtaposed factor after the `/`. Identified by address while the
/// tree is walked (nothing is moved before the walk reaches them).
fn counting_places(e: &Expr) -> Vec<*const Expr> {
    match &e.kind {
        ExprKind::Big { upper: Some(u), .. } => vec![&**u as *const Expr],
        ExprKind::Binary {
            op: BinOp::Div,
            rhs,
            ..
        } => {
            let mut first: &Expr = rhs;
            while let ExprKind::Binary {
                op: BinOp::Juxt,
                lhs,
                ..
            } = &first.kind
            {
                first = lhs;
            }
            // `1/I ∑ …`: the `I` itself; `1/(2I)`: the bracket; `x / I`: the whole.
            vec![first as *const Expr]
        }
        _ => Vec::new(),
    }
}

fn is_distribution(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { func, .. }
        if crate::check::builtins::distribution(&func.word).is_some_and(|d| d.arity() > 0))
}

/// The number of juxtaposed factors of `e` (1 when it is not a juxtaposition).
fn juxt_len(e: &Expr) -> usize {
    let mut n = 1;
    let mut cur = e;
    while let ExprKind::Binary {
        op: BinOp::Juxt,
        lhs,
        ..
    } = &cur.kind
    {
        n += 1;
        cur = lhs;
    }
    n
}

/// The juxtaposed factors of `e`, left to right.
fn juxt_factors(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut cur = e;
    while let ExprKind::Binary {
        op: BinOp::Juxt,
        lhs,
        rhs,
    } = &cur.kind
    {
        out.push(rhs.as_ref());
        cur = lhs;
    }
    out.push(cur);
    out.reverse();
    out
}

/// Splits the left-folded juxtaposition `e` after its first `k` factors: `e` keeps them, the
/// rest is returned (left-folded too).
fn split_juxt(e: &mut Expr, k: usize) -> Expr {
    let n = juxt_len(e);
    let mut tail = Vec::new();
    for _ in k..n {
        let ExprKind::Binary { lhs, rhs, .. } = std::mem::replace(&mut e.kind, ExprKind::Ones)
        else {
            break;
        };
        tail.push(*rhs);
        *e = *lhs;
    }
    tail.reverse();
    let mut it = tail.into_iter();
    let first = it.next().unwrap_or_else(placeholder);
    it.fold(first, |acc, f| Expr::binary(BinOp::Juxt, acc, f))
}

fn placeholder() -> Expr {
    Expr {
        kind: ExprKind::Number(0.0),
        span: Span::default(),
    }
}

/// Calls `f` on each direct sub-expression of `e`, mutably (subscripts included).
/// The step index of an update's left side: the plain name subscripting its indices
/// (`t` of `q[s_t, a_t]`), if they name one.
pub(crate) fn step_index(lhs: &ast::Lhs) -> Option<String> {
    lhs.args.iter().flatten().find_map(|a| match &a.kind {
        ExprKind::Name(n) => match n.sub.as_slice() {
            [
                Expr {
                    kind: ExprKind::Name(t),
                    ..
                },
            ] if t.sub.is_empty() && t.primes == 0 && !t.frozen => Some(literal(t)),
            _ => None,
        },
        _ => None,
    })
}

/// `x_{t+1}` → `x'_t` in an update whose left side is indexed at step `t`.
fn next_step(lhs: &mut ast::Lhs, rhs: &mut Expr) {
    let Some(t) = step_index(lhs) else { return };
    fn visit(e: &mut Expr, t: &str) {
        if let ExprKind::Name(n) | ExprKind::Call { func: n, .. } = &mut e.kind
            && let [sub] = n.sub.as_slice()
            && let ExprKind::Binary {
                op: BinOp::Add,
                lhs: l,
                rhs: r,
            } = &sub.kind
            && let (ExprKind::Name(v), ExprKind::Number(1.0)) = (&l.kind, &r.kind)
            && v.sub.is_empty()
            && v.primes == 0
            && literal(v) == t
        {
            let var = (**l).clone();
            n.primes += 1;
            n.sub = vec![var];
        }
        for_each_child(e, &mut |c| visit(c, t));
    }
    for a in lhs.args.iter_mut().flatten() {
        visit(a, &t);
    }
    visit(rhs, &t);
}

pub(crate) fn for_each_child(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    match &mut e.kind {
        ExprKind::Number(_) | ExprKind::Ones | ExprKind::Identity | ExprKind::BatchSize => {}
        ExprKind::Name(n) => n.sub.iter_mut().for_each(f),
        ExprKind::Call { func, args } => {
            func.sub.iter_mut().for_each(&mut *f);
            args.iter_mut().for_each(f);
        }
        ExprKind::Neg(x)
        | ExprKind::Paren(x)
        | ExprKind::Transpose(x)
        | ExprKind::Norm(x)
        | ExprKind::Sqrt(x) => f(x),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Power(lhs, rhs) => {
            f(lhs);
            f(rhs);
        }
        ExprKind::Big {
            binder,
            upper,
            body,
            ..
        } => {
            if let Some(b) = binder {
                b.lo.iter_mut()
                    .chain(b.set.iter_mut())
                    .chain(b.except.iter_mut())
                    .for_each(|x| f(x));
            }
            upper.iter_mut().for_each(|x| f(x));
            f(body);
        }
        ExprKind::Prob { event, given } => {
            f(event);
            given.iter_mut().for_each(f);
        }
        ExprKind::Deriv { of, .. } => f(of),
        ExprKind::Stack(rows) => rows.iter_mut().flatten().for_each(|e| {
            if let crate::ast::Entry::Item(x) = e {
                f(x);
            }
        }),
    }
}
