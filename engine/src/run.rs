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

use crate::cluster::{ClusterSpec, preflight};
use crate::digest::DigestLog;
use crate::log::{LogEnd, LogMessage, RecordSpec, RecordStats, Recorder, write_log};
use crate::metrics::{EpochLatency, LatencySummary, peak_memory_bytes};
use crate::output::{ClosingEpoch, OutputSpec, OutputStats, write_output};
use crate::source::{Dealt, DealtReceiver, Source, deal};
use crate::{Clock, EngineError, Epoch, EpochConfig, Job, JobContext, sink};

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
    /// Where to record the input log, if anywhere.
    pub record: Option<RecordSpec>,
    /// Set to stop the run early (Ctrl-C); completed epochs stay in the output and log.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// For tests of failure handling: worker 0 panics when its input reaches this epoch
    /// (set with [`RunConfig::inject_panic_at`], feature `test-hooks`).
    inject_panic_at: Option<Epoch>,
    /// Run as one process of a timely cluster; `workers` is then the count per process.
    pub cluster: Option<ClusterSpec>,
}

impl RunConfig {
    /// `workers` threads, event-time epochs of `epoch_ms`, default backpressure, no files.
    pub fn new(workers: usize, epoch_ms: u64) -> Self {
        Self {
            workers,
            epochs: EpochConfig::event_time(epoch_ms),
            max_epochs_ahead: 4,
            output: None,
            record: None,
            interrupt: None,
            inject_panic_at: None,
            cluster: None,
        }
    }

    /// For tests of failure handling: worker 0 panics when its input reaches `epoch`.
    #[cfg(feature = "test-hooks")]
    pub fn inject_panic_at(&mut self, epoch: Option<Epoch>) {
        self.inject_panic_at = epoch;
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
    /// Events dropped for arriving after their window (or, in a join with a time range, their match) closed.
    pub late_events: u64,
    /// What the output writer wrote.
    pub output: Option<OutputStats>,
    /// What was recorded.
    pub record: Option<RecordStats>,
    /// Peak resident memory of the process.
    pub peak_memory_bytes: Option<u64>,
    /// This process's index in a cluster (0 alone). Only process 0's result covers the
    /// whole run: the workers' digests and counts are gathered there.
    pub process: usize,
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
    began: Option<Instant>,
    finished: Option<Instant>,
    /// On global worker 0: every worker's summary, gathered over timely.
    gathered: Option<Vec<WorkerSummary>>,
}

/// What each worker sends worker 0 at the end of a run.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct WorkerSummary {
    digests: DigestLog,
    events: u64,
    input_epochs: Option<(Epoch, Epoch)>,
    late_events: u64,
}

/// A writer thread of the run (output file, input log): its first error stops the run at
/// once (a full disk, a missing folder), instead of when the run ends.
fn writer<T: Send + 'static>(
    name: &str,
    shared: &Arc<Shared>,
    work: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<std::thread::JoinHandle<Option<T>>, EngineError> {
    let shared = Arc::clone(shared);
    helper(name, move || match work() {
        Ok(done) => Some(done),
        Err(error) => {
            shared.fail(error);
            None
        }
    })
}

/// A thread of the run besides the workers, started only when needed.
fn helper<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, EngineError> {
    std::thread::Builder::new()
        .name(format!("reprise-{name}"))
        .spawn(work)
        .map_err(|e| EngineError::io(format!("starting the {name} thread"), e))
}

