//! Algebraic simplification as a table of named rules. Each rule looks at one node (its
//! arguments already rewritten) and returns a replacement, or `None`.

use super::Rewriter;
use crate::ir::{Graph, NodeId, Op, Unary};

/// A rule: its name, and the rewrite.
pub type Rule = (
    &'static str,
    fn(&mut Rewriter<'_>, Op, &[NodeId]) -> Option<NodeId>,
);

/// The rules, tried in order on every node.
pub const RULES: &[Rule] = &[
    ("add-zero", |rw, op, a| match op {
        Op::Add if rw.const_of(a[1]) == Some(0.0) => Some(a[0]),
        Op::Add if rw.const_of(a[0]) == Some(0.0) => Some(a[1]),
        _ => None,
    }),
    ("sub-zero", |rw, op, a| {
        (op == Op::Sub && rw.const_of(a[1]) == Some(0.0)).then(|| a[0])
    }),
    ("mul-one", |rw, op, a| match op {
        Op::Mul if rw.const_of(a[1]) == Some(1.0) => Some(a[0]),
        Op::Mul if rw.const_of(a[0]) == Some(1.0) => Some(a[1]),
        _ => None,
    }),
    ("div-one", |rw, op, a| {
        (op == Op::Div && rw.const_of(a[1]) == Some(1.0)).then(|| a[0])
    }),
    ("mul-minus-one", |rw, op, a| match op {
        Op::Mul if rw.const_of(a[0]) == Some(-1.0) => Some(rw.op(Op::Unary(Unary::Neg), &[a[1]])),
        Op::Mul if rw.const_of(a[1]) == Some(-1.0) => Some(rw.op(Op::Unary(Unary::Neg), &[a[0]])),
        _ => None,
    }),
    ("neg-neg", |rw, op, a| {
        match (op, rw.node(a.first().copied()?).op) {
            (Op::Unary(Unary::Neg), Op::Unary(Unary::Neg)) => Some(rw.node(a[0]).args[0]),
            _ => None,
        }
    }),
    ("sub-neg", |rw, op, a| match op {
        // a - (-b) = a + b
        Op::Sub if rw.node(a[1]).op == Op::Unary(Unary::Neg) => {
            let b = rw.node(a[1]).args[0];
            Some(rw.op(Op::Add, &[a[0], b]))
        }
        _ => None,
    }),
    ("add-neg", |rw, op, a| match op {
        // a + (-b) = a - b
        Op::Add if rw.node(a[1]).op == Op::Unary(Unary::Neg) => {
            let b = rw.node(a[1]).args[0];
            Some(rw.op(Op::Sub, &[a[0], b]))
        }
        _ => None,
    }),
    // [a_1; a_2; …] + [b_1; b_2; …] = [a_1 + b_1; …] block by block, a block of zeros split
    // where the other side's blocks end (the gradient of products stacked by `stack`).
    // place_example_col[s] a + place_example_col[t] b = reshape of the stacked columns
    // (the gradient of a product hoisted by `hoist`, one matrix where it was `n` additions).
    ("add-example-cols", |rw, op, a| match op {
        Op::Add => super::hoist::add_example_cols(rw, a[0], a[1]),
        _ => None,
    }),
    ("add-concat", |rw, op, a| {
        (op == Op::Add).then_some(())?;
        add_concat(rw, a[0], a[1])
    }),
    ("transpose-transpose", |rw, op, a| {
        match (op, rw.node(a.first().copied()?).op) {
            (Op::Transpose, Op::Transpose) => Some(rw.node(a[0]).args[0]),
            _ => None,
        }
    }),
    ("matmul-transposed-operand", |rw, op, a| match op {
        // A copy of Aᵀ as a product's operand is the transpose flag on A.
        Op::MatMul { ta, tb } if rw.node(a[0]).op == Op::Transpose => {
            let inner = rw.node(a[0]).args[0];
            Some(rw.op(Op::MatMul { ta: !ta, tb }, &[inner, a[1]]))
        }
        Op::MatMul { ta, tb } if rw.node(a[1]).op == Op::Transpose => {
            let inner = rw.node(a[1]).args[0];
            Some(rw.op(Op::MatMul { ta, tb: !tb }, &[a[0], inner]))
        }
        _ => None,
    }),
    ("example-matmul-transposed-operand", |rw, op, a| match op {
        // A copy of each example's transpose as a product's operand is its flag.
        Op::ExampleMatMul { ta, tb } if rw.node(a[0]).op == Op::ExampleTranspose => {
            let inner = rw.node(a[0]).args[0];
            Some(rw.op(Op::ExampleMatMul { ta: !ta, tb }, &[inner, a[1]]))
        }
        Op::ExampleMatMul { ta, tb } if rw.node(a[1]).op == Op::ExampleTranspose => {
            let inner = rw.node(a[1]).args[0];
            Some(rw.op(Op::ExampleMatMul { ta, tb: !tb }, &[a[0], inner]))
        }
        _ => None,
    }),
    ("example-transpose-transpose", |rw, op, a| {
        match (op, rw.node(a.first().copied()?).op) {
            (Op::ExampleTranspose, Op::ExampleTranspose) => Some(rw.node(a[0]).args[0]),
            _ => None,
        }
    }),
    ("transpose-of-product", |rw, op, a| {
        // (A B)ᵀ = Bᵀ Aᵀ: the product computed transposed instead of copied, when nothing
        // else reads A B.
        match (op, rw.node(a.first().copied()?).op) {
            (Op::Transpose, Op::MatMul { ta, tb }) if sole_use(rw, a[0]) => {
                let (x, y) = (rw.node(a[0]).args[0], rw.node(a[0]).args[1]);
                Some(rw.op(Op::MatMul { ta: !tb, tb: !ta }, &[y, x]))
            }
            _ => None,
        }
    }),
    ("sum-of-one", |rw, op, a| {
        // The sum of a single row (or column) is that row (or column).
        let shape = rw.node(*a.first()?).shape;
        match op {
            Op::SumRows if shape.rows == 1 => Some(a[0]),
            Op::SumCols if shape.cols == crate::ir::Cols::Fixed(1) => Some(a[0]),
            _ => None,
        }
    }),
    ("pow-one", |_, op, a| match op {
        Op::Unary(Unary::Powf(p)) if p.0 == 1.0 => Some(a[0]),
        _ => None,
    }),
    ("square-as-mul", |rw, op, a| match op {
        // x² as x ⊙ x: cheaper than powf, and its gradient needs no pow.
        Op::Unary(Unary::Powf(p)) if p.0 == 2.0 => Some(rw.op(Op::Mul, &[a[0], a[0]])),
        _ => None,
    }),
    ("broadcast-broadcast", |rw, op, a| {
        match (op, rw.node(a.first().copied()?).op) {
            (Op::Broadcast, Op::Broadcast) => {
                let inner = rw.node(a[0]).args[0];
                let shape = rw.old_shape_hint();
                Some(rw.push(Op::Broadcast, vec![inner], shape))
            }
            _ => None,
        }
    }),
    ("broadcast-const", |rw, op, a| match op {
        Op::Broadcast => {
            let v = rw.const_of(a[0])?;
            let shape = rw.old_shape_hint();
            Some(rw.constant(v, shape))
        }
        _ => None,
    }),
];

/// Whether the old node that became `new` has one reader (a node or an output).
fn sole_use(rw: &Rewriter<'_>, new: NodeId) -> bool {
    let Some(old) = rw.map.iter().position(|m| *m == new) else {
        return false;
    };
    let old = NodeId(old as u32);
    let readers = rw
        .old
        .nodes
        .iter()
        .filter(|n| n.args.contains(&old))
        .count()
        + rw.old.outputs.iter().filter(|(_, id)| *id == old).count();
    readers == 1
}

/// Applies the first matching rule to every node.
pub fn run(g: &Graph) -> Option<Graph> {
    let rw = Rewriter::new(g);
    rw.run(|rw, id| {
        let n = &rw.old.nodes[id.index()];
        let (op, args): (Op, Vec<NodeId>) = (n.op, n.args.iter().map(|a| rw.get(*a)).collect());

        for (_, rule) in RULES {
            if let Some(new) = rule(rw, op, &args) {
                rw.changed = true;
                return new;
            }
        }
        rw.copy(id)
    })
}

/// `[a_1; …] + [b_1; …]` as one concatenation of block sums, when every block boundary of
/// either side falls on a boundary of the other or inside a constant block (which splits).
fn add_concat(rw: &mut Rewriter<'_>, x: NodeId, y: NodeId) -> Option<NodeId> {
    if rw.node(x).op != Op::ConcatRows || rw.node(y).op != Op::ConcatRows {
        return None;
    }
    let blocks = |rw: &Rewriter<'_>, n: NodeId| -> Vec<(NodeId, usize, usize)> {
        let mut start = 0;
        rw.node(n)
            .args
            .iter()
            .map(|b| {
                let rows = rw.new.shape(*b).rows;
                start += rows;
                (*b, start - rows, start)
            })
            .collect()
    };
    let (bx, by) = (blocks(rw, x), blocks(rw, y));
    let mut ends: Vec<usize> = bx.iter().chain(&by).map(|b| b.2).collect();
    ends.sort_unstable();
    ends.dedup();
    let cols = rw.new.shape(x).cols;
    let mut parts = Vec::with_capacity(ends.len());
    let mut start = 0;
    for end in ends {
        let mut piece = |side: &[(NodeId, usize, usize)]| -> Option<NodeId> {
            let &(b, s, e) = side.iter().find(|(_, s, e)| *s <= start && end <= *e)?;
            if (s, e) == (start, end) {
                return Some(b);
            }
            let v = rw.const_of(b)?;
            Some(rw.constant(
                v,
                crate::ir::Shape {
                    rows: end - start,
                    cols,
                },
            ))
        };
        let (p, q) = (piece(&bx)?, piece(&by)?);
        parts.push(rw.op(Op::Add, &[p, q]));
        start = end;
    }
    Some(rw.op(Op::ConcatRows, &parts))
}
