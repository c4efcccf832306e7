//! Optimisers, learning-rate schedules, weight decay and gradient clipping.
//!
//! An [`Optimizer`] updates any parameter set through the [`Params`] trait: it never sees a
//! model's fields, only the matrices `for_each_param_with_grad` visits, in their fixed order.
//! Its per-parameter state (first and second moments) is a `Vec<Mat<T>>` indexed by visit
//! position, allocated on the first [`Optimizer::step`]; later steps only read and write it, so
//! a training step does not touch the heap.
//!
//! The update rules follow *Understanding Deep Learning* (Prince), chapter 6, with `α` the
//! learning rate and `g` the (clipped, decayed) gradient:
//!
//! - SGD: `φ ← φ − α g` (eq. 6.3).
//! - Momentum (eq. 6.11): `m ← β m + (1 − β) g`, `φ ← φ − α m`.
//! - Nesterov (eq. 6.12), rewritten for gradients taken at the stored parameters; see
//!   [`Method::Nesterov`].
//! - Adam (eqs. 6.15–6.17): `m ← β₁ m + (1 − β₁) g`, `v ← β₂ v + (1 − β₂) g²`,
//!   `m̃ = m / (1 − β₁ᵗ)`, `ṽ = v / (1 − β₂ᵗ)` with `t` the 1-based step count,
//!   `φ ← φ − α m̃ / (√ṽ + ε)`. The book writes `γ` for `β₂`.
//! - AdamW: Adam plus decoupled weight decay `φ ← φ − α λ φ`.
//! - RMSProp: `v ← ρ v + (1 − ρ) g²`, `φ ← φ − α g / (√v + ε)`.
//! - AdaGrad: `v ← v + g²`, `φ ← φ − α g / (√v + ε)`.
//!
//! One step, in order:
//!
//! 1. the global L2 norm `‖g‖` of the raw gradients over all parameters together;
//! 2. clipping: if [`Config::clip_norm`] is `Some(c)` and `‖g‖ > c`, every gradient is scaled
//!    by `c / ‖g‖` (on the fly; the gradients are not modified);
//! 3. coupled weight decay (every method except AdamW): `g' = g·scale + λ φ`, the gradient of
//!    the penalty `(λ/2)‖φ‖²`. For SGD this is eq. 9.13, `φ ← (1 − λ')φ − α ∂L/∂φ`, with
//!    `λ' = αλ`. (Eq. 9.5 writes the penalty as `λ Σ φ²`, whose gradient is `2λφ`; our `λ` is
//!    twice the book's there.) For AdamW, `g' = g·scale` and the decay is decoupled: `φ` is
//!    shrunk by `α λ φ`, using `φ` before the step, alongside the Adam update;
//! 4. the update rule, with `α` the scheduled rate [`Optimizer::lr`].
//!
//! Arithmetic is done in `T`; hyper-parameters are converted with
//! [`Real::from_f64`](crate::Real::from_f64), and
//! Adam's bias corrections are computed in `f64` and then converted. The gradient norm is
//! accumulated in `f64`.

use crate::{Params, Scalar};
use faer::{Mat, MatMut, MatRef};
use std::f64::consts::PI;

/// The update rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// Plain gradient descent, `φ ← φ − α g` (eq. 6.3).
    Sgd,
    /// Momentum (eq. 6.11): `m ← β m + (1 − β) g`, `φ ← φ − α m`.
    Momentum {
        /// The momentum coefficient `β` (default 0.9).
        beta: f64,
    },
    /// Nesterov accelerated momentum (eq. 6.12).
    ///
    /// The book evaluates the gradient at the look-ahead point `φ_t − αβ m_t`; a training loop
    /// evaluates it at the stored parameters. So the stored parameters are the look-ahead point
    /// `ψ_t = φ_t − αβ m_t` (equal to `φ_0` at the start, as `m_0 = 0`), and the gradient `g`
    /// is taken at `ψ_t`. Then, with `m_{t+1} = β m_t + (1 − β) g` and
    /// `φ_{t+1} = φ_t − α m_{t+1}`,
    ///
    /// ```text
    /// ψ_{t+1} = φ_{t+1} − αβ m_{t+1}
    ///         = ψ_t + αβ m_t − α(1 + β) m_{t+1}
    ///         = ψ_t − α(β m_{t+1} + (1 − β) g)        (as αβ m_t − α m_{t+1} = −α(1 − β) g)
    /// ```
    ///
    /// which is the update implemented. The equivalence is exact for a constant learning rate.
    Nesterov {
        /// The momentum coefficient `β` (default 0.9).
        beta: f64,
    },
    /// Adam with bias correction (eqs. 6.15–6.17).
    Adam {
        /// The decay of the first moment `β₁` (default 0.9).
        beta1: f64,
        /// The decay of the second moment `β₂`, the book's `γ` (default 0.999).
        beta2: f64,
        /// `ε`, added to `√ṽ` (default 1e-8).
        eps: f64,
    },
    /// Adam with decoupled weight decay: [`Config::weight_decay`] is the rate `λ` of
    /// `φ ← φ − α λ φ`, applied alongside the Adam step instead of being added to the gradient.
    AdamW {
        /// The decay of the first moment `β₁` (default 0.9).
        beta1: f64,
        /// The decay of the second moment `β₂` (default 0.999).
        beta2: f64,
        /// `ε`, added to `√ṽ` (default 1e-8).
        eps: f64,
    },
    /// RMSProp: `v ← ρ v + (1 − ρ) g²`, `φ ← φ − α g / (√v + ε)`.
    RmsProp {
        /// The decay of the squared-gradient average `ρ` (default 0.9).
        rho: f64,
        /// `ε`, added to `√v` (default 1e-8).
        eps: f64,
    },
    /// AdaGrad: `v ← v + g²`, `φ ← φ − α g / (√v + ε)`.
    AdaGrad {
        /// `ε`, added to `√v` (default 1e-10).
        eps: f64,
    },
    /// Alternating least squares: each parameter in turn set to the minimiser of the loss
    /// over the whole training set with the others fixed ([`crate::als`]). Not a gradient
    /// step: [`crate::train::fit`] solves for the parameters itself, with the whole training
    /// set as one batch, and uses no learning rate; [`Optimizer::step`] leaves the
    /// parameters as they are.
    Als,
}

