//! The code `model!` generates for every valid spec, pretty-printed and snapshotted: what a
//! person reads to check the backward pass against the book.

use crate::valid_specs;
use nnspec_dsl::emit;

#[test]
fn generated_code_of_every_spec_matches_its_snapshot() {
    for path in valid_specs() {
        let src = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let tokens = emit::expand(&src, &format!("{stem}.nn"), &emit::Options::default())
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        let file: syn::File = syn::parse2(tokens)
            .unwrap_or_else(|e| panic!("{stem}: generated code does not parse: {e}"));
        let code = emit::comments_from_markers(&prettyplease::unparse(&file));
        insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "snapshots" }, {
            insta::assert_snapshot!(format!("emit__{stem}"), code);
        });
    }
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
