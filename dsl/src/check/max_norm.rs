//! Max-norm constraints, `‖w_j‖ ≤ c` (the course notes' regularisers: "MaxNorm"): a line of
//! the model that is no equation but a rule for training — after every optimiser step, each
//! column `w_j` of the parameter `w` whose norm exceeds `c` is scaled back onto the sphere of
//! radius `c` (a projection onto the ball). A single subscript on a matrix is its column, as
//! `X_t` is everywhere in the language, so with the notes' `wᵀ x` a column is one unit's
//! incoming weights. `‖w‖ ≤ c` without a subscript bounds the whole parameter (all its
//! entries). The bars must hold a parameter, or a parameter with one free index (`E0257`);
//! `c` must be a positive number (`E0258`). A declared name is read whole first (`‖Ω_0‖` is
//! the parameter `Ω_0`), so a subscripted parameter's columns are `‖Ω_{0,j}‖`. Checking records each constraint
//! (`ModelInfo::max_norms`) and lowering copies those of its parameters into
//! `ir::Graph::max_norms`; the runtime's optimiser applies it (`runtime::optim::MaxNorm`).

use super::ModelCx;
use super::scope::{Entry, Sym};
use crate::ast::{self, ExprKind};
use crate::diag::{Code, Diagnostic};

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
        let ExprKind::Name(n) = &m.of.kind else {
            self.error(bad_target(
                "a max-norm constraint bounds a parameter or its columns".into(),
            ));
            return;
        };
        // The bars' name as declared (`Ω_0`, `W`), else its last subscript the column of the
        // parameter the others name (`W_j`, `Ω_{0,j}`): a declared name wins, as everywhere.
        let param_named = |cx: &Self, subs: usize| {
            let mut base = n.clone();
            base.sub.truncate(subs);
            let name = cx.canonical_plain(&base);
            match cx.scope.get(&name) {
                Some(Entry {
                    sym: Sym::Param(v, _),
                    ..
                }) => Some((name, v.clone())),
                _ => None,
            }
        };
        let whole = param_named(self, n.sub.len()).map(|(name, v)| (name, v, None));
        let by_column = || {
            let k = n.sub.len().checked_sub(1)?;
            param_named(self, k).map(|(name, v)| (name, v, Some(&n.sub[k])))
        };
        let Some((name, param, index)) = whole.or_else(by_column) else {
            let mut base = n.clone();
            base.sub.truncate(n.sub.len().saturating_sub(1));
            let name = self.canonical_plain(&base);
            self.error(bad_target(format!("`{name}` is not a parameter")));
            return;
        };
        if let Some(j) = index {
            let free = matches!(&j.kind, ExprKind::Name(v) if v.sub.is_empty()
                && !self.scope.contains_key(&self.canonical_plain(v)));
            if !free || !matches!(param.shape, super::shape::Shape::Mat(..)) {
                self.error(
                    Diagnostic::new(
                        Code::E0257,
                        j.span,
                        format!("`{}` bounds each column of a matrix: the subscript must be an index of its own", column(&name)),
                    )
                    .label(format!("`{name}` : {}", param.shape.describe()))
                    .help(format!("write `‖{}‖ ≤ c` for every column of a matrix, or `‖{name}‖ ≤ c` for the whole parameter", column(&name))),
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

/// How column `j` of the parameter `name` is written: `W_j`, or with the parameter's own
/// subscripts first, `Ω_{0,j}`.
fn column(name: &str) -> String {
    match name.split_once('_') {
        None => format!("{name}_j"),
        Some((head, subs)) => {
            let subs = subs.trim_start_matches('{').trim_end_matches('}');
            format!("{head}_{{{subs},j}}")
        }
    }
}

#[cfg(test)]
mod tests {
    /// The constraints a model records, as (parameter, by column, radius).
    fn bounds(lines: &str) -> Vec<(String, bool, f64)> {
        let src = format!(
            "model M[D = 3, c = 2] {{\n input x : ℝ^{{D}}\n target y : ℝ\n \
             param Ω_0 : ℝ^{{D×D}}, W : ℝ^{{D×D}}, ω : ℝ^{{D}}\n {lines}\n \
             f[x, φ] = ωᵀ Ω_0 W x\n loss L[φ] = ∑_i (y_i - f[x_i, φ])^2\n}}\n"
        );
        let checked = crate::check_source(&src, &Default::default()).expect("checks");
        let info = &checked.info.models[0];
        info.max_norms
            .iter()
            .map(|m| (m.param.clone(), m.columns, m.bound))
            .collect()
    }

    #[test]
    fn a_declared_name_is_read_whole_and_its_last_free_subscript_is_the_column() {
        let b = |p: &str, columns, r| (p.to_string(), columns, r);
        assert_eq!(bounds("‖W‖ ≤ c"), [b("W", false, 2.0)]);
        assert_eq!(bounds("‖W_j‖ ≤ 1"), [b("W", true, 1.0)]);
        assert_eq!(bounds("‖Ω_0‖ ≤ c"), [b("Ω_0", false, 2.0)]);
        assert_eq!(bounds("‖Ω_{0,j}‖ ≤ 3"), [b("Ω_0", true, 3.0)]);
    }
}
