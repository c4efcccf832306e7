//! What training shows and leaves behind: the progress bar, the history as CSV, and the
//! loss curve as an SVG image.
//!
//! The bar needs the `progress` feature (without it, an enabled [`Progress`] prints one line
//! per epoch, as it does when stderr is not a terminal); the plot needs the `plot` feature.
//!
//! Files are written to a temporary name and renamed into place, so an interrupted run
//! never leaves half a file.

use crate::train::{Epoch, History};
#[cfg(feature = "progress")]
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;

/// Without the `progress` feature there is never a bar: a type with no values, so that the
/// display's code is the same either way.
#[cfg(not(feature = "progress"))]
enum ProgressBar {}

#[cfg(not(feature = "progress"))]
impl ProgressBar {
    fn inc(&self, _: u64) {
        match *self {}
    }
    fn position(&self) -> u64 {
        match *self {}
    }
    fn set_prefix(&self, _: String) {
        match *self {}
    }
    fn set_message(&self, _: String) {
        match *self {}
    }
    fn println(&self, _: String) {
        match *self {}
    }
    fn finish_and_clear(&self) {
        match *self {}
    }
}

/// A bar of `total` steps on stderr.
#[cfg(feature = "progress")]
fn bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>11} [{bar:30.cyan/blue}] {pos}/{len} steps {elapsed_precise} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// The progress display of a training run: a bar on a terminal, one line per epoch
/// otherwise, nothing when disabled.
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
}

impl Progress {
    /// A display for `epochs` epochs of `batches` steps.
    pub fn new(enabled: bool, epochs: usize, batches: usize) -> Progress {
        let total = (epochs * batches) as u64;
        if !enabled {
            return Progress {
                bar: None,
                lines: false,
            };
        }
        #[cfg(feature = "progress")]
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Progress {
                bar: Some(bar(total)),
                lines: false,
            };
        }
        let _ = total;
        Progress {
            bar: None,
            lines: true,
        }
    }

    /// One step done; `loss` is the running mean loss per example of the epoch.
    pub fn step(&self, epoch: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            // A message is a formatted string: refresh it a few times per second only.
            if bar.position() % 16 == 1 {
                bar.set_prefix(format!("epoch {epoch}"));
                bar.set_message(format!("loss {loss:.4}"));
            }
        }
    }

    /// An epoch done.
    pub fn epoch(&self, e: &Epoch, epochs: usize) {
        let line = epoch_line(e, epochs);
        match &self.bar {
            Some(bar) => {
                bar.set_message(line.clone());
                bar.println(line);
            }
            None if self.lines => eprintln!("{line}"),
            None => {}
        }
    }

    /// Training ended (completed, stopped early or failed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `epoch  3/20  loss 0.2140  acc 94.1%  val loss 0.2532  val acc 93.0%  lr 1.0e-3  0.21 s`
pub fn epoch_line(e: &Epoch, epochs: usize) -> String {
    let w = epochs.to_string().len();
    let mut s = format!("epoch {:>w$}/{epochs}  loss {:.4}", e.epoch, e.train_loss);
    if let Some(a) = e.train_accuracy {
        let _ = write!(s, "  acc {:5.1}%", 100.0 * a);
    }
    if let Some(l) = e.val_loss {
        let _ = write!(s, "  val loss {l:.4}");
    }
    if let Some(a) = e.val_accuracy {
        let _ = write!(s, "  val acc {:5.1}%", 100.0 * a);
    }
    let _ = write!(s, "  lr {:.1e}  {:.2} s", e.lr, e.seconds);
    s
}

/// The history as CSV: `epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds`,
/// empty cells where a value does not apply.
pub fn history_csv(h: &History) -> String {
    let mut s = String::from("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n");
    let opt = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    for e in &h.epochs {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{}",
            e.epoch,
            e.train_loss,
            opt(e.train_accuracy),
            opt(e.val_loss),
            opt(e.val_accuracy),
            e.lr,
            e.seconds
        );
    }
    s
}

pub use crate::files::write_atomic;

