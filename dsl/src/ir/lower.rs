//! Lowering: a checked model → an IR [`Graph`] with concrete shapes.
//!
//! Runs after `check` has accepted the file, so names, families and shapes are known to be
//! right; what can fail here is only a construct the IR cannot express yet (`E0406`). A
//! statement that fails is reported and lowering goes on with the next one, so every such
//! construct of a model is reported; a later use of what the failed statement would have
//! defined fails quietly (`Fail::Quiet`), since its cause is already reported. The
//! book's per-example equations become batched operations: a per-example vector is a `D × B`
//! matrix, `Ω x` one GEMM `Ω X`, a bias an explicit broadcast to every column, `∑_i` a sum
//! over columns. Families and sums over ranges are unrolled; `let` functions and the model
//! function are inlined at each call; a sub-model call instantiates the callee's parameters
//! under the group name given at the call (`Block[x, φ_1]` owns `φ_1.β`, `φ_1.Ω`).
//!
//! What checking decided is read, not derived again: each declaration's layout comes from
//! the type checking recorded (`ModelInfo::declared`, through `shape::layout::of`), a family
//! unrolls over the range it recorded (`ModelInfo::families`), max-norm radii are its
//! `ModelInfo::max_norms`, initialisers and distributions its `ModelInfo::inits`, the
//! numbers it evaluated (limits, exponents, slopes, the subscripts around `…`) its
//! `ModelInfo::numbers`, read with the indices bound here, and a name resolves by the one
//! walk of its prefix (`resolve::path`).

use super::extreme::Extreme;
use super::{Cols, F64, Graph, NodeId, Op, Role, Shape, Slot, Stat, Unary};
use crate::ast::{self, BigOp, BinOp, Expr, ExprKind};
use crate::check::ModelInfo;
use crate::check::builtins::{self, Builtin};
use crate::check::shape::Val as CheckedVal;
use crate::diag::{Code, Diagnostic, Span};
use crate::names;
use crate::resolve::{Index, ItemKind, Step, Sub, Symbol};
use crate::shape::layout::{LabelSet, Layout};
use std::collections::BTreeMap;

mod concat;
mod conv;
mod deriv;
mod dynamics;
mod entries;
mod except;
mod extreme;
mod resample;
mod rl;
mod update;

/// The most operations a model's lowered graph may have (`E0407` beyond): the forward graph
/// of a family as large as [`crate::check::MAX_UNROLL`] allows, one operation per member.
pub const MAX_NODES: usize = 100_000;

/// The value a model with update rules may define as the action to take, `A_t = argmax_a […]`
/// (the course notes' upper-confidence-bound rule): an output, which the runtime reads to act
/// instead of acting ε-greedily on the table `q`.
pub const ACTION: &str = "A_t";

/// Lowers model `index` of a checked file. `infos` are the checker's results for every model
/// (hyper-parameter values with overrides applied).
pub fn lower(
    file: &ast::File,
    infos: &[ModelInfo],
    index: usize,
) -> Result<Graph, Vec<Diagnostic>> {
    let model = &file.models[index];
    let mut graph = Graph {
        name: model.name.text.clone(),
        env: model.env.first().map(|w| w.text.clone()),
        ..Graph::default()
    };
    let mut cx = Cx {
        file,
        infos,
        graph: &mut graph,
        instances: BTreeMap::new(),
        depth: 0,
        call_site: None,
        exhausted: false,
        instance_sizes: BTreeMap::new(),
        losses: Vec::new(),
        errors: Vec::new(),
        failed: false,
        spatial: BTreeMap::new(),
    };
    let mut scope = Scope::new(
        index,
        infos
            .get(index)
            .map(|i| i.hypers.clone())
            .unwrap_or_default(),
    );
    // A statement's failure is recorded by `model_body`; what is left is a failure outside
    // any statement (a family without values), reported here unless it is quiet.
    if let Err(Fail::Report(d)) = cx.model_body(model, &mut scope, None) {
        cx.errors.push(*d);
    }
    if !cx.errors.is_empty() {
        return Err(std::mem::take(&mut cx.errors));
    }
    let losses = std::mem::take(&mut cx.losses);
    // With no declared groups every parameter trains under the loss's group; otherwise a
    // parameter trains under its own group (or its sub-model instance's name).
    let grouped = graph
        .params
        .iter()
        .any(|p| p.group.is_some() && !scope.groups.is_empty());
    for (name, groups) in losses {
        let wrt = graph
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| !grouped || p.group.as_ref().is_some_and(|g| groups.contains(g)))
            .map(|(i, _)| i as u32)
            // A frozen copy (`φ⁻`) is refreshed, never trained.
            .filter(|i| !graph.frozen.iter().any(|(copy, _)| copy == i))
            .collect();
        graph.losses.push(super::Loss {
            name,
            group: groups,
            wrt,
        });
    }
    graph.max_norms = max_norms(infos.get(index), &graph);
    // A model with no loss, model function or update rule (a sampling chain: Algorithm 18.2,
    // the inverse of a flow) computes its last equation's value: that is its output, which
    // `nnspec sample --model` draws and generated code's `sample` returns.
    if scope.outputs.is_empty()
        && let Some(last) = scope.last.take()
    {
        scope.outputs.push(last);
    }
    for (name, out) in scope.outputs {
        graph.outputs.push((name, out));
    }
    super::verify(&graph).map_err(|e| {
        vec![Diagnostic::new(
            Code::E0406,
            model.name.span,
            format!("internal error while lowering: {e}"),
        )]
    })?;
    Ok(graph)
}

/// The model's `‖w_j‖ ≤ c` lines, as checking recorded them (`check::max_norm`), for
/// training to apply to the graph's parameters.
fn max_norms(info: Option<&ModelInfo>, graph: &Graph) -> Vec<super::MaxNorm> {
    info.map_or(&[][..], |i| &i.max_norms)
        .iter()
        .filter(|m| graph.params.iter().any(|p| p.name == m.param))
        .cloned()
        .collect()
}

/// A lowered value: a node, and whether it stands for the transpose of a batch of column
/// vectors (`xᵀ`, kept as `x` until a product consumes it).
#[derive(Clone, Copy, Debug)]
struct Lv {
    id: NodeId,
    row: bool,
}

impl Lv {
    fn of(id: NodeId) -> Lv {
        Lv { id, row: false }
    }
}

#[derive(Clone, Debug)]
enum Val {
    /// A value in the graph.
    Node(Lv),
    /// `𝟏` (column) or `𝟏ᵀ` (row), times a scalar node if `scale` is set (`0 · 𝟏`): its
    /// length comes from what it meets.
    Ones { row: bool, scale: Option<NodeId> },
    /// The identity `I`, times a scalar node if `scale` is set (`(1 + ε_k) I`, eq. 13.14): its
    /// size comes from what it meets.
    Identity { scale: Option<NodeId> },
    /// A function.
    Func(Func),
    /// A parameter group (`φ`, `θ`), as a call argument.
    Group,
}

#[derive(Clone, Debug)]
enum Func {
    Builtin(Builtin, Vec<Expr>),
    User { formals: Vec<String>, body: Expr },
    Model { formals: Vec<String>, body: Expr },
    Sub(usize),
}

#[derive(Clone, Debug)]
enum Bind {
    Int(i64),
    Batch,
    Group(Vec<String>),
}

struct Scope {
    /// The model whose statements are lowered here (an index of the file's models and of
    /// `Cx::infos`), whose declarations checking recorded.
    model: usize,
    hypers: BTreeMap<String, f64>,
    names: BTreeMap<String, Val>,
    binds: Vec<(String, Bind)>,
    /// Class-label inputs: canonical name → (first label, classes).
    labels: BTreeMap<String, (i32, usize)>,
    /// Inputs holding a vector of labels per example (`target y : {1 … K}^{N}`): canonical
    /// name → (first label, classes); `y_{i,n}` is one of its entries.
    entry_labels: BTreeMap<String, (i32, usize)>,
    /// Parameter groups: group → members, in declaration order.
    groups: BTreeMap<String, Vec<String>>,
    /// Parameters with no declared group, which belong to whatever group the loss names.
    ungrouped: Vec<String>,
    outputs: Vec<(String, NodeId)>,
    /// The value of the last equation lowered (its canonical name and node): the output of a
    /// model that has no other (a sampling chain, Algorithm 18.2).
    last: Option<(String, NodeId)>,
    /// The model function's value on the model's own inputs (the forward pass), by the
    /// function's name: a call on those inputs reuses it.
    forward: BTreeMap<String, Lv>,
}

impl Scope {
    fn new(model: usize, hypers: Vec<(String, Option<f64>)>) -> Scope {
        Scope {
            model,
            hypers: hypers
                .into_iter()
                .filter_map(|(n, v)| v.map(|v| (n, v)))
                .collect(),
            names: BTreeMap::new(),
            binds: Vec::new(),
            labels: BTreeMap::new(),
            entry_labels: BTreeMap::new(),
            groups: BTreeMap::new(),
            ungrouped: Vec::new(),
            outputs: Vec::new(),
            last: None,
            forward: BTreeMap::new(),
        }
    }

    fn bound(&self, name: &str) -> Option<&Bind> {
        self.binds
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    fn group(&self, name: &str) -> Option<Vec<String>> {
        match self.groups.get(name) {
            Some(v) => Some(v.clone()),
            None if self.groups.is_empty() || !self.ungrouped.is_empty() => {
                Some(self.ungrouped.clone())
            }
            None => None,
        }
    }
}

struct Cx<'a, 'g> {
    file: &'a ast::File,
    infos: &'a [ModelInfo],
    graph: &'g mut Graph,
    /// Sub-model instances: (model, group) → its function's value for each call is built
    /// afresh, but parameters are shared through this map of parameter nodes.
    instances: BTreeMap<String, NodeId>,
    depth: usize,
    /// The outermost sub-model call being lowered, where a graph too large is reported.
    call_site: Option<Span>,
    /// Whether the graph reached [`MAX_NODES`] (reported once; later pushes fail quietly).
    exhausted: bool,
    /// Per sub-model, the operations its first instance added to the graph.
    instance_sizes: BTreeMap<usize, usize>,
    /// Losses found: output name and the groups in its brackets.
    losses: Vec<(String, Vec<String>)>,
    /// The failures of the statements lowered so far, in order.
    errors: Vec<Diagnostic>,
    /// Whether a statement failed: a name the checker knows but lowering does not is then
    /// one that statement would have defined.
    failed: bool,
    /// The spatial sizes `(H, W)` of the values that are images with channels, `C × (H·W·B)`
    /// (`ℝ^{C×H×W}` per example): the IR's shape keeps only `C` and `H·W`, and the ops that
    /// need the two sizes (convolution, max pooling) read them here. An element-wise op
    /// whose result has the shape of an argument that is such an image inherits its sizes.
    spatial: BTreeMap<NodeId, [u32; 2]>,
}

/// Why lowering an expression or a statement stopped.
#[derive(Debug)]
enum Fail {
    /// A construct the IR cannot express yet: reported.
    Report(Box<Diagnostic>),
    /// A use of something whose own statement failed and was reported.
    Quiet,
}

fn unsupported(span: Span, what: impl Into<String>) -> Fail {
    Fail::Report(Box::new(
        Diagnostic::new(
            Code::E0406,
            span,
            format!("{} cannot be compiled yet", what.into()),
        )
        .label("valid, but not compilable yet")
        .note("the language accepts this; the compiler cannot turn it into code yet"),
    ))
}

type R<T> = Result<T, Fail>;

impl Cx<'_, '_> {
    fn push(&mut self, op: Op, args: Vec<NodeId>, declared: Shape, span: Span) -> R<NodeId> {
        if self.graph.nodes.len() >= MAX_NODES {
            return Err(self.too_large(span));
        }
        let id = self
            .graph
            .push(op, args.clone(), declared, span)
            .map_err(|e| unsupported(span, format!("this expression ({e})")))?;
        if op.is_elementwise() || matches!(op, Op::Broadcast) {
            let shape = self.graph.shape(id);
            let image = args
                .iter()
                .filter(|a| self.graph.shape(**a) == shape)
                .find_map(|a| self.spatial.get(a).copied());
            if let Some(hw) = image {
                self.spatial.insert(id, hw);
            }
        }
        Ok(id)
    }

