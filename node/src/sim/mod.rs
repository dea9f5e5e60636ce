//! A deterministic simulator for the node machine: 4–7 real `NodeMachine`s, each over its own
//! in-memory ledger and WAL, joined by a simulated network with virtual time and a seeded RNG.
//! Gossip is flooded as gossipsub does it (a message is relayed only after its receiver reports
//! `Accept`, and each node sees a message id once); block sync requests are answered by the
//! real `sync::serve` of the peer asked. The network delays (with a heavy tail), drops,
//! duplicates and reorders, and partitions and heals (`net.rs`); honest nodes crash and restart
//! over what their disk kept. Byzantine actors (`attack.rs`) hold the keys of up to f
//! validators and of peers of their own. After every step the invariants are checked
//! (`check.rs`): agreement, validity, no double sign, bounded buffers; at the end, liveness
//! after the last fault stops. Everything a run does follows from its `Scenario`'s seed.
//! A failure names its seed: `SIM_SEED=<seed> cargo test -p tensorchain-node --lib sim`.

mod attack;
mod check;
mod failure;
mod net;
mod power;
mod scenario;
mod tests;

use crate::intake::TxIntake;
use crate::machine::{
    Effect, Input, NodeMachine, ProposalSlot, MAX_FUTURE_PROPOSALS, MAX_HEIGHTS_AHEAD,
    MAX_PROPOSAL_ROUNDS_AHEAD,
};
use crate::node::Node;
use attack::Adversary;
pub use attack::Attack;
pub use failure::{SimFailure, Violation};
use net::MAX_GOSSIP_BYTES;
use power::PowerLossStore;
pub use scenario::{seeds, Scenario};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use tensorchain_consensus::core::MAX_CATCHUP_ROUNDS_PER_VALIDATOR;
use tensorchain_consensus::{MemoryWal, Timeouts};
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec, GenesisValidator};
use tensorchain_ledger::{GenesisState, Ledger, MemoryStore};
use tensorchain_network::{
    encode_batch, MessageAcceptance, MessageId, NodeKey, PeerId, SyncRequest, SyncResponse,
};
use tensorchain_primitives::det_rng::SplitMix;
use tensorchain_primitives::{Block, Call, Hash, Keypair, Tx};
use tensorchain_rpc::{Metrics, NodeApi};

/// Genesis time of every simulated chain; the virtual clock starts a block later.
const GENESIS_MS: u64 = 1_700_000_000_000;
/// Validator names: the devnet's dev accounts, and one more for a 7-validator set.
const NAMES: [&str; 7] = ["alice", "bob", "charlie", "dave", "eve", "ferdie", "gerda"];
/// How long a ban keeps two peers apart (the network's `BAN_FOR`).
const BAN_MS: u64 = 600_000;
/// Heights every honest node must decide after the last fault heals, and the virtual time it
/// has for them.
const LIVENESS_HEIGHTS: u64 = 3;
const LIVENESS_MS: u64 = 40_000;

/// A proposer's saved block, in memory that outlives a crash of its node (its "disk").
#[derive(Default, Clone)]
struct MemorySlot(Arc<Mutex<Option<Block>>>);

impl ProposalSlot for MemorySlot {
    fn load(&self) -> Option<Block> {
        self.0.lock().expect("slot lock").clone()
    }

    fn save(&mut self, block: &[u8]) -> std::io::Result<()> {
        *self.0.lock().expect("slot lock") = Some(borsh::from_slice(block)?);
        Ok(())
    }
}

/// What survives a crash: the store's durable batches (unsynced ones are lost), the WAL's
/// synced prefix and the saved proposal.
struct Disk {
    store: Arc<PowerLossStore>,
    slot: MemorySlot,
    wal: MemoryWal,
}

struct Honest {
    disk_store: Arc<PowerLossStore>,
    slot: MemorySlot,
    node: Arc<Node>,
    machine: NodeMachine<MemoryWal>,
    /// The node's transaction intake (a task of its own in the real node).
    intake: TxIntake,
    /// Gossip ids seen, with when (gossipsub's duplicate cache).
    seen: BTreeSet<MessageId>,
    seen_order: VecDeque<(u64, MessageId)>,
    /// Heights already checked against the agreed chain.
    checked: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Consensus,
    Tx,
}

