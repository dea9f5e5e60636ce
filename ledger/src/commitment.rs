//! The state root: a fixed-depth 16-ary Merkle tree over `blake3(key)` with leaves grouped in
//! 65,536 buckets (the first four nibbles). Updating it costs one bucket scan plus four levels of
//! 16 child hashes per touched bucket, so a block pays for what it changed, not for the state size.

use crate::store::{Column, Store, StoreError, WriteBatch};
use crate::view::Changes;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tensorchain_primitives::Hash;

const LEAF: u8 = b'L';
const NODE: u8 = b'N';
/// Depth of the bucket level: 4 nibbles = 2 bytes of the key hash.
const BUCKET_DEPTH: u8 = 4;

type Bucket = BTreeMap<[u8; 32], Hash>;

fn key_hash(key: &[u8]) -> [u8; 32] {
    *blake3::hash(key).as_bytes()
}

fn leaf_hash(key: &[u8], value: &[u8]) -> Hash {
    Hash::digest_parts(
        b"tensorchain/leaf/v1",
        &[&(key.len() as u32).to_le_bytes(), key, value],
    )
}

fn bucket_of(kh: &[u8; 32]) -> u16 {
    u16::from_be_bytes([kh[0], kh[1]])
}

fn bucket_hash(bucket: &Bucket) -> Hash {
    if bucket.is_empty() {
        return Hash::ZERO;
    }
    let mut h = blake3::Hasher::new();
    h.update(b"tensorchain/bucket/v1");
    for (kh, leaf) in bucket {
        h.update(kh);
        h.update(leaf.as_bytes());
    }
    Hash(*h.finalize().as_bytes())
}

fn node_hash(children: &[Hash; 16]) -> Hash {
    if children.iter().all(|c| *c == Hash::ZERO) {
        return Hash::ZERO;
    }
    let mut h = blake3::Hasher::new();
    h.update(b"tensorchain/node/v1");
    for c in children {
        h.update(c.as_bytes());
    }
    Hash(*h.finalize().as_bytes())
}

fn leaf_key(kh: &[u8; 32]) -> Vec<u8> {
    let mut k = vec![LEAF];
    k.extend_from_slice(kh);
    k
}

fn node_key(depth: u8, prefix: u16) -> Vec<u8> {
    let p = prefix.to_be_bytes();
    vec![NODE, depth, p[0], p[1]]
}

fn decode_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| StoreError("corrupt commitment entry".into()))
}

/// Folds bucket hashes (depth 4) up to the root, reading untouched nodes through `lookup`.
fn fold_up(
    mut touched: BTreeSet<u16>,
    nodes: &mut BTreeMap<(u8, u16), Hash>,
    lookup: impl Fn(u8, u16) -> Result<Hash, StoreError>,
) -> Result<Hash, StoreError> {
    for depth in (0..BUCKET_DEPTH).rev() {
        let parents: BTreeSet<u16> = touched.iter().map(|p| p >> 4).collect();
        for &parent in &parents {
            let mut children = [Hash::ZERO; 16];
            for (c, slot) in children.iter_mut().enumerate() {
                let child = (parent << 4) | c as u16;
                *slot = match nodes.get(&(depth + 1, child)) {
                    Some(h) => *h,
                    None => lookup(depth + 1, child)?,
                };
            }
            nodes.insert((depth, parent), node_hash(&children));
        }
        touched = parents;
    }
    Ok(nodes.get(&(0, 0)).copied().unwrap_or(Hash::ZERO))
}

/// The committed tree's internal nodes and bucket hashes (at most 69,905 of them) in memory, so an
/// update reads no node from the store. Only looked up by key, never iterated into a hash.
#[derive(Debug, Default, Clone)]
pub struct NodeCache {
    nodes: HashMap<(u8, u16), Hash>,
}

impl NodeCache {
    pub fn load(store: &dyn Store) -> Result<NodeCache, StoreError> {
        let mut nodes = HashMap::new();
        for (k, v) in store.scan_prefix(Column::Commitment, &[NODE])? {
            if k.len() != 4 {
                return Err(StoreError("corrupt commitment node key".into()));
            }
            nodes.insert((k[1], u16::from_be_bytes([k[2], k[3]])), decode_hash(&v)?);
        }
        Ok(NodeCache { nodes })
    }

    fn get(&self, depth: u8, prefix: u16) -> Hash {
        self.nodes
            .get(&(depth, prefix))
            .copied()
            .unwrap_or(Hash::ZERO)
    }

