//! The node machine: everything the node decides, with no I/O, no tokio and no clock of its own.
//! It drives the BFT driver with gossip, timers and proposals built from the mempool; executes
//! every proposed block before voting on it; commits decided blocks; and syncs blocks from peers
//! when it is behind. It is the ledger's one writer.
//!
//! Inputs in, effects out (as the consensus core, and as malachite's host/core split): the host
//! hands it an `Input` with the current time `now` (ms since the epoch) and performs the
//! `Effect`s it returns (publish, report a gossip verdict, ask peers for their status or a
//! range, ban a peer). Its timers live here, quinn-style: `next_deadline` says when it wants a
//! `Tick`, so starting a height drops the previous height's timers in one place. Storage it
//! needs before it may go on — the ledger's commit, the WAL's sync before a signature leaves, the
//! proposer's saved block — is a synchronous call on the `Node`, the `Wal` and the
//! `ProposalSlot`; the tokio shell (`engine.rs`) gives it RocksDB and files, the simulator
//! (`sim/`) memory. Given the same inputs and times it returns the same effects.

use crate::node::Node;
use crate::sync::{PeerStatus, RangeSync};
use crate::wire::ConsensusWire;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tensorchain_consensus::{
    Config, Driver, Evidence, Input as CoreInput, Message, Output, SignedProposal, Timeout,
    Timeouts, ValidatorSet, Wal, WalError,
};
use tensorchain_ledger::{BlockLimits, ExecutedBlock, LedgerError, StoreError, TxError};
use tensorchain_network::{MessageAcceptance, MessageId, PeerId, SyncResponse};
use tensorchain_primitives::{
    Block, Call, Commit, CommitError, DoubleSign, Hash, Keypair, SigningDomain, Tx,
};
use tensorchain_rpc::{NodeApi, SubmitError};

/// How far a proposal's timestamp may run ahead of this node's clock.
const MAX_CLOCK_DRIFT_MS: u64 = 5_000;
/// Proposals kept for heights this node has not started yet.
pub(crate) const MAX_FUTURE_PROPOSALS: usize = 64;
/// A peer one block ahead is only synced from after this long without progress here.
const STALL_MS: u64 = 2_000;
/// Rounds above this node's round whose proposals it executes, keeps and relays. Honest
/// validators that hear each other stay within a round or two (timeouts grow 100 ms a round); one
/// cut off joins the others' round by the f+1 rule, after which the proposer's rebroadcast brings
/// the proposal again. Without a window, a proposer signing blocks for rounds nobody is in would
/// make every node execute and hold one per round.
pub(crate) const MAX_PROPOSAL_ROUNDS_AHEAD: u32 = 4;
/// The least time a proposer gives its block, however short the timeouts: enough for a
/// few thousand transfers.
const MIN_BUILD_BUDGET_MS: u64 = 50;
/// How often every peer is asked for its status (its tip), to notice being behind.
const STATUS_EVERY_MS: u64 = 1_000;
/// Consensus messages remembered by content, so a copy republished by any peer (gossipsub ids
/// are per sender and sequence number, so it would look new) is ignored: not relayed, not logged
/// to the WAL, not counted against its signer's buffer share. A height carries a proposal and two
/// votes per validator per round: 16,384 covers many heights of a large set (512 KiB).
const MAX_SEEN_MESSAGES: usize = 16_384;

/// Consensus timeouts for a block time: short ones for fast (devnet) chains.
pub fn timeouts(block_time_ms: u64) -> Timeouts {
    if block_time_ms <= 2_000 {
        Timeouts::fast()
    } else {
        Timeouts::standard()
    }
}

/// What the host hands the machine.
#[derive(Debug)]
pub enum Input {
    /// A message on the consensus topic, as received from `source` (not yet checked).
    ConsensusGossip {
        id: MessageId,
        source: PeerId,
        data: Vec<u8>,
    },
    /// A peer disconnected: its sync claims no longer count.
    PeerDown(PeerId),
    /// The deadline `next_deadline` named has come.
    Tick,
    /// A peer's answer to `Effect::PollStatus` (`None`: the request failed).
    Status {
        peer: PeerId,
        response: Option<SyncResponse>,
    },
    /// A peer's answer to `Effect::RequestRange` (`None`: the request failed).
    Range {
        peer: PeerId,
        from: u64,
        response: Option<SyncResponse>,
    },
}

