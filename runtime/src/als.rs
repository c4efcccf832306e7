//! Alternating least squares (course notes 004, matrix factorisation): each parameter in turn
//! is set to the exact minimiser of the loss over it, the others held fixed.
//!
//! The notes alternate between the factors of
//! `J(U, V) = ½ ∑_{(i,j)∈Ω} (r_{ij} − u_iᵀ v_j)² + λ(‖U‖_F² + ‖V‖_F²)`:
//! with `V` fixed, `J` is a quadratic in `U` whose minimiser is a
//! ridge regression per row, `u_i = (∑_{j∈Ω_i} v_j v_jᵀ + 2λ I)⁻¹ ∑_{j∈Ω_i} r_{ij} v_j`, and the
//! same for `V` with `U` fixed. This module computes the same minimiser for any loss that is
//! quadratic in each parameter, from the model's gradient alone:
//!
//! - For a loss quadratic in a block `p`, the gradient is affine in `p`, so the difference of
//!   two gradients is the Hessian's product with the step, exactly: `H v = ∇J(p + v) − ∇J(p)`.
//! - Conjugate gradients on `H d = −∇J(p)` with those products find the minimiser `p + d` in
//!   at most `n` products for `n` entries (fewer when `H` has few distinct eigenvalues, as
//!   the per-row blocks of matrix factorisation do).
//!
//! Nothing is taken on trust: before solving, the gradient's differences along the first
//! direction are checked to be linear (`H (2v) = 2 H v`) and positive (`vᵀ H v > 0`), and after
//! solving, the gradient at the new point must be below [`SOLVED`] times the first one (or
//! at its rounding floor, `1e-10 ‖H u‖ max(‖p‖, 1)`, where a block already solved starts).
//! A loss that fails either is refused with the parameter's name ([`AlsError`]), and the
//! parameter is set back.
//!
//! The loss is the model's loss over one batch, so training by ALS uses the whole training
//! set as one batch: with minibatches, a penalty written once per batch would count once per
//! batch, and the exact minimiser of one batch's loss is not a step towards the whole set's.

use crate::data::TargetsRef;
use crate::train::Supervised;
use crate::{Scalar, StepError};
use faer::MatRef;
use std::fmt;

/// The gradient at a solved block, relative to the gradient before: conjugate gradients stop
/// below this, and a block whose gradient stays above it is refused.
pub const SOLVED: f64 = 1e-8;

/// How far the gradient's differences may be from linear (relative) for the loss to count
/// as quadratic in a block.
pub const LINEAR: f64 = 1e-6;

/// Why a parameter could not be solved for.
#[derive(Clone, Debug, PartialEq)]
pub enum AlsError {
    /// The model refused the batch.
    Step(StepError),
    /// The loss is not a convex quadratic in this parameter (others fixed), so it has no
    /// closed-form minimiser: the gradient's differences are not linear, or the curvature
    /// along a direction is not positive.
    NotQuadratic {
        /// The parameter.
        param: String,
        /// What was measured.
        why: String,
    },
    /// Conjugate gradients ended with the gradient still above [`SOLVED`] times its start.
    NotSolved {
        /// The parameter.
        param: String,
        /// The final gradient's norm relative to the first.
        residual: f64,
    },
}

impl fmt::Display for AlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlsError::Step(e) => write!(f, "{e}"),
            AlsError::NotQuadratic { param, why } => write!(
                f,
                "alternating least squares needs a loss that is a convex quadratic in each \
                 parameter with the others fixed, and the loss is not one in `{param}`: {why}"
            ),
            AlsError::NotSolved { param, residual } => write!(
                f,
                "alternating least squares could not solve for `{param}`: the gradient is \
                 still {residual:.1e} of its size before (needed: {SOLVED:.0e})"
            ),
        }
    }
}

impl From<StepError> for AlsError {
    fn from(e: StepError) -> AlsError {
        AlsError::Step(e)
    }
}

