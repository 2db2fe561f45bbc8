//! Any damage to a real input log (flipped bits, a cut, duplicated bytes) either leaves a
//! readable prefix of the true epochs or is a clean error: never a panic, a hang, a wrong
//! event, or a huge allocation.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use differential_dataflow::VecCollection;
use proptest::prelude::*;
use reprise_engine::log::{LogHeader, RecordSpec, RecordedClock, epochs, scan};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, RunConfig, Source, run};

/// Epochs as read back: `(epoch, events sorted)`.
type Epochs = Vec<(Epoch, Vec<(u64, String)>)>;

struct Identity;

impl Job for Identity {
    type Event = (u64, String);
    type Output = (u64, String);
    fn event_time_ms(event: &(u64, String)) -> u64 {
        event.0
    }
    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, (u64, String)>,
    ) -> VecCollection<'s, Epoch, (u64, String)> {
        events
    }
    fn baseline(
        &self,
        _: &EpochConfig,
        _: &mut dyn Iterator<Item = (Epoch, (u64, String))>,
        _: &mut dyn FnMut(Epoch, &(u64, String), i64),
    ) {
    }
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-corruption-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A real log of 3000 events over 30 epochs, and its epochs as read intact.
fn original() -> &'static (Vec<u8>, Epochs) {
    static ORIGINAL: OnceLock<(Vec<u8>, Epochs)> = OnceLock::new();
    ORIGINAL.get_or_init(|| {
        let path = dir().join("original.rlog");
        let header = LogHeader {
            format_version: 1,
            engine_version: "test".into(),
            git_revision: "test".into(),
            workload: "identity".into(),
            params: vec![],
            input: "generated".into(),
            seed: Some(1),
            clock: RecordedClock::Event { epoch_ms: 10 },
            workers: 2,
            processes: 1,
            started_unix_ms: 0,
        };
        let mut config = RunConfig::new(2, 10);
        config.record = Some(RecordSpec {
            path: path.clone(),
            header,
            compress: true,
        });
        let source = Source::Generated {
            events: 3000,
            generate: Arc::new(|i| (i / 10, format!("event {i} {}", i * 7919 % 1000))),
        };
        run(Arc::new(Identity), source, &config, &mut |_| {}).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let read = read_epochs(&path).unwrap();
        assert_eq!(read.len(), 30);
        (bytes, read)
    })
}

fn read_epochs(path: &Path) -> Result<Epochs, EngineError> {
    let mut out = Vec::new();
    for epoch in epochs::<(u64, String)>(path, None)? {
        let (epoch, mut events) = epoch?;
        events.sort();
        out.push((epoch, events));
    }
    Ok(out)
}

#[derive(Clone, Debug)]
enum Damage {
    Flip { at: usize, bit: u8 },
    Cut { at: usize },
    Duplicate { at: usize, len: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    let len = original().0.len();
    prop_oneof![
        (0..len, 0u8..8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
        (0..len).prop_map(|at| Damage::Cut { at }),
        (0..len, 1usize..64).prop_map(|(at, len)| Damage::Duplicate { at, len }),
    ]
}

fn apply(bytes: &[u8], damage: &Damage) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match *damage {
        Damage::Flip { at, bit } => out[at] ^= 1 << bit,
        Damage::Cut { at } => out.truncate(at),
        Damage::Duplicate { at, len } => {
            let end = (at + len).min(bytes.len());
            out.splice(at..at, bytes[at..end].iter().copied());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_logs_give_a_true_prefix_or_a_clean_error(damage in damage()) {
        let (bytes, truth) = original();
        let path = dir().join(format!("damaged-{}.rlog", std::thread::current().name().unwrap_or("t").replace("::", "-")));
        std::fs::write(&path, apply(bytes, &damage)).unwrap();
        let scanned = scan(&path);
        let read = read_epochs(&path);
        if let Damage::Cut { at } = damage {
            // The crash case: everything complete before the cut replays.
            if at > 200 {
                let scanned = scanned.as_ref().expect("a cut log scans");
                // Cut inside a block, or between blocks (then the end block is missing).
                prop_assert!(scanned.truncated_at.is_some() || scanned.end.is_none() || at == bytes.len());
            }
        }
        if let Ok(read) = &read {
            prop_assert!(read.len() <= truth.len());
            prop_assert_eq!(&truth[..read.len()], &read[..], "a damaged log yielded events that were never recorded");
        }
        if let Ok(scanned) = &scanned {
            prop_assert!(scanned.epochs.len() <= truth.len());
        }
    }
}

#[test]
fn a_cut_log_replays_its_complete_epochs() {
    let (bytes, truth) = original();
    let path = dir().join("cut.rlog");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let scanned = scan(&path).unwrap();
    assert!(scanned.truncated_at.is_some());
    let read = read_epochs(&path).unwrap();
    assert!(
        read.len() >= 10 && read.len() < truth.len(),
        "{} of {} epochs",
        read.len(),
        truth.len()
    );
    assert_eq!(&truth[..read.len()], &read[..]);
}

#[test]
fn errors_name_the_file_offset_and_epoch() {
    let (bytes, _) = original();
    let path = dir().join("flipped.rlog");
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    std::fs::write(&path, &damaged).unwrap();
    let message = match read_epochs(&path).and(scan(&path).map(|_| ())) {
        Err(e) => e.to_string(),
        Ok(()) => panic!("a flipped byte in the middle went unnoticed"),
    };
    assert!(
        message.contains("flipped.rlog")
            && message.contains("at byte")
            && message.contains("epoch"),
        "{message}"
    );

    let mut wrong_version = bytes.clone();
    wrong_version[8] = 99;
    std::fs::write(&path, &wrong_version).unwrap();
    let message = scan(&path).unwrap_err().to_string();
    assert!(
        message.contains("format version 99") && message.contains("reads versions 1..=1"),
        "{message}"
    );
    std::fs::write(&path, b"id,value,ts\n1,2,3\n").unwrap();
    assert!(
        scan(&path)
            .unwrap_err()
            .to_string()
            .contains("not a Reprise input log")
    );
}
