//! The typed layout of consensus state in the `state` column: one prefix byte per record kind.
//! Everything here is covered by the state root.

pub mod history;
pub mod pinned;
pub mod proof;
pub mod tree;
pub mod view;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use tensorchain_primitives::{AccountId, Validator};

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

/// One validator set.
pub type ValidatorSet = Vec<Validator>;
