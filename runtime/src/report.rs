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
        "{prefix:>9} [{bar:20.cyan/blue}] {pos}/{len} steps {per_sec} ETA {eta} {msg}",
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
            // The line goes above the bar, which keeps only the running loss.
            Some(bar) => bar.println(line),
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

/// `epoch  3/20 loss  0.2140 acc  94.1% val  0.2532 acc  93.0% lr 1.0e-3  0.21s`: fixed-width
/// fields, so lines align and, up to 999 epochs, fit in 80 columns.
pub fn epoch_line(e: &Epoch, epochs: usize) -> String {
    let w = epochs.to_string().len();
    let pct = |a: f64| format!("{:>5.1}%", 100.0 * a);
    let mut s = format!(
        "epoch {:>w$}/{epochs} loss {:>7}",
        e.epoch,
        number(e.train_loss)
    );
    if let Some(a) = e.train_accuracy {
        let _ = write!(s, " acc {}", pct(a));
    }
    if let Some(l) = e.val_loss {
        let _ = write!(s, " val {:>7}", number(l));
    }
    if let Some(a) = e.val_accuracy {
        let _ = write!(s, " acc {}", pct(a));
    }
    let secs = if e.seconds < 10.0 {
        format!("{:.2}s", e.seconds)
    } else {
        format!("{:.1}s", e.seconds)
    };
    if e.lr.is_nan() {
        let _ = write!(s, " {secs:>6}");
    } else {
        let _ = write!(s, " lr {:.1e} {secs:>6}", e.lr);
    }
    s
}

/// A loss in at most 7 characters: 4 decimals below 10, fewer above, `1.23e5` beyond.
fn number(v: f64) -> String {
    let a = v.abs();
    match a {
        _ if a == 0.0 => "0".into(),
        _ if (1e-3..10.0).contains(&a) => format!("{v:.4}"),
        _ if (10.0..100.0).contains(&a) => format!("{v:.3}"),
        _ if (100.0..1000.0).contains(&a) => format!("{v:.2}"),
        _ if (1000.0..10000.0).contains(&a) => format!("{v:.1}"),
        _ => format!("{v:.2e}"),
    }
}

/// The history as CSV: `epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds`,
/// empty cells where a value does not apply.
/// A model of several losses adds a column per loss, `train_loss_<name>`: its mean per example
/// over the batches it trained.
pub fn history_csv(h: &History) -> String {
    let mut s = String::from("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds");
    for l in &h.per_loss {
        let _ = write!(s, ",train_loss_{}", l.name);
    }
    s.push('\n');
    let opt = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    for (k, e) in h.epochs.iter().enumerate() {
        let _ = write!(
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
        for l in &h.per_loss {
            let _ = write!(s, ",{}", opt(l.means.get(k).copied()));
        }
        s.push('\n');
    }
    s
}

pub use crate::files::write_atomic;

/// The title of a failed run's plot: `Net — failed: diverged in epoch 5`.
pub fn failed_title(title: &str, e: &crate::train::TrainError) -> String {
    use crate::train::TrainErrorKind as K;
    let why = match &*e.kind {
        K::Step { epoch, .. } => format!("a step refused its data in epoch {epoch}"),
        K::NonFinite { epoch, .. } => format!("NaN or infinity in epoch {epoch}"),
        K::Diverged { epoch, .. } => format!("diverged in epoch {epoch}"),
        K::Data(_) => "the data do not fit the model".into(),
    };
    format!("{title} — failed: {why}")
}

/// How a panel's values map to its vertical axis.
#[cfg(feature = "plot")]
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
    /// Values as they are, ticks printed with `decimals`.
    Linear,
    /// `log10` of the values (all positive), ticks at whole decades.
    Log,
}

#[cfg(feature = "plot")]
/// One panel of the plot: its curves over the epochs (training, one per loss of a model of
/// several, and validation).
struct Panel<'a> {
    caption: String,
    y_desc: &'a str,
    /// The range on the axis (for [`Scale::Log`], of `log10` of the values).
    y_range: std::ops::Range<f64>,
    scale: Scale,
    /// The curves: points, legend and colour.
    curves: Vec<Curve>,
}

