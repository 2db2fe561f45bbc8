//! The workload registry's interface, and the adapter that runs any [`Job`] as one.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reprise_datasets::Generator;
use reprise_datasets::format::{
    Format, FormatError, decode_record, encode_record, read_checked_records, write_records,
};
use reprise_engine::digest::{DigestBuilder, DigestLog, record_hash};
use reprise_engine::output::{FileFormat, OutputFile, OutputSpec, OutputStats};
use reprise_engine::{
    Clock, EngineError, Epoch, EpochConfig, EventClock, Job, NoBaseline, ParamSpec, Params,
    Progress, Records, RunConfig, RunResult, Source, SourceError, check_event_time, run,
};
use reprise_kafka::{Bounds, KafkaUrl, Order};
use serde::Serialize;

/// The range of a generator's event rate, in events per second of event time.
pub const RATE_RANGE: std::ops::RangeInclusive<u64> = 1..=1_000_000_000_000;
/// The range of a key count drawn with Zipf skew (its table takes 8 bytes a key).
pub const ZIPF_KEYS_RANGE: std::ops::RangeInclusive<u64> = 1..=100_000_000;
/// The range of a Zipf exponent.
pub const SKEW_RANGE: std::ops::RangeInclusive<f64> = 0.0..=10.0;

/// What `reprise list` shows about a workload.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct WorkloadInfo {
    /// Name on the command line.
    pub name: &'static str,
    /// One line: what it computes.
    pub summary: &'static str,
    /// Its parameters (job and dataset) with defaults.
    pub params: &'static [ParamSpec],
    /// The dataset it reads (`reprise gen` name).
    pub dataset: &'static str,
    /// The dataset file format: CSV header and JSON fields.
    pub input_format: &'static str,
    /// The output record's fields.
    pub output_format: &'static str,
    /// Default epoch length in milliseconds of event time.
    pub default_epoch_ms: u64,
    /// Whether its events fit CSV's flat rows (nested events need JSON lines).
    pub csv: bool,
    /// Whether its output is windowed: its output file can hold `final` rows.
    pub windowed: bool,
}

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
}

/// The result of a baseline run.
#[derive(Clone, Debug)]
pub struct BaselineResult {
    /// Per-epoch digests.
    pub digests: DigestLog,
    /// What was written to the output file, if one was asked for.
    pub output: Option<OutputStats>,
    /// Events consumed.
    pub events: u64,
    /// Wall-clock time, including generating or reading the input.
    pub elapsed: Duration,
}

impl BaselineResult {
    /// Events per second.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A runnable workload, behind a trait object so the registry can list them all.
pub trait Workload: Send + Sync {
    /// Name, summary, parameters and formats.
    fn info(&self) -> &'static WorkloadInfo;

    /// Runs the dataflow.
    fn run(
        &self,
        params: &Params,
        input: &Input,
        config: &RunConfig,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<RunResult, EngineError>;

    /// Runs the hand-written single-threaded baseline on the same input; with `output`,
    /// writes its output file as the engine would (same rows, same order).
    fn baseline(
        &self,
        params: &Params,
        input: &Input,
        epochs: &EpochConfig,
        output: Option<&OutputSpec>,
    ) -> Result<BaselineResult, EngineError>;

    /// Writes the generated dataset; returns the number of records written.
    fn generate(
        &self,
        params: &Params,
        events: u64,
        seed: u64,
        out: &mut dyn Write,
        format: FileFormat,
    ) -> Result<u64, EngineError>;

    /// Generates the dataset as messages: `send(index, payload)` once per record, in
    /// `format` (a JSON object, or a CSV line without header).
    fn generate_messages(
        &self,
        params: &Params,
        events: u64,
        seed: u64,
        format: FileFormat,
        send: &mut SendMessage<'_>,
    ) -> Result<(), EngineError>;
}

/// Sends message `index` with a payload (to a topic).
pub type SendMessage<'a> = dyn FnMut(u64, &[u8]) -> Result<(), EngineError> + 'a;

/// A [`Job`] with what the registry needs to construct and feed it.
pub trait Definition: Job + Sized {
    /// The dataset generator; [`NoGenerator`] for a job whose input is always brought
    /// (`run` then needs `--input`).
    type Data: Generator<Event = Self::Event>;
    /// Name, parameters and formats.
    const INFO: WorkloadInfo;
    /// The job, from validated parameters.
    fn from_params(params: &Params) -> Result<Self, EngineError>;
    /// The dataset generator, from validated parameters and a seed. Left out for a job
    /// without a generator: generated input is then refused with a clear error.
    fn dataset(_params: &Params, _seed: u64) -> Result<Self::Data, EngineError> {
        Err(EngineError::config(format!(
            "`{}` has no generator: give its input with --input FILE, --input - or --input kafka://HOST:PORT/TOPIC",
            Self::INFO.name
        )))
    }
}

/// The [`Definition::Data`] of a job without a generator.
pub struct NoGenerator<E>(std::marker::PhantomData<fn() -> E>);

impl<E> std::fmt::Debug for NoGenerator<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoGenerator")
    }
}

