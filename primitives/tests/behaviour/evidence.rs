//! `DoubleSign::check` is what jails and slashes a validator: it must accept exactly two validly
//! signed, conflicting votes of one validator on this chain, and nothing else.

use tensorchain_primitives::{
    DoubleSign, EvidenceError, Hash, Keypair, SigningDomain, Vote, VoteKind,
};

/// The network the evidence is checked on.
fn net() -> SigningDomain {
    SigningDomain::new("test", Hash::digest(b"genesis of test"))
}

/// Where a vote was signed: its own chain id, on `net()`'s genesis.
fn signed_on(vote: &Vote) -> SigningDomain {
    SigningDomain::new(vote.chain_id.clone(), net().genesis)
}

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
        first_signature: first.sign(&key, &signed_on(&first)),
        first,
        second_signature: second.sign(&key, &signed_on(&second)),
        second,
    }
}

#[test]
fn two_signed_votes_for_different_blocks_are_evidence() {
    assert_eq!(
        evidence(vote("test", b"x"), vote("test", b"y")).check(&net()),
        Ok(())
    );
    // A nil vote against a block vote conflicts too.
    let nil = Vote {
        block_hash: None,
        ..vote("test", b"x")
    };
    assert_eq!(evidence(vote("test", b"x"), nil).check(&net()), Ok(()));
}

#[test]
fn votes_of_another_chain_are_refused_even_if_only_one_is() {
    let err = |e: DoubleSign| e.check(&net()).unwrap_err();
    for e in [
        err(evidence(vote("other", b"x"), vote("other", b"y"))),
        err(evidence(vote("other", b"x"), vote("test", b"y"))),
        err(evidence(vote("test", b"x"), vote("other", b"y"))),
    ] {
        assert_eq!(e, EvidenceError::OtherChain);
        assert!(e.to_string().contains("another chain"), "{e}");
    }
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
        let e = evidence(base.clone(), second).check(&net()).unwrap_err();
        assert_eq!(e, EvidenceError::NoConflict);
        assert!(
            e.to_string().contains("different heights, rounds or kinds"),
            "{e}"
        );
    }
    let e = evidence(base.clone(), base).check(&net()).unwrap_err();
    assert_eq!(e, EvidenceError::SameBlock);
    assert!(e.to_string().contains("same block"), "{e}");
}

#[test]
fn each_signature_must_verify_by_the_accused() {
    let good = evidence(vote("test", b"x"), vote("test", b"y"));
    let other = Keypair::dev("innocent");
    let mut forged_first = good.clone();
    forged_first.first_signature = forged_first.first.sign(&other, &net());
    let mut forged_second = good.clone();
    forged_second.second_signature = forged_second.second.sign(&other, &net());
    let mut swapped = good.clone();
    std::mem::swap(&mut swapped.first_signature, &mut swapped.second_signature);
    let mut framed = good.clone();
    framed.validator = other.account();
    for bad in [forged_first, forged_second, swapped, framed] {
        let e = bad.check(&net()).unwrap_err();
        assert!(matches!(e, EvidenceError::Signature { .. }), "{e}");
        assert!(e.to_string().contains("signature does not verify"), "{e}");
    }
}

/// Finding 11 of the Byzantine-peers review: votes signed on another network that reuses this
/// chain id (a relaunched devnet) were valid evidence here, so anyone could jail and slash a
/// validator that runs on both.
#[test]
fn finding_11_votes_signed_on_another_genesis_are_not_evidence() {
    let key = Keypair::dev("byzantine");
    let network_a = SigningDomain::new("test", Hash::digest(b"genesis of a relaunch"));
    let (first, second) = (vote("test", b"x"), vote("test", b"y"));
    let from_a = DoubleSign {
        validator: key.account(),
        first_signature: first.sign(&key, &network_a),
        first,
        second_signature: second.sign(&key, &network_a),
        second,
    };
    assert_eq!(
        from_a.check(&network_a),
        Ok(()),
        "genuine on its own network"
    );
    let e = from_a.check(&net()).unwrap_err();
    assert!(
        e.to_string()
            .contains("signature does not verify on this network"),
        "{e}"
    );
}
