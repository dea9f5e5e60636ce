//! Unbonding: stake leaving a hotkey that answers for consensus (a validator now, or within the
//! evidence window) does not become free at once. For `unbonding_blocks` it stays slashable and
//! earns nothing; at its release block it is credited to the coldkey's free balance.
//!
//! Each entry is kept under three keys, so every reader touches only its own entries: by coldkey
//! (the account page), by hotkey (slashing) and by release block (the end-of-block release).

use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::state::view::StateView;
use crate::state::Account;
use crate::storage::schema::{
    UNBONDING_BY_COLDKEY as BY_COLDKEY, UNBONDING_BY_HOTKEY as BY_HOTKEY,
    UNBONDING_BY_RELEASE as BY_RELEASE,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use tensorchain_primitives::AccountId;

/// Unbonding entries one (coldkey, hotkey) may hold at once. An entry per block of removal would
/// let one staker fill state with dust; past this the newest entry absorbs the removal instead
/// (released later, never earlier).
pub const MAX_ENTRIES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Entry {
    pub coldkey: AccountId,
    pub hotkey: AccountId,
    pub release_at: u64,
    #[serde(with = "tensorchain_primitives::amount::as_string")]
    pub amount: u64,
}

fn key(tag: u8, a: &[u8], b: &[u8], c: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + a.len() + b.len() + c.len());
    k.push(tag);
    k.extend_from_slice(a);
    k.extend_from_slice(b);
    k.extend_from_slice(c);
    k
}

fn keys(e: &Entry) -> [Vec<u8>; 3] {
    let at = e.release_at.to_be_bytes();
    [
        key(BY_COLDKEY, &e.coldkey.0, &e.hotkey.0, &at),
        key(BY_HOTKEY, &e.hotkey.0, &e.coldkey.0, &at),
        key(BY_RELEASE, &at, &e.coldkey.0, &e.hotkey.0),
    ]
}

fn write(view: &mut StateView, e: &Entry) {
    for k in keys(e) {
        if e.amount == 0 {
            view.delete_raw(k);
        } else {
            view.put(k, e);
        }
    }
}

fn decode_all(raw: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Vec<Entry>, TxError> {
    raw.into_iter()
        .map(|(_, v)| {
            Entry::try_from_slice(&v)
                .map_err(|e| TxError::Storage(format!("corrupt unbonding entry: {e}")))
        })
        .collect()
}

/// A coldkey's unbonding stake, by hotkey then release block.
pub fn of_coldkey(view: &StateView, coldkey: &AccountId) -> Result<Vec<Entry>, TxError> {
    decode_all(view.scan_prefix(&key(BY_COLDKEY, &coldkey.0, &[], &[]))?)
}

/// Everything unbonding from a hotkey: still slashable for its offences.
pub fn of_hotkey(view: &StateView, hotkey: &AccountId) -> Result<Vec<Entry>, TxError> {
    decode_all(view.scan_prefix(&key(BY_HOTKEY, &hotkey.0, &[], &[]))?)
}

fn move_totals(view: &mut StateView, coldkey: &AccountId, delta: i128) -> Result<(), TxError> {
    let out_of_range = || TxError::Storage("unbonding total out of range".into());
    let mut account: Account = view.account(coldkey)?.unwrap_or_default();
    account.unbonding = (account.unbonding as i128 + delta)
        .try_into()
        .map_err(|_| out_of_range())?;
    view.set_account(coldkey, &account)?;
    let mut g = view.globals()?;
    g.total_unbonding = (g.total_unbonding as i128 + delta)
        .try_into()
        .map_err(|_| out_of_range())?;
    view.set_globals(&g);
    Ok(())
}

/// Puts `amount` (already taken out of stake) into unbonding until `release_at`.
pub fn start(
    view: &mut StateView,
    coldkey: &AccountId,
    hotkey: &AccountId,
    amount: u64,
    release_at: u64,
) -> Result<(), TxError> {
    let mine: Vec<Entry> = of_coldkey(view, coldkey)?
        .into_iter()
        .filter(|e| e.hotkey == *hotkey)
        .collect();
    let mut entry = match mine.iter().find(|e| e.release_at == release_at) {
        Some(e) => e.clone(),
        None if mine.len() >= MAX_ENTRIES => {
            // The latest entry takes the amount and moves to the later release block.
            let mut last = mine.last().cloned().expect("MAX_ENTRIES > 0");
            let amount = last.amount;
            last.amount = 0;
            write(view, &last);
            Entry {
                release_at,
                amount,
                ..last
            }
        }
        None => Entry {
            coldkey: *coldkey,
            hotkey: *hotkey,
            release_at,
            amount: 0,
        },
    };
    entry.amount = entry
        .amount
        .checked_add(amount)
        .ok_or(TxError::AmountOverflow)?;
    write(view, &entry);
    move_totals(view, coldkey, amount as i128)
}

/// Cuts `cut` rao from an entry (a slash); the caller recycles them.
pub fn cut(view: &mut StateView, entry: &Entry, cut: u64) -> Result<(), TxError> {
    let cut = cut.min(entry.amount);
    write(
        view,
        &Entry {
            amount: entry.amount - cut,
            ..entry.clone()
        },
    );
    move_totals(view, &entry.coldkey, -(cut as i128))
}

/// End of block `height`: every entry due now becomes free balance, with an event each.
pub fn release(view: &mut StateView, height: u64) -> Result<Vec<Event>, TxError> {
    let due = decode_all(view.scan_prefix(&key(BY_RELEASE, &height.to_be_bytes(), &[], &[]))?)?;
    let mut events = Vec::with_capacity(due.len());
    for e in due {
        write(
            view,
            &Entry {
                amount: 0,
                ..e.clone()
            },
        );
        move_totals(view, &e.coldkey, -(e.amount as i128))?;
        let mut account = view.account(&e.coldkey)?.unwrap_or_default();
        account.free = account
            .free
            .checked_add(e.amount)
            .ok_or(TxError::AmountOverflow)?;
        view.set_account(&e.coldkey, &account)?;
        events.push(Event::UnbondingReleased {
            coldkey: e.coldkey,
            hotkey: e.hotkey,
            amount: e.amount,
        });
    }
    Ok(events)
}
