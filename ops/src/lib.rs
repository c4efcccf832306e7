//! The element-wise functions of nnspec, each defined once.
//!
//! [`Unary`] lists every element-wise function of one argument the compiler's IR knows, and
//! [`Unary::apply`] is its scalar formula, generic over [`Real`] (`f32`, `f64`). The same
//! definition serves every place a value is computed:
//!
//! - the runtime's kernels and the IR interpreter call it on every entry;
//! - generated code calls it with the function as a constant (`Unary::Relu.apply(x)`), which
//!   inlines to the formula alone;
//! - the compiler folds constants with it, in `f64`.
//!
//! The crate has no dependencies, so the compiler and generated code can both use it. What
//! else an element-wise function needs lives in the compiler: its name in the language
//! (`check::builtins`) and its derivative (`ad::rules`).
//!
//! [`init`] holds the other definition both sides need: the initialisers and distributions
//! ([`Init`]) and the law each gives a shape.
//!
//! Formulas are computed stably where the textbook's is not: `sig[x] = 1/(1 + e⁻ˣ)` evaluates
//! `e^(-|x|)` only, so it never overflows, and `softplus[x] = max(x, 0) + log[1 + e^(-|x|)]`.

pub mod fastmath;
pub mod init;

pub use init::{Init, Law};

use std::ops::{Add, Div, Mul, Neg, Sub};

/// A real floating-point number the formulas compute with: `f32` or `f64`.
///
/// The functions have the meaning of the inherent methods of the same name on `f32`/`f64`
/// (`ln` is the natural logarithm, `ln_1p(x) = ln(1 + x)` accurate for small `x`), except
/// `exp`, which is [`fastmath`]'s (inlined and vectorisable, within 1 ulp).
pub trait Real:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// The nearest value to `x` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// The value as an `f64` (exact).
    fn to_f64(self) -> f64;
    /// `eˣ`, by [`fastmath`].
    fn exp(self) -> Self;
    /// `ln x`.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate near `x = 0`.
    fn ln_1p(self) -> Self;
    /// `sin x`.
    fn sin(self) -> Self;
    /// `cos x`.
    fn cos(self) -> Self;
    /// `tanh x`, by [`fastmath`].
    fn tanh(self) -> Self;
    /// `√x`.
    fn sqrt(self) -> Self;
    /// `|x|`.
    fn abs(self) -> Self;
    /// `xᵖ`.
    fn powf(self, p: Self) -> Self;
    /// Neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// Not a number.
    fn is_nan(self) -> bool;
}

macro_rules! impl_real {
    ($t:ident, $exp:path, $tanh:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            #[inline]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                $t::ln(self)
            }
            #[inline]
            fn ln_1p(self) -> Self {
                $t::ln_1p(self)
            }
            #[inline]
            fn sin(self) -> Self {
                $t::sin(self)
            }
            #[inline]
            fn cos(self) -> Self {
                $t::cos(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline]
            fn powf(self, p: Self) -> Self {
                $t::powf(self, p)
            }
            #[inline]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
        }
    };
}

impl_real!(f32, fastmath::exp_f32, fastmath::tanh_f32);
impl_real!(f64, fastmath::exp_f64, fastmath::tanh_f64);

/// An `f64` constant that can be compared and hashed (by its bits): the parameter of
/// `LRelu_α` and of `x^p`, and the compiler's constants.
#[derive(Clone, Copy, Debug)]
pub struct F64(pub f64);

impl PartialEq for F64 {
    fn eq(&self, other: &F64) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}
impl Eq for F64 {}
impl std::hash::Hash for F64 {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h);
    }
}

