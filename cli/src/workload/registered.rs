//! The interface the registry holds ([`Workload`]), and the adapter that gives any
//! [`Definition`] that interface ([`Registered`]).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use reprise_datasets::Generator;
use reprise_engine::io::{FileFormat, encode_record, write_records};
use reprise_engine::log::{RecordSpec, RecordStats};
use reprise_engine::output::{OutputFile, OutputSpec, record_columns};
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Params, Progress, RunConfig, RunResult, run,
};

use super::baseline::{BaselineResult, run_baseline};
use super::input::{check_format, log_generator};
use super::{Definition, Input, WorkloadInfo};

/// A runnable workload, behind a trait object so the registry can list them all.
pub trait Workload: Send + Sync {
    /// Name, summary, parameters and formats.
    fn info(&self) -> &'static WorkloadInfo;

    /// The output columns a directory output is partitioned by, unless the user names
    /// others ([`reprise_engine::Job::PARTITION_BY`]).
    fn partition_by(&self) -> &'static [&'static str];

    /// The output's columns, read off the output type.
    fn output_columns(&self) -> Vec<String>;

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

    /// Writes a log's recorded events (only those of `epoch`, if given) as a dataset in
    /// `format`, which `run --input` reads back; returns how many.
    fn export_events(
        &self,
        log: &Path,
        epoch: Option<Epoch>,
        format: FileFormat,
        out: &mut dyn Write,
    ) -> Result<u64, EngineError>;

    /// Writes the output rows a log recorded for `epoch` (`--record-output`) to `output`,
    /// as the engine writes its output; `false` if the log recorded no rows.
    fn write_recorded_rows(
        &self,
        log: &Path,
        epoch: Epoch,
        output: &OutputSpec,
    ) -> Result<bool, EngineError>;

    /// A log's events, each encoded on its own (see [`EncodedEpochs`]).
    fn log_events(&self, log: &Path) -> Result<EncodedEpochs, EngineError>;

    /// Writes a log of events as [`Workload::log_events`] gives them.
    fn write_log_events(
        &self,
        spec: RecordSpec,
        epochs: &[(Epoch, Vec<&[u8]>)],
    ) -> Result<RecordStats, EngineError>;
}

/// A log's events, epoch by epoch, each encoded on its own: subsets of them can be taken
/// and written back ([`Workload::write_log_events`]) without knowing the event type.
pub type EncodedEpochs = Vec<(Epoch, Vec<Vec<u8>>)>;

/// Sends message `index` with a payload (to a topic).
pub type SendMessage<'a> = dyn FnMut(u64, &[u8]) -> Result<(), EngineError> + 'a;

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

impl<D: Definition> Workload for Registered<D> {
    fn info(&self) -> &'static WorkloadInfo {
        &D::INFO
    }

    fn output_columns(&self) -> Vec<String> {
        record_columns::<D::Output>()
    }

    fn partition_by(&self) -> &'static [&'static str] {
        D::PARTITION_BY
    }

    fn run(
        &self,
        params: &Params,
        input: &Input,
        config: &RunConfig,
        on_progress: &mut dyn FnMut(&Progress),
    ) -> Result<RunResult, EngineError> {
        let job = Arc::new(D::from_params(params)?);
        let source = input.source::<D>(params, config.epochs.clock)?;
        run(job, source, config, on_progress)
    }

    fn baseline(
        &self,
        params: &Params,
        input: &Input,
        epochs: &EpochConfig,
        output: Option<&OutputSpec>,
    ) -> Result<BaselineResult, EngineError> {
        run_baseline::<D>(params, input, epochs, output)
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
        write_records((0..events).map(|i| data.generate(i)), out, format).map_err(|e| {
            EngineError::io("writing the dataset", std::io::Error::other(e.to_string()))
        })
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
            let payload = encode_record(&data.generate(index), format).map_err(|e| {
                EngineError::io("encoding a record", std::io::Error::other(e.to_string()))
            })?;
            send(index, &payload)?;
        }
        Ok(())
    }

    fn export_events(
        &self,
        log: &Path,
        epoch: Option<Epoch>,
        format: FileFormat,
        out: &mut dyn Write,
    ) -> Result<u64, EngineError> {
        check_format(&D::INFO, format)?;
        let mut failure = None;
        let events = reprise_engine::log::epochs(log, epoch, log_generator::<D>(log)?)?
            .map_while(|read| read.map_err(|e| failure = Some(e)).ok())
            .filter(|(e, _)| epoch.is_none_or(|wanted| *e == wanted))
            .flat_map(|(_, events)| events);
        let written = write_records(events, out, format).map_err(|e| {
            EngineError::io("writing the events", std::io::Error::other(e.to_string()))
        })?;
        match failure {
            Some(error) => Err(error),
            None => Ok(written),
        }
    }

    fn write_recorded_rows(
        &self,
        log: &Path,
        epoch: Epoch,
        output: &OutputSpec,
    ) -> Result<bool, EngineError> {
        let Some(blocks) = reprise_engine::log::recorded_rows(log, epoch)? else {
            return Ok(false);
        };
        let mut rows: Vec<(D::Output, i64)> = Vec::new();
        for block in &blocks {
            block.decode(|row| rows.push(row))?;
        }
        let mut file = OutputFile::create::<D::Output>(output.clone())?;
        file.write_epoch(epoch, rows, &|_| None)?;
        file.finish()?;
        Ok(true)
    }

    fn log_events(&self, log: &Path) -> Result<EncodedEpochs, EngineError> {
        reprise_engine::log::epochs(log, None, log_generator::<D>(log)?)?
            .map(|read| {
                let (epoch, events) = read?;
                let encoded = events
                    .iter()
                    .map(|event| postcard::to_allocvec(event).expect("events are plain serde data"))
                    .collect();
                Ok((epoch, encoded))
            })
            .collect()
    }

    fn write_log_events(
        &self,
        spec: RecordSpec,
        epochs: &[(Epoch, Vec<&[u8]>)],
    ) -> Result<RecordStats, EngineError> {
        let decoded = epochs.iter().map(|(epoch, events)| {
            let events = events
                .iter()
                .map(|bytes| {
                    postcard::from_bytes::<D::Event>(bytes).expect("encoded by log_events")
                })
                .collect();
            (*epoch, events)
        });
        reprise_engine::log::write_events_log(spec, decoded)
    }
}
