//! Nexmark q11, user sessions: per bidder, the bids of each session, a session ending when
//! the bidder pauses longer than the gap (10 s; Flink's SQL,
//! `GROUP BY bidder, SESSION(dateTime, INTERVAL '10' SECOND)`).
//!
//! As in Flink, bids exactly one gap apart share a session, a session spans
//! `[first bid, last bid + gap)`, and it closes (its final row) once event time has passed
//! its end plus the allowed lateness (`lateness_ms`, default 0): a bid at exactly the end
//! still joins it, whatever the epoch length.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::Event;
use reprise_engine::window::{SessionSum, SessionWindow};
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline,
};
use rustc_hash::FxHashMap;
use reprise_engine::params::DURATION_MS;
use serde::{Deserialize, Serialize};

use crate::baseline::{first_epoch_after, window_time};

/// One bidder's session.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BidderSession {
    /// The bidder.
    pub bidder: u64,
    /// Bids in the session.
    pub bid_count: i64,
    /// The first bid's time, in milliseconds.
    pub start_time: u64,
    /// The last bid's time plus the gap, in milliseconds.
    pub end_time: u64,
}

/// The q11 job.
#[derive(Clone, Debug)]
pub struct Q11 {
    window: SessionWindow,
}

impl Job for Q11 {
    type Event = Event;
    type Output = BidderSession;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, BidderSession> {
        events
            .flat_map(|event| super::bid(event).map(|bid| (bid.bidder, bid.date_time, 1)))
            .session_sum(self.window, ctx)
            .map(|(bidder, start_time, end_time, bid_count)| BidderSession {
                bidder,
                bid_count,
                start_time,
                end_time,
            })
    }

    fn closing_epoch(&self, record: &BidderSession, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.end_time, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &BidderSession, i64),
    ) -> Result<(), NoBaseline> {
        let gap = self.window.gap_ms;
        // A bid exactly `gap` after the last one still joins its session (Flink's session
        // windows merge touching spans), so a session is complete only at the first epoch
        // that starts after its end plus the lateness.
        let closes_at =
            |last: u64| first_epoch_after(last + gap + self.window.lateness_ms, epochs.epoch_ms);
        let row = |bidder, (first, last, count): (u64, u64, i64)| BidderSession {
            bidder,
            bid_count: count,
            start_time: first,
            end_time: last + gap,
        };
        // Per bidder, the open sessions `(first, last, count)`, ordered by time.
        let mut open: FxHashMap<u64, Vec<(u64, u64, i64)>> = FxHashMap::default();
        // The sessions before the current epoch of every bidder it changed.
        let mut before: FxHashMap<u64, Vec<(u64, u64, i64)>> = FxHashMap::default();
        let mut current: Option<Epoch> = None;
        let mut advance =
            |epoch: Epoch,
             open: &mut FxHashMap<u64, Vec<(u64, u64, i64)>>,
             before: &mut FxHashMap<u64, Vec<(u64, u64, i64)>>,
             emit: &mut dyn FnMut(Epoch, &BidderSession, i64)| {
                let Some(now) = current.filter(|now| epoch > *now) else {
                    current = current.or(Some(epoch));
                    return;
                };
                for (bidder, old) in before.drain() {
                    old.iter().for_each(|s| emit(now, &row(bidder, *s), -1));
                    open[&bidder]
                        .iter()
                        .for_each(|s| emit(now, &row(bidder, *s), 1));
                }
                let mut closed: Vec<(Epoch, BidderSession)> = Vec::new();
                open.retain(|bidder, sessions| {
                    sessions.retain(|s| {
                        let close = closes_at(s.1);
                        if close <= epoch {
                            closed.push((close, row(*bidder, *s)));
                        }
                        close > epoch
                    });
                    !sessions.is_empty()
                });
                closed.sort_by_key(|(close, _)| *close);
                closed.iter().for_each(|(close, r)| emit(*close, r, -1));
                current = Some(epoch);
            };
        for (epoch, event) in events {
            advance(epoch, &mut open, &mut before, emit);
            let Event::Bid(bid) = event else { continue };
            let time = window_time(epochs, bid.date_time, epoch);
            if closes_at(time) <= epoch {
                continue; // late: its session would have closed already
            }
            let sessions = open.entry(bid.bidder).or_default();
            before.entry(bid.bidder).or_insert_with(|| sessions.clone());
            // Absorb every session within a gap of the bid.
            let mut merged = (time, time, 1);
            sessions.retain(|&(first, last, count)| {
                let touches = first <= time + gap && time <= last + gap;
                if touches {
                    merged = (merged.0.min(first), merged.1.max(last), merged.2 + count);
                }
                !touches
            });
            let at = sessions.partition_point(|s| s.0 < merged.0);
            sessions.insert(at, merged);
        }
        advance(Epoch::MAX, &mut open, &mut before, emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// q11's parameters.
    pub struct Q11Params {
        /// a session ends after a pause longer than gap_ms
        gap_ms: u64 = "10000" in DURATION_MS,
        /// allowed lateness in ms: a window closes this long after its end (Flink's DDL allows 4 s)
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

impl Q11 {
    /// The job, from its parameters.
    pub fn new(params: &Q11Params) -> Result<Self, EngineError> {
        Ok(Q11 {
            window: SessionWindow::new(params.gap_ms, params.lateness_ms)?,
        })
    }
}
