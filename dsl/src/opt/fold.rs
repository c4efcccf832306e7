//! Constant folding: an element-wise op, broadcast or reduction of constants is a constant.

use super::Rewriter;
use crate::ir::{Cols, Graph, Op, Unary};

/// Folds nodes whose arguments are all constants (constants fill their shape).
pub fn run(g: &Graph) -> Option<Graph> {
    let rw = Rewriter::new(g);
    rw.run(|rw, id| {
        let n = rw.old.nodes[id.index()].clone();
        let args: Vec<_> = n.args.iter().map(|a| rw.get(*a)).collect();
        let consts: Option<Vec<f64>> = args.iter().map(|a| rw.const_of(*a)).collect();
        let folded = match (n.op, consts.as_deref()) {
            (Op::Add, Some([a, b])) => Some(a + b),
            (Op::Sub, Some([a, b])) => Some(a - b),
            (Op::Mul, Some([a, b])) => Some(a * b),
            (Op::Div, Some([a, b])) if *b != 0.0 => Some(a / b),
            (Op::Broadcast | Op::StopGradient | Op::Transpose, Some([a])) => Some(*a),
            (Op::Unary(u), Some([a])) => eval(u, *a),
            (Op::SumExampleCols, Some(_)) => None,
            (Op::SumRows, Some([a])) => Some(a * rw.old.shape(n.args[0]).rows as f64),
            (Op::SumCols, Some([a])) => match rw.old.shape(n.args[0]).cols {
                Cols::Fixed(c) => Some(a * c as f64),
                Cols::Batch(_) => None,
            },
            _ => None,
        };
        match folded.filter(|v| v.is_finite()) {
            Some(v) => {
                rw.changed = true;
                rw.constant(v, n.shape)
            }
            None => rw.copy(id),
        }
    })
}

/// The value of an element-wise function at a constant, by the one formula the runtime uses;
/// not folded where it is not finite (`log 0`, `1/0`: left for the run to report).
fn eval(u: Unary, x: f64) -> Option<f64> {
    let y = u.apply(x);
    y.is_finite().then_some(y)
}
