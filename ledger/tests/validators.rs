//! The validator set from stake: candidates, epochs, the two-height activation delay, jailing and
//! slashing for equivocation, and every rejection.

mod common;

use common::{
    key, open_genesis, params, produce, rejection, signed, staked_validator, test_genesis, FEE,
};
use std::sync::Arc;
use tensorchain_ledger::runtime::params::ValidatorParams;
use tensorchain_ledger::{supply_accounted, ChainParams, Event, GenesisState, Ledger, MemoryStore};
use tensorchain_primitives::{
    validator_set_hash, Call, DoubleSign, Hash, Keypair, SignedTx, SigningDomain, Vote, VoteKind,
    RAO_PER_TAO,
};

const EPOCH: u64 = 5;
const GENESIS: &[u8] = b"validators genesis";

/// The test chain's network: what its votes are signed for.
fn net() -> SigningDomain {
    SigningDomain::new("test", Hash::digest(GENESIS))
}

fn open() -> (Arc<MemoryStore>, Ledger) {
    let g = GenesisState {
        params: ChainParams {
            validators: ValidatorParams::standard(2, EPOCH),
            ..params()
        },
        ..test_genesis(GENESIS, &["alice", "bob", "carol"], 10_000 * RAO_PER_TAO)
    };
    let c = open_genesis(staked_validator(g, "alice", 1_000 * RAO_PER_TAO));
    (c.store, c.ledger)
}

fn tx(from: &Keypair, ledger: &Ledger, call: Call) -> SignedTx {
    signed(ledger, from, FEE, call)
}

fn produce_until(ledger: &Ledger, height: u64) {
    while ledger.head().height < height {
        produce(ledger, vec![]);
    }
}

fn set_at(ledger: &Ledger, h: u64) -> Vec<(String, u64)> {
    ledger
        .validators_at(h)
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|v| (v.hotkey.to_string(), v.power))
        .collect()
}

/// Bob stakes behind his hotkey and offers it as a validator.
fn bob_candidate(ledger: &Ledger, stake_tao: u64) -> Keypair {
    let bob_hot = key("bob/hot");
    let add = tx(
        &key("bob"),
        ledger,
        Call::AddStake {
            hotkey: bob_hot.account(),
            amount: stake_tao * RAO_PER_TAO,
        },
    );
    let (rejected, _) = produce(ledger, vec![add]);
    assert!(rejected.is_empty(), "{rejected:?}");
    let reg = tx(
        &key("bob"),
        ledger,
        Call::RegisterValidator {
            hotkey: bob_hot.account(),
        },
    );
    let (rejected, events) = produce(ledger, vec![reg]);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(events.contains(&Event::ValidatorRegistered {
        hotkey: bob_hot.account()
    }));
    bob_hot
}

#[test]
fn a_candidate_joins_two_heights_after_the_epoch_with_its_stake_as_power() {
    let (_, ledger) = open();
    let bob_hot = bob_candidate(&ledger, 2_000);
    produce_until(&ledger, EPOCH - 1);
    assert_eq!(ledger.validators_at(EPOCH + 2).unwrap().unwrap().len(), 1);
    produce_until(&ledger, EPOCH);
    // Computed at the end of block 5: block 6 is still signed by the old set, block 7 by the new.
    assert_eq!(set_at(&ledger, EPOCH + 1).len(), 1);
    let new = set_at(&ledger, EPOCH + 2);
    assert_eq!(new.len(), 2);
    assert!(new.contains(&(bob_hot.account().to_string(), 2_000 * RAO_PER_TAO)));
    produce(&ledger, vec![]);
    let header6 = ledger.header(EPOCH + 1).unwrap().unwrap();
    let next = ledger.validators_at(EPOCH + 2).unwrap().unwrap();
    assert_eq!(header6.next_validator_set_hash, validator_set_hash(&next));
    assert_ne!(header6.validator_set_hash, header6.next_validator_set_hash);

    // Unregistered, it leaves at the next epoch.
    let unreg = tx(
        &key("bob"),
        &ledger,
        Call::UnregisterValidator {
            hotkey: bob_hot.account(),
        },
    );
    let (rejected, _) = produce(&ledger, vec![unreg]);
    assert!(rejected.is_empty());
    produce_until(&ledger, 2 * EPOCH);
    assert_eq!(set_at(&ledger, 2 * EPOCH + 2).len(), 1);
}

