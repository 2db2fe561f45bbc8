//! Jobs with planted bugs, for the tests of `shrink` and of `--check`: a job that panics on
//! one event, one whose output depends on how its input is split over the workers, and one
//! whose window bound is off by one (its baseline is right). Test fixtures only: never in
//! the built-in registry.

use std::collections::BTreeMap;

use differential_dataflow::{AsCollection, VecCollection};
use reprise_cli::Registry;
use reprise_cli::workload::{Definition, WorkloadInfo};
use reprise_datasets::Generator;
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;

/// The planted jobs, for the `planted` binary.
pub fn registry() -> Registry {
    Registry::new()
        .with::<Poisoned>()
        .with::<FirstArrived>()
        .with::<OffByOne>()
}

/// A small deterministic hash, to draw event fields from their index.
fn mix(seed: u64, index: u64) -> u64 {
    let mut x = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// An event with an id: ids are 0, 1, 2, ..., ten per millisecond.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Numbered {
    pub id: u64,
    pub ts: u64,
}

/// The events of [`Poisoned`].
pub struct NumberedEvents;

impl Generator for NumberedEvents {
    type Event = Numbered;
    fn generate(&self, index: u64) -> Numbered {
        Numbered {
            id: index,
            ts: index / 10,
        }
    }
}

/// A count per `id % 10`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Count {
    pub key: u64,
    pub count: i64,
}

reprise_engine::params! {
    /// The poisoned job's parameters.
    pub struct PoisonedParams {
        /// the id of the event that makes the job panic
        poison: u64 = "123457",
    }
}

/// Counts events per `id % 10`, and panics on the event whose id is `poison`.
pub struct Poisoned {
    poison: u64,
}

impl Job for Poisoned {
    type Event = Numbered;
    type Output = Count;

    fn event_time_ms(event: &Numbered) -> u64 {
        event.ts
    }

    fn build<'s>(
        &self,
        _ctx: &JobContext,
        events: VecCollection<'s, Epoch, Numbered>,
    ) -> VecCollection<'s, Epoch, Count> {
        let poison = self.poison;
        events
            .map(move |event| {
                assert!(event.id != poison, "poisoned event {}", event.id);
                event.id % 10
            })
            .count()
            .map(|(key, count)| Count {
                key,
                count: count as i64,
            })
    }
}

impl Definition for Poisoned {
    type Data = NumberedEvents;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "poisoned",
        summary: "counts per id % 10; panics on the event whose id is `poison`",
        params: PoisonedParams::SPECS,
        generator_params: &[],
        dataset: "numbered",
        input_format: "id,ts",
        default_epoch_ms: 100,
        csv: true,
        windowed: false,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        Ok(Poisoned {
            poison: PoisonedParams::from_params(params)?.poison,
        })
    }

    fn dataset(_params: &Params, _seed: u64) -> Result<NumberedEvents, EngineError> {
        Ok(NumberedEvents)
    }
}

/// A scored record: a key, a rank, and a value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scored {
    pub key: u64,
    pub rank: u64,
    pub value: u64,
    pub ts: u64,
}

/// The events of [`FirstArrived`]: 50 keys, 3 ranks, so ties are common.
pub struct ScoredEvents {
    seed: u64,
}

impl Generator for ScoredEvents {
    type Event = Scored;
    fn generate(&self, index: u64) -> Scored {
        Scored {
            key: mix(self.seed, index) % 50,
            rank: mix(self.seed + 1, index) % 3,
            value: mix(self.seed + 2, index) % 1000,
            ts: index,
        }
    }
}

/// The best record of a key: the highest rank, and of those the smallest value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Best {
    pub key: u64,
    pub rank: u64,
    pub value: u64,
}

/// The best record of each key. The planted bug: a pre-aggregation on each worker keeps,
/// of equal-ranked records, the first to arrive, so which value wins depends on how the
/// input is split over the workers.
pub struct FirstArrived;

impl Job for FirstArrived {
    type Event = Scored;
    type Output = Best;

    fn event_time_ms(event: &Scored) -> u64 {
        event.ts
    }

    fn build<'s>(
        &self,
        _ctx: &JobContext,
        events: VecCollection<'s, Epoch, Scored>,
    ) -> VecCollection<'s, Epoch, Best> {
        events
            .inner
            .unary::<CapacityContainerBuilder<Vec<(Scored, Epoch, isize)>>, _, _, _>(
                Pipeline,
                "FirstArrived",
                |_, _| {
                    // Per epoch and key, the first record of the highest rank so far.
                    let mut first: BTreeMap<(Epoch, u64), Scored> = BTreeMap::new();
                    move |input, output| {
                        input.for_each(|time, batch| {
                            let mut session = output.session(&time);
                            for (event, epoch, _) in batch.drain(..) {
                                match first.get(&(epoch, event.key)) {
                                    Some(kept) if kept.rank >= event.rank => {}
                                    kept => {
                                        if let Some(kept) = kept {
                                            session.give((kept.clone(), epoch, -1));
                                        }
                                        session.give((event.clone(), epoch, 1));
                                        first.insert((epoch, event.key), event);
                                    }
                                }
                            }
                        });
                    }
                },
            )
            .as_collection()
            .map(|e| (e.key, (e.rank, e.value)))
            .reduce(|_key, input, output| {
                let top = (input.last().expect("a non-empty group").0).0;
                let best = input
                    .iter()
                    .find(|((rank, _), _)| *rank == top)
                    .expect("the top rank is there");
                output.push((*best.0, 1isize));
            })
            .map(|(key, (rank, value))| Best { key, rank, value })
    }
}

