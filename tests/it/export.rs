//! `nnspec export --to jax` end to end: every model of every spec in `specs/` is exported (or
//! refused with the construct named, exactly the models of [`UNSUPPORTED`]), and one Python
//! process (`tests/export/jax_check.py`, in the test venv `target/venv`) checks each exported
//! model function, loss and `jax.grad` against `nnspec eval --grad` in float64, to 1e-9.
//! `--to onnx` likewise: every model function the ONNX exporter takes passes the `onnx`
//! checker and runs in onnxruntime with `nnspec eval`'s values (`tests/export/onnx_check.py`),
//! and the trained digits network, standardisation included, predicts as `nnspec predict`.
//! Data-parallel training with `examples/distributed/train.py`: two JAX processes (a
//! coordinator on localhost) reach the parameters of one process to 1e-12, and `nnspec
//! predict` with their checkpoint gives the exported `apply`'s outputs
//! (`tests/export/distributed_check.py`). The Python checks share `tests/export/common.py`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The models the JAX exporter refuses, with the construct its error names.
const UNSUPPORTED: &[(&str, &str, &str)] = &[
    ("cnn", "DigitsCnn", "a convolution"),
    ("conv", "Conv1dNet", "a convolution"),
    ("conv_autoencoder", "ConvAutoencoder", "a convolution"),
    (
        "optimisers",
        "GradientDescent",
        "a rule of whole parameters",
    ),
    ("optimisers", "Momentum", "a rule of whole parameters"),
    ("optimisers", "Adam", "a rule of whole parameters"),
    ("pixelcnn", "PixelCNN", "a convolution"),
    ("resnet", "ResBlock", "batch normalisation"),
    ("resnet", "ResNet", "batch normalisation"),
    ("wavenet", "WaveNet", "a convolution"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The packages the export checks import, as `pip install` names them, and as `import`s.
const VENV_PACKAGES: &[&str] = &["jax[cpu]", "safetensors", "numpy", "onnx", "onnxruntime"];
const VENV_IMPORTS: &str = "import jax, safetensors, numpy, onnx, onnxruntime";

/// The test venv's Python (`target/venv`), with the packages the export tests import. The
/// first test that needs it creates it (`python3 -m venv`, then `pip install` from PyPI, about
/// a minute) beside it and renamed into place, so `cargo test --workspace` works on a fresh clone; later runs
/// only probe the imports. A failure to create it fails the test with pip's message (never a
/// skipped test).
pub(crate) fn venv_python() -> PathBuf {
    static READY: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    match READY.get_or_init(make_venv) {
        Ok(python) => python.clone(),
        Err(why) => panic!("the export tests need the Python venv target/venv: {why}"),
    }
}

fn make_venv() -> Result<PathBuf, String> {
    let venv = root().join("target/venv");
    let python = venv.join("bin/python");
    let probe = |python: &Path| {
        Command::new(python)
            .args(["-c", VENV_IMPORTS])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if probe(&python) {
        return Ok(python);
    }
    // Built beside it and renamed into place, so a second test process never sees half a venv
    // (Python finds a venv's packages from where its `python` is, so the move keeps it whole).
    let building = root().join(format!("target/venv.building-{}", std::process::id()));
    let building_python = building.join("bin/python");
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("{cmd:?} failed: {}", err.trim()))
    };
    run(Command::new("python3").args(["-m", "venv"]).arg(&building))?;
    run(Command::new(&building_python)
        .args(["-m", "pip", "install", "-q"])
        .args(VENV_PACKAGES))?;
    if std::fs::rename(&building, &venv).is_err() {
        // Another process moved its venv in first (or a broken one is in the way).
        let _ = std::fs::remove_dir_all(&building);
    }
    if probe(&python) {
        Ok(python)
    } else {
        Err(format!(
            "`{VENV_IMPORTS}` fails in {} (delete it to have it made again)",
            venv.display()
        ))
    }
}

/// Every model of every spec in `specs/`, as (file, stem, model).
fn models() -> Vec<(PathBuf, String, String)> {
    let mut out = Vec::new();
    for path in super::specs::spec_files() {
        if !path.starts_with(root().join("specs")) {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let checked = nnspec::dsl::check_source(&src, &Default::default()).expect("checks");
        for g in checked.graphs.into_iter().flatten() {
            out.push((path.clone(), stem.clone(), g.name));
        }
    }
    out
}

/// One model of `specs/` given to `nnspec export`: the path it printed, or its error.
struct Exported {
    path: PathBuf,
    stem: String,
    model: String,
    result: Result<String, String>,
}

/// Every model of every spec in `specs/` exported with `--to to` (and `--precision` when
/// given) into `dir/<stem>`. A refusal must be an error (exit 1) saying the exporter does not
/// support a construct yet.
fn export_all(to: &str, precision: Option<&str>, dir: &Path) -> Vec<Exported> {
    let mut out = Vec::new();
    for (path, stem, model) in models() {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nnspec"));
        cmd.arg("export")
            .arg(&path)
            .args(["--model", &model, "--to", to]);
        if let Some(p) = precision {
            cmd.args(["--precision", p]);
        }
        let run = cmd
            .arg("-o")
            .arg(dir.join(&stem))
            .output()
            .expect("runs nnspec");
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        let result = if run.status.success() {
            Ok(String::from_utf8_lossy(&run.stdout).trim().to_string())
        } else {
            assert_eq!(run.status.code(), Some(1), "{stem} {model}: {stderr}");
            // The JAX and PyTorch exporters' words, and the ONNX exporter's.
            let refusal = match to {
                "onnx" => "is not supported by the ONNX exporter yet",
                _ => "is not supported by the exporter yet",
            };
            assert!(stderr.contains(refusal), "{stem} {model}: {stderr}");
            Err(stderr)
        };
        out.push(Exported {
            path,
            stem,
            model,
            result,
        });
    }
    out
}

/// Writes `manifest` as `dir/manifest.json` and runs the check `script` of `tests/export/` on
/// it (`python script NNSPEC MANIFEST`), then removes `dir`: whether it passed, and its report.
fn run_check(
    python: &Path,
    script: &str,
    manifest: &[serde_json::Value],
    dir: &Path,
) -> (bool, String) {
    let manifest_path = dir.join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_string(manifest).expect("json"),
    )
    .expect("writes the manifest");
    let run = Command::new(python)
        .arg(root().join("tests/export").join(script))
        .arg(env!("CARGO_BIN_EXE_nnspec"))
        .arg(&manifest_path)
        .output()
        .expect("runs the check");
    let report = String::from_utf8_lossy(&run.stdout);
    println!("{report}");
    let _ = std::fs::remove_dir_all(dir);
    let report = format!("{report}\n{}", String::from_utf8_lossy(&run.stderr));
    (run.status.success(), report)
}

#[test]
fn every_exportable_spec_matches_eval_in_float64() {
    let python = venv_python();
    let dir = std::env::temp_dir().join(format!("nnspec-export-jax-{}", std::process::id()));
    let mut manifest = Vec::new();
    let mut refused = Vec::new();
    for e in export_all("jax", None, &dir) {
        let (stem, model) = (e.stem, e.model);
        match e.result {
            Ok(module) => manifest.push(serde_json::json!({
                "spec": e.path.display().to_string(), "model": model, "module": module,
            })),
            Err(stderr) => {
                let construct = UNSUPPORTED
                    .iter()
                    .find(|(s, m, _)| *s == stem && *m == model)
                    .map(|(_, _, c)| *c)
                    .unwrap_or_else(|| {
                        panic!("{stem} {model} is refused but not listed: {stderr}")
                    });
                assert!(stderr.contains(construct), "{stem} {model}: {stderr}");
                refused.push((stem, model));
            }
        }
    }
    assert_eq!(
        refused.len(),
        UNSUPPORTED.len(),
        "models listed as unsupported now export: {refused:?}"
    );
    let (ok, report) = run_check(&python, "jax_check.py", &manifest, &dir);
    assert!(ok, "exported JAX differs from nnspec eval:\n{report}");
    assert!(
        report.contains(&format!("{0} of {0} models match", manifest.len())),
        "{report}"
    );
}

#[test]
fn export_refuses_an_unsupported_construct_by_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .arg("export")
        .arg(root().join("specs/cnn.nn"))
        .args(["--to", "jax"])
        .output()
        .expect("runs nnspec");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no code is printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot export `DigitsCnn` to jax: a convolution at h_{c,i,j}")
            && stderr.contains("(cnn.nn:"),
        "{stderr}"
    );
}

