//! Zipf-distributed ranks by table lookup.
//!
//! `P(rank k) ~ 1 / (k+1)^s` over `n` ranks. The cumulative table is built once with IEEE
//! double arithmetic in a fixed order; for `s = 1` (the default) every step is a correctly
//! rounded division or addition, so the table, and every sample, is identical on every
//! IEEE-754 platform. Other exponents use `powf`, which may differ in the last bit
//! between math libraries.

use std::sync::Arc;

use crate::rng::EventRng;

/// A Zipf distribution over `0..n`.
#[derive(Clone, Debug)]
pub struct Zipf {
    cumulative: Arc<[u64]>,
    /// For each of the `2^GUIDE_BITS` ranges of a sample's top bits, the first rank whose
    /// cumulative weight reaches the range's start: a sample searches between its range's
    /// entry and the next, a few ranks, where a search of the whole table (100,000 ranks
    /// for user-visits) took 17 dependent loads, its last ones cache misses.
    guide: Arc<[u32]>,
}

/// The guide's size, in bits of a sample.
const GUIDE_BITS: u32 = 16;

impl Zipf {
    /// A distribution over `n` ranks (at least 1, at most 2^32) with exponent `exponent`
    /// (>= 0).
    pub fn new(n: u64, exponent: f64) -> Self {
        let n = n.max(1) as usize;
        let weight = |k: usize| {
            if exponent == 1.0 {
                1.0 / (k + 1) as f64
            } else {
                ((k + 1) as f64).powf(-exponent)
            }
        };
        let mut cumulative = Vec::with_capacity(n);
        let mut sum = 0.0f64;
        for k in 0..n {
            sum += weight(k);
            cumulative.push(sum);
        }
        let scale = u64::MAX as f64 / sum;
        let mut table: Vec<u64> = cumulative.iter().map(|c| (c * scale) as u64).collect();
        *table.last_mut().expect("n >= 1") = u64::MAX;
        let guide = (0..1u64 << GUIDE_BITS)
            .map(|range| {
                let rank = table.partition_point(|&c| c < range << (64 - GUIDE_BITS));
                u32::try_from(rank).expect("at most 2^32 ranks")
            })
            .collect();
        Self {
            cumulative: table.into(),
            guide,
        }
    }

    /// Number of ranks.
    pub fn len(&self) -> u64 {
        self.cumulative.len() as u64
    }

    /// Always false: a distribution has at least one rank.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// A rank in `0..n`; rank 0 is the most frequent.
    #[inline]
    pub fn sample(&self, rng: &mut EventRng) -> u64 {
        self.rank_of(rng.next_u64())
    }

    /// The first rank whose cumulative weight reaches `u`: a search of the whole table,
    /// narrowed by the guide to the ranks between `u`'s range's entry and the next's.
    #[inline]
    fn rank_of(&self, u: u64) -> u64 {
        let range = (u >> (64 - GUIDE_BITS)) as usize;
        let first = self.guide[range] as usize;
        // The next range's entry reaches at least `u`; the last rank reaches every `u`.
        let last = self
            .guide
            .get(range + 1)
            .map_or(self.cumulative.len() - 1, |&next| next as usize);
        (first + self.cumulative[first..=last].partition_point(|&c| c < u)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The guided search finds the rank a search of the whole table finds, for any
        /// table, near the ranges' bounds too.
        #[test]
        fn guided_ranks_are_the_whole_tables(
            n in 1u64..300_000,
            exponent in 0.0f64..3.0,
            samples in proptest::collection::vec(proptest::num::u64::ANY, 64),
            near in proptest::collection::vec((0u64..1 << GUIDE_BITS, -2i64..=2), 64),
        ) {
            let zipf = Zipf::new(n, exponent);
            let bounds = near
                .iter()
                .map(|&(range, off)| (range << (64 - GUIDE_BITS)).wrapping_add_signed(off));
            for u in samples.into_iter().chain(bounds).chain([0, 1, u64::MAX]) {
                let whole = zipf.cumulative.partition_point(|&c| c < u) as u64;
                proptest::prop_assert_eq!(zipf.rank_of(u), whole, "u = {}", u);
            }
        }
    }

    #[test]
    fn rank_frequencies_follow_the_exponent() {
        let zipf = Zipf::new(1000, 1.0);
        let mut counts = vec![0u64; 1000];
        for i in 0..200_000 {
            counts[zipf.sample(&mut EventRng::new(1, i)) as usize] += 1;
        }
        // With s = 1, rank 0 is twice as frequent as rank 1 and ten times rank 9.
        let ratio = |a: usize, b: usize| counts[a] as f64 / counts[b] as f64;
        assert!((ratio(0, 1) - 2.0).abs() < 0.15, "{}", ratio(0, 1));
        assert!((ratio(0, 9) - 10.0).abs() < 1.5, "{}", ratio(0, 9));
        assert!(counts.iter().all(|&c| c > 0));
    }
}
