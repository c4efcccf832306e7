//! Generated images as one PNG: a grid of grey-scale pictures, one per column of a matrix
//! (`nnspec sample` writes the digits a decoder makes from `z ~ Norm[0, I]` so); and heat
//! maps of matrices side by side ([`heat_png`]: `nnspec show` draws kernels and attention
//! matrices so).
//!
//! Pixels are numbers in `[lo, hi]` (the data's range), mapped linearly to black … white and
//! clamped; each picture is `height × width` numbers read row by row (an 8×8 digit is a
//! column of 64), scaled up by `scale` screen pixels per pixel, with a one-pixel grey gap
//! between pictures.

use crate::Scalar;
use faer::MatRef;

/// How to lay out the pictures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// Rows of one picture.
    pub height: usize,
    /// Columns of one picture.
    pub width: usize,
    /// Pictures per row of the grid.
    pub per_row: usize,
    /// Screen pixels per picture pixel (at least 1).
    pub scale: usize,
    /// The value shown black.
    pub lo: f64,
    /// The value shown white.
    pub hi: f64,
}

/// The grey level of `v` on `[lo, hi]`: 0 … 255, a NaN black.
fn grey(v: f64, lo: f64, hi: f64) -> u8 {
    let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    if t.is_nan() {
        0
    } else {
        (t * 255.0).round() as u8
    }
}

/// The PNG bytes of `images` (one picture per column, `height · width` rows) laid out as
/// `grid` says.
///
/// # Errors
/// When a column does not hold `height · width` numbers, when there is no picture, or when
/// `hi ≤ lo`.
pub fn grid_png<T: Scalar>(images: MatRef<'_, T>, grid: &Grid) -> Result<Vec<u8>, String> {
    let Grid {
        height,
        width,
        per_row,
        scale,
        lo,
        hi,
    } = *grid;
    let (scale, per_row) = (scale.max(1), per_row.max(1));
    if images.nrows() != height * width || images.ncols() == 0 {
        return Err(format!(
            "{} pictures of {} numbers do not make {height}×{width} images",
            images.ncols(),
            images.nrows()
        ));
    }
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return Err(format!("the grey scale [{lo}, {hi}] is empty"));
    }
    let count = images.ncols();
    let rows = count.div_ceil(per_row);
    let cols = count.min(per_row);
    let (cell_w, cell_h) = (width * scale + 1, height * scale + 1);
    let (w, h) = (cols * cell_w + 1, rows * cell_h + 1);
    let mut pixels = vec![128u8; w * h];
    for k in 0..count {
        let (y0, x0) = ((k / per_row) * cell_h + 1, (k % per_row) * cell_w + 1);
        for py in 0..height * scale {
            for px in 0..width * scale {
                let v = images[((py / scale) * width + px / scale, k)].to_f64();
                pixels[(y0 + py) * w + x0 + px] = grey(v, lo, hi);
            }
        }
    }
    encode(&pixels, (w, h), png::ColorType::Grayscale)
}

/// The colour of `v` on a diverging scale symmetric about 0: `-m` blue, 0 white, `m` red
/// (a NaN black).
fn diverging(v: f64, m: f64) -> [u8; 3] {
    if v.is_nan() {
        return [0, 0, 0];
    }
    let t = if m > 0.0 {
        (v / m).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let fade = |t: f64| (255.0 * (1.0 - t.abs())).round() as u8;
    if t >= 0.0 {
        [255, fade(t), fade(t)]
    } else {
        [fade(t), fade(t), 255]
    }
}

/// The PNG bytes of heat maps of `maps`, left to right with a two-pixel grey gap, each entry
/// `scale` screen pixels square, on a diverging scale: white 0, red the map's largest
/// `|v|` if positive, blue if negative (each map its own range: `heat_range` gives it).
///
/// # Errors
/// When there is no map, a map is empty, or the picture would be over 16 384 pixels a side.
pub fn heat_png<T: Scalar>(maps: &[MatRef<'_, T>], scale: usize) -> Result<Vec<u8>, String> {
    const GAP: usize = 2;
    const MAX_SIDE: usize = 16_384;
    let scale = scale.max(1);
    if maps.is_empty() || maps.iter().any(|m| m.nrows() == 0 || m.ncols() == 0) {
        return Err("nothing to draw: a map with no entries".into());
    }
    let h = maps.iter().map(|m| m.nrows()).max().unwrap_or(0) * scale + 2 * GAP;
    let w = maps.iter().map(|m| m.ncols() * scale + GAP).sum::<usize>() + GAP;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!(
            "a picture of {w}×{h} pixels is too large (at most {MAX_SIDE} a side): show fewer or smaller values, or a smaller --scale"
        ));
    }
    let mut pixels = vec![160u8; w * h * 3];
    let mut x0 = GAP;
    for m in maps {
        let range = heat_range(*m);
        for py in 0..m.nrows() * scale {
            for px in 0..m.ncols() * scale {
                let c = diverging(m[(py / scale, px / scale)].to_f64(), range);
                let at = ((GAP + py) * w + x0 + px) * 3;
                pixels[at..at + 3].copy_from_slice(&c);
            }
        }
        x0 += m.ncols() * scale + GAP;
    }
    encode(&pixels, (w, h), png::ColorType::Rgb)
}

