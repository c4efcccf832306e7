//! Reinforcement learning (chapter 19): `specs/dqn.nn` behind the interpreter — its frozen
//! copies start equal to the parameters, a few updates on a fixed replay batch lower the
//! temporal-difference loss and move φ but not φ⁻, and a refresh copies φ into φ⁻; the
//! environments' names agree between the checker and the runtime.

use faer::Mat;
use nnspec::dsl;
use nnspec::runtime::env::{self, CartPole, Env};
use nnspec::runtime::optim::{Config, Method, Optimizer};
use nnspec::runtime::rl::{self, Layout, Role, Transition};
use nnspec::runtime::train::Supervised;
use nnspec::runtime::{Params, Rng};
use nnspec::training::InterpModel;

/// `specs/dqn.nn` with a small hidden layer, parameters drawn with `seed`.
fn dqn(seed: u64) -> InterpModel<f64> {
    let path = format!("{}/specs/dqn.nn", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    let opts = dsl::check::Options {
        overrides: vec![(None, "D".into(), 8.0)],
    };
    let checked = dsl::check_source(&src, &opts).unwrap();
    let graph = checked.graphs.iter().flatten().next().unwrap();
    assert_eq!(graph.env.as_deref(), Some("CartPole"));
    InterpModel::new(graph, &src, "dqn.nn", &mut Rng::new(seed)).unwrap()
}

fn params(m: &InterpModel<f64>) -> Vec<(String, Mat<f64>)> {
    let mut out = Vec::new();
    m.for_each_param(&mut |n, p| out.push((n.to_string(), p.to_owned())));
    out
}

/// Each frozen copy against the parameter it copies: whether every pair is equal.
fn copies_equal(m: &InterpModel<f64>) -> bool {
    let p = params(m);
    let copies: Vec<_> = p.iter().filter(|(n, _)| n.contains('⁻')).collect();
    assert_eq!(copies.len(), 6, "β⁻_0 … Ω⁻_2");
    copies.iter().all(|(n, c)| {
        let src = &p.iter().find(|(s, _)| *s == n.replace('⁻', "")).unwrap().1;
        src == c
    })
}

/// Transitions of CartPole under random actions, from a fixed seed.
fn replay(n: usize) -> Vec<Transition> {
    let mut world = CartPole::new();
    let mut rng = Rng::new(3);
    let mut s = world.reset(11);
    let mut out = Vec::new();
    while out.len() < n {
        let a = (rng.uniform() * 2.0) as usize;
        let step = world.step(a);
        out.push(Transition {
            s: s.clone(),
            a,
            r: step.reward,
            next: step.observation.clone(),
            terminal: step.terminal(),
        });
        s = if step.done {
            world.reset(out.len() as u64)
        } else {
            step.observation
        };
    }
    out
}

#[test]
fn dqn_updates_lower_the_td_loss_and_leave_the_frozen_copies() {
    let mut model = dqn(5);
    assert!(copies_equal(&model), "the copies start as the parameters");
    let layout = Layout {
        inputs: vec![
            (Role::State, 4),
            (Role::Reward, 1),
            (Role::Next, 4),
            (Role::Done, 1),
        ],
        lo: 1,
        actions: 2,
    };
    let batch = replay(32);
    let picks: Vec<&Transition> = batch.iter().collect();
    let method = Method::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    let mut opt = Optimizer::new(Config::new(method, 1e-2));
    let mut grads = model.new_grads();
    let mut ws = model.new_workspace(32);
    let frozen_before: Vec<_> = params(&model)
        .into_iter()
        .filter(|(n, _)| n.contains('⁻'))
        .collect();
    let first = rl::learn(&mut model, &layout, &picks, &mut opt, &mut grads, &mut ws).unwrap();
    let mut last = first;
    for _ in 0..30 {
        last = rl::learn(&mut model, &layout, &picks, &mut opt, &mut grads, &mut ws).unwrap();
    }
    assert!(last < 0.5 * first, "TD loss {first} → {last}");
    let frozen_after: Vec<_> = params(&model)
        .into_iter()
        .filter(|(n, _)| n.contains('⁻'))
        .collect();
    assert_eq!(frozen_before, frozen_after, "no update reaches φ⁻");
    assert!(!copies_equal(&model), "φ moved");
    rl::refresh_frozen(&mut model);
    assert!(copies_equal(&model), "φ⁻ ← φ");
    // Acting reads the model function q[s, φ]: one of the two actions.
    let a = rl::greedy(&model, &layout, &batch[0].s, &mut ws).unwrap();
    assert!(a < 2);
}

#[test]
fn the_checker_knows_the_runtimes_environments() {
    assert_eq!(dsl::check::ENVIRONMENTS, env::NAMES);
    for n in env::NAMES {
        assert_eq!(env::by_name(n).unwrap().name(), *n);
    }
}
