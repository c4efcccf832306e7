//! Shapes, one module for checking and the IR: the symbolic dimensions, shapes and types of
//! values that checking infers, printed in the book's notation, and ([`layout`]) the IR's
//! concrete `rows × cols` layout with the one map from the first to the second.
//!
//! A [`Dim`] is a polynomial over hyper-parameter names (`D`, `D_o-1`, `2·D`) together with its
//! value when the hyper-parameters have one. Two dimensions are equal when both values are
//! known and equal, or else when the polynomials are equal. Shapes are per example: a scalar,
//! a column vector `ℝ^{D}`, a row vector (a transposed column) or a matrix `ℝ^{D×E}`.

pub mod layout;

use std::fmt;

/// A polynomial with integer coefficients over hyper-parameter names.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Poly {
    /// (monomial, coefficient) sorted by monomial (sorted factor names; empty for the
    /// constant, first), zeros removed: a vector rather than a map, since a dimension has a
    /// term or two and is cloned with every type.
    terms: Vec<(Vec<String>, i64)>,
}

impl Poly {
    /// A constant.
    pub fn constant(c: i64) -> Poly {
        let mut p = Poly::default();
        p.add_term(Vec::new(), c);
        p
    }

    /// A single hyper-parameter.
    pub fn var(name: &str) -> Poly {
        let mut p = Poly::default();
        p.add_term(vec![name.to_string()], 1);
        p
    }

    fn add_term(&mut self, mono: Vec<String>, c: i64) {
        match self.terms.binary_search_by(|(m, _)| m.cmp(&mono)) {
            Ok(i) => {
                let e = &mut self.terms[i].1;
                *e = e.saturating_add(c);
                if *e == 0 {
                    self.terms.remove(i);
                }
            }
            Err(i) if c != 0 => self.terms.insert(i, (mono, c)),
            Err(_) => {}
        }
    }

    /// `self + sign·other`.
    pub fn add(&self, other: &Poly, sign: i64) -> Poly {
        let mut p = self.clone();
        for (m, c) in &other.terms {
            p.add_term(m.clone(), c.saturating_mul(sign));
        }
        p
    }

    /// `self · other`.
    pub fn mul(&self, other: &Poly) -> Poly {
        let mut p = Poly::default();
        for (ma, ca) in &self.terms {
            for (mb, cb) in &other.terms {
                let mut m: Vec<String> = ma.iter().chain(mb.iter()).cloned().collect();
                m.sort();
                p.add_term(m, ca.saturating_mul(*cb));
            }
        }
        p
    }

    /// The coefficient of the constant monomial, if it has one.
    fn constant_term(&self) -> Option<i64> {
        self.terms
            .first()
            .filter(|(m, _)| m.is_empty())
            .map(|(_, c)| *c)
    }

    /// The constant value, if the polynomial has no variables.
    pub fn as_constant(&self) -> Option<i64> {
        match self.terms.len() {
            0 => Some(0),
            1 => self.constant_term(),
            _ => None,
        }
    }
}

impl fmt::Display for Poly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return f.write_str("0");
        }
        // Variables first (in name order), the constant last: `D_o-1`, `2·D+1`.
        let mut first = true;
        let constant = self.constant_term();
        for (m, c) in self.terms.iter().filter(|(m, _)| !m.is_empty()) {
            let (sign, mag) = if *c < 0 {
                ("-", c.unsigned_abs())
            } else {
                ("+", c.unsigned_abs())
            };
            if !first || sign == "-" {
                f.write_str(sign)?;
            }
            if mag != 1 {
                write!(f, "{mag}·")?;
            }
            f.write_str(&m.join("·"))?;
            first = false;
        }
        if let Some(c) = constant {
            if first {
                write!(f, "{c}")?;
            } else if c < 0 {
                write!(f, "-{}", c.unsigned_abs())?;
            } else {
                write!(f, "+{c}")?;
            }
        }
        Ok(())
    }
}

/// One dimension: symbolic form and, where the hyper-parameters have values, its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Dim {
    /// The symbolic form, as written in the spec.
    pub sym: Poly,
    /// The value under the model's hyper-parameters.
    pub value: Option<i64>,
    /// A dimension that matches any other (the length of `𝟏`).
    pub wild: bool,
}

impl Dim {
    /// A known constant dimension.
    pub fn constant(n: i64) -> Dim {
        Dim {
            sym: Poly::constant(n),
            value: Some(n),
            wild: false,
        }
    }

    /// A dimension that unifies with anything.
    pub fn wild() -> Dim {
        Dim {
            sym: Poly::default(),
            value: None,
            wild: true,
        }
    }

    /// Equality as the checker needs it.
    pub fn same(&self, other: &Dim) -> bool {
        if self.wild || other.wild {
            return true;
        }
        match (self.value, other.value) {
            (Some(a), Some(b)) => a == b,
            _ => self.sym == other.sym,
        }
    }

    /// Of two equal dimensions, the more informative one (not the wildcard).
    pub fn pick<'a>(&'a self, other: &'a Dim) -> &'a Dim {
        if self.wild { other } else { self }
    }

