//! NumPy `.npy` data end to end: fixtures written once by NumPy (`tests/data/npy/make.py`)
//! train and predict, in C and Fortran order, format 1.0 and 2.0; malformed files, labels
//! outside their set and mismatched files are errors naming the file.

use super::cli::nnspec;
use nnspec::runtime::data::{CsvOptions, Dataset};
use nnspec::runtime::npy::NpyOptions;
use std::path::{Path, PathBuf};
use std::process::Output;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A file in the test's scratch folder.
fn scratch(name: &str, contents: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npy");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write scratch file");
    p
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

const X: &str = "tests/data/npy/iris_x.npy";
const Y: &str = "tests/data/npy/iris_y.npy";

/// Softmax classification with 4 inputs and 3 classes, labels {1 … 3}.
const IRIS_LIKE: [&str; 5] = [
    "specs/losses.nn",
    "--model",
    "MulticlassClassification",
    "--set",
    "D_i=4",
];

/// Two binary labels per example from one input: `y : {0, 1}^{2}`.
const BINARY: [&str; 7] = [
    "specs/losses.nn",
    "--model",
    "IndependentBinary",
    "--set",
    "D=1",
    "--set",
    "D_o=2",
];

fn run(cmd: &str, spec: &[&str], extra: &[&str]) -> Output {
    let mut args = vec![cmd];
    args.extend(spec);
    args.extend(extra);
    nnspec(&args)
}

/// Fails with exit status 1 and exactly `want` on standard error.
#[track_caller]
fn fails_with(r: &Output, want: &str) {
    assert_eq!(r.status.code(), Some(1), "{}", text(&r.stderr));
    assert_eq!(text(&r.stderr), want);
}

/// A version-1 `.npy` file of `header` (padded) and `data`, as NumPy lays it out.
fn npy(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((h.len() as u16).to_le_bytes());
    b.extend(h.as_bytes());
    b.extend(data);
    b
}

#[test]
fn numpy_files_hold_the_csv_numbers_in_either_order() {
    let csv =
        Dataset::<f64>::from_csv_path(Path::new("data/iris.csv"), &CsvOptions::default()).unwrap();
    let opts = NpyOptions {
        kind: nnspec::runtime::data::TargetKind::Labels {
            lo: 1,
            classes: Some(3),
        },
        ..NpyOptions::default()
    };
    let c = Dataset::<f64>::from_npy_paths(Path::new(X), Some(Path::new(Y)), &opts).unwrap();
    assert_eq!(c.x, csv.x);
    let (
        nnspec::runtime::data::Targets::Labels { values: a, .. },
        nnspec::runtime::data::Targets::Labels {
            values: b,
            lo: 1,
            classes: 3,
        },
    ) = (&csv.y, &c.y)
    else {
        panic!("{:?}", c.y)
    };
    assert_eq!(a.iter().map(|l| l + 1).collect::<Vec<_>>(), *b);
    // Format 2.0, float32, stored column by column: the CSV's numbers rounded to f32.
    let f = Path::new("tests/data/npy/iris_x_fortran_v2.npy");
    let f = Dataset::<f32>::from_npy_paths(f, Some(Path::new(Y)), &opts).unwrap();
    assert_eq!(f.x, csv.x.as_ref().map(|&v| v as f32));
}

