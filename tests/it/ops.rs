//! The IR interpreter (`nnspec::interp`): the per-op gradient table, op semantics against naive
//! loops, and errors as values.
//!
//! **The gradient table.** For every [`Op`] variant and every [`Unary`] variant there are one or
//! more small hand-built graphs `y = op(…)` over parameters, with the scalar loss
//! `L = SumRows(SumCols(y ⊙ W))` for a random data input `W` (so the cotangent reaching `y` is
//! not all ones). The gradients `∂L/∂p` that `dsl::ad::grad` builds, run through the
//! interpreter, must match central differences of `L` to a relative error below `1e-6`, on
//! random values from a safe domain (positive for `log`, `√`, `1/x`; away from the kinks of
//! ReLU, Heaviside, `|x|`, `rect` and HardSwish).
//!
//! No variant can go without a row: [`op_cases`] and [`unary_cases`] match every variant with
//! no wildcard, so a new op does not compile until it has a case, and
//! `every_variant_has_a_row` checks that [`ALL_OPS`] lists every variant (by the exhaustive
//! [`op_index`]; [`ALL_UNARY`] is `Unary::EXAMPLES`, complete by construction) and that each
//! variant's cases contain it.

use faer::Mat;
use nnspec::dsl::Span;
use nnspec::dsl::ir::conv::{Conv, ConvPart};
use nnspec::dsl::ir::extreme::{Ext, ExtPart, Extreme};
use nnspec::dsl::ir::pool::{Pool, PoolPart};
use nnspec::dsl::ir::{Cols, F64, Graph, NodeId, Op, Shape, Slot, Unary};
use nnspec::interp::{self, EvalError, GradCheck, SlotKind};

/// Batch size of the batched cases.
const B: usize = 3;
/// Central-difference step.
const EPS: f64 = 1e-5;
/// Largest relative error accepted between AD and central differences.
const TOL: f64 = 1e-6;

// ---------------------------------------------------------------------------------------------
// A tiny deterministic RNG (xorshift64), so the test needs no dependency.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Where a parameter's entries are drawn from.
#[derive(Clone, Copy, Debug)]
enum Dom {
    /// `[-2, 2]`.
    Any,
    /// `[0.5, 2]`: for `log`, `√`, `1/x`, denominators, non-integer powers.
    Pos,
    /// Entry `k` is `centers[k mod n] ± 0.3`: every piece of a piecewise function is hit, and
    /// every value stays at least 0.3 (≫ `EPS`) from a kink.
    Spread(&'static [f64]),
}

const AROUND_0: Dom = Dom::Spread(&[-1.5, -0.6, 0.6, 1.5]);
const AROUND_0_1: Dom = Dom::Spread(&[-0.6, 0.5, 1.6]);
const AROUND_3: Dom = Dom::Spread(&[-4.0, -1.5, 0.0, 1.5, 4.0]);

impl Rng {
    fn mat(&mut self, rows: usize, cols: usize, dom: Dom) -> Mat<f64> {
        let mut m = Mat::zeros(rows, cols);
        for j in 0..cols {
            for i in 0..rows {
                m[(i, j)] = match dom {
                    Dom::Any => self.uniform(-2.0, 2.0),
                    Dom::Pos => self.uniform(0.5, 2.0),
                    Dom::Spread(c) => c[(j * rows + i) % c.len()] + self.uniform(-0.3, 0.3),
                };
            }
        }
        m
    }
}

// ---------------------------------------------------------------------------------------------
// Building small graphs by hand.

/// One row of the table: a graph with loss output `L` (and `y`, the op's result), and values
/// for its inputs and parameters.
struct Case {
    name: String,
    g: Graph,
    inputs: Vec<Mat<f64>>,
    params: Vec<Mat<f64>>,
}

struct Build<'r> {
    name: String,
    g: Graph,
    inputs: Vec<Mat<f64>>,
    params: Vec<Mat<f64>>,
    rng: &'r mut Rng,
}

impl Build<'_> {
    fn push(&mut self, op: Op, args: &[NodeId], declared: Shape) -> NodeId {
        match self.g.push(op, args.to_vec(), declared, Span::default()) {
            Ok(id) => id,
            Err(e) => panic!("{}: {op:?}: {e}", self.name),
        }
    }

    /// A node whose shape follows from its arguments.
    fn op(&mut self, op: Op, args: &[NodeId]) -> NodeId {
        let declared = args.first().map_or(Shape::SCALAR, |a| self.g.shape(*a));
        self.push(op, args, declared)
    }

    fn bcast(&mut self, x: NodeId, to: Shape) -> NodeId {
        self.push(Op::Broadcast, &[x], to)
    }

    fn param(&mut self, name: &str, rows: usize, cols: usize, dom: Dom) -> NodeId {
        let shape = Shape::fixed(rows, cols);
        let id = self.push(Op::Param(self.g.params.len() as u32), &[], shape);
        self.g.params.push(Slot {
            name: name.into(),
            shape,
            labels: None,
            entry_labels: None,
            group: None,
            node: id,
            role: nnspec::dsl::ir::Role::Param,
            dist: None,
        });
        self.params.push(self.rng.mat(rows, cols, dom));
        id
    }

    fn input(
        &mut self,
        name: &str,
        shape: Shape,
        value: Mat<f64>,
        labels: Option<(i32, usize)>,
    ) -> NodeId {
        let id = self.push(Op::Input(self.g.inputs.len() as u32), &[], shape);
        self.g.inputs.push(Slot {
            name: name.into(),
            shape,
            labels,
            entry_labels: None,
            group: None,
            node: id,
            role: nnspec::dsl::ir::Role::Input,
            dist: None,
        });
        self.inputs.push(value);
        id
    }

    /// A batch `rows × B` of data.
    fn data(&mut self, name: &str, rows: usize, dom: Dom) -> NodeId {
        let value = self.rng.mat(rows, B, dom);
        self.input(name, Shape::batch(rows), value, None)
    }

    /// A `1 × cols` input of random class labels `lo, …, lo + classes - 1`.
    fn labels(&mut self, name: &str, lo: i32, classes: usize, cols: Cols) -> NodeId {
        let c = match cols {
            Cols::Fixed(c) => c,
            Cols::Batch(n) => n * B,
        };
        let value = Mat::from_fn(1, c, |_, _| f64::from(lo) + self.rng.below(classes) as f64);
        self.input(name, Shape { rows: 1, cols }, value, Some((lo, classes)))
    }

    /// `L = SumRows(SumCols(y ⊙ W))` for a random data input `W` of `y`'s shape.
    fn finish(mut self, y: NodeId) -> Case {
        let shape = self.g.shape(y);
        let c = match shape.cols {
            Cols::Fixed(c) => c,
            Cols::Batch(n) => n * B,
        };
        let value = self.rng.mat(shape.rows, c, Dom::Any);
        let w = self.input("W", shape, value, None);
        let yw = self.op(Op::Mul, &[y, w]);
        let s = self.op(Op::SumCols, &[yw]);
        let loss = self.op(Op::SumRows, &[s]);
        self.g.outputs.push(("y".into(), y));
        self.g.outputs.push(("L".into(), loss));
        Case {
            name: self.name,
            g: self.g,
            inputs: self.inputs,
            params: self.params,
        }
    }
}

