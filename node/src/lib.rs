//! The node: mempool, the node machine (BFT driver ↔ gossip ↔ ledger ↔ block sync, sans-IO) and
//! the tokio shell that runs it on the network, and the REST API's view of it all.

mod engine;
pub mod intake;
mod machine;
pub mod mempool;
mod node;
pub mod service;
#[cfg(test)]
mod sim;
mod supervisor;
mod sync;
mod sync_server;
pub mod wire;

pub use node::Node;
pub use service::{start, NodeConfig, RunningNode};
pub use tensorchain_network::{load_or_create_key as load_or_create_node_key, Multiaddr};
