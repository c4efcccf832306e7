//! One node of a differentiated graph written as a formula: forward values by their spec
//! names (`h_3`, `x_i`), backward values by the name of their equation (`∂ℓ_i/∂f_3`), and
//! everything else inline, simplified as a person writes it: no `1·`, no `+ 0`, broadcasts
//! left implicit, `sign[ReLU[f]]` as `𝕀[f > 0]`, a sum over the batch dropped per example.

use super::style::{Style, number};
use crate::ir::{Cols, Graph, NodeId, Op, Unary};
use std::cell::RefCell;
use std::collections::HashMap;

/// Binding strength of a rendered formula: what an operator needs to parenthesise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prec {
    /// `a + b`, `a - b`, `-a`.
    Sum,
    /// `a ⊙ b`.
    Hadamard,
    /// Juxtaposition: `Ωᵀ g`, `2 x`, `a/b`.
    Product,
    /// A name, a call, a bracket.
    Atom,
}

/// How a backward node is referred to once it has an equation of its own.
#[derive(Clone, Debug)]
pub enum Label {
    /// The derivative of the loss with respect to this forward node.
    Cot(NodeId),
    /// A shared subexpression, named `g_n`.
    Temp(usize),
}

/// The state of printing one loss's backward pass.
pub struct Cx<'g> {
    /// The differentiated graph.
    pub g: &'g Graph,
    /// The spelling.
    pub style: Style,
    /// Nodes before this index are the forward pass.
    pub fwd_len: usize,
    /// Whether values are written per example (`∂ℓ_i/∂…`, the loss a sum over examples).
    pub per_example: bool,
    /// The numerator of every derivative: `ℓ_i` or `L`.
    pub num: String,
    /// The backward nodes that have an equation of their own.
    pub labels: HashMap<NodeId, Label>,
    /// For a forward name that several nodes carry (a function called more than once): the
    /// occurrence number of each such node, written `f⁽²⁾`.
    pub occurrence: HashMap<NodeId, usize>,
    /// The family index's value while printing a line's family form.
    pub at: Option<i64>,
    /// Numbers seen in subscripts while printing.
    pub seen: RefCell<Vec<i64>>,
    /// Formulas already written, by node, `top` and family index: a value read many times
    /// is written once (bounded time on any graph).
    pub memo: RefCell<HashMap<MemoKey, Written>>,
}

/// A formula's memo key: the node, whether it is printed at the top, the family index.
pub type MemoKey = (NodeId, bool, Option<i64>);

/// A written formula: its text, precedence, and the subscript numbers it holds.
pub type Written = (String, Prec, Vec<i64>);

/// The longest formula written inline; a longer one is referred to by its IR node, which
/// `nnspec ir --stage grad` shows.
pub const MAX_FORMULA: usize = 2000;

