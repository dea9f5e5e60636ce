//! A transaction's signature is verified once per node (`ledger/src/verify.rs`): admission,
//! block building, validation of a proposal and sync share one bounded cache keyed by the
//! transaction's hash (which covers the signature). Counted with the cache's own counter of
//! `verify_strict` calls; no timing.

mod common;
use common::*;
use tensorchain_ledger::LedgerError;

/// `n` transfers from "owner" with consecutive nonces.
fn transfers(c: &Chain, n: usize) -> Vec<SignedTx> {
    let to = key("e").account();
    c.txs(
        &key("owner"),
        (0..n).map(|_| Call::Transfer { to, amount: 1 }).collect(),
    )
}

fn verifications(c: &Chain) -> u64 {
    c.ledger.verified().verifications()
}

fn build(c: &Chain, txs: Vec<SignedTx>) -> tensorchain_ledger::BuiltBlock {
    let head = c.ledger.head();
    c.ledger
        .build_block(
            txs,
            key("validator").account(),
            head.time_ms + 1,
            c.ledger.commit(head.height).unwrap(),
        )
        .unwrap()
}

#[test]
fn admission_building_validation_and_sync_verify_each_signature_once_per_node() {
    let (leader, follower) = (open(), open());
    let txs = transfers(&leader, 8);
    // Admission on the leader checks each signature once.
    let admitted = leader.ledger.verify_txs(txs.clone());
    // The pool caches each it admits.
    for vtx in &admitted {
        leader.ledger.verified().remember(vtx.as_ref().unwrap());
    }
    assert_eq!(verifications(&leader), 8);
    // Building the block and validating it again (a re-proposal) verify nothing more.
    let built = build(&leader, txs);
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    let block = built.executed.block;
    leader.ledger.execute_block(&block).unwrap();
    assert_eq!(verifications(&leader), 8, "the leader verified them once");
    // A follower never saw them: each is verified (in parallel) before execution, once.
    let executed = follower.ledger.execute_block(&block).unwrap();
    assert_eq!(verifications(&follower), 8);
    follower.ledger.execute_block(&block).unwrap();
    assert_eq!(
        verifications(&follower),
        8,
        "a second execution hits the cache"
    );
    // Once committed, they are never checked again: the cache lets them go.
    let v = key("validator");
    let commit = Commit::signed_by(&block, follower.ledger.signing_domain(), &[&v]);
    follower.ledger.commit_block(executed, &commit).unwrap();
    assert!(follower.ledger.verified().is_empty());
}

#[test]
fn the_cache_never_lets_an_unverified_signature_into_a_block() {
    let (leader, follower) = (open(), open());
    let good = transfers(&leader, 1).remove(0);
    let mut forged = good.clone();
    forged.signature.0[0] ^= 1;
    // Both nodes have verified the good transaction; the forged copy differs only in its
    // signature, so its hash differs too: never a cache hit.
    for c in [&leader, &follower] {
        let vtx = c.ledger.verify_txs(vec![good.clone()]).remove(0).unwrap();
        c.ledger.verified().remember(&vtx);
        assert!(c.ledger.verified().contains(&good.hash()));
        assert!(!c.ledger.verified().contains(&forged.hash()));
    }
    // Building a block: the forged copy is verified, and left out by name.
    let built = build(&leader, vec![forged.clone()]);
    assert!(built.executed.block.txs.is_empty());
    assert_eq!(built.rejected, vec![(forged.hash(), TxError::BadSignature)]);
    // A proposal carrying it (the honest block with the signature edited) is refused.
    let mut block = build(&leader, vec![good.clone()]).executed.block;
    block.txs[0] = forged.clone();
    let before = verifications(&follower);
    match follower.ledger.execute_block(&block) {
        Err(LedgerError::InvalidBlock(m)) => {
            assert_eq!(
                m,
                format!("tx 0 ({}): {}", forged.hash(), TxError::BadSignature)
            )
        }
        other => panic!("accepted or refused for another reason: {:?}", other.err()),
    }
    assert_eq!(verifications(&follower), before + 1, "it was verified");
    assert!(!follower.ledger.verified().contains(&forged.hash()));
}

/// Transactions whose signature verifies but that nobody keeps (refused by the pool for a nonce
/// far ahead, say) do not flush the cache: only what the pool admits or a block executes goes in.
#[test]
fn verified_junk_does_not_flush_a_pooled_transactions_signature() {
    let c = open();
    let cache = tensorchain_ledger::SigCache::new(4);
    let (params, domain) = (c.ledger.params(), c.ledger.signing_domain());
    let txs = transfers(&c, 17);
    let pooled = cache
        .verify_all(vec![txs[0].clone()], params, domain)
        .pop()
        .unwrap()
        .unwrap();
    cache.remember(&pooled);
    let junk = cache.verify_all(txs[1..].to_vec(), params, domain);
    assert!(junk.iter().all(|r| r.is_ok()));
    assert_eq!(cache.verifications(), 17);
    assert!(
        cache.contains(&pooled.hash()),
        "the pooled tx is still cached"
    );
}

/// Block building never waits behind admission: transactions the node verified hand no work to
/// any thread pool (counted), and admission verifies on its own pool, so with every thread of
/// that pool busy a block of unverified transactions is still built (on the global pool).
#[test]
fn block_building_never_queues_behind_admission_verification() {
    let c = open();
    let cache = c.ledger.verified();
    let txs = transfers(&c, 8);
    for vtx in c.ledger.verify_txs(txs.clone()) {
        cache.remember(&vtx.unwrap());
    }
    let runs = cache.parallel_runs();
    let built = build(&c, txs);
    assert_eq!(built.executed.block.txs.len(), 8);
    assert_eq!(
        cache.parallel_runs(),
        runs,
        "all cached: nothing sent to a pool"
    );

    // Every admission thread blocked until the test lets go.
    let pool = cache.admission_pool().expect("an admission pool");
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let blocked = Arc::new(std::sync::Mutex::new(blocked));
    for _ in 0..pool.current_num_threads() {
        let blocked = blocked.clone();
        pool.spawn(move || {
            let _ = blocked.lock().unwrap().recv();
        });
    }
    let other = open();
    // Enough that their signatures are split among the global pool's threads.
    let fresh = transfers(&other, 200);
    let (done, built) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            done.send(build(&other, fresh).executed.block.txs.len())
                .unwrap()
        });
        // A bound only so a regression fails instead of hanging: it takes milliseconds.
        let got = built.recv_timeout(std::time::Duration::from_secs(10));
        for _ in 0..pool.current_num_threads() {
            let _ = release.send(());
        }
        assert_eq!(got, Ok(200), "built while admission's pool was busy");
    });
}
