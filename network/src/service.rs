//! The swarm task and the handle the node uses to talk to it.

use crate::codec::SyncCodec;
use crate::discovery::{Discovery, DiscoveryUpdate, PeerSharing};
use crate::peer_id_of;
use crate::sync::{SyncRequest, SyncResponse};
use crate::txgossip::{self, Counters, TxGossipStats};
use futures::StreamExt;
use libp2p::core::transport::TransportError;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode,
};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{InvalidProtocol, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Gossip messages up to this size; a block proposal travels on the consensus topic.
const MAX_GOSSIP_BYTES: usize = 8 * 1024 * 1024;
/// Connections accepted from others at once, and being set up: a peer opening thousands of
/// connections would otherwise cost a noise handshake and a yamux session each.
const MAX_INCOMING: u32 = 128;
const MAX_PENDING_INCOMING: u32 = 32;
/// Connections the node opens, established and being set up. Every peer a Kademlia lookup asks
/// is a connection, and a peer answering FIND_NODE with fresh (reachable) ids each time could
/// otherwise have the node hold thousands (file descriptors the database needs too). Discovery
/// stops looking at 50 connected peers (`discovery::MAX_PEERS`); this is the hard bound over
/// what lookups under way still dial, with room for the configured peers.
const MAX_OUTGOING: u32 = 64;
const MAX_PENDING_OUTGOING: u32 = 16;
/// Connections to one peer (two when both sides dial at once).
const MAX_PER_PEER: u32 = 2;
/// Incoming connections from one IP address (an IPv6 /64): a host runs a node or a few (a sentry and its
/// validator, a devnet's handful on loopback, each with up to `MAX_PER_PEER` connections), while
/// one host posing as many peers would otherwise take all `MAX_INCOMING` slots.
const MAX_INCOMING_PER_IP: usize = 16;
/// Gossipsub scoring (see docs/security.md): each message the node rejects (forged, invalid)
/// costs its sender `INVALID_WEIGHT × count²`, the count decaying by 10% each second. Three in
/// a row cross the graylist threshold (−80) and the peer's gossip is ignored; ten keep it there
/// for about 12 s, and a peer that keeps sending junk stays there. One rejection (an honest
/// peer's bug) costs −10 and fades within seconds.
const INVALID_WEIGHT: f64 = -10.0;
const REDIAL_EVERY: Duration = Duration::from_secs(3);
const CONSENSUS_QUEUE: usize = 16_384;
/// Commands of the bulk kind (transaction batches) waiting for the network task.
const BULK_QUEUE: usize = 2_048;
/// Received transaction batches waiting for the node's intake: at most this many times
/// `MAX_BATCH_BYTES` (64 MiB) held for it, a few seconds of the target rate. Beyond it batches
/// are dropped, counted and reported `Ignore`.
const TX_BATCH_QUEUE: usize = 128;
/// The consensus topic's messages start with this many bytes of a per-publish sequence number
/// (see `publish_nonce`).
const NONCE_BYTES: usize = 8;
/// Sync requests waiting for the node's sync server; beyond this they are dropped (the peer sees
/// its request fail and asks another) rather than queueing behind consensus.
const SYNC_QUEUE: usize = 64;

#[derive(Debug, Error)]
pub enum NetworkError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: Multiaddr,
        #[source]
        source: TransportError<std::io::Error>,
    },
    #[error("network setup: {0}")]
    Setup(#[from] SetupError),
    #[error("the network task has stopped")]
    Stopped,
    #[error("request to {peer} failed: {source}")]
    Request {
        peer: PeerId,
        #[source]
        source: request_response::OutboundFailure,
    },
}

