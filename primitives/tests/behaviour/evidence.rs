//! `DoubleSign::check` is what jails and slashes a validator: it must accept exactly two validly
//! signed, conflicting votes of one validator on this chain, and nothing else.

use tensorchain_primitives::{DoubleSign, Hash, Keypair, Vote, VoteKind};

fn vote(chain: &str, block: &[u8]) -> Vote {
    Vote {
        chain_id: chain.into(),
        height: 10,
        round: 2,
        kind: VoteKind::Prevote,
        block_hash: Some(Hash::digest(block)),
    }
}

fn evidence(first: Vote, second: Vote) -> DoubleSign {
    let key = Keypair::dev("byzantine");
    DoubleSign {
        validator: key.account(),
        first_signature: first.sign(&key),
        first,
        second_signature: second.sign(&key),
        second,
    }
}

#[test]
fn two_signed_votes_for_different_blocks_are_evidence() {
    assert_eq!(
        evidence(vote("test", b"x"), vote("test", b"y")).check("test"),
        Ok(())
    );
    // A nil vote against a block vote conflicts too.
    let nil = Vote {
        block_hash: None,
        ..vote("test", b"x")
    };
    assert_eq!(evidence(vote("test", b"x"), nil).check("test"), Ok(()));
}

#[test]
fn votes_of_another_chain_are_refused_even_if_only_one_is() {
    let err = |e: DoubleSign| e.check("test").unwrap_err();
    assert!(err(evidence(vote("other", b"x"), vote("other", b"y"))).contains("another chain"));
    assert!(err(evidence(vote("other", b"x"), vote("test", b"y"))).contains("another chain"));
    assert!(err(evidence(vote("test", b"x"), vote("other", b"y"))).contains("another chain"));
}

#[test]
fn votes_that_do_not_conflict_are_refused() {
    let base = vote("test", b"x");
    for second in [
        Vote {
            height: 11,
            ..vote("test", b"y")
        },
        Vote {
            round: 3,
            ..vote("test", b"y")
        },
        Vote {
            kind: VoteKind::Precommit,
            ..vote("test", b"y")
        },
    ] {
        let e = evidence(base.clone(), second).check("test").unwrap_err();
        assert!(e.contains("different heights, rounds or kinds"), "{e}");
    }
    let e = evidence(base.clone(), base).check("test").unwrap_err();
    assert!(e.contains("same block"), "{e}");
}

#[test]
fn each_signature_must_verify_by_the_accused() {
    let good = evidence(vote("test", b"x"), vote("test", b"y"));
    let other = Keypair::dev("innocent");
    let mut forged_first = good.clone();
    forged_first.first_signature = forged_first.first.sign(&other);
    let mut forged_second = good.clone();
    forged_second.second_signature = forged_second.second.sign(&other);
    let mut swapped = good.clone();
    std::mem::swap(&mut swapped.first_signature, &mut swapped.second_signature);
    let mut framed = good.clone();
    framed.validator = other.account();
    for bad in [forged_first, forged_second, swapped, framed] {
        let e = bad.check("test").unwrap_err();
        assert!(e.contains("signature does not verify"), "{e}");
    }
}
