//! Data-driven tests: every valid spec checks clean and its AST and shapes are snapshotted;
//! every invalid spec fails with exactly the codes its `# expect:` lines name, and its
//! rendered diagnostics are snapshotted.

use crate::{nn_files, repo_root, valid_specs};
use nnspec_dsl::{Code, check::Options, check_source, diag, dump};
use std::collections::BTreeSet;
use std::path::Path;

fn err_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/err")
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false, snapshot_path => "snapshots" }, {
        insta::assert_snapshot!(name, text);
    });
}

/// The codes a spec announces with `# expect: E0301` lines.
fn expected_codes(src: &str) -> BTreeSet<String> {
    src.lines()
        .filter_map(|l| l.trim().strip_prefix("# expect:"))
        .map(|c| c.trim().to_string())
        .collect()
}

#[test]
fn valid_specs_check_clean_and_match_their_snapshots() {
    let files = valid_specs();
    assert!(
        files.len() >= 10,
        "expected the book's specs, found {}",
        files.len()
    );
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable spec");
        let shown = format!(
            "{}/{}",
            path.parent()
                .and_then(|p| p.file_name())
                .unwrap()
                .to_string_lossy(),
            stem(&path)
        );
        let checked = match check_source(&src, &Options::default()) {
            Ok(c) => c,
            Err(d) => panic!(
                "{shown}.nn should check clean:\n{}",
                diag::render(&d, &shown, &src)
            ),
        };
        let text = format!(
            "{}\n{}",
            dump::ast(&checked.ast, &src),
            nnspec_dsl::check::dump(&checked.info)
        );
        snapshot(&format!("ok__{}", shown.replace('/', "__")), &text);
    }
}

#[test]
fn invalid_specs_fail_with_their_announced_codes() {
    let files = nn_files(&err_dir());
    assert!(
        files.len() >= 40,
        "expected at least 40 invalid specs, found {}",
        files.len()
    );
    for path in files {
        let src =
            String::from_utf8_lossy(&std::fs::read(&path).expect("readable spec")).into_owned();
        let shown = format!("err/{}.nn", stem(&path));
        let want = expected_codes(&src);
        assert!(!want.is_empty(), "{shown} has no `# expect:` line");
        let diags = match check_source(&src, &Options::default()) {
            Ok(_) => panic!("{shown} should fail with {want:?} but checks clean"),
            Err(d) => d,
        };
        let got: BTreeSet<String> = diags.iter().map(|d| d.code.as_str().to_string()).collect();
        let rendered = diag::render(&diags, &shown, &src);
        assert_eq!(got, want, "{shown}: wrong codes\n{rendered}");
        // Every diagnostic names its place as file:line:col and draws a caret.
        assert!(
            rendered.contains(&format!("{shown}:")),
            "{shown}: no file:line:col\n{rendered}"
        );
        assert!(rendered.contains('^'), "{shown}: no caret\n{rendered}");
        snapshot(&format!("err__{}", stem(&path)), &rendered);
    }
}

#[test]
fn every_code_has_a_failing_spec_and_a_line_in_the_language_reference() {
    let mut covered = BTreeSet::new();
    for path in nn_files(&err_dir()) {
        let src = String::from_utf8_lossy(&std::fs::read(&path).expect("readable")).into_owned();
        covered.extend(expected_codes(&src));
    }
    // Overrides come from the command line or the macro, not from a file: tested below.
    covered.insert(Code::E0216.as_str().to_string());
    // `nnspec fmt`'s refusals, not the checker's: tested in `fmt.rs`.
    covered.insert(Code::E0338.as_str().to_string());
    covered.insert(Code::E0339.as_str().to_string());
    let doc =
        std::fs::read_to_string(repo_root().join("docs/LANGUAGE.md")).expect("docs/LANGUAGE.md");
    for code in Code::ALL {
        assert!(
            covered.contains(code.as_str()),
            "no invalid spec in data/err expects {code}"
        );
        assert!(
            doc.contains(code.as_str()),
            "docs/LANGUAGE.md does not list {code}"
        );
    }
}

#[test]
fn an_override_of_an_unknown_hyper_parameter_is_an_error() {
    let src = std::fs::read_to_string(repo_root().join("specs/deep.nn")).expect("specs/deep.nn");
    let opts = Options {
        overrides: vec![(None, "Q".into(), 2.0)],
    };
    let diags = check_source(&src, &opts).expect_err("unknown override");
    assert_eq!(diags[0].code, Code::E0216);
    assert!(diags[0].message.contains("`Q`"));
}

#[test]
fn overrides_change_shapes_and_family_sizes() {
    let src = std::fs::read_to_string(repo_root().join("specs/deep.nn")).expect("specs/deep.nn");
    let opts = Options {
        overrides: vec![(None, "K".into(), 5.0), (None, "D".into(), 32.0)],
    };
    let checked = check_source(&src, &opts).expect("checks with K = 5");
    let shapes = nnspec_dsl::check::dump(&checked.info);
    assert!(shapes.contains("h_5"), "five layers expected:\n{shapes}");
    assert!(!shapes.contains("h_6"), "no sixth layer:\n{shapes}");
    assert!(
        shapes.contains("ℝ^{D} (= ℝ^{32})"),
        "D overridden:\n{shapes}"
    );
}

