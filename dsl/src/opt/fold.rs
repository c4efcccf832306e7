//! Constant folding: an op of constant arguments is a constant where its family says so
//! (`ir::op::fold`: element-wise arithmetic and functions, copies, sums of fixed sizes).

use super::Rewriter;
use crate::ir::{Graph, Shape};

/// Folds nodes whose arguments are all constants (constants fill their shape); a value that
/// is not finite (`log 0`, `1/0`) is left for the run to report.
pub fn run(g: &Graph) -> Option<Graph> {
    let rw = Rewriter::new(g);
    rw.run(|rw, id| {
        let n = rw.old.nodes[id.index()].clone();
        let args: Vec<_> = n.args.iter().map(|a| rw.get(*a)).collect();
        let consts: Option<Vec<f64>> = args.iter().map(|a| rw.const_of(*a)).collect();
        let shapes: Vec<Shape> = n.args.iter().map(|a| rw.old.shape(*a)).collect();
        let folded = consts.and_then(|c| crate::ir::op::fold(n.op, &c, &shapes));
        match folded.filter(|v| v.is_finite()) {
            Some(v) => {
                rw.changed = true;
                rw.constant(v, n.shape)
            }
            None => rw.copy(id),
        }
    })
}
