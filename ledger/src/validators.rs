//! The chain's validator set from stake. Hotkeys offer themselves with `register_validator`; every
//! `epoch` blocks (and right after a punishment) the top `max_validators` candidates by total stake
//! become the set, with voting power = stake, governing from two heights after the block that
//! computed it. Equivocation evidence slashes a fraction of the offender's stake (every nominator
//! pro rata, the rao recycled) and jails it: it leaves the set and may not register again until
//! the jail ends.

use crate::execute::{Event, TxError};
use crate::staking;
use crate::state::{self, ChainParams, ValidatorSet};
use crate::subnet::calls::recycle;
use crate::view::StateView;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use tensorchain_primitives::{AccountId, DoubleSign, Validator};

const CANDIDATE: u8 = 0x07;
const JAIL: u8 = 0x08;
const EVIDENCE: u8 = 0x09;
const RECOMPUTE: u8 = 0x0a;

/// A set computed while executing block h governs from h + ACTIVATION_DELAY (the consensus
/// crate's schedule uses the same rule).
pub const ACTIVATION_DELAY: u64 = 2;
/// Evidence older than this many blocks is refused.
pub const EVIDENCE_MAX_AGE: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorParams {
    pub max_validators: u32,
    /// Blocks between recomputations of the set.
    pub epoch: u64,
    /// Share of the offender's stake cut per equivocation, in basis points.
    pub slash_bps: u16,
    pub jail_blocks: u64,
}

impl ValidatorParams {
    pub fn standard(max_validators: u32, epoch: u64) -> ValidatorParams {
        ValidatorParams {
            max_validators,
            epoch: epoch.max(1),
            slash_bps: 500,
            jail_blocks: 1_000,
        }
    }
}

/// Validator sets by the first height each governs, ascending; sets that no longer govern any
/// future height are pruned.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Schedule {
    pub sets: Vec<(u64, ValidatorSet)>,
}

impl Schedule {
    pub fn genesis(set: ValidatorSet) -> Schedule {
        Schedule {
            sets: vec![(1, set)],
        }
    }

