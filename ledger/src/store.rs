//! The storage seam. Everything the ledger persists goes through `Store`: RocksDB in a node,
//! `MemoryStore` in tests and simulations. A `WriteBatch` is applied atomically and durably.

use std::collections::BTreeMap;
use std::sync::RwLock;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    Meta,
    Headers,
    Bodies,
    Commits,
    BlockIndex,
    TxIndex,
    State,
    Commitment,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Meta,
        Column::Headers,
        Column::Bodies,
        Column::Commits,
        Column::BlockIndex,
        Column::TxIndex,
        Column::State,
        Column::Commitment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Column::Meta => "meta",
            Column::Headers => "headers",
            Column::Bodies => "bodies",
            Column::Commits => "commits",
            Column::BlockIndex => "block_index",
            Column::TxIndex => "tx_index",
            Column::State => "state",
            Column::Commitment => "commitment",
        }
    }
}

#[derive(Debug, Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);

/// Writes (`Some`) and deletes (`None`) applied together or not at all.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    pub ops: Vec<(Column, Vec<u8>, Option<Vec<u8>>)>,
    /// Written without waiting for the disk: a crash may lose it (and any later unsynced batch)
    /// but never tears it. Block sync uses it for all but the last block of a range.
    pub unsynced: bool,
}

impl WriteBatch {
    pub fn put(&mut self, col: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((col, key.into(), Some(value.into())));
    }

    pub fn delete(&mut self, col: Column, key: impl Into<Vec<u8>>) {
        self.ops.push((col, key.into(), None));
    }
}

pub trait Store: Send + Sync + 'static {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// All entries whose key starts with `prefix`, in key order.
    fn scan_prefix(
        &self,
        col: Column,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError>;
    /// Applies the batch atomically; it is durable when this returns.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;
}

/// An in-memory store for tests, simulations and benchmarks: one ordered map per column.
#[derive(Default)]
pub struct MemoryStore {
    cols: RwLock<[BTreeMap<Vec<u8>, Vec<u8>>; Column::ALL.len()]>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let cols = self.cols.read().expect("memory store lock");
        Ok(cols[col as usize].get(key).cloned())
    }

    fn scan_prefix(
        &self,
        col: Column,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let cols = self.cols.read().expect("memory store lock");
        Ok(cols[col as usize]
            .range::<[u8], _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut cols = self.cols.write().expect("memory store lock");
        for (col, key, value) in batch.ops {
            let map = &mut cols[col as usize];
            match value {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }
        Ok(())
    }
}
