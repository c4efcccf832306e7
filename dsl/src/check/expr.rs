//! Checking expressions: names, subscripts, calls, operators and big operators.
//!
//! Each method returns the [`Val`] of its expression, or `None` after reporting an error (or
//! when an operand already failed, so that one mistake is reported once).

use super::builtins::{self, Builtin, Kind};
use super::shape::{Dim, Labels, Shape, Structure, Val};
use super::{Bound, Entry, Func, ModelCx, Sym};
use crate::ast::{self, BigOp, BinOp, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::names;
use crate::resolve::{ItemKind, Step, Sub};
use crate::syntax::walk;

/// A subscript item, evaluated.
#[derive(Clone, Debug)]
pub(super) enum Ix {
    /// A number, or a family variable or hyper-parameter with a value.
    Int(i64),
    /// The example index of an enclosing `∑_i`.
    Batch(String),
    /// The index of `∑_j φ_j²`.
    ParamIndex(String),
    /// A class label (`y_i`), which selects the component of its class.
    Label(Labels, String),
    /// Anything else: part of a longer name (`D_{in}`).
    Text(String),
}

impl Ix {
    /// What the walk of a name's prefix needs of the item.
    fn kind(&self) -> ItemKind {
        match self {
            Ix::Int(v) => ItemKind::Int(*v),
            Ix::Batch(_) => ItemKind::Batch,
            _ => ItemKind::Other,
        }
    }

    fn text(&self) -> String {
        match self {
            Ix::Int(v) => v.to_string(),
            Ix::Batch(s) | Ix::ParamIndex(s) | Ix::Label(_, s) | Ix::Text(s) => s.clone(),
        }
    }
}

impl ModelCx<'_, '_> {
    /// The source text of a span, or "this" when it is long.
    pub(super) fn snippet(&self, span: Span) -> String {
        let text = self.src().get(span.range()).unwrap_or("").trim();
        if text.is_empty() || text.chars().count() > 40 || text.contains('\n') {
            "this".to_string()
        } else {
            format!("`{text}`")
        }
    }

    /// The source text of an expression when it is short enough to quote in a help line.
    pub(super) fn code(&self, e: &Expr) -> Option<String> {
        let text = self.src().get(e.span.range()).unwrap_or("").trim();
        (!text.is_empty() && text.chars().count() <= 40 && !text.contains('\n'))
            .then(|| text.to_string())
    }

    /// The source text of an expression's transpose: `xᵀ`, or `(Ω h)ᵀ` for a compound one.
    fn transposed(&self, e: &Expr) -> Option<String> {
        let text = self.code(e)?;
        Some(match &e.kind {
            ExprKind::Name(_) | ExprKind::Call { .. } | ExprKind::Paren(_) | ExprKind::Norm(_) => {
                format!("{text}ᵀ")
            }
            _ => format!("({text})ᵀ"),
        })
    }

    pub(super) fn expr(&mut self, e: &Expr) -> Option<Val> {
        match &e.kind {
            ExprKind::Number(v) => {
                if !v.is_finite() {
                    self.error(
                        Diagnostic::new(Code::E0103, e.span, "this number is too large")
                            .label("not a finite number"),
                    );
                    return None;
                }
                Some(Val::scalar())
            }
            ExprKind::Name(n) => self.name_value(n, e.span),
            ExprKind::Ones => Some(Val::global(Shape::Col(Dim::wild()))),
            ExprKind::Identity => Some(Val {
                diagonal: true,
                structure: Default::default(),
                ..Val::global(Shape::Mat(Dim::wild(), Dim::wild()))
            }),
            ExprKind::BatchSize => Some(Val::scalar()),
            ExprKind::Paren(x) => self.expr(x),
            ExprKind::Neg(x) | ExprKind::Sqrt(x) => self.expr(x).map(|v| Val {
                labels: None,
                // `-(A B)` is no product of triangles any more (its determinant has a sign).
                structure: match v.structure {
                    Structure::Factored => Structure::General,
                    other => other,
                },
                ..v
            }),
            ExprKind::Transpose(x) => self.transpose(x),
            ExprKind::Norm(x) => match &x.kind {
                // `‖∂L/∂φ‖`: a gradient with respect to parameters is read through its norm.
                ExprKind::Deriv { of, wrt } => self.deriv(of, wrt, x.span, true),
                _ => self.expr(x),
            }
            .map(|v| Val {
                shape: Shape::Scalar,
                per_example: v.per_example,
                labels: None,
                diagonal: false,
                structure: Default::default(),
            }),
            ExprKind::Power(b, p) => self.power(b, p, e.span),
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.expr(lhs), self.expr(rhs));
                let (a, b) = (a?, b?);
                let mut v = self.binary(*op, &a, &b, lhs, rhs)?;
                v.diagonal = diagonal_result(*op, &a, &b);
                v.structure = structure_result(*op, &a, &b);
                self.square_beside_identity(*op, lhs, rhs, &v.shape, e.span)
                    .then_some(v)
            }
            ExprKind::Call { func, args } => self.call(func, args, e.span),
            ExprKind::Stack(rows) => self.stack(rows, e.span),
            ExprKind::Big {
                op,
                binder,
                upper,
                body,
            } => self.big(*op, binder.as_ref(), upper.as_deref(), body, e.span),
            ExprKind::Prob { event, given } => self.prob(event, given, e.span),
            ExprKind::Deriv { of, wrt } => self.deriv(of, wrt, e.span, false),
        }
    }

    /// `xᵀ`: a vector or a matrix transposed (a tensor is E0304); a triangle changes side.
    fn transpose(&mut self, x: &Expr) -> Option<Val> {
        let v = self.expr(x)?;
        if let Shape::Tensor(_) = v.shape {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    x.span,
                    format!(
                        "`ᵀ` transposes a vector or a matrix, but {} is {}",
                        self.snippet(x.span),
                        v.shape.describe()
                    ),
                )
                .label(v.shape.numeric()),
            );
            return None;
        }
        Some(Val {
            shape: v.shape.transpose(),
            per_example: v.per_example,
            labels: None,
            diagonal: v.diagonal,
            structure: match v.structure {
                Structure::Lower => Structure::Upper,
                Structure::Upper => Structure::Lower,
                other => other,
            },
        })
    }

    /// `a^p`: a scalar exponent (E0310), entry-wise on vectors; a matrix's power is the
    /// matrix power, compiled only for a diagonal matrix (`matrix_power` reports the rest).
    fn power(&mut self, b: &Expr, p: &Expr, span: Span) -> Option<Val> {
        // Lowering's reading: a power by a number, or a positive constant base to a
        // computed power (`β^{t+1}`).
        if self.eval_recorded(p).is_none() {
            self.eval_recorded(b);
        }
        let (bv, pv) = (self.expr(b), self.expr(p));
        let (bv, pv) = (bv?, pv?);
        if !pv.shape.is_scalar() {
            self.error(
                Diagnostic::new(
                    Code::E0310,
                    p.span,
                    format!(
                        "an exponent must be a scalar, but this is {}",
                        pv.shape.describe()
                    ),
                )
                .label("not a scalar")
                .help("`a^b` raises every entry to one scalar power; for a power per entry write `exp[b ⊙ log[a]]`, and `log[a^b]` is `b ⊙ log[a]`"),
            );
            return None;
        }
        if let Shape::Mat(..) = bv.shape
            && !bv.diagonal
        {
            self.matrix_power(b, p, &bv.shape, span);
            return None;
        }
        // A power of a diagonal matrix (`D^{-1/2}`, eq. 13.20) is the power of each
        // diagonal entry: diagonal again.
        Some(Val {
            diagonal: bv.diagonal,
            structure: Default::default(),
            ..Val::with_shape(bv.shape.clone(), &bv, &pv)
        })
    }

    /// `Ω^{-1}`, `Ω²`, `A^{-1/2}`: in the book a power of a matrix is the matrix power (the
    /// inverse for `-1`), not a power of each entry; only a diagonal matrix's is compiled.
    fn matrix_power(&mut self, b: &Expr, p: &Expr, shape: &Shape, span: Span) {
        let base = self.code(b).unwrap_or_else(|| "Ω".to_string());
        let exponent = self.eval_quiet(p);
        let inverse = exponent == Some(-1.0);
        let diagonal_help = "only a diagonal matrix has a power here (of each diagonal entry): the degree matrix of eq. 13.18–13.20 is `D = diag[A 𝟏]`, then `D^{-1}`, `D^{-1/2}`";
        let (msg, help) = if exponent.is_some_and(|e| e.fract() != 0.0) {
            (
                format!(
                    "`{base}` : {} is not a diagonal matrix, and a fractional power of any other matrix is not supported",
                    shape.describe()
                ),
                diagonal_help.to_string(),
            )
        } else if inverse {
            (
                format!(
                    "`{base}^{{-1}}` is the inverse of the matrix {}, which is not supported yet",
                    shape.describe()
                ),
                format!("for the reciprocal of each entry write `1 / {base}`; {diagonal_help}"),
            )
        } else {
            (
                format!(
                    "a power of the matrix `{base}` : {} is a matrix power (`{base}²` = `{base} {base}`), which is not supported yet",
                    shape.describe()
                ),
                format!(
                    "for the matrix product write `{base} {base}`; for the square of each entry `{base} ⊙ {base}`"
                ),
            )
        };
        self.error(
            Diagnostic::new(Code::E0316, span, msg)
                .label("a power of a matrix")
                .help(help),
        );
    }

    // ------------------------------------------------------------------ operators

    fn binary(&mut self, op: BinOp, a: &Val, b: &Val, lhs: &Expr, rhs: &Expr) -> Option<Val> {
        let (sa, sb) = (&a.shape, &b.shape);
        let span = lhs.span.to(rhs.span);
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Hadamard | BinOp::Div => {
                if sa.same(sb) {
                    return Some(Val::with_shape(sa.unify(sb), a, b));
                }
                // `ℝ^{1×N}` is the row vector `ℝ^{N}ᵀ` (`β_K 𝟏ᵀ + ω_K H_K`, eq. 13.12): the
                // matrix's shape, whose dimensions are the ones written.
                if sa.as_vector().same(&sb.as_vector()) && !sa.is_scalar() {
                    let shape = if matches!(sa, Shape::Mat(..)) { sa } else { sb };
                    return Some(Val::with_shape(shape.clone(), a, b));
                }
                if sb.is_scalar() {
                    return Some(Val::with_shape(sa.clone(), a, b));
                }
                if sa.is_scalar() {
                    return Some(Val::with_shape(sb.clone(), a, b));
                }
                let verb = match op {
                    BinOp::Add => "add",
                    BinOp::Sub => "subtract",
                    BinOp::Hadamard => "multiply element-wise",
                    _ => "divide element-wise",
                };
                let (ta, tb) = (self.snippet(lhs.span), self.snippet(rhs.span));
                let mut d = Diagnostic::new(
                    Code::E0302,
                    span,
                    format!(
                        "cannot {verb} {ta} : {} and {tb} : {}",
                        sa.describe(),
                        sb.describe()
                    ),
                )
                .label(format!(
                    "{} {} {}",
                    sa.numeric(),
                    op.symbol(),
                    sb.numeric()
                ));
                // `ℝ^{1×D}` is a row vector for the purpose of the help.
                let (va, vb) = (sa.as_vector(), sb.as_vector());
                if va.same(&vb.transpose()) {
                    // Undo a transpose that is already written, else transpose the right side.
                    let fix = match (&lhs.kind, &rhs.kind) {
                        (ExprKind::Transpose(x), _) => self.code(x).map(|t| {
                            format!(
                                "drop the `ᵀ`: `{t}` has shape {}",
                                sa.transpose().symbolic()
                            )
                        }),
                        (_, ExprKind::Transpose(x)) => self.code(x).map(|t| {
                            format!(
                                "drop the `ᵀ`: `{t}` has shape {}",
                                sb.transpose().symbolic()
                            )
                        }),
                        _ => self.transposed(rhs).map(|t| {
                            format!(
                                "transpose one side: `{t}` has shape {}",
                                sb.transpose().symbolic()
                            )
                        }),
                    };
                    if let Some(fix) = fix {
                        d = d.help(fix);
                    }
                } else if let Some(help) = self.matrix_vector_help(&va, &vb, lhs, rhs) {
                    d = d.help(help);
                }
                self.error(d);
                None
            }
            BinOp::Scale => {
                if sa.is_scalar() {
                    return Some(Val::with_shape(sb.clone(), a, b));
                }
                if sb.is_scalar() {
                    return Some(Val::with_shape(sa.clone(), a, b));
                }
                let (ta, tb) = (self.snippet(lhs.span), self.snippet(rhs.span));
                let mut d = Diagnostic::new(
                    Code::E0303,
                    span,
                    format!(
                        "`·` scales by a scalar, but {ta} : {} and {tb} : {} are not scalars",
                        sa.describe(),
                        sb.describe()
                    ),
                )
                .label("neither side is a scalar");
                let (ca, cb) = (self.code(lhs), self.code(rhs));
                d = match (sa, sb, ca, cb) {
                    // `Ω · x`: a matrix product is juxtaposition.
                    (Shape::Mat(_, k1), Shape::Col(k2) | Shape::Mat(k2, _), Some(a), Some(b)) if k1.same(k2) => {
                        d.help(format!("a matrix product is written without an operator: `{a} {b}`"))
                    }
                    // `a · b` of two vectors: the dot product or the element-wise one.
                    (Shape::Col(k1), Shape::Col(k2), Some(_), Some(b)) if k1.same(k2) => {
                        let at = self.transposed(lhs).unwrap_or_default();
                        let a = self.code(lhs).unwrap_or_default();
                        d.help(format!("for the dot product write `{at} {b}`; for the element-wise product `{a} ⊙ {b}`"))
                    }
                    _ if sa.same(sb) => d.help("for the element-wise product write `a ⊙ b`"),
                    _ => d.help("write `a ⊙ b` for the element-wise product, or `Ω x` (juxtaposition) for a matrix product"),
                };
                self.error(d);
                None
            }
            BinOp::Juxt => self.product(a, b, lhs, rhs),
        }
    }

    /// Juxtaposition: a matrix product, or scaling when one side is a scalar.
    /// The help for a matrix met by a column vector in a sum: when the matrix is a product
    /// that a named scalar scaled (`Ω h_0` with `h_0 = 0`), the scalar was meant to be a
    /// vector; otherwise the vector is a bias to add to every column, `β 𝟏ᵀ`.
    fn matrix_vector_help(&self, va: &Shape, vb: &Shape, lhs: &Expr, rhs: &Expr) -> Option<String> {
        let (matrix, vector) = match (va, vb) {
            (Shape::Mat(..), Shape::Col(_)) => (lhs, rhs),
            (Shape::Col(_), Shape::Mat(..)) => (rhs, lhs),
            _ => return None,
        };
        let scaled = self.scaled.iter().find(|(p, _)| *p == matrix.span);
        if let Some(&(_, scalar)) = scaled {
            let name = self.snippet(scalar);
            let product = self.snippet(matrix.span);
            return Some(format!(
                "{name} is a scalar, so {product} scales the matrix instead of multiplying a vector; define {name} as a vector (zeros: `{} = 0 · 𝟏`, its length following from its use)",
                name.trim_matches('`')
            ));
        }
        let bias = self
            .code(vector)
            .map_or("β".to_string(), |t| match vector.kind {
                ExprKind::Name(_) | ExprKind::Call { .. } | ExprKind::Paren(_) => t,
                _ => format!("({t})"),
            });
        Some(format!(
            "to add the vector to every column of the matrix, write `{bias} 𝟏ᵀ` (eq. 12.6)"
        ))
    }

    fn product(&mut self, a: &Val, b: &Val, lhs: &Expr, rhs: &Expr) -> Option<Val> {
        let (sa, sb) = (&a.shape, &b.shape);
        let span = lhs.span.to(rhs.span);
        for (scalar, other, e) in [(sa, sb, lhs), (sb, sa, rhs)] {
            if matches!(scalar, Shape::Scalar) {
                if matches!(other, Shape::Mat(..)) && !matches!(e.kind, ExprKind::Number(_)) {
                    self.scaled.push((span, e.span));
                }
                return Some(Val::with_shape(other.clone(), a, b));
            }
        }
        let inner = match (sa, sb) {
            (Shape::Mat(m, k1), Shape::Col(k2)) => Some((k1, k2, Shape::Col(m.clone()))),
            (Shape::Mat(m, k1), Shape::Mat(k2, n)) => {
                Some((k1, k2, Shape::Mat(m.clone(), n.clone())))
            }
            (Shape::Row(k1), Shape::Col(k2)) => Some((k1, k2, Shape::Scalar)),
            (Shape::Row(k1), Shape::Mat(k2, n)) => Some((k1, k2, Shape::Row(n.clone()))),
            (Shape::Col(m), Shape::Row(n)) => {
                return Some(Val::with_shape(Shape::Mat(m.clone(), n.clone()), a, b));
            }
            _ => None,
        };
        let (ta, tb) = (self.snippet(lhs.span), self.snippet(rhs.span));
        if let Some((k1, k2, _)) = &inner
            && k1.same(k2)
        {
            return inner.map(|(_, _, out)| Val::with_shape(out, a, b));
        }
        // A vector or matrix of ones in every dimension scales like a scalar.
        if sa.is_scalar() {
            return Some(Val::with_shape(sb.clone(), a, b));
        }
        if sb.is_scalar() {
            return Some(Val::with_shape(sa.clone(), a, b));
        }
        if let Some((k1, k2, _)) = inner {
            let mut d = Diagnostic::new(
                Code::E0301,
                span,
                format!(
                    "{ta} : {} cannot multiply {tb} : {}",
                    sa.describe(),
                    sb.describe()
                ),
            )
            .label(format!(
                "{} {}: inner dimensions {} and {} differ",
                sa.numeric(),
                sb.numeric(),
                dim_text(k1),
                dim_text(k2)
            ));
            if let (Shape::Mat(m, _), Shape::Col(k)) = (sa, sb)
                && m.same(k)
                && let (Some(at), Some(b)) = (self.transposed(lhs), self.code(rhs))
            {
                d = d.help(format!(
                    "transpose the matrix: `{at} {b}` has shape {}",
                    Shape::Col(sa.transpose_cols()).symbolic()
                ));
            }
            self.error(d);
            return None;
        }
        if let (Shape::Col(_), Shape::Col(_)) = (sa, sb) {
            let help = match (self.transposed(lhs), self.code(lhs), self.code(rhs)) {
                (Some(at), Some(a), Some(b)) => format!(
                    "for the dot product write `{at} {b}`; for the element-wise product `{a} ⊙ {b}`"
                ),
                _ => "for the dot product transpose the left side, `aᵀ b`; for the element-wise product write `a ⊙ b`".to_string(),
            };
            self.error(
                Diagnostic::new(
                    Code::E0311,
                    span,
                    format!(
                        "{ta} : {} and {tb} : {} are both column vectors",
                        sa.describe(),
                        sb.describe()
                    ),
                )
                .label("a column vector cannot multiply a column vector")
                .help(help),
            );
            return None;
        }
        self.error(
            Diagnostic::new(
                Code::E0301,
                span,
                format!(
                    "{ta} : {} cannot multiply {tb} : {}",
                    sa.describe(),
                    sb.describe()
                ),
            )
            .label(format!("{} {}", sa.numeric(), sb.numeric()))
            .help(self.swap_help(sa, sb, lhs, rhs)),
        );
        None
    }

    /// Help for a product of shapes that do not chain: swap the factors when that works.
    fn swap_help(&self, sa: &Shape, sb: &Shape, lhs: &Expr, rhs: &Expr) -> String {
        let swapped = match (sb, sa) {
            (Shape::Mat(_, k1), Shape::Col(k2) | Shape::Mat(k2, _)) => k1.same(k2),
            (Shape::Row(k1), Shape::Col(k2) | Shape::Mat(k2, _)) => k1.same(k2),
            _ => false,
        };
        match (swapped, self.code(lhs), self.code(rhs)) {
            (true, Some(a), Some(b)) => format!("swap the factors: `{b} {a}`"),
            _ => {
                "a product needs the left side's columns to match the right side's rows".to_string()
            }
        }
    }

    // ------------------------------------------------------------------ names

    /// Evaluates one subscript item.
    /// A subscript item read by the one reading ([`crate::resolve::sub`]), with what is
    /// wrong in it reported: a vector of labels used as one label (E0315), an entry of it
    /// out of range (E0307), arithmetic on the example index (E0403).
    pub(super) fn ix(&mut self, e: &Expr) -> Option<Ix> {
        // An index whose own definition failed was reported there.
        if let ExprKind::Name(n) = &e.kind
            && crate::resolve::integer(e, self).is_none()
            && matches!(
                self.scope.get(&names::build(&n.word, n.primes, false, &[])),
                Some(Entry {
                    sym: Sym::Poisoned,
                    ..
                })
            )
        {
            return None;
        }
        Some(match crate::resolve::sub(e, self) {
            Sub::Int(v) => Ix::Int(v),
            Sub::Batch(var) => Ix::Batch(var),
            Sub::Group(var) => Ix::ParamIndex(var),
            Sub::Label {
                input,
                text,
                vector,
            } => {
                let labels = self.labels_of(&input)?;
                let ExprKind::Name(n) = &e.kind else {
                    return None;
                };
                if vector && !n.sub.is_empty() {
                    self.vector_of_labels(n, &text, &input, &labels);
                    return None;
                }
                Ix::Label(labels, text)
            }
            Sub::LabelEntry { input, entry, text } => {
                let labels = self.labels_of(&input)?;
                if !self.label_entry_in_range(&input, entry, e) {
                    return None;
                }
                Ix::Label(labels, text)
            }
            Sub::Text(text) => {
                if !matches!(e.kind, ExprKind::Name(_)) && !self.index_arithmetic(e) {
                    return None;
                }
                Ix::Text(text)
            }
        })
    }

    /// The label set of the data `input`.
    fn labels_of(&self, input: &str) -> Option<Labels> {
        match self.scope.get(input) {
            Some(Entry {
                sym: Sym::Data(_, v),
                ..
            }) => v.labels.clone(),
            _ => None,
        }
    }

    /// `y_i` with `y` a vector of labels per example, where one class label is read (E0315).
    fn vector_of_labels(&mut self, n: &ast::Name, text: &str, base: &str, labels: &Labels) {
        let len = match self.scope.get(base) {
            Some(Entry {
                sym: Sym::Data(_, v),
                ..
            }) => match &v.shape {
                Shape::Col(len) => dim_text(len),
                _ => dim_text(&labels.count),
            },
            _ => dim_text(&labels.count),
        };
        self.error(
            Diagnostic::new(
                Code::E0315,
                n.span,
                format!("`{text}` is a vector of {len} labels, not one class label"),
            )
            .label("one label per entry (a label per token)")
            .help(format!("select the label of one entry, `{base}_{{i,n}}`, e.g. `∑_{{n=1}}^{{{len}}} log[softmax_{{{base}_{{i,n}}}}[f_n[X_i, φ]]]` for a label per token")),
        );
    }

    /// `y_{i,n}`: whether entry `n` (1-based) lies within the vector of labels `input`
    /// (E0307 otherwise).
    fn label_entry_in_range(&mut self, input: &str, k: i64, e: &Expr) -> bool {
        let len = match self.scope.get(input) {
            Some(Entry {
                sym: Sym::Data(_, v),
                ..
            }) => match &v.shape {
                Shape::Col(len) => len.value,
                _ => None,
            },
            _ => None,
        };
        let entry = match &e.kind {
            ExprKind::Name(n) => n.sub.last().map_or(e.span, |s| s.span),
            _ => e.span,
        };
        if let Some(len) = len
            && (k < 1 || k > len)
        {
            self.error(
                Diagnostic::new(
                    Code::E0307,
                    entry,
                    format!("entry {k} of `{input}`, a vector of {len} labels"),
                )
                .label(format!("must be between 1 and {len}"))
                .help("entries are counted from 1, as in the book"),
            );
            return false;
        }
        true
    }

    /// A subscript that is an expression: arithmetic on the example index or a parameter
    /// index is E0403 (false); anything else is read as its text.
    fn index_arithmetic(&mut self, e: &Expr) -> bool {
        let mut uses_index = None;
        walk(e, &mut |x| {
            if let ExprKind::Name(n) = &x.kind
                && n.sub.is_empty()
            {
                let name = names::build(&n.word, n.primes, false, &[]);
                match self.bound(&name) {
                    Some(Bound::Batch) => uses_index = Some((name, "the example index")),
                    Some(Bound::Group) => uses_index = Some((name, "a parameter index")),
                    _ => {}
                }
            }
        });
        let Some((var, role)) = uses_index else {
            return true;
        };
        self.error(
            Diagnostic::new(
                Code::E0403,
                e.span,
                format!("index arithmetic on `{var}` is not supported yet"),
            )
            .label("an offset index, as in a convolution (eq. 10.4)")
            .help(format!("`{var}` is read as {role} here, which has no arithmetic; to define a vector entry by entry (a convolution with zero padding, §10.2), write `… for {var} ∈ {{1 … D}}`: the statement defines the whole vector; a family from another first index, such as `for {var} ∈ {{2 … D-1}}`, is read member by member and must keep every subscript within its vector")),
        );
        false
    }

    fn lookup_value(&mut self, name: &str, span: Span) -> Option<Option<Val>> {
        let entry = self.scope.get(name)?.clone();
        Some(match entry.sym {
            Sym::Hyper(_) => Some(Val::scalar()),
            Sym::Data(_, v) | Sym::Param(v, _) | Sym::Value(v) => Some(v),
            Sym::Func(f) => {
                // The model function: show the call with the model's inputs and group.
                let call = match &f {
                    Func::Model { formals, group, .. } => {
                        let example = self
                            .binds
                            .iter()
                            .rev()
                            .find_map(|(v, b)| (*b == Bound::Batch).then(|| format!("_{v}")));
                        let mut args: Vec<String> = self
                            .inputs
                            .iter()
                            .take(formals.len())
                            .map(|x| format!("{x}{}", example.as_deref().unwrap_or("")))
                            .collect();
                        args.push(group.clone());
                        format!("{name}[{}]", args.join(", "))
                    }
                    _ => format!("{name}[…]"),
                };
                self.error(
                    Diagnostic::new(
                        Code::E0206,
                        span,
                        format!("`{name}` is a function, used here as a value"),
                    )
                    .label("a function")
                    .help(format!("apply it with square brackets: `{call}`")),
                );
                None
            }
            Sym::Poisoned => None,
            Sym::Group => {
                self.error(
                    Diagnostic::new(Code::E0206, span, format!("`{name}` is a parameter group, used here as a value"))
                        .label("a group of parameters")
                        .help(format!("a group is an argument, as in `f[x, {name}]`; its squared norm is `∑_j {name}_j²`")),
                );
                None
            }
        })
    }

    pub(super) fn name_value(&mut self, n: &ast::Name, span: Span) -> Option<Val> {
        // `r_{i,j}` in `∑_{(i,j)∈Ω}`: the pair's members run together, `r_{ij}`.
        if let Some(joined) = crate::resolve::pair_joined(n, &*self) {
            return self.name_value(&joined, span);
        }
        if let Some(node) = &n.node {
            let index = self.canonical_plain(node);
            self.error(
                Diagnostic::new(
                    Code::E0261,
                    span,
                    format!("the node `{index}` is not bound here"),
                )
                .label("a node's value outside a node-wise equation")
                .help(format!(
                    "`{}` is the column {index} of a matrix, read in an equation for every node (`h_{{k+1}}^{{({index})}} = a[β_k + Ω_k h_k^{{({index})}}]`) or a sum `∑_{{{index} ∈ ne[n]}}`",
                    crate::dump::name(n)
                ))
                .help("for a power, write `x^{K}` without the parentheses"),
            );
            return None;
        }
        let mut items = Vec::with_capacity(n.sub.len());
        for s in &n.sub {
            items.push(self.ix(s)?);
        }
        let texts: Vec<String> = items.iter().map(Ix::text).collect();
        let full = names::build(&n.word, n.primes, n.frozen, &texts);
        // The one walk of the prefix: the whole name (or a frozen copy's original), else the
        // longest prefix in scope and the steps after it.
        let kinds: Vec<ItemKind> = items.iter().map(Ix::kind).collect();
        let path = crate::resolve::path(
            &kinds,
            |len| {
                if len == items.len() {
                    let thawed = || names::build(&n.word, n.primes, false, &texts);
                    return self.scope.contains_key(&full)
                        || (n.frozen && self.scope.contains_key(&thawed()));
                }
                let name = names::build(&n.word, n.primes, n.frozen, &texts[..len]);
                self.scope.contains_key(&name)
            },
            |root, through_batch| {
                self.path_value(n, &items, &texts, root, &[])
                    .is_some_and(|v| {
                        matches!(&v.shape, Shape::Mat(_, c) if c.value != Some(1))
                            && (v.per_example || !through_batch)
                    })
            },
        );
        let Some((&last_step, rest)) = path.steps.split_last() else {
            return self.whole_name(n, &full, &texts, span);
        };
        let base_val = self.path_value(n, &items, &texts, path.root, rest);
        if let Step::Entry(_, r, c) = last_step {
            return self.matrix_entry(n, base_val?, (r, c), &texts, span);
        }
        // `u_i`: a row of the matrix `U` (`check::table`).
        if let Some(v) = self.row(n, &items, span) {
            return v;
        }
        if let Some((last, rest)) = items.split_last() {
            let base = names::build(&n.word, n.primes, n.frozen, &texts[..rest.len()]);
            let base_entry = self.scope.get(&base).cloned();
            if matches!(
                base_entry,
                Some(Entry {
                    sym: Sym::Poisoned,
                    ..
                })
            ) {
                return None;
            }
            let is_group = matches!(
                base_entry,
                Some(Entry {
                    sym: Sym::Group,
                    ..
                })
            ) || (self.groups.is_empty() && base == "φ" && base_entry.is_none());
            match last {
                Ix::Batch(var) => {
                    if let Some(v) = base_val {
                        if v.per_example {
                            return Some(v);
                        }
                        self.error(
                            Diagnostic::new(
                                Code::E0209,
                                span,
                                format!("`{base}` is the same for every example, so `{full}` has no meaning"),
                            )
                            .label(format!("`{var}` is the example index"))
                            .help(format!("only data and per-example quantities take the example index; write `{base}`")),
                        );
                        return None;
                    }
                }
                Ix::ParamIndex(_) if is_group => return Some(Val::scalar()),
                Ix::Int(_) | Ix::Label(..) if base_val.is_some() => {
                    let v = base_val?;
                    return self.component(&v, last, n.sub.last().map_or(span, |s| s.span), span);
                }
                Ix::Text(var) if base_val.as_ref().is_some_and(|v| v.per_example) => {
                    let is_index = var.chars().count() == 1 && var.chars().all(char::is_lowercase);
                    if is_index {
                        self.unbound_example_index(var, &full, &base, span);
                        return None;
                    }
                }
                _ => {}
            }
        }
        self.unknown_name(&full, span, n);
        None
    }

    /// A name whose whole spelling is its root: bound in scope, a frozen copy's original
    /// (`φ⁻`), a family variable as a number, `π`, `ones`, or unknown.
    fn whole_name(
        &mut self,
        n: &ast::Name,
        full: &str,
        texts: &[String],
        span: Span,
    ) -> Option<Val> {
        if let Some(v) = self.lookup_value(full, span) {
            return v;
        }
        if n.frozen {
            // `φ⁻`: a frozen copy has the type of the original.
            let thawed = names::build(&n.word, n.primes, false, texts);
            if let Some(v) = self.lookup_value(&thawed, span) {
                return v;
            }
        }
        if texts.is_empty() {
            // A family variable or an unrolled sum's index as a number (`β_t = 0.1 t for t ∈
            // {1 … T}`, a schedule), as it already is in a subscript.
            if let Some(Bound::Int(_)) = self.bound(full) {
                return Some(Val::scalar());
            }
            match full {
                "π" => return Some(Val::scalar()),
                "ones" => return Some(Val::global(Shape::Col(Dim::wild()))),
                _ => {}
            }
        }
        self.unknown_name(full, span, n);
        None
    }

    /// `x_i` with `i` not bound to the example index here (E0209): the help says how to sum
    /// over the batch, and points at a sum that ends before the name when there is one.
    fn unbound_example_index(&mut self, var: &str, full: &str, base: &str, span: Span) {
        let mut d = Diagnostic::new(
            Code::E0209,
            span,
            format!("the example index `{var}` is not bound here"),
        )
        .label(format!("`{full}` is the {var}-th example of `{base}`"));
        d = match self.loss_index.clone() {
            // `loss L_i[φ] = …`: a subscript on the loss's name binds nothing.
            Some((lname, lspan)) if lname == *var => d
                .with(lspan, format!("a subscript on a loss's name does not make `{var}` run over the batch"))
                .help(format!("a loss is one number for the batch: `loss L[φ] = ∑_{var} …`, or define `ℓ_{var} = …` and write `loss L[φ] = ∑_{var} ℓ_{var}`")),
            _ => d.help(format!("sum over the batch: `∑_{var} …`, or write `{base}` for the current example")),
        };
        // Only after a sum to its left can the user have meant it to be inside.
        if let Some(sum) = self
            .batch_sums
            .iter()
            .rev()
            .find(|s| s.end <= span.start)
            .copied()
        {
            let between = self
                .src()
                .get(sum.end as usize..span.start as usize)
                .unwrap_or("");
            let op = between
                .trim_start()
                .chars()
                .next()
                .filter(|c| matches!(c, '+' | '-' | '−'));
            let label = match op {
                Some(c) => format!("this sum ends before the `{c}`"),
                None => "this sum ends here".to_string(),
            };
            d = d.with(sum, label).help(format!(
                "a `∑` body stops at `+` or `-`: bracket the summand, `∑_{var} (… - …)`"
            ));
        }
        self.error(d);
    }

    /// `X_{r,c}`: the entry in row `r` and column `c` of a matrix per example (`X ∈ ℝ^{D×N}`),
    /// a scalar per example, as the book writes a matrix's entries (`x_{ij}`, eq. 10.6), or of
    /// a fixed matrix, a parameter's `w_{k,l}` (the course notes' `∑_k ∑_l |w_{k,l}|`), where
    /// the walk of the name's prefix read an entry (`resolve::path`): `base` is the matrix
    /// (`X`, `X_i`). `None` when the entry is out of range (reported).
    fn matrix_entry(
        &mut self,
        n: &ast::Name,
        base: Val,
        (r, c): (i64, i64),
        texts: &[String],
        span: Span,
    ) -> Option<Val> {
        let Shape::Mat(rows, cols) = &base.shape else {
            return None;
        };
        let ix_span = n.sub.last().map_or(span, |s| s.span);
        let name = names::build(&n.word, n.primes, n.frozen, &texts[..texts.len() - 2]);
        for (k, d, what) in [(r, rows, "row"), (c, cols, "column")] {
            if let Some(len) = d.value
                && (k < 1 || k > len)
            {
                self.error(
                    Diagnostic::new(
                        Code::E0307,
                        ix_span,
                        format!("{what} {k} of `{name}`, a matrix of {len} {what}s"),
                    )
                    .label(format!("must be between 1 and {len}"))
                    .help("`X_{r,c}` is the entry in row r and column c, counted from 1"),
                );
                return None;
            }
        }
        Some(Val {
            shape: Shape::Scalar,
            per_example: base.per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// The value of a name's path quietly: the root (the name with its first `root` items) and
    /// the given steps after it. `y_{i,1}` resolves `y_i` (the i-th example of `y`) before
    /// taking its first component.
    fn path_value(
        &self,
        n: &ast::Name,
        items: &[Ix],
        texts: &[String],
        root: usize,
        steps: &[Step],
    ) -> Option<Val> {
        let name = names::build(&n.word, n.primes, n.frozen, &texts[..root]);
        let mut v = match &self.scope.get(&name)?.sym {
            Sym::Data(_, v) | Sym::Param(v, _) | Sym::Value(v) => v.clone(),
            _ => return None,
        };
        let scalar = |per_example| Val {
            shape: Shape::Scalar,
            per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        };
        for step in steps {
            v = match (*step, &v.shape) {
                (Step::Entry(_, r, c), Shape::Mat(rows, cols))
                    if r >= 1
                        && c >= 1
                        && rows.value.is_none_or(|n| r <= n)
                        && cols.value.is_none_or(|n| c <= n) =>
                {
                    scalar(v.per_example)
                }
                (Step::Entry(..), _) => return None,
                (Step::Item(k), shape) => match (&items[k], shape) {
                    (Ix::Batch(_), _) if v.per_example => v,
                    (Ix::Int(i), Shape::Col(d) | Shape::Row(d))
                        if *i >= 1 && d.value.is_none_or(|n| *i <= n) =>
                    {
                        scalar(v.per_example)
                    }
                    (Ix::Label(l, _), Shape::Col(d)) if l.count.same(d) => scalar(v.per_example),
                    _ => return None,
                },
            };
        }
        Some(v)
    }

    /// `A + I`, `A − I`, `A ⊙ I` (the identity possibly scaled, `(1 + ε) I`): the result
    /// must be square, else E0408. False when it was reported.
    fn square_beside_identity(
        &mut self,
        op: ast::BinOp,
        lhs: &Expr,
        rhs: &Expr,
        shape: &Shape,
        span: Span,
    ) -> bool {
        use ast::BinOp::{Add, Hadamard, Sub};
        if !matches!(op, Add | Sub | Hadamard) || !(is_identity_term(lhs) || is_identity_term(rhs))
        {
            return true;
        }
        if let Shape::Mat(r, c) = shape
            && r.same(c)
        {
            return true;
        }
        self.error(
            Diagnostic::new(
                Code::E0408,
                span,
                format!("the identity `I` beside {}, which is not square", shape.describe()),
            )
            .label("not a square matrix")
            .help("`I` here is the identity matrix (eq. 13.10's `A + I`), which only meets square matrices; the number of examples is `|B|` (or `I` as a sum's upper limit or in a denominator: `1/I ∑_{i=1}^{I} ℓ_i`)"),
        );
        false
    }

    /// Reports an unknown name (deferred, in case a later equation defines it).
    pub(super) fn unknown_name(&mut self, name: &str, span: Span, n: &ast::Name) {
        if self
            .poisoned_words
            .contains(&names::build(&n.word, n.primes, false, &[]))
        {
            return;
        }
        // Met again in a later member of a family: reported once per place (diagnostics are
        // deduplicated by place), and looking for a suggestion costs a pass over the scope.
        if !self.unknown_spans.insert(span) {
            return;
        }
        let mut d = Diagnostic::new(Code::E0201, span, format!("unknown name `{name}`"))
            .label("not defined");
        // Only the first few of a kind are shown: no search for the others' suggestions.
        let shown = self.unknown_spans.len() <= crate::diag::MAX_SHOWN_PER_CODE;
        let candidates: Vec<String> = match shown {
            true => self.scope.keys().cloned().collect(),
            false => Vec::new(),
        };
        if !shown {
        } else if n.sub.is_empty()
            && let Some((a, b)) = self.split_juxtaposed(&n.word)
        {
            d = d.help(format!("a product of two names needs a space: `{a} {b}`"));
        } else if let Some(c) = names::closest(name, candidates.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{c}`?"));
        } else if let Some(c) = self.closest_by_ascii(n, &candidates) {
            d = d.help(format!("did you mean `{c}`?"));
        } else if let Some(c) = builtins::suggest(&n.word) {
            d = d.help(format!("did you mean the function `{c}[…]`?"));
        }
        if n.word == "Σ" {
            d = d.help("the sum is `∑` (U+2211) or `sum`; `Σ` is the Greek capital sigma");
        }
        // A later equation may define the name itself, or (for `ℓ_i`) its per-example base.
        let mut candidates = vec![name.to_string()];
        if let Some((_, rest)) = n.sub.split_last() {
            let items: Vec<String> = rest.iter().map(|s| self.index_text(s)).collect();
            candidates.push(names::build(&n.word, n.primes, n.frozen, &items));
        }
        self.unknown.push((candidates, d));
    }

    /// A misspelt ASCII Greek word (`Omgea_0`): compares the name as written with the ASCII
    /// spellings of the names in scope (`Omega_0` for `Ω_0`).
    fn closest_by_ascii(&self, n: &ast::Name, candidates: &[String]) -> Option<String> {
        let written = self.src().get(n.span.range())?.trim();
        if !written.is_ascii() {
            return None;
        }
        let spelt: Vec<(String, &String)> =
            candidates.iter().map(|c| (names::ascii(c), c)).collect();
        let best = names::closest(written, spelt.iter().map(|(a, _)| a.as_str()))?;
        spelt
            .iter()
            .find(|(a, _)| a == best)
            .map(|(_, c)| (*c).clone())
    }

    /// `Ωx` → (`Ω`, `x`) when both halves are names in scope.
    fn split_juxtaposed(&self, word: &str) -> Option<(String, String)> {
        word.char_indices().skip(1).find_map(|(i, _)| {
            let (a, b) = (names::word(&word[..i]), names::word(&word[i..]));
            let known = |s: &str| self.scope.contains_key(s);
            (known(a) && known(b)).then(|| (a.to_string(), b.to_string()))
        })
    }

    /// Selects a component of a vector by a 1-based number or a class label.
    fn component(&mut self, v: &Val, ix: &Ix, ix_span: Span, span: Span) -> Option<Val> {
        if let (Shape::Mat(rows, cols), true, Ix::Int(k)) = (&v.shape, v.per_example, ix) {
            return self.example_column(rows, cols, *k, ix_span, span);
        }
        let len = match &v.shape {
            Shape::Col(d) | Shape::Row(d) => d.clone(),
            other => {
                self.error(
                    Diagnostic::new(
                        Code::E0307,
                        ix_span,
                        format!(
                            "{} is {}: only vectors have components",
                            self.without_subscript(span, ix_span),
                            other.describe()
                        ),
                    )
                    .label("a component index"),
                );
                return None;
            }
        };
        let per_example = v.per_example;
        match ix {
            Ix::Int(k) => {
                if let Some(n) = len.value
                    && (*k < 1 || *k > n)
                {
                    self.error(
                        Diagnostic::new(
                            Code::E0307,
                            ix_span,
                            format!(
                                "component {k} of {}, a vector of {n}",
                                self.without_subscript(span, ix_span)
                            ),
                        )
                        .label(format!("must be between 1 and {n}"))
                        .help("components are counted from 1, as in the book"),
                    );
                    return None;
                }
                Some(Val {
                    shape: Shape::Scalar,
                    per_example,
                    labels: None,
                    diagonal: false,
                    structure: Default::default(),
                })
            }
            Ix::Label(l, text) => {
                if !l.count.same(&len) {
                    self.error(
                        Diagnostic::new(
                            Code::E0308,
                            ix_span,
                            format!(
                                "`{text}` selects one of {} classes, but the vector has {} components",
                                dim_text(&l.count),
                                dim_text(&len)
                            ),
                        )
                        .label("class label used as an index")
                        .help(format!(
                            "the label set and the vector must agree: labels `{{{} … {}}}` for this vector, or a vector `{}` for these labels",
                            l.lo,
                            len.sym.add(&super::shape::Poly::constant(l.lo - 1), 1),
                            Shape::Col(l.count.clone()).symbolic()
                        )),
                    );
                    return None;
                }
                Some(Val {
                    shape: Shape::Scalar,
                    per_example: true,
                    labels: None,
                    diagonal: false,
                    structure: Default::default(),
                })
            }
            Ix::Batch(var) | Ix::ParamIndex(var) => {
                self.error(
                    Diagnostic::new(
                        Code::E0403,
                        ix_span,
                        format!("`{var}` indexes examples, not components"),
                    )
                    .label("not a component index")
                    .help("indexing components by a running index is not supported yet"),
                );
                None
            }
            Ix::Text(t) => {
                self.error(
                    Diagnostic::new(Code::E0315, ix_span, format!("`{t}` cannot select a component"))
                        .label("not a number or a class label")
                        .help("a component is chosen by a number (1-based) or by a class label such as `y_i`"),
                );
                None
            }
        }
    }

    /// `X_t`: column `t` (1-based) of a matrix `X` per example, a vector per example (the
    /// t-th element of a sequence, the t-th token).
    fn example_column(
        &mut self,
        rows: &super::shape::Dim,
        cols: &super::shape::Dim,
        k: i64,
        ix_span: Span,
        span: Span,
    ) -> Option<Val> {
        if let Some(n) = cols.value
            && (k < 1 || k > n)
        {
            self.error(
                Diagnostic::new(
                    Code::E0307,
                    ix_span,
                    format!(
                        "column {k} of {}, a matrix of {n} columns",
                        self.without_subscript(span, ix_span)
                    ),
                )
                .label(format!("must be between 1 and {n}"))
                .help("columns are counted from 1, as in the book"),
            );
            return None;
        }
        if cols.value == Some(1) {
            // One column per example is held as a vector per example, whose subscript is a
            // component: the compiled graph could not tell the two readings apart.
            self.error(
                Diagnostic::new(
                    Code::E0307,
                    ix_span,
                    format!(
                        "{} has a single column per example",
                        self.without_subscript(span, ix_span)
                    ),
                )
                .label("a column index")
                .help("write the matrix itself for its only column"),
            );
            return None;
        }
        Some(Val {
            shape: Shape::Col(rows.clone()),
            per_example: true,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// The quoted source of `span` without the subscript item at `ix`: `f[x_i, φ]` for
    /// `f_3[x_i, φ]`, `Ω` for `Ω_{12}`; the whole source when that cannot be done simply.
    fn without_subscript(&self, span: Span, ix: Span) -> String {
        let src = self.src();
        let (before, after) = match (
            src.get(span.start as usize..ix.start as usize),
            src.get(ix.end as usize..span.end as usize),
        ) {
            (Some(b), Some(a)) => (b, a),
            _ => return self.snippet(span),
        };
        let text = if let (Some(b), Some(a)) = (before.strip_suffix("_{"), after.strip_prefix('}'))
        {
            format!("{b}{a}")
        } else if let Some(b) = before.strip_suffix('_') {
            format!("{b}{after}")
        } else {
            return self.snippet(span);
        };
        if text.is_empty() || text.chars().count() > 40 || text.contains('\n') {
            self.snippet(span)
        } else {
            format!("`{text}`")
        }
    }

    // ------------------------------------------------------------------ functions

    /// The function a name denotes; `None` (and, unless `quiet`, a diagnostic) if none.
    pub(super) fn function_named(
        &mut self,
        n: &ast::Name,
        span: Span,
        quiet: bool,
        args: &[Expr],
    ) -> Option<Func> {
        let full = self.canonical_plain(n);
        let base = names::build(&n.word, n.primes, false, &[]);
        for key in [&full, &base] {
            match self.scope.get(key) {
                Some(Entry {
                    sym: Sym::Func(f), ..
                }) => return Some(f.clone()),
                Some(Entry {
                    sym: Sym::Poisoned, ..
                }) => return None,
                Some(_) if !quiet && key == &full => {
                    let written = self.src().get(n.span.range()).unwrap_or(&full).to_string();
                    let help = match args {
                        [one] => match self.code(one) {
                            Some(a) => format!(
                                "for a product write `{written} {a}`; square brackets only apply functions"
                            ),
                            None => format!(
                                "for a product write `{written} (…)`; square brackets only apply functions"
                            ),
                        },
                        _ => format!("a value takes no arguments: write `{written}`"),
                    };
                    self.error(
                        Diagnostic::new(
                            Code::E0205,
                            span,
                            format!("`{full}` is a value, not a function"),
                        )
                        .label("applied with square brackets")
                        .help(help),
                    );
                    return None;
                }
                _ => {}
            }
        }
        if let Some((b, kind)) = builtins::lookup(&n.word) {
            return Some(Func::Builtin(b, kind, n.sub.clone()));
        }
        if n.sub.is_empty()
            && let Some(i) = self
                .chk
                .file
                .models
                .iter()
                .position(|m| m.name.text == n.word)
        {
            return Some(Func::Sub(i));
        }
        if (n.word == "argmax" || n.word == "argmin") && n.sub.is_empty() {
            let w = &n.word;
            self.error(
                Diagnostic::new(Code::E0209, span, format!("`{w}` needs an index"))
                    .label("no index")
                    .help(format!(
                        "the index of the largest component of a vector is `{w}_j h_j` (counted from 1), of the largest member of a family `{w}_k z_k`"
                    )),
            );
            return None;
        }
        if let Some((_, what)) = builtins::UNSUPPORTED
            .iter()
            .find(|(w, _)| *w == n.word || *w == full)
        {
            self.error(
                Diagnostic::new(Code::E0404, span, format!("not supported yet: {what}"))
                    .label("not supported yet"),
            );
            return None;
        }
        if quiet {
            return None;
        }
        let mut d = Diagnostic::new(Code::E0203, span, format!("unknown function `{full}`"))
            .label("not a function");
        let fns: Vec<String> = self
            .scope
            .iter()
            .filter(|(_, e)| matches!(e.sym, Sym::Func(_)))
            .map(|(k, _)| k.clone())
            .chain(builtins::names().map(str::to_string))
            .collect();
        if let Some(c) = builtins::suggest(&n.word) {
            d = d.help(format!("did you mean the built-in `{c}`?"));
        } else if let Some(c) = names::closest(&n.word, fns.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{c}`?"));
        } else if names::looks_like_activation(&n.word) {
            d = d.help(format!(
                "bind the activation first, e.g. `let {full} = ReLU`"
            ));
        } else {
            d = d.help(format!(
                "define it first, `let {full}[z] = …`, or write a model `{full}` in this file and call it"
            ));
        }
        // Deferred like unknown names: a later equation may define it.
        self.unknown.push((vec![base], d));
        None
    }

    fn call(&mut self, fname: &ast::Name, args: &[Expr], span: Span) -> Option<Val> {
        if let Some(v) = self.table(fname, args, span) {
            return v;
        }
        let f = self.function_named(fname, fname.span, false, args)?;
        let full = self.canonical_plain(fname);
        // A subscript on a function selects a component of the result (`softmax_k`, `f_1`),
        // except where it is the function's parameter (`LReLU_α`, `Norm_y`) or part of the
        // function's own name (`let f_1 = …`).
        let named_with_sub = matches!(
            self.scope.get(&full),
            Some(Entry {
                sym: Sym::Func(_),
                ..
            })
        );
        let component = if named_with_sub {
            None
        } else {
            fname.sub.last()
        };
        let result = match f {
            Func::Builtin(b, kind, bound_sub) => {
                let sub = if bound_sub.is_empty() {
                    fname.sub.clone()
                } else {
                    bound_sub
                };
                let takes_param = matches!(b, Builtin::LRelu | Builtin::NormPdf);
                let v = self.builtin(b, kind, &sub, args, span)?;
                if takes_param {
                    return Some(v);
                }
                if b == Builtin::Softmax && component.is_some() && matches!(v.shape, Shape::Mat(..))
                {
                    self.error(
                        Diagnostic::new(
                            Code::E0304,
                            args[0].span,
                            format!(
                                "a subscript on `softmax` selects a component of a vector, but {} is {}",
                                self.snippet(args[0].span),
                                v.shape.describe()
                            ),
                        )
                        .label(v.shape.numeric())
                        .help("`softmax[Z]` of a matrix is taken row by row (the notes' tokens as rows), `Softmax[Z]` column by column (eq. 12.7); select an entry of the result by name, or take the softmax of one column, `softmax_k[Z_n]`"),
                    );
                    return None;
                }
                v
            }
            Func::User { formals, body } => self.call_user(&full, &formals, &body, args, span)?,
            Func::Model {
                formals,
                group,
                out,
            } => {
                if !self.arity(&full, formals.len() + 1, args, span) {
                    return None;
                }
                self.data_args(&full, &formals, args)?;
                self.group_arg(args.last(), Some(&group));
                Val {
                    shape: out.shape.clone(),
                    per_example: true,
                    labels: None,
                    diagonal: false,
                    structure: Default::default(),
                }
            }
            Func::Sub(i) => self.call_sub_model(i, fname, &full, args, span)?,
        };
        match component {
            None => Some(result),
            Some(c) => {
                let ix = self.ix(c)?;
                self.component(&result, &ix, c.span, span)
            }
        }
    }

    /// A call of a `let` function: its body checked with the formals bound to the
    /// arguments' values (inlined, within the budget of `MAX_INLINED`).
    fn call_user(
        &mut self,
        full: &str,
        formals: &[String],
        body: &Expr,
        args: &[Expr],
        span: Span,
    ) -> Option<Val> {
        if !self.arity(full, formals.len(), args, span) {
            return None;
        }
        let vals: Vec<Option<Val>> = args.iter().map(|a| self.expr(a)).collect();
        let vals: Vec<Val> = vals.into_iter().collect::<Option<_>>()?;
        let mut terms = 0usize;
        crate::syntax::walk(body, &mut |_| terms += 1);
        if self.expanding.iter().any(|(f, _)| *f == full) {
            // A cycle through a binding (`let a = b`) the static search cannot see.
            self.error(
                Diagnostic::new(Code::E0218, span, format!("`{full}` calls itself"))
                    .label("called again while being inlined"),
            );
            return None;
        }
        if !self.inline_budget(terms, full, span) {
            return None;
        }
        self.expanding.push((full.to_string(), span));
        let saved: Vec<Option<Entry>> =
            formals.iter().map(|f| self.scope.get(f).cloned()).collect();
        for (f, (v, a)) in formals.iter().zip(vals.into_iter().zip(args)) {
            self.scope.insert(
                f.clone(),
                Entry {
                    sym: Sym::Value(v),
                    span: a.span,
                },
            );
        }
        let out = self.expr(body);
        self.expanding.pop();
        for (f, old) in formals.iter().zip(saved) {
            match old {
                Some(e) => self.scope.insert(f.clone(), e),
                None => self.scope.remove(f),
            };
        }
        out
    }

    /// A call of another model of the file (`i`): its interface, checked on demand.
    fn call_sub_model(
        &mut self,
        i: usize,
        fname: &ast::Name,
        full: &str,
        args: &[Expr],
        span: Span,
    ) -> Option<Val> {
        let Some(iface) = self.chk.model(i) else {
            self.model_cycle(i, fname);
            return None;
        };
        if iface.failed {
            return None;
        }
        // A call copies the callee, with everything the callee inlines.
        if !self.inline_budget(iface.inlined.saturating_add(1), full, span) {
            return None;
        }
        if !self.arity(full, iface.inputs.len() + 1, args, span) {
            return None;
        }
        self.data_args(full, &iface.inputs, args)?;
        self.group_arg(args.last(), None);
        let Some(out) = iface.out else {
            self.no_model_function(i, fname);
            return None;
        };
        Some(Val {
            shape: out.shape,
            per_example: true,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// `E0212`: the model `i` is called while it is being checked.
    fn model_cycle(&mut self, i: usize, fname: &ast::Name) {
        let models = &self.chk.file.models;
        let from = self.chk.stack.iter().position(|m| *m == i).unwrap_or(0);
        let cycle: Vec<String> = self.chk.stack[from..]
            .iter()
            .chain(std::iter::once(&i))
            .map(|m| format!("`{}`", models[*m].name.text))
            .collect();
        let message = if cycle.len() <= 2 {
            format!("model {} calls itself", cycle[0])
        } else {
            format!("models call each other in a cycle: {}", cycle.join(" → "))
        };
        self.error(
            Diagnostic::new(Code::E0212, fname.span, message)
                .label("recursive call")
                .help("a model can call other models of the file, but not in a cycle"),
        );
    }

    /// `E0215`: the model `i`, called, defines no model function.
    fn no_model_function(&mut self, i: usize, fname: &ast::Name) {
        let sub = &self.chk.file.models[i];
        let name = sub.name.text.clone();
        let mut inputs: Vec<String> = Vec::new();
        for st in &sub.stmts {
            if let ast::StmtKind::Input(items) = &st.kind {
                inputs.extend(
                    items
                        .iter()
                        .map(|t| names::build(&t.name.word, t.name.primes, false, &[])),
                );
            }
        }
        inputs.push("φ".to_string());
        self.error(
            Diagnostic::new(
                Code::E0215,
                fname.span,
                format!("model `{name}` defines no function to call"),
            )
            .label("called here")
            .with(sub.name.span, "defined here")
            .help(format!(
                "give `{name}` an equation such as `f[{}] = …`",
                inputs.join(", ")
            )),
        );
    }

    pub(super) fn arity(&mut self, name: &str, want: usize, args: &[Expr], span: Span) -> bool {
        if args.len() == want {
            return true;
        }
        let plural = if want == 1 { "" } else { "s" };
        self.error(
            Diagnostic::new(
                Code::E0204,
                span,
                format!(
                    "`{name}` takes {want} argument{plural}, but {} {} given",
                    args.len(),
                    if args.len() == 1 { "was" } else { "were" }
                ),
            )
            .label(format!("expected {want} argument{plural}")),
        );
        false
    }

    /// Checks data arguments against the shapes a function expects.
    fn data_args(&mut self, name: &str, formals: &[Val], args: &[Expr]) -> Option<()> {
        let mut ok = true;
        for (k, (want, a)) in formals.iter().zip(args).enumerate() {
            let Some(got) = self.expr(a) else {
                ok = false;
                continue;
            };
            if !got.shape.same(&want.shape) {
                ok = false;
                self.error(
                    Diagnostic::new(
                        Code::E0304,
                        a.span,
                        format!(
                            "argument {} of `{name}` must be {}, but {} is {}",
                            k + 1,
                            want.shape.describe(),
                            self.snippet(a.span),
                            got.shape.describe()
                        ),
                    )
                    .label(format!(
                        "{} ≠ {}",
                        got.shape.numeric(),
                        want.shape.numeric()
                    )),
                );
            }
        }
        ok.then_some(())
    }

    /// The last argument of a model function names a parameter group.
    fn group_arg(&mut self, arg: Option<&Expr>, want: Option<&str>) {
        let Some(a) = arg else { return };
        let ExprKind::Name(n) = &a.kind else {
            self.error(
                Diagnostic::new(
                    Code::E0210,
                    a.span,
                    "the last argument names the parameters, such as `φ`",
                )
                .label("not a parameter group"),
            );
            return;
        };
        let g = names::build(
            &n.word,
            n.primes,
            false,
            &n.sub.iter().map(|s| self.index_text(s)).collect::<Vec<_>>(),
        );
        let Some(want) = want else { return };
        if g != want && !self.groups.contains(&g) {
            self.error(
                Diagnostic::new(
                    Code::E0210,
                    a.span,
                    format!("`{g}` is not a parameter group of this model"),
                )
                .label(format!("expected `{want}`"))
                .help(format!("the model function is defined over `{want}`")),
            );
        }
    }

    fn builtin(
        &mut self,
        b: Builtin,
        kind: Kind,
        sub: &[Expr],
        args: &[Expr],
        span: Span,
    ) -> Option<Val> {
        if b == Builtin::NormPdf {
            return self.density(sub, args, span);
        }
        if b == Builtin::LRelu {
            self.lrelu_slope(sub)?;
        }
        if kind == Kind::Mask {
            return self.softmask(args, span);
        }
        if kind == Kind::Neighbours {
            return self.max_ne(args, span);
        }
        if kind == Kind::Pair {
            return self.extreme_pair(b, args, span);
        }
        if kind == Kind::Unpool {
            return self.max_unpool(args, span);
        }
        if !self.arity(b.name(), 1, args, span) {
            return None;
        }
        let v = self.expr(&args[0])?;
        if kind == Kind::Image {
            return self.image_builtin(b, &args[0], v);
        }
        if kind == Kind::Square {
            return self.det_or_trace(b, &args[0], v);
        }
        if !self.argument_fits(b, kind, &args[0], &v) {
            return None;
        }
        let shape = match (kind, &v.shape) {
            (Kind::VectorToScalar, _) => Shape::Scalar,
            (Kind::Diagonal, Shape::Col(n)) => Shape::Mat(n.clone(), n.clone()),
            _ => v.shape.clone(),
        };
        Some(Val {
            shape,
            per_example: v.per_example,
            labels: None,
            diagonal: kind == Kind::Diagonal,
            structure: Default::default(),
        })
    }

    /// `LReLU_{α}`'s subscript, the slope: a scalar, recorded as a number for lowering.
    fn lrelu_slope(&mut self, sub: &[Expr]) -> Option<()> {
        if let Some(s) = sub.first() {
            self.eval_recorded(s);
        }
        for s in sub {
            let v = self.expr(s)?;
            if !v.shape.is_scalar() {
                self.error(
                    Diagnostic::new(Code::E0304, s.span, "the slope of `LReLU` must be a scalar")
                        .label(v.shape.describe()),
                );
                return None;
            }
        }
        Some(())
    }

    /// Whether `v`, the one argument `arg` of the built-in `b`, has a shape its `kind` takes
    /// (and, for `BatchNorm`, is per example); reports it when not.
    fn argument_fits(&mut self, b: Builtin, kind: Kind, arg: &Expr, v: &Val) -> bool {
        let bad = |s: &Shape| match kind {
            Kind::Elementwise
            | Kind::Density
            | Kind::Image
            | Kind::Mask
            | Kind::Neighbours
            | Kind::Pair
            | Kind::Unpool
            | Kind::Square => false,
            Kind::Diagonal => !matches!(s, Shape::Col(_)),
            // `softmax` of a matrix of several columns: row by row (the notes' row-major
            // attention, tokens as rows).
            Kind::VectorToVector if b == Builtin::Softmax => {
                !matches!(s, Shape::Col(_)) && !softmax_of_rows(s)
            }
            Kind::VectorToVector | Kind::VectorToScalar => !matches!(s, Shape::Col(_)),
            Kind::Columns => !matches!(s, Shape::Col(_) | Shape::Mat(..)),
        };
        if bad(&v.shape) {
            let want = if kind == Kind::Columns {
                "a vector or a matrix"
            } else {
                "a column vector"
            };
            let mut d = Diagnostic::new(
                Code::E0304,
                arg.span,
                format!(
                    "`{}` takes {want}, but {} is {}",
                    b.name(),
                    self.snippet(arg.span),
                    v.shape.describe()
                ),
            )
            .label(v.shape.numeric());
            if b == Builtin::Softmax && !matches!(v.shape, Shape::Scalar) {
                d = d.help("`softmax[z]` of a column vector; `softmax[Z]` of a matrix of several columns is taken row by row (each row a token, the notes' `softmax(Q Kᵀ/√d) V`); `Softmax[Z]` is taken column by column (eq. 12.7)");
            }
            self.error(d);
            return false;
        }
        if b == Builtin::BatchNorm && !v.per_example {
            self.error(
                Diagnostic::new(
                    Code::E0318,
                    arg.span,
                    format!(
                        "`BatchNorm` normalises over the batch, but {} is one value for the whole batch",
                        self.snippet(arg.span)
                    ),
                )
                .label("not per example")
                .help("batch normalisation (eq. 11.7–11.8) takes a vector per example, such as a hidden layer `Ω x + β`"),
            );
            return false;
        }
        true
    }

    /// `det[A]` and `Tr[A]` (`trace[A]`) of a square matrix, a scalar (per example when `A`
    /// is). A determinant is compiled as the product of the diagonal, which is the
    /// determinant only of a triangular or diagonal matrix, or of a product of such (eq.
    /// 16.9, `Ω = L (U + D)`): of any other matrix it is refused, never computed wrong.
    fn det_or_trace(&mut self, b: Builtin, arg: &Expr, v: Val) -> Option<Val> {
        let text = self.snippet(arg.span);
        let raw = self.code(arg).unwrap_or_else(|| "Ω".to_string());
        let square = matches!(&v.shape, Shape::Mat(r, c) if r.sym == c.sym || (r.value.is_some() && r.value == c.value));
        if !square {
            self.error(
                Diagnostic::new(
                    Code::E0322,
                    arg.span,
                    format!(
                        "`{}` takes a square matrix, but {text} is {}",
                        b.name(),
                        v.shape.describe()
                    ),
                )
                .label(v.shape.numeric())
                .help("a determinant or a trace is of a square matrix `ℝ^{D×D}`; of a diagonal matrix written by its diagonal `d`, `det[diag[d]]` is the product of `d`'s entries and `Tr[diag[d]]` is `𝟏ᵀ d`"),
            );
            return None;
        }
        if b == Builtin::Det && !v.has_determinant() {
            self.error(
                Diagnostic::new(
                    Code::E0320,
                    arg.span,
                    format!("the compiler does not know {text} to be triangular or diagonal, so its determinant is not the product of its diagonal"),
                )
                .label("a general square matrix")
                .help(format!(
                    "a determinant is compiled for a matrix known to be triangular: declare it so, `param {raw} : ℝ^{{D×D}} lower triangular` (or `upper triangular`, `unit lower triangular`, `strictly upper triangular`, `diagonal`); a diagonal matrix `diag[d]`; or a product of such, as eq. 16.9's `Ω = L (U + D)` with `det[Ω] = det[L] det[U + D]`. A general matrix's determinant (an LU factorisation) is not supported"
                )),
            );
            return None;
        }
        Some(Val {
            per_example: v.per_example,
            ..Val::scalar()
        })
    }

    /// `MaxUnpool[P, H]` (§10.4.2): `P` of the shape `MaxPool[H]` has (the one rule,
    /// `image_builtin`, which also refuses odd sizes), both per example; the result has `H`'s
    /// shape.
    fn max_unpool(&mut self, args: &[Expr], span: Span) -> Option<Val> {
        if !self.arity("MaxUnpool", 2, args, span) {
            return None;
        }
        let (p, h) = (self.expr(&args[0]), self.expr(&args[1]));
        let (p, h) = (p?, h?);
        let pooled = self.image_builtin(Builtin::MaxUnpool, &args[1], h.clone())?;
        if !p.shape.same(&pooled.shape) || !p.per_example || !h.per_example {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    args[0].span,
                    format!(
                        "`MaxUnpool` puts back values of the shape max pooling gives {}, {} per example, but {} is {}{}",
                        self.snippet(args[1].span),
                        pooled.shape.describe(),
                        self.snippet(args[0].span),
                        p.shape.describe(),
                        if p.per_example && h.per_example { "" } else { ", not both per example" }
                    ),
                )
                .label(p.shape.numeric())
                .help("max unpooling (§10.4.2) takes the pooled values and the image they were pooled from: `MaxUnpool[p, h]` with `p = MaxPool[h]` or of its shape"),
            );
            return None;
        }
        Some(h)
    }

    /// `Softmask[S, M]` (eq. 13.24): scores `S` and a mask `M` of one shape, a matrix (per
    /// example, or the same for every example); a mask per example needs scores per example.
    fn softmask(&mut self, args: &[Expr], span: Span) -> Option<Val> {
        if !self.arity("Softmask", 2, args, span) {
            return None;
        }
        let (s, m) = (self.expr(&args[0]), self.expr(&args[1]));
        let (s, m) = (s?, m?);
        if !matches!(s.shape, Shape::Mat(..)) || !s.shape.same(&m.shape) {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    args[0].span.to(args[1].span),
                    format!(
                        "`Softmask` takes scores and a mask that are matrices of one shape, but {} is {} and {} is {}",
                        self.snippet(args[0].span),
                        s.shape.describe(),
                        self.snippet(args[1].span),
                        m.shape.describe()
                    ),
                )
                .label(format!("{} and {}", s.shape.numeric(), m.shape.numeric()))
                .help("the mask says which entries of each column take part in its softmax (eq. 13.24: `Softmask[S, A + I]`, S ∈ ℝ^{N×N})"),
            );
            return None;
        }
        if m.per_example && !s.per_example {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    args[0].span,
                    format!(
                        "the mask of `Softmask` varies from example to example, but the scores {} are one matrix for the whole batch",
                        self.snippet(args[0].span)
                    ),
                )
                .label("not per example"),
            );
            return None;
        }
        Some(Val {
            shape: s.shape.unify(&m.shape),
            per_example: s.per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// `MaxNe[H, A]` (eq. 13.21 for every node): node features `H ∈ ℝ^{D×N}`, a node per
    /// column, and the adjacency `A ∈ ℝ^{N×N}` (per example, or the same for every example;
    /// an adjacency per example needs features per example); the result is `H`'s shape.
    fn max_ne(&mut self, args: &[Expr], span: Span) -> Option<Val> {
        if !self.arity("MaxNe", 2, args, span) {
            return None;
        }
        let (h, a) = (self.expr(&args[0]), self.expr(&args[1]));
        let (h, a) = (h?, a?);
        let fits = match (&h.shape, &a.shape) {
            (Shape::Mat(_, n), Shape::Mat(r, c)) => n.same(r) && n.same(c),
            _ => false,
        };
        if !fits {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    args[0].span.to(args[1].span),
                    format!(
                        "`MaxNe` takes node features `H ∈ ℝ^{{D×N}}` and the adjacency `A ∈ ℝ^{{N×N}}`, but {} is {} and {} is {}",
                        self.snippet(args[0].span),
                        h.shape.describe(),
                        self.snippet(args[1].span),
                        a.shape.describe()
                    ),
                )
                .label(format!("{} and {}", h.shape.numeric(), a.shape.numeric()))
                .help("`MaxNe[H, A]` is eq. 13.21's `max_{m ∈ ne[n]} [h_m]` for every node n: the features first (a node per column), the adjacency second (`A[m, n] ≠ 0` when m is a neighbour of n)"),
            );
            return None;
        }
        if a.per_example && !h.per_example {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    args[0].span,
                    format!(
                        "the adjacency of `MaxNe` varies from example to example, but the features {} are one matrix for the whole batch",
                        self.snippet(args[0].span)
                    ),
                )
                .label("not per example"),
            );
            return None;
        }
        Some(Val {
            shape: h.shape,
            per_example: h.per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// `MaxPool[H]`, `MeanPool[H]` (2×2 regions, §10.4), `Upsample[H]` (§10.4.2) and `vec[P]`
    /// of a matrix `ℝ^{H×W}`: `ℝ^{H/2×W/2}` with `H` and `W` even and known, `ℝ^{2H×2W}`,
    /// and `ℝ^{HW}`; of an image with channels
    /// `ℝ^{C×H×W}`, each channel pooled alone, `ℝ^{C×H/2×W/2}`, and `ℝ^{CHW}` (column-major,
    /// the channel fastest). For `MaxUnpool`, the pooled shape of the image its values go
    /// back into.
    fn image_builtin(&mut self, b: Builtin, arg: &Expr, v: Val) -> Option<Val> {
        let (channels, h, w) = match &v.shape {
            Shape::Mat(h, w) => (None, h, w),
            Shape::Tensor(ds) if ds.len() == 3 => (Some(&ds[0]), &ds[1], &ds[2]),
            _ => {
                self.error(
                    Diagnostic::new(
                        Code::E0304,
                        arg.span,
                        format!(
                            "`{}` takes a matrix or an image with channels `ℝ^{{C×H×W}}`, but {} is {}",
                            b.name(),
                            self.snippet(arg.span),
                            v.shape.describe()
                        ),
                    )
                    .label(v.shape.numeric()),
                );
                return None;
            }
        };
        let shape = if matches!(b, Builtin::MaxPool | Builtin::MeanPool | Builtin::MaxUnpool) {
            let (hv, wv) = (h.value.unwrap_or(1), w.value.unwrap_or(1));
            if hv % 2 != 0 || wv % 2 != 0 || hv <= 0 || wv <= 0 || h.wild || w.wild {
                let what = if b == Builtin::MeanPool {
                    "mean"
                } else {
                    "maximum"
                };
                self.error(
                    Diagnostic::new(
                        Code::E0304,
                        arg.span,
                        format!(
                            "`{}` takes the {what} of each 2×2 region, but {} is {} (its sizes must be even numbers)",
                            b.name(),
                            self.snippet(arg.span),
                            v.shape.describe()
                        ),
                    )
                    .label(v.shape.numeric()),
                );
                return None;
            }
            let (h2, w2) = (Dim::constant(hv / 2), Dim::constant(wv / 2));
            match channels {
                None => Shape::Mat(h2, w2),
                Some(c) => Shape::Tensor(vec![c.clone(), h2, w2]),
            }
        } else if b == Builtin::Upsample {
            let double = |d: &Dim| Dim {
                sym: d.sym.mul(&super::shape::Poly::constant(2)),
                value: d.value.and_then(|v| v.checked_mul(2)),
                wild: d.wild,
            };
            let (h2, w2) = (double(h), double(w));
            match channels {
                None => Shape::Mat(h2, w2),
                Some(c) => Shape::Tensor(vec![c.clone(), h2, w2]),
            }
        } else {
            let one = Dim::constant(1);
            let c = channels.unwrap_or(&one);
            Shape::Col(Dim {
                sym: c.sym.mul(&h.sym).mul(&w.sym),
                value: c
                    .value
                    .zip(h.value)
                    .zip(w.value)
                    .map(|((c, a), b)| c * a * b),
                wild: c.wild || h.wild || w.wild,
            })
        };
        Some(Val {
            shape,
            per_example: v.per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// `Norm_y[μ, σ²]`: the normal density at `y`, element-wise.
    fn density(&mut self, sub: &[Expr], args: &[Expr], span: Span) -> Option<Val> {
        let Some(point) = sub.first() else {
            self.error(
                Diagnostic::new(
                    Code::E0204,
                    span,
                    "`Norm` needs the point as a subscript: `Norm_y[μ, σ²]`",
                )
                .label("no subscript")
                .help(
                    "as a distribution (after `~`), `Norm[0, I]` declares noise or an initialiser",
                ),
            );
            return None;
        };
        if !self.arity("Norm", 2, args, span) {
            return None;
        }
        let y = self.expr(point);
        let mu = self.expr(&args[0]);
        let var = self.expr(&args[1]);
        let (y, mu, var) = (y?, mu?, var?);
        for (what, v, e) in [("mean", &mu, &args[0]), ("variance", &var, &args[1])] {
            if !v.shape.is_scalar() && !v.shape.same(&y.shape) {
                let mut d = Diagnostic::new(
                    Code::E0304,
                    e.span,
                    format!(
                        "the {what} of a normal density at {} : {} must be a scalar or of the same shape, but {} is {}",
                        self.snippet(point.span),
                        y.shape.describe(),
                        self.snippet(e.span),
                        v.shape.describe()
                    ),
                )
                .label(v.shape.numeric());
                // `Norm_{y_i}[f[x_i, φ], …]` of a vector output: one component is meant.
                if y.shape.is_scalar()
                    && let ExprKind::Call { func, .. } = &e.kind
                    && func.sub.is_empty()
                    && let Some(rest) = self.src().get(func.span.end as usize..e.span.end as usize)
                    && let Some(word) = self.src().get(func.span.range())
                    && !rest.contains('\n')
                {
                    d = d.help(format!("select one component, e.g. `{word}_1{rest}`"));
                }
                self.error(d);
                return None;
            }
        }
        let per_example = y.per_example || mu.per_example || var.per_example;
        Some(Val {
            shape: y.shape,
            per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    // ------------------------------------------------------------------ big operators

    /// `E0209`: a big operator (`∑`, `max`, …) written without its index.
    pub(super) fn needs_index(&mut self, sym: &str, span: Span, help: String) {
        self.error(
            Diagnostic::new(Code::E0209, span, format!("`{sym}` needs an index"))
                .label("no index")
                .help(help),
        );
    }

    fn big(
        &mut self,
        op: BigOp,
        binder: Option<&ast::Binder>,
        upper: Option<&Expr>,
        body: &Expr,
        span: Span,
    ) -> Option<Val> {
        if let Some(b) = binder
            && b.except.is_some()
        {
            return self.except_sum(op, b, upper, body, span);
        }
        if let Some(b) = binder
            && !b.pair.is_empty()
            && !self.observed_pairs(op, b, upper)
        {
            return None;
        }
        if op.extreme().is_some() {
            return self.extreme_big(op, binder, upper, body, span);
        }
        let sym = op.symbol();
        let Some(b) = binder else {
            self.needs_index(
                sym,
                span,
                format!(
                    "write `{sym}_i …` over the batch, or `{sym}_{{k=1}}^{{K}} …` over a range"
                ),
            );
            return None;
        };
        let var = self.canonical_plain(&b.var);
        if let Some(set) = b.set.as_deref()
            && let ExprKind::Call { func, .. } = &set.kind
            && func.is_bare("ne")
        {
            // `∑_{m ∈ ne[n]}` outside a node-wise equation: no node n to sum for.
            self.error(
                Diagnostic::new(Code::E0261, set.span, "a sum over a node's neighbours outside a node-wise equation")
                    .label("no node `n` is bound here")
                    .help("sum over the neighbours in an equation for every node, `agg[n] = ∑_{m ∈ ne[n]} h_m` (the matrix `agg`), or write the matrix form `H A`"),
            );
            return None;
        }
        let batch_upper = upper.is_some_and(crate::conventions::is_batch_upper);
        if b.set.is_none() && !batch_upper && (b.lo.is_some() || upper.is_some()) {
            return self.unrolled(op, &var, b, upper, body, span);
        }
        let kind = if b.set.is_none() && self.indexes_group(body, &var) {
            Bound::Group
        } else {
            Bound::Batch
        };
        self.binds.push((var, kind));
        let v = self.expr(body);
        self.binds.pop();
        if kind == Bound::Batch {
            self.batch_sums.push(span);
        }
        let v = v?;
        if kind == Bound::Group && !v.shape.is_scalar() {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    body.span,
                    "a sum over parameter entries needs a scalar summand",
                )
                .label(v.shape.describe()),
            );
            return None;
        }
        Some(Val::global(v.shape))
    }

    /// Whether `body` subscripts a parameter group with `var` (`φ_j` in `∑_j φ_j²`).
    fn indexes_group(&self, body: &Expr, var: &str) -> bool {
        let mut found = false;
        walk(body, &mut |x| {
            if let ExprKind::Name(n) = &x.kind
                && let Some(ExprKind::Name(last)) = n.sub.last().map(|s| &s.kind)
                && names::build(&last.word, last.primes, false, &[]) == var
            {
                let base = names::build(&n.word, n.primes, false, &[]);
                let implicit =
                    self.groups.is_empty() && base == "φ" && !self.scope.contains_key("φ");
                if implicit || self.groups.contains(&base) {
                    found = true;
                }
            }
        });
        found
    }

    /// `∑_{k=1}^{K} body`: the body once per value of `k`.
    pub(super) fn unrolled(
        &mut self,
        op: BigOp,
        var: &str,
        b: &ast::Binder,
        upper: Option<&Expr>,
        body: &Expr,
        span: Span,
    ) -> Option<Val> {
        let lo = match b.lo.as_deref() {
            Some(e) => self.eval_int_recorded(e).ok_or(e.span),
            None => Ok(1),
        };
        let hi = match upper {
            Some(e) => self.eval_int_recorded(e).ok_or(e.span),
            None => Err(b.span),
        };
        let (lo, hi) = match (lo, hi) {
            (Ok(lo), Ok(hi)) => (lo, hi),
            (Err(s), _) | (_, Err(s)) => {
                let bad = match (b.lo.as_deref(), upper) {
                    (Some(e), _) if e.span == s => Some(e),
                    (_, Some(e)) if e.span == s => Some(e),
                    _ => None,
                };
                let what = format!("the limits of this {}", op.word());
                if bad.is_some_and(|e| self.range_without_value(e, &what)) {
                    return None;
                }
                self.error(
                    Diagnostic::new(Code::E0208, s, format!("{what} have no value"))
                        .label("must evaluate to an integer")
                        .help("a sum over the batch is written `∑_i` or `∑_{i=1}^{I}`; other limits must be numbers or hyper-parameters with values"),
                );
                return None;
            }
        };
        self.unrolled_terms(op, var, (lo, hi), body, span)
    }

    /// The body once per value of `var` from `lo` to `hi`, the terms of one shape (or
    /// scalars): the shape of their sum, product or maximum.
    pub(super) fn unrolled_terms(
        &mut self,
        op: BigOp,
        var: &str,
        (lo, hi): (i64, i64),
        body: &Expr,
        span: Span,
    ) -> Option<Val> {
        if hi < lo {
            self.error(
                Diagnostic::new(
                    Code::E0313,
                    span,
                    format!("the {} runs over an empty range {{{lo} … {hi}}}", op.word()),
                )
                .label("no terms")
                .help("the lower limit must not exceed the upper one: swap them to count the same terms"),
            );
            return None;
        }
        let count = usize::try_from(hi - lo + 1).unwrap_or(usize::MAX);
        if !self.reserve(count, span) || self.index_shadows(var, span) {
            return None;
        }
        let mut acc: Option<Val> = None;
        for k in lo..=hi {
            self.binds.push((var.to_string(), Bound::Int(k)));
            let v = self.expr(body);
            self.binds.pop();
            let v = v?;
            acc = Some(match acc {
                None => Val { labels: None, ..v },
                Some(a) if a.shape.same(&v.shape) || v.shape.is_scalar() => Val {
                    shape: a.shape.unify(&v.shape),
                    per_example: a.per_example || v.per_example,
                    labels: None,
                    diagonal: false,
                    structure: Default::default(),
                },
                Some(a) if a.shape.is_scalar() => Val {
                    per_example: a.per_example || v.per_example,
                    labels: None,
                    diagonal: false,
                    structure: Default::default(),
                    ..v
                },
                Some(a) => {
                    let word = op.word();
                    self.error(
                        Diagnostic::new(
                            Code::E0302,
                            body.span,
                            format!("the terms of this {word} differ in shape: {} for {var} = {lo}, {} for {var} = {k}", a.shape.describe(), v.shape.describe()),
                        )
                        .label("terms of different shapes"),
                    );
                    return None;
                }
            });
        }
        acc
    }
}

impl Shape {
    /// A matrix with one row or one column as the row or column vector it is.
    fn as_vector(&self) -> Shape {
        let one = |d: &Dim| d.value == Some(1) || d.sym.as_constant() == Some(1);
        match self {
            Shape::Mat(a, b) if one(a) && !one(b) => Shape::Row(b.clone()),
            Shape::Mat(a, b) if one(b) && !one(a) => Shape::Col(a.clone()),
            other => other.clone(),
        }
    }

    /// The number of columns of a matrix as a dimension (rows of its transpose).
    fn transpose_cols(&self) -> Dim {
        match self {
            Shape::Mat(_, b) => b.clone(),
            Shape::Col(d) | Shape::Row(d) => d.clone(),
            Shape::Scalar | Shape::Tensor(_) => Dim::constant(1),
        }
    }
}

fn dim_text(d: &Dim) -> String {
    Shape::Col(d.clone())
        .numeric()
        .trim_start_matches("ℝ^{")
        .trim_end_matches('}')
        .to_string()
}

/// The identity, possibly bracketed or scaled: `I`, `(I)`, `(1 + ε) I`, `2 · I`.
fn is_identity_term(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Identity => true,
        ExprKind::Paren(x) => is_identity_term(x),
        ExprKind::Binary {
            op: ast::BinOp::Juxt | ast::BinOp::Scale,
            rhs,
            ..
        } => is_identity_term(rhs),
        _ => false,
    }
}

/// Whether `a op b` is a diagonal matrix when the operands are as they are: sums of diagonal
/// matrices (`D + I`), their products, and a diagonal matrix scaled, multiplied entry by
/// entry, or divided by a scalar.
fn diagonal_result(op: BinOp, a: &Val, b: &Val) -> bool {
    let scaled = |d: &Val, s: &Val| d.diagonal && s.shape.is_scalar() && !s.diagonal;
    match op {
        BinOp::Add | BinOp::Sub => a.diagonal && b.diagonal,
        BinOp::Hadamard => a.diagonal || b.diagonal,
        BinOp::Div => scaled(a, b),
        BinOp::Scale | BinOp::Juxt => (a.diagonal && b.diagonal) || scaled(a, b) || scaled(b, a),
    }
}

/// What `a op b` is known to be of the triangles (eq. 16.9): sums and entry-wise products
/// keep a triangle both sides share (an entry-wise product one either side has), scaling by
/// a scalar keeps it, a product of two lower (upper) triangular matrices is lower (upper)
/// triangular, and any other product of square matrices whose determinants are known is
/// `Factored`: `det[A B] = det[A] det[B]`.
fn structure_result(op: BinOp, a: &Val, b: &Val) -> Structure {
    let tri = |lower: bool, upper: bool| match (lower, upper) {
        (true, _) => Structure::Lower,
        (false, true) => Structure::Upper,
        _ => Structure::General,
    };
    let scalar = |v: &Val| v.shape.is_scalar() && !v.diagonal;
    // A triangle scaled is a triangle; a scaled product is no product of triangles.
    let scaled = |v: &Val| match v.structure {
        Structure::Factored => Structure::General,
        other => other,
    };
    let square = |v: &Val| matches!(&v.shape, Shape::Mat(r, c) if r.sym == c.sym);
    match op {
        BinOp::Add | BinOp::Sub => tri(a.is_lower() && b.is_lower(), a.is_upper() && b.is_upper()),
        BinOp::Hadamard => tri(a.is_lower() || b.is_lower(), a.is_upper() || b.is_upper()),
        BinOp::Div if scalar(b) => scaled(a),
        BinOp::Div => Structure::General,
        BinOp::Scale | BinOp::Juxt => {
            if scalar(a) {
                scaled(b)
            } else if scalar(b) {
                scaled(a)
            } else if a.is_lower() && b.is_lower() {
                Structure::Lower
            } else if a.is_upper() && b.is_upper() {
                Structure::Upper
            } else if a.has_determinant() && b.has_determinant() && square(a) && square(b) {
                Structure::Factored
            } else {
                Structure::General
            }
        }
    }
}

/// Whether `softmax` reads `s` row by row: a matrix of more than one column (one column would
/// be a vector's layout, whose softmax is the column's).
fn softmax_of_rows(s: &Shape) -> bool {
    matches!(s, Shape::Mat(_, c) if c.value.is_some_and(|n| n > 1))
}