    /// The node writes of a batch about to be committed.
    pub fn node_ops(batch: &WriteBatch) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        batch
            .ops
            .iter()
            .filter(|(c, k, _)| *c == Column::Commitment && k.first() == Some(&NODE))
            .map(|(_, k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn apply(&mut self, ops: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        for (k, v) in ops {
            let key = (k[1], u16::from_be_bytes([k[2], k[3]]));
            match v {
                Some(v) => self.nodes.insert(key, decode_hash(&v)?),
                None => self.nodes.remove(&key),
            };
        }
        Ok(())
    }
}

/// Applies `changes` (state key → new value or deletion) to the stored tree, adding the tree's own
/// writes to `batch`, and returns the new root. Untouched nodes come from `cache` when given (it
/// must match the store), else from the store.
pub fn update(
    store: &dyn Store,
    cache: Option<&NodeCache>,
    changes: &Changes,
    batch: &mut WriteBatch,
) -> Result<Hash, StoreError> {
    let mut by_bucket: BTreeMap<u16, Vec<([u8; 32], Option<Hash>)>> = BTreeMap::new();
    for (key, value) in changes {
        let kh = key_hash(key);
        let leaf = value.as_ref().map(|v| leaf_hash(key, v));
        by_bucket
            .entry(bucket_of(&kh))
            .or_default()
            .push((kh, leaf));
    }
    if by_bucket.is_empty() {
        return root(store);
    }
    let mut nodes = BTreeMap::new();
    for (&b, updates) in &by_bucket {
        let mut prefix = vec![LEAF];
        prefix.extend_from_slice(&b.to_be_bytes());
        let mut bucket = Bucket::new();
        for (k, v) in store.scan_prefix(Column::Commitment, &prefix)? {
            let kh: [u8; 32] = k[1..]
                .try_into()
                .map_err(|_| StoreError("corrupt commitment leaf key".into()))?;
            bucket.insert(kh, decode_hash(&v)?);
        }
        for (kh, leaf) in updates {
            match leaf {
                Some(h) => {
                    bucket.insert(*kh, *h);
                    batch.put(Column::Commitment, leaf_key(kh), h.0.to_vec());
                }
                None => {
                    bucket.remove(kh);
                    batch.delete(Column::Commitment, leaf_key(kh));
                }
            }
        }
        nodes.insert((BUCKET_DEPTH, b), bucket_hash(&bucket));
    }
    let touched = by_bucket.keys().copied().collect();
    let root = fold_up(touched, &mut nodes, |depth, prefix| match cache {
        Some(c) => Ok(c.get(depth, prefix)),
        None => match store.get(Column::Commitment, &node_key(depth, prefix))? {
            Some(v) => decode_hash(&v),
            None => Ok(Hash::ZERO),
        },
    })?;
    for ((depth, prefix), h) in nodes {
        if h == Hash::ZERO {
            batch.delete(Column::Commitment, node_key(depth, prefix));
        } else {
            batch.put(Column::Commitment, node_key(depth, prefix), h.0.to_vec());
        }
    }
    Ok(root)
}

/// The stored root.
pub fn root(store: &dyn Store) -> Result<Hash, StoreError> {
    match store.get(Column::Commitment, &node_key(0, 0))? {
        Some(v) => decode_hash(&v),
        None => Ok(Hash::ZERO),
    }
}

/// The root computed from scratch over every state entry; the reference `update` must agree with.
pub fn full_root<'a>(entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Hash {
    let mut buckets: BTreeMap<u16, Bucket> = BTreeMap::new();
    for (key, value) in entries {
        let kh = key_hash(key);
        buckets
            .entry(bucket_of(&kh))
            .or_default()
            .insert(kh, leaf_hash(key, value));
    }
    let mut nodes: BTreeMap<(u8, u16), Hash> = buckets
        .iter()
        .map(|(b, bucket)| ((BUCKET_DEPTH, *b), bucket_hash(bucket)))
        .collect();
    let touched = buckets.keys().copied().collect();
    fold_up(touched, &mut nodes, |_, _| Ok(Hash::ZERO)).expect("in-memory fold cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use tensorchain_primitives::det_rng::SplitMix;

    /// Applies `changes` to both the tree and a plain copy of the state, then compares the roots.
    fn apply(
        store: &MemoryStore,
        cache: &mut NodeCache,
        state: &mut BTreeMap<Vec<u8>, Vec<u8>>,
        changes: Changes,
    ) {
        let mut batch = WriteBatch::default();
        let root = update(store, None, &changes, &mut batch).unwrap();
        let mut cached_batch = WriteBatch::default();
        let cached_root = update(store, Some(cache), &changes, &mut cached_batch).unwrap();
        assert_eq!(root, cached_root, "the node cache gives the same root");
        cache.apply(NodeCache::node_ops(&batch)).unwrap();
        store.write(batch).unwrap();
        assert_eq!(
            cache.nodes,
            NodeCache::load(store).unwrap().nodes,
            "the cache follows the store"
        );
        for (k, v) in changes {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
        let full = full_root(state.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        assert_eq!(root, full);
        assert_eq!(super::root(store).unwrap(), full);
    }

    #[test]
    fn small_and_large_batches_agree_with_a_full_recompute() {
        let store = MemoryStore::new();
        let mut cache = NodeCache::default();
        let mut state = BTreeMap::new();
        let mut rng = SplitMix(3);
        // Sizes below and far above the level-scan threshold, with overwrites and deletions.
        for size in [1usize, 10, 5000, 40, 20_000, 3] {
            let mut changes = Changes::new();
            for _ in 0..size {
                let key = rng.below(30_000).to_be_bytes().to_vec();
                let value = if rng.chance(20) {
                    None
                } else {
                    Some(rng.next_u64().to_le_bytes().to_vec())
                };
                changes.insert(key, value);
            }
            apply(&store, &mut cache, &mut state, changes);
        }
        // Deleting everything empties the tree.
        let all: Changes = state.keys().map(|k| (k.clone(), None)).collect();
        apply(&store, &mut cache, &mut state, all);
        assert_eq!(super::root(&store).unwrap(), Hash::ZERO);
    }
}
