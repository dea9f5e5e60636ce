//! Exact boundaries of the epoch math that the reference cases and property tests do not pin
//! (each found by a mutant that survived them; see docs/testing.md, "Mutation testing").

use tensorchain_subnet_engine::consensus::weighted_quantile_columns;
use tensorchain_subnet_engine::fx::{normalize_u64, Fx};
use tensorchain_subnet_engine::{root_shares, run_epoch, EpochInput, Params, RootParams};

fn f(x: f64) -> Fx {
    Fx::from_num(x)
}

#[test]
fn non_scorers_holding_exactly_the_minority_do_not_pull_the_column_to_zero() {
    // Stakes 1/2 and 1/2, κ = 1/2: the minority is Σa − κ = 1/2. Validator 0 does not score the
    // column, so the zeros hold exactly 1/2, which does not exceed it: the quantile is the one
    // score, 0.75. (Strictly more than the minority is needed to pin the column at zero.)
    let w = vec![vec![], vec![(0u16, f(0.75))]];
    let a = vec![f(0.5), f(0.5)];
    assert_eq!(weighted_quantile_columns(1, &w, &a, f(0.5)), vec![f(0.75)]);
    // Just past it, the zeros win.
    let a = vec![f(0.5) + Fx::DELTA, f(0.5) - Fx::DELTA];
    assert_eq!(weighted_quantile_columns(1, &w, &a, f(0.5)), vec![f(0.0)]);
}

fn epoch(stake: Vec<u64>) -> EpochInput {
    let n = stake.len();
    EpochInput {
        stake,
        weights: vec![vec![]; n],
        bonds: vec![vec![]; n],
        last_update: vec![200; n],
        block_at_registration: vec![0; n],
        current_block: 200,
        validator_permit: vec![true; n],
        owner_uid: None,
        last_epoch_block: 0,
        commit_block: vec![None; n],
        emission: 1_000_000_000,
        params: Params::default(),
    }
}

#[test]
fn stake_exactly_at_the_threshold_counts() {
    let mut input = epoch(vec![600, 400, 399, 0]);
    input.params.stake_threshold = 400;
    let out = run_epoch(&input);
    assert_eq!(
        out.stake,
        normalize_u64(&[600, 400, 0, 0]),
        "400 is at the threshold and counts; 399 is below it"
    );
}

#[test]
fn bonds_to_a_uid_registered_at_the_last_epoch_boundary_are_reset() {
    // The previous epoch ran at block 99, so this epoch's window starts at 100: a uid registered
    // at 100 is new (its column's old bonds are dropped), one registered at 99 is not.
    let mut input = epoch(vec![1000, 0, 0, 0]);
    input.block_at_registration = vec![0, 0, 100, 99];
    input.last_epoch_block = 99;
    input.bonds[0] = vec![(2, Fx::from_num(0.5)), (3, Fx::from_num(0.5))];
    let out = run_epoch(&input);
    assert_eq!(out.last_tempo, 100);
    let columns: Vec<u16> = out.ema_bonds[0].iter().map(|e| e.0).collect();
    assert_eq!(columns, vec![3]);
}

#[test]
fn without_weights_validators_are_paid_by_active_stake_not_stake() {
    // No weights: σ = 0 and the emission goes to validators by active stake. Uid 1 has stake but
    // has not been active within the cutoff, so it gets nothing.
    let mut input = epoch(vec![600, 400, 0]);
    input.current_block = 10_000;
    input.last_update = vec![10_000, 1, 10_000];
    let out = run_epoch(&input);
    assert_eq!(out.active, vec![true, false, true]);
    assert_eq!(out.validator_emission, vec![1_000_000_000, 0, 0]);
    assert_eq!(out.server_emission, vec![0, 0, 0]);
    assert_eq!(
        out.normalized_validator_emission,
        vec![Fx::ONE, Fx::ZERO, Fx::ZERO]
    );
}

#[test]
fn root_shares_follow_the_logistic_of_backing_times_rank() {
    // Validator 0 (75 %) backs subnet 0 only, validator 1 (25 %) subnet 1 only; weights on
    // subnet indices past the count are ignored.
    let shares = root_shares(
        &[300, 100],
        &[vec![(0, 100), (7, 100)], vec![(1, 5)]],
        2,
        RootParams::default(),
    );
    let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
    let raw = [
        logistic(10.0 * (0.75 - 0.5)) * 0.75,
        logistic(10.0 * (0.25 - 0.5)) * 0.25,
    ];
    let total = raw[0] + raw[1];
    for (got, want) in shares.iter().zip(raw.iter().map(|r| r / total)) {
        assert!(
            (got.to_num::<f64>() - want).abs() < 1e-6,
            "{shares:?} vs {want}"
        );
    }
}

#[test]
fn the_synthetic_subnet_has_the_documented_shape() {
    // What the benchmarks and property tests are told they get: `validators` staked uids with
    // whole-TAO stakes of 1 to 100,000 TAO, permits for exactly those, rows of about `density`
    // percent of the uids.
    let input = tensorchain_subnet_engine::synthetic::subnet(100, 10, 20, 7);
    for (i, &s) in input.stake.iter().enumerate() {
        if i < 10 {
            assert!(
                s % 1_000_000_000 == 0 && (1..=100_000).contains(&(s / 1_000_000_000)),
                "{s}"
            );
        } else {
            assert_eq!(s, 0);
        }
    }
    let permits: Vec<bool> = (0..100).map(|i| i < 10).collect();
    assert_eq!(input.validator_permit, permits);
    assert_eq!(input.params.max_allowed_validators, 10);
    for row in &input.weights[..10] {
        // 20 draws of 100 uids, duplicates merged.
        assert!((12..=20).contains(&row.len()), "{}", row.len());
    }
    assert!(input.weights[10..].iter().all(|r| r.is_empty()));
}
