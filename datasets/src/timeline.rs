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
    #[inline]
    pub fn time_ms(&self, index: u64) -> u64 {
        let rate = self.rate_per_sec.max(1);
        // In 64 bits while `index * 1000` fits (every index below 1.8e16): a 128-bit
        // division is a library call, several times slower.
        let elapsed = match index.checked_mul(1000) {
            Some(scaled) => scaled / rate,
            None => (index as u128 * 1000 / rate as u128) as u64,
        };
        self.start_ms + elapsed
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Timeline;

    proptest! {
        /// `start_ms + floor(i * 1000 / rate)` computed in 128 bits, for any index (at
        /// rates that keep the time in range) and for indices on both sides of where
        /// `i * 1000` stops fitting in 64 bits (at any rate).
        #[test]
        fn time_follows_the_definition(
            (index, rate) in prop_oneof![
                (any::<u64>(), 2000..u64::MAX),
                ((u64::MAX / 1000 - 1000)..(u64::MAX / 1000 + 1000), 1..u64::MAX),
            ],
            start_ms in 0..1u64 << 40,
        ) {
            let timeline = Timeline { start_ms, rate_per_sec: rate };
            let defined = start_ms as u128 + index as u128 * 1000 / rate as u128;
            prop_assert_eq!(timeline.time_ms(index) as u128, defined);
        }
    }
}
