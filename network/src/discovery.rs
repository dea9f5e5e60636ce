//! Peer discovery with Kademlia (libp2p-kad on `/<chain-id>/kad/1`): a node that knows one
//! bootnode finds the rest of the network by asking its peers for the peers closest to its own
//! id and to random keys (a bootstrap, or random walk), and dials what it learns.
//!
//! `Discovery` wraps `kad::Behaviour` to put the node's policy on everything Kademlia learns,
//! hands out and dials (docs/security.md lists which bound stops which flood):
//! - the routing table, which is also what the node answers FIND_NODE with, takes only peers
//!   that speak this chain's kad protocol (identify says so, or we dialed them and they
//!   answered on it), never a private or banned peer, at most `MAX_ADDRS_PER_PEER` addresses
//!   each, only addresses a peer can use (`usable`) and, from identify, only at the IP the
//!   connection comes from; k-buckets of `kad::K_VALUE` (20) bound its size, one public network
//!   takes at most `MAX_PER_NET_PER_BUCKET` places a bucket and `MAX_PER_NET` in all, and a full
//!   bucket takes no newcomer (not even as kad's pending entry);
//! - a dial Kademlia asks for gets at most `MAX_DIAL_ADDRS` usable addresses, at most
//!   `MAX_PENDING_DIALS` discovery dials are under way at once, and none is made while the
//!   node has `MAX_PEERS` connected peers (bootnodes and private peers, which the operator
//!   configured, are exempt);
//! - no connection to or from a banned peer is accepted (`BAN_FOR`);
//! - a bootstrap runs when the table gains a peer (kad's own, throttled, one at a time) and
//!   every `WALK_EVERY` unless queries run (at most `MAX_QUERIES`); peers in the table are redialed, and lookups run, only while the node
//!   has fewer than `MAX_PEERS` connections (the swarm's outgoing cap, service.rs, holds
//!   whatever lookups under way still dial), and a peer whose dial fails is dropped from the
//!   table;
//! - records (PUT_VALUE, ADD_PROVIDER) are never stored: the chain uses the DHT for peers only.

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::kad::{self, store::MemoryStore, BucketInserts, Mode, StoreInserts};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::InvalidProtocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, DialError, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Addresses kept per peer in the routing table (and so handed to others for it).
const MAX_ADDRS_PER_PEER: usize = 4;
/// How long a peer the node caught lying (a sync tip it could not back, a block that failed
/// verification) is refused, connections either way and a place in the table, and how many
/// such peers are remembered.
const BAN_FOR: Duration = Duration::from_secs(600);
const MAX_BANNED: usize = 1024;
/// Routing-table peers on one public network (an IPv4 /24, an IPv6 /64), per k-bucket and in
/// all: one host posing as many peers cannot fill the table and so eclipse the node (as in
/// Ethereum's discv4/5). Loopback and private networks are exempt (a devnet on one host, a
/// LAN testnet): a peer enters the table only at an address it was seen at, there.
const MAX_PER_NET_PER_BUCKET: usize = 2;
const MAX_PER_NET: usize = 10;
/// Addresses tried per discovery dial: an answer may list a peer with hundreds.
const MAX_DIAL_ADDRS: usize = 4;
/// Discovery dials under way at once; each holds a slot for at most the transport's 10 s
/// connection timeout, so a table full of black holes delays discovery, never blocks it.
const MAX_PENDING_DIALS: usize = 8;
/// Peers from the routing table are dialed while the node has fewer connections than this.
const MAX_PEERS: usize = 50;
/// Routing-table peers dialed per redial round.
const REDIALS_PER_ROUND: usize = 8;
/// A bootstrap (a lookup of our own id, then of a random key per bucket) this often, on top
/// of kad's own when the table gains a peer.
const WALK_EVERY: Duration = Duration::from_secs(60);
/// A lookup that has not converged by then ends with what it found.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);
/// Kad queries (lookups, bootstraps) running at once: `lookup` starts none beyond, and the
/// periodic walk waits for the ones running (they refresh the table as well).
const MAX_QUERIES: usize = 4;
/// `PeerSharing::MadeUp`: made-up peers in the table, and addresses each. An answer carries the
/// 20 closest with all their addresses, about 13 KiB, under kad's 16 KiB message limit.
const MADE_UP_PEERS: usize = 1_000;
const MADE_UP_ADDRS: usize = 12;

