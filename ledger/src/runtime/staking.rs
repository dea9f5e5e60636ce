//! Stake: a coldkey's rao bonded behind a hotkey, kept per (hotkey, coldkey) and mirrored per
//! (coldkey, hotkey), with totals on the hotkey, the account and the chain.
//!
//! Stake timing: a staker's recent additions are remembered with their block, so an epoch counts
//! only the stake that was in place at the subnet's previous epoch ("lower of the two snapshots":
//! what is there now, less what was added since). Removals take the newest additions first.
//! Emission paid into stake is earned, not timed, and counts at once.

use crate::runtime::error::TxError;
use crate::state::view::StateView;
use crate::state::HotkeyInfo;
use crate::storage::schema;
use crate::storage::schema::RECENT_ADDS;
use tensorchain_primitives::AccountId;

/// Additions remembered per (hotkey, coldkey). Past this the two oldest merge under the newer
/// block: the merged rao count as added later than they were, so an epoch may count less stake
/// than was there, never more.
const MAX_RECENT_ADDS: usize = 8;
/// No epoch looks further back than its previous epoch, at most `u16::MAX + 1` blocks (tempo is a
/// u16): older additions count fully and are forgotten.
const ADD_MEMORY: u64 = u16::MAX as u64 + 1;

/// Additions to one stake, (block, rao), oldest first.
type Adds = Vec<(u64, u64)>;

fn adds_key(hotkey: &AccountId, coldkey: &AccountId) -> Vec<u8> {
    let mut k = vec![RECENT_ADDS];
    k.extend_from_slice(&hotkey.0);
    k.extend_from_slice(&coldkey.0);
    k
}

fn recent_adds(view: &StateView, hotkey: &AccountId, coldkey: &AccountId) -> Result<Adds, TxError> {
    Ok(view.get(&adds_key(hotkey, coldkey))?.unwrap_or_default())
}

fn put_adds(view: &mut StateView, hotkey: &AccountId, coldkey: &AccountId, adds: &Adds) {
    if adds.is_empty() {
        view.delete_raw(adds_key(hotkey, coldkey));
    } else {
        view.put(adds_key(hotkey, coldkey), adds);
    }
}

fn added_after(adds: &Adds, since: u64) -> u64 {
    adds.iter().filter(|a| a.0 > since).map(|a| a.1).sum()
}

/// Every nominator of `hotkey` with the stake that was already there at block `since`.
pub fn settled_nominators(
    view: &StateView,
    hotkey: &AccountId,
    since: u64,
) -> Result<Vec<(AccountId, u64)>, TxError> {
    let mut out = nominators(view, hotkey)?;
    for (coldkey, stake) in out.iter_mut() {
        *stake = stake.saturating_sub(added_after(&recent_adds(view, hotkey, coldkey)?, since));
    }
    Ok(out)
}

/// A hotkey's total stake that was already there at block `since`: what Yuma and the root
/// network weigh, so stake added for one epoch block moves no weights and earns nothing.
pub fn settled_total(view: &StateView, hotkey: &AccountId, since: u64) -> Result<u64, TxError> {
    let total = self::hotkey(view, hotkey)?.map_or(0, |h| h.total_stake);
    let mut prefix = vec![RECENT_ADDS];
    prefix.extend_from_slice(&hotkey.0);
    let mut recent = 0u64;
    for (_, v) in view.scan_prefix(&prefix)? {
        let adds: Adds = borsh::from_slice(&v)
            .map_err(|e| TxError::Storage(format!("corrupt stake additions: {e}")))?;
        recent = recent.saturating_add(added_after(&adds, since));
    }
    Ok(total.saturating_sub(recent))
}

/// Moves a staker's whole stake from `old` to `new` as it is, the timing of its recent additions
/// included (a hotkey swap changes the key, not how long the stake has been there).
pub fn rekey(
    view: &mut StateView,
    coldkey: &AccountId,
    old: &AccountId,
    new: &AccountId,
) -> Result<(), TxError> {
    let amount = stake_of(view, old, coldkey)?;
    let adds = recent_adds(view, old, coldkey)?;
    unbond(view, coldkey, old, amount)?;
    bond(view, coldkey, new, amount)?;
    put_adds(view, new, coldkey, &adds);
    Ok(())
}

/// A staker's `add_stake`: bonds the rao and remembers when, for the stake-timing rule.
pub fn add(
    view: &mut StateView,
    coldkey: &AccountId,
    hotkey: &AccountId,
    amount: u64,
    height: u64,
) -> Result<(), TxError> {
    bond(view, coldkey, hotkey, amount)?;
    let mut adds = recent_adds(view, hotkey, coldkey)?;
    adds.retain(|a| a.0 + ADD_MEMORY > height);
    match adds.last_mut() {
        Some(last) if last.0 == height => last.1 += amount,
        _ => adds.push((height, amount)),
    }
    if adds.len() > MAX_RECENT_ADDS {
        let oldest = adds.remove(0);
        adds[0].1 += oldest.1;
    }
    put_adds(view, hotkey, coldkey, &adds);
    Ok(())
}

pub fn stake_of(view: &StateView, hotkey: &AccountId, coldkey: &AccountId) -> Result<u64, TxError> {
    Ok(view.get(&schema::stake_key(hotkey, coldkey))?.unwrap_or(0))
}

pub fn hotkey(view: &StateView, hotkey: &AccountId) -> Result<Option<HotkeyInfo>, TxError> {
    Ok(view.get(&schema::hotkey_key(hotkey))?)
}

/// Every (coldkey, stake) behind `hotkey`, in key order.
pub fn nominators(view: &StateView, hotkey: &AccountId) -> Result<Vec<(AccountId, u64)>, TxError> {
    let mut prefix = vec![schema::STAKE];
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
        schema::stake_key(hotkey, coldkey),
        schema::coldkey_stake_key(coldkey, hotkey),
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
    let mut info = match self::hotkey(view, hotkey)? {
        Some(info) => info,
        None => {
            // A new hotkey must be a usable key: a weak one (such as the all-zero "no owner" key
            // of genesis subnets) can never sign, and claiming it could only be mischief.
            hotkey.check_key()?;
            HotkeyInfo::new(*coldkey)
        }
    };
    let mut account = view.account(coldkey)?.unwrap_or_default();
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
    view.put(schema::hotkey_key(hotkey), &info);
    view.set_account(coldkey, &account)?;
    // Globals are read after the account write: `set_account` moves `total_free` in them.
    let mut globals = view.globals()?;
    globals.total_stake = globals
        .total_stake
        .checked_add(amount)
        .ok_or_else(overflow)?;
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
    let mut info = crate::runtime::staking::hotkey(view, hotkey)?
        .ok_or(TxError::HotkeyNotFound { hotkey: *hotkey })?;
    let mut account = view.account(coldkey)?.unwrap_or_default();
    set_stake(view, hotkey, coldkey, current - amount);
    // The newest additions leave first: what stays is the longest-held stake.
    let mut adds = recent_adds(view, hotkey, coldkey)?;
    let mut left = amount;
    while left > 0 {
        let Some(last) = adds.last_mut() else { break };
        let take = left.min(last.1);
        last.1 -= take;
        left -= take;
        if last.1 == 0 {
            adds.pop();
        }
    }
    put_adds(view, hotkey, coldkey, &adds);
    info.total_stake -= amount;
    account.staked -= amount;
    view.put(schema::hotkey_key(hotkey), &info);
    view.set_account(coldkey, &account)?;
    let mut globals = view.globals()?;
    globals.total_stake -= amount;
    view.set_globals(&globals);
    Ok(())
}
