//! The element-wise maximum and minimum of two values, `max[a, b]` and `min[a, b]`, and the
//! two parts of their gradient: [`pick`] (`ha` where `xa` is kept against `xb`, `hb`
//! elsewhere; `max[a, b]` is `pick(a, b, a, b)`) and [`place`] (the cotangent where one side
//! was kept, zero elsewhere). The comparison is [`Extreme::first`], the one definition
//! generated code calls too: a tie keeps the first value.

use crate::Scalar;
use faer::{MatMut, MatRef};
pub use nnspec_ops::Extreme;

/// `dst = ha` where `xa` is kept against `xb` by `e`, `hb` elsewhere, entry by entry.
///
/// # Panics
/// If the five matrices differ in shape.
pub fn pick<T: Scalar>(
    mut dst: MatMut<'_, T>,
    [xa, xb]: [MatRef<'_, T>; 2],
    [ha, hb]: [MatRef<'_, T>; 2],
    e: Extreme,
) {
    let (r, c) = (dst.nrows(), dst.ncols());
    for m in [xa, xb, ha, hb] {
        assert_eq!(
            (m.nrows(), m.ncols()),
            (r, c),
            "extreme::pick: shapes differ"
        );
    }
    for j in 0..c {
        for i in 0..r {
            dst[(i, j)] = e.pick(xa[(i, j)], xb[(i, j)], ha[(i, j)], hb[(i, j)]);
        }
    }
}

/// `dst = g` where the side `second` names (the first value when `false`) is kept by `e`,
/// zero elsewhere: the gradient of [`pick`] with respect to that side's `h`.
///
/// # Panics
/// If the four matrices differ in shape.
pub fn place<T: Scalar>(
    mut dst: MatMut<'_, T>,
    [xa, xb]: [MatRef<'_, T>; 2],
    g: MatRef<'_, T>,
    e: Extreme,
    second: bool,
) {
    let (r, c) = (dst.nrows(), dst.ncols());
    for m in [xa, xb, g] {
        assert_eq!(
            (m.nrows(), m.ncols()),
            (r, c),
            "extreme::place: shapes differ"
        );
    }
    for j in 0..c {
        for i in 0..r {
            let kept = e.first(xa[(i, j)], xb[(i, j)]) != second;
            dst[(i, j)] = if kept { g[(i, j)] } else { T::ZERO };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn pick_and_place_agree_with_naive_loops() {
        let a = Mat::from_fn(3, 4, |i, j| (i as f64 * 1.3 - j as f64 * 0.7).sin());
        let b = Mat::from_fn(
            3,
            4,
            |i, j| if i == j { a[(i, j)] } else { (j as f64).cos() },
        );
        let g = Mat::from_fn(3, 4, |i, j| 1.0 + i as f64 + 10.0 * j as f64);
        for e in [Extreme::Max, Extreme::Min] {
            let mut p = Mat::<f64>::zeros(3, 4);
            pick(
                p.as_mut(),
                [a.as_ref(), b.as_ref()],
                [a.as_ref(), b.as_ref()],
                e,
            );
            let mut first = Mat::<f64>::zeros(3, 4);
            let mut second = Mat::<f64>::zeros(3, 4);
            place(
                first.as_mut(),
                [a.as_ref(), b.as_ref()],
                g.as_ref(),
                e,
                false,
            );
            place(
                second.as_mut(),
                [a.as_ref(), b.as_ref()],
                g.as_ref(),
                e,
                true,
            );
            for i in 0..3 {
                for j in 0..4 {
                    let (x, y) = (a[(i, j)], b[(i, j)]);
                    let want = if e == Extreme::Max {
                        x.max(y)
                    } else {
                        x.min(y)
                    };
                    assert_eq!(p[(i, j)], want);
                    // A tie (the diagonal) goes to the first value.
                    let to_first = if e == Extreme::Max { x >= y } else { x <= y };
                    let (f, s) = if to_first {
                        (g[(i, j)], 0.0)
                    } else {
                        (0.0, g[(i, j)])
                    };
                    assert_eq!((first[(i, j)], second[(i, j)]), (f, s), "{e:?} at {i},{j}");
                }
            }
        }
    }
}
