//! How a simulation fails: the invariant broken, where, and how to replay it.

use super::{Attack, Scenario};
use crate::machine::Halt;
use tensorchain_network::{MessageId, SyncRequest};
use tensorchain_primitives::Hash;

/// A run that broke an invariant, at `at_ms` of virtual time into `scenario`.
#[derive(Debug, thiserror::Error)]
#[error("{violation}\n  at {at_ms} ms, scenario {scenario:?}\n  reproduce: SIM_SEED={} cargo test -p tensorchain-node --lib sim", scenario.seed)]
pub struct SimFailure {
    /// Boxed: the `Err` of every step of the simulation, rarely taken.
    #[source]
    pub violation: Box<Violation>,
    pub at_ms: u64,
    pub scenario: Box<Scenario>,
}

/// What broke. The invariants' names (`agreement`, `validity`, `liveness`, `bounded memory`,
/// `double sign`) start their messages.
#[derive(Debug, thiserror::Error)]
pub enum Violation {
    #[error("liveness: heads {heads:?}, at calm {calm_heads:?}, after {after_ms} ms")]
    Liveness {
        heads: Vec<u64>,
        calm_heads: Option<Vec<u64>>,
        after_ms: u64,
    },
    #[error("nothing left to do")]
    NothingLeft,
    /// Memory never fails to store: a halt is a bug of the machine.
    #[error("node {node} halted: {reason}")]
    Halted {
        node: usize,
        #[source]
        reason: Halt,
    },
    #[error("node {node} banned honest node {banned}")]
    BannedHonest { node: usize, banned: usize },
    #[error("node {node} published an undecodable message")]
    Undecodable { node: usize },
    #[error("double sign: node {node} signed {before:?} and {value:?} at height {height} round {round} step {step}")]
    DoubleSign {
        node: usize,
        before: Option<Hash>,
        value: Option<Hash>,
        height: u64,
        round: u32,
        step: u8,
    },
    #[error("node {node} lost block {height}")]
    LostBlock { node: usize, height: u64 },
    #[error("node {node} has no commit for {height}")]
    NoCommit { node: usize, height: u64 },
    #[error("node {node}: no set for {height}")]
    NoValidatorSet { node: usize, height: u64 },
    #[error("validity: node {node}'s commit for height {height} does not certify its block")]
    CommitDoesNotCertify { node: usize, height: u64 },
    #[error("validity: node {node}'s block {height} has a body its header does not commit to")]
    BodyMismatch { node: usize, height: u64 },
    /// (block hash, state root) of this node and of the others.
    #[error("agreement: node {node} committed {mine:?} at height {height}, others {agreed:?}")]
    Agreement {
        node: usize,
        height: u64,
        mine: (Hash, Hash),
        agreed: (Hash, Hash),
    },
    #[error("bounded memory: node {node} holds {size} {what}, bound {bound}")]
    Unbounded {
        node: usize,
        what: &'static str,
        size: usize,
        bound: usize,
    },
    #[error("node {node} gave no verdict on gossip {id}")]
    NoVerdict { node: usize, id: MessageId },
    #[error(
        "node {node} accepted (and relayed) a message of attack {attack:?} it should have refused"
    )]
    AttackAccepted { node: usize, attack: Attack },
    #[error("node {node} answered {request:?} with {bytes} bytes, over the response cap")]
    OversizedAnswer {
        node: usize,
        request: SyncRequest,
        bytes: usize,
    },
}
