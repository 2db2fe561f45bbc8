//! Any damage to a real input log (flipped bits, a cut, duplicated bytes) either leaves a
//! readable prefix of the true epochs or is a clean error: never a panic, a hang, a wrong
//! event, or a huge allocation.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use common::Identity;
use proptest::prelude::*;
use reprise_engine::log::{LogHeader, RecordSpec, RecordedClock, epochs, scan};
use reprise_engine::{EngineError, Epoch, Generate, RunConfig, Source, run};

/// Epochs as read back: `(epoch, events sorted)`.
type Epochs = Vec<(Epoch, Vec<(u64, String)>)>;

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
            format_version: 2,
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
            recording_id: 0,
            part: 0,
            program: "log_corruption".into(),
        };
        let mut config = RunConfig::new(2, 10);
        config.record = Some(RecordSpec {
            path: path.clone(),
            header,
            compress: true,
            // These tests damage events blocks: keep the events themselves.
            full: true,
        });
        let source = Source::Generated {
            events: 3000,
            generate: Generate::new(|i| (i / 10, format!("event {i} {}", i * 7919 % 1000))),
        };
        run(Arc::new(Identity::new()), source, &config, &mut |_| {}).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let read = read_epochs(&path).unwrap();
        assert_eq!(read.len(), 30);
        (bytes, read)
    })
}

