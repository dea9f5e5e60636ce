//! Proof-of-work registration (Bittensor's launch mechanism): a free `pow_register` whose work
//! meets the subnet's difficulty, which adjusts every `adjustment_interval` blocks toward
//! `target_registrations_per_interval`, clamped to `[min_difficulty, max_difficulty]`.

use super::Subnet;
use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::runtime::params::PowParams;
use crate::state::view::StateView;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use tensorchain_primitives::pow::{meets_difficulty, work, WorkKind};
use tensorchain_primitives::{AccountId, Hash};

pub use tensorchain_primitives::pow::POW_MAX_AGE;

/// A PoW subnet's live state.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct PowState {
    pub params: PowParams,
    pub difficulty: u64,
    /// First block of the current adjustment interval and registrations since.
    pub interval_start: u64,
    pub interval_registrations: u32,
    /// Registrations in block `block` (for `max_registrations_per_block`).
    pub block: u64,
    pub block_registrations: u32,
}

impl PowState {
    pub fn new(params: PowParams, now: u64) -> PowState {
        PowState {
            difficulty: params.difficulty,
            params,
            interval_start: now,
            interval_registrations: 0,
            block: now,
            block_registrations: 0,
        }
    }
}

/// subtensor's rule: next = current · (registrations + target) / (2 · target), clamped. At the
/// target it stays; with none it halves; at three times the target it doubles.
pub fn adjusted(current: u64, registrations: u32, p: &PowParams) -> u64 {
    let target = p.target_registrations_per_interval.max(1) as u128;
    let next = current as u128 * (registrations as u128 + target) / (2 * target);
    next.clamp(p.min_difficulty as u128, p.max_difficulty as u128) as u64
}

/// End of block `height`: closes the adjustment interval when it is over.
pub fn on_block(state: &mut PowState, height: u64) {
    if height.saturating_sub(state.interval_start) >= state.params.adjustment_interval {
        state.difficulty = adjusted(
            state.difficulty,
            state.interval_registrations,
            &state.params,
        );
        state.interval_start = height;
        state.interval_registrations = 0;
    }
}

/// Counts one registration (burned or PoW) against the per-block cap and the interval.
pub fn count_registration(s: &mut Subnet, now: u64) -> Result<(), TxError> {
    let netuid = s.netuid;
    let Some(p) = s.pow.as_mut() else {
        return Ok(());
    };
    if p.block != now {
        p.block = now;
        p.block_registrations = 0;
    }
    if p.block_registrations >= p.params.max_registrations_per_block {
        return Err(TxError::TooManyRegistrationsThisBlock {
            netuid,
            max: p.params.max_registrations_per_block,
        });
    }
    p.block_registrations += 1;
    p.interval_registrations = p.interval_registrations.saturating_add(1);
    Ok(())
}

/// The hash of a recent block a solution names: refuses blocks not yet made and blocks older
/// than `POW_MAX_AGE`.
pub fn recent_block_hash(view: &StateView, block_number: u64, now: u64) -> Result<Hash, TxError> {
    if block_number >= now {
        return Err(TxError::PowBlockInFuture {
            block_number,
            head: now - 1,
        });
    }
    let oldest = now.saturating_sub(POW_MAX_AGE);
    if block_number < oldest {
        return Err(TxError::PowBlockStale {
            block_number,
            oldest,
        });
    }
    view.block_hash(block_number)?
        .ok_or_else(|| TxError::Storage(format!("block {block_number} is not stored")))
}

/// The solution `(block_number, nonce)` for `hotkey`/`coldkey` meets `difficulty`.
pub fn check_work(
    view: &StateView,
    kind: WorkKind,
    (hotkey, coldkey): (&AccountId, &AccountId),
    (block_number, nonce): (u64, u64),
    difficulty: u64,
    now: u64,
) -> Result<(), TxError> {
    let block_hash = recent_block_hash(view, block_number, now)?;
    let genesis = view.genesis_hash()?;
    let hash = work(kind, &genesis, &block_hash, hotkey, coldkey, nonce);
    if !meets_difficulty(&hash, difficulty) {
        return Err(TxError::PowWorkTooEasy { difficulty });
    }
    Ok(())
}

