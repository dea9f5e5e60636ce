//! The consensus engine task: drives the BFT core with gossip, timers and proposals built from the
//! mempool; executes every proposed block before voting on it; commits decided blocks; and syncs
//! blocks from peers when it is behind. It is the ledger's one writer.

use crate::service::{now_ms, Node};
use crate::sync::{PeerStatus, RangeSync};
use crate::wire::ConsensusWire;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tensorchain_consensus::{
    Config, Driver, Evidence, FileWal, Input, Message, Output, SignedProposal, Timeout, Timeouts,
    ValidatorSet,
};
use tensorchain_ledger::{ExecutedBlock, LedgerError, TxError};
use tensorchain_network::{
    Event, MessageAcceptance, NetworkError, NetworkHandle, PeerId, SyncRequest, SyncResponse, Topic,
};
use tensorchain_primitives::{
    Block, Call, Commit, DoubleSign, Hash, Keypair, SignedTx, SigningDomain, Tx,
};
use tensorchain_rpc::{NodeApi, SubmitError};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How far a proposal's timestamp may run ahead of this node's clock.
const MAX_CLOCK_DRIFT_MS: u64 = 5_000;
/// Proposals kept for heights this node has not started yet.
const MAX_FUTURE_PROPOSALS: usize = 64;
/// A peer one block ahead is only synced from after this long without progress here.
const STALL: Duration = Duration::from_secs(2);
const STATUS_EVERY: Duration = Duration::from_millis(1000);

pub struct EngineConfig {
    pub key: Option<Keypair>,
    pub timeouts: Timeouts,
    pub consensus_dir: PathBuf,
}

enum SyncResult {
    Status(PeerId, Result<SyncResponse, NetworkError>),
    Blocks(PeerId, u64, Result<SyncResponse, NetworkError>),
}

pub struct Engine {
    node: Arc<Node>,
    net: NetworkHandle,
    driver: Driver<FileWal>,
    key: Option<Keypair>,
    domain: SigningDomain,
    block_time_ms: u64,
    timers: BTreeMap<(Instant, u64), Timeout>,
    seq: u64,
    /// Proposed blocks of the height being decided, by hash.
    blocks: HashMap<Hash, Block>,
    /// Blocks executed against the head, ready to commit, with what block building left out.
    executed: HashMap<Hash, (ExecutedBlock, Vec<(Hash, TxError)>)>,
    future: Vec<(SignedProposal, Block)>,
    propose_at: Option<(Instant, u64, u32)>,
    start_at: Option<Instant>,
    /// Decided here, but the block never arrived: it comes by sync.
    missing: Option<(u64, Hash)>,
    last_progress: Instant,
    sync: RangeSync,
    sync_tx: mpsc::Sender<SyncResult>,
    /// Taken by `run`, which selects on it.
    sync_rx: Option<mpsc::Receiver<SyncResult>>,
    proposal_path: PathBuf,
    /// Validator sets of the heights gossip is admitted for (at most `MAX_HEIGHTS_AHEAD`).
    member_sets: BTreeMap<u64, ValidatorSet>,
}

/// Blocking storage work on the engine's task, without stalling the runtime's other workers.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

impl Engine {
    pub fn new(
        node: Arc<Node>,
        net: NetworkHandle,
        config: EngineConfig,
    ) -> anyhow::Result<Engine> {
        std::fs::create_dir_all(&config.consensus_dir)?;
        let wal = FileWal::open(&config.consensus_dir.join("wal"))
            .map_err(|e| anyhow::anyhow!("opening the consensus WAL: {e}"))?;
        let params = node.ledger().params().clone();
        let domain = node.ledger().signing_domain().clone();
        let driver = Driver::new(
            Config::new(domain.clone(), config.timeouts),
            config.key.clone(),
            wal,
        );
        let (sync_tx, sync_rx) = mpsc::channel(256);
        Ok(Engine {
            node,
            net,
            driver,
            key: config.key,
            domain,
            block_time_ms: params.block_time_ms,
            timers: BTreeMap::new(),
            seq: 0,
            blocks: HashMap::new(),
            executed: HashMap::new(),
            future: Vec::new(),
            propose_at: None,
            start_at: Some(Instant::now()),
            missing: None,
            last_progress: Instant::now(),
            sync: RangeSync::default(),
            sync_tx,
            sync_rx: Some(sync_rx),
            proposal_path: config.consensus_dir.join("proposal"),
            member_sets: BTreeMap::new(),
        })
    }

