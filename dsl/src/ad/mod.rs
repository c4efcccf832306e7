//! Reverse-mode automatic differentiation as an IR → IR transform.
//!
//! [`grad`] copies the forward graph and appends, for every node on a path from the parameters
//! to the loss, the nodes of its vector-Jacobian product, sweeping the graph backwards. The
//! driver ([`grad`]) alone owns cotangent accumulation (a node used twice gets the sum of its
//! users' contributions) and symbolic zeros (`None`: no node is built for a zero cotangent).
//! Broadcasts are explicit ops, so un-broadcasting is the VJP of [`Op::Broadcast`].
//!
//! The VJP rules are each op's, in its family module (`ir::op`, dispatched by `ir::op::vjp`,
//! an exhaustive match), written in IR ops with this [`Builder`], so the result can be
//! differentiated again. Every backward node keeps the span of the forward node it comes from.

use crate::diag::Span;
use crate::ir::{F64, Grad, Graph, NodeId, Op, Shape, ShapeError, Wrt};

/// Builds backward nodes into a graph, recording the forward span they come from.
pub struct Builder<'g> {
    /// The graph being extended.
    pub graph: &'g mut Graph,
    /// The span given to every node built now.
    pub span: Span,
}

impl Builder<'_> {
    /// Appends a node whose shape follows from its arguments.
    pub fn op(&mut self, op: Op, args: &[NodeId]) -> Result<NodeId, ShapeError> {
        let declared = args.first().map_or(Shape::SCALAR, |a| self.graph.shape(*a));
        self.graph.push(op, args.to_vec(), declared, self.span)
    }

    /// A constant of the given shape.
    pub fn constant(&mut self, value: f64, shape: Shape) -> Result<NodeId, ShapeError> {
        self.graph
            .push(Op::Const(F64(value)), Vec::new(), shape, self.span)
    }

    /// Broadcasts `x` to `shape` (no node when it already has that shape).
    pub fn broadcast(&mut self, x: NodeId, shape: Shape) -> Result<NodeId, ShapeError> {
        if self.graph.shape(x) == shape {
            return Ok(x);
        }
        self.graph.push(Op::Broadcast, vec![x], shape, self.span)
    }

    /// `a + b`.
    pub fn add(&mut self, a: NodeId, b: NodeId) -> Result<NodeId, ShapeError> {
        self.op(Op::Add, &[a, b])
    }

    /// `a ⊙ b`.
    pub fn mul(&mut self, a: NodeId, b: NodeId) -> Result<NodeId, ShapeError> {
        self.op(Op::Mul, &[a, b])
    }

    /// `c · x` for a constant `c`.
    pub fn scale(&mut self, c: f64, x: NodeId) -> Result<NodeId, ShapeError> {
        let k = self.constant(c, self.graph.shape(x))?;
        self.mul(k, x)
    }
}

/// The gradient graph: the forward graph plus `∂loss/∂p` for every parameter `p` in `wrt`,
/// added to the outputs as `∂L/∂β_0` (named after the loss and the parameter).
pub fn grad(forward: &Graph, loss: &str, wrt: &[u32]) -> Result<Graph, ShapeError> {
    grad_with_inputs(forward, loss, wrt, &[])
}

/// [`grad`], and also `∂loss/∂x` for every input `x` in `inputs` (by index into
/// [`Graph::inputs`]): one column per example, named `∂L/∂x`.
pub fn grad_with_inputs(
    forward: &Graph,
    loss: &str,
    wrt: &[u32],
    inputs: &[u32],
) -> Result<Graph, ShapeError> {
    grad_cotangents(forward, loss, wrt, inputs).map(|(g, _)| g)
}