/// `pow_register`, signed by the hotkey: the checks in a fixed order (mode, registered, block,
/// work, per-block cap), then the neuron takes a seat as with a burned registration.
pub fn register(
    view: &mut StateView,
    signer: &AccountId,
    (netuid, hotkey, coldkey): (u16, &AccountId, &AccountId),
    solution: (u64, u64),
    now: u64,
) -> Result<Event, TxError> {
    if signer != hotkey {
        return Err(TxError::PowSignerNotHotkey);
    }
    let mut s = super::calls::registration_open(view, netuid, hotkey, |s| {
        s.registration.allows_pow() && s.pow.is_some()
    })?;
    let difficulty = s.pow.as_ref().map_or(u64::MAX, |p| p.difficulty);
    check_work(
        view,
        WorkKind::Register,
        (hotkey, coldkey),
        solution,
        difficulty,
        now,
    )?;
    count_registration(&mut s, now)?;
    super::calls::claim_hotkey(view, coldkey, hotkey)?;
    let (uid, replaced) = super::calls::seat_neuron(view, &mut s, hotkey, coldkey, now)?;
    let mut neuron = super::neuron(view, netuid, uid)?
        .ok_or_else(|| TxError::Storage(format!("uid {uid} of subnet {netuid} was just seated")))?;
    neuron.work = difficulty;
    view.put(super::neuron_key(netuid, uid), &neuron);
    view.put(super::subnet_key(netuid), &s);
    Ok(Event::NeuronRegistered {
        netuid,
        uid,
        hotkey: *hotkey,
        cost: 0,
        replaced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> PowParams {
        PowParams {
            difficulty: 1000,
            min_difficulty: 100,
            max_difficulty: 10_000,
            adjustment_interval: 10,
            target_registrations_per_interval: 4,
            max_registrations_per_block: 2,
        }
    }

    #[test]
    fn difficulty_rises_above_the_target_falls_below_and_holds_at_it() {
        let p = params();
        assert_eq!(adjusted(1000, 4, &p), 1000);
        assert_eq!(adjusted(1000, 12, &p), 2000);
        assert!(adjusted(1000, 5, &p) > 1000);
        assert_eq!(adjusted(1000, 0, &p), 500);
        assert!(adjusted(1000, 3, &p) < 1000);
    }

    #[test]
    fn difficulty_stays_within_its_clamp() {
        let p = params();
        assert_eq!(adjusted(150, 0, &p), 100, "floor");
        assert_eq!(adjusted(9000, 400, &p), 10_000, "ceiling");
        assert_eq!(adjusted(u64::MAX, u32::MAX, &p), 10_000, "no overflow");
        let mut d = p.difficulty;
        for regs in [0, 0, 0, 0, 0, 100, 100, 100, 100, 0] {
            d = adjusted(d, regs, &p);
            assert!((p.min_difficulty..=p.max_difficulty).contains(&d));
        }
    }

    #[test]
    fn the_interval_closes_on_its_boundary_only() {
        let mut st = PowState::new(params(), 0);
        st.interval_registrations = 12;
        on_block(&mut st, 9);
        assert_eq!(st.difficulty, 1000, "interval not over");
        on_block(&mut st, 10);
        assert_eq!(
            (st.difficulty, st.interval_start, st.interval_registrations),
            (2000, 10, 0)
        );
        on_block(&mut st, 20);
        assert_eq!(st.difficulty, 1000, "no registrations: halves");
    }

    #[test]
    fn params_are_checked() {
        assert!(params().validate().is_ok());
        assert!(PowParams::mainnet().validate().is_ok());
        assert!(PowParams::testnet().validate().is_ok());
        let bad = PowParams {
            difficulty: 50,
            ..params()
        };
        assert!(bad.validate().is_err());
        let bad = PowParams {
            max_registrations_per_block: 0,
            ..params()
        };
        assert!(bad.validate().is_err());
    }
}
