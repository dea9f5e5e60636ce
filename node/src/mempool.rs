//! Transactions waiting for a block: per signer, contiguous nonces from the account's next one;
//! bounded in total and per signer; duplicates refused. Admission runs the signer's queued
//! transactions and the new one against the head state, so what is admitted would apply.
//!
//! Paying transactions (and evidence) come first: other free calls (weights, axons: fee 0, signed
//! by hotkeys) are the lowest priority, at most `MAX_FREE_PER_SIGNER` per signer. A full pool makes room for a paying transaction by evicting
//! the newest free one at the tail of some signer's queue (the tail, so every queue stays a
//! contiguous nonce run), and blocks are filled with paying transactions before free ones.

use std::collections::{BTreeMap, HashSet};
use tensorchain_ledger::{Ledger, TxError};
use tensorchain_primitives::{AccountId, Call, Hash, SignedTx};
use tensorchain_rpc::SubmitError;

/// Free transactions one signer may have waiting: a hotkey needs one weights or axon call at a
/// time, and free calls cost their sender nothing, so more would only fill the pool.
const MAX_FREE_PER_SIGNER: usize = 2;

/// Free calls other than evidence: the lowest priority. Evidence is free so any node can report an
/// equivocation, but it protects the chain, so it is admitted and kept like a paying transaction.
fn low_priority(stx: &SignedTx) -> bool {
    stx.tx.fee == 0 && !matches!(stx.tx.call, Call::ReportEquivocation { .. })
}

pub struct Mempool {
    by_signer: BTreeMap<AccountId, BTreeMap<u64, SignedTx>>,
    /// When each waiting signer's queue was first seen: blocks take signers first come, first
    /// served within a priority class (key order would let a ground `0x0000…` key win every
    /// contested slot, such as a subnet's one PoW registration per block).
    arrival: BTreeMap<AccountId, u64>,
    next_arrival: u64,
    hashes: HashSet<Hash>,
    len: usize,
    max_total: usize,
    max_per_signer: usize,
}

impl Mempool {
    pub fn new(max_total: usize, max_per_signer: usize) -> Mempool {
        Mempool {
            by_signer: BTreeMap::new(),
            arrival: BTreeMap::new(),
            next_arrival: 0,
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
        let free_queued = queued.map_or(0, |q| q.values().filter(|t| low_priority(t)).count());
        if low_priority(&stx) && free_queued >= MAX_FREE_PER_SIGNER {
            return Err(SubmitError::TooManyPending(queued_len));
        }
        let full = self.len >= self.max_total;
        if full && low_priority(&stx) {
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
                ledger.signing_domain(),
                &proposer,
                next,
            )?;
        }
        tensorchain_ledger::execute::apply_tx(
            &mut view,
            &stx,
            ledger.params(),
            ledger.signing_domain(),
            &proposer,
            next,
        )?;
        // Only a transaction that would apply makes room, and never from its own signer's queue
        // (that would open a nonce gap before it).
        if full && !self.evict_free_tail(&stx.tx.signer) {
            return Err(SubmitError::MempoolFull(self.len));
        }
        self.hashes.insert(hash);
        if !self.arrival.contains_key(&stx.tx.signer) {
            self.arrival.insert(stx.tx.signer, self.next_arrival);
            self.next_arrival += 1;
        }
        self.by_signer
            .entry(stx.tx.signer)
            .or_default()
            .insert(stx.tx.nonce, stx);
        self.len += 1;
        Ok(hash)
    }

    /// Drops the free transaction at the tail of the longest queue that ends in one, other than
    /// `keep`'s (ties: the highest signer, deterministic). False if there is none.
    fn evict_free_tail(&mut self, keep: &AccountId) -> bool {
        let victim = self
            .by_signer
            .iter()
            .filter(|(signer, _)| *signer != keep)
            .filter(|(_, q)| q.values().next_back().is_some_and(low_priority))
            .max_by_key(|(signer, q)| (q.len(), **signer))
            .map(|(signer, _)| *signer);
        let Some(signer) = victim else {
            return false;
        };
        let queue = self.by_signer.get_mut(&signer).expect("victim is queued");
        let (_, tx) = queue.pop_last().expect("victim queue is not empty");
        if queue.is_empty() {
            self.by_signer.remove(&signer);
            self.arrival.remove(&signer);
        }
        self.hashes.remove(&tx.hash());
        self.len -= 1;
        true
    }

