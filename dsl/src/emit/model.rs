//! The items generated for one model: the parameter struct, the workspace, the constructors
//! and visitors, the steps (`loss_and_grad` and one per loss, `loss`, `locate_non_finite`),
//! `forward`, `sample` (`sampler.rs`) and the noise samplers, put together with the trait impls of `impls.rs`.

use super::cx::{Cx, Mode, cols_tokens};
use super::docs::{self, Docs};
use super::impls::params_impl;
use super::names;
use super::sampler::{self, Sampler};
use super::source::Source;
use super::supervised::{inputs_struct, supervised_impl, training_doc};
use crate::ir::{Cols, Graph, Init, NodeId, Shape};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Every item of the model `g`; with several losses (`per_loss`, each with its graph), a
/// step per loss as well.
pub(super) fn model(
    g: &Graph,
    krate: &TokenStream,
    source: &Source<'_>,
    per_loss: &[(String, Graph)],
) -> TokenStream {
    let cx = Cx::new(g, krate, source, "b");
    let variants: Vec<Cx<'_>> = per_loss
        .iter()
        .enumerate()
        .map(|(k, (_, vg))| Cx::new(vg, krate, source, &format!("l{k}_b")))
        .collect();
    let items = Items::new(&cx, krate);

    // The doc strings, in the spec's names; `forward`'s needs the inputs the function reads.
    let function = g
        .outputs
        .iter()
        .find(|(n, _)| !g.is_grad(n) && !g.losses.iter().any(|l| l.name == *n));
    let mut docs = docs::docs(
        g,
        &cx.inputs.iter().map(Ident::to_string).collect::<Vec<_>>(),
        function.map(|(n, _)| n.as_str()),
        &function.map_or_else(Vec::new, |(_, fid)| inputs_read(g, *fid)),
    );

    let (forward, forward_inputs) = items.forward(function, &docs.forward);
    if let Some(training) = training_doc(&cx, forward_inputs.as_deref()) {
        docs.model.push_str(&training);
    }
    let sample = items.sampler(function, forward_inputs.as_deref());
    if sample.is_some() {
        docs.model.push_str(sampler::MODEL_DOC);
    }
    let tabular = super::tabular::tabular(
        &cx,
        &items.name,
        &items.ws_name,
        &items.args,
        &items.step_head,
    );
    if tabular.is_some() {
        docs.model.push_str(super::tabular::MODEL_DOC);
    }
    let (mut buffer_fields, mut buffer_init) = items.buffers(&variants);
    let (inputs_item, io_field, io_init) = inputs_struct(&cx, function, forward_inputs.as_deref());
    buffer_fields.push(io_field);
    buffer_init.push(io_init);
    if let Some(s) = &sample {
        buffer_fields.extend(s.fields.iter().cloned());
        buffer_init.extend(s.init.iter().cloned());
    }
    if let Some(t) = &tabular {
        buffer_fields.push(t.field.clone());
        buffer_init.push(t.init.clone());
    }
    let types = items.types(&buffer_fields, &docs);
    let steps = [
        forward,
        sample.map(|s| s.methods).unwrap_or_default(),
        items.loss_only(&docs.loss),
        items.locate(),
        items.loss_and_grad(&docs.loss_and_grad),
        super::rules::rule_fns(&cx, &items.ws_name, &items.args),
        tabular
            .as_ref()
            .map(|t| t.methods.clone())
            .unwrap_or_default(),
    ];
    let per_loss_fns = items.per_loss_steps(&variants, per_loss);
    let inherent = items.inherent_impl(&docs, &buffer_init, &steps, &per_loss_fns);
    let params_impl = params_impl(&cx, &items.name);
    let supervised_impl = supervised_impl(
        &cx,
        &items.name,
        &items.ws_name,
        function,
        forward_inputs.as_deref(),
    );
    let rules_items = tabular.map(|t| t.items);
    quote! {
        #types
        #inputs_item
        #inherent
        #params_impl
        #supervised_impl
        #rules_items
    }
}

/// What every generated item of one model shares: its graph's context, the paths of the
/// runtime and faer, the type names, and the steps' arguments.
struct Items<'a, 'g> {
    cx: &'a Cx<'g>,
    rt: TokenStream,
    faer: TokenStream,
    name: Ident,
    ws_name: Ident,
    /// Per input: data as a column batch, class labels as indices.
    args: Vec<TokenStream>,
    /// Per input: the check of its shape against the batch size.
    batch_checks: Vec<TokenStream>,
    /// The start of every step: the batch size, its bound, the inputs' shapes.
    step_head: TokenStream,
}

