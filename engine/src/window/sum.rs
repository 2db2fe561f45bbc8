//! The window operator for tumbling and hopping windows: a running aggregate (a sum, or
//! any [`Aggregate`]) per window and key.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use super::{Closes, WindowAssigner, pop_complete};
use crate::epoch::drain_by_epoch;
use crate::{Epoch, HeldPerEpoch, JobContext};

/// A value windows aggregate per key: merged associatively and commutatively (a sum; a
/// count with a minimum and a maximum), so each worker can pre-aggregate its own share
/// of an epoch before anything crosses a worker boundary.
pub trait Aggregate: ExchangeData {
    /// The aggregate of one input value seen `diff` times (a retraction is negative).
    /// Aggregates that cannot be undone (a minimum) panic on a retraction: their input
    /// must be insert-only, as events are.
    fn times(self, diff: isize) -> Self;
    /// Merges `other` into `self`.
    fn merge(&mut self, other: Self);
    /// Whether this is the aggregate of nothing (a sum of zero): its key leaves the window.
    fn is_empty(&self) -> bool;
}

impl Aggregate for i64 {
    fn times(self, diff: isize) -> Self {
        self * diff as i64
    }
    fn merge(&mut self, other: Self) {
        *self += other;
    }
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

/// Windowed sums of a collection of `(key, event_time_ms, value)`.
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

impl<'s, K> WindowSum<'s, K> for VecCollection<'s, Epoch, (K, u64, i64)>
where
    K: ExchangeData + Hash + Eq,
{
    fn window_sum<W: WindowAssigner>(
        self,
        window: W,
        ctx: &JobContext,
    ) -> VecCollection<'s, Epoch, (u64, K, i64)> {
        self.window_aggregate(window, ctx)
    }
}

/// Windowed aggregation of a collection of `(key, event_time_ms, value)`.
pub trait WindowAggregate<'s, K, A> {
    /// Per window and key, the [`Aggregate`] of the values: a collection of
    /// `(window_start_ms, key, aggregate)` that changes as the window fills (a retraction
    /// of the old aggregate and the new one, once per epoch) and is retracted at the
    /// window's close.
    fn window_aggregate<W: WindowAssigner>(
        self,
        window: W,
        ctx: &JobContext,
    ) -> VecCollection<'s, Epoch, (u64, K, A)>;
}

type Partial<K, A> = ((u64, K), Epoch, A);

/// Merges `value` into the aggregate of `key` in `map`.
fn merge_into<K: Hash + Eq, A: Aggregate>(map: &mut FxHashMap<K, A>, key: K, value: A) {
    match map.entry(key) {
        Entry::Occupied(mut slot) => slot.get_mut().merge(value),
        Entry::Vacant(slot) => {
            slot.insert(value);
        }
    }
}

/// One epoch's aggregates per window and key, as a hash map per window start. An epoch's
/// updates fall in one window or a few, and a map keyed by the key alone has smaller
/// entries than one keyed by `(start, key)` (16 bytes against 24 for `u64` keys and sums):
/// with many keys the maps' random access is bound by cache misses, so smaller entries are
/// faster.
struct ByWindow<K, A> {
    /// Each window met in the epoch, with its aggregates by key; `None` for a window
    /// already closed by the epoch, whose updates are late.
    windows: Vec<(u64, Option<FxHashMap<K, A>>)>,
    /// The index of the window merged into last (most updates follow one to the same).
    last: usize,
}

impl<K: Hash + Eq, A: Aggregate> ByWindow<K, A> {
    fn new() -> Self {
        Self {
            windows: Vec::new(),
            last: 0,
        }
    }

    /// Merges `value` into the aggregate of `key` in window `start`, unless the window is
    /// closed by this epoch: then it merges nothing and returns false. `closed(start)` is
    /// asked once per window and epoch (a closing epoch costs a division). A window's map
    /// comes from `spare` (emptied maps keep their capacity: a fresh map per epoch spends
    /// its time rehashing as it grows, on fresh pages). Inlined: called out of line, a
    /// `String` key was passed through the stack, and in a profile of wordcount three
    /// quarters of this function's samples waited on reading it back.
    #[inline(always)]
    fn merge(
        &mut self,
        start: u64,
        key: K,
        value: A,
        spare: &mut Vec<FxHashMap<K, A>>,
        closed: impl FnOnce(u64) -> bool,
    ) -> bool {
        if self
            .windows
            .get(self.last)
            .is_none_or(|(at, _)| *at != start)
        {
            self.last = match self.windows.iter().position(|(at, _)| *at == start) {
                Some(index) => index,
                None => {
                    let map = (!closed(start)).then(|| spare.pop().unwrap_or_default());
                    self.windows.push((start, map));
                    self.windows.len() - 1
                }
            };
        }
        match &mut self.windows[self.last].1 {
            Some(map) => {
                merge_into(map, key, value);
                true
            }
            None => false,
        }
    }

