//! `sample`: the entry point of a model that has no loss and reads only noise — a sampling
//! chain (Algorithm 18.2's inverse steps of eq. 18.31, a flow's forward direction of eq.
//! 16.4). Lowering makes its last equation's value its output, so it has a `forward` that
//! takes a draw of every noise input it reads as an argument; `sample(batch, rng, ws)` draws
//! them itself. Both put the noise in buffers of the workspace and run one private method,
//! `run_on_noise`, on it (`forward` copies its arguments there).
//!
//! The noise is drawn as the interpreter draws it for `nnspec sample --model`
//! (`nnspec::sample::noise`): every noise input in slot order (declaration order, a family's
//! members in the order it unrolls them), each filled column by column by
//! `runtime::batch::noise` with the law it declares, from the caller's generator. The same
//! seed therefore gives the same sample to both.

use super::cx::{Cx, cols_tokens};
use super::model::init_tokens;
use crate::ir::{Cols, Graph, Init, NodeId, Role};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// The paragraph of the model's rustdoc on sampling.
pub(super) const MODEL_DOC: &str = "\n\nIt has no loss and reads only noise: `sample` draws \
    the noise from a generator and computes the model's last equation, `forward` computes it \
    from given draws.";

/// Whether `g` is a model `sample` is generated for: no loss, and at least one input, every
/// one of them noise.
pub(super) fn applies(g: &Graph) -> bool {
    g.losses.is_empty() && !g.inputs.is_empty() && g.inputs.iter().all(|s| s.role == Role::Noise)
}

/// What `sample` adds to a model: its methods (`sample`, and `run_on_noise`, the statements
/// that `forward` runs too), and the workspace's noise buffers (fields and their initial
/// values, `max_batch` examples each).
pub(super) struct Sampler {
    pub methods: TokenStream,
    pub fields: Vec<TokenStream>,
    pub init: Vec<TokenStream>,
}

/// The workspace field of noise input `k`: `noise_xi_2`.
fn field(cx: &Cx<'_>, k: usize) -> Ident {
    format_ident!("noise_{}", cx.inputs[k])
}

/// A slot's distribution: as declared, `Norm[0, I]` when it says nothing.
fn dist(s: &crate::ir::Slot) -> Init {
    s.dist.unwrap_or(Init::Normal {
        mean: 0.0,
        variance: 1.0,
    })
}

/// `forward`'s body after its checks: the draws given, `inputs` (indices into the slots),
/// copied into the workspace's noise buffers, then the statements `sample` runs.
pub(super) fn forward_body(cx: &Cx<'_>, inputs: &[usize]) -> TokenStream {
    let copies = inputs.iter().map(|&k| {
        let (f, x) = (field(cx, k), &cx.inputs[k]);
        let cols = cols_tokens(cx.g.inputs[k].shape.cols);
        quote!(ws.#f.as_mut().subcols_mut(0, #cols).copy_from(#x);)
    });
    quote! {
        #(#copies)*
        self.run_on_noise(batch, ws)
    }
}

/// `sample` for the model of `cx` whose output `out` (`name`) `stmts` compute (`forward`'s
/// statements, reading each noise input by its argument's name).
pub(super) fn sampler(
    cx: &Cx<'_>,
    ws_name: &Ident,
    (name, out): (&str, NodeId),
    stmts: &[TokenStream],
) -> Sampler {
    let (g, rt) = (cx.g, &cx.rt);
    let faer = quote!(#rt::faer);
    let ks: Vec<usize> = (0..g.inputs.len()).collect();
    let fields = ks.iter().map(|&k| {
        let f = field(cx, k);
        quote!(#f: #faer::Mat<T>,)
    });
    let init = ks.iter().map(|&k| {
        let (f, s) = (field(cx, k), &g.inputs[k]);
        let rows = s.shape.rows;
        let cols = match s.shape.cols {
            Cols::Fixed(c) => quote!(#c),
            Cols::Batch(n) => quote!(#n * max_batch),
        };
        quote!(#f: #faer::Mat::zeros(#rows, #cols),)
    });
    let draws = ks.iter().map(|&k| {
        let (f, s) = (field(cx, k), &g.inputs[k]);
        let (cols, law) = (cols_tokens(s.shape.cols), init_tokens(rt, dist(s)));
        quote!(#rt::batch::noise(#law, ws.#f.as_mut().subcols_mut(0, #cols), rng, false);)
    });
    let views = ks.iter().map(|&k| {
        let (f, x) = (field(cx, k), &cx.inputs[k]);
        let cols = cols_tokens(g.inputs[k].shape.cols);
        quote!(let #x = ws.#f.as_ref().subcols(0, #cols);)
    });
    let value = cx.read(out);
    let doc = doc(g, name, out);
    let methods = quote! {
        #[doc = #doc]
        pub fn sample<'w>(&self, batch: usize, rng: &mut #rt::Rng, ws: &'w mut #ws_name<T>) -> Result<#faer::MatRef<'w, T>, #rt::StepError> {
            if batch > ws.max_batch {
                return Err(#rt::StepError::Batch { batch, max_batch: ws.max_batch });
            }
            #(#draws)*
            self.run_on_noise(batch, ws)
        }

        /// The statements of `sample` and `forward`, on the noise in the workspace.
        #[allow(unused_variables)]
        fn run_on_noise<'w>(&self, batch: usize, ws: &'w mut #ws_name<T>) -> Result<#faer::MatRef<'w, T>, #rt::StepError> {
            #(#views)*
            #(#stmts)*
            Ok(#value)
        }
    };
    Sampler {
        methods,
        fields: fields.collect(),
        init: init.collect(),
    }
}

/// `sample`'s rustdoc: what it returns and the order of its draws.
fn doc(g: &Graph, name: &str, out: NodeId) -> String {
    let order: Vec<String> = g
        .inputs
        .iter()
        .map(|s| format!("`{}` {}", s.name, s.shape))
        .collect();
    format!(
        "A batch of `batch` samples of `{model}`: its value `{name}`, `{shape}` (one column \
         per example), a view into the workspace. The noise is drawn from `rng` into the \
         workspace, each input column by column from the law it declares \
         (`runtime::batch::noise`), in this order: {order}; then `{name}` is computed as \
         `forward` computes it. This is the order and law in which `nnspec sample --model \
         {model}` draws them for the interpreter, so the same generator state gives the same \
         samples. Nothing is allocated.",
        model = g.name,
        shape = g.shape(out),
        order = order.join(", "),
    )
}
