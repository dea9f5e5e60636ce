//! The RocksDB backend: one column family per `Column`, synced atomic batches.

use crate::store::{Column, Store, StoreError, WriteBatch};
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteOptions, DB};
use std::path::Path;

pub struct RocksStore {
    db: DB,
}

fn err(e: rocksdb::Error) -> StoreError {
    StoreError(e.into_string())
}

impl RocksStore {
    pub fn open(path: &Path) -> Result<RocksStore, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
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

    fn scan_prefix(
        &self,
        col: Column,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        let iter = self
            .db
            .iterator_cf(self.cf(col), IteratorMode::From(prefix, Direction::Forward));
        for item in iter {
            let (k, v) = item.map_err(err)?;
            if !k.starts_with(prefix) {
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
}