    /// Empties each open window's map through `each(start, map)`, then keeps the maps in
    /// `spare`.
    fn drain(
        self,
        spare: &mut Vec<FxHashMap<K, A>>,
        mut each: impl FnMut(u64, std::collections::hash_map::Drain<'_, K, A>),
    ) {
        for (start, map) in self.windows {
            if let Some(mut map) = map {
                each(start, map.drain());
                spare.push(map);
            }
        }
    }
}

impl<'s, K, A> WindowAggregate<'s, K, A> for VecCollection<'s, Epoch, (K, u64, A)>
where
    K: ExchangeData + Hash + Eq,
    A: Aggregate,
{
    fn window_aggregate<W: WindowAssigner>(
        self,
        window: W,
        ctx: &JobContext,
    ) -> VecCollection<'s, Epoch, (u64, K, A)> {
        self.window_aggregate_by(window, ctx, Some)
    }
}

/// Windowed aggregation of what a function makes of each element of a collection, in the
/// window operator itself: `events.window_sum_by(window, ctx, f)` computes
/// `events.flat_map(f).window_sum(window, ctx)` without the operator between them, which
/// copies every event's triple once more (an eighth of `filter-count`'s time).
pub trait WindowAggregateBy<'s, E> {
    /// Per window and key, the [`Aggregate`] of the `(key, event_time_ms, value)` triples
    /// that `extract` makes of each element (none, one or several, as `flat_map` takes):
    /// the same collection as [`WindowAggregate::window_aggregate`] of those triples.
    fn window_aggregate_by<W, K, A, I, F>(
        self,
        window: W,
        ctx: &JobContext,
        extract: F,
    ) -> VecCollection<'s, Epoch, (u64, K, A)>
    where
        W: WindowAssigner,
        K: ExchangeData + Hash + Eq,
        A: Aggregate,
        I: IntoIterator<Item = (K, u64, A)>,
        F: Fn(E) -> I + 'static;

    /// Per window and key, the sum of the `(key, event_time_ms, value)` triples that
    /// `extract` makes of each element: [`WindowSum::window_sum`] of those triples.
    fn window_sum_by<W, K, I, F>(
        self,
        window: W,
        ctx: &JobContext,
        extract: F,
    ) -> VecCollection<'s, Epoch, (u64, K, i64)>
    where
        Self: Sized,
        W: WindowAssigner,
        K: ExchangeData + Hash + Eq,
        I: IntoIterator<Item = (K, u64, i64)>,
        F: Fn(E) -> I + 'static,
    {
        self.window_aggregate_by(window, ctx, extract)
    }
}

