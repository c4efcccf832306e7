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
//! With the arithmetic on the kernel's subscript instead (`h_i = a[β + ∑_{j=1}^{D} ω_{i-2j+2}
//! x_j]`, §10.4.2) the statement is the transposed convolution, a kernel index outside the
//! kernel contributing zero ([`Reading`], [`oriented`]).
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
    /// `E`, the subscript with the arithmetic: the input's, or transposed the kernel's.
    pub index: &'a Expr,
    /// The second axis of an image (eq. 10.6), if any.
    pub second: Option<Second<'a>>,
    /// The channels of an image with channels (eq. 10.6 with channels, §10.2.7), if any.
    pub channels: Option<Channels<'a>>,
    /// Which factor carries the arithmetic (see [`Reading`]).
    pub reading: Reading,
}

/// Which subscript of the sum's product carries the entry index: the input's (a convolution,
/// `ω_j x_{i+j-2}`), the kernel's (a transposed convolution, `ω_{i-2j+2} x_j`), or both
/// (`ω_{i-j} x_{2j}`, neither: refused by [`geometry`]). Syntax alone tells the first two
/// apart only with channels (the kernel has four subscripts); otherwise [`orientation`] decides
/// by which of the two names is per example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Arithmetic on the input's subscript (eq. 10.3–10.6).
    Forward,
    /// Arithmetic on the kernel's subscript: the transposed convolution (§10.4.2).
    Transposed,
    /// Arithmetic on both subscripts: whether the input's and the kernel's subscripts read an
    /// entry index (a kernel whose subscript reads none is an offset kernel of a convolution,
    /// read member by member).
    Mixed([bool; 2]),
}

/// The channels of an image defined entry by entry with channels: `c ∈ {1 … C_o}` the output
/// channel, the outermost sum `∑_{c'=1}^{C_i}` over the input channels, the kernel
/// `ω_{c,c',m,n}` and the input `x_{c',…,…}`.
pub(crate) struct Channels<'a> {
    /// The clause's `c ∈ {1 … C_o}`.
    pub family: &'a ast::Family,
    /// `c` as written.
    pub c: String,
    /// `c'` as written.
    pub c_in: String,
    /// The channel sum's lower limit.
    pub lo: &'a Expr,
    /// The channel sum's upper limit.
    pub hi: &'a Expr,
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
    /// The second subscript of `x` (transposed, the kernel's last).
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
    /// Terms of the sum: the kernel's size `k` for a convolution, the input's entries for a
    /// transposed convolution.
    pub terms: i64,
}

/// The statement's pieces if it has the entrywise form (see the module's documentation).
pub(crate) fn matches(group: &[ast::Stmt]) -> Option<Entrywise<'_>> {
    let [stmt] = group else { return None };
    let family = stmt.family.as_ref()?;
    // A convolution's positions are counted by one; stride is in the input's subscript.
    let mut clause = Some(family);
    while let Some(f) = clause {
        if f.next.is_some() {
            return None;
        }
        clause = f.second.as_deref();
    }
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
        if let Some(third) = &second.second {
            return channels(lhs, rhs, [family, second, third]);
        }
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
    // `ω_j x_E` or `x_E ω_j`; both subscripts reading `j` and one `i` is the mixed form.
    let (kernel, input, index, reading) = if is_var(sa, &j) {
        (a, b, sb, Reading::Forward)
    } else if is_var(sb, &j) {
        (b, a, sa, Reading::Forward)
    } else if mentions(sa, &j) && mentions(sb, &j) && mentions(sa, &i) {
        (b, a, sa, Reading::Mixed([true, mentions(sb, &i)]))
    } else if mentions(sa, &j) && mentions(sb, &j) && mentions(sb, &i) {
        (a, b, sb, Reading::Mixed([true, false]))
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
        channels: None,
        reading,
    })
}

/// Which factor of the statement's product is the kernel, as its names' values tell: the
/// form as [`matches`] found it (`false`), or, when the factor with the bare sum index (`x_j`)
/// is per example and the other (`ω_{i-2j+2}`) is not, the two names' roles exchanged
/// (`true`): the transposed convolution (of the mixed form, the per-example name is the input
/// as well, so that [`geometry`] refuses it). `None` when neither reading is a convolution (a
/// kernel subscript that reads no entry index: a family, member by member). Checking decides
/// it once and records it (`Numbers::conv`); [`orient`] applies it.
pub(crate) fn orientation(
    m: &Entrywise<'_>,
    per_example: &dyn Fn(&ast::Name) -> bool,
) -> Option<bool> {
    let exchange = m.reading != Reading::Transposed
        && m.terms.is_empty()
        && m.channels.is_none()
        && !per_example(&m.input)
        && per_example(&m.kernel);
    let reading = if exchange {
        exchanged(m.reading)
    } else {
        m.reading
    };
    (!matches!(reading, Reading::Mixed([_, false]))).then_some(exchange)
}