/// What a node tells peers asking for its peers (FIND_NODE), and what it learns from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerSharing {
    /// Kademlia server: the node answers with the peers in its routing table, except the
    /// private ones, and finds more by asking its peers.
    #[default]
    Share,
    /// Nothing either way (Kademlia client mode with an empty table): a validator behind
    /// sentries keeps its peers' addresses (and so its place in the network) to itself, and
    /// dials only its bootnodes, so the peers its sentry knows never see it.
    Off,
    /// Answers with made-up peers (loopback addresses on ports below 1024 where nothing
    /// listens), as many as an answer can carry: what `tensorchain chaos peer-flood` runs, to
    /// check that a network bounds what it takes from such answers.
    MadeUp,
}

/// The routing table changed, or a FIND_NODE was answered: what the handle shows is stale.
#[derive(Debug)]
pub struct DiscoveryUpdate;

#[derive(Debug, thiserror::Error)]
#[error("{MAX_PENDING_DIALS} discovery dials are already under way")]
struct TooManyDials;

#[derive(Debug, thiserror::Error)]
#[error("already connected to {MAX_PEERS} peers")]
struct EnoughPeers;

#[derive(Debug, thiserror::Error)]
#[error("peer is banned")]
struct Banned;

pub(crate) struct Discovery {
    kad: kad::Behaviour<MemoryStore>,
    protocol: StreamProtocol,
    sharing: PeerSharing,
    /// Never in the routing table, so never handed out.
    private: HashSet<PeerId>,
    /// Bootnodes and private peers: the operator's choice, dialed whatever discovery's limits.
    configured: HashSet<PeerId>,
    /// Whether loopback addresses are usable: only when the node itself listens on loopback.
    loopback_ok: bool,
    /// Discovery's dials under way (at most `MAX_PENDING_DIALS`).
    dialing: HashSet<ConnectionId>,
    /// Peers connected: discovery dials none past `MAX_PEERS`.
    connected: usize,
    /// The remote IP of each open connection, which a peer's identify must match.
    remotes: HashMap<ConnectionId, IpAddr>,
    /// Peers caught lying, until when (at most `MAX_BANNED`).
    banned: HashMap<PeerId, Instant>,
    next_walk: Instant,
    answered: u64,
    /// A peer left the table (kad reports only arrivals): a `DiscoveryUpdate` is due.
    stale: bool,
}

impl Discovery {
    pub(crate) fn new(
        local: PeerId,
        chain_id: &str,
        sharing: PeerSharing,
        listen: &Multiaddr,
        bootnodes: &[Multiaddr],
        private: HashSet<PeerId>,
    ) -> Result<Self, InvalidProtocol> {
        let protocol = StreamProtocol::try_from_owned(format!("/{chain_id}/kad/1"))?;
        let mut config = kad::Config::new(protocol.clone());
        config
            .set_kbucket_inserts(BucketInserts::Manual)
            .set_record_filtering(StoreInserts::FilterBoth)
            .set_replication_interval(None)
            .set_publication_interval(None)
            .set_provider_publication_interval(None)
            .set_periodic_bootstrap_interval(None)
            .set_query_timeout(QUERY_TIMEOUT);
        let mut kad = kad::Behaviour::with_config(local, MemoryStore::new(local), config);
        // Kademlia would stay a client until an external address is confirmed, which a node
        // behind no NAT service never gets.
        kad.set_mode(Some(match sharing {
            PeerSharing::Off => Mode::Client,
            PeerSharing::Share | PeerSharing::MadeUp => Mode::Server,
        }));
        // Our own listen address alone decides: a bootnode on loopback says nothing about the
        // peers an answer lists (a sentry on 0.0.0.0 with a local bootnode would otherwise dial
        // whatever 127.0.0.1 port an answer names, its own ssh included).
        let loopback_ok = host_ip(listen).is_some_and(|ip| ip.to_canonical().is_loopback());
        let mut configured: HashSet<PeerId> =
            bootnodes.iter().filter_map(crate::peer_id_of).collect();
        configured.extend(private.iter().copied());
        let mut discovery = Discovery {
            kad,
            protocol,
            sharing,
            private,
            configured,
            loopback_ok,
            dialing: HashSet::new(),
            connected: 0,
            remotes: HashMap::new(),
            banned: HashMap::new(),
            next_walk: Instant::now() + WALK_EVERY,
            answered: 0,
            stale: false,
        };
        if sharing != PeerSharing::Off {
            for addr in bootnodes {
                if let Some(peer) = crate::peer_id_of(addr) {
                    discovery.learn(peer, std::slice::from_ref(addr));
                }
            }
        }
        if sharing == PeerSharing::MadeUp {
            discovery.make_up_peers();
        }
        Ok(discovery)
    }

