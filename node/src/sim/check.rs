//! The invariants the simulator checks after every step of a node.

use super::*;

/// A height's WAL: a record per input of that height from a member, and this node's signatures.
/// Far above what honest rounds write (about 200 bytes per vote); junk must never reach it.
const MAX_WAL_BYTES: usize = 1024 * 1024;

impl Sim {
    /// Honest node `i` never signs two values for one (height, round, step), across its
    /// crashes and restarts too (the sign guard and its WAL).
    pub(super) fn no_double_sign(&mut self, i: usize, data: &[u8]) -> Result<(), SimFailure> {
        let Ok(wire) = borsh::from_slice::<crate::wire::ConsensusWire>(data) else {
            return Err(self.fail(Violation::Undecodable { node: i }));
        };
        let (signer, key) = match &wire {
            crate::wire::ConsensusWire::Proposal { proposal, .. } => {
                let p = &proposal.proposal;
                (proposal.proposer, (p.height, p.round, 0u8, Some(p.value)))
            }
            crate::wire::ConsensusWire::Vote(v) => {
                let step = 1 + v.vote.kind as u8;
                (
                    v.validator,
                    (v.vote.height, v.vote.round, step, v.vote.block_hash),
                )
            }
        };
        if signer != self.hotkeys[i] {
            return Ok(()); // a relayed message of another validator
        }
        let (height, round, step, value) = key;
        match self.signed.insert((i, height, round, step), value) {
            Some(before) if before != value => Err(self.fail(Violation::DoubleSign {
                node: i,
                before,
                value,
                height,
                round,
                step,
            })),
            _ => Ok(()),
        }
    }

    /// The invariants, after every step of node `i`: its new blocks agree with every other
    /// honest node's (block hash and state root per height) and are valid (a commit by 2/3 of
    /// that height's set, a body matching its header), and its buffers are within their bounds.
    pub(super) fn check(&mut self, i: usize) -> Result<(), SimFailure> {
        let Some(h) = self.honest[i].as_ref() else {
            return Ok(());
        };
        let (node, mut checked) = (h.node.clone(), h.checked);
        let ledger = node.ledger();
        let head = ledger.head().height;
        while checked < head {
            checked += 1;
            let block = ledger
                .block(checked)
                .ok()
                .flatten()
                .map(|c| c.block)
                .ok_or_else(|| {
                    self.fail(Violation::LostBlock {
                        node: i,
                        height: checked,
                    })
                })?;
            let commit = ledger.commit(checked).ok().flatten().ok_or_else(|| {
                self.fail(Violation::NoCommit {
                    node: i,
                    height: checked,
                })
            })?;
            let set = ledger
                .validators_at(checked)
                .ok()
                .flatten()
                .ok_or_else(|| {
                    self.fail(Violation::NoValidatorSet {
                        node: i,
                        height: checked,
                    })
                })?;
            if commit.block_hash != block.hash()
                || commit.verify(ledger.signing_domain(), &set).is_err()
            {
                return Err(self.fail(Violation::CommitDoesNotCertify {
                    node: i,
                    height: checked,
                }));
            }
            if !block.body_matches_header() {
                return Err(self.fail(Violation::BodyMismatch {
                    node: i,
                    height: checked,
                }));
            }
            let mine = (block.hash(), block.header.state_root);
            match self.chain.get(checked as usize - 1) {
                Some(agreed) if *agreed != mine => {
                    return Err(self.fail(Violation::Agreement {
                        node: i,
                        height: checked,
                        mine,
                        agreed: *agreed,
                    }))
                }
                Some(_) => {}
                None => self.chain.push(mine),
            }
        }
        let h = self.honest[i].as_mut().expect("honest");
        h.checked = checked;
        let f = h.machine.footprint();
        let wal = h.machine.wal_mut().bytes.len();
        let mempool = h.node.mempool_len();
        // Rounds a height may track: up to the next one, plus each validator's catch-up rounds.
        let rounds = f.round as usize + 2 + self.sc.n * MAX_CATCHUP_ROUNDS_PER_VALIDATOR;
        // Rounds a proposal is kept for: those up to the round window, at two heights.
        let proposal_rounds = f.round as usize + 1 + MAX_PROPOSAL_ROUNDS_AHEAD as usize;
        let bounds = [
            ("future proposals", f.future, MAX_FUTURE_PROPOSALS),
            ("member sets", f.member_sets, MAX_HEIGHTS_AHEAD as usize + 1),
            // One block per round in reach, and this proposer's own saved one.
            ("blocks", f.blocks, proposal_rounds + 1),
            ("executed blocks", f.executed, proposal_rounds + 1),
            (
                "first values per round",
                f.round_values,
                2 * proposal_rounds,
            ),
            (
                "sync ranges in flight",
                f.sync.in_flight,
                crate::sync::MAX_IN_FLIGHT,
            ),
            (
                "sync blocks fetched",
                f.sync.ready,
                crate::sync::WINDOW as usize,
            ),
            ("sync peers", f.sync.peers, self.peers.len()),
            ("sync failure counts", f.sync.failures, self.peers.len()),
            // Three timeouts per round (propose, prevote, precommit) and the rebroadcast.
            ("timers", f.timers, 4 * rounds),
            ("rounds tracked", f.tracked_rounds, rounds),
            ("WAL bytes", wal, MAX_WAL_BYTES),
            ("mempool transactions", mempool, crate::node::MAX_MEMPOOL),
        ];
        for (what, size, bound) in bounds {
            if size > bound {
                return Err(self.fail(Violation::Unbounded {
                    node: i,
                    what,
                    size,
                    bound,
                }));
            }
        }
        Ok(())
    }
}
