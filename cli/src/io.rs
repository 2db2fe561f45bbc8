//! The one place where an address the user writes (a file path, `-` for the standard
//! stream, `kafka://HOST:PORT/TOPIC`) becomes an input, an output or a dataset target, with
//! its format: transport by address, format by flag or file name.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use reprise_engine::io::FileFormat;
use reprise_engine::output::{Emit, MessageSink, MessageSinkFactory, OutputSpec, OutputTarget};
use reprise_kafka::{Bounds, KafkaUrl, TopicWriter};

use crate::args::{DataFormat, EmitArg};
use crate::workload::{Input, Workload, WorkloadInfo};

/// Where records are read from or written to.
#[derive(Clone, Debug)]
pub(crate) enum Address {
    /// Standard input (or output): `-`.
    Stdio,
    /// A Kafka topic.
    Kafka(KafkaUrl),
    /// A file.
    File(PathBuf),
}

impl Address {
    /// The address `path` names.
    pub(crate) fn parse(path: &Path) -> anyhow::Result<Self> {
        let text = path.to_string_lossy();
        Ok(if path == Path::new("-") {
            Address::Stdio
        } else if KafkaUrl::is_kafka(&text) {
            Address::Kafka(KafkaUrl::parse(&text)?)
        } else {
            Address::File(path.to_path_buf())
        })
    }

    /// The format of the records there: as asked, else by a file's extension, else (a
    /// stream or a topic) CSV where the workload's events fit it, JSON lines otherwise.
    pub(crate) fn format(
        &self,
        asked: Option<DataFormat>,
        csv: bool,
    ) -> anyhow::Result<FileFormat> {
        Ok(match (asked, self) {
            (Some(DataFormat::Csv), _) => FileFormat::Csv,
            (Some(DataFormat::Json), _) => FileFormat::JsonLines,
            (None, Address::File(path)) => FileFormat::of_path(path)?,
            (None, _) if csv => FileFormat::Csv,
            (None, _) => FileFormat::JsonLines,
        })
    }
}

/// A run's input: `path` read as an address, or the generator when there is none.
pub(crate) fn input(
    path: Option<&Path>,
    asked: Option<DataFormat>,
    info: &WorkloadInfo,
    generated: Input,
    bounds: Bounds,
) -> anyhow::Result<Input> {
    let Some(path) = path else {
        return Ok(generated);
    };
    let address = Address::parse(path)?;
    if let Address::File(path) = &address
        && path.extension().is_some_and(|e| e == "rlog")
    {
        bail!(
            "{} is an input log, not a dataset: replay it with `reprise replay {}`",
            path.display(),
            path.display()
        );
    }
    let format = address.format(asked, info.csv)?;
    Ok(match address {
        Address::Stdio => Input::File { path: None, format },
        Address::Kafka(url) => Input::Kafka {
            url,
            format,
            bounds,
        },
        Address::File(path) => Input::File {
            path: Some(path),
            format,
        },
    })
}

/// The `--output` settings: a file, a directory (a path ending in `/`, or an existing
/// directory) partitioned by `partition_by` (else by the workload's own partition
/// columns), or a topic.
pub(crate) fn output_spec(
    path: &Option<PathBuf>,
    emit: EmitArg,
    workload: &dyn Workload,
    partition_by: Option<&[String]>,
) -> anyhow::Result<Option<OutputSpec>> {
    let info = workload.info();
    let Some(path) = path else {
        if partition_by.is_some() {
            bail!("--partition-by splits a directory output: give --output DIR/");
        }
        return Ok(None);
    };
    let is_directory = path.to_string_lossy().ends_with('/') || path.is_dir();
    if emit == EmitArg::Final && !info.windowed {
        bail!(
            "--emit final writes one row per window at its close, and `{}` has no windows: use --emit updates (or both)",
            info.name
        );
    }
    let emit = match emit {
        EmitArg::Updates => Emit::Updates,
        EmitArg::Final => Emit::Final,
        EmitArg::Both => Emit::Both,
    };
    let target = match Address::parse(path)? {
        Address::Stdio => bail!(
            "--output - is not supported: the report goes to standard output; give a file (.csv, .jsonl) or kafka://HOST:PORT/TOPIC"
        ),
        Address::Kafka(url) => {
            let name = url.to_string();
            let open: MessageSinkFactory =
                Arc::new(move || Ok(Box::new(TopicWriter::connect(&url)?) as Box<dyn MessageSink>));
            OutputTarget::Messages { name, open }
        }
        Address::File(path) if is_directory => OutputTarget::Directory {
            path,
            format: FileFormat::Csv,
            partition_by: match partition_by {
                Some(columns) => columns.to_vec(),
                None => workload
                    .partition_by()
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            },
        },
        Address::File(path) => {
            if partition_by.is_some() {
                bail!(
                    "--partition-by splits a directory output: end the --output path with / (got {})",
                    path.display()
                );
            }
            let format = FileFormat::of_path(&path)?;
            OutputTarget::File { path, format }
        }
    };
    Ok(Some(OutputSpec { target, emit }))
}

/// How long a Kafka input may stay idle before the run ends, and how many records it reads.
pub(crate) fn kafka_bounds(events: Option<u64>, until_idle_ms: Option<u64>) -> Bounds {
    Bounds {
        records: events,
        until_idle: until_idle_ms.map(Duration::from_millis),
    }
}
