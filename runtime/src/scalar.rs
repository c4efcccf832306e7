//! The element type of every kernel: [`Scalar`], implemented for `f32` and `f64`.
//!
//! It is faer's [`RealField`] (what `matmul` and the views need) plus [`Real`], the elementary
//! functions and `f64` conversions that the element-wise formulas of `nnspec-ops` are written
//! in (`exp` is [`fastmath`](crate::fastmath)'s, so that loops over it vectorise).

use faer::traits::RealField;
use nnspec_ops::Real;
use std::fmt::{Debug, Display};

/// A real floating-point number the kernels compute with: `f32` or `f64`.
///
/// The arithmetic and elementary functions are [`Real`]'s (shared with the compiler's constant
/// folding through `nnspec-ops`); this trait adds what matrices and files need.
pub trait Scalar:
    RealField
    + Real
    + Copy
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + std::ops::Neg<Output = Self>
{
    /// `+∞`.
    const INFINITY: Self;
    /// `-∞`.
    const NEG_INFINITY: Self;

    /// The safetensors dtype of the type: `"F32"` or `"F64"`.
    const DTYPE_NAME: &'static str;
    /// Appends the little-endian bytes of the value to `out`.
    fn extend_le_bytes(self, out: &mut Vec<u8>);
    /// The value whose little-endian bytes are `bytes`, or `None` if `bytes` is not exactly
    /// `size_of::<Self>()` long.
    fn from_le_slice(bytes: &[u8]) -> Option<Self>;
}

macro_rules! impl_scalar {
    ($t:ident, $dtype:literal) => {
        impl Scalar for $t {
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;
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

impl_scalar!(f32, "F32");
impl_scalar!(f64, "F64");

#[cfg(test)]
mod tests {
    use nnspec_ops::Real;

    #[test]
    fn conversions_round_trip() {
        assert_eq!(<f64 as Real>::from_f64(0.1).to_f64(), 0.1);
        assert_eq!(<f32 as Real>::from_f64(0.5).to_f64(), 0.5);
        assert_eq!(<f32 as Real>::from_f64(0.1), 0.1f32);
    }
}
