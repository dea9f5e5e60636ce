//! Per block: the block reward into subnets' pending emission (equal shares until root weights
//! exist), burn prices decaying, and each subnet's Yuma epoch at its staggered block with the
//! owner cut and payouts to stake. Whatever is not paid is recycled, so after every block
//! total issuance = free + stake + pending.

use super::{bonds, neuron, subnet, uid_of, weights, EpochSummary, Subnet};
use crate::reward::block_reward;
use crate::runtime::error::TxError;
use crate::runtime::params::ChainParams;
use crate::runtime::staking;
use crate::runtime::subnets::calls::recycle;
use crate::state;
use crate::state::view::StateView;
use tensorchain_primitives::AccountId;
use tensorchain_subnet_engine::fx::from_u16;
use tensorchain_subnet_engine::{run_epoch, BondRow, EpochInput, Params};

/// 2^(-1/360) in parts per billion: the burn price halves toward its floor every 360 blocks.
const BURN_DECAY_PPB: u128 = 998_076_443;

/// Whether subnet `netuid` runs its epoch at block `height` (yuma.md §5, staggered by netuid).
pub fn is_epoch_block(netuid: u16, tempo: u16, height: u64) -> bool {
    tempo > 0 && (height + netuid as u64 + 1) % (tempo as u64 + 1) == 0
}

/// End of block `height`: root epoch, emission into subnets, subnet epochs, then unbonding
/// releases (the events of that).
pub fn on_block(
    view: &mut StateView,
    params: &ChainParams,
    height: u64,
) -> Result<Vec<crate::runtime::event::Event>, TxError> {
    let root_tempo = params.subnets.defaults.tempo as u64;
    if root_tempo > 0 && height % (root_tempo + 1) == 0 {
        super::root::epoch(view, height, height.saturating_sub(root_tempo + 1))?;
    }
    let mut g = view.globals()?;
    let split = super::root::split(view, block_reward(g.total_issuance))?;
    let minted: u64 = split.iter().map(|s| s.1).sum();
    g.total_issuance += minted;
    g.pending_emission += minted;
    view.set_globals(&g);
    for (netuid, amount) in split {
        let mut s = subnet(view, netuid)?.ok_or(TxError::SubnetNotFound { netuid })?;
        s.pending += amount;
        s.burn = clamp_burn(
            (s.burn as u128 * BURN_DECAY_PPB / 1_000_000_000) as u64,
            &s.hyper,
        );
        if let Some(p) = s.pow.as_mut() {
            super::pow::on_block(p, height);
        }
        if is_epoch_block(netuid, s.hyper.tempo, height) {
            run_subnet_epoch(view, params, &mut s, height)?;
        }
        view.put(super::subnet_key(netuid), &s);
    }
    crate::runtime::unbonding::release(view, height)
}

/// The burn price within [min_burn, max_burn] (never panics on a reversed pair: min wins).
pub fn clamp_burn(burn: u64, h: &crate::runtime::params::Hyperparameters) -> u64 {
    burn.min(h.max_burn).max(h.min_burn)
}

fn credit_free(view: &mut StateView, who: &AccountId, amount: u64) -> Result<(), TxError> {
    let mut a = view.account(who)?.unwrap_or_default();
    a.free = a.free.checked_add(amount).ok_or(TxError::AmountOverflow)?;
    view.set_account(who, &a)?;
    Ok(())
}

/// Pays a hotkey's epoch emission. Miner incentive (`server`) is the owner's work and goes in
/// full to the owner coldkey, as stake on the hotkey. Validator `dividends` pay the hotkey's take
/// (the lower of its values at `since` and `height`) to the owner, and the rest to the nominators pro rata to the stake
/// each had in place at `since` (the subnet's previous epoch); all to the owner if none had.
/// Returns the rounding dust.
fn pay_hotkey(
    view: &mut StateView,
    hotkey: &AccountId,
    owner: &AccountId,
    server: u64,
    dividends: u64,
    (since, height): (u64, u64),
) -> Result<u64, TxError> {
    let dust = pay_dividends(view, hotkey, owner, dividends, (since, height))?;
    // After the dividends: bonded first, the owner's new stake would have shared them.
    if server > 0 {
        staking::bond(view, owner, hotkey, server)?;
    }
    Ok(dust)
}

fn pay_dividends(
    view: &mut StateView,
    hotkey: &AccountId,
    owner: &AccountId,
    dividends: u64,
    (since, height): (u64, u64),
) -> Result<u64, TxError> {
    if dividends == 0 {
        return Ok(0);
    }
    // The lower of the take at the previous epoch and now: a take raised and lowered again
    // within a tempo never taxes that tempo's dividends at the high rate.
    let take = staking::hotkey(view, hotkey)?
        .map_or(state::MAX_TAKE, |h| h.take_at(since).min(h.take_at(height)));
    let take_amount = (dividends as u128 * take as u128 / 65535) as u64;
    let rest = dividends - take_amount;
    let nominators = staking::settled_nominators(view, hotkey, since)?;
    let total: u128 = nominators.iter().map(|n| n.1 as u128).sum();
    if total == 0 {
        staking::bond(view, owner, hotkey, dividends)?;
        return Ok(0);
    }
    staking::bond(view, owner, hotkey, take_amount)?;
    let mut paid = 0;
    for (coldkey, stake) in nominators {
        let share = (rest as u128 * stake as u128 / total) as u64;
        if share > 0 {
            staking::bond(view, &coldkey, hotkey, share)?;
        }
        paid += share;
    }
    Ok(rest - paid)
}

