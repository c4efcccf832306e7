//! The interpreter behind a model's update rules (`q[s_t, a_t] ← …`, eqs. 19.11–19.15):
//! [`TabularModel`] implements [`runtime::tabular::Rules`](crate::runtime::tabular::Rules),
//! so the runtime's loops (episodes, sweeps) apply the spec's rules.
//!
//! The model's inputs are named by what they hold: `s` the state, `a` the action, `r` the
//! reward, `s'` the next state, `a'` the next action (SARSA), `d` 1 when `s'` is terminal;
//! one transition is one example. A step runs the graph once on a batch of transitions, then
//! writes every update's values into its table's entries ([`crate::dsl::ir::Update`]), so every right
//! side reads the tables before the step. The agent acts on the table `q` (`q[s, ·]`, or the
//! vector `q` itself in a bandit's one state), or takes the action `A_t` the model defines
//! (`A_t = argmax_{a'=1}^{A} […]`, an upper confidence bound; [`ACTION`]).
//!
//! A rule writing a table of labels (a policy, `π[s] ← argmax_{a=1}^{A} […]`, eq. 19.12) is
//! an improvement: [`Rules::step_phase`] applies it apart from the evaluation rules, for
//! policy iteration, and checks that each value written is one of the table's labels.
//!
//! A rule may also write a whole parameter (`t ← t + 1`, the optimisers of eqs. 6.3–6.17):
//! [`step_whole`] is a training step made of such rules, on a batch of examples.

use crate::dsl::ir::lower::ACTION;
use crate::dsl::ir::{Graph, Role, UpdateIndex};
use crate::interp;
use crate::runtime::init::Sample;
use crate::runtime::tabular::{Phase, Rules, Transition};
use crate::runtime::{NamedParams, Params, Rng};
use faer::Mat;

/// What one input of an update model holds.
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
    /// The part an input named `name` holds.
    pub fn of(name: &str) -> Option<Part> {
        Some(match name {
            "s" => Part::State,
            "a" => Part::Action,
            "r" => Part::Reward,
            "s'" => Part::Next,
            "a'" => Part::NextAction,
            "d" => Part::Done,
            _ => return None,
        })
    }
}

/// A model with update rules, run by the interpreter.
pub struct TabularModel {
    graph: Graph,
    /// The parameters (the tables), by name.
    pub params: NamedParams<f64>,
    /// Each input's part and first label (0 for a number).
    parts: Vec<(Part, f64)>,
    /// The acting table `q`, by index into the parameters.
    acting: Option<usize>,
}

impl TabularModel {
    /// The model of `graph` (lowered, with updates), its tables from the spec's initialisers.
    ///
    /// # Errors
    /// When the model has no update, or an input that is no part of a transition.
    pub fn new(graph: &Graph, rng: &mut Rng) -> Result<TabularModel, String> {
        if graph.updates.is_empty() {
            return Err(format!("`{}` has no update rule `←`", graph.name));
        }
        let mut parts = Vec::new();
        for s in &graph.inputs {
            let part = Part::of(&s.name).filter(|_| s.role == Role::Input).ok_or_else(|| {
                format!(
                    "`{}`: the inputs of a model with update rules are named by what they hold: `s` the state, \
                     `a` the action, `r` the reward, `s'` the next state, `a'` the next action, `d` whether \
                     `s'` is terminal",
                    s.name
                )
            })?;
            parts.push((part, s.labels.map_or(0.0, |(lo, _)| f64::from(lo))));
        }
        let params = NamedParams::new(graph.params.iter().enumerate().map(|(k, p)| {
            let (r, c) = interp::dims(p.shape, 1);
            let init = graph
                .inits
                .get(k)
                .copied()
                .unwrap_or(crate::dsl::ir::Init::Default);
            (p.name.clone(), init.sample(r, c, rng))
        }));
        let mut params = params;
        dynamics(graph, &mut params)?;
        let acting = graph.params.iter().position(|p| p.name == "q");
        let graph = crate::dsl::opt::optimize(graph).map_err(|e| e.to_string())?;
        Ok(TabularModel {
            graph,
            params,
            parts,
            acting,
        })
    }

    /// Whether an input reads the next action (SARSA: chosen before the update).
    pub fn reads_next_action(&self) -> bool {
        self.parts.iter().any(|(p, _)| *p == Part::NextAction)
    }

    /// The table the agent acts on, `q`, as `states × actions` (a vector is one state).
    pub fn acting_table(&self) -> Option<&Mat<f64>> {
        self.params
            .get(self.graph.params.get(self.acting?)?.name.as_str())
    }

