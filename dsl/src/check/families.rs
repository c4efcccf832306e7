//! Families (`for k ∈ {1 … K}`): runs of statements with one `for` clause unrolled member by
//! member, names a failed family would have defined kept quiet, ranges whose bounds have no
//! value, and the bound on how many members a model unrolls ([`MAX_UNROLL`]).

use super::MAX_UNROLL;
use super::{Bound, Entry, ModelCx, Sym};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::dump;
use crate::names;

impl ModelCx<'_, '_> {
    /// After a family fails, the names it would have defined are not reported as unknown.
    fn poison_family(&mut self, group: &[ast::Stmt]) {
        let mut words = Vec::new();
        for s in group {
            match &s.kind {
                ast::StmtKind::Input(items) | ast::StmtKind::Target(items) => {
                    words.extend(items.iter().map(|t| &t.name));
                }
                ast::StmtKind::Param { items, .. } => words.extend(items.iter().map(|p| &p.name)),
                ast::StmtKind::Noise { name, .. } | ast::StmtKind::Let { name, .. } => {
                    words.push(name)
                }
                ast::StmtKind::Equation { lhs, .. } => words.push(&lhs.name),
                ast::StmtKind::Update { .. } => {}
            }
        }
        for n in words {
            let w = names::build(&n.word, n.primes, false, &[]);
            self.poisoned_words.insert(w);
        }
    }

    /// `θ_{d0}` in a family over `d`: the subscript is one word, not `d` then `0`.
    pub(super) fn family_word_hint(&self, name: &str) -> Option<String> {
        let sub = name
            .split_once('_')?
            .1
            .trim_start_matches('{')
            .trim_end_matches('}');
        self.binds.iter().find_map(|(var, b)| {
            let rest = sub.strip_prefix(var.as_str())?;
            (matches!(b, Bound::Int(_)) && !rest.is_empty()).then(|| {
                format!("`{sub}` is one word, the same for every `{var}`: separate the indices with a comma, `_{{{var},{rest}}}`")
            })
        })
    }

    /// Runs statements once, or once per member of their (shared) family.
    pub(super) fn family(&mut self, group: &[ast::Stmt]) {
        let Some(f) = group.first().and_then(|s| s.family.as_ref()) else {
            group.iter().for_each(|s| self.stmt(s));
            return;
        };
        // `h_i = … ∑_j ω_j x_{i+j-2} … for i ∈ {1 … D}`: the vector `h`, a convolution.
        if self.entrywise(group) {
            return;
        }
        // `PE_{(pos,2i)} = sin[…] for pos ∈ {…}, i ∈ {…}`: a matrix entry by entry.
        if f.second.is_some() && self.entries(group) {
            return;
        }
        if let Some(second) = &f.second {
            self.poison_family(group);
            let d = match &second.second {
                None => Diagnostic::new(
                    Code::E0403,
                    second.span,
                    "a family over two indices defines an image through a convolution, or a matrix entry by entry",
                )
                .label("a second index")
                .help("eq. 10.6: `h_{ij} = a[β + ∑_{m=1}^{3} ∑_{n=1}^{3} ω_{mn} x_{i+m-2, j+n-2}]   for i ∈ {1 … H}, j ∈ {1 … W}`; a matrix: `M_{mn} = … for m ∈ {1 … N}, n ∈ {1 … N}` (one statement reading values, from 1, or constants); otherwise one index per family"),
                Some(third) => Diagnostic::new(
                    Code::E0403,
                    second.span.to(third.span),
                    "a family over three indices is an image with channels defined through a convolution",
                )
                .label("a second and a third index")
                .help("eq. 10.6 with channels: `h_{c,i,j} = a[β_c + ∑_{c'=1}^{C_i} ∑_{m=1}^{3} ∑_{n=1}^{3} ω_{c,c',m,n} x_{c',i+m-2,j+n-2}]   for c ∈ {1 … C_o}, i ∈ {1 … H}, j ∈ {1 … W}`, the input read at `c'`, the kernel's indices in this order"),
            };
            self.error(d);
            return;
        }
        let var = self.canonical_plain(&f.var);
        let (lo, hi) = (self.eval_int_quiet(&f.lo), self.eval_int_quiet(&f.hi));
        let next = f.next.as_ref().map(|n| (n, self.eval_int_quiet(n)));
        let (Some(lo), Some(hi), None | Some((_, Some(_)))) = (lo, hi, next) else {
            let bad = match (lo, hi, next) {
                (None, _, _) => &f.lo,
                (_, None, _) => &f.hi,
                (_, _, next) => next.map_or(&f.hi, |(n, _)| n),
            };
            self.poison_family(group);
            if !self.range_without_value(bad, "the family's range") {
                self.error(
                    Diagnostic::new(Code::E0208, bad.span, "the family's range has no value")
                        .label("must evaluate to an integer")
                        .help("a range is built from numbers and hyper-parameters with values"),
                );
            }
            return;
        };
        let range = match Range::new(lo, next.and_then(|(_, v)| v), hi) {
            Ok(r) => r,
            Err(why) => {
                self.poison_family(group);
                self.error(why.diagnostic(f.span));
                return;
            }
        };
        let count = usize::try_from(range.count).unwrap_or(usize::MAX);
        if !self.reserve(count, f.span) {
            self.poison_family(group);
            return;
        }
        if self.index_shadows(&var, f.var.span) {
            self.poison_family(group);
            return;
        }
        self.families.insert(f.span, range);
        for k in range.members() {
            self.binds.push((var.clone(), Bound::Int(k)));
            group.iter().for_each(|s| self.stmt(s));
            self.binds.pop();
        }
    }

