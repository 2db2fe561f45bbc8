//! Tumbling windows over event time, as differential collections.
//!
//! A window's id (its start time) is data. An event enters its window as an update at its
//! epoch; the window's value leaves the collection by a retraction at the window's
//! closing epoch (window end plus allowed lateness), so closed windows hold no state.
//!
//! [`WindowSum::window_sum`] is the window operator (tumbling and hopping windows). It produces exactly the updates of
//! the simple differential idiom (an insert at the event's epoch and a retraction at the
//! close, then a per-key sum), but faster:
//! 1. each worker pre-aggregates an epoch's updates per `(window, key)` before anything
//!    crosses a worker boundary, and
//! 2. the owning worker keeps one running sum per `(window, key)` and holds retractions
//!    in the operator until the frontier reaches the close, instead of leaving them in an
//!    arrangement's merge batcher.
//!
//! Late events: an event whose epoch is at or past its window's closing epoch is dropped
//! and counted ([`JobContext::late_events`]). With the event clock this happens only to
//! out-of-order input beyond the allowed lateness.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;

use crate::{EngineError, Epoch, EpochConfig, HeldPerEpoch, JobContext};

/// Fixed-size, non-overlapping windows of event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TumblingWindow {
    /// Window length in milliseconds.
    pub size_ms: u64,
    /// How long after its end a window still accepts late events, in milliseconds.
    pub lateness_ms: u64,
}

impl TumblingWindow {
    /// A window of `size_ms` (at least 1) accepting events up to `lateness_ms` late.
    pub fn new(size_ms: u64, lateness_ms: u64) -> Result<Self, EngineError> {
        if size_ms == 0 {
            return Err(EngineError::config("window size must be at least 1 ms"));
        }
        Ok(Self {
            size_ms,
            lateness_ms,
        })
    }

    /// The start of the window holding event time `time_ms`: the window's id.
    ///
    /// # Examples
    /// ```
    /// use reprise_engine::window::TumblingWindow;
    /// let window = TumblingWindow::new(1000, 0).unwrap();
    /// assert_eq!(window.start_of(2345), 2000);
    /// ```
    pub fn start_of(&self, time_ms: u64) -> u64 {
        time_ms - time_ms % self.size_ms
    }

    /// The epoch at which the window starting at `start_ms` closes and is retracted.
    pub fn closing_epoch(&self, start_ms: u64, epochs: &EpochConfig) -> Epoch {
        epochs.closing_epoch(start_ms + self.size_ms + self.lateness_ms)
    }
}

/// Overlapping windows of event time: `size_ms` long, one starting every `slide_ms`
/// (Flink's HOP). Each event belongs to `size_ms / slide_ms` windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoppingWindow {
    /// Window length in milliseconds.
    pub size_ms: u64,
    /// Time between window starts in milliseconds.
    pub slide_ms: u64,
    /// How long after its end a window still accepts late events, in milliseconds.
    pub lateness_ms: u64,
}

impl HoppingWindow {
    /// Windows of `size_ms`, one every `slide_ms` (which must divide `size_ms`).
    pub fn new(size_ms: u64, slide_ms: u64, lateness_ms: u64) -> Result<Self, EngineError> {
        if slide_ms == 0 || size_ms == 0 || !size_ms.is_multiple_of(slide_ms) {
            return Err(EngineError::config(format!(
                "a hopping window needs a slide that divides its size (size {size_ms} ms, slide {slide_ms} ms)"
            )));
        }
        Ok(Self {
            size_ms,
            slide_ms,
            lateness_ms,
        })
    }
}

/// How a window kind assigns event times to windows, each identified by its start.
pub trait WindowAssigner: Copy + Send + 'static {
    /// Calls `each` with the start of every window holding `time_ms`.
    fn for_each_start(&self, time_ms: u64, each: impl FnMut(u64));
    /// The epoch at which the window starting at `start_ms` closes and is retracted.
    fn closing_epoch(&self, start_ms: u64, epochs: &EpochConfig) -> Epoch;
}

