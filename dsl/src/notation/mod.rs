//! The backward pass in the book's notation (`nnspec grad`): the gradient graph that `ad`
//! builds, read back as equations like eqs. 7.18–7.26, one per line, each with the spec line
//! it comes from.
//!
//! One [`Section`] per loss. An equation is printed for every derivative of a named value
//! (`∂ℓ_i/∂h_3 = Ω_3ᵀ ∂ℓ_i/∂f_3`), every parameter's gradient, and every shared
//! subexpression (named after the forward value it is the derivative of when that is short,
//! `∂ℓ_i/∂(β_2 + Ω_2 h_2)`, else `g_1`, `g_2`, …). When the loss is a sum over the examples
//! of one number per example (times a constant) and nothing else mixes the examples, the
//! equations are per example (`∂ℓ_i/∂…`, eq. 7.25) and `∂L/∂φ = ∑_i ∂ℓ_i/∂φ`; otherwise they
//! are of `L`, a per-example value standing for example `i`'s, sums over examples written
//! `∑_i`. Families: equations that read the same with one number of their subscripts
//! replaced by `k` (`f_2` → `f_{k-1}` at `k = 3`) are printed once, `for k ∈ {3, 2, 1}`.

mod expr;
mod style;

pub use style::Style;

use crate::ad;
use crate::ir::{Cols, Graph, NodeId, Op, ShapeError, Unary};
use expr::{Cx, Label};
use std::cell::RefCell;
use std::collections::HashMap;

/// One printed equation.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    /// The left side (`∂ℓ_i/∂β_k`).
    pub lhs: String,
    /// The right side.
    pub rhs: String,
    /// A family's clause (`for k ∈ {3, 2, 1}`), when the equation stands for several.
    pub family: Option<String>,
    /// The spec lines it comes from (1-based).
    pub lines: Vec<usize>,
}

/// The backward pass of one loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The model's name.
    pub model: String,
    /// The loss's name.
    pub loss: String,
    /// Whether the equations are per example (`ℓ_i`).
    pub per_example: bool,
    /// The equations, in the order the backward pass computes them.
    pub equations: Vec<Equation>,
}

/// The backward pass of every loss of a model, in `style`, with spec lines taken from `src`.
/// Runs on a large stack (`with_big_stack`): formulas are written recursively.
pub fn sections(forward: &Graph, src: &str, style: Style) -> Result<Vec<Section>, ShapeError> {
    crate::with_big_stack(|| sections_here(forward, src, style))
}

fn sections_here(forward: &Graph, src: &str, style: Style) -> Result<Vec<Section>, ShapeError> {
    forward
        .losses
        .iter()
        .map(|loss| section(forward, &loss.name, &loss.wrt, src, style))
        .collect()
}

