//! The output file: every output update `(epoch, record, diff)`, and for windowed jobs
//! one final row per window and key at the window's close, as CSV or JSON lines.
//!
//! Rows are written in epoch order and sorted within an epoch, so the file is
//! byte-identical for any number of workers.
//!
//! Columns: `epoch`, `kind` (`update` or `final`), the record's fields, `diff` (`+n`/`-n`
//! for updates; always 1 for a final row).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use serde::Serialize;

use crate::sink::SinkMessage;
use crate::{EngineError, Epoch, Record};

/// File format of an output or dataset file, chosen by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Comma-separated values with a header line (`.csv`).
    Csv,
    /// One JSON object per line (`.json`, `.jsonl`, `.ndjson`).
    JsonLines,
}

impl FileFormat {
    /// The format of `path`, by extension.
    pub fn of_path(path: &Path) -> Result<Self, EngineError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(FileFormat::Csv),
            Some("json" | "jsonl" | "ndjson") => Ok(FileFormat::JsonLines),
            _ => Err(EngineError::config(format!(
                "cannot tell the format of `{}`: use a .csv, .json, .jsonl or .ndjson file name",
                path.display()
            ))),
        }
    }
}

/// Which rows the output file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Emit {
    /// Every change of the output collection (the updating view).
    Updates,
    /// One row per window and key when its window closes (Flink's append-only view).
    Final,
    /// Both, interleaved in epoch order.
    #[default]
    Both,
}

/// Where and how to write the output.
#[derive(Clone, Debug)]
pub struct OutputSpec {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: FileFormat,
    /// Which rows.
    pub emit: Emit,
}

/// What the writer wrote.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct OutputStats {
    /// Update rows written.
    pub update_rows: u64,
    /// Final rows written.
    pub final_rows: u64,
}

/// Decides whether a retraction at an epoch is a window's final value.
pub type ClosingEpoch<R> = Arc<dyn Fn(&R) -> Option<Epoch> + Send + Sync>;

#[derive(Serialize)]
struct Row<'a, R> {
    epoch: Epoch,
    kind: &'static str,
    #[serde(flatten)]
    record: &'a R,
    diff: i64,
}

/// Receives the sinks' messages and writes rows once every worker has finished an epoch.
pub(crate) fn write_output<R: Record>(
    spec: OutputSpec,
    workers: usize,
    closing: ClosingEpoch<R>,
    messages: Receiver<SinkMessage<R>>,
) -> Result<OutputStats, EngineError> {
    let mut writer = OutputFile::create(spec)?;
    let mut frontiers: Vec<Epoch> = vec![0; workers];
    let mut buffered: BTreeMap<Epoch, Vec<(R, i64)>> = BTreeMap::new();
    for message in messages {
        match message {
            SinkMessage::Rows { epoch, rows } => buffered.entry(epoch).or_default().extend(rows),
            SinkMessage::Frontier { worker, frontier } => {
                frontiers[worker] = frontier.unwrap_or(Epoch::MAX);
                let complete_before = frontiers.iter().copied().min().unwrap_or(Epoch::MAX);
                while let Some(entry) = buffered.first_entry() {
                    if *entry.key() >= complete_before {
                        break;
                    }
                    let (epoch, rows) = entry.remove_entry();
                    writer.write_epoch(epoch, rows, &*closing)?;
                }
            }
        }
    }
    // Every sender is gone. A complete run has written everything; a failed one leaves
    // its incomplete epochs out.
    writer.finish()
}

enum Out {
    Csv(Box<csv::Writer<File>>),
    Json(BufWriter<File>),
}

/// An output file being written epoch by epoch (by the engine's writer thread, or by a
/// baseline).
pub struct OutputFile {
    spec: OutputSpec,
    out: Out,
    header_written: bool,
    stats: OutputStats,
}

impl std::fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputFile({})", self.spec.path.display())
    }
}

impl OutputFile {
    /// Creates (or truncates) the file.
    pub fn create(spec: OutputSpec) -> Result<Self, EngineError> {
        let file = File::create(&spec.path).map_err(|e| {
            EngineError::io(format!("creating output file {}", spec.path.display()), e)
        })?;
        let out = match spec.format {
            FileFormat::Csv => Out::Csv(Box::new(
                csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(file),
            )),
            FileFormat::JsonLines => Out::Json(BufWriter::new(file)),
        };
        Ok(OutputFile {
            spec,
            out,
            header_written: false,
            stats: OutputStats::default(),
        })
    }

    /// Writes one complete epoch's consolidated updates (epochs in increasing order); a
    /// retraction at `closing(record)` is also a final row.
    pub fn write_epoch<R: Record>(
        &mut self,
        epoch: Epoch,
        mut rows: Vec<(R, i64)>,
        closing: &dyn Fn(&R) -> Option<Epoch>,
    ) -> Result<(), EngineError> {
        rows.sort_unstable();
        for (record, diff) in &rows {
            let is_final = *diff < 0 && closing(record) == Some(epoch);
            if self.spec.emit != Emit::Final {
                self.write_row(&Row {
                    epoch,
                    kind: "update",
                    record,
                    diff: *diff,
                })?;
                self.stats.update_rows += 1;
            }
            if is_final && self.spec.emit != Emit::Updates {
                self.write_row(&Row {
                    epoch,
                    kind: "final",
                    record,
                    diff: 1,
                })?;
                self.stats.final_rows += 1;
            }
        }
        Ok(())
    }

    fn write_row<R: Record>(&mut self, row: &Row<'_, R>) -> Result<(), EngineError> {
        let result = match &mut self.out {
            Out::Json(out) => serde_json::to_writer(&mut *out, row)
                .map_err(std::io::Error::other)
                .and_then(|()| out.write_all(b"\n")),
            Out::Csv(out) => {
                if !self.header_written {
                    self.header_written = true;
                    let header = csv_header(row.record);
                    let fields = ["epoch", "kind"]
                        .into_iter()
                        .chain(header.split(','))
                        .chain(["diff"]);
                    if let Err(e) = out.write_record(fields) {
                        return Err(self.io_error(std::io::Error::other(e)));
                    }
                }
                out.serialize((row.epoch, row.kind, row.record, row.diff))
                    .map_err(std::io::Error::other)
            }
        };
        result.map_err(|e| self.io_error(e))
    }

    fn io_error(&self, e: std::io::Error) -> EngineError {
        EngineError::io(
            format!("writing output file {}", self.spec.path.display()),
            e,
        )
    }

    /// Flushes the file; returns what was written.
    pub fn finish(mut self) -> Result<OutputStats, EngineError> {
        let flushed = match &mut self.out {
            Out::Csv(out) => out.flush(),
            Out::Json(out) => out.flush(),
        };
        flushed.map_err(|e| self.io_error(e))?;
        Ok(self.stats)
    }
}

/// The CSV header of a record type, read off serde's field names.
pub fn csv_header<R: Serialize>(record: &R) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    match writer
        .serialize(record)
        .ok()
        .and_then(|()| writer.into_inner().ok())
    {
        Some(bytes) => String::from_utf8_lossy(&bytes)
            .lines()
            .next()
            .unwrap_or("record")
            .to_string(),
        None => "record".to_string(),
    }
}
