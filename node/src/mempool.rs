//! Transactions waiting for a block: per signer, contiguous nonces from the account's next one;
//! bounded in total and per signer; duplicates refused. Only `VerifiedTx`s get in: their
//! stateless checks (signature included) ran before, outside the pool's lock.
//!
//! Admission is O(1) in the signer's queue: the pool keeps what each signer's queued transactions
//! did to its account (free, staked, unbonding; the nonce is the queue's end). The nonce (the
//! queue's next) and the free balance are checked against that first, so junk is refused before
//! anything runs; then the new transaction runs once against the head state with the signer's
//! account set to that. A transaction other than a transfer, behind a queued one other than a
//! transfer (stake added then removed, a subnet registered then configured), runs on the
//! signer's replayed queue instead, since such calls read state beyond the account: the queue is
//! replayed once (no signature checks; at most `max_per_signer` executions) and what it wrote is
//! kept until the next block, so each later transaction of the signer executes once. A signer
//! holds at most `MAX_OTHERS_PER_SIGNER` calls other than transfers.
//!
//! Priority is fee per encoded byte, lengths below `PRIORITY_MIN_LEN` counted as that. Fees are fixed by the chain spec per kind of call (a
//! transfer pays `fees.transfer` whatever its size), so this ranks kinds of call by what they pay
//! for the room they take, and smaller transactions of a kind above larger ones; nobody can bid.
//! Free calls (weights, axons: fee 0, signed by hotkeys) are the lowest, at most
//! `MAX_FREE_PER_SIGNER` per signer; evidence is free but above every fee (it protects the chain).
//! A full pool makes room for a transaction by evicting the lowest-priority tail of another
//! signer's queue (the tail, so every queue stays a contiguous nonce run), only if it is strictly
//! lower. Blocks take the highest-priority next transaction of any signer first; among equals,
//! lower nonce rank first (signers interleaved, so one busy signer cannot crowd out the rest),
//! then the signer first seen.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use tensorchain_ledger::state::view::Changes;
use tensorchain_ledger::verify::apply_verified;
use tensorchain_ledger::{Account, Ledger, TxError, VerifiedTx};
use tensorchain_primitives::{AccountId, Call, Hash, SignedTx};
use tensorchain_rpc::SubmitError;

/// Free transactions one signer may have waiting: a hotkey needs one weights or axon call at a
/// time, and free calls cost their sender nothing, so more would only fill the pool.
const MAX_FREE_PER_SIGNER: usize = 2;
/// Admission replays a signer's queue against the next block without knowing its proposer:
/// fees go to nobody in particular.
const NO_PROPOSER: AccountId = AccountId([0; 32]);

/// Calls other than transfers one signer may have waiting. Each may read state beyond the
/// account, so one behind another runs on the signer's replayed queue (`Overlay`); they are
/// also what a block most often rejects, so a signer's run of them is kept short.
pub(crate) const MAX_OTHERS_PER_SIGNER: usize = 16;

/// Free calls other than evidence: the lowest priority. Evidence is free so any node can report an
/// equivocation, but it protects the chain, so it is admitted and kept like a paying transaction.
fn low_priority(stx: &SignedTx) -> bool {
    stx.tx.fee == 0 && !matches!(stx.tx.call, Call::ReportEquivocation { .. })
}

/// Fee per encoded byte, scaled by 2^32 so integer division keeps fees of a few hundred rao on
/// transactions of a few hundred bytes apart; free calls 0, evidence above every fee.
fn priority(vtx: &VerifiedTx) -> u128 {
    let stx = vtx.tx();
    if matches!(stx.tx.call, Call::ReportEquivocation { .. }) {
        return u128::MAX;
    }
    (u128::from(stx.tx.fee) << 32) / vtx.encoded_len().max(PRIORITY_MIN_LEN) as u128
}

