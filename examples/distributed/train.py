"""Data-parallel training of an exported nnspec classifier with JAX, across processes.

    nnspec export specs/deep.nn --to jax -o out/jax
    # one process
    python examples/distributed/train.py --module out/jax/deep_net.py --out out/dp1.safetensors
    # two processes on this machine (the same global batch, each takes half of it)
    python examples/distributed/train.py --module out/jax/deep_net.py --out out/dp2.safetensors \
        --coordinator localhost:12355 --num-processes 2 --process-id 0 &
    python examples/distributed/train.py --module out/jax/deep_net.py --out out/dp2.safetensors \
        --coordinator localhost:12355 --num-processes 2 --process-id 1
    nnspec predict specs/deep.nn --checkpoint out/dp2.safetensors --data rows.csv

The module is what `nnspec export SPEC --to jax` wrote (imported by path); the model must read
one feature vector and one class label (`input x : ℝ^{64}`, `target y : {0 … 9}` for the
digits). The data is a CSV (gzipped or not, no header): the features, then the class. The
digits embedded in nnspec (`data/digits.csv.gz`) are the default; their pixels 0..16 are
divided by 16, and that scale is written into the checkpoint's metadata
(`standardize_mean`, `standardize_std`) so that `nnspec predict` applies it to raw rows.

Training is plain SGD on the exported loss. nnspec's losses are sums over the batch, so with P
processes each one takes its B/P examples of the global batch of B, computes `jax.grad` of
the loss summed over them, and the P gradients are **summed** across processes (an all-gather,
`jax.experimental.multihost_utils.process_allgather`, then a sum in process order, the same on
every process); the step is `φ ← φ − lr · g / B`. That is the gradient of the loss summed over
the global batch, exactly what one process computes on all B examples, up to the order of
floating-point additions. The batches are drawn from a permutation of the training split seeded
by `--seed`, the same on every process, and the initial parameters are the module's `init` at
that seed, so every process holds the same parameters at every step (checked at the end).

With `--num-processes 1` (the default) no coordinator is needed. Several hosts: run one process
per host with `--coordinator HOST0:PORT` (host 0's address, reachable from the others),
`--num-processes` the number of hosts and `--process-id` each host's rank (docs/EXPORT.md).
"""

import argparse
import csv
import gzip
import importlib.util
import sys
from pathlib import Path

import jax
import numpy as np

DIGITS = Path(__file__).resolve().parents[2] / "data" / "digits.csv.gz"
SCALE = 16.0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--module", required=True, help="the file `nnspec export --to jax` wrote")
    p.add_argument("--out", required=True, help="the checkpoint to write (safetensors)")
    p.add_argument("--data", default=str(DIGITS), help="CSV of features then the class")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=64, help="the global batch, over all processes")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["f32", "f64"], default="f64")
    p.add_argument("--coordinator", default=None, help="HOST:PORT of process 0")
    p.add_argument("--num-processes", type=int, default=1)
    p.add_argument("--process-id", type=int, default=0)
    p.add_argument("--timeout", type=int, default=60,
                   help="seconds to wait for the other processes to join")
    args = p.parse_args(argv)
    if args.steps < 1 or args.batch < 1 or args.num_processes < 1:
        p.error("--steps, --batch and --num-processes must be positive")
    if args.batch % args.num_processes:
        p.error(f"--batch {args.batch} does not split into {args.num_processes} equal shards")
    if not 0 <= args.process_id < args.num_processes:
        p.error(f"--process-id must be in 0..{args.num_processes - 1}")
    for flag, path in [("--module", args.module), ("--data", args.data)]:
        if not Path(path).is_file():
            p.error(f"{flag} {path}: no such file")
    if args.num_processes > 1 and not args.coordinator:
        p.error("several processes need --coordinator HOST:PORT (process 0's address)")
    return args


def load_module(path):
    loader = importlib.util.spec_from_file_location(Path(path).stem, path)
    if loader is None:
        sys.exit(f"error: cannot import {path}")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def slots(m):
    """The model's feature input and class-label input, or an error naming what it reads."""
    features = [n for n in m.INPUTS if n not in m.LABELS]
    labels = [n for n in m.INPUTS if n in m.LABELS]
    if len(features) != 1 or len(labels) != 1 or m.INPUTS[features[0]][1] != 1:
        sys.exit(f"error: this script trains a classifier of one feature vector and one class "
                 f"label; the model reads {dict(m.INPUTS)}")
    if len(m.LOSSES) != 1:
        sys.exit(f"error: the model has {len(m.LOSSES)} losses; this script trains one")
    return features[0], labels[0]


