//! State at past heights: pinning a height for reads (`Ledger::at`), proving a value against a
//! height's root, and the history window that bounds how far back both reach.

use crate::chain::{Head, Ledger};
use crate::state::pinned::PinnedStore;
use crate::state::{history, tree};
use crate::storage::decode;
use crate::storage::schema::META_OLDEST;
use crate::storage::{Column, StoreError, WriteBatch};
use crate::verify::SigCache;
use std::sync::{Arc, RwLock};
use thiserror::Error;

/// Heights below the window whose data is kept a little longer than they are served, so a read
/// pinned at the window's edge is not pruned under it while the next blocks commit.
const READ_GRACE: u64 = 8;
/// Stale index entries (tree and history each) pruned per block at most: a node switching from
/// archive to a window catches up over many blocks instead of stalling one.
const PRUNE_PER_BLOCK: usize = 50_000;

#[derive(Debug, Error)]
pub enum StateAtError {
    #[error("the state at height {height} is pruned; the oldest kept is {oldest}")]
    Pruned { height: u64, oldest: u64 },
    #[error("height {height} is above the head {head}")]
    NotYet { height: u64, head: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A state value with its proof against the state root of the header at `height`.
#[derive(Debug, Clone)]
pub struct StateProof {
    pub height: u64,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: tree::Proof,
}

impl Ledger {
    /// Keeps the state of the last `heights` blocks readable and prunes the rest as blocks
    /// commit; None (the default) keeps every height (an archive node).
    pub fn with_state_history(mut self, heights: Option<u64>) -> Ledger {
        self.state_history = heights.map(|h| h.max(1));
        self
    }

    /// The oldest height whose state can be read or proved.
    pub fn oldest_state(&self) -> Result<u64, StoreError> {
        Ok(self
            .store
            .get(Column::Meta, META_OLDEST)?
            .map(|b| decode(&b, "oldest state height"))
            .transpose()?
            .unwrap_or(0))
    }

    /// The ledger as of committed height `height`: every state query on it reads that height's
    /// state, and its head is that block, however many blocks commit meanwhile.
    pub fn at(&self, height: u64) -> Result<Ledger, StateAtError> {
        let head = self.head();
        if height > head.height {
            return Err(StateAtError::NotYet {
                height,
                head: head.height,
            });
        }
        let oldest = self.oldest_state()?;
        if height < oldest {
            return Err(StateAtError::Pruned { height, oldest });
        }
        let header = self
            .header(height)?
            .ok_or_else(|| StoreError(format!("missing header {height}")))?;
        Ok(Ledger {
            store: Arc::new(PinnedStore::new(self.store.clone(), height)),
            params: self.params.clone(),
            domain: self.domain.clone(),
            head: RwLock::new(Head {
                height,
                hash: header.hash(),
                time_ms: header.time_ms,
            }),
            state_history: self.state_history,
            // A pinned ledger only reads: it verifies nothing, so its cache stays empty.
            verified: SigCache::new(0),
            seal_ns_per_tx: Default::default(),
            staged: self.staged.clone(),
            reads_staged: false,
        })
    }

    /// The value of state key `key` at this ledger's head with its proof against the head
    /// header's state root (on a pinned ledger: the pinned height's).
    pub fn prove(&self, key: &[u8]) -> Result<StateProof, StoreError> {
        let height = self.head().height;
        let (value, proof) = tree::prove(self.store.as_ref(), key, height)?;
        Ok(StateProof {
            height,
            key: key.to_vec(),
            value,
            proof,
        })
    }

    /// Adds to `batch` (committing block `height`) the pruning the history window asks for.
    pub(crate) fn prune_state(
        &self,
        height: u64,
        batch: &mut WriteBatch,
    ) -> Result<(), StoreError> {
        let Some(keep) = self.state_history else {
            return Ok(());
        };
        let oldest = (height + 1).saturating_sub(keep);
        if oldest == 0 {
            return Ok(());
        }
        batch.put(
            Column::Meta,
            META_OLDEST.to_vec(),
            borsh::to_vec(&oldest).expect("borsh"),
        );
        let through = oldest.saturating_sub(READ_GRACE);
        let store = self.store.as_ref();
        tree::prune(store, through, PRUNE_PER_BLOCK, batch)?;
        history::prune(store, through, PRUNE_PER_BLOCK, batch)?;
        Ok(())
    }
}
