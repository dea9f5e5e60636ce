//! Deterministic synthetic subnets for benchmarks and property tests: `n` uids, `validators` of them
//! staked, each weighting about `density` of the uids.

use crate::fx::from_u16;
use crate::types::{EpochInput, Params, SparseRow};
pub use tensorchain_primitives::det_rng::SplitMix;

pub fn subnet(n: usize, validators: usize, density_percent: u64, seed: u64) -> EpochInput {
    let mut rng = SplitMix(seed);
    let mut stake = vec![0u64; n];
    for s in stake.iter_mut().take(validators) {
        *s = 1_000_000_000 * (1 + rng.below(100_000));
    }
    let per_row = ((n as u64 * density_percent) / 100).max(1) as usize;
    let mut weights: Vec<SparseRow<u16>> = vec![Vec::new(); n];
    let mut bonds = vec![Vec::new(); n];
    for i in 0..validators {
        let mut row: SparseRow<u16> = (0..per_row)
            .map(|_| (rng.below(n as u64) as u16, 1 + rng.below(65535) as u16))
            .collect();
        row.sort_by_key(|e| e.0);
        row.dedup_by_key(|e| e.0);
        bonds[i] = row
            .iter()
            .map(|&(j, _)| (j, from_u16(rng.below(65536) as u16)))
            .collect();
        weights[i] = row;
    }
    EpochInput {
        stake,
        weights,
        bonds,
        last_update: vec![1000; n],
        block_at_registration: vec![0; n],
        current_block: 1000,
        validator_permit: (0..n).map(|i| i < validators).collect(),
        owner_uid: Some(0),
        last_epoch_block: 0,
        commit_block: vec![None; n],
        emission: 360_000_000_000,
        params: Params {
            max_allowed_validators: validators as u16,
            ..Params::default()
        },
    }
}