    fn symbolic(&self) -> String {
        if self.wild {
            "?".to_string()
        } else {
            self.sym.to_string()
        }
    }

    fn numeric(&self) -> String {
        match (self.wild, self.value) {
            (true, _) => "?".to_string(),
            (false, Some(v)) => v.to_string(),
            (false, None) => self.sym.to_string(),
        }
    }
}

/// The shape of one example's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// `ℝ`.
    Scalar,
    /// `ℝ^{D}`, a column vector.
    Col(Dim),
    /// `ℝ^{1×D}`, a transposed column vector.
    Row(Dim),
    /// `ℝ^{D×E}`.
    Mat(Dim, Dim),
    /// A tensor of rank 3 or 4: an image with channels `ℝ^{C×H×W}` per example, a kernel
    /// `ℝ^{C_o×C_i×K×L}`. Held column-major, the first index fastest, as the IR's
    /// `C × (H·W·B)` and `C_o × (C_i·K·L)` (`ir::conv`).
    Tensor(Vec<Dim>),
}

impl Shape {
    /// Whether two shapes are equal (dimension by dimension).
    pub fn same(&self, other: &Shape) -> bool {
        match (self, other) {
            (Shape::Scalar, Shape::Scalar) => true,
            (Shape::Col(a), Shape::Col(b)) | (Shape::Row(a), Shape::Row(b)) => a.same(b),
            (Shape::Mat(a, b), Shape::Mat(c, d)) => a.same(c) && b.same(d),
            (Shape::Tensor(a), Shape::Tensor(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
            }
            _ => false,
        }
    }

    /// Of two equal shapes, the one without wildcards where possible.
    pub fn unify(&self, other: &Shape) -> Shape {
        match (self, other) {
            (Shape::Col(a), Shape::Col(b)) => Shape::Col(a.pick(b).clone()),
            (Shape::Row(a), Shape::Row(b)) => Shape::Row(a.pick(b).clone()),
            (Shape::Mat(a, b), Shape::Mat(c, d)) => {
                Shape::Mat(a.pick(c).clone(), b.pick(d).clone())
            }
            (Shape::Tensor(a), Shape::Tensor(b)) if a.len() == b.len() => {
                Shape::Tensor(a.iter().zip(b).map(|(x, y)| x.pick(y).clone()).collect())
            }
            _ => self.clone(),
        }
    }

    /// Whether this is a scalar. A vector or matrix whose every dimension is 1 counts as one,
    /// as in the book, where a network with one output `ℝ^{1}` is a scalar function.
    pub fn is_scalar(&self) -> bool {
        let one = |d: &Dim| !d.wild && (d.value == Some(1) || d.sym.as_constant() == Some(1));
        match self {
            Shape::Scalar => true,
            Shape::Col(d) | Shape::Row(d) => one(d),
            Shape::Mat(a, b) => one(a) && one(b),
            Shape::Tensor(ds) => ds.iter().all(one),
        }
    }

    /// The transpose (a tensor of rank 3 or 4 has none; it stays as it is, and the checker
    /// refuses `ᵀ` of one).
    pub fn transpose(&self) -> Shape {
        match self {
            Shape::Tensor(_) => self.clone(),
            Shape::Scalar => Shape::Scalar,
            Shape::Col(d) => Shape::Row(d.clone()),
            Shape::Row(d) => Shape::Col(d.clone()),
            Shape::Mat(a, b) => Shape::Mat(b.clone(), a.clone()),
        }
    }

    /// The values of the last two dimensions of a tensor of `rank` dimensions (`H, W` of an
    /// image `ℝ^{C×H×W}`, `K, L` of a kernel `ℝ^{C_o×C_i×K×L}`), which the IR's layout folds
    /// into its columns and the ops that need them carry.
    pub fn last_two(&self, rank: usize) -> Option<[u32; 2]> {
        let Shape::Tensor(ds) = self else {
            return None;
        };
        let [.., h, w] = ds.as_slice() else {
            return None;
        };
        if ds.len() != rank {
            return None;
        }
        let size = |d: &Dim| u32::try_from(d.value.filter(|v| *v >= 1)?).ok();
        Some([size(h)?, size(w)?])
    }

    /// The book's notation with symbolic dimensions: `ℝ^{D×D_i}`.
    pub fn symbolic(&self) -> String {
        self.render(Dim::symbolic)
    }

    /// The book's notation with the dimensions' values: `ℝ^{64×784}`.
    pub fn numeric(&self) -> String {
        self.render(Dim::numeric)
    }

    /// Symbolic, followed by the values when they say something more: `ℝ^{D} (= ℝ^{64})`.
    pub fn describe(&self) -> String {
        let (s, n) = (self.symbolic(), self.numeric());
        if s == n { s } else { format!("{s} (= {n})") }
    }

    fn render(&self, dim: fn(&Dim) -> String) -> String {
        match self {
            Shape::Scalar => "ℝ".to_string(),
            Shape::Col(d) => format!("ℝ^{{{}}}", dim(d)),
            Shape::Row(d) => format!("ℝ^{{1×{}}}", dim(d)),
            Shape::Mat(a, b) => format!("ℝ^{{{}×{}}}", dim(a), dim(b)),
            Shape::Tensor(ds) => {
                let ds: Vec<String> = ds.iter().map(dim).collect();
                format!("ℝ^{{{}}}", ds.join("×"))
            }
        }
    }
}

/// The value set of a class label: `{lo … lo+count-1}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Labels {
    /// The first label value.
    pub lo: i64,
    /// How many classes.
    pub count: Dim,
}

