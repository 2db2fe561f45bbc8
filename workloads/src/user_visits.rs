//! `user-visits`: visits per user per hour-long tumbling window, for one chosen day.

use differential_dataflow::VecCollection;
use reprise_datasets::zipf::Zipf;
use reprise_datasets::{Timeline, Visit, Visits};
use reprise_engine::window::{TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};
use serde::{Deserialize, Serialize};

use crate::baseline::count_per_window;
use reprise_cli::workload::{Definition, WorkloadInfo};
use reprise_datasets::{RATE_RANGE, SKEW_RANGE, ZIPF_KEYS_RANGE};
use reprise_engine::params::DURATION_MS;

const DAY_MS: u64 = 86_400_000;

/// One user's visits in one window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserVisits {
    /// Window start, in milliseconds.
    pub window_start: u64,
    /// The user.
    pub user_id: u64,
    /// Visits in the window.
    pub visits: i64,
}

/// The `user-visits` job.
#[derive(Clone, Debug)]
pub struct UserVisitsJob {
    day: u64,
    window: TumblingWindow,
}

impl UserVisitsJob {
    fn on_day(&self, ts: u64) -> bool {
        ts / DAY_MS == self.day
    }
}

impl Job for UserVisitsJob {
    type Event = Visit;
    type Output = UserVisits;

    fn event_time_ms(event: &Visit) -> u64 {
        event.ts
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Visit>,
    ) -> VecCollection<'s, Epoch, UserVisits> {
        let day = self.day;
        events
            .window_sum_by(self.window, ctx, move |v| {
                (v.ts / DAY_MS == day).then_some((v.user_id, v.ts, 1))
            })
            .map(|(window_start, user_id, visits)| UserVisits {
                window_start,
                user_id,
                visits,
            })
    }

    fn closing_epoch(&self, record: &UserVisits, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Visit)>,
        emit: &mut dyn FnMut(Epoch, &UserVisits, i64),
    ) -> Result<(), NoBaseline> {
        let keep = |v: &Visit, count: &mut dyn FnMut(u64, u64)| {
            if self.on_day(v.ts) {
                count(v.user_id, v.ts);
            }
        };
        let record = |window_start, user_id: &u64, visits| UserVisits {
            window_start,
            user_id: *user_id,
            visits,
        };
        count_per_window(&self.window, epochs, events, keep, record, emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// user-visits' parameters.
    pub struct UserVisitsParams {
        /// the day to report (day d is ts in [d*86400000, (d+1)*86400000))
        day: u64 = "0" in 0..=reprise_engine::MAX_EVENT_TIME_MS / 86_400_000 - 1,
        /// tumbling window size in ms
        window_ms: u64 = "3600000" in DURATION_MS,
        /// allowed lateness in ms
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

reprise_engine::params! {
    /// The visits generator's parameters.
    pub struct VisitsParams {
        /// visits per second of event time
        rate: u64 = "100" in RATE_RANGE,
        /// distinct users
        users: u64 = "100000" in ZIPF_KEYS_RANGE,
        /// Zipf exponent of user activity
        skew: f64 = "1.0" in SKEW_RANGE,
    }
}

impl Definition for UserVisitsJob {
    type Data = Visits;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "user-visits",
        summary: "visits per user per hour-long tumbling window, for one chosen day",
        params: UserVisitsParams::SPECS,
        generator_params: VisitsParams::SPECS,
        dataset: "visits",
        input_format: "CSV header `user_id,ts`; JSON lines {\"user_id\":u64,\"ts\":u64}; ts in ms",
        default_epoch_ms: 60_000,
        csv: true,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let p = UserVisitsParams::from_params(params)?;
        Ok(Self {
            day: p.day,
            window: TumblingWindow::new(p.window_ms, p.lateness_ms)?,
        })
    }

    fn dataset(params: &Params, seed: u64) -> Result<Visits, EngineError> {
        let p = VisitsParams::from_params(params)?;
        Ok(Visits {
            seed,
            timeline: Timeline {
                start_ms: 0,
                rate_per_sec: p.rate,
            },
            users: Zipf::new(p.users, p.skew),
        })
    }
}
