//! Subnet objective "speed": the validator sends a puzzle — find a nonce such that
//! `blake3(seed ‖ nonce)` starts with `difficulty` zero bits — that takes a miner milliseconds to
//! solve and the validator one hash to check. A wrong answer scores zero; a right one scores more
//! the sooner it arrives.

use crate::Synapse;
use serde::{Deserialize, Serialize};

/// Leading zero bits asked for: about 16,000 hashes, a few milliseconds of one core.
pub const DIFFICULTY_BITS: u32 = 14;
/// Latency at which a right answer scores half: the template's fast miners answer in well under
/// it, a miner that takes its time well over it.
const HALF_SCORE_MS: f64 = 100.0;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Puzzle {
    /// 32 bytes, hex.
    pub seed: String,
    pub difficulty: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Solution {
    pub nonce: u64,
}

impl Synapse for Puzzle {
    const NAME: &'static str = "puzzle";
    type Response = Solution;
}

pub fn challenge(seed: u64) -> Puzzle {
    Puzzle {
        seed: hex::encode(blake3::hash(&seed.to_le_bytes()).as_bytes()),
        difficulty: DIFFICULTY_BITS,
    }
}

fn leading_zeros(seed: &[u8], nonce: u64) -> u32 {
    let mut h = blake3::Hasher::new();
    h.update(seed);
    h.update(&nonce.to_le_bytes());
    let out = h.finalize();
    let first = u128::from_be_bytes(out.as_bytes()[..16].try_into().expect("16 bytes"));
    first.leading_zeros()
}

/// Whether `nonce` solves the puzzle.
pub fn verify(p: &Puzzle, nonce: u64) -> bool {
    match hex::decode(&p.seed) {
        Ok(seed) => leading_zeros(&seed, nonce) >= p.difficulty,
        Err(_) => false,
    }
}

/// Searches nonces from 0; `None` for a malformed seed or an unsolvable difficulty.
pub fn solve(p: &Puzzle) -> Option<u64> {
    let seed = hex::decode(&p.seed).ok()?;
    // 64 bits of difficulty or more is beyond any miner: refuse rather than spin.
    if p.difficulty >= 40 {
        return None;
    }
    (0..u64::MAX).find(|n| leading_zeros(&seed, *n) >= p.difficulty)
}

/// In [0, 1]: 0 if wrong, else `HALF_SCORE_MS / (HALF_SCORE_MS + latency_ms)`.
pub fn score(p: &Puzzle, answer: Option<&Solution>, latency_ms: u64) -> f64 {
    match answer {
        Some(s) if verify(p, s.nonce) => HALF_SCORE_MS / (HALF_SCORE_MS + latency_ms as f64),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solution_verifies_and_a_guess_does_not() {
        for seed in 0..5 {
            let p = challenge(seed);
            let n = solve(&p).unwrap();
            assert!(verify(&p, n));
            assert!(
                score(&p, Some(&Solution { nonce: n }), 5)
                    > score(&p, Some(&Solution { nonce: n }), 300)
            );
            assert_eq!(score(&p, None, 1), 0.0);
        }
        let p = challenge(9);
        let wrong = (0..).find(|n| !verify(&p, *n)).unwrap();
        assert_eq!(score(&p, Some(&Solution { nonce: wrong }), 1), 0.0);
    }
}
