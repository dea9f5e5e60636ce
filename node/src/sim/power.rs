//! A store that loses power: what a crash leaves of it is what was durable, as on a disk.
//! Batches written `unsynced` (block sync's, all but a range's last) stay in the page cache until
//! a synced write or `sync` flushes them, as RocksDB's WAL does; a crash drops them.

use std::sync::Mutex;
use tensorchain_ledger::{Column, Entries, MemoryStore, Store, StoreError, WriteBatch};

#[derive(Default)]
pub struct PowerLossStore {
    /// What reads see: every batch written.
    live: MemoryStore,
    /// Batches on disk, in order.
    durable: Mutex<Vec<WriteBatch>>,
    /// Batches written unsynced since the last flush.
    pending: Mutex<Vec<WriteBatch>>,
}

impl PowerLossStore {
    /// The store as the disk holds it after the power went out: unsynced batches are gone.
    pub fn after_power_loss(&self) -> PowerLossStore {
        let durable = self.durable.lock().expect("store lock").clone();
        let live = MemoryStore::new();
        for batch in &durable {
            live.write(batch.clone()).expect("memory writes");
        }
        PowerLossStore {
            live,
            durable: Mutex::new(durable),
            pending: Mutex::default(),
        }
    }

    /// Batches a crash now would lose.
    pub fn unsynced(&self) -> usize {
        self.pending.lock().expect("store lock").len()
    }

    fn flush(&self) {
        let mut pending = self.pending.lock().expect("store lock");
        self.durable
            .lock()
            .expect("store lock")
            .extend(pending.drain(..));
    }
}

impl Store for PowerLossStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.live.get(col, key)
    }

    fn scan_page(
        &self,
        col: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.live.scan_page(col, prefix, after, reverse, limit)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.live.write(batch.clone())?;
        let unsynced = batch.unsynced;
        self.pending.lock().expect("store lock").push(batch);
        if !unsynced {
            self.flush();
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.flush();
        Ok(())
    }
}
