//! `tensorchain chaos <attack>`: joins a network as a peer and misbehaves on purpose, so an
//! operator can check that a deployment holds (docs/security.md lists each attack and the bound
//! that stops it). It only ever talks to the network it is pointed at, ends by itself after
//! `--duration`, and reports what it sent and whether the peers cut it off.

use crate::error::{CliError, CliResult};
use crate::node::{parse_multiaddr, runtime};
use crate::output::print_json;
use crate::Global;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tensorchain_consensus::{Proposal, SignedProposal, SignedVote};
use tensorchain_genesis::ChainSpec;
use tensorchain_network::{
    Event, Events, InboundRequest, NetworkConfig, NetworkHandle, NodeKey, PeerSharing, SyncRefusal,
    SyncRequest, SyncResponse,
};
use tensorchain_node::wire::ConsensusWire;
use tensorchain_primitives::{
    Block, Call, Hash, Header, Keypair, SignedTx, SigningDomain, Tx, Vote, VoteKind, MAX_TX_BYTES,
};
use tokio::sync::watch;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    /// Re-wraps the live proposals it sees around altered bodies.
    AlteredProposal,
    /// Votes and proposals signed by fresh keys that are in no validator set.
    JunkVotes,
    /// Messages for far-future heights and rounds.
    FutureFlood,
    /// Many concurrent block-range requests to every peer.
    RangeFlood,
    /// Claims a huge tip, then serves nothing of it.
    LyingTip,
    /// Messages at and over every size cap: transactions over MAX_TX_BYTES, blocks near the
    /// gossip cap.
    Oversized,
    /// Kademlia: answers every FIND_NODE with made-up peers, as many as an answer carries (20,
    /// a dozen addresses each, ~13 KiB; loopback addresses with closed ports, so nothing outside
    /// the machine is ever dialed), and keeps asking its peers for theirs (random lookups).
    PeerFlood,
}

#[derive(clap::Args)]
pub struct ChaosArgs {
    #[arg(value_enum)]
    attack: Attack,
    /// The chain spec of the network to attack.
    #[arg(long)]
    genesis: PathBuf,
    /// A peer of that network to join through (repeatable).
    #[arg(long, required = true)]
    bootnode: Vec<String>,
    /// Seconds to misbehave.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Messages (or requests) per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
}

/// Most seconds an attack runs, and most messages per second: it shares the machine with what
/// it attacks.
const MAX_DURATION: u64 = 3_600;
const MAX_RATE: u32 = 10_000;
/// How long to wait for the first connection to the network.
const JOIN_TIMEOUT: Duration = Duration::from_secs(20);

pub fn run(args: ChaosArgs, g: &Global) -> CliResult<()> {
    if args.duration == 0 || args.duration > MAX_DURATION || args.rate == 0 || args.rate > MAX_RATE
    {
        return Err(CliError::new(
            "bad_argument",
            format!("--duration must be 1..={MAX_DURATION} and --rate 1..={MAX_RATE}"),
            "try --duration 10 --rate 200",
        ));
    }
    let spec = ChainSpec::load(&args.genesis).map_err(|e| {
        CliError::new(
            "bad_genesis",
            e.to_string(),
            "pass the chain's genesis.json",
        )
    })?;
    let bootnodes = args
        .bootnode
        .iter()
        .map(|b| parse_multiaddr(b))
        .collect::<CliResult<Vec<_>>>()?;
    let report = runtime()?.block_on(attack(&args, &spec, bootnodes))?;
    if g.json {
        print_json(&report);
    } else {
        println!(
            "{:?}: {} messages in {:.1} s; disconnected by peers: {}",
            args.attack,
            report["messages_sent"],
            report["duration_s"].as_f64().unwrap_or(0.0),
            report["disconnected_by_peers"]
        );
    }
    Ok(())
}

