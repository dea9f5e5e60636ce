//! The node: mempool, the consensus engine (BFT core ↔ network ↔ ledger), block sync, and the
//! REST API's view of it all.

mod engine;
pub mod mempool;
pub mod service;
mod supervisor;
mod sync;
mod sync_server;
pub mod wire;

pub use service::{start, Node, NodeConfig, RunningNode};
pub use tensorchain_network::{load_or_create_key as load_or_create_node_key, Multiaddr};
