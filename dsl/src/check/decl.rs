//! Declared types: `ℝ^{D×E}`, tensors `ℝ^{C×H×W}` and `ℝ^{C_o×C_i×K×L}`, and label sets with their dimensions (symbolic polynomials over
//! hyper-parameters, with a value when they have one), initialisers and noise distributions.

use super::builtins::{self, Distribution};
use super::shape::{Dim, Labels, Poly, Shape, Val};
use super::{Bound, Entry, ModelCx, Sym};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::Init;

impl ModelCx<'_, '_> {
    /// A parameter declared `lower triangular`, `unit lower triangular`, `strictly upper
    /// triangular` or `diagonal` (eq. 16.9): a square matrix, started by the compiler (the
    /// identity plus small noise inside its structure, zero outside), so no initialiser.
    pub(super) fn structure(
        &mut self,
        v: &mut Val,
        st: &ast::Structure,
        p: &ast::ParamItem,
    ) -> bool {
        let words = st.words();
        let square = match &v.shape {
            Shape::Mat(a, b) => a.sym == b.sym || (a.value.is_some() && a.value == b.value),
            _ => false,
        };
        if !square {
            self.error(
                Diagnostic::new(
                    Code::E0321,
                    st.span,
                    format!(
                        "only a square matrix is {words}, but {} is {}",
                        self.snippet(p.name.span),
                        v.shape.describe()
                    ),
                )
                .label(format!("`{words}` needs ℝ^{{D×D}}"))
                .help(format!(
                    "declare a square matrix, e.g. `param L : ℝ^{{D×D}} {words}`"
                )),
            );
            return false;
        }
        if let Some(init) = &p.init {
            self.error(
                Diagnostic::new(
                    Code::E0321,
                    init.span,
                    format!("a parameter declared {words} starts at the identity plus small noise inside its structure, not at an initialiser"),
                )
                .label("an initialiser")
                .help(format!("remove the initialiser: the entries outside the structure start at zero and stay zero, so {} is {words} throughout training", self.snippet(p.name.span))),
            );
            return false;
        }
        match (st.below, st.above) {
            (true, false) => v.structure = super::shape::Structure::Lower,
            (false, true) => v.structure = super::shape::Structure::Upper,
            _ => v.diagonal = true,
        }
        true
    }

    pub(super) fn ty(&mut self, t: &ast::Type) -> Option<Val> {
        match &t.kind {
            ast::TypeKind::Real(dims) => {
                let shape = self.dims(dims, t.span)?;
                Some(Val::global(shape))
            }
            ast::TypeKind::Label { set, dims } => {
                let shape = self.dims(dims, t.span)?;
                let labels = match set {
                    ast::LabelSet::Range(lo, hi) => {
                        let lo_i = self.eval_num(lo)? as i64;
                        let count = self.dim(hi)?;
                        // {lo … hi} has hi - lo + 1 classes.
                        let sym = count.sym.add(&Poly::constant(1 - lo_i), 1);
                        let value = count.value.map(|h| h - lo_i + 1);
                        Labels {
                            lo: lo_i,
                            count: Dim {
                                sym,
                                value,
                                wild: false,
                            },
                        }
                    }
                    ast::LabelSet::Set(items) => {
                        let vals: Vec<Option<f64>> =
                            items.iter().map(|e| self.eval_num(e)).collect();
                        let ints: Vec<i64> = vals.iter().flatten().map(|v| *v as i64).collect();
                        let lo = ints.iter().copied().min().unwrap_or(0);
                        let hi = ints.iter().copied().max().unwrap_or(0);
                        let contiguous = (hi - lo + 1) as usize == ints.len();
                        if !contiguous {
                            self.error(
                                Diagnostic::new(
                                    Code::E0309,
                                    t.span,
                                    "label values must be consecutive integers",
                                )
                                .label("not of the form {a, a+1, …}")
                                .help("class labels are consecutive integers, e.g. `{0, 1}` or `{0 … K-1}`"),
                            );
                            return None;
                        }
                        Labels {
                            lo,
                            count: Dim::constant(hi - lo + 1),
                        }
                    }
                };
                Some(Val {
                    shape,
                    per_example: false,
                    labels: Some(labels),
                    diagonal: false,
                    structure: Default::default(),
                })
            }
        }
    }

    fn dims(&mut self, dims: &[ast::Dim], span: Span) -> Option<Shape> {
        let ds: Vec<Option<Dim>> = dims.iter().map(|d| self.dim(&d.expr)).collect();
        if ds.iter().any(Option::is_none) {
            return None;
        }
        let mut ds: Vec<Dim> = ds.into_iter().flatten().collect();
        match ds.len() {
            0 => Some(Shape::Scalar),
            1 => ds.pop().map(Shape::Col),
            2 => {
                let b = ds.pop()?;
                let a = ds.pop()?;
                Some(Shape::Mat(a, b))
            }
            3 | 4 => Some(Shape::Tensor(ds)),
            n => {
                self.error(
                    Diagnostic::new(
                        Code::E0312,
                        span,
                        format!("{n} dimensions: at most four (an image with channels `ℝ^{{C×H×W}}`, a kernel `ℝ^{{C_o×C_i×K×L}}`)"),
                    )
                    .label("too many dimensions"),
                );
                None
            }
        }
    }