    /// Adds `peer`'s usable addresses to the routing table, up to `MAX_ADDRS_PER_PEER`.
    fn learn(&mut self, peer: PeerId, addrs: &[Multiaddr]) {
        if self.sharing == PeerSharing::Off || self.private.contains(&peer) || self.is_banned(&peer)
        {
            return;
        }
        let mut known = self.addresses(&peer);
        if known.is_empty() && !self.room_for(&peer, addrs) {
            return;
        }
        for addr in addrs {
            if known.len() >= MAX_ADDRS_PER_PEER {
                return;
            }
            let Ok(addr) = addr.clone().with_p2p(peer) else {
                continue;
            };
            if usable(&addr, self.loopback_ok) && !known.contains(&addr) {
                self.kad.add_address(&peer, addr.clone());
                known.push(addr);
            }
        }
    }

    /// Whether `peer`, not in the table, may enter it with `addrs`: its bucket has a free
    /// place and no pending entry (kad would make it the bucket's pending entry, whose
    /// addresses it appends without limit and `addresses` cannot see; a dead entry makes room
    /// when its redial fails), and its host's network (of the first usable address) has fewer
    /// than `MAX_PER_NET_PER_BUCKET` peers in its bucket and `MAX_PER_NET` in the table
    /// (configured peers are exempt from that).
    fn room_for(&mut self, peer: &PeerId, addrs: &[Multiaddr]) -> bool {
        let Some(bucket) = self.kad.kbucket(*peer) else {
            return false;
        };
        if bucket.num_entries() >= kad::K_VALUE.get() || bucket.has_pending() {
            return false;
        }
        if self.configured.contains(peer) {
            return true;
        }
        let Some(net) = addrs
            .iter()
            .filter(|a| usable(a, self.loopback_ok))
            .find_map(public_network)
        else {
            return true;
        };
        let on_net = |addrs: &kad::Addresses| addrs.iter().any(|a| public_network(a) == Some(net));
        let Some(bucket) = self.kad.kbucket(*peer) else {
            return false;
        };
        if bucket.iter().filter(|e| on_net(e.node.value)).count() >= MAX_PER_NET_PER_BUCKET {
            return false;
        }
        let in_table: usize = self
            .kad
            .kbuckets()
            .map(|b| b.iter().filter(|e| on_net(e.node.value)).count())
            .sum();
        in_table < MAX_PER_NET
    }

    /// `peer`'s addresses in the routing table.
    fn addresses(&mut self, peer: &PeerId) -> Vec<Multiaddr> {
        let key = kad::KBucketKey::from(*peer);
        self.kad
            .kbucket(*peer)
            .and_then(|b| {
                b.iter()
                    .find(|e| *e.node.key == key)
                    .map(|e| e.node.value.iter().cloned().collect())
            })
            .unwrap_or_default()
    }

    fn make_up_peers(&mut self) {
        for i in 0..MADE_UP_PEERS {
            let peer = PeerId::random();
            for j in 0..MADE_UP_ADDRS {
                let port = 9 + ((i * MADE_UP_ADDRS + j) % 1000) as u16;
                let addr = Multiaddr::empty()
                    .with(Protocol::Ip4(std::net::Ipv4Addr::LOCALHOST))
                    .with(Protocol::Tcp(port));
                self.kad.add_address(&peer, addr);
            }
        }
    }

    /// A peer's identify on `connection`: its listen addresses at the IP that connection comes
    /// from enter the table if it speaks our kad protocol (a peer that dialed us is known by
    /// nothing else, since the port it dialed from is not one it listens on). Addresses at
    /// other IPs are ignored: a peer could list a third party's, which we would then hand out
    /// (a reflector) or fill the table with (an eclipse). A peer that does not speak our kad
    /// (a bootnode in client mode) leaves the table, so it is not handed out.
    pub(crate) fn identified(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        listen_addrs: &[Multiaddr],
        protocols: &[StreamProtocol],
    ) {
        if protocols.contains(&self.protocol) {
            let Some(seen) = self.remotes.get(&connection).copied() else {
                return;
            };
            let at_seen: Vec<Multiaddr> = listen_addrs
                .iter()
                .filter(|a| host_ip(a).map(|ip| ip.to_canonical()) == Some(seen))
                .cloned()
                .collect();
            self.learn(peer, &at_seen);
        } else if self.kad.remove_peer(&peer).is_some() {
            self.stale = true;
        }
    }

    /// Bans `peer` (it lied to us) for `BAN_FOR`: it leaves the table, does not come back
    /// through anyone's answer, and no connection to or from it is accepted meanwhile.
    pub(crate) fn ban(&mut self, peer: PeerId) {
        let now = Instant::now();
        self.banned.retain(|_, until| *until > now);
        // A full list makes room by forgetting the ban that ends first; the liar at hand is
        // banned either way.
        if self.banned.len() >= MAX_BANNED {
            if let Some(first) = self.banned.iter().min_by_key(|(_, u)| **u).map(|(p, _)| *p) {
                self.banned.remove(&first);
            }
        }
        self.banned.insert(peer, now + BAN_FOR);
        if self.kad.remove_peer(&peer).is_some() {
            self.stale = true;
        }
    }