/// The least length priority divides by: a transfer is under 200 bytes and other ordinary
/// calls (an unstake's 33 bytes of call) are shorter, so equal fees tie rather than a shorter
/// call outranking and evicting transfers; only longer calls (a subnet registration with a long
/// identity, over 200 bytes) rank lower.
const PRIORITY_MIN_LEN: usize = 200;

/// What transactions did to their signer's account (the nonce aside).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Delta {
    free: i128,
    staked: i128,
    unbonding: i128,
}

impl Delta {
    fn between(before: &Account, after: &Account) -> Delta {
        Delta {
            free: i128::from(after.free) - i128::from(before.free),
            staked: i128::from(after.staked) - i128::from(before.staked),
            unbonding: i128::from(after.unbonding) - i128::from(before.unbonding),
        }
    }

    fn add(self, o: Delta) -> Delta {
        Delta {
            free: self.free + o.free,
            staked: self.staked + o.staked,
            unbonding: self.unbonding + o.unbonding,
        }
    }

    /// `account` as the queued transactions leave it (clamped: state that moved since they were
    /// admitted may leave less than they counted on, and the new transaction is checked against
    /// that).
    fn applied_to(self, account: Account, next_nonce: u64) -> Account {
        let at = |v: u64, d: i128| (i128::from(v) + d).clamp(0, i128::from(u64::MAX)) as u64;
        Account {
            free: at(account.free, self.free),
            staked: at(account.staked, self.staked),
            unbonding: at(account.unbonding, self.unbonding),
            nonce: account.nonce.max(next_nonce),
        }
    }
}

struct Pooled {
    vtx: VerifiedTx,
    priority: u128,
    /// What it did to its signer's account when it was admitted.
    delta: Delta,
}

struct Queue {
    txs: BTreeMap<u64, Pooled>,
    /// When the signer was first seen (first come, first served among equals).
    arrival: u64,
    /// Queued free calls (not evidence).
    free_calls: usize,
    /// Queued calls other than transfers: a non-transfer behind one replays the queue.
    others: usize,
    /// The sum of the queued transactions' deltas.
    delta: Delta,
}

impl Queue {
    fn new(arrival: u64) -> Queue {
        Queue {
            txs: BTreeMap::new(),
            arrival,
            free_calls: 0,
            others: 0,
            delta: Delta::default(),
        }
    }

    fn count(&mut self, p: &Pooled, sign: i128) {
        let stx = p.vtx.tx();
        let step = |n: usize| (n as i128 + sign) as usize;
        if low_priority(stx) {
            self.free_calls = step(self.free_calls);
        }
        if !matches!(stx.tx.call, Call::Transfer { .. }) {
            self.others = step(self.others);
        }
        let d = p.delta;
        self.delta = self.delta.add(Delta {
            free: d.free * sign,
            staked: d.staked * sign,
            unbonding: d.unbonding * sign,
        });
    }

    fn push(&mut self, p: Pooled) {
        self.count(&p, 1);
        self.txs.insert(p.vtx.tx().tx.nonce, p);
    }

    /// The nonce a transaction after the queued ones must carry.
    fn next_nonce(&self) -> u64 {
        self.txs.keys().next_back().map_or(0, |n| n + 1)
    }

    fn pop_last(&mut self) -> Option<Pooled> {
        let (_, p) = self.txs.pop_last()?;
        self.count(&p, -1);
        Some(p)
    }
}

/// A queue's tail as eviction ranks it: lowest priority first, then the longest queue, then the
/// highest signer (deterministic).
type TailKey = (u128, Reverse<usize>, Reverse<AccountId>);

fn tail_key(signer: &AccountId, q: &Queue) -> Option<TailKey> {
    let (_, tail) = q.txs.last_key_value()?;
    Some((tail.priority, Reverse(q.txs.len()), Reverse(*signer)))
}

/// What a signer's queued transactions wrote to state, replayed once for a non-transfer behind a
/// queued non-transfer and kept, so the signer's next transactions each execute once on top of
/// it; the error when the replay failed (state moved under the queue: it is pruned at the next
/// block). Dropped when the queue loses its tail and at every block.
type Overlay = Result<Changes, TxError>;

