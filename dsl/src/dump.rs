//! Text dumps of the AST (`nnspec check --dump ast`): one line per statement, expressions as
//! S-expressions with names in the spelling the user wrote. Stable: snapshots depend on it.

use crate::ast::{self, BinOp, Expr, ExprKind};
use crate::diag::line_col;
use std::fmt::Write;

/// Dumps a parsed file. `src` gives each statement its `line:col`.
pub fn ast(file: &ast::File, src: &str) -> String {
    let mut out = String::new();
    for m in &file.models {
        let hypers: Vec<String> = m
            .hypers
            .iter()
            .map(|h| match &h.default {
                Some(d) => format!("{} = {}", name(&h.name), expr(d)),
                None => name(&h.name),
            })
            .collect();
        let _ = writeln!(out, "(model {} [{}]", m.name.text, hypers.join(", "));
        for w in &m.env {
            let (l, c) = line_col(src, w.span.start as usize);
            let _ = writeln!(out, "  {l}:{c} (env {})", w.text);
        }
        for n in &m.max_norms {
            let (l, c) = line_col(src, n.span.start as usize);
            let _ = writeln!(out, "  {l}:{c} (≤ ‖{}‖ {})", expr(&n.of), expr(&n.bound));
        }
        for s in &m.stmts {
            let (l, c) = line_col(src, s.span.start as usize);
            let fam = match &s.family {
                Some(f) => {
                    let step = f.next.as_ref().map(|n| format!(" {}", expr(n)));
                    let mut v = format!(
                        " (for {} {}{} {}",
                        name(&f.var),
                        expr(&f.lo),
                        step.unwrap_or_default(),
                        expr(&f.hi)
                    );
                    let mut next = &f.second;
                    while let Some(g) = next {
                        v += &format!(", {} {} {}", name(&g.var), expr(&g.lo), expr(&g.hi));
                        next = &g.second;
                    }
                    v + ")"
                }
                None => String::new(),
            };
            let _ = writeln!(out, "  {l}:{c} {}{fam}", stmt(&s.kind));
        }
        out.push_str(")\n");
    }
    out
}

