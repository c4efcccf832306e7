"""Checks exported JAX modules against `nnspec eval --grad`, in float64.

    python tests/export/jax_check.py NNSPEC MANIFEST

MANIFEST is a JSON list of {"spec", "model", "module"}: a spec file, a model of it and the
module `nnspec export --to jax` wrote for it. For each, the script draws parameters and a batch
of inputs (seeded), writes them as `nnspec eval` reads them (docs/EVAL.md), runs
`nnspec eval --grad --json`, and compares the model function's value, every loss, and the
gradient of each loss with respect to the parameters it trains (`jax.grad` of the exported
loss) with eval's. The error of a value is the largest entry-wise difference over the value's
largest entry: a relative error in the maximum norm, the gradient taken as one vector over all
the parameters a loss trains (a gradient that is zero in exact arithmetic, such as that of the
keys' bias in attention, is compared at the scale of the others); every one must be below 1e-9. Prints one line per model and exits 1 if
any comparison fails.
"""

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

TOLERANCE = 1e-9
TIMES = {"eval": 0.0}
BATCH = 3


def load_module(path):
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def book_param(value):
    """A parameter in eval's JSON shape: a scalar a number, a vector a flat list."""
    rows, cols = value.shape
    if (rows, cols) == (1, 1):
        return float(value[0, 0])
    if cols == 1:
        return value[:, 0].tolist()
    return value.tolist()


def draw(module, rng):
    """Parameters and one batch of inputs, in the module's layout and in eval's JSON."""
    params = {n: rng.normal(0.0, 0.5, shape) for n, shape in module.PARAMS.items()}
    inputs, inputs_json = {}, {}
    for name, (rows, per) in module.INPUTS.items():
        shape = (rows, per * BATCH)
        if name in module.LABELS:
            lo, count = module.LABELS[name]
            value = rng.integers(lo, lo + count, shape)
            inputs[name] = value
            inputs_json[name] = value[0].tolist() if rows == 1 and per == 1 else value.tolist()
        else:
            value = rng.normal(0.0, 1.0, shape)
            inputs[name] = value
            inputs_json[name] = value.tolist()
    params_json = {n: book_param(v) for n, v in params.items()}
    return params, inputs, params_json, inputs_json


def error(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    got = got.reshape(want.shape)
    scale = max(float(np.max(np.abs(want))), 1e-300)
    return float(np.max(np.abs(got - want))) / scale


def check(nnspec, entry, work, rng):
    module = load_module(entry["module"])
    params, inputs, params_json, inputs_json = draw(module, rng)
    pj, ij = work / "params.json", work / "inputs.json"
    pj.write_text(json.dumps(params_json))
    ij.write_text(json.dumps(inputs_json))
    t0 = time.monotonic()
    run = subprocess.run(
        [nnspec, "eval", entry["spec"], "--model", entry["model"], "--params", str(pj),
         "--inputs", str(ij), "--grad", "--json"],
        capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"nnspec eval failed: {run.stderr}")
    want = json.loads(run.stdout)
    TIMES["eval"] += time.monotonic() - t0
    worst = 0.0
    if hasattr(module, "apply"):
        value = want["outputs"][module.OUTPUT]
        worst = max(worst, error(jax.jit(module.apply)(params, inputs), value))
    if not module.LOSSES:
        return worst
    losses = want.get("losses") or {next(iter(module.LOSSES)): want["loss"]}
    # A parameter trained by two losses has one entry in eval's `grads` (the last loss's).
    trained = {}
    for name, names in module.TRAINS.items():
        for p in names:
            trained.setdefault(p, []).append(name)
    for name, fn in module.LOSSES.items():
        value, grads = jax.jit(jax.value_and_grad(fn))(params, inputs)
        worst = max(worst, error(value, losses[name]))
        got, ref = [], []
        for p, g in grads.items():
            if p in want.get("grads", {}) and trained.get(p) == [name]:
                got.append(np.ravel(g))
                ref.append(np.ravel(np.asarray(want["grads"][p], dtype=np.float64)))
        if got:
            worst = max(worst, error(np.concatenate(got), np.concatenate(ref)))
    return worst


def main():
    nnspec, manifest = sys.argv[1], sys.argv[2]
    entries = json.loads(Path(manifest).read_text())
    rng = np.random.default_rng(20261206)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for entry in entries:
            label = f"{entry['spec']} {entry['model']}"
            try:
                start = time.monotonic()
                worst = check(nnspec, entry, Path(tmp), rng)
                took = time.monotonic() - start
            except Exception as e:  # noqa: BLE001 - reported, then the run fails
                print(f"FAIL {label}: {type(e).__name__}: {e}")
                failed += 1
                continue
            ok = worst <= TOLERANCE
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {label}: max relative error {worst:.3e} ({took:.1f} s)")
    print(f"nnspec eval took {TIMES['eval']:.1f} s in all")
    print(f"{len(entries) - failed} of {len(entries)} models match nnspec eval to {TOLERANCE}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