/// Builds one case: `body` returns `y`.
fn case(name: &str, rng: &mut Rng, body: impl FnOnce(&mut Build<'_>) -> NodeId) -> Case {
    let mut b = Build {
        name: name.into(),
        g: Graph {
            name: name.into(),
            ..Graph::default()
        },
        inputs: Vec::new(),
        params: Vec::new(),
        rng,
    };
    let y = body(&mut b);
    b.finish(y)
}

/// `W·X` for a parameter `W` (`rows × 3`) and a data batch `X` (`3 × B`): a batched value that
/// depends on a parameter.
fn wx(b: &mut Build<'_>, rows: usize) -> NodeId {
    let w = b.param("W₁", rows, 3, Dom::Any);
    let x = b.data("X", 3, Dom::Any);
    b.op(
        Op::MatMul {
            ta: false,
            tb: false,
        },
        &[w, x],
    )
}

/// The cases of the ops that know the columns of each example.
fn per_example_cases(op: Op, rng: &mut Rng) -> Vec<Case> {
    match op {
        Op::ExampleMatMul { .. } => {
            let emm = |ta, tb| Op::ExampleMatMul { ta, tb };
            let mut v = Vec::new();
            for ta in [false, true] {
                for tb in [false, true] {
                    let (ar, ac) = if ta { (4, 3) } else { (3, 4) };
                    let (br, bc) = if tb { (2, 4) } else { (4, 2) };
                    let name = format!(
                        "example_matmul {}·{}: per example",
                        if ta { "Aᵀ" } else { "A" },
                        if tb { "Bᵀ" } else { "B" }
                    );
                    v.push(case(&name, rng, |b| {
                        let a = w_blocks(b, "A", ar, ac);
                        let bb = w_blocks(b, "B", br, bc);
                        b.op(emm(ta, tb), &[a, bb])
                    }));
                }
            }
            v.push(case(
                "example_matmul: X ω, a vector per example",
                rng,
                |b| {
                    let x = w_blocks(b, "X", 3, 4);
                    let w = w_blocks(b, "ω", 4, 1);
                    b.op(emm(false, false), &[x, w])
                },
            ));
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                // A fixed right operand (X Ω), or a fixed left one read transposed or
                // against a transposed block (what a plain product is not).
                let name = format!("example_matmul {ta} {tb}: one fixed operand");
                v.push(case(&name, rng, |b| match (ta, tb) {
                    (false, false) => {
                        let x = w_blocks(b, "X", 3, 4);
                        let w = b.param("Ω", 4, 2, Dom::Any);
                        b.op(emm(false, false), &[x, w])
                    }
                    (true, false) => {
                        let w = b.param("Ω", 3, 2, Dom::Any);
                        let x = w_blocks(b, "X", 3, 4);
                        b.op(emm(true, false), &[w, x])
                    }
                    _ => {
                        let w = b.param("Ω", 2, 4, Dom::Any);
                        let x = w_blocks(b, "X", 3, 4);
                        b.op(emm(false, true), &[w, x])
                    }
                }));
            }
            v.push(case(
                "example_matmul: Xᵀ X, one value on both sides",
                rng,
                |b| {
                    let x = w_blocks(b, "X", 3, 2);
                    b.op(emm(true, false), &[x, x])
                },
            ));
            v
        }
        Op::ExampleCol(_) => (0..3)
            .map(|k| {
                case(&format!("example_col[{k}]: 2×3 per example"), rng, |b| {
                    let x = w_blocks(b, "X", 2, 3);
                    b.op(Op::ExampleCol(k), &[x])
                })
            })
            .collect(),
        Op::PlaceExampleCol { .. } => vec![case("place_example_col[1, 3]: W X", rng, |b| {
            let x = wx(b, 2);
            b.op(Op::PlaceExampleCol { k: 1, n: 3 }, &[x])
        })],
        Op::SumExamples => vec![case("sum_examples: 3×2 per example", rng, |b| {
            let x = w_blocks(b, "X", 3, 2);
            b.op(Op::SumExamples, &[x])
        })],
        Op::TileExamples => vec![case("tile_examples: p (3×2) in every example", rng, |b| {
            let p = b.param("p", 3, 2, Dom::Any);
            b.push(Op::TileExamples, &[p], Shape::batch_matrix(3, 2))
        })],
        Op::ExampleTranspose => vec![case("example_transpose: 3×2 per example", rng, |b| {
            let x = w_blocks(b, "X", 3, 2);
            b.op(Op::ExampleTranspose, &[x])
        })],
        _ => Vec::new(),
    }
}

/// Diagonal matrices (`diag[v]` and its diagonal read back), the masked softmax with a mask
/// per example and one shared by every example, and a constant table.
fn graph_cases(op: Op, rng: &mut Rng) -> Vec<Case> {
    // A 0/1 mask with a few zeros and a non-zero diagonal.
    let mask = |i: usize, j: usize| f64::from(u8::from((i + 2 * j) % 3 != 1 || i == j % 3));
    match op {
        Op::Diag => vec![
            case("diag: W X per example", rng, |b| {
                let x = wx(b, 3);
                b.op(Op::Diag, &[x])
            }),
            case("diag: a fixed p (3×1)", rng, |b| {
                let p = b.param("p", 3, 1, Dom::Any);
                b.op(Op::Diag, &[p])
            }),
        ],
        Op::DiagPart => vec![case("diag_part: 3×3 per example", rng, |b| {
            let x = w_blocks(b, "X", 3, 3);
            b.op(Op::DiagPart, &[x])
        })],
        Op::Softmask => vec![
            case("softmask: a mask per example", rng, |b| {
                let s = w_blocks(b, "S", 3, 3);
                let m = b.input(
                    "M",
                    Shape::batch_matrix(3, 3),
                    Mat::from_fn(3, 3 * B, mask),
                    None,
                );
                b.op(Op::Softmask, &[s, m])
            }),
            case("softmask: one mask for every example", rng, |b| {
                let s = w_blocks(b, "S", 3, 3);
                let m = b.input("M", Shape::fixed(3, 3), Mat::from_fn(3, 3, mask), None);
                b.op(Op::Softmask, &[s, m])
            }),
        ],
        _ => vec![case("table: p ⊙ a 3×2 table", rng, |b| {
            b.g.tables.push(vec![0.5, -1.0, 2.0, 0.25, 3.0, -0.75]);
            let t = b.push(Op::Table(0), &[], Shape::fixed(3, 2));
            let p = b.param("p", 3, 2, Dom::Any);
            b.op(Op::Mul, &[p, t])
        })],
    }
}

/// Each part of a convolution at three 1-D geometries (padded, strided, dilated) and three
/// 2-D ones (eq. 10.6 padded; strided and dilated with a 3×2 kernel; channels in rows), every
/// operand depending on a parameter.
/// 2×2 max pooling: `MaxPool[h] = pick(h, h)`, `pick` with another value picked, and the
/// placing part, on 4×4 images per example (products of random values: no ties), and with
/// channels in rows, three channels of 2×4 images.
fn pool_cases(rng: &mut Rng) -> Vec<Case> {
    let op = |part| Op::MaxPool(Pool { part, image: None });
    let chan = |part| {
        Op::MaxPool(Pool {
            part,
            image: Some([2, 4]),
        })
    };
    vec![
        case(
            "maxpool2x2 with channels: pick(h, h), 3×2×4 per example",
            rng,
            |b| {
                let h = w_blocks(b, "H", 3, 8);
                b.op(chan(PoolPart::Pick), &[h, h])
            },
        ),
        case("maxpool2x2_place with channels: place(x, g)", rng, |b| {
            let x = w_blocks(b, "X", 3, 8);
            let g = w_blocks(b, "G", 3, 2);
            b.op(chan(PoolPart::Place), &[x, g])
        }),
        case("maxpool2x2: pick(h, h), 4×4 per example", rng, |b| {
            let h = w_blocks(b, "H", 4, 4);
            b.op(op(PoolPart::Pick), &[h, h])
        }),
        case("maxpool2x2: pick(x, h)", rng, |b| {
            let x = w_blocks(b, "X", 4, 2);
            let h = w_blocks(b, "H", 4, 2);
            b.op(op(PoolPart::Pick), &[x, h])
        }),
        case("maxpool2x2_place: place(x, g)", rng, |b| {
            let x = w_blocks(b, "X", 4, 4);
            let g = w_blocks(b, "G", 2, 2);
            b.op(op(PoolPart::Place), &[x, g])
        }),
    ]
}

/// The maximum over each node's neighbours (eq. 13.21) and its parts: `MaxNe[H, A] =
/// pick(H, A, H)`, `pick` with another value picked, and the placing part, with an
/// adjacency per example (node 4 of the first example has no neighbour, node 1 of the second
/// is its own) and one shared by every example (random values: no ties).
fn max_ne_cases(rng: &mut Rng) -> Vec<Case> {
    let op = Op::MaxNe;
    let edge = |m: usize, j: usize| {
        let (e, n) = (j / 4, j % 4);
        let on = match e % 2 {
            0 => m != n && m < 3 && n < 3,
            _ => (m + n) % 2 == 1 || m + n == 0,
        };
        f64::from(u8::from(on))
    };
    let per = |b: &mut Build<'_>| {
        b.input(
            "A",
            Shape::batch_matrix(4, 4),
            Mat::from_fn(4, 4 * B, edge),
            None,
        )
    };
    vec![
        case("max_ne: MaxNe[H, A], an adjacency per example", rng, |b| {
            let h = w_blocks(b, "H", 3, 4);
            let a = per(b);
            b.op(op(PoolPart::Pick), &[h, a, h])
        }),
        case(
            "max_ne: pick(H, A, X), one adjacency for every example",
            rng,
            |b| {
                let (h, x) = (w_blocks(b, "H", 3, 4), w_blocks(b, "X", 3, 4));
                let a = b.input("A", Shape::fixed(4, 4), Mat::from_fn(4, 4, edge), None);
                b.op(op(PoolPart::Pick), &[h, a, x])
            },
        ),
        case("max_ne_place: place(H, A, G)", rng, |b| {
            let (h, g) = (w_blocks(b, "H", 3, 4), w_blocks(b, "G", 3, 4));
            let a = per(b);
            b.op(op(PoolPart::Place), &[h, a, g])
        }),
    ]
}

/// `max`/`min` of two values and the parts of their gradient: `max[a, b] = pick(a, b, a, b)`,
/// `pick` with other values picked, and the two placing parts, for the maximum and the
/// minimum (random values: no ties).
fn extreme_cases(rng: &mut Rng) -> Vec<Case> {
    let mut v = Vec::new();
    for which in [Extreme::Max, Extreme::Min] {
        let op = |part| Op::Extreme(Ext { which, part });
        let w = which.word();
        v.push(case(&format!("{w}_pick: {w}[a, b]"), rng, |b| {
            let a = scaled(b, "p", 3);
            let c = scaled(b, "q", 3);
            b.op(op(ExtPart::Pick), &[a, c, a, c])
        }));
        v.push(case(&format!("{w}_pick: pick(x, y, h, k)"), rng, |b| {
            let (x, y) = (scaled(b, "p", 3), scaled(b, "q", 3));
            let (h, k) = (scaled(b, "r", 3), scaled(b, "s", 3));
            b.op(op(ExtPart::Pick), &[x, y, h, k])
        }));
        for (part, name) in [(ExtPart::First, "first"), (ExtPart::Second, "second")] {
            v.push(case(
                &format!("{w}_place_{name}: place(x, y, g)"),
                rng,
                |b| {
                    let (x, y) = (scaled(b, "p", 3), scaled(b, "q", 3));
                    let g = scaled(b, "r", 3);
                    b.op(op(part), &[x, y, g])
                },
            ));
        }
    }
    v
}

