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
    /// The sum `∑_{j=lo}^{hi} ω_j x_E`, or the chain of terms `ω_1 x_{i-1} + ω_2 x_i + …`.
    pub sum: &'a Expr,
    /// The sum's lower limit (none for the terms written out).
    pub j_lo: Option<&'a Expr>,
    /// The sum's upper limit.
    pub j_hi: Option<&'a Expr>,
    /// The terms written out (eq. 10.3): the subscript of `x` in each, `ω_1`'s first; empty
    /// for a sum.
    pub terms: Vec<&'a Expr>,
    /// What the chain of terms is added to (`β` in `β + ω_1 x_{i-1} + …`), if anything.
    pub rest: Option<&'a Expr>,
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
    /// The second axis of an image (eq. 10.6), if any.
    pub second: Option<Second<'a>>,
}

/// The second axis of an image defined entry by entry (eq. 10.6): `j ∈ {1 … W}`, the inner
/// sum `∑_{n=1}^{3}`, and the second subscript of `x_{i+m-2, j+n-2}`.
pub(crate) struct Second<'a> {
    /// The clause's `j ∈ {1 … W}`.
    pub family: &'a ast::Family,
    /// `j` as written.
    pub i: String,
    /// `n` as written.
    pub j: String,
    /// The inner sum's lower limit.
    pub j_lo: &'a Expr,
    /// The inner sum's upper limit.
    pub j_hi: &'a Expr,
    /// The second subscript of `x`.
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
    if lhs.args.is_some() || lhs.squared {
        return None;
    }
    let i = crate::names::literal(&family.var);
    if let Some(second) = &family.second {
        return image(lhs, rhs, family, second, i);
    }
    if lhs.name.sub.len() != 1 || !is_var(&lhs.name.sub[0], &i) {
        return None;
    }
    let sums = sums_in(rhs);
    if sums.is_empty() {
        return written_out(lhs, rhs, family, i);
    }
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
    let (a, b) = names_product(body)?;
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
    Some(Entrywise {
        lhs,
        rhs,
        family,
        sum,
        j_lo: Some(j_lo),
        j_hi: Some(&**j_hi),
        terms: Vec::new(),
        rest: None,
        j,
        i,
        kernel: strip(kernel),
        input: strip(input),
        index,
        second: None,
    })
}

/// The form of eq. 10.6, `h_{ij} = … ∑_{m=lo}^{hi} ∑_{n=lo}^{hi} ω_{mn} x_{E_1, E_2} …   for
/// i ∈ {…}, j ∈ {…}` (or `h_{i,j}`, `ω_{m,n}`), `E_1` reading `i` and `E_2` reading `j`.
fn image<'a>(
    lhs: &'a ast::Lhs,
    rhs: &'a Expr,
    family: &'a ast::Family,
    second: &'a ast::Family,
    i: String,
) -> Option<Entrywise<'a>> {
    let i2 = crate::names::literal(&second.var);
    if !pair(&lhs.name.sub, &i, &i2) {
        return None;
    }
    let sums = sums_in(rhs);
    let [outer, inner] = sums[..] else {
        return None;
    };
    let limits = |e: &'a Expr| match &e.kind {
        ExprKind::Big {
            binder: Some(binder),
            upper: Some(hi),
            body,
            ..
        } => Some((
            crate::names::literal(&binder.var),
            binder.lo.as_deref()?,
            &**hi,
            &**body,
        )),
        _ => None,
    };
    let (j, j_lo, j_hi, body) = limits(outer)?;
    if !std::ptr::eq(unparen(body), inner) {
        return None;
    }
    let (j2, j2_lo, j2_hi, body) = limits(inner)?;
    let (a, b) = names_product(body)?;
    // `ω_{mn} x_{E_1, E_2}` or `x_{E_1, E_2} ω_{mn}`.
    let (kernel, input) = if pair(&a.sub, &j, &j2) {
        (a, b)
    } else if pair(&b.sub, &j, &j2) {
        (b, a)
    } else {
        return None;
    };
    let [e1, e2] = &input.sub[..] else {
        return None;
    };
    if !mentions(e1, &i) || !mentions(e2, &i2) {
        return None;
    }
    Some(Entrywise {
        lhs,
        rhs,
        family,
        sum: outer,
        j_lo: Some(j_lo),
        j_hi: Some(j_hi),
        terms: Vec::new(),
        rest: None,
        j,
        i,
        kernel: strip(kernel),
        input: strip(input),
        index: e1,
        second: Some(Second {
            family: second,
            i: i2,
            j: j2,
            j_lo: j2_lo,
            j_hi: j2_hi,
            index: e2,
        }),
    })
}