/// Declares [`Unary`] and [`Unary::EXAMPLES`] (one value of each variant) from one list.
macro_rules! unary {
    ($( $(#[$doc:meta])* $name:ident $(($ex:expr))? ),* $(,)?) => {
        /// Element-wise functions of one argument. Adding one: a variant here with its formula
        /// in [`Unary::apply`], its name in the compiler's built-ins (if the language spells
        /// it) and its derivative in the compiler's `ad::rules`; the tests name a missing piece.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Unary {
            $( $(#[$doc])* $name $((unary!(@ty $ex)))?, )*
        }

        impl Unary {
            /// One value of every variant (with an example parameter where it takes one), for
            /// tests that every function has every piece.
            pub const EXAMPLES: &'static [Unary] = &[ $( Unary::$name $(($ex))?, )* ];
        }
    };
    (@ty $ex:expr) => { F64 };
}

unary! {
    /// `-x`.
    Neg,
    /// `exp[x]`.
    Exp,
    /// `log[x]` (natural).
    Log,
    /// `sin[x]`.
    Sin,
    /// `cos[x]`.
    Cos,
    /// `tanh[x]`.
    Tanh,
    /// `sig[x] = 1/(1 + exp[-x])`, see [`sig`].
    Sig,
    /// `ReLU[x] = max(0, x)`.
    Relu,
    /// `LReLU_α[x] = x` for x ≥ 0, `α·x` otherwise.
    LRelu(F64(0.1)),
    /// `softplus[x] = log[1 + exp[x]]`, see [`softplus`].
    Softplus,
    /// `HardSwish[x]` (eq. 3.13): 0 below -3, x(x+3)/6 on [-3, 3], x above 3.
    HardSwish,
    /// `Heaviside[x]`: 1 for x ≥ 0, else 0.
    Heaviside,
    /// `rect[x]`: 1 on [0, 1], else 0.
    Rect,
    /// `√x`.
    Sqrt,
    /// `|x|`.
    Abs,
    /// `sign[x]` ∈ {-1, 0, 1} (the derivative of `|x|`), with `sign[0] = 0`.
    Sign,
    /// `x^p` for a constant `p`.
    Powf(F64(2.0)),
    /// `1/x`.
    Recip,
    /// The derivative of HardSwish: 0 below -3, (2x+3)/6 on [-3, 3], 1 above.
    HardSwishGrad,
}

impl Unary {
    /// The function at one point: the one definition of its formula.
    #[inline(always)]
    pub fn apply<T: Real>(self, x: T) -> T {
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.exp(),
            Unary::Log => x.ln(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tanh => x.tanh(),
            Unary::Sig => sig(x),
            Unary::Relu => {
                if x < T::ZERO {
                    T::ZERO
                } else {
                    x
                }
            }
            Unary::LRelu(a) => {
                if x < T::ZERO {
                    T::from_f64(a.0) * x
                } else {
                    x
                }
            }
            Unary::Softplus => softplus(x),
            Unary::HardSwish => hardswish(x),
            Unary::Heaviside => {
                if x >= T::ZERO {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Unary::Rect => {
                if x >= T::ZERO && x <= T::ONE {
                    T::ONE
                } else {
                    T::ZERO
                }
            }
            Unary::Sqrt => x.sqrt(),
            Unary::Abs => x.abs(),
            Unary::Sign => sign(x),
            Unary::Powf(p) => x.powf(T::from_f64(p.0)),
            Unary::Recip => T::ONE / x,
            Unary::HardSwishGrad => hardswish_grad(x),
        }
    }
}

/// The IR's text form: `relu`, `hard_swish`, `lrelu[0.1]`, `pow[2]`.
impl std::fmt::Display for Unary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unary::LRelu(a) => write!(f, "lrelu[{}]", a.0),
            Unary::Powf(p) => write!(f, "pow[{}]", p.0),
            other => {
                for (i, c) in format!("{other:?}").chars().enumerate() {
                    if c.is_uppercase() && i > 0 {
                        f.write_str("_")?;
                    }
                    write!(f, "{}", c.to_lowercase())?;
                }
                Ok(())
            }
        }
    }
}

/// Logistic sigmoid `sig[x] = 1/(1 + e⁻ˣ)`, computed without overflow:
/// `1/(1 + e⁻ˣ)` for `x ≥ 0` and `eˣ/(1 + eˣ)` for `x < 0`.
///
/// Both cases are `n/(1 + e)` with `e = e^(-|x|)`, so there is one exponential and a select
/// rather than a branch, and a loop over `sig` vectorises.
#[inline]
pub fn sig<T: Real>(x: T) -> T {
    let e = (-x.abs()).exp();
    let n = if x >= T::ZERO { T::ONE } else { e };
    n / (T::ONE + e)
}

/// `softplus[x] = log[1 + eˣ]`, computed as `max(x, 0) + log[1 + e^(-|x|)]` (no overflow for
/// large `x`, full precision for very negative `x`).
#[inline]
pub fn softplus<T: Real>(x: T) -> T {
    let pos = if x > T::ZERO { x } else { T::ZERO };
    pos + (-x.abs()).exp().ln_1p()
}

/// `HardSwish[x]` (eq. 3.13): `0` for `x < -3`, `x(x + 3)/6` on `[-3, 3]`, `x` for `x > 3`.
#[inline]
fn hardswish<T: Real>(x: T) -> T {
    let three = T::from_f64(3.0);
    if x < -three {
        T::ZERO
    } else if x > three {
        x
    } else {
        x * (x + three) / T::from_f64(6.0)
    }
}

/// The derivative of `HardSwish`: `0` for `x < -3`, `(2x + 3)/6` on `[-3, 3]`, `1` for
/// `x > 3`.
#[inline]
fn hardswish_grad<T: Real>(x: T) -> T {
    let three = T::from_f64(3.0);
    if x < -three {
        T::ZERO
    } else if x > three {
        T::ONE
    } else {
        (x + x + three) / T::from_f64(6.0)
    }
}

/// `sign[x]` ∈ {-1, 0, 1}, with `sign[0] = 0`; NaN stays NaN.
#[inline]
fn sign<T: Real>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        x * T::ZERO
    }
}

