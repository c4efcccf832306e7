"""Checks modules exported with `nnspec export --to pytorch` against `nnspec eval --grad`.

    python3 tests/export/torch_check.py [NNSPEC]

(run with a Python that has torch and numpy, e.g. /work/bench-venv/bin/python; NNSPEC defaults
to target/debug/nnspec.) Exports every model of every spec in specs/ (a refused model is
listed with the construct the exporter names), then, for each exported one, draws parameters
and a batch of 3 examples (seeded), runs `nnspec eval --grad --json`, and compares `forward`,
every loss and its gradient (`backward`, with respect to the parameters the loss trains, as
one vector) in float64: the largest difference over the largest entry must be below 1e-9.
"""

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-9
BATCH = 3


def models():
    for spec in sorted((ROOT / "specs").glob("*.nn")):
        for line in spec.read_text().splitlines():
            words = line.split()
            if len(words) > 1 and words[0] == "model":
                yield spec, words[1].split("[")[0].split("{")[0]


def error(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(got.reshape(want.shape) - want))) / max(float(np.max(np.abs(want))), 1e-300)


def book(value):
    rows, cols = value.shape
    if (rows, cols) == (1, 1):
        return float(value[0, 0])
    return value[:, 0].tolist() if cols == 1 else value.tolist()


def check(nnspec, spec, model, module_path, work, rng):
    loader = importlib.util.spec_from_file_location(module_path.stem, module_path)
    m = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(m)
    net = m.Model()
    params = {n: rng.normal(0.0, 0.5, shape) for n, shape in m.PARAMS.items()}
    net.load_spec_params({n: torch.tensor(v) for n, v in params.items()})
    inputs, inputs_json = {}, {}
    for name, (rows, per) in m.INPUTS.items():
        shape = (rows, per * BATCH)
        if name in m.LABELS:
            lo, count = m.LABELS[name]
            v = rng.integers(lo, lo + count, shape)
            inputs_json[name] = v[0].tolist() if (rows, per) == (1, 1) else v.tolist()
        else:
            v = rng.normal(0.0, 1.0, shape)
            inputs_json[name] = v.tolist()
        inputs[name] = torch.tensor(v)
    (work / "p.json").write_text(json.dumps({n: book(v) for n, v in params.items()}))
    (work / "i.json").write_text(json.dumps(inputs_json))
    run = subprocess.run([nnspec, "eval", str(spec), "--model", model, "--params", str(work / "p.json"),
                          "--inputs", str(work / "i.json"), "--grad", "--json"], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr)
    want = json.loads(run.stdout)
    worst = 0.0
    if hasattr(m, "OUTPUT"):
        value = want["outputs"][m.OUTPUT]
        worst = max(worst, error(net(inputs).detach(), value))
    losses = want.get("losses") or ({next(iter(m.LOSSES)): want["loss"]} if m.LOSSES else {})
    trained = {}
    for name, names in m.TRAINS.items():
        for p in names:
            trained.setdefault(p, []).append(name)
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
