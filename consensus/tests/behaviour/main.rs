//! Behaviour of the consensus pieces checked exactly enough that a mutation of the code fails a
//! test (see docs/testing.md, "Mutation testing"): message signing, the validator set's quorums
//! and proposer draw, the schedule, the vote keeper, the WAL framing, the core's rules and the
//! driver's sign guard. One test binary, so that each mutant links one binary.

use tensorchain_primitives::{Hash, SigningDomain};

/// The network every message of these tests is signed for.
pub fn domain() -> SigningDomain {
    SigningDomain::new("t", Hash::digest(b"genesis of t"))
}

mod core_rules;
mod driver;
mod keeper;
mod messages;
mod schedule;
mod validator_set;
mod wal;
