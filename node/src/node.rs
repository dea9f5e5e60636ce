//! The node's shared state: the ledger, the mempool, what happened to refused transactions, the
//! block event stream and the engine's progress. The REST API reads it (`NodeApi`); the node
//! machine is its one writer of blocks. No I/O of its own beyond the ledger's store and, once the
//! network is up, gossiping transactions submitted over REST.

use crate::mempool::Mempool;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tensorchain_ledger::{BlockLimits, BuiltBlock, ExecutedBlock, Ledger, LedgerError, TxError};
use tensorchain_network::NetworkHandle;
use tensorchain_primitives::{AccountId, Commit, Hash, SignedTx};
use tensorchain_rpc::{
    BlockEvent, GossipDrops, Metrics, NetworkInfo, NodeApi, PeerView, SubmitError, TxFate, TxStatus,
};
use tokio::sync::broadcast;

/// Transactions the mempool holds: three seconds at 20,000 TPS, so a block that comes late or
/// small does not turn a steady load into `mempool_full` (and each refused transaction's later
/// nonces into `bad_nonce`). ~400 bytes each in memory: ~25 MiB full.
pub const MAX_MEMPOOL: usize = 60_000;
const MAX_PENDING_PER_SIGNER: usize = 256;
/// Transactions a block may take from the mempool: not the binding limit. Blocks fill up by
/// bytes (`MAX_BLOCK_BYTES`, a consensus rule): 4 MiB holds ~25,000 transfers, the most of any
/// kind (`the_byte_limit_binds_before_the_count`), which is 25k TPS at 1 s blocks.
const MAX_BLOCK_TXS: usize = 40_000;
/// Statuses of transactions that left the pool unincluded (failed, evicted), remembered for
/// `GET /v1/txs/{hash}`; also the most such fates one block's event carries.
const MAX_REMEMBERED_FAILURES: usize = 10_000;
/// Transactions waiting for or under their stateless checks at once, from every source: about
/// half a second of both cores' `verify_strict`. Beyond it a submission is refused `overloaded`
/// rather than queued without bound.
pub const MAX_VERIFYING: usize = 8_192;
/// Transactions of a batch admitted under one hold of the pool's lock.
const ADMIT_CHUNK: usize = 32;

/// What the engine reports for the REST API.
#[derive(Default)]
struct Progress {
    best_peer_height: u64,
    height: u64,
    round: u32,
    /// Which core task ended, once one has.
    failure: Option<String>,
}

pub struct Node {
    ledger: Arc<Ledger>,
    mempool: Mutex<Mempool>,
    failures: Mutex<(HashMap<Hash, TxStatus>, VecDeque<Hash>)>,
    /// Fates recorded since the last block's event (at most `MAX_REMEMBERED_FAILURES`).
    fates: Mutex<Vec<TxFate>>,
    /// REST transactions in `admit_batch`'s stateless checks now (at most `MAX_VERIFYING`).
    verifying: AtomicUsize,
    events: broadcast::Sender<BlockEvent>,
    metrics: Arc<Metrics>,
    /// Set once the network is up: transactions submitted over REST are gossiped through it.
    pub(crate) net: OnceLock<NetworkHandle>,
    validator: Option<AccountId>,
    progress: Mutex<Progress>,
}

impl NodeApi for Node {
    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn submit_tx(&self, tx: SignedTx) -> Result<Hash, SubmitError> {
        self.submit_txs(vec![tx])
            .pop()
            .expect("one result per transaction")
    }

    /// `admit_batch`, then the admitted transactions are gossiped.
    fn submit_txs(&self, txs: Vec<SignedTx>) -> Vec<Result<Hash, SubmitError>> {
        let Some(net) = self.net.get() else {
            return self.admit_batch(txs);
        };
        let bytes: Vec<Vec<u8>> = txs.iter().map(|t| t.to_bytes()).collect();
        let results = self.admit_batch(txs);
        for (bytes, result) in bytes.into_iter().zip(&results) {
            if result.is_ok() {
                net.publish_tx(bytes);
            }
        }
        results
    }

