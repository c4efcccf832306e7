#!/usr/bin/env python3
"""Expected values of the book-form corpus, computed with numpy from the book's formulas.

Each function below builds the fixed inputs and parameters of one spec of this folder and
computes, directly from the equation the spec cites, the values its named quantities must
take. Running the script rewrites every `<spec>.json` beside its `<spec>.nn`:

    python3 -m venv target/venv && target/venv/bin/pip install numpy
    target/venv/bin/python tests/book/values.py

Nothing here reads or runs nnspec. The data layout is the one of `nnspec eval`
(docs/EVAL.md): a batch of B examples of a vector in D rows of B numbers, a per-example
scalar as a list of B numbers, a parameter vector as a flat list, a matrix as a list of rows.
"""

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPECS = {}


def spec(name):
    """Registers the function computing the data file of `<name>.nn`."""

    def register(fn):
        SPECS[name] = fn
        return fn

    return register


def rng(seed):
    return np.random.default_rng(seed)


def draw(g, *shape, scale=1.0):
    """Uniform in [-scale, scale), rounded to two decimals so the data files stay readable."""
    return np.round(g.uniform(-scale, scale, size=shape), 2)


def relu(z):
    return np.maximum(z, 0.0)


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    """Column by column (one column per example)."""
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=0)


def normal_density(y, mu, var):
    return np.exp(-((y - mu) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


def as_json(v):
    """numpy values in the layout of docs/EVAL.md."""
    if isinstance(v, dict):
        return {k: as_json(x) for k, x in v.items()}
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return float(a)
    if a.ndim == 2 and a.shape[1] == 1:
        return a[:, 0].tolist()  # a D×1 matrix is read as the vector ℝ^{D}
    return a.tolist()


def scalar_params(g, names, scale=1.0):
    return {n: float(draw(g, scale=scale)) for n in names}


# ---------------------------------------------------------------- chapter 2


def linear_data(seed, batch=4):
    g = rng(seed)
    x, y = draw(g, batch, scale=2.0), draw(g, batch, scale=2.0)
    p = {"φ_0": 0.4, "φ_1": -0.7}
    return x, y, p


@spec("2.4_linear_regression")
def linear_regression():
    x, y, p = linear_data(1)
    f = p["φ_0"] + p["φ_1"] * x  # (2.4)
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}  # (2.5)


@spec("2.5_least_squares_expanded")
def least_squares_expanded():
    x, y, p = linear_data(2)
    return {"x": x, "y": y}, p, {"L": np.sum((p["φ_0"] + p["φ_1"] * x - y) ** 2)}


# ---------------------------------------------------------------- chapter 3


@spec("3.1_shallow")
def shallow():
    g = rng(3)
    x, y = draw(g, 5, scale=2.0), draw(g, 5)
    names = ["φ_0", "φ_1", "φ_2", "φ_3"]
    names += [f"θ_{{{d}{j}}}" for d in (1, 2, 3) for j in (0, 1)]
    p = scalar_params(g, names)
    t = lambda d, j: p[f"θ_{{{d}{j}}}"]  # noqa: E731
    f = p["φ_0"] + sum(p[f"φ_{d}"] * relu(t(d, 0) + t(d, 1) * x) for d in (1, 2, 3))  # (3.1)
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}


@spec("3.5_hidden_unit_family")
def hidden_unit_family():
    g = rng(4)
    x, y = draw(g, 5, scale=2.0), draw(g, 5)
    names = ["φ_0"] + [n for d in (1, 2, 3) for n in (f"φ_{d}", f"θ_{{{d}0}}", f"θ_{{{d}1}}")]
    p = scalar_params(g, names)
    h = {d: relu(p[f"θ_{{{d}0}}"] + p[f"θ_{{{d}1}}"] * x) for d in (1, 2, 3)}  # (3.5)
    f = p["φ_0"] + sum(p[f"φ_{d}"] * h[d] for d in (1, 2, 3))  # (3.6)
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}


@spec("3.8_two_outputs")
def two_outputs():
    g = rng(5)
    x, y = draw(g, 4, scale=2.0), draw(g, 2, 4)
    names = [f"θ_{{{d}{j}}}" for d in range(1, 5) for j in (0, 1)]
    names += [f"φ_{{{j}{d}}}" for j in (1, 2) for d in range(0, 5)]
    p = scalar_params(g, names)
    h = {d: relu(p[f"θ_{{{d}0}}"] + p[f"θ_{{{d}1}}"] * x) for d in range(1, 5)}  # (3.7)
    out = {
        j: p[f"φ_{{{j}0}}"] + sum(p[f"φ_{{{j}{d}}}"] * h[d] for d in range(1, 5)) for j in (1, 2)
    }  # (3.8)
    loss = np.sum((out[1] - y[0]) ** 2 + (out[2] - y[1]) ** 2)
    return {"x": x, "y": y}, p, {"f_1": out[1], "f_2": out[2], "L": loss}


@spec("3.9_two_inputs")
def two_inputs():
    g = rng(6)
    x, y = draw(g, 2, 4, scale=2.0), draw(g, 4)
    names = ["φ_0"]
    names += [n for d in (1, 2, 3) for n in (f"φ_{d}", f"θ_{{{d}0}}", f"θ_{{{d}1}}", f"θ_{{{d}2}}")]
    p = scalar_params(g, names)
    t = lambda d, j: p[f"θ_{{{d}{j}}}"]  # noqa: E731
    h = {d: relu(t(d, 0) + t(d, 1) * x[0] + t(d, 2) * x[1]) for d in (1, 2, 3)}  # (3.9)
    f = p["φ_0"] + sum(p[f"φ_{d}"] * h[d] for d in (1, 2, 3))  # (3.10)
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}


@spec("3.11_general_shallow")
def general_shallow():
    g = rng(7)
    d_i, d_h, d_o = 2, 3, 2
    x, y = draw(g, d_i, 4, scale=2.0), draw(g, d_o, 4)
    names = [f"θ_{{{d}0}}" for d in range(1, d_h + 1)]
    names += [f"θ_{{{d}{k}}}" for d in range(1, d_h + 1) for k in range(1, d_i + 1)]
    names += [f"φ_{{{j}{d}}}" for j in range(1, d_o + 1) for d in range(0, d_h + 1)]
    p = scalar_params(g, names)
    h = {
        d: relu(p[f"θ_{{{d}0}}"] + sum(p[f"θ_{{{d}{k}}}"] * x[k - 1] for k in range(1, d_i + 1)))
        for d in range(1, d_h + 1)
    }  # (3.11)
    f = {
        j: p[f"φ_{{{j}0}}"] + sum(p[f"φ_{{{j}{d}}}"] * h[d] for d in range(1, d_h + 1))
        for j in range(1, d_o + 1)
    }  # (3.12)
    loss = sum(np.sum((f[j] - y[j - 1]) ** 2) for j in range(1, d_o + 1))
    return {"x": x, "y": y}, p, {"f_1": f[1], "f_2": f[2], "L": loss}


def hard_swish(z):
    """Eq. 3.13, case by case."""
    return np.where(z < -3, 0.0, np.where(z > 3, z, z * (z + 3) / 6))


@spec("3.13_hardswish")
def hardswish():
    g = rng(8)
    x, y = np.array([-2.5, -0.7, 0.4, 1.9, 3.1]), draw(g, 5)
    p = {"θ_0": [0.5, -1.0, 0.2], "θ": [2.1, -1.7, 0.9], "φ_0": 0.3, "φ": [[0.8, -0.6, 1.2]]}
    h = hard_swish(np.array(p["θ_0"])[:, None] + np.array(p["θ"])[:, None] * x)  # (3.13)
    f = p["φ_0"] + (np.array(p["φ"]) @ h)[0]
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}


@spec("3.15_heaviside_rect")
def heaviside_rect():
    x = np.array([-1.3, -0.2, 0.35, 0.8, 1.6])
    p = {"θ_0": 0.1, "θ_1": 0.5}
    z = p["θ_0"] + p["θ_1"] * x
    heaviside = np.where(z < 0, 0.0, 1.0)  # (3.15)
    rect = np.where((z >= 0) & (z <= 1), 1.0, 0.0)
    return {"x": x}, p, {"f": heaviside + 2 * rect}


# ---------------------------------------------------------------- chapter 4


@spec("4.14_two_layers_vector")
def two_layers_vector():
    g = rng(9)
    x, y = draw(g, 4, scale=2.0), draw(g, 4)
    p = {
        "θ_0": draw(g, 3),
        "θ": draw(g, 3),
        "ψ_0": draw(g, 3),
        "Ψ": draw(g, 3, 3),
        "φ'_0": float(draw(g)),
        "φ'": draw(g, 1, 3),
    }
    h = relu(p["θ_0"][:, None] + p["θ"][:, None] * x)  # (4.14)
    h2 = relu(p["ψ_0"][:, None] + p["Ψ"] @ h)
    f = p["φ'_0"] + (p["φ'"] @ h2)[0]
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}


def layers(g, sizes):
    """β_k, Ω_k for consecutive layer sizes (a scalar bias for a single output)."""
    p = {}
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        p[f"β_{k}"] = draw(g, n_out) if n_out > 1 else float(draw(g))
        p[f"Ω_{k}"] = draw(g, n_out, n_in)
    return p


def bias(b):
    return np.atleast_1d(np.asarray(b, dtype=float))[:, None]


@spec("4.15_deep")
def deep():
    g = rng(10)
    x, y = draw(g, 2, 4, scale=2.0), draw(g, 2, 4)
    p = layers(g, [2, 3, 3, 3, 2])
    h = relu(bias(p["β_0"]) + p["Ω_0"] @ x)  # (4.15)
    for k in (1, 2):
        h = relu(bias(p[f"β_{k}"]) + p[f"Ω_{k}"] @ h)
    f = bias(p["β_3"]) + p["Ω_3"] @ h
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}


@spec("4.16_nested")
def nested():
    g = rng(11)
    x, y = draw(g, 2, 4, scale=2.0), draw(g, 4)
    p = layers(g, [2, 3, 3, 1])
    f = p["β_2"] + p["Ω_2"] @ relu(bias(p["β_1"]) + p["Ω_1"] @ relu(bias(p["β_0"]) + p["Ω_0"] @ x))
    return {"x": x, "y": y}, p, {"f": f[0], "L": np.sum((f[0] - y) ** 2)}


@spec("4.18_relu_rescaling")
def relu_rescaling():
    g = rng(12)
    x = draw(g, 2, 4, scale=2.0)
    p = layers(g, [2, 3, 3])
    l0, l1 = 2.0, 0.5
    b0, b1 = bias(p["β_0"]), bias(p["β_1"])
    rhs = l0 * l1 * relu(b1 / (l0 * l1) + p["Ω_1"] @ relu(b0 / l0 + p["Ω_0"] @ x))  # (4.18)
    lhs = relu(b1 + l1 * p["Ω_1"] @ relu(b0 + l0 * p["Ω_0"] @ x))
    assert np.allclose(lhs, rhs)  # the identity the equation states
    return {"x": x}, p, {"f": rhs, "L": np.sum(rhs)}


# ---------------------------------------------------------------- chapter 5


def shallow_scalar(seed, batch=4):
    """Inputs and parameters of the shallow net φ_0 + φ ReLU[θ_0 + θ x] (3 hidden units)."""
    g = rng(seed)
    x, y = draw(g, batch, scale=2.0), draw(g, batch)
    p = {"θ_0": draw(g, 3), "θ": draw(g, 3), "φ_0": float(draw(g)), "φ": draw(g, 1, 3)}
    f = p["φ_0"] + (p["φ"] @ relu(p["θ_0"][:, None] + p["θ"][:, None] * x))[0]
    return x, y, p, f


@spec("5.9_gaussian_nll")
def gaussian_nll():
    x, y, p, f = shallow_scalar(13)
    var = 0.8**2
    loss = -np.sum(np.log(normal_density(y, f, var)))  # (5.7), (5.9)
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


@spec("5.9_gaussian_nll_written_out")
def gaussian_nll_written_out():
    x, y, p, f = shallow_scalar(14)
    var = 0.8**2
    loss = -np.sum(np.log(1 / np.sqrt(2 * np.pi * var) * np.exp(-((y - f) ** 2) / (2 * var))))
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


@spec("5.10_gaussian_nll_expanded")
def gaussian_nll_expanded():
    x, y, p, f = shallow_scalar(15)
    var = 0.8**2
    loss = -np.sum(np.log(1 / np.sqrt(2 * np.pi * var)) - (y - f) ** 2 / (2 * var))  # (5.10)
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


def shallow_vector(seed, d_i, d_o, batch=4, y_scale=1.0):
    """Inputs x (d_i rows) and the parameters of β_1 + Ω_1 ReLU[β_0 + Ω_0 x], 3 hidden units."""
    g = rng(seed)
    x = draw(g, d_i, batch, scale=2.0)
    p = layers(g, [d_i, 3, d_o])
    f = bias(p["β_1"]) + p["Ω_1"] @ relu(bias(p["β_0"]) + p["Ω_0"] @ x)
    return g, x, p, f


@spec("5.11_least_squares")
def least_squares():
    g, x, p, f = shallow_vector(16, 2, 1)
    y = draw(g, 4)
    return {"x": x, "y": y}, p, {"f": f[0], "L": np.sum((y - f[0]) ** 2)}  # (5.11)


@spec("5.15_heteroscedastic")
def heteroscedastic():
    g, x, p, f = shallow_vector(17, 1, 2)
    y = draw(g, 4)
    mu, sd = f[0], f[1]  # (5.14)
    loss = -np.sum(np.log(1 / np.sqrt(2 * np.pi * sd**2)) - (y - mu) ** 2 / (2 * sd**2))  # (5.15)
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


@spec("5.14_variance_defined")
def variance_defined():
    g, x, p, f = shallow_vector(17, 1, 2)
    y = draw(g, 4)
    mu, var = f[0], f[1] ** 2  # (5.14)
    loss = -np.sum(np.log(normal_density(y, mu, var)))  # (5.7)
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


def bernoulli_nll(y, z):
    """Eq. 5.20 per example, with λ = sig[z] (5.18–5.19)."""
    return -(1 - y) * np.log(1 - sig(z)) - y * np.log(sig(z))


@spec("5.20_binary_cross_entropy")
def binary_cross_entropy():
    g, x, p, f = shallow_vector(18, 2, 1)
    y = np.array([0, 1, 1, 0])
    return {"x": x, "y": y}, p, {"f": f[0], "L": np.sum(bernoulli_nll(y, f[0]))}


def linear_classifier(seed, d_o, batch=4):
    g = rng(seed)
    x = draw(g, 2, batch, scale=2.0)
    p = {"β": draw(g, d_o), "Ω": draw(g, d_o, 2)}
    return g, x, p, bias(p["β"]) + p["Ω"] @ x


@spec("5.18_sigmoid_by_hand")
def sigmoid_by_hand():
    g = rng(19)
    x, y = draw(g, 2, 4, scale=2.0), np.array([1, 0, 1, 1])
    p = {"β": float(draw(g)), "ω": draw(g, 1, 2)}
    f = (p["β"] + p["ω"] @ x)[0]
    s = 1 / (1 + np.exp(-f))  # (5.18), written out again
    loss = np.sum(-(1 - y) * np.log(1 - s) - y * np.log(s))
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


@spec("5.24_softmax_cross_entropy")
def softmax_cross_entropy():
    g, x, p, f = linear_classifier(20, 3)
    y = np.array([2, 0, 1, 2])  # labels in {0 … K-1}
    loss = -np.sum(np.log(softmax(f)[y, np.arange(4)]))  # (5.24)
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


