//! Syntax lints that need the tree but no names (`exp(x)` for `exp[x]`, `E0106`), and
//! [`walk`], the pre-order expression visitor.

use crate::ast::{self, BinOp, Expr, ExprKind};
use crate::diag::{Code, Diagnostic};

/// Built-in function names that the book applies with square brackets.
const FUNCTION_WORDS: &[&str] = &[
    "exp",
    "log",
    "sin",
    "cos",
    "tanh",
    "sig",
    "sqrt",
    "ReLU",
    "softmax",
    "softplus",
    "Softmax",
    "logsumexp",
    "HardSwish",
    "LReLU",
    "Heaviside",
    "rect",
    "LayerNorm",
    "BatchNorm",
    "abs",
];

/// `y^{(i)}`: the course notes' example index as a superscript in parentheses, a name to the
/// power of a bracketed single letter. Its base and index, else `None`.
fn superscript_index(e: &Expr) -> Option<(String, String)> {
    let ExprKind::Power(base, exp) = &e.kind else {
        return None;
    };
    let (ExprKind::Name(_), ExprKind::Paren(inner)) = (&base.kind, &exp.kind) else {
        return None;
    };
    match &inner.kind {
        ExprKind::Name(i)
            if i.sub.is_empty()
                && i.primes == 0
                && i.word.chars().count() == 1
                && i.word.chars().all(char::is_lowercase) =>
        {
            Some((crate::dump::expr(base), i.word.clone()))
        }
        _ => None,
    }
}

/// `E0259` for every `y^{(i)}` in `e`, subscripts included (`S_{y^{(i)}}`): a power of a
/// bracketed letter, or, inside a subscript, a name with a node superscript (which only a
/// node-wise equation of a graph network gives a meaning, never a subscript's value).
fn lint_superscripts(e: &Expr, diags: &mut Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut subscripts = Vec::new();
    walk(e, &mut |x: &Expr| {
        found.push(x);
        let sub = match &x.kind {
            ExprKind::Name(n) => &n.sub,
            ExprKind::Call { func, .. } => &func.sub,
            _ => return,
        };
        subscripts.extend(sub.iter().map(|s| s.span));
    });
    for x in found {
        let inside = |s: &crate::diag::Span| s.start <= x.span.start && x.span.end <= s.end;
        let in_sub = subscripts.iter().any(inside);
        let (base, i, label) = match (&x.kind, superscript_index(x)) {
            (_, Some((base, i))) => (base, i, "read as a power here"),
            (ExprKind::Name(n), None) if in_sub && n.node.is_some() => {
                let mut plain = n.clone();
                let node = plain
                    .node
                    .take()
                    .map_or_else(String::new, |m| m.word.clone());
                (
                    crate::dump::expr(&Expr {
                        kind: ExprKind::Name(plain),
                        span: x.span,
                    }),
                    node,
                    "read as a graph node's superscript here",
                )
            }
            _ => continue,
        };
        diags.push(
            Diagnostic::new(
                Code::E0259,
                x.span,
                format!("`{base}^{{({i})}}` writes the example index as a superscript"),
            )
            .label(label)
            .help(format!(
                "the book indexes examples by a subscript: write `{base}_{i}`"
            )),
        );
    }
}