fn read_epochs(path: &Path) -> Result<Epochs, EngineError> {
    let mut out = Vec::new();
    for epoch in epochs::<(u64, String)>(path, None, None)? {
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
        message.contains("format version 99")
            && message.contains(&format!(
                "reads versions 1..={}",
                reprise_engine::log::format::FORMAT_VERSION
            )),
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

// Damage that knows the log's structure: whole blocks removed, duplicated, moved or
// swapped, a block's length damaged, garbage appended, a payload changed with its CRC
// recomputed. Whatever the damage, reading either fails cleanly or yields exactly the
// recorded epochs (or, for a log whose tail is cut, a true prefix of them); a log whose
// end block says the run completed yields all of them.

/// The byte ranges of a log's blocks, after its 12-byte file header.
fn blocks(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut at = 12;
    let mut ranges = Vec::new();
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        ranges.push(at..at + 8 + len);
        at += 8 + len;
    }
    ranges
}

#[derive(Clone, Debug)]
enum BlockDamage {
    Remove(usize),
    Duplicate {
        block: usize,
        to: usize,
    },
    Move {
        block: usize,
        to: usize,
    },
    Swap(usize, usize),
    Length {
        block: usize,
        len: u32,
    },
    AppendGarbage(Vec<u8>),
    /// Changes one payload byte and recomputes the CRC (the header block excepted: a
    /// header rewritten with a valid CRC is a forgery no checksum in the log can tell).
    Payload {
        block: usize,
        at: usize,
        xor: u8,
    },
}

fn block_damage() -> impl Strategy<Value = BlockDamage> {
    let n = blocks(&original().0).len();
    prop_oneof![
        (1..n).prop_map(BlockDamage::Remove),
        (1..n, 1..=n).prop_map(|(block, to)| BlockDamage::Duplicate { block, to }),
        (1..n, 1..n).prop_map(|(block, to)| BlockDamage::Move { block, to }),
        (1..n, 1..n).prop_map(|(a, b)| BlockDamage::Swap(a, b)),
        (
            1..n,
            prop_oneof![Just(u32::MAX), Just(16 << 20), 2u32..(1 << 20), 0u32..2]
        )
            .prop_map(|(block, len)| BlockDamage::Length { block, len }),
        proptest::collection::vec(any::<u8>(), 1..64).prop_map(BlockDamage::AppendGarbage),
        (1..n, any::<usize>(), 1u8..=255).prop_map(|(block, at, xor)| BlockDamage::Payload {
            block,
            at,
            xor
        }),
    ]
}

fn apply_block_damage(bytes: &[u8], damage: &BlockDamage) -> Vec<u8> {
    let ranges = blocks(bytes);
    let mut parts: Vec<Vec<u8>> = ranges.iter().map(|r| bytes[r.clone()].to_vec()).collect();
    match damage {
        BlockDamage::Remove(i) => {
            parts.remove(*i);
        }
        BlockDamage::Duplicate { block, to } => {
            let copy = parts[*block].clone();
            parts.insert((*to).min(parts.len()), copy);
        }
        BlockDamage::Move { block, to } => {
            let moved = parts.remove(*block);
            parts.insert((*to).min(parts.len()), moved);
        }
        BlockDamage::Swap(a, b) => parts.swap(*a, *b),
        BlockDamage::Length { block, len } => {
            parts[*block][..4].copy_from_slice(&len.to_le_bytes())
        }
        BlockDamage::AppendGarbage(garbage) => parts.push(garbage.clone()),
        BlockDamage::Payload { block, at, xor } => {
            let part = &mut parts[*block];
            let body = 8..part.len();
            let at = body.start + 2 + at % (body.len() - 2).max(1);
            if at < part.len() {
                part[at] ^= xor;
            }
            let crc = crc32c::crc32c(&part[8..]);
            part[4..8].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let mut out = bytes[..12].to_vec();
    parts.iter().for_each(|p| out.extend_from_slice(p));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_blocks_never_read_as_other_input(damage in block_damage()) {
        let (bytes, truth) = original();
        let damaged = apply_block_damage(bytes, &damage);
        let path = dir().join(format!("blocks-{}.rlog", std::thread::current().name().unwrap_or("t").replace("::", "-")));
        std::fs::write(&path, &damaged).unwrap();
        let read = read_epochs(&path);
        let scanned = scan(&path);
        if let (Ok(read), Ok(scanned)) = (&read, &scanned) {
            prop_assert!(read.len() <= truth.len());
            prop_assert_eq!(&truth[..read.len()], &read[..], "read epochs that were never recorded");
            let completed = scanned.end.as_ref().is_some_and(|end| end.failure.is_none());
            if completed {
                prop_assert_eq!(read, truth, "a log that says it completed read as less");
            }
            if read.len() < truth.len() {
                // Only a cut tail may lose epochs: then the log cannot claim to be complete.
                prop_assert!(!completed);
            }
        }
    }
}

#[test]
fn each_kind_of_block_damage_is_reported_by_name() {
    let (bytes, _) = original();
    let ranges = blocks(bytes);
    let kind = |i: usize| bytes[ranges[i].start + 8];
    let first_events = (1..ranges.len()).find(|i| kind(*i) == 2).unwrap();
    let marker_after = (first_events..ranges.len())
        .find(|i| kind(*i) == 3)
        .unwrap();
    let last_digests = (1..ranges.len()).rev().find(|i| kind(*i) == 4).unwrap();
    let cases = [
        (
            BlockDamage::Remove(first_events),
            "events, its input-closed marker recorded",
        ),
        (
            BlockDamage::Duplicate {
                block: first_events,
                to: marker_after + 1,
            },
            "comes after the input-closed marker",
        ),
        (
            BlockDamage::Move {
                block: first_events,
                to: marker_after,
            },
            "events block",
        ),
        (
            BlockDamage::Length {
                block: first_events,
                len: 1 << 23,
            },
            "a whole block follows",
        ),
        (
            BlockDamage::Remove(last_digests),
            "the output digests stop before epoch",
        ),
        (
            BlockDamage::AppendGarbage(vec![7; 20]),
            "follow the end block",
        ),
        (
            BlockDamage::Payload {
                block: marker_after,
                at: 3,
                xor: 1,
            },
            "epoch",
        ),
    ];
    let path = dir().join("named-damage.rlog");
    for (damage, expected) in cases {
        std::fs::write(&path, apply_block_damage(bytes, &damage)).unwrap();
        let error = match read_epochs(&path).and(scan(&path).map(|_| ())) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{damage:?} went unnoticed"),
        };
        assert!(
            error.contains(expected) && error.contains("at byte"),
            "{damage:?}: {error}"
        );
    }
}