    /// A dimension expression: a polynomial over hyper-parameters, with its value.
    pub(super) fn dim(&mut self, e: &Expr) -> Option<Dim> {
        let sym = self.dim_poly(e)?;
        let value = self.eval_quiet(e);
        let value = match value {
            None => None,
            Some(v) if v.fract() == 0.0 && (1.0..1e12).contains(&v) => Some(v as i64),
            Some(v) => {
                self.bad_dimension(e, v);
                return None;
            }
        };
        Some(Dim {
            sym,
            value,
            wild: false,
        })
    }

    /// A dimension whose value is not a positive integer. When it is a hyper-parameter, its
    /// default is at fault: that is reported once, at the definition, with the first use.
    fn bad_dimension(&mut self, e: &Expr, v: f64) {
        let mut inner = e;
        while let ExprKind::Paren(x) = &inner.kind {
            inner = x;
        }
        let hyper = match &inner.kind {
            ExprKind::Name(n) if self.bound(&self.canonical_plain(n)).is_none() => {
                let name = self.canonical_plain(n);
                self.hyper_defs.get(&name).map(|d| (name, *d))
            }
            _ => None,
        };
        let Some((name, (def, overridden))) = hyper else {
            self.error(
                Diagnostic::new(
                    Code::E0309,
                    e.span,
                    format!("a dimension must be a positive integer, not {v}"),
                )
                .label("evaluates to this"),
            );
            return;
        };
        if !self.bad_hypers.insert(name.clone()) {
            return;
        }
        let label = if overridden {
            format!("set to {v} with `--set {name}=…`")
        } else {
            "not a positive integer".to_string()
        };
        self.error(
            Diagnostic::new(
                Code::E0309,
                def,
                format!("`{name}` = {v} is used as a dimension, but a dimension must be a positive integer"),
            )
            .label(label)
            .with(e.span, "used as a dimension here"),
        );
    }

