//! `fmt`: for every spec of the repository and of the book corpus, formatting is idempotent,
//! keeps every comment, and neither the layout nor the conversion to ASCII and back to
//! Unicode changes what the file means: the checked shapes and the lowered IR of every model
//! are the same (at the default hyper-parameters).

use crate::{nn_files, repo_root};
use nnspec_dsl::check::Options;
use nnspec_dsl::fmt::{Spelling, format};
use nnspec_dsl::{Code, check_source};
use std::path::PathBuf;

/// Every spec: `specs/`, the book corpus `tests/book/` and the valid cases of `dsl/tests/data/ok`.
fn all_specs() -> Vec<PathBuf> {
    let mut v = crate::valid_specs();
    v.extend(nn_files(&repo_root().join("tests/book")));
    v
}

/// What a file means: the shapes of every model and the printed IR of each, or the codes of
/// its diagnostics when it does not check.
fn meaning(src: &str) -> String {
    thread_local! {
        static SEEN: std::cell::RefCell<std::collections::HashMap<String, String>> =
            Default::default();
    }
    if let Some(m) = SEEN.with(|s| s.borrow().get(src).cloned()) {
        return m;
    }
    let m = meaning_of(src);
    SEEN.with(|s| s.borrow_mut().insert(src.to_string(), m.clone()));
    m
}

fn meaning_of(src: &str) -> String {
    match check_source(src, &Options::default()) {
        Ok(c) => {
            let graphs: Vec<String> = c
                .graphs
                .iter()
                .map(|g| g.as_ref().map_or("-".to_string(), |g| g.to_string()))
                .collect();
            // A function binding's line shows its text as written (`LReLU_{alpha}`): the
            // graphs say what it computes.
            let dump = nnspec_dsl::check::dump(&c.info);
            let shapes: Vec<&str> = dump.lines().filter(|l| !l.starts_with("  fn ")).collect();
            format!("{}\n{}", shapes.join("\n"), graphs.join("\n"))
        }
        Err(d) => d
            .iter()
            .map(|d| d.code.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// The comments of a text, in order.
/// Asserts two meanings equal, showing the first line where they differ.
fn same(a: &str, b: &str, what: &str) {
    if a != b {
        let line = a.lines().zip(b.lines()).find(|(x, y)| x != y);
        panic!("{what}: {line:?}");
    }
}

fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.find('#').map(|i| l[i..].trim_end()))
        .collect()
}

fn formatted(src: &str, spelling: Spelling, what: &str) -> String {
    let out = format(src, spelling).unwrap_or_else(|d| panic!("{what}: {d:?}"));
    let again = format(&out, spelling).unwrap_or_else(|d| panic!("{what} again: {d:?}"));
    assert_eq!(out, again, "{what}: formatting is not idempotent");
    out
}

#[test]
fn every_spec_formats_idempotently_and_keeps_its_meaning_in_both_spellings() {
    let mut ascii_refused = Vec::new();
    let specs = all_specs();
    assert!(specs.len() > 100, "{} specs", specs.len());
    for path in specs {
        let name = path.display().to_string();
        let src = std::fs::read_to_string(&path).expect("readable spec");
        let meant = meaning(&src);
        let kept = formatted(&src, Spelling::Keep, &name);
        assert_eq!(comments(&kept), comments(&src), "{name}: comments changed");
        same(
            &meaning(&kept),
            &meant,
            &format!("{name}: layout changed the meaning"),
        );
        let uni = formatted(&src, Spelling::Unicode, &name);
        same(
            &meaning(&uni),
            &meant,
            &format!("{name}: --unicode changed the meaning"),
        );
        let ascii = match format(&src, Spelling::Ascii) {
            Ok(a) => a,
            Err(d) => {
                // Only letters with marks (`x̂`, `Â`) have no ASCII spelling.
                assert!(d.iter().all(|d| d.code == Code::E0338), "{name}: {d:?}");
                ascii_refused.push(name);
                continue;
            }
        };
        assert_eq!(formatted(&ascii, Spelling::Ascii, &name), ascii);
        for (n, line) in ascii.lines().enumerate() {
            let code = line.find('#').map_or(line, |i| &line[..i]);
            assert!(code.is_ascii(), "{name}:{}: not ASCII: {line}", n + 1);
        }
        assert_eq!(
            comments(&ascii),
            comments(&src),
            "{name}: --ascii changed a comment"
        );
        same(
            &meaning(&ascii),
            &meant,
            &format!("{name}: --ascii changed the meaning"),
        );
        let back = formatted(&ascii, Spelling::Unicode, &name);
        same(
            &meaning(&back),
            &meant,
            &format!("{name}: --ascii then --unicode changed it"),
        );
        let _ = &uni;
    }
    assert!(ascii_refused.len() <= 12, "{ascii_refused:?}");
}

#[test]
fn conversion_spells_each_symbol_as_the_table_says() {
    let uni = "model M[D = 3, α = ½] {\n    input  x : ℝ^D\n    target y : ℝ^D\n    \
               param  β₀ : ℝ^D, Ω : ℝ^{D×D}\n    h = √(Ω x) ⊙ 𝟏\n    \
               f[x, φ] = β₀ + α·Ωᵀ h − x\n    loss L[φ] = ∑_i ‖f[x_i, φ] - y_i‖²  # ∑ stays\n}\n";
    let ascii = "model M[D = 3, alpha = 0.5] {\n    input  x : R^D\n    target y : R^D\n    \
                 param  beta_0 : R^D, Omega : R^{D x D}\n    h = sqrt[(Omega x)] .* ones\n    \
                 f[x, phi] = beta_0 + alpha*Omega^T h - x\n    \
                 loss L[phi] = sum_i ||f[x_i, phi] - y_i||^2  # ∑ stays\n}\n";
    assert_eq!(format(uni, Spelling::Ascii).expect("formats"), ascii);
    let back = "model M[D = 3, α = 0.5] {\n    input  x : ℝ^D\n    target y : ℝ^D\n    \
                param  β_0 : ℝ^D, Ω : ℝ^{D×D}\n    h = sqrt[(Ω x)] ⊙ 𝟏\n    \
                f[x, φ] = β_0 + α·Ωᵀ h - x\n    loss L[φ] = ∑_i ‖f[x_i, φ] - y_i‖²           # ∑ stays\n}\n";
    // The comment keeps its column, 49 (47 characters of ASCII code and 2 spaces): 38
    // characters of Unicode code and 11 spaces.
    assert_eq!(format(ascii, Spelling::Unicode).expect("formats"), back);
}

#[test]
fn a_marked_letter_has_no_ascii_spelling_and_bad_input_is_refused() {
    let d = format("model M { input x̂ : ℝ }\n", Spelling::Ascii).expect_err("no ASCII");
    assert_eq!(d[0].code, Code::E0338);
    assert_eq!(d[0].span.range(), 16..19);
    let d = format("model M { input x : }\n", Spelling::Keep).expect_err("no type");
    assert_eq!(d[0].code, Code::E0101);
}
