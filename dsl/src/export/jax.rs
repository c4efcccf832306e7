//! The JAX target: the op table ([`Jax`]'s [`Lang::op`]) and the module around the exported
//! functions ([`render`]): the layout in the docstring, the shapes of the parameters and
//! inputs, `init(key)` with the spec's initialisers, `apply`, one function per loss,
//! `LOSSES`, and `load`/`save` of safetensors checkpoints by name.

use super::python::{self, float, quoted, structured};
use super::table::{self, Dialect};
use super::{Expr, Function, Lang, Line, Module};
use crate::ir::{Graph, Init, NodeId, Slot, Unary};
use nnspec_ops::init::Law;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The JAX target.
pub(super) struct Jax;

/// JAX's spellings of the shared op table.
const DIALECT: Dialect = Dialect {
    np: "jnp",
    nn: "jax.nn",
    axis: "axis",
    keep: "keepdims",
    dtype: "dtype=_FLOAT",
    concat: "jnp.concatenate",
    repeat: "jnp.repeat",
    take: "jnp.take_along_axis",
    stop: "jax.lax.stop_gradient",
    diag_embed: "jax.vmap(jnp.diag)",
    int: ".astype(jnp.int32)",
    unary,
    one_hot: |y, rows| format!("jax.nn.one_hot({y}[0], {rows}, axis=0, dtype=_FLOAT)"),
    pad_rows: |x, before, after| format!("jnp.pad({x}, (({before}, {after}), (0, 0)))"),
};

impl Lang for Jax {
    fn reserved(&self) -> &'static [&'static str] {
        &[
            "jax", "jnp", "np", "params", "inputs", "key", "keys", "and", "as", "assert", "async",
            "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
            "finally", "for", "from", "global", "if", "import", "is", "lambda", "nonlocal", "not",
            "or", "pass", "raise", "return", "try", "while", "with", "yield", "apply", "init",
            "load", "save",
        ]
    }

    fn param(&self, slot: &Slot) -> String {
        format!("params[{}]", quoted(&slot.name))
    }

    fn input(&self, slot: &Slot) -> String {
        if slot.labels.is_some() {
            format!("jnp.reshape(inputs[{}], (1, -1))", quoted(&slot.name))
        } else {
            format!("jnp.asarray(inputs[{}])", quoted(&slot.name))
        }
    }

    fn call_model(&self) -> String {
        "apply(params, inputs)".into()
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
        Unary::Exp => call("jnp.exp"),
        Unary::Log => call("jnp.log"),
        Unary::Sin => call("jnp.sin"),
        Unary::Cos => call("jnp.cos"),
        Unary::Tanh => call("jnp.tanh"),
        Unary::Sig => call("jax.nn.sigmoid"),
        Unary::Relu => call("jax.nn.relu"),
        Unary::LRelu(a) => Expr::atom(format!(
            "jax.nn.leaky_relu({x}, negative_slope={})",
            float(a.0)
        )),
        Unary::Softplus => call("jax.nn.softplus"),
        Unary::HardSwish => call("jax.nn.hard_swish"),
        Unary::Heaviside => Expr::atom(format!("jnp.heaviside({x}, 1.0)")),
        Unary::Rect => {
            help("_rect");
            call("_rect")
        }
        Unary::Sqrt => call("jnp.sqrt"),
        Unary::Abs => call("jnp.abs"),
        Unary::Sign => call("jnp.sign"),
        Unary::Powf(p) if p.0.fract() == 0.0 && p.0.abs() < 1e6 => {
            Expr::compound(format!("{o} ** {}", p.0 as i64))
        }
        Unary::Powf(p) => Expr::compound(format!("{o} ** {}", float(p.0))),
        Unary::Recip => Expr::compound(format!("1.0 / {o}")),
        Unary::HardSwishGrad => return Err("the derivative of `HardSwish`".into()),
    })
}

