//! The statement of a convolution op (`ir::conv`): a call of the runtime's kernel of its part
//! on the owned matrices, with the geometry as a literal (no allocation).

use crate::ir::conv::{Conv1d, ConvPart};
use proc_macro2::TokenStream;
use quote::quote;

/// `rt::conv::conv1d(dst, a, b, Geom { … });` (or `conv1d_input`, `conv1d_kernel`).
pub(super) fn stmt(
    rt: &TokenStream,
    dst: TokenStream,
    a: TokenStream,
    b: TokenStream,
    c: Conv1d,
) -> TokenStream {
    let f = match c.part {
        ConvPart::Forward => quote!(conv1d),
        ConvPart::Input => quote!(conv1d_input),
        ConvPart::Kernel => quote!(conv1d_kernel),
    };
    let (pad, stride, dil) = (c.pad as usize, c.stride as usize, c.dil as usize);
    quote!(#rt::conv::#f(#dst, #a, #b, #rt::conv::Geom { pad: #pad, stride: #stride, dil: #dil });)
}
