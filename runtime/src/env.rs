//! Environments for reinforcement learning (chapter 19): a Markov decision process an agent
//! acts in, one step at a time, deterministic given the seed of [`Env::reset`].
//!
//! ```text
//! reset(seed)  → s_1                      the first observation
//! step(a_t)    → s_{t+1}, r_{t+1}, done   the next observation, the reward, whether it ended
//! ```
//!
//! Actions are numbered from 0 here (`0 … A-1`); a spec's actions `a ∈ {1 … A}` are the same
//! actions counted from 1. An observation is a vector of numbers: a discrete state is one
//! number, the state counted from 1 (`s ∈ {1 … S}`), so that it is the label a table `q[s, a]`
//! is indexed by; a continuous state is its coordinates.
//!
//! The built-in environments ([`by_name`]):
//!
//! - [`FrozenLake`] (`FrozenLake`, `FrozenLakeSlippery`) — the 4×4 grid world of the book's
//!   chapter-19 notebooks, as in Gym's `FrozenLake-v1`:
//!
//!   ```text
//!   S F F F      states numbered row by row from 1 (S = 1, G = 16)
//!   F H F H      S start, F frozen (safe), H hole (the episode ends, reward 0),
//!   F F F H      G goal (the episode ends, reward 1); every other step rewards 0
//!   H F F G
//!   ```
//!
//!   Actions `0` left, `1` down, `2` right, `3` up; a move into the wall stays in place. On
//!   the slippery lake the move goes in the intended direction with probability 1/3 and in each
//!   of the two perpendicular directions with probability 1/3 (never backwards). An episode is
//!   cut after 100 steps (truncated, not terminal).
//! - [`Bandit`] (`Bandit`) — the 10-armed Gaussian testbed of Sutton & Barto: at reset each
//!   arm's mean `q*(a)` is drawn from `Norm[0, 1]`; pulling arm `a` rewards a draw of
//!   `Norm[q*(a), 1]`. There is one state (the observation is `1`); an episode is 1000 pulls.
//! - [`CartPole`] (`CartPole`) — the cart and pole of Barto, Sutton & Anderson (1983), with
//!   the constants and Euler step of Gym's `CartPole-v1` (see its documentation): the state is
//!   `(x, ẋ, θ, θ̇)`, drawn uniformly from `[-0.05, 0.05]⁴` at reset; action `0` pushes the
//!   cart left with force 10 N, `1` right; every step rewards 1 (the last one too); the episode
//!   ends when `|θ| > 12°` or `|x| > 2.4` (terminal) or after 500 steps (truncated).

use crate::Rng;

/// What one step of an environment gives back.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The observation of the next state `s_{t+1}`.
    pub observation: Vec<f64>,
    /// The reward `r_{t+1}`.
    pub reward: f64,
    /// Whether the episode is over (terminal or truncated).
    pub done: bool,
    /// Whether it ended only because of the step limit: the state is not terminal, so its
    /// value is not zero (a learner should still bootstrap from it).
    pub truncated: bool,
}

impl Step {
    /// Whether the next state is terminal: the episode ended and not by the step limit.
    pub fn terminal(&self) -> bool {
        self.done && !self.truncated
    }
}

/// An environment: a Markov decision process driven one action at a time.
pub trait Env {
    /// Its name, as [`by_name`] takes it.
    fn name(&self) -> &'static str;
    /// The numbers in an observation.
    fn observation_size(&self) -> usize;
    /// The number of discrete states, if the observation is a state counted from 1.
    fn states(&self) -> Option<usize>;
    /// The number of actions `A` (numbered `0 … A-1`).
    fn actions(&self) -> usize;
    /// Starts an episode from `seed` and returns the first observation; every draw of the
    /// episode (start state, slips, rewards) comes from this seed.
    fn reset(&mut self, seed: u64) -> Vec<f64>;
    /// Takes `action`. Stepping after the episode ended, or with an action out of range,
    /// panics: the caller's bug.
    fn step(&mut self, action: usize) -> Step;
}

/// The names [`by_name`] knows.
pub const NAMES: &[&str] = &["Bandit", "CartPole", "FrozenLake", "FrozenLakeSlippery"];

/// A built-in environment by name, `None` if there is none of that name (see [`NAMES`]).
pub fn by_name(name: &str) -> Option<Box<dyn Env + Send>> {
    Some(match name {
        "Bandit" => Box::new(Bandit::new(10)),
        "CartPole" => Box::new(CartPole::new()),
        "FrozenLake" => Box::new(FrozenLake::new(false)),
        "FrozenLakeSlippery" => Box::new(FrozenLake::new(true)),
        _ => return None,
    })
}

/// The 4×4 frozen lake (see the module documentation for the map, rewards and slip rule).
#[derive(Clone, Debug)]
pub struct FrozenLake {
    slippery: bool,
    rng: Rng,
    /// The state, counted from 0 row by row.
    at: usize,
    steps: usize,
    done: bool,
}

