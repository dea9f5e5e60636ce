//! The root network (netuid 0): up to 64 hotkeys with the most stake weight the subnets, and every
//! root tempo the legacy root consensus (yuma.md §3.1) turns those weights into the subnets'
//! shares of the block reward. Until anyone sets root weights, live subnets share equally.

use super::{netuids, Row};
use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::runtime::staking;
use crate::state::view::StateView;
use crate::storage::schema::{
    ROOT_LAST_SET as LAST_SET, ROOT_MEMBERS as MEMBERS, ROOT_SHARES as SHARES,
    ROOT_WEIGHTS as WEIGHTS,
};
use borsh::{BorshDeserialize, BorshSerialize};
use tensorchain_primitives::AccountId;
use tensorchain_subnet_engine::{root_shares, Fx, RootParams};

/// Root network capacity.
pub const ROOT_CAPACITY: usize = 64;

/// The shares computed by the last root epoch: (netuid, share as I32F32 bits).
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RootShares {
    pub block: u64,
    pub shares: Vec<(u16, i64)>,
}

fn weights_key(hotkey: &AccountId) -> Vec<u8> {
    let mut k = vec![WEIGHTS];
    k.extend_from_slice(&hotkey.0);
    k
}

pub fn members(view: &StateView) -> Result<Vec<AccountId>, TxError> {
    Ok(view.get(&[MEMBERS])?.unwrap_or_default())
}

pub fn weights(view: &StateView, hotkey: &AccountId) -> Result<Row, TxError> {
    Ok(view.get(&weights_key(hotkey))?.unwrap_or_default())
}

pub fn shares(view: &StateView) -> Result<Option<RootShares>, TxError> {
    Ok(view.get(&[SHARES])?)
}

fn last_set_key(hotkey: &AccountId) -> Vec<u8> {
    let mut k = vec![LAST_SET];
    k.extend_from_slice(&hotkey.0);
    k
}

/// A dissolved subnet leaves no trace in root: members' weights on it and its stored share go,
/// so a newcomer on the same netuid starts from zero.
pub fn forget_subnet(view: &mut StateView, netuid: u16) -> Result<(), TxError> {
    for m in members(view)? {
        let mut row = weights(view, &m)?;
        let before = row.len();
        row.retain(|e| e.0 != netuid);
        if row.len() != before {
            view.put(weights_key(&m), &row);
        }
    }
    if let Some(mut s) = shares(view)? {
        s.shares.retain(|e| e.0 != netuid);
        view.put(vec![SHARES], &s);
    }
    Ok(())
}

/// Hotkey swap (issue 19): `new` takes `old`'s root seat (same position, so the same root uid)
/// and its root weights.
pub(crate) fn swap_member(
    view: &mut StateView,
    old: &AccountId,
    new: &AccountId,
) -> Result<(), TxError> {
    let mut list = members(view)?;
    let Some(i) = list.iter().position(|m| m == old) else {
        return Ok(());
    };
    list[i] = *new;
    view.put(vec![MEMBERS], &list);
    if let Some(row) = view.get::<Row>(&weights_key(old))? {
        view.delete_raw(weights_key(old));
        view.put(weights_key(new), &row);
    }
    // The rate limit follows the seat, or a swap would reset it.
    if let Some(last) = view.get::<u64>(&last_set_key(old))? {
        view.delete_raw(last_set_key(old));
        view.put(last_set_key(new), &last);
    }
    Ok(())
}

/// Joins the root network. Members are ranked by stake settled for a whole root tempo (stake added
/// for the registration block and removed after would otherwise evict members for a fee).
pub fn register(
    view: &mut StateView,
    coldkey: &AccountId,
    hotkey: &AccountId,
    (root_tempo, now): (u16, u64),
) -> Result<Event, TxError> {
    let since = now.saturating_sub(root_tempo as u64 + 1);
    let settled = |view: &StateView, hk: &AccountId| staking::settled_total(view, hk, since);
    let info = staking::hotkey(view, hotkey)?.ok_or(TxError::HotkeyNotFound { hotkey: *hotkey })?;
    if info.owner != *coldkey {
        return Err(TxError::NotHotkeyOwner {
            hotkey: *hotkey,
            owner: info.owner,
        });
    }
    let mut list = members(view)?;
    if let Some(uid) = list.iter().position(|m| m == hotkey) {
        return Err(TxError::HotkeyAlreadyRegistered {
            netuid: 0,
            uid: uid as u16,
        });
    }
    let mine = settled(view, hotkey)?;
    if mine == 0 {
        return Err(TxError::RootStakeNotSettled { hotkey: *hotkey });
    }
    let mut replaced = None;
    if list.len() >= ROOT_CAPACITY {
        let mut weakest = (u64::MAX, 0);
        for (i, m) in list.iter().enumerate() {
            weakest = weakest.min((settled(view, m)?, i));
        }
        if mine <= weakest.0 {
            return Err(TxError::RootFull {
                min_stake: weakest.0,
            });
        }
        let out = list.remove(weakest.1);
        view.delete_raw(weights_key(&out));
        view.delete_raw(last_set_key(&out));
        replaced = Some(out);
    }
    list.push(*hotkey);
    view.put(vec![MEMBERS], &list);
    Ok(Event::NeuronRegistered {
        netuid: 0,
        uid: list.len() as u16 - 1,
        hotkey: *hotkey,
        cost: 0,
        replaced,
    })
}

