//! Update rules (`←`, eqs. 19.11–19.15) behind the interpreter: one step of Q-learning on a
//! batch, every right side reading the table before the step (a hand-computed example);
//! `specs/q_learning.nn` and `specs/sarsa.nn` trained from a fixed seed in the deterministic
//! frozen lake, whose greedy policy then reaches the goal from every state that is neither a
//! hole nor the goal.

use faer::Mat;
use nnspec::dsl;
use nnspec::runtime::env::{self, FrozenLake};
use nnspec::runtime::tabular::{self, EpisodeConfig, Rules, Transition};
use nnspec::runtime::{Params, Rng};
use nnspec::tabular::TabularModel;

fn model(src: &str) -> TabularModel {
    let checked = dsl::check_source(src, &dsl::check::Options::default())
        .unwrap_or_else(|d| panic!("{}", dsl::diag::render(&d, "spec.nn", src)));
    let graph = checked.graphs.iter().flatten().next().unwrap();
    TabularModel::new(graph, &mut Rng::new(1)).unwrap()
}

fn spec(name: &str) -> TabularModel {
    let path = format!("{}/specs/{name}", env!("CARGO_MANIFEST_DIR"));
    model(&std::fs::read_to_string(path).unwrap())
}

fn table(m: &TabularModel) -> Mat<f64> {
    let mut out = None;
    m.params.for_each_param(&mut |n, p| {
        if n == "q" {
            out = Some(p.to_owned());
        }
    });
    out.unwrap()
}

/// α = 0.5, γ = 0.9, q zero but q[2, 1] = 1. Transition 1 (s=1, a=2, r=0.5, s'=2) reads
/// max_a q[2, a] = 1: q[1, 2] = 0 + 0.5 (0.5 + 0.9·1 − 0) = 0.7. Transition 2 (s=2, a=1,
/// r=0, s'=3) writes q[2, 1] = 1 + 0.5 (0 + 0.9·0 − 1) = 0.5; had it been written first,
/// transition 1 would have read 0.5 and given 0.475.
#[test]
fn one_q_learning_step_reads_the_table_before_it() {
    let mut m = model(
        "model Q[S = 3, A = 2, α = 0.5, γ = 0.9] {
            input  s : {1 … S}
            input  a : {1 … A}
            input  r : ℝ
            input  s' : {1 … S}
            param  q : ℝ^{S×A} = 0
            q[s_t, a_t] ← q[s_t, a_t] + α (r[s_t, a_t] + γ · max_{a'} [q[s_{t+1}, a']] − q[s_t, a_t])
        }",
    );
    m.params.for_each_param_mut(&mut |_, mut p| p[(1, 0)] = 1.0);
    let batch = [
        Transition {
            s: 0,
            a: 1,
            r: 0.5,
            next: 1,
            ..Transition::default()
        },
        Transition {
            s: 1,
            a: 0,
            r: 0.0,
            next: 2,
            ..Transition::default()
        },
    ];
    let change = m.step(&batch, &mut ()).unwrap();
    let q = table(&m);
    let want = [[0.0, 0.7], [0.5, 0.0], [0.0, 0.0]];
    for (r, row) in want.iter().enumerate() {
        for (c, w) in row.iter().enumerate() {
            assert!(
                (q[(r, c)] - w).abs() < 1e-15,
                "q[{}, {}] = {}",
                r + 1,
                c + 1,
                q[(r, c)]
            );
        }
    }
    assert!((change - 0.7).abs() < 1e-15);
}

/// Whether the greedy policy of `q` reaches the goal from every safe start.
fn solves_the_lake(q: &Mat<f64>) -> Result<(), String> {
    for start in 0..16 {
        if matches!(FrozenLake::tile(start), b'H' | b'G') {
            continue;
        }
        let mut s = start;
        for _ in 0..16 {
            let row: Vec<f64> = (0..4).map(|a| q[(s, a)]).collect();
            s = FrozenLake::moved(s, tabular::greedy(&row));
            if matches!(FrozenLake::tile(s), b'H' | b'G') {
                break;
            }
        }
        if FrozenLake::tile(s) != b'G' {
            return Err(format!(
                "from state {} the greedy policy ends in {}",
                start + 1,
                s + 1
            ));
        }
    }
    Ok(())
}

fn trained(name: &str) -> TabularModel {
    let mut m = spec(name);
    let mut lake = env::by_name("FrozenLake").unwrap();
    let config = EpisodeConfig {
        episodes: 600,
        epsilon: 0.5,
        next_action: m.reads_next_action(),
        seed: 1,
    };
    let run = tabular::episodes(&mut m, lake.as_mut(), &config, &mut |_| {}).unwrap();
    assert_eq!(run.returns.len(), 600);
    m
}

#[test]
fn q_learning_solves_the_deterministic_lake() {
    let m = trained("q_learning.nn");
    assert!(!m.reads_next_action());
    solves_the_lake(&table(&m)).unwrap();
}

