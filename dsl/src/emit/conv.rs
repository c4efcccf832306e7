//! The statement of a convolution op (`ir::conv`): a call of the runtime's kernel of its part
//! on the owned matrices, with the geometry as a literal (no allocation).

use crate::ir::conv::{Conv, ConvPart};
use proc_macro2::TokenStream;
use quote::quote;

/// `rt::conv::conv(Part::…, dst, a, b, scratch, Geom { … });` with channels in rows, the
/// scratch the workspace's patch matrix ([`scratch_init`]); with one channel, whose kernel
/// is the runtime's direct loops (`Geom::uses_gemm` is `chan_rows`), `conv_direct` and no
/// scratch.
pub(super) fn stmt(
    rt: &TokenStream,
    dst: TokenStream,
    (a, b): (TokenStream, TokenStream),
    scratch: TokenStream,
    c: Conv,
) -> TokenStream {
    let part = match c.part {
        ConvPart::Forward => quote!(#rt::conv::Part::Forward),
        ConvPart::Input => quote!(#rt::conv::Part::Input),
        ConvPart::Kernel => quote!(#rt::conv::Part::Kernel),
    };
    let geom = geom(rt, c);
    if c.chan_rows {
        quote!(#rt::conv::conv(#part, #dst, #a, #b, #scratch, #geom);)
    } else {
        quote!(#rt::conv::conv_direct(#part, #dst, #a, #b, #geom);)
    }
}

/// The workspace's patch matrix for the convolutions of a graph, sized by the runtime
/// (`conv::scratch_for`) from their geometries: `None` without a convolution with channels
/// in rows (the only ones with a patch matrix).
pub(super) fn scratch_init(
    rt: &TokenStream,
    faer: &TokenStream,
    convs: &[Conv],
) -> Option<TokenStream> {
    let convs: Vec<Conv> = convs.iter().copied().filter(|c| c.chan_rows).collect();
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
