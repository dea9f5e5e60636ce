//! The simulator's adversary: it holds the keys of the Byzantine validators and of peers of its
//! own, sees every proposal honest nodes publish, and performs the attacks of the Byzantine-peers
//! review (issue #10). It also says what an honest node must answer each of its messages with:
//! forged or altered messages are never `Accept`ed (so never relayed nor used).

use super::Topic;
use crate::wire::ConsensusWire;
use std::collections::BTreeMap;
use tensorchain_consensus::{Proposal, SignedProposal, SignedVote, ValidatorSet};
use tensorchain_network::{
    encode_batch, MessageAcceptance, MessageId, SyncRefusal, SyncRequest, SyncResponse,
};
use tensorchain_primitives::det_rng::SplitMix;
use tensorchain_primitives::{
    last_commit_hash, merkle_root, Block, Call, Commit, Hash, Header, Keypair, SigningDomain, Tx,
    Validator, Vote, VoteKind, MAX_BLOCK_BYTES, MAX_TX_BYTES,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// Finding 1: honest proposals re-wrapped around altered bodies, racing the honest copy.
    AlteredProposal,
    /// Finding 2: votes and proposals signed by keys outside the validator set.
    JunkVotes,
    /// Findings 2/3/9: messages for far-future heights and rounds, `u64::MAX`/`u32::MAX` too,
    /// signed by a Byzantine validator when there is one.
    FutureFlood,
    /// Finding 5: undecodable megabytes, transactions over `MAX_TX_BYTES`, and (when a
    /// Byzantine validator proposes) a block over `MAX_BLOCK_BYTES`.
    Oversized,
    /// Finding 7: a sync peer claiming a huge tip and serving garbage ranges.
    LyingSync,
    /// Findings 2/3: a Byzantine validator proposing several different blocks for every round
    /// it is the proposer of, up to far rounds, for the heights being decided.
    ProposalFlood,
    /// A Byzantine validator signing two different prevotes and precommits per round: honest
    /// nodes report the equivocation, a block carries it, the validator is jailed and leaves
    /// the set two heights later.
    DoubleVote,
}

impl Attack {
    pub const ALL: [Attack; 7] = [
        Attack::AlteredProposal,
        Attack::JunkVotes,
        Attack::FutureFlood,
        Attack::Oversized,
        Attack::LyingSync,
        Attack::ProposalFlood,
        Attack::DoubleVote,
    ];
}

/// What an honest node may answer one of the adversary's messages with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Forged, altered, out of reach: never used nor relayed.
    NotAccepted(Attack),
    /// Validly signed by a member within reach: the core's own bounds apply.
    Any,
}

/// The adversary's peers follow the validators: one gossips, one serves sync.
const GOSSIPER: usize = 0;
const LIAR: usize = 1;
/// Honest proposals remembered for re-wrapping.
const RECENT_PROPOSALS: usize = 4;
/// Messages remembered for judging verdicts; the oldest are forgotten (gossip ids are unique
/// and every message is delivered within seconds).
const MAX_JUDGED: usize = 4096;

pub struct Adversary {
    n: usize,
    domain: SigningDomain,
    genesis: Hash,
    set: ValidatorSet,
    /// The Byzantine validators' hotkeys.
    keys: Vec<Keypair>,
    recent: Vec<(SignedProposal, Block)>,
    judged: BTreeMap<MessageId, Expect>,
    junk_seq: u64,
    /// Whether the liar answers (its attack window is open).
    lying: bool,
    /// The last (height, round) an oversized block was proposed for.
    oversized_at: Option<(u64, u32)>,
    /// Oversized blocks proposed, for tests to count.
    pub stats_oversized_blocks: u64,
}

impl Adversary {
    /// An adversary against a chain of `n` validators (signing `domain`, `genesis`, the genesis
    /// `validators`), holding the Byzantine validators' `keys`.
    pub fn new(
        n: usize,
        domain: SigningDomain,
        genesis: Hash,
        validators: Vec<Validator>,
        keys: Vec<Keypair>,
    ) -> Adversary {
        Adversary {
            n,
            domain,
            genesis,
            set: ValidatorSet::new(validators),
            keys,
            recent: Vec::new(),
            judged: BTreeMap::new(),
            junk_seq: 0,
            lying: false,
            oversized_at: None,
            stats_oversized_blocks: 0,
        }
    }

    pub fn peer_count(&self) -> usize {
        2
    }