    /// The failure of a graph that reached [`MAX_NODES`]: reported once, at the outermost
    /// sub-model call if there is one, quiet afterwards.
    fn too_large(&mut self, span: Span) -> Fail {
        if std::mem::replace(&mut self.exhausted, true) {
            return Fail::Quiet;
        }
        let at = self.call_site.unwrap_or(span);
        Fail::Report(Box::new(
            Diagnostic::new(
                Code::E0407,
                at,
                format!("the model's graph grows beyond {MAX_NODES} operations here"),
            )
            .label("expands too far")
            .help("each call of a sub-model copies its graph: call it once and name the result, or make the model smaller"),
        ))
    }

    fn op(&mut self, op: Op, args: &[NodeId], span: Span) -> R<NodeId> {
        let declared = args.first().map_or(Shape::SCALAR, |a| self.graph.shape(*a));
        self.push(op, args.to_vec(), declared, span)
    }

    fn unary(&mut self, u: Unary, x: NodeId, span: Span) -> R<NodeId> {
        self.op(Op::Unary(u), &[x], span)
    }

    fn constant(&mut self, v: f64, shape: Shape, span: Span) -> R<NodeId> {
        self.push(Op::Const(F64(v)), Vec::new(), shape, span)
    }

    fn broadcast(&mut self, x: NodeId, to: Shape, span: Span) -> R<NodeId> {
        let from = self.graph.shape(x);
        if from == to {
            return Ok(x);
        }
        // A fixed matrix meeting a matrix per example of its size (`X + Π`, eq. 12.17) is the
        // same matrix for every example.
        if let (Cols::Fixed(c), Cols::Batch(n)) = (from.cols, to.cols)
            && c == n
            && c > 1
            && from.rows == to.rows
        {
            return self.push(Op::TileExamples, vec![x], to, span);
        }
        self.push(Op::Broadcast, vec![x], to, span)
    }

    /// `|B|`: the number of examples, a sum over the batch of ones (known at run time only).
    fn batch_size(&mut self, span: Span) -> R<NodeId> {
        let one = self.constant(1.0, Shape::SCALAR, span)?;
        let ones = self.broadcast(one, Shape::batch(1), span)?;
        self.op(Op::SumCols, &[ones], span)
    }

    fn name_node(&mut self, id: NodeId, name: &str) {
        let n = &mut self.graph.nodes[id.index()];
        if n.name.is_none() && !matches!(n.op, Op::Input(_) | Op::Param(_)) {
            n.name = Some(name.to_string());
        }
    }

    // ------------------------------------------------------------------ statements

    /// Lowers a model's statements into `scope`. For a sub-model instance, `prefix` names
    /// its parameters (`φ_1.`).
    fn model_body(&mut self, model: &ast::Model, scope: &mut Scope, prefix: Option<&str>) -> R<()> {
        for run in crate::check::entrywise::runs(&model.stmts) {
            match &run[0].family {
                None => {
                    for s in run {
                        self.stmt_or_record(s, scope, prefix);
                    }
                }
                // `h_i = … ∑_j ω_j x_{i+j-2} … for i ∈ {1 … D}`: the vector `h`.
                Some(_) if self.entrywise(run, scope) => {}
                // `PE_{(pos,2i)} = … for pos ∈ {…}, i ∈ {…}`: the matrix `PE`.
                Some(f) if f.second.is_some() && self.entries(run, scope) => {}
                Some(f) => {
                    let var = canonical(&f.var, scope);
                    // The members checking unrolled (`ModelInfo::families`).
                    let range = self
                        .infos
                        .get(scope.model)
                        .and_then(|i| i.families.get(&f.span))
                        .copied()
                        .ok_or_else(|| unsupported(f.span, "a family without values"))?;
                    for k in range.members() {
                        scope.binds.push((var.clone(), Bind::Int(k)));
                        for s in run {
                            self.stmt_or_record(s, scope, prefix);
                        }
                        scope.binds.pop();
                    }
                }
            }
        }
        Ok(())
    }

    /// Lowers a statement; a failure is recorded (once per place) and lowering goes on.
    fn stmt_or_record(&mut self, s: &ast::Stmt, scope: &mut Scope, prefix: Option<&str>) {
        // A node-wise equation (`agg[n] = ∑_{m ∈ ne[n]} h_m`) is lowered as the matrix
        // equation checking read it as.
        let infos = self.infos;
        let s = infos
            .iter()
            .flat_map(|i| &i.nodewise)
            .find(|(at, _)| *at == s.span)
            .map_or(s, |(_, rewritten)| rewritten);
        let result = self.stmt(s, scope, prefix);
        self.record(result);
    }

    /// Records a statement's failure (once per place); lowering goes on.
    fn record(&mut self, result: R<()>) {
        match result {
            Ok(()) => {}
            Err(Fail::Quiet) => self.failed = true,
            Err(Fail::Report(d)) => {
                self.failed = true;
                if !self
                    .errors
                    .iter()
                    .any(|e| e.span == d.span && e.message == d.message)
                {
                    self.errors.push(*d);
                }
            }
        }
    }

    fn stmt(&mut self, s: &ast::Stmt, scope: &mut Scope, prefix: Option<&str>) -> R<()> {
        match &s.kind {
            ast::StmtKind::Input(items) | ast::StmtKind::Target(items) => {
                let role = match s.kind {
                    ast::StmtKind::Target(_) => Role::Target,
                    _ => Role::Input,
                };
                for t in items {
                    let name = canonical(&t.name, scope);
                    let (layout, ty) = self.declared(&name, scope, t.ty.span)?;
                    // One label is a class label; a vector's entries are numbers in the set.
                    let single =
                        matches!(&t.ty.kind, ast::TypeKind::Label { dims, .. } if dims.is_empty());
                    let set = layout.labels;
                    let labels = if single { (set, None) } else { (None, set) };
                    let hw = ty.shape.last_two(3);
                    self.input(&name, layout.shape, labels, role, t.name.span, scope)?;
                    if let Some(hw) = hw
                        && let Some(Val::Node(x)) = scope.names.get(&name)
                    {
                        self.spatial.insert(x.id, hw);
                    }
                }
            }
            ast::StmtKind::Noise { name, ty, .. } => {
                let canon = canonical(name, scope);
                let span = ty.as_ref().map_or(name.span, |t| t.span);
                let shape = self.declared(&canon, scope, span)?.0.shape;
                self.input(&canon, shape, (None, None), Role::Noise, name.span, scope)?;
                let dist = self.init_of(&canon, scope);
                if let Some(slot) = self.graph.inputs.last_mut() {
                    slot.dist = Some(match dist {
                        super::Init::Default => super::Init::Normal {
                            mean: 0.0,
                            variance: 1.0,
                        },
                        d => d,
                    });
                }
            }
            ast::StmtKind::Param { items, group } => {
                self.params(items, group.as_ref(), scope, prefix)?
            }
            ast::StmtKind::Let {
                name,
                formals,
                body,
            } => {
                let canon = canonical(name, scope);
                let val = if !formals.is_empty() {
                    Val::Func(Func::User {
                        formals: formals.iter().map(|f| canonical(f, scope)).collect(),
                        body: body.clone(),
                    })
                } else if let ExprKind::Name(n) = &body.kind
                    && let Some(f) = self.function(n, scope)
                {
                    Val::Func(f)
                } else {
                    self.expr(body, scope)?
                };
                scope.names.insert(canon, val);
            }
            ast::StmtKind::Equation { lhs, rhs, loss } => self.equation(lhs, rhs, *loss, scope)?,
            ast::StmtKind::Update { lhs, rhs } => self.update(lhs, rhs, scope)?,
        }
        Ok(())
    }

    /// A `param` line: each parameter a slot of the graph (once per sub-model instance,
    /// `φ_1.β`), read through its structure's mask, and a member of its group.
    fn params(
        &mut self,
        items: &[ast::ParamItem],
        group: Option<&ast::Name>,
        scope: &mut Scope,
        prefix: Option<&str>,
    ) -> R<()> {
        let group = group.map(|g| canonical(g, scope));
        for p in items {
            let name = canonical(&p.name, scope);
            let (layout, ty) = self.declared(&name, scope, p.ty.span)?;
            let (shape, matrix) = (layout.shape, is_matrix(ty));
            let full = match prefix {
                Some(pre) => format!("{pre}.{name}"),
                None => name.clone(),
            };
            let id = match self.instances.get(&full) {
                Some(id) => *id,
                None => {
                    let index = self.graph.params.len() as u32;
                    let id = self.push(Op::Param(index), Vec::new(), shape, p.name.span)?;
                    let slot_group = prefix.map(str::to_string).or_else(|| group.clone());
                    let init = param_init(p, self.init_of(&name, scope), (shape, matrix));
                    self.graph.inits.push(init);
                    self.graph.params.push(Slot {
                        name: full.clone(),
                        shape,
                        labels: None,
                        // A table of labels (`π : {1 … A}^{S}`): each entry one of them.
                        entry_labels: layout.labels,
                        group: slot_group,
                        node: id,
                        dist: None,
                        role: Role::Param,
                    });
                    self.instances.insert(full.clone(), id);
                    id
                }
            };
            let id = match &p.structure {
                Some(st) => self.structured(id, st, p.name.span)?,
                None => id,
            };
            scope.names.insert(name.clone(), Val::Node(Lv::of(id)));
            match &group {
                Some(g) => scope.groups.entry(g.clone()).or_default().push(name),
                None => scope.ungrouped.push(name),
            }
        }
        Ok(())
    }

    fn input(
        &mut self,
        name: &str,
        shape: Shape,
        (labels, entry_labels): (Option<LabelSet>, Option<LabelSet>),
        role: Role,
        span: Span,
        scope: &mut Scope,
    ) -> R<()> {
        let index = self.graph.inputs.len() as u32;
        let id = self.push(Op::Input(index), Vec::new(), shape, span)?;
        self.graph.inputs.push(Slot {
            name: name.to_string(),
            shape,
            labels,
            entry_labels,
            group: None,
            node: id,
            role,
            dist: None,
        });
        if let Some(l) = labels {
            scope.labels.insert(name.to_string(), l);
        }
        if let Some(l) = entry_labels
            && shape.cols == Cols::EXAMPLE
        {
            scope.entry_labels.insert(name.to_string(), l);
        }
        scope.names.insert(name.to_string(), Val::Node(Lv::of(id)));
        Ok(())
    }

    /// The layout of a declaration, from the type checking recorded for it (the one map
    /// `shape::layout::of`), and that type. `span` is the declared type's, where a type the
    /// IR cannot hold yet is reported.
    fn declared(&self, name: &str, scope: &Scope, span: Span) -> R<(Layout, &CheckedVal)> {
        let ty = self
            .infos
            .get(scope.model)
            .and_then(|i| i.declared(name))
            .ok_or_else(|| unsupported(span, format!("`{name}`, a declaration not checked")))?;
        let layout = crate::shape::layout::of(ty).map_err(|e| unsupported(span, e.to_string()))?;
        Ok((layout, ty))
    }

