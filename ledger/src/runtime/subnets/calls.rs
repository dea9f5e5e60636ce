//! The subnet calls: creating subnets, registering neurons, hyperparameters, axons and weights.
//! Every check returns a named error; `execute` rolls back whatever a failing call wrote.

use super::WeightsCommit;
use super::{
    neuron, subnet, uid_of, weights, Axon, Hyperparameters, Neuron, Registry, Row, Subnet,
    SubnetParams,
};
use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::runtime::params::SUBNET_LIMIT;
use crate::state::view::StateView;
use crate::state::HotkeyInfo;
use crate::storage::schema;
use tensorchain_primitives::{weights_commit_hash, AccountId, RAO_PER_TAO};

/// Longest subnet identity, in bytes.
const MAX_IDENTITY: usize = 64;
/// A reveal's salt only has to make the commit unguessable: 16 random bytes do; 64 leaves room
/// for any client's encoding. Without a bound, two reveals of ~5 MiB made every block too large
/// to gossip.
const MAX_SALT: usize = 64;
/// A new subnet's first burn price.
const INITIAL_BURN: u64 = RAO_PER_TAO;
/// Unrevealed commits one hotkey may hold.
const MAX_COMMITS: usize = 10;
/// Each registration multiplies the burn by 1.26.
const BURN_INCREASE: (u64, u64) = (126, 100);

/// The lock cost now: twice the last one, decaying linearly to the floor over `lock_decay_blocks`.
pub fn lock_cost(registry: &Registry, p: &SubnetParams, now: u64) -> u64 {
    let start = registry
        .last_lock_cost
        .saturating_mul(2)
        .max(p.lock_cost_floor);
    let elapsed = now.saturating_sub(registry.last_lock_block);
    if p.lock_decay_blocks == 0 || elapsed >= p.lock_decay_blocks {
        return p.lock_cost_floor;
    }
    let decayed =
        (start - p.lock_cost_floor) as u128 * elapsed as u128 / p.lock_decay_blocks as u128;
    start - decayed as u64
}

/// Takes `amount` from the signer's free balance out of circulation (recycling lowers issuance).
pub(crate) fn burn_from(view: &mut StateView, who: &AccountId, amount: u64) -> Result<(), TxError> {
    let mut account = view.account(who)?.unwrap_or_default();
    if account.free < amount {
        return Err(TxError::InsufficientBalance {
            needed: amount,
            available: account.free,
        });
    }
    account.free -= amount;
    view.set_account(who, &account)?;
    recycle(view, amount)
}

pub fn recycle(view: &mut StateView, amount: u64) -> Result<(), TxError> {
    let mut g = view.globals()?;
    g.total_issuance -= amount;
    g.total_recycled += amount;
    view.set_globals(&g);
    Ok(())
}

/// The hotkey must be the signer's, or nobody's yet (then it becomes the signer's).
pub(crate) fn claim_hotkey(
    view: &mut StateView,
    coldkey: &AccountId,
    hotkey: &AccountId,
) -> Result<(), TxError> {
    match crate::runtime::staking::hotkey(view, hotkey)? {
        Some(info) if info.owner != *coldkey => Err(TxError::NotHotkeyOwner {
            hotkey: *hotkey,
            owner: info.owner,
        }),
        Some(_) => Ok(()),
        None => {
            view.put(schema::hotkey_key(hotkey), &HotkeyInfo::new(*coldkey));
            Ok(())
        }
    }
}

fn registry(view: &StateView) -> Result<Registry, TxError> {
    Ok(view.get(&super::registry_key())?.unwrap_or_default())
}

/// Removes every record of a subnet (neurons with their axons, weights, bonds, commits, epoch
/// history, hyperparameters, and every root weight and share that names its netuid), so a
/// subnet that takes the netuid inherits nothing; its pending emission is recycled.
fn dissolve(view: &mut StateView, s: &Subnet) -> Result<(), TxError> {
    for uid in 0..s.n {
        if let Some(n) = neuron(view, s.netuid, uid)? {
            view.delete_raw(super::uid_key(s.netuid, &n.hotkey));
            view.delete_raw(super::commits_key(s.netuid, &n.hotkey));
        }
        view.delete_raw(super::neuron_key(s.netuid, uid));
        view.delete_raw(super::weights_key(s.netuid, uid));
        view.delete_raw(super::bonds_key(s.netuid, uid));
    }
    for (k, _) in view.scan_prefix(&super::epochs_prefix(s.netuid))? {
        view.delete_raw(k);
    }
    super::root::forget_subnet(view, s.netuid)?;
    let mut g = view.globals()?;
    g.pending_emission -= s.pending;
    view.set_globals(&g);
    recycle(view, s.pending)?;
    view.delete_raw(super::subnet_key(s.netuid));
    Ok(())
}