/// Whether a subscript names the two indices `a`, `b`: `_{a,b}`, or `_{ab}` as the book
/// prints it (one word made of the two).
fn pair(sub: &[Expr], a: &str, b: &str) -> bool {
    match sub {
        [x, y] => is_var(x, a) && is_var(y, b),
        [x] => matches!(&x.kind, ExprKind::Name(n)
            if n.sub.is_empty() && n.primes == 0 && crate::names::literal(n) == format!("{a}{b}")),
        _ => false,
    }
}

/// `e` without enclosing parentheses.
fn unparen(mut e: &Expr) -> &Expr {
    while let ExprKind::Paren(a) = &e.kind {
        e = a;
    }
    e
}

/// The form of eq. 10.3, `… + ω_1 x_{i-1} + ω_2 x_i + ω_3 x_{i+1}`: at least two terms
/// `ω_n x_E`, `n = 1, 2, …` in order, one kernel and one input, at the end of a chain of sums.
fn written_out<'a>(
    lhs: &'a ast::Lhs,
    rhs: &'a Expr,
    family: &'a ast::Family,
    i: String,
) -> Option<Entrywise<'a>> {
    let mut nodes = Vec::new();
    crate::syntax::walk(rhs, &mut |e| nodes.push(e));
    nodes.into_iter().find_map(|node| {
        let mut terms = Vec::new();
        let mut cur = node;
        let rest = loop {
            match &cur.kind {
                ExprKind::Binary {
                    op: BinOp::Add,
                    lhs: l,
                    rhs: r,
                } => match term(r, &i) {
                    Some(t) => {
                        terms.push(t);
                        cur = l;
                    }
                    None => break Some(cur),
                },
                _ => match term(cur, &i) {
                    Some(t) => {
                        terms.push(t);
                        break None;
                    }
                    None => break Some(cur),
                },
            }
        };
        terms.reverse();
        let (w, x) = (terms.first()?.0, terms.first()?.1);
        let ordered = terms.iter().enumerate().all(|(k, t)| {
            t.3 == k as f64 + 1.0
                && crate::names::literal(&strip(t.0)) == crate::names::literal(&strip(w))
                && crate::names::literal(&strip(t.1)) == crate::names::literal(&strip(x))
        });
        (terms.len() >= 2 && ordered).then(|| Entrywise {
            lhs,
            rhs,
            family,
            sum: node,
            j_lo: None,
            j_hi: None,
            terms: terms.iter().map(|t| t.2).collect(),
            rest,
            j: "j".into(),
            i: i.clone(),
            kernel: strip(w),
            input: strip(x),
            index: terms[0].2,
            second: None,
        })
    })
}

/// A term `ω_n x_E` (or `x_E ω_n`) with `E` reading `i`: `(ω, x, E, n)`.
fn term<'a>(e: &'a Expr, i: &str) -> Option<(&'a ast::Name, &'a ast::Name, &'a Expr, f64)> {
    let (a, b) = names_product(e)?;
    let ([sa], [sb]) = (&a.sub[..], &b.sub[..]) else {
        return None;
    };
    let (w, x, n, index) = match (&sa.kind, &sb.kind) {
        (ExprKind::Number(n), _) => (a, b, *n, sb),
        (_, ExprKind::Number(n)) => (b, a, *n, sa),
        _ => return None,
    };
    mentions(index, i).then_some((w, x, index, n))
}