#[derive(Debug)]
enum Event {
    Gossip {
        to: usize,
        from: usize,
        topic: Topic,
        id: MessageId,
        data: Arc<Vec<u8>>,
    },
    Request {
        to: usize,
        from: usize,
        request: SyncRequest,
    },
    Answer {
        to: usize,
        input: Input,
    },
    ClientTx,
    AttackTick(usize),
    Crash(usize),
    Restart(usize),
    Calm,
}

/// What a run saw, for tests that count.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub steps: u64,
    pub heights: u64,
    pub attack_messages: u64,
    /// Blocks over `MAX_BLOCK_BYTES` a Byzantine proposer sent.
    pub oversized_blocks: u64,
    pub rejected_attacks: u64,
    pub bans: u64,
    /// Honest peers banned after a lossy network failed their ranges.
    pub honest_bans: u64,
    pub restarts: u64,
    /// Store batches written unsynced that crashes lost (power loss).
    pub lost_batches: u64,
    /// Block ranges requested by block sync.
    pub ranges: u64,
    /// Byzantine validators jailed (for equivocation) at the end.
    pub jailed: u64,
    /// Σ of the commit rounds of the agreed chain (0: every height decided in round 0).
    pub extra_rounds: u64,
    pub end_ms: u64,
}

pub struct Sim {
    sc: Scenario,
    rng: SplitMix,
    now: u64,
    start: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Event>,
    /// Participants: validators `0..n` (honest ones have a machine while up), then the
    /// adversary's peers.
    honest: Vec<Option<Honest>>,
    /// Honest validators that are down, with what they restart from.
    down: BTreeMap<usize, Disk>,
    genesis: GenesisState,
    timeouts: Timeouts,
    block_time_ms: u64,
    peers: Vec<PeerId>,
    peer_index: BTreeMap<PeerId, usize>,
    /// (banning node, banned peer) until when.
    bans: BTreeMap<(usize, usize), u64>,
    /// The agreed chain: block hash and state root per height, as the first honest node
    /// committed it.
    chain: Vec<(Hash, Hash)>,
    adversary: Adversary,
    /// Heads of honest nodes when the last fault healed.
    calm_heads: Option<Vec<u64>>,
    stats: Stats,
    /// Each validator's hotkey.
    hotkeys: Vec<tensorchain_primitives::AccountId>,
    /// What each honest node signed: (node, height, round, step) → value.
    signed: BTreeMap<(usize, u64, u32, u8), Option<Hash>>,
    gossip_seq: u64,
    clients: Vec<Keypair>,
}

/// Starts honest validator `i` from what its disk holds (empty at genesis).
fn boot(i: usize, disk: Disk, genesis: &GenesisState, timeouts: Timeouts) -> Honest {
    let ledger = Arc::new(Ledger::open(disk.store.clone(), genesis).expect("the chain opens"));
    let key = dev_hotkey(NAMES[i]);
    let node = Arc::new(Node::new(
        ledger,
        Arc::new(Metrics::new()),
        Some(key.account()),
    ));
    let machine = NodeMachine::new(
        node.clone(),
        Some(key),
        timeouts,
        disk.wal,
        Box::new(disk.slot.clone()),
    )
    .without_fill_deadline();
    Honest {
        disk_store: disk.store,
        slot: disk.slot,
        intake: TxIntake::new(node.clone()),
        node,
        machine,
        seen: BTreeSet::new(),
        seen_order: VecDeque::new(),
        checked: 0,
    }
}

fn peer_id(i: usize) -> PeerId {
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    NodeKey::ed25519_from_bytes(secret)
        .expect("a valid ed25519 secret")
        .public()
        .to_peer_id()
}

/// The chain spec of `n` validators: the devnet's, with more validators than its four.
fn spec(n: usize) -> ChainSpec {
    let mut spec = ChainSpec::devnet(4, GENESIS_MS);
    let stake = spec.validators[0].stake;
    spec.validators = NAMES[..n]
        .iter()
        .map(|name| GenesisValidator {
            hotkey: dev_hotkey(name).account(),
            coldkey: dev_coldkey(name).account(),
            stake,
        })
        .collect();
    spec
}