/// PNG bytes of 8-bit `pixels`, `w × h` of `color`, row by row.
fn encode(pixels: &[u8], (w, h): (usize, usize), color: png::ColorType) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, w as u32, h as u32);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// The range a heat map of `m` shows: its largest `|v|` over the finite entries (0 for none).
pub fn heat_range<T: Scalar>(m: MatRef<'_, T>) -> f64 {
    let mut r: f64 = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            let v = m[(i, j)].to_f64().abs();
            if v.is_finite() {
                r = r.max(v);
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    #[test]
    fn a_grid_of_two_pictures_decodes_to_their_pixels() {
        // Two 2×2 pictures: 0, 1, 2, 3 and their reverse, on [0, 3], scale 1.
        let m = Mat::from_fn(4, 2, |i, j| if j == 0 { i as f64 } else { 3.0 - i as f64 });
        let grid = Grid {
            height: 2,
            width: 2,
            per_row: 2,
            scale: 1,
            lo: 0.0,
            hi: 3.0,
        };
        let bytes = grid_png(m.as_ref(), &grid).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (7, 4));
        let at = |x: usize, y: usize| buf[y * 7 + x];
        assert_eq!([at(1, 1), at(2, 1), at(1, 2), at(2, 2)], [0, 85, 170, 255]);
        assert_eq!([at(4, 1), at(5, 1), at(4, 2), at(5, 2)], [255, 170, 85, 0]);
        assert_eq!(at(0, 0), 128);
    }

    #[test]
    fn wrong_sizes_are_errors() {
        let m = Mat::<f64>::zeros(5, 1);
        let grid = Grid {
            height: 2,
            width: 2,
            per_row: 1,
            scale: 1,
            lo: 0.0,
            hi: 1.0,
        };
        assert!(grid_png(m.as_ref(), &grid).is_err());
        let m = Mat::<f64>::zeros(4, 1);
        assert!(grid_png(m.as_ref(), &Grid { hi: 0.0, ..grid }).is_err());
    }

    #[test]
    fn heat_maps_are_white_at_zero_red_positive_blue_negative() {
        // A 1×3 map (−2, 0, 1) and a 1×1 map (5), scale 1: range 2 for the first (−2 full
        // blue, 1 half red), 5 for the second (full red). Gaps of two grey pixels.
        let a = Mat::from_fn(1, 3, |_, j| [-2.0, 0.0, 1.0][j]);
        let b = Mat::from_fn(1, 1, |_, _| 5.0);
        let bytes = heat_png(&[a.as_ref(), b.as_ref()], 1).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        // Width: 2 + 3 + 2 + 1 + 2 = 10; height 1 + 4 = 5.
        assert_eq!((info.width, info.height), (10, 5));
        let at = |x: usize, y: usize| {
            let k = (y * 10 + x) * 3;
            [buf[k], buf[k + 1], buf[k + 2]]
        };
        assert_eq!(at(2, 2), [0, 0, 255]);
        assert_eq!(at(3, 2), [255, 255, 255]);
        assert_eq!(at(4, 2), [255, 128, 128]);
        assert_eq!(at(7, 2), [255, 0, 0]);
        assert_eq!(at(0, 0), [160, 160, 160]);
        assert!(heat_png::<f64>(&[], 1).is_err());
    }
}