/// What the machine asks the host to do.
#[derive(Debug)]
pub enum Effect {
    /// Gossip on the consensus topic (an encoded `ConsensusWire`).
    PublishConsensus(Vec<u8>),
    /// Gossip a transaction (a borsh `SignedTx`; the network batches it).
    PublishTx(Vec<u8>),
    /// The verdict on a gossip message: only `Accept`ed ones are relayed, `Reject` scores the
    /// peer that sent it down.
    Report {
        id: MessageId,
        source: PeerId,
        verdict: MessageAcceptance,
    },
    /// Ask every connected peer for its status; each answer comes back as `Input::Status`.
    PollStatus,
    /// Ask `peer` for the blocks `from..from+count`; the answer comes back as `Input::Range`.
    RequestRange { peer: PeerId, from: u64, count: u32 },
    /// Disconnect `peer` and refuse it for a while: it lied to block sync.
    Ban(PeerId),
    /// Storage the node cannot run without failed: stop, so that health turns 503 and the
    /// process exits for its supervisor to restart it, rather than run on half-written.
    Halt(Halt),
}

/// Why the machine halted.
#[derive(Debug, thiserror::Error)]
pub enum Halt {
    #[error("consensus WAL failed at height {height}: {source}")]
    Wal {
        height: u64,
        #[source]
        source: WalError,
    },
    #[error("committing decided block {height} failed: {source}")]
    Commit {
        height: u64,
        #[source]
        source: LedgerError,
    },
    #[error("making synced blocks durable failed: {0}")]
    Durability(#[source] LedgerError),
}

/// Why a block fetched by sync was not applied: the server's fault (it is banned for it) or, once
/// the commit verifies, this node's.
#[derive(Debug, thiserror::Error)]
enum SyncedBlockError {
    #[error("the commit is for another block")]
    CommitForAnotherBlock,
    #[error("the body is not the one the header commits to")]
    BodyMismatch,
    #[error("commit: {0}")]
    Commit(#[source] CommitError),
    #[error("{0}")]
    Store(#[source] StoreError),
    #[error("no validator set for that height")]
    NoValidatorSet,
    #[error("{0}")]
    Apply(#[source] LedgerError),
}

impl SyncedBlockError {
    fn server_to_blame(&self) -> bool {
        matches!(
            self,
            SyncedBlockError::CommitForAnotherBlock
                | SyncedBlockError::BodyMismatch
                | SyncedBlockError::Commit(_)
        )
    }
}

/// Where a proposer keeps the block it is about to sign for, durably, so that after a crash it
/// re-proposes that very block (the WAL holds the signature, not the block).
pub trait ProposalSlot: Send {
    fn load(&self) -> Option<Block>;
    /// Keeps a block's borsh encoding. Must be durable when it returns: the signature for the
    /// block follows.
    fn save(&mut self, block: &[u8]) -> std::io::Result<()>;
}

/// Sizes of what the machine buffers, for the simulator's bounded-memory check.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Footprint {
    pub blocks: usize,
    pub executed: usize,
    pub future: usize,
    pub member_sets: usize,
    pub round_values: usize,
    pub timers: usize,
    pub round: u32,
    pub tracked_rounds: usize,
    pub sync: crate::sync::SyncFootprint,
}

pub struct NodeMachine<W: Wal> {
    node: Arc<Node>,
    driver: Driver<W>,
    key: Option<Keypair>,
    domain: SigningDomain,
    block_time_ms: u64,
    timeouts: Timeouts,
    /// Whether proposals are filled against a wall-clock deadline (`build_budget_ms`); off in
    /// the simulator, whose clock is virtual, so a seed replays the same blocks.
    fill_deadline: bool,
    /// The core's timeouts by due time (ms), then a sequence number so that equal times keep
    /// their order. The height's start, the proposal and the status poll have fields of their own.
    timers: BTreeMap<(u64, u64), Timeout>,
    seq: u64,
    /// Hashes of the consensus messages accepted, oldest first (at most `MAX_SEEN_MESSAGES`).
    seen: HashSet<Hash>,
    seen_order: VecDeque<Hash>,
    /// Proposed blocks of the height being decided, by hash.
    blocks: HashMap<Hash, Block>,
    /// Blocks executed against the head, ready to commit, with what block building left out.
    executed: HashMap<Hash, (ExecutedBlock, Vec<(Hash, TxError)>)>,
    future: Vec<(SignedProposal, Block)>,
    propose_at: Option<(u64, u64, u32)>,
    start_at: Option<u64>,
    status_at: u64,
    /// Decided here, but the block never arrived: it comes by sync.
    missing: Option<(u64, Hash)>,
    last_progress_ms: u64,
    sync: RangeSync,
    proposal: Box<dyn ProposalSlot>,
    /// This node's own proposal of the height: its block's hash and encoding (made once).
    proposed: Option<(Hash, Vec<u8>)>,
    /// Validator sets of the heights gossip is admitted for (at most `MAX_HEIGHTS_AHEAD`).
    member_sets: BTreeMap<u64, ValidatorSet>,
    /// The first value proposed for each (height, round) above the head: the core keeps only
    /// the first proposal of a round, so an equivocating proposer's other blocks are neither
    /// executed, kept nor relayed. Bounded by the gossip height window and the round window.
    round_values: BTreeMap<(u64, u32), Hash>,
    /// Effects of the input being handled.
    effects: Vec<Effect>,
    /// Equivocations whose report this node could not queue yet (a full pool, say), retried
    /// after each block (at most `MAX_UNREPORTED`).
    unreported: Vec<Evidence>,
}

/// Equivocation reports kept for a retry: one per validator of a small set is plenty, and the
/// core reports each equivocation it sees once.
const MAX_UNREPORTED: usize = 16;

impl<W: Wal> NodeMachine<W> {
    /// A machine over `node`'s ledger and mempool, logging to `wal`. Nothing happens until
    /// `start`.
    pub fn new(
        node: Arc<Node>,
        key: Option<Keypair>,
        timeouts: Timeouts,
        wal: W,
        proposal: Box<dyn ProposalSlot>,
    ) -> NodeMachine<W> {
        let params = node.ledger().params().clone();
        let domain = node.ledger().signing_domain().clone();
        let driver = Driver::new(Config::new(domain.clone(), timeouts), key.clone(), wal);
        NodeMachine {
            node,
            driver,
            key,
            domain,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            block_time_ms: params.block_time_ms,
            timeouts,
            fill_deadline: true,
            timers: BTreeMap::new(),
            seq: 0,
            blocks: HashMap::new(),
            executed: HashMap::new(),
            future: Vec::new(),
            propose_at: None,
            start_at: None,
            status_at: 0,
            missing: None,
            last_progress_ms: 0,
            sync: RangeSync::default(),
            proposal,
            proposed: None,
            member_sets: BTreeMap::new(),
            round_values: BTreeMap::new(),
            effects: Vec::new(),
            unreported: Vec::new(),
        }
    }

    /// Picks up a block this node was about to propose before a restart, and starts the next
    /// height at once (replaying its WAL if it was under way).
    pub fn start(&mut self, now: u64) -> Vec<Effect> {
        if let Some(block) = self.proposal.load() {
            if block.header.height == self.head_height() + 1 {
                self.blocks.insert(block.hash(), block);
            }
        }
        self.start_at = Some(now);
        self.status_at = now;
        self.last_progress_ms = now;
        self.on_tick(now);
        std::mem::take(&mut self.effects)
    }

    /// When the machine next wants a `Tick` (ms): never later than the next status poll.
    pub fn next_deadline(&self) -> u64 {
        [
            self.timers.keys().next().map(|(t, _)| *t),
            self.propose_at.map(|(t, _, _)| t),
            self.start_at,
        ]
        .into_iter()
        .flatten()
        .fold(self.status_at, u64::min)
    }

    pub fn handle(&mut self, now: u64, input: Input) -> Vec<Effect> {
        match input {
            Input::ConsensusGossip { id, source, data } => {
                self.on_consensus_gossip(now, id, source, &data)
            }
            Input::PeerDown(peer) => self.sync.remove_peer(&peer),
            Input::Tick => self.on_tick(now),
            Input::Status { peer, response } => {
                if let Some(SyncResponse::Status {
                    genesis,
                    tip,
                    earliest,
                    ..
                }) = response
                {
                    if genesis == self.node.ledger().genesis_hash() {
                        self.sync.set_status(peer, PeerStatus { tip, earliest });
                        self.node
                            .set_best_peer_height(self.sync.best_tip().unwrap_or(0));
                    }
                }
                self.request_ranges(now);
            }
            Input::Range {
                peer,
                from,
                response,
            } => {
                match response {
                    Some(SyncResponse::Blocks(blocks)) => {
                        if let Some(liar) = self.sync.on_response(peer, from, blocks) {
                            self.punish(liar, "claimed a tip it did not serve");
                        }
                        self.apply_synced(now);
                    }
                    _ => {
                        if let Some(liar) = self.sync.on_failure(peer, from) {
                            self.punish(liar, "failed every range of the tip it claimed");
                        }
                    }
                }
                self.request_ranges(now);
            }
        }
        std::mem::take(&mut self.effects)
    }

    #[cfg(test)]
    pub(crate) fn footprint(&self) -> Footprint {
        Footprint {
            blocks: self.blocks.len(),
            executed: self.executed.len(),
            future: self.future.len(),
            member_sets: self.member_sets.len(),
            round_values: self.round_values.len(),
            timers: self.timers.len(),
            round: self.driver.core().round(),
            tracked_rounds: self.driver.core().tracked_rounds(),
            sync: self.sync.footprint(),
        }
    }

    #[cfg(test)]
    pub(crate) fn wal_mut(&mut self) -> &mut W {
        self.driver.wal_mut()
    }

    fn on_tick(&mut self, now: u64) {
        if self.start_at.is_some_and(|t| t <= now) {
            self.start_at = None;
            self.start_next_height(now);
        }
        if let Some((t, height, round)) = self.propose_at {
            if t <= now {
                self.propose_at = None;
                self.propose(now, height, round);
            }
        }
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timeout = entry.remove();
            tracing::debug!(height = timeout.height, round = timeout.round, kind = ?timeout.kind, "timeout");
            let out = self.driver.handle(CoreInput::Timeout(timeout));
            self.outputs(now, out);
        }
        if self.status_at <= now {
            self.status_at = now.saturating_add(STATUS_EVERY_MS);
            self.effects.push(Effect::PollStatus);
        }
    }

    fn head_height(&self) -> u64 {
        self.node.ledger().head().height
    }

    fn validators_for(&self, height: u64) -> Option<ValidatorSet> {
        match self.node.ledger().validators_at(height) {
            Ok(Some(set)) => Some(ValidatorSet::new(set)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "reading the validator set");
                None
            }
        }
    }