/// A name without its subscript.
fn strip(n: &ast::Name) -> ast::Name {
    ast::Name {
        sub: Vec::new(),
        ..n.clone()
    }
}

/// The two names of a product `a b` (or `a · b`), such as `ω_j x_{i+j-2}`.
fn names_product(e: &Expr) -> Option<(&ast::Name, &ast::Name)> {
    let ExprKind::Binary {
        op: BinOp::Juxt | BinOp::Scale,
        lhs: a,
        rhs: b,
    } = &e.kind
    else {
        return None;
    };
    match (&a.kind, &b.kind) {
        (ExprKind::Name(a), ExprKind::Name(b)) => Some((a, b)),
        _ => None,
    }
}

/// The sums in `e`, outermost first.
fn sums_in(e: &Expr) -> Vec<&Expr> {
    let mut sums = Vec::new();
    crate::syntax::walk(e, &mut |x| {
        if matches!(x.kind, ExprKind::Big { op: BigOp::Sum, .. }) {
            sums.push(x);
        }
    });
    sums
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
        && m.second
            .as_ref()
            .is_none_or(|s| crate::eval::integer(&s.family.lo, lookup) == Some(1))
}

/// One axis of the form, as [`axis_geometry`] reads it.
struct AxisRef<'a> {
    /// The family's last value (the output's size on this axis).
    hi: &'a Expr,
    /// The entry index (`i`).
    i: &'a str,
    /// The kernel index (`j`).
    j: &'a str,
    /// The sum's limits (none for the terms written out).
    j_lo: Option<&'a Expr>,
    j_hi: Option<&'a Expr>,
    /// The subscript of `x` on this axis.
    index: &'a Expr,
    /// The terms written out (eq. 10.3), if so.
    terms: &'a [&'a Expr],
}

/// The convolution's geometry, or why the statement cannot be one: per axis (rows, then
/// columns; a signal's second axis is one entry wide with a kernel of one), the subscript
/// must be `s·i + d·j + c` with integers `s, d ≥ 1`, the sum must run from 1, and the first
/// entry must not read past the padding's start (`pad ≥ 0`).
pub(crate) fn geometry(
    m: &Entrywise<'_>,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
) -> Result<[Geometry; 2], Box<Diagnostic>> {
    let first = AxisRef {
        hi: &m.family.hi,
        i: &m.i,
        j: &m.j,
        j_lo: m.j_lo,
        j_hi: m.j_hi,
        index: m.index,
        terms: &m.terms,
    };
    let g1 = axis_geometry(m, &first, lookup)?;
    let Some(s) = &m.second else {
        let one = Geometry {
            n_out: 1,
            k: 1,
            pad: 0,
            stride: 1,
            dil: 1,
        };
        return Ok([g1, one]);
    };
    let second = AxisRef {
        hi: &s.family.hi,
        i: &s.i,
        j: &s.j,
        j_lo: Some(s.j_lo),
        j_hi: Some(s.j_hi),
        index: s.index,
        terms: &[],
    };
    Ok([g1, axis_geometry(m, &second, lookup)?])
}

