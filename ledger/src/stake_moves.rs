//! Stake that changes hands or hotkeys in one call (issue 19): `move_stake`, `transfer_stake`, and
//! `remove_all_stake`. Nothing passes through free balance, so there is no window between an
//! unstake and a restake, and "all" is read when the block runs, so exactly zero remains.

use crate::execute::{Event, TxError};
use crate::staking;
use crate::state::MIN_STAKE;
use crate::view::StateView;
use tensorchain_primitives::AccountId;

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
) -> Result<Event, TxError> {
    check_amount(amount)?;
    if from_hotkey == to_hotkey {
        return Err(TxError::SameHotkey);
    }
    staking::unbond(view, signer, from_hotkey, amount)?;
    staking::bond(view, signer, to_hotkey, amount)?;
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
) -> Result<Event, TxError> {
    check_amount(amount)?;
    if dest == signer {
        return Err(TxError::SameColdkey);
    }
    staking::unbond(view, signer, hotkey, amount)?;
    staking::bond(view, dest, hotkey, amount)?;
    Ok(Event::StakeTransferred {
        from: *signer,
        to: *dest,
        hotkey: *hotkey,
        amount,
    })
}

/// All of the signer's stake behind `hotkey` back to its free balance.
pub fn remove_all_stake(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
) -> Result<Event, TxError> {
    let amount = staking::stake_of(view, hotkey, signer)?;
    if amount == 0 {
        return Err(TxError::NoStake { hotkey: *hotkey });
    }
    staking::unbond(view, signer, hotkey, amount)?;
    let mut account = view.account(signer)?.unwrap_or_default();
    account.free = account
        .free
        .checked_add(amount)
        .ok_or(TxError::AmountOverflow)?;
    view.set_account(signer, &account);
    Ok(Event::StakeRemoved {
        coldkey: *signer,
        hotkey: *hotkey,
        amount,
    })
}
