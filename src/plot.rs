//! SVG plots (plotters, SVG backend only: text stays `<text>` elements, no font files).
//!
//! - `ember sim --plot`: per-layer energy stacked by memory level and by data type;
//! - `ember compare --plot`: per-layer energy, one bar per candidate, grouped by layer;
//! - `ember sweep --plot`: energy vs latency of every grid point, the Pareto front marked.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;

use ember_estimator::{Hardware, NetworkResult};
use ember_sim::DataType;

use crate::output::OutFile;
use crate::report::{energy_unit, level_labels};
use ember_explore::energy_by_level;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| {
        anyhow!("{}: cannot draw the plot: {e}; fix: report this as a bug (the plot is drawn in memory)", path.display())
    }
}

type Svg<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draw an SVG document of `size` in memory and write it atomically to `out` (so a write error
/// is an I/O error with its own fix, and a failed run leaves no half-drawn file).
fn write_svg(
    out: &OutFile,
    size: (u32, u32),
    draw: impl FnOnce(&Svg<'_>) -> Result<(), DrawingAreaErrorKind<std::io::Error>>,
) -> Result<()> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(err(out.path()))?;
        draw(&root).map_err(err(out.path()))?;
        root.present().map_err(err(out.path()))?;
    }
    out.write(text.as_bytes())
}

type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes for bars per layer: one slot per layer name on x (centred on 0, 1, ...), 0..`top` on y.
fn layer_axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    names: &[String],
    top: f64,
) -> DrawResult<Chart<'a, DB>, DB> {
    let n = names.len();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    let labels = names.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(2))
        .x_label_formatter(&move |x| label_at(&labels, *x))
        .x_desc("layer")
        .y_desc(y_label)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    Ok(chart)
}

/// The series legend, upper right, on a translucent white box.
fn draw_legend<'a, DB: DrawingBackend + 'a>(chart: &mut Chart<'a, DB>) -> DrawResult<(), DB> {
    draw_legend_at(chart, SeriesLabelPosition::UpperRight)
}

fn draw_legend_at<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    at: SeriesLabelPosition,
) -> DrawResult<(), DB> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
}

/// One stacked-bar panel: `stacks[layer][segment]`, segments named by `series`.
fn stacked_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    names: &[String],
    series: &[&str],
    stacks: &[Vec<f64>],
) -> DrawResult<(), DB> {
    let top = stacks
        .iter()
        .map(|s| s.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1e-12)
        * 1.1;
    let mut chart = layer_axes(area, title, y_label, names, top)?;
    for (si, s) in series.iter().enumerate() {
        let c = color(si);
        let rects = stacks.iter().enumerate().map(move |(i, st)| {
            let y0: f64 = st[..si].iter().sum();
            let y1 = y0 + st[si];
            let x = i as f64;
            Rectangle::new([(x - 0.35, y0), (x + 0.35, y1)], c.filled())
        });
        chart
            .draw_series(rects)?
            .label(*s)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
    }
    draw_legend(&mut chart)
}

/// The layer name at integer x, else nothing.
fn label_at(names: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
        names[i as usize].clone()
    } else {
        String::new()
    }
}

/// `ember sim --plot`: two panels, energy by level and by data type (MAC energy in both).
pub fn sim_plot(out: &OutFile, res: &NetworkResult, hw: &Hardware) -> Result<()> {
    let (unit, div) = energy_unit(hw.energy.units);
    let unit = &format!("energy ({unit})");
    let names: Vec<String> = res.layers.iter().map(|l| l.layer.name.clone()).collect();
    let by_level: Vec<Vec<f64>> = res
        .layers
        .iter()
        .map(|l| energy_by_level(&l.energy).iter().map(|v| v / div).collect())
        .collect();
    let by_type: Vec<Vec<f64>> = res
        .layers
        .iter()
        .map(|l| {
            let e = &l.energy;
            std::iter::once(e.mac + e.leakage)
                .chain(DataType::ALL.iter().map(|&d| e.data_type(d)))
                .map(|v| v / div)
                .collect()
        })
        .collect();
    let width = (160 + 70 * names.len() as u32).max(800);
    let title = format!(
        "{} on {}, batch {}, {}",
        res.network, res.hardware, res.batch, res.dataflow
    );
    let labels = level_labels(hw);
    let series: Vec<&str> = labels.iter().map(String::as_str).collect();
    write_svg(out, (width, 900), |root| {
        let panels = root.split_evenly((2, 1));
        stacked_panel(
            &panels[0],
            &format!("{title}: energy by memory level"),
            unit,
            &names,
            &series,
            &by_level,
        )?;
        stacked_panel(
            &panels[1],
            &format!("{title}: energy by data type"),
            unit,
            &names,
            &["MAC", "weights", "ifmaps", "psums"],
            &by_type,
        )
    })
}

