//! The charts of `reprise compare`: `throughput.svg`, grouped bars (one group per
//! setting, one bar per workload, min-max whiskers, each workload's baseline a dashed
//! line); and for a sweep over workers or a parameter, `sweep.svg`, a line per workload
//! and setting along that axis. Legends sit beside the plot, never over a bar or a line.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::compare::Summary;

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Width of the legend column, in pixels.
const LEGEND_WIDTH: u32 = 230;

/// Draws the legend (a swatch and a name per entry, then notes) in its own area.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
    notes: &[&str],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let style = ("sans-serif", 13).into_font();
    let mut y = 40;
    for (name, color) in entries {
        area.draw(&Rectangle::new([(8, y - 5), (20, y + 5)], color.filled()))
            .map_err(|e| anyhow::anyhow!("drawing the legend: {e}"))?;
        area.draw(&Text::new(name.clone(), (26, y - 7), style.clone()))
            .map_err(|e| anyhow::anyhow!("drawing the legend: {e}"))?;
        y += 20;
    }
    for note in notes {
        area.draw(&Text::new(note.to_string(), (8, y - 7), style.clone()))
            .map_err(|e| anyhow::anyhow!("drawing the legend: {e}"))?;
        y += 18;
    }
    Ok(())
}

/// A min-max whisker at `x`, with caps `half` wide.
fn whisker(x: f64, min: f64, max: f64, half: f64) -> Vec<PathElement<(f64, f64)>> {
    let style = BLACK.stroke_width(1);
    vec![
        PathElement::new(vec![(x, min), (x, max)], style),
        PathElement::new(vec![(x - half, min), (x + half, min)], style),
        PathElement::new(vec![(x - half, max), (x + half, max)], style),
    ]
}

