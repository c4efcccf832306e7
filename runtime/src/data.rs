//! Data sets for training: CSV files read into `D × N` feature matrices (one column per
//! example) with class labels or real-valued targets, shuffled train/validation/test splits,
//! feature standardisation fitted on one split, and mini-batches gathered into preallocated
//! `D × B` buffers without touching the heap.
//!
//! CSV is read with the `csv` crate: cells are separated by a one-byte delimiter and trimmed,
//! a quoted cell (`"a, b"`, `"say ""hi"""`) may hold the delimiter and quotes, blank lines and
//! lines starting with `#` are skipped, and every problem is a [`DataError`] naming the file,
//! the 1-based line and, when it is about one cell, the cell. Column indices in
//! [`CsvOptions`] are 0-based; cell numbers in messages are 1-based, like line numbers.
//! Gzip-compressed files need the `gzip` feature.
//!
//! Class labels are numbers or names. When the first data row's label is not a number, every
//! label is a name (`setosa`, `versicolor`, `virginica`), and the names, sorted (by their
//! bytes), are the classes `lo, lo+1, …`: the same set of names always gives the same
//! classes, whatever the order of the rows. [`Dataset::class_names`] keeps them; given
//! [`CsvOptions::class_names`] (a model's, from its checkpoint), each label must be one of
//! those. A vector of labels (`target y : {0, 1}^{D}`) is read as values, each checked
//! against its set ([`CsvOptions::value_labels`]) with the test the kernels use
//! ([`labels::label_index`](crate::labels::label_index)).
//!
//! Data already in memory become a [`Dataset`] through [`Dataset::from_labels`] (class
//! labels) or [`Dataset::from_values`] (real-valued targets), which check that every example
//! has its target.

use crate::{Rng, Scalar};
use faer::{Mat, MatMut, MatRef};
use std::fmt;
use std::ops::Range;
use std::path::Path;

/// Where the label is: a 0-based column index or a header name.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// A column index; negative counts from the end (`-1` is the last column).
    Index(isize),
    /// The column with this name in the header.
    Name(String),
    /// No target column (data to predict on): every column, or the chosen ones, is a
    /// feature, and the targets are values with no rows.
    Absent,
}

/// Whether the first row is a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// A first row with any cell that is not a number is a header.
    Auto,
    /// The first row is a header.
    Yes,
    /// Every row is data.
    No,
}

/// What the targets are.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetKind {
    /// Integer class labels in {lo … lo+classes−1}; `classes: None` infers it as max−lo+1.
    Labels {
        /// The first label.
        lo: usize,
        /// The number of classes, or `None` to infer it from the largest label.
        classes: Option<usize>,
    },
    /// Real-valued targets from `count` consecutive columns starting at the target column.
    Values {
        /// The number of target columns.
        count: usize,
    },
}

/// How to read a CSV file.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// Whether the first row is a header (default [`Header::Auto`]).
    pub header: Header,
    /// The (first) target column (default the last column).
    pub target: Column,
    /// What the targets are (default labels from 0, classes inferred).
    pub kind: TargetKind,
    /// The feature columns (0-based); default every column that is not a target column.
    pub features: Option<Vec<usize>>,
    /// The cell separator, an ASCII byte (default `b','`).
    pub delimiter: u8,
    /// The class names, when labels are names and their classes are already fixed (a trained
    /// model's): each label must be one of them, and `names[k]` is class `lo + k`.
    pub class_names: Option<Vec<String>>,
    /// For real-valued targets that are labels (each entry of a vector `{0, 1}^{D}`): the
    /// set every value must be in, as its first label and count.
    pub value_labels: Option<(i32, usize)>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: Header::Auto,
            target: Column::Index(-1),
            kind: TargetKind::Labels {
                lo: 0,
                classes: None,
            },
            features: None,
            delimiter: b',',
            class_names: None,
            value_labels: None,
        }
    }
}

/// A data set: features `D × N` (one column per example) and the targets of each example.
///
/// An example of a model that reads a matrix `X ∈ ℝ^{D×T}` is one column of `D·T` numbers,
/// `X` column by column (the row index of `X` varying fastest: `X[d, t]` is feature
/// `t·D + d`); [`gather`](Self::gather) lays a batch out as the model takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    /// The features, `D × N`.
    pub x: Mat<T>,
    /// The targets, one per example.
    pub y: Targets<T>,
    /// The feature names, from the header or `x1`, `x2`, ….
    pub feature_names: Vec<String>,
    /// The class names when the labels were names: `class_names[k]` is class `lo + k`
    /// (empty for numeric labels and for values).
    pub class_names: Vec<String>,
    /// The named inputs each example's column holds, one after the other (each matrix
    /// column by column), as a model with several inputs reads them (`X ∈ ℝ^{D×N}` then
    /// `A ∈ ℝ^{N×N}`): checked against the model's inputs by name and shape. Empty when the
    /// column is the features of one unnamed input (a CSV file's row). Data with named
    /// inputs are used as given, never standardised: an adjacency matrix or one-hot tokens
    /// keep their meaning.
    pub inputs: Vec<InputShape>,
}

/// The feature names of inputs held one after the other: `X[1,1]`, `X[2,1]`, …, each
/// input's entries column by column.
pub fn input_feature_names(inputs: &[InputShape]) -> Vec<String> {
    inputs
        .iter()
        .flat_map(|s| {
            (0..s.cols).flat_map(move |c| {
                (0..s.rows).map(move |r| format!("{}[{},{}]", s.name, r + 1, c + 1))
            })
        })
        .collect()
}

/// One input of a model as a data set holds it per example: its name in the spec and its
/// shape, `rows × cols` (`cols` is 1 for a vector).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputShape {
    /// The input's name in the spec (`X`, `A`).
    pub name: String,
    /// Its rows.
    pub rows: usize,
    /// Its columns per example.
    pub cols: usize,
}

impl InputShape {
    /// The numbers of one example's value: `rows · cols`.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether it holds no numbers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its type as the spec writes it: `ℝ^{3}`, `ℝ^{3×8}`.
    pub fn book(&self) -> String {
        if self.cols <= 1 {
            format!("ℝ^{{{}}}", self.rows)
        } else {
            format!("ℝ^{{{}×{}}}", self.rows, self.cols)
        }
    }
}

/// The targets of a data set.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T> {
    /// Class labels as written (each in {lo … lo+classes−1}).
    Labels {
        /// One label per example.
        values: Vec<usize>,
        /// The first label.
        lo: usize,
        /// The number of classes.
        classes: usize,
    },
    /// Real-valued targets, `K × N`.
    Values(Mat<T>),
}

/// A borrowed batch of targets, what generated `loss_and_grad` takes: labels as indices,
/// values as a `K × B` matrix.
#[derive(Clone, Copy, Debug)]
pub enum TargetsRef<'a, T> {
    /// Class labels, one per example.
    Labels(&'a [usize]),
    /// Real-valued targets, `K × B`.
    Values(MatRef<'a, T>),
}

/// A data error: the file, the 1-based line (0 when not about one line) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// The file (path or name given by the caller).
    pub file: String,
    /// The 1-based line, or 0.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl DataError {
    /// An error about the whole file (line 0).
    pub(crate) fn at(file: &str, message: impl Into<String>) -> DataError {
        DataError::new(file, 0, message)
    }

    fn new(file: &str, line: usize, message: impl Into<String>) -> DataError {
        DataError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for DataError {}

/// A row of trimmed cells and its 1-based line number.
struct Row {
    line: usize,
    cells: Vec<String>,
}

/// The rows of CSV text (a leading byte-order mark dropped), read by the `csv` crate with
/// trimmed cells; blank lines and comment lines (`#` first) are skipped.
fn split_rows(text: &str, name: &str, delimiter: u8) -> Result<Vec<Row>, DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    // The 1-based line where a record starts: its position is where the reader started
    // reading it, before the blank and comment lines it skipped (which its own line count
    // leaves out).
    let breaks: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line_of = |p: &csv::Position| {
        let mut line = breaks.partition_point(|&b| b < p.byte() as usize);
        while let Some(&end) = breaks.get(line) {
            let start = if line == 0 { 0 } else { breaks[line - 1] + 1 };
            let t = text[start..end].trim();
            if !(t.is_empty() || t.starts_with('#')) {
                break;
            }
            line += 1;
        }
        line + 1
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, line_of);
            DataError::new(name, line, format!("cannot read the CSV: {e}"))
        })?;
        let line = record.position().map_or(0, line_of);
        let blank = record.len() == 1 && record[0].is_empty();
        if blank || record.get(0).is_some_and(|c| c.starts_with('#')) {
            continue;
        }
        let cells = record.iter().map(str::to_string).collect();
        rows.push(Row { line, cells });
    }
    Ok(rows)
}

