//! Recovery phrases: BIP-39 mnemonics turned into ed25519 keys exactly as Substrate does, so the
//! same phrase gives the same SS58 address in subkey or polkadot.js (ed25519 scheme).
//!
//! A secret URI is `PHRASE[//hard…][///password]`:
//! - the phrase's BIP-39 *entropy* (not the sentence, unlike plain BIP-39) is stretched by
//!   PBKDF2-HMAC-SHA512, salt `"mnemonic" ‖ password`, 2048 rounds; the first 32 bytes are the
//!   "mini-secret", used as the ed25519 seed;
//! - each hard junction `//x` replaces the seed by `blake2b-256(SCALE("Ed25519HDKD", seed, cc))`,
//!   where `cc` is `x` as a SCALE u64 if it parses as one, else the SCALE string, zero-padded to
//!   32 bytes (or its blake2b-256 hash when longer);
//! - soft junctions `/x` do not exist for ed25519 (Substrate refuses them too).

use crate::error::{CliError, CliResult};
use bip39::{Language, Mnemonic};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use sha2::Sha512;
use tensorchain_primitives::Keypair;
use zeroize::Zeroizing;

/// Longest secret URI accepted: a 24-word phrase is under 220 bytes; the bound keeps junction
/// lengths within SCALE's two-byte compact form.
const MAX_SURI_LEN: usize = 1024;
const PBKDF2_ROUNDS: u32 = 2048;
const HDKD_CONTEXT: &[u8] = b"Ed25519HDKD";

type Blake2b256 = Blake2b<U32>;

/// A fresh phrase of 12 or 24 words from the operating system's randomness.
pub fn generate(words: usize) -> CliResult<Zeroizing<String>> {
    let mut entropy = Zeroizing::new([0u8; 32]);
    let len = match words {
        12 => 16,
        24 => 32,
        _ => {
            return Err(CliError::new(
                "bad_word_count",
                format!("{words} words is not a supported phrase length"),
                "use --words 12 or --words 24",
            ))
        }
    };
    getrandom::fill(&mut entropy[..len]).expect("the operating system has no randomness source");
    // bip39's own `zeroize` feature is off (its derive macro's syn features would rebuild RocksDB
    // through bindgen): the `Mnemonic`'s word indices are not wiped, the phrase and entropy are.
    let m = Mnemonic::from_entropy(&entropy[..len]).expect("16 or 32 bytes are valid entropy");
    Ok(Zeroizing::new(m.to_string()))
}

fn bad_mnemonic(message: impl Into<String>) -> CliError {
    CliError::new(
        "bad_mnemonic",
        message,
        "give the 12 or 24 English words in order, optionally followed by //hard junctions and ///password",
    )
}

/// SCALE's compact length prefix for lengths below 2^14 (the SURI bound keeps them there).
fn compact_len(len: usize) -> Vec<u8> {
    debug_assert!(len < 1 << 14);
    if len < 64 {
        vec![(len as u8) << 2]
    } else {
        (((len as u16) << 2) | 1).to_le_bytes().to_vec()
    }
}

/// The 32-byte chain code of one junction, as Substrate's `DeriveJunction::from(&str)`.
fn chain_code(junction: &str) -> [u8; 32] {
    let encoded = match junction.parse::<u64>() {
        Ok(n) => n.to_le_bytes().to_vec(),
        Err(_) => [compact_len(junction.len()), junction.as_bytes().to_vec()].concat(),
    };
    let mut cc = [0u8; 32];
    if encoded.len() > 32 {
        cc.copy_from_slice(&Blake2b256::digest(&encoded));
    } else {
        cc[..encoded.len()].copy_from_slice(&encoded);
    }
    cc
}

/// One hard derivation step of Substrate's ed25519.
fn derive_hard(seed: &[u8; 32], cc: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut h = Blake2b256::new();
    h.update(compact_len(HDKD_CONTEXT.len()));
    h.update(HDKD_CONTEXT);
    h.update(seed);
    h.update(cc);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&h.finalize());
    out
}

/// The mini-secret of a phrase's entropy and password (substrate-bip39).
fn mini_secret(entropy: &[u8], password: &str) -> Zeroizing<[u8; 32]> {
    let salt = Zeroizing::new(format!("mnemonic{password}"));
    let mut seed = Zeroizing::new([0u8; 64]);
    pbkdf2::pbkdf2_hmac::<Sha512>(entropy, salt.as_bytes(), PBKDF2_ROUNDS, &mut seed[..]);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&seed[..32]);
    out
}

