//! Optimisation passes over the IR. Each pass is a named function `&Graph → Option<Graph>`
//! (`None`: nothing changed), rebuilding the graph through a [`Rewriter`]; [`optimize`] runs
//! the pipeline to a fixed point and verifies the graph after every pass.
//!
//! | pass | file | what |
//! | --- | --- | --- |
//! | `stable` | `stable.rs` | numerically stable forms: `log∘softmax`, `log∘sig`, `log ∑ exp`, … |
//! | `simplify` | `simplify.rs` | a table of named algebraic rules (`mul-one`, `neg-neg`, …) |
//! | `fold` | `fold.rs` | constant folding |
//! | `cse` | `cse.rs` | common-subexpression elimination |
//! | `dce` | `dce.rs` | dead-code elimination |
//! | `stack` | `stack.rs` | products sharing their right operand as one product of the stacked left operands |
//! | `hoist` | `hoist.rs` | a fixed matrix times every column of a matrix per example as one product |
//!
//! Every pass preserves values: the test suite runs the interpreter on every spec before and
//! after each pass and compares to 1e-12.

mod cse;
mod dce;
mod fold;
mod hoist;
pub mod plan;
mod simplify;
mod stable;
mod stack;

use crate::diag::Span;
use crate::ir::{F64, Graph, Node, NodeId, Op, Shape, ShapeError, Slot};

pub use simplify::RULES;

/// A pass: returns the rewritten graph, or `None` when it changed nothing.
pub type Pass = fn(&Graph) -> Option<Graph>;

/// The passes by name, in pipeline order.
pub const PASSES: &[(&str, Pass)] = &[
    ("stable", stable::run),
    ("simplify", simplify::run),
    ("fold", fold::run),
    ("cse", cse::run),
    ("dce", dce::run),
    // After dead code is gone: a product only a dead value read is not stacked.
    ("stack", stack::run),
    // After `stack` and `cse`: the stacked left operand is then one node for every step.
    ("hoist", hoist::run),
];

