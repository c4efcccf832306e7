//! `model!`: a `.nn` spec compiled to Rust at build time.
//!
//! This crate is deliberately thin. It parses the macro's input, reads the spec file, and hands
//! the text to [`nnspec_dsl::emit::expand`], which does all the work; every failure — a
//! malformed call, an unreadable file, the spec's own diagnostics — becomes one
//! `compile_error!` on the string literal, carrying the full rendered text (`specs/x.nn:7:12`,
//! the source line and the caret). The macro never panics.
//!
//! Accepted forms:
//!
//! ```text
//! model!("specs/deep.nn")                               // every model of the file
//! model!(DeepNet from "specs/deep.nn")                  // only DeepNet
//! model!(DeepNet[K = 5, D = 128] from "specs/deep.nn")  // with hyper-parameter overrides
//! model!(r#"model Lin { … }"#)                          // an inline spec (`<inline>`)
//! ```
//!
//! A path is resolved like `include_str!`'s: relative to the directory of the source file that
//! holds the call (falling back to `CARGO_MANIFEST_DIR` when the compiler cannot name that
//! file). The expansion includes the file with `include_bytes!`, so editing the spec rebuilds
//! the caller. Override names are written as Rust identifiers and canonicalised like the
//! spec's own: `lambda` is `λ`, `D_i` is `D_i`, `D_in` is `D_{in}`; values are numbers,
//! possibly negative or decimal.

use nnspec_dsl::check::Options as CheckOptions;
use nnspec_dsl::emit::{self, Options};
use nnspec_dsl::names;
use proc_macro2::TokenStream;
use quote::quote;
use std::path::{Path, PathBuf};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// Compiles a `.nn` spec into Rust types, one per model (see the crate documentation for the
/// accepted forms).
///
/// ```ignore
/// nnspec::model!("specs/deep.nn");
/// nnspec::model!(DeepNet[K = 5, D = 128] from "specs/deep.nn");
/// nnspec::model!(r#"model Lin { input x : ℝ^3 … }"#);
/// ```
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let call_file = proc_macro::Span::call_site().local_file();
    let out = match syn::parse::<Input>(input) {
        Ok(input) => expand(&input, call_file).unwrap_or_else(|e| e.to_compile_error()),
        Err(e) => e.to_compile_error(),
    };
    out.into()
}

/// What the macro was given.
struct Input {
    /// `DeepNet` in `DeepNet[…] from "…"`.
    model: Option<Ident>,
    /// `(canonical name, value)`, in the order written.
    overrides: Vec<(String, f64)>,
    /// The path or the inline spec.
    lit: LitStr,
}

mod kw {
    syn::custom_keyword!(from);
}

/// The error for an input that is none of the accepted forms.
const USAGE: &str = "expected a string literal: a path to a .nn file (`model!(\"specs/deep.nn\")`), \
     an inline spec (`model!(r#\"model Lin { … }\"#)`), or a model with overrides \
     (`model!(DeepNet[K = 5] from \"specs/deep.nn\")`)";

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Input> {
        if input.peek(LitStr) {
            let lit = input.parse()?;
            end(input)?;
            return Ok(Input {
                model: None,
                overrides: Vec::new(),
                lit,
            });
        }
        if !input.peek(Ident) || input.peek(kw::from) {
            return Err(input.error(USAGE));
        }
        let model: Ident = input.parse()?;
        let mut overrides: Vec<(String, f64)> = Vec::new();
        if input.peek(syn::token::Bracket) {
            let content;
            syn::bracketed!(content in input);
            while !content.is_empty() {
                let name: Ident = content.parse()?;
                content.parse::<Token![=]>()?;
                let value = number(&content)?;
                let canonical = canonical(&name);
                if overrides.iter().any(|(n, _)| *n == canonical) {
                    return Err(syn::Error::new(
                        name.span(),
                        format!("`{canonical}` is overridden twice"),
                    ));
                }
                overrides.push((canonical, value));
                if content.is_empty() {
                    break;
                }
                content.parse::<Token![,]>()?;
            }
        }
        if !input.peek(kw::from) {
            return Err(input.error(format!(
                "expected `from \"path/to/spec.nn\"` after `{model}`{}",
                if overrides.is_empty() {
                    " (or hyper-parameter overrides: `[K = 5]`)"
                } else {
                    ""
                }
            )));
        }
        input.parse::<kw::from>()?;
        if !input.peek(LitStr) {
            return Err(
                input.error("expected a string literal: a path to a .nn file or an inline spec")
            );
        }
        let lit = input.parse()?;
        end(input)?;
        Ok(Input {
            model: Some(model),
            overrides,
            lit,
        })
    }
}