impl<E: 'static> Generator for NoGenerator<E> {
    type Event = E;
    fn generate(&self, _index: u64) -> E {
        // No value of this type exists: `Definition::dataset` refuses to make one.
        unreachable!("a job without a generator generates nothing")
    }
}

/// Registers a [`Definition`] as a [`Workload`].
#[derive(Debug)]
pub struct Registered<D>(std::marker::PhantomData<fn() -> D>);

impl<D> Registered<D> {
    /// The registry entry.
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<D> Default for Registered<D> {
    fn default() -> Self {
        Self::new()
    }
}

fn dataset_format(format: FileFormat) -> Format {
    match format {
        FileFormat::Csv => Format::Csv,
        FileFormat::JsonLines => Format::JsonLines,
    }
}

fn no_baseline(name: &str) -> EngineError {
    EngineError::config(format!(
        "`{name}` has no baseline to check against (its replays still check every epoch against the recording)"
    ))
}

/// Opens a dataset file or standard input, and reads its records lazily.
/// Refuses CSV for a workload whose events are nested.
fn check_format(info: &WorkloadInfo, format: FileFormat) -> Result<(), EngineError> {
    if format == FileFormat::Csv && !info.csv {
        return Err(EngineError::config(format!(
            "{} events are nested records: use JSON lines (a .jsonl or .json file, or --input-format json), not CSV",
            info.dataset
        )));
    }
    Ok(())
}

fn open_records<E: Job>(
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
    let records = read_checked_records(reader, dataset_format(format), check).map(|r| {
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

impl<D: Definition> Workload for Registered<D> {
    fn info(&self) -> &'static WorkloadInfo {
        &D::INFO
    }

    fn run(
        &self,
        params: &Params,
        input: &Input,
        config: &RunConfig,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<RunResult, EngineError> {
        let job = Arc::new(D::from_params(params)?);
        let source = match input {
            Input::Generated { events, seed } => {
                let data = D::dataset(params, *seed)?;
                Source::Generated {
                    events: *events,
                    generate: Arc::new(move |i| data.generate(i)),
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
                let format = dataset_format(*format);
                // The event clock needs the partitions merged in time order.
                let order = match config.epochs.clock {
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
                }
            }
        };
        run(job, source, config, on_progress)
    }

    fn baseline(
        &self,
        params: &Params,
        input: &Input,
        epochs: &EpochConfig,
        output: Option<&OutputSpec>,
    ) -> Result<BaselineResult, EngineError> {
        if epochs.clock == Clock::Processing && !matches!(input, Input::Log { .. }) {
            return Err(EngineError::config(
                "--check baseline needs --clock event: a processing-time run's epochs come from the wall clock, so only its input log reproduces them (record it with --record, then `reprise replay`)",
            ));
        }
        let job = D::from_params(params)?;
        let started = Instant::now();
        let mut clock = EventClock::new(epochs.epoch_ms);
        let mut digests = DigestBuilder::default();
        let mut events = 0u64;
        let mut failure = None;
        let closing = |record: &D::Output| job.closing_epoch(record, epochs);
        let mut file = match output {
            Some(spec) => Some(BaselineOutput::create(spec)?),
            None => None,
        };
        {
            let mut emit = |epoch: Epoch, record: &D::Output, diff: i64| {
                digests.add(epoch, record_hash(record), diff);
                if let Some(file) = &mut file {
                    file.add(epoch, record, diff, &closing);
                }
            };
            match input {
                Input::Generated {
                    events: count,
                    seed,
                } => {
                    let data = D::dataset(params, *seed)?;
                    let mut stream = (0..*count).map(|i| {
                        let event = data.generate(i);
                        (clock.assign(D::event_time_ms(&event)), event)
                    });
                    job.baseline(epochs, &mut stream, &mut emit)
                        .map_err(|NoBaseline| no_baseline(D::INFO.name))?;
                    events = *count;
                }
                Input::Log { path, until } => {
                    let mut stream = reprise_engine::log::epochs::<D::Event>(path, *until)?
                        .map_while(|epoch| match epoch {
                            Ok((epoch, events)) => {
                                Some(events.into_iter().map(move |e| (epoch, e)))
                            }
                            Err(e) => {
                                failure = Some(e);
                                None
                            }
                        })
                        .flatten()
                        .inspect(|_| events += 1);
                    job.baseline(epochs, &mut stream, &mut emit)
                        .map_err(|NoBaseline| no_baseline(D::INFO.name))?;
                }
                Input::File { path: None, .. } | Input::Kafka { .. } => {
                    return Err(EngineError::config(
                        "--check baseline reads the input a second time, so it needs a file or generated input, not standard input or a Kafka topic",
                    ));
                }
                Input::File { path, format } => {
                    let (name, records) = open_records::<D>(path, *format)?;
                    let mut stream = records.map_while(|record| match record {
                        Ok(event) => {
                            events += 1;
                            Some((clock.assign(D::event_time_ms(&event)), event))
                        }
                        Err(e) => {
                            failure = Some(EngineError::Input {
                                source_name: name.clone(),
                                at: e.at,
                                message: e.message,
                            });
                            None
                        }
                    });
                    job.baseline(epochs, &mut stream, &mut emit)
                        .map_err(|NoBaseline| no_baseline(D::INFO.name))?;
                }
            }
        }
        if let Some(error) = failure {
            return Err(error);
        }
        let output = file.map(|file| file.finish(&closing)).transpose()?;
        Ok(BaselineResult {
            output,
            digests: digests.finish(),
            events,
            elapsed: started.elapsed(),
        })
    }

    fn generate(
        &self,
        params: &Params,
        events: u64,
        seed: u64,
        out: &mut dyn Write,
        format: FileFormat,
    ) -> Result<u64, EngineError> {
        check_format(&D::INFO, format)?;
        let data = D::dataset(params, seed)?;
        write_records(
            (0..events).map(|i| data.generate(i)),
            out,
            dataset_format(format),
        )
        .map_err(|e| EngineError::io("writing the dataset", std::io::Error::other(e.to_string())))
    }

    fn generate_messages(
        &self,
        params: &Params,
        events: u64,
        seed: u64,
        format: FileFormat,
        send: &mut SendMessage<'_>,
    ) -> Result<(), EngineError> {
        check_format(&D::INFO, format)?;
        let data = D::dataset(params, seed)?;
        for index in 0..events {
            let payload =
                encode_record(&data.generate(index), dataset_format(format)).map_err(|e| {
                    EngineError::io("encoding a record", std::io::Error::other(e.to_string()))
                })?;
            send(index, &payload)?;
        }
        Ok(())
    }
}

/// A baseline's output file: its updates buffered per epoch and consolidated, as the
/// engine's sink consolidates them, then written by the engine's writer.
struct BaselineOutput<R> {
    file: OutputFile,
    epoch: Option<Epoch>,
    rows: Vec<(R, i64)>,
    error: Option<EngineError>,
}

impl<R: reprise_engine::Record> BaselineOutput<R> {
    fn create(spec: &OutputSpec) -> Result<Self, EngineError> {
        Ok(Self {
            file: OutputFile::create(spec.clone())?,
            epoch: None,
            rows: Vec::new(),
            error: None,
        })
    }

    fn add(&mut self, epoch: Epoch, record: &R, diff: i64, closing: &dyn Fn(&R) -> Option<Epoch>) {
        if self.epoch != Some(epoch) {
            self.flush(closing);
            self.epoch = Some(epoch);
        }
        self.rows.push((record.clone(), diff));
    }

    fn flush(&mut self, closing: &dyn Fn(&R) -> Option<Epoch>) {
        let Some(epoch) = self.epoch else { return };
        let mut rows = std::mem::take(&mut self.rows);
        differential_dataflow::consolidation::consolidate(&mut rows);
        if let Err(e) = self.file.write_epoch(epoch, rows, closing) {
            self.error.get_or_insert(e);
        }
    }

    fn finish(mut self, closing: &dyn Fn(&R) -> Option<Epoch>) -> Result<OutputStats, EngineError> {
        self.flush(closing);
        match self.error {
            Some(e) => Err(e),
            None => self.file.finish(),
        }
    }
}

/// The header of an input log recorded from `input` with these settings.
pub fn log_header(
    info: &WorkloadInfo,
    params: &Params,
    input: &Input,
    epochs: &EpochConfig,
    workers: usize,
) -> reprise_engine::log::LogHeader {
    use reprise_engine::log::{LogHeader, RecordedClock, format::FORMAT_VERSION};
    let epoch_ms = epochs.epoch_ms;
    LogHeader {
        format_version: FORMAT_VERSION,
        engine_version: reprise_engine::ENGINE_VERSION.to_string(),
        git_revision: reprise_engine::GIT_REVISION.to_string(),
        workload: info.name.to_string(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        input: input.describe(),
        seed: match input {
            Input::Generated { seed, .. } => Some(*seed),
            _ => None,
        },
        clock: match epochs.clock {
            Clock::Event => RecordedClock::Event { epoch_ms },
            Clock::Processing => RecordedClock::Processing { epoch_ms },
        },
        workers,
        processes: 1,
        started_unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        // Set by the run: its process and the id its processes share.
        recording_id: 0,
        part: 0,
        program: program_name(),
    }
}

/// This program's name: its executable's file name (`reprise` for the built-in one).
pub fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "reprise".to_string())
}

/// The epoch settings a log was recorded with.
pub fn recorded_epochs(clock: reprise_engine::log::RecordedClock) -> EpochConfig {
    use reprise_engine::log::RecordedClock;
    match clock {
        RecordedClock::Event { epoch_ms } => EpochConfig {
            epoch_ms,
            clock: Clock::Event,
        },
        RecordedClock::Processing { epoch_ms } => EpochConfig {
            epoch_ms,
            clock: Clock::Processing,
        },
    }
}
