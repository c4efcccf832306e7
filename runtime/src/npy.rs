//! NumPy `.npy` files, read without a dependency: format versions 1.0, 2.0 and 3.0.
//!
//! A file is the magic `\x93NUMPY`, the major and minor version, the header length (`u16`
//! little-endian for version 1, `u32` for 2 and 3), a header that is a Python dict literal —
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (150, 4), }` — padded with spaces and
//! ended by `\n`, then the data. The types read are floats (`f4`, `f8`), signed and unsigned
//! integers of 1, 2, 4 and 8 bytes, and booleans (`b1`), little- or big-endian (`<`, `>`,
//! `|` for one byte). Every value is read as an `f64` (integers beyond 2⁵³ are rounded, so
//! labels that large are never in a label set). A Fortran-order array is read in its
//! meaning, not its storage: [`Array::get`] takes the same `[row, column]` in both orders.
//! Arrays of rank 0 or above 2, and structured, string, object, complex and half-precision
//! types, are errors that say so; every error is a [`DataError`] naming the file (line 0).
//!
//! As data ([`Dataset::from_npy_paths`]), the features are one file, `(N, D)` with one
//! example per row like a CSV file (or `(N,)` for one feature), and the targets another:
//! labels `(N,)` or `(N, 1)`, each checked against its set by
//! [`labels::label_index`](crate::labels::label_index), or values `(N, K)` (`(N,)` when
//! `K = 1`). A feature that is not finite, a label outside its set and files whose row counts
//! differ are errors naming the file and the element as NumPy indexes it (`[3, 1]`).

use crate::Scalar;
use crate::data::{DataError, Dataset, InputShape, TargetKind, Targets, in_set, set};
use faer::Mat;
use std::path::Path;

/// A one- or two-dimensional array read from a `.npy` file, its values as `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// The shape: `[n]` or `[n, d]`.
    pub shape: Vec<usize>,
    /// The type as the header writes it (`<f8`, `|u1`, …).
    pub descr: String,
    /// Whether the values are stored column by column.
    pub fortran_order: bool,
    /// The values in storage order.
    pub values: Vec<f64>,
}

impl Array {
    /// The number of rows (the first dimension).
    pub fn rows(&self) -> usize {
        self.shape[0]
    }

    /// The number of columns: the second dimension, or 1 for a one-dimensional array.
    pub fn cols(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    /// The value at `[i, j]` (`j = 0` for a one-dimensional array), in either storage order.
    ///
    /// # Panics
    /// If `i` or `j` is out of range.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(
            i < self.rows() && j < self.cols(),
            "[{i}, {j}] out of range"
        );
        if self.fortran_order {
            self.values[j * self.rows() + i]
        } else {
            self.values[i * self.cols() + j]
        }
    }

    /// The index `[i, j]` (or `[i]`) as NumPy writes it, for messages.
    pub fn index(&self, i: usize, j: usize) -> String {
        if self.shape.len() == 1 {
            format!("[{i}]")
        } else {
            format!("[{i}, {j}]")
        }
    }

    /// The shape as Python writes it: `(150, 4)`, `(150,)`.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// How to read `.npy` data: what the targets are and which features to keep.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyOptions {
    /// What the targets are (labels from `lo`, or `count` values).
    pub kind: TargetKind,
    /// The feature columns (0-based) to keep; default all.
    pub features: Option<Vec<usize>>,
    /// For real-valued targets that are labels (each entry of a vector `{0, 1}^{D}`): the
    /// set every value must be in, as its first label and count.
    pub value_labels: Option<(i32, usize)>,
}

impl Default for NpyOptions {
    /// Labels from 0, classes inferred, every feature.
    fn default() -> Self {
        NpyOptions {
            kind: TargetKind::Labels {
                lo: 0,
                classes: None,
            },
            features: None,
            value_labels: None,
        }
    }
}