impl WindowAssigner for TumblingWindow {
    fn for_each_start(&self, time_ms: u64, mut each: impl FnMut(u64)) {
        each(self.start_of(time_ms));
    }
    fn closing_epoch(&self, start_ms: u64, epochs: &EpochConfig) -> Epoch {
        TumblingWindow::closing_epoch(self, start_ms, epochs)
    }
}

impl WindowAssigner for HoppingWindow {
    fn for_each_start(&self, time_ms: u64, mut each: impl FnMut(u64)) {
        let mut start = time_ms - time_ms % self.slide_ms;
        loop {
            each(start);
            if start < self.slide_ms || start - self.slide_ms + self.size_ms <= time_ms {
                break;
            }
            start -= self.slide_ms;
        }
    }
    fn closing_epoch(&self, start_ms: u64, epochs: &EpochConfig) -> Epoch {
        epochs.closing_epoch(start_ms + self.size_ms + self.lateness_ms)
    }
}

/// Windowed aggregation of a collection of `(key, event_time_ms, value)`.
pub trait WindowSum<'s, K> {
    /// Per window and key, the sum of `value * diff`: a collection of
    /// `(window_start_ms, key, sum)` that changes as the window fills and is retracted at
    /// the window's close. With `value = 1` it counts events.
    fn window_sum<W: WindowAssigner>(
        self,
        window: W,
        ctx: &JobContext,
    ) -> VecCollection<'s, Epoch, (u64, K, i64)>;
}

type Partial<K> = ((u64, K), Epoch, i64);

