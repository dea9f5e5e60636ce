//! The ledger: block and state storage behind the `Store` trait, the state transition, the
//! coinbase's halving rule, and the versioned state tree (jmt) with its history.
//!
//! Layered one way (`tests/layers.rs` enforces it; docs/architecture.md draws it): a module only
//! uses modules of its own layer or below.
//! - `storage`: the `Store` trait, RocksDB and memory stores, and `schema` (every key).
//! - `state`: typed records, the transaction-scoped `StateView`, the jmt tree and its history.
//! - `runtime`: the state transition, one module per concern, each owning its errors.
//! - `verify`: stateless checks once per node (`VerifiedTx`, the signature cache).
//! - `chain`: the block writer (`Ledger`) and the typed reads served over REST.

pub mod chain;
pub mod runtime;
pub mod state;
pub mod storage;
pub mod verify;

pub use tensorchain_subnet_engine::reward;

pub use chain::versioned::{StateAtError, StateProof};
pub use chain::{
    supply_accounted, BlockLimits, BuiltBlock, CandidateEntry, CommittedBlock, ExecutedBlock,
    GenesisState, Head, Jail, Ledger, LedgerError, RootMember, RootNetwork,
};
pub use runtime::params::{ChainParams, FaucetParams, Fees};
pub use runtime::{check_stateless, BlockContext, Event, TxError};
pub use state::{Account, Globals};
pub use storage::{Column, Entries, MemoryStore, Store, StoreError, WriteBatch};
pub use verify::{SigCache, VerifiedTx};
