//! Per block: the block reward into subnets' pending emission (equal shares until root weights
//! exist), burn prices decaying, and each subnet's Yuma epoch at its staggered block with the
//! owner cut and payouts to stake. Whatever is not paid is recycled, so after every block
//! total issuance = free + stake + pending.

use super::{bonds, neuron, subnet, uid_of, weights, EpochSummary, Subnet};
use crate::execute::TxError;
use crate::reward::block_reward;
use crate::staking;
use crate::state::{self, ChainParams};
use crate::subnet::calls::recycle;
use crate::view::StateView;
use tensorchain_primitives::AccountId;
use tensorchain_subnet_engine::fx::from_u16;
use tensorchain_subnet_engine::{run_epoch, BondRow, EpochInput, Params};

/// 2^(-1/360) in parts per billion: the burn price halves toward its floor every 360 blocks.
const BURN_DECAY_PPB: u128 = 998_076_443;

/// Whether subnet `netuid` runs its epoch at block `height` (yuma.md §5, staggered by netuid).
pub fn is_epoch_block(netuid: u16, tempo: u16, height: u64) -> bool {
    tempo > 0 && (height + netuid as u64 + 1) % (tempo as u64 + 1) == 0
}

pub fn on_block(view: &mut StateView, params: &ChainParams, height: u64) -> Result<(), TxError> {
    let root_tempo = params.subnets.defaults.tempo as u64;
    if root_tempo > 0 && height % (root_tempo + 1) == 0 {
        super::root::epoch(view, height)?;
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
        s.burn = ((s.burn as u128 * BURN_DECAY_PPB / 1_000_000_000) as u64).max(s.hyper.min_burn);
        if is_epoch_block(netuid, s.hyper.tempo, height) {
            run_subnet_epoch(view, params, &mut s, height)?;
        }
        view.put(super::subnet_key(netuid), &s);
    }
    Ok(())
}

fn credit_free(view: &mut StateView, who: &AccountId, amount: u64) -> Result<(), TxError> {
    let mut a = view.account(who)?.unwrap_or_default();
    a.free = a.free.checked_add(amount).ok_or(TxError::AmountOverflow)?;
    view.set_account(who, &a);
    Ok(())
}

/// Pays `amount` to a hotkey: the owner's take of `dividends` first, the rest to every
/// nominator pro rata to stake (all to the owner if nobody stakes). Returns the rounding dust.
fn pay_hotkey(
    view: &mut StateView,
    hotkey: &AccountId,
    owner: &AccountId,
    amount: u64,
    dividends: u64,
) -> Result<u64, TxError> {
    if amount == 0 {
        return Ok(0);
    }
    let take = staking::hotkey(view, hotkey)?.map_or(state::MAX_TAKE, |h| h.take);
    let take_amount = (dividends as u128 * take as u128 / 65535) as u64;
    let rest = amount - take_amount;
    let nominators = staking::nominators(view, hotkey)?;
    let total: u128 = nominators.iter().map(|n| n.1 as u128).sum();
    if total == 0 {
        staking::bond(view, owner, hotkey, amount)?;
        return Ok(0);
    }
    staking::bond(view, owner, hotkey, take_amount)?;
    let mut paid = 0;
    for (coldkey, stake) in nominators {
        let share = (rest as u128 * stake as u128 / total) as u64;
        staking::bond(view, &coldkey, hotkey, share)?;
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
    let owner_cut = (pending as u128 * params.subnets.owner_cut_ppm as u128 / 1_000_000) as u64;
    let mut g = view.globals()?;
    g.pending_emission -= pending;
    view.set_globals(&g);
    s.pending = 0;
    credit_free(view, &s.owner_coldkey, owner_cut)?;
    let distributable = pending - owner_cut;

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
    for (uid, nr) in neurons.iter().enumerate() {
        stake.push(staking::hotkey(view, &nr.hotkey)?.map_or(0, |h| h.total_stake));
        w.push(weights(view, netuid, uid as u16)?);
        b.push(
            bonds(view, netuid, uid as u16)?
                .into_iter()
                .map(|(j, v)| (j, from_u16(v)))
                .collect(),
        );
    }
    // Earliest unexpired commit per uid: the epoch masks uids registered after it (yuma.md §4.5).
    let mut commit_block = Vec::with_capacity(n);
    let epoch_now = super::epoch_index(netuid, s.hyper.tempo, height);
    for nr in &neurons {
        let commits: Vec<super::WeightsCommit> = view
            .get(&super::commits_key(netuid, &nr.hotkey))?
            .unwrap_or_default();
        commit_block.push(
            commits
                .iter()
                .filter(|c| c.epoch + 1 >= epoch_now)
                .map(|c| c.block)
                .min(),
        );
    }
    let h = &s.hyper;
    let input = EpochInput {
        stake,
        weights: w,
        bonds: b,
        last_update: neurons.iter().map(|n| n.last_update).collect(),
        block_at_registration: neurons.iter().map(|n| n.registered_at).collect(),
        current_block: height,
        validator_permit: neurons.iter().map(|n| n.validator_permit).collect(),
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
        // The owner's own hotkey earns no miner incentive: it is recycled (yuma.md §11).
        let server = if nr.hotkey == s.owner_hotkey {
            0
        } else {
            out.server_emission[uid]
        };
        let validator = out.validator_emission[uid];
        let owner = staking::hotkey(view, &nr.hotkey)?.map_or(nr.coldkey, |h| h.owner);
        let dust = pay_hotkey(view, &nr.hotkey, &owner, server + validator, validator)?;
        paid += server + validator - dust;
        to_miners += server;
        to_validators += validator;
        view.put(super::neuron_key(netuid, uid as u16), &nr);
    }
    // Rounding dust, the owner hotkey's incentive and anything Yuma did not assign.
    let recycled = distributable - paid;
    recycle(view, recycled)?;
    s.last_epoch_block = height;
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
