//! The PyTorch target: the op table ([`Torch`]'s `Lang::op`) and the module around the
//! exported functions ([`render`]): an `nn.Module` whose parameters are a `ParameterDict`
//! keyed by identifiers (`beta_0`; spec names such as `β_0` or `φ_1.β` are not valid keys),
//! `NAMES` mapping each spec name to its key, `forward` (the model function), one method per
//! loss, and the same `PARAMS`/`INPUTS`/`LABELS`/`NOISE`/`LOSSES`/`TRAINS` tables as the JAX
//! module.

use super::python::{self, float, quoted, structured};
use super::table::{self, Dialect};
use super::{Expr, Function, Lang, Line, Module};
use crate::ir::{Graph, Init, NodeId, Slot, Unary};
use nnspec_ops::init::Law;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The PyTorch target.
pub(super) struct Torch;

/// PyTorch's spellings of the shared op table.
const DIALECT: Dialect = Dialect {
    np: "torch",
    nn: "torch",
    axis: "dim",
    keep: "keepdim",
    dtype: "dtype=_DTYPE",
    concat: "torch.cat",
    repeat: "torch.repeat_interleave",
    take: "torch.take_along_dim",
    stop: "torch.detach",
    diag_embed: "torch.diag_embed",
    int: ".long()",
    unary,
    one_hot: |y, rows| format!("F.one_hot({y}[0], {rows}).T.to(_DTYPE)"),
    pad_rows: |x, before, after| format!("F.pad({x}, (0, 0, {before}, {after}))"),
};

impl Lang for Torch {
    fn reserved(&self) -> &'static [&'static str] {
        &[
            "torch", "nn", "F", "np", "self", "params", "inputs", "and", "as", "assert", "async",
            "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
            "finally", "for", "from", "global", "if", "import", "is", "lambda", "nonlocal", "not",
            "or", "pass", "raise", "return", "try", "while", "with", "yield",
        ]
    }

    fn param(&self, slot: &Slot) -> String {
        format!("params[{}]", quoted(&slot.name))
    }

    fn input(&self, slot: &Slot) -> String {
        if slot.labels.is_some() {
            format!(
                "torch.as_tensor(inputs[{}]).reshape(1, -1)",
                quoted(&slot.name)
            )
        } else {
            format!(
                "torch.as_tensor(inputs[{}], dtype=_DTYPE)",
                quoted(&slot.name)
            )
        }
    }

    fn call_model(&self) -> String {
        "self.forward(inputs)".into()
    }

    fn batch(&self, var: &str, n: usize) -> String {
        match n {
            1 => format!("{var}.shape[1]"),
            n => format!("{var}.shape[1] // {n}"),
        }
    }

    fn op(
        &self,
        g: &Graph,
        id: NodeId,
        args: &[Expr],
        helpers: &mut BTreeSet<&'static str>,
    ) -> Result<Expr, String> {
        table::op(&DIALECT, g, id, args, helpers)
    }
}

