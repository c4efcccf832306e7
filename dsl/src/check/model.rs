//! Checking one model: the driver that reads its statements in source order (hyper-parameters,
//! `let` cycles, parameter groups, then each family run), turns the unknown names a later
//! equation defines into `E0211`, and the model's info (for dumps) and interface (for callers).

use super::shape::Val;
use super::{Entry, Func, ModelCx, Sym};
use super::{Interface, ModelInfo, SymbolInfo, SymbolType};
use crate::ast::{self};
use crate::diag::{Code, Diagnostic};
use crate::names;
use std::collections::BTreeMap;

/// The environments `env NAME` may name (`runtime::env::NAMES`, which a test keeps equal).
pub const ENVIRONMENTS: &[&str] = &["Bandit", "CartPole", "FrozenLake", "FrozenLakeSlippery"];

impl ModelCx<'_, '_> {
    /// `env CartPole`: a built-in environment (`E0240`), at most one (`E0241`).
    fn env(&mut self, model: &ast::Model) {
        self.env = model.env.first().map(|w| w.text.clone());
        for (k, w) in model.env.iter().enumerate() {
            if k > 0 {
                self.error(
                    Diagnostic::new(
                        Code::E0241,
                        w.span,
                        format!("`{}` has a second environment", model.name.text),
                    )
                    .label("a second `env` line")
                    .with(model.env[0].span, "the first")
                    .help("a model acts in one environment: keep one `env` line"),
                );
            } else if !ENVIRONMENTS.contains(&w.text.as_str()) {
                let mut d = Diagnostic::new(
                    Code::E0240,
                    w.span,
                    format!("unknown environment `{}`", w.text),
                )
                .label("not a built-in environment")
                .help(format!("the environments are {}", ENVIRONMENTS.join(", ")));
                if let Some(c) = names::closest(&w.text, ENVIRONMENTS.iter().copied()) {
                    d = d.help(format!("did you mean `{c}`?"));
                }
                self.error(d);
            }
        }
    }

    pub(super) fn run(&mut self, model: &ast::Model) {
        self.model_name = model.name.text.clone();
        self.env(model);
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
        for run in super::entrywise::runs(&model.stmts) {
            self.family(run);
        }
        self.max_norms(model);
        self.rules_and_losses(model);
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

    pub(super) fn finish(self, model: &ast::Model) -> (ModelInfo, Interface) {
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
        let mut declared = BTreeMap::new();
        for (kind, name, display) in &self.order {
            let Some(e) = self.scope.get(name) else {
                continue;
            };
            let val = |v: &Val, group: Option<&String>| SymbolType::Val {
                val: v.clone(),
                group: group.cloned(),
            };
            let (ty, per_example, shown) = match &e.sym {
                Sym::Data(_, v) | Sym::Value(v) => (
                    val(v, None),
                    v.per_example,
                    display.clone().unwrap_or_else(|| name.clone()),
                ),
                Sym::Param(v, group) => (val(v, group.as_ref()), false, name.clone()),
                Sym::Func(Func::Builtin(b, _, sub)) => {
                    (SymbolType::Builtin(*b, sub.clone()), false, name.clone())
                }
                Sym::Func(Func::User { formals, .. }) => (
                    SymbolType::User,
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
                        val(out, None),
                        out.per_example,
                        format!("{name}[{}, {group}]", args.join(", ")),
                    )
                }
                Sym::Func(Func::Sub(i)) => (
                    SymbolType::Model(self.chk.file.models[*i].name.text.clone()),
                    false,
                    name.clone(),
                ),
                Sym::Hyper(_) | Sym::Group | Sym::Poisoned => continue,
            };
            if matches!(e.sym, Sym::Data(..) | Sym::Param(..)) {
                declared.insert(name.clone(), symbols.len());
            }
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
                nodewise: self.nodewise,
                declared,
                families: self.families,
                max_norms: self.bounds,
                numbers: self.numbers.into_inner(),
                inits: self.inits,
            },
            Interface {
                inputs,
                out,
                failed: self.function_failed,
                inlined: self.inlined,
            },
        )
    }
}
