//! Peer-to-peer networking on rust-libp2p. One task owns the `Swarm`; the node talks to it through
//! bounded channels (commands in, events out). Consensus traffic has channels of its own so a flood
//! of transactions can delay or drop transactions, never consensus messages. Transactions are
//! gossiped in batches (`txgossip`). Nothing here checks signatures or executes anything: the
//! node validates and reports every gossip message back.

mod codec;
mod discovery;
mod key;
mod service;
mod sync;
mod txgossip;

pub use codec::{SyncCodec, MAX_RESPONSE_BYTES};
pub use discovery::PeerSharing;
pub use key::load_or_create_key;
pub use libp2p::gossipsub::{MessageAcceptance, MessageId};
pub use libp2p::identity::Keypair as NodeKey;
pub use libp2p::request_response::ResponseChannel;
pub use libp2p::{Multiaddr, PeerId};
pub use service::{
    start, Event, Events, InboundRequest, NetworkConfig, NetworkError, NetworkHandle, PeerInfo,
    SetupError, Topic,
};
pub use sync::{SyncRefusal, SyncRequest, SyncResponse, MAX_BLOCKS_PER_REQUEST};
pub use txgossip::{
    decode_batch, encode_batch, BatchError, TxGossipStats, FLUSH_AFTER, MAX_BATCH_BYTES,
    MAX_BATCH_TXS,
};

/// The peer id a multiaddr ends with (`…/p2p/<id>`), if any.
pub fn peer_id_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}
