//! Shared by the workload tests.

/// Parameters and an epoch length that make a few thousand generated events span many
/// windows and epochs, so small tests exercise window closes and retractions.
pub fn small_params(workload: &str) -> (Vec<String>, u64) {
    let params: &[&str] = match workload {
        "filter-count" => &["rate=5000", "window_ms=100", "partitions=7", "ids=1000"],
        "traffic-share" => &["rate=5000", "window_ms=100", "hosts=200"],
        "user-visits" => &["rate=2", "window_ms=60000", "users=300"],
        "wordcount" => &["rate=2000", "window_ms=100", "vocabulary=300"],
        // Nexmark at 1000 events/s: persons, auctions and bids over a few seconds.
        "nexmark-q0" | "nexmark-q1" | "nexmark-q3" | "nexmark-q4" | "nexmark-q6" | "nexmark-q9"
        | "nexmark-q18" | "nexmark-q19" | "nexmark-q20" | "nexmark-q21" | "nexmark-q22" => {
            &["rate=1000"]
        }
        // One event a second, so every hour of the day occurs (q14) and many
        // minutes (q10's partitions, q16).
        "nexmark-q10" | "nexmark-q14" | "nexmark-q15" | "nexmark-q16" | "nexmark-q17" => {
            &["rate=1"]
        }
        "nexmark-q2" => &["rate=1000", "modulus=7"],
        "nexmark-q5" => &["rate=1000", "window_ms=500", "slide_ms=100"],
        "nexmark-q12" => &["rate=1000", "window_ms=200"],
        // Side keys 0 to 1099: bids on auctions 1000 to 1099 match, later ones do not.
        "nexmark-q13" => &["rate=1000", "side_rows=1100"],
        "nexmark-q7" => &["rate=1000", "window_ms=200"],
        "nexmark-q8" => &["rate=1000", "window_ms=1000"],
        "nexmark-q11" => &["rate=1000", "gap_ms=30"],
        other => panic!("no small parameters for workload {other}: add them to tests/common"),
    };
    let epoch_ms = if [
        "user-visits",
        "nexmark-q10",
        "nexmark-q14",
        "nexmark-q15",
        "nexmark-q16",
        "nexmark-q17",
    ]
    .contains(&workload)
    {
        10_000
    } else {
        20
    };
    (params.iter().map(|s| s.to_string()).collect(), epoch_ms)
}

/// The parameters a log was recorded with, as the workload reads them.
#[allow(
    dead_code,
    reason = "each test binary builds `common`; not every one reads logs"
)]
pub fn recorded_params(
    workload: &dyn reprise_cli::workload::Workload,
    log: &reprise_engine::log::LogScan,
) -> reprise_engine::Params {
    let overrides: Vec<String> = log
        .header
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    workload.info().parse_params(&overrides).unwrap()
}
