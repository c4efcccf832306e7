//! Node-wise equations of graph networks (UDL §13.4–13.8), read as the matrix each defines.
//!
//! The book writes a graph layer for one node n at a time: `agg[n] = ∑_{m ∈ ne[n]} h_m`
//! (13.8), `1/|ne[n]| ∑_{m ∈ ne[n]} h_m` (13.17), `∑_{m ∈ ne[n]} h_m / √(|ne[n]| |ne[m]|)`
//! (13.19), `max_{m ∈ ne[n]} [h_m]` (13.21), and the update `h_{k+1}^{(n)} = a[β_k + Ω_k
//! h_k^{(n)} + Ω_k agg[n]]` (13.9). Such an equation, with its free node index n (the left
//! side's `[n]` or `^{(n)}`), defines a whole matrix, a column per node, and this module
//! rewrites it once into that matrix form, which the checker then checks and lowering lowers
//! as any other equation ([`super::ModelInfo::nodewise`] hands the rewrite to lowering, so no
//! name is resolved twice and no op is copied):
//!
//! - `h_m`, `h_k^{(m)}` (a one-letter name subscripted by, or with the superscript of, a node
//!   index) is the column m of `H`, `H_k`; `agg[m]` of a node-wise `agg` is the column of `agg`.
//! - `ne[n]` is the set of nodes m with `A[m, n] ≠ 0` (column n of the adjacency `A`, the
//!   model's one input `ℝ^{N×N}`), whose indicator matrix is `M = 1 − Heaviside[−|A|]`;
//!   `|ne[n]|` the number of its members, the n-th diagonal entry of `diag[Mᵀ 𝟏]` (the degree
//!   matrix of eq. 13.18), and numbers per node made of sizes are diagonal matrices (`D^{-1/2}`).
//! - `∑_{m ∈ ne[n]} v_m` is `V M` (V the terms' matrix, `H M` for `h_m`), with the factors of
//!   the term that depend on m alone scaling V's columns and those on n alone the result's
//!   (`H D^{-1/2} M D^{-1/2}` for eq. 13.19); `max_{m ∈ ne[n]} [v_m]` is `MaxNe[V, A]`.
//! - A value the same for every node beside a node's vector is broadcast (`β 𝟏ᵀ + Ω H`).
//!
//! What cannot be read this way is refused with the readings in the help: `ne[n]` without one
//! adjacency (`E0260`), a node's value outside what binds its index (`E0261`), a node's value
//! whose matrix does not exist (`E0262`), a form with no matrix reading here — two nodes'
//! values multiplied, a term mixing m and n, a maximum with weights (`E0263`) — and `ne[n]`
//! or a node index used as a value (`E0264`).

use super::builtins::{Builtin, named};
use super::shape::Shape;
use super::{Entry, ModelCx, Sym};
use crate::ast::{self, BigOp, BinOp, Expr, ExprKind, Name, Stmt, StmtKind};
use crate::diag::{Code, Diagnostic, Span};

type R<T> = Result<T, Box<Diagnostic>>;

/// What a node-wise expression is, for every node at once.
enum Nw {
    /// The same for every node (`β_k`, `Ω_k`, a number): the expression unchanged.
    Free(Expr),
    /// A value per node (`h_k^{(n)}`, `Ω_k h_k^{(n)}`): the matrix with a column per node.
    Cols(Expr),
    /// A number per node made of neighbourhood sizes (`|ne[n]|`, `1/√|ne[n]|`): the diagonal
    /// matrix holding it.
    Diag(Expr),
}

/// The help shared by the refusals: the matrix forms a node-wise equation reads as.
const READINGS: &str = "a node-wise equation reads as a matrix with a column per node: `∑_{m ∈ ne[n]} h_m` is `H M` with `M` the neighbours (`A[m, n] ≠ 0`), `1/|ne[n]| ∑_{m ∈ ne[n]} h_m` is `H M D^{-1}` with `D = diag[Mᵀ 𝟏]`, `∑_{m ∈ ne[n]} h_m / √(|ne[n]| |ne[m]|)` is `H D^{-1/2} M D^{-1/2}`, `max_{m ∈ ne[n]} [h_m]` is `MaxNe[H, A]`, and `h_{k+1}^{(n)} = a[β_k + Ω_k h_k^{(n)} + Ω_k agg[n]]` is `H_{k+1} = a[β_k 𝟏ᵀ + Ω_k H_k + Ω_k agg]`";