@spec("5.24_logsumexp")
def logsumexp():
    g, x, p, f = linear_classifier(21, 3)
    y = np.array([3, 1, 2, 1])  # labels in {1 … K}: f_{y_i} is row y_i - 1
    picked = f[y - 1, np.arange(4)]
    loss = -np.sum(picked - np.log(np.sum(np.exp(f), axis=0)))  # (5.24)
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


@spec("5.22_softmax_by_hand")
def softmax_by_hand():
    g, x, p, z = linear_classifier(22, 3)
    y = draw(g, 3, 4)
    f = np.exp(z) / np.sum(np.exp(z), axis=0)  # (5.22)
    out = {f"f_{k}": f[k - 1] for k in (1, 2, 3)}
    out["L"] = np.sum((f - y) ** 2)
    return {"x": x, "y": y}, p, out


def independent_binary(seed):
    g, x, p, f = linear_classifier(seed, 3)
    y = np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]])
    loss = np.sum(bernoulli_nll(y, f))  # (5.26): a sum over examples i and outputs d
    return {"x": x, "y": y}, p, {"f": f, "L": loss}


@spec("5.26_independent_binary")
def independent_binary_elementwise():
    return independent_binary(23)


@spec("5.26_sum_over_outputs")
def independent_binary_sum():
    return independent_binary(24)


# ---------------------------------------------------------------- chapters 6–9


@spec("6.5_per_example_loss")
def per_example_loss():
    x, y, p = linear_data(25)
    f = p["φ_0"] + p["φ_1"] * x  # (6.4)
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}  # (6.5)


@spec("6.8_gabor")
def gabor():
    g = rng(26)
    x, y = draw(g, 5, scale=15.0), draw(g, 5)
    p = {"φ_0": 0.3, "φ_1": 12.5}
    u = p["φ_0"] + 0.06 * p["φ_1"] * x
    f = np.sin(u) * np.exp(-(u**2) / 32.0)  # (6.8)
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}  # (6.9)


@spec("7.9_toy_chain")
def toy_chain():
    g = rng(27)
    x, y = draw(g, 3), draw(g, 3)
    p = {}
    for k in range(4):
        p[f"β_{k}"] = float(draw(g, scale=0.5))
        p[f"ω_{k}"] = float(draw(g))
    f0 = p["β_0"] + p["ω_0"] * x  # (7.9)
    f1 = p["β_1"] + p["ω_1"] * np.sin(f0)
    f2 = p["β_2"] + p["ω_2"] * np.exp(f1)
    f3 = p["β_3"] + p["ω_3"] * np.cos(f2)
    return {"x": x, "y": y}, p, {"L": np.sum((f3 - y) ** 2)}


@spec("7.24_backprop_net")
def backprop_net():
    g = rng(28)
    x, y = draw(g, 2, 4, scale=2.0), draw(g, 4)
    p = layers(g, [2, 3, 3, 1])
    f = bias(p["β_0"]) + p["Ω_0"] @ x  # (7.24)
    for k in (1, 2):
        f = bias(p[f"β_{k}"]) + p[f"Ω_{k}"] @ relu(f)
    return {"x": x, "y": y}, p, {"f": f[0], "L": np.sum((y - f[0]) ** 2)}  # (7.36)


@spec("7.37_binary_per_example")
def binary_per_example():
    g = rng(29)
    x, y = draw(g, 2, 4, scale=2.0), np.array([0, 0, 1, 1])
    p = {"β": float(draw(g)), "ω": draw(g, 1, 2)}
    f = (p["β"] + p["ω"] @ x)[0]
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum(bernoulli_nll(y, f))}  # (7.37)


@spec("7.43_leaky_relu")
def leaky_relu():
    g = rng(30)
    x, y = draw(g, 5, scale=2.0), draw(g, 5)
    p = {"θ_0": draw(g, 3), "θ": draw(g, 3), "φ_0": float(draw(g)), "φ": draw(g, 1, 3)}
    z = p["θ_0"][:, None] + p["θ"][:, None] * x
    a = np.where(z < 0, 0.1 * z, z)  # (7.43)
    f = p["φ_0"] + (p["φ"] @ a)[0]
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((f - y) ** 2)}


@spec("7.44_composite")
def composite():
    x = np.array([-1.2, -0.3, 0.25, 0.6])
    y = np.exp(np.exp(x) + np.exp(x) ** 2) + np.sin(np.exp(x) + np.exp(x) ** 2)  # (7.44)
    return {"x": x}, {}, {"y": y, "g": y}


@spec("7.31_he_variance")
def he_variance():
    v = np.array([0.5, 1.0, 2.25])
    d_h = 4
    var_omega = 2 / d_h  # (7.32)
    return {"v": v}, {}, {"f": 0.5 * d_h * var_omega * v}  # (7.31)


@spec("8.2_error_decomposition")
def error_decomposition():
    g = rng(31)
    x, mu, y = draw(g, 4, scale=2.0), draw(g, 4), draw(g, 4)
    p = {"φ_0": 0.2, "φ_1": 0.9}
    f = p["φ_0"] + p["φ_1"] * x
    loss = np.sum((f - y) ** 2)  # (8.2): the expansion equals the squared error
    return {"x": x, "μ": mu, "y": y}, p, {"f": f, "L": loss}


def l2_net(seed):
    g, x, p, f = shallow_vector(seed, 2, 1)
    y = draw(g, 4)
    squares = sum(np.sum(np.asarray(v) ** 2) for v in p.values())
    return x, y, p, f[0], squares


@spec("9.5_l2")
def l2():
    x, y, p, f, squares = l2_net(32)
    return {"x": x, "y": y}, p, {"f": f, "L": np.sum((y - f) ** 2) + 0.1 * squares}  # (9.5)


@spec("9.23_l2_over_two_alpha")
def l2_over_two_alpha():
    g = rng(33)
    x, y = draw(g, 2, 4, scale=2.0), draw(g, 4)
    p = {"β": float(draw(g)), "ω": draw(g, 1, 2)}
    f = (p["β"] + p["ω"] @ x)[0]
    squares = p["β"] ** 2 + np.sum(p["ω"] ** 2)
    lam, alpha = 0.3, 0.5
    loss = np.sum((f - y) ** 2) + lam / (2 * alpha) * squares  # (9.23)
    return {"x": x, "y": y}, p, {"f": f, "L'": loss}


@spec("9.10_mean_loss")
def mean_loss():
    x, y, p = linear_data(34, batch=5)
    f = p["φ_0"] + p["φ_1"] * x
    return {"x": x, "y": y}, p, {"f": f, "L": np.mean((f - y) ** 2)}  # (9.10)


@spec("9.10_batch_mean_loss")
def batch_mean_loss():
    x, y, p = linear_data(35, batch=5)
    f = p["φ_0"] + p["φ_1"] * x
    return {"x": x, "y": y}, p, {"f": f, "L": np.mean((f - y) ** 2)}  # (9.10)


# ---------------------------------------------------------------- chapter 11


def batch_stats(h):
    """Eq. 11.7: per hidden unit (row), the mean and population standard deviation over the
    batch (columns)."""
    m = h.mean(axis=1, keepdims=True)
    s = np.sqrt(((h - m) ** 2).mean(axis=1, keepdims=True))
    return m, s


def batch_norm_data(seed, batch=5):
    g = rng(seed)
    x, y = draw(g, 3, batch, scale=2.0), draw(g, batch, scale=2.0)
    p = {"Ω": draw(g, 4, 3), "γ": draw(g, 4, 1, scale=2.0), "δ": draw(g, 4, 1),
         "ω": draw(g, 4, 1)}
    return x, y, p


@spec("11.7_batch_statistics")
def batch_statistics():
    g = rng(40)
    x, y = draw(g, 3, 5, scale=2.0), draw(g, 4, 5, scale=2.0)
    p = {"Ω": draw(g, 4, 3)}
    h = p["Ω"] @ x
    m, s = batch_stats(h)  # (11.7)
    f = (h - m) * s
    return {"x": x, "y": y}, p, {"m_h": m, "s_h": s, "f": f, "L": np.sum((f - y) ** 2)}


def batch_norm_net(x, y, p):
    eps = 1e-5
    h = p["Ω"] @ x
    m, s = batch_stats(h)  # (11.7)
    h1 = (h - m) / (s + eps)  # (11.8)
    h2 = p["γ"] * h1 + p["δ"]  # (11.9)
    f = p["ω"].T @ relu(h2)
    return m, s, h1, h2, f[0], np.sum((f[0] - y) ** 2)


@spec("11.9_batch_norm_written_out")
def batch_norm_written_out():
    x, y, p = batch_norm_data(41)
    m, s, h1, h2, f, loss = batch_norm_net(x, y, p)
    expected = {"m_h": m, "s_h": s, "h'": h1, "h''": h2, "f": f, "L": loss}
    return {"x": x, "y": y}, p, expected


@spec("11.9_batch_norm_builtin")
def batch_norm_builtin():
    x, y, p = batch_norm_data(42)
    _, _, _, h2, f, loss = batch_norm_net(x, y, p)
    return {"x": x, "y": y}, p, {"h''": h2, "f": f, "L": loss}


@spec("11.10_batch_norm_graph")
def batch_norm_graph():
    g = rng(43)
    z, y = draw(g, 6, scale=2.0), draw(g, 6, scale=2.0)
    p = {"γ": 1.3, "δ": -0.4}
    eps = 1e-5
    f1 = np.mean(z)  # 𝔼[z_i] over the batch
    f2 = z - f1
    f3 = f2**2
    f4 = np.mean(f3)
    f5 = np.sqrt(f4 + eps)
    f6 = 1 / f5
    f7 = f2 * f6
    z1 = f7 * p["γ"] + p["δ"]  # (11.10)
    expected = {"f_1": f1, "f_2": f2, "f_3": f3, "f_4": f4, "f_5": f5, "f_6": f6, "f_7": f7,
                "z'": z1, "L": np.sum((z1 - y) ** 2)}
    return {"z": z, "y": y}, p, expected


# ---------------------------------------------------------------- beyond chapter 9


@spec("12.9_scaled_dot_product")
def scaled_dot_product():
    return attention(36)


@spec("12.9_one_over_sqrt_dk")
def one_over_sqrt_dk():
    return attention(37)


def attention(seed):
    g = rng(seed)
    p = {"X": draw(g, 2, 3), "Ω_q": draw(g, 2, 2), "Ω_k": draw(g, 2, 2), "Ω_v": draw(g, 2, 2)}
    q, k, v = p["Ω_q"] @ p["X"], p["Ω_k"] @ p["X"], p["Ω_v"] @ p["X"]
    sa = v @ softmax(k.T @ q / math.sqrt(2))  # (12.9), D_q = 2
    return {}, p, {"Sa": sa, "L": np.sum(sa**2)}


@spec("12.6_values_per_example")
def values_per_example():
    g = rng(40)
    b, d, n, dv = 2, 3, 4, 2
    xs = [draw(g, d, n) for _ in range(b)]  # one D×N matrix of tokens per example
    ys = [draw(g, dv, n) for _ in range(b)]
    p = {"β_v": draw(g, dv), "Ω_v": draw(g, dv, d)}
    vs = [np.outer(p["β_v"], np.ones(n)) + p["Ω_v"] @ x for x in xs]  # (12.6)
    loss = sum(np.sum((relu(v) - y) ** 2) for v, y in zip(vs, ys))
    # A batch of matrices is the examples' columns side by side (docs/EVAL.md).
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {"V": side(vs), "L": loss}


@spec("10.6_matrix_entries")
def matrix_entries():
    g = rng(90)
    b, h, w = 3, 3, 4
    xs = [draw(g, h, w) for _ in range(b)]  # one H×W matrix per example
    y = draw(g, b)
    p = {"ω_1": float(draw(g)), "ω_2": float(draw(g)), "β": float(draw(g))}
    # x_{rc} is row r, column c, both counted from 1 as in the book.
    f = np.array([p["β"] + p["ω_1"] * x[0, 1] + p["ω_2"] * x[2, 3] * x[1, 0] for x in xs])
    loss = np.sum((f - y) ** 2) + sum(x[1, 2] for x in xs)
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "y": y}, p, {"f": f, "L": loss}


@spec("18.40_diffusion_loss")
def diffusion_loss():
    g = rng(91)
    b, d, t_steps, dh = 3, 3, 3, 4
    x = draw(g, d, b)
    eps = {t: draw(g, d, b) for t in range(1, t_steps + 1)}
    p = {}
    for t in range(1, t_steps + 1):
        p[f"β_{{0,{t}}}"] = draw(g, dh)
        p[f"Ω_{{0,{t}}}"] = draw(g, dh, d)
        p[f"β_{{1,{t}}}"] = draw(g, d)
        p[f"Ω_{{1,{t}}}"] = draw(g, d, dh)
    beta = {t: 0.05 + (t - 1) * (0.4 - 0.05) / (t_steps - 1) for t in range(1, t_steps + 1)}
    alpha = {t: np.prod([1 - beta[s] for s in range(1, t + 1)]) for t in beta}
    out, loss = {}, 0.0
    for t in beta:
        z = math.sqrt(alpha[t]) * x + math.sqrt(1 - alpha[t]) * eps[t]  # (18.30)
        h = relu(p[f"β_{{0,{t}}}"][:, None] + p[f"Ω_{{0,{t}}}"] @ z)
        gt = p[f"β_{{1,{t}}}"][:, None] + p[f"Ω_{{1,{t}}}"] @ h
        loss += np.sum((gt - eps[t]) ** 2)  # (18.40)
        out[f"z_{t}"], out[f"α_{t}"] = z, alpha[t]
    inputs = {"x": x, **{f"ε_{t}": eps[t] for t in eps}}
    return inputs, p, {**out, "L": loss}


@spec("18.31_sampling_chain")
def sampling_chain():
    g = rng(92)
    b, d, dh, t_steps = 3, 2, 3, 3
    p = {}
    for t in range(1, t_steps + 1):
        p[f"φ_{t}.β_0"], p[f"φ_{t}.Ω_0"] = draw(g, dh), draw(g, dh, d)
        p[f"φ_{t}.β_1"], p[f"φ_{t}.Ω_1"] = draw(g, d), draw(g, d, dh)
    net = lambda t, z: p[f"φ_{t}.β_1"][:, None] + p[f"φ_{t}.Ω_1"] @ relu(
        p[f"φ_{t}.β_0"][:, None] + p[f"φ_{t}.Ω_0"] @ z)
    beta = {t: 0.1 * t for t in range(1, t_steps + 1)}
    alpha = {t: np.prod([1 - beta[s] for s in range(1, t + 1)]) for t in beta}
    z = {t_steps: draw(g, d, b)}
    xi = {t: draw(g, d, b) for t in range(2, t_steps + 1)}
    for t in range(t_steps, 1, -1):  # Algorithm 18.2, t = T … 2
        mean = (z[t] - beta[t] / math.sqrt(1 - alpha[t]) * net(t, z[t])) / math.sqrt(1 - beta[t])
        z[t - 1] = mean + math.sqrt(beta[t]) * xi[t]
    x = (z[1] - beta[1] / math.sqrt(1 - alpha[1]) * net(1, z[1])) / math.sqrt(1 - beta[1])
    inputs = {f"z_{t_steps}": z[t_steps], **{f"ξ_{t}": xi[t] for t in xi}}
    return inputs, p, {"z_2": z[2], "z_1": z[1], "x": x}


