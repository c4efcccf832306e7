"""Checks modules exported with `nnspec export --to pytorch` against `nnspec eval --grad`.

    python3 tests/export/torch_check.py [NNSPEC]

(run with a Python that has torch and numpy, e.g. /work/bench-venv/bin/python; NNSPEC defaults
to target/debug/nnspec.) Exports every model of every spec in specs/ (a refused model is
listed with the construct the exporter names), then, for each exported one, draws parameters
and a batch of 3 examples (seeded), runs `nnspec eval --grad --json`, and compares `forward`,
every loss and its gradient (`backward`, with respect to the parameters the loss trains, as
one vector) in float64: the largest difference over the largest entry must be below 1e-9.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from common import draw, error, eval_losses, load_module, run_eval, trained_by

torch.set_default_dtype(torch.float64)
ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-9


def models():
    for spec in sorted((ROOT / "specs").glob("*.nn")):
        for line in spec.read_text().splitlines():
            words = line.split()
            if len(words) > 1 and words[0] == "model":
                yield spec, words[1].split("[")[0].split("{")[0]


def check(nnspec, spec, model, module_path, work, rng):
    m = load_module(module_path)
    net = m.Model()
    params, inputs, params_json, inputs_json = draw(m, rng)
    net.load_spec_params({n: torch.tensor(v) for n, v in params.items()})
    inputs = {n: torch.tensor(v) for n, v in inputs.items()}
    want = run_eval(nnspec, spec, model, params_json, inputs_json, work, True)
    worst = 0.0
    if hasattr(m, "OUTPUT"):
        value = want["outputs"][m.OUTPUT]
        worst = max(worst, error(net(inputs).detach(), value))
    losses = eval_losses(m, want)
    trained = trained_by(m)
    for name, method in m.LOSSES.items():
        net.zero_grad()
        value = getattr(net, method)(inputs)
        value.backward()
        worst = max(worst, error(value.detach(), losses[name]))
        got, ref = [], []
        for p, t in net.spec_params().items():
            if p in want.get("grads", {}) and trained.get(p) == [name]:
                g = t.grad if t.grad is not None else torch.zeros_like(t)
                got.append(g.detach().numpy().ravel())
                ref.append(np.ravel(np.asarray(want["grads"][p], dtype=np.float64)))
        if got:
            worst = max(worst, error(np.concatenate(got), np.concatenate(ref)))
    return worst


def main():
    nnspec = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target/debug/nnspec")
    rng = np.random.default_rng(20261206)
    failed = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for spec, model in models():
            out = work / spec.stem
            run = subprocess.run([nnspec, "export", str(spec), "--model", model, "--to", "pytorch", "-o", str(out)],
                                 capture_output=True, text=True)
            label = f"{spec.name} {model}"
            if run.returncode != 0:
                print(f"refused {label}: {run.stderr.strip()[:160]}")
                continue
            checked += 1
            try:
                worst = check(nnspec, spec, model, Path(run.stdout.strip()), work, rng)
            except Exception as e:  # noqa: BLE001 - reported, then the run fails
                print(f"FAIL {label}: {type(e).__name__}: {e}")
                failed += 1
                continue
            ok = worst <= TOLERANCE
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {label}: max relative error {worst:.3e}")
    print(f"{checked - failed} of {checked} exported models match nnspec eval to {TOLERANCE}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
