//! Statements: declarations of inputs, targets, parameters and noise, `let` functions,
//! equations (with the example index of a left side, [`example_index`]), the model function
//! `f[x, φ] = …`, and the sub-model instances a model calls.

use super::shape::{Shape, Val};
use super::{Bound, Entry, Func, ModelCx, Sym, SymbolKind};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::names;
use std::collections::BTreeSet;

impl ModelCx<'_, '_> {
    pub(super) fn stmt(&mut self, s: &ast::Stmt) {
        self.batch_sums.clear();
        // `agg[n] = ∑_{m ∈ ne[n]} h_m`, `h_{k+1}^{(n)} = …`: the matrix equation it reads as.
        match self.nodewise(s) {
            Some(Some(rewritten)) => return self.stmt(&rewritten),
            Some(None) => return,
            None => {}
        }
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
                        let init = self.init(init);
                        self.inits.insert(name.clone(), init);
                    }
                    let Some(mut v) = ty else {
                        self.define(&name, Sym::Poisoned, p.name.span, None);
                        continue;
                    };
                    if let Some(st) = &p.structure
                        && !self.structure(&mut v, st, p)
                    {
                        self.define(&name, Sym::Poisoned, p.name.span, None);
                        continue;
                    }
                    {
                        if v.labels.is_some() && matches!(v.shape, Shape::Col(_)) {
                            if !self.label_table(&v, p) {
                                self.define(&name, Sym::Poisoned, p.name.span, None);
                                continue;
                            }
                        } else if v.labels.is_some() {
                            self.error(
                                Diagnostic::new(
                                    Code::E0315,
                                    p.ty.span,
                                    "a parameter must be real-valued",
                                )
                                .label("a label type")
                                .help("declare it as `ℝ`, `ℝ^{D}` or `ℝ^{D×E}`; a table of labels, one per state (a deterministic policy's actions), is a vector `π : {1 … A}^{S} = 1`"),
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
                let init = self.distribution(dist);
                self.inits.insert(canon.clone(), init);
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
            ast::StmtKind::Update { lhs, rhs } => self.update(lhs, rhs),
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

    pub(super) fn equation(&mut self, lhs: &ast::Lhs, rhs: &Expr, loss: bool) {
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

    /// The canonical names of the sub-model instances a model's equations create: the last
    /// argument of a call to another model of the file, directly or through `let g = Model`.
    pub(super) fn instance_names(&self, model: &ast::Model) -> BTreeSet<String> {
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
