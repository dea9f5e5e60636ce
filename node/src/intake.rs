//! Transaction intake: gossiped batches are taken apart and admitted here, on a task of its own,
//! never the consensus engine's (a flood of transactions costs signature checks, and consensus
//! must not wait behind them). Each transaction's bytes are hashed first: one seen recently (in
//! an earlier batch, or twice in this one) is skipped before it is decoded or verified, so a
//! transaction relayed by every peer, or batched by several, is checked once.
//!
//! The verdict on a batch, reported to gossipsub, decides whether it travels on and whom it
//! blames: `Reject` (the peer is scored down, nothing is relayed) for a batch no honest node
//! would relay — malformed, over a limit, an undecodable transaction, or one whose signature or
//! chain is wrong; `Accept` (relayed) when it brought at least one transaction into the mempool;
//! `Ignore` otherwise (all seen, stale nonces, a full pool). A batch with undecodable bytes
//! admits nothing; in one with a bad signature, the validly signed transactions are admitted as
//! if sent alone (their signers signed them), but the batch is rejected.

use crate::node::Node;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use tensorchain_ledger::TxError;
use tensorchain_network::{decode_batch, Event, MessageAcceptance, NetworkHandle, PeerId};
use tensorchain_primitives::{Hash, SignedTx};
use tensorchain_rpc::SubmitError;
use tokio::sync::{mpsc, watch};

/// Transaction hashes remembered as seen (1 MiB of hashes; several seconds at the target rate).
pub(crate) const MAX_SEEN_TXS: usize = 32_768;

/// What intake did since start, for tests and logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IntakeStats {
    pub batches: u64,
    pub rejected_batches: u64,
    /// Transactions skipped as seen, before decoding.
    pub duplicates: u64,
    /// Transactions handed to admission (each verified there).
    pub checked: u64,
    pub admitted: u64,
}

pub struct TxIntake {
    node: Arc<Node>,
    /// Hashes of transactions seen, oldest first (at most `MAX_SEEN_TXS`).
    seen: HashSet<Hash>,
    seen_order: VecDeque<Hash>,
    stats: IntakeStats,
}

impl TxIntake {
    pub fn new(node: Arc<Node>) -> TxIntake {
        TxIntake {
            node,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            stats: IntakeStats::default(),
        }
    }

    pub fn stats(&self) -> IntakeStats {
        self.stats
    }

    /// Takes a gossiped batch from `source` apart and admits what is new; returns the verdict.
    pub fn handle(&mut self, source: PeerId, data: &[u8]) -> MessageAcceptance {
        let verdict = self.judge(source, data);
        self.stats.batches += 1;
        let label = match verdict {
            MessageAcceptance::Accept => "accept",
            MessageAcceptance::Ignore => "ignore",
            MessageAcceptance::Reject => {
                self.stats.rejected_batches += 1;
                "reject"
            }
        };
        self.node.metrics().observe_tx_batch(label);
        verdict
    }

