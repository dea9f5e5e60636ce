//! A deterministic simulator for the consensus driver: virtual time, a seeded RNG, a priority queue
//! of events, and a network that delays (with a heavy tail), drops, duplicates and reorders,
//! partitions and heals, crashes and restarts nodes (losing what was not synced), and hosts up to f
//! Byzantine nodes. Invariants are checked after every step; a failure names its seed.

use crate::core::{Config, Input, Mutations, Timeouts};
use crate::driver::{same_content, step_of, Driver, Output};
use crate::types::{
    Evidence, Message, Proposal, SignedProposal, SignedVote, Step, Timeout, ValueId,
};
use crate::validators::ValidatorSet;
use crate::wal::{MemoryWal, WalError};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use tensorchain_primitives::det_rng::SplitMix;
use tensorchain_primitives::{
    AccountId, Commit, CommitError, Hash, Keypair, SigningDomain, Validator, Vote, VoteKind,
};

const CHAIN: &str = "sim";

/// A run that broke an invariant (or could not be run), with the seed that replays it.
#[derive(Debug, thiserror::Error)]
#[error(
    "seed {seed}: {violation} (replay: SIM_SEED={seed} cargo test -p tensorchain-consensus sim)"
)]
pub struct SimFailure {
    pub seed: u64,
    /// Boxed: the `Err` of every step of the simulation, rarely taken.
    #[source]
    pub violation: Box<Violation>,
}

/// What broke. The invariants' names (`agreement`, `validity`, `liveness`) start their messages.
#[derive(Debug, thiserror::Error)]
pub enum Violation {
    #[error("the schedule withholds honest messages for good: {0:?}")]
    HonestHeldForGood(Hold),
    #[error("liveness: not every honest node decided {heights} heights within {bound_ms} ms of healing: {behind:?} in {scenario:?}")]
    Liveness {
        heights: u64,
        bound_ms: u64,
        /// Each honest node's progress.
        behind: Vec<NodeProgress>,
        scenario: Box<Scenario>,
    },
    #[error("the event queue ran dry")]
    QueueRanDry,
    #[error("{0}")]
    Wal(#[source] WalError),
    #[error("node {node} raised false evidence against {}: {evidence:?}", evidence.first.validator)]
    FalseEvidence {
        node: usize,
        evidence: Box<Evidence>,
    },
    #[error("honest node {node} double-signed at height {height} round {round} {step:?}")]
    DoubleSign {
        node: usize,
        height: u64,
        round: u32,
        step: Step,
    },
    #[error("commit certificate for height {height} does not verify: {source}")]
    Certificate {
        height: u64,
        #[source]
        source: CommitError,
    },
    #[error("validity: node {node} decided an invalid value at height {height}")]
    Validity { node: usize, height: u64 },
    #[error("node {node}'s certificate at height {height} is for another value")]
    CertificateForAnotherValue { node: usize, height: u64 },
    #[error("agreement: height {height} decided as {first} and {second} (node {node})")]
    Agreement {
        height: u64,
        first: ValueId,
        second: ValueId,
        node: usize,
    },
}

impl Violation {
    /// The invariant broken, for the tests that expect a particular one.
    pub fn invariant(&self) -> &'static str {
        match self {
            Violation::Agreement { .. } => "agreement",
            Violation::Validity { .. } => "validity",
            Violation::Liveness { .. } => "liveness",
            _ => "other",
        }
    }
}

/// Where an honest node stood when liveness ran out.
pub struct NodeProgress {
    pub node: usize,
    pub decided: usize,
    pub height: u64,
    pub round: u32,
}

impl std::fmt::Debug for NodeProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "node {}: {} decided, at h{} r{}",
            self.node, self.decided, self.height, self.round
        )
    }
}

/// What every simulated node signs for.
fn sim_domain() -> SigningDomain {
    SigningDomain::new(CHAIN, Hash::digest(b"genesis of sim"))
}
/// Peers each node forwards a new message to (gossipsub's mesh degree).
const MESH: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Byz {
    Honest,
    EquivocatingProposer,
    DoubleVoter,
    Silent,
    VoteWithholder,
    /// As the proposer of a round r > 0 it proposes a fresh value claiming validRound r − 1 (a
    /// prevote quorum it does not have) and votes for that value in that round; otherwise it
    /// follows the protocol. Aimed at line 28's proof: honest nodes locked in round r − 1 or
    /// earlier would accept that value if they did not check the proof.
    FakeValidRound,
    /// Follows the protocol; the scenario's `holds` say which of its messages it withholds, for
    /// how long or for good.
    Scripted,
}

/// What a hold applies to: a message of one step, or a commit certificate served by sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Proposal,
    Prevote,
    Precommit,
    Commit,
}

/// The adversary of a targeted schedule: messages it matches are held back until `until`, as an
/// asynchronous network may delay anything before it stabilises, or never delivered if their
/// signer is Byzantine (then `until` is `None`). Holds apply to every copy: the author's
/// broadcast and rebroadcasts, gossip relays and the proofs others relay.
#[derive(Debug, Clone)]
pub struct Hold {
    pub kinds: &'static [Kind],
    /// The first and last (height, round) held, inclusive. A commit certificate has the round it
    /// was decided in.
    pub from: (u64, u32),
    pub to: (u64, u32),
    /// The node that signed the message (`None`: anyone, and always for certificates).
    pub signer: Option<usize>,
    /// The nodes it is held from.
    pub from_nodes: Vec<usize>,
    pub until: Option<u64>,
}