/// The cheap checks first, against the signer's account as its queue leaves it (the committed
/// account plus the queue's delta, O(1)): the nonce must be the queue's next, and the free
/// balance must cover the fee and what the call spends. Junk is refused here, before any
/// execution, with the error executing it would give.
fn precheck(vtx: &VerifiedTx, queue: Option<&Queue>, ledger: &Ledger) -> Result<(), TxError> {
    let tx = &vtx.tx().tx;
    let committed = ledger.account(&tx.signer)?;
    if committed.is_none() && tx.fee > 0 {
        return Err(TxError::AccountNotFound { account: tx.signer });
    }
    let committed = committed.unwrap_or_default();
    let account = match queue {
        Some(q) => q.delta.applied_to(committed, q.next_nonce()),
        None => committed,
    };
    if tx.nonce != account.nonce {
        return Err(TxError::BadNonce {
            expected: account.nonce,
            got: tx.nonce,
        });
    }
    // What leaves the free balance with the fee; unstakes may pay the fee from what they free,
    // and a zero amount is its own error, so those are left to execution.
    let spend = match &tx.call {
        Call::Transfer { amount, .. } | Call::AddStake { amount, .. } if *amount > 0 => *amount,
        Call::Transfer { .. }
        | Call::AddStake { .. }
        | Call::RemoveStake { .. }
        | Call::RemoveAllStake { .. } => return Ok(()),
        _ => 0,
    };
    match spend.checked_add(tx.fee) {
        Some(needed) if account.free < needed => Err(TxError::InsufficientBalance {
            needed,
            available: account.free,
        }),
        _ => Ok(()),
    }
}

/// Runs the signer's queued transactions against the head state (no signature checks);
/// `executions` counts them.
fn replay(queue: &Queue, ledger: &Ledger, executions: &mut u64) -> Overlay {
    let mut view = ledger.view();
    let ctx = ledger.block_context(&NO_PROPOSER, ledger.next_height());
    for prior in queue.txs.values() {
        *executions += 1;
        apply_verified(&mut view, &prior.vtx, ctx)?;
    }
    Ok(view.into_changes())
}

/// A transaction the pool took, and the one it evicted to make room, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    pub hash: Hash,
    pub evicted: Option<Hash>,
}

pub struct Mempool {
    by_signer: HashMap<AccountId, Queue>,
    /// Every queued transaction's signer, by hash.
    hashes: HashMap<Hash, AccountId>,
    /// Every queue's tail, lowest first: what a full pool evicts.
    tails: BTreeSet<TailKey>,
    /// Replayed queues (at most one per queued signer, each what its queue wrote).
    overlays: HashMap<AccountId, Overlay>,
    next_arrival: u64,
    len: usize,
    max_total: usize,
    max_per_signer: usize,
    /// Transactions executed against state by admission, replays included (tests count them).
    executions: u64,
}

