//! Which network a signature is for. Every signed digest (transactions, votes, proposals) is
//! `blake3(tag ‖ genesis hash ‖ borsh(message))`. The message carries its chain id; the genesis
//! hash is mixed in but never sent (as Substrate does): signer and verifier each supply their own,
//! so a signature made for one network verifies on no other, even one that reuses the chain id
//! (a relaunched devnet, a testnet reusing an id), at no cost on the wire.

use crate::hash::Hash;
use borsh::BorshSerialize;

/// The network's chain id and genesis hash (blake3 of its canonical chain spec), passed wherever
/// something is signed or a signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningDomain {
    pub chain_id: String,
    pub genesis: Hash,
}

impl SigningDomain {
    pub fn new(chain_id: impl Into<String>, genesis: Hash) -> SigningDomain {
        SigningDomain {
            chain_id: chain_id.into(),
            genesis,
        }
    }

    /// The digest a signature covers: `blake3(tag ‖ genesis ‖ borsh(message))`. The tag keeps
    /// kinds apart (a tx signature never passes as a vote's); the genesis keeps networks apart.
    pub fn digest(&self, tag: &[u8], message: &impl BorshSerialize) -> Hash {
        Hash::digest_parts(
            tag,
            &[
                self.genesis.as_bytes(),
                &borsh::to_vec(message).expect("borsh to vec"),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_the_tag_then_the_genesis_then_the_message() {
        let d = SigningDomain::new("tc", Hash([0x11; 32]));
        let message = (7u64, "m".to_string());
        let mut h = blake3::Hasher::new();
        h.update(b"tag");
        h.update(&[0x11; 32]);
        h.update(&borsh::to_vec(&message).unwrap());
        assert_eq!(d.digest(b"tag", &message), Hash(*h.finalize().as_bytes()));
        let other = SigningDomain::new("tc", Hash([0x12; 32]));
        assert_ne!(other.digest(b"tag", &message), d.digest(b"tag", &message));
    }
}