    /// Whether `who` is in the validator set of `height` (one the gossip window admits: the
    /// height being decided or the next). The sets are cached: this runs per message.
    /// A proposal must come from its round's proposer (deterministic: every honest node agrees),
    /// so a member cannot make every node execute a block per round it invents. None while that
    /// set is unknown here.
    fn may_sign(&mut self, height: u64, wire: &ConsensusWire) -> Option<bool> {
        if !self.member_sets.contains_key(&height) {
            let set = self.validators_for(height)?;
            let head = self.head_height();
            self.member_sets.retain(|h, _| *h > head);
            self.member_sets.insert(height, set);
        }
        let set = self.member_sets.get(&height)?;
        Some(match wire {
            ConsensusWire::Proposal { proposal, .. } => {
                set.proposer(height, proposal.proposal.round) == proposal.proposer
            }
            ConsensusWire::Vote(v) => set.power_of(&v.validator) > 0,
        })
    }

    /// Whether `proposal` is within `MAX_PROPOSAL_ROUNDS_AHEAD` of this node's round at its
    /// height, and the first value (or the same one again) for its height and round.
    fn first_value_in_reach(&mut self, proposal: &SignedProposal) -> bool {
        let p = &proposal.proposal;
        let core = self.driver.core();
        let round = if core.height() == p.height {
            core.round()
        } else {
            0
        };
        if p.round > round.saturating_add(MAX_PROPOSAL_ROUNDS_AHEAD) {
            return false;
        }
        let head = self.head_height();
        self.round_values.retain(|(h, _), _| *h > head);
        *self
            .round_values
            .entry((p.height, p.round))
            .or_insert(p.value)
            == p.value
    }

