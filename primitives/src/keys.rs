//! ed25519 keys. An account is its public key; signatures are checked by one rule everywhere,
//! ZIP-215 (`crate::zip215`), alone or in batches, so that every node accepts exactly the same
//! set of signatures.

use crate::address;
use crate::hash::Hash;
use crate::zip215::{self, CheckedKey};
use borsh::{BorshDeserialize, BorshSerialize};
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;
use thiserror::Error;

/// A public key: coldkey, hotkey or validator key alike.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct AccountId(pub [u8; 32]);

#[derive(Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("the public key is not a valid ed25519 point")]
    InvalidKey,
    #[error("the public key is weak (small order) and may not sign")]
    WeakKey,
    #[error("the signature does not verify")]
    BadSignature,
}

impl SignatureError {
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::InvalidKey => "invalid_key",
            SignatureError::WeakKey => "weak_key",
            SignatureError::BadSignature => "bad_signature",
        }
    }
}

impl AccountId {
    pub fn to_ss58(&self) -> String {
        address::encode(&self.0)
    }

    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// A usable signing key: a valid curve point (non-canonical encodings accepted, as ZIP-215
    /// does) and not of small order (anyone could sign for such a key).
    pub fn check_key(&self) -> Result<CheckedKey, SignatureError> {
        let point = CompressedEdwardsY(self.0)
            .decompress()
            .ok_or(SignatureError::InvalidKey)?;
        if point.is_small_order() {
            return Err(SignatureError::WeakKey);
        }
        Ok(CheckedKey {
            bytes: self.0,
            point,
        })
    }

    /// Whether `signature` over `message` is this key's, by the chain's rule (ZIP-215); weak
    /// keys never verify. The checked key comes from `SIGNER_KEYS` when this signer verified
    /// recently.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        zip215::verify(&zip215::Item {
            key: SIGNER_KEYS.get_or_check(self)?,
            message,
            signature: &signature.0,
        })
    }

    /// RFC 8032 strict verification with ed25519-dalek (`verify_strict`), the key decompressed
    /// and checked anew: the denominator `tensorchain bench verify` reports, as the throughput
    /// issue defines it. The chain's rule is `verify`; this one refuses a few signatures that
    /// rule accepts (small-order or mixed-order `R`), never one it refuses, among honest ones none.
    pub fn verify_strict_uncached(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| SignatureError::InvalidKey)?;
        if key.is_weak() {
            return Err(SignatureError::WeakKey);
        }
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature.0))
            .map_err(|_| SignatureError::BadSignature)
    }
}

/// Fewer signatures than this are checked one by one: a batch's fixed cost (one multiscalar
/// multiplication) only pays from a few signatures up.
const MIN_BATCH: usize = 4;

/// Checks many signatures, each answered exactly as `AccountId::verify` would answer it alone.
/// Signatures of usable keys are checked as one ZIP-215 batch; only if the batch fails is each
/// checked alone, to tell which. So an invalid signature costs its sender's batch about three
/// times its normal price (the batch, then each alone), never more: callers keep batches to
/// one source (a client's request, a peer's message, a block), so nobody spoils another's.
pub fn verify_many(items: &[(AccountId, &[u8], &Signature)]) -> Vec<Result<(), SignatureError>> {
    let keys: Vec<Result<CheckedKey, SignatureError>> = items
        .iter()
        .map(|(who, _, _)| SIGNER_KEYS.get_or_check(who))
        .collect();
    let batch: Vec<zip215::Item<'_>> = items
        .iter()
        .zip(&keys)
        .filter_map(|((_, message, signature), key)| {
            Some(zip215::Item {
                key: *key.as_ref().ok()?,
                message,
                signature: &signature.0,
            })
        })
        .collect();
    let all_good = batch.len() >= MIN_BATCH && zip215::verify_batch(&batch);
    let mut each = batch.iter().map(|item| {
        if all_good {
            Ok(())
        } else {
            zip215::verify(item)
        }
    });
    keys.into_iter()
        .map(|key| match key {
            Ok(_) => each.next().expect("one batch item per usable key"),
            Err(e) => Err(e),
        })
        .collect()
}

/// Keys of recent signers, decompressed and checked. Decompressing a key (a square root in the
/// field) is about a quarter of a signature check's cost, and most transactions come from signers
/// that signed before. Only keys that passed `check_key` are kept, so a cached key verifies
/// exactly as a fresh one: the accepted set does not change. Bounded: a shard that reaches its
/// share of `MAX_SIGNER_KEYS` is emptied (a flood of fresh keys only makes lookups miss).
static SIGNER_KEYS: SignerKeys = SignerKeys::new();

/// Signer keys kept at most (~200 bytes each).
pub const MAX_SIGNER_KEYS: usize = 16_384;
const KEY_SHARDS: usize = 16;
static KEY_SHARD_SEED: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();

/// One shard: created on first use (a `static` cannot build a `HashMap`).
type KeyShard = std::sync::Mutex<Option<HashMap<[u8; 32], CheckedKey>>>;

