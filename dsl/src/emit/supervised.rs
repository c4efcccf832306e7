//! `impl runtime::train::Supervised` for a generated model: every model the interpreter's
//! `InterpModel` trains — one input or several (a batch of the examples' columns `F × B`,
//! split into the inputs), a target of class labels, of values, of a label per token (`Y`
//! a matrix per example given as its numbers per column), or none (the data are the input),
//! noise inputs drawn each step, and several losses stepped in turn.
//!
//! What a batch becomes is decided once, in the runtime (`runtime::batch`): `split` cuts the
//! examples' columns into the inputs and a target matrix into its columns, `noise` draws a
//! noise input (in evaluation mode a dropout mask `~ Bernoulli[p]` is its mean `p`), from a
//! generator that starts at `NOISE_SEED` and that `seed_noise` seeds. The interpreter calls
//! the same functions in the same order (inputs in slot order, noise drawn for every noise
//! slot of each call), so a given seed gives the same noise to both.
//!
//! A label input (`input s : {1 … S}`) is one row of the batch (of its split, with several
//! inputs), numbers to the batch and label values to the generated steps, which take
//! `&[usize]` as they take a target of class labels: `batch::labels` reads the row into a
//! buffer of indices of its own, checking each label as the interpreter does.
//!
//! The split inputs, the label inputs' indices, the target's columns and the noise live in
//! buffers of their own, a struct `MInputs<T>` in the workspace's field `io` (only for models
//! that need one); a step
//! takes it out of the workspace (`mem::take`, which does not allocate), fills it, runs the
//! generated step on views of it, and puts it back.

use super::cx::{Cx, cols_tokens};
use super::model::init_tokens;
use super::names;
use crate::ir::{Cols, Init, NodeId, Role, Slot};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// Which slot plays which part, and what needs a buffer of its own.
struct Roles {
    /// The data inputs, in slot order.
    xs: Vec<usize>,
    /// The target, if any.
    y: Option<usize>,
    /// Whether the batch holds several inputs as the examples' columns (split).
    several: bool,
    /// Whether the target is values with several columns per example (split as well).
    y_split: bool,
    /// Slots with a buffer in the inputs struct: split inputs, a split target, noise.
    buffered: Vec<usize>,
    /// The data inputs that are class labels, each with a buffer of label values too.
    labels: Vec<usize>,
    /// Whether any slot is noise (the inputs struct then holds the generator).
    noise: bool,
}

impl Roles {
    /// The roles of `cx`'s slots, or `None` for a model `Supervised` does not describe (no
    /// input, several targets, negative class labels, a label input of more than one label
    /// per example, a model function that reads the target).
    fn of(cx: &Cx<'_>, forward_inputs: Option<&[usize]>) -> Option<Roles> {
        let g = cx.g;
        let with = |r: Role| -> Vec<usize> {
            (0..g.inputs.len())
                .filter(|&k| g.inputs[k].role == r)
                .collect()
        };
        let (xs, ys, noise) = (with(Role::Input), with(Role::Target), with(Role::Noise));
        let y = match ys[..] {
            [] => None,
            [y] => Some(y),
            _ => return None,
        };
        let labels: Vec<usize> = xs
            .iter()
            .copied()
            .filter(|&k| g.inputs[k].labels.is_some())
            .collect();
        let one_label = |k: usize| {
            let s = &g.inputs[k];
            s.labels.is_some_and(|(lo, _)| lo >= 0) && s.shape.rows == 1 && s.shape.cols_for(1) == 1
        };
        if xs.is_empty()
            || !labels.iter().all(|&k| one_label(k))
            || y.is_some_and(|y| g.inputs[y].labels.is_some_and(|(lo, _)| lo < 0))
            || forward_inputs.is_some_and(|f| y.is_some_and(|y| f.contains(&y)))
        {
            return None;
        }
        let several = xs.len() > 1;
        let y_split = y.is_some_and(|y| {
            let s = &g.inputs[y];
            s.labels.is_none() && s.shape.cols_for(1) > 1
        });
        let buffered = (0..g.inputs.len())
            .filter(|k| {
                (several && xs.contains(k)) || (y_split && Some(*k) == y) || noise.contains(k)
            })
            .collect();
        Some(Roles {
            xs,
            y,
            several,
            y_split,
            buffered,
            labels,
            noise: !noise.is_empty(),
        })
    }

