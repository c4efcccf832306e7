//! The verifier: run after lowering and after every pass in tests and debug builds. A failure
//! is a compiler bug, never a user error.

use super::{Graph, Op, ShapeError};

/// Checks that ids are in range, arguments precede their users, every shape follows its op's
/// shape rule, and inputs, parameters and outputs point at nodes of the right kind.
pub fn verify(g: &Graph) -> Result<(), ShapeError> {
    if g.spans.len() != g.nodes.len() {
        return Err(ShapeError::Malformed(format!(
            "{} spans for {} nodes",
            g.spans.len(),
            g.nodes.len()
        )));
    }
    for (i, n) in g.nodes.iter().enumerate() {
        for a in &n.args {
            if a.index() >= i {
                return Err(ShapeError::Malformed(format!(
                    "%{i} uses %{} which does not precede it",
                    a.0
                )));
            }
        }
        let shapes: Vec<_> = n.args.iter().map(|a| g.nodes[a.index()].shape).collect();
        let inferred =
            n.op.infer(&shapes, n.shape)
                .map_err(|e| ShapeError::AtNode {
                    node: i as u32,
                    error: Box::new(e),
                })?;
        if inferred != n.shape {
            return Err(ShapeError::Malformed(format!(
                "%{i}: shape {} but its op gives {}",
                n.shape, inferred
            )));
        }
        match n.op {
            Op::Input(k) if g.inputs.get(k as usize).is_none_or(|s| s.node.index() != i) => {
                return Err(ShapeError::Malformed(format!(
                    "%{i}: input {k} is not bound to it"
                )));
            }
            Op::Param(k) if g.params.get(k as usize).is_none_or(|s| s.node.index() != i) => {
                return Err(ShapeError::Malformed(format!(
                    "%{i}: param {k} is not bound to it"
                )));
            }
            Op::BatchStat { slot }
                if g.stats
                    .get(slot as usize)
                    .is_none_or(|s| s.shape != n.shape) =>
            {
                return Err(ShapeError::Malformed(format!(
                    "%{i}: running statistic {slot} is not of its shape"
                )));
            }
            Op::Table(k)
                if g.tables
                    .get(k as usize)
                    .is_none_or(|t| t.len() != n.shape.len_per_example()) =>
            {
                return Err(ShapeError::Malformed(format!(
                    "%{i}: table {k} does not hold its {} numbers",
                    n.shape
                )));
            }
            _ => {}
        }
    }
    for (name, id) in &g.outputs {
        if id.index() >= g.nodes.len() {
            return Err(ShapeError::Malformed(format!(
                "output {name} points past the graph"
            )));
        }
    }
    Ok(())
}
