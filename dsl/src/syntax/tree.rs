//! The tree of a file from pest's pairs: models, hyper-parameters, statements (a `param`
//! line with several group or `for` clauses becomes one declaration per clause), left-hand
//! sides, families, types and dimensions.

use super::Rule;
use super::expr::{build_expr, build_name, fold_binary, number};
use crate::ast::{self, Expr, ExprKind};
use crate::diag::Span;
use pest::iterators::Pair;

/// A pair's span without the trailing whitespace and comments pest may have consumed.
pub(super) fn span_of(p: &Pair<'_, Rule>) -> Span {
    let s = p.as_span();
    let text = s.as_str();
    let mut end = text.len();
    // Drop a trailing comment, then whitespace.
    if let Some(hash) = text.rfind('#')
        && !text[hash..].contains('\n')
        && text[..hash].ends_with(char::is_whitespace)
    {
        end = hash;
    }
    end = text[..end]
        .trim_end()
        .len()
        .max(usize::from(end > 0 && text[..end].trim_end().is_empty()));
    Span::new(s.start(), s.start() + end.min(text.len()))
}

pub(super) fn build_file(p: Pair<'_, Rule>) -> ast::File {
    let models = p
        .into_inner()
        .filter(|p| p.as_rule() == Rule::model)
        .map(build_model)
        .collect();
    ast::File { models }
}

fn build_model(p: Pair<'_, Rule>) -> ast::Model {
    let span = span_of(&p);
    let mut name = None;
    let mut hypers = Vec::new();
    let mut stmts = Vec::new();
    let mut env = Vec::new();
    let mut max_norms = Vec::new();
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::word => {
                name = Some(ast::Word {
                    text: c.as_str().to_string(),
                    span: span_of(&c),
                })
            }
            Rule::hypers => {
                for h in c.into_inner() {
                    let hspan = span_of(&h);
                    let mut it = h.into_inner();
                    let name = it
                        .next()
                        .map(build_name)
                        .unwrap_or_else(|| empty_name(hspan));
                    let default = it.next().map(build_expr);
                    hypers.push(ast::Hyper {
                        name,
                        default,
                        span: hspan,
                    });
                }
            }
            Rule::stmt => match c.clone().into_inner().next() {
                Some(e) if e.as_rule() == Rule::env_decl => {
                    if let Some(w) = e.into_inner().find(|w| w.as_rule() == Rule::word) {
                        env.push(ast::Word {
                            text: w.as_str().to_string(),
                            span: span_of(&w),
                        });
                    }
                }
                Some(e) if e.as_rule() == Rule::max_norm => {
                    let mspan = span_of(&e);
                    let mut it = e.into_inner();
                    let of = it
                        .next()
                        .and_then(|n| n.into_inner().next())
                        .map(build_expr);
                    let bound = it.next().map(build_expr);
                    if let (Some(of), Some(bound)) = (of, bound) {
                        max_norms.push(ast::MaxNorm {
                            of,
                            bound,
                            span: mspan,
                        });
                    }
                }
                _ => stmts.extend(build_stmts(c)),
            },
            _ => {}
        }
    }
    let name = name.unwrap_or(ast::Word {
        text: String::new(),
        span,
    });
    ast::Model {
        name,
        hypers,
        stmts,
        env,
        max_norms,
        span,
    }
}

pub(super) fn empty_name(span: Span) -> ast::Name {
    ast::Name {
        word: String::new(),
        primes: 0,
        frozen: false,
        sub: Vec::new(),
        node: None,
        span,
    }
}

/// A statement of the grammar as statements of the tree: a `param` declaration whose items
/// carry their own group or `for` clause (`param β : ℝ^D ∈ θ, ω : ℝ ∈ ψ`) becomes one
/// declaration per clause, each holding the items written before its clause.
fn build_stmts(p: Pair<'_, Rule>) -> Vec<ast::Stmt> {
    let is_param = p
        .clone()
        .into_inner()
        .next()
        .is_some_and(|s| s.as_rule() == Rule::param_decl);
    if !is_param {
        return vec![build_stmt(p)];
    }
    let span = span_of(&p);
    let Some(decl) = p.into_inner().next() else {
        return Vec::new();
    };
    let mut out: Vec<ast::Stmt> = Vec::new();
    let mut items: Vec<ast::ParamItem> = Vec::new();
    let mut group = None;
    let mut family = None;
    let mut start = span.start;
    let mut end = span.start;
    let mut flush = |items: &mut Vec<ast::ParamItem>,
                     group: &mut Option<ast::Name>,
                     family: &mut Option<ast::Family>,
                     start: u32,
                     end: u32| {
        if !items.is_empty() {
            out.push(ast::Stmt {
                kind: ast::StmtKind::Param {
                    items: std::mem::take(items),
                    group: group.take(),
                },
                family: family.take(),
                span: Span { start, end },
            });
        }
    };
    for c in decl.into_inner() {
        let cspan = span_of(&c);
        match c.as_rule() {
            Rule::param_item => {
                if group.is_some() || family.is_some() {
                    flush(&mut items, &mut group, &mut family, start, end);
                    start = cspan.start;
                }
                if let Some(item) = build_param_item(c) {
                    items.push(item);
                }
            }
            Rule::group => {
                group = c
                    .into_inner()
                    .find(|n| n.as_rule() == Rule::name)
                    .map(build_name)
            }
            Rule::family => family = Some(build_family(c)),
            _ => continue,
        }
        end = cspan.end;
    }
    flush(&mut items, &mut group, &mut family, start, end);
    // One clause (or none): the statement keeps its whole span, as any other.
    if let [only] = out.as_mut_slice() {
        only.span = span;
    }
    out
}

