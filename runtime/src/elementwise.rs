//! Element-wise kernels: a function of [`Unary`] or a binary operation mapped over matrices
//! into preallocated outputs.
//!
//! The formulas themselves live in `nnspec-ops` ([`Unary::apply`]), the one definition the
//! interpreter, generated code and the compiler's constant folding all use.

use crate::{Scalar, Unary};
use faer::{MatMut, MatRef, unzip, zip};

/// `dst = f(src)` element-wise.
///
/// # Panics
/// If `dst` and `src` differ in shape.
pub fn unary<T: Scalar>(dst: MatMut<'_, T>, src: MatRef<'_, T>, f: Unary) {
    map(dst, src, |x| f.apply(x));
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
    use crate::F64;

    #[test]
    fn matrix_kernels_agree_with_apply() {
        let src = faer::Mat::from_fn(3, 4, |i, j| i as f64 - j as f64 * 0.7);
        for &f in Unary::EXAMPLES {
            let mut dst = faer::Mat::<f64>::zeros(3, 4);
            unary(dst.as_mut(), src.as_ref(), f);
            for i in 0..3 {
                for j in 0..4 {
                    let (got, want) = (dst[(i, j)], f.apply(src[(i, j)]));
                    assert!(got == want || (got.is_nan() && want.is_nan()), "{f:?}");
                }
            }
        }
        let mut dst = faer::Mat::<f64>::zeros(3, 4);
        unary(dst.as_mut(), src.as_ref(), Unary::LRelu(F64(0.5)));
        assert_eq!(dst[(0, 1)], -0.35);
        binary(dst.as_mut(), src.as_ref(), src.as_ref(), BinaryFn::Sub);
        assert!((0..3).all(|i| (0..4).all(|j| dst[(i, j)] == 0.0)));
    }
}