impl Mempool {
    pub fn new(max_total: usize, max_per_signer: usize) -> Mempool {
        Mempool {
            by_signer: HashMap::new(),
            hashes: HashMap::new(),
            tails: BTreeSet::new(),
            overlays: HashMap::new(),
            next_arrival: 0,
            len: 0,
            max_total,
            max_per_signer,
            executions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains_key(hash)
    }

    pub fn pending_for(&self, signer: &AccountId) -> usize {
        self.by_signer.get(signer).map_or(0, |q| q.txs.len())
    }

    /// Transactions admission has executed against state so far.
    pub fn executions(&self) -> u64 {
        self.executions
    }

    /// Queues a transaction whose stateless checks passed, if it would apply after its signer's
    /// queued ones, within the bounds; a full pool evicts a lower-priority tail for it.
    pub fn admit(&mut self, vtx: VerifiedTx, ledger: &Ledger) -> Result<Admitted, SubmitError> {
        let hash = vtx.hash();
        if self.hashes.contains_key(&hash)
            || ledger.tx_location(&hash).map_err(TxError::from)?.is_some()
        {
            return Err(SubmitError::AlreadyKnown(hash));
        }
        let stx = vtx.tx();
        let signer = stx.tx.signer;
        let queue = self.by_signer.get(&signer);
        let queued_len = queue.map_or(0, |q| q.txs.len());
        if queued_len >= self.max_per_signer {
            return Err(SubmitError::TooManyPending(queued_len));
        }
        let free_queued = queue.map_or(0, |q| q.free_calls);
        if low_priority(stx) && free_queued >= MAX_FREE_PER_SIGNER {
            return Err(SubmitError::TooManyPending(queued_len));
        }
        let others = queue.map_or(0, |q| q.others);
        let transfer = matches!(stx.tx.call, Call::Transfer { .. });
        if !transfer && others >= MAX_OTHERS_PER_SIGNER {
            return Err(SubmitError::TooManyPending(queued_len));
        }
        precheck(&vtx, queue, ledger)?;
        let prio = priority(&vtx);
        // Full: only a transaction above some other signer's tail gets in (the tail goes), and
        // only once it is known to apply.
        let victim = if self.len >= self.max_total {
            match self.lowest_tail_below(prio, &signer) {
                Some(v) => Some(v),
                None => return Err(SubmitError::MempoolFull(self.len)),
            }
        } else {
            None
        };
        let delta = self.execute(&vtx, ledger)?;
        // Cached only now it is kept, so refused junk never flushes the cache.
        ledger.verified().remember(&vtx);
        let evicted = victim.map(|v| self.evict_tail(&v));
        self.insert(
            signer,
            Pooled {
                vtx,
                priority: prio,
                delta,
            },
        );
        Ok(Admitted { hash, evicted })
    }

    /// Runs `vtx` against the head state as its signer's queue leaves it; returns what it did to
    /// the signer's account. A transfer, or anything behind transfers only, runs on the head
    /// state with the signer's account set from the queue's delta (transfers read nothing else);
    /// a non-transfer behind a queued non-transfer runs on the queue's overlay, replayed once.
    fn execute(&mut self, vtx: &VerifiedTx, ledger: &Ledger) -> Result<Delta, TxError> {
        let signer = vtx.tx().tx.signer;
        let transfer = matches!(vtx.tx().tx.call, Call::Transfer { .. });
        let queue = self.by_signer.get(&signer);
        let overlay = match self.overlays.remove(&signer) {
            Some(Err(e)) if transfer => {
                self.overlays.insert(signer, Err(e));
                None
            }
            Some(o) => Some(o),
            None => match queue {
                Some(q) if q.others > 0 && !transfer => {
                    Some(replay(q, ledger, &mut self.executions))
                }
                _ => None,
            },
        };
        let overlaid = overlay.is_some();
        let mut view = match overlay {
            Some(Err(e)) => {
                self.overlays.insert(signer, Err(e.clone()));
                return Err(e);
            }
            Some(Ok(changes)) => ledger.view_with(changes),
            None => {
                let mut view = ledger.view();
                if let Some(q) = queue {
                    let committed = view.account(&signer)?.unwrap_or_default();
                    view.set_account(&signer, &q.delta.applied_to(committed, q.next_nonce()))?;
                }
                view
            }
        };
        let ctx = ledger.block_context(&NO_PROPOSER, ledger.next_height());
        let before = view.account(&signer)?.unwrap_or_default();
        self.executions += 1;
        // A failure rolls back its own writes only: the overlay stays as the queue left it.
        let applied = apply_verified(&mut view, vtx, ctx);
        let after = view.account(&signer)?.unwrap_or_default();
        if overlaid {
            self.overlays.insert(signer, Ok(view.into_changes()));
        }
        applied?;
        Ok(Delta::between(&before, &after))
    }

    fn insert(&mut self, signer: AccountId, p: Pooled) {
        let hash = p.vtx.hash();
        match self.by_signer.get(&signer) {
            Some(q) => {
                let key = tail_key(&signer, q).expect("queues are not empty");
                self.tails.remove(&key);
            }
            None => {
                self.next_arrival += 1;
                self.by_signer.insert(signer, Queue::new(self.next_arrival));
            }
        }
        let queue = self.by_signer.get_mut(&signer).expect("a queued signer");
        queue.push(p);
        self.tails
            .insert(tail_key(&signer, queue).expect("a queue just pushed to"));
        self.hashes.insert(hash, signer);
        self.len += 1;
    }

    /// The signer of the lowest tail below `priority`, other than `keep` (evicting its own tail
    /// would leave a nonce gap before its new transaction).
    fn lowest_tail_below(&self, priority: u128, keep: &AccountId) -> Option<AccountId> {
        self.tails
            .iter()
            .take_while(|(p, _, _)| *p < priority)
            .map(|(_, _, Reverse(signer))| *signer)
            .find(|signer| signer != keep)
    }

    /// Drops the tail of `signer`'s queue; returns its hash.
    fn evict_tail(&mut self, signer: &AccountId) -> Hash {
        let queue = self
            .by_signer
            .get_mut(signer)
            .expect("an evicted signer is queued");
        self.tails
            .remove(&tail_key(signer, queue).expect("queues are not empty"));
        let gone = queue.pop_last().expect("queues are not empty");
        // The overlay holds the tail's writes.
        self.overlays.remove(signer);
        match tail_key(signer, queue) {
            Some(key) => {
                self.tails.insert(key);
            }
            None => {
                self.by_signer.remove(signer);
            }
        }
        let hash = gone.vtx.hash();
        self.hashes.remove(&hash);
        self.len -= 1;
        hash
    }

    /// Up to `max` transactions for the next block: repeatedly the best next transaction of any
    /// signer, by (priority, lower nonce rank, signer seen first); each signer's in nonce order.
    pub fn candidates(&self, max: usize) -> Vec<SignedTx> {
        let queues: Vec<(u64, Vec<&Pooled>)> = self
            .by_signer
            .values()
            .map(|q| (q.arrival, q.txs.values().collect()))
            .collect();
        let key = |i: usize, rank: usize| {
            let (arrival, txs) = &queues[i];
            (txs[rank].priority, Reverse(rank), Reverse(*arrival), i)
        };
        let mut heap: BinaryHeap<_> = (0..queues.len()).map(|i| key(i, 0)).collect();
        let mut out = Vec::new();
        while out.len() < max {
            let Some((_, Reverse(rank), _, i)) = heap.pop() else {
                break;
            };
            out.push(queues[i].1[rank].vtx.tx().clone());
            if rank + 1 < queues[i].1.len() {
                heap.push(key(i, rank + 1));
            }
        }
        out
    }

    /// After a block: drops the given transactions (included or rejected), then whatever no
    /// longer lines up with its signer's nonce. Only the signers of `done` and `touched` (the
    /// block's signers, some of whose transactions this pool may never have seen) are looked at:
    /// no other account's nonce moved. Returns the hashes dropped for a nonce gap.
    pub fn prune(
        &mut self,
        done: &[Hash],
        touched: impl IntoIterator<Item = AccountId>,
        ledger: &Ledger,
    ) -> Vec<Hash> {
        // A block moved state under every overlay (balances, subnets, lock costs).
        self.overlays.clear();
        let mut signers: BTreeSet<AccountId> = touched.into_iter().collect();
        signers.extend(done.iter().filter_map(|h| self.hashes.get(h).copied()));
        let done: HashSet<&Hash> = done.iter().collect();
        let mut orphaned = Vec::new();
        for signer in signers {
            let Some(queue) = self.by_signer.remove(&signer) else {
                continue;
            };
            self.tails
                .remove(&tail_key(&signer, &queue).expect("queues are not empty"));
            let next = ledger
                .account(&signer)
                .ok()
                .flatten()
                .map_or(0, |a| a.nonce);
            let mut kept = Queue::new(queue.arrival);
            let mut expected = next;
            for (nonce, p) in queue.txs {
                let hash = p.vtx.hash();
                if done.contains(&hash) || nonce < next {
                    self.hashes.remove(&hash);
                    self.len -= 1;
                } else if nonce == expected {
                    expected += 1;
                    kept.push(p);
                } else {
                    self.hashes.remove(&hash);
                    self.len -= 1;
                    orphaned.push(hash);
                }
            }
            if let Some(key) = tail_key(&signer, &kept) {
                self.tails.insert(key);
                self.by_signer.insert(signer, kept);
            }
        }
        orphaned
    }
}

#[cfg(test)]
mod policy_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tensorchain_ledger::runtime::params::SubnetParams;
    use tensorchain_ledger::runtime::params::ValidatorParams;
    use tensorchain_ledger::{ChainParams, Fees, GenesisState, MemoryStore};
    use tensorchain_primitives::{Call, Commit, Keypair, Tx, Validator, RAO_PER_TAO};

