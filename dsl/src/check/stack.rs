//! Checking block matrices `[A, B; C, D]`: the blocks of a row side by side (equal row
//! counts, column counts added), the rows one above the other (equal column counts, row
//! counts added), `…` expanded to a family's members (`crate::ellipsis`). Eq. 12.12's
//! `[Sa_1ᵀ, …, Sa_Hᵀ]ᵀ` stacks the heads' outputs, which are matrices per example.

use super::ModelCx;
use super::shape::{Dim, Poly, Shape, Val};
use crate::ast::{Entry, Expr};
use crate::diag::{Code, Diagnostic, Span};

/// Rows and columns of a block.
type Size = (Dim, Dim);

impl ModelCx<'_, '_> {
    /// The value of `[…]`, or `None` after reporting why not.
    pub(super) fn stack(&mut self, rows: &[Vec<Entry>], span: Span) -> Option<Val> {
        let mut sizes: Vec<Size> = Vec::new();
        let mut per_example: Vec<(bool, Span)> = Vec::new();
        let mut ok = true;
        let expanded = crate::ellipsis::expand_rows(rows, &|e| self.eval_int_recorded(e));
        self.numbers
            .borrow_mut()
            .record_expansion(rows, self, expanded.as_ref().ok().cloned());
        let rows = match expanded {
            Ok(rows) => rows,
            Err((at, msg)) => {
                self.error(Diagnostic::new(Code::E0304, at, msg).label("cannot expand"));
                return None;
            }
        };
        for items in &rows {
            match self.stack_row(items) {
                Some((size, pe)) => {
                    sizes.push(size);
                    per_example.extend(pe);
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        if let Some((_, at)) = per_example.iter().find(|(p, _)| *p != per_example[0].0) {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    *at,
                    "the blocks of `[…]` must all be per example, or none",
                )
                .label("differs from the first block")
                .help("a block matrix joins each example's blocks; a fixed block would have to be repeated for every example"),
            );
            return None;
        }
        let cols = sizes.first()?.1.clone();
        if let Some(bad) = sizes.iter().find(|s| !s.1.same(&cols)) {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    span,
                    format!(
                        "the rows of `[…; …]` must have one number of columns, but they have {} and {}",
                        show(&cols),
                        show(&bad.1)
                    ),
                )
                .label("rows of different widths"),
            );
            return None;
        }
        let height = sizes
            .iter()
            .skip(1)
            .fold(sizes[0].0.clone(), |a, s| add(&a, &s.0));
        Some(Val {
            shape: shape_of(height, cols),
            per_example: per_example.first().is_some_and(|p| p.0),
            labels: None,
            diagonal: false,
            structure: Default::default(),
        })
    }

    /// One row of blocks side by side: its size and whether each block is per example.
    fn stack_row(&mut self, items: &[Expr]) -> Option<(Size, Vec<(bool, Span)>)> {
        let vals: Vec<Option<Val>> = items.iter().map(|e| self.expr(e)).collect();
        let mut sizes = Vec::new();
        let mut pe = Vec::new();
        for (v, e) in vals.into_iter().zip(items) {
            let v = v?;
            if let Shape::Tensor(_) = v.shape {
                self.error(
                    Diagnostic::new(
                        Code::E0304,
                        e.span,
                        format!(
                            "a block of `[…]` is a vector or a matrix, but this is {}",
                            v.shape.describe()
                        ),
                    )
                    .label("a tensor")
                    .help("flatten it first: `vec[h]`"),
                );
                return None;
            }
            let Some(size) = size_of(&v.shape) else {
                self.error(
                    Diagnostic::new(Code::E0304, e.span, "`𝟏` cannot be a block of `[…]`")
                        .label("its length is not known here")
                        .help("write the ones with a declared size, or the block out"),
                );
                return None;
            };
            sizes.push(size);
            pe.push((v.per_example, e.span));
        }
        let rows = sizes.first()?.0.clone();
        if let Some((k, bad)) = sizes.iter().enumerate().find(|(_, s)| !s.0.same(&rows)) {
            self.error(
                Diagnostic::new(
                    Code::E0304,
                    items[k].span,
                    format!(
                        "the blocks of `[…, …]` side by side must have one number of rows, but this one has {} where the first has {}",
                        show(&bad.0),
                        show(&rows)
                    ),
                )
                .label("a different number of rows"),
            );
            return None;
        }
        let width = sizes
            .iter()
            .skip(1)
            .fold(sizes[0].1.clone(), |a, s| add(&a, &s.1));
        Some(((rows, width), pe))
    }
}

/// Rows and columns of a shape; `None` for `𝟏`, whose length is not known.
fn size_of(s: &Shape) -> Option<Size> {
    let size = match s {
        Shape::Scalar => (Dim::constant(1), Dim::constant(1)),
        Shape::Col(d) => (d.clone(), Dim::constant(1)),
        Shape::Row(d) => (Dim::constant(1), d.clone()),
        Shape::Mat(r, c) => (r.clone(), c.clone()),
        Shape::Tensor(_) => return None,
    };
    (!size.0.wild && !size.1.wild).then_some(size)
}

/// `a + b`.
fn add(a: &Dim, b: &Dim) -> Dim {
    Dim {
        sym: a.sym.add(&b.sym, 1),
        value: a.value.zip(b.value).and_then(|(x, y)| x.checked_add(y)),
        wild: false,
    }
}

fn one(d: &Dim) -> bool {
    d.value == Some(1) && d.sym == Poly::constant(1)
}

/// The shape of `rows × cols`: a scalar, a column, a row or a matrix.
fn shape_of(rows: Dim, cols: Dim) -> Shape {
    match (one(&rows), one(&cols)) {
        (true, true) => Shape::Scalar,
        (false, true) => Shape::Col(rows),
        (true, false) => Shape::Row(cols),
        (false, false) => Shape::Mat(rows, cols),
    }
}

/// A dimension in a message: `D (= 4)`, or `4`.
fn show(d: &Dim) -> String {
    match d.value {
        Some(v) if d.sym.as_constant() != Some(v) => format!("{} (= {v})", d.sym),
        Some(v) => v.to_string(),
        None => d.sym.to_string(),
    }
}
