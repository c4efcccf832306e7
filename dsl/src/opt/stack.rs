//! Products with one right operand become one product: `A_1 R, …, A_m R`, with fixed left
//! operands (not transposed), are the row blocks of `[A_1; …; A_m] R`. The gates of a
//! recurrent cell (`U_f h_{t-1}`, `U_i h_{t-1}`, … and `W_f x_t`, `W_i x_t`, …) and the
//! queries, keys and values of attention heads (`Ω_{q,h} X`, `Ω_{k,h} X`, …) then take one
//! GEMM where they took `m`, and so do their gradients: `∂[A_1; …; A_m] = ∂P Rᵀ` and
//! `∂R = [A_1; …; A_m]ᵀ ∂P` (the rows of `∂P` are the `m` products' gradients, joined by the
//! `add-concat` rule of `simplify`). The stacked left operand is one node, shared by every
//! step that multiplies by it.
//!
//! Every entry is the same sum of products as before, so values agree to rounding.

use super::Rewriter;
use crate::ir::{Cols, Graph, NodeId, Op};
use std::collections::HashMap;

/// The most left operands stacked into one product.
const MAX_STACKED: usize = 64;

/// Stacks the left operands of products that share their right operand.
pub fn run(g: &Graph) -> Option<Graph> {
    let groups = groups(g);
    if groups.is_empty() {
        return None;
    }
    // Per right operand (old id): the stacked product in the new graph, once built.
    let mut product: HashMap<NodeId, NodeId> = HashMap::new();
    let rw = Rewriter::new(g);
    rw.run(|rw, id| {
        let n = &rw.old.nodes[id.index()];
        let (
            Op::MatMul {
                ta: false,
                tb: false,
            },
            [a, r],
        ) = (n.op, n.args.as_slice())
        else {
            return rw.copy(id);
        };
        let Some(lefts) = groups.get(r) else {
            return rw.copy(id);
        };
        let Some(k) = lefts.iter().position(|l| l == a) else {
            return rw.copy(id);
        };
        let p = match product.get(r) {
            Some(&p) => p,
            None => {
                let stacked: Vec<NodeId> = lefts.iter().map(|l| rw.get(*l)).collect();
                let s = rw.op(Op::ConcatRows, &stacked);
                let p = rw.op(
                    Op::MatMul {
                        ta: false,
                        tb: false,
                    },
                    &[s, rw.get(*r)],
                );
                product.insert(*r, p);
                p
            }
        };
        let start: usize = lefts[..k].iter().map(|l| g.shape(*l).rows).sum();
        let rows = g.shape(*a).rows;
        rw.changed = true;
        rw.op(
            Op::SliceRows {
                start: start as u32,
                rows: rows as u32,
            },
            &[p],
        )
    })
}

/// Per right operand with two or more distinct fixed left operands: those left operands, in
/// order of first use. Each left operand is computed before the first of the products (so
/// the stack can be built there); a right operand whose products do not all qualify is left
/// alone.
fn groups(g: &Graph) -> HashMap<NodeId, Vec<NodeId>> {
    let mut groups: HashMap<NodeId, (usize, Vec<NodeId>)> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if let (
            Op::MatMul {
                ta: false,
                tb: false,
            },
            [a, r],
        ) = (n.op, n.args.as_slice())
            && matches!(g.shape(*a).cols, Cols::Fixed(_))
        {
            let (_, lefts) = groups.entry(*r).or_insert((i, Vec::new()));
            if !lefts.contains(a) {
                lefts.push(*a);
            }
        }
    }
    groups
        .into_iter()
        .filter(|(_, (first, lefts))| {
            (2..=MAX_STACKED).contains(&lefts.len()) && lefts.iter().all(|l| l.index() < *first)
        })
        .map(|(r, (_, lefts))| (r, lefts))
        .collect()
}
