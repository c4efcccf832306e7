//! Tabular reinforcement learning (§19.3–19.4) and bandits: the loops around a model's update
//! rules (`q[s_t, a_t] ← …`), which the model applies itself through [`Rules::step`]: one
//! simultaneous update step on a batch of transitions, every new entry computed from the
//! tables before the step. The runtime decides which transitions, in two ways:
//!
//! ```text
//! episodes  (temporal-difference learning, eqs. 19.14–19.15; bandits)
//!   act      the model's own choice A_t (an upper confidence bound), or else
//!            a_t = argmax_a q[s_t, a], or a uniform action with probability ε
//!            (ε falling linearly over the episodes, from its start to 0)
//!            (a tie drawn uniformly among the largest)
//!   observe  r, s_{t+1} (and with SARSA a_{t+1}, chosen the same way in s_{t+1})
//!   update   one step on the transition (s_t, a_t, r, s_{t+1}, a_{t+1})
//! sweeps    (dynamic programming, eqs. 19.11–19.12)
//!   update   one step on every state s ∈ {1 … S} at once, until no entry moves by more
//!            than a tolerance
//! policy iteration (a rule writes a policy π[s], a table of actions)
//!   evaluate sweeps of the other rules until nothing moves
//!   improve  one step of the policy's rules on every state; until no action changes
//! ```
//!
//! States and actions are counted from 0 here, as [`Env`] counts them; the model adds its
//! first label. [`frozen_lake_dynamics`] gives the lake's transition probabilities and expected
//! rewards, the tables dynamic programming reads.

use crate::env::{Env, FrozenLake};
use crate::{Rng, Scalar};
use faer::{MatMut, MatRef};

/// One transition, states and actions counted from 0.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Transition {
    /// The state `s_t`.
    pub s: usize,
    /// The action `a_t`.
    pub a: usize,
    /// The reward observed.
    pub r: f64,
    /// The next state `s_{t+1}`.
    pub next: usize,
    /// The next action `a_{t+1}` (SARSA), chosen before the update.
    pub next_action: usize,
    /// Whether `s_{t+1}` is terminal.
    pub terminal: bool,
    /// The step, counted from 1 over the whole run.
    pub t: usize,
}

/// A model whose update rules the loops apply: the interpreter's `TabularModel`, or the code
/// `model!` generates for a spec with update rules.
pub trait Rules {
    /// The buffers of a step, allocated once by [`Rules::new_workspace`] (`()` for a model
    /// that needs none).
    type Workspace;
    /// Buffers for batches of up to `max_batch` transitions.
    fn new_workspace(&self, max_batch: usize) -> Self::Workspace;
    /// The action values the agent acts on in `state`, one per action, into `out`.
    fn action_values(&self, state: usize, out: &mut [f64]);
    /// The action the model itself chooses in `state` (counted from 0), if it has a rule for
    /// it (an upper confidence bound); `None`: act ε-greedily on [`Rules::action_values`].
    ///
    /// # Errors
    /// When the rule cannot be computed or chooses no action.
    fn action(&self, state: usize, ws: &mut Self::Workspace) -> Result<Option<usize>, String> {
        let _ = (state, ws);
        Ok(None)
    }
    /// One update step on `batch`; returns the largest change of any entry it wrote.
    ///
    /// # Errors
    /// When the update cannot be computed (a non-finite value, named by the model).
    fn step(&mut self, batch: &[Transition], ws: &mut Self::Workspace) -> Result<f64, String>;
    /// Whether some rule writes a policy, a table of actions (`π[s] ← argmax_a […]`, eq.
    /// 19.12): then [`policy_iteration`] applies the rules in two phases.
    fn has_policy(&self) -> bool {
        false
    }
    /// One update step on `batch` of the rules of `phase` alone; the others write nothing.
    ///
    /// # Errors
    /// As [`Rules::step`].
    fn step_phase(
        &mut self,
        batch: &[Transition],
        phase: Phase,
        ws: &mut Self::Workspace,
    ) -> Result<f64, String> {
        let _ = phase;
        self.step(batch, ws)
    }
}