    fn equation(&mut self, lhs: &ast::Lhs, rhs: &Expr, loss: bool, scope: &mut Scope) -> R<()> {
        if let Some(args) = &lhs.args {
            let name = canonical(&lhs.name, scope);
            if loss {
                let v = self.value(rhs, scope)?;
                self.name_node(v.id, &name);
                scope.names.insert(name.clone(), Val::Node(v));
                scope.outputs.push((name.clone(), v.id));
                self.losses.push((name, names_of(args, scope)));
                return Ok(());
            }
            // The model function: its formals are the inputs; inline its body at each call,
            // and lower it once here on the inputs themselves (the forward pass).
            // The last argument names the parameter group; the others are the inputs.
            let data = if args.len() > 1 {
                &args[..args.len() - 1]
            } else {
                args
            };
            let formals = names_of(data, scope);
            let v = self.value(rhs, scope)?;
            self.name_node(v.id, &name);
            if !scope.outputs.iter().any(|(n, _)| *n == name) {
                scope.outputs.push((name.clone(), v.id));
            }
            let func = Func::Model {
                formals,
                body: rhs.clone(),
            };
            scope.names.insert(name.clone(), Val::Func(func));
            scope.forward.insert(name.clone(), v);
            return Ok(());
        }
        // `ℓ_i = …`: an unbound trailing subscript is the example index.
        let mut name = lhs.name.clone();
        let batch = crate::check::example_index(lhs, rhs, |v| {
            scope.bound(v).is_some() || scope.hypers.contains_key(v) || scope.names.contains_key(v)
        });
        if batch.is_some() {
            name.sub.pop();
        }
        let canon = canonical(&name, scope);
        if let Some(var) = &batch {
            scope.binds.push((var.clone(), Bind::Batch));
        }
        let v = self.expr(rhs, scope);
        if batch.is_some() {
            scope.binds.pop();
        }
        let v = v?;
        if let Val::Node(lv) = &v {
            self.name_node(lv.id, &canon);
            scope.last = Some((canon.clone(), lv.id));
            // `A_t = argmax_a […]`: the action an agent with update rules takes (`ACTION`).
            if loss || canon == ACTION {
                scope.outputs.push((canon.clone(), lv.id));
            }
        }
        scope.names.insert(canon, v);
        Ok(())
    }

    // ------------------------------------------------------------------ expressions

    /// An expression that must be a value in the graph.
    fn value(&mut self, e: &Expr, scope: &mut Scope) -> R<Lv> {
        match self.expr(e, scope)? {
            Val::Node(v) => Ok(v),
            Val::Ones { .. } => Err(unsupported(e.span, "`𝟏` outside a product")),
            Val::Identity { .. } => Err(unsupported(e.span, "the identity `I` on its own")),
            Val::Func(_) | Val::Group => Err(unsupported(e.span, "a function or group as a value")),
        }
    }

    fn expr(&mut self, e: &Expr, scope: &mut Scope) -> R<Val> {
        self.depth += 1;
        let out = self.expr_inner(e, scope);
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, e: &Expr, scope: &mut Scope) -> R<Val> {
        let span = e.span;
        let node = |v: Lv| Ok(Val::Node(v));
        match &e.kind {
            ExprKind::Number(v) => node(Lv::of(self.constant(*v, Shape::SCALAR, span)?)),
            ExprKind::Name(n) => self.name(n, span, scope),
            ExprKind::Ones => Ok(Val::Ones {
                row: false,
                scale: None,
            }),
            ExprKind::Identity => Ok(Val::Identity { scale: None }),
            ExprKind::BatchSize => node(Lv::of(self.batch_size(span)?)),
            ExprKind::Paren(x) => self.expr(x, scope),
            ExprKind::Neg(x) => {
                let v = self.value(x, scope)?;
                node(Lv {
                    id: self.unary(Unary::Neg, v.id, span)?,
                    row: v.row,
                })
            }
            ExprKind::Sqrt(x) => {
                let v = self.value(x, scope)?;
                node(Lv {
                    id: self.unary(Unary::Sqrt, v.id, span)?,
                    row: v.row,
                })
            }
            ExprKind::Transpose(x) if matches!(x.kind, ExprKind::Stack(_)) => match &x.kind {
                ExprKind::Stack(rows) => self.stack(rows, true, span, scope),
                _ => Err(unsupported(span, "this transpose")),
            },
            ExprKind::Transpose(x) => match self.expr(x, scope)? {
                Val::Ones { row, scale } => Ok(Val::Ones { row: !row, scale }),
                Val::Identity { scale } => Ok(Val::Identity { scale }),
                Val::Node(v) => node(self.transpose(v, span)?),
                _ => Err(unsupported(span, "transposing a function")),
            },
            ExprKind::Norm(x) => {
                let sq = self.squared_norm(x, scope)?;
                node(Lv::of(self.unary(Unary::Sqrt, sq, span)?))
            }
            ExprKind::Power(b, p) => {
                // ‖x‖² is the sum of squares, without a square root.
                if let ExprKind::Norm(x) = &b.kind
                    && self.int(p, scope) == Some(2)
                {
                    return node(Lv::of(self.squared_norm(x, scope)?));
                }
                let Some(pv) = self.num(p, scope) else {
                    if let Some(c) = self.num(b, scope).filter(|c| *c > 0.0) {
                        // A constant base to a computed power (`β^{t+1}`, eq. 6.16):
                        // `exp(ln β · (t+1))`.
                        let e = self.value(p, scope)?;
                        let k = self.constant(c.ln(), self.graph.shape(e.id), span)?;
                        let x = self.op(Op::Mul, &[k, e.id], span)?;
                        let id = self.unary(Unary::Exp, x, span)?;
                        return node(Lv { id, row: e.row });
                    }
                    return Err(unsupported(
                        p.span,
                        "a power with an exponent that is not a constant",
                    ));
                };
                let v = self.value(b, scope)?;
                let id = if pv == 1.0 {
                    v.id
                } else if !v.row && self.is_diagonal(v.id, 0) {
                    // A power of a diagonal matrix (the only matrix power the checker
                    // allows): the power of each diagonal entry, the zeros off the diagonal
                    // kept (`D^{-1/2}`). A square matrix read entry by entry (`∑_j φ_j²`) is
                    // not diagonal and takes the power of each entry.
                    let d = self.op(Op::DiagPart, &[v.id], span)?;
                    let p = self.unary(Unary::Powf(F64(pv)), d, span)?;
                    self.op(Op::Diag, &[p], span)?
                } else {
                    self.unary(Unary::Powf(F64(pv)), v.id, span)?
                };
                node(Lv { id, row: v.row })
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, span, scope),
            ExprKind::Call { func, args } => self.call(func, args, span, scope),
            ExprKind::Big {
                op,
                binder,
                upper,
                body,
            } => self.big(*op, binder.as_ref(), upper.as_deref(), body, span, scope),
            ExprKind::Stack(rows) => self.stack(rows, false, span, scope),
            ExprKind::Deriv { of, wrt } => self.deriv(of, wrt, span, scope),
            ExprKind::Prob { event, given } => self.prob(event, given, span, scope),
        }
    }

    /// Whether a node is a square matrix of more than one row that is diagonal by
    /// construction, by the checker's rules (`Val::diagonal`) read on the graph: `diag[v]`,
    /// `I` (broadcast to every example), sums of diagonal matrices, entry-wise products with
    /// one (scaling too), quotients by a scalar, negation, square roots, powers, products
    /// and transposes of diagonal matrices.
    fn is_diagonal(&self, id: NodeId, depth: usize) -> bool {
        let n = self.graph.node(id);
        let cols = match n.shape.cols {
            Cols::Fixed(c) | Cols::Batch(c) => c,
        };
        if depth > 64 || n.shape.rows < 2 || cols != n.shape.rows {
            return false;
        }
        let diag = |k: usize| {
            n.args
                .get(k)
                .is_some_and(|&a| self.is_diagonal(a, depth + 1))
        };
        match n.op {
            Op::Diag | Op::Identity => true,
            Op::Broadcast | Op::TileExamples | Op::Transpose | Op::ExampleTranspose => diag(0),
            Op::Unary(Unary::Neg | Unary::Sqrt | Unary::Powf(_)) => diag(0),
            Op::Add | Op::Sub | Op::MatMul { .. } | Op::ExampleMatMul { .. } => diag(0) && diag(1),
            Op::Mul => diag(0) || diag(1),
            Op::Div => diag(0),
            _ => false,
        }
    }

    /// `‖x‖²`: the sum of squared entries (per example for a batch).
    fn squared_norm(&mut self, x: &Expr, scope: &mut Scope) -> R<NodeId> {
        // `‖∂L/∂φ‖²`: over every parameter of the group (eq. 9.8).
        if let ExprKind::Deriv { of, wrt } = &x.kind {
            return self.deriv_squared_norm(of, wrt, x.span, scope);
        }
        let v = self.value(x, scope)?;
        self.sum_squares(v.id, x.span)
    }

    /// The sum of a value's squared entries (per example for a batch).
    fn sum_squares(&mut self, v: NodeId, span: Span) -> R<NodeId> {
        let sq = self.op(Op::Mul, &[v, v], span)?;
        let mut s = self.op(Op::SumRows, &[sq], span)?;
        match self.graph.shape(s).cols {
            Cols::Fixed(c) if c > 1 => s = self.op(Op::SumCols, &[s], span)?,
            Cols::Batch(n) if n > 1 => s = self.op(Op::SumExampleCols, &[s], span)?,
            _ => {}
        }
        Ok(s)
    }

    /// Two values brought to a common shape by explicit broadcasts.
    fn align(&mut self, a: NodeId, b: NodeId, span: Span) -> R<(NodeId, NodeId)> {
        let (sa, sb) = (self.graph.shape(a), self.graph.shape(b));
        if sa == sb {
            return Ok((a, b));
        }
        let rows = sa.rows.max(sb.rows);
        let cols = match (sa.cols, sb.cols) {
            (Cols::Batch(x), Cols::Batch(y)) => Cols::Batch(x.max(y)),
            (Cols::Batch(n), _) | (_, Cols::Batch(n)) => Cols::Batch(n),
            (Cols::Fixed(x), Cols::Fixed(y)) => Cols::Fixed(x.max(y)),
        };
        let to = Shape { rows, cols };
        Ok((self.broadcast(a, to, span)?, self.broadcast(b, to, span)?))
    }

    fn elementwise(&mut self, op: Op, a: Lv, b: Lv, span: Span) -> R<Val> {
        let (x, y) = self.align(a.id, b.id, span)?;
        Ok(Val::Node(Lv {
            id: self.op(op, &[x, y], span)?,
            row: a.row && b.row,
        }))
    }

