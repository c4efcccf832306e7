//! Fusion groups, liveness and the buffer plan: which element-wise nodes run in one loop,
//! which forward values the backward pass keeps, which buffers can share memory, and which
//! products are tiny enough to run as straight-line code instead of a GEMM call.
//! `nnspec ir --plan` prints it.

mod folded;

use crate::ir::{Cols, Graph, NodeId, Op};
use std::fmt::Write;

/// The memory plan of a graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// For every node: the fusion group it belongs to (the id of the group's root), if it is
    /// computed inside another node's loop instead of in a buffer of its own.
    pub fused_into: Vec<Option<NodeId>>,
    /// For every node: its buffer, if it needs one (inputs and parameters live outside).
    pub buffer: Vec<Option<usize>>,
    /// The buffers: rows and columns of each. A batched value uses the first rows of a
    /// buffer with its columns per example (values of one number per example, `1 × B`, only
    /// share among themselves); a fixed-size value uses the first rows and columns of a
    /// fixed-size buffer.
    pub buffers: Vec<(usize, Cols)>,
    /// For every node: whether it is a parameter's gradient computed by a statement of its
    /// own and named by one output only, which generated code writes straight into the
    /// caller's gradient set instead of a buffer.
    pub external: Vec<bool>,
    /// Forward values (before `forward_len`) that a backward node uses.
    pub kept: Vec<NodeId>,
    /// For every node: the straight-line form of a product whose constant dimensions are at
    /// most [`TINY_MAX`] (`runtime::tiny`), if it is one; other products are GEMM calls.
    pub tiny: Vec<Option<Tiny>>,
    /// For every product whose one reader scales it by a constant: that reader and the
    /// factor, which the product's GEMM applies as its α, writing into the reader's buffer
    /// (`folded::scaled_products`).
    pub scaled: Vec<Option<(NodeId, f64)>>,
    /// For every node: whether it is a parameter gradient's sum over the batch that its
    /// argument's element-wise loop accumulates, so that it has no statement of its own
    /// (`folded::sums_in_producer`).
    pub summed_in_producer: Vec<bool>,
}

/// The largest constant dimension of a product run as straight-line code ([`Tiny`]): at
/// this size faer's dispatch costs more than the product's arithmetic.
pub const TINY_MAX: usize = 8;

/// A product `op(a)·op(b)` run as straight-line code, with its constant dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tiny {
    /// `op(a)` is a constant `m × k` matrix: column by column of `op(b)`, any number of them
    /// (`runtime::tiny::cols`).
    Cols {
        /// Rows of `op(a)` and of the result.
        m: usize,
        /// Columns of `op(a)`, rows of `op(b)`.
        k: usize,
    },
    /// The result is a constant `m × n` matrix: one pass over any inner dimension
    /// (`runtime::tiny::inner`), as in a weight's gradient summed over the batch.
    Inner {
        /// Rows of the result.
        m: usize,
        /// Columns of the result.
        n: usize,
    },
}

impl Plan {
    /// Bytes per example of the batched buffers, for a scalar of `size` bytes.
    pub fn bytes_per_example(&self, size: usize) -> usize {
        self.buffers
            .iter()
            .filter_map(|(r, c)| match c {
                Cols::Batch(n) => Some(r * n * size),
                Cols::Fixed(_) => None,
            })
            .sum()
    }

    /// Bytes of the fixed-size buffers.
    pub fn fixed_bytes(&self, size: usize) -> usize {
        self.buffers
            .iter()
            .map(|(r, c)| match c {
                Cols::Fixed(c) => r * c * size,
                Cols::Batch(_) => 0,
            })
            .sum()
    }
}

/// The deepest a fusion group's element expression may nest (operations from its root).
pub const MAX_FUSED_DEPTH: usize = 64;

fn elementwise(op: Op) -> bool {
    op.is_elementwise()
}

