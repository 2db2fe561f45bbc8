//! A long run's memory stays flat: state is bounded by open windows (and open auctions),
//! not by the length of the input. Heavy, so ignored by default:
//!
//! ```sh
//! cargo test --release -p reprise-workloads --test memory -- --ignored --nocapture
//! ```

use std::process::Command;

/// The peak resident memory (MiB) and events/s of one run of the `reprise` binary.
fn peak_memory_mib(workload: &str, events: u64) -> (u64, f64) {
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
        // One million events per second of event time: 100 s of windows, sessions and
        // auctions open and close during the run.
        .args(["-p", "rate=1000000"])
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
        let (short, _) = peak_memory_mib(workload, 10_000_000);
        let (long, speed) = peak_memory_mib(workload, 100_000_000);
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