impl Method {
    /// The names [`Method::parse`] accepts, in the order of the variants.
    pub const NAMES: &[&str] = &[
        "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "als",
    ];

    /// Parses a CLI name (case-insensitive) into the method with its default
    /// hyper-parameters. The error lists the valid names.
    pub fn parse(name: &str) -> Result<Method, String> {
        let adam = (0.9, 0.999, 1e-8);
        Ok(match name.to_ascii_lowercase().as_str() {
            "sgd" => Method::Sgd,
            "momentum" => Method::Momentum { beta: 0.9 },
            "nesterov" => Method::Nesterov { beta: 0.9 },
            "adam" => Method::Adam {
                beta1: adam.0,
                beta2: adam.1,
                eps: adam.2,
            },
            "adamw" => Method::AdamW {
                beta1: adam.0,
                beta2: adam.1,
                eps: adam.2,
            },
            "rmsprop" => Method::RmsProp {
                rho: 0.9,
                eps: 1e-8,
            },
            "adagrad" => Method::AdaGrad { eps: 1e-10 },
            "als" => Method::Als,
            _ => {
                return Err(format!(
                    "unknown optimiser `{name}`; expected one of: {}",
                    Method::NAMES.join(", ")
                ));
            }
        })
    }

    /// The CLI name of the method (one of [`Method::NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            Method::Sgd => "sgd",
            Method::Momentum { .. } => "momentum",
            Method::Nesterov { .. } => "nesterov",
            Method::Adam { .. } => "adam",
            Method::AdamW { .. } => "adamw",
            Method::RmsProp { .. } => "rmsprop",
            Method::AdaGrad { .. } => "adagrad",
            Method::Als => "als",
        }
    }

    /// The number of state matrices kept per parameter (`m`, `v`, or both).
    fn slots(&self) -> usize {
        match self {
            Method::Sgd | Method::Als => 0,
            Method::Adam { .. } | Method::AdamW { .. } => 2,
            _ => 1,
        }
    }
}

/// Learning-rate schedule, evaluated at the epoch index (0-based).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// `lr · gamma^⌊epoch / every⌋`.
    Step {
        /// Epochs between decays (at least 1).
        every: usize,
        /// The factor applied at each decay.
        gamma: f64,
    },
    /// `lr · gamma^epoch`.
    Exponential {
        /// The factor per epoch.
        gamma: f64,
    },
    /// `lr / (1 + decay · epoch)`.
    InverseTime {
        /// The decay per epoch.
        decay: f64,
    },
    /// Cosine annealing: `min + (lr − min)(1 + cos(π e / epochs)) / 2` with
    /// `e = min(epoch, epochs)`, so the rate stays at `min_lr` after `epochs`.
    Cosine {
        /// The length of the annealing (at least 1).
        epochs: usize,
        /// The rate reached at `epochs`.
        min_lr: f64,
    },
}

impl Schedule {
    /// The learning rate at `epoch` for the base rate `base`.
    pub fn lr(&self, base: f64, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * powi(gamma, epoch / every.max(1)),
            Schedule::Exponential { gamma } => base * powi(gamma, epoch),
            Schedule::InverseTime { decay } => base / (1.0 + decay * epoch as f64),
            Schedule::Cosine { epochs, min_lr } => {
                let epochs = epochs.max(1);
                let e = epoch.min(epochs) as f64 / epochs as f64;
                min_lr + (base - min_lr) * (1.0 + (PI * e).cos()) / 2.0
            }
        }
    }

    /// Parses a CLI schedule: `constant`, `step:EVERY:GAMMA`, `exp:GAMMA`, `inverse:DECAY`,
    /// `cosine:EPOCHS` (down to 0) or `cosine:EPOCHS:MIN_LR`.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let lower = s.to_ascii_lowercase();
        let parts: Vec<&str> = lower.split(':').collect();
        let bad = |why: &str| {
            format!(
                "invalid schedule `{s}`: {why}; expected constant, step:EVERY:GAMMA, exp:GAMMA, \
                 inverse:DECAY, cosine:EPOCHS or cosine:EPOCHS:MIN_LR"
            )
        };
        let num = |t: &str| -> Result<f64, String> {
            t.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| bad(&format!("`{t}` is not a non-negative number")))
        };
        let count = |t: &str| -> Result<usize, String> {
            t.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad(&format!("`{t}` is not a positive whole number")))
        };
        match parts.as_slice() {
            ["constant"] => Ok(Schedule::Constant),
            ["step", every, gamma] => Ok(Schedule::Step {
                every: count(every)?,
                gamma: num(gamma)?,
            }),
            ["exp", gamma] => Ok(Schedule::Exponential { gamma: num(gamma)? }),
            ["inverse", decay] => Ok(Schedule::InverseTime { decay: num(decay)? }),
            ["cosine", epochs] => Ok(Schedule::Cosine {
                epochs: count(epochs)?,
                min_lr: 0.0,
            }),
            ["cosine", epochs, min] => Ok(Schedule::Cosine {
                epochs: count(epochs)?,
                min_lr: num(min)?,
            }),
            _ => Err(bad("unknown form")),
        }
    }
}

/// `x^n` for a whole `n` (saturating the exponent at `i32::MAX`).
fn powi(x: f64, n: usize) -> f64 {
    x.powi(i32::try_from(n).unwrap_or(i32::MAX))
}

