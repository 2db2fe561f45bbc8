//! `traffic-share`: per tumbling window, each source address's share of the window's bytes.

use std::net::Ipv4Addr;

use differential_dataflow::VecCollection;
use differential_dataflow::operators::CountTotal;
use reprise_datasets::{Flow, Flows, Timeline};
use reprise_engine::window::{TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::baseline::{WindowedRows, window_time};
use reprise_cli::workload::{Definition, WorkloadInfo};
use reprise_datasets::{RATE_RANGE, SKEW_RANGE, ZIPF_KEYS_RANGE};
use reprise_engine::params::DURATION_MS;

/// One address's traffic in one window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IpShare {
    /// Window start, in milliseconds.
    pub window_start: u64,
    /// Source address.
    pub ip: Ipv4Addr,
    /// Its bytes in the window.
    pub bytes: i64,
    /// All bytes in the window.
    pub window_bytes: i64,
    /// `bytes / window_bytes` in parts per million, rounded down.
    pub share_ppm: i64,
}

impl IpShare {
    fn new(window_start: u64, ip: Ipv4Addr, bytes: i64, window_bytes: i64) -> Self {
        let share_ppm = (bytes as i128 * 1_000_000 / (window_bytes as i128).max(1)) as i64;
        Self {
            window_start,
            ip,
            bytes,
            window_bytes,
            share_ppm,
        }
    }
}

/// How many parts a window's join is split into (more than any worker count we run).
const JOIN_PARTS: u32 = 64;

fn join_part(ip: Ipv4Addr) -> u32 {
    u32::from(ip).wrapping_mul(0x9E37_79B1) >> 26
}

/// The `traffic-share` job.
#[derive(Clone, Debug)]
pub struct TrafficShare {
    window: TumblingWindow,
}

impl Job for TrafficShare {
    type Event = Flow;
    type Output = IpShare;

    fn event_time_ms(flow: &Flow) -> u64 {
        flow.ts
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        flows: VecCollection<'s, Epoch, Flow>,
    ) -> VecCollection<'s, Epoch, IpShare> {
        let per_ip = flows.window_sum_by(self.window, ctx, |f| Some((f.ip, f.ts, f.bytes as i64)));
        // Window totals from the per-address sums (already pre-aggregated), not from the
        // raw flows, so no single worker sees every event.
        let totals = per_ip
            .clone()
            .explode(|(window, _, bytes)| Some((window, bytes as isize)))
            .count_total();
        // A window's rows must not all meet on one worker: split each window into
        // JOIN_PARTS parts by address, and send every part the window's total.
        let totals = totals
            .flat_map(|(window, total)| (0..JOIN_PARTS).map(move |part| ((window, part), total)));
        per_ip
            .map(|(window, ip, bytes)| ((window, join_part(ip)), (ip, bytes)))
            .join(totals)
            .map(|((window, _), ((ip, bytes), total))| {
                IpShare::new(window, ip, bytes, total as i64)
            })
    }

    fn closing_epoch(&self, record: &IpShare, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        flows: &mut dyn Iterator<Item = (Epoch, Flow)>,
        emit: &mut dyn FnMut(Epoch, &IpShare, i64),
    ) -> Result<(), NoBaseline> {
        /// A window's total bytes, and each address's.
        #[derive(Default)]
        struct Window {
            total: i64,
            bytes: FxHashMap<Ipv4Addr, i64>,
        }
        let rows = |start, w: &Window| -> Vec<(IpShare, i64)> {
            w.bytes
                .iter()
                .map(|(ip, bytes)| (IpShare::new(start, *ip, *bytes, w.total), 1))
                .collect()
        };
        let size = self.window.size_ms;
        let mut windows = WindowedRows::new(size, self.window.lateness_ms, epochs.epoch_ms, rows);
        for (epoch, flow) in flows {
            let start = window_time(epochs, flow.ts, epoch) / size * size;
            let bytes = flow.bytes as i64;
            windows.update(
                epoch,
                start,
                |w: &mut Window| {
                    w.total += bytes;
                    *w.bytes.entry(flow.ip).or_insert(0) += bytes;
                },
                emit,
            );
        }
        windows.finish(emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// traffic-share's parameters.
    pub struct TrafficShareParams {
        /// tumbling window size in ms
        window_ms: u64 = "1000" in DURATION_MS,
        /// allowed lateness in ms
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

reprise_engine::params! {
    /// The flows generator's parameters.
    pub struct FlowsParams {
        /// flows per second of event time
        rate: u64 = "1000000" in RATE_RANGE,
        /// distinct source addresses
        hosts: u64 = "10000" in ZIPF_KEYS_RANGE,
        /// Zipf exponent of address popularity
        skew: f64 = "1.0" in SKEW_RANGE,
    }
}

impl Definition for TrafficShare {
    type Data = Flows;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "traffic-share",
        summary: "per tumbling window, each source address's share of the window's bytes",
        params: TrafficShareParams::SPECS,
        generator_params: FlowsParams::SPECS,
        dataset: "flows",
        input_format: "CSV header `ip,bytes,ts` (ip dotted); JSON lines {\"ip\":\"10.0.0.1\",\"bytes\":u64,\"ts\":u64}; ts in ms",
        default_epoch_ms: 100,
        csv: true,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let p = TrafficShareParams::from_params(params)?;
        Ok(Self {
            window: TumblingWindow::new(p.window_ms, p.lateness_ms)?,
        })
    }

    fn dataset(params: &Params, seed: u64) -> Result<Flows, EngineError> {
        let p = FlowsParams::from_params(params)?;
        let timeline = Timeline {
            start_ms: 0,
            rate_per_sec: p.rate,
        };
        Ok(Flows::new(seed, timeline, p.hosts, p.skew))
    }
}