impl Sim {
    pub fn new(sc: Scenario) -> Sim {
        let mut spec = spec(sc.n);
        if let Some(ms) = sc.block_time_ms {
            spec.block_time_ms = ms;
        }
        let genesis = spec.genesis_state();
        let timeouts = crate::machine::timeouts(spec.block_time_ms);
        let mut honest = Vec::new();
        for i in 0..sc.n {
            honest.push((i >= sc.byzantine).then(|| {
                let disk = Disk {
                    store: Arc::new(PowerLossStore::default()),
                    slot: MemorySlot::default(),
                    wal: MemoryWal::default(),
                };
                boot(i, disk, &genesis, timeouts)
            }));
        }
        let byz_keys = NAMES[..sc.byzantine]
            .iter()
            .map(|n| dev_hotkey(n))
            .collect();
        let ledger = honest
            .iter()
            .flatten()
            .map(|h| h.node.ledger())
            .next()
            .expect("an honest node");
        let validators = ledger
            .validators_at(1)
            .ok()
            .flatten()
            .expect("the genesis set");
        let adversary = Adversary::new(
            sc.n,
            ledger.signing_domain().clone(),
            ledger.genesis_hash(),
            validators,
            byz_keys,
        );
        let participants = sc.n + adversary.peer_count();
        let peers: Vec<PeerId> = (0..participants).map(peer_id).collect();
        let peer_index = peers.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let start = GENESIS_MS + spec.block_time_ms;
        let clients = NAMES[..sc.n].iter().map(|n| dev_coldkey(n)).collect();
        let mut sim = Sim {
            rng: SplitMix(sc.seed ^ 0x0005_eed0_fa11),
            now: start,
            start,
            seq: 0,
            queue: BTreeMap::new(),
            honest,
            down: BTreeMap::new(),
            genesis,
            timeouts,
            block_time_ms: spec.block_time_ms,
            peers,
            peer_index,
            bans: BTreeMap::new(),
            chain: Vec::new(),
            adversary,
            calm_heads: None,
            stats: Stats::default(),
            signed: BTreeMap::new(),
            hotkeys: NAMES[..sc.n]
                .iter()
                .map(|n| dev_hotkey(n).account())
                .collect(),
            gossip_seq: 0,
            clients,
            sc,
        };
        for i in 0..sim.sc.attacks.len() {
            let at = start + sim.sc.attacks[i].1;
            sim.push(at, Event::AttackTick(i));
        }
        if sim.sc.tx_per_s > 0 {
            sim.push(start + 500, Event::ClientTx);
        }
        for (k, (_, at, down)) in sim.sc.crashes.clone().into_iter().enumerate() {
            sim.push(start + at, Event::Crash(k));
            sim.push(start + at + down, Event::Restart(k));
        }
        sim.push(start + sim.sc.calm_at(), Event::Calm);
        sim
    }

