//! Products with every column of a sequence as one product: when a fixed `A` multiplies each
//! column `X_t` of a matrix per example `X` (`r × nB`, the `n` steps of a sequence), for every
//! `t`, the `n` products `A X_t` are the columns of the one product `P = A X`, and each
//! becomes `P`'s column `t` of each example (`example_col[t] P`). The input projections of
//! a recurrent network (`W_f X_t` of an LSTM's gates, eq. 10.21's `Ω X_t`) then take one GEMM
//! of `n·B` columns where they took `n` of `B` columns each.
//!
//! Its gradient is the rule `add-example-cols` of `simplify`, here too: the cotangent of
//! `P` is the sum of the `n` columns placed back (`place_example_col[t] ḡ_t`), which the rule
//! joins into one matrix, `reshape(r, n)` of the stacked `[ḡ_0; …; ḡ_{n-1}]` (each example's
//! `r·n` numbers, column `t` of its block being `ḡ_t`), so that `∂A = ∂P Xᵀ` is also one
//! GEMM, over `n·B` columns, where it was `n` products over `B` each.
//!
//! Every entry is the same sum of products as before, so values agree to rounding.

use super::Rewriter;
use crate::ir::{Cols, Graph, NodeId, Op, Shape};
use std::collections::HashMap;

/// The most columns per example whose placed cotangents are joined (the rule builds a
/// stack of `n` blocks per addition).
const MAX_JOINED: u32 = 1024;

/// Hoists the products of a fixed matrix with every column of a matrix per example.
pub fn run(g: &Graph) -> Option<Graph> {
    let groups = groups(g);
    if groups.is_empty() {
        return None;
    }
    // Per (left operand, matrix per example), old ids: the product in the new graph.
    let mut product: HashMap<(NodeId, NodeId), NodeId> = HashMap::new();
    let rw = Rewriter::new(g);
    rw.run(|rw, id| {
        let Some((a, x, k)) = column_product(g, id) else {
            return rw.copy(id);
        };
        if !groups.contains(&(a, x)) {
            return rw.copy(id);
        }
        let p = *product.entry((a, x)).or_insert_with(|| {
            let mm = Op::MatMul {
                ta: false,
                tb: false,
            };
            rw.op(mm, &[rw.get(a), rw.get(x)])
        });
        rw.changed = true;
        rw.op(Op::ExampleCol(k), &[p])
    })
}

/// Node `id` as `A X_t`: the fixed left operand `A`, the matrix per example `X` and `t`.
fn column_product(g: &Graph, id: NodeId) -> Option<(NodeId, NodeId, u32)> {
    let n = g.node(id);
    let (
        Op::MatMul {
            ta: false,
            tb: false,
        },
        [a, c],
    ) = (n.op, n.args.as_slice())
    else {
        return None;
    };
    let Op::ExampleCol(k) = g.node(*c).op else {
        return None;
    };
    matches!(g.shape(*a).cols, Cols::Fixed(_)).then(|| (*a, g.node(*c).args[0], k))
}

/// The pairs `(A, X)` whose products `A X_t` cover every column `t` of `X`, with `A` and `X`
/// computed before the first of them (so `A X` can be built there).
fn groups(g: &Graph) -> Vec<(NodeId, NodeId)> {
    let mut seen: HashMap<(NodeId, NodeId), (usize, Vec<bool>)> = HashMap::new();
    for i in 0..g.nodes.len() {
        let Some((a, x, k)) = column_product(g, NodeId(i as u32)) else {
            continue;
        };
        let Cols::Batch(n) = g.shape(x).cols else {
            continue;
        };
        let (_, cols) = seen.entry((a, x)).or_insert((i, vec![false; n]));
        if let Some(c) = cols.get_mut(k as usize) {
            *c = true;
        }
    }
    let mut groups: Vec<(NodeId, NodeId)> = seen
        .into_iter()
        .filter(|((a, x), (first, cols))| {
            cols.len() >= 2 && cols.iter().all(|&c| c) && a.index() < *first && x.index() < *first
        })
        .map(|(key, _)| key)
        .collect();
    groups.sort_unstable_by_key(|(a, x)| (a.index(), x.index()));
    groups
}

/// `x` as a matrix per example assembled column by column: `(r, n, columns)`, each of the
/// `n` columns an `r × B` value or `None` for zeros. A placed column
/// (`place_example_col[k] g`) or a reshaped stack of columns (what [`add_example_cols`]
/// builds).
fn columns(rw: &Rewriter<'_>, x: NodeId) -> Option<(usize, u32, Vec<Option<NodeId>>)> {
    let node = rw.node(x);
    match node.op {
        Op::PlaceExampleCol { k, n } if n <= MAX_JOINED => {
            let g = node.args[0];
            let mut cols = vec![None; n as usize];
            *cols.get_mut(k as usize)? = Some(g);
            Some((rw.new.shape(g).rows, n, cols))
        }
        Op::Reshape { rows, cols: n } if n <= MAX_JOINED => {
            let stack = rw.node(node.args[0]);
            let blocks = &stack.args;
            let fits = stack.op == Op::ConcatRows
                && blocks.len() == n as usize
                && blocks.iter().all(|b| {
                    let s = rw.new.shape(*b);
                    s.rows == rows as usize && s.cols == Cols::EXAMPLE
                });
            fits.then(|| {
                let cols = blocks
                    .iter()
                    .map(|b| (rw.const_of(*b) != Some(0.0)).then_some(*b))
                    .collect();
                (rows as usize, n, cols)
            })
        }
        _ => None,
    }
}

/// `x + y` of two matrices per example assembled column by column (the cotangent of a
/// hoisted product, [`run`]), as one: `reshape(r, n)` of the stack of the column sums.
pub(super) fn add_example_cols(rw: &mut Rewriter<'_>, x: NodeId, y: NodeId) -> Option<NodeId> {
    let (r, n, cx) = columns(rw, x)?;
    let (r2, n2, cy) = columns(rw, y)?;
    if (r, n) != (r2, n2) {
        return None;
    }
    let blocks: Vec<NodeId> = cx
        .into_iter()
        .zip(cy)
        .map(|pair| match pair {
            (Some(a), Some(b)) => rw.op(Op::Add, &[a, b]),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => rw.constant(
                0.0,
                Shape {
                    rows: r,
                    cols: Cols::EXAMPLE,
                },
            ),
        })
        .collect();
    let stack = rw.op(Op::ConcatRows, &blocks);
    Some(rw.push(
        Op::Reshape {
            rows: r as u32,
            cols: n,
        },
        vec![stack],
        Shape {
            rows: r,
            cols: Cols::Batch(n as usize),
        },
    ))
}