fn build_param_item(c: Pair<'_, Rule>) -> Option<ast::ParamItem> {
    let mut it = c.into_inner();
    let (n, t) = (it.next()?, it.next()?);
    let mut structure = None;
    let mut init = None;
    for c in it {
        if c.as_rule() == Rule::structure {
            structure = Some(build_structure(&c));
        } else {
            init = Some(build_init(c));
        }
    }
    Some(ast::ParamItem {
        name: build_name(n),
        ty: build_type(t),
        structure,
        init,
    })
}

/// `lower triangular`, `unit lower triangular`, `strictly upper triangular`, `diagonal`.
fn build_structure(c: &Pair<'_, Rule>) -> ast::Structure {
    let text = c.as_str();
    let words: Vec<&str> = text.split_whitespace().collect();
    let diagonal = match words.first() {
        Some(&"unit") => ast::OnDiagonal::One,
        Some(&"strictly") => ast::OnDiagonal::Zero,
        _ => ast::OnDiagonal::Free,
    };
    ast::Structure {
        below: words.contains(&"lower"),
        above: words.contains(&"upper"),
        diagonal,
        span: span_of(c),
    }
}

fn build_stmt(p: Pair<'_, Rule>) -> ast::Stmt {
    let span = span_of(&p);
    let inner = p.into_inner().next();
    let Some(s) = inner else {
        // The grammar never produces an empty statement; keep the tree total anyway.
        return ast::Stmt {
            kind: ast::StmtKind::Input(Vec::new()),
            family: None,
            span,
        };
    };
    let rule = s.as_rule();
    let mut family = None;
    let mut typed = Vec::new();
    let mut items = Vec::new();
    let mut group = None;
    let mut names = Vec::new();
    let mut exprs = Vec::new();
    let mut ty = None;
    let mut lhs = None;
    let mut formals = Vec::new();
    for c in s.into_inner() {
        match c.as_rule() {
            Rule::family => family = Some(build_family(c)),
            Rule::typed => {
                let mut it = c.into_inner();
                if let (Some(n), Some(t)) = (it.next(), it.next()) {
                    typed.push(ast::Typed {
                        name: build_name(n),
                        ty: build_type(t),
                    });
                }
            }
            Rule::param_item => items.extend(build_param_item(c)),
            Rule::group => {
                group = c
                    .into_inner()
                    .find(|n| n.as_rule() == Rule::name)
                    .map(build_name)
            }
            Rule::name => names.push(build_name(c)),
            Rule::type_expr => ty = Some(build_type(c)),
            Rule::expr => exprs.push(build_expr(c)),
            Rule::lhs => lhs = Some(build_lhs(c)),
            Rule::formals => formals = c.into_inner().map(build_name).collect(),
            _ => {}
        }
    }
    let first_name = || names.first().cloned().unwrap_or_else(|| empty_name(span));
    let first_expr = |exprs: &mut Vec<Expr>| {
        if exprs.is_empty() {
            Expr {
                kind: ExprKind::Number(0.0),
                span,
            }
        } else {
            exprs.remove(0)
        }
    };
    let kind = match rule {
        Rule::input_decl => ast::StmtKind::Input(typed),
        Rule::target_decl => ast::StmtKind::Target(typed),
        Rule::param_decl => ast::StmtKind::Param { items, group },
        Rule::noise_decl => ast::StmtKind::Noise {
            name: first_name(),
            ty,
            dist: first_expr(&mut exprs),
        },
        Rule::let_decl => ast::StmtKind::Let {
            name: first_name(),
            formals,
            body: first_expr(&mut exprs),
        },
        Rule::update => ast::StmtKind::Update {
            lhs: lhs.unwrap_or_else(|| ast::Lhs {
                name: empty_name(span),
                squared: false,
                args: None,
                given: None,
                span,
            }),
            rhs: first_expr(&mut exprs),
        },
        _ => ast::StmtKind::Equation {
            lhs: lhs.unwrap_or_else(|| ast::Lhs {
                name: empty_name(span),
                squared: false,
                args: None,
                given: None,
                span,
            }),
            rhs: first_expr(&mut exprs),
            loss: rule == Rule::loss_eq,
        },
    };
    ast::Stmt { kind, family, span }
}

