//! Element-wise functions: one scalar function per IR `Unary` op, the binary arithmetic
//! operations, and kernels mapping them over matrices into preallocated outputs.
//!
//! The scalar functions are public so that generated code can call the same definitions the
//! interpreter uses. They are computed stably where the textbook formula is not:
//!
//! - `sig[x] = 1/(1 + e⁻ˣ)` evaluates `e^(-|x|)` only, so it never overflows;
//! - `softplus[x] = log[1 + eˣ] = max(x, 0) + log[1 + e^(-|x|)]`.

use crate::Scalar;
use faer::{MatMut, MatRef, unzip, zip};

/// Logistic sigmoid `sig[x] = 1/(1 + e⁻ˣ)`, computed without overflow:
/// `1/(1 + e⁻ˣ)` for `x ≥ 0` and `eˣ/(1 + eˣ)` for `x < 0`.
///
/// Both cases are `n/(1 + e)` with `e = e^(-|x|)`, so there is one exponential and a select
/// rather than a branch, and a loop over `sig` vectorises.
#[inline]
pub fn sig<T: Scalar>(x: T) -> T {
    let e = (-x.abs()).exp();
    let n = if x >= T::ZERO { T::ONE } else { e };
    n / (T::ONE + e)
}

/// `softplus[x] = log[1 + eˣ]`, computed as `max(x, 0) + log[1 + e^(-|x|)]` (no overflow for
/// large `x`, full precision for very negative `x`).
#[inline]
pub fn softplus<T: Scalar>(x: T) -> T {
    let pos = if x > T::ZERO { x } else { T::ZERO };
    pos + (-x.abs()).exp().ln_1p()
}

/// `ReLU[x] = max(0, x)` (NaN stays NaN).
#[inline]
pub fn relu<T: Scalar>(x: T) -> T {
    if x < T::ZERO { T::ZERO } else { x }
}

/// Leaky ReLU: `LReLU_α[x] = x` for `x ≥ 0`, `α·x` otherwise.
#[inline]
pub fn lrelu<T: Scalar>(x: T, alpha: T) -> T {
    if x < T::ZERO { alpha * x } else { x }
}

/// `HardSwish[x]` (eq. 3.13): `0` for `x < -3`, `x(x + 3)/6` on `[-3, 3]`, `x` for `x > 3`.
#[inline]
pub fn hardswish<T: Scalar>(x: T) -> T {
    let three = T::from_f64(3.0);
    if x < -three {
        T::ZERO
    } else if x > three {
        x
    } else {
        x * (x + three) / T::from_f64(6.0)
    }
}

/// The derivative of [`hardswish`]: `0` for `x < -3`, `(2x + 3)/6` on `[-3, 3]`, `1` for
/// `x > 3`.
#[inline]
pub fn hardswish_grad<T: Scalar>(x: T) -> T {
    let three = T::from_f64(3.0);
    if x < -three {
        T::ZERO
    } else if x > three {
        T::ONE
    } else {
        (x + x + three) / T::from_f64(6.0)
    }
}

/// `Heaviside[x]`: `1` for `x ≥ 0`, else `0` (so `Heaviside[0] = 1`).
#[inline]
pub fn heaviside<T: Scalar>(x: T) -> T {
    if x >= T::ZERO { T::ONE } else { T::ZERO }
}

/// `rect[x]`: `1` on the closed interval `[0, 1]`, else `0`.
#[inline]
pub fn rect<T: Scalar>(x: T) -> T {
    if x >= T::ZERO && x <= T::ONE {
        T::ONE
    } else {
        T::ZERO
    }
}

/// `sign[x]` ∈ {-1, 0, 1}, with `sign[0] = 0` (the derivative of `|x|` away from 0); NaN stays
/// NaN.
#[inline]
pub fn sign<T: Scalar>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        x * T::ZERO
    }
}