impl<T: Scalar> Dataset<T> {
    /// A data set from a features file and, unless `targets` is `None` (data to predict on),
    /// a targets file, both `.npy`.
    pub fn from_npy_paths(
        features: &Path,
        targets: Option<&Path>,
        opts: &NpyOptions,
    ) -> Result<Dataset<T>, DataError> {
        let x = read_path(features)?;
        let y = match targets {
            Some(p) => Some((read_path(p)?, p.display().to_string())),
            None => None,
        };
        let y = y.as_ref().map(|(a, name)| (a, name.as_str()));
        Self::from_npy(&x, &features.display().to_string(), y, opts)
    }

    /// A data set from arrays already read: the features `x` (file `x_name`) and the targets
    /// with their file's name.
    pub fn from_npy(
        x: &Array,
        x_name: &str,
        y: Option<(&Array, &str)>,
        opts: &NpyOptions,
    ) -> Result<Dataset<T>, DataError> {
        let columns: Vec<usize> = match &opts.features {
            Some(f) => {
                if let Some(c) = f.iter().find(|&&c| c >= x.cols()) {
                    let m = format!(
                        "feature column {c} is out of range for {} columns",
                        x.cols()
                    );
                    return Err(DataError::at(x_name, m));
                }
                f.clone()
            }
            None => (0..x.cols()).collect(),
        };
        if columns.is_empty() || x.rows() == 0 {
            let m = format!(
                "there are no examples or no features (shape {})",
                x.shape_text()
            );
            return Err(DataError::at(x_name, m));
        }
        let n = x.rows();
        let mut m = Mat::<T>::zeros(columns.len(), n);
        for j in 0..n {
            for (i, &c) in columns.iter().enumerate() {
                let v = x.get(j, c);
                if !v.is_finite() {
                    let m = format!("the feature at {} is not finite: {v}", x.index(j, c));
                    return Err(DataError::at(x_name, m));
                }
                m[(i, j)] = T::from_f64(v);
            }
        }
        let y = match y {
            None => Targets::Values(Mat::zeros(0, n)),
            Some((y, name)) => npy_targets(y, name, n, x_name, opts)?,
        };
        Ok(Dataset {
            x: m,
            y,
            feature_names: columns.iter().map(|c| format!("x{}", c + 1)).collect(),
            class_names: Vec::new(),
            inputs: Vec::new(),
        })
    }

