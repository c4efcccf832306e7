//! Checking: name resolution, hyper-parameter evaluation, family expansion and shape inference.
//!
//! [`check`] walks every model of a file, statement by statement, in source order (a name must
//! be defined before it is used, as in the book). Families (`for k ∈ {1 … K}`) are unrolled
//! with `k` bound to each value, so `h_{k+1}` becomes `h_2`, `h_3`, …. Every error is collected;
//! checking goes on after one, and an expression whose type is unknown (because of an earlier
//! error) is not reported again.
//!
//! Semantics of the batch: equations are per example. Inputs, targets and noise are per
//! example; parameters and constants are the same for every example. `∑_i` over the batch
//! turns a per-example value into one for the whole batch; a loss must be such a scalar.
//!
//! This file holds the entry point and the driver of a file (models checked on demand,
//! diagnostics merged and sorted) and the state of checking one model (`ModelCx`); its jobs
//! are in the submodules: `model` (one model in source order, its info and interface),
//! `scope` (names and definitions), `hypers` (hyper-parameters and numeric expressions),
//! `families` (unrolled `for` clauses and ranges), `stmt` (statements, the model function),
//! `losses`, `decl` (types, dimensions, initialisers, distributions), `expr` (expressions),
//! `lets` (`let` functions), `builtins`, `shape`, `entrywise` (convolutions written entry by
//! entry) and `entries` (matrices defined entry by entry).

pub(crate) mod builtins;
mod decl;
mod deriv;
pub(crate) mod dynamics;
pub(crate) mod entries;
pub(crate) mod entrywise;
mod except;
mod expr;
pub(crate) mod extreme;
mod families;
mod hypers;
mod lets;
mod losses;
pub(crate) mod max_norm;
mod model;
mod nodewise;
pub(crate) mod numbers;
mod pairs;
pub use model::ENVIRONMENTS;
mod scope;
pub use crate::shape;
mod stack;
mod stmt;
mod table;
mod update;
pub use lets::MAX_INLINED;

pub(crate) use families::{Range, family_runs};
use scope::{Bound, Entry, Func, Sym};
pub(crate) use stmt::example_index;

use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::dump;
use crate::names;
pub use builtins::Builtin;
use shape::Val;
use std::collections::{BTreeMap, BTreeSet};

/// The most family members and unrolled sum terms one model may expand to.
pub const MAX_UNROLL: usize = 100_000;

/// Options for checking: hyper-parameter overrides (`--set K=5`, `DeepNet[K = 5]`).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `(model, hyper-parameter, value)`; a `None` model applies to every model that has it.
    pub overrides: Vec<(Option<String>, String, f64)>,
}

/// What checking found out about a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// One entry per model, in source order.
    pub models: Vec<ModelInfo>,
}

/// A checked model: its hyper-parameters and every named quantity with its type.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// The model's name.
    pub name: String,
    /// Hyper-parameters and their values (`None` when symbolic).
    pub hypers: Vec<(String, Option<f64>)>,
    /// Every named quantity, in definition order (families expanded).
    pub symbols: Vec<SymbolInfo>,
    /// The node-wise equations of graph networks (`agg[n] = ∑_{m ∈ ne[n]} h_m`), each by its
    /// statement's span, as the matrix equation checking read it as (`check/nodewise.rs`):
    /// what lowering lowers in its place.
    pub nodewise: Vec<(Span, ast::Stmt)>,
    /// The declarations (inputs, targets, noise, parameters; family members one by one), by
    /// canonical name: the index of each one's entry in `symbols`, whose type lowering lays
    /// out (`shape::layout::of`) instead of reading the declaration again.
    pub declared: BTreeMap<String, usize>,
    /// The range of each family checking unrolled member by member, by its `for` clause's
    /// span: what lowering unrolls (a family read as a whole vector or matrix, `entrywise`
    /// and `entries`, has none).
    pub(crate) families: BTreeMap<Span, Range>,
    /// The `‖w_j‖ ≤ c` lines with their radii evaluated (`check/max_norm.rs`), for lowering
    /// to record in the graph.
    pub max_norms: Vec<crate::ir::MaxNorm>,
    /// The numbers checking evaluated that lowering needs (limits, exponents, slopes, the
    /// subscripts around `…`), by expression and the indices bound (`check/numbers.rs`).
    pub(crate) numbers: numbers::Numbers,
    /// Each parameter's and noise's initialiser or distribution with its arguments
    /// evaluated, by canonical name (family members one by one); a parameter declared
    /// without one has none.
    pub(crate) inits: BTreeMap<String, crate::ir::Init>,
}