#[test]
fn the_set_keeps_the_top_stakes_and_is_never_empty() {
    let (_, ledger) = open();
    // max_validators is 2: carol's smaller stake stays out.
    bob_candidate(&ledger, 2_000);
    let carol_hot = key("carol/hot");
    let add = tx(
        &key("carol"),
        &ledger,
        Call::AddStake {
            hotkey: carol_hot.account(),
            amount: 10 * RAO_PER_TAO,
        },
    );
    produce(&ledger, vec![add]);
    let reg = tx(
        &key("carol"),
        &ledger,
        Call::RegisterValidator {
            hotkey: carol_hot.account(),
        },
    );
    produce(&ledger, vec![reg]);
    produce_until(&ledger, EPOCH);
    let set = set_at(&ledger, EPOCH + 2);
    assert_eq!(set.len(), 2);
    assert!(!set
        .iter()
        .any(|(h, _)| *h == carol_hot.account().to_string()));

    // Everyone leaves: the chain keeps its last set rather than stopping.
    let (_, ledger) = open();
    let unreg = tx(
        &key("alice"),
        &ledger,
        Call::UnregisterValidator {
            hotkey: key("validator").account(),
        },
    );
    let (rejected, _) = produce(&ledger, vec![unreg]);
    assert!(rejected.is_empty(), "{rejected:?}");
    produce_until(&ledger, EPOCH + 3);
    assert_eq!(set_at(&ledger, EPOCH + 3).len(), 1);
}

#[test]
fn registration_errors_are_named_and_change_nothing() {
    let (_, ledger) = open();
    let bob_hot = bob_candidate(&ledger, 100);
    let cases = [
        (
            tx(
                &key("carol"),
                &ledger,
                Call::RegisterValidator {
                    hotkey: bob_hot.account(),
                },
            ),
            "not_hotkey_owner",
        ),
        (
            tx(
                &key("bob"),
                &ledger,
                Call::RegisterValidator {
                    hotkey: bob_hot.account(),
                },
            ),
            "validator_already_registered",
        ),
        (
            tx(
                &key("carol"),
                &ledger,
                Call::RegisterValidator {
                    hotkey: key("nobody").account(),
                },
            ),
            "hotkey_not_found",
        ),
        (
            tx(
                &key("alice"),
                &ledger,
                Call::UnregisterValidator {
                    hotkey: key("nobody").account(),
                },
            ),
            "hotkey_not_found",
        ),
    ];
    for (stx, code) in cases {
        assert_eq!(ledger.simulate(&stx).unwrap_err().code(), code);
        assert_eq!(rejection(&ledger, stx), code);
    }
}

fn vote(h: u64, block: &[u8]) -> Vote {
    Vote {
        chain_id: "test".into(),
        height: h,
        round: 0,
        kind: VoteKind::Precommit,
        block_hash: Some(Hash::digest(block)),
    }
}

fn double_sign(k: &Keypair, h: u64, a: &[u8], b: &[u8]) -> DoubleSign {
    let (first, second) = (vote(h, a), vote(h, b));
    DoubleSign {
        validator: k.account(),
        first_signature: first.sign(k, &net()),
        second_signature: second.sign(k, &net()),
        first,
        second,
    }
}

fn report(ledger: &Ledger, evidence: DoubleSign) -> SignedTx {
    signed(
        ledger,
        &key("carol"),
        0,
        Call::ReportEquivocation {
            evidence: Box::new(evidence),
        },
    )
}

#[test]
fn equivocation_slashes_jails_and_removes_the_offender() {
    let (store, ledger) = open();
    let bob_hot = bob_candidate(&ledger, 2_000);
    produce_until(&ledger, EPOCH + 2);
    assert_eq!(set_at(&ledger, EPOCH + 3).len(), 2);
    let issuance = ledger.globals().unwrap().total_issuance;

    // Bad evidence first: nothing happens.
    for (ev, code) in [
        (double_sign(&bob_hot, 6, b"a", b"a"), "invalid_evidence"),
        (
            double_sign(&key("stranger"), 6, b"a", b"b"),
            "invalid_evidence",
        ),
        (double_sign(&bob_hot, 99, b"a", b"b"), "invalid_evidence"),
    ] {
        assert_eq!(rejection(&ledger, report(&ledger, ev)), code);
    }
    let mut forged = double_sign(&bob_hot, 6, b"a", b"b");
    forged.second_signature = forged.first_signature;
    assert_eq!(
        rejection(&ledger, report(&ledger, forged)),
        "invalid_evidence"
    );

    let (rejected, events) = produce(
        &ledger,
        vec![report(&ledger, double_sign(&bob_hot, 7, b"a", b"b"))],
    );
    assert!(rejected.is_empty(), "{rejected:?}");
    let slashed = 100 * RAO_PER_TAO; // 5% of 2,000 TAO
    let punished_at = ledger.head().height;
    assert!(events.contains(&Event::ValidatorPunished {
        hotkey: bob_hot.account(),
        slashed,
        jailed_until: punished_at + 1_000,
    }));
    assert_eq!(
        ledger
            .hotkey(&bob_hot.account())
            .unwrap()
            .unwrap()
            .total_stake,
        1_900 * RAO_PER_TAO
    );
    assert_eq!(ledger.globals().unwrap().total_issuance, issuance - slashed);
    let (accounted, g) = supply_accounted(store.as_ref()).unwrap();
    assert_eq!(accounted, g.total_issuance as u128);
    // Out of the set two heights later, without waiting for the epoch.
    assert_eq!(set_at(&ledger, punished_at + 1).len(), 2);
    assert_eq!(set_at(&ledger, punished_at + 2).len(), 1);

    let again = report(&ledger, double_sign(&bob_hot, 7, b"a", b"c"));
    assert_eq!(
        ledger.simulate(&again).unwrap_err().code(),
        "evidence_already_handled"
    );
    let rejoin = tx(
        &key("bob"),
        &ledger,
        Call::RegisterValidator {
            hotkey: bob_hot.account(),
        },
    );
    assert_eq!(
        ledger.simulate(&rejoin).unwrap_err().code(),
        "validator_jailed"
    );
}