def read_data(path, rows, labels):
    """The examples as (features rows × N, divided by SCALE; classes N), in file order."""
    opener = gzip.open if str(path).endswith(".gz") else open
    table = []
    with opener(path, "rt") as f:
        for line, r in enumerate(csv.reader(f), start=1):
            if not r:
                continue
            if len(r) != rows + 1:
                sys.exit(f"error: {path}:{line}: expected {rows} features and a class, "
                         f"found {len(r)} columns")
            try:
                table.append([float(v) for v in r])
            except ValueError as e:
                sys.exit(f"error: {path}:{line}: {e}")
    if not table:
        sys.exit(f"error: {path}: no examples")
    table = np.array(table)
    y = table[:, -1].astype(np.int64)
    lo, count = labels
    if y.min() < lo or y.max() >= lo + count:
        sys.exit(f"error: {path}: a class outside {lo}..{lo + count - 1}")
    return table[:, :-1].T / SCALE, y


def global_batches(n, batch, steps, seed):
    """Each step's example indices: consecutive slices of seeded permutations of 0..n."""
    rng = np.random.default_rng(seed)
    order, out = np.empty(0, dtype=np.int64), []
    for _ in range(steps):
        while len(order) < batch:
            order = np.concatenate([order, rng.permutation(n)])
        out.append(order[:batch])
        order = order[batch:]
    return out


def across_processes(tree):
    """The sum of `tree` over the processes, in process order (the same on each)."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    gathered = multihost_utils.process_allgather(tree)
    return jax.tree_util.tree_map(lambda g: np.asarray(g).sum(axis=0), gathered)


def train(args, m, x, y, xs, ys):
    """SGD for `args.steps` steps; returns the parameters and the first and last global loss."""
    dtype = np.float64 if args.precision == "f64" else np.float32
    params = {k: jax.numpy.asarray(v, dtype) for k, v in m.init(jax.random.PRNGKey(args.seed)).items()}
    loss_fn = next(iter(m.LOSSES.values()))
    step_grad = jax.jit(jax.value_and_grad(loss_fn))
    shard = args.batch // args.num_processes
    first = last = None
    for t, idx in enumerate(global_batches(x.shape[1], args.batch, args.steps, args.seed)):
        mine = idx[args.process_id * shard:(args.process_id + 1) * shard]
        inputs = {xs: jax.numpy.asarray(x[:, mine], dtype), ys: y[mine]}
        loss, grads = step_grad(params, inputs)
        loss, grads = across_processes((np.asarray(loss), jax.tree_util.tree_map(np.asarray, grads)))
        params = {k: params[k] - args.lr * jax.numpy.asarray(grads[k], dtype) / args.batch
                  for k in params}
        mean = float(loss) / args.batch
        first = mean if first is None else first
        last = mean
        if jax.process_index() == 0 and (t % 50 == 0 or t == args.steps - 1):
            print(f"step {t + 1}: mean loss {mean:.6f}", flush=True)
    return params, first, last


def same_everywhere(params):
    """Whether every process holds bit-identical parameters."""
    if jax.process_count() == 1:
        return True
    from jax.experimental import multihost_utils

    gathered = multihost_utils.process_allgather(params)
    return all(bool((np.asarray(g) == np.asarray(g)[0]).all()) for g in gathered.values())


def main(argv=None):
    args = parse_args(argv)
    if args.precision == "f64":
        jax.config.update("jax_enable_x64", True)
    # The inputs are checked before joining the others, so that bad ones stop every process
    # here (the others time out waiting) rather than in a collective.
    m = load_module(args.module)
    xs, ys = slots(m)
    x, y = read_data(args.data, m.INPUTS[xs][0], m.LABELS[ys])
    if args.num_processes > 1:
        jax.distributed.initialize(coordinator_address=args.coordinator,
                                   num_processes=args.num_processes,
                                   process_id=args.process_id,
                                   initialization_timeout=args.timeout)
    params, first, last = train(args, m, x, y, xs, ys)
    if not same_everywhere(params):
        sys.exit("error: the processes' parameters differ")
    if jax.process_index() == 0:
        f = jax.jit(m.apply)(params, {xs: jax.numpy.asarray(x), ys: y})
        accuracy = float(np.mean(np.asarray(f).argmax(axis=0) + m.LABELS[ys][0] == y))
        meta = {"standardize_mean": ",".join(["0"] * x.shape[0]),
                "standardize_std": ",".join([f"{SCALE:g}"] * x.shape[0])}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        m.save({k: np.asarray(v) for k, v in params.items()}, args.out, metadata=meta)
        print(f"{jax.process_count()} process(es), {args.steps} steps of {args.batch}: "
              f"mean loss {first:.6f} -> {last:.6f}, accuracy on all {len(y)} examples "
              f"{accuracy:.4f}; wrote {args.out}", flush=True)
    if args.num_processes > 1:
        jax.distributed.shutdown()


if __name__ == "__main__":
    main()
