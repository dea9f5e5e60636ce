//! Consensus per column: the stake-weighted κ-quantile of validators' weights (yuma.md §4.6),
//! computed from sparse rows in O(nnz log nnz).

use crate::fx::{sum, Fx, ZERO};
use crate::types::SparseRow;

/// For each column j: the first score x (ascending) whose cumulative active stake, over all
/// validators scoring ≤ x, exceeds `Σa − kappa`. Validators with stake that do not weight j score 0.
pub fn weighted_quantile_columns(n: usize, w: &[SparseRow<Fx>], a: &[Fx], kappa: Fx) -> Vec<Fx> {
    let voters: Vec<usize> = (0..a.len()).filter(|&i| a[i] > ZERO).collect();
    let total = sum(voters.iter().map(|&i| a[i]));
    let minority = total - kappa;
    // One flat buffer grouped by column (a counting sort), instead of a vector per column.
    let rows = |i: usize| w.get(i).map(|r| r.as_slice()).unwrap_or(&[]);
    let mut start = vec![0usize; n + 1];
    for &i in &voters {
        for &(j, x) in rows(i) {
            if (j as usize) < n && x > ZERO {
                start[j as usize + 1] += 1;
            }
        }
    }
    for j in 0..n {
        start[j + 1] += start[j];
    }
    let mut fill = start.clone();
    let mut entries = vec![(ZERO, ZERO); start[n]];
    for &i in &voters {
        for &(j, x) in rows(i) {
            if (j as usize) < n && x > ZERO {
                entries[fill[j as usize]] = (x, a[i]);
                fill[j as usize] += 1;
            }
        }
    }
    (0..n)
        .map(|j| {
            if voters.is_empty() {
                return ZERO;
            }
            let scores = &mut entries[start[j]..start[j + 1]];
            let positive_stake = sum(scores.iter().map(|s| s.1));
            // Whoever did not score j (or scored 0) contributes a 0 score, if anyone did.
            let mut cumulative = ZERO;
            if voters.len() > scores.len() {
                cumulative = total - positive_stake;
                if cumulative > minority {
                    return ZERO;
                }
            }
            scores.sort_unstable_by_key(|x| x.0);
            let mut k = 0;
            while k < scores.len() {
                let x = scores[k].0;
                while k < scores.len() && scores[k].0 == x {
                    cumulative += scores[k].1;
                    k += 1;
                }
                if cumulative > minority {
                    return x;
                }
            }
            // κ ≤ 0: nobody's cumulative stake exceeds Σa − κ, so the largest score.
            scores.last().map(|s| s.0).unwrap_or(ZERO)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> Fx {
        Fx::from_num(x)
    }

    fn column(scores: &[f64], stakes: &[f64], kappa: f64) -> f64 {
        let w: Vec<SparseRow<Fx>> = scores.iter().map(|&s| vec![(0u16, f(s))]).collect();
        let a: Vec<Fx> = stakes.iter().map(|&s| f(s)).collect();
        weighted_quantile_columns(1, &w, &a, f(kappa))[0].to_num()
    }

    #[test]
    fn stake_weighted_median() {
        // 60% says 0.6, 40% says 0.15: the majority's score.
        assert_eq!(column(&[0.5, 0.25], &[0.6, 0.4], 0.5), 0.5);
        // 50/50 with kappa just under a half resolves to the higher score.
        assert_eq!(column(&[0.5, 0.25], &[0.5, 0.5], 32767.0 / 65535.0), 0.5);
        // A validator that does not weight the column pulls it toward 0.
        assert_eq!(column(&[0.0, 0.75], &[0.6, 0.4], 0.5), 0.0);
        assert_eq!(column(&[0.0, 0.75], &[0.4, 0.6], 0.5), 0.75);
        // kappa ≤ 0: the largest score; kappa above the total: the smallest.
        assert_eq!(column(&[0.25, 0.75], &[0.9, 0.1], 0.0), 0.75);
        assert_eq!(column(&[0.25, 0.75], &[0.1, 0.9], 1.5), 0.25);
    }

    #[test]
    fn no_voters_means_zero() {
        let w = vec![vec![(0u16, f(1.0))]];
        assert_eq!(
            weighted_quantile_columns(1, &w, &[ZERO], f(0.5)),
            vec![ZERO]
        );
    }
}
