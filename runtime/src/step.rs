//! What generated code needs besides kernels: the error a training step can return, and a
//! small seeded random generator for initialisers.

use crate::Scalar;
use std::fmt;

/// Why a generated `forward` or `loss_and_grad` refused its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// An input of the wrong dimensions: its name, the `(rows, cols)` expected and given.
    Shape {
        /// The input's name in the spec.
        name: &'static str,
        /// Expected `(rows, cols)`.
        expected: (usize, usize),
        /// Given `(rows, cols)`.
        got: (usize, usize),
    },
    /// A batch larger than the workspace was made for.
    Batch {
        /// Examples given.
        batch: usize,
        /// Examples the workspace holds.
        max_batch: usize,
    },
    /// Targets of the wrong kind: class labels where values are expected, or the reverse.
    Targets {
        /// The target's name in the spec.
        name: &'static str,
        /// What it takes (`class labels`, `real values`).
        expected: &'static str,
    },
    /// A failure in words: of an evaluator other than generated code (the IR interpreter),
    /// or a `←` rule's new value that is not finite (generated `write_rules`).
    Eval(String),
    /// An entry of a vector of labels (`target y : {0, 1}^{D}`) outside its set.
    EntryLabel {
        /// The input's name in the spec.
        name: &'static str,
        /// The entry (row).
        row: usize,
        /// The example (column).
        column: usize,
        /// The value given, as written.
        value: String,
        /// The first label.
        lo: i32,
        /// The number of labels in the set.
        count: usize,
    },
    /// A class label outside its set.
    Label {
        /// The example (column).
        column: usize,
        /// The label given.
        value: usize,
        /// The first label.
        lo: usize,
        /// The number of classes.
        classes: usize,
    },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Shape {
                name,
                expected,
                got,
            } => write!(
                f,
                "`{name}` should be {}×{}, but it is {}×{}",
                expected.0, expected.1, got.0, got.1
            ),
            StepError::Batch { batch, max_batch } => {
                write!(
                    f,
                    "a batch of {batch} examples, but the workspace holds {max_batch}"
                )
            }
            StepError::Eval(m) => f.write_str(m),
            StepError::Targets { name, expected } => {
                write!(f, "`{name}` takes {expected}")
            }
            StepError::EntryLabel {
                name,
                row,
                column,
                value,
                lo,
                count,
            } => write!(
                f,
                "`{name}` entry {row} of example {column}: label {value} is not in {{{lo} … {}}}",
                i64::from(*lo) + *count as i64 - 1
            ),
            StepError::Label {
                column,
                value,
                lo,
                classes,
            } => write!(
                f,
                "example {column}: label {value} is not in {{{lo} … {}}}",
                lo + classes - 1
            ),
        }
    }
}

impl std::error::Error for StepError {}

/// A seeded xorshift64* generator: the same seed gives the same numbers on every machine.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A normal sample with mean 0 and standard deviation `std` (Box–Muller).
    pub fn normal<T: Scalar>(&mut self, std: T) -> T {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        T::from_f64(z) * std
    }
}
