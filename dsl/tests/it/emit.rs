//! The code `model!` generates for every valid spec, pretty-printed and snapshotted: what a
//! person reads to check the backward pass against the book.

use crate::valid_specs;
use nnspec_dsl::emit;

/// The generated code of a spec, or `None` for one that looks a table up at a policy's action
/// (`specs/policy_iteration.nn`), which `model!` refuses by name: not run yet.
fn emitted(src: &str, stem: &str) -> Option<proc_macro2::TokenStream> {
    match emit::expand(src, &format!("{stem}.nn"), &emit::Options::default()) {
        Ok(t) => Some(t),
        Err(e) if e.contains("labels another table holds") && stem == "policy_iteration" => None,
        Err(e) => panic!("{stem}: {e}"),
    }
}

#[test]
fn generated_code_of_every_spec_matches_its_snapshot() {
    for path in valid_specs() {
        let src = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(tokens) = emitted(&src, &stem) else {
            continue;
        };
        let file: syn::File = syn::parse2(tokens)
            .unwrap_or_else(|e| panic!("{stem}: generated code does not parse: {e}"));
        let code = emit::comments_from_markers(&prettyplease::unparse(&file));
        insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "snapshots" }, {
            insta::assert_snapshot!(format!("emit__{stem}"), code);
        });
    }
}

/// Whether `attrs` hold a non-empty doc string.
fn documented(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => !s.value().trim().is_empty(),
            _ => false,
        },
        _ => false,
    })
}

/// The public items of generated code without documentation: types, their public fields and
/// inherent methods.
fn undocumented(file: &syn::File) -> Vec<String> {
    let public = |v: &syn::Visibility| matches!(v, syn::Visibility::Public(_));
    let mut missing = Vec::new();
    for item in &file.items {
        match item {
            syn::Item::Struct(s) if public(&s.vis) => {
                if !documented(&s.attrs) {
                    missing.push(s.ident.to_string());
                }
                for f in s.fields.iter().filter(|f| public(&f.vis)) {
                    if !documented(&f.attrs) {
                        missing.push(format!("{}.{}", s.ident, f.ident.as_ref().unwrap()));
                    }
                }
            }
            syn::Item::Impl(i) if i.trait_.is_none() => {
                for f in i.items.iter().filter_map(|m| match m {
                    syn::ImplItem::Fn(f) if public(&f.vis) => Some(f),
                    _ => None,
                }) {
                    if !documented(&f.attrs) {
                        missing.push(format!("fn {}", f.sig.ident));
                    }
                }
            }
            _ => {}
        }
    }
    missing
}

#[test]
fn every_generated_type_field_and_method_is_documented() {
    for path in valid_specs() {
        let src = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(tokens) = emitted(&src, &stem) else {
            continue;
        };
        let file: syn::File = syn::parse2(tokens).expect("generated code parses");
        let missing = undocumented(&file);
        assert!(
            missing.is_empty(),
            "{stem}: no documentation on {missing:?}"
        );
    }
    // The check itself: an undocumented method is found.
    let bare: syn::File = syn::parse_str("pub struct M; impl M { pub fn f() {} }").unwrap();
    assert_eq!(undocumented(&bare), ["M", "fn f"]);
}

#[test]
fn spec_errors_come_back_rendered() {
    let err = emit::expand("model M { h = a[ }", "bad.nn", &emit::Options::default())
        .expect_err("a syntax error");
    assert!(
        err.contains("error[E0101]") && err.contains("bad.nn:1:"),
        "{err}"
    );
    let opts = emit::Options {
        model: Some("Nope".into()),
        ..emit::Options::default()
    };
    let src = std::fs::read_to_string(crate::repo_root().join("specs/deep.nn")).expect("deep.nn");
    assert!(
        emit::expand(&src, "deep.nn", &opts)
            .expect_err("no such model")
            .contains("no model `Nope`")
    );
}

#[test]
fn the_jax_module_of_deep_net_matches_its_snapshot() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/deep.nn");
    let src = std::fs::read_to_string(&root).expect("specs/deep.nn");
    let opts = nnspec_dsl::export::Options::default();
    let module = nnspec_dsl::export::export(
        &src,
        "specs/deep.nn",
        nnspec_dsl::export::Target::Jax,
        &opts,
    )
    .expect("deep.nn exports");
    assert_eq!(module.file_name, "deep_net.py");
    insta::assert_snapshot!("export_jax__deep", module.code);
}

/// A whole rule whose new value is another parameter as it stands (`φ_{t+1} ← m_t`, after a
/// rule that writes `m`) would read `m` after its write if the rules were written one after
/// another: `model!` refuses it by name, naming the rule.
#[test]
fn a_rule_copying_a_parameter_is_refused_by_name() {
    let src = "model Swap[α = 0.1] {
    input  x : ℝ
    target y : ℝ
    param  φ : ℝ^{2}
    param  m : ℝ^{2} = 0
    f[x, φ] = φ_1 + φ_2 x
    loss L[φ] = ∑_i (f[x_i, φ] - y_i)²
    m_{t+1} ← φ_t - α · ∂L/∂φ
    φ_{t+1} ← m_t
}
";
    let e = emit::expand(src, "swap.nn", &emit::Options::default()).unwrap_err();
    assert!(
        e.contains("model `Swap`") && e.contains("`φ ←` copies a parameter as it stands"),
        "{e}"
    );
}