/// A finite number from cell `col` (0-based) of `row`.
fn number(file: &str, row: &Row, col: usize) -> Result<f64, DataError> {
    let text = &row.cells[col];
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(DataError::new(
            file,
            row.line,
            format!("cell {} is not finite: {text:?}", col + 1),
        )),
        Err(_) => Err(DataError::new(
            file,
            row.line,
            format!("cell {} is not a number: {text:?}", col + 1),
        )),
    }
}

/// A class label from cell `col`, checked against `lo` and, when known, the number of classes.
fn label(
    file: &str,
    row: &Row,
    col: usize,
    lo: usize,
    classes: Option<usize>,
) -> Result<usize, DataError> {
    let v = number(file, row, col)?;
    let err = |message: String| Err(DataError::new(file, row.line, message));
    if v.fract() != 0.0 {
        return err(format!("label {} is not an integer", row.cells[col]));
    }
    if v > f64::from(u32::MAX) {
        return err(format!("label {} is too large", row.cells[col]));
    }
    match classes {
        Some(k) => match in_set(v, lo as i64, k) {
            Some(_) => Ok(v as usize),
            None => err(format!("label {v} is outside {}", set(lo as i64, k))),
        },
        None if v < lo as f64 => err(format!("label {v} is below the first label {lo}")),
        None => Ok(v as usize),
    }
}

/// A value of a vector of labels from cell `col`: a number in `{lo … lo+count−1}`.
fn label_value(file: &str, row: &Row, col: usize, lo: i32, count: usize) -> Result<f64, DataError> {
    let v = number(file, row, col)?;
    match in_set(v, i64::from(lo), count) {
        Some(_) => Ok(v),
        None => Err(DataError::new(
            file,
            row.line,
            format!(
                "label {v} in cell {} is not in {}",
                col + 1,
                set(i64::from(lo), count)
            ),
        )),
    }
}

/// Whether `v` is a label of `{lo … lo+count−1}` (its index if so): the kernels' test,
/// [`labels::label_index`](crate::labels::label_index), for every label of a data file.
pub(crate) fn in_set(v: f64, lo: i64, count: usize) -> Option<usize> {
    match i32::try_from(lo) {
        Ok(lo) => crate::labels::label_index(v, lo, count),
        Err(_) => None,
    }
}

/// A label set as the book writes it: `{0 … 9}`.
pub(crate) fn set(lo: i64, count: usize) -> String {
    format!("{{{lo} … {}}}", lo + count as i64 - 1)
}

/// The file name of data given in memory, in errors.
const MEMORY: &str = "<memory>";

/// Whether every value of column `j` is finite.
fn finite_column<T: Scalar>(m: MatRef<'_, T>, j: usize) -> bool {
    (0..m.nrows()).all(|i| m[(i, j)].to_f64().is_finite())
}

/// Decompresses gzip bytes into UTF-8 text.
#[cfg(feature = "gzip")]
fn gunzip(bytes: &[u8], name: &str) -> Result<String, DataError> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut raw)
        .map_err(|e| DataError::new(name, 0, format!("cannot decompress: {e}")))?;
    String::from_utf8(raw).map_err(|_| DataError::new(name, 0, "the file is not UTF-8 text"))
}

/// Without the `gzip` feature, compressed data cannot be read.
#[cfg(not(feature = "gzip"))]
fn gunzip(_: &[u8], name: &str) -> Result<String, DataError> {
    Err(DataError::new(
        name,
        0,
        "reading gzip-compressed data needs the `gzip` feature of nnspec",
    ))
}

impl<T: Scalar> Dataset<T> {
    /// The number of examples `N`.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of features `D`.
    pub fn features(&self) -> usize {
        self.x.nrows()
    }

