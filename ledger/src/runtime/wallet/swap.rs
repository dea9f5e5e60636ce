//! `swap_hotkey` (issue 19): a leaked hotkey is replaced by a fresh one in one call. Everything the
//! old hotkey holds moves: its record (owner, take), every nominator's stake, its subnet
//! registrations (uid, axon, weights and bonds stay with the uid; unrevealed commits move), subnet
//! ownership, its root seat and weights, and its validator candidacy. The old hotkey is left
//! holding nothing.

use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::runtime::params::ChainParams;
use crate::runtime::staking;
use crate::runtime::subnets::{self, calls::burn_from, root};
use crate::runtime::validators;
use crate::state::view::StateView;
use crate::state::HotkeyInfo;
use crate::storage::schema;
use crate::storage::schema::LAST_SWAP;
use tensorchain_primitives::{AccountId, RAO_PER_TAO};

/// Burned (recycled) by each swap: a leaked hotkey is rare, a key-rotation spam is not free.
/// subtensor's `KeySwapCost` is of the same order.
pub const KEY_SWAP_COST: u64 = RAO_PER_TAO;
/// Blocks a coldkey waits between two swaps, so that a thief holding a coldkey cannot bounce
/// stake between hotkeys faster than monitoring can notice (subtensor's `TxRateLimit`).
pub const SWAP_COOLDOWN_BLOCKS: u64 = 1_000;

fn last_swap_key(coldkey: &AccountId) -> Vec<u8> {
    let mut k = vec![LAST_SWAP];
    k.extend_from_slice(&coldkey.0);
    k
}

/// Whether anything on chain refers to `hotkey`.
fn in_use(view: &StateView, netuids: &[u16], hotkey: &AccountId) -> Result<bool, TxError> {
    if staking::hotkey(view, hotkey)?.is_some()
        || !staking::nominators(view, hotkey)?.is_empty()
        || validators::candidate(view, hotkey)?.is_some()
        || validators::jailed_until(view, hotkey)?.is_some()
        || root::members(view)?.contains(hotkey)
    {
        return Ok(true);
    }
    for &netuid in netuids {
        if subnets::uid_of(view, netuid, hotkey)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn swap_hotkey(
    view: &mut StateView,
    coldkey: &AccountId,
    old: &AccountId,
    new: &AccountId,
    (params, height): (&ChainParams, u64),
) -> Result<Event, TxError> {
    let info = staking::hotkey(view, old)?.ok_or(TxError::HotkeyNotFound { hotkey: *old })?;
    if info.owner != *coldkey {
        return Err(TxError::NotHotkeyOwner {
            hotkey: *old,
            owner: info.owner,
        });
    }
    if old == new {
        return Err(TxError::SameHotkey);
    }
    new.check_key()?;
    if let Some(last) = view.get::<u64>(&last_swap_key(coldkey))? {
        let ready = last.saturating_add(SWAP_COOLDOWN_BLOCKS);
        if height < ready {
            return Err(TxError::HotkeySwapRateLimited {
                retry_after_blocks: ready - height,
            });
        }
    }
    if let Some(until) = validators::jailed_until(view, old)?.filter(|u| *u > height) {
        return Err(TxError::ValidatorJailed {
            hotkey: *old,
            until,
        });
    }
    // A hotkey that signs blocks (or did within the evidence window) answers for consensus with
    // the stake behind it: moving that stake to a new key would leave evidence against the old
    // one nothing to slash.
    if validators::answers_for_consensus(view, old, params, height)? {
        return Err(TxError::HotkeyIsActiveValidator { hotkey: *old });
    }
    let netuids = subnets::netuids(view)?;
    if in_use(view, &netuids, new)? {
        return Err(TxError::NewHotkeyInUse { hotkey: *new });
    }

    burn_from(view, coldkey, KEY_SWAP_COST)?;

    // The record first (so bond() finds the owner and take), then each nominator's stake.
    view.put(
        schema::hotkey_key(new),
        &HotkeyInfo {
            total_stake: 0,
            ..info
        },
    );
    for (nominator, _) in staking::nominators(view, old)? {
        staking::rekey(view, &nominator, old, new)?;
    }
    view.delete_raw(schema::hotkey_key(old));

    for netuid in netuids {
        if let Some(uid) = subnets::uid_of(view, netuid, old)? {
            let mut neuron = subnets::neuron(view, netuid, uid)?.ok_or_else(|| {
                TxError::Storage(format!("uid {uid} of subnet {netuid} has no neuron"))
            })?;
            neuron.hotkey = *new;
            view.put(subnets::neuron_key(netuid, uid), &neuron);
            view.delete_raw(subnets::uid_key(netuid, old));
            view.put(subnets::uid_key(netuid, new), &uid);
        }
        if let Some(commits) = view.get_raw(&subnets::commits_key(netuid, old))? {
            view.delete_raw(subnets::commits_key(netuid, old));
            view.put_raw(subnets::commits_key(netuid, new), commits);
        }
        if let Some(mut s) = subnets::subnet(view, netuid)? {
            if s.owner_hotkey == *old {
                s.owner_hotkey = *new;
                view.put(subnets::subnet_key(netuid), &s);
            }
        }
    }
    root::swap_member(view, old, new)?;
    validators::swap_candidacy(view, old, new)?;
    view.put(last_swap_key(coldkey), &height);
    Ok(Event::HotkeySwapped {
        coldkey: *coldkey,
        old: *old,
        new: *new,
        burned: KEY_SWAP_COST,
    })
}