/// A curve of a panel: its points, its legend and its colour.
#[cfg(feature = "plot")]
type Curve = (Vec<(i32, f64)>, String, plotters::style::RGBColor);

#[cfg(feature = "plot")]
type Area<'a> =
    plotters::drawing::DrawingArea<plotters::prelude::SVGBackend<'a>, plotters::coord::Shift>;

/// The plot's width, and that of the strip on its right that holds the legend.
#[cfg(feature = "plot")]
const WIDTH: u32 = 860;
#[cfg(feature = "plot")]
const LEGEND: u32 = 130;

/// A caption's font size: 20, smaller for a long caption so that it fits `width` pixels
/// (a sans-serif character is about 0.55 of the size wide), never below 11; beyond that the
/// caption is shortened with `…`.
#[cfg(feature = "plot")]
fn fit_caption(caption: &str, width: u32) -> (String, u32) {
    let chars = caption.chars().count().max(1) as f64;
    let size = (f64::from(width) / (0.55 * chars))
        .floor()
        .clamp(11.0, 20.0) as u32;
    let room = (f64::from(width) / (0.55 * f64::from(size))) as usize;
    if caption.chars().count() <= room {
        (caption.to_string(), size)
    } else {
        let cut: String = caption.chars().take(room.saturating_sub(1)).collect();
        (format!("{cut}…"), size)
    }
}

/// A tick of a log axis: `10^k` as `0.01` … `100`, else `1e-5`; nothing between decades.
#[cfg(feature = "plot")]
fn decade(k: f64) -> String {
    if k.fract() != 0.0 {
        return String::new();
    }
    match k as i32 {
        k @ -2..=2 => format!("{}", 10f64.powi(k)),
        k => format!("1e{k}"),
    }
}

#[cfg(feature = "plot")]
fn draw_panel(area: &Area<'_>, p: Panel<'_>, epochs: usize) -> Result<(), String> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let (chart_area, legend_area) = area.split_horizontally(WIDTH - LEGEND);
    let (caption, size) = fit_caption(&p.caption, WIDTH - 40);
    // The caption goes over the whole width, the chart below it beside the legend.
    let (w, _) = area.dim_in_pixel();
    let centred = ("sans-serif", size)
        .into_font()
        .into_text_style(area)
        .pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(caption, ((w / 2) as i32, 8), centred))
        .map_err(|x| e(&x))?;
    // Whole epochs on the x axis: an integer coordinate.
    let last = epochs.max(2) as i32;
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(12)
        .margin_top(40)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(1..last, p.y_range.clone())
        .map_err(|x| e(&x))?;
    let scale = p.scale;
    let span = p.y_range.end - p.y_range.start;
    let y_ticks = match scale {
        Scale::Log => (span.round() as usize + 1).clamp(2, 13),
        Scale::Linear => 10,
    };
    let y_format = move |v: &f64| match scale {
        Scale::Log => decade(*v),
        // At most four decimals, without trailing zeros: `86`, `0.5`, `0.125`.
        Scale::Linear => {
            let t = format!("{v:.4}");
            let t = t.trim_end_matches('0').trim_end_matches('.');
            if t == "-0" { "0".into() } else { t.to_string() }
        }
    };
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(p.y_desc)
        .x_labels((last as usize).min(12))
        .y_labels(y_ticks)
        .y_label_formatter(&y_format)
        .draw()
        .map_err(|x| e(&x))?;
    let mut row = 60;
    for (points, label, colour) in p.curves {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(|x| e(&x))?;
        // The legend, in the strip beside the chart: never over a curve.
        legend_area
            .draw(&PathElement::new(
                vec![(4, row), (28, row)],
                colour.stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
        legend_area
            .draw(&Text::new(
                label.as_str(),
                (34, row - 7),
                ("sans-serif", 14).into_font(),
            ))
            .map_err(|x| e(&x))?;
        row += 22;
    }
    Ok(())
}

/// The vertical range of the loss panel: log10 of the values when they are all positive and
/// span more than two decades, else the values from 0 (or the lowest, if negative) up.
#[cfg(feature = "plot")]
fn loss_axis(values: &[f64]) -> (Scale, std::ops::Range<f64>) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return (Scale::Linear, 0.0..1.0);
    }
    if lo > 0.0 && hi / lo > 100.0 {
        return (Scale::Log, lo.log10().floor()..hi.log10().ceil());
    }
    if hi > lo {
        (Scale::Linear, lo.min(0.0)..hi + 0.05 * (hi - lo.min(0.0)))
    } else {
        let pad = hi.abs().max(1.0) * 0.1;
        (Scale::Linear, lo.min(0.0) - pad..hi + pad)
    }
}

