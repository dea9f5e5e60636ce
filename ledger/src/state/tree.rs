//! The state root: a Jellyfish Merkle Tree (`jmt`) over `blake3(key)`, one version per block
//! height. Its nodes live in `Column::TreeNodes`; the values themselves live in the state history
//! (`history`), so the tree stores only hashes. A block's update writes the new nodes and records
//! the nodes it made stale, which `prune` deletes once no kept version reaches them.
//!
//! The stale-node index holds one entry per version: `version` (big-endian) → the borsh list of
//! the node keys that went stale at it. One entry, not one per node: a full block makes tens of
//! thousands of nodes stale, and each entry was a memtable insert on the commit's critical path.
//! Data dirs from before keep their entries of the older form, `version ‖ node key` with no
//! value, until pruning reaches them.

use crate::state::view::Changes;
use crate::storage::{Column, Store, StoreError, WriteBatch};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, SimpleHasher, Version};
use tensorchain_primitives::Hash;

/// blake3 as the tree's hash (jmt's leaf, internal and placeholder hashes all go through it).
pub struct Blake3(blake3::Hasher);

impl SimpleHasher for Blake3 {
    fn new() -> Self {
        Blake3(blake3::Hasher::new())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

pub type Proof = jmt::proof::SparseMerkleProof<Blake3>;

/// The tree's key for a state key.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<Blake3>(key)
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("state tree: {e}"))
}

/// The key of version `version`'s root (the empty nibble path). jmt keeps that constructor to
/// itself; a node key's borsh encoding is its version (u64), the path's nibble count (u64) and
/// its bytes (u32 length).
fn root_key(version: Version) -> Result<NodeKey, StoreError> {
    let bytes = [
        version.to_le_bytes().as_slice(),
        &0u64.to_le_bytes(),
        &0u32.to_le_bytes(),
    ]
    .concat();
    crate::storage::decode(&bytes, "root node key")
}

fn node_key_bytes(key: &NodeKey) -> Vec<u8> {
    borsh::to_vec(key).expect("borsh")
}

/// Pages of the stale-node index hold whole versions' lists: a few MiB each at most.
const STALE_PAGE: usize = 4;

/// The tree's view of the store. A proof reads the one value it proves from the state history,
/// so the reader knows that key (`proving`); updates never read values.
struct Reader<'a> {
    store: &'a dyn Store,
    proving: Option<&'a [u8]>,
}

impl TreeReader for Reader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self
            .store
            .get(Column::TreeNodes, &node_key_bytes(node_key))?
            .map(|b| crate::storage::decode::<Node>(&b, "tree node"))
            .transpose()?)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        match self.proving {
            Some(raw) if key_hash(raw) == key => {
                Ok(crate::state::history::get_at(self.store, raw, max_version)?)
            }
            _ => Err(err("a value was read by hash alone").into()),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Err(err("state sync restore is not supported").into())
    }
}

/// Applies one block's `changes` as tree version `version` (the block's height; the tree must
/// hold `version - 1`, or be empty for genesis), adds the new nodes (and, if `index_stale`, the
/// stale-node index pruning needs) to `batch`, and returns the new root.
pub fn update(
    store: &dyn Store,
    changes: &Changes,
    version: Version,
    index_stale: bool,
    batch: &mut WriteBatch,
) -> Result<Hash, StoreError> {
    let reader = Reader {
        store,
        proving: None,
    };
    let tree = JellyfishMerkleTree::<_, Blake3>::new(&reader);
    // jmt's root depends on the set of keys and values only, not on how it was built, so the
    // two ways below give the same root and the same nodes. `put_value_set` inserts one key at a
    // time and rehashes every internal node on the key's path each time (15 blake3 calls per
    // node): ~60% of a block of transfers went there. The batch insert builds each new node once
    // and hashes it once, but takes no deletions; a block that deletes keys goes key by key.
    let upserts: Option<Vec<(KeyHash, OwnedValue)>> = changes
        .iter()
        .map(|(k, v)| v.clone().map(|v| (key_hash(k), v)))
        .collect();
    let (root, update) = match upserts {
        Some(set) if !set.is_empty() => tree
            .batch_put_value_sets(vec![set], None, version)
            .map(|(roots, update)| (roots[0], update)),
        _ => put_key_by_key(&tree, changes, version),
    }
    .map_err(err)?;
    for (key, node) in update.node_batch.nodes() {
        batch.put(
            Column::TreeNodes,
            node_key_bytes(key),
            borsh::to_vec(node).expect("borsh"),
        );
    }
    if index_stale {
        // Filed under `version`: every node jmt marks stale here went stale at it (and filing a
        // node later than it went stale only delays its pruning).
        let mut stale: Vec<Vec<u8>> = update
            .stale_node_index_batch
            .iter()
            .map(|s| node_key_bytes(&s.node_key))
            .collect();
        // A version that changes nothing gets a copy of the previous root under its own
        // version, and jmt files nothing as stale: without this the old roots of quiet blocks
        // never prune.
        if version > 0 && stale.is_empty() {
            stale.push(node_key_bytes(&root_key(version - 1)?));
        }
        if !stale.is_empty() {
            batch.put(
                Column::TreeStale,
                version.to_be_bytes().to_vec(),
                borsh::to_vec(&stale).expect("borsh"),
            );
        }
    }
    Ok(Hash(root.0))
}

