//! The block reward: 1 TAO halving by issuance (not height), exact integer rule of yuma.md §2.

use tensorchain_primitives::{MAX_SUPPLY, RAO_PER_TAO};

/// Base reward before any halving: 1 TAO.
pub const BASE_REWARD: u64 = RAO_PER_TAO;

/// The halving era for `issuance`: the largest k with `(S − I)·2^k ≤ S`; `None` once `I ≥ S`.
pub fn halving_era(issuance: u64) -> Option<u32> {
    if issuance >= MAX_SUPPLY {
        return None;
    }
    let remaining = (MAX_SUPPLY - issuance) as u128;
    let mut k = 0u32;
    while remaining << (k + 1) <= MAX_SUPPLY as u128 {
        k += 1;
    }
    Some(k)
}

/// Rao minted for a block at `issuance`, already capped so issuance never passes the supply.
pub fn block_reward(issuance: u64) -> u64 {
    match halving_era(issuance) {
        None => 0,
        Some(k) if k >= 64 => 0,
        Some(k) => (BASE_REWARD >> k).min(MAX_SUPPLY - issuance),
    }
}

/// The issuance at which era `k` starts: `S − floor(S / 2^k)`.
pub fn halving_threshold(k: u32) -> u64 {
    MAX_SUPPLY - (MAX_SUPPLY >> k)
}

/// The next issuance at which the reward changes, if it ever does.
pub fn next_halving_at(issuance: u64) -> Option<u64> {
    let k = halving_era(issuance)?;
    (k < 63).then(|| halving_threshold(k + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_threshold_from_zero_to_thirty() {
        for k in 0..=30u32 {
            let t = halving_threshold(k);
            assert_eq!(halving_era(t), Some(k), "era at threshold {k}");
            assert_eq!(block_reward(t), BASE_REWARD >> k, "reward at threshold {k}");
            if k > 0 {
                assert_eq!(
                    halving_era(t - 1),
                    Some(k - 1),
                    "era just below threshold {k}"
                );
                assert_eq!(block_reward(t - 1), BASE_REWARD >> (k - 1));
            }
        }
    }

    #[test]
    fn table_of_the_spec() {
        let tao = RAO_PER_TAO;
        assert_eq!(halving_threshold(1), 10_500_000 * tao);
        assert_eq!(halving_threshold(2), 15_750_000 * tao);
        assert_eq!(halving_threshold(3), 18_375_000 * tao);
        assert_eq!(halving_threshold(4), 19_687_500 * tao);
        assert_eq!(halving_threshold(5), 20_343_750 * tao);
        assert_eq!(halving_threshold(10), 20_979_492_187_500_000);
        assert_eq!(block_reward(halving_threshold(10)), 976_562);
        assert_eq!(block_reward(halving_threshold(20)), 953);
        assert_eq!(block_reward(halving_threshold(29)), 1);
        assert_eq!(
            block_reward(halving_threshold(30)),
            0,
            "emission stops at era 30"
        );
    }

    #[test]
    fn cap_is_never_exceeded() {
        assert_eq!(block_reward(MAX_SUPPLY), 0);
        assert_eq!(block_reward(u64::MAX), 0);
        assert_eq!(halving_era(MAX_SUPPLY), None);
        for issuance in [MAX_SUPPLY - 1, MAX_SUPPLY - 2, halving_threshold(29)] {
            assert!(issuance + block_reward(issuance) <= MAX_SUPPLY);
        }
    }

    #[test]
    fn next_halving_points_forward() {
        assert_eq!(next_halving_at(0), Some(halving_threshold(1)));
        assert_eq!(
            next_halving_at(halving_threshold(1)),
            Some(halving_threshold(2))
        );
        assert_eq!(next_halving_at(MAX_SUPPLY), None);
    }
}
