//! A vector defined entry by entry through a convolution (chapter 10, eq. 10.3–10.6):
//!
//! ```text
//! h_i = a[β + ∑_{j=1}^{3} ω_j x_{i+j-2}]      for i ∈ {1 … D}
//! ```
//!
//! The statement is read as the whole vector `h ∈ ℝ^{D}` (per example) when it has this form:
//! one equation whose left side is `h_i`, `i` the family variable, the family starting at 1;
//! its right side holds one sum `∑_{j=lo}^{hi} ω_j x_{E}` whose summand is a product of `ω_j`
//! and an entry of a vector `x` per example, the subscript `E` depending on `i`; and `x` is
//! such a vector (not a family member). `i` is then an entry index, not a member index, and
//! an entry of `x` outside `1 … D_x` reads the zero padding of §10.2. Member by member the
//! statement would define `h_1 … h_D` with the same values wherever every subscript is in
//! range, so the reading changes no value the family reading computes; it also defines `h`,
//! and pads where the family reading would be out of range.
//!
//! Checking and lowering both ask [`matches`] and [`geometry`], with their own name lookups,
//! so they decide alike; the sum is replaced by a placeholder name bound to the convolution
//! ([`rewritten`]), and the rest of the right side is an ordinary equation for `h`.

use crate::ast::{self, BigOp, BinOp, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::eval::Lookup;

/// The pieces of a statement of the entrywise form (syntax only; names not resolved).
pub(crate) struct Entrywise<'a> {
    /// `h_i`.
    pub lhs: &'a ast::Lhs,
    /// The right side.
    pub rhs: &'a Expr,
    /// The `for i ∈ {lo … hi}` clause.
    pub family: &'a ast::Family,
    /// The sum `∑_{j=lo}^{hi} ω_j x_E`.
    pub sum: &'a Expr,
    /// The sum's lower and upper limits.
    pub j_lo: &'a Expr,
    /// The sum's upper limit.
    pub j_hi: &'a Expr,
    /// `j` as written.
    pub j: String,
    /// `i` as written.
    pub i: String,
    /// `ω` (without its subscript).
    pub kernel: ast::Name,
    /// `x` (without its subscript).
    pub input: ast::Name,
    /// `E`.
    pub index: &'a Expr,
}

/// The geometry of the convolution a statement of the entrywise form computes (0-based:
/// output `o` reads input `o·stride + j·dil - pad` through weight `j`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Entries of `h`.
    pub n_out: i64,
    /// Kernel size (terms of the sum).
    pub k: i64,
    /// Zero padding before the first entry.
    pub pad: u32,
    /// Stride (the coefficient of `i`).
    pub stride: u32,
    /// Dilation (the coefficient of `j`).
    pub dil: u32,
}

/// The statement's pieces if it has the entrywise form (see the module's documentation).
pub(crate) fn matches(group: &[ast::Stmt]) -> Option<Entrywise<'_>> {
    let [stmt] = group else { return None };
    let family = stmt.family.as_ref()?;
    let ast::StmtKind::Equation {
        lhs,
        rhs,
        loss: false,
    } = &stmt.kind
    else {
        return None;
    };
    if lhs.args.is_some() || lhs.squared || lhs.name.sub.len() != 1 {
        return None;
    }
    let i = crate::names::literal(&family.var);
    if !is_var(&lhs.name.sub[0], &i) {
        return None;
    }
    let mut sums = Vec::new();
    sums_in(rhs, &mut sums);
    let [sum] = sums[..] else { return None };
    let ExprKind::Big {
        binder: Some(binder),
        upper: Some(j_hi),
        body,
        ..
    } = &sum.kind
    else {
        return None;
    };
    let j_lo = binder.lo.as_deref()?;
    let j = crate::names::literal(&binder.var);
    let ExprKind::Binary {
        op: BinOp::Juxt | BinOp::Scale,
        lhs: a,
        rhs: b,
    } = &body.kind
    else {
        return None;
    };
    let (ExprKind::Name(a), ExprKind::Name(b)) = (&a.kind, &b.kind) else {
        return None;
    };
    let ([sa], [sb]) = (&a.sub[..], &b.sub[..]) else {
        return None;
    };
    // `ω_j x_E` or `x_E ω_j`.
    let (kernel, input, index) = if is_var(sa, &j) {
        (a, b, sb)
    } else if is_var(sb, &j) {
        (b, a, sa)
    } else {
        return None;
    };
    if !mentions(index, &i) {
        return None;
    }
    let strip = |n: &ast::Name| ast::Name {
        sub: Vec::new(),
        ..n.clone()
    };
    Some(Entrywise {
        lhs,
        rhs,
        family,
        sum,
        j_lo,
        j_hi,
        j,
        i,
        kernel: strip(kernel),
        input: strip(input),
        index,
    })
}

