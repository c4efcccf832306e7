//! Data files end to end: CSV with quoted cells and class names (the names back from
//! `predict`), vectors of binary labels checked against their set in `train` and `eval`, and
//! numbers that read back exactly through `eval`'s JSON.

use super::cli::nnspec;
use std::path::{Path, PathBuf};
use std::process::Output;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A file in the test's scratch folder.
fn scratch(name: &str, contents: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("data");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, contents).expect("write scratch file");
    p
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Fails with exit status 1 and exactly `want` on standard error.
#[track_caller]
fn fails_with(r: &Output, want: &str) {
    assert_eq!(r.status.code(), Some(1), "{}", text(&r.stderr));
    assert_eq!(text(&r.stderr), want);
}

/// Softmax classification with 4 inputs and 3 classes, labels {1 … 3}.
const IRIS_LIKE: [&str; 5] = [
    "specs/losses.nn",
    "--model",
    "MulticlassClassification",
    "--set",
    "D_i=4",
];

/// Iris rows with the species as names, quoted and not, under a header.
fn named_iris() -> String {
    let names = ["setosa", "\"versicolor\"", "virginica"];
    let mut csv =
        String::from("\"sepal length, cm\",sepal width,petal length,petal width,species\n");
    for line in include_str!("../../data/iris.csv").lines().skip(1) {
        let (cells, label) = line.rsplit_once(',').unwrap();
        csv += &format!("{cells},{}\n", names[label.parse::<usize>().unwrap()]);
    }
    csv
}

#[test]
fn class_names_train_and_come_back_from_predict() {
    let csv = scratch("named_iris.csv", &named_iris());
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("data")
        .join("named_out");
    let mut args = vec!["train"];
    args.extend(IRIS_LIKE);
    args.extend([
        "--data",
        path(&csv),
        "--epochs",
        "30",
        "--lr",
        "0.05",
        "--quiet",
    ]);
    args.extend(["--out", path(&out)]);
    let r = nnspec(&args);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let ckpt = out.join("model.safetensors");
    let meta = nnspec::runtime::checkpoint::read_metadata(&ckpt).unwrap();
    assert_eq!(
        meta["class_names"],
        r#"["setosa","versicolor","virginica"]"#
    );

    // Predictions on named rows print names; the file's order of names does not matter.
    let rows = "a,b,c,d,y\n5.1,3.5,1.4,0.2,setosa\n6.3,3.3,6.0,2.5,virginica\n";
    let data = scratch("named_rows.csv", rows);
    let mut args = vec!["predict"];
    args.extend(IRIS_LIKE);
    args.extend(["--checkpoint", path(&ckpt), "--data", path(&data)]);
    let p = nnspec(&args);
    assert!(p.status.success(), "{}", text(&p.stderr));
    let stdout = text(&p.stdout);
    let predicted: Vec<&str> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(predicted, ["setosa", "virginica"], "{stdout}");
    assert!(text(&p.stderr).contains("accuracy 100.0% (2 correct)"));

    // A name the model was not trained on.
    let unknown = scratch(
        "unknown_name.csv",
        "a,b,c,d,y\n5.1,3.5,1.4,0.2,setosa\n1,2,3,4,daisy\n",
    );
    let mut args = vec!["predict"];
    args.extend(IRIS_LIKE);
    args.extend(["--checkpoint", path(&ckpt), "--data", path(&unknown)]);
    let want = format!(
        "error: {}:3: label \"daisy\" in cell 5 is not one of the classes setosa, versicolor, \
         virginica\n",
        path(&unknown)
    );
    fails_with(&nnspec(&args), &want);
}

#[test]
fn csv_errors_name_file_line_and_cell() {
    let train = |name: &str, csv: &str| {
        let f = scratch(name, csv);
        let mut args = vec!["train"];
        args.extend(IRIS_LIKE);
        args.extend(["--data", path(&f), "--quiet"]);
        (nnspec(&args), path(&f).to_string())
    };
    let (r, f) = train("ragged.csv", "1,2,3,4,1\n1,2,3,4,2\n\n1,2,3,1\n");
    fails_with(&r, &format!("error: {f}:4: row has 4 cells, expected 5\n"));
    let (r, f) = train("quoted.csv", "1,2,3,4,1\n1,\"2,5\",3,4,2\n1,2,3,4,3\n");
    fails_with(
        &r,
        &format!("error: {f}:2: cell 2 is not a number: \"2,5\"\n"),
    );
    let (r, f) = train("notnum.csv", "1,2,3,4,1\n1,2,3,4,2\n# c\n1,2,x,4,3\n");
    fails_with(
        &r,
        &format!("error: {f}:4: cell 3 is not a number: \"x\"\n"),
    );
}