/// Plans `g`. The forward pass is what the model function and the losses need; the rest
/// (the gradients' nodes) is the backward pass.
pub fn plan(g: &Graph) -> Plan {
    let n = g.nodes.len();
    let forward = g.forward_nodes();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in g.nodes.iter().enumerate() {
        for a in &node.args {
            users[a.index()].push(i);
        }
    }
    let mut is_output = vec![false; n];
    for (_, id) in &g.outputs {
        is_output[id.index()] = true;
    }
    let fused_into = fusion_groups(g, &users, &is_output);
    let last_use = last_uses(&users, &is_output, &fused_into);
    let external = external_gradients(g, &fused_into);
    let (buffer, buffers) = assign_buffers(g, &users, &fused_into, &last_use, &external);
    let kept: Vec<NodeId> = (0..n)
        .filter(|&i| forward[i] && users[i].iter().any(|&u| !forward[u]))
        .filter(|&i| !matches!(g.nodes[i].op, Op::Input(_) | Op::Param(_) | Op::Const(_)))
        .map(|i| NodeId(i as u32))
        .collect();
    let tiny = (0..n).map(|i| tiny_product(g, NodeId(i as u32))).collect();
    let summed_in_producer = folded::sums_in_producer(g, &fused_into, &buffer, &external);
    let scaled = folded::scaled_products(g, &fused_into, &buffer, &external, &summed_in_producer);
    Plan {
        fused_into,
        buffer,
        buffers,
        external,
        kept,
        tiny,
        scaled,
        summed_in_producer,
    }
}

/// The straight-line form of a product, if its constant dimensions are at most
/// [`TINY_MAX`]: `op(a)` constant ([`Tiny::Cols`]), else the result constant
/// ([`Tiny::Inner`]). The batch is at most one of the columns of the result and the inner
/// dimension, and that one stays a loop.
fn tiny_product(g: &Graph, id: NodeId) -> Option<Tiny> {
    let node = g.node(id);
    let Op::MatMul { ta, tb } = node.op else {
        return None;
    };
    let (a, b) = (g.node(node.args[0]).shape, g.node(node.args[1]).shape);
    let fixed = |c: Cols| match c {
        Cols::Fixed(n) => Some(n),
        Cols::Batch(_) => None,
    };
    let (m, k) = if ta {
        (fixed(a.cols), Some(a.rows))
    } else {
        (Some(a.rows), fixed(a.cols))
    };
    let n = if tb { Some(b.rows) } else { fixed(b.cols) };
    let small = |d: Option<usize>| d.filter(|d| (1..=TINY_MAX).contains(d));
    match (small(m), small(k), small(n)) {
        (Some(m), Some(k), _) => Some(Tiny::Cols { m, k }),
        (Some(m), None, Some(n)) => Some(Tiny::Inner { m, n }),
        _ => None,
    }
}

/// For every node, the root of the fusion group it is computed in, if not its own.
fn fusion_groups(g: &Graph, users: &[Vec<usize>], is_output: &[bool]) -> Vec<Option<NodeId>> {
    let n = g.nodes.len();
    // An element-wise node with one user, itself element-wise and of the same shape (or a
    // sum over the batch), is computed inside that user's loop (a fusion group: bias +
    // activation, a backward chain, a loss's squares and their sum).
    // A group's element expression nests at most `MAX_FUSED_DEPTH` operations deep, so that
    // generated code (and whatever compiles it) never meets a deeper expression: a longer
    // chain is cut into several loops.
    let mut fused_into: Vec<Option<NodeId>> = vec![None; n];
    let mut depth = vec![0usize; n];
    for i in (0..n).rev() {
        let node = &g.nodes[i];
        if !elementwise(node.op) || is_output[i] || users[i].len() != 1 {
            continue;
        }
        let u = users[i][0];
        // A sum over the batch of an element-wise value read nowhere else runs in that
        // value's loop, which accumulates it and stores nothing (`∑_i (f_i - y_i)²`).
        if g.nodes[u].op == Op::SumCols && node.op != Op::Broadcast {
            fused_into[i] = Some(NodeId(u as u32));
            depth[i] = 1;
            continue;
        }
        if elementwise(g.nodes[u].op)
            && depth[u] < MAX_FUSED_DEPTH
            && (g.nodes[u].shape == node.shape
                || node.op == Op::Broadcast
                || matches!(node.op, Op::Const(_)))
        {
            fused_into[i] = Some(fused_into[u].unwrap_or(NodeId(u as u32)));
            depth[i] = depth[u] + 1;
        }
    }
    fused_into
}