/// Targeted schedules on 4 validators (f = 1) at height 1: each sets up the situation one rule
/// of Algorithm 1 exists for, by holding a few messages until the network heals at
/// `TARGET_HEAL_MS`. Any core that keeps the rules passes them; a core without the rule does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Quorum intersection: a partition into two halves of two validators each until the heal,
    /// round 0's proposer in one of them. Neither half holds 2f+1, so neither may decide alone.
    EvenSplit,
    /// The lock rule (lines 22–27): in the lock round l (the first whose successor has another
    /// proposer; earlier rounds see no proposal and end nil) a node A decides v, and its
    /// precommit (and its certificate) is held from the others, who lock on v but see only two
    /// precommits for it. Round l + 1's proposer never got round l's proposal, so it never saw v
    /// valid, and it offers a fresh value. All four nodes are honest: only the network is
    /// adversarial.
    SplitLock,
    /// Line 28's proof: as `SplitLock`, but round l + 1's proposer is `FakeValidRound` and claims
    /// validRound l for its fresh value; the locked nodes have no prevote quorum for it in round l.
    ForgedValidRound,
    /// Line 15, re-proposing validValue: in round 0 only node B sees the prevote quorum for v
    /// (B's own prevote is held from the others until the heal), so B alone locks on v; a
    /// `Scripted` Byzantine node goes silent after round 0. After the heal only v, proposed
    /// with validRound 0, can get B's prevote, and the three honest nodes need each other's.
    StrandedLock,
}

impl Schedule {
    pub const ALL: [Schedule; 4] = [
        Schedule::EvenSplit,
        Schedule::SplitLock,
        Schedule::ForgedValidRound,
        Schedule::StrandedLock,
    ];
}

/// When a targeted schedule's network heals: after the rounds of height 1 it plays out (three
/// at most, over by about 2.5 s of virtual time on the fast timeouts), with room for
/// heavy-tailed delays of up to 1.6 s a message.
const TARGET_HEAL_MS: u64 = 5_000;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub n: usize,
    pub byz: Vec<Byz>,
    pub drop_percent: u64,
    pub dup_percent: u64,
    /// Side of each node while partitioned, and when the partition heals (ms).
    pub partition: Option<(Vec<bool>, u64)>,
    /// (node, crash at ms, down for ms)
    pub crashes: Vec<(usize, u64, u64)>,
    pub heights: u64,
    pub mutations: Mutations,
    pub holds: Vec<Hold>,
}

impl Scenario {
    /// A random scenario: 4–31 validators (mostly small), 1 to f Byzantine, lossy network,
    /// maybe a partition, maybe crashes of honest nodes.
    pub fn random(seed: u64) -> Scenario {
        let mut rng = SplitMix(seed);
        let n = match rng.below(10) {
            0..=5 => 4 + rng.below(4) as usize,
            6..=8 => 8 + rng.below(6) as usize,
            _ => 14 + rng.below(18) as usize,
        };
        let f = (n - 1) / 3;
        // At least one: honest-only networks are covered by the clean and targeted scenarios.
        let byz_count = 1 + rng.below(f as u64) as usize;
        let kinds = [
            Byz::EquivocatingProposer,
            Byz::DoubleVoter,
            Byz::Silent,
            Byz::VoteWithholder,
            Byz::FakeValidRound,
        ];
        let mut byz = vec![Byz::Honest; n];
        for b in byz.iter_mut().take(byz_count) {
            *b = kinds[rng.below(kinds.len() as u64) as usize];
        }
        let partition = rng.chance(40).then(|| {
            (
                (0..n).map(|_| rng.chance(50)).collect(),
                500 + rng.below(6000),
            )
        });
        let mut crashes = Vec::new();
        for _ in 0..rng.below(3) {
            let node = byz_count + rng.below((n - byz_count) as u64) as usize;
            crashes.push((node, rng.below(5000), 200 + rng.below(3000)));
        }
        Scenario {
            seed,
            n,
            byz,
            drop_percent: rng.below(11),
            dup_percent: rng.below(6),
            partition,
            crashes,
            heights: 3,
            mutations: Mutations::default(),
            holds: vec![],
        }
    }

    /// A clean network of `n` honest validators, for cost measurements.
    pub fn clean(seed: u64, n: usize, heights: u64) -> Scenario {
        Scenario {
            seed,
            n,
            byz: vec![Byz::Honest; n],
            drop_percent: 0,
            dup_percent: 0,
            partition: None,
            crashes: vec![],
            heights,
            mutations: Mutations::default(),
            holds: vec![],
        }
    }

