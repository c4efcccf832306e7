//! Gradient checks as `nnspec gradcheck` runs them: the gradients of one loss by AD against
//! central differences in `f64`, at random parameters and inputs, judged by one rule.
//!
//! An entry agrees when `|got − want| ≤ rtol·|want| + atol·scale`, where `got` is AD's value,
//! `want` the central difference and `scale` the largest magnitude of any gradient of the loss
//! at that point. The absolute floor lets a gradient that is truly zero (a bias before a
//! normalisation, a shift that a softmax ignores) pass, whatever rounding leaves in it. A NaN
//! in either value is a failure. When every gradient is exactly zero (every ReLU inactive) the
//! point shows nothing, so it is drawn again, a bounded number of times; if it stays zero the
//! check is reported as not established. Beyond `max_coords` coordinates, a random subset of
//! that size (drawn from the seeded generator) is checked, and the report says how many.

use crate::dsl::ir::{Graph, Loss};
use crate::interp::{self, Coord, EvalError};
use crate::sample::{self, Rng};
use faer::Mat;

/// How a check is run and judged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// The central-difference step.
    pub eps: f64,
    /// The relative tolerance.
    pub rtol: f64,
    /// The absolute tolerance, as a fraction of the gradients' scale.
    pub atol: f64,
    /// The most coordinates checked by central differences (a random subset beyond).
    pub max_coords: usize,
    /// How many random points are drawn while every gradient is exactly zero.
    pub draws: usize,
    /// Examples in the random batch.
    pub batch: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            eps: 1e-5,
            rtol: 1e-6,
            atol: 1e-6,
            max_coords: 2000,
            draws: 5,
            batch: 3,
        }
    }
}

/// The comparison for one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The parameter's name.
    pub param: String,
    /// Entries compared.
    pub checked: usize,
    /// Entries of the parameter.
    pub total: usize,
    /// The largest `|got − want|` (NaN when a value is NaN).
    pub max_abs_error: f64,
    /// The largest `|got − want| / (rtol·|want| + atol·scale)`: at most 1 when every entry
    /// agrees; NaN when a value is NaN.
    pub ratio: f64,
    /// The worst entry: where, AD's value, the central difference.
    pub worst: Option<(Coord, f64, f64)>,
}

impl Row {
    /// Whether every compared entry agrees (false with a NaN).
    pub fn agrees(&self) -> bool {
        self.ratio <= 1.0
    }

    /// Whether a value was NaN.
    pub fn has_nan(&self) -> bool {
        self.ratio.is_nan()
    }
}

/// The check of one loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// One row per parameter the loss trains, in declaration order.
    pub rows: Vec<Row>,
    /// The largest gradient magnitude, the unit of `atol`.
    pub scale: f64,
    /// Coordinates compared, of how many.
    pub checked: usize,
    /// Coordinates of the parameters the loss trains.
    pub total: usize,
    /// Random points drawn (more than one when the first ones had all-zero gradients).
    pub draws: usize,
    /// Every gradient was exactly zero at every point drawn: nothing was established.
    pub all_zero: bool,
}

impl Report {
    /// Whether the gradients were shown to agree: some gradient is not zero and every
    /// compared entry agrees.
    pub fn agrees(&self) -> bool {
        !self.all_zero && self.rows.iter().all(Row::agrees)
    }
}

