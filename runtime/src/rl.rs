//! Deep Q-learning (§19.5, eqs. 19.16–19.18) with any [`Supervised`] model whose loss is the
//! temporal-difference error of a transition: the spec's loss, written as the book prints
//! it, trained on minibatches drawn from a replay buffer of the agent's own experience.
//!
//! The model reads a transition `(s, a, r, s')` through inputs named by their role — `s` the
//! state, `s'` the next state, `r` the reward, and optionally `d`, 1 when `s'` is terminal
//! (else 0; a spec writes `γ · (1 - d_i) · …` so a terminal state has no value) — and the
//! action taken as its target, a label `a ∈ {lo … lo+A-1}`; its model function `q[s, φ]` is
//! the vector of the `A` action values, read to act. A loop of episodes of an [`Env`]:
//!
//! ```text
//! act      a_t = argmax_a q[s_t, a, φ], or a uniform action with probability ε
//!          (ε falls linearly from eps_start to eps_end over eps_steps steps)
//! store    (s_t, a_t, r_{t+1}, s_{t+1}, terminal) in the replay buffer (the oldest dropped)
//! learn    after `warmup` transitions, one minibatch of `batch` transitions per step:
//!          the loss and its gradient, one optimiser step of the parameters the loss trains
//! refresh  φ⁻ ← φ every `refresh` steps (and at the start): each parameter named with a
//!          frozen mark (`β⁻`, `Ω⁻_1`) is set to the parameter of its name without it
//! ```
//!
//! It stops after `episodes` episodes, when the mean return of the last 100 episodes reaches
//! `solved`, or when [`interrupt::requested`](crate::interrupt::requested) (Ctrl-C).

use crate::data::TargetsRef;
use crate::env::Env;
use crate::optim::Optimizer;
use crate::train::Supervised;
use crate::{Params, Rng, Scalar, StepError};
use faer::Mat;

/// How to run deep Q-learning.
#[derive(Clone, Debug, PartialEq)]
pub struct DqnConfig {
    /// The most episodes to run.
    pub episodes: usize,
    /// Transitions per minibatch.
    pub batch: usize,
    /// Transitions the replay buffer holds.
    pub buffer: usize,
    /// Transitions collected before learning starts.
    pub warmup: usize,
    /// Steps between refreshes of the frozen copies `φ⁻ ← φ`.
    pub refresh: usize,
    /// The exploration rate at the start.
    pub eps_start: f64,
    /// The exploration rate after `eps_steps` steps.
    pub eps_end: f64,
    /// Steps over which ε falls.
    pub eps_steps: usize,
    /// Stop once the mean return of the last 100 episodes reaches this.
    pub solved: Option<f64>,
    /// Seed of the episodes, the exploration and the minibatches.
    pub seed: u64,
}

impl Default for DqnConfig {
    fn default() -> DqnConfig {
        DqnConfig {
            episodes: 600,
            batch: 64,
            buffer: 50_000,
            warmup: 1_000,
            refresh: 500,
            eps_start: 1.0,
            eps_end: 0.05,
            eps_steps: 10_000,
            solved: None,
            seed: 1,
        }
    }
}

/// Where each part of a transition goes among the model's inputs (rows of one column).
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// For each input in the model's order, its role and rows.
    pub inputs: Vec<(Role, usize)>,
    /// The first action label (`1` for `a ∈ {1 … A}`).
    pub lo: i32,
    /// The number of actions `A`.
    pub actions: usize,
}

/// What a model input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `s`: the state.
    State,
    /// `s'`: the next state.
    Next,
    /// `r`: the reward.
    Reward,
    /// `d`: 1 if the next state is terminal.
    Done,
    /// `G`: the discounted return from the state on, `∑_k γ^k r_{t+k+1}` (eq. 19.32), which
    /// the policy-gradient loop computes at the end of an episode ([`crate::policy`]).
    Return,
}

impl Role {
    /// The role of an input named `name`, if it has one.
    pub fn of(name: &str) -> Option<Role> {
        Some(match name {
            "s" => Role::State,
            "s'" => Role::Next,
            "r" => Role::Reward,
            "d" => Role::Done,
            "G" => Role::Return,
            _ => return None,
        })
    }
}

