//! A job the log tests share.

use std::marker::PhantomData;

use differential_dataflow::VecCollection;
use reprise_engine::{Epoch, Job, JobContext, Record};

/// Passes its events through: its output is its input, `(time_ms, value)`.
pub struct Identity<V = String>(PhantomData<V>);

impl<V> Identity<V> {
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<V: Record> Job for Identity<V> {
    type Event = (u64, V);
    type Output = (u64, V);
    fn event_time_ms(event: &(u64, V)) -> u64 {
        event.0
    }
    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, (u64, V)>,
    ) -> VecCollection<'s, Epoch, (u64, V)> {
        events
    }
}
