//! Run metrics: epoch latency percentiles and peak memory.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::Epoch;

/// Measures, on one worker, how long each epoch takes from the moment the worker closes
/// it at its input to the moment the output probe passes it.
#[derive(Debug)]
pub struct EpochLatency {
    open: std::collections::VecDeque<(Epoch, Instant)>,
    micros: Histogram<u64>,
}

impl Default for EpochLatency {
    fn default() -> Self {
        Self {
            open: Default::default(),
            micros: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("fixed histogram bounds are valid"),
        }
    }
}

impl EpochLatency {
    /// The input has moved past `epoch` now.
    pub fn closed(&mut self, epoch: Epoch) {
        self.open.push_back((epoch, Instant::now()));
    }

    /// The output is complete for every epoch for which `complete(epoch)` holds.
    pub fn observe(&mut self, mut complete: impl FnMut(Epoch) -> bool) {
        while let Some(&(epoch, since)) = self.open.front() {
            if !complete(epoch) {
                break;
            }
            self.open.pop_front();
            let micros = since.elapsed().as_micros().clamp(1, 3_600_000_000) as u64;
            self.micros.saturating_record(micros);
        }
    }

    /// Percentiles of what was observed.
    pub fn summary(&self) -> LatencySummary {
        let at = |q: f64| Duration::from_micros(self.micros.value_at_quantile(q));
        LatencySummary {
            epochs: self.micros.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Epoch latency percentiles.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LatencySummary {
    /// Epochs measured.
    pub epochs: u64,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

/// The process's peak resident memory in bytes (Linux `VmHWM`), if the OS tells.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
