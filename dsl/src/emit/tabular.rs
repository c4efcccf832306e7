//! `impl runtime::tabular::Rules` for a model with update rules of table entries
//! (`q[s_t, a_t] ← …`, eqs. 19.11–19.15; the bandits' `q[a_t] ← …`), so that the runtime's
//! loops (`episodes`, `sweeps`, `policy_iteration`) run generated code as they run the
//! interpreter's `TabularModel`.
//!
//! Lowering made each rule's right side an output (`q ←`, `ir/lower/update.rs`). A step
//! (`rules_step`) fills the inputs from the transitions (`s`, `a`, `r`, `s'`, `a'`, `d`, by
//! name: `runtime::tabular::Part`) into buffers of the workspace's field `rules_io`, runs the
//! statements of every rule's value (and of the action `A_t`, when the spec defines one),
//! then hands each value to the runtime's `tabular::Rule`, which the interpreter writes
//! through too: every rule's values checked (finite, a label of a table of labels, inside the
//! table) before any entry is written, then written in the rules' order, transition by
//! transition. Every right side has read the tables before the step. Nothing is allocated.
//!
//! A model gets no such impl when an input is not a part of a transition, or a rule's value is
//! a parameter or an input as it stands (a write would then be read by the next rule).

use super::cx::{Cx, Mode};
use crate::ir::{Cols, Graph, NodeId, Op, Role, UpdateIndex};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

/// The names of the inputs a transition fills, in the order of the runtime's
/// `tabular::Part::ALL` (`Part::NAMES`, kept equal by a test): generated code names a part
/// by its position.
pub const TRANSITION_INPUTS: [&str; 6] = ["s", "a", "r", "s'", "a'", "d"];

/// The paragraph of the model's rustdoc on its rules.
pub(super) const MODEL_DOC: &str = "\n\nIts update rules (`←`) run through \
`runtime::tabular::Rules`: `rules_step` applies them to a batch of transitions, every rule's \
new entries computed from the tables before the step, so the runtime's `episodes`, `sweeps` \
and `policy_iteration` train it as `nnspec train` trains the spec.";

/// What a model with table rules adds: the workspace's field of input buffers and its initial
/// value, the items outside the model's impl (the buffers' struct, `impl Rules`), and the
/// inherent methods.
pub(super) struct Tabular {
    pub(super) field: TokenStream,
    pub(super) init: TokenStream,
    pub(super) items: TokenStream,
    pub(super) methods: TokenStream,
}

/// Per input: its position in [`TRANSITION_INPUTS`], when `g` writes table entries and every
/// input is a part of a transition, one number or label per example; `None` otherwise.
fn parts(g: &Graph) -> Option<Vec<usize>> {
    if !g.updates.iter().any(|u| !u.index.is_empty()) {
        return None;
    }
    g.inputs
        .iter()
        .map(|s| {
            let one = s.shape.rows == 1 && s.shape.cols == Cols::Batch(1);
            let ok = s.role == Role::Input && one && s.labels.is_none_or(|(lo, _)| lo >= 0);
            ok.then(|| TRANSITION_INPUTS.iter().position(|n| *n == s.name))
                .flatten()
        })
        .collect()
}

/// A rule's value as it stands: a parameter or an input (through a frozen copy).
fn as_it_stands(g: &Graph, id: NodeId) -> bool {
    let mut id = id;
    while let Op::StopGradient = g.node(id).op {
        id = g.node(id).args[0];
    }
    matches!(g.node(id).op, Op::Param(_) | Op::Input(_))
}