/// jmt's insertion one key at a time, deletions included.
fn put_key_by_key(
    tree: &JellyfishMerkleTree<'_, Reader<'_>, Blake3>,
    changes: &Changes,
    version: Version,
) -> anyhow::Result<(jmt::RootHash, jmt::storage::TreeUpdateBatch)> {
    tree.put_value_set(
        changes.iter().map(|(k, v)| (key_hash(k), v.clone())),
        version,
    )
}

/// The root of version `version`; None if that version was pruned or never written.
pub fn root_at(store: &dyn Store, version: Version) -> Result<Option<Hash>, StoreError> {
    let reader = Reader {
        store,
        proving: None,
    };
    JellyfishMerkleTree::<_, Blake3>::new(&reader)
        .get_root_hash_option(version)
        .map(|r| r.map(|r| Hash(r.0)))
        .map_err(err)
}

/// The value of state key `key` at `version` with its proof against that version's root.
pub fn prove(
    store: &dyn Store,
    key: &[u8],
    version: Version,
) -> Result<(Option<Vec<u8>>, Proof), StoreError> {
    let reader = Reader {
        store,
        proving: Some(key),
    };
    let tree = JellyfishMerkleTree::<_, Blake3>::new(&reader);
    // jmt unwraps a missing sibling node inside `get_with_proof`; a version pruned while the
    // proof is read must be an error, not a panic.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tree.get_with_proof(key_hash(key), version)
    }))
    .map_err(|_| err(format!("version {version} was pruned while proving")))?
    .map_err(err)
}

/// Deletes the nodes that went stale at or before `version` (no tree at `version` or later
/// reaches them), a whole version at a time, until at least `limit` are deleted. Returns how
/// many it deleted (at least `limit` means: maybe more left).
pub fn prune(
    store: &dyn Store,
    version: Version,
    limit: usize,
    batch: &mut WriteBatch,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    crate::storage::walk(store, Column::TreeStale, STALE_PAGE, |key, value| {
        let since = key
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| err("corrupt stale-node index"))?;
        if since > version || deleted >= limit {
            return Ok(false);
        }
        match &key[8..] {
            [] => {
                let nodes: Vec<Vec<u8>> = crate::storage::decode(value, "stale-node index")?;
                deleted += nodes.len();
                for node in nodes {
                    batch.delete(Column::TreeNodes, node);
                }
            }
            // An entry of the older form: one node.
            node => {
                batch.delete(Column::TreeNodes, node.to_vec());
                deleted += 1;
            }
        }
        batch.delete(Column::TreeStale, key.to_vec());
        Ok(true)
    })?;
    Ok(deleted)
}

