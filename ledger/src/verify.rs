//! A transaction's signature is verified once per node. The stateless checks (size, chain id,
//! signature by the chain's ZIP-215 rule, fee) run on every core, and a bounded cache of the hashes whose
//! signature verified here lets block building, proposal validation and sync skip transactions
//! this node already checked (at admission, say). A transaction's hash covers its signature, so a
//! hit proves these very bytes verified; anything not in the cache is verified, in parallel,
//! before the sequential execution pass. Admission verifies on its own thread pool, so REST
//! floods never queue in front of consensus on rayon's global pool; only what the node keeps
//! (pool admissions, executed blocks) enters the cache. Signatures are checked in ZIP-215 batches
//! (`tensorchain_primitives::verify_many`), one per core, which answer each signature exactly as
//! it is answered alone: every node accepts the same set however it groups them.

use crate::runtime::params::ChainParams;
use crate::runtime::{check_envelope, check_stateless_given, BlockContext, Event, TxError};
use crate::state::view::StateView;
use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use tensorchain_primitives::{verify_signatures, Hash, SignatureError, SignedTx, SigningDomain};

/// Hashes the cache holds at most: well above a full mempool and a few blocks of transactions
/// that came by gossip or in proposals. A hash is 32 bytes; the cache stays under ~10 MiB.
pub const VERIFIED_CACHE_CAPACITY: usize = 1 << 17;

/// Signatures checked in one ZIP-215 batch at most. Larger batches are cheaper per signature
/// (~2.2x a single check at 256, ~2.5x at 1,024), but a block's misses are split among the cores
/// first: with fewer cores than `misses / MAX_BATCH` each core takes several batches.
const MAX_BATCH: usize = 512;

/// Fewer signatures than this go to no other thread: one batch on the calling thread costs less
/// than waking another (a few microseconds of verification against a context switch each way).
const MIN_SHARE: usize = 64;

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
    /// Signatures checked through this cache (tests count them).
    verifications: AtomicU64,
    /// Batches of misses verified on a thread pool (tests count them).
    parallel_runs: AtomicU64,
    admission: OnceLock<Option<rayon::ThreadPool>>,
}