#[test]
fn the_exported_deep_net_is_stable_and_names_its_spec_lines() {
    let out = Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .arg("export")
        .arg(root().join("specs/deep.nn"))
        .args(["--to", "jax"])
        .output()
        .expect("runs nnspec");
    assert!(out.status.success());
    let code = String::from_utf8_lossy(&out.stdout);
    // log∘softmax is exported as its stable form, never as `log(softmax(…))`.
    assert!(code.contains("jax.nn.logsumexp("), "{code}");
    assert!(!code.contains("jnp.log(jax.nn.softmax"), "{code}");
    assert!(
        code.contains("    # h_1 = a[β_0 + Ω_0 x] (deep.nn:10)\n    h_1 = "),
        "{code}"
    );
    assert!(code.contains("\"Ω_0\": (64, 64),"), "{code}");
}

#[test]
fn checkpoints_go_both_ways_between_nnspec_and_jax() {
    let python = venv_python();
    let dir = std::env::temp_dir().join(format!("nnspec-export-ckpt-{}", std::process::id()));
    let nnspec = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_nnspec"))
            .args(args)
            .output()
            .expect("runs nnspec");
        assert!(
            out.status.success(),
            "nnspec {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let spec = root().join("specs/deep.nn").display().to_string();
    let out = dir.join("train").display().to_string();
    // Raw features, so that the exported `apply` and `predict` read the same numbers.
    let args = ["--epochs", "1", "--standardize", "none", "--out", &out];
    nnspec(&[&["train", spec.as_str()][..], &args].concat());
    let module = nnspec(&[
        "export",
        &spec,
        "--to",
        "jax",
        "-o",
        &dir.display().to_string(),
    ]);
    let checkpoint = dir.join("train/model.safetensors");
    python_check(
        &python,
        "checkpoint_check.py",
        &[spec.as_ref(), module.as_ref(), checkpoint.as_os_str()],
        &dir,
        "round trip ok",
    );
}

/// Runs `tests/export/SCRIPT NNSPEC ARGS… DIGITS DIR` with `python`, prints its report,
/// removes `dir` and asserts that it succeeded with `ok` in its report.
fn python_check(python: &Path, script: &str, args: &[&std::ffi::OsStr], dir: &Path, ok: &str) {
    let run = Command::new(python)
        .arg(root().join("tests/export").join(script))
        .arg(env!("CARGO_BIN_EXE_nnspec"))
        .args(args)
        .arg(root().join("data/digits.csv.gz"))
        .arg(dir)
        .output()
        .expect("runs the check");
    let report = String::from_utf8_lossy(&run.stdout);
    println!("{report}");
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        run.status.success() && report.contains(ok),
        "{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Runs `examples/distributed/train.py` as `processes` processes of one job (a coordinator on
/// a free localhost port when there are several), 20 SGD steps of a global batch of 64 from
/// seed 7 in float64, writing `out`. Each process's output goes to `out.<rank>.log`; a process
/// that fails, or a job still running after two minutes (killed then), fails the test with
/// the logs.
fn train_data_parallel(python: &Path, module: &str, processes: usize, out: &Path) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let n = processes.to_string();
    let logs: Vec<PathBuf> = (0..processes)
        .map(|rank| out.with_extension(format!("{rank}.log")))
        .collect();
    let mut children: Vec<_> = (0..processes)
        .map(|rank| {
            let log = std::fs::File::create(&logs[rank]).expect("creates the log");
            let mut cmd = Command::new(python);
            cmd.arg(root().join("examples/distributed/train.py"))
                .args(["--module", module, "--out"])
                .arg(out)
                .args([
                    "--steps", "20", "--batch", "64", "--lr", "0.1", "--seed", "7",
                ])
                .args(["--precision", "f64", "--timeout", "60"]);
            if processes > 1 {
                cmd.args(["--num-processes", &n, "--process-id", &rank.to_string()])
                    .arg("--coordinator")
                    .arg(format!("127.0.0.1:{port}"));
            }
            cmd.stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("runs python")
        })
        .collect();
    let read_logs = || {
        logs.iter()
            .map(|l| std::fs::read_to_string(l).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut done = vec![None; processes];
    while done.iter().any(Option::is_none) {
        for (child, status) in children.iter_mut().zip(done.iter_mut()) {
            if status.is_none() {
                *status = child.try_wait().expect("waits");
            }
        }
        if std::time::Instant::now() > deadline {
            for child in &mut children {
                let _ = child.kill();
                let _ = child.wait();
            }
            panic!(
                "{processes} process(es) still running after 120 s:\n{}",
                read_logs()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        done.iter().all(|s| s.is_some_and(|s| s.success())),
        "{processes} process(es): {done:?}\n{}",
        read_logs()
    );
    println!("{}", read_logs());
}

#[test]
fn two_jax_processes_train_as_one_and_nnspec_predicts_with_the_result() {
    let python = venv_python();
    let dir = std::env::temp_dir().join(format!("nnspec-export-dp-{}", std::process::id()));
    let spec = root().join("specs/deep.nn").display().to_string();
    let module = nnspec_ok(&[
        "export",
        &spec,
        "--to",
        "jax",
        "-o",
        &dir.display().to_string(),
    ]);
    let (one, two) = (dir.join("one.safetensors"), dir.join("two.safetensors"));
    train_data_parallel(&python, &module, 1, &one);
    train_data_parallel(&python, &module, 2, &two);
    python_check(
        &python,
        "distributed_check.py",
        &[
            spec.as_ref(),
            module.as_ref(),
            "7".as_ref(),
            one.as_os_str(),
            two.as_os_str(),
        ],
        &dir,
        "data-parallel ok",
    );
}

/// `nnspec` with `args`, which must succeed: its standard output, trimmed.
fn nnspec_ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .args(args)
        .output()
        .expect("runs nnspec");
    assert!(
        out.status.success(),
        "nnspec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn every_onnx_export_matches_eval_in_float64() {
    let python = venv_python();
    let dir = std::env::temp_dir().join(format!("nnspec-export-onnx-{}", std::process::id()));
    let (mut manifest, mut refused) = (Vec::new(), Vec::new());
    for e in export_all("onnx", Some("f64"), &dir) {
        let Ok(onnx) = e.result else {
            refused.push(format!("{} {}", e.stem, e.model));
            continue;
        };
        let src = std::fs::read_to_string(&e.path).expect("readable");
        let checked = nnspec::dsl::check_source(&src, &Default::default()).expect("checks");
        let g = checked.graph(Some(&e.model)).expect("the model");
        let inputs: Vec<_> = g
            .inputs
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name, "rows": s.shape.rows, "per": s.shape.cols_for(1),
                    "labels": s.label_set().map(|(lo, n)| vec![lo as i64, n as i64]),
                })
            })
            .collect();
        let params: Vec<&str> = g.params.iter().map(|p| p.name.as_str()).collect();
        manifest.push(serde_json::json!({
            "spec": e.path.display().to_string(), "model": e.model,
            "onnx": onnx, "params": params, "inputs": inputs,
        }));
    }
    println!("refused: {refused:?}");
    // The dense networks of chapters 3–9 at least: shallow, deep, backprop, the losses, …
    assert!(manifest.len() >= 20, "only {} exported", manifest.len());
    let (ok, report) = run_check(&python, "onnx_check.py", &manifest, &dir);
    assert!(
        ok && report.contains(&format!("{0} of {0} ONNX models", manifest.len())),
        "ONNX differs from nnspec eval:\n{report}"
    );
}

#[test]
fn the_onnx_digits_network_predicts_as_nnspec_predict() {
    let python = venv_python();
    let dir =
        std::env::temp_dir().join(format!("nnspec-export-onnx-digits-{}", std::process::id()));
    let spec = root().join("specs/deep.nn").display().to_string();
    let train = dir.join("train").display().to_string();
    // Standardised inputs (the default): the ONNX file applies the checkpoint's statistics.
    nnspec_ok(&["train", &spec, "--epochs", "2", "--out", &train]);
    let checkpoint = dir.join("train/model.safetensors").display().to_string();
    let onnx = nnspec_ok(&[
        "export",
        &spec,
        "--to",
        "onnx",
        "--checkpoint",
        &checkpoint,
        "-o",
        &dir.display().to_string(),
    ]);
    // 200 raw rows of the digits, without their labels.
    let rows = dir.join("rows.csv");
    let script = "import gzip, sys\nlines = gzip.open(sys.argv[1], 'rt').read().splitlines()[:200]\n\
                  open(sys.argv[2], 'w').write(''.join(','.join(l.split(',')[:64]) + '\\n' for l in lines))";
    let made = Command::new(&python)
        .args(["-c", script])
        .arg(root().join("data/digits.csv.gz"))
        .arg(&rows)
        .status()
        .expect("runs python");
    assert!(made.success());
    let rows = rows.display().to_string();
    let predicted = nnspec_ok(&[
        "predict",
        &spec,
        "--checkpoint",
        &checkpoint,
        "--data",
        &rows,
        "--no-target",
    ]);
    let want = dir.join("predicted.csv");
    std::fs::write(&want, predicted).expect("writes");
    let check = "import sys, numpy as np, onnx, onnxruntime as ort\n\
                 m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True)\n\
                 x = np.loadtxt(sys.argv[2], delimiter=',', dtype=np.float32, ndmin=2)\n\
                 got = ort.InferenceSession(sys.argv[1]).run(None, {'x': x})[0]\n\
                 want = np.loadtxt(sys.argv[3], delimiter=',', skiprows=1, ndmin=2)\n\
                 err = np.abs(got - want[:, 1:]).max() / np.abs(want[:, 1:]).max()\n\
                 same = int((got.argmax(1) == want[:, 0]).sum())\n\
                 print(f'{same} of {len(x)} predictions equal, outputs within {err:.2e}')\n\
                 sys.exit(0 if same == len(x) and err < 1e-5 else 1)";
    let run = Command::new(&python)
        .args(["-c", check, &onnx, &rows])
        .arg(&want)
        .output()
        .expect("runs python");
    let report = String::from_utf8_lossy(&run.stdout);
    println!("{report}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        run.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