impl<'a, 'g> Items<'a, 'g> {
    fn new(cx: &'a Cx<'g>, krate: &TokenStream) -> Items<'a, 'g> {
        let g = cx.g;
        let rt = cx.rt.clone();
        let faer = quote!(#krate::__private::faer);
        let name = Ident::new(&g.name, Span::call_site());
        let ws_name = format_ident!("{}Workspace", g.name);

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
                    let entries = entry_label_check(&rt, x, s);
                    quote! {
                        if #x.nrows() != #rows || #x.ncols() != #cols {
                            return Err(#rt::StepError::Shape { name: #n, expected: (#rows, #cols), got: (#x.nrows(), #x.ncols()) });
                        }
                        #entries
                    }
                }
            })
            .collect();
        let batch_of = batch_from(cx.inputs.first().zip(g.inputs.first()));
        let step_head = quote! {
            let batch = #batch_of;
            if batch > ws.max_batch {
                return Err(#rt::StepError::Batch { batch, max_batch: ws.max_batch });
            }
            #(#batch_checks)*
        };
        Items {
            cx,
            rt,
            faer,
            name,
            ws_name,
            args,
            batch_checks,
            step_head,
        }
    }

    /// Workspace buffers, fields and their initial values: the main step's, then each
    /// per-loss step's.
    fn buffers(&self, variants: &[Cx<'_>]) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let faer = &self.faer;
        let (mut buffer_fields, mut buffer_init) = self.cx.buffers(faer);
        for v in variants {
            let (f, i) = v.buffers(faer);
            buffer_fields.extend(f);
            buffer_init.extend(i);
        }
        // A model with no step (no loss and no value to compute) has no buffer: the scalar
        // type is then marked, so the workspace type still uses `T`.
        if buffer_fields.is_empty() {
            buffer_fields.push(quote!(_scalar: ::core::marker::PhantomData<T>,));
            buffer_init.push(quote!(_scalar: ::core::marker::PhantomData,));
        }
        (buffer_fields, buffer_init)
    }

    /// The model struct (one field per parameter) and the workspace struct (its buffers).
    fn types(&self, buffer_fields: &[TokenStream], docs: &Docs) -> TokenStream {
        let (cx, g, rt, faer) = (self.cx, self.cx.g, &self.rt, &self.faer);
        let (name, ws_name) = (&self.name, &self.ws_name);
        let fields = cx.params.iter().zip(&g.params).map(|(f, p)| {
            let doc = format!(
                "The parameter `{}`, {} (in a gradient buffer: its gradient).",
                p.name, p.shape
            );
            quote!(#[doc = #doc] pub #f: #faer::Mat<T>,)
        });
        let running = cx.stats.iter().zip(&g.stats).map(|(f, s)| {
            let doc = format!(
                "The running value of `{}`, {} (read in evaluation mode; in a gradient buffer: the last training step's batch statistic).",
                s.name, s.shape
            );
            quote!(#[doc = #doc] pub #f: #faer::Mat<T>,)
        });
        let (doc, ws_doc) = (&docs.model, &docs.workspace_type);
        quote! {
            #[doc = #doc]
            #[derive(Clone, Debug)]
            pub struct #name<T: #rt::Scalar> {
                #(#fields)*
                #(#running)*
            }

            #[doc = #ws_doc]
            #[derive(Clone, Debug)]
            pub struct #ws_name<T: #rt::Scalar> {
                max_batch: usize,
                #(#buffer_fields)*
            }
        }
    }

    /// The inherent impl: constructors, visitors, noise samplers, then the steps.
    fn inherent_impl(
        &self,
        docs: &Docs,
        buffer_init: &[TokenStream],
        steps: &[TokenStream],
        per_loss_fns: &[TokenStream],
    ) -> TokenStream {
        let (rt, name) = (&self.rt, &self.name);
        let constructors = self.constructors(docs, buffer_init);
        let noise = noise_samplers(self.cx);
        quote! {
            // Constants are written in full (`6.283185307179586`), and products keep their brackets.
            #[allow(unused_parens, clippy::approx_constant, clippy::excessive_precision, clippy::assign_op_pattern)]
            impl<T: #rt::Scalar> #name<T> {
                #constructors
                #(#noise)*
                #(#steps)*
                #(#per_loss_fns)*
            }
        }
    }

    /// `zeros`, `zeros_like`, `init`, `workspace`, `visit` and `visit_with_grads`.
    fn constructors(&self, docs: &Docs, buffer_init: &[TokenStream]) -> TokenStream {
        let (cx, g, rt, faer) = (self.cx, self.cx.g, &self.rt, &self.faer);
        let ws_name = &self.ws_name;
        let zeros = cx.params.iter().zip(&g.params).map(|(f, p)| {
            let (r, c) = dims(p.shape, 1);
            quote!(#f: #faer::Mat::zeros(#r, #c),)
        });
        let init = cx
            .params
            .iter()
            .zip(&g.params)
            .enumerate()
            .map(|(k, (f, p))| {
                let (r, c) = dims(p.shape, 1);
                let how = init_tokens(rt, g.inits.get(k).copied().unwrap_or(Init::Default));
                // The environment's tables (`r[s, a]`, `Pr(s'|s, a)`), from its dynamics as
                // the interpreter fills them; checking has accepted the environment.
                match (&g.env, p.group.as_deref()) {
                    (Some(env), Some("env")) => {
                        let n = &p.name;
                        quote!(#f: {
                            let mut m = #how.sample(#r, #c, rng);
                            let _ = #rt::tabular::fill_dynamics(#env, #n, m.as_mut());
                            m
                        },)
                    }
                    _ => quote!(#f: #how.sample(#r, #c, rng),),
                }
            });
        // Running statistics start at their initial values (0 for a mean, 1 for a
        // standard deviation) in every constructor: they are state, not parameters.
        let running: Vec<TokenStream> = cx
            .stats
            .iter()
            .zip(&g.stats)
            .map(|(f, s)| {
                let (r, c) = dims(s.shape, 1);
                let v = s.init;
                quote!(#f: #faer::Mat::from_fn(#r, #c, |_, _| T::from_f64(#v)),)
            })
            .collect();
        let folds = cx
            .stats
            .iter()
            .map(|f| quote!(#rt::params::fold_running(self.#f.as_mut(), batch.#f.as_ref());));
        let update_running = (!g.stats.is_empty()).then(|| {
            quote! {
                /// After a training step: folds the batch statistics that the step left in
                /// `batch` (its gradient set) into the running statistics, `r ← 0.9 r + 0.1 m`.
                pub fn update_running(&mut self, batch: &Self) {
                    #(#folds)*
                }
            }
        });
        let visit = cx.params.iter().zip(&g.params).map(|(f, p)| {
            let n = &p.name;
            quote!(v(#n, &mut self.#f);)
        });
        let visit_grads = cx.params.iter().zip(&g.params).map(|(f, p)| {
            let n = &p.name;
            quote!(v(#n, &mut self.#f, &grads.#f);)
        });
        let ws_fn_doc = &docs.workspace_fn;
        quote! {
            /// Every parameter zero.
            pub fn zeros() -> Self {
                Self { #(#zeros)* #(#running)* }
            }

            /// Zeros of the same shapes (a gradient buffer).
            pub fn zeros_like(&self) -> Self {
                Self::zeros()
            }

            /// Initial parameters as the spec declares them (`~ He`, `~ Norm[0, σ²]`, `= 0`);
            /// undeclared: He for matrices, zero for bias vectors, N(0, 1) for scalars.
            pub fn init(rng: &mut #rt::Rng) -> Self {
                use #rt::init::Sample as _;
                let _ = &rng;
                Self { #(#init)* #(#running)* }
            }

            #update_running

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
        }
    }
}

/// The steps: each runs the statements a result needs, in graph order, after the shared
/// head (batch size and input shapes checked).
impl Items<'_, '_> {
    /// `loss_and_grad`: every node, then the gradients into `grads`; it returns the first
    /// loss.
    fn loss_and_grad(&self, doc: &str) -> TokenStream {
        let (g, rt, ws_name) = (self.cx.g, &self.rt, &self.ws_name);
        let (args, step_head) = (&self.args, &self.step_head);
        let loss = g.losses.first().and_then(|l| g.output(&l.name));
        let (all, loss_value) = self
            .cx
            .step(g.losses.first().map_or("", |l| l.name.as_str()));
        if loss.is_some() {
            quote! {
                #[doc = #doc]
                #[allow(unused_variables, clippy::too_many_arguments)]
                pub fn loss_and_grad(&self, #(#args,)* grads: &mut Self, ws: &mut #ws_name<T>) -> Result<T, #rt::StepError> {
                    #step_head
                    #all
                    Ok(#loss_value)
                }
            }
        } else {
            TokenStream::new()
        }
    }

    /// `loss_and_grad_l`, … : with several losses, one step per loss from its own graph
    /// (`variants`), writing only the gradients of the group that loss trains.
    fn per_loss_steps(
        &self,
        variants: &[Cx<'_>],
        per_loss: &[(String, Graph)],
    ) -> Vec<TokenStream> {
        let (rt, ws_name) = (&self.rt, &self.ws_name);
        let (args, step_head) = (&self.args, &self.step_head);
        let fn_names = names::fields(per_loss.iter().map(|(n, _)| n.as_str()));
        variants.iter().zip(per_loss).zip(&fn_names).map(|((v, (lname, _)), ident)| {
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
        }).collect()
    }

    /// `loss`: the first loss's ancestors only, no gradients (evaluation, validation).
    fn loss_only(&self, doc: &str) -> TokenStream {
        let (cx, g, rt, ws_name) = (self.cx, self.cx.g, &self.rt, &self.ws_name);
        let (args, step_head) = (&self.args, &self.step_head);
        let (_, loss_value) = cx.step(g.losses.first().map_or("", |l| l.name.as_str()));
        match g.losses.first().and_then(|l| g.output(&l.name)) {
            Some(lid) => {
                let needed = g.ancestors([lid]);
                let stmts: Vec<TokenStream> = cx.in_mode(Mode::Eval, || {
                    (0..g.nodes.len())
                        .filter(|&i| needed[i])
                        .map(|i| cx.stmt(NodeId(i as u32)))
                        .collect()
                });
                quote! {
                    #[doc = #doc]
                    #[allow(unused_variables, clippy::too_many_arguments)]
                    pub fn loss(&self, #(#args,)* ws: &mut #ws_name<T>) -> Result<T, #rt::StepError> {
                        #step_head
                        #(#stmts)*
                        Ok(#loss_value)
                    }
                }
            }
            None => TokenStream::new(),
        }
    }

    /// `locate_non_finite`: the loss again, checking each value as it is computed.
    fn locate(&self) -> TokenStream {
        let (cx, g, rt, ws_name) = (self.cx, self.cx.g, &self.rt, &self.ws_name);
        let (args, step_head) = (&self.args, &self.step_head);
        match g.losses.first().and_then(|l| g.output(&l.name)) {
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
                    let value = cx.read(cx.plan.scaled[id.index()].map_or(id, |(u, _)| u));
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
        }
    }

    /// `forward`: the model function's ancestors only, returning a view into the workspace;
    /// and the inputs it reads (indices into `g.inputs`), when there is one.
    fn forward(
        &self,
        function: Option<&(String, NodeId)>,
        doc: &str,
    ) -> (TokenStream, Option<Vec<usize>>) {
        let (cx, g, rt, ws_name) = (self.cx, self.cx.g, &self.rt, &self.ws_name);
        let (args, batch_checks) = (&self.args, &self.batch_checks);
        let faer = &self.faer;
        match function {
            Some((_, fid)) if cx.plan.buffer[fid.index()].is_some() => {
                let used_inputs = inputs_read(g, *fid);
                let fargs = used_inputs.iter().map(|&k| &args[k]);
                let fchecks = used_inputs.iter().map(|&k| &batch_checks[k]);
                // A sampling chain runs the statements `sample` runs (`sampler.rs`).
                let body = if sampler::applies(g) {
                    sampler::forward_body(cx, &used_inputs)
                } else {
                    let (stmts, out) = (self.forward_stmts(*fid), cx.read(*fid));
                    quote!(#(#stmts)* Ok(#out))
                };
                let fbatch =
                    batch_from(used_inputs.first().map(|&k| (&cx.inputs[k], &g.inputs[k])));
                let forward = quote! {
                    #[doc = #doc]
                    #[allow(unused_variables, clippy::too_many_arguments)]
                    pub fn forward<'w>(&self, #(#fargs,)* ws: &'w mut #ws_name<T>) -> Result<#faer::MatRef<'w, T>, #rt::StepError> {
                        let batch = #fbatch;
                        if batch > ws.max_batch {
                            return Err(#rt::StepError::Batch { batch, max_batch: ws.max_batch });
                        }
                        #(#fchecks)*
                        #body
                    }
                };
                (forward, Some(used_inputs))
            }
            _ => (TokenStream::new(), None),
        }
    }
}

impl Items<'_, '_> {
    /// The statements of `forward`: the ancestors of the output `fid`, in evaluation mode.
    fn forward_stmts(&self, fid: NodeId) -> Vec<TokenStream> {
        let (cx, g) = (self.cx, self.cx.g);
        let needed = g.ancestors([fid]);
        cx.in_mode(Mode::Eval, || {
            (0..g.nodes.len())
                .filter(|&i| needed[i])
                .map(|i| cx.stmt(NodeId(i as u32)))
                .collect()
        })
    }

    /// `sample`, for a model with no loss that reads only noise and has a `forward` (see
    /// `sampler`); `None` otherwise.
    fn sampler(
        &self,
        function: Option<&(String, NodeId)>,
        forward_inputs: Option<&[usize]>,
    ) -> Option<Sampler> {
        let (name, fid) = function.filter(|_| forward_inputs.is_some())?;
        sampler::applies(self.cx.g).then(|| {
            let stmts = self.forward_stmts(*fid);
            sampler::sampler(self.cx, &self.ws_name, (name, *fid), &stmts)
        })
    }
}

/// The inputs (indices into `g.inputs`) that the value `id` depends on.
fn inputs_read(g: &Graph, id: NodeId) -> Vec<usize> {
    let needed = g.ancestors([id]);
    (0..g.inputs.len())
        .filter(|&k| needed[g.inputs[k].node.index()])
        .collect()
}

/// For a vector of labels (`target y : {0, 1}^{D}`, the slot's `entry_labels`): every entry
/// checked against its set by the runtime's `label_index`, as the interpreter checks it, the
/// first outside it an error naming the input, the entry and the example. Nothing otherwise.
fn entry_label_check(rt: &TokenStream, x: &Ident, s: &crate::ir::Slot) -> TokenStream {
    let Some((lo, count)) = s.entry_labels else {
        return TokenStream::new();
    };
    let n = &s.name;
    quote! {
        for j in 0..#x.ncols() {
            for i in 0..#x.nrows() {
                let v = #x[(i, j)];
                if #rt::labels::label_index(v, #lo, #count).is_none() {
                    let value = #rt::Real::to_f64(v).to_string();
                    return Err(#rt::StepError::EntryLabel { name: #n, row: i, column: j, value, lo: #lo, count: #count });
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

fn dims(shape: Shape, batch: usize) -> (usize, usize) {
    (shape.rows, shape.cols_for(batch))
}

/// For each noise input `ε`, `sample_epsilon(batch, rng)`: a batch of it (`rows × (cols·batch)`
/// for a matrix per example) drawn from the distribution the spec declares (`~ Norm[0, I]`, `~ Uniform[a, b]`, `~ Bernoulli[p]`), with
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
            let (rows, cols) = (s.shape.rows, super::cx::cols_tokens(s.shape.cols));
            let doc = format!(
                "A batch of the noise `{}`, `{}` (a matrix per example comes as the examples \
                 side by side, each one's columns together), drawn column by column as the \
                 spec declares it.",
                s.name, s.shape
            );
            quote! {
                #[doc = #doc]
                pub fn #f(batch: usize, rng: &mut #rt::Rng) -> #rt::faer::Mat<T> {
                    let mut m = #rt::faer::Mat::zeros(#rows, #cols);
                    #rt::batch::noise(#how, m.as_mut(), rng, false);
                    m
                }
            }
        })
        .collect()
}

/// The runtime's `init::Init` value for the IR's (a parameter's initialiser or a noise
/// input's distribution).
pub(super) fn init_tokens(rt: &TokenStream, init: Init) -> TokenStream {
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
        Init::Structured(crate::ir::Band {
            below,
            above,
            diagonal,
            std,
        }) => {
            let band = quote!(#rt::init::Band);
            quote!(#i::Structured(#band { below: #below, above: #above, diagonal: #diagonal, std: #std }))
        }
    }
}
