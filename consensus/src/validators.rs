//! The validator set of one height: voting power, quorum thresholds and proposer selection.

use borsh::BorshSerialize;
use tensorchain_primitives::{validator_set_hash, AccountId, Hash, Validator};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total: u128,
    hash: Hash,
}

impl ValidatorSet {
    /// Validators with zero power are dropped; the order is fixed by hotkey so every node agrees.
    pub fn new(mut validators: Vec<Validator>) -> ValidatorSet {
        validators.retain(|v| v.power > 0);
        validators.sort_by_key(|v| v.hotkey);
        validators.dedup_by(|a, b| a.hotkey == b.hotkey);
        let total = validators.iter().map(|v| v.power as u128).sum();
        let hash = validator_set_hash(&validators);
        ValidatorSet {
            validators,
            total,
            hash,
        }
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    pub fn total_power(&self) -> u128 {
        self.total
    }

    pub fn hash(&self) -> Hash {
        self.hash
    }

    pub fn power_of(&self, who: &AccountId) -> u64 {
        self.validators
            .binary_search_by(|v| v.hotkey.cmp(who))
            .map(|i| self.validators[i].power)
            .unwrap_or(0)
    }

    /// More than two thirds of the power.
    pub fn is_quorum(&self, power: u128) -> bool {
        power * 3 > self.total * 2
    }

    /// More than one third of the power: at least one honest validator is among them.
    pub fn is_one_third(&self, power: u128) -> bool {
        power * 3 > self.total
    }

    /// The proposer of (height, round): a stake-weighted draw seeded by the set, height and round,
    /// the same on every node.
    pub fn proposer(&self, height: u64, round: u32) -> AccountId {
        if self.total == 0 {
            return AccountId::default();
        }
        let mut seed = Vec::with_capacity(44);
        self.hash.serialize(&mut seed).expect("in-memory write");
        seed.extend_from_slice(&height.to_le_bytes());
        seed.extend_from_slice(&round.to_le_bytes());
        let digest = Hash::digest_parts(b"tensorchain/proposer/v1", &[&seed]);
        let draw = u128::from_le_bytes(digest.0[..16].try_into().expect("16 bytes")) % self.total;
        let mut acc = 0u128;
        for v in &self.validators {
            acc += v.power as u128;
            if draw < acc {
                return v.hotkey;
            }
        }
        self.validators.last().map(|v| v.hotkey).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorchain_primitives::Keypair;

    fn set(powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            powers
                .iter()
                .enumerate()
                .map(|(i, &p)| Validator {
                    hotkey: Keypair::dev(&format!("v{i}")).account(),
                    power: p,
                })
                .collect(),
        )
    }

    #[test]
    fn quorums_are_strict_thirds() {
        let s = set(&[1, 1, 1, 1]);
        assert!(!s.is_quorum(2) && s.is_quorum(3));
        assert!(!s.is_one_third(1) && s.is_one_third(2));
        let s = set(&[1, 1, 1]);
        assert!(!s.is_quorum(2) && s.is_quorum(3));
    }

    #[test]
    fn proposer_is_deterministic_and_stake_weighted() {
        let s = set(&[70, 10, 10, 10]);
        // Deterministic: a set built again from the same validators picks the same proposers,
        // and the pick depends on both height and round.
        let again = set(&[70, 10, 10, 10]);
        let picks = |s: &ValidatorSet| -> Vec<_> {
            (0..50)
                .flat_map(|h| (0..3).map(move |r| (h, r)))
                .map(|(h, r)| s.proposer(h, r))
                .collect()
        };
        assert_eq!(picks(&s), picks(&again));
        assert!(
            (0..50).any(|h| s.proposer(h, 0) != s.proposer(h, 1)),
            "rounds rotate"
        );
        assert!(
            (0..50).any(|h| s.proposer(h, 0) != s.proposer(h + 1, 0)),
            "heights rotate"
        );
        let heavy = s
            .validators()
            .iter()
            .find(|v| v.power == 70)
            .unwrap()
            .hotkey;
        let picks = (0..1000).filter(|h| s.proposer(*h, 0) == heavy).count();
        assert!((600..800).contains(&picks), "{picks} of 1000");
    }
}
