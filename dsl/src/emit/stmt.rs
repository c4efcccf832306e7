//! Statements: the code of each node that owns a buffer — its family's statement
//! (`ir::op::stmt`: a runtime kernel call, a product with its scale, or an element-wise loop)
//! behind the spec line it implements — and a whole step, every statement then the gradients
//! copied into `grads`; the helpers the families' statements share (`kernel`). What the plan
//! folds into a neighbour (a product's scale, a gradient's sum) is `Plan::scaled` and
//! `Plan::summed_in_producer`.

use super::cx::{Cx, Mode};
use crate::ir::{Cols, NodeId, Op};
use proc_macro2::TokenStream;
use quote::quote;

impl Cx<'_> {
    /// The statement computing node `id` into its buffer: nothing for a node computed inside
    /// its fusion group's loop, read directly (inputs, constants) or scaled by its product's
    /// GEMM; else its family's statement (`ir::op::stmt`) behind the spec line it implements.
    pub(super) fn stmt(&self, id: NodeId) -> TokenStream {
        let n = self.g.node(id);
        let stored = self.plan.buffer[id.index()].is_some() || self.grad_of[id.index()].is_some();
        if self.plan.fused_into[id.index()].is_some() || !stored {
            return TokenStream::new();
        }
        // The scale of a product, already applied by the product's GEMM.
        if let Some(&p) = n.args.first()
            && self.plan.scaled[p.index()].is_some_and(|(u, _)| u == id)
        {
            return TokenStream::new();
        }
        let Some(body) = crate::ir::op::stmt(self, id) else {
            return TokenStream::new();
        };
        let comment = self.comment(id);
        quote!({ #comment #body })
    }

    /// Every statement of the graph, then the gradients copied into `grads`; and the
    /// expression of the loss `loss`.
    pub(super) fn step(&self, loss: &str) -> (TokenStream, TokenStream) {
        self.in_mode(Mode::Recording, || self.step_in_mode(loss))
    }

    fn step_in_mode(&self, loss: &str) -> (TokenStream, TokenStream) {
        let g = self.g;
        let all = (0..g.nodes.len()).map(|i| self.stmt(NodeId(i as u32)));
        let copies = g.grads.iter().filter_map(|gr| {
            let (id, crate::ir::Wrt::Param(k)) = (&gr.node, gr.wrt) else {
                return None;
            };
            let k = k as usize;
            let f = &self.params[k];
            if self.grad_of[id.index()].is_some() {
                return None;
            }
            let src = self.read(*id);
            Some(match g.node(*id).op {
                Op::Const(c) => {
                    let v = c.0;
                    quote!(grads.#f.fill(T::from_f64(#v));)
                }
                _ => quote!(grads.#f.copy_from(#src);),
            })
        });
        let value = match g.output(loss) {
            Some(id) => match g.node(id).op {
                Op::Const(c) => {
                    let v = c.0;
                    quote!(T::from_f64(#v))
                }
                _ => {
                    let r = self.read(id);
                    quote!(#r[(0, 0)])
                }
            },
            None => quote!(T::ZERO),
        };
        (quote!(#(#all)* #(#copies)*), value)
    }
}

impl Cx<'_> {
    /// A runtime kernel of one argument: `rt::path(dst, a, extra…);`.
    pub(crate) fn kernel(&self, id: NodeId, path: TokenStream, extra: TokenStream) -> TokenStream {
        let rt = &self.rt;
        let (dst, a) = (self.write(id), self.read(self.g.node(id).args[0]));
        quote!(#rt::#path(#dst, #a #extra);)
    }

    /// The columns per example of a batched value (the column count of a fixed one).
    pub(crate) fn cols_per_example(&self, id: NodeId) -> usize {
        match self.g.node(id).shape.cols {
            Cols::Batch(per) | Cols::Fixed(per) => per,
        }
    }
}
