//! Dead-code elimination: drops nodes no output depends on. Inputs and parameters stay (the
//! slots name them).

use super::Rewriter;
use crate::ir::{Graph, NodeId, Op};

/// Keeps only the nodes reachable from an output (and every input and parameter).
pub fn run(g: &Graph) -> Option<Graph> {
    let mut live = vec![false; g.nodes.len()];
    for (_, id) in &g.outputs {
        live[id.index()] = true;
    }
    for i in (0..g.nodes.len()).rev() {
        let n = &g.nodes[i];
        if matches!(n.op, Op::Input(_) | Op::Param(_)) {
            live[i] = true;
        }
        if live[i] {
            for a in &n.args {
                live[a.index()] = true;
            }
        }
    }
    if live.iter().all(|l| *l) {
        return None;
    }
    let mut rw = Rewriter::new(g);
    rw.changed = true;
    // Dead nodes map to a placeholder that nothing live refers to.
    let mut first_live = NodeId(0);
    rw.run(|rw, id| {
        if live[id.index()] {
            let new = rw.copy(id);
            first_live = new;
            new
        } else {
            first_live
        }
    })
}
