//! `nnspec sample FILE --checkpoint … -o samples.png`: pictures a trained generative model
//! makes. The generator is the sub-model instance of the trained model (the VAE's decoder
//! `f[z, φ]`, eq. 17.25–17.26; the GAN's generator `g[z, θ]`, eq. 15.5), run by the
//! interpreter on `z ~ Norm[0, I]` with the instance's parameters from the checkpoint; its
//! outputs, set back to the data's scale with the checkpoint's standardisation, are drawn
//! as a PNG grid of grey-scale pictures. With `--model`, another model of the file is run
//! instead: one that reads only noise and the trained model's parameters by their names (a
//! diffusion model's sampling chain, Algorithm 18.2, from `z_T ~ Norm[0, I]` down to `x`),
//! and its last value (or `--value`) is drawn. A trained density model of binary pictures
//! (one input `x ∈ {0, 1}^{D}`, no target, no sub-model, its model function the D
//! conditionals `p(x_d = 1 | x_{<d})`: MADE, NADE) is sampled autoregressively, D forward
//! passes (`autoregressive`).

use faer::Mat;
use nnspec::dsl::ir::{Graph, Role};
use nnspec::runtime::image::{Grid, grid_png};
use nnspec::runtime::init::{Init, Sample};
use nnspec::runtime::{NamedParams, Rng, checkpoint};
use nnspec::{interp, training};
use std::path::PathBuf;
use std::process::ExitCode;

/// `nnspec sample`'s options.
#[derive(clap::Args)]
pub(crate) struct SampleArgs {
    /// The spec file (the model and `--set` values are the checkpoint's).
    file: PathBuf,
    /// The checkpoint written by `nnspec train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The PNG file to write.
    #[arg(long, short, default_value = "samples.png")]
    out: PathBuf,
    /// The generator: the name of a sub-model instance of the trained model (`φ`, `θ`).
    /// Default: its only one.
    #[arg(long)]
    instance: Option<String>,
    /// A model of the file to run instead of a generator instance: it reads only noise, and
    /// parameters the checkpoint holds under the same names (`φ_t.β_0`).
    #[arg(long, conflicts_with = "instance")]
    model: Option<String>,
    /// With `--model`: the value to draw (default: the model's last equation's).
    #[arg(long, requires = "model")]
    value: Option<String>,
    /// How many pictures.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    count: u16,
    /// The seed of `z`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Screen pixels per picture pixel.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=64))]
    scale: u8,
}

/// `nnspec sample`.
pub(crate) fn sample(args: &SampleArgs) -> ExitCode {
    let meta = match checkpoint::read_metadata(&args.checkpoint) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let overrides = match super::saved_overrides(&meta) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    // The spec's diagnostics, if any, are printed by `load_all`.
    let Some(graphs) = super::load_all(&args.file, None, &overrides) else {
        return ExitCode::FAILURE;
    };
    match draw(args, &meta, &graphs) {
        Ok(line) => {
            outln!("{line}");
            ExitCode::SUCCESS
        }
        Err(m) => fail(m),
    }
}

fn fail(m: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {m}");
    ExitCode::FAILURE
}

