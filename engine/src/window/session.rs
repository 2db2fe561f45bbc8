//! Session windows: per key, the runs of events at most a gap apart (Flink's `SESSION`).
//!
//! A session of events at times `first..=last` spans `[first, last + gap)`. As in Flink,
//! sessions whose spans overlap or touch merge, so two events exactly `gap` apart share a
//! session: an event at exactly `last + gap` still extends it. So a session closes at the
//! first epoch that starts after its end plus the allowed lateness (not at the end, as a
//! tumbling window does: that epoch may hold an event at exactly the end). Once closed it
//! is gone, and a later event starts a new session even if it falls within the gap (Flink
//! purges a fired session's state the same way).
//!
//! Merging runs of events is associative and commutative, so each worker first merges an
//! epoch's events of a key into runs, and the key's owner merges those runs into the open
//! sessions: the result is the same for any split of the input over workers.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use super::{Closes, pop_complete};
use crate::epoch::drain_by_epoch;
use crate::{EngineError, Epoch, EpochConfig, HeldPerEpoch, JobContext, check_duration};

/// Per-key windows that extend while events keep arriving at most `gap_ms` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionWindow {
    /// The longest pause, in milliseconds, within one session.
    pub gap_ms: u64,
    /// How long after its end a session still accepts late events, in milliseconds.
    pub lateness_ms: u64,
}

impl SessionWindow {
    /// Sessions split by pauses longer than `gap_ms` (at least 1), accepting events up to
    /// `lateness_ms` late; both at most [`crate::MAX_DURATION_MS`].
    pub fn new(gap_ms: u64, lateness_ms: u64) -> Result<Self, EngineError> {
        if gap_ms == 0 {
            return Err(EngineError::config("a session gap must be at least 1 ms"));
        }
        Ok(Self {
            gap_ms: check_duration("a session gap", gap_ms)?,
            lateness_ms: check_duration("an allowed lateness", lateness_ms)?,
        })
    }

    /// The epoch at which a session ending at `end_ms` (its last event plus the gap)
    /// closes and is retracted: the first epoch that starts after `end_ms` plus the
    /// lateness, since an event at exactly `end_ms` still joins the session.
    ///
    /// # Examples
    /// ```
    /// use reprise_engine::EpochConfig;
    /// use reprise_engine::window::SessionWindow;
    /// let sessions = SessionWindow::new(10_000, 0).unwrap();
    /// // Bids at 0 and 10,000 share a session: it cannot close in epoch 1000 of 10 ms,
    /// // which holds the time 10,000.
    /// assert_eq!(sessions.closing_epoch(10_000, &EpochConfig::event_time(10)), 1001);
    /// ```
    pub fn closing_epoch(&self, end_ms: u64, epochs: &EpochConfig) -> Epoch {
        epochs.first_epoch_after(end_ms.saturating_add(self.lateness_ms))
    }
}

/// A key's open sessions: first event time, to (last event time, sum).
type Sessions = BTreeMap<u64, (u64, i64)>;

/// Adds the run `first..=last` with `sum` to `sessions`, merging every session it touches.
fn merge(sessions: &mut Sessions, gap: u64, (first, last, sum): (u64, u64, i64)) {
    // Open sessions are at least `gap` apart, so the ones touching the run are the latest
    // few starting no later than `last + gap`.
    let touching: Vec<u64> = sessions
        .range(..=last + gap)
        .rev()
        .take_while(|(_, (their_last, _))| their_last + gap >= first)
        .map(|(start, _)| *start)
        .collect();
    let mut merged = (first, last, sum);
    for start in touching {
        let (their_last, their_sum) = sessions.remove(&start).expect("listed above");
        merged = (
            merged.0.min(start),
            merged.1.max(their_last),
            merged.2 + their_sum,
        );
    }
    sessions.insert(merged.0, (merged.1, merged.2));
}

/// Session-windowed aggregation of a collection of `(key, event_time_ms, value)`.
pub trait SessionSum<'s, K> {
    /// Per key and session, the sum of `value * diff`: a collection of
    /// `(key, session_start_ms, session_end_ms, sum)` (end = last event + gap) that changes
    /// as sessions grow and merge, and is retracted when a session closes. With
    /// `value = 1` it counts events. The input must be insert-only (events): a retraction
    /// cannot split a session.
    fn session_sum(
        self,
        window: SessionWindow,
        ctx: &JobContext,
    ) -> VecCollection<'s, Epoch, (K, u64, u64, i64)>;
}

/// One worker's run of a key's events in one epoch: `(key, first, last)` and its sum.
type Run<K> = ((K, u64, u64), Epoch, i64);

