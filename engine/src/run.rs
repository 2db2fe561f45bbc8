//! The runtime: starts worker threads, feeds sources with backpressure, collects digests.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use differential_dataflow::input::{Input, InputSession};
use serde::Serialize;
use timely::dataflow::operators::probe;
use timely::worker::Worker;

use crate::digest::DigestLog;
use crate::metrics::{EpochLatency, LatencySummary, peak_memory_bytes};
use crate::output::{ClosingEpoch, OutputSpec, OutputStats, write_output};
use crate::source::{Dealt, DealtReceiver, Source, deal};
use crate::{EngineError, Epoch, EpochConfig, Job, JobContext, sink};

/// How to run a job.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Worker threads.
    pub workers: usize,
    /// How epochs are cut.
    pub epochs: EpochConfig,
    /// How many epochs the input may run ahead of the completed output (backpressure).
    pub max_epochs_ahead: u64,
    /// Where to write the output, if anywhere.
    pub output: Option<OutputSpec>,
}

impl RunConfig {
    /// `workers` threads, epochs of `epoch_ms`, default backpressure, no output file.
    pub fn new(workers: usize, epoch_ms: u64) -> Self {
        Self {
            workers,
            epochs: EpochConfig { epoch_ms },
            max_epochs_ahead: 4,
            output: None,
        }
    }
}

/// A snapshot of a running job, for progress displays.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Progress {
    /// Events fed into the dataflow so far.
    pub events: u64,
    /// Events the source will produce, if known.
    pub total_events: Option<u64>,
    /// Time since the run started.
    pub elapsed: Duration,
}

/// What a completed run measured and produced.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    /// Per-epoch output digests (summed over workers).
    pub digests: DigestLog,
    /// Events fed into the dataflow.
    pub events: u64,
    /// First and last input epoch, if there was input.
    pub input_epochs: Option<(Epoch, Epoch)>,
    /// Wall-clock time from the start of the workers to the last output.
    pub elapsed: Duration,
    /// Epoch latency (input closed to output complete), measured on worker 0.
    pub latency: LatencySummary,
    /// Events dropped for arriving after their window closed.
    pub late_events: u64,
    /// What the output writer wrote.
    pub output: Option<OutputStats>,
    /// Peak resident memory of the process.
    pub peak_memory_bytes: Option<u64>,
}

impl RunResult {
    /// Number of epochs the input spanned.
    pub fn epochs(&self) -> u64 {
        self.input_epochs
            .map_or(0, |(first, last)| last - first + 1)
    }

    /// Events per second of wall-clock time.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// State shared by the workers and the driving thread.
#[derive(Debug, Default)]
struct Shared {
    events: AtomicU64,
    abort: AtomicBool,
    failure: Mutex<Option<EngineError>>,
}

impl Shared {
    fn fail(&self, error: EngineError) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(error);
        self.abort.store(true, Ordering::SeqCst);
    }

    fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }
}

/// One worker's results.
#[derive(Debug, Default)]
struct WorkerResult {
    digests: DigestLog,
    events: u64,
    input_epochs: Option<(Epoch, Epoch)>,
    late_events: u64,
    latency: Option<LatencySummary>,
    finished: Option<Instant>,
}