#[test]
fn sarsa_solves_the_deterministic_lake() {
    let m = trained("sarsa.nn");
    assert!(m.reads_next_action());
    solves_the_lake(&table(&m)).unwrap();
}

/// Value iteration by hand on the slippery lake (γ = 0.9): the moves from `FrozenLake::moved`,
/// each of the intended direction and the two beside it with probability 1/3, reward 1 on
/// reaching the goal, holes and goal absorbing with value 0.
fn lake_values_by_hand() -> [f64; 16] {
    let mut v = [0.0; 16];
    loop {
        let q = lake_action_values(&v);
        let mut next = [0.0; 16];
        for (n, row) in next.iter_mut().zip(&q) {
            *n = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        }
        let change = (0..16).map(|s| (next[s] - v[s]).abs()).fold(0.0, f64::max);
        v = next;
        if change < 1e-14 {
            return v;
        }
    }
}

/// Each state's action values under the values `v`: the expected reward plus discounted value
/// of where the action leads on the slippery lake (0 in a hole or at the goal).
fn lake_action_values(v: &[f64; 16]) -> [[f64; 4]; 16] {
    let mut q = [[0.0; 4]; 16];
    for (s, row) in q.iter_mut().enumerate() {
        if matches!(FrozenLake::tile(s), b'H' | b'G') {
            continue;
        }
        for (a, qa) in row.iter_mut().enumerate() {
            *qa = [(a + 3) % 4, a, (a + 1) % 4]
                .iter()
                .map(|&d| {
                    let to = FrozenLake::moved(s, d);
                    let r = if FrozenLake::tile(to) == b'G' {
                        1.0
                    } else {
                        0.0
                    };
                    (r + 0.9 * v[to]) / 3.0
                })
                .sum::<f64>();
        }
    }
    q
}

/// The parameter `name` of a model.
fn param(m: &TabularModel, name: &str) -> Mat<f64> {
    let mut out = None;
    m.params.for_each_param(&mut |n, p| {
        if n == name {
            out = Some(p.to_owned());
        }
    });
    out.unwrap_or_else(|| panic!("no parameter `{name}`"))
}

#[test]
fn value_iteration_as_printed_converges_to_the_lakes_values() {
    let mut m = spec("value_iteration.nn");
    let (sweeps, change) = tabular::sweeps(&mut m, 16, 1e-12, 1000, &mut |_, _| {}).unwrap();
    assert!(
        change <= 1e-12 && sweeps < 1000,
        "{sweeps} sweeps, change {change}"
    );
    let v = param(&m, "v");
    let want = lake_values_by_hand();
    for s in 0..16 {
        assert!(
            (v[(s, 0)] - want[s]).abs() < 1e-8,
            "v[{}] = {} ≠ {}",
            s + 1,
            v[(s, 0)],
            want[s]
        );
    }
    // The start's value under the best policy (Gym's slippery lake at γ = 0.9).
    assert!((want[0] - 0.0689).abs() < 1e-4, "{}", want[0]);
}

/// Policy iteration as the course notes print it (`specs/policy_iteration.nn`: eqs. 19.11–19.12
/// with a deterministic policy `π : {1 … A}^{S}`, read at `r[s, π[s]]` and `Pr(s'|s, π[s])`)
/// on the slippery lake with γ = 0.9: the policy stops changing, its values are value
/// iteration's (the spec's and the hand-computed ones) to 1e-6, and it is greedy for them —
/// each state's action is one of the best under the hand-computed action values (to 1e-9),
/// the one best where a single action is best.
#[test]
fn policy_iteration_reaches_value_iterations_values_and_greedy_policy() {
    let mut pi = spec("policy_iteration.nn");
    let run = tabular::policy_iteration(&mut pi, 16, 1e-12, 1000, &mut |_, _, _| {}).unwrap();
    assert!(run.stable && run.improvements < 20, "{run:?}");
    let mut vi = spec("value_iteration.nn");
    tabular::sweeps(&mut vi, 16, 1e-12, 1000, &mut |_, _| {}).unwrap();
    let (v_pi, v_vi, policy) = (param(&pi, "v"), param(&vi, "v"), param(&pi, "π"));
    let want = lake_values_by_hand();
    let q = lake_action_values(&want);
    let mut unique = 0;
    for s in 0..16 {
        assert!(
            (v_pi[(s, 0)] - v_vi[(s, 0)]).abs() < 1e-6 && (v_pi[(s, 0)] - want[s]).abs() < 1e-6,
            "v[{}]: policy iteration {}, value iteration {}, by hand {}",
            s + 1,
            v_pi[(s, 0)],
            v_vi[(s, 0)],
            want[s]
        );
        let a = policy[(s, 0)];
        assert!(
            a.fract() == 0.0 && (1.0..=4.0).contains(&a),
            "π[{}] = {a}",
            s + 1
        );
        let best = q[s].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let best_actions: Vec<usize> = (0..4).filter(|&k| q[s][k] >= best - 1e-9).collect();
        assert!(
            best_actions.contains(&(a as usize - 1)),
            "π[{}] = {a}, the best {best_actions:?} (from 0) of {:?}",
            s + 1,
            q[s]
        );
        unique += usize::from(best_actions.len() == 1);
    }
    // Of the 11 states that are neither a hole nor the goal, state 7 (between two holes) has
    // two best actions, left and right, which slip to the same places; the others one.
    assert_eq!(unique, 10, "{unique} states with one best action");
}