@spec("12.9_self_attention_per_example")
def self_attention_per_example():
    g = rng(41)
    b, n, d, dq = 3, 3, 4, 2
    xs = [draw(g, d, n) for _ in range(b)]  # one D×N matrix of tokens per example
    ys = [draw(g, d, n) for _ in range(b)]
    p = {
        "β_v": draw(g, d), "Ω_v": draw(g, d, d),
        "β_q": draw(g, dq), "Ω_q": draw(g, dq, d),
        "β_k": draw(g, dq), "Ω_k": draw(g, dq, d),
    }
    ones = np.ones(n)
    vs = [np.outer(p["β_v"], ones) + p["Ω_v"] @ x for x in xs]  # (12.6)
    qs = [np.outer(p["β_q"], ones) + p["Ω_q"] @ x for x in xs]  # (12.6)
    ks = [np.outer(p["β_k"], ones) + p["Ω_k"] @ x for x in xs]  # (12.6)
    sas = [v @ softmax(k.T @ q / math.sqrt(dq)) for v, q, k in zip(vs, qs, ks)]  # (12.9)
    loss = sum(np.sum((sa - y) ** 2) for sa, y in zip(sas, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {
        "V": side(vs), "Q": side(qs), "K": side(ks), "Sa": side(sas), "L": loss,
    }


@spec("12.17_positional_encoding")
def positional_encoding():
    g = rng(47)
    b, n, d, dq = 2, 4, 3, 2
    xs = [draw(g, d, n) for _ in range(b)]  # one D×N matrix of tokens per example
    ys = [draw(g, d, n) for _ in range(b)]
    p = {
        "Π": draw(g, d, n),
        "β_v": draw(g, d), "Ω_v": draw(g, d, d),
        "β_q": draw(g, dq), "Ω_q": draw(g, dq, d),
        "β_k": draw(g, dq), "Ω_k": draw(g, dq, d),
    }
    ones = np.ones(n)
    vs = [np.outer(p["β_v"], ones) + p["Ω_v"] @ x for x in xs]  # (12.17)
    qs = [np.outer(p["β_q"], ones) + p["Ω_q"] @ (x + p["Π"]) for x in xs]  # (12.17)
    ks = [np.outer(p["β_k"], ones) + p["Ω_k"] @ (x + p["Π"]) for x in xs]  # (12.17)
    sas = [v @ softmax(k.T @ q / math.sqrt(dq)) for v, q, k in zip(vs, qs, ks)]  # (12.16)
    loss = sum(np.sum((sa - y) ** 2) for sa, y in zip(sas, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {
        "Q": side(qs), "K": side(ks), "Sa": side(sas), "L": loss,
    }


@spec("5.24_token_cross_entropy")
def token_cross_entropy():
    g = rng(53)
    b, n, d, k = 2, 3, 2, 4
    xs = [draw(g, d, n) for _ in range(b)]  # one D×N matrix of tokens per example
    labels = [g.integers(0, k, size=n) for _ in range(b)]  # a class per token
    ys = [np.eye(k)[:, lab] for lab in labels]  # one-hot, column n the label of token n
    p = {"β": draw(g, k), "Ω": draw(g, k, d)}
    fs = [np.outer(p["β"], np.ones(n)) + p["Ω"] @ x for x in xs]
    # eq. 5.24 for each token: -log of the softmax of its column at its label
    loss = -sum(
        math.log(softmax(f[:, t])[lab[t]]) for f, lab in zip(fs, labels) for t in range(n)
    )
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {"f": side(fs), "L": loss}


@spec("5.24_token_labels")
def token_labels():
    g = rng(53)
    b, n, d, k = 2, 3, 2, 4
    xs = [draw(g, d, n) for _ in range(b)]  # one D×N matrix of tokens per example
    labels = [g.integers(0, k, size=n) for _ in range(b)]  # a class per token, from 0
    p = {"β": draw(g, k), "Ω": draw(g, k, d)}
    fs = [np.outer(p["β"], np.ones(n)) + p["Ω"] @ x for x in xs]
    # eq. 5.24 for each token: -log of the softmax of its column at its label
    loss = -sum(
        math.log(softmax(f[:, t])[lab[t]]) for f, lab in zip(fs, labels) for t in range(n)
    )
    # the labels as the spec numbers them, from 1: N rows, one column per example
    y = np.stack([lab + 1 for lab in labels], axis=1).astype(float)
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "y": y}, p, {"f": side(fs), "L": loss}


@spec("12.17_sinusoidal_encoding")
def sinusoidal_encoding():
    g = rng(63)
    b, n, d, dq = 2, 4, 6, 2
    # The notes' table, position by position and dimension by dimension, from 0.
    pe = np.zeros((n, d))
    for pos in range(n):
        for k in range(d):
            angle = pos / 10000 ** ((k - k % 2) / d)
            pe[pos, k] = math.sin(angle) if k % 2 == 0 else math.cos(angle)
    xs = [draw(g, d, n) for _ in range(b)]
    ys = [draw(g, d, n) for _ in range(b)]
    p = {
        "β_v": draw(g, d), "Ω_v": draw(g, d, d),
        "β_q": draw(g, dq), "Ω_q": draw(g, dq, d),
        "β_k": draw(g, dq), "Ω_k": draw(g, dq, d),
    }
    ones = np.ones(n)
    vs = [np.outer(p["β_v"], ones) + p["Ω_v"] @ x for x in xs]
    qs = [np.outer(p["β_q"], ones) + p["Ω_q"] @ (x + pe.T) for x in xs]  # (12.17), Π = PEᵀ
    ks = [np.outer(p["β_k"], ones) + p["Ω_k"] @ (x + pe.T) for x in xs]
    sas = [v @ softmax(k.T @ q / math.sqrt(dq)) for v, q, k in zip(vs, qs, ks)]  # (12.16)
    loss = sum(np.sum((sa - y) ** 2) for sa, y in zip(sas, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {
        "PE": pe, "Π": pe.T, "Q": side(qs), "K": side(ks), "Sa": side(sas), "L": loss,
    }


def masked_softmax(s, mask):
    """Each column's softmax over the entries where the mask is not zero; zero elsewhere."""
    out = np.zeros_like(s)
    for j in range(s.shape[1]):
        keep = mask[:, j] != 0
        e = np.exp(s[keep, j] - s[keep, j].max())
        out[keep, j] = e / e.sum()
    return out


@spec("12.15_causal_attention")
def causal_attention():
    g = rng(64)
    b, n, d, dq = 2, 4, 3, 2
    mask = np.array([[1.0 if m <= k else 0.0 for k in range(n)] for m in range(n)])  # key m ≤ query n
    xs = [draw(g, d, n) for _ in range(b)]
    ys = [draw(g, d, n) for _ in range(b)]
    p = {
        "β_v": draw(g, d), "Ω_v": draw(g, d, d),
        "β_q": draw(g, dq), "Ω_q": draw(g, dq, d),
        "β_k": draw(g, dq), "Ω_k": draw(g, dq, d),
    }
    ones = np.ones(n)
    ps, sas = [], []
    for x in xs:
        v = np.outer(p["β_v"], ones) + p["Ω_v"] @ x
        q = np.outer(p["β_q"], ones) + p["Ω_q"] @ x
        k = np.outer(p["β_k"], ones) + p["Ω_k"] @ x
        # The notes' form: scores with −∞ above the diagonal (rows queries), then softmax.
        scores = (q.T @ k) / math.sqrt(dq)
        scores[np.triu(np.ones((n, n)), 1) == 1] = -np.inf
        att = np.exp(scores - scores.max(axis=1, keepdims=True))
        att = att / att.sum(axis=1, keepdims=True)  # row n: query n's weights over keys
        assert np.allclose(att.T, masked_softmax(k.T @ q / math.sqrt(dq), mask))
        ps.append(att.T)
        sas.append(v @ att.T)
    loss = sum(np.sum((sa - y) ** 2) for sa, y in zip(sas, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {
        "M": mask, "P": side(ps), "Sa": side(sas), "L": loss,
    }


def adjacency(g, n):
    """A random undirected graph on n nodes without self-loops: a symmetric 0/1 matrix."""
    upper = np.triu((g.uniform(size=(n, n)) < 0.5).astype(float), 1)
    return upper + upper.T


@spec("13.11_gcn_graph_classification")
def gcn_graph_classification():
    g = rng(48)
    b, n, d, dh = 3, 4, 3, 5
    xs = [draw(g, d, n) for _ in range(b)]  # node embeddings, one column per node
    adj = [adjacency(g, n) for _ in range(b)]
    y = np.array([0, 1, 1])
    p = {
        "β_0": draw(g, dh), "Ω_0": draw(g, dh, d),
        "β_1": draw(g, dh), "Ω_1": draw(g, dh, dh),
        "β_2": draw(g, 1), "ω_2": draw(g, 1, dh),
    }
    ones = np.ones(n)
    eye = np.eye(n)
    hs1, hs2, fs = [], [], []
    for x, a in zip(xs, adj):
        h1 = relu(np.outer(p["β_0"], ones) + p["Ω_0"] @ x @ (a + eye))  # (13.11)
        h2 = relu(np.outer(p["β_1"], ones) + p["Ω_1"] @ h1 @ (a + eye))  # (13.10)
        f = sig(p["β_2"][0] + p["ω_2"] @ h2 @ ones / n)[0]  # (13.11)
        hs1.append(h1)
        hs2.append(h2)
        fs.append(f)
    fs = np.array(fs)
    loss = np.sum(-(1 - y) * np.log(1 - fs) - y * np.log(fs))
    side = lambda ms: np.concatenate(ms, axis=1)
    # β_K is a scalar parameter: a flat list of one number.
    p["β_2"] = [float(p["β_2"][0])]
    return {"X": side(xs), "A": side(adj), "y": y}, p, {
        "H_1": side(hs1), "H_2": side(hs2), "f": fs, "L": loss,
    }


@spec("13.14_gin_self_weight")
def gin_self_weight():
    g = rng(49)
    b, n, d, dh = 2, 3, 2, 3
    hs = [draw(g, d, n) for _ in range(b)]
    adj = [adjacency(g, n) for _ in range(b)]
    ys = [draw(g, dh, n) for _ in range(b)]
    p = {"β_0": draw(g, dh), "Ω_0": draw(g, dh, d), "ε_0": draw(g, 1)}
    eye = np.eye(n)
    h1 = [relu(np.outer(p["β_0"], np.ones(n)) + p["Ω_0"] @ h @ (a + (1 + p["ε_0"][0]) * eye))
          for h, a in zip(hs, adj)]  # (13.14)
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(h1, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    p["ε_0"] = [float(p["ε_0"][0])]
    return {"H_0": side(hs), "A": side(adj), "Y": side(ys)}, p, {"H_1": side(h1), "L": loss}


# Two small fixed graphs on four nodes, every node with a neighbour: edges 1–2, 1–3, 2–3,
# 3–4 (degrees 2, 2, 3, 1) and the path 1–2–3–4 (degrees 1, 2, 2, 1).
FIXED_GRAPHS = [
    np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], dtype=float),
    np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=float),
]


def degree_layer(seed, aggregate, layers=1):
    """GCN layers H_{k+1} = ReLU[β_k 𝟏ᵀ + Ω_k H_k M(A)] on the fixed graphs, from the book's
    degree matrix: `aggregate(a, degrees)` gives M(A) from the adjacency and the degrees."""
    g = rng(seed)
    n, dx, dh = 4, 3, 5
    adj = FIXED_GRAPHS
    xs = [draw(g, dx, n) for _ in adj]
    ys = [draw(g, dh, n) for _ in adj]
    p = {"β_0": draw(g, dh), "Ω_0": draw(g, dh, dx)}
    if layers == 2:
        p.update({"β_1": draw(g, dh), "Ω_1": draw(g, dh, dh)})
    hs = {k: [] for k in range(1, layers + 1)}
    for x, a in zip(xs, adj):
        m = aggregate(a, a.sum(axis=1))  # the n-th degree |ne[n]|: a row sum of A
        h = x
        for k in range(layers):
            h = relu(np.outer(p[f"β_{k}"], np.ones(n)) + p[f"Ω_{k}"] @ h @ m)
            hs[k + 1].append(h)
    side = lambda ms: np.concatenate(ms, axis=1)
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs[layers], ys))
    expected = {f"H_{k}": side(v) for k, v in hs.items()}
    expected["L"] = loss
    return {"X": side(xs), "A": side(adj), "Y": side(ys)}, p, expected


def graph_case(seed, dh, dy=None):
    """Inputs on the fixed graphs: node embeddings X (3×4), the adjacency, a target of dy rows."""
    g = rng(seed)
    n, dx = 4, 3
    xs = [draw(g, dx, n) for _ in FIXED_GRAPHS]
    ys = [draw(g, dy or dh, n) for _ in FIXED_GRAPHS]
    return g, xs, ys


def side(ms):
    return np.concatenate(ms, axis=1)


@spec("13.10_gcn_layer_two_forms")
def gcn_layer_two_forms():
    g, xs, ys = graph_case(63, 2)
    p = {"β_0": draw(g, 2), "Ω_0": draw(g, 2, 3)}
    ones = np.ones(4)
    h1 = [relu(np.outer(p["β_0"], ones) + p["Ω_0"] @ x + p["Ω_0"] @ x @ a) for x, a in zip(xs, FIXED_GRAPHS)]
    h2 = [relu(np.outer(p["β_0"], ones) + p["Ω_0"] @ x @ (a + np.eye(4))) for x, a in zip(xs, FIXED_GRAPHS)]
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(h1 + h2, ys + ys))
    return {"X": side(xs), "A": side(FIXED_GRAPHS), "Y": side(ys)}, p, {"H": side(h1), "H'": side(h2), "L": loss}


@spec("13.12_node_regression")
def node_regression():
    g, xs, ys = graph_case(64, 5, dy=1)
    p = {"β_0": draw(g, 5), "Ω_0": draw(g, 5, 3), "β_1": float(draw(g)), "ω_1": draw(g, 1, 5)}
    ones = np.ones(4)
    hs = [relu(np.outer(p["β_0"], ones) + p["Ω_0"] @ x @ (a + np.eye(4))) for x, a in zip(xs, FIXED_GRAPHS)]
    fs = [sig(p["β_1"] * ones[None, :] + p["ω_1"] @ h) for h in hs]  # (13.12)
    loss = sum(np.sum((f - y) ** 2) for f, y in zip(fs, ys))
    return {"X": side(xs), "A": side(FIXED_GRAPHS), "Y": side(ys)}, p, {"H_1": side(hs), "f": side(fs), "L": loss}


@spec("13.15_self_and_neighbours")
def self_and_neighbours():
    g, xs, ys = graph_case(65, 2)
    p = {"β_0": draw(g, 2), "Ω_0": draw(g, 2, 3), "Ψ_0": draw(g, 2, 3)}
    ones = np.ones(4)
    h1 = [relu(np.outer(p["β_0"], ones) + p["Ω_0"] @ x @ a + p["Ψ_0"] @ x) for x, a in zip(xs, FIXED_GRAPHS)]
    block = np.concatenate([p["Ω_0"], p["Ψ_0"]], axis=1)
    h2 = [relu(np.outer(p["β_0"], ones) + block @ np.concatenate([x @ a, x], axis=0)) for x, a in zip(xs, FIXED_GRAPHS)]
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(h1 + h2, ys + ys))
    return {"X": side(xs), "A": side(FIXED_GRAPHS), "Y": side(ys)}, p, {"H": side(h1), "H'": side(h2), "L": loss}


@spec("13.16_residual_concat")
def residual_concat():
    g, xs, ys = graph_case(66, 2, dy=5)
    p = {"β_0": draw(g, 2), "Ω_0": draw(g, 2, 3)}
    ones = np.ones(4)
    hs = [np.concatenate([relu(np.outer(p["β_0"], ones) + p["Ω_0"] @ x @ a), x], axis=0) for x, a in zip(xs, FIXED_GRAPHS)]
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs, ys))
    return {"X": side(xs), "A": side(FIXED_GRAPHS), "Y": side(ys)}, p, {"H_1": side(hs), "L": loss}


