//! Tables indexed by labels (chapter 19): `q[s_i, a_i]` is the entry of a fixed matrix
//! `q ∈ ℝ^{S×A}` in the row of the state `s ∈ {1 … S}` and the column of the action
//! `a ∈ {1 … A}`, `v[s_i]` the entry of a vector `v ∈ ℝ^{S}` — the book's tabular action
//! values `q[s_t, a_t]` (eq. 19.15) and state values `v[s_t]`, written as printed. An index is
//! a label (data declared with a label set, one per example) or a number (`q[s'_i, a]` inside
//! `max_a`, which runs over the table's columns); at least one is a label, else the brackets
//! are a call and a value that is no function is `E0205`. The labels' count must be the
//! axis' length and a number within it (`E0330`). A frozen mark, `q⁻[s'_i, a]`, reads the
//! table's frozen copy (`ir::lower::rl`).
//!
//! A *table of labels*, `π : {1 … A}^{S} = 1`, holds a label per entry: a deterministic
//! policy's action per state (eqs. 19.11–19.12). Looked up with a label per example, `π[s]`
//! is a label of its set and indexes another table (`r[s, π[s]]`) or the dynamics
//! (`Pr(s'|s, π[s])`) as a label input does (`table_ix`).
//!
//! A number observed per example (an input `r : ℝ`) looked up with the example's own labels,
//! `r[s_t, a_t]`, is that number: the reward received for taking `a_t` in `s_t` (eqs.
//! 19.14–19.16 write the transition's reward so). Labels of another step (`r[s'_t, a_t]`)
//! are `E0245`: the transition observed no reward there.
//!
//! A row of a matrix named by its lower-case letter, `u_i` with `U ∈ ℝ^{M×K}` and a label
//! `i ∈ {1 … M}` (the course notes' matrix factorisation, `u_iᵀ v_j`), is row `i` of `U` as a
//! column, the `K` latent factors of the example's `i`: the notes' `U` has one row per user, so
//! the label counts the rows (`row`). A label that counts the columns instead, or a name `u`
//! declared beside `U` (then `u_i` could be component `i` of `u`), is `E0332`, with the
//! readings shown.

use super::expr::Ix;
use super::shape::{Dim, Shape, Val};
use super::{Entry, ModelCx, Sym};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};

impl ModelCx<'_, '_> {
    /// The value of a table lookup: `None` when `fname[args]` is not one (a function call),
    /// `Some(None)` when it is and was reported.
    pub(super) fn table(
        &mut self,
        fname: &ast::Name,
        args: &[Expr],
        span: Span,
    ) -> Option<Option<Val>> {
        if !fname.sub.is_empty() {
            return None;
        }
        let mut thawed = fname.clone();
        thawed.frozen = false;
        let name = self.canonical_plain(&thawed);
        if let Some(Entry {
            sym: Sym::Data(_, v),
            ..
        }) = self.scope.get(&name)
            && v.per_example
            && v.labels.is_none()
            && matches!(v.shape, Shape::Scalar)
        {
            return self.observed(v.clone(), &name, args);
        }
        let v = match self.scope.get(&name) {
            Some(Entry {
                sym: Sym::Param(v, _) | Sym::Value(v),
                ..
            }) if !v.per_example => v.clone(),
            None => self.env_table(&name)?,
            _ => return None,
        };
        let dims = match &v.shape {
            Shape::Col(d) => vec![d.clone()],
            Shape::Mat(r, c) => vec![r.clone(), c.clone()],
            _ => return None,
        };
        let ixs: Vec<Option<Ix>> = args.iter().map(|a| self.table_ix(a)).collect();
        let labels = ixs.iter().any(|i| matches!(i, Some(Ix::Label(..))));
        if !labels && !ixs.iter().all(|i| matches!(i, Some(Ix::Int(_)))) {
            return None;
        }
        let written = self
            .src()
            .get(fname.span.range())
            .unwrap_or(name.as_str())
            .to_string();
        let form = if dims.len() == 1 {
            format!("`{written}[s]`")
        } else {
            format!("`{written}[s, a]`")
        };
        if dims.len() != args.len() {
            self.error(
                Diagnostic::new(
                    Code::E0330,
                    span,
                    format!(
                        "`{written}` is a table {}, looked up with {} {}",
                        v.shape.describe(),
                        args.len(),
                        if args.len() == 1 { "index" } else { "indices" }
                    ),
                )
                .label(format!("{} expected", dims.len()))
                .help(format!(
                    "a table takes one label or number per axis: {form}, each counted from the first label"
                )),
            );
            return Some(None);
        }
        let mut ok = true;
        for ((ix, d), arg) in ixs.iter().zip(&dims).zip(args) {
            let problem = match ix {
                Some(Ix::Int(k)) => d
                    .value
                    .filter(|&n| *k < 1 || *k > n)
                    .map(|n| format!("entry {k} of an axis of {n}")),
                Some(Ix::Label(l, text)) if !l.count.same(d) => {
                    let n = |d: &super::shape::Dim| {
                        d.value.map_or(d.sym.to_string(), |n| n.to_string())
                    };
                    Some(format!(
                        "`{text}` has {} labels for an axis of {}",
                        n(&l.count),
                        n(d)
                    ))
                }
                Some(Ix::Label(..)) => None,
                None => {
                    ok = false;
                    continue;
                }
                Some(_) => Some("not a label or a number".to_string()),
            };
            if let Some(p) = problem {
                ok = false;
                self.error(
                    Diagnostic::new(
                        Code::E0330,
                        arg.span,
                        format!("this index does not fit the table `{written}` ({p})"),
                    )
                    .label(p)
                    .help(format!(
                        "{form} reads the entry in the row of the label `s` and the column of `a`: declare each as data with a label set of its axis' size (`input s : {{1 … S}}`), or give a number within the axis"
                    )),
                );
            }
        }
        Some(ok.then_some(Val {
            shape: Shape::Scalar,
            per_example: labels,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        }))
    }
}