    fn judge(&mut self, source: PeerId, data: &[u8]) -> MessageAcceptance {
        let entries = match decode_batch(data) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::debug!(peer = %source, code = e.code(), error = %e, "rejected a transaction batch");
                return MessageAcceptance::Reject;
            }
        };
        let mut fresh = Vec::with_capacity(entries.len());
        let mut in_batch = HashSet::with_capacity(entries.len());
        for bytes in entries {
            let hash = Hash::digest(bytes);
            if self.seen.contains(&hash) || !in_batch.insert(hash) {
                self.stats.duplicates += 1;
                self.node.metrics().tx_gossip_duplicates.inc();
                continue;
            }
            match borsh::from_slice::<SignedTx>(bytes) {
                Ok(stx) => fresh.push((hash, stx)),
                Err(_) => {
                    tracing::debug!(peer = %source, code = "tx_undecodable", "rejected a transaction batch");
                    return MessageAcceptance::Reject;
                }
            }
        }
        let (hashes, txs): (Vec<Hash>, Vec<SignedTx>) = fresh.into_iter().unzip();
        self.stats.checked += txs.len() as u64;
        let results = self.node.admit_unmetered(txs);
        let mut admitted = 0u64;
        let mut forged = false;
        for (hash, result) in hashes.into_iter().zip(results) {
            // Remembered: what was admitted, and what never will be. A transaction refused for
            // state that may change (a nonce gap, a full pool) may come again and be admitted.
            let settled = match &result {
                Ok(_) => {
                    admitted += 1;
                    true
                }
                Err(e) if never_relayed(e) => {
                    forged = true;
                    true
                }
                Err(SubmitError::AlreadyKnown(_)) => true,
                Err(_) => false,
            };
            if settled {
                self.remember(hash);
            }
        }
        self.stats.admitted += admitted;
        if forged {
            tracing::debug!(peer = %source, code = "bad_signature", "rejected a transaction batch");
            MessageAcceptance::Reject
        } else if admitted > 0 {
            MessageAcceptance::Accept
        } else {
            MessageAcceptance::Ignore
        }
    }

    fn remember(&mut self, hash: Hash) {
        if !self.seen.insert(hash) {
            return;
        }
        self.seen_order.push_back(hash);
        if self.seen_order.len() > MAX_SEEN_TXS {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
    }
}

/// Refusals no honest node would have relayed: they count against the batch's sender.
fn never_relayed(e: &SubmitError) -> bool {
    matches!(
        e,
        SubmitError::Rejected(
            TxError::BadSignature
                | TxError::InvalidKey
                | TxError::WeakKey
                | TxError::WrongChainId { .. }
                | TxError::TxTooLarge { .. }
        )
    )
}