impl ModelCx<'_, '_> {
    /// A node-wise equation rewritten as the matrix it defines: `None` when `s` is not one,
    /// `Some(None)` when it is but cannot be read (reported, its name poisoned). The rewrite
    /// is recorded for lowering.
    pub(super) fn nodewise(&mut self, s: &Stmt) -> Option<Option<Stmt>> {
        let StmtKind::Equation { lhs, rhs, loss } = &s.kind else {
            return None;
        };
        let (var, target) = self.nodewise_form(lhs, rhs, *loss)?;
        let defined = self.canonical_plain(&target);
        let rewritten = if *loss {
            Err(Box::new(
                Diagnostic::new(
                    Code::E0261,
                    lhs.span,
                    "a loss is one number, not one per node",
                )
                .label("a loss with a node index")
                .help("define the node-wise value first, then sum it in the loss: `loss L[φ] = ∑_i ‖H_i - Y_i‖²`"),
            ))
        } else {
            self.node_expr(rhs, &var)
                .map(|nw| self.to_cols(nw, rhs.span))
        };
        match rewritten {
            Ok(rhs) => {
                if lhs.args.is_some() {
                    self.node_defs.insert(defined);
                }
                let stmt = Stmt {
                    kind: StmtKind::Equation {
                        lhs: ast::Lhs {
                            name: target,
                            squared: false,
                            args: None,
                            given: None,
                            span: lhs.span,
                        },
                        rhs,
                        loss: false,
                    },
                    family: s.family.clone(),
                    span: s.span,
                };
                if !self.nodewise.iter().any(|(at, _)| *at == s.span) {
                    self.nodewise.push((s.span, stmt.clone()));
                }
                Some(Some(stmt))
            }
            Err(d) => {
                self.error(*d);
                self.define(&defined, Sym::Poisoned, lhs.span, None);
                Some(None)
            }
        }
    }

    /// The node index and the defined matrix of a node-wise equation: `h_{k+1}^{(n)} = …`
    /// defines `H_{k+1}`; `agg[n] = …` over the neighbours (its argument no input) `agg`.
    fn nodewise_form(&self, lhs: &ast::Lhs, rhs: &Expr, loss: bool) -> Option<(String, Name)> {
        if let Some(node) = &lhs.name.node {
            let var = self.canonical_plain(node);
            let mut target = lhs.name.clone();
            target.node = None;
            target.word = upper(&target.word);
            return Some((var, target));
        }
        // A loss's `L[φ]` names a parameter group, not a node.
        if loss {
            return None;
        }
        let [arg] = lhs.args.as_deref()? else {
            return None;
        };
        let ExprKind::Name(n) = &arg.kind else {
            return None;
        };
        let var = self.canonical_plain(n);
        if !n.sub.is_empty() || self.scope.contains_key(&var) || !nodewise_body(rhs) {
            return None;
        }
        let mut target = lhs.name.clone();
        target.node = None;
        Some((var, target))
    }

