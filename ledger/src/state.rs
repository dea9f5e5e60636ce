//! The typed layout of consensus state in the `state` column: one prefix byte per record kind.
//! Everything here is covered by the state root.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use tensorchain_primitives::{AccountId, Validator};

const GLOBALS: u8 = 0x00;
const PARAMS: u8 = 0x01;
const ACCOUNT: u8 = 0x02;
const STAKE: u8 = 0x03;
const HOTKEY: u8 = 0x04;
const VALIDATORS: u8 = 0x05;
const COLDKEY_STAKE: u8 = 0x06;
// 0x07..=0x0a: validators.rs; 0x0b: staking.rs (recent additions); 0x0c..=0x0e: unbonding.rs;
// 0x0f, 0x1b and 0x1d: validators.rs (set history, left-set heights, bootstrap handover); 0x10..=0x1a, 0x1c: subnet/;
// 0x1e, 0x1f: execute.rs (devnet faucet); 0x30: swap.rs.

/// Chain-wide totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Globals {
    /// All rao in existence: free + staked + pending emission.
    pub total_issuance: u64,
    pub total_stake: u64,
    /// Rao undistributed and waiting for subnet epochs.
    pub pending_emission: u64,
    /// Rao taken out of circulation by recycling over the chain's life (slashes included).
    pub total_recycled: u64,
    /// Σ free balances, kept as a running total by `StateView::set_account` (never derived).
    pub total_free: u64,
    /// Rao leaving stake that stays slashable until its unbonding ends.
    pub total_unbonding: u64,
    /// Rao cut from equivocators' stake over the chain's life (also counted in `total_recycled`).
    pub total_slashed: u64,
}

impl Globals {
    /// What every rao of issuance must be: free, staked, unbonding or pending emission.
    pub fn accounted(&self) -> u128 {
        self.total_free as u128
            + self.total_stake as u128
            + self.total_unbonding as u128
            + self.pending_emission as u128
    }

    pub fn invariant_ok(&self) -> bool {
        self.accounted() == self.total_issuance as u128
    }
}

/// Consensus parameters fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ChainParams {
    pub chain_id: String,
    pub block_time_ms: u64,
    pub fees: Fees,
    /// May set any subnet hyperparameter (devnet only).
    pub sudo: Option<AccountId>,
    pub subnets: crate::subnet::SubnetParams,
    pub validators: crate::validators::ValidatorParams,
    /// Devnets only: rao minted for a proof of work (`Call::Faucet`).
    pub faucet: Option<FaucetParams>,
}

/// The devnet faucet's payout and the work it asks for.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaucetParams {
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub amount: u64,
    pub difficulty: u64,
}

/// The fixed fee per call kind, in rao.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub transfer: u64,
    /// add_stake, remove_stake and set_take.
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub staking: u64,
    /// register_subnet, burned_register and set_hyperparameter. serve_axon and set_weights are
    /// free: hotkeys sign them and rarely hold TAO; rate limits bound them instead.
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub subnet: u64,
}

impl Fees {
    pub fn for_call(&self, call: &tensorchain_primitives::Call) -> u64 {
        use tensorchain_primitives::Call;
        match call {
            Call::Transfer { .. } => self.transfer,
            Call::AddStake { .. } | Call::RemoveStake { .. } | Call::SetTake { .. } => self.staking,
            Call::RegisterSubnet { .. }
            | Call::BurnedRegister { .. }
            | Call::SetHyperparameter { .. } => self.subnet,
            Call::ServeAxon { .. }
            | Call::SetWeights { .. }
            | Call::SetRootWeights { .. }
            | Call::CommitWeights { .. }
            | Call::RevealWeights { .. } => 0,
            Call::RootRegister { .. } => self.subnet,
            Call::RegisterValidator { .. } | Call::UnregisterValidator { .. } => self.staking,
            // Evidence is free so any node's hotkey can report it; it only lands if it is valid.
            Call::ReportEquivocation { .. } => 0,
            // A new miner's hotkey holds no TAO: work bounds these instead of a fee.
            Call::PowRegister { .. } | Call::Faucet { .. } => 0,
            // Issue 19's wallet calls: staking fee (the swap's burn is charged by the call).
            Call::SwapHotkey { .. }
            | Call::MoveStake { .. }
            | Call::TransferStake { .. }
            | Call::RemoveAllStake { .. } => self.staking,
        }
    }
}

