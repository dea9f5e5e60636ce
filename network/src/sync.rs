//! The request-response protocol `/<chain-id>/sync/1`: status exchange, block ranges with their
//! commit certificates. (Peers find each other with Kademlia, `discovery.rs`.)

use borsh::{BorshDeserialize, BorshSerialize};
use tensorchain_primitives::{Block, Commit, Hash};

/// Blocks per range request; a response stays well under the codec's size limit.
pub const MAX_BLOCKS_PER_REQUEST: u32 = 128;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SyncRequest {
    Status,
    /// Blocks `from..from + count` with the commit certificate of each.
    Blocks {
        from: u64,
        count: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SyncResponse {
    Status {
        genesis: Hash,
        /// Highest committed height and its hash.
        tip: u64,
        tip_hash: Hash,
        /// Lowest height whose block this node can serve.
        earliest: u64,
    },
    Blocks(Vec<(Block, Commit)>),
    /// The server did not serve the request; the requester asks another peer.
    Refused(SyncRefusal),
}

/// Why a sync server refused a request: a closed list, never a peer's free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SyncRefusal {
    /// Every serving slot is taken.
    Busy,
    /// The requester already has as many requests being served as one peer may.
    TooManyRequests,
}
