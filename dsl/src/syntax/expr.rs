//! Expressions from pest's pairs: operator chains folded iteratively, postfix operators,
//! brackets, calls, probabilities, derivatives, big operators, names with their subscripts,
//! and numbers (digits or a Unicode vulgar fraction).

use super::Rule;
use super::tree::{empty_name, span_of};
use crate::ast::{self, BigOp, BinOp, Expr, ExprKind};
use crate::diag::Span;
use pest::iterators::Pair;

/// The Unicode vulgar fractions the grammar admits as numbers, with their values.
pub const VULGAR_FRACTIONS: &[(char, f64)] = &[
    ('½', 1.0 / 2.0),
    ('⅓', 1.0 / 3.0),
    ('⅔', 2.0 / 3.0),
    ('¼', 1.0 / 4.0),
    ('¾', 3.0 / 4.0),
    ('⅕', 1.0 / 5.0),
    ('⅖', 2.0 / 5.0),
    ('⅗', 3.0 / 5.0),
    ('⅘', 4.0 / 5.0),
    ('⅙', 1.0 / 6.0),
    ('⅚', 5.0 / 6.0),
    ('⅐', 1.0 / 7.0),
    ('⅛', 1.0 / 8.0),
    ('⅜', 3.0 / 8.0),
    ('⅝', 5.0 / 8.0),
    ('⅞', 7.0 / 8.0),
    ('⅑', 1.0 / 9.0),
    ('⅒', 1.0 / 10.0),
];

/// The value of a number token: digits, or one vulgar fraction.
fn number_value(text: &str) -> f64 {
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && let Some((_, v)) = VULGAR_FRACTIONS.iter().find(|(f, _)| *f == c)
    {
        return *v;
    }
    // Otherwise the grammar only admits digit strings, so parsing succeeds; an overflow to
    // infinity is reported by the checker (E0103).
    text.parse::<f64>().unwrap_or(f64::INFINITY)
}

pub(super) fn number(p: &Pair<'_, Rule>) -> Expr {
    let v = number_value(p.as_str());
    Expr {
        kind: ExprKind::Number(v),
        span: span_of(p),
    }
}

fn binop(p: &Pair<'_, Rule>) -> BinOp {
    match p.as_str() {
        "+" => BinOp::Add,
        "-" | "−" => BinOp::Sub,
        "⊙" | ".*" => BinOp::Hadamard,
        "/" => BinOp::Div,
        _ => BinOp::Scale,
    }
}

/// Folds `operand (op operand)*` to the left, without recursion.
pub(super) fn fold_binary<'i>(
    pairs: pest::iterators::Pairs<'i, Rule>,
    operand: fn(Pair<'i, Rule>) -> Expr,
) -> Expr {
    let mut acc: Option<Expr> = None;
    let mut op = BinOp::Add;
    for c in pairs {
        match c.as_rule() {
            Rule::add_op | Rule::mul_op => op = binop(&c),
            _ => {
                let rhs = operand(c);
                acc = Some(match acc {
                    None => rhs,
                    Some(lhs) => Expr::binary(op, lhs, rhs),
                });
            }
        }
    }
    acc.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span: Span::default(),
    })
}

