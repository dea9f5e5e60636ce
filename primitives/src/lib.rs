//! Tensorchain's shared vocabulary: amounts, hashes, keys and addresses, and the borsh-encoded
//! transaction, block and vote types with their domain-separated signatures.

pub mod address;
pub mod amount;
pub mod block;
pub mod det_rng;
pub mod domain;
pub mod hash;
pub mod keys;
pub mod pow;
pub mod tx;
pub mod zip215;

pub use address::AddressError;
pub use amount::{format_tao, parse_tao, AmountError, MAX_SUPPLY, RAO_PER_TAO};
pub use block::{
    last_commit_hash, merkle_root, validator_set_hash, Block, Commit, CommitError, CommitSig,
    DoubleSign, EvidenceError, Header, Validator, Vote, VoteKind, MAX_BLOCK_BYTES,
};
pub use domain::SigningDomain;
pub use hash::{Hash, HashParseError};
pub use keys::{verify_many, AccountId, Keypair, Signature, SignatureError};
pub use tx::{
    verify_signatures, weights_commit_hash, Call, CallKind, FeeClass, SignedTx, Tx, MAX_TX_BYTES,
};