/// What one input of a model with update rules holds, by its name: `s` the state, `a` the
/// action, `r` the reward, `s'` the next state, `a'` the next action (SARSA), `d` 1 when `s'`
/// is terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `s`: the state `s_t`.
    State,
    /// `a`: the action `a_t`.
    Action,
    /// `r`: the reward observed.
    Reward,
    /// `s'`: the next state `s_{t+1}`.
    Next,
    /// `a'`: the next action `a_{t+1}`.
    NextAction,
    /// `d`: 1 when the next state is terminal.
    Done,
}

impl Part {
    /// Every part, in the order of [`Part::NAMES`] (generated code names a part by its
    /// position here).
    pub const ALL: [Part; 6] = [
        Part::State,
        Part::Action,
        Part::Reward,
        Part::Next,
        Part::NextAction,
        Part::Done,
    ];
    /// The input names of [`Part::ALL`], in order.
    pub const NAMES: [&'static str; 6] = ["s", "a", "r", "s'", "a'", "d"];

    /// The part an input named `name` holds.
    pub fn of(name: &str) -> Option<Part> {
        let k = Part::NAMES.iter().position(|n| *n == name)?;
        Some(Part::ALL[k])
    }

    /// The input of this part for `t`, in a model whose input's first label is `lo` (0 for a
    /// number): a state or an action counted from `lo`; the reward and the terminal flag as
    /// they are.
    pub fn input(self, t: &Transition, lo: f64) -> f64 {
        match self {
            Part::Reward | Part::Done => self.value(t),
            _ => self.value(t) + lo,
        }
    }

    /// What `t` holds of this part: a state or an action counted from 0 (the model adds its
    /// first label), the reward, or 1 for a terminal next state.
    pub fn value(self, t: &Transition) -> f64 {
        match self {
            Part::State => t.s as f64,
            Part::Action => t.a as f64,
            Part::Reward => t.r,
            Part::Next => t.next as f64,
            Part::NextAction => t.next_action as f64,
            Part::Done => f64::from(u8::from(t.terminal)),
        }
    }
}

/// Which entry of its table a rule writes along one axis ([`Rule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The same entry for every transition, counted from 0.
    Fixed(usize),
    /// The transition's label of this part (`q[s_t, a_t]`: its state, its action).
    Of(Part),
}

impl Entry {
    fn at(self, t: &Transition) -> usize {
        match self {
            Entry::Fixed(k) => k,
            Entry::Of(p) => p.value(t) as usize,
        }
    }
}

/// One update rule's new values after a run, and where they go: what the interpreter and
/// generated code both write through ([`Rule::check`], then [`Rule::write`]), so that a step
/// means the same in both.
#[derive(Clone, Copy, Debug)]
pub struct Rule<'a, T> {
    /// The rule's output (`q ←`), naming it in errors.
    pub name: &'a str,
    /// The new values: `1 × B`, one per transition, or `1 × 1` the same for every one; for a
    /// whole rule, the parameter's shape, or `1 × 1` for every entry.
    pub values: MatRef<'a, T>,
    /// The entry along each axis (a vector's column is `Fixed(0)`); `None`: a whole rule
    /// (`t ← t + 1`), writing every entry.
    pub at: Option<[Entry; 2]>,
    /// The table's dimensions.
    pub table: (usize, usize),
    /// For a table of labels (a policy `π : {1 … A}^{S}`): its first label and count; every
    /// value written must be one of them.
    pub labels: Option<(i32, usize)>,
}

