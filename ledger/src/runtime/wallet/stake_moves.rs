//! Stake that changes hands or hotkeys in one call (issue 19): `move_stake`, `transfer_stake`, and
//! `remove_all_stake`, and the one unstaking path they share with `remove_stake`. Nothing passes
//! through free balance, so there is no window between an unstake and a restake, and "all" is
//! read when the block runs, so exactly zero remains.
//!
//! The economics rules hold across moves (docs/economics.md): stake arriving at a hotkey or a
//! coldkey counts as a new addition for stake timing (so a move in the epoch block earns nothing
//! from that epoch), and stake behind a hotkey that answers for consensus leaves it only through
//! unbonding (a move would let it escape a slash).

use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::runtime::params::ChainParams;
use crate::runtime::staking;
use crate::runtime::unbonding;
use crate::runtime::validators;
use crate::state::view::StateView;
use crate::state::MIN_STAKE;
use tensorchain_primitives::AccountId;

/// Takes `amount` of the signer's stake off `hotkey`: into unbonding if the hotkey answers for
/// consensus, else straight to the free balance.
pub fn remove_stake(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
    amount: u64,
    (params, height): (&ChainParams, u64),
) -> Result<Event, TxError> {
    staking::unbond(view, signer, hotkey, amount)?;
    if validators::answers_for_consensus(view, hotkey, params, height)? {
        let release_at = validators::unbonding_release(params, height);
        unbonding::start(view, signer, hotkey, amount, release_at)?;
        return Ok(Event::StakeUnbonding {
            coldkey: *signer,
            hotkey: *hotkey,
            amount,
            release_at,
        });
    }
    let mut account = view.account(signer)?.unwrap_or_default();
    account.free = account
        .free
        .checked_add(amount)
        .ok_or(TxError::AmountOverflow)?;
    view.set_account(signer, &account)?;
    Ok(Event::StakeRemoved {
        coldkey: *signer,
        hotkey: *hotkey,
        amount,
    })
}

fn check_amount(amount: u64) -> Result<(), TxError> {
    match amount {
        0 => Err(TxError::ZeroAmount),
        a if a < MIN_STAKE => Err(TxError::StakeBelowMinimum {
            amount: a,
            minimum: MIN_STAKE,
        }),
        _ => Ok(()),
    }
}

/// The signer's `amount` of stake leaves `from_hotkey` for `to_hotkey` (a hotkey seen for the first
/// time becomes the signer's, as with add_stake).
pub fn move_stake(
    view: &mut StateView,
    signer: &AccountId,
    from_hotkey: &AccountId,
    to_hotkey: &AccountId,
    amount: u64,
    (params, height): (&ChainParams, u64),
) -> Result<Event, TxError> {
    check_amount(amount)?;
    if from_hotkey == to_hotkey {
        return Err(TxError::SameHotkey);
    }
    if validators::answers_for_consensus(view, from_hotkey, params, height)? {
        return Err(TxError::StakeBondedToValidator {
            hotkey: *from_hotkey,
        });
    }
    staking::unbond(view, signer, from_hotkey, amount)?;
    staking::add(view, signer, to_hotkey, amount, height)?;
    Ok(Event::StakeMoved {
        coldkey: *signer,
        from_hotkey: *from_hotkey,
        to_hotkey: *to_hotkey,
        amount,
    })
}

/// The signer's `amount` of stake behind `hotkey` becomes `dest`'s, still behind `hotkey`.
pub fn transfer_stake(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
    dest: &AccountId,
    amount: u64,
    height: u64,
) -> Result<Event, TxError> {
    check_amount(amount)?;
    if dest == signer {
        return Err(TxError::SameColdkey);
    }
    // Still behind the same hotkey, so still slashable; for `dest` it is new stake.
    staking::unbond(view, signer, hotkey, amount)?;
    staking::add(view, dest, hotkey, amount, height)?;
    Ok(Event::StakeTransferred {
        from: *signer,
        to: *dest,
        hotkey: *hotkey,
        amount,
    })
}

/// All of the signer's stake behind `hotkey`, by the same path as `remove_stake`.
pub fn remove_all_stake(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
    at: (&ChainParams, u64),
) -> Result<Event, TxError> {
    let amount = staking::stake_of(view, hotkey, signer)?;
    if amount == 0 {
        return Err(TxError::NoStake { hotkey: *hotkey });
    }
    remove_stake(view, signer, hotkey, amount, at)
}
