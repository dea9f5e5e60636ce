//! Every key the ledger writes, in one place: the `Meta` column's keys, the block columns' key
//! layout, and each record kind of the `State` column with its prefix byte, key layout and value
//! type. State keys are `prefix ‖ parts`, numbers big-endian (so scans run in numeric order),
//! accounts as their 32 bytes. Everything in the `State` column is covered by the state root, so
//! a prefix or layout here is a consensus rule: never reuse or renumber one.
//!
//! A module that owns a record builds its keys from these prefixes; `tables_are_distinct` checks
//! that no two kinds share a byte.

use tensorchain_primitives::AccountId;

/// Declares the `State` column's record kinds: `NAME = byte, "key layout" => "value type"`.
macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident = $byte:literal, $key:literal => $value:literal;)*) => {
        $($(#[$doc])* #[doc = concat!("\n\nKey: `", stringify!($byte), " ‖ ", $key, "`; value: `", $value, "`.")]
        pub const $name: u8 = $byte;)*

        /// Every record kind: (name, prefix, key layout, value type), for docs and the checks below.
        pub const TABLES: &[(&str, u8, &str, &str)] = &[$((stringify!($name), $byte, $key, $value)),*];
    };
}

tables! {
    /// Chain-wide counters behind the supply invariant (`state::Globals`).
    GLOBALS = 0x00, "()" => "Globals";
    /// The chain's rules fixed at genesis.
    PARAMS = 0x01, "()" => "ChainParams";
    ACCOUNT = 0x02, "account" => "Account";
    /// Stake by hotkey first: who backs a hotkey.
    STAKE = 0x03, "hotkey ‖ coldkey" => "u64 rao";
    HOTKEY = 0x04, "hotkey" => "HotkeyInfo";
    /// The validator schedule: the current set and the next.
    VALIDATORS = 0x05, "()" => "validators::Schedule";
    /// The same stake as `STAKE` by coldkey first: an account's stakes.
    COLDKEY_STAKE = 0x06, "coldkey ‖ hotkey" => "u64 rao";
    VALIDATOR_CANDIDATE = 0x07, "hotkey" => "validators::Candidate";
    VALIDATOR_JAIL = 0x08, "hotkey" => "u64 jailed until";
    /// Equivocations already punished.
    EVIDENCE = 0x09, "offender ‖ height" => "()";
    /// Set when the validator set must be recomputed at the end of the block.
    VALIDATOR_RECOMPUTE = 0x0a, "()" => "bool";
    /// Recent stake additions, so an epoch counts only settled stake.
    RECENT_ADDS = 0x0b, "hotkey ‖ coldkey" => "Vec<(u64 block, u64 rao)>";
    UNBONDING_BY_COLDKEY = 0x0c, "coldkey ‖ hotkey ‖ release_at" => "unbonding::Entry";
    UNBONDING_BY_HOTKEY = 0x0d, "hotkey ‖ coldkey ‖ release_at" => "unbonding::Entry";
    UNBONDING_BY_RELEASE = 0x0e, "release_at ‖ coldkey ‖ hotkey" => "unbonding::Entry";
    /// Every validator set by the first height it governs, kept for the evidence window, so an
    /// offence is judged against the set of its own height.
    VALIDATOR_HISTORY = 0x0f, "from_height" => "ValidatorSet";
    SUBNET = 0x10, "netuid" => "subnets::Subnet";
    NEURON = 0x11, "netuid ‖ uid" => "subnets::Neuron";
    UID_OF = 0x12, "netuid ‖ hotkey" => "u16 uid";
    WEIGHTS = 0x13, "netuid ‖ uid" => "Row (uid, u16 weight)";
    BONDS = 0x14, "netuid ‖ uid" => "Row (uid, u16 bond)";
    EPOCHS = 0x15, "netuid ‖ block" => "subnets::EpochSummary";
    /// Netuids in use and the lock-cost state.
    SUBNET_REGISTRY = 0x16, "()" => "subnets::Registry";
    ROOT_MEMBERS = 0x17, "()" => "Vec<AccountId>";
    ROOT_WEIGHTS = 0x18, "hotkey" => "Row (netuid, u16 weight)";
    ROOT_SHARES = 0x19, "()" => "root::RootShares";
    WEIGHT_COMMITS = 0x1a, "netuid ‖ hotkey" => "Vec<subnets::WeightsCommit>";
    /// The last height a hotkey that left the set signed for: its stake unbonds for a while after.
    VALIDATOR_LEFT = 0x1b, "hotkey" => "u64 height";
    ROOT_LAST_SET = 0x1c, "hotkey" => "u64 block";
    /// The block at which the stake-elected set first replaced the bootstrap set.
    HANDED_OVER = 0x1d, "()" => "u64 height";
    /// The last block each signer's faucet solution named.
    FAUCET_LAST = 0x1e, "account" => "u64 block";
    FAUCET_BLOCK = 0x1f, "()" => "(u64 height, u32 payouts)";
    /// Last hotkey swap per coldkey. 0x30 keeps clear of the ranges above (0x00–0x0f core,
    /// 0x10–0x1f subnets).
    LAST_SWAP = 0x30, "coldkey" => "u64 height";
}

/// `prefix ‖ parts`: a state key, or a prefix of keys to scan.
pub fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// A key of one account under `prefix`.
pub fn account_keyed(prefix: u8, id: &AccountId) -> Vec<u8> {
    key(prefix, &[&id.0])
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
    account_keyed(ACCOUNT, id)
}

pub fn stake_key(hotkey: &AccountId, coldkey: &AccountId) -> Vec<u8> {
    key(STAKE, &[&hotkey.0, &coldkey.0])
}

pub fn coldkey_stake_key(coldkey: &AccountId, hotkey: &AccountId) -> Vec<u8> {
    key(COLDKEY_STAKE, &[&coldkey.0, &hotkey.0])
}

pub fn hotkey_key(hotkey: &AccountId) -> Vec<u8> {
    account_keyed(HOTKEY, hotkey)
}

/// `prefix ‖ netuid ‖ rest`: the layout of every per-subnet record.
pub fn subnet_keyed(prefix: u8, netuid: u16, rest: &[u8]) -> Vec<u8> {
    key(prefix, &[&netuid.to_be_bytes(), rest])
}

// Keys of the other columns.

/// `Meta`: the committed head (`chain::Head`).
pub const META_HEAD: &[u8] = b"head";
/// `Meta`: the genesis block's hash.
pub const META_GENESIS: &[u8] = b"genesis_hash";
/// `Meta`: the oldest height whose state is still kept (`chain::versioned`).
pub const META_OLDEST: &[u8] = b"state_oldest";

/// `Headers`, `Bodies`, `Commits`: by big-endian height.
pub fn height_key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_distinct() {
        let mut bytes: Vec<u8> = TABLES.iter().map(|t| t.1).collect();
        bytes.sort_unstable();
        let n = bytes.len();
        bytes.dedup();
        assert_eq!(bytes.len(), n, "two record kinds share a prefix byte");
        let mut names: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
