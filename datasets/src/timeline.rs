//! Event time as a function of the event index, in integer milliseconds.

use serde::{Deserialize, Serialize};

/// Event `i` happens at `start_ms + floor(i * 1000 / rate_per_sec)`: a steady rate with
/// no floating-point drift, never decreasing with `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// Time of event 0, in milliseconds.
    pub start_ms: u64,
    /// Events per second of event time (at least 1).
    pub rate_per_sec: u64,
}

impl Timeline {
    /// The event time of event `index`, in milliseconds.
    ///
    /// # Examples
    /// ```
    /// use reprise_datasets::Timeline;
    /// let timeline = Timeline { start_ms: 0, rate_per_sec: 1_000_000 };
    /// assert_eq!(timeline.time_ms(999), 0);
    /// assert_eq!(timeline.time_ms(1000), 1);
    /// ```
    pub fn time_ms(&self, index: u64) -> u64 {
        self.start_ms + (index as u128 * 1000 / self.rate_per_sec.max(1) as u128) as u64
    }
}
