//! Headers, blocks, votes and commit certificates.

use crate::domain::SigningDomain;
use crate::hash::Hash;
use crate::keys::{AccountId, Keypair, Signature, SignatureError};
use crate::tx::SignedTx;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use std::collections::BTreeSet;
use thiserror::Error;

/// v2 mixes the genesis hash in (v1 covered the chain id only, so votes from one network were
/// valid equivocation evidence on another that reused the chain id).
const VOTE_DOMAIN: &[u8] = b"tensorchain/vote/v2";

/// The largest block, borsh-encoded, that is valid: half the 8 MiB gossip cap, so a proposal
/// with its signature and framing always fits in one gossip message (a block over the cap could
/// never be published and the chain would halt), and a sync response holds several.
pub const MAX_BLOCK_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Header {
    pub chain_id: String,
    pub height: u64,
    pub time_ms: u64,
    pub parent_hash: Hash,
    pub tx_root: Hash,
    pub state_root: Hash,
    pub proposer: AccountId,
    pub validator_set_hash: Hash,
    /// The set that will sign the next block: set changes are visible one block ahead.
    pub next_validator_set_hash: Hash,
    pub last_commit_hash: Hash,
}

impl Header {
    pub fn hash(&self) -> Hash {
        Hash::digest(&borsh::to_vec(self).expect("borsh to vec"))
    }
}

/// A block carries its transactions and the commit certificate of its parent.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Block {
    pub header: Header,
    pub txs: Vec<SignedTx>,
    pub last_commit: Option<Commit>,
}

impl Block {
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Whether the body is the one the header commits to: the transactions hash to `tx_root`
    /// and the parent's certificate to `last_commit_hash`. Once this holds, the header hash names
    /// the whole block, so a verdict keyed by that hash cannot be poisoned by a peer that
    /// re-wraps a signed proposal around another body.
    pub fn body_matches_header(&self) -> bool {
        let tx_hashes: Vec<Hash> = self.txs.iter().map(SignedTx::hash).collect();
        merkle_root(&tx_hashes) == self.header.tx_root
            && last_commit_hash(self.last_commit.as_ref()) == self.header.last_commit_hash
    }

    /// The block's encoded size, which `MAX_BLOCK_BYTES` bounds.
    pub fn encoded_len(&self) -> usize {
        borsh::object_length(self).unwrap_or(usize::MAX)
    }
}

/// What a header's `last_commit_hash` holds: the parent's certificate hash, zero at height 1.
pub fn last_commit_hash(last_commit: Option<&Commit>) -> Hash {
    last_commit.map(Commit::hash).unwrap_or(Hash::ZERO)
}

/// A member of the chain's validator set.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Validator {
    pub hotkey: AccountId,
    pub power: u64,
}

/// The hash of a validator set, independent of the order it is listed in.
pub fn validator_set_hash(set: &[Validator]) -> Hash {
    let mut sorted = set.to_vec();
    sorted.sort_by_key(|v| v.hotkey);
    Hash::digest_parts(
        b"tensorchain/validators/v1",
        &[&borsh::to_vec(&sorted).expect("borsh to vec")],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    Prevote,
    Precommit,
}

/// What a validator signs: a prevote or precommit for a block (or nil) at a height and round.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Vote {
    pub chain_id: String,
    pub height: u64,
    pub round: u32,
    pub kind: VoteKind,
    pub block_hash: Option<Hash>,
}

impl Vote {
    /// `blake3("tensorchain/vote/v2" ‖ genesis ‖ borsh(vote))`: valid on `domain`'s network only.
    pub fn signing_hash(&self, domain: &SigningDomain) -> Hash {
        domain.digest(VOTE_DOMAIN, self)
    }

    pub fn sign(&self, key: &Keypair, domain: &SigningDomain) -> Signature {
        key.sign(self.signing_hash(domain).as_bytes())
    }
}