/// The intake task: batches from the network in, verdicts back. Admission verifies signatures
/// and reads state, so each batch runs outside the async workers' cooperative slice.
pub async fn run(
    mut intake: TxIntake,
    net: NetworkHandle,
    mut batches: mpsc::Receiver<Event>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            biased;
            _ = shutdown.wait_for(|s| *s) => return,
            event = batches.recv() => match event {
                Some(event) => event,
                None => return,
            },
        };
        let Event::Gossip {
            id, source, data, ..
        } = event
        else {
            continue;
        };
        let verdict = tokio::task::block_in_place(|| intake.handle(source, &data));
        net.report(id, source, verdict);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorchain_genesis::{dev_coldkey, ChainSpec};
    use tensorchain_ledger::{Ledger, MemoryStore};
    use tensorchain_network::encode_batch;
    use tensorchain_primitives::{Call, Keypair, SigningDomain, Tx, MAX_TX_BYTES};
    use tensorchain_rpc::{Metrics, NodeApi};

    fn intake() -> TxIntake {
        let spec = ChainSpec::devnet(1, 1_000);
        let ledger = Ledger::open(Arc::new(MemoryStore::new()), &spec.genesis_state()).unwrap();
        let node = Node::new(Arc::new(ledger), Arc::new(Metrics::new()), None);
        TxIntake::new(Arc::new(node))
    }

    fn transfer(intake: &TxIntake, key: &Keypair, nonce: u64, domain: &SigningDomain) -> Vec<u8> {
        let ledger = intake.node.ledger();
        Tx {
            chain_id: domain.chain_id.clone(),
            signer: key.account(),
            nonce,
            fee: ledger.params().fees.transfer,
            call: Call::Transfer {
                to: dev_coldkey("bob").account(),
                amount: 1,
            },
        }
        .sign(key, domain)
        .to_bytes()
    }

    fn honest(intake: &TxIntake, nonce: u64) -> Vec<u8> {
        let domain = intake.node.ledger().signing_domain().clone();
        transfer(intake, &dev_coldkey("alice"), nonce, &domain)
    }

    #[test]
    fn a_transaction_in_two_batches_is_verified_once() {
        let mut intake = intake();
        let peer = PeerId::random();
        let (t0, t1, t2) = (honest(&intake, 0), honest(&intake, 1), honest(&intake, 2));
        let first = encode_batch(&[t0.clone(), t1.clone(), t1.clone()]);
        assert_eq!(intake.handle(peer, &first), MessageAcceptance::Accept);
        assert_eq!((intake.stats().checked, intake.stats().duplicates), (2, 1));
        // Relayed by another peer inside another batch: t0 and t1 are skipped unverified.
        let second = encode_batch(&[t0, t1, t2]);
        assert_eq!(
            intake.handle(PeerId::random(), &second),
            MessageAcceptance::Accept
        );
        let stats = intake.stats();
        assert_eq!((stats.checked, stats.duplicates, stats.admitted), (3, 3, 3));
        assert_eq!(intake.node.mempool_len(), 3);
        // Only seen transactions: nothing to relay.
        assert_eq!(intake.handle(peer, &second), MessageAcceptance::Ignore);
        assert_eq!(intake.stats().checked, 3);
    }

    /// Found in review (session 7): intake admitted through `admit_batch`, so a REST flood
    /// holding every verify slot made every gossiped batch `overloaded`, and other nodes'
    /// transactions reached this one only in blocks, unverified.
    #[test]
    fn gossip_gets_in_while_rest_holds_every_verify_slot() {
        let mut intake = intake();
        let node = intake.node.clone();
        let _flood = node.hold_verify_slots(crate::node::MAX_VERIFYING);
        let batch = encode_batch(&[honest(&intake, 0), honest(&intake, 1)]);
        assert_eq!(
            intake.handle(PeerId::random(), &batch),
            MessageAcceptance::Accept
        );
        assert_eq!(intake.node.mempool_len(), 2);
    }

    #[test]
    fn a_byzantine_batch_changes_nothing_and_is_rejected() {
        let mut intake = intake();
        let peer = PeerId::random();
        let alice = dev_coldkey("alice");
        let domain = intake.node.ledger().signing_domain().clone();
        let elsewhere = SigningDomain::new(&domain.chain_id, Hash::digest(b"another network"));
        let other_chain = SigningDomain::new("another-chain", domain.genesis);
        let mut flipped = honest(&intake, 0);
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", vec![0xAB; 1000]),
            ("undecodable entry", encode_batch(&[vec![1u8, 2, 3]])),
            (
                "oversized entry",
                encode_batch(&[vec![0u8; MAX_TX_BYTES + 1]]),
            ),
            ("flipped signature", encode_batch(&[flipped])),
            (
                "signed for another network",
                encode_batch(&[transfer(&intake, &alice, 0, &elsewhere)]),
            ),
            (
                "another chain",
                encode_batch(&[transfer(&intake, &alice, 0, &other_chain)]),
            ),
        ];
        for (what, batch) in &cases {
            assert_eq!(
                intake.handle(peer, batch),
                MessageAcceptance::Reject,
                "{what}"
            );
        }
        assert_eq!(intake.node.mempool_len(), 0, "nothing admitted");
        assert_eq!(intake.stats().rejected_batches, cases.len() as u64);
        assert!(intake
            .node
            .metrics()
            .render()
            .contains("tensorchain_tx_gossip_batches_total{verdict=\"reject\"} 6"));
        // A transaction a node may simply not take yet (a nonce gap) blames nobody.
        let gap = encode_batch(&[honest(&intake, 5)]);
        assert_eq!(intake.handle(peer, &gap), MessageAcceptance::Ignore);
        // …and is checked again when it may apply.
        let fill = encode_batch(&(0..6).map(|n| honest(&intake, n)).collect::<Vec<_>>());
        assert_eq!(intake.handle(peer, &fill), MessageAcceptance::Accept);
        assert_eq!(intake.node.mempool_len(), 6);
    }
}
