//! What the REST API needs from a node, beyond reading the ledger: the mempool, transaction
//! status and the stream of chain events. The node implements it; tests can too.

use serde::Serialize;
use tensorchain_ledger::{Ledger, TxError};
use tensorchain_primitives::{AccountId, Hash, SignedTx};
use thiserror::Error;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Error)]
pub enum SubmitError {
    #[error(transparent)]
    Rejected(#[from] TxError),
    #[error("transaction {0} is already in the mempool or on chain")]
    AlreadyKnown(Hash),
    #[error("the mempool is full ({0} transactions); try again after the next block")]
    MempoolFull(usize),
    #[error("signer already has {0} pending transactions, the most one signer may queue")]
    TooManyPending(usize),
    #[error("the node is verifying as many transactions as it queues; try again shortly")]
    Overloaded,
}

/// Where a transaction is, as far as this node knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    Pending,
    Included {
        height: u64,
        index: u32,
    },
    Failed {
        code: String,
        message: String,
    },
    /// Pushed out of a full mempool by a transaction of higher priority.
    Evicted {
        code: String,
        message: String,
    },
}

/// What became of a transaction that left the mempool without being included (rejected when a
/// block was built, dropped behind a nonce gap, evicted): pushed on the `tx` topic with the next
/// block's event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxFate {
    pub hash: Hash,
    #[serde(flatten)]
    pub status: TxStatus,
}

/// A committed block, as pushed to event subscribers.
#[derive(Debug, Clone, Serialize)]
pub struct BlockEvent {
    pub height: u64,
    pub hash: Hash,
    pub time_ms: u64,
    pub tx_hashes: Vec<Hash>,
    /// The consensus round its commit certificate was signed in (0 unless a proposal timed out
    /// or was refused): load tools count the rounds a run needed beyond the first.
    pub round: u32,
    /// What the block's transactions did (registrations, weights, transfers, …).
    #[serde(skip)]
    pub events: Vec<tensorchain_ledger::Event>,
    /// Subnet epochs that ran at the end of the block.
    #[serde(skip)]
    pub epochs: Vec<(u16, tensorchain_ledger::runtime::subnets::EpochSummary)>,
    /// Transactions that left this node's mempool unincluded since the previous block (live
    /// events only: a replay from storage has none).
    #[serde(skip)]
    pub tx_fates: Vec<TxFate>,
}

impl BlockEvent {
    /// The event of a stored block, as it was pushed when the block was committed.
    pub fn of_block(
        ledger: &tensorchain_ledger::Ledger,
        height: u64,
    ) -> Result<Option<BlockEvent>, tensorchain_ledger::StoreError> {
        let Some(tensorchain_ledger::CommittedBlock { block, events }) = ledger.block(height)?
        else {
            return Ok(None);
        };
        let round = ledger.commit(height)?.map_or(0, |c| c.round);
        let mut epochs = Vec::new();
        for s in ledger.subnets()? {
            if let Some(e) = ledger.epoch_at(s.netuid, height)? {
                epochs.push((s.netuid, e));
            }
        }
        Ok(Some(BlockEvent {
            height,
            hash: block.hash(),
            time_ms: block.header.time_ms,
            tx_hashes: block.txs.iter().map(|t| t.hash()).collect(),
            round,
            events: events
                .into_iter()
                .flatten()
                .chain(ledger.end_events(height)?)
                .collect(),
            epochs,
            tx_fates: Vec::new(),
        }))
    }
}

/// A connected peer, as the network task sees it.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct PeerView {
    pub peer_id: String,
    /// The address we dialed, or the first one it announced.
    pub addr: Option<String>,
    pub agent: Option<String>,
    /// `outbound` (we dialed) or `inbound`.
    pub direction: String,
}

/// The node's place in the network: identity, peers and consensus progress.
#[derive(Debug, Clone, Default)]
pub struct NetworkInfo {
    pub peer_id: String,
    pub listen_addrs: Vec<String>,
    /// `validator` or `full`.
    pub role: String,
    pub validator: Option<AccountId>,
    pub peers: Vec<PeerView>,
    /// Highest height a peer reported.
    pub best_peer_height: u64,
    pub consensus_height: u64,
    pub consensus_round: u32,
    /// Set when a core task (consensus engine, network, REST server) ended: the node no longer
    /// follows the chain, whatever its head says.
    pub failure: Option<String>,
    /// Transaction gossip dropped because a queue was full, since start.
    pub tx_gossip_dropped: GossipDrops,
}

/// Transaction gossip dropped at each queue (`tensorchain_tx_gossip_dropped_total{stage}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GossipDrops {
    /// Transactions this node did not get into a batch (the batching queue was full).
    pub unbatched: u64,
    /// Batches not handed to the network task (its queue was full).
    pub outbound: u64,
    /// Received batches dropped before intake (the intake queue was full).
    pub inbound: u64,
}

pub trait NodeApi: Send + Sync + 'static {
    fn ledger(&self) -> &Ledger;
    /// Validates a transaction against the head state plus the signer's pending ones and queues it.
    fn submit_tx(&self, tx: SignedTx) -> Result<Hash, SubmitError>;
    /// Validates and queues a batch: one result per transaction, in order. The node checks the
    /// batch's signatures in parallel, then admits each in order; `Overloaded` for every one
    /// when its verification queue is full.
    fn submit_txs(&self, txs: Vec<SignedTx>) -> Vec<Result<Hash, SubmitError>> {
        txs.into_iter().map(|tx| self.submit_tx(tx)).collect()
    }
    /// Pending or failed status this node remembers; included transactions come from the ledger.
    fn local_tx_status(&self, hash: &Hash) -> Option<TxStatus>;
    /// The nonce the signer's next transaction should carry, counting its queued ones.
    fn next_nonce(&self, account: &AccountId) -> u64;
    fn mempool_len(&self) -> usize;
    fn subscribe(&self) -> broadcast::Receiver<BlockEvent>;
    /// Peers and sync progress; a node without a network reports none.
    fn network(&self) -> NetworkInfo {
        NetworkInfo::default()
    }
}
