//! Epochs: the timely timestamp, and how events are assigned to them.

use serde::{Deserialize, Serialize};

/// The timely timestamp of every Reprise dataflow: an epoch number.
pub type Epoch = u64;

/// Data an operator holds per epoch until the frontier passes it, with the capability
/// that lets it send the epoch's output then.
pub(crate) type HeldPerEpoch<T> =
    std::collections::BTreeMap<Epoch, (timely::dataflow::operators::Capability<Epoch>, T)>;

/// Assigns events to epochs by event time: `epoch = event_time_ms / epoch_ms`.
///
/// The source's epoch never moves backwards: an event whose time falls in an epoch the
/// source has already closed (an out-of-order event) is restamped to the current epoch.
/// Windows see it as late data (see [`crate::window`]). Because the assignment is a
/// prefix maximum over the input order, it depends only on the input, never on how many
/// workers read it.
///
/// # Examples
/// ```
/// use reprise_engine::EventClock;
/// let mut clock = EventClock::new(100);
/// assert_eq!(clock.assign(250), 2);
/// assert_eq!(clock.assign(120), 2); // out of order: restamped to the open epoch
/// assert_eq!(clock.assign(999), 9);
/// ```
#[derive(Clone, Debug)]
pub struct EventClock {
    epoch_ms: u64,
    current: Option<Epoch>,
}

impl EventClock {
    /// A clock with epochs of `epoch_ms` milliseconds of event time (at least 1).
    pub fn new(epoch_ms: u64) -> Self {
        Self {
            epoch_ms: epoch_ms.max(1),
            current: None,
        }
    }

    /// The epoch of an event with event time `event_time_ms`.
    pub fn assign(&mut self, event_time_ms: u64) -> Epoch {
        let epoch = event_time_ms / self.epoch_ms;
        let epoch = self.current.map_or(epoch, |current| current.max(epoch));
        self.current = Some(epoch);
        epoch
    }

    /// The epoch of the last assigned event, if any.
    pub fn current(&self) -> Option<Epoch> {
        self.current
    }
}

/// Which time epochs (and windows) follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Clock {
    /// Event time, read from each event: deterministic.
    #[default]
    Event,
    /// Processing time: a new epoch every `epoch_ms` of wall-clock time, and an event's
    /// time is the start of the epoch it arrived in (as Flink's PROCTIME). Two runs differ;
    /// the input log reproduces either.
    Processing,
}

/// How a run's epochs are cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochConfig {
    /// Length of an epoch in milliseconds.
    pub epoch_ms: u64,
    /// Event or processing time.
    pub clock: Clock,
}

impl EpochConfig {
    /// Event-time epochs of `epoch_ms`.
    pub fn event_time(epoch_ms: u64) -> Self {
        Self {
            epoch_ms,
            clock: Clock::Event,
        }
    }

    /// The time windows see for an event with event time `event_time_ms` that entered at
    /// `epoch`: its event time, or under processing time the epoch's start.
    pub fn time_ms(&self, event_time_ms: u64, epoch: Epoch) -> u64 {
        match self.clock {
            Clock::Event => event_time_ms,
            Clock::Processing => epoch.saturating_mul(self.epoch_ms),
        }
    }

    /// The first epoch at which every event with `time_ms <= t < close_ms` has been
    /// assigned, i.e. `ceil(close_ms / epoch_ms)`: where a window ending at `close_ms`
    /// closes.
    pub fn closing_epoch(&self, close_ms: u64) -> Epoch {
        close_ms.div_ceil(self.epoch_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_epoch_is_the_first_epoch_past_the_close() {
        let epochs = EpochConfig::event_time(100);
        assert_eq!(epochs.closing_epoch(1000), 10); // boundary: epoch 10 starts at 1000
        assert_eq!(epochs.closing_epoch(1050), 11); // mid-epoch: epoch 10 still holds 1000..1049
        assert_eq!(epochs.closing_epoch(0), 0);
    }
}