/// An optimiser's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The update rule.
    pub method: Method,
    /// The base learning rate `α`, before the schedule.
    pub lr: f64,
    /// L2 weight decay `λ`. Coupled (every method but AdamW): `λ φ` is added to the clipped
    /// gradient, the gradient of `(λ/2)‖φ‖²`; for SGD this is eq. 9.13 with `λ' = αλ`. For
    /// AdamW, the decoupled rate: `φ ← φ − α λ φ` alongside the Adam step.
    pub weight_decay: f64,
    /// The learning-rate schedule over epochs.
    pub schedule: Schedule,
    /// Clip the gradient to this global L2 norm (over all parameters together) before the
    /// update.
    pub clip_norm: Option<f64>,
    /// Max-norm constraints (a spec's `‖w_j‖ ≤ c`), applied after every update. Left empty,
    /// [`fit`](crate::train::fit) fills them with the model's own
    /// ([`Supervised::max_norms`](crate::train::Supervised::max_norms)).
    pub max_norms: Vec<MaxNorm>,
}

/// A max-norm constraint (the course notes' "MaxNorm", a spec's `‖w_j‖ ≤ c`): after each
/// update the parameter named `param` — each column if `columns`, else all its entries — is
/// projected onto the ball of radius `bound`: scaled by `bound / ‖w_j‖` where its norm is
/// larger, left alone otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxNorm {
    /// The parameter's name (as the visitors of [`Params`] give it).
    pub param: String,
    /// Each column on its own (`‖w_j‖ ≤ c`), or the whole parameter (`‖w‖ ≤ c`).
    pub columns: bool,
    /// The radius `c`.
    pub bound: f64,
}

impl MaxNorm {
    /// Projects `w` onto the constraint's ball (each column, or all of `w`).
    pub fn project<T: Scalar>(&self, mut w: MatMut<'_, T>) {
        let norm = |w: &MatMut<'_, T>, j: usize| {
            (0..w.nrows())
                .map(|i| w[(i, j)].to_f64().powi(2))
                .sum::<f64>()
        };
        let groups: Vec<Vec<usize>> = if self.columns {
            (0..w.ncols()).map(|j| vec![j]).collect()
        } else {
            vec![(0..w.ncols()).collect()]
        };
        for cols in groups {
            let n = cols.iter().map(|&j| norm(&w, j)).sum::<f64>().sqrt();
            if n > self.bound {
                let s = T::from_f64(self.bound / n);
                for &j in &cols {
                    for i in 0..w.nrows() {
                        w[(i, j)] *= s;
                    }
                }
            }
        }
    }
}

impl Config {
    /// `method` at rate `lr`, with no weight decay, a constant rate and no clipping.
    pub fn new(method: Method, lr: f64) -> Config {
        Config {
            method,
            lr,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            clip_norm: None,
            max_norms: Vec::new(),
        }
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// The learning rate used.
    pub lr: f64,
    /// The global L2 norm of the gradients before clipping.
    pub grad_norm: f64,
    /// Whether the gradients were scaled down to [`Config::clip_norm`].
    pub clipped: bool,
}

/// An optimiser: a [`Config`] and the state it keeps between steps.
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    config: Config,
    /// `slots` matrices per parameter, parameter `k`'s at `k * slots ..`: `m` then `v` for
    /// Adam, `m` for momentum, `v` for RMSProp and AdaGrad.
    state: Vec<Mat<T>>,
    /// The parameter shapes seen at the first step; `None` before it.
    shapes: Option<Vec<(usize, usize)>>,
    /// Steps taken.
    t: usize,
    /// The epoch the schedule reads.
    epoch: usize,
}

