//! The emission context of one graph ([`Cx`]): its memory plan, the Rust names of its
//! parameters, inputs and values, the spec line of every node, and how generated code reads
//! and writes each value (a parameter, a caller's input, a workspace buffer, or a gradient
//! written straight into `grads`).

use super::names;
use super::source::Source;
use crate::ir::{Cols, Graph, NodeId, Op};
use crate::opt::plan::{self, Plan};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Which statistics a step's [`Op::BatchStat`] nodes read, and whether the step records the
/// batch's: the mode of the statements being emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Training mode: a statistic is the batch's own (`locate_non_finite`).
    Training,
    /// Training mode, and each statistic is also written into the gradient set's running
    /// value, for `update_running` to fold in (`loss_and_grad` and the per-loss steps).
    Recording,
    /// Evaluation mode: a statistic is the model's running value (`forward`, `loss`).
    Eval,
}

/// How generated code reads a node's value.
pub(crate) struct Cx<'g> {
    pub(crate) g: &'g Graph,
    pub(crate) plan: Plan,
    pub(crate) rt: TokenStream,
    /// Per node: the spec line it implements, for the comment above its statement.
    comments: Vec<Option<String>>,
    /// Per node: the name of its local view inside loops.
    locals: Vec<Ident>,
    /// Per forward node: the spec quantity it computes and its line, for messages.
    pub(crate) places: Vec<Option<String>>,
    /// Per node: the parameter field whose gradient it is, when the step writes it straight
    /// into `grads` (rather than into a workspace buffer copied at the end).
    pub(crate) grad_of: Vec<Option<Ident>>,
    /// While a loop is emitted: the buffer it writes, which a leaf it reads may share (the
    /// loop then reads that leaf from `dst` itself, element by element).
    pub(crate) in_place: std::cell::Cell<Option<usize>>,
    /// The column count of the element-wise loop being emitted (its `j` runs over it).
    pub(crate) loop_cols: std::cell::Cell<Cols>,
    /// The mode of the statements being emitted (see [`Mode`]); set by each step.
    pub(crate) mode: std::cell::Cell<Mode>,
    /// The fields of the running statistics (`Graph::stats`): `running_m_1`, …
    pub(crate) stats: Vec<Ident>,
    /// The prefix of this graph's workspace buffers (`b`, or `l1_b` for a per-loss step).
    prefix: String,
    pub(crate) params: Vec<Ident>,
    pub(crate) inputs: Vec<Ident>,
}