    /// `e` for every node `var` at once.
    fn node_expr(&self, e: &Expr, var: &str) -> R<Nw> {
        if !self.mentions(e, var) && !nodewise_body(e) {
            return Ok(Nw::Free(e.clone()));
        }
        let span = e.span;
        match &e.kind {
            ExprKind::Name(n) => self.node_name(n, var, span),
            ExprKind::Paren(x) => Ok(match self.node_expr(x, var)? {
                Nw::Free(x) => Nw::Free(paren(x)),
                Nw::Cols(x) => Nw::Cols(paren(x)),
                Nw::Diag(x) => Nw::Diag(paren(x)),
            }),
            ExprKind::Neg(x) => Ok(match self.node_expr(x, var)? {
                Nw::Free(x) => Nw::Free(neg(x)),
                Nw::Cols(x) => Nw::Cols(neg(x)),
                Nw::Diag(x) => Nw::Diag(neg(x)),
            }),
            ExprKind::Call { func, args } => self.node_call(func, args, var, span),
            // `max_{m ∈ ne[n]} [h_m]`: a bracket of one item is the item.
            ExprKind::Stack(rows) if matches!(rows.as_slice(), [r] if r.len() == 1) => {
                match &rows[0][0] {
                    ast::Entry::Item(x) => self.node_expr(x, var),
                    ast::Entry::Ellipsis(at) => Err(unreadable(*at, "`…`", READINGS)),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.node_expr(lhs, var)?, self.node_expr(rhs, var)?);
                self.node_binary(*op, a, b, span)
            }
            ExprKind::Sqrt(x) => match self.node_expr(x, var)? {
                Nw::Free(x) => Ok(Nw::Free(sqrt(x))),
                Nw::Cols(x) => Ok(Nw::Cols(sqrt(x))),
                Nw::Diag(x) => Ok(Nw::Diag(power(x, 0.5))),
            },
            ExprKind::Power(x, p) if !self.mentions(p, var) => match self.node_expr(x, var)? {
                Nw::Diag(x) => Ok(Nw::Diag(Expr {
                    kind: ExprKind::Power(Box::new(paren(x)), p.clone()),
                    span,
                })),
                _ => Err(unreadable(
                    span,
                    "a power of a node's vector",
                    "write an entry-wise product with `⊙`",
                )),
            },
            ExprKind::Big {
                op,
                binder: Some(b),
                body,
                ..
            } if b.set.is_some() => self.over_neighbours(*op, b, body, var, span),
            _ => Err(unreadable(
                span,
                "this expression of a node",
                "write it in the matrix form",
            )),
        }
    }

    /// `h_n`, `h_k^{(n)}`: the column n of `H`, `H_k`; a node index alone is refused.
    fn node_name(&self, n: &Name, var: &str, span: Span) -> R<Nw> {
        let Some((matrix, index)) = self.node_ref(n) else {
            if self.canonical_plain(n) == var {
                return Err(Box::new(
                    Diagnostic::new(
                        Code::E0264,
                        span,
                        format!("the node index `{var}` used as a number"),
                    )
                    .label("a node, not a value")
                    .help(READINGS),
                ));
            }
            return Err(unreadable(
                span,
                "this name of a node",
                "write it in the matrix form",
            ));
        };
        if index != var {
            return Err(unbound(span, &index));
        }
        let canon = self.canonical_plain(&matrix);
        if !self.scope.contains_key(&canon) && !self.node_defs.contains(&canon) {
            return Err(Box::new(
                Diagnostic::new(
                    Code::E0262,
                    span,
                    format!("no matrix `{canon}` holds the nodes' values `{}`", crate::dump::name(n)),
                )
                .label("the column of a matrix not defined")
                .help(format!(
                    "`{}` is the column {index} of `{canon}` (eq. 13.9: `h_k^{{(n)}}` is the column n of `H_k`); define `{canon}` first, e.g. `{canon} = X`",
                    crate::dump::name(n)
                )),
            ));
        }
        Ok(Nw::Cols(Expr {
            kind: ExprKind::Name(matrix),
            span,
        }))
    }

    /// The matrix and node index of a node's value: `h_k^{(m)}` → (`H_k`, m); `h_m`, `h'_m`
    /// (a one-letter word subscripted by a node index) → (`H`, m), (`H'`, m).
    fn node_ref(&self, n: &Name) -> Option<(Name, String)> {
        if let Some(node) = &n.node {
            let mut m = n.clone();
            m.node = None;
            m.word = upper(&m.word);
            return Some((m, self.canonical_plain(node)));
        }
        let [ix] = n.sub.as_slice() else {
            return None;
        };
        let ExprKind::Name(i) = &ix.kind else {
            return None;
        };
        let one_letter = n.word.chars().filter(|c| c.is_alphabetic()).count() == 1;
        let lower = n.word.chars().next().is_some_and(char::is_lowercase);
        if !one_letter
            || !lower
            || !i.sub.is_empty()
            || self.bound(&self.canonical_plain(i)).is_some()
        {
            return None;
        }
        let idx = self.canonical_plain(i);
        if self.scope.contains_key(&idx) {
            return None;
        }
        let mut m = n.clone();
        m.sub.clear();
        m.word = upper(&m.word);
        Some((m, idx))
    }