    fn binary(
        &mut self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        let a = self.expr(lhs, scope)?;
        let b = self.expr(rhs, scope)?;
        let juxt = op == BinOp::Juxt;
        let (a, b) = match self.with_identity(op, a, b, span)? {
            Ok(v) => return Ok(v),
            Err(pair) => pair,
        };
        let (a, b) = match (a, b) {
            (Val::Ones { row: true, .. }, Val::Node(v))
                if juxt && !v.row && self.graph.shape(v.id).rows == 1 =>
            {
                // The checker reads `𝟏ᵀ c` with a number `c` as scaled ones whose length comes
                // later, a one-entry vector as a dot product: the graph cannot tell them apart.
                return Err(unsupported(span, "`𝟏ᵀ` times a single number"));
            }
            (Val::Ones { row: true, scale }, Val::Node(v)) if juxt && !v.row => {
                // 𝟏ᵀ v: the sum of v's entries.
                let sum = self.op(Op::SumRows, &[v.id], span)?;
                return Ok(Val::Node(Lv::of(self.scaled(sum, scale, span)?)));
            }
            (Val::Node(a), Val::Node(b)) => (a, b),
            (Val::Node(v), Val::Ones { row: true, scale })
                if juxt
                    && !v.row
                    && !self.is_scalar(v)
                    && self.graph.shape(v.id).cols == Cols::Fixed(1) =>
            {
                // v 𝟏ᵀ (eq. 12.6): v in every column; a one-column value broadcasts to the
                // columns of what it meets, so it stays one column until then. A number
                // times `𝟏ᵀ` is scaled ones (below): `c 𝟏ᵀ x` is `c` times the sum of x.
                return Ok(Val::Node(Lv::of(self.scaled(v.id, scale, span)?)));
            }
            (Val::Ones { row, scale }, Val::Node(c)) | (Val::Node(c), Val::Ones { row, scale })
                if matches!(op, BinOp::Scale | BinOp::Juxt) && !c.row && self.is_scalar(c) =>
            {
                // `c · 𝟏`: still ones of the length of what they meet, scaled.
                let scale = self.scaled(c.id, scale, span)?;
                return Ok(Val::Ones {
                    row,
                    scale: Some(scale),
                });
            }
            (Val::Node(m), Val::Ones { row: false, scale }) if juxt && !m.row => {
                // M 𝟏: the sums of M's rows, of each example's block for a matrix per example
                // (`H_K 𝟏 / N`, eq. 13.11); M (0 · 𝟏) is zero, M's rows of it.
                let shape = self.graph.shape(m.id);
                let (op, cols) = match shape.cols {
                    Cols::Fixed(_) => (Op::SumCols, Cols::Fixed(1)),
                    Cols::Batch(_) => (Op::SumExampleCols, Cols::EXAMPLE),
                };
                if let Some(c) = scale
                    && self.is_zero(c)
                {
                    let zero = Shape {
                        rows: shape.rows,
                        cols,
                    };
                    return Ok(Val::Node(Lv::of(self.constant(0.0, zero, span)?)));
                }
                let sum = self.op(op, &[m.id], span)?;
                return Ok(Val::Node(Lv::of(self.scaled(sum, scale, span)?)));
            }
            // `𝟏 - y`: ones of the other operand's shape; `c 𝟏ᵀ + r` with a row `r` per
            // example (`β_K 𝟏ᵀ + ω_K H_K`, eq. 13.12): ones of the row's shape.
            (Val::Ones { row, scale }, Val::Node(b))
                if !juxt && (!row || b.row || self.graph.shape(b.id).rows == 1) =>
            {
                let one = self.constant(1.0, self.graph.shape(b.id), span)?;
                let one = self.scaled(one, scale, span)?;
                (
                    Lv {
                        id: one,
                        row: b.row,
                    },
                    b,
                )
            }
            (Val::Node(a), Val::Ones { row, scale })
                if !juxt && (!row || a.row || self.graph.shape(a.id).rows == 1) =>
            {
                let one = self.constant(1.0, self.graph.shape(a.id), span)?;
                let one = self.scaled(one, scale, span)?;
                (
                    a,
                    Lv {
                        id: one,
                        row: a.row,
                    },
                )
            }
            _ => return Err(unsupported(span, "this use of `𝟏` or of a function")),
        };
        match op {
            BinOp::Add => self.elementwise(Op::Add, a, b, span),
            BinOp::Sub => self.elementwise(Op::Sub, a, b, span),
            BinOp::Hadamard | BinOp::Scale => self.elementwise(Op::Mul, a, b, span),
            BinOp::Div => self.elementwise(Op::Div, a, b, span),
            BinOp::Juxt => self.product(a, b, span),
        }
    }

    /// A binary operation with the identity `I` as an operand: `c I` stays the identity,
    /// scaled; `M I` and `I M` are `M`; `A + I`, `A − I`, `A ⊙ I` make the identity of `A`'s
    /// size (each example's, for a matrix per example). `Ok(v)` is the result; `Err` hands
    /// the operands back, the identity made a value, when the operation is still to be done.
    fn with_identity(
        &mut self,
        op: BinOp,
        a: Val,
        b: Val,
        span: Span,
    ) -> R<Result<Val, (Val, Val)>> {
        let scaling = matches!(op, BinOp::Scale | BinOp::Juxt);
        let entrywise = matches!(op, BinOp::Add | BinOp::Sub | BinOp::Hadamard);
        match (a, b) {
            (Val::Identity { scale: s }, Val::Identity { scale: t }) if scaling => {
                let scale = match (s, t) {
                    (Some(s), t) => Some(self.scaled(s, t, span)?),
                    (None, t) => t,
                };
                Ok(Ok(Val::Identity { scale }))
            }
            (Val::Identity { scale }, Val::Node(c)) | (Val::Node(c), Val::Identity { scale })
                if scaling && !c.row && self.graph.shape(c.id) == Shape::SCALAR =>
            {
                let scale = self.scaled(c.id, scale, span)?;
                Ok(Ok(Val::Identity { scale: Some(scale) }))
            }
            (Val::Identity { scale }, Val::Node(m)) | (Val::Node(m), Val::Identity { scale })
                if op == BinOp::Juxt =>
            {
                let id = self.scaled(m.id, scale, span)?;
                Ok(Ok(Val::Node(Lv { id, row: m.row })))
            }
            (Val::Identity { scale }, Val::Node(m)) if entrywise => {
                let eye = self.identity_of(m, scale, span)?;
                Ok(Err((Val::Node(eye), Val::Node(m))))
            }
            (Val::Node(m), Val::Identity { scale }) if entrywise => {
                let eye = self.identity_of(m, scale, span)?;
                Ok(Err((Val::Node(m), Val::Node(eye))))
            }
            (Val::Identity { .. }, _) | (_, Val::Identity { .. }) => {
                Err(unsupported(span, "this use of the identity `I`"))
            }
            pair => Ok(Err(pair)),
        }
    }

    /// The identity of a square matrix's size (of each example's block), scaled.
    fn identity_of(&mut self, m: Lv, scale: Option<NodeId>, span: Span) -> R<Lv> {
        let s = self.graph.shape(m.id);
        let cols = match s.cols {
            Cols::Fixed(c) | Cols::Batch(c) => c,
        };
        if m.row || cols != s.rows {
            return Err(unsupported(
                span,
                "the identity beside a matrix that is not square",
            ));
        }
        let eye = self.push(Op::Identity, Vec::new(), Shape::fixed(s.rows, s.rows), span)?;
        Ok(Lv::of(self.scaled(eye, scale, span)?))
    }

    /// `x` times the scale of a scaled `𝟏`, if it has one. Ones scaled by the number 0 are the
    /// zero vector (`h_0 = 0 · 𝟏`), so whatever they meet is a constant zero of its shape,
    /// not a product with 0 (`Ω h_0` is not `0 ⊙ (Ω 𝟏)`).
    fn scaled(&mut self, x: NodeId, scale: Option<NodeId>, span: Span) -> R<NodeId> {
        match scale {
            None => Ok(x),
            Some(c) if self.is_zero(c) => self.constant(0.0, self.graph.shape(x), span),
            Some(c) => {
                let (x, c) = self.align(x, c, span)?;
                self.op(Op::Mul, &[x, c], span)
            }
        }
    }

    /// Whether a node is the number 0 as written.
    fn is_zero(&self, c: NodeId) -> bool {
        matches!(self.graph.node(c).op, Op::Const(F64(v)) if v == 0.0)
    }

    fn is_scalar(&self, v: Lv) -> bool {
        let s = self.graph.shape(v.id);
        s.rows == 1 && matches!(s.cols, Cols::Fixed(1) | Cols::EXAMPLE)
    }

    /// Juxtaposition: scaling when one side is a scalar, else a matrix product.
    fn product(&mut self, a: Lv, b: Lv, span: Span) -> R<Val> {
        let (sa, sb) = (self.graph.shape(a.id), self.graph.shape(b.id));
        // A row of a batch times a column of a batch: a dot product per example.
        if a.row && !b.row && sa.cols == Cols::EXAMPLE {
            if sb.cols == Cols::EXAMPLE && sa.rows == sb.rows {
                let m = self.op(Op::Mul, &[a.id, b.id], span)?;
                return Ok(Val::Node(Lv::of(self.op(Op::SumRows, &[m], span)?)));
            }
            if let Cols::Fixed(_) = sb.cols
                && sb.rows == sa.rows
            {
                // (xᵀ M)ᵀ = Mᵀ x: keep it as a row.
                let id = self.op(
                    Op::MatMul {
                        ta: true,
                        tb: false,
                    },
                    &[b.id, a.id],
                    span,
                )?;
                return Ok(Val::Node(Lv { id, row: true }));
            }
        }
        // A 1 × 1 left operand scales instead (it is a scalar, even times a row vector).
        let a_scalar = sa == Shape::SCALAR;
        let matmul_fits = !a.row && !b.row && !a_scalar && sa.cols == Cols::Fixed(sb.rows);
        if matmul_fits {
            return Ok(Val::Node(Lv::of(self.op(
                Op::MatMul {
                    ta: false,
                    tb: false,
                },
                &[a.id, b.id],
                span,
            )?)));
        }
        if self.is_scalar(a) || self.is_scalar(b) {
            return self.elementwise(Op::Mul, a, b, span);
        }
        // Per example (`Kᵀ Q`, `V A`, `X ω`, `xᵀ Y`, `X Ω` with a fixed `Ω`): a product per
        // example, a transposed vector per example read through the flag.
        let per_example = Op::ExampleMatMul {
            ta: a.row,
            tb: b.row,
        };
        if (sa.cols.is_batch() || sb.cols.is_batch()) && per_example.infer(&[sa, sb], sa).is_ok() {
            let id = self.op(per_example, &[a.id, b.id], span)?;
            return Ok(Val::Node(Lv::of(id)));
        }
        Err(unsupported(span, "this product"))
    }

    // ------------------------------------------------------------------ names

    fn name(&mut self, n: &ast::Name, span: Span, scope: &mut Scope) -> R<Val> {
        // `r_{i,j}` in `∑_{(i,j)∈Ω}` reads as `r_{ij}` (as checked).
        if let Some(joined) = crate::resolve::pair_joined(n, scope) {
            return self.name(&joined, span, scope);
        }
        // A hyper-parameter, subscripted or not (`λ`, `D_q`, `α_1`): its value.
        let whole = canonical(n, scope);
        if let Some(v) = scope.hypers.get(&whole).copied() {
            return Ok(Val::Node(Lv::of(self.constant(v, Shape::SCALAR, span)?)));
        }
        // A family variable or an unrolled sum's index as a number (as checked).
        if n.sub.is_empty()
            && !scope.names.contains_key(&whole)
            && let Some(Bind::Int(v)) = scope.bound(&whole)
        {
            let v = *v as f64;
            return Ok(Val::Node(Lv::of(self.constant(v, Shape::SCALAR, span)?)));
        }
        let items: Vec<Item> = n.sub.iter().map(|s| item(s, scope)).collect();
        let texts: Vec<Option<String>> = items.iter().map(Item::text).collect();
        let resolved = self.resolve(n, &items, &texts, scope, span)?;
        match resolved {
            Some(v) => Ok(v),
            None if self.failed => Err(Fail::Quiet),
            None => Err(unsupported(
                span,
                format!("the name `{}`", names::literal(n)),
            )),
        }
    }

