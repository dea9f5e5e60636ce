//! The mempool's rules, each refusal by name: its bounds (in all, per signer, free calls per
//! signer), the order blocks take transactions in (paying before free, signers interleaved by
//! nonce rank, first come first served), pruning after a block (a nonce gap drops the signer's
//! later transactions) and eviction from a full pool (only a free transaction at a queue's tail,
//! never evidence, never the admitting signer's own). On the chain of `tests`: subnet 1 with 256
//! registered hotkeys that may send free calls, and "owner" holding the funds.

use super::tests::{chain_with_hotkeys, commit, signed, AdmitTx};
use super::*;
use tensorchain_primitives::{DoubleSign, Keypair, Vote, VoteKind, RAO_PER_TAO};

fn validator() -> Keypair {
    Keypair::dev("validator")
}

fn transfer(ledger: &Ledger, from: &Keypair, nonce: u64) -> SignedTx {
    let call = Call::Transfer {
        to: Keypair::dev("someone").account(),
        amount: RAO_PER_TAO,
    };
    signed(ledger, from, nonce, call)
}

/// A free call: `hk` serves its axon.
fn axon(ledger: &Ledger, hk: &Keypair, nonce: u64) -> SignedTx {
    let call = Call::ServeAxon {
        netuid: 1,
        ip: [0; 16],
        port: 8091,
        protocol: 4,
    };
    signed(ledger, hk, nonce, call)
}

/// A second kind of free call: `hk` (uid `uid`) weights itself.
fn self_weight(ledger: &Ledger, hk: &Keypair, uid: u16, nonce: u64) -> SignedTx {
    let call = Call::SetWeights {
        netuid: 1,
        uids: vec![uid],
        values: vec![1],
        version_key: 0,
    };
    signed(ledger, hk, nonce, call)
}

/// Valid evidence (free, but kept like a paying transaction) that the genesis validator signed
/// two blocks at height 1, reported by `reporter` with its transaction `nonce`.
fn evidence(ledger: &Ledger, reporter: &Keypair, nonce: u64) -> SignedTx {
    let v = validator();
    let vote = |block: &[u8]| Vote {
        chain_id: "test".into(),
        height: 1,
        round: 0,
        kind: VoteKind::Precommit,
        block_hash: Some(Hash::digest(block)),
    };
    let (first, second) = (vote(b"a"), vote(b"b"));
    let ds = DoubleSign {
        validator: v.account(),
        first_signature: first.sign(&v, ledger.signing_domain()),
        second_signature: second.sign(&v, ledger.signing_domain()),
        first,
        second,
    };
    signed(
        ledger,
        reporter,
        nonce,
        Call::ReportEquivocation {
            evidence: Box::new(ds),
        },
    )
}

/// Coldkeys funded by the owner in one block.
fn funded(ledger: &Ledger, owner: &Keypair, names: &[&str]) -> Vec<Keypair> {
    let keys: Vec<Keypair> = names.iter().map(|n| Keypair::dev(n)).collect();
    let first = ledger.account(&owner.account()).unwrap().unwrap().nonce;
    let txs = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let call = Call::Transfer {
                to: k.account(),
                amount: 100 * RAO_PER_TAO,
            };
            signed(ledger, owner, first + i as u64, call)
        })
        .collect();
    commit(ledger, &validator(), txs);
    keys
}

fn hashes(txs: &[SignedTx]) -> Vec<Hash> {
    txs.iter().map(|t| t.hash()).collect()
}

/// Offers `stx`, which must be answered as `want` says, with the pool unchanged.
fn refused(pool: &mut Mempool, ledger: &Ledger, stx: SignedTx, want: &str) {
    let (len, hash) = (pool.len(), stx.hash());
    let got = match pool.admit_tx(stx, ledger) {
        Ok(_) => "admitted".to_string(),
        Err(SubmitError::Rejected(e)) => format!("rejected {}", e.code()),
        Err(e) => format!("{e:?}"),
    };
    assert_eq!(got, want);
    assert_eq!(pool.len(), len, "{want}: the pool changed");
    if !want.starts_with("AlreadyKnown") {
        assert!(!pool.contains(&hash), "{want}: queued anyway");
    }
}

