//! Common-subexpression elimination: two nodes with the same op, arguments and shape are one.

use super::Rewriter;
use crate::ir::{Graph, NodeId, Op, Shape};
use std::collections::HashMap;

/// Merges identical nodes (inputs and parameters are never merged).
pub fn run(g: &Graph) -> Option<Graph> {
    let mut seen: HashMap<(Op, Vec<NodeId>, Shape), NodeId> = HashMap::new();
    let rw = Rewriter::new(g);
    rw.run(|rw, id| {
        let n = &rw.old.nodes[id.index()];
        if matches!(n.op, Op::Input(_) | Op::Param(_)) {
            return rw.copy(id);
        }
        let args: Vec<NodeId> = n.args.iter().map(|a| rw.get(*a)).collect();
        let key = (n.op, args, n.shape);
        if let Some(&prev) = seen.get(&key) {
            rw.changed = true;
            return prev;
        }
        let new = rw.copy(id);
        seen.insert(key, new);
        new
    })
}
