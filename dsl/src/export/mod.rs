//! Export: a model's lowered graph as source code for another engine (`nnspec export`).
//!
//! One walk over the forward graph is shared by every target: [`prepare`] applies the
//! value-preserving passes that make the graph readable and stable (`opt`'s `stable`,
//! `simplify`, `fold`, `cse`, `dce` — the stable forms of `log∘softmax`, `log∘sig`, … are the
//! ones the Rust code computes), then the walk (`Walk::function`) turns each exported function
//! (the model function, each loss) into statements: the nodes its output needs, in graph order, a node
//! read once and unnamed inlined into its reader, every other node a variable named after
//! the spec (`h_1`, `beta_0`, through `emit`'s naming), each statement preceded by the spec
//! line it implements. What a node *is* in a target's language is that target's op table
//! (`Lang::op`): `jax.rs` and `torch.rs`, which share `python.rs`. Gradients are not exported: the target differentiates.
//!
//! An op a target cannot express is an [`Unsupported`] error naming the construct and its
//! spec line; the exporter never writes code that computes something else.

mod jax;
pub mod onnx;
mod proto;
mod python;
mod table;
mod torch;

use crate::emit::names;
use crate::emit::source::Source;
use crate::ir::{Cols, Graph, NodeId, Op, Role, Slot};

/// The engine to export to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A Python module of pure `jax.numpy` functions.
    Jax,
    /// A Python module with a PyTorch `nn.Module`.
    PyTorch,
}

impl Target {
    /// The target's name as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Jax => "jax",
            Target::PyTorch => "pytorch",
        }
    }
}

/// What to export.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The model (default: the last one of the file that can be compiled).
    pub model: Option<String>,
    /// Hyper-parameter overrides, as for checking.
    pub check: crate::check::Options,
}

/// A construct the target cannot express yet, with the spec line it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// What it is, in words (`max pooling`).
    pub construct: String,
    /// The spec line (`h = MaxPool[…] (cnn.nn:12)`), when the node has one.
    pub line: Option<String>,
}

/// A module exported from a spec: its file name and text (or, for ONNX, bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported<Code = String> {
    /// The model's name.
    pub model: String,
    /// The module's file name: the model's name in snake case (`deep_net.py`).
    pub file_name: String,
    /// The module's source code (the file's bytes for ONNX).
    pub code: Code,
}

/// Checks and lowers `src` (read from `path`) and exports the chosen model to `target`. On
/// failure, the message to print (rendered diagnostics, or the construct that cannot be
/// exported).
pub fn export(src: &str, path: &str, target: Target, opts: &Options) -> Result<Exported, String> {
    let checked =
        crate::check_source(src, &opts.check).map_err(|d| crate::diag::render(&d, path, src))?;
    let graph = choose(&checked.graphs, path, opts)?;
    if crate::emit::trained_by_whole_rules(graph) {
        // Its training step is the rules; an exported module trained by the target's own
        // optimiser would ignore them.
        return Err(format!(
            "error: cannot export `{}` to {}: a rule of whole parameters (an optimiser as printed, eqs. 6.3–6.17) is not supported by the exporter yet",
            graph.name,
            target.name()
        ));
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    let source = Source::new(src, file);
    let g = prepare(graph).map_err(|e| format!("error: internal compiler error: {e}"))?;
    let lang: &dyn Lang = match target {
        Target::Jax => &jax::Jax,
        Target::PyTorch => &torch::Torch,
    };
    let module = Module::new(&g, &source, file, lang).map_err(|u| {
        let at = u.line.map_or_else(String::new, |l| format!(" at {l}"));
        format!(
            "error: cannot export `{}` to {}: {}{at} is not supported by the exporter yet",
            g.name,
            target.name(),
            u.construct
        )
    })?;
    Ok(Exported {
        model: g.name.clone(),
        file_name: format!("{}.py", snake(&g.name)),
        code: match target {
            Target::Jax => jax::render(&module),
            Target::PyTorch => torch::render(&module),
        },
    })
}

/// The model `opts` names, or the last one that can be compiled.
fn choose<'a>(
    graphs: &'a [Option<Graph>],
    path: &str,
    opts: &Options,
) -> Result<&'a Graph, String> {
    graphs
        .iter()
        .flatten()
        .rfind(|g| opts.model.as_ref().is_none_or(|m| *m == g.name))
        .ok_or_else(|| match &opts.model {
            Some(m) => format!("error: no compilable model `{m}` in {path}"),
            None => format!(
                "error: no model in {path} can be compiled (every hyper-parameter needs a value)"
            ),
        })
}

