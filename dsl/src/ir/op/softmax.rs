//! The shape rules of joining and splitting rows: [`Op::ConcatRows`] (`[A; B]`, the
//! heads of eq. 12.12 stacked) and [`Op::SliceRows`], its transpose for one argument.

use super::{Op, Shape, ShapeError};

/// `ConcatRows`: one or more arguments of one column count; the rows add up.
pub(super) fn concat_rows_shape(op: &Op, args: &[Shape]) -> Result<Shape, ShapeError> {
    let Some(first) = args.first() else {
        return Err(ShapeError::Arity {
            op: *op,
            want: 1,
            got: 0,
        });
    };
    if args.iter().any(|a| a.cols != first.cols) {
        return Err(ShapeError::Operands {
            op: *op,
            args: args.to_vec(),
        });
    }
    Ok(Shape {
        rows: args.iter().map(|a| a.rows).sum(),
        cols: first.cols,
    })
}

/// `SliceRows { start, rows }`: rows `start … start + rows - 1` of the argument, at least one.
pub(super) fn slice_rows_shape(
    op: &Op,
    start: u32,
    rows: u32,
    a: Shape,
) -> Result<Shape, ShapeError> {
    let end = start as usize + rows as usize;
    if rows == 0 || end > a.rows {
        return Err(ShapeError::Operands {
            op: *op,
            args: vec![a],
        });
    }
    Ok(Shape {
        rows: rows as usize,
        cols: a.cols,
    })
}
