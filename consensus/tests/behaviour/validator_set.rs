//! The validator set: who counts, with what power, the exact quorum thresholds with unequal
//! powers, and the proposer draw, recomputed here from its definition.

use borsh::BorshSerialize;
use tensorchain_consensus::ValidatorSet;
use tensorchain_primitives::{validator_set_hash, AccountId, Hash, Keypair, Validator};

fn v(name: &str, power: u64) -> Validator {
    Validator {
        hotkey: Keypair::dev(name).account(),
        power,
    }
}

#[test]
fn zero_power_and_repeated_hotkeys_are_dropped_and_the_order_is_by_hotkey() {
    let set = ValidatorSet::new(vec![v("c", 3), v("a", 1), v("z", 0), v("b", 2), v("a", 1)]);
    assert_eq!(set.len(), 3);
    assert!(!set.is_empty());
    assert_eq!(set.total_power(), 6);
    let mut want = vec![v("a", 1), v("b", 2), v("c", 3)];
    want.sort_by_key(|v| v.hotkey);
    assert_eq!(set.validators(), &want[..]);
    assert_eq!(set.hash(), validator_set_hash(&want));
    assert_eq!(set.power_of(&Keypair::dev("b").account()), 2);
    assert_eq!(set.power_of(&Keypair::dev("c").account()), 3);
    assert_eq!(set.power_of(&Keypair::dev("z").account()), 0);
    assert_eq!(set.power_of(&AccountId::default()), 0);
    let empty = ValidatorSet::new(vec![v("z", 0)]);
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.total_power(), 0);
}

#[test]
fn quorum_is_strictly_more_than_two_thirds_and_one_third_strictly_more_than_a_third() {
    // Total 7: two thirds is 4.67, one third 2.33.
    let set = ValidatorSet::new(vec![v("a", 4), v("b", 2), v("c", 1)]);
    assert!(!set.is_quorum(4));
    assert!(set.is_quorum(5));
    assert!(!set.is_one_third(2));
    assert!(set.is_one_third(3));
    // Total 6: exactly two thirds (4) and exactly a third (2) are not enough.
    let set = ValidatorSet::new(vec![v("a", 3), v("b", 2), v("c", 1)]);
    assert!(!set.is_quorum(4) && set.is_quorum(5));
    assert!(!set.is_one_third(2) && set.is_one_third(3));
    assert!(set.is_quorum(6) && !set.is_quorum(0));
}

/// The proposer draw by its definition: blake3 over the set hash, height and round, its first 16
/// bytes modulo the total power, walked through the cumulative powers.
fn expected_proposer(set: &ValidatorSet, height: u64, round: u32) -> AccountId {
    let mut seed = Vec::new();
    set.hash().serialize(&mut seed).unwrap();
    seed.extend_from_slice(&height.to_le_bytes());
    seed.extend_from_slice(&round.to_le_bytes());
    let digest = Hash::digest_parts(b"tensorchain/proposer/v1", &[&seed]);
    let draw = u128::from_le_bytes(digest.0[..16].try_into().unwrap()) % set.total_power();
    let mut acc = 0u128;
    for v in set.validators() {
        acc += v.power as u128;
        if draw < acc {
            return v.hotkey;
        }
    }
    unreachable!("draw < total")
}

#[test]
fn the_proposer_is_the_stake_weighted_draw_of_its_definition() {
    let set = ValidatorSet::new(vec![v("a", 1), v("b", 1), v("c", 2), v("d", 5), v("e", 1)]);
    for h in 0..200 {
        for r in 0..4 {
            assert_eq!(
                set.proposer(h, r),
                expected_proposer(&set, h, r),
                "({h}, {r})"
            );
        }
    }
    // Every validator gets a turn, a single one always.
    for key in set.validators() {
        assert!((0..200).any(|h| set.proposer(h, 0) == key.hotkey));
    }
    let solo = ValidatorSet::new(vec![v("solo", 9)]);
    assert!((0..50).all(|h| solo.proposer(h, 0) == Keypair::dev("solo").account()));
    assert_eq!(
        ValidatorSet::new(vec![]).proposer(1, 0),
        AccountId::default()
    );
}