#[test]
fn bounds_refuse_by_name_and_change_nothing() {
    let (ledger, owner, hotkeys) = chain_with_hotkeys();
    let [a, b, c] = <[Keypair; 3]>::try_from(funded(&ledger, &owner, &["a", "b", "c"])).unwrap();
    let on_chain = transfer(&ledger, &c, 0);
    commit(&ledger, &validator(), vec![on_chain.clone()]);
    let mut pool = Mempool::new(4, 3);

    for n in 0..3 {
        pool.admit_tx(transfer(&ledger, &a, n), &ledger).unwrap();
    }
    refused(
        &mut pool,
        &ledger,
        transfer(&ledger, &a, 3),
        "TooManyPending(3)",
    );
    let dup = transfer(&ledger, &a, 0);
    refused(
        &mut pool,
        &ledger,
        dup.clone(),
        &format!("AlreadyKnown({:?})", dup.hash()),
    );
    refused(
        &mut pool,
        &ledger,
        on_chain.clone(),
        &format!("AlreadyKnown({:?})", on_chain.hash()),
    );
    refused(
        &mut pool,
        &ledger,
        transfer(&ledger, &b, 1),
        "rejected bad_nonce",
    );
    pool.admit_tx(transfer(&ledger, &b, 0), &ledger).unwrap();
    assert_eq!(pool.len(), 4, "full");
    // A full pool of paying transactions has nothing to evict: free or paying, none gets in.
    refused(
        &mut pool,
        &ledger,
        axon(&ledger, &hotkeys[1], 0),
        "MempoolFull(4)",
    );
    refused(
        &mut pool,
        &ledger,
        transfer(&ledger, &c, 1),
        "MempoolFull(4)",
    );
    // Two free calls per signer however much room there is; evidence is not one of them.
    let mut roomy = Mempool::new(100, 100);
    let hk = &hotkeys[5];
    roomy.admit_tx(axon(&ledger, hk, 0), &ledger).unwrap();
    roomy
        .admit_tx(self_weight(&ledger, hk, 5, 1), &ledger)
        .unwrap();
    refused(
        &mut roomy,
        &ledger,
        axon(&ledger, hk, 2),
        "TooManyPending(2)",
    );
    roomy.admit_tx(evidence(&ledger, hk, 2), &ledger).unwrap();
    assert_eq!(roomy.pending_for(&hk.account()), 3);
}

/// Each signer's transactions in nonce order, signers interleaved by rank in the order they were
/// first seen (not by key), and every paying signer's transactions before any free one.
#[test]
fn blocks_take_paying_signers_interleaved_in_arrival_order_then_free_ones() {
    let (ledger, owner, hotkeys) = chain_with_hotkeys();
    let mut payers = funded(&ledger, &owner, &["a", "b", "c"]);
    // Arrival in descending key order, so key order would give the reverse.
    payers.sort_by_key(|k| std::cmp::Reverse(k.account()));
    let [x, y, z] = <[Keypair; 3]>::try_from(payers).unwrap();
    let mut pool = Mempool::new(100, 10);
    // A free signer arrives first of all; it still waits for every paying transaction.
    let free = [
        axon(&ledger, &hotkeys[1], 0),
        self_weight(&ledger, &hotkeys[1], 1, 1),
        axon(&ledger, &hotkeys[2], 0),
    ];
    let (x0, x1, x2) = (
        transfer(&ledger, &x, 0),
        transfer(&ledger, &x, 1),
        transfer(&ledger, &x, 2),
    );
    let (y0, y1) = (transfer(&ledger, &y, 0), transfer(&ledger, &y, 1));
    let z0 = transfer(&ledger, &z, 0);
    pool.admit_tx(free[0].clone(), &ledger).unwrap();
    for stx in [&x0, &y0, &x1, &free[1], &z0, &y1, &x2, &free[2]] {
        pool.admit_tx(stx.clone(), &ledger).unwrap();
    }
    let order = [&x0, &y0, &z0, &x1, &y1, &x2, &free[0], &free[2], &free[1]];
    let expected: Vec<Hash> = order.iter().map(|t| t.hash()).collect();
    assert_eq!(hashes(&pool.candidates(100)), expected);
    assert_eq!(
        hashes(&pool.candidates(6)),
        expected[..6],
        "a full block holds every paying transaction and no free one"
    );
    assert_eq!(hashes(&pool.candidates(4)), expected[..4]);
    assert!(pool.candidates(0).is_empty());
    // The built block takes them in that order and rejects none.
    let head = ledger.head();
    let built = ledger
        .build_block(
            pool.candidates(100),
            validator().account(),
            head.time_ms + 1,
            ledger.commit(head.height).unwrap(),
        )
        .unwrap();
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    assert_eq!(hashes(&built.executed.block.txs), expected);
}

