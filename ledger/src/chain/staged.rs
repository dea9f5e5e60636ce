//! Committing in two halves, so a block's write does not hold up admission.
//!
//! Storing a full block takes a fifth of a second (the tree's nodes, the history, the indexes,
//! one fsync). The mempool must move with the state it admits against: a signer's queued
//! transactions and the account they spend from have to be read both before a block or both
//! after it. Held across the write, the mempool's lock stalled every submission for that long
//! each block. Instead `stage_commit` shows the block's state changes (and its transactions'
//! places) to every head-state view first, the node prunes its mempool against them under the
//! lock, and `StagedCommit::finish` writes the block without the lock. Until the write lands
//! the head stays where it was: head-state reads (views, with the block's hash in
//! `StateView::block_hash`; `account`; `tx_location`) show the block being written, and
//! everything read by height (headers, bodies, `?at=`) shows the block before it. So for that
//! fifth of a second a transaction's status can say included before its block can be read.

use super::{ExecutedBlock, Head, Ledger, LedgerError};
use crate::state::view::StagedBlock;
use crate::storage::schema::height_key;
use crate::storage::{Column, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use tensorchain_primitives::{Commit, Hash};

/// What a commit being written shows to head-state readers.
pub(crate) struct Staged {
    block: Arc<StagedBlock>,
    txs: HashMap<Hash, u32>,
}

/// A block checked against its commit and the head, staged, not yet written. Dropping it
/// unstages the block without writing it.
#[must_use = "a staged commit is written by `finish`"]
pub struct StagedCommit<'a> {
    ledger: &'a Ledger,
    executed: Option<ExecutedBlock>,
    commit: Commit,
    synced: bool,
}

impl Ledger {
    /// Checks that `commit` is for `executed` and that it extends the head, then shows its
    /// state to head-state views until it is written (`StagedCommit::finish`) or dropped.
    /// `synced`: the write waits for the disk.
    pub fn stage_commit(
        &self,
        executed: ExecutedBlock,
        commit: &Commit,
        synced: bool,
    ) -> Result<StagedCommit<'_>, LedgerError> {
        if !self.reads_staged {
            return Err(LedgerError::InvalidBlock(
                "a ledger pinned at a height commits nothing".into(),
            ));
        }
        let header = &executed.block.header;
        if commit.block_hash != executed.block.hash() || commit.height != header.height {
            return Err(LedgerError::InvalidBlock(
                "commit is for another block".into(),
            ));
        }
        if header.parent_hash != self.head().hash {
            return Err(LedgerError::InvalidBlock(
                "block no longer extends the head".into(),
            ));
        }
        let staged = Staged {
            block: Arc::new(StagedBlock {
                height: header.height,
                hash: commit.block_hash,
                state: executed.state.clone(),
            }),
            txs: (executed.tx_hashes.iter().enumerate())
                .map(|(i, h)| (*h, i as u32))
                .collect(),
        };
        let mut slot = self.staged.write().expect("staged lock");
        // One writer commits, one block at a time: a second staging would unstage the first
        // when either is dropped.
        if slot.is_some() {
            return Err(LedgerError::InvalidBlock(
                "another commit is being written".into(),
            ));
        }
        *slot = Some(Arc::new(staged));
        Ok(StagedCommit {
            ledger: self,
            executed: Some(executed),
            commit: commit.clone(),
            synced,
        })
    }

    /// The height of the next block: one past the block being written while a commit is staged.
    pub fn next_height(&self) -> u64 {
        match self.staged_block() {
            Some(s) => s.height + 1,
            None => self.head().height + 1,
        }
    }

    /// The block being written, if any and if this ledger's views read it.
    pub(crate) fn staged_block(&self) -> Option<Arc<StagedBlock>> {
        let staged = self.staged.read().expect("staged lock");
        (staged.as_ref())
            .filter(|_| self.reads_staged)
            .map(|s| s.block.clone())
    }

    /// Where transaction `hash` was committed: (height, index in the block), the staged block
    /// included (on a pinned ledger too: the route that answers a transaction's status reads
    /// the mempool, then a ledger pinned at the head, and a transaction pruned from the one
    /// must be found in the other).
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<(u64, u32)>, StoreError> {
        if let Some(s) = self.staged.read().expect("staged lock").as_ref() {
            if let Some(i) = s.txs.get(hash) {
                return Ok(Some((s.block.height, *i)));
            }
        }
        self.store
            .get(Column::TxIndex, hash.as_bytes())?
            .map(|b| crate::storage::decode(&b, "tx index"))
            .transpose()
    }
}

impl StagedCommit<'_> {
    /// Stores the block, its commit certificate and its state in one atomic batch, moves the
    /// head to it and unstages it.
    pub fn finish(mut self) -> Result<(), LedgerError> {
        let executed = self.executed.take().expect("finished once");
        let ledger = self.ledger;
        let block = &executed.block;
        let hash = block.hash();
        let mut batch = executed.batch;
        batch.unsynced = !self.synced;
        batch.put(
            Column::Commits,
            height_key(block.header.height).to_vec(),
            borsh::to_vec(&self.commit).expect("borsh"),
        );
        ledger.prune_state(block.header.height, &mut batch)?;
        ledger.store.write(batch)?;
        // Committed transactions are never checked again (their hash is on chain).
        ledger.verified.forget(&executed.tx_hashes);
        *ledger.head.write().expect("head lock") = Head {
            height: block.header.height,
            hash,
            time_ms: block.header.time_ms,
        };
        Ok(())
        // (Dropping `self` unstages: the store has the block now.)
    }
}

impl Drop for StagedCommit<'_> {
    fn drop(&mut self) {
        *self.ledger.staged.write().expect("staged lock") = None;
    }
}