impl SigCache {
    pub fn new(capacity: usize) -> SigCache {
        SigCache {
            generations: Mutex::new([HashSet::new(), HashSet::new()]),
            half: (capacity / 2).max(1),
            verifications: AtomicU64::new(0),
            parallel_runs: AtomicU64::new(0),
            admission: OnceLock::new(),
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

    pub(crate) fn insert_all(&self, hashes: impl IntoIterator<Item = Hash>) {
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

    /// Caches a transaction this node keeps: admitted to its pool, or executed in a block. Only
    /// these go in, not every transaction whose signature verified, so junk that verifies but is
    /// refused (a stale nonce, no balance) cannot flush what the pool holds.
    pub fn remember(&self, vtx: &VerifiedTx) {
        self.insert_all([vtx.hash]);
    }

    /// Drops hashes that will not be checked again (their block is committed).
    pub fn forget(&self, hashes: &[Hash]) {
        let mut g = self.generations.lock().expect("signature cache lock");
        for hash in hashes {
            g[0].remove(hash);
            g[1].remove(hash);
        }
    }

    /// The stateless checks of each transaction, the signature skipped for hashes in the cache.
    /// Hashing and cache lookups are sequential (a blake3 of a few hundred bytes each), and only
    /// the misses' signatures run in parallel, on the pool of the calling thread (rayon's global
    /// one for block building and validation; admission has its own, see `verify_all`): a block
    /// of transactions this node verified submits no work to any pool, so it never waits
    /// behind other work there. Nothing is cached: callers cache what they keep (`remember`, or
    /// a block's transactions once executed). Each result comes with the transaction's hash and
    /// encoded size, in the order given.
    pub fn check_all(
        &self,
        txs: &[SignedTx],
        params: &ChainParams,
        domain: &SigningDomain,
    ) -> Vec<(Hash, usize, Result<(), TxError>)> {
        let ids: Vec<(Hash, usize)> = txs
            .iter()
            .map(|stx| {
                let bytes = stx.to_bytes();
                (Hash::digest(&bytes), bytes.len())
            })
            .collect();
        let known: Vec<bool> = {
            let g = self.generations.lock().expect("signature cache lock");
            ids.iter()
                .map(|(h, _)| g[0].contains(h) || g[1].contains(h))
                .collect()
        };
        // Signatures to check: the misses whose size and chain id pass (the others fail before
        // their signature would be checked), split into one batch per core.
        let misses: Vec<usize> = (0..txs.len())
            .filter(|&i| !known[i] && check_envelope(&txs[i], params, ids[i].1).is_ok())
            .collect();
        self.verifications
            .fetch_add(misses.len() as u64, Ordering::Relaxed);
        let batch_of = |chunk: &[usize]| verify_signatures(chunk.iter().map(|&i| &txs[i]), domain);
        let per_core = misses
            .len()
            .div_ceil(rayon::current_num_threads().max(1))
            .clamp(MIN_SHARE, MAX_BATCH);
        let checked: Vec<Result<(), SignatureError>> = if misses.len() > per_core {
            self.parallel_runs.fetch_add(1, Ordering::Relaxed);
            let batches: Vec<Vec<_>> = misses.par_chunks(per_core).map(batch_of).collect();
            batches.into_iter().flatten().collect()
        } else {
            batch_of(&misses)
        };
        let mut signature: Vec<Option<Result<(), SignatureError>>> = vec![None; txs.len()];
        for (&i, r) in misses.iter().zip(checked) {
            signature[i] = Some(r);
        }
        signature
            .into_iter()
            .enumerate()
            .map(|(i, sig)| {
                let r = check_stateless_given(&txs[i], params, ids[i].1, || match sig {
                    Some(checked) => checked,
                    None if known[i] => Ok(()),
                    // Failed its envelope: never asked. Refused, were it ever.
                    None => Err(SignatureError::BadSignature),
                });
                (ids[i].0, ids[i].1, r)
            })
            .collect()
    }

    /// Batches of signatures handed to a thread pool so far (tests count them).
    pub fn parallel_runs(&self) -> u64 {
        self.parallel_runs.load(Ordering::Relaxed)
    }

    /// The pool admission verifies on: its own threads (as many as cores), so a flood of REST
    /// submissions queues there and never in front of block building or validation on rayon's
    /// global pool. `None` if its threads could not be started (admission then uses the global
    /// pool).
    pub fn admission_pool(&self) -> Option<&rayon::ThreadPool> {
        self.admission
            .get_or_init(|| {
                let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("admission-verify-{i}"))
                    .start_handler(|_| yield_to_consensus())
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// Runs `job` on the admission pool (rayon's global one if its threads could not start):
    /// a whole submission, so that its signature checks (`verify_all`, which then runs on the
    /// same thread) need no further hand-off.
    pub fn spawn_admission(&self, job: impl FnOnce() + Send + 'static) {
        match self.admission_pool() {
            Some(pool) => pool.spawn(job),
            None => rayon::spawn(job),
        }
    }

    /// `check_all` on the admission pool, keeping each transaction that passed as a
    /// `VerifiedTx`; a failure comes with the transaction's hash.
    pub fn verify_all(
        &self,
        txs: Vec<SignedTx>,
        params: &ChainParams,
        domain: &SigningDomain,
    ) -> Vec<Result<VerifiedTx, (Hash, TxError)>> {
        let checked = match self.admission_pool() {
            Some(pool) => pool.install(|| self.check_all(&txs, params, domain)),
            None => self.check_all(&txs, params, domain),
        };
        txs.into_iter()
            .zip(checked)
            .map(|(stx, (hash, len, r))| match r {
                Ok(()) => Ok(VerifiedTx { stx, hash, len }),
                Err(e) => Err((hash, e)),
            })
            .collect()
    }
}

/// As `apply_tx` for a transaction whose stateless checks passed on this node: the stateful
/// checks and the execution only.
pub fn apply_verified(
    view: &mut StateView,
    stx: &VerifiedTx,
    ctx: BlockContext<'_>,
) -> Result<Vec<Event>, TxError> {
    crate::runtime::apply_checked(view, stx.tx(), ctx)
}

/// Lowers the calling thread's scheduling priority (nice +10) so that admission's signature
/// checks yield the cores to consensus: building, validating and committing blocks, and votes.
/// Offered more transactions than the machine can verify, a node then admits fewer (REST answers
/// `overloaded` as the verify slots stay full) instead of letting every proposal and vote be
/// late: without it four validators on two cores under load missed their propose timeouts
/// round after round. Best effort: where the call is refused, the thread keeps its priority.
fn yield_to_consensus() {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    // setpriority(2) on one thread: std has no way to set a thread's nice.
    // SAFETY: plain syscalls on this thread's own id; no memory is shared with them.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        // Ten steps below the node's own priority (not an absolute 10, which could raise a node
        // started below it); -1 is also an error value of getpriority, harmless here.
        let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (nice + 10).min(19));
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