/// The generator of `trained`: the instance named, or its only one, and the model of the
/// file whose parameters it instantiates.
fn generator<'g>(
    trained: &Graph,
    graphs: &'g [Graph],
    instance: Option<&str>,
) -> Result<(String, &'g Graph), String> {
    let mut instances: Vec<&str> = trained
        .params
        .iter()
        .filter_map(|p| p.name.split_once('.').map(|(i, _)| i))
        .collect();
    instances.dedup();
    let inst = match (instance, instances.as_slice()) {
        (Some(i), _) if instances.contains(&i) => i,
        (None, [only]) => only,
        (Some(i), _) => {
            return Err(format!(
                "`{}` has no sub-model instance `{i}` (its instances: {})",
                trained.name,
                instances.join(", ")
            ));
        }
        (None, []) => {
            return Err(format!(
                "`{}` calls no sub-model to sample from (a generator such as the decoder \
                 f[z, φ] of eq. 17.25 is a model of its own, called with its instance's name)",
                trained.name
            ));
        }
        (None, _) => {
            return Err(format!(
                "`{}` has several sub-model instances ({}): name the generator with --instance",
                trained.name,
                instances.join(", ")
            ));
        }
    };
    let mine: Vec<&str> = trained
        .params
        .iter()
        .filter_map(|p| p.name.strip_prefix(inst)?.strip_prefix('.'))
        .collect();
    let g = graphs
        .iter()
        .filter(|g| g.name != trained.name)
        .find(|g| {
            g.params
                .iter()
                .map(|p| p.name.as_str())
                .eq(mine.iter().copied())
        })
        .ok_or_else(|| format!("no model of the file has the parameters of `{inst}`"))?;
    Ok((inst.to_string(), g))
}

/// Samples of the checkpoint's model of `graphs` (the file's models), written as a PNG;
/// the line that says what was written.
fn draw(
    args: &SampleArgs,
    meta: &std::collections::BTreeMap<String, String>,
    graphs: &[Graph],
) -> Result<String, String> {
    let name = meta
        .get("model")
        .ok_or("the checkpoint does not name its model")?;
    let trained = graphs
        .iter()
        .find(|g| g.name == *name)
        .ok_or_else(|| format!("{} has no model `{name}`", args.file.display()))?;
    // The trained model's parameters, checked against the checkpoint.
    let mut all = NamedParams::new(trained.params.iter().map(|p| {
        let (r, c) = interp::dims(p.shape, 1);
        (p.name.clone(), Mat::<f64>::zeros(r, c))
    }));
    checkpoint::load(&args.checkpoint, &mut all).map_err(|e| e.to_string())?;
    let count = usize::from(args.count);
    let mut rng = Rng::new(args.seed);
    let (mut x, what) = match &args.model {
        Some(m) => chain(args, trained, graphs, m, &all, count, &mut rng)?,
        None if args.instance.is_none() && binary_density(trained) => {
            autoregressive(trained, &all, count, &mut rng)?
        }
        None => instance(args, trained, graphs, &all, count, &mut rng)?,
    };
    if let Some(s) = training::standardizer_from_metadata(meta)?
        && s.mean.len() == x.nrows()
    {
        for j in 0..x.ncols() {
            for i in 0..x.nrows() {
                x[(i, j)] = x[(i, j)] * s.std[i] + s.mean[i];
            }
        }
    }
    let side = (x.nrows() as f64).sqrt().round() as usize;
    if side * side != x.nrows() {
        return Err(format!(
            "the generator makes {} numbers per sample, not a square picture",
            x.nrows()
        ));
    }
    // The grey scale spans the samples' 1st to 99th percentile, so that a few extreme
    // numbers do not wash the pictures out.
    let mut sorted: Vec<f64> = (0..x.ncols())
        .flat_map(|j| (0..x.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| x[(i, j)])
        .collect();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.01), at(0.99));
    let grid = Grid {
        height: side,
        width: side,
        per_row: (count as f64).sqrt().ceil() as usize,
        scale: usize::from(args.scale),
        lo,
        hi: if hi > lo { hi } else { lo + 1.0 },
    };
    let png = grid_png(x.as_ref(), &grid)?;
    nnspec::runtime::files::write_atomic(&args.out, &png)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    Ok(format!(
        "{count} samples of `{}` {what}, {side}×{side} pixels each, grey from {lo:.3} to \
         {hi:.3}; wrote {}",
        trained.name,
        args.out.display()
    ))
}