impl<T: Scalar> Rule<'_, T> {
    /// Whether a step of `phase` (every rule for `None`) applies this rule: an improvement
    /// writes a table of labels, an evaluation any other table.
    pub fn applies(&self, phase: Option<Phase>) -> bool {
        match phase {
            None => true,
            Some(Phase::Improve) => self.labels.is_some(),
            Some(Phase::Evaluate) => self.labels.is_none(),
        }
    }

    fn value(&self, r: usize, c: usize) -> T {
        let (vr, vc) = (self.values.nrows(), self.values.ncols());
        if vr * vc == 1 {
            self.values[(0, 0)]
        } else {
            self.values[(r.min(vr - 1), c.min(vc - 1))]
        }
    }

    /// Checks every value the rule would write on `batch`, before any is written: finite,
    /// a label of a table of labels, an entry inside the table.
    ///
    /// # Errors
    /// The first failure, naming the rule and the transition or entry.
    pub fn check(&self, batch: &[Transition]) -> Result<(), String> {
        let (rows, cols) = self.table;
        let Some([row, col]) = self.at else {
            let (vr, vc) = (self.values.nrows(), self.values.ncols());
            if vr * vc != 1 && (vr, vc) != (rows, cols) {
                return Err(format!(
                    "`{}` is {vr}×{vc}, the parameter {rows}×{cols}",
                    self.name
                ));
            }
            for c in 0..cols {
                for r in 0..rows {
                    let v = self.value(r, c).to_f64();
                    if !v.is_finite() {
                        return Err(format!(
                            "`{}` is {v} at entry ({}, {})",
                            self.name,
                            r + 1,
                            c + 1
                        ));
                    }
                }
            }
            return Ok(());
        };
        for (j, t) in batch.iter().enumerate() {
            let v = self.value(0, j).to_f64();
            if !v.is_finite() {
                return Err(format!("`{}` is {v} for transition {}", self.name, j + 1));
            }
            if let Some((lo, n)) = self.labels
                && (v.fract() != 0.0 || v < f64::from(lo) || v >= f64::from(lo) + n as f64)
            {
                return Err(format!(
                    "`{}` is {v} for transition {}, not a label of {{{lo} … {}}}",
                    self.name,
                    j + 1,
                    i64::from(lo) + n as i64 - 1
                ));
            }
            let (r, c) = (row.at(t), col.at(t));
            if r >= rows || c >= cols {
                return Err(format!(
                    "`{}`: entry ({}, {}) is outside the table",
                    self.name,
                    r + 1,
                    c + 1
                ));
            }
        }
        Ok(())
    }

    /// Writes the values into `table` (checked by [`Rule::check`]), transition by transition
    /// (a later transition's write of the same entry wins); returns the largest change of an
    /// entry.
    pub fn write(&self, batch: &[Transition], mut table: MatMut<'_, T>) -> f64 {
        let mut change = 0.0f64;
        let mut put = |r: usize, c: usize, v: T| {
            change = change.max((table[(r, c)] - v).to_f64().abs());
            table[(r, c)] = v;
        };
        match self.at {
            None => {
                for c in 0..self.table.1 {
                    for r in 0..self.table.0 {
                        put(r, c, self.value(r, c));
                    }
                }
            }
            Some([row, col]) => {
                for (j, t) in batch.iter().enumerate() {
                    put(row.at(t), col.at(t), self.value(0, j));
                }
            }
        }
        change
    }
}

/// The action a model's rule `A_t` chose, counted from 1 as the spec counts it, as the
/// loops count it (from 0).
///
/// # Errors
/// When it is not a whole number from 1.
pub fn chosen(a: f64) -> Result<usize, String> {
    if a.is_nan() || a < 1.0 || a.fract() != 0.0 {
        return Err(format!("`A_t` is {a}, not an action counted from 1"));
    }
    Ok(a as usize - 1)
}

/// The action values in `state` of the acting table `q` (`states × actions`; a vector is a
/// bandit's one state) into `out`; zeros without one.
pub fn acting_values<T: Scalar>(q: Option<MatRef<'_, T>>, state: usize, out: &mut [f64]) {
    let Some(q) = q.filter(|q| q.nrows() > 0 && q.ncols() > 0) else {
        out.fill(0.0);
        return;
    };
    for (a, o) in out.iter_mut().enumerate() {
        *o = if q.ncols() == 1 {
            q[(a.min(q.nrows() - 1), 0)]
        } else {
            q[(state.min(q.nrows() - 1), a.min(q.ncols() - 1))]
        }
        .to_f64();
    }
}

