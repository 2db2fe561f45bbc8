//! A lookup join: each record meets the values of its key in a small table, as the table
//! stands at the record's epoch (SQL's `JOIN table FOR SYSTEM_TIME AS OF`, Nexmark q13's
//! bounded side input).
//!
//! The table is broadcast to every worker and records stay where they are: nothing of
//! the large side crosses a worker boundary, and nothing of it is kept once joined.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;

use crate::epoch::drain_by_epoch;
use crate::{Epoch, HeldPerEpoch};

/// Joins a collection of `(key, record)` with a table of `(key, value)`.
pub trait LookupJoin<'s, K, V> {
    /// For each record, `join(record, value)` for every value of its key among the table's
    /// rows of the record's epoch and earlier (a record meets no later row). Both inputs
    /// must be insert-only (events); a table row inserted twice joins twice, as a SQL
    /// table with a duplicate row does.
    fn lookup_join<T: ExchangeData, R: ExchangeData>(
        self,
        table: VecCollection<'s, Epoch, (K, T)>,
        join: impl Fn(&V, &T) -> R + 'static,
    ) -> VecCollection<'s, Epoch, R>;
}

impl<'s, K, V> LookupJoin<'s, K, V> for VecCollection<'s, Epoch, (K, V)>
where
    K: ExchangeData + Hash + Eq,
    V: ExchangeData,
{
    fn lookup_join<T: ExchangeData, R: ExchangeData>(
        self,
        table: VecCollection<'s, Epoch, (K, T)>,
        join: impl Fn(&V, &T) -> R + 'static,
    ) -> VecCollection<'s, Epoch, R> {
        self.inner
            .binary_frontier::<_, CapacityContainerBuilder<Vec<(R, Epoch, isize)>>, _, _, _, _>(
                table.inner.broadcast(),
                Pipeline,
                Pipeline,
                "LookupJoin",
                move |_, _| {
                    // Table rows not yet in the lookup, by epoch.
                    let mut arriving: BTreeMap<Epoch, Vec<(K, T)>> = BTreeMap::new();
                    let mut lookup: FxHashMap<K, Vec<T>> = FxHashMap::default();
                    // Records waiting for the table to be complete at their epoch.
                    let mut waiting: HeldPerEpoch<Vec<(K, V, isize)>> = HeldPerEpoch::new();
                    move |(records, _), (rows, table_frontier), output| {
                        rows.for_each(|_, batch| {
                            for ((key, value), time, diff) in batch.drain(..) {
                                assert!(diff > 0, "lookup_join needs an insert-only table");
                                let epoch_rows = arriving.entry(time).or_default();
                                epoch_rows.extend(std::iter::repeat_n((key, value), diff as usize));
                            }
                        });
                        records.for_each(|cap, batch| {
                            let hold = |time| (cap.delayed(&time, 0), Vec::new());
                            drain_by_epoch(
                                batch,
                                &mut waiting,
                                hold,
                                |epoch_records, _, (key, record), diff| {
                                    assert!(diff > 0, "lookup_join needs insert-only records");
                                    epoch_records.push((key, record, diff));
                                },
                            );
                        });
                        while let Some(entry) = waiting.first_entry() {
                            let epoch = *entry.key();
                            if table_frontier.less_equal(&epoch) {
                                break;
                            }
                            while let Some(rows) = arriving.first_entry() {
                                if *rows.key() > epoch {
                                    break;
                                }
                                for (key, value) in rows.remove() {
                                    lookup.entry(key).or_default().push(value);
                                }
                            }
                            let (cap, epoch_records) = entry.remove();
                            let mut session = output.session(&cap);
                            for (key, record, diff) in epoch_records {
                                for value in lookup.get(&key).into_iter().flatten() {
                                    session.give((join(&record, value), epoch, diff));
                                }
                            }
                        }
                    }
                },
            )
            .as_collection()
    }
}