async fn attack(
    args: &ChaosArgs,
    spec: &ChainSpec,
    bootnodes: Vec<tensorchain_network::Multiaddr>,
) -> CliResult<serde_json::Value> {
    let (_stop_tx, stop) = watch::channel(false);
    let (net, mut events, _task) = tensorchain_network::start(
        NetworkConfig {
            chain_id: spec.chain_id.clone(),
            key: NodeKey::generate_ed25519(),
            listen: "/ip4/0.0.0.0/tcp/0".parse().expect("a multiaddr"),
            bootnodes,
            agent: format!("tensorchain-chaos/{}", env!("CARGO_PKG_VERSION")),
            peer_sharing: if args.attack == Attack::PeerFlood {
                PeerSharing::MadeUp
            } else {
                PeerSharing::Share
            },
            private_peers: vec![],
        },
        stop,
    )
    .await
    .map_err(|e| CliError::new("network_error", e.to_string(), "check --bootnode"))?;
    let joined = Instant::now();
    while net.peers().is_empty() {
        if joined.elapsed() > JOIN_TIMEOUT {
            return Err(CliError::new(
                "no_peers",
                "no peer of the network answered",
                "pass a --bootnode multiaddr from `tensorchain devnet status`",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut chaos = Chaos {
        net,
        domain: spec.signing_domain(),
        tip: 0,
        sent: 0,
        fresh: 0,
        ever_connected: 0,
    };
    chaos.tip = chaos.learn_tip().await;
    let started = Instant::now();
    let until = started + Duration::from_secs(args.duration);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.rate);
    while Instant::now() < until {
        tokio::select! {
            _ = tick.tick() => chaos.strike(args.attack).await,
            Some(ev) = events.consensus.recv() => chaos.on_gossip(args.attack, ev),
            Some(req) = events.sync.recv() => chaos.on_request(args.attack, req),
        }
        chaos.ever_connected = chaos.ever_connected.max(chaos.net.peers().len());
    }
    drain(&mut events);
    // Each FIND_NODE answered is a message of made-up peers.
    chaos.sent += chaos.net.find_node_answers();
    Ok(json!({
        "attack": format!("{:?}", args.attack),
        "messages_sent": chaos.sent,
        "duration_s": started.elapsed().as_secs_f64(),
        "disconnected_by_peers": chaos.ever_connected > 0 && chaos.net.peers().is_empty(),
    }))
}

fn drain(events: &mut Events) {
    while events.consensus.try_recv().is_ok() {}
    while events.tx.try_recv().is_ok() {}
    while events.sync.try_recv().is_ok() {}
}

struct Chaos {
    net: NetworkHandle,
    /// The network's chain id and genesis: what its members' signatures are made for, so junk
    /// signed by fresh keys is refused for its signers, not for its signatures.
    domain: SigningDomain,
    /// The network's head when the attack started.
    tip: u64,
    sent: u64,
    /// Counter for fresh keys: each junk message has a signer of its own.
    fresh: u64,
    ever_connected: usize,
}

impl Chaos {
    async fn learn_tip(&self) -> u64 {
        for peer in self.net.peers() {
            if let Ok(SyncResponse::Status { tip, .. }) =
                self.net.request(peer.peer_id, SyncRequest::Status).await
            {
                return tip;
            }
        }
        0
    }

    fn fresh_key(&mut self) -> Keypair {
        self.fresh += 1;
        Keypair::dev(&format!("chaos/{}/{}", std::process::id(), self.fresh))
    }

    fn publish(&mut self, wire: ConsensusWire) {
        if self.net.publish_consensus(wire.encode()) {
            self.sent += 1;
        }
    }

    fn vote(&mut self, height: u64, round: u32) -> ConsensusWire {
        let key = self.fresh_key();
        ConsensusWire::Vote(SignedVote::sign(
            Vote {
                chain_id: self.domain.chain_id.clone(),
                height,
                round,
                kind: VoteKind::Prevote,
                block_hash: Some(Hash::digest(&self.fresh.to_le_bytes())),
            },
            &key,
            &self.domain,
        ))
    }

    /// A proposal by a fresh key for `height`, whose block carries `txs`.
    fn proposal(&mut self, height: u64, txs: Vec<SignedTx>) -> ConsensusWire {
        let key = self.fresh_key();
        let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
        let block = Block {
            header: Header {
                chain_id: self.domain.chain_id.clone(),
                height,
                time_ms: 0,
                parent_hash: Hash::ZERO,
                tx_root: tensorchain_primitives::merkle_root(&hashes),
                state_root: Hash::ZERO,
                proposer: key.account(),
                validator_set_hash: Hash::ZERO,
                next_validator_set_hash: Hash::ZERO,
                last_commit_hash: Hash::ZERO,
            },
            txs,
            last_commit: None,
        };
        let proposal = SignedProposal::sign(
            Proposal {
                chain_id: self.domain.chain_id.clone(),
                height,
                round: 0,
                value: block.hash(),
                pol_round: None,
            },
            &key,
            &self.domain,
        );
        ConsensusWire::Proposal {
            proposal,
            block: Box::new(block),
        }
    }

    /// A transaction whose encoding is `bytes` long (give or take the length prefixes).
    fn padded_tx(&mut self, bytes: usize) -> SignedTx {
        let key = self.fresh_key();
        Tx {
            chain_id: self.domain.chain_id.clone(),
            signer: key.account(),
            nonce: 0,
            fee: 0,
            call: Call::RegisterSubnet {
                hotkey: key.account(),
                max_cost: 0,
                identity: "x".repeat(bytes),
            },
        }
        .sign(&key, &self.domain)
    }

    async fn strike(&mut self, attack: Attack) {
        let next = self.tip.saturating_add(1);
        match attack {
            // Reacts to gossip (`on_gossip`) or requests (`on_request`) only.
            Attack::AlteredProposal | Attack::LyingTip => {}
            Attack::JunkVotes => {
                let wire = if self.fresh % 4 == 0 {
                    self.proposal(next, vec![])
                } else {
                    self.vote(next, 0)
                };
                self.publish(wire);
            }
            Attack::FutureFlood => {
                let far = [
                    (next.saturating_add(1_000), 0),
                    (u64::MAX, u32::MAX),
                    (next, u32::MAX),
                    (next.saturating_add(1), self.fresh as u32),
                ];
                let (height, round) = far[(self.fresh % far.len() as u64) as usize];
                let wire = self.vote(height, round);
                self.publish(wire);
            }
            // A few lookups run at once; one more starts whenever one ends. What counts as sent
            // is the answers of made-up peers (added at the end).
            Attack::PeerFlood => self.net.lookup(),
            Attack::RangeFlood => {
                for peer in self.net.peers() {
                    let net = self.net.clone();
                    self.sent += 1;
                    tokio::spawn(async move {
                        let _ = net
                            .request(
                                peer.peer_id,
                                SyncRequest::Blocks {
                                    from: 1,
                                    count: u32::MAX,
                                },
                            )
                            .await;
                    });
                }
            }
            Attack::Oversized => {
                let over_tx = self.padded_tx(MAX_TX_BYTES + 1);
                if self.net.publish_tx(borsh::to_vec(&over_tx).expect("borsh")) {
                    self.sent += 1;
                }
                // A block of ~7 MiB: under the 8 MiB gossip cap, over MAX_BLOCK_BYTES.
                if self.fresh % 50 == 1 {
                    let txs = (0..112)
                        .map(|_| self.padded_tx(MAX_TX_BYTES - 512))
                        .collect();
                    let wire = self.proposal(next, txs);
                    self.publish(wire);
                }
            }
        }
    }

    fn on_gossip(&mut self, attack: Attack, ev: Event) {
        let Event::Gossip { data, .. } = ev else {
            return;
        };
        if attack != Attack::AlteredProposal {
            return;
        }
        let Ok(ConsensusWire::Proposal { proposal, block }) =
            ConsensusWire::decode(&data, &self.domain)
        else {
            return;
        };
        let mut altered = *block;
        match altered.txs.pop() {
            Some(_) => {}
            None => altered.txs.push(self.padded_tx(16)),
        }
        self.publish(ConsensusWire::Proposal {
            proposal,
            block: Box::new(altered),
        });
    }

    fn on_request(&mut self, attack: Attack, req: InboundRequest) {
        let response = match (attack, req.request) {
            (Attack::LyingTip, SyncRequest::Status) => SyncResponse::Status {
                genesis: self.domain.genesis,
                tip: u64::MAX,
                tip_hash: Hash::ZERO,
                earliest: 1,
            },
            (Attack::LyingTip, SyncRequest::Blocks { .. }) => SyncResponse::Blocks(vec![]),
            _ => SyncResponse::Refused(SyncRefusal::Busy),
        };
        self.sent += 1;
        self.net.respond(req.channel, response);
    }
}
