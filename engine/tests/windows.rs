//! The window operators against a reference computed from the definitions, on random input
//! with out-of-order and late events, for 1, 2 and 3 workers.
//!
//! The reference recomputes each epoch's whole window contents from the raw events (no
//! incremental state, no pre-aggregation) and emits the difference between consecutive
//! epochs: that is what the updating collection must contain.

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use differential_dataflow::consolidation::consolidate;
use proptest::prelude::*;
use reprise_engine::digest::{DigestBuilder, DigestLog, record_hash};
use reprise_engine::window::{
    HoppingWindow, SessionSum, SessionWindow, TumblingWindow, WindowAggregateBy, WindowAssigner,
    WindowMax, WindowSum,
};
use reprise_engine::{Epoch, EpochConfig, EventClock, Job, JobContext, RunConfig, Source, run};

const EPOCH_MS: u64 = 10;

/// `(key, event time)`.
type Event = (u64, u64);
/// `(key, window start, window end, value)`: the sum, or one of the highest values.
type Row = (u64, u64, u64, i64);

/// What an event adds to a sum.
fn value(time: u64) -> i64 {
    (time % 7 + 1) as i64
}

/// The rank of an event in a max: ties are common.
fn rank(time: &u64) -> u64 {
    time % 5
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Tumbling(TumblingWindow),
    Hopping(HoppingWindow),
    Session(SessionWindow),
    MaxTumbling(TumblingWindow),
    MaxHopping(HoppingWindow),
}

struct WindowJob(Kind);

impl Job for WindowJob {
    type Event = Event;
    type Output = Row;

    fn event_time_ms(event: &Event) -> u64 {
        event.1
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, Row> {
        let sums = events.clone().map(|(key, time)| (key, time, value(time)));
        let highest = events.clone().map(|(key, time)| (key, time, time));
        match self.0 {
            // The window operator making the triples itself; the other kinds get them made.
            Kind::Tumbling(w) => events
                .window_sum_by(w, ctx, |(key, time)| Some((key, time, value(time))))
                .map(move |(start, key, sum)| (key, start, start + w.size_ms, sum)),
            Kind::Hopping(w) => sums
                .window_sum(w, ctx)
                .map(move |(start, key, sum)| (key, start, start + w.size_ms, sum)),
            Kind::Session(w) => sums.session_sum(w, ctx),
            Kind::MaxTumbling(w) => highest
                .window_max(w, ctx, rank)
                .map(move |(start, key, time)| (key, start, start + w.size_ms, time as i64)),
            Kind::MaxHopping(w) => highest
                .window_max(w, ctx, rank)
                .map(move |(start, key, time)| (key, start, start + w.size_ms, time as i64)),
        }
    }
}

/// The windows (start, end, closing epoch) holding `time`, for the fixed-window kinds.
fn windows_of(window: impl WindowAssigner, size: u64, time: u64) -> Vec<(u64, u64, Epoch)> {
    let epochs = EpochConfig::event_time(EPOCH_MS);
    let mut out = Vec::new();
    window.for_each_start(time, |start| {
        out.push((start, start + size, window.closing_epoch(start, &epochs)))
    });
    out
}

/// Sessions of sorted times: maximal runs with steps of at most `gap`.
fn sessions_of(times: &[(u64, i64)], gap: u64) -> Vec<(u64, u64, i64)> {
    let mut sessions: Vec<(u64, u64, i64)> = Vec::new();
    for &(time, value) in times {
        match sessions.last_mut() {
            Some((_, last, sum)) if time <= *last + gap => {
                *last = time;
                *sum += value;
            }
            _ => sessions.push((time, time, value)),
        }
    }
    sessions
}

/// The collection's contents after every epoch, from the definitions; and the late count.
fn reference(kind: Kind, events: &[Event]) -> (DigestLog, u64) {
    let epochs = EpochConfig::event_time(EPOCH_MS);
    let mut clock = EventClock::new(EPOCH_MS);
    let stamped: Vec<(Epoch, Event)> = events.iter().map(|e| (clock.assign(e.1), *e)).collect();
    let Some(&(first_epoch, _)) = stamped.first() else {
        return (DigestLog::default(), 0);
    };
    let last_epoch = stamped.last().unwrap().0 + 100; // past every close
    let mut late = 0;
    let mut contents: Vec<BTreeMap<Row, i64>> = Vec::new();
    match kind {
        Kind::Session(w) => {
            // Per key, the events of open sessions; closed sessions are dropped for good.
            let mut open: BTreeMap<u64, Vec<(u64, i64)>> = BTreeMap::new();
            let close = |last: u64| w.closing_epoch(last + w.gap_ms, &epochs);
            for epoch in first_epoch..=last_epoch {
                for times in open.values_mut() {
                    times.sort();
                    let keep: Vec<(u64, u64, i64)> = sessions_of(times, w.gap_ms)
                        .into_iter()
                        .filter(|s| close(s.1) > epoch)
                        .collect();
                    times.retain(|(t, _)| keep.iter().any(|s| s.0 <= *t && *t <= s.1));
                }
                for &(_, (key, time)) in stamped.iter().filter(|(e, _)| *e == epoch) {
                    if close(time) <= epoch {
                        late += 1;
                    } else {
                        open.entry(key).or_default().push((time, value(time)));
                    }
                }
                let mut content = BTreeMap::new();
                for (&key, times) in &mut open {
                    times.sort();
                    for (start, last, sum) in sessions_of(times, w.gap_ms) {
                        content.insert((key, start, last + w.gap_ms, sum), 1);
                    }
                }
                contents.push(content);
            }
        }
        Kind::Tumbling(_) | Kind::Hopping(_) | Kind::MaxTumbling(_) | Kind::MaxHopping(_) => {
            let windows = |time| match kind {
                Kind::Tumbling(w) | Kind::MaxTumbling(w) => windows_of(w, w.size_ms, time),
                Kind::Hopping(w) | Kind::MaxHopping(w) => windows_of(w, w.size_ms, time),
                Kind::Session(_) => unreachable!(),
            };
            let max = matches!(kind, Kind::MaxTumbling(_) | Kind::MaxHopping(_));
            // Every accepted (window, event): entry epoch, (key, start, end, close), time.
            type Accepted = (Epoch, (u64, u64, u64, Epoch), u64);
            let mut accepted: Vec<Accepted> = Vec::new();
            for &(epoch, (key, time)) in &stamped {
                for (start, end, close) in windows(time) {
                    if close <= epoch {
                        late += 1;
                    } else {
                        accepted.push((epoch, (key, start, end, close), time));
                    }
                }
            }
            for epoch in first_epoch..=last_epoch {
                let mut groups: BTreeMap<(u64, u64, u64), Vec<u64>> = BTreeMap::new();
                for (entered, (key, start, end, close), time) in &accepted {
                    if *entered <= epoch && epoch < *close {
                        groups.entry((*key, *start, *end)).or_default().push(*time);
                    }
                }
                let mut content = BTreeMap::new();
                for ((key, start, end), times) in groups {
                    if max {
                        let top = times.iter().map(rank).max().unwrap();
                        for time in times.into_iter().filter(|t| rank(t) == top) {
                            *content.entry((key, start, end, time as i64)).or_insert(0) += 1;
                        }
                    } else {
                        let sum = times.into_iter().map(value).sum();
                        content.insert((key, start, end, sum), 1);
                    }
                }
                contents.push(content);
            }
        }
    }
    let mut digests = DigestBuilder::default();
    let mut previous = BTreeMap::new();
    for (offset, content) in contents.into_iter().enumerate() {
        let epoch = first_epoch + offset as u64;
        let mut changes: Vec<(Row, i64)> = previous.iter().map(|(r, n)| (*r, -n)).collect();
        changes.extend(content.iter().map(|(r, n)| (*r, *n)));
        consolidate(&mut changes);
        for (row, diff) in changes {
            digests.add(epoch, record_hash(&row), diff);
        }
        previous = content;
    }
    (digests.finish(), late)
}

/// Random input: mostly increasing times with jitter, so some events are out of order and
/// some are late.
fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (0u64..3, 0u64..6, 0u64..40, prop::bool::weighted(0.2)),
        0..120,
    )
    .prop_map(|steps| {
        let mut now = 0;
        steps
            .into_iter()
            .map(|(key, step, jitter, back)| {
                now += step;
                (
                    key,
                    if back {
                        now.saturating_sub(jitter)
                    } else {
                        now
                    },
                )
            })
            .collect()
    })
}

