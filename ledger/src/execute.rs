//! Transaction validity and execution. A failing transaction returns a named error and leaves
//! the view exactly as it was.

use crate::staking;
use crate::state::{self, Account, ChainParams, MAX_TAKE, MIN_STAKE};
use crate::store::StoreError;
use crate::subnet::{self, SUBNET_LIMIT};
use crate::validators;
use crate::view::StateView;
use crate::{stake_moves, swap};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use serde_json::json;
use tensorchain_primitives::{AccountId, Call, SignatureError, SignedTx};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    #[error("transaction is for chain '{got}', this chain is '{expected}'")]
    WrongChainId { expected: String, got: String },
    #[error("signer is not a valid ed25519 public key")]
    InvalidKey,
    #[error("signer is a weak (small-order) key")]
    WeakKey,
    #[error("signature does not verify for the signer")]
    BadSignature,
    #[error("fee for {call} must be {expected} rao, the transaction offers {got}")]
    BadFee {
        call: &'static str,
        expected: u64,
        got: u64,
    },
    #[error("nonce {got} is {}; the signer's next nonce is {expected}", if got < expected { "already used" } else { "in the future" })]
    BadNonce { expected: u64, got: u64 },
    #[error("account {account} has never been funded")]
    AccountNotFound { account: AccountId },
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("balance {available} rao is less than the {needed} rao needed (amount plus fee)")]
    InsufficientBalance { needed: u64, available: u64 },
    #[error("amount overflows a u64 count of rao")]
    AmountOverflow,
    #[error("stake of {amount} rao is below the minimum of {minimum} rao")]
    StakeBelowMinimum { amount: u64, minimum: u64 },
    #[error("only {available} rao is staked there, {requested} rao was asked for")]
    InsufficientStake { available: u64, requested: u64 },
    #[error("hotkey {hotkey} has no stake and no owner yet")]
    HotkeyNotFound { hotkey: AccountId },
    #[error("hotkey {hotkey} belongs to coldkey {owner}, not the signer")]
    NotHotkeyOwner { hotkey: AccountId, owner: AccountId },
    #[error("take {take} is above the maximum {max} (18%)")]
    TakeTooHigh { take: u16, max: u16 },
    #[error("registration costs {cost} rao, more than the {max_cost} rao allowed")]
    RegistrationCostExceedsMax { cost: u64, max_cost: u64 },
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
    #[error("{0}")]
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
    /// Stable snake_case code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::WrongChainId { .. } => "wrong_chain_id",
            TxError::InvalidKey => "invalid_key",
            TxError::WeakKey => "weak_key",
            TxError::BadSignature => "bad_signature",
            TxError::BadFee { .. } => "bad_fee",
            TxError::BadNonce { .. } => "bad_nonce",
            TxError::AccountNotFound { .. } => "account_not_found",
            TxError::ZeroAmount => "zero_amount",
            TxError::InsufficientBalance { .. } => "insufficient_balance",
            TxError::AmountOverflow => "amount_overflow",
            TxError::StakeBelowMinimum { .. } => "stake_below_minimum",
            TxError::InsufficientStake { .. } => "insufficient_stake",
            TxError::HotkeyNotFound { .. } => "hotkey_not_found",
            TxError::NotHotkeyOwner { .. } => "not_hotkey_owner",
            TxError::TakeTooHigh { .. } => "take_too_high",
            TxError::RegistrationCostExceedsMax { .. } => "registration_cost_exceeds_max",
            TxError::SubnetLimitReached => "subnet_limit_reached",
            TxError::SubnetNotFound { .. } => "subnet_not_found",
            TxError::RegistrationDisabled { .. } => "registration_disabled",
            TxError::HotkeyAlreadyRegistered { .. } => "hotkey_already_registered",
            TxError::SubnetFull { .. } => "subnet_full",
            TxError::HotkeyNotRegistered { .. } => "hotkey_not_registered",
            TxError::NotSubnetOwner { .. } => "not_subnet_owner",
            TxError::SudoRequired { .. } => "sudo_required",
            TxError::UnknownHyperparameter { .. } => "unknown_hyperparameter",
            TxError::HyperparameterOutOfRange { .. } => "hyperparameter_out_of_range",
            TxError::IdentityTooLong { .. } => "identity_too_long",
            TxError::WeightsLengthMismatch { .. } => "weights_length_mismatch",
            TxError::TooManyWeights { .. } => "too_many_weights",
            TxError::IncorrectWeightsVersion { .. } => "incorrect_weights_version",
            TxError::WeightsRateLimited { .. } => "weights_rate_limited",
            TxError::NoValidatorPermit => "no_validator_permit",
            TxError::DuplicateUids { .. } => "duplicate_uids",
            TxError::UidOutOfRange { .. } => "uid_out_of_range",
            TxError::NotEnoughWeights { .. } => "not_enough_weights",
            TxError::MaxWeightExceeded { .. } => "max_weight_exceeded",
            TxError::BadAxon => "bad_axon",
            TxError::RootFull { .. } => "root_full",
            TxError::CommitRevealEnabled { .. } => "commit_reveal_enabled",
            TxError::CommitRevealDisabled { .. } => "commit_reveal_disabled",
            TxError::TooManyCommits { .. } => "too_many_commits",
            TxError::NoMatchingCommit => "no_matching_commit",
            TxError::RevealTooEarly { .. } => "reveal_too_early",
            TxError::CommitExpired { .. } => "commit_expired",
            TxError::ValidatorAlreadyRegistered { .. } => "validator_already_registered",
            TxError::ValidatorNotRegistered { .. } => "validator_not_registered",
            TxError::ValidatorJailed { .. } => "validator_jailed",
            TxError::ValidatorWithoutStake { .. } => "validator_without_stake",
            TxError::InvalidEvidence { .. } => "invalid_evidence",
            TxError::EvidenceAlreadyHandled { .. } => "evidence_already_handled",
            TxError::SameHotkey => "same_hotkey",
            TxError::SameColdkey => "same_coldkey",
            TxError::NoStake { .. } => "no_stake",
            TxError::NewHotkeyInUse { .. } => "new_hotkey_in_use",
            TxError::HotkeySwapRateLimited { .. } => "hotkey_swap_rate_limited",
            TxError::HotkeyIsActiveValidator { .. } => "hotkey_is_active_validator",
            TxError::Storage(_) => "internal_error",
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            TxError::WrongChainId { .. } => "sign for the chain id shown by GET /v1/chain",
            TxError::InvalidKey | TxError::WeakKey => {
                "sign with a key made by `tensorchain wallet create`"
            }
            TxError::BadSignature => {
                "sign the blake3(\"tensorchain/tx/v1\" ‖ borsh(tx)) digest with the signer's key"
            }
            TxError::BadFee { .. } => "use the fee listed under `fees` in GET /v1/chain",
            TxError::BadNonce { .. } => "use `next_nonce` from GET /v1/accounts/{addr}",
            TxError::AccountNotFound { .. } => "fund the account with a transfer first",
            TxError::ZeroAmount => "send a positive amount",
            TxError::InsufficientBalance { .. } => {
                "check the balance with `tensorchain wallet balance`"
            }
            TxError::AmountOverflow => "send a smaller amount",
            TxError::StakeBelowMinimum { .. } => "stake at least 0.002 TAO",
            TxError::InsufficientStake { .. } => "check your stakes with `tensorchain stake list`",
            TxError::HotkeyNotFound { .. } => {
                "stake to the hotkey first; its first staker becomes its owner"
            }
            TxError::NotHotkeyOwner { .. } => "sign with the coldkey that owns the hotkey",
            TxError::TakeTooHigh { .. } => "choose a take of at most 18%",
            TxError::RegistrationCostExceedsMax { .. } => {
                "raise --max-cost, or wait: the price decays every block"
            }
            TxError::SubnetLimitReached => "wait until an existing subnet's immunity ends",
            TxError::SubnetNotFound { .. } => "list subnets with `tensorchain subnet list`",
            TxError::RegistrationDisabled { .. } => "ask the subnet owner to allow registrations",
            TxError::HotkeyAlreadyRegistered { .. } => "use another hotkey (-H NAME)",
            TxError::SubnetFull { .. } => "wait until a uid's immunity period ends",
            TxError::HotkeyNotRegistered { .. } => {
                "register the hotkey with `tensorchain subnet register` first"
            }
            TxError::NotSubnetOwner { .. } => "sign with the subnet owner's coldkey",
            TxError::SudoRequired { .. } => "this hyperparameter is chain-governed",
            TxError::UnknownHyperparameter { .. } => {
                "list them with `tensorchain subnet hyperparameters`"
            }
            TxError::HyperparameterOutOfRange { .. } => "choose a value within the range",
            TxError::IdentityTooLong { .. } => "shorten the subnet identity",
            TxError::WeightsLengthMismatch { .. } => "give one value per uid",
            TxError::TooManyWeights { .. } => "weight at most one entry per uid",
            TxError::IncorrectWeightsVersion { .. } => {
                "upgrade the validator software to the subnet's weights_version"
            }
            TxError::WeightsRateLimited { .. } => {
                "wait the number of blocks in details.retry_after_blocks"
            }
            TxError::NoValidatorPermit => "stake more: permits go to the top stakes at each epoch",
            TxError::DuplicateUids { .. } => "list each uid once",
            TxError::UidOutOfRange { .. } => "see the metagraph for valid uids",
            TxError::NotEnoughWeights { .. } => "weight more uids (min_allowed_weights)",
            TxError::MaxWeightExceeded { .. } => "spread weight over more uids (max_weight_limit)",
            TxError::BadAxon => "give the port the axon listens on",
            TxError::RootFull { .. } => "stake more behind the hotkey than the lowest root member",
            TxError::CommitRevealEnabled { .. } => {
                "use `tensorchain weights commit`, then `weights reveal` next epoch"
            }
            TxError::CommitRevealDisabled { .. } => "use `tensorchain weights set`",
            TxError::TooManyCommits { .. } => "reveal or let old commits expire",
            TxError::NoMatchingCommit => {
                "reveal exactly the uids, values, salt and version_key you committed"
            }
            TxError::RevealTooEarly { .. } => "wait for the subnet's next epoch",
            TxError::CommitExpired { .. } => "commit again and reveal in the following epoch",
            TxError::ValidatorAlreadyRegistered { .. } => {
                "it is ranked by stake at the next validator epoch; see `tensorchain validator list`"
            }
            TxError::ValidatorNotRegistered { .. } => "register it with `tensorchain validator register`",
            TxError::ValidatorJailed { .. } => "wait until the jail ends, then register again",
            TxError::ValidatorWithoutStake { .. } => "stake to the hotkey first (`tensorchain stake add`)",
            TxError::InvalidEvidence { .. } => {
                "evidence is two votes of one validator, same height/round/kind, different blocks"
            }
            TxError::EvidenceAlreadyHandled { .. } => "nothing to do: the offender was punished",
            TxError::SameHotkey => "give two different hotkeys",
            TxError::SameColdkey => "to move stake between your hotkeys use `tensorchain stake move`",
            TxError::NoStake { .. } => "check your stakes with `tensorchain stake list`",
            TxError::NewHotkeyInUse { .. } => {
                "swap to a fresh hotkey (`tensorchain wallet new-hotkey -H NEW`)"
            }
            TxError::HotkeySwapRateLimited { .. } => {
                "wait the number of blocks in details.retry_after_blocks"
            }
            TxError::HotkeyIsActiveValidator { .. } => {
                "run `tensorchain validator unregister`, and swap once the hotkey has left the set"
            }
            TxError::Storage(_) => "the node's storage failed; check its logs",
        }
    }

    pub fn details(&self) -> serde_json::Value {
        match self {
            TxError::WrongChainId { expected, got } => json!({"expected": expected, "got": got}),
            TxError::BadFee {
                call,
                expected,
                got,
            } => {
                json!({"call": call, "expected": expected.to_string(), "got": got.to_string()})
            }
            TxError::BadNonce { expected, got } => json!({
                "expected": expected, "got": got,
                "reason": if got < expected { "stale" } else { "future" },
            }),
            TxError::AccountNotFound { account } => json!({"account": account}),
            TxError::InsufficientBalance { needed, available } => {
                json!({"needed": needed.to_string(), "available": available.to_string()})
            }
            TxError::StakeBelowMinimum { amount, minimum } => {
                json!({"amount": amount.to_string(), "minimum": minimum.to_string()})
            }
            TxError::InsufficientStake {
                available,
                requested,
            } => {
                json!({"available": available.to_string(), "requested": requested.to_string()})
            }
            TxError::HotkeyNotFound { hotkey } => json!({"hotkey": hotkey}),
            TxError::NotHotkeyOwner { hotkey, owner } => json!({"hotkey": hotkey, "owner": owner}),
            TxError::TakeTooHigh { take, max } => json!({"take": take, "max": max}),
            TxError::RegistrationCostExceedsMax { cost, max_cost } => {
                json!({"cost": cost.to_string(), "max_cost": max_cost.to_string()})
            }
            TxError::SubnetNotFound { netuid }
            | TxError::RegistrationDisabled { netuid }
            | TxError::SubnetFull { netuid }
            | TxError::NotSubnetOwner { netuid } => json!({"netuid": netuid}),
            TxError::HotkeyAlreadyRegistered { netuid, uid } => {
                json!({"netuid": netuid, "uid": uid})
            }
            TxError::HotkeyNotRegistered { netuid, hotkey } => {
                json!({"netuid": netuid, "hotkey": hotkey})
            }
            TxError::SudoRequired { name } | TxError::UnknownHyperparameter { name } => {
                json!({"name": name})
            }
            TxError::HyperparameterOutOfRange { name, min, max } => {
                json!({"name": name, "min": min, "max": max})
            }
            TxError::WeightsRateLimited { retry_after_blocks } => {
                json!({"retry_after_blocks": retry_after_blocks})
            }
            TxError::IncorrectWeightsVersion { required } => json!({"required": required}),
            TxError::RevealTooEarly {
                reveal_epoch,
                current_epoch,
            } => {
                json!({"reveal_epoch": reveal_epoch, "current_epoch": current_epoch})
            }
            TxError::DuplicateUids { uid } => json!({"uid": uid}),
            TxError::UidOutOfRange { uid, n } => json!({"uid": uid, "n": n}),
            TxError::ValidatorAlreadyRegistered { hotkey }
            | TxError::ValidatorNotRegistered { hotkey }
            | TxError::ValidatorWithoutStake { hotkey } => json!({"hotkey": hotkey}),
            TxError::ValidatorJailed { hotkey, until } => json!({"hotkey": hotkey, "until": until}),
            TxError::InvalidEvidence { reason } => json!({"reason": reason}),
            TxError::EvidenceAlreadyHandled { hotkey, height } => {
                json!({"hotkey": hotkey, "height": height})
            }
            TxError::NotEnoughWeights { min } => json!({"min": min}),
            TxError::TooManyWeights { max } => json!({"max": max}),
            TxError::WeightsLengthMismatch { uids, values } => {
                json!({"uids": uids, "values": values})
            }
            TxError::NoStake { hotkey }
            | TxError::NewHotkeyInUse { hotkey }
            | TxError::HotkeyIsActiveValidator { hotkey } => json!({"hotkey": hotkey}),
            TxError::HotkeySwapRateLimited { retry_after_blocks } => {
                json!({"retry_after_blocks": retry_after_blocks})
            }

            _ => json!({}),
        }
    }
}