impl ModelInfo {
    /// The checked type of a declared input, target, noise or parameter (`Ω_2` of a family
    /// `Ω_k`), by canonical name.
    pub fn declared(&self, name: &str) -> Option<&Val> {
        let i = *self.declared.get(name)?;
        match &self.symbols.get(i)?.ty {
            SymbolType::Val { val, .. } => Some(val),
            _ => None,
        }
    }
}

/// What kind of quantity a name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    /// Data given per example.
    Input,
    /// A target given per example.
    Target,
    /// Noise sampled per example.
    Noise,
    /// A trainable parameter.
    Param,
    /// A value defined by an equation.
    Value,
    /// A function (`let a = ReLU`, `f[x, φ] = …`).
    Function,
    /// A loss.
    Loss,
}

impl SymbolKind {
    fn word(self) -> &'static str {
        match self {
            SymbolKind::Input => "input",
            SymbolKind::Target => "target",
            SymbolKind::Noise => "noise",
            SymbolKind::Param => "param",
            SymbolKind::Value => "value",
            SymbolKind::Function => "fn",
            SymbolKind::Loss => "loss",
        }
    }
}

/// One named quantity of a checked model.
#[derive(Clone, Debug, PartialEq)]
pub struct SymbolInfo {
    /// Input, parameter, value, …
    pub kind: SymbolKind,
    /// The canonical name (`β_0`, `h_2`, `f[x, φ]`).
    pub name: String,
    /// Its type; `Display` shows it in the book's notation, with values: `ℝ^{D} (= ℝ^{64})`.
    pub ty: SymbolType,
    /// Whether it varies per example.
    pub per_example: bool,
    /// Where it is defined.
    pub span: Span,
}

/// The type of a named quantity. `Display` gives the text of dumps and hover: `ℝ^{D×D} ∈ φ`,
/// `= softmax`, `user function`, `= model Block`.
#[derive(Clone, Debug, PartialEq)]
pub enum SymbolType {
    /// A value's type: data, a parameter (with the group it was declared in), a value, the
    /// model function's result.
    Val {
        /// The checked type.
        val: Val,
        /// A parameter's group (`∈ θ`).
        group: Option<String>,
    },
    /// A name bound to a built-in, with the subscript it was bound with (`LReLU_{0.1}`).
    Builtin(Builtin, Vec<ast::Expr>),
    /// A `let` function with formals.
    User,
    /// A sub-model instance's name bound to another model of the file.
    Model(String),
}

impl std::fmt::Display for SymbolType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SymbolType::Val { val, group: None } => write!(f, "{val}"),
            SymbolType::Val {
                val,
                group: Some(g),
            } => write!(f, "{val} ∈ {g}"),
            SymbolType::Builtin(b, sub) if sub.is_empty() => write!(f, "= {}", b.name()),
            SymbolType::Builtin(b, sub) => {
                let sub: Vec<String> = sub.iter().map(dump::expr).collect();
                write!(f, "= {}_{{{}}}", b.name(), sub.join(","))
            }
            SymbolType::User => f.write_str("user function"),
            SymbolType::Model(m) => write!(f, "= model {m}"),
        }
    }
}

/// Checks a parsed file with default hyper-parameters.
pub fn check(file: &ast::File, src: &str) -> Result<Checked, Vec<Diagnostic>> {
    check_with(file, src, &Options::default())
}

/// Checks a parsed file. Returns every diagnostic found, sorted by position.
pub fn check_with(file: &ast::File, src: &str, opts: &Options) -> Result<Checked, Vec<Diagnostic>> {
    let mut chk = Checker {
        file,
        src,
        opts,
        diags: Vec::new(),
        done: vec![None; file.models.len()],
        in_progress: vec![false; file.models.len()],
        stack: Vec::new(),
    };
    for (model, name, _) in &opts.overrides {
        let applies = |m: &ast::Model| model.as_ref().is_none_or(|n| *n == m.name.text);
        let known = file.models.iter().filter(|m| applies(m)).any(|m| {
            m.hypers.iter().any(|h| {
                names::build(&h.name.word, h.name.primes, false, &sub_text(&h.name)) == *name
            })
        });
        if !known {
            chk.diags.push(
                Diagnostic::new(
                    Code::E0216,
                    Span::default(),
                    format!("no hyper-parameter `{name}` to override"),
                )
                .label("overridden here"),
            );
        }
    }
    duplicate_models(file, &mut chk.diags);
    for i in 0..file.models.len() {
        chk.model(i);
    }
    let mut diags = chk.diags;
    diags.sort_by_key(|d| (d.span.start, d.span.end, d.code));
    diags.dedup_by(|a, b| a.code == b.code && a.span == b.span);
    let diags = merge_same_line(diags, src);
    if diags.is_empty() {
        Ok(Checked {
            models: chk
                .done
                .into_iter()
                .flatten()
                .map(|(info, _)| info)
                .collect(),
        })
    } else {
        Err(diags)
    }
}

