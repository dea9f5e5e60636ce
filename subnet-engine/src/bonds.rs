//! Bonds and dividends (yuma.md §4.9): classic Yuma's column-normalized EMA and Yuma3's relative
//! bonds with optional liquid alpha. Both keep the dense semantics: an old bond with no new
//! weight decays instead of vanishing.

use crate::fx::{from_u16, normalize, safe_div, sigmoid, sum, Fx, ONE, ZERO};
use crate::types::{Params, SparseRow};

pub struct BondResult {
    /// The bond matrix after the EMA.
    pub ema: Vec<SparseRow<Fx>>,
    /// The values to store when they differ from `ema`: column max-upscaled (classic).
    pub upscaled: Option<Vec<SparseRow<Fx>>>,
    pub dividends: Vec<Fx>,
    pub alpha: Option<Fx>,
}

/// Union of two sparse rows sorted by column, with each side's value (0 where absent).
fn union(a: &[(u16, Fx)], b: &[(u16, Fx)]) -> Vec<(u16, Fx, Fx)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut k) = (0, 0);
    while i < a.len() || k < b.len() {
        match (a.get(i), b.get(k)) {
            (Some(&(ja, xa)), Some(&(jb, xb))) if ja == jb => {
                out.push((ja, xa, xb));
                i += 1;
                k += 1;
            }
            (Some(&(ja, xa)), Some(&(jb, _))) if ja < jb => {
                out.push((ja, xa, ZERO));
                i += 1;
            }
            (Some(&(ja, xa)), None) => {
                out.push((ja, xa, ZERO));
                i += 1;
            }
            (_, Some(&(jb, xb))) => {
                out.push((jb, ZERO, xb));
                k += 1;
            }
            (None, None) => unreachable!("loop condition"),
        }
    }
    out
}

fn column_sums(n: usize, m: &[SparseRow<Fx>]) -> Vec<Fx> {
    let mut s = vec![ZERO; n];
    for row in m {
        for &(j, x) in row {
            s[j as usize] = s[j as usize].saturating_add(x);
        }
    }
    s
}

fn column_normalize(n: usize, m: &mut [SparseRow<Fx>]) {
    let s = column_sums(n, m);
    for row in m.iter_mut() {
        for (j, x) in row.iter_mut() {
            *x = safe_div(*x, s[*j as usize]);
        }
    }
}

fn column_max_upscale(n: usize, m: &[SparseRow<Fx>]) -> Vec<SparseRow<Fx>> {
    let mut max = vec![ZERO; n];
    for row in m {
        for &(j, x) in row {
            max[j as usize] = max[j as usize].max(x);
        }
    }
    m.iter()
        .map(|row| {
            row.iter()
                .map(|&(j, x)| (j, safe_div(x, max[j as usize])))
                .collect()
        })
        .collect()
}

fn ema_coefficient(p: &Params) -> Fx {
    let kept = Fx::from_num(p.bonds_moving_average.min(1_000_000)) / Fx::from_num(1_000_000);
    ONE - kept
}

/// Σ_j B[i][j]·I[j] for each row.
fn bond_weighted_incentive(b: &[SparseRow<Fx>], incentive: &[Fx]) -> Vec<Fx> {
    b.iter()
        .map(|row| sum(row.iter().map(|&(j, x)| x * incentive[j as usize])))
        .collect()
}

/// Classic Yuma: B = col_norm(α·col_norm(Wb·A) + (1−α)·col_norm(B0)); D = normalize(B·I).
pub fn classic(
    n: usize,
    wb: &[SparseRow<Fx>],
    b0: &[SparseRow<Fx>],
    a: &[Fx],
    incentive: &[Fx],
    p: &Params,
) -> BondResult {
    let mut old: Vec<SparseRow<Fx>> = b0.to_vec();
    column_normalize(n, &mut old);
    let mut delta: Vec<SparseRow<Fx>> = wb
        .iter()
        .enumerate()
        .map(|(i, row)| row.iter().map(|&(j, x)| (j, x * a[i])).collect())
        .collect();
    column_normalize(n, &mut delta);
    let alpha = ema_coefficient(p);
    let mut ema: Vec<SparseRow<Fx>> = delta
        .iter()
        .zip(&old)
        .map(|(d, o)| {
            union(d, o)
                .into_iter()
                .map(|(j, d, o)| (j, alpha * d + (ONE - alpha) * o))
                .collect()
        })
        .collect();
    column_normalize(n, &mut ema);
    let mut dividends = bond_weighted_incentive(&ema, incentive);
    normalize(&mut dividends);
    BondResult {
        upscaled: Some(column_max_upscale(n, &ema)),
        ema,
        dividends,
        alpha: Some(alpha),
    }
}

/// Yuma3: B = α·Wb + (1−α)·B0 (per-entry α with liquid alpha); D = normalize(A · col_norm(B)·I).
pub fn yuma3(
    n: usize,
    wb: &[SparseRow<Fx>],
    b0: &[SparseRow<Fx>],
    a: &[Fx],
    consensus: &[Fx],
    incentive: &[Fx],
    p: &Params,
) -> BondResult {
    let liquid = p.liquid_alpha && consensus.iter().any(|&c| c != ZERO);
    let scalar = ema_coefficient(p);
    let (low, high) = (from_u16(p.alpha_low_u16), from_u16(p.alpha_high_u16));
    let slope = Fx::from_num(p.alpha_sigmoid_steepness) / Fx::from_num(100);
    let half = Fx::from_num(0.5);
    let ema: Vec<SparseRow<Fx>> = wb
        .iter()
        .zip(b0)
        .map(|(w, o)| {
            union(w, o)
                .into_iter()
                .map(|(j, w, o)| {
                    if !liquid {
                        return (j, scalar * w + (ONE - scalar) * o);
                    }
                    let c = consensus[j as usize];
                    let d = if w >= o { w - c } else { o - w }.clamp(ZERO, ONE);
                    let sig = sigmoid(slope * (d - half));
                    let alpha = (low + sig * (high - low)).clamp(low, high);
                    (j, ((ONE - alpha) * o + (alpha * w).max(ZERO)).min(ONE))
                })
                .collect()
        })
        .collect();
    let mut normalized = ema.clone();
    column_normalize(n, &mut normalized);
    let mut dividends: Vec<Fx> = bond_weighted_incentive(&normalized, incentive)
        .into_iter()
        .zip(a)
        .map(|(d, &ai)| d * ai)
        .collect();
    normalize(&mut dividends);
    BondResult {
        upscaled: None,
        ema,
        dividends,
        alpha: (!liquid).then_some(scalar),
    }
}