#[test]
fn declarations_are_typed_once_and_laid_out_from_the_record() {
    use nnspec_dsl::ir::{Cols, Shape};
    use nnspec_dsl::shape::layout;
    let src = std::fs::read_to_string(repo_root().join("specs/deep.nn")).expect("specs/deep.nn");
    let opts = Options {
        overrides: vec![(None, "K".into(), 5.0), (None, "D".into(), 32.0)],
    };
    let checked = check_source(&src, &opts).expect("checks with K = 5");
    let info = &checked.info.models[0];
    // A family member under the overrides: Ω_4 ∈ ℝ^{D×D}, D = 32, a fixed 32 × 32 matrix.
    let omega = info.declared("Ω_4").expect("Ω_4 is declared by the family");
    assert_eq!(omega.to_string(), "ℝ^{D×D} (= ℝ^{32×32})");
    let l = layout::of(omega).expect("a layout");
    assert_eq!(l.shape, Shape::fixed(32, 32));
    assert!(info.declared("Ω_5").is_some() && info.declared("Ω_6").is_none());
    // The input x ∈ ℝ^{D_i}, D_i = 64, per example: 64 × B; the label y ∈ {0 … D_o-1},
    // D_o = 10: one row per example, labels from 0, ten of them.
    let x = layout::of(info.declared("x").expect("x")).expect("a layout");
    assert_eq!(
        (x.shape.rows, x.shape.cols, x.labels),
        (64, Cols::Batch(1), None)
    );
    let y = layout::of(info.declared("y").expect("y")).expect("a layout");
    assert_eq!(
        (y.shape.rows, y.shape.cols, y.labels),
        (1, Cols::Batch(1), Some((0, 10)))
    );
    // The lowered graph's slots are those layouts.
    let g = checked.graphs[0].as_ref().expect("lowered");
    let slot = g
        .params
        .iter()
        .find(|p| p.name == "Ω_4")
        .expect("a slot Ω_4");
    assert_eq!(slot.shape, Shape::fixed(32, 32));
    assert_eq!(g.inputs[0].shape, x.shape);
}

#[test]
fn ascii_and_unicode_spellings_mean_the_same() {
    let uni = "model M[D = 3] { input x : ℝ^D; param β_0 : ℝ^D, Ω₀ : ℝ^{D×D}; \
               target y : ℝ^D; f[x, φ] = β_0 + Ω₀ x; loss L[φ] = ∑_i ‖f[x_i, φ] - y_i‖² }";
    let ascii = "model M[D = 3] { input x : R^D; param beta_0 : R^D, Omega_0 : R^{D x D}; \
                 target y : R^D; f[x, phi] = beta_0 + Omega_0 x; loss L[phi] = sum_i ||f[x_i, phi] - y_i||^2 }";
    let a = check_source(uni, &Options::default()).expect("unicode spelling checks");
    let b = check_source(ascii, &Options::default()).expect("ascii spelling checks");
    assert_eq!(
        nnspec_dsl::check::dump(&a.info),
        nnspec_dsl::check::dump(&b.info)
    );
}

#[test]
fn node_wise_equations_mean_the_same_in_ascii_and_unicode() {
    let uni = "model G[N = 4, D = 3] { input X : ℝ^{D×N}; input A : ℝ^{N×N}; \
               param β : ℝ^D, Ω : ℝ^{D×D}; H = X; \
               agg[n] = ∑_{m ∈ ne[n]} h_m / √(|ne[n]| |ne[m]|); \
               h_1^{(n)} = ReLU[β + Ω h^{(n)} + Ω agg[n]] }";
    let ascii = "model G[N = 4, D = 3] { input X : R^{D x N}; input A : R^{N x N}; \
                 param beta : R^D, Omega : R^{D x D}; H = X; \
                 agg[n] = sum_{m in ne[n]} h_m / sqrt[|ne[n]| |ne[m]|]; \
                 h_1^{(n)} = ReLU[beta + Omega h^{(n)} + Omega agg[n]] }";
    let a = check_source(uni, &Options::default()).expect("unicode spelling checks");
    let b = check_source(ascii, &Options::default()).expect("ascii spelling checks");
    assert_eq!(
        nnspec_dsl::check::dump(&a.info),
        nnspec_dsl::check::dump(&b.info)
    );
    let (ga, gb) = (
        a.graph(None).expect("lowered"),
        b.graph(None).expect("lowered"),
    );
    // `√x` and `sqrt[x]` are one root of the sizes: the same operations.
    assert_eq!(ga.to_string(), gb.to_string());
}

#[test]
fn every_construct_that_cannot_be_compiled_is_reported_at_its_place() {
    let src = std::fs::read_to_string(err_dir().join("E0406_every_construct_reported.nn"))
        .expect("readable");
    let diags = check_source(&src, &Options::default()).expect_err("fails");
    let lines: Vec<usize> = diags
        .iter()
        .map(|d| src[..d.span.start as usize].lines().count())
        .collect();
    // `∏_i x_i` (a product over the batch), `x^c` (an exponent that is a parameter), and
    // `∏_i Z_i` of the second model.
    assert_eq!(lines, [8, 10, 17], "{diags:#?}");
    assert!(diags.iter().all(|d| d.code == Code::E0406));
}
