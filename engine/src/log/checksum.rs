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
//! no two values of one type feed the same words.
//!
//! From format version 3 a block's events go round [`LANES`] states (event `i` into state
//! `i % LANES`), folded into one at the end, and a string is one word (its bytes and
//! length when it is shorter than 8 bytes, else its XXH3-64). A step waits on the one
//! before it (a rotate, a xor and a multiply: five cycles), so one state, fed every word
//! of every string, held a recording's worker to a word every five cycles; now the states
//! go side by side, and a string's hash, which waits on no state, runs beside them. Logs
//! of earlier versions are checked as they were recorded (one state; a string its length,
//! then up to 32 bytes its bytes, a word per 8, above that its XXH3-64).
//!
//! What a recording still costs where the workers checksum (no core to spare) is mostly
//! reading strings the job never reads: a Nexmark bid borrows its channel and URL from a
//! table of 10,000, so the checksum's loads of their bytes miss the cache (q2 at 2 workers
//! on 2 cores: 42 ns an event, the hottest instructions of the string hash wait on those
//! loads). Hashing strings up to 32 bytes without a branch on their length (lengths that
//! vary per event missed predictions: 10.5 against 7.4 ns a string in isolation), and the
//! channel table packed into one string, each measured no faster end to end; neither kept.

use serde::Serialize;

use crate::serde_words::{Words, walk};

/// How many states the events of a block go round, from format version 3 on.
const LANES: usize = 4;

/// The first format version whose checksums go round [`LANES`] states.
const LANES_FROM_VERSION: u16 = 3;

/// A running checksum over a sequence of events, in order.
#[derive(Clone, Copy, Debug)]
pub struct EventsChecksum {
    /// The states (one used before format version 3).
    lanes: [Lane; LANES],
    /// Whether the log is of a version before 3.
    one_state: bool,
    events: u64,
}

impl Default for EventsChecksum {
    fn default() -> Self {
        Self::new()
    }
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
const SEED: u64 = 0x5245_5052_4953_4547; // "REPRISEG"

impl EventsChecksum {
    /// No events yet, as this build records them.
    pub const fn new() -> Self {
        Self::of_format(super::format::FORMAT_VERSION)
    }

    /// No events yet, as a log of format `version` checksums them.
    pub const fn of_format(version: u16) -> Self {
        // Lane `k` starts at `SEED + k`: lane 0 where version 2's one state started.
        let mut lanes = [Lane(SEED); LANES];
        let mut k = 1;
        while k < LANES {
            lanes[k] = Lane(SEED.wrapping_add(k as u64));
            k += 1;
        }
        Self {
            lanes,
            one_state: version < LANES_FROM_VERSION,
            events: 0,
        }
    }

    /// Adds the next event.
    #[inline]
    pub fn add<E: Serialize>(&mut self, event: &E) {
        if self.one_state {
            walk(&mut OneState(&mut self.lanes[0].0), event);
        } else {
            walk(&mut self.lanes[self.events as usize % LANES], event);
        }
        self.events += 1;
    }

    /// Adds the next events, in order: what [`EventsChecksum::add`] on each does, with
    /// the states held apart (in registers, where they fit) while a group of `LANES`
    /// events goes through.
    #[inline]
    pub fn add_all<E: Serialize>(&mut self, mut events: &[E]) {
        if !self.one_state {
            // One at a time up to an event of lane 0.
            while let Some((event, rest)) = events.split_first()
                && !self.events.is_multiple_of(LANES as u64)
            {
                self.add(event);
                events = rest;
            }
            let mut groups = events.chunks_exact(LANES);
            let mut lanes = self.lanes;
            for group in &mut groups {
                for (lane, event) in lanes.iter_mut().zip(group) {
                    walk(lane, event);
                }
            }
            self.lanes = lanes;
            self.events += (events.len() - groups.remainder().len()) as u64;
            events = groups.remainder();
        }
        events.iter().for_each(|event| self.add(event));
    }

    /// The checksum of the events added so far.
    pub fn finish(&self) -> u64 {
        // The other lanes fold into the first as words, in order.
        let mut state = self.lanes[0].0;
        if !self.one_state {
            self.lanes[1..]
                .iter()
                .for_each(|lane| step(&mut state, lane.0));
        }
        // MurmurHash3's finalizer: every bit of the state and the count reaches every bit.
        let mut h = state.wrapping_mul(MULTIPLIER) ^ self.events;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// One step of a state.
#[inline]
fn step(state: &mut u64, word: u64) {
    *state = (state.rotate_left(26) ^ word).wrapping_mul(MULTIPLIER);
}

/// One state of a checksum of format version 3 on: a string is one word.
#[derive(Clone, Copy, Debug)]
struct Lane(u64);

impl Words for Lane {
    #[inline]
    fn word(&mut self, word: u64) {
        step(&mut self.0, word);
    }

    #[inline]
    fn bytes(&mut self, bytes: &[u8]) {
        step(&mut self.0, string_word(bytes));
    }
}

/// A string as one word: up to 7 bytes, the bytes (little-endian) with the length in the
/// top byte; from 8, XXH3-64 (whose independent multiplies beat a chain of steps).
#[inline]
fn string_word(bytes: &[u8]) -> u64 {
    match bytes.len() {
        0 => 0,
        n @ 1..=7 => zero_padded_tail(bytes, n) | (n as u64) << 56,
        _ => xxhash_rust::xxh3::xxh3_64(bytes),
    }
}

/// The one state of a checksum of format versions 1 and 2.
struct OneState<'a>(&'a mut u64);

impl Words for OneState<'_> {
    #[inline]
    fn word(&mut self, word: u64) {
        step(self.0, word);
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
        // Events that trade lanes, and equal events in every lane.
        let four: Vec<u64> = (0..8).collect();
        let mut traded = four.clone();
        traded.swap(1, 2);
        assert_ne!(checksum(&four), checksum(&traded));
        assert_ne!(checksum(&[7u64; 4]), checksum(&[7u64; 5]));
    }

