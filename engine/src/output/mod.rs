//! The output file: every output update `(epoch, record, diff)`, and for windowed jobs
//! one final row per window and key at the window's close, as CSV or JSON lines.
//!
//! Rows are written in epoch order and sorted within an epoch, so the file is
//! byte-identical for any number of workers.
//!
//! Columns: `epoch`, `kind` (`update` or `final`), the record's fields, `diff` (`+n`/`-n`
//! for updates; always 1 for a final row).
//!
//! A directory target is partitioned as Flink's filesystem sink is: one file per value of
//! the partition columns, `DIR/col=value/.../part-0.csv` (values escaped as Hive does), each
//! holding that partition's rows in the order the single file has them, so each file is
//! byte-identical for any number of workers too. Unlike Flink's, the files keep the
//! partition columns: each file reads on its own.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use serde::Serialize;

mod columns;
pub use columns::record_columns;

pub use crate::io::FileFormat;
use crate::sink::SinkMessage;
use crate::{EngineError, Epoch, Record};

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
    /// Where the rows go.
    pub target: OutputTarget,
    /// Which rows.
    pub emit: Emit,
}

impl OutputSpec {
    /// A file of `format`.
    pub fn file(path: impl Into<PathBuf>, format: FileFormat, emit: Emit) -> Self {
        Self {
            target: OutputTarget::File {
                path: path.into(),
                format,
            },
            emit,
        }
    }
}

/// Where output rows go.
#[derive(Clone)]
pub enum OutputTarget {
    /// A CSV or JSON-lines file.
    File {
        /// The file.
        path: PathBuf,
        /// Its format.
        format: FileFormat,
    },
    /// A directory of files, one per value of the partition columns.
    Directory {
        /// The directory: created, and refused if it holds anything already.
        path: PathBuf,
        /// The files' format.
        format: FileFormat,
        /// The record's columns whose values name the partitions (none: one file).
        partition_by: Vec<String>,
    },
    /// A message system (a Kafka topic): one JSON message per row, the same object as a
    /// JSON-lines row, keyed by the record's hash so that every update of a record goes to
    /// the same partition, in order.
    Messages {
        /// Its name, for reports and errors (`kafka://host:port/topic`).
        name: String,
        /// Connects; called once, by the output writer.
        open: MessageSinkFactory,
    },
}

impl std::fmt::Debug for OutputTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())
    }
}

impl OutputTarget {
    /// The file name or the message system's URL.
    pub fn name(&self) -> String {
        match self {
            OutputTarget::File { path, .. } => path.display().to_string(),
            OutputTarget::Directory { path, .. } => format!("{}/", path.display()),
            OutputTarget::Messages { name, .. } => name.clone(),
        }
    }
}

/// Receives output rows as messages, in epoch order, each epoch complete.
pub trait MessageSink: Send {
    /// Queues one message.
    fn send(&mut self, key: &[u8], payload: &[u8]) -> Result<(), EngineError>;
    /// Every message of `epoch` has been sent: deliver them before the next epoch's.
    fn epoch_done(&mut self, epoch: Epoch) -> Result<(), EngineError>;
    /// Delivers everything still queued.
    fn finish(self: Box<Self>) -> Result<(), EngineError>;
}

/// Opens a [`MessageSink`].
pub type MessageSinkFactory =
    Arc<dyn Fn() -> Result<Box<dyn MessageSink>, EngineError> + Send + Sync>;

/// What the writer wrote.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct OutputStats {
    /// Update rows written.
    pub update_rows: u64,
    /// Final rows written.
    pub final_rows: u64,
    /// Files written (1 for a file; the partitions of a directory; 0 for a topic).
    pub files: u64,
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
    let mut writer = OutputFile::create::<R>(spec)?;
    let mut frontiers: Vec<Epoch> = vec![0; workers];
    let mut buffered: BTreeMap<Epoch, Vec<(R, i64)>> = BTreeMap::new();
    for message in crate::run::polled(messages) {
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
    Partitioned(Box<Partitions>),
    /// The sink and a reusable message buffer.
    Messages(Box<dyn MessageSink>, Vec<u8>),
}

/// An output file being written epoch by epoch (by the engine's writer thread, or by a
/// baseline).
pub struct OutputFile {
    spec: OutputSpec,
    out: Out,
    stats: OutputStats,
}

impl std::fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutputFile({})", self.spec.target.name())
    }
}

