//! Deterministic random parameters and inputs for a graph: what `nnspec gradcheck` and the
//! tests evaluate a spec at. A small xorshift generator keeps runs reproducible without a
//! dependency.

use faer::Mat;
use nnspec_dsl::ir::{Cols, Graph, Shape};

/// A seeded xorshift64* generator.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value, zero included).
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

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }

    /// Uniform integer in `[lo, lo + n)`.
    pub fn below(&mut self, lo: i64, n: u64) -> i64 {
        lo + (self.next_u64() % n.max(1)) as i64
    }
}

fn dims(shape: Shape, batch: usize) -> (usize, usize) {
    match shape.cols {
        Cols::Fixed(c) => (shape.rows, c),
        Cols::Batch => (shape.rows, batch),
    }
}

/// Parameters uniform in `±1/√fan_in` (fan-in: the columns of a matrix, 1 for a vector).
pub fn params(g: &Graph, rng: &mut Rng) -> Vec<Mat<f64>> {
    g.params
        .iter()
        .map(|p| {
            let (r, c) = dims(p.shape, 1);
            let scale = 1.0 / (c as f64).sqrt();
            Mat::from_fn(r, c, |_, _| rng.uniform(-scale, scale))
        })
        .collect()
}

/// Inputs for a batch: real data uniform in `[-1, 1)`, class labels uniform over their set.
pub fn inputs(g: &Graph, batch: usize, rng: &mut Rng) -> Vec<Mat<f64>> {
    g.inputs
        .iter()
        .map(|s| {
            let (r, c) = dims(s.shape, batch);
            match s.labels {
                Some((lo, n)) => {
                    Mat::from_fn(r, c, |_, _| rng.below(i64::from(lo), n as u64) as f64)
                }
                None => Mat::from_fn(r, c, |_, _| rng.uniform(-1.0, 1.0)),
            }
        })
        .collect()
}