/// One batch and the model's buffers, for evaluating gradients.
pub struct Batch<'a, 'b, T: Scalar, M: Supervised<T>> {
    /// The inputs.
    pub x: MatRef<'a, T>,
    /// The targets.
    pub y: TargetsRef<'a, T>,
    /// Receives the gradients.
    pub grads: &'b mut M,
    /// The model's workspace.
    pub ws: &'b mut M::Workspace,
}

impl<T: Scalar, M: Supervised<T>> Batch<'_, '_, T, M> {
    /// The loss and the gradient with respect to parameter `k` (column-major).
    fn gradient(&mut self, model: &M, k: usize) -> Result<(f64, Vec<f64>), AlsError> {
        let loss = model.batch_loss_and_grad(self.x, self.y, self.grads, self.ws)?;
        Ok((loss.to_f64(), entries(&*self.grads, k)))
    }

    /// The gradient with respect to parameter `k` at `p` (the parameter set to `p`).
    fn gradient_at(&mut self, model: &mut M, k: usize, p: &[f64]) -> Result<Vec<f64>, AlsError> {
        set_entries(model, k, p);
        Ok(self.gradient(model, k)?.1)
    }
}

/// One sweep: every trained parameter in turn set to the minimiser of the loss over it.
/// Returns the loss after the sweep.
///
/// # Errors
/// [`AlsError`]; the parameter that failed is set back to its value before.
pub fn sweep<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    batch: &mut Batch<'_, '_, T, M>,
    trains: &[bool],
) -> Result<f64, AlsError> {
    let mut loss = None;
    for k in (0..model.param_count()).filter(|&k| trains.get(k).copied().unwrap_or(true)) {
        loss = Some(solve(model, k, batch)?);
    }
    match loss {
        Some(l) => Ok(l),
        None => Ok(model.batch_loss(batch.x, batch.y, batch.ws)?.to_f64()),
    }
}

/// Sets parameter `k` to the minimiser of the loss over it (the others fixed) and returns
/// the loss there.
///
/// # Errors
/// [`AlsError`]; the parameter is then set back to its value before.
pub fn solve<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    k: usize,
    batch: &mut Batch<'_, '_, T, M>,
) -> Result<f64, AlsError> {
    let p0 = entries(&*model, k);
    let result = minimise(model, k, batch, &p0);
    if result.is_err() {
        set_entries(model, k, &p0);
    }
    result
}

fn minimise<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    k: usize,
    batch: &mut Batch<'_, '_, T, M>,
    p0: &[f64],
) -> Result<f64, AlsError> {
    let (loss0, g0) = batch.gradient(model, k)?;
    let g0_norm = norm(&g0);
    if g0_norm == 0.0 {
        return Ok(loss0);
    }
    let name = name_of(&*model, k);
    // `H u` for a unit vector `u`, from the gradient's difference over a step of length `s`:
    // the same for every `s` when the loss is quadratic in the block.
    let mut along = |model: &mut M, u: &[f64], s: f64| -> Result<Vec<f64>, AlsError> {
        let at: Vec<f64> = p0.iter().zip(u).map(|(p, u)| p + s * u).collect();
        let g = batch.gradient_at(model, k, &at)?;
        Ok(g.iter().zip(&g0).map(|(g, g0)| (g - g0) / s).collect())
    };
    let curvature_scale = check_quadratic(model, &g0, &name, &mut along)?;
    // The gradient's rounding floor: below it the block is solved already (a sweep after
    // convergence), and no solve can get further below.
    let floor = 1e-10 * curvature_scale * norm(p0).max(1.0);
    if g0_norm <= floor {
        set_entries(model, k, p0);
        return Ok(loss0);
    }
    let mut hessian_times = |model: &mut M, v: &[f64]| -> Result<Vec<f64>, AlsError> {
        let len = norm(v);
        let u: Vec<f64> = v.iter().map(|v| v / len).collect();
        Ok(along(model, &u, 1.0)?.iter().map(|h| h * len).collect())
    };
    // Conjugate gradients on H d = −g0, from d = 0.
    let mut d = vec![0.0; p0.len()];
    let mut r: Vec<f64> = g0.iter().map(|g| -g).collect();
    let mut dir = r.clone();
    let mut rr = dot(&r, &r);
    for _ in 0..2 * p0.len() + 10 {
        if rr.sqrt() <= (SOLVED * 1e-2 * g0_norm).max(floor) {
            break;
        }
        let hd = hessian_times(model, &dir)?;
        let curvature = dot(&dir, &hd);
        if curvature <= 0.0 || !curvature.is_finite() {
            return Err(AlsError::NotQuadratic {
                param: name,
                why: format!("the curvature along a direction is {curvature:.3e}, not positive"),
            });
        }
        let alpha = rr / curvature;
        axpy(&mut d, alpha, &dir);
        axpy(&mut r, -alpha, &hd);
        let next = dot(&r, &r);
        for (p, r) in dir.iter_mut().zip(&r) {
            *p = r + next / rr * *p;
        }
        rr = next;
    }
    let solved: Vec<f64> = p0.iter().zip(&d).map(|(p, d)| p + d).collect();
    set_entries(model, k, &solved);
    let (loss, g) = batch.gradient(model, k)?;
    let residual = norm(&g) / g0_norm;
    if norm(&g) > (SOLVED * g0_norm).max(floor) || !residual.is_finite() {
        return Err(AlsError::NotSolved {
            param: name,
            residual,
        });
    }
    Ok(loss)
}

