//! How a batch of examples becomes a model's inputs, for the interpreter and generated code
//! alike, so that both read the same data the same way and draw the same noise:
//!
//! - [`split`]: a batch of the examples' columns `F × B` (each example's inputs one after the
//!   other, each column by column, as [`Dataset::inputs`](crate::data::Dataset::inputs)
//!   holds them) cut into the inputs, `X` as `D × (N·B)`, `A` as `N × (N·B)`; also a target
//!   `Y ∈ ℝ^{K×N}` per example, given as its `K·N` numbers per column;
//! - [`labels`]: a label input's row of that split (or the batch itself, for a model whose
//!   one input is labels) read as the label values the generated steps take, `&[usize]`,
//!   each checked to be one of its labels as the interpreter checks it;
//! - [`noise`]: a noise input drawn for one step from its distribution (`ε ~ Norm[0, I]`),
//!   or, in evaluation mode, a dropout mask `~ Bernoulli[p]` as its mean `p`;
//! - [`NOISE_SEED`]: the seed of the noise generator of a new workspace, until
//!   [`Supervised::seed_noise`](crate::train::Supervised::seed_noise) seeds it.
//!
//! Both write into matrices the caller owns and never allocate (an error message aside).

use crate::init::{Init, Sample};
use crate::labels::{LabelError, label_index};
use crate::{Rng, Scalar, StepError};
use faer::{MatMut, MatRef};

/// The seed of a new workspace's noise generator (the interpreter's and generated code's).
pub const NOISE_SEED: u64 = 0x0015E;