pub(crate) fn register_subnet(
    view: &mut StateView,
    owner: &AccountId,
    hotkey: &AccountId,
    max_cost: u64,
    identity: &str,
    p: &SubnetParams,
    now: u64,
) -> Result<Event, TxError> {
    if identity.len() > MAX_IDENTITY {
        return Err(TxError::IdentityTooLong { max: MAX_IDENTITY });
    }
    let mut reg = registry(view)?;
    let cost = lock_cost(&reg, p, now);
    if cost > max_cost {
        return Err(TxError::RegistrationCostExceedsMax { cost, max_cost });
    }
    let live = super::netuids(view)?;
    let netuid = match (1..=SUBNET_LIMIT).find(|n| !live.contains(n)) {
        Some(free) => free,
        None => {
            // At the cap, the non-immune subnet with the lowest emission share makes room (ties:
            // the oldest), as protocol.md says.
            let shares = super::root::emission_shares(view)?;
            let mut candidates = Vec::new();
            for &n in &live {
                let s = subnet(view, n)?.ok_or(TxError::SubnetNotFound { netuid: n })?;
                if s.registered_at.saturating_add(p.network_immunity_blocks) <= now {
                    let share = shares.iter().find(|e| e.0 == n).map_or(0, |e| e.1);
                    candidates.push((share, s));
                }
            }
            let (_, weakest) = candidates
                .into_iter()
                .min_by_key(|(share, s)| (*share, s.registered_at, s.netuid))
                .ok_or(TxError::SubnetLimitReached)?;
            dissolve(view, &weakest)?;
            weakest.netuid
        }
    };
    claim_hotkey(view, owner, hotkey)?;
    burn_from(view, owner, cost)?;
    let hyper = p.defaults.clone();
    let s = Subnet {
        netuid,
        owner_coldkey: *owner,
        owner_hotkey: *hotkey,
        identity: identity.to_string(),
        registered_at: now,
        burn: super::emission::clamp_burn(INITIAL_BURN, &hyper),
        hyper,
        pending: 0,
        last_epoch_block: now,
        n: 1,
        epoch_count: 0,
        emission_enabled: false,
        last_owner_change: None,
        genesis: false,
        registration: crate::runtime::params::RegistrationMode::Burn,
        pow: None,
    };
    view.put(super::subnet_key(netuid), &s);
    view.put(
        super::neuron_key(netuid, 0),
        &Neuron::new(*hotkey, *owner, now),
    );
    view.put(super::uid_key(netuid, hotkey), &0u16);
    reg.last_lock_cost = cost;
    reg.last_lock_block = now;
    view.put(super::registry_key(), &reg);
    Ok(Event::SubnetRegistered {
        netuid,
        owner: *owner,
        hotkey: *hotkey,
        cost,
    })
}

/// The uid a full subnet gives up: lowest emission, then earliest registration, then lowest uid;
/// non-immune uids first; never the owner's hotkey.
fn prune_candidate(view: &StateView, s: &Subnet, now: u64) -> Result<Option<u16>, TxError> {
    let mut best: [Option<(u64, u64, u16)>; 2] = [None, None];
    for uid in 0..s.n {
        let Some(n) = neuron(view, s.netuid, uid)? else {
            continue;
        };
        if n.hotkey == s.owner_hotkey {
            continue;
        }
        let immune = now.saturating_sub(n.registered_at) < s.hyper.immunity_period as u64;
        let slot = &mut best[immune as usize];
        let key = (n.emission, n.registered_at, uid);
        if slot.is_none_or(|b| key < b) {
            *slot = Some(key);
        }
    }
    Ok(best[0].or(best[1]).map(|b| b.2))
}

/// The checks every registration shares, in order: the subnet exists, takes this kind of
/// registration (`allows`), takes registrations at all, and does not hold the hotkey yet.
pub(crate) fn registration_open(
    view: &StateView,
    netuid: u16,
    hotkey: &AccountId,
    allows: impl Fn(&Subnet) -> bool,
) -> Result<Subnet, TxError> {
    let s = subnet(view, netuid)?.ok_or(TxError::SubnetNotFound { netuid })?;
    if !allows(&s) {
        return Err(TxError::WrongRegistrationMode {
            netuid,
            mode: s.registration.name(),
        });
    }
    if !s.hyper.registration_allowed {
        return Err(TxError::RegistrationDisabled { netuid });
    }
    if let Some(uid) = uid_of(view, netuid, hotkey)? {
        return Err(TxError::HotkeyAlreadyRegistered { netuid, uid });
    }
    Ok(s)
}