    fn dim_poly(&mut self, e: &Expr) -> Option<Poly> {
        match &e.kind {
            ExprKind::Number(v) if v.fract() == 0.0 && v.abs() < 1e12 => {
                Some(Poly::constant(*v as i64))
            }
            ExprKind::Paren(x) => self.dim_poly(x),
            ExprKind::Name(n) => {
                let name = self.canonical_plain(n);
                if let Some(Bound::Int(v)) = self.bound(&name) {
                    return Some(Poly::constant(v));
                }
                match self.scope.get(&name) {
                    Some(Entry {
                        sym: Sym::Hyper(_), ..
                    }) => Some(Poly::var(&name)),
                    Some(_) => {
                        self.error(
                            Diagnostic::new(
                                Code::E0312,
                                e.span,
                                format!("`{name}` is not a hyper-parameter"),
                            )
                            .label("dimensions are built from hyper-parameters and numbers"),
                        );
                        None
                    }
                    None => {
                        self.unknown_name(&name, e.span, n);
                        None
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.dim_poly(lhs), self.dim_poly(rhs));
                let (a, b) = (a?, b?);
                match op {
                    ast::BinOp::Add => Some(a.add(&b, 1)),
                    ast::BinOp::Sub => Some(a.add(&b, -1)),
                    ast::BinOp::Div => match (a.as_constant(), b.as_constant()) {
                        (Some(x), Some(y)) if y != 0 && x % y == 0 => Some(Poly::constant(x / y)),
                        _ => {
                            self.error(
                                Diagnostic::new(
                                    Code::E0312,
                                    e.span,
                                    "a dimension cannot be divided",
                                )
                                .label("division in a dimension")
                                .help("add a hyper-parameter for the quotient, e.g. `[D_h = 32]`"),
                            );
                            None
                        }
                    },
                    _ => Some(a.mul(&b)),
                }
            }
            _ => {
                self.error(
                    Diagnostic::new(Code::E0312, e.span, "not a dimension")
                        .label("expected a number or a hyper-parameter"),
                );
                None
            }
        }
    }

    /// A parameter's initialiser (`= 0`, `~ He`, `~ Norm[0, 0.01]`), resolved for lowering
    /// (`ModelInfo::inits`): `Init::Default` where it is refused.
    pub(super) fn init(&mut self, init: &ast::Init) -> Init {
        if !init.random {
            let word = match &init.expr.kind {
                ExprKind::Name(n) | ExprKind::Call { func: n, .. } => Some(n.word.as_str()),
                _ => None,
            };
            if word.and_then(builtins::distribution).is_none() {
                return self.eval_num(&init.expr).map_or(Init::Default, Init::Const);
            } else {
                self.error(
                    Diagnostic::new(
                        Code::E0314,
                        init.span,
                        "`=` sets a parameter to a constant number",
                    )
                    .label("not a number")
                    .help("for a random initialiser write `~ He`, `~ Glorot`, `~ Norm[0, 0.01]`"),
                );
            }
            return Init::Default;
        }
        self.distribution(&init.expr)
    }

    /// `He`, `Glorot`, `LeCun`, `Norm[μ, σ²]`, `Uniform[a, b]`, `Bernoulli[p]`, resolved for
    /// lowering with its arguments evaluated (the identity `I` as a variance, `Norm[0, I]`, is
    /// 1: entries are drawn independently); `Init::Default` where it is refused.
    pub(super) fn distribution(&mut self, e: &Expr) -> Init {
        let resolved = self.distribution_checked(e);
        let Some((dist, args)) = resolved else {
            return Init::Default;
        };
        let nums: Vec<Option<f64>> = args
            .iter()
            .map(|a| {
                if builtins::is_identity(a) {
                    Some(1.0)
                } else {
                    self.eval_quiet(a)
                }
            })
            .collect();
        match (dist, nums.as_slice()) {
            (Distribution::He, _) => Init::He,
            (Distribution::Glorot, _) => Init::Glorot,
            (Distribution::LeCun, _) => Init::LeCun,
            (Distribution::Norm, [Some(mean), Some(variance)]) => Init::Normal {
                mean: *mean,
                variance: *variance,
            },
            (Distribution::Uniform, [Some(lo), Some(hi)]) => Init::Uniform { lo: *lo, hi: *hi },
            (Distribution::Bernoulli, [Some(p)]) => Init::Bernoulli { p: *p },
            // Arguments refused above.
            (Distribution::Norm | Distribution::Uniform | Distribution::Bernoulli, _) => {
                Init::Default
            }
        }
    }

    /// Checks a distribution: which one, and its arguments as written.
    fn distribution_checked<'e>(&mut self, e: &'e Expr) -> Option<(Distribution, &'e [Expr])> {
        let (word, args, span) = match &e.kind {
            ExprKind::Name(n) => (n.word.as_str(), None, n.span),
            ExprKind::Call { func, args } => (func.word.as_str(), Some(args), func.span),
            _ => {
                self.error(
                    Diagnostic::new(Code::E0314, e.span, "expected an initialiser or a distribution")
                        .label("after `~`")
                        .help("write `~ He`, `~ Glorot`, `~ LeCun`, `~ Norm[0, σ²]` or `~ Uniform[a, b]`; `= 0` for a constant"),
                );
                return None;
            }
        };
        let Some(dist) = builtins::distribution(word) else {
            let mut d = Diagnostic::new(Code::E0213, span, format!("unknown initialiser `{word}`"))
                .label("not an initialiser")
                .note(format!(
                    "the initialisers are {}",
                    builtins::initialiser_names().collect::<Vec<_>>().join(", ")
                ));
            if let Some(c) = builtins::suggest_initialiser(word) {
                d = d.help(format!("did you mean `{c}`?"));
            }
            self.error(d);
            return None;
        };
        let arity = dist.arity();
        let needs_args = arity > 0;
        match (needs_args, args) {
            (true, Some(a)) if dist == builtins::Distribution::Bernoulli && a.len() == 1 => {
                if self
                    .eval_quiet(&a[0])
                    .is_none_or(|p| !(0.0..=1.0).contains(&p))
                {
                    self.error(
                        Diagnostic::new(
                            Code::E0314,
                            a[0].span,
                            "`Bernoulli[p]` needs a probability `p` between 0 and 1",
                        )
                        .label("not a number in [0, 1]"),
                    );
                }
            }
            (true, Some(a)) if arity == 2 && a.len() == 2 => {
                for x in a {
                    // `I` (the identity) and numbers or hyper-parameters.
                    if !builtins::is_identity(x) && self.eval_quiet(x).is_none() {
                        self.error(
                            Diagnostic::new(
                                Code::E0314,
                                x.span,
                                "a distribution's parameters must be numbers",
                            )
                            .label("not a number or hyper-parameter"),
                        );
                    }
                }
            }
            (true, _) => {
                let given = args.map_or(0, Vec::len);
                let form = dist.form();
                self.error(
                    Diagnostic::new(
                        Code::E0204,
                        e.span,
                        format!(
                            "`{word}` takes {arity} argument{}, but {given} {} given",
                            if arity == 1 { "" } else { "s" },
                            if given == 1 { "was" } else { "were" }
                        ),
                    )
                    .label(format!("expected `{word}{form}`")),
                )
            }
            (false, Some(_)) => self.error(
                Diagnostic::new(Code::E0204, e.span, format!("`{word}` takes no arguments"))
                    .label(format!("write `~ {word}`")),
            ),
            (false, None) => {}
        }
        Some((dist, args.map_or(&[][..], Vec::as_slice)))
    }
}
