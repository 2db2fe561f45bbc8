//! Feeds one worker's input: advances epochs with backpressure, records what it feeds.

use std::sync::atomic::Ordering;
use std::time::Duration;

use differential_dataflow::input::InputSession;
use serde::Serialize;
use timely::dataflow::operators::probe;
use timely::worker::Worker;

use super::shared::Shared;
use super::worker::CURRENT_EPOCH;
use crate::Epoch;
use crate::log::Recorder;
use crate::metrics::{EpochLatency, LatencySummary};

/// Feeds one worker's input, advancing epochs with backpressure, and records it.
pub(super) struct Feeder<'w, E: differential_dataflow::Data> {
    pub(super) worker: &'w mut Worker,
    pub(super) input: InputSession<Epoch, E, isize>,
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

    /// Gives generated event `index`, the one `step` after this worker's last.
    #[inline]
    pub(super) fn give_generated(&mut self, index: u64, step: u64, event: E) {
        if let Some(recorder) = &mut self.recorder {
            recorder.record_generated(index, step, &event);
        }
        self.insert(event);
    }

    #[inline]
    fn insert(&mut self, event: E) {
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
        std::mem::replace(&mut self.input, InputSession::new()).close();
        while !self.probe.done() && !self.shared.aborted() {
            self.worker.step_or_park(Some(Duration::from_millis(1)));
            self.observe();
        }
        let epochs = self.first_epoch.zip(self.epoch);
        (self.fed, epochs, self.latency.map(|l| l.summary()))
    }
}