/// The IR's element-wise functions of one argument (mirroring the compiler's `ir::Unary`,
/// which this crate does not depend on). Constants are `f64`, as the compiler writes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryFn {
    /// `-x`.
    Neg,
    /// `eˣ`.
    Exp,
    /// `log[x]` (natural).
    Log,
    /// `sin[x]`.
    Sin,
    /// `cos[x]`.
    Cos,
    /// `tanh[x]`.
    Tanh,
    /// [`sig`].
    Sig,
    /// [`relu`].
    Relu,
    /// [`lrelu`] with slope `α`.
    LRelu(f64),
    /// [`softplus`].
    Softplus,
    /// [`hardswish`].
    HardSwish,
    /// [`heaviside`].
    Heaviside,
    /// [`rect`].
    Rect,
    /// `√x`.
    Sqrt,
    /// `|x|`.
    Abs,
    /// [`sign`].
    Sign,
    /// `xᵖ` for a constant `p`.
    Powf(f64),
    /// `1/x`.
    Recip,
    /// [`hardswish_grad`].
    HardSwishGrad,
}

impl UnaryFn {
    /// The function at one point.
    #[inline]
    pub fn apply<T: Scalar>(self, x: T) -> T {
        match self {
            UnaryFn::Neg => -x,
            UnaryFn::Exp => x.exp(),
            UnaryFn::Log => x.ln(),
            UnaryFn::Sin => x.sin(),
            UnaryFn::Cos => x.cos(),
            UnaryFn::Tanh => x.tanh(),
            UnaryFn::Sig => sig(x),
            UnaryFn::Relu => relu(x),
            UnaryFn::LRelu(a) => lrelu(x, T::from_f64(a)),
            UnaryFn::Softplus => softplus(x),
            UnaryFn::HardSwish => hardswish(x),
            UnaryFn::Heaviside => heaviside(x),
            UnaryFn::Rect => rect(x),
            UnaryFn::Sqrt => x.sqrt(),
            UnaryFn::Abs => x.abs(),
            UnaryFn::Sign => sign(x),
            UnaryFn::Powf(p) => x.powf(T::from_f64(p)),
            UnaryFn::Recip => T::ONE / x,
            UnaryFn::HardSwishGrad => hardswish_grad(x),
        }
    }
}

/// `dst = f(src)` element-wise.
///
/// # Panics
/// If `dst` and `src` differ in shape.
pub fn unary<T: Scalar>(dst: MatMut<'_, T>, src: MatRef<'_, T>, f: UnaryFn) {
    // One loop per function, so the match is not inside the loop.
    match f {
        UnaryFn::Neg => map(dst, src, |x| -x),
        UnaryFn::Exp => map(dst, src, T::exp),
        UnaryFn::Log => map(dst, src, T::ln),
        UnaryFn::Sin => map(dst, src, T::sin),
        UnaryFn::Cos => map(dst, src, T::cos),
        UnaryFn::Tanh => map(dst, src, T::tanh),
        UnaryFn::Sig => map(dst, src, sig),
        UnaryFn::Relu => map(dst, src, relu),
        UnaryFn::LRelu(a) => {
            let a = T::from_f64(a);
            map(dst, src, |x| lrelu(x, a))
        }
        UnaryFn::Softplus => map(dst, src, softplus),
        UnaryFn::HardSwish => map(dst, src, hardswish),
        UnaryFn::Heaviside => map(dst, src, heaviside),
        UnaryFn::Rect => map(dst, src, rect),
        UnaryFn::Sqrt => map(dst, src, T::sqrt),
        UnaryFn::Abs => map(dst, src, T::abs),
        UnaryFn::Sign => map(dst, src, sign),
        UnaryFn::Powf(p) => {
            let p = T::from_f64(p);
            map(dst, src, |x| x.powf(p))
        }
        UnaryFn::Recip => map(dst, src, |x| T::ONE / x),
        UnaryFn::HardSwishGrad => map(dst, src, hardswish_grad),
    }
}

/// `dst = f(src)` element-wise for any scalar function.
///
/// # Panics
/// If `dst` and `src` differ in shape.
#[inline]
pub fn map<T: Scalar>(dst: MatMut<'_, T>, src: MatRef<'_, T>, f: impl Fn(T) -> T) {
    zip!(dst, src).for_each(|unzip!(d, s)| *d = f(*s));
}

