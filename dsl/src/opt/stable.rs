//! Numerically stable forms, as named rewrites of the forward graph (before `ad`, so the
//! gradients of the stable forms are stable too: the gradient of `-log softmax_y` becomes
//! `softmax − onehot`, that of sigmoid cross-entropy `sig − y`).
//!
//! | rule | from | to |
//! | --- | --- | --- |
//! | `log-softmax` | `log softmax z` | `z − 𝟏 logsumexp z` |
//! | `log-softmax-label` | `log softmax_y z` | `z_y − logsumexp z` |
//! | `log-softmax-row` | `log softmax_k z` | `z_k − logsumexp z` |
//! | `log-sig` | `log sig z` | `−softplus(−z)` |
//! | `log-one-minus-sig` | `log (1 − sig z)` | `−softplus(z)` |
//! | `log-sum-exp` | `log 𝟏ᵀ exp z` | `logsumexp z` |
//! | `log-exp` | `log exp z` | `z` |
//! | `log-div` | `log (a / b)` with `a = exp …` or a constant | `log a − log b` (the Gaussian NLL's closed form) |
//! | `log-sum-exp-rows` | `log ∑_k exp z_k` written out over every row | `logsumexp z` (eq. 5.24) |
//! | `log-sqrt` | `log √x` | `½ log x` |

use super::Rewriter;
use crate::ir::{Graph, NodeId, Op, Unary};

/// Applies the stable rewrites to every `log` node.
pub fn run(g: &Graph) -> Option<Graph> {
    let rw = Rewriter::new(g);
    rw.run(|rw, id| {
        let n = &rw.old.nodes[id.index()];
        if n.op != Op::Unary(Unary::Log) {
            return rw.copy(id);
        }
        let x = rw.get(n.args[0]);
        match rewrite_log(rw, x) {
            Some(new) => {
                rw.changed = true;
                new
            }
            None => rw.copy(id),
        }
    })
}

/// If `x` is a sum `exp z_1 + exp z_2 + …` over every row of one `z` (each row once), `z`.
fn exp_rows_cover(rw: &Rewriter<'_>, x: NodeId) -> Option<NodeId> {
    let mut stack = vec![x];
    let mut rows = Vec::new();
    let mut base = None;
    while let Some(n) = stack.pop() {
        let node = rw.node(n);
        match node.op {
            Op::Add => stack.extend(node.args.iter().copied()),
            Op::Unary(Unary::Exp) => {
                let row = rw.node(node.args[0]);
                let Op::Row(k) = row.op else { return None };
                let z = row.args[0];
                if base.is_some_and(|b| b != z) {
                    return None;
                }
                base = Some(z);
                rows.push(k);
            }
            _ => return None,
        }
    }
    let z = base?;
    rows.sort_unstable();
    let all: Vec<u32> = (0..rw.new.shape(z).rows as u32).collect();
    (rows == all).then_some(z)
}

fn rewrite_log(rw: &mut Rewriter<'_>, x: NodeId) -> Option<NodeId> {
    let inner = rw.node(x).clone();
    let arg = |k: usize| inner.args.get(k).copied();
    match inner.op {
        Op::Softmax => {
            let z = arg(0)?;
            let lse = rw.op(Op::LogSumExp, &[z]);
            let shape = rw.new.shape(z);
            let lse = rw.push(Op::Broadcast, vec![lse], shape);
            Some(rw.op(Op::Sub, &[z, lse]))
        }
        Op::PickLabel { lo } => {
            let (s, y) = (arg(0)?, arg(1)?);
            let sm = rw.node(s).clone();
            if sm.op != Op::Softmax {
                return None;
            }
            let z = sm.args[0];
            let picked = rw.op(Op::PickLabel { lo }, &[z, y]);
            let lse = rw.op(Op::LogSumExp, &[z]);
            Some(rw.op(Op::Sub, &[picked, lse]))
        }
        Op::Row(k) => {
            let sm = rw.node(arg(0)?).clone();
            if sm.op != Op::Softmax {
                return None;
            }
            let z = sm.args[0];
            let row = rw.op(Op::Row(k), &[z]);
            let lse = rw.op(Op::LogSumExp, &[z]);
            Some(rw.op(Op::Sub, &[row, lse]))
        }
        Op::Unary(Unary::Sig) => {
            let z = arg(0)?;
            let nz = rw.op(Op::Unary(Unary::Neg), &[z]);
            let sp = rw.op(Op::Unary(Unary::Softplus), &[nz]);
            Some(rw.op(Op::Unary(Unary::Neg), &[sp]))
        }
        Op::Sub => {
            let (one, s) = (arg(0)?, arg(1)?);
            if rw.const_of(one) != Some(1.0) || rw.node(s).op != Op::Unary(Unary::Sig) {
                return None;
            }
            let z = rw.node(s).args[0];
            let sp = rw.op(Op::Unary(Unary::Softplus), &[z]);
            Some(rw.op(Op::Unary(Unary::Neg), &[sp]))
        }
        Op::SumRows => {
            let e = rw.node(arg(0)?).clone();
            (e.op == Op::Unary(Unary::Exp)).then(|| rw.op(Op::LogSumExp, &[e.args[0]]))
        }
        Op::Unary(Unary::Exp) => arg(0),
        Op::Add => {
            let z = exp_rows_cover(rw, x)?;
            Some(rw.op(Op::LogSumExp, &[z]))
        }
        Op::Div => {
            let (a, b) = (arg(0)?, arg(1)?);
            if let Some(c) = rw.const_of(a) {
                // log(c / b) = log c − log b.
                let lb = rw.op(Op::Unary(Unary::Log), &[b]);
                let lb = rewrite_log(rw, b).unwrap_or(lb);
                if c == 1.0 {
                    return Some(rw.op(Op::Unary(Unary::Neg), &[lb]));
                }
                if c <= 0.0 {
                    return None;
                }
                let lc = rw.constant(c.ln(), rw.new.shape(lb));
                return Some(rw.op(Op::Sub, &[lc, lb]));
            }
            if rw.node(a).op != Op::Unary(Unary::Exp) {
                return None;
            }
            let la = rw.node(a).args[0];
            let lb = rw.op(Op::Unary(Unary::Log), &[b]);
            let lb = rewrite_log(rw, b).unwrap_or(lb);
            Some(rw.op(Op::Sub, &[la, lb]))
        }
        Op::Unary(Unary::Sqrt) => {
            let v = arg(0)?;
            let l = rw.op(Op::Unary(Unary::Log), &[v]);
            let half = rw.constant(0.5, rw.new.shape(l));
            Some(rw.op(Op::Mul, &[half, l]))
        }
        _ => None,
    }
}