impl<'s, E: differential_dataflow::Data> WindowAggregateBy<'s, E> for VecCollection<'s, Epoch, E> {
    fn window_aggregate_by<W, K, A, I, F>(
        self,
        window: W,
        ctx: &JobContext,
        extract: F,
    ) -> VecCollection<'s, Epoch, (u64, K, A)>
    where
        W: WindowAssigner,
        K: ExchangeData + Hash + Eq,
        A: Aggregate,
        I: IntoIterator<Item = (K, u64, A)>,
        F: Fn(E) -> I + 'static,
    {
        let epochs = ctx.epochs;
        let late_counter = ctx.clone();

        // Stage 1, on the worker that fed the event: one partial sum per (window, key) and
        // epoch, released when the epoch is complete.
        let partials = self
            .inner
            .unary_frontier::<CapacityContainerBuilder<Vec<Partial<K, A>>>, _, _, _>(
                Pipeline,
                "WindowPreAggregate",
                move |_, _| {
                    let mut open: HeldPerEpoch<ByWindow<K, A>> = HeldPerEpoch::new();
                    let mut spare: Vec<FxHashMap<K, A>> = Vec::new();
                    move |(input, frontier), output| {
                        let mut late = 0;
                        input.for_each(|cap, batch| {
                            let hold = |time| (cap.delayed(&time, 0), ByWindow::new());
                            drain_by_epoch(batch, &mut open, hold, |sums, time, event, diff| {
                                for (key, event_time, value) in extract(event) {
                                    // Processing time windows by arrival: the epoch's start.
                                    let at = epochs.time_ms(event_time, time);
                                    window.for_each_start(at, |start| {
                                        let closed =
                                            |start| window.closing_epoch(start, &epochs) <= time;
                                        let value = value.clone().times(diff);
                                        if !sums.merge(
                                            start,
                                            key.clone(),
                                            value,
                                            &mut spare,
                                            closed,
                                        ) {
                                            late += 1;
                                        }
                                    });
                                }
                            });
                        });
                        if late > 0 {
                            late_counter.count_late(late);
                        }
                        while let Some((time, cap, sums)) = pop_complete(&mut open, frontier) {
                            let mut session = output.session(&cap);
                            sums.drain(&mut spare, |start, sums| {
                                for (key, sum) in sums.filter(|(_, sum)| !sum.is_empty()) {
                                    session.give(((start, key), time, sum));
                                }
                            });
                        }
                    }
                },
            );

        // Stage 2, on the worker that owns the key: running sums, emitted as changes when an
        // epoch completes, and retracted when the window closes.
        let exchange = Exchange::new(|((_, key), _, _): &Partial<K, A>| key.hashed());
        partials
            .unary_frontier::<CapacityContainerBuilder<Vec<((u64, K, A), Epoch, isize)>>, _, _, _>(
                exchange,
                "TumblingSum",
                move |_, _| {
                    // Partial sums consolidate by hashing as they arrive, not by sorting.
                    let mut pending: HeldPerEpoch<ByWindow<K, A>> = HeldPerEpoch::new();
                    let mut sums: BTreeMap<u64, FxHashMap<K, A>> = BTreeMap::new();
                    let mut closes: Closes<u64> = Closes::new();
                    // Emptied maps, kept for their capacity (as in stage 1): apart, as an
                    // epoch's changes may hold far fewer keys than a window's sums.
                    let mut spare_pending: Vec<FxHashMap<K, A>> = Vec::new();
                    let mut spare_sums: Vec<FxHashMap<K, A>> = Vec::new();
                    move |(input, frontier), output| {
                        input.for_each(|cap, batch| {
                            let hold = |time| (cap.delayed(&time, 0), ByWindow::new());
                            drain_by_epoch(
                                batch,
                                &mut pending,
                                hold,
                                |changes, _, (start, key), sum| {
                                    // Partials come from open windows only.
                                    changes.merge(start, key, sum, &mut spare_pending, |_| false);
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
                            if next_data == Some(next) {
                                let (cap, changes) = pending.pop_first().map(|(_, v)| v).unwrap();
                                let mut session = output.session(&cap);
                                changes.drain(&mut spare_pending, |start, changes| {
                                    let mut changes =
                                        changes.filter(|(_, d)| !d.is_empty()).peekable();
                                    if changes.peek().is_none() {
                                        return;
                                    }
                                    let window_sums = sums.entry(start).or_insert_with(|| {
                                        let close = window.closing_epoch(start, &epochs);
                                        closes.schedule(close, start, &cap);
                                        spare_sums.pop().unwrap_or_default()
                                    });
                                    for (key, delta) in changes {
                                        match window_sums.entry(key) {
                                            Entry::Occupied(mut slot) => {
                                                let mut new = slot.get().clone();
                                                new.merge(delta);
                                                if new == *slot.get() {
                                                    // Unchanged (a minimum that held, a key
                                                    // already seen): no update to send.
                                                    continue;
                                                }
                                                let key = slot.key().clone();
                                                if new.is_empty() {
                                                    let old = slot.remove();
                                                    session.give(((start, key, old), next, -1));
                                                } else {
                                                    let old = slot.insert(new.clone());
                                                    session.give((
                                                        (start, key.clone(), old),
                                                        next,
                                                        -1,
                                                    ));
                                                    session.give(((start, key, new), next, 1));
                                                }
                                            }
                                            Entry::Vacant(slot) => {
                                                let key = slot.key().clone();
                                                session.give((
                                                    (start, key, delta.clone()),
                                                    next,
                                                    1,
                                                ));
                                                slot.insert(delta);
                                            }
                                        }
                                    }
                                });
                            }
                            if next_close == Some(next) {
                                closes.close_next(|cap, starts| {
                                    let mut session = output.session(cap);
                                    for start in starts {
                                        let Some(mut closed) = sums.remove(&start) else {
                                            continue;
                                        };
                                        for (key, sum) in closed.drain() {
                                            session.give(((start, key, sum), next, -1));
                                        }
                                        spare_sums.push(closed);
                                    }
                                });
                            }
                        }
                    }
                },
            )
            .as_collection()
    }
}