fn conv_cases(rng: &mut Rng) -> Vec<Case> {
    let signal = |k, pad, stride, dil, n_in, n_out| Conv {
        k: [k, 1],
        pad: [pad, 0],
        stride: [stride, 1],
        dil: [dil, 1],
        n_in: [n_in, 1],
        n_out: [n_out, 1],
        ..CONV
    };
    let image = Conv {
        k: [3, 3],
        pad: [1, 1],
        n_in: [4, 5],
        n_out: [4, 5],
        ..CONV
    };
    let geoms = [
        CONV,
        signal(3, 0, 2, 1, 7, 3),
        signal(2, 1, 1, 2, 6, 4),
        image,
        Conv {
            k: [3, 2],
            pad: [1, 0],
            stride: [2, 1],
            dil: [1, 2],
            n_in: [5, 4],
            n_out: [3, 2],
            ..CONV
        },
        Conv {
            c_in: 2,
            c_out: 3,
            chan_rows: true,
            n_in: [3, 4],
            n_out: [3, 4],
            ..image
        },
    ];
    let mut v = Vec::new();
    for c in geoms {
        let kernel = if c.chan_rows {
            (c.c_out as usize, (c.c_in * c.k[0] * c.k[1]) as usize)
        } else {
            (c.k[0] as usize, c.k[1] as usize)
        };
        let image = move |b: &mut Build<'_>, name: &str, ch: u32, n: [u32; 2]| {
            let (ch, n0, n1) = (ch as usize, n[0] as usize, n[1] as usize);
            match (c.chan_rows, n1) {
                (false, 1) => scaled(b, name, n0),
                (false, _) => w_blocks(b, name, n0, n1),
                (true, _) => w_blocks(b, name, ch, n0 * n1),
            }
        };
        v.push(case(&format!("{}: Ω ⋆ X(p)", c.name()), rng, |b| {
            let w = b.param("Ω", kernel.0, kernel.1, Dom::Any);
            let x = image(b, "p", c.c_in, c.n_in);
            b.op(Op::Conv(c), &[w, x])
        }));
        let ci = Conv {
            part: ConvPart::Input,
            ..c
        };
        v.push(case(&format!("{}: (Ω, G(q))", ci.name()), rng, |b| {
            let w = b.param("Ω", kernel.0, kernel.1, Dom::Any);
            let g = image(b, "q", c.c_out, c.n_out);
            b.op(Op::Conv(ci), &[w, g])
        }));
        let ck = Conv {
            part: ConvPart::Kernel,
            ..c
        };
        v.push(case(&format!("{}: (X(p), G(q))", ck.name()), rng, |b| {
            let x = image(b, "p", c.c_in, c.n_in);
            let g = image(b, "q", c.c_out, c.n_out);
            b.op(Op::Conv(ck), &[x, g])
        }));
    }
    v
}

/// `W X` for a parameter `W` (`rows × 2`) and data `X` (`2 × nB`): a matrix `rows × n` per
/// example that depends on every entry of a parameter.
fn w_blocks(b: &mut Build<'_>, name: &str, rows: usize, n: usize) -> NodeId {
    let w = b.param(&format!("W_{name}"), rows, 2, Dom::Any);
    let value = b.rng.mat(2, n * B, Dom::Any);
    let x = b.input(&format!("X_{name}"), Shape::batch_matrix(2, n), value, None);
    b.op(
        Op::MatMul {
            ta: false,
            tb: false,
        },
        &[w, x],
    )
}

/// `bcast(p) ⊙ X`: a `rows × B` batch scaled row-wise by a parameter `p` (`rows × 1`).
fn scaled(b: &mut Build<'_>, name: &str, rows: usize) -> NodeId {
    let p = b.param(name, rows, 1, Dom::Any);
    let x = b.data(&format!("X_{name}"), rows, Dom::Any);
    let pb = b.bcast(p, Shape::batch(rows));
    b.op(Op::Mul, &[pb, x])
}

// ---------------------------------------------------------------------------------------------
// The variant lists.

/// One representative of every [`Op`] variant, in [`op_index`] order.
const ALL_OPS: [Op; OP_COUNT] = [
    Op::Input(0),
    Op::Param(0),
    Op::Const(F64(2.5)),
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Unary(Unary::Tanh),
    Op::Broadcast,
    Op::SumRows,
    Op::SumCols,
    Op::MatMul {
        ta: false,
        tb: false,
    },
    Op::Transpose,
    Op::Softmax,
    Op::LogSumExp,
    Op::Row(1),
    Op::PickLabel { lo: -1 },
    Op::OneHot { rows: 4, lo: -1 },
    Op::PlaceRow { k: 1, rows: 3 },
    Op::StopGradient,
    Op::SumExampleCols,
    Op::ExampleMatMul {
        ta: false,
        tb: false,
    },
    Op::ExampleTranspose,
    Op::ExampleCol(1),
    Op::PlaceExampleCol { k: 1, n: 3 },
    Op::SumExamples,
    Op::TileExamples,
    Op::Conv(CONV),
    Op::ConcatRows,
    Op::SliceRows { start: 1, rows: 2 },
    Op::Identity,
    Op::MaxPool(Pool {
        part: PoolPart::Pick,
        image: None,
    }),
    Op::Reshape { rows: 6, cols: 1 },
    Op::BatchStat { slot: 0 },
    Op::Diag,
    Op::DiagPart,
    Op::Softmask,
    Op::Table(0),
    Op::Extreme(Ext {
        which: Extreme::Max,
        part: ExtPart::Pick,
    }),
    Op::MaxNe(PoolPart::Pick),
];

/// The number of [`Op`] variants.
const OP_COUNT: usize = 40;

/// The book's kernel of three with zero padding over 5 entries (eq. 10.4).
const CONV: Conv = Conv {
    part: ConvPart::Forward,
    c_in: 1,
    c_out: 1,
    k: [3, 1],
    pad: [1, 0],
    stride: [1, 1],
    dil: [1, 1],
    n_in: [5, 1],
    n_out: [5, 1],
    chan_rows: false,
};

/// The position of an op's variant in [`ALL_OPS`]. Exhaustive: a new variant gets the next
/// index here, an entry in [`ALL_OPS`] (and `OP_COUNT` goes up by one).
fn op_index(op: &Op) -> usize {
    match op {
        Op::Input(_) => 0,
        Op::Param(_) => 1,
        Op::Const(_) => 2,
        Op::Add => 3,
        Op::Sub => 4,
        Op::Mul => 5,
        Op::Div => 6,
        Op::Unary(_) => 7,
        Op::Broadcast => 8,
        Op::SumRows => 9,
        Op::SumCols => 10,
        Op::MatMul { .. } => 11,
        Op::Transpose => 12,
        Op::Softmax => 13,
        Op::LogSumExp => 14,
        Op::Row(_) => 15,
        Op::PickLabel { .. } => 16,
        Op::OneHot { .. } => 17,
        Op::PlaceRow { .. } => 18,
        Op::StopGradient => 19,
        Op::SumExampleCols => 20,
        Op::ExampleMatMul { .. } => 21,
        Op::ExampleTranspose => 22,
        Op::ExampleCol(_) => 23,
        Op::PlaceExampleCol { .. } => 24,
        Op::SumExamples => 25,
        Op::TileExamples => 26,
        Op::Conv(_) => 27,
        Op::ConcatRows => 28,
        Op::SliceRows { .. } => 29,
        Op::Identity => 30,
        Op::MaxPool(_) => 31,
        Op::Reshape { .. } => 32,
        Op::BatchStat { .. } => 33,
        Op::Diag => 34,
        Op::DiagPart => 35,
        Op::Softmask => 36,
        Op::Table(_) => 37,
        Op::Extreme(_) => 38,
        Op::MaxNe(_) => 39,
    }
}

/// One representative of every [`Unary`] variant: the list `nnspec-ops` declares with the enum,
/// so it cannot miss one.
const ALL_UNARY: &[Unary] = Unary::EXAMPLES;

/// The position of a function's variant in [`ALL_UNARY`].
fn unary_index(u: &Unary) -> usize {
    ALL_UNARY
        .iter()
        .position(|v| std::mem::discriminant(v) == std::mem::discriminant(u))
        .expect("every variant has an example")
}

// ---------------------------------------------------------------------------------------------
// The rows.

