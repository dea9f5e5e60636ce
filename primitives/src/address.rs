//! SS58 addresses (Substrate's format, network prefix 42); `0x` hex is accepted as input too.

use blake2::{Blake2b512, Digest};
use thiserror::Error;

pub const SS58_PREFIX: u8 = 42;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    #[error("'{0}' is not an SS58 address or 0x-prefixed 32-byte hex key")]
    Malformed(String),
    #[error("'{0}' has a bad SS58 checksum")]
    BadChecksum(String),
    #[error("'{0}' is an SS58 address for network prefix {1}, not {SS58_PREFIX}")]
    WrongPrefix(String, u8),
}

fn checksum(payload: &[u8]) -> [u8; 2] {
    let mut h = Blake2b512::new();
    h.update(b"SS58PRE");
    h.update(payload);
    let d = h.finalize();
    [d[0], d[1]]
}

pub fn encode(key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(35);
    bytes.push(SS58_PREFIX);
    bytes.extend_from_slice(key);
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum);
    bs58::encode(bytes).into_string()
}

pub fn decode(s: &str) -> Result<[u8; 32], AddressError> {
    let malformed = || AddressError::Malformed(s.to_string());
    let mut key = [0u8; 32];
    if let Some(digits) = s.strip_prefix("0x") {
        hex::decode_to_slice(digits, &mut key).map_err(|_| malformed())?;
        return Ok(key);
    }
    let bytes = bs58::decode(s).into_vec().map_err(|_| malformed())?;
    if bytes.len() != 35 {
        return Err(malformed());
    }
    if checksum(&bytes[..33]) != bytes[33..] {
        return Err(AddressError::BadChecksum(s.to_string()));
    }
    if bytes[0] != SS58_PREFIX {
        return Err(AddressError::WrongPrefix(s.to_string(), bytes[0]));
    }
    key.copy_from_slice(&bytes[1..33]);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Substrate's well-known //Alice public key and its generic (prefix 42) address.
    const ALICE_HEX: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
    const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[test]
    fn matches_substrate_vector() {
        let mut key = [0u8; 32];
        hex::decode_to_slice(ALICE_HEX, &mut key).unwrap();
        assert_eq!(encode(&key), ALICE_SS58);
        assert_eq!(decode(ALICE_SS58).unwrap(), key);
        assert_eq!(decode(&format!("0x{ALICE_HEX}")).unwrap(), key);
    }

    #[test]
    fn rejects_bad_strings() {
        let mut corrupted = ALICE_SS58.to_string();
        corrupted.replace_range(5..6, "z");
        assert!(matches!(
            decode(&corrupted),
            Err(AddressError::BadChecksum(_))
        ));
        for bad in ["", "0x12", "hello", "5Grw", "0xzz"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
