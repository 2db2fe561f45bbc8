//! The runtime: starts worker threads, feeds sources with backpressure, collects digests.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cluster::{ClusterSpec, preflight};
use crate::digest::DigestLog;
use crate::log::{
    ChecksumGenerated, LogEnd, LogMessage, RecordGenerated, RecordSpec, RecordStats, write_log,
};
use crate::metrics::{LatencySummary, peak_memory_bytes};
use crate::output::{ClosingEpoch, OutputSpec, OutputStats, write_output};
use crate::preview::{Preview, PreviewShare};
use crate::source::{Dealing, Dealt, Source, deal};
use crate::{EngineError, Epoch, EpochConfig, Job};

mod feeder;
mod shared;
mod worker;

pub(crate) use shared::polled;
use shared::{Shared, helper, writer};
use worker::{CURRENT_EPOCH, Feed, Sinks, WorkerResult, WorkerSummary, run_worker};

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
    /// Also record each epoch's output rows in the log, so a replay that differs can show
    /// the rows (`--record-output`).
    pub record_output: bool,
    /// Set to stop the run early (Ctrl-C); completed epochs stay in the output and log.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// For tests of failure handling: worker 0 panics when its input reaches this epoch
    /// (set with [`RunConfig::inject_panic_at`], feature `test-hooks`).
    inject_panic_at: Option<Epoch>,
    /// Run as one process of a timely cluster; `workers` is then the count per process.
    pub cluster: Option<ClusterSpec>,
    /// Whether the reader thread decodes a replayed log's events (until it meets events
    /// that own heap memory) rather than each worker its own blocks; `None` (the
    /// default): when the machine has a core beyond the workers.
    pub decode_replay_on_reader: Option<bool>,
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
            record_output: false,
            interrupt: None,
            inject_panic_at: None,
            cluster: None,
            decode_replay_on_reader: None,
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
    /// A few rows of the results: the last windows to close, or the last new rows.
    pub preview: Option<Preview>,
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

    let closing_job = Arc::clone(&job);
    let closing: ClosingEpoch<J::Output> =
        Arc::new(move |record| closing_job.closing_epoch(record, &epochs));
    // Worker 0 (in process 0) gathers the rows and hands them to the only output writer.
    let gather_rows = config.output.is_some();
    let (rows_tx, output_writer) = match config.output.clone().filter(|_| process == 0) {
        Some(spec) => {
            let (tx, rx) = mpsc::channel();
            let closing = Arc::clone(&closing);
            let output = writer("output", &shared, move || {
                write_output(spec, 1, closing, rx)
            })?;
            (Some(tx), Some(output))
        }
        None => (None, None),
    };
    let generated_as = record_generated(config);
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
            let checksum = checksum_generated::<J>(&source, &generated_as);
            let log = writer("log", &shared, move || {
                write_log(spec, workers, rx, checksum)
            })?;
            (Some(tx), Some(log))
        }
        None => (None, None),
    };
    let record_rows = config.record.is_some() && config.record_output;
    let Feeding {
        total_events,
        feed,
        reader,
    } = start_feed::<J>(
        source,
        config.decode_replay_on_reader,
        epochs,
        started,
        (process, processes),
        workers,
        &shared,
    )?;

    let worker_shared = Arc::clone(&shared);
    let worker_log = log_tx.clone();
    let guards = timely::execute(timely_config(config, process), move |worker| {
        let index = worker.index();
        let shared = Arc::clone(&worker_shared);
        let sinks = Sinks {
            rows: rows_tx.clone().filter(|_| index == 0),
            gather_rows,
            log: worker_log.clone(),
            generated_as: generated_as.clone(),
            local_worker: index - process * workers,
            closing: Arc::clone(&closing),
            record_rows,
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
        let result = catch_unwind(body).unwrap_or_else(|payload| {
            shared.fail(EngineError::WorkerPanic {
                worker: index,
                epoch: CURRENT_EPOCH.with(|e| *e.borrow()),
                message: panic_message(payload.as_ref()),
            });
            WorkerResult::default()
        });
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

    // When a peer dies, timely's communication threads panic, and so does dropping them:
    // the run has failed then, and the failure says why.
    let joined = catch_unwind(AssertUnwindSafe(|| guards.join())).unwrap_or_else(|_| {
        shared.fail(EngineError::Bug(
            "timely's communication threads failed".into(),
        ));
        Vec::new()
    });
    let workers = Joined::from(joined)?;
    if let Some(liveness) = liveness {
        blame_lost_peer(&shared, liveness);
    }
    let elapsed = workers.elapsed.unwrap_or_else(|| started.elapsed());

    let mut failure = shared.take_failure();
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
                events: workers.local_events,
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
    if let Some(error) = failure.or_else(|| shared.take_failure()) {
        return Err(error);
    }
    let total = workers.total;
    let previews: Vec<&PreviewShare> = workers.summaries.iter().map(|s| &s.preview).collect();
    let preview = crate::preview::merge::<J::Output>(&previews);
    Ok(RunResult {
        digests: total.digests,
        events: total.events,
        input_epochs: total.input_epochs,
        elapsed,
        latency: workers.latency.unwrap_or_default(),
        late_events: total.late_events,
        output,
        record,
        peak_memory_bytes: peak_memory_bytes(),
        process,
        preview,
    })
}

/// The source's events, as the workers get them: generated in place by each worker, or
/// read and dealt by a reader thread (returned, with the count if it is known).
fn start_feed<J: Job>(
    source: Source<J::Event>,
    decode_replay: Option<bool>,
    epochs: EpochConfig,
    started: Instant,
    share: (usize, usize),
    workers: usize,
    shared: &Arc<Shared>,
) -> Result<Feeding<J::Event>, EngineError> {
    Ok(match source {
        Source::Generated { events, generate } => Feeding {
            total_events: Some(events),
            feed: Arc::new(Feed::Generated { events, generate }),
            reader: None,
        },
        source => {
            // With a core to spare, the reader may decode a replay's blocks; else each
            // worker decodes those dealt to it (with the generator, for generated events).
            let decode_replay = decode_replay.unwrap_or_else(|| core_to_spare(workers));
            let generate = match &source {
                Source::Replay { generate, .. } => generate.clone(),
                _ => None,
            };
            let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers)
                .map(|_| mpsc::sync_channel::<Dealt<J::Event>>(64))
                .unzip();
            let reader_shared = Arc::clone(shared);
            let reader = helper("reader", move || {
                deal(
                    source,
                    J::event_time_ms,
                    epochs,
                    started,
                    senders,
                    Dealing {
                        share,
                        decode_replay,
                        stop: &|| reader_shared.aborted(),
                        fail: &|error| reader_shared.fail(error),
                    },
                )
            })?;
            let receivers = receivers.into_iter().map(Some).collect();
            Feeding {
                total_events: None,
                feed: Arc::new(Feed::Dealt {
                    receivers: Mutex::new(receivers),
                    generate,
                }),
                reader: Some(reader),
            }
        }
    })
}

/// How generated events are recorded: their indices, checksummed by the log writer while
/// it keeps up when a core is left for it (it makes the events again), else by the
/// workers as they feed them; or, with `--record-full`, the events themselves.
fn record_generated(config: &RunConfig) -> RecordGenerated {
    match &config.record {
        Some(spec) if spec.full => RecordGenerated::Events,
        _ if core_to_spare(config.workers) => RecordGenerated::Offloaded(Default::default()),
        _ => RecordGenerated::Indices,
    }
}

/// Whether this machine has a core beyond `workers` for a helper thread's share of the
/// work (checksumming a recording, decoding a replay); else the workers do it themselves.
fn core_to_spare(workers: usize) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    workers < cores
}