    type Event = (u64, bool, Option<u32>, String);

    /// The definition in docs/log-format.md, written out independently: recorded logs
    /// hold these values, so no change to the code may change them.
    fn by_definition(events: &[Event], version: u16) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        const SEED: u64 = 0x5245_5052_4953_4547;
        let step = |state: &mut u64, w: u64| *state = (state.rotate_left(26) ^ w).wrapping_mul(K);
        let lanes = if version >= 3 { 4 } else { 1 };
        let mut states: Vec<u64> = (0..lanes as u64).map(|k| SEED + k).collect();
        for (i, (number, flag, maybe, text)) in events.iter().enumerate() {
            let state = &mut states[i % lanes];
            step(state, *number);
            step(state, *flag as u64);
            match maybe {
                None => step(state, 0),
                Some(v) => {
                    step(state, 1);
                    step(state, *v as u64);
                }
            }
            let bytes = text.as_bytes();
            let padded = |chunk: &[u8]| {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                u64::from_le_bytes(word)
            };
            if version >= 3 {
                let word = match bytes.len() {
                    0..8 => padded(bytes) | (bytes.len() as u64) << 56,
                    _ => xxhash_rust::xxh3::xxh3_64(bytes),
                };
                step(state, word);
            } else {
                step(state, bytes.len() as u64);
                if bytes.len() > 32 {
                    step(state, xxhash_rust::xxh3::xxh3_64(bytes));
                } else {
                    bytes.chunks(8).for_each(|chunk| step(state, padded(chunk)));
                }
            }
        }
        let mut state = states[0];
        for lane in &states[1..] {
            step(&mut state, *lane);
        }
        let mut h = state.wrapping_mul(K) ^ events.len() as u64;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    fn of_format(version: u16, events: &[Event]) -> u64 {
        let mut sum = EventsChecksum::of_format(version);
        events.iter().for_each(|e| sum.add(e));
        sum.finish()
    }

    fn sample_events() -> Vec<Event> {
        (0..48u64)
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
            .collect()
    }

    proptest::proptest! {
        /// Every length of tail, multi-byte characters included.
        #[test]
        fn any_string_follows_the_documented_definition(text in ".{0,40}", number: u64) {
            let events = [(number, number % 2 == 0, None, text)];
            proptest::prop_assert_eq!(checksum(&events), by_definition(&events, 3));
            proptest::prop_assert_eq!(of_format(2, &events), by_definition(&events, 2));
        }

        /// Events added in groups of any sizes, from any lane on, sum as one at a time.
        #[test]
        fn adding_in_groups_is_adding_one_at_a_time(
            events in proptest::collection::vec((proptest::num::u64::ANY, ".{0,12}"), 0..40),
            cuts in proptest::collection::vec(0usize..40, 0..6),
            version in 2u16..=3,
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
            cuts.sort();
            let mut grouped = EventsChecksum::of_format(version);
            let mut from = 0;
            for cut in cuts.into_iter().chain([events.len()]) {
                grouped.add_all(&events[from..cut]);
                from = cut;
            }
            let mut single = EventsChecksum::of_format(version);
            events.iter().for_each(|e| single.add(e));
            proptest::prop_assert_eq!(grouped.finish(), single.finish());
        }
    }

    #[test]
    fn follows_the_documented_definition_of_each_version() {
        let events = sample_events();
        for n in 0..=events.len() {
            let first = &events[..n];
            assert_eq!(checksum(first), by_definition(first, 3), "first {n}");
            for version in 1..=3 {
                let expected = by_definition(first, version);
                assert_eq!(of_format(version, first), expected, "first {n}, v{version}");
            }
        }
    }

    /// A value a version-2 log holds, computed by the build that recorded such logs: a
    /// by-index log of that version keeps replaying.
    #[test]
    fn version_2_keeps_its_recorded_values() {
        assert_eq!(of_format(2, &sample_events()), VERSION_2_SAMPLE);
    }

    const VERSION_2_SAMPLE: u64 = 0xeef7_8ea8_6d7e_64f8;
}