pub fn set_weights(
    view: &mut StateView,
    hotkey: &AccountId,
    subnets: &[u16],
    values: &[u16],
    rate_limit: u64,
    now: u64,
) -> Result<Event, TxError> {
    let list = members(view)?;
    let uid = list
        .iter()
        .position(|m| m == hotkey)
        .ok_or(TxError::HotkeyNotRegistered {
            netuid: 0,
            hotkey: *hotkey,
        })?;
    // Free, so bounded: one root weights call per `rate_limit` blocks per hotkey.
    if let Some(last) = view.get::<u64>(&last_set_key(hotkey))? {
        let since = now.saturating_sub(last);
        if since < rate_limit {
            return Err(TxError::WeightsRateLimited {
                retry_after_blocks: rate_limit - since,
            });
        }
    }
    view.put(last_set_key(hotkey), &now);
    if subnets.len() != values.len() {
        return Err(TxError::WeightsLengthMismatch {
            uids: subnets.len(),
            values: values.len(),
        });
    }
    let live = netuids(view)?;
    let mut row: Row = Vec::with_capacity(subnets.len());
    let max = values.iter().copied().max().unwrap_or(0) as u64;
    for (&netuid, &v) in subnets.iter().zip(values) {
        if !live.contains(&netuid) {
            return Err(TxError::SubnetNotFound { netuid });
        }
        if row.iter().any(|e| e.0 == netuid) {
            return Err(TxError::DuplicateUids { uid: netuid });
        }
        let scaled = if max == 0 {
            v
        } else {
            ((v as u64 * 65535 * 2 + max) / (2 * max)) as u16
        };
        row.push((netuid, scaled));
    }
    row.sort_by_key(|e| e.0);
    view.put(weights_key(hotkey), &row);
    Ok(Event::WeightsSet {
        netuid: 0,
        uid: uid as u16,
        count: row.len() as u16,
    })
}

/// Recomputes the shares from the members' stake (only what was in place at `since`, the
/// previous root epoch) and weights; clears them if nobody weights.
pub fn epoch(view: &mut StateView, height: u64, since: u64) -> Result<(), TxError> {
    let list = members(view)?;
    let live = netuids(view)?;
    let mut stakes = Vec::with_capacity(list.len());
    let mut rows = Vec::with_capacity(list.len());
    for m in &list {
        stakes.push(staking::settled_total(view, m, since)?);
        // Columns are indices into `live`; weights on dissolved subnets drop out.
        rows.push(
            weights(view, m)?
                .into_iter()
                .filter_map(|(netuid, v)| {
                    live.iter()
                        .position(|&n| n == netuid)
                        .map(|j| (j as u16, v))
                })
                .collect(),
        );
    }
    let shares = root_shares(&stakes, &rows, live.len(), RootParams::default());
    if shares.iter().all(|s| *s == Fx::ZERO) {
        view.delete_raw(vec![SHARES]);
        return Ok(());
    }
    let shares = live
        .iter()
        .zip(&shares)
        .map(|(&n, s)| (n, s.to_bits()))
        .collect();
    view.put(
        vec![SHARES],
        &RootShares {
            block: height,
            shares,
        },
    );
    Ok(())
}

/// Each live subnet's share of the block reward as I32F32 bits (1.0 = 2^32): its root share, or
/// an equal part while nobody weights; 0 while it is `emission_disabled` (no permit holder with
/// stake yet). Disabled subnets' parts are not minted. The API reports exactly these.
pub fn emission_shares(view: &StateView) -> Result<Vec<(u16, u64)>, TxError> {
    // One read per netuid (not a `netuids()` pass and then a second read of each record).
    let mut enabled = Vec::new();
    for netuid in 1..=crate::runtime::params::SUBNET_LIMIT {
        if let Some(s) = super::subnet(view, netuid)? {
            enabled.push((netuid, s.emission_enabled));
        }
    }
    let on = enabled.iter().filter(|e| e.1).count() as u64;
    let stored = shares(view)?;
    Ok(enabled
        .into_iter()
        .map(|(n, is_on)| {
            let bits = match (&stored, is_on) {
                (_, false) => 0,
                (Some(s), true) => s
                    .shares
                    .iter()
                    .find(|e| e.0 == n)
                    .map_or(0, |e| e.1.max(0) as u64),
                (None, true) => (1u64 << 32) / on.max(1),
            };
            (n, bits)
        })
        .collect())
}

/// Each live subnet's rao of a block reward, by `emission_shares`.
pub fn split(view: &StateView, reward: u64) -> Result<Vec<(u16, u64)>, TxError> {
    Ok(emission_shares(view)?
        .into_iter()
        .map(|(n, bits)| (n, ((reward as u128 * bits as u128) >> 32) as u64))
        .collect())
}