    const HOTKEYS: usize = 256;

    /// Admission of a signed transaction as the node does it: stateless checks, then the pool.
    pub(super) trait AdmitTx {
        fn admit_tx(&mut self, stx: SignedTx, ledger: &Ledger) -> Result<Hash, SubmitError>;
    }

    impl AdmitTx for Mempool {
        fn admit_tx(&mut self, stx: SignedTx, ledger: &Ledger) -> Result<Hash, SubmitError> {
            let vtx = ledger
                .verify_txs(vec![stx])
                .pop()
                .expect("one result per tx")
                .map_err(|(_, e)| SubmitError::Rejected(e))?;
            self.admit(vtx, ledger).map(|a| a.hash)
        }
    }

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
            pool.admit_tx(signed(&ledger, hk, 0, axon), &ledger)
                .unwrap();
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
            pool.admit_tx(more, &ledger),
            Err(SubmitError::MempoolFull(_))
        ));
        let transfer = Call::Transfer {
            to: Keypair::dev("someone").account(),
            amount: RAO_PER_TAO,
        };
        let nonce = ledger.account(&owner.account()).unwrap().unwrap().nonce;
        let paying = signed(&ledger, &owner, nonce, transfer);
        let hash = pool
            .admit_tx(paying, &ledger)
            .expect("a paying tx evicts a free one");
        assert!(pool.contains(&hash));
        assert_eq!(pool.len(), HOTKEYS);
        // The payer's next transactions get in the same way, up to its per-signer cap.
        let mut paying = vec![hash];
        for n in 1..4 {
            let call = Call::Transfer {
                to: Keypair::dev("someone").account(),
                amount: RAO_PER_TAO,
            };
            let more = signed(&ledger, &owner, nonce + n, call);
            paying.push(
                pool.admit_tx(more, &ledger)
                    .expect("evicts another free one"),
            );
        }
        assert_eq!(pool.len(), HOTKEYS);
        let first: Vec<Hash> = pool.candidates(4).iter().map(|t| t.hash()).collect();
        assert_eq!(first, paying, "paying transactions fill blocks first");
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
        let first = pool.admit_tx(axon(a), &ledger).unwrap();
        pool.admit_tx(axon(b), &ledger).unwrap();
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
        pool.admit_tx(signed(&ledger, hk, 0, axon.clone()), &ledger)
            .unwrap();
        pool.admit_tx(signed(&ledger, hk, 1, self_weight), &ledger)
            .unwrap();
        let third = pool.admit_tx(signed(&ledger, hk, 2, axon), &ledger);
        assert!(
            matches!(third, Err(SubmitError::TooManyPending(2))),
            "{third:?}"
        );
    }
}