/// The helpers generated code may call, each defined once in the module (in this order,
/// those used and the ones they call).
const HELPERS: &[(&str, &[&str], &str)] = &[
    (
        "_blocks",
        &[],
        "def _blocks(x, n):
    \"\"\"Each example's `r × n` block of a batch `r × nB`, as a `B × r × n` array.\"\"\"
    return jnp.moveaxis(x.reshape(x.shape[0], -1, n), 1, 0)
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
    return jnp.moveaxis(blocks, 0, 1).reshape(blocks.shape[1], -1)
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
    a = jnp.swapaxes(a, -1, -2) if ta else a
    b = jnp.swapaxes(b, -1, -2) if tb else b
    return _join(jnp.matmul(a, b))
",
    ),
    (
        "_example_transpose",
        &["_blocks", "_join"],
        "def _example_transpose(x, n):
    \"\"\"Per example, the transpose of its block: `r × nB → n × rB`.\"\"\"
    return _join(jnp.swapaxes(_blocks(x, n), 1, 2))
",
    ),
    (
        "_place_column",
        &[],
        "def _place_column(x, k, n):
    \"\"\"`r × B` placed as column k of each example's `r × n` block, zero elsewhere.\"\"\"
    return jnp.pad(x[:, :, None], ((0, 0), (0, 0), (k, n - k - 1))).reshape(x.shape[0], -1)
",
    ),
    (
        "_reshape",
        &["_blocks", "_join"],
        "def _reshape(x, n, rows, cols):
    \"\"\"Each example's numbers, column by column, as a `rows × cols` block (`vec[X]`).\"\"\"
    blocks = jnp.swapaxes(_blocks(x, n), 1, 2).reshape(-1, cols, rows)
    return _join(jnp.swapaxes(blocks, 1, 2))
",
    ),
    (
        "_rect",
        &[],
        "def _rect(x):
    \"\"\"`rect[x]`: 1 on [0, 1], else 0.\"\"\"
    return jnp.where((x >= 0) & (x <= 1), 1.0, 0.0).astype(x.dtype)
",
    ),
    (
        "_softmask",
        &[],
        "def _softmask(s, m):
    \"\"\"`Softmask[S, M]` (eq. 13.24): column by column, a softmax over the entries where M is
    not zero, exactly zero elsewhere (M of S's shape, or one block shared by every example).\"\"\"
    keep = jnp.tile(m, (1, s.shape[1] // m.shape[1])) != 0
    top = jnp.max(jnp.where(keep, s, -jnp.inf), axis=0, keepdims=True)
    top = jax.lax.stop_gradient(jnp.where(jnp.isfinite(top), top, 0.0))
    e = jnp.where(keep, jnp.exp(jnp.where(keep, s, top) - top), 0.0)
    total = jnp.sum(e, axis=0, keepdims=True)
    return e / jnp.where(total == 0, 1.0, total)
",
    ),
];

/// The module's text.
pub(super) fn render(m: &Module<'_>) -> String {
    let g = m.g;
    let mut out = String::new();
    docstring(&mut out, m);
    out.push_str("import jax\nimport jax.numpy as jnp\nimport numpy as np\n\n");
    let _ = writeln!(out, "MODEL = {}", quoted(&g.name));
    if let Some((name, _)) = &m.model {
        let _ = writeln!(
            out,
            "# The output `apply` computes.\nOUTPUT = {}",
            quoted(name)
        );
    }
    out.push_str("# The float type: float64 when `jax_enable_x64` is on, else float32.\n_FLOAT = jnp.result_type(float)\n");
    python::shapes(&mut out, g);
    python::tables(&mut out, g);
    out.push('\n');
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
    init(&mut out, g);
    if let Some((name, f)) = &m.model {
        let doc = format!("The model function `{name}`: its value for a batch of inputs.");
        function(&mut out, "apply", &doc, f, false);
    }
    let mut table = Vec::new();
    for (name, f) in &m.losses {
        let fname = format!(
            "loss_{}",
            super::names::fields(std::iter::once(name.as_str()))[0]
        );
        let doc = format!("The loss `{name}`, a number.");
        function(&mut out, &fname, &doc, f, true);
        table.push(format!("{}: {fname}", quoted(name)));
    }
    let _ = writeln!(
        out,
        "\n# Each loss of the spec by name, and the parameters it trains.\nLOSSES = {{{}}}\nTRAINS = {}\n",
        table.join(", "),
        python::trains(g)
    );
    out.push_str(CHECKPOINTS);
    out
}

fn docstring(out: &mut String, m: &Module<'_>) {
    let g = m.g;
    let _ = write!(
        out,
        "\"\"\"The model `{name}` of `{file}`, exported by `nnspec export --to jax`.

Pure `jax.numpy` functions: `init(key)` draws the parameters with the spec's initialisers,
`apply(params, inputs)` is the model function, `loss_<name>(params, inputs)` each loss
(`LOSSES` maps the spec's loss names to them); `jax.grad` differentiates them. Each statement
is preceded by the spec line it implements.

Layout (nnspec's): every value is a matrix, one column per example. `params` maps each
parameter's spec name (`\"β_0\"`, `\"Ω_0\"`) to a 2-D array of the shape in `PARAMS` (a vector
`ℝ^D` is `D × 1`, a scalar `1 × 1`, a kernel `ℝ^{{C_o×C_i×K×L}}` the matrix `C_o × (C_i·K·L)`,
weight `(c, c', m, n)` in column `c' + C_i·(m + K·n)`). `inputs` maps each input, target and
noise name to a `rows × (n·B)` array for a batch of B examples (`INPUTS` gives rows and n): a
vector per example is a column, a matrix `ℝ^{{D×N}}` per example is N consecutive columns,
an image `ℝ^{{C×H×W}}` is `C × (H·W)` per example, column by column. Class labels
(`LABELS`: first label, count) are integers, `1 × B` or a flat list of B. Noise is drawn by
the caller from the law `NOISE` gives it.

`load(path)` reads a safetensors checkpoint written by `nnspec train` into `params`;
`save(params, path)` writes one that `nnspec predict` reads.
\"\"\"

",
        name = g.name,
        file = m.file
    );
}

/// `init(key)`: each parameter drawn from its initialiser, as the runtime draws it (the
/// distributions, not the random streams).
fn init(out: &mut String, g: &Graph) {
    let _ = write!(
        out,
        "\ndef init(key):
    \"\"\"Parameters drawn from the spec's initialisers (the same distributions as nnspec's; not
    the same random numbers).\"\"\"
    keys = jax.random.split(key, {})
    return {{\n",
        g.params.len().max(1)
    );
    for (k, p) in g.params.iter().enumerate() {
        let init = g.inits.get(k).copied().unwrap_or(Init::Default);
        let (r, c) = (p.shape.rows, p.shape.cols_for(1));
        let _ = writeln!(
            out,
            "        {}: {},",
            quoted(&p.name),
            draw(init, r, c, &format!("keys[{k}]"))
        );
    }
    out.push_str("    }\n\n");
}

/// A `rows × cols` draw from `init` with `key`, by the law `Init::law` gives that shape (the
/// runtime samples the same law).
fn draw(init: Init, rows: usize, cols: usize, key: &str) -> String {
    let normal = |mean: f64, sd: f64| {
        let z = format!("jax.random.normal({key}, ({rows}, {cols}), dtype=_FLOAT)");
        match (mean, sd) {
            (0.0, 1.0) => z,
            (0.0, s) => format!("{} * {z}", float(s)),
            (m, s) => format!("{} + {} * {z}", float(m), float(s)),
        }
    };
    match init.law(rows, cols) {
        Law::Normal { mean, std } => normal(mean, std),
        Law::Uniform { lo, hi } => format!(
            "jax.random.uniform({key}, ({rows}, {cols}), dtype=_FLOAT, minval={}, maxval={})",
            float(lo),
            float(hi)
        ),
        Law::Bernoulli { p } => format!(
            "jax.random.bernoulli({key}, {}, ({rows}, {cols})).astype(_FLOAT)",
            float(p)
        ),
        Law::Const(0.0) => format!("jnp.zeros(({rows}, {cols}), dtype=_FLOAT)"),
        Law::Const(v) => format!("jnp.full(({rows}, {cols}), {}, dtype=_FLOAT)", float(v)),
        Law::Structured(band) => structured(
            ("jnp", "dtype=_FLOAT"),
            (rows, cols),
            band,
            &normal(0.0, 1.0),
        ),
    }
}

/// `def name(params, inputs)`: the function's statements, returning its value (`scalar`: the
/// `1 × 1` value as a number, for `jax.grad`).
fn function(out: &mut String, name: &str, doc: &str, f: &Function, scalar: bool) {
    let _ = write!(
        out,
        "\ndef {name}(params, inputs):\n    \"\"\"{doc}\"\"\"\n"
    );
    for line in &f.lines {
        match line {
            Line::Comment(c) => {
                let _ = writeln!(out, "    # {c}");
            }
            Line::Assign(v, e) => {
                let _ = writeln!(out, "    {v} = {e}");
            }
        }
    }
    let index = if scalar { "[0, 0]" } else { "" };
    let _ = writeln!(out, "    return {}{index}\n", f.result);
}

/// `load` and `save`: safetensors checkpoints by name, in nnspec's layout.
const CHECKPOINTS: &str = "
def load(path):
    \"\"\"The parameters of a safetensors checkpoint (`nnspec train`'s), by spec name; running
    statistics (`running.…`) are left out.\"\"\"
    from safetensors.numpy import load_file

    tensors = load_file(path)
    missing = [name for name in PARAMS if name not in tensors]
    if missing:
        raise KeyError(f\"{path}: no tensor for the parameters {missing}\")
    params = {}
    for name, shape in PARAMS.items():
        value = tensors[name]
        if tuple(value.shape) != shape:
            raise ValueError(f\"{path}: `{name}` has shape {value.shape}, the model expects {shape}\")
        params[name] = jnp.asarray(value)
    return params


def metadata(path):
    \"\"\"The string metadata of a safetensors checkpoint (model, hyper-parameters, data scale).\"\"\"
    from safetensors import safe_open

    with safe_open(path, framework=\"numpy\") as f:
        return dict(f.metadata() or {})


def save(params, path, metadata=None, dtype=np.float64):
    \"\"\"Writes `params` as a safetensors checkpoint that `nnspec predict` reads: every parameter
    a `rows × cols` tensor under its spec name (float64, as `nnspec train` writes them), with
    `metadata` (for instance that of the checkpoint the parameters were loaded from: the
    hyper-parameters and the data's scale) and the model's name.\"\"\"
    from safetensors.numpy import save_file

    tensors = {}
    for name, shape in PARAMS.items():
        value = np.asarray(params[name], dtype=dtype)
        if value.shape != shape:
            raise ValueError(f\"`{name}` has shape {value.shape}, the model expects {shape}\")
        tensors[name] = np.ascontiguousarray(value)
    meta = dict(metadata or {})
    meta.setdefault(\"model\", MODEL)
    save_file(tensors, path, metadata=meta)
";
