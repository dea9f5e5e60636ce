//! The storage seam. Everything the ledger persists goes through `Store`: RocksDB in a node,
//! `MemoryStore` in tests and simulations. A `WriteBatch` is applied atomically and durably.

pub mod cached;
#[cfg(feature = "rocksdb")]
pub mod rocks;
pub mod schema;

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
    /// The current state, for execution and head reads.
    State,
    /// The state tree's nodes (`tree`), by jmt node key.
    TreeNodes,
    /// Tree nodes by the height they went stale at, for pruning.
    TreeStale,
    /// Every kept value of every state key, by height (`history`).
    History,
    /// History entries by the height that superseded them, for pruning.
    HistoryStale,
    /// Transactions by the accounts they touched (`account_txs`): for explorers, not consensus.
    AccountTxs,
}

impl Column {
    pub const ALL: [Column; 12] = [
        Column::Meta,
        Column::Headers,
        Column::Bodies,
        Column::Commits,
        Column::BlockIndex,
        Column::TxIndex,
        Column::State,
        Column::TreeNodes,
        Column::TreeStale,
        Column::History,
        Column::HistoryStale,
        Column::AccountTxs,
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
            Column::TreeNodes => "tree_nodes",
            Column::TreeStale => "tree_stale",
            Column::History => "history",
            Column::HistoryStale => "history_stale",
            Column::AccountTxs => "account_txs",
        }
    }
}

#[derive(Debug, Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);

/// Key-value pairs read from a column, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

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
    /// All entries whose key starts with `prefix`, in key order: one unbounded page.
    fn scan_prefix(&self, col: Column, prefix: &[u8]) -> Result<Entries, StoreError> {
        self.scan_page(col, prefix, None, false, usize::MAX)
    }
    /// One page of a prefix scan: at most `limit` entries whose key starts with `prefix`, strictly
    /// after `after` in the scan's direction (from the prefix's first key, or last when `reverse`,
    /// if `after` is None). Lets the API read a page without loading every entry of the prefix.
    fn scan_page(
        &self,
        col: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError>;
    /// Applies the batch atomically; it is durable when this returns, unless `batch.unsynced`.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;
    /// Makes every batch written so far durable (unsynced ones included).
    fn sync(&self) -> Result<(), StoreError>;
}

/// Visits a column's entries in key order, `page` at a time, until `visit` returns false or
/// the column ends: a bounded read however large the column, for walks that usually stop early.
/// A column of large values wants small pages: a page is held in memory whole.
pub fn walk(
    store: &dyn Store,
    col: Column,
    page: usize,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let page = page.max(1);
    let mut after: Option<Vec<u8>> = None;
    loop {
        let entries = store.scan_page(col, &[], after.as_deref(), false, page)?;
        for (key, value) in &entries {
            if !visit(key, value)? {
                return Ok(());
            }
        }
        match entries.last() {
            Some((key, _)) if entries.len() == page => after = Some(key.clone()),
            _ => return Ok(()),
        }
    }
}

/// The smallest key greater than every key starting with `prefix`; None when every byte is 0xff
/// (the prefix's keys then run to the end of the column).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < u8::MAX {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
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

    fn scan_page(
        &self,
        col: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let cols = self.cols.read().expect("memory store lock");
        let map = &cols[col as usize];
        let in_prefix = |(k, _): &(&Vec<u8>, &Vec<u8>)| k.starts_with(prefix);
        let pair = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        Ok(if reverse {
            let upper = match (after, prefix_successor(prefix)) {
                (Some(a), _) => Excluded(a.to_vec()),
                (None, Some(s)) => Excluded(s),
                (None, None) => Unbounded,
            };
            map.range((Included(prefix.to_vec()), upper))
                .rev()
                .take_while(in_prefix)
                .take(limit)
                .map(pair)
                .collect()
        } else {
            let lower = match after {
                Some(a) => Excluded(a.to_vec()),
                None => Included(prefix.to_vec()),
            };
            map.range((lower, Unbounded))
                .take_while(in_prefix)
                .take(limit)
                .map(pair)
                .collect()
        })
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

    /// Memory has no disk behind it: everything written is as durable as it gets.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Decodes a stored value; a value that does not decode is a corrupt store, never bad input.
pub fn decode<T: borsh::BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    T::try_from_slice(bytes).map_err(|e| StoreError(format!("corrupt {what}: {e}")))
}