    fn local_tx_status(&self, hash: &Hash) -> Option<TxStatus> {
        if self.mempool.lock().expect("mempool lock").contains(hash) {
            return Some(TxStatus::Pending);
        }
        self.failures
            .lock()
            .expect("failures lock")
            .0
            .get(hash)
            .cloned()
    }

    fn next_nonce(&self, account: &AccountId) -> u64 {
        // Both under the pool's lock: a commit stages its block and prunes the pool under it,
        // so the account and the queue are read both before a block or both after it.
        let pool = self.mempool.lock().expect("mempool lock");
        let committed = self
            .ledger
            .account(account)
            .ok()
            .flatten()
            .map_or(0, |a| a.nonce);
        committed + pool.pending_for(account) as u64
    }

    fn mempool_len(&self) -> usize {
        self.mempool.lock().expect("mempool lock").len()
    }

    fn subscribe(&self) -> broadcast::Receiver<BlockEvent> {
        self.events.subscribe()
    }

    fn network(&self) -> NetworkInfo {
        let progress = self.progress.lock().expect("progress lock");
        let mut info = NetworkInfo {
            role: if self.validator.is_some() {
                "validator"
            } else {
                "full"
            }
            .into(),
            validator: self.validator,
            best_peer_height: progress.best_peer_height,
            consensus_height: progress.height,
            consensus_round: progress.round,
            failure: progress.failure.clone(),
            ..NetworkInfo::default()
        };
        if let Some(net) = self.net.get() {
            let stats = net.tx_gossip_stats();
            info.tx_gossip_dropped = GossipDrops {
                unbatched: stats.dropped_unbatched,
                outbound: stats.dropped_outbound_batches,
                inbound: stats.dropped_inbound_batches,
            };
            info.peer_id = net.local_peer_id().to_string();
            info.listen_addrs = net.listen_addrs().iter().map(|a| a.to_string()).collect();
            info.peers = net
                .peers()
                .into_iter()
                .map(|p| PeerView {
                    peer_id: p.peer_id.to_string(),
                    addr: p.addr.map(|a| a.to_string()),
                    agent: p.agent,
                    direction: if p.outbound { "outbound" } else { "inbound" }.into(),
                })
                .collect();
        }
        info
    }
}

impl Node {
    pub fn new(ledger: Arc<Ledger>, metrics: Arc<Metrics>, validator: Option<AccountId>) -> Node {
        let (events, _) = broadcast::channel(1024);
        Node {
            ledger,
            mempool: Mutex::new(Mempool::new(MAX_MEMPOOL, MAX_PENDING_PER_SIGNER)),
            failures: Mutex::new((HashMap::new(), VecDeque::new())),
            fates: Mutex::new(Vec::new()),
            verifying: AtomicUsize::new(0),
            events,
            metrics,
            net: OnceLock::new(),
            validator,
            progress: Mutex::new(Progress::default()),
        }
    }

    /// Queues a transaction the node made (equivocation evidence) without gossiping it, as
    /// `admit_unmetered`.
    pub fn admit(&self, tx: SignedTx) -> Result<Hash, SubmitError> {
        self.admit_unmetered(vec![tx])
            .pop()
            .expect("one result per transaction")
    }

    /// Queues a batch without gossiping it, one result per transaction in order: the stateless
    /// checks (signatures with `verify_strict`) of the whole batch on every core, outside any
    /// lock; then each admitted in order, O(1) per transaction, the pool's lock taken per chunk
    /// of `ADMIT_CHUNK`.
    /// `Overloaded` for every one when `MAX_VERIFYING` REST transactions are already being
    /// checked. Blocks the calling thread: call it from a blocking context, never an async
    /// worker. REST submissions come here; gossip intake and the node's own evidence use
    /// `admit_unmetered` (evidence through `admit`).
    pub fn admit_batch(&self, txs: Vec<SignedTx>) -> Vec<Result<Hash, SubmitError>> {
        let n = txs.len();
        let Some(_slots) = VerifySlots::take(&self.verifying, n) else {
            return vec![Err(SubmitError::Overloaded); n];
        };
        self.admit_unmetered(txs)
    }