/// The sums in `e`, outermost first.
fn sums_in<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    if let ExprKind::Big { op: BigOp::Sum, .. } = &e.kind {
        out.push(e);
    }
    match &e.kind {
        ExprKind::Number(_) | ExprKind::Name(_) | ExprKind::Ones | ExprKind::BatchSize => {}
        ExprKind::Call { args, .. } => args.iter().for_each(|a| sums_in(a, out)),
        ExprKind::Neg(a)
        | ExprKind::Paren(a)
        | ExprKind::Transpose(a)
        | ExprKind::Norm(a)
        | ExprKind::Sqrt(a) => sums_in(a, out),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Power(lhs, rhs) => {
            sums_in(lhs, out);
            sums_in(rhs, out);
        }
        ExprKind::Big { body, .. } => sums_in(body, out),
        ExprKind::Prob { event, given } => {
            sums_in(event, out);
            given.iter().for_each(|a| sums_in(a, out));
        }
        ExprKind::Deriv { of, .. } => sums_in(of, out),
    }
}

/// Whether `e` is the bare index `var`.
fn is_var(e: &Expr, var: &str) -> bool {
    matches!(&e.kind, ExprKind::Name(n) if n.sub.is_empty() && crate::names::literal(n) == var)
}

/// Whether `e` reads the bare index `var` anywhere.
fn mentions(e: &Expr, var: &str) -> bool {
    let mut found = false;
    crate::syntax::walk(e, &mut |x| found |= is_var(x, var));
    found
}

/// Whether the family starts at 1 (the entrywise reading); `None` when it has no value.
pub(crate) fn starts_at_one(m: &Entrywise<'_>, lookup: &dyn Fn(&ast::Name) -> Lookup) -> bool {
    crate::eval::integer(&m.family.lo, lookup) == Some(1)
}

/// The convolution's geometry, or why the statement cannot be one: the subscript must be
/// `s·i + d·j + c` with integers `s, d ≥ 1`, the sum must run from 1, and the first entry
/// must not read past the padding's start (`pad ≥ 0`).
pub(crate) fn geometry(
    m: &Entrywise<'_>,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
) -> Result<Geometry, Box<Diagnostic>> {
    let refuse = |span: Span, msg: String, label: &str| {
        Box::new(
            Diagnostic::new(Code::E0403, span, msg)
                .label(label)
                .help("a convolution is written `h_i = a[β + ∑_{j=1}^{K} ω_j x_{i+j-c}] for i ∈ {1 … D}`, stride and dilation as `x_{s·i+d·j-c}` (§10.2)"),
        )
    };
    let int = |e: &Expr| crate::eval::integer(e, lookup);
    let (Some(n_out), Some(j_lo), Some(j_hi)) = (int(&m.family.hi), int(m.j_lo), int(m.j_hi))
    else {
        return Err(refuse(
            m.sum.span,
            "the convolution's sizes have no value".into(),
            "its range and limits must be integers",
        ));
    };
    if j_lo != 1 || j_hi < 1 {
        return Err(refuse(
            m.j_lo.span,
            format!(
                "a convolution's sum runs over the whole kernel, from `{} = 1`",
                m.j
            ),
            "must start at 1",
        ));
    }
    let at = |i: i64, j: i64| {
        crate::eval::integer(m.index, &|n: &ast::Name| {
            let lit = crate::names::literal(n);
            if n.sub.is_empty() && lit == m.i {
                Lookup::Value(i as f64)
            } else if n.sub.is_empty() && lit == m.j {
                Lookup::Value(j as f64)
            } else {
                lookup(n)
            }
        })
    };
    let coeffs = (|| {
        let c = at(0, 0)?;
        let (s, d) = (at(1, 0)? - c, at(0, 1)? - c);
        let affine = [(2, 3), (3, 2), (5, 7)]
            .iter()
            .all(|&(i, j)| at(i, j) == Some(c + s * i + d * j));
        affine.then_some((c, s, d))
    })();
    let Some((c, s, d)) = coeffs else {
        return Err(refuse(
            m.index.span,
            format!("the subscript is not `s·{} + d·{} + c`", m.i, m.j),
            "not an offset of the indices",
        ));
    };
    if s < 1 || d < 1 || s > i64::from(u32::MAX) || d > i64::from(u32::MAX) {
        return Err(refuse(
            m.index.span,
            format!(
                "a convolution's subscript needs positive multiples of `{}` and `{}`",
                m.i, m.j
            ),
            "stride and dilation must be at least 1",
        ));
    }
    // Entry (1-based) c + s·i + d·j at i = o+1, j = j'+1 is 0-based s·o + d·j' - pad.
    let pad = 1 - c - s - d;
    let Ok(pad) = u32::try_from(pad) else {
        return Err(refuse(
            m.index.span,
            format!(
                "the first entry reads `{}` from entry {} on: a convolution that skips the start of its input is not supported yet",
                crate::names::literal(&m.input),
                c + s + d
            ),
            "a negative padding",
        ));
    };
    Ok(Geometry {
        n_out,
        k: j_hi,
        pad,
        stride: s as u32,
        dil: d as u32,
    })
}

