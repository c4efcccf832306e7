"""Checkpoints both ways between nnspec and an exported JAX module, in float64.

    python tests/export/checkpoint_check.py NNSPEC SPEC MODULE CHECKPOINT CSV WORK

CHECKPOINT is what `nnspec train SPEC --standardize none` wrote, MODULE what
`nnspec export SPEC --to jax` wrote, CSV a gzipped CSV of labelled examples (features, then
the label), of which the first 20 are written to WORK/few.csv for both sides to read.
1. `load(CHECKPOINT)` in JAX: `apply` on the CSV's examples equals `nnspec predict` with that
   checkpoint on the same file.
2. One gradient step in JAX, `save(params, path, metadata(CHECKPOINT))`: `nnspec predict` with
   the new checkpoint equals `apply` at the new parameters (and differs from step 1's).
Both to 1e-9 relative (the largest difference over the largest output). Exits 1 on failure.
"""

import gzip
import sys
from pathlib import Path

import jax
import numpy as np

from common import error, load_module, predict

jax.config.update("jax_enable_x64", True)
TOLERANCE = 1e-9


def main():
    nnspec, spec, module_path, checkpoint, data, work = sys.argv[1:7]
    m = load_module(module_path)
    with gzip.open(data, "rt") as f:
        few = [next(f) for _ in range(20)]
    data = str(Path(work) / "few.csv")
    Path(data).write_text("".join(few))
    table = np.loadtxt(data, delimiter=",", ndmin=2)
    inputs = {"x": table[:, :-1].T, "y": table[:, -1].astype(np.int64)}

    params = m.load(checkpoint)
    e1 = error(m.apply(params, inputs), predict(nnspec, spec, checkpoint, data))
    print(f"nnspec train → JAX load: apply vs nnspec predict, max relative error {e1:.3e}")

    grads = jax.grad(m.loss_l)(params, inputs)
    stepped = {k: params[k] - 0.1 * grads[k] for k in params}
    saved = str(Path(work) / "from_jax.safetensors")
    m.save(stepped, saved, metadata=m.metadata(checkpoint))
    want = predict(nnspec, spec, saved, data)
    e2 = error(m.apply(stepped, inputs), want)
    moved = error(m.apply(params, inputs), want)
    print(f"JAX save → nnspec predict: apply vs nnspec predict, max relative error {e2:.3e}"
          f" (the step moved the outputs by {moved:.3e})")
    ok = e1 <= TOLERANCE and e2 <= TOLERANCE and moved > 1e-6
    print("round trip ok" if ok else "round trip FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