    /// The value of a name by the one walk of its prefix ([`crate::resolve::path`]): the
    /// root's value, then each step applied as a node; `None` if it has none.
    fn resolve(
        &mut self,
        n: &ast::Name,
        items: &[Item],
        texts: &[Option<String>],
        scope: &mut Scope,
        span: Span,
    ) -> R<Option<Val>> {
        // The whole name bound is the root with no steps (`path`'s first rule), taken here
        // without looking it up twice.
        if let Root::Named(v) = root_known(n, texts, items.len(), scope) {
            return Ok(Some(v.clone()));
        }
        let kinds: Vec<ItemKind> = items.iter().map(Item::kind).collect();
        let path = {
            let scope = &*scope;
            let graph = &*self.graph;
            crate::resolve::path(
                &kinds,
                |len| !matches!(root_known(n, texts, len, scope), Root::Unknown),
                |len, _| match root_known(n, texts, len, scope) {
                    Root::Named(Val::Node(v)) | Root::Frozen(Val::Node(v)) => matches!(
                        graph.shape(v.id).cols,
                        Cols::Batch(m) | Cols::Fixed(m) if m > 1
                    ),
                    _ => false,
                },
            )
        };
        let mut value = self.root(n, texts, path.root, scope, span)?;
        if value.is_none()
            && let Some(row) = self.table_row(n, items, scope, span)?
        {
            return Ok(Some(row));
        }
        for step in path.steps {
            let Some(base) = value else {
                return Ok(None);
            };
            value = self.step(base, step, items, scope, span)?;
        }
        Ok(value)
    }

    /// The value of the name with its first `len` subscript items, the root of its path.
    fn root(
        &mut self,
        n: &ast::Name,
        texts: &[Option<String>],
        len: usize,
        scope: &mut Scope,
        span: Span,
    ) -> R<Option<Val>> {
        match root_known(n, texts, len, scope) {
            Root::Named(v) => return Ok(Some(v.clone())),
            Root::Frozen(Val::Node(v)) => {
                let v = *v;
                let id = self.frozen_of(v.id, span)?;
                return Ok(Some(Val::Node(Lv { id, row: v.row })));
            }
            Root::Frozen(_) => return Ok(Some(Val::Group)),
            Root::Unknown if len > 0 => return Ok(None),
            Root::Unknown => {}
        }
        let full = names::build(&n.word, n.primes, n.frozen, &[]);
        if let Some(v) = scope.hypers.get(&full).copied() {
            return Ok(Some(Val::Node(Lv::of(self.constant(
                v,
                Shape::SCALAR,
                span,
            )?))));
        }
        Ok(match full.as_str() {
            "π" => Some(Val::Node(Lv::of(self.constant(
                std::f64::consts::PI,
                Shape::SCALAR,
                span,
            )?))),
            "ones" => Some(Val::Ones {
                row: false,
                scale: None,
            }),
            _ => scope
                .group(&full)
                .filter(|_| scope.groups.contains_key(&full) || full == "φ")
                .map(|_| Val::Group),
        })
    }

    /// One step of a name's path applied to the value before it.
    fn step(
        &mut self,
        base: Val,
        step: Step,
        items: &[Item],
        scope: &mut Scope,
        span: Span,
    ) -> R<Option<Val>> {
        let k = match step {
            Step::Item(k) => k,
            // `X_{r,c}`: the entry in row r, column c of a matrix per example (as checked by
            // `matrix_entry` in check/expr.rs), not column r's component c; `w_{k,l}` of a
            // fixed matrix (a parameter): row k transposed and its l-th entry.
            Step::Entry(_, r, c) => {
                let Val::Node(v) = base else {
                    return Ok(None);
                };
                let shape = self.graph.shape(v.id);
                let (rows, cols) = (shape.rows as i64, shape.cols_for(1) as i64);
                if !(1..=rows).contains(&r) || !(1..=cols).contains(&c) {
                    return Err(unsupported(
                        span,
                        format!("entry ({r}, {c}) of a {rows}×{cols} matrix"),
                    ));
                }
                let (r, c) = ((r - 1) as u32, (c - 1) as u32);
                let id = if let Cols::Batch(_) = shape.cols {
                    let col = self.op(Op::ExampleCol(c), &[v.id], span)?;
                    self.op(Op::Row(r), &[col], span)?
                } else {
                    let row = self.op(Op::Row(r), &[v.id], span)?;
                    let col = self.op(Op::Transpose, &[row], span)?;
                    self.op(Op::Row(c), &[col], span)?
                };
                return Ok(Some(Val::Node(Lv::of(id))));
            }
        };
        Ok(match (&items[k], base) {
            (Item::Batch, v) => Some(v),
            (Item::Int(i), Val::Node(v)) => {
                Some(Val::Node(Lv::of(self.numbered_component(v.id, *i, span)?)))
            }
            (Item::Label(name), Val::Node(v)) => {
                Some(Val::Node(Lv::of(self.pick(v.id, name, scope, span)?)))
            }
            (Item::LabelEntry(name, k), Val::Node(v)) => Some(Val::Node(Lv::of(
                self.pick_entry(v.id, name, *k, scope, span)?,
            ))),
            // `φ_j` inside `∑_j`: bound to one parameter at a time by `big`.
            (Item::Group(members), Val::Group) => {
                members.first().and_then(|m| scope.names.get(m).cloned())
            }
            _ => None,
        })
    }

    /// `x[y_j, j]` for the labels of input `label`.
    fn pick(&mut self, x: NodeId, label: &str, scope: &Scope, span: Span) -> R<NodeId> {
        if self.graph.shape(x).cols == Cols::Fixed(1) {
            // A vector the same for every example read by a label: a table (`v[s_i]`).
            return self.table_entry(x, label, scope, span);
        }
        let (lo, _) = scope.labels.get(label).copied().unwrap_or((0, 0));
        let Some(Val::Node(y)) = scope.names.get(label).cloned() else {
            return Err(unsupported(span, format!("the class label `{label}`")));
        };
        self.op(Op::PickLabel { lo }, &[x, y.id], span)
    }

    /// Component `k` (1-based) of a value: row `k` of a vector, column `k` of a matrix per
    /// example (`X_t`, the t-th token; `f_n[X_i, φ]`, the model's output for token n), as
    /// check reads the subscript.
    fn numbered_component(&mut self, v: NodeId, k: i64, span: Span) -> R<NodeId> {
        let shape = self.graph.shape(v);
        let column = matches!(shape.cols, Cols::Batch(n) if n > 1);
        let (len, what) = match shape.cols {
            Cols::Batch(n) if column => (n as i64, "column"),
            _ => (shape.rows as i64, "component"),
        };
        if k < 1 || k > len {
            return Err(unsupported(span, format!("{what} {k} of {len}")));
        }
        let op = if column {
            Op::ExampleCol((k - 1) as u32)
        } else {
            Op::Row((k - 1) as u32)
        };
        self.op(op, &[v], span)
    }

    /// `x[y_{j,k}, j]`: the component of `x` chosen by entry `k` (1-based) of the labels
    /// of input `label`, a vector of labels per example.
    fn pick_entry(
        &mut self,
        x: NodeId,
        label: &str,
        k: i64,
        scope: &Scope,
        span: Span,
    ) -> R<NodeId> {
        let (lo, _) = scope.entry_labels.get(label).copied().unwrap_or((0, 0));
        let Some(Val::Node(y)) = scope.names.get(label).cloned() else {
            return Err(unsupported(span, format!("the labels `{label}`")));
        };
        let len = self.graph.shape(y.id).rows as i64;
        if k < 1 || k > len {
            return Err(unsupported(span, format!("entry {k} of {len} labels")));
        }
        let entry = self.op(Op::Row((k - 1) as u32), &[y.id], span)?;
        self.op(Op::PickLabel { lo }, &[x, entry], span)
    }

    fn function(&self, n: &ast::Name, scope: &Scope) -> Option<Func> {
        let full = {
            let items: Option<Vec<String>> = n.sub.iter().map(|s| item(s, scope).text()).collect();
            items.map(|t| names::build(&n.word, n.primes, false, &t))
        };
        let base = names::build(&n.word, n.primes, false, &[]);
        for key in full.iter().chain([&base]) {
            if let Some(Val::Func(f)) = scope.names.get(key) {
                return Some(f.clone());
            }
        }
        if let Some((b, _)) = builtins::lookup(&n.word) {
            return Some(Func::Builtin(b, n.sub.clone()));
        }
        if n.sub.is_empty() {
            return self
                .file
                .models
                .iter()
                .position(|m| m.name.text == n.word)
                .map(Func::Sub);
        }
        None
    }

    fn call(&mut self, fname: &ast::Name, args: &[Expr], span: Span, scope: &mut Scope) -> R<Val> {
        if let Some(v) = self.table(fname, args, span, scope)? {
            return Ok(v);
        }
        let Some(f) = self.function(fname, scope) else {
            if self.failed {
                return Err(Fail::Quiet);
            }
            return Err(unsupported(
                fname.span,
                format!("the function `{}`", fname.word),
            ));
        };
        let full = {
            let items: Option<Vec<String>> =
                fname.sub.iter().map(|s| item(s, scope).text()).collect();
            items.map(|t| names::build(&fname.word, fname.primes, false, &t))
        };
        let own_name = matches!(
            full.as_ref().and_then(|f| scope.names.get(f)),
            Some(Val::Func(_))
        );
        let component = if own_name { None } else { fname.sub.last() };
        let result = match f {
            Func::Builtin(b, bound_sub) => {
                match self.builtin_call(b, bound_sub, fname, args, span, scope)? {
                    // The subscript was the function's own (`LReLU_{0.1}`, `Norm_x`).
                    (v, true) => return Ok(v),
                    (Val::Node(v), false) => v,
                    (other, false) => return Ok(other),
                }
            }
            Func::User { formals, body } => {
                let vals: Vec<Val> = args.iter().map(|a| self.expr(a, scope)).collect::<R<_>>()?;
                match self.inline(&formals, vals, &body, scope)? {
                    Val::Node(v) => v,
                    _ => return Err(unsupported(span, "a function returning a function")),
                }
            }
            Func::Model { formals, body, .. } => {
                self.model_call(&formals, &body, fname, full.as_deref(), args, span, scope)?
            }
            Func::Sub(i) => self.sub_model(i, args, span, scope)?,
        };
        match component {
            None => Ok(Val::Node(result)),
            Some(c) => match item(c, scope) {
                Item::Int(k) => Ok(Val::Node(Lv::of(
                    self.numbered_component(result.id, k, span)?,
                ))),
                Item::Label(name) => {
                    Ok(Val::Node(Lv::of(self.pick(result.id, &name, scope, span)?)))
                }
                Item::LabelEntry(name, k) => Ok(Val::Node(Lv::of(
                    self.pick_entry(result.id, &name, k, scope, span)?,
                ))),
                _ => Err(unsupported(c.span, "this component index")),
            },
        }
    }

    /// A call of a built-in function; `sub` the subscripts bound with it (a `let` alias of
    /// `LReLU_{0.1}`), else the call's own.
    fn builtin_call(
        &mut self,
        b: Builtin,
        bound_sub: Vec<Expr>,
        fname: &ast::Name,
        args: &[Expr],
        span: Span,
        scope: &mut Scope,
    ) -> R<(Val, bool)> {
        let sub = if bound_sub.is_empty() {
            fname.sub.clone()
        } else {
            bound_sub
        };
        let lv = match b {
            Builtin::LRelu => {
                let alpha = match sub.first() {
                    Some(s) => self
                        .num(s, scope)
                        .ok_or_else(|| unsupported(s.span, "a slope that is not a constant"))?,
                    None => 0.01,
                };
                let arg = args
                    .first()
                    .ok_or_else(|| unsupported(span, "`LReLU` without an argument"))?;
                let x = self.value(arg, scope)?;
                let id = self.unary(Unary::LRelu(F64(alpha)), x.id, span)?;
                return Ok((Val::Node(Lv { id, row: x.row }), true));
            }
            Builtin::NormPdf => return Ok((self.density(&sub, args, span, scope)?, true)),
            Builtin::Max => return Ok((self.extreme_pair(Extreme::Max, args, span, scope)?, true)),
            Builtin::Min => return Ok((self.extreme_pair(Extreme::Min, args, span, scope)?, true)),
            Builtin::MaxUnpool => {
                let [p, h] = args else {
                    return Err(unsupported(span, "`MaxUnpool` without two arguments"));
                };
                let (p, h) = (self.value(p, scope)?, self.value(h, scope)?);
                Lv::of(self.max_unpool(p.id, h.id, span)?)
            }
            Builtin::Softmask => {
                let [s, m] = args else {
                    return Err(unsupported(span, "`Softmask` without two arguments"));
                };
                let (s, m) = (self.value(s, scope)?, self.value(m, scope)?);
                Lv::of(self.op(Op::Softmask, &[s.id, m.id], span)?)
            }
            // MaxNe[H, A] = Pick(H, A, H): H's entries at the maximisers.
            Builtin::MaxNe => {
                let [h, a] = args else {
                    return Err(unsupported(span, "`MaxNe` without two arguments"));
                };
                let (h, a) = (self.value(h, scope)?, self.value(a, scope)?);
                let pick = Op::MaxNe(super::pool::PoolPart::Pick);
                Lv::of(self.op(pick, &[h.id, a.id, h.id], span)?)
            }
            _ => {
                let arg = args
                    .first()
                    .ok_or_else(|| unsupported(span, "a call without arguments"))?;
                self.builtin(b, arg, span, scope)?
            }
        };
        Ok((Val::Node(lv), false))
    }

