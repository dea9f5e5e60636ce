//! BFT proof-of-stake consensus: a pure Tendermint core (inputs in, effects out), the driver that
//! signs through a crash-safe sign guard and write-ahead log, and (in tests) a deterministic
//! simulator that tries to break it.

pub mod core;
pub mod driver;
pub mod keeper;
pub mod schedule;
pub mod types;
pub mod validators;
pub mod wal;

#[cfg(test)]
mod sim;

pub use crate::core::{Config, Core, Effect, Input, Timeouts};
pub use driver::{Driver, Output};
pub use schedule::ValidatorSchedule;
pub use types::{
    Evidence, Message, Proposal, SignedProposal, SignedVote, Step, Timeout, TimeoutKind, ValueId,
};
pub use validators::ValidatorSet;
pub use wal::{FileWal, MemoryWal, Wal, WalError};