    /// Up to `max` transactions for the next block, signers interleaved by nonce rank so one busy
    /// signer cannot crowd out the rest; signers whose next transaction pays go first (all of
    /// their ranks before any free signer's), each class in the order signers were first seen.
    pub fn candidates(&self, max: usize) -> Vec<SignedTx> {
        let mut queues: Vec<(bool, u64, Vec<&SignedTx>)> = self
            .by_signer
            .iter()
            .map(|(signer, q)| {
                let first = q.values().next();
                let low = first.is_none_or(|t| low_priority(t));
                let seen = self.arrival.get(signer).copied().unwrap_or(u64::MAX);
                (low, seen, q.values().collect())
            })
            .collect();
        queues.sort_by_key(|(low, seen, _)| (*low, *seen));
        let mut out = Vec::new();
        // The classes are not interleaved with each other: free calls at rank 0 would otherwise
        // take a full block's room before a paying signer's second transaction.
        for class in [false, true] {
            let queues: Vec<&Vec<&SignedTx>> = queues
                .iter()
                .filter(|q| q.0 == class)
                .map(|q| &q.2)
                .collect();
            let deepest = queues.iter().map(|q| q.len()).max().unwrap_or(0);
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
                self.arrival.remove(&signer);
            } else {
                *queue = keep;
            }
        }
        self.len = self.by_signer.values().map(|q| q.len()).sum();
        orphaned
    }
}