/// Reports every model whose name an earlier model of the file already has (`E0219`): a call
/// `M[…]` and `--model M` must mean one model.
fn duplicate_models(file: &ast::File, diags: &mut Vec<Diagnostic>) {
    let mut first: BTreeMap<&str, Span> = BTreeMap::new();
    for m in &file.models {
        match first.get(m.name.text.as_str()) {
            Some(&at) => diags.push(
                Diagnostic::new(
                    Code::E0219,
                    m.name.span,
                    format!("a second model named `{}`", m.name.text),
                )
                .label("named again here")
                .with(at, "first defined here")
                .help("give each model of a file its own name"),
            ),
            None => {
                first.insert(&m.name.text, m.name.span);
            }
        }
    }
}

/// Merges errors that say the same thing on the same line (`D_h` used twice in one
/// declaration, `sigmoid` applied twice in one loss) into one, with the later places as
/// secondary labels. Expects the diagnostics sorted by position.
fn merge_same_line(diags: Vec<Diagnostic>, src: &str) -> Vec<Diagnostic> {
    let line = |span: Span| crate::diag::line_col(src, span.start as usize).0;
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for d in diags {
        let here = line(d.span);
        let earlier = out
            .iter_mut()
            .rev()
            .take_while(|p| line(p.span) == here)
            .find(|p| p.code == d.code && p.message == d.message && p.span != Span::default());
        match earlier {
            Some(first) => {
                let text = if d.label == first.label || d.label.is_empty() {
                    "also here".to_string()
                } else {
                    d.label
                };
                first.secondary.push(crate::diag::Label {
                    span: d.span,
                    message: text,
                });
            }
            None => out.push(d),
        }
    }
    out
}

fn sub_text(n: &ast::Name) -> Vec<String> {
    n.sub.iter().map(dump::expr).collect()
}

/// What another model needs to know to call this one as a sub-model.
#[derive(Clone, Debug)]
struct Interface {
    inputs: Vec<Val>,
    out: Option<Val>,
    /// The model function exists but its definition had an error.
    failed: bool,
    /// What checking the model inlined (`let` bodies' terms, sub-model calls): what each
    /// call of it inlines again.
    inlined: usize,
}

struct Checker<'a> {
    file: &'a ast::File,
    src: &'a str,
    opts: &'a Options,
    diags: Vec<Diagnostic>,
    done: Vec<Option<(ModelInfo, Interface)>>,
    in_progress: Vec<bool>,
    /// Models being checked, outermost first (to name a cycle of calls).
    stack: Vec<usize>,
}

impl Checker<'_> {
    /// Checks model `i` (once), returning its interface; `None` while it is being checked.
    fn model(&mut self, i: usize) -> Option<Interface> {
        if let Some((_, iface)) = &self.done[i] {
            return Some(iface.clone());
        }
        if self.in_progress[i] {
            return None;
        }
        self.in_progress[i] = true;
        self.stack.push(i);
        let model = &self.file.models[i];
        let mut cx = ModelCx::new(self);
        cx.run(model);
        let (info, iface) = cx.finish(model);
        self.in_progress[i] = false;
        self.stack.pop();
        self.done[i] = Some((info, iface.clone()));
        Some(iface)
    }
}