/// The statement with kernel and input exchanged when `exchange` (an [`orientation`]).
pub(crate) fn orient(mut m: Entrywise<'_>, exchange: bool) -> Entrywise<'_> {
    if exchange {
        std::mem::swap(&mut m.kernel, &mut m.input);
        m.reading = exchanged(m.reading);
    }
    m
}

/// The reading of the form with its two names' roles exchanged.
fn exchanged(reading: Reading) -> Reading {
    match reading {
        Reading::Mixed([x, w]) => Reading::Mixed([w, x]),
        _ => Reading::Transposed,
    }
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
    let (j, j_lo, j_hi, body) = limits(outer)?;
    if !std::ptr::eq(unparen(body), inner) {
        return None;
    }
    let (j2, j2_lo, j2_hi, body) = limits(inner)?;
    let (a, b) = names_product(body)?;
    // `ω_{mn} x_{E_1, E_2}` or `x_{E_1, E_2} ω_{mn}`; neither bare, the mixed form.
    let (kernel, input, reading) = if pair(&a.sub, &j, &j2) {
        (a, b, Reading::Forward)
    } else if pair(&b.sub, &j, &j2) {
        (b, a, Reading::Forward)
    } else if a.sub.len() == 2
        && b.sub.len() == 2
        && [a, b]
            .iter()
            .all(|x| x.sub.iter().any(|e| mentions(e, &j) || mentions(e, &j2)))
    {
        let reads = |x: &ast::Name| x.sub.iter().any(|e| mentions(e, &i) || mentions(e, &i2));
        if mentions(&a.sub[0], &i) && mentions(&a.sub[1], &i2) {
            (b, a, Reading::Mixed([true, reads(b)]))
        } else {
            (a, b, Reading::Mixed([reads(b), reads(a)]))
        }
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
        channels: None,
        reading,
    })
}

/// A sum's index, limits and body: `∑_{j=lo}^{hi} body`.
fn limits(e: &Expr) -> Option<(String, &Expr, &Expr, &Expr)> {
    match &e.kind {
        ExprKind::Big {
            op: BigOp::Sum,
            binder: Some(binder),
            upper: Some(hi),
            body,
        } => Some((
            crate::names::literal(&binder.var),
            binder.lo.as_deref()?,
            &**hi,
            &**body,
        )),
        _ => None,
    }
}

/// The form of eq. 10.6 with channels (§10.2.7), `h_{c,i,j} = … ∑_{c'=1}^{C_i} ∑_{m=1}^{K}
/// ∑_{n=1}^{L} ω_{c,c',m,n} x_{c',E_1,E_2} …   for c ∈ {…}, i ∈ {…}, j ∈ {…}`: the output
/// channel `c` first, the sum over the input channels `c'` outermost, the kernel's
/// subscript `c, c', m, n` in this order, the input's first subscript `c'` itself, `E_1`
/// reading `i` and `E_2` reading `j`.
fn channels<'a>(
    lhs: &'a ast::Lhs,
    rhs: &'a Expr,
    [family, second, third]: [&'a ast::Family; 3],
) -> Option<Entrywise<'a>> {
    let [c, i, i2] = [family, second, third].map(|f| crate::names::literal(&f.var));
    if !indices(&lhs.name.sub, &[&c, &i, &i2]) {
        return None;
    }
    let sums = sums_in(rhs);
    let [outer, middle, inner] = sums[..] else {
        return None;
    };
    let (ci, ci_lo, ci_hi, body) = limits(outer)?;
    if !std::ptr::eq(unparen(body), middle) {
        return None;
    }
    let (j, j_lo, j_hi, body) = limits(middle)?;
    if !std::ptr::eq(unparen(body), inner) {
        return None;
    }
    let (j2, j2_lo, j2_hi, body) = limits(inner)?;
    let (a, b) = names_product(body)?;
    let want = [c.as_str(), &ci, &j, &j2];
    let bare = [ci.as_str(), &j, &j2];
    // `ω_{c,c',m,n} x_{c',E_1,E_2}`, or transposed `ω_{c',c,E_1,E_2} x_{c',m,n}`: the
    // kernel's first index the input's channel, as for the convolution from `h` to `x`.
    let (kernel, input, e1, e2, reading) = if let Some((kernel, input)) = [(a, b), (b, a)]
        .into_iter()
        .find(|(k, _)| indices(&k.sub, &want))
    {
        let [e0, e1, e2] = &input.sub[..] else {
            return None;
        };
        if !is_var(e0, &ci) {
            return None;
        }
        (kernel, input, e1, e2, Reading::Forward)
    } else {
        let (kernel, input) = [(a, b), (b, a)]
            .into_iter()
            .find(|(_, x)| indices(&x.sub, &bare))?;
        let [k0, k1, e1, e2] = &kernel.sub[..] else {
            return None;
        };
        if !is_var(k0, &ci) || !is_var(k1, &c) {
            return None;
        }
        (kernel, input, e1, e2, Reading::Transposed)
    };
    if !mentions(e1, &i) || !mentions(e2, &i2) {
        return None;
    }
    Some(Entrywise {
        lhs,
        rhs,
        family: second,
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
            family: third,
            i: i2,
            j: j2,
            j_lo: j2_lo,
            j_hi: j2_hi,
            index: e2,
        }),
        channels: Some(Channels {
            family,
            c,
            c_in: ci,
            lo: ci_lo,
            hi: ci_hi,
        }),
        reading,
    })
}