impl Layout {
    /// The numbers of one transition's column.
    pub fn features(&self) -> usize {
        self.inputs.iter().map(|(_, r)| r).sum()
    }

    /// Writes a transition into column `j` of `x` (a return `G` as 0: deep Q-learning has none).
    fn write<T: Scalar>(&self, x: &mut Mat<T>, j: usize, t: &Transition) {
        self.write_with(x, j, t, 0.0);
    }

    /// Writes a transition and the return `g` from its state into column `j` of `x`.
    pub fn write_with<T: Scalar>(&self, x: &mut Mat<T>, j: usize, t: &Transition, g: f64) {
        self.write_column(x, j, |role, k| match role {
            Role::State => t.s.get(k).copied().unwrap_or(0.0),
            Role::Next => t.next.get(k).copied().unwrap_or(0.0),
            Role::Reward => t.r,
            Role::Done => f64::from(u8::from(t.terminal)),
            Role::Return => g,
        });
    }

    /// Writes column `j` of `x`: entry `k` of each input of role `role` is `value(role, k)`.
    fn write_column<T: Scalar>(
        &self,
        x: &mut Mat<T>,
        j: usize,
        value: impl Fn(Role, usize) -> f64,
    ) {
        let mut row = 0;
        for &(role, rows) in &self.inputs {
            for k in 0..rows {
                x[(row + k, j)] = T::from_f64(value(role, k));
            }
            row += rows;
        }
    }
}

/// The buffers of deep Q-learning's steps, made once per run ([`dqn`]) so that acting
/// ([`greedy`]) and learning ([`learn`]) allocate nothing: a state's column, a minibatch's
/// columns and action labels, and which parameters the loss trains.
#[derive(Clone, Debug)]
pub struct Scratch<T> {
    state: Mat<T>,
    x: Mat<T>,
    labels: Vec<usize>,
    trains: Option<Vec<bool>>,
}

impl<T: Scalar> Scratch<T> {
    /// The buffers for `model`, read through `layout`, with minibatches of `batch`.
    pub fn new<M: Supervised<T>>(model: &M, layout: &Layout, batch: usize) -> Scratch<T> {
        Scratch {
            state: Mat::zeros(layout.features(), 1),
            x: Mat::zeros(layout.features(), batch),
            labels: Vec::with_capacity(batch),
            trains: model.objectives().into_iter().next().map(|o| o.trains),
        }
    }
}

/// One step of experience.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    /// The state.
    pub s: Vec<f64>,
    /// The action taken, from 0.
    pub a: usize,
    /// The reward.
    pub r: f64,
    /// The next state.
    pub next: Vec<f64>,
    /// Whether the next state is terminal.
    pub terminal: bool,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DqnRun {
    /// Each episode's return (the sum of its rewards).
    pub returns: Vec<f64>,
    /// Each episode's mean minibatch loss (NaN before learning started).
    pub losses: Vec<f64>,
    /// Environment steps taken.
    pub steps: usize,
    /// The episode (1-based) after which the mean of the last 100 returns first reached
    /// `solved`.
    pub solved_at: Option<usize>,
    /// Whether it stopped on request.
    pub interrupted: bool,
}

/// Records in `solved_at`, when it is still `None`, the episode after which the mean of the
/// last 100 returns first reached `target`: `returns` are those so far, the last one just
/// played. Every environment loop (deep Q-learning, policy gradients) stops on it.
pub fn mark_solved(solved_at: &mut Option<usize>, returns: &[f64], target: Option<f64>) {
    if solved_at.is_none()
        && returns.len() >= 100
        && target.is_some_and(|target| recent_mean(returns) >= target)
    {
        *solved_at = Some(returns.len());
    }
}

/// The mean of the last (up to) 100 returns.
pub fn recent_mean(returns: &[f64]) -> f64 {
    let tail = &returns[returns.len().saturating_sub(100)..];
    if tail.is_empty() {
        return 0.0;
    }
    tail.iter().sum::<f64>() / tail.len() as f64
}