/// Rejects tokens after a complete input.
fn end(input: ParseStream<'_>) -> syn::Result<()> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(input.error("unexpected tokens after the spec"))
    }
}

/// An override's value: an integer or decimal literal, possibly negated.
fn number(input: ParseStream<'_>) -> syn::Result<f64> {
    let negative = input.parse::<Option<Token![-]>>()?.is_some();
    let lit: syn::Lit = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "expected a number, e.g. `5` or `0.1`"))?;
    let (value, suffix, span) = match &lit {
        syn::Lit::Int(i) => (i.base10_parse::<f64>(), i.suffix(), i.span()),
        syn::Lit::Float(f) => (f.base10_parse::<f64>(), f.suffix(), f.span()),
        _ => {
            return Err(syn::Error::new(
                lit.span(),
                "expected a number, e.g. `5` or `0.1`",
            ));
        }
    };
    if !suffix.is_empty() {
        return Err(syn::Error::new(
            span,
            format!("write the number without the `{suffix}` suffix"),
        ));
    }
    let value = value?;
    if !value.is_finite() {
        return Err(syn::Error::new(span, "the value is too large"));
    }
    Ok(if negative { -value } else { value })
}

/// A hyper-parameter's canonical name from its spelling as a Rust identifier: the ASCII
/// Greek word becomes the letter (`lambda` → `λ`) and a subscript is kept (`D_i`, `D_{in}`).
fn canonical(name: &Ident) -> String {
    let text = name.unraw().to_string();
    match text.split_once('_') {
        Some((head, sub)) if !head.is_empty() && !sub.is_empty() => {
            names::build(head, 0, false, &[sub.to_string()])
        }
        _ => names::word(&text).to_string(),
    }
}

/// Whether a literal is a spec rather than a path: it contains `model` followed by a `{`.
fn is_inline(text: &str) -> bool {
    text.find("model").is_some_and(|i| text[i..].contains('{'))
}

