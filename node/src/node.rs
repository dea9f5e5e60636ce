//! The node's shared state: the ledger, the mempool, what happened to refused transactions, the
//! block event stream and the engine's progress. The REST API reads it (`NodeApi`); the node
//! machine is its one writer of blocks. No I/O of its own beyond the ledger's store and, once the
//! network is up, gossiping transactions submitted over REST.

use crate::mempool::Mempool;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use tensorchain_ledger::{BuiltBlock, ExecutedBlock, Ledger, TxError};
use tensorchain_network::NetworkHandle;
use tensorchain_primitives::{AccountId, Commit, Hash, SignedTx};
use tensorchain_rpc::{BlockEvent, Metrics, NetworkInfo, NodeApi, PeerView, SubmitError, TxStatus};
use tokio::sync::broadcast;

pub(crate) const MAX_MEMPOOL: usize = 20_000;
const MAX_PENDING_PER_SIGNER: usize = 256;
const MAX_BLOCK_TXS: usize = 5_000;
/// Failed-transaction statuses remembered for `GET /v1/txs/{hash}`.
const MAX_REMEMBERED_FAILURES: usize = 10_000;

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
        let bytes = self.net.get().map(|_| borsh::to_vec(&tx).expect("borsh"));
        let hash = self.admit(tx)?;
        if let (Some(net), Some(bytes)) = (self.net.get(), bytes) {
            net.publish_tx(bytes);
        }
        Ok(hash)
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
        let committed = self
            .ledger
            .account(account)
            .ok()
            .flatten()
            .map_or(0, |a| a.nonce);
        committed
            + self
                .mempool
                .lock()
                .expect("mempool lock")
                .pending_for(account) as u64
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
            events,
            metrics,
            net: OnceLock::new(),
            validator,
            progress: Mutex::new(Progress::default()),
        }
    }

    /// Queues a transaction without gossiping it (it came from the network, which forwards it).
    pub fn admit(&self, tx: SignedTx) -> Result<Hash, SubmitError> {
        let mut pool = self.mempool.lock().expect("mempool lock");
        pool.admit(tx, &self.ledger)
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
        let mut guard = self.failures.lock().expect("failures lock");
        let (map, order) = &mut *guard;
        if map
            .insert(
                hash,
                TxStatus::Failed {
                    code: code.to_string(),
                    message,
                },
            )
            .is_none()
        {
            order.push_back(hash);
        }
        while order.len() > MAX_REMEMBERED_FAILURES {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// Builds the next block from the mempool, proposed by `proposer`.
    pub fn build_block(&self, proposer: AccountId, time_ms: u64) -> anyhow::Result<BuiltBlock> {
        let head = self.ledger.head();
        let candidates = self
            .mempool
            .lock()
            .expect("mempool lock")
            .candidates(MAX_BLOCK_TXS);
        let last_commit = self.ledger.commit(head.height)?;
        Ok(self
            .ledger
            .build_block(candidates, proposer, time_ms, last_commit)?)
    }

    /// Stores a finalized block with its commit certificate (`synced`: fsynced before returning),
    /// then updates the mempool, the transaction statuses, the metrics and the event stream.
    pub fn commit_block(
        &self,
        executed: ExecutedBlock,
        commit: &Commit,
        rejected: &[(Hash, TxError)],
        synced: bool,
    ) -> anyhow::Result<()> {
        let block = executed.block.clone();
        let parent_time = self.ledger.head().time_ms;
        self.ledger.commit_block_durably(executed, commit, synced)?;

        let mut done: Vec<Hash> = block.txs.iter().map(|t| t.hash()).collect();
        for (hash, err) in rejected {
            self.remember_failure(*hash, err.code(), err.to_string());
            done.push(*hash);
        }
        let orphaned = self
            .mempool
            .lock()
            .expect("mempool lock")
            .prune(&done, &self.ledger);
        for hash in orphaned {
            self.remember_failure(
                hash,
                "dropped",
                "an earlier transaction of its signer failed, leaving a nonce gap".into(),
            );
        }
        self.metrics.observe_block_interval(
            block.header.time_ms.saturating_sub(parent_time) as f64 / 1000.0,
        );
        // A bulk sync logs one line per run (the engine does), not one per block.
        if synced {
            tracing::info!(
                height = block.header.height,
                hash = %block.hash(),
                txs = block.txs.len(),
                round = commit.round,
                "block committed"
            );
        }
        self.metrics
            .consensus_extra_rounds
            .inc_by(commit.round as u64);
        let subscribed = self.events.receiver_count() > 0;
        if let Some(event) = subscribed
            .then(|| BlockEvent::of_block(&self.ledger, block.header.height))
            .transpose()?
            .flatten()
        {
            let _ = self.events.send(event);
        }
        Ok(())
    }
}