    fn inputs(&self, batch: &[Transition]) -> Vec<Mat<f64>> {
        let b = batch.len();
        self.parts
            .iter()
            .map(|&(part, lo)| {
                Mat::from_fn(1, b, |_, j| {
                    let t = &batch[j];
                    match part {
                        Part::State => t.s as f64 + lo,
                        Part::Action => t.a as f64 + lo,
                        Part::Reward => t.r,
                        Part::Next => t.next as f64 + lo,
                        Part::NextAction => t.next_action as f64 + lo,
                        Part::Done => f64::from(u8::from(t.terminal)),
                    }
                })
            })
            .collect()
    }

    /// One run of the graph on `inputs` at the current tables.
    fn run(&self, inputs: &[Mat<f64>]) -> Result<interp::Values<f64>, String> {
        let mut params = Vec::new();
        self.params
            .for_each_param(&mut |_, m| params.push(m.to_owned()));
        interp::run(&self.graph, inputs, &params).map_err(|e| e.to_string())
    }

    /// Whether the update `u` writes a policy, a table of labels (`π[s] ← argmax_a […]`).
    fn improves(&self, u: &crate::dsl::ir::Update) -> bool {
        self.graph
            .params
            .get(u.param as usize)
            .is_some_and(|p| p.entry_labels.is_some())
    }

    /// One update step's writes: `(parameter, row, column, value)`, computed before any is
    /// made, of the rules of `phase` (every rule for `None`).
    fn writes(
        &self,
        batch: &[Transition],
        phase: Option<Phase>,
    ) -> Result<Vec<(usize, usize, usize, f64)>, String> {
        let inputs = self.inputs(batch);
        let values = self.run(&inputs)?;
        let mut params = Vec::new();
        self.params
            .for_each_param(&mut |_, m| params.push(m.to_owned()));
        let mut writes = Vec::new();
        for u in &self.graph.updates {
            match phase {
                Some(Phase::Evaluate) if self.improves(u) => continue,
                Some(Phase::Improve) if !self.improves(u) => continue,
                _ => {}
            }
            let label = self.graph.params[u.param as usize].entry_labels;
            let out = values
                .output(&u.output)
                .ok_or_else(|| format!("no output `{}`", u.output))?;
            let at = |ix: Option<&UpdateIndex>, j: usize| match ix {
                None => 0,
                Some(UpdateIndex::Fixed(k)) => *k as usize,
                Some(UpdateIndex::Label(slot)) => {
                    let (_, lo) = self.parts[*slot as usize];
                    (inputs[*slot as usize][(0, j)] - lo) as usize
                }
            };
            let k = u.param as usize;
            let (rows, cols) = (params[k].nrows(), params[k].ncols());
            if u.index.is_empty() {
                whole(&u.output, out, &params[k], &mut |r, c, v| {
                    writes.push((k, r, c, v))
                })?;
                continue;
            }
            for j in 0..batch.len() {
                let v = out[(0, j.min(out.ncols() - 1))];
                let (r, c) = (at(u.index.first(), j), at(u.index.get(1), j));
                if !v.is_finite() {
                    return Err(format!("`{}` is {v} for transition {}", u.output, j + 1));
                }
                if let Some((lo, n)) = label
                    && (v.fract() != 0.0 || v < f64::from(lo) || v >= f64::from(lo) + n as f64)
                {
                    return Err(format!(
                        "`{}` is {v} for transition {}, not a label of {{{lo} … {}}}",
                        u.output,
                        j + 1,
                        i64::from(lo) + n as i64 - 1
                    ));
                }
                if r >= rows || c >= cols {
                    return Err(format!(
                        "`{}`: entry ({}, {}) is outside the table",
                        u.output,
                        r + 1,
                        c + 1
                    ));
                }
                writes.push((k, r, c, v));
            }
        }
        Ok(writes)
    }
}

/// The entries of a whole rule's new value `out` (`m ← β m + (1 − β) ∂L/∂φ`, eqs. 6.3–6.17),
/// of the shape of the parameter `old` it writes, each passed to `write` as (row, column,
/// value).
fn whole(
    name: &str,
    out: &Mat<f64>,
    old: &Mat<f64>,
    write: &mut dyn FnMut(usize, usize, f64),
) -> Result<(), String> {
    if (out.nrows(), out.ncols()) != (old.nrows(), old.ncols()) {
        return Err(format!(
            "`{name}` is {}×{}, the parameter {}×{}",
            out.nrows(),
            out.ncols(),
            old.nrows(),
            old.ncols()
        ));
    }
    for c in 0..out.ncols() {
        for r in 0..out.nrows() {
            let v = out[(r, c)];
            if !v.is_finite() {
                return Err(format!("`{name}` is {v} at entry ({}, {})", r + 1, c + 1));
            }
            write(r, c, v);
        }
    }
    Ok(())
}