    /// A data set of several named inputs from a folder: `<name>.npy` for each input in
    /// `inputs`, of shape `(N, r·c)` — each row an example's `r × c` matrix column by column
    /// (NumPy: `X.transpose(0, 2, 1).reshape(len(X), -1)` for `X` of shape `(N, r, c)`) — and,
    /// unless `targets` is `None`, the targets file. The inputs are named
    /// ([`Dataset::inputs`]), so they are used as given.
    ///
    /// # Errors
    /// A missing file names its input; a file of another width names the input and its shape;
    /// files of different lengths name both; and every error of [`Dataset::from_npy`].
    pub fn from_npy_dir(
        dir: &Path,
        inputs: &[InputShape],
        targets: Option<&Path>,
        opts: &NpyOptions,
    ) -> Result<Dataset<T>, DataError> {
        let shown = dir.display().to_string();
        let plain = NpyOptions {
            features: None,
            ..opts.clone()
        };
        let mut parts: Vec<(Dataset<T>, String)> = Vec::with_capacity(inputs.len());
        for (k, s) in inputs.iter().enumerate() {
            let path = dir.join(format!("{}.npy", s.name));
            if !path.is_file() {
                let m = format!(
                    "no file {}.npy for the input `{}` ∈ {} (a folder holds one `.npy` file per input, named after it)",
                    s.name,
                    s.name,
                    s.book()
                );
                return Err(DataError::at(&shown, m));
            }
            let name = path.display().to_string();
            let x = read_path(&path)?;
            if x.cols() != s.len() {
                let m = format!(
                    "shape {}: {} numbers per example, but the input `{}` ∈ {} has {} (its columns one after the other)",
                    x.shape_text(),
                    x.cols(),
                    s.name,
                    s.book(),
                    s.len()
                );
                return Err(DataError::at(&name, m));
            }
            if let Some((first, first_name)) = parts.first()
                && first.len() != x.rows()
            {
                let m = format!(
                    "{} examples, but {first_name} has {}",
                    x.rows(),
                    first.len()
                );
                return Err(DataError::at(&name, m));
            }
            // The targets are read once, with the first input.
            let y = match targets {
                Some(t) if k == 0 => Some((read_path(t)?, t.display().to_string())),
                _ => None,
            };
            let y = y.as_ref().map(|(a, n)| (a, n.as_str()));
            parts.push((Self::from_npy(&x, &name, y, &plain)?, name));
        }
        let Some((first, _)) = parts.first() else {
            return Err(DataError::at(&shown, "the model reads no input"));
        };
        let n = first.len();
        let rows: usize = inputs.iter().map(InputShape::len).sum();
        let mut x = Mat::<T>::zeros(rows, n);
        let mut offset = 0;
        for (part, _) in &parts {
            x.as_mut()
                .subrows_mut(offset, part.features())
                .copy_from(part.x.as_ref());
            offset += part.features();
        }
        let y = parts.swap_remove(0).0.y;
        Ok(Dataset {
            feature_names: crate::data::input_feature_names(inputs),
            x,
            y,
            class_names: Vec::new(),
            inputs: inputs.to_vec(),
        })
    }
}

/// The targets of `n` examples (the rows of `x_name`) from `y`, checked.
fn npy_targets<T: Scalar>(
    y: &Array,
    name: &str,
    n: usize,
    x_name: &str,
    opts: &NpyOptions,
) -> Result<Targets<T>, DataError> {
    let err = |m: String| Err(DataError::at(name, m));
    if y.rows() != n {
        return err(format!(
            "{} rows of targets for the {n} examples of {x_name}",
            y.rows()
        ));
    }
    match opts.kind {
        TargetKind::Labels { lo, classes } => {
            if y.cols() != 1 {
                return err(format!(
                    "class labels are one per example, (N,) or (N, 1), not {}",
                    y.shape_text()
                ));
            }
            let lo_i = i64::try_from(lo).unwrap_or(i64::MAX);
            // Without a class count, any integer from `lo` up to u32::MAX is a label.
            let count = classes.unwrap_or(u32::MAX as usize);
            let mut values = Vec::with_capacity(n);
            for j in 0..n {
                let v = y.get(j, 0);
                match in_set(v, lo_i, count) {
                    Some(k) => values.push(lo + k),
                    None if classes.is_none() => {
                        return err(format!(
                            "label {v} at {} is not an integer from {lo}",
                            y.index(j, 0)
                        ));
                    }
                    None => {
                        return err(format!(
                            "label {v} at {} is not in {}",
                            y.index(j, 0),
                            set(lo_i, count)
                        ));
                    }
                }
            }
            let classes = classes.unwrap_or_else(|| values.iter().max().map_or(1, |&m| m - lo + 1));
            Ok(Targets::Labels {
                values,
                lo,
                classes,
            })
        }
        TargetKind::Values { count } => {
            if y.cols() != count {
                return err(format!(
                    "the target has {count} values per example, but the shape is {}",
                    y.shape_text()
                ));
            }
            let mut m = Mat::<T>::zeros(count, n);
            for j in 0..n {
                for k in 0..count {
                    let v = y.get(j, k);
                    let bad = match opts.value_labels {
                        Some((lo, c)) => in_set(v, i64::from(lo), c)
                            .is_none()
                            .then(|| format!("is not in {}", set(i64::from(lo), c))),
                        None => (!v.is_finite()).then(|| "is not finite".to_string()),
                    };
                    if let Some(why) = bad {
                        let what = if opts.value_labels.is_some() {
                            "label"
                        } else {
                            "target"
                        };
                        return err(format!("{what} {v} at {} {why}", y.index(j, k)));
                    }
                    m[(k, j)] = T::from_f64(v);
                }
            }
            Ok(Targets::Values(m))
        }
    }
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// The element types: byte order, kind and size.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

/// Reads the file at `path`; its display is the name in errors.
pub fn read_path(path: &std::path::Path) -> Result<Array, DataError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| DataError::at(&name, format!("cannot read the file: {e}")))?;
    read(&bytes, &name)
}