/// Syntax-level lints that need the tree but no names: `exp(x)` instead of `exp[x]`, the
/// superscript example index `y^{(i)}` (`E0259`), and a policy defined through one action's
/// probability (`E0250`).
pub(super) fn lint_stmt(stmt: &ast::Stmt, diags: &mut Vec<Diagnostic>) {
    if let ast::StmtKind::Equation { rhs, .. } = &stmt.kind {
        lint_superscripts(rhs, diags);
    }
    if let ast::StmtKind::Equation { lhs, .. } = &stmt.kind
        && let Some(bar) = lhs.given
    {
        diags.push(given_definition(lhs, bar));
    }
    let mut visit = |e: &Expr| {
        if let ExprKind::Binary {
            op: BinOp::Juxt,
            lhs,
            rhs,
        } = &e.kind
            && let ExprKind::Paren(_) = &rhs.kind
            && let ExprKind::Name(n) = &rightmost_factor(lhs).kind
            && n.sub.is_empty()
            && FUNCTION_WORDS.contains(&n.word.as_str())
        {
            diags.push(
                Diagnostic::new(
                    Code::E0106,
                    rightmost_factor(lhs).span.to(rhs.span),
                    format!("`{}` is applied with round brackets", n.word),
                )
                .label("round brackets only group")
                .help(format!(
                    "write `{}[…]`: square brackets apply a function",
                    n.word
                )),
            );
        }
    };
    match &stmt.kind {
        ast::StmtKind::Equation { rhs, .. } | ast::StmtKind::Update { rhs, .. } => {
            walk(rhs, &mut visit)
        }
        ast::StmtKind::Let { body, .. } => walk(body, &mut visit),
        ast::StmtKind::Noise { dist, .. } => walk(dist, &mut visit),
        ast::StmtKind::Param { items, .. } => {
            for it in items {
                if let Some(init) = &it.init {
                    walk(&init.expr, &mut visit);
                }
            }
        }
        ast::StmtKind::Input(_) | ast::StmtKind::Target(_) => {}
    }
}

/// `E0250`: `π[a|s, θ] = …` defines a policy through the probability of one action; the
/// function is the vector of all of them, which the bar then reads.
fn given_definition(lhs: &ast::Lhs, bar: crate::diag::Span) -> Diagnostic {
    let f = crate::names::literal(&lhs.name);
    Diagnostic::new(
        Code::E0250,
        bar,
        format!("`{f}[a|s, …]` defines one action's probability, not the policy"),
    )
    .label("a bar on the left side")
    .help(format!(
        "define the vector of action probabilities, `{f}[s, θ] = softmax[…]`; then `{f}[a_i|s_i, θ]` reads the probability of action a_i (its component a_i)"
    ))
}

/// The last factor of a juxtaposition chain: `log` in `y_i log`.
fn rightmost_factor(mut e: &Expr) -> &Expr {
    while let ExprKind::Binary {
        op: BinOp::Juxt,
        rhs,
        ..
    } = &e.kind
    {
        e = rhs;
    }
    e
}

/// Pre-order walk over an expression and its sub-expressions (subscripts included).
pub fn walk<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Number(_) | ExprKind::Ones | ExprKind::Identity | ExprKind::BatchSize => {}
        ExprKind::Name(n) => n.sub.iter().for_each(|s| walk(s, f)),
        ExprKind::Call { func, args } => {
            func.sub.iter().for_each(|s| walk(s, f));
            args.iter().for_each(|a| walk(a, f));
        }
        ExprKind::Neg(x)
        | ExprKind::Paren(x)
        | ExprKind::Transpose(x)
        | ExprKind::Norm(x)
        | ExprKind::Sqrt(x) => walk(x, f),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Power(lhs, rhs) => {
            walk(lhs, f);
            walk(rhs, f);
        }
        ExprKind::Big {
            binder,
            upper,
            body,
            ..
        } => {
            if let Some(b) = binder {
                b.lo.iter()
                    .chain(b.set.iter())
                    .chain(b.except.iter())
                    .for_each(|x| walk(x, f));
            }
            upper.iter().for_each(|x| walk(x, f));
            walk(body, f);
        }
        ExprKind::Prob { event, given } => {
            walk(event, f);
            given.iter().for_each(|g| walk(g, f));
        }
        ExprKind::Deriv { of, .. } => walk(of, f),
        ExprKind::Stack(rows) => rows.iter().flatten().for_each(|e| {
            if let crate::ast::Entry::Item(x) = e {
                walk(x, f);
            }
        }),
    }
}
