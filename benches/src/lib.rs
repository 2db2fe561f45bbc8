//! Criterion micro-benchmarks of Reprise's components live in `benches/`; this library
//! holds the jobs they share.

#![deny(missing_docs)]

pub mod peers;

use differential_dataflow::operators::CountTotal;
use differential_dataflow::{AsCollection, VecCollection};
use reprise_engine::window::{TumblingWindow, WindowAggregateBy};
use reprise_engine::{Epoch, Job, JobContext};
use timely::dataflow::operators::vec::Map;

/// Which window implementation a [`KeyedWindowCount`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idiom {
    /// Reprise's window operator (per-epoch pre-aggregation, retractions held in the operator).
    Reprise,
    /// The simple differential idiom: insert at the event's epoch, retract at the window's
    /// close, `count_total` per `(key, window)`, as one would write it by hand.
    HandWrittenDifferential,
}

/// Counts `(key, time_ms)` events per key per tumbling window.
#[derive(Clone, Copy, Debug)]
pub struct KeyedWindowCount {
    /// The implementation.
    pub idiom: Idiom,
    /// The window.
    pub window: TumblingWindow,
}

impl Job for KeyedWindowCount {
    type Event = (u64, u64);
    type Output = (u64, u64, i64);

    fn event_time_ms(event: &(u64, u64)) -> u64 {
        event.1
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, (u64, u64)>,
    ) -> VecCollection<'s, Epoch, (u64, u64, i64)> {
        let window = self.window;
        match self.idiom {
            Idiom::Reprise => events.window_sum_by(window, ctx, |(key, time)| Some((key, time, 1))),
            Idiom::HandWrittenDifferential => {
                let epochs = ctx.epochs;
                events
                    .inner
                    .flat_map(move |((key, time), epoch, diff)| {
                        let start = window.start_of(time);
                        let close = window.closing_epoch(start, &epochs);
                        [((start, key), epoch, diff), ((start, key), close, -diff)]
                    })
                    .as_collection()
                    .count_total()
                    .map(|((start, key), count)| (start, key, count as i64))
            }
        }
    }
}
