//! Nexmark q0, pass-through: every bid, unchanged. Measures the engine's own overhead.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};

/// The q0 job.
#[derive(Clone, Debug)]
pub struct Q0;

impl Job for Q0 {
    type Event = Event;
    type Output = Bid;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, Bid> {
        events.flat_map(super::bid)
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &Bid, i64),
    ) -> Result<(), NoBaseline> {
        for (epoch, event) in events {
            if let Event::Bid(bid) = &event {
                emit(epoch, bid, 1);
            }
        }
        Ok(())
    }
}