    fn start_next_height(&mut self, now: u64) {
        let height = self.head_height() + 1;
        let Some(set) = self.validators_for(height) else {
            tracing::error!(height, "no validator set for the next height");
            return;
        };
        self.blocks.retain(|_, b| b.header.height == height);
        self.executed.clear();
        self.timers.clear();
        self.propose_at = None;
        let out = match self.driver.start_height(height, set) {
            Ok(out) => out,
            Err(e) => {
                self.effects
                    .push(Effect::Halt(Halt::Wal { height, source: e }));
                return;
            }
        };
        if let Some(w) = &self.driver.wal_warning {
            tracing::warn!("{w}");
        }
        self.node.set_round(height, 0);
        self.outputs(now, out);
        for (proposal, block) in std::mem::take(&mut self.future) {
            if proposal.proposal.height == height {
                self.on_proposal(now, proposal, block);
            } else if proposal.proposal.height > height {
                self.future.push((proposal, block));
            }
        }
    }

    fn outputs(&mut self, now: u64, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Publish(m) | Output::Relay(m) => self.publish(m),
                Output::Schedule(t, ms) => {
                    self.seq += 1;
                    self.timers.insert((now.saturating_add(ms), self.seq), t);
                    if t.round > 0 {
                        self.node.set_round(t.height, t.round);
                    }
                }
                Output::GetValue { height, round } => {
                    // Block cadence: the first round's proposal waits for the parent's time
                    // plus the block time; later rounds propose at once.
                    let head = self.node.ledger().head();
                    let due = head.time_ms + self.block_time_ms;
                    let at = if round == 0 { due.max(now) } else { now };
                    self.propose_at = Some((at, height, round));
                }
                Output::Decided {
                    height,
                    value,
                    commit,
                    ..
                } => self.on_decided(now, height, value, commit),
                Output::Evidence(e) => self.report_evidence(e),
            }
        }
    }

    fn publish(&mut self, m: Message) {
        let data = match m {
            Message::Proposal(proposal) => {
                let value = proposal.proposal.value;
                match (&self.proposed, self.blocks.get(&value)) {
                    (Some((hash, bytes)), _) if *hash == value => {
                        ConsensusWire::encode_proposal(&proposal, bytes)
                    }
                    (_, Some(block)) => ConsensusWire::encode_proposal(
                        &proposal,
                        &borsh::to_vec(block).expect("borsh"),
                    ),
                    (_, None) => return,
                }
            }
            Message::Vote(v) => ConsensusWire::Vote(v).encode(),
        };
        self.effects.push(Effect::PublishConsensus(data));
    }

    /// Proposals filled without a wall-clock deadline (the simulator).
    #[cfg(test)]
    pub(crate) fn without_fill_deadline(mut self) -> Self {
        self.fill_deadline = false;
        self
    }

    /// How long before the proposer may propose every node starts the height (so clocks and
    /// commit times that differ a little still find everyone listening). At most a quarter of
    /// the propose timeout: a longer lead (a quarter of a long block time) would spend the
    /// whole timeout before the proposal is even due, and every height would need a round 1.
    fn lead_ms(&self) -> u64 {
        (self.block_time_ms / 4).min(self.timeouts.propose_ms / 4)
    }

    /// How long the proposer may spend filling its block. The validators started their
    /// propose timeout `lead_ms` before the proposal was due; half of that timeout goes to
    /// building, which leaves a quarter for gossip and skew. Validating costs about what
    /// building did (the signatures are cached from intake), so a full mempool can no longer
    /// make every proposal arrive after the validators gave up on it, round after round. The
    /// budget does not grow with the round: a round failed because the machines were slow, and
    /// a bigger block would make the next one slower still.
    /// A proposer whose own power is a quorum waits for nobody: it fills up to a block time.
    fn build_budget_ms(&self, height: u64) -> u64 {
        let alone = self
            .key
            .as_ref()
            .zip(self.validators_for(height))
            .is_some_and(|(k, set)| set.is_quorum(set.power_of(&k.account()) as u128));
        if alone {
            return self.block_time_ms.max(MIN_BUILD_BUDGET_MS);
        }
        (self.timeouts.propose_ms / 2).max(MIN_BUILD_BUDGET_MS)
    }

    /// Builds this node's proposal from the mempool and hands its hash to the core.
    fn propose(&mut self, now: u64, height: u64, round: u32) {
        if height != self.head_height() + 1 || self.driver.core().height() != height {
            return;
        }
        let Some(key) = &self.key else { return };
        let proposer = key.account();
        let head_time = self.node.ledger().head().time_ms;
        let limits = if self.fill_deadline {
            BlockLimits::within(Duration::from_millis(self.build_budget_ms(height)))
        } else {
            BlockLimits::default()
        };
        let built = match self
            .node
            .build_block(proposer, now.max(head_time + 1), limits)
        {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, height, "building a block failed");
                return;
            }
        };
        let block = built.executed.block.clone();
        tracing::debug!(height, round, txs = block.txs.len(), "proposing");
        let hash = block.hash();
        // A restarted proposer must re-propose this very block: keep it before signing for it.
        // The same bytes are gossiped with every (re)broadcast of the proposal.
        let bytes = borsh::to_vec(&block).expect("borsh");
        if let Err(e) = self.proposal.save(&bytes) {
            tracing::error!(error = %e, "saving the proposal; not proposing");
            return;
        }
        self.proposed = Some((hash, bytes));
        self.blocks.insert(hash, block);
        self.executed.insert(hash, (built.executed, built.rejected));
        let out = self.driver.handle(CoreInput::ProposedValue {
            height,
            round,
            value: hash,
        });
        self.outputs(now, out);
    }

    fn on_consensus_gossip(&mut self, now: u64, id: MessageId, source: PeerId, data: &[u8]) {
        let wire = match ConsensusWire::decode(data, &self.domain) {
            Ok(wire) => wire,
            Err(reason) => {
                tracing::debug!(peer = %source, %reason, "rejected consensus message");
                self.report(id, source, MessageAcceptance::Reject);
                return;
            }
        };
        let height = wire.message().height();
        let head = self.head_height();
        let mut verdict = gossip_verdict(height, head);
        // A proposal for a decided height is of no use to anyone: replaying old multi-MiB
        // proposals must not make the network relay them.
        if matches!(wire, ConsensusWire::Proposal { .. }) && height <= head {
            verdict = MessageAcceptance::Ignore;
        }
        // Signed, but not by a member of that height's set (or, for a proposal, not by that
        // round's proposer): forged as far as consensus goes, and never relayed. A set this node
        // does not know yet blames nobody.
        if matches!(verdict, MessageAcceptance::Accept) {
            verdict = match self.may_sign(height, &wire) {
                Some(true) => MessageAcceptance::Accept,
                Some(false) => MessageAcceptance::Reject,
                None => MessageAcceptance::Ignore,
            };
        }
        // The round's proposer, but a round out of reach or a second value for a round: of no
        // use to the core, and not held against the peer that relayed it (it may have seen
        // this value first).
        if let (MessageAcceptance::Accept, ConsensusWire::Proposal { proposal, .. }) =
            (verdict, &wire)
        {
            if !self.first_value_in_reach(proposal) {
                verdict = MessageAcceptance::Ignore;
            }
        }
        if matches!(verdict, MessageAcceptance::Accept) && !self.first_sight(data) {
            verdict = MessageAcceptance::Ignore;
        }
        let usable = matches!(verdict, MessageAcceptance::Accept);
        self.report(id, source, verdict);
        if !usable {
            return;
        }
        match wire {
            ConsensusWire::Proposal { proposal, block } => self.on_proposal(now, proposal, *block),
            ConsensusWire::Vote(v) => {
                let out = self.driver.handle(CoreInput::Vote(v));
                self.outputs(now, out);
            }
        }
    }

    /// Whether these message bytes are new here; remembers them.
    fn first_sight(&mut self, data: &[u8]) -> bool {
        let hash = Hash::digest(data);
        if !self.seen.insert(hash) {
            return false;
        }
        self.seen_order.push_back(hash);
        if self.seen_order.len() > MAX_SEEN_MESSAGES {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }

    fn report(&mut self, id: MessageId, source: PeerId, verdict: MessageAcceptance) {
        self.effects.push(Effect::Report {
            id,
            source,
            verdict,
        });
    }

    fn on_proposal(&mut self, now: u64, proposal: SignedProposal, block: Block) {
        let height = proposal.proposal.height;
        let next = self.head_height() + 1;
        if height > next || (height == next && self.driver.core().height() != next) {
            if self.future.len() < MAX_FUTURE_PROPOSALS {
                self.future.push((proposal, block));
            }
            return;
        }
        if height < next {
            return;
        }
        let hash = block.hash();
        let valid = self.executed.contains_key(&hash) || self.validate(now, &block);
        tracing::debug!(
            height,
            round = proposal.proposal.round,
            txs = block.txs.len(),
            valid,
            "proposal"
        );
        self.blocks.insert(hash, block);
        let out = self.driver.handle(CoreInput::Proposal { proposal, valid });
        self.outputs(now, out);
    }

    /// Executes a proposed block against the head: a block this node would not commit gets a nil
    /// prevote.
    fn validate(&mut self, now: u64, block: &Block) -> bool {
        let head = self.node.ledger().head();
        if block.header.time_ms <= head.time_ms
            || block.header.time_ms > now.saturating_add(MAX_CLOCK_DRIFT_MS)
        {
            tracing::warn!(
                height = block.header.height,
                "proposal with a bad timestamp"
            );
            return false;
        }
        match self.node.ledger().execute_block(block) {
            Ok(executed) => {
                self.executed.insert(block.hash(), (executed, vec![]));
                true
            }
            Err(e @ LedgerError::StateRootMismatch { .. }) => {
                tracing::error!(error = %e, "a proposal's state root differs from ours");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "invalid proposal");
                false
            }
        }
    }

    fn on_decided(&mut self, now: u64, height: u64, value: Hash, commit: Commit) {
        if height != self.head_height() + 1 {
            return;
        }
        let executed = match self.executed.remove(&value) {
            Some(e) => Some(e),
            None => self.blocks.get(&value).and_then(|b| {
                self.node
                    .ledger()
                    .execute_block(b)
                    .ok()
                    .map(|e| (e, vec![]))
            }),
        };
        let Some((executed, rejected)) = executed else {
            tracing::warn!(height, block = %value, "decided a block this node does not have; fetching it");
            self.missing = Some((height, value));
            self.effects.push(Effect::PollStatus);
            return;
        };
        if let Err(source) = self.node.commit_block(executed, &commit, &rejected, true) {
            self.effects
                .push(Effect::Halt(Halt::Commit { height, source }));
            return;
        }
        self.committed(now);
        let head = self.node.ledger().head();
        let due = head.time_ms + self.block_time_ms;
        // The next height starts a little before the proposer may propose, so every node is
        // listening when the proposal arrives.
        self.start_at = Some(due.saturating_sub(self.lead_ms()).max(now));
    }

    fn committed(&mut self, now: u64) {
        self.last_progress_ms = now;
        self.missing = None;
        self.proposed = None;
        self.blocks.clear();
        self.executed.clear();
        self.propose_at = None;
        for e in std::mem::take(&mut self.unreported) {
            self.report_evidence(e);
        }
    }

    fn report_evidence(&mut self, e: Evidence) {
        tracing::warn!(validator = %e.first.validator, height = e.first.vote.height, "equivocation seen");
        let Some(key) = &self.key else { return };
        let e_kept = e.clone();
        let evidence = DoubleSign {
            validator: e.first.validator,
            first: e.first.vote,
            first_signature: e.first.signature,
            second: e.second.vote,
            second_signature: e.second.signature,
        };
        let tx = Tx {
            chain_id: self.domain.chain_id.clone(),
            signer: key.account(),
            nonce: self.node.next_nonce(&key.account()),
            fee: 0,
            call: Call::ReportEquivocation {
                evidence: Box::new(evidence),
            },
        };
        let stx = tx.sign(key, &self.domain);
        let bytes = borsh::to_vec(&stx).expect("borsh");
        // `admit` takes none of the REST verify slots: a REST flood cannot keep it out.
        match self.node.admit(stx) {
            Ok(_) => self.effects.push(Effect::PublishTx(bytes)),
            // Already on its way, or refused by the ledger (reported already, too old): final.
            Err(e @ (SubmitError::AlreadyKnown(_) | SubmitError::Rejected(_))) => {
                tracing::debug!(error = %e, "evidence not queued")
            }
            Err(e) => {
                tracing::warn!(error = %e, "evidence not queued yet; retried after the next block");
                if self.unreported.len() < MAX_UNREPORTED {
                    self.unreported.push(e_kept);
                }
            }
        }
    }

    /// A sync peer lied (a tip it could not back, a block that failed verification): its
    /// claims no longer count toward health, and the network disconnects and bans it for a while.
    fn punish(&mut self, peer: PeerId, why: &str) {
        tracing::warn!(%peer, why, "disconnecting a sync peer");
        self.effects.push(Effect::Ban(peer));
        self.node
            .set_best_peer_height(self.sync.best_tip().unwrap_or(0));
    }

    fn request_ranges(&mut self, now: u64) {
        let head = self.head_height();
        let Some(best) = self.sync.best_tip() else {
            return;
        };
        let stalled = now.saturating_sub(self.last_progress_ms) > STALL_MS;
        let behind = best > head + 1 || (best > head && (self.missing.is_some() || stalled));
        if !behind {
            return;
        }
        for (peer, from, count) in self.sync.next_requests(head) {
            self.effects
                .push(Effect::RequestRange { peer, from, count });
        }
    }

    /// Applies fetched blocks in order: each commit is checked against the validator set this
    /// node already knows for that height, then the block is executed and stored.
    fn apply_synced(&mut self, now: u64) {
        let mut applied = 0u64;
        let mut unsynced = false;
        loop {
            let head = self.head_height();
            let Some((block, commit, server)) = self.sync.take_next(head) else {
                break;
            };
            let height = head + 1;
            let result = (|| -> Result<bool, SyncedBlockError> {
                let ledger = self.node.ledger();
                if commit.block_hash != block.hash() {
                    return Err(SyncedBlockError::CommitForAnotherBlock);
                }
                if !block.body_matches_header() {
                    return Err(SyncedBlockError::BodyMismatch);
                }
                let set = ledger
                    .validators_at(height)
                    .map_err(SyncedBlockError::Store)?
                    .ok_or(SyncedBlockError::NoValidatorSet)?;
                commit
                    .verify(&self.domain, &set)
                    .map_err(SyncedBlockError::Commit)?;
                // Past this point the block is the one 2/3 of the set signed: a failure is
                // this node's (storage, or a state that diverged), never the server's.
                let executed = ledger
                    .execute_block(&block)
                    .map_err(SyncedBlockError::Apply)?;
                // Only the last block of a run waits for the disk; a crash before it loses
                // whole blocks at the end of the run, which are fetched again.
                let last = !self.sync.has(height + 1);
                self.node
                    .commit_block(executed, &commit, &[], last)
                    .map_err(SyncedBlockError::Apply)?;
                Ok(last)
            })();
            match result {
                Ok(synced) => unsynced = !synced,
                Err(reason) if reason.server_to_blame() => {
                    tracing::warn!(height, %reason, peer = %server, "a synced block failed verification; fetching again elsewhere");
                    self.sync.served_invalid(&server);
                    self.punish(server, "served a block that failed verification");
                    break;
                }
                Err(reason) => {
                    tracing::error!(height, %reason, "a block signed by 2/3 of the set does not apply here");
                    self.sync.discard_fetched();
                    break;
                }
            }
            applied += 1;
        }
        // A run cut short (a block failed verification) ends on an unsynced block: make it
        // durable before anything assumes it, as the next height's WAL reset does. A validator
        // that lost those blocks to a power cut could otherwise sign their heights again.
        if unsynced {
            if let Err(e) = self.node.ledger().sync() {
                self.effects.push(Effect::Halt(Halt::Durability(e)));
                return;
            }
        }
        if applied > 0 {
            tracing::info!(applied, head = self.head_height(), "synced blocks");
            self.committed(now);
            self.start_at = Some(now);
        }
    }
}

