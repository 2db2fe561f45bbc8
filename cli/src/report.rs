//! The run report, as text or one JSON object.

use std::fmt::Write as _;

use reprise_engine::RunResult;

use crate::check::{Outcome, RowDiff};
use reprise_engine::digest::Divergence;
use reprise_engine::preview::{Preview, PreviewKind};
use serde::Serialize;

/// Everything `reprise run` reports.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub workload: String,
    pub params: std::collections::BTreeMap<String, String>,
    pub input: String,
    pub workers: usize,
    pub processes: usize,
    pub epoch_ms: u64,
    pub events: u64,
    pub epochs: u64,
    pub elapsed_s: f64,
    pub events_per_sec: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub peak_memory_bytes: Option<u64>,
    pub late_events: u64,
    pub output_epochs: usize,
    pub output_updates: u64,
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<Preview>,
}

#[derive(Debug, Serialize)]
pub struct RecordReport {
    pub path: String,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct OutputReport {
    pub path: String,
    pub update_rows: u64,
    pub final_rows: u64,
    /// Files written: 1, or a directory's partitions.
    pub files: u64,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// `baseline` or `workers=1,3`.
    pub against: String,
    pub matches: bool,
    pub epochs_compared: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_events_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_divergence: Option<Divergence>,
    /// The side that differs from the first (`engine`, `3 workers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub differing: Option<String>,
    /// The rows of the first differing epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowDiff>,
}

impl CheckReport {
    /// The report of a comparison against `against`.
    pub(crate) fn of(against: String, outcome: Outcome) -> Self {
        let (differing, first_divergence) = outcome.divergence.unzip();
        Self {
            against,
            matches: first_divergence.is_none(),
            epochs_compared: outcome.epochs_compared,
            baseline_events_per_sec: None,
            baseline_digest: None,
            first_divergence,
            differing,
            rows: outcome.rows,
        }
    }

    /// One line: what was compared and whether it matched.
    pub(crate) fn verdict(&self) -> String {
        match (&self.first_divergence, &self.differing) {
            (None, _) => {
                let mut verdict =
                    format!("{} matches ({} epochs)", self.against, self.epochs_compared);
                if let Some(rate) = self.baseline_events_per_sec {
                    verdict += &format!("; baseline {}", human_rate(rate));
                }
                verdict
            }
            (Some(d), Some(side)) => format!("{} DIFFERS: the {side} at {d}", self.against),
            (Some(d), None) => format!("{} DIFFERS at {d}", self.against),
        }
    }
}

impl RunReport {
    pub fn new(
        workload: &str,
        params: &reprise_engine::Params,
        input: String,
        workers: usize,
        epoch_ms: u64,
        result: &RunResult,
    ) -> Self {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        Self {
            workload: workload.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            input,
            workers,
            processes: 1,
            epoch_ms,
            events: result.events,
            epochs: result.epochs(),
            elapsed_s: result.elapsed.as_secs_f64(),
            events_per_sec: result.events_per_sec(),
            latency_p50_ms: ms(result.latency.p50),
            latency_p99_ms: ms(result.latency.p99),
            peak_memory_bytes: result.peak_memory_bytes,
            late_events: result.late_events,
            output_epochs: result.digests.len(),
            output_updates: result.digests.total_updates(),
            digest: result.digests.run_digest().to_string(),
            output: None,
            check: None,
            record: None,
            preview: result.preview.clone(),
        }
    }

