//! Initialisers and distributions: how a parameter matrix starts, and what a noise input
//! (`ε ~ Norm[0, I]`, `u ~ Uniform[0, 1]`, `m ~ Bernoulli[p]`) is drawn from.
//!
//! Generated `init` methods and the interpreter both call [`Sample::sample`], so a spec's
//! parameters start from the same numbers whichever way it is run, and the same seed gives
//! bit-identical training runs; the interpreter draws noise with it too. [`Init`] itself, and
//! the law it gives a shape ([`Init::law`]: fan-in, fan-out, the default), live in
//! `nnspec_ops::init`, shared with the compiler and the exporters.

use crate::{Rng, Scalar};
use faer::{Mat, MatMut};

pub use nnspec_ops::init::{Band, Init, Law};

/// Drawing a matrix from an [`Init`] (defined, with what its default means for a shape, in
/// `nnspec_ops::init`, which the compiler shares).
pub trait Sample {
    /// A `rows × cols` matrix drawn from this initialiser, entries in column-major order
    /// ([`Sample::sample_into`] on a new matrix).
    fn sample<T: Scalar>(self, rows: usize, cols: usize, rng: &mut Rng) -> Mat<T>;

    /// Fills `out` with numbers drawn from this initialiser for a matrix of `out`'s shape,
    /// column by column (the order of [`Sample::sample`], so the same generator state gives
    /// the same numbers); no allocation.
    fn sample_into<T: Scalar>(self, out: MatMut<'_, T>, rng: &mut Rng);
}

impl Sample for Init {
    fn sample<T: Scalar>(self, rows: usize, cols: usize, rng: &mut Rng) -> Mat<T> {
        let mut m = Mat::zeros(rows, cols);
        self.sample_into(m.as_mut(), rng);
        m
    }

    fn sample_into<T: Scalar>(self, mut out: MatMut<'_, T>, rng: &mut Rng) {
        let (rows, cols) = (out.nrows(), out.ncols());
        let law = self.law(rows, cols);
        for j in 0..cols {
            for i in 0..rows {
                out[(i, j)] = entry(law, i, j, rng);
            }
        }
    }
}

/// Entry `(i, j)` drawn from `law`: one draw of the generator at most.
fn entry<T: Scalar>(law: Law, i: usize, j: usize, rng: &mut Rng) -> T {
    match law {
        Law::Normal { mean, std } => T::from_f64(mean) + rng.normal(T::from_f64(std)),
        Law::Uniform { lo, hi } => T::from_f64(lo + (hi - lo) * rng.uniform()),
        Law::Bernoulli { p } => {
            if rng.uniform() < p {
                T::ONE
            } else {
                T::ZERO
            }
        }
        Law::Const(c) => T::from_f64(c),
        Law::Structured(band) => {
            if !band.drawn(i, j) {
                T::ZERO
            } else if i == j {
                T::ONE + rng.normal(T::from_f64(band.std))
            } else {
                rng.normal(T::from_f64(band.std))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(m: &Mat<f64>) -> (f64, f64) {
        let n = (m.nrows() * m.ncols()) as f64;
        let vals: Vec<f64> = (0..m.ncols())
            .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
            .map(|(i, j)| m[(i, j)])
            .collect();
        let mean = vals.iter().sum::<f64>() / n;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    #[test]
    fn a_structured_parameter_starts_near_the_identity_with_zeros_outside() {
        let init = Init::Structured(Band {
            below: true,
            above: false,
            diagonal: true,
            std: 0.01,
        });
        let m: Mat<f64> = init.sample(5, 5, &mut Rng::new(3));
        for i in 0..5 {
            assert!((m[(i, i)] - 1.0).abs() < 0.1);
            for j in i + 1..5 {
                assert_eq!(m[(i, j)], 0.0, "above the diagonal");
            }
        }
        assert!(m[(3, 1)] != 0.0 && m[(3, 1)].abs() < 0.1);
        let strict: Mat<f64> = Init::Structured(Band {
            below: false,
            above: true,
            diagonal: false,
            std: 0.01,
        })
        .sample(3, 3, &mut Rng::new(3));
        assert_eq!((strict[(1, 1)], strict[(2, 0)]), (0.0, 0.0));
    }

    #[test]
    fn variances_follow_the_book() {
        let mut rng = Rng::new(7);
        // 200 × 100: fan-in 100, fan-out 200; 20 000 samples give ~1% standard error.
        let cases = [
            (Init::He, 2.0 / 100.0),
            (Init::Glorot, 4.0 / 300.0),
            (Init::LeCun, 1.0 / 100.0),
            (Init::Default, 2.0 / 100.0),
            (
                Init::Normal {
                    mean: 0.0,
                    variance: 0.25,
                },
                0.25,
            ),
            (Init::Uniform { lo: -1.0, hi: 1.0 }, 4.0 / 12.0),
        ];
        // Bernoulli[0.3]: mean 0.3, variance 0.3 · 0.7 = 0.21; with 20 000 draws the standard
        // error of the mean is √(0.21 / 20 000) ≈ 0.0032.
        let m: Mat<f64> = Init::Bernoulli { p: 0.3 }.sample(200, 100, &mut rng);
        let (mean, var) = moments(&m);
        assert!((mean - 0.3).abs() < 0.016, "Bernoulli mean {mean}");
        assert!((var - 0.21).abs() < 0.01, "Bernoulli variance {var}");
        assert!((0..100).all(|j| (0..200).all(|i| m[(i, j)] == 0.0 || m[(i, j)] == 1.0)));
        for (init, want) in cases {
            let (mean, var) = moments(&init.sample(200, 100, &mut rng));
            assert!(mean.abs() < 0.02, "{init:?}: mean {mean}");
            assert!(
                (var / want - 1.0).abs() < 0.05,
                "{init:?}: var {var}, want {want}"
            );
        }
    }

    #[test]
    fn defaults_by_shape() {
        let mut rng = Rng::new(1);
        let bias: Mat<f64> = Init::Default.sample(5, 1, &mut rng);
        assert!((0..5).all(|i| bias[(i, 0)] == 0.0));
        assert_eq!(
            Init::Default.resolve(1, 1),
            Init::Normal {
                mean: 0.0,
                variance: 1.0
            }
        );
        let c: Mat<f32> = Init::Const(0.5).sample(2, 3, &mut rng);
        assert!((0..3).all(|j| (0..2).all(|i| c[(i, j)] == 0.5)));
    }

    #[test]
    fn same_seed_same_numbers() {
        let a: Mat<f32> = Init::He.sample(8, 8, &mut Rng::new(42));
        let b: Mat<f32> = Init::He.sample(8, 8, &mut Rng::new(42));
        let c: Mat<f32> = Init::He.sample(8, 8, &mut Rng::new(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