/// The element-wise binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryFn {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a ⊙ b` (Hadamard product).
    Mul,
    /// `a / b` element-wise.
    Div,
}

impl BinaryFn {
    /// The operation at one point.
    #[inline]
    pub fn apply<T: Scalar>(self, a: T, b: T) -> T {
        match self {
            BinaryFn::Add => a + b,
            BinaryFn::Sub => a - b,
            BinaryFn::Mul => a * b,
            BinaryFn::Div => a / b,
        }
    }
}

/// `dst = a ∘ b` element-wise, where `∘` is `op`.
///
/// # Panics
/// If `dst`, `a` and `b` differ in shape.
pub fn binary<T: Scalar>(dst: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, op: BinaryFn) {
    match op {
        BinaryFn::Add => zip!(dst, a, b).for_each(|unzip!(d, a, b)| *d = *a + *b),
        BinaryFn::Sub => zip!(dst, a, b).for_each(|unzip!(d, a, b)| *d = *a - *b),
        BinaryFn::Mul => zip!(dst, a, b).for_each(|unzip!(d, a, b)| *d = *a * *b),
        BinaryFn::Div => zip!(dst, a, b).for_each(|unzip!(d, a, b)| *d = *a / *b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(heaviside(0.0f64), 1.0);
        assert_eq!(heaviside(-1e-300f64), 0.0);
        assert_eq!(rect(0.0f64), 1.0);
        assert_eq!(rect(1.0f64), 1.0);
        assert_eq!(rect(1.0f64 + 1e-15), 0.0);
        assert_eq!(rect(-1e-300f64), 0.0);
        assert_eq!(sign(0.0f64), 0.0);
        assert_eq!(sign(-2.0f64), -1.0);
        assert_eq!(hardswish(-3.5f64), 0.0);
        assert_eq!(hardswish(-3.0f64), 0.0);
        assert_eq!(hardswish(1.5f64), 1.5 * 4.5 / 6.0);
        assert_eq!(hardswish(3.0f64), 3.0);
        assert_eq!(hardswish(4.0f64), 4.0);
        assert_eq!(hardswish_grad(-4.0f64), 0.0);
        assert_eq!(hardswish_grad(0.0f64), 0.5);
        assert_eq!(hardswish_grad(4.0f64), 1.0);
        assert_eq!(relu(-2.0f64), 0.0);
        assert_eq!(lrelu(-2.0f64, 0.1), -0.2);
        assert_eq!(lrelu(2.0f64, 0.1), 2.0);
    }

    #[test]
    fn matrix_kernels_agree_with_apply() {
        let src = faer::Mat::from_fn(3, 4, |i, j| i as f64 - j as f64 * 0.7);
        let all = [
            UnaryFn::Neg,
            UnaryFn::Exp,
            UnaryFn::Sin,
            UnaryFn::Cos,
            UnaryFn::Tanh,
            UnaryFn::Sig,
            UnaryFn::Relu,
            UnaryFn::LRelu(0.2),
            UnaryFn::Softplus,
            UnaryFn::HardSwish,
            UnaryFn::Heaviside,
            UnaryFn::Rect,
            UnaryFn::Abs,
            UnaryFn::Sign,
            UnaryFn::Powf(2.0),
            UnaryFn::HardSwishGrad,
        ];
        for f in all {
            let mut dst = faer::Mat::<f64>::zeros(3, 4);
            unary(dst.as_mut(), src.as_ref(), f);
            for i in 0..3 {
                for j in 0..4 {
                    assert_eq!(dst[(i, j)], f.apply(src[(i, j)]), "{f:?}");
                }
            }
        }
        let mut dst = faer::Mat::<f64>::zeros(3, 4);
        binary(dst.as_mut(), src.as_ref(), src.as_ref(), BinaryFn::Sub);
        assert!((0..3).all(|i| (0..4).all(|j| dst[(i, j)] == 0.0)));
    }
}