fn kind() -> impl Strategy<Value = Kind> {
    (0usize..5, 0u64..3, 1u64..4).prop_map(|(which, lateness, size)| {
        let lateness = lateness * 10;
        let size = size * 15;
        match which {
            0 => Kind::Tumbling(TumblingWindow::new(size, lateness).unwrap()),
            1 => Kind::Hopping(HoppingWindow::new(size * 2, size, lateness).unwrap()),
            2 => Kind::Session(SessionWindow::new(size / 3 + 1, lateness).unwrap()),
            3 => Kind::MaxTumbling(TumblingWindow::new(size, lateness).unwrap()),
            _ => Kind::MaxHopping(HoppingWindow::new(size * 2, size, lateness).unwrap()),
        }
    })
}

fn check(kind: Kind, events: Vec<Event>) -> Result<(), TestCaseError> {
    let (expected, expected_late) = reference(kind, &events);
    for workers in [1, 2, 3] {
        // Read, not generated: generated sources promise times that never decrease.
        let source = Source::Read {
            name: "test input".into(),
            records: Box::new(events.clone().into_iter().map(Ok)),
        };
        let result = run(
            Arc::new(WindowJob(kind)),
            source,
            &RunConfig::new(workers, EPOCH_MS),
            &mut |_| {},
        )
        .unwrap();
        if let Some(divergence) = expected.first_divergence(&result.digests) {
            return Err(TestCaseError::fail(format!(
                "{kind:?}, {workers} workers, events {events:?}: {divergence}"
            )));
        }
        prop_assert_eq!(
            result.late_events,
            expected_late,
            "{:?}, {} workers",
            kind,
            workers
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn windows_match_the_reference(kind in kind(), events in events()) {
        check(kind, events)?;
    }
}

#[test]
fn a_late_event_starts_a_new_session_instead_of_reopening_a_closed_one() {
    // Gap 10, epochs of 10 ms: the session {0} ends at 10 and closes at epoch 1. At epoch 3
    // (time 30) an event at 5 arrives: its own session would end at 15, closing at epoch 2,
    // so it is late and must not revive {0}. An event at 25 is on time and joins {30}.
    let session = Kind::Session(SessionWindow::new(10, 0).unwrap());
    let events = vec![(1, 0), (1, 30), (1, 5), (1, 25)];
    let (digests, late) = reference(session, &events);
    assert_eq!(late, 1);
    // {0} in at epoch 0 and out at its close (1); {25, 30} in at epoch 3 and out at 4.
    assert_eq!(digests.total_updates(), 4, "{digests:?}");
    check(session, events).unwrap();
}
