//! A deterministic simulator for the node machine: 4–7 real `NodeMachine`s, each over its own
//! in-memory ledger and WAL, joined by a simulated network with virtual time and a seeded RNG.
//! Gossip is flooded as gossipsub does it (a message is relayed only after its receiver reports
//! `Accept`, and each node sees a message id once); block sync requests are answered by the
//! real `sync::serve` of the peer asked. The network delays (with a heavy tail), drops,
//! duplicates and reorders, and partitions and heals. Byzantine actors (`attack.rs`) hold the
//! keys of up to f validators and of peers of their own. After every step the invariants are
//! checked: agreement, validity, bounded buffers; at the end, liveness after the attacks stop.
//! A failure names its seed: `SIM_SEED=<seed> cargo test -p tensorchain-node --lib sim`.

mod attack;
#[cfg(test)]
mod tests;

use crate::machine::{
    Effect, Input, NodeMachine, ProposalSlot, MAX_FUTURE_PROPOSALS, MAX_HEIGHTS_AHEAD,
    MAX_PROPOSAL_ROUNDS_AHEAD,
};
use crate::node::Node;
use attack::Adversary;
pub use attack::Attack;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use tensorchain_consensus::core::MAX_CATCHUP_ROUNDS_PER_VALIDATOR;
use tensorchain_consensus::{MemoryWal, Timeouts};
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec, GenesisValidator};
use tensorchain_ledger::{GenesisState, Ledger, MemoryStore};
use tensorchain_network::{
    MessageAcceptance, MessageId, NodeKey, PeerId, SyncRequest, SyncResponse,
};
use tensorchain_primitives::det_rng::SplitMix;
use tensorchain_primitives::{Block, Call, Hash, Keypair, Tx};
use tensorchain_rpc::{Metrics, NodeApi};

/// Genesis time of every simulated chain; the virtual clock starts a block later.
const GENESIS_MS: u64 = 1_700_000_000_000;
/// Validator names: the devnet's dev accounts, and one more for a 7-validator set.
const NAMES: [&str; 7] = ["alice", "bob", "charlie", "dave", "eve", "ferdie", "gerda"];
/// How long a sync request waits for an answer before it fails (the network's is 20 s; shorter
/// here so a scenario spends its virtual time on consensus).
const REQUEST_TIMEOUT_MS: u64 = 5_000;
/// Gossipsub forgets seen message ids after this long (its `duplicate_cache_time` is a minute).
const SEEN_TTL_MS: u64 = 60_000;
/// How long a ban keeps two peers apart (the network's `BAN_FOR`).
const BAN_MS: u64 = 600_000;
/// Gossip larger than this never reaches a node (the network's `max_transmit_size`).
const MAX_GOSSIP_BYTES: usize = 8 * 1024 * 1024;
/// Heights every honest node must decide after the last fault heals, and the virtual time it
/// has for them.
const LIVENESS_HEIGHTS: u64 = 3;
const LIVENESS_MS: u64 = 40_000;
/// A height's WAL: a record per input of that height from a member, and this node's signatures.
/// Far above what honest rounds write (about 200 bytes per vote); junk must never reach it.
const MAX_WAL_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    /// Validators (4–7); the first `byzantine` of them are the adversary's.
    pub n: usize,
    pub byzantine: usize,
    pub drop_percent: u64,
    pub dup_percent: u64,
    /// Side of each validator while partitioned, and when the partition heals (ms after start).
    pub partition: Option<(Vec<bool>, u64)>,
    /// Attacks and the window (ms after start) each runs in.
    pub attacks: Vec<(Attack, u64, u64)>,
    /// Honest validators that crash (losing what their WAL had not synced) and restart over
    /// their stored chain: (validator, at ms, down for ms).
    pub crashes: Vec<(usize, u64, u64)>,
    /// Client transactions per second, sent to honest nodes.
    pub tx_per_s: u64,
}