    /// Holds `n` of the REST verify slots until the claim is dropped (tests of a REST flood).
    #[cfg(test)]
    pub(crate) fn hold_verify_slots(&self, n: usize) -> VerifySlots<'_> {
        VerifySlots::take(&self.verifying, n).expect("free slots")
    }

    /// `admit_batch` without the REST verify slots, for what a single task feeds one batch at a
    /// time (which bounds it): gossip intake and the machine's evidence. So a REST flood that
    /// holds every slot cannot keep other nodes' transactions out of this one's pool, which
    /// would leave them unverified here until a block brings them.
    pub fn admit_unmetered(&self, txs: Vec<SignedTx>) -> Vec<Result<Hash, SubmitError>> {
        let n = txs.len();
        let verified = self.ledger.verify_txs(txs);
        let mut evicted = Vec::new();
        let mut results = Vec::with_capacity(n);
        let mut verified = verified.into_iter().peekable();
        // The pool's lock is taken per chunk, so block building and pruning (consensus) wait
        // for at most a chunk's admissions, never a whole batch's.
        while verified.peek().is_some() {
            let mut pool = self.mempool.lock().expect("mempool lock");
            for checked in verified.by_ref().take(ADMIT_CHUNK) {
                results.push(
                    checked
                        .map_err(|(_, e)| SubmitError::Rejected(e))
                        .and_then(|vtx| {
                            let admitted = pool.admit(vtx, &self.ledger)?;
                            evicted.extend(admitted.evicted);
                            Ok(admitted.hash)
                        }),
                );
            }
        }
        for hash in evicted {
            self.remember(
                hash,
                TxStatus::Evicted {
                    code: "evicted".into(),
                    message: "a transaction of higher priority took its place in the full mempool"
                        .into(),
                },
            );
        }
        results
    }

    /// Transactions admission has executed against state so far (tests count them).
    pub fn admission_executions(&self) -> u64 {
        self.mempool.lock().expect("mempool lock").executions()
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn set_round(&self, height: u64, round: u32) {
        let mut p = self.progress.lock().expect("progress lock");
        (p.height, p.round) = (height, round);
    }

    /// Set by the shell when a core task ends.
    #[cfg(feature = "rocksdb")]
    pub(crate) fn set_failure(&self, reason: String) {
        self.progress.lock().expect("progress lock").failure = Some(reason);
    }

    pub(crate) fn set_best_peer_height(&self, height: u64) {
        self.progress
            .lock()
            .expect("progress lock")
            .best_peer_height = height;
    }

    fn remember_failure(&self, hash: Hash, code: &str, message: String) {
        let status = TxStatus::Failed {
            code: code.to_string(),
            message,
        };
        self.remember(hash, status);
    }

    /// Reports transactions the pool dropped because an earlier one of their signer's left.
    fn drop_orphans(&self, orphaned: Vec<Hash>) {
        for hash in orphaned {
            self.remember_failure(
                hash,
                "dropped",
                "an earlier transaction of its signer failed, leaving a nonce gap".into(),
            );
        }
    }

    /// Remembers what became of a transaction that left the pool unincluded, for its status
    /// route and the next block's event; both bounded.
    fn remember(&self, hash: Hash, status: TxStatus) {
        {
            let mut fates = self.fates.lock().expect("fates lock");
            if fates.len() < MAX_REMEMBERED_FAILURES {
                fates.push(TxFate {
                    hash,
                    status: status.clone(),
                });
            }
        }
        let mut guard = self.failures.lock().expect("failures lock");
        let (map, order) = &mut *guard;
        if map.insert(hash, status).is_none() {
            order.push_back(hash);
        }
        while order.len() > MAX_REMEMBERED_FAILURES {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// Builds the next block from the mempool, proposed by `proposer`, within `limits`.
    pub fn build_block(
        &self,
        proposer: AccountId,
        time_ms: u64,
        limits: BlockLimits,
    ) -> Result<BuiltBlock, LedgerError> {
        let head = self.ledger.head();
        let candidates = self
            .mempool
            .lock()
            .expect("mempool lock")
            .candidates(MAX_BLOCK_TXS);
        let last_commit = self.ledger.commit(head.height)?;
        self.ledger
            .build_block_within(candidates, proposer, time_ms, last_commit, limits)
    }

    /// Stores a finalized block with its commit certificate (`synced`: fsynced before returning),
    /// then updates the mempool, the transaction statuses, the metrics and the event stream.
    pub fn commit_block(
        &self,
        executed: ExecutedBlock,
        commit: &Commit,
        rejected: &[(Hash, TxError)],
        synced: bool,
    ) -> Result<(), LedgerError> {
        // What is needed after the commit, without copying or re-hashing the block's
        // transactions (sealing hashed them once).
        let header = executed.block.header.clone();
        let signers: Vec<AccountId> = executed.block.txs.iter().map(|t| t.tx.signer).collect();
        let parent_time = self.ledger.head().time_ms;
        // (Copied, not taken: the ledger's commit may use them too.)
        let mut done = executed.tx_hashes.clone();
        let tx_count = done.len();
        done.extend(rejected.iter().map(|(hash, _)| *hash));
        // Admission (REST, gossip intake) runs concurrently against head state plus each
        // signer's queued deltas, so it must see the state before this block with the pool
        // before it, or both after: between the two, an included transaction would count
        // twice. So the block's state is staged (head-state views show it) and the pool pruned
        // against it under the pool's lock; the write, most of the commit, runs without it.
        // The fates of what leaves the pool unincluded are filed before the pool's lock is let
        // go: the status route reads the pool, then the ledger, then the fates, and must find
        // every transaction in one of them.
        let mut pool = self.mempool.lock().expect("mempool lock");
        let staged = self.ledger.stage_commit(executed, commit, synced)?;
        for (hash, err) in rejected {
            self.remember_failure(*hash, err.code(), err.to_string());
        }
        let orphaned = pool.prune(&done, signers.iter().copied(), &self.ledger);
        self.drop_orphans(orphaned);
        drop(pool);
        if let Err(e) = staged.finish() {
            // The pool was pruned against a block the store does not have: prune it again
            // against the state it has. (The block's transactions are out of the pool; a node
            // that cannot store a decided block halts, or fetches it again when syncing.)
            let mut pool = self.mempool.lock().expect("mempool lock");
            let orphaned = pool.prune(&[], signers, &self.ledger);
            self.drop_orphans(orphaned);
            drop(pool);
            return Err(e);
        }
        self.metrics
            .observe_block_interval(header.time_ms.saturating_sub(parent_time) as f64 / 1000.0);
        // A bulk sync logs one line per run (the engine does), not one per block.
        if synced {
            tracing::info!(
                height = header.height,
                hash = %header.hash(),
                txs = tx_count,
                round = commit.round,
                "block committed"
            );
        }
        self.metrics
            .consensus_extra_rounds
            .inc_by(commit.round as u64);
        let fates = std::mem::take(&mut *self.fates.lock().expect("fates lock"));
        let subscribed = self.events.receiver_count() > 0;
        if let Some(mut event) = subscribed
            .then(|| BlockEvent::of_block(&self.ledger, header.height))
            .transpose()?
            .flatten()
        {
            event.tx_fates = fates;
            let _ = self.events.send(event);
        }
        Ok(())
    }
}

/// A claim on `n` of the `MAX_VERIFYING` places of the verification queue, released on drop.
pub(crate) struct VerifySlots<'a> {
    count: &'a AtomicUsize,
    n: usize,
}

impl<'a> VerifySlots<'a> {
    fn take(count: &'a AtomicUsize, n: usize) -> Option<VerifySlots<'a>> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now + n <= MAX_VERIFYING).then_some(now + n)
            })
            .ok()?;
        Some(VerifySlots { count, n })
    }
}

