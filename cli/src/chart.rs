//! The throughput chart of `reprise compare`: grouped bars, one group per setting, one
//! bar per workload, each workload's baseline a dashed line.

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
        .map(|s| s.median_events_per_sec)
        .fold(0.0f64, f64::max)
        / 1e6
        * 1.15
        + 1e-3;

    let mut svg = String::new();
    {
        let width = (160 + 110 * settings.len().max(1)) as u32;
        let root = SVGBackend::with_string(&mut svg, (width.max(640), 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let groups = settings.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "events/s by configuration (median; dashed: baseline)",
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
        for (w, workload) in workloads.iter().enumerate() {
            let color = PALETTE[w % PALETTE.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = engine
                .iter()
                .filter(|s| &s.config.workload == workload)
                .filter_map(|s| {
                    let g = settings.iter().position(|x| *x == s.config.setting())? as f64;
                    let x0 = g + 0.1 + w as f64 * bar;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + bar * 0.9, s.median_events_per_sec / 1e6)],
                        color.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(workload.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
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
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}
