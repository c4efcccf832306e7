//! The `nnspec` command line, end to end: exit codes and output on good and bad files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `nnspec` binary from the crate's folder, without colours.
pub(crate) fn nnspec(args: &[&str]) -> Output {
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

#[test]
fn ir_prints_each_stage_and_the_plan() {
    let lowered = nnspec(&["ir", "specs/deep.nn"]);
    assert_eq!(lowered.status.code(), Some(0), "{}", text(&lowered.stderr));
    let s = text(&lowered.stdout);
    assert!(
        s.contains("graph DeepNet(x: 64×B, y: 1×B)") && s.contains("softmax"),
        "{s}"
    );
    let opt = nnspec(&["ir", "--stage", "opt", "--plan", "specs/deep.nn"]);
    let s = text(&opt.stdout);
    assert!(
        s.contains("log_sum_exp") && s.contains("one_hot") && s.contains("∂L/∂Ω_0"),
        "{s}"
    );
    assert!(
        s.contains("bytes per example") && s.contains("backward keeps"),
        "{s}"
    );
    let bad = nnspec(&["ir", "--model", "Nope", "specs/deep.nn"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("no compilable model `Nope`"));
}

#[test]
fn gradcheck_passes_on_a_spec_and_prints_a_table() {
    let out = nnspec(&[
        "gradcheck",
        "specs/deep.nn",
        "--set",
        "D=8",
        "--set",
        "D_i=5",
    ]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}{}", text(&out.stderr));
    assert!(
        s.contains("Ω_0") && s.contains("all gradients agree"),
        "{s}"
    );
}

/// `nnspec gradcheck` on a scratch spec `model Name { … }` with these statements.
fn gradcheck_spec(name: &str, body: &str, extra: &[&str]) -> (Option<i32>, String) {
    let spec = scratch(
        &format!("{name}.nn"),
        format!("model {name} {{\n{body}}}\n").as_bytes(),
    );
    let mut args = vec!["gradcheck", spec.to_str().unwrap()];
    args.extend(extra);
    let out = nnspec(&args);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

const SCALAR_IO: &str = "    input x : ℝ\n    target y : ℝ\n";

#[test]
fn gradcheck_without_a_loss_is_an_error() {
    let (code, out) = gradcheck_spec(
        "NoLoss",
        "    input x : ℝ\n    param φ : ℝ\n    f[x, φ] = φ x\n",
        &[],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("NoLoss has no loss"), "{out}");
    assert!(!out.contains("agree"), "{out}");
}

#[test]
fn gradcheck_reports_nan_as_a_failure() {
    // √(φ − 10) with φ drawn in [−1, 1]: NaN in the loss and both gradients.
    let body = format!(
        "{SCALAR_IO}    param φ : ℝ\n    f[x, φ] = sqrt[φ - 10] x\n    loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2\n"
    );
    let (code, out) = gradcheck_spec("NaNLoss", &body, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAILED (NaN)"), "{out}");
    assert!(out.contains("worst error NaN"), "{out}");
}

#[test]
fn gradcheck_accepts_a_true_zero_gradient() {
    // Softmax ignores a shift of all its logits: ∂L/∂β = ∑_k (softmax_k − onehot_k) = 0 exactly,
    // but central differences leave rounding noise (~1e-11), relative error 1 against AD.
    let body = "    input x : ℝ^3\n    target y : {1 … 4}\n    param Ω : ℝ^{4×3}, β : ℝ\n    f[x, φ] = Ω x + β\n    loss L[φ] = -∑_i log[softmax_{y_i}[f[x_i, φ]]]\n";
    let (code, out) = gradcheck_spec("Shift", body, &[]);
    assert_eq!(code, Some(0), "{out}");
    let beta = out
        .lines()
        .find(|l| l.trim_start().starts_with("β "))
        .expect("a row for β");
    assert!(beta.ends_with("ok"), "{out}");
    assert!(out.contains("all gradients agree"), "{out}");
}

#[test]
fn gradcheck_never_passes_when_every_gradient_is_zero() {
    // ReLU[ω x − 10] with |ω x| ≤ 1: dead at every point, whatever is drawn.
    let body = format!(
        "{SCALAR_IO}    param ω : ℝ\n    f[x, φ] = ReLU[ω x - 10]\n    loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2\n"
    );
    let (code, out) = gradcheck_spec("Dead", &body, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("every gradient is exactly zero at each of 5"),
        "{out}"
    );
    assert!(
        out.contains("not established") && !out.contains("agree with"),
        "{out}"
    );
    // ReLU[ω x] on one example is dead for half the draws: those are drawn again.
    let body = format!(
        "{SCALAR_IO}    param ω : ℝ\n    f[x, φ] = ReLU[ω x]\n    loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2\n"
    );
    let mut resampled = 0;
    for seed in 1..=8 {
        let seed = seed.to_string();
        let (code, out) = gradcheck_spec("Half", &body, &["--batch", "1", "--seed", &seed]);
        assert_eq!(code, Some(0), "{out}");
        resampled += usize::from(out.contains("every gradient was exactly zero"));
    }
    assert!(
        (1..8).contains(&resampled),
        "{resampled} of 8 draws resampled"
    );
}

#[test]
fn gradcheck_samples_coordinates_beyond_max_coords() {
    let body = format!(
        "{SCALAR_IO}    param θ_k : ℝ for k ∈ {{1 … 300}}\n    f[x, φ] = ∑_{{k=1}}^{{300}} θ_k x\n    loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2\n"
    );
    let picked = |seed: &str| {
        let (code, out) = gradcheck_spec("Many", &body, &["--max-coords", "50", "--seed", seed]);
        assert_eq!(code, Some(0), "{out}");
        assert!(
            out.contains("50 of 300 coordinates, chosen at random"),
            "{out}"
        );
        assert!(out.contains("(50 of 300 coordinates checked"), "{out}");
        let rows: Vec<String> = out
            .lines()
            .filter(|l| l.contains(" 1/1 "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect();
        assert_eq!(rows.len(), 50, "{out}");
        rows
    };
    assert_eq!(picked("1"), picked("1"));
    assert_ne!(picked("1"), picked("2"));
    let (code, out) = gradcheck_spec("Many", &body, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("all 300 coordinates"), "{out}");
}

/// `nnspec eval specs/linear_regression.nn --params P --inputs I EXTRA…`.
fn eval_linear_regression(params: &Path, inputs: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["eval", "specs/linear_regression.nn", "--params"];
    args.extend([
        params.to_str().unwrap(),
        "--inputs",
        inputs.to_str().unwrap(),
    ]);
    args.extend(extra);
    nnspec(&args)
}

#[test]
fn eval_computes_loss_and_gradients_by_hand() {
    // f = φ_0 + φ_1 x at φ = (1, 2), x = (1, 2): f = (3, 5); y = (3, 3);
    // L = ∑ (f - y)² = 4; ∂L/∂φ_0 = ∑ 2(f - y) = 4; ∂L/∂φ_1 = ∑ 2(f - y) x = 8.
    let p = scratch("lr_params.json", r#"{"phi_0": 1, "φ_1": 2}"#.as_bytes());
    let i = scratch("lr_inputs.json", br#"{"x": [1, 2], "y": [3, 3]}"#);
    let out = eval_linear_regression(&p, &i, &["--grad", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["loss"], serde_json::json!(4.0));
    assert_eq!(v["outputs"]["f"], serde_json::json!([3.0, 5.0]));
    assert_eq!(v["grads"]["φ_0"], serde_json::json!(4.0));
    assert_eq!(v["grads"]["φ_1"], serde_json::json!(8.0));
    // ∂L/∂x_i = 2(f_i - y_i) φ_1 = (0, 8), on request.
    let out = eval_linear_regression(&p, &i, &["--input-grads", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["input_grads"]["x"], serde_json::json!([0.0, 8.0]));
    assert!(v.get("grads").is_none(), "{v}");
}

#[test]
fn eval_accepts_every_spelling_of_a_name_as_a_key() {
    let spec = scratch(
        "keys.nn",
        "model Keys {\n    input x : ℝ\n    target y : ℝ\n    param θ_{10} : ℝ, W_{hh} : ℝ, β_0 : ℝ\n    f[x, φ] = θ_{10} + W_{hh} x + β_0\n    loss L[φ] = ∑_i (f[x_i, φ] - y_i)^2\n}\n".as_bytes(),
    );
    let i = scratch("keys_inputs.json", br#"{"x": [1, 2], "y": [3, 3]}"#);
    let run = |params: &str| {
        let p = scratch("keys_params.json", params.as_bytes());
        let (spec, p, i) = (
            spec.to_str().unwrap(),
            p.to_str().unwrap(),
            i.to_str().unwrap(),
        );
        nnspec(&[
            "eval", spec, "--params", p, "--inputs", i, "--grad", "--json",
        ])
    };
    // f = 1 + 2x - 1 at x = (1, 2): (2, 4); L = (2-3)² + (4-3)² = 2;
    // ∂L/∂θ_10 = ∑ 2(f - y) = 0, ∂L/∂W_hh = ∑ 2(f - y) x = -2 + 4 = 2.
    for params in [
        r#"{"theta_10": 1, "W_hh": 2, "beta_0": -1}"#,
        r#"{"theta_{10}": 1, "W_{hh}": 2, "β₀": -1}"#,
        r#"{"θ_{1,0}": 1, "W_hh": 2, "β_0": -1}"#,
    ] {
        let out = run(params);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{params}: {}",
            text(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["loss"], serde_json::json!(2.0), "{params}");
        assert_eq!(v["grads"]["θ_{10}"], serde_json::json!(0.0), "{params}");
        assert_eq!(v["grads"]["W_{hh}"], serde_json::json!(2.0), "{params}");
    }
    // Two spellings of one name are an error that names both.
    let out = run(r#"{"theta_10": 1, "θ_{10}": 1, "W_hh": 2, "beta_0": 0}"#);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("`theta_10` and `θ_{10}`"), "{err}");
}

#[test]
fn eval_names_a_missing_or_mis_shaped_array() {
    let p = scratch("bad_params.json", r#"{"φ_0": 1}"#.as_bytes());
    let i = scratch("ok_inputs.json", br#"{"x": [1, 2], "y": [3, 3]}"#);
    let out = eval_linear_regression(&p, &i, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("missing parameters `φ_1`"),
        "{}",
        text(&out.stderr)
    );
    let p = scratch(
        "ok_params.json",
        r#"{"φ_0": 1, "φ_1": [[1, 2]]}"#.as_bytes(),
    );
    let out = eval_linear_regression(&p, &i, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`φ_1` should be ℝ"),
        "{}",
        text(&out.stderr)
    );
    let i = scratch("short_inputs.json", br#"{"x": [1, 2], "y": [3]}"#);
    let p = scratch("good_params.json", r#"{"φ_0": 1, "φ_1": 2}"#.as_bytes());
    let out = eval_linear_regression(&p, &i, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`y`"), "{}", text(&out.stderr));
    let j = scratch("broken.json", b"{\"x\": [1,");
    let out = eval_linear_regression(&p, &j, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("broken.json:1:"),
        "{}",
        text(&out.stderr)
    );
}

/// Softmax classification with 4 inputs and labels {1 … 3} (the shape of iris).
const IRIS_LIKE: [&str; 5] = [
    "specs/losses.nn",
    "--model",
    "MulticlassClassification",
    "--set",
    "D_i=4",
];

/// A matrix per example in `eval`'s JSON as a list of examples, each a list of rows, gives
/// what its rows of `N·B` numbers give; an example of the wrong size is named.
#[test]
fn eval_reads_a_matrix_per_example_as_nested_lists() {
    let book = std::fs::read_to_string("tests/book/rnn_elman.json").unwrap();
    let book: serde_json::Value = serde_json::from_str(&book).unwrap();
    let p = scratch("elman_params.json", book["params"].to_string().as_bytes());
    // X ∈ ℝ^{2×3}, three examples: example b is columns 3b … 3b+2 of each row.
    let nested = |m: &serde_json::Value| {
        let rows = m.as_array().unwrap();
        let examples: Vec<serde_json::Value> = (0..3)
            .map(|b| {
                let ex: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| serde_json::json!(r.as_array().unwrap()[3 * b..3 * b + 3]))
                    .collect();
                serde_json::json!(ex)
            })
            .collect();
        serde_json::json!(examples)
    };
    let (x, y) = (&book["inputs"]["X"], &book["inputs"]["Y"]);
    let eval = |inputs: serde_json::Value, name: &str| {
        let i = scratch(name, inputs.to_string().as_bytes());
        let (p, i) = (p.to_str().unwrap(), i.to_str().unwrap());
        let spec = "tests/book/rnn_elman.nn";
        nnspec(&["eval", spec, "--params", p, "--inputs", i, "--json"])
    };
    let flat = eval(serde_json::json!({"X": x, "Y": y}), "elman_flat.json");
    let both = eval(
        serde_json::json!({"X": nested(x), "Y": nested(y)}),
        "elman_nested.json",
    );
    let mixed = eval(
        serde_json::json!({"X": nested(x), "Y": y}),
        "elman_mixed.json",
    );
    assert!(flat.status.success(), "{}", text(&flat.stderr));
    assert_eq!(text(&both.stdout), text(&flat.stdout));
    assert_eq!(text(&mixed.stdout), text(&flat.stdout));
    let v: serde_json::Value = serde_json::from_slice(&flat.stdout).unwrap();
    let want = book["expected"]["L"].as_f64().unwrap();
    assert!((v["loss"].as_f64().unwrap() - want).abs() < 1e-12 * want);
    let mut short = nested(x);
    short[1][0] = serde_json::json!([1.0, 2.0]);
    let bad = eval(serde_json::json!({"X": short, "Y": y}), "elman_short.json");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).ends_with(
            "`X` should be ℝ^{2×3} per example (B lists of 2 rows of 3 numbers, or 2 rows of \
             3·B numbers, example by example), but it is a list whose example [1] has a row \
             of 2 numbers where 3 were expected\n"
        ),
        "{}",
        text(&bad.stderr)
    );
}

/// A model reading `X ∈ ℝ^{8×8}` takes rows of 64 numbers; other counts are refused, naming
/// `X` and the count.
#[test]
fn train_names_the_sequence_and_its_count_when_rows_do_not_fit() {
    let row: Vec<String> = (0..63).map(|k| (k % 5).to_string()).collect();
    let csv: String = (0..6)
        .map(|l| format!("{},{}\n", row.join(","), l % 3))
        .collect();
    let bad = scratch("rows63.csv", csv.as_bytes());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train/rows63");
    let spec = [
        "train",
        "specs/sequences.nn",
        "--model",
        "ElmanDigits",
        "--quiet",
    ];
    let mut args = spec.to_vec();
    args.extend([
        "--data",
        bad.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let out = nnspec(&args);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: the input data have 63 numbers per example, but `ElmanDigits` reads \
         X ∈ ℝ^{8×8}: 8·8 = 64 per example (the columns X_1 … X_8 in turn)\n"
    );
}

/// `nnspec train` of [`IRIS_LIKE`] on a CSV file.
fn train_iris_like_on(csv: &Path) -> Output {
    let mut args = vec!["train"];
    args.extend(IRIS_LIKE);
    args.extend(["--data", csv.to_str().unwrap(), "--quiet"]);
    nnspec(&args)
}

/// Trains a spec (`spec_and_args`: the file, then model and overrides) quietly for `epochs`
/// into a scratch directory named `name`; returns the directory and what it printed.
fn train_into(name: &str, spec_and_args: &[&str], epochs: &str) -> (PathBuf, String) {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("train")
        .join(name);
    let o = out.to_string_lossy().to_string();
    let mut args = vec!["train"];
    args.extend(spec_and_args);
    args.extend(["--epochs", epochs, "--quiet", "--out", &o]);
    let r = nnspec(&args);
    assert!(r.status.success(), "{spec_and_args:?}: {}", text(&r.stderr));
    (out, text(&r.stdout))
}

/// A spec in an environment (`env CartPole`) trains a few episodes with no data, writing its
/// checkpoint (the parameters and their frozen copies), the returns and the return curve; one
/// with update rules (`←`) writes its tables, and the returns unless it is swept.
fn trains_in_its_environment(spec: &str, name: &str) {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("train")
        .join(name);
    let o = out.to_string_lossy().to_string();
    let src = std::fs::read_to_string(spec).unwrap();
    // A swept model (one input, the state) plays no episodes, and refuses `--episodes`.
    let swept = src.contains('←') && src.matches("input ").count() == 1;
    let mut args = vec!["train", spec, "--quiet", "--out", &o];
    if !swept {
        args.extend(["--episodes", "3"]);
    }
    let r = nnspec(&args);
    assert!(r.status.success(), "{spec}: {}", text(&r.stderr));
    if src.contains('←') {
        // Update rules: the tables; a swept model has no returns.
        assert!(out.join("model.safetensors").is_file(), "{spec}");
        if swept {
            return;
        }
    }
    let returns = std::fs::read_to_string(out.join("returns.csv")).unwrap();
    assert_eq!(returns.lines().count(), 4, "{spec}: {returns}");
    let svg = std::fs::read_to_string(out.join("returns.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    if src.contains('←') {
        return;
    }
    let ckpt = std::fs::read(out.join("model.safetensors")).unwrap();
    let has = |n: &str| ckpt.windows(n.len()).any(|w| w == n.as_bytes());
    // The parameters, and the frozen copies of those a spec reads frozen (`φ⁻`, `ω⁻`).
    let frozen = std::fs::read_to_string(spec).unwrap().contains('⁻');
    assert!(
        has("\"Ω_0\"") && has("⁻_0\"") == frozen,
        "{spec}: the parameters and their frozen copies in the checkpoint"
    );
}

/// A spec whose model function is the policy `π[s, θ]` trains by policy gradients: episodes
/// drawn from π, one step per loss per round of `--rollouts` episodes, γ from the spec.
#[test]
fn a_policy_trains_by_policy_gradients() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train/policy");
    let o = out.to_string_lossy().to_string();
    let r = nnspec(&[
        "train",
        "specs/reinforce.nn",
        "--episodes",
        "6",
        "--rollouts",
        "3",
        "--out",
        &o,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let said = text(&r.stdout);
    assert!(
        said.contains("policy gradients in CartPole")
            && said.contains("3 per step of L and L'")
            && said.contains("γ = 0.99")
            && said.contains("6 episodes (")
            && said.contains("2 updates"),
        "{said}"
    );
    let returns = std::fs::read_to_string(out.join("returns.csv")).unwrap();
    assert_eq!(returns.lines().count(), 7, "{returns}");
}

/// Every spec trains out of the box (its last model, on its built-in data) and leaves a
/// checkpoint, a history and a plot; the checkpoint predicts.
#[test]
fn every_spec_trains_without_data_and_predicts_from_its_checkpoint() {
    for spec in specs() {
        let name = Path::new(&spec)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        if std::fs::read_to_string(&spec)
            .unwrap()
            .contains("\n    env ")
        {
            trains_in_its_environment(&spec, &name);
            continue;
        }
        let (out, said) = train_into(&name, &[&spec], "2");
        assert!(said.contains("2 epochs"), "{spec}: {said}");
        for f in ["model.safetensors", "history.csv", "loss.svg"] {
            assert!(out.join(f).is_file(), "{spec}: no {f}");
        }
        let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
        assert_eq!(history.lines().count(), 3, "{spec}: {history}");
        assert!(
            std::fs::read_to_string(out.join("loss.svg"))
                .unwrap()
                .starts_with("<svg")
        );
        let ckpt = out.join("model.safetensors").to_string_lossy().to_string();
        let p = nnspec(&["predict", &spec, "--checkpoint", &ckpt]);
        if text(&p.stderr).contains("no single model function") {
            continue;
        }
        assert!(p.status.success(), "{spec}: {}", text(&p.stderr));
        assert!(
            text(&p.stderr).contains("examples (the test split of"),
            "{spec}: {}",
            text(&p.stderr)
        );
    }
}

#[test]
fn train_on_a_csv_file_with_a_bad_row_names_file_and_line() {
    let bad = scratch("bad_train.csv", b"1,2,3,4,1\n1,2,3,4,2\n1,2,x,4,3\n");
    let r = train_iris_like_on(&bad);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("bad_train.csv:3: cell 3 is not a number: \"x\""),
        "{err}"
    );
}

#[test]
fn train_rejects_labels_outside_the_specs_set() {
    // MulticlassClassification takes y ∈ {1 … 3}; a 0 in the data is out of range.
    let csv = scratch(
        "labels0.csv",
        b"1,2,3,4,0\n1,2,3,4,1\n1,2,3,4,2\n1,2,3,4,3\n",
    );
    let r = train_iris_like_on(&csv);
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.contains("labels0.csv:1: label 0 is outside {1 … 3}"),
        "{err}"
    );
}

#[test]
fn predict_applies_the_checkpoints_overrides_and_refuses_others() {
    let (out, _) = train_into("deep_k1", &["specs/deep.nn", "--set", "K=1"], "1");
    let ckpt = out.join("model.safetensors").to_string_lossy().to_string();
    // Without --set: the checkpoint's K = 1 is applied.
    let p = nnspec(&["predict", "specs/deep.nn", "--checkpoint", &ckpt]);
    assert!(p.status.success(), "{}", text(&p.stderr));
    // The default data are the held-out test split (20% of the 1797 digits), not all.
    assert_eq!(text(&p.stdout).lines().count(), 1 + 359);
    assert!(text(&p.stderr).starts_with("359 examples (the test split of digits"));
    // Other overrides or another model: refused, naming what the checkpoint holds.
    let p = nnspec(&[
        "predict",
        "specs/deep.nn",
        "--set",
        "K=2",
        "--checkpoint",
        &ckpt,
    ]);
    assert_eq!(p.status.code(), Some(1));
    assert!(
        text(&p.stderr).contains("the checkpoint was trained with --set K=1, not --set K=2"),
        "{}",
        text(&p.stderr)
    );
    let p = nnspec(&[
        "predict",
        "specs/deep.nn",
        "--model",
        "Other",
        "--checkpoint",
        &ckpt,
    ]);
    assert!(
        text(&p.stderr).contains("the checkpoint holds `DeepNet`, not `Other`"),
        "{}",
        text(&p.stderr)
    );
}

#[test]
fn predict_prints_probabilities_for_classifiers() {
    let (out, _) = train_into("iris_probs", &IRIS_LIKE, "2");
    let ckpt = out.join("model.safetensors").to_string_lossy().to_string();
    let p = nnspec(&[
        "predict",
        "specs/losses.nn",
        "--checkpoint",
        &ckpt,
        "--probs",
    ]);
    assert!(p.status.success(), "{}", text(&p.stderr));
    let lines: Vec<String> = text(&p.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines[0], "predicted,p1,p2,p3");
    for l in &lines[1..] {
        let v: Vec<f64> = l.split(',').map(|c| c.parse().unwrap()).collect();
        let sum: f64 = v[1..].iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-12 && v[1..].iter().all(|p| *p >= 0.0),
            "{l}"
        );
        let top = (1..4).fold(1, |b, k| if v[k] > v[b] { k } else { b });
        assert_eq!(v[0] as usize, top, "{l}");
    }
}

/// Rewrites a checkpoint of [`IRIS_LIKE`] with one metadata entry or parameter changed.
fn tampered(out: &Path, name: &str, key: &str, value: &str, weight: Option<f64>) -> PathBuf {
    use nnspec::runtime::{Rng, checkpoint};
    let src = std::fs::read_to_string("specs/losses.nn").unwrap();
    let mut opts = nnspec::dsl::check::Options::default();
    opts.overrides.push((None, "D_i".into(), 4.0));
    let checked = nnspec::dsl::check_source(&src, &opts).unwrap();
    let graph = checked
        .graphs
        .iter()
        .flatten()
        .find(|g| g.name == "MulticlassClassification");
    let mut model =
        nnspec::training::InterpModel::<f64>::new(graph.unwrap(), &src, "l", &mut Rng::new(1))
            .unwrap();
    let path = out.join("model.safetensors");
    let mut meta = checkpoint::load(&path, &mut model).unwrap();
    meta.insert(key.into(), value.into());
    if let Some(w) = weight {
        model.params.mats[1].fill(w);
    }
    let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let to = out.join(name);
    checkpoint::save(&to, &model, &meta).unwrap();
    to
}

#[test]
fn checkpoint_metadata_and_predictions_that_cannot_be_right_are_errors() {
    let (out, _) = train_into("iris_meta", &IRIS_LIKE, "1");
    for (std, why) in [
        ("1,0,1,1", "feature 2 has standard deviation 0"),
        ("1,NaN,1,1", "feature 2 has standard deviation NaN"),
        ("1,inf,1,1", "feature 2 has standard deviation inf"),
    ] {
        let ckpt = tampered(&out, "bad_std.safetensors", "standardize_std", std, None);
        let p = nnspec(&[
            "predict",
            "specs/losses.nn",
            "--checkpoint",
            ckpt.to_str().unwrap(),
        ]);
        assert_eq!(p.status.code(), Some(1), "{std}");
        assert!(text(&p.stderr).contains(why), "{std}: {}", text(&p.stderr));
    }
    let ckpt = tampered(&out, "huge.safetensors", "format", "nnspec", Some(1e308));
    let p = nnspec(&[
        "predict",
        "specs/losses.nn",
        "--checkpoint",
        ckpt.to_str().unwrap(),
    ]);
    assert_eq!(p.status.code(), Some(1), "{}", text(&p.stdout));
    assert!(
        text(&p.stderr).contains("is not finite"),
        "{}",
        text(&p.stderr)
    );
}

#[test]
fn out_of_range_options_are_usage_errors() {
    for (opt, value, range) in [
        ("--clip", "-1", "> 0"),
        ("--clip", "0", "> 0"),
        ("--clip", "nan", "NaN"),
        ("--weight-decay", "nan", "NaN"),
        ("--weight-decay", "-0.1", "≥ 0"),
        ("--lr", "-1", "> 0"),
        ("--lr", "inf", "> 0"),
        ("--val", "1.5", "[0, 1)"),
        ("--epochs", "0", "≥ 1"),
        ("--beta1", "1", "[0, 1)"),
    ] {
        let mut args = vec!["train"];
        args.extend(IRIS_LIKE);
        let joined = format!("{opt}={value}");
        args.push(&joined);
        let r = nnspec(&args);
        assert_eq!(r.status.code(), Some(2), "{joined}: {}", text(&r.stderr));
        let err = text(&r.stderr);
        assert!(err.contains(opt) && err.contains(range), "{joined}: {err}");
    }
}

/// `--beta1` is Adam's first-moment decay: another optimiser has none.
#[test]
fn beta1_needs_an_adam_optimiser() {
    let mut args = vec!["train"];
    args.extend(IRIS_LIKE);
    args.extend(["--optimizer", "sgd", "--beta1", "0.5"]);
    let r = nnspec(&args);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("--beta1 is Adam's: `--optimizer sgd` has no β₁"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn set_accepts_any_spelling_of_a_name() {
    let mut args = vec!["check", "specs/losses.nn"];
    args.extend(["--set", "D_{i}=5", "--set", "D_{ i }=5", "--set", "D_i=5"]);
    let r = nnspec(&args);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    let r = nnspec(&["check", "specs/losses.nn", "--set", "D_{i=5"]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
}

/// A run that fails leaves an earlier good checkpoint as it was, and writes beside it.
#[test]
fn a_failed_run_never_replaces_a_good_checkpoint() {
    let (out, _) = train_into("iris_keep", &IRIS_LIKE, "2");
    let good = std::fs::read(out.join("model.safetensors")).unwrap();
    // A temporary left by a killed writer (no process has this pid) is cleaned up by the
    // next run.
    let stale = out.join("model.safetensors.tmp-4194999");
    std::fs::write(&stale, b"partial").unwrap();
    let mut args = vec!["train"];
    args.extend(IRIS_LIKE);
    let o = out.to_string_lossy().to_string();
    args.extend([
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--epochs",
        "5",
        "--quiet",
        "--out",
        &o,
    ]);
    let r = nnspec(&args);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r.stdout));
    let err = text(&r.stderr);
    assert!(err.contains("diverged") || err.contains("NaN"), "{err}");
    assert!(err.contains("is unchanged"), "{err}");
    assert_eq!(std::fs::read(out.join("model.safetensors")).unwrap(), good);
    assert!(out.join("failed").join("model.safetensors").is_file());
    train_into("iris_keep", &IRIS_LIKE, "1");
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists(), "a stale temporary is left");
    }
}

/// The checkpoint records the spec's canonical path and its hash: `losses.nn` and
/// `./losses.nn` give the same bytes, and a changed spec is reported by `predict`.
#[test]
fn the_spec_is_recorded_canonically_and_checked_by_predict() {
    let spec = scratch("cls.nn", &std::fs::read("specs/losses.nn").unwrap());
    let dir = spec.parent().unwrap();
    let run = |spec: &str, out: &str| {
        let r = Command::new(env!("CARGO_BIN_EXE_nnspec"))
            .args([
                "train",
                spec,
                "--model",
                "MulticlassClassification",
                "--set",
                "D_i=4",
            ])
            .args(["--epochs", "1", "--quiet", "--out", out])
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", text(&r.stderr));
        std::fs::read(dir.join(out).join("model.safetensors")).unwrap()
    };
    assert_eq!(run("cls.nn", "plain"), run("./cls.nn", "dotted"));
    let mut changed = std::fs::read_to_string(&spec).unwrap();
    changed.push_str(
        "
# edited
",
    );
    std::fs::write(&spec, changed).unwrap();
    let ckpt = dir.join("plain").join("model.safetensors");
    let p = nnspec(&[
        "predict",
        spec.to_str().unwrap(),
        "--checkpoint",
        ckpt.to_str().unwrap(),
    ]);
    assert!(
        text(&p.stderr).contains("has changed since the checkpoint was trained"),
        "{}",
        text(&p.stderr)
    );
}

/// A checkpoint of one spec given with another: `predict` and `sample` fail (status 1),
/// naming the spec it was trained on and the model the other file lacks.
#[test]
fn predict_and_sample_refuse_a_checkpoint_of_another_spec() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-another-spec");
    let out = dir.join("shallow");
    let r = nnspec(&[
        "train",
        "specs/shallow.nn",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let ckpt = out.join("model.safetensors");
    let ckpt = ckpt.to_str().unwrap();
    let p = nnspec(&["predict", "specs/deep.nn", "--checkpoint", ckpt]);
    assert_eq!(p.status.code(), Some(1), "{}", text(&p.stderr));
    let err = text(&p.stderr);
    assert!(
        err.contains("the checkpoint was trained on")
            && err.contains("shallow.nn, not specs/deep.nn"),
        "{err}"
    );
    assert!(err.contains("no compilable model `ShallowNet"), "{err}");
    let png = dir.join("s.png");
    let s = nnspec(&[
        "sample",
        "specs/vae.nn",
        "--checkpoint",
        ckpt,
        "-o",
        png.to_str().unwrap(),
    ]);
    assert_eq!(s.status.code(), Some(1), "{}", text(&s.stderr));
    assert!(
        text(&s.stderr).contains("specs/vae.nn has no model `ShallowNet"),
        "{}",
        text(&s.stderr)
    );
    assert!(!png.exists());
}

/// Extreme but finite feature values standardise to finite numbers and train.
#[test]
fn a_column_with_an_extreme_value_trains() {
    let mut csv = String::new();
    for k in 0..30 {
        let big = if k == 7 {
            "1e308".to_string()
        } else {
            format!("{}", k % 5)
        };
        let pm = if k % 2 == 0 { "1e308" } else { "-1e308" };
        csv += &format!("{big},{pm},{},{},{}\n", k % 3, k % 7, 1 + k % 3);
    }
    let r = train_iris_like_on(&scratch("extreme.csv", csv.as_bytes()));
    assert!(r.status.success(), "{}", text(&r.stderr));
}

#[test]
fn eval_reports_an_overflow_as_an_error_naming_the_quantity() {
    let p = scratch(
        "lr_huge.json",
        r#"{"phi_0": 1e300, "φ_1": 1e300}"#.as_bytes(),
    );
    let x = scratch(
        "lr_huge_inputs.json",
        r#"{"x": [1, 2], "y": [3, 3]}"#.as_bytes(),
    );
    let r = eval_linear_regression(&p, &x, &["--json"]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r.stdout));
    let err = text(&r.stderr);
    assert!(
        err.contains("is not finite") && err.contains("linear_regression.nn:"),
        "{err}"
    );
}

/// Ctrl-C during training: the step finishes, the run is saved and the command exits with
/// 130; `--resume` then continues it to the same parameters, bit for bit, as a run that was
/// never interrupted.
#[cfg(unix)]
#[test]
fn an_interrupted_run_saves_and_resumes_bit_for_bit() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train");
    let dir = root.join("interrupted");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_string_lossy().to_string();
    let mut args = vec!["train"];
    args.extend(IRIS_LIKE);
    args.extend(["--batch", "1", "--epochs", "100000", "--out", &d]);
    // Once the first epoch is reported (on standard error), interrupt.
    let stopped = interrupt_at(&args, Stream::Stderr, "epoch");
    assert_eq!(stopped.code, Some(130), "{:?}", stopped.rest);
    let said = stopped
        .rest
        .iter()
        .find(|l| l.starts_with("interrupted in epoch"))
        .unwrap();
    let epoch: usize = said["interrupted in epoch ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for f in [
        "model.safetensors",
        "run.safetensors",
        "history.csv",
        "loss.svg",
    ] {
        assert!(dir.join(f).is_file(), "no {f}: {said}");
    }
    let total = (epoch + 1).to_string();
    let mut args = vec!["train"];
    args.extend(IRIS_LIKE);
    args.extend([
        "--batch", "1", "--epochs", &total, "--quiet", "--resume", &d,
    ]);
    let r = nnspec(&args);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let (whole, _) = train_into(
        "uninterrupted",
        &IRIS_LIKE
            .iter()
            .copied()
            .chain(["--batch", "1"])
            .collect::<Vec<_>>(),
        &total,
    );
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        std::fs::read(whole.join("model.safetensors")).unwrap(),
        "the resumed run differs from the uninterrupted one ({said})"
    );
}

/// Which output of `nnspec` a test watches.
#[cfg(unix)]
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// What a run interrupted by SIGINT did.
#[cfg(unix)]
pub(crate) struct Interrupted {
    /// Its exit status.
    pub code: Option<i32>,
    /// The lines of the stream watched from the one that triggered the signal (included).
    pub rest: Vec<String>,
    /// All of the other stream.
    pub other: String,
    /// From the signal to the process's exit.
    pub stopped_in: std::time::Duration,
}

/// Runs `nnspec` with `args` and sends it SIGINT once a line of `watch` starts with `at`
/// (one Ctrl-C: the run is asked to stop and save); the other stream is read alongside, so
/// neither pipe fills.
#[cfg(unix)]
pub(crate) fn interrupt_at(args: &[&str], watch: Stream, at: &str) -> Interrupted {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (watched, mut other): (Box<dyn Read + Send>, Box<dyn Read + Send>) = match watch {
        Stream::Stdout => (Box::new(out), Box::new(err)),
        Stream::Stderr => (Box::new(err), Box::new(out)),
    };
    let other = std::thread::spawn(move || {
        let mut s = String::new();
        other.read_to_string(&mut s).unwrap();
        s
    });
    let mut lines = BufReader::new(watched).lines();
    let mut rest = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with(at) {
            rest.push(line);
            break;
        }
    }
    assert!(!rest.is_empty(), "{args:?}: no line starts with `{at}`");
    let signalled = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    rest.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    Interrupted {
        code: status.code(),
        rest,
        other: other.join().unwrap(),
        stopped_in: signalled.elapsed(),
    }
}

/// Ctrl-C during a run in an environment (deep Q-learning, a policy, a table's updates) stops it within a
/// bounded time — the step under way, or for a policy the episode under way — and saves what
/// it has: the parameters and their frozen copies, each episode's return, the return curve;
/// the checkpoint's episode count is the last progress line's, the one it was stopped in.
#[cfg(unix)]
#[test]
fn an_interrupted_run_in_an_environment_saves_what_it_has() {
    // Never solved and never out of episodes: only the signal stops it (a table's episodes
    // have no `--solved`).
    for (spec, name, param, never_solved) in [
        ("specs/dqn.nn", "dqn", "\"Ω_0\"", true),
        ("specs/reinforce.nn", "reinforce", "\"Ω_0\"", true),
        ("specs/q_learning.nn", "q_learning", "\"q\"", false),
    ] {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("train/interrupted_env")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let d = dir.to_string_lossy().to_string();
        let mut args = vec!["train", spec, "--episodes", "1000000000", "--out", &d];
        if never_solved {
            args.extend(["--solved", "1000000"]);
        }
        let stopped = interrupt_at(&args, Stream::Stdout, "episode");
        assert_eq!(stopped.code, Some(130), "{spec}: {}", stopped.other);
        // In a debug build on a loaded machine it takes well under a second (a step, or an
        // episode of at most 500 steps, and the files); 30 s is a bound, not a measurement.
        assert!(
            stopped.stopped_in < std::time::Duration::from_secs(30),
            "{spec}: stopped {:?} after the signal",
            stopped.stopped_in
        );
        let said = stopped
            .other
            .lines()
            .find(|l| l.starts_with("interrupted after "))
            .unwrap_or_else(|| panic!("{spec}: {}", stopped.other));
        let episodes: usize = said["interrupted after ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(said.contains("returns.csv"), "{said}");
        let last = stopped
            .rest
            .iter()
            .rev()
            .find(|l| l.starts_with("episode"))
            .unwrap();
        assert_eq!(
            last.split_whitespace().nth(1),
            Some(episodes.to_string().as_str()),
            "{spec}: the last progress line is the episode it stopped in: {last}"
        );
        let ckpt = dir.join("model.safetensors");
        let meta = nnspec::runtime::checkpoint::read_metadata(&ckpt).unwrap();
        assert_eq!(meta["episodes"], episodes.to_string(), "{spec}");
        let bytes = std::fs::read(&ckpt).unwrap();
        let has = |n: &str| bytes.windows(n.len()).any(|w| w == n.as_bytes());
        let frozen = std::fs::read_to_string(spec).unwrap().contains('⁻');
        assert!(
            has(param) && has("⁻_0\"") == frozen,
            "{spec}: the parameters and their frozen copies"
        );
        let returns = std::fs::read_to_string(dir.join("returns.csv")).unwrap();
        assert_eq!(returns.lines().count(), episodes + 1, "{spec}");
        assert!(
            std::fs::read_to_string(dir.join("returns.svg"))
                .unwrap()
                .starts_with("<svg")
        );
    }
}

/// A run in an environment is not continued: its checkpoint holds the parameters, not the
/// replay buffer, the generators or the exploration schedule. `--resume` is a usage error
/// (status 2) that says so and leaves the folder as it was, for deep Q-learning, a policy
/// and update rules alike.
#[test]
fn resume_is_refused_for_a_run_in_an_environment() {
    for (spec, name) in [
        ("specs/dqn.nn", "dqn"),
        ("specs/reinforce.nn", "reinforce"),
        ("specs/q_learning.nn", "q_learning"),
    ] {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("train/resume_env")
            .join(name);
        let d = dir.to_string_lossy().to_string();
        let r = nnspec(&["train", spec, "--episodes", "2", "--quiet", "--out", &d]);
        assert!(r.status.success(), "{spec}: {}", text(&r.stderr));
        let before = std::fs::read(dir.join("model.safetensors")).unwrap();
        let r = nnspec(&[
            "train",
            spec,
            "--episodes",
            "4",
            "--resume",
            &d,
            "--out",
            &d,
        ]);
        assert_eq!(r.status.code(), Some(2), "{spec}");
        let e = text(&r.stderr);
        assert!(
            e.contains("--resume") && e.contains("cannot be continued"),
            "{spec}: {e}"
        );
        assert!(r.stdout.is_empty(), "{spec}: {}", text(&r.stdout));
        assert_eq!(
            std::fs::read(dir.join("model.safetensors")).unwrap(),
            before,
            "{spec}: the checkpoint is untouched"
        );
        let returns = std::fs::read_to_string(dir.join("returns.csv")).unwrap();
        assert_eq!(
            returns.lines().count(),
            3,
            "{spec}: the two episodes of the first run"
        );
    }
}

/// An option the run does not read is a usage error (status 2) naming it and what the run
/// reads, before anything runs: training options for a run in an environment (each kind
/// reads its own), options of a run in an environment for training on data, a step size for
/// alternating least squares.
#[test]
fn options_a_run_does_not_read_are_refused() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train/unread");
    let _ = std::fs::remove_dir_all(&out);
    let d = out.to_string_lossy().to_string();
    for (args, refused, what) in [
        (
            &["specs/dqn.nn", "--epochs", "3", "--val", "0.2"][..],
            "--epochs, --val do not apply",
            "deep Q-learning in CartPole",
        ),
        (
            &["specs/dqn.nn", "--rollouts", "4"],
            "--rollouts does not",
            "deep Q-learning",
        ),
        (
            &["specs/reinforce.nn", "--refresh", "10"],
            "--refresh does not",
            "policy gradients",
        ),
        (
            &["specs/q_learning.nn", "--lr", "0.1"],
            "--lr does not",
            "from episodes",
        ),
        (
            &["specs/value_iteration.nn", "--episodes", "5"],
            "--episodes does not",
            "swept",
        ),
        (
            &["specs/deep.nn", "--episodes", "5"],
            "--episodes does not",
            "training on data",
        ),
        (
            &[
                "specs/matrix_factorisation.nn",
                "--optimizer",
                "als",
                "--lr",
                "0.1",
            ],
            "--lr does not",
            "alternating least squares",
        ),
    ] {
        let mut all = vec!["train"];
        all.extend(args);
        all.extend(["--out", &d]);
        let r = nnspec(&all);
        let e = text(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(refused) && e.contains(what), "{args:?}: {e}");
        assert!(r.stdout.is_empty(), "{args:?}: {}", text(&r.stdout));
        assert!(!out.exists(), "{args:?}: nothing written");
    }
    // What a run does read goes through: deep Q-learning's minibatch and learning rate.
    let d = format!("{d}_read");
    let r = nnspec(&[
        "train",
        "specs/dqn.nn",
        "--episodes",
        "2",
        "--batch",
        "8",
        "--lr",
        "0.01",
        "--quiet",
        "--out",
        &d,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
}

/// Deep Q-learning keeps the spec's max-norm constraints (`‖Ω_{0,j}‖ ≤ c`, each column of
/// `Ω_0`) after every update, as training on data does: every column's norm in the checkpoint
/// is at most c (100 episodes: learning starts after 1000 transitions, about 45 episodes).
#[test]
fn deep_q_learning_keeps_max_norm_constraints() {
    let spec = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/dqn.nn"))
        .unwrap()
        .replace(
            "[D_s = 4, A = 2, D = 64, γ = 0.99]",
            "[D_s = 4, A = 2, D = 64, γ = 0.99, c = 0.05]",
        )
        .replace("    q[s, φ] =", "    ‖Ω_{0,j}‖ ≤ c\n\n    q[s, φ] =");
    assert!(spec.contains("‖Ω_{0,j}‖ ≤ c"), "the constraint is in");
    let file = scratch("dqn_max_norm.nn", spec.as_bytes());
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train/dqn_max_norm");
    let d = out.to_string_lossy().to_string();
    let r = nnspec(&[
        "train",
        file.to_str().unwrap(),
        "--episodes",
        "100",
        "--lr",
        "0.05",
        "--quiet",
        "--out",
        &d,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let checked = nnspec::dsl::check_source(&spec, &Default::default()).unwrap();
    let graph = checked.graphs.iter().flatten().next().unwrap();
    let mut model = nnspec::training::InterpModel::<f64>::new(
        graph,
        &spec,
        "dqn",
        &mut nnspec::runtime::Rng::new(1),
    )
    .unwrap();
    nnspec::runtime::checkpoint::load(&out.join("model.safetensors"), &mut model).unwrap();
    let mut largest = None;
    nnspec::runtime::Params::for_each_param(&model, &mut |name, w| {
        if name == "Ω_0" {
            let norm = |j: usize| {
                (0..w.nrows())
                    .map(|i| w[(i, j)] * w[(i, j)])
                    .sum::<f64>()
                    .sqrt()
            };
            largest = (0..w.ncols()).map(norm).reduce(f64::max);
        }
    });
    let largest = largest.expect("Ω_0 in the checkpoint");
    assert!(
        largest <= 0.05 * (1.0 + 1e-12),
        "a column of Ω_0 has norm {largest} > c = 0.05"
    );
    assert!(
        largest > 0.049,
        "the constraint is what binds (largest column norm {largest})"
    );
}

#[test]
fn predict_reads_data_without_a_target_column() {
    let (out, _) = train_into("iris_unlabelled", &IRIS_LIKE, "3");
    // Two flowers, four measurements each, no class column.
    let csv = scratch("unlabelled.csv", b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n");
    let ckpt = out.join("model.safetensors").to_string_lossy().to_string();
    let mut args = vec!["predict"];
    args.extend(IRIS_LIKE);
    args.extend([
        "--checkpoint",
        &ckpt,
        "--data",
        csv.to_str().unwrap(),
        "--no-target",
    ]);
    let p = nnspec(&args);
    assert!(p.status.success(), "{}", text(&p.stderr));
    let lines: Vec<String> = text(&p.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines[0], "predicted,f1,f2,f3");
    assert_eq!(lines.len(), 3, "{lines:?}");
    for l in &lines[1..] {
        let class: usize = l.split(',').next().unwrap().parse().unwrap();
        assert!((1..=3).contains(&class), "{l}");
    }
    assert!(text(&p.stderr).contains("2 examples predicted"));
}

/// Every printing subcommand, with its reader gone before it writes: a closed stdout is a
/// normal end (status 0, nothing on stderr), not an internal error.
#[test]
fn a_closed_stdout_is_a_normal_exit() {
    let commands: [&[&str]; 5] = [
        &["ir", "specs/deep.nn", "--stage", "opt", "--plan"],
        &["fmt", "--ascii", "specs/deep.nn"],
        &["emit", "specs/deep.nn"],
        &["check", "specs/deep.nn", "--dump", "ast"],
        &["gradcheck", "specs/deep.nn"],
    ];
    for args in commands {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nnspec"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("nnspec runs");
        // Close the reading end before the program has written anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("nnspec ends");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("internal compiler error"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

#[test]
fn a_bernoulli_needs_one_probability() {
    for (dist, code, says) in [
        ("Bernoulli[2]", "E0314", "between 0 and 1"),
        (
            "Bernoulli[0.5, 1]",
            "E0204",
            "takes 1 argument, but 2 were given",
        ),
        ("Bernoulli[0.5]", "", ""),
    ] {
        let spec = format!("model M {{\n    input x : ℝ\n    m : ℝ ~ {dist}\n    f[x] = m x\n}}\n");
        let p = scratch("bernoulli.nn", spec.as_bytes());
        let out = nnspec(&["check", p.to_str().unwrap()]);
        let err = text(&out.stderr);
        if code.is_empty() {
            assert_eq!(out.status.code(), Some(0), "{dist}: {err}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{dist}: {err}");
            assert!(err.contains(code) && err.contains(says), "{dist}: {err}");
        }
    }
}

#[test]
fn sample_draws_the_vae_decoder_on_normal_noise_as_a_png_grid() {
    let (dir, _) = train_into("vae_sample", &["specs/vae.nn"], "2");
    let ckpt = dir.join("model.safetensors");
    let png = dir.join("samples.png");
    let (c, p) = (ckpt.to_str().unwrap(), png.to_str().unwrap());
    let args = ["sample", "specs/vae.nn", "--checkpoint", c, "-o", p];
    let r = nnspec(&[&args[..], &["--count", "6", "--scale", "2"]].concat());
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stdout).starts_with(
            "6 samples of `VAE` (the generator `Decoder`, instance `φ`) from z ~ Norm[0, I], \
             8×8 pixels each"
        ),
        "{}",
        text(&r.stdout)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // Three pictures per row (⌈√6⌉), two rows, each 8·2 pixels and a one-pixel gap.
    let be = |k: usize| u32::from_be_bytes(bytes[k..k + 4].try_into().unwrap());
    assert_eq!((be(16), be(20)), (3 * 17 + 1, 2 * 17 + 1));
    // An autoencoder calls no generator: refused, naming why.
    let (ae, _) = train_into("ae_sample", &["specs/autoencoder.nn"], "1");
    let ckpt = ae.join("model.safetensors");
    let r = nnspec(&[
        "sample",
        "specs/autoencoder.nn",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "-o",
        ae.join("none.png").to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("`Autoencoder` calls no sub-model to sample from"),
        "{}",
        text(&r.stderr)
    );
}

/// MADE trains on the binarised digits with no data argument, and `nnspec sample` draws
/// from it one entry at a time; the same network without its masks is refused, since its
/// outputs change when later entries are drawn.
#[test]
fn made_trains_on_binary_digits_and_samples_one_pixel_at_a_time() {
    let (dir, out) = train_into("made_sample", &["specs/made.nn"], "1");
    assert!(out.contains("test loss"), "{out}");
    let ckpt = dir.join("model.safetensors");
    let png = dir.join("samples.png");
    let (c, p) = (ckpt.to_str().unwrap(), png.to_str().unwrap());
    let r = nnspec(&[
        "sample",
        "specs/made.nn",
        "--checkpoint",
        c,
        "-o",
        p,
        "--count",
        "4",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stdout).starts_with(
            "4 samples of `MADE` (x_1, then each x_d ~ Bernoulli[p(x_d = 1 | x_{<d})], 64 \
             forward passes), 8×8 pixels each, grey from 0.000 to 1.000"
        ),
        "{}",
        text(&r.stdout)
    );
    let unmasked = Path::new(env!("CARGO_TARGET_TMPDIR")).join("unmasked.nn");
    let src = std::fs::read_to_string("specs/made.nn")
        .unwrap()
        .replace("(W ⊙ M) x", "W x")
        .replace("(V ⊙ M') h", "V h");
    std::fs::write(&unmasked, src).unwrap();
    let spec = unmasked.to_str().unwrap();
    let (dir, _) = train_into("unmasked_sample", &[spec], "1");
    let ckpt = dir.join("model.safetensors");
    let r = nnspec(&[
        "sample",
        spec,
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "-o",
        p,
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("`MADE` is not autoregressive in the order 1 … 64"),
        "{}",
        text(&r.stderr)
    );
}

/// The normalizing flow of chapter 16 (`specs/flow.nn`, eight affine couplings after the
/// logit of the raw pixels): five epochs with a fixed seed take its training negative
/// log-likelihood (eq. 16.8, nats per dequantised digit) below 128, what a Gaussian of
/// independent pixels in the logit's space scores on held-out digits
/// (`tests/data/digits_baselines.py`), falling every
/// epoch, and `Sample` runs the forward direction on noise to a picture of 64 pixels.
#[test]
fn the_flow_learns_the_digits_and_samples_from_noise() {
    let spec = "specs/flow.nn";
    let args = [spec, "--standardize", "none", "--seed", "1"];
    let (dir, _) = train_into("flow", &args, "5");
    let history = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    let nll: Vec<f64> = history
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(nll.len(), 5, "{history}");
    assert!(
        nll[4] < 128.0,
        "training NLL {} nats, not below 128:\n{history}",
        nll[4]
    );
    assert!(nll.windows(2).all(|w| w[1] < w[0]), "{history}");
    let png = dir.join("samples.png");
    let ckpt = dir.join("model.safetensors");
    let r = nnspec(&[
        "sample",
        spec,
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--model",
        "Sample",
        "-o",
        png.to_str().unwrap(),
        "--count",
        "4",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stdout).starts_with(
            "4 samples of `Flow` (the value `x` of `Sample`, from its noise), 8×8 pixels each"
        ),
        "{}",
        text(&r.stdout)
    );
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
}

/// `sample --model`: a model of the file that reads only noise and the trained parameters by
/// name (the diffusion model's sampling chain, Algorithm 18.2) is run from its noise.
#[test]
fn sample_runs_a_diffusion_models_chain_from_its_noise() {
    let spec = "specs/diffusion.nn";
    let args = [spec, "--set", "T=3", "--standardize", "global"];
    let (dir, _) = train_into("diffusion_sample", &args, "1");
    let ckpt = dir.join("model.safetensors");
    // One mean and one standard deviation for every pixel.
    let meta = nnspec::runtime::checkpoint::read_metadata(&ckpt).unwrap();
    for key in ["standardize_mean", "standardize_std"] {
        let values: Vec<&str> = meta[key].split(',').map(str::trim).collect();
        assert_eq!(values.len(), 64, "{key}");
        assert!(values.iter().all(|v| *v == values[0]), "{key}: {values:?}");
    }
    let png = dir.join("chain.png");
    let (c, p) = (ckpt.to_str().unwrap(), png.to_str().unwrap());
    let run = |more: &[&str]| {
        let args = ["sample", spec, "--checkpoint", c, "-o", p, "--count", "4"];
        nnspec(&[&args[..], more].concat())
    };
    let r = run(&["--model", "Sample"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stdout).starts_with(
            "4 samples of `Diffusion` (the value `x` of `Sample`, from its noise), 8×8 pixels each"
        ),
        "{}",
        text(&r.stdout)
    );
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    // Another value of the chain, by name.
    let r = run(&["--model", "Sample", "--value", "z_2"]);
    assert!(
        text(&r.stdout).contains("the value `z_2` of `Sample`"),
        "{}",
        text(&r.stderr)
    );
    // A model that reads data, or a value the model lacks: refused, naming why.
    for (more, says) in [
        (
            &["--model", "Diffusion"][..],
            "`Diffusion` reads `x`, which is not noise",
        ),
        (
            &["--model", "Sample", "--value", "y"][..],
            "`Sample` has no value `y`",
        ),
        (&["--model", "Nowhere"][..], "has no model `Nowhere`"),
    ] {
        let r = run(more);
        assert_eq!(r.status.code(), Some(1), "{more:?}");
        assert!(
            text(&r.stderr).contains(says),
            "{more:?}: {}",
            text(&r.stderr)
        );
    }
}

#[test]
fn gradcheck_skips_a_sub_model_without_a_loss_beside_models_with_one() {
    let r = nnspec(&["gradcheck", "specs/vae.nn"]);
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{err}{}", text(&r.stdout));
    assert!(
        err.contains("note: vae/Decoder has no loss of its own: skipped"),
        "{err}"
    );
    assert!(text(&r.stdout).contains("all gradients agree"));
    // Asked for by name, a model without a loss is still an error.
    let r = nnspec(&["gradcheck", "specs/vae.nn", "--model", "Decoder"]);
    assert_eq!(r.status.code(), Some(1));
}

/// `predict --show`: a parameter drawn as a heat map is its values (white 0, full red its
/// largest |value| if positive, full blue if negative), a value the model computes is drawn
/// for one example, and a name the model lacks is an error naming it.
#[test]
fn predict_shows_parameters_and_values_as_heat_maps() {
    let (out, _) = train_into("iris_show", &IRIS_LIKE, "1");
    // Ω_0 (16×4) set by hand: row 0 is (−2, 0, 1, 2), every other entry 0.
    let path = out.join("shown.safetensors");
    {
        use nnspec::runtime::{Params, checkpoint};
        let src = std::fs::read_to_string("specs/losses.nn").unwrap();
        let mut opts = nnspec::dsl::check::Options::default();
        opts.overrides.push((None, "D_i".into(), 4.0));
        let checked = nnspec::dsl::check_source(&src, &opts).unwrap();
        let graph = checked.graphs.iter().flatten();
        let graph = graph.clone().find(|g| g.name == "MulticlassClassification");
        let mut model = nnspec::training::InterpModel::<f64>::new(
            graph.unwrap(),
            &src,
            "l",
            &mut nnspec::runtime::Rng::new(1),
        )
        .unwrap();
        let meta = checkpoint::load(&out.join("model.safetensors"), &mut model).unwrap();
        model.for_each_param_mut(&mut |name, mut m| {
            if name == "Ω_0" {
                m.fill(0.0);
                for (j, v) in [-2.0, 0.0, 1.0, 2.0].into_iter().enumerate() {
                    m[(0, j)] = v;
                }
            }
        });
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        checkpoint::save(&path, &model, &meta).unwrap();
    }
    let png = out.join("shown.png");
    let (ckpt, png_s) = (path.to_string_lossy(), png.to_string_lossy());
    let r = nnspec(&[
        "predict",
        "specs/losses.nn",
        "--checkpoint",
        &ckpt,
        "--show",
        "Omega_0",
        "h",
        "--example",
        "2",
        "--scale",
        "1",
        "--out",
        &png_s,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let lines: Vec<String> = text(&r.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines[0], "Ω_0: 16×4, |value| ≤ 2.0000");
    assert!(lines[1].starts_with("h: 16×1, |value| ≤ "), "{}", lines[1]);
    let bytes = std::fs::read(&png).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    // Two maps of 4 and 1 columns, 16 rows, two-pixel gaps: 2 + 4 + 2 + 1 + 2 wide.
    assert_eq!((info.width, info.height), (11, 20));
    let at = |x: usize, y: usize| {
        let k = (y * 11 + x) * 3;
        [buf[k], buf[k + 1], buf[k + 2]]
    };
    let row0 = [at(2, 2), at(3, 2), at(4, 2), at(5, 2)];
    assert_eq!(row0, [[0, 0, 255], [255; 3], [255, 128, 128], [255, 0, 0]]);
    assert_eq!(at(3, 5), [255; 3]);
    let r = nnspec(&[
        "predict",
        "specs/losses.nn",
        "--checkpoint",
        &ckpt,
        "--show",
        "Q",
        "--out",
        &png_s,
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("`MulticlassClassification` has no parameter or named value `Q`"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn grad_prints_the_backward_pass_with_spec_lines() {
    let out = nnspec(&["grad", "specs/backprop.nn"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("∂ℓ_i/∂Ω_k = ∂ℓ_i/∂f_k h_kᵀ"), "{s}");
    assert!(s.contains("for k ∈ {3, 2, 1}"), "{s}");
    assert!(s.contains("# line 16"), "{s}");
    let tex = nnspec(&["grad", "--latex", "specs/backprop.nn"]);
    assert!(tex.status.success(), "{}", text(&tex.stderr));
    assert!(text(&tex.stdout).starts_with("\\documentclass{article}"));
    // A file with no loss is an error that says so, not a panic.
    let none = nnspec(&["grad", "specs/q_learning.nn"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        text(&none.stderr).contains("no model has a loss"),
        "{}",
        text(&none.stderr)
    );
}

/// The elements of an XML document, checked for well-formedness on the way: every tag closed
/// in order, attributes quoted, no stray `<` or `&` in text.
fn xml_elements(doc: &str) -> Result<Vec<(String, String)>, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        if text.contains('>')
            || text
                .replace("&amp;", "")
                .replace("&lt;", "")
                .replace("&gt;", "")
                .replace("&quot;", "")
                .contains('&')
        {
            return Err(format!("stray character in text `{text}`"));
        }
        let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(top) if top == name.trim() => {}
                other => return Err(format!("`</{name}>` closes {other:?}")),
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body
            .split_whitespace()
            .next()
            .ok_or("empty tag")?
            .to_string();
        if !body.matches('"').count().is_multiple_of(2) {
            return Err(format!("unbalanced quotes in `<{tag}>`"));
        }
        out.push((name.clone(), body.to_string()));
        if !self_closing {
            stack.push(name);
        }
    }
    if stack.is_empty() && rest.trim().is_empty() {
        Ok(out)
    } else {
        Err(format!("unclosed elements {stack:?}"))
    }
}

#[test]
fn graph_writes_an_svg_with_a_node_per_named_value() {
    for (spec, names) in [
        ("specs/deep.nn", &["h_1", "h_2", "h_3", "f", "L"][..]),
        (
            "specs/transformer.nn",
            &["V_1", "Q_2", "Sa_1", "MhSa", "X'", "X''''"][..],
        ),
    ] {
        let svg = scratch("graph.svg", b"");
        let out = nnspec(&["graph", spec, "-o", svg.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let doc = std::fs::read_to_string(&svg).expect("svg written");
        let elements = xml_elements(&doc).unwrap_or_else(|e| panic!("{spec}: not XML: {e}"));
        assert_eq!(elements[0].0, "svg");
        for name in names {
            let attr = format!("data-name=\"{name}\"");
            let n = elements.iter().filter(|(_, b)| b.contains(&attr)).count();
            assert_eq!(n, 1, "{spec}: {n} nodes named {name}");
        }
        let with_grad = nnspec(&["graph", spec, "--grad", "-o", svg.to_str().unwrap()]);
        assert!(with_grad.status.success(), "{}", text(&with_grad.stderr));
        let doc = std::fs::read_to_string(&svg).expect("svg written");
        xml_elements(&doc).unwrap_or_else(|e| panic!("{spec} --grad: not XML: {e}"));
        assert!(
            doc.contains("class=\"node backward\""),
            "{spec}: no backward node"
        );
    }
}

#[test]
fn fmt_prints_writes_and_checks() {
    let messy = "model M[D = 2] { input x : R^D; param beta : R^D\n  loss L = sum_i ||beta - x_i||^2   # least squares\n}\n";
    let p = scratch("fmt_messy.nn", messy.as_bytes());
    let path = p.to_str().unwrap();
    let out = nnspec(&["fmt", "--check", path]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).is_empty());
    let out = nnspec(&["fmt", "--unicode", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The comment keeps its column: 33 characters of ASCII code and 3 spaces, then 25 of
    // Unicode code and 11 spaces (the whole line then indented by 2 more).
    let want = "model M[D = 2] {\n    input  x : ℝ^D\n    param  β : ℝ^D\n    loss L = ∑_i ‖β - x_i‖²           # least squares\n}\n";
    assert_eq!(text(&out.stdout), want);
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        messy,
        "printing leaves the file"
    );
    let out = nnspec(&["fmt", "-w", "--unicode", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), want);
    assert_eq!(nnspec(&["fmt", "--check", path]).status.code(), Some(0));
    let bad = scratch("fmt_bad.nn", "model M { input x : }\n".as_bytes());
    let out = nnspec(&["fmt", "-w", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error[E0101]"),
        "{}",
        text(&out.stderr)
    );
}

/// `nnspec train specs/matrix_factorisation.nn` with no data argument: the built-in ratings
/// (rank 3 plus noise σ = 0.1), trained by SGD as the notes describe. The test loss is the
/// mean of ½ (r − u_iᵀ v_j)² (plus the penalty's share), so √(2 · loss) bounds the held-out
/// RMSE: within 30% of the noise level, from about 0.6 (the ratings' own spread, 1) at the
/// start.
#[test]
fn matrix_factorisation_trains_on_the_builtin_ratings_to_near_the_noise() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train/mf");
    let args = [
        "train",
        "specs/matrix_factorisation.nn",
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--epochs",
        "150",
        "--out",
        dir.to_str().unwrap(),
    ];
    let out = nnspec(&args);
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("ratings (built in)"), "{all}");
    let loss: f64 = all
        .split("test loss ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no test loss in {all}"));
    let rmse = (2.0 * loss).sqrt();
    assert!(
        rmse < 1.3 * nnspec::tasks::RATINGS_NOISE,
        "held-out RMSE ≤ {rmse}"
    );
}

/// The built-in ratings' rule: about half of the pairs observed, each once, labels in their
/// sets, ratings of variance 1 + σ² (a rank-3 inner product scaled by 1/√3 plus the noise),
/// the same set for the same seed.
#[test]
fn builtin_ratings_follow_their_rule() {
    let ds = nnspec::tasks::ratings::<f64>(("i", 100, 1), ("j", 80, 1), 7);
    let n = ds.len();
    assert!((3600..=4400).contains(&n), "{n} of 8000 pairs observed");
    let mut seen = std::collections::HashSet::new();
    for c in 0..n {
        let (i, j) = (ds.x[(0, c)], ds.x[(1, c)]);
        assert!((1.0..=100.0).contains(&i) && (1.0..=80.0).contains(&j) && i.fract() == 0.0);
        assert!(seen.insert((i as u32, j as u32)), "pair ({i}, {j}) twice");
    }
    let nnspec::runtime::data::Targets::Values(y) = &ds.y else {
        panic!("values")
    };
    let mean = (0..n).map(|c| y[(0, c)]).sum::<f64>() / n as f64;
    let var = (0..n).map(|c| (y[(0, c)] - mean).powi(2)).sum::<f64>() / n as f64;
    assert!((0.7..1.3).contains(&var), "variance {var}");
    let again = nnspec::tasks::ratings::<f64>(("i", 100, 1), ("j", 80, 1), 7);
    assert_eq!(again.x, ds.x);
}

/// A spec whose `←` rules write whole parameters (gradient descent as printed, eq. 6.3) trains
/// with its rules, not the optimiser: a falling loss; the optimiser's options, which would do
/// nothing, are a usage error naming them.
#[test]
fn train_runs_a_specs_own_optimiser_rules() {
    let (out, _) = train_into(
        "rules_gd",
        &["specs/optimisers.nn", "--model", "GradientDescent"],
        "3",
    );
    let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
    let losses: Vec<f64> = history
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(losses[2] < losses[0] / 10.0, "{history}");
    let r = nnspec(&[
        "train",
        "specs/optimisers.nn",
        "--model",
        "GradientDescent",
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
        "--quiet",
    ]);
    let e = text(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{e}");
    assert!(
        e.contains("--optimizer, --lr do not apply to a model its own `←` rules train"),
        "{e}"
    );
}
