//! One Yuma epoch of one subnet (yuma.md §4), on sparse rows so its cost follows the number of
//! non-zero weights and bonds, not n².

use crate::bonds;
use crate::consensus::weighted_quantile_columns;
use crate::fx::{from_u16, normalize, normalize_u64, safe_div, sum, to_u16, Fx, ZERO};
use crate::types::{BondRow, EpochInput, EpochOutput, SparseRow};

/// Permits for the k largest non-zero stakes; among equal stakes the higher uid wins.
pub fn top_k_nonzero(stake: &[Fx], k: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..stake.len()).collect();
    order.sort_by(|&x, &y| (stake[x], x).cmp(&(stake[y], y)));
    let mut permit = vec![false; stake.len()];
    for &uid in order.iter().rev().take(k) {
        permit[uid] = stake[uid] > ZERO;
    }
    permit
}

fn at<T: Copy + Default>(v: &[T], i: usize) -> T {
    v.get(i).copied().unwrap_or_default()
}

pub fn run_epoch(input: &EpochInput) -> EpochOutput {
    let p = &input.params;
    let n = input.stake.len();
    let owner = input.owner_uid.map(usize::from).filter(|&o| o < n);
    let last_update: Vec<u64> = (0..n).map(|i| at(&input.last_update, i)).collect();
    let registered: Vec<u64> = (0..n)
        .map(|i| at(&input.block_at_registration, i))
        .collect();

    // §4.1 activity
    let active: Vec<bool> = last_update
        .iter()
        .map(|&lu| lu.saturating_add(p.activity_cutoff) >= input.current_block)
        .collect();

    // §4.2 stake, with the threshold (the owner is exempt)
    let raw: Vec<u64> = (0..n)
        .map(|i| {
            let s = input.stake[i];
            if Some(i) != owner && s < p.stake_threshold {
                0
            } else {
                s
            }
        })
        .collect();
    let stake = normalize_u64(&raw);

    // §4.3 permits: last epoch's are used now; this epoch's take effect next time
    let mut used: Vec<bool> = (0..n).map(|i| at(&input.validator_permit, i)).collect();
    let mut new_permit = top_k_nonzero(&stake, p.max_allowed_validators as usize);
    if let Some(o) = owner {
        used[o] = true;
        new_permit[o] = true;
    }

    // §4.4 active stake
    let mut a: Vec<Fx> = (0..n)
        .map(|i| if active[i] && used[i] { stake[i] } else { ZERO })
        .collect();
    normalize(&mut a);

    // §4.5 weights: permit, diagonal (owner kept), outdated and commit-reveal masks, row-normalized
    let w: Vec<SparseRow<Fx>> = (0..n)
        .map(|i| {
            if !used[i] {
                return Vec::new();
            }
            let commit = if p.commit_reveal {
                at(&input.commit_block, i)
            } else {
                None
            };
            let mut row: SparseRow<u16> = input
                .weights
                .get(i)
                .map(|r| r.as_slice())
                .unwrap_or(&[])
                .iter()
                .filter(|&&(j, v)| {
                    let j = j as usize;
                    j < n
                        && v > 0
                        && (j != i || Some(i) == owner)
                        && last_update[i] > registered[j]
                        && commit.is_none_or(|cb| cb >= registered[j])
                })
                .copied()
                .collect();
            row.sort_by_key(|e| e.0);
            row.dedup_by_key(|e| e.0);
            // Row-normalized straight from the u16 values: one exact, truncating division each.
            let total: u64 = row.iter().map(|e| e.1 as u64).sum();
            row.into_iter()
                .map(|(j, v)| (j, Fx::from_bits((((v as u64) << 32) / total) as i64)))
                .collect()
        })
        .collect();

    // §4.6 consensus, §4.7 clipping and validator trust
    let consensus = weighted_quantile_columns(n, &w, &a, from_u16(p.kappa_u16));
    let clipped: Vec<SparseRow<Fx>> = w
        .iter()
        .map(|row| {
            row.iter()
                .map(|&(j, x)| (j, x.min(consensus[j as usize])))
                .collect()
        })
        .collect();
    let validator_trust: Vec<Fx> = clipped
        .iter()
        .map(|row| sum(row.iter().map(|e| e.1)))
        .collect();

    // §4.8 ranks, incentive, legacy trust
    let mut rank_raw = vec![ZERO; n];
    let mut pre_clip = vec![ZERO; n];
    for i in 0..n {
        for (&(j, x), &(_, xc)) in w[i].iter().zip(&clipped[i]) {
            rank_raw[j as usize] += a[i] * xc;
            pre_clip[j as usize] += a[i] * x;
        }
    }
    let mut incentive = rank_raw.clone();
    normalize(&mut incentive);
    let trust: Vec<Fx> = rank_raw
        .iter()
        .zip(&pre_clip)
        .map(|(&r, &q)| safe_div(r, q))
        .collect();

    // §4.9 bonds: weights for bonds, reset of columns registered since the last epoch
    let beta = from_u16(p.bonds_penalty_u16);
    let wb: Vec<SparseRow<Fx>> = w
        .iter()
        .zip(&clipped)
        .map(|(row, crow)| {
            row.iter()
                .zip(crow)
                .map(|(&(j, x), &(_, xc))| (j, x - beta * (x - xc)))
                .collect()
        })
        .collect();
    let last_tempo = if input.last_epoch_block > 0 {
        input.last_epoch_block + 1
    } else {
        input.current_block.saturating_sub(p.tempo)
    };
    let b0: Vec<SparseRow<Fx>> = (0..n)
        .map(|i| {
            let mut row: SparseRow<Fx> = input
                .bonds
                .get(i)
                .map(|r| r.as_slice())
                .unwrap_or(&[])
                .iter()
                .filter(|&&(j, b)| {
                    (j as usize) < n && b > ZERO && last_tempo > registered[j as usize]
                })
                .copied()
                .collect();
            row.sort_by_key(|e| e.0);
            row.dedup_by_key(|e| e.0);
            row
        })
        .collect();
    let bonds = if p.yuma3 {
        bonds::yuma3(n, &wb, &b0, &a, &consensus, &incentive, p)
    } else {
        bonds::classic(n, &wb, &b0, &a, &incentive, p)
    };
    let dividends = bonds.dividends;

    // §4.11 bond rows: new permit → store, lost permit → clear, neither → untouched
    let mut new_bonds = Vec::with_capacity(n);
    let mut new_bonds_u16 = Vec::with_capacity(n);
    for i in 0..n {
        if new_permit[i] {
            let row = bonds.upscaled.as_ref().unwrap_or(&bonds.ema)[i].clone();
            new_bonds_u16.push(BondRow::Set(
                row.iter()
                    .map(|&(j, x)| (j, to_u16(x)))
                    .filter(|e| e.1 > 0)
                    .collect(),
            ));
            new_bonds.push(row);
        } else {
            new_bonds_u16.push(if used[i] {
                BondRow::Cleared
            } else {
                BondRow::Untouched
            });
            new_bonds.push(Vec::new());
        }
    }

    // §4.10 emission split, with the fallback to active stake (then stake) when σ = 0
    let sigma = sum(incentive.iter().copied()) + sum(dividends.iter().copied());
    let (server_share, validator_share): (Vec<Fx>, Vec<Fx>) = if sigma == ZERO {
        let fallback = if a.iter().any(|&x| x > ZERO) {
            a.clone()
        } else {
            stake.clone()
        };
        (vec![ZERO; n], fallback)
    } else {
        (
            incentive.iter().map(|&x| safe_div(x, sigma)).collect(),
            dividends.iter().map(|&x| safe_div(x, sigma)).collect(),
        )
    };
    let (server_emission, validator_emission) = pay(
        input.emission,
        sigma,
        &incentive,
        &dividends,
        &validator_share,
    );
    let emission = server_emission
        .iter()
        .zip(&validator_emission)
        .map(|(s, v)| s + v)
        .collect();
    let mut combined: Vec<Fx> = server_share
        .iter()
        .zip(&validator_share)
        .map(|(&s, &v)| s + v)
        .collect();
    normalize(&mut combined);

    EpochOutput {
        n,
        active,
        stake,
        active_stake: a,
        validator_permit_used: used,
        new_validator_permit: new_permit,
        weights_effective: w,
        consensus,
        clipped_weights: clipped,
        validator_trust,
        rank_raw,
        incentive,
        trust,
        dividends,
        ema_bonds: bonds.ema,
        new_bonds,
        new_bonds_u16,
        server_emission,
        validator_emission,
        emission,
        normalized_server_emission: server_share,
        normalized_validator_emission: validator_share,
        normalized_combined_emission: combined,
        last_tempo,
        bonds_alpha: bonds.alpha,
    }
}

/// floor(e · x / total) on the exact fixed-point bits.
fn share_of(e: u64, x: Fx, total: Fx) -> u64 {
    let (x, total) = (x.to_bits().max(0) as u128, total.to_bits().max(0) as u128);
    if total == 0 {
        return 0;
    }
    // x ≤ total < 2^63 and e < 2^64, so the product fits in u128.
    ((e as u128 * x) / total).min(e as u128) as u64
}

/// Rao per uid for miners and validators. Each uid's combined amount is floored once, so at most
/// n rao (one per uid) is lost to rounding, whatever the size of the emission.
fn pay(
    e: u64,
    sigma: Fx,
    incentive: &[Fx],
    dividends: &[Fx],
    fallback: &[Fx],
) -> (Vec<u64>, Vec<u64>) {
    if sigma == ZERO {
        let total = sum(fallback.iter().copied());
        let validator = fallback.iter().map(|&f| share_of(e, f, total)).collect();
        return (vec![0; fallback.len()], validator);
    }
    incentive
        .iter()
        .zip(dividends)
        .map(|(&i, &d)| {
            let combined = share_of(e, i + d, sigma);
            let server = share_of(e, i, sigma).min(combined);
            (server, combined - server)
        })
        .unzip()
}