/// What libp2p refused while the swarm was being put together (a chain id that makes a bad
/// protocol name, a gossipsub configuration out of range).
#[derive(Debug, Error)]
pub enum SetupError {
    #[error("protocol name: {0}")]
    Protocol(#[from] InvalidProtocol),
    #[error("gossipsub config: {0}")]
    GossipConfig(#[from] gossipsub::ConfigBuilderError),
    /// libp2p gives these two as text only.
    #[error("gossipsub: {0}")]
    Gossip(&'static str),
    #[error("gossipsub peer scoring: {0}")]
    PeerScore(String),
    #[error("transport encryption: {0}")]
    Noise(#[from] noise::Error),
    #[error("subscribing to a topic: {0}")]
    Subscribe(#[from] gossipsub::SubscriptionError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Consensus,
    Tx,
}

pub struct NetworkConfig {
    pub chain_id: String,
    pub key: Keypair,
    pub listen: Multiaddr,
    pub bootnodes: Vec<Multiaddr>,
    /// Sent to peers in identify, e.g. `tensorchain/0.1.0`.
    pub agent: String,
    /// What the node tells peers asking for its peers, and whether it learns any (Kademlia).
    pub peer_sharing: PeerSharing,
    /// Peers whose addresses are never handed out (a sentry's validator behind it).
    pub private_peers: Vec<PeerId>,
}

#[derive(Debug)]
pub enum Event {
    Gossip {
        topic: Topic,
        id: MessageId,
        source: PeerId,
        data: Vec<u8>,
    },
    PeerUp(PeerId),
    PeerDown(PeerId),
}

/// A peer's block-sync request, for the node's sync server to answer through `respond`.
#[derive(Debug)]
pub struct InboundRequest {
    pub peer: PeerId,
    pub request: SyncRequest,
    pub channel: ResponseChannel<SyncResponse>,
}

/// What the network task emits; consensus, transactions and sync requests arrive on separate
/// queues, so neither a transaction flood nor a range-request flood delays consensus.
pub struct Events {
    /// Consensus gossip and peer changes.
    pub consensus: mpsc::Receiver<Event>,
    /// Transaction batches (`decode_batch`); dropped (counted, and reported `Ignore`) when this
    /// queue is full.
    pub tx: mpsc::Receiver<Event>,
    /// Peers' sync requests; dropped when `SYNC_QUEUE` are already waiting.
    pub sync: mpsc::Receiver<InboundRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    pub peer_id: PeerId,
    /// The address we reached it at, or the first it announced.
    pub addr: Option<Multiaddr>,
    pub agent: Option<String>,
    pub listen_addrs: Vec<Multiaddr>,
    pub outbound: bool,
}

#[derive(Default)]
struct Shared {
    listen_addrs: Vec<Multiaddr>,
    peers: BTreeMap<PeerId, PeerInfo>,
    /// The Kademlia routing table's peers, and the FIND_NODE requests answered.
    known: Vec<PeerId>,
    find_node_answers: u64,
}

enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
    },
    Report {
        id: MessageId,
        source: PeerId,
        verdict: MessageAcceptance,
    },
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, NetworkError>>,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    Ban {
        peer: PeerId,
    },
    Lookup,
}

/// The node's side of the network task. Cheap to clone.
#[derive(Clone)]
pub struct NetworkHandle {
    priority: mpsc::Sender<Command>,
    /// Encoded transactions for the batching task.
    txs: mpsc::Sender<Vec<u8>>,
    tx_counters: Arc<Counters>,
    local_peer_id: PeerId,
    shared: Arc<Mutex<Shared>>,
}

impl NetworkHandle {
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Listen addresses as the swarm reports them, each ending in `/p2p/<peer id>`.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        let shared = self.shared.lock().expect("network state");
        shared
            .listen_addrs
            .iter()
            .map(|a| a.clone().with_p2p(self.local_peer_id).unwrap_or_else(|a| a))
            .collect()
    }

    pub fn peers(&self) -> Vec<PeerInfo> {
        let shared = self.shared.lock().expect("network state");
        shared.peers.values().cloned().collect()
    }

    /// The peers in the Kademlia routing table (connected or not): what the node knows of the
    /// network, and hands to peers asking for theirs.
    pub fn known_peers(&self) -> Vec<PeerId> {
        self.shared.lock().expect("network state").known.clone()
    }

    /// FIND_NODE requests (peers asking for peers) this node has answered.
    pub fn find_node_answers(&self) -> u64 {
        self.shared.lock().expect("network state").find_node_answers
    }

    /// Looks up a random key now (a random walk), unless a few lookups are running already.
    pub fn lookup(&self) {
        let _ = self.priority.try_send(Command::Lookup);
    }

    /// Publishes a consensus message. Its queue is the large priority one; if even that is full
    /// the message is lost like any on the network, and rebroadcast timers heal it.
    pub fn publish_consensus(&self, data: Vec<u8>) -> bool {
        let sent = self
            .priority
            .try_send(Command::Publish {
                topic: Topic::Consensus,
                data,
            })
            .is_ok();
        if !sent {
            tracing::warn!("network command queue full; a consensus message was dropped");
        }
        sent
    }

    /// Queues an encoded transaction for the next batch if there is room; under a flood it is
    /// dropped and counted (peers still get it from whoever includes it in a block).
    pub fn publish_tx(&self, data: Vec<u8>) -> bool {
        let sent = self.txs.try_send(data).is_ok();
        if !sent {
            self.tx_counters.dropped_unbatched();
        }
        sent
    }

    /// Transaction gossip counters since start: batches sent, and every drop.
    pub fn tx_gossip_stats(&self) -> TxGossipStats {
        self.tx_counters.snapshot()
    }

    /// The application's verdict on a gossip message: only accepted messages propagate.
    pub fn report(&self, id: MessageId, source: PeerId, verdict: MessageAcceptance) {
        let _ = self.priority.try_send(Command::Report {
            id,
            source,
            verdict,
        });
    }

    pub async fn request(
        &self,
        peer: PeerId,
        request: SyncRequest,
    ) -> Result<SyncResponse, NetworkError> {
        let (reply, rx) = oneshot::channel();
        self.priority
            .send(Command::Request {
                peer,
                request,
                reply,
            })
            .await
            .map_err(|_| NetworkError::Stopped)?;
        rx.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Disconnects `peer` and refuses it for `BAN_FOR`: it lied to this node.
    pub fn ban(&self, peer: PeerId) {
        let _ = self.priority.try_send(Command::Ban { peer });
    }

    pub fn respond(&self, channel: ResponseChannel<SyncResponse>, response: SyncResponse) {
        let _ = self
            .priority
            .try_send(Command::Respond { channel, response });
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: libp2p::connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
    discovery: Discovery,
}

fn behaviour(
    key: &Keypair,
    chain_id: &str,
    agent: &str,
    discovery: Discovery,
) -> Result<Behaviour, NetworkError> {
    let [_, tx_topic] = topics(chain_id);
    // Anonymous: gossipsub neither signs nor checks an author (see docs/network.md). Every
    // payload carries its own signatures, which the node checks; the peer blamed for a message
    // is the one that relayed it, never an author it claims.
    let gossip_config = gossipsub::ConfigBuilder::default()
        .validate_messages()
        .validation_mode(ValidationMode::Anonymous)
        .message_id_fn(content_id)
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .max_transmit_size_for_topic(txgossip::MAX_BATCH_BYTES, tx_topic.hash())
        .heartbeat_interval(Duration::from_millis(500))
        .mesh_n(4)
        .mesh_n_low(2)
        .mesh_n_high(8)
        .mesh_outbound_min(1)
        .build()
        .map_err(SetupError::from)?;
    let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)
        .map_err(SetupError::Gossip)?;
    let (params, thresholds) = peer_scoring(&topics(chain_id));
    gossipsub
        .with_peer_score(params, thresholds)
        .map_err(SetupError::PeerScore)?;
    let limits = libp2p::connection_limits::Behaviour::new(
        libp2p::connection_limits::ConnectionLimits::default()
            .with_max_established_incoming(Some(MAX_INCOMING))
            .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
            .with_max_established_outgoing(Some(MAX_OUTGOING))
            .with_max_pending_outgoing(Some(MAX_PENDING_OUTGOING))
            .with_max_established_per_peer(Some(MAX_PER_PEER)),
    );
    let identify = identify::Behaviour::new(
        identify::Config::new(format!("/{chain_id}/id/1"), key.public())
            .with_agent_version(agent.to_string())
            // Dials by peer id get their addresses from discovery alone, which filters them.
            .with_cache_size(0),
    );
    let protocol =
        StreamProtocol::try_from_owned(format!("/{chain_id}/sync/1")).map_err(SetupError::from)?;
    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(protocol, ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(20)),
    );
    Ok(Behaviour {
        limits,
        gossipsub,
        identify,
        ping: ping::Behaviour::default(),
        sync,
        discovery,
    })
}

/// The chain's two gossip topics: consensus first, transaction batches second. (Version 2:
/// anonymous messages, consensus with a publish nonce, transactions in batches.)
fn topics(chain_id: &str) -> [IdentTopic; 2] {
    [
        IdentTopic::new(format!("/{chain_id}/consensus/2")),
        IdentTopic::new(format!("/{chain_id}/tx/2")),
    ]
}

/// A message's id is the hash of its topic and bytes: the same batch relayed by several peers is
/// one message, whoever sent it.
fn content_id(message: &gossipsub::Message) -> MessageId {
    let mut h = blake3::Hasher::new();
    h.update(message.topic.as_str().as_bytes());
    h.update(&message.data);
    MessageId::new(&h.finalize().as_bytes()[..20])
}

/// The first sequence number of a consensus publish nonce: the clock, so that a restarted node
/// does not reuse the ids its peers still remember (gossipsub drops a known id as a duplicate).
fn first_nonce() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Peer scoring: only what a peer can be blamed for counts. Messages the node rejects are
/// penalised hard; quiet topics are not (a devnet's tx topic is often silent, so mesh delivery
/// quotas would punish honest peers), and neither is sharing an IP (devnets and one-host
/// testnets run every node on one address).
fn peer_scoring(
    topics: &[IdentTopic; 2],
) -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let topic = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        // The default rewards every millisecond in the mesh (up to +3600): a peer could bank
        // that credit and then send junk for a long time without being graylisted.
        time_in_mesh_weight: 0.0,
        // Credit for delivering valid messages first, capped at +200: even the best-behaved
        // peer is graylisted after six rejected messages in a row.
        first_message_deliveries_cap: 200.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: INVALID_WEIGHT,
        invalid_message_deliveries_decay: 0.9,
        ..Default::default()
    };
    let params = gossipsub::PeerScoreParams {
        topics: topics.iter().map(|t| (t.hash(), topic.clone())).collect(),
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    (params, gossipsub::PeerScoreThresholds::default())
}

/// Starts the network task. Returns once the swarm listens, so the caller can print its address.
pub async fn start(
    config: NetworkConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(NetworkHandle, Events, JoinHandle<()>), NetworkError> {
    let discovery = Discovery::new(
        config.key.public().to_peer_id(),
        &config.chain_id,
        config.peer_sharing,
        &config.listen,
        &config.bootnodes,
        config.private_peers.iter().copied().collect(),
    )
    .map_err(SetupError::from)?;
    let behaviour = behaviour(&config.key, &config.chain_id, &config.agent, discovery)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.key.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(SetupError::from)?
        .with_behaviour(|_| behaviour)
        .unwrap_or_else(|never| match never {})
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    let topics = topics(&config.chain_id);
    for t in &topics {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(t)
            .map_err(SetupError::from)?;
    }
    swarm
        .listen_on(config.listen.clone())
        .map_err(|source| NetworkError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let shared = Arc::new(Mutex::new(Shared::default()));
    // The listener is only real once the swarm reports it.
    loop {
        match swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { address, .. } => {
                shared
                    .lock()
                    .expect("network state")
                    .listen_addrs
                    .push(address);
                break;
            }
            SwarmEvent::ListenerError { error, .. }
            | SwarmEvent::ListenerClosed {
                reason: Err(error), ..
            } => {
                return Err(NetworkError::Listen {
                    addr: config.listen,
                    source: TransportError::Other(error),
                })
            }
            _ => {}
        }
    }
    let local_peer_id = *swarm.local_peer_id();
    let (priority_tx, priority_rx) = mpsc::channel(CONSENSUS_QUEUE);
    let (bulk_tx, bulk_rx) = mpsc::channel(BULK_QUEUE);
    let (consensus_tx, consensus_rx) = mpsc::channel(CONSENSUS_QUEUE);
    let (tx_tx, tx_rx) = mpsc::channel(TX_BATCH_QUEUE);
    let (batch_in, batch_rx) = mpsc::channel(txgossip::PUBLISH_QUEUE);
    let tx_counters = Arc::new(Counters::default());
    let (sync_tx, sync_rx) = mpsc::channel(SYNC_QUEUE);
    let mut task = SwarmTask {
        swarm,
        topics,
        shared: shared.clone(),
        bootnodes: config.bootnodes,
        consensus_out: consensus_tx,
        tx_out: tx_tx,
        tx_counters: tx_counters.clone(),
        consensus_nonce: first_nonce(),
        sync_out: sync_tx,
        pending: HashMap::new(),
        incoming_per_ip: HashMap::new(),
        incoming: HashMap::new(),
    };
    for addr in task.bootnodes.clone() {
        task.dial(addr);
    }
    let publish_batch = move |data| {
        bulk_tx
            .try_send(Command::Publish {
                topic: Topic::Tx,
                data,
            })
            .is_ok()
    };
    let batcher = txgossip::run_batcher(
        batch_rx,
        publish_batch,
        tx_counters.clone(),
        shutdown.clone(),
    );
    let handle = tokio::spawn(async move {
        let mut priority_rx = priority_rx;
        let mut bulk_rx = bulk_rx;
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        tokio::pin!(batcher);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|s| *s) => return,
                Some(cmd) = priority_rx.recv() => task.command(cmd),
                event = task.swarm.select_next_some() => task.swarm_event(event),
                Some(cmd) = bulk_rx.recv() => task.command(cmd),
                _ = redial.tick() => task.redial(),
                // The batcher runs inside the network task: it ends only at shutdown.
                () = &mut batcher => return,
            }
        }
    });
    Ok((
        NetworkHandle {
            priority: priority_tx,
            txs: batch_in,
            tx_counters,
            local_peer_id,
            shared,
        },
        Events {
            consensus: consensus_rx,
            tx: tx_rx,
            sync: sync_rx,
        },
        handle,
    ))
}

