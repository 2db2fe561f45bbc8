//! Per window and key, the values of the highest rank, ties kept (Nexmark q7's highest bid).
//!
//! Over an insert-only input the highest rank only grows, so each worker keeps only an
//! epoch's values at its own highest rank per `(window, key)`, and the owner of
//! `(window, key)` keeps the values at the overall highest rank: a value below it can never
//! be part of the answer again. No worker receives every event, even with a single key.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use super::{Closes, WindowAssigner, pop_complete};
use crate::epoch::drain_by_epoch;
use crate::{Epoch, HeldPerEpoch, JobContext};

/// The values at the highest rank seen, with their multiplicities.
struct Highest<R, V> {
    rank: R,
    values: Vec<(V, i64)>,
}

impl<R: Ord + Copy, V: Ord> Highest<R, V> {
    /// Adds `value` at `rank`: returns false if it ranks below the current values.
    fn offer(slot: &mut Option<Self>, rank: R, value: V, count: i64) -> bool {
        match slot {
            Some(highest) if rank < highest.rank => return false,
            Some(highest) if rank == highest.rank => highest.values.push((value, count)),
            _ => {
                *slot = Some(Highest {
                    rank,
                    values: vec![(value, count)],
                })
            }
        }
        true
    }
}

/// Windowed top-rank selection over a collection of `(key, event_time_ms, value)`.
pub trait WindowMax<'s, K, V> {
    /// Per window and key, every value whose `rank(value)` is the highest in the window
    /// and key (ties kept, each with its multiplicity): a collection of
    /// `(window_start_ms, key, value)` that changes as higher ranks arrive and is retracted
    /// at the window's close. The input must be insert-only (events).
    fn window_max<W: WindowAssigner, R: Ord + Copy + 'static>(
        self,
        window: W,
        ctx: &JobContext,
        rank: impl Fn(&V) -> R + Clone + 'static,
    ) -> VecCollection<'s, Epoch, (u64, K, V)>;
}

type Candidate<K, V> = (((u64, K), V), Epoch, i64);
/// A candidate received by the owner: `((window, key), value, count)`.
type Received<K, V> = ((u64, K), V, i64);

