//! `nnspec fmt`: a spec's canonical layout, and conversion between its Unicode and ASCII
//! spellings.
//!
//! The formatter rewrites the source text, not the tree, so comments and the author's
//! line breaks inside an expression survive. It parses the file first (a file that does not
//! parse is refused with the parser's diagnostics) and takes from the parse the spelled
//! leaves (`syntax::leaves`): what each word and symbol is, so that `x` between dimensions
//! becomes `×` while the input `x` stays. Symbols matched inside silent grammar rules (`∈`,
//! `…`, `‖`, `←`, `≤`, `≠`, `∂`) are found between the leaves, outside comments. Every
//! spelling comes from the one table [`crate::spelling`]; a comment aligned after code keeps
//! its column. Then [`layout`] lays the lines out.
//! The result is parsed again: were it not to parse, the file is refused (`E0339`) rather
//! than rewritten.

mod layout;
mod respell;

use crate::diag::{Code, Diagnostic, Span};
pub use layout::layout;

/// Which spelling the formatted file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// Every symbol as written.
    Keep,
    /// Every symbol in its ASCII spelling (`beta`, `R^{D x D}`, `sum`).
    Ascii,
    /// Every symbol in the book's Unicode spelling (`β`, `ℝ^{D×D}`, `∑`).
    Unicode,
}

/// The formatted text of a spec, or why it cannot be formatted: the parser's diagnostics,
/// a name with no ASCII spelling (`E0338`, for [`Spelling::Ascii`]), or `E0339`.
pub fn format(src: &str, spelling: Spelling) -> Result<String, Vec<Diagnostic>> {
    let leaves = crate::with_big_stack(|| crate::syntax::leaves(src))?;
    let edits = respell::edits(src, &leaves, spelling)?;
    let text = respell::apply(src, edits);
    let out = layout(&text);
    if let Err(d) = crate::with_big_stack(|| crate::syntax::parse(&out)) {
        let at = d.first().map_or(Span::new(0, 0), |d| d.span);
        let what = d.first().map_or(String::new(), |d| d.message.clone());
        return Err(vec![
            Diagnostic::new(
                Code::E0339,
                Span::new(0, 0),
                "the formatted file would not parse; it is left as it is",
            )
            .note(format!(
                "the formatted text fails at byte {}: {what}",
                at.start
            ))
            .note("this is a bug in nnspec fmt; please report it with the spec"),
        ]);
    }
    Ok(out)
}
