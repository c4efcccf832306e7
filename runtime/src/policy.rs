//! Policy gradients (§19.6–19.7, eqs. 19.22–19.42) with any [`Supervised`] model whose model
//! function is the policy `π[s, θ]`, the vector of the `A` action probabilities in state `s`:
//! REINFORCE with a learned baseline, and actor-critic, each written as the spec's losses.
//!
//! The model reads the steps of its own episodes through inputs named by their role, as deep
//! Q-learning does ([`crate::rl::Role`]): `s` the state, `G` the discounted return from it
//! (eq. 19.32, `G_t = ∑_{k≥0} γ^k r_{t+k+1}`, computed here when the episode ends), `r` the
//! reward, `s'` the next state, `d` 1 when `s'` is terminal; the action taken is its target,
//! a label `a ∈ {lo … lo+A-1}`. One round:
//!
//! ```text
//! act      run `episodes_per_step` episodes, each action drawn from π[s_t, θ]
//!          (a seeded generator; episode k of the run starts from env.reset(seed·1000003 + k))
//! returns  G_T = r_T, G_t = r_{t+1} + γ G_{t+1}: to the end of the episode, no bootstrap
//! refresh  φ⁻ ← φ for every frozen copy (a critic's target `v[s'_i, ω⁻]` is the value
//!          before this round's step: a target with no gradient)
//! learn    every loss of the model over all the round's steps, one optimiser step each on
//!          the parameters it trains (the policy's `L[θ]`, the value's `L'[ω]`); `passes`
//!          times over the same steps (PPO's epochs, with θ⁻ the policy that played)
//! ```
//!
//! It stops after `episodes` episodes, when the mean return of the last 100 episodes reaches
//! `solved`, or when [`interrupt::requested`](crate::interrupt::requested) (Ctrl-C), after
//! the episode under way.

use crate::data::TargetsRef;
use crate::env::Env;
use crate::optim::Optimizer;
use crate::rl::{Layout, Transition, mark_solved, refresh_frozen};
use crate::train::Supervised;
use crate::{Rng, Scalar, StepError};
use faer::Mat;

/// How to run policy-gradient training.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyConfig {
    /// The most episodes to run.
    pub episodes: usize,
    /// Episodes sampled per round (the `I` of eq. 19.29): one optimiser step per loss each.
    pub episodes_per_step: usize,
    /// Optimiser steps per loss over each round's steps (PPO's epochs); the frozen copies
    /// stay those of the policy that played the round.
    pub passes: usize,
    /// The discount `γ` of the returns `G` (eq. 19.32).
    pub gamma: f64,
    /// Stop once the mean return of the last 100 episodes reaches this.
    pub solved: Option<f64>,
    /// Seed of the episodes and of the actions drawn.
    pub seed: u64,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            episodes: 2_000,
            episodes_per_step: 10,
            passes: 1,
            gamma: 0.99,
            solved: None,
            seed: 1,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyRun {
    /// Each episode's return (the sum of its rewards).
    pub returns: Vec<f64>,
    /// Each episode's loss: the first loss of its round over the round's steps, per step.
    pub losses: Vec<f64>,
    /// Environment steps taken.
    pub steps: usize,
    /// Optimiser rounds taken.
    pub rounds: usize,
    /// The episode (1-based) after which the mean of the last 100 returns first reached
    /// `solved`.
    pub solved_at: Option<usize>,
    /// Whether it stopped on request.
    pub interrupted: bool,
}

/// The discounted returns of an episode's rewards: `G_t = r_{t+1} + γ G_{t+1}`, the last
/// step's return its reward (eq. 19.32).
pub fn discounted_returns(rewards: &[f64], gamma: f64) -> Vec<f64> {
    let mut out = vec![0.0; rewards.len()];
    let mut g = 0.0;
    for t in (0..rewards.len()).rev() {
        g = rewards[t] + gamma * g;
        out[t] = g;
    }
    out
}

/// An action drawn from the probabilities `p` (a column) by a uniform draw `u ∈ [0, 1)`.
///
/// # Errors
/// When `p` is not a probability vector (an entry negative or not finite, or a sum far from
/// 1): the model function is not a policy.
pub fn sample<T: Scalar>(
    p: faer::MatRef<'_, T>,
    actions: usize,
    u: f64,
) -> Result<usize, StepError> {
    let probs: Vec<f64> = (0..actions.min(p.nrows()))
        .map(|a| p[(a, 0)].to_f64())
        .collect();
    let total: f64 = probs.iter().sum();
    if probs.iter().any(|q| !q.is_finite() || *q < 0.0) || (total - 1.0).abs() > 1e-3 {
        return Err(StepError::Eval(format!(
            "the policy π[s, θ] is not a probability vector ({probs:?}); write it as \
             `π[s, θ] = softmax[…]`"
        )));
    }
    let mut acc = 0.0;
    for (a, q) in probs.iter().enumerate() {
        acc += q / total;
        if u < acc {
            return Ok(a);
        }
    }
    Ok(probs.len() - 1)
}

/// Plays one episode with actions drawn from the policy; the steps and their returns.
fn episode<T: Scalar, M: Supervised<T>>(
    model: &M,
    layout: &Layout,
    env: &mut dyn Env,
    seed: u64,
    rng: &mut Rng,
    ws: &mut M::Workspace,
) -> Result<Vec<Transition>, StepError> {
    let mut s = env.reset(seed);
    let mut steps = Vec::new();
    let mut x = Mat::<T>::zeros(layout.features(), 1);
    loop {
        let here = Transition {
            s: s.clone(),
            a: 0,
            r: 0.0,
            next: s.clone(),
            terminal: false,
        };
        layout.write_with(&mut x, 0, &here, 0.0);
        let p = model.predict(x.as_ref(), ws)?;
        let a = sample(p, layout.actions, rng.uniform())?;
        let step = env.step(a);
        let done = step.done;
        steps.push(Transition {
            s: std::mem::take(&mut s),
            a,
            r: step.reward,
            terminal: step.terminal(),
            next: step.observation.clone(),
        });
        s = step.observation;
        if done || crate::interrupt::requested() {
            return Ok(steps);
        }
    }
}