@spec("11.4_residual")
def residual():
    g = rng(67)
    b, d = 3, 3
    x, y = draw(g, d, b), draw(g, d, b)
    p = {"β_1": draw(g, d), "Ω_1": draw(g, d, d), "β_2": draw(g, d), "Ω_2": draw(g, d, d)}
    h1 = x + relu(p["β_1"][:, None] + p["Ω_1"] @ x)  # (11.4)
    h2 = h1 + relu(p["β_2"][:, None] + p["Ω_2"] @ h1)
    return {"x": x, "y": y}, p, {"h_1": h1, "h_2": h2, "L": np.sum((h2 - y) ** 2)}


@spec("13.18_mean_aggregation")
def mean_aggregation():
    # A D^{-1} + I: column n of A divided by node n's degree, i.e. the neighbours' mean (13.17).
    return degree_layer(60, lambda a, deg: a @ np.linalg.inv(np.diag(deg)) + np.eye(len(deg)))


@spec("13.21_max_aggregation")
def max_aggregation():
    g = rng(63)
    n, dx, dh = 4, 3, 5
    # The first fixed graph, and a triangle with node 4 alone (it aggregates to 0).
    alone = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=float)
    adj = [FIXED_GRAPHS[0], alone]
    xs = [draw(g, dx, n) for _ in adj]
    ys = [draw(g, dh, n) for _ in adj]
    p = {"β_0": draw(g, dh), "Ω_0": draw(g, dh, dx)}
    aggs, hs = [], []
    for x, a in zip(xs, adj):
        agg = np.zeros((dx, n))
        for k in range(n):
            ne = [m for m in range(n) if a[m, k] != 0]  # ne[k]: column k of A
            for d in range(dx):
                vals = sorted(x[d, m] for m in ne)
                # No ties (nor near ties) at the test point: the maximiser is unique.
                assert len(vals) < 2 or vals[-1] - vals[-2] > 1e-3
                agg[d, k] = max(vals) if ne else 0.0  # (13.21); nothing to take: 0
        aggs.append(agg)
        hs.append(relu(np.outer(p["β_0"], np.ones(n)) + p["Ω_0"] @ (agg + x)))
    side = lambda ms: np.concatenate(ms, axis=1)
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs, ys))
    return {"X": side(xs), "A": side(adj), "Y": side(ys)}, p, {
        "G": side(aggs), "H_1": side(hs), "L": loss,
    }


@spec("13.20_symmetric_normalisation")
def symmetric_normalisation():
    def kipf(a, deg):
        d = np.diag(deg)
        root = np.linalg.inv(np.diag(np.sqrt(deg)))  # D^{-1/2}: (D^{1/2})^{-1}
        assert np.allclose(root @ root @ d, np.eye(len(deg)))
        return root @ a @ root + np.eye(len(deg))  # (13.20)

    return degree_layer(61, kipf)


@spec("13.20_kipf_welling")
def kipf_welling():
    def renormalised(a, _deg):
        at = a + np.eye(len(a))  # Ã = A + I
        dt = np.diag(at.sum(axis=1))  # D̃ = diag[Ã 𝟏]
        w, v = np.linalg.eigh(dt)
        root = v @ np.diag(w ** -0.5) @ v.T  # D̃^{-1/2} as a matrix function
        return root @ at @ root

    return degree_layer(62, renormalised, layers=2)


def nodewise_layer(seed, aggregate, graphs, names=("agg",)):
    """The node update of eq. 13.9, h_1^{(n)} = ReLU[β_0 + Ω_0 h_n + Ω_0 agg[n]], node by node
    with loops: `aggregate(x, ne, n, degree)` gives agg[n] from the embeddings, the neighbours
    ne[n] = {m : A[m, n] ≠ 0} and their sizes |ne[·]|. The matrix form must equal it: H'_1."""
    g = rng(seed)
    n_nodes, dx, dh = 4, 3, 5
    xs = [draw(g, dx, n_nodes) for _ in graphs]
    ys = [draw(g, dh, n_nodes) for _ in graphs]
    p = {"β_0": draw(g, dh), "Ω_0": draw(g, dh, dx)}
    aggs, hs = [], []
    for x, a in zip(xs, graphs):
        ne = [[m for m in range(n_nodes) if a[m, k] != 0] for k in range(n_nodes)]
        size = [len(s) for s in ne]
        agg = np.zeros((dx, n_nodes))
        h = np.zeros((dh, n_nodes))
        for k in range(n_nodes):
            agg[:, k] = aggregate(x, ne[k], k, size)
            h[:, k] = relu(p["β_0"] + p["Ω_0"] @ x[:, k] + p["Ω_0"] @ agg[:, k])  # (13.9)
        aggs.append(agg)
        hs.append(h)
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs, ys))
    expected = {name: side(aggs) for name in names}
    expected.update({"H_1": side(hs), "H'_1": side(hs), "L": loss})
    return {"X": side(xs), "A": side(graphs), "Y": side(ys)}, p, expected


# The first fixed graph, and a triangle with node 4 alone (no neighbours).
LONE_NODE_GRAPHS = [
    FIXED_GRAPHS[0],
    np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=float),
]


@spec("13.8_nodewise_sum")
def nodewise_sum():
    def total(x, ne, _n, _size):
        return sum((x[:, m] for m in ne), np.zeros(x.shape[0]))  # (13.8); no neighbour: 0

    return nodewise_layer(70, total, LONE_NODE_GRAPHS)


@spec("13.17_nodewise_mean")
def nodewise_mean():
    def mean(x, ne, n, size):
        return sum(x[:, m] for m in ne) / size[n]  # (13.17)

    return nodewise_layer(71, mean, FIXED_GRAPHS)


@spec("13.19_nodewise_kipf")
def nodewise_kipf():
    def kipf(x, ne, n, size):
        return sum(x[:, m] / math.sqrt(size[n] * size[m]) for m in ne)  # (13.19)

    return nodewise_layer(72, kipf, FIXED_GRAPHS, names=("agg", "agg'"))


@spec("13.21_nodewise_max")
def nodewise_max():
    def largest(x, ne, _n, _size):
        if not ne:
            return np.zeros(x.shape[0])  # nothing to take the maximum of: 0
        vals = np.array([x[:, m] for m in ne])
        top = np.sort(vals, axis=0)
        # No ties (nor near ties) at the test point: the maximiser is unique.
        assert len(ne) < 2 or np.all(top[-1] - top[-2] > 1e-3)
        return vals.max(axis=0)  # (13.21)

    return nodewise_layer(73, largest, LONE_NODE_GRAPHS)


