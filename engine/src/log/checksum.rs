//! The checksum of generated events: a hash of their serde data, fed straight from the
//! serializer, word by word, without encoding them first (see [`crate::serde_words`]).
//!
//! A log of generated input keeps only each block's indices and this checksum; a replay
//! makes the events again and compares it. Computing it costs a few nanoseconds an event
//! (encoding with postcard and hashing the bytes costs several times that), which is what
//! lets a recording cost next to nothing.
//!
//! Each step `state = (state.rotl(26) ^ word) * K` is a bijection of the state for a given
//! word and of the word for a given state, so a single changed word always changes the
//! result; strings and sequences are prefixed by their length, variants by their index, so
//! no two values of one type feed the same words. A string longer than 32 bytes feeds its
//! XXH3-64 hash instead of its bytes.

use serde::Serialize;

use crate::serde_words::{Words, walk};

/// A running checksum over a sequence of events, in order.
#[derive(Clone, Copy, Debug)]
pub struct EventsChecksum {
    state: u64,
    events: u64,
}

impl Default for EventsChecksum {
    fn default() -> Self {
        Self::new()
    }
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl EventsChecksum {
    /// No events yet.
    pub const fn new() -> Self {
        Self {
            state: 0x5245_5052_4953_4547, // "REPRISEG"
            events: 0,
        }
    }

    /// Adds the next event.
    #[inline]
    pub fn add<E: Serialize>(&mut self, event: &E) {
        walk(self, event);
        self.events += 1;
    }

    /// The checksum of the events added so far.
    pub fn finish(&self) -> u64 {
        // MurmurHash3's finalizer: every bit of the state and the count reaches every bit.
        let mut h = self.state.wrapping_mul(MULTIPLIER) ^ self.events;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl Words for EventsChecksum {
    #[inline]
    fn word(&mut self, word: u64) {
        self.state = (self.state.rotate_left(26) ^ word).wrapping_mul(MULTIPLIER);
    }

    #[inline]
    fn bytes(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        // Longer strings through XXH3, whose independent lanes beat this chain.
        if bytes.len() > 32 {
            self.word(xxhash_rust::xxh3::xxh3_64(bytes));
            return;
        }
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder().len();
        if rest > 0 {
            self.word(zero_padded_tail(bytes, rest));
        }
    }
}

/// The last `rest` (1 to 7) bytes of `bytes` as a little-endian word padded with zeros,
/// read by overlapping loads: copying them into a zeroed array first made the next load
/// wait on the copy's stores (the load after the copy held a fifth of the checksum's
/// samples when recording Nexmark).
#[inline]
fn zero_padded_tail(bytes: &[u8], rest: usize) -> u64 {
    let n = bytes.len();
    if n >= 8 {
        let last = u64::from_le_bytes(bytes[n - 8..].try_into().expect("8 bytes"));
        return last >> (8 * (8 - rest));
    }
    // The whole string is the tail.
    if n >= 4 {
        let low = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as u64;
        let high = u32::from_le_bytes(bytes[n - 4..].try_into().expect("4 bytes")) as u64;
        return low | high << (8 * (n - 4));
    }
    bytes[0] as u64
        | (bytes[n / 2] as u64) << (8 * (n / 2))
        | (bytes[n - 1] as u64) << (8 * (n - 1))
}

#[cfg(test)]
mod tests {
    use super::EventsChecksum;

    fn checksum<E: serde::Serialize>(events: &[E]) -> u64 {
        let mut sum = EventsChecksum::new();
        events.iter().for_each(|e| sum.add(e));
        sum.finish()
    }

    #[test]
    fn any_change_of_value_order_or_framing_changes_the_checksum() {
        let events = vec![(1u64, "ab".to_string()), (2, "cdefghijk".to_string())];
        let base = checksum(&events);
        assert_eq!(base, checksum(&events.clone()));
        let mut changed = events.clone();
        changed[1].1.push('!');
        assert_ne!(base, checksum(&changed));
        let mut swapped = events.clone();
        swapped.swap(0, 1);
        assert_ne!(base, checksum(&swapped));
        // The same bytes split differently between strings.
        let moved = vec![(1u64, "abc".to_string()), (2, "defghijk".to_string())];
        assert_ne!(base, checksum(&moved));
        // One event fewer, or one more empty one.
        assert_ne!(base, checksum(&events[..1]));
        let mut longer = events.clone();
        longer.push((0, String::new()));
        assert_ne!(base, checksum(&longer));
        // Variants and options.
        assert_ne!(checksum(&[Some(0u64)]), checksum(&[None::<u64>]));
        assert_ne!(
            checksum(&[Ok::<u64, u64>(1)]),
            checksum(&[Err::<u64, u64>(1)])
        );
    }

    /// The definition in docs/log-format.md, written out independently: recorded logs
    /// hold these values, so no change to the code may change them.
    fn by_definition(events: &[(u64, bool, Option<u32>, String)]) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut state: u64 = 0x5245_5052_4953_4547;
        let mut word = |w: u64| state = (state.rotate_left(26) ^ w).wrapping_mul(K);
        for (number, flag, maybe, text) in events {
            word(*number);
            word(*flag as u64);
            match maybe {
                None => word(0),
                Some(v) => {
                    word(1);
                    word(*v as u64);
                }
            }
            let bytes = text.as_bytes();
            word(bytes.len() as u64);
            if bytes.len() > 32 {
                word(xxhash_rust::xxh3::xxh3_64(bytes));
            } else {
                for chunk in bytes.chunks(8) {
                    let mut padded = [0u8; 8];
                    padded[..chunk.len()].copy_from_slice(chunk);
                    word(u64::from_le_bytes(padded));
                }
            }
        }
        let mut h = state.wrapping_mul(K) ^ events.len() as u64;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    proptest::proptest! {
        /// Every length of tail, multi-byte characters included.
        #[test]
        fn any_string_follows_the_documented_definition(text in ".{0,40}", number: u64) {
            let events = [(number, number % 2 == 0, None, text)];
            proptest::prop_assert_eq!(checksum(&events), by_definition(&events));
        }
    }

    #[test]
    fn follows_the_documented_definition() {
        let events: Vec<(u64, bool, Option<u32>, String)> = (0..48u64)
            .map(|i| {
                let text: String = (0..i)
                    .map(|j| (b'a' + (i * 7 + j) as u8 % 26) as char)
                    .collect();
                (
                    i * 0x1234_5678_9abc,
                    i % 3 == 0,
                    (i % 2 == 0).then_some(i as u32),
                    text,
                )
            })
            .collect();
        for n in 0..=events.len() {
            assert_eq!(
                checksum(&events[..n]),
                by_definition(&events[..n]),
                "first {n} events"
            );
        }
    }
}