/// Evidence of equivocation: two votes by one validator for the same height, round and kind but
/// different blocks, both validly signed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct DoubleSign {
    pub validator: AccountId,
    pub first: Vote,
    pub first_signature: Signature,
    pub second: Vote,
    pub second_signature: Signature,
}

impl DoubleSign {
    /// Checks that the two votes really conflict on `domain`'s chain and that both signatures
    /// verify there: votes signed on another network (even one with the same chain id) are not
    /// evidence here.
    pub fn check(&self, domain: &SigningDomain) -> Result<(), EvidenceError> {
        let (a, b) = (&self.first, &self.second);
        if a.chain_id != domain.chain_id || b.chain_id != domain.chain_id {
            return Err(EvidenceError::OtherChain);
        }
        if (a.height, a.round, a.kind) != (b.height, b.round, b.kind) {
            return Err(EvidenceError::NoConflict);
        }
        if a.block_hash == b.block_hash {
            return Err(EvidenceError::SameBlock);
        }
        for (vote, sig) in [(a, &self.first_signature), (b, &self.second_signature)] {
            self.validator
                .verify(vote.signing_hash(domain).as_bytes(), sig)
                .map_err(|source| EvidenceError::Signature {
                    genesis: domain.genesis,
                    source,
                })?;
        }
        Ok(())
    }
}

