//! A writable view of state on top of the store: block-level writes, with a nested transaction
//! scope that is merged on success and dropped on failure so a rejected tx changes nothing.

use crate::state::{Account, Globals};
use crate::storage::schema;
use crate::storage::{Column, Entries, Store, StoreError};
use borsh::{BorshDeserialize, BorshSerialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tensorchain_primitives::{AccountId, Hash, Header};

pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// A block on its way into the store (`Ledger::stage_commit`): views read it as if it were
/// there, its state changes and its hash.
pub struct StagedBlock {
    pub height: u64,
    pub hash: Hash,
    pub state: Arc<Changes>,
}

pub struct StateView {
    store: Arc<dyn Store>,
    /// A block being written to `store` (`Ledger::stage_commit`): read as if it were there.
    staged: Option<Arc<StagedBlock>>,
    block: Changes,
    tx: Changes,
}

impl StateView {
    pub fn new(store: Arc<dyn Store>) -> StateView {
        StateView::with_changes(store, Changes::new())
    }

    /// A view of the store with `changes` (a view's `into_changes`) already written: the
    /// mempool keeps what a signer's queued transactions wrote, to run the next one on top.
    pub fn with_changes(store: Arc<dyn Store>, changes: Changes) -> StateView {
        StateView {
            store,
            staged: None,
            block: changes,
            tx: Changes::new(),
        }
    }

    /// This view with `staged` (a block on its way into the store) under its own writes and
    /// over the store.
    pub fn over_staged(mut self, staged: Option<Arc<StagedBlock>>) -> StateView {
        self.staged = staged;
        self
    }

    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let staged = self.staged.as_deref().map(|s| s.state.as_ref());
        let layers = [Some(&self.tx), Some(&self.block), staged];
        if let Some(v) = layers.into_iter().flatten().find_map(|l| l.get(key)) {
            return Ok(v.clone());
        }
        self.store.get(Column::State, key)
    }

    /// Every live entry under `prefix`, committed or written in this view, in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .store
            .scan_prefix(Column::State, prefix)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        let staged = self.staged.as_deref().map(|s| s.state.as_ref());
        let layers = [staged, Some(&self.block), Some(&self.tx)];
        for layer in layers.into_iter().flatten() {
            for (k, v) in layer
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
            {
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    /// The hash of committed block `height`. Not state, but the same on every node: a block is
    /// executed only on top of its committed, final parent (BFT finality, no reorgs).
    pub fn block_hash(&self, height: u64) -> Result<Option<Hash>, StoreError> {
        if let Some(s) = self.staged.as_deref().filter(|s| s.height == height) {
            return Ok(Some(s.hash));
        }
        Ok(self
            .store
            .get(Column::Headers, &crate::storage::schema::height_key(height))?
            .map(|b| crate::storage::decode::<Header>(&b, "header"))
            .transpose()?
            .map(|h| h.hash()))
    }

    /// The chain's genesis hash (the spec's), as the data dir records it.
    pub fn genesis_hash(&self) -> Result<Hash, StoreError> {
        let bytes = self
            .store
            .get(Column::Meta, crate::storage::schema::META_GENESIS)?
            .ok_or_else(|| StoreError("missing genesis hash".into()))?;
        crate::storage::decode(&bytes, "genesis hash")
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.tx.insert(key, Some(value));
    }

    pub fn delete_raw(&mut self, key: Vec<u8>) {
        self.tx.insert(key, None);
    }

    pub fn get<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => T::try_from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError(format!("corrupt state record {}: {e}", hex_key(key)))),
        }
    }

    pub fn put<T: BorshSerialize>(&mut self, key: Vec<u8>, value: &T) {
        self.put_raw(key, borsh::to_vec(value).expect("borsh to vec"));
    }

    /// Keeps the current transaction's writes.
    pub fn commit_tx(&mut self) {
        let tx = std::mem::take(&mut self.tx);
        self.block.extend(tx);
    }

    /// Drops the current transaction's writes.
    pub fn rollback_tx(&mut self) {
        self.tx.clear();
    }

    /// All committed writes of this block, in key order.
    pub fn into_changes(mut self) -> Changes {
        self.commit_tx();
        self.block
    }

    pub fn globals(&self) -> Result<Globals, StoreError> {
        Ok(self.get(&schema::globals_key())?.unwrap_or_default())
    }

    pub fn set_globals(&mut self, g: &Globals) {
        self.put(schema::globals_key(), g);
    }

    pub fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.get(&schema::account_key(id))
    }

    /// Writes an account and moves the chain's running total of free balances by the change, so
    /// `Globals::total_free` is a sum kept in step with every write, not a derived figure.
    pub fn set_account(&mut self, id: &AccountId, a: &Account) -> Result<(), StoreError> {
        let before = self.account(id)?.map_or(0, |old| old.free);
        if before != a.free {
            let mut g = self.globals()?;
            g.total_free = (g.total_free as i128 + a.free as i128 - before as i128)
                .try_into()
                .map_err(|_| StoreError("total free balance out of range".into()))?;
            self.set_globals(&g);
        }
        self.put(schema::account_key(id), a);
        Ok(())
    }
}

/// `changes` less the writes that leave a key as the store holds it (a record rewritten with its
/// own value, a delete of nothing): each costs the state tree a path of new nodes and the
/// history an entry, for a root and a state that come out the same without it.
pub fn drop_unchanged(store: &dyn Store, changes: Changes) -> Result<Changes, StoreError> {
    let mut out = Changes::new();
    for (key, value) in changes {
        if store.get(Column::State, &key)? != value {
            out.insert(key, value);
        }
    }
    Ok(out)
}

pub(crate) fn hex_key(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}