/// `ember compare --plot`: grouped bars, per layer, one bar per candidate.
pub fn compare_plot(
    out: &OutFile,
    title: &str,
    unit: &str,
    layers: &[String],
    candidates: &[String],
    energy: &[Vec<f64>],
) -> Result<()> {
    let n = layers.len();
    let k = candidates.len().max(1);
    let top = energy
        .iter()
        .flatten()
        .cloned()
        .fold(0.0, f64::max)
        .max(1e-12)
        * (1.2 + 0.06 * k as f64); // headroom for the legend
    let width = (200 + (30 * k as u32 + 30) * n as u32).max(900);
    write_svg(out, (width, 560), |root| {
        let mut chart = layer_axes(root, title, &format!("energy ({unit})"), layers, top)?;
        let w = 0.8 / k as f64;
        for (ci, name) in candidates.iter().enumerate() {
            let c = color(ci);
            let rects = energy[ci].iter().enumerate().map(move |(i, &e)| {
                let x0 = i as f64 - 0.4 + ci as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w * 0.9, e)], c.filled())
            });
            chart
                .draw_series(rects)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
        }
        draw_legend(&mut chart)
    })
}

/// `ember sweep --plot`: (latency cycles, energy) of every feasible point; the Pareto front
/// (energy, latency, storage) in a second colour.
pub fn sweep_plot(
    out: &OutFile,
    title: &str,
    energy_label: &str,
    points: &[(f64, f64, bool)],
) -> Result<()> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, 0f64, f64::MAX, 0f64);
    for &(x, y, _) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if points.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = |a: f64, b: f64| {
        let d = (b - a).abs().max(b.abs() * 0.05).max(1e-9) * 0.05;
        ((a - d).max(0.0), b + d)
    };
    let (x0, x1) = pad(x0, x1);
    let (y0, y1) = pad(y0, y1);
    write_svg(out, (900, 620), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("latency (million core cycles)")
            .y_desc(energy_label)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| !p.2)
                    .map(|&(x, y, _)| Circle::new((x, y), 3, grey.filled())),
            )?
            .label("grid point")
            .legend(move |(x, y)| Circle::new((x + 5, y), 3, grey.filled()));
        let red = RGBColor(214, 39, 40);
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|p| p.2)
                    .map(|&(x, y, _)| Circle::new((x, y), 5, red.filled())),
            )?
            .label("Pareto front (energy, latency, storage)")
            .legend(move |(x, y)| Circle::new((x + 5, y), 5, red.filled()));
        draw_legend(&mut chart)
    })
}

/// One line of a [`line_plot`].
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Lines with markers, one colour per series; `diagonal` adds the line y = x (dashed) as a
/// reference. The legend sits upper right, or upper left with the diagonal (whose points
/// rise to the upper right).
pub fn line_plot(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    series: &[Series],
    diagonal: bool,
) -> Result<()> {
    let root = SVGBackend::new(path, (900, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(err(path))?;
    let all = series.iter().flat_map(|s| s.points.iter().copied());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if diagonal {
        (x0, y0) = (x0.min(y0).min(1.0), x0.min(y0).min(1.0));
    }
    let pad = |a: f64, b: f64| {
        let d = (b - a).abs().max(1e-9) * 0.08;
        (a - d, b + d)
    };
    let ((x0, x1), (y0, y1)) = (pad(x0, x1), pad(y0, y1));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err(path))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .draw()
        .map_err(err(path))?;
    if diagonal {
        let grey = RGBColor(150, 150, 150);
        let (lo, hi) = (x0.max(y0), x1.min(y1));
        chart
            .draw_series(DashedLineSeries::new(
                vec![(lo, lo), (hi, hi)],
                6,
                4,
                grey.stroke_width(1),
            ))
            .map_err(err(path))?
            .label("weights fall as much as energy (y = x)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
    }
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
            .map_err(err(path))?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(err(path))?;
    }
    let at = if diagonal {
        SeriesLabelPosition::UpperLeft
    } else {
        SeriesLabelPosition::UpperRight
    };
    draw_legend_at(&mut chart, at).map_err(err(path))?;
    root.present().map_err(err(path))?;
    Ok(())
}
