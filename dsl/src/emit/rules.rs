//! The training step of a model whose `←` rules write whole parameters (the optimisers as the
//! book prints them, eqs. 6.3–6.17): `rule_step` and `write_rules`.
//!
//! Lowering (`ir/lower/update.rs`) makes each rule's new value an output of the graph
//! (`m ←`, `φ ←`, `t ←`), so the training graph's step, `loss_and_grad`, already computes
//! them — through the emission of IR nodes every step uses — into workspace buffers that
//! live to the end of the step (the plan keeps outputs alive), every one from the parameters
//! before the step. `write_rules` then copies them into the parameters in the rules' order:
//! the step is simultaneous, as the interpreter's (`tabular::step_whole`). The values of the
//! step (`m̃_{t+1}`, `ṽ_{t+1}`) stay in the workspace; the state the rules carry from step to
//! step (`m`, `v`, the step counter `t`) is what the spec declares it, parameters, so they
//! are fields of the model and `runtime::Params` visits them under their spec names:
//! a checkpoint holds them as the interpreter's does.

use super::cx::Cx;
use crate::ir::{NodeId, Op};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// Why `g`'s rules cannot be emitted: a new value that is a parameter as it stands
/// (`φ_{t+1} ← m_t`), which writing the rules one after another would read after its own
/// write. `None` when they can.
pub(super) fn refused(g: &crate::ir::Graph) -> Option<String> {
    if !super::trained_by_whole_rules(g) {
        return None;
    }
    g.updates.iter().find_map(|u| {
        let mut id = g.output(&u.output)?;
        while let Op::StopGradient = g.node(id).op {
            id = g.node(id).args[0];
        }
        matches!(g.node(id).op, Op::Param(_)).then(|| {
            format!(
                "the rule `{}` copies a parameter as it stands, which generated code does not run yet; the interpreter does (`nnspec train`)",
                u.output
            )
        })
    })
}

/// `rule_step` and `write_rules` of a model trained by whole rules (`args`: the steps'
/// arguments); nothing for any other model.
pub(super) fn rule_fns(cx: &Cx<'_>, ws_name: &Ident, args: &[TokenStream]) -> TokenStream {
    let g = cx.g;
    if !super::trained_by_whole_rules(g) {
        return TokenStream::new();
    }
    let rt = &cx.rt;
    let names = &cx.inputs;
    let writes = g.updates.iter().filter_map(|u| {
        let id = g.output(&u.output)?;
        let f = &cx.params[u.param as usize];
        Some(write(cx, id, f, &u.output))
    });
    let checks = g.updates.iter().filter_map(|u| {
        let id = g.output(&u.output)?;
        if let Op::Const(c) = g.node(id).op {
            return (!c.0.is_finite()).then(|| non_finite(rt, &u.output));
        }
        let src = cx.read(id);
        let err = non_finite(rt, &u.output);
        Some(quote! {
            if !#rt::params::all_finite(#src) {
                #err
            }
        })
    });
    quote! {
        /// One training step of the spec's `←` rules (the optimiser as printed): the loss and
        /// its gradient as [`Self::loss_and_grad`] computes them (into `grads`), which also
        /// computes every rule's new value from the parameters before the step, then
        /// [`Self::write_rules`]. Returns the loss before the step.
        #[allow(clippy::too_many_arguments)]
        pub fn rule_step(&mut self, #(#args,)* grads: &mut Self, ws: &mut #ws_name<T>) -> Result<T, #rt::StepError> {
            let loss = self.loss_and_grad(#(#names,)* grads, ws)?;
            self.write_rules(grads, ws)?;
            Ok(loss)
        }

        /// Writes the new values of the rules that the last [`Self::loss_and_grad`] left in
        /// `ws` (and `grads`) into the parameters, in the rules' order; nothing is written
        /// when one of them holds a NaN or an infinity (the error names the rule).
        pub fn write_rules(&mut self, grads: &Self, ws: &#ws_name<T>) -> Result<(), #rt::StepError> {
            let _ = &grads;
            #(#checks)*
            #(#writes)*
            Ok(())
        }
    }
}

/// The error of a rule whose new value is not finite.
fn non_finite(rt: &TokenStream, output: &str) -> TokenStream {
    let msg = format!("`{output}`: an entry of the new value is NaN or infinite");
    quote!(return Err(#rt::StepError::Eval(#msg.to_string()));)
}

/// Copies the value of `id` (a rule's new value) into the parameter field `f`.
fn write(cx: &Cx<'_>, id: NodeId, f: &Ident, output: &str) -> TokenStream {
    // No spec line: a value may be shared by several rules (`t + 1` of `t ←` and of
    // `β^{t+1}`), and the step counter's rule is implicit.
    let marker = format!("{output}: the new value written");
    match cx.g.node(id).op {
        Op::Const(c) => {
            let v = c.0;
            quote! {
                let _ = #marker;
                self.#f.fill(T::from_f64(#v));
            }
        }
        _ => {
            let src = cx.read(id);
            quote! {
                let _ = #marker;
                self.#f.copy_from(#src);
            }
        }
    }
}