    pub(crate) fn is_banned(&self, peer: &PeerId) -> bool {
        self.banned
            .get(peer)
            .is_some_and(|until| *until > Instant::now())
    }

    /// Refuses a connection with a banned peer.
    fn refuse_banned(&self, peer: &PeerId) -> Result<(), ConnectionDenied> {
        if self.is_banned(peer) {
            return Err(ConnectionDenied::new(Banned));
        }
        Ok(())
    }

    /// The peers in the routing table.
    pub(crate) fn known_peers(&mut self) -> Vec<PeerId> {
        self.kad
            .kbuckets()
            .flat_map(|b| b.iter().map(|e| *e.node.key.preimage()).collect::<Vec<_>>())
            .collect()
    }

    /// FIND_NODE requests answered so far.
    pub(crate) fn answered(&self) -> u64 {
        self.answered
    }

    /// Kad queries running.
    fn queries(&self) -> usize {
        self.kad.iter_queries().count()
    }

    /// Starts a lookup of a random key (what a random walk does), unless `MAX_QUERIES` run or
    /// the node already has `MAX_PEERS` connections (`connected`): every peer a lookup asks is a
    /// connection, so a peer answering with fresh ids would otherwise have us connect to all.
    pub(crate) fn lookup(&mut self, connected: usize) -> bool {
        if self.sharing == PeerSharing::Off
            || self.queries() >= MAX_QUERIES
            || connected >= MAX_PEERS
        {
            return false;
        }
        self.kad.get_closest_peers(PeerId::random());
        true
    }

    /// Called every redial round: starts the periodic walk when due, and returns the
    /// disconnected routing-table peers to dial (none once the node has `MAX_PEERS`
    /// connections, when lookups stop too; bootnodes are the caller's).
    pub(crate) fn redial(&mut self, connected: usize) -> Vec<PeerId> {
        if self.sharing == PeerSharing::Off {
            return vec![];
        }
        if connected >= MAX_PEERS {
            // Enough peers: lookups under way (ours, and kad's own bootstraps, which we cannot
            // hold back) end with what they found rather than dial on.
            for mut query in self.kad.iter_queries_mut() {
                query.finish();
            }
            return vec![];
        }
        let now = Instant::now();
        if now >= self.next_walk && self.queries() == 0 {
            self.next_walk = now + WALK_EVERY;
            // An empty table has nobody to ask; the next peer to arrive starts a bootstrap.
            let _ = self.kad.bootstrap();
        }
        if self.sharing == PeerSharing::MadeUp {
            return vec![];
        }
        let room = MAX_PEERS.saturating_sub(connected).min(REDIALS_PER_ROUND);
        let mut peers = Vec::with_capacity(room);
        for bucket in self.kad.kbuckets() {
            for entry in bucket.iter() {
                let peer = *entry.node.key.preimage();
                if peers.len() < room
                    && entry.status == kad::NodeStatus::Disconnected
                    && !self.configured.contains(&peer)
                {
                    peers.push(peer);
                }
            }
        }
        peers
    }

    fn dial_failed(&mut self, peer: PeerId, error: &DialError) {
        // Refused by our own limits, or already connected: nothing wrong with the peer. (A
        // made-up table keeps its peers, which never answer.)
        if self.sharing == PeerSharing::MadeUp
            || matches!(
                error,
                DialError::Denied { .. }
                    | DialError::DialPeerConditionFalse(_)
                    | DialError::Aborted
            )
            || self.configured.contains(&peer)
        {
            return;
        }
        if self.kad.remove_peer(&peer).is_some() {
            tracing::debug!(%peer, %error, "unreachable; dropped from the routing table");
            self.stale = true;
        }
    }

    fn kad_event(&mut self, event: kad::Event) -> Option<DiscoveryUpdate> {
        match event {
            // We dialed it and it answered on our kad protocol.
            kad::Event::RoutablePeer { peer, address } => {
                self.learn(peer, &[address]);
                None
            }
            kad::Event::RoutingUpdated { .. } => Some(DiscoveryUpdate),
            kad::Event::InboundRequest {
                request: kad::InboundRequest::FindNode { .. },
            } => {
                self.answered += 1;
                Some(DiscoveryUpdate)
            }
            _ => None,
        }
    }
}

