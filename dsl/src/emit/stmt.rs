//! Statements: the code of each node that owns a buffer — a runtime kernel call (GEMM with
//! transposes as flags and a constant scale as its α, or the straight-line product the plan
//! chose for a tiny one; reductions, softmax, label picking) or
//! an element-wise loop — and a whole step, every statement then the gradients copied into
//! `grads`.

use super::cx::{Cx, Mode};
use crate::ir::{Cols, NodeId, Op};
use crate::opt::plan::Tiny;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

impl Cx<'_> {
    /// For a product read only by a loop that multiplies or divides it by a constant (and
    /// nothing else), with no statement in between: that loop's node and the factor.
    pub(super) fn scaled_product(&self, id: NodeId) -> Option<(NodeId, f64)> {
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
    pub(super) fn sum_in_producer(&self, id: NodeId) -> bool {
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

    /// The statement computing node `id` into its buffer.
    pub(super) fn stmt(&self, id: NodeId) -> TokenStream {
        let n = self.g.node(id);
        // Computed inside its fusion group's loop, or read directly (inputs, constants).
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
        let dst = self.write(id);
        let body = match n.op {
            Op::MatMul { ta, tb } => self.product(id, ta, tb),
            Op::ExampleMatMul { ta, tb } => self.example_product(id, ta, tb),
            Op::ExampleTranspose => {
                let per = self.cols_per_example(n.args[0]);
                self.kernel(id, quote!(layout::transpose_per_example), quote!(, #per))
            }
            Op::SumExamples => self.kernel(id, quote!(reduce::sum_examples), quote!()),
            Op::TileExamples => self.kernel(id, quote!(layout::tile_examples), quote!()),
            Op::ExampleCol(k) => {
                let (k, per) = (k as usize, self.cols_per_example(n.args[0]));
                self.kernel(id, quote!(layout::example_col), quote!(, #k, #per))
            }
            Op::PlaceExampleCol { k, n: per } => {
                let (k, per) = (k as usize, per as usize);
                self.kernel(id, quote!(layout::place_example_col), quote!(, #k, #per))
            }
            Op::Conv(c) => {
                let n = self.g.node(id);
                let (a, b) = (self.read(n.args[0]), self.read(n.args[1]));
                let s = self.conv_scratch();
                super::conv::stmt(&self.rt, dst, (a, b), quote!(ws.#s.as_mut()), c)
            }
            Op::MaxPool(p) => {
                let n = self.g.node(id);
                let (a, b) = (self.read(n.args[0]), self.read(n.args[1]));
                let rt = &self.rt;
                let f = match p.part {
                    crate::ir::pool::PoolPart::Pick => quote!(max_pool_pick),
                    crate::ir::pool::PoolPart::Place => quote!(max_pool_place),
                };
                let layout = match p.image {
                    None => quote!(#rt::pool::Layout::Image),
                    Some([h, w]) => {
                        let (h, w) = (h as usize, w as usize);
                        quote!(#rt::pool::Layout::Channels { h: #h, w: #w })
                    }
                };
                quote!(#rt::pool::#f(#dst, #a, #b, #layout);)
            }
            Op::Reshape { .. } => self.kernel(id, quote!(layout::reshape), quote!()),
            Op::Diag => self.kernel(id, quote!(layout::diag), quote!()),
            Op::DiagPart => self.kernel(id, quote!(layout::diag_part), quote!()),
            Op::Softmask => {
                let m = self.read(n.args[1]);
                self.kernel(id, quote!(reduce::softmask_cols), quote!(, #m))
            }
            Op::MaxNe(p) => {
                let rt = &self.rt;
                let [h, a, x] = [0, 1, 2].map(|k| self.read(n.args[k]));
                let f = match p {
                    crate::ir::pool::PoolPart::Pick => quote!(max_ne_pick),
                    crate::ir::pool::PoolPart::Place => quote!(max_ne_place),
                };
                quote!(#rt::extreme::#f(#dst, #h, #a, #x);)
            }
            Op::Table(k) => self.table_stmt(id, k as usize),
            Op::SumRows => self.kernel(id, quote!(reduce::sum_rows), quote!()),
            // A bias gradient: summed inside the loop that computes its argument.
            Op::SumCols if self.sum_in_producer(id) => return TokenStream::new(),
            // A sum whose argument's loop the plan fused into it.
            Op::SumCols if self.plan.fused_into[n.args[0].index()] == Some(id) => {
                self.element_loop(id)
            }
            Op::SumCols => self.kernel(id, quote!(reduce::sum_cols), quote!()),
            Op::SumExampleCols => {
                let per = self.cols_per_example(n.args[0]);
                self.kernel(id, quote!(reduce::sum_example_cols), quote!(, #per))
            }
            Op::Softmax => self.kernel(id, quote!(reduce::softmax_cols), quote!()),
            Op::LogSumExp => self.kernel(id, quote!(reduce::logsumexp_cols), quote!()),
            Op::PlaceRow { k, .. } => {
                let k = k as usize;
                self.kernel(id, quote!(layout::place_row), quote!(, #k))
            }
            Op::ConcatRows => self.concat_rows(id),
            Op::SliceRows { start, rows } => self.slice_rows(id, start, rows),
            Op::Row(k) => self.row_stmt(id, k as usize),
            Op::BatchStat { slot } => self.batch_stat_stmt(id, slot as usize),
            Op::Transpose => self.transpose_stmt(id),
            Op::PickLabel { lo } => self.pick_label_stmt(id, lo as usize),
            Op::OneHot { rows, lo } => self.one_hot_stmt(id, rows as usize, lo as usize),
            Op::Const(c) => {
                let v = c.0;
                quote!(#dst.fill(T::from_f64(#v));)
            }
            Op::Identity => quote! {
                let mut dst = #dst;
                dst.fill(T::ZERO);
                for k in 0..dst.nrows() {
                    dst[(k, k)] = T::ONE;
                }
            },
            Op::Input(_) | Op::Param(_) => return TokenStream::new(),
            // An element-wise root: one loop over its fusion group, column by column, on
            // slices whose length is the (constant) row count, so the inner loop carries no
            // bounds checks.
            Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Unary(_)
            | Op::Broadcast
            | Op::Extreme(_)
            | Op::StopGradient => self.element_loop(id),
        };
        let comment = self.comment(id);
        quote!({ #comment #body })
    }

    /// `op(a) op(b)` into its buffer: one GEMM, or the straight-line form the plan chose for
    /// a tiny product (`runtime::tiny`). When the product's only reader scales it by a
    /// constant, the scale is the product's α, written straight into the reader's buffer.
    fn product(&self, id: NodeId, ta: bool, tb: bool) -> TokenStream {
        let rt = &self.rt;
        let n = self.g.node(id);
        let (a, b) = (self.read(n.args[0]), self.read(n.args[1]));
        let (dst, alpha) = match self.scaled_product(id) {
            Some((u, alpha)) => (self.write(u), Some(alpha)),
            None => (self.write(id), None),
        };
        let alpha_t = match alpha {
            Some(alpha) => quote!(T::from_f64(#alpha)),
            None => quote!(T::ONE),
        };
        match (self.plan.tiny[id.index()], alpha) {
            (Some(Tiny::Cols { m, k }), _) => {
                let (m, k) = (Literal::usize_unsuffixed(m), Literal::usize_unsuffixed(k));
                quote!(#rt::tiny::cols::<T, #m, #k>(#dst, #a, #b, #ta, #tb, #alpha_t);)
            }
            (Some(Tiny::Inner { m, n }), _) => {
                let (m, n) = (Literal::usize_unsuffixed(m), Literal::usize_unsuffixed(n));
                quote!(#rt::tiny::inner::<T, #m, #n>(#dst, #a, #b, #ta, #tb, #alpha_t);)
            }
            (None, Some(_)) => {
                quote!(#rt::gemm::gemm_scaled(#dst, #a, #b, #ta, #tb, false, #alpha_t);)
            }
            (None, None) => quote!(#rt::gemm(#dst, #a, #b, #ta, #tb, false);),
        }
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
    /// A product per example: one GEMM per example on the operands' contiguous column blocks
    /// (`runtime::gemm::gemm_per_example`), with the scale of a scaled product as its α.
    fn example_product(&self, id: NodeId, ta: bool, tb: bool) -> TokenStream {
        let rt = &self.rt;
        let n = self.g.node(id);
        let (a, b) = (self.read(n.args[0]), self.read(n.args[1]));
        // Columns per example; 0 for a fixed operand, shared by every example.
        let per = |k: usize| match self.g.node(n.args[k]).shape.cols {
            Cols::Batch(per) => per,
            Cols::Fixed(_) => 0,
        };
        let (pa, pb) = (per(0), per(1));
        let (dst, alpha) = match self.scaled_product(id) {
            Some((u, alpha)) => (self.write(u), quote!(T::from_f64(#alpha))),
            None => (self.write(id), quote!(T::ONE)),
        };
        quote!(#rt::gemm::gemm_per_example(#dst, #a, #pa, #b, #pb, #ta, #tb, #alpha);)
    }

    /// A runtime kernel of one argument: `rt::path(dst, a, extra…);`.
    fn kernel(&self, id: NodeId, path: TokenStream, extra: TokenStream) -> TokenStream {
        let rt = &self.rt;
        let (dst, a) = (self.write(id), self.read(self.g.node(id).args[0]));
        quote!(#rt::#path(#dst, #a #extra);)
    }

    /// The columns per example of a batched value (the column count of a fixed one).
    fn cols_per_example(&self, id: NodeId) -> usize {
        match self.g.node(id).shape.cols {
            Cols::Batch(per) | Cols::Fixed(per) => per,
        }
    }
}

impl Cx<'_> {
    /// `Row(k)`: row `k` of the argument.
    /// A statistic over the batch with a running value (`m_h`, `s_h` of eq. 11.7): in
    /// training mode the batch's (recorded into `grads`' running value when the step keeps
    /// it), in evaluation mode the model's running value.
    fn batch_stat_stmt(&self, id: NodeId, slot: usize) -> TokenStream {
        let dst = self.write(id);
        let field = &self.stats[slot];
        let a = self.read(self.g.node(id).args[0]);
        match self.mode.get() {
            Mode::Eval => quote!(#dst.copy_from(&self.#field);),
            Mode::Training => quote!(#dst.copy_from(#a);),
            Mode::Recording => quote! {
                #dst.copy_from(#a);
                grads.#field.copy_from(#a);
            },
        }
    }

    fn row_stmt(&self, id: NodeId, k: usize) -> TokenStream {
        let (dst, a) = (self.write(id), self.read(self.g.node(id).args[0]));
        quote! {
            let src = #a;
            let mut dst = #dst;
            for j in 0..dst.ncols() {
                dst[(0, j)] = src[(#k, j)];
            }
        }
    }

    /// `Table(k)`: the constant's numbers, column by column, written into its buffer.
    fn table_stmt(&self, id: NodeId, k: usize) -> TokenStream {
        let dst = self.write(id);
        let numbers = self.g.tables.get(k).map_or(&[][..], Vec::as_slice);
        let len = numbers.len();
        quote! {
            const TABLE: [f64; #len] = [#(#numbers),*];
            let mut dst = #dst;
            let rows = dst.nrows();
            for j in 0..dst.ncols() {
                for r in 0..rows {
                    dst[(r, j)] = T::from_f64(TABLE[j * rows + r]);
                }
            }
        }
    }

    /// `Transpose` of a fixed matrix.
    fn transpose_stmt(&self, id: NodeId) -> TokenStream {
        let (dst, a) = (self.write(id), self.read(self.g.node(id).args[0]));
        quote! {
            let src = #a;
            let mut dst = #dst;
            for j in 0..dst.ncols() {
                for r in 0..dst.nrows() {
                    dst[(r, j)] = src[(j, r)];
                }
            }
        }
    }

    /// `PickLabel`: each column's entry at its label, a label out of range a `StepError`.
    fn pick_label_stmt(&self, id: NodeId, lo: usize) -> TokenStream {
        let rt = &self.rt;
        let n = self.g.node(id);
        let (dst, x) = (self.write(id), self.read(n.args[0]));
        let y = self.labels(n.args[1]);
        let rows = self.g.shape(n.args[0]).rows;
        quote! {
            let src = #x;
            let mut dst = #dst;
            for j in 0..dst.ncols() {
                let k = #y[j].wrapping_sub(#lo);
                if k >= #rows {
                    return Err(#rt::StepError::Label { column: j, value: #y[j], lo: #lo, classes: #rows });
                }
                dst[(0, j)] = src[(k, j)];
            }
        }
    }

    /// `OneHot`: the one-hot columns of the labels, a label out of range a `StepError`.
    fn one_hot_stmt(&self, id: NodeId, rows: usize, lo: usize) -> TokenStream {
        let rt = &self.rt;
        let dst = self.write(id);
        let y = self.labels(self.g.node(id).args[0]);
        quote! {
            let mut dst = #dst;
            dst.fill(T::ZERO);
            for j in 0..dst.ncols() {
                let k = #y[j].wrapping_sub(#lo);
                if k >= #rows {
                    return Err(#rt::StepError::Label { column: j, value: #y[j], lo: #lo, classes: #rows });
                }
                dst[(k, j)] = T::ONE;
            }
        }
    }
}
