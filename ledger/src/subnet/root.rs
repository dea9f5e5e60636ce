//! The root network (netuid 0): up to 64 hotkeys with the most stake weight the subnets, and every
//! root tempo the legacy root consensus (yuma.md §3.1) turns those weights into the subnets'
//! shares of the block reward. Until anyone sets root weights, live subnets share equally.

use super::{netuids, Row};
use crate::execute::{Event, TxError};
use crate::staking;
use crate::view::StateView;
use borsh::{BorshDeserialize, BorshSerialize};
use tensorchain_primitives::AccountId;
use tensorchain_subnet_engine::{root_shares, Fx, RootParams};

const MEMBERS: u8 = 0x17;
const WEIGHTS: u8 = 0x18;
const SHARES: u8 = 0x19;

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

fn stake(view: &StateView, hotkey: &AccountId) -> Result<u64, TxError> {
    Ok(staking::hotkey(view, hotkey)?.map_or(0, |h| h.total_stake))
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
    Ok(())
}

pub fn register(
    view: &mut StateView,
    coldkey: &AccountId,
    hotkey: &AccountId,
) -> Result<Event, TxError> {
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
    let mut replaced = None;
    if list.len() >= ROOT_CAPACITY {
        let mut weakest = (u64::MAX, 0);
        for (i, m) in list.iter().enumerate() {
            weakest = weakest.min((stake(view, m)?, i));
        }
        if info.total_stake <= weakest.0 {
            return Err(TxError::RootFull {
                min_stake: weakest.0,
            });
        }
        let out = list.remove(weakest.1);
        view.delete_raw(weights_key(&out));
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
) -> Result<Event, TxError> {
    let list = members(view)?;
    let uid = list
        .iter()
        .position(|m| m == hotkey)
        .ok_or(TxError::HotkeyNotRegistered {
            netuid: 0,
            hotkey: *hotkey,
        })?;
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

/// Recomputes the shares from the members' stake and weights; clears them if nobody weights.
pub fn epoch(view: &mut StateView, height: u64) -> Result<(), TxError> {
    let list = members(view)?;
    let live = netuids(view)?;
    let mut stakes = Vec::with_capacity(list.len());
    let mut rows = Vec::with_capacity(list.len());
    for m in &list {
        stakes.push(stake(view, m)?);
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

/// Each live subnet's rao of a block reward: by root shares, or equally while there are none.
pub fn split(view: &StateView, reward: u64) -> Result<Vec<(u16, u64)>, TxError> {
    let live = netuids(view)?;
    if live.is_empty() {
        return Ok(vec![]);
    }
    match shares(view)? {
        Some(s) => Ok(live
            .iter()
            .map(|&n| {
                let bits = s.shares.iter().find(|e| e.0 == n).map_or(0, |e| e.1.max(0)) as u128;
                (n, ((reward as u128 * bits) >> 32) as u64)
            })
            .collect()),
        None => {
            let each = reward / live.len() as u64;
            Ok(live.iter().map(|&n| (n, each)).collect())
        }
    }
}
