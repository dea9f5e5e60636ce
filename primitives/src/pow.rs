//! Proof-of-work registration: the work a `pow_register` (and the devnet faucet) carries, shared
//! by the chain that checks it and the CLI that solves it.

use crate::hash::Hash;
use crate::keys::AccountId;

/// How far back the block a solution names may be (executed at height h, the block must be in
/// h-3..h): work must be done after that block was made, so nobody can stockpile solutions.
pub const POW_MAX_AGE: u64 = 3;

const POW_DOMAIN: &[u8] = b"tensorchain/pow-register/v1";
const FAUCET_DOMAIN: &[u8] = b"tensorchain/pow-faucet/v1";

/// What the work is for: each kind has its own domain, so faucet work never registers a neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    Register,
    Faucet,
}

/// blake3(domain ‖ genesis hash ‖ block hash ‖ hotkey ‖ coldkey ‖ nonce): binding the genesis and a
/// recent block keeps work from being reused on another chain or computed in advance, and the
/// keys keep it from being stolen from the mempool for another hotkey.
pub fn work(
    kind: WorkKind,
    genesis: &Hash,
    block_hash: &Hash,
    hotkey: &AccountId,
    coldkey: &AccountId,
    nonce: u64,
) -> Hash {
    let domain = match kind {
        WorkKind::Register => POW_DOMAIN,
        WorkKind::Faucet => FAUCET_DOMAIN,
    };
    Hash::digest_parts(
        domain,
        &[
            genesis.as_bytes(),
            block_hash.as_bytes(),
            &hotkey.0,
            &coldkey.0,
            &nonce.to_le_bytes(),
        ],
    )
}

/// Whether `hash` meets `difficulty`: its first 16 bytes, read big-endian, are at most
/// u128::MAX / difficulty, so one hash in `difficulty` passes on average.
pub fn meets_difficulty(hash: &Hash, difficulty: u64) -> bool {
    let head = u128::from_be_bytes(hash.0[..16].try_into().expect("16 bytes"));
    head <= u128::MAX / difficulty.max(1) as u128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_one_accepts_anything_and_higher_accepts_about_one_in_d() {
        let (g, b, k) = (Hash::ZERO, Hash::digest(b"block"), AccountId([7; 32]));
        let hashes: Vec<Hash> = (0..4000)
            .map(|n| work(WorkKind::Register, &g, &b, &k, &k, n))
            .collect();
        assert!(hashes.iter().all(|h| meets_difficulty(h, 1)));
        let passed = hashes.iter().filter(|h| meets_difficulty(h, 100)).count();
        assert!(
            (15..=70).contains(&passed),
            "{passed} of 4000 at difficulty 100"
        );
        assert!(!meets_difficulty(&Hash([0xff; 32]), 2));
    }

    #[test]
    fn the_kind_and_every_input_change_the_work() {
        let (g, b, k) = (Hash::ZERO, Hash::digest(b"block"), AccountId([7; 32]));
        let base = work(WorkKind::Register, &g, &b, &k, &k, 1);
        assert_ne!(base, work(WorkKind::Faucet, &g, &b, &k, &k, 1));
        assert_ne!(base, work(WorkKind::Register, &b, &b, &k, &k, 1));
        assert_ne!(base, work(WorkKind::Register, &g, &g, &k, &k, 1));
        assert_ne!(
            base,
            work(WorkKind::Register, &g, &b, &AccountId([8; 32]), &k, 1)
        );
        assert_ne!(
            base,
            work(WorkKind::Register, &g, &b, &k, &AccountId([8; 32]), 1)
        );
        assert_ne!(base, work(WorkKind::Register, &g, &b, &k, &k, 2));
    }
}
