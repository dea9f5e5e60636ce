//! Which set governs which height, and what pruning forgets.

use tensorchain_consensus::schedule::ACTIVATION_DELAY;
use tensorchain_consensus::{ValidatorSchedule, ValidatorSet};
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
fn sets_take_effect_after_the_activation_delay_and_height_zero_reads_genesis() {
    assert_eq!(ACTIVATION_DELAY, 2);
    let (g, s3, s7) = (set(&["a"]), set(&["a", "b"]), set(&["a", "b", "c"]));
    let mut s = ValidatorSchedule::new(g.clone());
    s.computed_at(3, s3.clone());
    s.computed_at(7, s7.clone());
    assert_eq!(s.for_height(0), &g);
    assert_eq!(s.for_height(1), &g);
    assert_eq!(s.for_height(4), &g);
    assert_eq!(s.for_height(5), &s3);
    assert_eq!(s.for_height(8), &s3);
    assert_eq!(s.for_height(9), &s7);
    assert_eq!(s.header_hashes(4), (g.hash(), s3.hash()));
    assert_eq!(s.header_hashes(8), (s3.hash(), s7.hash()));
}

#[test]
fn pruning_keeps_the_set_governing_the_height_and_forgets_older_ones() {
    let (g, s3, s7) = (set(&["a"]), set(&["a", "b"]), set(&["a", "b", "c"]));
    let mut s = ValidatorSchedule::new(g.clone());
    s.computed_at(3, s3.clone());
    s.computed_at(7, s7.clone());
    // Height 6 is governed by the set from 5: it and everything later stay.
    s.prune_below(6);
    assert_eq!(s.for_height(6), &s3);
    assert_eq!(s.for_height(5), &s3);
    assert_eq!(s.for_height(9), &s7);
    // The genesis set is gone: no set governs height 4 any more.
    let pruned = s.clone();
    assert!(std::panic::catch_unwind(move || pruned.for_height(4).len()).is_err());
    // Pruning below the first set keeps everything.
    let mut t = ValidatorSchedule::new(g.clone());
    t.computed_at(3, s3.clone());
    t.prune_below(0);
    assert_eq!(t.for_height(1), &g);
    assert_eq!(t.for_height(5), &s3);
}