fn axis_geometry(
    m: &Entrywise<'_>,
    ax: &AxisRef<'_>,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
) -> Result<Geometry, Box<Diagnostic>> {
    let refuse = |span: Span, msg: String, label: &str| {
        Box::new(
            Diagnostic::new(Code::E0403, span, msg)
                .label(label)
                .help(if m.second.is_some() {
                    "an image is convolved as `h_{ij} = a[β + ∑_{m=1}^{K} ∑_{n=1}^{L} ω_{mn} x_{i+m-c, j+n-c'}] for i ∈ {1 … H}, j ∈ {1 … W}` (eq. 10.6), stride and dilation per axis as `x_{s·i+d·m-c, …}` (§10.2)"
                } else {
                    "a convolution is written `h_i = a[β + ∑_{j=1}^{K} ω_j x_{i+j-c}] for i ∈ {1 … D}`, stride and dilation as `x_{s·i+d·j-c}` (§10.2)"
                }),
        )
    };
    let int = |e: Option<&Expr>| e.and_then(|e| crate::eval::integer(e, lookup));
    let k_terms = Some(ax.terms.len() as i64).filter(|&k| k > 0);
    let (Some(n_out), Some(j_lo), Some(j_hi)) = (
        int(Some(ax.hi)),
        k_terms.map_or_else(|| int(ax.j_lo), |_| Some(1)),
        k_terms.or_else(|| int(ax.j_hi)),
    ) else {
        return Err(refuse(
            m.sum.span,
            "the convolution's sizes have no value".into(),
            "its range and limits must be integers",
        ));
    };
    if j_lo != 1 || j_hi < 1 {
        return Err(refuse(
            ax.j_lo.map_or(m.sum.span, |e| e.span),
            format!(
                "a convolution's sum runs over the whole kernel, from `{} = 1`",
                ax.j
            ),
            "must start at 1",
        ));
    }
    let at = |i: i64, j: i64| {
        let index = if ax.terms.is_empty() {
            ax.index
        } else {
            ax.terms.get(usize::try_from(j - 1).ok()?)?
        };
        crate::eval::integer(index, &|n: &ast::Name| {
            let lit = crate::names::literal(n);
            if n.sub.is_empty() && lit == ax.i {
                Lookup::Value(i as f64)
            } else if n.sub.is_empty() && lit == ax.j {
                Lookup::Value(j as f64)
            } else {
                lookup(n)
            }
        })
    };
    let coeffs = (|| {
        let c1 = at(0, 1)?;
        let s = at(1, 1)? - c1;
        let d = if j_hi >= 2 { at(0, 2)? - c1 } else { 1 };
        let c = c1 - d;
        let js: Vec<i64> = if ax.terms.is_empty() {
            vec![1, 2, 3, 7]
        } else {
            (1..=j_hi).collect()
        };
        let affine = [0, 1, 2, 5]
            .iter()
            .all(|&i| js.iter().all(|&j| at(i, j) == Some(c + s * i + d * j)));
        affine.then_some((c, s, d))
    })();
    let Some((c, s, d)) = coeffs else {
        return Err(refuse(
            ax.index.span,
            format!("the subscript is not `s·{} + d·{} + c`", ax.i, ax.j),
            "not an offset of the indices",
        ));
    };
    if s < 1 || d < 1 || s > i64::from(u32::MAX) || d > i64::from(u32::MAX) {
        return Err(refuse(
            ax.index.span,
            format!(
                "a convolution's subscript needs positive multiples of `{}` and `{}`",
                ax.i, ax.j
            ),
            "stride and dilation must be at least 1",
        ));
    }
    // Entry (1-based) c + s·i + d·j at i = o+1, j = j'+1 is 0-based s·o + d·j' - pad.
    let pad = 1 - c - s - d;
    let Ok(pad) = u32::try_from(pad) else {
        return Err(refuse(
            ax.index.span,
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
    let p = Expr {
        kind: ExprKind::Name(placeholder(m)),
        span: m.sum.span,
    };
    let new = match m.rest {
        None => p,
        Some(r) => Expr {
            kind: ExprKind::Binary {
                op: BinOp::Add,
                lhs: Box::new(r.clone()),
                rhs: Box::new(p),
            },
            span: m.sum.span,
        },
    };
    replace(&mut rhs, m.sum.span, &new);
    let mut stray = None;
    let second = m.second.as_ref().map(|s| s.i.as_str());
    crate::syntax::walk(&rhs, &mut |x| {
        if stray.is_none() && is_var(x, &m.i) {
            stray = Some((x.span, m.i.as_str()));
        } else if let Some(j) = second.filter(|j| stray.is_none() && is_var(x, j)) {
            stray = Some((x.span, j));
        }
    });
    if let Some((span, i)) = stray {
        return Err(Box::new(
            Diagnostic::new(
                Code::E0403,
                span,
                format!("`{i}` outside the convolution's sum"),
            )
            .label("an entry index here")
            .help("only the sum may depend on the entry; a bias per entry is a vector `β`, added as `β + …` without a subscript"),
        ));
    }
    Ok((lhs, rhs))
}

/// Replaces the outermost sub-expression at `span` (a sum or a chain of terms) by `n`.
fn replace(e: &mut Expr, span: Span, n: &Expr) {
    if e.span == span && matches!(e.kind, ExprKind::Big { .. } | ExprKind::Binary { .. }) {
        *e = n.clone();
        return;
    }
    match &mut e.kind {
        ExprKind::Number(_)
        | ExprKind::Name(_)
        | ExprKind::Ones
        | ExprKind::Identity
        | ExprKind::BatchSize => {}
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
        ExprKind::Stack(rows) => rows.iter_mut().flatten().for_each(|e| {
            if let ast::Entry::Item(x) = e {
                replace(x, span, n);
            }
        }),
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
        // `x` must be a vector (an image) per example, and `ω` a vector (a matrix) the same
        // for every example.
        let dims = |cx: &Self, n: &ast::Name| match cx.scope.get(&cx.canonical_plain(n)) {
            Some(Entry {
                sym: Sym::Data(_, v) | Sym::Param(v, _) | Sym::Value(v),
                ..
            }) => match &v.shape {
                Shape::Col(d) => Some((vec![d.value], v.per_example)),
                Shape::Mat(r, c) => Some((vec![r.value, c.value], v.per_example)),
                _ => None,
            },
            _ => None,
        };
        let rank = if m.second.is_some() { 2 } else { 1 };
        match dims(self, &m.input) {
            Some((d, true)) if d.len() == rank => {}
            _ => return false,
        }
        let geometry = geometry(&m, &lookup).and_then(|g| {
            let want: Vec<Option<i64>> = g[..rank].iter().map(|g| Some(g.k)).collect();
            match dims(self, &m.kernel) {
                Some((k, false)) if k == want => Ok(g),
                _ => Err(Box::new(
                    Diagnostic::new(
                        Code::E0403,
                        m.j_hi.map_or(m.sum.span, |e| e.span),
                        if rank == 1 {
                            format!(
                                "the kernel `{}` must be a vector of the sum's {} terms, the same for every example",
                                crate::names::literal(&m.kernel),
                                g[0].k
                            )
                        } else {
                            format!(
                                "the sums run over a {}×{} kernel: `{}` must be a {}×{} matrix, the same for every example",
                                g[0].k,
                                g[1].k,
                                crate::names::literal(&m.kernel),
                                g[0].k,
                                g[1].k
                            )
                        },
                    )
                    .label("the kernel's size")
                    .help(if rank == 1 {
                        "declare it `param ω : ℝ^{K}` with the sum running `∑_{j=1}^{K}`"
                    } else {
                        "declare it `param ω : ℝ^{K×L}` with the sums running `∑_{m=1}^{K} ∑_{n=1}^{L}`"
                    }),
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
        debug_assert_eq!(out.value, Some(g[0].n_out));
        let shape = match &m.second {
            None => Shape::Col(out),
            Some(s) => {
                let Some(out2) = self.dim(&s.family.hi) else {
                    poison(self);
                    return true;
                };
                Shape::Mat(out, out2)
            }
        };
        let holder = crate::names::literal(&placeholder(&m));
        let conv = Val {
            shape,
            per_example: true,
            labels: None,
            diagonal: false,
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

#[cfg(test)]
mod tests {
    #[test]
    fn written_out_terms_match() {
        let src = "model T[D = 5] {\n input x : ℝ^{D}\n param ω : ℝ^{3}\n z_i = ω_1 x_{i-1} + ω_2 x_i + ω_3 x_{i+1}   for i ∈ {1 … D}\n}\n";
        let file = crate::syntax::parse(src).expect("parses");
        let stmts = &file.models[0].stmts;
        let z = &stmts[stmts.len() - 1..];
        let m = super::matches(z).expect("the written-out form");
        assert_eq!(m.terms.len(), 3);
        assert!(m.rest.is_none());
    }
}
