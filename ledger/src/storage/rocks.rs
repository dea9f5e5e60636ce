//! The RocksDB backend: one column family per `Column`, synced atomic batches.

use crate::storage::{prefix_successor, Column, Entries, Store, StoreError, WriteBatch};
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteOptions, DB};
use std::path::Path;

/// The column of the hand-written commitment tree that jmt replaced.
const RETIRED_COLUMN: &str = "commitment";

pub struct RocksStore {
    db: DB,
}

fn err(e: rocksdb::Error) -> StoreError {
    StoreError(e.into_string())
}

/// The block cache all columns share.
const BLOCK_CACHE_BYTES: usize = 128 << 20;

impl RocksStore {
    pub fn open(path: &Path) -> Result<RocksStore, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // Point lookups that miss are common: a transfer to a new account, a tree node or state
        // key not yet flushed. Bloom filters (10 bits a key, ~1% false positives) on every table
        // file and on the memtable let a miss skip them without a search, and one shared block
        // cache keeps the filters and hot blocks of every column in memory.
        let mut tables = rocksdb::BlockBasedOptions::default();
        tables.set_bloom_filter(10.0, false);
        tables.set_block_cache(&rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES));
        tables.set_cache_index_and_filter_blocks(true);
        tables.set_pin_l0_filter_and_index_blocks_in_cache(true);
        opts.set_block_based_table_factory(&tables);
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.1);
        // A data dir from before the jmt state tree has its own column (and other state roots):
        // refuse it by name rather than with RocksDB's "column families not opened".
        let existing = DB::list_cf(&opts, path).unwrap_or_default();
        if existing.iter().any(|c| c == RETIRED_COLUMN) {
            return Err(StoreError(format!(
                "{} was written by an older tensorchain (before the versioned state tree); \
                 reset it (or resync into a new data dir)",
                path.display()
            )));
        }
        let cfs = Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), opts.clone()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(err)?;
        Ok(RocksStore { db })
    }

    fn cf(&self, col: Column) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(col.name())
            .expect("every column family is created on open")
    }
}

impl Store for RocksStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.cf(col), key).map_err(err)
    }

    fn scan_page(
        &self,
        col: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        // Keys at or past `bound` in the scan's direction are skipped: the cursor itself, or (in
        // reverse) the prefix's successor the seek may land on.
        let successor = prefix_successor(prefix);
        let (mode, bound) = match (after, reverse) {
            (Some(a), false) => (IteratorMode::From(a, Direction::Forward), Some(a)),
            (None, false) => (IteratorMode::From(prefix, Direction::Forward), None),
            (Some(a), true) => (IteratorMode::From(a, Direction::Reverse), Some(a)),
            (None, true) => match &successor {
                Some(s) => (
                    IteratorMode::From(s, Direction::Reverse),
                    Some(s.as_slice()),
                ),
                None => (IteratorMode::End, None),
            },
        };
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(col), mode) {
            let (k, v) = item.map_err(err)?;
            let past_bound = bound.is_some_and(|b| {
                if reverse {
                    k.as_ref() >= b
                } else {
                    k.as_ref() <= b
                }
            });
            if past_bound {
                continue;
            }
            if !k.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut wb = rocksdb::WriteBatch::default();
        let unsynced = batch.unsynced;
        for (col, key, value) in batch.ops {
            match value {
                Some(v) => wb.put_cf(self.cf(col), key, v),
                None => wb.delete_cf(self.cf(col), key),
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(!unsynced);
        self.db.write_opt(wb, &opts).map_err(err)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db.flush_wal(true).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = RocksStore::open(dir.path()).unwrap();
            let mut b = WriteBatch::default();
            b.put(Column::State, b"a1".to_vec(), b"x".to_vec());
            b.put(Column::State, b"a2".to_vec(), b"y".to_vec());
            b.put(Column::State, b"b1".to_vec(), b"z".to_vec());
            b.put(Column::Meta, b"a1".to_vec(), b"meta".to_vec());
            s.write(b).unwrap();
            let mut b = WriteBatch::default();
            b.delete(Column::State, b"a2".to_vec());
            s.write(b).unwrap();
        }
        let s = RocksStore::open(dir.path()).unwrap();
        assert_eq!(s.get(Column::State, b"a1").unwrap(), Some(b"x".to_vec()));
        assert_eq!(s.get(Column::State, b"a2").unwrap(), None);
        assert_eq!(
            s.scan_prefix(Column::State, b"a").unwrap(),
            vec![(b"a1".to_vec(), b"x".to_vec())]
        );
        assert_eq!(s.get(Column::Meta, b"a1").unwrap(), Some(b"meta".to_vec()));
    }

    /// Test keys as text, `~` standing for the byte 0xff (the prefix with no successor).
    fn unescape(s: &str) -> Vec<u8> {
        s.bytes()
            .map(|b| if b == b'~' { 0xff } else { b })
            .collect()
    }

    /// RocksDB and the in-memory store page alike: forward and reverse, from the start and from
    /// a cursor, bounded by the limit, never leaving the prefix (including a 0xff prefix).
    #[test]
    fn scan_page_matches_the_memory_store() {
        let dir = tempfile::tempdir().unwrap();
        let rocks = RocksStore::open(dir.path()).unwrap();
        let memory = crate::storage::MemoryStore::new();
        let mut b = WriteBatch::default();
        for k in ["a", "b1", "b2", "b3", "c", "~\x01", "~\x02"] {
            b.put(Column::State, unescape(k), unescape(k));
        }
        rocks.write(b.clone()).unwrap();
        memory.write(b).unwrap();
        let keys = |s: &dyn Store, prefix: &str, after: Option<&str>, rev: bool, limit| {
            s.scan_page(
                Column::State,
                &unescape(prefix),
                after.map(unescape).as_deref(),
                rev,
                limit,
            )
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
        };
        let cases = [
            ("b", None, false, 10, vec!["b1", "b2", "b3"]),
            ("b", None, false, 2, vec!["b1", "b2"]),
            ("b", Some("b2"), false, 10, vec!["b3"]),
            ("b", None, true, 2, vec!["b3", "b2"]),
            ("b", Some("b2"), true, 10, vec!["b1"]),
            ("~", None, true, 10, vec!["~\x02", "~\x01"]),
            ("d", None, false, 10, vec![]),
        ];
        for (prefix, after, rev, limit, want) in cases {
            let want: Vec<Vec<u8>> = want.into_iter().map(unescape).collect();
            for s in [&rocks as &dyn Store, &memory as &dyn Store] {
                assert_eq!(
                    keys(s, prefix, after, rev, limit),
                    want,
                    "{prefix:?} {after:?} {rev}"
                );
            }
        }
    }
}