    /// A call in a node-wise expression: `|ne[n]|`, `agg[n]` of a node-wise `agg`, or a
    /// function applied to every node's value at once.
    fn node_call(&self, func: &Name, args: &[Expr], var: &str, span: Span) -> R<Nw> {
        let word = self.canonical_plain(func);
        if named(func) == Some(Builtin::Abs)
            && let [a] = args
            && let Some(of) = self.neighbourhood(a)
        {
            if of != var {
                return Err(unbound(span, &of));
            }
            return Ok(Nw::Diag(self.degrees(span)?));
        }
        if self.is_sqrt(func, args)
            && let Nw::Diag(x) = self.node_expr(&args[0], var)?
        {
            return Ok(Nw::Diag(power(x, 0.5)));
        }
        if word == "ne" {
            return Err(Box::new(
                Diagnostic::new(Code::E0264, span, "`ne[n]` is a set of nodes, not a value")
                    .label("a set")
                    .help("`ne[n]` is the range of a sum or maximum, `∑_{m ∈ ne[n]} h_m`, or counted, `|ne[n]|`")
                    .help(READINGS),
            ));
        }
        // A node-wise `agg` (or one whose definition failed, already reported).
        let failed = matches!(
            self.scope.get(&word),
            Some(Entry {
                sym: Sym::Poisoned,
                ..
            })
        );
        if (self.node_defs.contains(&word) || failed)
            && let [a] = args
            && let ExprKind::Name(i) = &a.kind
        {
            let idx = self.canonical_plain(i);
            if idx != var {
                return Err(unbound(span, &idx));
            }
            return Ok(Nw::Cols(Expr {
                kind: ExprKind::Name(func.clone()),
                span,
            }));
        }
        let mut out = Vec::with_capacity(args.len());
        let mut per_node = false;
        for a in args {
            match self.node_expr(a, var)? {
                Nw::Free(x) => out.push(x),
                Nw::Cols(x) => {
                    per_node = true;
                    out.push(x);
                }
                Nw::Diag(_) => {
                    return Err(unreadable(
                        a.span,
                        "a function of a neighbourhood's size",
                        "scale by the sizes instead: `h_n / |ne[n]|`",
                    ));
                }
            }
        }
        let call = Expr {
            kind: ExprKind::Call {
                func: func.clone(),
                args: out,
            },
            span,
        };
        Ok(if per_node {
            Nw::Cols(call)
        } else {
            Nw::Free(call)
        })
    }

