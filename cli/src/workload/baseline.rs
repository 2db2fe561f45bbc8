//! The hand-written baseline of a job, run on the same input as the engine, its output
//! written as the engine writes it.

use std::time::{Duration, Instant};

use reprise_datasets::Generator;
use reprise_engine::digest::{DigestBuilder, DigestLog, record_hash};
use reprise_engine::output::{OutputFile, OutputSpec, OutputStats};
use reprise_engine::{Clock, EngineError, Epoch, EpochConfig, EventClock, NoBaseline, Params};

use super::input::{log_generator, open_records};
use super::{Definition, Input};

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

/// Runs `D`'s hand-written single-threaded baseline on `input`; with `output`, writes its
/// output file as the engine would (same rows, same order).
pub(crate) fn run_baseline<D: Definition>(
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
                let generate = log_generator::<D>(path)?;
                let mut stream = reprise_engine::log::epochs(path, *until, generate)?
                    .map_while(|epoch| match epoch {
                        Ok((epoch, events)) => Some(events.into_iter().map(move |e| (epoch, e))),
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

fn no_baseline(name: &str) -> EngineError {
    EngineError::config(format!(
        "`{name}` has no baseline to check against (its replays still check every epoch against the recording)"
    ))
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
            file: OutputFile::create::<R>(spec.clone())?,
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