/// Heights above the head a consensus message may be for: the height being decided and the next
/// one (whose early messages the core buffers). Anything further is neither kept nor relayed: a
/// node that far behind catches up by block sync, and junk for far heights must not fill the
/// buffers honest early messages need.
pub(crate) const MAX_HEIGHTS_AHEAD: u64 = 2;
// Every honest node knows the validator set of each height the window admits (sets are known
// `ACTIVATION_DELAY` heights ahead), so they all judge a signer's membership alike.
const _: () = assert!(MAX_HEIGHTS_AHEAD <= tensorchain_consensus::schedule::ACTIVATION_DELAY);

/// How gossip of a checked consensus message for `height` is reported, given this node's head:
/// messages more than a block behind are stale and messages beyond `MAX_HEIGHTS_AHEAD` are out of
/// reach (neither is used nor relayed, nor held against the sender). The height is the sender's
/// choice: no arithmetic on it may overflow.
fn gossip_verdict(height: u64, head: u64) -> MessageAcceptance {
    if height.saturating_add(1) < head || height > head.saturating_add(MAX_HEIGHTS_AHEAD) {
        MessageAcceptance::Ignore
    } else {
        MessageAcceptance::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding 9 of the Byzantine-peers review: `height + 1` on a peer-chosen `u64::MAX` killed
    /// the engine task (debug builds).
    #[test]
    fn finding_9_a_peer_chosen_height_does_not_overflow() {
        assert!(matches!(
            gossip_verdict(u64::MAX, 10),
            MessageAcceptance::Ignore
        ));
        assert!(matches!(
            gossip_verdict(u64::MAX, u64::MAX),
            MessageAcceptance::Accept
        ));
        assert!(matches!(gossip_verdict(8, 10), MessageAcceptance::Ignore));
        assert!(matches!(gossip_verdict(9, 10), MessageAcceptance::Accept));
        assert!(matches!(gossip_verdict(12, 10), MessageAcceptance::Accept));
        assert!(matches!(gossip_verdict(13, 10), MessageAcceptance::Ignore));
    }

    struct NoSlot;

    impl ProposalSlot for NoSlot {
        fn load(&self) -> Option<Block> {
            None
        }

        fn save(&mut self, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn machine(
        validators: usize,
        block_time_ms: u64,
    ) -> NodeMachine<tensorchain_consensus::MemoryWal> {
        let mut spec = tensorchain_genesis::ChainSpec::devnet(validators, 0);
        spec.block_time_ms = block_time_ms;
        let store = Arc::new(tensorchain_ledger::MemoryStore::new());
        let ledger = tensorchain_ledger::Ledger::open(store, &spec.genesis_state()).unwrap();
        let key = tensorchain_genesis::dev_hotkey("alice");
        let metrics = Arc::new(tensorchain_rpc::Metrics::new());
        let node = Arc::new(Node::new(Arc::new(ledger), metrics, Some(key.account())));
        NodeMachine::new(
            node,
            Some(key),
            timeouts(block_time_ms),
            Default::default(),
            Box::new(NoSlot),
        )
    }

    /// The proposer's fill budget and the height's lead leave the validators a quarter of their
    /// propose timeout for gossip and skew, at devnet and at mainnet-like block times; a
    /// validator holding a quorum alone fills for a block time.
    #[test]
    fn the_fill_budget_and_the_lead_fit_in_the_propose_timeout() {
        for (block_time_ms, lead, budget) in [(1_000, 150, 300), (12_000, 750, 1_500)] {
            let m = machine(4, block_time_ms);
            assert_eq!(m.lead_ms(), lead, "{block_time_ms} ms blocks");
            assert_eq!(m.build_budget_ms(1), budget, "{block_time_ms} ms blocks");
            assert_eq!(
                m.timeouts.propose_ms - m.lead_ms() - m.build_budget_ms(1),
                m.timeouts.propose_ms / 4
            );
        }
        assert_eq!(machine(1, 1_000).build_budget_ms(1), 1_000);
    }
}