/// The bandit, recording the arms pulled.
struct Recording {
    bandit: env::Bandit,
    pulls: Vec<usize>,
}

impl env::Env for Recording {
    fn name(&self) -> &'static str {
        self.bandit.name()
    }
    fn observation_size(&self) -> usize {
        self.bandit.observation_size()
    }
    fn states(&self) -> Option<usize> {
        self.bandit.states()
    }
    fn actions(&self) -> usize {
        self.bandit.actions()
    }
    fn reset(&mut self, seed: u64) -> Vec<f64> {
        self.bandit.reset(seed)
    }
    fn step(&mut self, action: usize) -> env::Step {
        self.pulls.push(action);
        self.bandit.step(action)
    }
}

/// The regret of one game of 1000 pulls: the best arm's mean, less the pulled arm's, summed.
fn regret(name: &str, seed: u64) -> f64 {
    let mut m = spec(name);
    let mut world = Recording {
        bandit: env::Bandit::new(10),
        pulls: Vec::new(),
    };
    let config = EpisodeConfig {
        episodes: 1,
        epsilon: 0.1,
        next_action: false,
        seed,
    };
    tabular::episodes(&mut m, &mut world, &config, &mut |_| {}).unwrap();
    assert_eq!(world.pulls.len(), env::Bandit::PULLS);
    let means = world.bandit.means();
    let best = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    world.pulls.iter().map(|&a| best - means[a]).sum()
}

/// UCB (`specs/bandit_ucb.nn`, the spec choosing `A_t`) against ε-greedy with ε = 0.1
/// (`specs/bandit_egreedy.nn`): the cumulative regret over 1000 pulls, averaged over eight
/// games, is lower.
#[test]
fn ucb_regrets_less_than_epsilon_greedy() {
    let mean = |name: &str| (1..=8).map(|seed| regret(name, seed)).sum::<f64>() / 8.0;
    let (greedy, ucb) = (mean("bandit_egreedy.nn"), mean("bandit_ucb.nn"));
    println!("mean regret over 1000 pulls: ε-greedy {greedy:.1}, UCB {ucb:.1}");
    assert!(ucb < greedy, "UCB {ucb} against ε-greedy {greedy}");
}

/// `nnspec train` of update rules: episodes write the tables and the return curve; a spec
/// whose state set is not the environment's is refused by name.
#[test]
fn train_writes_the_tables_and_the_returns() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tabular-train");
    let _ = std::fs::remove_dir_all(&out);
    let o = crate::cli::nnspec(&[
        "train",
        "specs/q_learning.nn",
        "--episodes",
        "20",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = std::fs::read_to_string(out.join("returns.csv")).unwrap();
    assert_eq!(csv.lines().count(), 21);
    assert!(out.join("model.safetensors").exists() && out.join("returns.svg").exists());
    let src = std::fs::read_to_string(format!(
        "{}/specs/q_learning.nn",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace("S = 16", "S = 8");
    let bad = out.join("small.nn");
    std::fs::write(&bad, src).unwrap();
    let o = crate::cli::nnspec(&[
        "train",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`s` must be a label of 16 values"));
}

/// `nnspec train specs/policy_iteration.nn` runs policy iteration: it says the policy became
/// stable, and its checkpoint holds the values and the policy [`tabular::policy_iteration`]
/// reaches in this process.
#[test]
fn train_runs_policy_iteration() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("policy-iteration");
    let _ = std::fs::remove_dir_all(&out);
    let o = crate::cli::nnspec(&[
        "train",
        "specs/policy_iteration.nn",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("the policy is stable"), "{stdout}");
    let mut saved = spec("policy_iteration.nn");
    nnspec::runtime::checkpoint::load(&out.join("model.safetensors"), &mut saved.params).unwrap();
    let mut here = spec("policy_iteration.nn");
    tabular::policy_iteration(&mut here, 16, 1e-12, 1000, &mut |_, _, _| {}).unwrap();
    assert_eq!(param(&saved, "π"), param(&here, "π"));
    let (a, b) = (param(&saved, "v"), param(&here, "v"));
    for s in 0..16 {
        assert!((a[(s, 0)] - b[(s, 0)]).abs() < 1e-12, "v[{}]", s + 1);
    }
}
