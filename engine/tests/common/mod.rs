//! A job the log tests share.

use differential_dataflow::VecCollection;
use reprise_engine::{Epoch, Job, JobContext};

/// Passes its events through: its output is its input, `(time_ms, text)`.
pub struct Identity;

impl Job for Identity {
    type Event = (u64, String);
    type Output = (u64, String);
    fn event_time_ms(event: &(u64, String)) -> u64 {
        event.0
    }
    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, (u64, String)>,
    ) -> VecCollection<'s, Epoch, (u64, String)> {
        events
    }
}