/// For generated events the workers hand over unchecksummed: how the log writer
/// checksums a block, making its events again with the run's generator.
fn checksum_generated<J: Job>(
    source: &Source<J::Event>,
    generated_as: &RecordGenerated,
) -> Option<ChecksumGenerated> {
    let (Source::Generated { generate, .. }, RecordGenerated::Offloaded(backlog)) =
        (source, generated_as)
    else {
        return None;
    };
    let generate = generate.clone();
    Some(ChecksumGenerated {
        checksum: Box::new(move |block| {
            let mut sum = crate::log::EventsChecksum::new();
            generate.for_each_block(block.indices(), |events| sum.add_all(events));
            sum.finish()
        }),
        backlog: backlog.clone(),
    })
}

/// How the workers get the source's events, and the thread that reads them, if any.
struct Feeding<E> {
    /// The number of events, if known in advance.
    total_events: Option<u64>,
    feed: Arc<Feed<E>>,
    reader: Option<Reader>,
}

/// The reader thread: it returns the number of events it dealt.
type Reader = std::thread::JoinHandle<Result<u64, EngineError>>;

/// Timely's configuration: threads in this process, or this process's place in a cluster.
fn timely_config(config: &RunConfig, process: usize) -> timely::Config {
    match &config.cluster {
        None => timely::Config::process(config.workers),
        Some(spec) => timely::Config {
            communication: timely::CommunicationConfig::Cluster {
                threads: config.workers,
                process,
                addresses: spec.addresses.clone(),
                report: false,
                zerocopy: false,
            },
            worker: timely::WorkerConfig::default(),
        },
    }
}

/// A panic's message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_string())
}

/// When a cluster run fails, a lost peer is the reason to report (a broken connection
/// makes timely's own threads fail first), and says which process to look at.
fn blame_lost_peer(shared: &Shared, liveness: crate::cluster::Liveness) {
    let mut failure = shared.failure.lock().unwrap_or_else(|p| p.into_inner());
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

/// This process's workers' results, joined.
struct Joined {
    /// The whole run (on process 0), or this process's share.
    total: WorkerSummary,
    /// Every worker's summary (on process 0), or this process's workers'.
    summaries: Vec<WorkerSummary>,
    /// The events this process's workers fed.
    local_events: u64,
    /// Worker 0's epoch latency.
    latency: Option<LatencySummary>,
    /// From the first worker's start (after a cluster has connected) to the last one's end.
    elapsed: Option<Duration>,
}

impl Joined {
    fn from(results: Vec<Result<WorkerResult, String>>) -> Result<Self, EngineError> {
        let mut local = Vec::new();
        let (mut latency, mut began, mut finished, mut gathered) =
            (None, None::<Instant>, None, None);
        for result in results {
            let result =
                result.map_err(|e| EngineError::Bug(format!("worker thread failed: {e}")))?;
            latency = latency.or(result.latency);
            local.push(result.summary);
            finished = finished.max(result.finished);
            began = match (began, result.began) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            gathered = gathered.or(result.gathered);
        }
        // Process 0 reports the whole run; another process only what its own workers did.
        let local_events = local.iter().map(|s| s.events).sum();
        let summaries = gathered.unwrap_or(local);
        let mut total = WorkerSummary::default();
        for summary in &summaries {
            total.digests.merge(&summary.digests);
            total.events += summary.events;
            total.late_events += summary.late_events;
            total.input_epochs = match (total.input_epochs, summary.input_epochs) {
                (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                (a, b) => a.or(b),
            };
        }
        Ok(Joined {
            total,
            summaries,
            local_events,
            latency,
            elapsed: began
                .zip(finished)
                .map(|(began, finished)| finished.saturating_duration_since(began)),
        })
    }
}
