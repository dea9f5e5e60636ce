//! A follower re-executes every block it is given (`Ledger::execute_block`) and must refuse one
//! that does not extend its head, comes from outside the validator set, lacks a valid commit of
//! its parent, claims a header its body does not produce, or carries an invalid transaction: each
//! refusal by its named error, with nothing of the follower's store touched. Every bad block here
//! differs from the honest one in that one respect only (built by the leader with the bad input
//! where the header must match it), so a missing check lets it through.

mod common;
use common::*;
use tensorchain_ledger::{Column, LedgerError, Store};
use tensorchain_primitives::{Block, CommitSig, SigningDomain};

/// Four validators of equal power: a commit needs three of them.
const SET: [&str; 4] = ["val/a", "val/b", "val/c", "val/d"];

fn set(n: usize) -> Vec<Keypair> {
    SET[..n].iter().map(|n| key(n)).collect()
}

/// A leader and a follower on the same genesis, the four validators at power 1 each.
fn pair() -> (Chain, Chain) {
    let mut g = genesis(SubnetParams::devnet());
    g.validators = SET
        .iter()
        .map(|n| Validator {
            hotkey: key(n).account(),
            power: 1,
        })
        .collect();
    (open_genesis(g.clone()), open_genesis(g))
}

/// A commit certificate for (hash, height) signed on `domain`'s network by `signers`.
fn commit_for(hash: Hash, height: u64, domain: &SigningDomain, signers: &[Keypair]) -> Commit {
    let mut c = Commit {
        height,
        round: 0,
        block_hash: hash,
        signatures: vec![],
    };
    let vote = c.precommit(domain);
    c.signatures = signers
        .iter()
        .map(|k| CommitSig {
            validator: k.account(),
            signature: vote.sign(k, domain),
        })
        .collect();
    c
}

/// The leader's next block (not committed): `txs` proposed by `proposer` with `last_commit`.
fn build(c: &Chain, txs: Vec<SignedTx>, proposer: &str, last_commit: Option<Commit>) -> Block {
    let head = c.ledger.head();
    let built = c
        .ledger
        .build_block(txs, key(proposer).account(), head.time_ms + 1, last_commit)
        .unwrap();
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    built.executed.block
}

/// Everything the follower stores, every column.
fn snapshot(c: &Chain) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    Column::ALL
        .iter()
        .map(|col| c.store.scan_prefix(*col, &[]).unwrap())
        .collect()
}

fn balances(c: &Chain) -> Vec<u64> {
    ["owner", "v1", "v2", "m1", "m2", "e"]
        .iter()
        .map(|n| c.free(&key(n)))
        .collect()
}

/// The follower refuses `block` with an error `expected` accepts, and afterwards its head,
/// balances and whole store are as before.
fn refuses(f: &Chain, case: &str, block: &Block, expected: impl Fn(&LedgerError) -> bool) {
    let (head, money, store) = (f.ledger.head(), balances(f), snapshot(f));
    match f.ledger.execute_block(block) {
        Ok(_) => panic!("{case}: accepted"),
        Err(e) => assert!(expected(&e), "{case}: refused for another reason: {e}"),
    }
    assert_eq!(f.ledger.head(), head, "{case}: head moved");
    assert_eq!(balances(f), money, "{case}: balances changed");
    assert!(snapshot(f) == store, "{case}: the store changed");
}

/// `block` with one change.
fn edited(block: &Block, change: impl FnOnce(&mut Block)) -> Block {
    let mut block = block.clone();
    change(&mut block);
    block
}

fn invalid(want: String) -> impl Fn(&LedgerError) -> bool {
    move |e| matches!(e, LedgerError::InvalidBlock(m) if *m == want)
}

fn header_differs() -> impl Fn(&LedgerError) -> bool {
    invalid("header fields differ from re-execution".into())
}