impl<T: Scalar> Optimizer<T> {
    /// An optimiser with no state yet; it is allocated at the first step.
    pub fn new(config: Config) -> Optimizer<T> {
        Optimizer {
            config,
            state: Vec::new(),
            shapes: None,
            t: 0,
            epoch: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sets the max-norm constraints applied after every update ([`Config::max_norms`]).
    pub fn set_max_norms(&mut self, max_norms: Vec<MaxNorm>) {
        self.config.max_norms = max_norms;
    }

    /// Sets the epoch the schedule reads.
    pub fn set_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
    }

    /// The learning rate the next step uses.
    pub fn lr(&self) -> f64 {
        self.config.schedule.lr(self.config.lr, self.epoch)
    }

    /// The number of steps taken.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// The optimiser's state, for a checkpoint that continues training exactly: the steps
    /// taken and its per-parameter matrices (`m` then `v` for Adam, … as many per parameter
    /// as the method keeps, in visiting order); empty before the first step.
    pub fn state(&self) -> (usize, &[Mat<T>]) {
        (self.t, &self.state)
    }

    /// Sets the state [`state`](Self::state) returned, for the parameters `params`.
    ///
    /// # Errors
    /// When `state` does not hold one matrix of each parameter's shape per slot of this
    /// method (a checkpoint of another method or model); the optimiser is then unchanged.
    pub fn set_state<P: Params<T> + ?Sized>(
        &mut self,
        params: &P,
        steps: usize,
        state: Vec<Mat<T>>,
    ) -> Result<(), String> {
        let slots = self.config.method.slots();
        let mut shapes = Vec::new();
        params.for_each_param(&mut |_, m| shapes.push((m.nrows(), m.ncols())));
        if state.is_empty() && steps == 0 {
            *self = Optimizer::new(self.config.clone());
            return Ok(());
        }
        let want: Vec<(usize, usize)> = shapes
            .iter()
            .flat_map(|s| std::iter::repeat_n(*s, slots))
            .collect();
        let got: Vec<(usize, usize)> = state.iter().map(|m| (m.nrows(), m.ncols())).collect();
        if got != want {
            return Err(format!(
                "the saved optimiser state has {} matrices; {} keeps {} ({slots} per parameter) of the parameters' shapes",
                got.len(),
                self.config.method.name(),
                want.len()
            ));
        }
        self.state = state;
        self.shapes = Some(shapes);
        self.t = steps;
        Ok(())
    }

    /// One update of every parameter from its gradient. Allocates its state on the first call
    /// only; later calls do not touch the heap. The gradients are not modified (clipping
    /// scales them on the fly).
    ///
    /// # Panics
    ///
    /// If `grads` does not have the structure of `params`, or `params` that of the parameters
    /// at the first step (the number of matrices or a shape differs): a bug in the caller.
    pub fn step<P: Params<T> + ?Sized>(&mut self, params: &mut P, grads: &P) -> StepInfo {
        self.step_group(params, grads, None)
    }

    /// [`step`](Self::step) of the parameters a loss trains only: those whose visit position
    /// `trains` marks (`None`: every one). The others, their state and the gradient norm
    /// that clipping measures, leave them out. One optimiser per parameter group, each
    /// stepping its own group, is how losses over different groups (eq. 15.5) train.
    ///
    /// # Panics
    ///
    /// As [`step`](Self::step); also if `trains` does not have one entry per parameter.
    pub fn step_group<P: Params<T> + ?Sized>(
        &mut self,
        params: &mut P,
        grads: &P,
        trains: Option<&[bool]>,
    ) -> StepInfo {
        let slots = self.config.method.slots();
        let shapes = self.shapes.get_or_insert_with(|| {
            let mut shapes = Vec::new();
            params.for_each_param(&mut |_, m| shapes.push((m.nrows(), m.ncols())));
            for &(r, c) in &shapes {
                self.state.extend((0..slots).map(|_| Mat::zeros(r, c)));
            }
            shapes
        });

        // 1–2: the global norm of the raw gradients, and the clipping factor.
        if let Some(t) = trains {
            assert_eq!(t.len(), shapes.len(), "optimiser: a mark per parameter");
        }
        let trained = |k: usize| trains.is_none_or(|t| t[k]);
        let (mut sum, mut count) = (0.0f64, 0);
        grads.for_each_param(&mut |_, g| {
            count += 1;
            if !trained(count - 1) {
                return;
            }
            for j in 0..g.ncols() {
                for i in 0..g.nrows() {
                    let x = g[(i, j)].to_f64();
                    sum += x * x;
                }
            }
        });
        assert_eq!(
            count,
            shapes.len(),
            "optimiser: gradients have {count} matrices, parameters {}",
            shapes.len()
        );
        let grad_norm = sum.sqrt();
        let clip = self.config.clip_norm.filter(|&c| grad_norm > c);
        let scale = clip.map_or(1.0, |c| c / grad_norm);

        self.t += 1;
        let lr = self.config.schedule.lr(self.config.lr, self.epoch);
        let rule = Rule::<T>::new(&self.config, lr, scale, self.t);
        let state = &mut self.state;
        let mut k = 0;
        params.for_each_param_with_grad(grads, &mut |name, p, g| {
            let dims = (p.nrows(), p.ncols());
            assert!(
                k < shapes.len() && dims == shapes[k] && dims == (g.nrows(), g.ncols()),
                "optimiser: parameter {k} `{name}` is {dims:?} with a {:?} gradient; expected {:?}",
                (g.nrows(), g.ncols()),
                shapes.get(k),
            );
            if trained(k) {
                rule.apply(p, g, &mut state[k * slots..(k + 1) * slots]);
            }
            k += 1;
        });
        assert_eq!(
            k,
            shapes.len(),
            "optimiser: visited {k} parameters, expected {}",
            shapes.len()
        );
        if !self.config.max_norms.is_empty() {
            let constraints = &self.config.max_norms;
            params.for_each_param_mut(&mut |name, mut p| {
                for c in constraints.iter().filter(|c| c.param == name) {
                    c.project(p.as_mut());
                }
            });
        }
        StepInfo {
            lr,
            grad_norm,
            clipped: clip.is_some(),
        }
    }
}

/// One step's constants, converted to `T`.
struct Rule<T> {
    method: Method,
    lr: T,
    /// The clipping factor.
    scale: T,
    /// Coupled weight decay (0 for AdamW).
    decay: T,
    /// AdamW's decoupled shrink `α λ` (0 otherwise).
    shrink: T,
    /// `β`, `β₁` or `ρ`.
    b1: T,
    /// `β₂`.
    b2: T,
    eps: T,
    /// Adam's bias corrections `1 − β₁ᵗ` and `1 − β₂ᵗ`.
    bc1: T,
    bc2: T,
}

impl<T: Scalar> Rule<T> {
    fn new(config: &Config, lr: f64, scale: f64, t: usize) -> Rule<T> {
        let c = T::from_f64;
        let wd = config.weight_decay;
        let (b1, b2, eps) = match config.method {
            Method::Sgd | Method::Als => (0.0, 0.0, 0.0),
            Method::Momentum { beta } | Method::Nesterov { beta } => (beta, 0.0, 0.0),
            Method::Adam { beta1, beta2, eps } | Method::AdamW { beta1, beta2, eps } => {
                (beta1, beta2, eps)
            }
            Method::RmsProp { rho, eps } => (rho, 0.0, eps),
            Method::AdaGrad { eps } => (0.0, 0.0, eps),
        };
        let adamw = matches!(config.method, Method::AdamW { .. });
        Rule {
            method: config.method,
            lr: c(lr),
            scale: c(scale),
            decay: c(if adamw { 0.0 } else { wd }),
            shrink: c(if adamw { lr * wd } else { 0.0 }),
            b1: c(b1),
            b2: c(b2),
            eps: c(eps),
            bc1: c(1.0 - powi(b1, t)),
            bc2: c(1.0 - powi(b2, t)),
        }
    }