/// For every node, the step at which its value is read for the last time (`n` for outputs).
fn last_uses(
    users: &[Vec<usize>],
    is_output: &[bool],
    fused_into: &[Option<NodeId>],
) -> Vec<usize> {
    let n = users.len();
    // Liveness: a value lives from its node to its last user (outputs to the end).
    let mut last_use: Vec<usize> = (0..n).collect();
    for i in 0..n {
        // A value read by a fused node is read when its group's root runs.
        let read_at = |u: usize| fused_into[u].map_or(u, |root| root.index());
        if let Some(m) = users[i].iter().map(|&u| read_at(u)).max() {
            last_use[i] = m;
        }
        if is_output[i] {
            last_use[i] = n;
        }
    }
    last_use
}

/// For every node, whether it is an external gradient ([`Plan::external`]).
fn external_gradients(g: &Graph, fused_into: &[Option<NodeId>]) -> Vec<bool> {
    let n = g.nodes.len();
    // Parameter gradients with a statement of their own go straight to the caller.
    let mut output_uses = vec![0usize; n];
    for (_, id) in &g.outputs {
        output_uses[id.index()] += 1;
    }
    (0..n)
        .map(|i| {
            let gradient = g
                .grads
                .iter()
                .any(|gr| gr.node.index() == i && matches!(gr.wrt, crate::ir::Wrt::Param(_)));
            gradient
                && output_uses[i] == 1
                && fused_into[i].is_none()
                && !matches!(
                    g.nodes[i].op,
                    Op::Input(_) | Op::Param(_) | Op::Const(_) | Op::StopGradient
                )
        })
        .collect()
}

/// The buffer of every node that needs one, and the buffers (rows and columns).
///
/// Every value lives from its node to its last use ([`last_uses`]). Two values may share a
/// buffer when their lives do not overlap, or when they touch at an element-wise loop that
/// overwrites the value it reads for the last time (every such value of the buffer has the
/// loop's own shape: the loop reads each element just before writing it). Values are placed
/// largest first, each into the smallest buffer of its column count that it fits in time,
/// else a new one, so a small value never opens a buffer that a large one must later grow.
/// A value uses its buffer's first rows (and, for fixed sizes, first columns). Buffers are
/// numbered by their first use.
fn assign_buffers(
    g: &Graph,
    users: &[Vec<usize>],
    fused_into: &[Option<NodeId>],
    last_use: &[usize],
    external: &[bool],
) -> (Vec<Option<usize>>, Vec<(usize, Cols)>) {
    let n = g.nodes.len();
    // Constants are written into the loops that read them, except where a kernel (a GEMM, a
    // reduction) needs them as a matrix.
    let read_by_kernel = |i: usize| users[i].iter().any(|&u| !elementwise(g.nodes[u].op));
    let needs_buffer = |i: usize| match g.nodes[i].op {
        _ if external[i] => false,
        Op::Input(_) | Op::Param(_) | Op::StopGradient => false,
        Op::Const(_) => fused_into[i].is_none() && read_by_kernel(i),
        _ => fused_into[i].is_none(),
    };
    let loop_root = |i: usize| elementwise(g.nodes[i].op) && !matches!(g.nodes[i].op, Op::Const(_));
    // Whether value `early` (defined first) and value `late` may share a buffer.
    let compatible = |early: usize, late: usize| {
        last_use[early] < late
            || last_use[early] == late
                && loop_root(late)
                && g.nodes[early].shape == g.nodes[late].shape
    };
    // Batched values share with values of their column count per example, and values of one
    // number per example (`1 × B`) only among themselves; fixed-size values share with any
    // fixed-size value, a buffer being as large as its largest rows and columns.
    let class = |i: usize| {
        let s = g.nodes[i].shape;
        match s.cols {
            Cols::Fixed(_) => None,
            Cols::Batch(n) => Some((n, s.rows == 1 && n == 1)),
        }
    };
    let size = |(rows, cols): (usize, Cols)| match cols {
        Cols::Fixed(c) | Cols::Batch(c) => rows * c,
    };
    let grown = |(rows, cols): (usize, Cols), s: crate::ir::Shape| match (cols, s.cols) {
        (Cols::Fixed(c), Cols::Fixed(d)) => (rows.max(s.rows), Cols::Fixed(c.max(d))),
        _ => (rows.max(s.rows), cols),
    };
    let mut order: Vec<usize> = (0..n).filter(|&i| needs_buffer(i)).collect();
    order.sort_by_key(|&i| {
        let s = g.nodes[i].shape;
        (std::cmp::Reverse(size((s.rows, s.cols))), i)
    });
    let mut buffer: Vec<Option<usize>> = vec![None; n];
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut buffers: Vec<(usize, Cols)> = Vec::new();
    for &i in &order {
        let shape = g.nodes[i].shape;
        let fits = |b: usize| {
            members[b].iter().all(|&j| {
                if j < i {
                    compatible(j, i)
                } else {
                    compatible(i, j)
                }
            })
        };
        // Whether the buffer holds a value this node reads for the last time (an element-wise
        // loop then overwrites it in place, touching one buffer instead of two).
        let in_place = |b: usize| members[b].iter().any(|&j| j < i && last_use[j] == i);
        // The buffer that grows the least, and only if that costs less than a new one.
        let best = (0..buffers.len())
            .filter(|&b| class(members[b][0]) == class(i) && fits(b))
            .map(|b| {
                let growth = size(grown(buffers[b], shape)) - size(buffers[b]);
                (growth, !in_place(b), size(buffers[b]), b)
            })
            .min()
            .filter(|&(growth, ..)| growth < size((shape.rows, shape.cols)));
        let b = match best {
            Some((.., b)) => {
                buffers[b] = grown(buffers[b], shape);
                b
            }
            None => {
                buffers.push((shape.rows, shape.cols));
                members.push(Vec::new());
                buffers.len() - 1
            }
        };
        members[b].push(i);
        buffer[i] = Some(b);
    }
    // Number the buffers by their first value.
    let mut first: Vec<(usize, usize)> = members
        .iter()
        .enumerate()
        .map(|(b, m)| (m.iter().copied().min().unwrap_or(n), b))
        .collect();
    first.sort_unstable();
    let mut renumber = vec![0; buffers.len()];
    for (new, &(_, old)) in first.iter().enumerate() {
        renumber[old] = new;
    }
    let buffers = first.iter().map(|&(_, old)| buffers[old]).collect();
    let buffer = buffer.into_iter().map(|b| b.map(|b| renumber[b])).collect();
    (buffer, buffers)
}

