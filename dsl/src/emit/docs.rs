//! The documentation comments of generated code: what each type, field and method holds or
//! computes, in the spec's names and with the model's shapes (`B` is the batch size).

use crate::ir::{Cols, Graph, Role, Slot};
use std::fmt::Write as _;

/// The doc strings of one model's generated items.
pub(super) struct Docs {
    /// The model type.
    pub model: String,
    /// The workspace type.
    pub workspace_type: String,
    /// `M::workspace`.
    pub workspace_fn: String,
    /// `forward` (when the model has a function).
    pub forward: String,
    /// `loss`.
    pub loss: String,
    /// `loss_and_grad`.
    pub loss_and_grad: String,
}

/// The doc strings of the model `g`, whose inputs are the arguments `args` of its steps, and
/// whose model function (if any) is the output `function`, reading the inputs
/// `forward_inputs` (indices into `g.inputs`).
pub(super) fn docs(
    g: &Graph,
    args: &[String],
    function: Option<&str>,
    forward_inputs: &[usize],
) -> Docs {
    let name = &g.name;
    let params: Vec<String> = g.params.iter().map(|p| format!("`{}`", p.name)).collect();
    let mut model = format!("The model `{name}`, compiled by nnspec.");
    if !params.is_empty() {
        let _ = write!(
            model,
            "\n\nIts fields are the parameters {}, one matrix each",
            params.join(", ")
        );
        model.push_str(if g.losses.is_empty() {
            "."
        } else {
            "; the same type holds their gradients (see `loss_and_grad`)."
        });
    }
    let workspace_type = format!(
        "Every buffer a step of `{name}` needs, allocated once by `{name}::workspace(max_batch)`."
    );
    let workspace_fn = format!(
        "The buffers of every step of `{name}` for batches of up to `max_batch` examples, \
         allocated once."
    );
    let all: Vec<usize> = (0..g.inputs.len()).collect();
    let first = g.losses.first().map_or("the loss", |l| l.name.as_str());
    let others = match g.losses.len() {
        0 | 1 => String::new(),
        _ => " (the first loss of the spec; `loss_and_grad_…` computes each of the others)".into(),
    };
    // A sampling chain's output is its last equation, not a model function.
    let what = if super::sampler::applies(g) {
        "The value"
    } else {
        "The model function"
    };
    let forward = format!(
        "{what} `{}` on a batch, `{}` (one column per example): a view into the \
         workspace. Nothing is allocated.{}",
        function.unwrap_or("f"),
        function
            .and_then(|f| g.output(f))
            .map_or("?".to_string(), |id| g.shape(id).to_string()),
        arguments(g, args, forward_inputs)
    );
    let loss = format!(
        "The loss `{first}`{others} over the batch, without gradients: the spec's sum over the \
         examples of the batch, not a mean.{}",
        arguments(g, args, &all)
    );
    let loss_and_grad = format!(
        "The loss `{first}`{others} over the batch (the spec's sum over its examples, not a mean), \
         with the gradient of every loss with respect to the parameters it trains written into \
         `grads` (overwritten, not accumulated; a parameter no loss trains is left as it is). \
         Nothing is allocated.{}",
        arguments(g, args, &all)
    );
    Docs {
        model,
        workspace_type,
        workspace_fn,
        forward,
        loss,
        loss_and_grad,
    }
}

/// A paragraph naming each argument of a step: its spec name, role and shape.
fn arguments(g: &Graph, args: &[String], inputs: &[usize]) -> String {
    if inputs.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n\nArguments:");
    for &k in inputs {
        let _ = write!(s, "\n- `{}`: {}", args[k], argument(&g.inputs[k]));
    }
    s
}

/// `` the input `x`, 64×B, one column per example `` and the like.
fn argument(slot: &Slot) -> String {
    let role = match slot.role {
        Role::Input => "the input",
        Role::Target => "the target",
        Role::Noise => "a draw of the noise",
        Role::Param => "the parameter",
    };
    let n = &slot.name;
    let what = match (slot.labels, slot.shape.cols) {
        (Some((lo, k)), _) => {
            format!(
                "class labels in {{{lo} … {}}}, one per example",
                lo + k as i32 - 1
            )
        }
        (None, Cols::Batch(1)) => format!("{}, one column per example", slot.shape),
        (None, Cols::Batch(c)) => format!("{}, {c} columns per example", slot.shape),
        (None, Cols::Fixed(_)) => slot.shape.to_string(),
    };
    let what = match slot.entry_labels {
        Some((lo, k)) => format!(
            "{what}, each entry a label in {{{lo} … {}}}",
            lo + k as i32 - 1
        ),
        None => what,
    };
    format!("{role} `{n}`, {what}")
}