impl OutputFile {
    /// Creates (or truncates) the file for records of type `R`; a CSV file starts with its
    /// header (`epoch,kind,` the record's columns `,diff`), even if no row follows.
    pub fn create<R: Record>(spec: OutputSpec) -> Result<Self, EngineError> {
        let out = match &spec.target {
            OutputTarget::File { path, format } => open_file::<R>(path, *format, false)?,
            OutputTarget::Directory {
                path,
                format,
                partition_by,
            } => Out::Partitioned(Box::new(Partitions::create::<R>(
                path,
                *format,
                partition_by,
            )?)),
            OutputTarget::Messages { open, .. } => Out::Messages(open()?, Vec::new()),
        };
        let files = u64::from(matches!(spec.target, OutputTarget::File { .. }));
        Ok(OutputFile {
            spec,
            out,
            stats: OutputStats {
                files,
                ..OutputStats::default()
            },
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
        if let Out::Messages(sink, _) = &mut self.out {
            sink.epoch_done(epoch)?;
        }
        Ok(())
    }

    fn write_row<R: Record>(&mut self, row: &Row<'_, R>) -> Result<(), EngineError> {
        let result = match &mut self.out {
            Out::Json(out) => write_json_row(out, row),
            Out::Partitioned(partitions) => return partitions.write_row(row, &mut self.stats),
            Out::Messages(sink, buffer) => {
                buffer.clear();
                if let Err(e) = serde_json::to_writer(&mut *buffer, row) {
                    return Err(self.io_error(std::io::Error::other(e)));
                }
                let key = format!("{:016x}", crate::digest::record_hash(row.record));
                return sink.send(key.as_bytes(), buffer);
            }
            Out::Csv(out) => write_csv_row(out, row),
        };
        result.map_err(|e| self.io_error(e))
    }

    fn io_error(&self, e: std::io::Error) -> EngineError {
        EngineError::io(format!("writing output to {}", self.spec.target.name()), e)
    }

    /// Flushes the file; returns what was written.
    pub fn finish(self) -> Result<OutputStats, EngineError> {
        let context = format!("writing output to {}", self.spec.target.name());
        let flushed = match self.out {
            Out::Csv(mut out) => out.flush(),
            Out::Json(mut out) => out.flush(),
            Out::Partitioned(mut partitions) => partitions.flush(),
            Out::Messages(sink, _) => return sink.finish().map(|()| self.stats),
        };
        flushed.map_err(|e| EngineError::io(context, e))?;
        Ok(self.stats)
    }
}

fn write_json_row<R: Record>(out: &mut impl Write, row: &Row<'_, R>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, row).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

fn write_csv_row<R: Record>(out: &mut csv::Writer<File>, row: &Row<'_, R>) -> std::io::Result<()> {
    out.serialize((row.epoch, row.kind, row.record, row.diff))
        .map_err(std::io::Error::other)
}

/// Opens an output file of `format` for records `R`: appended to when `append` (a
/// partition's file reopened), else created with its CSV header.
fn open_file<R: Record>(path: &Path, format: FileFormat, append: bool) -> Result<Out, EngineError> {
    let context = || format!("writing output to {}", path.display());
    let file = File::options()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| EngineError::io(format!("creating output file {}", path.display()), e))?;
    Ok(match format {
        FileFormat::Csv => {
            let mut out = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file);
            if !append {
                let columns = record_columns::<R>();
                let header = ["epoch", "kind"]
                    .into_iter()
                    .chain(columns.iter().map(String::as_str))
                    .chain(["diff"]);
                out.write_record(header)
                    .map_err(|e| EngineError::io(context(), std::io::Error::other(e)))?;
            }
            Out::Csv(Box::new(out))
        }
        FileFormat::JsonLines => Out::Json(BufWriter::new(file)),
    })
}

/// The files of a partitioned directory. At most [`Partitions::MAX_OPEN`] stay open; the
/// rest are flushed, closed, and appended to when their partition comes back.
struct Partitions {
    dir: PathBuf,
    format: FileFormat,
    partition_by: Vec<String>,
    open: BTreeMap<PathBuf, Out>,
    created: std::collections::BTreeSet<PathBuf>,
    /// Opens a partition's file (typed by the output's records, for the CSV header).
    create_file: fn(&Path, FileFormat, bool) -> Result<Out, EngineError>,
}

impl Partitions {
    const MAX_OPEN: usize = 256;

