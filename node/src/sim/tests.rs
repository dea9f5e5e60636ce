//! The simulator's scenarios. `SIM_SEED=<seed>` reruns one; `SIM_SEEDS=<count>` soaks.

use super::*;

fn run_all(what: &str, scenarios: impl Iterator<Item = Scenario>) -> Vec<Stats> {
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    for sc in scenarios {
        match Sim::new(sc).run() {
            Ok(stats) => all.push(stats),
            Err(e) => panic!("{what}: {e}"),
        }
    }
    let heights: u64 = all.iter().map(|s| s.heights).sum();
    if all.len() <= 4 {
        eprintln!("{what}: {all:?}");
    }
    let sum = |f: fn(&Stats) -> u64| all.iter().map(f).sum::<u64>();
    eprintln!(
        "{what}: {} scenarios, {heights} heights, {} ranges synced, {} restarts ({} unsynced store batches lost), {} bans ({} of honest peers), {} attack messages, {:.1} s",
        all.len(),
        sum(|s| s.ranges),
        sum(|s| s.restarts),
        sum(|s| s.lost_batches),
        sum(|s| s.bans),
        sum(|s| s.honest_bans),
        sum(|s| s.attack_messages),
        started.elapsed().as_secs_f64()
    );
    all
}

#[test]
fn sim_honest_networks_agree_and_stay_live() {
    run_all("honest", seeds(0, 96).into_iter().map(Scenario::honest));
}

#[test]
fn sim_hostile_networks_agree_and_stay_live() {
    run_all(
        "hostile",
        seeds(1 << 32, 80).into_iter().map(Scenario::hostile),
    );
}

/// Found in session 8: a height started `block_time / 4` before its proposal was due, so with
/// 12 s blocks (CometBFT's 3 s propose timeout) the validators' propose timeout ran out exactly
/// when the proposal was due and every height needed a second round. The lead is now at most a
/// quarter of the propose timeout.
#[test]
fn sim_long_block_times_decide_in_round_zero() {
    let stats = run_all(
        "12 s blocks",
        seeds(400, 2)
            .into_iter()
            .map(|s| Scenario::block_time(s, 12_000)),
    );
    assert!(stats.iter().all(|s| s.heights >= 3), "{stats:?}");
    assert!(stats.iter().all(|s| s.extra_rounds == 0), "{stats:?}");
}

/// Finding 1 against running nodes: altered copies of every honest proposal, sent faster than
/// the honest one, are all rejected and the chain goes on.
#[test]
fn sim_finding_1_altered_proposals_are_rejected_by_every_node() {
    let stats = run_all(
        "finding 1",
        seeds(100, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::AlteredProposal, 4, 0)),
    );
    assert!(stats.iter().all(|s| s.rejected_attacks > 10), "{stats:?}");
}

/// Finding 2: votes and proposals signed by strangers are rejected, never logged.
#[test]
fn sim_finding_2_junk_votes_are_rejected_by_every_node() {
    let stats = run_all(
        "finding 2",
        seeds(200, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::JunkVotes, 5, 0)),
    );
    assert!(stats.iter().all(|s| s.rejected_attacks > 10), "{stats:?}");
}

/// Findings 2/3/9: a Byzantine validator's messages for far heights and rounds (`u64::MAX`,
/// `u32::MAX`) neither crash nor fill any node, and the chain goes on.
#[test]
fn sim_finding_3_far_heights_and_rounds_are_bounded() {
    run_all(
        "finding 3",
        seeds(300, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::FutureFlood, 4 + (s % 2) as usize, 1)),
    );
}

/// Finding 5: undecodable megabytes, oversize transactions, and an oversize block proposed by a
/// Byzantine validator are refused; the round it proposes fails and the next decides.
#[test]
fn sim_finding_5_oversized_messages_are_refused() {
    let stats = run_all(
        "finding 5",
        seeds(500, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::Oversized, 4, 1)),
    );
    assert!(stats.iter().all(|s| s.rejected_attacks > 0), "{stats:?}");
    assert!(stats.iter().all(|s| s.oversized_blocks > 0), "{stats:?}");
}

/// Finding 7: a sync peer claiming a huge tip and serving garbage is banned by every node it
/// serves, and nodes still sync from honest peers.
#[test]
fn sim_finding_7_a_lying_sync_peer_is_banned() {
    let stats = run_all(
        "finding 7",
        seeds(700, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::LyingSync, 4, 0)),
    );
    assert!(stats.iter().all(|s| s.bans >= 3), "{stats:?}");
}

/// Findings 2/3: a Byzantine proposer signing several blocks for each of its rounds, up to far
/// rounds, makes no node execute or keep more than one block per round within reach.
#[test]
fn sim_a_flooding_proposer_is_bounded() {
    run_all(
        "proposal flood",
        seeds(900, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::ProposalFlood, 4 + (s % 2) as usize, 1)),
    );
}

/// Equivocation: a Byzantine validator's double votes are reported by honest nodes, a block
/// carries the evidence, the validator is jailed, and the chain goes on without it (its set
/// changes two heights later: the machine's member sets follow).
#[test]
fn sim_a_double_voting_validator_is_jailed() {
    let stats = run_all(
        "double vote",
        seeds(1000, 2)
            .into_iter()
            .map(|s| Scenario::only(s, Attack::DoubleVote, 4 + (s % 2) as usize, 1)),
    );
    assert!(stats.iter().all(|s| s.jailed == 1), "{stats:?}");
}