impl Definition for FirstArrived {
    type Data = ScoredEvents;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "first-arrived",
        summary: "the best record of each key; ties go to the first to arrive on a worker (planted bug)",
        params: &[],
        generator_params: &[],
        dataset: "scored",
        input_format: "key,rank,value,ts",
        default_epoch_ms: 10,
        csv: true,
        windowed: false,
    };

    fn from_params(_params: &Params) -> Result<Self, EngineError> {
        Ok(FirstArrived)
    }

    fn dataset(_params: &Params, seed: u64) -> Result<ScoredEvents, EngineError> {
        Ok(ScoredEvents { seed })
    }
}

/// A count of events per key and tumbling window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowCount {
    pub window_start: u64,
    pub key: u64,
    pub count: i64,
}

/// The events of [`OffByOne`]: 5 keys, one event per millisecond.
pub struct KeyedEvents {
    seed: u64,
}

impl Generator for KeyedEvents {
    type Event = Numbered;
    fn generate(&self, index: u64) -> Numbered {
        Numbered {
            id: mix(self.seed, index) % 5,
            ts: index,
        }
    }
}

/// Tumbling windows of this many milliseconds.
const WINDOW_MS: u64 = 100;

/// Events per key (`id`) and 100 ms tumbling window. The planted bug: the dataflow puts an
/// event exactly at a window's start into the window before (an inclusive end bound);
/// the baseline, written from the definition, does not.
pub struct OffByOne;

impl Job for OffByOne {
    type Event = Numbered;
    type Output = WindowCount;

    fn event_time_ms(event: &Numbered) -> u64 {
        event.ts
    }

    fn build<'s>(
        &self,
        _ctx: &JobContext,
        events: VecCollection<'s, Epoch, Numbered>,
    ) -> VecCollection<'s, Epoch, WindowCount> {
        // With PLANTED_FIXED set the bound is right: a test records a correct run with it,
        // then replays that log with the bug, as a golden log meets a regression.
        let off = u64::from(std::env::var_os("PLANTED_FIXED").is_none());
        // With PLANTED_SLOW_MS set, a slower build of the same job: it spends that long on
        // every batch of events, with the same results (`reprise compare --build`'s tests).
        let slow_ms: Option<u64> = std::env::var("PLANTED_SLOW_MS")
            .ok()
            .and_then(|v| v.parse().ok());
        let events = match slow_ms {
            Some(ms) => events.inspect_batch(move |_, _| {
                std::thread::sleep(std::time::Duration::from_millis(ms))
            }),
            None => events,
        };
        events
            .map(move |e| (e.ts.saturating_sub(off) / WINDOW_MS * WINDOW_MS, e.id))
            .count()
            .map(|((window_start, key), count)| WindowCount {
                window_start,
                key,
                count: count as i64,
            })
    }

    fn baseline(
        &self,
        _epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Numbered)>,
        emit: &mut dyn FnMut(Epoch, &WindowCount, i64),
    ) -> Result<(), NoBaseline> {
        // [start, start + 100): an event at t belongs to the window starting at t - t % 100.
        let mut counts: BTreeMap<(u64, u64), i64> = BTreeMap::new();
        let mut changed: BTreeMap<(u64, u64), i64> = BTreeMap::new();
        let mut current = None;
        let mut flush = |epoch: Epoch,
                         counts: &BTreeMap<(u64, u64), i64>,
                         changed: &mut BTreeMap<(u64, u64), i64>| {
            for ((window_start, key), before) in std::mem::take(changed) {
                let now = counts[&(window_start, key)];
                if before > 0 {
                    emit(
                        epoch,
                        &WindowCount {
                            window_start,
                            key,
                            count: before,
                        },
                        -1,
                    );
                }
                emit(
                    epoch,
                    &WindowCount {
                        window_start,
                        key,
                        count: now,
                    },
                    1,
                );
            }
        };
        for (epoch, event) in events {
            if current.is_some_and(|c| c != epoch) {
                flush(current.unwrap_or(0), &counts, &mut changed);
            }
            current = Some(epoch);
            let cell = (event.ts - event.ts % WINDOW_MS, event.id);
            let count = counts.entry(cell).or_insert(0);
            changed.entry(cell).or_insert(*count);
            *count += 1;
        }
        if let Some(epoch) = current {
            flush(epoch, &counts, &mut changed);
        }
        Ok(())
    }
}

impl Definition for OffByOne {
    type Data = KeyedEvents;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "off-by-one",
        summary: "events per key and 100 ms tumbling window; the dataflow's window bound is off by one (planted bug)",
        params: &[],
        generator_params: &[],
        dataset: "keyed",
        input_format: "id,ts",
        default_epoch_ms: 10,
        csv: true,
        windowed: false,
    };

    fn from_params(_params: &Params) -> Result<Self, EngineError> {
        Ok(OffByOne)
    }

    fn dataset(_params: &Params, seed: u64) -> Result<KeyedEvents, EngineError> {
        Ok(KeyedEvents { seed })
    }
}
