//! The ledger: the chain of committed blocks and the state they produced, behind a `Store`.
//! One writer (the node) builds or executes a block and commits it in one atomic batch; any
//! number of readers (the REST API) read committed data concurrently.

pub mod account_txs;
mod genesis;
mod queries;
mod reader;
mod staged;
pub mod versioned;
mod writer;

pub use genesis::GenesisState;
pub use queries::{CandidateEntry, RootMember, RootNetwork};
pub use reader::{supply_accounted, CommittedBlock, Jail};
pub use staged::StagedCommit;

use crate::runtime::params::ChainParams;
use crate::runtime::validators;
use crate::runtime::{apply_checked, apply_tx, BlockContext, Event, TxError};
use crate::state::tree;
use crate::state::view::{Changes, StateView};
use crate::state::{self, Account, Globals, ValidatorSet};
use crate::storage::decode;
use crate::storage::schema::{self, height_key, META_GENESIS, META_HEAD};
use crate::storage::{Column, Store, StoreError, WriteBatch};
use crate::verify::{SigCache, VerifiedTx, VERIFIED_CACHE_CAPACITY};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use std::sync::{Arc, RwLock};
use tensorchain_primitives::{
    last_commit_hash, merkle_root, validator_set_hash, AccountId, Block, Commit, CommitError, Hash,
    Header, SignedTx, SigningDomain, Validator, MAX_BLOCK_BYTES, MAX_SUPPLY,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the data dir holds chain {found}, not genesis {expected}; use another data dir or reset it")]
    GenesisMismatch { expected: Hash, found: Hash },
    #[error("genesis allocations total {0} rao, more than the 21M TAO supply")]
    GenesisOverSupply(u128),
    #[error("invalid block: {0}")]
    InvalidBlock(String),
    #[error("block {height}: state root {computed} differs from the header's {claimed}; refusing to fork")]
    StateRootMismatch {
        height: u64,
        computed: Hash,
        claimed: Hash,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Head {
    pub height: u64,
    pub hash: Hash,
    pub time_ms: u64,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
struct StoredBody {
    txs: Vec<SignedTx>,
    last_commit: Option<Commit>,
    events: Vec<Vec<Event>>,
    /// What the end of the block did on its own (unbonding releases).
    end_events: Vec<Event>,
}

/// A block whose state changes are computed and ready to commit.
pub struct ExecutedBlock {
    pub block: Block,
    /// The hashes of `block.txs`, computed once when sealing.
    pub tx_hashes: Vec<Hash>,
    pub events: Vec<Vec<Event>>,
    pub end_events: Vec<Event>,
    batch: WriteBatch,
    /// The state changes `batch` writes, shown to readers while it is written (`staged`).
    state: Arc<Changes>,
}

/// How much a proposer puts in one block: at most `max_bytes` (a consensus rule), and nothing
/// after `deadline`. The deadline is the proposer's own policy, not a rule: validators check
/// the bytes, never the time. It bounds how long building, and so validating, a block takes
/// whatever the mempool holds, so a flooded mempool cannot make proposals too slow to arrive
/// before the validators' propose timeout.
#[derive(Debug, Clone, Copy)]
pub struct BlockLimits {
    pub max_bytes: usize,
    pub deadline: Option<std::time::Instant>,
}

impl Default for BlockLimits {
    fn default() -> BlockLimits {
        BlockLimits {
            max_bytes: MAX_BLOCK_BYTES,
            deadline: None,
        }
    }
}

impl BlockLimits {
    /// No more than `max_bytes`, and nothing added after `budget` from now.
    pub fn within(budget: std::time::Duration) -> BlockLimits {
        BlockLimits {
            deadline: Some(std::time::Instant::now() + budget),
            ..BlockLimits::default()
        }
    }

    /// Whether the deadline has come, or comes within `reserve` (what sealing the block will
    /// still take).
    fn past_deadline(&self, reserve: std::time::Duration) -> bool {
        self.deadline
            .is_some_and(|d| std::time::Instant::now() + reserve >= d)
    }
}

/// The result of building a block from candidate transactions.
pub struct BuiltBlock {
    pub executed: ExecutedBlock,
    /// Candidates left out, with the reason.
    pub rejected: Vec<(Hash, TxError)>,
}

pub struct Ledger {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) params: ChainParams,
    /// The chain id and genesis hash every signature on this chain is made for.
    pub(crate) domain: SigningDomain,
    pub(crate) head: RwLock<Head>,
    /// How many heights of state to keep readable (`versioned`); None keeps all.
    pub(crate) state_history: Option<u64>,
    /// Transactions whose signature verified on this node (`verify.rs`).
    pub(crate) verified: SigCache,
    /// What sealing a built block (the end-of-block hooks, the state tree, history and indexes)
    /// cost per transaction lately, in ns: a deadline reserves it for the transactions it takes.
    pub(crate) seal_ns_per_tx: std::sync::atomic::AtomicU64,
    /// The block being written, if any (`staged`); shared with the ledgers pinned from this
    /// one, whose `tx_location` must find a transaction the mempool no longer holds.
    pub(crate) staged: Arc<RwLock<Option<Arc<staged::Staged>>>>,
    /// Whether views and `next_height` read the staged block: not for a pinned ledger, whose
    /// state is its own height's.
    pub(crate) reads_staged: bool,
}

/// A read through the state-transition code can only fail in storage.
fn tx_storage(e: TxError) -> StoreError {
    StoreError(e.to_string())
}

impl Ledger {
    /// Opens the chain in `store`, writing genesis first if the store is empty.
    pub fn open(store: Arc<dyn Store>, genesis: &GenesisState) -> Result<Ledger, LedgerError> {
        match store.get(Column::Meta, META_GENESIS)? {
            Some(found) => {
                let found: Hash = decode(&found, "genesis hash")?;
                if found != genesis.genesis_hash {
                    return Err(LedgerError::GenesisMismatch {
                        expected: genesis.genesis_hash,
                        found,
                    });
                }
            }
            None => genesis::write_genesis(store.as_ref(), genesis)?,
        }
        let head: Head = decode(
            &store
                .get(Column::Meta, META_HEAD)?
                .ok_or_else(|| StoreError("missing head record".into()))?,
            "head",
        )?;
        let params: ChainParams = StateView::new(store.clone())
            .get(&schema::params_key())?
            .ok_or_else(|| StoreError("missing chain params".into()))?;
        let domain = SigningDomain::new(params.chain_id.clone(), genesis.genesis_hash);
        Ok(Ledger {
            store,
            params,
            domain,
            head: RwLock::new(head),
            state_history: None,
            verified: SigCache::new(VERIFIED_CACHE_CAPACITY),
            seal_ns_per_tx: Default::default(),
            staged: Default::default(),
            reads_staged: true,
        })
    }

    /// What a transaction of the block at `height` proposed by `proposer` executes against.
    pub fn block_context<'a>(&'a self, proposer: &'a AccountId, height: u64) -> BlockContext<'a> {
        BlockContext {
            params: &self.params,
            domain: &self.domain,
            proposer,
            height,
        }
    }

    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    pub fn genesis_hash(&self) -> Hash {
        self.domain.genesis
    }

    /// What transactions, votes and proposals on this chain are signed for: a signature made
    /// for another network (even one reusing the chain id) does not verify here.
    pub fn signing_domain(&self) -> &SigningDomain {
        &self.domain
    }

    /// The signatures verified on this node: what admission, block building, validation and
    /// sync share so each transaction's signature is checked once.
    pub fn verified(&self) -> &SigCache {
        &self.verified
    }

    /// The stateless checks of `txs` (signatures on every core, skipped for those this node
    /// already verified): each as a `VerifiedTx`, or its hash and error.
    pub fn verify_txs(&self, txs: Vec<SignedTx>) -> Vec<Result<VerifiedTx, (Hash, TxError)>> {
        self.verified.verify_all(txs, &self.params, &self.domain)
    }

    pub fn head(&self) -> Head {
        self.head.read().expect("head lock").clone()
    }

    /// A fresh view of the head state (with the block being written, while a commit is staged).
    pub fn view(&self) -> StateView {
        self.view_with(Changes::new())
    }

    /// A view of the head state with `changes` written on top (`StateView::with_changes`).
    pub fn view_with(&self, changes: Changes) -> StateView {
        StateView::with_changes(self.store.clone(), changes).over_staged(self.staged_block())
    }
}

impl Ledger {
    /// Runs a transaction against the head state without keeping anything: its events or error.
    pub fn simulate(&self, stx: &SignedTx) -> Result<Vec<Event>, TxError> {
        let proposer = self
            .validators()?
            .first()
            .map(|v| v.hotkey)
            .unwrap_or_default();
        apply_tx(
            &mut self.view(),
            stx,
            self.block_context(&proposer, self.next_height()),
        )
    }
}