/// Checks and lowers `src` (read from `path`) and exports the chosen model's function to an
/// ONNX file: its bytes and file name (`<model>.onnx`). `values` gives the parameters' values
/// and the file's precision for the prepared graph (by its parameter names and shapes). On
/// failure, the message to print.
pub fn export_onnx(
    src: &str,
    path: &str,
    opts: &Options,
    values: impl FnOnce(&Graph) -> Result<onnx::Values, String>,
) -> Result<Exported<Vec<u8>>, String> {
    let checked =
        crate::check_source(src, &opts.check).map_err(|d| crate::diag::render(&d, path, src))?;
    let graph = choose(&checked.graphs, path, opts)?;
    let g = prepare(graph).map_err(|e| format!("error: internal compiler error: {e}"))?;
    let values = values(&g)?;
    let file = path.rsplit('/').next().unwrap_or(path);
    let bytes = onnx::model(&g, file, &values).map_err(|construct| {
        format!(
            "error: cannot export `{}` to ONNX: {construct} is not supported by the ONNX exporter yet",
            g.name
        )
    })?;
    Ok(Exported {
        model: g.name.clone(),
        file_name: format!("{}.onnx", snake(&g.name)),
        code: bytes,
    })
}

/// The forward graph with the value-preserving passes applied to a fixed point: stable forms
/// first, then algebraic simplification, folding, CSE and dead code (not `stack`, which
/// trades readability for one GEMM).
pub fn prepare(g: &Graph) -> Result<Graph, crate::ir::ShapeError> {
    const PASSES: &[&str] = &["stable", "simplify", "fold", "cse", "dce"];
    let mut g = g.clone();
    for _ in 0..10 {
        let mut changed = false;
        for pass in PASSES {
            if let Some(Some(next)) = crate::opt::run_pass(pass, &g) {
                crate::ir::verify(&next)?;
                g = next;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    Ok(g)
}

/// An expression in the target language and whether it needs parentheses as an operand.
#[derive(Clone)]
pub(crate) struct Expr {
    pub(crate) text: String,
    /// A name, a call or a subscript: safe as an operand without parentheses.
    pub(crate) atomic: bool,
}

impl Expr {
    pub(crate) fn atom(text: impl Into<String>) -> Expr {
        Expr {
            text: text.into(),
            atomic: true,
        }
    }

    pub(crate) fn compound(text: impl Into<String>) -> Expr {
        Expr {
            text: text.into(),
            atomic: false,
        }
    }

    /// The expression as an operand: parenthesised unless atomic.
    pub(crate) fn operand(&self) -> String {
        if self.atomic {
            self.text.clone()
        } else {
            format!("({})", self.text)
        }
    }
}

/// A target language: how a slot is read and what each op is.
pub(crate) trait Lang {
    /// Identifiers the generated code uses for itself (a variable must not shadow them).
    fn reserved(&self) -> &'static [&'static str];
    /// Reading a parameter.
    fn param(&self, slot: &Slot) -> String;
    /// Reading an input, a target or noise.
    fn input(&self, slot: &Slot) -> String;
    /// The model function's value, called from a loss.
    fn call_model(&self) -> String;
    /// The batch size `B` from the variable holding an input with `n` columns per example.
    fn batch(&self, var: &str, n: usize) -> String;
    /// Node `id` of `g` from its arguments' expressions; the helpers it needs go in `helpers`.
    fn op(
        &self,
        g: &Graph,
        id: NodeId,
        args: &[Expr],
        helpers: &mut std::collections::BTreeSet<&'static str>,
    ) -> Result<Expr, String>;
}

/// One line of an exported function's body.
pub(crate) enum Line {
    /// The spec line the statements after it implement.
    Comment(String),
    /// `var = expr`.
    Assign(String, String),
}

/// An exported function: the statements that compute one output.
pub(crate) struct Function {
    /// Its body.
    pub(crate) lines: Vec<Line>,
    /// The variable it returns.
    pub(crate) result: String,
}

/// What every target renders: the graph, the variable names, and the functions.
pub(crate) struct Module<'g> {
    pub(crate) g: &'g Graph,
    /// The spec file's name, for the module's documentation.
    pub(crate) file: String,
    /// The model function's output name and function, if the model has one.
    pub(crate) model: Option<(String, Function)>,
    /// Each loss: its name and function.
    pub(crate) losses: Vec<(String, Function)>,
    /// The helpers the functions call.
    pub(crate) helpers: std::collections::BTreeSet<&'static str>,
}

impl<'g> Module<'g> {
    fn new(
        g: &'g Graph,
        source: &Source<'_>,
        file: &str,
        lang: &dyn Lang,
    ) -> Result<Module<'g>, Unsupported> {
        let vars = variables(g, lang);
        let mut helpers = std::collections::BTreeSet::new();
        let loss_names: Vec<&str> = g.losses.iter().map(|l| l.name.as_str()).collect();
        let model_out = g
            .outputs
            .iter()
            .find(|(n, _)| !loss_names.contains(&n.as_str()) && !g.is_grad(n));
        let mut walk = Walk {
            g,
            source,
            lang,
            vars: &vars,
            helpers: &mut helpers,
        };
        let model = match model_out {
            Some((name, id)) => Some((name.clone(), walk.function(*id, None)?)),
            None => None,
        };
        let mut losses = Vec::new();
        for loss in &g.losses {
            let Some(&(_, id)) = g.outputs.iter().find(|(n, _)| *n == loss.name) else {
                continue;
            };
            let stop = model_out.map(|(_, m)| *m).filter(|m| *m != id);
            losses.push((loss.name.clone(), walk.function(id, stop)?));
        }
        Ok(Module {
            g,
            file: file.to_string(),
            model,
            losses,
            helpers,
        })
    }
}