pub(crate) fn burned_register(
    view: &mut StateView,
    coldkey: &AccountId,
    netuid: u16,
    hotkey: &AccountId,
    max_cost: u64,
    now: u64,
) -> Result<Event, TxError> {
    let mut s = registration_open(view, netuid, hotkey, |s| s.registration.allows_burn())?;
    claim_hotkey(view, coldkey, hotkey)?;
    let cost = s.burn;
    if cost > max_cost {
        return Err(TxError::RegistrationCostExceedsMax { cost, max_cost });
    }
    super::pow::count_registration(&mut s, now)?;
    burn_from(view, coldkey, cost)?;
    let (uid, replaced) = seat_neuron(view, &mut s, hotkey, coldkey, now)?;
    s.burn = super::emission::clamp_burn(
        (s.burn as u128 * BURN_INCREASE.0 as u128 / BURN_INCREASE.1 as u128) as u64,
        &s.hyper,
    );
    view.put(super::subnet_key(netuid), &s);
    Ok(Event::NeuronRegistered {
        netuid,
        uid,
        hotkey: *hotkey,
        cost,
        replaced,
    })
}

/// Gives a newly registered hotkey a uid: a new one while the subnet has room, else the pruned
/// uid (whose weights, bonds and every weight on it go with its previous occupant). The caller
/// stores `s`. Returns (uid, replaced hotkey).
pub(crate) fn seat_neuron(
    view: &mut StateView,
    s: &mut Subnet,
    hotkey: &AccountId,
    coldkey: &AccountId,
    now: u64,
) -> Result<(u16, Option<AccountId>), TxError> {
    let netuid = s.netuid;
    let (uid, replaced) = if s.n < s.hyper.max_allowed_uids {
        s.n += 1;
        (s.n - 1, None)
    } else {
        let uid = prune_candidate(view, s, now)?.ok_or(TxError::SubnetFull { netuid })?;
        let old = neuron(view, netuid, uid)?.ok_or(TxError::SubnetFull { netuid })?;
        view.delete_raw(super::uid_key(netuid, &old.hotkey));
        view.delete_raw(super::commits_key(netuid, &old.hotkey));
        view.delete_raw(super::weights_key(netuid, uid));
        view.delete_raw(super::bonds_key(netuid, uid));
        // Every other validator's weight on this uid referred to the previous occupant.
        for other in 0..s.n {
            let mut row = weights(view, netuid, other)?;
            let before = row.len();
            row.retain(|e| e.0 != uid);
            if row.len() != before {
                view.put(super::weights_key(netuid, other), &row);
            }
        }
        (uid, Some(old.hotkey))
    };
    view.put(
        super::neuron_key(netuid, uid),
        &Neuron::new(*hotkey, *coldkey, now),
    );
    view.put(super::uid_key(netuid, hotkey), &uid);
    Ok((uid, replaced))
}

pub(crate) fn set_hyperparameter(
    view: &mut StateView,
    signer: &AccountId,
    netuid: u16,
    name: &str,
    value: u64,
    sudo: Option<AccountId>,
    now: u64,
) -> Result<Event, TxError> {
    let mut s = subnet(view, netuid)?.ok_or(TxError::SubnetNotFound { netuid })?;
    let owner_settable = s
        .hyper
        .list()
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, owner)| owner)
        .ok_or_else(|| TxError::UnknownHyperparameter {
            name: name.to_string(),
        })?;
    let is_sudo = sudo == Some(*signer);
    if !is_sudo {
        if *signer != s.owner_coldkey {
            return Err(TxError::NotSubnetOwner { netuid });
        }
        if !owner_settable {
            return Err(TxError::SudoRequired {
                name: name.to_string(),
            });
        }
    }
    let mut hyper: Hyperparameters = s.hyper.clone();
    hyper.set(name, value)?;
    if !is_sudo {
        // Never in the last blocks before an epoch (a tenth of the tempo, at least the epoch
        // block itself): validators get notice of the rules an epoch will apply.
        let tempo = s.hyper.tempo as u64;
        let phase = (now + netuid as u64 + 1) % (tempo + 1);
        let blocks_to_epoch = if phase == 0 { 0 } else { tempo + 1 - phase };
        if blocks_to_epoch < (tempo / 10).max(1) {
            return Err(TxError::HyperparameterFreezeWindow {
                netuid,
                blocks_to_epoch,
            });
        }
        // One owner change per tempo: validators get a whole epoch under the rules they see.
        if let Some(last) = s.last_owner_change {
            let (since, limit) = (now.saturating_sub(last), s.hyper.tempo as u64);
            if since < limit {
                return Err(TxError::HyperparameterRateLimited {
                    netuid,
                    retry_after_blocks: limit - since,
                });
            }
        }
        s.last_owner_change = Some(now);
    }
    s.hyper = hyper;
    s.burn = super::emission::clamp_burn(s.burn, &s.hyper);
    view.put(super::subnet_key(netuid), &s);
    Ok(Event::HyperparameterSet {
        netuid,
        name: name.to_string(),
        value,
    })
}