/// The plan as text: one line per buffered node, fusion groups, what the backward keeps, and
/// the totals.
pub fn render(g: &Graph, p: &Plan) -> String {
    let mut out = String::new();
    let name = |id: NodeId| match &g.nodes[id.index()].name {
        Some(n) => format!("%{} ({n})", id.0),
        None => format!("%{}", id.0),
    };
    let _ = writeln!(out, "plan {}:", g.name);
    for (i, b) in p.buffer.iter().enumerate() {
        let Some(b) = b else { continue };
        let group: Vec<String> = (0..i)
            .filter(|&j| p.fused_into[j] == Some(NodeId(i as u32)))
            .map(|j| format!("%{j}"))
            .collect();
        let fused = if group.is_empty() {
            String::new()
        } else {
            format!("  fuses {}", group.join(" "))
        };
        let _ = writeln!(
            out,
            "  {:<24} → buffer {b} ({}){fused}",
            name(NodeId(i as u32)),
            g.nodes[i].shape
        );
    }
    for (i, t) in p.tiny.iter().enumerate() {
        let form = match t {
            Some(Tiny::Cols { m, k }) => format!("{m}×{k} by columns"),
            Some(Tiny::Inner { m, n }) => format!("{m}×{n} over the inner dimension"),
            None => continue,
        };
        let _ = writeln!(
            out,
            "  {:<24} → straight-line product, {form}",
            name(NodeId(i as u32))
        );
    }
    for (i, _) in p.external.iter().enumerate().filter(|(_, e)| **e) {
        let _ = writeln!(
            out,
            "  {:<24} → the caller's gradients ({})",
            name(NodeId(i as u32)),
            g.nodes[i].shape
        );
    }
    let kept: Vec<String> = p.kept.iter().map(|k| name(*k)).collect();
    let _ = writeln!(
        out,
        "  backward keeps: {}",
        if kept.is_empty() {
            "nothing".to_string()
        } else {
            kept.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "  {} buffers: {} bytes per example and {} fixed bytes in f32 ({} and {} in f64)",
        p.buffers.len(),
        p.bytes_per_example(4),
        p.fixed_bytes(4),
        p.bytes_per_example(8),
        p.fixed_bytes(8)
    );
    out
}