/// The range of the accuracy panel (in %): the values with a margin, to whole multiples of 5,
/// at least 10 points high, within 0–100.
#[cfg(feature = "plot")]
fn accuracy_axis(values: &[f64]) -> std::ops::Range<f64> {
    let lo = values.iter().copied().fold(100.0, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let mut lo = (((lo - 2.0) / 5.0).floor() * 5.0).max(0.0);
    let mut hi = (((hi + 2.0) / 5.0).ceil() * 5.0).min(100.0);
    if hi - lo < 10.0 {
        if hi >= 100.0 {
            lo = hi - 10.0;
        } else {
            hi = (lo + 10.0).min(100.0);
            lo = hi - 10.0;
        }
    }
    lo..hi
}

#[cfg(feature = "plot")]
/// The loss curves (training and validation loss per example, by epoch, on a log axis when
/// they span more than two decades) and, for classifiers, the accuracy curves on an axis
/// fitted to them, as an SVG document. The legend is beside each chart, the epochs are whole
/// numbers, and a long title is set smaller (or shortened) to fit.
pub fn loss_plot_svg(h: &History, title: &str) -> Result<String, String> {
    use plotters::prelude::*;
    // The finite values of one column of the history, by epoch.
    let series = |f: &dyn Fn(&Epoch) -> Option<f64>| -> Vec<(i32, f64)> {
        h.epochs
            .iter()
            .filter_map(|e| f(e).map(|v| (e.epoch as i32, v)))
            .filter(|(_, v)| v.is_finite())
            .collect()
    };
    // A model of several losses: one training curve per loss (the epoch's mixed loss means
    // nothing), and the validation of the first.
    let mut curves: Vec<(Vec<(i32, f64)>, String)> = if h.per_loss.is_empty() {
        vec![(series(&|e| Some(e.train_loss)), "training".into())]
    } else {
        h.per_loss
            .iter()
            .map(|l| {
                let points = h
                    .epochs
                    .iter()
                    .zip(&l.means)
                    .map(|(e, v)| (e.epoch as i32, *v))
                    .filter(|(_, v)| v.is_finite())
                    .collect();
                (points, format!("training {}", l.name))
            })
            .collect()
    };
    let val_label = match h.per_loss.first() {
        Some(l) => format!("validation {}", l.name),
        None => "validation".into(),
    };
    curves.push((series(&|e| e.val_loss), val_label));
    let values: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.0.iter().map(|p| p.1))
        .collect();
    let (scale, y_range) = loss_axis(&values);
    let on_axis = |v: Vec<(i32, f64)>| match scale {
        Scale::Log => v.into_iter().map(|(e, l)| (e, l.log10())).collect(),
        Scale::Linear => v,
    };
    let n = curves.len();
    let colours = |k: usize| match k {
        _ if k + 1 == n => RED,
        0 => BLUE,
        1 => GREEN,
        2 => MAGENTA,
        _ => BLACK,
    };
    let curves = curves
        .into_iter()
        .enumerate()
        .map(|(k, (v, label))| (on_axis(v), label, colours(k)))
        .collect();
    let loss = Panel {
        caption: format!("{title}: loss per example"),
        y_desc: if scale == Scale::Log {
            "loss (log scale)"
        } else {
            "loss"
        },
        y_range,
        scale,
        curves,
    };
    let pct = |f: &dyn Fn(&Epoch) -> Option<f64>| series(&|e| f(e).map(|a| 100.0 * a));
    let (acc_train, acc_val) = (pct(&|e| e.train_accuracy), pct(&|e| e.val_accuracy));
    let acc_values: Vec<f64> = acc_train.iter().chain(&acc_val).map(|p| p.1).collect();
    let accuracy = Panel {
        caption: "accuracy".into(),
        y_desc: "accuracy (%)",
        y_range: accuracy_axis(&acc_values),
        scale: Scale::Linear,
        curves: vec![
            (acc_train, "training".into(), BLUE),
            (acc_val, "validation".into(), RED),
        ],
    };
    let has_acc = !accuracy.curves[0].0.is_empty();
    let epochs = h.epochs.last().map_or(1, |e| e.epoch);
    let mut svg = String::new();
    {
        let height = if has_acc { 740 } else { 400 };
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
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

#[cfg(feature = "plot")]
/// The return curve of reinforcement learning: each episode's return and the mean of the last
/// 100, by episode, as an SVG document (a dashed line marks `solved`, if given).
pub fn return_plot_svg(
    returns: &[f64],
    solved: Option<f64>,
    title: &str,
) -> Result<String, String> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| format!("cannot draw the return plot: {e}");
    let n = returns.len().max(1);
    let mean: Vec<(i32, f64)> = (0..returns.len())
        .map(|k| (k as i32 + 1, crate::rl::recent_mean(&returns[..=k])))
        .collect();
    let finite = returns.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(0.0f64, f64::min);
    let hi = finite.fold(solved.unwrap_or(1.0), f64::max);
    let pad = (hi - lo).max(1.0) * 0.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 480)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{title}: return per episode"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(1..(n as i32 + 1), (lo - pad)..(hi + pad))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("episode")
            .y_desc("return")
            .draw()
            .map_err(|e| err(&e))?;
        let points = returns.iter().enumerate().map(|(k, &r)| (k as i32 + 1, r));
        chart
            .draw_series(LineSeries::new(points, BLUE.mix(0.35)))
            .map_err(|e| err(&e))?
            .label("return")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE.mix(0.35)));
        chart
            .draw_series(LineSeries::new(mean, RED.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("mean of the last 100")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED.stroke_width(2)));
        if let Some(s) = solved {
            chart
                .draw_series(DashedLineSeries::new(
                    [(1, s), (n as i32 + 1, s)],
                    6,
                    4,
                    BLACK.into(),
                ))
                .map_err(|e| err(&e))?
                .label("solved")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
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
            per_loss: Vec::new(),
        }
    }

    #[test]
    fn csv_has_a_row_per_epoch_and_empty_cells_for_missing_values() {
        let csv = history_csv(&history());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1], "1,1,0.6,1.2,,0.001,0.5");
    }

    /// The text of every `<text>` element of an SVG document, in order.
    #[cfg(feature = "plot")]
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                Some(
                    t.split_once('>')?
                        .1
                        .split_once("</text>")?
                        .0
                        .trim()
                        .to_string(),
                )
            })
            .collect()
    }

    /// A history of `n` epochs with the given losses and accuracies.
    #[cfg(feature = "plot")]
    fn run(losses: &[f64], acc: &[f64]) -> History {
        History {
            epochs: losses
                .iter()
                .enumerate()
                .map(|(k, &l)| Epoch {
                    epoch: k + 1,
                    train_loss: l,
                    train_accuracy: acc.get(k).copied(),
                    val_loss: Some(l * 1.5),
                    val_accuracy: acc.get(k).map(|a| a - 0.01),
                    lr: 0.001,
                    seconds: 0.5,
                })
                .collect(),
            best_epoch: Some(1),
            stop: Stop::Completed,
            per_loss: Vec::new(),
        }
    }

    #[cfg(feature = "plot")]
    #[test]
    fn plot_ticks_axes_and_titles() {
        // Seven epochs, losses from 2 down to 0.002 (and 3 … 0.003 on validation): more than
        // two decades, so a log axis with a tick per decade, 1e-3 … 10.
        let losses = [2.0, 0.9, 0.3, 0.1, 0.02, 0.005, 0.002];
        let acc = [0.90, 0.91, 0.93, 0.95, 0.96, 0.97, 0.97];
        let svg = loss_plot_svg(&run(&losses, &acc), "Net").unwrap();
        std::fs::write(std::env::temp_dir().join("nnspec-plot-log.svg"), &svg).unwrap();
        let t = texts(&svg);
        for want in [
            "Net: loss per example",
            "loss (log scale)",
            "accuracy (%)",
            "epoch",
        ] {
            assert!(t.iter().any(|x| x == want), "{want} not in {t:?}");
        }
        let decades: Vec<&str> = ["1e-3", "0.01", "0.1", "1", "10"].into();
        for d in &decades {
            assert!(t.iter().any(|x| x == d), "{d} not in {t:?}");
        }
        // Every number on the axes is a whole epoch, a decade or a whole percentage: the
        // epochs 1 … 7 and the accuracy axis fitted to 88 … 100 %, in steps of whole numbers.
        let numbers: Vec<f64> = t.iter().filter_map(|x| x.parse().ok()).collect();
        let epochs: Vec<f64> = (1..=7).map(f64::from).collect();
        for e in &epochs {
            assert!(numbers.contains(e), "epoch {e} not in {t:?}");
        }
        for n in &numbers {
            let decade = decades.iter().any(|d| d.parse::<f64>().unwrap() == *n);
            assert!(decade || n.fract() == 0.0, "{n} in {t:?}");
            assert!(
                decade || (1.0..=7.0).contains(n) || (85.0..=100.0).contains(n),
                "{n} in {t:?}"
            );
        }
        assert!(!numbers.contains(&0.5) && !numbers.contains(&50.0), "{t:?}");
        // Within two decades: a linear axis.
        let svg = loss_plot_svg(&run(&[1.0, 0.5, 0.2], &[]), "Net").unwrap();
        assert!(texts(&svg).iter().any(|x| x == "loss") && !svg.contains("log scale"));
    }

    #[cfg(feature = "plot")]
    #[test]
    fn a_failed_run_says_so_and_a_long_title_fits() {
        use crate::train::{TrainError, TrainErrorKind};
        let h = run(&[1.0, 0.5, 80.0], &[]);
        let e = TrainError {
            kind: Box::new(TrainErrorKind::Diverged {
                epoch: 3,
                loss: 80.0,
                lowest: 0.5,
            }),
            history: h.clone(),
        };
        let title = failed_title("Net", &e);
        assert_eq!(title, "Net — failed: diverged in epoch 3");
        let svg = loss_plot_svg(&h, &title).unwrap();
        std::fs::write(std::env::temp_dir().join("nnspec-plot-failed.svg"), &svg).unwrap();
        assert!(
            texts(&svg)
                .contains(&"Net — failed: diverged in epoch 3: loss per example".to_string())
        );
        // A title too long for the width at any size is shortened, and set at the smallest.
        let long = "M".repeat(300);
        let (shown, size) = fit_caption(&long, 820);
        assert_eq!(size, 11);
        assert!(shown.ends_with('…') && (shown.chars().count() as f64) * 0.55 * 11.0 <= 820.0);
        assert_eq!(
            fit_caption("Net: loss per example", 820),
            ("Net: loss per example".into(), 20)
        );
    }

    #[test]
    fn epoch_lines_fit_in_80_columns() {
        let e = Epoch {
            epoch: 999,
            train_loss: -1.2345e-5,
            train_accuracy: Some(1.0),
            val_loss: Some(123456.0),
            val_accuracy: Some(0.5),
            lr: 1.5e-3,
            seconds: 999.9,
        };
        let line = epoch_line(&e, 999);
        assert_eq!(
            line,
            "epoch 999/999 loss -1.23e-5 acc 100.0% val  1.23e5 acc  50.0% lr 1.5e-3 999.9s"
        );
        assert!(line.chars().count() <= 80);
        let e = Epoch {
            epoch: 3,
            train_loss: 0.214,
            train_accuracy: None,
            val_loss: None,
            val_accuracy: None,
            lr: 0.01,
            seconds: 0.214,
        };
        assert_eq!(
            epoch_line(&e, 20),
            "epoch  3/20 loss  0.2140 lr 1.0e-2  0.21s"
        );
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