    /// `a op b` of two node-wise expressions.
    fn node_binary(&self, op: BinOp, a: Nw, b: Nw, span: Span) -> R<Nw> {
        use Nw::{Cols, Diag, Free};
        let bin = |x: Expr, y: Expr| Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(x),
                rhs: Box::new(y),
            },
            span,
        };
        let juxt = |x: Expr, y: Expr| Expr {
            kind: ExprKind::Binary {
                op: BinOp::Juxt,
                lhs: Box::new(paren(x)),
                rhs: Box::new(y),
            },
            span,
        };
        Ok(match (op, a, b) {
            (_, Free(x), Free(y)) => Free(bin(x, y)),
            (BinOp::Add | BinOp::Sub, Cols(x), Cols(y)) => Cols(bin(x, y)),
            (BinOp::Add | BinOp::Sub, Free(x), Cols(y)) => Cols(bin(broadcast(x), y)),
            (BinOp::Add | BinOp::Sub, Cols(x), Free(y)) => Cols(bin(x, broadcast(y))),
            (BinOp::Add | BinOp::Sub, Diag(x), Diag(y)) => Diag(bin(x, y)),
            (BinOp::Add | BinOp::Sub, Free(x), Diag(y)) => Diag(bin(identity(x), y)),
            (BinOp::Add | BinOp::Sub, Diag(x), Free(y)) => Diag(bin(x, identity(y))),
            (BinOp::Juxt | BinOp::Scale, Free(x), Cols(y)) => Cols(bin(x, y)),
            (BinOp::Juxt | BinOp::Scale | BinOp::Div, Cols(x), Free(y)) => Cols(bin(x, y)),
            (BinOp::Hadamard, Cols(x), Cols(y)) => Cols(bin(x, y)),
            (BinOp::Hadamard, Free(x), Cols(y)) => Cols(bin(broadcast(x), y)),
            (BinOp::Hadamard, Cols(x), Free(y)) => Cols(bin(x, broadcast(y))),
            // A number per node scales each node's column: `V S`, `V S^{-1}`.
            (BinOp::Juxt | BinOp::Scale, Diag(s), Cols(v))
            | (BinOp::Juxt | BinOp::Scale, Cols(v), Diag(s)) => Cols(juxt(v, s)),
            (BinOp::Div, Cols(v), Diag(s)) => Cols(juxt(v, power(s, -1.0))),
            (BinOp::Juxt | BinOp::Scale, Diag(x), Diag(y)) => Diag(juxt(x, y)),
            (BinOp::Juxt | BinOp::Scale, Free(c), Diag(s))
            | (BinOp::Juxt | BinOp::Scale, Diag(s), Free(c)) => Diag(bin(c, s)),
            (BinOp::Div, Diag(x), Diag(y)) => Diag(juxt(x, power(y, -1.0))),
            (BinOp::Div, Free(c), Diag(s)) if matches!(c.kind, ExprKind::Number(v) if v == 1.0) => {
                Diag(power(s, -1.0))
            }
            (BinOp::Div, Free(c), Diag(s)) => Diag(bin_op(BinOp::Scale, c, power(s, -1.0), span)),
            (BinOp::Div, Diag(s), Free(c)) => Diag(bin(s, c)),
            _ => {
                return Err(unreadable(
                    span,
                    "a product of two nodes' values, or a division by one",
                    "a node-wise product is `⊙` of two vectors per node; scale by numbers per node made of `|ne[n]|`",
                ));
            }
        })
    }

    /// `∑_{m ∈ ne[n]} body` and `max_{m ∈ ne[n]} [body]`, node `var` being n.
    fn over_neighbours(
        &self,
        op: BigOp,
        b: &ast::Binder,
        body: &Expr,
        var: &str,
        span: Span,
    ) -> R<Nw> {
        let set = b.set.as_deref().map_or(span, |s| s.span);
        let of = b
            .set
            .as_deref()
            .and_then(|s| self.neighbourhood(s))
            .ok_or_else(|| {
                unreadable(
                    set,
                    "a sum over a set that is not a neighbourhood",
                    "sum over `m ∈ ne[n]`",
                )
            })?;
        if of != var {
            return Err(unbound(set, &of));
        }
        let m = self.canonical_plain(&b.var);
        // Factors of the term that depend on n alone scale the result's columns.
        let mut outer = Vec::new();
        let rest = self.split(body, &m, var, 1.0, &mut outer)?;
        let rest =
            rest.ok_or_else(|| unreadable(body.span, "a term with no node's value", READINGS))?;
        let Nw::Cols(v) = self.node_expr(&rest, &m)? else {
            return Err(unreadable(
                body.span,
                "a term that is not a value of the neighbour m",
                "the term of a sum over `m ∈ ne[n]` is a neighbour's vector, `h_m`, scaled by numbers",
            ));
        };
        let mut out = match op {
            BigOp::Sum => juxt_paren(v, self.mask(set)?, span),
            BigOp::Max if outer.is_empty() => call("MaxNe", vec![v, self.adjacency(set)?], span),
            BigOp::Max => {
                return Err(unreadable(
                    body.span,
                    "a maximum whose terms are scaled by the node's own numbers",
                    "scale the maximum instead: `max_{m ∈ ne[n]} [h_m] / |ne[n]|`",
                ));
            }
            _ => {
                return Err(unreadable(
                    span,
                    "this operator over a neighbourhood",
                    READINGS,
                ));
            }
        };
        for f in outer {
            out = match self.node_expr(&f, var)? {
                Nw::Diag(s) => juxt_paren(out, s, span),
                Nw::Free(c) => bin_op(BinOp::Scale, c, paren(out), span),
                Nw::Cols(_) => {
                    return Err(unreadable(
                        f.span,
                        "the node's own vector inside a sum over its neighbours",
                        "add it outside the sum: `h_n + ∑_{m ∈ ne[n]} h_m`",
                    ));
                }
            };
        }
        Ok(Nw::Cols(out))
    }

    /// Splits `e` (a factor raised to `pow`) into what depends on the neighbour `m` (returned)
    /// and the factors on `n` alone (pushed to `outer`, each raised). Through `√` and powers
    /// only sizes `|ne[·]|` and positive numbers split, whose roots are real.
    fn split(
        &self,
        e: &Expr,
        m: &str,
        n: &str,
        pow: f64,
        outer: &mut Vec<Expr>,
    ) -> R<Option<Expr>> {
        let (on_m, on_n) = (self.mentions(e, m), self.mentions(e, n));
        let raise = |x: &Expr| {
            if pow == 1.0 {
                x.clone()
            } else {
                power(paren(x.clone()), pow)
            }
        };
        if !on_n {
            return Ok(Some(raise(e)));
        }
        if !on_m {
            outer.push(raise(e));
            return Ok(None);
        }
        let join = |a: Option<Expr>, b: Option<Expr>, op: BinOp| match (a, b) {
            (Some(a), Some(b)) => Some(bin_op(op, a, b, e.span)),
            (a, None) => a,
            (None, b) => b,
        };
        let sizes_only = |x: &Expr| self.sizes_only(x);
        match &e.kind {
            ExprKind::Paren(x) => self.split(x, m, n, pow, outer),
            ExprKind::Stack(rows) if matches!(rows.as_slice(), [r] if r.len() == 1) => {
                match &rows[0][0] {
                    ast::Entry::Item(x) => self.split(x, m, n, pow, outer),
                    ast::Entry::Ellipsis(_) => Err(mixed(e.span, m, n)),
                }
            }
            ExprKind::Binary {
                op: op @ (BinOp::Juxt | BinOp::Scale),
                lhs,
                rhs,
            } => {
                let a = self.split(lhs, m, n, pow, outer)?;
                let b = self.split(rhs, m, n, pow, outer)?;
                Ok(join(a, b, *op))
            }
            // `h_m / s`: the divisor's factors, inverted.
            ExprKind::Binary {
                op: BinOp::Div,
                lhs,
                rhs,
            } => {
                let a = self.split(lhs, m, n, pow, outer)?;
                let b = self.split(rhs, m, n, -pow, outer)?;
                Ok(join(a, b, BinOp::Scale))
            }
            ExprKind::Sqrt(x) if sizes_only(x) => self.split(x, m, n, pow * 0.5, outer),
            ExprKind::Call { func, args } if self.is_sqrt(func, args) && sizes_only(&args[0]) => {
                self.split(&args[0], m, n, pow * 0.5, outer)
            }
            ExprKind::Power(x, p) if sizes_only(x) => match p.kind {
                ExprKind::Number(q) => self.split(x, m, n, pow * q, outer),
                _ => Err(mixed(e.span, m, n)),
            },
            _ => Err(mixed(e.span, m, n)),
        }
    }

    /// Whether `e` is made of neighbourhood sizes, positive numbers, products and quotients
    /// (its roots split into roots of its factors).
    fn sizes_only(&self, e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Number(v) => *v > 0.0,
            ExprKind::Paren(x) | ExprKind::Sqrt(x) => self.sizes_only(x),
            ExprKind::Call { func, args } if self.is_sqrt(func, args) => self.sizes_only(&args[0]),
            ExprKind::Binary {
                op: BinOp::Juxt | BinOp::Scale | BinOp::Div,
                lhs,
                rhs,
            } => self.sizes_only(lhs) && self.sizes_only(rhs),
            ExprKind::Power(x, p) => matches!(p.kind, ExprKind::Number(_)) && self.sizes_only(x),
            ExprKind::Call { func, args } => {
                named(func) == Some(Builtin::Abs)
                    && args.len() == 1
                    && self.neighbourhood(&args[0]).is_some()
            }
            _ => false,
        }
    }

    /// `sqrt[x]`, the ASCII `√x`.
    fn is_sqrt(&self, func: &Name, args: &[Expr]) -> bool {
        args.len() == 1 && named(func) == Some(Builtin::Sqrt)
    }

    /// The node of `ne[n]`, if `e` is one.
    fn neighbourhood(&self, e: &Expr) -> Option<String> {
        let ExprKind::Call { func, args } = &e.kind else {
            return None;
        };
        let [ExprKind::Name(n)] = args.iter().map(|a| &a.kind).collect::<Vec<_>>()[..] else {
            return None;
        };
        (func.is_bare("ne") && n.sub.is_empty()).then(|| self.canonical_plain(n))
    }

    /// Whether `e` names the node index `var` (a subscript, a superscript, an argument, a
    /// neighbourhood).
    fn mentions(&self, e: &Expr, var: &str) -> bool {
        let mut found = false;
        crate::syntax::walk(e, &mut |x| {
            if let ExprKind::Name(n) = &x.kind {
                if n.sub.is_empty() && n.node.is_none() && self.canonical_plain(n) == var {
                    found = true;
                }
                if n.node
                    .as_ref()
                    .is_some_and(|s| self.canonical_plain(s) == var)
                {
                    found = true;
                }
            }
        });
        found
    }

    /// The model's adjacency: its one input `ℝ^{N×N}`, square as written (`ℝ^{N×N}`, not
    /// `ℝ^{D×N}` with `D = N`) or else by value (`E0260` without one or with two).
    fn adjacency(&self, at: Span) -> R<Expr> {
        let square_when = |written: bool| -> Vec<&String> {
            self.inputs
                .iter()
                .filter(|i| {
                    matches!(self.scope.get(*i), Some(Entry { sym: Sym::Data(_, v), .. })
                        if matches!(&v.shape, Shape::Mat(r, c)
                            if r.same(c) && (!written || r.sym == c.sym)))
                })
                .collect()
        };
        let written = square_when(true);
        let square = if written.len() == 1 {
            written
        } else {
            square_when(false)
        };
        let [a] = square.as_slice() else {
            let found = if square.is_empty() {
                "no input is a square matrix `ℝ^{N×N}`".to_string()
            } else {
                let all: Vec<String> = square.iter().map(|s| format!("`{s}`")).collect();
                format!("{} are all square matrices", all.join(", "))
            };
            return Err(Box::new(
                Diagnostic::new(Code::E0260, at, "a neighbourhood `ne[n]` needs the graph's adjacency")
                    .label("whose neighbours?")
                    .note(found)
                    .help("`ne[n]` is the set of nodes m with `A[m, n] ≠ 0`, read from the model's one adjacency input, `input A : ℝ^{N×N}`")
                    .help("with several square inputs, write the matrix form: `H A`, `MaxNe[H, A]`"),
            ));
        };
        let name = crate::syntax::parse_name(a)
            .ok_or_else(|| unreadable(at, "this adjacency's name", READINGS))?;
        Ok(Expr {
            kind: ExprKind::Name(name),
            span: at,
        })
    }

    /// `M = 1 − Heaviside[−|A|]`, the neighbours' indicator: `M[m, n] = 1` when `A[m, n] ≠ 0`.
    fn mask(&self, at: Span) -> R<Expr> {
        let a = self.adjacency(at)?;
        let zero = call("Heaviside", vec![neg(call("abs", vec![a], at))], at);
        Ok(paren(bin_op(BinOp::Sub, number(1.0, at), zero, at)))
    }

    /// `diag[Mᵀ 𝟏]`: the n-th diagonal entry the size of `ne[n]` (the degree matrix).
    fn degrees(&self, at: Span) -> R<Expr> {
        let mt = Expr {
            kind: ExprKind::Transpose(Box::new(self.mask(at)?)),
            span: at,
        };
        let ones = Expr {
            kind: ExprKind::Ones,
            span: at,
        };
        Ok(call("diag", vec![bin_op(BinOp::Juxt, mt, ones, at)], at))
    }

    /// A node-wise result as the matrix of a column per node.
    fn to_cols(&self, nw: Nw, span: Span) -> Expr {
        match nw {
            Nw::Cols(x) => x,
            Nw::Free(x) => broadcast(x),
            // A number per node: the row `𝟏ᵀ S`.
            Nw::Diag(s) => bin_op(BinOp::Juxt, ones_row(span), s, span),
        }
    }
}