struct SwarmTask {
    swarm: Swarm<Behaviour>,
    topics: [IdentTopic; 2],
    shared: Arc<Mutex<Shared>>,
    bootnodes: Vec<Multiaddr>,
    consensus_out: mpsc::Sender<Event>,
    tx_out: mpsc::Sender<Event>,
    tx_counters: Arc<Counters>,
    /// The next consensus publish nonce.
    consensus_nonce: u64,
    sync_out: mpsc::Sender<InboundRequest>,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<SyncResponse, NetworkError>>>,
    /// Open incoming connections per remote IP, and the IP of each (at most `MAX_INCOMING`
    /// plus the few being closed).
    incoming_per_ip: HashMap<std::net::IpAddr, usize>,
    incoming: HashMap<libp2p::swarm::ConnectionId, std::net::IpAddr>,
}

impl SwarmTask {
    fn command(&mut self, cmd: Command) {
        let connected = self.swarm.connected_peers().count();
        let b = self.swarm.behaviour_mut();
        match cmd {
            Command::Publish { topic, mut data } => {
                let t = self.topics[topic as usize].clone();
                if topic == Topic::Consensus {
                    data = publish_nonce(&mut self.consensus_nonce, data);
                }
                // Before subscriptions arrive there is nobody to send to; consensus rebroadcasts
                // and transaction inclusion heal that, so the error is only logged.
                if let Err(e) = b.gossipsub.publish(t, data) {
                    tracing::debug!(error = %e, ?topic, "gossip publish");
                }
            }
            Command::Report {
                id,
                source,
                verdict,
            } => {
                b.gossipsub
                    .report_message_validation_result(&id, &source, verdict);
            }
            Command::Request {
                peer,
                request,
                reply,
            } => {
                let id = b.sync.send_request(&peer, request);
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, response } => {
                let _ = b.sync.send_response(channel, response);
            }
            Command::Ban { peer } => self.ban(peer),
            Command::Lookup => {
                b.discovery.lookup(connected);
            }
        }
    }