impl FrozenLake {
    /// The map, row by row.
    pub const MAP: [&'static str; 4] = ["SFFF", "FHFH", "FFFH", "HFFG"];
    /// The step limit of an episode.
    pub const MAX_STEPS: usize = 100;

    /// A lake, slippery or not.
    pub fn new(slippery: bool) -> FrozenLake {
        FrozenLake {
            slippery,
            rng: Rng::new(0),
            at: 0,
            steps: 0,
            done: true,
        }
    }

    /// The tile of state `s` (counted from 0): `b'S'`, `b'F'`, `b'H'` or `b'G'`.
    pub fn tile(s: usize) -> u8 {
        Self::MAP[s / 4].as_bytes()[s % 4]
    }

    /// The state (counted from 0) reached from `s` by moving in `direction` (0 left, 1 down,
    /// 2 right, 3 up), staying in place at a wall.
    pub fn moved(s: usize, direction: usize) -> usize {
        let (r, c) = (s / 4, s % 4);
        let (r, c) = match direction {
            0 => (r, c.saturating_sub(1)),
            1 => ((r + 1).min(3), c),
            2 => (r, (c + 1).min(3)),
            _ => (r.saturating_sub(1), c),
        };
        4 * r + c
    }
}

impl Env for FrozenLake {
    fn name(&self) -> &'static str {
        if self.slippery {
            "FrozenLakeSlippery"
        } else {
            "FrozenLake"
        }
    }
    fn observation_size(&self) -> usize {
        1
    }
    fn states(&self) -> Option<usize> {
        Some(16)
    }
    fn actions(&self) -> usize {
        4
    }
    fn reset(&mut self, seed: u64) -> Vec<f64> {
        self.rng = Rng::new(seed);
        self.at = 0;
        self.steps = 0;
        self.done = false;
        vec![1.0]
    }
    fn step(&mut self, action: usize) -> Step {
        assert!(action < 4 && !self.done, "FrozenLake: bad step");
        let direction = if self.slippery {
            // Intended, or one of the two perpendicular directions, each with probability 1/3.
            let k = (self.rng.uniform() * 3.0) as usize;
            (action + [0, 1, 3][k.min(2)]) % 4
        } else {
            action
        };
        self.at = Self::moved(self.at, direction);
        self.steps += 1;
        let tile = Self::tile(self.at);
        let terminal = tile == b'H' || tile == b'G';
        let truncated = !terminal && self.steps >= Self::MAX_STEPS;
        self.done = terminal || truncated;
        Step {
            observation: vec![(self.at + 1) as f64],
            reward: if tile == b'G' { 1.0 } else { 0.0 },
            done: self.done,
            truncated,
        }
    }
}

/// The k-armed Gaussian bandit (see the module documentation).
#[derive(Clone, Debug)]
pub struct Bandit {
    means: Vec<f64>,
    rng: Rng,
    pulls: usize,
}

impl Bandit {
    /// The pulls of an episode.
    pub const PULLS: usize = 1000;

    /// A bandit of `arms` arms.
    pub fn new(arms: usize) -> Bandit {
        Bandit {
            means: vec![0.0; arms],
            rng: Rng::new(0),
            pulls: Self::PULLS,
        }
    }

    /// Each arm's mean reward `q*(a)` of this episode.
    pub fn means(&self) -> &[f64] {
        &self.means
    }
}

impl Env for Bandit {
    fn name(&self) -> &'static str {
        "Bandit"
    }
    fn observation_size(&self) -> usize {
        1
    }
    fn states(&self) -> Option<usize> {
        Some(1)
    }
    fn actions(&self) -> usize {
        self.means.len()
    }
    fn reset(&mut self, seed: u64) -> Vec<f64> {
        self.rng = Rng::new(seed);
        for m in &mut self.means {
            *m = self.rng.normal(1.0);
        }
        self.pulls = 0;
        vec![1.0]
    }
    fn step(&mut self, action: usize) -> Step {
        assert!(
            action < self.means.len() && self.pulls < Self::PULLS,
            "Bandit: bad step"
        );
        self.pulls += 1;
        let done = self.pulls == Self::PULLS;
        Step {
            observation: vec![1.0],
            reward: self.means[action] + self.rng.normal(1.0),
            done,
            truncated: done,
        }
    }
}

/// The cart and pole (see the module documentation).
#[derive(Clone, Debug)]
pub struct CartPole {
    /// `(x, ẋ, θ, θ̇)`.
    state: [f64; 4],
    steps: usize,
    done: bool,
}

