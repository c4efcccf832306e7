//! The JAX target: the op table ([`Jax`]'s [`Lang::op`]) and the module around the exported
//! functions ([`render`]): the layout in the docstring, the shapes of the parameters and
//! inputs, `init(key)` with the spec's initialisers, `apply`, one function per loss,
//! `LOSSES`, and `load`/`save` of safetensors checkpoints by name.

use super::python::{self, float, quoted, structured};
use super::{Expr, Function, Lang, Line, Module, cols};
use crate::ir::extreme::ExtPart;
use crate::ir::{Cols, Graph, Init, NodeId, Op, Slot, Unary};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The JAX op table.
pub(super) struct Jax;

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
        let node = g.node(id);
        // `a[k]` as an operand (parenthesised if need be), `x(k)` as a call's argument.
        let a: Vec<String> = args.iter().map(Expr::operand).collect();
        let x = |k: usize| args[k].text.as_str();
        let shape = node.shape;
        let (rows, c) = (shape.rows, cols(shape.cols));
        let arg = |k: usize| g.node(node.args[k]).shape;
        let per = |k: usize| match arg(k).cols {
            Cols::Batch(n) => n.to_string(),
            Cols::Fixed(_) => "None".to_string(),
        };
        let mut help = |h: &'static str| {
            helpers.insert(h);
        };
        let atom = Expr::atom;
        Ok(match node.op {
            Op::Input(_) | Op::Param(_) => unreachable!("slots are read by the walk"),
            Op::Const(v) => atom(format!("jnp.full(({rows}, {c}), {})", float(v.0))),
            Op::Identity => atom(format!("jnp.eye({rows})")),
            Op::Add => Expr::compound(format!("{} + {}", a[0], a[1])),
            Op::Sub => Expr::compound(format!("{} - {}", a[0], a[1])),
            Op::Mul => Expr::compound(format!("{} * {}", a[0], a[1])),
            Op::Div => Expr::compound(format!("{} / {}", a[0], a[1])),
            Op::Unary(u) => unary(u, x(0), &a[0], &mut help)?,
            Op::Broadcast => broadcast(arg(0), shape, x(0)),
            Op::SumRows => atom(format!("jnp.sum({}, axis=0, keepdims=True)", x(0))),
            Op::SumCols => atom(format!("jnp.sum({}, axis=1, keepdims=True)", x(0))),
            Op::SumExampleCols => atom(format!("jnp.sum(_columns({}, {}), axis=2)", x(0), per(0)))
                .also(|| help("_columns")),
            Op::MatMul { ta, tb } => Expr::compound(format!(
                "{}{} @ {}{}",
                a[0],
                if ta { ".T" } else { "" },
                a[1],
                if tb { ".T" } else { "" }
            )),
            Op::Transpose => atom(format!("{}.T", a[0])),
            Op::ExampleMatMul { ta, tb } => {
                help("_example_matmul");
                atom(format!(
                    "_example_matmul({}, {}, {}, {}, {}, {})",
                    a[0],
                    per(0),
                    py_bool(ta),
                    a[1],
                    per(1),
                    py_bool(tb)
                ))
            }
            Op::ExampleTranspose => {
                help("_example_transpose");
                atom(format!("_example_transpose({}, {})", x(0), per(0)))
            }
            Op::Softmax => atom(format!("jax.nn.softmax({}, axis=0)", x(0))),
            Op::LogSumExp => atom(format!("jax.nn.logsumexp({}, axis=0, keepdims=True)", x(0))),
            Op::Row(k) => atom(format!("{}[{k}:{}]", a[0], k + 1)),
            Op::PickLabel { lo } => atom(format!(
                "jnp.take_along_axis({}, {}, axis=0)",
                x(0),
                labels(&a[1], lo)
            )),
            Op::OneHot { rows, lo } => atom(format!(
                "jax.nn.one_hot({}[0], {rows}, axis=0, dtype=_FLOAT)",
                labels(&a[0], lo)
            )),
            Op::PlaceRow { k, rows } => atom(format!(
                "jnp.pad({}, (({k}, {}), (0, 0)))",
                x(0),
                rows - k - 1
            )),
            Op::StopGradient => atom(format!("jax.lax.stop_gradient({})", x(0))),
            Op::BatchStat { .. } => {
                return Err(
                    "batch normalisation (a statistic over the batch with a running value)".into(),
                );
            }
            Op::SumExamples => atom(format!("jnp.sum(_blocks({}, {}), axis=0)", x(0), per(0)))
                .also(|| help("_blocks")),
            Op::TileExamples => atom(format!("jnp.tile({}, (1, B))", x(0))),
            Op::ExampleCol(k) => {
                atom(format!("_columns({}, {})[:, :, {k}]", x(0), per(0))).also(|| help("_columns"))
            }
            Op::PlaceExampleCol { k, n } => {
                help("_place_column");
                atom(format!("_place_column({}, {k}, {n})", x(0)))
            }
            Op::Conv(_) => return Err("a convolution".into()),
            Op::MaxPool(_) => return Err("max pooling".into()),
            Op::MaxNe(_) => return Err("the maximum over neighbours `MaxNe`".into()),
            Op::Extreme(e) => match e.part {
                ExtPart::Pick => Expr::atom(format!(
                    "jnp.where({} {} {}, {}, {})",
                    a[0],
                    match e.which {
                        nnspec_ops::Extreme::Max => ">=",
                        nnspec_ops::Extreme::Min => "<=",
                    },
                    a[1],
                    x(2),
                    x(3)
                )),
                ExtPart::First | ExtPart::Second => {
                    return Err("the gradient of `max`/`min`".into());
                }
            },
            Op::Reshape { rows, cols } => {
                help("_reshape");
                atom(format!("_reshape({}, {}, {rows}, {cols})", x(0), per(0)))
            }
            Op::ConcatRows => {
                let parts: Vec<&str> = args.iter().map(|e| e.text.as_str()).collect();
                atom(format!("jnp.concatenate([{}], axis=0)", parts.join(", ")))
            }
            Op::SliceRows { start, rows } => atom(format!("{}[{start}:{}]", a[0], start + rows)),
            Op::Diag => match arg(0).cols {
                Cols::Fixed(_) => atom(format!("jnp.diag({}[:, 0])", a[0])),
                Cols::Batch(_) => {
                    help("_join");
                    atom(format!("_join(jax.vmap(jnp.diag)({}.T))", a[0]))
                }
            },
            Op::DiagPart => match arg(0).cols {
                Cols::Fixed(_) => atom(format!("jnp.diag({})[:, None]", a[0])),
                Cols::Batch(n) => {
                    help("_blocks");
                    atom(format!(
                        "jnp.diagonal(_blocks({}, {n}), axis1=1, axis2=2).T",
                        x(0)
                    ))
                }
            },
            Op::Softmask => {
                help("_softmask");
                atom(format!("_softmask({}, {})", x(0), x(1)))
            }
            Op::Table(k) => atom(format!("jnp.asarray(_TABLE_{k})")),
        })
    }
}