/// The type of a value in an equation.
#[derive(Clone, Debug, PartialEq)]
pub struct Val {
    /// Its shape for one example.
    pub shape: Shape,
    /// Whether it varies from example to example (data, or computed from data).
    pub per_example: bool,
    /// Set for class labels, which can select a component (`softmax_{y_i}`).
    pub labels: Option<Labels>,
    /// A square matrix known to be zero off its diagonal: `diag[v]` (the degree matrix `D`
    /// of eq. 13.18), `I`, and what keeps them diagonal (sums, products, scaling, powers). A
    /// power of a matrix is taken only of these (`D^{-1/2}`, the power of each diagonal
    /// entry).
    pub diagonal: bool,
    /// A square matrix known to be triangular, or a product of such matrices, whose
    /// determinant is the product of diagonals (eq. 16.9): a parameter declared `lower
    /// triangular`, and what keeps it so. A diagonal matrix is both kinds of triangle.
    pub structure: Structure,
}

/// What the compiler knows of a square matrix's zeros, beyond [`Val::diagonal`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Structure {
    /// Nothing known.
    #[default]
    General,
    /// Zero above the diagonal.
    Lower,
    /// Zero below the diagonal.
    Upper,
    /// A product of square triangular (or diagonal) matrices, such as `L (U + D)`: not
    /// triangular, but its determinant is the product of theirs.
    Factored,
}

impl Val {
    /// Zero above the diagonal (diagonal matrices included).
    pub fn is_lower(&self) -> bool {
        self.diagonal || self.structure == Structure::Lower
    }

    /// Zero below the diagonal (diagonal matrices included).
    pub fn is_upper(&self) -> bool {
        self.diagonal || self.structure == Structure::Upper
    }

    /// Its determinant is known to be the product of diagonals: diagonal, triangular, or a
    /// product of such.
    pub fn has_determinant(&self) -> bool {
        self.diagonal || self.structure != Structure::General
    }
}

impl Val {
    /// A value that is the same for the whole batch (parameters, constants).
    pub fn global(shape: Shape) -> Val {
        Val {
            shape,
            per_example: false,
            labels: None,
            diagonal: false,
            structure: Structure::General,
        }
    }

    /// A real scalar constant.
    pub fn scalar() -> Val {
        Val::global(Shape::Scalar)
    }

    /// The same shape, per example if either operand is.
    pub fn with_shape(shape: Shape, a: &Val, b: &Val) -> Val {
        Val {
            shape,
            per_example: a.per_example || b.per_example,
            labels: None,
            diagonal: false,
            structure: Default::default(),
        }
    }
}

/// The type as checking shows it (dumps, hover, messages): `ℝ^{D} (= ℝ^{64})`, a label set
/// `{0 … K-1}`, labels per entry `{0 … 1}^{D}`.
impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.labels {
            Some(l) => {
                let (lo, sym) = (l.lo, l.count.sym.add(&Poly::constant(l.lo - 1), 1));
                let set = format!("{{{lo} … {sym}}}");
                if self.shape.is_scalar() {
                    f.write_str(&set)
                } else {
                    let shape = self.shape.symbolic();
                    write!(f, "{set}^{}", shape.trim_start_matches("ℝ^"))
                }
            }
            None => f.write_str(&self.shape.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomials_print_like_the_book() {
        let d = Poly::var("D_o").add(&Poly::constant(1), -1);
        assert_eq!(d.to_string(), "D_o-1");
        let two_d = Poly::constant(2).mul(&Poly::var("D"));
        assert_eq!(two_d.add(&Poly::constant(1), 1).to_string(), "2·D+1");
        assert_eq!(Poly::var("D").add(&Poly::var("D"), -1).to_string(), "0");
    }

    #[test]
    fn dims_compare_by_value_then_symbol() {
        let a = Dim {
            sym: Poly::var("D"),
            value: Some(64),
            wild: false,
        };
        let b = Dim {
            sym: Poly::var("D_i"),
            value: Some(64),
            wild: false,
        };
        let c = Dim {
            sym: Poly::var("D_i"),
            value: None,
            wild: false,
        };
        assert!(a.same(&b));
        assert!(!a.same(&c));
        assert!(Dim::wild().same(&c));
        let s = Shape::Mat(a, b);
        assert_eq!(s.symbolic(), "ℝ^{D×D_i}");
        assert_eq!(s.numeric(), "ℝ^{64×64}");
        assert_eq!(s.describe(), "ℝ^{D×D_i} (= ℝ^{64×64})");
    }
}