pub(crate) fn serve_axon(
    view: &mut StateView,
    hotkey: &AccountId,
    netuid: u16,
    ip: [u8; 16],
    port: u16,
    protocol: u8,
    now: u64,
) -> Result<Event, TxError> {
    let s = subnet(view, netuid)?.ok_or(TxError::SubnetNotFound { netuid })?;
    let uid = uid_of(view, netuid, hotkey)?.ok_or(TxError::HotkeyNotRegistered {
        netuid,
        hotkey: *hotkey,
    })?;
    if port == 0 {
        return Err(TxError::BadAxon);
    }
    let mut n = neuron(view, netuid, uid)?.ok_or(TxError::HotkeyNotRegistered {
        netuid,
        hotkey: *hotkey,
    })?;
    if let Some(prev) = &n.axon {
        let (since, limit) = (now.saturating_sub(prev.block), s.hyper.serving_rate_limit);
        if since < limit {
            return Err(TxError::ServingRateLimited {
                retry_after_blocks: limit - since,
            });
        }
    }
    n.axon = Some(Axon {
        ip,
        port,
        protocol,
        block: now,
    });
    view.put(super::neuron_key(netuid, uid), &n);
    Ok(Event::AxonServed { netuid, uid })
}

/// `set_weights` with the checks of yuma.md §7.1, in that order.
pub(crate) fn set_weights(
    view: &mut StateView,
    hotkey: &AccountId,
    netuid: u16,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
    now: u64,
) -> Result<Event, TxError> {
    let s = subnet(view, netuid)?.ok_or(TxError::SubnetNotFound { netuid })?;
    if s.hyper.commit_reveal_enabled {
        return Err(TxError::CommitRevealEnabled { netuid });
    }
    store_weights(view, &s, hotkey, uids, values, version_key, now, true)
}

/// The checks of yuma.md §7.1 and the write; a reveal skips the rate limit (its commit had it).
#[allow(clippy::too_many_arguments)]
fn store_weights(
    view: &mut StateView,
    s: &Subnet,
    hotkey: &AccountId,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
    now: u64,
    rate_limited: bool,
) -> Result<Event, TxError> {
    let netuid = s.netuid;
    if uids.len() != values.len() {
        return Err(TxError::WeightsLengthMismatch {
            uids: uids.len(),
            values: values.len(),
        });
    }
    if uids.len() > s.n as usize {
        return Err(TxError::TooManyWeights { max: s.n as usize });
    }
    let uid = uid_of(view, netuid, hotkey)?.ok_or(TxError::HotkeyNotRegistered {
        netuid,
        hotkey: *hotkey,
    })?;
    let mut me = neuron(view, netuid, uid)?.ok_or(TxError::HotkeyNotRegistered {
        netuid,
        hotkey: *hotkey,
    })?;
    if s.hyper.weights_version != 0 && version_key < s.hyper.weights_version {
        return Err(TxError::IncorrectWeightsVersion {
            required: s.hyper.weights_version,
        });
    }
    let since = now.saturating_sub(me.last_update);
    if rate_limited && since < s.hyper.weights_rate_limit {
        return Err(TxError::WeightsRateLimited {
            retry_after_blocks: s.hyper.weights_rate_limit - since,
        });
    }
    let self_weight = uids == [uid];
    // On a genesis subnet nobody holds a permit before stake exists (permits go by stake), so
    // anyone registered may set weights; the zero-stake rule (emission.rs) decides whose count.
    if !self_weight && *hotkey != s.owner_hotkey && !me.validator_permit && !s.genesis {
        return Err(TxError::NoValidatorPermit);
    }
    let mut seen = std::collections::BTreeSet::new();
    for &u in uids {
        if !seen.insert(u) {
            return Err(TxError::DuplicateUids { uid: u });
        }
        if u >= s.n {
            return Err(TxError::UidOutOfRange { uid: u, n: s.n });
        }
    }
    let min = (s.hyper.min_allowed_weights as usize).min(s.n as usize);
    if !self_weight && uids.len() < min {
        return Err(TxError::NotEnoughWeights { min });
    }
    let max = values.iter().copied().max().unwrap_or(0) as u64;
    let total: u64 = values.iter().map(|&v| v as u64).sum();
    if s.hyper.max_weight_limit != u16::MAX
        && !self_weight
        && max * 65535 > s.hyper.max_weight_limit as u64 * total
    {
        return Err(TxError::MaxWeightExceeded {
            limit: s.hyper.max_weight_limit,
        });
    }
    // Stored max-upscaled: round(v · 65535 / max), ties away from zero.
    let mut row: Row = uids
        .iter()
        .zip(values)
        .map(|(&u, &v)| {
            (
                u,
                if max == 0 {
                    v
                } else {
                    ((v as u64 * 65535 * 2 + max) / (2 * max)) as u16
                },
            )
        })
        .collect();
    row.sort_by_key(|e| e.0);
    view.put(super::weights_key(netuid, uid), &row);
    me.last_update = now;
    view.put(super::neuron_key(netuid, uid), &me);
    Ok(Event::WeightsSet {
        netuid,
        uid,
        count: row.len() as u16,
    })
}

