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

/// Chain-wide totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Globals {
    /// All rao in existence: free + staked + pending emission.
    pub total_issuance: u64,
    pub total_stake: u64,
    /// Rao undistributed and waiting for subnet epochs.
    pub pending_emission: u64,
    /// Rao taken out of circulation by recycling over the chain's life.
    pub total_recycled: u64,
}

/// Consensus parameters fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ChainParams {
    pub chain_id: String,
    pub block_time_ms: u64,
    pub fees: Fees,
}

/// The fixed fee per call kind, in rao.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub transfer: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Account {
    pub free: u64,
    /// Sum of this coldkey's stake over all hotkeys.
    pub staked: u64,
    /// Number of transactions this account has signed that were included.
    pub nonce: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HotkeyInfo {
    pub owner: AccountId,
    pub total_stake: u64,
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

pub fn hotkey_key(hotkey: &AccountId) -> Vec<u8> {
    prefixed(HOTKEY, &[&hotkey.0])
}

pub const ACCOUNT_PREFIX: u8 = ACCOUNT;
pub const STAKE_PREFIX: u8 = STAKE;

fn prefixed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![tag];
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// The validator set stored in state.
pub type ValidatorSet = Vec<Validator>;