    /// The set that signs block `height`, if the schedule still knows it.
    pub fn for_height(&self, height: u64) -> Option<&ValidatorSet> {
        self.sets
            .iter()
            .rev()
            .find(|(from, _)| *from <= height.max(1))
            .map(|(_, s)| s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Candidate {
    pub registered_at: u64,
}

/// The key prefix of every validator candidate (then the 32-byte hotkey), for paged reads.
pub const CANDIDATES_PREFIX: u8 = CANDIDATE;

fn key(tag: u8, hotkey: &AccountId) -> Vec<u8> {
    let mut k = vec![tag];
    k.extend_from_slice(&hotkey.0);
    k
}

pub fn schedule(view: &StateView) -> Result<Schedule, TxError> {
    Ok(view.get(&state::validators_key())?.unwrap_or_default())
}

pub fn candidate(view: &StateView, hotkey: &AccountId) -> Result<Option<Candidate>, TxError> {
    Ok(view.get(&key(CANDIDATE, hotkey))?)
}

pub fn jailed_until(view: &StateView, hotkey: &AccountId) -> Result<Option<u64>, TxError> {
    Ok(view.get(&key(JAIL, hotkey))?)
}

/// Every candidate, in hotkey order.
pub fn candidates(view: &StateView) -> Result<Vec<(AccountId, Candidate)>, TxError> {
    view.scan_prefix(&[CANDIDATE])?
        .into_iter()
        .map(|(k, v)| {
            let hk: [u8; 32] = k[1..].try_into().expect("32-byte hotkey");
            let c = Candidate::try_from_slice(&v)
                .map_err(|e| TxError::Storage(format!("corrupt validator candidate: {e}")))?;
            Ok((AccountId(hk), c))
        })
        .collect()
}

/// Every jail record: (hotkey, jailed until).
pub fn jailed(view: &StateView) -> Result<Vec<(AccountId, u64)>, TxError> {
    view.scan_prefix(&[JAIL])?
        .into_iter()
        .map(|(k, v)| {
            let hk: [u8; 32] = k[1..].try_into().expect("32-byte hotkey");
            let until = u64::try_from_slice(&v)
                .map_err(|e| TxError::Storage(format!("corrupt jail record: {e}")))?;
            Ok((AccountId(hk), until))
        })
        .collect()
}

/// Genesis: its validators are candidates and the first set.
pub fn write_genesis(view: &mut StateView, set: &ValidatorSet) {
    for v in set {
        view.put(key(CANDIDATE, &v.hotkey), &Candidate { registered_at: 0 });
    }
    view.put(state::validators_key(), &Schedule::genesis(set.clone()));
}

fn owned_hotkey(
    view: &StateView,
    signer: &AccountId,
    hotkey: &AccountId,
) -> Result<state::HotkeyInfo, TxError> {
    let info = staking::hotkey(view, hotkey)?.ok_or(TxError::HotkeyNotFound { hotkey: *hotkey })?;
    if info.owner != *signer {
        return Err(TxError::NotHotkeyOwner {
            hotkey: *hotkey,
            owner: info.owner,
        });
    }
    Ok(info)
}

pub fn register(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
    height: u64,
) -> Result<Event, TxError> {
    let info = owned_hotkey(view, signer, hotkey)?;
    if let Some(until) = jailed_until(view, hotkey)?.filter(|u| *u > height) {
        return Err(TxError::ValidatorJailed {
            hotkey: *hotkey,
            until,
        });
    }
    if candidate(view, hotkey)?.is_some() {
        return Err(TxError::ValidatorAlreadyRegistered { hotkey: *hotkey });
    }
    if info.total_stake == 0 {
        return Err(TxError::ValidatorWithoutStake { hotkey: *hotkey });
    }
    // A validator key must be able to sign votes that verify strictly.
    hotkey.check_key()?;
    view.put(
        key(CANDIDATE, hotkey),
        &Candidate {
            registered_at: height,
        },
    );
    Ok(Event::ValidatorRegistered { hotkey: *hotkey })
}

pub fn unregister(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
) -> Result<Event, TxError> {
    owned_hotkey(view, signer, hotkey)?;
    if candidate(view, hotkey)?.is_none() {
        return Err(TxError::ValidatorNotRegistered { hotkey: *hotkey });
    }
    view.delete_raw(key(CANDIDATE, hotkey));
    Ok(Event::ValidatorUnregistered { hotkey: *hotkey })
}

/// Checks equivocation evidence, slashes and jails the offender, and has the set recomputed at
/// the end of this block.
pub fn punish(
    view: &mut StateView,
    ev: &DoubleSign,
    params: &ChainParams,
    height: u64,
) -> Result<Event, TxError> {
    let invalid = |reason: &str| TxError::InvalidEvidence {
        reason: reason.to_string(),
    };
    ev.check(&params.chain_id)
        .map_err(|reason| TxError::InvalidEvidence { reason })?;
    let at = ev.first.height;
    if at > height {
        return Err(invalid("the votes are for a future height"));
    }
    if height - at > EVIDENCE_MAX_AGE {
        return Err(invalid("the votes are too old"));
    }
    let offender = ev.validator;
    let sched = schedule(view)?;
    let was_validator = match sched.for_height(at) {
        Some(set) if sched.sets[0].0 <= at => set.iter().any(|v| v.hotkey == offender),
        _ => sched
            .sets
            .iter()
            .any(|(_, s)| s.iter().any(|v| v.hotkey == offender)),
    };
    if !was_validator {
        return Err(invalid("the signer was not a validator at that height"));
    }
    let mut seen = key(EVIDENCE, &offender);
    seen.extend_from_slice(&at.to_be_bytes());
    if view.get_raw(&seen)?.is_some() {
        return Err(TxError::EvidenceAlreadyHandled {
            hotkey: offender,
            height: at,
        });
    }
    view.put(seen, &height);

    let bps = params.validators.slash_bps as u128;
    let mut slashed = 0u64;
    for (coldkey, stake) in staking::nominators(view, &offender)? {
        let cut = (stake as u128 * bps / 10_000) as u64;
        if cut > 0 {
            staking::unbond(view, &coldkey, &offender, cut)?;
            slashed += cut;
        }
    }
    recycle(view, slashed)?;
    let jailed_until = height + params.validators.jail_blocks;
    view.delete_raw(key(CANDIDATE, &offender));
    view.put(key(JAIL, &offender), &jailed_until);
    view.put(vec![RECOMPUTE], &true);
    Ok(Event::ValidatorPunished {
        hotkey: offender,
        slashed,
        jailed_until,
    })
}

/// End of block `height`: at an epoch boundary or after a punishment, ranks the candidates by
/// stake and schedules the new set from `height + ACTIVATION_DELAY`.
pub fn end_of_block(
    view: &mut StateView,
    params: &ChainParams,
    height: u64,
) -> Result<(), TxError> {
    let forced = view.get_raw(&[RECOMPUTE])?.is_some();
    if forced {
        view.delete_raw(vec![RECOMPUTE]);
    }
    if !forced && height % params.validators.epoch != 0 {
        return Ok(());
    }
    let mut ranked: Vec<Validator> = Vec::new();
    for (hotkey, _) in candidates(view)? {
        let stake = staking::hotkey(view, &hotkey)?.map_or(0, |h| h.total_stake);
        if stake > 0 {
            ranked.push(Validator {
                hotkey,
                power: stake,
            });
        }
    }
    ranked.sort_by(|a, b| b.power.cmp(&a.power).then(a.hotkey.cmp(&b.hotkey)));
    ranked.truncate(params.validators.max_validators as usize);
    ranked.sort_by_key(|v| v.hotkey);
    // A chain with no validators could never make another block: keep the old set instead.
    if ranked.is_empty() {
        return Ok(());
    }
    let mut sched = schedule(view)?;
    let from = height + ACTIVATION_DELAY;
    if sched.for_height(from) == Some(&ranked) {
        return Ok(());
    }
    sched.sets.retain(|(f, _)| *f < from);
    sched.sets.push((from, ranked));
    // Keep the set that signed this block (the next block's commit is checked against it) and
    // those after it.
    while sched.sets.len() > 1 && sched.sets[1].0 <= height {
        sched.sets.remove(0);
    }
    view.put(state::validators_key(), &sched);
    Ok(())
}
