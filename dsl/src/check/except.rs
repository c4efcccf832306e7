//! A sum over every class but the example's label, `∑_{j≠y_i} body` (the course notes'
//! multiclass SVM loss, `L^i = ∑_{j≠y^{(i)}} max(0, S_j − S_{y^{(i)}} + 1)`). The index `j`
//! runs over the classes of the label's set in order, counted `1 … K` as components are
//! counted, so `S_j` is class `j`'s score the way `S_{y_i}` is the labelled class's (with labels
//! `{0 … K-1}`, `S_1` is class 0's score); the term of the labelled class is left out for each
//! example. What follows `≠` must be a class label per example (`E0255`); only a sum may
//! exclude, with no limits or set beside the exclusion (`E0256`). Lowering
//! (`ir/lower/except.rs`) unrolls the body over `j` and multiplies each term by
//! `1 − [y_i = j]`.

use super::ModelCx;
use super::shape::{Labels, Val};
use crate::ast::{self, BigOp, Expr};
use crate::diag::{Code, Diagnostic, Span};

impl ModelCx<'_, '_> {
    /// `∑_{j≠y_i} body`: the shape of one term, per example.
    pub(super) fn except_sum(
        &mut self,
        op: BigOp,
        b: &ast::Binder,
        upper: Option<&Expr>,
        body: &Expr,
        span: Span,
    ) -> Option<Val> {
        let except = b.except.as_deref()?;
        if op != BigOp::Sum || b.lo.is_some() || b.set.is_some() || upper.is_some() {
            let what = if op == BigOp::Sum {
                "a sum that excludes a label has no limits".to_string()
            } else {
                format!("only a sum may exclude a label, not a {}", op.word())
            };
            self.error(
                Diagnostic::new(Code::E0256, b.span, what)
                    .label("`≠` with another range")
                    .help("write `∑_{j≠y_i} …`: `j` runs over the classes of `y`, all but the example's label"),
            );
            return None;
        }
        let labels = self.excluded_labels(except)?;
        let Some(count) = labels.count.value else {
            self.error(
                Diagnostic::new(
                    Code::E0255,
                    except.span,
                    "the classes of this label have no number",
                )
                .label("a label set without a size"),
            );
            return None;
        };
        let var = self.canonical_plain(&b.var);
        let v = self.unrolled_terms(op, &var, (1, count), body, span)?;
        if !v.shape.is_scalar() {
            self.error(
                Diagnostic::new(
                    Code::E0256,
                    body.span,
                    "a sum that excludes a label needs a scalar summand",
                )
                .label(v.shape.describe())
                .help("sum the entries first, e.g. `𝟏ᵀ …`"),
            );
            return None;
        }
        Some(Val {
            per_example: true,
            ..v
        })
    }

    /// The label set of what follows `≠`: a class label per example, else `E0255`.
    fn excluded_labels(&mut self, except: &Expr) -> Option<Labels> {
        let v = self.expr(except)?;
        match v.labels {
            Some(l) if v.per_example => Some(l),
            _ => {
                self.error(
                    Diagnostic::new(
                        Code::E0255,
                        except.span,
                        "a sum can only exclude an example's class label",
                    )
                    .label(format!("{}, not a class label", v.shape.describe()))
                    .help("declare the label with its classes, `target y : {1 … K}`, and write `∑_{j≠y_i}`"),
                );
                None
            }
        }
    }
}