    /// All targets, borrowed (for evaluating on the whole set).
    pub fn targets(&self) -> TargetsRef<'_, T> {
        match &self.y {
            Targets::Labels { values, .. } => TargetsRef::Labels(values),
            Targets::Values(m) => TargetsRef::Values(m.as_ref()),
        }
    }

    /// Examples in memory with class labels: features `D × N` (one column per example) and
    /// one label in `{0 … classes−1}` per example. Features are named `x1`, `x2`, ….
    ///
    /// # Errors
    /// When the number of labels is not `N`, a label is not below `classes`, or a feature is
    /// not finite (the [`DataError`] names the example, 1-based, as its line).
    pub fn from_labels(
        x: Mat<T>,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<Dataset<T>, DataError> {
        if labels.len() != x.ncols() {
            return Err(DataError::new(
                MEMORY,
                0,
                format!("{} labels for {} examples", labels.len(), x.ncols()),
            ));
        }
        if let Some(j) = labels.iter().position(|&l| l >= classes) {
            return Err(DataError::new(
                MEMORY,
                j + 1,
                format!("label {} is not below the {classes} classes", labels[j]),
            ));
        }
        let y = Targets::Labels {
            values: labels,
            lo: 0,
            classes,
        };
        Self::from_memory(x, y)
    }

    /// Examples in memory with real-valued targets: features `D × N` and targets `K × N`, one
    /// column per example in both. Features are named `x1`, `x2`, ….
    ///
    /// # Errors
    /// When `y` does not have `N` columns, or a value is not finite.
    pub fn from_values(x: Mat<T>, y: Mat<T>) -> Result<Dataset<T>, DataError> {
        if y.ncols() != x.ncols() {
            return Err(DataError::new(
                MEMORY,
                0,
                format!(
                    "targets for {} examples, features for {}",
                    y.ncols(),
                    x.ncols()
                ),
            ));
        }
        if let Some(j) = (0..y.ncols()).find(|&j| !finite_column(y.as_ref(), j)) {
            return Err(DataError::new(MEMORY, j + 1, "a target is not finite"));
        }
        Self::from_memory(x, Targets::Values(y))
    }

    /// The checks and names shared by the in-memory constructors.
    fn from_memory(x: Mat<T>, y: Targets<T>) -> Result<Dataset<T>, DataError> {
        if let Some(j) = (0..x.ncols()).find(|&j| !finite_column(x.as_ref(), j)) {
            return Err(DataError::new(MEMORY, j + 1, "a feature is not finite"));
        }
        let feature_names = (1..=x.nrows()).map(|i| format!("x{i}")).collect();
        Ok(Dataset {
            x,
            y,
            feature_names,
            class_names: Vec::new(),
            inputs: Vec::new(),
        })
    }

    /// Parses CSV text; `name` is used in errors (the file path).
    pub fn from_csv_str(
        text: &str,
        name: &str,
        opts: &CsvOptions,
    ) -> Result<Dataset<T>, DataError> {
        let at = |line, message: String| DataError::new(name, line, message);
        let rows = split_rows(text, name, opts.delimiter)?;
        let Some(first) = rows.first() else {
            return Err(at(0, "the file is empty".into()));
        };
        let has_header = match opts.header {
            Header::Yes => true,
            Header::No => false,
            Header::Auto => auto_header(&rows),
        };
        let (header, data) = if has_header {
            (Some(first), &rows[1..])
        } else {
            (None, &rows[..])
        };
        if data.is_empty() {
            return Err(at(0, "there are no data rows after the header".into()));
        }
        let width = first.cells.len();
        let (targets, features) = columns(opts, header, first.line, width)
            .map_err(|(line, message)| at(line, message))?;
        let feature_names = match header {
            Some(h) => features.iter().map(|&c| h.cells[c].clone()).collect(),
            None => (1..=features.len()).map(|i| format!("x{i}")).collect(),
        };
        if let Some(row) = data.iter().find(|r| r.cells.len() != width) {
            let message = format!("row has {} cells, expected {width}", row.cells.len());
            return Err(at(row.line, message));
        }

        // The cells.
        let n = data.len();
        let absent = opts.target == Column::Absent;
        let mut x = Mat::<T>::zeros(features.len(), n);
        for (j, row) in data.iter().enumerate() {
            for (i, &c) in features.iter().enumerate() {
                x[(i, j)] = T::from_f64(number(name, row, c)?);
            }
        }
        let mut class_names = Vec::new();
        let y = match opts.kind {
            _ if absent => Targets::Values(Mat::zeros(0, n)),
            TargetKind::Labels { lo, classes } => {
                let col = targets.start;
                let names =
                    opts.class_names.is_some() || data[0].cells[col].parse::<f64>().is_err();
                let labels = if names {
                    let (labels, found) = name_labels(name, data, col, lo, classes, opts)?;
                    class_names = found;
                    labels
                } else {
                    let read = |row| label(name, row, col, lo, classes);
                    data.iter().map(read).collect::<Result<Vec<_>, _>>()?
                };
                let classes = classes.unwrap_or_else(|| match names {
                    true => class_names.len(),
                    false => labels.iter().max().map_or(1, |&m| m - lo + 1),
                });
                Targets::Labels {
                    values: labels,
                    lo,
                    classes,
                }
            }
            TargetKind::Values { .. } => {
                let mut values = Mat::<T>::zeros(targets.len(), n);
                for (j, row) in data.iter().enumerate() {
                    for (k, c) in targets.clone().enumerate() {
                        let v = match opts.value_labels {
                            Some((lo, count)) => label_value(name, row, c, lo, count)?,
                            None => number(name, row, c)?,
                        };
                        values[(k, j)] = T::from_f64(v);
                    }
                }
                Targets::Values(values)
            }
        };
        Ok(Dataset {
            x,
            y,
            feature_names,
            class_names,
            inputs: Vec::new(),
        })
    }

    /// Reads a file; a name ending in `.gz` is decompressed (with the `gzip` feature; without
    /// it, such a file is an error). I/O errors are [`DataError`]s with line 0.
    pub fn from_csv_path(path: &Path, opts: &CsvOptions) -> Result<Dataset<T>, DataError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| DataError::new(&name, 0, format!("cannot read the file: {e}")))?;
        if name.ends_with(".gz") {
            Self::from_csv_gz_bytes(&bytes, &name, opts)
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| DataError::new(&name, 0, "the file is not UTF-8 text"))?;
            Self::from_csv_str(&text, &name, opts)
        }
    }

    /// Parses gzip-compressed CSV bytes (for data embedded with `include_bytes!`). Without the
    /// `gzip` feature, every call is an error that says so.
    pub fn from_csv_gz_bytes(
        bytes: &[u8],
        name: &str,
        opts: &CsvOptions,
    ) -> Result<Dataset<T>, DataError> {
        let text = gunzip(bytes, name)?;
        Self::from_csv_str(&text, name, opts)
    }

    /// The examples at `indices`, in that order, as a new data set.
    ///
    /// # Panics
    /// If an index is not below [`len`](Self::len).
    pub fn subset(&self, indices: &[usize]) -> Dataset<T> {
        let x = Mat::from_fn(self.features(), indices.len(), |i, j| {
            self.x[(i, indices[j])]
        });
        let y = match &self.y {
            Targets::Labels {
                values,
                lo,
                classes,
            } => Targets::Labels {
                values: indices.iter().map(|&i| values[i]).collect(),
                lo: *lo,
                classes: *classes,
            },
            Targets::Values(m) => {
                Targets::Values(Mat::from_fn(m.nrows(), indices.len(), |k, j| {
                    m[(k, indices[j])]
                }))
            }
        };
        Dataset {
            x,
            y,
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
            inputs: self.inputs.clone(),
        }
    }

    /// A shuffled split into (train, validation, test) with the given fractions of validation
    /// and test examples (e.g. `0.1, 0.2`). Counts are rounded; when `N ≥ 3` every part with a
    /// positive fraction gets at least one example, and training always keeps at least one.
    /// The same seed gives the same split.
    ///
    /// # Panics
    /// If a fraction is outside `[0, 1]` or they add up to more than 1.
    pub fn split(
        &self,
        val: f64,
        test: f64,
        rng: &mut Rng,
    ) -> (Dataset<T>, Dataset<T>, Dataset<T>) {
        assert!(
            (0.0..=1.0).contains(&val) && (0.0..=1.0).contains(&test) && val + test <= 1.0,
            "split fractions {val} and {test} must be in [0, 1] and add up to at most 1"
        );
        let n = self.len();
        let mut n_val = (val * n as f64).round() as usize;
        let mut n_test = (test * n as f64).round() as usize;
        if n >= 3 {
            if val > 0.0 {
                n_val = n_val.max(1);
            }
            if test > 0.0 {
                n_test = n_test.max(1);
            }
        }
        let cap = n.saturating_sub(1);
        while n_val + n_test > cap {
            if n_val > n_test {
                n_val -= 1;
            } else {
                n_test -= 1;
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        shuffle(&mut order, rng);
        let n_train = n - n_val - n_test;
        let (train, rest) = order.split_at(n_train);
        let (valid, test) = rest.split_at(n_val);
        (self.subset(train), self.subset(valid), self.subset(test))
    }

    /// Copies the inputs of the examples at `indices` into the first columns of the
    /// preallocated `x`, without allocating, and returns the batch view. With `D·N` features
    /// and a buffer of `D` rows (a model reading `X ∈ ℝ^{D×N}`), each example's column is
    /// laid out as its `N` columns of `D` (the features being `X` column by column), so the
    /// batch is `D × (N·B)`, example `b`'s columns side by side; otherwise `x` has the `D`
    /// rows of the features and the batch is `D × B`.
    ///
    /// # Panics
    /// If `x`'s rows do not divide the feature count, `x` has too few columns, or an index
    /// is out of range.
    pub fn gather_inputs<'a>(&self, indices: &[usize], x: &'a mut Mat<T>) -> MatRef<'a, T> {
        let (b, d) = (indices.len(), x.nrows());
        let per = if d == self.features() {
            1
        } else {
            self.features().checked_div(d).unwrap_or(0)
        };
        assert!(
            per > 0 && per * d == self.features() && x.ncols() >= b * per,
            "batch buffer is {}×{}, but a batch of {b} examples of {} features needs D×≥{b}·(features/D)",
            x.nrows(),
            x.ncols(),
            self.features()
        );
        for (j, &i) in indices.iter().enumerate() {
            let col = self.x.col(i);
            for t in 0..per {
                x.col_mut(j * per + t).copy_from(col.subrows(t * d, d));
            }
        }
        let x: &'a Mat<T> = x;
        x.as_ref().subcols(0, b * per)
    }

    /// Copies the examples at `indices` into preallocated buffers — the first columns of `x`
    /// (as [`gather_inputs`](Self::gather_inputs): `D × ≥B`, or `D × ≥N·B` for `D·N`
    /// features read as `X ∈ ℝ^{D×N}`) and of `y` — without allocating, and returns the
    /// batch views.
    ///
    /// # Panics
    /// As [`gather_inputs`](Self::gather_inputs), and if `y` is of the other kind or too
    /// small (make it with [`BatchTargets::for_dataset`]).
    pub fn gather<'a>(
        &self,
        indices: &[usize],
        x: &'a mut Mat<T>,
        y: &'a mut BatchTargets<T>,
    ) -> (MatRef<'a, T>, TargetsRef<'a, T>) {
        let b = indices.len();
        let x = self.gather_inputs(indices, x);
        let y = match (&self.y, y) {
            (Targets::Labels { values, .. }, BatchTargets::Labels(buf)) => {
                for (slot, &i) in buf[..b].iter_mut().zip(indices) {
                    *slot = values[i];
                }
                TargetsRef::Labels(&buf[..b])
            }
            (Targets::Values(m), BatchTargets::Values(buf)) => {
                assert!(
                    buf.nrows() == m.nrows() && buf.ncols() >= b,
                    "target buffer too small"
                );
                for (j, &i) in indices.iter().enumerate() {
                    buf.col_mut(j).copy_from(m.col(i));
                }
                let buf: &'a Mat<T> = buf;
                TargetsRef::Values(buf.as_ref().subcols(0, b))
            }
            _ => panic!("the batch target buffer is not of the data set's target kind"),
        };
        (x, y)
    }
}

