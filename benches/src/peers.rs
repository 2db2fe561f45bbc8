//! `filter-count` written by hand, as a user of timely or differential would write it
//! without Reprise: the peers Reprise's end-to-end throughput is measured against.
//!
//! The configuration is fixed to the one the peers are written for: a tumbling window as
//! long as an epoch, no lateness, so window `e` (events with `ts / window_ms == e`) is
//! complete when epoch `e` is, and its count is retracted at epoch `e + 1`. Each peer
//! digests the updates it would emit, `+(start, key, count)` at `e` and its retraction at
//! `e + 1` (the same updates as Reprise's window collection), with the engine's record
//! hash, so its answer can be checked against the workload's baseline.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use differential_dataflow::AsCollection;
use differential_dataflow::operators::CountTotal;
use reprise_datasets::{FilterEvent, FilterEvents, Generator};
use reprise_engine::digest::{DigestLog, EpochDigest, record_hash};
use rustc_hash::FxHashMap;
use serde::Serialize;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::probe::Handle;
use timely::dataflow::operators::vec::{Filter, Map};
use timely::dataflow::operators::{Input, Inspect, Operator, Probe};

/// What the peers compute: `filter-count` with these parameters over `events` events.
#[derive(Clone, Debug)]
pub struct FilterCountSetup {
    /// The generator (seed, rate, ids, values).
    pub dataset: FilterEvents,
    /// Number of events, indices `0..events`.
    pub events: u64,
    /// Keep events with `value > threshold`.
    pub threshold: u64,
    /// The key is `id % partitions`.
    pub partitions: u64,
    /// Window and epoch length, in milliseconds.
    pub window_ms: u64,
}

/// The output record, field for field the workload's `WindowCount` (same hash).
#[derive(Serialize)]
struct WindowCount {
    window_start: u64,
    key: u64,
    count: i64,
}

/// Adds window `window`'s final count of `key` to `digests`: inserted at the window's
/// epoch, retracted at the next.
fn digest_window(digests: &mut DigestLog, window: u64, window_ms: u64, key: u64, count: i64) {
    let hash = record_hash(&WindowCount {
        window_start: window * window_ms,
        key,
        count,
    });
    for (epoch, diff) in [(window, 1), (window + 1, -1)] {
        let mut share = EpochDigest::default();
        share.add(hash, diff);
        digests.add(epoch, share);
    }
}

/// Where a peer's workers add the digests of what they emit.
type Sink = Rc<RefCell<DigestLog>>;

/// Runs a peer on `workers` threads: on each, `count` builds the counting part of the
/// dataflow from the events that pass the filter, which is then fed the worker's share of
/// the events and run to completion. Returns the merged digests.
fn run_peer<C>(setup: &FilterCountSetup, workers: usize, count: C) -> DigestLog
where
    C: for<'s> Fn(StreamVec<'s, u64, FilterEvent>, &FilterCountSetup, Sink) -> Handle<u64>
        + Send
        + Sync
        + 'static,
{
    let setup = setup.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let digests = Sink::default();
        let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, events) = scope.new_input::<Vec<FilterEvent>>();
            let threshold = setup.threshold;
            let kept = events.filter(move |e| e.value > threshold);
            (input, count(kept, &setup, Rc::clone(&digests)))
        });
        feed(&setup, worker, &mut input, &probe);
        drop(input);
        while worker.step_or_park(None) {}
        digests.take()
    })
    .expect("the peer's workers start");
    let mut digests = DigestLog::default();
    for result in guards.join() {
        digests.merge(&result.expect("a peer's worker panicked"));
    }
    digests
}

/// Feeds this worker's share of the events (index `i` to worker `i % workers`), one
/// epoch at a time, with at most one epoch in flight behind the one being fed.
fn feed(
    setup: &FilterCountSetup,
    worker: &mut timely::worker::Worker,
    input: &mut timely::dataflow::InputHandle<u64, CapacityContainerBuilder<Vec<FilterEvent>>>,
    probe: &Handle<u64>,
) {
    let (index, peers) = (worker.index() as u64, worker.peers() as u64);
    let mut fed = 0;
    for i in (index..setup.events).step_by(peers as usize) {
        let event = setup.dataset.generate(i);
        let epoch = event.ts / setup.window_ms;
        if epoch > *input.time() {
            input.advance_to(epoch);
            while probe.less_than(&(epoch - 1)) {
                worker.step();
            }
        }
        input.send(event);
        fed += 1;
        if fed % 4096 == 0 {
            worker.step();
        }
    }
}

/// A timely operator by hand: filter, exchange events by key, count them in a hash map per
/// window, and emit each window's counts when its epoch is complete.
pub fn timely_operator(setup: &FilterCountSetup, workers: usize) -> DigestLog {
    run_peer(setup, workers, |kept, setup, sink| {
        let (partitions, window_ms) = (setup.partitions, setup.window_ms);
        let exchange = Exchange::new(move |e: &FilterEvent| e.id % partitions);
        kept.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
            exchange,
            "CountPerWindow",
            move |_, _| {
                let mut windows: HashMap<u64, (_, FxHashMap<u64, i64>)> = HashMap::new();
                move |(input, frontier), _output| {
                    input.for_each(|cap, batch| {
                        let epoch = *cap.time();
                        let (_, counts) = windows
                            .entry(epoch)
                            .or_insert_with(|| (cap.delayed(&epoch, 0), FxHashMap::default()));
                        for event in batch.drain(..) {
                            *counts.entry(event.id % partitions).or_default() += 1;
                        }
                    });
                    windows.retain(|window, (_, counts)| {
                        if frontier.less_equal(window) {
                            return true;
                        }
                        let mut digests = sink.borrow_mut();
                        for (key, count) in counts.drain() {
                            digest_window(&mut digests, *window, window_ms, key, count);
                        }
                        false
                    });
                }
            },
        )
        .probe()
        .0
    })
}

/// A differential program by hand: each kept event enters `(window, key)` at its epoch and
/// leaves at the window's close, and `count_total` keeps the counts.
pub fn differential_count_total(setup: &FilterCountSetup, workers: usize) -> DigestLog {
    run_peer(setup, workers, |kept, setup, sink| {
        let (partitions, window_ms) = (setup.partitions, setup.window_ms);
        kept.flat_map(move |e| {
            let window = e.ts / window_ms;
            let key = (window, e.id % partitions);
            [(key, window, 1isize), (key, window + 1, -1)]
        })
        .as_collection()
        .count_total()
        .inner
        .inspect(move |(((window, key), count), epoch, diff)| {
            let hash = record_hash(&WindowCount {
                window_start: window * window_ms,
                key: *key,
                count: *count as i64,
            });
            let mut share = EpochDigest::default();
            share.add(hash, *diff as i64);
            sink.borrow_mut().add(*epoch, share);
        })
        .probe()
        .0
    })
}
