//! Proposals and votes are signed over domain-separated hashes bound to the network's genesis,
//! and a message names its height, round and sender.

use crate::domain;
use tensorchain_consensus::{Message, Proposal, SignedProposal, SignedVote, Step};
use tensorchain_primitives::{Hash, Keypair, SignatureError, SigningDomain, Vote, VoteKind};

/// Another network that reuses the chain id (a relaunched devnet): only the genesis differs.
fn relaunch() -> SigningDomain {
    SigningDomain::new("t", Hash::digest(b"genesis of t, relaunched"))
}

fn blake3_of(parts: &[&[u8]]) -> Hash {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    Hash(*h.finalize().as_bytes())
}

fn proposal() -> Proposal {
    Proposal {
        chain_id: "t".into(),
        height: 4,
        round: 2,
        value: Hash::digest(b"v"),
        pol_round: Some(1),
    }
}

fn vote() -> Vote {
    Vote {
        chain_id: "t".into(),
        height: 5,
        round: 3,
        kind: VoteKind::Precommit,
        block_hash: Some(Hash::digest(b"v")),
    }
}

#[test]
fn proposals_are_signed_under_their_own_domain() {
    let p = proposal();
    let want = blake3_of(&[
        b"tensorchain/proposal/v2",
        domain().genesis.as_bytes(),
        &borsh::to_vec(&p).unwrap(),
    ]);
    assert_eq!(p.signing_hash(&domain()), want);
    let key = Keypair::dev("p");
    let sp = SignedProposal::sign(p.clone(), &key, &domain());
    assert_eq!(sp.proposer, key.account());
    assert_eq!(sp.signature, key.sign(want.as_bytes()));
    assert_eq!(sp.verify(&domain()), Ok(()));
    let mut moved = sp.clone();
    moved.proposal.pol_round = None;
    assert_eq!(moved.verify(&domain()), Err(SignatureError::BadSignature));
    let mut other = sp.clone();
    other.proposer = Keypair::dev("q").account();
    assert_eq!(other.verify(&domain()), Err(SignatureError::BadSignature));
    // A vote's signature never passes as a proposal's.
    assert_ne!(p.signing_hash(&domain()), vote().signing_hash(&domain()));
}

/// Finding 11 of the Byzantine-peers review: proposals and votes covered the chain id only, so
/// one signed on a network verified on any other that reused the chain id.
#[test]
fn finding_11_a_proposal_signed_for_another_genesis_does_not_verify() {
    let key = Keypair::dev("p");
    let on_relaunch = SignedProposal::sign(proposal(), &key, &relaunch());
    assert_eq!(on_relaunch.verify(&relaunch()), Ok(()));
    assert_eq!(
        on_relaunch.verify(&domain()),
        Err(SignatureError::BadSignature)
    );
}

#[test]
fn finding_11_a_vote_signed_for_another_genesis_does_not_verify() {
    let key = Keypair::dev("v");
    let on_relaunch = SignedVote::sign(vote(), &key, &relaunch());
    assert_eq!(on_relaunch.verify(&relaunch()), Ok(()));
    assert_eq!(
        on_relaunch.verify(&domain()),
        Err(SignatureError::BadSignature)
    );
}

#[test]
fn votes_are_signed_over_the_vote_signing_hash() {
    let key = Keypair::dev("v");
    let sv = SignedVote::sign(vote(), &key, &domain());
    assert_eq!(sv.validator, key.account());
    assert_eq!(sv.signature, vote().sign(&key, &domain()));
    assert_eq!(sv.verify(&domain()), Ok(()));
    let mut changed = sv.clone();
    changed.vote.round = 4;
    assert_eq!(changed.verify(&domain()), Err(SignatureError::BadSignature));
    let mut other = sv.clone();
    other.validator = Keypair::dev("w").account();
    assert_eq!(other.verify(&domain()), Err(SignatureError::BadSignature));
}

#[test]
fn messages_name_their_height_round_and_sender() {
    let (pk, vk) = (Keypair::dev("p"), Keypair::dev("v"));
    let p = Message::Proposal(SignedProposal::sign(proposal(), &pk, &domain()));
    let v = Message::Vote(SignedVote::sign(vote(), &vk, &domain()));
    assert_eq!((p.height(), p.round(), p.sender()), (4, 2, pk.account()));
    assert_eq!((v.height(), v.round(), v.sender()), (5, 3, vk.account()));
}

#[test]
fn vote_kinds_map_to_their_steps() {
    assert_eq!(Step::from(VoteKind::Prevote), Step::Prevote);
    assert_eq!(Step::from(VoteKind::Precommit), Step::Precommit);
    assert!(Step::Propose < Step::Prevote && Step::Prevote < Step::Precommit);
}