/// Which of two values a selection keeps: the larger (`max[a, b]`, `max_k z_k`) or the
/// smaller (`min`).
///
/// The one comparison every `max`/`min` of nnspec makes (the interpreter's kernel, generated
/// code and constant folding alike): [`Extreme::first`] keeps the first value on a tie, so the
/// subgradient at a tie goes to the first argument, and a maximum over many values, folded
/// from the left, keeps the first maximiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extreme {
    /// The larger value.
    Max,
    /// The smaller value.
    Min,
}

impl Extreme {
    /// Whether `a` is kept rather than `b`: `a ≥ b` for the maximum, `a ≤ b` for the
    /// minimum (a tie keeps `a`; with a NaN, `b` is kept).
    #[inline]
    pub fn first<T: Real>(self, a: T, b: T) -> bool {
        match self {
            Extreme::Max => a >= b,
            Extreme::Min => a <= b,
        }
    }

    /// `ha` where `xa` is kept against `xb`, `hb` elsewhere: `max[a, b]` is
    /// `pick(a, b, a, b)`.
    #[inline]
    pub fn pick<T: Real>(self, xa: T, xb: T, ha: T, hb: T) -> T {
        if self.first(xa, xb) { ha } else { hb }
    }

    /// The word the language spells it with.
    pub fn word(self) -> &'static str {
        match self {
            Extreme::Max => "max",
            Extreme::Min => "min",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{F64, Unary, sig, softplus};

    fn at(u: Unary, x: f64) -> f64 {
        u.apply(x)
    }

    #[test]
    fn stable_sig_and_softplus() {
        assert_eq!(sig(1000.0f64), 1.0);
        assert_eq!(sig(-1000.0f64), 0.0);
        assert!((sig(0.3f64) - 1.0 / (1.0 + (-0.3f64).exp())).abs() < 1e-16);
        assert_eq!(softplus(1000.0f64), 1000.0);
        assert_eq!(softplus(-1000.0f64), 0.0);
        assert!((softplus(-40.0f64) - (-40.0f64).exp()).abs() < 1e-30);
        assert!((softplus(0.7f64) - (1.0 + 0.7f64.exp()).ln()).abs() < 1e-15);
        for x in [-30.0f64, -2.5, -0.3, -1e-20, -0.0, 0.0, 0.4, 3.0, 40.0] {
            let e = x.exp();
            let want = if x >= 0.0 {
                1.0 / (1.0 + (-x).exp())
            } else {
                e / (1.0 + e)
            };
            assert!((sig(x) - want).abs() <= 2e-16 * want, "sig({x})");
        }
        assert_eq!(sig(-0.0f64), 0.5);
        assert!(sig(f64::NAN).is_nan() && sig(f32::NAN).is_nan());
        assert_eq!(sig(f64::INFINITY), 1.0);
        assert_eq!(sig(f64::NEG_INFINITY), 0.0);
        assert_eq!(sig(100.0f32), 1.0);
        assert_eq!(softplus(200.0f32), 200.0);
    }

    #[test]
    fn piecewise_functions_at_their_breakpoints() {
        assert_eq!(at(Unary::Heaviside, 0.0), 1.0);
        assert_eq!(at(Unary::Heaviside, -1e-300), 0.0);
        assert_eq!(at(Unary::Rect, 0.0), 1.0);
        assert_eq!(at(Unary::Rect, 1.0), 1.0);
        assert_eq!(at(Unary::Rect, 1.0 + 1e-15), 0.0);
        assert_eq!(at(Unary::Rect, -1e-300), 0.0);
        assert_eq!(at(Unary::Sign, 0.0), 0.0);
        assert_eq!(at(Unary::Sign, -2.0), -1.0);
        assert!(at(Unary::Sign, f64::NAN).is_nan());
        assert_eq!(at(Unary::HardSwish, -3.5), 0.0);
        assert_eq!(at(Unary::HardSwish, -3.0), 0.0);
        assert_eq!(at(Unary::HardSwish, 1.5), 1.5 * 4.5 / 6.0);
        assert_eq!(at(Unary::HardSwish, 3.0), 3.0);
        assert_eq!(at(Unary::HardSwish, 4.0), 4.0);
        assert_eq!(at(Unary::HardSwishGrad, -4.0), 0.0);
        assert_eq!(at(Unary::HardSwishGrad, 0.0), 0.5);
        assert_eq!(at(Unary::HardSwishGrad, 4.0), 1.0);
        assert_eq!(at(Unary::Relu, -2.0), 0.0);
        assert_eq!(at(Unary::LRelu(F64(0.1)), -2.0), -0.2);
        assert_eq!(at(Unary::LRelu(F64(0.1)), 2.0), 2.0);
        assert_eq!(at(Unary::Powf(F64(3.0)), 2.0), 8.0);
        assert_eq!(at(Unary::Recip, 4.0), 0.25);
    }

    #[test]
    fn smooth_functions_match_the_standard_library() {
        for x in [-2.5f64, -0.3, 0.0, 0.7, 1.9] {
            assert_eq!(at(Unary::Neg, x), -x);
            assert!((at(Unary::Exp, x) - x.exp()).abs() <= 2.0 * f64::EPSILON * x.exp());
            assert_eq!(at(Unary::Sin, x), x.sin());
            assert_eq!(at(Unary::Cos, x), x.cos());
            assert!((at(Unary::Tanh, x) - x.tanh()).abs() <= 2.0 * f64::EPSILON * x.tanh().abs());
            assert_eq!(at(Unary::Abs, x), x.abs());
        }
        assert_eq!(at(Unary::Log, 2.0), 2f64.ln());
        assert_eq!(at(Unary::Sqrt, 2.0), 2f64.sqrt());
    }

    #[test]
    fn every_example_is_a_distinct_variant_and_f32_agrees_with_f64() {
        let ex = Unary::EXAMPLES;
        for (i, a) in ex.iter().enumerate() {
            assert!(
                ex[i + 1..]
                    .iter()
                    .all(|b| std::mem::discriminant(a) != std::mem::discriminant(b))
            );
            for x in [-3.5f64, -0.5, 0.25, 0.5, 2.0] {
                let (d, s) = (a.apply(x), a.apply(x as f32) as f64);
                assert!(
                    (d.is_nan() && s.is_nan()) || (d - s).abs() <= 1e-5 * (1.0 + d.abs()),
                    "{a:?} at {x}: f64 {d}, f32 {s}"
                );
            }
        }
    }
}
