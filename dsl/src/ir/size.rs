//! Sizes a model can have: every dimension and class count fits the IR's 32-bit fields, and
//! no value, nor the parameters together, needs more than [`MAX_BYTES`]. Checked on the
//! lowered graph, with overflow-free arithmetic, before anything is allocated; a size beyond
//! these is `E0317` at the place in the spec that asks for it ("`Ω` needs 320 GB").

use super::{Cols, Graph, Op};
use crate::diag::{Code, Diagnostic};

/// The largest dimension (rows, columns, classes): `i32::MAX`.
pub const MAX_DIM: usize = i32::MAX as usize;

/// The most bytes one value, or all the parameters together, may take in f64: 64 GiB.
pub const MAX_BYTES: u128 = 1 << 36;

/// `E0317` for the first size of `g` beyond the limits, if any.
pub fn check(g: &Graph) -> Result<(), Box<Diagnostic>> {
    for slot in &g.inputs {
        if let Some((_, classes)) = slot.labels
            && classes > MAX_DIM
        {
            let span = g.spans.get(slot.node.index()).copied().unwrap_or_default();
            return Err(Box::new(
                Diagnostic::new(
                    Code::E0317,
                    span,
                    format!(
                        "`{}` has {classes} classes; at most {MAX_DIM} are supported",
                        slot.name
                    ),
                )
                .label("too many classes"),
            ));
        }
    }
    let mut params: u128 = 0;
    for (i, node) in g.nodes.iter().enumerate() {
        let span = g.spans.get(i).copied().unwrap_or_default();
        let what = match (&node.op, &node.name) {
            (Op::Param(k), _) => g.params.get(*k as usize).map(|s| format!("`{}`", s.name)),
            (Op::Input(k), _) => g.inputs.get(*k as usize).map(|s| format!("`{}`", s.name)),
            (_, Some(n)) => Some(format!("`{n}`")),
            _ => None,
        }
        .unwrap_or_else(|| "this value".to_string());
        let cols = match node.shape.cols {
            // Per example: the columns of one example.
            Cols::Fixed(c) | Cols::Batch(c) => c,
        };
        let rows = node.shape.rows;
        if rows > MAX_DIM || cols > MAX_DIM {
            return Err(Box::new(
                Diagnostic::new(
                    Code::E0317,
                    span,
                    format!(
                        "{what} has a dimension of {}; at most {MAX_DIM} is supported",
                        rows.max(cols)
                    ),
                )
                .label("too large"),
            ));
        }
        let bytes = rows as u128 * cols as u128 * 8;
        let per = if node.shape.cols.is_batch() {
            " per example"
        } else {
            ""
        };
        if bytes > MAX_BYTES {
            return Err(Box::new(too_big(
                span,
                format!("{what} needs {}{per}", human(bytes)),
            )));
        }
        if matches!(node.op, Op::Param(_)) {
            params += bytes;
            if params > MAX_BYTES {
                return Err(Box::new(too_big(
                    span,
                    format!("the parameters up to {what} need {}", human(params)),
                )));
            }
        }
    }
    Ok(())
}

fn too_big(span: crate::diag::Span, message: String) -> Diagnostic {
    Diagnostic::new(Code::E0317, span, message)
        .label("too large to allocate")
        .note(format!(
            "in f64; a model may use at most {} for one value or for all its parameters",
            human(MAX_BYTES)
        ))
}

/// Bytes in decimal units, three significant digits: `320 GB`, `68.7 GB`.
fn human(bytes: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else if v >= 100.0 {
        format!("{v:.0} {}", units[u])
    } else if v >= 10.0 {
        format!("{v:.1} {}", units[u])
    } else {
        format!("{v:.2} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn bytes_read_in_decimal_units() {
        assert_eq!(human(320_000_000_000), "320 GB");
        assert_eq!(human(1 << 36), "68.7 GB");
        assert_eq!(human(999), "999 bytes");
        assert_eq!(human(u128::from(u64::MAX) * 8), "148 EB");
    }
}