/// Runs `job` over `source`, calling `on_progress` on this thread about ten times a second.
///
/// On failure (a bad record, a worker panic, an interrupt) the output file and the input
/// log keep every epoch that completed before it.
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
    let inject_panic_at = config.inject_panic_at;
    let (process, processes) = config
        .cluster
        .as_ref()
        .map_or((0, 1), |c| (c.process, c.processes()));
    // Check the cluster before timely connects: timely hangs on a misconfigured one.
    let liveness = config.cluster.as_ref().map(preflight).transpose()?;
    if liveness.is_some() {
        crate::cluster::quiet_communication_panics();
    }
    let shared = Arc::new(Shared::default());
    let started = Instant::now();

    // The output writer and the input log writer.
    // Worker 0 (in process 0) gathers the rows and hands them to the only writer.
    let gather_rows = config.output.is_some();
    let (rows_tx, output_writer) = match config.output.clone().filter(|_| process == 0) {
        Some(spec) => {
            let (tx, rx) = mpsc::channel();
            let closing_job = Arc::clone(&job);
            let closing: ClosingEpoch<J::Output> =
                Arc::new(move |record| closing_job.closing_epoch(record, &epochs));
            (
                Some(tx),
                Some(writer("output", &shared, move || {
                    write_output(spec, 1, closing, rx)
                })?),
            )
        }
        None => (None, None),
    };
    let (log_tx, log_writer) = match config.record.clone() {
        Some(mut spec) => {
            // Each process records the events its own workers feed, to its own part; the
            // parts of one run share process 0's id.
            spec.path = crate::log::part_path(&spec.path, process);
            spec.header.part = process as u32;
            spec.header.recording_id = liveness
                .as_ref()
                .map_or_else(crate::cluster::random_id, |l| l.run_id);
            let (tx, rx) = mpsc::channel();
            (
                Some(tx),
                Some(writer("log", &shared, move || {
                    write_log(spec, workers, rx)
                })?),
            )
        }
        None => (None, None),
    };
    let compress = config.record.as_ref().is_some_and(|r| r.compress);

    // The source: generated in place by each worker, or read and dealt by a reader thread.
    let (total_events, feed, reader) = match source {
        Source::Generated { events, generate } => {
            (Some(events), Feed::Generated { events, generate }, None)
        }
        source => {
            let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers)
                .map(|_| mpsc::sync_channel::<Dealt<J::Event>>(64))
                .unzip();
            let reader_shared = Arc::clone(&shared);
            let reader = helper("reader", move || {
                let share = (process, processes);
                deal(
                    source,
                    J::event_time_ms,
                    epochs,
                    started,
                    senders,
                    share,
                    &|| reader_shared.aborted(),
                )
            })?;
            let receivers = receivers.into_iter().map(Some).collect();
            (None, Feed::Dealt(Mutex::new(receivers)), Some(reader))
        }
    };
    let feed = Arc::new(feed);

    let worker_shared = Arc::clone(&shared);
    let worker_log = log_tx.clone();
    let timely_config = match &config.cluster {
        None => timely::Config::process(workers),
        Some(spec) => timely::Config {
            communication: timely::CommunicationConfig::Cluster {
                threads: workers,
                process,
                addresses: spec.addresses.clone(),
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        },
    };
    let guards = timely::execute(timely_config, move |worker| {
        let index = worker.index();
        let shared = Arc::clone(&worker_shared);
        let sinks = Sinks {
            rows: rows_tx.clone().filter(|_| index == 0),
            gather_rows,
            log: worker_log.clone(),
            compress,
            local_worker: index - process * workers,
        };
        let panic_at = inject_panic_at.filter(|_| index == 0);
        let body = AssertUnwindSafe(|| {
            run_worker(
                worker,
                &*job,
                &feed,
                sinks,
                epochs,
                (lag, panic_at),
                started,
                &shared,
            )
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

    // Drive progress while the workers run; short naps first, so a short run ends soon.
    let mut nap = Duration::from_millis(1);
    while !guards.guards().iter().all(|g| g.is_finished()) {
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(100));
        if config
            .interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
        {
            shared.fail(EngineError::Interrupted);
        }
        if let Some(peer) = liveness.as_ref().and_then(|l| l.lost_peer()) {
            shared.fail(EngineError::PeerLost { peer });
        }
        on_progress(&Progress {
            events: shared.events.load(Ordering::Relaxed),
            total_events,
            elapsed: started.elapsed(),
        });
    }

    let mut local = Vec::new();
    let (mut latency, mut began, mut finished, mut gathered) = (None, None::<Instant>, None, None);
    // When a peer dies, timely's communication threads panic, and so does dropping them:
    // the run has failed then, and the failure says why.
    let joined = catch_unwind(AssertUnwindSafe(|| guards.join())).unwrap_or_else(|_| {
        shared.fail(EngineError::Bug(
            "timely's communication threads failed".into(),
        ));
        Vec::new()
    });
    for result in joined {
        let result = result.map_err(|e| EngineError::Bug(format!("worker thread failed: {e}")))?;
        latency = latency.or(result.latency);
        finished = finished.max(result.finished);
        began = match (began, result.began) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        gathered = gathered.or(result.gathered);
        local.push(WorkerSummary {
            digests: result.digests,
            events: result.events,
            input_epochs: result.input_epochs,
            late_events: result.late_events,
        });
    }
    // Process 0 reports the whole run; another process only what its own workers did.
    let mut total = WorkerSummary::default();
    for summary in gathered.as_deref().unwrap_or(&local) {
        total.digests.merge(&summary.digests);
        total.events += summary.events;
        total.late_events += summary.late_events;
        total.input_epochs = match (total.input_epochs, summary.input_epochs) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
    }
    let local_events: u64 = local.iter().map(|s| s.events).sum();
    if let Some(liveness) = liveness {
        let mut failure = shared.failure.lock().unwrap_or_else(|p| p.into_inner());
        // A broken connection makes timely's own threads fail first; a lost peer is the
        // reason, and says which process to look at.
        let broken = failure.as_ref().is_some_and(|f| {
            let text = f.to_string();
            text.contains("communication") || text.contains("poisoned")
        });
        let patience = Duration::from_millis(if broken { 2000 } else { 0 });
        match liveness.wait_for_lost_peer(patience) {
            Some(peer) if failure.is_none() || broken => {
                *failure = Some(EngineError::PeerLost { peer })
            }
            Some(_) => {}
            None if failure.is_none() => liveness.finish(),
            None => {}
        }
    }
    // From the first worker's start (after a cluster has connected) to the last one's end.
    let elapsed = match (began, finished) {
        (Some(began), Some(finished)) => finished.saturating_duration_since(began),
        _ => started.elapsed(),
    };

    let mut failure = shared
        .failure
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    match reader.map(|r| r.join()) {
        Some(Ok(Err(error))) => failure = failure.or(Some(error)),
        Some(Err(_)) => {
            failure = failure.or(Some(EngineError::Bug("the reader thread panicked".into())))
        }
        _ => {}
    }
    let record = match (log_tx, log_writer) {
        (Some(log), Some(writer)) => {
            let failed = failure.as_ref().map(|e| e.to_string());
            let _ = log.send(LogMessage::End(LogEnd {
                events: local_events,
                failure: failed,
            }));
            drop(log);
            match writer.join() {
                Ok(stats) => stats,
                Err(_) => return Err(EngineError::Bug("the log writer thread panicked".into())),
            }
        }
        _ => None,
    };
    let output = match output_writer.map(|w| w.join()) {
        Some(Ok(stats)) => stats,
        Some(Err(_)) => return Err(EngineError::Bug("the output writer thread panicked".into())),
        None => None,
    };
    // A writer that failed while finishing reported it after the failure was taken.
    let failure = failure.or_else(|| {
        shared
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    });
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(RunResult {
        digests: total.digests,
        events: total.events,
        input_epochs: total.input_epochs,
        elapsed,
        latency: latency.unwrap_or_default(),
        late_events: total.late_events,
        output,
        record,
        peak_memory_bytes: peak_memory_bytes(),
        process,
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

/// Where a worker's results go besides its digests.
struct Sinks<R> {
    rows: Option<mpsc::Sender<sink::SinkMessage<R>>>,
    gather_rows: bool,
    log: Option<mpsc::Sender<LogMessage>>,
    compress: bool,
    local_worker: usize,
}

#[allow(clippy::too_many_arguments)]
fn run_worker<J: Job>(
    worker: &mut Worker,
    job: &J,
    feed: &Feed<J::Event>,
    sinks: Sinks<J::Output>,
    epochs: EpochConfig,
    (lag, panic_at): (u64, Option<Epoch>),
    started: Instant,
    shared: &Shared,
) -> WorkerResult {
    let began = Some(Instant::now());
    let (index, peers) = (worker.index(), worker.peers());
    let ctx = JobContext::new(epochs, (index, peers));
    let local_worker = sinks.local_worker;
    let outputs = sink::SinkOutputs {
        gather_rows: sinks.gather_rows,
        rows: sinks.rows,
        log: sinks.log.clone(),
        local_worker,
    };
    let (input, probe, digests) = worker.dataflow::<Epoch, _, _>(|scope| {
        let (input, events) = scope.new_collection::<J::Event, isize>();
        let output = job.build(&ctx, events);
        let (probe, digests) = sink::attach(output, outputs);
        (input, probe, digests)
    });
    let mut feeder = Feeder {
        worker,
        input,
        probe,
        epoch: None,
        first_epoch: None,
        lag,
        panic_at,
        shared,
        fed: 0,
        unpublished: 0,
        latency: (index == 0).then(EpochLatency::default),
        recorder: sinks
            .log
            .map(|log| Recorder::new(local_worker, sinks.compress, log)),
    };
    match feed {
        Feed::Generated { events, generate } => {
            let mut index = index as u64;
            let mut epoch = 0;
            while index < *events && !shared.aborted() {
                let event = generate(index);
                epoch = match epochs.clock {
                    Clock::Event => J::event_time_ms(&event) / epochs.epoch_ms,
                    // Reading the clock costs more than generating: once per 1024 events.
                    Clock::Processing if feeder.fed.is_multiple_of(1024) => {
                        started.elapsed().as_millis() as u64 / epochs.epoch_ms
                    }
                    Clock::Processing => epoch,
                };
                feeder.advance(epoch);
                feeder.give(event);
                index += peers as u64;
            }
        }
        Feed::Dealt(receivers) => {
            let receiver = receivers.lock().unwrap_or_else(|p| p.into_inner())[local_worker]
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
                    Ok(Dealt::Encoded(epoch, block)) => {
                        feeder.advance(epoch);
                        if let Err(error) = block.decode(|event| feeder.give(event)) {
                            shared.fail(error);
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
    let finished = Some(Instant::now());
    let digests = digests.borrow().clone();
    let summary = WorkerSummary {
        digests: digests.clone(),
        events,
        input_epochs,
        late_events: ctx.late_events(),
    };
    let gathered = (!shared.aborted())
        .then(|| gather(worker, summary, shared))
        .flatten();
    WorkerResult {
        digests,
        events,
        input_epochs,
        late_events: ctx.late_events(),
        latency,
        began,
        finished,
        gathered,
    }
}

/// Sends every worker's summary to worker 0 over timely (from any process); returns them
/// all on worker 0.
fn gather(
    worker: &mut Worker,
    summary: WorkerSummary,
    shared: &Shared,
) -> Option<Vec<WorkerSummary>> {
    use timely::dataflow::operators::{Exchange as _, Input as _, Inspect as _, Probe as _};
    let gathered = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = std::rc::Rc::clone(&gathered);
    let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (input, stream) = scope.new_input::<Vec<WorkerSummary>>();
        let (probe, _) = stream
            .exchange(|_| 0)
            .inspect(move |summary| sink.borrow_mut().push(summary.clone()))
            .probe();
        (input, probe)
    });
    input.send(summary);
    input.close();
    while !probe.done() && !shared.aborted() {
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
    let all = gathered.take();
    (worker.index() == 0).then_some(all)
}

/// Feeds one worker's input, advancing epochs with backpressure, and records it.
struct Feeder<'w, E: differential_dataflow::Data> {
    worker: &'w mut Worker,
    input: InputSession<Epoch, E, isize>,
    probe: probe::Handle<Epoch>,
    epoch: Option<Epoch>,
    first_epoch: Option<Epoch>,
    lag: u64,
    panic_at: Option<Epoch>,
    shared: &'w Shared,
    fed: u64,
    unpublished: u64,
    latency: Option<EpochLatency>,
    recorder: Option<Recorder>,
}

/// Step the worker every this many events, so data flows while an epoch fills.
const STEP_EVERY: u64 = 8192;

impl<E: differential_dataflow::Data + Serialize> Feeder<'_, E> {
    fn advance(&mut self, epoch: Epoch) {
        if self.panic_at.is_some_and(|at| epoch >= at) {
            panic!("injected failure at epoch {epoch} (--inject-panic-at-epoch)");
        }
        match self.epoch {
            Some(current) if epoch <= current => return,
            None => self.first_epoch = Some(epoch),
            Some(current) => {
                if let Some(latency) = &mut self.latency {
                    latency.closed(current);
                }
            }
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.advance(epoch);
        }
        let first = self.epoch.is_none();
        self.epoch = Some(epoch);
        self.input.advance_to(epoch);
        if first {
            return;
        }
        self.input.flush();
        // Backpressure: the output may lag the input by at most `lag` epochs.
        let bound = epoch.saturating_sub(self.lag);
        while self.probe.less_than(&bound) && !self.shared.aborted() {
            self.worker.step_or_park(Some(Duration::from_millis(1)));
            self.observe();
        }
    }

    fn give(&mut self, event: E) {
        if let Some(recorder) = &mut self.recorder {
            recorder.record(&event);
        }
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
        // An aborted input is not complete: its last epoch stays open in the log.
        if !self.shared.aborted()
            && let Some(recorder) = self.recorder.take()
        {
            recorder.finish();
        }
        std::mem::replace(&mut self.input, InputSession::new()).close();
        while !self.probe.done() && !self.shared.aborted() {
            self.worker.step_or_park(Some(Duration::from_millis(1)));
            self.observe();
        }
        let epochs = self.first_epoch.zip(self.epoch);
        (self.fed, epochs, self.latency.map(|l| l.summary()))
    }
}