/// What a transaction did, recorded with its block.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Transfer {
        from: AccountId,
        to: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
    },
    FeePaid {
        payer: AccountId,
        proposer: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
    },
    StakeAdded {
        coldkey: AccountId,
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
    },
    StakeRemoved {
        coldkey: AccountId,
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
    },
    TakeSet {
        hotkey: AccountId,
        take: u16,
    },
    SubnetRegistered {
        netuid: u16,
        owner: AccountId,
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        cost: u64,
    },
    NeuronRegistered {
        netuid: u16,
        uid: u16,
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        cost: u64,
        replaced: Option<AccountId>,
    },
    HyperparameterSet {
        netuid: u16,
        name: String,
        value: u64,
    },
    AxonServed {
        netuid: u16,
        uid: u16,
    },
    WeightsSet {
        netuid: u16,
        uid: u16,
        count: u16,
    },
    WeightsCommitted {
        netuid: u16,
        uid: u16,
    },
    ValidatorRegistered {
        hotkey: AccountId,
    },
    ValidatorUnregistered {
        hotkey: AccountId,
    },
    /// A validator that signed conflicting votes: its stake is cut and it leaves the set.
    ValidatorPunished {
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        slashed: u64,
        jailed_until: u64,
    },
    // Issue 19: wallet calls.
    HotkeySwapped {
        coldkey: AccountId,
        old: AccountId,
        new: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        burned: u64,
    },
    StakeMoved {
        coldkey: AccountId,
        from_hotkey: AccountId,
        to_hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
    },
    StakeTransferred {
        from: AccountId,
        to: AccountId,
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
    },
}

