"""What the export checks share: importing a module by path, drawing parameters and inputs in
nnspec's layout and in `nnspec eval`'s JSON (docs/EVAL.md), running `nnspec eval` and
`nnspec predict`, and the relative error they are compared by. Only numpy is imported here, so
that the JAX, ONNX and PyTorch checks can each use it in their own venv.
"""

import csv
import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np

BATCH = 3


def load_module(path):
    """The Python module at `path`, imported under its file's stem."""
    loader = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def eval_json(value):
    """A `rows × cols` parameter in eval's JSON shape: a scalar a number, a vector a flat list."""
    rows, cols = value.shape
    if (rows, cols) == (1, 1):
        return float(value[0, 0])
    if cols == 1:
        return value[:, 0].tolist()
    return value.tolist()


def draw_input(rng, rows, per, labels, batch=BATCH, law=None):
    """A batch of one input (`rows × per·batch`; class labels drawn from the set `labels`,
    `(lo, count)`; a noise input from its `law`, a `NOISE` entry; otherwise normal numbers)
    and the same values in eval's JSON."""
    shape = (rows, per * batch)
    if labels:
        lo, count = labels
        value = rng.integers(lo, lo + count, shape)
        return value, (value[0].tolist() if (rows, per) == (1, 1) else value.tolist())
    if law and law[0] == "uniform":
        value = rng.uniform(law[1], law[2], shape)
    elif law and law[0] == "bernoulli":
        value = (rng.uniform(size=shape) < law[1]).astype(np.float64)
    elif law and law[0] == "normal":
        value = rng.normal(law[1], np.sqrt(law[2]), shape)
    else:
        value = rng.normal(0.0, 1.0, shape)
    return value, value.tolist()


def draw(module, rng):
    """Parameters and one batch of inputs for an exported Python module, in its layout (numpy)
    and in eval's JSON: `(params, inputs, params_json, inputs_json)`."""
    params = {}
    for n, shape in module.PARAMS.items():
        if n in module.LABELS:
            # A table of labels (a policy's action per state): each entry one of them.
            lo, count = module.LABELS[n]
            params[n] = rng.integers(lo, lo + count, shape).astype(float)
        else:
            params[n] = rng.normal(0.0, 0.5, shape)
    inputs, inputs_json = {}, {}
    for name, (rows, per) in module.INPUTS.items():
        inputs[name], inputs_json[name] = draw_input(
            rng, rows, per, module.LABELS.get(name), law=getattr(module, "NOISE", {}).get(name)
        )
    params_json = {n: eval_json(v) for n, v in params.items()}
    return params, inputs, params_json, inputs_json


def run_eval(nnspec, spec, model, params_json, inputs_json, work, grad):
    """`nnspec eval SPEC --model MODEL --json` (with `--grad` when `grad`) at the given
    parameters and inputs, written to `work`: its parsed output."""
    work = Path(work)
    (work / "params.json").write_text(json.dumps(params_json))
    (work / "inputs.json").write_text(json.dumps(inputs_json))
    cmd = [nnspec, "eval", str(spec), "--model", model, "--params", str(work / "params.json"),
           "--inputs", str(work / "inputs.json"), "--json"]
    run = subprocess.run(cmd + (["--grad"] if grad else []), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"nnspec eval failed: {run.stderr}")
    return json.loads(run.stdout)


def trained_by(module):
    """Each parameter's losses (the inverse of the module's `TRAINS`)."""
    out = {}
    for name, names in module.TRAINS.items():
        for p in names:
            out.setdefault(p, []).append(name)
    return out


def eval_losses(module, want):
    """Each loss's value in eval's output, by the module's loss names."""
    if not module.LOSSES:
        return {}
    return want.get("losses") or {next(iter(module.LOSSES)): want["loss"]}


def error(got, want):
    """The largest entry-wise difference over the largest entry of `want` (relative, in the
    maximum norm), `got` reshaped to `want`'s shape."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    got = got.reshape(want.shape)
    scale = max(float(np.max(np.abs(want))), 1e-300)
    return float(np.max(np.abs(got - want))) / scale


def predict(nnspec, spec, checkpoint, data):
    """`nnspec predict SPEC --checkpoint CHECKPOINT --data DATA`'s outputs (its `f…` columns),
    one column per example."""
    run = subprocess.run([nnspec, "predict", str(spec), "--checkpoint", str(checkpoint),
                          "--data", str(data)], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"nnspec predict failed: {run.stderr}")
    rows = list(csv.reader(run.stdout.splitlines()))
    cols = [i for i, h in enumerate(rows[0]) if h.startswith("f")]
    return np.array([[float(r[i]) for i in cols] for r in rows[1:]]).T
