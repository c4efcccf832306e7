//! The one evaluator of numeric expressions: hyper-parameter defaults, dimensions, family
//! bounds, sum limits, subscripts, exponents and constants, and ([`formula`]) the entries of
//! a constant matrix, which may call the element-wise built-ins (`sin`, `cos`, `exp`, …).
//!
//! Checking and lowering both evaluate with [`number`]; they differ only in how a name is
//! looked up (their scopes), which they pass as a closure. Checking turns a failure into a
//! diagnostic at the sub-expression [`Fail`] names; lowering, which runs on checked specs,
//! only needs the value.

use crate::ast::{self, BinOp, Expr, ExprKind};

/// What a name stands for, as far as evaluation is concerned.
pub enum Lookup {
    /// A number: a hyper-parameter with a value, a family variable, an unrolled sum's index.
    Value(f64),
    /// A number not known here: a hyper-parameter without a value, an example index.
    NoValue,
    /// A name that is not a number (an input, a parameter, a function).
    NotANumber,
    /// A name the scope does not know.
    Unknown,
}

/// Why an expression has no value, and where.
pub enum Fail<'e> {
    /// A literal too large to be a finite number.
    NotFinite(&'e Expr),
    /// A name whose value is not known here (no diagnostic: the reason is reported elsewhere).
    NoValue,
    /// A name that is not a number.
    NotANumber(&'e ast::Name, &'e Expr),
    /// A name the scope does not know.
    Unknown(&'e ast::Name, &'e Expr),
    /// An expression that is not arithmetic of numbers and names (a call, a sum, `𝟏`, …).
    NotArithmetic(&'e Expr),
}

/// The value of `e`, with names looked up by `lookup` (`π` is known to all).
pub fn number<'e>(e: &'e Expr, lookup: &dyn Fn(&ast::Name) -> Lookup) -> Result<f64, Fail<'e>> {
    value(e, lookup, false)
}

/// The value of `e` where it may also call the element-wise built-ins (`sin[…]`, `exp[…]`):
/// an entry of a constant matrix defined entry by entry (`check::entries`). Elsewhere
/// (dimensions, defaults, bounds, exponents) a call is not evaluated.
pub fn formula<'e>(e: &'e Expr, lookup: &dyn Fn(&ast::Name) -> Lookup) -> Result<f64, Fail<'e>> {
    value(e, lookup, true)
}

fn value<'e>(
    e: &'e Expr,
    lookup: &dyn Fn(&ast::Name) -> Lookup,
    calls: bool,
) -> Result<f64, Fail<'e>> {
    let number = |x: &'e Expr, lookup: &dyn Fn(&ast::Name) -> Lookup| value(x, lookup, calls);
    match &e.kind {
        ExprKind::Number(v) if v.is_finite() => Ok(*v),
        ExprKind::Number(_) => Err(Fail::NotFinite(e)),
        ExprKind::Paren(x) => number(x, lookup),
        ExprKind::Neg(x) => number(x, lookup).map(|v| -v),
        ExprKind::Sqrt(x) => number(x, lookup).map(f64::sqrt),
        ExprKind::Name(n) => match lookup(n) {
            Lookup::Value(v) => Ok(v),
            Lookup::NoValue => Err(Fail::NoValue),
            _ if n.sub.is_empty() && crate::names::word(&n.word) == "π" => {
                Ok(std::f64::consts::PI)
            }
            Lookup::NotANumber => Err(Fail::NotANumber(n, e)),
            Lookup::Unknown => Err(Fail::Unknown(n, e)),
        },
        ExprKind::Power(b, p) => {
            let (b, p) = (number(b, lookup), number(p, lookup));
            Ok(b?.powf(p?))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (number(lhs, lookup), number(rhs, lookup));
            let (a, b) = (a?, b?);
            Ok(match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Div => a / b,
                BinOp::Scale | BinOp::Hadamard | BinOp::Juxt => a * b,
            })
        }
        ExprKind::Call { func, args } if calls => match (call_of(func, lookup), args.as_slice()) {
            (Some(u), [x]) => number(x, lookup).map(|v| u.apply(v)),
            _ => Err(Fail::NotArithmetic(e)),
        },
        _ => Err(Fail::NotArithmetic(e)),
    }
}

/// The element-wise built-in a call names (`sin[…]`, `cos[…]`, `exp[…]`: a constant's
/// formula, such as a positional encoding's), unless the scope binds the name to something
/// else; its value is the one formula the runtime computes.
fn call_of(func: &ast::Name, lookup: &dyn Fn(&ast::Name) -> Lookup) -> Option<crate::ir::Unary> {
    use crate::check::builtins::{self, Builtin, Kind};
    if !func.sub.is_empty() || func.primes > 0 || !matches!(lookup(func), Lookup::Unknown) {
        return None;
    }
    match builtins::lookup(&func.word)? {
        (b, Kind::Elementwise) if b != Builtin::LRelu => crate::ir::lower::unary_of(b),
        _ => None,
    }
}

/// The value of `e` as an integer (exact and below 10¹⁵ in magnitude), if it has one.
pub fn integer(e: &Expr, lookup: &dyn Fn(&ast::Name) -> Lookup) -> Option<i64> {
    exact_integer(number(e, lookup).ok()?)
}

/// `v` as an integer, if it is one exactly and below 10¹⁵ in magnitude.
pub fn exact_integer(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 1e15).then_some(v as i64)
}