/// Whether an expression reads a neighbourhood or a node's value by superscript: what makes
/// `agg[n] = …` node-wise rather than a function of inputs, and a sub-expression not the same
/// for every node.
fn nodewise_body(e: &Expr) -> bool {
    let mut found = false;
    crate::syntax::walk(e, &mut |x| match &x.kind {
        ExprKind::Call { func, .. } if func.is_bare("ne") => found = true,
        ExprKind::Name(n) if n.node.is_some() => found = true,
        _ => {}
    });
    found
}

fn upper(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn number(v: f64, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Number(v),
        span,
    }
}

fn paren(e: Expr) -> Expr {
    let span = e.span;
    Expr {
        kind: ExprKind::Paren(Box::new(e)),
        span,
    }
}

fn neg(e: Expr) -> Expr {
    let span = e.span;
    Expr {
        kind: ExprKind::Neg(Box::new(e)),
        span,
    }
}

fn sqrt(e: Expr) -> Expr {
    let span = e.span;
    Expr {
        kind: ExprKind::Sqrt(Box::new(e)),
        span,
    }
}

fn power(e: Expr, p: f64) -> Expr {
    let span = e.span;
    Expr {
        kind: ExprKind::Power(Box::new(paren(e)), Box::new(number(p, span))),
        span,
    }
}

