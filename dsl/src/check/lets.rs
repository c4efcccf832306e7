//! `let` functions: recursion among them, and the budget on inlining their bodies.
//!
//! A `let` function is inlined at every call (checking follows its body with the arguments'
//! shapes, lowering copies it), so a function that calls itself, directly or through others,
//! would never finish: every such cycle is `E0218`, whether or not the function is used.
//! Inlining can also grow exponentially (`let f_{k+1}[z] = f_k[f_k[z]]`): the terms checked
//! through calls of `let` functions are counted per model, a call of a sub-model counting one
//! plus what the sub-model inlined (`A_{k+1}` calling `A_k` twice), and beyond
//! [`MAX_INLINED`] the outermost call is `E0407`.

use super::ModelCx;
use crate::ast::{self, ExprKind};
use crate::diag::{Code, Diagnostic, Span};
use std::collections::BTreeMap;

/// The most terms one model may check through calls of `let` functions (each call counts the
/// terms of the body it inlines) and of sub-models (one per call, plus what the callee
/// inlined).
pub const MAX_INLINED: usize = 100_000;

impl ModelCx<'_, '_> {
    /// Reports every cycle of calls among the model's `let` functions (`E0218`) and records
    /// their names, which are then defined as poisoned so that their uses stay quiet.
    pub(super) fn let_cycles(&mut self, model: &ast::Model) {
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut lets: Vec<(String, Span, &ast::Expr)> = Vec::new();
        for st in &model.stmts {
            if let ast::StmtKind::Let {
                name,
                formals,
                body,
            } = &st.kind
                && !formals.is_empty()
            {
                let canon = self.canonical_plain(name);
                index.entry(canon.clone()).or_insert(lets.len());
                lets.push((canon, name.span, body));
            }
        }
        let edges: Vec<Vec<usize>> = lets
            .iter()
            .map(|(_, _, body)| {
                let mut out = Vec::new();
                crate::syntax::walk(body, &mut |e| {
                    if let ExprKind::Call { func, .. } = &e.kind {
                        let full = self.canonical_plain(func);
                        let base = crate::names::build(&func.word, func.primes, false, &[]);
                        if let Some(&j) = index.get(&full).or_else(|| index.get(&base)) {
                            out.push(j);
                        }
                    }
                });
                out
            })
            .collect();
        for cycle in cycles(&edges) {
            let names: Vec<String> = cycle.iter().map(|&i| format!("`{}`", lets[i].0)).collect();
            let first = &lets[cycle[0]];
            let message = match names.as_slice() {
                [one] => format!("{one} calls itself"),
                [a, b] => format!("{a} and {b} call each other"),
                [rest @ .., last] => format!("{} and {last} call each other", rest.join(", ")),
                [] => continue,
            };
            let mut d = Diagnostic::new(Code::E0218, first.1, message)
                .label("defined in terms of itself")
                .help("a `let` function is inlined at every call, so it cannot be recursive; repeat a layer with a family instead, `h_{k+1} = a[h_k] for k ∈ {1 … K}`");
            for &i in &cycle[1..] {
                d = d.with(lets[i].1, "part of the cycle");
            }
            self.error(d);
            for &i in &cycle {
                self.recursive.insert(lets[i].0.clone());
            }
        }
    }

    /// Counts `terms` more inlined terms for a call at `span`; false beyond [`MAX_INLINED`],
    /// after one `E0407` at the outermost call being expanded.
    pub(super) fn inline_budget(&mut self, terms: usize, callee: &str, span: Span) -> bool {
        if self.inlined > MAX_INLINED {
            return false;
        }
        self.inlined = self.inlined.saturating_add(terms);
        if self.inlined <= MAX_INLINED {
            return true;
        }
        let (outer, at) = self
            .expanding
            .first()
            .cloned()
            .unwrap_or_else(|| (callee.to_string(), span));
        self.error(
            Diagnostic::new(
                Code::E0407,
                at,
                format!("calling `{outer}` here inlines more than {MAX_INLINED} terms"),
            )
            .label("expands too far")
            .note(format!("each call copies the function's body; `{callee}` was being inlined when the budget ran out"))
            .help("compute an intermediate value once with an equation, `h_{k+1} = f[h_k] for k ∈ {1 … K}`, and use it by name"),
        );
        false
    }
}

/// The cycles of a directed graph given by adjacency lists: its strongly connected
/// components with more than one node or with a self-loop, each sorted, in order of their
/// smallest node. Tarjan's algorithm with an explicit stack, so any depth is safe.
fn cycles(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let mut order = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if order[root] != UNSEEN {
            continue;
        }
        // (node, index of the next edge to follow)
        let mut work = vec![(root, 0usize)];
        order[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut e)) = work.last_mut() {
            if let Some(&w) = edges[v].get(*e) {
                *e += 1;
                if order[w] == UNSEEN {
                    order[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 || edges[v].contains(&v) {
                    comp.sort_unstable();
                    out.push(comp);
                }
            }
        }
    }
    out.sort_unstable_by_key(|c| c[0]);
    out
}

#[cfg(test)]
mod tests {
    use super::cycles;

    #[test]
    fn cycles_are_found_and_only_cycles() {
        assert_eq!(cycles(&[vec![0]]), vec![vec![0]]);
        assert_eq!(cycles(&[vec![1], vec![0], vec![0]]), vec![vec![0, 1]]);
        assert!(cycles(&[vec![1], vec![2], vec![]]).is_empty());
        let chain: Vec<Vec<usize>> = (0..100_000).map(|i| vec![(i + 1) % 100_000]).collect();
        assert_eq!(cycles(&chain)[0].len(), 100_000);
    }
}
