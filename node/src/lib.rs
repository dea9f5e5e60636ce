//! The node: mempool, block production, and the wiring of ledger, finality and REST API.

pub mod mempool;
pub mod producer;
pub mod service;

pub use producer::{Finalizer, SoloFinalizer};
pub use service::{start, Node, NodeConfig, RunningNode};