    fn create<R: Record>(
        dir: &Path,
        format: FileFormat,
        partition_by: &[String],
    ) -> Result<Self, EngineError> {
        let columns = record_columns::<R>();
        if let Some(unknown) = partition_by.iter().find(|c| !columns.contains(c)) {
            return Err(EngineError::config(format!(
                "cannot partition the output by `{unknown}`: the output's columns are {}",
                columns.join(", ")
            )));
        }
        let occupied = std::fs::read_dir(dir).map(|mut entries| entries.next().is_some());
        if matches!(occupied, Ok(true)) {
            return Err(EngineError::config(format!(
                "the output directory {} is not empty: give a new or empty one, so that no earlier run's partitions mix with this one's",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            EngineError::io(format!("creating output directory {}", dir.display()), e)
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            format,
            partition_by: partition_by.to_vec(),
            open: BTreeMap::new(),
            created: Default::default(),
            create_file: open_file::<R>,
        })
    }

    /// The file of `record`'s partition: `DIR/col=value/.../part-0.EXT`.
    fn path_of<R: Record>(&self, record: &R) -> Result<PathBuf, EngineError> {
        let mut path = self.dir.clone();
        if !self.partition_by.is_empty() {
            let value = serde_json::to_value(record)
                .map_err(|e| EngineError::config(format!("reading partition columns: {e}")))?;
            for column in &self.partition_by {
                let text = match &value[column.as_str()] {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                path.push(format!("{column}={}", escape_partition_value(&text)));
            }
        }
        path.push(match self.format {
            FileFormat::Csv => "part-0.csv",
            FileFormat::JsonLines => "part-0.jsonl",
        });
        Ok(path)
    }

    fn write_row<R: Record>(
        &mut self,
        row: &Row<'_, R>,
        stats: &mut OutputStats,
    ) -> Result<(), EngineError> {
        let path = self.path_of(row.record)?;
        if !self.open.contains_key(&path) {
            if self.open.len() >= Self::MAX_OPEN {
                self.flush().map_err(|e| {
                    EngineError::io(format!("writing output to {}", self.dir.display()), e)
                })?;
            }
            let append = !self.created.insert(path.clone());
            if !append {
                stats.files += 1;
                let parent = path.parent().expect("a partition file is in the directory");
                std::fs::create_dir_all(parent).map_err(|e| {
                    EngineError::io(format!("creating output directory {}", parent.display()), e)
                })?;
            }
            let out = (self.create_file)(&path, self.format, append)?;
            self.open.insert(path.clone(), out);
        }
        let result = match self.open.get_mut(&path).expect("opened above") {
            Out::Csv(out) => write_csv_row(out, row),
            Out::Json(out) => write_json_row(out, row),
            Out::Partitioned(_) | Out::Messages(..) => unreachable!("partitions are files"),
        };
        result.map_err(|e| EngineError::io(format!("writing output to {}", path.display()), e))
    }

    /// Flushes and closes every open file.
    fn flush(&mut self) -> std::io::Result<()> {
        for (_, out) in std::mem::take(&mut self.open) {
            match out {
                Out::Csv(mut out) => out.flush()?,
                Out::Json(mut out) => out.flush()?,
                Out::Partitioned(_) | Out::Messages(..) => {}
            }
        }
        Ok(())
    }
}

/// A partition value as a path segment: characters outside `[A-Za-z0-9._-]` (and a
/// leading dot) percent-encoded, as Hive and Flink escape partition paths.
fn escape_partition_value(value: &str) -> String {
    if value.is_empty() {
        return "__DEFAULT_PARTITION__".into();
    }
    let mut escaped = String::with_capacity(value.len());
    for (i, byte) in value.bytes().enumerate() {
        let plain =
            byte.is_ascii_alphanumeric() || b"_-".contains(&byte) || (byte == b'.' && i > 0);
        if plain {
            escaped.push(byte as char);
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header line of a CSV output of `R` records.
    fn header<R: Record>(rows: Vec<(R, i64)>) -> String {
        let path = std::env::temp_dir().join(format!(
            "reprise-header-{}-{}.csv",
            std::process::id(),
            std::any::type_name::<R>().len()
        ));
        let mut file =
            OutputFile::create::<R>(OutputSpec::file(&path, FileFormat::Csv, Emit::Updates))
                .unwrap();
        file.write_epoch(3, rows, &|_| None).unwrap();
        file.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        text.lines().next().unwrap().to_string()
    }

    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
    struct Count {
        window_start: u64,
        count: i64,
    }

    #[test]
    fn the_header_names_the_record_type_columns_not_the_first_row_values() {
        // Regression: the first row's values became the header of tuple records.
        assert_eq!(
            header(vec![((10u64, 7u64, 2i64), 1)]),
            "epoch,kind,c1,c2,c3,diff"
        );
        let count = Count {
            window_start: 0,
            count: 2,
        };
        assert_eq!(
            header(vec![(count, 1)]),
            "epoch,kind,window_start,count,diff"
        );
        // A file without rows still starts with its header.
        assert_eq!(
            header::<Count>(vec![]),
            "epoch,kind,window_start,count,diff"
        );
    }
}