/// [`grad_with_inputs`], also returning every forward node's cotangent (by index; `None` is
/// a symbolic zero): which backward node is `∂loss/∂` which forward value, for the printers.
pub fn grad_cotangents(
    forward: &Graph,
    loss: &str,
    wrt: &[u32],
    inputs: &[u32],
) -> Result<(Graph, Vec<Option<NodeId>>), ShapeError> {
    let mut g = forward.clone();
    let loss_id = g
        .output(loss)
        .ok_or_else(|| ShapeError::Malformed(format!("no output `{loss}`")))?;
    if g.shape(loss_id) != Shape::SCALAR {
        return Err(ShapeError::Malformed(format!(
            "loss `{loss}` is {} , not a scalar",
            g.shape(loss_id)
        )));
    }
    let seed_span = g.spans[loss_id.index()];
    let seed = Builder {
        graph: &mut g,
        span: seed_span,
    }
    .constant(1.0, Shape::SCALAR)?;
    let ct = backward(&mut g, loss_id, seed, None, true)?;
    let params = wrt.iter().map(|&p| {
        g.params
            .get(p as usize)
            .cloned()
            .map(|s| (s, Wrt::Param(p)))
            .ok_or_else(|| ShapeError::Malformed(format!("no parameter {p}")))
    });
    let data = inputs.iter().map(|&x| {
        g.inputs
            .get(x as usize)
            .cloned()
            .map(|s| (s, Wrt::Input(x)))
            .ok_or_else(|| ShapeError::Malformed(format!("no input {x}")))
    });
    let slots: Vec<_> = params.chain(data).collect::<Result<_, _>>()?;
    for (slot, wrt) in slots {
        let id = match ct[slot.node.index()] {
            Some(id) => id,
            // The loss does not depend on this parameter: its gradient is zero.
            None => Builder {
                graph: &mut g,
                span: seed_span,
            }
            .constant(0.0, slot.shape)?,
        };
        let grad = Grad {
            loss: loss.to_string(),
            wrt,
            node: id,
        };
        g.outputs.push((g.grad_name(&grad), id));
        g.grads.push(grad);
    }
    crate::ir::verify(&g)?;
    Ok((g, ct))
}

/// The reverse sweep: appends to `g` the VJP nodes that carry the cotangent `seed` of `root`
/// back to every node it depends on, and returns each node's cotangent (by index, every node
/// that existed before the sweep; `None` is a symbolic zero). With `relevant`, cotangents flow only into the nodes it
/// marks (the others are held fixed: a partial derivative); with `name`, a cotangent of a named
/// value is named after it (`d_h_1`). The VJP rules are IR ops, so the nodes appended here can
/// be swept again: a derivative inside a spec (`∂f[x̂, φ]/∂x̂`) is built by this function
/// during lowering, and the loss that reads it is differentiated by it once more.
pub fn backward(
    g: &mut Graph,
    root: NodeId,
    seed: NodeId,
    relevant: Option<&[bool]>,
    name: bool,
) -> Result<Vec<Option<NodeId>>, ShapeError> {
    let n = root.index() + 1;
    let mut ct: Vec<Option<NodeId>> = vec![None; g.nodes.len()];
    ct[root.index()] = Some(seed);
    // Nodes from the seed on are this sweep's own.
    let first_new = seed.index().max(n);
    for i in (0..n).rev() {
        let Some(gi) = ct[i] else { continue };
        let node = g.nodes[i].clone();
        // Held fixed below: nothing flows on (the value a partial derivative is taken with
        // respect to, or a node all of whose arguments are held fixed).
        if relevant.is_some_and(|r| node.args.iter().all(|a| !r[a.index()])) {
            continue;
        }
        // The cotangent of a named value is named after it: `d_h_1` is ∂L/∂h_1.
        if name
            && let Some(node_name) = &node.name
            && g.nodes[gi.index()].name.is_none()
            && gi.index() >= first_new
        {
            g.nodes[gi.index()].name = Some(format!("d_{node_name}"));
        }
        let span = g.spans[i];
        let mut b = Builder { graph: g, span };
        let contributions = crate::ir::op::vjp(&mut b, &node, NodeId(i as u32), gi)?;
        for (arg, c) in node.args.iter().zip(contributions) {
            let Some(c) = c else { continue };
            if relevant.is_some_and(|r| !r[arg.index()]) {
                continue;
            }
            let slot = &mut ct[arg.index()];
            *slot = Some(match *slot {
                None => c,
                Some(prev) => b.add(prev, c)?,
            });
        }
    }
    Ok(ct)
}

/// Differentiates every loss of the graph with respect to the parameters it trains
/// ([`Graph::losses`]); the gradients are added to the outputs as `∂L/∂β_0`.
pub fn grad_all(forward: &Graph) -> Result<Graph, ShapeError> {
    let mut g = forward.clone();
    for loss in &forward.losses {
        g = grad(&g, &loss.name, &loss.wrt)?;
    }
    Ok(g)
}
