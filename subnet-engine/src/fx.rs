//! Fixed-point helpers. Every real of the epoch is an `I32F32` (2^-32 resolution); products and
//! quotients truncate, `x / 0 = 0`, and nothing here can panic on any input.

use fixed::types::I32F32;

pub type Fx = I32F32;

pub const ZERO: Fx = Fx::ZERO;
pub const ONE: Fx = Fx::ONE;

/// `v / 65535`: a u16 parameter or stored score as a proportion.
pub fn from_u16(v: u16) -> Fx {
    Fx::from_bits(((v as i64) << 32) / 65535)
}

/// `x / y`, or 0 when `y` is 0; saturates instead of overflowing.
pub fn safe_div(x: Fx, y: Fx) -> Fx {
    let (xb, yb) = (x.to_bits(), y.to_bits());
    if yb == 0 {
        return ZERO;
    }
    // The common case, 0 ≤ x < 1 and y > 0, fits a 64-bit division, which is several times faster
    // than the 128-bit one and truncates identically.
    if (0..1 << 32).contains(&xb) && yb > 0 {
        return Fx::from_bits((((xb as u64) << 32) / yb as u64) as i64);
    }
    x.saturating_div(y)
}

pub fn sum(v: impl IntoIterator<Item = Fx>) -> Fx {
    v.into_iter().fold(ZERO, |a, b| a.saturating_add(b))
}

/// Scales `v` to sum to 1; all-zero stays all-zero.
pub fn normalize(v: &mut [Fx]) {
    let s = sum(v.iter().copied());
    if s != ZERO {
        for x in v.iter_mut() {
            *x = safe_div(*x, s);
        }
    }
}

/// Shares of a u64 vector, computed exactly in integers and truncated to the 2^-32 grid.
pub fn normalize_u64(v: &[u64]) -> Vec<Fx> {
    let total: u128 = v.iter().map(|&x| x as u128).sum();
    v.iter()
        .map(|&x| match ((x as u128) << 32).checked_div(total) {
            // x ≤ total, so the quotient is at most 2^32 and fits the i64 bits.
            Some(share) => Fx::from_bits(share as i64),
            None => ZERO,
        })
        .collect()
}

/// `floor(x · 65535)`, saturating to [0, 65535].
pub fn to_u16(x: Fx) -> u16 {
    let bits = x.to_bits().max(0) as i128;
    ((bits * 65535) >> 32).min(65535) as u16
}

/// e^x for x clamped to [-20, 20]: x = k·ln2 + r with |r| ≤ ln2/2, a Taylor series for e^r,
/// then a shift by k. Deterministic and accurate to a few ulps of I32F32.
pub fn exp(x: Fx) -> Fx {
    let x = x.clamp(Fx::from_num(-20), Fx::from_num(20));
    let ln2 = Fx::LN_2;
    let k = (x / ln2).round().to_num::<i32>();
    let r = x - ln2 * Fx::from_num(k);
    let mut term = ONE;
    let mut total = ONE;
    for i in 1..=12 {
        term = term * r / Fx::from_num(i);
        total += term;
    }
    if k >= 0 {
        total.saturating_mul(Fx::from_num(1i64 << k))
    } else {
        Fx::from_bits(total.to_bits() >> (-k))
    }
}

/// 1 / (1 + e^(-x)).
pub fn sigmoid(x: Fx) -> Fx {
    safe_div(ONE, ONE + exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_reference_values() {
        for (x, want) in [
            (0.0, 1.0),
            (1.0, std::f64::consts::E),
            (-5.0, 0.006737946999085467),
            (20.0, 485165195.4097903),
            (-20.0, 2.061153622438558e-9),
            (0.3, 1.3498588075760032),
        ] {
            let got = exp(Fx::from_num(x)).to_num::<f64>();
            assert!(
                (got - want).abs() <= want * 1e-8 + 1e-9,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert_eq!(exp(Fx::from_num(100)), exp(Fx::from_num(20)), "clamped");
    }

    #[test]
    fn fast_division_agrees_with_fixed_division() {
        let vals = [
            0.0, 1e-9, 0.1, 0.3333, 0.5, 0.999999, 1.0, 2.5, 1000.0, -0.25,
        ];
        for &a in &vals {
            for &b in &vals {
                let (x, y) = (Fx::from_num(a), Fx::from_num(b));
                let want = if y == ZERO { ZERO } else { x.saturating_div(y) };
                assert_eq!(safe_div(x, y), want, "{a} / {b}");
            }
        }
        for v in [0u16, 1, 2, 1000, 32767, 65534, 65535] {
            assert_eq!(from_u16(v), Fx::from_num(v) / Fx::from_num(65535));
        }
    }

    #[test]
    fn quantization_truncates() {
        assert_eq!(to_u16(ONE), 65535);
        assert_eq!(to_u16(Fx::from_num(0.5)), 32767);
        assert_eq!(to_u16(Fx::from_num(-1)), 0);
        assert_eq!(to_u16(Fx::from_num(3)), 65535);
    }

    #[test]
    fn normalization_of_stake_is_exact_and_safe() {
        let s = normalize_u64(&[3, 1, 0]);
        assert_eq!(s[0], Fx::from_num(0.75));
        assert_eq!(s[1], Fx::from_num(0.25));
        assert_eq!(normalize_u64(&[0, 0]), vec![ZERO, ZERO]);
        assert_eq!(normalize_u64(&[u64::MAX, u64::MAX])[0], Fx::from_num(0.5));
        assert_eq!(safe_div(ONE, ZERO), ZERO);
    }
}