/// Validator 0 of `spec` alone, over `store`, outside any simulation: for tests that drive one
/// machine by hand.
fn first_validator(
    spec: &ChainSpec,
    store: Arc<dyn tensorchain_ledger::Store>,
) -> (Arc<Node>, NodeMachine<MemoryWal>) {
    let ledger = Arc::new(Ledger::open(store, &spec.genesis_state()).expect("the chain opens"));
    let key = dev_hotkey(NAMES[0]);
    let node = Arc::new(Node::new(
        ledger,
        Arc::new(Metrics::new()),
        Some(key.account()),
    ));
    let machine = NodeMachine::new(
        node.clone(),
        Some(key),
        crate::machine::timeouts(spec.block_time_ms),
        MemoryWal::default(),
        Box::new(MemorySlot::default()),
    );
    (node, machine)
}

/// A store that stops writing when told: a full disk, a dying drive.
struct FailingStore {
    inner: MemoryStore,
    broken: std::sync::atomic::AtomicBool,
}

impl tensorchain_ledger::Store for FailingStore {
    fn get(
        &self,
        col: tensorchain_ledger::Column,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, tensorchain_ledger::StoreError> {
        self.inner.get(col, key)
    }
    fn scan_page(
        &self,
        col: tensorchain_ledger::Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, tensorchain_ledger::StoreError> {
        self.inner.scan_page(col, prefix, after, reverse, limit)
    }
    fn write(
        &self,
        batch: tensorchain_ledger::WriteBatch,
    ) -> Result<(), tensorchain_ledger::StoreError> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(tensorchain_ledger::StoreError(
                "no space left on device".into(),
            ));
        }
        self.inner.write(batch)
    }
    fn sync(&self) -> Result<(), tensorchain_ledger::StoreError> {
        self.inner.sync()
    }
}

/// A validator whose store stops writing does not run on as if its block were committed: the
/// machine halts (the shell ends the engine task, the supervisor turns health 503 and exits the
/// process non-zero), and its head stays where the store last wrote.
#[test]
fn a_node_whose_store_fails_halts() {
    let spec = spec(1);
    let store = Arc::new(FailingStore {
        inner: MemoryStore::new(),
        broken: false.into(),
    });
    let (node, mut machine) = first_validator(&spec, store.clone());
    let mut now = GENESIS_MS;
    let mut effects = machine.start(now);
    let mut halted = None;
    for _ in 0..10_000 {
        if node.ledger().head().height == 2 {
            store
                .broken
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if let Some(reason) = effects.iter().find_map(|e| match e {
            Effect::Halt(reason) => Some(reason.to_string()),
            _ => None,
        }) {
            halted = Some(reason);
            break;
        }
        now = now.max(machine.next_deadline());
        effects = machine.handle(now, Input::Tick);
    }
    let reason = halted.expect("the machine halts once its store fails");
    assert!(reason.contains("no space left on device"), "{reason}");
    assert_eq!(
        node.ledger().head().height,
        2,
        "nothing is committed past the failure"
    );
}

/// Review finding: gossipsub ids are per sender and sequence number, so any peer could republish
/// a validator's signed vote under ids of its own, and every node accepted, relayed and logged
/// each copy. The machine remembers messages by content: a copy from anyone is ignored.
#[test]
fn a_republished_consensus_message_is_ignored_not_relayed() {
    use crate::wire::ConsensusWire;
    use tensorchain_consensus::SignedVote;
    use tensorchain_primitives::{Vote, VoteKind};
    let spec = spec(4);
    let (node, mut machine) = first_validator(&spec, Arc::new(MemoryStore::new()));
    let domain = node.ledger().signing_domain().clone();
    machine.start(GENESIS_MS);
    let vote = SignedVote::sign(
        Vote {
            chain_id: domain.chain_id.clone(),
            height: 1,
            round: 0,
            kind: VoteKind::Prevote,
            block_hash: None,
        },
        &dev_hotkey(NAMES[1]),
        &domain,
    );
    let data = ConsensusWire::Vote(vote).encode();
    let verdict = |machine: &mut NodeMachine<MemoryWal>, id: &[u8], from: usize| {
        let effects = machine.handle(
            GENESIS_MS + 10,
            Input::ConsensusGossip {
                id: MessageId::new(id),
                source: peer_id(from),
                data: data.clone(),
            },
        );
        effects
            .into_iter()
            .find_map(|e| match e {
                Effect::Report { verdict, .. } => Some(verdict),
                _ => None,
            })
            .expect("a verdict")
    };
    assert_eq!(
        verdict(&mut machine, b"first", 1),
        MessageAcceptance::Accept
    );
    let wal = machine.wal_mut().bytes.len();
    for (i, id) in [&b"copy-1"[..], b"copy-2", b"copy-3"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(
            verdict(&mut machine, id, 2 + i % 2),
            MessageAcceptance::Ignore
        );
    }
    assert_eq!(machine.wal_mut().bytes.len(), wal, "copies are not logged");
}