    /// The report of a baseline run (`--baseline-only`).
    pub fn of_baseline(
        workload: &str,
        params: &reprise_engine::Params,
        input: String,
        epoch_ms: u64,
        baseline: &crate::workload::BaselineResult,
    ) -> Self {
        Self {
            workload: workload.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            input,
            workers: 1,
            processes: 1,
            epoch_ms,
            events: baseline.events,
            epochs: baseline.digests.len() as u64,
            elapsed_s: baseline.elapsed.as_secs_f64(),
            events_per_sec: baseline.events_per_sec(),
            latency_p50_ms: 0.0,
            latency_p99_ms: 0.0,
            peak_memory_bytes: reprise_engine::metrics::peak_memory_bytes(),
            late_events: 0,
            output_epochs: baseline.digests.len(),
            output_updates: baseline.digests.total_updates(),
            digest: baseline.digests.run_digest().to_string(),
            output: None,
            check: None,
            record: None,
            preview: None,
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let mut line = |k: &str, v: String| {
            let _ = writeln!(s, "{k:<15} {v}");
        };
        line("workload", self.workload.clone());
        line("input", self.input.clone());
        if self.processes > 1 {
            line(
                "workers",
                format!(
                    "{} ({} processes of {})",
                    self.workers,
                    self.processes,
                    self.workers / self.processes
                ),
            );
        } else {
            line("workers", self.workers.to_string());
        }
        line("events", self.events.to_string());
        line("epochs", format!("{} of {} ms", self.epochs, self.epoch_ms));
        line("elapsed", format!("{:.3} s", self.elapsed_s));
        line("events/s", human_rate(self.events_per_sec));
        line(
            "epoch latency",
            format!(
                "p50 {:.1} ms, p99 {:.1} ms",
                self.latency_p50_ms, self.latency_p99_ms
            ),
        );
        line(
            "peak memory",
            self.peak_memory_bytes.map_or("unknown".into(), |b| {
                format!("{:.1} MiB", b as f64 / 1048576.0)
            }),
        );
        if self.late_events > 0 {
            line(
                "late events",
                format!(
                    "{} dropped (arrived after their window closed)",
                    self.late_events
                ),
            );
        }
        line(
            "output",
            format!(
                "{} updates in {} epochs",
                self.output_updates, self.output_epochs
            ),
        );
        if let Some(output) = &self.output {
            line(
                "output file",
                format!(
                    "{} ({} update rows, {} final rows{})",
                    output.path,
                    output.update_rows,
                    output.final_rows,
                    if output.files > 1 {
                        format!(", in {} files", output.files)
                    } else {
                        String::new()
                    }
                ),
            );
        }
        if let Some(record) = &self.record {
            let per_event = record.bytes as f64 / self.events.max(1) as f64;
            line(
                "input log",
                format!(
                    "{} ({}, {} bytes/event)",
                    record.path,
                    human_bytes(record.bytes),
                    bytes_per_event(per_event)
                ),
            );
        }
        line("digest", self.digest.clone());
        if let Some(check) = &self.check {
            line("check", check.verdict());
        }
        if let Some(rows) = self.check.as_ref().and_then(|c| c.rows.as_ref()) {
            s += &rows.to_text();
        }
        if let Some(preview) = &self.preview {
            s += &preview_text(preview);
        }
        s
    }
}

/// The widest a preview cell is shown.
const PREVIEW_CELL: usize = 24;

/// A preview of the results as a small table under a line saying what the rows are.
fn preview_text(preview: &Preview) -> String {
    let (what, noun) = match preview.kind {
        PreviewKind::Final => ("the last windows to close", "final row"),
        PreviewKind::Update => ("the last new rows", "row"),
    };
    let count = preview.rows_at_epoch;
    let shown = if preview.rows.len() as u64 == count {
        String::new()
    } else {
        format!(", the first {}", preview.rows.len())
    };
    let plural = if count == 1 { "" } else { "s" };
    let mut s = format!(
        "{:<15} {what}, epoch {}: {count} {noun}{plural}{shown}\n",
        "results", preview.epoch
    );
    let cell = |text: &str| -> String {
        if text.chars().count() > PREVIEW_CELL {
            text.chars().take(PREVIEW_CELL - 3).collect::<String>() + "..."
        } else {
            text.to_string()
        }
    };
    let table: Vec<Vec<String>> = std::iter::once(&preview.columns)
        .chain(&preview.rows)
        .map(|row| row.iter().map(|v| cell(v)).collect())
        .collect();
    let widths: Vec<usize> = (0..preview.columns.len())
        .map(|c| {
            table
                .iter()
                .filter_map(|row| row.get(c).map(|v| v.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| format!("{v:<width$}", width = widths.get(c).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(s, "{:<15} {}", "", cells.join("  ").trim_end());
    }
    s
}

/// `1 event`, `3 events`.
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `12.3M events/s` style.
pub fn human_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2}M events/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1}K events/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} events/s")
    }
}

/// `12.3 MiB` style.
pub fn human_bytes(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / 1048576.0)
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// Log bytes per event, to two significant digits below 1 (a log of generated input holds
/// a few bytes per thousand events): `61.2`, `0.0024`.
pub fn bytes_per_event(bytes: f64) -> String {
    if bytes >= 1.0 || bytes <= 0.0 {
        return format!("{bytes:.1}");
    }
    let decimals = (-bytes.log10().floor()) as usize + 1;
    format!("{bytes:.decimals$}")
}
