//! A read cache in front of a store, for the columns every block reads key by key: state values
//! (each transaction reads its accounts, at admission and again in the block) and tree nodes
//! (each block's tree update reads the paths it rewrites, the top levels every time). From
//! RocksDB each such read searches the memtable's skip list and the table files; from here it is
//! a hash lookup. Profiled under load, those reads were a quarter of a node's time.
//!
//! Write-through: `write` puts every value it writes (or the absence of one it deletes) into the
//! cache once the inner store has it, so a read that starts after `write` returns sees the
//! write, as it would without the cache. Writes are serialized (one lock across the inner write
//! and the cache update), so two writers of one key cannot leave the cache holding the one the
//! store does not. While a `write` runs, a read may see some of its keys new and others old (the
//! inner store's batch is atomic, the cache's update is key by key): only reads racing a commit
//! can see that, and they already read an unpinned, moving head; execution reads on the writer's
//! own thread, and the API reads pinned history. A miss reads the inner store outside the lock and keeps
//! its answer only if no write touched that shard meanwhile (a shard's generation counts them),
//! so a slow read can never leave a value older than a write in the cache.
//! Bounded: a shard that reaches its share of `CACHED_ENTRIES` is emptied.

use crate::storage::{Column, Entries, Store, StoreError, WriteBatch};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

/// Entries the cache holds at most: the accounts a few blocks of transfers touch and the upper
/// levels of the state tree, in ~40 MiB.
pub const CACHED_ENTRIES: usize = 1 << 19;
const SHARDS: usize = 16;

type Key = (Column, Vec<u8>);

struct Shard {
    entries: HashMap<Key, Option<Vec<u8>>>,
    /// Writes that touched this shard: a miss keeps what it read only if none came meanwhile.
    generation: u64,
    capacity: usize,
}

impl Shard {
    fn put(&mut self, key: Key, value: Option<Vec<u8>>) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.clear();
        }
        self.entries.insert(key, value);
    }
}

pub struct CachedStore<S> {
    inner: S,
    writing: Mutex<()>,
    shards: [Mutex<Shard>; SHARDS],
    seed: std::hash::RandomState,
}

impl<S: Store> CachedStore<S> {
    pub fn new(inner: S) -> CachedStore<S> {
        CachedStore::with_capacity(inner, CACHED_ENTRIES)
    }

    fn with_capacity(inner: S, entries: usize) -> CachedStore<S> {
        CachedStore {
            inner,
            writing: Mutex::new(()),
            shards: std::array::from_fn(|_| {
                Mutex::new(Shard {
                    entries: HashMap::new(),
                    generation: 0,
                    capacity: (entries / SHARDS).max(1),
                })
            }),
            seed: std::hash::RandomState::new(),
        }
    }

    fn cached(col: Column) -> bool {
        matches!(col, Column::State | Column::TreeNodes)
    }

