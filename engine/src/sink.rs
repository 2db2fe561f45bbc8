//! The output sink: consolidates each epoch's output, digests it, and hands rows to the
//! output writer.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::Sender;

use differential_dataflow::VecCollection;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Probe, probe};

use crate::digest::{DigestLog, EpochDigest, record_hash};
use crate::epoch::drain_by_epoch;
use crate::log::{EncodeRows, LogMessage};
use crate::output::ClosingEpoch;
use crate::preview::PreviewRows;
use crate::{Epoch, HeldPerEpoch, Record};

/// What a worker's sink sends to the output writer.
#[derive(Debug)]
pub enum SinkMessage<R> {
    /// The consolidated output of one epoch, from one worker.
    Rows {
        /// The epoch.
        epoch: Epoch,
        /// `(record, diff)`, no zero diffs, each record once.
        rows: Vec<(R, i64)>,
    },
    /// A worker will send nothing more for epochs before `frontier` (`None`: nothing more).
    Frontier {
        /// The worker.
        worker: usize,
        /// The worker's sink frontier.
        frontier: Option<Epoch>,
    },
}

/// Where a worker's sink sends what it finishes, besides its own digest share.
pub(crate) struct SinkOutputs<R> {
    /// Gather the consolidated rows on worker 0 for the output file (every worker sends).
    pub gather_rows: bool,
    /// The output writer; only global worker 0 has it.
    pub rows: Option<Sender<SinkMessage<R>>>,
    /// The input log writer of this process.
    pub log: Option<Sender<LogMessage>>,
    /// This worker's index within its process (for the log writer).
    pub local_worker: usize,
    /// The closing epoch of a record (its window's), to tell final rows for the preview.
    pub closing: ClosingEpoch<R>,
    /// Also record each epoch's consolidated rows in the input log (`--record-output`).
    pub record_rows: bool,
}

/// What a worker's sink keeps: its share of the per-epoch digests and of the preview.
pub(crate) struct SinkShares<R> {
    pub digests: Rc<RefCell<DigestLog>>,
    pub preview: Rc<RefCell<PreviewRows<R>>>,
}