    /// An index named like a value in scope (`param t : ℝ` and `h_t = t x for t ∈ {1 … T}`):
    /// inside the family or sum `t` would be both, so it is refused (`E0222`). True when
    /// reported.
    pub(super) fn index_shadows(&mut self, var: &str, span: Span) -> bool {
        let Some(entry) = self.scope.get(var) else {
            return false;
        };
        let defined = entry.span;
        self.error(
            Diagnostic::new(
                Code::E0222,
                span,
                format!("the index `{var}` has the name of a value in scope"),
            )
            .label("runs over a range here")
            .with(defined, format!("`{var}` is defined here"))
            .help(format!(
                "inside, `{var}` would name both the number and the value: rename the index"
            )),
        );
        true
    }

    /// A range bound with no value because of a hyper-parameter without one (reported once
    /// per hyper-parameter: later uses join the first diagnostic as labels) or an unknown
    /// name. False when neither is the cause.
    pub(super) fn range_without_value(&mut self, bad: &Expr, what: &str) -> bool {
        let mut valueless: Option<(String, Span, Option<f64>)> = None;
        let mut unknown: Option<(String, Span, ast::Name)> = None;
        crate::syntax::walk(bad, &mut |x| {
            let ExprKind::Name(n) = &x.kind else { return };
            let name = self.canonical_plain(n);
            if self.bound(&name).is_some() || name == "π" {
                return;
            }
            match self.scope.get(&name) {
                Some(Entry {
                    sym: Sym::Hyper(v), ..
                }) if valueless.is_none() && v.is_none_or(|v| v.fract() != 0.0) => {
                    valueless = Some((name, x.span, *v))
                }
                None if unknown.is_none() => unknown = Some((name, x.span, n.clone())),
                _ => {}
            }
        });
        if let Some((name, span, n)) = unknown {
            self.unknown_name(&name, span, &n);
            return true;
        }
        let Some((name, span, value)) = valueless else {
            return false;
        };
        if let Some(&i) = self.valueless.get(&name) {
            if let Some(d) = self.chk.diags.get_mut(i) {
                d.secondary.push(crate::diag::Label {
                    span,
                    message: format!("`{name}` is needed here too"),
                });
            }
            return true;
        }
        let (message, def_label) = match value {
            None => (
                format!("`{name}` has no value, so {what} cannot be evaluated"),
                "declared without a default".to_string(),
            ),
            Some(v) => (
                format!("`{name}` = {v} is not an integer, so {what} cannot be evaluated"),
                format!("{v} here"),
            ),
        };
        let mut d = Diagnostic::new(Code::E0208, span, message)
            .label("must evaluate to an integer")
            .help(format!(
                "give `{name}` {}, e.g. `model {}[{}]`, or set it with `--set {name}=3`",
                if value.is_some() {
                    "an integer value"
                } else {
                    "a default"
                },
                self.model_name,
                self.header_with(&name, "3")
            ));
        match self.hyper_defs.get(&name) {
            Some((_, true)) if value.is_some() => {
                d = d.note(format!(
                    "`{name}` is set to {} with `--set`",
                    value.unwrap_or_default()
                ));
            }
            Some((def, _)) => d = d.with(*def, def_label),
            None => {}
        }
        self.valueless.insert(name, self.chk.diags.len());
        self.error(d);
        true
    }

    /// Counts unrolled members; false (after a diagnostic) beyond [`MAX_UNROLL`]. A range
    /// that does not fit is not counted, so the ranges after it are judged on their own; the
    /// first one that does not fit is reported, later ones become labels of that report.
    pub(super) fn reserve(&mut self, count: usize, span: Span) -> bool {
        let total = self.unrolled.saturating_add(count);
        if total <= MAX_UNROLL {
            self.unrolled = total;
            return true;
        }
        let label = if count > MAX_UNROLL {
            format!("{count} members")
        } else {
            "with the ranges before it, this is too many".to_string()
        };
        if let Some(d) = self.too_large.and_then(|i| self.chk.diags.get_mut(i)) {
            if d.span != span && d.secondary.iter().all(|l| l.span != span) {
                d.secondary.push(crate::diag::Label {
                    span,
                    message: label,
                });
            }
            return false;
        }
        self.too_large = Some(self.chk.diags.len());
        self.error(
            Diagnostic::new(
                Code::E0405,
                span,
                format!("more than {MAX_UNROLL} members to unroll"),
            )
            .label(label)
            .help("write the quantity as a vector or matrix instead of one name per entry"),
        );
        false
    }
}

