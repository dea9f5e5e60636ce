//! Which validator set governs which height. A set computed while executing block h (at a
//! validator epoch boundary) governs from height h + 2, so block h + 1's header can already commit
//! to it as its next set, and every node knows a height's signers before it starts.

use crate::validators::ValidatorSet;
use std::collections::BTreeMap;
use tensorchain_primitives::Hash;

/// How many heights after the block that computed it a set takes effect.
pub const ACTIVATION_DELAY: u64 = 2;

#[derive(Debug, Clone)]
pub struct ValidatorSchedule {
    /// Set by the first height it governs.
    sets: BTreeMap<u64, ValidatorSet>,
}

impl ValidatorSchedule {
    /// The genesis set governs from height 1.
    pub fn new(genesis: ValidatorSet) -> ValidatorSchedule {
        ValidatorSchedule {
            sets: BTreeMap::from([(1, genesis)]),
        }
    }

    /// Records a set computed while executing block `height`.
    pub fn computed_at(&mut self, height: u64, set: ValidatorSet) {
        self.sets.insert(height + ACTIVATION_DELAY, set);
    }

    pub fn for_height(&self, height: u64) -> &ValidatorSet {
        self.sets
            .range(..=height.max(1))
            .next_back()
            .map(|(_, s)| s)
            .expect("the genesis set governs from height 1")
    }

    /// (validators_hash, next_validators_hash) for the header of `height`.
    pub fn header_hashes(&self, height: u64) -> (Hash, Hash) {
        (
            self.for_height(height).hash(),
            self.for_height(height + 1).hash(),
        )
    }

    /// Forgets sets that no longer govern any height at or above `height`.
    pub fn prune_below(&mut self, height: u64) {
        let keep_from = self
            .sets
            .range(..=height)
            .next_back()
            .map(|(h, _)| *h)
            .unwrap_or(1);
        self.sets = self.sets.split_off(&keep_from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorchain_primitives::{Keypair, Validator};

    fn set(names: &[&str]) -> ValidatorSet {
        ValidatorSet::new(
            names
                .iter()
                .map(|n| Validator {
                    hotkey: Keypair::dev(n).account(),
                    power: 1,
                })
                .collect(),
        )
    }

    #[test]
    fn a_change_takes_effect_two_heights_after_the_block_that_computed_it() {
        let (old, new) = (set(&["a", "b"]), set(&["a", "b", "c"]));
        let mut s = ValidatorSchedule::new(old.clone());
        s.computed_at(10, new.clone());
        assert_eq!(s.for_height(10), &old);
        assert_eq!(s.for_height(11), &old);
        assert_eq!(s.for_height(12), &new);
        assert_eq!(s.header_hashes(10), (old.hash(), old.hash()));
        assert_eq!(
            s.header_hashes(11),
            (old.hash(), new.hash()),
            "block 11 announces the next set"
        );
        assert_eq!(s.header_hashes(12), (new.hash(), new.hash()));
        s.prune_below(12);
        assert_eq!(s.for_height(12), &new);
        assert_eq!(s.for_height(500), &new);
    }
}