impl CartPole {
    /// Gravity (m/s²).
    pub const GRAVITY: f64 = 9.8;
    /// The cart's mass (kg).
    pub const CART_MASS: f64 = 1.0;
    /// The pole's mass (kg).
    pub const POLE_MASS: f64 = 0.1;
    /// Half the pole's length (m).
    pub const HALF_LENGTH: f64 = 0.5;
    /// The force of a push (N).
    pub const FORCE: f64 = 10.0;
    /// The time step of Euler integration (s).
    pub const TAU: f64 = 0.02;
    /// The angle beyond which the pole has fallen (12°, in radians).
    pub const THETA_LIMIT: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
    /// The position beyond which the cart has left the track (m).
    pub const X_LIMIT: f64 = 2.4;
    /// The step limit of an episode.
    pub const MAX_STEPS: usize = 500;

    /// A cart and pole, to be [`reset`](Env::reset).
    pub fn new() -> CartPole {
        CartPole {
            state: [0.0; 4],
            steps: 0,
            done: true,
        }
    }

    /// The state after one Euler step of length τ from `s = (x, ẋ, θ, θ̇)` pushing with
    /// `force` (Barto, Sutton & Anderson 1983, with the pole's mass in the cart's equation):
    ///
    /// ```text
    /// t  = (F + m_p l θ̇² sin θ) / (m_c + m_p)
    /// θ̈  = (g sin θ − cos θ · t) / (l (4/3 − m_p cos²θ / (m_c + m_p)))
    /// ẍ  = t − m_p l θ̈ cos θ / (m_c + m_p)
    /// x ← x + τ ẋ,  ẋ ← ẋ + τ ẍ,  θ ← θ + τ θ̇,  θ̇ ← θ̇ + τ θ̈
    /// ```
    pub fn dynamics(s: [f64; 4], force: f64) -> [f64; 4] {
        let [x, x_dot, theta, theta_dot] = s;
        let total = Self::CART_MASS + Self::POLE_MASS;
        let pole_ml = Self::POLE_MASS * Self::HALF_LENGTH;
        let (sin, cos) = theta.sin_cos();
        let t = (force + pole_ml * theta_dot * theta_dot * sin) / total;
        let theta_acc = (Self::GRAVITY * sin - cos * t)
            / (Self::HALF_LENGTH * (4.0 / 3.0 - Self::POLE_MASS * cos * cos / total));
        let x_acc = t - pole_ml * theta_acc * cos / total;
        [
            x + Self::TAU * x_dot,
            x_dot + Self::TAU * x_acc,
            theta + Self::TAU * theta_dot,
            theta_dot + Self::TAU * theta_acc,
        ]
    }

    /// The state `(x, ẋ, θ, θ̇)`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }
}

impl Default for CartPole {
    fn default() -> CartPole {
        CartPole::new()
    }
}

