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

pub(crate) mod builtins;
mod expr;
mod lets;
pub mod shape;
pub use lets::MAX_INLINED;

use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::dump;
use crate::eval::{Fail, Lookup};
use crate::names;
pub use builtins::Builtin;
use shape::{Dim, Labels, Poly, Shape, Val};
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
    /// Its type in the book's notation, with values: `ℝ^{D} (= ℝ^{64})`.
    pub ty: String,
    /// Whether it varies per example.
    pub per_example: bool,
    /// Where it is defined.
    pub span: Span,
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

/// A function a name can be bound to.
#[derive(Clone, Debug)]
enum Func {
    /// A built-in, with the subscript it was bound with (`LReLU_{0.1}`).
    Builtin(Builtin, builtins::Kind, Vec<Expr>),
    /// `let f[z] = body`.
    User { formals: Vec<String>, body: Expr },
    /// The model's own function `f[x, φ] = …`.
    Model {
        formals: Vec<Val>,
        group: String,
        out: Val,
    },
    /// Another model of the file.
    Sub(usize),
}

#[derive(Clone, Debug)]
enum Sym {
    Hyper(Option<f64>),
    Data(SymbolKind, Val),
    /// A parameter and the group it was declared in (`∈ θ`), if any.
    Param(Val, Option<String>),
    Value(Val),
    Func(Func),
    Group,
    /// A name whose definition had an error: uses of it are not reported again.
    Poisoned,
}

#[derive(Clone, Debug)]
struct Entry {
    sym: Sym,
    span: Span,
}

