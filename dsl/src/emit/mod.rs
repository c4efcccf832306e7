//! Rust emission: an optimised training graph → Rust tokens for a model type.
//!
//! For each model of a file, [`expand`] generates a type generic over the scalar
//! (`DeepNet<T>` for `f32` and `f64`) whose fields are the parameters as faer matrices named
//! after the spec (`beta_0`, `omega_0`), a workspace type holding every buffer of the memory
//! plan, and straight-line `forward` / `loss_and_grad` bodies that call the `nnspec-runtime`
//! kernels: GEMMs with transposes as views, one loop per fusion group, no allocation once the
//! workspace exists. Class labels are passed as `&[usize]`.

mod docs;
mod names;

use crate::check::Options as CheckOptions;
use crate::ir::{Cols, Graph, Init, NodeId, Op, Shape, Unary};
use crate::opt::plan::{self, Plan};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// What to expand and how to name the runtime.
#[derive(Clone, Debug)]
pub struct Options {
    /// The path generated code uses for the facade crate (`::nnspec`); its `__private`
    /// module re-exports the runtime and faer.
    pub krate: TokenStream,
    /// Only this model (default: every model of the file that can be compiled).
    pub model: Option<String>,
    /// Hyper-parameter overrides, as for checking.
    pub check: CheckOptions,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            krate: quote!(::nnspec),
            model: None,
            check: CheckOptions::default(),
        }
    }
}

/// Checks, lowers, optimises and emits `src`. On failure, the rendered diagnostics (rustc
/// style, naming `path:line:col`), ready for `compile_error!`.
pub fn expand(src: &str, path: &str, opts: &Options) -> Result<TokenStream, String> {
    let checked =
        crate::check_source(src, &opts.check).map_err(|d| crate::diag::render(&d, path, src))?;
    let mut out = TokenStream::new();
    let mut found = false;
    for (info, graph) in checked.info.models.iter().zip(&checked.graphs) {
        if opts.model.as_ref().is_some_and(|m| *m != info.name) {
            continue;
        }
        let Some(graph) = graph else {
            if opts.model.is_some() {
                return Err(format!(
                    "error: model `{}` in {path} has hyper-parameters without values; give them defaults or override them",
                    info.name
                ));
            }
            continue;
        };
        found = true;
        let train = crate::training_graph(graph)
            .map_err(|e| format!("error: internal compiler error in {path}: {e}"))?;
        let source = Source::new(src, path.rsplit('/').next().unwrap_or(path));
        // With several losses (GAN, eq. 15.5), each also gets a step of its own.
        let mut per_loss = Vec::new();
        if graph.losses.len() > 1 {
            let fwd = crate::opt::optimize(graph)
                .map_err(|e| format!("error: internal compiler error in {path}: {e}"))?;
            for loss in &graph.losses {
                let g = crate::ad::grad(&fwd, &loss.name, &loss.wrt)
                    .and_then(|g| crate::opt::optimize(&g))
                    .map_err(|e| format!("error: internal compiler error in {path}: {e}"))?;
                per_loss.push((loss.name.clone(), g));
            }
        }
        out.extend(model(&train, &opts.krate, &source, &per_loss));
    }
    if !found {
        return Err(match &opts.model {
            Some(m) => format!("error: no model `{m}` in {path}"),
            None => format!(
                "error: no model in {path} can be compiled (every hyper-parameter needs a value)"
            ),
        });
    }
    Ok(out)
}

/// How generated code reads a node's value.
struct Cx<'g> {
    g: &'g Graph,
    plan: Plan,
    rt: TokenStream,
    /// Per node: the spec line it implements, for the comment above its statement.
    comments: Vec<Option<String>>,
    /// Per node: the name of its local view inside loops.
    locals: Vec<Ident>,
    /// Per forward node: the spec quantity it computes and its line, for messages.
    places: Vec<Option<String>>,
    /// Per node: the parameter field whose gradient it is, when the step writes it straight
    /// into `grads` (rather than into a workspace buffer copied at the end).
    grad_of: Vec<Option<Ident>>,
    /// While a loop is emitted: the buffer it writes, which a leaf it reads may share (the
    /// loop then reads that leaf from `dst` itself, element by element).
    in_place: std::cell::Cell<Option<usize>>,
    /// The column count of the element-wise loop being emitted (its `j` runs over it).
    loop_cols: std::cell::Cell<Cols>,
    /// The prefix of this graph's workspace buffers (`b`, or `l1_b` for a per-loss step).
    prefix: String,
    params: Vec<Ident>,
    inputs: Vec<Ident>,
}

