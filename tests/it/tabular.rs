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
    let change = m.step(&batch).unwrap();
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
        let mut next = [0.0; 16];
        for (s, n) in next.iter_mut().enumerate() {
            if matches!(FrozenLake::tile(s), b'H' | b'G') {
                continue;
            }
            *n = (0..4)
                .map(|a: usize| {
                    [(a + 3) % 4, a, (a + 1) % 4]
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
                        .sum::<f64>()
                })
                .fold(f64::NEG_INFINITY, f64::max);
        }
        let change = (0..16).map(|s| (next[s] - v[s]).abs()).fold(0.0, f64::max);
        v = next;
        if change < 1e-14 {
            return v;
        }
    }
}

#[test]
fn value_iteration_as_printed_converges_to_the_lakes_values() {
    let mut m = spec("value_iteration.nn");
    let (sweeps, change) = tabular::sweeps(&mut m, 16, 1e-12, 1000, &mut |_, _| {}).unwrap();
    assert!(
        change <= 1e-12 && sweeps < 1000,
        "{sweeps} sweeps, change {change}"
    );
    let mut v = None;
    m.params.for_each_param(&mut |n, p| {
        if n == "v" {
            v = Some(p.to_owned());
        }
    });
    let v = v.unwrap();
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