fn bin_op(op: BinOp, a: Expr, b: Expr, span: Span) -> Expr {
    Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(a),
            rhs: Box::new(b),
        },
        span,
    }
}

fn juxt_paren(a: Expr, b: Expr, span: Span) -> Expr {
    bin_op(BinOp::Juxt, paren(a), b, span)
}

fn call(word: &str, args: Vec<Expr>, span: Span) -> Expr {
    let func = Name {
        word: word.to_string(),
        primes: 0,
        frozen: false,
        sub: Vec::new(),
        node: None,
        span,
    };
    Expr {
        kind: ExprKind::Call { func, args },
        span,
    }
}

fn ones_row(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Transpose(Box::new(Expr {
            kind: ExprKind::Ones,
            span,
        })),
        span,
    }
}

/// A value the same for every node, given to each: `β 𝟏ᵀ` (a number stays a number, which
/// meets a matrix entry by entry).
fn broadcast(x: Expr) -> Expr {
    if matches!(x.kind, ExprKind::Number(_)) {
        return x;
    }
    let span = x.span;
    bin_op(BinOp::Juxt, paren(x), ones_row(span), span)
}

/// A number the same for every node beside numbers per node: `c I`.
fn identity(x: Expr) -> Expr {
    let span = x.span;
    bin_op(
        BinOp::Juxt,
        paren(x),
        Expr {
            kind: ExprKind::Identity,
            span,
        },
        span,
    )
}

