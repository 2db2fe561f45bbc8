//! Record a run, replay its log on another number of workers: every epoch's digest matches.

mod common;

use std::path::{Path, PathBuf};

use common::small_params;
use reprise_cli::workload::{Input, Workload, log_header, recorded_epochs};
use reprise_engine::log::{RecordSpec, scan};
use reprise_engine::{Clock, EpochConfig, Params, RunConfig, RunResult};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn record(
    workload: &dyn Workload,
    params: &Params,
    input: &Input,
    epochs: EpochConfig,
    workers: usize,
    log: &Path,
    (compress, full): (bool, bool),
) -> RunResult {
    let mut config = RunConfig::new(workers, epochs.epoch_ms);
    config.epochs = epochs;
    let header = log_header(workload.info(), params, input, &epochs, workers);
    config.record = Some(RecordSpec {
        path: log.to_path_buf(),
        header,
        compress,
        full,
    });
    workload.run(params, input, &config, &mut |_| {}).unwrap()
}

fn replay(workload: &dyn Workload, params: &Params, log: &Path, workers: usize) -> RunResult {
    let scan = scan(log).unwrap();
    let epochs = recorded_epochs(scan.header.clock);
    let mut config = RunConfig::new(workers, epochs.epoch_ms);
    config.epochs = epochs;
    workload
        .run(
            params,
            &Input::Log {
                path: log.to_path_buf(),
                until: None,
            },
            &config,
            &mut |_| {},
        )
        .unwrap()
}

#[test]
fn every_workload_replays_on_any_worker_count_with_the_recorded_digests() {
    for workload in reprise_workloads::all() {
        let name = workload.info().name;
        let (overrides, epoch_ms) = small_params(name);
        let params = workload.info().parse_params(&overrides).unwrap();
        for (seed, (record_workers, replay_workers)) in
            [(1, 3), (2, 1), (3, 4), (4, 2)].into_iter().enumerate()
        {
            let log = scratch(&format!("{name}-{seed}.rlog"));
            let input = Input::Generated {
                events: 3000,
                seed: seed as u64,
            };
            let recorded = record(
                workload,
                &params,
                &input,
                EpochConfig::event_time(epoch_ms),
                record_workers,
                &log,
                (seed % 2 == 0, seed >= 2),
            );
            let scan = scan(&log).unwrap();
            assert_eq!(
                scan.digests, recorded.digests,
                "{name}: the log holds the run's digests"
            );
            // By index unless full: the replay below then makes the events again.
            assert_eq!(scan.generated_blocks > 0, seed < 2, "{name}, seed {seed}");
            assert_eq!(scan.events(), 3000);
            let replayed = replay(workload, &params, &log, replay_workers);
            if let Some(d) = recorded.digests.first_divergence(&replayed.digests) {
                panic!(
                    "{name}: recorded on {record_workers}, replayed on {replay_workers} workers: {d}"
                );
            }
        }
    }
}

/// Logs of generated input recorded by index in format version 2, whose checksums have
/// one state and feed every word of a string: a replay still makes their events again,
/// checks every block as recorded, and matches their recorded digests.
#[test]
fn version_2_logs_recorded_by_index_replay_with_their_recorded_checksums() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/by-index");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rlog"))
        .collect();
    logs.sort();
    assert!(
        logs.len() >= 2,
        "{}: the version-2 logs are gone",
        folder.display()
    );
    for log in logs {
        let scanned = scan(&log).unwrap();
        let name = log.display();
        assert_eq!(scanned.format_version, 2, "{name}");
        assert!(
            scanned.generated_blocks > 0,
            "{name}: not recorded by index"
        );
        let workload = reprise_workloads::find(&scanned.header.workload).unwrap();
        let params = common::recorded_params(workload, &scanned);
        let expected = scanned.digests.before(scanned.output_complete_before);
        assert!(
            expected.len() >= 3,
            "{name}: too few epochs to guard anything"
        );
        for workers in [1, 3] {
            let replayed = replay(workload, &params, &log, workers);
            let actual = replayed.digests.before(scanned.output_complete_before);
            assert_eq!(
                expected.first_divergence(&actual),
                None,
                "{name}, {workers} workers"
            );
        }
    }
}

#[test]
fn a_processing_time_run_replays_exactly_though_live_runs_differ() {
    let workload = reprise_workloads::find("filter-count").unwrap();
    let params = workload
        .info()
        .parse_params(&["window_ms=3".to_string()])
        .unwrap();
    let input = Input::Generated {
        events: 3_000_000,
        seed: 1,
    };
    let epochs = EpochConfig {
        epoch_ms: 1,
        clock: Clock::Processing,
    };
    let log = scratch("processing.rlog");
    let first = record(workload, &params, &input, epochs, 2, &log, (true, false));
    assert!(
        first.epochs() > 3,
        "the run should span several 1 ms epochs"
    );
    let replayed = replay(workload, &params, &log, 3);
    assert_eq!(first.digests.first_divergence(&replayed.digests), None);
    // Epoch boundaries follow the wall clock, so live runs differ from each other.
    let differs = (0..3).any(|_| {
        let mut config = RunConfig::new(2, 1);
        config.epochs = epochs;
        workload
            .run(&params, &input, &config, &mut |_| {})
            .unwrap()
            .digests
            != first.digests
    });
    assert!(
        differs,
        "three live processing-time runs all reproduced the first run's epochs"
    );
}

#[test]
fn processing_time_windows_follow_arrival_epochs_as_the_baseline_computes_them() {
    // The baseline, fed the recorded epochs, must agree with the recorded digests: windows
    // under processing time are cut by the epoch an event arrived in, not its timestamp.
    for workload in reprise_workloads::all() {
        let name = workload.info().name;
        let (overrides, _) = small_params(name);
        let params = workload.info().parse_params(&overrides).unwrap();
        let log = scratch(&format!("{name}-processing.rlog"));
        let input = Input::Generated {
            events: 20_000,
            seed: 3,
        };
        let epochs = EpochConfig {
            epoch_ms: 1,
            clock: Clock::Processing,
        };
        let recorded = record(workload, &params, &input, epochs, 2, &log, (true, false));
        let replay_input = Input::Log {
            path: log.clone(),
            until: None,
        };
        let baseline = workload
            .baseline(&params, &replay_input, &epochs, None)
            .unwrap();
        if let Some(d) = baseline.digests.first_divergence(&recorded.digests) {
            panic!(
                "{name}: a processing-time run differs from its baseline on the same epochs: {d}"
            );
        }
    }
}
