//! Root consensus (yuma.md §3.1): root validators' stake-weighted weights over subnets become
//! each subnet's share of the block reward.

use crate::fx::{normalize, normalize_u64, safe_div, sigmoid, sum, Fx, ZERO};
use crate::types::SparseRow;

/// Root network parameters: the logistic's steepness and midpoint (subtensor: rho 10, kappa 0.5).
#[derive(Debug, Clone, Copy)]
pub struct RootParams {
    pub rho: Fx,
    pub kappa: Fx,
}

impl Default for RootParams {
    fn default() -> Self {
        RootParams {
            rho: Fx::from_num(10),
            kappa: Fx::from_num(0.5),
        }
    }
}

/// Shares per subnet column (`subnets` columns), summing to 1 or all 0.
/// `weights[i]` is root validator i's row over subnet indices, `stake[i]` its total stake in rao.
pub fn root_shares(
    stake: &[u64],
    weights: &[SparseRow<u16>],
    subnets: usize,
    p: RootParams,
) -> Vec<Fx> {
    let s = normalize_u64(stake);
    let total = sum(s.iter().copied());
    let mut rank = vec![ZERO; subnets];
    let mut backing = vec![ZERO; subnets];
    for (i, row) in weights.iter().enumerate().take(s.len()) {
        let row: Vec<(usize, Fx)> = row
            .iter()
            .filter(|&&(j, v)| (j as usize) < subnets && v > 0)
            .map(|&(j, v)| (j as usize, Fx::from_num(v)))
            .collect();
        let row_sum = sum(row.iter().map(|e| e.1));
        for (j, v) in row {
            rank[j] += s[i] * safe_div(v, row_sum);
            backing[j] += s[i];
        }
    }
    let mut shares: Vec<Fx> = (0..subnets)
        .map(|j| {
            let trust = safe_div(backing[j], total);
            sigmoid(p.rho * (trust - p.kappa)) * rank[j]
        })
        .collect();
    normalize(&mut shares);
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_backed_subnets_get_most() {
        // Validator 0 (75%) weights subnets 0 and 1 equally; validator 1 (25%) only subnet 2.
        let shares = root_shares(
            &[300, 100],
            &[vec![(0, 1), (1, 1)], vec![(2, 65535)]],
            3,
            RootParams::default(),
        );
        let f: Vec<f64> = shares.iter().map(|x| x.to_num()).collect();
        assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        assert!((f[0] - f[1]).abs() < 1e-9);
        assert!(
            f[2] < 0.05,
            "a subnet backed by 25% of stake is squashed by the logistic: {f:?}"
        );
    }

    #[test]
    fn no_weights_means_no_shares() {
        assert_eq!(
            root_shares(&[1, 2], &[vec![], vec![]], 2, RootParams::default()),
            vec![ZERO, ZERO]
        );
    }
}