impl<'s, K> SessionSum<'s, K> for VecCollection<'s, Epoch, (K, u64, i64)>
where
    K: ExchangeData + Hash + Eq,
{
    fn session_sum(
        self,
        window: SessionWindow,
        ctx: &JobContext,
    ) -> VecCollection<'s, Epoch, (K, u64, u64, i64)> {
        let epochs = ctx.epochs;
        let late_counter = ctx.clone();
        let gap = window.gap_ms;

        // Stage 1, on the worker that fed the events: per key and epoch, the runs of events
        // at most a gap apart, released when the epoch is complete.
        let runs = self
            .inner
            .unary_frontier::<CapacityContainerBuilder<Vec<Run<K>>>, _, _, _>(
                Pipeline,
                "SessionRuns",
                move |_, _| {
                    let mut open: HeldPerEpoch<FxHashMap<K, Vec<(u64, i64)>>> = HeldPerEpoch::new();
                    move |(input, frontier), output| {
                        let mut late = 0;
                        input.for_each(|cap, batch| {
                            let hold = |time| (cap.delayed(&time, 0), FxHashMap::default());
                            drain_by_epoch(batch, &mut open, hold, |events, time, event, diff| {
                                let (key, event_time, value) = event;
                                assert!(
                                    diff > 0,
                                    "session windows need an insert-only input, got a retraction"
                                );
                                let at = epochs.time_ms(event_time, time);
                                if window.closing_epoch(at.saturating_add(gap), &epochs) <= time {
                                    late += 1;
                                } else {
                                    events
                                        .entry(key)
                                        .or_default()
                                        .push((at, value * diff as i64));
                                }
                            });
                        });
                        if late > 0 {
                            late_counter.count_late(late);
                        }
                        while let Some((time, cap, events)) = pop_complete(&mut open, frontier) {
                            let mut session = output.session(&cap);
                            for (key, mut times) in events {
                                times.sort_unstable();
                                let mut current: Option<(u64, u64, i64)> = None;
                                for (at, value) in times {
                                    current = match current {
                                        Some((first, last, sum)) if at <= last + gap => {
                                            Some((first, at, sum + value))
                                        }
                                        Some((first, last, sum)) => {
                                            session.give(((key.clone(), first, last), time, sum));
                                            Some((at, at, value))
                                        }
                                        None => Some((at, at, value)),
                                    };
                                }
                                if let Some((first, last, sum)) = current {
                                    session.give(((key, first, last), time, sum));
                                }
                            }
                        }
                    }
                },
            );

        // Stage 2, on the worker that owns the key: the open sessions, emitted as changes
        // when an epoch completes, and retracted when a session closes.
        let exchange = Exchange::new(|((key, _, _), _, _): &Run<K>| key.hashed());
        runs.unary_frontier::<CapacityContainerBuilder<Vec<((K, u64, u64, i64), Epoch, isize)>>, _, _, _>(
            exchange,
            "SessionSum",
            move |_, _| {
                let mut pending: HeldPerEpoch<Vec<(K, u64, u64, i64)>> = HeldPerEpoch::new();
                let mut sessions: FxHashMap<K, Sessions> = FxHashMap::default();
                // Sessions to close per epoch, checked when due: a session may have grown
                // (and moved its close) since it was listed.
                let mut closes: Closes<(K, u64)> = Closes::new();
                move |(input, frontier), output| {
                    input.for_each(|cap, batch| {
                        drain_by_epoch(
                            batch,
                            &mut pending,
                            |time| (cap.delayed(&time, 0), Vec::new()),
                            |pending, _, (key, first, last), sum| {
                                pending.push((key, first, last, sum))
                            },
                        );
                    });
                    loop {
                        let next_data = pending.first_key_value().map(|(t, _)| *t);
                        let next_close = closes.next();
                        let Some(next) = next_data.into_iter().chain(next_close).min() else {
                            break;
                        };
                        if frontier.less_equal(&next) {
                            break;
                        }
                        // Closes first: an event of the closing epoch is late for the session.
                        if next_close == Some(next) {
                            closes.close_next(|cap, due| {
                                let mut session = output.session(cap);
                                for (key, start) in due {
                                    let Some(open) = sessions.get_mut(&key) else { continue };
                                    let Some(&(last, sum)) = open.get(&start) else { continue };
                                    if window.closing_epoch(last + gap, &epochs) != next {
                                        continue;
                                    }
                                    open.remove(&start);
                                    if open.is_empty() {
                                        sessions.remove(&key);
                                    }
                                    session.give(((key, start, last + gap, sum), next, -1));
                                }
                            });
                            continue;
                        }
                        let (cap, runs) = pending.pop_first().map(|(_, v)| v).unwrap();
                        // Each changed key's sessions before this epoch, to emit the difference.
                        let mut before: FxHashMap<K, Sessions> = FxHashMap::default();
                        for (key, first, last, sum) in runs {
                            let open = sessions.entry(key.clone()).or_default();
                            before.entry(key).or_insert_with(|| open.clone());
                            merge(open, gap, (first, last, sum));
                        }
                        let mut session = output.session(&cap);
                        for (key, old) in before {
                            let new = &sessions[&key];
                            for (&start, &(last, sum)) in &old {
                                if new.get(&start) != Some(&(last, sum)) {
                                    session.give(((key.clone(), start, last + gap, sum), next, -1));
                                }
                            }
                            for (&start, &(last, sum)) in new {
                                if old.get(&start) == Some(&(last, sum)) {
                                    continue;
                                }
                                session.give(((key.clone(), start, last + gap, sum), next, 1));
                                let close = window.closing_epoch(last + gap, &epochs);
                                closes.schedule(close, (key.clone(), start), &cap);
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

    fn merged(runs: &[(u64, u64, i64)]) -> Vec<(u64, u64, i64)> {
        let mut sessions = Sessions::new();
        for run in runs {
            merge(&mut sessions, 10, *run);
        }
        sessions.into_iter().map(|(s, (l, n))| (s, l, n)).collect()
    }

    #[test]
    fn runs_merge_when_their_spans_touch() {
        assert_eq!(merged(&[(0, 5, 1), (15, 15, 1)]), vec![(0, 15, 2)]); // 15 - 5 = gap
        assert_eq!(
            merged(&[(0, 5, 1), (16, 16, 1)]),
            vec![(0, 5, 1), (16, 16, 1)]
        );
        // A run between two sessions joins both; one before them joins the first only.
        assert_eq!(
            merged(&[(0, 0, 1), (20, 20, 1), (10, 10, 1)]),
            vec![(0, 20, 3)]
        );
        assert_eq!(
            merged(&[(30, 30, 1), (50, 50, 1), (25, 26, 2)]),
            vec![(25, 30, 3), (50, 50, 1)]
        );
    }
}
