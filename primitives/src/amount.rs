//! TAO amounts. Everything on chain is a `u64` count of rao; TAO with 9 decimals exists only at the
//! edges (CLI input, human output).

use thiserror::Error;

pub const RAO_PER_TAO: u64 = 1_000_000_000;
/// 21,000,000 TAO: total issuance may never exceed it.
pub const MAX_SUPPLY: u64 = 21_000_000 * RAO_PER_TAO;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    #[error("'{0}' is not an amount of TAO (expected digits with at most 9 decimals, e.g. 1.5)")]
    Invalid(String),
    #[error("'{0}' TAO does not fit in a u64 count of rao")]
    Overflow(String),
}

/// Parses a TAO amount with up to 9 decimals into rao, exactly (no floats).
pub fn parse_tao(s: &str) -> Result<u64, AmountError> {
    let s = s.trim();
    let invalid = || AmountError::Invalid(s.to_string());
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(invalid());
    }
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(frac) || frac.len() > 9 {
        return Err(invalid());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| AmountError::Overflow(s.to_string()))?
    };
    let frac_rao: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| invalid())?
    };
    whole
        .checked_mul(RAO_PER_TAO)
        .and_then(|r| r.checked_add(frac_rao))
        .ok_or_else(|| AmountError::Overflow(s.to_string()))
}

/// Formats rao as TAO with all 9 decimals, trailing zeros trimmed (but at least one decimal).
pub fn format_tao(rao: u64) -> String {
    let whole = rao / RAO_PER_TAO;
    let frac = format!("{:09}", rao % RAO_PER_TAO);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{whole}.0")
    } else {
        format!("{whole}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(parse_tao("1").unwrap(), RAO_PER_TAO);
        assert_eq!(parse_tao("1.5").unwrap(), 1_500_000_000);
        assert_eq!(parse_tao("0.000000001").unwrap(), 1);
        assert_eq!(parse_tao(".25").unwrap(), 250_000_000);
        assert_eq!(parse_tao("21000000").unwrap(), MAX_SUPPLY);
    }

    #[test]
    fn rejects_bad_amounts() {
        for bad in ["", ".", "-1", "1.0000000001", "1e9", "abc", "1.2.3", " 1 2"] {
            assert!(parse_tao(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_tao("18446744074"),
            Err(AmountError::Overflow(_))
        ));
    }

    #[test]
    fn formats_round_trip() {
        for rao in [0, 1, 10, RAO_PER_TAO, 1_500_000_000, u64::MAX] {
            assert_eq!(parse_tao(&format_tao(rao)).unwrap(), rao);
        }
        assert_eq!(format_tao(1_500_000_000), "1.5");
        assert_eq!(format_tao(0), "0.0");
    }
}

/// Serde helper: amounts travel in JSON as decimal strings of rao, because JSON numbers lose
/// precision past 2^53.
pub mod as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|_| serde::de::Error::custom("expected a decimal string of rao"))
    }
}