fn run_subnet_epoch(
    view: &mut StateView,
    params: &ChainParams,
    s: &mut Subnet,
    height: u64,
) -> Result<(), TxError> {
    let pending = s.pending;
    let netuid = s.netuid;
    // A genesis subnet has no owner: its owner cut is recycled (counted in `recycled`), never
    // paid to a key the launcher holds.
    let cut = (pending as u128 * params.subnets.owner_cut_ppm as u128 / 1_000_000) as u64;
    let owner_cut = if s.genesis { 0 } else { cut };
    let mut g = view.globals()?;
    g.pending_emission -= pending;
    view.set_globals(&g);
    s.pending = 0;
    credit_free(view, &s.owner_coldkey, owner_cut)?;
    let distributable = pending - cut;

    let n = s.n as usize;
    let mut neurons = Vec::with_capacity(n);
    for uid in 0..s.n {
        neurons.push(
            neuron(view, netuid, uid)?
                .ok_or(TxError::Storage(format!("subnet {netuid} lacks uid {uid}")))?,
        );
    }
    let mut stake = Vec::with_capacity(n);
    let (mut w, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let since = s.last_epoch_block;
    let count = s.epoch_count;
    for (uid, nr) in neurons.iter().enumerate() {
        // Only stake in place since the previous epoch weighs (no flash stake in the epoch block).
        stake.push(staking::settled_total(view, &nr.hotkey, since)?);
        // A commit left unrevealed through its reveal window (made one epoch ago) counts as no
        // weights this epoch; it stays stored so a late reveal is told `commit_expired`.
        let commits: Vec<super::WeightsCommit> = view
            .get(&super::commits_key(netuid, &nr.hotkey))?
            .unwrap_or_default();
        // Only while commit-reveal is on, and only if the owner changed no rule since the
        // commit (a changed rule may make the committed weights unrevealable).
        let changed_since =
            |c: &super::WeightsCommit| s.last_owner_change.is_some_and(|b| b >= c.block);
        let punished = s.hyper.commit_reveal_enabled
            && commits
                .iter()
                .any(|c| c.epoch + 1 == count && !changed_since(c));
        if punished {
            w.push(Vec::new());
        } else {
            w.push(weights(view, netuid, uid as u16)?);
        }
        b.push(
            bonds(view, netuid, uid as u16)?
                .into_iter()
                .map(|(j, v)| (j, from_u16(v)))
                .collect(),
        );
    }
    // Earliest pending commit per uid: the epoch masks uids registered after it (yuma.md §4.5).
    let mut commit_block = Vec::with_capacity(n);
    for nr in &neurons {
        let commits: Vec<super::WeightsCommit> = view
            .get(&super::commits_key(netuid, &nr.hotkey))?
            .unwrap_or_default();
        commit_block.push(
            commits
                .iter()
                .filter(|c| c.epoch >= count)
                .map(|c| c.block)
                .min(),
        );
    }
    let mut permits: Vec<bool> = neurons.iter().map(|n| n.validator_permit).collect();
    if s.genesis && stake.iter().all(|&x| x == 0) {
        let work: Vec<u64> = neurons.iter().map(|n| n.work).collect();
        zero_stake_rule(&mut stake, &mut permits, &w, &work);
    }
    let h = &s.hyper;
    let input = EpochInput {
        stake,
        weights: w,
        bonds: b,
        last_update: neurons.iter().map(|n| n.last_update).collect(),
        block_at_registration: neurons.iter().map(|n| n.registered_at).collect(),
        current_block: height,
        validator_permit: permits,
        owner_uid: uid_of(view, netuid, &s.owner_hotkey)?,
        last_epoch_block: s.last_epoch_block,
        commit_block,
        emission: distributable,
        params: Params {
            kappa_u16: h.kappa,
            bonds_moving_average: h.bonds_moving_average,
            bonds_penalty_u16: h.bonds_penalty,
            tempo: h.tempo as u64,
            activity_cutoff: h.activity_cutoff as u64,
            max_allowed_validators: h.max_allowed_validators,
            stake_threshold: 0,
            yuma3: h.yuma_version >= 3,
            liquid_alpha: h.liquid_alpha_enabled,
            alpha_low_u16: h.alpha_low,
            alpha_high_u16: h.alpha_high,
            commit_reveal: h.commit_reveal_enabled,
            ..Params::default()
        },
    };
    let out = run_epoch(&input);
    let u16s =
        |v: &[tensorchain_subnet_engine::Fx], i: usize| tensorchain_subnet_engine::fx::to_u16(v[i]);
    let (mut to_miners, mut to_validators, mut paid) = (0u64, 0u64, 0u64);
    let mut enabling_stake = 0u64;
    for (uid, mut nr) in neurons.into_iter().enumerate() {
        nr.rank = u16s(&out.incentive, uid);
        nr.trust = u16s(&out.trust, uid);
        nr.consensus = u16s(&out.consensus, uid);
        nr.incentive = u16s(&out.incentive, uid);
        nr.dividends = u16s(&out.dividends, uid);
        nr.validator_trust = u16s(&out.validator_trust, uid);
        nr.stake_weight = u16s(&out.stake, uid);
        nr.emission = out.emission[uid];
        nr.validator_permit = out.new_validator_permit[uid];
        nr.active = out.active[uid];
        match &out.new_bonds_u16[uid] {
            BondRow::Set(row) => view.put(super::bonds_key(netuid, uid as u16), row),
            BondRow::Cleared => view.delete_raw(super::bonds_key(netuid, uid as u16)),
            BondRow::Untouched => {}
        }
        let info = staking::hotkey(view, &nr.hotkey)?;
        let owner = info.as_ref().map_or(nr.coldkey, |h| h.owner);
        // Emission flows only to a subnet that someone other than its owner validates with
        // settled stake (protocol.md): the owner's forced permit and flash stake do not count.
        if nr.validator_permit && owner != s.owner_coldkey {
            enabling_stake = enabling_stake.saturating_add(input.stake[uid]);
        }
        // The subnet owner's hotkeys earn no miner incentive on its own subnet: the owner already
        // has the owner cut, and weighting its own miners would pay it twice (recycled instead).
        let owners_own = !s.genesis && (nr.hotkey == s.owner_hotkey || owner == s.owner_coldkey);
        let server = if owners_own {
            0
        } else {
            out.server_emission[uid]
        };
        let validator = out.validator_emission[uid];
        let dust = pay_hotkey(view, &nr.hotkey, &owner, server, validator, (since, height))?;
        paid += server + validator - dust;
        to_miners += server;
        to_validators += validator;
        view.put(super::neuron_key(netuid, uid as u16), &nr);
    }
    // Rounding dust, the owner's miners' incentive, anything Yuma did not assign, and a genesis
    // subnet's owner cut.
    let recycled = pending - owner_cut - paid;
    recycle(view, recycled)?;
    s.last_epoch_block = height;
    s.epoch_count += 1;
    s.emission_enabled = s.genesis || enabling_stake >= params.subnets.min_enabling_stake.max(1);
    let summary = EpochSummary {
        block: height,
        pending,
        owner_cut,
        to_miners,
        to_validators,
        recycled,
        n: s.n,
    };
    view.put(super::epoch_key(netuid, height), &summary);
    Ok(())
}

/// The zero-stake rule of a genesis subnet (docs/launch.md): while none of its neurons has
/// settled stake, Yuma would grant no permits and pay nobody (every stake-weighted sum is 0), so
/// every neuron that has set weights on others counts as a validator with a permit for this
/// epoch, weighing the work it registered with (its PoW difficulty; at least 1); the rest count
/// 0. Votes follow work done, as in Bitcoin, not the number of cheap hotkeys. Miners are paid by
/// incentive as always, and both earn stake, after which Yuma's stake rule takes over.
fn zero_stake_rule(stake: &mut [u64], permits: &mut [bool], weights: &[super::Row], work: &[u64]) {
    for (uid, row) in weights.iter().enumerate() {
        let validates = row.iter().any(|&(j, v)| j as usize != uid && v > 0);
        stake[uid] = if validates { work[uid].max(1) } else { 0 };
        permits[uid] = validates;
    }
}

#[cfg(test)]
mod tests {
    use super::zero_stake_rule;

    /// Review: one vote per neuron let three cheap hotkeys outvote two that did more work. Votes
    /// now weigh the registration difficulty.
    #[test]
    fn the_zero_stake_rule_weighs_work_not_hotkeys() {
        // uids 0-2: an attacker's validators registered at difficulty 4; 3-4: honest ones at 64;
        // 5: a miner everyone weights; 6: a hotkey that set no weights.
        let weights: Vec<Vec<(u16, u16)>> = (0..7)
            .map(|uid| if uid < 5 { vec![(5, 65535)] } else { vec![] })
            .collect();
        let work = [4, 4, 4, 64, 64, 64, 1_000];
        let (mut stake, mut permits) = (vec![0u64; 7], vec![false; 7]);
        zero_stake_rule(&mut stake, &mut permits, &weights, &work);
        assert_eq!(stake, vec![4, 4, 4, 64, 64, 0, 0]);
        assert_eq!(permits, vec![true, true, true, true, true, false, false]);
        let attacker: u64 = stake[..3].iter().sum();
        let honest: u64 = stake[3..5].iter().sum();
        assert!(
            honest > attacker,
            "two honest validators outweigh three cheap ones"
        );
    }
}