/// Why a `DoubleSign` is not evidence.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvidenceError {
    #[error("votes are for another chain")]
    OtherChain,
    #[error("votes are for different heights, rounds or kinds")]
    NoConflict,
    #[error("votes are for the same block")]
    SameBlock,
    #[error("signature does not verify on this network (genesis {genesis}): {source}")]
    Signature {
        genesis: Hash,
        #[source]
        source: SignatureError,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct CommitSig {
    pub validator: AccountId,
    pub signature: Signature,
}

/// Precommits for one block from more than 2/3 of the voting power: proof that it is final.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Commit {
    pub height: u64,
    pub round: u32,
    pub block_hash: Hash,
    pub signatures: Vec<CommitSig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommitError {
    #[error("signer {0} is not in the validator set")]
    UnknownValidator(AccountId),
    #[error("validator {0} signed twice")]
    DuplicateSigner(AccountId),
    #[error("signature of {0} does not verify")]
    BadSignature(AccountId),
    #[error("signed power {signed} of {total} is not more than two thirds")]
    InsufficientPower { signed: u128, total: u128 },
}

impl Commit {
    /// The vote every signature of the certificate signs.
    pub fn precommit(&self, domain: &SigningDomain) -> Vote {
        Vote {
            chain_id: domain.chain_id.clone(),
            height: self.height,
            round: self.round,
            kind: VoteKind::Precommit,
            block_hash: Some(self.block_hash),
        }
    }

    pub fn hash(&self) -> Hash {
        Hash::digest(&borsh::to_vec(self).expect("borsh to vec"))
    }

    /// A certificate for `block` signed by `keys` in round 0 (tests, benchmarks and tools that
    /// hold the whole validator set's keys).
    pub fn signed_by(block: &Block, domain: &SigningDomain, keys: &[&Keypair]) -> Commit {
        let mut commit = Commit {
            height: block.header.height,
            round: 0,
            block_hash: block.hash(),
            signatures: vec![],
        };
        let vote = commit.precommit(domain);
        commit.signatures = keys
            .iter()
            .map(|k| CommitSig {
                validator: k.account(),
                signature: vote.sign(k, domain),
            })
            .collect();
        commit
    }

    /// Checks every signature strictly (for `domain`'s network) and that the signers hold more
    /// than 2/3 of `validators`' power.
    pub fn verify(
        &self,
        domain: &SigningDomain,
        validators: &[Validator],
    ) -> Result<(), CommitError> {
        let message = self.precommit(domain).signing_hash(domain);
        let total: u128 = validators.iter().map(|v| v.power as u128).sum();
        let mut seen = BTreeSet::new();
        let mut signed: u128 = 0;
        for sig in &self.signatures {
            let v = validators
                .iter()
                .find(|v| v.hotkey == sig.validator)
                .ok_or(CommitError::UnknownValidator(sig.validator))?;
            if !seen.insert(sig.validator) {
                return Err(CommitError::DuplicateSigner(sig.validator));
            }
            sig.validator
                .verify(message.as_bytes(), &sig.signature)
                .map_err(|_| CommitError::BadSignature(sig.validator))?;
            signed += v.power as u128;
        }
        if signed * 3 <= total * 2 {
            return Err(CommitError::InsufficientPower { signed, total });
        }
        Ok(())
    }
}

/// Binary merkle root with leaf/node domain tags; the empty list has root zero.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::ZERO;
    }
    let mut level: Vec<Hash> = leaves
        .iter()
        .map(|l| Hash::digest_parts(&[0], &[l.as_bytes()]))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => Hash::digest_parts(&[1], &[a.as_bytes(), b.as_bytes()]),
                [a] => *a,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_net() -> SigningDomain {
        SigningDomain::new("test", Hash::digest(b"genesis"))
    }

    fn set(keys: &[&Keypair], power: u64) -> Vec<Validator> {
        keys.iter()
            .map(|k| Validator {
                hotkey: k.account(),
                power,
            })
            .collect()
    }

    fn commit_by(keys: &[&Keypair], block_hash: Hash) -> Commit {
        let mut c = Commit {
            height: 3,
            round: 0,
            block_hash,
            signatures: vec![],
        };
        let vote = c.precommit(&test_net());
        c.signatures = keys
            .iter()
            .map(|k| CommitSig {
                validator: k.account(),
                signature: vote.sign(k, &test_net()),
            })
            .collect();
        c
    }

    #[test]
    fn commit_needs_more_than_two_thirds() {
        let ks: Vec<Keypair> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| Keypair::dev(n))
            .collect();
        let refs: Vec<&Keypair> = ks.iter().collect();
        let vals = set(&refs, 10);
        let h = Hash::digest(b"block");
        assert!(commit_by(&refs[..3], h).verify(&test_net(), &vals).is_ok());
        assert!(matches!(
            commit_by(&refs[..2], h).verify(&test_net(), &vals),
            Err(CommitError::InsufficientPower { .. })
        ));
        let mut dup = commit_by(&refs[..3], h);
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            dup.verify(&test_net(), &vals),
            Err(CommitError::DuplicateSigner(_))
        ));
        let mut wrong_chain = commit_by(&refs[..3], h);
        let other = SigningDomain::new("other", test_net().genesis);
        wrong_chain.signatures[0].signature = wrong_chain.precommit(&other).sign(&ks[0], &other);
        assert!(matches!(
            wrong_chain.verify(&test_net(), &vals),
            Err(CommitError::BadSignature(_))
        ));
    }

    #[test]
    fn commit_power_boundary_is_strictly_above_two_thirds_with_unequal_powers() {
        let ks: Vec<Keypair> = ["a", "b", "c"].iter().map(|n| Keypair::dev(n)).collect();
        let refs: Vec<&Keypair> = ks.iter().collect();
        // Powers 4, 1, 1 (total 6): a alone holds exactly 2/3, which is not enough; a and b hold
        // 5/6, which is; b and c hold 1/3.
        let mut vals = set(&refs, 1);
        vals[0].power = 4;
        let h = Hash::digest(b"block");
        assert!(matches!(
            commit_by(&refs[..1], h).verify(&test_net(), &vals),
            Err(CommitError::InsufficientPower {
                signed: 4,
                total: 6
            })
        ));
        assert!(commit_by(&refs[..2], h).verify(&test_net(), &vals).is_ok());
        assert!(matches!(
            commit_by(&refs[1..], h).verify(&test_net(), &vals),
            Err(CommitError::InsufficientPower {
                signed: 2,
                total: 6
            })
        ));
        // Powers 2, 1 (total 3): 2/3 exactly fails, everything passes.
        let pair = vec![vals[0].clone(), vals[1].clone()];
        let mut pair = pair;
        pair[0].power = 2;
        assert!(commit_by(&refs[..1], h).verify(&test_net(), &pair).is_err());
        assert!(commit_by(&refs[..2], h).verify(&test_net(), &pair).is_ok());
        // A signer outside the set, and a repeated signer, are named.
        let stranger = Keypair::dev("stranger");
        let mut outsider = commit_by(&refs[..2], h);
        outsider.signatures.push(CommitSig {
            validator: stranger.account(),
            signature: outsider.precommit(&test_net()).sign(&stranger, &test_net()),
        });
        assert_eq!(
            outsider.verify(&test_net(), &vals),
            Err(CommitError::UnknownValidator(stranger.account()))
        );
        let mut dup = commit_by(&refs[1..], h);
        dup.signatures.push(dup.signatures[0].clone());
        assert_eq!(
            dup.verify(&test_net(), &vals),
            Err(CommitError::DuplicateSigner(ks[1].account())),
            "a repeated signer counts once, and is refused before its power is added"
        );
    }

    /// Finding 11 of the Byzantine-peers review: a certificate (and any vote) signed on one
    /// network must not verify on another with the same chain id but another genesis.
    #[test]
    fn finding_11_a_commit_signed_for_another_genesis_does_not_verify() {
        let ks: Vec<Keypair> = ["a", "b", "c"].iter().map(|n| Keypair::dev(n)).collect();
        let refs: Vec<&Keypair> = ks.iter().collect();
        let vals = set(&refs, 10);
        let block = Block {
            header: Header {
                chain_id: "test".into(),
                height: 3,
                time_ms: 0,
                parent_hash: Hash::ZERO,
                tx_root: Hash::ZERO,
                state_root: Hash::ZERO,
                proposer: ks[0].account(),
                validator_set_hash: Hash::ZERO,
                next_validator_set_hash: Hash::ZERO,
                last_commit_hash: Hash::ZERO,
            },
            txs: vec![],
            last_commit: None,
        };
        let network_a = SigningDomain::new("test", Hash::digest(b"genesis a"));
        let network_b = SigningDomain::new("test", Hash::digest(b"genesis b"));
        let commit = Commit::signed_by(&block, &network_a, &refs);
        assert_eq!(commit.verify(&network_a, &vals), Ok(()));
        assert_eq!(
            commit.verify(&network_b, &vals),
            Err(CommitError::BadSignature(ks[0].account()))
        );
    }

    /// The signed bytes of a vote, pinned: `"tensorchain/vote/v2"` ‖ genesis (32 raw bytes, not
    /// sent) ‖ borsh(vote).
    #[test]
    fn the_vote_signing_hash_is_pinned() {
        let vote = Vote {
            chain_id: "tc".into(),
            height: 5,
            round: 1,
            kind: VoteKind::Precommit,
            block_hash: Some(Hash([0xcc; 32])),
        };
        let d = SigningDomain::new("tc", Hash([0xdd; 32]));
        let preimage = [
            hex::encode(b"tensorchain/vote/v2"),
            "dd".repeat(32),
            "02000000".into(),
            "7463".into(),
            "0500000000000000".into(),
            "01000000".into(),
            "01".into(),
            "01".into(),
            "cc".repeat(32),
        ]
        .concat();
        assert_eq!(
            vote.signing_hash(&d),
            Hash::digest(&hex::decode(preimage).unwrap())
        );
        assert_eq!(
            vote.signing_hash(&d).to_hex(),
            "0xa36d50d3007495424fdb0bcf7770e5b81eb4f5efbdbef97c41b3300a4970a23e"
        );
    }

    #[test]
    fn merkle_root_depends_on_order_and_content() {
        let a = Hash::digest(b"a");
        let b = Hash::digest(b"b");
        assert_eq!(merkle_root(&[]), Hash::ZERO);
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]));
        assert_ne!(merkle_root(&[a]), a);
        assert_ne!(merkle_root(&[a, b, a]), merkle_root(&[a, b]));
    }
}
