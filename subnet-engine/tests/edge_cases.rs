//! The edge cases of yuma.md §11, one named test each.

use tensorchain_subnet_engine::fx::{Fx, ONE, ZERO};
use tensorchain_subnet_engine::{run_epoch, BondRow, EpochInput, Params};

fn f(x: f64) -> Fx {
    Fx::from_num(x)
}

fn close(a: Fx, b: f64) -> bool {
    (a.to_num::<f64>() - b).abs() < 1e-6
}

/// n uids at block 1000, all active, registered at 0, with `stake` and dense u16 `weights`.
fn subnet(stake: &[u64], weights: &[&[u16]], permits: &[bool]) -> EpochInput {
    let n = stake.len();
    EpochInput {
        stake: stake.to_vec(),
        weights: weights
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .filter(|e| *e.1 > 0)
                    .map(|(j, &w)| (j as u16, w))
                    .collect()
            })
            .chain(std::iter::repeat(Vec::new()))
            .take(n)
            .collect(),
        bonds: vec![Vec::new(); n],
        last_update: vec![1000; n],
        block_at_registration: vec![0; n],
        current_block: 1000,
        validator_permit: permits.to_vec(),
        owner_uid: None,
        last_epoch_block: 0,
        commit_block: vec![None; n],
        emission: 1_000_000_000,
        params: Params {
            yuma3: false,
            ..Params::default()
        },
    }
}

#[test]
fn empty_subnet_computes_nothing() {
    let out = run_epoch(&subnet(&[], &[], &[]));
    assert_eq!(out.n, 0);
    assert!(out.emission.is_empty() && out.consensus.is_empty() && out.new_bonds_u16.is_empty());
}

#[test]
fn all_stake_zero_pays_nothing() {
    let out = run_epoch(&subnet(
        &[0, 0, 0],
        &[&[0, 65535, 0]],
        &[true, false, false],
    ));
    assert!(
        out.new_validator_permit.iter().all(|p| !p),
        "no permits without stake"
    );
    assert_eq!(out.emission.iter().sum::<u64>(), 0);
}

#[test]
fn no_weights_pays_validators_by_active_stake() {
    let out = run_epoch(&subnet(&[3, 1, 0], &[], &[true, true, false]));
    assert_eq!(out.server_emission, vec![0, 0, 0]);
    assert_eq!(out.validator_emission, vec![750_000_000, 250_000_000, 0]);
}

#[test]
fn only_self_weights_fall_back_like_no_weights() {
    let out = run_epoch(&subnet(
        &[3, 1, 0],
        &[&[65535, 0, 0], &[0, 65535, 0]],
        &[true, true, false],
    ));
    assert!(out.incentive.iter().all(|&x| x == ZERO));
    assert_eq!(out.validator_emission, vec![750_000_000, 250_000_000, 0]);
}

#[test]
fn single_validator_takes_consensus_and_all_dividends() {
    let out = run_epoch(&subnet(
        &[10, 0, 0],
        &[&[0, 30000, 10000]],
        &[true, false, false],
    ));
    assert!(close(out.consensus[1], 0.75) && close(out.consensus[2], 0.25));
    assert_eq!(out.validator_trust[0], ONE);
    assert_eq!(out.dividends[0], ONE);
}

#[test]
fn inactive_validator_does_not_vote_but_classic_bonds_still_pay() {
    let mut input = subnet(
        &[1, 1, 0],
        &[&[0, 0, 65535], &[0, 0, 65535]],
        &[true, true, false],
    );
    input.current_block = 7000;
    input.last_update = vec![7000, 1000, 7000];
    input.bonds[1] = vec![(2, ONE)];
    input.bonds[0] = vec![(2, ONE)];
    let classic = run_epoch(&input);
    assert_eq!(classic.active_stake[1], ZERO);
    assert!(
        classic.dividends[1] > ZERO,
        "classic: held bonds still earn"
    );
    input.params.yuma3 = true;
    let yuma3 = run_epoch(&input);
    assert_eq!(
        yuma3.dividends[1], ZERO,
        "Yuma3: dividends are multiplied by active stake"
    );
}

#[test]
fn validator_losing_its_permit_has_its_bond_row_cleared() {
    // uid 1 held a permit last epoch but has no stake now, so it gets no new permit.
    let mut input = subnet(
        &[5, 0, 0],
        &[&[0, 0, 65535], &[0, 0, 65535]],
        &[true, true, false],
    );
    input.bonds[1] = vec![(2, f(0.5))];
    let out = run_epoch(&input);
    assert!(out.validator_permit_used[1] && !out.new_validator_permit[1]);
    assert_eq!(out.new_bonds_u16[1], BondRow::Cleared);
    assert_eq!(out.new_bonds_u16[2], BondRow::Untouched);
    assert!(matches!(out.new_bonds_u16[0], BondRow::Set(_)));
}

#[test]
fn permit_takes_effect_one_epoch_later() {
    // uid 2 has the most stake but no permit from the last epoch: its weights are ignored now.
    let out = run_epoch(&subnet(
        &[1, 0, 8],
        &[&[0, 65535, 0], &[], &[65535, 0, 0]],
        &[true, false, false],
    ));
    assert!(out.new_validator_permit[2]);
    assert!(out.weights_effective[2].is_empty());
    assert_eq!(out.incentive[0], ZERO);
}

#[test]
fn newly_registered_uid_has_outdated_weights_masked_and_bonds_reset() {
    let mut input = subnet(&[1, 0, 0], &[&[0, 65535, 65535]], &[true, false, false]);
    input.block_at_registration[2] = 990;
    input.last_update[0] = 980;
    input.bonds[0] = vec![(1, f(0.5)), (2, f(0.5))];
    input.last_epoch_block = 900;
    let out = run_epoch(&input);
    assert_eq!(
        out.weights_effective[0],
        vec![(1, ONE)],
        "weight on the new uid 2 is masked"
    );
    assert!(
        out.ema_bonds[0].iter().all(|&(j, _)| j != 2),
        "bond on uid 2 reset"
    );
    assert_eq!(out.last_tempo, 901);
}