/// The variable of every node: its slot's or spec name as an identifier, or `t<index>`.
fn variables(g: &Graph, lang: &dyn Lang) -> Vec<String> {
    let raw: Vec<String> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| match n.op {
            Op::Param(k) => g.params[k as usize].name.clone(),
            Op::Input(k) => g.inputs[k as usize].name.clone(),
            _ => n.name.clone().unwrap_or_else(|| format!("t{i}")),
        })
        .collect();
    let mut taken: std::collections::HashSet<String> =
        lang.reserved().iter().map(|s| s.to_string()).collect();
    names::fields(raw.iter().map(String::as_str))
        .into_iter()
        .map(|mut v| {
            while taken.contains(&v) {
                v.push('_');
            }
            taken.insert(v.clone());
            v
        })
        .collect()
}

/// The column count in the target's arithmetic: `3`, `B`, `4 * B`.
pub(crate) fn cols(c: Cols) -> String {
    match c {
        Cols::Fixed(n) => n.to_string(),
        Cols::Batch(1) => "B".to_string(),
        Cols::Batch(n) => format!("{n} * B"),
    }
}

/// The state of exporting one graph's functions.
struct Walk<'a, 'g> {
    g: &'g Graph,
    source: &'a Source<'a>,
    lang: &'a dyn Lang,
    vars: &'a [String],
    helpers: &'a mut std::collections::BTreeSet<&'static str>,
}

/// An unnamed value read once is inlined into its reader while its text stays this short.
const MAX_INLINE: usize = 72;

