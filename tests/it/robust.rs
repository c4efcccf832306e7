//! Specs at the edges, end to end through the command line: what `check` accepts, every
//! other command handles; what they cannot handle, `check` refuses with a diagnostic.

use std::path::{Path, PathBuf};

use super::cli::nnspec;

fn scratch(name: &str, contents: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robust");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write scratch spec");
    p
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `A` has a target and a loss of its own; `B` calls `A`'s function with its own target.
const SUB_MODEL_WITH_LOSS: &str = "\
model A[D = 2] {
    input  x : ℝ^D
    target y : ℝ^D
    param  β : ℝ^D
    f[x, φ] = β + x
    loss L[φ] = ∑_i ‖f[x_i, φ] - y_i‖²
}
model B[D = 2] {
    input  x : ℝ^D
    target t : ℝ^D
    f[x, φ] = A[x, φ_1]
    loss M[φ] = ∑_i ‖f[x_i, φ] - t_i‖²
}
";

#[test]
fn a_sub_model_with_a_loss_contributes_only_its_function() {
    let spec = scratch("sub_loss.nn", SUB_MODEL_WITH_LOSS);
    let spec = spec.to_str().unwrap();
    let ir = nnspec(&["ir", spec, "--model", "B", "--stage", "grad"]);
    let out = text(&ir.stdout);
    assert!(ir.status.success(), "{}", text(&ir.stderr));
    // The caller's inputs are its own: `x` and `t`, not the callee's target `y`.
    assert!(out.contains("graph B(x: 2×B, t: 2×B)"), "{out}");
    assert!(out.contains("M = ") && !out.contains("L = "), "{out}");
    let emit = nnspec(&["emit", spec, "--model", "B"]);
    assert!(emit.status.success(), "{}", text(&emit.stderr));
    let gc = nnspec(&["gradcheck", spec]);
    assert!(gc.status.success(), "{}", text(&gc.stdout));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("robust")
        .join("sub_loss");
    let train = nnspec(&[
        "train",
        spec,
        "--model",
        "B",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(train.status.success(), "{}", text(&train.stderr));
    // The callee still trains on its own loss.
    let ir = nnspec(&["ir", spec, "--model", "A", "--stage", "grad"]);
    assert!(text(&ir.stdout).contains("L = "), "{}", text(&ir.stdout));
}

#[test]
fn sizes_beyond_memory_stop_ir_with_a_diagnostic_not_a_wrapped_count() {
    let spec = scratch(
        "huge.nn",
        "model M[D = 4294967296] { input x : ℝ^D; param Ω : ℝ^{D×D}; f[x, φ] = Ω x }\n",
    );
    let r = nnspec(&["ir", spec.to_str().unwrap(), "--plan"]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("E0317") && !err.contains("internal"), "{err}");
}

#[test]
fn two_models_with_one_name_are_refused_by_every_command() {
    let spec = scratch(
        "dup.nn",
        "model M { input x : ℝ; param β : ℝ; f[x, φ] = β x }\n\
         model M { input x : ℝ; param β : ℝ; f[x, φ] = β + x }\n",
    );
    for cmd in ["check", "ir", "emit"] {
        let r = nnspec(&[cmd, spec.to_str().unwrap()]);
        assert_eq!(r.status.code(), Some(1), "{cmd}");
        assert!(
            text(&r.stderr).contains("E0219"),
            "{cmd}: {}",
            text(&r.stderr)
        );
    }
}