    fn push(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), e);
    }

    fn fail(&self, violation: Violation) -> SimFailure {
        SimFailure {
            violation: Box::new(violation),
            at_ms: self.now - self.start,
            scenario: Box::new(self.sc.clone()),
        }
    }

    fn honest_indices(&self) -> Vec<usize> {
        (0..self.sc.n)
            .filter(|i| self.honest[*i].is_some())
            .collect()
    }

    fn head(&self, i: usize) -> u64 {
        self.honest[i]
            .as_ref()
            .map_or(0, |h| h.node.ledger().head().height)
    }

    /// Runs until every honest node decided `LIVENESS_HEIGHTS` heights after the last fault
    /// healed; an invariant broken on the way, or liveness not reached in time, is an error.
    pub fn run(mut self) -> Result<Stats, SimFailure> {
        for i in self.honest_indices() {
            let now = self.now;
            let effects = self.honest[i].as_mut().expect("honest").machine.start(now);
            self.effects(i, effects)?;
        }
        // Slow chains get the time their block time needs.
        let liveness_ms = LIVENESS_MS.max(4 * LIVENESS_HEIGHTS * self.block_time_ms);
        let deadline = self.start + self.sc.calm_at() + liveness_ms;
        loop {
            if let Some(heads) = &self.calm_heads {
                let done = self
                    .honest_indices()
                    .iter()
                    .all(|i| self.head(*i) >= heads[*i] + LIVENESS_HEIGHTS);
                if done {
                    break;
                }
            }
            if self.now > deadline {
                let heads: Vec<u64> = (0..self.sc.n).map(|i| self.head(i)).collect();
                return Err(self.fail(Violation::Liveness {
                    heads,
                    calm_heads: self.calm_heads.clone(),
                    after_ms: liveness_ms,
                }));
            }
            self.step()?;
        }
        self.stats.heights = self.chain.len() as u64;
        self.stats.extra_rounds = self.extra_rounds();
        self.stats.oversized_blocks = self.adversary.stats_oversized_blocks;
        if let Some(i) = self.honest_indices().first() {
            let jails = self.honest[*i]
                .as_ref()
                .expect("honest")
                .node
                .ledger()
                .jails();
            let jailed = jails.unwrap_or_default();
            self.stats.jailed = self.hotkeys[..self.sc.byzantine]
                .iter()
                .filter(|k| jailed.iter().any(|j| j.hotkey == **k))
                .count() as u64;
        }
        self.stats.end_ms = self.now - self.start;
        Ok(self.stats)
    }

    /// The commit rounds of the first honest node's chain, summed.
    fn extra_rounds(&self) -> u64 {
        let Some(h) = self.honest.iter().flatten().next() else {
            return 0;
        };
        let ledger = h.node.ledger();
        (1..=ledger.head().height)
            .filter_map(|height| ledger.commit(height).ok().flatten())
            .map(|c| c.round as u64)
            .sum()
    }

    fn step(&mut self) -> Result<(), SimFailure> {
        self.stats.steps += 1;
        let tick = self
            .honest_indices()
            .into_iter()
            .map(|i| {
                let h = self.honest[i].as_ref().expect("honest");
                (h.machine.next_deadline(), i)
            })
            .min();
        let event_at = self.queue.keys().next().map(|k| k.0);
        match (tick, event_at) {
            (Some((t, i)), e) if e.is_none_or(|e| t < e) => {
                self.now = self.now.max(t);
                self.input(i, Input::Tick)
            }
            (_, Some(_)) => {
                let ((at, _), event) = self.queue.pop_first().expect("an event");
                self.now = self.now.max(at);
                self.event(event)
            }
            (_, None) => Err(self.fail(Violation::NothingLeft)),
        }
    }

    fn event(&mut self, event: Event) -> Result<(), SimFailure> {
        match event {
            Event::Gossip {
                to,
                from,
                topic,
                id,
                data,
            } => self.deliver(to, from, topic, id, data),
            Event::Request { to, from, request } => self.answer(to, from, request),
            // A node that crashed meanwhile never sees the answer.
            Event::Answer { to, input } if self.honest[to].is_some() => self.input(to, input),
            Event::Answer { .. } => Ok(()),
            Event::Crash(k) => {
                let i = self.sc.crashes[k].0;
                if let Some(mut h) = self.honest[i].take() {
                    let mut wal = std::mem::take(h.machine.wal_mut());
                    wal.crash();
                    self.stats.lost_batches += h.disk_store.unsynced() as u64;
                    self.down.insert(
                        i,
                        Disk {
                            store: Arc::new(h.disk_store.after_power_loss()),
                            slot: h.slot,
                            wal,
                        },
                    );
                }
                Ok(())
            }
            Event::Restart(k) => {
                let i = self.sc.crashes[k].0;
                let Some(disk) = self.down.remove(&i) else {
                    return Ok(());
                };
                self.honest[i] = Some(boot(i, disk, &self.genesis, self.timeouts));
                self.stats.restarts += 1;
                let now = self.now;
                let effects = self.honest[i]
                    .as_mut()
                    .expect("restarted")
                    .machine
                    .start(now);
                self.effects(i, effects)
            }
            Event::ClientTx => {
                self.client_tx()?;
                let every = 1_000 / self.sc.tx_per_s.max(1);
                self.push(self.now + every, Event::ClientTx);
                Ok(())
            }
            Event::AttackTick(i) => {
                let (attack, _, until) = self.sc.attacks[i];
                if self.now < self.start + until {
                    self.attack(attack)?;
                    let every = 100 + self.rng.below(200);
                    self.push(self.now + every, Event::AttackTick(i));
                } else {
                    self.adversary.stop(attack);
                }
                Ok(())
            }
            Event::Calm => {
                self.calm_heads = Some((0..self.sc.n).map(|i| self.head(i)).collect());
                Ok(())
            }
        }
    }

    /// Hands `input` to honest node `i`, performs its effects and checks the invariants.
    fn input(&mut self, i: usize, input: Input) -> Result<(), SimFailure> {
        let now = self.now;
        let h = self.honest[i].as_mut().expect("an honest node");
        let effects = h.machine.handle(now, input);
        self.effects(i, effects)
    }

    fn effects(&mut self, i: usize, effects: Vec<Effect>) -> Result<(), SimFailure> {
        for effect in effects {
            match effect {
                Effect::PublishConsensus(data) => {
                    self.adversary.observe(&data);
                    self.no_double_sign(i, &data)?;
                    self.publish(i, Topic::Consensus, data)
                }
                // The network batches transactions; here each goes alone.
                Effect::PublishTx(data) => self.publish(i, Topic::Tx, encode_batch(&[data])),
                // Verdicts on relayed gossip are handled where it is delivered.
                Effect::Report { .. } => {}
                Effect::PollStatus => {
                    for to in 0..self.peers.len() {
                        if to != i && self.connected(i, to) {
                            self.request(i, to, SyncRequest::Status);
                        }
                    }
                }
                Effect::RequestRange { peer, from, count } => {
                    self.stats.ranges += 1;
                    let to = self.peer_index[&peer];
                    self.request(i, to, SyncRequest::Blocks { from, count });
                }
                Effect::Halt(reason) => {
                    return Err(self.fail(Violation::Halted { node: i, reason }));
                }
                Effect::Ban(peer) => {
                    let to = self.peer_index[&peer];
                    self.stats.bans += 1;
                    if to < self.sc.n && self.honest[to].is_some() {
                        // Only a network that lost its answers, or a peer that was down, can
                        // make an honest peer look like a liar (three ranges failed in a row).
                        let lossy = self.sc.drop_percent > 0 || !self.sc.crashes.is_empty();
                        if !lossy && !self.partitioned(i, to) {
                            return Err(self.fail(Violation::BannedHonest {
                                node: i,
                                banned: to,
                            }));
                        }
                        self.stats.honest_bans += 1;
                    }
                    self.bans.insert((i, to), self.now + BAN_MS);
                    self.input(i, Input::PeerDown(peer))?;
                }
            }
        }
        self.check(i)
    }

    /// A transfer from a dev account, submitted to an honest node as the REST API would.
    fn client_tx(&mut self) -> Result<(), SimFailure> {
        let honest = self.honest_indices();
        let c = self.rng.below(self.clients.len() as u64) as usize;
        // Each client uses one node, so its nonces follow that node's mempool.
        let i = honest[c % honest.len()];
        let key = self.clients[c].clone();
        let to = self.clients[(c + 1) % self.clients.len()].account();
        let h = self.honest[i].as_ref().expect("honest");
        let tx = Tx {
            chain_id: h.node.ledger().params().chain_id.clone(),
            signer: key.account(),
            nonce: h.node.next_nonce(&key.account()),
            fee: h.node.ledger().params().fees.transfer,
            call: Call::Transfer { to, amount: 1 },
        }
        .sign(&key, h.node.ledger().signing_domain());
        let bytes = borsh::to_vec(&tx).expect("borsh");
        if h.node.admit(tx).is_ok() {
            self.publish(i, Topic::Tx, encode_batch(&[bytes]));
        }
        Ok(())
    }

    fn attack(&mut self, attack: Attack) -> Result<(), SimFailure> {
        let heads: Vec<u64> = self
            .honest_indices()
            .iter()
            .map(|i| self.head(*i))
            .collect();
        let head = heads.iter().copied().max().unwrap_or(0);
        let sends = self.adversary.act(attack, head, &mut self.rng);
        for (from, topic, data, may_accept) in sends {
            self.gossip_seq += 1;
            let id = MessageId::new(
                &[
                    &(from as u64).to_le_bytes()[..],
                    &self.gossip_seq.to_le_bytes(),
                ]
                .concat(),
            );
            self.adversary.sent(&id, attack, may_accept);
            self.stats.attack_messages += 1;
            if data.len() > MAX_GOSSIP_BYTES {
                continue;
            }
            let data = Arc::new(data);
            // The adversary is fast: its copies race the honest ones.
            for to in self.honest_indices() {
                if self.connected(from, to) {
                    let at = self.now + 1 + self.rng.below(5);
                    self.push(
                        at,
                        Event::Gossip {
                            to,
                            from,
                            topic,
                            id: id.clone(),
                            data: data.clone(),
                        },
                    );
                }
            }
        }
        Ok(())
    }
}
