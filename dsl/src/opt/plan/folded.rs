//! Work the plan folds into a neighbour's statement, decided here once so that the emitter
//! only writes what was decided: a product's constant scale as its GEMM's α
//! ([`scaled_products`]: `KᵀQ / √D` written straight into the softmax's input), and a
//! parameter gradient's sum over the batch accumulated inside its argument's element-wise
//! loop ([`sums_in_producer`]: a bias gradient whose terms are never stored).

use crate::ir::{Graph, NodeId, Op};

/// For every node: whether it is a sum over the batch (`SumCols`) written into the caller's
/// gradients (`external`) whose argument is the root of a batched element-wise loop with a
/// buffer of its own and no gradient of its own; then that loop accumulates the sum.
pub(super) fn sums_in_producer(
    g: &Graph,
    fused_into: &[Option<NodeId>],
    buffer: &[Option<usize>],
    external: &[bool],
) -> Vec<bool> {
    (0..g.nodes.len())
        .map(|i| {
            let n = &g.nodes[i];
            if n.op != Op::SumCols || !external[i] {
                return false;
            }
            let a = n.args[0].index();
            let an = &g.nodes[a];
            let elementwise = matches!(
                an.op,
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Unary(_) | Op::Broadcast
            );
            elementwise
                && an.shape.cols.is_batch()
                && fused_into[a].is_none()
                && buffer[a].is_some()
                && !external[a]
        })
        .collect()
}

/// For every product read only by a loop that multiplies or divides it by a constant (and
/// nothing else), with no statement in between and no sum accumulated in that loop: the
/// loop's node and the factor. The product's GEMM then writes `α · op(a) op(b)` into the
/// loop's buffer, and the loop has no statement.
pub(super) fn scaled_products(
    g: &Graph,
    fused_into: &[Option<NodeId>],
    buffer: &[Option<usize>],
    external: &[bool],
    summed: &[bool],
) -> Vec<Option<(NodeId, f64)>> {
    let stored = |i: usize| buffer[i].is_some() || external[i];
    (0..g.nodes.len())
        .map(|id| {
            let node = &g.nodes[id];
            let product = matches!(node.op, Op::MatMul { .. } | Op::ExampleMatMul { .. });
            if !product || g.outputs.iter().any(|(_, o)| o.index() == id) {
                return None;
            }
            let this = NodeId(id as u32);
            let mut users = (id + 1..g.nodes.len()).filter(|&u| g.nodes[u].args.contains(&this));
            let u = users.next()?;
            if users.next().is_some() {
                return None;
            }
            let alpha = factor(g, this, u)?;
            // Nothing is written between the product and its scaling.
            let quiet = (id + 1..u).all(|i| fused_into[i].is_some() || !stored(i));
            let sums = (u + 1..g.nodes.len())
                .any(|v| g.nodes[v].args.first().map(|a| a.index()) == Some(u) && summed[v]);
            (stored(u)
                && fused_into[u].is_none()
                && g.nodes[u].shape == node.shape
                && quiet
                && !sums)
                .then_some((NodeId(u as u32), alpha))
        })
        .collect()
}

/// The constant factor by which node `u` scales the product `id` (`c · P`, `P · c`, `P / c`).
fn factor(g: &Graph, id: NodeId, u: usize) -> Option<f64> {
    let un = &g.nodes[u];
    let constant = |k: usize| match g.node(un.args[k]).op {
        Op::Const(c) => Some(c.0),
        _ => None,
    };
    match un.op {
        Op::Mul if un.args[0] == id => constant(1),
        Op::Mul if un.args[1] == id => constant(0),
        Op::Div if un.args[0] == id && un.args[1] != id => Some(1.0 / constant(1)?),
        _ => None,
    }
}
