//! Sessions of a clickstream: per user, the clicks of each visit (a pause of more than
//! 30 minutes ends it, as web analytics count visits) and the pages it saw. Clicks come as
//! JSON lines, `{"user":"ada","page":"/cart","ts":1700000000000}`, from a file, standard
//! input or a Kafka topic. The job has neither a generator nor a baseline: its replays
//! and worker-count checks still hold it to account.

use differential_dataflow::VecCollection;
use reprise_cli::Registry;
use reprise_cli::workload::{Definition, NoGenerator, WorkloadInfo};
use reprise_engine::params::DURATION_MS;
use reprise_engine::window::{SessionSum, SessionWindow};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, Params};
use serde::{Deserialize, Serialize};

fn main() -> std::process::ExitCode {
    reprise_cli::main(Registry::new().with::<Sessions>())
}

/// One click.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Click {
    pub user: String,
    pub page: String,
    pub ts: u64,
}

/// One visit of one user.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Visit {
    pub user: String,
    pub start: u64,
    pub end: u64,
    pub clicks: i64,
}

reprise_engine::params! {
    /// The sessions job's parameters.
    pub struct SessionsParams {
        /// a pause longer than this ends a visit, in ms
        gap_ms: u64 = "1800000" in DURATION_MS,
        /// allowed lateness in ms
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

pub struct Sessions {
    window: SessionWindow,
}

impl Job for Sessions {
    type Event = Click;
    type Output = Visit;

    fn event_time_ms(click: &Click) -> u64 {
        click.ts
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        clicks: VecCollection<'s, Epoch, Click>,
    ) -> VecCollection<'s, Epoch, Visit> {
        clicks
            .map(|click| (click.user, click.ts, 1))
            .session_sum(self.window, ctx)
            .map(|(user, start, end, clicks)| Visit {
                user,
                start,
                end,
                clicks,
            })
    }

    fn closing_epoch(&self, visit: &Visit, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(visit.end, epochs))
    }
}

impl Definition for Sessions {
    type Data = NoGenerator<Click>;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "sessions",
        summary: "per user, the visits of a clickstream (a pause over gap_ms ends one)",
        params: SessionsParams::SPECS,
        generator_params: &[], // no generator
        dataset: "clicks (bring your own: --input)",
        input_format: "JSON lines: {user, page, ts}",
        default_epoch_ms: 60_000,
        csv: true,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let p = SessionsParams::from_params(params)?;
        Ok(Sessions {
            window: SessionWindow::new(p.gap_ms, p.lateness_ms)?,
        })
    }
}