impl Scenario {
    /// An honest network: `n` validators, a lossy network, no attack.
    pub fn honest(seed: u64) -> Scenario {
        let mut rng = SplitMix(seed);
        let n = 4 + rng.below(4) as usize;
        let partition = rng.chance(30).then(|| {
            (
                (0..n).map(|_| rng.chance(50)).collect(),
                2_000 + rng.below(8_000),
            )
        });
        let crashes = if rng.chance(30) {
            vec![(
                rng.below(n as u64) as usize,
                500 + rng.below(6_000),
                300 + rng.below(8_000),
            )]
        } else {
            vec![]
        };
        Scenario {
            seed,
            n,
            byzantine: 0,
            drop_percent: rng.below(6),
            dup_percent: rng.below(4),
            partition,
            attacks: vec![],
            crashes,
            tx_per_s: rng.below(6),
        }
    }

    /// A hostile network: as `honest`, with up to f Byzantine validators and 1–3 attacks, each
    /// running for a few seconds.
    pub fn hostile(seed: u64) -> Scenario {
        let mut sc = Scenario::honest(seed);
        let mut rng = SplitMix(seed ^ 0xbad);
        sc.byzantine = rng.below((sc.n as u64 - 1) / 3 + 1) as usize;
        // Only honest validators crash.
        for c in &mut sc.crashes {
            c.0 = c.0.max(sc.byzantine);
        }
        for _ in 0..1 + rng.below(3) {
            let attack = Attack::ALL[rng.below(Attack::ALL.len() as u64) as usize];
            let from = rng.below(3_000);
            sc.attacks
                .push((attack, from, from + 1_000 + rng.below(6_000)));
        }
        sc
    }

    /// One attack for six seconds against a network of `n` with `byzantine` of them the
    /// adversary's, on a clean network.
    pub fn only(seed: u64, attack: Attack, n: usize, byzantine: usize) -> Scenario {
        Scenario {
            seed,
            n,
            byzantine,
            drop_percent: 0,
            dup_percent: 0,
            partition: None,
            attacks: vec![(attack, 500, 6_500)],
            crashes: vec![],
            tx_per_s: 2,
        }
    }

    /// When the last fault stops: attacks over, the partition healed, crashed nodes back.
    fn calm_at(&self) -> u64 {
        let p = self.partition.as_ref().map_or(0, |p| p.1);
        let a = self.attacks.iter().map(|a| a.2).max().unwrap_or(0);
        let c = self.crashes.iter().map(|c| c.1 + c.2).max().unwrap_or(0);
        p.max(a).max(c).max(3_000)
    }
}

/// A proposer's saved block, in memory that outlives a crash of its node (its "disk").
#[derive(Default, Clone)]
struct MemorySlot(Arc<Mutex<Option<Block>>>);

impl ProposalSlot for MemorySlot {
    fn load(&self) -> Option<Block> {
        self.0.lock().expect("slot lock").clone()
    }

    fn save(&mut self, block: &Block) -> std::io::Result<()> {
        *self.0.lock().expect("slot lock") = Some(block.clone());
        Ok(())
    }
}

/// What survives a crash: the store (every commit is durable), the WAL's synced prefix and
/// the saved proposal.
struct Disk {
    store: Arc<MemoryStore>,
    slot: MemorySlot,
    wal: MemoryWal,
}

