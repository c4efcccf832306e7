//! The runtime's traits for a generated model: `Params` (every parameter under its spec
//! name) and, for a model trained on pairs `(x, y)`, `train::Supervised`.

use super::cx::Cx;
use crate::ir::NodeId;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// `impl Params`: the parameters in declaration order, under their spec names.
pub(super) fn params_impl(cx: &Cx<'_>, name: &Ident) -> TokenStream {
    let rt = &cx.rt;
    let faer = quote!(#rt::faer);
    let names = cx.g.params.iter().map(|p| p.name.as_str());
    let (a, b, c) = (names.clone(), names.clone(), names);
    let f = &cx.params;
    let stat_names = cx.g.stats.iter().map(|s| s.name.as_str());
    let (sa, sb) = (stat_names.clone(), stat_names);
    let s = &cx.stats;
    let state = (!s.is_empty()).then(|| {
        quote! {
            fn for_each_state(&self, f: &mut dyn FnMut(&str, #faer::MatRef<'_, T>)) {
                #(f(#sa, self.#s.as_ref());)*
            }
            fn for_each_state_mut(&mut self, f: &mut dyn FnMut(&str, #faer::MatMut<'_, T>)) {
                #(f(#sb, self.#s.as_mut());)*
            }
        }
    });
    quote! {
        #[allow(unused_variables)]
        impl<T: #rt::Scalar> #rt::Params<T> for #name<T> {
            fn for_each_param(&self, f: &mut dyn FnMut(&str, #faer::MatRef<'_, T>)) {
                #(f(#a, self.#f.as_ref());)*
            }
            fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&str, #faer::MatMut<'_, T>)) {
                #(f(#b, self.#f.as_mut());)*
            }
            fn for_each_param_with_grad(&mut self, grads: &Self, f: &mut #rt::params::GradVisitor<'_, T>) {
                #(f(#c, self.#f.as_mut(), grads.#f.as_ref());)*
            }
            #state
        }
    }
}

/// `impl Supervised` for a model trained on pairs `(x, y)`: one `input`, one `target`, no
/// noise, a loss, and a model function that reads the input only. Other models get none.
pub(super) fn supervised_impl(
    cx: &Cx<'_>,
    name: &Ident,
    ws_name: &Ident,
    function: Option<&(String, NodeId)>,
    forward_inputs: Option<Vec<usize>>,
) -> TokenStream {
    use crate::ir::Role;
    let g = cx.g;
    let rt = &cx.rt;
    let faer = quote!(#rt::faer);
    let (Some(loss), Some((_, fid))) = (g.losses.first(), function) else {
        return TokenStream::new();
    };
    let role = |r: Role| g.inputs.iter().position(|s| s.role == r);
    let (Some(xi), Some(yi)) = (role(Role::Input), role(Role::Target)) else {
        return TokenStream::new();
    };
    if g.inputs.len() != 2 || forward_inputs != Some(vec![xi]) {
        return TokenStream::new();
    }
    let y = &g.inputs[yi];
    let (target, y_pat, y_name) = match y.labels {
        Some((lo, classes)) if lo >= 0 => {
            let lo = lo as usize;
            (
                quote!(#rt::data::TargetKind::Labels { lo: #lo, classes: Some(#classes) }),
                quote!(#rt::data::TargetsRef::Labels(y)),
                "class labels",
            )
        }
        Some(_) => return TokenStream::new(),
        None => {
            let rows = y.shape.rows;
            (
                quote!(#rt::data::TargetKind::Values { count: #rows }),
                quote!(#rt::data::TargetsRef::Values(y)),
                "real values",
            )
        }
    };
    let call: Vec<TokenStream> = (0..2)
        .map(|k| if k == xi { quote!(x) } else { quote!(y) })
        .collect();
    let (model, loss_name, yname) = (&g.name, &loss.name, &y.name);
    let (inputs, outputs) = (g.inputs[xi].shape.rows, g.shape(*fid).rows);
    let (input, input_cols) = (&g.inputs[xi].name, g.inputs[xi].shape.cols_for(1));
    let update_running = (!g.stats.is_empty()).then(|| {
        quote! {
            fn update_running(&mut self, batch: &Self) {
                #name::update_running(self, batch)
            }
        }
    });
    let wrong = quote! {
        Err(#rt::StepError::Targets { name: #yname, expected: #y_name })
    };
    quote! {
        impl<T: #rt::Scalar> #rt::train::Supervised<T> for #name<T> {
            type Workspace = #ws_name<T>;
            fn io(&self) -> #rt::train::Io {
                #rt::train::Io {
                    model: #model.to_string(),
                    loss: #loss_name.to_string(),
                    input: #input.to_string(),
                    inputs: #inputs,
                    input_cols: #input_cols,
                    outputs: #outputs,
                    target: #target,
                    more_inputs: Vec::new(),
                    token_labels: false,
                }
            }
            fn new_workspace(&self, max_batch: usize) -> #ws_name<T> {
                #name::workspace(max_batch)
            }
            fn new_grads(&self) -> Self {
                #name::zeros()
            }
            fn batch_loss(
                &self,
                x: #faer::MatRef<'_, T>,
                y: #rt::data::TargetsRef<'_, T>,
                ws: &mut #ws_name<T>,
            ) -> Result<T, #rt::StepError> {
                match y {
                    #y_pat => self.loss(#(#call),*, ws),
                    _ => #wrong,
                }
            }
            fn batch_loss_and_grad(
                &self,
                x: #faer::MatRef<'_, T>,
                y: #rt::data::TargetsRef<'_, T>,
                grads: &mut Self,
                ws: &mut #ws_name<T>,
            ) -> Result<T, #rt::StepError> {
                match y {
                    #y_pat => self.loss_and_grad(#(#call),*, grads, ws),
                    _ => #wrong,
                }
            }
            #update_running
            fn predict<'w>(
                &self,
                x: #faer::MatRef<'_, T>,
                ws: &'w mut #ws_name<T>,
            ) -> Result<#faer::MatRef<'w, T>, #rt::StepError> {
                self.forward(x, ws)
            }
            fn locate_non_finite(
                &self,
                x: #faer::MatRef<'_, T>,
                y: #rt::data::TargetsRef<'_, T>,
                ws: &mut #ws_name<T>,
            ) -> Result<Option<String>, #rt::StepError> {
                match y {
                    #y_pat => Ok(self.locate_non_finite(#(#call),*, ws)?.map(str::to_string)),
                    _ => #wrong,
                }
            }
        }
    }
}
