//! The one error type of the state transition: a failing transaction returns one of these and
//! leaves the view exactly as it was.

use crate::runtime::params::SUBNET_LIMIT;
use crate::storage::StoreError;
use serde::Serialize;
use serde_json::json;
use tensorchain_primitives::{AccountId, SignatureError};
use thiserror::Error;

/// Why a transaction is invalid. `code()` (the variant's snake_case name) and `details()` (its
/// fields) are derived, so a new error is one variant here; its hint for users lives with the
/// routes and commands that name it (`rpc`'s hint table).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
#[serde(untagged)]
pub enum TxError {
    #[error("transaction is for chain '{got}', this chain is '{expected}'")]
    WrongChainId { expected: String, got: String },
    #[error("signer is not a valid ed25519 public key")]
    InvalidKey,
    #[error("signer is a weak (small-order) key")]
    WeakKey,
    #[error("signature does not verify for the signer on this network")]
    BadSignature,
    #[error("fee for {call} must be {expected} rao, the transaction offers {got}")]
    BadFee {
        call: &'static str,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        expected: u64,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        got: u64,
    },
    #[error("nonce {got} is {}; the signer's next nonce is {expected}", if got < expected { "already used" } else { "in the future" })]
    BadNonce { expected: u64, got: u64 },
    #[error("account {account} has never been funded")]
    AccountNotFound { account: AccountId },
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("balance {available} rao is less than the {needed} rao needed (amount plus fee)")]
    InsufficientBalance {
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        needed: u64,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        available: u64,
    },
    #[error("amount overflows a u64 count of rao")]
    AmountOverflow,
    #[error("stake of {amount} rao is below the minimum of {minimum} rao")]
    StakeBelowMinimum {
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        minimum: u64,
    },
    #[error("only {available} rao is staked there, {requested} rao was asked for")]
    InsufficientStake {
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        available: u64,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        requested: u64,
    },
    #[error("hotkey {hotkey} has no stake and no owner yet")]
    HotkeyNotFound { hotkey: AccountId },
    #[error("hotkey {hotkey} belongs to coldkey {owner}, not the signer")]
    NotHotkeyOwner { hotkey: AccountId, owner: AccountId },
    #[error("take {take} is above the maximum {max} (18%)")]
    TakeTooHigh { take: u16, max: u16 },
    #[error("registration costs {cost} rao, more than the {max_cost} rao allowed")]
    RegistrationCostExceedsMax {
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        cost: u64,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        max_cost: u64,
    },
    #[error("all {SUBNET_LIMIT} subnets exist and none can be replaced yet")]
    SubnetLimitReached,
    #[error("subnet {netuid} does not exist")]
    SubnetNotFound { netuid: u16 },
    #[error("subnet {netuid} does not accept registrations")]
    RegistrationDisabled { netuid: u16 },
    #[error("the hotkey is already uid {uid} of subnet {netuid}")]
    HotkeyAlreadyRegistered { netuid: u16, uid: u16 },
    #[error("subnet {netuid} is full and no uid can be pruned")]
    SubnetFull { netuid: u16 },
    #[error("hotkey {hotkey} is not registered on subnet {netuid}")]
    HotkeyNotRegistered { netuid: u16, hotkey: AccountId },
    #[error("only the owner of subnet {netuid} (or sudo) may do this")]
    NotSubnetOwner { netuid: u16 },
    #[error("only the sudo key may set {name}")]
    SudoRequired { name: String },
    #[error("there is no hyperparameter named {name}")]
    UnknownHyperparameter { name: String },
    #[error("{name} must be between {min} and {max}")]
    HyperparameterOutOfRange { name: String, min: u64, max: u64 },
    #[error("identity is longer than {max} bytes")]
    IdentityTooLong { max: usize },
    #[error("the transaction is {size} bytes; at most {max} are valid")]
    TxTooLarge { size: usize, max: usize },
    #[error("the reveal's salt is longer than {max} bytes")]
    SaltTooLong { max: usize },
    #[error("{uids} uids but {values} values")]
    WeightsLengthMismatch { uids: usize, values: usize },
    #[error("more weights than the subnet's {max} uids")]
    TooManyWeights { max: usize },
    #[error("version_key is below the subnet's weights_version {required}")]
    IncorrectWeightsVersion { required: u64 },
    #[error("weights were set too recently; retry in {retry_after_blocks} blocks")]
    WeightsRateLimited { retry_after_blocks: u64 },
    #[error("setting weights on other uids needs a validator permit")]
    NoValidatorPermit,
    #[error("uid {uid} appears more than once")]
    DuplicateUids { uid: u16 },
    #[error("uid {uid} does not exist (the subnet has {n})")]
    UidOutOfRange { uid: u16, n: u16 },
    #[error("at least {min} weights are required")]
    NotEnoughWeights { min: usize },
    #[error("the largest normalized weight exceeds the subnet's limit {limit}/65535")]
    MaxWeightExceeded { limit: u16 },
    #[error("axon port must not be 0")]
    BadAxon,
    #[error("subnet {netuid} uses commit-reveal: commit_weights, then reveal_weights")]
    CommitRevealEnabled { netuid: u16 },
    #[error("subnet {netuid} does not use commit-reveal")]
    CommitRevealDisabled { netuid: u16 },
    #[error("at most {max} unrevealed commits")]
    TooManyCommits { max: usize },
    #[error("no commit matches these weights, salt and version")]
    NoMatchingCommit,
    #[error("reveal in epoch {reveal_epoch}; this is epoch {current_epoch}")]
    RevealTooEarly {
        reveal_epoch: u64,
        current_epoch: u64,
    },
    #[error("the commit of epoch {committed_epoch} expired")]
    CommitExpired { committed_epoch: u64 },
    #[error("the root network is full and the hotkey's stake does not beat the lowest member's {min_stake} rao")]
    RootFull { min_stake: u64 },
    #[error("hotkey {hotkey} is already a validator candidate")]
    ValidatorAlreadyRegistered { hotkey: AccountId },
    #[error("hotkey {hotkey} is not a validator candidate")]
    ValidatorNotRegistered { hotkey: AccountId },
    #[error("hotkey {hotkey} is jailed until block {until}")]
    ValidatorJailed { hotkey: AccountId, until: u64 },
    #[error("hotkey {hotkey} has no stake to validate with")]
    ValidatorWithoutStake { hotkey: AccountId },
    #[error("equivocation evidence is not valid: {reason}")]
    InvalidEvidence { reason: String },
    #[error("this equivocation of {hotkey} at height {height} was already punished")]
    EvidenceAlreadyHandled { hotkey: AccountId, height: u64 },
    #[error("the take was raised at block {last}; the next increase is allowed in {retry_after_blocks} blocks")]
    TakeRateLimited {
        #[serde(rename = "last_increase")]
        last: u64,
        retry_after_blocks: u64,
    },
    #[error("subnet {netuid}'s owner changed a hyperparameter too recently; retry in {retry_after_blocks} blocks")]
    HyperparameterRateLimited {
        netuid: u16,
        retry_after_blocks: u64,
    },
    #[error("hotkey {hotkey} has no stake that was in place a whole root tempo ago")]
    RootStakeNotSettled { hotkey: AccountId },
    #[error("subnet {netuid}'s epoch is {blocks_to_epoch} blocks away: owner changes wait until it has run")]
    HyperparameterFreezeWindow { netuid: u16, blocks_to_epoch: u64 },
    #[error("the axon was served too recently; retry in {retry_after_blocks} blocks")]
    ServingRateLimited { retry_after_blocks: u64 },
    #[error(
        "the solution names block {block_number}, older than the oldest accepted block {oldest}"
    )]
    PowBlockStale { block_number: u64, oldest: u64 },
    #[error("the solution names block {block_number}, after the head {head}")]
    PowBlockInFuture { block_number: u64, head: u64 },
    #[error("the work does not meet the difficulty {difficulty}")]
    PowWorkTooEasy { difficulty: u64 },
    #[error("subnet {netuid} already registered its {max} neurons this block")]
    TooManyRegistrationsThisBlock { netuid: u16, max: u32 },
    #[error("pow_register must be signed by the hotkey it registers")]
    PowSignerNotHotkey,
    #[error("subnet {netuid} registers by {mode}")]
    WrongRegistrationMode { netuid: u16, mode: &'static str },
    #[error("this chain has no faucet (devnets only)")]
    FaucetDisabled,
    #[error("this key was already paid for a solution naming block {last_block} or later")]
    FaucetSolutionUsed { last_block: u64 },
    #[error("the faucet paid its {max} payouts of this block")]
    FaucetBusy { max: u32 },
    // Issue 19: wallet calls (swap_hotkey, stake moves).
    #[error("the two hotkeys are the same")]
    SameHotkey,
    #[error("stake can only be transferred to another coldkey")]
    SameColdkey,
    #[error("the signer has no stake behind hotkey {hotkey}")]
    NoStake { hotkey: AccountId },
    #[error("hotkey {hotkey} is already in use on chain")]
    NewHotkeyInUse { hotkey: AccountId },
    #[error("this coldkey swapped a hotkey recently; retry in {retry_after_blocks} blocks")]
    HotkeySwapRateLimited { retry_after_blocks: u64 },
    #[error("hotkey {hotkey} is in the scheduled validator set")]
    HotkeyIsActiveValidator { hotkey: AccountId },
    #[error("hotkey {hotkey} answers for consensus: its stake leaves only through unbonding")]
    StakeBondedToValidator { hotkey: AccountId },
    #[error("{0}")]
    #[strum(serialize = "internal_error")]
    #[serde(skip)]
    Storage(String),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Storage(e.0)
    }
}

impl From<SignatureError> for TxError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::InvalidKey => TxError::InvalidKey,
            SignatureError::WeakKey => TxError::WeakKey,
            SignatureError::BadSignature => TxError::BadSignature,
        }
    }
}

impl TxError {
    /// Stable snake_case code for clients: the variant's name.
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// The error's fields as a JSON object (amounts as strings, like every amount in the API).
    pub fn details(&self) -> serde_json::Value {
        let mut details = match serde_json::to_value(self) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => json!({}),
        };
        if let (TxError::BadNonce { expected, got }, Some(map)) = (self, details.as_object_mut()) {
            let reason = if got < expected { "stale" } else { "future" };
            map.insert("reason".into(), reason.into());
        }
        details
    }
}