/// Reads `.npy` bytes; `name` is the file in errors.
pub fn read(bytes: &[u8], name: &str) -> Result<Array, DataError> {
    let err = |m: String| DataError::at(name, m);
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(err(
            "not a .npy file: it does not start with \\x93NUMPY".into()
        ));
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(v) => (v[0], v[1]),
        None => return Err(err("the header is truncated: no version".into())),
    };
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => {
            return Err(err(format!(
                "format version {major}.{minor} is not supported (1.0, 2.0, 3.0 are)"
            )));
        }
    };
    let Some(len) = bytes.get(8..8 + len_bytes) else {
        return Err(err("the header is truncated: no header length".into()));
    };
    let header_len = len.iter().rev().fold(0usize, |a, &b| (a << 8) | b as usize);
    let start = 8 + len_bytes;
    let Some(header) = bytes.get(start..start + header_len) else {
        return Err(err(format!(
            "the header is truncated: {} bytes of {header_len}",
            bytes.len() - start
        )));
    };
    let header = match (std::str::from_utf8(header), utf8) {
        (Ok(h), true) => h,
        (Ok(h), false) if h.is_ascii() => h,
        _ => return Err(err("the header is not text".into())),
    };
    let (descr, fortran_order, shape) = parse_header(header).map_err(err)?;
    let (kind, size, big) = dtype(&descr).ok_or_else(|| {
        err(format!(
            "the type {descr:?} is not supported (floats <f4 <f8, integers <i1 … <u8, |b1)"
        ))
    })?;
    if shape.is_empty() || shape.len() > 2 {
        return Err(err(format!(
            "the array has rank {} (shape {}); one or two dimensions are read",
            shape.len(),
            shape_text(&shape)
        )));
    }
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|n| n.checked_mul(size))
        .ok_or_else(|| err(format!("the shape {} is too large", shape_text(&shape))))?;
    let data = &bytes[start + header_len..];
    if data.len() != count {
        let what = if data.len() < count {
            "truncated"
        } else {
            "longer than its shape"
        };
        return Err(err(format!(
            "the data are {what}: {} bytes, but shape {} of {descr} needs {count}",
            data.len(),
            shape_text(&shape)
        )));
    }
    let values = data
        .chunks_exact(size)
        .map(|c| value(c, kind, big))
        .collect();
    Ok(Array {
        shape,
        descr,
        fortran_order,
        values,
    })
}

/// The kind, size and byte order (`true` for big-endian) of a simple type like `<f8`.
fn dtype(descr: &str) -> Option<(Kind, usize, bool)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let kind = match chars.next()? {
        'f' => Kind::Float,
        'i' => Kind::Int,
        'u' => Kind::Uint,
        'b' => Kind::Bool,
        _ => return None,
    };
    let size: usize = chars.as_str().parse().ok()?;
    let ok = match kind {
        Kind::Float => matches!(size, 4 | 8),
        Kind::Int | Kind::Uint => matches!(size, 1 | 2 | 4 | 8),
        Kind::Bool => size == 1,
    };
    let big = match order {
        '<' | '=' => false,
        '>' => true,
        '|' => false,
        _ => return None,
    };
    (ok && (order != '|' || size == 1)).then_some((kind, size, big))
}