/// Which of a model's rules a step applies: policy iteration alternates the rules that
/// evaluate the policy with those that improve it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The rules that write no policy (`v[s] ← …`, eq. 19.11).
    Evaluate,
    /// The rules that write a policy (`π[s] ← argmax_a […]`, eq. 19.12).
    Improve,
}

/// How to run episodes.
#[derive(Clone, Debug, PartialEq)]
pub struct EpisodeConfig {
    /// Episodes to run.
    pub episodes: usize,
    /// The exploration rate ε of the first episode; it falls linearly to 0 at the last
    /// (greedy in the limit, which SARSA needs to learn the best policy).
    pub epsilon: f64,
    /// Whether the update reads the next action (SARSA): it is chosen before the update and
    /// then taken.
    pub next_action: bool,
    /// Seed of the episodes and the exploration.
    pub seed: u64,
}

/// What a run of episodes did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpisodeRun {
    /// Each episode's return (the sum of its rewards).
    pub returns: Vec<f64>,
    /// Environment steps taken.
    pub steps: usize,
    /// Whether it stopped on request.
    pub interrupted: bool,
}

/// The greedy action (the first of the largest values).
pub fn greedy(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = k;
        }
    }
    best
}

/// The model's own choice, or ε-greedy: a uniform action with probability ε, else a greedy
/// one (a tie drawn uniformly among the largest values, so that untried actions of equal value
/// are all explored).
fn act<R: Rules + ?Sized>(
    rules: &R,
    ws: &mut R::Workspace,
    s: usize,
    values: &mut [f64],
    eps: f64,
    rng: &mut Rng,
) -> Result<usize, String> {
    if let Some(a) = rules.action(s, ws)? {
        if a >= values.len() {
            return Err(format!(
                "the model chose action {} of {}",
                a + 1,
                values.len()
            ));
        }
        return Ok(a);
    }
    let uniform = |rng: &mut Rng, n: usize| ((rng.uniform() * n as f64) as usize).min(n - 1);
    if rng.uniform() < eps {
        return Ok(uniform(rng, values.len()));
    }
    rules.action_values(s, values);
    let best = values[greedy(values)];
    let ties = values.iter().filter(|v| **v == best).count();
    let k = uniform(rng, ties);
    Ok(values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v == best)
        .nth(k)
        .map_or(0, |(a, _)| a))
}

/// Runs `config.episodes` episodes of `env`, one update step per environment step;
/// `report(run)` after each episode.
///
/// # Errors
/// When an update step fails.
pub fn episodes<R: Rules + ?Sized>(
    rules: &mut R,
    env: &mut dyn Env,
    config: &EpisodeConfig,
    report: &mut dyn FnMut(&EpisodeRun),
) -> Result<EpisodeRun, String> {
    let mut rng = Rng::new(config.seed);
    let mut ws = rules.new_workspace(1);
    let mut values = vec![0.0; env.actions()];
    let mut run = EpisodeRun::default();
    let state = |o: &[f64]| (o.first().copied().unwrap_or(1.0) as usize).saturating_sub(1);
    for episode in 0..config.episodes {
        let eps = config.epsilon * (1.0 - episode as f64 / config.episodes as f64);
        let mut s = state(&env.reset(config.seed.wrapping_mul(1_000_003) + episode as u64));
        let mut a = act(rules, &mut ws, s, &mut values, eps, &mut rng)?;
        let mut ret = 0.0;
        loop {
            let step = env.step(a);
            run.steps += 1;
            ret += step.reward;
            let next = state(&step.observation);
            let next_action = if config.next_action {
                act(rules, &mut ws, next, &mut values, eps, &mut rng)?
            } else {
                0
            };
            let tr = Transition {
                s,
                a,
                r: step.reward,
                next,
                next_action,
                terminal: step.terminal(),
                t: run.steps,
            };
            rules.step(&[tr], &mut ws)?;
            if step.done {
                break;
            }
            s = next;
            a = if config.next_action {
                next_action
            } else {
                act(rules, &mut ws, s, &mut values, eps, &mut rng)?
            };
        }
        run.returns.push(ret);
        report(&run);
        if crate::interrupt::requested() {
            run.interrupted = true;
            break;
        }
    }
    Ok(run)
}