/// Cuts `x`, a batch of `batch` examples' columns, into `parts`: each `(out, n)` an input
/// of `out.nrows()` rows and `n` columns per example, `out` of `n · batch` columns, taking
/// the next `rows · n` numbers of each column, column by column (example `b`'s `n` columns
/// side by side at columns `b·n …`). `what` names the inputs for the error (``X`, `A``).
///
/// # Errors
/// When `x` is not `F × batch` with `F = Σ rows · n`, or a part is not `rows × (n·batch)`.
pub fn split<T: Scalar>(
    what: &str,
    x: MatRef<'_, T>,
    batch: usize,
    parts: &mut [(MatMut<'_, T>, usize)],
) -> Result<(), StepError> {
    let features: usize = parts.iter().map(|(m, n)| m.nrows() * n).sum();
    if (x.nrows(), x.ncols()) != (features, batch) {
        return Err(StepError::Eval(format!(
            "`{what}` should be {features}×{batch}, but it is {}×{}",
            x.nrows(),
            x.ncols()
        )));
    }
    let mut offset = 0;
    for (out, n) in parts.iter_mut() {
        let (r, n) = (out.nrows(), (*n).max(1));
        if out.ncols() != n * batch {
            return Err(StepError::Shape {
                name: "a split input",
                expected: (r, n * batch),
                got: (r, out.ncols()),
            });
        }
        for j in 0..n * batch {
            let (example, col) = (j / n, j % n);
            for i in 0..r {
                out[(i, j)] = x[(offset + col * r + i, example)];
            }
        }
        offset += r * n;
    }
    Ok(())
}

/// Reads `row`, a `1 × B` matrix of class labels of the input `what` (each one of `lo, …,
/// lo + classes − 1`), into `out` (`B` long) as the label values a generated step takes.
///
/// # Errors
/// When `row` is not `1 × out.len()`, or an entry is not one of the labels (the message
/// names the input, the example and the value, as the interpreter's).
pub fn labels<T: Scalar>(
    what: &'static str,
    row: MatRef<'_, T>,
    lo: usize,
    classes: usize,
    out: &mut [usize],
) -> Result<(), StepError> {
    if (row.nrows(), row.ncols()) != (1, out.len()) {
        return Err(StepError::Shape {
            name: what,
            expected: (1, out.len()),
            got: (row.nrows(), row.ncols()),
        });
    }
    let first = i32::try_from(lo).unwrap_or(i32::MAX);
    for (j, o) in out.iter_mut().enumerate() {
        let y = row[(0, j)];
        match label_index(y, first, classes) {
            Some(k) => *o = k + lo,
            None => {
                let error = LabelError {
                    column: j,
                    value: y.to_f64(),
                    lo: first,
                    classes,
                };
                return Err(StepError::Eval(format!("input `{what}`: {error}")));
            }
        }
    }
    Ok(())
}

/// Fills `out` with one step's draw of a noise input of distribution `dist` from `rng`
/// ([`Sample::sample_into`]); with `eval` (evaluation mode: validation, prediction) a dropout
/// mask `~ Bernoulli[p]` is its mean, every entry `p`, and draws nothing. Other noise is
/// drawn in either mode (a VAE's `ε` keeps its meaning: the loss is an estimate).
pub fn noise<T: Scalar>(dist: Init, mut out: MatMut<'_, T>, rng: &mut Rng, eval: bool) {
    match dist {
        Init::Bernoulli { p } if eval => out.fill(T::from_f64(p)),
        _ => dist.sample_into(out, rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Two examples of `X ∈ ℝ^{2×2}` then `a ∈ ℝ^{1}`: column `b` holds `X_b` column by
    /// column, then `a_b`.
    #[test]
    fn split_cuts_each_column_into_the_inputs_in_order() {
        let x = Mat::from_fn(5, 2, |i, j| (10 * j + i) as f64);
        let mut big = Mat::<f64>::zeros(2, 4);
        let mut small = Mat::<f64>::zeros(1, 2);
        split(
            "X`, `a",
            x.as_ref(),
            2,
            &mut [(big.as_mut(), 2), (small.as_mut(), 1)],
        )
        .unwrap();
        let want = [[0.0, 2.0, 10.0, 12.0], [1.0, 3.0, 11.0, 13.0]];
        for (i, row) in want.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert_eq!(big[(i, j)], *v);
            }
        }
        assert_eq!((small[(0, 0)], small[(0, 1)]), (4.0, 14.0));
        let e = split(
            "X`, `a",
            x.as_ref(),
            3,
            &mut [(big.as_mut(), 2), (small.as_mut(), 1)],
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            StepError::Eval("`X`, `a` should be 5×3, but it is 5×2".into()).to_string()
        );
    }

    #[test]
    fn labels_are_read_as_their_values_and_a_bad_one_is_named() {
        let row = Mat::from_fn(1, 3, |_, j| [2.0, 1.0, 3.0][j]);
        let mut out = [0; 3];
        labels("a", row.as_ref(), 1, 3, &mut out).unwrap();
        assert_eq!(out, [2, 1, 3]);
        let bad = Mat::from_fn(1, 3, |_, j| [2.0, 1.5, 4.0][j]);
        let e = labels("a", bad.as_ref(), 1, 3, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `a`: label 1.5 in column 1 is not an integer label 1..=3"
        );
        let e = labels("a", row.as_ref(), 1, 3, &mut out[..2]).unwrap_err();
        assert!(matches!(e, StepError::Shape { name: "a", .. }));
    }

    #[test]
    fn a_dropout_mask_is_its_mean_in_evaluation_mode_and_drawn_in_training() {
        let mut m = Mat::<f64>::zeros(3, 4);
        let mut rng = Rng::new(1);
        noise(Init::Bernoulli { p: 0.25 }, m.as_mut(), &mut rng, true);
        assert!((0..4).all(|j| (0..3).all(|i| m[(i, j)] == 0.25)));
        noise(Init::Bernoulli { p: 0.25 }, m.as_mut(), &mut rng, false);
        let drawn = Init::Bernoulli { p: 0.25 }.sample::<f64>(3, 4, &mut Rng::new(1));
        assert_eq!(
            m, drawn,
            "evaluation mode drew nothing; training draws as `sample`"
        );
    }
}