impl ModelCx<'_, '_> {
    /// `r[s_t, a_t]` of a number observed per example: the number, when every index is a
    /// label of the step itself (unprimed); `None` when an index is no label (a call).
    fn observed(&mut self, v: Val, name: &str, args: &[Expr]) -> Option<Option<Val>> {
        let ixs: Vec<Option<Ix>> = args.iter().map(|a| self.ix(a)).collect();
        if !ixs.iter().all(|i| matches!(i, Some(Ix::Label(..)))) {
            return None;
        }
        for (ix, arg) in ixs.iter().zip(args) {
            if let Some(Ix::Label(_, text)) = ix
                && text.contains('\'')
            {
                let written = self.src().get(arg.span.range()).unwrap_or(text.as_str());
                self.error(
                    Diagnostic::new(
                        Code::E0245,
                        arg.span,
                        format!("`{name}` is observed for the step's own labels, not for `{written}`"),
                    )
                    .label("another step's label")
                    .help(format!("`{name}[s_t, a_t]` is the number the transition observed after taking `a_t` in `s_t`; a table of expected values is a parameter or value `{name} : ℝ^{{S×A}}`")),
                );
                return Some(None);
            }
        }
        Some(Some(v))
    }
}

impl ModelCx<'_, '_> {
    /// `u_i`: row `i` of the matrix `U` (one row per label of `i`), as a column per example;
    /// `None` when the name is no such reading (no matrix `U`, or `i` no label), `Some(None)`
    /// when it is and was refused.
    pub(super) fn row(&mut self, n: &ast::Name, items: &[Ix], span: Span) -> Option<Option<Val>> {
        let ([Ix::Label(labels, text)], None, false) = (items, &n.node, n.frozen) else {
            return None;
        };
        let mut letters = n.word.chars();
        let (Some(c), None) = (letters.next(), letters.next()) else {
            return None;
        };
        let upper: String = c.to_uppercase().collect();
        if !c.is_lowercase() || upper == n.word {
            return None;
        }
        let matrix = crate::names::build(&upper, n.primes, false, &[]);
        let (rows, cols) = match self.scope.get(&matrix) {
            Some(Entry {
                sym: Sym::Param(v, _) | Sym::Value(v),
                ..
            }) if !v.per_example => match &v.shape {
                Shape::Mat(r, c) => (r.clone(), c.clone()),
                _ => return None,
            },
            _ => return None,
        };
        let word = crate::names::build(&n.word, n.primes, false, &[]);
        let written = format!("{word}_{text}");
        let count = |d: &Dim| d.value.map_or(d.sym.to_string(), |v| v.to_string());
        let readings = format!(
            "`{written}` reads row `{text}` of `{matrix}` as a column, one row per label of `{text}` (`{matrix}` has {} rows of {} entries)",
            count(&rows),
            count(&cols)
        );
        let problem = if self.scope.contains_key(&word) {
            Some((
                format!(
                    "`{written}` could be component `{text}` of `{word}` or row `{text}` of `{matrix}`"
                ),
                "two readings".to_string(),
                format!(
                    "{readings}, or component `{text}` of the declared `{word}`: rename one of them"
                ),
            ))
        } else if labels.count.same(&rows) {
            None
        } else if labels.count.same(&cols) {
            Some((
                format!("`{text}` counts the columns of `{matrix}`, not its rows"),
                format!("{} labels, {} columns", count(&labels.count), count(&cols)),
                format!(
                    "{readings}; column `{text}` is not read so: declare `{matrix}` with one row per label of `{text}` (its transpose), as the notes' U has a row per user"
                ),
            ))
        } else {
            Some((
                format!(
                    "`{text}` has {} labels for the {} rows of `{matrix}`",
                    count(&labels.count),
                    count(&rows)
                ),
                "one label per row".to_string(),
                readings,
            ))
        };
        if let Some((message, label, help)) = problem {
            self.error(
                Diagnostic::new(Code::E0332, span, message)
                    .label(label)
                    .help(help),
            );
            return Some(None);
        }
        Some(Some(Val {
            shape: Shape::Col(cols),
            per_example: true,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        }))
    }