/// Runs every pass until none changes the graph (at most 10 rounds), verifying after each.
pub fn optimize(g: &Graph) -> Result<Graph, ShapeError> {
    let mut g = g.clone();
    for _ in 0..10 {
        let mut changed = false;
        for (name, pass) in PASSES {
            if let Some(next) = pass(&g) {
                crate::ir::verify(&next).map_err(|e| ShapeError::AfterPass {
                    pass: name,
                    error: Box::new(e),
                })?;
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

/// Runs one pass by name (for tests and `nnspec ir`).
pub fn run_pass(name: &str, g: &Graph) -> Option<Option<Graph>> {
    PASSES.iter().find(|(n, _)| *n == name).map(|(_, p)| p(g))
}

/// Rebuilds a graph node by node. Old ids map to new ids; a rewrite may map an old node to
/// any new node of the same shape (or build new ones).
pub struct Rewriter<'g> {
    /// The graph being rewritten.
    pub old: &'g Graph,
    /// The graph being built.
    pub new: Graph,
    /// Old id → new id, for nodes already visited.
    pub map: Vec<NodeId>,
    /// Whether any node was replaced by something other than its copy.
    pub changed: bool,
    span: Span,
    shape: Shape,
}

impl<'g> Rewriter<'g> {
    /// A rewriter with the old graph's slots and no nodes yet.
    pub fn new(old: &'g Graph) -> Rewriter<'g> {
        let new = Graph {
            name: old.name.clone(),
            nodes: Vec::with_capacity(old.nodes.len()),
            spans: Vec::with_capacity(old.nodes.len()),
            inputs: old.inputs.clone(),
            params: old.params.clone(),
            outputs: Vec::new(),
            grads: Vec::new(),
            losses: old.losses.clone(),
            inits: old.inits.clone(),
            stats: old.stats.clone(),
            tables: old.tables.clone(),
            frozen: old.frozen.clone(),
            env: old.env.clone(),
            updates: old.updates.clone(),
            max_norms: old.max_norms.clone(),
        };
        Rewriter {
            old,
            new,
            map: Vec::with_capacity(old.nodes.len()),
            changed: false,
            span: Span::default(),
            shape: Shape::SCALAR,
        }
    }

    /// The new id of an old node (already visited).
    pub fn get(&self, old: NodeId) -> NodeId {
        self.map[old.index()]
    }

    /// The new node behind a new id.
    pub fn node(&self, new: NodeId) -> &Node {
        &self.new.nodes[new.index()]
    }

    /// Appends a node to the new graph with the span of the node being rewritten.
    pub fn push(&mut self, op: Op, args: Vec<NodeId>, declared: Shape) -> NodeId {
        match self.new.push(op, args, declared, self.span) {
            Ok(id) => id,
            // A rule only builds well-shaped nodes; the verifier after the pass reports it.
            Err(_) => {
                let id = NodeId(self.new.nodes.len() as u32);
                self.new.nodes.push(Node {
                    op,
                    args: Vec::new(),
                    shape: declared,
                    name: None,
                });
                self.new.spans.push(self.span);
                id
            }
        }
    }

    /// A new node computing `op` of new-graph arguments, its shape inferred.
    pub fn op(&mut self, op: Op, args: &[NodeId]) -> NodeId {
        let declared = args.first().map_or(Shape::SCALAR, |a| self.new.shape(*a));
        self.push(op, args.to_vec(), declared)
    }

    /// A constant filling `shape`.
    pub fn constant(&mut self, v: f64, shape: Shape) -> NodeId {
        self.push(Op::Const(F64(v)), Vec::new(), shape)
    }

    /// The shape of the old node being rewritten (what its replacement must have).
    pub fn old_shape_hint(&self) -> Shape {
        self.shape
    }

    /// If the new node is a constant, its value.
    pub fn const_of(&self, id: NodeId) -> Option<f64> {
        match self.node(id).op {
            Op::Const(F64(v)) => Some(v),
            _ => None,
        }
    }

    /// Copies an old node with its arguments remapped.
    pub fn copy(&mut self, old: NodeId) -> NodeId {
        let n = &self.old.nodes[old.index()];
        let args = n.args.iter().map(|a| self.get(*a)).collect();
        let id = self.push(n.op, args, n.shape);
        self.new.nodes[id.index()].name.clone_from(&n.name);
        id
    }

    /// Rewrites every node with `f` (which returns the new id for the old node, typically
    /// `rw.copy(id)` when no rule applies), then remaps the slots and outputs.
    pub fn run(mut self, mut f: impl FnMut(&mut Rewriter<'g>, NodeId) -> NodeId) -> Option<Graph> {
        for i in 0..self.old.nodes.len() {
            self.span = self.old.spans[i];
            self.shape = self.old.nodes[i].shape;
            let before = self.new.nodes.len();
            let id = f(&mut self, NodeId(i as u32));
            // Keep the spec's name on whatever now computes the value.
            if let Some(name) = &self.old.nodes[i].name
                && self.new.nodes[id.index()].name.is_none()
                && id.index() >= before
            {
                self.new.nodes[id.index()].name = Some(name.clone());
            }
            self.map.push(id);
        }
        let remap = |slots: &mut Vec<Slot>, map: &[NodeId]| {
            for s in slots {
                s.node = map[s.node.index()];
            }
        };
        remap(&mut self.new.inputs, &self.map);
        remap(&mut self.new.params, &self.map);
        self.new.outputs = self
            .old
            .outputs
            .iter()
            .map(|(n, id)| (n.clone(), self.map[id.index()]))
            .collect();
        self.new.grads = self
            .old
            .grads
            .iter()
            .map(|gr| crate::ir::Grad {
                node: self.map[gr.node.index()],
                ..gr.clone()
            })
            .collect();
        let changed = self.changed || self.new.nodes.len() != self.old.nodes.len();
        changed.then_some(self.new)
    }
}