/// Reads the spec and expands it; every failure is an error on the literal.
fn expand(input: &Input, call_file: Option<PathBuf>) -> syn::Result<TokenStream> {
    let lit = &input.lit;
    let err = |msg: String| syn::Error::new(lit.span(), message(&msg));
    let model = input.model.as_ref().map(|m| m.unraw().to_string());
    let opts = Options {
        model: model.clone(),
        check: CheckOptions {
            overrides: input
                .overrides
                .iter()
                .map(|(n, v)| (model.clone(), n.clone(), *v))
                .collect(),
        },
        ..Options::default()
    };
    let text = lit.value();
    if is_inline(&text) {
        return generate(&text, "<inline>", &opts).map_err(err);
    }
    if text.is_empty() {
        return Err(err(
            "expected a path to a .nn file, found an empty string".into()
        ));
    }
    let rel = Path::new(&text);
    if rel.is_absolute() || rel.has_root() {
        return Err(err(format!(
            "`{text}` is an absolute path; use a path relative to this file"
        )));
    }
    let base = match call_file.as_deref().and_then(Path::parent) {
        Some(dir) => dir.to_path_buf(),
        None => match std::env::var_os("CARGO_MANIFEST_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => {
                return Err(err(format!(
                    "cannot resolve `{text}`: neither the calling file nor CARGO_MANIFEST_DIR \
                     is known"
                )));
            }
        },
    };
    let joined = base.join(rel);
    // The clean absolute path when the file exists (`a/src/../specs/x.nn` → `a/specs/x.nn`).
    let path = std::fs::canonicalize(&joined)
        .or_else(|_| std::path::absolute(&joined))
        .unwrap_or(joined);
    let shown = path.display();
    let bytes = std::fs::read(&path).map_err(|e| err(format!("cannot read {shown}: {e}")))?;
    let src = String::from_utf8(bytes).map_err(|e| {
        err(format!(
            "{shown}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let Some(abs) = path.to_str() else {
        return Err(err(format!(
            "{shown}: the path is not UTF-8, so it cannot be tracked for rebuilds"
        )));
    };
    let code = generate(&src, &text, &opts).map_err(err)?;
    Ok(quote! {
        const _: &[u8] = include_bytes!(#abs);
        #code
    })
}

/// The text of a `compile_error!`: rustc prints its own `error: ` before it, so a leading one
/// is dropped (`error[E0301]: …` is kept whole). A multi-line text ends with one line break,
/// which makes rustc print its lines as they are rather than indented under the first.
fn message(text: &str) -> String {
    let text = text.strip_prefix("error: ").unwrap_or(text).trim_end();
    if text.contains('\n') {
        format!("{text}\n")
    } else {
        text.to_string()
    }
}

/// Runs the code generator, turning a panic (a compiler bug) into an error message.
fn generate(src: &str, label: &str, opts: &Options) -> Result<TokenStream, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        emit::expand(src, label, opts)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!(
            "internal compiler error: nnspec's code generator panicked on {label}: {what}\n\
             note: this is a bug in nnspec; please report it with the spec that caused it"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str) -> syn::Result<Input> {
        syn::parse_str::<Input>(text)
    }

    #[test]
    fn override_names_are_canonical() {
        let i = input(
            r#"DeepNet[K = 5, lambda = -0.5, D_i = 1e2, D_in = 3, r#Omega = 1,] from "x.nn""#,
        )
        .unwrap();
        assert_eq!(i.model.unwrap().unraw().to_string(), "DeepNet");
        let want = [
            ("K", 5.0),
            ("λ", -0.5),
            ("D_i", 100.0),
            ("D_{in}", 3.0),
            ("Ω", 1.0),
        ];
        let want: Vec<(String, f64)> = want.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        assert_eq!(i.overrides, want);
        assert_eq!(i.lit.value(), "x.nn");
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for text in [
            "",
            "42",
            "DeepNet",
            "DeepNet[K = 5]",
            "DeepNet[K] from \"x.nn\"",
            "DeepNet[K = x] from \"x.nn\"",
            "DeepNet[K = 5u8] from \"x.nn\"",
            "DeepNet[K = 5, K = 6] from \"x.nn\"",
            "DeepNet from 42",
            "\"x.nn\" extra",
            "from \"x.nn\"",
        ] {
            assert!(input(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn the_expansion_of_a_spec_file_with_overrides_matches_its_snapshot() {
        // The macro's own path: parse the call, resolve the file next to this source file,
        // expand, add the rebuild tracking. Only the proc_macro bridge is left out.
        let manifest = env!("CARGO_MANIFEST_DIR");
        let call_file = PathBuf::from(manifest).join("src/lib.rs");
        let call =
            input(r#"DeepNet[K = 2, D = 8, D_i = 4, D_o = 3] from "../../specs/deep.nn""#).unwrap();
        let tokens = expand(&call, Some(call_file)).expect("expands");
        let file: syn::File = syn::parse2(tokens).expect("valid Rust");
        let root = std::fs::canonicalize(PathBuf::from(manifest).join("..")).unwrap();
        let code = prettyplease::unparse(&file).replace(&root.display().to_string(), "$ROOT");
        assert!(
            code.contains("include_bytes!(\"$ROOT/specs/deep.nn\")"),
            "{code}"
        );
        insta::assert_snapshot!("expansion_deep_overridden", code);
    }

    #[test]
    fn inline_specs_are_recognised() {
        assert!(is_inline("model Lin { input x : ℝ }"));
        assert!(is_inline("\n  model Lin[D = 2]\n{ }"));
        assert!(!is_inline("specs/model.nn"));
        assert!(!is_inline("specs/deep.nn"));
    }

    #[test]
    fn messages_drop_the_duplicate_prefix() {
        assert_eq!(
            message("error: no model `X` in a.nn"),
            "no model `X` in a.nn"
        );
        assert_eq!(
            message("error[E0301]: a\n --> b\n\n"),
            "error[E0301]: a\n --> b\n"
        );
    }
}