/// One optimiser step per loss over the steps `batch` with their returns `g`; the first
/// loss's value.
pub fn learn<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    layout: &Layout,
    batch: &[Transition],
    g: &[f64],
    opt: &mut Optimizer<T>,
    grads: &mut M,
    ws: &mut M::Workspace,
) -> Result<f64, StepError> {
    let mut x = Mat::<T>::zeros(layout.features(), batch.len());
    let mut labels = Vec::with_capacity(batch.len());
    for (j, t) in batch.iter().enumerate() {
        layout.write_with(&mut x, j, t, g[j]);
        labels.push((i64::from(layout.lo) + t.a as i64) as usize);
    }
    let mut first = f64::NAN;
    for (k, objective) in model.objectives().into_iter().enumerate() {
        let loss =
            model.batch_loss_and_grad_of(k, x.as_ref(), TargetsRef::Labels(&labels), grads, ws)?;
        let loss = loss.to_f64();
        if !loss.is_finite() {
            return Err(StepError::Eval(format!(
                "the loss `{}` is not finite (try a smaller --lr, or --clip)",
                objective.name
            )));
        }
        if k == 0 {
            first = loss;
        }
        opt.step_group(model, grads, Some(&objective.trains));
    }
    Ok(first)
}

/// Runs policy-gradient training of `model` in `env`; `report` is called after each round
/// with the run so far.
///
/// # Errors
/// When the model refuses a batch, its function is not a probability vector, or a loss is
/// not finite.
pub fn train<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    layout: &Layout,
    env: &mut dyn Env,
    opt: &mut Optimizer<T>,
    config: &PolicyConfig,
    report: &mut dyn FnMut(&PolicyRun),
) -> Result<PolicyRun, StepError> {
    let mut rng = Rng::new(config.seed ^ 0x00A0_C701);
    let mut ws = model.new_workspace(1);
    let mut grads = model.new_grads();
    let mut run = PolicyRun::default();
    while run.returns.len() < config.episodes && !run.interrupted && run.solved_at.is_none() {
        let (mut batch, mut g) = (Vec::new(), Vec::new());
        let first = run.returns.len();
        for _ in 0..config.episodes_per_step.max(1) {
            let k = run.returns.len();
            if k >= config.episodes {
                break;
            }
            let seed = config.seed.wrapping_mul(1_000_003).wrapping_add(k as u64);
            let steps = episode(model, layout, env, seed, &mut rng, &mut ws)?;
            let rewards: Vec<f64> = steps.iter().map(|t| t.r).collect();
            run.returns.push(rewards.iter().sum());
            run.steps += steps.len();
            g.extend(discounted_returns(&rewards, config.gamma));
            batch.extend(steps);
            if crate::interrupt::requested() {
                run.interrupted = true;
                break;
            }
        }
        let loss = if run.interrupted || batch.is_empty() {
            f64::NAN
        } else {
            refresh_frozen(model);
            let mut ws_batch = model.new_workspace(batch.len());
            let mut l = f64::NAN;
            for pass in 0..config.passes.max(1) {
                let now = learn(model, layout, &batch, &g, opt, &mut grads, &mut ws_batch)?;
                if pass == 0 {
                    l = now;
                }
            }
            run.rounds += 1;
            l / batch.len() as f64
        };
        for k in first..run.returns.len() {
            run.losses.push(loss);
            mark_solved(&mut run.solved_at, &run.returns[..=k], config.solved);
        }
        report(&run);
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_are_discounted_to_the_end_of_the_episode() {
        let g = discounted_returns(&[1.0, 2.0, 3.0], 0.5);
        assert_eq!(g, vec![1.0 + 0.5 * (2.0 + 0.5 * 3.0), 2.0 + 0.5 * 3.0, 3.0]);
        assert_eq!(discounted_returns(&[1.0; 4], 1.0), vec![4.0, 3.0, 2.0, 1.0]);
        assert!(discounted_returns(&[], 0.9).is_empty());
    }

    #[test]
    fn sampling_follows_the_cumulative_probabilities() {
        let p = Mat::<f64>::from_fn(3, 1, |i, _| [0.2, 0.5, 0.3][i]);
        assert_eq!(sample(p.as_ref(), 3, 0.0).unwrap(), 0);
        assert_eq!(sample(p.as_ref(), 3, 0.19).unwrap(), 0);
        assert_eq!(sample(p.as_ref(), 3, 0.21).unwrap(), 1);
        assert_eq!(sample(p.as_ref(), 3, 0.71).unwrap(), 2);
        assert_eq!(sample(p.as_ref(), 3, 0.999_999).unwrap(), 2);
    }

    #[test]
    fn a_function_that_is_not_a_probability_vector_is_refused() {
        let q = Mat::<f64>::from_fn(2, 1, |i, _| [1.5, -0.2][i]);
        let e = sample(q.as_ref(), 2, 0.5).unwrap_err().to_string();
        assert!(e.contains("softmax"), "{e}");
        let nan = Mat::<f64>::from_fn(2, 1, |_, _| f64::NAN);
        assert!(sample(nan.as_ref(), 2, 0.5).is_err());
    }
}
