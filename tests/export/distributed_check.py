"""Data-parallel training (`examples/distributed/train.py`) against one process, in float64.

    python tests/export/distributed_check.py NNSPEC SPEC MODULE SEED ONE TWO CSV WORK

ONE and TWO are the checkpoints the script wrote with one process and with two, from the same
seed, global batch and number of steps; MODULE is what `nnspec export SPEC --to jax` wrote and
CSV the gzipped digits (64 pixels 0..16, then the class).
1. The parameters of the two runs agree to 1e-12 relative (the largest difference over the
   largest entry, all parameters as one vector). The processes sum their shards' gradients,
   so the only difference from one process is the order in which the 64 examples'
   contributions are added (two sums of 32, then their sum): a few units in the last place
   of each step's gradient, which 20 steps of SGD do not amplify beyond that bound.
2. The training did something: the mean loss over the data at TWO's parameters is below the
   loss at the module's `init` at SEED, where both runs started.
3. `nnspec predict SPEC --checkpoint TWO` on 20 raw rows equals the module's `apply` at TWO's
   parameters on the same rows divided by 16 (the scale the script stores in the
   checkpoint's metadata) to 1e-9, and predicts the same classes.
Exits 1 on failure.
"""

import gzip
import sys
from pathlib import Path

import jax
import numpy as np

from common import error, load_module, predict

jax.config.update("jax_enable_x64", True)
SAME_RUN = 1e-12
PREDICT = 1e-9


def main():
    nnspec, spec, module_path, seed, one, two, data, work = sys.argv[1:9]
    m = load_module(module_path)
    p1, p2 = m.load(one), m.load(two)
    v1 = np.concatenate([np.ravel(p1[k]) for k in m.PARAMS])
    v2 = np.concatenate([np.ravel(p2[k]) for k in m.PARAMS])
    e1 = error(v2, v1)
    print(f"two processes vs one: max relative difference {e1:.3e} "
          f"({int((v1 != v2).sum())} of {v1.size} entries differ)")

    with gzip.open(data, "rt") as f:
        table = np.loadtxt(f, delimiter=",", ndmin=2)
    inputs = {"x": table[:, :-1].T / 16.0, "y": table[:, -1].astype(np.int64)}
    start = m.init(jax.random.PRNGKey(int(seed)))
    before = float(m.loss_l(start, inputs)) / len(table)
    after = float(m.loss_l(p2, inputs)) / len(table)
    print(f"mean loss over the {len(table)} examples: {before:.6f} at init, {after:.6f} trained")

    few = Path(work) / "few.csv"
    few.write_text("".join(",".join(f"{v:g}" for v in row) + "\n" for row in table[:20]))
    want = predict(nnspec, spec, two, few)
    got = np.asarray(m.apply(p2, {"x": table[:20, :-1].T / 16.0, "y": inputs["y"][:20]}))
    e3 = error(got, want)
    same = int((got.argmax(axis=0) == want.argmax(axis=0)).sum())
    print(f"nnspec predict vs apply on 20 raw rows: max relative error {e3:.3e}, "
          f"{same} of 20 classes equal")

    ok = e1 <= SAME_RUN and after < before and e3 <= PREDICT and same == 20
    print("data-parallel ok" if ok else "data-parallel FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