impl Fees {
    /// The fee of every call kind by its name, as clients look it up.
    pub fn by_call_name(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("transfer", self.transfer),
            ("add_stake", self.staking),
            ("remove_stake", self.staking),
            ("set_take", self.staking),
            ("register_subnet", self.subnet),
            ("burned_register", self.subnet),
            ("set_hyperparameter", self.subnet),
            ("serve_axon", 0),
            ("set_weights", 0),
            ("root_register", self.subnet),
            ("set_root_weights", 0),
            ("commit_weights", 0),
            ("reveal_weights", 0),
            ("register_validator", self.staking),
            ("unregister_validator", self.staking),
            ("report_equivocation", 0),
            ("pow_register", 0),
            ("faucet", 0),
            ("swap_hotkey", self.staking),
            ("move_stake", self.staking),
            ("transfer_stake", self.staking),
            ("remove_all_stake", self.staking),
        ]
    }
}

/// Smallest stake an add_stake may move (0.002 TAO, subtensor's DefaultMinStake).
pub const MIN_STAKE: u64 = 2_000_000;
/// Largest delegate take, and the default: 18% (11796 / 65535).
pub const MAX_TAKE: u16 = 11796;

#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Account {
    pub free: u64,
    /// Sum of this coldkey's stake over all hotkeys.
    pub staked: u64,
    /// Sum of this coldkey's stake that is unbonding (slashable, earning nothing).
    pub unbonding: u64,
    /// Number of transactions this account has signed that were included.
    pub nonce: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HotkeyInfo {
    pub owner: AccountId,
    pub total_stake: u64,
    /// Share of validator dividends the owner keeps before nominators share the rest.
    pub take: u16,
    /// A take increase waiting for its delay: nominators see it coming before it applies.
    pub pending_take: Option<PendingTake>,
    /// Block of the last take increase (rate limited by `take_rate_limit`).
    pub last_take_increase: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct PendingTake {
    pub take: u16,
    pub effective_at: u64,
}

impl HotkeyInfo {
    pub fn new(owner: AccountId) -> HotkeyInfo {
        HotkeyInfo {
            owner,
            total_stake: 0,
            take: MAX_TAKE,
            pending_take: None,
            last_take_increase: None,
        }
    }

    /// The take that applies at `height`: a pending increase counts from its effective block.
    pub fn take_at(&self, height: u64) -> u16 {
        match self.pending_take {
            Some(p) if p.effective_at <= height => p.take,
            _ => self.take,
        }
    }
}

pub fn globals_key() -> Vec<u8> {
    vec![GLOBALS]
}

pub fn params_key() -> Vec<u8> {
    vec![PARAMS]
}

pub fn validators_key() -> Vec<u8> {
    vec![VALIDATORS]
}

pub fn account_key(id: &AccountId) -> Vec<u8> {
    prefixed(ACCOUNT, &[&id.0])
}

pub fn stake_key(hotkey: &AccountId, coldkey: &AccountId) -> Vec<u8> {
    prefixed(STAKE, &[&hotkey.0, &coldkey.0])
}

/// The same stake indexed by coldkey first, to list an account's stakes.
pub fn coldkey_stake_key(coldkey: &AccountId, hotkey: &AccountId) -> Vec<u8> {
    prefixed(COLDKEY_STAKE, &[&coldkey.0, &hotkey.0])
}

pub fn hotkey_key(hotkey: &AccountId) -> Vec<u8> {
    prefixed(HOTKEY, &[&hotkey.0])
}

pub const ACCOUNT_PREFIX: u8 = ACCOUNT;
pub const STAKE_PREFIX: u8 = STAKE;
pub const COLDKEY_STAKE_PREFIX: u8 = COLDKEY_STAKE;
pub const HOTKEY_PREFIX: u8 = HOTKEY;

fn prefixed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![tag];
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// One validator set.
pub type ValidatorSet = Vec<Validator>;
