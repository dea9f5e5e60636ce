//! The node: mempool, the node machine (BFT driver ↔ gossip ↔ ledger ↔ block sync, sans-IO) and
//! the tokio shell that runs it on the network, and the REST API's view of it all.
//!
//! The shell (`service`, and the engine, supervisor and sync server it starts) opens RocksDB, so
//! it needs the `rocksdb` feature (on by default). Without it the crate is the machine over any
//! `Store`: what the fuzz targets (fuzz/) drive, with the in-memory store.

#[cfg(feature = "rocksdb")]
mod engine;
pub mod intake;
pub mod machine;
pub mod mempool;
mod node;
#[cfg(feature = "rocksdb")]
pub mod service;
#[cfg(test)]
mod sim;
#[cfg(feature = "rocksdb")]
mod supervisor;
mod sync;
#[cfg(feature = "rocksdb")]
mod sync_server;
pub mod wire;

pub use node::{Node, MAX_MEMPOOL};
#[cfg(feature = "rocksdb")]
pub use service::{start, NodeConfig, RunningNode, StartError};
/// The answer to a peer's block-sync request, from the stored chain.
pub use sync::serve as serve_sync_request;
pub use tensorchain_network::{load_or_create_key as load_or_create_node_key, Multiaddr};
