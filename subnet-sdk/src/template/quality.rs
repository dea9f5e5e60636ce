//! Subnet objective "quality": the validator draws a line `y = a·x + b` from a seed, sends miners
//! noisy training points, and scores each miner's fitted `(a, b)` by its error on held-out points
//! it keeps to itself. Accuracy counts; speed does not (within the timeout).

use crate::Synapse;
use serde::{Deserialize, Serialize};
use tensorchain_primitives::det_rng::SplitMix;

/// Training points per challenge: enough for least squares to be clearly better than a guess.
pub const TRAIN_POINTS: usize = 64;
const HELD_OUT_POINTS: usize = 32;
/// Half-width of the uniform noise on training targets (standard deviation ≈ 0.58).
const NOISE: f64 = 1.0;
/// An RMSE on held-out points at or above this scores zero (a guess of `a = b = 0` is ~6 off).
const RMSE_CAP: f64 = 2.0;

/// Fit a line to these points.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Regression {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fit {
    pub a: f64,
    pub b: f64,
}

impl Synapse for Regression {
    const NAME: &'static str = "regression";
    type Response = Fit;
}

fn uniform(rng: &mut SplitMix, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The true line of a seed.
fn truth(seed: u64) -> (f64, f64, SplitMix) {
    let mut rng = SplitMix(seed);
    let a = uniform(&mut rng, -3.0, 3.0);
    let b = uniform(&mut rng, -5.0, 5.0);
    (a, b, rng)
}

/// The challenge of a seed: noisy training points on its line.
pub fn challenge(seed: u64) -> Regression {
    let (a, b, mut rng) = truth(seed);
    let x: Vec<f64> = (0..TRAIN_POINTS)
        .map(|_| uniform(&mut rng, -5.0, 5.0))
        .collect();
    let y = x
        .iter()
        .map(|x| a * x + b + uniform(&mut rng, -NOISE, NOISE))
        .collect();
    Regression { x, y }
}

/// Least squares over the first `points` points (all of them for an honest fit).
pub fn fit(r: &Regression, points: usize) -> Fit {
    let n = points.min(r.x.len()).min(r.y.len());
    if n < 2 {
        return Fit { a: 0.0, b: 0.0 };
    }
    let (xs, ys) = (&r.x[..n], &r.y[..n]);
    let mx = xs.iter().sum::<f64>() / n as f64;
    let my = ys.iter().sum::<f64>() / n as f64;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let a = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    Fit { a, b: my - a * mx }
}

/// In [0, 1]: 1 − RMSE/RMSE_CAP on held-out points of the seed's line, 0 at or beyond the cap.
pub fn score(seed: u64, fit: &Fit) -> f64 {
    let (a, b, _) = truth(seed);
    // Held-out points come from a stream of their own: nothing in the challenge reveals them.
    let mut rng = SplitMix(seed ^ 0x005E_ED0F_4E1D_0075);
    let mse = (0..HELD_OUT_POINTS)
        .map(|_| {
            let x = uniform(&mut rng, -5.0, 5.0);
            let err = fit.a * x + fit.b - (a * x + b);
            err * err
        })
        .sum::<f64>()
        / HELD_OUT_POINTS as f64;
    let rmse = mse.sqrt();
    if !rmse.is_finite() {
        return 0.0;
    }
    (1.0 - rmse / RMSE_CAP).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_fit_beats_a_sloppy_fit_and_a_guess_scores_zero() {
        let (mut full, mut quick) = (0.0, 0.0);
        for seed in 0..200 {
            let c = challenge(seed);
            full += score(seed, &fit(&c, TRAIN_POINTS));
            quick += score(seed, &fit(&c, super::super::miner::SLOPPY_POINTS));
            assert_eq!(score(seed, &Fit { a: 40.0, b: -40.0 }), 0.0);
        }
        let (full, quick) = (full / 200.0, quick / 200.0);
        assert!(full > 0.85, "full fit scores {full}");
        assert!(
            quick < full - 0.15 && quick > 0.1,
            "sloppy fit scores {quick}, full {full}"
        );
    }
}