#[test]
fn a_nonce_gap_drops_the_signers_later_transactions() {
    let (ledger, owner, _) = chain_with_hotkeys();
    let [a, b] = <[Keypair; 2]>::try_from(funded(&ledger, &owner, &["a", "b"])).unwrap();
    let mut pool = Mempool::new(100, 10);
    let a_txs: Vec<SignedTx> = (0..3).map(|n| transfer(&ledger, &a, n)).collect();
    let b_txs: Vec<SignedTx> = (0..2).map(|n| transfer(&ledger, &b, n)).collect();
    for stx in a_txs.iter().chain(&b_txs) {
        pool.admit_tx(stx.clone(), &ledger).unwrap();
    }
    // A block includes a0 (its a1 was rejected) and b0; the node prunes what it knows of.
    commit(
        &ledger,
        &validator(),
        vec![a_txs[0].clone(), b_txs[0].clone()],
    );
    let done = hashes(&a_txs[..2]);
    let orphaned = pool.prune(&done, [a.account(), b.account()], &ledger);
    assert_eq!(orphaned, vec![a_txs[2].hash()], "a2 follows a nonce gap");
    assert_eq!(pool.len(), 1);
    for (stx, kept) in a_txs
        .iter()
        .zip([false; 3])
        .chain(b_txs.iter().zip([false, true]))
    {
        assert_eq!(pool.contains(&stx.hash()), kept, "{:?}", stx.tx);
    }
    assert_eq!(pool.pending_for(&a.account()), 0);
    assert_eq!(
        pool.pending_for(&b.account()),
        1,
        "b0 was included: b1 lines up"
    );
    // a lost its place in line: sent again, its transactions come after b's.
    let a1 = transfer(&ledger, &a, 1);
    pool.admit_tx(a1.clone(), &ledger).unwrap();
    assert_eq!(
        hashes(&pool.candidates(10)),
        vec![b_txs[1].hash(), a1.hash()]
    );
    // The orphan can be sent again once it lines up.
    pool.admit_tx(a_txs[2].clone(), &ledger).unwrap();
    assert_eq!(pool.len(), 3);
}

