//! Card spend: for every card, its spend over the last minute (a hopping window of 60 s
//! that slides every 10 s), and an alert row for each window where that spend passes a
//! threshold. The payments come from the user (`--input payments.csv`, or JSON lines, or a
//! Kafka topic): the job has no generator.
//!
//! ```sh
//! card-spend run card-spend --input data/payments.csv --output alerts.csv --emit final
//! ```

use std::collections::BTreeMap;

use differential_dataflow::VecCollection;
use reprise_cli::Registry;
use reprise_cli::workload::{Definition, NoGenerator, WorkloadInfo};
use reprise_engine::params::DURATION_MS;
use reprise_engine::window::{HoppingWindow, WindowAggregateBy, WindowAssigner};
use reprise_engine::{Clock, EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};
use serde::{Deserialize, Serialize};

fn main() -> std::process::ExitCode {
    reprise_cli::main(Registry::new().with::<CardSpend>())
}

/// One payment: `card,amount_cents,ts` in CSV, `ts` in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Payment {
    pub card: u64,
    pub amount_cents: u64,
    pub ts: u64,
}

/// A card whose spend in a window passed the threshold.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Alert {
    pub window_start: u64,
    pub card: u64,
    pub spend_cents: i64,
}

reprise_engine::params! {
    /// Card spend's parameters (`--param NAME=VALUE`).
    pub struct CardSpendParams {
        /// window length in ms
        window_ms: u64 = "60000" in DURATION_MS,
        /// a window starts every slide_ms
        slide_ms: u64 = "10000" in DURATION_MS,
        /// allowed lateness in ms
        lateness_ms: u64 = "0" in DURATION_MS,
        /// alert when a card spends more than this in a window
        threshold_cents: i64 = "50000",
    }
}

pub struct CardSpend {
    window: HoppingWindow,
    threshold_cents: i64,
}

impl Job for CardSpend {
    type Event = Payment;
    type Output = Alert;

    fn event_time_ms(payment: &Payment) -> u64 {
        payment.ts
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        payments: VecCollection<'s, Epoch, Payment>,
    ) -> VecCollection<'s, Epoch, Alert> {
        let threshold = self.threshold_cents;
        // (key, event time, value) of each payment, made inside the window operator.
        payments
            .window_sum_by(self.window, ctx, |p| {
                Some((p.card, p.ts, p.amount_cents as i64))
            })
            .filter(move |(_, _, spend)| *spend > threshold)
            .map(|(window_start, card, spend_cents)| Alert {
                window_start,
                card,
                spend_cents,
            })
    }

    fn closing_epoch(&self, alert: &Alert, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(alert.window_start, epochs))
    }

    /// The same alerts by hand, from the definition: per window and card a running sum;
    /// at the end of each epoch the alerts that changed; a window's alerts retracted at
    /// the first epoch that starts at or after its end plus the lateness.
    fn baseline(
        &self,
        epochs: &EpochConfig,
        payments: &mut dyn Iterator<Item = (Epoch, Payment)>,
        emit: &mut dyn FnMut(Epoch, &Alert, i64),
    ) -> Result<(), NoBaseline> {
        let HoppingWindow {
            size_ms,
            slide_ms,
            lateness_ms,
        } = self.window;
        let closes_at = |start: u64| (start + size_ms + lateness_ms).div_ceil(epochs.epoch_ms);
        let alert = |window_start, card, spend_cents| Alert {
            window_start,
            card,
            spend_cents,
        };
        let mut spend: BTreeMap<(u64, u64), i64> = BTreeMap::new(); // (window, card)
        let mut changed: BTreeMap<(u64, u64), i64> = BTreeMap::new(); // spend before the epoch
        let mut current: Option<Epoch> = None;
        let mut end_epoch = |now: Epoch,
                             next: Epoch,
                             spend: &mut BTreeMap<(u64, u64), i64>,
                             changed: &mut BTreeMap<(u64, u64), i64>| {
            for ((start, card), old) in std::mem::take(changed) {
                let new = spend[&(start, card)];
                if old > self.threshold_cents {
                    emit(now, &alert(start, card, old), -1);
                }
                if new > self.threshold_cents {
                    emit(now, &alert(start, card, new), 1);
                }
            }
            spend.retain(|&(start, card), total| {
                let close = closes_at(start);
                if close <= next && *total > self.threshold_cents {
                    emit(close, &alert(start, card, *total), -1);
                }
                close > next
            });
        };
        for (epoch, payment) in payments {
            if let Some(now) = current.filter(|now| epoch > *now) {
                end_epoch(now, epoch, &mut spend, &mut changed);
            }
            current = Some(epoch);
            let time = match epochs.clock {
                Clock::Event => payment.ts,
                Clock::Processing => epoch * epochs.epoch_ms,
            };
            // Every window [start, start + size) holding `time`; starts are multiples of
            // the slide, and none is below 0.
            let mut start = time - time % slide_ms;
            loop {
                if closes_at(start) > epoch {
                    let total = spend.entry((start, payment.card)).or_insert(0);
                    changed.entry((start, payment.card)).or_insert(*total);
                    *total += payment.amount_cents as i64;
                }
                if start < slide_ms || start - slide_ms + size_ms <= time {
                    break;
                }
                start -= slide_ms;
            }
        }
        if let Some(now) = current {
            end_epoch(now, Epoch::MAX, &mut spend, &mut changed);
        }
        Ok(())
    }
}

impl Definition for CardSpend {
    type Data = NoGenerator<Payment>;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "card-spend",
        summary: "per card, spend over the last minute (60 s every 10 s); alerts above a threshold",
        params: CardSpendParams::SPECS,
        generator_params: &[], // no generator
        dataset: "payments (bring your own: --input)",
        input_format: "card,amount_cents,ts",
        default_epoch_ms: 1000,
        csv: true,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let p = CardSpendParams::from_params(params)?;
        Ok(CardSpend {
            window: HoppingWindow::new(p.window_ms, p.slide_ms, p.lateness_ms)?,
            threshold_cents: p.threshold_cents,
        })
    }
}