fn stmt(k: &ast::StmtKind) -> String {
    let typed = |v: &[ast::Typed]| {
        v.iter()
            .map(|t| format!("{} {}", name(&t.name), ty(&t.ty)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match k {
        ast::StmtKind::Input(v) => format!("(input {})", typed(v)),
        ast::StmtKind::Target(v) => format!("(target {})", typed(v)),
        ast::StmtKind::Param { items, group } => {
            let items: Vec<String> = items
                .iter()
                .map(|p| {
                    let init = match &p.init {
                        Some(i) => {
                            format!(" {} {}", if i.random { "~" } else { "=" }, expr(&i.expr))
                        }
                        None => String::new(),
                    };
                    let structure = p
                        .structure
                        .map(|st| format!(" ({})", st.words()))
                        .unwrap_or_default();
                    format!("{} {}{structure}{init}", name(&p.name), ty(&p.ty))
                })
                .collect();
            let group = group
                .as_ref()
                .map(|g| format!(" (in {})", name(g)))
                .unwrap_or_default();
            format!("(param {}{group})", items.join(", "))
        }
        ast::StmtKind::Noise {
            name: n,
            ty: t,
            dist,
        } => {
            let t = t
                .as_ref()
                .map(|t| format!(" {}", ty(t)))
                .unwrap_or_default();
            format!("(noise {}{t} ~ {})", name(n), expr(dist))
        }
        ast::StmtKind::Let {
            name: n,
            formals,
            body,
        } => {
            if formals.is_empty() {
                format!("(let {} {})", name(n), expr(body))
            } else {
                let f: Vec<String> = formals.iter().map(name).collect();
                format!("(let {}[{}] {})", name(n), f.join(", "), expr(body))
            }
        }
        ast::StmtKind::Equation { lhs, rhs, loss } => {
            let mut l = name(&lhs.name);
            if lhs.squared {
                l.push('²');
            }
            if let Some(args) = &lhs.args {
                let a: Vec<String> = args.iter().map(expr).collect();
                let _ = write!(l, "[{}]", a.join(", "));
            }
            format!("({} {l} {})", if *loss { "loss" } else { "=" }, expr(rhs))
        }
        ast::StmtKind::Update { lhs, rhs } => {
            let mut l = name(&lhs.name);
            if let Some(args) = &lhs.args {
                let a: Vec<String> = args.iter().map(expr).collect();
                let _ = write!(l, "[{}]", a.join(", "));
            }
            format!("(← {l} {})", expr(rhs))
        }
    }
}

fn ty(t: &ast::Type) -> String {
    let dims = |d: &[ast::Dim]| {
        if d.is_empty() {
            String::new()
        } else {
            format!(
                "^{{{}}}",
                d.iter()
                    .map(|d| expr(&d.expr))
                    .collect::<Vec<_>>()
                    .join("×")
            )
        }
    };
    match &t.kind {
        ast::TypeKind::Real(d) => format!("ℝ{}", dims(d)),
        ast::TypeKind::Label { set, dims: d } => {
            let s = match set {
                ast::LabelSet::Range(lo, hi) => format!("{} … {}", expr(lo), expr(hi)),
                ast::LabelSet::Set(v) => v.iter().map(expr).collect::<Vec<_>>().join(", "),
            };
            format!("{{{s}}}{}", dims(d))
        }
    }
}

/// A name in the spelling the user wrote, with its subscript in braces.
pub fn name(n: &ast::Name) -> String {
    let mut s = n.word.clone();
    for _ in 0..n.primes {
        s.push('\'');
    }
    if n.frozen {
        s.push('⁻');
    }
    if !n.sub.is_empty() {
        let items: Vec<String> = n.sub.iter().map(expr).collect();
        let _ = write!(s, "_{{{}}}", items.join(","));
    }
    if let Some(node) = &n.node {
        let _ = write!(s, "^{{({})}}", name(node));
    }
    s
}

/// An expression as an S-expression.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number(v) => format!("{v}"),
        ExprKind::Name(n) => name(n),
        ExprKind::Ones => "𝟏".to_string(),
        ExprKind::Identity => "I".to_string(),
        ExprKind::BatchSize => "|B|".to_string(),
        ExprKind::Call { func, args } => {
            let a: Vec<String> = args.iter().map(expr).collect();
            format!("{}[{}]", name(func), a.join(", "))
        }
        ExprKind::Neg(x) => format!("(neg {})", expr(x)),
        ExprKind::Binary { op, lhs, rhs } => {
            let sym = match op {
                BinOp::Juxt => "mul",
                o => o.symbol(),
            };
            format!("({sym} {} {})", expr(lhs), expr(rhs))
        }
        ExprKind::Paren(x) => expr(x),
        ExprKind::Transpose(x) => format!("(T {})", expr(x)),
        ExprKind::Power(b, p) => format!("(^ {} {})", expr(b), expr(p)),
        ExprKind::Norm(x) => format!("(norm {})", expr(x)),
        ExprKind::Sqrt(x) => format!("(sqrt {})", expr(x)),
        ExprKind::Big {
            op,
            binder,
            upper,
            body,
        } => {
            let sym = op.symbol();
            let mut head = sym.to_string();
            if let Some(b) = binder {
                if b.pair.is_empty() {
                    let _ = write!(head, "_{}", name(&b.var));
                } else {
                    let members: Vec<String> = b.pair.iter().map(name).collect();
                    let _ = write!(head, "_({})", members.join(","));
                }
                if let Some(lo) = &b.lo {
                    let _ = write!(head, "={}", expr(lo));
                }
                if let Some(set) = &b.set {
                    let _ = write!(head, "∈{}", expr(set));
                }
                if let Some(except) = &b.except {
                    let _ = write!(head, "≠{}", expr(except));
                }
            }
            if let Some(u) = upper {
                let _ = write!(head, "^{}", expr(u));
            }
            format!("({head} {})", expr(body))
        }
        ExprKind::Prob { event, given } => {
            let g: Vec<String> = given.iter().map(expr).collect();
            format!("(Pr {} | {})", expr(event), g.join(", "))
        }
        ExprKind::Deriv { of, wrt } => format!("(∂ {} / {})", expr(of), name(wrt)),
        ExprKind::Stack(rows) => {
            let rows: Vec<String> = rows
                .iter()
                .map(|row| {
                    let items: Vec<String> = row
                        .iter()
                        .map(|e| match e {
                            ast::Entry::Item(x) => expr(x),
                            ast::Entry::Ellipsis(_) => "…".to_string(),
                        })
                        .collect();
                    items.join(", ")
                })
                .collect();
            format!("(stack {})", rows.join("; "))
        }
    }
}
