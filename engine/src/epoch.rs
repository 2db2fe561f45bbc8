//! Epochs: the timely timestamp, and how events are assigned to them.

use serde::{Deserialize, Serialize};

/// The timely timestamp of every Reprise dataflow: an epoch number.
pub type Epoch = u64;

/// The largest event time accepted, in milliseconds (2^62, about 146 million years).
///
/// With durations bounded by [`MAX_DURATION_MS`], every window bound (an event time plus a
/// window size, a session gap and the allowed lateness) fits in a `u64`, so no bound can
/// wrap round and silently close a window early: a larger time is refused where it is
/// read, naming the record ([`check_event_time`]).
pub const MAX_EVENT_TIME_MS: u64 = 1 << 62;

/// The largest window size, slide, session gap or lateness accepted, in milliseconds
/// (2^60, about 36 million years).
pub const MAX_DURATION_MS: u64 = 1 << 60;

/// `Ok(time_ms)` if it is a supported event time, else what is wrong with it.
///
/// # Examples
/// ```
/// use reprise_engine::check_event_time;
/// assert_eq!(check_event_time(1_700_000_000_000), Ok(1_700_000_000_000));
/// assert!(check_event_time(u64::MAX).unwrap_err().contains("18446744073709551615"));
/// ```
pub fn check_event_time(time_ms: u64) -> Result<u64, String> {
    if time_ms > MAX_EVENT_TIME_MS {
        return Err(format!(
            "event time {time_ms} ms is beyond the largest supported event time, \
             {MAX_EVENT_TIME_MS} ms (2^62, about 146 million years)"
        ));
    }
    Ok(time_ms)
}

/// `Ok(ms)` if `ms` is a supported duration, else an error naming `what` and its range.
pub(crate) fn check_duration(what: &str, ms: u64) -> Result<u64, crate::EngineError> {
    if ms > MAX_DURATION_MS {
        return Err(crate::EngineError::config(format!(
            "{what} of {ms} ms is beyond the largest supported duration, \
             {MAX_DURATION_MS} ms (2^60, about 36 million years)"
        )));
    }
    Ok(ms)
}

/// Data an operator holds per epoch until the frontier passes it, with the capability
/// that lets it send the epoch's output then.
pub(crate) type HeldPerEpoch<T> =
    std::collections::BTreeMap<Epoch, (timely::dataflow::operators::Capability<Epoch>, T)>;

/// Drains a batch of updates into what `held` keeps per epoch: `add` gets each update with
/// its epoch's state, which `hold` makes (with its capability) when the epoch is new. A
/// batch comes in runs of one epoch, and each run looks its state up once; the updates
/// move once, out of the batch.
pub(crate) fn drain_by_epoch<D, R, S>(
    batch: &mut Vec<(D, Epoch, R)>,
    held: &mut HeldPerEpoch<S>,
    mut hold: impl FnMut(Epoch) -> (timely::dataflow::operators::Capability<Epoch>, S),
    mut add: impl FnMut(&mut S, Epoch, D, R),
) {
    let mut current: Option<(Epoch, &mut S)> = None;
    for (data, time, diff) in batch.drain(..) {
        if current.as_ref().is_none_or(|(at, _)| *at != time) {
            let (_, state) = held.entry(time).or_insert_with(|| hold(time));
            current = Some((time, state));
        }
        let (_, state) = current.as_mut().expect("set above");
        add(state, time, data, diff);
    }
}

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

    /// The first epoch that starts at or after `close_ms`: every event time before
    /// `close_ms` falls in an earlier epoch, so a window holding the times `< close_ms`
    /// is complete there (`ceil(close_ms / epoch_ms)`).
    pub fn closing_epoch(&self, close_ms: u64) -> Epoch {
        close_ms.div_ceil(self.epoch_ms.max(1))
    }

    /// The first epoch that starts after `last_ms`: every event time up to and including
    /// `last_ms` falls in an earlier epoch, so a window holding the times `<= last_ms`
    /// (a session, which an event exactly at its end still extends) is complete there.
    pub fn first_epoch_after(&self, last_ms: u64) -> Epoch {
        (last_ms / self.epoch_ms.max(1)).saturating_add(1)
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

    #[test]
    fn first_epoch_after_a_time_holds_no_earlier_or_equal_time() {
        let epochs = EpochConfig::event_time(100);
        assert_eq!(epochs.first_epoch_after(999), 10);
        assert_eq!(epochs.first_epoch_after(1000), 11); // boundary: 1000 is in epoch 10
        assert_eq!(epochs.first_epoch_after(0), 1);
        assert_eq!(EpochConfig::event_time(1).first_epoch_after(7), 8);
    }
}
