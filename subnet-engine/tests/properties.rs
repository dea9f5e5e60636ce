//! Properties of the epoch over random subnets: shares sum to 1 or 0, emission is conserved up to
//! n rao, results do not depend on entry order or uid labelling, and are bit-identical across runs.

use proptest::prelude::*;
use tensorchain_subnet_engine::fx::{sum, Fx, ZERO};
use tensorchain_subnet_engine::synthetic::{subnet, SplitMix};
use tensorchain_subnet_engine::{run_epoch, EpochInput, EpochOutput, SparseRow};

/// A random subnet with distinct stakes (so no permit ties) and a mix of activity and ages.
fn random_input(
    n: usize,
    validators: usize,
    density: u64,
    seed: u64,
    yuma3: bool,
    liquid: bool,
) -> EpochInput {
    let mut input = subnet(n, validators.min(n), density, seed);
    let mut rng = SplitMix(seed ^ 0xabcdef);
    for (i, s) in input.stake.iter_mut().enumerate() {
        if *s > 0 {
            *s += i as u64;
        }
    }
    for i in 0..n {
        input.last_update[i] = 900 + rng.below(200);
        input.block_at_registration[i] = rng.below(1000);
    }
    input.current_block = 1100;
    input.params.activity_cutoff = 150;
    input.params.yuma3 = yuma3;
    input.params.liquid_alpha = liquid;
    input.params.max_allowed_validators = (validators.max(1) as u16).min(n as u16).max(1);
    input.owner_uid = if n > 0 && rng.below(2) == 0 {
        Some(rng.below(n as u64) as u16)
    } else {
        None
    };
    input.emission = 1 + rng.below(1_000_000_000_000);
    input
}

fn sums_to_one(v: &[Fx]) -> bool {
    let s = sum(v.iter().copied());
    let slack = Fx::from_bits(2 * v.len() as i64 + 2);
    s <= Fx::ONE + slack && s >= Fx::ONE - slack
}

fn sums_to_one_or_zero(v: &[Fx]) -> bool {
    sum(v.iter().copied()) == ZERO || sums_to_one(v)
}

/// A raw (pre-normalization) value above this cannot have truncated to 0 in fixed point: each
/// product loses less than 2^-32 and fewer than 50 are summed. So a normalized vector whose raw
/// maximum is above it must sum to 1, not 0.
const CLEARLY_POSITIVE: f64 = 1e-6;

fn real(x: Fx) -> f64 {
    x.to_num()
}

/// The largest raw rank Σ_i a_i·clipped_ij, recomputed in f64 from the epoch's earlier stages.
fn largest_raw_rank(out: &EpochOutput) -> f64 {
    let mut rank = vec![0.0; out.n];
    for (i, row) in out.clipped_weights.iter().enumerate() {
        for &(j, x) in row {
            rank[j as usize] += real(out.active_stake[i]) * real(x);
        }
    }
    rank.into_iter().fold(0.0, f64::max)
}

/// The largest raw dividend, recomputed in f64: Σ_j B_ij·I_j (Yuma3: B column-normalized and the
/// sum times a_i).
fn largest_raw_dividend(out: &EpochOutput, yuma3: bool) -> f64 {
    let mut column = vec![0.0; out.n];
    for row in &out.ema_bonds {
        for &(j, b) in row {
            column[j as usize] += real(b);
        }
    }
    let bond = |j: u16, b: Fx| match yuma3 {
        true if column[j as usize] > 0.0 => real(b) / column[j as usize],
        true => 0.0,
        false => real(b),
    };
    out.ema_bonds
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let d: f64 = row
                .iter()
                .map(|&(j, b)| bond(j, b) * real(out.incentive[j as usize]))
                .sum();
            if yuma3 {
                d * real(out.active_stake[i])
            } else {
                d
            }
        })
        .fold(0.0, f64::max)
}

