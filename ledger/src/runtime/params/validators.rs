//! Validator-set rules fixed at genesis: set size, epochs, slashing, unbonding, take limits and the
//! bootstrap handover.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Default evidence window: 10,000 blocks (2.8 h of 1 s devnet blocks, 33 h of mainnet's 12 s).
pub const EVIDENCE_MAX_AGE: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorParams {
    pub max_validators: u32,
    /// Blocks between recomputations of the set.
    pub epoch: u64,
    /// Share of the offender's stake cut per equivocation, in basis points.
    pub slash_bps: u16,
    pub jail_blocks: u64,
    /// Evidence older than this many blocks is refused.
    pub evidence_max_age: u64,
    /// Stake removed from a hotkey that validates (or did within `evidence_max_age`) stays
    /// slashable and earns nothing for this many blocks; never less than `evidence_max_age`, so
    /// no offence outlives the stake that answers for it.
    pub unbonding_blocks: u64,
    /// A hotkey's take may rise at most once per this many blocks (decreases apply at once).
    pub take_rate_limit: u64,
    /// A take increase applies this many blocks after it was sent, so nominators can leave first.
    pub take_increase_delay: u64,
    /// Bootstrap handover (no-premine launch, docs/launch.md): the genesis set keeps governing
    /// until the stake-elected set first holds at least this much stake in total ...
    #[serde(default)]
    pub handover_stake: u64,
    /// ... with at least this many validators. Both 0: any staked candidate takes over.
    #[serde(default)]
    pub handover_validators: u32,
}

impl ValidatorParams {
    pub fn standard(max_validators: u32, epoch: u64) -> ValidatorParams {
        ValidatorParams {
            max_validators,
            epoch: epoch.max(1),
            slash_bps: 500,
            jail_blocks: 1_000,
            evidence_max_age: EVIDENCE_MAX_AGE,
            unbonding_blocks: EVIDENCE_MAX_AGE,
            // One mainnet root tempo (360) and more: a delegate can raise its take about once
            // per devnet quarter hour / mainnet 3.3 hours, and nominators see it 360 blocks ahead.
            take_rate_limit: 1_000,
            take_increase_delay: 360,
            handover_stake: 0,
            handover_validators: 0,
        }
    }
}
