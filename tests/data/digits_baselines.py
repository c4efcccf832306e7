"""Held-out negative log-likelihoods of simple density models of the built-in digits, the
yardsticks of the normalizing flow's tests (`tests/it/generative.rs`, `tests/it/cli.rs`) and
of `specs/README.md`: nats per digit of 64 dequantised grey levels (each level 0 … 16 plus
uniform noise of width one), the mean over five random 70/30 splits.

    target/venv/bin/python tests/data/digits_baselines.py

prints (numpy 2): a histogram of the 17 levels per pixel 107.7; Gaussians of the pixels,
diagonal 149.9 and full-covariance 130.9; Gaussians after the flow's logit (α = 0.05, the
logit's log-determinant counted), diagonal 128.4 and full-covariance 108.9.
"""

import gzip
from pathlib import Path

import numpy as np

ALPHA = 0.05


def gaussian_nll(train, test, full):
    """The mean NLL of `test` under the Gaussian fitted to `train` (rows are examples)."""
    mu = train.mean(0)
    cov = np.cov(train.T) + 1e-6 * np.eye(train.shape[1]) if full else np.diag(train.var(0))
    d = test - mu
    quad = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
    return np.mean(0.5 * (quad + np.linalg.slogdet(cov)[1] + train.shape[1] * np.log(2 * np.pi)))


def logit(x):
    """The flow's inverse element-wise layer on dequantised levels `x` ∈ [0, 17): h and the
    log-determinant of the forward layer's Jacobian at h, per example."""
    y = ALPHA + (1 - 2 * ALPHA) * x / 17
    return np.log(y) - np.log(1 - y), np.log(17 / (1 - 2 * ALPHA) * y * (1 - y)).sum(1)


def main():
    path = Path(__file__).resolve().parents[2] / "data" / "digits.csv.gz"
    rows = [line.strip().split(",") for line in gzip.open(path, "rt") if line.strip()]
    x = np.array(rows, dtype=float)[:, :64]
    out = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(x))
        n = int(0.7 * len(x))
        train, test = x[order[:n]], x[order[n:]]
        counts = np.stack([np.bincount(train[:, d].astype(int), minlength=17) + 1 for d in range(64)])
        p = counts / counts.sum(1, keepdims=True)
        hist = -np.mean(np.log(p[np.arange(64), test.astype(int)]).sum(1))
        tr = train + rng.uniform(size=train.shape)
        te = test + rng.uniform(size=test.shape)
        (htr, _), (hte, logdet) = logit(tr), logit(te)
        out.append([
            hist,
            gaussian_nll(tr, te, False),
            gaussian_nll(tr, te, True),
            gaussian_nll(htr, hte, False) + logdet.mean(),
            gaussian_nll(htr, hte, True) + logdet.mean(),
        ])
    names = ["histogram", "diagonal Gaussian", "full Gaussian", "logit diagonal", "logit full"]
    for name, v in zip(names, np.mean(out, 0)):
        print(f"{name}: {v:.1f} nats per digit, {v / 64 / np.log(2):.2f} bits per pixel")


if __name__ == "__main__":
    main()
