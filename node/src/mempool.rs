//! Transactions waiting for a block: per signer, contiguous nonces from the account's next one;
//! bounded in total and per signer; duplicates refused. Admission runs the signer's queued
//! transactions and the new one against the head state, so what is admitted would apply.

use std::collections::{BTreeMap, HashSet};
use tensorchain_ledger::{Ledger, TxError};
use tensorchain_primitives::{AccountId, Hash, SignedTx};
use tensorchain_rpc::SubmitError;

pub struct Mempool {
    by_signer: BTreeMap<AccountId, BTreeMap<u64, SignedTx>>,
    hashes: HashSet<Hash>,
    len: usize,
    max_total: usize,
    max_per_signer: usize,
}

impl Mempool {
    pub fn new(max_total: usize, max_per_signer: usize) -> Mempool {
        Mempool {
            by_signer: BTreeMap::new(),
            hashes: HashSet::new(),
            len: 0,
            max_total,
            max_per_signer,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains(hash)
    }

    pub fn pending_for(&self, signer: &AccountId) -> usize {
        self.by_signer.get(signer).map_or(0, |q| q.len())
    }

    pub fn admit(&mut self, stx: SignedTx, ledger: &Ledger) -> Result<Hash, SubmitError> {
        let hash = stx.hash();
        if self.hashes.contains(&hash)
            || ledger.tx_location(&hash).map_err(TxError::from)?.is_some()
        {
            return Err(SubmitError::AlreadyKnown(hash));
        }
        let queued = self.by_signer.get(&stx.tx.signer);
        let queued_len = queued.map_or(0, |q| q.len());
        if queued_len >= self.max_per_signer {
            return Err(SubmitError::TooManyPending(queued_len));
        }
        if self.len >= self.max_total {
            return Err(SubmitError::MempoolFull(self.len));
        }
        let mut view = ledger.view();
        let proposer = AccountId::default();
        let next = ledger.head().height + 1;
        for prior in queued.into_iter().flat_map(|q| q.values()) {
            tensorchain_ledger::execute::apply_tx(
                &mut view,
                prior,
                ledger.params(),
                &proposer,
                next,
            )?;
        }
        tensorchain_ledger::execute::apply_tx(&mut view, &stx, ledger.params(), &proposer, next)?;
        self.hashes.insert(hash);
        self.by_signer
            .entry(stx.tx.signer)
            .or_default()
            .insert(stx.tx.nonce, stx);
        self.len += 1;
        Ok(hash)
    }

    /// Up to `max` transactions for the next block, signers interleaved by nonce rank so one busy
    /// signer cannot crowd out the rest.
    pub fn candidates(&self, max: usize) -> Vec<SignedTx> {
        let queues: Vec<Vec<&SignedTx>> = self
            .by_signer
            .values()
            .map(|q| q.values().collect())
            .collect();
        let deepest = queues.iter().map(|q| q.len()).max().unwrap_or(0);
        let mut out = Vec::new();
        for rank in 0..deepest {
            for q in &queues {
                if let Some(tx) = q.get(rank) {
                    if out.len() == max {
                        return out;
                    }
                    out.push((*tx).clone());
                }
            }
        }
        out
    }

    /// Drops the given transactions (included or rejected), then whatever no longer lines up with
    /// its signer's nonce. Returns the hashes dropped for a nonce gap.
    pub fn prune(&mut self, done: &[Hash], ledger: &Ledger) -> Vec<Hash> {
        let done: HashSet<&Hash> = done.iter().collect();
        let mut orphaned = Vec::new();
        let signers: Vec<AccountId> = self.by_signer.keys().copied().collect();
        for signer in signers {
            let next = ledger
                .account(&signer)
                .ok()
                .flatten()
                .map_or(0, |a| a.nonce);
            let queue = self.by_signer.get_mut(&signer).expect("listed signer");
            let mut expected = next;
            let mut keep = BTreeMap::new();
            for (nonce, tx) in std::mem::take(queue) {
                let hash = tx.hash();
                if done.contains(&hash) || nonce < next {
                    self.hashes.remove(&hash);
                    continue;
                }
                if nonce == expected {
                    expected += 1;
                    keep.insert(nonce, tx);
                } else {
                    self.hashes.remove(&hash);
                    orphaned.push(hash);
                }
            }
            if keep.is_empty() {
                self.by_signer.remove(&signer);
            } else {
                *queue = keep;
            }
        }
        self.len = self.by_signer.values().map(|q| q.len()).sum();
        orphaned
    }
}