/// Runs `job` over `source`, calling `on_progress` on this thread about ten times a second.
pub fn run<J: Job>(
    job: Arc<J>,
    source: Source<J::Event>,
    config: &RunConfig,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<RunResult, EngineError> {
    if config.workers == 0 {
        return Err(EngineError::config("--workers must be at least 1"));
    }
    if config.epochs.epoch_ms == 0 {
        return Err(EngineError::config("--epoch-ms must be at least 1"));
    }
    let workers = config.workers;
    let epochs = config.epochs;
    let lag = config.max_epochs_ahead.max(1);
    let shared = Arc::new(Shared::default());
    let started = Instant::now();

    // The output writer.
    let (rows_tx, writer) = match config.output.clone() {
        Some(spec) => {
            let (tx, rx) = mpsc::channel();
            let closing_job = Arc::clone(&job);
            let closing: ClosingEpoch<J::Output> =
                Arc::new(move |record| closing_job.closing_epoch(record, &epochs));
            let writer = std::thread::Builder::new()
                .name("reprise-output".into())
                .spawn(move || write_output(spec, workers, closing, rx))
                .map_err(|e| EngineError::io("starting the output writer thread", e))?;
            (Some(tx), Some(writer))
        }
        None => (None, None),
    };

    // The source: generated in place, or read and dealt by a reader thread.
    let (total_events, feed, reader) = match source {
        Source::Generated { events, generate } => {
            (Some(events), Feed::Generated { events, generate }, None)
        }
        Source::Read { name, records } => {
            let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers)
                .map(|_| mpsc::sync_channel::<Dealt<J::Event>>(64))
                .unzip();
            let reader_shared = Arc::clone(&shared);
            let reader = std::thread::Builder::new()
                .name("reprise-reader".into())
                .spawn(move || {
                    deal(
                        &name,
                        records,
                        J::event_time_ms,
                        epochs.epoch_ms,
                        senders,
                        &|| reader_shared.aborted(),
                    )
                })
                .map_err(|e| EngineError::io("starting the reader thread", e))?;
            let receivers = receivers.into_iter().map(Some).collect();
            (None, Feed::Dealt(Mutex::new(receivers)), Some(reader))
        }
    };
    let feed = Arc::new(feed);

    let worker_shared = Arc::clone(&shared);
    let timely_config = timely::Config::process(workers);
    let guards = timely::execute(timely_config, move |worker| {
        let index = worker.index();
        let shared = Arc::clone(&worker_shared);
        let body = AssertUnwindSafe(|| {
            run_worker(worker, &*job, &feed, rows_tx.clone(), epochs, lag, &shared)
        });
        let result = match catch_unwind(body) {
            Ok(result) => result,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic payload".to_string());
                let epoch = CURRENT_EPOCH.with(|e| *e.borrow());
                shared.fail(EngineError::WorkerPanic {
                    worker: index,
                    epoch,
                    message,
                });
                WorkerResult::default()
            }
        };
        if shared.aborted() {
            // Timely steps a worker until its dataflows finish; an aborted one never will.
            for dataflow in worker.installed_dataflows() {
                worker.drop_dataflow(dataflow);
            }
        }
        result
    })
    .map_err(|e| EngineError::config(format!("cannot start timely workers: {e}")))?;

    // Drive progress while the workers run.
    while !guards.guards().iter().all(|g| g.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        on_progress(&Progress {
            events: shared.events.load(Ordering::Relaxed),
            total_events,
            elapsed: started.elapsed(),
        });
    }
    let results = guards.join();

    let read_result = reader.map(|r| r.join());
    let write_result = writer.map(|w| w.join());

    let mut total = WorkerResult::default();
    for result in results {
        let result = result.map_err(|e| EngineError::Bug(format!("worker thread failed: {e}")))?;
        total.digests.merge(&result.digests);
        total.events += result.events;
        total.late_events += result.late_events;
        total.input_epochs = match (total.input_epochs, result.input_epochs) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
        total.latency = total.latency.or(result.latency);
        total.finished = total.finished.max(result.finished);
    }
    let elapsed = total
        .finished
        .map_or_else(|| started.elapsed(), |finished| finished - started);
    if let Some(error) = shared
        .failure
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(error);
    }
    match read_result {
        Some(Ok(Err(error))) => return Err(error),
        Some(Err(_)) => return Err(EngineError::Bug("the reader thread panicked".into())),
        _ => {}
    }
    let output = match write_result {
        Some(Ok(stats)) => Some(stats?),
        Some(Err(_)) => return Err(EngineError::Bug("the output writer thread panicked".into())),
        None => None,
    };
    Ok(RunResult {
        digests: total.digests,
        events: total.events,
        input_epochs: total.input_epochs,
        elapsed,
        latency: total.latency.unwrap_or_default(),
        late_events: total.late_events,
        output,
        peak_memory_bytes: peak_memory_bytes(),
    })
}

thread_local! {
    /// The earliest incomplete epoch on this worker thread, for panic reports.
    static CURRENT_EPOCH: std::cell::RefCell<Epoch> = const { std::cell::RefCell::new(0) };
}

/// How the workers get their events.
enum Feed<E> {
    Generated {
        events: u64,
        generate: Arc<dyn Fn(u64) -> E + Send + Sync>,
    },
    Dealt(Mutex<Vec<Option<DealtReceiver<E>>>>),
}

