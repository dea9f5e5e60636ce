//! A transaction's signature is verified once per node. The stateless checks (size, chain id,
//! signature with `verify_strict`, fee) run on every core, and a bounded cache of the hashes whose
//! signature verified here lets block building, proposal validation and sync skip transactions
//! this node already checked (at admission, say). A transaction's hash covers its signature, so a
//! hit proves these very bytes verified; anything not in the cache is verified, in parallel,
//! before the sequential execution pass. ed25519 batch verification is not used: it accepts
//! signatures `verify_strict` refuses, and every node must accept exactly the same set.

use crate::execute::{check_stateless_given, TxError};
use crate::state::ChainParams;
use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tensorchain_primitives::{Hash, SignedTx, SigningDomain};

/// Hashes the cache holds at most: well above a full mempool and a few blocks of transactions
/// that came by gossip or in proposals. A hash is 32 bytes; the cache stays under ~10 MiB.
pub const VERIFIED_CACHE_CAPACITY: usize = 1 << 17;

/// A transaction whose stateless checks passed on this node, with its hash and encoded size.
/// Only this module makes one, so holding it is the proof: `execute::apply_verified` runs only
/// the stateful part for it.
#[derive(Debug, Clone)]
pub struct VerifiedTx {
    stx: SignedTx,
    hash: Hash,
    len: usize,
}

impl VerifiedTx {
    pub fn tx(&self) -> &SignedTx {
        &self.stx
    }

    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Its borsh-encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.len
    }

    pub fn into_inner(self) -> SignedTx {
        self.stx
    }
}

/// The hashes whose signature verified here, in two generations: inserts go to the young one;
/// when it is full it becomes the old one and the previous old one is dropped. Bounded at
/// `capacity`, O(1) per operation, and what was verified recently is kept.
pub struct SigCache {
    generations: Mutex<[HashSet<Hash>; 2]>,
    half: usize,
    /// `verify_strict` calls made through this cache (tests count them).
    verifications: AtomicU64,
}

impl SigCache {
    pub fn new(capacity: usize) -> SigCache {
        SigCache {
            generations: Mutex::new([HashSet::new(), HashSet::new()]),
            half: (capacity / 2).max(1),
            verifications: AtomicU64::new(0),
        }
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        let g = self.generations.lock().expect("signature cache lock");
        g[0].contains(hash) || g[1].contains(hash)
    }

    pub fn len(&self) -> usize {
        let g = self.generations.lock().expect("signature cache lock");
        g[0].len() + g[1].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Signature verifications made so far.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    fn insert_all(&self, hashes: impl IntoIterator<Item = Hash>) {
        let mut g = self.generations.lock().expect("signature cache lock");
        for hash in hashes {
            if g[1].contains(&hash) {
                continue;
            }
            if g[0].len() >= self.half {
                g[1] = std::mem::take(&mut g[0]);
            }
            g[0].insert(hash);
        }
    }

    /// Drops hashes that will not be checked again (their block is committed).
    pub fn forget(&self, hashes: &[Hash]) {
        let mut g = self.generations.lock().expect("signature cache lock");
        for hash in hashes {
            g[0].remove(hash);
            g[1].remove(hash);
        }
    }

    /// The stateless checks of each transaction, in parallel on rayon's pool (inline for one),
    /// the signature skipped for hashes in the cache; the hashes that verified are added. Each
    /// result comes with the transaction's hash and encoded size, in the order given.
    pub fn check_all(
        &self,
        txs: &[SignedTx],
        params: &ChainParams,
        domain: &SigningDomain,
    ) -> Vec<(Hash, usize, Result<(), TxError>)> {
        let encode = |stx: &SignedTx| {
            let bytes = stx.to_bytes();
            (Hash::digest(&bytes), bytes.len())
        };
        let parallel = txs.len() > 1;
        let ids: Vec<(Hash, usize)> = if parallel {
            txs.par_iter().map(encode).collect()
        } else {
            txs.iter().map(encode).collect()
        };
        let known: Vec<bool> = {
            let g = self.generations.lock().expect("signature cache lock");
            ids.iter()
                .map(|(h, _)| g[0].contains(h) || g[1].contains(h))
                .collect()
        };
        let check = |(stx, (&(hash, len), &hit)): (&SignedTx, (&(Hash, usize), &bool))| {
            let verified = check_stateless_given(stx, params, len, || {
                if hit {
                    return Ok(());
                }
                self.verifications.fetch_add(1, Ordering::Relaxed);
                stx.verify_signature(domain)
            });
            (hash, len, verified)
        };
        let pairs = txs.iter().zip(ids.iter().zip(known.iter()));
        let results: Vec<(Hash, usize, Result<(), TxError>)> = if parallel {
            txs.par_iter()
                .zip(ids.par_iter().zip(known.par_iter()))
                .map(check)
                .collect()
        } else {
            pairs.map(check).collect()
        };
        let fresh = results
            .iter()
            .zip(&known)
            .filter(|((_, _, r), hit)| r.is_ok() && !**hit)
            .map(|((h, _, _), _)| *h);
        self.insert_all(fresh);
        results
    }

    /// `check_all`, keeping each transaction that passed as a `VerifiedTx`; a failure comes
    /// with the transaction's hash.
    pub fn verify_all(
        &self,
        txs: Vec<SignedTx>,
        params: &ChainParams,
        domain: &SigningDomain,
    ) -> Vec<Result<VerifiedTx, (Hash, TxError)>> {
        let checked = self.check_all(&txs, params, domain);
        txs.into_iter()
            .zip(checked)
            .map(|(stx, (hash, len, r))| match r {
                Ok(()) => Ok(VerifiedTx { stx, hash, len }),
                Err(e) => Err((hash, e)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_keeps_the_recent_half() {
        let cache = SigCache::new(4);
        let h = |i: u8| Hash::digest(&[i]);
        cache.insert_all((0..10).map(h));
        assert!(cache.len() <= 4, "{}", cache.len());
        assert!(cache.contains(&h(9)) && cache.contains(&h(8)));
        assert!(!cache.contains(&h(0)));
        cache.forget(&[h(9)]);
        assert!(!cache.contains(&h(9)));
    }
}