/// The ed25519 seed a secret URI stands for.
pub fn seed_from_suri(suri: &str) -> CliResult<Zeroizing<[u8; 32]>> {
    if suri.len() > MAX_SURI_LEN {
        return Err(bad_mnemonic(format!(
            "the phrase is longer than {MAX_SURI_LEN} bytes"
        )));
    }
    let (rest, password) = match suri.find("///") {
        Some(i) => (&suri[..i], &suri[i + 3..]),
        None => (suri, ""),
    };
    let (phrase, mut path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let words = Zeroizing::new(
        phrase
            .split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" "),
    );
    let m = Mnemonic::parse_in_normalized(Language::English, &words)
        .map_err(|e| bad_mnemonic(format!("not a valid BIP-39 phrase: {e}")))?;
    let entropy = Zeroizing::new(m.to_entropy());
    let mut seed = mini_secret(&entropy, password);
    while !path.is_empty() {
        let Some(after) = path.strip_prefix("//") else {
            return Err(CliError::new(
                "soft_junction_unsupported",
                "soft derivation (/x) does not exist for ed25519 keys",
                "use hard junctions (//x), as Substrate's ed25519 does",
            ));
        };
        let end = after.find('/').unwrap_or(after.len());
        let junction = &after[..end];
        if junction.is_empty() {
            return Err(bad_mnemonic("an empty derivation junction"));
        }
        seed = derive_hard(&seed, &chain_code(junction));
        path = &after[end..];
    }
    Ok(seed)
}

/// The key a secret URI stands for.
pub fn keypair_from_suri(suri: &str) -> CliResult<Keypair> {
    Ok(Keypair::from_secret(*seed_from_suri(suri)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_PHRASE: &str =
        "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }

    // substrate-bip39's published vectors (password "Substrate"): the mini-secret is the first
    // half of the 64-byte seed listed there.
    #[test]
    fn substrate_bip39_vectors() {
        let vectors = [
            (
                "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
                "f4956be6960bc145cdab782e649a5056598fd07cd3f32ceb73421c3da2783324",
            ),
            (
                "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
                "938ba18c3f521f19bd4a399c8425b02c716844325b1a65106b9d1593fbafe5e0",
            ),
        ];
        for (phrase, secret) in vectors {
            let suri = format!("{phrase}///Substrate");
            assert_eq!(*seed_from_suri(&suri).unwrap(), hex32(secret), "{phrase}");
        }
    }

    // sp-core ed25519 `seed_and_derive_should_work`: Hard([0; 32]) from the RFC 8032 seed.
    #[test]
    fn substrate_hard_derivation_vector() {
        let seed = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        assert_eq!(
            *derive_hard(&seed, &[0; 32]),
            hex32("ede3354e133f9c8e337ddd6ee5415ed4b4ffe5fc7d21e933f4930a3730e5b21c")
        );
    }

    // `subkey inspect --scheme ed25519 //Alice` (the dev phrase) and the well-known ed25519 Bob.
    #[test]
    fn substrate_dev_accounts() {
        let alice_seed = seed_from_suri(&format!("{DEV_PHRASE}//Alice")).unwrap();
        assert_eq!(
            *alice_seed,
            hex32("abf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115")
        );
        let alice = keypair_from_suri(&format!("{DEV_PHRASE}//Alice")).unwrap();
        assert_eq!(
            alice.account().to_hex(),
            "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
        );
        assert_eq!(
            alice.account().to_ss58(),
            "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"
        );
        let bob = keypair_from_suri(&format!("{DEV_PHRASE}//Bob")).unwrap();
        assert_eq!(
            bob.account().to_hex(),
            "0xd17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69"
        );
    }

    #[test]
    fn numeric_and_long_junctions_follow_scale() {
        // A number is its u64 little-endian bytes; a string its compact length and bytes.
        assert_eq!(chain_code("1")[..8], 1u64.to_le_bytes());
        assert_eq!(chain_code("Alice")[..6], *b"\x14Alice");
        let long = "x".repeat(40);
        let encoded = [compact_len(40), long.as_bytes().to_vec()].concat();
        assert_eq!(
            chain_code(&long),
            <[u8; 32]>::from(Blake2b256::digest(&encoded))
        );
    }

    #[test]
    fn generated_phrases_round_trip_and_bad_input_is_named() {
        for words in [12, 24] {
            let phrase = generate(words).unwrap();
            assert_eq!(phrase.split(' ').count(), words);
            let a = keypair_from_suri(&phrase).unwrap();
            let spaced = format!("  {}  ", phrase.to_uppercase().replace(' ', "   "));
            assert_eq!(keypair_from_suri(&spaced).unwrap().account(), a.account());
        }
        assert_eq!(generate(13).unwrap_err().code, "bad_word_count");
        let swapped = DEV_PHRASE.replace("bottom drive", "drive bottom");
        assert_eq!(
            keypair_from_suri(&swapped).unwrap_err().code,
            "bad_mnemonic"
        );
        assert_eq!(keypair_from_suri("").unwrap_err().code, "bad_mnemonic");
        assert_eq!(
            keypair_from_suri(&format!("{DEV_PHRASE}/soft"))
                .unwrap_err()
                .code,
            "soft_junction_unsupported"
        );
        assert_eq!(
            keypair_from_suri(&format!("{DEV_PHRASE}//a//"))
                .unwrap_err()
                .code,
            "bad_mnemonic"
        );
        assert_eq!(
            keypair_from_suri(&"abandon ".repeat(200)).unwrap_err().code,
            "bad_mnemonic"
        );
    }
}
