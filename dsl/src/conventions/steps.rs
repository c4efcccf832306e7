//! The fifth convention: **an update of a whole value is written at steps `t` and `t+1`.**
//!
//! The optimisers of chapter 6 are updates of whole values: eq. 6.15's
//! `m_{t+1} ← β m_t + (1 − β) ∂L/∂φ`, eq. 6.16's `m̃_{t+1} ← m_{t+1}/(1 − β^{t+1})`, eq. 6.17's
//! `φ_{t+1} ← φ_t − α m̃_{t+1}/(√ṽ_{t+1} + ε)`. In a `←` statement whose left side has no
//! bracketed indices (a *whole rule*), the subscript `t+1` on the left names the new value
//! and `t` is the step:
//!
//! - `X_t` on a right side (or `X` alone), for a name `X` some whole rule writes, is its value
//!   before the step; `X_{t+1}` is the new value an earlier rule computed (a later one is
//!   `E0246`: the rules are read in order, each new value from the values before it).
//! - A left side that is a parameter (`m`, `v`, `φ`) writes it at the end of the step; any
//!   other (`m̃`, `ṽ`) is a value of the step, read as `m̃_{t+1}`.
//! - `t` alone is the step counter, the number of steps taken before this one (0 at the first
//!   step, so `β^{t+1}` is the book's bias correction): an implicit parameter `t : ℝ = 0` that
//!   the rule `t ← t + 1` advances, unless the model declares its own `t`.
//!
//! The rewrite leaves left sides bare (`m`, `m̃`) and gives each new value the name
//! [`next_name`] (`m_{t+1}` as one word), which checking and lowering define.

use crate::ast::{self, BinOp, Expr, ExprKind, StmtKind};
use crate::diag::{Code, Diagnostic, Span};
use crate::names::literal;
use std::collections::BTreeSet;

/// The name of the new value of `base` (a bare name) in a whole rule: `m_{t+1}`, one word.
pub(crate) fn next_name(base: &str, span: Span) -> ast::Name {
    ast::Name {
        word: format!("{base}_{{t+1}}"),
        primes: 0,
        frozen: false,
        sub: Vec::new(),
        node: None,
        span,
    }
}

/// Whether `lhs` is the left side of a whole rule: a name with no bracketed indices, bare or
/// subscripted `t+1`.
pub(crate) fn is_whole(lhs: &ast::Lhs) -> bool {
    lhs.args.is_none()
        && !lhs.squared
        && lhs.name.node.is_none()
        && (lhs.name.sub.is_empty() || is_next(&lhs.name.sub))
}

/// `[t+1]`.
fn is_next(sub: &[Expr]) -> bool {
    matches!(sub, [Expr { kind: ExprKind::Binary { op: BinOp::Add, lhs, rhs }, .. }]
        if is_t(lhs) && matches!(rhs.kind, ExprKind::Number(1.0)))
}

/// The bare name `t`.
fn is_t(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Name(n) if n.is_bare("t"))
}

/// The name without its subscript, as text.
fn base(n: &ast::Name) -> String {
    literal(&ast::Name {
        sub: Vec::new(),
        ..n.clone()
    })
}

/// Applies the convention to `model`'s whole rules.
pub(super) fn apply(model: &mut ast::Model, diags: &mut Vec<Diagnostic>) {
    let rules: Vec<usize> = (model.stmts.iter().enumerate())
        .filter(|(_, s)| matches!(&s.kind, StmtKind::Update { lhs, .. } if is_whole(lhs)))
        .map(|(k, _)| k)
        .collect();
    if rules.is_empty() {
        return;
    }
    let written: BTreeSet<String> = rules
        .iter()
        .filter_map(|&k| match &model.stmts[k].kind {
            StmtKind::Update { lhs, .. } => Some(base(&lhs.name)),
            _ => None,
        })
        .collect();
    let mut done = BTreeSet::new();
    let mut counter: Option<Span> = None;
    for &k in &rules {
        let StmtKind::Update { lhs, rhs } = &mut model.stmts[k].kind else {
            continue;
        };
        lhs.name.sub.clear();
        rewrite(rhs, &written, &done, diags, &mut counter);
        done.insert(base(&lhs.name));
    }
    let declared = model.hypers.iter().any(|h| h.name.is_bare("t"))
        || model.stmts.iter().any(|s| match &s.kind {
            StmtKind::Input(items) | StmtKind::Target(items) => {
                items.iter().any(|t| t.name.is_bare("t"))
            }
            StmtKind::Param { items, .. } => items.iter().any(|t| t.name.is_bare("t")),
            _ => false,
        });
    if let Some(span) = counter.filter(|_| !declared && !written.contains("t")) {
        step_counter(model, span);
    }
}

/// Rewrites one right side; `counter` records where `t` is first read as a value.
fn rewrite(
    e: &mut Expr,
    written: &BTreeSet<String>,
    done: &BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
    counter: &mut Option<Span>,
) {
    if let ExprKind::Name(n) = &mut e.kind {
        let b = base(n);
        if written.contains(&b) && n.node.is_none() {
            if matches!(n.sub.as_slice(), [s] if is_t(s)) {
                n.sub.clear();
            } else if is_next(&n.sub) {
                if done.contains(&b) {
                    *n = next_name(&b, n.span);
                } else {
                    diags.push(
                        Diagnostic::new(
                            Code::E0246,
                            n.span,
                            format!("`{b}_{{t+1}}` is read before the rule that computes it"),
                        )
                        .label("the new value, not computed yet")
                        .help(format!("the rules of a step are read in order: put the rule `{b}_{{t+1}} ← …` before this one, or read the value before the step, `{b}_t`")),
                    );
                }
            }
        }
        if n.is_bare("t") {
            counter.get_or_insert(n.span);
        }
    }
    super::for_each_child(e, &mut |c| rewrite(c, written, done, diags, counter));
}

/// Declares the step counter `t : ℝ = 0` and appends its rule `t ← t + 1`.
fn step_counter(model: &mut ast::Model, span: Span) {
    let t = || Expr {
        kind: ExprKind::Name(ast::Name {
            word: "t".into(),
            primes: 0,
            frozen: false,
            sub: Vec::new(),
            node: None,
            span,
        }),
        span,
    };
    let ExprKind::Name(name) = t().kind else {
        return;
    };
    let zero = Expr {
        kind: ExprKind::Number(0.0),
        span,
    };
    let one = Expr {
        kind: ExprKind::Number(1.0),
        span,
    };
    let decl = ast::Stmt {
        kind: StmtKind::Param {
            items: vec![ast::ParamItem {
                name: name.clone(),
                ty: ast::Type {
                    kind: ast::TypeKind::Real(Vec::new()),
                    span,
                },
                structure: None,
                init: Some(ast::Init {
                    random: false,
                    expr: zero,
                    span,
                }),
            }],
            group: None,
        },
        family: None,
        span,
    };
    let rule = ast::Stmt {
        kind: StmtKind::Update {
            lhs: ast::Lhs {
                name,
                squared: false,
                args: None,
                given: None,
                span,
            },
            rhs: Expr::binary(BinOp::Add, t(), one),
        },
        family: None,
        span,
    };
    model.stmts.insert(0, decl);
    model.stmts.push(rule);
}