impl NetworkBehaviour for Discovery {
    type ConnectionHandler = <kad::Behaviour<MemoryStore> as NetworkBehaviour>::ConnectionHandler;
    type ToSwarm = DiscoveryUpdate;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.kad
            .handle_pending_inbound_connection(id, local, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.refuse_banned(&peer)?;
        self.kad
            .handle_established_inbound_connection(id, peer, local, remote)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        if let Some(peer) = &peer {
            self.refuse_banned(peer)?;
        }
        let mut addrs = self
            .kad
            .handle_pending_outbound_connection(id, peer, addresses, role)?;
        addrs.retain(|a| usable(a, self.loopback_ok));
        addrs.dedup();
        addrs.truncate(MAX_DIAL_ADDRS);
        if peer.is_some_and(|p| !self.configured.contains(&p)) {
            // What lookups under way still ask for once the node has its peers.
            if self.connected >= MAX_PEERS {
                return Err(ConnectionDenied::new(EnoughPeers));
            }
            if self.dialing.len() >= MAX_PENDING_DIALS {
                return Err(ConnectionDenied::new(TooManyDials));
            }
            self.dialing.insert(id);
        }
        Ok(addrs)
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        // A dial by address alone learns who answered only now.
        self.refuse_banned(&peer)?;
        self.kad
            .handle_established_outbound_connection(id, peer, addr, role, port_use)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match &event {
            FromSwarm::ConnectionEstablished(e) => {
                self.dialing.remove(&e.connection_id);
                if e.other_established == 0 {
                    self.connected += 1;
                }
                if let Some(ip) = host_ip(e.endpoint.get_remote_address()) {
                    self.remotes.insert(e.connection_id, ip.to_canonical());
                }
            }
            FromSwarm::ConnectionClosed(e) => {
                self.remotes.remove(&e.connection_id);
                if e.remaining_established == 0 {
                    self.connected = self.connected.saturating_sub(1);
                }
            }
            FromSwarm::DialFailure(e) => {
                self.dialing.remove(&e.connection_id);
                if let Some(peer) = e.peer_id {
                    self.dial_failed(peer, e.error);
                }
            }
            // Kademlia bootstraps on a new listen address while it has no peers; with an empty
            // table (no bootnodes, or sharing off) that only logs a warning, so it is not told.
            // (It uses listen addresses only for provider records, which this chain never has.)
            FromSwarm::NewListenAddr(_) if self.known_peers().is_empty() => return,
            _ => {}
        }
        self.kad.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.kad.on_connection_handler_event(peer, id, event);
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<DiscoveryUpdate, THandlerInEvent<Self>>> {
        if std::mem::take(&mut self.stale) {
            return Poll::Ready(ToSwarm::GenerateEvent(DiscoveryUpdate));
        }
        loop {
            match self.kad.poll(cx) {
                Poll::Ready(ToSwarm::GenerateEvent(event)) => {
                    if let Some(update) = self.kad_event(event) {
                        return Poll::Ready(ToSwarm::GenerateEvent(update));
                    }
                }
                Poll::Ready(other) => {
                    return Poll::Ready(other.map_out(|_| unreachable!("events handled above")))
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The IP address a multiaddr starts with, as given.
fn host_ip(addr: &Multiaddr) -> Option<IpAddr> {
    match addr.iter().next()? {
        Protocol::Ip4(ip) => Some(ip.into()),
        Protocol::Ip6(ip) => Some(ip.into()),
        _ => None,
    }
}

/// The public network an address is on, for `MAX_PER_NET`: its IPv4 /24 or IPv6 /64; none for
/// loopback and private (RFC 1918, unique local) addresses.
fn public_network(addr: &Multiaddr) -> Option<IpAddr> {
    Some(match host_ip(addr)?.to_canonical() {
        IpAddr::V4(v4) if v4.is_loopback() || v4.is_private() => return None,
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & !0xff).into()),
        IpAddr::V6(v6) if v6.is_loopback() || v6.is_unique_local() => return None,
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
    })
}

/// Whether another node could dial `addr`: `/ip4|ip6/<addr>/tcp/<port>[/p2p/<id>]` and nothing
/// else (the only transport the node has), an address that names one host (not unspecified,
/// multicast, broadcast or link-local, which needs an interface), a port, and loopback only
/// when we are on loopback ourselves: a remote peer's 127.0.0.1 is our own machine.
pub(crate) fn usable(addr: &Multiaddr, loopback_ok: bool) -> bool {
    let mut parts = addr.iter();
    let ip = match parts.next() {
        Some(Protocol::Ip4(ip)) => IpAddr::from(ip),
        Some(Protocol::Ip6(ip)) => IpAddr::from(ip),
        _ => return false,
    };
    if !matches!(parts.next(), Some(Protocol::Tcp(port)) if port != 0) {
        return false;
    }
    match parts.next() {
        None => {}
        Some(Protocol::P2p(_)) if parts.next().is_none() => {}
        _ => return false,
    }
    let one_host = match ip.to_canonical() {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || v4.is_link_local())
        }
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast() || v6.is_unicast_link_local()),
    };
    one_host && (loopback_ok || !ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(addr: &str, loopback_ok: bool) -> bool {
        usable(&addr.parse().unwrap(), loopback_ok)
    }

    fn discovery(sharing: PeerSharing, listen: &str, private: &[PeerId]) -> Discovery {
        Discovery::new(
            PeerId::random(),
            "test",
            sharing,
            &listen.parse().unwrap(),
            &[],
            private.iter().copied().collect(),
        )
        .unwrap()
    }

    fn addrs(n: u16, ip: &str) -> Vec<Multiaddr> {
        (0..n)
            .map(|i| format!("/ip4/{ip}/tcp/{}", 30_000 + i).parse().unwrap())
            .collect()
    }

    fn kad_protocol() -> Vec<StreamProtocol> {
        vec![StreamProtocol::new("/test/kad/1")]
    }

    /// `peer`'s identify, on a new connection to it at `seen`, as the swarm reports them.
    fn identify(
        d: &mut Discovery,
        peer: PeerId,
        seen: &str,
        listen: &[Multiaddr],
        protocols: &[StreamProtocol],
    ) {
        let connection = ConnectionId::new_unchecked(d.remotes.len() + 1_000);
        let endpoint = libp2p::core::ConnectedPoint::Dialer {
            address: format!("/ip4/{seen}/tcp/1").parse().unwrap(),
            role_override: Endpoint::Dialer,
            port_use: PortUse::Reuse,
        };
        d.on_swarm_event(FromSwarm::ConnectionEstablished(
            libp2p::swarm::behaviour::ConnectionEstablished {
                peer_id: peer,
                connection_id: connection,
                endpoint: &endpoint,
                failed_addresses: &[],
                other_established: 0,
            },
        ));
        d.identified(peer, connection, listen, protocols);
    }

    /// Review MEDIUM-2: thirty peer ids on one public host take at most `MAX_PER_NET` places.
    #[test]
    fn one_host_takes_at_most_10_places_in_the_table() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        for _ in 0..30 {
            identify(
                &mut d,
                PeerId::random(),
                "203.0.113.7",
                &addrs(1, "203.0.113.7"),
                &kad_protocol(),
            );
        }
        let known = d.known_peers().len();
        assert!(
            (MAX_PER_NET_PER_BUCKET..=MAX_PER_NET).contains(&known),
            "{known} peers"
        );
        // Another /24 has room; so do loopback and private networks.
        identify(
            &mut d,
            PeerId::random(),
            "203.0.114.7",
            &addrs(1, "203.0.114.7"),
            &kad_protocol(),
        );
        assert_eq!(d.known_peers().len(), known + 1);
        for _ in 0..30 {
            identify(
                &mut d,
                PeerId::random(),
                "10.0.0.9",
                &addrs(1, "10.0.0.9"),
                &kad_protocol(),
            );
        }
        assert!(d.known_peers().len() > known + 11);
    }

    /// Review LOW-6 (and HIGH-1): kad queries do not pile up: at most `MAX_QUERIES` lookups, and a walk
    /// that falls due while queries run waits for them.
    #[test]
    fn at_most_4_kad_queries_run_and_walks_do_not_overlap_them() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        d.learn(PeerId::random(), &addrs(1, "10.0.0.2"));
        let started = (0..10).filter(|_| d.lookup(0)).count();
        assert_eq!((started, d.queries()), (MAX_QUERIES, MAX_QUERIES));
        d.next_walk = Instant::now();
        d.redial(0);
        assert_eq!(d.queries(), MAX_QUERIES);

        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        d.learn(PeerId::random(), &addrs(1, "10.0.0.2"));
        assert!(
            !d.lookup(MAX_PEERS),
            "a lookup at MAX_PEERS connected peers"
        );
        assert!(d.lookup(MAX_PEERS - 1));
    }

