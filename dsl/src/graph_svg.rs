//! The computation graph as an SVG picture (`nnspec graph`): the optimised training graph
//! (`training_graph`) with its plan (`opt::plan`), laid out in layers top to bottom.
//!
//! Layout: a node's layer is the longest path to it from a node with no shown argument; the
//! nodes of a layer are ordered by the mean position of their arguments (a few barycentric
//! sweeps, which keep crossings down). A node is a box labelled with its spec name (or its
//! op) and shape in the book's notation (`h_1 : ℝ^{64×B}`), its op and buffer below; a fusion
//! group of the plan is a shaded rounded rectangle around its members. Constants are left
//! out; an edge that skips layers is dashed. Without `grad`, only the forward pass is drawn.

use crate::ir::{Cols, Graph, NodeId, Op, ShapeError};
use crate::opt::plan::{Plan, plan};
use std::fmt::Write;

const ROW: f64 = 84.0;
const BOX_H: f64 = 40.0;
const GAP: f64 = 24.0;
const CHAR_W: f64 = 7.4;
const MARGIN: f64 = 30.0;

/// One drawn node.
struct Item {
    id: NodeId,
    label: String,
    detail: String,
    layer: usize,
    x: f64,
    w: f64,
    args: Vec<usize>,
    class: &'static str,
}

/// The SVG text of a model's graph: its forward pass, and with `grad` its backward pass too.
pub fn render(forward: &Graph, grad: bool) -> Result<String, ShapeError> {
    let g = crate::training_graph(forward)?;
    let p = plan(&g);
    let fwd = g.forward_nodes();
    let shown: Vec<bool> = (0..g.nodes.len())
        .map(|i| (grad || fwd[i]) && !matches!(g.nodes[i].op, Op::Const(_)))
        .collect();
    let mut items = items(&g, &p, &shown, &fwd);
    layers(&mut items);
    order(&mut items);
    Ok(draw(&g, &p, &items))
}

fn shape(s: crate::ir::Shape) -> String {
    match s.cols {
        Cols::Fixed(1) if s.rows == 1 => "ℝ".into(),
        Cols::Fixed(1) => format!("ℝ^{{{}}}", s.rows),
        Cols::Fixed(c) => format!("ℝ^{{{}×{c}}}", s.rows),
        Cols::Batch(1) => format!("ℝ^{{{}×B}}", s.rows),
        Cols::Batch(n) => format!("ℝ^{{{}×{n}B}}", s.rows),
    }
}

fn items(g: &Graph, p: &Plan, shown: &[bool], fwd: &[bool]) -> Vec<Item> {
    let mut index = vec![usize::MAX; g.nodes.len()];
    let mut out = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if !shown[i] {
            continue;
        }
        let id = NodeId(i as u32);
        let (name, class) = match n.op {
            Op::Input(k) => (g.inputs.get(k as usize).map(|s| s.name.clone()), "input"),
            Op::Param(k) => (g.params.get(k as usize).map(|s| s.name.clone()), "param"),
            _ => (n.name.clone(), if fwd[i] { "forward" } else { "backward" }),
        };
        let grad_of = g.outputs.iter().find(|(o, out)| *out == id && g.is_grad(o));
        let name = grad_of.map(|(o, _)| o.clone()).or(name);
        let op = n.op.to_string();
        let label = match &name {
            Some(name) => format!("{name} : {}", shape(n.shape)),
            None => format!("{op} : {}", shape(n.shape)),
        };
        let mut detail = if name.is_some() { op } else { String::new() };
        if let Some(b) = p.buffer[i] {
            detail = format!("{detail} · buffer {b}")
                .trim_start_matches(" · ")
                .to_string();
        } else if let Some(root) = p.fused_into[i] {
            detail = format!("{detail} · fused into %{}", root.0)
                .trim_start_matches(" · ")
                .to_string();
        }
        let chars = label.chars().count().max(detail.chars().count());
        index[i] = out.len();
        out.push(Item {
            id,
            label,
            detail,
            layer: 0,
            x: 0.0,
            w: chars as f64 * CHAR_W + 16.0,
            args: n
                .args
                .iter()
                .filter(|a| shown[a.index()])
                .map(|a| index[a.index()])
                .collect(),
            class,
        });
    }
    out
}

/// Longest-path layering: every node below all of its arguments.
fn layers(items: &mut [Item]) {
    for i in 0..items.len() {
        let l = items[i]
            .args
            .iter()
            .map(|&a| items[a].layer + 1)
            .max()
            .unwrap_or(0);
        items[i].layer = l;
    }
    // Then each node as late as its users allow: a parameter, or a broadcast of one, sits
    // just above the node that reads it.
    let mut first_user = vec![usize::MAX; items.len()];
    for i in (0..items.len()).rev() {
        if first_user[i] != usize::MAX {
            items[i].layer = first_user[i] - 1;
        }
        let l = items[i].layer;
        for &a in &items[i].args {
            first_user[a] = first_user[a].min(l);
        }
    }
}

