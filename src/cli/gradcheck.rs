//! `nnspec gradcheck FILE…`: every gradient of every loss against central differences in
//! f64, a table per loss and a verdict.

use super::load_all;
use nnspec::dsl;
use std::path::PathBuf;
use std::process::ExitCode;

/// `nnspec gradcheck FILE…`: every model of every file, at random parameters and inputs.
#[derive(clap::Args)]
pub(crate) struct GradcheckArgs {
    /// The spec files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Check only this model.
    #[arg(long)]
    model: Option<String>,
    /// Override a hyper-parameter, e.g. `--set K=5` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = super::parse_override)]
    overrides: Vec<(String, f64)>,
    /// Examples in the random batch.
    #[arg(long, default_value_t = 3)]
    batch: usize,
    /// Seed of the random parameters, inputs and sampled coordinates.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Relative tolerance: an entry agrees when |got − want| ≤ rtol·|want| + atol·scale.
    #[arg(long, alias = "tolerance", default_value_t = 1e-6)]
    rtol: f64,
    /// Absolute tolerance, as a fraction of the largest gradient magnitude of the loss.
    #[arg(long, default_value_t = 1e-6)]
    atol: f64,
    /// Check at most this many coordinates per loss by central differences (a random subset,
    /// drawn with the seed, beyond).
    #[arg(long, default_value_t = 2000)]
    max_coords: usize,
}

pub(crate) fn gradcheck(check: &GradcheckArgs) -> ExitCode {
    let opts = nnspec::gradcheck::Options {
        rtol: check.rtol,
        atol: check.atol,
        max_coords: check.max_coords.max(1),
        batch: check.batch.max(1),
        ..nnspec::gradcheck::Options::default()
    };
    let mut tally = Tally::default();
    for file in &check.files {
        let Some(graphs) = load_all(file, check.model.as_deref(), &check.overrides) else {
            tally.failed = true;
            continue;
        };
        let stem = file
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        // In a file whose other models have losses, a model without one (the VAE's decoder,
        // called as a sub-model) is skipped, saying so; asked for alone, it is an error.
        let others_have_losses =
            check.model.is_none() && graphs.iter().any(|g| !g.losses.is_empty());
        for forward in graphs {
            let model = format!("{stem}/{}", forward.name);
            if forward.losses.is_empty() && others_have_losses {
                eprintln!(
                    "note: {model} has no loss of its own: skipped (its gradients are checked through the models that call it)"
                );
                continue;
            }
            if forward.losses.is_empty() {
                eprintln!("error: {model} has no loss: there is no gradient to check");
                tally.failed = true;
                continue;
            }
            let graph = match dsl::opt::optimize(&forward) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("error: internal compiler error in {}: {e}", forward.name);
                    tally.failed = true;
                    continue;
                }
            };
            let mut rng = nnspec::sample::Rng::new(check.seed);
            for loss in &graph.losses {
                check_one_loss(&graph, loss, &model, &mut rng, &opts, &mut tally);
            }
        }
    }
    let rule = format!(
        "|got − want| ≤ {:e}·|want| + {:e}·scale",
        check.rtol, check.atol
    );
    let worst = if tally.nan {
        "NaN".to_string()
    } else {
        format!("{:.2e}", tally.worst)
    };
    let coords = format!("{} of {} coordinates", tally.checked, tally.total);
    if tally.failed {
        outln!("gradient check failed ({coords} checked; worst error {worst} × tolerance; {rule})");
        ExitCode::FAILURE
    } else {
        outln!(
            "all gradients agree with central differences ({coords} checked; worst error {worst} × tolerance; {rule})"
        );
        ExitCode::SUCCESS
    }
}

/// What `nnspec gradcheck` has seen so far.
#[derive(Default)]
struct Tally {
    failed: bool,
    nan: bool,
    /// The largest error as a multiple of its tolerance.
    worst: f64,
    checked: usize,
    total: usize,
}

/// Checks one loss of one model and prints its rows.
fn check_one_loss(
    graph: &dsl::ir::Graph,
    loss: &dsl::ir::Loss,
    model: &str,
    rng: &mut nnspec::sample::Rng,
    opts: &nnspec::gradcheck::Options,
    tally: &mut Tally,
) {
    let total: usize = loss
        .wrt
        .iter()
        .map(|&k| {
            let s = graph.params[k as usize].shape;
            let (r, c) = nnspec::interp::dims(s, 1);
            r * c
        })
        .sum();
    let what = if total > opts.max_coords {
        format!(
            "{} of {total} coordinates, chosen at random (--max-coords)",
            opts.max_coords
        )
    } else {
        format!("all {total} coordinates")
    };
    outln!("{model} {}: central differences at {what}", loss.name);
    let report = match nnspec::gradcheck::check_loss(graph, loss, rng, opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {model}: {e}");
            tally.failed = true;
            return;
        }
    };
    tally.checked += report.checked;
    tally.total += report.total;
    if report.all_zero {
        outln!(
            "{model} {}: every gradient is exactly zero at each of {} random points (every ReLU inactive?): agreement not established",
            loss.name,
            report.draws
        );
        tally.failed = true;
        return;
    }
    if report.draws > 1 {
        outln!(
            "note: every gradient was exactly zero at {} random point(s) (every ReLU inactive?); checked at point {}",
            report.draws - 1,
            report.draws
        );
    }
    outln!(
        "  {:<16} {:>15} {:>12} {:>12}  status",
        "parameter",
        "checked",
        "abs. error",
        "÷ tolerance"
    );
    for row in &report.rows {
        let status = if row.checked == 0 {
            "not sampled"
        } else if row.has_nan() {
            "FAILED (NaN)"
        } else if row.agrees() {
            "ok"
        } else {
            "FAILED"
        };
        tally.failed |= !row.agrees();
        tally.nan |= row.has_nan();
        if !row.has_nan() {
            tally.worst = tally.worst.max(row.ratio);
        }
        outln!(
            "  {:<16} {:>15} {:>12.3e} {:>12.2e}  {status}",
            row.param,
            format!("{}/{}", row.checked, row.total),
            row.max_abs_error,
            row.ratio
        );
        if let (false, Some((c, got, want))) = (row.agrees(), row.worst) {
            outln!(
                "    worst at ({}, {}): AD {got:e}, central differences {want:e}",
                c.row,
                c.col
            );
        }
    }
}
