//! The runtime's traits for a generated model: `Params` (every parameter under its spec
//! name) and, for a model trained on pairs `(x, y)`, `train::Supervised`.

use super::cx::Cx;
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