impl Cx<'_> {
    /// A `MatRef` expression for a node with a value outside any loop.
    fn read(&self, id: NodeId) -> TokenStream {
        let n = self.g.node(id);
        match n.op {
            Op::Input(k) => {
                let x = &self.inputs[k as usize];
                quote!(#x)
            }
            Op::Param(k) => {
                let p = &self.params[k as usize];
                quote!(self.#p.as_ref())
            }
            // A frozen copy is the value itself; only the gradient treats it differently.
            Op::StopGradient => self.read(n.args[0]),
            _ if self.grad_of[id.index()].is_some() => {
                let f = &self.grad_of[id.index()];
                quote!(grads.#f.as_ref())
            }
            _ => match self.plan.buffer[id.index()] {
                Some(b) => {
                    let whole = self.plan.buffers[b].0 == n.shape.rows;
                    let b = format_ident!("{}{b}", self.prefix);
                    let rows = n.shape.rows;
                    let cols = cols_tokens(n.shape.cols);
                    match n.shape.cols {
                        Cols::EXAMPLE if rows == 1 => {
                            quote!(ws.#b.as_ref().subrows(0, batch).transpose())
                        }
                        Cols::Batch(_) if whole => quote!(ws.#b.as_ref().subcols(0, #cols)),
                        Cols::Batch(_) => {
                            quote!(ws.#b.as_ref().subrows(0, #rows).subcols(0, #cols))
                        }
                        Cols::Fixed(_) if whole => quote!(ws.#b.as_ref()),
                        Cols::Fixed(_) => quote!(ws.#b.as_ref().subrows(0, #rows)),
                    }
                }
                None => quote!(compile_error!("internal: a value with no buffer")),
            },
        }
    }

    /// A `MatMut` expression for the buffer of a node.
    fn write(&self, id: NodeId) -> TokenStream {
        if let Some(f) = &self.grad_of[id.index()] {
            return quote!(grads.#f.as_mut());
        }
        let index = self.plan.buffer[id.index()].unwrap_or(usize::MAX);
        let b = format_ident!("{}{index}", self.prefix);
        let rows = self.g.node(id).shape.rows;
        let whole = self.plan.buffers.get(index).is_some_and(|b| b.0 == rows);
        let shape_cols = self.g.node(id).shape.cols;
        let cols = cols_tokens(shape_cols);
        match shape_cols {
            Cols::EXAMPLE if rows == 1 => {
                quote!(ws.#b.as_mut().subrows_mut(0, batch).transpose_mut())
            }
            Cols::Batch(_) if whole => quote!(ws.#b.as_mut().subcols_mut(0, #cols)),
            Cols::Batch(_) => {
                quote!(ws.#b.as_mut().subrows_mut(0, #rows).subcols_mut(0, #cols))
            }
            Cols::Fixed(_) if whole => quote!(ws.#b.as_mut()),
            Cols::Fixed(_) => quote!(ws.#b.as_mut().subrows_mut(0, #rows)),
        }
    }

    /// Whether a value is one number per example held in a workspace buffer: such buffers
    /// are stored as a `B × 1` column (contiguous, unpadded) and read as its `1 × B`
    /// transpose.
    fn row_buffer(&self, id: NodeId) -> bool {
        let n = self.g.node(id);
        match n.op {
            Op::Input(_) | Op::Param(_) | Op::Const(_) => false,
            Op::StopGradient => self.row_buffer(n.args[0]),
            _ => {
                n.shape.rows == 1
                    && n.shape.cols == Cols::EXAMPLE
                    && self.grad_of[id.index()].is_none()
                    && self.plan.buffer[id.index()].is_some()
            }
        }
    }

    /// The element `(r, j)` of a node inside a fused loop; leaves are read through the
    /// local views bound before the loop, and broadcast by their own shape.
    fn elem(&self, id: NodeId, leaves: &mut Vec<NodeId>) -> TokenStream {
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

    /// The column a leaf of this column count is read at in the current loop, whose index is
    /// `j`: its only column, the loop's, or its example's (a value per example read in a loop
    /// over the `N` columns of each example: column `j / N`).
    fn example_col(&self, cols: Cols) -> TokenStream {
        match (cols, self.loop_cols.get()) {
            (Cols::Fixed(1), _) => quote!(0),
            (Cols::EXAMPLE, Cols::Batch(n)) if n > 1 => quote!((j / #n)),
            _ => quote!(j),
        }
    }

    /// Whether a loop reads this value through column slices of an owned matrix (a parameter
    /// or a workspace buffer) rather than by checked indexing (inputs, which are caller views
    /// of any layout).
    fn sliced(&self, id: NodeId) -> bool {
        match self.g.node(id).op {
            Op::Input(_) => false,
            Op::Param(_) => true,
            Op::StopGradient => self.sliced(self.g.node(id).args[0]),
            _ => self.plan.buffer[id.index()].is_some() || self.grad_of[id.index()].is_some(),
        }
    }

    /// For a product read only by a loop that multiplies or divides it by a constant (and
    /// nothing else), with no statement in between: that loop's node and the factor.
    fn scaled_product(&self, id: NodeId) -> Option<(NodeId, f64)> {
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

    /// Whether the loop being emitted reads this leaf from its own destination buffer.
    fn reads_in_place(&self, id: NodeId) -> bool {
        let n = self.g.node(id);
        !matches!(n.op, Op::Input(_) | Op::Param(_) | Op::StopGradient)
            && self.grad_of[id.index()].is_none()
            && self.plan.buffer[id.index()].is_some()
            && self.plan.buffer[id.index()] == self.in_place.get()
    }

    /// Whether a sum over the batch (`SumCols`) is a gradient written into `grads` whose
    /// argument is the root of a batched element-wise loop: then that loop accumulates it.
    fn sum_in_producer(&self, id: NodeId) -> bool {
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

    /// The owned matrix holding a parameter or a buffered value (`self.omega_0`, `ws.b3`).
    fn owner(&self, id: NodeId) -> TokenStream {
        let n = self.g.node(id);
        match n.op {
            Op::Param(k) => {
                let p = &self.params[k as usize];
                quote!(self.#p)
            }
            Op::StopGradient => self.owner(n.args[0]),
            _ if self.grad_of[id.index()].is_some() => {
                let f = &self.grad_of[id.index()];
                quote!(grads.#f)
            }
            _ => {
                let b = format_ident!(
                    "{}{}",
                    self.prefix,
                    self.plan.buffer[id.index()].unwrap_or(usize::MAX)
                );
                quote!(ws.#b)
            }
        }
    }

    /// The local name of a value read in a loop: the spec's name (`h_1`, `d_h_1`), else `v12`.
    fn local(&self, id: NodeId) -> Ident {
        self.locals[id.index()].clone()
    }

    fn unary(&self, u: Unary, a: TokenStream) -> TokenStream {
        unary_call(&self.rt, u, a)
    }

    /// The statement computing node `id` into its buffer.
    fn stmt(&self, id: NodeId) -> TokenStream {
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
        let rt = &self.rt;
        let dst = self.write(id);
        let arg = |k: usize| self.read(n.args[k]);
        let body = match n.op {
            Op::MatMul { ta, tb } => self.product(id, ta, tb),
            Op::ExampleMatMul { .. }
            | Op::ExampleTranspose
            | Op::SumExamples
            | Op::TileExamples
            | Op::ExampleCol(_)
            | Op::PlaceExampleCol { .. } => self.per_example_stmt(id),
            Op::SumRows => {
                let a = arg(0);
                quote!(#rt::reduce::sum_rows(#dst, #a);)
            }
            // A bias gradient: summed inside the loop that computes its argument.
            Op::SumCols if self.sum_in_producer(id) => return TokenStream::new(),
            Op::SumCols => {
                let a = arg(0);
                quote!(#rt::reduce::sum_cols(#dst, #a);)
            }
            Op::SumExampleCols => {
                let a = arg(0);
                let per = match self.g.node(n.args[0]).shape.cols {
                    Cols::Batch(per) | Cols::Fixed(per) => per,
                };
                quote!(#rt::reduce::sum_example_cols(#dst, #a, #per);)
            }
            Op::Softmax => {
                let a = arg(0);
                quote!(#rt::reduce::softmax_cols(#dst, #a);)
            }
            Op::LogSumExp => {
                let a = arg(0);
                quote!(#rt::reduce::logsumexp_cols(#dst, #a);)
            }
            Op::PlaceRow { k, .. } => {
                let (a, k) = (arg(0), k as usize);
                quote!(#rt::layout::place_row(#dst, #a, #k);)
            }
            Op::Row(k) => {
                let (a, k) = (arg(0), k as usize);
                quote! {
                    let src = #a;
                    let mut dst = #dst;
                    for j in 0..dst.ncols() {
                        dst[(0, j)] = src[(#k, j)];
                    }
                }
            }
            Op::Transpose => {
                let a = arg(0);
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
            Op::PickLabel { lo } => {
                let x = arg(0);
                let y = self.labels(n.args[1]);
                let (lo, rows) = (lo as usize, self.g.shape(n.args[0]).rows);
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
            Op::OneHot { rows, lo } => {
                let y = self.labels(n.args[0]);
                let (lo, rows) = (lo as usize, rows as usize);
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
            Op::Const(c) => {
                let v = c.0;
                quote!(#dst.fill(T::from_f64(#v));)
            }
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
            | Op::StopGradient => self.element_loop(id),
        };
        let comment = self.comment(id);
        quote!({ #comment #body })
    }

    /// `op(a) op(b)` into its buffer, one GEMM. When the product's only reader scales it by a
    /// constant, the scale is the GEMM's α, written straight into the reader's buffer.
    fn product(&self, id: NodeId, ta: bool, tb: bool) -> TokenStream {
        let rt = &self.rt;
        let n = self.g.node(id);
        let (a, b) = (self.read(n.args[0]), self.read(n.args[1]));
        match self.scaled_product(id) {
            Some((u, alpha)) => {
                let dst = self.write(u);
                quote!(#rt::gemm::gemm_scaled(#dst, #a, #b, #ta, #tb, false, T::from_f64(#alpha));)
            }
            None => {
                let dst = self.write(id);
                quote!(#rt::gemm(#dst, #a, #b, #ta, #tb, false);)
            }
        }
    }

    /// The statement of an op that knows the columns of each example: a runtime kernel call
    /// on the owned matrices (one GEMM per example for a product).
    fn per_example_stmt(&self, id: NodeId) -> TokenStream {
        let rt = &self.rt;
        let n = self.g.node(id);
        let dst = self.write(id);
        let arg = |k: usize| self.read(n.args[k]);
        match n.op {
            Op::ExampleMatMul { ta, tb } => self.example_product(id, ta, tb),
            Op::ExampleTranspose => {
                let a = arg(0);
                let per = self.cols_per_example(n.args[0]);
                quote!(#rt::layout::transpose_per_example(#dst, #a, #per);)
            }
            Op::SumExamples => {
                let a = arg(0);
                quote!(#rt::reduce::sum_examples(#dst, #a);)
            }
            Op::TileExamples => {
                let a = arg(0);
                quote!(#rt::layout::tile_examples(#dst, #a);)
            }
            Op::ExampleCol(k) => {
                let (a, k) = (arg(0), k as usize);
                let per = self.cols_per_example(n.args[0]);
                quote!(#rt::layout::example_col(#dst, #a, #k, #per);)
            }
            Op::PlaceExampleCol { k, n: per } => {
                let (a, k, per) = (arg(0), k as usize, per as usize);
                quote!(#rt::layout::place_example_col(#dst, #a, #k, #per);)
            }
            _ => quote!(compile_error!("internal: not an op per example")),
        }
    }

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

    /// The columns per example of a batched value (the column count of a fixed one).
    fn cols_per_example(&self, id: NodeId) -> usize {
        match self.g.node(id).shape.cols {
            Cols::Batch(per) | Cols::Fixed(per) => per,
        }
    }

    /// An element-wise root: one loop over its fusion group, column by column, on slices
    /// whose length is the (constant) row count, so the inner loop carries no bounds checks;
    /// bias gradients that sum its value over the batch are accumulated in the same loop.
    fn element_loop(&self, id: NodeId) -> TokenStream {
        let n = self.g.node(id);
        debug_assert!(n.op.is_elementwise(), "{:?} in an element-wise loop", n.op);
        let mut leaves = Vec::new();
        self.in_place.set(if self.grad_of[id.index()].is_none() {
            self.plan.buffer[id.index()]
        } else {
            None
        });
        self.loop_cols.set(n.shape.cols);
        let e = self.elem_root(id, &mut leaves);
        let leaves: Vec<NodeId> = leaves
            .into_iter()
            .filter(|l| !self.reads_in_place(*l))
            .collect();
        self.in_place.set(None);
        let (rows, cols) = (n.shape.rows, n.shape.cols);
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
        let d = self.owner(id);
        let ncols = cols_tokens(cols);
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
            .filter(|&u| self.g.node(u).args.first() == Some(&id) && self.sum_in_producer(u))
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

    /// The root of a fusion group: its own op over its arguments (fused or read).
    fn elem_root(&self, id: NodeId, leaves: &mut Vec<NodeId>) -> TokenStream {
        let n = self.g.node(id);
        let sub = |k: usize, leaves: &mut Vec<NodeId>| self.elem(n.args[k], leaves);
        match n.op {
            Op::Add | Op::Sub | Op::Mul | Op::Div => {
                let a = sub(0, leaves);
                let b = sub(1, leaves);
                match n.op {
                    Op::Add => quote!((#a + #b)),
                    Op::Sub => quote!((#a - #b)),
                    Op::Mul => quote!((#a * #b)),
                    _ => quote!((#a / #b)),
                }
            }
            Op::Broadcast | Op::StopGradient => sub(0, leaves),
            Op::Unary(u) => {
                let a = sub(0, leaves);
                self.unary(u, a)
            }
            Op::Input(_)
            | Op::Param(_)
            | Op::Const(_)
            | Op::SumRows
            | Op::SumCols
            | Op::SumExampleCols
            | Op::MatMul { .. }
            | Op::ExampleMatMul { .. }
            | Op::Transpose
            | Op::ExampleTranspose
            | Op::ExampleCol(_)
            | Op::PlaceExampleCol { .. }
            | Op::SumExamples
            | Op::TileExamples
            | Op::Softmax
            | Op::LogSumExp
            | Op::Row(_)
            | Op::PickLabel { .. }
            | Op::OneHot { .. }
            | Op::PlaceRow { .. } => quote!(compile_error!("internal: not an element-wise root")),
        }
    }

    fn labels(&self, id: NodeId) -> TokenStream {
        match self.g.node(id).op {
            Op::Input(k) => {
                let y = &self.inputs[k as usize];
                quote!(#y)
            }
            _ => quote!(compile_error!("internal: labels that are not an input")),
        }
    }

    /// A doc-comment-free marker of what a statement computes: the spec name if it has one.
    fn comment(&self, id: NodeId) -> TokenStream {
        match &self.comments[id.index()] {
            Some(text) => quote!(let _ = #text;),
            None => TokenStream::new(),
        }
    }
}

/// The longest spec line a comment of generated code quotes in full (bytes, then a word).
const MAX_COMMENT: usize = 160;

/// The spec a graph came from, for the comments that tie statements to its lines.
struct Source<'s> {
    text: &'s str,
    file: &'s str,
    /// The byte offset of every line's start, so that a span's line is a binary search.
    line_starts: Vec<usize>,
}

impl<'s> Source<'s> {
    fn new(text: &'s str, file: &'s str) -> Source<'s> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            text,
            file,
            line_starts,
        }
    }

    /// `h_1 = a[β_0 + Ω_0 x] (deep.nn:10)`: the source line of a span, trimmed.
    fn line(&self, span: crate::diag::Span) -> Option<String> {
        if span.end == 0 {
            return None;
        }
        let at = (span.start as usize).min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= at);
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e);
        let text = self.text.get(start..end)?.trim_end_matches(['\n', '\r']);
        let text = text.split('#').next().unwrap_or(text);
        // Every statement of a line repeats its comment: a long line is cut.
        let mut words = String::new();
        for w in text.split_whitespace() {
            if words.len() > MAX_COMMENT {
                words.push_str(" …");
                break;
            }
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(w);
        }
        Some(format!("{words} ({}:{line})", self.file))
    }
}

/// Turns the `let _ = "…";` markers of generated code into `// …` comments, for people
/// reading `nnspec emit` (the macro's expansion keeps them as inert statements).
pub fn comments_from_markers(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for line in code.lines() {
        let t = line.trim_start();
        match t
            .strip_prefix("let _ = \"")
            .and_then(|r| r.strip_suffix("\";"))
        {
            Some(text) => {
                let indent = &line[..line.len() - t.len()];
                let text = text.replace("\\\"", "\"").replace("\\\\", "\\");
                out.push_str(indent);
                out.push_str("// ");
                out.push_str(&text);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

impl<'g> Cx<'g> {
    /// The emission context of one graph: its plan, the spec line of every node, the local
    /// names of values, and the prefix of its buffers.
    fn new(g: &'g Graph, krate: &TokenStream, source: &Source<'_>, prefix: &str) -> Cx<'g> {
        let plan = plan::plan(g);
        let forward = g.forward_nodes();
        let comments: Vec<Option<String>> = (0..g.nodes.len())
            .map(|i| {
                let line = source.line(g.spans[i])?;
                let output = g
                    .outputs
                    .iter()
                    .find(|(n, id)| id.index() == i && g.is_grad(n));
                let name = g.nodes[i].name.as_deref();
                Some(match (forward[i], output, name) {
                    (true, _, Some(n)) => format!("{n}: {line}"),
                    (true, _, None) => line,
                    (false, Some((grad, _)), _) => format!("{grad}: backward of {line}"),
                    (false, None, _) => format!("backward of {line}"),
                })
            })
            .collect();
        let places = (0..g.nodes.len())
            .map(|i| {
                let line = source.line(g.spans[i]).filter(|_| forward[i])?;
                Some(match g.nodes[i].name.as_deref() {
                    Some(n) => format!("`{n}` in {line}"),
                    None => format!("a term of {line}"),
                })
            })
            .collect();
        let idents = |names: Vec<String>| -> Vec<Ident> {
            names
                .iter()
                .map(|n| Ident::new(n, Span::call_site()))
                .collect()
        };
        let params = idents(names::fields(g.params.iter().map(|p| p.name.as_str())));
        let inputs = idents(names::fields(g.inputs.iter().map(|p| p.name.as_str())));
        let raw: Vec<String> = g
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match (&n.op, &n.name) {
                (Op::Input(k), _) => g.inputs[*k as usize].name.clone(),
                (Op::Param(k), _) => g.params[*k as usize].name.clone(),
                (_, Some(name)) => name.clone(),
                _ => format!("v{i}"),
            })
            .collect();
        let locals = idents(names::fields(raw.iter().map(String::as_str)));
        // The plan's external values are gradients written into `grads` directly.
        let mut grad_of: Vec<Option<Ident>> = vec![None; g.nodes.len()];
        for gr in &g.grads {
            let (id, crate::ir::Wrt::Param(k)) = (&gr.node, gr.wrt) else {
                continue;
            };
            let k = k as usize;
            if plan.external[id.index()] {
                grad_of[id.index()] = Some(params[k].clone());
            }
        }
        Cx {
            grad_of,
            in_place: std::cell::Cell::new(None),
            loop_cols: std::cell::Cell::new(Cols::EXAMPLE),
            comments,
            locals,
            places,
            g,
            plan,
            rt: quote!(#krate::__private::runtime),
            params,
            inputs,
            prefix: prefix.to_string(),
        }
    }

    /// The buffer fields of this graph's workspace, with their initial `Mat::zeros`.
    fn buffers(&self, faer: &TokenStream) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let mut fields = Vec::new();
        let mut init = Vec::new();
        let mut used = vec![false; self.plan.buffers.len()];
        for (i, b) in self.plan.buffer.iter().enumerate() {
            if let Some(b) = b
                && self.grad_of[i].is_none()
            {
                used[*b] = true;
            }
        }
        for (b, (rows, cols)) in self.plan.buffers.iter().enumerate() {
            if !used[b] {
                continue;
            }
            let name = format_ident!("{}{b}", self.prefix);
            fields.push(quote!(#name: #faer::Mat<T>,));
            init.push(match *cols {
                // One number per example: a column, read as its transpose.
                Cols::EXAMPLE if *rows == 1 => {
                    quote!(#name: #faer::Mat::zeros(max_batch, 1usize),)
                }
                Cols::EXAMPLE => quote!(#name: #faer::Mat::zeros(#rows, max_batch),),
                Cols::Batch(n) => quote!(#name: #faer::Mat::zeros(#rows, #n * max_batch),),
                Cols::Fixed(c) => quote!(#name: #faer::Mat::zeros(#rows, #c),),
            });
        }
        (fields, init)
    }

    /// Every statement of the graph, then the gradients copied into `grads`; and the
    /// expression of the loss `loss`.
    fn step(&self, loss: &str) -> (TokenStream, TokenStream) {
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

fn model(
    g: &Graph,
    krate: &TokenStream,
    source: &Source<'_>,
    per_loss: &[(String, Graph)],
) -> TokenStream {
    let cx = Cx::new(g, krate, source, "b");
    let rt = cx.rt.clone();
    let faer = quote!(#krate::__private::faer);
    let name = Ident::new(&g.name, Span::call_site());
    let ws_name = format_ident!("{}Workspace", g.name);

    // Parameters: fields, shapes, zero construction.
    let fields = cx.params.iter().zip(&g.params).map(|(f, p)| {
        let doc = format!(
            "The parameter `{}`, {} (in a gradient buffer: its gradient).",
            p.name, p.shape
        );
        quote!(#[doc = #doc] pub #f: #faer::Mat<T>,)
    });
    let zeros = cx.params.iter().zip(&g.params).map(|(f, p)| {
        let (r, c) = dims(p.shape, 1);
        quote!(#f: #faer::Mat::zeros(#r, #c),)
    });
    let visit = cx.params.iter().zip(&g.params).map(|(f, p)| {
        let n = &p.name;
        quote!(v(#n, &mut self.#f);)
    });
    let visit_grads = cx.params.iter().zip(&g.params).map(|(f, p)| {
        let n = &p.name;
        quote!(v(#n, &mut self.#f, &grads.#f);)
    });

    // Workspace buffers: the main step's, then each per-loss step's.
    let variants: Vec<Cx<'_>> = per_loss
        .iter()
        .enumerate()
        .map(|(k, (_, vg))| Cx::new(vg, krate, source, &format!("l{k}_b")))
        .collect();
    let (mut buffer_fields, mut buffer_init) = cx.buffers(&faer);
    for v in &variants {
        let (f, i) = v.buffers(&faer);
        buffer_fields.extend(f);
        buffer_init.extend(i);
    }

    // Arguments: data as column batches, class labels as indices.
    let args: Vec<TokenStream> = cx
        .inputs
        .iter()
        .zip(&g.inputs)
        .map(|(x, s)| {
            if s.labels.is_some() {
                quote!(#x: &[usize])
            } else {
                quote!(#x: #faer::MatRef<'_, T>)
            }
        })
        .collect();
    let batch_checks: Vec<TokenStream> = cx
        .inputs
        .iter()
        .zip(&g.inputs)
        .map(|(x, s)| {
            let (n, rows) = (&s.name, s.shape.rows);
            if s.labels.is_some() {
                quote! {
                    if #x.len() != batch {
                        return Err(#rt::StepError::Shape { name: #n, expected: (1, batch), got: (1, #x.len()) });
                    }
                }
            } else {
                let cols = cols_tokens(s.shape.cols);
                quote! {
                    if #x.nrows() != #rows || #x.ncols() != #cols {
                        return Err(#rt::StepError::Shape { name: #n, expected: (#rows, #cols), got: (#x.nrows(), #x.ncols()) });
                    }
                }
            }
        })
        .collect();
    let batch_of = batch_from(cx.inputs.first().zip(g.inputs.first()));

    // The doc strings, in the spec's names; `forward`'s needs the inputs the function reads.
    let function = g
        .outputs
        .iter()
        .find(|(n, _)| !g.is_grad(n) && !g.losses.iter().any(|l| l.name == *n));
    let docs = docs::docs(
        g,
        &cx.inputs.iter().map(Ident::to_string).collect::<Vec<_>>(),
        function.map(|(n, _)| n.as_str()),
        &function.map_or_else(Vec::new, |(_, fid)| inputs_read(g, *fid)),
    );
    let (loss_doc, forward_doc, loss_and_grad_doc) =
        (&docs.loss, &docs.forward, &docs.loss_and_grad);

    // loss_and_grad: every node, then the gradients into `grads`.
    let loss = g.losses.first().and_then(|l| g.output(&l.name));
    let (all, loss_value) = cx.step(g.losses.first().map_or("", |l| l.name.as_str()));
    let step_head = quote! {
        let batch = #batch_of;
        if batch > ws.max_batch {
            return Err(#rt::StepError::Batch { batch, max_batch: ws.max_batch });
        }
        #(#batch_checks)*
    };
    let fn_names = names::fields(per_loss.iter().map(|(n, _)| n.as_str()));
    let per_loss_fns = variants.iter().zip(per_loss).zip(&fn_names).map(|((v, (lname, _)), ident)| {
        let (body, value) = v.step(lname);
        let f = format_ident!("loss_and_grad_{ident}");
        let doc = format!("The loss `{lname}` over the batch, with its gradient with respect to the parameters it trains written into `grads` (the others are left as they are).");
        quote! {
            #[doc = #doc]
            #[allow(unused_variables, clippy::too_many_arguments)]
            pub fn #f(&self, #(#args,)* grads: &mut Self, ws: &mut #ws_name<T>) -> Result<T, #rt::StepError> {
                #step_head
                #body
                Ok(#value)
            }
        }
    });
    let loss_and_grad = if loss.is_some() {
        quote! {
            #[doc = #loss_and_grad_doc]
            #[allow(unused_variables, clippy::too_many_arguments)]
            pub fn loss_and_grad(&self, #(#args,)* grads: &mut Self, ws: &mut #ws_name<T>) -> Result<T, #rt::StepError> {
                #step_head
                #all
                Ok(#loss_value)
            }
        }
    } else {
        TokenStream::new()
    };

    // loss: the first loss's ancestors only, no gradients (evaluation, validation).
    let loss_only = match g.losses.first().and_then(|l| g.output(&l.name)) {
        Some(lid) => {
            let needed = g.ancestors([lid]);
            let stmts = (0..g.nodes.len())
                .filter(|&i| needed[i])
                .map(|i| cx.stmt(NodeId(i as u32)));
            quote! {
                #[doc = #loss_doc]
                #[allow(unused_variables, clippy::too_many_arguments)]
                pub fn loss(&self, #(#args,)* ws: &mut #ws_name<T>) -> Result<T, #rt::StepError> {
                    #step_head
                    #(#stmts)*
                    Ok(#loss_value)
                }
            }
        }
        None => TokenStream::new(),
    };

    // locate_non_finite: the loss again, checking each value as it is computed.
    let locate = match g.losses.first().and_then(|l| g.output(&l.name)) {
        Some(lid) => {
            let needed = g.ancestors([lid]);
            let stmts = (0..g.nodes.len()).filter(|&i| needed[i]).map(|i| {
                let id = NodeId(i as u32);
                let stmt = cx.stmt(id);
                if stmt.is_empty() {
                    return stmt;
                }
                let place = cx.places[i]
                    .clone()
                    .unwrap_or_else(|| format!("value %{i}"));
                // A scaled product is written into its scaling's buffer.
                let value = cx.read(cx.scaled_product(id).map_or(id, |(u, _)| u));
                quote! {
                    #stmt
                    if !#rt::params::all_finite(#value) {
                        return Ok(Some(#place));
                    }
                }
            });
            quote! {
                /// Runs the (first) loss on a batch and names the first spec quantity, in
                /// evaluation order, that holds a NaN or an infinity (with its spec line).
                #[allow(unused_variables, clippy::too_many_arguments)]
                pub fn locate_non_finite(&self, #(#args,)* ws: &mut #ws_name<T>) -> Result<Option<&'static str>, #rt::StepError> {
                    #step_head
                    #(#stmts)*
                    Ok(None)
                }
            }
        }
        None => TokenStream::new(),
    };

    // forward: the model function's ancestors only, returning a view into the workspace.
    let mut forward_inputs = None;
    let forward = match function {
        Some((_, fid)) if cx.plan.buffer[fid.index()].is_some() => {
            let needed = g.ancestors([*fid]);
            let used_inputs = inputs_read(g, *fid);
            forward_inputs = Some(used_inputs.clone());
            let fargs = used_inputs.iter().map(|&k| &args[k]);
            let fchecks = used_inputs.iter().map(|&k| &batch_checks[k]);
            let stmts = (0..g.nodes.len())
                .filter(|&i| needed[i])
                .map(|i| cx.stmt(NodeId(i as u32)));
            let fbatch = batch_from(used_inputs.first().map(|&k| (&cx.inputs[k], &g.inputs[k])));
            let out = cx.read(*fid);
            quote! {
                #[doc = #forward_doc]
                #[allow(unused_variables, clippy::too_many_arguments)]
                pub fn forward<'w>(&self, #(#fargs,)* ws: &'w mut #ws_name<T>) -> Result<#faer::MatRef<'w, T>, #rt::StepError> {
                    let batch = #fbatch;
                    if batch > ws.max_batch {
                        return Err(#rt::StepError::Batch { batch, max_batch: ws.max_batch });
                    }
                    #(#fchecks)*
                    #(#stmts)*
                    Ok(#out)
                }
            }
        }
        _ => TokenStream::new(),
    };
    let init = cx
        .params
        .iter()
        .zip(&g.params)
        .enumerate()
        .map(|(k, (f, p))| {
            let (r, c) = dims(p.shape, 1);
            let how = init_tokens(&rt, g.inits.get(k).copied().unwrap_or(Init::Default));
            quote!(#f: #how.sample(#r, #c, rng),)
        });
    let noise = noise_samplers(&cx);
    let params_impl = params_impl(&cx, &name);
    let supervised_impl = supervised_impl(&cx, &name, &ws_name, function, forward_inputs);
    let (doc, ws_doc, ws_fn_doc) = (docs.model, docs.workspace_type, docs.workspace_fn);
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        pub struct #name<T: #rt::Scalar> {
            #(#fields)*
        }

        #[doc = #ws_doc]
        #[derive(Clone, Debug)]
        pub struct #ws_name<T: #rt::Scalar> {
            max_batch: usize,
            #(#buffer_fields)*
        }

                // Constants are written in full (`6.283185307179586`), and products keep their brackets.
        #[allow(unused_parens, clippy::approx_constant, clippy::excessive_precision, clippy::assign_op_pattern)]
        impl<T: #rt::Scalar> #name<T> {
            /// Every parameter zero.
            pub fn zeros() -> Self {
                Self { #(#zeros)* }
            }

            /// Zeros of the same shapes (a gradient buffer).
            pub fn zeros_like(&self) -> Self {
                Self::zeros()
            }

                        /// Initial parameters as the spec declares them (`~ He`, `~ Norm[0, σ²]`, `= 0`);
            /// undeclared: He for matrices, zero for bias vectors, N(0, 1) for scalars.
                        pub fn init(rng: &mut #rt::Rng) -> Self {
                let _ = &rng;
                Self { #(#init)* }
            }

            #[doc = #ws_fn_doc]
            pub fn workspace(max_batch: usize) -> #ws_name<T> {
                #ws_name { max_batch, #(#buffer_init)* }
            }

            /// Visits every parameter with its name as the spec writes it.
            pub fn visit(&mut self, mut v: impl FnMut(&str, &mut #faer::Mat<T>)) {
                #(#visit)*
            }

            /// Visits every parameter with its gradient.
            pub fn visit_with_grads(&mut self, grads: &Self, mut v: impl FnMut(&str, &mut #faer::Mat<T>, &#faer::Mat<T>)) {
                #(#visit_grads)*
            }

            #(#noise)*
                        #forward
            #loss_only
            #locate
            #loss_and_grad
            #(#per_loss_fns)*
        }

        #params_impl
        #supervised_impl
    }
}

/// The inputs (indices into `g.inputs`) that the value `id` depends on.
fn inputs_read(g: &Graph, id: NodeId) -> Vec<usize> {
    let needed = g.ancestors([id]);
    (0..g.inputs.len())
        .filter(|&k| needed[g.inputs[k].node.index()])
        .collect()
}

/// `impl Params`: the parameters in declaration order, under their spec names.
fn params_impl(cx: &Cx<'_>, name: &Ident) -> TokenStream {
    let rt = &cx.rt;
    let faer = quote!(#rt::faer);
    let names = cx.g.params.iter().map(|p| p.name.as_str());
    let (a, b, c) = (names.clone(), names.clone(), names);
    let f = &cx.params;
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
        }
    }
}

/// `impl Supervised` for a model trained on pairs `(x, y)`: one `input`, one `target`, no
/// noise, a loss, and a model function that reads the input only. Other models get none.
fn supervised_impl(
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
                    inputs: #inputs,
                    outputs: #outputs,
                    target: #target,
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

/// The batch size a step reads off its first input: the number of labels, or of columns
/// (divided by `N` for a matrix per example; a count that is not a multiple of `N` fails the
/// shape check that follows), or 1 with no input.
fn batch_from(first: Option<(&Ident, &crate::ir::Slot)>) -> TokenStream {
    match first {
        Some((x, s)) if s.labels.is_some() => quote!(#x.len()),
        Some((x, s)) => match s.shape.cols {
            Cols::Batch(n) if n > 1 => quote!(#x.ncols() / #n),
            _ => quote!(#x.ncols()),
        },
        None => quote!(1usize),
    }
}

/// The column count of a value in generated code: `batch`, `(N * batch)` or a constant.
fn cols_tokens(cols: Cols) -> TokenStream {
    match cols {
        Cols::EXAMPLE => quote!(batch),
        Cols::Batch(n) => quote!((#n * batch)),
        Cols::Fixed(c) => quote!(#c),
    }
}

fn dims(shape: Shape, batch: usize) -> (usize, usize) {
    (shape.rows, shape.cols_for(batch))
}

/// For each noise input `ε`, `sample_epsilon(batch, rng)`: a batch of it drawn from the
/// distribution the spec declares (`~ Norm[0, I]`, `~ Uniform[a, b]`, `~ Bernoulli[p]`), with
/// the runtime's sampler, as the interpreter draws it.
fn noise_samplers(cx: &Cx<'_>) -> Vec<TokenStream> {
    let rt = &cx.rt;
    cx.g.inputs
        .iter()
        .zip(&cx.inputs)
        .filter(|(s, _)| s.role == crate::ir::Role::Noise)
        .map(|(s, field)| {
            let f = format_ident!("sample_{}", field);
            let how = init_tokens(
                rt,
                s.dist.unwrap_or(Init::Normal {
                    mean: 0.0,
                    variance: 1.0,
                }),
            );
            let rows = s.shape.rows;
            let doc = format!(
                "A batch of the noise `{}`, drawn as the spec declares it.",
                s.name
            );
            quote! {
                #[doc = #doc]
                pub fn #f(batch: usize, rng: &mut #rt::Rng) -> #rt::faer::Mat<T> {
                    #how.sample(#rows, batch, rng)
                }
            }
        })
        .collect()
}

/// The runtime's `init::Init` value for the IR's (a parameter's initialiser or a noise
/// input's distribution).
fn init_tokens(rt: &TokenStream, init: Init) -> TokenStream {
    let i = quote!(#rt::init::Init);
    match init {
        Init::Default => quote!(#i::Default),
        Init::He => quote!(#i::He),
        Init::Glorot => quote!(#i::Glorot),
        Init::LeCun => quote!(#i::LeCun),
        Init::Normal { mean, variance } => quote!(#i::Normal { mean: #mean, variance: #variance }),
        Init::Uniform { lo, hi } => quote!(#i::Uniform { lo: #lo, hi: #hi }),
        Init::Bernoulli { p } => quote!(#i::Bernoulli { p: #p }),
        Init::Const(v) => quote!(#i::Const(#v)),
    }
}

/// `Unary::Relu.apply(a)`: the function's one formula (`nnspec-ops`), with the function a
/// constant so that the call inlines to the formula alone. The variant is written as its
/// `Debug` form (`LRelu(F64(0.1))`), with paths, so no variant is listed here.
fn unary_call(rt: &TokenStream, u: Unary, a: TokenStream) -> TokenStream {
    let text = format!("{rt}::Unary::{u:?}").replace("F64(", &format!("{rt}::F64("));
    let f: TokenStream = text.parse().unwrap_or_else(|_| {
        quote!(compile_error!(
            "nnspec: an element-wise function without a Rust form"
        ))
    });
    quote!(#f.apply(#a))
}

#[cfg(test)]
mod tests {
    use super::{Unary, unary_call};
    use quote::quote;

    #[test]
    fn every_element_wise_function_is_emitted_as_a_rust_expression() {
        let rt = quote!(::nnspec::__private::runtime);
        for &u in Unary::EXAMPLES {
            let e = unary_call(&rt, u, quote!(x)).to_string();
            assert!(!e.contains("compile_error"), "{u:?}: {e}");
            assert!(e.contains(". apply (x)"), "{u:?}: {e}");
            syn::parse_str::<syn::Expr>(&e).unwrap_or_else(|err| panic!("{u:?}: {e}: {err}"));
        }
    }
}