#[cfg(test)]
mod policy_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tensorchain_ledger::subnet::SubnetParams;
    use tensorchain_ledger::validators::ValidatorParams;
    use tensorchain_ledger::{ChainParams, Fees, GenesisState, MemoryStore};
    use tensorchain_primitives::{Call, Commit, Keypair, Tx, Validator, RAO_PER_TAO};

    const HOTKEYS: usize = 256;

    pub(super) fn signed(ledger: &Ledger, signer: &Keypair, nonce: u64, call: Call) -> SignedTx {
        Tx {
            chain_id: "test".into(),
            signer: signer.account(),
            nonce,
            fee: ledger.params().fees.for_call(&call),
            call,
        }
        .sign(signer, ledger.signing_domain())
    }

    pub(super) fn commit(ledger: &Ledger, v: &Keypair, txs: Vec<SignedTx>) {
        let head = ledger.head();
        let built = ledger
            .build_block(
                txs,
                v.account(),
                head.time_ms + 1,
                ledger.commit(head.height).unwrap(),
            )
            .unwrap();
        assert!(built.rejected.is_empty(), "{:?}", built.rejected);
        let c = Commit::signed_by(&built.executed.block, ledger.signing_domain(), &[v]);
        ledger.commit_block(built.executed, &c).unwrap();
    }

    /// A chain whose subnet 1 holds `HOTKEYS` registered hotkeys (the owner's and 255 more).
    pub(super) fn chain_with_hotkeys() -> (Ledger, Keypair, Vec<Keypair>) {
        let (v, owner) = (Keypair::dev("validator"), Keypair::dev("owner"));
        let g = GenesisState {
            params: ChainParams {
                chain_id: "test".into(),
                block_time_ms: 1000,
                fees: Fees {
                    transfer: 1_000,
                    staking: 1_000,
                    subnet: 1_000,
                },
                sudo: None,
                subnets: SubnetParams::devnet(),
                validators: ValidatorParams::standard(32, 100),
                faucet: None,
            },
            genesis_hash: tensorchain_primitives::Hash::digest(b"mempool"),
            time_ms: 1,
            balances: vec![(owner.account(), 1_000_000 * RAO_PER_TAO)],
            stakes: vec![],
            validators: vec![Validator {
                hotkey: v.account(),
                power: 1,
            }],
        };
        let ledger = Ledger::open(Arc::new(MemoryStore::new()), &g).unwrap();
        let hotkeys: Vec<Keypair> = (0..HOTKEYS)
            .map(|i| Keypair::dev(&format!("spam/{i}")))
            .collect();
        let mut txs = vec![signed(
            &ledger,
            &owner,
            0,
            Call::RegisterSubnet {
                hotkey: hotkeys[0].account(),
                max_cost: u64::MAX,
                identity: String::new(),
            },
        )];
        for (i, hk) in hotkeys.iter().enumerate().skip(1) {
            txs.push(signed(
                &ledger,
                &owner,
                i as u64,
                Call::BurnedRegister {
                    netuid: 1,
                    hotkey: hk.account(),
                    max_cost: u64::MAX,
                },
            ));
        }
        commit(&ledger, &v, txs);
        (ledger, owner, hotkeys)
    }

    #[test]
    fn free_call_spam_cannot_keep_a_paying_transfer_out() {
        let (ledger, owner, hotkeys) = chain_with_hotkeys();
        let mut pool = Mempool::new(HOTKEYS, 4);
        for hk in &hotkeys {
            let axon = Call::ServeAxon {
                netuid: 1,
                ip: [0; 16],
                port: 8091,
                protocol: 4,
            };
            pool.admit(signed(&ledger, hk, 0, axon), &ledger).unwrap();
        }
        assert_eq!(pool.len(), HOTKEYS, "the free calls fill the pool");
        let spam = Call::ServeAxon {
            netuid: 1,
            ip: [0; 16],
            port: 8092,
            protocol: 4,
        };
        let more = signed(&ledger, &Keypair::dev("spam/0"), 1, spam.clone());
        assert!(matches!(
            pool.admit(more, &ledger),
            Err(SubmitError::MempoolFull(_))
        ));
        let transfer = Call::Transfer {
            to: Keypair::dev("someone").account(),
            amount: RAO_PER_TAO,
        };
        let nonce = ledger.account(&owner.account()).unwrap().unwrap().nonce;
        let paying = signed(&ledger, &owner, nonce, transfer);
        let hash = pool
            .admit(paying, &ledger)
            .expect("a paying tx evicts a free one");
        assert!(pool.contains(&hash));
        assert_eq!(pool.len(), HOTKEYS);
        let first = pool.candidates(1);
        assert_eq!(
            first[0].hash(),
            hash,
            "paying transactions fill blocks first"
        );
    }

    #[test]
    fn blocks_take_free_calls_first_come_first_served_not_by_key() {
        let (ledger, _, hotkeys) = chain_with_hotkeys();
        let mut pool = Mempool::new(HOTKEYS, 4);
        let axon = |hk: &Keypair| {
            let call = Call::ServeAxon {
                netuid: 1,
                ip: [0; 16],
                port: 8091,
                protocol: 4,
            };
            signed(&ledger, hk, 0, call)
        };
        // The two signers in descending key order: the larger key arrives first.
        let (a, b) = if hotkeys[1].account() > hotkeys[2].account() {
            (&hotkeys[1], &hotkeys[2])
        } else {
            (&hotkeys[2], &hotkeys[1])
        };
        let first = pool.admit(axon(a), &ledger).unwrap();
        pool.admit(axon(b), &ledger).unwrap();
        assert_eq!(
            pool.candidates(1)[0].hash(),
            first,
            "first seen, first in the block"
        );
    }

    #[test]
    fn one_signer_holds_at_most_two_free_calls() {
        let (ledger, _, hotkeys) = chain_with_hotkeys();
        let mut pool = Mempool::new(HOTKEYS, 64);
        let hk = &hotkeys[1];
        let axon = Call::ServeAxon {
            netuid: 1,
            ip: [0; 16],
            port: 8091,
            protocol: 4,
        };
        let self_weight = Call::SetWeights {
            netuid: 1,
            uids: vec![1],
            values: vec![1],
            version_key: 0,
        };
        pool.admit(signed(&ledger, hk, 0, axon.clone()), &ledger)
            .unwrap();
        pool.admit(signed(&ledger, hk, 1, self_weight), &ledger)
            .unwrap();
        let third = pool.admit(signed(&ledger, hk, 2, axon), &ledger);
        assert!(
            matches!(third, Err(SubmitError::TooManyPending(2))),
            "{third:?}"
        );
    }
}