impl<'s, K, V> WindowMax<'s, K, V> for VecCollection<'s, Epoch, (K, u64, V)>
where
    K: ExchangeData + Hash + Eq,
    V: ExchangeData,
{
    fn window_max<W: WindowAssigner, R: Ord + Copy + 'static>(
        self,
        window: W,
        ctx: &JobContext,
        rank: impl Fn(&V) -> R + Clone + 'static,
    ) -> VecCollection<'s, Epoch, (u64, K, V)> {
        let epochs = ctx.epochs;
        let late_counter = ctx.clone();
        let local_rank = rank.clone();

        // Stage 1, on the worker that fed the event: per (window, key) and epoch, the values
        // at this worker's highest rank, released when the epoch is complete.
        let candidates = self
            .inner
            .unary_frontier::<CapacityContainerBuilder<Vec<Candidate<K, V>>>, _, _, _>(
                Pipeline,
                "WindowMaxLocal",
                move |_, _| {
                    type Open<K, R, V> = FxHashMap<(u64, K), Option<Highest<R, V>>>;
                    let mut open: HeldPerEpoch<Open<K, R, V>> = HeldPerEpoch::new();
                    move |(input, frontier), output| {
                        let mut late = 0;
                        input.for_each(|cap, batch| {
                            let hold = |time| (cap.delayed(&time, 0), FxHashMap::default());
                            drain_by_epoch(batch, &mut open, hold, |highest, time, event, diff| {
                                let (key, event_time, value) = event;
                                assert!(
                                    diff > 0,
                                    "window_max needs an insert-only input, got a retraction"
                                );
                                let at = epochs.time_ms(event_time, time);
                                let value_rank = local_rank(&value);
                                window.for_each_start(at, |start| {
                                    if window.closing_epoch(start, &epochs) <= time {
                                        late += 1;
                                    } else {
                                        let slot = highest.entry((start, key.clone())).or_default();
                                        Highest::offer(
                                            slot,
                                            value_rank,
                                            value.clone(),
                                            diff as i64,
                                        );
                                    }
                                });
                            });
                        });
                        if late > 0 {
                            late_counter.count_late(late);
                        }
                        while let Some((time, cap, highest)) = pop_complete(&mut open, frontier) {
                            let mut session = output.session(&cap);
                            for (window_key, slot) in highest {
                                let Some(mut highest) = slot else { continue };
                                consolidate(&mut highest.values);
                                for (value, count) in highest.values {
                                    session.give(((window_key.clone(), value), time, count));
                                }
                            }
                        }
                    }
                },
            );

        // Stage 2, on the worker that owns (window, key): the values at the highest rank,
        // emitted as changes when an epoch completes, retracted when the window closes.
        let exchange =
            Exchange::new(|((window_key, _), _, _): &Candidate<K, V>| window_key.hashed());
        candidates
            .unary_frontier::<CapacityContainerBuilder<Vec<((u64, K, V), Epoch, isize)>>, _, _, _>(
                exchange,
                "WindowMax",
                move |_, _| {
                    let mut pending: HeldPerEpoch<Vec<Received<K, V>>> = HeldPerEpoch::new();
                    let mut windows: BTreeMap<u64, FxHashMap<K, Highest<R, V>>> = BTreeMap::new();
                    let mut closes: Closes<u64> = Closes::new();
                    move |(input, frontier), output| {
                        input.for_each(|cap, batch| {
                            drain_by_epoch(
                                batch,
                                &mut pending,
                                |time| (cap.delayed(&time, 0), Vec::new()),
                                |pending, _, (window_key, value), count| {
                                    pending.push((window_key, value, count))
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
                                let (cap, candidates) =
                                    pending.pop_first().map(|(_, v)| v).unwrap();
                                // This epoch's values at the highest rank per (window, key).
                                let mut epoch_highest: FxHashMap<(u64, K), Option<Highest<R, V>>> =
                                    FxHashMap::default();
                                for (window_key, value, count) in candidates {
                                    let slot = epoch_highest.entry(window_key).or_default();
                                    Highest::offer(slot, rank(&value), value, count);
                                }
                                let mut session = output.session(&cap);
                                for ((start, key), slot) in epoch_highest {
                                    let Some(mut new) = slot else { continue };
                                    consolidate(&mut new.values);
                                    let keys = windows.entry(start).or_insert_with(|| {
                                        let close = window.closing_epoch(start, &epochs);
                                        closes.schedule(close, start, &cap);
                                        FxHashMap::default()
                                    });
                                    match keys.get_mut(&key) {
                                        Some(current) if new.rank < current.rank => continue,
                                        Some(current) if new.rank == current.rank => {
                                            for (value, count) in &new.values {
                                                session.give((
                                                    (start, key.clone(), value.clone()),
                                                    next,
                                                    *count as isize,
                                                ));
                                            }
                                            current.values.append(&mut new.values);
                                            consolidate(&mut current.values);
                                        }
                                        current => {
                                            for (value, count) in current
                                                .map(|c| std::mem::take(&mut c.values))
                                                .unwrap_or_default()
                                            {
                                                session.give((
                                                    (start, key.clone(), value),
                                                    next,
                                                    -count as isize,
                                                ));
                                            }
                                            for (value, count) in &new.values {
                                                session.give((
                                                    (start, key.clone(), value.clone()),
                                                    next,
                                                    *count as isize,
                                                ));
                                            }
                                            keys.insert(key, new);
                                        }
                                    }
                                }
                            }
                            if next_close == Some(next) {
                                closes.close_next(|cap, starts| {
                                    let mut session = output.session(cap);
                                    for start in starts {
                                        for (key, highest) in
                                            windows.remove(&start).unwrap_or_default()
                                        {
                                            for (value, count) in highest.values {
                                                session.give((
                                                    (start, key.clone(), value),
                                                    next,
                                                    -count as isize,
                                                ));
                                            }
                                        }
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