#[test]
fn a_full_pool_evicts_only_free_tails_never_evidence_nor_the_senders_own() {
    let (ledger, owner, hotkeys) = chain_with_hotkeys();
    let [p, q] = <[Keypair; 2]>::try_from(funded(&ledger, &owner, &["p", "q"])).unwrap();
    let (h1, h2, h3) = (&hotkeys[1], &hotkeys[2], &hotkeys[3]);
    let mut pool = Mempool::new(5, 8);
    let h1_txs = [axon(&ledger, h1, 0), self_weight(&ledger, h1, 1, 1)];
    let h2_tx = axon(&ledger, h2, 0);
    let h3_tx = axon(&ledger, h3, 0);
    for stx in h1_txs.iter().chain([&h2_tx, &h3_tx]) {
        pool.admit_tx(stx.clone(), &ledger).unwrap();
    }
    assert_eq!(pool.len(), 4);
    pool.admit_tx(transfer(&ledger, &p, 0), &ledger).unwrap();
    // Full: a free call is refused; evidence makes room like a paying transaction, taking the
    // tail of the longest queue that ends in a free call (h1's weights).
    refused(
        &mut pool,
        &ledger,
        axon(&ledger, &hotkeys[4], 0),
        "MempoolFull(5)",
    );
    let report = evidence(&ledger, &Keypair::dev("reporter"), 0);
    pool.admit_tx(report.clone(), &ledger).unwrap();
    assert_eq!(pool.len(), 5);
    assert!(!pool.contains(&h1_txs[1].hash()), "h1's tail evicted");
    assert!(
        pool.contains(&h1_txs[0].hash()),
        "the queue stays contiguous"
    );
    // Only a transaction that would apply makes room.
    refused(
        &mut pool,
        &ledger,
        transfer(&ledger, &q, 1),
        "rejected bad_nonce",
    );
    assert!(pool.contains(&h2_tx.hash()) && pool.contains(&h3_tx.hash()));
    // Three queues of one free call each: the tie goes to the highest signer, then the next.
    let mut free_signers = vec![h1.account(), h2.account(), h3.account()];
    free_signers.sort();
    for n in 0..3 {
        pool.admit_tx(transfer(&ledger, &q, n), &ledger).unwrap();
        let evicted = free_signers.pop().unwrap();
        assert_eq!(pool.pending_for(&evicted), 0, "payment {n}");
        assert_eq!(pool.len(), 5);
    }
    // Only paying transactions and evidence are left: nothing is evicted, evidence stays.
    refused(
        &mut pool,
        &ledger,
        transfer(&ledger, &q, 3),
        "MempoolFull(5)",
    );
    assert!(pool.contains(&report.hash()));

    // A signer never evicts its own free tail (that would leave a gap before its new one).
    let hk = funded(&ledger, &owner, &["spam/7"]).remove(0);
    assert_eq!(
        hk.account(),
        hotkeys[7].account(),
        "a registered hotkey with funds"
    );
    let hk = &hk;
    let mut pool = Mempool::new(2, 8);
    pool.admit_tx(transfer(&ledger, &p, 0), &ledger).unwrap();
    pool.admit_tx(axon(&ledger, hk, 0), &ledger).unwrap();
    refused(
        &mut pool,
        &ledger,
        transfer(&ledger, hk, 1),
        "MempoolFull(2)",
    );
    pool.admit_tx(transfer(&ledger, &q, 0), &ledger)
        .expect("another signer's payment takes the free tail");
    assert_eq!(pool.pending_for(&hk.account()), 0);
}

/// Priority is fee per byte; fees are fixed per kind of call (here all 1,000 rao), so a subnet
/// registration with a 64-byte identity pays less per byte than a transfer. A full pool evicts
/// the lowest tail for a transaction strictly above it, never for an equal one.
#[test]
fn a_full_pool_evicts_a_lower_fee_per_byte_tail_never_an_equal_one() {
    let (ledger, owner, _) = chain_with_hotkeys();
    let [a, b, c] = <[Keypair; 3]>::try_from(funded(&ledger, &owner, &["a", "b", "c"])).unwrap();
    let nonce = ledger.account(&owner.account()).unwrap().unwrap().nonce;
    let register = Call::RegisterSubnet {
        hotkey: Keypair::dev("owner/second").account(),
        max_cost: u64::MAX,
        identity: "x".repeat(64),
    };
    let big = signed(&ledger, &owner, nonce, register);
    let mut pool = Mempool::new(2, 8);
    pool.admit_tx(big.clone(), &ledger).unwrap();
    let a0 = transfer(&ledger, &a, 0);
    pool.admit_tx(a0.clone(), &ledger).unwrap();
    // Blocks take the higher fee per byte first, whoever came first.
    assert_eq!(hashes(&pool.candidates(2)), vec![a0.hash(), big.hash()]);
    let b0 = transfer(&ledger, &b, 0);
    pool.admit_tx(b0.clone(), &ledger)
        .expect("evicts the registration");
    assert!(!pool.contains(&big.hash()));
    assert_eq!(pool.len(), 2);
    refused(
        &mut pool,
        &ledger,
        transfer(&ledger, &c, 0),
        "MempoolFull(2)",
    );
    assert!(pool.contains(&a0.hash()) && pool.contains(&b0.hash()));
}