/// The cases for one op variant (the variant's payload is an example; the cases cover its
/// other forms too). Exhaustive: a new op does not compile until it has cases here.
fn op_cases(op: Op, rng: &mut Rng) -> Vec<Case> {
    let mm = |ta, tb| Op::MatMul { ta, tb };
    match op {
        Op::Input(_) => vec![case("input: X ⊙ bcast(p)", rng, |b| scaled(b, "p", 4))],
        Op::Param(_) => vec![
            case("param: p", rng, |b| b.param("p", 3, 2, Dom::Any)),
            case("param: scalar p", rng, |b| b.param("p", 1, 1, Dom::Any)),
        ],
        Op::Identity => vec![case("identity: P (3×3) + I", rng, |b| {
            let p = b.param("p", 3, 3, Dom::Any);
            let eye = b.push(Op::Identity, &[], Shape::fixed(3, 3));
            let sum = b.op(Op::Add, &[p, eye]);
            b.op(Op::Mul, &[sum, sum])
        })],
        Op::Const(F64(c)) => vec![
            case("const: p ⊙ c", rng, |b| {
                let p = b.param("p", 3, 2, Dom::Any);
                let k = b.push(Op::Const(F64(c)), &[], Shape::fixed(3, 2));
                b.op(Op::Mul, &[p, k])
            }),
            case("const: batched c + X ⊙ bcast(p)", rng, |b| {
                let x = scaled(b, "p", 2);
                let k = b.push(Op::Const(F64(-c)), &[], Shape::batch(2));
                b.op(Op::Add, &[k, x])
            }),
        ],
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            let den = if op == Op::Div { Dom::Pos } else { Dom::Any };
            vec![
                case(&format!("{op}: p, q"), rng, |b| {
                    let p = b.param("p", 3, 2, Dom::Any);
                    let q = b.param("q", 3, 2, den);
                    b.op(op, &[p, q])
                }),
                // A parameter used twice (so its cotangents add up): `(p + q)/p` for Div,
                // `op(p ⊙ q, p)` otherwise (neither has a zero gradient).
                case(&format!("{op}: shared argument"), rng, |b| {
                    let p = b.param("p", 3, 2, den);
                    let q = b.param("q", 3, 2, den);
                    let first = if op == Op::Div {
                        b.op(Op::Add, &[p, q])
                    } else {
                        b.op(Op::Mul, &[p, q])
                    };
                    b.op(op, &[first, p])
                }),
                case(&format!("{op}: batched"), rng, |b| {
                    let x = scaled(b, "p", 2);
                    let q = b.param("q", 2, 1, den);
                    let qb = b.bcast(q, Shape::batch(2));
                    b.op(op, &[x, qb])
                }),
            ]
        }
        Op::Unary(u) => unary_cases(u, rng),
        Op::Broadcast => {
            let mut v = Vec::new();
            for (from, to) in [
                (Shape::fixed(1, 1), Shape::fixed(3, 2)),
                (Shape::fixed(3, 1), Shape::fixed(3, 2)),
                (Shape::fixed(1, 2), Shape::fixed(3, 2)),
                (Shape::fixed(1, 1), Shape::batch(2)),
                (Shape::fixed(3, 1), Shape::batch(3)),
            ] {
                let Cols::Fixed(c) = from.cols else {
                    unreachable!()
                };
                v.push(case(&format!("broadcast {from} → {to}"), rng, |b| {
                    let p = b.param("p", from.rows, c, Dom::Any);
                    b.bcast(p, to)
                }));
            }
            v.push(case(
                "broadcast 3×B → 3×2B (per example, to its columns)",
                rng,
                |b| {
                    let x = scaled(b, "p", 3);
                    b.bcast(x, Shape::batch_matrix(3, 2))
                },
            ));
            v.push(case(
                "broadcast 3×1 → 3×2B (a bias to every column)",
                rng,
                |b| {
                    let p = b.param("p", 3, 1, Dom::Any);
                    b.bcast(p, Shape::batch_matrix(3, 2))
                },
            ));
            v.push(case("broadcast 1×B → 3×B", rng, |b| {
                let x = scaled(b, "p", 2);
                let s = b.op(Op::SumRows, &[x]);
                b.bcast(s, Shape::batch(3))
            }));
            v
        }
        Op::SumExampleCols => vec![case("sum_example_cols: 3×2 per example", rng, |b| {
            let p = b.param("p", 3, 1, Dom::Any);
            let value = b.rng.mat(3, 2 * B, Dom::Any);
            let x = b.input("X", Shape::batch_matrix(3, 2), value, None);
            let pb = b.bcast(p, Shape::batch_matrix(3, 2));
            let px = b.op(Op::Mul, &[pb, x]);
            b.op(Op::SumExampleCols, &[px])
        })],
        Op::SumRows | Op::SumCols => vec![
            case(&format!("{op}: fixed"), rng, |b| {
                let p = b.param("p", 3, 2, Dom::Any);
                b.op(op, &[p])
            }),
            case(&format!("{op}: batched"), rng, |b| {
                let x = scaled(b, "p", 3);
                b.op(op, &[x])
            }),
        ],
        Op::MatMul { .. } => {
            let mut v = Vec::new();
            for ta in [false, true] {
                for tb in [false, true] {
                    let (ar, ac) = if ta { (4, 3) } else { (3, 4) };
                    let (br, bc) = if tb { (2, 4) } else { (4, 2) };
                    let name = format!(
                        "matmul {}·{}: fixed",
                        if ta { "Aᵀ" } else { "A" },
                        if tb { "Bᵀ" } else { "B" }
                    );
                    v.push(case(&name, rng, |b| {
                        let a = b.param("A", ar, ac, Dom::Any);
                        let bb = b.param("B", br, bc, Dom::Any);
                        b.op(mm(ta, tb), &[a, bb])
                    }));
                }
            }
            v.push(case("matmul: W X", rng, |b| wx(b, 2)));
            v.push(case("matmul: W (X ⊙ bcast(q))", rng, |b| {
                let w = b.param("W", 2, 3, Dom::Any);
                let x = scaled(b, "q", 3);
                b.op(mm(false, false), &[w, x])
            }));
            v.push(case("matmul ·ᵀ: over the batch", rng, |b| {
                let x = scaled(b, "p", 3);
                let z = scaled(b, "q", 2);
                b.op(mm(false, true), &[x, z])
            }));
            v.push(case("matmul ᵀ·: Aᵀ (X ⊙ bcast(q))", rng, |b| {
                let a = b.param("A", 3, 2, Dom::Any);
                let x = scaled(b, "q", 3);
                b.op(mm(true, false), &[a, x])
            }));
            v
        }
        Op::ExampleMatMul { .. }
        | Op::ExampleCol(_)
        | Op::PlaceExampleCol { .. }
        | Op::SumExamples
        | Op::TileExamples
        | Op::ExampleTranspose => per_example_cases(op, rng),
        Op::Conv(_) => conv_cases(rng),
        Op::Diag | Op::DiagPart | Op::Softmask | Op::Table(_) => graph_cases(op, rng),
        Op::MaxPool(_) => pool_cases(rng),
        Op::Extreme(_) => extreme_cases(rng),
        Op::MaxNe(_) => max_ne_cases(rng),
        Op::Reshape { .. } => vec![
            case(
                "reshape[6×1]: vec of a 3×2 matrix per example",
                rng,
                |b| {
                    let x = w_blocks(b, "X", 3, 2);
                    b.op(Op::Reshape { rows: 6, cols: 1 }, &[x])
                },
            ),
            case(
                "reshape[2×3]: a batched 6×B to 2×3 per example",
                rng,
                |b| {
                    let x = wx(b, 6);
                    b.op(Op::Reshape { rows: 2, cols: 3 }, &[x])
                },
            ),
        ],
        Op::Transpose => vec![
            case("transpose 3×2", rng, |b| {
                let p = b.param("p", 3, 2, Dom::Any);
                b.op(Op::Transpose, &[p])
            }),
            case("transpose 1×3", rng, |b| {
                let p = b.param("p", 1, 3, Dom::Any);
                b.op(Op::Transpose, &[p])
            }),
        ],
        Op::Softmax | Op::LogSumExp => vec![
            case(&format!("{op}: fixed"), rng, |b| {
                let p = b.param("p", 4, 2, Dom::Any);
                b.op(op, &[p])
            }),
            case(&format!("{op}: batched"), rng, |b| {
                let x = wx(b, 4);
                b.op(op, &[x])
            }),
        ],
        Op::ConcatRows => vec![
            case("concat_rows: fixed 3×2 over 1×2", rng, |b| {
                let p = b.param("p", 3, 2, Dom::Any);
                let q = b.param("q", 1, 2, Dom::Any);
                b.op(Op::ConcatRows, &[p, q])
            }),
            case("concat_rows: batched, three blocks", rng, |b| {
                let x = wx(b, 2);
                let y = scaled(b, "q", 3);
                b.op(Op::ConcatRows, &[x, y, x])
            }),
            case("concat_rows: 3×2 and 2×2 per example", rng, |b| {
                let x = w_blocks(b, "X", 3, 2);
                let y = w_blocks(b, "Y", 2, 2);
                b.op(Op::ConcatRows, &[x, y])
            }),
        ],
        Op::SliceRows { start, rows } => vec![
            case(
                &format!("slice_rows[{start}, {rows}]: fixed 4×2"),
                rng,
                |b| {
                    let p = b.param("p", 4, 2, Dom::Any);
                    b.op(Op::SliceRows { start, rows }, &[p])
                },
            ),
            case("slice_rows[0, 1]: batched", rng, |b| {
                let x = wx(b, 3);
                b.op(Op::SliceRows { start: 0, rows: 1 }, &[x])
            }),
            case("slice_rows[2, 2]: 4×2 per example", rng, |b| {
                let x = w_blocks(b, "X", 4, 2);
                b.op(Op::SliceRows { start: 2, rows: 2 }, &[x])
            }),
        ],
        Op::Row(k) => vec![
            case(&format!("row[{k}]: fixed"), rng, |b| {
                let p = b.param("p", 3, 2, Dom::Any);
                b.op(Op::Row(k), &[p])
            }),
            case("row[0]: batched", rng, |b| {
                let x = wx(b, 2);
                b.op(Op::Row(0), &[x])
            }),
        ],
        Op::PickLabel { lo } => vec![
            case(&format!("pick_label[{lo}]: batched"), rng, |b| {
                let x = wx(b, 4);
                let y = b.labels("y", lo, 4, Cols::EXAMPLE);
                b.op(Op::PickLabel { lo }, &[x, y])
            }),
            case("pick_label[2]: fixed", rng, |b| {
                let p = b.param("p", 3, 2, Dom::Any);
                let y = b.labels("y", 2, 3, Cols::Fixed(2));
                b.op(Op::PickLabel { lo: 2 }, &[p, y])
            }),
        ],
        Op::OneHot { rows, lo } => vec![case(&format!("{op} ⊙ W X"), rng, |b| {
            let x = wx(b, rows as usize);
            let y = b.labels("y", lo, rows as usize, Cols::EXAMPLE);
            let h = b.op(op, &[y]);
            b.op(Op::Mul, &[h, x])
        })],
        Op::PlaceRow { k, rows } => vec![
            case(&format!("{op}: fixed"), rng, |b| {
                let p = b.param("p", 1, 2, Dom::Any);
                b.op(op, &[p])
            }),
            case("place_row[0, 2]: batched", rng, |b| {
                let x = scaled(b, "q", 3);
                let s = b.op(Op::SumRows, &[x]);
                b.op(Op::PlaceRow { k: 0, rows: 2 }, &[s])
            }),
            case(&format!("place_row ∘ row[{k}]"), rng, |b| {
                let p = b.param("p", rows as usize, 2, Dom::Any);
                let r = b.op(Op::Row(k), &[p]);
                b.op(Op::PlaceRow { k, rows }, &[r])
            }),
        ],
        Op::StopGradient => vec![
            case("stop_gradient: sg(p) ⊙ p", rng, |b| {
                let p = b.param("p", 3, 2, Dom::Any);
                let s = b.op(Op::StopGradient, &[p]);
                b.op(Op::Mul, &[s, p])
            }),
            case(
                "stop_gradient: batched sg(X ⊙ bcast(p)) ⊙ bcast(q)",
                rng,
                |b| {
                    let x = scaled(b, "p", 2);
                    let s = b.op(Op::StopGradient, &[x]);
                    let q = b.param("q", 2, 1, Dom::Any);
                    let qb = b.bcast(q, Shape::batch(2));
                    let sq = b.op(Op::Mul, &[s, qb]);
                    b.op(Op::Add, &[sq, x])
                },
            ),
        ],
        // Training mode: the statistic of the batch, its gradient passed through.
        Op::BatchStat { .. } => vec![case(
            "batch_stat: stat(∑_cols X ⊙ bcast(p)) ⊙ q",
            rng,
            |b| {
                let x = scaled(b, "p", 3);
                let m = b.op(Op::SumCols, &[x]);
                let shape = b.g.shape(m);
                b.g.stats.push(nnspec::dsl::ir::Stat {
                    name: "m_1".into(),
                    shape,
                    init: 0.0,
                });
                let s = b.op(Op::BatchStat { slot: 0 }, &[m]);
                let q = b.param("q", 3, 1, Dom::Any);
                b.op(Op::Mul, &[s, q])
            },
        )],
    }
}

