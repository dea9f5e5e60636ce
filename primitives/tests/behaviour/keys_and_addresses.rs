//! Keys, signatures and SS58 addresses: what a wallet shows and parses, what the chain verifies,
//! and that a secret key never reaches a log through `Debug`.

use blake2::{Blake2b512, Digest};
use tensorchain_primitives::address::{self, SS58_PREFIX};
use tensorchain_primitives::{AccountId, AddressError, Hash, Keypair, Signature, SignatureError};

const ALICE_HEX: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

fn alice() -> AccountId {
    let mut key = [0u8; 32];
    hex::decode_to_slice(ALICE_HEX, &mut key).unwrap();
    AccountId(key)
}

/// An SS58 string for `key` under another network prefix, with a correct checksum.
fn ss58_with_prefix(prefix: u8, key: &[u8; 32]) -> String {
    let mut bytes = vec![prefix];
    bytes.extend_from_slice(key);
    let mut h = Blake2b512::new();
    h.update(b"SS58PRE");
    h.update(&bytes);
    let d = h.finalize();
    bytes.extend_from_slice(&d[..2]);
    bs58::encode(bytes).into_string()
}

#[test]
fn account_text_forms_and_parsing() {
    let a = alice();
    assert_eq!(a.to_ss58(), ALICE_SS58);
    assert_eq!(a.to_string(), ALICE_SS58);
    assert_eq!(format!("{a:?}"), format!("AccountId({ALICE_SS58})"));
    assert_eq!(a.to_hex(), format!("0x{ALICE_HEX}"));
    assert_eq!(ALICE_SS58.parse::<AccountId>().unwrap(), a);
    assert_eq!(format!("0x{ALICE_HEX}").parse::<AccountId>().unwrap(), a);
    assert_eq!(
        "hello".parse::<AccountId>(),
        Err(AddressError::Malformed("hello".into()))
    );
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, format!("\"{ALICE_SS58}\""));
    assert_eq!(serde_json::from_str::<AccountId>(&json).unwrap(), a);
    assert!(serde_json::from_str::<AccountId>("\"5Grw\"").is_err());
}

#[test]
fn addresses_of_another_network_or_length_are_refused() {
    let key = alice().0;
    assert_eq!(ss58_with_prefix(SS58_PREFIX, &key), ALICE_SS58);
    let polkadot = ss58_with_prefix(0, &key);
    assert_eq!(
        address::decode(&polkadot),
        Err(AddressError::WrongPrefix(polkadot.clone(), 0))
    );
    // Valid base58 of the wrong length (34 and 36 bytes) is malformed, not a checksum error.
    for len in [34usize, 36] {
        let s = bs58::encode(vec![SS58_PREFIX; len]).into_string();
        assert_eq!(address::decode(&s), Err(AddressError::Malformed(s.clone())));
    }
    assert_eq!(address::encode(&key), ALICE_SS58);
    assert_eq!(address::decode(ALICE_SS58), Ok(key));
}

#[test]
fn dev_keys_are_blake3_of_their_seed_and_sign_verifiably() {
    let k = Keypair::dev("alice");
    let secret = Hash::digest_parts(b"tensorchain/dev/", &[b"alice"]).0;
    assert_eq!(k.secret_bytes(), secret);
    let again = Keypair::from_secret(secret);
    assert_eq!(again.account(), k.account());
    assert_eq!(again.sign(b"m"), k.sign(b"m"), "ed25519 is deterministic");
    assert_ne!(k.account(), AccountId::default());
    let sig = k.sign(b"message");
    assert_eq!(k.account().verify(b"message", &sig), Ok(()));
    assert_eq!(
        Keypair::dev("bob").account().verify(b"message", &sig),
        Err(SignatureError::BadSignature)
    );
    assert_eq!(k.account().check_key().unwrap().to_bytes(), k.account().0);
}

#[test]
fn generated_keys_are_fresh() {
    let (a, b) = (Keypair::generate(), Keypair::generate());
    assert_ne!(a.secret_bytes(), b.secret_bytes());
    assert_ne!(a.secret_bytes(), [0; 32]);
    assert_eq!(
        Keypair::from_secret(a.secret_bytes()).account(),
        a.account()
    );
    assert_eq!(a.account().verify(b"x", &a.sign(b"x")), Ok(()));
}

#[test]
fn debug_of_a_keypair_shows_the_account_and_never_the_secret() {
    let k = Keypair::dev("alice");
    let shown = format!("{k:?}");
    assert_eq!(shown, format!("Keypair({})", k.account()));
    let secret_hex = hex::encode(k.secret_bytes());
    assert!(!shown.contains(&secret_hex));
    assert!(!format!("{k:#?}").contains(&secret_hex));
}

#[test]
fn keys_that_are_not_points_or_are_weak_never_verify() {
    let sig = Signature([0; 64]);
    // Find a y coordinate with no point on the curve (about half of them).
    let not_a_point = (2u8..=255)
        .map(|b| {
            let mut key = [0u8; 32];
            key[0] = b;
            key
        })
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_err())
        .expect("some small y is not on the curve");
    assert_eq!(
        AccountId(not_a_point).check_key().unwrap_err(),
        SignatureError::InvalidKey
    );
    assert_eq!(
        AccountId(not_a_point).verify(b"x", &sig),
        Err(SignatureError::InvalidKey)
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        AccountId(identity).check_key().unwrap_err(),
        SignatureError::WeakKey
    );
    assert_eq!(SignatureError::InvalidKey.code(), "invalid_key");
    assert_eq!(SignatureError::WeakKey.code(), "weak_key");
    assert_eq!(SignatureError::BadSignature.code(), "bad_signature");
}

#[test]
fn signature_text_forms() {
    let sig = Keypair::dev("alice").sign(b"m");
    let hex = format!("0x{}", hex::encode(sig.0));
    assert_eq!(sig.to_hex(), hex);
    assert_eq!(format!("{sig:?}"), format!("Signature({hex})"));
    let json = serde_json::to_string(&sig).unwrap();
    assert_eq!(json, format!("\"{hex}\""));
    assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
    assert_eq!(
        serde_json::from_str::<Signature>(&format!("\"{}\"", &hex[2..])).unwrap(),
        sig,
        "the 0x is optional"
    );
    assert!(serde_json::from_str::<Signature>("\"0x1234\"").is_err());
}
