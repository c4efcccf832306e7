//! Initialisers and distributions: how a parameter matrix starts, and what a noise input
//! (`ε ~ Norm[0, I]`, `u ~ Uniform[0, 1]`, `m ~ Bernoulli[p]`) is drawn from.
//!
//! Generated `init` methods and the interpreter both call [`Init::sample`], so a spec's
//! parameters start from the same numbers whichever way it is run, and the same seed gives
//! bit-identical training runs; the interpreter draws noise with it too. Fan-in is the number of columns of a weight matrix (the
//! inputs of the layer, since `h = Ω x` with `Ω : ℝ^{D_out × D_in}`), fan-out its rows.

use crate::{Rng, Scalar};
use faer::{Mat, MatMut};

/// How a parameter starts, or what noise is drawn from, as a spec writes it after `~` or `=`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// No initialiser written: He for a matrix, zero for a bias vector, `N(0, 1)` for a scalar.
    Default,
    /// `~ He`: normal, mean 0, variance `2 / fan-in` (eq. 7.32), for ReLU networks.
    He,
    /// `~ Glorot`: normal, mean 0, variance `4 / (fan-in + fan-out)` (eq. 7.34: the average of
    /// the forward and backward conditions `2 / fan-in` and `2 / fan-out`).
    Glorot,
    /// `~ LeCun`: normal, mean 0, variance `1 / fan-in`.
    LeCun,
    /// `~ Norm[μ, σ²]`.
    Normal {
        /// Mean.
        mean: f64,
        /// Variance.
        variance: f64,
    },
    /// `~ Uniform[a, b]`.
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// `~ Bernoulli[p]`: 1 with probability `p`, else 0 (a dropout mask).
    Bernoulli {
        /// The probability of a 1.
        p: f64,
    },
    /// `= c`: every entry `c` (`= 0` for zeros).
    Const(f64),
    /// A square parameter declared triangular or diagonal (eq. 16.9): entries inside its
    /// structure off the diagonal `N(0, std²)`, the diagonal `1 + N(0, std²)` when it is
    /// trained (the identity plus noise: a flow layer starts invertible and near the
    /// identity) or exactly 0 when it is fixed (`unit`, `strictly`: masked), and every entry
    /// outside the structure exactly 0.
    Structured {
        /// Entries below the diagonal are drawn.
        below: bool,
        /// Entries above the diagonal are drawn.
        above: bool,
        /// The diagonal is trained (starts at `1 + N(0, std²)`), or fixed (starts at 0).
        diagonal: bool,
        /// The noise's standard deviation.
        std: f64,
    },
}

impl Init {
    /// What [`Init::Default`] means for a `rows × cols` parameter.
    pub fn resolve(self, rows: usize, cols: usize) -> Init {
        match self {
            Init::Default if cols > 1 => Init::He,
            Init::Default if rows > 1 => Init::Const(0.0),
            Init::Default => Init::Normal {
                mean: 0.0,
                variance: 1.0,
            },
            other => other,
        }
    }

    /// The mean and standard deviation of a normal initialiser for `rows × cols`, or `None`
    /// for the uniform and constant ones.
    pub fn normal_params(self, rows: usize, cols: usize) -> Option<(f64, f64)> {
        let (fan_in, fan_out) = (cols.max(1) as f64, rows.max(1) as f64);
        match self.resolve(rows, cols) {
            Init::He => Some((0.0, (2.0 / fan_in).sqrt())),
            Init::Glorot => Some((0.0, (4.0 / (fan_in + fan_out)).sqrt())),
            Init::LeCun => Some((0.0, (1.0 / fan_in).sqrt())),
            Init::Normal { mean, variance } => Some((mean, variance.max(0.0).sqrt())),
            Init::Default
            | Init::Uniform { .. }
            | Init::Bernoulli { .. }
            | Init::Const(_)
            | Init::Structured { .. } => None,
        }
    }

    /// A `rows × cols` matrix drawn from this initialiser, entries in column-major order
    /// ([`Init::sample_into`] on a new matrix).
    pub fn sample<T: Scalar>(self, rows: usize, cols: usize, rng: &mut Rng) -> Mat<T> {
        let mut m = Mat::zeros(rows, cols);
        self.sample_into(m.as_mut(), rng);
        m
    }

    /// Fills `out` with numbers drawn from this initialiser for a matrix of `out`'s shape,
    /// column by column (the order of [`Init::sample`], so the same generator state gives
    /// the same numbers); no allocation.
    pub fn sample_into<T: Scalar>(self, mut out: MatMut<'_, T>, rng: &mut Rng) {
        let (rows, cols) = (out.nrows(), out.ncols());
        let normal = self.normal_params(rows, cols);
        let resolved = self.resolve(rows, cols);
        for j in 0..cols {
            for i in 0..rows {
                out[(i, j)] = match (normal, resolved) {
                    (Some((mean, std)), _) => T::from_f64(mean) + rng.normal(T::from_f64(std)),
                    (None, Init::Uniform { lo, hi }) => T::from_f64(lo + (hi - lo) * rng.uniform()),
                    (None, Init::Bernoulli { p }) => {
                        if rng.uniform() < p {
                            T::ONE
                        } else {
                            T::ZERO
                        }
                    }
                    (None, Init::Const(c)) => T::from_f64(c),
                    (
                        None,
                        Init::Structured {
                            below,
                            above,
                            diagonal,
                            std,
                        },
                    ) => {
                        let drawn = (i > j && below) || (i < j && above) || (i == j && diagonal);
                        if !drawn {
                            T::ZERO
                        } else if i == j {
                            T::ONE + rng.normal(T::from_f64(std))
                        } else {
                            rng.normal(T::from_f64(std))
                        }
                    }
                    (None, _) => unreachable!("every other initialiser is normal"),
                };
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
        let init = Init::Structured {
            below: true,
            above: false,
            diagonal: true,
            std: 0.01,
        };
        let m: Mat<f64> = init.sample(5, 5, &mut Rng::new(3));
        for i in 0..5 {
            assert!((m[(i, i)] - 1.0).abs() < 0.1);
            for j in i + 1..5 {
                assert_eq!(m[(i, j)], 0.0, "above the diagonal");
            }
        }
        assert!(m[(3, 1)] != 0.0 && m[(3, 1)].abs() < 0.1);
        let strict: Mat<f64> = Init::Structured {
            below: false,
            above: true,
            diagonal: false,
            std: 0.01,
        }
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
