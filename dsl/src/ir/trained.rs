//! Every parameter outside a group is trained by a loss. A model with losses trains exactly the
//! groups its losses name (`loss L[φ] = …` trains the parameters declared `∈ φ`). A parameter
//! declared in a group that no loss names is held fixed, as written (data held as a parameter,
//! `param X : ℝ^{D×N} ∈ ξ`); but a parameter declared in no group, in a model whose losses
//! train only some groups, was most likely meant to be trained and would keep its initial value
//! for ever, silently — `E0220` at its declaration. Checked on the lowered graph, whose
//! [`Loss::wrt`](super::Loss) lists are the one decision of what each loss trains.

use super::Graph;
use crate::diag::{Code, Diagnostic};

/// `E0220` for each parameter of `g` in no group that none of its losses trains (none when `g`
/// has no loss: a model used only as a function has nothing to train).
pub fn check(g: &Graph) -> Vec<Diagnostic> {
    if g.losses.is_empty() {
        return Vec::new();
    }
    let mut trained = vec![false; g.params.len()];
    for loss in &g.losses {
        for &p in &loss.wrt {
            if let Some(t) = trained.get_mut(p as usize) {
                *t = true;
            }
        }
    }
    let named: Vec<String> = g.losses.iter().flat_map(|l| l.group.clone()).collect();
    g.params
        .iter()
        .zip(trained)
        .filter(|(slot, t)| !t && slot.group.is_none())
        .map(|(slot, _)| {
            let span = g.spans.get(slot.node.index()).copied().unwrap_or_default();
            let losses = g
                .losses
                .iter()
                .map(|l| format!("`{}[{}]`", l.name, l.group.join(", ")))
                .collect::<Vec<_>>()
                .join(", ");
            let help = format!(
                "put `{}` in a group a loss trains (`∈ {}` in its declaration), or in a group of its own to hold it fixed",
                slot.name,
                named.first().map(String::as_str).unwrap_or("φ")
            );
            Diagnostic::new(
                Code::E0220,
                span,
                format!("`{}` is trained by no loss", slot.name),
            )
            .label("declared here")
            .note(format!(
                "{} only the parameters of the groups named in brackets; `{}` would keep its initial value",
                if g.losses.len() == 1 { format!("{losses} trains") } else { format!("the losses {losses} train") },
                slot.name
            ))
            .help(help)
        })
        .collect()
}
