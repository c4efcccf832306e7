//! Initialisers and distributions, defined once: how a parameter starts and what a noise input
//! is drawn from, as a spec writes it after `~` or `=` (`~ He`, `~ Norm[0, σ²]`, `= 0`,
//! `ε ~ Norm[0, I]`, `m ~ Bernoulli[p]`).
//!
//! The compiler's IR holds an [`Init`] per parameter and noise input; the runtime samples it
//! (`runtime::init::Sample`), generated code names it, and the exporters write the same law in
//! Python. What [`Init::Default`] means for a shape is decided here, in [`Init::resolve`], and
//! nowhere else. Fan-in is the number of columns of a weight matrix (the inputs of the layer,
//! since `h = Ω x` with `Ω : ℝ^{D_out × D_in}`), fan-out its rows.

/// How a parameter starts, or what noise is drawn from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// No initialiser written: He for a matrix of more than one column, zero for a bias
    /// vector, `N(0, 1)` for a scalar ([`Init::resolve`]). Lowering writes `He` for a declared
    /// matrix of one column (`ℝ^{D×D_i}` with `D_i = 1`), which would otherwise be taken for
    /// a bias.
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
    Structured(Band),
}

/// Where a structured square parameter (eq. 16.9) has free entries, and the noise it starts
/// with: [`Init::Structured`] and [`Law::Structured`] hold the same one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// Entries below the diagonal are drawn.
    pub below: bool,
    /// Entries above the diagonal are drawn.
    pub above: bool,
    /// The diagonal is trained (starts at `1 + N(0, std²)`), or fixed (starts at 0).
    pub diagonal: bool,
    /// The noise's standard deviation.
    pub std: f64,
}

impl Band {
    /// Whether entry `(i, j)` is inside the structure (drawn), else exactly 0.
    pub fn drawn(&self, i: usize, j: usize) -> bool {
        (i > j && self.below) || (i < j && self.above) || (i == j && self.diagonal)
    }
}

/// The law an [`Init`] draws a `rows × cols` matrix's entries from, with [`Init::Default`] and
/// the fan-in rules resolved: what a sampler or an exporter needs, and nothing to decide.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Law {
    /// Each entry `mean + std · N(0, 1)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Each entry uniform on `[lo, hi)`.
    Uniform {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
    },
    /// Each entry 1 with probability `p`, else 0.
    Bernoulli {
        /// The probability of a 1.
        p: f64,
    },
    /// Each entry `c`.
    Const(f64),
    /// [`Init::Structured`], unchanged.
    Structured(Band),
}

impl Init {
    /// What [`Init::Default`] means for a `rows × cols` parameter (any other initialiser is
    /// returned as it is): He for more than one column, zero for a column, `N(0, 1)` for a
    /// scalar.
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

    /// The law of each entry of a `rows × cols` matrix drawn from this initialiser.
    pub fn law(self, rows: usize, cols: usize) -> Law {
        let (fan_in, fan_out) = (cols.max(1) as f64, rows.max(1) as f64);
        let normal = |std: f64| Law::Normal { mean: 0.0, std };
        match self.resolve(rows, cols) {
            // `resolve` never returns `Default`; He is what it gives a matrix.
            Init::Default | Init::He => normal((2.0 / fan_in).sqrt()),
            Init::Glorot => normal((4.0 / (fan_in + fan_out)).sqrt()),
            Init::LeCun => normal((1.0 / fan_in).sqrt()),
            Init::Normal { mean, variance } => Law::Normal {
                mean,
                std: variance.max(0.0).sqrt(),
            },
            Init::Uniform { lo, hi } => Law::Uniform { lo, hi },
            Init::Bernoulli { p } => Law::Bernoulli { p },
            Init::Const(c) => Law::Const(c),
            Init::Structured(band) => Law::Structured(band),
        }
    }

    /// The mean and standard deviation of a normal initialiser for `rows × cols`, or `None`
    /// for the others.
    pub fn normal_params(self, rows: usize, cols: usize) -> Option<(f64, f64)> {
        match self.law(rows, cols) {
            Law::Normal { mean, std } => Some((mean, std)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_by_shape() {
        assert_eq!(Init::Default.resolve(5, 3), Init::He);
        assert_eq!(Init::Default.resolve(5, 1), Init::Const(0.0));
        assert_eq!(
            Init::Default.law(1, 1),
            Law::Normal {
                mean: 0.0,
                std: 1.0
            }
        );
        assert_eq!(Init::Glorot.resolve(5, 1), Init::Glorot);
    }

    #[test]
    fn the_fan_in_rules_follow_the_book() {
        // 200 × 100: fan-in 100, fan-out 200.
        let std = |init: Init| init.normal_params(200, 100).unwrap().1;
        assert!((std(Init::He) - (2.0f64 / 100.0).sqrt()).abs() < 1e-15);
        assert!((std(Init::Glorot) - (4.0f64 / 300.0).sqrt()).abs() < 1e-15);
        assert!((std(Init::LeCun) - 0.1).abs() < 1e-15);
        assert_eq!(Init::Default.law(200, 100), Init::He.law(200, 100));
        assert_eq!(Init::Const(0.5).normal_params(2, 2), None);
    }
}