/// The items of a model with table rules (see the module); `None` for any other model.
/// `args` and `step_head` are the steps' arguments and their shared head.
pub(super) fn tabular(
    cx: &Cx<'_>,
    name: &Ident,
    ws_name: &Ident,
    args: &[TokenStream],
    step_head: &TokenStream,
) -> Option<Tabular> {
    let g = cx.g;
    let parts = parts(g)?;
    let outputs: Vec<NodeId> = g
        .updates
        .iter()
        .map(|u| g.output(&u.output))
        .collect::<Option<_>>()?;
    if outputs.iter().any(|&id| as_it_stands(g, id)) {
        return None;
    }
    let action = g.output(crate::ir::lower::ACTION);
    let io = format_ident!("{}Transitions", g.name);
    let buffers = buffers(cx, &io);
    let run = run_fns(cx, ws_name, args, step_head, &parts, &outputs, action);
    let step = step_fn(cx, ws_name, &parts, &outputs);
    let rules = rules_impl(cx, name, ws_name, action);
    Some(Tabular {
        field: quote!(rules_io: #io<T>,),
        init: quote!(rules_io: #io::new(max_batch),),
        items: quote!(#buffers #rules),
        methods: quote!(#run #step),
    })
}

/// The field of input `k`'s buffer, named as the input's argument: `s`, `r_`, `s_prime`.
fn field<'c>(cx: &'c Cx<'_>, k: usize) -> &'c Ident {
    &cx.inputs[k]
}

/// The struct of the inputs' buffers (label values, or a `1 × max_batch` row of numbers),
/// with `new` and `Default` (the empty value a step leaves in the workspace while it runs).
fn buffers(cx: &Cx<'_>, io: &Ident) -> TokenStream {
    let (g, rt) = (cx.g, &cx.rt);
    let faer = quote!(#rt::faer);
    let fields = &cx.inputs;
    let types = g.inputs.iter().map(|s| match s.labels {
        Some(_) => quote!(::std::vec::Vec<usize>),
        None => quote!(#faer::Mat<T>),
    });
    let new = g.inputs.iter().map(|s| match s.labels {
        Some(_) => quote!(::std::vec![0; max_batch]),
        None => quote!(#faer::Mat::zeros(1, max_batch)),
    });
    let empty = g.inputs.iter().map(|s| match s.labels {
        Some(_) => quote!(::std::vec::Vec::new()),
        None => quote!(#faer::Mat::new()),
    });
    let doc = format!(
        "The inputs of a rules step of `{}`, filled from a batch of transitions.",
        g.name
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        pub struct #io<T: #rt::Scalar> {
            #(#fields: #types,)*
            _scalar: ::core::marker::PhantomData<T>,
        }

        impl<T: #rt::Scalar> #io<T> {
            fn new(max_batch: usize) -> Self {
                let _ = max_batch;
                Self { #(#fields: #new,)* _scalar: ::core::marker::PhantomData }
            }
        }

        impl<T: #rt::Scalar> Default for #io<T> {
            fn default() -> Self {
                Self { #(#fields: #empty,)* _scalar: ::core::marker::PhantomData }
            }
        }
    }
}

/// `rules_run`, the statements of every rule's value (and of `A_t`) on the inputs, and
/// `rules_on`, which fills the inputs from transitions and runs it.
fn run_fns(
    cx: &Cx<'_>,
    ws_name: &Ident,
    args: &[TokenStream],
    step_head: &TokenStream,
    parts: &[usize],
    outputs: &[NodeId],
    action: Option<NodeId>,
) -> TokenStream {
    let (g, rt) = (cx.g, &cx.rt);
    let needed = g.ancestors(outputs.iter().copied().chain(action));
    let stmts: Vec<TokenStream> = cx.in_mode(Mode::Eval, || {
        (0..g.nodes.len())
            .filter(|&i| needed[i])
            .map(|i| cx.stmt(NodeId(i as u32)))
            .collect()
    });
    let fills = parts.iter().enumerate().map(|(k, &p)| {
        let f = field(cx, k);
        match g.inputs[k].labels {
            Some((lo, _)) => {
                let lo = f64::from(lo);
                quote!(io.#f[j] = #rt::tabular::Part::ALL[#p].input(t, #lo) as usize;)
            }
            None => quote!(io.#f[(0, j)] = T::from_f64(#rt::tabular::Part::ALL[#p].input(t, 0.0));),
        }
    });
    let views = (0..parts.len()).map(|k| {
        let f = field(cx, k);
        match g.inputs[k].labels {
            Some(_) => quote!(&io.#f[..batch]),
            None => quote!(io.#f.as_ref().subcols(0, batch)),
        }
    });
    quote! {
        /// The statements of every rule's new value (and of the action `A_t`) on the inputs,
        /// into the workspace.
        #[allow(unused_variables, clippy::too_many_arguments)]
        fn rules_run(&self, #(#args,)* ws: &mut #ws_name<T>) -> Result<(), #rt::StepError> {
            #step_head
            #(#stmts)*
            Ok(())
        }

        /// The inputs filled from `transitions` (a state or an action counted from the
        /// input's first label), then [`Self::rules_run`] on them.
        #[allow(unused_mut)]
        fn rules_on(&self, transitions: &[#rt::tabular::Transition], ws: &mut #ws_name<T>) -> Result<(), #rt::StepError> {
            let batch = transitions.len();
            if batch > ws.max_batch {
                return Err(#rt::StepError::Batch { batch, max_batch: ws.max_batch });
            }
            let mut io = ::core::mem::take(&mut ws.rules_io);
            for (j, t) in transitions.iter().enumerate() {
                let _ = (j, t);
                #(#fills)*
            }
            let result = self.rules_run(#(#views,)* ws);
            ws.rules_io = io;
            result
        }
    }
}

/// `rules_step`: the run, then every rule through the runtime's `tabular::Rule`.
fn step_fn(cx: &Cx<'_>, ws_name: &Ident, parts: &[usize], outputs: &[NodeId]) -> TokenStream {
    let (g, rt) = (cx.g, &cx.rt);
    let mut lets = Vec::new();
    let mut checks = Vec::new();
    let mut writes = Vec::new();
    for (k, (u, &id)) in g.updates.iter().zip(outputs).enumerate() {
        let rule = format_ident!("rule_{k}");
        let values = match g.node(id).op {
            Op::Const(c) => {
                let (v, local) = (c.0, format_ident!("value_{k}"));
                lets.push(quote!(let #local = [T::from_f64(#v)];));
                quote!(#rt::faer::MatRef::from_column_major_slice(&#local, 1, 1))
            }
            _ => cx.read(id),
        };
        let entry = |ix: Option<&UpdateIndex>| match ix {
            None => quote!(#rt::tabular::Entry::Fixed(0)),
            Some(UpdateIndex::Fixed(i)) => {
                let i = *i as usize;
                quote!(#rt::tabular::Entry::Fixed(#i))
            }
            Some(UpdateIndex::Label(slot)) => {
                let p = parts[*slot as usize];
                quote!(#rt::tabular::Entry::Of(#rt::tabular::Part::ALL[#p]))
            }
        };
        let at = if u.index.is_empty() {
            quote!(None)
        } else {
            let (a, b) = (entry(u.index.first()), entry(u.index.get(1)));
            quote!(Some([#a, #b]))
        };
        let slot = &g.params[u.param as usize];
        let (rows, cols) = (slot.shape.rows, slot.shape.cols_for(1));
        let labels = match slot.entry_labels {
            Some((lo, n)) => quote!(Some((#lo, #n))),
            None => quote!(None),
        };
        let (output, f) = (&u.output, &cx.params[u.param as usize]);
        lets.push(quote! {
            let #rule = #rt::tabular::Rule { name: #output, values: #values, at: #at, table: (#rows, #cols), labels: #labels };
        });
        checks.push(quote! {
            if #rule.applies(phase) {
                #rule.check(transitions).map_err(#rt::StepError::Eval)?;
            }
        });
        writes.push(quote! {
            if #rule.applies(phase) {
                change = change.max(#rule.write(transitions, self.#f.as_mut()));
            }
        });
    }
    quote! {
        /// One step of the spec's update rules on a batch of transitions (those of `phase`
        /// alone, or all for `None`): every rule's new values computed from the tables before
        /// the step, all of them checked, then written into their tables' entries in the
        /// rules' order. Returns the largest change of an entry.
        #[allow(unused_variables)]
        pub fn rules_step(
            &mut self,
            transitions: &[#rt::tabular::Transition],
            phase: Option<#rt::tabular::Phase>,
            ws: &mut #ws_name<T>,
        ) -> Result<f64, #rt::StepError> {
            self.rules_on(transitions, ws)?;
            let batch = transitions.len();
            #(#lets)*
            #(#checks)*
            let mut change = 0.0f64;
            #(#writes)*
            Ok(change)
        }
    }
}

/// `impl runtime::tabular::Rules`: the acting table `q` (if the spec has one), the action
/// `A_t` (if it defines one), and the steps.
fn rules_impl(cx: &Cx<'_>, name: &Ident, ws_name: &Ident, action: Option<NodeId>) -> TokenStream {
    let (g, rt) = (cx.g, &cx.rt);
    let faer = quote!(#rt::faer);
    let q = match g.params.iter().position(|p| p.name == "q") {
        Some(k) => {
            let f = &cx.params[k];
            quote!(Some(self.#f.as_ref()))
        }
        None => quote!(None::<#faer::MatRef<'_, T>>),
    };
    let action = action.map(|id| {
        let value = match g.node(id).op {
            Op::Const(c) => {
                let v = c.0;
                quote!(#v)
            }
            _ => {
                let a = cx.read(id);
                quote!(#rt::Real::to_f64(#a[(0, 0)]))
            }
        };
        quote! {
            #[allow(unused_variables)]
            fn action(&self, state: usize, ws: &mut #ws_name<T>) -> Result<Option<usize>, String> {
                let probe = [#rt::tabular::Transition { s: state, ..Default::default() }];
                self.rules_on(&probe, ws).map_err(|e| e.to_string())?;
                let batch = 1usize;
                #rt::tabular::chosen(#value).map(Some)
            }
        }
    });
    let has_policy = g
        .updates
        .iter()
        .any(|u| g.params[u.param as usize].entry_labels.is_some());
    quote! {
        impl<T: #rt::Scalar> #rt::tabular::Rules for #name<T> {
            type Workspace = #ws_name<T>;
            fn new_workspace(&self, max_batch: usize) -> #ws_name<T> {
                #name::workspace(max_batch)
            }
            fn action_values(&self, state: usize, out: &mut [f64]) {
                #rt::tabular::acting_values(#q, state, out);
            }
            #action
            fn step(&mut self, batch: &[#rt::tabular::Transition], ws: &mut #ws_name<T>) -> Result<f64, String> {
                self.rules_step(batch, None, ws).map_err(|e| e.to_string())
            }
            fn has_policy(&self) -> bool {
                #has_policy
            }
            fn step_phase(&mut self, batch: &[#rt::tabular::Transition], phase: #rt::tabular::Phase, ws: &mut #ws_name<T>) -> Result<f64, String> {
                self.rules_step(batch, Some(phase), ws).map_err(|e| e.to_string())
            }
        }
    }
}