    /// A call of the model function: inlined on its arguments, with the parameters' frozen
    /// copies for `f[x, φ⁻]`, or the forward pass reused on the model's own inputs.
    #[allow(clippy::too_many_arguments)]
    fn model_call(
        &mut self,
        formals: &[String],
        body: &Expr,
        fname: &ast::Name,
        full: Option<&str>,
        args: &[Expr],
        span: Span,
        scope: &mut Scope,
    ) -> R<Lv> {
        let data = args
            .get(..formals.len())
            .ok_or_else(|| unsupported(span, "a call with too few arguments"))?;
        let vals: Vec<Val> = data.iter().map(|a| self.expr(a, scope)).collect::<R<_>>()?;
        // `q[s'_i, φ⁻]`: the model with its parameters' frozen copies.
        if let Some(ExprKind::Name(g)) = args.get(formals.len()).map(|a| &a.kind)
            && g.frozen
        {
            let mut thawed = g.clone();
            thawed.frozen = false;
            let members = scope.group(&canonical(&thawed, scope)).unwrap_or_default();
            let saved = self.freeze_group(&members, scope, span)?;
            let out = self.inline(formals, vals, body, scope);
            rl::unfreeze(saved, scope);
            match out? {
                Val::Node(v) => Ok(v),
                _ => Err(unsupported(span, "this call")),
            }
        } else {
            // On the model's own inputs, reuse the forward pass.
            let same = formals
                .iter()
                .zip(&vals)
                .all(|(f, v)| match (scope.names.get(f), v) {
                    (Some(Val::Node(a)), Val::Node(b)) => a.id == b.id,
                    _ => false,
                });
            let base = names::build(&fname.word, fname.primes, false, &[]);
            let forward = full
                .and_then(|f| scope.forward.get(f))
                .or_else(|| scope.forward.get(&base));
            match forward.copied() {
                Some(v) if same => Ok(v),
                _ => match self.inline(formals, vals, body, scope)? {
                    Val::Node(v) => Ok(v),
                    _ => Err(unsupported(span, "this call")),
                },
            }
        }
    }

    /// `MaxUnpool[p, h]` (§10.4.2): the max-pooling op's `Place` part, `p` put at the
    /// maximisers of `h`'s 2×2 regions (the gradient of `MaxPool[h]` with `p` as `∂L/∂p`).
    fn max_unpool(&mut self, p: NodeId, h: NodeId, span: Span) -> R<NodeId> {
        let image = self.spatial.get(&h).copied();
        let pool = crate::ir::pool::Pool {
            part: crate::ir::pool::PoolPart::Place,
            image,
        };
        let id = self.op(Op::MaxPool(pool), &[h, p], span)?;
        if let Some(hw) = image {
            self.spatial.insert(id, hw);
        }
        Ok(id)
    }

    /// `vᵀ`: each example's block transposed (a product reads it as its flag), a vector per
    /// example flagged as a row, a constant matrix transposed.
    fn transpose(&mut self, v: Lv, span: Span) -> R<Lv> {
        let s = self.graph.shape(v.id);
        Ok(
            if let Cols::Batch(n) = s.cols
                && n > 1
            {
                Lv::of(self.op(Op::ExampleTranspose, &[v.id], span)?)
            } else if s.cols == Cols::EXAMPLE {
                Lv {
                    id: v.id,
                    row: !v.row,
                }
            } else if s == Shape::SCALAR {
                v
            } else {
                Lv::of(self.op(Op::Transpose, &[v.id], span)?)
            },
        )
    }

    /// `softmax[Z]` of a matrix (the checker admits only matrices of several columns): row by
    /// row, each row a token's scores in the notes' row-major `softmax(Q Kᵀ/√d) V`, computed
    /// as `(Softmax[Zᵀ])ᵀ` with the column-wise op.
    fn softmax_rows(&mut self, z: Lv, span: Span) -> R<Lv> {
        let t = self.transpose(z, span)?;
        let s = self.op(Op::Softmax, &[t.id], span)?;
        self.transpose(Lv::of(s), span)
    }

    fn builtin(&mut self, b: Builtin, arg: &Expr, span: Span, scope: &mut Scope) -> R<Lv> {
        // `log[|det[A]|]` (eq. 16.2 of a linear flow): the sum of logs, not the log of the
        // product.
        if b == Builtin::Log
            && let Some(inner) = abs_det_argument(arg)
        {
            let a = self.value(inner, scope)?;
            return Ok(Lv::of(self.log_abs_det(a.id, span)?));
        }
        let x = self.value(arg, scope)?;
        let matrix =
            matches!(self.graph.shape(x.id).cols, Cols::Batch(n) | Cols::Fixed(n) if n > 1);
        let id = match b {
            Builtin::Softmax if matrix => return self.softmax_rows(x, span),
            Builtin::Softmax | Builtin::SoftmaxCols => self.op(Op::Softmax, &[x.id], span)?,
            Builtin::LogSumExp => self.op(Op::LogSumExp, &[x.id], span)?,
            Builtin::LayerNorm => self.layer_norm(x.id, span)?,
            Builtin::BatchNorm => self.batch_norm(x.id, span)?,
            Builtin::MaxPool => {
                let image = self.spatial.get(&x.id).copied();
                let pool = crate::ir::pool::Pool {
                    part: crate::ir::pool::PoolPart::Pick,
                    image,
                };
                let id = self.op(Op::MaxPool(pool), &[x.id, x.id], span)?;
                if let Some([h, w]) = image {
                    self.spatial.insert(id, [h / 2, w / 2]);
                }
                id
            }
            Builtin::MeanPool => self.resample(resample::Resample::MeanPool, x, span)?,
            Builtin::Upsample => self.resample(resample::Resample::Upsample, x, span)?,
            Builtin::Diag => return Ok(Lv::of(self.op(Op::Diag, &[x.id], span)?)),
            Builtin::Det => return Ok(Lv::of(self.det(x.id, span)?)),
            Builtin::Trace => {
                let d = self.op(Op::DiagPart, &[x.id], span)?;
                return Ok(Lv::of(self.op(Op::SumRows, &[d], span)?));
            }
            Builtin::Vec => {
                let s = self.graph.shape(x.id);
                let n = match s.cols {
                    Cols::Batch(n) | Cols::Fixed(n) => n,
                };
                let rows = u32::try_from(s.rows * n)
                    .map_err(|_| unsupported(span, "`vec` of this size"))?;
                self.op(Op::Reshape { rows, cols: 1 }, &[x.id], span)?
            }
            b => match unary_of(b) {
                Some(u) => self.unary(u, x.id, span)?,
                None => return Err(unsupported(span, format!("`{b:?}` here"))),
            },
        };
        Ok(Lv { id, row: x.row })
    }

    /// A parameter declared triangular or diagonal (eq. 16.9) as the model reads it: the
    /// stored matrix times a constant mask of its structure (so the gradient of every entry
    /// outside it is zero, and an entry that starts at zero stays there), plus the identity
    /// when its diagonal is fixed at one (`unit lower triangular`).
    fn structured(&mut self, raw: NodeId, st: &ast::Structure, span: Span) -> R<NodeId> {
        let n = self.graph.shape(raw).rows;
        let data = (0..n * n)
            .map(|k| {
                let (r, c) = (k % n, k / n);
                let kept = (r > c && st.below)
                    || (r < c && st.above)
                    || (r == c && st.diagonal == ast::OnDiagonal::Free);
                if kept { 1.0 } else { 0.0 }
            })
            .collect();
        let k = self.graph.tables.len() as u32;
        self.graph.tables.push(data);
        let mask = self.push(Op::Table(k), Vec::new(), Shape::fixed(n, n), span)?;
        let masked = self.op(Op::Mul, &[raw, mask], span)?;
        if st.diagonal != ast::OnDiagonal::One {
            return Ok(masked);
        }
        let eye = self.push(Op::Identity, Vec::new(), Shape::fixed(n, n), span)?;
        self.op(Op::Add, &[masked, eye], span)
    }

    /// The factors whose diagonals give `det[a]`: a product of square matrices splits
    /// (`det[A B] = det[A] det[B]`), a transpose is its argument; the checker has made sure
    /// (`Val::has_determinant`) that every factor left is triangular or diagonal.
    fn det_factors(&self, a: NodeId, out: &mut Vec<NodeId>) {
        let n = self.graph.node(a);
        let square = |id: NodeId| {
            let s = self.graph.shape(id);
            s.cols_for(1) == s.rows
        };
        match n.op {
            Op::MatMul { .. } | Op::ExampleMatMul { .. }
                if n.args.len() == 2 && square(n.args[0]) && square(n.args[1]) =>
            {
                let (x, y) = (n.args[0], n.args[1]);
                self.det_factors(x, out);
                self.det_factors(y, out);
            }
            Op::Transpose | Op::ExampleTranspose if square(n.args[0]) => {
                self.det_factors(n.args[0], out)
            }
            _ => out.push(a),
        }
    }

    /// `det[A]`: the product of the diagonals of `A`'s triangular factors, entry by entry.
    fn det(&mut self, a: NodeId, span: Span) -> R<NodeId> {
        let mut factors = Vec::new();
        self.det_factors(a, &mut factors);
        let mut acc: Option<NodeId> = None;
        for f in factors {
            let d = self.op(Op::DiagPart, &[f], span)?;
            for r in 0..self.graph.shape(d).rows {
                let e = self.op(Op::Row(r as u32), &[d], span)?;
                acc = Some(match acc {
                    None => e,
                    Some(p) => self.op(Op::Mul, &[p, e], span)?,
                });
            }
        }
        acc.ok_or_else(|| unsupported(span, "a determinant of an empty matrix"))
    }

    /// `log[|det[A]|]`: the sum of the logs of the absolute values of the diagonals of `A`'s
    /// triangular factors, never the product itself (which overflows or underflows for
    /// large matrices).
    fn log_abs_det(&mut self, a: NodeId, span: Span) -> R<NodeId> {
        let mut factors = Vec::new();
        self.det_factors(a, &mut factors);
        let mut acc: Option<NodeId> = None;
        for f in factors {
            let d = self.op(Op::DiagPart, &[f], span)?;
            let d = self.unary(Unary::Abs, d, span)?;
            let d = self.unary(Unary::Log, d, span)?;
            let s = self.op(Op::SumRows, &[d], span)?;
            acc = Some(match acc {
                None => s,
                Some(p) => self.op(Op::Add, &[p, s], span)?,
            });
        }
        acc.ok_or_else(|| unsupported(span, "a determinant of an empty matrix"))
    }