    /// Whether the model needs the inputs struct at all.
    fn needs_io(&self) -> bool {
        !self.buffered.is_empty() || !self.labels.is_empty()
    }
}

/// The inputs struct's name, `MInputs`.
fn io_name(g: &crate::ir::Graph) -> Ident {
    format_ident!("{}Inputs", g.name)
}

/// For a model with a loss that needs buffers of its inputs: the struct holding them (with `Default`,
/// the empty value a step leaves in the workspace while it runs, and `fill`), the
/// workspace's field and its initial value. Nothing otherwise.
pub(super) fn inputs_struct(
    cx: &Cx<'_>,
    function: Option<&(String, NodeId)>,
    forward_inputs: Option<&[usize]>,
) -> (TokenStream, TokenStream, TokenStream) {
    let none = || (TokenStream::new(), TokenStream::new(), TokenStream::new());
    let Some(roles) = Roles::of(cx, forward_inputs) else {
        return none();
    };
    if !roles.needs_io() || cx.g.losses.is_empty() {
        return none();
    }
    let (g, rt) = (cx.g, &cx.rt);
    let faer = quote!(#rt::faer);
    let name = io_name(g);
    let mut fields: Vec<Ident> = roles.buffered.iter().map(|&k| field(cx, k)).collect();
    let label_fields: Vec<Ident> = roles.labels.iter().map(|&k| label_field(cx, k)).collect();
    let mut init: Vec<TokenStream> = roles
        .buffered
        .iter()
        .map(|&k| {
            let s = &g.inputs[k];
            let (rows, f) = (s.shape.rows, field(cx, k));
            let cols = match s.shape.cols {
                Cols::Fixed(c) => quote!(#c),
                Cols::Batch(n) => quote!(#n * max_batch),
            };
            quote!(#f: #faer::Mat::zeros(#rows, #cols),)
        })
        .collect();
    // A prediction is copied here, so that `predict` can put the buffers back before it
    // returns a view.
    if let Some(f) = function.filter(|_| forward_inputs.is_some()) {
        let shape = g.shape(f.1);
        let rows = shape.rows;
        let cols = match shape.cols {
            Cols::Fixed(c) => quote!(#c),
            Cols::Batch(n) => quote!(#n * max_batch),
        };
        fields.push(format_ident!("out"));
        init.push(quote!(out: #faer::Mat::zeros(#rows, #cols),));
    }
    let doc = format!(
        "The inputs of a `Supervised` step of `{}`, as the runtime's `batch` module makes them from a batch: {}.",
        g.name,
        describe(g, &roles)
    );
    let fill = fill_fn(cx, &roles);
    let item = quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        pub struct #name<T: #rt::Scalar> {
            #(#fields: #faer::Mat<T>,)*
            #(#label_fields: ::std::vec::Vec<usize>,)*
            rng: #rt::Rng,
        }

        impl<T: #rt::Scalar> Default for #name<T> {
            fn default() -> Self {
                Self {
                    #(#fields: #faer::Mat::new(),)*
                    #(#label_fields: ::std::vec::Vec::new(),)*
                    rng: #rt::Rng::new(#rt::batch::NOISE_SEED),
                }
            }
        }

        #fill
    };
    let field = quote!(io: #name<T>,);
    let value = quote!(io: #name { #(#init)* #(#label_fields: ::std::vec![0; max_batch],)* rng: #rt::Rng::new(#rt::batch::NOISE_SEED) },);
    (item, field, value)
}

/// The field of slot `k`'s buffer in the inputs struct: `in_x`.
fn field(cx: &Cx<'_>, k: usize) -> Ident {
    format_ident!("in_{}", cx.inputs[k])
}

/// The field of label input `k`'s label values in the inputs struct: `labels_s`.
fn label_field(cx: &Cx<'_>, k: usize) -> Ident {
    format_ident!("labels_{}", cx.inputs[k])
}

/// The buffers in words, for the struct's rustdoc.
fn describe(g: &crate::ir::Graph, roles: &Roles) -> String {
    let labels = roles
        .labels
        .iter()
        .map(|&k| format!("the label input `{}` as label values", g.inputs[k].name));
    let what: Vec<String> = roles
        .buffered
        .iter()
        .map(|&k| {
            let s = &g.inputs[k];
            match s.role {
                Role::Noise => format!("the noise `{}` drawn for the step", s.name),
                Role::Target => format!("the target `{}` in its columns", s.name),
                _ => format!("the input `{}` split from the examples' columns", s.name),
            }
        })
        .chain(labels)
        .collect();
    what.join(", ")
}

/// `fill`: the split inputs (from `x`), the split target (from `y`, when given) and every
/// noise input drawn in slot order, for `batch` examples (at most the workspace's).
fn fill_fn(cx: &Cx<'_>, roles: &Roles) -> TokenStream {
    let (g, rt) = (cx.g, &cx.rt);
    let faer = quote!(#rt::faer);
    let name = io_name(g);
    let part = |k: usize| {
        let (f, s) = (field(cx, k), &g.inputs[k]);
        let cols = cols_tokens(s.shape.cols);
        let n = s.shape.cols_for(1);
        quote!((self.#f.as_mut().subcols_mut(0, #cols), #n))
    };
    let split_x = roles.several.then(|| {
        let names: Vec<&str> = roles
            .xs
            .iter()
            .map(|&k| g.inputs[k].name.as_str())
            .collect();
        let what = names.join("`, `");
        let parts = roles.xs.iter().map(|&k| part(k));
        quote!(#rt::batch::split(#what, x, batch, &mut [#(#parts),*])?;)
    });
    let split_y = roles.y.filter(|_| roles.y_split).map(|k| {
        let what = &g.inputs[k].name;
        let p = part(k);
        quote! {
            if let Some(y) = y {
                #rt::batch::split(#what, y, batch, &mut [#p])?;
            }
        }
    });
    let labels = roles.labels.iter().map(|&k| {
        let (s, l) = (&g.inputs[k], label_field(cx, k));
        let (lo, classes) = s.labels.map_or((0, 0), |(lo, c)| (lo.max(0) as usize, c));
        let row = if roles.several {
            let f = field(cx, k);
            quote!(self.#f.as_ref().subcols(0, batch))
        } else {
            quote!(x)
        };
        let what = &s.name;
        quote!(#rt::batch::labels(#what, #row, #lo, #classes, &mut self.#l[..batch])?;)
    });
    let noise = roles
        .buffered
        .iter()
        .filter(|&&k| g.inputs[k].role == Role::Noise)
        .map(|&k| {
            let (f, s) = (field(cx, k), &g.inputs[k]);
            let cols = cols_tokens(s.shape.cols);
            let dist = init_tokens(rt, noise_dist(s));
            quote!(#rt::batch::noise(#dist, self.#f.as_mut().subcols_mut(0, #cols), &mut self.rng, eval);)
        });
    let doc = format!(
        "Fills the buffers for `batch` examples from the batch `x` and the target `y` (`None`: not needed); `eval` is evaluation mode. {}.",
        capitalised(&describe(g, roles))
    );
    quote! {
        impl<T: #rt::Scalar> #name<T> {
            #[doc = #doc]
            #[allow(unused_variables)]
            fn fill(&mut self, x: #faer::MatRef<'_, T>, y: Option<#faer::MatRef<'_, T>>, batch: usize, eval: bool) -> Result<(), #rt::StepError> {
                #split_x
                #(#labels)*
                #split_y
                #(#noise)*
                Ok(())
            }
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// A noise slot's distribution: as declared, `Norm[0, I]` when it says nothing.
fn noise_dist(s: &Slot) -> Init {
    s.dist.unwrap_or(Init::Normal {
        mean: 0.0,
        variance: 1.0,
    })
}

/// What the impl's methods share: the roles, and the arguments of a generated step.
struct Impl<'a, 'g> {
    cx: &'a Cx<'g>,
    roles: Roles,
    rt: TokenStream,
}

impl Impl<'_, '_> {
    /// The argument of a step for slot `k`: the batch `x` as given, a buffer's view, the
    /// target `y` as bound by the target's pattern.
    fn arg(&self, k: usize) -> TokenStream {
        let (g, r) = (self.cx.g, &self.roles);
        let s = &g.inputs[k];
        if r.labels.contains(&k) {
            let f = label_field(self.cx, k);
            quote!(&io.#f[..batch])
        } else if r.buffered.contains(&k) {
            let f = field(self.cx, k);
            let cols = cols_tokens(s.shape.cols);
            quote!(io.#f.as_ref().subcols(0, #cols))
        } else if Some(k) == r.y {
            quote!(y)
        } else {
            quote!(x)
        }
    }

    /// The number of examples in a batch `x` as `Io::batch_shape` lays it out.
    fn batch(&self) -> TokenStream {
        let s = &self.cx.g.inputs[self.roles.xs[0]];
        match s.shape.cols {
            Cols::Batch(n) if n > 1 && !self.roles.several => quote!(x.ncols() / #n),
            _ => quote!(x.ncols()),
        }
    }

    /// A method's body: the target matched (when the model has one), the inputs struct
    /// taken from the workspace and filled (when the model has one), then `call`, a step
    /// reading the arguments of [`Impl::arg`]; `with_y` whether the step reads a target.
    fn body(&self, call: TokenStream, eval: bool, with_y: bool) -> TokenStream {
        let (g, rt, r) = (self.cx.g, &self.rt, &self.roles);
        let y_name = r.y.map(|k| &g.inputs[k]);
        let (pat, expected) = match y_name.map(|s| s.labels) {
            Some(Some(_)) => (quote!(#rt::data::TargetsRef::Labels(y)), "class labels"),
            _ => (quote!(#rt::data::TargetsRef::Values(y)), "real values"),
        };
        let y_some = if r.y_split && with_y {
            quote!(Some(y))
        } else {
            quote!(None)
        };
        let inner = if r.needs_io() {
            quote! {
                match io.fill(x, #y_some, batch, #eval) {
                    Ok(()) => #call,
                    Err(e) => Err(e),
                }
            }
        } else {
            call
        };
        let matched = match y_name.filter(|_| with_y) {
            Some(s) => {
                let n = &s.name;
                quote! {
                    match y {
                        #pat => #inner,
                        _ => Err(#rt::StepError::Targets { name: #n, expected: #expected }),
                    }
                }
            }
            None if with_y => quote!({ let _ = &y; #inner }),
            None => inner,
        };
        if !r.needs_io() {
            return matched;
        }
        let batch = self.batch();
        quote! {
            let batch = #batch;
            if batch > ws.max_batch {
                return Err(#rt::StepError::Batch { batch, max_batch: ws.max_batch });
            }
            let mut io = ::core::mem::take(&mut ws.io);
            let result = #matched;
            ws.io = io;
            result
        }
    }

    /// The arguments of a step over every slot.
    fn args(&self) -> Vec<TokenStream> {
        (0..self.cx.g.inputs.len()).map(|k| self.arg(k)).collect()
    }
}

/// `impl Supervised` for a model with a loss and roles `Supervised` describes ([`Roles::of`]);
/// `forward_inputs` the slots the generated `forward` reads (`None`: no `forward`).
pub(super) fn supervised_impl(
    cx: &Cx<'_>,
    name: &Ident,
    ws_name: &Ident,
    function: Option<&(String, NodeId)>,
    forward_inputs: Option<&[usize]>,
) -> TokenStream {
    let g = cx.g;
    let rt = cx.rt.clone();
    let faer = quote!(#rt::faer);
    let Some(loss) = g.losses.first() else {
        return TokenStream::new();
    };
    let Some(roles) = Roles::of(cx, forward_inputs) else {
        return TokenStream::new();
    };
    let it = Impl { cx, roles, rt };
    let io = io_value(&it, function, &loss.name);
    let args = it.args();
    let batch_loss = it.body(quote!(self.loss(#(#args,)* ws)), true, true);
    let locate = it.body(
        quote!(self.locate_non_finite(#(#args,)* ws).map(|o| o.map(str::to_string))),
        false,
        true,
    );
    let (objectives, of) = per_loss(&it);
    let grad = if g.losses.len() > 1 {
        let rt = &it.rt;
        quote!(<Self as #rt::train::Supervised<T>>::batch_loss_and_grad_of(self, 0, x, y, grads, ws))
    } else {
        it.body(
            quote!(self.loss_and_grad(#(#args,)* grads, ws)),
            false,
            true,
        )
    };
    let predict = predict_body(&it, forward_inputs);
    let hooks = hooks(&it, name, ws_name);
    let rt = &it.rt;
    quote! {
        impl<T: #rt::Scalar> #rt::train::Supervised<T> for #name<T> {
            type Workspace = #ws_name<T>;
            fn io(&self) -> #rt::train::Io {
                #io
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
                #batch_loss
            }
            fn batch_loss_and_grad(
                &self,
                x: #faer::MatRef<'_, T>,
                y: #rt::data::TargetsRef<'_, T>,
                grads: &mut Self,
                ws: &mut #ws_name<T>,
            ) -> Result<T, #rt::StepError> {
                #grad
            }
            #objectives
            #of
            #hooks
            fn predict<'w>(
                &self,
                x: #faer::MatRef<'_, T>,
                ws: &'w mut #ws_name<T>,
            ) -> Result<#faer::MatRef<'w, T>, #rt::StepError> {
                #predict
            }
            fn locate_non_finite(
                &self,
                x: #faer::MatRef<'_, T>,
                y: #rt::data::TargetsRef<'_, T>,
                ws: &mut #ws_name<T>,
            ) -> Result<Option<String>, #rt::StepError> {
                #locate
            }
        }
    }
}

/// The trait's methods a model overrides only when the spec asks for them: folding running
/// statistics (`update_running`), seeding the noise (`seed_noise`), the max-norm constraints
/// (`max_norms`), and the spec's own `←` rules in the optimiser's place (`rule_step`).
fn hooks(it: &Impl<'_, '_>, name: &Ident, ws_name: &Ident) -> TokenStream {
    let (g, rt) = (it.cx.g, &it.rt);
    let faer = quote!(#rt::faer);
    let update_running = (!g.stats.is_empty()).then(|| {
        quote! {
            fn update_running(&mut self, batch: &Self) {
                #name::update_running(self, batch)
            }
        }
    });
    let seed = it.roles.noise.then(|| {
        quote! {
            fn seed_noise(&self, ws: &mut #ws_name<T>, seed: u64) {
                ws.io.rng = #rt::Rng::new(seed);
            }
        }
    });
    let max_norms = max_norms_fn(it);
    // The spec's own rules step instead of the optimiser (`rules.rs`): the step `fit` has
    // just run left their new values in `ws`. With several losses, a loss's own step fills
    // buffers of its own, so the step of every loss is run again first.
    let rule_step = super::trained_by_whole_rules(g).then(|| {
        let write = if g.losses.len() > 1 {
            quote! {
                let step = <Self as #rt::train::Supervised<T>>::batch_loss_and_grad(self, x, y, grads, ws);
                Some(step.and_then(|_| self.write_rules(grads, ws)))
            }
        } else {
            quote! {
                let _ = (x, y);
                Some(self.write_rules(grads, ws))
            }
        };
        quote! {
            fn rule_step(
                &mut self,
                x: #faer::MatRef<'_, T>,
                y: #rt::data::TargetsRef<'_, T>,
                grads: &mut Self,
                ws: &mut #ws_name<T>,
            ) -> Option<Result<(), #rt::StepError>> {
                #write
            }
        }
    });
    quote! {
        #seed
        #update_running
        #max_norms
        #rule_step
    }
}

/// `max_norms`, the spec's max-norm constraints (`ir::Graph::max_norms`, `‖W_j‖ ≤ c`) as the
/// optimiser applies them after every update; nothing (the trait's empty default) for a
/// model without any.
fn max_norms_fn(it: &Impl<'_, '_>) -> Option<TokenStream> {
    let g = it.cx.g;
    let rt = &it.rt;
    if g.max_norms.is_empty() {
        return None;
    }
    let items = g.max_norms.iter().map(|m| {
        let (param, columns, bound) = (&m.param, m.columns, m.bound);
        quote!(#rt::optim::MaxNorm { param: #param.to_string(), columns: #columns, bound: #bound })
    });
    Some(quote! {
        fn max_norms(&self) -> Vec<#rt::optim::MaxNorm> {
            vec![#(#items),*]
        }
    })
}

/// `predict`'s body: the generated `forward` on the inputs it reads (copied into the inputs
/// struct when the model has one), or an error for a model with no model function.
fn predict_body(it: &Impl<'_, '_>, forward_inputs: Option<&[usize]>) -> TokenStream {
    let g = it.cx.g;
    match forward_inputs {
        Some(used) if it.roles.needs_io() => {
            // The prediction is copied into the inputs struct, which goes back into the
            // workspace before a view of it is returned.
            let fargs = used.iter().map(|&k| it.arg(k));
            let body = it.body(
                quote! {
                    self.forward(#(#fargs,)* ws).map(|f| {
                        io.out.as_mut().subcols_mut(0, f.ncols()).copy_from(f);
                        f.ncols()
                    })
                },
                true,
                false,
            );
            let rt = &it.rt;
            quote! {
                let cols: Result<usize, #rt::StepError> = { #body };
                let cols = cols?;
                Ok(ws.io.out.as_ref().subcols(0, cols))
            }
        }
        Some(used) => {
            let fargs = used.iter().map(|&k| it.arg(k));
            it.body(quote!(self.forward(#(#fargs,)* ws)), true, false)
        }
        None => {
            let msg = format!(
                "`{}` has no single model function f[x, φ] to predict with",
                g.name
            );
            let rt = &it.rt;
            quote!({ let _ = (x, ws); Err(#rt::StepError::Eval(#msg.to_string())) })
        }
    }
}

/// The `Io` value: the first input, the others, the target's kind, as the interpreter's.
fn io_value(it: &Impl<'_, '_>, function: Option<&(String, NodeId)>, loss: &str) -> TokenStream {
    let (g, rt, r) = (it.cx.g, &it.rt, &it.roles);
    let x = &g.inputs[r.xs[0]];
    let (model, input, inputs, input_cols) = (&g.name, &x.name, x.shape.rows, x.shape.cols_for(1));
    let outputs = function.map_or(0, |(_, f)| g.shape(*f).rows);
    let target = match r.y.map(|k| &g.inputs[k]) {
        Some(s) => match s.labels {
            Some((lo, classes)) => {
                let lo = lo as usize;
                quote!(#rt::data::TargetKind::Labels { lo: #lo, classes: Some(#classes) })
            }
            None => {
                let count = s.shape.rows * s.shape.cols_for(1);
                quote!(#rt::data::TargetKind::Values { count: #count })
            }
        },
        None => quote!(#rt::data::TargetKind::Values { count: 0 }),
    };
    let token_labels = r.y.is_some_and(|k| {
        let s = &g.inputs[k];
        s.entry_labels.is_some() && s.shape.cols_for(1) > 1
    });
    let more = r.xs[1..].iter().map(|&k| {
        let s = &g.inputs[k];
        let (n, rows, cols) = (&s.name, s.shape.rows, s.shape.cols_for(1));
        quote!(#rt::data::InputShape { name: #n.to_string(), rows: #rows, cols: #cols })
    });
    quote! {
        #rt::train::Io {
            model: #model.to_string(),
            loss: #loss.to_string(),
            input: #input.to_string(),
            inputs: #inputs,
            input_cols: #input_cols,
            outputs: #outputs,
            target: #target,
            more_inputs: vec![#(#more),*],
            token_labels: #token_labels,
        }
    }
}

/// `objectives` (each loss, the parameters it trains, one batch per round; for one loss
/// only when it does not train every parameter) and, with several losses,
/// `batch_loss_and_grad_of`, loss `k`'s own step (`loss_and_grad_l`, …).
fn per_loss(it: &Impl<'_, '_>) -> (TokenStream, TokenStream) {
    let (g, rt) = (it.cx.g, &it.rt);
    let objectives = g.losses.iter().map(|l| {
        let name = &l.name;
        let trains = (0..g.params.len()).map(|k| l.wrt.contains(&(k as u32)));
        quote!(#rt::train::Objective { name: #name.to_string(), trains: vec![#(#trains),*], steps: 1 })
    });
    let objectives = quote! {
        fn objectives(&self) -> Vec<#rt::train::Objective> {
            vec![#(#objectives),*]
        }
    };
    if g.losses.len() < 2 {
        // One loss: the trait's default (every parameter trained) unless it leaves some out.
        let all = g
            .losses
            .first()
            .is_none_or(|l| l.wrt.len() == g.params.len());
        return (
            if all { TokenStream::new() } else { objectives },
            TokenStream::new(),
        );
    }
    let args = it.args();
    let fns = names::fields(g.losses.iter().map(|l| l.name.as_str()));
    let arms = fns.iter().enumerate().map(|(k, f)| {
        let f = format_ident!("loss_and_grad_{f}");
        quote!(#k => self.#f(#(#args,)* grads, ws),)
    });
    let count = g.losses.len();
    let model = &g.name;
    let call = quote! {
        match k {
            #(#arms)*
            _ => Err(#rt::StepError::Eval(format!("`{}` has {} losses; there is no loss {}", #model, #count, k))),
        }
    };
    let body = it.body(call, false, true);
    let faer = quote!(#rt::faer);
    let ws_name = format_ident!("{}Workspace", g.name);
    (
        objectives,
        quote! {
            fn batch_loss_and_grad_of(
                &self,
                k: usize,
                x: #faer::MatRef<'_, T>,
                y: #rt::data::TargetsRef<'_, T>,
                grads: &mut Self,
                ws: &mut #ws_name<T>,
            ) -> Result<T, #rt::StepError> {
                #body
            }
        },
    )
}

/// The paragraph of the model's rustdoc on training, for a model with a `Supervised` impl:
/// how a batch reaches its inputs, its noise and its losses.
pub(super) fn training_doc(cx: &Cx<'_>, forward_inputs: Option<&[usize]>) -> Option<String> {
    let g = cx.g;
    let roles = Roles::of(cx, forward_inputs).filter(|_| !g.losses.is_empty())?;
    let quoted = |ks: &[usize]| -> String {
        let v: Vec<String> = ks
            .iter()
            .map(|&k| format!("`{}`", g.inputs[k].name))
            .collect();
        v.join(", ")
    };
    let mut s = String::from(
        "\n\nIt implements `Supervised`, so `runtime::train::fit` trains it and \
         `runtime::train::evaluate` scores it: ",
    );
    let x = &g.inputs[roles.xs[0]];
    if roles.several {
        let per: usize = roles
            .xs
            .iter()
            .map(|&k| {
                let s = &g.inputs[k];
                s.shape.rows * s.shape.cols_for(1)
            })
            .sum();
        s.push_str(&format!(
            "a batch holds the inputs {} as the examples' columns ({per} numbers each, `{per} × B`), split into the inputs in the workspace",
            quoted(&roles.xs)
        ));
    } else {
        s.push_str(&format!(
            "a batch is the input `{}` as the steps take it",
            x.name
        ));
    }
    if !roles.labels.is_empty() {
        s.push_str(&format!(
            "; each label input ({}) is its label values in the batch, read into indices for the steps",
            quoted(&roles.labels)
        ));
    }
    match roles.y.map(|k| &g.inputs[k]) {
        Some(y) if roles.y_split => s.push_str(&format!(
            "; the target `{}` comes as its {} numbers per example, column by column",
            y.name,
            y.shape.rows * y.shape.cols_for(1)
        )),
        Some(y) => s.push_str(&format!("; the target is `{}`", y.name)),
        None => s.push_str("; there is no target (the data are the input)"),
    }
    let noise: Vec<usize> = (0..g.inputs.len())
        .filter(|&k| g.inputs[k].role == Role::Noise)
        .collect();
    if !noise.is_empty() {
        s.push_str(&format!(
            "; the noise {} is drawn for each call into the workspace, from a generator that \
             `seed_noise` seeds (in evaluation mode, `batch_loss` and `predict`, a dropout \
             mask `~ Bernoulli[p]` is its mean p)",
            quoted(&noise)
        ));
    }
    if g.losses.len() > 1 {
        let names: Vec<String> = g.losses.iter().map(|l| format!("`{}`", l.name)).collect();
        s.push_str(&format!(
            "; the losses {} are its objectives, each stepped with its own `loss_and_grad_…`, one batch each in turn",
            names.join(", ")
        ));
    }
    s.push('.');
    Some(s)
}