fn build_init(p: Pair<'_, Rule>) -> ast::Init {
    let span = span_of(&p);
    let random = p.as_str().trim_start().starts_with('~');
    let expr = p.into_inner().next().map(build_expr).unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    });
    ast::Init { random, expr, span }
}

fn build_lhs(p: Pair<'_, Rule>) -> ast::Lhs {
    let span = span_of(&p);
    let mut name = None;
    let mut squared = false;
    let mut args: Option<Vec<Expr>> = None;
    let mut given = None;
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::name => name = Some(build_name(c)),
            Rule::square => squared = true,
            Rule::number => squared = c.as_str() == "2" || squared,
            Rule::expr => args.get_or_insert_with(Vec::new).push(build_expr(c)),
            Rule::given_bar => given = Some(span_of(&c)),
            _ => {}
        }
    }
    ast::Lhs {
        name: name.unwrap_or_else(|| empty_name(span)),
        squared,
        args,
        given,
        span,
    }
}

fn build_family(p: Pair<'_, Rule>) -> ast::Family {
    let span = span_of(&p);
    let mut vars = p
        .into_inner()
        .filter(|c| c.as_rule() == Rule::family_var)
        .map(|c| family_var(c, span));
    let mut first = vars.next().unwrap_or_else(|| family_var_empty(span));
    first.span = span;
    let mut second = vars.next();
    if let Some(s) = &mut second {
        s.second = vars.next().map(Box::new);
    }
    first.second = second.map(Box::new);
    first
}

fn family_var(p: Pair<'_, Rule>, clause: Span) -> ast::Family {
    let span = span_of(&p);
    let mut var = None;
    let mut next = None;
    let mut bounds = Vec::new();
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::name => var = Some(build_name(c)),
            Rule::expr => bounds.push(build_expr(c)),
            Rule::family_next => next = c.into_inner().next().map(build_expr),
            _ => {}
        }
    }
    let mut f = family_var_empty(clause);
    f.next = next;
    f.span = span;
    if let Some(hi) = bounds.pop() {
        f.hi = hi;
    }
    if let Some(lo) = bounds.pop() {
        f.lo = lo;
    }
    if let Some(var) = var {
        f.var = var;
    }
    f
}

fn family_var_empty(span: Span) -> ast::Family {
    let zero = Expr {
        kind: ExprKind::Number(0.0),
        span,
    };
    ast::Family {
        var: empty_name(span),
        lo: zero.clone(),
        hi: zero,
        next: None,
        span,
        second: None,
    }
}

fn build_type(p: Pair<'_, Rule>) -> ast::Type {
    let span = span_of(&p);
    let Some(t) = p.into_inner().next() else {
        return ast::Type {
            kind: ast::TypeKind::Real(Vec::new()),
            span,
        };
    };
    let rule = t.as_rule();
    let mut dims = Vec::new();
    let mut first = None;
    let mut set = None;
    for c in t.into_inner() {
        match c.as_rule() {
            Rule::dims => dims = build_dims(c),
            Rule::expr => first = Some(build_expr(c)),
            Rule::label_range => {
                let hi = c.into_inner().next().map(build_expr);
                set = Some((true, hi.into_iter().collect::<Vec<_>>()));
            }
            Rule::label_set => set = Some((false, c.into_inner().map(build_expr).collect())),
            _ => {}
        }
    }
    let kind = if rule == Rule::real_type {
        ast::TypeKind::Real(dims)
    } else {
        let zero = Expr {
            kind: ExprKind::Number(0.0),
            span,
        };
        let first = first.unwrap_or_else(|| zero.clone());
        let set = match set {
            Some((true, mut hi)) => ast::LabelSet::Range(first, hi.pop().unwrap_or(zero)),
            Some((false, rest)) => {
                let mut all = vec![first];
                all.extend(rest);
                ast::LabelSet::Set(all)
            }
            None => ast::LabelSet::Set(vec![first]),
        };
        ast::TypeKind::Label { set, dims }
    };
    ast::Type { kind, span }
}

fn build_dims(p: Pair<'_, Rule>) -> Vec<ast::Dim> {
    p.into_inner()
        .filter(|c| c.as_rule() != Rule::dim_sep)
        .map(|c| ast::Dim {
            expr: build_dim_expr(c),
        })
        .collect()
}

/// Dimension expressions reuse [`Expr`] with only numbers, names, `+ - · /`.
fn build_dim_expr(p: Pair<'_, Rule>) -> Expr {
    let span = span_of(&p);
    match p.as_rule() {
        Rule::dim_expr | Rule::dim_term => fold_binary(p.into_inner(), build_dim_expr),
        Rule::dim_leaf => match p.into_inner().next() {
            Some(c) => build_dim_expr(c),
            None => Expr {
                kind: ExprKind::Number(0.0),
                span,
            },
        },
        Rule::number => number(&p),
        Rule::name => Expr {
            kind: ExprKind::Name(build_name(p)),
            span,
        },
        _ => Expr {
            kind: ExprKind::Number(0.0),
            span,
        },
    }
}
