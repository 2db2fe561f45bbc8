//! A long run's memory stays flat: state is bounded by open windows (and open auctions),
//! not by the length of the input. Heavy, so ignored by default:
//!
//! ```sh
//! cargo test --release -p reprise-workloads --test memory -- --ignored --nocapture
//! ```

use std::process::Command;

/// The peak resident memory (MiB) and events/s of one run of the `reprise` binary, with
/// `extra` arguments.
fn peak_memory_mib(workload: &str, events: u64, extra: &[&str]) -> (u64, f64) {
    let out = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args([
            "run",
            workload,
            "--workers",
            "2",
            "--format",
            "json",
            "--quiet",
        ])
        .args(["--events", &events.to_string()])
        .args(extra)
        .output()
        .expect("the reprise binary runs");
    assert!(
        out.status.success(),
        "{workload}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let peak = report["peak_memory_bytes"].as_u64().expect("peak memory") >> 20;
    (peak, report["events_per_sec"].as_f64().unwrap())
}

#[test]
#[ignore = "runs 110 million events per query: minutes, in release"]
fn windowed_and_auction_queries_run_in_flat_memory() {
    for workload in [
        "nexmark-q5",
        "nexmark-q7",
        "nexmark-q8",
        "nexmark-q11",
        "nexmark-q12",
        "nexmark-q4",
        "nexmark-q9",
    ] {
        // One million events per second of event time: 100 s of windows, sessions and
        // auctions open and close during the run.
        let rate = ["-p", "rate=1000000"];
        let (short, _) = peak_memory_mib(workload, 10_000_000, &rate);
        let (long, speed) = peak_memory_mib(workload, 100_000_000, &rate);
        eprintln!(
            "{workload}: peak {short} MiB at 10M events, {long} MiB at 100M ({:.2}M events/s)",
            speed / 1e6
        );
        // Ten times the input, not ten times the memory: allow allocator noise only.
        assert!(
            long <= short + short / 2 + 64,
            "{workload}: memory grew from {short} MiB (10M events) to {long} MiB (100M)"
        );
    }
}

#[test]
#[ignore = "runs 55 million events per query: minutes, in release"]
fn per_day_queries_run_in_flat_memory() {
    // Twenty events per second of event time, one-minute epochs: 5M events span 2.9
    // days, 50M events 29 days, so days open and close throughout. (q16 runs at about
    // 0.2M events/s here: 50M events take minutes.)
    let args = ["-p", "rate=20", "--epoch-ms", "60000"];
    for workload in ["nexmark-q15", "nexmark-q16", "nexmark-q17"] {
        let (short, _) = peak_memory_mib(workload, 5_000_000, &args);
        let (long, speed) = peak_memory_mib(workload, 50_000_000, &args);
        eprintln!(
            "{workload}: peak {short} MiB at 5M events, {long} MiB at 50M ({:.2}M events/s)",
            speed / 1e6
        );
        assert!(
            long <= short + short / 2 + 64,
            "{workload}: memory grew from {short} MiB (5M events) to {long} MiB (50M)"
        );
    }
}