impl Cx<'_> {
    /// A spec name in this style.
    pub fn name(&self, raw: &str) -> String {
        self.style.name(raw, self.at, &mut self.seen.borrow_mut())
    }

    /// The constant a node holds, seen through broadcasts and negation.
    pub fn constant(&self, id: NodeId) -> Option<f64> {
        let n = self.g.node(id);
        match n.op {
            Op::Const(c) => Some(c.0),
            Op::Broadcast | Op::StopGradient => self.constant(n.args[0]),
            Op::Unary(Unary::Neg) => self.constant(n.args[0]).map(|c| -c),
            Op::Mul => Some(self.constant(n.args[0])? * self.constant(n.args[1])?),
            _ => None,
        }
    }

    /// The name of a forward value, if it has one (a slot, or a named node).
    pub fn forward_name(&self, id: NodeId) -> Option<String> {
        let n = self.g.node(id);
        let slot = match n.op {
            Op::Input(k) => self.g.inputs.get(k as usize),
            Op::Param(k) => self.g.params.get(k as usize),
            _ => None,
        };
        if let Some(s) = slot {
            let per_example = s.shape.cols.is_batch();
            return Some(match (per_example, s.name.contains('_')) {
                (true, false) => format!("{}_i", self.name(&s.name)),
                _ => self.name(&s.name),
            });
        }
        let name = n.name.as_ref().map(|raw| self.name(raw))?;
        Some(match (self.occurrence.get(&id), self.style) {
            (Some(k), Style::Text) => format!("{name}⁽{}⁾", superscript(*k)),
            (Some(k), Style::Latex) => format!("{name}^{{({k})}}"),
            (None, _) => name,
        })
    }

    /// A node as a constant times another node: `(c, x)` for `c x`, `-x`, `x + x`.
    pub fn coefficient(&self, id: NodeId) -> (f64, NodeId) {
        let n = self.g.node(id);
        let inner = match n.op {
            Op::Unary(Unary::Neg) => Some((-1.0, n.args[0])),
            Op::Add if n.args[0] == n.args[1] => Some((2.0, n.args[0])),
            Op::Mul => match (self.constant(n.args[0]), self.constant(n.args[1])) {
                (Some(c), None) => Some((c, n.args[1])),
                (None, Some(c)) => Some((c, n.args[0])),
                _ => None,
            },
            _ => None,
        };
        match inner {
            Some((c, x)) if id.index() >= self.fwd_len || self.forward_name(id).is_none() => {
                let (c2, base) = if self.labels.contains_key(&x) {
                    (1.0, x)
                } else {
                    self.coefficient(x)
                };
                (c * c2, base)
            }
            _ => (1.0, id),
        }
    }

    /// The left side of a label: `∂ℓ_i/∂h_3`, `∂ℓ_i/∂(β_2 + Ω_2 h_2)` or `g_1`.
    pub fn label_text(&self, label: &Label) -> String {
        match label {
            Label::Cot(f) => {
                let den = match self.forward_name(*f) {
                    Some(name) => name,
                    None => format!("({})", self.render(*f, true).0),
                };
                self.style.partial(&self.num, &den)
            }
            Label::Temp(k) => match self.style {
                Style::Text if *k < 10 => format!("g_{k}"),
                _ => format!("g_{{{k}}}"),
            },
        }
    }

    /// `id` as a formula; `top` prints a labelled node's own formula rather than its label.
    pub fn render(&self, id: NodeId, top: bool) -> (String, Prec) {
        if let Some(c) = self.constant(id) {
            let p = if c < 0.0 { Prec::Sum } else { Prec::Atom };
            return (number(c), p);
        }
        if id.index() < self.fwd_len {
            if let Some(name) = self.forward_name(id) {
                return (name, Prec::Atom);
            }
        } else if !top && let Some(label) = self.labels.get(&id) {
            return (self.label_text(label), Prec::Atom);
        }
        let key = (id, top, self.at);
        if let Some((s, p, seen)) = self.memo.borrow().get(&key) {
            self.seen.borrow_mut().extend(seen);
            return (s.clone(), *p);
        }
        let before = self.seen.borrow().len();
        let (mut s, mut p) = self.op(id);
        if s.chars().count() > MAX_FORMULA {
            s = match self.style {
                Style::Text => format!("⟨%{} of nnspec ir --stage grad⟩", id.0),
                Style::Latex => format!(
                    "\\langle\\text{{\\%{} of nnspec ir --stage grad}}\\rangle",
                    id.0
                ),
            };
            p = Prec::Atom;
        }
        let seen = self.seen.borrow()[before..].to_vec();
        self.memo.borrow_mut().insert(key, (s.clone(), p, seen));
        (s, p)
    }

    /// `id` as an operand that must bind at least as tightly as `min`.
    pub fn operand(&self, id: NodeId, min: Prec) -> String {
        let (s, p) = self.render(id, false);
        if p < min { format!("({s})") } else { s }
    }

    fn op(&self, id: NodeId) -> (String, Prec) {
        let n = self.g.node(id);
        let st = self.style;
        let (c, base) = self.coefficient(id);
        if base != id {
            return self.scaled(c, base);
        }
        let a = |i: usize| n.args[i];
        match n.op {
            Op::Broadcast => self.broadcast(id),
            Op::StopGradient => self.render(a(0), false),
            Op::Add => self.add(a(0), a(1)),
            Op::Sub => (
                format!(
                    "{} - {}",
                    self.operand(a(0), Prec::Sum),
                    self.operand(a(1), Prec::Hadamard)
                ),
                Prec::Sum,
            ),
            Op::Mul => self.mul(a(0), a(1)),
            Op::Div => self.div(a(0), a(1)),
            Op::PickLabel { .. } => self.pick_label(a(0), a(1)),
            Op::OneHot { lo, .. } => {
                let y = self.render(a(0), false).0;
                let y = if lo == 0 { y } else { format!("{y} - {lo}") };
                (st.call("onehot", &y), Prec::Atom)
            }
            Op::Unary(u) => self.unary(u, a(0)),
            Op::MatMul { ta, tb } | Op::ExampleMatMul { ta, tb } => self.matmul(id, ta, tb),
            Op::Transpose | Op::ExampleTranspose => {
                (st.transposed(&self.operand(a(0), Prec::Atom)), Prec::Atom)
            }
            Op::SumCols => self.sum_cols(a(0)),
            Op::SumRows => (
                format!(
                    "{}{} {}",
                    st.ones(),
                    st.transpose(),
                    self.operand(a(0), Prec::Product)
                ),
                Prec::Product,
            ),
            Op::SumExampleCols => (
                format!("{} {}", self.operand(a(0), Prec::Product), st.ones()),
                Prec::Product,
            ),
            Op::Softmax => (st.call("softmax", &self.render(a(0), false).0), Prec::Atom),
            Op::Identity => ("I".into(), Prec::Atom),
            // In training, a batch statistic is the statistic of the batch at hand.
            Op::BatchStat { slot } => match self.g.stats.get(slot as usize) {
                Some(stat) => (self.name(&stat.name), Prec::Atom),
                None => self.render(a(0), false),
            },
            _ => self.generic(id),
        }
    }

    /// `c x` for a constant `c`.
    fn scaled(&self, c: f64, x: NodeId) -> (String, Prec) {
        if c == 1.0 {
            return self.render(x, false);
        }
        if c == -1.0 {
            return (format!("-{}", self.operand(x, Prec::Product)), Prec::Sum);
        }
        let s = format!("{} {}", number(c), self.operand(x, Prec::Product));
        (s, if c < 0.0 { Prec::Sum } else { Prec::Product })
    }

    fn div(&self, a: NodeId, b: NodeId) -> (String, Prec) {
        let st = self.style;
        let slash = |s: String| {
            if st == Style::Text && s.contains('/') && !s.starts_with('(') {
                format!("({s})")
            } else {
                s
            }
        };
        let den = slash(self.operand(b, Prec::Atom));
        match self.constant(a) {
            Some(c) if c < 0.0 => (format!("-{}", st.frac(&number(-c), &den)), Prec::Sum),
            _ => (
                st.frac(&slash(self.operand(a, Prec::Atom)), &den),
                Prec::Product,
            ),
        }
    }

    /// `softmax_{y_i}[f]`: entry `y` of a vector, as the spec writes a class's probability.
    fn pick_label(&self, x: NodeId, y: NodeId) -> (String, Prec) {
        let st = self.style;
        let label = self.render(y, false).0;
        let n = self.g.node(x);
        let (name, arg) = match n.op {
            Op::Softmax if !self.labels.contains_key(&x) && x.index() < self.fwd_len => {
                ("softmax".to_string(), self.render(n.args[0], false).0)
            }
            _ => {
                return (
                    format!("[{}]_{{{label}}}", self.render(x, false).0),
                    Prec::Atom,
                );
            }
        };
        let call = match st {
            Style::Text => format!("{name}_{{{label}}}[{arg}]"),
            Style::Latex => format!("\\mathrm{{{name}}}_{{{label}}}[{arg}]"),
        };
        (call, Prec::Atom)
    }

    /// Any other op, written as its IR name applied to its arguments.
    fn generic(&self, id: NodeId) -> (String, Prec) {
        let n = self.g.node(id);
        let args: Vec<String> = n.args.iter().map(|a| self.render(*a, false).0).collect();
        (
            self.style.call(&n.op.to_string(), &args.join(", ")),
            Prec::Atom,
        )
    }

    fn broadcast(&self, id: NodeId) -> (String, Prec) {
        let n = self.g.node(id);
        let from = self.g.shape(n.args[0]);
        let to = n.shape;
        // A column repeated over the columns of a matrix: `β 𝟏ᵀ`.
        if from.rows == to.rows && to_cols(to) > 1 && to_cols(from) == 1 {
            let x = self.operand(n.args[0], Prec::Product);
            let st = self.style;
            return (
                format!("{x} {}{}", st.ones(), st.transpose()),
                Prec::Product,
            );
        }
        self.render(n.args[0], false)
    }

    fn add(&self, a: NodeId, b: NodeId) -> (String, Prec) {
        match (self.constant(a), self.constant(b)) {
            (Some(0.0), _) => return self.render(b, false),
            (_, Some(0.0)) => return self.render(a, false),
            _ => {}
        }
        let left = self.operand(a, Prec::Sum);
        let (right, _) = self.render(b, false);
        match right.strip_prefix('-') {
            Some(r) => (format!("{left} - {}", r.trim_start()), Prec::Sum),
            None => (format!("{left} + {right}"), Prec::Sum),
        }
    }

    /// Whether a node is `sign[ReLU[f]]`, ReLU's derivative: then `f`.
    fn relu_step(&self, id: NodeId) -> Option<NodeId> {
        let n = self.g.node(id);
        if n.op != Op::Unary(Unary::Sign) {
            return None;
        }
        let inner = self.g.node(n.args[0]);
        (inner.op == Op::Unary(Unary::Relu)).then(|| inner.args[0])
    }

    /// Whether a value is one number (per example or in all) spread by a broadcast.
    fn is_scalar(&self, id: NodeId) -> bool {
        let n = self.g.node(id);
        let shape = match n.op {
            Op::Broadcast => self.g.shape(n.args[0]),
            _ => n.shape,
        };
        shape.rows == 1 && matches!(shape.cols, Cols::Fixed(1) | Cols::Batch(1))
    }

    fn mul(&self, a: NodeId, b: NodeId) -> (String, Prec) {
        let st = self.style;
        // A constant factor is `coefficient`'s (see `op`).
        for (m, x) in [(a, b), (b, a)] {
            if let Some(f) = self.relu_step(m) {
                let ind = st.indicator(&self.render(f, false).0);
                let other = self.operand(x, Prec::Atom);
                return (format!("{ind} {} {other}", st.hadamard()), Prec::Hadamard);
            }
        }
        for (s, x) in [(a, b), (b, a)] {
            if self.is_scalar(s) && !(self.is_scalar(x) && s == b) {
                let left = self.operand(s, Prec::Product);
                let right = self.operand(x, Prec::Product);
                return (format!("{left} {right}"), Prec::Product);
            }
        }
        let (left, p) = self.render(a, false);
        let left = match p {
            Prec::Hadamard | Prec::Atom => left,
            _ => format!("({left})"),
        };
        let right = self.operand(b, Prec::Atom);
        (format!("{left} {} {right}", st.hadamard()), Prec::Hadamard)
    }

    fn unary(&self, u: Unary, x: NodeId) -> (String, Prec) {
        let st = self.style;
        match u {
            Unary::Neg => (format!("-{}", self.operand(x, Prec::Product)), Prec::Sum),
            Unary::Powf(p) => (st.power(&self.operand(x, Prec::Atom), p.0), Prec::Atom),
            Unary::Sqrt => (st.sqrt(&self.operand(x, Prec::Atom)), Prec::Atom),
            Unary::Recip => (st.frac("1", &self.operand(x, Prec::Atom)), Prec::Product),
            Unary::Abs => (format!("|{}|", self.render(x, false).0), Prec::Atom),
            Unary::Relu => (st.call("ReLU", &self.render(x, false).0), Prec::Atom),
            Unary::Sign => match self.relu_step_arg(x) {
                Some(f) => (st.indicator(&self.render(f, false).0), Prec::Atom),
                None => (st.call("sign", &self.render(x, false).0), Prec::Atom),
            },
            other => (
                st.call(&other.to_string(), &self.render(x, false).0),
                Prec::Atom,
            ),
        }
    }

    fn relu_step_arg(&self, x: NodeId) -> Option<NodeId> {
        let inner = self.g.node(x);
        (inner.op == Op::Unary(Unary::Relu)).then(|| inner.args[0])
    }

    fn matmul(&self, id: NodeId, ta: bool, tb: bool) -> (String, Prec) {
        let n = self.g.node(id);
        let st = self.style;
        let side = |arg: NodeId, t: bool| {
            let inner = self.g.node(arg);
            let transposed = matches!(inner.op, Op::Transpose | Op::ExampleTranspose)
                && (arg.index() >= self.fwd_len || self.forward_name(arg).is_none())
                && !self.labels.contains_key(&arg);
            if t && transposed {
                self.operand(inner.args[0], Prec::Product)
            } else if t {
                st.transposed(&self.operand(arg, Prec::Atom))
            } else {
                self.operand(arg, Prec::Product)
            }
        };
        let body = format!("{} {}", side(n.args[0], ta), side(n.args[1], tb));
        // A product that contracts over the examples: `∑_i g hᵀ`, per example `g hᵀ`.
        let over_examples =
            !n.shape.cols.is_batch() && n.args.iter().all(|a| self.g.shape(*a).cols.is_batch());
        if over_examples && !self.per_example {
            return (format!("{}{body}", st.sum_i()), Prec::Sum);
        }
        (body, Prec::Product)
    }

    fn sum_cols(&self, x: NodeId) -> (String, Prec) {
        let st = self.style;
        match self.g.shape(x).cols {
            Cols::Batch(1) if self.per_example => self.render(x, false),
            Cols::Batch(1) => (
                format!("{}{}", st.sum_i(), self.operand(x, Prec::Product)),
                Prec::Sum,
            ),
            Cols::Batch(_) if self.per_example => (
                format!("{} {}", self.operand(x, Prec::Product), st.ones()),
                Prec::Product,
            ),
            Cols::Batch(_) => (
                format!(
                    "{}{} {}",
                    st.sum_i(),
                    self.operand(x, Prec::Product),
                    st.ones()
                ),
                Prec::Sum,
            ),
            Cols::Fixed(_) => (
                format!("{} {}", self.operand(x, Prec::Product), st.ones()),
                Prec::Product,
            ),
        }
    }
}

fn superscript(k: usize) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    k.to_string()
        .chars()
        .map(|c| DIGITS[c.to_digit(10).unwrap_or(0) as usize])
        .collect()
}

fn to_cols(s: crate::ir::Shape) -> usize {
    match s.cols {
        Cols::Fixed(c) | Cols::Batch(c) => c,
    }
}
