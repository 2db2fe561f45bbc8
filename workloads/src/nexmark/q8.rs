//! Nexmark q8, monitor new users: the people who opened an auction in the same 10 s
//! tumbling window as they registered (Flink's SQL: persons and auctions each grouped by
//! `TUMBLE(dateTime, 10 s)`, joined on `person.id = auction.seller` and the window; the
//! original Nexmark uses 12 hours).
//!
//! Both sides are distinct per window (persons by id and name, sellers by id), counted by
//! the window operator, so the join holds one row per person and per seller of each open
//! window, and nothing once a window closes.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Event, Text};
use reprise_engine::window::{TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::{FxHashMap, FxHashSet};
use reprise_engine::params::DURATION_MS;
use serde::{Deserialize, Serialize};

use crate::baseline::{first_epoch_from, window_time};

/// A person who opened an auction in the window they registered in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NewUser {
    /// The person.
    pub id: u64,
    /// Their name.
    pub name: Text,
    /// Window start, in milliseconds.
    pub window_start: u64,
}

/// The q8 job.
#[derive(Clone, Debug)]
pub struct Q8 {
    window: TumblingWindow,
}

impl Job for Q8 {
    type Event = Event;
    type Output = NewUser;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, NewUser> {
        let persons = events
            .clone()
            .window_sum_by(self.window, ctx, |event| match event {
                Event::Person(p) => Some(((p.id, p.name), p.date_time, 1)),
                _ => None,
            })
            .map(|(start, (id, name), _)| ((start, id), name));
        let sellers = events
            .window_sum_by(self.window, ctx, |event| match event {
                Event::Auction(a) => Some((a.seller, a.date_time, 1)),
                _ => None,
            })
            .map(|(start, seller, _)| (start, seller));
        persons
            .semijoin(sellers)
            .map(|((window_start, id), name)| NewUser {
                id,
                name,
                window_start,
            })
    }

    fn closing_epoch(&self, record: &NewUser, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &NewUser, i64),
    ) -> Result<(), NoBaseline> {
        /// A window's people and sellers; rows are the people who are also sellers.
        #[derive(Default)]
        struct Window {
            persons: FxHashMap<u64, Text>,
            sellers: FxHashSet<u64>,
        }
        let row = |start, id, name: &Text| NewUser {
            id,
            name: name.clone(),
            window_start: start,
        };
        // A window [start, start + size) is complete at the first epoch that starts at or
        // after its end plus the lateness.
        let (size, lateness) = (self.window.size_ms, self.window.lateness_ms);
        let closes_at = |start: u64| first_epoch_from(start + size + lateness, epochs.epoch_ms);
        let mut windows: std::collections::BTreeMap<u64, Window> = Default::default();
        for (epoch, event) in events {
            // Close every window due by this epoch, in order, retracting its rows.
            while let Some((&start, _)) = windows.first_key_value() {
                let close = closes_at(start);
                if close > epoch {
                    break;
                }
                let window = windows.remove(&start).expect("the first window exists");
                for (id, name) in &window.persons {
                    if window.sellers.contains(id) {
                        emit(close, &row(start, *id, name), -1);
                    }
                }
            }
            let time = window_time(epochs, event.date_time(), epoch);
            let start = time - time % size;
            if closes_at(start) <= epoch {
                continue; // late
            }
            let window = windows.entry(start).or_default();
            match event {
                Event::Person(p) => {
                    if window.sellers.contains(&p.id) {
                        emit(epoch, &row(start, p.id, &p.name), 1);
                    }
                    window.persons.insert(p.id, p.name);
                }
                Event::Auction(a) => {
                    if window.sellers.insert(a.seller)
                        && let Some(name) = window.persons.get(&a.seller)
                    {
                        emit(epoch, &row(start, a.seller, name), 1);
                    }
                }
                Event::Bid(_) => {}
            }
        }
        for (start, window) in windows {
            let close = closes_at(start);
            for (id, name) in &window.persons {
                if window.sellers.contains(id) {
                    emit(close, &row(start, *id, name), -1);
                }
            }
        }
        Ok(())
    }
}

reprise_engine::params! {
    /// q8's parameters.
    pub struct Q8Params {
        /// tumbling window size in ms
        window_ms: u64 = "10000" in DURATION_MS,
        /// allowed lateness in ms: a window closes this long after its end (Flink's DDL allows 4 s)
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

impl Q8 {
    /// The job, from its parameters.
    pub fn new(params: &Q8Params) -> Result<Self, EngineError> {
        Ok(Q8 {
            window: TumblingWindow::new(params.window_ms, params.lateness_ms)?,
        })
    }
}