/// Barycentric ordering within layers, then x positions, each layer centred.
fn order(items: &mut [Item]) {
    let depth = items.iter().map(|i| i.layer).max().unwrap_or(0) + 1;
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, it) in items.iter().enumerate() {
        rows[it.layer].push(i);
    }
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for (i, it) in items.iter().enumerate() {
        for &a in &it.args {
            users[a].push(i);
        }
    }
    let mut pos = vec![0.0; items.len()];
    let place = |rows: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for row in rows {
            for (k, &i) in row.iter().enumerate() {
                pos[i] = k as f64 / row.len().max(1) as f64;
            }
        }
    };
    place(&rows, &mut pos);
    for sweep in 0..6 {
        for row in rows.iter_mut() {
            let key = |i: usize| {
                let near: &[usize] = if sweep % 2 == 0 || users[i].is_empty() {
                    &items[i].args
                } else {
                    &users[i]
                };
                if near.is_empty() {
                    pos[i]
                } else {
                    near.iter().map(|&a| pos[a]).sum::<f64>() / near.len() as f64
                }
            };
            let mut keyed: Vec<(f64, usize)> = row.iter().map(|&i| (key(i), i)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *row = keyed.into_iter().map(|(_, i)| i).collect();
        }
        place(&rows, &mut pos);
    }
    let widths: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|&i| items[i].w + GAP).sum::<f64>())
        .collect();
    let widest = widths.iter().copied().fold(0.0, f64::max);
    for (row, w) in rows.iter().zip(widths) {
        let mut x = MARGIN + (widest - w) / 2.0;
        for &i in row {
            items[i].x = x;
            x += items[i].w + GAP;
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn draw(g: &Graph, p: &Plan, items: &[Item]) -> String {
    let width = items.iter().map(|i| i.x + i.w).fold(0.0, f64::max) + MARGIN;
    let depth = items.iter().map(|i| i.layer).max().unwrap_or(0) + 1;
    let height = depth as f64 * ROW + 2.0 * MARGIN + 20.0;
    let y = |it: &Item| MARGIN + 20.0 + it.layer as f64 * ROW;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans, sans-serif" font-size="12">"#
    );
    s.push_str(concat!(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" ",
        "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" ",
        "fill=\"#555\"/></marker></defs>\n",
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    ));
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        MARGIN,
        esc(&g.name)
    );
    // Fusion groups: a shaded box around the members of each group.
    let mut groups: std::collections::BTreeMap<u32, Vec<&Item>> = Default::default();
    for it in items {
        if let Some(root) = p.fused_into[it.id.index()] {
            groups.entry(root.0).or_default().push(it);
        }
    }
    for (root, mut members) in groups {
        if let Some(r) = items.iter().find(|i| i.id.0 == root) {
            members.push(r);
        }
        let x0 = members.iter().map(|i| i.x).fold(f64::MAX, f64::min) - 8.0;
        let x1 = members.iter().map(|i| i.x + i.w).fold(0.0, f64::max) + 8.0;
        let y0 = members.iter().map(|i| y(i)).fold(f64::MAX, f64::min) - 8.0;
        let y1 = members.iter().map(|i| y(i)).fold(0.0, f64::max) + BOX_H + 8.0;
        let _ = writeln!(
            s,
            r##"<rect class="fusion" x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" rx="12" fill="#fde9c8" fill-opacity="0.7" stroke="#e0a040" stroke-dasharray="4 3"><title>fusion group of %{root}</title></rect>"##,
            x1 - x0,
            y1 - y0
        );
    }
    for it in items {
        for &a in &it.args {
            let from = &items[a];
            let (x1, y1) = (from.x + from.w / 2.0, y(from) + BOX_H);
            let (x2, y2) = (it.x + it.w / 2.0, y(it));
            let mid = (y1 + y2) / 2.0;
            // An edge that skips layers passes behind boxes: dashed and lighter, so it does not
            // read as entering them.
            let style = if it.layer > from.layer + 1 {
                r##"stroke="#8ab" stroke-dasharray="6 3""##
            } else {
                r##"stroke="#777""##
            };
            let _ = writeln!(
                s,
                r##"<path d="M{x1:.1},{y1:.1} C{x1:.1},{mid:.1} {x2:.1},{mid:.1} {x2:.1},{y2:.1}" fill="none" {style} stroke-width="1.1" marker-end="url(#arrow)"/>"##
            );
        }
    }
    for it in items {
        let (fill, stroke) = match it.class {
            "input" => ("#dff3e0", "#3a8a40"),
            "param" => ("#fff6c8", "#b09000"),
            "backward" => ("#fbe0e6", "#b04060"),
            _ => ("#e2ecfb", "#3060b0"),
        };
        let name = g.nodes[it.id.index()].name.clone().unwrap_or_default();
        let _ = writeln!(
            s,
            r##"<g class="node {}" id="n{}" data-name="{}"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{BOX_H}" rx="5" fill="{fill}" stroke="{stroke}"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#555">{}</text></g>"##,
            it.class,
            it.id.0,
            esc(&name),
            it.x,
            y(it),
            it.w,
            it.x + it.w / 2.0,
            y(it) + 16.0,
            esc(&it.label),
            it.x + it.w / 2.0,
            y(it) + 32.0,
            esc(&it.detail),
        );
    }
    s.push_str("</svg>\n");
    s
}