/// Refuses a block along whose first direction (the gradient's) the gradient's differences
/// over steps of 1 and 2 differ (`H (2u) ≠ 2 H u`: not quadratic), or the curvature is not
/// positive (no minimiser). Returns `‖H u‖`, the curvature's scale.
fn check_quadratic<M>(
    model: &mut M,
    g0: &[f64],
    name: &str,
    along: &mut impl FnMut(&mut M, &[f64], f64) -> Result<Vec<f64>, AlsError>,
) -> Result<f64, AlsError> {
    let len = norm(g0);
    let u: Vec<f64> = g0.iter().map(|g| g / len).collect();
    let (one, two) = (along(model, &u, 1.0)?, along(model, &u, 2.0)?);
    let defect: Vec<f64> = one.iter().zip(&two).map(|(a, b)| a - b).collect();
    let nonlinear = norm(&defect) / norm(&one).max(f64::MIN_POSITIVE);
    if nonlinear > LINEAR || !nonlinear.is_finite() {
        return Err(AlsError::NotQuadratic {
            param: name.to_string(),
            why: format!(
                "along the gradient, its gradient changes by {nonlinear:.1e} (relative) \
                 differently over steps of 1 and 2"
            ),
        });
    }
    let curvature = dot(&u, &one);
    if curvature <= 0.0 {
        return Err(AlsError::NotQuadratic {
            param: name.to_string(),
            why: format!("the curvature along the gradient is {curvature:.3e}, not positive"),
        });
    }
    Ok(norm(&one))
}

/// Parameter `k`'s entries, column by column.
fn entries<T: Scalar, M: Supervised<T>>(model: &M, k: usize) -> Vec<f64> {
    let mut out = Vec::new();
    let mut i = 0;
    model.for_each_param(&mut |_, m| {
        if i == k {
            for c in 0..m.ncols() {
                for r in 0..m.nrows() {
                    out.push(m[(r, c)].to_f64());
                }
            }
        }
        i += 1;
    });
    out
}

/// Sets parameter `k`'s entries, column by column.
fn set_entries<T: Scalar, M: Supervised<T>>(model: &mut M, k: usize, v: &[f64]) {
    let mut i = 0;
    model.for_each_param_mut(&mut |_, mut m| {
        if i == k {
            let rows = m.nrows();
            for c in 0..m.ncols() {
                for r in 0..rows {
                    m[(r, c)] = T::from_f64(v[c * rows + r]);
                }
            }
        }
        i += 1;
    });
}

fn name_of<T: Scalar, M: Supervised<T>>(model: &M, k: usize) -> String {
    let mut i = 0;
    let mut out = String::new();
    model.for_each_param(&mut |name, _| {
        if i == k {
            out = name.to_string();
        }
        i += 1;
    });
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}
