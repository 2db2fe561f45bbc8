//! Per key, the greatest values of an insert-only collection, ranked (Nexmark q19's ten
//! highest bids per auction, q18's last bid per bidder and auction: SQL's `ROW_NUMBER()
//! OVER (PARTITION BY key ORDER BY ...) <= n`).
//!
//! Over an insert-only input a value that drops out of a key's top `n` never returns, so
//! state is `n` values per key, not every value (differential's `reduce` would keep every
//! value in its input arrangement). Each worker first keeps only its epoch's top `n` per
//! key, so no worker receives every event of a hot key.

use std::hash::Hash;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use crate::epoch::drain_by_epoch;
use crate::window::pop_complete;
use crate::{Epoch, HeldPerEpoch};

/// Ranked top-`n` selection over a collection of `(key, value)`.
pub trait TopPerKey<'s, K, V> {
    /// Per key, its `n` greatest values (by `V`'s order, greatest first), each with its
    /// rank from 1: a collection of `(key, rank, value)` that changes as greater values
    /// arrive (a value pushed down a rank is retracted at its old rank and inserted at its
    /// new one). A value inserted twice holds two ranks, as `ROW_NUMBER` gives it. The
    /// input must be insert-only (events); break ties in `V`'s order for a unique answer.
    fn top_per_key(self, n: usize) -> VecCollection<'s, Epoch, (K, u64, V)>;
}

/// Adds `diff` copies of a candidate to its key's values, trimmed to the top `n` whenever
/// they reach twice that (a bounded buffer).
fn add_candidate<K: Hash + Eq, V: Ord + Clone>(
    keys: &mut FxHashMap<K, Vec<V>>,
    (key, value): (K, V),
    diff: isize,
    n: usize,
) {
    assert!(
        diff > 0,
        "top_per_key needs an insert-only input, got a retraction"
    );
    let values = keys.entry(key).or_default();
    values.extend(std::iter::repeat_n(value, diff as usize));
    if values.len() >= 2 * n {
        keep_top(values, n);
    }
}

/// Keeps the `n` greatest of `values`, greatest first.
fn keep_top<V: Ord>(values: &mut Vec<V>, n: usize) {
    if values.len() > n {
        values.select_nth_unstable_by(n - 1, |a, b| b.cmp(a));
        values.truncate(n);
    }
    values.sort_unstable_by(|a, b| b.cmp(a));
}

/// Stage 1's output: each epoch's top values of a key, as updates.
type Candidates<K, V> = Vec<((K, V), Epoch, isize)>;

impl<'s, K, V> TopPerKey<'s, K, V> for VecCollection<'s, Epoch, (K, V)>
where
    K: ExchangeData + Hash + Eq,
    V: ExchangeData,
{
    fn top_per_key(self, n: usize) -> VecCollection<'s, Epoch, (K, u64, V)> {
        assert!(n > 0, "top_per_key needs n of at least 1");

        // Stage 1, on the worker that fed the event: per key, this epoch's top n values.
        let candidates = self
            .inner
            .unary_frontier::<CapacityContainerBuilder<Candidates<K, V>>, _, _, _>(
                Pipeline,
                "TopPerKeyLocal",
                move |_, _| {
                    let mut open: HeldPerEpoch<FxHashMap<K, Vec<V>>> = HeldPerEpoch::new();
                    move |(input, frontier), output| {
                        input.for_each(|cap, batch| {
                            let hold = |time| (cap.delayed(&time, 0), FxHashMap::default());
                            drain_by_epoch(batch, &mut open, hold, |keys, _, candidate, diff| {
                                add_candidate(keys, candidate, diff, n)
                            });
                        });
                        while let Some((time, cap, keys)) = pop_complete(&mut open, frontier) {
                            let mut session = output.session(&cap);
                            for (key, mut values) in keys {
                                keep_top(&mut values, n);
                                for value in values {
                                    session.give(((key.clone(), value), time, 1));
                                }
                            }
                        }
                    }
                },
            );

        // Stage 2, on the worker that owns the key: its top n, with the changes of their
        // ranks emitted when an epoch completes.
        let exchange = Exchange::new(|((key, _), _, _): &((K, V), Epoch, isize)| key.hashed());
        candidates
            .unary_frontier::<CapacityContainerBuilder<Vec<((K, u64, V), Epoch, isize)>>, _, _, _>(
                exchange,
                "TopPerKey",
                move |_, _| {
                    let mut pending: HeldPerEpoch<FxHashMap<K, Vec<V>>> = HeldPerEpoch::new();
                    let mut tops: FxHashMap<K, Vec<V>> = FxHashMap::default();
                    move |(input, frontier), output| {
                        input.for_each(|cap, batch| {
                            for ((key, value), time, _) in batch.drain(..) {
                                let (_, keys) = pending.entry(time).or_insert_with(|| {
                                    (cap.delayed(&time, 0), FxHashMap::default())
                                });
                                keys.entry(key).or_default().push(value);
                            }
                        });
                        while let Some((time, cap, keys)) = pop_complete(&mut pending, frontier) {
                            let mut session = output.session(&cap);
                            for (key, mut candidates) in keys {
                                let top = tops.entry(key.clone()).or_default();
                                let old = std::mem::take(top);
                                candidates.extend(old.iter().cloned());
                                keep_top(&mut candidates, n);
                                // Only the ranks whose value changed are updated.
                                for (rank, (was, is)) in old
                                    .iter()
                                    .map(Some)
                                    .chain(std::iter::repeat(None))
                                    .zip(&candidates)
                                    .enumerate()
                                {
                                    if was == Some(is) {
                                        continue;
                                    }
                                    let rank = rank as u64 + 1;
                                    if let Some(was) = was {
                                        session.give(((key.clone(), rank, was.clone()), time, -1));
                                    }
                                    session.give(((key.clone(), rank, is.clone()), time, 1));
                                }
                                *top = candidates;
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
    use super::keep_top;

    #[test]
    fn keep_top_keeps_the_n_greatest_greatest_first_duplicates_included() {
        let mut values = vec![3, 9, 1, 9, 4, 7, 2];
        keep_top(&mut values, 3);
        assert_eq!(values, vec![9, 9, 7]);
        let mut few = vec![1, 5];
        keep_top(&mut few, 3);
        assert_eq!(few, vec![5, 1]);
    }
}