impl Expr {
    /// The expression, after running `f` (to record a helper it calls).
    fn also(self, f: impl FnOnce()) -> Expr {
        f();
        self
    }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Class labels as 0-based integer indices.
fn labels(y: &str, lo: i32) -> String {
    match lo {
        0 => format!("{y}.astype(jnp.int32)"),
        lo => format!("({y} - {lo}).astype(jnp.int32)"),
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

/// `Broadcast` from `from` to `to`: a bias over the columns, a scalar to anything, or one
/// column per example repeated over each example's columns.
fn broadcast(from: crate::ir::Shape, to: crate::ir::Shape, x: &str) -> Expr {
    let target = format!("({}, {})", to.rows, cols(to.cols));
    match (from.cols, to.cols) {
        (Cols::Batch(1), Cols::Batch(n)) if n > 1 => {
            let rep = format!("jnp.repeat({x}, {n}, axis=1)");
            if from.rows == to.rows {
                Expr::atom(rep)
            } else {
                Expr::atom(format!("jnp.broadcast_to({rep}, {target})"))
            }
        }
        _ => Expr::atom(format!("jnp.broadcast_to({x}, {target})")),
    }
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
(`LABELS`: first label, count) are integers, `1 × B` or a flat list of B.

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

/// A `rows × cols` draw from `init` with `key`; `Default` resolved as the runtime does (He for
/// a matrix, zero for a vector, a standard normal for a scalar).
fn draw(init: Init, rows: usize, cols: usize, key: &str) -> String {
    let (fan_in, fan_out) = (cols.max(1) as f64, rows.max(1) as f64);
    let normal = |mean: f64, sd: f64| {
        let z = format!("jax.random.normal({key}, ({rows}, {cols}), dtype=_FLOAT)");
        match (mean, sd) {
            (0.0, 1.0) => z,
            (0.0, s) => format!("{} * {z}", float(s)),
            (m, s) => format!("{} + {} * {z}", float(m), float(s)),
        }
    };
    match init {
        Init::Default if cols > 1 => draw(Init::He, rows, cols, key),
        Init::Default if rows > 1 => format!("jnp.zeros(({rows}, {cols}), dtype=_FLOAT)"),
        Init::Default => normal(0.0, 1.0),
        Init::He => format!("jnp.sqrt(2.0 / {fan_in:?}) * {}", normal(0.0, 1.0)),
        Init::Glorot => format!(
            "jnp.sqrt(4.0 / ({fan_in:?} + {fan_out:?})) * {}",
            normal(0.0, 1.0)
        ),
        Init::LeCun => format!("jnp.sqrt(1.0 / {fan_in:?}) * {}", normal(0.0, 1.0)),
        Init::Normal { mean, variance } => normal(mean, variance.max(0.0).sqrt()),
        Init::Uniform { lo, hi } => format!(
            "jax.random.uniform({key}, ({rows}, {cols}), dtype=_FLOAT, minval={}, maxval={})",
            float(lo),
            float(hi)
        ),
        Init::Bernoulli { p } => format!(
            "jax.random.bernoulli({key}, {}, ({rows}, {cols})).astype(_FLOAT)",
            float(p)
        ),
        Init::Const(v) => format!("jnp.full(({rows}, {cols}), {}, dtype=_FLOAT)", float(v)),
        Init::Structured {
            below,
            above,
            diagonal,
            std,
        } => {
            let normal = Init::Normal {
                mean: 0.0,
                variance: 1.0,
            };
            structured(
                ("jnp", "dtype=_FLOAT"),
                (rows, cols),
                (below, above, diagonal),
                std,
                &draw(normal, rows, cols, key),
            )
        }
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