/// One training step of a model whose `←` rules write whole parameters (the optimisers of
/// eqs. 6.3–6.17, `φ_{t+1} ← φ_t − α ∂L/∂φ`): runs `graph` (with its rules lowered) once
/// on the examples `inputs` at `params`, then writes every rule's new value, each computed
/// from the parameters before the step. `params` are in the order of [`Graph::params`].
///
/// # Errors
/// When the graph cannot be run, a rule writes table entries (`q[s_t, a_t] ← …`, which
/// [`TabularModel`] applies), or a new value is not finite (named with its entry).
pub fn step_whole(
    graph: &Graph,
    inputs: &[Mat<f64>],
    params: &mut [Mat<f64>],
) -> Result<(), String> {
    let values = interp::run(graph, inputs, params).map_err(|e| e.to_string())?;
    let mut writes = Vec::new();
    for u in &graph.updates {
        if !u.index.is_empty() {
            return Err(format!(
                "`{}` writes entries of a table, not a whole parameter",
                u.output
            ));
        }
        let out = values
            .output(&u.output)
            .ok_or_else(|| format!("no output `{}`", u.output))?;
        let k = u.param as usize;
        let old = params
            .get(k)
            .ok_or_else(|| format!("no parameter for `{}`", u.output))?;
        whole(&u.output, out, old, &mut |r, c, v| {
            writes.push((k, r, c, v))
        })?;
    }
    for (k, r, c, v) in writes {
        params[k][(r, c)] = v;
    }
    Ok(())
}

/// Fills the environment's tables (`r[s, a]`, `Pr(s'|s, a)`: parameters of the group `env`)
/// from its dynamics.
fn dynamics(graph: &Graph, params: &mut NamedParams<f64>) -> Result<(), String> {
    let env = graph.env.as_deref().unwrap_or_default();
    let wanted = |name: &str| {
        graph
            .params
            .iter()
            .any(|p| p.name == name && p.group.as_deref() == Some("env"))
    };
    if !wanted("r") && !wanted("Pr") {
        return Ok(());
    }
    let slippery = match env {
        "FrozenLake" => false,
        "FrozenLakeSlippery" => true,
        _ => return Err(format!("`{env}` has no dynamics to read")),
    };
    let (p, r) = crate::runtime::tabular::frozen_lake_dynamics(slippery);
    let (states, actions) = (16, 4);
    params.for_each_param_mut(&mut |name, mut m| {
        if name == "r" && wanted("r") {
            for s in 0..states {
                for a in 0..actions {
                    m[(s, a)] = r[s * actions + a];
                }
            }
        } else if name == "Pr" && wanted("Pr") {
            for s in 0..states {
                for col in 0..actions * states {
                    m[(s, col)] = p[s * actions * states + col];
                }
            }
        }
    });
    Ok(())
}

impl Rules for TabularModel {
    fn action(&self, state: usize) -> Result<Option<usize>, String> {
        let Some((name, _)) = self.graph.outputs.iter().find(|(n, _)| n == ACTION) else {
            return Ok(None);
        };
        let probe = Transition {
            s: state,
            ..Transition::default()
        };
        let values = self.run(&self.inputs(&[probe]))?;
        let a = values.output(name).map_or(f64::NAN, |m| m[(0, 0)]);
        if a.is_nan() || a < 1.0 || a.fract() != 0.0 {
            return Err(format!("`{ACTION}` is {a}, not an action counted from 1"));
        }
        Ok(Some(a as usize - 1))
    }

    fn action_values(&self, state: usize, out: &mut [f64]) {
        let Some(q) = self.acting_table() else {
            out.fill(0.0);
            return;
        };
        for (a, o) in out.iter_mut().enumerate() {
            *o = if q.ncols() == 1 {
                q[(a.min(q.nrows() - 1), 0)]
            } else {
                q[(state.min(q.nrows() - 1), a.min(q.ncols() - 1))]
            };
        }
    }

    fn step(&mut self, batch: &[Transition]) -> Result<f64, String> {
        self.write(batch, None)
    }

    fn has_policy(&self) -> bool {
        self.graph.updates.iter().any(|u| self.improves(u))
    }

    fn step_phase(&mut self, batch: &[Transition], phase: Phase) -> Result<f64, String> {
        self.write(batch, Some(phase))
    }
}

impl TabularModel {
    /// One update step of the rules of `phase` (all for `None`): the writes, then the largest
    /// change of an entry.
    fn write(&mut self, batch: &[Transition], phase: Option<Phase>) -> Result<f64, String> {
        let writes = self.writes(batch, phase)?;
        let mut change = 0.0f64;
        let mut k = 0;
        self.params.for_each_param_mut(&mut |_, mut m| {
            for &(_, r, c, v) in writes.iter().filter(|w| w.0 == k) {
                change = change.max((m[(r, c)] - v).abs());
                m[(r, c)] = v;
            }
            k += 1;
        });
        Ok(change)
    }
}