    /// A parameter declared as a vector of labels, `π : {1 … A}^{S} = 1`: a table of labels,
    /// one per state (a deterministic policy's actions, §19.3.1). It starts at one label of its
    /// set, `= k` (`E0227` otherwise); a rule writes it with an `argmax` over its labels
    /// (`update`, `E0228`), and a table looked up at `π[s]` reads the entry of that label.
    pub(super) fn label_table(&mut self, v: &Val, p: &ast::ParamItem) -> bool {
        let Some(labels) = &v.labels else {
            return true;
        };
        let (lo, n) = (labels.lo, labels.count.value);
        let start = p
            .init
            .as_ref()
            .filter(|i| !i.random)
            .and_then(|i| self.eval_num(&i.expr));
        let fits = match (start, n) {
            (Some(k), Some(n)) => k.fract() == 0.0 && k >= lo as f64 && k < (lo + n) as f64,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !fits {
            let span = p.init.as_ref().map_or(p.ty.span, |i| i.span);
            self.error(
                Diagnostic::new(
                    Code::E0227,
                    span,
                    "a table of labels starts at one of its labels",
                )
                .label(if p.init.is_some() { "not one of its labels" } else { "no start" })
                .help(format!("a table of labels holds one label per entry (a deterministic policy's action per state): start it at one, `= {lo}`")),
            );
        }
        fits
    }

    /// The parameter `name`'s label set when it is a table of labels (`π : {1 … A}^{S}`).
    pub(super) fn labels_of_table(&self, name: &str) -> Option<super::shape::Labels> {
        match self.scope.get(name) {
            Some(Entry {
                sym: Sym::Param(v, _),
                ..
            }) if matches!(v.shape, Shape::Col(_)) => v.labels.clone(),
            _ => None,
        }
    }

    /// An index of a table or of `Pr(s'|s, a)`: a label, a number, or the entry of a table of
    /// labels looked up with a label per example, `π[s]` (`r[s, π[s]]`, the reward of the
    /// policy's action), read as a label of its set. A lookup of `π` with numbers only is
    /// `E0229` (one label for every example; write the number).
    pub(super) fn table_ix(&mut self, e: &Expr) -> Option<Ix> {
        let ExprKind::Call { func, args } = &e.kind else {
            return self.ix(e);
        };
        if !func.sub.is_empty() || func.frozen {
            return self.ix(e);
        }
        let name = self.canonical_plain(func);
        if matches!(
            self.scope.get(&name),
            Some(Entry {
                sym: Sym::Poisoned,
                ..
            })
        ) {
            // Its declaration was reported.
            return None;
        }
        let Some(labels) = self.labels_of_table(&name) else {
            return self.ix(e);
        };
        let v = self.table(func, args, e.span)??;
        let text = self.src().get(e.span.range()).unwrap_or(&name).to_string();
        if !v.per_example {
            self.error(
                Diagnostic::new(
                    Code::E0229,
                    e.span,
                    format!("`{text}` is one label for every example"),
                )
                .label("not looked up with a label")
                .help(format!("a table of labels used as an index is looked up with each example's label, `{name}[s]`; for one entry, write its label as a number")),
            );
            return None;
        }
        Some(Ix::Label(labels, text))
    }
}