/// The placeholder name bound to the convolution while the rest of the right side is read:
/// `ω⋆x`, which no spec can write (`⋆` is not a name character).
pub(crate) fn placeholder(m: &Entrywise<'_>) -> ast::Name {
    ast::Name {
        word: format!(
            "{}⋆{}",
            crate::names::literal(&m.kernel),
            crate::names::literal(&m.input)
        ),
        primes: 0,
        frozen: false,
        sub: Vec::new(),
        span: m.sum.span,
    }
}

/// `h = R'`, the right side with the sum replaced by [`placeholder`]; an error if `i` is read
/// outside the sum (an entry-dependent term the convolution does not compute).
pub(crate) fn rewritten(m: &Entrywise<'_>) -> Result<(ast::Lhs, Expr), Box<Diagnostic>> {
    let mut lhs = m.lhs.clone();
    lhs.name.sub.clear();
    let mut rhs = m.rhs.clone();
    replace(&mut rhs, m.sum.span, &placeholder(m));
    let mut stray = None;
    crate::syntax::walk(&rhs, &mut |x| {
        if stray.is_none() && is_var(x, &m.i) {
            stray = Some(x.span);
        }
    });
    if let Some(span) = stray {
        return Err(Box::new(
            Diagnostic::new(
                Code::E0403,
                span,
                format!("`{}` outside the convolution's sum", m.i),
            )
            .label("an entry index here")
            .help("only the sum may depend on the entry; a bias per entry is a vector `β`, added as `β + …` without a subscript"),
        ));
    }
    Ok((lhs, rhs))
}

/// Replaces the sub-expression at `span` by the name `n`.
fn replace(e: &mut Expr, span: Span, n: &ast::Name) {
    if e.span == span && matches!(e.kind, ExprKind::Big { .. }) {
        e.kind = ExprKind::Name(n.clone());
        return;
    }
    match &mut e.kind {
        ExprKind::Number(_) | ExprKind::Name(_) | ExprKind::Ones | ExprKind::BatchSize => {}
        ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| replace(a, span, n)),
        ExprKind::Neg(a)
        | ExprKind::Paren(a)
        | ExprKind::Transpose(a)
        | ExprKind::Norm(a)
        | ExprKind::Sqrt(a) => replace(a, span, n),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Power(lhs, rhs) => {
            replace(lhs, span, n);
            replace(rhs, span, n);
        }
        ExprKind::Big { body, .. } => replace(body, span, n),
        ExprKind::Prob { event, given } => {
            replace(event, span, n);
            given.iter_mut().for_each(|a| replace(a, span, n));
        }
        ExprKind::Deriv { of, .. } => replace(of, span, n),
    }
}

