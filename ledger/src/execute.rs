//! Transaction validity and execution. A failing transaction returns a named error and leaves
//! the view exactly as it was.

use crate::staking;
use crate::state::{self, Account, ChainParams, MAX_TAKE, MIN_STAKE};
use crate::store::StoreError;
use crate::subnet::{self, SUBNET_LIMIT};
use crate::validators;
use crate::verify::VerifiedTx;
use crate::view::StateView;
use crate::{stake_moves, swap};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use serde_json::json;
use tensorchain_primitives::{
    AccountId, Call, SignatureError, SignedTx, SigningDomain, MAX_TX_BYTES,
};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
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
    TakeRateLimited { last: u64, retry_after_blocks: u64 },
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
            TxError::TxTooLarge { .. } => "tx_too_large",
            TxError::SaltTooLong { .. } => "salt_too_long",
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
            TxError::TakeRateLimited { .. } => "take_rate_limited",
            TxError::HyperparameterRateLimited { .. } => "hyperparameter_rate_limited",
            TxError::ServingRateLimited { .. } => "serving_rate_limited",
            TxError::RootStakeNotSettled { .. } => "root_stake_not_settled",
            TxError::HyperparameterFreezeWindow { .. } => "hyperparameter_freeze_window",
            TxError::PowBlockStale { .. } => "pow_block_stale",
            TxError::PowBlockInFuture { .. } => "pow_block_in_future",
            TxError::PowWorkTooEasy { .. } => "pow_work_too_easy",
            TxError::TooManyRegistrationsThisBlock { .. } => "too_many_registrations_this_block",
            TxError::PowSignerNotHotkey => "pow_signer_not_hotkey",
            TxError::WrongRegistrationMode { .. } => "wrong_registration_mode",
            TxError::FaucetDisabled => "faucet_disabled",
            TxError::FaucetSolutionUsed { .. } => "faucet_solution_used",
            TxError::FaucetBusy { .. } => "faucet_busy",
            TxError::SameHotkey => "same_hotkey",
            TxError::SameColdkey => "same_coldkey",
            TxError::NoStake { .. } => "no_stake",
            TxError::NewHotkeyInUse { .. } => "new_hotkey_in_use",
            TxError::HotkeySwapRateLimited { .. } => "hotkey_swap_rate_limited",
            TxError::HotkeyIsActiveValidator { .. } => "hotkey_is_active_validator",
            TxError::StakeBondedToValidator { .. } => "stake_bonded_to_validator",
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
                "sign blake3(\"tensorchain/tx/v2\" ‖ genesis_hash ‖ borsh(tx)) with the signer's key, \
                 using genesis_hash from GET /v1/chain: a tx signed for another network (even one \
                 with this chain id) fails here"
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
            TxError::TxTooLarge { .. } => "split the call (fewer weights or a shorter field)",
            TxError::SaltTooLong { .. } => "commit again with a shorter salt (16 bytes is plenty)",
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
            TxError::TakeRateLimited { .. } => {
                "lowering the take is always allowed; a raise waits details.retry_after_blocks"
            }
            TxError::HyperparameterRateLimited { .. } | TxError::ServingRateLimited { .. } => {
                "wait the number of blocks in details.retry_after_blocks"
            }
            TxError::RootStakeNotSettled { .. } => {
                "stake behind the hotkey, then register after the next root epoch"
            }
            TxError::HyperparameterFreezeWindow { .. } => {
                "send it after the subnet's next epoch (details.blocks_to_epoch)"
            }
            TxError::PowBlockStale { .. } | TxError::PowBlockInFuture { .. } => {
                "solve again against the head block (`tensorchain subnet pow-register` does this)"
            }
            TxError::PowWorkTooEasy { .. } => {
                "search more nonces until the work meets the subnet's difficulty"
            }
            TxError::TooManyRegistrationsThisBlock { .. } => "retry in the next block",
            TxError::PowSignerNotHotkey => "sign pow_register with the hotkey's own key",
            TxError::WrongRegistrationMode { .. } => {
                "see `registration` in GET /v1/subnets/{netuid}: pow_register or burned_register"
            }
            TxError::FaucetDisabled => "earn TAO by registering a miner with `subnet pow-register`",
            TxError::FaucetSolutionUsed { .. } => "solve again against the head block",
            TxError::FaucetBusy { .. } => "retry in the next block",
            TxError::SameHotkey => "give two different hotkeys",
            TxError::SameColdkey => "to move stake between your hotkeys use `tensorchain stake move`",
            TxError::NoStake { .. } => "check your stakes with `tensorchain stake list`",
            TxError::NewHotkeyInUse { .. } => {
                "swap to a fresh hotkey (`tensorchain wallet new-hotkey -H NEW`)"
            }
            TxError::HotkeySwapRateLimited { .. } => {
                "wait the number of blocks in details.retry_after_blocks"
            }
            TxError::StakeBondedToValidator { .. } => {
                "use `tensorchain stake remove` (unbonding), then stake the freed TAO"
            }
            TxError::HotkeyIsActiveValidator { .. } => {
                "unregister the validator; swap once it left the set and the evidence window passed"
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
            TxError::HotkeyNotFound { hotkey } | TxError::RootStakeNotSettled { hotkey } => {
                json!({"hotkey": hotkey})
            }
            TxError::HyperparameterFreezeWindow {
                netuid,
                blocks_to_epoch,
            } => json!({"netuid": netuid, "blocks_to_epoch": blocks_to_epoch}),
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
            TxError::WeightsRateLimited { retry_after_blocks }
            | TxError::ServingRateLimited { retry_after_blocks } => {
                json!({"retry_after_blocks": retry_after_blocks})
            }
            TxError::TakeRateLimited {
                last,
                retry_after_blocks,
            } => json!({"last_increase": last, "retry_after_blocks": retry_after_blocks}),
            TxError::HyperparameterRateLimited {
                netuid,
                retry_after_blocks,
            } => json!({"netuid": netuid, "retry_after_blocks": retry_after_blocks}),
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
            TxError::PowBlockStale {
                block_number,
                oldest,
            } => json!({"block_number": block_number, "oldest": oldest}),
            TxError::PowBlockInFuture { block_number, head } => {
                json!({"block_number": block_number, "head": head})
            }
            TxError::PowWorkTooEasy { difficulty } => json!({"difficulty": difficulty}),
            TxError::TooManyRegistrationsThisBlock { netuid, max } => {
                json!({"netuid": netuid, "max": max})
            }
            TxError::WrongRegistrationMode { netuid, mode } => {
                json!({"netuid": netuid, "mode": mode})
            }
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

            TxError::TxTooLarge { size, max } => json!({"size": size, "max": max}),
            TxError::SaltTooLong { max } => json!({"max": max}),
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
    /// A fee taken while bootstrap validators govern: recycled, never paid to a launcher's key.
    FeeRecycled {
        payer: AccountId,
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
    /// A take change: decreases apply at `effective_at` = the block itself, increases later.
    TakeSet {
        hotkey: AccountId,
        take: u16,
        effective_at: u64,
    },
    /// Stake left a hotkey that answers for consensus: slashable until `release_at`.
    StakeUnbonding {
        coldkey: AccountId,
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
        release_at: u64,
    },
    /// End of block: unbonding stake became free balance.
    UnbondingReleased {
        coldkey: AccountId,
        hotkey: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
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
    /// Devnet faucet: newly minted rao for work.
    FaucetPaid {
        to: AccountId,
        #[serde(with = "tensorchain_primitives::amount::as_string")]
        amount: u64,
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

/// Checks that need no state: size, chain id, signature (made for `domain`'s network), fee.
pub fn check_stateless(
    stx: &SignedTx,
    params: &ChainParams,
    domain: &SigningDomain,
) -> Result<(), TxError> {
    let size = borsh::object_length(stx).unwrap_or(usize::MAX);
    check_stateless_given(stx, params, size, || stx.verify_signature(domain))
}

/// As `check_stateless` for a transaction of encoded `size`, with the signature check handed in
/// (`crate::verify` answers it from the verified-signature cache or runs `verify_strict`), in
/// the same order, so a transaction fails with the same error either way.
pub(crate) fn check_stateless_given(
    stx: &SignedTx,
    params: &ChainParams,
    size: usize,
    signature: impl FnOnce() -> Result<(), SignatureError>,
) -> Result<(), TxError> {
    let tx = &stx.tx;
    // First, before any hashing or signature check: the size bounds the work of everything after.
    if size > MAX_TX_BYTES {
        return Err(TxError::TxTooLarge {
            size,
            max: MAX_TX_BYTES,
        });
    }
    if tx.chain_id != params.chain_id {
        return Err(TxError::WrongChainId {
            expected: params.chain_id.clone(),
            got: tx.chain_id.clone(),
        });
    }
    signature()?;
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
    domain: &SigningDomain,
    proposer: &AccountId,
    height: u64,
) -> Result<Vec<Event>, TxError> {
    check_stateless(stx, params, domain)?;
    apply_checked(view, stx, params, domain, proposer, height)
}

/// As `apply_tx` for a transaction whose stateless checks passed on this node: the stateful
/// checks and the execution only.
pub fn apply_verified(
    view: &mut StateView,
    stx: &VerifiedTx,
    params: &ChainParams,
    domain: &SigningDomain,
    proposer: &AccountId,
    height: u64,
) -> Result<Vec<Event>, TxError> {
    apply_checked(view, stx.tx(), params, domain, proposer, height)
}

/// The stateful part of `apply_tx`. Crate-private: outside the ledger only a `VerifiedTx` (whose
/// stateless checks passed) may skip them, through `apply_verified`.
pub(crate) fn apply_checked(
    view: &mut StateView,
    stx: &SignedTx,
    params: &ChainParams,
    domain: &SigningDomain,
    proposer: &AccountId,
    height: u64,
) -> Result<Vec<Event>, TxError> {
    let result = execute(view, stx, params, domain, proposer, height);
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
    domain: &SigningDomain,
    proposer: &AccountId,
    height: u64,
) -> Result<Vec<Event>, TxError> {
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
    // On a no-premine chain everything earned is stake: an unstake may pay its fee out of the
    // rao it frees (checked after the call; a failure rolls it all back).
    let fee_from_removal = matches!(
        tx.call,
        Call::RemoveStake { .. } | Call::RemoveAllStake { .. }
    ) && sender.free < needed;
    if !fee_from_removal {
        if sender.free < needed {
            return Err(TxError::InsufficientBalance {
                needed,
                available: sender.free,
            });
        }
        sender.free -= needed;
    }
    sender.nonce += 1;
    view.set_account(&tx.signer, &sender)?;
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
            staking::add(view, &signer, hotkey, *amount, height)?;
            Event::StakeAdded {
                coldkey: signer,
                hotkey: *hotkey,
                amount: *amount,
            }
        }
        Call::RemoveStake { hotkey, amount } => {
            stake_moves::remove_stake(view, &signer, hotkey, *amount, (params, height))?
        }
        Call::SetTake { hotkey, take } => set_take(view, &signer, hotkey, *take, params, height)?,
        Call::RegisterValidator { hotkey } => validators::register(view, &signer, hotkey, height)?,
        Call::UnregisterValidator { hotkey } => validators::unregister(view, &signer, hotkey)?,
        Call::ReportEquivocation { evidence } => {
            validators::punish(view, evidence, params, domain, height)?
        }
        Call::Faucet {
            block_number,
            nonce,
        } => faucet(view, &signer, params, (*block_number, *nonce), height)?,
        // Issue 19: wallet calls.
        Call::SwapHotkey { old, new } => {
            swap::swap_hotkey(view, &signer, old, new, (params, height))?
        }
        Call::MoveStake {
            from_hotkey,
            to_hotkey,
            amount,
        } => stake_moves::move_stake(
            view,
            &signer,
            from_hotkey,
            to_hotkey,
            *amount,
            (params, height),
        )?,
        Call::TransferStake {
            hotkey,
            dest,
            amount,
        } => stake_moves::transfer_stake(view, &signer, hotkey, dest, *amount, height)?,
        Call::RemoveAllStake { hotkey } => {
            stake_moves::remove_all_stake(view, &signer, hotkey, (params, height))?
        }
        call => subnet::calls::apply(view, &signer, call, params, height)?,
    };
    if fee_from_removal {
        let mut after = view.account(&tx.signer)?.unwrap_or_default();
        if after.free < tx.fee {
            return Err(TxError::InsufficientBalance {
                needed: tx.fee,
                available: after.free,
            });
        }
        after.free -= tx.fee;
        view.set_account(&tx.signer, &after)?;
    }
    let mut events = vec![event];
    // Until the handover, proposers are the launcher's bootstrap keys: a fair launch pays them
    // nothing, so fees are recycled instead (docs/launch.md).
    if validators::bootstrapping(view, params, height)? {
        crate::subnet::calls::recycle(view, tx.fee)?;
        events.push(Event::FeeRecycled {
            payer: tx.signer,
            amount: tx.fee,
        });
    } else {
        credit(view, proposer, tx.fee)?;
        events.push(Event::FeePaid {
            payer: tx.signer,
            proposer: *proposer,
            amount: tx.fee,
        });
    }
    Ok(events)
}

/// The devnet faucet: mints the chain's faucet amount to the signer for work (issuance grows
/// with it, so the supply invariant holds). Chains without a faucet refuse it.
/// State keys of the devnet faucet: the last block each signer's solution named, and this
/// block's payouts.
const FAUCET_LAST: u8 = 0x1e;
const FAUCET_BLOCK: u8 = 0x1f;
/// Faucet payouts per block: enough for a few people starting wallets at once, while a flood of
/// fresh keys cannot mint without bound.
const MAX_FAUCET_PER_BLOCK: u32 = 4;

fn faucet(
    view: &mut StateView,
    signer: &AccountId,
    params: &ChainParams,
    solution: (u64, u64),
    height: u64,
) -> Result<Event, TxError> {
    let f = params.faucet.as_ref().ok_or(TxError::FaucetDisabled)?;
    subnet::pow::check_work(
        view,
        tensorchain_primitives::pow::WorkKind::Faucet,
        (signer, signer),
        solution,
        f.difficulty,
        height,
    )?;
    // A solution pays once: each signer's solutions must name ever newer blocks.
    let mut last_key = vec![FAUCET_LAST];
    last_key.extend_from_slice(&signer.0);
    if let Some(last) = view.get::<u64>(&last_key)?.filter(|l| *l >= solution.0) {
        return Err(TxError::FaucetSolutionUsed { last_block: last });
    }
    view.put(last_key, &solution.0);
    // And the faucet as a whole pays a bounded amount per block, however many keys ask.
    let (at, paid): (u64, u32) = view.get(&[FAUCET_BLOCK])?.unwrap_or((height, 0));
    let paid = if at == height { paid } else { 0 };
    if paid >= MAX_FAUCET_PER_BLOCK {
        return Err(TxError::FaucetBusy {
            max: MAX_FAUCET_PER_BLOCK,
        });
    }
    view.put(vec![FAUCET_BLOCK], &(height, paid + 1));
    let mut g = view.globals()?;
    let room = tensorchain_primitives::MAX_SUPPLY.saturating_sub(g.total_issuance);
    let amount = f.amount.min(room);
    g.total_issuance += amount;
    view.set_globals(&g);
    credit(view, signer, amount)?;
    Ok(Event::FaucetPaid {
        to: *signer,
        amount,
    })
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
    view.set_account(who, &acct)?;
    Ok(())
}

/// Decreases apply at once; an increase is rate limited and applies `take_increase_delay` blocks
/// later, so a delegate cannot advertise a low take and raise it for the next epoch.
fn set_take(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
    take: u16,
    params: &ChainParams,
    height: u64,
) -> Result<Event, TxError> {
    let mut info =
        staking::hotkey(view, hotkey)?.ok_or(TxError::HotkeyNotFound { hotkey: *hotkey })?;
    if info.owner != *signer {
        return Err(TxError::NotHotkeyOwner {
            hotkey: *hotkey,
            owner: info.owner,
        });
    }
    if take > MAX_TAKE {
        return Err(TxError::TakeTooHigh {
            take,
            max: MAX_TAKE,
        });
    }
    let current = info.take_at(height);
    let v = &params.validators;
    let effective_at = if take <= current {
        info.take = take;
        info.pending_take = None;
        height
    } else {
        if let Some(last) = info.last_take_increase {
            let since = height.saturating_sub(last);
            if since < v.take_rate_limit {
                return Err(TxError::TakeRateLimited {
                    last,
                    retry_after_blocks: v.take_rate_limit - since,
                });
            }
        }
        info.take = current;
        // Nominators of a validator need the whole unbonding time to leave before it applies.
        let delay = if validators::answers_for_consensus(view, hotkey, params, height)? {
            v.take_increase_delay
                .max(validators::unbonding_release(params, height) - height + 1)
        } else {
            v.take_increase_delay
        };
        let effective_at = height.saturating_add(delay);
        info.pending_take = Some(state::PendingTake { take, effective_at });
        info.last_take_increase = Some(height);
        effective_at
    };
    view.put(state::hotkey_key(hotkey), &info);
    Ok(Event::TakeSet {
        hotkey: *hotkey,
        take,
        effective_at,
    })
}
