//! Feeds one worker's input: advances epochs with backpressure, records what it feeds.

use std::sync::atomic::Ordering;
use std::time::Duration;

use differential_dataflow::{AsCollection, VecCollection};
use serde::Serialize;
use timely::dataflow::Scope;
use timely::dataflow::operators::probe;
use timely::dataflow::operators::vec::Input as _;
use timely::dataflow::operators::vec::input::Handle as InputHandle;
use timely::worker::Worker;

use super::shared::Shared;
use super::worker::CURRENT_EPOCH;
use crate::Epoch;
use crate::log::Recorder;
use crate::metrics::{EpochLatency, LatencySummary};

/// Feeds one worker's input, advancing epochs with backpressure, and records it.
pub(super) struct Feeder<'w, E: differential_dataflow::Data> {
    pub(super) worker: &'w mut Worker,
    pub(super) input: EventInput<E>,
    pub(super) probe: probe::Handle<Epoch>,
    pub(super) epoch: Option<Epoch>,
    pub(super) first_epoch: Option<Epoch>,
    pub(super) lag: u64,
    pub(super) panic_at: Option<Epoch>,
    pub(super) shared: &'w Shared,
    pub(super) fed: u64,
    pub(super) unpublished: u64,
    pub(super) latency: Option<EpochLatency>,
    pub(super) recorder: Option<Recorder>,
}

/// Step the worker every this many events, so data flows while an epoch fills.
const STEP_EVERY: u64 = 8192;

impl<E: differential_dataflow::Data + Serialize> Feeder<'_, E> {
    pub(super) fn advance(&mut self, epoch: Epoch) {
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

    pub(super) fn give(&mut self, event: E) {
        if let Some(recorder) = &mut self.recorder {
            recorder.record(&event);
        }
        self.insert(event);
    }

    /// Gives generated events, the first at index `first`, each `step` after the last.
    /// They move once, straight into the input's buffer: given one at a time, each was
    /// copied through the stack first, and the copy's loads waited on its stores.
    pub(super) fn give_generated(&mut self, first: u64, step: u64, events: std::vec::Drain<'_, E>) {
        if let Some(recorder) = &mut self.recorder {
            recorder.record_generated(first, step, events.as_slice());
        }
        self.feed(events);
    }

    /// Gives events read or replayed, in order.
    pub(super) fn give_all(&mut self, events: std::vec::Drain<'_, E>) {
        if let Some(recorder) = &mut self.recorder {
            recorder.record_all(events.as_slice());
        }
        self.feed(events);
    }

    fn feed(&mut self, events: std::vec::Drain<'_, E>) {
        let count = events.len() as u64;
        self.input.extend(events);
        self.count_fed(count);
    }

    #[inline]
    fn insert(&mut self, event: E) {
        self.input.insert(event);
        self.count_fed(1);
    }

    /// Counts `count` more events fed; every `STEP_EVERY` publishes the count for the
    /// progress bar and steps the worker, so data flows while an epoch fills.
    #[inline]
    fn count_fed(&mut self, count: u64) {
        self.fed += count;
        self.unpublished += count;
        if self.unpublished >= STEP_EVERY {
            self.publish_and_step();
        }
    }

    #[cold]
    fn publish_and_step(&mut self) {
        self.shared
            .events
            .fetch_add(self.unpublished, Ordering::Relaxed);
        self.unpublished = 0;
        self.worker.step();
        self.observe();
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
    pub(super) fn finish(mut self) -> (u64, Option<(Epoch, Epoch)>, Option<LatencySummary>) {
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
        self.input.close();
        while !self.probe.done() && !self.shared.aborted() {
            self.worker.step_or_park(Some(Duration::from_millis(1)));
            self.observe();
        }
        let epochs = self.first_epoch.zip(self.epoch);
        (self.fed, epochs, self.latency.map(|l| l.summary()))
    }
}

/// A worker's input: what differential's `InputSession` does (a buffer of updates at the
/// current epoch, handed to timely's input handle a batch at a time), with the push of an
/// event inlined where it is fed. Through `InputSession::update`, a call the compiler kept
/// out of line, every event was copied twice more, the second copy's loads waiting on the
/// first's stores: 11% of Nexmark q2's samples.
pub(super) struct EventInput<E: differential_dataflow::Data> {
    handle: InputHandle<Epoch, (E, Epoch, isize)>,
    buffer: Vec<(E, Epoch, isize)>,
    epoch: Epoch,
}

/// Updates handed to timely at a time, as `InputSession` does.
const BATCH: usize = 1024;

impl<E: differential_dataflow::Data> EventInput<E> {
    /// A new input of `scope` at epoch 0, and its collection.
    pub(super) fn new<'s>(scope: Scope<'s, Epoch>) -> (Self, VecCollection<'s, Epoch, E>) {
        let (handle, stream) = scope.new_input();
        let input = Self {
            handle,
            buffer: Vec::with_capacity(BATCH),
            epoch: 0,
        };
        (input, stream.as_collection())
    }

    #[inline]
    fn insert(&mut self, event: E) {
        if self.buffer.len() == self.buffer.capacity() {
            self.send();
        }
        self.buffer.push((event, self.epoch, 1));
    }

    /// Moves `events` into the buffer, sending it whenever it is full: a batch that
    /// outgrew its capacity would be copied whole into a new allocation.
    fn extend(&mut self, mut events: impl ExactSizeIterator<Item = E>) {
        let epoch = self.epoch;
        while events.len() > 0 {
            let space = self.buffer.capacity() - self.buffer.len();
            if space == 0 {
                self.send();
                continue;
            }
            let fill = events.by_ref().take(space).map(|event| (event, epoch, 1));
            self.buffer.extend(fill);
        }
    }

    #[cold]
    fn send(&mut self) {
        if !self.buffer.is_empty() {
            self.handle.send_batch(&mut self.buffer);
        }
        self.buffer.reserve(BATCH);
    }

    /// Later events are at `epoch` (not before the current one).
    fn advance_to(&mut self, epoch: Epoch) {
        debug_assert!(self.epoch <= epoch);
        self.epoch = epoch;
    }

    /// Hands the buffered events to timely and tells it no earlier epoch will come.
    fn flush(&mut self) {
        self.send();
        if *self.handle.time() < self.epoch {
            self.handle.advance_to(self.epoch);
        }
    }

    /// Flushes and closes the input: no more events.
    fn close(&mut self) {
        self.flush();
        let closed = InputHandle::new();
        drop(std::mem::replace(&mut self.handle, closed));
    }
}