/// The state of checking one model.
struct ModelCx<'c, 'a> {
    chk: &'c mut Checker<'a>,
    scope: BTreeMap<String, Entry>,
    /// Named quantities in definition order: kind, canonical name, name as shown in dumps.
    order: Vec<(SymbolKind, String, Option<String>)>,
    groups: BTreeSet<String>,
    binds: Vec<(String, Bound)>,
    unrolled: usize,
    /// Unknown names, kept until the end of the model to tell "used before defined" apart.
    unknown: Vec<(Vec<String>, Diagnostic)>,
    /// The places of the unknown names met so far.
    unknown_spans: BTreeSet<Span>,
    /// The model function `f[x, φ]`, for the interface.
    function: Option<String>,
    /// Whether the model function's definition failed (callers stay quiet).
    function_failed: bool,
    /// Words of names a failed family would have defined: not reported as unknown.
    poisoned_words: BTreeSet<String>,
    inputs: Vec<String>,
    /// The model's name, for help that shows its header.
    model_name: String,
    /// Each hyper-parameter's definition (`D = 2.5`) and whether `--set` overrides it.
    hyper_defs: BTreeMap<String, (Span, bool)>,
    /// Hyper-parameters whose value was already reported as unusable: their uses stay quiet.
    bad_hypers: BTreeSet<String>,
    /// Hyper-parameters without a value that a range needs, with the index of the
    /// diagnostic that says so: later uses become secondary labels of that one.
    valueless: BTreeMap<String, usize>,
    /// Spans of the sums over the batch checked in the current statement.
    batch_sums: Vec<Span>,
    /// In `loss L_i[φ] = …`, the index written on the loss's name and where.
    loss_index: Option<(String, Span)>,
    /// The index of this model's "too many members to unroll" diagnostic, once reported.
    too_large: Option<usize>,
    /// Products that scaled a matrix by a named scalar (`Ω h_0` with `h_0 = 0`): the
    /// product's span and the scalar's, for the help of a later shape error.
    scaled: Vec<(Span, Span)>,
    /// `let` functions that call themselves, directly or through others (`E0218`).
    recursive: BTreeSet<String>,
    /// Terms checked through calls of `let` functions so far (bounded by `MAX_INLINED`).
    inlined: usize,
    /// The `let` functions being inlined, outermost first, with their call's span.
    expanding: Vec<(String, Span)>,
    /// Node-wise equations read as matrix equations, by statement span (`nodewise`).
    nodewise: Vec<(Span, ast::Stmt)>,
    /// Names a node-wise equation `agg[n] = …` defines: `agg[m]` is a column of `agg`.
    node_defs: BTreeSet<String>,
    /// The tables written by `←` statements so far (each at most once, `E0244`).
    updated: BTreeSet<String>,
    /// Inside the right side of a whole rule (`φ_{t+1} ← φ_t − α ∂L/∂φ`), where a gradient
    /// with respect to one parameter is a value.
    in_rule: bool,
    /// The environment of the `env` line.
    env: Option<String>,
    /// The families unrolled member by member, by `for` clause (`ModelInfo::families`).
    families: BTreeMap<Span, Range>,
    /// The max-norm constraints checked so far (`ModelInfo::max_norms`).
    bounds: Vec<crate::ir::MaxNorm>,
    /// The numbers evaluated for lowering so far (`ModelInfo::numbers`); in a cell, since
    /// some are evaluated through `&self` closures (`ellipsis::expand_rows`).
    numbers: std::cell::RefCell<numbers::Numbers>,
    /// The initialisers and distributions resolved so far (`ModelInfo::inits`).
    inits: BTreeMap<String, crate::ir::Init>,
}

impl<'c, 'a> ModelCx<'c, 'a> {
    fn new(chk: &'c mut Checker<'a>) -> ModelCx<'c, 'a> {
        ModelCx {
            chk,
            scope: BTreeMap::new(),
            order: Vec::new(),
            groups: BTreeSet::new(),
            binds: Vec::new(),
            unrolled: 0,
            unknown: Vec::new(),
            unknown_spans: BTreeSet::new(),
            function: None,
            function_failed: false,
            poisoned_words: BTreeSet::new(),
            inputs: Vec::new(),
            model_name: String::new(),
            hyper_defs: BTreeMap::new(),
            bad_hypers: BTreeSet::new(),
            valueless: BTreeMap::new(),
            batch_sums: Vec::new(),
            loss_index: None,
            too_large: None,
            scaled: Vec::new(),
            recursive: BTreeSet::new(),
            inlined: 0,
            expanding: Vec::new(),
            nodewise: Vec::new(),
            node_defs: BTreeSet::new(),
            updated: BTreeSet::new(),
            in_rule: false,
            env: None,
            families: BTreeMap::new(),
            bounds: Vec::new(),
            numbers: Default::default(),
            inits: BTreeMap::new(),
        }
    }

    fn src(&self) -> &'a str {
        self.chk.src
    }

    fn error(&mut self, d: Diagnostic) {
        self.chk.diags.push(d);
    }
}

/// Renders a checked file for `nnspec check --dump shapes`.
pub fn dump(checked: &Checked) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for m in &checked.models {
        let hypers: Vec<String> = m
            .hypers
            .iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n} = {v}"),
                None => n.clone(),
            })
            .collect();
        let _ = writeln!(out, "model {}[{}]", m.name, hypers.join(", "));
        let width = m
            .symbols
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0);
        for s in &m.symbols {
            let ty = s.ty.to_string();
            let pad = width - s.name.chars().count();
            let per = if s.per_example { "  (per example)" } else { "" };
            let sep = if ty.starts_with('=') || ty.starts_with("user") {
                ""
            } else {
                ": "
            };
            let _ = writeln!(
                out,
                "  {:<6} {}{} {sep}{}{per}",
                s.kind.word(),
                s.name,
                " ".repeat(pad),
                ty
            );
        }
    }
    out
}
