//! The chain's validator set from stake. Hotkeys offer themselves with `register_validator`; every
//! `epoch` blocks (and right after a punishment) the top `max_validators` candidates by total stake
//! become the set, with voting power = stake, governing from two heights after the block that
//! computed it. Equivocation evidence slashes a fraction of the offender's stake (every nominator
//! pro rata, the rao recycled) and jails it: it leaves the set and may not register again until
//! the jail ends.

use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::runtime::params::ChainParams;
use crate::runtime::staking;
use crate::runtime::subnets::calls::recycle;
use crate::runtime::unbonding;
use crate::state::view::StateView;
use crate::state::MAX_TAKE;
use crate::state::{self, ValidatorSet};
use crate::storage::schema;
use crate::storage::schema::{
    EVIDENCE, HANDED_OVER, VALIDATOR_CANDIDATE as CANDIDATE, VALIDATOR_HISTORY as HISTORY,
    VALIDATOR_JAIL as JAIL, VALIDATOR_LEFT as LEFT, VALIDATOR_RECOMPUTE as RECOMPUTE,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use tensorchain_primitives::{AccountId, DoubleSign, SigningDomain, Validator};

/// A set computed while executing block h governs from h + ACTIVATION_DELAY (the consensus
/// crate's schedule uses the same rule).
pub const ACTIVATION_DELAY: u64 = 2;

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

fn key(tag: u8, hotkey: &AccountId) -> Vec<u8> {
    let mut k = vec![tag];
    k.extend_from_slice(&hotkey.0);
    k
}

pub fn schedule(view: &StateView) -> Result<Schedule, TxError> {
    Ok(view.get(&schema::validators_key())?.unwrap_or_default())
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
    view.put(schema::validators_key(), &Schedule::genesis(set.clone()));
    view.put(history_key(1), set);
}

fn history_key(from: u64) -> Vec<u8> {
    let mut k = vec![HISTORY];
    k.extend_from_slice(&from.to_be_bytes());
    k
}

/// Every remembered set, (first height it governs, set), ascending.
fn history(view: &StateView) -> Result<Vec<(u64, ValidatorSet)>, TxError> {
    view.scan_prefix(&[HISTORY])?
        .into_iter()
        .map(|(k, v)| {
            let from = u64::from_be_bytes(k[1..].try_into().expect("8-byte height"));
            let set = ValidatorSet::try_from_slice(&v)
                .map_err(|e| TxError::Storage(format!("corrupt validator set history: {e}")))?;
            Ok((from, set))
        })
        .collect()
}

/// The set that signed `height`, if the evidence window still remembers it.
pub fn set_at(view: &StateView, height: u64) -> Result<Option<ValidatorSet>, TxError> {
    Ok(history(view)?
        .into_iter()
        .rev()
        .find(|(from, _)| *from <= height.max(1))
        .map(|(_, s)| s))
}

/// When stake removed at `height` from a validator becomes free: it keeps backing votes until the
/// next set (computed at most `epoch` blocks later) takes effect `ACTIVATION_DELAY` heights after
/// that, and evidence of anything it signed stays admissible `evidence_max_age` blocks more, so
/// the release waits for all of that, and never less than `unbonding_blocks`.
pub fn unbonding_release(params: &ChainParams, height: u64) -> u64 {
    let v = &params.validators;
    let signs_until = height
        .saturating_add(v.epoch)
        .saturating_add(ACTIVATION_DELAY);
    signs_until
        .saturating_add(v.evidence_max_age)
        .saturating_add(1)
        .max(height.saturating_add(v.unbonding_blocks))
}

/// Whether stake leaving `hotkey` must unbond: it is in a current or scheduled set, or signed
/// blocks recently enough that evidence against it is still admissible.
pub fn answers_for_consensus(
    view: &StateView,
    hotkey: &AccountId,
    params: &ChainParams,
    height: u64,
) -> Result<bool, TxError> {
    let in_set = schedule(view)?
        .sets
        .iter()
        .any(|(_, s)| s.iter().any(|v| v.hotkey == *hotkey));
    let left: Option<u64> = view.get(&key(LEFT, hotkey))?;
    Ok(in_set
        || left.is_some_and(|l| l.saturating_add(params.validators.evidence_max_age) >= height))
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

/// Hotkey swap (issue 19): `new` becomes a candidate in `old`'s place, keeping its registration
/// height.
pub(crate) fn swap_candidacy(
    view: &mut StateView,
    old: &AccountId,
    new: &AccountId,
) -> Result<(), TxError> {
    if let Some(c) = candidate(view, old)? {
        view.delete_raw(key(CANDIDATE, old));
        view.put(key(CANDIDATE, new), &c);
    }
    Ok(())
}

/// Checks equivocation evidence, slashes and jails the offender, and has the set recomputed at
/// the end of this block.
pub fn punish(
    view: &mut StateView,
    ev: &DoubleSign,
    params: &ChainParams,
    domain: &SigningDomain,
    height: u64,
) -> Result<Event, TxError> {
    let invalid = |reason: &str| TxError::InvalidEvidence {
        reason: reason.to_string(),
    };
    ev.check(domain).map_err(|e| TxError::InvalidEvidence {
        reason: e.to_string(),
    })?;
    let at = ev.first.height;
    if at > height {
        return Err(invalid("the votes are for a future height"));
    }
    if height - at > params.validators.evidence_max_age {
        return Err(invalid("the votes are too old"));
    }
    let offender = ev.validator;
    let was_validator =
        set_at(view, at)?.is_some_and(|set| set.iter().any(|v| v.hotkey == offender));
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

    // The bonded amount answers: stake behind the hotkey and stake still unbonding from it.
    let bps = params.validators.slash_bps as u128;
    let mut slashed = 0u64;
    for (coldkey, stake) in staking::nominators(view, &offender)? {
        let cut = (stake as u128 * bps / 10_000) as u64;
        if cut > 0 {
            staking::unbond(view, &coldkey, &offender, cut)?;
            slashed += cut;
        }
    }
    for entry in unbonding::of_hotkey(view, &offender)? {
        let cut = (entry.amount as u128 * bps / 10_000) as u64;
        if cut > 0 {
            unbonding::cut(view, &entry, cut)?;
            slashed += cut;
        }
    }
    recycle(view, slashed)?;
    let mut g = view.globals()?;
    g.total_slashed += slashed;
    view.set_globals(&g);
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
    if !bootstrap_over(view, params, &ranked, height)? {
        return Ok(());
    }
    let mut sched = schedule(view)?;
    let from = height + ACTIVATION_DELAY;
    if sched.for_height(from) == Some(&ranked) {
        return Ok(());
    }
    // Who signed up to now but is not in the new set starts the clock of its unbonding window.
    if let Some(before) = sched.for_height(from - 1) {
        for v in before
            .iter()
            .filter(|v| !ranked.iter().any(|r| r.hotkey == v.hotkey))
        {
            view.put(key(LEFT, &v.hotkey), &(from - 1));
        }
    }
    for (f, _) in history(view)? {
        if f >= from {
            view.delete_raw(history_key(f));
        }
    }
    view.put(history_key(from), &ranked);
    prune_history(view, params, height)?;
    sched.sets.retain(|(f, _)| *f < from);
    sched.sets.push((from, ranked));
    // Keep the set that signed this block (the next block's commit is checked against it) and
    // those after it.
    while sched.sets.len() > 1 && sched.sets[1].0 <= height {
        sched.sets.remove(0);
    }
    view.put(schema::validators_key(), &sched);
    Ok(())
}

/// The bootstrap handover rule: once the elected set first reaches `handover_validators`
/// members and `handover_stake` in total it takes over for good (recorded), and the bootstrap
/// keys, which have no stake, are not in it. Until then the genesis set keeps governing.
fn bootstrap_over(
    view: &mut StateView,
    params: &ChainParams,
    ranked: &[Validator],
    height: u64,
) -> Result<bool, TxError> {
    let v = &params.validators;
    if (v.handover_stake == 0 && v.handover_validators == 0)
        || view.get_raw(&[HANDED_OVER])?.is_some()
    {
        return Ok(true);
    }
    let total: u128 = ranked.iter().map(|r| r.power as u128).sum();
    if ranked.len() < v.handover_validators as usize || total < v.handover_stake as u128 {
        return Ok(false);
    }
    view.put(vec![HANDED_OVER], &height);
    Ok(true)
}

/// Whether bootstrap validators (keys the launcher runs, with no stake) still govern: a launch
/// with a handover rule that has not been met yet.
pub fn bootstrapping(view: &StateView, params: &ChainParams, height: u64) -> Result<bool, TxError> {
    let v = &params.validators;
    let has_rule = v.handover_stake > 0 || v.handover_validators > 0;
    // The elected set signs from ACTIVATION_DELAY heights after the handover block; until then
    // the bootstrap keys still propose.
    let governing = |at: u64| height < at + ACTIVATION_DELAY;
    Ok(has_rule && handed_over_at(view)?.is_none_or(governing))
}

/// The block the stake-elected set took over from the bootstrap set, if it has.
pub fn handed_over_at(view: &StateView) -> Result<Option<u64>, TxError> {
    Ok(view.get(&[HANDED_OVER])?)
}

/// Forgets sets that stopped governing more than the evidence window ago.
fn prune_history(view: &mut StateView, params: &ChainParams, height: u64) -> Result<(), TxError> {
    let sets = history(view)?;
    let horizon = height.saturating_sub(params.validators.evidence_max_age);
    for pair in sets.windows(2) {
        // pair[0] governed until pair[1].0 - 1.
        if pair[1].0 <= horizon {
            view.delete_raw(history_key(pair[0].0));
        }
    }
    Ok(())
}

/// Decreases apply at once; an increase is rate limited and applies `take_increase_delay` blocks
/// later, so a delegate cannot advertise a low take and raise it for the next epoch.
pub(crate) fn set_take(
    view: &mut StateView,
    signer: &AccountId,
    hotkey: &AccountId,
    take: u16,
    params: &ChainParams,
    height: u64,
) -> Result<Event, TxError> {
    let mut info =
        staking::hotkey(view, hotkey)?.ok_or(TxError::HotkeyNotFound { hotkey: *hotkey })?;
    if info.owner != *signer {
        return Err(TxError::NotHotkeyOwner {
            hotkey: *hotkey,
            owner: info.owner,
        });
    }
    if take > MAX_TAKE {
        return Err(TxError::TakeTooHigh {
            take,
            max: MAX_TAKE,
        });
    }
    let current = info.take_at(height);
    let v = &params.validators;
    let effective_at = if take <= current {
        info.take = take;
        info.pending_take = None;
        height
    } else {
        if let Some(last) = info.last_take_increase {
            let since = height.saturating_sub(last);
            if since < v.take_rate_limit {
                return Err(TxError::TakeRateLimited {
                    last,
                    retry_after_blocks: v.take_rate_limit - since,
                });
            }
        }
        info.take = current;
        // Nominators of a validator need the whole unbonding time to leave before it applies.
        let delay = if answers_for_consensus(view, hotkey, params, height)? {
            v.take_increase_delay
                .max(unbonding_release(params, height) - height + 1)
        } else {
            v.take_increase_delay
        };
        let effective_at = height.saturating_add(delay);
        info.pending_take = Some(state::PendingTake { take, effective_at });
        info.last_take_increase = Some(height);
        effective_at
    };
    view.put(schema::hotkey_key(hotkey), &info);
    Ok(Event::TakeSet {
        hotkey: *hotkey,
        take,
        effective_at,
    })
}
