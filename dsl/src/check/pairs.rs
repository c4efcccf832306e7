//! A sum over the observed pairs, `∑_{(i,j)∈Ω} body` (the course notes' matrix
//! factorisation, `J(U, V) = ½ ∑_{(i,j)∈Ω} (r_{ij} − u_iᵀ v_j)² + λ(‖U‖_F² + ‖V‖_F²)`).
//!
//! `Ω` is the set of observed pairs, given as data: each example of the data set is one pair,
//! its members the example's labels (`input i : {1 … M}`, `input j : {1 … N}`), so the sum
//! over `Ω` is the sum over the examples, `∑_n`, and inside it `i` and `j` are the example's
//! labels. The pair's names run together (`ij`) are its example index: `r_{ij}` is the
//! number observed for the pair, the example's `r_n`; `r_{i,j}`, the members as separate
//! items, reads the same (`resolve::pair_joined` runs them together). `u_i`, row `i` of the
//! matrix `U`, is read by `check::table` (`row`). A member that is no label data is `E0331`; so is an `Ω`
//! that names something declared, limits, or an operator other than `∑`. Lowering reads the
//! binder as a sum over the batch (`ir::lower`), the parser having set its index to `ij`.

use super::shape::Shape;
use super::{Entry, ModelCx, Sym};
use crate::ast::{self, BigOp, Expr, ExprKind};
use crate::diag::{Code, Diagnostic};

impl ModelCx<'_, '_> {
    /// Whether the pair binder `b` reads as a sum over the observed pairs (reported if not).
    pub(super) fn observed_pairs(
        &mut self,
        op: BigOp,
        b: &ast::Binder,
        upper: Option<&Expr>,
    ) -> bool {
        let form = "`∑_{(i,j)∈Ω} (r_{ij} - u_iᵀ v_j)²`";
        if op != BigOp::Sum || upper.is_some() {
            self.error(
                Diagnostic::new(
                    Code::E0331,
                    b.span,
                    format!("a {} over observed pairs", op.word()),
                )
                .label("only a sum runs over the pairs, with no limits")
                .help(format!(
                    "{form}: the sum over the examples, each an observed pair"
                )),
            );
            return false;
        }
        let mut ok = true;
        for m in &b.pair {
            let name = self.canonical_plain(m);
            let label = matches!(
                self.scope.get(&name),
                Some(Entry { sym: Sym::Data(_, v), .. })
                    if v.per_example && v.labels.is_some() && matches!(v.shape, Shape::Scalar)
            );
            if !label {
                ok = false;
                self.error(
                    Diagnostic::new(
                        Code::E0331,
                        m.span,
                        format!("`{name}` is no label of the observed pairs"),
                    )
                    .label("each member of the pair is a label per example")
                    .help(format!(
                        "declare each member as data with a label set, `input {name} : {{1 … M}}`: the pairs (i, j) ∈ Ω are the examples, {form}"
                    )),
                );
            }
        }
        if let Some(set) = b.set.as_deref() {
            let bound = match &set.kind {
                ExprKind::Name(n) if n.sub.is_empty() => {
                    let s = self.canonical_plain(n);
                    self.scope.contains_key(&s).then_some(s)
                }
                _ => Some(crate::dump::expr(set)),
            };
            if let Some(what) = bound {
                ok = false;
                self.error(
                    Diagnostic::new(
                        Code::E0331,
                        set.span,
                        format!("`{what}` is read as the set of observed pairs"),
                    )
                    .label("the data set's examples, not a declared value")
                    .help(format!(
                        "the pairs are the examples of the data set, named by a name declared nowhere else ({form}); rename the declared `{what}`"
                    )),
                );
            }
        }
        ok
    }
}
