//! The IR's text form, like a jaxpr: one line per node, `%id = op args : shape  # name`.
//! Stable: every IR snapshot uses it.

use super::{Cols, Graph, Op, Shape, pool};
use std::fmt;

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cols {
            Cols::Fixed(c) => write!(f, "{}×{c}", self.rows),
            Cols::Batch(1) => write!(f, "{}×B", self.rows),
            Cols::Batch(n) => write!(f, "{}×{n}B", self.rows),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Input(_) => f.write_str("input"),
            Op::Param(_) => f.write_str("param"),
            Op::Const(c) => write!(f, "const {}", c.0),
            Op::Unary(u) => write!(f, "{u}"),
            Op::MatMul { .. } => f.write_str("matmul"),
            Op::ExampleMatMul { .. } => f.write_str("example_matmul"),
            Op::Row(k) => write!(f, "row[{k}]"),
            Op::PickLabel { lo } => write!(f, "pick_label[{lo}]"),
            Op::OneHot { rows, lo } => write!(f, "one_hot[{rows}, {lo}]"),
            Op::PlaceRow { k, rows } => write!(f, "place_row[{k}, {rows}]"),
            Op::ExampleCol(k) => write!(f, "example_col[{k}]"),
            Op::PlaceExampleCol { k, n } => write!(f, "place_example_col[{k}, {n}]"),
            Op::Conv(c) => f.write_str(&c.name()),
            Op::MaxPool(p) => {
                f.write_str(match p.part {
                    pool::PoolPart::Pick => "maxpool2x2",
                    pool::PoolPart::Place => "maxpool2x2_place",
                })?;
                match p.image {
                    Some([h, w]) => write!(f, "[channels, {h}×{w}]"),
                    None => Ok(()),
                }
            }
            Op::Extreme(e) => {
                let w = e.which.word();
                match e.part {
                    super::extreme::ExtPart::Pick => write!(f, "{w}_pick"),
                    super::extreme::ExtPart::First => write!(f, "{w}_place_first"),
                    super::extreme::ExtPart::Second => write!(f, "{w}_place_second"),
                }
            }
            Op::MaxNe(p) => f.write_str(match p {
                pool::PoolPart::Pick => "max_ne",
                pool::PoolPart::Place => "max_ne_place",
            }),
            Op::Reshape { rows, cols } => write!(f, "reshape[{rows}×{cols}]"),
            Op::SliceRows { start, rows } => write!(f, "slice_rows[{start}, {rows}]"),
            Op::Table(k) => write!(f, "table[{k}]"),
            // The default: the variant's name in snake case (`sum_rows`).
            Op::Identity
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Broadcast
            | Op::StopGradient
            | Op::SumRows
            | Op::SumCols
            | Op::SumExampleCols
            | Op::SumExamples
            | Op::TileExamples
            | Op::Softmax
            | Op::LogSumExp
            | Op::Softmask
            | Op::Transpose
            | Op::ExampleTranspose
            | Op::ConcatRows
            | Op::Diag
            | Op::DiagPart
            | Op::BatchStat { .. } => f.write_str(&to_snake(&format!("{self:?}"))),
        }
    }
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots = |v: &[super::Slot]| {
            v.iter()
                .map(|s| format!("{}: {}", s.name, s.shape))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(
            f,
            "graph {}({}) params({}) {{",
            self.name,
            slots(&self.inputs),
            slots(&self.params)
        )?;
        for (i, n) in self.nodes.iter().enumerate() {
            let mut args: Vec<String> = n.args.iter().map(|a| format!("%{}", a.0)).collect();
            // A transposed operand is a view: shown as `%3ᵀ`.
            if let Op::MatMul { ta, tb } | Op::ExampleMatMul { ta, tb } = n.op {
                for (flag, arg) in [ta, tb].into_iter().zip(args.iter_mut()) {
                    if flag {
                        arg.push('ᵀ');
                    }
                }
            }
            let what = match n.op {
                Op::Input(k) => format!(
                    "input {}",
                    self.inputs.get(k as usize).map_or("?", |s| &s.name)
                ),
                Op::Param(k) => format!(
                    "param {}",
                    self.params.get(k as usize).map_or("?", |s| &s.name)
                ),
                Op::BatchStat { slot } => format!(
                    "batch_stat[{}] {}",
                    self.stats.get(slot as usize).map_or("?", |s| &s.name),
                    args.join(", ")
                ),
                op if args.is_empty() => op.to_string(),
                op => format!("{op} {}", args.join(", ")),
            };
            let line = format!("  %{i} = {what} : {}", n.shape);
            match &n.name {
                Some(name) => writeln!(f, "{line:<44} # {name}")?,
                None => writeln!(f, "{line}")?,
            }
        }
        let outs: Vec<String> = self
            .outputs
            .iter()
            .map(|(n, id)| format!("{n} = %{}", id.0))
            .collect();
        writeln!(f, "  return {}", outs.join(", "))?;
        f.write_str("}\n")
    }
}

fn to_snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}