    /// A targeted schedule (see `Schedule`) on a calm network: random delays with their heavy
    /// tail, no loss, no partition, no crash. The roles follow the proposers of height 1.
    pub fn targeted(schedule: Schedule, seed: u64) -> Scenario {
        let n = 4;
        let keys = keys(n);
        let set = validator_set(&keys);
        let index = |round: u32| {
            let who = set.proposer(1, round);
            keys.iter()
                .position(|k| k.account() == who)
                .expect("the proposer is one of the validators")
        };
        let heal = Some(TARGET_HEAL_MS);
        let everyone_but = |me: usize| (0..n).filter(|&i| i != me).collect::<Vec<_>>();
        let mut byz = vec![Byz::Honest; n];
        let mut partition = None;
        let holds = match schedule {
            Schedule::EvenSplit => {
                let partner = (0..n).find(|&i| i != index(0)).expect("four validators");
                let sides = (0..n).map(|i| i == index(0) || i == partner).collect();
                partition = Some((sides, TARGET_HEAL_MS));
                vec![]
            }
            Schedule::SplitLock | Schedule::ForgedValidRound => {
                // A value gets locked in round `l`, the first whose successor has another
                // proposer, `d`. Rounds before it see no proposal and end nil. `a` decides in
                // round `l` (and may be its proposer).
                let l = (0..)
                    .find(|&r| index(r) != index(r + 1))
                    .expect("proposers rotate");
                let d = index(l + 1);
                let a = (0..n).find(|&i| i != d).expect("four validators");
                if schedule == Schedule::ForgedValidRound {
                    byz[d] = Byz::FakeValidRound;
                }
                let mut holds = vec![
                    Hold {
                        kinds: &[Kind::Proposal],
                        from: (1, l),
                        to: (1, l),
                        signer: None,
                        from_nodes: vec![d],
                        until: heal,
                    },
                    Hold {
                        kinds: &[Kind::Precommit],
                        from: (1, l),
                        to: (1, l),
                        signer: Some(a),
                        from_nodes: everyone_but(a),
                        until: heal,
                    },
                    Hold {
                        kinds: &[Kind::Commit],
                        from: (1, 0),
                        to: (1, u32::MAX),
                        signer: None,
                        from_nodes: everyone_but(a),
                        until: heal,
                    },
                ];
                if l > 0 {
                    holds.push(Hold {
                        kinds: &[Kind::Proposal],
                        from: (1, 0),
                        to: (1, l - 1),
                        signer: None,
                        from_nodes: (0..n).collect(),
                        until: heal,
                    });
                }
                holds
            }
            Schedule::StrandedLock => {
                // `d` (not round 0's proposer) goes silent after round 0; `b` alone locks.
                let d = (0..n).find(|&i| i != index(0)).expect("four validators");
                let b = (0..n).find(|&i| i != d).expect("four validators");
                byz[d] = Byz::Scripted;
                vec![
                    Hold {
                        kinds: &[Kind::Proposal],
                        from: (1, 0),
                        to: (1, 0),
                        signer: None,
                        from_nodes: vec![d],
                        until: heal,
                    },
                    Hold {
                        kinds: &[Kind::Prevote],
                        from: (1, 0),
                        to: (1, 0),
                        signer: Some(b),
                        from_nodes: (0..n).filter(|&i| i != b && i != d).collect(),
                        until: heal,
                    },
                    Hold {
                        kinds: &[Kind::Proposal, Kind::Prevote, Kind::Precommit],
                        from: (1, 1),
                        to: (u64::MAX, u32::MAX),
                        signer: Some(d),
                        from_nodes: everyone_but(d),
                        until: None,
                    },
                ]
            }
        };
        Scenario {
            seed,
            n,
            byz,
            drop_percent: 0,
            dup_percent: 0,
            partition,
            crashes: vec![],
            heights: 3,
            mutations: Mutations::default(),
            holds,
        }
    }

    /// When the last fault heals: partitions joined, crashed nodes back, held messages released.
    fn healed_at(&self) -> u64 {
        let p = self.partition.as_ref().map_or(0, |p| p.1);
        let c = self
            .crashes
            .iter()
            .map(|(_, at, down)| at + down)
            .max()
            .unwrap_or(0);
        let h = self.holds.iter().filter_map(|h| h.until).max().unwrap_or(0);
        p.max(c).max(h)
    }
}

#[derive(Debug, Clone)]
enum Event {
    Deliver {
        to: usize,
        msg: Message,
    },
    Sync {
        to: usize,
        commit: Commit,
    },
    Timer {
        node: usize,
        incarnation: u32,
        timeout: Timeout,
    },
    Value {
        node: usize,
        incarnation: u32,
        height: u64,
        round: u32,
    },
    StartHeight {
        node: usize,
        incarnation: u32,
        height: u64,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
}

struct Node {
    key: Keypair,
    byz: Byz,
    driver: Driver<MemoryWal>,
    up: bool,
    incarnation: u32,
    /// Decided heights survive crashes: they are in the block store.
    decided: BTreeMap<u64, ValueId>,
    last_sync: BTreeMap<(usize, u64), u64>,
    /// Messages already relayed, as gossipsub remembers message ids.
    seen: BTreeSet<Hash>,
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub messages: u64,
    pub decided_heights: u64,
    /// Virtual ms from the last heal until every honest node decided every height.
    pub liveness_ms: u64,
    pub evidence: u64,
    /// The nodes equivocation evidence named (each checked genuine and Byzantine).
    pub equivocators: BTreeSet<usize>,
}

/// Valid blocks are those whose hash does not start with 0xff; Byzantine nodes propose invalid ones.
fn valid(v: &ValueId) -> bool {
    v.0[0] != 0xff
}

/// A valid value named by `parts`.
fn valid_value(domain: &[u8], parts: &[&[u8]]) -> ValueId {
    let mut value = Hash::digest_parts(domain, parts);
    if value.0[0] == 0xff {
        value.0[0] = 0;
    }
    value
}

/// The validators' keys: node i is `sim-i`.
fn keys(n: usize) -> Vec<Keypair> {
    (0..n).map(|i| Keypair::dev(&format!("sim-{i}"))).collect()
}

/// Equal stake, so any f nodes hold less than a third.
fn validator_set(keys: &[Keypair]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                hotkey: k.account(),
                power: 10,
            })
            .collect(),
    )
}

pub struct Sim {
    sc: Scenario,
    rng: SplitMix,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: BTreeMap<u64, Event>,
    nodes: Vec<Node>,
    set: ValidatorSet,
    config: Config,
    /// Every message an honest node ever signed, by (node, height, round, step).
    signed: BTreeMap<(usize, u64, u32, Step), Message>,
    /// The first commit certificate seen for each height: the agreed chain.
    commits: BTreeMap<u64, Commit>,
    verified: BTreeSet<Hash>,
    pub stats: Stats,
}

