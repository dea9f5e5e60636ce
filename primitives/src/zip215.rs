//! The chain's signature rule: ed25519 verification as ZIP-215 defines it, alone and in batches,
//! for keys that pass our one stricter rule (`AccountId::check_key`: no small-order keys, which
//! ZIP-215 accepts).
//! Both give the same answer for every input, so a node may check a block's signatures as one
//! batch and another node one by one, and they still accept exactly the same set
//! (`docs/security.md`, "Signatures"). The rule, for a key `A_bytes` that passed
//! `AccountId::check_key` and a signature `(R_bytes, S_bytes)` over `M`:
//! - `R_bytes` decodes to a curve point `R` (non-canonical encodings are accepted, as for `A`);
//! - `S_bytes` is an integer `S` below the group order `l`;
//! - `[8][S]B = [8]R + [8][k]A`, with `k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod l`: the cofactored
//!   equation (RFC 8032's cofactorless one, which a batch cannot reproduce, is never used).
//!
//! Ported from ed25519-zebra 5 (MIT OR Apache-2.0), the implementation ZIP-215 specifies, onto
//! the curve25519-dalek that ed25519-dalek already builds: ed25519-zebra's `zeroize` derive would
//! add a feature to `syn`, and with it rebuild bindgen and the bundled RocksDB. Its test vectors
//! (the small-order cases and random signatures, answered by ed25519-zebra) are in
//! `tests/zip215_vectors.rs`.

use crate::keys::SignatureError;
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::RngExt;
use sha2_11::{Digest, Sha512};
use std::collections::HashMap;

/// A signer's key that passed `AccountId::check_key`: its bytes as signed over, and its point.
#[derive(Clone, Copy)]
pub struct CheckedKey {
    pub(crate) bytes: [u8; 32],
    pub(crate) point: EdwardsPoint,
}

impl CheckedKey {
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }
}

impl std::fmt::Debug for CheckedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckedKey(0x{})", hex::encode(self.bytes))
    }
}

/// One signature to check.
pub struct Item<'a> {
    pub key: CheckedKey,
    pub message: &'a [u8],
    pub signature: &'a [u8; 64],
}

/// `k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod l`, over the bytes as given.
fn challenge(r: &[u8], a: &[u8; 32], message: &[u8]) -> Scalar {
    Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(a)
            .chain_update(message),
    )
}

/// `R` and `S` of a signature, decoded by the rule.
fn decode(signature: &[u8; 64]) -> Result<(EdwardsPoint, Scalar), SignatureError> {
    let (r, s) = signature.split_at(32);
    let r = CompressedEdwardsY::from_slice(r)
        .ok()
        .and_then(|c| c.decompress())
        .ok_or(SignatureError::BadSignature)?;
    let s: [u8; 32] = s.try_into().map_err(|_| SignatureError::BadSignature)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))
        .ok_or(SignatureError::BadSignature)?;
    Ok((r, s))
}

/// One signature by the rule.
pub fn verify(item: &Item<'_>) -> Result<(), SignatureError> {
    let (r, s) = decode(item.signature)?;
    let k = challenge(&item.signature[..32], &item.key.bytes, item.message);
    // [8]R = [8]([S]B - [k]A)  <=>  [8](R - R') = 0 with R' = [S]B + [k](-A).
    let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-item.key.point, &s);
    if (r - r_prime).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(SignatureError::BadSignature)
    }
}

/// Whether every item verifies by the rule, checked as one batch: with random 128-bit `z_i`,
/// `[8]([-Σ z_i·S_i]B + Σ [z_i]R_i + Σ [z_i·k_i]A_i) = 0`, one multiscalar multiplication for the
/// whole batch (about half the cost per signature of `verify` from ~16 signatures up). A batch
/// holding an invalid signature fails except with probability ~2⁻¹²⁸; a batch of valid ones
/// always passes. The `z_i` are the only randomness and decide nothing else, so the answer is
/// the same on every node. Terms of one signer share one coefficient, as in ed25519-zebra.
pub fn verify_batch(items: &[Item<'_>]) -> bool {
    let mut rng = rand::rng();
    let mut b_coeff = Scalar::ZERO;
    let mut signers: HashMap<[u8; 32], (EdwardsPoint, Scalar)> = HashMap::new();
    let mut r_coeffs = Vec::with_capacity(items.len());
    let mut rs = Vec::with_capacity(items.len());
    for item in items {
        let Ok((r, s)) = decode(item.signature) else {
            return false;
        };
        let k = challenge(&item.signature[..32], &item.key.bytes, item.message);
        let z = Scalar::from(u128::from_le_bytes(rng.random()));
        b_coeff -= z * s;
        rs.push(r);
        r_coeffs.push(z);
        signers
            .entry(item.key.bytes)
            .or_insert((item.key.point, Scalar::ZERO))
            .1 += z * k;
    }
    let (a_points, a_coeffs): (Vec<EdwardsPoint>, Vec<Scalar>) = signers.into_values().unzip();
    let check = EdwardsPoint::vartime_multiscalar_mul(
        std::iter::once(&b_coeff)
            .chain(a_coeffs.iter())
            .chain(r_coeffs.iter()),
        std::iter::once(&ED25519_BASEPOINT_POINT)
            .chain(a_points.iter())
            .chain(rs.iter()),
    );
    check.mul_by_cofactor().is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{AccountId, Keypair};

    /// Signed messages of `n` dev keys, `per_key` each.
    fn signed(n: usize, per_key: usize) -> Vec<(CheckedKey, Vec<u8>, [u8; 64])> {
        (0..n * per_key)
            .map(|i| {
                let key = Keypair::dev(&format!("zip215/{}", i % n));
                let message = format!("message {i}").into_bytes();
                let signature = key.sign(&message).0;
                let checked = AccountId::check_key(&key.account()).expect("a dev key is usable");
                (checked, message, signature)
            })
            .collect()
    }

    fn items(signed: &[(CheckedKey, Vec<u8>, [u8; 64])]) -> Vec<Item<'_>> {
        signed
            .iter()
            .map(|(key, message, signature)| Item {
                key: *key,
                message,
                signature,
            })
            .collect()
    }

    /// The batch equation itself accepts valid signatures (no fallback hides a batch that
    /// always fails), with distinct and with repeated signers, and refuses one bad signature.
    #[test]
    fn a_batch_of_valid_signatures_passes_and_one_bad_one_fails_it() {
        for (keys, per_key) in [(1, 8), (64, 1), (16, 4)] {
            let mut all = signed(keys, per_key);
            assert!(verify_batch(&items(&all)), "{keys} keys x {per_key}");
            assert!(items(&all).iter().all(|i| verify(i).is_ok()));
            all[3].2[40] ^= 1;
            assert!(
                !verify_batch(&items(&all)),
                "{keys} keys x {per_key}, one bad"
            );
        }
    }
}