    /// Sees an honest node's consensus gossip (the adversary is everyone's peer).
    pub fn observe(&mut self, data: &[u8]) {
        if let Ok(ConsensusWire::Proposal { proposal, block }) =
            borsh::from_slice::<ConsensusWire>(data)
        {
            if self.recent.len() == RECENT_PROPOSALS {
                self.recent.remove(0);
            }
            self.recent.push((proposal, *block));
        }
    }

    pub fn owns(&self, id: &MessageId) -> bool {
        self.judged.contains_key(id)
    }

    pub fn sent(&mut self, id: &MessageId, attack: Attack, expect_any: bool) {
        if self.judged.len() >= MAX_JUDGED {
            self.judged.pop_first();
        }
        let e = if expect_any {
            Expect::Any
        } else {
            Expect::NotAccepted(attack)
        };
        self.judged.insert(id.clone(), e);
    }

    /// Checks an honest node's verdict on gossip `id`: the attack it wrongly accepted, if any.
    pub fn judge(&self, id: &MessageId, verdict: MessageAcceptance) -> Result<(), Attack> {
        match self.judged.get(id) {
            Some(Expect::NotAccepted(attack)) if verdict == MessageAcceptance::Accept => {
                Err(*attack)
            }
            _ => Ok(()),
        }
    }