impl Env for CartPole {
    fn name(&self) -> &'static str {
        "CartPole"
    }
    fn observation_size(&self) -> usize {
        4
    }
    fn states(&self) -> Option<usize> {
        None
    }
    fn actions(&self) -> usize {
        2
    }
    fn reset(&mut self, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        for v in &mut self.state {
            *v = rng.uniform() * 0.1 - 0.05;
        }
        self.steps = 0;
        self.done = false;
        self.state.to_vec()
    }
    fn step(&mut self, action: usize) -> Step {
        assert!(action < 2 && !self.done, "CartPole: bad step");
        let force = if action == 1 {
            Self::FORCE
        } else {
            -Self::FORCE
        };
        self.state = Self::dynamics(self.state, force);
        self.steps += 1;
        let [x, _, theta, _] = self.state;
        let terminal = x.abs() > Self::X_LIMIT || theta.abs() > Self::THETA_LIMIT;
        let truncated = !terminal && self.steps >= Self::MAX_STEPS;
        self.done = terminal || truncated;
        Step {
            observation: self.state.to_vec(),
            reward: 1.0,
            done: self.done,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_pole_step_by_hand() {
        // From (0, 0, 0.1, 0) pushing right (F = 10):
        // t = 10 / 1.1 = 9.0909…; sin 0.1 = 0.0998334, cos 0.1 = 0.9950042
        // θ̈ = (9.8·0.0998334 − 0.9950042·9.0909091) / (0.5·(4/3 − 0.1·0.9900333/1.1))
        //    = (0.9783673 − 9.0454927) / (0.5·1.2433333) = −8.0671254 / 0.6216667 = −12.976607
        // ẍ = 9.0909091 − 0.05·(−12.976607)·0.9950042 / 1.1 = 9.6778036
        let s = CartPole::dynamics([0.0, 0.0, 0.1, 0.0], 10.0);
        let want = [0.0, 0.02 * 9.677_809_6, 0.1, 0.02 * -12.976_640];
        for (g, w) in s.iter().zip(want) {
            assert!((g - w).abs() < 1e-8, "{s:?} against {want:?}");
        }
        // A second step moves x and θ by the velocities of the first.
        let s2 = CartPole::dynamics(s, 10.0);
        assert!((s2[0] - 0.02 * s[1]).abs() < 1e-15);
        assert!((s2[2] - (0.1 + 0.02 * s[3])).abs() < 1e-15);
    }

    #[test]
    fn cart_pole_falls_and_is_deterministic() {
        let run = |seed| {
            let mut env = CartPole::new();
            let first = env.reset(seed);
            assert!(first.iter().all(|v| v.abs() <= 0.05));
            let mut steps = 0;
            loop {
                steps += 1;
                let s = env.step(1);
                assert_eq!(s.reward, 1.0);
                if s.done {
                    assert!(s.terminal());
                    return (steps, s.observation);
                }
            }
        };
        let (n, last) = run(7);
        // Always pushing right tips the pole over (θ < −12°) within a few dozen steps.
        assert!((5..60).contains(&n), "{n}");
        assert!(last[2] < -CartPole::THETA_LIMIT);
        assert_eq!(run(7), (n, last));
        assert_ne!(run(8).1, run(7).1);
    }

    #[test]
    fn cart_pole_truncates_at_the_step_limit() {
        // Alternating pushes keep the pole up from the start for a while; force the limit by
        // checking the counter directly.
        let mut env = CartPole::new();
        env.reset(1);
        env.steps = CartPole::MAX_STEPS - 1;
        env.state = [0.0; 4];
        let s = env.step(0);
        assert!(s.done && s.truncated && !s.terminal());
    }

    #[test]
    fn frozen_lake_deterministic_path() {
        // Down, down, right, down, right, right: S(1) → 5 → 9 → 10 → 14 → 15 → G(16).
        let mut env = FrozenLake::new(false);
        assert_eq!(env.reset(3), vec![1.0]);
        let path = [1, 1, 2, 1, 2, 2];
        let states = [5.0, 9.0, 10.0, 14.0, 15.0, 16.0];
        for (k, (&a, &s)) in path.iter().zip(&states).enumerate() {
            let step = env.step(a);
            assert_eq!(step.observation, vec![s]);
            let last = k == path.len() - 1;
            assert_eq!(step.reward, if last { 1.0 } else { 0.0 });
            assert_eq!(step.done, last);
        }
        // Into a hole: right then down from the start is state 6, a hole.
        env.reset(0);
        env.step(2);
        let s = env.step(1);
        assert_eq!((s.observation[0], s.reward, s.terminal()), (6.0, 0.0, true));
        // A wall keeps the state.
        env.reset(0);
        assert_eq!(env.step(0).observation, vec![1.0]);
        assert_eq!(env.step(3).observation, vec![1.0]);
    }

    #[test]
    fn frozen_lake_slips_to_the_sides_only() {
        // From the start pushing down: down (5), or the sides left (stays 1) and right (2);
        // never up. Each about a third of the time.
        let mut counts = [0usize; 17];
        for seed in 0..3000 {
            let mut env = FrozenLake::new(true);
            env.reset(seed);
            counts[env.step(1).observation[0] as usize] += 1;
        }
        for s in [1, 2, 5] {
            assert!((850..1150).contains(&counts[s]), "{counts:?}");
        }
        assert_eq!(counts[1] + counts[2] + counts[5], 3000);
        // Deterministic given the seed.
        let walk = |seed| {
            let mut env = FrozenLake::new(true);
            env.reset(seed);
            (0..5)
                .map_while(|_| {
                    let s = env.step(2);
                    (!s.done).then_some(s.observation[0])
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(walk(11), walk(11));
    }

    #[test]
    fn frozen_lake_truncates() {
        let mut env = FrozenLake::new(false);
        env.reset(0);
        for _ in 0..FrozenLake::MAX_STEPS - 1 {
            assert!(!env.step(0).done);
        }
        let s = env.step(0);
        assert!(s.done && s.truncated);
    }

    #[test]
    fn bandit_rewards_around_each_arms_mean() {
        let mut env = Bandit::new(10);
        env.reset(5);
        let means = env.means().to_vec();
        assert!(means.iter().any(|&m| m != means[0]));
        let n = 999;
        let avg = (0..n).map(|_| env.step(3).reward).sum::<f64>() / n as f64;
        // Standard deviation 1, so the mean of 999 pulls is within 0.13 with ~99.99%.
        assert!((avg - means[3]).abs() < 0.13, "{avg} vs {}", means[3]);
        assert!(env.step(0).done);
        let mut again = Bandit::new(10);
        again.reset(5);
        assert_eq!(again.means(), &means[..]);
    }

    #[test]
    fn names() {
        for &n in NAMES {
            let env = by_name(n).unwrap();
            assert_eq!(env.name(), n);
        }
        assert!(by_name("Pong").is_none());
    }
}
