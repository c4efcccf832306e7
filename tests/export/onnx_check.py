"""Checks ONNX files written by `nnspec export --to onnx` against `nnspec eval`, in float64.

    python tests/export/onnx_check.py NNSPEC MANIFEST

MANIFEST is a JSON list of {"spec", "model", "onnx", "params", "inputs"}: a spec file, a model
of it, the ONNX file `nnspec export --to onnx --precision f64` wrote for it, the names of its
parameters, and each input slot (name, rows, columns per example, label set or null). For
each, the script validates the file with the `onnx` checker, reads the parameters from its
initialisers, draws a batch of inputs (seeded), runs `nnspec eval --json` at those parameters
and inputs, and runs the file in onnxruntime on the same inputs, one example per row as ONNX
models take them. The model function's values must agree to 1e-9 relative to their largest
entry. Prints one line per model and exits 1 if any comparison fails.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from common import draw_input, error, eval_json, run_eval

TOLERANCE = 1e-9


def check(nnspec, entry, work, rng):
    model = onnx.load(entry["onnx"])
    onnx.checker.check_model(model, full_check=True)
    initial = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    params = {name: eval_json(initial[name]) for name in entry["params"]}
    feeds, inputs = {}, {}
    graph_inputs = {i.name for i in model.graph.input}
    for slot in entry["inputs"]:
        value, inputs[slot["name"]] = draw_input(rng, slot["rows"], slot["per"], slot["labels"])
        if slot["name"] in graph_inputs:
            feeds[slot["name"]] = np.ascontiguousarray(value.T)
    want = run_eval(nnspec, entry["spec"], entry["model"], params, inputs, work, False)
    want = np.asarray(want["outputs"][model.graph.output[0].name], dtype=np.float64)
    session = ort.InferenceSession(model.SerializeToString())
    got = session.run(None, feeds)[0].T
    return error(got, want)


def main():
    nnspec, manifest = sys.argv[1], sys.argv[2]
    entries = json.loads(Path(manifest).read_text())
    rng = np.random.default_rng(20261207)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for entry in entries:
            label = f"{entry['spec']} {entry['model']}"
            try:
                worst = check(nnspec, entry, Path(tmp), rng)
            except Exception as e:  # noqa: BLE001 - reported, then the run fails
                print(f"FAIL {label}: {type(e).__name__}: {e}")
                failed += 1
                continue
            ok = worst <= TOLERANCE
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {label}: max relative error {worst:.3e}")
    print(f"{len(entries) - failed} of {len(entries)} ONNX models match nnspec eval to {TOLERANCE}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