/// One value from its bytes.
fn value(c: &[u8], kind: Kind, big: bool) -> f64 {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    if big {
        b[..c.len()].reverse();
    }
    let bits = u64::from_le_bytes(b);
    let n = c.len() * 8;
    match kind {
        Kind::Float if n == 32 => f64::from(f32::from_bits(bits as u32)),
        Kind::Float => f64::from_bits(bits),
        Kind::Uint | Kind::Bool => bits as f64,
        // Sign-extend the low n bits.
        Kind::Int => ((bits << (64 - n)) as i64 >> (64 - n)) as f64,
    }
}

/// The `descr`, `fortran_order` and `shape` of a header, or what is wrong with it.
fn parse_header(text: &str) -> Result<(String, bool, Vec<usize>), String> {
    let mut p = Parser {
        s: text.trim_end_matches(['\n', ' ', '\0']).trim_start(),
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    let not_dict = |s: &str| format!("the header is not a Python dict: {s:?}");
    if !p.eat('{') {
        return Err(not_dict(text.trim_end()));
    }
    loop {
        if p.eat('}') {
            break;
        }
        let key = p.string().ok_or_else(|| not_dict(text.trim_end()))?;
        if !p.eat(':') {
            return Err(not_dict(text.trim_end()));
        }
        match key.as_str() {
            "descr" => match p.string() {
                Some(d) => descr = Some(d),
                None => {
                    return Err(format!(
                        "the type is not a simple type (a structured array?): {:?}",
                        text.trim_end()
                    ));
                }
            },
            "fortran_order" => {
                fortran = Some(p.boolean().ok_or("`fortran_order` is not True or False")?);
            }
            "shape" => shape = Some(p.tuple().ok_or("`shape` is not a tuple of sizes")?),
            other => return Err(format!("the header has an unknown key {other:?}")),
        }
        if !p.eat(',') {
            if p.eat('}') {
                break;
            }
            return Err(not_dict(text.trim_end()));
        }
    }
    if !p.s.is_empty() {
        return Err(not_dict(text.trim_end()));
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        (d, f, _) => {
            let missing = if d.is_none() {
                "descr"
            } else if f.is_none() {
                "fortran_order"
            } else {
                "shape"
            };
            Err(format!("the header has no `{missing}`"))
        }
    }
}

/// A cursor over the header's Python literal.
struct Parser<'a> {
    s: &'a str,
}

