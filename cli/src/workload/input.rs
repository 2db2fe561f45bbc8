//! Where a run's events come from, and how each kind of input becomes the engine's source.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use reprise_datasets::Generator;
use reprise_engine::io::{FileFormat, FormatError, decode_record, read_checked_records};
use reprise_engine::{
    Clock, EngineError, Epoch, Generate, Job, Records, Source, SourceError, check_event_time,
};
use reprise_kafka::{Bounds, KafkaUrl, Order};

use super::{Definition, WorkloadInfo};

/// Where a run's events come from.
#[derive(Clone, Debug)]
pub enum Input {
    /// The workload's generator, with this many events and this seed.
    Generated {
        /// Number of events.
        events: u64,
        /// Dataset seed.
        seed: u64,
    },
    /// A dataset file (CSV or JSON lines, by extension), or `None` for standard input.
    File {
        /// The file; `None` reads standard input.
        path: Option<PathBuf>,
        /// Its format.
        format: FileFormat,
    },
    /// A Kafka topic, one record per message in `format`.
    Kafka {
        /// The topic.
        url: KafkaUrl,
        /// The messages' format.
        format: FileFormat,
        /// When the read ends.
        bounds: Bounds,
    },
    /// The complete epochs of an input log, up to `until` (inclusive).
    Log {
        /// The log.
        path: PathBuf,
        /// The last epoch to replay.
        until: Option<Epoch>,
    },
}

impl Input {
    /// A short description for reports.
    pub fn describe(&self) -> String {
        match self {
            Input::Generated { events, seed } => {
                format!("generated ({events} events, seed {seed})")
            }
            Input::File {
                path: Some(path), ..
            } => path.display().to_string(),
            Input::File { path: None, .. } => "<stdin>".to_string(),
            Input::Log { path, .. } => format!("replay of {}", path.display()),
            Input::Kafka { url, .. } => url.to_string(),
        }
    }

    /// The engine's source of `D`'s events for this input, under `clock`.
    pub(crate) fn source<D: Definition>(
        &self,
        params: &reprise_engine::Params,
        clock: Clock,
    ) -> Result<Source<D::Event>, EngineError> {
        Ok(match self {
            Input::Generated { events, seed } => {
                let data = D::dataset(params, *seed)?;
                Source::Generated {
                    events: *events,
                    generate: Generate::new(move |i| data.generate(i)),
                }
            }
            Input::File { path, format } => {
                check_format(&D::INFO, *format)?;
                let (name, records) = open_records::<D>(path, *format)?;
                Source::Read { name, records }
            }
            Input::Kafka {
                url,
                format,
                bounds,
            } => {
                check_format(&D::INFO, *format)?;
                let format = *format;
                // The event clock needs the partitions merged in time order.
                let order = match clock {
                    Clock::Event => Order::EventTime,
                    Clock::Processing => Order::Arrival,
                };
                let parse = Box::new(move |bytes: &[u8]| {
                    let event = decode_record(bytes, format)?;
                    check_event_time(D::event_time_ms(&event))?;
                    Ok(event)
                });
                let records = reprise_kafka::records(url, order, *bounds, parse, D::event_time_ms)?;
                Source::Read {
                    name: url.to_string(),
                    records,
                }
            }
            Input::Log { path, until } => {
                let epochs = reprise_engine::log::epoch_blocks(path, *until)?;
                Source::Replay {
                    name: path.display().to_string(),
                    epochs: Box::new(epochs),
                    generate: log_generator::<D>(path)?,
                }
            }
        })
    }
}

/// The generator that made a log's input, if it was generated: a log of generated input
/// recorded by index is replayed by making its events again (and checking them).
pub(crate) fn log_generator<D: Definition>(
    path: &Path,
) -> Result<Option<Generate<D::Event>>, EngineError> {
    let header = reprise_engine::log::read_header(path)?;
    let Some(seed) = header.seed else {
        return Ok(None);
    };
    let overrides: Vec<String> = header
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let data = D::dataset(&D::INFO.parse_params(&overrides)?, seed)?;
    Ok(Some(Generate::new(move |i| data.generate(i))))
}

/// Refuses CSV for a workload whose events are nested.
pub(crate) fn check_format(info: &WorkloadInfo, format: FileFormat) -> Result<(), EngineError> {
    if format == FileFormat::Csv && !info.csv {
        return Err(EngineError::config(format!(
            "{} events are nested records: use JSON lines (a .jsonl or .json file, or --input-format json), not CSV",
            info.dataset
        )));
    }
    Ok(())
}

/// Opens a dataset file or standard input, and reads its records lazily, each event time
/// checked.
pub(crate) fn open_records<E: Job>(
    path: &Option<PathBuf>,
    format: FileFormat,
) -> Result<(String, Records<E::Event>), EngineError> {
    let (name, reader): (String, Box<dyn Read + Send>) = match path {
        Some(path) => {
            let file = File::open(path).map_err(|e| {
                EngineError::io(format!("opening input file {}", path.display()), e)
            })?;
            (path.display().to_string(), Box::new(file))
        }
        None => ("<stdin>".to_string(), Box::new(std::io::stdin())),
    };
    let check = |event: &E::Event| check_event_time(E::event_time_ms(event)).map(|_| ());
    let records = read_checked_records(reader, format, check).map(|r| {
        r.map_err(|e| match e {
            FormatError::Malformed { line, message } => SourceError::line(line, message),
            FormatError::Io(e) => SourceError {
                at: "reading".into(),
                message: format!("read failed: {e}"),
            },
        })
    });
    Ok((name, Box::new(records)))
}
