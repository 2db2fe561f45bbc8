//! A portable random stream per event.
//!
//! SplitMix64 (Steele, Lea, Flood 2014) is fixed by its specification, so the same seed
//! gives the same numbers on every platform and in every version. It is five lines: a
//! crate would add a dependency for less code than its import.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The random stream of one event: seeded by a hash of `(seed, index)`.
///
/// # Examples
/// ```
/// use reprise_datasets::rng::EventRng;
/// let mut a = EventRng::new(42, 7);
/// let mut b = EventRng::new(42, 7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert_ne!(EventRng::new(42, 7).next_u64(), EventRng::new(42, 8).next_u64());
/// ```
#[derive(Clone, Debug)]
pub struct EventRng {
    state: u64,
}

impl EventRng {
    /// The stream for event `index` of a dataset with seed `seed`.
    #[inline]
    pub fn new(seed: u64, index: u64) -> Self {
        Self {
            state: xxh3_64_with_seed(&index.to_le_bytes(), seed),
        }
    }

    /// The next 64 uniformly random bits (SplitMix64).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (`bound > 0`), by multiply-shift (Lemire), which
    /// has a bias below 2^-32 for the bounds used here.
    #[inline]
    pub fn below(&mut self, bound: u64) -> u64 {
        ((self.next_u64() as u128 * bound as u128) >> 64) as u64
    }
}