/// Independent binary outputs, `y : {0, 1}^{D_o}` with `D_o = 2`, 2 inputs, 1 hidden unit.
const BINARY: [&str; 7] = [
    "specs/losses.nn",
    "--model",
    "IndependentBinary",
    "--set",
    "D=1",
    "--set",
    "D_o=2",
];

#[test]
fn train_checks_every_binary_label() {
    for (bad, shown) in [("7", "7"), ("0.5", "0.5"), ("-1", "-1")] {
        let csv = format!("x1,x2,y1,y2\n0.1,0.2,0,1\n0.3,0.4,1,{bad}\n0.5,0.6,1,1\n");
        let f = scratch(&format!("binary_{bad}.csv"), &csv);
        let mut args = vec!["train"];
        args.extend(BINARY);
        args.extend(["--data", path(&f), "--quiet"]);
        let want = format!(
            "error: {}:3: label {shown} in cell 4 is not in {{0 … 1}}\n",
            path(&f)
        );
        fails_with(&nnspec(&args), &want);
    }
    // Good labels train.
    let rows: String = (0..12)
        .map(|i| format!("{},{},{},{}\n", i, 12 - i, i % 2, (i / 2) % 2))
        .collect();
    let f = scratch("binary_ok.csv", &rows);
    let mut args = vec!["train"];
    args.extend(BINARY);
    args.extend(["--data", path(&f), "--quiet", "--epochs", "1"]);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("data")
        .join("binary_out");
    args.extend(["--out", path(&out)]);
    let r = nnspec(&args);
    assert!(r.status.success(), "{}", text(&r.stderr));
}

/// `nnspec eval` of [`BINARY`] with zero parameters on the inputs `x` and `y` (JSON).
fn eval_binary(name: &str, x: &str, y: &str) -> (Output, String) {
    let p = scratch(
        "binary_params.json",
        r#"{"β_0": [0], "Ω_0": [[0, 0]], "β_1": [0, 0], "Ω_1": [0, 0]}"#,
    );
    let i = scratch(name, &format!(r#"{{"x": {x}, "y": {y}}}"#));
    let mut args = vec!["eval"];
    args.extend(BINARY);
    args.extend(["--params", path(&p), "--inputs", path(&i), "--json"]);
    (nnspec(&args), path(&i).to_string())
}

#[test]
fn eval_checks_every_binary_label() {
    for (bad, shown) in [("7", "7"), ("0.5", "0.5"), ("-1", "-1")] {
        let y = format!("[[0, 1], [1, {bad}]]");
        let (r, f) = eval_binary("binary_bad.json", "[[0, 0], [0, 0]]", &y);
        let want = format!("error: {f}: `y`[1][1]: label {shown} is not in {{0 … 1}}\n");
        fails_with(&r, &want);
    }
    // One example as a flat list: the index is the entry's.
    let (r, f) = eval_binary("binary_flat.json", "[0, 0]", "[1, 7]");
    fails_with(
        &r,
        &format!("error: {f}: `y`[1]: label 7 is not in {{0 … 1}}\n"),
    );
    // With f = 0, each entry costs log 2 whatever its label: L = 4 log 2 for two examples.
    let (r, _) = eval_binary("binary_ok.json", "[[0, 0], [0, 0]]", "[[0, 1], [1, 1]]");
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let loss = v["loss"].as_f64().unwrap();
    assert!((loss - 4.0 * 2f64.ln()).abs() < 1e-12, "{loss}");
}

#[test]
fn numbers_read_back_exactly_through_eval() {
    // f = φ_0 + φ_1 x with φ = (0, 1) is x itself; these values are read and written
    // exactly only with a correctly rounded parser (the last three are off by one unit in
    // the last place with serde_json's fast parser).
    let xs: [f64; 6] = [
        0.1 + 0.2,
        1e-300,
        5e-324,
        1.3434963892299378e222,
        3.453180155579679e-192,
        7.373821325050687e55,
    ];
    let list: Vec<String> = xs.iter().map(|x| format!("{x:e}")).collect();
    let list = list.join(", ");
    let p = scratch("identity_params.json", r#"{"φ_0": 0, "φ_1": 1}"#);
    let i = scratch(
        "exact_inputs.json",
        &format!(r#"{{"x": [{list}], "y": [{list}]}}"#),
    );
    let r = nnspec(&[
        "eval",
        "specs/linear_regression.nn",
        "--params",
        path(&p),
        "--inputs",
        path(&i),
        "--json",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let f: Vec<u64> = v["outputs"]["f"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap().to_bits())
        .collect();
    let want: Vec<u64> = xs.iter().map(|x| x.to_bits()).collect();
    assert_eq!(f, want, "{}", text(&r.stdout));
    assert_eq!(v["loss"], serde_json::json!(0.0));
}
