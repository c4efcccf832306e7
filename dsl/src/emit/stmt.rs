//! Statements: the code of each node that owns a buffer — its family's statement
//! (`ir::op::stmt`: a runtime kernel call, a product with its scale, or an element-wise loop)
//! behind the spec line it implements — and a whole step, every statement then the gradients
//! copied into `grads`; the helpers the families' statements share (`kernel`, a product read
//! only by a scaling, a bias gradient summed inside its argument's loop).

use super::cx::{Cx, Mode};
use crate::ir::{Cols, NodeId, Op};
use proc_macro2::TokenStream;
use quote::quote;

impl Cx<'_> {
    /// For a product read only by a loop that multiplies or divides it by a constant (and
    /// nothing else), with no statement in between: that loop's node and the factor.
    pub(crate) fn scaled_product(&self, id: NodeId) -> Option<(NodeId, f64)> {
        let g = self.g;
        if !matches!(g.node(id).op, Op::MatMul { .. } | Op::ExampleMatMul { .. })
            || g.outputs.iter().any(|(_, o)| *o == id)
        {
            return None;
        }
        let mut users = (id.index() + 1..g.nodes.len()).filter(|&u| g.nodes[u].args.contains(&id));
        let u = users.next()?;
        if users.next().is_some() {
            return None;
        }
        let un = &g.nodes[u];
        let constant = |k: usize| match g.node(un.args[k]).op {
            Op::Const(c) => Some(c.0),
            _ => None,
        };
        let alpha = match un.op {
            Op::Mul if un.args[0] == id => constant(1)?,
            Op::Mul if un.args[1] == id => constant(0)?,
            Op::Div if un.args[0] == id && un.args[1] != id => 1.0 / constant(1)?,
            _ => return None,
        };
        let u = NodeId(u as u32);
        let stored = self.plan.buffer[u.index()].is_some() || self.grad_of[u.index()].is_some();
        // Nothing is written between the product and its scaling, and the scaling's loop
        // carries no accumulated sum.
        let quiet = (id.index() + 1..u.index()).all(|i| {
            self.plan.fused_into[i].is_some()
                || self.plan.buffer[i].is_none() && self.grad_of[i].is_none()
        });
        let sums = (u.index() + 1..g.nodes.len())
            .any(|v| g.nodes[v].args.first() == Some(&u) && self.sum_in_producer(NodeId(v as u32)));
        (stored
            && self.plan.fused_into[u.index()].is_none()
            && g.node(u).shape == g.node(id).shape
            && quiet
            && !sums)
            .then_some((u, alpha))
    }

    /// Whether a sum over the batch (`SumCols`) is a gradient written into `grads` whose
    /// argument is the root of a batched element-wise loop: then that loop accumulates it.
    pub(crate) fn sum_in_producer(&self, id: NodeId) -> bool {
        let n = self.g.node(id);
        if n.op != Op::SumCols || self.grad_of[id.index()].is_none() {
            return false;
        }
        let a = n.args[0];
        let an = self.g.node(a);
        let elementwise = matches!(
            an.op,
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Unary(_) | Op::Broadcast
        );
        elementwise
            && an.shape.cols.is_batch()
            && self.plan.fused_into[a.index()].is_none()
            && self.plan.buffer[a.index()].is_some()
            && self.grad_of[a.index()].is_none()
    }

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
            && self.scaled_product(p).is_some_and(|(u, _)| u == id)
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