impl<'s, K> WindowSum<'s, K> for VecCollection<'s, Epoch, (K, u64, i64)>
where
    K: ExchangeData + Hash + Eq,
{
    fn window_sum<W: WindowAssigner>(
        self,
        window: W,
        ctx: &JobContext,
    ) -> VecCollection<'s, Epoch, (u64, K, i64)> {
        let epochs = ctx.epochs;
        let late_counter = ctx.clone();

        // Stage 1, on the worker that fed the event: one partial sum per (window, key) and
        // epoch, released when the epoch is complete.
        let partials = self
            .inner
            .unary_frontier::<CapacityContainerBuilder<Vec<Partial<K>>>, _, _, _>(
                Pipeline,
                "WindowPreAggregate",
                move |_, _| {
                    let mut open: HeldPerEpoch<FxHashMap<(u64, K), i64>> = HeldPerEpoch::new();
                    move |(input, frontier), output| {
                        input.for_each(|cap, batch| {
                            for run in batch.chunk_by(|a, b| a.1 == b.1) {
                                let time = run[0].1;
                                let (_, sums) = open.entry(time).or_insert_with(|| {
                                    (cap.delayed(&time, 0), FxHashMap::default())
                                });
                                let mut late = 0;
                                for ((key, event_time, value), _, diff) in run {
                                    // Processing time windows by arrival: the epoch's start.
                                    let at = epochs.time_ms(*event_time, time);
                                    window.for_each_start(at, |start| {
                                        if window.closing_epoch(start, &epochs) <= time {
                                            late += 1;
                                        } else {
                                            *sums.entry((start, key.clone())).or_insert(0) +=
                                                value * *diff as i64;
                                        }
                                    });
                                }
                                if late > 0 {
                                    late_counter.count_late(late);
                                }
                            }
                            batch.clear();
                        });
                        while let Some(entry) = open.first_entry() {
                            if frontier.less_equal(entry.key()) {
                                break;
                            }
                            let (time, (cap, sums)) = entry.remove_entry();
                            let mut session = output.session(&cap);
                            for (window_key, sum) in sums {
                                if sum != 0 {
                                    session.give((window_key, time, sum));
                                }
                            }
                        }
                    }
                },
            );

        // Stage 2, on the worker that owns the key: running sums, emitted as changes when an
        // epoch completes, and retracted when the window closes.
        let exchange = Exchange::new(|((_, key), _, _): &Partial<K>| key.hashed());
        partials
            .unary_frontier::<CapacityContainerBuilder<Vec<((u64, K, i64), Epoch, isize)>>, _, _, _>(
                exchange,
                "TumblingSum",
                move |_, _| {
                    // Partial sums consolidate by hashing as they arrive, not by sorting.
                    let mut pending: HeldPerEpoch<FxHashMap<(u64, K), i64>> = HeldPerEpoch::new();
                    let mut sums: BTreeMap<u64, FxHashMap<K, i64>> = BTreeMap::new();
                    let mut closes: BTreeMap<Epoch, Vec<u64>> = BTreeMap::new();
                    let mut close_cap: Option<Capability<Epoch>> = None;
                    move |(input, frontier), output| {
                        input.for_each(|cap, batch| {
                            for (window_key, time, sum) in batch.drain(..) {
                                *pending
                                    .entry(time)
                                    .or_insert_with(|| (cap.delayed(&time, 0), FxHashMap::default()))
                                    .1
                                    .entry(window_key)
                                    .or_insert(0) += sum;
                            }
                        });
                        loop {
                            let next_data = pending.first_key_value().map(|(t, _)| *t);
                            let next_close = closes.first_key_value().map(|(t, _)| *t);
                            let Some(next) = next_data.into_iter().chain(next_close).min() else {
                                break;
                            };
                            if frontier.less_equal(&next) {
                                break;
                            }
                            if next_data == Some(next) {
                                let (cap, changes) = pending.pop_first().map(|(_, v)| v).unwrap();
                                let mut session = output.session(&cap);
                                for ((start, key), delta) in changes.into_iter().filter(|(_, d)| *d != 0) {
                                    let window_sums = sums.entry(start).or_insert_with(|| {
                                        let close = window.closing_epoch(start, &epochs);
                                        closes.entry(close).or_default().push(start);
                                        if close_cap.as_ref().is_none_or(|c| *c.time() > close) {
                                            close_cap = Some(cap.delayed(&close));
                                        }
                                        FxHashMap::default()
                                    });
                                    let old = window_sums.get(&key).copied().unwrap_or(0);
                                    let new = old + delta;
                                    if old != 0 {
                                        session.give(((start, key.clone(), old), next, -1));
                                    }
                                    if new != 0 {
                                        session.give(((start, key.clone(), new), next, 1));
                                        window_sums.insert(key, new);
                                    } else {
                                        window_sums.remove(&key);
                                    }
                                }
                            }
                            if next_close == Some(next) {
                                let starts = closes.remove(&next).unwrap_or_default();
                                let cap = close_cap.as_ref().expect("a capability is held for every open window");
                                let mut session = output.session(cap);
                                for start in starts {
                                    for (key, sum) in sums.remove(&start).unwrap_or_default() {
                                        session.give(((start, key, sum), next, -1));
                                    }
                                }
                                drop(session);
                                match closes.first_key_value() {
                                    Some((following, _)) => close_cap.as_mut().unwrap().downgrade(following),
                                    None => close_cap = None,
                                }
                            }
                        }
                    }
                },
            )
            .as_collection()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(window: impl WindowAssigner, time: u64) -> Vec<u64> {
        let mut starts = Vec::new();
        window.for_each_start(time, |s| starts.push(s));
        starts
    }

    #[test]
    fn hopping_windows_hold_every_time_size_over_slide_times() {
        let hop = HoppingWindow::new(10, 2, 0).unwrap();
        assert_eq!(starts(hop, 13), vec![12, 10, 8, 6, 4]);
        assert_eq!(starts(hop, 3), vec![2, 0]); // near zero, fewer windows
        assert_eq!(starts(TumblingWindow::new(10, 0).unwrap(), 13), vec![10]);
        assert!(HoppingWindow::new(10, 3, 0).is_err());
    }
}