fn unreadable(span: Span, what: &str, help: &str) -> Box<Diagnostic> {
    let mut d = Diagnostic::new(
        Code::E0263,
        span,
        format!("{what} has no matrix reading in a node-wise equation"),
    )
    .label("cannot be read for every node at once")
    .help(help);
    if help != READINGS {
        d = d.help(READINGS);
    }
    Box::new(d)
}

fn unbound(span: Span, index: &str) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::new(
            Code::E0261,
            span,
            format!("the node `{index}` is not bound here"),
        )
        .label(format!("no sum over `{index}` and no equation for every `{index}`"))
        .help(format!(
            "a node's value `h^{{({index})}}`, `h_{index}` and `ne[{index}]` are read inside `∑_{{{index} ∈ ne[n]}}` or in an equation whose left side has `[{index}]` or `^{{({index})}}`"
        ))
        .help(READINGS),
    )
}

fn mixed(span: Span, m: &str, n: &str) -> Box<Diagnostic> {
    unreadable(
        span,
        &format!("a factor mixing the neighbour `{m}` and the node `{n}`"),
        &format!(
            "the term of `∑_{{{m} ∈ ne[{n}]}}` is a product of factors of `{m}` alone and of `{n}` alone (roots and powers of sizes `|ne[·]|` split into such factors)"
        ),
    )
}