fn run_worker<J: Job>(
    worker: &mut Worker,
    job: &J,
    feed: &Feed<J::Event>,
    rows: Option<mpsc::Sender<sink::SinkMessage<J::Output>>>,
    epochs: EpochConfig,
    lag: u64,
    shared: &Shared,
) -> WorkerResult {
    let (index, peers) = (worker.index(), worker.peers());
    let ctx = JobContext::new(epochs, (index, peers));
    let (input, probe, digests) = worker.dataflow::<Epoch, _, _>(|scope| {
        let (input, events) = scope.new_collection::<J::Event, isize>();
        let output = job.build(&ctx, events);
        let (probe, digests) = sink::attach(output, index, rows);
        (input, probe, digests)
    });
    let mut feeder = Feeder {
        worker,
        input,
        probe,
        epoch: None,
        first_epoch: None,
        lag,
        shared,
        fed: 0,
        unpublished: 0,
        latency: (index == 0).then(EpochLatency::default),
    };
    match feed {
        Feed::Generated { events, generate } => {
            let mut index = index as u64;
            while index < *events && !shared.aborted() {
                let event = generate(index);
                let epoch = J::event_time_ms(&event) / epochs.epoch_ms;
                feeder.advance(epoch);
                feeder.give(event);
                index += peers as u64;
            }
        }
        Feed::Dealt(receivers) => {
            let receiver = receivers.lock().unwrap_or_else(|p| p.into_inner())[index]
                .take()
                .expect("each worker takes its own receiver once");
            while !shared.aborted() {
                match receiver.try_recv() {
                    Ok(Dealt::Events(epoch, events)) => {
                        feeder.advance(epoch);
                        for event in events {
                            feeder.give(event);
                        }
                    }
                    Ok(Dealt::Advance(epoch)) => feeder.advance(epoch),
                    Err(TryRecvError::Empty) => {
                        feeder.worker.step_or_park(Some(Duration::from_millis(1)));
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            }
        }
    }
    let (events, input_epochs, latency) = feeder.finish();
    let digests = digests.borrow().clone();
    WorkerResult {
        digests,
        events,
        input_epochs,
        late_events: ctx.late_events(),
        latency,
        finished: Some(Instant::now()),
    }
}

/// Feeds one worker's input, advancing epochs with backpressure.
struct Feeder<'w, E: differential_dataflow::Data> {
    worker: &'w mut Worker,
    input: InputSession<Epoch, E, isize>,
    probe: probe::Handle<Epoch>,
    epoch: Option<Epoch>,
    first_epoch: Option<Epoch>,
    lag: u64,
    shared: &'w Shared,
    fed: u64,
    unpublished: u64,
    latency: Option<EpochLatency>,
}

/// Step the worker every this many events, so data flows while an epoch fills.
const STEP_EVERY: u64 = 8192;

impl<E: differential_dataflow::Data> Feeder<'_, E> {
    fn advance(&mut self, epoch: Epoch) {
        match self.epoch {
            Some(current) if epoch <= current => return,
            None => {
                self.first_epoch = Some(epoch);
                self.epoch = Some(epoch);
                self.input.advance_to(epoch);
                return;
            }
            Some(current) => {
                if let Some(latency) = &mut self.latency {
                    latency.closed(current);
                }
            }
        }
        self.epoch = Some(epoch);
        self.input.advance_to(epoch);
        self.input.flush();
        // Backpressure: the output may lag the input by at most `lag` epochs.
        let bound = epoch.saturating_sub(self.lag);
        while self.probe.less_than(&bound) && !self.shared.aborted() {
            self.worker.step_or_park(Some(Duration::from_millis(1)));
            self.observe();
        }
    }

    fn give(&mut self, event: E) {
        self.input.insert(event);
        self.fed += 1;
        self.unpublished += 1;
        if self.unpublished == STEP_EVERY {
            self.shared
                .events
                .fetch_add(self.unpublished, Ordering::Relaxed);
            self.unpublished = 0;
            self.worker.step();
            self.observe();
        }
    }

    fn observe(&mut self) {
        let probe = &self.probe;
        let frontier = probe.with_frontier(|f| f.first().copied());
        CURRENT_EPOCH.with(|e| *e.borrow_mut() = frontier.unwrap_or(Epoch::MAX));
        if let Some(latency) = &mut self.latency {
            latency.observe(|epoch| !probe.less_equal(&epoch));
        }
    }

    /// Closes the input and steps until the output is complete.
    fn finish(mut self) -> (u64, Option<(Epoch, Epoch)>, Option<LatencySummary>) {
        if let (Some(latency), Some(current)) = (&mut self.latency, self.epoch) {
            latency.closed(current);
        }
        self.shared
            .events
            .fetch_add(self.unpublished, Ordering::Relaxed);
        std::mem::replace(&mut self.input, InputSession::new()).close();
        while !self.probe.done() && !self.shared.aborted() {
            self.worker.step_or_park(Some(Duration::from_millis(1)));
            self.observe();
        }
        let epochs = self.first_epoch.zip(self.epoch);
        (self.fed, epochs, self.latency.map(|l| l.summary()))
    }
}
