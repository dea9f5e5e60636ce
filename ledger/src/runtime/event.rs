//! What transactions and block ends did, recorded with their block and streamed to clients.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use tensorchain_primitives::AccountId;

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