/// Whether a subscript names the indices `vars` in order: `_{c,i,j}`, or `_{cij}` as the
/// book prints it (one word made of them).
fn indices(sub: &[Expr], vars: &[&str]) -> bool {
    match sub {
        [x] if vars.len() > 1 => matches!(&x.kind, ExprKind::Name(n)
            if n.sub.is_empty() && n.primes == 0 && crate::names::literal(n) == vars.concat()),
        _ => sub.len() == vars.len() && sub.iter().zip(vars).all(|(e, v)| is_var(e, v)),
    }
}

/// Whether a subscript names the two indices `a`, `b`: `_{a,b}`, or `_{ab}` as the book
/// prints it (one word made of the two).
fn pair(sub: &[Expr], a: &str, b: &str) -> bool {
    indices(sub, &[a, b])
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
            channels: None,
            reading: Reading::Forward,
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
        node: None,
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
        && m.channels
            .as_ref()
            .is_none_or(|c| crate::eval::integer(&c.family.lo, lookup) == Some(1))
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
///
/// Transposed ([`Reading::Transposed`]), the kernel's subscript must be `i − s·j + c`, the
/// kernel of size `kernel` (its declared sizes per axis), and the geometry is that of the
/// convolution from `h` to `x` whose transpose the statement computes: `h`'s entry `i`
/// receives `x_j` through kernel entry `i − s·j + c` when that is in `1 … K`, so entry
/// `o` (0-based) of `x` reads entry `o·s + m − pad` of `h` with `pad = c − s`.
pub(crate) fn geometry(
    m: &Entrywise<'_>,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
    kernel: Option<[i64; 2]>,
) -> Result<[Geometry; 2], Box<Diagnostic>> {
    if matches!(m.reading, Reading::Mixed(_)) {
        return Err(Box::new(
            Diagnostic::new(
                Code::E0403,
                m.index.span,
                "index arithmetic on both the kernel's and the input's subscripts is neither a convolution nor a transposed convolution",
            )
            .label("arithmetic here and in the other subscript")
            .help(both_readings(m)),
        ));
    }
    let first = AxisRef {
        hi: &m.family.hi,
        i: &m.i,
        j: &m.j,
        j_lo: m.j_lo,
        j_hi: m.j_hi,
        index: m.index,
        terms: &m.terms,
    };
    let k = kernel.unwrap_or([1, 1]);
    let g1 = axis_geometry(m, &first, k[0], lookup)?;
    let Some(s) = &m.second else {
        let one = Geometry {
            n_out: 1,
            k: 1,
            pad: 0,
            stride: 1,
            dil: 1,
            terms: 1,
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
    Ok([g1, axis_geometry(m, &second, k[1], lookup)?])
}

/// The help of a refusal of the form: both readings, the convolution (arithmetic on the
/// input's subscript) and the transposed convolution (on the kernel's).
fn both_readings(m: &Entrywise<'_>) -> &'static str {
    if m.channels.is_some() {
        "a convolution puts the arithmetic on the input's subscript, `h_{c,i,j} = a[β_c + ∑_{c'=1}^{C_i} ∑_{m=1}^{K} ∑_{n=1}^{L} ω_{c,c',m,n} x_{c',s·i+d·m-c,s·j+d·n-c}]` (eq. 10.6, §10.2); a transposed convolution on the kernel's, `h_{c,i,j} = a[β_c + ∑_{c'=1}^{C_i} ∑_{m=1}^{H'} ∑_{n=1}^{W'} ω_{c',c,i-s·m+c,j-s·n+c} x_{c',m,n}]` (§10.4.2)"
    } else if m.second.is_some() {
        "a convolution puts the arithmetic on the input's subscript, `h_{ij} = a[β + ∑_{m=1}^{K} ∑_{n=1}^{L} ω_{mn} x_{s·i+d·m-c, s·j+d·n-c}]` (eq. 10.6, §10.2); a transposed convolution on the kernel's, `h_{ij} = a[β + ∑_{m=1}^{H'} ∑_{n=1}^{W'} ω_{i-s·m+c, j-s·n+c} x_{mn}]` (§10.4.2)"
    } else {
        "a convolution puts the arithmetic on the input's subscript, `h_i = a[β + ∑_{j=1}^{K} ω_j x_{s·i+d·j-c}]` (eq. 10.4, §10.2); a transposed convolution on the kernel's, `h_i = a[β + ∑_{j=1}^{D'} ω_{i-s·j+c} x_j]` (§10.4.2)"
    }
}

fn axis_geometry(
    m: &Entrywise<'_>,
    ax: &AxisRef<'_>,
    kernel: i64,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
) -> Result<Geometry, Box<Diagnostic>> {
    let transposed = m.reading == Reading::Transposed;
    let refuse = |span: Span, msg: String, label: &str| {
        Box::new(Diagnostic::new(Code::E0403, span, msg).label(label).help(
            match (transposed, m.second.is_some()) {
                (true, _) => both_readings(m),
                (false, true) => {
                    "an image is convolved as `h_{ij} = a[β + ∑_{m=1}^{K} ∑_{n=1}^{L} ω_{mn} x_{i+m-c, j+n-c'}] for i ∈ {1 … H}, j ∈ {1 … W}` (eq. 10.6), stride and dilation per axis as `x_{s·i+d·m-c, …}` (§10.2)"
                }
                (false, false) => {
                    "a convolution is written `h_i = a[β + ∑_{j=1}^{K} ω_j x_{i+j-c}] for i ∈ {1 … D}`, stride and dilation as `x_{s·i+d·j-c}` (§10.2)"
                }
            },
        ))
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
    let coeffs = affine(ax, j_hi, transposed, lookup);
    let Some((c, s, d)) = coeffs else {
        return Err(refuse(
            ax.index.span,
            format!("the subscript is not `s·{} + d·{} + c`", ax.i, ax.j),
            "not an offset of the indices",
        ));
    };
    if transposed {
        return transposed_axis(ax, (c, s, d), [n_out, j_hi, kernel], &refuse);
    }
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
        terms: j_hi,
    })
}

/// The subscript of one axis, `c + s·i + d·j` in the output index `i` and the kernel index
/// `j`, as `(c, s, d)`: read off at a few points and confirmed at others; `None` if it is not
/// of that form. With one kernel entry (`j_hi = 1`) the dilation is 1 (−1 transposed).
fn affine(
    ax: &AxisRef<'_>,
    j_hi: i64,
    transposed: bool,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
) -> Option<(i64, i64, i64)> {
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
    let c1 = at(0, 1)?;
    let s = at(1, 1)? - c1;
    let d = match (j_hi >= 2, transposed) {
        (true, _) => at(0, 2)? - c1,
        (false, true) => -1,
        (false, false) => 1,
    };
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
}

/// One axis of the transposed form: the kernel's subscript `c + s·i + d·j` must be
/// `i − stride·j + c` (the entry index once: a multiple of it would skip kernel entries,
/// a stride that does not divide), its first entry within the padding (`pad = c − stride ≥ 0`).
fn transposed_axis(
    ax: &AxisRef<'_>,
    (c, s, d): (i64, i64, i64),
    [n_out, terms, k]: [i64; 3],
    refuse: &dyn Fn(Span, String, &str) -> Box<Diagnostic>,
) -> Result<Geometry, Box<Diagnostic>> {
    let stride = -d;
    if s != 1 || stride < 1 || stride > i64::from(u32::MAX) {
        return Err(refuse(
            ax.index.span,
            format!(
                "a transposed convolution's kernel subscript is `{i} − s·{j} + c`, once `{i}` and a positive stride `s` times `{j}`",
                i = ax.i,
                j = ax.j
            ),
            "the kernel's subscript",
        ));
    }
    let Ok(pad) = u32::try_from(c - stride) else {
        return Err(refuse(
            ax.index.span,
            format!(
                "the first entry receives the input from kernel entry {} on: a transposed convolution that skips the start of its output is not supported yet",
                c + 1 - stride
            ),
            "a negative padding",
        ));
    };
    Ok(Geometry {
        n_out,
        k,
        pad,
        stride: stride as u32,
        dil: 1,
        terms,
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
        node: None,
        span: m.sum.span,
    }
}

/// The names read per output channel, `β_c` (a bias per channel, §10.2.7), each without its
/// subscript, in order of appearance and each once; empty without channels.
pub(crate) fn channel_biases(m: &Entrywise<'_>) -> Vec<ast::Name> {
    let Some(ch) = &m.channels else {
        return Vec::new();
    };
    let mut out: Vec<ast::Name> = Vec::new();
    crate::syntax::walk(m.rhs, &mut |x| {
        if let ExprKind::Name(n) = &x.kind
            && let [s] = &n.sub[..]
            && is_var(s, &ch.c)
            && !out
                .iter()
                .any(|o| crate::names::literal(o) == crate::names::literal(&strip(n)))
        {
            out.push(strip(n));
        }
    });
    out
}

/// The placeholder bound to a bias per channel `β_c` broadcast over the positions: `β⋆c`,
/// which no spec can write.
pub(crate) fn bias_placeholder(m: &Entrywise<'_>, bias: &ast::Name) -> ast::Name {
    let c = m.channels.as_ref().map_or("c", |c| c.c.as_str());
    ast::Name {
        word: format!("{}⋆{c}", crate::names::literal(bias)),
        primes: 0,
        frozen: false,
        sub: Vec::new(),
        node: None,
        span: bias.span,
    }
}

/// `(C_o, C_i)` of a convolution with channels (`None` without): the family `c ∈ {1 …
/// C_o}` and the sum `∑_{c'=1}^{C_i}`, which must run from 1 and have values.
pub(crate) fn channel_sizes(
    m: &Entrywise<'_>,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
) -> Result<Option<[i64; 2]>, Box<Diagnostic>> {
    let Some(ch) = &m.channels else {
        return Ok(None);
    };
    let int = |e: &Expr| crate::eval::integer(e, lookup);
    let refuse = |span: Span, msg: String| {
        Box::new(
            Diagnostic::new(Code::E0403, span, msg)
                .label("the input channels")
                .help("an image with channels is convolved as `h_{c,i,j} = a[β_c + ∑_{c'=1}^{C_i} ∑_{m=1}^{K} ∑_{n=1}^{L} ω_{c,c',m,n} x_{c',i+m-2,j+n-2}] for c ∈ {1 … C_o}, i ∈ {1 … H}, j ∈ {1 … W}`"),
        )
    };
    match (int(&ch.family.hi), int(ch.lo), int(ch.hi)) {
        (Some(c_out), Some(1), Some(c_in)) if c_out >= 1 && c_in >= 1 => Ok(Some([c_out, c_in])),
        (_, Some(lo), _) if lo != 1 => Err(refuse(
            ch.lo.span,
            format!(
                "the sum over the input channels runs over all of them, from `{} = 1`",
                ch.c_in
            ),
        )),
        _ => Err(refuse(
            m.sum.span,
            "the numbers of channels have no value".into(),
        )),
    }
}

/// `h = R'`, the right side with the sum replaced by [`placeholder`] (and each bias per
/// channel `β_c` by [`bias_placeholder`]); an error if an entry index is read outside the
/// sum (an entry-dependent term the convolution does not compute), or the channel index
/// other than as the subscript of a bias.
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
    let span = m.sum.span;
    replace(&mut rhs, &|e| {
        (e.span == span && matches!(e.kind, ExprKind::Big { .. } | ExprKind::Binary { .. }))
            .then(|| new.clone())
    });
    if let Some(ch) = &m.channels {
        replace(&mut rhs, &|e| match &e.kind {
            ExprKind::Name(n) if matches!(&n.sub[..], [s] if is_var(s, &ch.c)) => Some(Expr {
                kind: ExprKind::Name(bias_placeholder(m, &strip(n))),
                span: e.span,
            }),
            _ => None,
        });
    }
    let mut stray = None;
    let vars: Vec<&str> = [Some(m.i.as_str())]
        .into_iter()
        .chain([m.second.as_ref().map(|s| s.i.as_str())])
        .chain([m.channels.as_ref().map(|c| c.c.as_str())])
        .flatten()
        .collect();
    crate::syntax::walk(&rhs, &mut |x| {
        if stray.is_none()
            && let Some(v) = vars.iter().find(|v| is_var(x, v))
        {
            stray = Some((x.span, *v));
        }
    });
    if let Some((span, i)) = stray {
        let channel = m.channels.as_ref().is_some_and(|c| c.c == i);
        return Err(Box::new(
            Diagnostic::new(
                Code::E0403,
                span,
                format!("`{i}` outside the convolution's sum"),
            )
            .label(if channel { "the channel index here" } else { "an entry index here" })
            .help(if channel {
                "the channel index may only pick a bias per channel, `β_c + …`"
            } else {
                "only the sum may depend on the entry; a bias per entry is a vector `β`, added as `β + …` without a subscript"
            }),
        ));
    }
    Ok((lhs, rhs))
}

/// Replaces each outermost sub-expression `f` gives a replacement for.
fn replace(e: &mut Expr, f: &dyn Fn(&Expr) -> Option<Expr>) {
    if let Some(n) = f(e) {
        *e = n;
        return;
    }
    match &mut e.kind {
        ExprKind::Number(_)
        | ExprKind::Name(_)
        | ExprKind::Ones
        | ExprKind::Identity
        | ExprKind::BatchSize => {}
        ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| replace(a, f)),
        ExprKind::Neg(a)
        | ExprKind::Paren(a)
        | ExprKind::Transpose(a)
        | ExprKind::Norm(a)
        | ExprKind::Sqrt(a) => replace(a, f),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Power(lhs, rhs) => {
            replace(lhs, f);
            replace(rhs, f);
        }
        ExprKind::Big { body, .. } => replace(body, f),
        ExprKind::Prob { event, given } => {
            replace(event, f);
            given.iter_mut().for_each(|a| replace(a, f));
        }
        ExprKind::Deriv { of, .. } => replace(of, f),
        ExprKind::Stack(rows) => rows.iter_mut().flatten().for_each(|e| {
            if let ast::Entry::Item(x) = e {
                replace(x, f);
            }
        }),
    }
}

impl super::ModelCx<'_, '_> {
    /// The dimensions' values of a name's shape and whether it is per example.
    fn entry_dims(&self, n: &ast::Name) -> Option<(Vec<Option<i64>>, bool)> {
        use super::scope::{Entry, Sym};
        use super::shape::Shape;
        match self.scope.get(&self.canonical_plain(n)) {
            Some(Entry {
                sym: Sym::Data(_, v) | Sym::Param(v, _) | Sym::Value(v),
                ..
            }) => match &v.shape {
                Shape::Col(d) => Some((vec![d.value], v.per_example)),
                Shape::Mat(r, c) => Some((vec![r.value, c.value], v.per_example)),
                Shape::Tensor(ds) => Some((ds.iter().map(|d| d.value).collect(), v.per_example)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Checks a statement of the entrywise form as the definition of the whole vector `h`;
    /// false when it is not one (then it is a family, member by member).
    pub(super) fn entrywise(&mut self, group: &[ast::Stmt]) -> bool {
        use super::numbers::Conv;
        use super::scope::{Entry, Sym};
        use super::shape::{Shape, Val};
        let Some(m) = matches(group) else {
            return false;
        };
        let lookup = |n: &ast::Name| self.lookup_number(n);
        let starts = starts_at_one(&m, &lookup);
        let exchange = starts
            .then(|| orientation(&m, &|n| self.entry_dims(n).is_some_and(|(_, e)| e)))
            .flatten();
        let record = |sizes| Conv {
            starts_at_one: starts,
            exchange,
            sizes,
        };
        self.numbers
            .borrow_mut()
            .record_conv(&m, self, record(None));
        let Some(exchange) = exchange else {
            return false;
        };
        let m = orient(m, exchange);
        // `x` must be a vector (an image, an image with channels) per example, and `ω` a
        // vector (a matrix, a tensor of rank 4) the same for every example.
        let rank = if m.channels.is_some() {
            3
        } else if m.second.is_some() {
            2
        } else {
            1
        };
        let x_dims = match self.entry_dims(&m.input) {
            Some((d, true)) if d.len() == rank => d,
            _ => return false,
        };
        let kernel = self.kernel_sizes(&m);
        let sizes = channel_sizes(&m, &lookup)
            .and_then(|c| geometry(&m, &lookup, kernel).map(|g| (g, c)))
            .and_then(|(g, c)| self.kernel_fits(&m, &g, c, &x_dims).map(|()| (g, c)));
        let rewritten = sizes.and_then(|s| rewritten(&m).map(|r| (s, r)));
        let poison = |cx: &mut Self| {
            let mut name = m.lhs.name.clone();
            name.sub.clear();
            let canon = cx.canonical_plain(&name);
            cx.define(&canon, Sym::Poisoned, m.lhs.span, None);
        };
        let (g, (lhs, rhs)) = match rewritten {
            Ok((sizes, r)) => {
                self.numbers
                    .borrow_mut()
                    .record_conv(&m, self, record(Some(sizes)));
                (sizes.0, r)
            }
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
        let shape = match (&m.second, &m.channels) {
            (None, _) => Shape::Col(out),
            (Some(s), ch) => {
                let Some(out2) = self.dim(&s.family.hi) else {
                    poison(self);
                    return true;
                };
                match ch.as_ref().map(|c| self.dim(&c.family.hi)) {
                    None => Shape::Mat(out, out2),
                    Some(Some(c)) => Shape::Tensor(vec![c, out, out2]),
                    Some(None) => {
                        poison(self);
                        return true;
                    }
                }
            }
        };
        let Some(mut holders) = self.bind_biases(&m, &shape) else {
            poison(self);
            return true;
        };
        let holder = crate::names::literal(&placeholder(&m));
        let conv = Val {
            shape,
            per_example: true,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        };
        self.scope.insert(
            holder.clone(),
            Entry {
                sym: Sym::Value(conv),
                span: m.sum.span,
            },
        );
        holders.push(holder);
        self.equation(&lhs, &rhs, false);
        for h in holders {
            self.scope.remove(&h);
        }
        true
    }

    /// The kernel's declared sizes per axis (`K`, `K×L`, or the last two of `C×C'×K×L`), the
    /// sizes of a transposed convolution's kernel, which its sums do not give.
    fn kernel_sizes(&self, m: &Entrywise<'_>) -> Option<[i64; 2]> {
        if m.reading != Reading::Transposed {
            return None;
        }
        match self.entry_dims(&m.kernel)?.0[..] {
            [Some(k)] => Some([k, 1]),
            [Some(k), Some(l)] | [_, _, Some(k), Some(l)] => Some([k, l]),
            _ => None,
        }
    }

    /// Whether the kernel has the sums' sizes (and with channels, the input the sum's
    /// channels): `ℝ^{K}`, `ℝ^{K×L}`, or `ℝ^{C_o×C_i×K×L}`, the same for every example.
    /// Transposed, the sums run over the input's entries and the kernel is `ℝ^{C_i×C_o×K×L}`
    /// ([`Self::transposed_fits`]).
    fn kernel_fits(
        &self,
        m: &Entrywise<'_>,
        g: &[Geometry; 2],
        channels: Option<[i64; 2]>,
        x_dims: &[Option<i64>],
    ) -> Result<(), Box<Diagnostic>> {
        if m.reading == Reading::Transposed {
            return self.transposed_fits(m, g, channels, x_dims);
        }
        let w = crate::names::literal(&m.kernel);
        let (want, msg, help) = match channels {
            None if m.second.is_none() => (
                vec![Some(g[0].k)],
                format!(
                    "the kernel `{w}` must be a vector of the sum's {} terms, the same for every example",
                    g[0].k
                ),
                "declare it `param ω : ℝ^{K}` with the sum running `∑_{j=1}^{K}`",
            ),
            None => (
                vec![Some(g[0].k), Some(g[1].k)],
                format!(
                    "the sums run over a {}×{} kernel: `{w}` must be a {}×{} matrix, the same for every example",
                    g[0].k, g[1].k, g[0].k, g[1].k
                ),
                "declare it `param ω : ℝ^{K×L}` with the sums running `∑_{m=1}^{K} ∑_{n=1}^{L}`",
            ),
            Some([c_out, c_in]) => {
                if x_dims.first() != Some(&Some(c_in)) {
                    let x = crate::names::literal(&m.input);
                    let have = x_dims.first().copied().flatten().unwrap_or(0);
                    return Err(Box::new(
                        Diagnostic::new(
                            Code::E0403,
                            m.channels.as_ref().map_or(m.sum.span, |c| c.hi.span),
                            format!("the sum runs over {c_in} input channels, but `{x}` has {have}"),
                        )
                        .label("the input channels")
                        .help("the sum over the input channels runs over all of them: `∑_{c'=1}^{C_i}` with `x : ℝ^{C_i×H×W}`"),
                    ));
                }
                (
                    vec![Some(c_out), Some(c_in), Some(g[0].k), Some(g[1].k)],
                    format!(
                        "the sums run over {c_out} output and {c_in} input channels and a {}×{} kernel: `{w}` must be a tensor {c_out}×{c_in}×{}×{}, the same for every example",
                        g[0].k, g[1].k, g[0].k, g[1].k
                    ),
                    "declare it `param Ω : ℝ^{C_o×C_i×K×L}` with `c ∈ {1 … C_o}` and the sums running `∑_{c'=1}^{C_i} ∑_{m=1}^{K} ∑_{n=1}^{L}`",
                )
            }
        };
        match self.entry_dims(&m.kernel) {
            Some((k, false)) if k == want => Ok(()),
            _ => Err(Box::new(
                Diagnostic::new(Code::E0403, m.j_hi.map_or(m.sum.span, |e| e.span), msg)
                    .label("the kernel's size")
                    .help(help),
            )),
        }
    }

    /// The transposed form's sizes: the sums run over all of the input's entries (and
    /// channels), and the kernel is a vector, a matrix, or `ℝ^{C_i×C_o×K×L}` (the input's
    /// channels first, the kernel of the convolution from `h` to `x`), not per example.
    fn transposed_fits(
        &self,
        m: &Entrywise<'_>,
        g: &[Geometry; 2],
        channels: Option<[i64; 2]>,
        x_dims: &[Option<i64>],
    ) -> Result<(), Box<Diagnostic>> {
        let x = crate::names::literal(&m.input);
        let mut sums: Vec<Option<i64>> = vec![Some(g[0].terms)];
        if m.second.is_some() {
            sums.push(Some(g[1].terms));
        }
        if let Some([_, c_in]) = channels {
            sums.insert(0, Some(c_in));
        }
        if x_dims != sums.as_slice() {
            return Err(Box::new(
                Diagnostic::new(
                    Code::E0403,
                    m.j_hi.map_or(m.sum.span, |e| e.span),
                    format!("a transposed convolution's sums run over all of `{x}`'s entries"),
                )
                .label("the sum's limit")
                .help(both_readings(m)),
            ));
        }
        let kernel_ok = match (self.entry_dims(&m.kernel), channels) {
            (Some((k, false)), None) => k.len() == sums.len() && k.iter().all(Option::is_some),
            (Some((k, false)), Some([c_out, c_in])) => {
                k.len() == 4 && k[0] == Some(c_in) && k[1] == Some(c_out)
            }
            _ => false,
        };
        if kernel_ok {
            return Ok(());
        }
        let w = crate::names::literal(&m.kernel);
        Err(Box::new(
            Diagnostic::new(
                Code::E0403,
                m.index.span,
                format!(
                    "the kernel `{w}` of a transposed convolution must be {}, the same for every example",
                    match channels {
                        None if m.second.is_none() => "a vector".to_string(),
                        None => "a matrix".to_string(),
                        Some([c_out, c_in]) =>
                            format!("a tensor {c_in}×{c_out}×K×L (the input's channels first)"),
                    }
                ),
            )
            .label("the kernel")
            .help(both_readings(m)),
        ))
    }

    /// Binds each bias per channel `β_c` (a vector `ℝ^{C_o}`) to its placeholder, the value
    /// broadcast over the output's positions; the names bound, or `None` after an error.
    fn bind_biases(&mut self, m: &Entrywise<'_>, out: &super::shape::Shape) -> Option<Vec<String>> {
        use super::scope::{Entry, Sym};
        use super::shape::{Shape, Val};
        let Shape::Tensor(ds) = out else {
            return Some(Vec::new());
        };
        let mut bound = Vec::new();
        for b in channel_biases(m) {
            let ok = match self.scope.get(&self.canonical_plain(&b)) {
                Some(Entry {
                    sym: Sym::Data(_, v) | Sym::Param(v, _) | Sym::Value(v),
                    ..
                }) => match &v.shape {
                    Shape::Col(d) if d.same(&ds[0]) => Some(v.per_example),
                    _ => None,
                },
                _ => None,
            };
            let Some(per_example) = ok else {
                self.error(
                    Diagnostic::new(
                        Code::E0403,
                        b.span,
                        format!(
                            "`{}` with the channel index is a bias per channel: it must be a vector of the {} output channels",
                            crate::names::literal(&b),
                            ds[0].value.unwrap_or(0)
                        ),
                    )
                    .label("a bias per channel")
                    .help("declare it `param β : ℝ^{C_o}`"),
                );
                for h in bound {
                    self.scope.remove(&h);
                }
                return None;
            };
            let holder = crate::names::literal(&bias_placeholder(m, &b));
            let v = Val {
                shape: out.clone(),
                per_example,
                labels: None,
                diagonal: false,
                structure: Default::default(),
            };
            self.scope.insert(
                holder.clone(),
                Entry {
                    sym: Sym::Value(v),
                    span: b.span,
                },
            );
            bound.push(holder);
        }
        Some(bound)
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