impl Walk<'_, '_> {
    /// The function computing `output`; `stop` (the model function's output, inside a loss)
    /// is read by calling the model function rather than recomputed.
    fn function(&mut self, output: NodeId, stop: Option<NodeId>) -> Result<Function, Unsupported> {
        let g = self.g;
        let n = g.nodes.len();
        let mut needed = vec![false; n];
        let mut stack = vec![output];
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut needed[id.index()], true) {
                continue;
            }
            if Some(id) != stop {
                stack.extend(g.node(id).args.iter().copied());
            }
        }
        let mut uses = vec![0usize; n];
        for (i, node) in g.nodes.iter().enumerate() {
            if needed[i] && Some(NodeId(i as u32)) != stop {
                for a in &node.args {
                    uses[a.index()] += 1;
                }
            }
        }
        let mut exprs: Vec<Option<Expr>> = (0..n).map(|_| None).collect();
        let mut lines = Vec::new();
        let mut last_line: Option<String> = None;
        let mut batch_at: Option<(usize, String)> = None;
        for i in (0..n).filter(|&i| needed[i]) {
            let id = NodeId(i as u32);
            let node = g.node(id);
            let var = &self.vars[i];
            let expr = match node.op {
                _ if Some(id) == stop => Expr::atom(self.lang.call_model()),
                Op::Param(k) => Expr::atom(self.lang.param(&g.params[k as usize])),
                Op::Input(k) => Expr::atom(self.lang.input(&g.inputs[k as usize])),
                _ => {
                    let args: Vec<Expr> = node
                        .args
                        .iter()
                        .map(|a| exprs[a.index()].clone().unwrap_or_else(|| Expr::atom("")))
                        .collect();
                    self.lang
                        .op(g, id, &args, self.helpers)
                        .map_err(|construct| Unsupported {
                            construct,
                            line: self.source.line(g.spans[i]),
                        })?
                }
            };
            let leaf = matches!(node.op, Op::Param(_) | Op::Input(_)) || Some(id) == stop;
            if !leaf
                && node.name.is_none()
                && uses[i] == 1
                && id != output
                && expr.text.len() <= MAX_INLINE
            {
                exprs[i] = Some(expr);
                continue;
            }
            if let Some(line) = self.source.line(g.spans[i])
                && last_line.as_ref() != Some(&line)
            {
                lines.push(Line::Comment(line.clone()));
                last_line = Some(line);
            }
            lines.push(Line::Assign(var.clone(), expr.text));
            if let (Op::Input(k), None) = (node.op, &batch_at)
                && let Cols::Batch(per) = g.inputs[k as usize].shape.cols
                && g.inputs[k as usize].role != Role::Param
            {
                batch_at = Some((lines.len(), self.lang.batch(var, per)));
            }
            exprs[i] = Some(Expr::atom(var.clone()));
        }
        // `B` is defined after the first batched input, if a statement reads it.
        if let Some((at, def)) = batch_at
            && lines
                .iter()
                .any(|l| matches!(l, Line::Assign(_, e) if mentions_batch(e)))
        {
            lines.insert(at, Line::Assign("B".into(), def));
        }
        Ok(Function {
            lines,
            result: self.vars[output.index()].clone(),
        })
    }
}

/// `DeepNet` → `deep_net`, `GRU` → `gru`: a model's name as a module name.
fn snake(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
        if c.is_uppercase() && i > 0 && (prev_lower || next_lower) && !out.ends_with('_') {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("model_{out}")
    } else {
        out
    }
}

/// Whether generated code reads the batch size: the identifier `B` outside a string literal.
fn mentions_batch(code: &str) -> bool {
    let b = code.as_bytes();
    let mut in_string = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => in_string = !in_string,
            b'B' if !in_string => {
                let word =
                    |j: Option<&u8>| j.is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_');
                if !word(i.checked_sub(1).and_then(|j| b.get(j))) && !word(b.get(i + 1)) {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}