impl Sim {
    pub fn new(sc: Scenario) -> Sim {
        let keys = keys(sc.n);
        let set = validator_set(&keys);
        let mut config = Config::new(sim_domain(), Timeouts::fast());
        config.mutations = sc.mutations;
        let nodes = keys
            .into_iter()
            .zip(&sc.byz)
            .map(|(key, &byz)| Node {
                driver: Driver::new(config.clone(), Some(key.clone()), MemoryWal::default()),
                key,
                byz,
                up: true,
                incarnation: 0,
                decided: BTreeMap::new(),
                last_sync: BTreeMap::new(),
                seen: BTreeSet::new(),
            })
            .collect();
        Sim {
            rng: SplitMix(sc.seed ^ 0x5eed),
            sc,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            nodes,
            set,
            config,
            signed: BTreeMap::new(),
            commits: BTreeMap::new(),
            verified: BTreeSet::new(),
            stats: Stats::default(),
        }
    }

    fn push(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq)));
        self.events.insert(self.seq, e);
    }

    fn fail(&self, violation: Violation) -> SimFailure {
        SimFailure {
            seed: self.sc.seed,
            violation: Box::new(violation),
        }
    }

    /// Runs until every honest node decided `heights` heights, or an invariant breaks.
    pub fn run(mut self) -> Result<Stats, SimFailure> {
        // Liveness is owed only once every honest message gets through.
        if let Some(h) =
            self.sc.holds.iter().find(|h| {
                h.until.is_none() && h.signer.is_none_or(|s| self.sc.byz[s] == Byz::Honest)
            })
        {
            return Err(self.fail(Violation::HonestHeldForGood(h.clone())));
        }
        for i in 0..self.sc.n {
            self.push(
                0,
                Event::StartHeight {
                    node: i,
                    incarnation: 0,
                    height: 1,
                },
            );
        }
        for &(node, at, down) in &self.sc.crashes.clone() {
            self.push(at, Event::Crash { node });
            self.push(at + down, Event::Restart { node });
        }
        let healed = self.sc.healed_at();
        let bound = 60_000;
        while let Some(Reverse((at, seq))) = self.queue.pop() {
            self.now = at;
            let event = self.events.remove(&seq).expect("queued event");
            self.step(event)?;
            if self.all_honest_done() {
                self.stats.liveness_ms = self.now.saturating_sub(healed);
                return Ok(self.stats);
            }
            if self.now > healed + bound {
                let behind = (0..self.sc.n)
                    .filter(|&i| self.nodes[i].byz == Byz::Honest)
                    .map(|i| {
                        let n = &self.nodes[i];
                        NodeProgress {
                            node: i,
                            decided: n.decided.len(),
                            height: n.driver.core().height(),
                            round: n.driver.core().round(),
                        }
                    })
                    .collect();
                return Err(self.fail(Violation::Liveness {
                    heights: self.sc.heights,
                    bound_ms: bound,
                    behind,
                    scenario: Box::new(self.sc.clone()),
                }));
            }
        }
        Err(self.fail(Violation::QueueRanDry))
    }

    fn all_honest_done(&self) -> bool {
        self.nodes
            .iter()
            .filter(|n| n.byz == Byz::Honest)
            .all(|n| n.decided.len() as u64 >= self.sc.heights)
    }

    fn step(&mut self, event: Event) -> Result<(), SimFailure> {
        match event {
            Event::Crash { node } => {
                let n = &mut self.nodes[node];
                n.up = false;
                n.incarnation += 1;
                n.driver.wal_mut().crash();
            }
            Event::Restart { node } => {
                let n = &mut self.nodes[node];
                n.up = true;
                let wal = std::mem::take(n.driver.wal_mut());
                n.driver = Driver::new(self.config.clone(), Some(n.key.clone()), wal);
                let height = n.decided.keys().last().map_or(1, |h| h + 1);
                let inc = n.incarnation;
                self.push(
                    self.now,
                    Event::StartHeight {
                        node,
                        incarnation: inc,
                        height,
                    },
                );
            }
            Event::StartHeight {
                node,
                incarnation,
                height,
            } => {
                if self.live(node, incarnation) {
                    self.nodes[node].seen.clear();
                    let out = self.nodes[node]
                        .driver
                        .start_height(height, self.set.clone())
                        .map_err(|e| self.fail(Violation::Wal(e)))?;
                    self.outputs(node, out)?;
                }
            }
            Event::Timer {
                node,
                incarnation,
                timeout,
            } => {
                if self.live(node, incarnation) {
                    let out = self.nodes[node].driver.handle(Input::Timeout(timeout));
                    self.outputs(node, out)?;
                }
            }
            Event::Value {
                node,
                incarnation,
                height,
                round,
            } => {
                if self.live(node, incarnation) {
                    let value = valid_value(
                        b"sim/value",
                        &[
                            &self.sc.seed.to_le_bytes(),
                            &node.to_le_bytes(),
                            &height.to_le_bytes(),
                            &round.to_le_bytes(),
                        ],
                    );
                    let out = self.nodes[node].driver.handle(Input::ProposedValue {
                        height,
                        round,
                        value,
                    });
                    self.outputs(node, out)?;
                }
            }
            Event::Deliver { to, msg } => {
                if !self.nodes[to].up {
                    return Ok(());
                }
                let height = self.nodes[to].driver.core().height();
                if msg.height() < height {
                    self.send_sync(to, &msg);
                }
                self.relay(to, &msg);
                let input = match msg {
                    Message::Proposal(p) => {
                        let ok = valid(&p.proposal.value);
                        Input::Proposal {
                            proposal: p,
                            valid: ok,
                        }
                    }
                    Message::Vote(v) => Input::Vote(v),
                };
                let out = self.nodes[to].driver.handle(input);
                self.outputs(to, out)?;
            }
            Event::Sync { to, commit } => {
                if !self.nodes[to].up || commit.height != self.nodes[to].driver.core().height() {
                    return Ok(());
                }
                if self.sc.mutations == Mutations::default() {
                    self.check_certificate(&commit)?;
                }
                let ok = valid(&commit.block_hash);
                let out = self.nodes[to]
                    .driver
                    .handle(Input::Commit { commit, valid: ok });
                self.outputs(to, out)?;
            }
        }
        Ok(())
    }

    fn live(&self, node: usize, incarnation: u32) -> bool {
        self.nodes[node].up && self.nodes[node].incarnation == incarnation
    }

    /// A node that hears from a peer behind it sends that peer the commit it needs (block sync).
    fn send_sync(&mut self, from: usize, msg: &Message) {
        let Some(peer) = self
            .nodes
            .iter()
            .position(|n| n.key.account() == msg.sender())
        else {
            return;
        };
        let h = msg.height();
        let last = self.nodes[from].last_sync.get(&(peer, h)).copied();
        if last.is_some_and(|t| self.now < t + 300) || self.nodes[from].byz != Byz::Honest {
            return;
        }
        if let Some(commit) = self.certificate(h) {
            self.nodes[from].last_sync.insert((peer, h), self.now);
            let Some(at) = self.release(Kind::Commit, h, commit.round, None, peer) else {
                return;
            };
            let delay = self.delay();
            self.push(at + delay, Event::Sync { to: peer, commit });
        }
    }

    fn delay(&mut self) -> u64 {
        let base = 1 + self.rng.below(20);
        // A heavy tail: one message in ten is late, some very late.
        if self.rng.chance(10) {
            base + self.rng.below(200) * (1 + self.rng.below(8))
        } else {
            base
        }
    }

    fn connected(&self, a: usize, b: usize) -> bool {
        match &self.sc.partition {
            Some((side, heal)) if self.now < *heal => side[a] == side[b],
            _ => true,
        }
    }

    /// When the schedule's holds let something reach `to`: now, at a later time, or never (`None`).
    fn release(
        &self,
        kind: Kind,
        height: u64,
        round: u32,
        signer: Option<AccountId>,
        to: usize,
    ) -> Option<u64> {
        let mut at = self.now;
        for h in &self.sc.holds {
            let applies = h.kinds.contains(&kind)
                && h.from <= (height, round)
                && (height, round) <= h.to
                && h.from_nodes.contains(&to)
                && h.signer
                    .is_none_or(|s| Some(self.nodes[s].key.account()) == signer);
            if applies {
                at = at.max(h.until?);
            }
        }
        Some(at)
    }

    /// Sends `msg` from `from` to `to` through the lossy network.
    fn send(&mut self, from: usize, to: usize, msg: Message) {
        self.stats.messages += 1;
        if to != from && (!self.connected(from, to) || self.rng.chance(self.sc.drop_percent)) {
            return;
        }
        let kind = match &msg {
            Message::Proposal(_) => Kind::Proposal,
            Message::Vote(v) => match v.vote.kind {
                VoteKind::Prevote => Kind::Prevote,
                VoteKind::Precommit => Kind::Precommit,
            },
        };
        let Some(release) = self.release(kind, msg.height(), msg.round(), Some(msg.sender()), to)
        else {
            return;
        };
        let copies = if self.rng.chance(self.sc.dup_percent) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = if to == from {
                release
            } else {
                release + self.delay()
            };
            self.push(
                at,
                Event::Deliver {
                    to,
                    msg: msg.clone(),
                },
            );
        }
    }

    /// Gossip: an honest node forwards a message it sees for the first time to a few peers (its
    /// mesh), so a Byzantine sender cannot show different nodes different things for long.
    fn relay(&mut self, node: usize, msg: &Message) {
        if self.nodes[node].byz != Byz::Honest
            || msg.height() + 1 < self.nodes[node].driver.core().height()
        {
            return;
        }
        let id = Hash::digest(&borsh::to_vec(msg).expect("borsh"));
        if !self.nodes[node].seen.insert(id) {
            return;
        }
        for _ in 0..MESH {
            let to = self.rng.below(self.sc.n as u64) as usize;
            if to != node {
                self.send(node, to, msg.clone());
            }
        }
    }

    fn broadcast(&mut self, from: usize, msg: Message) {
        for to in 0..self.sc.n {
            if to != from {
                self.send(from, to, msg.clone());
            }
        }
    }

    fn outputs(&mut self, node: usize, outputs: Vec<Output>) -> Result<(), SimFailure> {
        for o in outputs {
            match o {
                Output::Publish(msg) => self.publish(node, msg)?,
                Output::Relay(msg) => {
                    if self.nodes[node].byz == Byz::Honest {
                        self.broadcast(node, msg);
                    }
                }
                Output::Schedule(timeout, ms) => {
                    let inc = self.nodes[node].incarnation;
                    self.push(
                        self.now + ms,
                        Event::Timer {
                            node,
                            incarnation: inc,
                            timeout,
                        },
                    );
                }
                Output::GetValue { height, round } => {
                    let inc = self.nodes[node].incarnation;
                    let at = self.now + 1 + self.rng.below(10);
                    self.push(
                        at,
                        Event::Value {
                            node,
                            incarnation: inc,
                            height,
                            round,
                        },
                    );
                }
                Output::Decided {
                    height,
                    value,
                    commit,
                    ..
                } => self.decided(node, height, value, commit)?,
                Output::Evidence(e) => self.evidence(node, &e)?,
            }
        }
        Ok(())
    }

    /// Evidence a node raises must be genuine (two validly signed votes of one validator for the
    /// same height, round and step, on different values) and can only name a Byzantine node.
    fn evidence(&mut self, node: usize, e: &Evidence) -> Result<(), SimFailure> {
        self.stats.evidence += 1;
        let (a, b) = (&e.first, &e.second);
        let genuine = a.validator == b.validator
            && (a.vote.height, a.vote.round, a.vote.kind)
                == (b.vote.height, b.vote.round, b.vote.kind)
            && a.vote.block_hash != b.vote.block_hash
            && a.verify(&self.config.domain).is_ok()
            && b.verify(&self.config.domain).is_ok();
        match self
            .nodes
            .iter()
            .position(|n| n.key.account() == a.validator)
        {
            Some(i) if genuine && self.nodes[i].byz != Byz::Honest => {
                self.stats.equivocators.insert(i);
                Ok(())
            }
            _ => Err(self.fail(Violation::FalseEvidence {
                node,
                evidence: Box::new(e.clone()),
            })),
        }
    }

    fn publish(&mut self, node: usize, msg: Message) -> Result<(), SimFailure> {
        let byz = self.nodes[node].byz;
        if byz == Byz::Honest {
            let step = step_of(&msg);
            let key = (node, msg.height(), msg.round(), step);
            match self.signed.get(&key) {
                Some(prev) if !same_content(prev, &msg) => {
                    return Err(self.fail(Violation::DoubleSign {
                        node,
                        height: msg.height(),
                        round: msg.round(),
                        step,
                    }));
                }
                Some(_) => {}
                None => {
                    if std::env::var_os("SIM_TRACE").is_some() {
                        let v = match &msg {
                            Message::Proposal(p) => format!(
                                "{} pol {:?}",
                                &p.proposal.value.to_hex()[2..8],
                                p.proposal.pol_round
                            ),
                            Message::Vote(v) => v
                                .vote
                                .block_hash
                                .map_or("nil".into(), |h| h.to_hex()[2..8].to_string()),
                        };
                        eprintln!(
                            "t={} node {node} h{} r{} {step:?} {v}",
                            self.now,
                            msg.height(),
                            msg.round()
                        );
                    }
                    self.signed.insert(key, msg.clone());
                }
            }
            self.broadcast(node, msg);
            return Ok(());
        }
        let key = self.nodes[node].key.clone();
        match byz {
            Byz::Honest => unreachable!("handled above"),
            Byz::Silent => {}
            Byz::Scripted => self.broadcast(node, msg),
            Byz::FakeValidRound => {
                let forged = self.forge(node, msg);
                self.broadcast(node, forged)
            }
            Byz::VoteWithholder => {
                for to in 0..self.sc.n {
                    if to != node && self.rng.chance(30) {
                        self.send(node, to, msg.clone());
                    }
                }
            }
            Byz::EquivocatingProposer | Byz::DoubleVoter => {
                let other = self.conflicting(&msg, &key, byz);
                for to in 0..self.sc.n {
                    if to == node {
                        continue;
                    }
                    match &other {
                        Some(o) if to % 2 == 1 => self.send(node, to, o.clone()),
                        _ => self.send(node, to, msg.clone()),
                    }
                }
            }
        }
        Ok(())
    }

    /// `FakeValidRound`'s rewrite of its own message: in a round r > 0 that it proposes, the
    /// proposal becomes a fresh valid value with validRound r − 1, and its votes go to that value.
    /// The same message always becomes the same forgery, so its rebroadcasts are no equivocation.
    fn forge(&self, node: usize, msg: Message) -> Message {
        let key = &self.nodes[node].key;
        let (height, round) = (msg.height(), msg.round());
        if round == 0 || self.set.proposer(height, round) != key.account() {
            return msg;
        }
        let fake = valid_value(
            b"sim/forged",
            &[
                &self.sc.seed.to_le_bytes(),
                &node.to_le_bytes(),
                &height.to_le_bytes(),
                &round.to_le_bytes(),
            ],
        );
        match msg {
            Message::Proposal(p) => Message::Proposal(SignedProposal::sign(
                Proposal {
                    value: fake,
                    pol_round: Some(round - 1),
                    ..p.proposal
                },
                key,
                &self.config.domain,
            )),
            Message::Vote(v) => Message::Vote(SignedVote::sign(
                Vote {
                    block_hash: Some(fake),
                    ..v.vote
                },
                key,
                &self.config.domain,
            )),
        }
    }

    /// A second, conflicting message signed by a Byzantine node.
    fn conflicting(&mut self, msg: &Message, key: &Keypair, byz: Byz) -> Option<Message> {
        let mut alt = Hash::digest_parts(b"sim/evil", &[&self.rng.next_u64().to_le_bytes()]);
        if self.rng.chance(50) {
            alt.0[0] = 0xff; // sometimes an invalid block
        }
        match msg {
            Message::Proposal(p) if byz == Byz::EquivocatingProposer => {
                let mut q = p.proposal.clone();
                q.value = alt;
                Some(Message::Proposal(SignedProposal::sign(
                    q,
                    key,
                    &self.config.domain,
                )))
            }
            Message::Vote(v) => {
                let choices = [Some(alt), None, v.vote.block_hash];
                let pick = choices[self.rng.below(2) as usize];
                let vote = Vote {
                    block_hash: if pick == v.vote.block_hash {
                        None
                    } else {
                        pick
                    },
                    ..v.vote.clone()
                };
                Some(Message::Vote(SignedVote::sign(
                    vote,
                    key,
                    &self.config.domain,
                )))
            }
            Message::Proposal(_) => None,
        }
    }

    fn check_certificate(&mut self, commit: &Commit) -> Result<(), SimFailure> {
        let h = commit.hash();
        if self.verified.contains(&h) {
            return Ok(());
        }
        commit
            .verify(&self.config.domain, self.set.validators())
            .map_err(|source| {
                self.fail(Violation::Certificate {
                    height: commit.height,
                    source,
                })
            })?;
        self.verified.insert(h);
        Ok(())
    }

    fn decided(
        &mut self,
        node: usize,
        height: u64,
        value: ValueId,
        commit: Commit,
    ) -> Result<(), SimFailure> {
        if self.nodes[node].byz != Byz::Honest {
            return self.next_height(node, height);
        }
        if !valid(&value) {
            return Err(self.fail(Violation::Validity { node, height }));
        }
        if commit.block_hash != value || commit.height != height {
            return Err(self.fail(Violation::CertificateForAnotherValue { node, height }));
        }
        if self.sc.mutations == Mutations::default() {
            // A deliberately broken core makes weak certificates; the mutation checks are about agreement.
            self.check_certificate(&commit)?;
        }
        match self.commits.get(&height) {
            Some(first) if first.block_hash != value => {
                return Err(self.fail(Violation::Agreement {
                    height,
                    first: first.block_hash,
                    second: value,
                    node,
                }));
            }
            Some(_) => {}
            None => {
                self.commits.insert(height, commit);
                self.stats.decided_heights = self.stats.decided_heights.max(height);
            }
        }
        self.nodes[node].decided.insert(height, value);
        self.next_height(node, height)
    }

    fn next_height(&mut self, node: usize, height: u64) -> Result<(), SimFailure> {
        let inc = self.nodes[node].incarnation;
        let at = self.now + self.rng.below(20);
        self.push(
            at,
            Event::StartHeight {
                node,
                incarnation: inc,
                height: height + 1,
            },
        );
        Ok(())
    }

    fn certificate(&self, h: u64) -> Option<Commit> {
        self.commits.get(&h).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// `SIM_SEED=s` replays one seed; `SIM_SEEDS=n` runs seeds 0..n (default 2000).
    fn seeds(default: u64) -> Vec<u64> {
        if let Some(s) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
            return vec![s];
        }
        let n = std::env::var("SIM_SEEDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
        (0..n).collect()
    }

    /// Random scenarios CI runs, each with at least one Byzantine validator (issue #10 asks
    /// for 2,000 with Byzantine actors).
    const CI_SCENARIOS: u64 = 2000;

    #[test]
    fn sim_random_scenarios_keep_every_invariant() {
        let seeds = seeds(CI_SCENARIOS);
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut byzantine = 0;
        for &seed in &seeds {
            let sc = Scenario::random(seed);
            let mut any = false;
            for b in sc.byz.iter().filter(|b| **b != Byz::Honest) {
                *kinds.entry(format!("{b:?}")).or_default() += 1;
                any = true;
            }
            byzantine += any as u64;
        }
        eprintln!("{byzantine} scenarios with Byzantine validators; Byzantine validators by kind: {kinds:?}");
        if std::env::var_os("SIM_SEED").is_none() && std::env::var_os("SIM_SEEDS").is_none() {
            assert!(
                byzantine >= CI_SCENARIOS,
                "only {byzantine} scenarios with Byzantine validators"
            );
        }
        let started = Instant::now();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let results: Vec<Result<(u64, u64), SimFailure>> = std::thread::scope(|scope| {
            let handles: Vec<_> = seeds
                .chunks(seeds.len().div_ceil(threads).max(1))
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|&seed| {
                                Sim::new(Scenario::random(seed))
                                    .run()
                                    .map(|s| (s.liveness_ms, seed))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("simulation thread"))
                .collect()
        });
        let worst = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .max()
            .copied()
            .unwrap_or((0, 0));
        let failures: Vec<String> = results
            .into_iter()
            .filter_map(|r| r.err().map(|e| e.to_string()))
            .collect();
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{} scenarios in {secs:.1} s ({:.0} seeds/s); worst liveness delay after healing {} ms (seed {})",
            seeds.len(),
            seeds.len() as f64 / secs,
            worst.0,
            worst.1
        );
        assert!(
            failures.is_empty(),
            "{} of {} scenarios failed:\n{}",
            failures.len(),
            seeds.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn sim_messages_per_height() {
        for n in [4, 31] {
            let heights = 10;
            let stats = Sim::new(Scenario::clean(1, n, heights)).run().unwrap();
            let per_height = stats.messages / heights;
            // One round signs 2n + 1 messages (a proposal, n prevotes, n precommits); each is sent
            // by its author to the n − 1 others, and each receiver relays it once to at most MESH
            // peers. Twice that leaves room for the rebroadcasts and the occasional second round
            // the heavy-tailed delays cause (measured: 221 for 4 validators, 15,659 for 31, about
            // 82% of it), and a node that re-sent what it relays or rebroadcasts much more often
            // goes over. (The former bound, 40·n², allowed 2.9 and 2.5 times the measured cost.)
            let n = n as u64;
            let one_round = (2 * n + 1) * (n - 1) * (1 + MESH as u64);
            eprintln!(
                "{n} validators: {per_height} messages per height (bound {})",
                2 * one_round
            );
            assert!(
                per_height <= 2 * one_round,
                "{n} validators cost {per_height} messages a height"
            );
        }
    }

    #[test]
    fn sim_equivocating_voters_are_reported_and_nobody_else() {
        // Both Byzantine kinds sign a second, conflicting vote for some peers; gossip brings both
        // to an honest node, whose evidence must name exactly them (and is checked genuine).
        for seed in 0..10 {
            let mut sc = Scenario::clean(seed, 7, 3);
            sc.byz[0] = Byz::DoubleVoter;
            sc.byz[1] = Byz::EquivocatingProposer;
            let stats = Sim::new(sc).run().unwrap();
            assert_eq!(
                stats.equivocators,
                BTreeSet::from([0, 1]),
                "seed {seed}: {} pieces of evidence",
                stats.evidence
            );
        }
    }

    /// Harsher networks than the default mix: always partitioned, lossier, more crashes.
    fn hostile(seed: u64, mutations: Mutations) -> Scenario {
        let mut sc = Scenario::random(seed);
        let mut rng = SplitMix(seed ^ 0xbad);
        if sc.partition.is_none() {
            sc.partition = Some((
                (0..sc.n).map(|_| rng.chance(50)).collect(),
                500 + rng.below(4000),
            ));
        }
        sc.drop_percent += 10;
        sc.mutations = mutations;
        sc
    }

    /// The first of seeds 0–1999 whose harsher scenario breaks agreement. A search, so it ignores
    /// `SIM_SEED`: replaying one seed must not make it fail.
    fn finds_violation(mutations: Mutations) -> Option<u64> {
        (0..2000).find(|&seed| {
            let sc = hostile(seed, mutations);
            matches!(Sim::new(sc).run(), Err(e) if e.violation.invariant() == "agreement")
        })
    }

    #[test]
    fn sim_catches_a_broken_quorum_threshold() {
        let found = finds_violation(Mutations {
            one_third_quorum: true,
            ..Mutations::default()
        });
        assert!(found.is_some(), "a one-third quorum went unnoticed");
        eprintln!("broken quorum caught at seed {}", found.unwrap());
    }

    /// Seeds each targeted schedule runs with (they differ in the network's delays).
    const TARGETED_SEEDS: u64 = 20;

    fn targeted_seeds() -> Vec<u64> {
        match std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
            Some(s) => vec![s],
            None => (0..TARGETED_SEEDS).collect(),
        }
    }

    /// Each mutation of the core, the targeted schedule meant to expose it, and the invariant it
    /// must break there.
    fn mutation_cases() -> [(&'static str, Mutations, Schedule, &'static str); 4] {
        let none = Mutations::default();
        [
            (
                "one_third_quorum",
                Mutations {
                    one_third_quorum: true,
                    ..none
                },
                Schedule::EvenSplit,
                "agreement",
            ),
            (
                "ignore_lock",
                Mutations {
                    ignore_lock: true,
                    ..none
                },
                Schedule::SplitLock,
                "agreement",
            ),
            (
                "unproven_valid_round",
                Mutations {
                    unproven_valid_round: true,
                    ..none
                },
                Schedule::ForgedValidRound,
                "agreement",
            ),
            (
                "ignore_valid_round",
                Mutations {
                    ignore_valid_round: true,
                    ..none
                },
                Schedule::StrandedLock,
                "liveness",
            ),
        ]
    }

    fn run_targeted(
        schedule: Schedule,
        seed: u64,
        mutations: Mutations,
    ) -> Result<Stats, SimFailure> {
        let mut sc = Scenario::targeted(schedule, seed);
        sc.mutations = mutations;
        Sim::new(sc).run()
    }

    #[test]
    fn sim_targeted_schedules_keep_every_invariant_of_the_real_core() {
        for schedule in Schedule::ALL {
            for seed in targeted_seeds() {
                if let Err(e) = run_targeted(schedule, seed, Mutations::default()) {
                    panic!("{schedule:?}: {e}");
                }
            }
        }
    }

    #[test]
    fn sim_targeted_schedules_catch_the_quorum_lock_and_valid_round_mutations() {
        let seeds = targeted_seeds();
        let mut missed = Vec::new();
        for (name, mutations, schedule, invariant) in mutation_cases() {
            let started = Instant::now();
            let mut escaped = Vec::new();
            for &seed in &seeds {
                match run_targeted(schedule, seed, mutations) {
                    Err(e) if e.violation.invariant() == invariant => {
                        // A seed replays exactly: the same violation, word for word.
                        if seed == seeds[0] {
                            let again = run_targeted(schedule, seed, mutations).err();
                            assert_eq!(again.map(|a| a.to_string()), Some(e.to_string()));
                        }
                    }
                    Ok(_) => escaped.push(format!("seed {seed}: no invariant broke")),
                    // Only the start of the other failure: it ends with the whole scenario.
                    Err(e) => escaped.push(e.to_string().chars().take(160).collect()),
                }
            }
            eprintln!(
                "{name}: {schedule:?} broke {invariant} on {} of {} seeds ({:.1} s)",
                seeds.len() - escaped.len(),
                seeds.len(),
                started.elapsed().as_secs_f64()
            );
            missed.extend(
                escaped
                    .into_iter()
                    .map(|e| format!("{name} under {schedule:?}, expected {invariant}: {e}")),
            );
        }
        assert!(
            missed.is_empty(),
            "mutations not caught:\n{}",
            missed.join("\n")
        );
    }
}
