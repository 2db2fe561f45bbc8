//! A log of generated input records each block's indices and checksum, not its events: it
//! replays on any worker count by making the events again, and a generator that makes
//! other events than it made when recording is caught by name, never replayed as the
//! recorded input.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::Identity;
use reprise_engine::log::format::{FRAME_HEADER_LEN, GeneratedEvents};
use reprise_engine::log::{LogHeader, RecordSpec, RecordedClock, epochs, scan};
use reprise_engine::{Epoch, Generate, Job, RunConfig, RunResult, Source, run};

const EVENTS: u64 = 50_000;

/// 50 events per ms: 10 ms epochs of 500 events; several blocks per epoch at 1 worker.
fn generator() -> Generate<(u64, String)> {
    Generate::new(|i| (i / 50, format!("event {i} {}", i * 7919 % 1000)))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-generated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn record(path: &Path, workers: usize, full: bool) -> RunResult {
    record_job(Identity::new(), generator(), path, workers, full)
}

/// Events of `(time_ms, value)`, which own no heap memory, so a reader thread that
/// decodes a replay decodes every block.
type Numbers = Identity<u64>;

fn numbers() -> Generate<(u64, u64)> {
    Generate::new(|i| (i / 50, i * 7919 % 1000))
}

fn header(workers: usize) -> LogHeader {
    LogHeader {
        format_version: 2,
        engine_version: "test".into(),
        git_revision: "test".into(),
        workload: "identity".into(),
        params: vec![],
        input: "generated".into(),
        seed: Some(1),
        clock: RecordedClock::Event { epoch_ms: 10 },
        workers,
        processes: 1,
        started_unix_ms: 0,
        recording_id: 0,
        part: 0,
        program: "generated_log".into(),
    }
}

fn record_job<J: Job>(
    job: J,
    generate: Generate<J::Event>,
    path: &Path,
    workers: usize,
    full: bool,
) -> RunResult {
    let header = header(workers);
    let mut config = RunConfig::new(workers, 10);
    config.record = Some(RecordSpec {
        path: path.to_path_buf(),
        header,
        compress: true,
        full,
    });
    let source = Source::Generated {
        events: EVENTS,
        generate,
    };
    run(Arc::new(job), source, &config, &mut |_| {}).unwrap()
}

fn replay(
    path: &Path,
    workers: usize,
    generate: Option<Generate<(u64, String)>>,
) -> Result<RunResult, reprise_engine::EngineError> {
    replay_job(
        Identity::new(),
        path,
        &RunConfig::new(workers, 10),
        generate,
    )
}

fn replay_job<J: Job>(
    job: J,
    path: &Path,
    config: &RunConfig,
    generate: Option<Generate<J::Event>>,
) -> Result<RunResult, reprise_engine::EngineError> {
    let source = Source::Replay {
        name: path.display().to_string(),
        epochs: reprise_engine::log::epoch_blocks(path, None).unwrap(),
        generate,
    };
    run(Arc::new(job), source, config, &mut |_| {})
}

/// `workers` workers, the reader thread decoding the replay or not.
fn decoding(workers: usize, on_reader: bool) -> RunConfig {
    let mut config = RunConfig::new(workers, 10);
    config.decode_replay_on_reader = Some(on_reader);
    config
}

#[test]
fn a_replay_decoded_by_the_reader_thread_or_by_the_workers_is_the_recorded_run() {
    for full in [false, true] {
        let log = scratch(&format!("numbers-{full}.rlog"));
        let recorded = record_job(Numbers::new(), numbers(), &log, 2, full);
        for (workers, on_reader) in [(1, true), (1, false), (3, true), (3, false)] {
            let replayed = replay_job(
                Numbers::new(),
                &log,
                &decoding(workers, on_reader),
                Some(numbers()),
            )
            .unwrap();
            assert_eq!(replayed.events, EVENTS);
            assert_eq!(
                recorded.digests.first_divergence(&replayed.digests),
                None,
                "full {full}, {workers} workers, decoded on the reader {on_reader}"
            );
        }
    }
    // Events with strings: the reader decodes the first block, the workers the rest.
    let log = scratch("strings-full.rlog");
    let recorded = record(&log, 2, true);
    let replayed = replay_job(Identity::<String>::new(), &log, &decoding(1, true), None).unwrap();
    assert_eq!(recorded.digests.first_divergence(&replayed.digests), None);
}

#[test]
fn a_changed_generator_stops_a_replay_before_the_epoch_it_changed_completes() {
    let log = scratch("numbers-changed.rlog");
    record_job(Numbers::new(), numbers(), &log, 2, false);
    // The event at index 31,337, in epoch 62, differs.
    let changed: Generate<(u64, u64)> = Generate::new(|i| {
        let (time, value) = numbers().event(i);
        (time, value + u64::from(i == 31_337))
    });
    for on_reader in [true, false] {
        // The replay records what it feeds: its log must not say epoch 62 was complete.
        let again = scratch(&format!("numbers-changed-again-{on_reader}.rlog"));
        let mut config = decoding(1, on_reader);
        config.record = Some(RecordSpec {
            path: again.clone(),
            header: header(1),
            compress: true,
            full: true,
        });
        let message = replay_job(Numbers::new(), &log, &config, Some(changed.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("generator makes other events") && message.contains("epoch 62"),
            "decoded on the reader {on_reader}: {message}"
        );
        let replayed = scan(&again).unwrap();
        assert!(
            replayed.input_complete_before <= 62,
            "decoded on the reader {on_reader}: input complete before epoch {}",
            replayed.input_complete_before
        );
    }
}

#[test]
fn a_generated_run_recorded_by_index_replays_on_any_worker_count() {
    for (record_workers, replay_workers) in [(1, 3), (3, 2), (2, 1)] {
        let log = scratch(&format!("by-index-{record_workers}.rlog"));
        let recorded = record(&log, record_workers, false);
        let full_log = scratch(&format!("full-{record_workers}.rlog"));
        record(&full_log, record_workers, true);
        let (by_index, full) = (scan(&log).unwrap(), scan(&full_log).unwrap());
        assert_eq!(by_index.events(), EVENTS);
        assert!(by_index.generated_blocks > 0);
        assert_eq!(full.generated_blocks, 0);
        // A few bytes per block (here a block per epoch and worker), against every
        // event's bytes.
        assert!(
            by_index.file_bytes * 20 < full.file_bytes,
            "by index {} bytes, full {} bytes",
            by_index.file_bytes,
            full.file_bytes
        );
        // Each epoch's count and checksum are those of the events themselves.
        for (epoch, input) in &full.epochs {
            assert_eq!(by_index.epochs[epoch].events, input.events, "epoch {epoch}");
        }
        let replayed = replay(&log, replay_workers, Some(generator())).unwrap();
        assert_eq!(replayed.events, EVENTS);
        assert_eq!(
            recorded.digests.first_divergence(&replayed.digests),
            None,
            "recorded on {record_workers}, replayed on {replay_workers}"
        );
        // Read back, the events are the generator's, epoch by epoch.
        let read: Vec<(Epoch, Vec<(u64, String)>)> = epochs(&log, None, Some(generator()))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let from_full: Vec<(Epoch, Vec<(u64, String)>)> = epochs(&full_log, None, None)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let sorted = |mut epochs: Vec<(Epoch, Vec<(u64, String)>)>| {
            epochs.iter_mut().for_each(|(_, events)| events.sort());
            epochs
        };
        assert_eq!(sorted(read), sorted(from_full));
    }
}

#[test]
fn a_changed_generator_is_named_with_the_epoch_it_changed() {
    let log = scratch("changed.rlog");
    record(&log, 2, false);
    // One event in 50,000 differs: the one at index 31,337, in epoch 62.
    let changed: Generate<(u64, String)> = Generate::new(|i| {
        let (time, text) = generator().event(i);
        (time, if i == 31_337 { text + "!" } else { text })
    });
    let message = replay(&log, 3, Some(changed)).unwrap_err().to_string();
    assert!(
        message.contains("generator makes other events")
            && message.contains("epoch 62")
            && message.contains("changed.rlog"),
        "{message}"
    );
    let message = epochs::<(u64, String)>(&log, None, None)
        .unwrap()
        .find_map(Result::err)
        .expect("a log by index does not read without its generator")
        .to_string();
    assert!(
        message.contains("needs the workload's generator"),
        "{message}"
    );
}

/// `bytes` with its first generated block changed by `change`, its CRC recomputed.
fn forge(bytes: &[u8], change: impl Fn(&mut GeneratedEvents)) -> Vec<u8> {
    let mut at = 12;
    while at + FRAME_HEADER_LEN <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = at + FRAME_HEADER_LEN + len;
        let body = &bytes[at + FRAME_HEADER_LEN..end];
        if body[0] == 6 {
            let mut block: GeneratedEvents = postcard::from_bytes(&body[2..]).unwrap();
            change(&mut block);
            let mut new_body = vec![6, 0];
            new_body.extend(postcard::to_allocvec(&block).unwrap());
            let mut out = bytes[..at].to_vec();
            out.extend((new_body.len() as u32).to_le_bytes());
            out.extend(crc32c::crc32c(&new_body).to_le_bytes());
            out.extend(&new_body);
            out.extend(&bytes[end..]);
            return out;
        }
        at = end;
    }
    panic!("the log has no generated block")
}

#[test]
fn a_forged_generated_block_never_replays_as_the_recorded_input() {
    let log = scratch("forged.rlog");
    record(&log, 1, false);
    let bytes = std::fs::read(&log).unwrap();
    let forged = scratch("forged-copy.rlog");
    let scan_error = |change: &dyn Fn(&mut GeneratedEvents)| {
        std::fs::write(&forged, forge(&bytes, change)).unwrap();
        scan(&forged).unwrap_err().to_string()
    };
    // Its count or checksum changed: the epoch's marker tells.
    let message = scan_error(&|block| block.count -= 1);
    assert!(
        message.contains("epoch 0") && message.contains("input-closed marker recorded"),
        "{message}"
    );
    let message = scan_error(&|block| block.checksum ^= 1);
    assert!(
        message.contains("epoch 0") && message.contains("differ from the recorded ones"),
        "{message}"
    );
    // Its indices moved: other events, which their checksum tells when they are made.
    std::fs::write(&forged, forge(&bytes, |block| block.first += 1)).unwrap();
    let message = replay(&forged, 2, Some(generator()))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("epoch 0") && message.contains("other events"),
        "{message}"
    );
}