/// Samples from the generator instance of `trained` (named, or its only one), run on
/// `z ~ Norm[0, I]`: its outputs and a description.
fn instance(
    args: &SampleArgs,
    trained: &Graph,
    graphs: &[Graph],
    all: &NamedParams<f64>,
    count: usize,
    rng: &mut Rng,
) -> Result<(Mat<f64>, String), String> {
    let (inst, generator_graph) = generator(trained, graphs, args.instance.as_deref())?;
    let params: Vec<Mat<f64>> = generator_graph
        .params
        .iter()
        .map(|p| {
            let k = all
                .names
                .iter()
                .position(|n| *n == format!("{inst}.{}", p.name));
            k.map(|k| all.mats[k].clone())
        })
        .collect::<Option<_>>()
        .ok_or("the checkpoint lacks a parameter of the generator")?;
    let [z] = generator_graph.inputs.as_slice() else {
        return Err(format!(
            "the generator `{}` must read one input z",
            generator_graph.name
        ));
    };
    if z.role != Role::Input {
        return Err(format!(
            "the generator `{}`'s `{}` is not an input",
            generator_graph.name, z.name
        ));
    }
    let (r, c) = interp::dims(z.shape, count);
    let normal = Init::Normal {
        mean: 0.0,
        variance: 1.0,
    };
    let zs = normal.sample::<f64>(r, c, rng);
    let fwd = nnspec::dsl::opt::optimize(generator_graph).map_err(|e| e.to_string())?;
    let f = fwd
        .outputs
        .first()
        .map(|(_, id)| *id)
        .ok_or("the generator has no output")?;
    let values = interp::run(&fwd, &[zs], &params).map_err(|e| e.to_string())?;
    let what = format!(
        "(the generator `{}`, instance `{inst}`) from z ~ Norm[0, I]",
        generator_graph.name
    );
    Ok((values[f].clone(), what))
}

/// Samples from the model `name` of the file, which reads only noise (drawn by
/// `nnspec::sample::noise`, as generated code's `sample` draws it) and parameters that `all`
/// holds under the same names: the value `--value` (default: its output, the last
/// equation's) and a description.
fn chain(
    args: &SampleArgs,
    trained: &Graph,
    graphs: &[Graph],
    name: &str,
    all: &NamedParams<f64>,
    count: usize,
    rng: &mut Rng,
) -> Result<(Mat<f64>, String), String> {
    let g = graphs
        .iter()
        .find(|g| g.name == name)
        .ok_or_else(|| format!("{} has no model `{name}`", args.file.display()))?;
    let params: Vec<Mat<f64>> = g
        .params
        .iter()
        .map(|p| {
            let k = all.names.iter().position(|n| *n == p.name).ok_or_else(|| {
                format!(
                    "`{name}` reads the parameter `{}`, which the checkpoint of `{}` does not hold",
                    p.name, trained.name
                )
            })?;
            let m = &all.mats[k];
            let want = interp::dims(p.shape, 1);
            if (m.nrows(), m.ncols()) != want {
                return Err(format!(
                    "`{}` is {}×{} in the checkpoint, {}×{} in `{name}`",
                    p.name,
                    m.nrows(),
                    m.ncols(),
                    want.0,
                    want.1
                ));
            }
            Ok(m.clone())
        })
        .collect::<Result<_, String>>()?;
    let inputs = nnspec::sample::noise::<f64>(g, count, rng)?;
    let id = match &args.value {
        Some(v) => g
            .nodes
            .iter()
            .rposition(|n| n.name.as_deref() == Some(v.as_str()))
            .ok_or_else(|| format!("`{name}` has no value `{v}`"))?,
        // The model's output: lowering makes its last equation's value one.
        None => g
            .outputs
            .first()
            .map(|(_, id)| id.index())
            .ok_or_else(|| format!("`{name}` defines no value to draw"))?,
    };
    let shown = g.nodes[id].name.clone().unwrap_or_default();
    // Unoptimised: the model has no loss or function whose output would keep its values.
    let values = interp::run(g, &inputs, &params).map_err(|e| e.to_string())?;
    let what = format!("(the value `{shown}` of `{name}`, from its noise)");
    Ok((values[nnspec::dsl::ir::NodeId(id as u32)].clone(), what))
}

