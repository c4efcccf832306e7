//! Max-norm constraints, `‖w_j‖ ≤ c` (the course notes' regularisers: "MaxNorm"): a line of
//! the model that is no equation but a rule for training — after every optimiser step, each
//! column `w_j` of the parameter `w` whose norm exceeds `c` is scaled back onto the sphere of
//! radius `c` (a projection onto the ball). A single subscript on a matrix is its column, as
//! `X_t` is everywhere in the language, so with the notes' `wᵀ x` a column is one unit's
//! incoming weights. `‖w‖ ≤ c` without a subscript bounds the whole parameter (all its
//! entries). The bars must hold a parameter, or a parameter with one free index (`E0257`);
//! `c` must be a positive number (`E0258`). Checking records each constraint
//! (`ModelInfo::max_norms`) and lowering copies those of its parameters into
//! `ir::Graph::max_norms`; the runtime's optimiser applies it (`runtime::optim::MaxNorm`).

use super::ModelCx;
use super::scope::{Entry, Sym};
use crate::ast::{self, ExprKind};
use crate::diag::{Code, Diagnostic};

/// What the bars hold: the parameter's name and its column index, if any; `None` for
/// anything else. Checking and lowering read a constraint through it.
pub(crate) fn target(of: &ast::Expr) -> Option<(&ast::Name, Option<&ast::Expr>)> {
    let ExprKind::Name(n) = &of.kind else {
        return None;
    };
    match n.sub.as_slice() {
        [] => Some((n, None)),
        [j] => Some((n, Some(j))),
        _ => None,
    }
}

impl ModelCx<'_, '_> {
    /// Every `‖w_j‖ ≤ c` of the model.
    pub(super) fn max_norms(&mut self, model: &ast::Model) {
        for m in &model.max_norms {
            self.max_norm(m);
        }
    }

    fn max_norm(&mut self, m: &ast::MaxNorm) {
        let bad_target = |what: String| {
            Diagnostic::new(Code::E0257, m.of.span, what)
                .label("not a parameter")
                .help("write `‖w‖ ≤ c` to bound a parameter, or `‖w_j‖ ≤ c` to bound each column of a matrix parameter")
        };
        let Some((n, index)) = target(&m.of) else {
            self.error(bad_target(
                "a max-norm constraint bounds a parameter or its columns".into(),
            ));
            return;
        };
        let mut base = n.clone();
        base.sub.clear();
        let name = self.canonical_plain(&base);
        let param = match self.scope.get(&name) {
            Some(Entry {
                sym: Sym::Param(v, _),
                ..
            }) => v.clone(),
            _ => {
                self.error(bad_target(format!("`{name}` is not a parameter")));
                return;
            }
        };
        if let Some(j) = index {
            let free = matches!(&j.kind, ExprKind::Name(v) if v.sub.is_empty()
                && !self.scope.contains_key(&self.canonical_plain(v)));
            if !free || !matches!(param.shape, super::shape::Shape::Mat(..)) {
                self.error(
                    Diagnostic::new(
                        Code::E0257,
                        j.span,
                        format!("`{name}_j` bounds each column of a matrix: the subscript must be an index of its own"),
                    )
                    .label(format!("`{name}` : {}", param.shape.describe()))
                    .help(format!("write `‖{name}_j‖ ≤ c` for every column of a matrix, or `‖{name}‖ ≤ c` for the whole parameter")),
                );
                return;
            }
        }
        match self.eval_quiet(&m.bound) {
            Some(c) if c > 0.0 && c.is_finite() => self.bounds.push(crate::ir::MaxNorm {
                param: name,
                columns: index.is_some(),
                bound: c,
            }),
            _ => self.error(
                Diagnostic::new(
                    Code::E0258,
                    m.bound.span,
                    "the radius of a max-norm constraint must be a positive number",
                )
                .label("not a positive number")
                .help("give a number or a hyper-parameter with a positive value, e.g. `‖w_j‖ ≤ c` with `[c = 3]`"),
            ),
        }
    }
}