/// The root of a fresh tree holding exactly `entries`, built one key at a time (not by the
/// batch insert `update` prefers): the reference an incrementally updated tree must agree with.
pub fn full_root<'a>(entries: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Hash {
    let changes: Changes = entries
        .into_iter()
        .map(|(k, v)| (k.to_vec(), Some(v.to_vec())))
        .collect();
    let store = crate::storage::MemoryStore::new();
    let reader = Reader {
        store: &store,
        proving: None,
    };
    let tree = JellyfishMerkleTree::<_, Blake3>::new(&reader);
    let (root, _) = put_key_by_key(&tree, &changes, 0).expect("an in-memory tree");
    Hash(root.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;
    use std::collections::BTreeMap;
    use tensorchain_primitives::det_rng::SplitMix;

    /// Random versions of inserts, overwrites and deletions: each version's root equals a full
    /// recompute, every kept version still reads and proves its own values after later ones,
    /// and pruning keeps the versions at or above the pruned-through height intact.
    ///
    /// Run with deletions (every version goes key by key) and without (every version but the
    /// empty one goes through the batch insert), both against the key-by-key reference.
    #[test]
    fn incremental_roots_agree_and_old_versions_stay_provable() {
        incremental_roots_agree(Some(20));
        incremental_roots_agree(None);
    }

    fn incremental_roots_agree(delete_one_in: Option<u64>) {
        let store = MemoryStore::new();
        let mut state = BTreeMap::new();
        let mut states = Vec::new();
        let mut rng = SplitMix(3);
        for (version, size) in [1usize, 10, 500, 40, 2000, 3, 0, 7].into_iter().enumerate() {
            let mut changes = Changes::new();
            for _ in 0..size {
                let key = rng.below(3_000).to_be_bytes().to_vec();
                let delete = delete_one_in.is_some_and(|n| rng.chance(n));
                let value = (!delete).then(|| rng.next_u64().to_le_bytes().to_vec());
                changes.insert(key, value);
            }
            let mut batch = WriteBatch::default();
            let root = update(&store, &changes, version as u64, true, &mut batch).unwrap();
            crate::state::history::put(&mut batch, &changes, version as u64, true);
            store.write(batch).unwrap();
            for (k, v) in changes {
                match v {
                    Some(v) => state.insert(k, v),
                    None => state.remove(&k),
                };
            }
            let full = full_root(state.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
            assert_eq!(root, full, "version {version}");
            assert_eq!(root_at(&store, version as u64).unwrap(), Some(root));
            let root_node = node_key_bytes(&root_key(version as u64).unwrap());
            assert!(store.get(Column::TreeNodes, &root_node).unwrap().is_some());
            states.push((root, state.clone()));
        }
        let check = |from: usize| {
            for (version, (root, state)) in states.iter().enumerate().skip(from) {
                for probe in [0u64, 17, 2999, 1234] {
                    let key = probe.to_be_bytes();
                    let (value, proof) = prove(&store, &key, version as u64).unwrap();
                    assert_eq!(
                        value.as_ref(),
                        state.get(key.as_slice()),
                        "v{version} {probe}"
                    );
                    proof
                        .verify(jmt::RootHash(root.0), key_hash(&key), value.as_ref())
                        .unwrap();
                }
            }
        };
        check(0);
        let mut batch = WriteBatch::default();
        prune(&store, 4, usize::MAX, &mut batch).unwrap();
        crate::state::history::prune(&store, 4, usize::MAX, &mut batch).unwrap();
        store.write(batch).unwrap();
        check(4);
        let left = store.scan_prefix(Column::TreeStale, &[]).unwrap();
        assert!(left.iter().all(|(k, _)| k[..8] > 4u64.to_be_bytes()[..]));
    }

    /// A data dir written before the stale indexes held one entry per version has one entry
    /// per node (tree) and per key (history); pruning it must leave exactly what pruning the
    /// same chain written today leaves.
    #[test]
    fn stale_entries_of_the_older_form_prune_alike() {
        let (today, older) = (MemoryStore::new(), MemoryStore::new());
        let mut rng = SplitMix(9);
        for version in 0..6u64 {
            let changes: Changes = (0..200)
                .map(|_| {
                    let key = rng.below(500).to_be_bytes().to_vec();
                    (key, Some(rng.next_u64().to_le_bytes().to_vec()))
                })
                .collect();
            for store in [&today, &older] {
                let mut batch = WriteBatch::default();
                update(store, &changes, version, true, &mut batch).unwrap();
                crate::state::history::put(&mut batch, &changes, version, true);
                store.write(batch).unwrap();
            }
        }
        let mut rewrite = WriteBatch::default();
        for col in [Column::TreeStale, Column::HistoryStale] {
            for (key, value) in older.scan_prefix(col, &[]).unwrap() {
                let listed: Vec<Vec<u8>> = borsh::from_slice(&value).unwrap();
                for item in listed {
                    rewrite.put(col, [key.as_slice(), &item].concat(), Vec::new());
                }
                rewrite.delete(col, key);
            }
        }
        older.write(rewrite).unwrap();
        let count = |col| today.scan_prefix(col, &[]).unwrap().len();
        let kept = [Column::TreeNodes, Column::History].map(|col| (col, count(col)));
        for store in [&today, &older] {
            let mut batch = WriteBatch::default();
            prune(store, 3, usize::MAX, &mut batch).unwrap();
            crate::state::history::prune(store, 3, usize::MAX, &mut batch).unwrap();
            store.write(batch).unwrap();
        }
        for col in [Column::TreeNodes, Column::History] {
            let left = today.scan_prefix(col, &[]).unwrap();
            assert_eq!(left, older.scan_prefix(col, &[]).unwrap(), "{col:?}");
        }
        assert!(
            kept.into_iter().all(|(col, before)| count(col) < before),
            "pruning deleted nothing"
        );
    }
}