/// Whether `trained` models the density of binary vectors itself: one input `x ∈ {0, 1}^{D}`,
/// no target, no noise and no sub-model instance.
fn binary_density(trained: &Graph) -> bool {
    let instances = trained.params.iter().any(|p| p.name.contains('.'));
    matches!(trained.inputs.as_slice(), [x] if x.role == Role::Input && x.entry_labels == Some((0, 2)))
        && !instances
}

/// Samples of an autoregressive model of binary vectors, whose model function gives, for
/// each `d`, `p(x_d = 1 | x_{<d})` (MADE, NADE; a picture of labels `{0, 1}^{C×H×W}`
/// entry by entry in its layout, column by column: PixelCNN): `x_1` is drawn, then `x_2`
/// given it, …, one forward pass per entry. The probabilities `x_1 … x_d` were drawn with
/// must not change when the later entries are set: a model whose output `d` reads `x_d` or
/// a later entry is not autoregressive in the order `1 … D`, and is refused.
fn autoregressive(
    trained: &Graph,
    all: &NamedParams<f64>,
    count: usize,
    rng: &mut Rng,
) -> Result<(Mat<f64>, String), String> {
    let fwd = nnspec::dsl::opt::optimize(trained).map_err(|e| e.to_string())?;
    let f = fwd
        .outputs
        .first()
        .map(|(_, id)| *id)
        .ok_or("the model has no model function")?;
    // An example is `rows × cols` (a vector: `D × 1`), held column by column; a batch puts
    // the examples' columns side by side. Entry `k` of example `b`:
    let (rows, cols) = interp::dims(trained.inputs[0].shape, 1);
    let d = rows * cols;
    let at = |k: usize, b: usize| (k % rows, b * cols + k / rows);
    let probabilities = |x: &Mat<f64>| -> Result<Mat<f64>, String> {
        let values =
            interp::run(&fwd, std::slice::from_ref(x), &all.mats).map_err(|e| e.to_string())?;
        let p = values[f].clone();
        let shape_ok = (p.nrows(), p.ncols()) == (x.nrows(), x.ncols());
        let in_range = |i, j| (0.0..=1.0).contains(&p[(i, j)]);
        if !shape_ok || (0..p.ncols()).any(|j| (0..p.nrows()).any(|i| !in_range(i, j))) {
            return Err(format!(
                "`{}`'s model function is not {d} probabilities p(x_d = 1 | x_{{<d}}) per sample",
                trained.name
            ));
        }
        Ok(p)
    };
    let mut x = Mat::<f64>::zeros(rows, cols * count);
    let mut drawn = Mat::<f64>::zeros(d, count);
    for k in 0..d {
        let p = probabilities(&x)?;
        for b in 0..count {
            let (i, j) = at(k, b);
            drawn[(k, b)] = p[(i, j)];
            x[(i, j)] = if rng.uniform() < p[(i, j)] { 1.0 } else { 0.0 };
        }
    }
    let last = probabilities(&x)?;
    for b in 0..count {
        for k in 0..d {
            let (i, j) = at(k, b);
            if (last[(i, j)] - drawn[(k, b)]).abs() > 1e-9 {
                return Err(format!(
                    "`{}` is not autoregressive in the order 1 … {d}: its output {} changed when \
                     later entries were drawn ({} then {})",
                    trained.name,
                    k + 1,
                    drawn[(k, b)],
                    last[(i, j)]
                ));
            }
        }
    }
    let pictures = Mat::<f64>::from_fn(d, count, |k, b| {
        let (i, j) = at(k, b);
        x[(i, j)]
    });
    let what =
        format!("(x_1, then each x_d ~ Bernoulli[p(x_d = 1 | x_{{<d}})], {d} forward passes)");
    Ok((pictures, what))
}