struct Honest {
    disk_store: Arc<MemoryStore>,
    slot: MemorySlot,
    node: Arc<Node>,
    machine: NodeMachine<MemoryWal>,
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
    /// Block ranges requested by block sync.
    pub ranges: u64,
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
    );
    Honest {
        disk_store: disk.store,
        slot: disk.slot,
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
        let spec = spec(sc.n);
        let genesis = spec.genesis_state();
        let timeouts = crate::service::timeouts(spec.block_time_ms);
        let mut honest = Vec::new();
        for i in 0..sc.n {
            honest.push((i >= sc.byzantine).then(|| {
                let disk = Disk {
                    store: Arc::new(MemoryStore::new()),
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
            &spec.chain_id,
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

    fn fail(&self, what: String) -> String {
        format!(
            "{what}\n  at {} ms, scenario {:?}\n  reproduce: SIM_SEED={} cargo test -p tensorchain-node --lib sim",
            self.now - self.start,
            self.sc,
            self.sc.seed
        )
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
    pub fn run(mut self) -> Result<Stats, String> {
        for i in self.honest_indices() {
            let now = self.now;
            let effects = self.honest[i].as_mut().expect("honest").machine.start(now);
            self.effects(i, effects)?;
        }
        let deadline = self.start + self.sc.calm_at() + LIVENESS_MS;
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
                return Err(self.fail(format!(
                    "liveness: heads {heads:?}, at calm {:?}, after {LIVENESS_MS} ms",
                    self.calm_heads
                )));
            }
            self.step()?;
        }
        self.stats.heights = self.chain.len() as u64;
        self.stats.oversized_blocks = self.adversary.stats_oversized_blocks;
        self.stats.end_ms = self.now - self.start;
        Ok(self.stats)
    }

    fn step(&mut self) -> Result<(), String> {
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
            (_, None) => Err(self.fail("nothing left to do".into())),
        }
    }

    fn event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Gossip {
                to,
                from,
                topic,
                id,
                data,
            } => self.deliver(to, from, topic, id, data),
            Event::Request { to, from, request } => {
                self.answer(to, from, request);
                Ok(())
            }
            // A node that crashed meanwhile never sees the answer.
            Event::Answer { to, input } if self.honest[to].is_some() => self.input(to, input),
            Event::Answer { .. } => Ok(()),
            Event::Crash(k) => {
                let i = self.sc.crashes[k].0;
                if let Some(mut h) = self.honest[i].take() {
                    let mut wal = std::mem::take(h.machine.wal_mut());
                    wal.crash();
                    self.down.insert(
                        i,
                        Disk {
                            store: h.disk_store,
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
    fn input(&mut self, i: usize, input: Input) -> Result<(), String> {
        let now = self.now;
        let h = self.honest[i].as_mut().expect("an honest node");
        let effects = h.machine.handle(now, input);
        self.effects(i, effects)
    }

    fn effects(&mut self, i: usize, effects: Vec<Effect>) -> Result<(), String> {
        for effect in effects {
            match effect {
                Effect::PublishConsensus(data) => {
                    self.adversary.observe(&data);
                    self.no_double_sign(i, &data)?;
                    self.publish(i, Topic::Consensus, data)
                }
                Effect::PublishTx(data) => self.publish(i, Topic::Tx, data),
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
                Effect::Ban(peer) => {
                    let to = self.peer_index[&peer];
                    self.stats.bans += 1;
                    if to < self.sc.n && self.honest[to].is_some() {
                        // Only a network that lost its answers, or a peer that was down, can
                        // make an honest peer look like a liar (three ranges failed in a row).
                        let lossy = self.sc.drop_percent > 0 || !self.sc.crashes.is_empty();
                        if !lossy && !self.partitioned(i, to) {
                            return Err(self.fail(format!("node {i} banned honest node {to}")));
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

    /// Honest node `i` never signs two values for one (height, round, step), across its
    /// crashes and restarts too (the sign guard and its WAL).
    fn no_double_sign(&mut self, i: usize, data: &[u8]) -> Result<(), String> {
        let Ok(wire) = borsh::from_slice::<crate::wire::ConsensusWire>(data) else {
            return Err(self.fail(format!("node {i} published an undecodable message")));
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
            Some(before) if before != value => Err(self.fail(format!(
                "double sign: node {i} signed {before:?} and {value:?} at height {height} round {round} step {step}"
            ))),
            _ => Ok(()),
        }
    }

    /// A new gossip message from `from`: it sends it to every peer it is connected to.
    fn publish(&mut self, from: usize, topic: Topic, data: Vec<u8>) {
        self.gossip_seq += 1;
        let id = MessageId::new(
            &[
                &(from as u64).to_le_bytes()[..],
                &self.gossip_seq.to_le_bytes(),
            ]
            .concat(),
        );
        if let Some(h) = self.honest.get_mut(from).and_then(|h| h.as_mut()) {
            h.seen.insert(id.clone());
            h.seen_order.push_back((self.now, id.clone()));
        }
        let data = Arc::new(data);
        self.flood(from, None, topic, &id, &data);
    }

    /// Sends gossip `id` from `from` to its connected peers but `except` (where it came from).
    fn flood(
        &mut self,
        from: usize,
        except: Option<usize>,
        topic: Topic,
        id: &MessageId,
        data: &Arc<Vec<u8>>,
    ) {
        if data.len() > MAX_GOSSIP_BYTES {
            return;
        }
        for to in 0..self.sc.n {
            // The adversary's nodes saw it when it was published.
            let honest = self.honest[to].is_some();
            if to == from || Some(to) == except || !honest || !self.connected(from, to) {
                continue;
            }
            if self.rng.chance(self.sc.drop_percent) {
                continue;
            }
            let copies = if self.rng.chance(self.sc.dup_percent) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let at = self.now + self.delay();
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

    fn deliver(
        &mut self,
        to: usize,
        from: usize,
        topic: Topic,
        id: MessageId,
        data: Arc<Vec<u8>>,
    ) -> Result<(), String> {
        if !self.connected(from, to) {
            return Ok(());
        }
        let now = self.now;
        let Some(h) = self.honest.get_mut(to).and_then(|h| h.as_mut()) else {
            return Ok(()); // the adversary's: it saw it when it was published
        };
        while h
            .seen_order
            .front()
            .is_some_and(|(t, _)| t + SEEN_TTL_MS < now)
        {
            let (_, old) = h.seen_order.pop_front().expect("front");
            h.seen.remove(&old);
        }
        if !h.seen.insert(id.clone()) {
            return Ok(());
        }
        h.seen_order.push_back((now, id.clone()));
        let source = self.peers[from];
        let input = match topic {
            Topic::Consensus => Input::ConsensusGossip {
                id: id.clone(),
                source,
                data: data.to_vec(),
            },
            Topic::Tx => Input::TxGossip {
                id: id.clone(),
                source,
                data: data.to_vec(),
            },
        };
        let effects = h.machine.handle(now, input);
        let verdict = effects.iter().find_map(|e| match e {
            Effect::Report { id: r, verdict, .. } if *r == id => Some(*verdict),
            _ => None,
        });
        let Some(verdict) = verdict else {
            return Err(self.fail(format!("node {to} gave no verdict on gossip {id}")));
        };
        self.adversary
            .judge(&id, verdict, to)
            .map_err(|e| self.fail(e))?;
        if verdict == MessageAcceptance::Reject && self.adversary.owns(&id) {
            self.stats.rejected_attacks += 1;
        }
        if verdict == MessageAcceptance::Accept {
            self.flood(to, Some(from), topic, &id, &data);
        }
        self.effects(to, effects)
    }

    fn request(&mut self, from: usize, to: usize, request: SyncRequest) {
        let at = self.now + self.delay();
        if self.rng.chance(self.sc.drop_percent) {
            let input = failed(self.peers[to], &request);
            self.push(
                self.now + REQUEST_TIMEOUT_MS,
                Event::Answer { to: from, input },
            );
        } else {
            self.push(at, Event::Request { to, from, request });
        }
    }

    /// `to` answers `from`'s sync request: an honest node from its ledger with the real
    /// `sync::serve`, the adversary as its attack says, a silent validator never.
    fn answer(&mut self, to: usize, from: usize, request: SyncRequest) {
        let response = match self.honest.get(to) {
            Some(Some(h)) => Some(crate::sync::serve(h.node.ledger(), request.clone())),
            Some(None) => None,
            None => {
                let honest_head = self
                    .honest_indices()
                    .iter()
                    .map(|i| self.head(*i))
                    .max()
                    .unwrap_or(0);
                self.adversary
                    .serve(to - self.sc.n, &request, honest_head, &mut self.rng)
            }
        };
        let peer = self.peers[to];
        let (input, at) = match response {
            Some(response)
                if self.connected(from, to) && !self.rng.chance(self.sc.drop_percent) =>
            {
                (answered(peer, &request, response), self.now + self.delay())
            }
            _ => (failed(peer, &request), self.now + REQUEST_TIMEOUT_MS),
        };
        self.push(at, Event::Answer { to: from, input });
    }

    /// A transfer from a dev account, submitted to an honest node as the REST API would.
    fn client_tx(&mut self) -> Result<(), String> {
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
        .sign(&key);
        let bytes = borsh::to_vec(&tx).expect("borsh");
        if h.node.admit(tx).is_ok() {
            self.publish(i, Topic::Tx, bytes);
        }
        Ok(())
    }

    fn attack(&mut self, attack: Attack) -> Result<(), String> {
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

    /// A message's delay: mostly 5–60 ms, sometimes (2%) up to a second.
    fn delay(&mut self) -> u64 {
        if self.rng.chance(2) {
            200 + self.rng.below(800)
        } else {
            5 + self.rng.below(55)
        }
    }

    fn partitioned(&self, a: usize, b: usize) -> bool {
        match &self.sc.partition {
            Some((side, heal)) if self.now < self.start + heal => {
                let side_of = |i: usize| side.get(i).copied();
                // The adversary's own peers sit on every side.
                matches!((side_of(a), side_of(b)), (Some(x), Some(y)) if x != y)
            }
            _ => false,
        }
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        let banned = |x: usize, y: usize| self.bans.get(&(x, y)).is_some_and(|t| *t > self.now);
        !self.partitioned(a, b) && !banned(a, b) && !banned(b, a)
    }

    /// The invariants, after every step of node `i`: its new blocks agree with every other
    /// honest node's (block hash and state root per height) and are valid (a commit by 2/3 of
    /// that height's set, a body matching its header), and its buffers are within their bounds.
    fn check(&mut self, i: usize) -> Result<(), String> {
        let Some(h) = self.honest[i].as_ref() else {
            return Ok(());
        };
        let (node, mut checked) = (h.node.clone(), h.checked);
        let ledger = node.ledger();
        let head = ledger.head().height;
        while checked < head {
            checked += 1;
            let (block, _) = ledger
                .block(checked)
                .ok()
                .flatten()
                .ok_or_else(|| self.fail(format!("node {i} lost block {checked}")))?;
            let commit = ledger
                .commit(checked)
                .ok()
                .flatten()
                .ok_or_else(|| self.fail(format!("node {i} has no commit for {checked}")))?;
            let set = ledger
                .validators_at(checked)
                .ok()
                .flatten()
                .ok_or_else(|| self.fail(format!("node {i}: no set for {checked}")))?;
            if commit.block_hash != block.hash()
                || commit.verify(&ledger.params().chain_id, &set).is_err()
            {
                return Err(self.fail(format!(
                    "validity: node {i}'s commit for height {checked} does not certify its block"
                )));
            }
            if !block.body_matches_header() {
                return Err(self.fail(format!(
                    "validity: node {i}'s block {checked} has a body its header does not commit to"
                )));
            }
            let mine = (block.hash(), block.header.state_root);
            match self.chain.get(checked as usize - 1) {
                Some(agreed) if *agreed != mine => {
                    return Err(self.fail(format!(
                    "agreement: node {i} committed {mine:?} at height {checked}, others {agreed:?}"
                )))
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
                return Err(self.fail(format!(
                    "bounded memory: node {i} holds {size} {what}, bound {bound}"
                )));
            }
        }
        Ok(())
    }
}

fn answered(peer: PeerId, request: &SyncRequest, response: SyncResponse) -> Input {
    match request {
        SyncRequest::Blocks { from, .. } => Input::Range {
            peer,
            from: *from,
            response: Some(response),
        },
        _ => Input::Status {
            peer,
            response: Some(response),
        },
    }
}

fn failed(peer: PeerId, request: &SyncRequest) -> Input {
    match request {
        SyncRequest::Blocks { from, .. } => Input::Range {
            peer,
            from: *from,
            response: None,
        },
        _ => Input::Status {
            peer,
            response: None,
        },
    }
}

/// Seeds to run: `SIM_SEED` alone, or `count` (`SIM_SEEDS` for a long soak) from `first`.
pub fn seeds(first: u64, count: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![seed];
    }
    let count = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(count);
    (first..first + count).collect()
}