/// Whether the first row is a header, when the file does not say: it is if one of its cells
/// is not a number where the second row's is (a column of names below a name is data, as
/// class names are); with one row, if any cell is not a number.
fn auto_header(rows: &[Row]) -> bool {
    let text = |c: &String| c.parse::<f64>().is_err();
    match rows {
        [first, second, ..] => first
            .cells
            .iter()
            .zip(&second.cells)
            .any(|(a, b)| text(a) && !text(b)),
        [first] => first.cells.iter().any(text),
        [] => false,
    }
}

/// Class labels written as names in column `col`: each name's class is `lo` plus its place
/// among the names given (`opts.class_names`), or else among the names found, sorted.
/// Returns the labels and the names, in class order.
fn name_labels(
    file: &str,
    data: &[Row],
    col: usize,
    lo: usize,
    classes: Option<usize>,
    opts: &CsvOptions,
) -> Result<(Vec<usize>, Vec<String>), DataError> {
    let names: Vec<String> = match &opts.class_names {
        Some(given) => given.clone(),
        None => {
            let found: std::collections::BTreeSet<&str> =
                data.iter().map(|r| r.cells[col].as_str()).collect();
            found.into_iter().map(str::to_string).collect()
        }
    };
    if let Some(k) = classes
        && names.len() > k
    {
        // The first row whose name has no class.
        let row = data
            .iter()
            .find(|r| {
                names
                    .iter()
                    .position(|n| *n == r.cells[col])
                    .is_some_and(|p| p >= k)
            })
            .map_or(0, |r| r.line);
        return Err(DataError::new(
            file,
            row,
            format!(
                "{} class names ({}), but the target has {k} classes {}",
                names.len(),
                names.join(", "),
                set(lo as i64, k)
            ),
        ));
    }
    let mut labels = Vec::with_capacity(data.len());
    for row in data {
        let cell = &row.cells[col];
        match names.iter().position(|n| n == cell) {
            Some(p) => labels.push(lo + p),
            None => {
                return Err(DataError::new(
                    file,
                    row.line,
                    format!(
                        "label {cell:?} in cell {} is not one of the classes {}",
                        col + 1,
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok((labels, names))
}

/// The target columns and the feature columns, checked against the row width; an error is a
/// line (0 for none) and a message.
fn columns(
    opts: &CsvOptions,
    header: Option<&Row>,
    first_line: usize,
    width: usize,
) -> Result<(Range<usize>, Vec<usize>), (usize, String)> {
    let target = match &opts.target {
        Column::Absent => None,
        Column::Index(i) => {
            let t = match usize::try_from(*i) {
                Ok(t) => Some(t),
                Err(_) => width.checked_sub(i.unsigned_abs()),
            };
            match t.filter(|&t| t < width) {
                Some(t) => Some(t),
                None => {
                    let message = format!("target column {i} is out of range for {width} columns");
                    return Err((first_line, message));
                }
            }
        }
        Column::Name(n) => {
            let Some(h) = header else {
                let message = format!("the target column {n:?} is named, but there is no header");
                return Err((first_line, message));
            };
            match h.cells.iter().position(|c| c == n) {
                Some(t) => Some(t),
                None => return Err((h.line, format!("no column named {n:?} in the header"))),
            }
        }
    };
    let count = match opts.kind {
        TargetKind::Labels {
            classes: Some(0), ..
        } => {
            return Err((0, "a label target needs at least one class".into()));
        }
        TargetKind::Values { count: 0 } => {
            return Err((0, "a value target needs at least one column".into()));
        }
        TargetKind::Labels { .. } => 1,
        TargetKind::Values { count } => count,
    };
    let targets = match target {
        Some(target) if target + count > width => {
            let message = format!(
                "{count} target columns from column {target} do not fit in {width} columns"
            );
            return Err((first_line, message));
        }
        Some(target) => target..target + count,
        None => 0..0,
    };
    let features: Vec<usize> = match &opts.features {
        Some(f) => match f.iter().find(|&&c| c >= width) {
            Some(c) => {
                let message = format!("feature column {c} is out of range for {width} columns");
                return Err((first_line, message));
            }
            None => f.clone(),
        },
        None => (0..width).filter(|c| !targets.contains(c)).collect(),
    };
    if features.is_empty() {
        return Err((0, "there are no feature columns".into()));
    }
    Ok((targets, features))
}

/// Fisher–Yates with the seeded generator.
fn shuffle(order: &mut [usize], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        // An index in 0..=i from the high bits of a 64-bit draw (multiply-shift).
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
}

/// Preallocated target storage for batches (made once per training run).
#[derive(Clone, Debug)]
pub enum BatchTargets<T> {
    /// Room for class labels.
    Labels(Vec<usize>),
    /// Room for `K × max_batch` values.
    Values(Mat<T>),
}

impl<T: Scalar> BatchTargets<T> {
    /// Storage for batches of up to `max_batch` examples of `ds`.
    pub fn for_dataset(ds: &Dataset<T>, max_batch: usize) -> BatchTargets<T> {
        match &ds.y {
            Targets::Labels { .. } => BatchTargets::Labels(vec![0; max_batch]),
            Targets::Values(m) => BatchTargets::Values(Mat::zeros(m.nrows(), max_batch)),
        }
    }
}

/// Feature standardisation with statistics from one split (the training split) only:
/// per-feature mean and population standard deviation; a constant feature gets standard
/// deviation 1, so it maps to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// The mean of each feature.
    pub mean: Vec<f64>,
    /// The standard deviation of each feature (1 for a constant feature).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// The statistics of each row (feature) of `x` (`D × N`), computed stably for any finite
    /// values: each row is scaled by a power of two near its largest magnitude (exactly, so
    /// ordinary data give the same bits as unscaled sums) before its mean and variance are
    /// summed, so a single `1e308` among small values, or a row of `±1e308`, gives finite
    /// statistics instead of an overflow.
    pub fn fit<T: Scalar>(x: MatRef<'_, T>) -> Standardizer {
        let n = x.ncols().max(1) as f64;
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for i in 0..x.nrows() {
            let largest = (0..x.ncols()).fold(0.0f64, |a, j| a.max(x[(i, j)].to_f64().abs()));
            let scale = if largest > 0.0 && largest.is_finite() {
                2f64.powi(largest.log2().floor() as i32)
            } else {
                1.0
            };
            let row = || (0..x.ncols()).map(|j| x[(i, j)].to_f64() / scale);
            let m = row().sum::<f64>() / n;
            let s = (row().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt() * scale;
            let constant = row().all(|v| v == x[(i, 0)].to_f64() / scale);
            mean.push(m * scale);
            std.push(if constant || s == 0.0 || !s.is_finite() {
                1.0
            } else {
                s
            });
        }
        Standardizer { mean, std }
    }

    /// One mean and one standard deviation for every number of `x` together (each feature
    /// gets the same two): the scaling for pictures, whose pixels are one quantity, where a
    /// border pixel that is almost always 0 would otherwise be scaled by its own tiny spread.
    pub fn fit_global<T: Scalar>(x: MatRef<'_, T>) -> Standardizer {
        let all = faer::Mat::<T>::from_fn(1, x.nrows() * x.ncols(), |_, k| {
            x[(k % x.nrows(), k / x.nrows())]
        });
        let one = Standardizer::fit(all.as_ref());
        Standardizer {
            mean: vec![one.mean[0]; x.nrows()],
            std: vec![one.std[0]; x.nrows()],
        }
    }

    /// Every number of `x` together onto [−1, 1]: each feature's "mean" the midpoint of the
    /// smallest and largest number, its "standard deviation" half their distance (1 when
    /// all are equal), so `(x − mean) / std` keeps the standardisation's form and a
    /// checkpoint's statistics undo it.
    pub fn fit_range<T: Scalar>(x: MatRef<'_, T>) -> Standardizer {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for j in 0..x.ncols() {
            for i in 0..x.nrows() {
                let v = x[(i, j)].to_f64();
                if v.is_finite() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
        let (mid, half) = if lo < hi {
            (lo / 2.0 + hi / 2.0, hi / 2.0 - lo / 2.0)
        } else if lo.is_finite() {
            (lo, 1.0)
        } else {
            (0.0, 1.0)
        };
        Standardizer {
            mean: vec![mid; x.nrows()],
            std: vec![half; x.nrows()],
        }
    }

    /// The identity for `d` features (mean 0, standard deviation 1).
    pub fn identity(d: usize) -> Standardizer {
        Standardizer {
            mean: vec![0.0; d],
            std: vec![1.0; d],
        }
    }

    /// Checks that the statistics can standardise: every mean finite, every standard
    /// deviation finite and positive (as read back from a checkpoint's metadata, say).
    pub fn validate(&self) -> Result<(), String> {
        if self.mean.len() != self.std.len() {
            return Err(format!(
                "{} means but {} standard deviations",
                self.mean.len(),
                self.std.len()
            ));
        }
        for (i, (m, s)) in self.mean.iter().zip(&self.std).enumerate() {
            if !m.is_finite() {
                return Err(format!(
                    "feature {} has mean {m}, not a finite number",
                    i + 1
                ));
            }
            if !(s.is_finite() && *s > 0.0) {
                return Err(format!(
                    "feature {} has standard deviation {s}; it must be finite and > 0",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    /// [`apply`](Self::apply), then checks every standardised value, naming the first that
    /// is not finite by its feature (`names`, when given) and example (1-based).
    pub fn apply_checked<T: Scalar>(
        &self,
        mut x: MatMut<'_, T>,
        names: &[String],
    ) -> Result<(), String> {
        self.validate()?;
        self.apply(x.as_mut());
        for j in 0..x.ncols() {
            for i in 0..x.nrows() {
                if !x[(i, j)].is_finite() {
                    let name = names.get(i).map_or_else(
                        || format!("feature {}", i + 1),
                        |n| format!("feature `{n}`"),
                    );
                    return Err(format!(
                        "{name} (column {}) of example {} does not standardise to a finite \
                         number (mean {}, standard deviation {})",
                        i + 1,
                        j + 1,
                        self.mean[i],
                        self.std[i]
                    ));
                }
            }
        }
        Ok(())
    }

    /// Maps each feature `v` of `x` (`D × N`) to `(v − mean) / std`, in place.
    ///
    /// # Panics
    /// If `x` does not have as many rows as were fitted.
    pub fn apply<T: Scalar>(&self, mut x: MatMut<'_, T>) {
        assert_eq!(
            x.nrows(),
            self.mean.len(),
            "standardising {} features with statistics of {}",
            x.nrows(),
            self.mean.len()
        );
        for j in 0..x.ncols() {
            for i in 0..x.nrows() {
                let (v, m, s) = (x[(i, j)].to_f64(), self.mean[i], self.std[i]);
                let d = v - m;
                // Each term divided first where `v − mean` overflows (`1e308 − (−1e308)`).
                let z = if d.is_finite() { d / s } else { v / s - m / s };
                x[(i, j)] = T::from_f64(z);
            }
        }
    }
}

/// Shuffled mini-batch orders: each epoch a fresh permutation of `0..n` (Fisher–Yates with the
/// [`Rng`]), cut into chunks of `batch` (the last may be smaller).
#[derive(Clone, Debug)]
pub struct Batches {
    order: Vec<usize>,
    batch: usize,
}

impl Batches {
    /// Batches of `batch` examples out of `n`, in order until the first [`shuffle`](Self::shuffle).
    ///
    /// # Panics
    /// If `batch` is 0.
    pub fn new(n: usize, batch: usize) -> Batches {
        assert!(batch > 0, "a batch needs at least one example");
        Batches {
            order: (0..n).collect(),
            batch,
        }
    }

    /// Reshuffles the order (no allocation).
    pub fn shuffle(&mut self, rng: &mut Rng) {
        shuffle(&mut self.order, rng);
    }

    /// The batches of this epoch, as example indices.
    pub fn iter(&self) -> impl Iterator<Item = &[usize]> {
        self.order.chunks(self.batch)
    }

    /// The number of batches.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch)
    }

    /// Whether there are no batches (no examples).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, opts: &CsvOptions) -> Result<Dataset<f64>, DataError> {
        Dataset::from_csv_str(text, "bad.csv", opts)
    }

    /// Pixels 0 … 16 (the digits) go onto [−1, 1]: midpoint 8, half-range 8; a constant
    /// matrix keeps its value as the midpoint and a scale of 1.
    #[test]
    fn a_range_standardizer_maps_the_smallest_and_largest_number_to_minus_one_and_one() {
        let x = faer::Mat::from_fn(2, 3, |i, j| [[0.0, 4.0, 16.0], [8.0, 12.0, 2.0]][i][j]);
        let s = Standardizer::fit_range(x.as_ref());
        assert_eq!(
            (s.mean.clone(), s.std.clone()),
            (vec![8.0; 2], vec![8.0; 2])
        );
        let mut y = x.clone();
        s.apply_checked(y.as_mut(), &[]).unwrap();
        assert_eq!((y[(0, 0)], y[(0, 2)], y[(1, 1)]), (-1.0, 1.0, 0.5));
        let c = Standardizer::fit_range(faer::Mat::<f64>::from_fn(1, 2, |_, _| 3.0).as_ref());
        assert_eq!((c.mean, c.std), (vec![3.0], vec![1.0]));
    }

    /// Options changed from the default by `f`.
    fn with(f: impl FnOnce(&mut CsvOptions)) -> CsvOptions {
        let mut o = CsvOptions::default();
        f(&mut o);
        o
    }

    #[track_caller]
    fn fails(text: &str, opts: &CsvOptions, want: &str) {
        assert_eq!(parse(text, opts).unwrap_err().to_string(), want);
    }

    fn labels(ds: &Dataset<f64>) -> &[usize] {
        let Targets::Labels { values, .. } = &ds.y else {
            panic!("values")
        };
        values
    }

    fn small() -> Dataset<f64> {
        let text = "a,b,y\n1,10,0\n2,20,1\n3,30,2\n4,40,1\n5,50,0\n";
        parse(text, &CsvOptions::default()).unwrap()
    }

    #[test]
    fn parses_with_header_comments_and_blank_lines() {
        let text = "# a comment\n\nh1, h2 ,\"label\"\r\n1.5,2,1\n  \n3,-4e0,0  \n";
        let ds = parse(text, &CsvOptions::default()).unwrap();
        assert_eq!((ds.features(), ds.len()), (2, 2));
        assert_eq!(ds.feature_names, ["h1", "h2"]);
        assert_eq!((ds.x[(0, 0)], ds.x[(1, 1)]), (1.5, -4.0));
        let (values, lo, classes) = (vec![1, 0], 0, 2);
        assert_eq!(
            ds.y,
            Targets::Labels {
                values,
                lo,
                classes
            }
        );
    }

    #[test]
    fn quoted_cells_hold_the_delimiter_and_quotes() {
        let text = "\"width, cm\",\"say \"\"hi\"\"\",y\n\"1,5\",2,0\n3,\" 4 \",1\n";
        let opts = with(|o| o.features = Some(vec![1]));
        let ds = parse(text, &opts).unwrap();
        assert_eq!(ds.feature_names, ["say \"hi\""]);
        assert_eq!((ds.x[(0, 0)], ds.x[(0, 1)]), (2.0, 4.0));
        // The quoted comma stays in its cell, which is then not a number.
        fails(
            text,
            &Default::default(),
            "bad.csv:2: cell 1 is not a number: \"1,5\"",
        );
    }

    #[test]
    fn class_names_are_classes_in_sorted_order() {
        let text = "a,species\n1,virginica\n2,setosa\n3,\"versicolor\"\n4,setosa\n";
        let ds = parse(text, &Default::default()).unwrap();
        assert_eq!(ds.class_names, ["setosa", "versicolor", "virginica"]);
        assert_eq!(labels(&ds), &[2, 0, 1, 0]);
        assert!(matches!(
            ds.y,
            Targets::Labels {
                lo: 0,
                classes: 3,
                ..
            }
        ));
        // Without a header, names below names are data; labels from 1 shift every class.
        let opts = with(|o| {
            o.kind = TargetKind::Labels {
                lo: 1,
                classes: Some(3),
            }
        });
        let ds = parse("5.1,b\n4.9,a\n", &opts).unwrap();
        assert_eq!((ds.len(), labels(&ds)), (2, &[2, 1][..]));
        // A subset keeps the names.
        assert_eq!(ds.subset(&[1]).class_names, ["a", "b"]);
    }

    #[test]
    fn given_class_names_fix_the_classes() {
        let opts = with(|o| {
            o.class_names = Some(vec![
                "setosa".into(),
                "versicolor".into(),
                "virginica".into(),
            ])
        });
        let ds = parse("x,y\n1,virginica\n2,versicolor\n", &opts).unwrap();
        assert_eq!(labels(&ds), &[2, 1]);
        fails(
            "x,y\n1,virginica\n\n2,daisy\n",
            &opts,
            "bad.csv:4: label \"daisy\" in cell 2 is not one of the classes setosa, versicolor, \
             virginica",
        );
    }

    #[test]
    fn more_class_names_than_classes() {
        let opts = with(|o| {
            o.kind = TargetKind::Labels {
                lo: 0,
                classes: Some(2),
            }
        });
        fails(
            "1,b\n2,a\n3,c\n4,a\n",
            &opts,
            "bad.csv:3: 3 class names (a, b, c), but the target has 2 classes {0 … 1}",
        );
    }

    #[test]
    fn a_vector_of_labels_is_checked_against_its_set() {
        let opts = with(|o| {
            o.target = Column::Index(1);
            o.kind = TargetKind::Values { count: 2 };
            o.value_labels = Some((0, 2));
        });
        let ds = parse("0.5,1,0\n2,0,1\n", &opts).unwrap();
        let y = Mat::from_fn(2, 2, |k, j| [[1.0, 0.0], [0.0, 1.0]][k][j]);
        assert_eq!(ds.y, Targets::Values(y));
        for (bad, shown) in [("7", "7"), ("0.5", "0.5"), ("-1", "-1"), ("1e0", "1")] {
            let text = format!("0.5,1,0\n# c\n2,0,{bad}\n");
            let want = format!("bad.csv:3: label {shown} in cell 3 is not in {{0 … 1}}");
            if bad == "1e0" {
                assert!(parse(&text, &opts).is_ok());
            } else {
                fails(&text, &opts, &want);
            }
        }
    }

    #[test]
    fn iris_cells_are_the_numbers_of_the_file() {
        // Every cell against a plain split of each line.
        let text = include_str!("../../data/iris.csv");
        let ds = parse(text, &Default::default()).unwrap();
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(ds.len(), lines.len());
        for (j, line) in lines.iter().enumerate() {
            let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            for (i, &cell) in cells.iter().take(4).enumerate() {
                assert_eq!(ds.x[(i, j)], cell);
            }
            assert_eq!(labels(&ds)[j] as f64, cells[4]);
        }
        assert!(ds.class_names.is_empty());
    }

    #[test]
    fn an_absent_target_makes_every_column_a_feature() {
        let ds = parse(
            "a,b,c\n1,2,3\n4,5,6\n",
            &with(|o| o.target = Column::Absent),
        )
        .unwrap();
        assert_eq!((ds.features(), ds.len()), (3, 2));
        assert_eq!(ds.x[(2, 1)], 6.0);
        let Targets::Values(y) = &ds.y else {
            panic!("labels")
        };
        assert_eq!((y.nrows(), y.ncols()), (0, 2));
        // A label that would be out of range is not read.
        let ds = parse("1,99\n", &with(|o| o.target = Column::Absent)).unwrap();
        assert_eq!(ds.features(), 2);
    }

    #[test]
    fn no_header_names_and_named_target() {
        let ds = parse("1;2;3\n4;5;6\n", &with(|o| o.delimiter = b';')).unwrap();
        assert_eq!(ds.feature_names, ["x1", "x2"]);
        let ds = parse(
            "t,u\n1,2\n0,3\n",
            &with(|o| o.target = Column::Name("t".into())),
        )
        .unwrap();
        assert_eq!(
            (ds.feature_names.as_slice(), labels(&ds)),
            (&["u".to_string()][..], &[1, 0][..])
        );
    }

    #[test]
    fn error_row_width() {
        let want = "bad.csv:3: row has 4 cells, expected 5";
        fails("a,b,c,d,y\n1,2,3,4,0\n1,2,3,0\n", &Default::default(), want);
    }

    #[test]
    fn error_not_a_number() {
        fails(
            "1,2,3\n1,2,abc\n",
            &Default::default(),
            "bad.csv:2: cell 3 is not a number: \"abc\"",
        );
    }

    #[test]
    fn error_not_finite() {
        fails(
            "1,2,3\n1,nan,3\n",
            &Default::default(),
            "bad.csv:2: cell 2 is not finite: \"nan\"",
        );
        fails(
            "1,2,3\n1,-inf,3\n",
            &Default::default(),
            "bad.csv:2: cell 2 is not finite: \"-inf\"",
        );
    }

    #[test]
    fn error_label_outside() {
        let opts = with(|o| {
            o.kind = TargetKind::Labels {
                lo: 0,
                classes: Some(10),
            }
        });
        fails(
            "1,0\n\n# c\n2,12\n",
            &opts,
            "bad.csv:4: label 12 is outside {0 … 9}",
        );
        let opts = with(|o| {
            o.kind = TargetKind::Labels {
                lo: 1,
                classes: None,
            }
        });
        fails(
            "1,1\n2,0\n",
            &opts,
            "bad.csv:2: label 0 is below the first label 1",
        );
    }

    #[test]
    fn error_label_not_integer() {
        fails(
            "1,0\n2,2.5\n",
            &Default::default(),
            "bad.csv:2: label 2.5 is not an integer",
        );
    }

    #[test]
    fn error_empty() {
        fails("", &Default::default(), "bad.csv: the file is empty");
        fails(
            "# only\n\n",
            &Default::default(),
            "bad.csv: the file is empty",
        );
    }

    #[test]
    fn error_header_without_rows() {
        let want = "bad.csv: there are no data rows after the header";
        fails("a,b\n", &Default::default(), want);
        fails("1,2\n", &with(|o| o.header = Header::Yes), want);
    }

    #[test]
    fn error_unknown_column_name() {
        let opts = with(|o| o.target = Column::Name("z".into()));
        fails(
            "\na,b\n1,2\n",
            &opts,
            "bad.csv:2: no column named \"z\" in the header",
        );
        let want = "bad.csv:1: the target column \"z\" is named, but there is no header";
        fails("1,2\n", &opts, want);
    }

    #[test]
    fn error_target_out_of_range() {
        let want = "bad.csv:1: target column 5 is out of range for 2 columns";
        fails("1,2\n", &with(|o| o.target = Column::Index(5)), want);
        let want = "bad.csv:1: target column -3 is out of range for 2 columns";
        fails("1,2\n", &with(|o| o.target = Column::Index(-3)), want);
        let opts = with(|o| {
            o.target = Column::Index(1);
            o.kind = TargetKind::Values { count: 2 };
        });
        fails(
            "1,2\n",
            &opts,
            "bad.csv:1: 2 target columns from column 1 do not fit in 2 columns",
        );
        let want = "bad.csv:1: feature column 7 is out of range for 2 columns";
        fails("1,2\n", &with(|o| o.features = Some(vec![0, 7])), want);
    }

    #[test]
    #[cfg(feature = "gzip")]
    fn error_corrupt_gzip() {
        let e = Dataset::<f64>::from_csv_gz_bytes(
            b"this is not gzip data",
            "d.csv.gz",
            &Default::default(),
        );
        let want = "d.csv.gz: cannot decompress: invalid gzip header";
        assert_eq!(e.unwrap_err().to_string(), want);
    }

    #[test]
    fn in_memory_with_labels() {
        let x = Mat::from_fn(2, 3, |i, j| (i + 2 * j) as f64);
        let ds = Dataset::from_labels(x.clone(), vec![1, 0, 2], 3).unwrap();
        assert_eq!(
            (ds.features(), ds.len(), &ds.feature_names[..]),
            (2, 3, &["x1".to_string(), "x2".to_string()][..])
        );
        assert_eq!(ds.x, x);
        assert_eq!(labels(&ds), &[1, 0, 2]);
        assert!(matches!(
            ds.y,
            Targets::Labels {
                lo: 0,
                classes: 3,
                ..
            }
        ));
        let e = |r: Result<Dataset<f64>, DataError>| r.unwrap_err().to_string();
        assert_eq!(
            e(Dataset::from_labels(x.clone(), vec![0, 1], 3)),
            "<memory>: 2 labels for 3 examples"
        );
        assert_eq!(
            e(Dataset::from_labels(x.clone(), vec![0, 3, 1], 3)),
            "<memory>:2: label 3 is not below the 3 classes"
        );
        let mut bad = x;
        bad[(1, 2)] = f64::NAN;
        assert_eq!(
            e(Dataset::from_labels(bad, vec![0, 1, 2], 3)),
            "<memory>:3: a feature is not finite"
        );
    }

    #[test]
    fn in_memory_with_values() {
        let x = Mat::from_fn(1, 2, |_, j| j as f32);
        let y = Mat::from_fn(2, 2, |i, j| (i * j) as f32);
        let ds = Dataset::from_values(x.clone(), y.clone()).unwrap();
        assert_eq!(ds.y, Targets::Values(y));
        let e = |r: Result<Dataset<f32>, DataError>| r.unwrap_err().to_string();
        assert_eq!(
            e(Dataset::from_values(x.clone(), Mat::zeros(2, 3))),
            "<memory>: targets for 3 examples, features for 2"
        );
        let inf = Mat::from_fn(1, 2, |_, j| if j == 1 { f32::INFINITY } else { 0.0 });
        assert_eq!(
            e(Dataset::from_values(x, inf)),
            "<memory>:2: a target is not finite"
        );
    }

    #[test]
    #[cfg(not(feature = "gzip"))]
    fn gzip_without_its_feature_is_an_error() {
        let e = Dataset::<f64>::from_csv_gz_bytes(b"", "d.csv.gz", &Default::default());
        let want = "d.csv.gz: reading gzip-compressed data needs the `gzip` feature of nnspec";
        assert_eq!(e.unwrap_err().to_string(), want);
    }

    #[test]
    fn error_missing_file() {
        let path = Path::new("/nonexistent/nnspec/x.csv");
        let io = std::fs::read(path).unwrap_err();
        let e = Dataset::<f32>::from_csv_path(path, &Default::default()).unwrap_err();
        let want = format!("/nonexistent/nnspec/x.csv: cannot read the file: {io}");
        assert_eq!((e.to_string(), e.line), (want, 0));
    }

    #[test]
    fn standardising_extreme_values_stays_finite_and_keeps_information() {
        // One 1e308 among small values: the column is not zeroed.
        let mut x = Mat::<f64>::from_fn(1, 5, |_, j| [1.0, 2.0, 3.0, 4.0, 1e308][j]);
        let s = Standardizer::fit(x.as_ref());
        assert!(
            s.mean[0].is_finite() && s.std[0].is_finite() && s.std[0] > 0.0,
            "{s:?}"
        );
        s.apply_checked(x.as_mut(), &[]).unwrap();
        assert!((x[(0, 4)] - 2.0).abs() < 1e-12, "{:?}", x);
        assert!(x[(0, 0)] < 0.0 && x[(0, 0)].is_finite());
        // A column of ±1e308: mean 0, standard deviation 1e308, values ±1.
        let mut y = Mat::<f64>::from_fn(1, 4, |_, j| if j % 2 == 0 { 1e308 } else { -1e308 });
        let s = Standardizer::fit(y.as_ref());
        assert_eq!((s.mean[0], s.std[0]), (0.0, 1e308));
        s.apply_checked(y.as_mut(), &[]).unwrap();
        assert_eq!(y[(0, 0)], 1.0);
        assert_eq!(y[(0, 1)], -1.0);
        // Ordinary data: the plain two-pass statistics, bit for bit.
        let z = Mat::<f64>::from_fn(1, 3, |_, j| [0.1, 0.7, 3.3][j]);
        let m = (0.1 + 0.7 + 3.3) / 3.0;
        let v = ((0.1f64 - m).powi(2) + (0.7f64 - m).powi(2) + (3.3f64 - m).powi(2)) / 3.0;
        assert_eq!(Standardizer::fit(z.as_ref()).std[0], v.sqrt());
    }

    #[test]
    fn statistics_that_cannot_standardise_are_named() {
        let bad = |mean: f64, std: f64| Standardizer {
            mean: vec![0.0, mean],
            std: vec![1.0, std],
        };
        for (m, s) in [
            (0.0, 0.0),
            (0.0, f64::NAN),
            (0.0, f64::INFINITY),
            (f64::NAN, 1.0),
            (0.0, -1.0),
        ] {
            let e = bad(m, s).validate().unwrap_err();
            assert!(e.starts_with("feature 2 has"), "{e}");
        }
        // A value that overflows once standardised: named by feature and example.
        let s = Standardizer {
            mean: vec![0.0],
            std: vec![1e-300],
        };
        let mut x = Mat::<f64>::from_fn(1, 2, |_, j| [0.0, 1e300][j]);
        let e = s.apply_checked(x.as_mut(), &["width".into()]).unwrap_err();
        assert!(
            e.starts_with("feature `width` (column 1) of example 2"),
            "{e}"
        );
    }

    #[test]
    #[cfg(feature = "gzip")]
    fn digits() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/digits.csv.gz"
        ));
        let ds = Dataset::<f32>::from_csv_path(path, &Default::default()).unwrap();
        assert_eq!((ds.features(), ds.len(), ds.x[(2, 0)]), (64, 1797, 5.0));
        let Targets::Labels {
            values,
            lo,
            classes,
        } = &ds.y
        else {
            panic!()
        };
        assert_eq!((*lo, *classes, &values[..2]), (0, 10, &[0, 1][..]));
    }

    #[test]
    fn iris() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/iris.csv"));
        let ds = Dataset::<f64>::from_csv_path(path, &Default::default()).unwrap();
        assert_eq!((ds.features(), ds.len(), ds.x[(0, 0)]), (4, 150, 5.1));
        assert!(matches!(
            ds.y,
            Targets::Labels {
                classes: 3,
                lo: 0,
                ..
            }
        ));
    }

    #[test]
    fn values_target() {
        let opts = with(|o| {
            o.target = Column::Index(1);
            o.kind = TargetKind::Values { count: 2 };
        });
        let ds = parse("1,2,3,4\n5,6,7,8\n", &opts).unwrap();
        assert_eq!(
            ds.x,
            Mat::from_fn(2, 2, |i, j| [[1.0, 5.0], [4.0, 8.0]][i][j])
        );
        let y = Mat::from_fn(2, 2, |k, j| [[2.0, 6.0], [3.0, 7.0]][k][j]);
        assert_eq!(ds.y, Targets::Values(y));
        let (mut bx, mut by) = (Mat::zeros(2, 3), BatchTargets::for_dataset(&ds, 3));
        let (x, y) = ds.gather(&[1], &mut bx, &mut by);
        assert_eq!((x.ncols(), x[(1, 0)]), (1, 8.0));
        let TargetsRef::Values(y) = y else { panic!() };
        assert_eq!(
            (y.nrows(), y.ncols(), y[(0, 0)], y[(1, 0)]),
            (2, 1, 6.0, 7.0)
        );
    }

    #[test]
    fn split_sizes_and_determinism() {
        let text: String = (0..100).map(|i| format!("{i},{}\n", i % 3)).collect();
        let ds = parse(&text, &Default::default()).unwrap();
        let (tr, va, te) = ds.split(0.1, 0.2, &mut Rng::new(7));
        assert_eq!((tr.len(), va.len(), te.len()), (70, 10, 20));
        let mut all: Vec<f64> = [&tr, &va, &te]
            .iter()
            .flat_map(|d| (0..d.len()).map(|j| d.x[(0, j)]))
            .collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..100).map(f64::from).collect::<Vec<_>>());
        assert_eq!(ds.split(0.1, 0.2, &mut Rng::new(7)), (tr.clone(), va, te));
        assert_ne!(ds.split(0.1, 0.2, &mut Rng::new(8)).0, tr);
        // Tiny sets: every part still gets one example.
        let (tr, va, te) = small().subset(&[0, 1, 2]).split(0.1, 0.1, &mut Rng::new(1));
        assert_eq!((tr.len(), va.len(), te.len()), (1, 1, 1));
    }

    #[test]
    fn standardizer_uses_only_fitted_data() {
        let (train, _, test) = small().split(0.0, 0.4, &mut Rng::new(3));
        let s = Standardizer::fit(train.x.as_ref());
        let (mut a, mut b) = (train.x.clone(), test.x.clone());
        s.apply(a.as_mut());
        s.apply(b.as_mut());
        let mean =
            |m: &Mat<f64>, i| (0..m.ncols()).map(|j| m[(i, j)]).sum::<f64>() / m.ncols() as f64;
        for i in 0..2 {
            let var = (0..a.ncols()).map(|j| a[(i, j)] * a[(i, j)]).sum::<f64>() / a.ncols() as f64;
            assert!(mean(&a, i).abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
            assert!(mean(&b, i).abs() > 1e-3);
        }
        let c = Standardizer::fit(Mat::<f32>::from_fn(1, 3, |_, _| 0.1).as_ref());
        assert_eq!(c.std, [1.0]);
    }

    /// One mean and standard deviation for all numbers: those of the six numbers below, by
    /// hand (mean 2, variance (1 + 1 + 1 + 1 + 0 + 0) / 6 = 2/3), the same for both rows.
    #[test]
    fn the_global_standardizer_scales_all_features_alike() {
        let x = Mat::from_fn(2, 3, |i, j| [[1.0, 3.0, 2.0], [3.0, 1.0, 2.0]][i][j]);
        let s = Standardizer::fit_global(x.as_ref());
        assert_eq!(s.mean, [2.0, 2.0]);
        let sd = (2.0f64 / 3.0).sqrt();
        assert!(s.std.iter().all(|v| (v - sd).abs() < 1e-15), "{:?}", s.std);
        assert_eq!(
            Standardizer::identity(2),
            Standardizer {
                mean: vec![0.0; 2],
                std: vec![1.0; 2]
            }
        );
    }

    /// A row of `D·T` numbers is `X ∈ ℝ^{D×T}` column by column; a batch for a model reading
    /// `X` with `D` rows is `D × (T·B)`, each example's `T` columns side by side.
    #[test]
    fn gather_lays_out_a_matrix_per_example() {
        // Two examples of 6 numbers: X ∈ ℝ^{2×3}, X[d, t] = feature 2t + d.
        let text = "1,2,3,4,5,6,0\n10,20,30,40,50,60,1\n";
        let ds = parse(text, &Default::default()).unwrap();
        let mut bx = Mat::zeros(2, 9);
        let x = ds.gather_inputs(&[1, 0], &mut bx);
        assert_eq!((x.nrows(), x.ncols()), (2, 6));
        let cols: Vec<[f64; 2]> = (0..6).map(|j| [x[(0, j)], x[(1, j)]]).collect();
        assert_eq!(
            cols,
            [
                [10.0, 20.0],
                [30.0, 40.0],
                [50.0, 60.0],
                [1.0, 2.0],
                [3.0, 4.0],
                [5.0, 6.0]
            ]
        );
        // With the features' own rows, one column per example as before.
        let mut flat = Mat::zeros(6, 2);
        assert_eq!(ds.gather_inputs(&[1], &mut flat)[(5, 0)], 60.0);
    }

    #[test]
    fn gather_copies_columns() {
        let ds = small();
        let (mut bx, mut by) = (Mat::zeros(2, 4), BatchTargets::for_dataset(&ds, 4));
        let (x, y) = ds.gather(&[4, 1, 2], &mut bx, &mut by);
        assert_eq!((x.nrows(), x.ncols()), (2, 3));
        assert_eq!([x[(0, 0)], x[(1, 1)], x[(0, 2)]], [5.0, 20.0, 3.0]);
        let TargetsRef::Labels(y) = y else { panic!() };
        assert_eq!(y, [0, 1, 2]);
    }

    #[test]
    fn batches_cover_every_index_once() {
        let (mut b, mut rng) = (Batches::new(10, 4), Rng::new(5));
        assert_eq!(b.len(), 3);
        let mut previous = Vec::new();
        for _ in 0..3 {
            b.shuffle(&mut rng);
            let sizes: Vec<usize> = b.iter().map(<[usize]>::len).collect();
            assert_eq!(sizes, [4, 4, 2]);
            let mut seen: Vec<usize> = b.iter().flatten().copied().collect();
            assert_ne!(seen, previous);
            previous = seen.clone();
            seen.sort_unstable();
            assert_eq!(seen, (0..10).collect::<Vec<_>>());
        }
    }
}