struct SignerKeys {
    shards: [KeyShard; KEY_SHARDS],
}

impl SignerKeys {
    const fn new() -> SignerKeys {
        SignerKeys {
            shards: [const { std::sync::Mutex::new(None) }; KEY_SHARDS],
        }
    }

    fn get_or_check(&self, who: &AccountId) -> Result<CheckedKey, SignatureError> {
        // The shard from a per-process random hash: nobody can grind keys that all land in
        // one shard and keep it emptying.
        let seed = KEY_SHARD_SEED.get_or_init(std::hash::RandomState::new);
        let shard = &self.shards[seed.hash_one(who.0) as usize % KEY_SHARDS];
        // A poisoned shard only held keys that were checked: its contents are still sound.
        let lock = || shard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = lock().as_ref().and_then(|m| m.get(&who.0)) {
            return Ok(*key);
        }
        let key = who.check_key()?;
        let mut guard = lock();
        let map = guard.get_or_insert_with(HashMap::new);
        if map.len() >= MAX_SIGNER_KEYS / KEY_SHARDS {
            map.clear();
        }
        map.insert(who.0, key);
        Ok(key)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_ss58())
    }
}

impl FromStr for AccountId {
    type Err = address::AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        address::decode(s).map(AccountId)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_ss58())
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Signature {
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        let mut out = [0u8; 64];
        hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(&s), &mut out)
            .map_err(|_| serde::de::Error::custom("expected 0x followed by 128 hex digits"))?;
        Ok(Signature(out))
    }
}

/// A secret key with its public half.
#[derive(Clone)]
pub struct Keypair {
    secret: SigningKey,
}

impl Keypair {
    pub fn from_secret(secret: [u8; 32]) -> Keypair {
        Keypair {
            secret: SigningKey::from_bytes(&secret),
        }
    }

    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Keypair {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system has no randomness source");
        Keypair::from_secret(secret)
    }

    /// The deterministic dev key for `seed` (e.g. `alice`, `alice/hot`):
    /// secret = blake3("tensorchain/dev/" ‖ seed).
    pub fn dev(seed: &str) -> Keypair {
        Keypair::from_secret(
            *Hash::digest_parts(b"tensorchain/dev/", &[seed.as_bytes()]).as_bytes(),
        )
    }

    pub fn secret_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    pub fn account(&self) -> AccountId {
        AccountId(self.secret.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.secret.sign(message).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.account())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_strict() {
        let k = Keypair::dev("alice");
        let sig = k.sign(b"hello");
        assert_eq!(k.account().verify(b"hello", &sig), Ok(()));
        assert_eq!(
            k.account().verify(b"hellO", &sig),
            Err(SignatureError::BadSignature)
        );
    }

    /// The signer-key cache changes what is accepted in no way: a key verified once (so
    /// cached) still refuses a bad signature or another message, a weak key is refused every
    /// time (never cached), and the cache stays within its bound under a flood of fresh keys.
    #[test]
    fn cached_signer_keys_accept_exactly_what_fresh_ones_do() {
        let k = Keypair::dev("cache/alice");
        let sig = k.sign(b"hello");
        for _ in 0..3 {
            assert_eq!(k.account().verify(b"hello", &sig), Ok(()));
            assert_eq!(
                k.account().verify(b"hellO", &sig),
                Err(SignatureError::BadSignature)
            );
            let mut flipped = sig;
            flipped.0[10] ^= 1;
            assert_eq!(
                k.account().verify(b"hello", &flipped),
                Err(SignatureError::BadSignature)
            );
            assert_eq!(k.account().verify_strict_uncached(b"hello", &sig), Ok(()));
        }
        let mut weak = [0u8; 32];
        weak[0] = 1;
        for _ in 0..2 {
            assert_eq!(
                AccountId(weak).verify(b"x", &Signature([0; 64])),
                Err(SignatureError::WeakKey)
            );
        }
        for i in 0..MAX_SIGNER_KEYS + 100 {
            let key = Keypair::dev(&format!("cache/flood/{i}"));
            key.account().verify(b"m", &key.sign(b"m")).unwrap();
        }
        let held: usize = SIGNER_KEYS
            .shards
            .iter()
            .map(|s| s.lock().unwrap().as_ref().map_or(0, HashMap::len))
            .sum();
        assert!(held <= MAX_SIGNER_KEYS, "{held}");
        assert_eq!(k.account().verify(b"hello", &sig), Ok(()));
    }

    #[test]
    fn weak_key_is_rejected() {
        // The identity point (y = 1) has small order.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        let sig = Signature([0; 64]);
        assert_eq!(
            AccountId(weak).verify(b"x", &sig),
            Err(SignatureError::WeakKey)
        );
    }

    #[test]
    fn dev_keys_are_deterministic_and_distinct() {
        assert_eq!(
            Keypair::dev("alice").account(),
            Keypair::dev("alice").account()
        );
        assert_ne!(
            Keypair::dev("alice").account(),
            Keypair::dev("alice/hot").account()
        );
    }
}