    /// Updates one parameter `p` from its gradient `g` and its state matrices.
    fn apply(&self, mut p: MatMut<'_, T>, g: MatRef<'_, T>, state: &mut [Mat<T>]) {
        let one = T::ONE;
        let (lr, b1, b2, eps) = (self.lr, self.b1, self.b2, self.eps);
        for j in 0..p.ncols() {
            for i in 0..p.nrows() {
                let x = p[(i, j)];
                let g = g[(i, j)] * self.scale + self.decay * x;
                let step = match self.method {
                    Method::Sgd => g,
                    // `fit` solves for the parameters itself (`crate::als`).
                    Method::Als => T::ZERO,
                    Method::Momentum { .. } => {
                        let m = &mut state[0][(i, j)];
                        *m = b1 * *m + (one - b1) * g;
                        *m
                    }
                    Method::Nesterov { .. } => {
                        let m = &mut state[0][(i, j)];
                        *m = b1 * *m + (one - b1) * g;
                        b1 * *m + (one - b1) * g
                    }
                    Method::Adam { .. } | Method::AdamW { .. } => {
                        let (ms, vs) = state.split_at_mut(1);
                        let (m, v) = (&mut ms[0][(i, j)], &mut vs[0][(i, j)]);
                        *m = b1 * *m + (one - b1) * g;
                        *v = b2 * *v + (one - b2) * g * g;
                        (*m / self.bc1) / ((*v / self.bc2).sqrt() + eps)
                    }
                    Method::RmsProp { .. } => {
                        let v = &mut state[0][(i, j)];
                        *v = b1 * *v + (one - b1) * g * g;
                        g / (v.sqrt() + eps)
                    }
                    Method::AdaGrad { .. } => {
                        let v = &mut state[0][(i, j)];
                        *v += g * g;
                        g / (v.sqrt() + eps)
                    }
                };
                p[(i, j)] = x - lr * step - self.shrink * x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NamedParams;

    type Arrays = ([[f64; 2]; 2], [f64; 2]);

    /// φ₀: `W = [[1, 2], [3, 4]]`, `b = [0.5, −1]`.
    const PHI0: Arrays = ([[1.0, 2.0], [3.0, 4.0]], [0.5, -1.0]);
    /// The base gradient `g₀`; step `t` (1-based) sees `t·g₀`. One entry is 0.
    const G0: Arrays = ([[1.0, -2.0], [0.5, 0.0]], [2.0, -1.0]);

    fn named(a: Arrays) -> NamedParams<f64> {
        let (w, b) = a;
        NamedParams::new([
            ("W".to_string(), Mat::from_fn(2, 2, |i, j| w[i][j])),
            ("b".to_string(), Mat::from_fn(2, 1, |i, _| b[i])),
        ])
    }

    /// `f(φ₀, g₀)` entry by entry: the hand-derived value after some steps.
    fn each(f: impl Fn(f64, f64) -> f64) -> Arrays {
        let ((w, b), (gw, gb)) = (PHI0, G0);
        let w = [0, 1].map(|i| [0, 1].map(|j| f(w[i][j], gw[i][j])));
        (w, [f(b[0], gb[0]), f(b[1], gb[1])])
    }

    fn scaled(a: Arrays, s: f64) -> NamedParams<f64> {
        let mut p = named(a);
        p.for_each_param_mut(&mut |_, mut m| {
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    m[(i, j)] *= s;
                }
            }
        });
        p
    }

    /// Runs `steps` steps from φ₀ with gradients `t·g₀`, checking after each against `want[t−1]`.
    fn check(config: Config, want: &[Arrays]) {
        let mut p = named(PHI0);
        let mut opt = Optimizer::new(config);
        for (t, w) in want.iter().enumerate() {
            opt.step(&mut p, &scaled(G0, (t + 1) as f64));
            let want = named(*w);
            for (got, want) in p.mats.iter().zip(&want.mats) {
                for i in 0..got.nrows() {
                    for j in 0..got.ncols() {
                        let (a, b) = (got[(i, j)], want[(i, j)]);
                        assert!((a - b).abs() < 1e-12, "step {}: ({i},{j}) {a} ≠ {b}", t + 1);
                    }
                }
            }
        }
        assert_eq!(opt.steps(), want.len());
    }

    #[test]
    fn sgd() {
        // φ₁ = φ₀ − 0.1·g₀; φ₂ = φ₁ − 0.1·2g₀ = φ₀ − 0.3·g₀. W₀₀: 0.9, then 0.7.
        check(
            Config::new(Method::Sgd, 0.1),
            &[each(|p, g| p - 0.1 * g), each(|p, g| p - 0.3 * g)],
        );
        check(
            Config::new(Method::Sgd, 0.1),
            &[([[0.9, 2.2], [2.95, 4.0]], [0.3, -0.9])],
        );
    }

    #[test]
    fn sgd_with_coupled_weight_decay() {
        // g' = g + 0.5φ, so φ₁ = 0.95φ₀ − 0.1g₀ (eq. 9.13 with λ' = αλ = 0.05) and
        // φ₂ = 0.95φ₁ − 0.2g₀. W₀₀: 0.95 − 0.1 = 0.85, then 0.8075 − 0.2 = 0.6075.
        let config = Config {
            weight_decay: 0.5,
            ..Config::new(Method::Sgd, 0.1)
        };
        let phi1 = |p: f64, g: f64| 0.95 * p - 0.1 * g;
        check(
            config.clone(),
            &[each(phi1), each(|p, g| 0.95 * phi1(p, g) - 0.2 * g)],
        );
        check(config, &[([[0.85, 2.1], [2.8, 3.8]], [0.275, -0.85])]);
    }

    #[test]
    fn momentum() {
        // m₁ = 0.1g₀, φ₁ = φ₀ − 0.01g₀; m₂ = 0.09g₀ + 0.2g₀ = 0.29g₀, φ₂ = φ₀ − 0.039g₀;
        // m₃ = 0.261g₀ + 0.3g₀ = 0.561g₀, φ₃ = φ₀ − 0.0951g₀.
        check(
            Config::new(Method::Momentum { beta: 0.9 }, 0.1),
            &[
                each(|p, g| p - 0.01 * g),
                each(|p, g| p - 0.039 * g),
                each(|p, g| p - 0.0951 * g),
            ],
        );
    }

    #[test]
    fn nesterov() {
        // ψ ← ψ − α(β m_new + (1−β) g): m₁ = 0.1g₀, ψ₁ = ψ₀ − 0.1(0.09 + 0.1)g₀ = ψ₀ − 0.019g₀;
        // m₂ = 0.29g₀, ψ₂ = ψ₁ − 0.1(0.261 + 0.2)g₀ = ψ₀ − 0.0651g₀;
        // m₃ = 0.561g₀, ψ₃ = ψ₂ − 0.1(0.5049 + 0.3)g₀ = ψ₀ − 0.14559g₀.
        check(
            Config::new(Method::Nesterov { beta: 0.9 }, 0.1),
            &[
                each(|p, g| p - 0.019 * g),
                each(|p, g| p - 0.0651 * g),
                each(|p, g| p - 0.14559 * g),
            ],
        );
    }

    #[test]
    fn nesterov_stores_the_books_look_ahead_point() {
        // L = ½ Σ a φ², so ∂L/∂φ = a φ at any point. The book's form (eq. 6.12) by hand:
        // m ← β m + (1−β) a (φ − αβ m), φ ← φ − α m; the stored ψ must be φ − αβ m.
        let (alpha, beta) = (0.1, 0.9);
        let a: Arrays = ([[1.0, 2.0], [3.0, 0.5]], [4.0, 1.0]);
        let flat = |x: Arrays| [x.0[0][0], x.0[0][1], x.0[1][0], x.0[1][1], x.1[0], x.1[1]];
        let (a, mut phi, mut m) = (flat(a), flat(PHI0), [0.0; 6]);
        let mut psi = named(PHI0);
        let mut opt = Optimizer::new(Config::new(Method::Nesterov { beta }, alpha));
        for t in 0..3 {
            for k in 0..6 {
                let g = a[k] * (phi[k] - alpha * beta * m[k]);
                m[k] = beta * m[k] + (1.0 - beta) * g;
                phi[k] -= alpha * m[k];
            }
            let mut grads = psi.clone();
            let mut k = 0;
            grads.for_each_param_mut(&mut |_, mut g| {
                for i in 0..g.nrows() {
                    for j in 0..g.ncols() {
                        g[(i, j)] *= a[k]; // row-major, as `flat`
                        k += 1;
                    }
                }
            });
            opt.step(&mut psi, &grads);
            let (w, b) = (&psi.mats[0], &psi.mats[1]);
            let got = [
                w[(0, 0)],
                w[(0, 1)],
                w[(1, 0)],
                w[(1, 1)],
                b[(0, 0)],
                b[(1, 0)],
            ];
            for k in 0..6 {
                let want = phi[k] - alpha * beta * m[k];
                assert!(
                    (got[k] - want).abs() < 1e-12,
                    "step {}: {k}: {} ≠ {want}",
                    t + 1,
                    got[k]
                );
            }
            if t == 0 {
                // W₀₁ (a = 2, φ₀ = 2): m₁ = 0.1·4 = 0.4, φ₁ = 1.96, ψ₁ = 1.96 − 0.09·0.4 = 1.924.
                assert!((got[1] - 1.924).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn adam_with_bias_correction() {
        // Step 1: m = 0.1g₀, v = 0.001g₀², m̃ = g₀, ṽ = g₀²: φ moves by 0.1·g₀/(|g₀| + 1e-8),
        // ≈ α·sign(g₀) (and not at all where g₀ = 0).
        // Step 2 (g = 2g₀): m = 0.09g₀ + 0.2g₀ = 0.29g₀, v = 0.000999g₀² + 0.004g₀² = 0.004999g₀²,
        // 1 − β₁² = 0.19, 1 − β₂² = 0.001999.
        let step1 = |g: f64| 0.1 * g / (g.abs() + 1e-8);
        let step2 =
            |g: f64| 0.1 * (0.29 / 0.19) * g / ((0.004999f64 / 0.001999).sqrt() * g.abs() + 1e-8);
        let adam = Method::parse("adam").unwrap();
        check(
            Config::new(adam, 0.1),
            &[
                each(|p, g| p - step1(g)),
                each(|p, g| p - step1(g) - step2(g)),
            ],
        );
        let mut p = named(PHI0);
        Optimizer::new(Config::new(adam, 0.1)).step(&mut p, &named(G0));
        let moved: Vec<f64> = (0..2).map(|i| PHI0.1[i] - p.mats[1][(i, 0)]).collect();
        assert!((moved[0] - 0.1).abs() < 1e-8 && (moved[1] + 0.1).abs() < 1e-8);
        assert_eq!(p.mats[0][(1, 1)], 4.0);
    }

    #[test]
    fn adamw_decays_decoupled() {
        // φ₁ = φ₀ − 0.1·0.5·φ₀ − step1 = 0.95φ₀ − step1; φ₂ = 0.95φ₁ − step2 (steps as for Adam:
        // the decay does not enter m or v). W₁₁ (g₀ = 0): 3.8, then 3.61.
        let step1 = |g: f64| 0.1 * g / (g.abs() + 1e-8);
        let step2 =
            |g: f64| 0.1 * (0.29 / 0.19) * g / ((0.004999f64 / 0.001999).sqrt() * g.abs() + 1e-8);
        let phi1 = |p: f64, g: f64| 0.95 * p - step1(g);
        let config = Config {
            weight_decay: 0.5,
            ..Config::new(Method::parse("AdamW").unwrap(), 0.1)
        };
        check(
            config,
            &[each(phi1), each(|p, g| 0.95 * phi1(p, g) - step2(g))],
        );
    }

    #[test]
    fn rmsprop() {
        // v₁ = 0.1g₀², φ₁ = φ₀ − 0.1g₀/(√0.1|g₀| + 1e-8);
        // v₂ = 0.09g₀² + 0.1·4g₀² = 0.49g₀², φ₂ = φ₁ − 0.1·2g₀/(0.7|g₀| + 1e-8).
        let phi1 = |p: f64, g: f64| p - 0.1 * g / (0.1f64.sqrt() * g.abs() + 1e-8);
        check(
            Config::new(Method::parse("rmsprop").unwrap(), 0.1),
            &[
                each(phi1),
                each(|p, g| phi1(p, g) - 0.2 * g / (0.7 * g.abs() + 1e-8)),
            ],
        );
    }

    #[test]
    fn adagrad() {
        // v₁ = g₀², φ₁ = φ₀ − 0.1g₀/(|g₀| + 1e-10); v₂ = g₀² + 4g₀² = 5g₀²,
        // φ₂ = φ₁ − 0.1·2g₀/(√5|g₀| + 1e-10).
        let phi1 = |p: f64, g: f64| p - 0.1 * g / (g.abs() + 1e-10);
        check(
            Config::new(Method::parse("adagrad").unwrap(), 0.1),
            &[
                each(phi1),
                each(|p, g| phi1(p, g) - 0.2 * g / (5f64.sqrt() * g.abs() + 1e-10)),
            ],
        );
    }

    #[test]
    fn clipping_by_global_norm_then_decay() {
        // Gradients W₀₀ = 3, b₀ = 4, the rest 0: ‖g‖ = 5 over both parameters.
        let mut g = named(([[0.0; 2]; 2], [0.0; 2]));
        g.mats[0][(0, 0)] = 3.0;
        g.mats[1][(0, 0)] = 4.0;
        let before = g.clone();
        let clip = |c| Config {
            clip_norm: Some(c),
            ..Config::new(Method::Sgd, 1.0)
        };

        // Clipped to norm 1: scale 0.2, the step is (0.6, 0.8), of norm 1.
        let mut p = named(PHI0);
        let info = Optimizer::new(clip(1.0)).step(&mut p, &g);
        assert_eq!(
            info,
            StepInfo {
                lr: 1.0,
                grad_norm: 5.0,
                clipped: true
            }
        );
        let (dw, db) = (1.0 - p.mats[0][(0, 0)], 0.5 - p.mats[1][(0, 0)]);
        assert!((dw - 0.6).abs() < 1e-15 && (db - 0.8).abs() < 1e-15);
        assert!(((dw * dw + db * db).sqrt() - 1.0).abs() < 1e-15);
        assert_eq!(g, before, "the gradients are not modified");

        // Under the threshold: untouched.
        let mut p = named(PHI0);
        let info = Optimizer::new(clip(10.0)).step(&mut p, &g);
        assert!(!info.clipped && info.grad_norm == 5.0);
        assert_eq!(p.mats[0][(0, 0)], -2.0);

        // Decay is added after clipping: W₀₀ = 1 − (0.6 + 1·1) = −0.6, W₁₁ = 4 − 4 = 0.
        let mut p = named(PHI0);
        Optimizer::new(Config {
            weight_decay: 1.0,
            ..clip(1.0)
        })
        .step(&mut p, &g);
        assert!((p.mats[0][(0, 0)] + 0.6).abs() < 1e-15);
        assert_eq!(p.mats[0][(1, 1)], 0.0);
    }

    #[test]
    fn schedules() {
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} ≠ {b}");
        let step = Schedule::Step {
            every: 10,
            gamma: 0.5,
        };
        for (epoch, want) in [(0, 1.0), (9, 1.0), (10, 0.5), (25, 0.25)] {
            close(step.lr(1.0, epoch), want);
        }
        let exp = Schedule::Exponential { gamma: 0.9 };
        for (epoch, want) in [(0, 2.0), (1, 1.8), (2, 1.62)] {
            close(exp.lr(2.0, epoch), want);
        }
        let inv = Schedule::InverseTime { decay: 0.1 };
        for (epoch, want) in [(0, 1.0), (10, 0.5), (30, 0.25)] {
            close(inv.lr(1.0, epoch), want);
        }
        let cos = Schedule::Cosine {
            epochs: 10,
            min_lr: 0.1,
        };
        // 0.1 + 0.9·(1 + cos(πe/10))/2: e = 5 → 0.55; e = 10 and beyond → 0.1.
        for (epoch, want) in [(0, 1.0), (5, 0.55), (10, 0.1), (20, 0.1)] {
            close(cos.lr(1.0, epoch), want);
        }
        close(Schedule::Constant.lr(0.3, 100), 0.3);

        let mut opt = Optimizer::<f64>::new(Config {
            schedule: step,
            ..Config::new(Method::Sgd, 0.4)
        });
        opt.set_epoch(10);
        close(opt.lr(), 0.2);
        let mut p = named(PHI0);
        assert_eq!(opt.step(&mut p, &named(G0)).lr, opt.lr());
        close(p.mats[0][(0, 0)], 1.0 - 0.2);
    }

    #[test]
    fn parsing() {
        for &name in Method::NAMES {
            assert_eq!(Method::parse(name).unwrap().name(), name);
            assert_eq!(Method::parse(&name.to_uppercase()).unwrap().name(), name);
        }
        assert_eq!(
            Method::parse("adam"),
            Ok(Method::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8
            })
        );
        assert_eq!(
            Method::parse("nesterov"),
            Ok(Method::Nesterov { beta: 0.9 })
        );
        let err = Method::parse("lbfgs").unwrap_err();
        assert!(
            err.contains("lbfgs") && Method::NAMES.iter().all(|n| err.contains(n)),
            "{err}"
        );

        let cosine = |epochs, min_lr| Schedule::Cosine { epochs, min_lr };
        for (text, want) in [
            ("constant", Schedule::Constant),
            (
                "step:10:0.5",
                Schedule::Step {
                    every: 10,
                    gamma: 0.5,
                },
            ),
            ("exp:0.95", Schedule::Exponential { gamma: 0.95 }),
            ("inverse:0.1", Schedule::InverseTime { decay: 0.1 }),
            ("cosine:50", cosine(50, 0.0)),
            ("Cosine:50:1e-5", cosine(50, 1e-5)),
        ] {
            assert_eq!(Schedule::parse(text), Ok(want), "{text}");
        }
        for bad in [
            "",
            "linear",
            "step:0:0.5",
            "step:10",
            "exp:x",
            "exp:-1",
            "cosine:50:1:2",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn state_is_allocated_on_the_first_step_only() {
        // A structural stand-in for an allocation counter (which would need `unsafe`): the
        // state buffers keep their addresses after the first step.
        let mut p = named(PHI0);
        let g = named(G0);
        let mut opt = Optimizer::new(Config::new(Method::parse("adam").unwrap(), 0.1));
        assert!(opt.state.is_empty());
        opt.step(&mut p, &g);
        let addrs: Vec<*const f64> = opt.state.iter().map(|m| m.as_ptr()).collect();
        assert_eq!(addrs.len(), 4, "m and v for each of two parameters");
        for _ in 0..5 {
            opt.step(&mut p, &g);
        }
        assert_eq!(
            addrs,
            opt.state.iter().map(|m| m.as_ptr()).collect::<Vec<_>>()
        );
        assert!(
            Optimizer::<f64>::new(Config::new(Method::Sgd, 0.1))
                .state
                .is_empty()
        );
    }

    #[test]
    #[should_panic(expected = "optimiser")]
    fn a_changed_structure_panics() {
        let mut p = named(PHI0);
        let mut opt = Optimizer::new(Config::new(Method::Momentum { beta: 0.9 }, 0.1));
        opt.step(&mut p, &named(G0));
        let mut q = NamedParams::new([("W".to_string(), Mat::<f64>::zeros(3, 2))]);
        let g = q.clone();
        opt.step(&mut q, &g);
    }

    /// Minimises `½ Σ a (φ − c)²` from φ₀ over 20 epochs of 100 steps; the largest error.
    fn minimise<T: Scalar>(config: Config) -> f64 {
        let a = [1.0, 2.0, 3.0, 0.5, 4.0, 1.0];
        let c = [-1.0, 0.5, 2.0, -3.0, 1.5, 0.0];
        let mut p = NamedParams::new([
            (
                "W".to_string(),
                Mat::from_fn(2, 2, |i, j| T::from_f64(PHI0.0[i][j])),
            ),
            (
                "b".to_string(),
                Mat::from_fn(2, 1, |i, _| T::from_f64(PHI0.1[i])),
            ),
        ]);
        let mut g = p.zeros_like();
        let mut opt = Optimizer::new(config);
        // Entry k of the flattened parameters: (matrix, row, column).
        let at = [
            (0, 0, 0),
            (0, 1, 0),
            (0, 0, 1),
            (0, 1, 1),
            (1, 0, 0),
            (1, 1, 0),
        ];
        for epoch in 0..20 {
            opt.set_epoch(epoch);
            for _ in 0..100 {
                for (k, &(m, i, j)) in at.iter().enumerate() {
                    let x = p.mats[m][(i, j)].to_f64();
                    g.mats[m][(i, j)] = T::from_f64(a[k] * (x - c[k]));
                }
                opt.step(&mut p, &g);
            }
        }
        let err = |k: usize| {
            let (m, i, j) = at[k];
            (p.mats[m][(i, j)].to_f64() - c[k]).abs()
        };
        (0..6).map(err).fold(0.0, f64::max)
    }

    #[test]
    fn every_method_converges_on_a_quadratic() {
        // Every gradient step; alternating least squares is run by `fit` (`als.rs`).
        for &name in Method::NAMES.iter().filter(|&&n| n != "als") {
            let method = Method::parse(name).unwrap();
            let lr = match method {
                Method::Sgd | Method::Momentum { .. } | Method::Nesterov { .. } => 0.1,
                Method::AdaGrad { .. } => 0.5,
                _ => 0.05,
            };
            // The rate anneals so the adaptive methods settle rather than hover at ~α.
            let config = Config {
                schedule: Schedule::Cosine {
                    epochs: 20,
                    min_lr: 0.0,
                },
                ..Config::new(method, lr)
            };
            let (e64, e32) = (minimise::<f64>(config.clone()), minimise::<f32>(config));
            assert!(e64 < 1e-3 && e32 < 1e-3, "{name}: {e64} (f64), {e32} (f32)");
        }
    }

    /// `‖w_j‖ ≤ c` scales each column longer than c onto the sphere and leaves the others;
    /// `‖w‖ ≤ c` scales the whole matrix by one factor.
    #[test]
    fn max_norm_projects_columns_or_the_whole_parameter() {
        let w: Mat<f64> = Mat::from_fn(2, 3, |i, j| [[3.0, 0.3, 0.0], [4.0, 0.4, 2.0]][i][j]);
        let mut cols = w.clone();
        let c = |columns| MaxNorm {
            param: "w".into(),
            columns,
            bound: 1.0,
        };
        c(true).project(cols.as_mut());
        let want = [[0.6, 0.3, 0.0], [0.8, 0.4, 1.0]];
        for i in 0..2 {
            for j in 0..3 {
                assert!((cols[(i, j)] - want[i][j]).abs() < 1e-15, "{cols:?}");
            }
        }
        let mut whole = w.clone();
        c(false).project(whole.as_mut());
        let norm = (9.0f64 + 16.0 + 0.09 + 0.16 + 4.0).sqrt();
        for i in 0..2 {
            for j in 0..3 {
                assert!((whole[(i, j)] - w[(i, j)] / norm).abs() < 1e-15);
            }
        }
    }
}