impl Cx<'_> {
    /// A `MatRef` expression for a node with a value outside any loop.
    pub(crate) fn read(&self, id: NodeId) -> TokenStream {
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
                    let all_cols = self.plan.buffers[b].1 == n.shape.cols;
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
                        Cols::Fixed(_) if whole && all_cols => quote!(ws.#b.as_ref()),
                        Cols::Fixed(_) if all_cols => quote!(ws.#b.as_ref().subrows(0, #rows)),
                        Cols::Fixed(_) => {
                            quote!(ws.#b.as_ref().subrows(0, #rows).subcols(0, #cols))
                        }
                    }
                }
                None => quote!(compile_error!("internal: a value with no buffer")),
            },
        }
    }

    /// A `MatMut` expression for the buffer of a node.
    pub(crate) fn write(&self, id: NodeId) -> TokenStream {
        if let Some(f) = &self.grad_of[id.index()] {
            return quote!(grads.#f.as_mut());
        }
        let index = self.plan.buffer[id.index()].unwrap_or(usize::MAX);
        let b = format_ident!("{}{index}", self.prefix);
        let rows = self.g.node(id).shape.rows;
        let whole = self.plan.buffers.get(index).is_some_and(|b| b.0 == rows);
        let shape_cols = self.g.node(id).shape.cols;
        let all_cols = self
            .plan
            .buffers
            .get(index)
            .is_some_and(|b| b.1 == shape_cols);
        let cols = cols_tokens(shape_cols);
        match shape_cols {
            Cols::EXAMPLE if rows == 1 => {
                quote!(ws.#b.as_mut().subrows_mut(0, batch).transpose_mut())
            }
            Cols::Batch(_) if whole => quote!(ws.#b.as_mut().subcols_mut(0, #cols)),
            Cols::Batch(_) => {
                quote!(ws.#b.as_mut().subrows_mut(0, #rows).subcols_mut(0, #cols))
            }
            Cols::Fixed(_) if whole && all_cols => quote!(ws.#b.as_mut()),
            Cols::Fixed(_) if all_cols => quote!(ws.#b.as_mut().subrows_mut(0, #rows)),
            Cols::Fixed(_) => quote!(ws.#b.as_mut().subrows_mut(0, #rows).subcols_mut(0, #cols)),
        }
    }

    /// Whether a value is one number per example held in a workspace buffer: such buffers
    /// are stored as a `B × 1` column (contiguous, unpadded) and read as its `1 × B`
    /// transpose.
    pub(crate) fn row_buffer(&self, id: NodeId) -> bool {
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

    /// The column a leaf of this column count is read at in the current loop, whose index is
    /// `j`: its only column, the loop's, or its example's (a value per example read in a loop
    /// over the `N` columns of each example: column `j / N`).
    pub(crate) fn example_col(&self, cols: Cols) -> TokenStream {
        match (cols, self.loop_cols.get()) {
            (Cols::Fixed(1), _) => quote!(0),
            (Cols::EXAMPLE, Cols::Batch(n)) if n > 1 => quote!((j / #n)),
            _ => quote!(j),
        }
    }

    /// Whether a loop reads this value through column slices of an owned matrix (a parameter
    /// or a workspace buffer) rather than by checked indexing (inputs, which are caller views
    /// of any layout).
    pub(crate) fn sliced(&self, id: NodeId) -> bool {
        match self.g.node(id).op {
            Op::Input(_) => false,
            Op::Param(_) => true,
            Op::StopGradient => self.sliced(self.g.node(id).args[0]),
            _ => self.plan.buffer[id.index()].is_some() || self.grad_of[id.index()].is_some(),
        }
    }

    /// The owned matrix holding a parameter or a buffered value (`self.omega_0`, `ws.b3`).
    pub(crate) fn owner(&self, id: NodeId) -> TokenStream {
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
    pub(crate) fn local(&self, id: NodeId) -> Ident {
        self.locals[id.index()].clone()
    }
    pub(crate) fn labels(&self, id: NodeId) -> TokenStream {
        match self.g.node(id).op {
            Op::Input(k) => {
                let y = &self.inputs[k as usize];
                quote!(#y)
            }
            _ => quote!(compile_error!("internal: labels that are not an input")),
        }
    }

    /// A doc-comment-free marker of what a statement computes: the spec name if it has one.
    pub(crate) fn comment(&self, id: NodeId) -> TokenStream {
        match &self.comments[id.index()] {
            Some(text) => quote!(let _ = #text;),
            None => TokenStream::new(),
        }
    }
}

impl<'g> Cx<'g> {
    /// The emission context of one graph: its plan, the spec line of every node, the local
    /// names of values, and the prefix of its buffers.
    pub(crate) fn new(
        g: &'g Graph,
        krate: &TokenStream,
        source: &Source<'_>,
        prefix: &str,
    ) -> Cx<'g> {
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
        // Named beside the parameters, so a parameter called `running_m_1` cannot clash.
        let running: Vec<String> = g
            .stats
            .iter()
            .map(|s| format!("running {}", s.name))
            .collect();
        let stats = idents(
            names::fields(
                g.params
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain(running.iter().map(String::as_str)),
            )
            .split_off(g.params.len()),
        );
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
            stats,
            mode: std::cell::Cell::new(Mode::Training),
            prefix: prefix.to_string(),
        }
    }

    /// `f()` with the statements emitted in `mode`; the mode before is restored after.
    pub(super) fn in_mode<R>(&self, mode: Mode, f: impl FnOnce() -> R) -> R {
        let before = self.mode.replace(mode);
        let r = f();
        self.mode.set(before);
        r
    }

    /// The buffer fields of this graph's workspace, with their initial `Mat::zeros`.
    pub(crate) fn buffers(&self, faer: &TokenStream) -> (Vec<TokenStream>, Vec<TokenStream>) {
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
        let convs: Vec<crate::ir::conv::Conv> = (self.g.nodes.iter())
            .filter_map(|n| match n.op {
                crate::ir::Op::Conv(c) => Some(c),
                _ => None,
            })
            .collect();
        if let Some(value) = crate::ir::conv::scratch_init(&self.rt, faer, &convs) {
            let name = self.conv_scratch();
            fields.push(quote!(#name: #faer::Mat<T>,));
            init.push(quote!(#name: #value,));
        }
        (fields, init)
    }

    /// The workspace field of this graph's patch matrix, the scratch of its convolutions
    /// (`b_conv`, `l1_b_conv`).
    pub(crate) fn conv_scratch(&self) -> proc_macro2::Ident {
        format_ident!("{}_conv", self.prefix)
    }
}

/// The column count of a value in generated code: `batch`, `(N * batch)` or a constant.
pub(crate) fn cols_tokens(cols: Cols) -> TokenStream {
    match cols {
        Cols::EXAMPLE => quote!(batch),
        Cols::Batch(n) => quote!((#n * batch)),
        Cols::Fixed(c) => quote!(#c),
    }
}
