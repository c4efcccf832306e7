//! The one parameter-visiting interface that optimisers, checkpoints and the training loop
//! work through.
//!
//! Every model `model!` generates implements [`Params`], and so does [`NamedParams`]: the
//! parameter set of the IR interpreter, and a plain list of named matrices for tests. The
//! visiting order is fixed (declaration order in the spec) and the same in all three methods,
//! so a visitor may keep per-parameter state in a `Vec` indexed by visit position.

use crate::Scalar;
use faer::{Mat, MatMut, MatRef};

/// The momentum of a running statistic: each training step sets `r ← ρ r + (1 − ρ) m` with
/// `ρ = 0.9`, `m` the statistic of the step's batch (the running mean and standard deviation
/// of batch normalisation, eq. 11.7).
pub const RUNNING_MOMENTUM: f64 = 0.9;

/// Folds a batch's statistic `m` into its running value `r`: `r ← ρ r + (1 − ρ) m`,
/// [`RUNNING_MOMENTUM`] `= ρ`. The one definition, for generated code and the interpreter.
pub fn fold_running<T: Scalar>(mut r: MatMut<'_, T>, m: MatRef<'_, T>) {
    let rho = T::from_f64(RUNNING_MOMENTUM);
    let one_minus = T::from_f64(1.0 - RUNNING_MOMENTUM);
    for j in 0..r.ncols().min(m.ncols()) {
        for k in 0..r.nrows().min(m.nrows()) {
            r[(k, j)] = rho * r[(k, j)] + one_minus * m[(k, j)];
        }
    }
}

/// A visitor of parameters with their gradients: name, parameter, gradient.
pub type GradVisitor<'f, T> = dyn FnMut(&str, MatMut<'_, T>, MatRef<'_, T>) + 'f;

/// A set of named parameter matrices, visited in a fixed order.
pub trait Params<T: Scalar> {
    /// Visits every parameter with its name as the spec writes it (`β_0`, `Ω_0`).
    fn for_each_param(&self, f: &mut dyn FnMut(&str, MatRef<'_, T>));

    /// Visits every parameter mutably, in the same order.
    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&str, MatMut<'_, T>));

    /// Visits every parameter with its gradient, held in a parameter set of the same shape
    /// (`grads`, as filled by a generated `loss_and_grad`), in the same order.
    fn for_each_param_with_grad(&mut self, grads: &Self, f: &mut GradVisitor<'_, T>);

    /// Visits every running statistic by name (`m_1`): state beside the parameters that
    /// training steps update and evaluation mode reads (the running means and standard
    /// deviations of batch normalisation), never trained by an optimiser. None by default.
    fn for_each_state(&self, f: &mut dyn FnMut(&str, MatRef<'_, T>)) {
        let _ = f;
    }

    /// Visits every running statistic mutably, in the same order.
    fn for_each_state_mut(&mut self, f: &mut dyn FnMut(&str, MatMut<'_, T>)) {
        let _ = f;
    }

    /// Visits what a checkpoint holds: every parameter, then every running statistic as
    /// `running.<name>` (`running.m_1`).
    fn for_each_saved(&self, f: &mut dyn FnMut(&str, MatRef<'_, T>)) {
        self.for_each_param(f);
        self.for_each_state(&mut |n, m| f(&format!("running.{n}"), m));
    }

    /// Visits what a checkpoint holds mutably, in the order of [`Params::for_each_saved`].
    fn for_each_saved_mut(&mut self, f: &mut dyn FnMut(&str, MatMut<'_, T>)) {
        self.for_each_param_mut(f);
        self.for_each_state_mut(&mut |n, m| f(&format!("running.{n}"), m));
    }

    /// The number of parameter matrices.
    fn param_count(&self) -> usize {
        let mut n = 0;
        self.for_each_param(&mut |_, _| n += 1);
        n
    }

    /// The number of scalar parameters (entries over all matrices).
    fn scalar_count(&self) -> usize {
        let mut n = 0;
        self.for_each_param(&mut |_, m| n += m.nrows() * m.ncols());
        n
    }

    /// The first parameter with a NaN or infinite entry, by name.
    fn first_non_finite(&self) -> Option<String> {
        let mut found = None;
        self.for_each_param(&mut |name, m| {
            if found.is_none() && !all_finite(m) {
                found = Some(name.to_string());
            }
        });
        found
    }
}

/// Whether every entry of `m` is finite.
pub fn all_finite<T: Scalar>(m: MatRef<'_, T>) -> bool {
    (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| m[(i, j)].is_finite()))
}

/// A parameter set held as a list of named matrices: the interpreter's parameters, and a
/// stand-in model for tests of optimisers and checkpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedParams<T> {
    /// The names, in visiting order.
    pub names: Vec<String>,
    /// The matrices, one per name.
    pub mats: Vec<Mat<T>>,
}

impl<T: Scalar> NamedParams<T> {
    /// A parameter set from `(name, matrix)` pairs, in visiting order.
    pub fn new(pairs: impl IntoIterator<Item = (String, Mat<T>)>) -> NamedParams<T> {
        let (names, mats) = pairs.into_iter().unzip();
        NamedParams { names, mats }
    }

    /// Zeros of the same names and shapes (a gradient buffer).
    pub fn zeros_like(&self) -> NamedParams<T> {
        NamedParams {
            names: self.names.clone(),
            mats: self
                .mats
                .iter()
                .map(|m| Mat::zeros(m.nrows(), m.ncols()))
                .collect(),
        }
    }

    /// The matrix called `name`.
    pub fn get(&self, name: &str) -> Option<&Mat<T>> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|k| &self.mats[k])
    }
}

impl<T: Scalar> Params<T> for NamedParams<T> {
    fn for_each_param(&self, f: &mut dyn FnMut(&str, MatRef<'_, T>)) {
        for (n, m) in self.names.iter().zip(&self.mats) {
            f(n, m.as_ref());
        }
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&str, MatMut<'_, T>)) {
        for (n, m) in self.names.iter().zip(&mut self.mats) {
            f(n, m.as_mut());
        }
    }

    fn for_each_param_with_grad(&mut self, grads: &Self, f: &mut GradVisitor<'_, T>) {
        for ((n, m), g) in self.names.iter().zip(&mut self.mats).zip(&grads.mats) {
            f(n, m.as_mut(), g.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_finiteness() {
        let mut p = NamedParams::new([
            ("β".to_string(), Mat::<f64>::zeros(3, 1)),
            ("Ω".to_string(), Mat::<f64>::zeros(3, 2)),
        ]);
        assert_eq!(p.param_count(), 2);
        assert_eq!(p.scalar_count(), 9);
        assert_eq!(p.first_non_finite(), None);
        p.mats[1][(2, 1)] = f64::NAN;
        assert_eq!(p.first_non_finite().as_deref(), Some("Ω"));
    }

    #[test]
    fn gradients_pair_with_their_parameters() {
        let mut p = NamedParams::new([
            ("a".to_string(), Mat::<f64>::zeros(1, 1)),
            ("b".to_string(), Mat::<f64>::zeros(2, 1)),
        ]);
        let mut g = p.zeros_like();
        g.mats[1][(1, 0)] = 5.0;
        p.for_each_param_with_grad(&g, &mut |_, mut m, g| {
            for i in 0..m.nrows() {
                m[(i, 0)] -= g[(i, 0)];
            }
        });
        assert_eq!(p.get("b").unwrap()[(1, 0)], -5.0);
        assert_eq!(p.get("a").unwrap()[(0, 0)], 0.0);
    }
}