impl super::ModelCx<'_, '_> {
    /// Checks a statement of the entrywise form as the definition of the whole vector `h`;
    /// false when it is not one (then it is a family, member by member).
    pub(super) fn entrywise(&mut self, group: &[ast::Stmt]) -> bool {
        use super::scope::{Entry, Sym};
        use super::shape::{Shape, Val};
        let Some(m) = matches(group) else {
            return false;
        };
        let lookup = |n: &ast::Name| self.lookup_number(n);
        if !starts_at_one(&m, &lookup) {
            return false;
        }
        // `x` must be a vector per example, and `ω` a vector the same for every example.
        let vector = |cx: &Self, n: &ast::Name| match cx.scope.get(&cx.canonical_plain(n)) {
            Some(Entry {
                sym: Sym::Data(_, v) | Sym::Param(v, _) | Sym::Value(v),
                ..
            }) => match &v.shape {
                Shape::Col(d) => Some((d.value, v.per_example)),
                _ => None,
            },
            _ => None,
        };
        let Some((_, true)) = vector(self, &m.input) else {
            return false;
        };
        let geometry = geometry(&m, &lookup).and_then(|g| {
            match vector(self, &m.kernel) {
                Some((Some(k), false)) if k == g.k => Ok(g),
                _ => Err(Box::new(
                    Diagnostic::new(
                        Code::E0403,
                        m.j_hi.span,
                        format!(
                            "the kernel `{}` must be a vector of the sum's {} terms, the same for every example",
                            crate::names::literal(&m.kernel),
                            g.k
                        ),
                    )
                    .label("the kernel's size")
                    .help("declare it `param ω : ℝ^{K}` with the sum running `∑_{j=1}^{K}`"),
                )),
            }
        });
        let rewritten = geometry.and_then(|g| rewritten(&m).map(|r| (g, r)));
        let poison = |cx: &mut Self| {
            let mut name = m.lhs.name.clone();
            name.sub.clear();
            let canon = cx.canonical_plain(&name);
            cx.define(&canon, Sym::Poisoned, m.lhs.span, None);
        };
        let (g, (lhs, rhs)) = match rewritten {
            Ok(x) => x,
            Err(d) => {
                self.error(*d);
                poison(self);
                return true;
            }
        };
        let Some(out) = self.dim(&m.family.hi) else {
            poison(self);
            return true;
        };
        debug_assert_eq!(out.value, Some(g.n_out));
        let holder = crate::names::literal(&placeholder(&m));
        let conv = Val {
            shape: Shape::Col(out),
            per_example: true,
            labels: None,
        };
        self.scope.insert(
            holder.clone(),
            Entry {
                sym: Sym::Value(conv),
                span: m.sum.span,
            },
        );
        self.equation(&lhs, &rhs, false);
        self.scope.remove(&holder);
        true
    }
}

/// The runs statements are checked and lowered in: [`super::family_runs`], with a run that
/// holds a statement of the entrywise form split into one run per statement (that statement
/// defines a whole vector, not a member per step) — unless the statement reads a vector the
/// run defines member by member, which keeps the run's interleaving.
pub(crate) fn runs(stmts: &[ast::Stmt]) -> Vec<&[ast::Stmt]> {
    let mut out = Vec::new();
    for run in super::family_runs(stmts) {
        if splits(run) {
            out.extend(run.chunks(1));
        } else {
            out.push(run);
        }
    }
    out
}

fn splits(run: &[ast::Stmt]) -> bool {
    let by_member = |word: &str| {
        run.iter().any(|t| {
            let ast::StmtKind::Equation { lhs, .. } = &t.kind else {
                return false;
            };
            let mut name = lhs.name.clone();
            name.sub.clear();
            crate::names::literal(&name) == word && matches(std::slice::from_ref(t)).is_none()
        })
    };
    run.len() > 1
        && run.iter().any(|s| {
            matches(std::slice::from_ref(s))
                .is_some_and(|m| !by_member(&crate::names::literal(&m.input)))
        })
}