pub(super) fn build_expr(p: Pair<'_, Rule>) -> Expr {
    let span = span_of(&p);
    match p.as_rule() {
        Rule::expr | Rule::term => fold_binary(p.into_inner(), build_expr),
        Rule::unary => build_unary(p, span),
        Rule::juxt => build_juxt(p, span),
        Rule::factor | Rule::atom | Rule::name_atom => match p.into_inner().next() {
            Some(c) => build_expr(c),
            None => Expr {
                kind: ExprKind::Number(0.0),
                span,
            },
        },
        Rule::postfix => build_postfix(p, span),
        Rule::number => number(&p),
        Rule::name => Expr {
            kind: ExprKind::Name(build_name(p)),
            span,
        },
        Rule::paren => build_wrapped(p, span, ExprKind::Paren),
        Rule::norm => build_wrapped(p, span, ExprKind::Norm),
        // `|x|` is `abs[x]`: one reading for checking, lowering and the printers.
        Rule::abs => {
            let inner = p.into_inner().next().map(build_expr).unwrap_or(Expr {
                kind: ExprKind::Number(0.0),
                span,
            });
            Expr {
                kind: ExprKind::Call {
                    func: ast::Name {
                        word: "abs".to_string(),
                        primes: 0,
                        frozen: false,
                        sub: Vec::new(),
                        node: None,
                        span: Span {
                            start: span.start,
                            end: span.start + 1,
                        },
                    },
                    args: vec![inner],
                },
                span,
            }
        }
        Rule::sqrt => build_wrapped(p, span, ExprKind::Sqrt),
        Rule::ones => Expr {
            kind: ExprKind::Ones,
            span,
        },
        Rule::batch_size => Expr {
            kind: ExprKind::BatchSize,
            span,
        },
        Rule::call => build_call(p, span),
        Rule::stack => build_stack(p, span),
        Rule::prob => build_prob(p, span),
        Rule::deriv => build_deriv(p, span),
        Rule::bigop => build_bigop(p),
        _ => Expr {
            kind: ExprKind::Number(0.0),
            span,
        },
    }
}

/// `-x`, `--x`: the negations in front of a factor.
fn build_unary(p: Pair<'_, Rule>, span: Span) -> Expr {
    let mut negs = Vec::new();
    let mut body = None;
    for c in p.into_inner() {
        if c.as_rule() == Rule::neg {
            negs.push(span_of(&c));
        } else {
            body = Some(build_expr(c));
        }
    }
    let mut e = body.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    });
    for s in negs.into_iter().rev() {
        let sp = s.to(e.span);
        e = Expr {
            kind: ExprKind::Neg(Box::new(e)),
            span: sp,
        };
    }
    e
}

/// A juxtaposition `a b c`: products folded to the left.
fn build_juxt(p: Pair<'_, Rule>, span: Span) -> Expr {
    let mut acc: Option<Expr> = None;
    for c in p.into_inner() {
        let rhs = build_expr(c);
        acc = Some(match acc {
            None => rhs,
            Some(lhs) => Expr::binary(BinOp::Juxt, lhs, rhs),
        });
    }
    acc.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    })
}

/// A factor with its postfix operators: `xᵀ`, `x²`, `x³`, `x^{n}`.
fn build_postfix(p: Pair<'_, Rule>, span: Span) -> Expr {
    let mut it = p.into_inner();
    let mut e = match it.next() {
        Some(c) => build_expr(c),
        None => Expr {
            kind: ExprKind::Number(0.0),
            span,
        },
    };
    for op in it {
        let sp = e.span.to(span_of(&op));
        let kind = match op.as_rule() {
            Rule::transpose => ExprKind::Transpose(Box::new(e)),
            Rule::square | Rule::cube => {
                let n = if op.as_rule() == Rule::square {
                    2.0
                } else {
                    3.0
                };
                let exp = Expr {
                    kind: ExprKind::Number(n),
                    span: span_of(&op),
                };
                ExprKind::Power(Box::new(e), Box::new(exp))
            }
            _ => {
                let opspan = span_of(&op);
                let exp = match op.into_inner().next() {
                    Some(c) if c.as_rule() == Rule::number => number(&c),
                    Some(c) if c.as_rule() == Rule::name => Expr {
                        kind: ExprKind::Name(build_name(c.clone())),
                        span: span_of(&c),
                    },
                    Some(c) => build_expr(c),
                    None => Expr {
                        kind: ExprKind::Number(1.0),
                        span: opspan,
                    },
                };
                ExprKind::Power(Box::new(e), Box::new(exp))
            }
        };
        e = Expr { kind, span: sp };
    }
    e
}