@spec("13.24_graph_attention")
def graph_attention():
    g = rng(65)
    n, dx, dh = 4, 3, 2
    adj = FIXED_GRAPHS
    hs = [draw(g, dx, n) for _ in adj]
    ys = [draw(g, dh, n) for _ in adj]
    p = {"β_0": draw(g, dh), "Ω_0": draw(g, dh, dx), "φ_0": draw(g, 2 * dh)}
    lrelu = lambda z: np.where(z >= 0, z, 0.2 * z)
    ss, pss, h1s = [], [], []
    for h, a in zip(hs, adj):
        hp = np.outer(p["β_0"], np.ones(n)) + p["Ω_0"] @ h  # (13.22)
        s = np.array([[lrelu(p["φ_0"] @ np.concatenate([hp[:, m], hp[:, k]]))
                       for k in range(n)] for m in range(n)])  # (13.23)
        att = masked_softmax(s, a + np.eye(n))
        ss.append(s)
        pss.append(att)
        h1s.append(lrelu(hp @ att))  # (13.24)
    loss = sum(np.sum((h1 - y) ** 2) for h1, y in zip(h1s, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"H_0": side(hs), "A": side(adj), "Y": side(ys)}, p, {
        "S": side(ss), "P": side(pss), "H_1": side(h1s), "L": loss,
    }


def head_params(g, h_count, d, dq, dv):
    """Per-head parameters of eq. 12.10, by the spec's names."""
    p = {}
    for h in range(1, h_count + 1):
        p[f"β_{{v,{h}}}"] = draw(g, dv)
        p[f"Ω_{{v,{h}}}"] = draw(g, dv, d)
        p[f"β_{{q,{h}}}"] = draw(g, dq)
        p[f"Ω_{{q,{h}}}"] = draw(g, dq, d)
        p[f"β_{{k,{h}}}"] = draw(g, dq)
        p[f"Ω_{{k,{h}}}"] = draw(g, dq, d)
    return p


def multi_head(p, x, h_count, dq):
    """Eqs. 12.10–12.12 for one example's tokens x (D × N)."""
    ones = np.ones(x.shape[1])
    sas = []
    for h in range(1, h_count + 1):
        v = np.outer(p[f"β_{{v,{h}}}"], ones) + p[f"Ω_{{v,{h}}}"] @ x  # (12.10)
        q = np.outer(p[f"β_{{q,{h}}}"], ones) + p[f"Ω_{{q,{h}}}"] @ x
        k = np.outer(p[f"β_{{k,{h}}}"], ones) + p[f"Ω_{{k,{h}}}"] @ x
        sas.append(v @ softmax(k.T @ q / math.sqrt(dq)))  # (12.11)
    return p["Ω_c"] @ np.concatenate([sa.T for sa in sas], axis=1).T  # (12.12)


def layer_norm_cols(z, eps=1e-5):
    """Each column (token) normalised over its D entries, population variance."""
    m = z.mean(axis=0)
    v = ((z - m) ** 2).mean(axis=0)
    return (z - m) / np.sqrt(v + eps)


@spec("12.12_multi_head")
def multi_head_attention():
    g = rng(51)
    b, n, d, h_count, dq, dv = 3, 3, 4, 2, 2, 2
    xs = [draw(g, d, n) for _ in range(b)]
    ys = [draw(g, d, n) for _ in range(b)]
    p = head_params(g, h_count, d, dq, dv)
    p["Ω_c"] = draw(g, d, h_count * dv)
    mh = [multi_head(p, x, h_count, dq) for x in xs]
    loss = sum(np.sum((m - y) ** 2) for m, y in zip(mh, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {"MhSa": side(mh), "L": loss}


@spec("12.12_stacked_rows")
def stacked_rows():
    g = rng(52)
    b, n, d, h_count, dq, dv = 2, 3, 4, 3, 2, 2
    xs = [draw(g, d, n) for _ in range(b)]
    ys = [draw(g, d, n) for _ in range(b)]
    p = head_params(g, h_count, d, dq, dv)
    p["Ω_c"] = draw(g, d, h_count * dv)
    mh = [multi_head(p, x, h_count, dq) for x in xs]
    loss = sum(np.sum((m - y) ** 2) + 2 * np.sum(m**2) for m, y in zip(mh, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {
        "MhSa": side(mh), "Both": side(mh), "Col": side(mh), "L": loss,
    }


@spec("12.13_transformer_layer")
def transformer_layer():
    g = rng(53)
    b, n, d, h_count, dq, dv, df = 3, 3, 4, 2, 2, 2, 5
    xs = [draw(g, d, n) for _ in range(b)]
    ys = [draw(g, d, n) for _ in range(b)]
    p = head_params(g, h_count, d, dq, dv)
    p["Ω_c"] = draw(g, d, h_count * dv)
    p.update({"β_f": draw(g, df), "Ω_f": draw(g, df, d), "β_o": draw(g, d), "Ω_o": draw(g, d, df)})

    def layer(x):
        x1 = x + multi_head(p, x, h_count, dq)  # (12.13)
        x2 = layer_norm_cols(x1)
        # x_n ← x_n + mlp[x_n] for every token n, one column at a time
        x3 = x2.copy()
        for t in range(x.shape[1]):
            hid = relu(p["β_f"] + p["Ω_f"] @ x2[:, t])
            x3[:, t] = x2[:, t] + p["β_o"] + p["Ω_o"] @ hid
        return x1, x3, layer_norm_cols(x3)

    outs = [layer(x) for x in xs]
    loss = sum(np.sum((o[2] - y) ** 2) for o, y in zip(outs, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {
        "X'": side([o[0] for o in outs]),
        "X'''": side([o[1] for o in outs]),
        "f": side([o[2] for o in outs]),
        "L": loss,
    }


@spec("17.24_kl_divergence")
def kl_divergence():
    g = rng(38)
    x = draw(g, 2, 3, scale=2.0)
    p = {"Ω_μ": draw(g, 2, 2), "Ω_s": draw(g, 2, 2)}
    mu, s = p["Ω_μ"] @ x, p["Ω_s"] @ x
    cov = [np.diag(np.exp(s[:, i])) for i in range(3)]
    kl = np.array(
        [
            0.5 * (np.trace(c) + mu[:, i] @ mu[:, i] - 2 - np.log(np.linalg.det(c)))
            for i, c in enumerate(cov)
        ]
    )  # (17.24)
    return {"x": x}, p, {"D_KL": kl, "L": np.sum(kl)}


@spec("17.25_reparameterisation")
def reparameterisation():
    g = rng(39)
    b, dx, dz, d, var = 3, 3, 2, 3, 0.8**2
    x, eps = draw(g, dx, b, scale=2.0), draw(g, dz, b, scale=1.5)
    p = {
        "β_0": draw(g, d), "Ω_0": draw(g, d, dx), "β_μ": draw(g, dz), "Ω_μ": draw(g, dz, d),
        "β_s": draw(g, dz), "Ω_s": draw(g, dz, d),
        "φ.β_1": draw(g, d), "φ.Ω_1": draw(g, d, dz), "φ.β_2": draw(g, dx), "φ.Ω_2": draw(g, dx, d),
    }
    h = relu(p["β_0"][:, None] + p["Ω_0"] @ x)
    mu = p["β_μ"][:, None] + p["Ω_μ"] @ h
    s = p["β_s"][:, None] + p["Ω_s"] @ h
    z = np.zeros((dz, b))
    kl, loglik = np.zeros(b), np.zeros(b)
    for i in range(b):
        cov = np.diag(np.exp(s[:, i]))
        # Σ^{1/2}: the symmetric square root, from the eigendecomposition (17.25).
        w, v = np.linalg.eigh(cov)
        z[:, i] = mu[:, i] + v @ np.diag(np.sqrt(w)) @ v.T @ eps[:, i]
        kl[i] = 0.5 * (np.trace(cov) + mu[:, i] @ mu[:, i] - dz - np.log(np.linalg.det(cov)))
        f = p["φ.β_2"] + p["φ.Ω_2"] @ relu(p["φ.β_1"] + p["φ.Ω_1"] @ z[:, i])
        # log Norm_x[f, σ²I] (17.26), the multivariate density with covariance σ²I.
        loglik[i] = -0.5 * dx * np.log(2 * np.pi * var) - np.sum((x[:, i] - f) ** 2) / (2 * var)
    return {"x": x, "ε": eps}, p, {"z": z, "D_KL": kl, "L": -np.sum(loglik - kl)}


# ---------------------------------------------------------------- chapter 16


@spec("16.31_lrelu_flow")
def lrelu_flow():
    g = rng(160)
    z, beta = draw(g, 4, 3, scale=2.0), draw(g, 4)
    h = z + beta[:, None]
    x = np.where(h < 0, 0.1 * h, h)  # (16.31–16.32)
    dets = np.array(
        [np.linalg.det(np.diag(np.where(h[:, i] < 0, 0.1, 1.0))) for i in range(3)]
    )  # |∂f/∂h| of the diagonal Jacobian (16.11)
    ell = np.log(np.abs(dets))
    loss = np.sum(0.5 * np.sum(x**2, axis=0) - ell)
    return {"z": z}, {"β": beta}, {"x": x, "δ": np.abs(dets), "ℓ": ell, "L": loss}


@spec("16.29_linear_flow")
def linear_flow():
    g = rng(161)
    z, beta = draw(g, 4, 3, scale=2.0), draw(g, 4)
    om1 = np.diag([2.0, -5.0, 1.0, 2.0])  # (16.29)
    om2 = np.array([[1.0, 0, 0, 0], [2, 4, 0, 0], [1, -1, 2, 0], [4, -2, -2, 1]])
    om = om2 @ om1
    x = beta[:, None] + om @ z
    ell = np.log(abs(np.linalg.det(om)))
    d1, tau = np.linalg.det(om1), np.trace(om2)
    loss = np.sum(0.5 * np.sum(x**2, axis=0)) - 3 * ell + 0.01 * d1 + tau
    expected = {
        "x": x, "d_1": d1, "d_2": np.linalg.det(om2), "d": np.linalg.det(om), "ℓ": ell,
        "τ": tau, "τ'": np.trace(om1.T), "L": loss,
    }
    return {"z": z}, {"β": beta, "Ω_1": om1, "Ω_2": om2}, expected


@spec("16.13_affine_coupling")
def affine_coupling():
    g = rng(162)
    b, d = 3, 2
    h1, h2 = draw(g, d, b, scale=1.5), draw(g, d, b, scale=1.5)
    p = {"β_s": draw(g, d), "Ω_s": draw(g, d, d), "β_t": draw(g, d), "Ω_t": draw(g, d, d)}
    s = p["β_s"][:, None] + p["Ω_s"] @ h1
    t = p["β_t"][:, None] + p["Ω_t"] @ h1
    h2p = h2 * np.exp(s) + t  # (16.13)
    ell = np.zeros(b)
    for i in range(b):
        # The whole Jacobian of (h_1, h_2) ↦ (h'_1, h'_2), and its log |det| by slogdet.
        jac = np.zeros((2 * d, 2 * d))
        jac[:d, :d] = np.eye(d)
        jac[d:, :d] = np.diag(h2[:, i] * np.exp(s[:, i])) @ p["Ω_s"] + p["Ω_t"]
        jac[d:, d:] = np.diag(np.exp(s[:, i]))
        ell[i] = np.linalg.slogdet(jac)[1]
    g2 = (h2p - t) * np.exp(-s)  # (16.14)
    loss = np.sum(0.5 * np.sum(h1**2, axis=0) + 0.5 * np.sum(h2p**2, axis=0) - ell)
    return {"h_1": h1, "h_2": h2}, p, {"h'_2": h2p, "ℓ": ell, "g_2": g2, "L": loss}


@spec("16.18_additive_coupling")
def additive_coupling():
    g = rng(163)
    b, d = 3, 2
    h1, h2 = draw(g, d, b, scale=1.5), draw(g, d, b, scale=1.5)
    p = {
        "φ_1.β": draw(g, d), "φ_1.Ω": draw(g, d, d),
        "φ_2.β": draw(g, d), "φ_2.Ω": draw(g, d, d),
    }

    def f(k, h):
        return np.tanh(p[f"φ_{k}.β"][:, None] + p[f"φ_{k}.Ω"] @ h)

    h1p = h1 + f(1, h2)  # (16.18)
    h2p = h2 + f(2, h1p)
    g2 = h2p - f(2, h1p)  # (16.19)
    g1 = h1p - f(1, g2)

    def forward(v):
        a = v[:d, None] + f(1, v[d:, None])
        return np.concatenate([a, v[d:, None] + f(2, a)])[:, 0]

    for i in range(b):
        # The determinant of the Jacobian is 1 (central differences).
        v, eps = np.concatenate([h1[:, i], h2[:, i]]), 1e-6
        jac = np.stack(
            [(forward(v + eps * e) - forward(v - eps * e)) / (2 * eps) for e in np.eye(2 * d)], axis=1
        )
        assert abs(np.linalg.det(jac) - 1.0) < 1e-6
    loss = np.sum(0.5 * np.sum(h1p**2, axis=0) + 0.5 * np.sum(h2p**2, axis=0))
    return {"h_1": h1, "h_2": h2}, p, {"h'_1": h1p, "h'_2": h2p, "g_1": g1, "g_2": g2, "L": loss}


@spec("9.8_gradient_norm")
def gradient_norm():
    g = rng(81)
    b, d, alpha = 4, 3, 0.1
    x, y = draw(g, b, scale=2.0), draw(g, b, scale=2.0)
    p = {"β_0": draw(g, d), "Ω_0": draw(g, d, 1), "β_1": draw(g), "Ω_1": draw(g, 1, d)}
    a = p["β_0"][:, None] + p["Ω_0"] @ x[None, :]
    h = np.tanh(a)
    f = p["β_1"] + (p["Ω_1"] @ h)[0]
    loss = np.sum((f - y) ** 2)
    # ∂L/∂φ by hand (backpropagation, eqs. 7.17–7.26): the residual 2 (f_i - y_i) back
    # through the output layer and tanh' = 1 - tanh².
    r = 2 * (f - y)
    d_beta_1 = np.sum(r)
    d_omega_1 = (h @ r)[None, :]
    d_a = p["Ω_1"].T * r[None, :] * (1 - h**2)
    d_beta_0 = d_a.sum(axis=1)
    d_omega_0 = d_a @ x[:, None]
    norm2 = sum(np.sum(v**2) for v in (d_beta_0, d_omega_0, d_beta_1, d_omega_1))
    return {"x": x, "y": y}, p, {"L": loss, "L̃": loss + alpha / 4 * norm2}  # (9.8)


@spec("15.5_gan_losses")
def gan_losses():
    g = rng(155)
    b, dz, dx, d = 4, 2, 3, 4
    x, z = draw(g, dx, b, scale=1.5), draw(g, dz, b, scale=1.5)
    p = {
        "β": draw(g, d), "Ω": draw(g, d, dx), "ω": draw(g, d), "b": draw(g),
        "θ.β_0": draw(g, d), "θ.Ω_0": draw(g, d, dz), "θ.β_1": draw(g, dx), "θ.Ω_1": draw(g, dx, d),
    }
    sig = lambda a: 1 / (1 + np.exp(-a))
    critic = lambda v: p["ω"] @ np.tanh(p["β"][:, None] + p["Ω"] @ v) + p["b"]
    fake = p["θ.β_1"][:, None] + p["θ.Ω_1"] @ np.tanh(p["θ.β_0"][:, None] + p["θ.Ω_0"] @ z)
    # (15.5): the generated pictures' term and the real ones', each a sum over its batch
    gen = np.log(1 - sig(critic(fake)))
    loss_d = -np.sum(gen) - np.sum(np.log(sig(critic(x))))
    return {"x": x, "z": z}, p, {"L": loss_d, "L'": np.sum(gen)}


@spec("15.17_gradient_penalty")
def gradient_penalty():
    g = rng(1517)
    b, dz, dx, d, lam = 4, 2, 3, 4, 10.0
    x, z = draw(g, dx, b, scale=1.5), draw(g, dz, b, scale=1.5)
    t = np.round(g.uniform(0.0, 1.0, size=b), 2)
    p = {
        "β": draw(g, d), "Ω": draw(g, d, dx), "ω": draw(g, d), "b": draw(g),
        "θ.β_0": draw(g, d), "θ.Ω_0": draw(g, d, dz), "θ.β_1": draw(g, dx), "θ.Ω_1": draw(g, dx, d),
    }

    def critic(v):
        return p["ω"] @ np.tanh(p["β"][:, None] + p["Ω"] @ v) + p["b"]

    # The critic's gradient with respect to its input, by hand: ∂f/∂x = Ωᵀ (ω ⊙ (1 - tanh²)).
    def critic_grad(v):
        h = np.tanh(p["β"][:, None] + p["Ω"] @ v)
        return p["Ω"].T @ (p["ω"][:, None] * (1 - h**2))

    fake = p["θ.β_1"][:, None] + p["θ.Ω_1"] @ np.tanh(p["θ.β_0"][:, None] + p["θ.Ω_0"] @ z)
    x_hat = t[None, :] * x + (1 - t[None, :]) * fake
    grad = critic_grad(x_hat)
    penalty = lam * np.sum((np.linalg.norm(grad, axis=0) - 1) ** 2)
    loss = np.sum(critic(fake)) - np.sum(critic(x)) + penalty  # (15.16) + the penalty
    return (
        {"x": x, "z": z, "t": t},
        p,
        {"x̂": x_hat, "d": grad, "L": loss, "L'": -np.sum(critic(fake))},
    )


# ---------------------------------------------------------------- course notes


@spec("rnn_elman")
def rnn_elman():
    g = rng(42)
    b, d, t_len, dh, do = 3, 2, 3, 3, 2
    xs = [draw(g, d, t_len) for _ in range(b)]  # one sequence per example, x_t its columns
    ys = [draw(g, do, t_len) for _ in range(b)]
    p = {"W": draw(g, dh, dh), "U": draw(g, dh, d), "b": draw(g, dh), "V": draw(g, do, dh), "c": draw(g, do)}
    hs = {t: [] for t in range(1, t_len + 1)}
    os = {t: [] for t in range(1, t_len + 1)}
    loss = 0.0
    for x, y in zip(xs, ys):
        h = np.zeros(dh)  # h_0 = 0
        for t in range(1, t_len + 1):
            h = np.tanh(p["W"] @ h + p["U"] @ x[:, t - 1] + p["b"])
            o = p["V"] @ h + p["c"]
            hs[t].append(h)
            os[t].append(o)
            loss += np.sum((o - y[:, t - 1]) ** 2)  # L = ∑_t L_t
    side = lambda ms: np.concatenate(ms, axis=1)
    cols = lambda vs: np.stack(vs, axis=1)  # one column per example
    expected = {f"h_{t}": cols(hs[t]) for t in hs}
    expected.update({f"o_{t}": cols(os[t]) for t in os})
    expected["L"] = loss
    return {"X": side(xs), "Y": side(ys)}, p, expected


@spec("rnn_gru")
def rnn_gru():
    g = rng(43)
    b, d, t_len, dh = 3, 2, 3, 3
    xs = [draw(g, d, t_len) for _ in range(b)]
    y = draw(g, dh, b)  # a vector per example: one column each
    p = {}
    for gate in "zrh":
        p[f"W_{gate}"] = draw(g, dh, d)
        p[f"U_{gate}"] = draw(g, dh, dh)
        p[f"b_{gate}"] = draw(g, dh)
    names = ["z", "r", "h'", "h"]
    vals = {(n, t): [] for n in names for t in range(1, t_len + 1)}
    for x in xs:
        h = np.zeros(dh)
        for t in range(1, t_len + 1):
            xt = x[:, t - 1]
            z = sig(p["W_z"] @ xt + p["U_z"] @ h + p["b_z"])
            r = sig(p["W_r"] @ xt + p["U_r"] @ h + p["b_r"])
            cand = np.tanh(p["W_h"] @ xt + p["U_h"] @ (r * h) + p["b_h"])
            h = z * h + (1 - z) * cand
            for n, v in zip(names, [z, r, cand, h]):
                vals[(n, t)].append(v)
    expected = {f"{n}_{t}": np.stack(v, axis=1) for (n, t), v in vals.items()}
    h_last = expected[f"h_{t_len}"]
    expected["L"] = np.sum((h_last - y) ** 2)
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "y": y}, p, expected


@spec("rnn_lstm")
def rnn_lstm():
    g = rng(44)
    b, d, t_len, dh = 3, 2, 3, 3
    xs = [draw(g, d, t_len) for _ in range(b)]
    y = draw(g, dh, b)  # a vector per example: one column each
    p = {}
    for gate in "fioc":
        p[f"W_{gate}"] = draw(g, dh, d)
        p[f"U_{gate}"] = draw(g, dh, dh)
        p[f"b_{gate}"] = draw(g, dh)
    names = ["f", "i", "o", "c'", "c", "h"]
    vals = {(n, t): [] for n in names for t in range(1, t_len + 1)}
    for x in xs:
        h, c = np.zeros(dh), np.zeros(dh)
        for t in range(1, t_len + 1):
            xt = x[:, t - 1]
            gate = lambda k, act: act(p[f"W_{k}"] @ xt + p[f"U_{k}"] @ h + p[f"b_{k}"])
            f, i, o, cand = gate("f", sig), gate("i", sig), gate("o", sig), gate("c", np.tanh)
            c = f * c + i * cand
            h = o * np.tanh(c)
            for n, v in zip(names, [f, i, o, cand, c, h]):
                vals[(n, t)].append(v)
    expected = {f"{n}_{t}": np.stack(v, axis=1) for (n, t), v in vals.items()}
    expected["L"] = np.sum((expected[f"h_{t_len}"] - y) ** 2)
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "y": y}, p, expected


# ---------------------------------------------------------------- the book's spellings


@spec("half_sum_of_squares")
def half_sum_of_squares():
    x, y, p = linear_data(39)
    gx = 0.5 * (x + 1)
    f = p["φ_0"] + p["φ_1"] * gx
    return {"x": x, "y": y}, p, {"g": gx, "f": f, "L": 0.5 * np.sum((f - y) ** 2)}


@spec("vulgar_fractions")
def vulgar_fractions():
    x, y, p = linear_data(40)
    f = p["φ_0"] + 0.25 * p["φ_1"] * x + 1 / 3
    return {"x": x, "y": y}, p, {"f": f, "L": 0.5 * np.sum((f - y) ** 2)}


def heads(seed, sizes):
    g = rng(seed)
    x = draw(g, 3, 4, scale=2.0)
    p = {f"Ω_{h}": draw(g, n, 3) for h, n in enumerate(sizes, start=1)}
    f = sum(np.sum(relu(p[f"Ω_{h}"] @ x), axis=0) for h in range(1, len(sizes) + 1))
    return {"x": x}, p, {"f": f, "L": np.sum(f)}


@spec("head_size_hyper")
def head_size_hyper():
    return heads(41, [2, 2])  # D_h = 2 for both heads


@spec("per_head_sizes")
def per_head_sizes():
    return heads(42, [2, 3])  # D_1 = 2, D_2 = 3


# ---------------------------------------------------------------- chapter 10


def conv1d_book(x, w, beta, stride, dil, offset, n_out):
    """h_i = tanh[β + ∑_{j=1}^{K} ω_j x_{stride·i + dil·j + offset}] for i = 1 … n_out, each
    example a column of x, entries outside 1 … D read as zero (np.pad, §10.2.1)."""
    d, b = x.shape
    k = len(w)
    first = stride * 1 + dil * 1 + offset  # the lowest entry read, 1-based
    last = stride * n_out + dil * k + offset
    lo = max(0, 1 - first)
    hi = max(0, last - d)
    xp = np.pad(x, ((lo, hi), (0, 0)))  # xp[q - 1 + lo] = x_q, zeros outside
    h = np.zeros((n_out, b))
    for e in range(b):
        for i in range(1, n_out + 1):
            s = beta
            for j in range(1, k + 1):
                q = stride * i + dil * j + offset
                s += w[j - 1] * xp[q - 1 + lo, e]
            h[i - 1, e] = np.tanh(s)
    return h


def conv_case(seed, d, n_out, stride, dil, offset, batch=3):
    g = rng(seed)
    x, y = draw(g, d, batch, scale=2.0), draw(g, n_out, batch)
    p = {"ω": draw(g, 3), "β": float(draw(g))}
    h = conv1d_book(x, p["ω"], p["β"], stride, dil, offset, n_out)
    return {"x": x, "y": y}, p, {"h": h, "L": np.sum((h - y) ** 2)}


@spec("10.4_conv_kernel_three")
def conv_kernel_three():
    inputs, p, expected = conv_case(100, 5, 5, 1, 1, -2)
    # eq. 10.4's first line, term by term, as a second independent computation
    x = np.vstack([np.zeros((1, 3)), inputs["x"], np.zeros((1, 3))])
    w = p["ω"]
    z = p["β"] + w[0] * x[0:5] + w[1] * x[1:6] + w[2] * x[2:7]
    assert np.allclose(np.tanh(z), expected["h"], rtol=0, atol=1e-15)
    return inputs, p, expected


def three_terms(x, w):
    """z_i = ω_1 x_{i-1} + ω_2 x_i + ω_3 x_{i+1} with x_0 = x_{D+1} = 0 (eq. 10.3), entry by entry."""
    d, b = x.shape
    z = np.zeros((d, b))
    entry = lambda q, e: x[q - 1, e] if 1 <= q <= d else 0.0
    for e in range(b):
        for i in range(1, d + 1):
            z[i - 1, e] = w[0] * entry(i - 1, e) + w[1] * entry(i, e) + w[2] * entry(i + 1, e)
    return z


@spec("10.3_conv_written_out")
def conv_written_out():
    g = rng(103)
    x, y = draw(g, 5, 3, scale=2.0), draw(g, 5, 3)
    w = draw(g, 3)
    z = three_terms(x, w)
    return {"x": x, "y": y}, {"ω": w}, {"z": z, "L": np.sum((z - y) ** 2)}


def conv2d_book(x, w, beta, stride, dil, offset, n_out):
    """h_{ij} = tanh[β + ∑_{m,n} ω_{mn} x_{s_1 i + d_1 m + c_1, s_2 j + d_2 n + c_2}] for one
    image x (H×W, 1-based subscripts), entries outside the image read as zero: the image is
    padded with np.pad far enough on every side, then read at the shifted index (eq. 10.6)."""
    h, w_ = x.shape
    pad = 2 * max(max(d * w.shape[a] for a, d in enumerate(dil)) + s * n for s, n in zip(stride, n_out))
    xp = np.pad(x, pad)
    out = np.zeros(n_out)
    for i in range(1, n_out[0] + 1):
        for j in range(1, n_out[1] + 1):
            s = beta
            for m in range(1, w.shape[0] + 1):
                for n in range(1, w.shape[1] + 1):
                    q1 = stride[0] * i + dil[0] * m + offset[0]
                    q2 = stride[1] * j + dil[1] * n + offset[1]
                    s += w[m - 1, n - 1] * xp[q1 - 1 + pad, q2 - 1 + pad]
            out[i - 1, j - 1] = np.tanh(s)
    return out


def conv2d_case(seed, size, n_out, kernel, stride, dil, offset, batch=3):
    g = rng(seed)
    xs = [draw(g, *size, scale=2.0) for _ in range(batch)]
    ys = [draw(g, *n_out) for _ in range(batch)]
    p = {"ω": draw(g, *kernel), "β": float(draw(g))}
    hs = [conv2d_book(x, p["ω"], p["β"], stride, dil, offset, n_out) for x in xs]
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs, ys))
    # A batch of images (matrices per example) is the examples' columns side by side.
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"x": side(xs), "y": side(ys)}, p, {"h": side(hs), "L": loss}


@spec("10.6_conv2d_kernel_three")
def conv2d_kernel_three():
    inputs, p, expected = conv2d_case(106, (4, 5), (4, 5), (3, 3), (1, 1), (1, 1), (-2, -2))
    # the same as a sum of nine shifted copies of the zero-bordered image, as a second check
    x0 = inputs["x"][:, :5]
    xb = np.pad(x0, 1)
    z = p["β"] + sum(p["ω"][m, n] * xb[m:m + 4, n:n + 5] for m in range(3) for n in range(3))
    assert np.allclose(np.tanh(z), expected["h"][:, :5], rtol=0, atol=1e-15)
    return inputs, p, expected


@spec("10.6_conv2d_stride_two")
def conv2d_stride_two():
    return conv2d_case(107, (5, 6), (3, 3), (3, 3), (2, 2), (1, 1), (-2, -2))


@spec("10.6_conv2d_dilated")
def conv2d_dilated():
    return conv2d_case(108, (5, 4), (5, 4), (3, 2), (1, 1), (2, 1), (-4, -1))


def max_pool_2x2(h):
    """§10.4: the maximum of each 2×2 region of one image (sizes even)."""
    r, c = h.shape
    return h.reshape(r // 2, 2, c // 2, 2).max(axis=(1, 3))


@spec("10.4_max_pool_flatten")
def max_pool_flatten():
    g = rng(1041)
    xs = [draw(g, 4, 6, scale=2.0) for _ in range(3)]
    ys = [draw(g, 3) for _ in range(3)]
    p = {"ω": draw(g, 3, 3), "β": float(draw(g)), "Ω": draw(g, 3, 6), "β_1": draw(g, 3)}
    hs = [conv2d_book(x, p["ω"], p["β"], (1, 1), (1, 1), (-2, -2), (4, 6)) for x in xs]
    ps = [max_pool_2x2(h) for h in hs]
    for h, q in zip(hs, ps):  # the regions written out, as a second check
        for i in range(2):
            for j in range(3):
                assert q[i, j] == max(h[2 * i, 2 * j], h[2 * i, 2 * j + 1], h[2 * i + 1, 2 * j], h[2 * i + 1, 2 * j + 1])
    # vec[p]: the columns one under the other (Fortran order).
    fs = [p["β_1"] + p["Ω"] @ q.flatten(order="F") for q in ps]
    loss = sum(np.sum((f - y) ** 2) for f, y in zip(fs, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    col = lambda vs: np.stack(vs, axis=1)
    return {"x": side(xs), "y": col(ys)}, p, {"h": side(hs), "p": side(ps), "f": col(fs), "L": loss}


@spec("10.4_conv_terms_activation")
def conv_terms_activation():
    inputs, p, expected = conv_case(104, 5, 5, 1, 1, -2)
    assert np.allclose(np.tanh(p["β"] + three_terms(inputs["x"], p["ω"])), expected["h"], rtol=0, atol=1e-15)
    return inputs, p, expected


@spec("10.4_conv_stride_two")
def conv_stride_two():
    return conv_case(101, 6, 3, 2, 1, -2)


@spec("10.4_conv_dilated")
def conv_dilated():
    return conv_case(102, 6, 6, 1, 2, -4)


# ---------------------------------------------------------------- channels (§10.2.7)


def conv2d_channels_book(x, w, beta, stride, n_out):
    """Eq. 10.6 with channels, 1-based as printed: h_{c,i,j} = tanh[β_c + ∑_{c'} ∑_{m=1}^{3}
    ∑_{n=1}^{3} ω_{c,c',m,n} x_{c', s·i+m-2, s·j+n-2}], an entry outside the image zero."""
    c_out, c_in, k1, k2 = w.shape
    _, h, wd = x.shape
    out = np.zeros((c_out,) + n_out)
    for c in range(1, c_out + 1):
        for i in range(1, n_out[0] + 1):
            for j in range(1, n_out[1] + 1):
                z = beta[c - 1]
                for cp in range(1, c_in + 1):
                    for m in range(1, k1 + 1):
                        for n in range(1, k2 + 1):
                            r, q = stride * i + m - 2, stride * j + n - 2
                            if 1 <= r <= h and 1 <= q <= wd:
                                z += w[c - 1, cp - 1, m - 1, n - 1] * x[cp - 1, r - 1, q - 1]
                out[c - 1, i - 1, j - 1] = np.tanh(z)
    return out


def chan_layout(ts):
    """Images C×H×W per example in the layout of docs/EVAL.md: C × (H·W·B), each example's
    block column-major (the row index fastest)."""
    return np.concatenate([t.reshape(t.shape[0], -1, order="F") for t in ts], axis=1)


def kernel_layout(w):
    """A kernel C_o×C_i×K×L as the matrix C_o × (C_i·K·L), column-major."""
    return w.reshape(w.shape[0], -1, order="F")


def conv2d_channels_case(seed, c_in, c_out, size, n_out, stride, batch=3):
    g = rng(seed)
    xs = [draw(g, c_in, *size, scale=2.0) for _ in range(batch)]
    ys = [draw(g, c_out, *n_out) for _ in range(batch)]
    w, beta = draw(g, c_out, c_in, 3, 3), draw(g, c_out)
    hs = [conv2d_channels_book(x, w, beta, stride, n_out) for x in xs]
    # Each output channel with one input channel is eq. 10.6 as printed: the sum over c'
    # of the one-channel convolutions, as a second check.
    for x, h in zip(xs, hs):
        for c in range(c_out):
            z = beta[c] + sum(
                np.arctanh(conv2d_channels_book(x[cp : cp + 1], w[c : c + 1, cp : cp + 1], [0.0], stride, n_out))[0]
                for cp in range(c_in)
            )
            assert np.allclose(np.tanh(z), h[c], rtol=0, atol=1e-9)
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs, ys))
    p = {"ω": kernel_layout(w), "β": beta}
    return {"x": chan_layout(xs), "y": chan_layout(ys)}, p, {"h": chan_layout(hs), "L": loss}


@spec("10.6_conv2d_channels")
def conv2d_channels():
    return conv2d_channels_case(110, 2, 3, (4, 5), (4, 5), 1)


@spec("10.6_conv2d_channels_stride_two")
def conv2d_channels_stride_two():
    return conv2d_channels_case(111, 2, 3, (5, 6), (3, 3), 2)


@spec("10.4_max_pool_channels")
def max_pool_channels():
    g = rng(112)
    batch, (h, wd), d_o = 3, (4, 6), 2
    xs = [draw(g, 1, h, wd, scale=2.0) for _ in range(batch)]
    ys = [draw(g, d_o) for _ in range(batch)]
    w, beta = draw(g, 2, 1, 3, 3), draw(g, 2)
    p = {"ω": kernel_layout(w), "β": beta, "Ω": draw(g, d_o, 12), "β_1": draw(g, d_o)}
    hs = [conv2d_channels_book(x, w, beta, 1, (h, wd)) for x in xs]
    # Each channel pooled alone: the maximum of each 2×2 region (§10.4).
    ps = [np.stack([max_pool_2x2(hc) for hc in hh]) for hh in hs]
    # vec[p] column-major, the channel fastest.
    fs = [p["β_1"] + p["Ω"] @ q.flatten(order="F") for q in ps]
    loss = sum(np.sum((f - y) ** 2) for f, y in zip(fs, ys))
    col = lambda vs: np.stack(vs, axis=1)
    return {"x": chan_layout(xs), "y": col(ys)}, p, {"h": chan_layout(hs), "p": chan_layout(ps), "f": col(fs), "L": loss}


def mean_pool_2x2(h):
    """§10.4.1: the mean of each 2×2 region of one image (sizes even)."""
    r, c = h.shape
    return h.reshape(r // 2, 2, c // 2, 2).mean(axis=(1, 3))


def upsample_2x2(h):
    """§10.4.2: each position duplicated into a 2×2 block (np.kron with a block of ones)."""
    return np.kron(h, np.ones((2, 2)))


@spec("10.4_mean_pool")
def mean_pool_channels():
    g = rng(1043)
    batch, (h, wd), d_o = 3, (4, 6), 2
    xs = [draw(g, 1, h, wd, scale=2.0) for _ in range(batch)]
    ys = [draw(g, d_o) for _ in range(batch)]
    w, beta = draw(g, 2, 1, 3, 3), draw(g, 2)
    p = {"ω": kernel_layout(w), "β": beta, "Ω": draw(g, d_o, 12), "β_1": draw(g, d_o)}
    hs = [conv2d_channels_book(x, w, beta, 1, (h, wd)) for x in xs]
    ps = [np.stack([mean_pool_2x2(hc) for hc in hh]) for hh in hs]
    for hh, q in zip(hs, ps):  # the regions written out, as a second check
        for c in range(2):
            for i in range(2):
                for j in range(3):
                    region = hh[c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                    assert abs(q[c, i, j] - region.sum() / 4) < 1e-15
    fs = [p["β_1"] + p["Ω"] @ q.flatten(order="F") for q in ps]
    loss = sum(np.sum((f - y) ** 2) for f, y in zip(fs, ys))
    col = lambda vs: np.stack(vs, axis=1)
    return {"x": chan_layout(xs), "y": col(ys)}, p, {"h": chan_layout(hs), "p": chan_layout(ps), "f": col(fs), "L": loss}


@spec("10.4_upsample")
def upsample_channels():
    g = rng(1044)
    batch, (h, wd), d_o = 3, (2, 3), 2
    xs = [draw(g, 2, h, wd, scale=2.0) for _ in range(batch)]
    ys = [draw(g, d_o) for _ in range(batch)]
    w, beta = draw(g, 2, 2, 3, 3), draw(g, 2)
    w2, beta2 = draw(g, 1, 2, 3, 3), draw(g, 1)
    p = {"ω": kernel_layout(w), "β": beta, "ω'": kernel_layout(w2), "β'": beta2,
         "Ω": draw(g, d_o, 6), "β_1": draw(g, d_o)}
    hs = [conv2d_channels_book(x, w, beta, 1, (h, wd)) for x in xs]
    us = [np.stack([upsample_2x2(hc) for hc in hh]) for hh in hs]
    for hh, u in zip(hs, us):  # every position four times, as a second check
        for c in range(2):
            for i in range(4):
                for j in range(6):
                    assert u[c, i, j] == hh[c, i // 2, j // 2]
    h2s = [conv2d_channels_book(u, w2, beta2, 2, (h, wd)) for u in us]
    fs = [p["β_1"] + p["Ω"] @ q.flatten(order="F") for q in h2s]
    loss = sum(np.sum((f - y) ** 2) for f, y in zip(fs, ys))
    col = lambda vs: np.stack(vs, axis=1)
    return {"x": chan_layout(xs), "y": col(ys)}, p, {"h": chan_layout(hs), "u": chan_layout(us), "h'": chan_layout(h2s), "f": col(fs), "L": loss}


@spec("10.4_mean_pool_upsample")
def mean_pool_upsample():
    g = rng(1045)
    xs = [draw(g, 4, 6, scale=2.0) for _ in range(3)]
    ys = [draw(g, 3) for _ in range(3)]
    p = {"ω": draw(g, 3, 3), "β": float(draw(g)), "Ω": draw(g, 3, 24), "β_1": draw(g, 3)}
    hs = [conv2d_book(x, p["ω"], p["β"], (1, 1), (1, 1), (-2, -2), (4, 6)) for x in xs]
    ps = [mean_pool_2x2(h) for h in hs]
    us = [upsample_2x2(q) for q in ps]
    fs = [p["β_1"] + p["Ω"] @ u.flatten(order="F") for u in us]
    loss = sum(np.sum((f - y) ** 2) for f, y in zip(fs, ys))
    side = lambda ms: np.concatenate(ms, axis=1)
    col = lambda vs: np.stack(vs, axis=1)
    return {"x": side(xs), "y": col(ys)}, p, {"h": side(hs), "p": side(ps), "u": side(us), "f": col(fs), "L": loss}


# ---------------------------------------------------------------- max, min, argmax


def no_ties(z, axis=0):
    """The two largest and the two smallest entries along `axis` differ: no subgradient at the
    test point."""
    srt = np.sort(z, axis=axis)
    assert np.all(np.diff(srt, axis=axis)[0] > 1e-3) and np.all(np.diff(srt, axis=axis)[-1] > 1e-3)


@spec("svm_multiclass_hinge")
def svm_multiclass_hinge():
    g, x, p, s = linear_classifier(70, 3)
    y = np.array([1, 0, 2, 2])  # labels in {0 … K-1}
    b = np.arange(4)
    loss_i = np.zeros(4)
    for i in range(4):  # L_i = ∑_{j ≠ y_i} max(0, S_j − S_{y_i} + 1)
        for j in range(3):
            if j != y[i]:
                margin = s[j, i] - s[y[i], i] + 1
                assert abs(margin) > 1e-3
                loss_i[i] += max(0.0, margin)
    assert np.allclose(loss_i, np.maximum(0, s - s[y, b] + 1).sum(axis=0) - 1)
    out = {"S": s, "ℓ": loss_i, "a": loss_i, "m": loss_i, "h": loss_i, "L": loss_i.sum()}
    return {"x": x, "y": y}, p, out


@spec("elastic_net")
def elastic_net():
    g = rng(72)
    d_i, k = 3, 2
    x, y = draw(g, d_i, 4, scale=2.0), draw(g, k, 4)
    p = {"b": draw(g, k), "w": draw(g, k, d_i)}
    p["w"][1, 2] = 0.0  # the subgradient of |·| at 0 is 0
    beta, lam = 0.5, 0.25
    f = bias(p["b"]) + p["w"] @ x
    r1 = sum(abs(p["w"][a, c]) for a in range(k) for c in range(d_i))  # ∑_k ∑_l |w_{k,l}|
    r = sum(beta * p["w"][a, c] ** 2 + lam * abs(p["w"][a, c]) for a in range(k) for c in range(d_i))
    out = {"f": f, "R_1": r1, "R": r, "R'": r, "L": np.sum((y - f) ** 2) + r}
    return {"x": x, "y": y}, p, out


@spec("maxout")
def maxout():
    g = rng(71)
    d_i, d, k = 3, 4, 3
    x, y = draw(g, d_i, 4, scale=2.0), draw(g, d, 4)
    p = {}
    for j in range(1, k + 1):
        p[f"W_{j}"] = draw(g, d_i, d)
        p[f"b_{j}"] = draw(g, d)
    z = np.stack([p[f"W_{j}"].T @ x + bias(p[f"b_{j}"]) for j in range(1, k + 1)])
    no_ties(z)
    h = z.max(axis=0)  # Maxout(x) = max_k z_k
    m = z.min(axis=0)
    out = {f"z_{j}": z[j - 1] for j in range(1, k + 1)}
    out.update({"h": h, "h'": h, "h''": h, "m": m, "L": np.sum((h + m - y) ** 2)})
    return {"x": x, "y": y}, p, out


@spec("19.16_deep_q_loss")
def deep_q_loss():
    g = rng(72)
    d_s, a, gamma = 3, 4, 0.9
    s, s1, r = draw(g, d_s, 4, scale=2.0), draw(g, d_s, 4, scale=2.0), draw(g, 4)
    y = np.array([2, 4, 1, 3])  # the actions taken, in {1 … A}
    p = {"β": draw(g, a), "Ω": draw(g, a, d_s)}
    q = bias(p["β"]) + p["Ω"] @ s
    q1 = bias(p["β"]) + p["Ω"] @ s1
    no_ties(q1)
    v = q1.max(axis=0)  # max_a q[s_{t+1}, a, φ]
    best = q1.argmax(axis=0) + 1  # counted from 1, as a runs over {1 … A}
    loss_i = (r + gamma * v - q[y - 1, np.arange(4)]) ** 2  # (19.16)
    out = {"q'": q1, "v": v, "g": best, "w": q1.min(axis=0), "ℓ": loss_i, "L": loss_i.sum()}
    return {"s": s, "s'": s1, "r": r, "y": y}, p, out

@spec("19.15_tabular_td_loss")
def tabular_td_loss():
    g = rng(1915)
    n_s, n_a, gamma, b = 5, 3, 0.9, 6
    s = np.array([1, 3, 5, 2, 3, 4])  # states in {1 … S}
    a = np.array([2, 1, 3, 3, 2, 1])  # actions taken in {1 … A}
    s1 = np.array([3, 5, 1, 4, 2, 2])  # next states
    r = draw(g, b)
    p = {"q": draw(g, n_s, n_a, scale=2.0), "v": draw(g, n_s, scale=2.0)}
    q_next = p["q"][s1 - 1, :]  # each example's row q[s', ·]
    no_ties(q_next.T)
    m = q_next.max(axis=1)  # max_a q[s', a]
    best = q_next.argmax(axis=1) + 1
    delta = r + gamma * m - p["q"][s - 1, a - 1]  # (19.15)
    u = r + gamma * p["v"][s1 - 1] - p["v"][s - 1]
    loss = np.sum(delta**2 + u**2)
    out = {"m": m, "g": best, "δ": delta, "u": u, "L": loss}
    return {"s": s, "a": a, "r": r, "s'": s1}, p, out


@spec("6.17_adam_step")
def adam_step():
    g = rng(6171)
    alpha, beta, gamma, eps = 0.05, 0.9, 0.999, 1e-8
    x, y = draw(g, 6), draw(g, 6)
    phi, m = draw(g, 2), draw(g, 2)
    v = np.abs(draw(g, 2))  # a second moment is not negative
    t = 3.0  # three steps taken before this one
    res = phi[0] + phi[1] * x - y
    loss = np.sum(res**2)  # (6.5)
    grad = np.array([np.sum(2 * res), np.sum(2 * x * res)])  # (6.7), summed (6.10)
    m1 = beta * m + (1 - beta) * grad  # (6.15)
    v1 = gamma * v + (1 - gamma) * grad**2
    m_hat = m1 / (1 - beta ** (t + 1))  # (6.16)
    v_hat = v1 / (1 - gamma ** (t + 1))
    phi1 = phi - alpha * m_hat / (np.sqrt(v_hat) + eps)  # (6.17)
    return (
        {"x": x, "y": y},
        {"φ": phi, "m": m, "v": v, "t": np.array(t)},
        {"L": loss, "m ←": m1, "v ←": v1, "φ ←": phi1, "t ←": np.array(t + 1)},
    )


@spec("19.15_q_learning_update")
def q_learning_update():
    g = rng(19151)
    n_s, n_a, alpha, gamma = 5, 3, 0.3, 0.9
    s = np.array([1, 3, 5, 2, 3])  # s_t in {1 … S}
    a = np.array([2, 1, 3, 3, 2])  # a_t in {1 … A}
    s1 = np.array([3, 5, 1, 4, 2])  # s_{t+1}
    r = draw(g, 5)
    q = draw(g, n_s, n_a, scale=2.0)
    nxt = q[s1 - 1, :]
    no_ties(nxt.T)
    old = q[s - 1, a - 1]
    new = old + alpha * (r + gamma * nxt.max(axis=1) - old)  # (19.15)
    return {"s": s, "a": a, "r": r, "s'": s1}, {"q": q}, {"q ←": new}


@spec("19.11_policy_evaluation_improvement")
def policy_evaluation_improvement():
    g = rng(19111)
    n_s, n_a, gamma = 16, 4, 0.9
    s = np.array([1, 6, 11, 16, 3, 6])  # the states of the batch, in {1 … S}
    v = draw(g, n_s, scale=2.0)
    pi = g.integers(1, n_a + 1, size=n_s)  # a deterministic policy: an action per state
    r = draw(g, n_s, n_a)
    # Pr[s, a, s'], each (s, a) a distribution over the next states.
    w = np.round(g.uniform(0.0, 1.0, size=(n_s, n_a, n_s)), 2) + 0.01
    pr = w / w.sum(axis=2, keepdims=True)
    q = r + gamma * pr @ v  # r[s, a] + γ ∑_{s'} Pr(s'|s, a) v[s']
    no_ties(q[s - 1].T)
    act = pi[s - 1]
    new_v = r[s - 1, act - 1] + gamma * (pr[s - 1, act - 1, :] @ v)  # (19.11)
    new_pi = q[s - 1].argmax(axis=1) + 1  # (19.12)
    # The layout of the environment's transitions: row s, column a·S + s' (from 0).
    pr_table = pr.reshape(n_s, n_a * n_s)
    params = {"v": v, "π": pi.astype(float), "r": r, "Pr": pr_table}
    return {"s": s}, params, {"v ←": new_v, "π ←": new_pi.astype(float)}


@spec("19.14_sarsa_update")
def sarsa_update():
    g = rng(19141)
    n_s, n_a, alpha, gamma = 5, 3, 0.3, 0.9
    s = np.array([1, 3, 5, 2, 3])
    a = np.array([2, 1, 3, 3, 2])
    s1 = np.array([3, 5, 1, 4, 2])
    a1 = np.array([1, 3, 2, 2, 3])  # a_{t+1}, the action taken next
    r = draw(g, 5)
    q = draw(g, n_s, n_a, scale=2.0)
    old = q[s - 1, a - 1]
    new = old + alpha * (r + gamma * q[s1 - 1, a1 - 1] - old)  # (19.14)
    return {"s": s, "a": a, "r": r, "s'": s1, "a'": a1}, {"q": q}, {"q ←": new}


@spec("19.18_deep_q_frozen_target")
def deep_q_frozen_target():
    g = rng(1918)
    d_s, a, gamma = 3, 4, 0.9
    s, s1, r = draw(g, d_s, 4, scale=2.0), draw(g, d_s, 4, scale=2.0), draw(g, 4)
    y = np.array([3, 1, 4, 2])  # the actions taken, in {1 … A}
    p = {"β": draw(g, a), "Ω": draw(g, a, d_s)}
    # The frozen copy φ⁻: its own values (an older φ), unlike φ's.
    p["β⁻"], p["Ω⁻"] = draw(g, a), draw(g, a, d_s)
    q = bias(p["β"]) + p["Ω"] @ s
    q_frozen = bias(p["β⁻"]) + p["Ω⁻"] @ s1  # q[s_{t+1}, ·, φ⁻]
    no_ties(q_frozen)
    v = q_frozen.max(axis=0)
    loss_i = (r + gamma * v - q[y - 1, np.arange(4)]) ** 2  # (19.18)
    return {"s": s, "s'": s1, "r": r, "y": y}, p, {"v": v, "ℓ": loss_i, "L": loss_i.sum()}


@spec("19.38_reinforce_baseline")
def reinforce_baseline():
    g = rng(1938)
    d_s, n_a, b = 3, 4, 5
    s, ret = draw(g, d_s, b, scale=2.0), draw(g, b, scale=3.0)
    a = np.array([2, 4, 1, 3, 2])  # the actions taken, in {1 … A}
    p = {"β": draw(g, n_a), "Ω": draw(g, n_a, d_s), "ψ": draw(g, 1)[0], "Ψ": draw(g, 1, d_s)}
    pi = softmax(bias(p["β"]) + p["Ω"] @ s)  # (19.45), one column per state
    taken = pi[a - 1, np.arange(b)]  # π[a_i|s_i, θ]
    v = p["ψ"] + (p["Ψ"] @ s)[0]  # the baseline b[s_i] = v[s_i, ω]
    loss_i = -(ret - v) * np.log(taken)  # (19.38)
    out = {"π": pi, "v": v, "p": taken, "ℓ": loss_i, "L": loss_i.sum(), "L'": np.sum((v - ret) ** 2)}
    return {"s": s, "G": ret, "a": a}, p, out


@spec("ppo_clipped_objective")
def ppo_clipped_objective():
    g = rng(2017)
    d_s, n_a, b, eps = 3, 4, 6, 0.2
    s, ret = draw(g, d_s, b, scale=2.0), draw(g, b, scale=3.0)
    a = np.array([1, 3, 4, 2, 3, 1])  # the actions taken, in {1 … A}
    p = {"β": draw(g, n_a), "Ω": draw(g, n_a, d_s), "ψ": draw(g, 1)[0], "Ψ": draw(g, 1, d_s)}
    # The policy that played, θ⁻: its own values, unlike θ's.
    p["β⁻"], p["Ω⁻"] = draw(g, n_a), draw(g, n_a, d_s)
    cols = np.arange(b)
    pi = softmax(bias(p["β"]) + p["Ω"] @ s)[a - 1, cols]
    pi_old = softmax(bias(p["β⁻"]) + p["Ω⁻"] @ s)[a - 1, cols]
    ratio = pi / pi_old
    assert np.all(np.abs(ratio - (1 - eps)) > 1e-3) and np.all(np.abs(ratio - (1 + eps)) > 1e-3)
    assert np.any(ratio < 1 - eps) and np.any(ratio > 1 + eps)
    v = p["ψ"] + (p["Ψ"] @ s)[0]
    adv = ret - v
    clipped = np.clip(ratio, 1 - eps, 1 + eps)
    loss_i = -np.minimum(ratio * adv, clipped * adv)
    out = {"ρ": ratio, "Â": adv, "ℓ": loss_i, "L": loss_i.sum(), "L'": np.sum((v - ret) ** 2)}
    return {"s": s, "G": ret, "a": a}, p, out


@spec("10.4_max_unpool")
def max_unpool_channels():
    g = rng(1046)
    batch, (h, wd), d_o = 3, (4, 6), 2
    xs = [draw(g, 1, h, wd, scale=2.0) for _ in range(batch)]
    ys = [draw(g, d_o) for _ in range(batch)]
    w, beta = draw(g, 2, 1, 3, 3), draw(g, 2)
    p = {"ω": kernel_layout(w), "β": beta, "Ω": draw(g, d_o, 48), "β_1": draw(g, d_o)}
    hs = [conv2d_channels_book(x, w, beta, 1, (h, wd)) for x in xs]
    ps = [np.stack([max_pool_2x2(hc) for hc in hh]) for hh in hs]

    def unpool(q, hh):
        """Each value of q put at the position of its region's maximum in hh (the first in
        row-major order at a tie; the test has none), zeros elsewhere."""
        u = np.zeros_like(hh)
        for c in range(hh.shape[0]):
            for i in range(hh.shape[1] // 2):
                for j in range(hh.shape[2] // 2):
                    region = hh[c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                    assert len(set(region.flatten())) == 4  # no tie
                    k = int(np.argmax(region.flatten()))
                    u[c, 2 * i + k // 2, 2 * j + k % 2] = q[c, i, j]
        return u

    us = [unpool(np.tanh(q), hh) for q, hh in zip(ps, hs)]
    fs = [p["β_1"] + p["Ω"] @ u.flatten(order="F") for u in us]
    loss = sum(np.sum((f - y) ** 2) for f, y in zip(fs, ys))
    col = lambda vs: np.stack(vs, axis=1)
    return {"x": chan_layout(xs), "y": col(ys)}, p, {"h": chan_layout(hs), "p": chan_layout(ps), "u": chan_layout(us), "f": col(fs), "L": loss}


# ---------------------------------------------------------------- transposed convolution (§10.4.2)


@spec("10.5_transposed_conv")
def transposed_conv():
    g = rng(1051)
    batch, d, d_h = 4, 4, 8
    xs = [draw(g, d, scale=2.0) for _ in range(batch)]
    ys = [draw(g, d_h) for _ in range(batch)]
    w, beta = draw(g, 3), float(draw(g))
    # The matrix C of the convolution with stride two from ℝ^8 to ℝ^4 (eq. 10.4 with x_{2i+j-2},
    # 1-based, entries outside 1 … 8 zero padding), built row by row; the transposed
    # convolution is Cᵀ.
    c = np.zeros((d, d_h))
    for i in range(1, d + 1):
        for j in range(1, 4):
            col = 2 * i + j - 2
            if 1 <= col <= d_h:
                c[i - 1, col - 1] = w[j - 1]
    hs = [np.tanh(beta + c.T @ x) for x in xs]
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs, ys))
    col = lambda vs: np.stack(vs, axis=1)
    return {"x": col(xs), "y": col(ys)}, {"ω": w, "β": beta}, {"h": col(hs), "L": loss}


@spec("10.5_transposed_conv2d_channels")
def transposed_conv2d_channels():
    g = rng(1052)
    batch, c_in, c_out, (hh, ww), (ho, wo) = 3, 2, 3, (3, 3), (6, 6)
    xs = [draw(g, c_in, hh, ww, scale=2.0) for _ in range(batch)]
    ys = [draw(g, c_out, ho, wo) for _ in range(batch)]
    w, beta = draw(g, c_in, c_out, 3, 3), draw(g, c_out)

    def book(x):
        """The definition looped, 1-based: h_{cij} = tanh[β_c + ∑_{c'} ∑_m ∑_n
        ω_{c',c,i-2m+3,j-2n+3} x_{c',m,n}], a kernel index outside 1 … 3 contributing zero."""
        h = np.zeros((c_out, ho, wo))
        for c in range(1, c_out + 1):
            for i in range(1, ho + 1):
                for j in range(1, wo + 1):
                    z = beta[c - 1]
                    for cp in range(1, c_in + 1):
                        for m in range(1, hh + 1):
                            for n in range(1, ww + 1):
                                k, l = i - 2 * m + 3, j - 2 * n + 3
                                if 1 <= k <= 3 and 1 <= l <= 3:
                                    z += w[cp - 1, c - 1, k - 1, l - 1] * x[cp - 1, m - 1, n - 1]
                    h[c - 1, i - 1, j - 1] = np.tanh(z)
        return h

    hs = [book(x) for x in xs]
    # As a second check: the transpose of the matrix of the convolution with stride two and
    # padding one from three channels of 6×6 to two of 3×3 (kernel ω), applied to vec[x].
    big = np.zeros((c_in * hh * ww, c_out * ho * wo))
    idx_x = lambda c, i, j: (c * hh + i) * ww + j
    idx_h = lambda c, i, j: (c * ho + i) * wo + j
    for cp in range(c_in):
        for o1 in range(hh):
            for o2 in range(ww):
                for c in range(c_out):
                    for m in range(3):
                        for n in range(3):
                            q1, q2 = 2 * o1 + m - 1, 2 * o2 + n - 1
                            if 0 <= q1 < ho and 0 <= q2 < wo:
                                big[idx_x(cp, o1, o2), idx_h(c, q1, q2)] += w[cp, c, m, n]
    for x, h in zip(xs, hs):
        z = (big.T @ x.reshape(-1)).reshape(c_out, ho, wo) + beta[:, None, None]
        assert np.allclose(np.tanh(z), h, rtol=0, atol=1e-14)
    loss = sum(np.sum((h - y) ** 2) for h, y in zip(hs, ys))
    return {"x": chan_layout(xs), "y": chan_layout(ys)}, {"ω": kernel_layout(w), "β": beta}, {"h": chan_layout(hs), "L": loss}


def attention_data(seed, b, n, d):
    g = rng(seed)
    xs = [draw(g, d, n) for _ in range(b)]  # one D×N matrix of tokens per example
    ys = [draw(g, d, n) for _ in range(b)]
    return g, xs, ys


@spec("attention_additive")
def attention_additive():
    # Course notes (003): score(q, k) = W_qᵀ tanh(W_k q + W_k k), a softmax over the keys m
    # for each query n, output column n = ∑_m v_m a_{mn}.
    g, xs, ys = attention_data(61, 2, 3, 4)
    dq, dh = 2, 3
    p = {"Ω_v": draw(g, 4, 4), "Ω_q": draw(g, dq, 4), "Ω_k": draw(g, dq, 4),
         "W_q": draw(g, dh), "W_k": draw(g, dh, dq)}
    sas, loss = [], 0.0
    for x, y in zip(xs, ys):
        v, q, k = p["Ω_v"] @ x, p["Ω_q"] @ x, p["Ω_k"] @ x
        sa = np.zeros_like(v)
        for col in range(x.shape[1]):
            scores = np.array([p["W_q"] @ np.tanh(p["W_k"] @ q[:, col] + p["W_k"] @ k[:, m])
                               for m in range(x.shape[1])])
            w = np.exp(scores - scores.max())
            sa[:, col] = v @ (w / w.sum())
        sas.append(sa)
        loss += np.sum((sa - y) ** 2)
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {"Sa": side(sas), "L": loss}


def nadaraya_watson(p, xs, ys, norm):
    """Output column n = ∑_m v_m K(q_n − k_m) / ∑_l K(q_n − k_l), K the Gaussian kernel."""
    kern = lambda u: np.exp(-norm(u) ** 2 / 2) / math.sqrt(2 * math.pi)
    sas, loss = [], 0.0
    for x, y in zip(xs, ys):
        v, q, k = p["Ω_v"] @ x, p["Ω_q"] @ x, p["Ω_k"] @ x
        n = x.shape[1]
        sa = np.zeros_like(v)
        for col in range(n):
            w = np.array([kern(q[:, col] - k[:, m]) for m in range(n)])
            sa[:, col] = v @ (w / w.sum())
        sas.append(sa)
        loss += np.sum((sa - y) ** 2)
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {"Sa": side(sas), "L": loss}


@spec("attention_gaussian_kernel")
def attention_gaussian_kernel():
    g, xs, ys = attention_data(67, 2, 3, 4)
    p = {"Ω_v": draw(g, 4, 4), "Ω_q": draw(g, 2, 4), "Ω_k": draw(g, 2, 4)}
    return nadaraya_watson(p, xs, ys, np.linalg.norm)


@spec("attention_gaussian_kernel_scalar")
def attention_gaussian_kernel_scalar():
    g, xs, ys = attention_data(71, 2, 4, 3)
    p = {"Ω_v": draw(g, 3, 3), "Ω_q": draw(g, 1, 3), "Ω_k": draw(g, 1, 3)}
    return nadaraya_watson(p, xs, ys, lambda u: abs(u[0]))


@spec("attention_batched_rows")
def attention_batched_rows():
    # Course notes (003): softmax(Q Kᵀ/√d) V with the tokens as rows, the softmax of each row.
    g = rng(73)
    b, n, d_model, d = 2, 3, 4, 2
    xs = [draw(g, n, d_model) for _ in range(b)]  # one N×D matrix per example, tokens as rows
    ys = [draw(g, n, d_model) for _ in range(b)]
    p = {"W_q": draw(g, d_model, d), "W_k": draw(g, d_model, d), "W_v": draw(g, d_model, d_model)}
    sas, loss = [], 0.0
    for x, y in zip(xs, ys):
        q, k, v = x @ p["W_q"], x @ p["W_k"], x @ p["W_v"]
        s = q @ k.T / math.sqrt(d)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        sa = (e / e.sum(axis=1, keepdims=True)) @ v
        sas.append(sa)
        loss += np.sum((sa - y) ** 2)
    side = lambda ms: np.concatenate(ms, axis=1)
    return {"X": side(xs), "Y": side(ys)}, p, {"Sa": side(sas), "L": loss}


@spec("mf_objective")
def mf_objective():
    # Course notes (004): J(U, V) = ½ ∑_{(i,j)∈Ω} (r_ij − u_iᵀ v_j)² + λ(‖U‖_F² + ‖V‖_F²),
    # u_i the row i of U; Ω the observed pairs, one example each (1-based labels).
    g = rng(79)
    m, n, k, lam = 4, 3, 2, 0.3
    omega = [(1, 1), (1, 3), (2, 2), (3, 1), (4, 3), (4, 2), (2, 3)]
    U, V = draw(g, m, k), draw(g, n, k)
    r = draw(g, len(omega), scale=2.0)
    pred = np.array([U[i - 1] @ V[j - 1] for i, j in omega])
    J = 0.5 * np.sum((r - pred) ** 2) + lam * (np.sum(U ** 2) + np.sum(V ** 2))
    inputs = {"i": [i for i, _ in omega], "j": [j for _, j in omega], "r": r}
    return inputs, {"U": U, "V": V}, {"f": pred, "J": J}


@spec("mf_objective_printed")
def mf_objective_printed():
    # Course notes (004) as printed: ½ ∑_{(i,j)∈Ω} (r_ij − u_iᵀ v_j)² + λ(‖U‖_F² + ‖V‖_F²) with
    # Ω the observed pairs, one example each, and u_i the row i of U (1-based labels); the
    # rows themselves (`a = u_i`, K rows of one number per pair) and their dot products.
    g = rng(83)
    m, n, k, lam = 5, 4, 3, 0.2
    omega = [(1, 2), (5, 4), (2, 2), (3, 1), (5, 1), (4, 3), (1, 4), (2, 3)]
    U, V = draw(g, m, k), draw(g, n, k)
    r = draw(g, len(omega), scale=2.0)
    rows = np.array([U[i - 1] for i, _ in omega]).T
    pred = np.array([sum(U[i - 1, c] * V[j - 1, c] for c in range(k)) for i, j in omega])
    J = 0.5 * sum((r[e] - pred[e]) ** 2 for e in range(len(omega)))
    J += lam * (np.linalg.norm(U, "fro") ** 2 + np.linalg.norm(V, "fro") ** 2)
    inputs = {"i": [i for i, _ in omega], "j": [j for _, j in omega], "r": r}
    return inputs, {"U": U, "V": V}, {"a": rows, "p": pred, "J": J}


@spec("mf_objective_comma")
def mf_objective_comma():
    # The same objective with the rating spelled r_{i,j}: still the pair's observed rating,
    # r[e] for pair e; numpy loops over the pairs (1-based labels), the penalty once.
    g = rng(97)
    m, n, k, lam = 4, 5, 2, 0.1
    omega = [(2, 5), (4, 1), (1, 1), (3, 4), (2, 2), (4, 3)]
    U, V = draw(g, m, k), draw(g, n, k)
    r = draw(g, len(omega), scale=2.0)
    pred = np.array([sum(U[i - 1, c] * V[j - 1, c] for c in range(k)) for i, j in omega])
    J = 0.5 * sum((r[e] - pred[e]) ** 2 for e in range(len(omega)))
    J += lam * (np.sum(U**2) + np.sum(V**2))
    inputs = {"i": [i for i, _ in omega], "j": [j for _, j in omega], "r": r}
    return inputs, {"U": U, "V": V}, {"p": pred, "J": J}


@spec("frobenius_norm")
def frobenius_norm():
    # Course notes (004): ‖A‖_F, the Frobenius norm, numpy's matrix norm "fro"; of a vector,
    # the 2-norm.
    g = rng(91)
    A, w = draw(g, 3, 2), draw(g, 3)
    x, y = draw(g, 2, 5, scale=2.0), draw(g, 5)
    fro = np.linalg.norm(A, "fro")
    f = w @ A @ x
    S = fro + np.linalg.norm(w, 2)
    L = np.sum((y - f) ** 2) + 0.3 * fro**2 + S
    return {"x": x, "y": y}, {"A": A, "ω": w}, {"R": fro**2, "S": S, "f": f, "L": L}


@spec("made_masks")
def made_masks():
    # Course notes (002): MADE (Germain et al. 2015, eq. 12-13). Input degrees 1 … D (the
    # ordering), hidden degrees m(k) in 1 … D-1 assigned in turn; hidden unit k sees input d
    # iff m(k) >= d, output d sees hidden unit k iff d > m(k); the binary NLL (5.26).
    g = rng(80)
    d, h = 4, 6
    deg_in = np.arange(1, d + 1)
    deg_h = np.array([(k % (d - 1)) + 1 for k in range(h)])  # 1, 2, 3, 1, 2, 3
    m = (deg_h[:, None] >= deg_in[None, :]).astype(float)
    m2 = (deg_in[:, None] > deg_h[None, :]).astype(float)
    p = {"b": draw(g, h), "W": draw(g, h, d), "c": draw(g, d), "V": draw(g, d, h)}
    x = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 1, 1], [1, 1, 0, 1, 0], [0, 1, 1, 0, 0]])
    hid = relu(p["b"][:, None] + (p["W"] * m) @ x)
    a = p["c"][:, None] + (p["V"] * m2) @ hid
    f = sig(a)  # output d: p(x_d = 1 | x_{<d})
    loss = -np.sum(x * np.log(f) + (1 - x) * np.log(1 - f))
    # The autoregressive property, independently: output d's logit reads only x_1 … x_{d-1}.
    reach = (m2 @ m) > 0
    assert not np.any(np.triu(reach)), reach
    return {"x": x}, p, {"M": m, "M'": m2, "h": hid, "a": a, "f": f, "L": loss}


@spec("nade_conditionals")
def nade_conditionals():
    # Course notes (002): NADE (Larochelle & Murray 2011) by its recurrence over d,
    # h_d = sig(c + W[:, :d-1] x[:d-1]), p_d = sig(b_d + V[:, d-1] . h_d); the binary NLL.
    g = rng(81)
    d, h = 4, 3
    p = {"c": draw(g, h), "W": draw(g, h, d), "b": draw(g, d), "V": draw(g, h, d)}
    x = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 1, 1], [1, 1, 0, 1, 0], [0, 1, 1, 0, 0]])
    f = np.zeros((d, x.shape[1]))
    for n in range(x.shape[1]):
        for k in range(d):
            hk = sig(p["c"] + p["W"][:, :k] @ x[:k, n])
            f[k, n] = sig(p["b"][k] + p["V"][:, k] @ hk)
    loss = -np.sum(x * np.log(f) + (1 - x) * np.log(1 - f))
    return {"x": x}, p, {"f": f, "L": loss}


@spec("wavenet_causal_dilated")
def wavenet_causal_dilated():
    # Course notes (002): WaveNet's causal dilated convolutions, written as loops over the
    # positions with the past zero-padded: h[c, i] = sum_m w[c, m] x[i - 2 + m] (x_{i-2},
    # x_{i-1}), a[c, i] = sum_{c', m} k[c, c', m] h[c', i - 2 + 2m] (h_{i-2}, h_i), the gate.
    g = rng(82)
    d, c, b = 6, 2, 3
    w, k, gm, psi, beta = draw(g, c, 2), draw(g, c, c, 2), draw(g, c, c, 2), draw(g, c), draw(g, 1)
    x = np.array([[1, 0, 1, 1, 0, 1], [0, 1, 1, 0, 0, 1], [1, 1, 0, 0, 1, 0]])
    past = lambda v, t: v[t] if t >= 0 else 0.0  # zero padding on the left only

    f = np.zeros((b, d))
    for e in range(b):
        h = np.array([[sum(w[ch, m] * past(x[e], i - 2 + m) for m in range(2)) for i in range(d)] for ch in range(c)])
        conv = lambda ker: np.array([[sum(ker[ch, cp, m] * past(h[cp], i - 2 + 2 * m) for cp in range(c) for m in range(2)) for i in range(d)] for ch in range(c)])
        h2 = np.tanh(conv(k)) * sig(conv(gm))
        f[e] = sig(beta[0] + psi @ h2)
    loss = -np.sum(x * np.log(f) + (1 - x) * np.log(1 - f))
    # Layouts of docs/EVAL.md: a kernel (c, c', m, n) in column c' + C_i (m + K n); an image
    # of one row, entry i of example e in column i + D e.
    params = {"ω": w, "κ": np.concatenate([k[:, :, m] for m in range(2)], axis=1),
              "γ": np.concatenate([gm[:, :, m] for m in range(2)], axis=1), "ψ": psi[None, :], "β": beta}
    return {"x": x.reshape(1, -1)}, params, {"f": f.reshape(1, -1), "L": loss}


# ---------------------------------------------------------------- output


def dump(value, indent=0):
    """JSON with one line per named array: readable, and stable under regeneration."""
    pad = "  " * indent
    if isinstance(value, dict):
        items = [f'{pad}  {json.dumps(k, ensure_ascii=False)}: {dump(v, indent + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return json.dumps(value, ensure_ascii=False)


def main():
    written = 0
    for name, fn in SPECS.items():
        if not (HERE / f"{name}.nn").exists():
            raise SystemExit(f"values.py: no spec `{name}.nn` for the data of `{name}`")
        inputs, params, expected = fn()
        data = {"params": as_json(params), "inputs": as_json(inputs), "expected": as_json(expected)}
        (HERE / f"{name}.json").write_text(dump(data) + "\n", encoding="utf-8")
        written += 1
    missing = sorted(p.stem for p in HERE.glob("*.nn") if p.stem not in SPECS)
    if missing:
        raise SystemExit(f"values.py: no values for {', '.join(missing)}")
    print(f"wrote {written} data files")


if __name__ == "__main__":
    main()