#[test]
fn a_model_trains_on_npy_files_and_predicts_on_them() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("npy")
        .join("iris_out");
    let r = run(
        "train",
        &IRIS_LIKE,
        &[
            "--data", X, "--labels", Y, "--epochs", "30", "--lr", "0.05", "--quiet",
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let r = run(
        "train",
        &IRIS_LIKE,
        &[
            "--data",
            X,
            "--targets",
            Y,
            "--epochs",
            "30",
            "--lr",
            "0.05",
            "--quiet",
            "--out",
            path(&out),
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let ckpt = out.join("model.safetensors");
    let meta = nnspec::runtime::checkpoint::read_metadata(&ckpt).unwrap();
    assert!(
        meta["targets"].ends_with("tests/data/npy/iris_y.npy"),
        "{meta:?}"
    );
    // Without --data, the held-out split of the same two files, 30 of 150.
    let p = run("predict", &IRIS_LIKE, &["--checkpoint", path(&ckpt)]);
    assert!(p.status.success(), "{}", text(&p.stderr));
    assert!(
        text(&p.stderr).starts_with("30 examples (the test split of "),
        "{}",
        text(&p.stderr)
    );
    assert_eq!(text(&p.stdout).lines().count(), 31);
    // The npy features predict what the same rows of the CSV file predict.
    let npy = run(
        "predict",
        &IRIS_LIKE,
        &["--checkpoint", path(&ckpt), "--data", X, "--no-target"],
    );
    let csv = run(
        "predict",
        &IRIS_LIKE,
        &[
            "--checkpoint",
            path(&ckpt),
            "--data",
            "data/iris.csv",
            "--no-target",
            "--features",
            "0,1,2,3",
        ],
    );
    assert!(
        npy.status.success() && csv.status.success(),
        "{}",
        text(&npy.stderr)
    );
    assert_eq!(text(&npy.stdout).lines().count(), 151);
    assert_eq!(text(&npy.stdout), text(&csv.stdout));
    // With its labels, the accuracy over all 150.
    let all = run(
        "predict",
        &IRIS_LIKE,
        &["--checkpoint", path(&ckpt), "--data", X, "--targets", Y],
    );
    assert!(all.status.success(), "{}", text(&all.stderr));
    let want = format!("150 examples ({X} and {Y}): accuracy ");
    assert!(
        text(&all.stderr).starts_with(&want),
        "{}",
        text(&all.stderr)
    );
}

#[test]
fn vectors_of_binary_labels_train_from_bool_and_are_checked() {
    let x = "tests/data/npy/tags_x.npy";
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("npy")
        .join("tags_out");
    let r = run(
        "train",
        &BINARY,
        &[
            "--data",
            x,
            "--targets",
            "tests/data/npy/tags_y.npy",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            path(&out),
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let bad = "tests/data/npy/tags_y_bad.npy";
    let r = run(
        "train",
        &BINARY,
        &["--data", x, "--targets", bad, "--quiet"],
    );
    fails_with(
        &r,
        &format!("error: {bad}: label 7 at [4, 1] is not in {{0 … 1}}\n"),
    );
}

#[test]
fn npy_errors_name_the_file_and_what_is_wrong() {
    let train = |extra: &[&str]| {
        let mut a = vec!["--quiet"];
        a.extend(extra);
        run("train", &IRIS_LIKE, &a)
    };
    // Labels 0 … 2 for a spec whose labels are {1 … 3}.
    let y0 = "tests/data/npy/iris_y0.npy";
    fails_with(
        &train(&["--data", X, "--targets", y0]),
        &format!("error: {y0}: label 0 at [0] is not in {{1 … 3}}\n"),
    );
    // Twelve targets for 150 examples.
    let y12 = "tests/data/npy/tags_y.npy";
    fails_with(
        &train(&["--data", X, "--targets", y12]),
        &format!("error: {y12}: 12 rows of targets for the 150 examples of {X}\n"),
    );
    // No targets.
    fails_with(
        &train(&["--data", X]),
        &format!(
            "error: {X}: the targets of .npy features are another .npy file: give --targets\n"
        ),
    );
    // The features file cut short: 4000 of its 4800 bytes of data.
    let full = std::fs::read(X).unwrap();
    let cut = scratch("cut.npy", &full[..full.len() - 800]);
    fails_with(
        &train(&["--data", path(&cut), "--targets", Y]),
        &format!(
            "error: {}: the data are truncated: 4000 bytes, but shape (150, 4) of <f8 needs 4800\n",
            path(&cut)
        ),
    );
    // A NaN feature, at row 1, column 0.
    let data: Vec<u8> = [0.5f64, 1.0, f64::NAN, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let nan = scratch(
        "nan.npy",
        &npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
            &data,
        ),
    );
    let y = scratch(
        "y2.npy",
        &npy(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }",
            &[1, 2],
        ),
    );
    fails_with(
        &run(
            "train",
            &BINARY,
            &["--quiet", "--data", path(&nan), "--targets", path(&y)],
        ),
        &format!(
            "error: {}: the feature at [1, 0] is not finite: NaN\n",
            path(&nan)
        ),
    );
    // Not a .npy file; an unsupported type; a header that is not a dict; rank 3.
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "zip.npy",
            b"PK\x03\x04".to_vec(),
            "not a .npy file: it does not start with \\x93NUMPY",
        ),
        (
            "half.npy",
            npy(
                "{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }",
                &[0, 0],
            ),
            "the type \"<f2\" is not supported (floats <f4 <f8, integers <i1 … <u8, |b1)",
        ),
        (
            "list.npy",
            npy("['<f8']", &[]),
            "the header is not a Python dict: \"['<f8']\"",
        ),
        (
            "cube.npy",
            npy(
                "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1), }",
                &[0],
            ),
            "the array has rank 3 (shape (1, 1, 1)); one or two dimensions are read",
        ),
    ];
    for (name, bytes, why) in cases {
        let f = scratch(name, &bytes);
        fails_with(
            &train(&["--data", path(&f), "--targets", Y]),
            &format!("error: {}: {why}\n", path(&f)),
        );
    }
    // --targets belongs to .npy data.
    fails_with(
        &train(&["--data", "data/iris.csv", "--targets", Y]),
        &format!("error: --targets {Y} goes with a .npy --data; a CSV file holds its targets\n"),
    );
}

/// A graph network of two inputs, `X ∈ ℝ^{1×4}` and `A ∈ ℝ^{4×4}`, labels {0, 1}.
const GRAPHS: [&str; 5] = ["specs/gcn.nn", "--set", "N=4", "--set", "D=1"];

/// A folder holds one `.npy` file per input, named after it, and the targets named after the
/// target; train and predict read it, and the checkpoint predicts on its held-out split.
#[test]
fn a_folder_of_npy_files_gives_each_input_by_name() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npy/graphs-run");
    let o = path(&out);
    let r = run(
        "train",
        &GRAPHS,
        &[
            "--data",
            "tests/data/npy/graphs",
            "--epochs",
            "2",
            "--quiet",
            "--out",
            o,
        ],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    let ckpt = out.join("model.safetensors");
    let r = run("predict", &GRAPHS, &["--checkpoint", path(&ckpt)]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("tests/data/npy/graphs): accuracy"),
        "{}",
        text(&r.stderr)
    );
    // Each example's column: X's numbers, then A's, as the files hold them.
    let shapes =
        [("X", 1, 4), ("A", 4, 4)].map(|(name, rows, cols)| nnspec::runtime::data::InputShape {
            name: name.into(),
            rows,
            cols,
        });
    let dir = Path::new("tests/data/npy/graphs");
    let y = dir.join("y.npy");
    let ds = Dataset::<f64>::from_npy_dir(dir, &shapes, Some(&y), &NpyOptions::default()).unwrap();
    let (x, a) = (
        nnspec::runtime::npy::read_path(&dir.join("X.npy")).unwrap(),
        nnspec::runtime::npy::read_path(&dir.join("A.npy")).unwrap(),
    );
    assert_eq!((ds.len(), ds.features(), ds.inputs.len()), (12, 20, 2));
    for j in 0..12 {
        for k in 0..4 {
            assert_eq!(ds.x[(k, j)], x.get(j, k));
        }
        for k in 0..16 {
            assert_eq!(ds.x[(4 + k, j)], a.get(j, k));
        }
    }
}

#[test]
fn a_folder_that_does_not_fit_the_inputs_names_the_input() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npy/graphs-without-a");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["X.npy", "y.npy"] {
        std::fs::copy(Path::new("tests/data/npy/graphs").join(f), dir.join(f)).unwrap();
    }
    let d = path(&dir);
    let r = run("train", &GRAPHS, &["--data", d, "--epochs", "1", "--quiet"]);
    fails_with(
        &r,
        &format!(
            "error: {d}: no file A.npy for the input `A` ∈ ℝ^{{4×4}} (a folder holds one `.npy` \
             file per input, named after it)\n"
        ),
    );
    let wide = ["specs/gcn.nn", "--set", "N=5", "--set", "D=1"];
    let r = run(
        "train",
        &wide,
        &["--data", "tests/data/npy/graphs", "--epochs", "1"],
    );
    fails_with(
        &r,
        "error: tests/data/npy/graphs/X.npy: shape (12, 4): 4 numbers per example, but the \
         input `X` ∈ ℝ^{1×5} has 5 (its columns one after the other)\n",
    );
}
