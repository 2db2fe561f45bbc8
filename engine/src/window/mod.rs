//! Windows over event time, as differential collections.
//!
//! A window's id (its start time) is data. An event enters its window as an update at its
//! epoch; the window's value leaves the collection by a retraction at the window's
//! closing epoch (window end plus allowed lateness), so closed windows hold no state.
//! Read as a collection, the output is the updating view (every correction a retraction
//! and a new value); a retraction at exactly the closing epoch is the window's final
//! value (the final-results mode of the output file).
//!
//! Operators:
//! - [`WindowSum::window_sum`]: a sum per window and key for tumbling and hopping windows,
//!   and [`WindowAggregate::window_aggregate`], the same for any [`Aggregate`] (counts,
//!   minimum, maximum and sum at once: Nexmark q17); [`WindowAggregateBy`] takes the
//!   events themselves and a function making `(key, time, value)` triples of each, as
//!   `flat_map` would, inside the window operator;
//! - [`SessionSum::session_sum`]: a sum per session and key for session windows;
//! - [`WindowMax::window_max`]: per window and key, the values of the highest rank, ties
//!   kept (Nexmark's highest bid).
//!
//! They produce exactly the updates of the simple differential idiom (an insert at the
//! event's epoch and a retraction at the close, then a reduction), but faster:
//! 1. each worker pre-aggregates an epoch's updates per `(window, key)` before anything
//!    crosses a worker boundary, and
//! 2. the owning worker keeps one running value per `(window, key)` and holds retractions
//!    in the operator until the frontier reaches the close, instead of leaving them in an
//!    arrangement's merge batcher.
//!
//! Late events: an event whose epoch is at or past its window's closing epoch is dropped
//! and counted ([`crate::JobContext::late_events`]). With the event clock this happens only to
//! out-of-order input beyond the allowed lateness.

mod max;
mod session;
mod sum;

use serde::{Deserialize, Serialize};
use timely::dataflow::operators::Capability;

pub use max::WindowMax;
pub use session::{SessionSum, SessionWindow};
pub use sum::{Aggregate, WindowAggregate, WindowAggregateBy, WindowSum};

use crate::{EngineError, Epoch, EpochConfig, check_duration};

/// Fixed-size, non-overlapping windows of event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TumblingWindow {
    /// Window length in milliseconds.
    pub size_ms: u64,
    /// How long after its end a window still accepts late events, in milliseconds.
    pub lateness_ms: u64,
}

impl TumblingWindow {
    /// A window of `size_ms` (at least 1) accepting events up to `lateness_ms` late;
    /// both at most [`crate::MAX_DURATION_MS`].
    pub fn new(size_ms: u64, lateness_ms: u64) -> Result<Self, EngineError> {
        if size_ms == 0 {
            return Err(EngineError::config("window size must be at least 1 ms"));
        }
        Ok(Self {
            size_ms: check_duration("a window size", size_ms)?,
            lateness_ms: check_duration("an allowed lateness", lateness_ms)?,
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
        epochs.closing_epoch(close_ms(start_ms, self.size_ms, self.lateness_ms))
    }
}

/// The time a window starting at `start_ms` stops accepting events. Saturates: with the
/// bounds on event times and durations it never needs to, but a wrapped bound would close
/// a window at once and drop its events silently.
fn close_ms(start_ms: u64, size_ms: u64, lateness_ms: u64) -> u64 {
    start_ms.saturating_add(size_ms).saturating_add(lateness_ms)
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
            size_ms: check_duration("a window size", size_ms)?,
            slide_ms,
            lateness_ms: check_duration("an allowed lateness", lateness_ms)?,
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
        epochs.closing_epoch(close_ms(start_ms, self.size_ms, self.lateness_ms))
    }
}

/// Removes the earliest held epoch once the frontier has passed it (its input is complete).
pub(crate) fn pop_complete<T>(
    held: &mut crate::HeldPerEpoch<T>,
    frontier: &timely::progress::frontier::MutableAntichain<Epoch>,
) -> Option<(Epoch, Capability<Epoch>, T)> {
    let entry = held.first_entry()?;
    if frontier.less_equal(entry.key()) {
        return None;
    }
    let (time, (cap, value)) = entry.remove_entry();
    Some((time, cap, value))
}

/// What a window operator retracts at each closing epoch, with one capability held at the
/// earliest of them (so the frontier cannot pass a close before its retractions are out).
struct Closes<T> {
    due: std::collections::BTreeMap<Epoch, Vec<T>>,
    capability: Option<Capability<Epoch>>,
}

impl<T> Closes<T> {
    fn new() -> Self {
        Self {
            due: std::collections::BTreeMap::new(),
            capability: None,
        }
    }

    /// The earliest closing epoch.
    fn next(&self) -> Option<Epoch> {
        self.due.first_key_value().map(|(epoch, _)| *epoch)
    }

    /// Schedules `item` to close at `close`; `cap` (at or before `close`) is where the
    /// capability comes from.
    fn schedule(&mut self, close: Epoch, item: T, cap: &Capability<Epoch>) {
        self.due.entry(close).or_default().push(item);
        if self.capability.as_ref().is_none_or(|c| *c.time() > close) {
            self.capability = Some(cap.delayed(&close));
        }
    }

    /// Takes the earliest close's items and gives them, with its capability, to `emit`;
    /// then moves the capability to the next close (or drops it).
    fn close_next(&mut self, emit: impl FnOnce(&Capability<Epoch>, Vec<T>)) {
        let Some((_, items)) = self.due.pop_first() else {
            return;
        };
        let capability = self
            .capability
            .as_ref()
            .expect("a capability is held while closes are due");
        emit(capability, items);
        match self.due.first_key_value() {
            Some((next, _)) => self
                .capability
                .as_mut()
                .expect("held above")
                .downgrade(next),
            None => self.capability = None,
        }
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
