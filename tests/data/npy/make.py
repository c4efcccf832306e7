"""Writes the .npy fixtures of nnspec's tests with NumPy (run once; the files are committed).

    python3 -m venv target/venv && target/venv/bin/pip install numpy
    target/venv/bin/python tests/data/npy/make.py
"""

import csv
import pathlib

import numpy as np

here = pathlib.Path(__file__).parent
root = here.parent.parent.parent

with open(root / "data" / "iris.csv") as f:
    rows = list(csv.reader(f))[1:]
x = np.array([[float(c) for c in r[:4]] for r in rows])
y = np.array([int(r[4]) for r in rows])

# Features as float64 in C order (format 1.0); labels 1..3 as uint8, the spec's {1 … 3}.
np.save(here / "iris_x.npy", x)
np.save(here / "iris_y.npy", (y + 1).astype(np.uint8))
# The same features as float32, stored column by column, in format 2.0.
with open(here / "iris_x_fortran_v2.npy", "wb") as f:
    np.lib.format.write_array(f, np.asfortranarray(x.astype(np.float32)), version=(2, 0))
# Labels 0..2 as int64, one below the spec's set.
np.save(here / "iris_y0.npy", y.astype(np.int64))

# Twelve examples of two features, with two binary labels each (a vector {0, 1}^2) as bool.
t = np.arange(12)
np.save(here / "tags_x.npy", np.stack([t, 12 - t], axis=1).astype(np.float32))
tags = np.stack([t % 2, (t // 2) % 2], axis=1)
np.save(here / "tags_y.npy", tags.astype(bool))
# The same labels as int8 with a 7 at [4, 1].
bad = tags.astype(np.int8)
bad[4, 1] = 7
np.save(here / "tags_y_bad.npy", bad)

# A folder of graphs, one file per input of a graph network (`specs/gcn.nn` with N = 4,
# D = 1): node embeddings X (12, 1·4) all ones, adjacency A (12, 4·4), each row a matrix
# column by column (A is symmetric, so its rows read alike), and labels y: 1 for a cycle
# through the four nodes, 0 for a path.
graphs = here / "graphs"
graphs.mkdir(exist_ok=True)
rng = np.random.default_rng(5)
xs, adj, labels = [], [], []
for k in range(12):
    order = rng.permutation(4)
    a = np.zeros((4, 4))
    edges = 4 if k % 2 else 3
    for i in range(edges):
        u, v = order[i], order[(i + 1) % 4]
        a[u, v] = a[v, u] = 1.0
    xs.append(np.ones((1, 4)))
    adj.append(a)
    labels.append(k % 2)
flat = lambda ms: np.stack([m.T.reshape(-1) for m in ms])  # each matrix column by column
np.save(graphs / "X.npy", flat(xs))
np.save(graphs / "A.npy", flat(adj).astype(np.float32))
np.save(graphs / "y.npy", np.array(labels, dtype=np.int64))
