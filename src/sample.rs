//! Deterministic random parameters and inputs for a graph: what `nnspec gradcheck` and the
//! tests evaluate a spec at, drawn from the runtime's seeded generator (the same seed gives
//! the same values everywhere); and [`noise`], the draws of a model that reads only noise (a
//! sampling chain) that `nnspec sample --model` runs, in the order generated code's `sample`
//! draws them.

use faer::Mat;
use nnspec_dsl::ir::{Graph, Init, Role, Shape, Slot};
use nnspec_runtime::{Scalar, batch};

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

/// Parameters uniform in `±1/√fan_in` (fan-in: the columns of a matrix, 1 for a vector); a
/// table of labels (`π : {1 … A}^{S}`) uniform over its labels.
pub fn params(g: &Graph, rng: &mut Rng) -> Vec<Mat<f64>> {
    g.params
        .iter()
        .map(|p| {
            let (r, c) = dims(p.shape, 1);
            if let Some((lo, n)) = p.entry_labels {
                // A table of labels (a policy's actions): each entry one of them.
                return Mat::from_fn(r, c, |_, _| below(rng, i64::from(lo), n as u64) as f64);
            }
            let scale = 1.0 / (c as f64).sqrt();
            Mat::from_fn(r, c, |_, _| uniform(rng, -scale, scale))
        })
        .collect()
}

/// Inputs for a batch: real data uniform in `[-1, 1)`, class labels (and each entry of a
/// vector of labels) uniform over their set, noise drawn from the law it declares
/// ([`draw_noise`], as training draws it).
pub fn inputs(g: &Graph, batch: usize, rng: &mut Rng) -> Vec<Mat<f64>> {
    g.inputs
        .iter()
        .map(|s| {
            let (r, c) = dims(s.shape, batch);
            match s.label_set() {
                _ if s.role == Role::Noise => draw_noise(s, batch, rng, false),
                Some((lo, n)) => {
                    Mat::from_fn(r, c, |_, _| below(rng, i64::from(lo), n as u64) as f64)
                }
                None => Mat::from_fn(r, c, |_, _| uniform(rng, -1.0, 1.0)),
            }
        })
        .collect()
}

/// A batch of the noise input `s`: `rows × (cols·batch)` for a matrix per example (batch
/// outermost, each example's columns contiguous), drawn column by column from the law it
/// declares (`Norm[0, I]` when it says nothing) by [`batch::noise`]; with `eval` a dropout
/// mask is its mean. The draw of the interpreter's training and of generated code's
/// `sample_<noise>` and `sample`: the same generator state gives all of them the same numbers.
pub fn draw_noise<T: Scalar>(s: &Slot, batch: usize, rng: &mut Rng, eval: bool) -> Mat<T> {
    let law = s.dist.unwrap_or(Init::Normal {
        mean: 0.0,
        variance: 1.0,
    });
    let (r, c) = dims(s.shape, batch);
    let mut m = Mat::zeros(r, c);
    batch::noise(law, m.as_mut(), rng, eval);
    m
}

/// The noise of a model that reads only noise, for `batch` examples: every input in slot
/// order (declaration order, a family's members as it unrolls them), each drawn column by
/// column from the law it declares (`Norm[0, I]` when it says nothing) by
/// [`batch::noise`] — the order and law of generated code's `sample`, so the same generator
/// state gives both the same numbers. An input that is not noise is an error naming it.
pub fn noise<T: Scalar>(g: &Graph, batch: usize, rng: &mut Rng) -> Result<Vec<Mat<T>>, String> {
    g.inputs
        .iter()
        .map(|s| {
            if s.role != Role::Noise {
                return Err(format!(
                    "`{}` reads `{}`, which is not noise: a model to sample from reads only \
                     noise (`z_T : ℝ^{{D}} ~ Norm[0, I]`) and parameters",
                    g.name, s.name
                ));
            }
            Ok(draw_noise(s, batch, rng, false))
        })
        .collect()
}
