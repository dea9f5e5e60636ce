//! Generates primitives/tests/data/zip215_vectors.txt: answers of ed25519-zebra 5 (the ZIP-215
//! reference) and ed25519-dalek's verify_strict for a set of crafted cases.
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

fn scalar(seed: &str) -> Scalar {
    Scalar::from_hash(Sha512::new().chain_update(seed.as_bytes()))
}
fn k(r: &[u8], a: &[u8; 32], m: &[u8]) -> Scalar {
    Scalar::from_hash(Sha512::new().chain_update(r).chain_update(a).chain_update(m))
}
/// Signs m for key bytes a_bytes (whose point is [a]B + torsion) with nonce point R = [r]B + t.
fn sign(a: &Scalar, a_bytes: &[u8; 32], r: &Scalar, t: &EdwardsPoint, r_bytes: Option<[u8; 32]>, m: &[u8]) -> [u8; 64] {
    let rp = r * B + t;
    let rb = r_bytes.unwrap_or(rp.compress().to_bytes());
    let s = r + k(&rb, a_bytes, m) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&rb);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}
fn non_canonical_encodings() -> Vec<[u8; 32]> {
    // y in [p, 2^255 - 1] with either sign bit: the encodings that are not canonical.
    let mut out = vec![];
    for i in 0..19u8 {
        let mut y = [0xffu8; 32];
        y[31] = 0x7f;
        y[0] = 0xed + i; // p = 2^255 - 19 -> 0xed..0xff then wraps
        if (0xedu16 + i as u16) > 0xff { continue; }
        for sign in [0u8, 0x80] {
            let mut e = y;
            e[31] |= sign;
            if CompressedEdwardsY(e).decompress().is_some() { out.push(e); }
        }
    }
    out
}
fn main() {
    let mut lines = vec![];
    let mut push = |label: &str, key: [u8; 32], sig: [u8; 64], m: &[u8]| {
        let zebra = ed25519_zebra::VerificationKey::try_from(key)
            .and_then(|vk| vk.verify(&ed25519_zebra::Signature::from_bytes(&sig), m))
            .is_ok();
        let (expect, strict) = match ed25519_dalek::VerifyingKey::from_bytes(&key) {
            Err(_) => ("invalid_key", false),
            Ok(vk) if vk.is_weak() => ("weak_key", false),
            Ok(vk) => (
                if zebra { "ok" } else { "bad_signature" },
                vk.verify_strict(m, &ed25519_dalek::Signature::from_bytes(&sig)).is_ok(),
            ),
        };
        lines.push(format!("{label} {} {} {} {expect} zip215={} strict={}", hex::encode(key), hex::encode(sig), hex::encode(m), zebra as u8, strict as u8));
    };
    let l_bytes = {
        // l = 2^252 + 27742317777372353535851937790883648493, little-endian
        let mut b = [0u8; 32];
        b.copy_from_slice(&hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010").unwrap());
        b
    };
    for i in 0..16 {
        let a = scalar(&format!("key {i}"));
        let ap = a * B;
        let ab = ap.compress().to_bytes();
        let r = scalar(&format!("nonce {i}"));
        let m = format!("message {i}").into_bytes();
        let zero = EdwardsPoint::default();
        let good = sign(&a, &ab, &r, &zero, None, &m);
        push("honest", ab, good, &m);
        let mut x = good; x[3] ^= 4; push("r_flipped", ab, x, &m);
        let mut x = good; x[40] ^= 1; push("s_flipped", ab, x, &m);
        push("other_message", ab, good, format!("message {i}!").as_bytes());
        // S + l: the same scalar, not canonical.
        let mut x = good;
        let mut carry = 0u16;
        for j in 0..32 { let v = x[32 + j] as u16 + l_bytes[j] as u16 + carry; x[32 + j] = v as u8; carry = v >> 8; }
        push("s_plus_l", ab, x, &m);
        let t = EIGHT_TORSION[1 + i % 7];
        push("mixed_order_r", ab, sign(&a, &ab, &r, &t, None, &m), &m);
        let amixed = (ap + t).compress().to_bytes();
        push("mixed_order_key", amixed, sign(&a, &amixed, &r, &zero, None, &m), &m);
        push("wrong_key", (scalar(&format!("other {i}")) * B).compress().to_bytes(), good, &m);
    }
    // Small-order keys and nonces (ZIP-215's own cases): s = 0.
    let encodings: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(|p| p.compress().to_bytes()).chain(non_canonical_encodings()).collect();
    for a in &encodings {
        for r in encodings.iter().take(4) {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(r);
            push("small_order", *a, sig, b"Zcash");
        }
    }
    // Non-canonical R encodings of small-order points with an honest key.
    let a = scalar("nc key");
    let ab = (a * B).compress().to_bytes();
    for (j, e) in non_canonical_encodings().iter().enumerate() {
        let t = CompressedEdwardsY(*e).decompress().unwrap();
        if !t.is_small_order() { continue; }
        // R = t, a small-order point, given by its non-canonical encoding.
        let label = format!("noncanonical_r_small_{j}");
        push(&label, ab, sign(&a, &ab, &Scalar::ZERO, &t, Some(*e), b"nc"), b"nc");
    }
    // A key that is not a point.
    let mut not_point = [0u8; 32];
    for b in 2u8..=255 { not_point[0] = b; if CompressedEdwardsY(not_point).decompress().is_none() { break; } }
    push("not_a_point", not_point, [0u8; 64], b"x");
    for l in &lines { println!("{l}"); }
}
