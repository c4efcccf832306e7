//! Element-wise loops: one loop per fusion group of the plan, column by column over slices
//! of the owned matrices, whose element expression reads the group's leaves with
//! broadcasting by shape (and may write the buffer of a leaf it reads for the last time).
//! Each fused op's own expression is its family's (`ir::op::elem`); this module reads the
//! leaves and writes the loop.

use super::cx::{Cx, cols_tokens};
use crate::ir::{Cols, NodeId, Op};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

impl Cx<'_> {
    /// The element `(r, j)` of a node inside a fused loop; leaves are read through the
    /// local views bound before the loop, and broadcast by their own shape.
    pub(crate) fn elem(&self, id: NodeId, leaves: &mut Vec<NodeId>) -> TokenStream {
        let n = self.g.node(id);
        if let Op::Const(c) = n.op {
            let v = c.0;
            return quote!(T::from_f64(#v));
        }
        if self.plan.fused_into[id.index()].is_none() {
            // Read from memory, broadcast by its own shape.
            if !leaves.contains(&id) {
                leaves.push(id);
            }
            let v = self.local(id);
            if self.reads_in_place(id) {
                return if self.row_buffer(id) {
                    quote!(dst[j])
                } else {
                    quote!(dst[r])
                };
            }
            if self.row_buffer(id) {
                let vc = format_ident!("{v}_c");
                let j = self.example_col(n.shape.cols);
                return quote!(#vc[#j]);
            }
            if self.sliced(id) {
                let vc = format_ident!("{v}_c");
                return if n.shape.rows == 1 {
                    quote!(#vc[0])
                } else {
                    quote!(#vc[r])
                };
            }
            // Class labels used as numbers (`1 - y_i` with `y ∈ {0, 1}`).
            if let Op::Input(k) = n.op
                && self.g.inputs[k as usize].labels.is_some()
            {
                return quote!(T::from_f64(#v[j] as f64));
            }
            let r = if n.shape.rows == 1 {
                quote!(0)
            } else {
                quote!(r)
            };
            let j = self.example_col(n.shape.cols);
            return quote!(#v[(#r, #j)]);
        }
        self.elem_root(id, leaves)
    }

    /// Whether the loop being emitted reads this leaf from its own destination buffer.
    fn reads_in_place(&self, id: NodeId) -> bool {
        let n = self.g.node(id);
        !matches!(n.op, Op::Input(_) | Op::Param(_) | Op::StopGradient)
            && self.grad_of[id.index()].is_none()
            && self.plan.buffer[id.index()].is_some()
            && self.plan.buffer[id.index()] == self.in_place.get()
    }

    /// An element-wise root: one loop over its fusion group, column by column, on slices
    /// whose length is the (constant) row count, so the inner loop carries no bounds checks;
    /// bias gradients that sum its value over the batch are accumulated in the same loop.
    ///
    /// The root may also be a sum over the batch (`SumCols`) whose argument's group the plan
    /// fused into it: then the loop runs over the argument and only accumulates the sum.
    pub(crate) fn element_loop(&self, id: NodeId) -> TokenStream {
        let n = self.g.node(id);
        let sum = n.op == Op::SumCols;
        debug_assert!(
            sum || n.op.is_elementwise(),
            "{:?} in an element-wise loop",
            n.op
        );
        let shape = if sum {
            self.g.node(n.args[0]).shape
        } else {
            n.shape
        };
        let mut leaves = Vec::new();
        self.in_place
            .set(if self.grad_of[id.index()].is_none() && !sum {
                self.plan.buffer[id.index()]
            } else {
                None
            });
        self.loop_cols.set(shape.cols);
        let e = if sum {
            self.elem(n.args[0], &mut leaves)
        } else {
            self.elem_root(id, &mut leaves)
        };
        let leaves: Vec<NodeId> = leaves
            .into_iter()
            .filter(|l| !self.reads_in_place(*l))
            .collect();
        self.in_place.set(None);
        let (rows, cols) = (shape.rows, shape.cols);
        let [binds, rowwise, slices] = self.leaf_views(&leaves);
        let d = self.owner(id);
        let ncols = cols_tokens(cols);
        if sum {
            return sum_loop(&d, (rows, cols), e, [binds, rowwise, slices]);
        }
        // Gradients that sum this value over the batch (a bias's), accumulated as
        // it is computed.
        // Only outputs are written into `grads`: look among them, not the whole graph.
        let mut later: Vec<usize> = (self.g.outputs.iter())
            .map(|(_, o)| o.index())
            .filter(|&u| u > id.index())
            .collect();
        later.sort_unstable();
        later.dedup();
        let sums: Vec<(Ident, Ident, TokenStream)> = (later.into_iter())
            .map(|u| NodeId(u as u32))
            .filter(|&u| {
                self.g.node(u).args.first() == Some(&id) && self.plan.summed_in_producer[u.index()]
            })
            .enumerate()
            .filter_map(|(k, u)| {
                let f = self.grad_of[u.index()].clone()?;
                Some((f, format_ident!("acc{k}"), self.comment(u)))
            })
            .collect();
        let zero = sums
            .iter()
            .map(|(f, _, c)| quote!(#c grads.#f.fill(T::ZERO);));
        let accs = sums
            .iter()
            .map(|(f, a, _)| quote!(let #a = &mut grads.#f.col_as_slice_mut(0)[..#rows];));
        let adds: Vec<TokenStream> = sums.iter().map(|(_, a, _)| quote!(#a[r] += v;)).collect();
        let assign = if adds.is_empty() {
            quote!(dst[r] = #e;)
        } else {
            quote! {
                let v = #e;
                dst[r] = v;
                #(#adds)*
            }
        };
        if self.row_buffer(id) {
            // One number per example: one loop over the batch.
            let adds = sums.iter().map(|(_, a, _)| quote!(#a[0] += v;));
            let assign = if sums.is_empty() {
                quote!(dst[j] = #e;)
            } else {
                quote! {
                    let v = #e;
                    dst[j] = v;
                    #(#adds)*
                }
            };
            quote! {
                #(#binds)*
                #(#zero)*
                #(#rowwise)*
                #(#slices)*
                #(#accs)*
                let dst = &mut #d.col_as_slice_mut(0)[..batch];
                for j in 0..batch {
                    #assign
                }
            }
        } else {
            quote! {
                #(#binds)*
                #(#zero)*
                #(#rowwise)*
                for j in 0..#ncols {
                    #(#slices)*
                    #(#accs)*
                    let dst = &mut #d.col_as_slice_mut(j)[..#rows];
                    for r in 0..#rows {
                        #assign
                    }
                }
            }
        }
    }

    /// How a loop reads its leaves: views bound before the loop (caller inputs), whole-batch
    /// slices of per-example numbers bound once, and column slices bound per column.
    fn leaf_views(&self, leaves: &[NodeId]) -> [Vec<TokenStream>; 3] {
        let binds = leaves.iter().filter(|l| !self.sliced(**l)).map(|l| {
            let v = self.local(*l);
            let r = self.read(*l);
            quote!(let #v = #r;)
        });
        // Per-example numbers: the whole batch as one slice, bound once.
        let rowwise = leaves.iter().filter(|l| self.row_buffer(**l)).map(|l| {
            let vc = format_ident!("{}_c", self.local(*l));
            let owner = self.owner(*l);
            quote!(let #vc = &#owner.col_as_slice(0)[..batch];)
        });
        let slices = leaves
            .iter()
            .filter(|l| self.sliced(**l) && !self.row_buffer(**l))
            .map(|l| {
                let vc = format_ident!("{}_c", self.local(*l));
                let owner = self.owner(*l);
                let ln = self.g.node(*l);
                let j = self.example_col(ln.shape.cols);
                let len = ln.shape.rows;
                quote!(let #vc = &#owner.col_as_slice(#j)[..#len];)
            });
        [binds.collect(), rowwise.collect(), slices.collect()]
    }

    /// The root of a fusion group: its own op over its arguments (fused or read), its
    /// family's element expression (`ir::op::elem`).
    fn elem_root(&self, id: NodeId, leaves: &mut Vec<NodeId>) -> TokenStream {
        crate::ir::op::elem(self, id, leaves)
    }
}

/// The loop of a sum over the batch rooting its argument's group: it accumulates the element
/// expression `e` into the sum's one column `acc` (of the owned matrix `d`) and stores nothing
/// else; one number per example is one loop over the batch.
fn sum_loop(
    d: &TokenStream,
    (rows, cols): (usize, Cols),
    e: TokenStream,
    [binds, rowwise, slices]: [Vec<TokenStream>; 3],
) -> TokenStream {
    let body = if rows == 1 && cols == Cols::EXAMPLE {
        quote!(#(#slices)* for j in 0..batch { acc[0] += #e; })
    } else {
        let ncols = cols_tokens(cols);
        quote!(for j in 0..#ncols { #(#slices)* for r in 0..#rows { acc[r] += #e; } })
    };
    quote! {
        #(#binds)*
        #(#rowwise)*
        let acc = &mut #d.col_as_slice_mut(0)[..#rows];
        acc.fill(T::ZERO);
        #body
    }
}
