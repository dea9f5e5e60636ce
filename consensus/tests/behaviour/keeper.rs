//! The vote keeper's tallies: each vote counts once toward its value, an equivocator's second
//! vote is evidence and counts toward its own value, at most four values per validator, and the
//! power heard from per round.

use crate::domain;
use tensorchain_consensus::keeper::{Added, VoteKeeper};
use tensorchain_consensus::{Evidence, SignedVote, ValidatorSet};
use tensorchain_primitives::{Hash, Keypair, Validator, Vote, VoteKind};

fn keys() -> Vec<Keypair> {
    ["a", "b", "c", "d"]
        .iter()
        .map(|n| Keypair::dev(n))
        .collect()
}

/// Powers 1, 2, 3, 4 for a, b, c, d.
fn set(keys: &[Keypair]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .enumerate()
            .map(|(i, k)| Validator {
                hotkey: k.account(),
                power: i as u64 + 1,
            })
            .collect(),
    )
}

fn vote(key: &Keypair, round: u32, kind: VoteKind, value: Option<&str>) -> SignedVote {
    SignedVote::sign(
        Vote {
            chain_id: "t".into(),
            height: 1,
            round,
            kind,
            block_hash: value.map(|v| Hash::digest(v.as_bytes())),
        },
        key,
        &domain(),
    )
}

#[test]
fn votes_are_tallied_by_round_kind_and_value() {
    let ks = keys();
    let s = set(&ks);
    let mut k = VoteKeeper::default();
    let x = Some("x");
    assert_eq!(k.add(vote(&ks[1], 0, VoteKind::Prevote, x), &s), Added::New);
    assert_eq!(k.add(vote(&ks[3], 0, VoteKind::Prevote, x), &s), Added::New);
    assert_eq!(
        k.add(vote(&ks[2], 0, VoteKind::Prevote, None), &s),
        Added::New
    );
    assert_eq!(
        k.add(vote(&ks[0], 0, VoteKind::Precommit, x), &s),
        Added::New
    );
    let hx = Some(Hash::digest(b"x"));
    assert_eq!(k.power_for(0, VoteKind::Prevote, hx), 6);
    assert_eq!(k.power_for(0, VoteKind::Prevote, None), 3);
    assert_eq!(k.power_for(0, VoteKind::Precommit, hx), 1);
    assert_eq!(k.power_for(1, VoteKind::Prevote, hx), 0);
    assert_eq!(
        k.power_for(0, VoteKind::Prevote, Some(Hash::digest(b"y"))),
        0
    );
    assert_eq!(k.total(0, VoteKind::Prevote), 9);
    assert_eq!(k.total(0, VoteKind::Precommit), 1);
    assert_eq!(k.total(1, VoteKind::Prevote), 0);
    assert_eq!(k.sender_power(0), 10);
    assert_eq!(k.sender_power(1), 0);
    let voters: Vec<_> = k
        .votes_for(0, VoteKind::Prevote, Hash::digest(b"x"))
        .iter()
        .map(|v| v.validator)
        .collect();
    let mut want = vec![ks[1].account(), ks[3].account()];
    want.sort();
    assert_eq!(voters, want);
    assert!(k
        .votes_for(1, VoteKind::Prevote, Hash::digest(b"x"))
        .is_empty());
    assert!(k
        .votes_for(0, VoteKind::Precommit, Hash::digest(b"y"))
        .is_empty());
}

#[test]
fn a_repeated_vote_is_a_duplicate_and_counts_once() {
    let ks = keys();
    let s = set(&ks);
    let mut k = VoteKeeper::default();
    let v = vote(&ks[2], 0, VoteKind::Prevote, Some("x"));
    assert_eq!(k.add(v.clone(), &s), Added::New);
    assert_eq!(k.add(v, &s), Added::Duplicate);
    assert_eq!(
        k.power_for(0, VoteKind::Prevote, Some(Hash::digest(b"x"))),
        3
    );
    assert_eq!(k.total(0, VoteKind::Prevote), 3);
    assert_eq!(k.sender_power(0), 3);
}

#[test]
fn a_second_value_is_evidence_and_counts_for_its_value_but_not_twice_in_the_total() {
    let ks = keys();
    let s = set(&ks);
    let mut k = VoteKeeper::default();
    let first = vote(&ks[3], 2, VoteKind::Precommit, Some("x"));
    let second = vote(&ks[3], 2, VoteKind::Precommit, Some("y"));
    assert_eq!(k.add(first.clone(), &s), Added::New);
    assert_eq!(
        k.add(second.clone(), &s),
        Added::Equivocation(Box::new(Evidence {
            first: first.clone(),
            second
        }))
    );
    assert_eq!(
        k.power_for(2, VoteKind::Precommit, Some(Hash::digest(b"y"))),
        4
    );
    assert_eq!(
        k.power_for(2, VoteKind::Precommit, Some(Hash::digest(b"x"))),
        4
    );
    assert_eq!(k.total(2, VoteKind::Precommit), 4, "one validator, once");
    // Evidence always names the first vote.
    let third = vote(&ks[3], 2, VoteKind::Precommit, None);
    assert_eq!(
        k.add(third.clone(), &s),
        Added::Equivocation(Box::new(Evidence {
            first,
            second: third
        }))
    );
}

#[test]
fn a_validator_counts_for_at_most_four_values_per_round_and_kind() {
    let ks = keys();
    let s = set(&ks);
    let mut k = VoteKeeper::default();
    let values = ["1", "2", "3", "4", "5", "6"];
    let results: Vec<Added> = values
        .iter()
        .map(|v| k.add(vote(&ks[0], 0, VoteKind::Prevote, Some(v)), &s))
        .collect();
    assert_eq!(results[0], Added::New);
    assert!(results[1..4]
        .iter()
        .all(|r| matches!(r, Added::Equivocation(_))));
    assert_eq!(results[4], Added::Duplicate);
    assert_eq!(results[5], Added::Duplicate);
    for (i, v) in values.iter().enumerate() {
        let want = if i < 4 { 1 } else { 0 };
        assert_eq!(
            k.power_for(0, VoteKind::Prevote, Some(Hash::digest(v.as_bytes()))),
            want
        );
    }
    // The limit is per round and kind.
    assert_eq!(
        k.add(vote(&ks[0], 0, VoteKind::Precommit, Some("5")), &s),
        Added::New
    );
    assert_eq!(
        k.add(vote(&ks[0], 1, VoteKind::Prevote, Some("5")), &s),
        Added::New
    );
}

#[test]
fn senders_are_counted_once_per_round_and_later_rounds_are_listed() {
    let ks = keys();
    let s = set(&ks);
    let mut k = VoteKeeper::default();
    k.heard_from(3, ks[3].account(), &s);
    k.heard_from(3, ks[3].account(), &s);
    k.heard_from(3, ks[1].account(), &s);
    k.heard_from(5, ks[0].account(), &s);
    k.heard_from(1, ks[0].account(), &s);
    k.heard_from(5, Keypair::dev("outsider").account(), &s);
    assert_eq!(k.sender_power(3), 6);
    assert_eq!(k.sender_power(5), 1);
    assert_eq!(k.rounds_above(1), vec![3, 5]);
    assert_eq!(k.rounds_above(3), vec![5]);
    assert_eq!(k.rounds_above(0), vec![1, 3, 5]);
    assert!(k.rounds_above(5).is_empty());
    // A vote is also hearing from its sender.
    k.add(vote(&ks[2], 3, VoteKind::Prevote, None), &s);
    assert_eq!(k.sender_power(3), 9);
}
