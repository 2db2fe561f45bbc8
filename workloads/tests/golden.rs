//! The golden logs in `tests/golden/` are this project's regression suite: each replays on
//! 1 and 3 workers with exactly its recorded per-epoch digests. A failure names the log and
//! the first diverging epoch. See README ("Golden logs") before touching a log.

#[allow(dead_code, reason = "golden logs need only recorded_params")]
mod common;

use std::path::PathBuf;

use reprise_cli::workload::{Input, recorded_epochs};
use reprise_engine::RunConfig;
use reprise_engine::log::format::{FORMAT_VERSION, OLDEST_READABLE_VERSION};
use reprise_engine::log::{LogScan, RecordedClock, scan};

fn golden_logs() -> Vec<(PathBuf, LogScan)> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("reading {}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rlog"))
        .collect();
    logs.sort();
    logs.into_iter()
        .map(|path| {
            let scanned =
                scan(&path).unwrap_or_else(|e| panic!("golden log {}: {e}", path.display()));
            (path, scanned)
        })
        .collect()
}

#[test]
fn every_golden_log_replays_with_its_recorded_digests_on_1_and_3_workers() {
    for (path, scanned) in golden_logs() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let workload = reprise_workloads::find(&scanned.header.workload).unwrap_or_else(|| {
            panic!(
                "golden log {name}: unknown workload {}",
                scanned.header.workload
            )
        });
        let params = common::recorded_params(workload, &scanned);
        let epochs = recorded_epochs(scanned.header.clock);
        let expected = scanned.digests.before(scanned.output_complete_before);
        assert!(
            expected.len() >= 3,
            "golden log {name}: too few epochs with output to guard anything"
        );
        for workers in [1, 3] {
            let mut config = RunConfig::new(workers, epochs.epoch_ms);
            config.epochs = epochs;
            let input = Input::Log {
                path: path.clone(),
                until: None,
            };
            let result = workload
                .run(&params, &input, &config, &mut |_| {})
                .unwrap_or_else(|e| panic!("golden log {name}, {workers} workers: {e}"));
            let actual = result.digests.before(scanned.output_complete_before);
            if let Some(divergence) = expected.first_divergence(&actual) {
                panic!(
                    "golden log {name} replayed on {workers} workers diverges at {divergence}.\n\
                     If this change of results is deliberate, bless it: reprise replay {} --bless",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn the_golden_logs_cover_every_workload_processing_time_a_failed_run_and_the_oldest_format() {
    let logs = golden_logs();
    for workload in reprise_workloads::all() {
        let name = workload.info().name;
        assert!(
            logs.iter().any(|(_, s)| s.header.workload == name),
            "workload {name} has no golden log: record one with scripts/golden.sh"
        );
    }
    assert!(
        logs.iter()
            .any(|(_, s)| matches!(s.header.clock, RecordedClock::Processing { .. }))
    );
    assert!(
        logs.iter()
            .any(|(_, s)| s.end.as_ref().is_some_and(|end| end.failure.is_some()))
    );
    assert!(logs.iter().any(|(_, s)| s.header.workers > 1));
    for (path, s) in &logs {
        assert!(
            (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&s.format_version),
            "{}",
            path.display()
        );
        assert!(
            s.file_bytes < 400 << 10,
            "{} is too large for a golden log",
            path.display()
        );
    }
    // Readers keep reading every version they claim: a log of each stays here, a cluster's
    // among them from version 2 on (its parts share a recording id).
    for version in OLDEST_READABLE_VERSION..=FORMAT_VERSION {
        assert!(
            logs.iter().any(|(_, s)| s.format_version == version),
            "keep a golden log of format version {version} while this build claims to read it"
        );
    }
    assert!(
        logs.iter()
            .any(|(_, s)| s.format_version >= 2 && s.header.processes > 1),
        "keep a golden log of a cluster in format version 2 or later"
    );
}