impl Parser<'_> {
    /// Skips spaces and `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.s = self.s.trim_start();
        match self.s.strip_prefix(c) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }

    /// A string in single or double quotes (no escapes: NumPy's keys and types have none).
    fn string(&mut self) -> Option<String> {
        self.s = self.s.trim_start();
        let q = self.s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let end = self.s[1..].find(q)? + 1;
        let text = self.s[1..end].to_string();
        self.s = &self.s[end + 1..];
        Some(text)
    }

    fn boolean(&mut self) -> Option<bool> {
        self.s = self.s.trim_start();
        for (word, v) in [("True", true), ("False", false)] {
            if let Some(rest) = self.s.strip_prefix(word) {
                self.s = rest;
                return Some(v);
            }
        }
        None
    }

    /// `()`, `(n,)`, `(n, d)`, …
    fn tuple(&mut self) -> Option<Vec<usize>> {
        if !self.eat('(') {
            return None;
        }
        let mut dims = Vec::new();
        loop {
            if self.eat(')') {
                return Some(dims);
            }
            self.s = self.s.trim_start();
            let digits = self.s.len()
                - self
                    .s
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            dims.push(self.s[..digits].parse().ok()?);
            self.s = &self.s[digits..];
            if !self.eat(',') {
                return self.eat(')').then_some(dims);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 file: the header padded so the data start at a multiple of 64.
    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut b = MAGIC.to_vec();
        b.extend([1, 0]);
        b.extend((h.len() as u16).to_le_bytes());
        b.extend(h.as_bytes());
        b.extend(data);
        b
    }

    fn err(bytes: &[u8]) -> String {
        read(bytes, "a.npy").unwrap_err().to_string()
    }

    #[test]
    fn reads_types_and_orders() {
        let ints: Vec<u8> = [-1i16, 2, 300, -32768]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let h = "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }";
        let a = read(&file(h, &ints), "a.npy").unwrap();
        assert_eq!((a.rows(), a.cols()), (2, 2));
        assert_eq!(
            [a.get(0, 0), a.get(0, 1), a.get(1, 0), a.get(1, 1)],
            [-1.0, 2.0, 300.0, -32768.0]
        );
        // The same bytes in Fortran order: columns first.
        let h = "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 2), }";
        let a = read(&file(h, &ints), "a.npy").unwrap();
        assert_eq!([a.get(0, 1), a.get(1, 0)], [300.0, 2.0]);
        let be: Vec<u8> = [1.5f32, -2.25]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let h = "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(read(&file(h, &be), "a.npy").unwrap().values, [1.5, -2.25]);
        let h = "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (3,)}";
        assert_eq!(
            read(&file(h, &[0, 7, 255]), "a.npy").unwrap().values,
            [0.0, 7.0, 255.0]
        );
        let h = "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }";
        let v = read(&file(h, &i64::MIN.to_le_bytes()), "a.npy").unwrap();
        assert_eq!(v.values, [-9.223_372_036_854_776e18]);
    }

    #[test]
    fn malformed_files_are_named_errors() {
        assert_eq!(
            err(b"PK\x03\x04 zip"),
            "a.npy: not a .npy file: it does not start with \\x93NUMPY"
        );
        assert_eq!(
            err(b"\x93NUMPY\x01"),
            "a.npy: the header is truncated: no version"
        );
        assert_eq!(
            err(b"\x93NUMPY\x04\x00"),
            "a.npy: format version 4.0 is not supported (1.0, 2.0, 3.0 are)"
        );
        assert_eq!(
            err(b"\x93NUMPY\x01\x00\x76\x00{'descr'"),
            "a.npy: the header is truncated: 8 bytes of 118"
        );
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(
            err(&file(h, &[0; 40])),
            "a.npy: the data are truncated: 40 bytes, but shape (2, 3) of <f8 needs 48"
        );
        assert_eq!(
            err(&file(h, &[0; 56])),
            "a.npy: the data are longer than its shape: 56 bytes, but shape (2, 3) of <f8 needs 48"
        );
        let h = "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }";
        assert_eq!(
            err(&file(h, &[0; 4])),
            "a.npy: the type \"<f2\" is not supported (floats <f4 <f8, integers <i1 … <u8, |b1)"
        );
        let h = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
        assert!(err(&file(h, &[])).starts_with("a.npy: the type \"|O\" is not supported"));
        let h = "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }";
        assert!(
            err(&file(h, &[])).starts_with("a.npy: the type is not a simple type"),
            "{}",
            err(&file(h, &[]))
        );
        assert_eq!(
            err(&file("[1, 2]", &[])),
            "a.npy: the header is not a Python dict: \"[1, 2]\""
        );
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }";
        assert_eq!(
            err(&file(h, &[0; 64])),
            "a.npy: the array has rank 3 (shape (2, 2, 2)); one or two dimensions are read"
        );
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
        assert_eq!(
            err(&file(h, &[0; 8])),
            "a.npy: the array has rank 0 (shape ()); one or two dimensions are read"
        );
        let h = "{'descr': '<f8', 'shape': (2,), }";
        assert_eq!(
            err(&file(h, &[0; 16])),
            "a.npy: the header has no `fortran_order`"
        );
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999, ), }";
        assert_eq!(
            err(&file(h, &[])),
            "a.npy: the shape (99999999999, 99999999999) is too large"
        );
    }
}