impl Drop for VerifySlots<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(self.n, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod commit_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec};
    use tensorchain_ledger::MemoryStore;
    use tensorchain_primitives::{Call, Keypair, SigningDomain, Tx, MAX_BLOCK_BYTES};

    fn node() -> Node {
        let spec = ChainSpec::devnet(1, 1_000);
        let ledger = Ledger::open(Arc::new(MemoryStore::new()), &spec.genesis_state()).unwrap();
        Node::new(Arc::new(ledger), Arc::new(Metrics::new()), None)
    }

    fn sign(node: &Node, key: &Keypair, nonce: u64, call: Call) -> SignedTx {
        let ledger = node.ledger();
        Tx {
            chain_id: ledger.params().chain_id.clone(),
            signer: key.account(),
            nonce,
            fee: ledger.params().fees.for_call(&call),
            call,
        }
        .sign(key, ledger.signing_domain())
    }

    fn transfer(node: &Node, from: &str, nonce: u64) -> SignedTx {
        let to = dev_coldkey("ferdie").account();
        sign(
            node,
            &dev_coldkey(from),
            nonce,
            Call::Transfer { to, amount: 1 },
        )
    }

    /// One block from the pool, finalized by the devnet's only validator.
    fn produce(node: &Node) {
        let v = dev_hotkey("alice");
        let head = node.ledger().head();
        let built = node
            .build_block(v.account(), head.time_ms + 1_000, BlockLimits::default())
            .unwrap();
        let block = &built.executed.block;
        let commit = Commit::signed_by(block, node.ledger().signing_domain(), &[&v]);
        node.commit_block(built.executed, &commit, &built.rejected, true)
            .unwrap();
    }

    #[test]
    fn a_full_verification_queue_refuses_the_whole_batch_as_overloaded() {
        let node = node();
        let batch = vec![transfer(&node, "alice", 0), transfer(&node, "bob", 0)];
        {
            let _busy = VerifySlots::take(&node.verifying, MAX_VERIFYING - 1).unwrap();
            let results = node.admit_batch(batch.clone());
            assert!(
                results
                    .iter()
                    .all(|r| matches!(r, Err(SubmitError::Overloaded))),
                "{results:?}"
            );
            assert_eq!(node.mempool_len(), 0, "nothing was queued");
            assert_eq!(node.ledger().verified().verifications(), 0, "nor verified");
        }
        // The places are given back: the same batch now gets in.
        assert!(node.admit_batch(batch).iter().all(|r| r.is_ok()));
        assert_eq!(node.verifying.load(Ordering::Acquire), 0);
    }

    /// Every REST verify slot taken: the node's own equivocation report (through `admit`) still
    /// gets in. (Gossip intake's batches: `intake.rs`.)
    #[test]
    fn gossip_and_evidence_get_in_while_rest_holds_every_verify_slot() {
        let node = node();
        let _busy = VerifySlots::take(&node.verifying, MAX_VERIFYING).unwrap();
        let rest = node.admit_batch(vec![transfer(&node, "alice", 0)]);
        assert!(
            matches!(rest[..], [Err(SubmitError::Overloaded)]),
            "{rest:?}"
        );
        node.admit(transfer(&node, "bob", 0))
            .expect("the machine's own path needs no REST slot");
        assert_eq!(node.mempool_len(), 1);
    }

    /// Priority is fee per byte, and devnet fees are all the same: a subnet registration with a
    /// long identity pays the least per byte. A full pool evicts it for a transfer; the node
    /// reports it `evicted` on its status and in the `tx` fates of the next block's event.
    #[test]
    fn an_evicted_tx_is_reported_on_its_status_and_the_next_blocks_event() {
        let node = node();
        *node.mempool.lock().unwrap() = Mempool::new(2, 8);
        let register = Call::RegisterSubnet {
            hotkey: dev_hotkey("alice").account(),
            max_cost: u64::MAX,
            identity: "x".repeat(64),
        };
        let big = sign(&node, &dev_coldkey("alice"), 0, register);
        node.admit(big.clone()).unwrap();
        node.admit(transfer(&node, "bob", 0)).unwrap();
        let mut events = node.subscribe();
        let paying = node.admit(transfer(&node, "charlie", 0)).unwrap();
        let evicted = TxStatus::Evicted {
            code: "evicted".into(),
            message: "a transaction of higher priority took its place in the full mempool".into(),
        };
        assert_eq!(node.local_tx_status(&big.hash()), Some(evicted.clone()));
        assert_eq!(node.local_tx_status(&paying), Some(TxStatus::Pending));
        produce(&node);
        let event = events.try_recv().unwrap();
        assert_eq!(
            event.tx_fates,
            vec![TxFate {
                hash: big.hash(),
                status: evicted
            }]
        );
        assert_eq!(event.tx_hashes.len(), 2);
    }

    /// Fees are fixed per call, so a 33-byte call would pay more per byte than a transfer and
    /// evict it from a full pool; lengths are floored at `PRIORITY_MIN_LEN`, so they tie.
    #[test]
    fn a_short_call_does_not_evict_transfers_from_a_full_pool() {
        let node = node();
        *node.mempool.lock().unwrap() = Mempool::new(2, 8);
        node.admit(transfer(&node, "alice", 0)).unwrap();
        node.admit(transfer(&node, "bob", 0)).unwrap();
        let unstake = Call::RemoveAllStake {
            hotkey: dev_hotkey("alice").account(),
        };
        let short = sign(&node, &dev_coldkey("charlie"), 0, unstake);
        let got = node.admit(short);
        assert!(matches!(got, Err(SubmitError::MempoolFull(2))), "{got:?}");
    }

    /// A transaction that would not apply when the block is built is reported `failed` with its
    /// code: two subnet registrations each at the current lock cost are admitted (each against
    /// the head state), but the first doubles the cost for the second.
    #[test]
    fn a_tx_rejected_when_building_is_reported_failed_with_its_code() {
        let node = node();
        let cost = node.ledger().subnet_lock_cost().unwrap();
        let register = |who: &str| {
            let call = Call::RegisterSubnet {
                hotkey: dev_hotkey(who).account(),
                max_cost: cost,
                identity: String::new(),
            };
            sign(&node, &dev_coldkey(who), 0, call)
        };
        let (first, second) = (register("alice"), register("bob"));
        node.admit(first.clone()).unwrap();
        node.admit(second.clone()).unwrap();
        let mut events = node.subscribe();
        produce(&node);
        let Some(TxStatus::Failed { code, .. }) = node.local_tx_status(&second.hash()) else {
            panic!("{:?}", node.local_tx_status(&second.hash()));
        };
        assert_eq!(code, "registration_cost_exceeds_max");
        let event = events.try_recv().unwrap();
        assert_eq!(event.tx_hashes, vec![first.hash()]);
        assert_eq!(event.tx_fates.len(), 1);
        assert_eq!(event.tx_fates[0].hash, second.hash());
    }

    /// Blocks fill up by bytes, the consensus rule, before the count cap: the cap only bounds
    /// what block building copies out of the mempool.
    #[test]
    fn the_byte_limit_binds_before_the_count() {
        // Every transaction encodes its signer, nonce, fee and signature, the chain id's length
        // and its call's tag, whatever the call.
        let smallest = 32 + 8 + 8 + 64 + 4 + 1;
        assert!(MAX_BLOCK_TXS * smallest > MAX_BLOCK_BYTES);
        let key = Keypair::dev("alice");
        let transfer = Tx {
            chain_id: "devnet".into(),
            signer: key.account(),
            nonce: 0,
            fee: 1,
            call: Call::Transfer {
                to: key.account(),
                amount: 1,
            },
        }
        .sign(&key, &SigningDomain::new("devnet", Hash::ZERO));
        let per_block = MAX_BLOCK_BYTES / transfer.to_bytes().len();
        assert!(
            per_block > 20_000 && per_block < MAX_BLOCK_TXS,
            "{per_block}"
        );
    }
}