    fn junk_key(&mut self, rng: &mut SplitMix) -> Keypair {
        self.junk_seq += 1;
        let mut secret = [0u8; 32];
        secret[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        secret[8..16].copy_from_slice(&self.junk_seq.to_le_bytes());
        Keypair::from_secret(secret)
    }

    fn vote(
        &self,
        key: &Keypair,
        height: u64,
        round: u32,
        kind: VoteKind,
        block: Option<Hash>,
    ) -> Vec<u8> {
        ConsensusWire::Vote(SignedVote::sign(
            Vote {
                chain_id: self.domain.chain_id.clone(),
                height,
                round,
                kind,
                block_hash: block,
            },
            key,
            &self.domain,
        ))
        .encode()
    }

    fn gossiper(&self) -> usize {
        self.n + GOSSIPER
    }

    /// One round of `attack`, given the honest nodes' highest head: messages to gossip, each
    /// with whether an honest node may accept it.
    pub fn act(
        &mut self,
        attack: Attack,
        head: u64,
        rng: &mut SplitMix,
    ) -> Vec<(usize, Topic, Vec<u8>, bool)> {
        let from = self.gossiper();
        let mut out = Vec::new();
        match attack {
            Attack::AlteredProposal => {
                for (proposal, block) in self.recent.clone() {
                    for altered in alter(&block, &self.domain, &self.keys, rng) {
                        let wire = ConsensusWire::Proposal {
                            proposal: proposal.clone(),
                            block: Box::new(altered),
                        };
                        out.push((from, Topic::Consensus, wire.encode(), false));
                    }
                }
            }
            Attack::JunkVotes => {
                let height = head + 1;
                for round in 0..3 {
                    let key = self.junk_key(rng);
                    let block = Some(Hash::digest(&rng.next_u64().to_le_bytes()));
                    out.push((
                        from,
                        Topic::Consensus,
                        self.vote(&key, height, round, VoteKind::Prevote, block),
                        false,
                    ));
                    out.push((
                        from,
                        Topic::Consensus,
                        self.vote(&key, height, round, VoteKind::Precommit, None),
                        false,
                    ));
                }
                // A real block proposed by a stranger.
                if let Some((proposal, block)) = self.recent.last().cloned() {
                    let key = self.junk_key(rng);
                    let forged =
                        SignedProposal::sign(proposal.proposal.clone(), &key, &self.domain);
                    let wire = ConsensusWire::Proposal {
                        proposal: forged,
                        block: Box::new(block),
                    };
                    out.push((from, Topic::Consensus, wire.encode(), false));
                }
            }
            Attack::FutureFlood => {
                let key = match self.keys.first() {
                    Some(k) => k.clone(),
                    None => self.junk_key(rng),
                };
                let member = !self.keys.is_empty();
                // head + 4: no honest node is more than a block past the highest head when
                // this arrives, and each admits two heights above its own.
                let far = [
                    head + 4,
                    head + 1_000 + rng.below(1 << 20),
                    u64::MAX,
                    u64::MAX - 1,
                ];
                for height in far {
                    let round = rng.below(u32::MAX as u64) as u32;
                    out.push((
                        from,
                        Topic::Consensus,
                        self.vote(&key, height, round, VoteKind::Prevote, None),
                        false,
                    ));
                }
                // Far rounds of the heights being decided: a member's are within reach (the
                // core bounds the rounds each validator may open), a stranger's are not.
                for round in [
                    u32::MAX,
                    u32::MAX - 1,
                    1_000 + rng.below(1 << 20) as u32,
                    3 + rng.below(50) as u32,
                ] {
                    for height in [head + 1, head + 2] {
                        out.push((
                            from,
                            Topic::Consensus,
                            self.vote(&key, height, round, VoteKind::Precommit, None),
                            member,
                        ));
                    }
                }
            }
            Attack::Oversized => {
                let mut junk = vec![0u8; 64 * 1024 + rng.below(1 << 20) as usize];
                for b in junk.iter_mut().step_by(97) {
                    *b = rng.next_u64() as u8;
                }
                out.push((from, Topic::Consensus, junk.clone(), false));
                out.push((from, Topic::Tx, junk, false));
                let key = self.junk_key(rng);
                let big = Tx {
                    chain_id: self.domain.chain_id.clone(),
                    signer: key.account(),
                    nonce: 0,
                    fee: 1,
                    call: Call::RegisterSubnet {
                        hotkey: key.account(),
                        max_cost: 0,
                        identity: "x".repeat(MAX_TX_BYTES),
                    },
                }
                .sign(&key, &self.domain);
                let big = borsh::to_vec(&big).expect("borsh");
                out.push((from, Topic::Tx, encode_batch(&[big]), false));
                if let Some(wire) = self.oversized_proposal(head, rng) {
                    out.push((from, Topic::Consensus, wire, true));
                }
            }
            Attack::LyingSync => self.lying = true,
            Attack::ProposalFlood => {
                for wire in self.proposal_flood(head, rng) {
                    out.push((from, Topic::Consensus, wire, true));
                }
            }
            Attack::DoubleVote => {
                for key in self.keys.clone() {
                    for round in 0..2 {
                        for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                            for _ in 0..2 {
                                let value = Some(Hash::digest(&rng.next_u64().to_le_bytes()));
                                let vote = self.vote(&key, head + 1, round, kind, value);
                                out.push((from, Topic::Consensus, vote, true));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Blocks a Byzantine proposer signs for its rounds (up to `FLOOD_ROUNDS`) of the next two
    /// heights: each a recent honest block re-dated, so every copy is a different value whose
    /// body matches its header.
    fn proposal_flood(&mut self, head: u64, rng: &mut SplitMix) -> Vec<Vec<u8>> {
        /// Rounds of each height flooded, and blocks per round.
        const FLOOD_ROUNDS: u32 = 24;
        const PER_ROUND: u64 = 2;
        let mut out = Vec::new();
        let Some((_, template)) = self.recent.last().cloned() else {
            return out;
        };
        for height in [head + 1, head + 2] {
            for round in 0..FLOOD_ROUNDS {
                let p = self.set.proposer(height, round);
                let Some(key) = self.keys.iter().find(|k| k.account() == p).cloned() else {
                    continue;
                };
                for _ in 0..PER_ROUND {
                    let mut block = template.clone();
                    block.header.height = height;
                    block.header.proposer = key.account();
                    block.header.time_ms =
                        block.header.time_ms.wrapping_add(1 + rng.below(1 << 30));
                    let proposal = SignedProposal::sign(
                        Proposal {
                            chain_id: self.domain.chain_id.clone(),
                            height,
                            round,
                            value: block.hash(),
                            pol_round: None,
                        },
                        &key,
                        &self.domain,
                    );
                    out.push(
                        ConsensusWire::Proposal {
                            proposal,
                            block: Box::new(block),
                        }
                        .encode(),
                    );
                }
            }
        }
        out
    }

    /// A block over `MAX_BLOCK_BYTES` for the next height, proposed by a Byzantine validator in
    /// a round it is the proposer of: validly signed, so accepted as gossip, and refused when
    /// executed (a nil prevote), never committed.
    fn oversized_proposal(&mut self, head: u64, rng: &mut SplitMix) -> Option<Vec<u8>> {
        let height = head + 1;
        let (round, key) = (0..8u32).find_map(|r| {
            let p = self.set.proposer(height, r);
            self.keys
                .iter()
                .find(|k| k.account() == p)
                .map(|k| (r, k.clone()))
        })?;
        // Once per height and round: each is megabytes every node decodes and hashes.
        if self.oversized_at >= Some((height, round)) {
            return None;
        }
        self.oversized_at = Some((height, round));
        // Any recent header does: the size is checked before anything else in it.
        let template = self.recent.last()?.1.header.clone();
        let filler = self.junk_key(rng);
        let mut txs = Vec::new();
        let mut bytes = 0;
        while bytes <= MAX_BLOCK_BYTES {
            let tx = Tx {
                chain_id: self.domain.chain_id.clone(),
                signer: filler.account(),
                nonce: txs.len() as u64,
                fee: 1,
                call: Call::RegisterSubnet {
                    hotkey: filler.account(),
                    max_cost: 0,
                    identity: "y".repeat(MAX_TX_BYTES - 512),
                },
            }
            .sign(&filler, &self.domain);
            bytes += MAX_TX_BYTES - 512;
            txs.push(tx);
        }
        let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
        let block = Block {
            header: Header {
                height,
                tx_root: merkle_root(&hashes),
                proposer: key.account(),
                last_commit_hash: last_commit_hash(None),
                ..template
            },
            txs,
            last_commit: None,
        };
        let proposal = SignedProposal::sign(
            Proposal {
                chain_id: self.domain.chain_id.clone(),
                height,
                round,
                value: block.hash(),
                pol_round: None,
            },
            &key,
            &self.domain,
        );
        self.stats_oversized_blocks += 1;
        Some(
            ConsensusWire::Proposal {
                proposal,
                block: Box::new(block),
            }
            .encode(),
        )
    }

    /// An attack's window closed: the liar falls silent (the others just stop acting).
    pub fn stop(&mut self, attack: Attack) {
        if attack == Attack::LyingSync {
            self.lying = false;
        }
    }

    /// The liar's answer to a sync request, while its attack runs: a tip it cannot back, and
    /// ranges of garbage (nothing, wrong heights, or a block whose commit strangers signed).
    pub fn serve(
        &mut self,
        peer: usize,
        request: &SyncRequest,
        head: u64,
        rng: &mut SplitMix,
    ) -> Option<SyncResponse> {
        if peer != LIAR || !self.lying {
            return None;
        }
        Some(match request {
            SyncRequest::Status => SyncResponse::Status {
                genesis: self.genesis,
                tip: if rng.chance(50) {
                    u64::MAX
                } else {
                    head + 10_000
                },
                tip_hash: Hash::digest(b"a tip that does not exist"),
                earliest: 1,
            },
            SyncRequest::Blocks { from, .. } => match rng.below(4) {
                0 => SyncResponse::Blocks(vec![]),
                1 => SyncResponse::Refused(SyncRefusal::Busy),
                2 => {
                    let (block, commit) = self.fake_block(from.saturating_add(7), rng);
                    SyncResponse::Blocks(vec![(block, commit)])
                }
                _ => SyncResponse::Blocks(vec![self.fake_block(*from, rng)]),
            },
        })
    }

    /// An empty block at `height` with a commit signed by a stranger.
    fn fake_block(&mut self, height: u64, rng: &mut SplitMix) -> (Block, Commit) {
        let key = self.junk_key(rng);
        let block = Block {
            header: Header {
                chain_id: self.domain.chain_id.clone(),
                height,
                time_ms: rng.next_u64(),
                parent_hash: Hash::digest(&rng.next_u64().to_le_bytes()),
                tx_root: merkle_root(&[]),
                state_root: Hash::ZERO,
                proposer: key.account(),
                validator_set_hash: Hash::ZERO,
                next_validator_set_hash: Hash::ZERO,
                last_commit_hash: last_commit_hash(None),
            },
            txs: vec![],
            last_commit: None,
        };
        let commit = Commit::signed_by(&block, &self.domain, &[&key]);
        (block, commit)
    }
}

/// Copies of `block` with the header kept and the body changed: a transaction dropped, added or
/// swapped, the parent's commit removed or changed.
fn alter(
    block: &Block,
    domain: &SigningDomain,
    keys: &[Keypair],
    rng: &mut SplitMix,
) -> Vec<Block> {
    let mut out = Vec::new();
    let mut no_commit = block.clone();
    if no_commit.last_commit.take().is_some() {
        out.push(no_commit);
    }
    if let Some(c) = &block.last_commit {
        let mut other = block.clone();
        other.last_commit = Some(Commit {
            round: c.round.wrapping_add(1),
            ..c.clone()
        });
        out.push(other);
    }
    let mut fewer = block.clone();
    if fewer.txs.pop().is_some() {
        out.push(fewer);
    }
    let key = keys
        .first()
        .cloned()
        .unwrap_or_else(|| Keypair::dev("sim/adversary"));
    let mut more = block.clone();
    more.txs.push(
        Tx {
            chain_id: domain.chain_id.clone(),
            signer: key.account(),
            nonce: rng.below(1_000),
            fee: 1,
            call: Call::Transfer {
                to: key.account(),
                amount: 1,
            },
        }
        .sign(&key, domain),
    );
    out.push(more);
    out
}