/// Attaches the digest sink to `output`. Updates are exchanged by record hash, so each
/// record's updates meet on one worker and consolidate exactly: the per-epoch update
/// counts do not depend on the number of workers. With an output file, each epoch's
/// consolidated rows then travel to worker 0 (over timely, from any process), which hands
/// them to the output writer in epoch order.
///
/// Returns a probe that passes epoch `e` only after the sink has digested `e` (and the
/// output writer has been handed it), and this worker's share of the per-epoch digests
/// and of the preview.
pub(crate) fn attach<'s, R: Record>(
    output: VecCollection<'s, Epoch, R>,
    outputs: SinkOutputs<R>,
) -> (probe::Handle<Epoch>, SinkShares<R>) {
    let SinkOutputs {
        gather_rows,
        rows,
        log,
        local_worker,
        closing,
        record_rows,
    } = outputs;
    let shares = SinkShares {
        digests: Rc::new(RefCell::new(DigestLog::default())),
        preview: Rc::new(RefCell::new(PreviewRows::new())),
    };
    let share = Rc::clone(&shares.digests);
    let preview = Rc::clone(&shares.preview);
    // Hash each record once: the hash routes it, orders it for consolidation, and digests it.
    let exchange = Exchange::new(|((hash, _), _, _): &((u64, R), Epoch, isize)| *hash);
    let consolidated = output
        .inner
        .map(|(record, time, diff)| ((record_hash(&record), record), time, diff))
        .unary_frontier::<CapacityContainerBuilder<Vec<EpochRows<R>>>, _, _, _>(
            exchange,
            "DigestSink",
            move |_, _| {
                let mut pending: HeldPerEpoch<Vec<((u64, R), i64)>> = HeldPerEpoch::new();
                // An epoch's updates, once digested, leave their vector for a later epoch:
                // growing a fresh one copies it and faults in fresh pages as it doubles.
                let mut spare: Option<Vec<((u64, R), i64)>> = None;
                let mut hashes = Vec::new();
                let mut reported: Option<Option<Epoch>> = None;
                move |(input, frontier), output| {
                    input.for_each(|cap, batch| {
                        drain_by_epoch(
                            batch,
                            &mut pending,
                            |time| (cap.delayed(&time, 0), spare.take().unwrap_or_default()),
                            |updates, _, hashed, diff| updates.push((hashed, diff as i64)),
                        );
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let (epoch, (cap, mut updates)) = entry.remove_entry();
                        if record_rows {
                            // The log's rows block keeps them in (hash, record) order.
                            consolidate_hashed(&mut updates);
                        } else {
                            consolidate_unordered(&mut updates, &mut hashes);
                        }
                        let mut digest = EpochDigest::default();
                        let mut preview = preview.borrow_mut();
                        for ((hash, record), diff) in &updates {
                            digest.add(*hash, *diff);
                            preview.offer(epoch, record, *diff, || closing(record));
                        }
                        share.borrow_mut().add(epoch, digest);
                        if let Some(log) = &log {
                            if record_rows && !updates.is_empty() {
                                // Encoded and compressed on the log writer's thread, off
                                // the worker's path.
                                let rows = if gather_rows {
                                    updates.clone()
                                } else {
                                    std::mem::take(&mut updates)
                                };
                                let _ = log.send(LogMessage::OutputRows {
                                    encode: EncodeRows(Box::new(move || rows_block(epoch, &rows))),
                                });
                            }
                            let _ = log.send(LogMessage::Output {
                                epoch,
                                share: digest,
                            });
                        }
                        if gather_rows && !updates.is_empty() {
                            let rows = updates
                                .drain(..)
                                .map(|((_, record), diff)| (record, diff))
                                .collect();
                            output.session(&cap).give((epoch, rows));
                        }
                        updates.clear();
                        spare = Some(updates);
                    }
                    let now = frontier.frontier().first().copied();
                    if reported != Some(now) {
                        reported = Some(now);
                        if let Some(log) = &log {
                            let _ = log.send(LogMessage::OutputFrontier {
                                worker: local_worker,
                                frontier: now,
                            });
                        }
                    }
                }
            },
        );
    if !gather_rows {
        return (consolidated.probe().0, shares);
    }
    let to_worker_zero = Exchange::new(|_: &EpochRows<R>| 0);
    let (probe, _) = consolidated
        .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
            to_worker_zero,
            "OutputGather",
            move |_, _| {
                let mut pending: HeldPerEpoch<Vec<(R, i64)>> = HeldPerEpoch::new();
                let mut reported: Option<Option<Epoch>> = None;
                move |(input, frontier), _output| {
                    input.for_each(|cap, batch| {
                        for (epoch, epoch_rows) in batch.drain(..) {
                            pending
                                .entry(epoch)
                                .or_insert_with(|| (cap.delayed(&epoch, 0), Vec::new()))
                                .1
                                .extend(epoch_rows);
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let (epoch, (_cap, epoch_rows)) = entry.remove_entry();
                        if let Some(rows) = &rows {
                            // The writer outlives the workers; a send fails only if it
                            // stopped on an error of its own, which it reports itself.
                            let _ = rows.send(SinkMessage::Rows {
                                epoch,
                                rows: epoch_rows,
                            });
                        }
                    }
                    let now = frontier.frontier().first().copied();
                    if reported != Some(now) {
                        reported = Some(now);
                        if let Some(rows) = &rows {
                            let _ = rows.send(SinkMessage::Frontier {
                                worker: 0,
                                frontier: now,
                            });
                        }
                    }
                }
            },
        )
        .probe();
    (probe, shares)
}

/// Sums the diffs of equal records and drops those that cancel, leaving `updates` sorted by
/// `(hash, record)`. An unstable sort suffices (equal keys merge), and the hash settles
/// almost every comparison: in a profile of `filter-count` with 100k keys per window the
/// sort fell from 18% of the samples (differential's stable `consolidate`) to 9%.
fn consolidate_hashed<R: Ord>(updates: &mut Vec<((u64, R), i64)>) {
    updates.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    let mut kept = 0;
    for at in 0..updates.len() {
        if kept > 0 && updates[kept - 1].0 == updates[at].0 {
            updates[kept - 1].1 += updates[at].1;
        } else {
            if kept > 0 && updates[kept - 1].1 == 0 {
                kept -= 1;
            }
            updates.swap(kept, at);
            kept += 1;
        }
    }
    if kept > 0 && updates[kept - 1].1 == 0 {
        kept -= 1;
    }
    updates.truncate(kept);
}

/// Sums the diffs of equal records and drops those that cancel, in any order. Most of an
/// epoch's updates are distinct records (a window's change is one retraction and one
/// insertion of different rows): sorting the hashes alone (an eighth of the bytes, or less)
/// finds the few that are not, and only those get the full consolidation.
/// `hashes` is scratch space, kept by the caller for its capacity.
fn consolidate_unordered<R: Ord>(updates: &mut Vec<((u64, R), i64)>, hashes: &mut Vec<u64>) {
    hashes.clear();
    hashes.extend(updates.iter().map(|((hash, _), _)| *hash));
    hashes.sort_unstable();
    // Hashes met more than once: equal records or, rarely, a collision.
    let repeated: Vec<u64> = hashes
        .chunk_by(|a, b| a == b)
        .filter(|run| run.len() > 1)
        .map(|run| run[0])
        .collect();
    if !repeated.is_empty() {
        let mut alike: Vec<_> = updates
            .extract_if(.., |((hash, _), _)| repeated.binary_search(hash).is_ok())
            .collect();
        consolidate_hashed(&mut alike);
        updates.append(&mut alike);
    }
    updates.retain(|(_, diff)| *diff != 0);
}

/// One worker's consolidated rows of an epoch, framed as an output-rows log block.
fn rows_block<R: Record>(epoch: Epoch, updates: &[((u64, R), i64)]) -> Vec<u8> {
    use crate::log::format::{OUTPUT_ROWS_KIND, encode, frame_tagged};
    let mut payload = encode(&(epoch, updates.len() as u64));
    for ((_, record), diff) in updates {
        payload.extend(encode(&(record, diff)));
    }
    frame_tagged(OUTPUT_ROWS_KIND, &payload, true)
}

/// One epoch's consolidated output rows from one worker.
type EpochRows<R> = (Epoch, Vec<(R, i64)>);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The same rows, in the same order, as differential's `consolidate`: hashes drawn
        /// from a few values so that equal hashes with different records occur.
        #[test]
        fn consolidate_hashed_matches_differential(
            updates in prop::collection::vec(((0u64..4, 0u8..6), -2i64..3), 0..60)
        ) {
            let mut ours = updates.clone();
            super::consolidate_hashed(&mut ours);
            let mut theirs = updates;
            differential_dataflow::consolidation::consolidate(&mut theirs);
            prop_assert_eq!(ours, theirs);
        }

        /// The same rows as differential's `consolidate`, in some order.
        #[test]
        fn consolidate_unordered_matches_differential(
            updates in prop::collection::vec(((0u64..40, 0u8..2), -2i64..3), 0..60)
        ) {
            let mut ours = updates.clone();
            super::consolidate_unordered(&mut ours, &mut Vec::new());
            ours.sort();
            let mut theirs = updates;
            differential_dataflow::consolidation::consolidate(&mut theirs);
            prop_assert_eq!(ours, theirs);
        }
    }
}