/// The cases for one element-wise function. Exhaustive: each function names its safe domain
/// and whether its derivative is zero almost everywhere (then `y = f(p) ⊙ q`, so the
/// gradient with respect to `q` checks the function's values).
fn unary_cases(u: Unary, rng: &mut Rng) -> Vec<Case> {
    let (dom, flat) = match u {
        Unary::Neg | Unary::Exp | Unary::Sin | Unary::Cos | Unary::Tanh => (Dom::Any, false),
        Unary::Sig | Unary::Softplus => (Dom::Any, false),
        Unary::Log | Unary::Sqrt | Unary::Recip => (Dom::Pos, false),
        Unary::Relu | Unary::LRelu(_) | Unary::Abs => (AROUND_0, false),
        Unary::Heaviside | Unary::Sign => (AROUND_0, true),
        Unary::Rect => (AROUND_0_1, true),
        Unary::HardSwish | Unary::HardSwishGrad => (AROUND_3, false),
        Unary::Powf(_) => (Dom::Any, false),
    };
    // The forms to check: the representative, and the other payloads where there are some.
    let forms: Vec<(Unary, Dom, bool)> = match u {
        Unary::Powf(F64(p)) => {
            let mut v = vec![(u, if p.fract() == 0.0 { dom } else { Dom::Pos }, p == 0.0)];
            for (q, d) in [
                (0.0, Dom::Any),
                (1.0, Dom::Any),
                (2.0, Dom::Any),
                (2.5, Dom::Pos),
                (-1.5, Dom::Pos),
            ] {
                if q != p {
                    v.push((Unary::Powf(F64(q)), d, q == 0.0));
                }
            }
            v
        }
        Unary::LRelu(F64(a)) => vec![
            (u, dom, flat),
            (
                Unary::LRelu(F64(if a == 0.2 { -0.5 } else { 0.2 })),
                dom,
                flat,
            ),
        ],
        _ => vec![(u, dom, flat)],
    };
    let mut v = Vec::new();
    for (f, dom, flat) in forms {
        let n = match dom {
            Dom::Spread(c) => c.len(),
            _ => 3,
        };
        let apply = |b: &mut Build<'_>, p: NodeId| {
            let y = b.op(Op::Unary(f), &[p]);
            if flat {
                let shape = b.g.shape(p);
                let q = b.param("q", shape.rows, 1, Dom::Any);
                let qb = b.bcast(q, shape);
                b.op(Op::Mul, &[y, qb])
            } else {
                y
            }
        };
        v.push(case(&format!("{f}: fixed"), rng, |b| {
            let p = b.param("p", n, 3, dom);
            apply(b, p)
        }));
        v.push(case(&format!("{f}: batched"), rng, |b| {
            let p = b.param("p", n, 1, dom);
            let pb = b.bcast(p, Shape::batch(n));
            apply(b, pb)
        }));
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Running the table.

/// `g` with every `StopGradient` node replaced by a data input holding its value: the function
/// whose central differences the AD gradient of `g` must match.
fn frozen(case: &Case) -> (Graph, Vec<Mat<f64>>) {
    let values = interp::run(&case.g, &case.inputs, &case.params).expect("the case runs");
    let mut g = case.g.clone();
    let mut inputs = case.inputs.clone();
    for i in 0..g.nodes.len() {
        if g.nodes[i].op == Op::StopGradient {
            let arg = g.nodes[i].args[0];
            g.nodes[i].op = Op::Input(g.inputs.len() as u32);
            g.nodes[i].args.clear();
            let shape = g.nodes[i].shape;
            g.inputs.push(Slot {
                name: format!("frozen %{i}"),
                shape,
                labels: None,
                entry_labels: None,
                group: None,
                node: NodeId(i as u32),
                role: nnspec::dsl::ir::Role::Input,
                dist: None,
            });
            inputs.push(values[arg].clone());
        }
    }
    (g, inputs)
}

/// The gradient rows of one case.
fn check(case: &Case) -> Vec<GradCheck> {
    let has_stop = case.g.nodes.iter().any(|n| n.op == Op::StopGradient);
    if !has_stop {
        return interp::gradcheck(&case.g, "L", &case.inputs, &case.params, EPS)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
    let analytic = interp::ad_grads(&case.g, "L", &case.inputs, &case.params).expect("AD runs");
    let (reference, inputs) = frozen(case);
    let numeric = interp::numeric_grads(&reference, "L", &inputs, &case.params, EPS)
        .expect("the reference runs");
    case.g
        .params
        .iter()
        .zip(analytic.into_iter().zip(numeric))
        .map(|(s, (a, n))| interp::compare(&s.name, a, n))
        .collect()
}

/// Runs every case; prints the table; fails listing every row over the tolerance.
fn table(cases: &[Case]) {
    let mut failures = Vec::new();
    let mut rows = 0;
    for case in cases {
        assert!(
            !case.params.is_empty(),
            "{}: no parameter to differentiate",
            case.name
        );
        for row in check(case) {
            rows += 1;
            let line = format!("{:<48} {row}", case.name);
            println!("{line}");
            if row.max_rel_error.is_nan() || row.max_rel_error >= TOL {
                failures.push(line);
            }
        }
    }
    assert!(rows > 0);
    assert!(
        failures.is_empty(),
        "gradients off by more than {TOL}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_variant_has_a_row() {
    for (k, op) in ALL_OPS.iter().enumerate() {
        assert_eq!(op_index(op), k, "ALL_OPS[{k}] = {op:?} is out of order");
    }
    let mut rng = Rng::new(1);
    let mut ops_seen = [false; OP_COUNT];
    let mut unary_seen = vec![false; ALL_UNARY.len()];
    let mut mark = |g: &Graph| {
        for n in &g.nodes {
            ops_seen[op_index(&n.op)] = true;
            if let Op::Unary(u) = n.op {
                unary_seen[unary_index(&u)] = true;
            }
        }
    };
    for op in ALL_OPS {
        let cases = op_cases(op, &mut rng);
        assert!(!cases.is_empty(), "{op:?} has no case");
        for c in &cases {
            assert!(
                c.g.nodes.iter().any(|n| op_index(&n.op) == op_index(&op)),
                "case `{}` for {op:?} does not use it",
                c.name
            );
            mark(&c.g);
        }
    }
    for &u in ALL_UNARY {
        let cases = unary_cases(u, &mut rng);
        assert!(!cases.is_empty(), "{u:?} has no case");
        for c in &cases {
            assert!(
                c.g.nodes
                    .iter()
                    .any(|n| matches!(n.op, Op::Unary(v) if unary_index(&v) == unary_index(&u))),
                "case `{}` for {u:?} does not use it",
                c.name
            );
            mark(&c.g);
        }
    }
    let missing: Vec<_> = ALL_OPS
        .iter()
        .zip(ops_seen)
        .filter(|(_, s)| !s)
        .map(|(o, _)| o)
        .collect();
    assert!(missing.is_empty(), "ops never exercised: {missing:?}");
    let missing: Vec<_> = ALL_UNARY
        .iter()
        .zip(unary_seen)
        .filter(|(_, s)| !s)
        .map(|(u, _)| u)
        .collect();
    assert!(missing.is_empty(), "functions never exercised: {missing:?}");
}

#[test]
fn gradient_table_ops() {
    let mut rng = Rng::new(2);
    let cases: Vec<Case> = ALL_OPS
        .iter()
        .flat_map(|op| op_cases(*op, &mut rng))
        .collect();
    table(&cases);
}

#[test]
fn gradient_table_unary() {
    let mut rng = Rng::new(3);
    let cases: Vec<Case> = ALL_UNARY
        .iter()
        .flat_map(|u| unary_cases(*u, &mut rng))
        .collect();
    table(&cases);
}

/// The second-order case of `case`: its gradient graph, with the new loss
/// `L = ∑ₖ SumRows(SumCols(∂L₁/∂pₖ ⊙ Vₖ))` for random data `Vₖ` (`L₁` is the case's loss).
/// Its gradients run every VJP rule on the shapes and ops that backward graphs contain.
fn second_order(case: &Case, rng: &mut Rng) -> Case {
    let wrt: Vec<u32> = (0..case.g.params.len() as u32).collect();
    let mut g = nnspec::dsl::ad::grad(&case.g, "L", &wrt).expect("differentiates");
    let grads: Vec<NodeId> = g.grads.iter().map(|gr| gr.node).collect();
    // The first loss becomes `L₁`, its gradients `∂L₁/∂p`; the new loss is `L`.
    for gr in &mut g.grads {
        gr.loss = "L₁".into();
    }
    let renamed: Vec<(NodeId, String)> = g
        .grads
        .iter()
        .map(|gr| (gr.node, g.grad_name(gr)))
        .collect();
    for (k, (name, id)) in g.outputs.iter_mut().enumerate() {
        if name == "L" {
            *name = "L₁".into();
        } else if k >= case.g.outputs.len() {
            *name = renamed[k - case.g.outputs.len()].1.clone();
            debug_assert_eq!(*id, renamed[k - case.g.outputs.len()].0);
        }
    }
    let mut inputs = case.inputs.clone();
    let mut loss = None;
    let sp = Span::default();
    for (k, d) in grads.into_iter().enumerate() {
        let shape = g.shape(d);
        let v = g
            .push(Op::Input(g.inputs.len() as u32), vec![], shape, sp)
            .unwrap();
        g.inputs.push(Slot {
            name: format!("V{k}"),
            shape,
            labels: None,
            entry_labels: None,
            group: None,
            node: v,
            role: nnspec::dsl::ir::Role::Input,
            dist: None,
        });
        let Cols::Fixed(c) = shape.cols else {
            unreachable!("gradients of parameters are fixed")
        };
        inputs.push(rng.mat(shape.rows, c, Dom::Any));
        let dv = g.push(Op::Mul, vec![d, v], shape, sp).unwrap();
        let s = g.push(Op::SumCols, vec![dv], shape, sp).unwrap();
        let s = g.push(Op::SumRows, vec![s], shape, sp).unwrap();
        loss = Some(match loss {
            None => s,
            Some(l) => g.push(Op::Add, vec![l, s], shape, sp).unwrap(),
        });
    }
    g.outputs.push(("L".into(), loss.expect("a parameter")));
    Case {
        name: format!("∂ {}", case.name),
        g,
        inputs,
        params: case.params.clone(),
    }
}

#[test]
fn second_order_gradient_table() {
    let mut rng = Rng::new(9);
    let mut cases: Vec<Case> = ALL_OPS
        .iter()
        .flat_map(|op| op_cases(*op, &mut rng))
        .collect();
    cases.extend(ALL_UNARY.iter().flat_map(|u| unary_cases(*u, &mut rng)));
    let second: Vec<Case> = cases.iter().map(|c| second_order(c, &mut rng)).collect();
    table(&second);
}

#[test]
fn gradient_graphs_run_alike_in_f32_and_f64() {
    let mut rng = Rng::new(4);
    let mut cases: Vec<Case> = ALL_OPS
        .iter()
        .flat_map(|op| op_cases(*op, &mut rng))
        .collect();
    cases.extend(ALL_UNARY.iter().flat_map(|u| unary_cases(*u, &mut rng)));
    let to32 = |v: &[Mat<f64>]| {
        v.iter()
            .map(|m| Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32))
            .collect::<Vec<_>>()
    };
    for case in &cases {
        let wrt: Vec<u32> = (0..case.g.params.len() as u32).collect();
        let gg = nnspec::dsl::ad::grad(&case.g, "L", &wrt).expect("differentiates");
        let v64 = interp::run(&gg, &case.inputs, &case.params).expect("runs in f64");
        let v32 = interp::run(&gg, &to32(&case.inputs), &to32(&case.params)).expect("runs in f32");
        for ((name, a), (_, b)) in v64.outputs().zip(v32.outputs()) {
            let scale = (0..a.ncols())
                .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
                .fold(1.0f64, |s, (i, j)| s.max(a[(i, j)].abs()));
            for j in 0..a.ncols() {
                for i in 0..a.nrows() {
                    let d = (a[(i, j)] - f64::from(b[(i, j)])).abs();
                    assert!(
                        d <= 1e-4 * scale,
                        "{}: {name}[{i}, {j}]: f64 {} vs f32 {}",
                        case.name,
                        a[(i, j)],
                        b[(i, j)]
                    );
                }
            }
        }
    }
}

#[test]
fn gradcheck_holds_frozen_copies_fixed() {
    // ∂(sg(p) ⊙ p)/∂p is sg(p) = p: the differences must not perturb the frozen copy.
    let mut rng = Rng::new(5);
    let cases = op_cases(Op::StopGradient, &mut rng);
    let rows =
        interp::gradcheck(&cases[0].g, "L", &cases[0].inputs, &cases[0].params, EPS).expect("runs");
    assert!(rows[0].max_rel_error < 1e-6, "{}", rows[0]);
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    let numeric = Mat::from_fn(2, 2, |i, j| 1.0 + (i + 2 * j) as f64);
    let wrong = Mat::from_fn(2, 2, |i, j| {
        numeric[(i, j)] * if (i, j) == (1, 0) { 2.0 } else { 1.0 }
    });
    let row = interp::compare("p", wrong, numeric);
    assert!(row.max_rel_error > 0.1, "{row}");
    assert_eq!(row.worst, (1, 0));
}

// ---------------------------------------------------------------------------------------------
// Semantics against naive loops.

/// A graph over fixed parameters with output `y`.
fn graph_of(params: &[(&str, Shape)], body: impl FnOnce(&mut Graph, &[NodeId]) -> NodeId) -> Graph {
    let mut g = Graph::default();
    let ids: Vec<NodeId> = params
        .iter()
        .enumerate()
        .map(|(k, (name, shape))| {
            let id = g
                .push(Op::Param(k as u32), vec![], *shape, Span::default())
                .unwrap();
            g.params.push(Slot {
                name: (*name).into(),
                shape: *shape,
                labels: None,
                entry_labels: None,
                group: None,
                node: id,
                role: nnspec::dsl::ir::Role::Param,
                dist: None,
            });
            id
        })
        .collect();
    let y = body(&mut g, &ids);
    g.outputs.push(("y".into(), y));
    g
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn matmul_with_every_transpose_flag_matches_naive_loops() {
    let mut rng = Rng::new(6);
    let (m, k, n) = (3, 5, 4);
    for ta in [false, true] {
        for tb in [false, true] {
            let sa = if ta {
                Shape::fixed(k, m)
            } else {
                Shape::fixed(m, k)
            };
            let sb = if tb {
                Shape::fixed(n, k)
            } else {
                Shape::fixed(k, n)
            };
            let g = graph_of(&[("A", sa), ("B", sb)], |g, p| {
                g.push(
                    Op::MatMul { ta, tb },
                    p.to_vec(),
                    Shape::SCALAR,
                    Span::default(),
                )
                .unwrap()
            });
            let a = rng.mat(sa.rows, sa.len_per_example() / sa.rows, Dom::Any);
            let b = rng.mat(sb.rows, sb.len_per_example() / sb.rows, Dom::Any);
            let v = interp::run(&g, &[], &[a.clone(), b.clone()]).unwrap();
            let y = v.output("y").unwrap();
            assert_eq!((y.nrows(), y.ncols()), (m, n));
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|l| {
                            (if ta { a[(l, i)] } else { a[(i, l)] })
                                * (if tb { b[(j, l)] } else { b[(l, j)] })
                        })
                        .sum();
                    assert!(
                        close(y[(i, j)], want, 1e-14),
                        "ta={ta} tb={tb} ({i},{j}): {} vs {want}",
                        y[(i, j)]
                    );
                }
            }
            // The same in f32.
            let a32 = Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] as f32);
            let b32 = Mat::from_fn(b.nrows(), b.ncols(), |i, j| b[(i, j)] as f32);
            let v = interp::run(&g, &[], &[a32, b32]).unwrap();
            let y32 = v.output("y").unwrap();
            assert!((0..m).all(|i| (0..n).all(|j| close(f64::from(y32[(i, j)]), y[(i, j)], 1e-5))));
        }
    }
}