/// Finding 4 of the economics review: unstaking right after the set snapshot kept the power and
/// escaped the slash. Now the stake unbonds, stays slashable, and evidence is judged against the
/// set of the offence height even after the offender rotated out.
#[test]
fn unstaking_after_the_snapshot_still_answers_for_equivocation() {
    let (store, ledger) = open();
    let bob_hot = bob_candidate(&ledger, 2_000);
    produce_until(&ledger, EPOCH + 2);
    assert_eq!(set_at(&ledger, EPOCH + 3).len(), 2, "bob signs from here");
    // The block after the snapshot bob takes everything out.
    let out = tx(
        &key("bob"),
        &ledger,
        Call::RemoveStake {
            hotkey: bob_hot.account(),
            amount: 2_000 * RAO_PER_TAO,
        },
    );
    let free_before = ledger.account(&key("bob").account()).unwrap().unwrap().free;
    let (rejected, events) = produce(&ledger, vec![out]);
    assert!(rejected.is_empty(), "{rejected:?}");
    let at = ledger.head().height;
    let params = ValidatorParams::standard(2, EPOCH);
    // His stake backs votes until the next set takes over; evidence of those votes stays
    // admissible for the evidence window after that, and the release waits for all of it.
    let release_at = at + EPOCH + 2 + params.evidence_max_age + 1;
    assert!(events.contains(&Event::StakeUnbonding {
        coldkey: key("bob").account(),
        hotkey: bob_hot.account(),
        amount: 2_000 * RAO_PER_TAO,
        release_at,
    }));
    let bob = ledger.account(&key("bob").account()).unwrap().unwrap();
    assert_eq!(bob.free, free_before - FEE, "nothing comes back at once");
    assert_eq!(bob.unbonding, 2_000 * RAO_PER_TAO);
    assert_eq!(ledger.unbonding_of(&key("bob").account()).unwrap().len(), 1);
    // He equivocates at the last height he signs, then drops out of the set.
    produce_until(&ledger, 3 * EPOCH + 2);
    let last_signed = (1..=3 * EPOCH + 3)
        .rev()
        .find(|h| set_at(&ledger, *h).len() == 2)
        .unwrap();
    assert!(
        last_signed > at,
        "the removed stake still backed votes after it left"
    );
    assert_eq!(set_at(&ledger, 3 * EPOCH + 3).len(), 1, "bob rotated out");
    // The evidence arrives at the last block of its window, long after the plain unbonding time.
    produce_until(&ledger, last_signed + params.evidence_max_age - 1);
    assert!(ledger.head().height + 1 > at + params.unbonding_blocks);
    let g_before = ledger.globals().unwrap();
    let (rejected, events) = produce(
        &ledger,
        vec![report(
            &ledger,
            double_sign(&bob_hot, last_signed, b"a", b"b"),
        )],
    );
    assert!(
        rejected.is_empty(),
        "evidence against a rotated-out validator: {rejected:?}"
    );
    let slashed = 100 * RAO_PER_TAO; // 5% of the 2,000 TAO bonded (all of it unbonding)
    assert!(events.iter().any(|e| matches!(e,
        Event::ValidatorPunished { hotkey, slashed: s, .. } if *hotkey == bob_hot.account() && *s == slashed)));
    let bob = ledger.account(&key("bob").account()).unwrap().unwrap();
    assert_eq!(bob.unbonding, 1_900 * RAO_PER_TAO);
    let g = ledger.globals().unwrap();
    assert_eq!(g.total_slashed, slashed);
    assert_eq!(g.total_issuance, g_before.total_issuance - slashed);
    assert!(g.invariant_ok());
    let (accounted, g) = supply_accounted(store.as_ref()).unwrap();
    assert_eq!(accounted, g.total_issuance as u128);
    // At its release block the rest becomes free, with an event.
    produce_until(&ledger, release_at - 1);
    let free_before = ledger.account(&key("bob").account()).unwrap().unwrap().free;
    produce(&ledger, vec![]);
    assert_eq!(
        ledger.end_events(release_at).unwrap(),
        vec![Event::UnbondingReleased {
            coldkey: key("bob").account(),
            hotkey: bob_hot.account(),
            amount: 1_900 * RAO_PER_TAO,
        }]
    );
    let bob = ledger.account(&key("bob").account()).unwrap().unwrap();
    assert_eq!(bob.free, free_before + 1_900 * RAO_PER_TAO);
    assert_eq!(bob.unbonding, 0);
    assert!(ledger
        .unbonding_of(&key("bob").account())
        .unwrap()
        .is_empty());
}