/// Every state `0 … states-1`, one transition each: the batch of a sweep.
pub fn every_state(states: usize) -> Vec<Transition> {
    (0..states)
        .map(|s| Transition {
            s,
            ..Transition::default()
        })
        .collect()
}

/// Sweeps: update steps on every state `0 … states-1` together until the largest change is at
/// most `tolerance`, at most `max` sweeps; returns the sweeps made and the last change.
///
/// # Errors
/// When an update step fails.
pub fn sweeps<R: Rules + ?Sized>(
    rules: &mut R,
    states: usize,
    tolerance: f64,
    max: usize,
    report: &mut dyn FnMut(usize, f64),
) -> Result<(usize, f64), String> {
    let batch = every_state(states);
    let mut ws = rules.new_workspace(states);
    sweeps_of(rules, &mut ws, None, &batch, tolerance, max, report)
}

/// [`sweeps`] of the rules of `phase` (all of them for `None`) on `batch`, every state.
fn sweeps_of<R: Rules + ?Sized>(
    rules: &mut R,
    ws: &mut R::Workspace,
    phase: Option<Phase>,
    batch: &[Transition],
    tolerance: f64,
    max: usize,
    report: &mut dyn FnMut(usize, f64),
) -> Result<(usize, f64), String> {
    let mut change = f64::INFINITY;
    for k in 1..=max {
        change = match phase {
            Some(p) => rules.step_phase(batch, p, ws)?,
            None => rules.step(batch, ws)?,
        };
        report(k, change);
        if change <= tolerance || crate::interrupt::requested() {
            return Ok((k, change));
        }
    }
    Ok((max, change))
}

/// What a run of policy iteration did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyRun {
    /// Improvements made, the last one changing no action.
    pub improvements: usize,
    /// Evaluation sweeps made over all of them.
    pub sweeps: usize,
    /// The largest change of the last evaluation sweep.
    pub change: f64,
    /// Whether the policy stopped changing (else `max` improvements were made, or the run
    /// was interrupted).
    pub stable: bool,
}

/// Policy iteration (§19.3.1; the course notes' alternation of evaluation and improvement):
/// the evaluation rules ([`Phase::Evaluate`]) swept over every state until no entry moves by
/// more than `tolerance` (at most `max` sweeps), then one improvement step
/// ([`Phase::Improve`]) on every state, reading the evaluated values; until an improvement
/// changes no action, at most `max` improvements. `report` gets each improvement's count, its
/// evaluation sweeps and the actions it changed.
///
/// # Errors
/// When an update step fails, or an evaluation does not settle within `max` sweeps.
pub fn policy_iteration<R: Rules + ?Sized>(
    rules: &mut R,
    states: usize,
    tolerance: f64,
    max: usize,
    report: &mut dyn FnMut(usize, usize, f64),
) -> Result<PolicyRun, String> {
    let batch = every_state(states);
    let mut ws = rules.new_workspace(states);
    let mut run = PolicyRun::default();
    while run.improvements < max {
        let (k, change) = sweeps_of(
            rules,
            &mut ws,
            Some(Phase::Evaluate),
            &batch,
            tolerance,
            max,
            &mut |_, _| {},
        )?;
        run.sweeps += k;
        run.change = change;
        if crate::interrupt::requested() {
            return Ok(run);
        }
        if change > tolerance {
            return Err(format!(
                "the policy's evaluation did not settle in {max} sweeps (largest change {change:.3e})"
            ));
        }
        let moved = rules.step_phase(&batch, Phase::Improve, &mut ws)?;
        run.improvements += 1;
        report(run.improvements, k, moved);
        if moved == 0.0 {
            run.stable = true;
            break;
        }
    }
    Ok(run)
}