    /// Bans `peer` (discovery keeps the list and refuses its connections) and disconnects it.
    fn ban(&mut self, peer: PeerId) {
        self.swarm.behaviour_mut().discovery.ban(peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn is_banned(&self, peer: &PeerId) -> bool {
        self.swarm.behaviour().discovery.is_banned(peer)
    }

    fn dial(&mut self, addr: Multiaddr) {
        if let Some(peer) = peer_id_of(&addr) {
            if peer == *self.swarm.local_peer_id()
                || self.swarm.is_connected(&peer)
                || self.is_banned(&peer)
            {
                return;
            }
        }
        if let Err(e) = self.swarm.dial(addr.clone()) {
            tracing::debug!(%addr, error = %e, "dial");
        }
    }

    /// Bootnodes, and peers in the routing table, are redialed for as long as the node runs, so
    /// a restarted peer is found again and losing the bootnode does not isolate a node.
    fn redial(&mut self) {
        for addr in self.bootnodes.clone() {
            self.dial(addr);
        }
        let connected = self.swarm.connected_peers().count();
        for peer in self.swarm.behaviour_mut().discovery.redial(connected) {
            if self.is_banned(&peer) {
                continue;
            }
            let opts = DialOpts::peer_id(peer)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(%peer, error = %e, "dial");
            }
        }
    }

    /// Copies the routing table's peers where the handle reads them.
    fn discovery_updated(&mut self) {
        let discovery = &mut self.swarm.behaviour_mut().discovery;
        let (known, answers) = (discovery.known_peers(), discovery.answered());
        let mut s = self.shared.lock().expect("network state");
        s.known = known;
        s.find_node_answers = answers;
    }

    fn emit(&mut self, event: Event) {
        match event {
            Event::Gossip {
                topic: Topic::Tx,
                id,
                source,
                data,
            } => {
                if let Err(mpsc::error::TrySendError::Full(Event::Gossip { id, source, .. })) =
                    self.tx_out.try_send(Event::Gossip {
                        topic: Topic::Tx,
                        id,
                        source,
                        data,
                    })
                {
                    self.tx_counters.dropped_inbound();
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(&id, &source, MessageAcceptance::Ignore);
                }
            }
            other => {
                if self.consensus_out.try_send(other).is_err() {
                    tracing::warn!("consensus event queue full; the node is falling behind");
                }
            }
        }
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        if !self.admit_per_ip(&event) {
            return;
        }
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let mut s = self.shared.lock().expect("network state");
                if !s.listen_addrs.contains(&address) {
                    s.listen_addrs.push(address);
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } if num_established.get() == 1 => {
                let addr = endpoint.get_remote_address().clone();
                let outbound = endpoint.is_dialer();
                self.shared.lock().expect("network state").peers.insert(
                    peer_id,
                    PeerInfo {
                        peer_id,
                        addr: outbound.then_some(addr),
                        outbound,
                        agent: None,
                        listen_addrs: vec![],
                    },
                );
                tracing::info!(peer = %peer_id, "peer connected");
                self.emit(Event::PeerUp(peer_id));
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.shared
                    .lock()
                    .expect("network state")
                    .peers
                    .remove(&peer_id);
                tracing::info!(peer = %peer_id, "peer disconnected");
                self.emit(Event::PeerDown(peer_id));
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let mut data = message.data;
                let topic = if message.topic == self.topics[0].hash() && data.len() >= NONCE_BYTES {
                    data.drain(..NONCE_BYTES);
                    Topic::Consensus
                } else if message.topic == self.topics[1].hash() {
                    Topic::Tx
                } else {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Reject,
                        );
                    return;
                };
                self.emit(Event::Gossip {
                    topic,
                    id: message_id,
                    source: propagation_source,
                    data,
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                connection_id,
                peer_id,
                info,
            })) => {
                self.swarm.behaviour_mut().discovery.identified(
                    peer_id,
                    connection_id,
                    &info.listen_addrs,
                    &info.protocols,
                );
                let mut s = self.shared.lock().expect("network state");
                if let Some(p) = s.peers.get_mut(&peer_id) {
                    p.agent = Some(info.agent_version);
                    if p.addr.is_none() {
                        p.addr = info.listen_addrs.first().cloned();
                    }
                    p.listen_addrs = info.listen_addrs;
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.sync_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Discovery(DiscoveryUpdate)) => {
                self.discovery_updated()
            }
            _ => {}
        }
    }