pub fn throughput_svg(summary: &[Summary]) -> anyhow::Result<String> {
    let engine: Vec<&Summary> = summary
        .iter()
        .filter(|s| s.config.kind == "engine")
        .collect();
    let mut workloads: Vec<String> = engine.iter().map(|s| s.config.workload.clone()).collect();
    workloads.dedup();
    let mut settings: Vec<String> = engine.iter().map(|s| s.config.setting()).collect();
    settings.sort();
    settings.dedup();
    let top = summary
        .iter()
        .map(|s| s.max_events_per_sec.max(s.median_events_per_sec))
        .fold(0.0f64, f64::max)
        / 1e6
        * 1.1
        + 1e-3;

    let mut svg = String::new();
    {
        let plot_width = (160 + 110 * settings.len().max(1)) as u32;
        let root = SVGBackend::with_string(&mut svg, (plot_width.max(480) + LEGEND_WIDTH, 420))
            .into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, side) = root.split_horizontally(plot_width.max(480));
        let groups = settings.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                "events/s by configuration (median, min-max)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..groups, 0.0..top)?;
        let labels = settings.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(settings.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 0.26 {
                    labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("million events/s")
            .draw()?;
        let bar = 0.8 / workloads.len().max(1) as f64;
        let mut entries = Vec::new();
        for (w, workload) in workloads.iter().enumerate() {
            let color = PALETTE[w % PALETTE.len()];
            entries.push((workload.clone(), color));
            for s in engine.iter().filter(|s| &s.config.workload == workload) {
                let Some(g) = settings.iter().position(|x| *x == s.config.setting()) else {
                    continue;
                };
                let x0 = g as f64 + 0.1 + w as f64 * bar;
                let x1 = x0 + bar * 0.9;
                chart.draw_series([Rectangle::new(
                    [(x0, 0.0), (x1, s.median_events_per_sec / 1e6)],
                    color.filled(),
                )])?;
                if s.max_events_per_sec > 0.0 {
                    chart.draw_series(whisker(
                        (x0 + x1) / 2.0,
                        s.min_events_per_sec / 1e6,
                        s.max_events_per_sec / 1e6,
                        bar * 0.15,
                    ))?;
                }
            }
            if let Some(baseline) = summary
                .iter()
                .find(|s| s.config.kind == "baseline" && &s.config.workload == workload)
            {
                let y = baseline.median_events_per_sec / 1e6;
                let dashes = (0..(groups * 20.0) as usize).step_by(2).map(move |i| {
                    PathElement::new(
                        vec![(i as f64 / 20.0, y), ((i + 1) as f64 / 20.0, y)],
                        color.stroke_width(2),
                    )
                });
                chart.draw_series(dashes)?;
            }
        }
        legend(
            &side,
            &entries,
            &["dashed: the baseline", "whiskers: min-max of the runs"],
        )?;
        root.present()?;
    }
    Ok(svg)
}

/// The swept axis of a comparison: its name and, per configuration, its value there.
fn sweep_axis(engine: &[&Summary]) -> Option<(String, Vec<f64>)> {
    // A swept parameter first (the first one), else the worker count.
    let first = engine.first()?;
    for (i, param) in first.config.params.iter().enumerate() {
        let name = param.split_once('=')?.0.to_string();
        let values: Option<Vec<f64>> = engine
            .iter()
            .map(|s| s.config.params.get(i)?.split_once('=')?.1.parse().ok())
            .collect();
        if let Some(values) = values {
            return Some((name, values));
        }
    }
    let workers: Vec<f64> = engine.iter().map(|s| s.config.workers as f64).collect();
    let mut distinct = workers.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    (distinct.len() > 1).then(|| ("workers".to_string(), workers))
}

/// The sweep chart, when the comparison sweeps workers or a numeric parameter.
pub fn sweep_svg(summary: &[Summary]) -> anyhow::Result<Option<String>> {
    let engine: Vec<&Summary> = summary
        .iter()
        .filter(|s| s.config.kind == "engine" && s.median_events_per_sec > 0.0)
        .collect();
    let Some((axis, values)) = sweep_axis(&engine) else {
        return Ok(None);
    };
    // One line per everything but the axis.
    let mut lines: BTreeMap<String, Vec<(f64, &Summary)>> = BTreeMap::new();
    for (s, x) in engine.iter().zip(&values) {
        let mut rest = s.config.clone();
        if axis == "workers" {
            rest.workers = 0;
        } else {
            rest.params.retain(|p| !p.starts_with(&format!("{axis}=")));
        }
        let name = format!("{} {}", rest.workload, rest.setting().replace("0w ", ""));
        lines.entry(name).or_default().push((*x, s));
    }
    if lines.values().all(|points| points.len() < 2) {
        return Ok(None);
    }
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    let margin = ((high - low) * 0.05).max(0.5);
    let top = engine
        .iter()
        .map(|s| s.max_events_per_sec.max(s.median_events_per_sec))
        .fold(0.0f64, f64::max)
        / 1e6
        * 1.1;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640 + LEGEND_WIDTH, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, side) = root.split_horizontally(640);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                format!("events/s by {axis} (median, min-max)"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((low - margin)..(high + margin), 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc(axis.clone())
            .y_desc("million events/s")
            .draw()?;
        let mut entries = Vec::new();
        for (i, (name, mut points)) in lines.into_iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.draw_series(LineSeries::new(
                points
                    .iter()
                    .map(|(x, s)| (*x, s.median_events_per_sec / 1e6)),
                color.stroke_width(2),
            ))?;
            chart.draw_series(points.iter().map(|(x, s)| {
                Circle::new((*x, s.median_events_per_sec / 1e6), 3, color.filled())
            }))?;
            for (x, s) in &points {
                chart.draw_series(whisker(
                    *x,
                    s.min_events_per_sec / 1e6,
                    s.max_events_per_sec / 1e6,
                    margin * 0.2,
                ))?;
            }
            entries.push((name, color));
        }
        legend(&side, &entries, &["whiskers: min-max of the runs"])?;
        root.present()?;
    }
    Ok(Some(svg))
}