    /// Review LOW-5: a node listening on all interfaces with a bootnode on loopback neither
    /// learns nor dials loopback addresses an answer or identify names.
    #[test]
    fn a_loopback_bootnode_does_not_make_loopback_usable() {
        let boot = PeerId::random();
        let mut d = Discovery::new(
            PeerId::random(),
            "test",
            PeerSharing::Share,
            &"/ip4/0.0.0.0/tcp/30333".parse().unwrap(),
            &[format!("/ip4/127.0.0.1/tcp/30334/p2p/{boot}")
                .parse()
                .unwrap()],
            HashSet::new(),
        )
        .unwrap();
        let peer = PeerId::random();
        identify(
            &mut d,
            peer,
            "127.0.0.1",
            &addrs(1, "127.0.0.1"),
            &kad_protocol(),
        );
        assert!(!d.known_peers().contains(&peer));
        // As an answer lists it: kad keeps whatever the answer says.
        let target = PeerId::random();
        d.kad
            .add_address(&target, "/ip4/127.0.0.1/tcp/22".parse().unwrap());
        let tried = d
            .handle_pending_outbound_connection(
                ConnectionId::new_unchecked(1),
                Some(target),
                &[],
                Endpoint::Dialer,
            )
            .unwrap();
        assert_eq!(tried, Vec::<Multiaddr>::new());
    }