/// The frozen lake's dynamics: `Pr(s'|s, a)` as `p[(s·A + a)·S + s']` and the expected reward
/// `r[s, a]` as `r[s·A + a]` (the probability of stepping onto the goal), states and actions
/// counted from 0. A hole or the goal is absorbing with no reward: the episode has ended.
pub fn frozen_lake_dynamics(slippery: bool) -> (Vec<f64>, Vec<f64>) {
    const S: usize = 16;
    const A: usize = 4;
    let mut p = vec![0.0; S * A * S];
    let mut r = vec![0.0; S * A];
    for s in 0..S {
        for a in 0..A {
            let at = (s * A + a) * S;
            if matches!(FrozenLake::tile(s), b'H' | b'G') {
                p[at + s] = 1.0;
                continue;
            }
            let moves: &[usize] = if slippery {
                &[(a + 3) % 4, a, (a + 1) % 4]
            } else {
                &[a]
            };
            let w = 1.0 / moves.len() as f64;
            for &m in moves {
                let to = FrozenLake::moved(s, m);
                p[at + to] += w;
                if FrozenLake::tile(to) == b'G' {
                    r[s * A + a] += w;
                }
            }
        }
    }
    (p, r)
}

/// Fills `m`, the environment's table `name` that a spec reads (`r[s, a]`, `Pr(s'|s, a)`:
/// parameters of the group `env`), from the dynamics of `env`: the expected reward `r` as
/// `S × A`, `Pr` as `S × (A·S)`, row `s` holding `Pr(s'|s, a)` at column `a·S + s'` (states
/// and actions counted from 0). What the interpreter and generated code's `init` both call.
///
/// # Errors
/// When `env` has no dynamics to read, `name` is neither table, or `m` is not its shape.
pub fn fill_dynamics<T: Scalar>(env: &str, name: &str, mut m: MatMut<'_, T>) -> Result<(), String> {
    let slippery = match env {
        "FrozenLake" => false,
        "FrozenLakeSlippery" => true,
        _ => return Err(format!("`{env}` has no dynamics to read")),
    };
    const S: usize = 16;
    const A: usize = 4;
    let (p, r) = frozen_lake_dynamics(slippery);
    let (table, cols) = match name {
        "r" => (r, A),
        "Pr" => (p, A * S),
        _ => return Err(format!("`{env}` has no table `{name}`")),
    };
    if (m.nrows(), m.ncols()) != (S, cols) {
        return Err(format!(
            "`{name}` is {}×{}, the dynamics of `{env}` {S}×{cols}",
            m.nrows(),
            m.ncols()
        ));
    }
    for s in 0..S {
        for c in 0..cols {
            m[(s, c)] = T::from_f64(table[s * cols + c]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lake_dynamics_are_distributions_and_slip_sideways() {
        let (p, r) = frozen_lake_dynamics(true);
        for sa in 0..64 {
            let total: f64 = p[sa * 16..(sa + 1) * 16].iter().sum();
            assert!((total - 1.0).abs() < 1e-15);
        }
        // From state 14 (row 4, column 3) going right: right to G, down stays, up to 10.
        let at = (14 * 4 + 2) * 16;
        assert!((p[at + 15] - 1.0 / 3.0).abs() < 1e-15);
        assert!((p[at + 14] - 1.0 / 3.0).abs() < 1e-15);
        assert!((p[at + 10] - 1.0 / 3.0).abs() < 1e-15);
        assert!((r[14 * 4 + 2] - 1.0 / 3.0).abs() < 1e-15);
        let (p, r) = frozen_lake_dynamics(false);
        assert_eq!(p[(14 * 4 + 2) * 16 + 15], 1.0);
        assert_eq!(r[14 * 4 + 2], 1.0);
        assert_eq!(p[(5 * 4 + 1) * 16 + 5], 1.0, "a hole is absorbing");
    }
}
