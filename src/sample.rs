//! Deterministic random parameters and inputs for a graph: what `nnspec gradcheck` and the
//! tests evaluate a spec at, drawn from the runtime's seeded generator (the same seed gives
//! the same values everywhere).

use faer::Mat;
use nnspec_dsl::ir::{Graph, Shape};

pub use nnspec_runtime::Rng;

/// Uniform in `[lo, hi)`.
fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.uniform()
}

/// Uniform integer in `[lo, lo + n)`.
fn below(rng: &mut Rng, lo: i64, n: u64) -> i64 {
    lo + (rng.next_u64() % n.max(1)) as i64
}

fn dims(shape: Shape, batch: usize) -> (usize, usize) {
    (shape.rows, shape.cols_for(batch))
}

/// Parameters uniform in `±1/√fan_in` (fan-in: the columns of a matrix, 1 for a vector).
pub fn params(g: &Graph, rng: &mut Rng) -> Vec<Mat<f64>> {
    g.params
        .iter()
        .map(|p| {
            let (r, c) = dims(p.shape, 1);
            let scale = 1.0 / (c as f64).sqrt();
            Mat::from_fn(r, c, |_, _| uniform(rng, -scale, scale))
        })
        .collect()
}

/// Inputs for a batch: real data uniform in `[-1, 1)`, class labels (and each entry of a
/// vector of labels) uniform over their set.
pub fn inputs(g: &Graph, batch: usize, rng: &mut Rng) -> Vec<Mat<f64>> {
    g.inputs
        .iter()
        .map(|s| {
            let (r, c) = dims(s.shape, batch);
            match s.label_set() {
                Some((lo, n)) => {
                    Mat::from_fn(r, c, |_, _| below(rng, i64::from(lo), n as u64) as f64)
                }
                None => Mat::from_fn(r, c, |_, _| uniform(rng, -1.0, 1.0)),
            }
        })
        .collect()
}