#[test]
fn a_follower_refuses_every_bad_block_by_name_and_keeps_its_state() {
    let (leader, follower) = pair();
    let [a, b, c, d] = <[Keypair; 4]>::try_from(set(4)).ok().unwrap();
    let quorum = [a.clone(), b.clone(), c.clone()];
    let net = follower.ledger.signing_domain().clone();

    // Block 1, committed by both: from here on a block must carry its parent's commit.
    let first = build(
        &leader,
        vec![leader.tx(
            &key("e"),
            Call::Transfer {
                to: key("m3").account(),
                amount: RAO_PER_TAO,
            },
        )],
        SET[0],
        None,
    );
    let commit1 = commit_for(first.hash(), 1, &net, &quorum);
    let executed = leader.ledger.execute_block(&first).unwrap();
    leader.ledger.commit_block(executed, &commit1).unwrap();
    let executed = follower.ledger.execute_block(&first).unwrap();
    follower.ledger.commit_block(executed, &commit1).unwrap();
    let parent = follower.ledger.head();
    assert_eq!(parent.height, 1);

    // The honest block 2: two independent transfers, so their order does not change the state.
    let t1 = leader.tx(
        &key("v1"),
        Call::Transfer {
            to: key("m1").account(),
            amount: 2 * RAO_PER_TAO,
        },
    );
    let t2 = leader.tx(
        &key("v2"),
        Call::Transfer {
            to: key("m2").account(),
            amount: 3 * RAO_PER_TAO,
        },
    );
    let txs = vec![t1.clone(), t2.clone()];
    let honest = build(&leader, txs.clone(), SET[1], Some(commit1.clone()));
    let with_commit = |commit: Commit| build(&leader, txs.clone(), SET[1], Some(commit));
    let f = &follower;

    // Not the next block of this chain.
    refuses(
        f,
        "another chain id",
        &edited(&honest, |blk| blk.header.chain_id = "other".into()),
        invalid("chain id other".into()),
    );
    for (case, height) in [("height skips one", 3), ("height repeats the head", 1)] {
        refuses(
            f,
            case,
            &edited(&honest, |blk| blk.header.height = height),
            invalid(format!("height {height} does not extend head 1")),
        );
    }
    refuses(
        f,
        "another parent",
        &edited(&honest, |blk| {
            blk.header.parent_hash = Hash::digest(b"a sibling of block 1")
        }),
        invalid("height 2 does not extend head 1".into()),
    );

    // A proposer outside the set, in a block otherwise consistent with it.
    let outsider = key("e").account();
    refuses(
        f,
        "proposer outside the set",
        &build(&leader, txs.clone(), "e", Some(commit1.clone())),
        invalid(format!("proposer {outsider} is not a validator")),
    );

    // The parent's commit: missing, for something else, or not signed by 2/3 of the set.
    refuses(
        f,
        "no parent commit",
        &build(&leader, txs.clone(), SET[1], None),
        invalid("missing commit for the parent".into()),
    );
    let not_parent = invalid("last commit is not for the parent".into());
    let sibling = Hash::digest(b"a sibling of block 1");
    refuses(
        f,
        "a commit of another block at the parent's height",
        &with_commit(commit_for(sibling, 1, &net, &quorum)),
        &not_parent,
    );
    refuses(
        f,
        "a commit of the parent's hash at another height",
        &with_commit(commit_for(parent.hash, 2, &net, &quorum)),
        &not_parent,
    );
    let parent_commit = |by: &[Keypair]| commit_for(parent.hash, 1, &net, by);
    refuses(
        f,
        "signed by two of four",
        &with_commit(parent_commit(&[a.clone(), b.clone()])),
        invalid("parent commit: signed power 2 of 4 is not more than two thirds".into()),
    );
    refuses(
        f,
        "a signer outside the set",
        &with_commit(parent_commit(&[a.clone(), b.clone(), c.clone(), key("e")])),
        invalid(format!(
            "parent commit: signer {outsider} is not in the validator set"
        )),
    );
    refuses(
        f,
        "one validator counted twice",
        &with_commit(parent_commit(&[a.clone(), b.clone(), a.clone()])),
        invalid(format!(
            "parent commit: validator {} signed twice",
            a.account()
        )),
    );
    let mut forged = parent_commit(&quorum);
    forged.signatures[2].signature = forged.signatures[0].signature;
    refuses(
        f,
        "a forged signature",
        &with_commit(forged),
        invalid(format!(
            "parent commit: signature of {} does not verify",
            c.account()
        )),
    );
    refuses(
        f,
        "signed for another chain",
        &with_commit(commit_for(
            parent.hash,
            1,
            &SigningDomain::new("other", net.genesis),
            &quorum,
        )),
        invalid(format!(
            "parent commit: signature of {} does not verify",
            a.account()
        )),
    );
    // Finding 11: signed on another network that reuses this chain id (a relaunched devnet).
    refuses(
        f,
        "signed for another genesis",
        &with_commit(commit_for(
            parent.hash,
            1,
            &SigningDomain::new(net.chain_id.clone(), Hash::digest(b"a relaunch")),
            &quorum,
        )),
        invalid(format!(
            "parent commit: signature of {} does not verify",
            a.account()
        )),
    );

    // A header its body does not produce.
    refuses(
        f,
        "the body's transactions reordered under the header",
        &edited(&honest, |blk| blk.txs.reverse()),
        header_differs(),
    );
    refuses(
        f,
        "tx_root",
        &edited(&honest, |blk| {
            blk.header.tx_root = Hash::digest(b"other txs")
        }),
        header_differs(),
    );
    refuses(
        f,
        "validator_set_hash",
        &edited(&honest, |blk| {
            blk.header.validator_set_hash = Hash::digest(b"other set")
        }),
        header_differs(),
    );
    refuses(
        f,
        "next_validator_set_hash",
        &edited(&honest, |blk| {
            blk.header.next_validator_set_hash = Hash::digest(b"other set")
        }),
        header_differs(),
    );
    refuses(
        f,
        "last_commit_hash",
        &edited(&honest, |blk| {
            blk.header.last_commit_hash = Hash::digest(b"other commit")
        }),
        header_differs(),
    );
    // The same commit with a fourth signature is just as valid, but not the one the header names.
    refuses(
        f,
        "the commit in the body is not the one the header names",
        &edited(&honest, |blk| {
            blk.last_commit = Some(parent_commit(&[a.clone(), b.clone(), c.clone(), d.clone()]))
        }),
        header_differs(),
    );
    let claimed = Hash::digest(b"another state");
    refuses(
        f,
        "state_root",
        &edited(&honest, |blk| blk.header.state_root = claimed),
        |e| {
            matches!(e, LedgerError::StateRootMismatch { height: 2, computed, claimed: said }
                if *computed == honest.header.state_root && *said == claimed)
        },
    );

    // An invalid transaction inside: the block fails at that transaction, by its error.
    let tx_error =
        |i: usize, stx: &SignedTx, e: TxError| invalid(format!("tx {i} ({}): {e}", stx.hash()));
    refuses(
        f,
        "a transaction included twice",
        &edited(&honest, |blk| blk.txs.push(t1.clone())),
        tx_error(
            2,
            &t1,
            TxError::BadNonce {
                expected: 1,
                got: 0,
            },
        ),
    );
    let mut bad_sig = t2.clone();
    bad_sig.signature.0[0] ^= 1;
    refuses(
        f,
        "a bad signature",
        &edited(&honest, |blk| blk.txs[1] = bad_sig.clone()),
        tx_error(1, &bad_sig, TxError::BadSignature),
    );
    let overdraft = leader.tx(
        &key("m4"),
        Call::Transfer {
            to: key("m1").account(),
            amount: FUNDS,
        },
    );
    refuses(
        f,
        "more than the balance",
        &edited(&honest, |blk| blk.txs.insert(0, overdraft.clone())),
        tx_error(
            0,
            &overdraft,
            TxError::InsufficientBalance {
                needed: FUNDS + FEE,
                available: FUNDS,
            },
        ),
    );

    // After all that, the honest block applies and both nodes agree on the result.
    let commit2 = commit_for(honest.hash(), 2, &net, &[b, c, d]);
    let executed = follower.ledger.execute_block(&honest).unwrap();
    follower.ledger.commit_block(executed, &commit2).unwrap();
    let executed = leader.ledger.execute_block(&honest).unwrap();
    leader.ledger.commit_block(executed, &commit2).unwrap();
    assert_eq!(follower.ledger.head(), leader.ledger.head());
    assert_eq!(
        follower.ledger.state_root().unwrap(),
        leader.ledger.state_root().unwrap()
    );
    assert_eq!(follower.free(&key("m1")), FUNDS + 2 * RAO_PER_TAO);
}
