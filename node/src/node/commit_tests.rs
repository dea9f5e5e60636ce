//! A block's write must not hold up admission, and admission during the write must see the
//! block's state and the pool after it together.

use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec};
use tensorchain_ledger::storage::{Column, Entries, Store, StoreError, WriteBatch};
use tensorchain_ledger::MemoryStore;
use tensorchain_primitives::{Call, Tx};

/// A memory store whose next write, once armed, says it has begun and then waits to be let go;
/// or, once told to, fails.
#[derive(Default)]
struct GatedStore {
    inner: MemoryStore,
    gate: Mutex<Option<(Sender<()>, Receiver<()>)>>,
    fail: AtomicBool,
}

impl Store for GatedStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(col, key)
    }

    fn scan_page(
        &self,
        col: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.inner.scan_page(col, prefix, after, reverse, limit)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let gate = self.gate.lock().unwrap().take();
        if let Some((begun, go)) = gate {
            begun.send(()).unwrap();
            go.recv().unwrap();
        }
        if self.fail.swap(false, Ordering::SeqCst) {
            return Err(StoreError("the disk is gone".into()));
        }
        self.inner.write(batch)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }
}

fn transfer(node: &Node, nonce: u64) -> SignedTx {
    let ledger = node.ledger();
    let call = Call::Transfer {
        to: dev_coldkey("ferdie").account(),
        amount: 1,
    };
    Tx {
        chain_id: ledger.params().chain_id.clone(),
        signer: dev_coldkey("alice").account(),
        nonce,
        fee: ledger.params().fees.for_call(&call),
        call,
    }
    .sign(&dev_coldkey("alice"), ledger.signing_domain())
}

/// A node on `store` whose pool held alice's nonces 0 and 1, and the block that includes them
/// with its commit.
fn two_transfers_decided(store: Arc<GatedStore>) -> (Arc<Node>, BuiltBlock, Commit) {
    let node = node_on(store);
    for nonce in [0, 1] {
        node.admit(transfer(&node, nonce)).unwrap();
    }
    let (built, commit) = decide(&node);
    assert_eq!(built.executed.block.txs.len(), 2);
    (node, built, commit)
}

fn node_on(store: Arc<GatedStore>) -> Arc<Node> {
    let spec = ChainSpec::devnet(1, 1_000);
    let ledger = Ledger::open(store, &spec.genesis_state()).unwrap();
    Arc::new(Node::new(Arc::new(ledger), Arc::new(Metrics::new()), None))
}

/// The next block from the pool, and the devnet's only validator's commit for it.
fn decide(node: &Node) -> (BuiltBlock, Commit) {
    let v = dev_hotkey("alice");
    let head = node.ledger().head();
    let built = node
        .build_block(v.account(), head.time_ms + 1_000, BlockLimits::default())
        .unwrap();
    let commit = Commit::signed_by(&built.executed.block, node.ledger().signing_domain(), &[&v]);
    (built, commit)
}

