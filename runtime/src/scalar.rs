//! The element type of every kernel: [`Scalar`], implemented for `f32` and `f64`.
//!
//! It is faer's [`RealField`] (what `matmul` and the views need) plus the elementary functions
//! the IR's element-wise operations use, and exact conversions from and to `f64`, the type the
//! compiler writes constants in.
//!
//! `exp` is the runtime's own [`fastmath`](crate::fastmath) exponential, so that loops over it
//! vectorise; the other functions are the standard library's.

use faer::traits::RealField;
use std::fmt::{Debug, Display};

/// A real floating-point number the kernels compute with: `f32` or `f64`.
///
/// The functions have the meaning of the inherent methods of the same name on `f32`/`f64`
/// (`ln` is the natural logarithm, `ln_1p(x) = ln(1 + x)` accurate for small `x`).
pub trait Scalar:
    RealField + Copy + Default + Debug + Display + Send + Sync + 'static + std::ops::Neg<Output = Self>
{
    /// `0`.
    const ZERO: Self;
    /// `1`.
    const ONE: Self;
    /// `+∞`.
    const INFINITY: Self;
    /// `-∞`.
    const NEG_INFINITY: Self;

    /// The nearest value to `x` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// The value as an `f64` (exact).
    fn to_f64(self) -> f64;
    /// `eˣ`, computed by [`fastmath`](crate::fastmath) rather than the C library: inlined and
    /// vectorisable, within 1 ulp (it may differ from `f32::exp`/`f64::exp` in the last bit).
    fn exp(self) -> Self;
    /// `ln x`.
    fn ln(self) -> Self;
    /// `ln(1 + x)`, accurate near `x = 0`.
    fn ln_1p(self) -> Self;
    /// `sin x`.
    fn sin(self) -> Self;
    /// `cos x`.
    fn cos(self) -> Self;
    /// `tanh x`.
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

    /// The safetensors dtype of the type: `"F32"` or `"F64"`.
    const DTYPE_NAME: &'static str;
    /// Appends the little-endian bytes of the value to `out`.
    fn extend_le_bytes(self, out: &mut Vec<u8>);
    /// The value whose little-endian bytes are `bytes`, or `None` if `bytes` is not exactly
    /// `size_of::<Self>()` long.
    fn from_le_slice(bytes: &[u8]) -> Option<Self>;
}

macro_rules! impl_scalar {
    ($t:ident, $dtype:literal, $exp:path) => {
        impl Scalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;

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
                $t::tanh(self)
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

            const DTYPE_NAME: &'static str = $dtype;
            #[inline]
            fn extend_le_bytes(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn from_le_slice(bytes: &[u8]) -> Option<Self> {
                bytes.try_into().ok().map($t::from_le_bytes)
            }
        }
    };
}

impl_scalar!(f32, "F32", crate::fastmath::exp_f32);
impl_scalar!(f64, "F64", crate::fastmath::exp_f64);

#[cfg(test)]
mod tests {
    use super::Scalar;

    #[test]
    fn conversions_round_trip() {
        assert_eq!(<f64 as Scalar>::from_f64(0.1).to_f64(), 0.1);
        assert_eq!(<f32 as Scalar>::from_f64(0.5).to_f64(), 0.5);
        assert_eq!(<f32 as Scalar>::from_f64(0.1), 0.1f32);
    }
}
