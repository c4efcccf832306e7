//! `nnspec export FILE --to jax|pytorch|onnx [-o DIR]`: a model as a module for another
//! engine, or its function as an ONNX graph, with the spec's parameter names (the exporter is
//! `dsl::export`).

use super::{Target, options, read_spec};
use nnspec::dsl;
use nnspec::dsl::export::onnx::{Precision, Scale, Values};
use nnspec::dsl::ir::{Graph, Init};
use nnspec::runtime::init::Sample;
use nnspec::runtime::{NamedParams, Rng, checkpoint};
use nnspec::training;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The engines `--to` names.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum To {
    /// A Python module of pure `jax.numpy` functions.
    Jax,
    /// A Python module with a PyTorch `nn.Module`.
    Pytorch,
    /// The model function as an ONNX graph (`<model>.onnx`), for inference.
    Onnx,
}

/// The element types `--precision` names.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Float {
    /// 32-bit `float`.
    F32,
    /// 64-bit `double`.
    F64,
}

/// `nnspec export`'s arguments.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    target: Target,
    /// The engine to export to.
    #[arg(long, value_enum)]
    to: To,
    /// Write the module into this directory (as `<model>.py`, or `<model>.onnx`) instead of
    /// printing it (ONNX: the current directory by default).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
    /// ONNX: the parameters (and the data's standardisation) of this checkpoint, written by
    /// `nnspec train`; without it, parameters drawn from the spec's initialisers (--seed).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// ONNX: the seed of the initial parameters when there is no checkpoint.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// ONNX: the tensors' element type.
    #[arg(long, value_enum, default_value = "f32")]
    precision: Float,
}

pub(crate) fn export(args: &Args) -> ExitCode {
    let file = &args.target.file;
    let Some(src) = read_spec(file) else {
        return ExitCode::FAILURE;
    };
    let opts = dsl::export::Options {
        model: args.target.model.clone(),
        check: options(args.target.overrides.clone()),
    };
    let path = file.display().to_string();
    let (name, bytes) = match args.to {
        To::Onnx => match dsl::export::export_onnx(&src, &path, &opts, |g| values(g, args)) {
            Ok(e) => (e.file_name, e.code),
            Err(message) => return failed(&message),
        },
        To::Jax | To::Pytorch => {
            let target = if args.to == To::Jax {
                dsl::export::Target::Jax
            } else {
                dsl::export::Target::PyTorch
            };
            match dsl::export::export(&src, &path, target, &opts) {
                Ok(e) if args.out.is_none() => {
                    out!("{}", e.code);
                    return ExitCode::SUCCESS;
                }
                Ok(e) => (e.file_name, e.code.into_bytes()),
                Err(message) => return failed(&message),
            }
        }
    };
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join(name);
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &bytes)) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    outln!("{}", path.display());
    ExitCode::SUCCESS
}

fn failed(message: &str) -> ExitCode {
    eprintln!("{}", message.trim_end());
    ExitCode::FAILURE
}

/// The ONNX file's parameters: the checkpoint's (with its standardisation), or drawn.
fn values(g: &Graph, args: &Args) -> Result<Values, String> {
    let precision = match args.precision {
        Float::F32 => Precision::F32,
        Float::F64 => Precision::F64,
    };
    let mut params = NamedParams::new(g.params.iter().map(|p| {
        let (r, c) = (p.shape.rows, p.shape.cols_for(1));
        (p.name.clone(), faer::Mat::<f64>::zeros(r, c))
    }));
    let mut standardize = None;
    match &args.checkpoint {
        Some(path) => standardize = load(path, g, &mut params)?,
        None => {
            let mut rng = Rng::new(args.seed);
            for (k, m) in params.mats.iter_mut().enumerate() {
                let init = g.inits.get(k).copied().unwrap_or(Init::Default);
                *m = init.sample::<f64>(m.nrows(), m.ncols(), &mut rng);
            }
        }
    }
    let params = params
        .mats
        .iter()
        .map(|m| {
            (0..m.nrows())
                .flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)]))
                .collect()
        })
        .collect();
    Ok(Values {
        params,
        standardize,
        precision,
    })
}

/// Reads the checkpoint at `path` into `params` (the model's, checked by name and shape) and
/// returns its standardisation, if the model was trained on standardised data.
fn load(path: &Path, g: &Graph, params: &mut NamedParams<f64>) -> Result<Option<Scale>, String> {
    let meta = checkpoint::read_metadata(path).map_err(|e| format!("error: {e}"))?;
    if let Some(m) = meta.get("model")
        && *m != g.name
    {
        return Err(format!(
            "error: {} holds the parameters of `{m}`, not of `{}` (choose it with --model)",
            path.display(),
            g.name
        ));
    }
    checkpoint::load(path, params).map_err(|e| format!("error: {e}"))?;
    let s = training::standardizer_from_metadata(&meta).map_err(|e| format!("error: {e}"))?;
    Ok(s.map(|s| Scale {
        mean: s.mean,
        std: s.std,
    }))
}