#[test]
fn admission_runs_during_a_commits_write_against_the_block_being_written() {
    let store = Arc::new(GatedStore::default());
    let (node, built, commit) = two_transfers_decided(store.clone());
    let head = node.ledger().head();
    let block_hash = built.executed.block.hash();

    let (begun_tx, begun) = channel();
    let (go, go_rx) = channel();
    *store.gate.lock().unwrap() = Some((begun_tx, go_rx));
    let committer = {
        let node = node.clone();
        std::thread::spawn(move || {
            node.commit_block(built.executed, &commit, &built.rejected, true)
        })
    };
    begun.recv().unwrap();

    // The write is held. Admission must neither wait for it nor count the block twice.
    let (done_tx, done) = channel();
    let admitter = {
        let node = node.clone();
        let (next, again) = (transfer(&node, 2), transfer(&node, 0));
        std::thread::spawn(move || {
            let alice = dev_coldkey("alice").account();
            // What REST reads: a ledger pinned at the head.
            let pinned = node.ledger().at(head.height).unwrap();
            let seen = (
                node.ledger().account(&alice),
                node.ledger().tx_location(&again.hash()),
                node.ledger().view().block_hash(head.height + 1),
                (pinned.tx_location(&again.hash()), pinned.account(&alice)),
            );
            let nonce = node.next_nonce(&alice);
            done_tx
                .send((node.admit(next), node.admit(again), (seen, nonce)))
                .unwrap();
        })
    };
    let during = done.recv_timeout(Duration::from_secs(20));
    go.send(()).unwrap();
    committer.join().unwrap().unwrap();
    admitter.join().unwrap();
    let (next, again, ((account, location, hash, (pinned_location, pinned_account)), nonce)) =
        during.expect("admission waited for the block's write");
    assert!(next.is_ok(), "the next nonce after the block: {next:?}");
    assert!(
        matches!(again, Err(SubmitError::AlreadyKnown(_))),
        "a transaction of the block being written: {again:?}"
    );
    assert_eq!(account.unwrap().unwrap().nonce, 2, "views show the block");
    assert_eq!(nonce, 2, "the next nonce REST serves counts it");
    assert_eq!(location.unwrap(), Some((head.height + 1, 0)));
    assert_eq!(hash.unwrap(), Some(block_hash), "and the block's hash");
    assert_eq!(
        pinned_location.unwrap(),
        Some((head.height + 1, 0)),
        "a ledger pinned at the head finds what the pool no longer holds"
    );
    assert_eq!(
        pinned_account.unwrap().unwrap().nonce,
        0,
        "but reads its own height's state"
    );
    assert_eq!(node.ledger().head().height, head.height + 1);
    assert_eq!(node.mempool_len(), 1);
    assert_eq!(node.ledger().next_height(), head.height + 2);
}

/// A write that fails leaves the pool as the stored state has it, not as the block would have.
#[test]
fn a_failed_write_prunes_the_pool_again_against_the_stored_state() {
    let store = Arc::new(GatedStore::default());
    let (node, built, commit) = two_transfers_decided(store.clone());
    node.admit(transfer(&node, 2)).unwrap();
    store.fail.store(true, Ordering::SeqCst);
    let failed = node.commit_block(built.executed, &commit, &built.rejected, true);
    assert!(failed.is_err());
    let alice = node.ledger().account(&dev_coldkey("alice").account());
    assert_eq!(alice.unwrap().unwrap().nonce, 0, "nothing was stored");
    assert_eq!(
        node.mempool_len(),
        0,
        "nonce 2 follows nothing stored: dropped"
    );
    node.admit(transfer(&node, 0))
        .expect("nonce 0 is the stored state's next");
}

/// A transaction the block left out is out of the pool from the prune on: its failure must be
/// on file by then, not only once the block is written (the status route said `tx_not_found`
/// for the whole write).
#[test]
fn a_tx_left_out_of_the_block_is_reported_failed_during_the_write() {
    let store = Arc::new(GatedStore::default());
    let node = node_on(store.clone());
    let cost = node.ledger().subnet_lock_cost().unwrap();
    let register = |who: &str| {
        let ledger = node.ledger();
        let call = Call::RegisterSubnet {
            hotkey: dev_hotkey(who).account(),
            max_cost: cost,
            identity: String::new(),
        };
        Tx {
            chain_id: ledger.params().chain_id.clone(),
            signer: dev_coldkey(who).account(),
            nonce: 0,
            fee: ledger.params().fees.for_call(&call),
            call,
        }
        .sign(&dev_coldkey(who), ledger.signing_domain())
    };
    let (first, second) = (register("alice"), register("bob"));
    node.admit(first).unwrap();
    node.admit(second.clone()).unwrap();
    let (built, commit) = decide(&node);
    assert_eq!(
        built.rejected.len(),
        1,
        "the second pays less than the raised price"
    );

    let (begun_tx, begun) = channel();
    let (go, go_rx) = channel();
    *store.gate.lock().unwrap() = Some((begun_tx, go_rx));
    let committer = {
        let node = node.clone();
        std::thread::spawn(move || {
            node.commit_block(built.executed, &commit, &built.rejected, true)
        })
    };
    begun.recv().unwrap();
    let during = node.local_tx_status(&second.hash());
    go.send(()).unwrap();
    committer.join().unwrap().unwrap();
    assert!(
        matches!(&during, Some(TxStatus::Failed { code, .. }) if code == "registration_cost_exceeds_max"),
        "{during:?}"
    );
}