/// How an index variable is bound while checking an expression.
#[derive(Clone, Debug, PartialEq)]
enum Bound {
    /// A family variable or an unrolled sum index, with its current value.
    Int(i64),
    /// The example index of a sum over the batch (or of `ℓ_i = …`).
    Batch,
    /// `∑_j φ_j²`: runs over every entry of the parameter group.
    ParamIndex,
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
        }
    }

    fn src(&self) -> &'a str {
        self.chk.src
    }

    fn error(&mut self, d: Diagnostic) {
        self.chk.diags.push(d);
    }

    fn run(&mut self, model: &ast::Model) {
        self.model_name = model.name.text.clone();
        self.hypers(model);
        self.let_cycles(model);
        // Parameter groups are declared anywhere in the model; collect them first.
        for s in &model.stmts {
            if let ast::StmtKind::Param { group: Some(g), .. } = &s.kind {
                let name = self.canonical_plain(g);
                self.groups.insert(name);
            }
        }
        // With declared groups, a sub-model instance (`g[z, θ]`) is a group too: a loss over θ
        // trains that instance's parameters (the generator of eq. 15.5).
        if !self.groups.is_empty() {
            let instances = self.instance_names(model);
            self.groups.extend(instances);
        }
        // Consecutive statements with the same `for` clause unroll together, member by
        // member, so that `h_k = a[f_{k-1}]` and `f_k = β_k + Ω_k h_k` interleave as in eq. 7.24.
        for run in family_runs(&model.stmts) {
            self.family(run);
        }
        // Unknown names that a later equation defines were used too early.
        for (candidates, d) in std::mem::take(&mut self.unknown) {
            // Only a definition further down the file makes this a use before definition.
            let found = candidates.iter().find_map(|c| {
                self.scope
                    .get(c)
                    .filter(|e| e.span.start > d.span.start)
                    .map(|e| (c.clone(), e.clone()))
            });
            let d = match found {
                Some((name, e)) => {
                    let (line, _) = crate::diag::line_col(self.src(), e.span.start as usize);
                    let line_start = self.src()[..e.span.start as usize]
                        .rfind('\n')
                        .map_or(0, |i| i + 1);
                    let stmt = self.src()[line_start..].trim_start();
                    let what = if stmt.starts_with("let ") {
                        "its `let`"
                    } else if stmt.starts_with("loss ") {
                        "its `loss`"
                    } else {
                        "its equation"
                    };
                    Diagnostic::new(
                        Code::E0211,
                        d.span,
                        format!("`{name}` is used before {what} on line {line}"),
                    )
                    .label("used here")
                    .with(e.span, "defined here")
                    .help(format!(
                        "statements are read in order, as in the book: move line {line} above this use"
                    ))
                }
                None => d,
            };
            self.error(d);
        }
    }

    fn finish(self, model: &ast::Model) -> (ModelInfo, Interface) {
        let hypers = model
            .hypers
            .iter()
            .map(|h| {
                let name = self.canonical_plain(&h.name);
                let v = match self.scope.get(&name) {
                    Some(Entry {
                        sym: Sym::Hyper(v), ..
                    }) => *v,
                    _ => None,
                };
                (name, v)
            })
            .collect();
        let mut symbols = Vec::new();
        for (kind, name, display) in &self.order {
            let Some(e) = self.scope.get(name) else {
                continue;
            };
            let (ty, per_example, shown) = match &e.sym {
                Sym::Data(_, v) | Sym::Value(v) => (
                    describe(v),
                    v.per_example,
                    display.clone().unwrap_or_else(|| name.clone()),
                ),
                Sym::Param(v, group) => {
                    let ty = match group {
                        Some(g) => format!("{} ∈ {g}", describe(v)),
                        None => describe(v),
                    };
                    (ty, false, name.clone())
                }
                Sym::Func(Func::Builtin(b, _, sub)) => {
                    let sub = if sub.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "_{{{}}}",
                            sub.iter().map(dump::expr).collect::<Vec<_>>().join(",")
                        )
                    };
                    (format!("= {}{sub}", b.name()), false, name.clone())
                }
                Sym::Func(Func::User { formals, .. }) => (
                    "user function".to_string(),
                    false,
                    format!("{name}[{}]", formals.join(", ")),
                ),
                Sym::Func(Func::Model {
                    out,
                    group,
                    formals,
                }) => {
                    let args: Vec<&str> = self
                        .inputs
                        .iter()
                        .take(formals.len())
                        .map(String::as_str)
                        .collect();
                    (
                        describe(out),
                        out.per_example,
                        format!("{name}[{}, {group}]", args.join(", ")),
                    )
                }
                Sym::Func(Func::Sub(i)) => (
                    format!("= model {}", self.chk.file.models[*i].name.text),
                    false,
                    name.clone(),
                ),
                Sym::Hyper(_) | Sym::Group | Sym::Poisoned => continue,
            };
            symbols.push(SymbolInfo {
                kind: *kind,
                name: shown,
                ty,
                per_example,
                span: e.span,
            });
        }
        let inputs = self
            .inputs
            .iter()
            .filter_map(|n| match self.scope.get(n) {
                Some(Entry {
                    sym: Sym::Data(_, v),
                    ..
                }) => Some(v.clone()),
                _ => None,
            })
            .collect();
        let out = self
            .function
            .as_ref()
            .and_then(|f| match self.scope.get(f) {
                Some(Entry {
                    sym: Sym::Func(Func::Model { out, .. }),
                    ..
                }) => Some(out.clone()),
                _ => None,
            });
        (
            ModelInfo {
                name: model.name.text.clone(),
                hypers,
                symbols,
            },
            Interface {
                inputs,
                out,
                failed: self.function_failed,
                inlined: self.inlined,
            },
        )
    }

    // ------------------------------------------------------------------ hyper-parameters

    fn hypers(&mut self, model: &ast::Model) {
        for h in &model.hypers {
            let name = self.canonical_plain(&h.name);
            let overridden =
                self.chk.opts.overrides.iter().rev().find(|(m, n, _)| {
                    *n == name && m.as_ref().is_none_or(|m| *m == model.name.text)
                });
            let value = match (overridden, &h.default) {
                (Some((_, _, v)), _) => Some(*v),
                (None, Some(d)) => self.eval_num(d),
                (None, None) => None,
            };
            self.hyper_defs
                .insert(name.clone(), (h.span, overridden.is_some()));
            if let Some(v) = value
                && !v.is_finite()
            {
                self.bad_hypers.insert(name.clone());
                self.error(
                    Diagnostic::new(
                        Code::E0103,
                        h.span,
                        format!("`{name}` is not a finite number"),
                    )
                    .label("evaluates to ±∞ or NaN"),
                );
            }
            self.define(&name, Sym::Hyper(value), h.name.span, None);
        }
    }

    /// Evaluates a numeric expression over hyper-parameters and bound integers.
    /// `None` when it has no value (symbolic, or an error that was reported).
    fn eval_num(&mut self, e: &Expr) -> Option<f64> {
        let fail = match crate::eval::number(e, &|n| self.lookup_number(n)) {
            Ok(v) => return Some(v),
            Err(f) => f,
        };
        match fail {
            Fail::NoValue => {}
            Fail::NotFinite(x) => self.error(
                Diagnostic::new(Code::E0103, x.span, "this number is too large")
                    .label("not a finite number"),
            ),
            Fail::NotANumber(n, x) => {
                let name = self.canonical_plain(n);
                self.error(
                    Diagnostic::new(
                        Code::E0214,
                        x.span,
                        format!("`{name}` has no value here: only hyper-parameters and numbers can be used"),
                    )
                    .label("not a hyper-parameter"),
                );
            }
            Fail::Unknown(n, x) => {
                let name = self.canonical_plain(n);
                self.unknown_name(&name, x.span, n);
            }
            Fail::NotArithmetic(x) => self.error(
                Diagnostic::new(
                    Code::E0312,
                    x.span,
                    "expected a number or an expression of hyper-parameters",
                )
                .label("cannot be evaluated when the model is built"),
            ),
        }
        None
    }

    /// What a name is worth in a numeric expression: bound indices, then hyper-parameters.
    fn lookup_number(&self, n: &ast::Name) -> Lookup {
        let name = self.canonical_plain(n);
        match self.bound(&name) {
            Some(Bound::Int(v)) => return Lookup::Value(v as f64),
            Some(_) => return Lookup::NoValue,
            None => {}
        }
        match self.scope.get(&name) {
            Some(Entry {
                sym: Sym::Hyper(Some(v)),
                ..
            }) => Lookup::Value(*v),
            Some(Entry {
                sym: Sym::Hyper(None) | Sym::Poisoned,
                ..
            }) => Lookup::NoValue,
            Some(_) => Lookup::NotANumber,
            None => Lookup::Unknown,
        }
    }

    /// Evaluates an integer (family bounds, sum limits, subscripts); `None` if symbolic.
    fn eval_int_quiet(&self, e: &Expr) -> Option<i64> {
        crate::eval::integer(e, &|n| self.lookup_number(n))
    }

    fn eval_quiet(&self, e: &Expr) -> Option<f64> {
        crate::eval::number(e, &|n| self.lookup_number(n)).ok()
    }

    fn bound(&self, name: &str) -> Option<Bound> {
        self.binds
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
    }

    /// A name's canonical text with integer subscripts evaluated (`h_{k+1}` → `h_2`).
    fn canonical_plain(&self, n: &ast::Name) -> String {
        // A hyper-parameter is named as written: `D_h` stays `D_h` inside `for h ∈ …`.
        if !n.sub.is_empty() {
            let literal = crate::names::literal(n);
            if matches!(
                self.scope.get(&literal),
                Some(Entry {
                    sym: Sym::Hyper(_),
                    ..
                })
            ) {
                return literal;
            }
        }
        let items: Vec<String> = n.sub.iter().map(|s| self.index_text(s)).collect();
        names::build(&n.word, n.primes, n.frozen, &items)
    }

    fn index_text(&self, e: &Expr) -> String {
        if let Some(v) = self.eval_int_quiet(e) {
            return v.to_string();
        }
        match &e.kind {
            ExprKind::Name(n) => self.canonical_plain(n),
            _ => dump::expr(e),
        }
    }

    // ------------------------------------------------------------------ definitions

    /// Adds a name to the scope; reports a second definition.
    fn define(&mut self, name: &str, sym: Sym, span: Span, kind: Option<SymbolKind>) {
        if let Some(prev) = self.scope.get(name) {
            let by_equation = matches!(
                sym,
                Sym::Value(_) | Sym::Poisoned | Sym::Func(Func::Model { .. })
            );
            let (code, what) = match prev.sym {
                _ if !by_equation => (Code::E0202, "already defined"),
                Sym::Hyper(_) => (Code::E0207, "a hyper-parameter"),
                Sym::Data(SymbolKind::Input, _) => (Code::E0207, "an input"),
                Sym::Data(SymbolKind::Target, _) => (Code::E0207, "a target"),
                Sym::Data(_, _) => (Code::E0207, "noise"),
                Sym::Param(..) => (Code::E0207, "a parameter"),
                _ => (Code::E0202, "already defined"),
            };
            let d = if code == Code::E0202 {
                let family_var = self
                    .binds
                    .iter()
                    .rev()
                    .find(|(_, b)| matches!(b, Bound::Int(_)))
                    .map(|(v, _)| v.clone());
                if prev.span == span
                    && let Some(var) = family_var
                {
                    let d = Diagnostic::new(
                        code,
                        span,
                        format!("`{name}` does not depend on `{var}`, so its family declares it once per member"),
                    )
                    .label(format!("the same name for every `{var}`"));
                    match self.family_word_hint(name) {
                        Some(h) => d.help(h),
                        None => d.help(format!(
                            "give it a subscript `{var}`, or declare it on its own line without `for`"
                        )),
                    }
                } else {
                    let d = Diagnostic::new(code, span, format!("`{name}` is defined twice"))
                        .label("defined again here")
                        .with(prev.span, "first defined here");
                    match self.family_word_hint(name) {
                        Some(h) => d.help(h),
                        None if by_equation => d.help(format!(
                            "give the new quantity its own name, e.g. with a prime: `{}`",
                            primed(name)
                        )),
                        None => d,
                    }
                }
            } else {
                Diagnostic::new(
                    code,
                    span,
                    format!("`{name}` is {what}; an equation cannot redefine it"),
                )
                .label("redefined here")
                .with(prev.span, "declared here")
            };
            self.error(d);
            return;
        }
        self.scope.insert(name.to_string(), Entry { sym, span });
        if let Some(k) = kind {
            self.order.push((k, name.to_string(), None));
        }
    }

    /// `x_1 = …` where `x` is declared: a component of an input, target, noise or parameter
    /// cannot be redefined (it would silently replace it). Reports and
    /// returns false when `name` is such a component.
    fn declared_component(&mut self, name: &ast::Name, canon: &str, span: Span) -> bool {
        for len in 0..name.sub.len() {
            // Only a number picks a component: `D_KL` is not part of a hyper-parameter `D`.
            if self.eval_int_quiet(&name.sub[len]).is_none() {
                continue;
            }
            let mut prefix = name.clone();
            prefix.sub.truncate(len);
            let base = self.canonical_plain(&prefix);
            let what = match self.scope.get(&base).map(|e| (&e.sym, e.span)) {
                Some((Sym::Data(SymbolKind::Input, _), at)) => ("the input", at),
                Some((Sym::Data(SymbolKind::Target, _), at)) => ("the target", at),
                Some((Sym::Data(_, _), at)) => ("the noise", at),
                Some((Sym::Param(..), at)) => ("the parameter", at),
                _ => continue,
            };
            let d = Diagnostic::new(
                Code::E0207,
                span,
                format!(
                    "`{canon}` is part of {} `{base}`; an equation cannot redefine it",
                    what.0
                ),
            )
            .label("redefined here")
            .with(what.1, "declared here")
            .help(format!(
                "give the new quantity its own name, e.g. with a prime: `{}`",
                primed(canon)
            ));
            self.error(d);
            self.define(canon, Sym::Poisoned, span, None);
            return false;
        }
        true
    }

    /// After a family fails, the names it would have defined are not reported as unknown.
    fn poison_family(&mut self, group: &[ast::Stmt]) {
        let mut words = Vec::new();
        for s in group {
            match &s.kind {
                ast::StmtKind::Input(items) | ast::StmtKind::Target(items) => {
                    words.extend(items.iter().map(|t| &t.name));
                }
                ast::StmtKind::Param { items, .. } => words.extend(items.iter().map(|p| &p.name)),
                ast::StmtKind::Noise { name, .. } | ast::StmtKind::Let { name, .. } => {
                    words.push(name)
                }
                ast::StmtKind::Equation { lhs, .. } => words.push(&lhs.name),
            }
        }
        for n in words {
            let w = names::build(&n.word, n.primes, false, &[]);
            self.poisoned_words.insert(w);
        }
    }

    /// `θ_{d0}` in a family over `d`: the subscript is one word, not `d` then `0`.
    fn family_word_hint(&self, name: &str) -> Option<String> {
        let sub = name
            .split_once('_')?
            .1
            .trim_start_matches('{')
            .trim_end_matches('}');
        self.binds.iter().find_map(|(var, b)| {
            let rest = sub.strip_prefix(var.as_str())?;
            (matches!(b, Bound::Int(_)) && !rest.is_empty()).then(|| {
                format!("`{sub}` is one word, the same for every `{var}`: separate the indices with a comma, `_{{{var},{rest}}}`")
            })
        })
    }

    /// Runs statements once, or once per member of their (shared) family.
    fn family(&mut self, group: &[ast::Stmt]) {
        let Some(f) = group.first().and_then(|s| s.family.as_ref()) else {
            group.iter().for_each(|s| self.stmt(s));
            return;
        };
        let var = self.canonical_plain(&f.var);
        let (lo, hi) = (self.eval_int_quiet(&f.lo), self.eval_int_quiet(&f.hi));
        let (Some(lo), Some(hi)) = (lo, hi) else {
            let bad = if lo.is_none() { &f.lo } else { &f.hi };
            self.poison_family(group);
            if !self.range_without_value(bad, "the family's range") {
                self.error(
                    Diagnostic::new(Code::E0208, bad.span, "the family's range has no value")
                        .label("must evaluate to an integer")
                        .help("a range is built from numbers and hyper-parameters with values"),
                );
            }
            return;
        };
        if lo > hi.saturating_add(1) {
            self.poison_family(group);
            self.error(
                Diagnostic::new(
                    Code::E0313,
                    f.span,
                    format!("the range {{{lo} … {hi}}} runs backwards"),
                )
                .label("first value is past the last")
                .help("a range `{a … b}` needs a ≤ b (or b = a-1 for no members)"),
            );
            return;
        }
        let count = usize::try_from(hi.saturating_sub(lo).saturating_add(1)).unwrap_or(usize::MAX);
        if !self.reserve(count, f.span) {
            self.poison_family(group);
            return;
        }
        for k in lo..=hi {
            self.binds.push((var.clone(), Bound::Int(k)));
            group.iter().for_each(|s| self.stmt(s));
            self.binds.pop();
        }
    }

    /// A range bound with no value because of a hyper-parameter without one (reported once
    /// per hyper-parameter: later uses join the first diagnostic as labels) or an unknown
    /// name. False when neither is the cause.
    pub(super) fn range_without_value(&mut self, bad: &Expr, what: &str) -> bool {
        let mut valueless: Option<(String, Span, Option<f64>)> = None;
        let mut unknown: Option<(String, Span, ast::Name)> = None;
        crate::syntax::walk(bad, &mut |x| {
            let ExprKind::Name(n) = &x.kind else { return };
            let name = self.canonical_plain(n);
            if self.bound(&name).is_some() || name == "π" {
                return;
            }
            match self.scope.get(&name) {
                Some(Entry {
                    sym: Sym::Hyper(v), ..
                }) if valueless.is_none() && v.is_none_or(|v| v.fract() != 0.0) => {
                    valueless = Some((name, x.span, *v))
                }
                None if unknown.is_none() => unknown = Some((name, x.span, n.clone())),
                _ => {}
            }
        });
        if let Some((name, span, n)) = unknown {
            self.unknown_name(&name, span, &n);
            return true;
        }
        let Some((name, span, value)) = valueless else {
            return false;
        };
        if let Some(&i) = self.valueless.get(&name) {
            if let Some(d) = self.chk.diags.get_mut(i) {
                d.secondary.push(crate::diag::Label {
                    span,
                    message: format!("`{name}` is needed here too"),
                });
            }
            return true;
        }
        let (message, def_label) = match value {
            None => (
                format!("`{name}` has no value, so {what} cannot be evaluated"),
                "declared without a default".to_string(),
            ),
            Some(v) => (
                format!("`{name}` = {v} is not an integer, so {what} cannot be evaluated"),
                format!("{v} here"),
            ),
        };
        let mut d = Diagnostic::new(Code::E0208, span, message)
            .label("must evaluate to an integer")
            .help(format!(
                "give `{name}` {}, e.g. `model {}[{}]`, or set it with `--set {name}=3`",
                if value.is_some() {
                    "an integer value"
                } else {
                    "a default"
                },
                self.model_name,
                self.header_with(&name, "3")
            ));
        match self.hyper_defs.get(&name) {
            Some((_, true)) if value.is_some() => {
                d = d.note(format!(
                    "`{name}` is set to {} with `--set`",
                    value.unwrap_or_default()
                ));
            }
            Some((def, _)) => d = d.with(*def, def_label),
            None => {}
        }
        self.valueless.insert(name, self.chk.diags.len());
        self.error(d);
        true
    }

    /// The hyper-parameters as written in the header, with `name` given `value`.
    fn header_with(&self, name: &str, value: &str) -> String {
        let mut defs: Vec<(&String, &(Span, bool))> = self.hyper_defs.iter().collect();
        defs.sort_by_key(|(_, (span, _))| span.start);
        defs.iter()
            .map(|(n, (span, _))| {
                if n.as_str() == name {
                    format!("{name} = {value}")
                } else {
                    self.src().get(span.range()).unwrap_or(n).trim().to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Counts unrolled members; false (after a diagnostic) beyond [`MAX_UNROLL`]. A range
    /// that does not fit is not counted, so the ranges after it are judged on their own; the
    /// first one that does not fit is reported, later ones become labels of that report.
    pub(super) fn reserve(&mut self, count: usize, span: Span) -> bool {
        let total = self.unrolled.saturating_add(count);
        if total <= MAX_UNROLL {
            self.unrolled = total;
            return true;
        }
        let label = if count > MAX_UNROLL {
            format!("{count} members")
        } else {
            "with the ranges before it, this is too many".to_string()
        };
        if let Some(d) = self.too_large.and_then(|i| self.chk.diags.get_mut(i)) {
            if d.span != span && d.secondary.iter().all(|l| l.span != span) {
                d.secondary.push(crate::diag::Label {
                    span,
                    message: label,
                });
            }
            return false;
        }
        self.too_large = Some(self.chk.diags.len());
        self.error(
            Diagnostic::new(
                Code::E0405,
                span,
                format!("more than {MAX_UNROLL} members to unroll"),
            )
            .label(label)
            .help("write the quantity as a vector or matrix instead of one name per entry"),
        );
        false
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        self.batch_sums.clear();
        match &s.kind {
            ast::StmtKind::Input(items) | ast::StmtKind::Target(items) => {
                let kind = if matches!(s.kind, ast::StmtKind::Input(_)) {
                    SymbolKind::Input
                } else {
                    SymbolKind::Target
                };
                for t in items {
                    let name = self.canonical_plain(&t.name);
                    let Some(mut v) = self.ty(&t.ty) else {
                        self.define(&name, Sym::Poisoned, t.name.span, None);
                        continue;
                    };
                    v.per_example = true;
                    if kind == SymbolKind::Input {
                        self.inputs.push(name.clone());
                    }
                    self.define(&name, Sym::Data(kind, v), t.name.span, Some(kind));
                }
            }
            ast::StmtKind::Param { items, group } => {
                let group = group.as_ref().map(|g| self.canonical_plain(g));
                for p in items {
                    let name = self.canonical_plain(&p.name);
                    let ty = self.ty(&p.ty);
                    if let Some(init) = &p.init {
                        self.init(init);
                    }
                    let Some(v) = ty else {
                        self.define(&name, Sym::Poisoned, p.name.span, None);
                        continue;
                    };
                    {
                        if v.labels.is_some() {
                            self.error(
                                Diagnostic::new(
                                    Code::E0315,
                                    p.ty.span,
                                    "a parameter must be real-valued",
                                )
                                .label("a label type")
                                .help("declare it as `ℝ`, `ℝ^{D}` or `ℝ^{D×E}`"),
                            );
                            self.define(&name, Sym::Poisoned, p.name.span, None);
                            continue;
                        }
                        if let Some(g) = &group
                            && !self.scope.contains_key(g)
                        {
                            self.scope.insert(
                                g.clone(),
                                Entry {
                                    sym: Sym::Group,
                                    span: p.name.span,
                                },
                            );
                        }
                        self.define(
                            &name,
                            Sym::Param(v, group.clone()),
                            p.name.span,
                            Some(SymbolKind::Param),
                        );
                    }
                }
            }
            ast::StmtKind::Noise { name, ty, dist } => {
                let canon = self.canonical_plain(name);
                self.distribution(dist);
                let v = match ty {
                    Some(t) => self.ty(t),
                    None => Some(Val::scalar()),
                };
                match v {
                    Some(mut v) => {
                        v.per_example = true;
                        let sym = Sym::Data(SymbolKind::Noise, v);
                        self.define(&canon, sym, name.span, Some(SymbolKind::Noise));
                    }
                    None => self.define(&canon, Sym::Poisoned, name.span, None),
                }
            }
            ast::StmtKind::Let {
                name,
                formals,
                body,
            } => self.let_decl(name, formals, body),
            ast::StmtKind::Equation { lhs, rhs, loss } => self.equation(lhs, rhs, *loss),
        }
    }

    fn let_decl(&mut self, name: &ast::Name, formals: &[ast::Name], body: &Expr) {
        let canon = self.canonical_plain(name);
        if self.recursive.contains(&canon) {
            self.define(&canon, Sym::Poisoned, name.span, Some(SymbolKind::Function));
            return;
        }
        if !formals.is_empty() {
            let formals = formals.iter().map(|f| self.canonical_plain(f)).collect();
            let sym = Sym::Func(Func::User {
                formals,
                body: body.clone(),
            });
            self.define(&canon, sym, name.span, Some(SymbolKind::Function));
            return;
        }
        // `let a = ReLU`: a function if the body names one, otherwise a constant value.
        if let ExprKind::Name(n) = &body.kind
            && let Some(f) = self.function_named(n, body.span, true, &[])
        {
            self.define(&canon, Sym::Func(f), name.span, Some(SymbolKind::Function));
            return;
        }
        match self.expr(body) {
            Some(v) => self.define(&canon, Sym::Value(v), name.span, Some(SymbolKind::Value)),
            None => self.define(&canon, Sym::Poisoned, name.span, None),
        }
    }

    fn equation(&mut self, lhs: &ast::Lhs, rhs: &Expr, loss: bool) {
        // `f[x, φ] = …` defines the model function; `L[φ] = …` a loss over a parameter group.
        if let Some(args) = &lhs.args {
            if loss {
                self.loss(lhs, args, rhs);
            } else {
                self.model_function(lhs, args, rhs);
            }
            return;
        }
        let mut name = lhs.name.clone();
        let batch = example_index(lhs, rhs, |v| {
            self.bound(v).is_some() || self.scope.contains_key(v)
        });
        if batch.is_some() {
            name.sub.pop();
        }
        // `σ² = …` arrives as the name `σ²` (see `conventions`).
        let canon = self.canonical_plain(&name);
        if !self.declared_component(&name, &canon, lhs.span) {
            return;
        }
        if let Some(var) = &batch {
            self.binds.push((var.clone(), Bound::Batch));
        }
        let v = self.expr(rhs);
        if batch.is_some() {
            self.binds.pop();
        }
        let Some(mut v) = v else {
            self.define(&canon, Sym::Poisoned, lhs.span, None);
            return;
        };
        if batch.is_some() {
            v.per_example = true;
        }
        let kind = if loss {
            SymbolKind::Loss
        } else {
            SymbolKind::Value
        };
        if loss {
            self.check_loss_value(&v, rhs);
        }
        self.define(&canon, Sym::Value(v), lhs.span, Some(kind));
    }

    fn model_function(&mut self, lhs: &ast::Lhs, args: &[Expr], rhs: &Expr) {
        let canon = self.canonical_plain(&lhs.name);
        let mut formals = Vec::new();
        let mut group = None;
        for (k, a) in args.iter().enumerate() {
            let last = k + 1 == args.len();
            let ExprKind::Name(n) = &a.kind else {
                self.error(
                    Diagnostic::new(Code::E0215, a.span, "a function's arguments must be names")
                        .label("not a name")
                        .help("write the function of the model's inputs and parameters: `f[x, φ] = …`"),
                );
                self.define(&canon, Sym::Poisoned, lhs.span, None);
                self.function_failed = true;
                return;
            };
            let an = self.canonical_plain(n);
            match self.scope.get(&an) {
                Some(Entry {
                    sym: Sym::Data(SymbolKind::Input, v),
                    ..
                }) if !last || args.len() == 1 => {
                    formals.push(v.clone());
                }
                Some(Entry {
                    sym: Sym::Poisoned, ..
                }) => {
                    self.define(&canon, Sym::Poisoned, lhs.span, None);
                    self.function_failed = true;
                    return;
                }
                _ if last && args.len() > 1 => group = Some(an),
                _ => {
                    let base = names::build(&n.word, n.primes, false, &[]);
                    let help = if !n.sub.is_empty() && self.inputs.contains(&base) {
                        // `f[x_i, φ] = …`: the function is defined for the current example.
                        let group = args
                            .last()
                            .and_then(|g| self.src().get(g.span.range()))
                            .unwrap_or("φ");
                        format!(
                            "define it for the current example, `{canon}[{base}, {group}] = …`; `{an}` belongs in calls inside `∑_i`"
                        )
                    } else if self.inputs.is_empty() {
                        "declare it first: `input x : ℝ^{D_i}`".to_string()
                    } else {
                        format!("the model's inputs are {}", self.inputs.join(", "))
                    };
                    self.error(
                        Diagnostic::new(
                            Code::E0215,
                            a.span,
                            format!("`{an}` is not an input of this model"),
                        )
                        .label("expected an input")
                        .help(help),
                    );
                    self.define(&canon, Sym::Poisoned, lhs.span, None);
                    self.function_failed = true;
                    return;
                }
            }
        }
        let group = group.unwrap_or_else(|| "φ".to_string());
        if !self.groups.is_empty()
            && !self.groups.contains(&group)
            && !self.scope.contains_key(&group)
        {
            self.unknown_group(&group, args.last().map_or(lhs.span, |a| a.span));
        }
        let Some(out) = self.expr(rhs) else {
            self.define(&canon, Sym::Poisoned, lhs.span, None);
            self.function_failed = true;
            return;
        };
        if self.function.is_none() {
            self.function = Some(canon.clone());
        }
        let sym = Sym::Func(Func::Model {
            formals,
            group,
            out,
        });
        self.define(&canon, sym, lhs.span, Some(SymbolKind::Function));
    }

    fn loss(&mut self, lhs: &ast::Lhs, args: &[Expr], rhs: &Expr) {
        let canon = self.canonical_plain(&lhs.name);
        self.loss_index = match lhs.name.sub.last().map(|e| &e.kind) {
            Some(ExprKind::Name(n)) if n.sub.is_empty() => {
                Some((self.canonical_plain(n), lhs.name.span))
            }
            _ => None,
        };
        for a in args {
            let ExprKind::Name(n) = &a.kind else {
                self.error(
                    Diagnostic::new(
                        Code::E0210,
                        a.span,
                        "a loss is taken over a parameter group, such as `φ`",
                    )
                    .label("not a group name"),
                );
                continue;
            };
            let g = self.canonical_plain(n);
            if !self.groups.is_empty() && !self.groups.contains(&g) {
                self.unknown_group(&g, a.span);
            }
        }
        let v = self.expr(rhs);
        self.loss_index = None;
        let Some(v) = v else {
            self.define(&canon, Sym::Poisoned, lhs.span, None);
            return;
        };
        self.check_loss_value(&v, rhs);
        let shown = format!(
            "{canon}[{}]",
            args.iter()
                .map(|a| match &a.kind {
                    ExprKind::Name(n) => self.canonical_plain(n),
                    _ => dump::expr(a),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.define(&canon, Sym::Value(v), lhs.span, None);
        self.order.push((SymbolKind::Loss, canon, Some(shown)));
    }

    /// The canonical names of the sub-model instances a model's equations create: the last
    /// argument of a call to another model of the file, directly or through `let g = Model`.
    fn instance_names(&self, model: &ast::Model) -> BTreeSet<String> {
        let models: BTreeSet<&str> = self
            .chk
            .file
            .models
            .iter()
            .map(|m| m.name.text.as_str())
            .collect();
        let mut callees: BTreeSet<String> = models.iter().map(|m| m.to_string()).collect();
        for st in &model.stmts {
            if let ast::StmtKind::Let {
                name,
                formals,
                body,
            } = &st.kind
                && formals.is_empty()
                && let ExprKind::Name(n) = &body.kind
                && n.sub.is_empty()
                && models.contains(n.word.as_str())
            {
                callees.insert(name.word.clone());
            }
        }
        let mut out = BTreeSet::new();
        for st in &model.stmts {
            let ast::StmtKind::Equation { rhs, .. } = &st.kind else {
                continue;
            };
            crate::syntax::walk(rhs, &mut |e| {
                if let ExprKind::Call { func, args } = &e.kind
                    && func.sub.is_empty()
                    && callees.contains(&func.word)
                    && args.len() > 1
                    && let Some(ExprKind::Name(g)) = args.last().map(|a| &a.kind)
                {
                    out.insert(self.canonical_plain(g));
                }
            });
        }
        out
    }

    fn unknown_group(&mut self, g: &str, span: Span) {
        let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
        let mut d = Diagnostic::new(Code::E0210, span, format!("no parameter group `{g}`"))
            .label("not a group")
            .note(format!("the groups are {}", groups.join(", ")));
        if let Some(c) = names::closest(g, groups.iter().copied()) {
            d = d.help(format!("did you mean `{c}`?"));
        } else if let [only] = groups.as_slice() {
            d = d.help(format!(
                "the only parameter group of this model is `{only}`: write `[{only}]`"
            ));
        }
        self.error(d);
    }

    fn check_loss_value(&mut self, v: &Val, rhs: &Expr) {
        if !v.shape.is_scalar() {
            let d = Diagnostic::new(
                Code::E0305,
                rhs.span,
                format!(
                    "a loss must be a scalar, but this is {}",
                    v.shape.describe()
                ),
            )
            .label(v.shape.symbolic())
            .help(self.scalar_loss_help(rhs));
            self.error(d);
        } else if v.per_example {
            let d = Diagnostic::new(Code::E0306, rhs.span, "this loss is still per example")
                .label("varies from example to example")
                .help(self.batch_sum_help(rhs));
            self.error(d);
        }
    }

    /// How to make a vector loss a scalar: a squared norm for a square, else a sum of entries.
    fn scalar_loss_help(&self, rhs: &Expr) -> String {
        let mut square = None;
        crate::syntax::walk(rhs, &mut |x| {
            if let ExprKind::Power(b, p) = &x.kind
                && matches!(p.kind, ExprKind::Number(v) if v == 2.0)
                && square.is_none()
            {
                let inner = match &b.kind {
                    ExprKind::Paren(i) => i.span,
                    _ => b.span,
                };
                square = Some((x.span, inner));
            }
        });
        let text = |s: Span| self.src().get(s.range()).unwrap_or("");
        if let Some((sq, inner)) = square
            && !text(rhs.span).contains('\n')
        {
            let (before, after) = (
                &self.src()[rhs.span.start as usize..sq.start as usize],
                &self.src()[sq.end as usize..rhs.span.end as usize],
            );
            return format!(
                "for a sum of squares take the squared norm: `{before}‖{}‖²{after}`",
                text(inner)
            );
        }
        "sum the entries with a row of ones, `𝟏ᵀ(…)`, or take a norm, `‖…‖²`".to_string()
    }

    /// How to sum a per-example loss over the batch, naming the data it uses.
    fn batch_sum_help(&self, rhs: &Expr) -> String {
        let mut per_example: Vec<String> = Vec::new();
        crate::syntax::walk(rhs, &mut |x| {
            if let ExprKind::Name(n) = &x.kind
                && n.sub.is_empty()
            {
                let name = self.canonical_plain(n);
                let per = matches!(
                    self.scope.get(&name),
                    Some(Entry { sym: Sym::Data(_, v) | Sym::Value(v), .. }) if v.per_example
                );
                if per && !per_example.contains(&name) {
                    per_example.push(name);
                }
            }
        });
        if per_example.is_empty() {
            return "sum it over the batch: `∑_i …`".to_string();
        }
        let indexed: Vec<String> = per_example.iter().map(|n| format!("`{n}_i`")).collect();
        format!(
            "sum it over the batch: `∑_i …`, with {} for the i-th example",
            indexed.join(", ")
        )
    }

    // ------------------------------------------------------------------ types

    fn ty(&mut self, t: &ast::Type) -> Option<Val> {
        match &t.kind {
            ast::TypeKind::Real(dims) => {
                let shape = self.dims(dims, t.span)?;
                Some(Val::global(shape))
            }
            ast::TypeKind::Label { set, dims } => {
                let shape = self.dims(dims, t.span)?;
                let labels = match set {
                    ast::LabelSet::Range(lo, hi) => {
                        let lo_i = self.eval_num(lo)? as i64;
                        let count = self.dim(hi)?;
                        // {lo … hi} has hi - lo + 1 classes.
                        let sym = count.sym.add(&Poly::constant(1 - lo_i), 1);
                        let value = count.value.map(|h| h - lo_i + 1);
                        Labels {
                            lo: lo_i,
                            count: Dim {
                                sym,
                                value,
                                wild: false,
                            },
                        }
                    }
                    ast::LabelSet::Set(items) => {
                        let vals: Vec<Option<f64>> =
                            items.iter().map(|e| self.eval_num(e)).collect();
                        let ints: Vec<i64> = vals.iter().flatten().map(|v| *v as i64).collect();
                        let lo = ints.iter().copied().min().unwrap_or(0);
                        let hi = ints.iter().copied().max().unwrap_or(0);
                        let contiguous = (hi - lo + 1) as usize == ints.len();
                        if !contiguous {
                            self.error(
                                Diagnostic::new(
                                    Code::E0309,
                                    t.span,
                                    "label values must be consecutive integers",
                                )
                                .label("not of the form {a, a+1, …}")
                                .help("class labels are consecutive integers, e.g. `{0, 1}` or `{0 … K-1}`"),
                            );
                            return None;
                        }
                        Labels {
                            lo,
                            count: Dim::constant(hi - lo + 1),
                        }
                    }
                };
                Some(Val {
                    shape,
                    per_example: false,
                    labels: Some(labels),
                })
            }
        }
    }

    fn dims(&mut self, dims: &[ast::Dim], span: Span) -> Option<Shape> {
        let ds: Vec<Option<Dim>> = dims.iter().map(|d| self.dim(&d.expr)).collect();
        if ds.iter().any(Option::is_none) {
            return None;
        }
        let mut ds: Vec<Dim> = ds.into_iter().flatten().collect();
        match ds.len() {
            0 => Some(Shape::Scalar),
            1 => ds.pop().map(Shape::Col),
            2 => {
                let b = ds.pop()?;
                let a = ds.pop()?;
                Some(Shape::Mat(a, b))
            }
            n => {
                self.error(
                    Diagnostic::new(
                        Code::E0312,
                        span,
                        format!("{n} dimensions: only scalars, vectors and matrices"),
                    )
                    .label("too many dimensions")
                    .help(
                        "tensors beyond matrices are not supported yet; use a family of matrices",
                    ),
                );
                None
            }
        }
    }

    /// A dimension expression: a polynomial over hyper-parameters, with its value.
    fn dim(&mut self, e: &Expr) -> Option<Dim> {
        let sym = self.dim_poly(e)?;
        let value = self.eval_quiet(e);
        let value = match value {
            None => None,
            Some(v) if v.fract() == 0.0 && (1.0..1e12).contains(&v) => Some(v as i64),
            Some(v) => {
                self.bad_dimension(e, v);
                return None;
            }
        };
        Some(Dim {
            sym,
            value,
            wild: false,
        })
    }

    /// A dimension whose value is not a positive integer. When it is a hyper-parameter, its
    /// default is at fault: that is reported once, at the definition, with the first use.
    fn bad_dimension(&mut self, e: &Expr, v: f64) {
        let mut inner = e;
        while let ExprKind::Paren(x) = &inner.kind {
            inner = x;
        }
        let hyper = match &inner.kind {
            ExprKind::Name(n) if self.bound(&self.canonical_plain(n)).is_none() => {
                let name = self.canonical_plain(n);
                self.hyper_defs.get(&name).map(|d| (name, *d))
            }
            _ => None,
        };
        let Some((name, (def, overridden))) = hyper else {
            self.error(
                Diagnostic::new(
                    Code::E0309,
                    e.span,
                    format!("a dimension must be a positive integer, not {v}"),
                )
                .label("evaluates to this"),
            );
            return;
        };
        if !self.bad_hypers.insert(name.clone()) {
            return;
        }
        let label = if overridden {
            format!("set to {v} with `--set {name}=…`")
        } else {
            "not a positive integer".to_string()
        };
        self.error(
            Diagnostic::new(
                Code::E0309,
                def,
                format!("`{name}` = {v} is used as a dimension, but a dimension must be a positive integer"),
            )
            .label(label)
            .with(e.span, "used as a dimension here"),
        );
    }

    fn dim_poly(&mut self, e: &Expr) -> Option<Poly> {
        match &e.kind {
            ExprKind::Number(v) if v.fract() == 0.0 && v.abs() < 1e12 => {
                Some(Poly::constant(*v as i64))
            }
            ExprKind::Paren(x) => self.dim_poly(x),
            ExprKind::Name(n) => {
                let name = self.canonical_plain(n);
                if let Some(Bound::Int(v)) = self.bound(&name) {
                    return Some(Poly::constant(v));
                }
                match self.scope.get(&name) {
                    Some(Entry {
                        sym: Sym::Hyper(_), ..
                    }) => Some(Poly::var(&name)),
                    Some(_) => {
                        self.error(
                            Diagnostic::new(
                                Code::E0312,
                                e.span,
                                format!("`{name}` is not a hyper-parameter"),
                            )
                            .label("dimensions are built from hyper-parameters and numbers"),
                        );
                        None
                    }
                    None => {
                        self.unknown_name(&name, e.span, n);
                        None
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.dim_poly(lhs), self.dim_poly(rhs));
                let (a, b) = (a?, b?);
                match op {
                    ast::BinOp::Add => Some(a.add(&b, 1)),
                    ast::BinOp::Sub => Some(a.add(&b, -1)),
                    ast::BinOp::Div => match (a.as_constant(), b.as_constant()) {
                        (Some(x), Some(y)) if y != 0 && x % y == 0 => Some(Poly::constant(x / y)),
                        _ => {
                            self.error(
                                Diagnostic::new(
                                    Code::E0312,
                                    e.span,
                                    "a dimension cannot be divided",
                                )
                                .label("division in a dimension")
                                .help("add a hyper-parameter for the quotient, e.g. `[D_h = 32]`"),
                            );
                            None
                        }
                    },
                    _ => Some(a.mul(&b)),
                }
            }
            _ => {
                self.error(
                    Diagnostic::new(Code::E0312, e.span, "not a dimension")
                        .label("expected a number or a hyper-parameter"),
                );
                None
            }
        }
    }

    fn init(&mut self, init: &ast::Init) {
        if !init.random {
            let word = match &init.expr.kind {
                ExprKind::Name(n) | ExprKind::Call { func: n, .. } => Some(n.word.as_str()),
                _ => None,
            };
            if word.is_none_or(|w| !builtins::INITIALISERS.contains(&w)) {
                self.eval_num(&init.expr);
            } else {
                self.error(
                    Diagnostic::new(
                        Code::E0314,
                        init.span,
                        "`=` sets a parameter to a constant number",
                    )
                    .label("not a number")
                    .help("for a random initialiser write `~ He`, `~ Glorot`, `~ Norm[0, 0.01]`"),
                );
            }
            return;
        }
        self.distribution(&init.expr);
    }

    /// `He`, `Glorot`, `LeCun`, `Norm[μ, σ²]`, `Uniform[a, b]`, `Bernoulli[p]`.
    fn distribution(&mut self, e: &Expr) {
        let (word, args, span) = match &e.kind {
            ExprKind::Name(n) => (n.word.as_str(), None, n.span),
            ExprKind::Call { func, args } => (func.word.as_str(), Some(args), func.span),
            _ => {
                self.error(
                    Diagnostic::new(Code::E0314, e.span, "expected an initialiser or a distribution")
                        .label("after `~`")
                        .help("write `~ He`, `~ Glorot`, `~ LeCun`, `~ Norm[0, σ²]` or `~ Uniform[a, b]`; `= 0` for a constant"),
                );
                return;
            }
        };
        if !builtins::INITIALISERS.contains(&word) {
            let mut d = Diagnostic::new(Code::E0213, span, format!("unknown initialiser `{word}`"))
                .label("not an initialiser")
                .note(format!(
                    "the initialisers are {}",
                    builtins::INITIALISERS.join(", ")
                ));
            if let Some(c) = builtins::suggest_initialiser(word) {
                d = d.help(format!("did you mean `{c}`?"));
            }
            self.error(d);
            return;
        }
        let arity = match word {
            "Norm" | "Uniform" => 2,
            "Bernoulli" => 1,
            _ => 0,
        };
        let needs_args = arity > 0;
        match (needs_args, args) {
            (true, Some(a)) if word == "Bernoulli" && a.len() == 1 => {
                if self
                    .eval_quiet(&a[0])
                    .is_none_or(|p| !(0.0..=1.0).contains(&p))
                {
                    self.error(
                        Diagnostic::new(
                            Code::E0314,
                            a[0].span,
                            "`Bernoulli[p]` needs a probability `p` between 0 and 1",
                        )
                        .label("not a number in [0, 1]"),
                    );
                }
            }
            (true, Some(a)) if arity == 2 && a.len() == 2 => {
                for x in a {
                    // `I` (the identity) and numbers or hyper-parameters.
                    let is_identity =
                        matches!(&x.kind, ExprKind::Name(n) if n.word == "I" && n.sub.is_empty());
                    if !is_identity && self.eval_quiet(x).is_none() {
                        self.error(
                            Diagnostic::new(
                                Code::E0314,
                                x.span,
                                "a distribution's parameters must be numbers",
                            )
                            .label("not a number or hyper-parameter"),
                        );
                    }
                }
            }
            (true, _) => {
                let given = args.map_or(0, Vec::len);
                let form = match word {
                    "Norm" => "[μ, σ²]",
                    "Bernoulli" => "[p]",
                    _ => "[a, b]",
                };
                self.error(
                    Diagnostic::new(
                        Code::E0204,
                        e.span,
                        format!(
                            "`{word}` takes {arity} argument{}, but {given} {} given",
                            if arity == 1 { "" } else { "s" },
                            if given == 1 { "was" } else { "were" }
                        ),
                    )
                    .label(format!("expected `{word}{form}`")),
                )
            }
            (false, Some(_)) => self.error(
                Diagnostic::new(Code::E0204, e.span, format!("`{word}` takes no arguments"))
                    .label(format!("write `~ {word}`")),
            ),
            (false, None) => {}
        }
    }
}

/// Whether two statements carry the same `for` clause (same variable, same bounds as written).
/// The statements split into runs that unroll together: consecutive statements with the same
/// `for` clause form one run (member by member), every other statement a run of its own.
/// Lowering walks the same runs.
pub(crate) fn family_runs(stmts: &[ast::Stmt]) -> Vec<&[ast::Stmt]> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < stmts.len() {
        let mut j = i + 1;
        while j < stmts.len() && same_family(&stmts[i], &stmts[j]) {
            j += 1;
        }
        runs.push(&stmts[i..j]);
        i = j;
    }
    runs
}

/// `ℓ_i = …`: whether the left side's trailing subscript is the example index, and which.
///
/// It is when it is a plain name that is not known (`known`: bound, a hyper-parameter or
/// defined) and the right side uses it (`ℓ_i = (f[x_i, φ] − y_i)²`). Otherwise the subscript
/// is part of the defined name: `D_KL = …` defines `D_KL`. Checking and lowering both ask here.
pub(crate) fn example_index(
    lhs: &ast::Lhs,
    rhs: &Expr,
    known: impl Fn(&str) -> bool,
) -> Option<String> {
    let Some(ExprKind::Name(last)) = lhs.name.sub.last().map(|e| &e.kind) else {
        return None;
    };
    if !last.sub.is_empty() {
        return None;
    }
    let var = crate::names::literal(last);
    if known(&var) {
        return None;
    }
    // Uses inside the subscript of a known name (`KL` in `D_KL`) do not count.
    let mut used = false;
    let mut inside_known: Vec<Span> = Vec::new();
    crate::syntax::walk(rhs, &mut |e| {
        let ExprKind::Name(n) = &e.kind else { return };
        if n.sub.is_empty() {
            let shadowed = inside_known
                .iter()
                .any(|s| s.start <= e.span.start && e.span.end <= s.end);
            used |= !shadowed && crate::names::literal(n) == var;
        } else if known(&crate::names::literal(n)) {
            inside_known.push(e.span);
        }
    });
    used.then_some(var)
}

fn same_family(a: &ast::Stmt, b: &ast::Stmt) -> bool {
    match (&a.family, &b.family) {
        (Some(x), Some(y)) => {
            dump::name(&x.var) == dump::name(&y.var)
                && dump::expr(&x.lo) == dump::expr(&y.lo)
                && dump::expr(&x.hi) == dump::expr(&y.hi)
        }
        _ => false,
    }
}

/// A canonical name with one more prime: `h` → `h'`, `f_3` → `f'_3`, `φ⁻` → `φ'⁻`.
fn primed(name: &str) -> String {
    let base_end = name
        .char_indices()
        .find(|(_, c)| matches!(c, '_' | '⁻' | '²'))
        .map_or(name.len(), |(i, _)| i);
    format!("{}'{}", &name[..base_end], &name[base_end..])
}

fn describe(v: &Val) -> String {
    match &v.labels {
        Some(l) => {
            let (lo, sym) = (l.lo, l.count.sym.add(&Poly::constant(l.lo - 1), 1));
            let set = format!("{{{lo} … {sym}}}");
            if v.shape.is_scalar() {
                set
            } else {
                format!("{set}^{}", v.shape.symbolic().trim_start_matches("ℝ^"))
            }
        }
        None => v.shape.describe(),
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
            let pad = width - s.name.chars().count();
            let per = if s.per_example { "  (per example)" } else { "" };
            let sep = if s.ty.starts_with('=') || s.ty.starts_with("user") {
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
                s.ty
            );
        }
    }
    out
}
