//! Peer discovery with Kademlia (libp2p-kad on `/<chain-id>/kad/1`): a node that knows one
//! bootnode finds the rest of the network by asking its peers for the peers closest to its own
//! id and to random keys (a bootstrap, or random walk), and dials what it learns.
//!
//! `Discovery` wraps `kad::Behaviour` to put the node's policy on everything Kademlia learns,
//! hands out and dials (docs/security.md lists which bound stops which flood):
//! - the routing table, which is also what the node answers FIND_NODE with, takes only peers
//!   that speak this chain's kad protocol (identify says so, or we dialed them and they
//!   answered on it), never a private peer, at most `MAX_ADDRS_PER_PEER` addresses each, and only
//!   addresses a peer can use (`usable`); k-buckets of `kad::K_VALUE` (20) bound its size;
//! - a dial Kademlia asks for gets at most `MAX_DIAL_ADDRS` usable addresses, and at most
//!   `MAX_PENDING_DIALS` discovery dials are under way at once (bootnodes and private peers,
//!   which the operator configured, are exempt);
//! - a bootstrap runs when the table gains a peer (kad's own, throttled, one at a time) and
//!   every `WALK_EVERY`; peers in the table are redialed while the node has fewer than
//!   `MAX_PEERS` connections, and a peer whose dial fails is dropped from the table;
//! - records (PUT_VALUE, ADD_PROVIDER) are never stored: the chain uses the DHT for peers only.

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::kad::{self, store::MemoryStore, BucketInserts, Mode, StoreInserts};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, DialError, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use std::collections::HashSet;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Addresses kept per peer in the routing table (and so handed to others for it).
const MAX_ADDRS_PER_PEER: usize = 4;
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
/// Lookups started on request (`lookup`) running at once.
const MAX_LOOKUPS: usize = 4;
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

pub(crate) struct Discovery {
    kad: kad::Behaviour<MemoryStore>,
    protocol: StreamProtocol,
    sharing: PeerSharing,
    /// Never in the routing table, so never handed out.
    private: HashSet<PeerId>,
    /// Bootnodes and private peers: the operator's choice, dialed whatever discovery's limits.
    configured: HashSet<PeerId>,
    /// Whether loopback addresses are usable: only when the node itself is on loopback.
    loopback_ok: bool,
    /// Discovery's dials under way (at most `MAX_PENDING_DIALS`).
    dialing: HashSet<ConnectionId>,
    next_walk: Instant,
    lookups: HashSet<kad::QueryId>,
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
    ) -> Result<Self, String> {
        let protocol = StreamProtocol::try_from_owned(format!("/{chain_id}/kad/1"))
            .map_err(|e| e.to_string())?;
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
        let loopback_ok = std::iter::once(listen)
            .chain(bootnodes)
            .any(|a| host_ip(a).is_some_and(|ip| ip.to_canonical().is_loopback()));
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
            next_walk: Instant::now() + WALK_EVERY,
            lookups: HashSet::new(),
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
        if self.sharing == PeerSharing::Off || self.private.contains(&peer) {
            return;
        }
        let mut known = self.addresses(&peer);
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

    /// A peer's identify: its listen addresses enter the table if it speaks our kad protocol
    /// (a peer that dialed us is known by nothing else, since the port it dialed from is not
    /// one it listens on). A peer that does not (a bootnode in client mode) leaves the table, so
    /// it is not handed out.
    pub(crate) fn identified(
        &mut self,
        peer: PeerId,
        listen_addrs: &[Multiaddr],
        protocols: &[StreamProtocol],
    ) {
        if protocols.contains(&self.protocol) {
            self.learn(peer, listen_addrs);
        } else if self.kad.remove_peer(&peer).is_some() {
            self.stale = true;
        }
    }

    /// Forgets `peer` (it lied to us): it is no longer handed out or redialed.
    pub(crate) fn forget(&mut self, peer: &PeerId) {
        if self.kad.remove_peer(peer).is_some() {
            self.stale = true;
        }
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

    /// Starts a lookup of a random key (what a random walk does), unless `MAX_LOOKUPS` run.
    pub(crate) fn lookup(&mut self) -> bool {
        if self.sharing == PeerSharing::Off || self.lookups.len() >= MAX_LOOKUPS {
            return false;
        }
        let id = self.kad.get_closest_peers(PeerId::random());
        self.lookups.insert(id);
        true
    }

    /// Called every redial round: starts the periodic walk when due, and returns the
    /// disconnected routing-table peers to dial (none once the node has `MAX_PEERS`
    /// connections; bootnodes are the caller's).
    pub(crate) fn redial(&mut self, connected: usize) -> Vec<PeerId> {
        if self.sharing == PeerSharing::Off {
            return vec![];
        }
        let now = Instant::now();
        if now >= self.next_walk {
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
            kad::Event::OutboundQueryProgressed { id, step, .. } if step.last => {
                self.lookups.remove(&id);
                None
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
        let mut addrs = self
            .kad
            .handle_pending_outbound_connection(id, peer, addresses, role)?;
        addrs.retain(|a| usable(a, self.loopback_ok));
        addrs.dedup();
        addrs.truncate(MAX_DIAL_ADDRS);
        if peer.is_some_and(|p| !self.configured.contains(&p)) {
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
        self.kad
            .handle_established_outbound_connection(id, peer, addr, role, port_use)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match &event {
            FromSwarm::ConnectionEstablished(e) => {
                self.dialing.remove(&e.connection_id);
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

    #[test]
    fn a_peer_enters_the_table_with_at_most_4_usable_addresses() {
        let mut d = discovery(PeerSharing::Share, "/ip4/10.0.0.1/tcp/1", &[]);
        let peer = PeerId::random();
        let mut listen = addrs(3, "127.0.0.1");
        listen.extend(addrs(10, "10.0.0.2"));
        d.identified(peer, &listen, &kad_protocol());
        let kept = d.addresses(&peer);
        assert_eq!(kept.len(), MAX_ADDRS_PER_PEER, "{kept:?}");
        assert!(kept.iter().all(|a| usable(a, false)), "{kept:?}");
        assert_eq!(d.known_peers(), vec![peer]);
    }

    #[test]
    fn private_peers_other_protocols_and_sharing_off_leave_the_table_empty() {
        let private = PeerId::random();
        let mut d = discovery(PeerSharing::Share, "/ip4/127.0.0.1/tcp/1", &[private]);
        d.identified(private, &addrs(1, "10.0.0.2"), &kad_protocol());
        let other_chain = vec![StreamProtocol::new("/other/kad/1")];
        d.identified(PeerId::random(), &addrs(1, "10.0.0.2"), &other_chain);
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
        d.identified(boot, &addrs(1, "10.0.0.3"), &[]);
        assert_eq!(d.known_peers(), vec![]);

        let mut off = discovery(PeerSharing::Off, "/ip4/127.0.0.1/tcp/1", &[]);
        off.identified(PeerId::random(), &addrs(1, "10.0.0.2"), &kad_protocol());
        assert_eq!(off.known_peers(), vec![]);
        assert!(!off.lookup());
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
