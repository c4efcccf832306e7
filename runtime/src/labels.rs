//! Class labels stored as numbers: a `1 × c` matrix whose column `j` holds the label of example
//! `j`, one of the `classes` integers `lo, lo + 1, …, lo + classes - 1`.
//!
//! Labels are data, so a bad one is an error value ([`LabelError`]), never a panic.
//!
//! ```text
//! pick_label:  dst[0, j] = x[y_j - lo, j]                (the book's x[y])
//! one_hot:     dst[i, j] = 1 if i = y_j - lo, else 0
//! ```

use crate::Scalar;
use faer::{MatMut, MatRef};
use std::fmt;

/// Why a label could not be used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelError {
    /// The column (example) holding it.
    pub column: usize,
    /// The value found.
    pub value: f64,
    /// The first label.
    pub lo: i32,
    /// The number of classes.
    pub classes: usize,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hi = i64::from(self.lo) + self.classes as i64 - 1;
        let what = if self.value.fract() == 0.0 {
            "is not one of the labels"
        } else {
            "is not an integer label"
        };
        write!(
            f,
            "label {} in column {} {what} {}..={hi}",
            self.value, self.column, self.lo
        )
    }
}

impl std::error::Error for LabelError {}

/// The row index `y - lo` of label `y`, if `y` is an integer in `[lo, lo + classes)`.
pub fn label_index<T: Scalar>(y: T, lo: i32, classes: usize) -> Option<usize> {
    let v = y.to_f64();
    if !v.is_finite() || v.fract() != 0.0 {
        return None;
    }
    let k = v - f64::from(lo);
    (k >= 0.0 && k < classes as f64).then_some(k as usize)
}

fn index_at<T: Scalar>(
    labels: MatRef<'_, T>,
    j: usize,
    lo: i32,
    classes: usize,
) -> Result<usize, LabelError> {
    let y = labels[(0, j)];
    label_index(y, lo, classes).ok_or(LabelError {
        column: j,
        value: y.to_f64(),
        lo,
        classes,
    })
}

/// `dst[0, j] = x[y_j - lo, j]`: the entry of each column of `x` at its label; the labels are
/// `lo, …, lo + x.nrows() - 1`. On a bad label, returns the first (by column) and leaves `dst`
/// partly written.
///
/// # Panics
/// If `labels` or `dst` is not `1 × x.ncols()`.
pub fn pick_label<T: Scalar>(
    mut dst: MatMut<'_, T>,
    x: MatRef<'_, T>,
    labels: MatRef<'_, T>,
    lo: i32,
) -> Result<(), LabelError> {
    let c = x.ncols();
    assert!(
        labels.nrows() == 1 && labels.ncols() == c && dst.nrows() == 1 && dst.ncols() == c,
        "pick_label: labels {}×{}, dst {}×{} for x {}×{c}",
        labels.nrows(),
        labels.ncols(),
        dst.nrows(),
        dst.ncols(),
        x.nrows()
    );
    for j in 0..c {
        let k = index_at(labels, j, lo, x.nrows())?;
        dst[(0, j)] = x[(k, j)];
    }
    Ok(())
}

/// `dst` = the one-hot matrix of `labels`: column `j` is zero except `1` in row `y_j - lo`;
/// the labels are `lo, …, lo + dst.nrows() - 1`. On a bad label, returns the first (by
/// column) and leaves `dst` partly written.
///
/// # Panics
/// If `labels` is not `1 × dst.ncols()`.
pub fn one_hot<T: Scalar>(
    mut dst: MatMut<'_, T>,
    labels: MatRef<'_, T>,
    lo: i32,
) -> Result<(), LabelError> {
    assert!(
        labels.nrows() == 1 && labels.ncols() == dst.ncols(),
        "one_hot: labels {}×{} for dst {}×{}",
        labels.nrows(),
        labels.ncols(),
        dst.nrows(),
        dst.ncols()
    );
    dst.fill(T::ZERO);
    for j in 0..dst.ncols() {
        let k = index_at(labels, j, lo, dst.nrows())?;
        dst[(k, j)] = T::ONE;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn picks_and_one_hots_with_an_offset() {
        let x = Mat::from_fn(3, 2, |i, j| (10 * i + j) as f64);
        let y = Mat::from_fn(1, 2, |_, j| [1.0, -1.0][j]);
        let mut d = Mat::zeros(1, 2);
        pick_label(d.as_mut(), x.as_ref(), y.as_ref(), -1).unwrap();
        assert_eq!([d[(0, 0)], d[(0, 1)]], [20.0, 1.0]);
        let mut h = Mat::full(3, 2, f64::NAN);
        one_hot(h.as_mut(), y.as_ref(), -1).unwrap();
        assert_eq!(
            [h[(2, 0)], h[(0, 0)], h[(0, 1)], h[(1, 1)]],
            [1.0, 0.0, 1.0, 0.0]
        );
    }

    #[test]
    fn bad_labels_are_errors() {
        assert_eq!(label_index(2.0f64, 0, 3), Some(2));
        assert_eq!(label_index(3.0f64, 0, 3), None);
        assert_eq!(label_index(-1.0f64, 0, 3), None);
        assert_eq!(label_index(0.5f64, 0, 3), None);
        assert_eq!(label_index(f64::NAN, 0, 3), None);
        assert_eq!(label_index(f64::INFINITY, 0, 3), None);
        let x = Mat::<f32>::zeros(3, 2);
        let y = Mat::from_fn(1, 2, |_, j| [0.0f32, 3.0][j]);
        let mut d = Mat::zeros(1, 2);
        let e = pick_label(d.as_mut(), x.as_ref(), y.as_ref(), 0).unwrap_err();
        assert_eq!(
            e,
            LabelError {
                column: 1,
                value: 3.0,
                lo: 0,
                classes: 3
            }
        );
        assert_eq!(
            e.to_string(),
            "label 3 in column 1 is not one of the labels 0..=2"
        );
        let y = Mat::from_fn(1, 1, |_, _| 0.5f32);
        let e = one_hot(Mat::zeros(3, 1).as_mut(), y.as_ref(), 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "label 0.5 in column 0 is not an integer label 0..=2"
        );
    }
}