/// Checks that need no state: chain id, signature, fee.
pub fn check_stateless(stx: &SignedTx, params: &ChainParams) -> Result<(), TxError> {
    let tx = &stx.tx;
    if tx.chain_id != params.chain_id {
        return Err(TxError::WrongChainId {
            expected: params.chain_id.clone(),
            got: tx.chain_id.clone(),
        });
    }
    stx.verify_signature()?;
    let expected = params.fees.for_call(&tx.call);
    if tx.fee != expected {
        return Err(TxError::BadFee {
            call: tx.call.name(),
            expected,
            got: tx.fee,
        });
    }
    Ok(())
}

/// Validates and executes one transaction inside `view`'s transaction scope: on success the
/// writes are kept, on error they are dropped.
pub fn apply_tx(
    view: &mut StateView,
    stx: &SignedTx,
    params: &ChainParams,
    proposer: &AccountId,
    height: u64,
) -> Result<Vec<Event>, TxError> {
    let result = execute(view, stx, params, proposer, height);
    match result {
        Ok(_) => view.commit_tx(),
        Err(_) => view.rollback_tx(),
    }
    result
}

fn execute(
    view: &mut StateView,
    stx: &SignedTx,
    params: &ChainParams,
    proposer: &AccountId,
    height: u64,
) -> Result<Vec<Event>, TxError> {
    check_stateless(stx, params)?;
    let tx = &stx.tx;
    // Free calls (signed by hotkeys) may come from accounts that never held TAO.
    let mut sender = match view.account(&tx.signer)? {
        Some(a) => a,
        None if tx.fee == 0 => Default::default(),
        None => return Err(TxError::AccountNotFound { account: tx.signer }),
    };
    if tx.nonce != sender.nonce {
        return Err(TxError::BadNonce {
            expected: sender.nonce,
            got: tx.nonce,
        });
    }
    // What leaves the free balance besides the fee.
    let spend = match &tx.call {
        Call::Transfer { amount, .. }
        | Call::AddStake { amount, .. }
        | Call::RemoveStake { amount, .. }
            if *amount == 0 =>
        {
            return Err(TxError::ZeroAmount)
        }
        Call::Transfer { amount, .. } | Call::AddStake { amount, .. } => *amount,
        // Registration costs are checked and burned by the subnet calls themselves.
        _ => 0,
    };
    let needed = spend.checked_add(tx.fee).ok_or(TxError::AmountOverflow)?;
    if sender.free < needed {
        return Err(TxError::InsufficientBalance {
            needed,
            available: sender.free,
        });
    }
    sender.free -= needed;
    sender.nonce += 1;
    view.set_account(&tx.signer, &sender);
    let signer = tx.signer;
    let event = match &tx.call {
        Call::Transfer { to, amount } => {
            credit(view, to, *amount)?;
            Event::Transfer {
                from: signer,
                to: *to,
                amount: *amount,
            }
        }
        Call::AddStake { hotkey, amount } => {
            if *amount < MIN_STAKE {
                return Err(TxError::StakeBelowMinimum {
                    amount: *amount,
                    minimum: MIN_STAKE,
                });
            }
            staking::bond(view, &signer, hotkey, *amount)?;
            Event::StakeAdded {
                coldkey: signer,
                hotkey: *hotkey,
                amount: *amount,
            }
        }
        Call::RemoveStake { hotkey, amount } => {
            staking::unbond(view, &signer, hotkey, *amount)?;
            credit(view, &signer, *amount)?;
            Event::StakeRemoved {
                coldkey: signer,
                hotkey: *hotkey,
                amount: *amount,
            }
        }
        Call::SetTake { hotkey, take } => {
            let mut info = staking::hotkey(view, hotkey)?
                .ok_or(TxError::HotkeyNotFound { hotkey: *hotkey })?;
            if info.owner != signer {
                return Err(TxError::NotHotkeyOwner {
                    hotkey: *hotkey,
                    owner: info.owner,
                });
            }
            if *take > MAX_TAKE {
                return Err(TxError::TakeTooHigh {
                    take: *take,
                    max: MAX_TAKE,
                });
            }
            info.take = *take;
            view.put(state::hotkey_key(hotkey), &info);
            Event::TakeSet {
                hotkey: *hotkey,
                take: *take,
            }
        }
        Call::RegisterValidator { hotkey } => validators::register(view, &signer, hotkey, height)?,
        Call::UnregisterValidator { hotkey } => validators::unregister(view, &signer, hotkey)?,
        Call::ReportEquivocation { evidence } => {
            validators::punish(view, evidence, params, height)?
        }
        // Issue 19: wallet calls.
        Call::SwapHotkey { old, new } => swap::swap_hotkey(view, &signer, old, new, height)?,
        Call::MoveStake {
            from_hotkey,
            to_hotkey,
            amount,
        } => stake_moves::move_stake(view, &signer, from_hotkey, to_hotkey, *amount)?,
        Call::TransferStake {
            hotkey,
            dest,
            amount,
        } => stake_moves::transfer_stake(view, &signer, hotkey, dest, *amount)?,
        Call::RemoveAllStake { hotkey } => stake_moves::remove_all_stake(view, &signer, hotkey)?,
        call => subnet::calls::apply(view, &signer, call, params, height)?,
    };
    let mut events = vec![event];
    credit(view, proposer, tx.fee)?;
    events.push(Event::FeePaid {
        payer: tx.signer,
        proposer: *proposer,
        amount: tx.fee,
    });
    Ok(events)
}

/// Adds to an account's free balance, creating the account on first funding.
fn credit(view: &mut StateView, who: &AccountId, amount: u64) -> Result<(), TxError> {
    if amount == 0 {
        return Ok(());
    }
    let mut acct: Account = view.account(who)?.unwrap_or_default();
    acct.free = acct
        .free
        .checked_add(amount)
        .ok_or(TxError::AmountOverflow)?;
    view.set_account(who, &acct);
    Ok(())
}
