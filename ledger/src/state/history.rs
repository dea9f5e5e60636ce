//! The state history: every value each state key has had, by the block height that wrote it, so
//! any kept height's state can be read back (`?at=` in the API) and proved against that height's
//! tree root. Entries are keyed `key ‖ !height` (big-endian, inverted): a key's versions sit
//! together, newest first, so a read at a height is one seek and a prefix scan at a height reads
//! one entry per key. This relies on no state key being a prefix of another, which holds because
//! each record kind's keys have one length.
//!
//! Every block also files the keys it wrote in a stale index, one entry per height (`height`
//! big-endian → the borsh list of keys): once the oldest kept height reaches that height, each
//! key's older entries (and the entry itself if it is a deletion) serve no kept height and
//! `prune` removes them. One entry per height, not per key, keeps a full block's commit from
//! paying a memtable insert per written key; data dirs from before keep their per-key entries
//! (`height ‖ key`, no value) until pruning reaches them.

use crate::state::view::Changes;
use crate::storage::{Column, Entries, Store, StoreError, WriteBatch};

const DELETED: u8 = 0;
const PRESENT: u8 = 1;
/// A version suffix every real one sorts before (forward) or after (reverse) for the same key.
const LAST_SUFFIX: [u8; 8] = [0xff; 8];
const FIRST_SUFFIX: [u8; 8] = [0; 8];

fn entry_key(key: &[u8], height: u64) -> Vec<u8> {
    [key, &(!height).to_be_bytes()].concat()
}

/// (state key, height) of a history entry key.
fn split(entry: &[u8]) -> Result<(&[u8], u64), StoreError> {
    let cut = entry
        .len()
        .checked_sub(8)
        .ok_or_else(|| StoreError("corrupt state history key".into()))?;
    let inverted: [u8; 8] = entry[cut..].try_into().expect("8 bytes");
    Ok((&entry[..cut], !u64::from_be_bytes(inverted)))
}

fn decode_value(bytes: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    match bytes.split_first() {
        Some((&PRESENT, value)) => Ok(Some(value.to_vec())),
        Some((&DELETED, [])) => Ok(None),
        _ => Err(StoreError("corrupt state history value".into())),
    }
}

/// Pages of the stale index hold whole heights' key lists: a few MiB each at most.
const STALE_PAGE: usize = 4;

/// Adds block `height`'s changes to the history and, if `index_stale`, the stale index.
pub fn put(batch: &mut WriteBatch, changes: &Changes, height: u64, index_stale: bool) {
    for (key, value) in changes {
        let stored = match value {
            Some(v) => [&[PRESENT], v.as_slice()].concat(),
            None => vec![DELETED],
        };
        batch.put(Column::History, entry_key(key, height), stored);
    }
    if index_stale && !changes.is_empty() {
        let keys: Vec<&[u8]> = changes.keys().map(Vec::as_slice).collect();
        batch.put(
            Column::HistoryStale,
            height.to_be_bytes().to_vec(),
            borsh::to_vec(&keys).expect("borsh"),
        );
    }
}

/// The value of `key` as of height `height`: what the newest write at or below it left.
pub fn get_at(store: &dyn Store, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StoreError> {
    // Entries strictly after `key ‖ !(height + 1)` are this key's at or below `height` (and,
    // in principle, longer keys', skipped by length).
    let mut after = height.checked_add(1).map(|h| entry_key(key, h));
    loop {
        let page = store.scan_page(Column::History, key, after.as_deref(), false, 16)?;
        for (k, v) in &page {
            if k.len() == key.len() + 8 {
                return decode_value(v);
            }
        }
        match page.last() {
            Some((k, _)) if page.len() == 16 => after = Some(k.clone()),
            _ => return Ok(None),
        }
    }
}

/// One page of the live entries under `prefix` as of `height`, in key order (or reverse),
/// strictly after the state key `after`: the `Store::scan_page` contract, over history.
pub fn scan_page_at(
    store: &dyn Store,
    prefix: &[u8],
    after: Option<&[u8]>,
    reverse: bool,
    limit: usize,
    height: u64,
) -> Result<Entries, StoreError> {
    // Past every entry of a key: after its last (forward) or before its first (reverse).
    let past = |key: &[u8]| {
        [
            key,
            if reverse {
                &FIRST_SUFFIX[..]
            } else {
                &LAST_SUFFIX[..]
            },
        ]
        .concat()
    };
    let mut cursor = after.map(past);
    let mut out = Vec::new();
    while out.len() < limit {
        let page = store.scan_page(Column::History, prefix, cursor.as_deref(), reverse, 1)?;
        let Some((entry, _)) = page.into_iter().next() else {
            break;
        };
        let (key, _) = split(&entry)?;
        if let Some(value) = get_at(store, key, height)? {
            out.push((key.to_vec(), value));
        }
        cursor = Some(past(key));
    }
    Ok(out)
}

/// Removes the history that no height at or above `oldest` reads, a whole height's keys at a
/// time, until at least `limit` keys are done. Returns how many it did (at least `limit`:
/// maybe more left).
pub fn prune(
    store: &dyn Store,
    oldest: u64,
    limit: usize,
    batch: &mut WriteBatch,
) -> Result<usize, StoreError> {
    let mut done = 0;
    crate::storage::walk(
        store,
        Column::HistoryStale,
        STALE_PAGE,
        |index_key, value| {
            let (height, key) = match index_key.split_first_chunk::<8>() {
                Some((h, key)) => (u64::from_be_bytes(*h), key),
                None => return Err(StoreError("corrupt state history index".into())),
            };
            if height > oldest || done >= limit {
                return Ok(false);
            }
            match key {
                [] => {
                    let keys: Vec<Vec<u8>> = crate::storage::decode(value, "state history index")?;
                    for key in &keys {
                        prune_key(store, key, height, batch)?;
                    }
                    done += keys.len();
                }
                // An entry of the older form: one key.
                key => {
                    prune_key(store, key, height, batch)?;
                    done += 1;
                }
            }
            batch.delete(Column::HistoryStale, index_key.to_vec());
            Ok(true)
        },
    )?;
    Ok(done)
}

/// Removes `key`'s entries older than its write at `height`, and that write too if it is a
/// deletion: reads at `height` and above see that write or a newer one.
fn prune_key(
    store: &dyn Store,
    key: &[u8],
    height: u64,
    batch: &mut WriteBatch,
) -> Result<(), StoreError> {
    let mut after = entry_key(key, height);
    loop {
        let page = store.scan_page(Column::History, key, Some(&after), false, 64)?;
        for (entry, _) in &page {
            if entry.len() == key.len() + 8 {
                batch.delete(Column::History, entry.clone());
            }
        }
        match page.last() {
            Some((k, _)) if page.len() == 64 => after = k.clone(),
            _ => break,
        }
    }
    // A deletion with nothing older left means the same as no entry at all.
    let this = entry_key(key, height);
    if let Some(v) = store.get(Column::History, &this)? {
        if decode_value(&v)?.is_none() {
            batch.delete(Column::History, this);
        }
    }
    Ok(())
}