/// A bracketed expression (`(x)`, `‖x‖`, `√x`) as the tree node `kind` makes of it.
fn build_wrapped(p: Pair<'_, Rule>, span: Span, kind: fn(Box<Expr>) -> ExprKind) -> Expr {
    let inner = p.into_inner().next().map(build_expr);
    let inner = inner.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    });
    Expr {
        kind: kind(Box::new(inner)),
        span,
    }
}

/// A call `f[a, b]`.
fn build_call(p: Pair<'_, Rule>, span: Span) -> Expr {
    let mut it = p.into_inner();
    let mut func = it
        .next()
        .map(build_name)
        .unwrap_or_else(|| empty_name(span));
    let mut args: Vec<Expr> = Vec::new();
    for c in it {
        if c.as_rule() == Rule::given_bar {
            // `π[a|s, θ]`: the value before the bar picks the component, `π_a[s, θ]`.
            func.sub.append(&mut args);
        } else {
            args.push(build_expr(c));
        }
    }
    Expr {
        kind: ExprKind::Call { func, args },
        span,
    }
}

/// A block matrix `[A, B; C, D]`, with `…` entries kept for checking to expand.
fn build_stack(p: Pair<'_, Rule>, span: Span) -> Expr {
    let rows = p
        .into_inner()
        .filter(|r| r.as_rule() == Rule::stack_row)
        .map(|row| {
            row.into_inner()
                .filter_map(|item| item.into_inner().next())
                .map(|c| match c.as_rule() {
                    Rule::stack_dots => ast::Entry::Ellipsis(span_of(&c)),
                    _ => ast::Entry::Item(build_expr(c)),
                })
                .collect()
        })
        .collect();
    Expr {
        kind: ExprKind::Stack(rows),
        span,
    }
}

/// A probability `Pr(y | x)`.
fn build_prob(p: Pair<'_, Rule>, span: Span) -> Expr {
    let mut it = p.into_inner().map(build_expr);
    let event = it.next().unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    });
    Expr {
        kind: ExprKind::Prob {
            event: Box::new(event),
            given: it.collect(),
        },
        span,
    }
}

/// A derivative `∂L/∂φ`.
fn build_deriv(p: Pair<'_, Rule>, span: Span) -> Expr {
    let mut of = None;
    let mut wrt = None;
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::postfix => of = Some(build_expr(c)),
            Rule::name => wrt = Some(build_name(c)),
            _ => {}
        }
    }
    let of = of.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    });
    let wrt = wrt.unwrap_or_else(|| empty_name(span));
    Expr {
        kind: ExprKind::Deriv {
            of: Box::new(of),
            wrt,
        },
        span,
    }
}

