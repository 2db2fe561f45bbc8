//! Is one set of runs faster than another? The change of the median events/s, with a 95%
//! percentile-bootstrap interval, and a verdict only where the interval excludes zero.
//!
//! Why the bootstrap: run times on a shared machine are not normal (a run is slowed by a
//! neighbour, never sped up), there are few runs, and the statistic users read is the
//! median; resampling each side's runs with replacement and taking the ratio of the
//! medians makes no assumption about the distribution. A change is only called one when
//! the whole interval lies beyond a 5% noise threshold (criterion's rule, with its 2%
//! widened for shared machines: the same binary run twice on a 2-core machine differs by
//! several percent with no cause). And it needs 5 runs a side: simulated on skewed run
//! times with no real change, 3 runs a side call a change 3.5% of the time, 5 runs 0.25%,
//! 10 runs 0.5% (with a 2% threshold: 8.5%, 2%, 2.3%).

use serde::Serialize;

/// Runs a side needs before a verdict is given.
pub const MIN_RUNS: usize = 5;
/// Changes within this fraction are noise, whatever the interval says.
pub const NOISE: f64 = 0.05;
/// Bootstrap resamples.
const RESAMPLES: usize = 4000;

/// A configuration's runs compared with a reference's.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// What they are compared with: `build NAME` or `saved DIR`.
    pub against: String,
    /// `faster`, `slower`, `no significant change`, `too few runs`, or `RESULTS CHANGED`
    /// (the digests differ: no speed verdict).
    pub verdict: &'static str,
    /// median(runs) / median(reference) - 1.
    pub change: Option<f64>,
    /// The 95% interval of the change.
    pub interval: Option<(f64, f64)>,
}

impl Verdict {
    /// The digests differ from the reference's: no speed verdict.
    pub fn results_changed(against: String) -> Self {
        Self {
            against,
            verdict: "RESULTS CHANGED",
            change: None,
            interval: None,
        }
    }

    /// Compares the events/s of `runs` with those of `reference`.
    pub fn of(runs: &[f64], reference: &[f64], against: String) -> Self {
        let change = match (median(runs), median(reference)) {
            (Some(mine), Some(theirs)) if theirs > 0.0 => Some(mine / theirs - 1.0),
            _ => None,
        };
        if runs.len() < MIN_RUNS || reference.len() < MIN_RUNS || change.is_none() {
            return Self {
                against,
                verdict: "too few runs",
                change,
                interval: None,
            };
        }
        let (low, high) = bootstrap_interval(runs, reference);
        let verdict = if low > NOISE {
            "faster"
        } else if high < -NOISE {
            "slower"
        } else {
            "no significant change"
        };
        Self {
            against,
            verdict,
            change,
            interval: Some((low, high)),
        }
    }

    /// A slowdown beyond `limit` (0.05 for 5%) that the interval confirms.
    pub fn slower_than(&self, limit: f64) -> bool {
        self.verdict == "slower" && self.change.is_some_and(|c| -c > limit)
    }

    /// `slower -7.2% [-9.1%, -5.0%] vs build main`.
    pub fn describe(&self) -> String {
        match (self.change, self.interval) {
            (Some(change), Some((low, high))) => format!(
                "{} {:+.1}% [{:+.1}%, {:+.1}%] vs {}",
                self.verdict,
                change * 100.0,
                low * 100.0,
                high * 100.0,
                self.against
            ),
            (Some(change), None) => {
                format!(
                    "{} ({:+.1}%) vs {}",
                    self.verdict,
                    change * 100.0,
                    self.against
                )
            }
            _ => format!("{} vs {}", self.verdict, self.against),
        }
    }
}

/// The median of `values`; `None` for none.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The 2.5th and 97.5th percentiles of median(resample of runs) / median(resample of
/// reference) - 1, with a fixed seed so a report is reproducible.
fn bootstrap_interval(runs: &[f64], reference: &[f64]) -> (f64, f64) {
    let mut state = 0x5EED_u64;
    let mut next = move |n: usize| {
        // SplitMix64.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    };
    let mut resample = |values: &[f64]| -> f64 {
        let drawn: Vec<f64> = (0..values.len())
            .map(|_| values[next(values.len())])
            .collect();
        median(&drawn).expect("a side has runs")
    };
    let mut changes: Vec<f64> = (0..RESAMPLES)
        .map(|_| resample(runs) / resample(reference) - 1.0)
        .collect();
    changes.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| changes[((RESAMPLES - 1) as f64 * q).round() as usize];
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_interval() {
        let base = [100.0, 102.0, 98.0, 101.0, 99.0];
        let same = [99.5, 101.5, 100.5, 98.5, 100.0];
        let slow = [90.0, 91.0, 89.0, 90.5, 89.5];
        assert_eq!(
            Verdict::of(&same, &base, "x".into()).verdict,
            "no significant change"
        );
        let slower = Verdict::of(&slow, &base, "x".into());
        assert_eq!(slower.verdict, "slower");
        let (low, high) = slower.interval.unwrap();
        assert!(low < -0.09 && high < 0.0 && high > -0.12, "{slower:?}");
        assert!(slower.slower_than(0.05) && !slower.slower_than(0.2));
        assert_eq!(Verdict::of(&base, &slow, "x".into()).verdict, "faster");
        assert_eq!(
            Verdict::of(&slow[..2], &base, "x".into()).verdict,
            "too few runs"
        );
    }
}
