//! Helpers shared by the parsers' unit tests.

use crate::stream::parse_all;

/// A xorshift64 generator: deterministic, so a failing case repeats exactly.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Parses `rounds` mutated copies of `seeds` (bytes replaced, cut off, or bytes of `noise`
/// inserted) through the stream parser, which must not panic on any of them.
pub fn parse_mutations(seeds: &[&[u8]], noise: &[u8], seed: u64, rounds: usize) {
    let mut rng = XorShift(seed);
    for _ in 0..rounds {
        let mut input = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..rng.below(4) + 1 {
            if input.is_empty() {
                break;
            }
            let at = rng.below(input.len());
            match rng.below(3) {
                0 => input[at] = rng.next_u64() as u8,
                1 => input.truncate(at),
                _ => input.insert(at, noise[rng.below(noise.len())]),
            }
        }
        let _ = parse_all(&input, true);
    }
}