fn build_bigop(p: Pair<'_, Rule>) -> Expr {
    let span = span_of(&p);
    let mut op = BigOp::Sum;
    let mut binder = None;
    let mut upper = None;
    let mut upper_of_range = None;
    let mut body = None;
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::bigop_sym => {
                op = match c.as_str() {
                    "∏" | "prod" => BigOp::Prod,
                    "max" => BigOp::Max,
                    "min" => BigOp::Min,
                    "argmax" => BigOp::ArgMax,
                    "argmin" => BigOp::ArgMin,
                    _ => BigOp::Sum,
                };
            }
            Rule::binder => {
                let bspan = span_of(&c);
                let is_set = c.as_str().contains('∈') || c.as_str().contains(" in ");
                let mut var = None;
                let mut bound = None;
                let mut range = None;
                let mut except = None;
                let mut pair = Vec::new();
                for b in c.into_inner() {
                    match b.as_rule() {
                        Rule::binder_pair => {
                            let pspan = span_of(&b);
                            pair = b.into_inner().map(build_name).collect();
                            // The index the pair stands for: its names run together, the
                            // subscript of `r_{ij}`.
                            let mut joined = empty_name(pspan);
                            joined.word =
                                pair.iter().map(|n: &ast::Name| n.word.as_str()).collect();
                            var = Some(joined);
                        }
                        Rule::name | Rule::name_plain => var = Some(build_name(b)),
                        Rule::expr => bound = Some(Box::new(build_expr(b))),
                        Rule::binder_except => {
                            except = b.into_inner().next().map(|e| Box::new(build_expr(e)));
                        }
                        Rule::binder_range => {
                            let mut ends = b.into_inner().map(|e| Box::new(build_expr(e)));
                            range = ends.next().zip(ends.next());
                        }
                        _ => {}
                    }
                }
                // `_{k ∈ {lo … hi}}` is `_{k=lo}^{hi}`.
                let (lo, set) = match range {
                    Some((lo, hi)) => {
                        upper_of_range = Some(hi);
                        (Some(lo), None)
                    }
                    // A pair is always in a set (`(i,j)in Ω` in ASCII has no space before `in`).
                    None if is_set || !pair.is_empty() => (None, bound),
                    None => (bound, None),
                };
                let var = var.unwrap_or_else(|| empty_name(bspan));
                binder = Some(ast::Binder {
                    var,
                    lo,
                    set,
                    except,
                    pair,
                    span: bspan,
                });
            }
            Rule::upper => {
                let uspan = span_of(&c);
                upper = c.into_inner().next().map(|u| {
                    Box::new(match u.as_rule() {
                        Rule::number => number(&u),
                        Rule::name_plain | Rule::name => Expr {
                            kind: ExprKind::Name(build_name(u)),
                            span: uspan,
                        },
                        _ => build_expr(u),
                    })
                });
            }
            Rule::term => body = Some(build_expr(c)),
            _ => {}
        }
    }
    let body = Box::new(body.unwrap_or(Expr {
        kind: ExprKind::Number(0.0),
        span,
    }));
    let upper = upper.or(upper_of_range);
    Expr {
        kind: ExprKind::Big {
            op,
            binder,
            upper,
            body,
        },
        span,
    }
}

pub(super) fn build_name(p: Pair<'_, Rule>) -> ast::Name {
    let span = span_of(&p);
    let mut name = empty_name(span);
    for c in p.into_inner() {
        match c.as_rule() {
            Rule::word => name.word = crate::names::composed(c.as_str()),
            Rule::primes => {
                name.primes = name.primes.saturating_add(c.as_str().chars().count() as u8)
            }
            Rule::frozen => name.frozen = true,
            Rule::subscript => name.sub = build_subscript(c),
            Rule::node_sup => {
                name.node = c.into_inner().next().map(|n| Box::new(build_name(n)));
            }
            _ => {}
        }
    }
    name
}

fn build_subscript(p: Pair<'_, Rule>) -> Vec<Expr> {
    let mut out = Vec::new();
    for c in p.into_inner() {
        let span = span_of(&c);
        match c.as_rule() {
            Rule::sub_items => out.extend(c.into_inner().map(build_expr)),
            Rule::sub_digits => out.push(number(&c)),
            Rule::sub_unicode => {
                let digits: String = c
                    .as_str()
                    .chars()
                    .map(|d| char::from_digit(d as u32 - '₀' as u32, 10).unwrap_or('0'))
                    .collect();
                let v = digits.parse::<f64>().unwrap_or(0.0);
                out.push(Expr {
                    kind: ExprKind::Number(v),
                    span,
                });
            }
            Rule::sub_word | Rule::sub_keyword => {
                let text = c.as_str();
                let word = text.trim_end_matches(['\'', '′']);
                let primes = (text.chars().count() - word.chars().count()) as u8;
                let name = ast::Name {
                    word: crate::names::composed(word),
                    primes,
                    frozen: false,
                    sub: Vec::new(),
                    node: None,
                    span,
                };
                out.push(Expr {
                    kind: ExprKind::Name(name),
                    span,
                });
            }
            _ => {}
        }
    }
    out
}
