//! The scope of a model: what a name can be bound to (`Sym`, `Func`), how an index variable
//! is bound (`Bound`), canonical names with evaluated subscripts, and definitions (a second
//! definition, a family member already declared as a component).

use super::builtins::{self, Builtin};
use super::shape::Val;
use super::{ModelCx, SymbolKind};
use crate::ast::{self, Expr};
use crate::diag::{Code, Diagnostic, Span};

/// A function a name can be bound to.
#[derive(Clone, Debug)]
pub(super) enum Func {
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
pub(super) enum Sym {
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
pub(super) struct Entry {
    pub(super) sym: Sym,
    pub(super) span: Span,
}

/// How an index variable is bound while checking an expression: the one reading's
/// [`crate::resolve::Index`].
pub(super) use crate::resolve::Index as Bound;

impl ModelCx<'_, '_> {
    pub(super) fn bound(&self, name: &str) -> Option<Bound> {
        self.binds
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b)
    }

    /// A name's canonical text with integer subscripts evaluated (`h_{k+1}` → `h_2`), by the
    /// one reading ([`crate::resolve::canonical`]).
    pub(super) fn canonical_plain(&self, n: &ast::Name) -> String {
        crate::resolve::canonical(n, self)
    }

    pub(super) fn index_text(&self, e: &Expr) -> String {
        crate::resolve::index_text(e, self)
    }

    /// Adds a name to the scope; reports a second definition.
    pub(super) fn define(&mut self, name: &str, sym: Sym, span: Span, kind: Option<SymbolKind>) {
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
    pub(super) fn declared_component(&mut self, name: &ast::Name, canon: &str, span: Span) -> bool {
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
}

/// A canonical name with one more prime: `h` → `h'`, `f_3` → `f'_3`, `φ⁻` → `φ'⁻`.
fn primed(name: &str) -> String {
    let base_end = name
        .char_indices()
        .find(|(_, c)| matches!(c, '_' | '⁻' | '²'))
        .map_or(name.len(), |(i, _)| i);
    format!("{}'{}", &name[..base_end], &name[base_end..])
}

impl crate::resolve::Names for ModelCx<'_, '_> {
    fn index(&self, var: &str) -> Option<Bound> {
        self.bound(var)
    }

    fn symbol(&self, name: &str) -> crate::resolve::Symbol {
        use crate::resolve::Symbol;
        match self.scope.get(name).map(|e| &e.sym) {
            None => Symbol::Unknown,
            Some(Sym::Hyper(v)) => Symbol::Hyper(*v),
            Some(Sym::Poisoned) => Symbol::Poisoned,
            Some(Sym::Data(_, v)) if v.labels.is_some() => match v.shape {
                super::shape::Shape::Col(_) => Symbol::Labels,
                _ => Symbol::Label,
            },
            Some(_) => Symbol::Other,
        }
    }
}