    fn sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        use request_response::{Event as E, Message as M};
        match event {
            E::Message {
                peer,
                message: M::Request {
                    request, channel, ..
                },
                ..
            } => {
                let busy = self
                    .sync_out
                    .try_send(InboundRequest {
                        peer,
                        request,
                        channel,
                    })
                    .is_err();
                if busy {
                    tracing::debug!(%peer, "sync server busy; request dropped");
                }
            }
            E::Message {
                message:
                    M::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            E::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(NetworkError::Request {
                        peer,
                        source: error,
                    }));
                }
            }
            _ => {}
        }
    }

    /// Counts incoming connections per remote IP and closes those past `MAX_INCOMING_PER_IP`;
    /// false for a connection so closed (the node never treats it as a peer).
    fn admit_per_ip(&mut self, event: &SwarmEvent<BehaviourEvent>) -> bool {
        use libp2p::core::ConnectedPoint;
        match event {
            SwarmEvent::ConnectionEstablished {
                connection_id,
                endpoint: ConnectedPoint::Listener { send_back_addr, .. },
                ..
            } => {
                let Some(ip) = ip_of(send_back_addr) else {
                    return true;
                };
                let n = self.incoming_per_ip.entry(ip).or_default();
                *n += 1;
                self.incoming.insert(*connection_id, ip);
                if *n > MAX_INCOMING_PER_IP {
                    tracing::debug!(%ip, "too many connections from one address; closing");
                    self.swarm.close_connection(*connection_id);
                    return false;
                }
                true
            }
            SwarmEvent::ConnectionClosed { connection_id, .. } => {
                if let Some(ip) = self.incoming.remove(connection_id) {
                    if let Some(n) = self.incoming_per_ip.get_mut(&ip) {
                        *n -= 1;
                        if *n == 0 {
                            self.incoming_per_ip.remove(&ip);
                        }
                    }
                }
                true
            }
            _ => true,
        }
    }
}

