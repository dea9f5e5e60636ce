//! A read-only `Store` whose state column reads as of one height, from the state history. A
//! `Ledger` over it (`Ledger::at`) answers every state query as of that height, and never sees a
//! block committed meanwhile: the API pins one per request.

use crate::state::history;
use crate::storage::{Column, Entries, Store, StoreError, WriteBatch};
use std::sync::Arc;

pub struct PinnedStore {
    inner: Arc<dyn Store>,
    height: u64,
}

impl PinnedStore {
    pub fn new(inner: Arc<dyn Store>, height: u64) -> PinnedStore {
        PinnedStore { inner, height }
    }
}

impl Store for PinnedStore {
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match col {
            Column::State => history::get_at(self.inner.as_ref(), key, self.height),
            _ => self.inner.get(col, key),
        }
    }

    fn scan_page(
        &self,
        col: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        match col {
            Column::State => history::scan_page_at(
                self.inner.as_ref(),
                prefix,
                after,
                reverse,
                limit,
                self.height,
            ),
            _ => self.inner.scan_page(col, prefix, after, reverse, limit),
        }
    }

    fn write(&self, _batch: WriteBatch) -> Result<(), StoreError> {
        Err(StoreError("a pinned state is read-only".into()))
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
