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
use crate::dsl::ir::{Graph, Role, Update, UpdateIndex};
use crate::interp;
use crate::runtime::init::Sample;
pub use crate::runtime::tabular::Part;
use crate::runtime::tabular::{self, Entry, Phase, Rule, Rules, Transition};
use crate::runtime::{NamedParams, Params, Rng};
use faer::Mat;

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
            .map(|&(part, lo)| Mat::from_fn(1, b, |_, j| part.input(&batch[j], lo)))
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

    /// The rule of the update `u` over the run's `values`, for [`Rule::check`] and
    /// [`Rule::write`] (the runtime's, which generated code calls too).
    fn rule<'v>(
        &self,
        u: &'v Update,
        values: &'v interp::Values<f64>,
    ) -> Result<Rule<'v, f64>, String> {
        let out = values
            .output(&u.output)
            .ok_or_else(|| format!("no output `{}`", u.output))?;
        let slot = &self.graph.params[u.param as usize];
        let entry = |ix: Option<&UpdateIndex>| match ix {
            None => Ok(Entry::Fixed(0)),
            Some(UpdateIndex::Fixed(k)) => Ok(Entry::Fixed(*k as usize)),
            Some(UpdateIndex::Label(k)) => self
                .parts
                .get(*k as usize)
                .map(|&(p, _)| Entry::Of(p))
                .ok_or_else(|| format!("`{}`: no input {k}", u.output)),
        };
        let at = if u.index.is_empty() {
            None
        } else {
            Some([entry(u.index.first())?, entry(u.index.get(1))?])
        };
        let (rows, cols) = interp::dims(slot.shape, 1);
        Ok(Rule {
            name: &u.output,
            values: out.as_ref(),
            at,
            table: (rows, cols),
            labels: slot.entry_labels,
        })
    }
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
    let mut rules = Vec::new();
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
        let rule = Rule {
            name: &u.output,
            values: out.as_ref(),
            at: None,
            table: (old.nrows(), old.ncols()),
            labels: None,
        };
        rule.check(&[])?;
        rules.push((k, rule));
    }
    for (k, rule) in rules {
        rule.write(&[], params[k].as_mut());
    }
    Ok(())
}

/// Fills the environment's tables (`r[s, a]`, `Pr(s'|s, a)`: parameters of the group `env`)
/// from its dynamics ([`tabular::fill_dynamics`], which generated `init` calls too).
fn dynamics(graph: &Graph, params: &mut NamedParams<f64>) -> Result<(), String> {
    let env = graph.env.as_deref().unwrap_or_default();
    let wanted = |name: &str| {
        graph
            .params
            .iter()
            .any(|p| p.name == name && p.group.as_deref() == Some("env"))
    };
    let mut result = Ok(());
    params.for_each_param_mut(&mut |name, m| {
        if result.is_ok() && wanted(name) {
            result = tabular::fill_dynamics(env, name, m);
        }
    });
    result
}

impl Rules for TabularModel {
    type Workspace = ();

    fn new_workspace(&self, _max_batch: usize) {}

    fn action(&self, state: usize, _ws: &mut ()) -> Result<Option<usize>, String> {
        let Some((name, _)) = self.graph.outputs.iter().find(|(n, _)| n == ACTION) else {
            return Ok(None);
        };
        let probe = Transition {
            s: state,
            ..Transition::default()
        };
        let values = self.run(&self.inputs(&[probe]))?;
        let a = values.output(name).map_or(f64::NAN, |m| m[(0, 0)]);
        tabular::chosen(a).map(Some)
    }

    fn action_values(&self, state: usize, out: &mut [f64]) {
        tabular::acting_values(self.acting_table().map(Mat::as_ref), state, out);
    }

    fn step(&mut self, batch: &[Transition], _ws: &mut ()) -> Result<f64, String> {
        self.write(batch, None)
    }

    fn has_policy(&self) -> bool {
        self.graph.updates.iter().any(|u| self.improves(u))
    }

    fn step_phase(
        &mut self,
        batch: &[Transition],
        phase: Phase,
        _ws: &mut (),
    ) -> Result<f64, String> {
        self.write(batch, Some(phase))
    }
}

impl TabularModel {
    /// One update step of the rules of `phase` (all for `None`): one run of the graph, every
    /// rule's values checked, then written in the rules' order; the largest change of an
    /// entry.
    fn write(&mut self, batch: &[Transition], phase: Option<Phase>) -> Result<f64, String> {
        let values = self.run(&self.inputs(batch))?;
        let mut rules = Vec::new();
        for u in &self.graph.updates {
            let rule = self.rule(u, &values)?;
            if rule.applies(phase) {
                rule.check(batch)?;
                rules.push((u.param as usize, rule));
            }
        }
        let mut change = 0.0f64;
        let mut k = 0;
        self.params.for_each_param_mut(&mut |_, m| {
            if let Some((_, rule)) = rules.iter().find(|(p, _)| *p == k) {
                change = change.max(rule.write(batch, m));
            }
            k += 1;
        });
        Ok(change)
    }
}