pub(crate) fn commit_weights(
    view: &mut StateView,
    hotkey: &AccountId,
    netuid: u16,
    hash: tensorchain_primitives::Hash,
    now: u64,
) -> Result<Event, TxError> {
    let s = subnet(view, netuid)?.ok_or(TxError::SubnetNotFound { netuid })?;
    if !s.hyper.commit_reveal_enabled {
        return Err(TxError::CommitRevealDisabled { netuid });
    }
    let uid = uid_of(view, netuid, hotkey)?.ok_or(TxError::HotkeyNotRegistered {
        netuid,
        hotkey: *hotkey,
    })?;
    let epoch = s.epoch_count;
    let mut commits: Vec<WeightsCommit> = view
        .get(&super::commits_key(netuid, hotkey))?
        .unwrap_or_default();
    // Commits are bound by the weights rate limit as weights are: one per `weights_rate_limit`.
    if let Some(last) = commits.iter().map(|c| c.block).max() {
        let since = now.saturating_sub(last);
        if since < s.hyper.weights_rate_limit {
            return Err(TxError::WeightsRateLimited {
                retry_after_blocks: s.hyper.weights_rate_limit - since,
            });
        }
    }
    commits.retain(|c| c.epoch + 1 >= epoch);
    if commits.len() >= MAX_COMMITS {
        return Err(TxError::TooManyCommits { max: MAX_COMMITS });
    }
    commits.push(WeightsCommit {
        hash,
        epoch,
        block: now,
    });
    view.put(super::commits_key(netuid, hotkey), &commits);
    Ok(Event::WeightsCommitted { netuid, uid })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn reveal_weights(
    view: &mut StateView,
    hotkey: &AccountId,
    netuid: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u8],
    version_key: u64,
    now: u64,
) -> Result<Event, TxError> {
    if salt.len() > MAX_SALT {
        return Err(TxError::SaltTooLong { max: MAX_SALT });
    }
    let s = subnet(view, netuid)?.ok_or(TxError::SubnetNotFound { netuid })?;
    if !s.hyper.commit_reveal_enabled {
        return Err(TxError::CommitRevealDisabled { netuid });
    }
    let hash = weights_commit_hash(hotkey, netuid, uids, values, salt, version_key);
    let mut commits: Vec<WeightsCommit> = view
        .get(&super::commits_key(netuid, hotkey))?
        .unwrap_or_default();
    let i = commits
        .iter()
        .position(|c| c.hash == hash)
        .ok_or(TxError::NoMatchingCommit)?;
    let epoch = s.epoch_count;
    let committed = commits[i].epoch;
    if epoch <= committed {
        return Err(TxError::RevealTooEarly {
            reveal_epoch: committed + 1,
            current_epoch: epoch,
        });
    }
    if epoch > committed + 1 {
        return Err(TxError::CommitExpired {
            committed_epoch: committed,
        });
    }
    commits.remove(i);
    if commits.is_empty() {
        view.delete_raw(super::commits_key(netuid, hotkey));
    } else {
        view.put(super::commits_key(netuid, hotkey), &commits);
    }
    store_weights(view, &s, hotkey, uids, values, version_key, now, false)
}