/// Whether two statements carry the same `for` clause (same variable, same bounds as written),
/// or define entries of one matrix (`check::entries`). The statements split into runs that
/// unroll together: consecutive statements with the same `for` clause form one run (member by
/// member), so do those defining one matrix entry by entry, every other statement a run of
/// its own.
/// Lowering walks the same runs.
/// The members of a family's range: `{lo … hi}` counts up by one, `{lo, next, …, hi}` by
/// `next − lo` (`{T, T-1, …, 1}` counts down). Checking and lowering unroll families with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    /// The first member.
    pub first: i64,
    /// The difference of consecutive members.
    pub step: i64,
    /// How many members.
    pub count: u64,
}

/// Why a range has no members list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeError {
    /// `{5 … 1}`: counting up from past the end (`{a … a-1}` is the empty range).
    Backwards { lo: i64, hi: i64 },
    /// `{1, 1, …, 4}`: the first two values are equal.
    NoStep { lo: i64 },
    /// `{1, 3, …, 8}` or `{1, 0, …, 4}`: counting by the step never reaches the last value.
    Misses { lo: i64, next: i64, hi: i64 },
}

impl Range {
    /// The range `{lo … hi}` (`next: None`) or `{lo, next, …, hi}`.
    pub(crate) fn new(lo: i64, next: Option<i64>, hi: i64) -> Result<Range, RangeError> {
        let Some(next) = next else {
            if lo > hi.saturating_add(1) {
                return Err(RangeError::Backwards { lo, hi });
            }
            let count = (i128::from(hi) - i128::from(lo) + 1) as u64;
            return Ok(Range {
                first: lo,
                step: 1,
                count,
            });
        };
        let step = i128::from(next) - i128::from(lo);
        let span = i128::from(hi) - i128::from(lo);
        if step == 0 {
            return Err(RangeError::NoStep { lo });
        }
        if span % step != 0 || span / step < 0 || i64::try_from(step).is_err() {
            return Err(RangeError::Misses { lo, next, hi });
        }
        Ok(Range {
            first: lo,
            step: step as i64,
            count: (span / step + 1) as u64,
        })
    }

    /// The members in order.
    pub(crate) fn members(self) -> impl Iterator<Item = i64> {
        (0..self.count).map(move |k| self.first + self.step * k as i64)
    }
}

impl RangeError {
    /// `E0313` at the range.
    pub(crate) fn diagnostic(self, span: Span) -> Diagnostic {
        match self {
            RangeError::Backwards { lo, hi } => Diagnostic::new(
                Code::E0313,
                span,
                format!("the range {{{lo} … {hi}}} runs backwards"),
            )
            .label("first value is past the last")
            .help(format!(
                "a range `{{a … b}}` needs a ≤ b (or b = a-1 for no members); to count down, give the second value: `{{{lo}, {}, …, {hi}}}`",
                lo - 1
            )),
            RangeError::NoStep { lo } => Diagnostic::new(
                Code::E0313,
                span,
                format!("the range's first two values are both {lo}"),
            )
            .label("no step between them")
            .help("`{a, b, …, c}` counts from a by b − a: write `{a … c}` to count by one"),
            RangeError::Misses { lo, next, hi } => Diagnostic::new(
                Code::E0313,
                span,
                format!("counting {lo}, {next}, … never reaches {hi}"),
            )
            .label(format!("steps of {} from {lo}", i128::from(next) - i128::from(lo)))
            .help("the last value must be the first plus a whole number of steps"),
        }
    }
}

pub(crate) fn family_runs(stmts: &[ast::Stmt]) -> Vec<&[ast::Stmt]> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < stmts.len() {
        let mut j = i + 1;
        while j < stmts.len() && same_family(&stmts[i], &stmts[j]) {
            j += 1;
        }
        runs.push(&stmts[i..j]);
        i = j;
    }
    runs
}

fn same_family(a: &ast::Stmt, b: &ast::Stmt) -> bool {
    match (&a.family, &b.family) {
        (Some(_), Some(_)) if super::entries::same_matrix(a, b) => true,
        (Some(x), Some(y)) => {
            x.second.is_none()
                && y.second.is_none()
                && dump::name(&x.var) == dump::name(&y.var)
                && dump::expr(&x.lo) == dump::expr(&y.lo)
                && dump::expr(&x.hi) == dump::expr(&y.hi)
                && x.next.as_ref().map(dump::expr) == y.next.as_ref().map(dump::expr)
        }
        _ => false,
    }
}
