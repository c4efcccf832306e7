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

import json
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from common import draw, error, eval_losses, load_module, run_eval, trained_by

jax.config.update("jax_enable_x64", True)

TOLERANCE = 1e-9
TIMES = {"eval": 0.0}


def check(nnspec, entry, work, rng):
    module = load_module(entry["module"])
    params, inputs, params_json, inputs_json = draw(module, rng)
    t0 = time.monotonic()
    want = run_eval(nnspec, entry["spec"], entry["model"], params_json, inputs_json, work, True)
    TIMES["eval"] += time.monotonic() - t0
    worst = 0.0
    if hasattr(module, "apply"):
        value = want["outputs"][module.OUTPUT]
        worst = max(worst, error(jax.jit(module.apply)(params, inputs), value))
    losses = eval_losses(module, want)
    # A parameter trained by two losses has one entry in eval's `grads` (the last loss's).
    trained = trained_by(module)
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