#[test]
fn miner_self_weight_is_masked_and_counts_as_zero_in_medians() {
    // uid 2 holds the majority of active stake but only weights itself. Masked, its row is empty,
    // yet it still votes: a 0 in every column, which outweighs uids 0 and 1 in columns 2 and 3.
    // Unmasked it would give itself consensus 1; left out of the medians, both columns would be ½.
    let out = run_epoch(&subnet(
        &[2, 2, 5, 0],
        &[
            &[0, 0, 65535, 65535],
            &[0, 0, 65535, 65535],
            &[0, 0, 65535, 0],
        ],
        &[true, true, true, false],
    ));
    assert!(out.weights_effective[2].is_empty());
    assert!(
        out.active_stake[2] > out.active_stake[0] + out.active_stake[1],
        "uid 2 is the majority voter"
    );
    assert_eq!(out.consensus[2], ZERO, "its masked self-weight counts as 0");
    assert_eq!(out.consensus[3], ZERO, "its empty row counts as 0");
}

#[test]
fn owner_keeps_self_weight_permit_and_threshold_exemption() {
    let mut input = subnet(
        &[5, 2, 1],
        &[&[65535, 0, 0], &[65535, 0, 0], &[65535, 0, 0]],
        &[false, true, true],
    );
    input.owner_uid = Some(0);
    input.params.stake_threshold = 10;
    let out = run_epoch(&input);
    assert!(out.validator_permit_used[0] && out.new_validator_permit[0]);
    assert_eq!(out.weights_effective[0], vec![(0, ONE)]);
    assert_eq!(out.stake[0], ONE, "only the owner passes the threshold");
    assert!(out.incentive[0] > ZERO);
}

#[test]
fn fifty_fifty_split_resolves_to_the_higher_score() {
    // Equal stake, and after row normalization uid 0 scores uid 2 at 1 and uid 1 at ½: a real tie
    // between two different scores, which κ just under ½ resolves to the higher one.
    let out = run_epoch(&subnet(
        &[1, 1, 0],
        &[&[0, 0, 65535], &[65535, 0, 65535]],
        &[true, true, false],
    ));
    assert_eq!(out.active_stake[0], out.active_stake[1]);
    assert_eq!(out.weights_effective[0], vec![(2, ONE)]);
    assert_eq!(out.weights_effective[1][1].0, 2);
    assert!(close(out.weights_effective[1][1].1, 0.5));
    assert_eq!(out.consensus[2], ONE);
}

#[test]
fn tie_for_the_last_permit_goes_to_the_higher_uid() {
    let mut input = subnet(&[4, 1, 1], &[], &[false, false, false]);
    input.params.max_allowed_validators = 2;
    let out = run_epoch(&input);
    assert_eq!(out.new_validator_permit, vec![true, false, true]);
}

#[test]
fn active_validator_with_empty_row_pulls_consensus_down() {
    let out = run_epoch(&subnet(
        &[6, 4, 0],
        &[&[], &[0, 0, 65535]],
        &[true, true, false],
    ));
    assert_eq!(out.consensus[2], ZERO, "60% of stake scores 0");
}

#[test]
fn kappa_outside_zero_one_picks_min_or_max() {
    // Each column has a high score from one validator and a low one from the other, so the median
    // (κ = ½) would give one high and one low column; κ = 0 gives both high, κ = 1 both low.
    let mut input = subnet(
        &[9, 1, 0, 0],
        &[&[0, 0, 60000, 5535], &[0, 0, 5535, 60000]],
        &[true, true, false, false],
    );
    let (high, low) = (60000.0 / 65535.0, 5535.0 / 65535.0);
    input.params.kappa_u16 = 0;
    let max = run_epoch(&input);
    assert!(
        close(max.consensus[2], high) && close(max.consensus[3], high),
        "{:?}",
        max.consensus
    );
    input.params.kappa_u16 = u16::MAX;
    let min = run_epoch(&input);
    assert!(
        close(min.consensus[2], low) && close(min.consensus[3], low),
        "{:?}",
        min.consensus
    );
}

#[test]
fn classic_empty_delta_column_keeps_old_relative_bonds() {
    let mut input = subnet(
        &[1, 1, 0, 0],
        &[&[0, 0, 65535, 0], &[0, 0, 65535, 0]],
        &[true, true, false, false],
    );
    input.bonds[0] = vec![(3, f(0.75))];
    input.bonds[1] = vec![(3, f(0.25))];
    let out = run_epoch(&input);
    let col3: Vec<f64> = out
        .ema_bonds
        .iter()
        .take(2)
        .map(|r| r.iter().find(|e| e.0 == 3).unwrap().1.to_num())
        .collect();
    assert!(
        (col3[0] - 0.75).abs() < 1e-6 && (col3[1] - 0.25).abs() < 1e-6,
        "{col3:?}"
    );
}

#[test]
fn yuma3_liquid_alpha_with_zero_consensus_uses_the_scalar_alpha() {
    let mut input = subnet(&[1, 0], &[], &[true, false]);
    input.params.yuma3 = true;
    input.params.liquid_alpha = true;
    input.bonds[0] = vec![(1, f(0.5))];
    let out = run_epoch(&input);
    assert!(out.bonds_alpha.is_some());
    assert!(
        close(out.ema_bonds[0][0].1, 0.45),
        "decays by the scalar α = 0.1: {:?}",
        out.ema_bonds[0]
    );
}
