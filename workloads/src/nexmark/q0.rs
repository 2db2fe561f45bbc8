//! Nexmark q0, pass-through: every bid, unchanged. Measures the engine's own overhead.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event, Nexmark};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};

use reprise_cli::workload::{Definition, WorkloadInfo};

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

impl Definition for Q0 {
    type Data = Nexmark;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "nexmark-q0",
        summary: "Nexmark q0: every bid, passed through",
        params: &[super::RATE],
        dataset: "nexmark",
        input_format: super::INPUT_FORMAT,
        output_format: "auction,bidder,price,channel,url,date_time,extra",
        default_epoch_ms: super::DEFAULT_EPOCH_MS,
        csv: false,
        windowed: false,
    };

    fn from_params(_: &Params) -> Result<Self, EngineError> {
        Ok(Q0)
    }

    fn dataset(params: &Params, seed: u64) -> Result<Nexmark, EngineError> {
        super::dataset(params, seed)
    }
}
