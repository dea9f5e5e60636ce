//! The economics of a subnet in deterministic fixed point: the Yuma epoch, root consensus over
//! subnets, and the block reward's halving rule. Pure functions, no I/O, no floats.

pub mod bonds;
pub mod consensus;
pub mod epoch;
pub mod fx;
pub mod reward;
pub mod root;
pub mod snapshot;
pub mod synthetic;
pub mod types;

pub use epoch::run_epoch;
pub use fx::Fx;
pub use root::{root_shares, RootParams};
pub use types::{BondRow, EpochInput, EpochOutput, Params, SparseRow};
