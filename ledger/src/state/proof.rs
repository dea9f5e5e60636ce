//! Checking a state proof with nothing but a trusted state root: the light-client half of
//! `?proof=true`. A proof says "state key `key` holds `value` (or nothing) in the tree whose root
//! is `root`"; a root is trusted when it is the `state_root` of a header whose commit the client
//! verified against a validator set it trusts (`tensorchain verify-proof` does both).
//!
//! Encoding (what the API serves, hex): the proof is the borsh encoding of jmt's
//! `SparseMerkleProof` (an optional leaf `{key_hash, value_hash}` and the sibling hashes from the
//! leaf up), hashed with blake3; keys and values are the raw state bytes (borsh records).

use crate::state::tree::{key_hash, Proof};
use borsh::BorshDeserialize;
use tensorchain_primitives::Hash;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("the proof is not a state proof encoding: {0}")]
    Malformed(String),
    #[error("the proof does not show this key and value under this root: {0}")]
    Mismatch(String),
}

impl ProofError {
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::Malformed(_) => "malformed_proof",
            ProofError::Mismatch(_) => "proof_mismatch",
        }
    }
}

/// The encoding `verify` takes.
pub fn encode(proof: &Proof) -> Vec<u8> {
    borsh::to_vec(proof).expect("borsh")
}

/// Checks that under state root `root`, state key `key` holds `value` (None: holds nothing).
pub fn verify(
    root: Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), ProofError> {
    let proof = Proof::try_from_slice(proof).map_err(|e| ProofError::Malformed(e.to_string()))?;
    proof
        .verify(jmt::RootHash(root.0), key_hash(key), value)
        .map_err(|e| ProofError::Mismatch(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::view::Changes;
    use crate::storage::{MemoryStore, Store, WriteBatch};

    /// A proof of a present and of an absent key verify; changing the value, the key, the root
    /// or any byte of the proof (leaf or siblings) makes it fail.
    #[test]
    fn proofs_verify_and_every_tampered_field_fails() {
        let store = MemoryStore::new();
        let changes: Changes = (0u16..300)
            .map(|i| (i.to_be_bytes().to_vec(), Some(vec![i as u8; 5])))
            .collect();
        let mut batch = WriteBatch::default();
        let root = crate::state::tree::update(&store, &changes, 0, false, &mut batch).unwrap();
        crate::state::history::put(&mut batch, &changes, 0, false);
        store.write(batch).unwrap();

        let key = 7u16.to_be_bytes();
        let (value, proof) = crate::state::tree::prove(&store, &key, 0).unwrap();
        let value = value.unwrap();
        let bytes = encode(&proof);
        assert_eq!(verify(root, &key, Some(&value), &bytes), Ok(()));

        let absent = 9999u16.to_be_bytes();
        let (none, absent_proof) = crate::state::tree::prove(&store, &absent, 0).unwrap();
        assert_eq!(none, None);
        assert_eq!(verify(root, &absent, None, &encode(&absent_proof)), Ok(()));
        assert!(verify(root, &absent, Some(&value), &encode(&absent_proof)).is_err());

        let mismatch = |r| matches!(r, Err(ProofError::Mismatch(_)));
        assert!(
            mismatch(verify(root, &key, Some(b"other"), &bytes)),
            "value"
        );
        assert!(mismatch(verify(root, &key, None, &bytes)), "value absent");
        assert!(
            mismatch(verify(root, &8u16.to_be_bytes(), Some(&value), &bytes)),
            "key"
        );
        let mut other_root = root;
        other_root.0[0] ^= 1;
        assert!(
            mismatch(verify(other_root, &key, Some(&value), &bytes)),
            "root"
        );
        // Every byte of the encoding: the leaf's key and value hashes, each sibling, the lengths.
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x40;
            assert!(verify(root, &key, Some(&value), &t).is_err(), "byte {i}");
        }
        assert!(matches!(
            verify(root, &key, Some(&value), &bytes[..bytes.len() - 1]),
            Err(ProofError::Malformed(_))
        ));
    }
}