#[cfg(feature = "plot")]
/// One panel of the plot: a training and (if any) a validation curve over the epochs.
struct Panel<'a> {
    caption: String,
    y_desc: &'a str,
    y_range: std::ops::Range<f64>,
    train: Vec<(f64, f64)>,
    val: Vec<(f64, f64)>,
    legend_lower_right: bool,
}

#[cfg(feature = "plot")]
type Area<'a> =
    plotters::drawing::DrawingArea<plotters::prelude::SVGBackend<'a>, plotters::coord::Shift>;

#[cfg(feature = "plot")]
fn draw_panel(area: &Area<'_>, p: Panel<'_>, epochs: f64) -> Result<(), String> {
    use plotters::prelude::*;
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(&p.caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(1.0..epochs.max(2.0), p.y_range)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(p.y_desc)
        .draw()
        .map_err(|x| e(&x))?;
    for (points, label, colour) in [(p.train, "training", BLUE), (p.val, "validation", RED)] {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, colour))
            .map_err(|x| e(&x))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
    }
    let position = if p.legend_lower_right {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    chart
        .configure_series_labels()
        .position(position)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|x| e(&x))
}

#[cfg(feature = "plot")]
/// The loss curves (training and validation loss per example, by epoch) and, for
/// classifiers, the accuracy curves, as an SVG document.
pub fn loss_plot_svg(h: &History, title: &str) -> Result<String, String> {
    use plotters::prelude::*;
    // The finite values of one column of the history, by epoch.
    let series = |f: &dyn Fn(&Epoch) -> Option<f64>| -> Vec<(f64, f64)> {
        h.epochs
            .iter()
            .filter_map(|e| f(e).map(|v| (e.epoch as f64, v)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    };
    let (train, val) = (series(&|e| Some(e.train_loss)), series(&|e| e.val_loss));
    let lo = train
        .iter()
        .chain(&val)
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min);
    let hi = train
        .iter()
        .chain(&val)
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let y_range = if lo.is_finite() && hi > lo {
        lo.min(0.0)..hi * 1.05
    } else {
        0.0..1.0
    };
    let loss = Panel {
        caption: format!("{title}: loss per example"),
        y_desc: "loss",
        y_range,
        train,
        val,
        legend_lower_right: false,
    };
    let pct = |f: &dyn Fn(&Epoch) -> Option<f64>| series(&|e| f(e).map(|a| 100.0 * a));
    let accuracy = Panel {
        caption: "accuracy".into(),
        y_desc: "%",
        y_range: 0.0..100.0,
        train: pct(&|e| e.train_accuracy),
        val: pct(&|e| e.val_accuracy),
        legend_lower_right: true,
    };
    let has_acc = !accuracy.train.is_empty();
    let epochs = h.epochs.len().max(1) as f64;
    let mut svg = String::new();
    {
        let height = if has_acc { 720 } else { 400 };
        let root = SVGBackend::with_string(&mut svg, (800, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        if has_acc {
            let (top, bottom) = root.split_vertically(400);
            draw_panel(&top, loss, epochs)?;
            draw_panel(&bottom, accuracy, epochs)?;
        } else {
            draw_panel(&root, loss, epochs)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Stop;

    fn history() -> History {
        History {
            epochs: (1..=3)
                .map(|k| Epoch {
                    epoch: k,
                    train_loss: 1.0 / k as f64,
                    train_accuracy: Some(0.5 + 0.1 * k as f64),
                    val_loss: Some(1.2 / k as f64),
                    val_accuracy: None,
                    lr: 0.001,
                    seconds: 0.5,
                })
                .collect(),
            best_epoch: Some(3),
            stop: Stop::Completed,
        }
    }

    #[test]
    fn csv_has_a_row_per_epoch_and_empty_cells_for_missing_values() {
        let csv = history_csv(&history());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1], "1,1,0.6,1.2,,0.001,0.5");
    }

    #[cfg(feature = "plot")]
    #[test]
    fn plot_is_an_svg_with_both_curves() {
        let svg = loss_plot_svg(&history(), "Net").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("validation") && svg.contains("accuracy"));
        assert!(svg.matches("<polyline").count() >= 3);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("nnspec-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("h.csv");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(write_atomic(&dir.join("h.csv"), b"x").is_err());
    }
}
