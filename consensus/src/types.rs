//! Messages, inputs and effects of the consensus core.

use borsh::{BorshDeserialize, BorshSerialize};
use tensorchain_primitives::{
    AccountId, Hash, Keypair, Signature, SignatureError, SigningDomain, Vote, VoteKind,
};

/// A proposed value is identified by its hash (the block hash); the host holds the block itself.
pub type ValueId = Hash;

/// Domain of proposal signatures, apart from votes and transactions. v2 mixes the genesis hash in
/// (v1 covered the chain id only, so a proposal signed on one network verified on another that
/// reused the chain id).
const PROPOSAL_DOMAIN: &[u8] = b"tensorchain/proposal/v2";

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    pub chain_id: String,
    pub height: u64,
    pub round: u32,
    pub value: ValueId,
    /// The round in which `value` got a prevote quorum (the paper's validRound), if any.
    pub pol_round: Option<u32>,
}

impl Proposal {
    /// `blake3("tensorchain/proposal/v2" ‖ genesis ‖ borsh(proposal))`: valid on `domain`'s
    /// network only.
    pub fn signing_hash(&self, domain: &SigningDomain) -> Hash {
        domain.digest(PROPOSAL_DOMAIN, self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedProposal {
    pub proposal: Proposal,
    pub proposer: AccountId,
    pub signature: Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    pub vote: Vote,
    pub validator: AccountId,
    pub signature: Signature,
}

impl SignedProposal {
    pub fn sign(proposal: Proposal, key: &Keypair, domain: &SigningDomain) -> SignedProposal {
        let signature = key.sign(proposal.signing_hash(domain).as_bytes());
        SignedProposal {
            proposal,
            proposer: key.account(),
            signature,
        }
    }

    pub fn verify(&self, domain: &SigningDomain) -> Result<(), SignatureError> {
        self.proposer.verify(
            self.proposal.signing_hash(domain).as_bytes(),
            &self.signature,
        )
    }
}

impl SignedVote {
    pub fn sign(vote: Vote, key: &Keypair, domain: &SigningDomain) -> SignedVote {
        let signature = vote.sign(key, domain);
        SignedVote {
            vote,
            validator: key.account(),
            signature,
        }
    }

    pub fn verify(&self, domain: &SigningDomain) -> Result<(), SignatureError> {
        self.validator
            .verify(self.vote.signing_hash(domain).as_bytes(), &self.signature)
    }
}

/// What travels on the consensus topic. Signatures are checked by the host before a message
/// becomes an input; the core trusts its inputs.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Message {
    Proposal(SignedProposal),
    Vote(SignedVote),
}

impl Message {
    pub fn height(&self) -> u64 {
        match self {
            Message::Proposal(p) => p.proposal.height,
            Message::Vote(v) => v.vote.height,
        }
    }

    pub fn round(&self) -> u32 {
        match self {
            Message::Proposal(p) => p.proposal.round,
            Message::Vote(v) => v.vote.round,
        }
    }

    pub fn sender(&self) -> AccountId {
        match self {
            Message::Proposal(p) => p.proposer,
            Message::Vote(v) => v.validator,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub enum TimeoutKind {
    Propose,
    Prevote,
    Precommit,
    /// Re-publish this node's latest messages, so losses heal without a request protocol.
    Rebroadcast,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct Timeout {
    pub height: u64,
    pub round: u32,
    pub kind: TimeoutKind,
}

/// Two conflicting signed votes by one validator for the same height, round and type.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Evidence {
    pub first: SignedVote,
    pub second: SignedVote,
}

/// Which step of a round a signature is for; the sign guard orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub enum Step {
    Propose,
    Prevote,
    Precommit,
}

impl From<VoteKind> for Step {
    fn from(k: VoteKind) -> Step {
        match k {
            VoteKind::Prevote => Step::Prevote,
            VoteKind::Precommit => Step::Precommit,
        }
    }
}