    pub async fn run(
        mut self,
        mut consensus: mpsc::Receiver<Event>,
        mut tx_gossip: mpsc::Receiver<Event>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut sync_rx = self.sync_rx.take().expect("an engine runs once");
        self.load_own_proposal();
        let mut status = tokio::time::interval(STATUS_EVERY);
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|s| *s) => return,
                Some(ev) = consensus.recv() => self.on_event(ev),
                Some(r) = sync_rx.recv() => self.on_sync(r),
                _ = tokio::time::sleep_until(deadline) => self.on_deadline(),
                Some(ev) = tx_gossip.recv() => self.on_tx_gossip(ev),
                _ = status.tick() => self.poll_status(),
            }
        }
    }

    fn next_deadline(&self) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        [
            self.timers.keys().next().map(|(t, _)| *t),
            self.propose_at.map(|(t, _, _)| t),
            self.start_at,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(far)
    }

    fn on_deadline(&mut self) {
        let now = Instant::now();
        if self.start_at.is_some_and(|t| t <= now) {
            self.start_at = None;
            self.start_next_height();
        }
        if let Some((t, height, round)) = self.propose_at {
            if t <= now {
                self.propose_at = None;
                self.propose(height, round);
            }
        }
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timeout = entry.remove();
            let out = self.driver.handle(Input::Timeout(timeout));
            self.outputs(out);
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

    fn start_next_height(&mut self) {
        let height = self.head_height() + 1;
        let Some(set) = self.validators_for(height) else {
            tracing::error!(height, "no validator set for the next height");
            return;
        };
        self.blocks.clear();
        self.executed.clear();
        self.timers.clear();
        self.propose_at = None;
        let out = match self.driver.start_height(height, set) {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(error = %e, height, "consensus WAL failed; not taking part in consensus");
                return;
            }
        };
        if let Some(w) = &self.driver.wal_warning {
            tracing::warn!("{w}");
        }
        self.node.set_round(height, 0);
        self.outputs(out);
        for (proposal, block) in std::mem::take(&mut self.future) {
            if proposal.proposal.height == height {
                self.on_proposal(proposal, block);
            } else if proposal.proposal.height > height {
                self.future.push((proposal, block));
            }
        }
    }

    fn outputs(&mut self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Publish(m) | Output::Relay(m) => self.publish(m),
                Output::Schedule(t, ms) => {
                    self.seq += 1;
                    self.timers
                        .insert((Instant::now() + Duration::from_millis(ms), self.seq), t);
                    if t.round > 0 {
                        self.node.set_round(t.height, t.round);
                    }
                }
                Output::GetValue { height, round } => {
                    // Block cadence: the first round's proposal waits for the parent's time
                    // plus the block time; later rounds propose at once.
                    let head = self.node.ledger().head();
                    let due = head.time_ms + self.block_time_ms;
                    let wait = if round == 0 {
                        due.saturating_sub(now_ms())
                    } else {
                        0
                    };
                    self.propose_at =
                        Some((Instant::now() + Duration::from_millis(wait), height, round));
                }
                Output::Decided {
                    height,
                    value,
                    commit,
                    ..
                } => self.on_decided(height, value, commit),
                Output::Evidence(e) => self.report_evidence(e),
            }
        }
    }

    fn publish(&mut self, m: Message) {
        let wire = match m {
            Message::Proposal(proposal) => match self.blocks.get(&proposal.proposal.value) {
                Some(block) => ConsensusWire::Proposal {
                    proposal,
                    block: Box::new(block.clone()),
                },
                None => return,
            },
            Message::Vote(v) => ConsensusWire::Vote(v),
        };
        self.net.publish_consensus(wire.encode());
    }

    /// Builds this node's proposal from the mempool and hands its hash to the core.
    fn propose(&mut self, height: u64, round: u32) {
        if height != self.head_height() + 1 || self.driver.core().height() != height {
            return;
        }
        let Some(key) = &self.key else { return };
        let proposer = key.account();
        let head_time = self.node.ledger().head().time_ms;
        let built = blocking(|| self.node.build_block(proposer, now_ms().max(head_time + 1)));
        let built = match built {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, height, "building a block failed");
                return;
            }
        };
        let block = built.executed.block.clone();
        let hash = block.hash();
        // A restarted proposer must re-propose this very block: keep it before signing for it.
        if let Err(e) =
            blocking(|| save_atomic(&self.proposal_path, &borsh::to_vec(&block).expect("borsh")))
        {
            tracing::error!(error = %e, "saving the proposal; not proposing");
            return;
        }
        self.blocks.insert(hash, block);
        self.executed.insert(hash, (built.executed, built.rejected));
        let out = self.driver.handle(Input::ProposedValue {
            height,
            round,
            value: hash,
        });
        self.outputs(out);
    }

    fn load_own_proposal(&mut self) {
        let Ok(bytes) = std::fs::read(&self.proposal_path) else {
            return;
        };
        if let Ok(block) = borsh::from_slice::<Block>(&bytes) {
            if block.header.height == self.head_height() + 1 {
                self.blocks.insert(block.hash(), block);
            }
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Gossip {
                topic: Topic::Consensus,
                id,
                source,
                data,
            } => match ConsensusWire::decode(&data, &self.domain) {
                Ok(wire) => {
                    let height = wire.message().height();
                    let head = self.head_height();
                    let mut verdict = gossip_verdict(height, head);
                    // A proposal for a decided height is of no use to anyone: replaying old
                    // multi-MiB proposals must not make the network relay them.
                    if matches!(wire, ConsensusWire::Proposal { .. }) && height <= head {
                        verdict = MessageAcceptance::Ignore;
                    }
                    // Signed, but not by a member of that height's set (or, for a proposal, not
                    // by that round's proposer): forged as far as consensus goes, and never
                    // relayed. A set this node does not know yet blames nobody.
                    if matches!(verdict, MessageAcceptance::Accept) {
                        verdict = match self.may_sign(height, &wire) {
                            Some(true) => MessageAcceptance::Accept,
                            Some(false) => MessageAcceptance::Reject,
                            None => MessageAcceptance::Ignore,
                        };
                    }
                    let usable = matches!(verdict, MessageAcceptance::Accept);
                    self.net.report(id, source, verdict);
                    if !usable {
                        return;
                    }
                    match wire {
                        ConsensusWire::Proposal { proposal, block } => {
                            self.on_proposal(proposal, *block)
                        }
                        ConsensusWire::Vote(v) => {
                            let out = self.driver.handle(Input::Vote(v));
                            self.outputs(out);
                        }
                    }
                }
                Err(reason) => {
                    tracing::debug!(peer = %source, %reason, "rejected consensus message");
                    self.net.report(id, source, MessageAcceptance::Reject);
                }
            },
            Event::Gossip { .. } => {}
            // A new peer is asked for its status at the next poll.
            Event::PeerUp(_) => {}
            Event::PeerDown(peer) => self.sync.remove_peer(&peer),
        }
    }

    fn on_proposal(&mut self, proposal: SignedProposal, block: Block) {
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
        let valid = self.executed.contains_key(&hash) || self.validate(&block);
        self.blocks.insert(hash, block);
        let out = self.driver.handle(Input::Proposal { proposal, valid });
        self.outputs(out);
    }

    /// Executes a proposed block against the head: a block this node would not commit gets a nil
    /// prevote.
    fn validate(&mut self, block: &Block) -> bool {
        let head = self.node.ledger().head();
        if block.header.time_ms <= head.time_ms
            || block.header.time_ms > now_ms() + MAX_CLOCK_DRIFT_MS
        {
            tracing::warn!(
                height = block.header.height,
                "proposal with a bad timestamp"
            );
            return false;
        }
        match blocking(|| self.node.ledger().execute_block(block)) {
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

    fn on_decided(&mut self, height: u64, value: Hash, commit: Commit) {
        if height != self.head_height() + 1 {
            return;
        }
        let executed = match self.executed.remove(&value) {
            Some(e) => Some(e),
            None => self.blocks.get(&value).cloned().and_then(|b| {
                blocking(|| self.node.ledger().execute_block(&b))
                    .ok()
                    .map(|e| (e, vec![]))
            }),
        };
        let Some((executed, rejected)) = executed else {
            tracing::warn!(height, block = %value, "decided a block this node does not have; fetching it");
            self.missing = Some((height, value));
            self.poll_status();
            return;
        };
        if let Err(e) = blocking(|| self.node.commit_block(executed, &commit, &rejected, true)) {
            tracing::error!(error = %e, height, "committing a decided block failed; halting");
            return;
        }
        self.committed();
        let head = self.node.ledger().head();
        let wait = (head.time_ms + self.block_time_ms).saturating_sub(now_ms());
        // The next height starts a little before the proposer may propose, so every node is
        // listening when the proposal arrives.
        let lead = self.block_time_ms / 4;
        self.start_at = Some(Instant::now() + Duration::from_millis(wait.saturating_sub(lead)));
    }

    fn committed(&mut self) {
        self.last_progress = Instant::now();
        self.missing = None;
        self.blocks.clear();
        self.executed.clear();
        self.propose_at = None;
    }

    fn report_evidence(&mut self, e: Evidence) {
        tracing::warn!(validator = %e.first.validator, height = e.first.vote.height, "equivocation seen");
        let Some(key) = &self.key else { return };
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
        if let Err(e) = self.node.submit_tx(stx) {
            tracing::debug!(error = %e, "evidence not queued");
        }
    }

    fn on_tx_gossip(&mut self, ev: Event) {
        let Event::Gossip {
            id, source, data, ..
        } = ev
        else {
            return;
        };
        let verdict = match borsh::from_slice::<SignedTx>(&data) {
            Err(_) => MessageAcceptance::Reject,
            Ok(stx) => match blocking(|| self.node.admit(stx)) {
                Ok(_) => MessageAcceptance::Accept,
                // Only what no honest node would forward counts against the peer.
                Err(SubmitError::Rejected(
                    TxError::BadSignature
                    | TxError::InvalidKey
                    | TxError::WeakKey
                    | TxError::WrongChainId { .. },
                )) => MessageAcceptance::Reject,
                Err(_) => MessageAcceptance::Ignore,
            },
        };
        self.net.report(id, source, verdict);
    }

    fn poll_status(&mut self) {
        for peer in self.net.peers() {
            let (net, tx) = (self.net.clone(), self.sync_tx.clone());
            tokio::spawn(async move {
                let r = net.request(peer.peer_id, SyncRequest::Status).await;
                let _ = tx.send(SyncResult::Status(peer.peer_id, r)).await;
            });
        }
    }

    fn on_sync(&mut self, r: SyncResult) {
        match r {
            SyncResult::Status(
                peer,
                Ok(SyncResponse::Status {
                    genesis,
                    tip,
                    earliest,
                    ..
                }),
            ) => {
                if genesis == self.node.ledger().genesis_hash() {
                    self.sync.set_status(peer, PeerStatus { tip, earliest });
                    self.node
                        .set_best_peer_height(self.sync.best_tip().unwrap_or(0));
                }
            }
            SyncResult::Status(..) => {}
            SyncResult::Blocks(peer, from, Ok(SyncResponse::Blocks(blocks))) => {
                if let Some(liar) = self.sync.on_response(peer, from, blocks) {
                    self.punish(liar, "claimed a tip it did not serve");
                }
                self.apply_synced();
            }
            SyncResult::Blocks(peer, from, _) => {
                if let Some(liar) = self.sync.on_failure(peer, from) {
                    self.punish(liar, "failed every range of the tip it claimed");
                }
            }
        }
        self.request_ranges();
    }

    /// A sync peer lied (a tip it could not back, a block that failed verification): its
    /// claims no longer count toward health, and the network disconnects and bans it for a while.
    fn punish(&mut self, peer: PeerId, why: &str) {
        tracing::warn!(%peer, why, "disconnecting a sync peer");
        self.net.ban(peer);
        self.node
            .set_best_peer_height(self.sync.best_tip().unwrap_or(0));
    }

    fn request_ranges(&mut self) {
        let head = self.head_height();
        let Some(best) = self.sync.best_tip() else {
            return;
        };
        let behind = best > head + 1
            || (best > head && (self.missing.is_some() || self.last_progress.elapsed() > STALL));
        if !behind {
            return;
        }
        for (peer, from, count) in self.sync.next_requests(head) {
            let (net, tx) = (self.net.clone(), self.sync_tx.clone());
            tokio::spawn(async move {
                let r = net.request(peer, SyncRequest::Blocks { from, count }).await;
                let _ = tx.send(SyncResult::Blocks(peer, from, r)).await;
            });
        }
    }

    /// Applies fetched blocks in order: each commit is checked against the validator set this
    /// node already knows for that height, then the block is executed and stored.
    fn apply_synced(&mut self) {
        let mut applied = 0u64;
        let mut unsynced = false;
        loop {
            let head = self.head_height();
            let Some((block, commit, server)) = self.sync.take_next(head) else {
                break;
            };
            let height = head + 1;
            // Err((reason, the server is to blame)).
            let result = blocking(|| -> Result<bool, (String, bool)> {
                let ledger = self.node.ledger();
                let theirs = |m: String| (m, true);
                let ours = |m: String| (m, false);
                if commit.block_hash != block.hash() {
                    return Err(theirs("the commit is for another block".into()));
                }
                if !block.body_matches_header() {
                    return Err(theirs(
                        "the body is not the one the header commits to".into(),
                    ));
                }
                let set = ledger
                    .validators_at(height)
                    .map_err(|e| ours(e.to_string()))?
                    .ok_or_else(|| ours("no validator set for that height".into()))?;
                commit
                    .verify(&self.domain, &set)
                    .map_err(|e| theirs(format!("commit: {e}")))?;
                // Past this point the block is the one 2/3 of the set signed: a failure is
                // this node's (storage, or a state that diverged), never the server's.
                let executed = ledger
                    .execute_block(&block)
                    .map_err(|e| ours(e.to_string()))?;
                // Only the last block of a run waits for the disk; a crash before it loses
                // whole blocks at the end of the run, which are fetched again.
                let last = !self.sync.has(height + 1);
                self.node
                    .commit_block(executed, &commit, &[], last)
                    .map_err(|e| ours(e.to_string()))?;
                Ok(last)
            });
            match result {
                Ok(synced) => unsynced = !synced,
                Err((reason, true)) => {
                    tracing::warn!(height, %reason, peer = %server, "a synced block failed verification; fetching again elsewhere");
                    self.sync.served_invalid(&server);
                    self.punish(server, "served a block that failed verification");
                    break;
                }
                Err((reason, false)) => {
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
            if let Err(e) = blocking(|| self.node.ledger().sync()) {
                tracing::error!(error = %e, "syncing committed blocks to disk failed");
                return;
            }
        }
        if applied > 0 {
            tracing::info!(applied, head = self.head_height(), "synced blocks");
            self.committed();
            self.start_at = Some(Instant::now());
        }
    }
}

/// Heights above the head a consensus message may be for: the height being decided and the next
/// one (whose early messages the core buffers). Anything further is neither kept nor relayed: a
/// node that far behind catches up by block sync, and junk for far heights must not fill the
/// buffers honest early messages need.
const MAX_HEIGHTS_AHEAD: u64 = 2;
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

/// Replaces `path` with `bytes` so that after a crash it holds either the old or the new content:
/// the file is synced before the rename, and the directory after it (without that, the rename
/// itself may be lost on power loss).
fn save_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    std::fs::File::open(dir.unwrap_or(std::path::Path::new(".")))?.sync_all()
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
}
