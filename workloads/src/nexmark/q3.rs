//! Nexmark q3, local item suggestion: people in Oregon, Idaho or California who sell in
//! category 10, with each such auction.
//!
//! Flink's SQL is an unbounded join: every person and every category-10 auction stays in
//! state for the whole run (as here, in differential arrangements), so memory grows with
//! the input. Nothing is ever retracted.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Event, Text};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A seller near one of the western states and an auction of theirs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalItem {
    /// The seller's name.
    pub name: Text,
    /// The seller's city.
    pub city: Text,
    /// The seller's state.
    pub state: Text,
    /// The auction.
    pub id: u64,
}

const CATEGORY: u64 = 10;

fn local_state(state: &str) -> bool {
    matches!(state, "OR" | "ID" | "CA")
}

/// The q3 job.
#[derive(Clone, Debug)]
pub struct Q3;

impl Job for Q3 {
    type Event = Event;
    type Output = LocalItem;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, LocalItem> {
        let sellers = events.clone().flat_map(|event| match event {
            Event::Person(p) if local_state(&p.state) => Some((p.id, (p.name, p.city, p.state))),
            _ => None,
        });
        events
            .flat_map(|event| match event {
                Event::Auction(a) if a.category == CATEGORY => Some((a.seller, a.id)),
                _ => None,
            })
            .join(sellers)
            .map(|(_, (id, (name, city, state)))| LocalItem {
                name,
                city,
                state,
                id,
            })
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &LocalItem, i64),
    ) -> Result<(), NoBaseline> {
        let mut sellers: FxHashMap<u64, (Text, Text, Text)> = FxHashMap::default();
        let mut waiting: FxHashMap<u64, Vec<u64>> = FxHashMap::default();
        let item = |(name, city, state): &(Text, Text, Text), id| LocalItem {
            name: name.clone(),
            city: city.clone(),
            state: state.clone(),
            id,
        };
        for (epoch, event) in events {
            match event {
                Event::Person(p) if local_state(&p.state) => {
                    let seller = (p.name, p.city, p.state);
                    for id in waiting.remove(&p.id).unwrap_or_default() {
                        emit(epoch, &item(&seller, id), 1);
                    }
                    sellers.insert(p.id, seller);
                }
                Event::Auction(a) if a.category == CATEGORY => match sellers.get(&a.seller) {
                    Some(seller) => emit(epoch, &item(seller, a.id), 1),
                    None => waiting.entry(a.seller).or_default().push(a.id),
                },
                _ => {}
            }
        }
        Ok(())
    }
}