    /// `LayerNorm[z] = (z − m) / √(v + ε)` for each example's vector z ∈ ℝ^D, with m its
    /// mean and v its population variance over the D components (eq. 11.7–11.8 and 11.10
    /// taken over the components instead of the batch), in existing ops, so that its
    /// gradient is theirs. Of a matrix (`D × NB`, the tokens of eq. 12.13) it is the same
    /// for each column: `SumRows` sums each column, so every token is normalised on its own.
    fn layer_norm(&mut self, z: NodeId, span: Span) -> R<NodeId> {
        let shape = self.graph.shape(z);
        let inv_d = self.constant(1.0 / shape.rows as f64, Shape::SCALAR, span)?;
        let mean_of = |cx: &mut Self, v: NodeId| -> R<NodeId> {
            let sum = cx.op(Op::SumRows, &[v], span)?;
            let (sum, k) = cx.align(sum, inv_d, span)?;
            cx.op(Op::Mul, &[sum, k], span)
        };
        let mean = mean_of(self, z)?;
        let mean = self.broadcast(mean, shape, span)?;
        let centred = self.op(Op::Sub, &[z, mean], span)?;
        let squares = self.op(Op::Mul, &[centred, centred], span)?;
        let var = mean_of(self, squares)?;
        let eps = self.constant(builtins::LAYER_NORM_EPSILON, Shape::SCALAR, span)?;
        let (var, eps) = self.align(var, eps, span)?;
        let shifted = self.op(Op::Add, &[var, eps], span)?;
        let sd = self.unary(Unary::Sqrt, shifted, span)?;
        let sd = self.broadcast(sd, shape, span)?;
        self.op(Op::Div, &[centred, sd], span)
    }

    /// `BatchNorm[h] = (h_i − m_h) / (s_h + ε)` for each component of a per-example vector h,
    /// with `m_h = 1/|B| ∑_{i∈B} h_i` and `s_h = √(1/|B| ∑_{i∈B} (h_i − m_h)²)` taken over the
    /// batch (eq. 11.7–11.8), in existing ops, so that its gradient (which couples the
    /// examples through m_h and s_h) is theirs.
    fn batch_norm(&mut self, h: NodeId, span: Span) -> R<NodeId> {
        let shape = self.graph.shape(h);
        if shape.cols != Cols::EXAMPLE {
            return Err(unsupported(
                span,
                format!("`BatchNorm` of {}, not a vector per example", shape.book()),
            ));
        }
        let global = Shape::fixed(shape.rows, 1);
        let size = self.batch_size(span)?;
        let mean_of = |cx: &mut Self, v: NodeId| -> R<NodeId> {
            let sum = cx.op(Op::SumCols, &[v], span)?;
            let n = cx.broadcast(size, global, span)?;
            cx.op(Op::Div, &[sum, n], span)
        };
        let k = self.graph.stats.len() / 2 + 1;
        let m = mean_of(self, h)?;
        let m = self.batch_stat(m, format!("m_{k}"), 0.0, span)?;
        let m = self.broadcast(m, shape, span)?;
        let centred = self.op(Op::Sub, &[h, m], span)?;
        let squares = self.op(Op::Mul, &[centred, centred], span)?;
        let var = mean_of(self, squares)?;
        let s = self.unary(Unary::Sqrt, var, span)?;
        let s = self.batch_stat(s, format!("s_{k}"), 1.0, span)?;
        let eps = self.constant(builtins::BATCH_NORM_EPSILON, Shape::SCALAR, span)?;
        let eps = self.broadcast(eps, global, span)?;
        let s = self.op(Op::Add, &[s, eps], span)?;
        let s = self.broadcast(s, shape, span)?;
        self.op(Op::Div, &[centred, s], span)
    }

    /// A statistic over the batch with a running value ([`Op::BatchStat`]): a new state slot
    /// `name`, starting at `init`.
    fn batch_stat(&mut self, v: NodeId, name: String, init: f64, span: Span) -> R<NodeId> {
        let slot = self.graph.stats.len() as u32;
        let shape = self.graph.shape(v);
        self.graph.stats.push(Stat { name, shape, init });
        self.op(Op::BatchStat { slot }, &[v], span)
    }

    /// `Norm_y[μ, σ²] = exp[-(y - μ)²/(2σ²)] / √(2πσ²)`, element-wise.
    fn density(&mut self, sub: &[Expr], args: &[Expr], span: Span, scope: &mut Scope) -> R<Val> {
        let (Some(point), [mean, variance]) = (sub.first(), args) else {
            return Err(unsupported(
                span,
                "`Norm` without a point and two parameters",
            ));
        };
        let y = self.value(point, scope)?;
        let mu = self.value(mean, scope)?;
        let var = self.value(variance, scope)?;
        let (y, mu) = self.align(y.id, mu.id, span)?;
        let d = self.op(Op::Sub, &[y, mu], span)?;
        let d2 = self.op(Op::Mul, &[d, d], span)?;
        let (d2, var) = self.align(d2, var.id, span)?;
        let two_var = {
            let two = self.constant(2.0, self.graph.shape(var), span)?;
            self.op(Op::Mul, &[two, var], span)?
        };
        let q = self.op(Op::Div, &[d2, two_var], span)?;
        let nq = self.unary(Unary::Neg, q, span)?;
        let e = self.unary(Unary::Exp, nq, span)?;
        let pi = self.constant(std::f64::consts::PI, self.graph.shape(two_var), span)?;
        let z = self.op(Op::Mul, &[pi, two_var], span)?;
        let z = self.unary(Unary::Sqrt, z, span)?;
        Ok(Val::Node(Lv::of(self.op(Op::Div, &[e, z], span)?)))
    }

    /// Lowers `body` with `formals` bound to `vals`, then restores the scope.
    fn inline(
        &mut self,
        formals: &[String],
        vals: Vec<Val>,
        body: &Expr,
        scope: &mut Scope,
    ) -> R<Val> {
        if self.depth > 64 {
            return Err(unsupported(body.span, "functions nested this deeply"));
        }
        let saved: Vec<Option<Val>> = formals
            .iter()
            .map(|f| scope.names.get(f).cloned())
            .collect();
        for (f, v) in formals.iter().zip(vals) {
            scope.names.insert(f.clone(), v);
        }
        let out = self.expr(body, scope);
        for (f, old) in formals.iter().zip(saved) {
            match old {
                Some(v) => scope.names.insert(f.clone(), v),
                None => scope.names.remove(f),
            };
        }
        out
    }

    /// Calls model `i` on `args`; its parameters live under the group name of the last
    /// argument (`φ_1`).
    fn sub_model(&mut self, i: usize, args: &[Expr], span: Span, scope: &mut Scope) -> R<Lv> {
        let (inputs, group) = args.split_at(args.len().saturating_sub(1));
        if let Some(ExprKind::Name(g)) = group.first().map(|g| &g.kind)
            && g.frozen
        {
            return Err(unsupported(span, "a sub-model with frozen parameters"));
        }
        let group = match group.first().map(|g| &g.kind) {
            Some(ExprKind::Name(n)) => canonical(n, scope),
            _ => return Err(unsupported(span, "a sub-model call without a group")),
        };
        let vals: Vec<Lv> = inputs
            .iter()
            .map(|a| self.value(a, scope))
            .collect::<R<_>>()?;
        let model = &self.file.models[i];
        let hypers = self
            .infos
            .get(i)
            .map(|m| m.hypers.clone())
            .unwrap_or_default();
        let mut inner = Scope::new(i, hypers);
        // Bind the callee's inputs to the arguments instead of creating graph inputs.
        let mut k = 0;
        let mut body = Vec::new();
        for s in &model.stmts {
            match &s.kind {
                ast::StmtKind::Input(items) => {
                    for t in items {
                        let name = canonical(&t.name, &inner);
                        if let Some(v) = vals.get(k) {
                            inner.names.insert(name, Val::Node(*v));
                        }
                        k += 1;
                    }
                }
                // A call uses the callee's model function only: its targets and losses are
                // not the caller's, and nothing after the function can contribute to it.
                ast::StmtKind::Target(_) | ast::StmtKind::Equation { loss: true, .. } => {}
                ast::StmtKind::Equation { lhs, .. } if lhs.args.is_some() => {
                    body.push(s.clone());
                    break;
                }
                _ => body.push(s.clone()),
            }
        }
        let sub = ast::Model {
            name: model.name.clone(),
            hypers: model.hypers.clone(),
            stmts: body,
            env: Vec::new(),
            max_norms: Vec::new(),
            span: model.span,
        };
        // A model's earlier instance tells how much this one adds: refuse before copying.
        let before = self.graph.nodes.len();
        if let Some(&n) = self.instance_sizes.get(&i)
            && before.saturating_add(n) > MAX_NODES
        {
            return Err(self.too_large(span));
        }
        self.depth += 1;
        let outermost = self.call_site.is_none();
        if outermost {
            self.call_site = Some(span);
        }
        let r = self.model_body(&sub, &mut inner, Some(&group));
        if outermost {
            self.call_site = None;
        }
        self.depth -= 1;
        self.instance_sizes
            .entry(i)
            .or_insert(self.graph.nodes.len() - before);
        r?;
        let out = inner.forward.values().next().copied();
        out.ok_or_else(|| {
            if self.exhausted || self.failed {
                // The function's statement failed, and said so.
                Fail::Quiet
            } else {
                unsupported(span, "a model with no function")
            }
        })
    }

    // ------------------------------------------------------------------ big operators

    fn big(
        &mut self,
        op: BigOp,
        binder: Option<&ast::Binder>,
        upper: Option<&Expr>,
        body: &Expr,
        span: Span,
        scope: &mut Scope,
    ) -> R<Val> {
        let Some(b) = binder else {
            return Err(unsupported(span, "a sum without an index"));
        };
        if b.except.is_some() {
            return self.except_sum(b, body, span, scope);
        }
        if op.extreme().is_some() {
            return self.extreme_big(op, b, upper, body, span, scope);
        }
        let var = canonical(&b.var, scope);
        let batch_upper = upper.is_some_and(crate::conventions::is_batch_upper);
        if b.set.is_none() && !batch_upper && (b.lo.is_some() || upper.is_some()) {
            let lo = b.lo.as_deref().map_or(Some(1), |e| self.int(e, scope));
            let hi = upper.and_then(|e| self.int(e, scope));
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Err(unsupported(span, "a sum without values"));
            };
            let mut acc: Option<Lv> = None;
            for k in lo..=hi {
                scope.binds.push((var.clone(), Bind::Int(k)));
                let v = self.value(body, scope);
                scope.binds.pop();
                let v = v?;
                acc = Some(match acc {
                    None => v,
                    Some(a) => {
                        let o = if op == BigOp::Sum { Op::Add } else { Op::Mul };
                        match self.elementwise(o, a, v, span)? {
                            Val::Node(n) => n,
                            _ => return Err(unsupported(span, "this sum")),
                        }
                    }
                });
            }
            return acc
                .map(Val::Node)
                .ok_or_else(|| unsupported(span, "an empty sum"));
        }
        if op == BigOp::Prod {
            return Err(unsupported(span, "a product over the batch"));
        }
        // `∑_j φ_j²`: the body once per parameter of the group, each summed over its entries.
        if b.set.is_none()
            && let Some(members) = group_indexed(body, &var, scope)
        {
            let mut acc: Option<NodeId> = None;
            for m in members {
                scope.binds.push((var.clone(), Bind::Group(vec![m])));
                let v = self.value(body, scope);
                scope.binds.pop();
                let v = v?;
                let mut s = self.op(Op::SumRows, &[v.id], span)?;
                if self.graph.shape(s) != Shape::SCALAR {
                    s = self.op(Op::SumCols, &[s], span)?;
                }
                acc = Some(match acc {
                    None => s,
                    Some(a) => self.op(Op::Add, &[a, s], span)?,
                });
            }
            return match acc {
                Some(a) => Ok(Val::Node(Lv::of(a))),
                None => Ok(Val::Node(Lv::of(self.constant(
                    0.0,
                    Shape::SCALAR,
                    span,
                )?))),
            };
        }
        // A sum over the batch: the body per example, then summed over columns.
        scope.binds.push((var, Bind::Batch));
        let v = self.value(body, scope);
        scope.binds.pop();
        let v = v?;
        let id = if self.graph.shape(v.id).cols == Cols::EXAMPLE {
            self.op(Op::SumCols, &[v.id], span)?
        } else if self.graph.shape(v.id).cols.is_batch() {
            // ∑_i X_i of a matrix per example: the sum of the examples' blocks.
            self.op(Op::SumExamples, &[v.id], span)?
        } else {
            // The same for every example: |B| times the value.
            let b = self.batch_size(span)?;
            match self.elementwise(Op::Mul, Lv::of(b), v, span)? {
                Val::Node(n) => n.id,
                _ => return Err(unsupported(span, "this sum")),
            }
        };
        Ok(Val::Node(Lv::of(id)))
    }
}

