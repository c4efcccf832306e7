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