#[test]
fn a_batched_matmul_contracts_over_the_batch() {
    // G Xᵀ: a `2 × B` batch times the transpose of a `3 × B` batch is `2 × 3`, summed over B.
    let mut g = Graph::default();
    let sp = Span::default();
    let a = g.push(Op::Input(0), vec![], Shape::batch(2), sp).unwrap();
    let b = g.push(Op::Input(1), vec![], Shape::batch(3), sp).unwrap();
    let y = g
        .push(
            Op::MatMul {
                ta: false,
                tb: true,
            },
            vec![a, b],
            Shape::SCALAR,
            sp,
        )
        .unwrap();
    g.inputs.push(Slot {
        name: "G".into(),
        shape: Shape::batch(2),
        labels: None,
        entry_labels: None,
        group: None,
        node: a,
        role: nnspec::dsl::ir::Role::Input,
        dist: None,
    });
    g.inputs.push(Slot {
        name: "X".into(),
        shape: Shape::batch(3),
        labels: None,
        entry_labels: None,
        group: None,
        node: b,
        role: nnspec::dsl::ir::Role::Input,
        dist: None,
    });
    g.outputs.push(("y".into(), y));
    let mut rng = Rng::new(7);
    let (ga, xb) = (rng.mat(2, 5, Dom::Any), rng.mat(3, 5, Dom::Any));
    let v = interp::run(&g, &[ga.clone(), xb.clone()], &[]).unwrap();
    assert_eq!(v.batch(), 5);
    let y = v.output("y").unwrap();
    for i in 0..2 {
        for j in 0..3 {
            let want: f64 = (0..5).map(|l| ga[(i, l)] * xb[(j, l)]).sum();
            assert!(close(y[(i, j)], want, 1e-14));
        }
    }
}