/// The standard deviation of the noise a triangular or diagonal parameter starts with
/// around the identity ([`super::Init::Structured`]).
pub const STRUCTURED_INIT_STD: f64 = 0.01;

/// `A` in `|det[A]|` (`log[|det[A]|]`, eq. 16.2 of a linear flow), brackets around either
/// call ignored.
fn abs_det_argument(e: &Expr) -> Option<&Expr> {
    fn unparen(mut e: &Expr) -> &Expr {
        while let ExprKind::Paren(x) = &e.kind {
            e = x;
        }
        e
    }
    fn call(e: &Expr, which: Builtin) -> Option<&Expr> {
        match &unparen(e).kind {
            ExprKind::Call { func, args }
                if builtins::named(func) == Some(which) && args.len() == 1 =>
            {
                Some(&args[0])
            }
            _ => None,
        }
    }
    call(call(e, Builtin::Abs)?, Builtin::Det)
}

/// The IR op of an element-wise built-in (`None` for the others, lowered on their own).
pub(crate) fn unary_of(b: Builtin) -> Option<Unary> {
    Some(match b {
        Builtin::Relu => Unary::Relu,
        Builtin::Sig => Unary::Sig,
        Builtin::Tanh => Unary::Tanh,
        Builtin::Exp => Unary::Exp,
        Builtin::Log => Unary::Log,
        Builtin::Sin => Unary::Sin,
        Builtin::Cos => Unary::Cos,
        Builtin::Sqrt => Unary::Sqrt,
        Builtin::Abs => Unary::Abs,
        Builtin::Softplus => Unary::Softplus,
        Builtin::HardSwish => Unary::HardSwish,
        Builtin::Heaviside => Unary::Heaviside,
        Builtin::Rect => Unary::Rect,
        Builtin::LRelu
        | Builtin::Softmax
        | Builtin::SoftmaxCols
        | Builtin::LogSumExp
        | Builtin::LayerNorm
        | Builtin::BatchNorm
        | Builtin::MaxPool
        | Builtin::MeanPool
        | Builtin::Upsample
        | Builtin::MaxUnpool
        | Builtin::Vec
        | Builtin::Diag
        | Builtin::Det
        | Builtin::Trace
        | Builtin::Softmask
        | Builtin::MaxNe
        | Builtin::Max
        | Builtin::Min
        | Builtin::NormPdf => return None,
    })
}

/// A subscript item, evaluated for lowering.
#[derive(Clone, Debug)]
enum Item {
    Int(i64),
    Batch,
    Label(String),
    /// `y_{i,n}`: entry `n` of the vector of labels `y` of the current example.
    LabelEntry(String, i64),
    Group(Vec<String>),
    Text(String),
}

impl Item {
    /// What the walk of a name's prefix needs of the item.
    fn kind(&self) -> ItemKind {
        match self {
            Item::Int(v) => ItemKind::Int(*v),
            Item::Batch => ItemKind::Batch,
            _ => ItemKind::Other,
        }
    }

    /// The item as it is spelt in a canonical name; `None` for the example index and a
    /// group, which no declared name contains.
    fn text(&self) -> Option<String> {
        match self {
            Item::Int(v) => Some(v.to_string()),
            Item::Label(s) | Item::Text(s) => Some(s.clone()),
            Item::Batch | Item::Group(_) | Item::LabelEntry(..) => None,
        }
    }
}

/// What the name with its first `len` subscript items is bound to in lowering's scope.
enum Root<'s> {
    /// The name itself.
    Named(&'s Val),
    /// `φ⁻`, `β⁻`: the original of a frozen copy, a value or a group.
    Frozen(&'s Val),
    /// Nothing: a shorter prefix, or at none the word alone (a hyper-parameter, `π`, `ones`,
    /// a group).
    Unknown,
}

/// The root a prefix of `len` items names, if any. A subscript that is the example index or a
/// group has no spelling of its own: only a shorter prefix can name something.
fn root_known<'s>(
    n: &ast::Name,
    texts: &[Option<String>],
    len: usize,
    scope: &'s Scope,
) -> Root<'s> {
    let Some(written) = texts[..len]
        .iter()
        .cloned()
        .collect::<Option<Vec<String>>>()
    else {
        return Root::Unknown;
    };
    let full = names::build(&n.word, n.primes, n.frozen, &written);
    if let Some(v) = scope.names.get(&full) {
        return Root::Named(v);
    }
    if n.frozen {
        let thawed = names::build(&n.word, n.primes, false, &written);
        match scope.names.get(&thawed) {
            Some(v @ Val::Node(_)) => return Root::Frozen(v),
            _ if scope.group(&thawed).is_some() => return Root::Frozen(&Val::Group),
            _ => {}
        }
    }
    Root::Unknown
}

/// A subscript item by the one reading ([`crate::resolve::sub`]), in lowering's terms.
fn item(e: &Expr, scope: &Scope) -> Item {
    match crate::resolve::sub(e, scope) {
        Sub::Int(v) => Item::Int(v),
        Sub::Batch(_) => Item::Batch,
        Sub::Group(var) => match scope.bound(&var) {
            Some(Bind::Group(m)) => Item::Group(m.clone()),
            _ => Item::Text(var),
        },
        Sub::Label {
            input,
            vector: false,
            ..
        } => Item::Label(input),
        Sub::LabelEntry { input, entry, .. } => Item::LabelEntry(input, entry),
        Sub::Label { text, .. } | Sub::Text(text) => Item::Text(text),
    }
}

/// The parameter names of the group that `body` subscripts with `var` (`φ_j`), if any.
fn group_indexed(body: &Expr, var: &str, scope: &Scope) -> Option<Vec<String>> {
    let mut found = None;
    crate::syntax::walk(body, &mut |x| {
        if let ExprKind::Name(n) = &x.kind
            && let Some(ExprKind::Name(last)) = n.sub.last().map(|s| &s.kind)
            && names::build(&last.word, last.primes, false, &[]) == var
        {
            let base = names::build(&n.word, n.primes, false, &[]);
            if let Some(g) = scope.group(&base)
                && (scope.groups.contains_key(&base) || base == "φ")
            {
                found = Some(g);
            }
        }
    });
    found
}

/// A parameter's initialiser: the declared one (as checking resolved it), else a structured
/// matrix's (the identity plus noise inside the structure, eq. 16.9) or a declared matrix's `He`.
fn param_init(
    p: &ast::ParamItem,
    declared: super::Init,
    (shape, matrix): (Shape, bool),
) -> super::Init {
    match declared {
        // Triangular or diagonal (eq. 16.9): the identity plus noise
        // inside the structure, zero outside.
        super::Init::Default if p.structure.is_some() => {
            let st = p.structure.as_ref().map_or((false, false, true), |st| {
                (st.below, st.above, st.diagonal == ast::OnDiagonal::Free)
            });
            super::Init::Structured(super::Band {
                below: st.0,
                above: st.1,
                diagonal: st.2,
                std: STRUCTURED_INIT_STD,
            })
        }
        // A declared matrix is a weight matrix even when it has one
        // column (`Ω_0 : ℝ^{D×D_i}` with `D_i = 1`): the default by
        // shape alone would read it as a bias and start it at zero.
        super::Init::Default if matrix && shape.cols == Cols::Fixed(1) => super::Init::He,
        other => other,
    }
}

/// Whether a declared type is a matrix or a tensor (`ℝ^{D×E}`), whatever its dimensions'
/// values.
fn is_matrix(ty: &CheckedVal) -> bool {
    use crate::shape::Shape as Checked;
    matches!(ty.shape, Checked::Mat(..) | Checked::Tensor(_))
}

/// The canonical names among `args` (the names in `f[x, φ]` or `L[φ]`).
fn names_of(args: &[Expr], scope: &Scope) -> Vec<String> {
    args.iter()
        .filter_map(|a| {
            if let ExprKind::Name(n) = &a.kind {
                Some(canonical(n, scope))
            } else {
                None
            }
        })
        .collect()
}

fn canonical(n: &ast::Name, scope: &Scope) -> String {
    crate::resolve::canonical(n, scope)
}

impl Cx<'_, '_> {
    /// The initialiser or distribution a declaration names (`~ He`, `~ Norm[0, 0.01]`,
    /// `= 0`), as checking resolved it (`ModelInfo::inits`); `Default` if it names none.
    fn init_of(&self, name: &str, scope: &Scope) -> super::Init {
        self.infos
            .get(scope.model)
            .and_then(|i| i.inits.get(name))
            .cloned()
            .unwrap_or(super::Init::Default)
    }

    /// The number checking evaluated for `e` with the indices bound as they are here
    /// (`ModelInfo::numbers`): a limit, an exponent, a slope, a subscript around `…`.
    fn num(&self, e: &Expr, scope: &Scope) -> Option<f64> {
        self.infos.get(scope.model)?.numbers.number(e, scope)
    }

    /// [`Cx::num`] as an integer.
    fn int(&self, e: &Expr, scope: &Scope) -> Option<i64> {
        self.infos.get(scope.model)?.numbers.integer(e, scope)
    }

    /// What checking found of a statement of the convolution form, with the indices bound
    /// as they are here.
    fn conv_found(
        &self,
        m: &crate::check::entrywise::Entrywise<'_>,
        scope: &Scope,
    ) -> Option<crate::check::numbers::Conv> {
        self.infos.get(scope.model)?.numbers.conv(m, scope)
    }

    /// What checking found of a run defining a matrix entry by entry.
    fn entries_found(
        &self,
        m: &crate::check::entries::Entries<'_>,
        scope: &Scope,
    ) -> Option<crate::check::numbers::Entries> {
        self.infos
            .get(scope.model)?
            .numbers
            .entries(m, scope)
            .cloned()
    }

    /// The rows of a block matrix with its `…` expanded, as checking expanded them.
    fn expansion(&self, rows: &[Vec<ast::Entry>], scope: &Scope) -> Option<Vec<Vec<Expr>>> {
        self.infos
            .get(scope.model)?
            .numbers
            .expansion(rows, scope)
            .cloned()
    }
}

impl crate::resolve::Names for Scope {
    fn index(&self, var: &str) -> Option<Index> {
        self.bound(var).map(|b| match b {
            Bind::Int(v) => Index::Int(*v),
            Bind::Batch => Index::Batch,
            Bind::Group(_) => Index::Group,
        })
    }

    fn symbol(&self, name: &str) -> Symbol {
        if let Some(v) = self.hypers.get(name) {
            Symbol::Hyper(Some(*v))
        } else if self.labels.contains_key(name) {
            Symbol::Label
        } else if self.entry_labels.contains_key(name) {
            Symbol::Labels
        } else if self.names.contains_key(name) || self.groups.contains_key(name) {
            Symbol::Other
        } else {
            Symbol::Unknown
        }
    }
}