/// Prefixes a consensus message with a new sequence number. Ids are content hashes, so without
/// it a rebroadcast (the consensus core re-sends its messages every few hundred ms until the
/// height is decided) would be a duplicate gossipsub refuses to send, and a peer that missed the
/// first copy would never get one. The node ignores copies it has seen by their content after
/// the prefix.
fn publish_nonce(nonce: &mut u64, data: Vec<u8>) -> Vec<u8> {
    *nonce = nonce.wrapping_add(1);
    let mut out = Vec::with_capacity(NONCE_BYTES + data.len());
    out.extend_from_slice(&nonce.to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// Who a connection's address belongs to, for per-address limits: an IPv4 address (IPv4-mapped
/// IPv6 included), or an IPv6 /64, which one host or customer usually holds whole.
fn ip_of(addr: &Multiaddr) -> Option<std::net::IpAddr> {
    let ip: std::net::IpAddr = match addr.iter().next()? {
        libp2p::multiaddr::Protocol::Ip4(ip) => ip.into(),
        libp2p::multiaddr::Protocol::Ip6(ip) => ip.into(),
        _ => return None,
    };
    Some(match ip.to_canonical() {
        std::net::IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            std::net::IpAddr::V6(prefix.into())
        }
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_slash_64_is_one_address_and_mapped_ipv4_is_ipv4() {
        let key = |s: &str| ip_of(&s.parse().unwrap()).unwrap().to_string();
        assert_eq!(
            key("/ip6/2001:db8::1/tcp/1"),
            key("/ip6/2001:db8::ffff:2/tcp/1")
        );
        assert_ne!(
            key("/ip6/2001:db8::1/tcp/1"),
            key("/ip6/2001:db8:0:1::1/tcp/1")
        );
        assert_eq!(key("/ip6/::ffff:192.0.2.7/tcp/1"), "192.0.2.7");
        assert_eq!(key("/ip4/192.0.2.7/tcp/1"), "192.0.2.7");
    }
}