/// Checks the gradients of `loss` with respect to the parameters it trains, at points drawn
/// from `rng` (see the module docs).
///
/// # Errors
/// When the graph cannot be run or differentiated.
pub fn check_loss(
    g: &Graph,
    loss: &Loss,
    rng: &mut Rng,
    opts: &Options,
) -> Result<Report, EvalError> {
    let wrt: Vec<usize> = loss.wrt.iter().map(|&k| k as usize).collect();
    let sizes: Vec<usize> = wrt
        .iter()
        .map(|&k| {
            let (r, c) = interp::dims(g.params[k].shape, 1);
            r * c
        })
        .collect();
    let total: usize = sizes.iter().sum();
    let coords = choose(&wrt, g, total, opts.max_coords, rng);
    let draws = opts.draws.max(1);
    for draw in 1..=draws {
        let params = sample::params(g, rng);
        let inputs = sample::inputs(g, opts.batch.max(1), rng);
        let got = interp::ad_grads(g, &loss.name, &inputs, &params)?;
        // A frozen copy (`φ⁻`) is a constant to the gradient: hold it at its value here too.
        let (frozen, frozen_inputs) = interp::freeze_stop_gradients(g, &inputs, &params)?;
        let want = interp::numeric_at(
            &frozen,
            &loss.name,
            &frozen_inputs,
            &params,
            opts.eps,
            &coords,
        )?;
        let all_zero = wrt.iter().all(|&k| is_zero(&got[k])) && want.iter().all(|&w| w == 0.0);
        if all_zero && draw < draws {
            continue;
        }
        let scale = wrt
            .iter()
            .map(|&k| max_abs(&got[k]))
            .chain(want.iter().map(|w| w.abs()))
            .fold(0.0, f64::max);
        let rows = wrt
            .iter()
            .zip(&sizes)
            .map(|(&k, &size)| {
                let mut row = Row {
                    param: g.params[k].name.clone(),
                    checked: 0,
                    total: size,
                    max_abs_error: 0.0,
                    ratio: 0.0,
                    worst: None,
                };
                for (c, &w) in coords.iter().zip(&want).filter(|(c, _)| c.param == k) {
                    row.add(*c, got[k][(c.row, c.col)], w, opts, scale);
                }
                row
            })
            .collect();
        return Ok(Report {
            rows,
            scale,
            checked: coords.len(),
            total,
            draws: draw,
            all_zero,
        });
    }
    unreachable!("the last draw always returns")
}

impl Row {
    /// Compares one entry: AD's `got` against the central difference `want`.
    fn add(&mut self, c: Coord, got: f64, want: f64, opts: &Options, scale: f64) {
        self.checked += 1;
        let err = (got - want).abs();
        let floor = opts.rtol * want.abs() + opts.atol * scale;
        let ratio = if err.is_nan() {
            f64::NAN
        } else if err == 0.0 {
            0.0
        } else if floor == 0.0 {
            f64::INFINITY
        } else {
            err / floor
        };
        if self.ratio.is_nan() {
            return;
        }
        if ratio.is_nan() || ratio > self.ratio || self.worst.is_none() {
            self.ratio = ratio;
            self.worst = Some((c, got, want));
        }
        if err.is_nan() || err > self.max_abs_error {
            self.max_abs_error = err;
        }
    }
}

fn is_zero(m: &Mat<f64>) -> bool {
    (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| m[(i, j)] == 0.0))
}

fn max_abs(m: &Mat<f64>) -> f64 {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| m[(i, j)].abs())
        .fold(0.0, f64::max)
}

/// Every coordinate of the parameters `wrt` (in order, each column-major) when there are at
/// most `max` of them, else `max` of them drawn at random without replacement, in order.
fn choose(wrt: &[usize], g: &Graph, total: usize, max: usize, rng: &mut Rng) -> Vec<Coord> {
    let mut picked: Vec<usize> = (0..total).collect();
    if total > max {
        // A partial Fisher–Yates shuffle: the first `max` positions are a uniform sample.
        for i in 0..max {
            let j = i + (rng.next_u64() % (total - i) as u64) as usize;
            picked.swap(i, j);
        }
        picked.truncate(max);
        picked.sort_unstable();
    }
    let mut out = Vec::with_capacity(picked.len());
    let (mut base, mut next) = (0usize, picked.into_iter().peekable());
    for &k in wrt {
        let (rows, cols) = interp::dims(g.params[k].shape, 1);
        let size = rows * cols;
        while let Some(&p) = next.peek() {
            if p >= base + size {
                break;
            }
            let at = p - base;
            out.push(Coord {
                param: k,
                row: at % rows,
                col: at / rows,
            });
            next.next();
        }
        base += size;
    }
    out
}