/// Sets every frozen copy (a parameter whose name holds `⁻`) to the parameter of its name
/// without the mark.
pub fn refresh_frozen<T: Scalar, P: Params<T> + ?Sized>(model: &mut P) {
    let mut sources: Vec<(String, Mat<T>)> = Vec::new();
    model.for_each_param(&mut |name, m| {
        if !name.contains('⁻') {
            sources.push((name.to_string(), m.to_owned()));
        }
    });
    model.for_each_param_mut(&mut |name, mut m| {
        if name.contains('⁻') {
            let thawed = name.replace('⁻', "");
            if let Some((_, src)) = sources.iter().find(|(n, _)| *n == thawed) {
                m.copy_from(src.as_ref());
            }
        }
    });
}

/// The greedy action of `model` in state `s`: the largest action value (the first on a tie).
/// The state is read as a transition from `s` to itself, with no reward.
pub fn greedy<T: Scalar, M: Supervised<T>>(
    model: &M,
    layout: &Layout,
    s: &[f64],
    scratch: &mut Scratch<T>,
    ws: &mut M::Workspace,
) -> Result<usize, StepError> {
    layout.write_column(&mut scratch.state, 0, |role, k| match role {
        Role::State | Role::Next => s.get(k).copied().unwrap_or(0.0),
        _ => 0.0,
    });
    let q = model.predict(scratch.state.as_ref(), ws)?;
    let mut best = 0;
    for a in 1..layout.actions.min(q.nrows()) {
        if q[(a, 0)] > q[(best, 0)] {
            best = a;
        }
    }
    Ok(best)
}

/// One minibatch's loss and update: the loss over `batch` (transitions of the buffer), its
/// gradient, one step of the optimiser on the parameters the loss trains.
pub fn learn<'t, T: Scalar, M: Supervised<T>>(
    model: &mut M,
    layout: &Layout,
    batch: impl ExactSizeIterator<Item = &'t Transition>,
    opt: &mut Optimizer<T>,
    grads: &mut M,
    ws: &mut M::Workspace,
    scratch: &mut Scratch<T>,
) -> Result<f64, StepError> {
    if scratch.x.ncols() != batch.len() {
        scratch.x = Mat::zeros(layout.features(), batch.len());
    }
    scratch.labels.clear();
    for (j, t) in batch.enumerate() {
        layout.write(&mut scratch.x, j, t);
        scratch
            .labels
            .push((i64::from(layout.lo) + t.a as i64) as usize);
    }
    let (x, y) = (scratch.x.as_ref(), TargetsRef::Labels(&scratch.labels));
    let loss = model.batch_loss_and_grad(x, y, grads, ws)?;
    opt.step_group(model, grads, scratch.trains.as_deref());
    Ok(loss.to_f64())
}