fn relabel(input: &EpochInput, perm: &[usize]) -> EpochInput {
    let n = input.stake.len();
    let mut out = input.clone();
    let map_row = |row: &SparseRow<u16>| -> SparseRow<u16> {
        let mut r: SparseRow<u16> = row
            .iter()
            .map(|&(j, v)| (perm[j as usize] as u16, v))
            .collect();
        r.sort_by_key(|e| e.0);
        r
    };
    for i in 0..n {
        let k = perm[i];
        out.stake[k] = input.stake[i];
        out.weights[k] = map_row(&input.weights[i]);
        let mut b: SparseRow<Fx> = input.bonds[i]
            .iter()
            .map(|&(j, x)| (perm[j as usize] as u16, x))
            .collect();
        b.sort_by_key(|e| e.0);
        out.bonds[k] = b;
        out.last_update[k] = input.last_update[i];
        out.block_at_registration[k] = input.block_at_registration[i];
        out.validator_permit[k] = input.validator_permit[i];
        out.commit_block[k] = input.commit_block[i];
    }
    out.owner_uid = input.owner_uid.map(|o| perm[o as usize] as u16);
    out
}

fn check_permuted(a: &EpochOutput, b: &EpochOutput, perm: &[usize]) {
    for i in 0..a.n {
        let k = perm[i];
        assert_eq!(a.incentive[i], b.incentive[k], "incentive of uid {i}");
        assert_eq!(a.dividends[i], b.dividends[k], "dividends of uid {i}");
        assert_eq!(a.consensus[i], b.consensus[k], "consensus of uid {i}");
        assert_eq!(a.validator_trust[i], b.validator_trust[k]);
        assert_eq!(a.emission[i], b.emission[k], "emission of uid {i}");
        assert_eq!(a.new_validator_permit[i], b.new_validator_permit[k]);
        let mut row: Vec<(u16, Fx)> = a.ema_bonds[i]
            .iter()
            .map(|&(j, x)| (perm[j as usize] as u16, x))
            .collect();
        row.sort_by_key(|e| e.0);
        assert_eq!(row, b.ema_bonds[k], "bond row of uid {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn epoch_properties(
        n in 1usize..48,
        validators in 0usize..16,
        density in 1u64..60,
        seed in any::<u64>(),
        yuma3 in any::<bool>(),
        liquid in any::<bool>(),
        shuffle_seed in any::<u64>(),
    ) {
        let input = random_input(n, validators, density, seed, yuma3, liquid);
        let out = run_epoch(&input);

        prop_assert!(sums_to_one_or_zero(&out.incentive), "incentive sums to {}", sum(out.incentive.iter().copied()));
        prop_assert!(sums_to_one_or_zero(&out.dividends), "dividends sum to {}", sum(out.dividends.iter().copied()));
        // 0 is only right when there was nothing to normalize: an engine that zeroed incentive or
        // dividends would otherwise pass (the emission then falls back to stake and is conserved).
        if largest_raw_rank(&out) > CLEARLY_POSITIVE {
            prop_assert!(sums_to_one(&out.incentive), "incentive sums to {} with ranks to share", sum(out.incentive.iter().copied()));
        }
        if largest_raw_dividend(&out, yuma3) > CLEARLY_POSITIVE {
            prop_assert!(sums_to_one(&out.dividends), "dividends sum to {} with bonds on incentive", sum(out.dividends.iter().copied()));
        }

        let paid: u128 = out.emission.iter().map(|&e| e as u128).sum();
        prop_assert!(paid <= input.emission as u128, "paid {paid} of {}", input.emission);
        if input.stake.iter().any(|&s| s > 0) {
            prop_assert!(paid + n as u128 >= input.emission as u128, "lost {} rao with n = {n}", input.emission as u128 - paid);
        }

        // Bit-identical on a second run.
        prop_assert_eq!(&run_epoch(&input), &out);

        // Entry order within rows does not matter.
        let mut shuffled = input.clone();
        let mut rng = SplitMix(shuffle_seed);
        for row in shuffled.weights.iter_mut() {
            for k in (1..row.len()).rev() {
                row.swap(k, rng.below(k as u64 + 1) as usize);
            }
        }
        for row in shuffled.bonds.iter_mut() {
            row.reverse();
        }
        prop_assert_eq!(&run_epoch(&shuffled), &out);

        // Relabelling uids permutes every output the same way.
        let mut perm: Vec<usize> = (0..n).collect();
        for k in (1..n).rev() {
            perm.swap(k, rng.below(k as u64 + 1) as usize);
        }
        let permuted = run_epoch(&relabel(&input, &perm));
        check_permuted(&out, &permuted, &perm);
    }
}
