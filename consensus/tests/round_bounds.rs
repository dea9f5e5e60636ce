//! Finding 3 of the Byzantine-peers review: a validator signing messages for millions of rounds
//! grew the vote keeper's round map without bound (and made every input O(rounds)), and the
//! round counter overflowed at `u32::MAX`.

use tensorchain_consensus::core::{MAX_BUFFERED_PER_SIGNER, MAX_CATCHUP_ROUNDS_PER_VALIDATOR};
use tensorchain_consensus::{
    Config, Core, Input, SignedVote, Timeout, TimeoutKind, Timeouts, ValidatorSet,
};
use tensorchain_primitives::{Hash, Keypair, SigningDomain, Validator, Vote, VoteKind};

const CHAIN: &str = "rounds";

fn net() -> SigningDomain {
    SigningDomain::new(CHAIN, Hash::digest(b"genesis of rounds"))
}

fn keys() -> Vec<Keypair> {
    ["a", "b", "c", "d"]
        .iter()
        .map(|n| Keypair::dev(n))
        .collect()
}

/// Node `a`'s core at height 1, with four validators of equal power.
fn core(keys: &[Keypair]) -> Core {
    let set = ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                hotkey: k.account(),
                power: 1,
            })
            .collect(),
    );
    let mut core = Core::new(
        Config::new(net(), Timeouts::fast()),
        Some(keys[0].account()),
    );
    core.handle(Input::StartHeight {
        height: 1,
        validators: set,
    });
    core
}

fn prevote(key: &Keypair, round: u32) -> Input {
    prevote_at(key, 1, round)
}

fn prevote_at(key: &Keypair, height: u64, round: u32) -> Input {
    Input::Vote(SignedVote::sign(
        Vote {
            chain_id: CHAIN.into(),
            height,
            round,
            kind: VoteKind::Prevote,
            block_hash: None,
        },
        key,
        &net(),
    ))
}

#[test]
fn finding_3_a_validator_cannot_open_unbounded_rounds() {
    let keys = keys();
    let mut core = core(&keys);
    for round in 0..20_000 {
        core.handle(prevote(&keys[3], round));
    }
    assert_eq!(core.round(), 0, "one validator of four cannot skip rounds");
    // Rounds 0 and 1, plus the Byzantine validator's catch-up allowance.
    assert_eq!(core.tracked_rounds(), 2 + MAX_CATCHUP_ROUNDS_PER_VALIDATOR);
    // Honest validators a round or two ahead are still heard, and f+1 of them move this node.
    core.handle(prevote(&keys[1], 5));
    core.handle(prevote(&keys[2], 5));
    assert_eq!(core.round(), 5);
}

#[test]
fn finding_3_the_last_round_does_not_overflow() {
    let keys = keys();
    let mut core = core(&keys);
    // f+1 validators (here: two Byzantine ones) can move a node to any round, the last included.
    core.handle(prevote(&keys[2], u32::MAX));
    core.handle(prevote(&keys[3], u32::MAX));
    assert_eq!(core.round(), u32::MAX);
    core.handle(Input::Timeout(Timeout {
        height: 1,
        round: u32::MAX,
        kind: TimeoutKind::Precommit,
    }));
    core.handle(prevote(&keys[1], u32::MAX));
    assert_eq!(core.round(), u32::MAX, "the last round has no successor");
}

/// One Byzantine validator of the next height cannot fill the core's buffer of early messages
/// (4096) and crowd out the honest validators' early votes: each signer keeps at most
/// `MAX_BUFFERED_PER_SIGNER` there.
#[test]
fn a_validator_cannot_fill_the_next_height_buffer() {
    let keys = keys();
    let mut core = core(&keys);
    for round in 0..5_000 {
        core.handle(prevote_at(&keys[3], 2, round % 8));
    }
    core.handle(prevote_at(&keys[1], 2, 0));
    let set = ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                hotkey: k.account(),
                power: 1,
            })
            .collect(),
    );
    let buffered: Vec<_> = core.buffered_for(2, &set).collect();
    let by = |k: &Keypair| {
        buffered
            .iter()
            .filter(|i| matches!(i, Input::Vote(v) if v.validator == k.account()))
            .count()
    };
    assert_eq!(by(&keys[3]), MAX_BUFFERED_PER_SIGNER);
    assert_eq!(by(&keys[1]), 1, "the honest early vote is kept");
}
