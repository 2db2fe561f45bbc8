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
use crate::log::LogMessage;
use crate::{Epoch, HeldPerEpoch, Record};
use differential_dataflow::consolidation::consolidate;

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

/// Attaches the digest sink to `output`. Updates are exchanged by record hash, so each
/// record's updates meet on one worker and consolidate exactly: the per-epoch update
/// counts do not depend on the number of workers.
///
/// Returns a probe that passes epoch `e` only after the sink has digested `e`, and this
/// worker's share of the per-epoch digests.
pub(crate) fn attach<'s, R: Record>(
    output: VecCollection<'s, Epoch, R>,
    worker: usize,
    rows: Option<Sender<SinkMessage<R>>>,
    log: Option<Sender<LogMessage>>,
) -> (probe::Handle<Epoch>, Rc<RefCell<DigestLog>>) {
    let digests = Rc::new(RefCell::new(DigestLog::default()));
    let share = Rc::clone(&digests);
    // Hash each record once: the hash routes it, orders it for consolidation, and digests it.
    let exchange = Exchange::new(|((hash, _), _, _): &((u64, R), Epoch, isize)| *hash);
    let (probe, _) = output
        .inner
        .map(|(record, time, diff)| ((record_hash(&record), record), time, diff))
        .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
            exchange,
            "DigestSink",
            move |_, _| {
                let mut pending: HeldPerEpoch<Vec<((u64, R), i64)>> = HeldPerEpoch::new();
                let mut reported: Option<Option<Epoch>> = None;
                move |(input, frontier), _output| {
                    input.for_each(|cap, batch| {
                        for (hashed, time, diff) in batch.drain(..) {
                            pending
                                .entry(time)
                                .or_insert_with(|| (cap.delayed(&time, 0), Vec::new()))
                                .1
                                .push((hashed, diff as i64));
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let (epoch, (_cap, mut updates)) = entry.remove_entry();
                        consolidate(&mut updates);
                        let mut digest = EpochDigest::default();
                        for ((hash, _), diff) in &updates {
                            digest.add(*hash, *diff);
                        }
                        share.borrow_mut().add(epoch, digest);
                        if let Some(log) = &log {
                            let _ = log.send(LogMessage::Output {
                                epoch,
                                share: digest,
                            });
                        }
                        if let Some(rows) = &rows
                            && !updates.is_empty()
                        {
                            // The writer outlives the workers; a send fails only if it
                            // stopped on an error of its own, which it reports itself.
                            let updates = updates
                                .into_iter()
                                .map(|((_, record), diff)| (record, diff))
                                .collect();
                            let _ = rows.send(SinkMessage::Rows {
                                epoch,
                                rows: updates,
                            });
                        }
                    }
                    let now = frontier.frontier().first().copied();
                    if reported != Some(now) {
                        reported = Some(now);
                        if let Some(rows) = &rows {
                            let _ = rows.send(SinkMessage::Frontier {
                                worker,
                                frontier: now,
                            });
                        }
                        if let Some(log) = &log {
                            let _ = log.send(LogMessage::OutputFrontier {
                                worker,
                                frontier: now,
                            });
                        }
                    }
                }
            },
        )
        .probe();
    (probe, digests)
}
