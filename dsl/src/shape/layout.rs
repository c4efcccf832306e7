//! The IR's concrete layout of a value, `rows × cols`, and [`of`], the one map from a checked
//! value's type ([`super::Val`]: symbolic dimensions with their values, per example or global)
//! to that layout.
//!
//! Checking works on the book's per-example shapes (`ℝ^{D×N}`); the IR holds a batch of them
//! as one matrix, `D × (N·B)` (see [`Cols`]). Lowering asks [`of`] for the layout of every
//! declaration checking recorded (`check::ModelInfo::declared`) and never evaluates a declared
//! dimension itself.

use super::{Shape as Symbolic, Val};
use std::fmt;

/// A column count: fixed, or a number of columns per example times the batch size `B`,
/// known only at run time.
///
/// A per-example value of the book is a matrix block per example, and a batch of them is the
/// blocks side by side, the batch outermost: a vector `ℝ^{D}` per example is `D × B`
/// (`Batch(1)`), a matrix `ℝ^{D×N}` per example (tokens as columns, eq. 12.6) is `D × (N·B)`
/// (`Batch(N)`), example `b`'s columns `b·N … b·N + N - 1`. So `Ω X` is one GEMM for the
/// whole batch, a bias broadcasts to every column, column-wise functions (softmax) and
/// element-wise loops need no change, and a sum over every column (`G Xᵀ`, the gradient of
/// `Ω`) contracts over examples and tokens at once. Only ops that mix the columns of one
/// example need to know `N` (`SumExampleCols`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cols {
    /// A fixed number of columns.
    Fixed(usize),
    /// This many columns per example (1 for a vector per example).
    Batch(usize),
}

impl Cols {
    /// One column per example: a vector (or number) per example.
    pub const EXAMPLE: Cols = Cols::Batch(1);

    /// Whether the count depends on the batch.
    pub fn is_batch(self) -> bool {
        matches!(self, Cols::Batch(_))
    }
}

/// The shape of a value: `rows × cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Rows (the book's vector length).
    pub rows: usize,
    /// Columns.
    pub cols: Cols,
}

impl Shape {
    /// A `1 × 1` scalar.
    pub const SCALAR: Shape = Shape {
        rows: 1,
        cols: Cols::Fixed(1),
    };

    /// A fixed-size `rows × cols` matrix.
    pub fn fixed(rows: usize, cols: usize) -> Shape {
        Shape {
            rows,
            cols: Cols::Fixed(cols),
        }
    }

    /// The shape in the book's notation, for messages: `ℝ`, `ℝ^{4}`, `ℝ^{4×3}`, or
    /// `ℝ^{4} per example` for a batch.
    pub fn book(&self) -> String {
        let per_example = |rows: usize| match rows {
            1 => "ℝ".to_string(),
            r => format!("ℝ^{{{r}}}"),
        };
        match self.cols {
            Cols::Fixed(1) => per_example(self.rows),
            Cols::Fixed(c) => format!("ℝ^{{{}×{c}}}", self.rows),
            Cols::Batch(1) => format!("{} per example", per_example(self.rows)),
            Cols::Batch(n) => format!("ℝ^{{{}×{n}}} per example", self.rows),
        }
    }

    /// A `rows × B` batch of column vectors.
    pub fn batch(rows: usize) -> Shape {
        Shape {
            rows,
            cols: Cols::EXAMPLE,
        }
    }

    /// A batch of `rows × n` matrices: `rows × (n·B)`.
    pub fn batch_matrix(rows: usize, n: usize) -> Shape {
        Shape {
            rows,
            cols: Cols::Batch(n),
        }
    }

    /// Entries per example (for a batch) or in all (for a fixed shape).
    pub fn len_per_example(self) -> usize {
        match self.cols {
            Cols::Fixed(c) | Cols::Batch(c) => self.rows * c,
        }
    }

    /// The matrix's column count for a batch of `batch` examples.
    pub fn cols_for(self, batch: usize) -> usize {
        match self.cols {
            Cols::Fixed(c) => c,
            Cols::Batch(n) => n * batch,
        }
    }
}

/// A label set as the IR keeps it: the first label and how many there are (`{0, 1}` is
/// `(0, 2)`).
pub type LabelSet = (i32, usize);

/// The layout of a declared value: its shape, and for labels their set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `rows × cols`, a batch for a value per example.
    pub shape: Shape,
    /// The set of a label, or of each entry of a vector or matrix of labels.
    pub labels: Option<LabelSet>,
}

/// Why a checked type has no layout: the IR cannot hold it yet (lowering reports `E0406`
/// with this text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlaid {
    /// A dimension whose hyper-parameter has no value.
    NoValue,
    /// A label set starting beyond the range of `i32`.
    LabelRange,
}

impl fmt::Display for Unlaid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unlaid::NoValue => "a dimension without a value (give its hyper-parameter a default)",
            Unlaid::LabelRange => "a class label beyond ±2³¹",
        })
    }
}

/// The IR layout of a checked value: a value per example is a batch (`D × B`, a matrix
/// `ℝ^{D×N}` is `D × (N·B)`), any other value fixed (`D × 1`, `D × E`, a scalar `1 × 1`); a
/// tensor `ℝ^{C×H×W}` is `C × (H·W)` per example and a kernel `ℝ^{C_o×C_i×K×L}` is
/// `C_o × (C_i·K·L)`, column-major (`ir::conv`). The one place a checked type becomes a
/// layout.
pub fn of(v: &Val) -> Result<Layout, Unlaid> {
    let size = |d: &super::Dim| {
        d.value
            .filter(|v| *v >= 1)
            .map(|v| v as usize)
            .ok_or(Unlaid::NoValue)
    };
    let labels = match &v.labels {
        None => None,
        Some(l) => {
            // Labels of any rank are laid out as numbers of that rank: an image of labels
            // (`{0, 1}^{C×H×W}`, binary pixels) is the `C × (H·W)` matrix of a real image,
            // each entry in the set.
            let lo = i32::try_from(l.lo).map_err(|_| Unlaid::LabelRange)?;
            Some((lo, size(&l.count)?))
        }
    };
    let (rows, cols) = match &v.shape {
        Symbolic::Scalar => (1, 1),
        Symbolic::Col(d) => (size(d)?, 1),
        Symbolic::Row(d) => (1, size(d)?),
        Symbolic::Mat(r, c) => (size(r)?, size(c)?),
        Symbolic::Tensor(ds) => {
            let mut n = 1usize;
            for d in ds.iter().skip(1) {
                n = n.saturating_mul(size(d)?);
            }
            (ds.first().map_or(Ok(1), size)?, n)
        }
    };
    let shape = if v.per_example {
        Shape::batch_matrix(rows, cols)
    } else {
        Shape::fixed(rows, cols)
    };
    Ok(Layout { shape, labels })
}