/// Runs deep Q-learning of `model` in `env`; `report` is called after each episode with the
/// run so far and the current ε.
///
/// # Errors
/// When the model refuses a batch, or the loss is not finite.
pub fn dqn<T: Scalar, M: Supervised<T>>(
    model: &mut M,
    layout: &Layout,
    env: &mut dyn Env,
    opt: &mut Optimizer<T>,
    config: &DqnConfig,
    report: &mut dyn FnMut(&DqnRun, f64),
) -> Result<DqnRun, StepError> {
    let mut rng = Rng::new(config.seed ^ 0x5EED_D0A0);
    let mut ws = model.new_workspace(config.batch.max(1));
    let mut grads = model.new_grads();
    let mut scratch = Scratch::new(model, layout, config.batch);
    let mut buffer: Vec<Transition> = Vec::with_capacity(config.buffer.min(1 << 20));
    let mut oldest = 0;
    let mut run = DqnRun::default();
    refresh_frozen(model);
    for episode in 0..config.episodes {
        let mut s = env.reset(
            config
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(episode as u64),
        );
        let (mut ret, mut loss_sum, mut loss_n) = (0.0, 0.0, 0usize);
        loop {
            let eps = epsilon(config, run.steps);
            let a = if rng.uniform() < eps {
                ((rng.uniform() * layout.actions as f64) as usize).min(layout.actions - 1)
            } else {
                greedy(model, layout, &s, &mut scratch, &mut ws)?
            };
            let step = env.step(a);
            ret += step.reward;
            let t = Transition {
                s: std::mem::take(&mut s),
                a,
                r: step.reward,
                next: step.observation.clone(),
                terminal: step.terminal(),
            };
            if buffer.len() < config.buffer.max(1) {
                buffer.push(t);
            } else {
                buffer[oldest] = t;
                oldest = (oldest + 1) % buffer.len();
            }
            s = step.observation;
            run.steps += 1;
            if buffer.len() >= config.warmup.max(config.batch) {
                let picks = (0..config.batch)
                    .map(|_| &buffer[(rng.next_u64() % buffer.len() as u64) as usize]);
                let l = learn(model, layout, picks, opt, &mut grads, &mut ws, &mut scratch)?;
                if !l.is_finite() {
                    return Err(StepError::Eval(format!(
                        "the loss is not finite at step {} (try a smaller --lr, or --clip)",
                        run.steps
                    )));
                }
                loss_sum += l / config.batch as f64;
                loss_n += 1;
            }
            if config.refresh > 0 && run.steps.is_multiple_of(config.refresh) {
                refresh_frozen(model);
            }
            if crate::interrupt::requested() {
                run.interrupted = true;
            }
            if step.done || run.interrupted {
                break;
            }
        }
        run.returns.push(ret);
        run.losses.push(if loss_n > 0 {
            loss_sum / loss_n as f64
        } else {
            f64::NAN
        });
        mark_solved(&mut run.solved_at, &run.returns, config.solved);
        report(&run, epsilon(config, run.steps));
        if run.interrupted || run.solved_at.is_some() {
            break;
        }
    }
    Ok(run)
}

/// ε after `steps` steps: linear from `eps_start` to `eps_end` over `eps_steps`.
fn epsilon(config: &DqnConfig, steps: usize) -> f64 {
    let f = (steps as f64 / config.eps_steps.max(1) as f64).min(1.0);
    config.eps_start + f * (config.eps_end - config.eps_start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NamedParams;

    #[test]
    fn refresh_copies_each_parameter_into_its_frozen_copy() {
        let mut p = NamedParams::<f64>::new(vec![
            ("β".into(), Mat::from_fn(2, 1, |i, _| i as f64 + 1.0)),
            ("Ω_1".into(), Mat::from_fn(2, 2, |i, j| (i + 2 * j) as f64)),
            ("β⁻".into(), Mat::zeros(2, 1)),
            ("Ω⁻_1".into(), Mat::zeros(2, 2)),
        ]);
        refresh_frozen(&mut p);
        let mut seen = Vec::new();
        p.for_each_param(&mut |n, m| seen.push((n.to_string(), m.to_owned())));
        assert_eq!(seen[2].1, seen[0].1);
        assert_eq!(seen[3].1, seen[1].1);
    }

    #[test]
    fn epsilon_falls_linearly() {
        let c = DqnConfig {
            eps_start: 1.0,
            eps_end: 0.1,
            eps_steps: 100,
            ..DqnConfig::default()
        };
        assert_eq!(epsilon(&c, 0), 1.0);
        assert!((epsilon(&c, 50) - 0.55).abs() < 1e-12);
        assert!((epsilon(&c, 1000) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn solved_is_marked_once_the_last_hundred_reach_the_target() {
        let mut at = None;
        let mut returns = vec![200.0; 99];
        mark_solved(&mut at, &returns, Some(195.0));
        assert_eq!(at, None, "fewer than 100 episodes");
        returns.push(200.0);
        mark_solved(&mut at, &returns, None);
        assert_eq!(at, None, "no target");
        mark_solved(&mut at, &returns, Some(195.0));
        assert_eq!(at, Some(100));
        returns.push(0.0);
        mark_solved(&mut at, &returns, Some(195.0));
        assert_eq!(at, Some(100), "the first episode is kept");
    }

    #[test]
    fn recent_mean_is_over_the_last_hundred() {
        let r: Vec<f64> = (0..150).map(f64::from).collect();
        assert_eq!(recent_mean(&r), (50..150).sum::<i32>() as f64 / 100.0);
        assert_eq!(recent_mean(&[]), 0.0);
    }
}