    /// Review LOW-4: a banned peer does not come back through kad: not into the table (from an
    /// answer, identify, or a dial that reached it) and not by a dial.
    #[test]
    fn a_banned_peer_stays_out_of_the_table_and_is_not_dialed() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        let liar = PeerId::random();
        identify(
            &mut d,
            liar,
            "10.0.0.2",
            &addrs(1, "10.0.0.2"),
            &kad_protocol(),
        );
        assert_eq!(d.known_peers(), vec![liar]);
        d.ban(liar);
        assert_eq!(d.known_peers(), vec![]);
        identify(
            &mut d,
            liar,
            "10.0.0.2",
            &addrs(1, "10.0.0.2"),
            &kad_protocol(),
        );
        d.learn(liar, &addrs(1, "10.0.0.2"));
        assert_eq!(d.known_peers(), vec![]);
        let dial = d.handle_pending_outbound_connection(
            ConnectionId::new_unchecked(1),
            Some(liar),
            &addrs(1, "10.0.0.2"),
            Endpoint::Dialer,
        );
        assert!(dial.is_err(), "a banned peer is dialed");
        assert!(d
            .handle_established_inbound_connection(
                ConnectionId::new_unchecked(2),
                liar,
                &addrs(1, "10.0.0.1")[0],
                &addrs(1, "10.0.0.2")[0],
            )
            .is_err());
    }

    /// Review MEDIUM-3: a connected peer whose bucket is full does not become its pending entry,
    /// where kad would append every address it is told of (identify pushes are unlimited) and
    /// enter the table with all of them once the entry it waits on times out.
    #[test]
    fn a_full_bucket_takes_no_pending_entry() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        let late = PeerId::random();
        let range = d.kad.kbucket(late).unwrap().range();
        let mut filled = 0;
        while filled < kad::K_VALUE.get() {
            let peer = PeerId::random();
            if d.kad.kbucket(peer).unwrap().range() == range {
                // Learnt, not connected: kad queues a connected newcomer behind such a peer.
                d.learn(peer, &addrs(1, &format!("10.0.2.{filled}")));
                filled += 1;
            }
        }
        assert_eq!(
            d.kad.kbucket(late).unwrap().num_entries(),
            kad::K_VALUE.get()
        );
        for i in 0..50 {
            let fresh: Vec<Multiaddr> = (0..4)
                .map(|j| {
                    format!("/ip4/10.0.3.1/tcp/{}", 40_000 + i * 4 + j)
                        .parse()
                        .unwrap()
                })
                .collect();
            identify(&mut d, late, "10.0.3.1", &fresh, &kad_protocol());
        }
        assert!(!d.kad.kbucket(late).unwrap().has_pending());
        assert!(!d.known_peers().contains(&late));
    }

    /// Review MEDIUM-2: a peer seen at one IP listing another's address (a reflector: we would
    /// hand the third party out to everyone asking) does not enter the table.
    #[test]
    fn listen_addresses_count_only_at_the_ip_the_peer_was_seen_at() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        let liar = PeerId::random();
        identify(
            &mut d,
            liar,
            "203.0.113.7",
            &addrs(2, "198.51.100.9"),
            &kad_protocol(),
        );
        assert_eq!(d.known_peers(), vec![]);
        let honest = PeerId::random();
        let mut listen = addrs(2, "198.51.100.9");
        listen.extend(addrs(1, "203.0.113.8"));
        identify(&mut d, honest, "203.0.113.8", &listen, &kad_protocol());
        assert_eq!(d.addresses(&honest).len(), 1);
    }

    #[test]
    fn a_peer_enters_the_table_with_at_most_4_usable_addresses() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        let peer = PeerId::random();
        let mut listen = addrs(3, "127.0.0.1");
        listen.extend(addrs(10, "10.0.0.2"));
        identify(&mut d, peer, "10.0.0.2", &listen, &kad_protocol());
        let kept = d.addresses(&peer);
        assert_eq!(kept.len(), MAX_ADDRS_PER_PEER, "{kept:?}");
        assert!(kept.iter().all(|a| usable(a, false)), "{kept:?}");
        assert_eq!(d.known_peers(), vec![peer]);
    }

    #[test]
    fn private_peers_other_protocols_and_sharing_off_leave_the_table_empty() {
        let private = PeerId::random();
        let mut d = discovery(PeerSharing::Share, "/ip4/127.0.0.1/tcp/1", &[private]);
        identify(
            &mut d,
            private,
            "10.0.0.2",
            &addrs(1, "10.0.0.2"),
            &kad_protocol(),
        );
        let other_chain = vec![StreamProtocol::new("/other/kad/1")];
        identify(
            &mut d,
            PeerId::random(),
            "10.0.0.2",
            &addrs(1, "10.0.0.2"),
            &other_chain,
        );
        assert_eq!(d.known_peers(), vec![]);

        // A bootnode is in the table until its identify shows it does not speak kad.
        let boot = PeerId::random();
        let boot_addr: Multiaddr = format!("/ip4/10.0.0.3/tcp/1/p2p/{boot}").parse().unwrap();
        let mut d = Discovery::new(
            PeerId::random(),
            "test",
            PeerSharing::Share,
            &"/ip4/10.0.0.1/tcp/1".parse().unwrap(),
            &[boot_addr],
            HashSet::new(),
        )
        .unwrap();
        assert_eq!(d.known_peers(), vec![boot]);
        identify(&mut d, boot, "10.0.0.3", &addrs(1, "10.0.0.3"), &[]);
        assert_eq!(d.known_peers(), vec![]);

        let mut off = discovery(PeerSharing::Off, "/ip4/127.0.0.1/tcp/1", &[]);
        identify(
            &mut off,
            PeerId::random(),
            "10.0.0.2",
            &addrs(1, "10.0.0.2"),
            &kad_protocol(),
        );
        assert_eq!(off.known_peers(), vec![]);
        assert!(!off.lookup(0));
    }

    #[test]
    fn a_dial_tries_at_most_4_usable_addresses() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        let peer = PeerId::random();
        // As a FIND_NODE answer could list it (kad keeps whatever the answer says).
        for addr in addrs(3, "0.0.0.0")
            .into_iter()
            .chain(addrs(3, "127.0.0.1"))
            .chain(addrs(12, "10.0.0.2"))
        {
            d.kad.add_address(&peer, addr);
        }
        let tried = d
            .handle_pending_outbound_connection(
                ConnectionId::new_unchecked(1),
                Some(peer),
                &[],
                Endpoint::Dialer,
            )
            .unwrap();
        assert_eq!(tried.len(), MAX_DIAL_ADDRS, "{tried:?}");
        assert!(tried.iter().all(|a| usable(a, false)), "{tried:?}");
    }

    #[test]
    fn discovery_dials_are_capped_and_configured_peers_exempt() {
        let private = PeerId::random();
        let mut d = discovery(PeerSharing::Share, "/ip4/127.0.0.1/tcp/1", &[private]);
        let mut dial = |id: usize, peer: PeerId| {
            d.handle_pending_outbound_connection(
                ConnectionId::new_unchecked(id),
                Some(peer),
                &[],
                Endpoint::Dialer,
            )
            .is_ok()
        };
        for i in 0..MAX_PENDING_DIALS {
            assert!(dial(i, PeerId::random()));
        }
        assert!(!dial(100, PeerId::random()), "one dial too many");
        assert!(dial(101, private), "a configured peer is always dialed");
    }

    #[test]
    fn only_addresses_a_peer_can_dial_are_usable() {
        let id = PeerId::random();
        assert!(ok("/ip4/10.0.0.2/tcp/30333", false));
        assert!(ok(&format!("/ip4/10.0.0.2/tcp/30333/p2p/{id}"), false));
        assert!(ok("/ip6/2001:db8::1/tcp/30333", false));
        // Loopback only among nodes on loopback.
        assert!(!ok("/ip4/127.0.0.1/tcp/30333", false));
        assert!(!ok("/ip6/::1/tcp/30333", false));
        assert!(!ok("/ip6/::ffff:127.0.0.1/tcp/30333", false));
        assert!(ok("/ip4/127.0.0.1/tcp/30333", true));
        for bad in [
            "/ip4/0.0.0.0/tcp/30333",
            "/ip4/10.0.0.2/tcp/0",
            "/ip4/224.0.0.1/tcp/30333",
            "/ip4/255.255.255.255/tcp/30333",
            "/ip4/169.254.1.1/tcp/30333",
            "/ip6/fe80::1/tcp/30333",
            "/ip4/10.0.0.2/udp/30333",
            "/ip4/10.0.0.2/tcp/30333/ws",
            "/dns4/example.com/tcp/30333",
        ] {
            assert!(!ok(bad, true), "{bad}");
        }
    }
}
