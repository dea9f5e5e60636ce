//! The ledger: block and state storage behind the `Store` trait, the state transition, the
//! coinbase's halving rule and the incremental state root.

pub mod account_txs;
pub mod chain;
pub mod commitment;
pub mod execute;
pub use tensorchain_subnet_engine::reward;
#[cfg(feature = "rocksdb")]
pub mod rocks;
pub mod stake_moves;
pub mod staking;
pub mod state;
pub mod store;
pub mod subnet;
pub mod swap;
pub mod unbonding;
pub mod validators;
pub mod verify;
pub mod view;

pub use chain::{
    supply_accounted, BuiltBlock, ExecutedBlock, GenesisState, Head, Ledger, LedgerError,
};
pub use execute::{check_stateless, Event, TxError};
pub use state::{Account, ChainParams, Fees, Globals};
pub use store::{Column, MemoryStore, Store, StoreError, WriteBatch};
pub use verify::{SigCache, VerifiedTx};
