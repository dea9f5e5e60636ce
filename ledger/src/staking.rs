//! Stake: a coldkey's rao bonded behind a hotkey, kept per (hotkey, coldkey) and mirrored per
//! (coldkey, hotkey), with totals on the hotkey, the account and the chain.

use crate::execute::TxError;
use crate::state::{self, HotkeyInfo};
use crate::view::StateView;
use tensorchain_primitives::AccountId;

pub fn stake_of(view: &StateView, hotkey: &AccountId, coldkey: &AccountId) -> Result<u64, TxError> {
    Ok(view.get(&state::stake_key(hotkey, coldkey))?.unwrap_or(0))
}

pub fn hotkey(view: &StateView, hotkey: &AccountId) -> Result<Option<HotkeyInfo>, TxError> {
    Ok(view.get(&state::hotkey_key(hotkey))?)
}

/// Every (coldkey, stake) behind `hotkey`, in key order.
pub fn nominators(view: &StateView, hotkey: &AccountId) -> Result<Vec<(AccountId, u64)>, TxError> {
    let mut prefix = vec![state::STAKE_PREFIX];
    prefix.extend_from_slice(&hotkey.0);
    Ok(view
        .scan_prefix(&prefix)?
        .into_iter()
        .map(|(k, v)| {
            let ck: [u8; 32] = k[k.len() - 32..].try_into().expect("32-byte coldkey");
            (
                AccountId(ck),
                u64::from_le_bytes(v[..8].try_into().expect("u64")),
            )
        })
        .collect())
}

fn set_stake(view: &mut StateView, hotkey: &AccountId, coldkey: &AccountId, amount: u64) {
    let (by_hot, by_cold) = (
        state::stake_key(hotkey, coldkey),
        state::coldkey_stake_key(coldkey, hotkey),
    );
    if amount == 0 {
        view.delete_raw(by_hot);
        view.delete_raw(by_cold);
    } else {
        view.put(by_hot, &amount);
        view.put(by_cold, &amount);
    }
}

/// Records `amount` more stake from `coldkey` behind `hotkey` (a hotkey seen for the first time
/// becomes the coldkey's). Moving the rao out of the free balance is the caller's part.
pub fn bond(
    view: &mut StateView,
    coldkey: &AccountId,
    hotkey: &AccountId,
    amount: u64,
) -> Result<(), TxError> {
    let mut info =
        crate::staking::hotkey(view, hotkey)?.unwrap_or_else(|| HotkeyInfo::new(*coldkey));
    let mut account = view.account(coldkey)?.unwrap_or_default();
    let mut globals = view.globals()?;
    let current = stake_of(view, hotkey, coldkey)?;
    let overflow = || TxError::AmountOverflow;
    set_stake(
        view,
        hotkey,
        coldkey,
        current.checked_add(amount).ok_or_else(overflow)?,
    );
    info.total_stake = info.total_stake.checked_add(amount).ok_or_else(overflow)?;
    account.staked = account.staked.checked_add(amount).ok_or_else(overflow)?;
    globals.total_stake = globals
        .total_stake
        .checked_add(amount)
        .ok_or_else(overflow)?;
    view.put(state::hotkey_key(hotkey), &info);
    view.set_account(coldkey, &account);
    view.set_globals(&globals);
    Ok(())
}

/// Removes `amount` of `coldkey`'s stake behind `hotkey`; crediting it back is the caller's part.
pub fn unbond(
    view: &mut StateView,
    coldkey: &AccountId,
    hotkey: &AccountId,
    amount: u64,
) -> Result<(), TxError> {
    let current = stake_of(view, hotkey, coldkey)?;
    if current < amount {
        return Err(TxError::InsufficientStake {
            available: current,
            requested: amount,
        });
    }
    let mut info =
        crate::staking::hotkey(view, hotkey)?.ok_or(TxError::HotkeyNotFound { hotkey: *hotkey })?;
    let mut account = view.account(coldkey)?.unwrap_or_default();
    let mut globals = view.globals()?;
    set_stake(view, hotkey, coldkey, current - amount);
    info.total_stake -= amount;
    account.staked -= amount;
    globals.total_stake -= amount;
    view.put(state::hotkey_key(hotkey), &info);
    view.set_account(coldkey, &account);
    view.set_globals(&globals);
    Ok(())
}