    fn shard(&self, col: Column, key: &[u8]) -> std::sync::MutexGuard<'_, Shard> {
        let i = self.seed.hash_one((col, key)) as usize % SHARDS;
        // A poisoned shard was interrupted between two map operations: empty it, not trust it.
        self.shards[i].lock().unwrap_or_else(|p| {
            let mut shard = p.into_inner();
            shard.entries.clear();
            shard.generation += 1;
            shard
        })
    }

    /// Entries held now (tests).
    pub fn len(&self) -> usize {
        (0..SHARDS)
            .map(|i| self.shards[i].lock().map_or(0, |s| s.entries.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: Store> Store for CachedStore<S> {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !Self::cached(col) {
            return self.inner.get(col, key);
        }
        let generation = {
            let shard = self.shard(col, key);
            if let Some(value) = shard.entries.get(&(col, key.to_vec())) {
                return Ok(value.clone());
            }
            shard.generation
        };
        let value = self.inner.get(col, key)?;
        let mut shard = self.shard(col, key);
        if shard.generation == generation {
            shard.put((col, key.to_vec()), value.clone());
        }
        Ok(value)
    }

    fn scan_page(
        &self,
        col: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.inner.scan_page(col, prefix, after, reverse, limit)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let written: Vec<(Column, Vec<u8>, Option<Vec<u8>>)> = batch
            .ops
            .iter()
            .filter(|(col, _, _)| Self::cached(*col))
            .cloned()
            .collect();
        // Held to the last cache update: a poisoned lock only means a writer panicked, and the
        // store and cache it left are each still sound.
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.write(batch)?;
        for (col, key, value) in written {
            let mut shard = self.shard(col, &key);
            shard.generation += 1;
            shard.put((col, key), value);
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    fn put(store: &dyn Store, col: Column, key: &[u8], value: Option<&[u8]>) {
        let mut b = WriteBatch::default();
        match value {
            Some(v) => b.put(col, key.to_vec(), v.to_vec()),
            None => b.delete(col, key.to_vec()),
        }
        store.write(b).unwrap();
    }

    /// Reads through the cache answer as the store does after every write, delete and miss,
    /// in cached and uncached columns, and the cache stays within its bound.
    #[test]
    fn reads_through_the_cache_answer_as_the_store_does() {
        let cached = CachedStore::new(MemoryStore::new());
        let plain = MemoryStore::new();
        for round in 0u32..3 {
            for i in 0u32..2_000 {
                let key = i.to_be_bytes();
                let value = (i * 7 + round).to_be_bytes();
                let value = (i % 5 != round).then_some(&value[..]);
                for col in [Column::State, Column::TreeNodes, Column::Headers] {
                    for s in [&cached as &dyn Store, &plain] {
                        assert_eq!(s.get(col, &key).unwrap(), plain.get(col, &key).unwrap());
                        put(s, col, &key, value);
                    }
                    assert_eq!(
                        cached.get(col, &key).unwrap(),
                        plain.get(col, &key).unwrap()
                    );
                }
            }
        }
        assert!(!cached.is_empty());
        for i in 0u32..CACHED_ENTRIES as u32 * 2 {
            cached.get(Column::State, &i.to_le_bytes()).unwrap();
        }
        assert!(cached.len() <= CACHED_ENTRIES, "{}", cached.len());
    }

    /// Two writers of the same keys, racing: afterwards every cached read answers what the
    /// store holds (without the write lock, a writer could put its older value into the cache
    /// after the other's newer one).
    #[test]
    fn racing_writers_leave_the_cache_agreeing_with_the_store() {
        /// A store that yields after each write, as a slow disk does, so the two writers'
        /// store writes and cache updates interleave.
        struct Yielding(MemoryStore);
        impl Store for Yielding {
            fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
                self.0.get(col, key)
            }
            fn scan_page(
                &self,
                col: Column,
                prefix: &[u8],
                after: Option<&[u8]>,
                reverse: bool,
                limit: usize,
            ) -> Result<Entries, StoreError> {
                self.0.scan_page(col, prefix, after, reverse, limit)
            }
            fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
                self.0.write(batch)?;
                std::thread::sleep(std::time::Duration::from_micros(50));
                Ok(())
            }
            fn sync(&self) -> Result<(), StoreError> {
                Ok(())
            }
        }
        let cached = CachedStore::with_capacity(Yielding(MemoryStore::new()), 1 << 10);
        std::thread::scope(|s| {
            for writer in 0..2u32 {
                let cached = &cached;
                s.spawn(move || {
                    for v in 0..2_000u32 {
                        let k = v % 8;
                        let value = (v * 2 + writer).to_be_bytes();
                        put(cached, Column::State, &k.to_be_bytes(), Some(&value));
                    }
                });
            }
        });
        for k in 0..8u32 {
            let key = k.to_be_bytes();
            assert_eq!(
                cached.get(Column::State, &key).unwrap(),
                cached.inner.get(Column::State, &key).unwrap(),
                "key {k}"
            );
        }
    }

    /// Linearizable under races: a read that starts after a write returned sees that write or
    /// a later one, with reads missing all the time (a cache of 32 entries over 64 keys) while
    /// another thread writes.
    #[test]
    fn a_read_racing_writes_never_sees_a_value_older_than_a_finished_write() {
        use std::sync::atomic::{AtomicU32, Ordering};
        const KEYS: u32 = 64;
        let cached = CachedStore::with_capacity(MemoryStore::new(), 32);
        let finished: Vec<AtomicU32> = (0..KEYS).map(|_| AtomicU32::new(0)).collect();
        let readers_done = AtomicU32::new(0);
        let stale = AtomicU32::new(0);
        let read = |k: u32| {
            cached
                .get(Column::State, &k.to_be_bytes())
                .unwrap()
                .map_or(0, |v| u32::from_be_bytes(v.try_into().unwrap()))
        };
        std::thread::scope(|s| {
            for reader in 0..3u32 {
                let (finished, read) = (&finished, &read);
                let (readers_done, stale) = (&readers_done, &stale);
                s.spawn(move || {
                    for i in 0..300_000u32 {
                        let k = (i * 7 + reader) % KEYS;
                        let floor = finished[k as usize].load(Ordering::SeqCst);
                        if read(k) < floor {
                            stale.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    readers_done.fetch_add(1, Ordering::SeqCst);
                });
            }
            // Writes until every reader is done, so all their reads race writes.
            let mut v = 0u32;
            while readers_done.load(Ordering::SeqCst) < 3 {
                v += 1;
                let k = v % KEYS;
                put(
                    &cached,
                    Column::State,
                    &k.to_be_bytes(),
                    Some(&v.to_be_bytes()),
                );
                finished[k as usize].store(v, Ordering::SeqCst);
            }
        });
        assert_eq!(
            stale.load(Ordering::SeqCst),
            0,
            "reads older than a finished write"
        );
        for k in 0..KEYS {
            assert_eq!(read(k), finished[k as usize].load(Ordering::SeqCst));
        }
    }
}
