//! The statements of a row concatenation `[A; B; …]` (eq. 12.12's heads stacked), each
//! argument copied into its rows of the buffer by `runtime::layout::put_rows`, and of
//! its transpose, a slice of rows.

use super::cx::Cx;
use crate::ir::NodeId;
use proc_macro2::TokenStream;
use quote::quote;

impl Cx<'_> {
    /// `ConcatRows`: every argument put at its first row, in order.
    pub(super) fn concat_rows(&self, id: NodeId) -> TokenStream {
        let rt = &self.rt;
        let dst = self.write(id);
        let mut start = 0usize;
        let puts: Vec<TokenStream> = self
            .g
            .node(id)
            .args
            .iter()
            .map(|&a| {
                let src = self.read(a);
                let at = start;
                start += self.g.shape(a).rows;
                quote!(#rt::layout::put_rows(dst.as_mut(), #src, #at);)
            })
            .collect();
        quote! {
            let mut dst = #dst;
            #(#puts)*
        }
    }

    /// `SliceRows`: rows `start … start + rows - 1` of the argument, a view copied.
    pub(super) fn slice_rows(&self, id: NodeId, start: u32, rows: u32) -> TokenStream {
        let dst = self.write(id);
        let a = self.read(self.g.node(id).args[0]);
        let (start, rows) = (start as usize, rows as usize);
        quote! {
            let src = #a;
            let mut dst = #dst;
            dst.copy_from(src.subrows(#start, #rows));
        }
    }
}
