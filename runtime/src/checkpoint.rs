//! Parameters saved as [safetensors](https://huggingface.co/docs/safetensors), atomically, and
//! loaded with checks.
//!
//! Every parameter is written as a 2-D tensor `[rows, cols]` under its spec name (`β_0`,
//! `Ω_1`), in row-major order — the usual safetensors/PyTorch layout of a matrix, so a column
//! vector is `[rows, 1]` — with the model's element type (`F32` or `F64`) and string metadata
//! such as `("model", "DeepNet")`.
//!
//! [`save`] writes a temporary file next to the target, syncs it and renames it over the
//! target, so a crash or an error never leaves a half-written checkpoint behind. [`load`]
//! checks the whole file (names, dtypes, shapes, finiteness) before it writes any parameter,
//! so a failed load leaves the model as it was.

use crate::{Params, Scalar};
use safetensors::tensor::{Metadata, TensorView};
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Why a checkpoint could not be written or read.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file could not be read, written, synced or renamed.
    Io {
        /// The checkpoint.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Not a safetensors file, truncated, or corrupted (the parser's message).
    Format {
        /// The checkpoint.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A parameter of the model has no tensor in the file.
    Missing {
        /// The checkpoint.
        path: PathBuf,
        /// The parameter's name.
        name: String,
    },
    /// Tensors in the file that the model does not have (listed, so renamed parameters are
    /// easy to spot).
    Unexpected {
        /// The checkpoint.
        path: PathBuf,
        /// The tensors' names, sorted.
        names: Vec<String>,
    },
    /// A tensor of the wrong shape.
    Shape {
        /// The checkpoint.
        path: PathBuf,
        /// The parameter's name.
        name: String,
        /// The shape of the model's parameter, `[rows, cols]`.
        expected: [usize; 2],
        /// The shape of the tensor in the file.
        found: Vec<usize>,
    },
    /// A tensor of another dtype than the model's element type (e.g. an `F64` file into an
    /// `f32` model).
    Dtype {
        /// The checkpoint.
        path: PathBuf,
        /// The parameter's name.
        name: String,
        /// The model's dtype (`F32` or `F64`).
        expected: String,
        /// The tensor's dtype in the file.
        found: String,
    },
    /// A NaN or infinite entry in a tensor.
    NonFinite {
        /// The checkpoint.
        path: PathBuf,
        /// The parameter's name.
        name: String,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, source } => {
                write!(f, "checkpoint {}: {source}", path.display())
            }
            CheckpointError::Format { path, message } => write!(
                f,
                "checkpoint {}: not a valid safetensors file: {message}",
                path.display()
            ),
            CheckpointError::Missing { path, name } if name.starts_with("running.") => write!(
                f,
                "checkpoint {}: the model's running statistic `{name}` is not in the file \
                 (a checkpoint saved before running statistics were kept; train the model again)",
                path.display()
            ),
            CheckpointError::Missing { path, name } => write!(
                f,
                "checkpoint {}: the model's parameter `{name}` is not in the file",
                path.display()
            ),
            CheckpointError::Unexpected { path, names } => {
                write!(
                    f,
                    "checkpoint {}: the file has tensors the model does not have: ",
                    path.display()
                )?;
                for (k, name) in names.iter().enumerate() {
                    let sep = if k == 0 { "" } else { ", " };
                    write!(f, "{sep}`{name}`")?;
                }
                Ok(())
            }
            CheckpointError::Shape {
                path,
                name,
                expected,
                found,
            } => write!(
                f,
                "checkpoint {}: `{name}` has shape {found:?}, the model expects {expected:?}",
                path.display()
            ),
            CheckpointError::Dtype {
                path,
                name,
                expected,
                found,
            } => write!(
                f,
                "checkpoint {}: `{name}` is stored as {found}, the model expects {expected}",
                path.display()
            ),
            CheckpointError::NonFinite { path, name } => write!(
                f,
                "checkpoint {}: `{name}` has a NaN or infinite entry",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The path [`to_bytes`] names in its errors: the bytes have no file yet.
const IN_MEMORY: &str = "<in memory>";

/// The safetensors dtype of `T`.
///
/// # Panics
///
/// If `T::DTYPE_NAME` is neither `F32` nor `F64` (a [`Scalar`] implementation outside this
/// crate).
fn dtype_of<T: Scalar>() -> Dtype {
    match T::DTYPE_NAME {
        "F32" => Dtype::F32,
        "F64" => Dtype::F64,
        other => panic!("Scalar::DTYPE_NAME {other:?} is not F32 or F64"),
    }
}

/// Writes every parameter of `params` to `path` as a 2-D tensor `[rows, cols]` (row-major;
/// a column vector is `[rows, 1]`) under its spec name, with the string `metadata` (e.g.
/// `("model", "DeepNet")`, `("spec", "deep.nn")`, `("format", "nnspec")`).
///
/// The write is atomic ([`files::write_atomic`](crate::files::write_atomic)): the bytes go
/// to `<path>.tmp-<pid>` in the same directory, which is flushed and synced and then renamed
/// over `path`. On any error the temporary file is removed and an existing `path` is
/// untouched; temporaries left by killed processes are removed. Non-finite parameters are written as they are (and
/// [`load`] refuses them).
///
/// # Panics
///
/// If two parameters have the same name (a bug in the model).
pub fn save<T: Scalar, P: Params<T> + ?Sized>(
    path: &Path,
    params: &P,
    metadata: &[(&str, &str)],
) -> Result<(), CheckpointError> {
    let bytes = encode(params, metadata).map_err(|message| CheckpointError::Format {
        path: path.to_path_buf(),
        message,
    })?;
    crate::files::write_atomic(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the checkpoint at `path` into `params` and returns the file's metadata.
///
/// Everything is checked before any parameter is written — every parameter has a tensor
/// ([`CheckpointError::Missing`]) of the model's dtype ([`CheckpointError::Dtype`]) and shape
/// ([`CheckpointError::Shape`]) with finite entries ([`CheckpointError::NonFinite`]), in the
/// model's visiting order, and then the file has no other tensor
/// ([`CheckpointError::Unexpected`]) — so a failed load leaves `params` unchanged.
pub fn load<T: Scalar, P: Params<T> + ?Sized>(
    path: &Path,
    params: &mut P,
) -> Result<BTreeMap<String, String>, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_bytes(&bytes, path, params)
}

/// The metadata of the checkpoint at `path`, without reading its tensors into a model (to
/// learn which model and hyper-parameters it was written for before building one).
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// The bytes [`save`] writes: every parameter as a row-major `[rows, cols]` tensor under its
/// name, with the string `metadata`.
///
/// # Panics
///
/// If two parameters have the same name (a bug in the model).
pub fn to_bytes<T: Scalar, P: Params<T> + ?Sized>(
    params: &P,
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>, CheckpointError> {
    encode(params, metadata).map_err(|message| CheckpointError::Format {
        path: PathBuf::from(IN_MEMORY),
        message,
    })
}

/// Reads a checkpoint already in memory into `params` and returns its metadata, with the
/// checks of [`load`]; `name` is the path the errors name.
pub fn from_bytes<T: Scalar, P: Params<T> + ?Sized>(
    bytes: &[u8],
    name: &Path,
    params: &mut P,
) -> Result<BTreeMap<String, String>, CheckpointError> {
    let path = || name.to_path_buf();
    let format = |e: safetensors::SafeTensorError| CheckpointError::Format {
        path: path(),
        message: e.to_string(),
    };
    let (header_len, header) = SafeTensors::read_metadata(bytes).map_err(format)?;
    // `read_metadata` has checked that the offsets tile the data exactly.
    let data = bytes.get(8 + header_len..).unwrap_or(&[]);
    let values = decode::<T, P>(&header, data, name, params)?;

    let mut values = values.into_iter();
    params.for_each_saved_mut(&mut |_, mut m| {
        let v = values
            .next()
            .expect("for_each_saved_mut visits the tensors for_each_saved does");
        let cols = m.ncols();
        for i in 0..m.nrows() {
            for j in 0..cols {
                m[(i, j)] = v[i * cols + j];
            }
        }
    });

    Ok(header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// The safetensors bytes of `params`, or the serialiser's message.
fn encode<T: Scalar, P: Params<T> + ?Sized>(
    params: &P,
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>, String> {
    let mut tensors: Vec<(String, [usize; 2], Vec<u8>)> = Vec::new();
    params.for_each_saved(&mut |name, m| {
        let mut bytes = Vec::with_capacity(m.nrows() * m.ncols() * size_of::<T>());
        for i in 0..m.nrows() {
            for j in 0..m.ncols() {
                m[(i, j)].extend_le_bytes(&mut bytes);
            }
        }
        tensors.push((name.to_string(), [m.nrows(), m.ncols()], bytes));
    });
    let mut seen = BTreeSet::new();
    for (name, _, _) in &tensors {
        assert!(
            seen.insert(name.as_str()),
            "two parameters are called `{name}`"
        );
    }

    let dtype = dtype_of::<T>();
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(dtype, shape.to_vec(), bytes).map(|v| (name.as_str(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let bytes = safetensors::serialize(views, None).map_err(|e| e.to_string())?;
    with_metadata(bytes, metadata)
}

/// `bytes` (a safetensors file without metadata) with `metadata` added to its header, the keys
/// sorted (a repeated key keeps its last value).
///
/// The crate takes metadata as a `HashMap` and writes it in the map's random order; splicing
/// it in sorted makes the same parameters and metadata always give the same bytes.
fn with_metadata(bytes: Vec<u8>, metadata: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    if metadata.is_empty() {
        return Ok(bytes);
    }
    let sorted: BTreeMap<&str, &str> = metadata.iter().copied().collect();
    let (header_len, _) = SafeTensors::read_metadata(&bytes).map_err(|e| e.to_string())?;
    let header = std::str::from_utf8(&bytes[8..8 + header_len])
        .map_err(|e| e.to_string())?
        .trim_end_matches(' ');
    let rest = header
        .strip_prefix('{')
        .ok_or("the serialised header is not a JSON object")?;

    let mut json = String::from("{\"__metadata__\":{");
    for (k, (key, value)) in sorted.iter().enumerate() {
        if k > 0 {
            json.push(',');
        }
        push_json_string(&mut json, key);
        json.push(':');
        push_json_string(&mut json, value);
    }
    json.push('}');
    if rest.trim_start() != "}" {
        json.push(',');
    }
    json.push_str(rest);
    // The data starts 8-byte aligned, as the crate writes it.
    while json.len() % 8 != 0 {
        json.push(' ');
    }

    let data = &bytes[8 + header_len..];
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(data);
    SafeTensors::read_metadata(&out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Appends `s` to `out` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Every parameter's entries, row-major, in visiting order, once all the checks pass.
fn decode<T: Scalar, P: Params<T> + ?Sized>(
    header: &Metadata,
    data: &[u8],
    path: &Path,
    params: &P,
) -> Result<Vec<Vec<T>>, CheckpointError> {
    let mut names = BTreeSet::new();
    let mut values = Vec::new();
    let mut error = None;
    params.for_each_saved(&mut |name, m| {
        if error.is_some() {
            return;
        }
        names.insert(name.to_string());
        match decode_one::<T>(header, data, path, name, [m.nrows(), m.ncols()]) {
            Ok(v) => values.push(v),
            Err(e) => error = Some(e),
        }
    });
    if let Some(e) = error {
        return Err(e);
    }

    let mut unexpected: Vec<String> = header
        .tensors()
        .into_keys()
        .filter(|n| !names.contains(n))
        .collect();
    if !unexpected.is_empty() {
        unexpected.sort();
        return Err(CheckpointError::Unexpected {
            path: path.to_path_buf(),
            names: unexpected,
        });
    }
    Ok(values)
}

/// The entries of the tensor `name`, row-major, checked against the model's dtype, the shape
/// `expected` and finiteness.
fn decode_one<T: Scalar>(
    header: &Metadata,
    data: &[u8],
    path: &Path,
    name: &str,
    expected: [usize; 2],
) -> Result<Vec<T>, CheckpointError> {
    let Some(info) = header.info(name) else {
        return Err(CheckpointError::Missing {
            path: path.to_path_buf(),
            name: name.to_string(),
        });
    };
    if info.dtype != dtype_of::<T>() {
        return Err(CheckpointError::Dtype {
            path: path.to_path_buf(),
            name: name.to_string(),
            expected: T::DTYPE_NAME.to_string(),
            found: info.dtype.to_string(),
        });
    }
    if info.shape.as_slice() != expected.as_slice() {
        return Err(CheckpointError::Shape {
            path: path.to_path_buf(),
            name: name.to_string(),
            expected,
            found: info.shape.clone(),
        });
    }
    let (start, end) = info.data_offsets;
    let size = size_of::<T>();
    let bytes = data
        .get(start..end)
        .filter(|b| b.len() == expected[0] * expected[1] * size)
        .ok_or_else(|| CheckpointError::Format {
            path: path.to_path_buf(),
            message: format!("the data of `{name}` does not match its shape"),
        })?;
    let values: Vec<T> = bytes
        .chunks_exact(size)
        .map(|b| T::from_le_slice(b).expect("chunks have the size of T"))
        .collect();
    if !values.iter().all(|v| v.is_finite()) {
        return Err(CheckpointError::NonFinite {
            path: path.to_path_buf(),
            name: name.to_string(),
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NamedParams;
    use faer::Mat;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh, empty directory under the system's temporary directory.
    fn temp_dir(tag: &str) -> PathBuf {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "nnspec-checkpoint-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `β_0` (3×1) and `Ω_0` (3×2), with entries taken from `vals` in order (column by column).
    fn model<T: Scalar>(vals: &[T; 9]) -> NamedParams<T> {
        let beta = Mat::from_fn(3, 1, |i, _| vals[i]);
        let omega = Mat::from_fn(3, 2, |i, j| vals[3 + i + 3 * j]);
        NamedParams::new([("β_0".to_string(), beta), ("Ω_0".to_string(), omega)])
    }

    fn zeros<T: Scalar>() -> NamedParams<T> {
        model(&[T::ZERO; 9])
    }

    /// The little-endian bytes of every entry, for bit-exact comparisons.
    fn bits<T: Scalar>(p: &NamedParams<T>) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        p.for_each_param(&mut |_, m| {
            let mut b = Vec::new();
            for j in 0..m.ncols() {
                for i in 0..m.nrows() {
                    m[(i, j)].extend_le_bytes(&mut b);
                }
            }
            out.push(b);
        });
        out
    }

    fn tricky_f32() -> [f32; 9] {
        [
            -0.0,
            1e-40, // subnormal
            f32::from_bits(1),
            1e-30,
            3.0e38,
            -1.5,
            0.1,
            f32::MIN_POSITIVE,
            -7.25e12,
        ]
    }

    fn tricky_f64() -> [f64; 9] {
        [
            -0.0,
            1e-310, // subnormal
            f64::from_bits(1),
            1e-30,
            1.0e300,
            -1.5,
            0.1,
            f64::MIN_POSITIVE,
            -f64::MAX,
        ]
    }

    const META: &[(&str, &str)] = &[
        ("model", "DeepNet"),
        ("spec", "deep.nn"),
        ("format", "nnspec"),
    ];

    fn round_trip<T: Scalar>(vals: [T; 9]) {
        let dir = temp_dir("round-trip");
        let path = dir.join("model.safetensors");
        let p = model(&vals);
        save(&path, &p, META).unwrap();
        let mut q = zeros::<T>();
        let meta = load(&path, &mut q).unwrap();
        assert_eq!(bits(&p), bits(&q));
        let want: BTreeMap<String, String> = META
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(meta, want);

        // The same through memory.
        let bytes = to_bytes(&p, META).unwrap();
        assert_eq!(bytes, fs::read(&path).unwrap());
        let mut r = zeros::<T>();
        assert_eq!(from_bytes(&bytes, &path, &mut r).unwrap(), want);
        assert_eq!(bits(&p), bits(&r));

        // Metadata that needs escaping, and repeated keys (the last wins).
        let odd: &[(&str, &str)] = &[
            ("q\"uote", "back\\slash\n\u{1}tab\t"),
            ("k", "first"),
            ("k", "last"),
            ("Ω", "ω"),
        ];
        let bytes = to_bytes(&p, odd).unwrap();
        let meta = from_bytes(&bytes, &path, &mut r).unwrap();
        assert_eq!(meta.len(), 3);
        assert_eq!(meta["q\"uote"], "back\\slash\n\u{1}tab\t");
        assert_eq!(meta["k"], "last");
        assert_eq!(meta["Ω"], "ω");
        assert_eq!(bits(&p), bits(&r));
        // The safetensors crate reads it too, with the data 8-byte aligned.
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.len(), 2);
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        assert_eq!(header_len % 8, 0);

        // No metadata is an empty map.
        let bytes = to_bytes(&p, &[]).unwrap();
        assert!(from_bytes(&bytes, &path, &mut r).unwrap().is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn round_trip_is_bit_exact_f32() {
        round_trip(tricky_f32());
    }

    #[test]
    fn round_trip_is_bit_exact_f64() {
        round_trip(tricky_f64());
    }

    fn row_major<T: Scalar>(vals: [T; 9]) {
        let p = model(&vals);
        let bytes = to_bytes(&p, &[]).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let omega = st.tensor("Ω_0").unwrap();
        assert_eq!(omega.dtype().to_string(), T::DTYPE_NAME);
        assert_eq!(omega.shape(), &[3, 2]);
        let size = size_of::<T>();
        let entries: Vec<T> = omega
            .data()
            .chunks_exact(size)
            .map(|b| T::from_le_slice(b).unwrap())
            .collect();
        let m = &p.mats[1];
        // Entry [0, 1] is the second element.
        let mut a = Vec::new();
        let mut b = Vec::new();
        entries[1].extend_le_bytes(&mut a);
        m[(0, 1)].extend_le_bytes(&mut b);
        assert_eq!(a, b);
        for i in 0..3 {
            for j in 0..2 {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                entries[i * 2 + j].extend_le_bytes(&mut a);
                m[(i, j)].extend_le_bytes(&mut b);
                assert_eq!(a, b, "entry [{i}, {j}]");
            }
        }
        let beta = st.tensor("β_0").unwrap();
        assert_eq!(beta.shape(), &[3, 1]);
    }

    #[test]
    fn the_same_parameters_and_metadata_give_the_same_bytes() {
        let p = model(&tricky_f32());
        let first = to_bytes(&p, META).unwrap();
        for _ in 0..20 {
            assert_eq!(to_bytes(&p, META).unwrap(), first);
        }
        // A model with no parameters still carries its metadata.
        let empty = NamedParams::<f64>::new([]);
        let bytes = to_bytes(&empty, META).unwrap();
        let mut q = NamedParams::<f64>::new([]);
        assert_eq!(from_bytes(&bytes, Path::new("e"), &mut q).unwrap().len(), 3);
    }

    #[test]
    fn tensors_are_row_major() {
        let v: [f64; 9] = std::array::from_fn(|k| k as f64 + 1.0);
        row_major(v);
        row_major(v.map(|x| x as f32));
    }

    #[test]
    fn truncated_files_are_format_errors() {
        let p = model(&tricky_f64());
        let bytes = to_bytes(&p, META).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let data_start = 8 + header_len;
        let cuts = [
            0,
            3,
            7,
            8,
            9,
            8 + header_len / 2,
            data_start - 1,
            data_start,
            data_start + 5,
            bytes.len() - 8,
            bytes.len() - 1,
        ];
        let name = Path::new("cut.safetensors");
        for cut in cuts {
            let mut q = model(&[1.0f64; 9]);
            let before = q.clone();
            match from_bytes(&bytes[..cut], name, &mut q) {
                Err(CheckpointError::Format { path, .. }) => assert_eq!(path, name),
                other => panic!("cut at {cut}: {other:?}"),
            }
            assert_eq!(q, before);
        }
        // Every other length too: an error, never a panic.
        for cut in 0..bytes.len() {
            let mut q = zeros::<f64>();
            assert!(from_bytes(&bytes[..cut], name, &mut q).is_err());
        }
    }

    #[test]
    fn flipped_header_bytes_are_errors_not_panics() {
        let p = model(&tricky_f32());
        let bytes = to_bytes(&p, META).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let name = Path::new("flipped.safetensors");
        for k in 0..8 + header_len {
            for mask in [0xFFu8, 0x01, 0x10, 0x80] {
                let mut b = bytes.clone();
                b[k] ^= mask;
                let mut q = model(&[2.0f32; 9]);
                let before = q.clone();
                let result = from_bytes(&b, name, &mut q);
                if mask == 0xFF || mask == 0x80 {
                    // Not UTF-8 in the header, or a wrong length.
                    assert!(result.is_err(), "byte {k} ^ {mask:#x} was accepted");
                }
                if result.is_err() {
                    assert_eq!(q, before);
                }
            }
        }
    }

    #[test]
    fn wrong_shape_is_reported_exactly() {
        let mut wrong = model(&[1.0f32; 9]);
        wrong.mats[1] = Mat::zeros(2, 3);
        let bytes = to_bytes(&wrong, &[]).unwrap();
        let mut q = model(&tricky_f32());
        let before = q.clone();
        let e = from_bytes(&bytes, Path::new("out/model.safetensors"), &mut q).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Shape { name, expected: [3, 2], found, .. }
                if name == "Ω_0" && found == &[2, 3]),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "checkpoint out/model.safetensors: `Ω_0` has shape [2, 3], the model expects [3, 2]"
        );
        assert_eq!(bits(&q), bits(&before));
    }

    #[test]
    fn missing_and_unexpected_names() {
        let full = model(&[1.0f64; 9]);
        let name = Path::new("m.safetensors");

        let only_omega = NamedParams::new([("Ω_0".to_string(), full.mats[1].clone())]);
        let bytes = to_bytes(&only_omega, &[]).unwrap();
        let mut q = zeros::<f64>();
        let e = from_bytes(&bytes, name, &mut q).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Missing { name, .. } if name == "β_0"),
            "{e:?}"
        );
        assert!(e.to_string().contains("`β_0`"), "{e}");
        assert_eq!(q, zeros::<f64>());

        let mut extra = full.clone();
        extra.names.push("γ".to_string());
        extra.mats.push(Mat::zeros(1, 1));
        extra.names.push("W_1".to_string());
        extra.mats.push(Mat::zeros(2, 2));
        let bytes = to_bytes(&extra, &[]).unwrap();
        let e = from_bytes(&bytes, name, &mut q).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Unexpected { names, .. } if names == &["W_1", "γ"]),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "checkpoint m.safetensors: the file has tensors the model does not have: `W_1`, `γ`"
        );
        assert_eq!(q, zeros::<f64>());
    }

    #[test]
    fn f64_file_into_f32_model_is_a_dtype_error() {
        let bytes = to_bytes(&model(&tricky_f64()), &[]).unwrap();
        let mut q = model(&[3.0f32; 9]);
        let before = q.clone();
        let e = from_bytes(&bytes, Path::new("d.safetensors"), &mut q).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Dtype { name, expected, found, .. }
                if name == "β_0" && expected == "F32" && found == "F64"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "checkpoint d.safetensors: `β_0` is stored as F64, the model expects F32"
        );
        assert_eq!(q, before);

        let bytes = to_bytes(&model(&tricky_f32()), &[]).unwrap();
        let mut q = zeros::<f64>();
        assert!(matches!(
            from_bytes(&bytes, Path::new("d.safetensors"), &mut q),
            Err(CheckpointError::Dtype { .. })
        ));
    }

    fn non_finite<T: Scalar>(bad: T) {
        let dir = temp_dir("non-finite");
        let path = dir.join("nan.safetensors");
        let mut p = model(&[T::ONE; 9]);
        p.mats[1][(2, 1)] = bad;
        save(&path, &p, &[]).unwrap();
        let mut q = model(&[T::ZERO; 9]);
        let before = q.clone();
        let e = load(&path, &mut q).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::NonFinite { name, path: p } if name == "Ω_0" && p == &path),
            "{e:?}"
        );
        assert!(e.to_string().contains("`Ω_0`"));
        assert_eq!(bits(&q), bits(&before));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn non_finite_entries_are_refused() {
        non_finite(f32::NAN);
        non_finite(f64::NAN);
        non_finite(f32::INFINITY);
        non_finite(f64::NEG_INFINITY);
    }

    #[test]
    fn a_failed_load_leaves_every_parameter_unchanged() {
        // `β_0` is fine and comes first; `Ω_0` has the wrong shape.
        let mut file = model(&tricky_f32());
        file.mats[1] = Mat::zeros(3, 3);
        let bytes = to_bytes(&file, &[]).unwrap();
        let mut q = model(&[4.0f32; 9]);
        let before = q.clone();
        assert!(matches!(
            from_bytes(&bytes, Path::new("x"), &mut q),
            Err(CheckpointError::Shape { .. })
        ));
        assert_eq!(q, before);
    }

    #[test]
    fn save_replaces_an_existing_file_and_leaves_no_temporary() {
        let dir = temp_dir("replace");
        let path = dir.join("model.safetensors");
        fs::write(&path, b"an old, unrelated file").unwrap();
        let p = model(&tricky_f64());
        save(&path, &p, META).unwrap();
        let mut q = zeros::<f64>();
        load(&path, &mut q).unwrap();
        assert_eq!(bits(&p), bits(&q));

        // And again over a real checkpoint.
        let p2 = model(&[5.0f64; 9]);
        save(&path, &p2, &[]).unwrap();
        assert!(load(&path, &mut q).unwrap().is_empty());
        assert_eq!(q, p2);

        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["model.safetensors"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn save_into_a_missing_directory_is_an_io_error() {
        let dir = temp_dir("missing-dir");
        let path = dir.join("no/such/dir/model.safetensors");
        let e = save(&path, &model(&[1.0f32; 9]), META).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Io { path: p, .. } if p == &path),
            "{e:?}"
        );
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        assert!(!path.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_rename_removes_the_temporary() {
        // A directory where the file should go: the temporary is written, the rename fails.
        let dir = temp_dir("failed-rename");
        let path = dir.join("model.safetensors");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"kept").unwrap();
        let e = save(&path, &model(&[1.0f64; 9]), &[]).unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Io { path: p, .. } if p == &path),
            "{e:?}"
        );
        assert_eq!(fs::read(path.join("inside")).unwrap(), b"kept");
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["model.safetensors"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_of_a_missing_file_is_an_io_error() {
        let dir = temp_dir("missing-file");
        let path = dir.join("absent.safetensors");
        let mut q = zeros::<f32>();
        assert!(matches!(
            load(&path, &mut q),
            Err(CheckpointError::Io { path: p, .. }) if p == path
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_safetensors_is_a_format_error() {
        let mut q = zeros::<f32>();
        let e = from_bytes(b"hello, world: not a checkpoint", Path::new("h"), &mut q).unwrap_err();
        assert!(matches!(e, CheckpointError::Format { .. }), "{e:?}");
        assert!(e.to_string().starts_with("checkpoint h: "), "{e}");
    }
}