/// The equations as text: a heading per loss, one equation per line, the spec line after `#`.
pub fn text(forward: &Graph, src: &str) -> Result<String, ShapeError> {
    let mut out = String::new();
    for s in sections(forward, src, Style::Text)? {
        out.push_str(&heading(&s, Style::Text));
        out.push('\n');
        let width = |e: &Equation| format!("{} = {}", e.lhs, e.rhs).chars().count();
        let w = s.equations.iter().map(width).max().unwrap_or(0).min(64);
        let fw = s
            .equations
            .iter()
            .filter_map(|e| e.family.as_ref().map(|f| f.chars().count()))
            .max()
            .unwrap_or(0);
        for e in &s.equations {
            let eq = format!("{} = {}", e.lhs, e.rhs);
            let pad = w.saturating_sub(eq.chars().count());
            let fam = e.family.as_deref().unwrap_or("");
            let fpad = fw.saturating_sub(fam.chars().count());
            let line = format!(
                "  {eq}{}  {fam}{}  # {}",
                " ".repeat(pad),
                " ".repeat(fpad),
                lines(&e.lines)
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if s.per_example {
            out.push_str(&format!(
                "  ∂{0}/∂φ = ∑_i ∂ℓ_i/∂φ for every parameter φ\n",
                s.loss
            ));
        }
    }
    Ok(out)
}

/// The equations as a LaTeX document (article, amsmath, amssymb) that compiles.
pub fn latex(forwards: &[Graph], src: &str) -> Result<String, ShapeError> {
    let mut out = String::from(
        "\\documentclass{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amsmath,amssymb}\n\
         \\usepackage[margin=2cm]{geometry}\n\\begin{document}\n",
    );
    for g in forwards {
        for s in sections(g, src, Style::Latex)? {
            out.push_str(&format!("\\section*{{{}}}\n", heading(&s, Style::Latex)));
            out.push_str("\\begin{align*}\n");
            for e in &s.equations {
                let fam = e.family.as_deref().unwrap_or("");
                out.push_str(&format!(
                    "{} &= {} && {fam} && \\text{{{}}} \\\\\n",
                    e.lhs,
                    e.rhs,
                    lines(&e.lines)
                ));
            }
            if s.per_example {
                out.push_str(&format!(
                    "\\frac{{\\partial {0}}}{{\\partial \\phi}} &= \\sum_i \\frac{{\\partial \\ell_i}}{{\\partial \\phi}} && \\text{{every parameter }} \\phi\n",
                    style::Style::Latex.name(&s.loss, None, &mut Vec::new())
                ));
            }
            out.push_str("\\end{align*}\n");
        }
    }
    out.push_str("\\end{document}\n");
    Ok(out)
}

fn heading(s: &Section, style: Style) -> String {
    let loss = style.name(&s.loss, None, &mut Vec::new());
    match (style, s.per_example) {
        (Style::Text, true) => format!(
            "{}: the backward pass of {loss} = ∑_i ℓ_i, for each example i",
            s.model
        ),
        (Style::Text, false) => format!("{}: the backward pass of {loss}", s.model),
        (Style::Latex, true) => format!(
            "{}: the backward pass of ${loss} = \\sum_i \\ell_i$, for each example $i$",
            s.model
        ),
        (Style::Latex, false) => format!("{}: the backward pass of ${loss}$", s.model),
    }
}

fn lines(ls: &[usize]) -> String {
    let list: Vec<String> = ls.iter().map(usize::to_string).collect();
    match ls.len() {
        1 => format!("line {}", list[0]),
        _ => format!("lines {}", list.join(", ")),
    }
}

/// The per-example term of a loss `L = c ∑_i v_i` (a sum over the examples of one number per
/// example, times constants), if nothing else on the way to the loss mixes the examples.
fn per_example_term(g: &Graph, loss: NodeId) -> Option<NodeId> {
    let is_const = |id: NodeId| matches!(g.node(id).op, Op::Const(_));
    let mut at = loss;
    let mut chain = vec![loss];
    let term = loop {
        let n = g.node(at);
        at = match n.op {
            Op::Unary(Unary::Neg) => n.args[0],
            Op::Mul | Op::Div if is_const(n.args[1]) => n.args[0],
            Op::Mul if is_const(n.args[0]) => n.args[1],
            Op::SumCols if g.shape(n.args[0]).cols == Cols::EXAMPLE => break n.args[0],
            _ => return None,
        };
        chain.push(at);
    };
    let ancestors = g.ancestors([loss]);
    let mixes = |i: usize| {
        let n = &g.nodes[i];
        let batch_in = n.args.iter().any(|a| g.shape(*a).cols.is_batch());
        matches!(n.op, Op::BatchStat { .. }) || (batch_in && !n.shape.cols.is_batch())
    };
    let clean = (0..g.nodes.len())
        .filter(|&i| ancestors[i] && !chain.contains(&NodeId(i as u32)))
        .all(|i| !mixes(i));
    clean.then_some(term)
}

/// The nodes whose name another node also has, numbered in graph order.
fn occurrences(g: &Graph) -> HashMap<NodeId, usize> {
    let mut by_name: HashMap<&str, Vec<NodeId>> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if let Some(name) = &n.name {
            by_name.entry(name).or_default().push(NodeId(i as u32));
        }
    }
    by_name
        .into_values()
        .filter(|ids| ids.len() > 1)
        .flat_map(|ids| ids.into_iter().enumerate().map(|(k, id)| (id, k + 1)))
        .collect()
}

/// What prints a line: a labelled node, or a parameter's gradient.
#[derive(Clone, Copy)]
enum Line {
    Label(NodeId),
    Grad(u32, NodeId),
}

fn section(
    forward: &Graph,
    loss: &str,
    wrt: &[u32],
    src: &str,
    style: Style,
) -> Result<Section, ShapeError> {
    let (g, ct) = ad::grad_cotangents(forward, loss, wrt, &[])?;
    let fwd_len = forward.nodes.len();
    let loss_id = g
        .output(loss)
        .ok_or_else(|| ShapeError::Malformed(format!("no output `{loss}`")))?;
    let per_example = per_example_term(&g, loss_id).is_some();
    let grads: Vec<(u32, NodeId)> = g
        .grads
        .iter()
        .filter(|gr| gr.loss == loss)
        .filter_map(|gr| match gr.wrt {
            crate::ir::Wrt::Param(p) => Some((p, gr.node)),
            crate::ir::Wrt::Input(_) => None,
        })
        .collect();
    let mut cx = Cx {
        g: &g,
        style,
        fwd_len,
        per_example,
        num: if per_example {
            style.name("ℓ_i", None, &mut Vec::new())
        } else {
            style.name(loss, None, &mut Vec::new())
        },
        labels: HashMap::new(),
        occurrence: occurrences(forward),
        at: None,
        seen: RefCell::new(Vec::new()),
        memo: RefCell::new(HashMap::new()),
    };
    cx.labels = labels(&cx, &ct, &grads);
    cx.memo.borrow_mut().clear();
    let mut order: Vec<(usize, usize, Line)> = cx
        .labels
        .keys()
        .map(|id| (id.index(), 0, Line::Label(*id)))
        .collect();
    order.extend(
        grads
            .iter()
            .map(|&(p, id)| (id.index(), 1 + p as usize, Line::Grad(p, id))),
    );
    order.sort_by_key(|(i, k, _)| (*i, *k));
    let printed: Vec<(String, String, Option<String>, usize)> = order
        .iter()
        .map(|(_, _, line)| {
            let (lhs, rhs, key) = print_line(&mut cx, *line);
            let node = match line {
                Line::Label(id) | Line::Grad(_, id) => *id,
            };
            let at = g.spans[node.index()].start as usize;
            (lhs, rhs, key, crate::diag::line_col(src, at).0)
        })
        .collect();
    Ok(Section {
        model: g.name.clone(),
        loss: loss.to_string(),
        per_example,
        equations: families(&mut cx, &order, printed),
    })
}

/// The backward nodes that get an equation of their own, and how they are referred to.
fn labels(cx: &Cx, ct: &[Option<NodeId>], grads: &[(u32, NodeId)]) -> HashMap<NodeId, Label> {
    let g = cx.g;
    let reach = g.ancestors(grads.iter().map(|(_, id)| *id));
    let backward = |i: usize| i >= cx.fwd_len && reach[i];
    // Which forward value each backward node is the derivative of: a named one, the latest.
    let mut cot: HashMap<NodeId, NodeId> = HashMap::new();
    for (f, c) in ct.iter().enumerate().take(cx.fwd_len) {
        let Some(b) = *c else { continue };
        if !backward(b.index()) || matches!(g.nodes[f].op, Op::Input(_) | Op::Param(_)) {
            continue;
        }
        let named = |i: usize| g.nodes[i].name.is_some();
        let better = cot
            .get(&b)
            .is_none_or(|old| named(f) || !named(old.index()));
        if better {
            cot.insert(b, NodeId(f as u32));
        }
    }
    let mut users = vec![0usize; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        if backward(i) {
            for a in &n.args {
                users[a.index()] += 1;
            }
        }
    }
    let mut out = HashMap::new();
    let mut temps = 0;
    for i in (cx.fwd_len..g.nodes.len()).filter(|&i| backward(i)) {
        let id = NodeId(i as u32);
        let trivial = matches!(
            g.nodes[i].op,
            Op::Broadcast | Op::StopGradient | Op::Transpose | Op::Const(_)
        ) || cx.constant(id).is_some();
        if trivial {
            continue;
        }
        let of = cot.get(&id).copied();
        let named = of.is_some_and(|f| g.node(f).name.is_some());
        if named {
            out.insert(id, Label::Cot(of.unwrap_or(id)));
        } else if users[i] >= 2 {
            let short = of.filter(|f| cx.render(*f, true).0.chars().count() <= 28);
            out.insert(
                id,
                match short {
                    Some(f) => Label::Cot(f),
                    None => {
                        temps += 1;
                        Label::Temp(temps)
                    }
                },
            );
        }
    }
    out
}

/// A line's two sides, and its family key: the line printed with the largest number of its
/// subscripts as the index `k` (`None` when its left side has no number).
fn print_line(cx: &mut Cx, line: Line) -> (String, String, Option<String>) {
    cx.at = None;
    cx.seen.borrow_mut().clear();
    let (lhs, rhs) = sides(cx, line);
    let max = cx.seen.borrow().iter().copied().max();
    let key = max.and_then(|m| {
        cx.at = Some(m);
        let (l, r) = sides(cx, line);
        cx.at = None;
        l.contains('k').then(|| format!("{l} = {r}"))
    });
    (
        lhs,
        rhs,
        key.map(|k| format!("{k}\u{0}{}", max.unwrap_or(0))),
    )
}

/// Collapses the lines of one form into one equation per family.
fn families(
    cx: &mut Cx,
    order: &[(usize, usize, Line)],
    printed: Vec<(String, String, Option<String>, usize)>,
) -> Vec<Equation> {
    let key_of = |k: &Option<String>| {
        k.as_ref()
            .and_then(|k| k.split_once('\u{0}'))
            .map(|(form, m)| (form.to_string(), m.parse::<i64>().unwrap_or(0)))
    };
    let mut members: HashMap<String, Vec<(usize, i64)>> = HashMap::new();
    for (i, p) in printed.iter().enumerate() {
        if let Some((form, m)) = key_of(&p.2) {
            members.entry(form).or_default().push((i, m));
        }
    }
    let mut done = vec![false; printed.len()];
    let mut out = Vec::new();
    for (i, (lhs, rhs, key, line)) in printed.iter().enumerate() {
        if done[i] {
            continue;
        }
        // A family is a run of consecutive indices (`θ_{31}`, `θ_{21}` are two subscripts).
        let run = |m: &&Vec<(usize, i64)>| {
            m.len() > 1
                && (m.windows(2).all(|w| w[1].1 - w[0].1 == 1)
                    || m.windows(2).all(|w| w[0].1 - w[1].1 == 1))
        };
        let group = key_of(key).and_then(|(form, _)| members.get(&form).filter(run));
        match group {
            Some(group) => {
                let ks: Vec<i64> = group.iter().map(|(_, m)| *m).collect();
                let mut ls: Vec<usize> = group.iter().map(|(j, _)| printed[*j].3).collect();
                ls.sort_unstable();
                ls.dedup();
                for (j, _) in group {
                    done[*j] = true;
                }
                let (l, r) = family_sides(cx, order[i].2, ks[0]);
                out.push(Equation {
                    lhs: l,
                    rhs: r,
                    family: Some(cx.style.family(&ks)),
                    lines: ls,
                });
            }
            None => out.push(Equation {
                lhs: lhs.clone(),
                rhs: rhs.clone(),
                family: None,
                lines: vec![*line],
            }),
        }
    }
    out
}

fn family_sides(cx: &mut Cx, line: Line, at: i64) -> (String, String) {
    cx.at = Some(at);
    let r = sides(cx, line);
    cx.at = None;
    r
}

/// The two sides of a line as printed now (with `cx.at` as the family index, if set).
fn sides(cx: &Cx, line: Line) -> (String, String) {
    match line {
        Line::Label(id) => {
            let label = cx.labels.get(&id).cloned().unwrap_or(Label::Temp(0));
            (cx.label_text(&label), cx.render(id, true).0)
        }
        Line::Grad(p, id) => {
            let name = cx.g.params.get(p as usize).map_or("?", |s| s.name.as_str());
            (
                cx.style.partial(&cx.num, &cx.name(name)),
                cx.render(id, false).0,
            )
        }
    }
}
