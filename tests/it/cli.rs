//! The `nnspec` command line, end to end: exit codes and output on good and bad files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nnspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("nnspec runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn specs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("specs"))
        .expect("specs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "nn"))
        .map(|p| format!("specs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write scratch spec");
    p
}

#[test]
fn every_spec_checks_clean() {
    let files = specs();
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let out = nnspec(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("all clean"));
}

#[test]
fn a_shape_error_exits_1_with_place_caret_and_both_shapes() {
    let bad = scratch(
        "bad.nn",
        "model M[D = 4, D_i = 3] {\n    input x : ℝ^{D_i}\n    param Ω : ℝ^{D×D_i}\n    h = Ω Ω x\n}\n".as_bytes(),
    );
    let out = nnspec(&["check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error[E0301]"), "{err}");
    assert!(err.contains("bad.nn:4:9"), "{err}");
    assert!(err.contains("ℝ^{D×D_i}"), "{err}");
    assert!(err.contains("^^^"), "{err}");
    assert!(err.contains("1 error in 1 file"), "{err}");
}

#[test]
fn good_and_bad_files_together_exit_1_and_report_only_the_bad_one() {
    let bad = scratch("syntax.nn", b"model M {\n    h = a[\n}\n");
    let out = nnspec(&["check", "specs/deep.nn", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error[E0101]") && err.contains("syntax.nn:3:1"),
        "{err}"
    );
    assert!(!err.contains("deep.nn:"), "{err}");
}

#[test]
fn unreadable_and_binary_files_exit_1() {
    let out = nnspec(&["check", "specs/no_such_file.nn"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read specs/no_such_file.nn"));
    let bin = scratch("binary.nn", &[0xff, 0xfe, 0x00, 0x41]);
    let out = nnspec(&["check", bin.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not UTF-8"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(nnspec(&["check"]).status.code(), Some(2));
    assert_eq!(nnspec(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        nnspec(&["check", "--dump", "nothing", "specs/deep.nn"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn dump_shapes_prints_every_named_quantity() {
    let out = nnspec(&["check", "--dump", "shapes", "specs/deep.nn"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    for needle in [
        "model DeepNet[K = 3",
        "Ω_0",
        "ℝ^{D×D_i} (= ℝ^{64×64})",
        "h_3",
        "f[x, φ]",
        "loss",
    ] {
        assert!(s.contains(needle), "missing {needle} in\n{s}");
    }
}

#[test]
fn dump_ast_prints_the_tree() {
    let out = nnspec(&["check", "--dump", "ast", "specs/deep.nn"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.contains("(model DeepNet"), "{s}");
    assert!(s.contains("(mul Ω_{0} x)"), "{s}");
}

#[test]
fn set_overrides_a_hyper_parameter() {
    let out = nnspec(&["check", "--dump", "shapes", "--set", "K=5", "specs/deep.nn"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("h_5"));
    let out = nnspec(&["check", "--set", "Nope=5", "specs/deep.nn"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("E0216"));
    assert_eq!(
        nnspec(&["check", "--set", "K", "specs/deep.nn"])
            .status
            .code(),
        Some(2)
    );
}