/// An element-wise function of `x` (`o`: `x` as an operand).
fn unary(u: Unary, x: &str, o: &str, help: &mut dyn FnMut(&'static str)) -> Result<Expr, String> {
    let call = |f: &str| Expr::atom(format!("{f}({x})"));
    Ok(match u {
        Unary::Neg => Expr::compound(format!("-{o}")),
        Unary::Exp => call("torch.exp"),
        Unary::Log => call("torch.log"),
        Unary::Sin => call("torch.sin"),
        Unary::Cos => call("torch.cos"),
        Unary::Tanh => call("torch.tanh"),
        Unary::Sig => call("torch.sigmoid"),
        Unary::Relu => call("torch.relu"),
        Unary::LRelu(a) => Expr::atom(format!("F.leaky_relu({x}, {})", float(a.0))),
        Unary::Softplus => {
            help("_softplus");
            call("_softplus")
        }
        Unary::HardSwish => call("F.hardswish"),
        Unary::Heaviside => Expr::atom(format!("torch.where({o} >= 0, 1.0, 0.0).to(_DTYPE)")),
        Unary::Rect => {
            help("_rect");
            call("_rect")
        }
        Unary::Sqrt => call("torch.sqrt"),
        Unary::Abs => call("torch.abs"),
        Unary::Sign => call("torch.sign"),
        Unary::Powf(p) if p.0.fract() == 0.0 && p.0.abs() < 1e6 => {
            Expr::compound(format!("{o} ** {}", p.0 as i64))
        }
        Unary::Powf(p) => Expr::compound(format!("{o} ** {}", float(p.0))),
        Unary::Recip => Expr::compound(format!("1.0 / {o}")),
        Unary::HardSwishGrad => return Err("the derivative of `HardSwish`".into()),
    })
}

/// The helpers generated code may call (name, helpers it calls, text).
const HELPERS: &[(&str, &[&str], &str)] = &[
    (
        "_blocks",
        &[],
        "def _blocks(x, n):
    \"\"\"Each example's `r × n` block of a batch `r × nB`, as a `B × r × n` tensor.\"\"\"
    return x.reshape(x.shape[0], -1, n).movedim(1, 0)
",
    ),
    (
        "_columns",
        &[],
        "def _columns(x, n):
    \"\"\"A batch `r × nB` as `r × B × n`: entry `[:, b, k]` is column k of example b.\"\"\"
    return x.reshape(x.shape[0], -1, n)
",
    ),
    (
        "_join",
        &[],
        "def _join(blocks):
    \"\"\"`B × r × n` blocks side by side, the batch outermost: `r × nB`.\"\"\"
    return blocks.movedim(0, 1).reshape(blocks.shape[1], -1)
",
    ),
    (
        "_example_matmul",
        &["_blocks", "_join"],
        "def _example_matmul(a, na, ta, b, nb, tb):
    \"\"\"Per example, `op(a_b) op(b_b)`: `n` columns per example, or `None` for a matrix shared
    by every example; `op` transposes each block when its flag is set.\"\"\"
    a = a if na is None else _blocks(a, na)
    b = b if nb is None else _blocks(b, nb)
    a = a.transpose(-1, -2) if ta else a
    b = b.transpose(-1, -2) if tb else b
    return _join(torch.matmul(a, b))
",
    ),
    (
        "_example_transpose",
        &["_blocks", "_join"],
        "def _example_transpose(x, n):
    \"\"\"Per example, the transpose of its block: `r × nB → n × rB`.\"\"\"
    return _join(_blocks(x, n).transpose(1, 2))
",
    ),
    (
        "_place_column",
        &[],
        "def _place_column(x, k, n):
    \"\"\"`r × B` placed as column k of each example's `r × n` block, zero elsewhere.\"\"\"
    return F.pad(x[:, :, None], (k, n - k - 1)).reshape(x.shape[0], -1)
",
    ),
    (
        "_reshape",
        &["_blocks", "_join"],
        "def _reshape(x, n, rows, cols):
    \"\"\"Each example's numbers, column by column, as a `rows × cols` block (`vec[X]`).\"\"\"
    blocks = _blocks(x, n).transpose(1, 2).reshape(-1, cols, rows)
    return _join(blocks.transpose(1, 2))
",
    ),
    (
        "_rect",
        &[],
        "def _rect(x):
    \"\"\"`rect[x]`: 1 on [0, 1], else 0.\"\"\"
    return torch.where((x >= 0) & (x <= 1), 1.0, 0.0).to(x.dtype)
",
    ),
    (
        "_softplus",
        &[],
        "def _softplus(x):
    \"\"\"`softplus[x] = log[1 + exp[x]]`, as `max(x, 0) + log1p(exp(-|x|))` (PyTorch's own
    returns `x` above a threshold, which is not the same number).\"\"\"
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))
",
    ),
    (
        "_softmask",
        &[],
        "def _softmask(s, m):
    \"\"\"`Softmask[S, M]` (eq. 13.24): column by column, a softmax over the entries where M is
    not zero, exactly zero elsewhere (M of S's shape, or one block shared by every example).\"\"\"
    keep = m.repeat(1, s.shape[1] // m.shape[1]) != 0
    top = torch.amax(torch.where(keep, s, -torch.inf), dim=0, keepdim=True).detach()
    top = torch.where(torch.isfinite(top), top, 0.0)
    e = torch.where(keep, torch.exp(torch.where(keep, s, top) - top), 0.0)
    total = torch.sum(e, dim=0, keepdim=True)
    return e / torch.where(total == 0, 1.0, total)
",
    ),
];

/// The module's text.
pub(super) fn render(m: &Module<'_>) -> String {
    let g = m.g;
    let mut out = String::new();
    let _ = write!(
        out,
        "\"\"\"The model `{name}` of `{file}`, exported by `nnspec export --to pytorch`.

`Model()` is an `nn.Module` whose parameters, drawn from the spec's initialisers, are the
`ParameterDict` `params` keyed by identifiers (`NAMES` maps each spec name, `\"β_0\"`, to its
key, `\"beta_0\"`); `spec_params()` gives them by spec name and `load_spec_params(d)` sets
them from a dict keyed by spec name (`load(path)` reads a safetensors checkpoint of
`nnspec train` into one). `forward(inputs)` is the model function and `loss_<name>(inputs)`
each loss (`LOSSES` maps the spec's loss names to the methods, `TRAINS` to the parameters each
trains). Each statement is preceded by the spec line it implements.

Layout (nnspec's): every value is a matrix, one column per example; the shapes are those of
the JAX export (`PARAMS`: a vector `ℝ^D` is `D × 1`; `INPUTS`: rows and columns per example,
a batch of B examples `rows × (n·B)`; class labels integers `1 × B`). The dtype is
`torch.get_default_dtype()` when the module is imported.
\"\"\"

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MODEL = {model}
# The float type of parameters and constants.
_DTYPE = torch.get_default_dtype()
",
        name = g.name,
        file = m.file,
        model = quoted(&g.name)
    );
    if let Some((name, _)) = &m.model {
        let _ = writeln!(
            out,
            "# The output `forward` computes.\nOUTPUT = {}",
            quoted(name)
        );
    }
    python::shapes(&mut out, g);
    python::tables(&mut out, g);
    let mut used: BTreeSet<&str> = m.helpers.iter().copied().collect();
    for (name, deps, _) in HELPERS {
        if used.contains(name) {
            used.extend(deps.iter().copied());
        }
    }
    for (name, _, text) in HELPERS {
        if used.contains(name) {
            let _ = writeln!(out, "\n{text}");
        }
    }
    let keys = super::names::fields(g.params.iter().map(|p| p.name.as_str()));
    let names: Vec<String> = g
        .params
        .iter()
        .zip(&keys)
        .map(|(p, k)| format!("    {}: {},", quoted(&p.name), quoted(k)))
        .collect();
    let _ = writeln!(
        out,
        "\n# Each parameter's spec name and its key in `Model.params`.\nNAMES = {{\n{}\n}}\n",
        names.join("\n")
    );
    class(&mut out, m, &keys);
    out
}

/// `class Model(nn.Module)`: the parameters, `forward`, a method per loss.
fn class(out: &mut String, m: &Module<'_>, keys: &[String]) {
    let g = m.g;
    out.push_str(
        "\nclass Model(nn.Module):
    \"\"\"The spec's model: parameters under the spec's names, `forward`, one method per loss.\"\"\"

    def __init__(self):
        super().__init__()
        self.params = nn.ParameterDict({\n",
    );
    for (k, p) in g.params.iter().enumerate() {
        let init = g.inits.get(k).copied().unwrap_or(Init::Default);
        let _ = writeln!(
            out,
            "            {}: nn.Parameter({}),",
            quoted(&keys[k]),
            draw(init, p.shape.rows, p.shape.cols_for(1))
        );
    }
    out.push_str(
        "        })

    def spec_params(self):
        \"\"\"The parameters by spec name.\"\"\"
        return {name: self.params[key] for name, key in NAMES.items()}

    @torch.no_grad()
    def load_spec_params(self, values):
        \"\"\"Sets every parameter from `values`, a dict keyed by spec name.\"\"\"
        for name, key in NAMES.items():
            value = torch.as_tensor(values[name], dtype=self.params[key].dtype)
            if tuple(value.shape) != PARAMS[name]:
                raise ValueError(f\"`{name}` has shape {tuple(value.shape)}, the model expects {PARAMS[name]}\")
            self.params[key].copy_(value)
",
    );
    if let Some((name, f)) = &m.model {
        let doc = format!("The model function `{name}`: its value for a batch of inputs.");
        method(out, "forward", &doc, f, false);
    }
    let mut table = Vec::new();
    for (name, f) in &m.losses {
        let fname = format!(
            "loss_{}",
            super::names::fields(std::iter::once(name.as_str()))[0]
        );
        method(
            out,
            &fname,
            &format!("The loss `{name}`, a number."),
            f,
            true,
        );
        table.push(format!("{}: {}", quoted(name), quoted(&fname)));
    }
    let _ = writeln!(
        out,
        "\n# Each loss of the spec by name: the method computing it.\nLOSSES = {{{}}}\nTRAINS = {}\n",
        table.join(", "),
        python::trains(g)
    );
    out.push_str(
        "
def load(path):
    \"\"\"The parameters of a safetensors checkpoint (`nnspec train`'s), by spec name.\"\"\"
    from safetensors.numpy import load_file

    tensors = load_file(path)
    return {name: torch.as_tensor(tensors[name]) for name in PARAMS}
",
    );
}

/// A `rows × cols` draw from `init`, by the law `Init::law` gives that shape (the runtime
/// samples the same law).
fn draw(init: Init, rows: usize, cols: usize) -> String {
    let normal = |mean: f64, sd: f64| {
        format!(
            "torch.normal({}, {}, ({rows}, {cols}), dtype=_DTYPE)",
            float(mean),
            float(sd)
        )
    };
    match init.law(rows, cols) {
        Law::Normal { mean, std } => normal(mean, std),
        Law::Uniform { lo, hi } => format!(
            "{} + ({} - {}) * torch.rand(({rows}, {cols}), dtype=_DTYPE)",
            float(lo),
            float(hi),
            float(lo)
        ),
        Law::Bernoulli { p } => format!(
            "torch.bernoulli(torch.full(({rows}, {cols}), {}, dtype=_DTYPE))",
            float(p)
        ),
        Law::Const(0.0) => format!("torch.zeros(({rows}, {cols}), dtype=_DTYPE)"),
        Law::Const(v) => format!("torch.full(({rows}, {cols}), {}, dtype=_DTYPE)", float(v)),
        Law::Structured(band) => structured(
            ("torch", "dtype=_DTYPE"),
            (rows, cols),
            band,
            &normal(0.0, 1.0),
        ),
    }
}

/// A method of `Model`: the function's statements, reading the parameters by spec name.
fn method(out: &mut String, name: &str, doc: &str, f: &Function, scalar: bool) {
    let _ = write!(
        out,
        "\n    def {name}(self, inputs):\n        \"\"\"{doc}\"\"\"\n        params = self.spec_params()\n"
    );
    for line in &f.lines {
        match line {
            Line::Comment(c) => {
                let _ = writeln!(out, "        # {c}");
            }
            Line::Assign(v, e) => {
                let _ = writeln!(out, "        {v} = {e}");
            }
        }
    }
    let index = if scalar { "[0, 0]" } else { "" };
    let _ = writeln!(out, "        return {}{index}", f.result);
}
