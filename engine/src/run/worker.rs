//! One worker: builds the job's dataflow, feeds it its share of the input, and reports
//! what it saw.

use std::sync::Mutex;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use timely::worker::Worker;

use super::feeder::{EventInput, Feeder};
use super::shared::Shared;
use crate::digest::DigestLog;
use crate::log::{LogMessage, RecordGenerated, Recorder};
use crate::metrics::{EpochLatency, LatencySummary};
use crate::output::ClosingEpoch;
use crate::preview::PreviewShare;
use crate::source::{Dealt, DealtReceiver};
use crate::{Clock, Epoch, EpochConfig, Generate, Indices, Job, JobContext, sink};

thread_local! {
    /// The earliest incomplete epoch on this worker thread, for panic reports.
    pub(super) static CURRENT_EPOCH: std::cell::RefCell<Epoch> = const { std::cell::RefCell::new(0) };
}

/// One worker's results.
#[derive(Debug, Default)]
pub(super) struct WorkerResult {
    /// What it sends worker 0.
    pub(super) summary: WorkerSummary,
    pub(super) latency: Option<LatencySummary>,
    pub(super) began: Option<Instant>,
    pub(super) finished: Option<Instant>,
    /// On global worker 0: every worker's summary, gathered over timely.
    pub(super) gathered: Option<Vec<WorkerSummary>>,
}

/// What each worker sends worker 0 at the end of a run.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct WorkerSummary {
    pub(super) digests: DigestLog,
    pub(super) events: u64,
    pub(super) input_epochs: Option<(Epoch, Epoch)>,
    pub(super) late_events: u64,
    pub(super) preview: PreviewShare,
}

/// How the workers get their events.
pub(super) enum Feed<E> {
    Generated {
        events: u64,
        generate: Generate<E>,
    },
    Dealt {
        receivers: Mutex<Vec<Option<DealtReceiver<E>>>>,
        /// The generator of a replayed log that recorded generated events by index.
        generate: Option<Generate<E>>,
    },
}

/// Where a worker's results go besides its digests.
pub(super) struct Sinks<R> {
    pub(super) rows: Option<mpsc::Sender<sink::SinkMessage<R>>>,
    pub(super) gather_rows: bool,
    pub(super) log: Option<mpsc::Sender<LogMessage>>,
    /// How to record generated events.
    pub(super) generated_as: RecordGenerated,
    pub(super) local_worker: usize,
    pub(super) closing: ClosingEpoch<R>,
    pub(super) record_rows: bool,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_worker<J: Job>(
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
        closing: sinks.closing,
        record_rows: sinks.record_rows,
    };
    let (input, probe, shares) = worker.dataflow::<Epoch, _, _>(|scope| {
        let (input, events) = EventInput::new(scope);
        let output = job.build(&ctx, events);
        let (probe, shares) = sink::attach(output, outputs);
        (input, probe, shares)
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
            .map(|log| Recorder::new(local_worker, sinks.generated_as, log)),
    };
    match feed {
        Feed::Generated { events, generate } => {
            feed_generated::<J>(
                &mut feeder,
                generate,
                *events,
                (index, peers),
                epochs,
                started,
            );
        }
        Feed::Dealt {
            receivers,
            generate,
        } => {
            let receiver = receivers.lock().unwrap_or_else(|p| p.into_inner())[local_worker]
                .take()
                .expect("each worker takes its own receiver once");
            while !shared.aborted() {
                match receiver.try_recv() {
                    Ok(Dealt::Events(epoch, mut events)) => {
                        feeder.advance(epoch);
                        feeder.give_all(events.drain(..));
                    }
                    Ok(Dealt::Encoded(epoch, block)) => {
                        feeder.advance(epoch);
                        if let Err(error) = block.replay(generate.as_ref(), |e| feeder.give(e)) {
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
    let summary = WorkerSummary {
        digests: shares.digests.borrow().clone(),
        events,
        input_epochs,
        late_events: ctx.late_events(),
        preview: shares.preview.borrow().share(),
    };
    let gathered = (!shared.aborted())
        .then(|| gather(worker, summary.clone(), shared))
        .flatten();
    WorkerResult {
        summary,
        latency,
        began,
        finished,
        gathered,
    }
}

/// Feeds this worker's share of a generated input, indices `index, index + peers, ...` of
/// `events`, made a block at a time. Event times never decrease with the index, so under
/// the event clock an event's epoch is computed again only when it passes the current
/// epoch's end, not divided out per event.
fn feed_generated<J: Job>(
    feeder: &mut Feeder<'_, J::Event>,
    generate: &Generate<J::Event>,
    events: u64,
    (index, peers): (usize, usize),
    epochs: EpochConfig,
    started: Instant,
) {
    let step = peers as u64;
    let first = index as u64;
    let share = Indices::new(first, step, events.saturating_sub(first).div_ceil(step));
    let mut block = Vec::with_capacity(Generate::<J::Event>::BLOCK as usize);
    // Under the event clock, the current epoch ends at this time (exclusive).
    let mut epoch_end = 0;
    for indices in share.chunks(Generate::<J::Event>::BLOCK) {
        if feeder.shared.aborted() {
            break;
        }
        generate.fill(indices, &mut block);
        if epochs.clock == Clock::Processing {
            // Reading the clock costs more than generating: once a block.
            feeder.advance(started.elapsed().as_millis() as u64 / epochs.epoch_ms);
        }
        let mut first = indices.first;
        while !block.is_empty() {
            // The events up to the next epoch's first.
            let run = match epochs.clock {
                Clock::Event => {
                    let time = J::event_time_ms(&block[0]);
                    if time >= epoch_end {
                        let epoch = time / epochs.epoch_ms;
                        epoch_end = epoch.saturating_add(1).saturating_mul(epochs.epoch_ms);
                        feeder.advance(epoch);
                    }
                    // The first event is in the current epoch (also at the largest times,
                    // where `epoch_end` saturates).
                    1 + block[1..]
                        .iter()
                        .position(|event| J::event_time_ms(event) >= epoch_end)
                        .unwrap_or(block.len() - 1)
                }
                Clock::Processing => block.len(),
            };
            feeder.give_generated(first, step, block.drain(..run));
            first += run as u64 * step;
        }
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
