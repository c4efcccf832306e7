//! An environment's dynamics read in the book's notation (eqs. 19.8–19.12): with an `env`
//! line naming a frozen lake, `Pr(s'|s, a)` is the probability that action `a` in state `s`
//! leads to `s'`, and `r[s, a]` (when the model declares no `r`) the expected reward of taking
//! `a` in `s` — the tables dynamic programming sweeps over, which the runtime fills from the
//! environment (`runtime::tabular::frozen_lake_dynamics`). Each index is a label of its set
//! (a state `{1 … 16}`, an action `{1 … 4}`, the policy's action `π[s]`) or a number within
//! it (`E0330`). Checking and
//! lowering (`ir::lower::dynamics`) ask the same functions.

use super::ModelCx;
use super::expr::Ix;
use super::shape::{Dim, Shape, Val};
use crate::ast::Expr;
use crate::diag::{Code, Diagnostic, Span};

/// The lake's states and actions.
pub(crate) const LAKE: (usize, usize) = (16, 4);

/// Whether the environment `env` has dynamics a spec can read.
pub(crate) fn known(env: Option<&str>) -> bool {
    matches!(env, Some("FrozenLake" | "FrozenLakeSlippery"))
}

/// The expected reward's name, and the transition table's (a parameter `Pr` of
/// `S × (A·S)`, row `s`, column `a·S + s'`, counted from 0).
pub(crate) const REWARD: &str = "r";
/// See [`REWARD`].
pub(crate) const TRANSITIONS: &str = "Pr";

fn val(shape: Shape, per_example: bool) -> Val {
    Val {
        shape,
        per_example,
        labels: None,
        diagonal: false,
        structure: Default::default(),
    }
}

impl ModelCx<'_, '_> {
    /// `r` of the environment's dynamics, when the model has such an environment and no `r`.
    pub(super) fn env_table(&self, name: &str) -> Option<Val> {
        (known(self.env.as_deref()) && name == REWARD && !self.scope.contains_key(name)).then(
            || {
                let (s, a) = LAKE;
                val(
                    Shape::Mat(Dim::constant(s as i64), Dim::constant(a as i64)),
                    false,
                )
            },
        )
    }

    /// `Pr(s'|s, a)`: `None` (with `E0402`) outside a model whose environment's dynamics are
    /// known, or with other arguments.
    pub(super) fn prob(&mut self, event: &Expr, given: &[Expr], span: Span) -> Option<Val> {
        if !known(self.env.as_deref()) || given.len() != 2 {
            self.error(
                Diagnostic::new(Code::E0402, span, "probabilities `Pr(·|·)` are not supported yet")
                    .label("not supported yet")
                    .help("write the log-likelihood out, e.g. `log[sig[f[x_i, φ]]]` or `log[Norm_{y_i}[μ, σ²]]`; in a model with `env FrozenLake` (or `FrozenLakeSlippery`), `Pr(s'|s, a)` is the lake's transition probability"),
            );
            return None;
        }
        let (states, actions) = LAKE;
        let axes = [
            (event, states, "state"),
            (&given[0], states, "state"),
            (&given[1], actions, "action"),
        ];
        let mut per_example = false;
        let mut ok = true;
        for (arg, n, what) in axes {
            let problem = match self.table_ix(arg) {
                Some(Ix::Int(k)) if k >= 1 && k as usize <= n => None,
                Some(Ix::Label(l, _)) if l.count.value == Some(n as i64) && l.lo == 1 => {
                    per_example = true;
                    None
                }
                None => {
                    ok = false;
                    None
                }
                _ => Some(format!(
                    "not a {what} of the lake, a label of `{{1 … {n}}}` or a number within it"
                )),
            };
            if let Some(p) = problem {
                ok = false;
                self.error(
                    Diagnostic::new(Code::E0330, arg.span, format!("this index of `Pr(s'|s, a)` is {p}"))
                        .label(format!("a {what} expected"))
                        .help("`Pr(s'|s, a)` is the probability that action `a` in state `s` leads to `s'`: states `{1 … 16}`, actions `{1 … 4}`"),
                );
            }
        }
        ok.then(|| val(Shape::Scalar, per_example))
    }
}
