//! Finding 11 of the Byzantine-peers review: transactions and votes were signed over the chain id
//! only, and the devnet's chain id is fixed, so a relaunched devnet (or a testnet reusing an id)
//! accepted the old network's transactions, and its votes were valid equivocation evidence there.
//! Two real specs with one chain id and different allocations stand for the two networks here.

use std::sync::Arc;
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec};
use tensorchain_ledger::{Ledger, MemoryStore, TxError};
use tensorchain_primitives::{
    Call, Commit, DoubleSign, Hash, Keypair, SignedTx, Tx, Vote, VoteKind,
};

fn open(spec: &ChainSpec) -> Ledger {
    spec.validate().unwrap();
    let ledger = Ledger::open(Arc::new(MemoryStore::new()), &spec.genesis_state()).unwrap();
    assert_eq!(ledger.signing_domain(), &spec.signing_domain());
    ledger
}

/// Network A, and network B: A relaunched with the same chain id and one allocation changed.
fn networks() -> (Ledger, Ledger) {
    let a = ChainSpec::devnet(2, 42);
    let mut b = a.clone();
    b.allocations[5].balance -= 1;
    let (a, b) = (open(&a), open(&b));
    assert_eq!(a.params().chain_id, b.params().chain_id);
    assert_ne!(a.genesis_hash(), b.genesis_hash());
    (a, b)
}

/// `call` by `signer` with its next nonce and the fee, signed for `on`'s network.
fn signed_for(on: &Ledger, signer: &Keypair, call: Call) -> SignedTx {
    Tx {
        chain_id: on.params().chain_id.clone(),
        signer: signer.account(),
        nonce: on
            .account(&signer.account())
            .unwrap()
            .map_or(0, |a| a.nonce),
        fee: on.params().fees.for_call(&call),
        call,
    }
    .sign(signer, on.signing_domain())
}

#[test]
fn finding_11_a_tx_signed_for_another_network_with_the_same_chain_id_is_refused() {
    let (a, b) = networks();
    let alice = dev_coldkey("alice");
    let transfer = Call::Transfer {
        to: dev_coldkey("bob").account(),
        amount: 1,
    };
    let on_a = signed_for(&a, &alice, transfer.clone());
    assert!(
        a.simulate(&on_a).is_ok(),
        "valid on the network it was signed for"
    );
    let refused = b.simulate(&on_a).unwrap_err();
    assert_eq!(refused, TxError::BadSignature);
    assert_eq!(refused.code(), "bad_signature");
    // A proposer on B leaves it out of its block by the same error; B's own copy goes in.
    let proposer = dev_hotkey("alice").account();
    let built = b
        .build_block(vec![on_a.clone()], proposer, 43, None)
        .unwrap();
    assert_eq!(built.rejected, vec![(on_a.hash(), TxError::BadSignature)]);
    assert!(built.executed.block.txs.is_empty());
    let on_b = signed_for(&b, &alice, transfer);
    let built = b.build_block(vec![on_b], proposer, 43, None).unwrap();
    assert!(built.rejected.is_empty());
}

#[test]
fn finding_11_votes_signed_on_another_network_are_not_evidence_and_certify_nothing() {
    let (a, b) = networks();
    let byzantine = dev_hotkey("alice");
    let vote = |block: &[u8]| Vote {
        chain_id: a.params().chain_id.clone(),
        height: 1,
        round: 0,
        kind: VoteKind::Prevote,
        block_hash: Some(Hash::digest(block)),
    };
    let (first, second) = (vote(b"x"), vote(b"y"));
    let evidence = DoubleSign {
        validator: byzantine.account(),
        first_signature: first.sign(&byzantine, a.signing_domain()),
        first,
        second_signature: second.sign(&byzantine, a.signing_domain()),
        second,
    };
    let report = |on: &Ledger| {
        signed_for(
            on,
            &dev_coldkey("bob"),
            Call::ReportEquivocation {
                evidence: Box::new(evidence.clone()),
            },
        )
    };
    assert!(
        a.simulate(&report(&a)).is_ok(),
        "genuine evidence on the network the votes were signed on"
    );
    match b.simulate(&report(&b)) {
        Err(TxError::InvalidEvidence { reason }) => {
            assert!(
                reason.contains("does not verify on this network"),
                "{reason}"
            )
        }
        other => panic!("B must refuse A's votes as evidence: {other:?}"),
    }

    // A's certificate of a block, by all of its validators, certifies nothing on B.
    let block = a
        .build_block(vec![], byzantine.account(), 43, None)
        .unwrap()
        .executed
        .block;
    let keys = [dev_hotkey("alice"), dev_hotkey("bob")];
    let commit = Commit::signed_by(&block, a.signing_domain(), &[&keys[0], &keys[1]]);
    assert_eq!(
        commit.verify(a.signing_domain(), &a.validators().unwrap()),
        Ok(())
    );
    assert!(commit
        .verify(b.signing_domain(), &b.validators().unwrap())
        .is_err());
}