#[test]
fn softmax_and_logsumexp_are_stable_on_large_inputs() {
    let g = graph_of(&[("p", Shape::fixed(3, 4))], |g, p| {
        let s = g
            .push(Op::Softmax, vec![p[0]], Shape::SCALAR, Span::default())
            .unwrap();
        let l = g
            .push(Op::LogSumExp, vec![p[0]], Shape::SCALAR, Span::default())
            .unwrap();
        g.outputs.push(("lse".into(), l));
        s
    });
    // Columns around +1000, -1000, mixed, and equal.
    let cols = [
        [1000.0, 1001.0, 999.5],
        [-1000.0, -1002.0, -1000.5],
        [1000.0, -1000.0, 0.0],
        [1000.0, 1000.0, 1000.0],
    ];
    let p = Mat::from_fn(3, 4, |i, j| cols[j][i]);
    let check = |soft: &dyn Fn(usize, usize) -> f64, lse: &dyn Fn(usize) -> f64, tol: f64| {
        for (j, col) in cols.iter().enumerate() {
            let m = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = col.iter().map(|x| (x - m).exp()).sum();
            let mut total = 0.0;
            for (i, x) in col.iter().enumerate() {
                let s = soft(i, j);
                assert!(
                    s.is_finite() && close(s, (x - m).exp() / z, tol),
                    "softmax[{i},{j}] = {s}"
                );
                total += s;
            }
            assert!(close(total, 1.0, tol));
            let l = lse(j);
            assert!(l.is_finite() && close(l, m + z.ln(), tol), "lse[{j}] = {l}");
        }
    };
    let v = interp::run(&g, &[], std::slice::from_ref(&p)).unwrap();
    let (s, l) = (v.output("y").unwrap(), v.output("lse").unwrap());
    check(&|i, j| s[(i, j)], &|j| l[(0, j)], 1e-14);
    let p32 = Mat::from_fn(3, 4, |i, j| p[(i, j)] as f32);
    let v = interp::run(&g, &[], &[p32]).unwrap();
    let (s, l) = (v.output("y").unwrap(), v.output("lse").unwrap());
    check(
        &|i, j| f64::from(s[(i, j)]),
        &|j| f64::from(l[(0, j)]),
        1e-6,
    );
}

/// A graph `y = PickLabel(x, labels)`, `h = OneHot(labels)` over data inputs, the labels slot
/// declared with `slot_labels`.
fn label_graph(lo: i32, classes: usize, slot_labels: Option<(i32, usize)>) -> Graph {
    let mut g = Graph::default();
    let sp = Span::default();
    let x = g
        .push(Op::Input(0), vec![], Shape::batch(classes), sp)
        .unwrap();
    let y = g.push(Op::Input(1), vec![], Shape::batch(1), sp).unwrap();
    let pick = g
        .push(Op::PickLabel { lo }, vec![x, y], Shape::SCALAR, sp)
        .unwrap();
    let hot = g
        .push(
            Op::OneHot {
                rows: classes as u32,
                lo,
            },
            vec![y],
            Shape::SCALAR,
            sp,
        )
        .unwrap();
    g.nodes[pick.index()].name = Some("picked".into());
    g.inputs.push(Slot {
        name: "x".into(),
        shape: Shape::batch(classes),
        labels: None,
        entry_labels: None,
        group: None,
        node: x,
        role: nnspec::dsl::ir::Role::Input,
        dist: None,
    });
    g.inputs.push(Slot {
        name: "y".into(),
        shape: Shape::batch(1),
        labels: slot_labels,
        entry_labels: None,
        group: None,
        node: y,
        role: nnspec::dsl::ir::Role::Input,
        dist: None,
    });
    g.outputs.push(("pick".into(), pick));
    g.outputs.push(("hot".into(), hot));
    g
}

#[test]
fn label_ops_use_their_offset() {
    let g = label_graph(-1, 3, Some((-1, 3)));
    let x = Mat::from_fn(3, 4, |i, j| (10 * i + j) as f64);
    let y = Mat::from_fn(1, 4, |_, j| [-1.0, 0.0, 1.0, 0.0][j]);
    let v = interp::run(&g, &[x, y], &[]).unwrap();
    let pick = v.output("pick").unwrap();
    assert_eq!(
        (0..4).map(|j| pick[(0, j)]).collect::<Vec<_>>(),
        [0.0, 11.0, 22.0, 13.0]
    );
    let hot = v.output("hot").unwrap();
    for j in 0..4 {
        for i in 0..3 {
            let want = if i == [0, 1, 2, 1][j] { 1.0 } else { 0.0 };
            assert_eq!(hot[(i, j)], want);
        }
    }
}

#[test]
fn broadcast_place_row_row_transpose_and_sums_match_naive_loops() {
    let sp = Span::default();
    let mut g = Graph::default();
    let x = g.push(Op::Input(0), vec![], Shape::batch(3), sp).unwrap();
    let c = g
        .push(Op::Param(0), vec![], Shape::fixed(3, 1), sp)
        .unwrap();
    let s = g.push(Op::Param(1), vec![], Shape::SCALAR, sp).unwrap();
    let t = g
        .push(Op::Param(2), vec![], Shape::fixed(2, 3), sp)
        .unwrap();
    let cb = g.push(Op::Broadcast, vec![c], Shape::batch(3), sp).unwrap();
    let sb = g.push(Op::Broadcast, vec![s], Shape::batch(3), sp).unwrap();
    let sum = g.push(Op::Add, vec![cb, sb], Shape::SCALAR, sp).unwrap();
    let xs = g.push(Op::Mul, vec![x, sum], Shape::SCALAR, sp).unwrap();
    let rows = g.push(Op::SumRows, vec![xs], Shape::SCALAR, sp).unwrap();
    let cols = g.push(Op::SumCols, vec![xs], Shape::SCALAR, sp).unwrap();
    let row = g.push(Op::Row(2), vec![xs], Shape::SCALAR, sp).unwrap();
    let placed = g
        .push(Op::PlaceRow { k: 1, rows: 4 }, vec![row], Shape::SCALAR, sp)
        .unwrap();
    let tt = g.push(Op::Transpose, vec![t], Shape::SCALAR, sp).unwrap();
    let h = g
        .push(Op::Unary(Unary::Heaviside), vec![x], Shape::SCALAR, sp)
        .unwrap();
    let r = g
        .push(Op::Unary(Unary::Rect), vec![x], Shape::SCALAR, sp)
        .unwrap();
    g.inputs.push(Slot {
        name: "x".into(),
        shape: Shape::batch(3),
        labels: None,
        entry_labels: None,
        group: None,
        node: x,
        role: nnspec::dsl::ir::Role::Input,
        dist: None,
    });
    for (name, id) in [("c", c), ("s", s), ("t", t)] {
        let shape = g.shape(id);
        g.params.push(Slot {
            name: name.into(),
            shape,
            labels: None,
            entry_labels: None,
            group: None,
            node: id,
            role: nnspec::dsl::ir::Role::Param,
            dist: None,
        });
    }
    for (name, id) in [
        ("xs", xs),
        ("rows", rows),
        ("cols", cols),
        ("placed", placed),
        ("tt", tt),
        ("h", h),
        ("r", r),
    ] {
        g.outputs.push((name.into(), id));
    }
    let xv = Mat::from_fn(3, 4, |i, j| {
        [
            [0.0, -0.5, 1.0, 1.5],
            [2.0, -1e-9, 0.25, 3.0],
            [-2.0, 0.5, 1.0, 0.0],
        ][i][j]
    });
    let cv = Mat::from_fn(3, 1, |i, _| i as f64 + 1.0);
    let sv = Mat::full(1, 1, 0.5);
    let tv = Mat::from_fn(2, 3, |i, j| (3 * i + j) as f64);
    let v = interp::run(&g, std::slice::from_ref(&xv), &[cv.clone(), sv, tv.clone()]).unwrap();
    let o = |name: &str| v.output(name).unwrap().clone();
    let want_xs = Mat::from_fn(3, 4, |i, j| xv[(i, j)] * (cv[(i, 0)] + 0.5));
    assert_eq!(o("xs"), want_xs);
    assert_eq!(
        o("rows"),
        Mat::from_fn(1, 4, |_, j| (0..3).map(|i| want_xs[(i, j)]).sum::<f64>())
    );
    assert_eq!(
        o("cols"),
        Mat::from_fn(3, 1, |i, _| (0..4).map(|j| want_xs[(i, j)]).sum::<f64>())
    );
    assert_eq!(
        o("placed"),
        Mat::from_fn(4, 4, |i, j| if i == 1 { want_xs[(2, j)] } else { 0.0 })
    );
    assert_eq!(o("tt"), Mat::from_fn(3, 2, |i, j| tv[(j, i)]));
    assert_eq!(
        o("h"),
        Mat::from_fn(3, 4, |i, j| if xv[(i, j)] >= 0.0 { 1.0 } else { 0.0 })
    );
    assert_eq!(
        o("r"),
        Mat::from_fn(3, 4, |i, j| if (0.0..=1.0).contains(&xv[(i, j)]) {
            1.0
        } else {
            0.0
        })
    );
}

