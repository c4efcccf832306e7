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
//! The course notes' bandit chooses its action at time step `t`, `A_t = argmax_a (Q_t(a) + c
//! √(ln t / N_t(a)))`: there `t` is the number of the step whose action `A_t` is, from 1
//! ([`action_step`]), an implicit `t : ℝ = 1` advanced by the same rule.
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

/// Applies the convention to `model`'s whole rules, after the action's time step
/// ([`action_step`]).
pub(super) fn apply(model: &mut ast::Model, diags: &mut Vec<Diagnostic>) {
    action_step(model, diags);
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
    let declared = declares_t(model);
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

/// Whether `e` reads the bare name `t`; its first place.
fn reads_t(e: &mut Expr, at: &mut Option<Span>) {
    if let ExprKind::Name(n) = &e.kind
        && n.is_bare("t")
    {
        at.get_or_insert(n.span);
    }
    super::for_each_child(e, &mut |c| reads_t(c, at));
}

/// The course notes' action at time step `t`, `A_t = argmax_a (Q_t(a) + c √(ln t / N_t(a)))`,
/// in a model with update rules: `t` read on its right side is the step whose action it
/// chooses, counted from 1 as the notes count the steps of a game (`A_1` is the first
/// action). As in a whole rule, `t` is the index of what the statement defines: `φ_{t+1}`
/// is made at step `t` from `φ_0`, so there `t` starts at 0; `A_t`'s first value is `A_1`, so
/// here it starts at 1. It is an implicit parameter `t : ℝ = 1` advanced by `t ← t + 1`
/// with every update step, unless the model declares its own `t`. A model that also reads
/// `t` in a whole rule would count it both ways: `E0230`.
fn action_step(model: &mut ast::Model, diags: &mut Vec<Diagnostic>) {
    let declared = declares_t(model);
    let mut action = None;
    let mut whole = None;
    let mut rules = false;
    for st in &mut model.stmts {
        match &mut st.kind {
            StmtKind::Equation { lhs, rhs, .. }
                if lhs.args.is_none()
                    && lhs.name.word == "A"
                    && lhs.name.primes == 0
                    && matches!(lhs.name.sub.as_slice(), [s] if is_t(s)) =>
            {
                reads_t(rhs, &mut action);
            }
            StmtKind::Update { lhs, rhs } => {
                rules = true;
                if is_whole(lhs) {
                    reads_t(rhs, &mut whole);
                }
            }
            _ => {}
        }
    }
    let Some(span) = action.filter(|_| rules && !declared) else {
        return;
    };
    if let Some(at) = whole {
        diags.push(
            Diagnostic::new(
                Code::E0230,
                at,
                "`t` is read by a whole rule, counting from 0, and by the action `A_t`, counting from 1",
            )
            .label("the steps taken before this one")
            .help("a whole rule's `t` is the number of steps before this one (`φ_{t+1}` from `φ_0`) and `A_t`'s the number of this step (`A_1` first); declare the counter you mean, `param t : ℝ = 0` or `= 1`, with its rule `t ← t + 1`"),
        );
        return;
    }
    insert_counter(model, span, 1.0);
}

/// Whether the model declares a name `t` itself (a hyper-parameter, data or a parameter).
fn declares_t(model: &ast::Model) -> bool {
    model.hypers.iter().any(|h| h.name.is_bare("t"))
        || model.stmts.iter().any(|s| match &s.kind {
            StmtKind::Input(items) | StmtKind::Target(items) => {
                items.iter().any(|t| t.name.is_bare("t"))
            }
            StmtKind::Param { items, .. } => items.iter().any(|t| t.name.is_bare("t")),
            _ => false,
        })
}

/// Declares the step counter `t : ℝ = 0` and appends its rule `t ← t + 1`.
fn step_counter(model: &mut ast::Model, span: Span) {
    insert_counter(model, span, 0.0);
}

/// Declares a counter `t : ℝ = start` and appends its rule `t ← t + 1`.
fn insert_counter(model: &mut ast::Model, span: Span, start: f64) {
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
    let first = Expr {
        kind: ExprKind::Number(start),
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
                    expr: first,
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
