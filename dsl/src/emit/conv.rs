//! The statement of a convolution op (`ir::conv`): a call of the runtime's kernel of its part
//! on the owned matrices, with the geometry as a literal (no allocation).

use crate::ir::conv::{Conv, ConvPart};
use proc_macro2::TokenStream;
use quote::quote;

/// `rt::conv::conv(dst, a, b, scratch, Geom { … });` (or `conv_input`, `conv_kernel`), the
/// scratch the workspace's patch matrix ([`scratch_init`]).
pub(super) fn stmt(
    rt: &TokenStream,
    dst: TokenStream,
    (a, b): (TokenStream, TokenStream),
    scratch: TokenStream,
    c: Conv,
) -> TokenStream {
    let f = match c.part {
        ConvPart::Forward => quote!(conv),
        ConvPart::Input => quote!(conv_input),
        ConvPart::Kernel => quote!(conv_kernel),
    };
    let geom = geom(rt, c);
    quote!(#rt::conv::#f(#dst, #a, #b, #scratch, #geom);)
}

/// The workspace's patch matrix for the convolutions of a graph, sized by the runtime
/// (`conv::scratch_for`) from their geometries: `None` without a convolution.
pub(super) fn scratch_init(
    rt: &TokenStream,
    faer: &TokenStream,
    convs: &[Conv],
) -> Option<TokenStream> {
    if convs.is_empty() {
        return None;
    }
    let geoms = convs.iter().map(|c| geom(rt, *c));
    Some(quote!({
        let (rows, cols) = #rt::conv::scratch_for(&[#(#geoms),*]);
        #faer::Mat::zeros(rows, cols * max_batch)
    }))
}

/// The geometry as a literal `rt::conv::Geom { … }`.
fn geom(rt: &TokenStream, c: Conv) -> TokenStream {
    let (c_in, c_out) = (c.c_in as usize, c.c_out as usize);
    let pair = |v: [u32; 2]| {
        let (a, b) = (v[0] as usize, v[1] as usize);
        quote!([#a, #b])
    };
    let (k, pad, stride, dil) = (pair(c.k), pair(c.pad), pair(c.stride), pair(c.dil));
    let (n_in, n_out, chan_rows) = (pair(c.n_in), pair(c.n_out), c.chan_rows);
    quote!(#rt::conv::Geom {
        c_in: #c_in, c_out: #c_out, k: #k, pad: #pad, stride: #stride, dil: #dil,
        n_in: #n_in, n_out: #n_out, chan_rows: #chan_rows,
    })
}