#[test]
fn a_graph_without_batched_inputs_runs_with_b_1() {
    let mut g = Graph::default();
    let k = g
        .push(
            Op::Const(F64(2.0)),
            vec![],
            Shape::batch(2),
            Span::default(),
        )
        .unwrap();
    g.outputs.push(("k".into(), k));
    let v = interp::run::<f64>(&g, &[], &[]).unwrap();
    assert_eq!(v.batch(), 1);
    assert_eq!(v.output("k").unwrap(), &Mat::full(2, 1, 2.0));
    assert_eq!(
        v.scalar("k"),
        Err(EvalError::NotScalar {
            name: "k".into(),
            shape: Shape::fixed(2, 1)
        })
    );
    assert_eq!(v.scalar("nope"), Err(EvalError::NoOutput("nope".into())));
}

// ---------------------------------------------------------------------------------------------
// Bad inputs are errors, not panics.

#[test]
fn wrong_counts_and_shapes_are_errors_naming_the_slot() {
    let mut rng = Rng::new(8);
    let c = case("W X", &mut rng, |b| wx(b, 2)); // inputs X (3×B), W (2×B); param W₁ (2×3)
    let x = c.inputs[0].clone();
    let w = c.inputs[1].clone();
    let p = c.params[0].clone();
    let run = |inputs: &[Mat<f64>], params: &[Mat<f64>]| {
        interp::run(&c.g, inputs, params).map(|_| ()).unwrap_err()
    };

    let e = run(std::slice::from_ref(&x), std::slice::from_ref(&p));
    assert_eq!(
        e,
        EvalError::Count {
            kind: SlotKind::Input,
            expected: 2,
            got: 1
        }
    );
    assert_eq!(e.to_string(), "expected 2 inputs, got 1");

    let e = run(&[x.clone(), w.clone()], &[]);
    assert_eq!(
        e,
        EvalError::Count {
            kind: SlotKind::Param,
            expected: 1,
            got: 0
        }
    );

    let e = run(&[x.clone(), w.clone()], &[Mat::zeros(3, 2)]);
    assert_eq!(e.to_string(), "parameter 0 `W₁`: expected 2×3, got 3×2");

    let e = run(&[Mat::zeros(4, B), w.clone()], std::slice::from_ref(&p));
    assert_eq!(e.to_string(), "input 0 `X`: expected 3×B (B = 3), got 4×3");

    let e = run(&[x.clone(), Mat::zeros(2, B + 1)], std::slice::from_ref(&p));
    assert_eq!(
        e,
        EvalError::Batch {
            first: "X".into(),
            batch: B,
            name: "W".into(),
            index: 1,
            got: B + 1
        }
    );
    assert!(e.to_string().contains("must agree on B"), "{e}");

    // f32 reports the same.
    let e = interp::run(
        &c.g,
        &[Mat::<f32>::zeros(3, 2), Mat::zeros(2, 2)],
        &[Mat::zeros(2, 2)],
    )
    .map(|_| ())
    .unwrap_err();
    assert_eq!(e.to_string(), "parameter 0 `W₁`: expected 2×3, got 2×2");
}

#[test]
fn bad_labels_are_errors() {
    let x = Mat::<f64>::zeros(3, 2);
    let labels = |a: f64, b: f64| Mat::from_fn(1, 2, |_, j| [a, b][j]);
    // Checked at the slot when it declares its labels …
    let g = label_graph(1, 3, Some((1, 3)));
    for (bad, what) in [
        (4.0, "is not one of the labels 1..=3"),
        (0.0, "is not one of the labels"),
        (1.5, "is not an integer"),
        (f64::NAN, "NaN"),
    ] {
        let e = interp::run(&g, &[x.clone(), labels(2.0, bad)], &[])
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(&e, EvalError::InputLabel { index: 1, name, error } if name == "y" && error.column == 1),
            "{e:?}"
        );
        assert!(e.to_string().contains(what), "{e}");
    }
    // … and by the ops when it does not.
    let g = label_graph(1, 3, None);
    for bad in [4.0, 0.0, -1.0, 2.5, f64::INFINITY, f64::NAN] {
        let e = interp::run(&g, &[x.clone(), labels(bad, 1.0)], &[])
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(&e, EvalError::Label { name: Some(n), error, .. } if n == "picked" && error.column == 0 && error.lo == 1 && error.classes == 3),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("%2 `picked`: label"), "{e}");
    }
    // The one-hot op alone.
    let mut g = Graph::default();
    let y = g
        .push(Op::Input(0), vec![], Shape::batch(1), Span::default())
        .unwrap();
    let h = g
        .push(
            Op::OneHot { rows: 2, lo: 0 },
            vec![y],
            Shape::SCALAR,
            Span::default(),
        )
        .unwrap();
    g.inputs.push(Slot {
        name: "y".into(),
        shape: Shape::batch(1),
        labels: None,
        entry_labels: None,
        group: None,
        node: y,
        role: nnspec::dsl::ir::Role::Input,
        dist: None,
    });
    g.outputs.push(("h".into(), h));
    let e = interp::run(&g, &[labels(1.0, 2.0)], &[])
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(e, EvalError::Label { node: NodeId(1), error, .. } if error.column == 1 && error.value == 2.0),
        "{e:?}"
    );
    let e = interp::run(&g, &[Mat::from_fn(1, 1, |_, _| 0.5f32)], &[])
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, EvalError::Label { .. }), "{e:?}");
}

#[test]
fn malformed_graphs_are_errors() {
    let mut g = Graph::default();
    let x = g
        .push(Op::Input(0), vec![], Shape::batch(2), Span::default())
        .unwrap();
    g.outputs.push(("x".into(), x));
    // Input 0 has no slot.
    let e = interp::run::<f64>(&g, &[], &[]).map(|_| ()).unwrap_err();
    assert!(matches!(e, EvalError::InvalidGraph(_)), "{e:?}");
    // A slot whose shape disagrees with its node.
    g.inputs.push(Slot {
        name: "x".into(),
        shape: Shape::batch(3),
        labels: None,
        entry_labels: None,
        group: None,
        node: x,
        role: nnspec::dsl::ir::Role::Input,
        dist: None,
    });
    let e = interp::run(&g, &[Mat::<f64>::zeros(3, 1)], &[])
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, EvalError::InvalidGraph(_)), "{e:?}");
    // An output past the end.
    g.inputs[0].shape = Shape::batch(2);
    g.outputs.push(("bad".into(), NodeId(7)));
    let e = interp::run(&g, &[Mat::<f64>::zeros(2, 1)], &[])
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, EvalError::InvalidGraph(_)), "{e:?}");
    // gradcheck on a missing or non-scalar loss.
    g.outputs.pop();
    let e = interp::gradcheck(&g, "L", &[Mat::zeros(2, 1)], &[], EPS).unwrap_err();
    assert_eq!(e, EvalError::NoOutput("L".into()));
    let e = interp::gradcheck(&g, "x", &[Mat::zeros(2, 1)], &[], EPS).unwrap_err();
    assert_eq!(
        e,
        EvalError::NotScalar {
            name: "x".into(),
            shape: Shape::batch(2)
        }
    );
}
