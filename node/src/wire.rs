//! What travels on the gossip topics, and the checks a message passes before it is an input.

use borsh::{BorshDeserialize, BorshSerialize};
use tensorchain_consensus::{Message, SignedProposal, SignedVote};
use tensorchain_primitives::Block;

/// The consensus topic's payload. A proposal carries its block: the core only sees the hash.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub enum ConsensusWire {
    Proposal {
        proposal: SignedProposal,
        block: Box<Block>,
    },
    Vote(SignedVote),
}

impl ConsensusWire {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("borsh")
    }

    /// Decodes and checks what can be checked without state: the chain, the signature, and that
    /// a proposal's block is the one it names.
    pub fn decode(bytes: &[u8], chain_id: &str) -> Result<ConsensusWire, String> {
        let wire = ConsensusWire::try_from_slice(bytes).map_err(|e| format!("undecodable: {e}"))?;
        match &wire {
            ConsensusWire::Proposal { proposal, block } => {
                if proposal.proposal.chain_id != chain_id {
                    return Err("proposal for another chain".into());
                }
                proposal.verify().map_err(|e| format!("proposal: {e}"))?;
                if block.hash() != proposal.proposal.value
                    || block.header.height != proposal.proposal.height
                    || block.header.proposer != proposal.proposer
                {
                    return Err("the block is not the proposed value".into());
                }
            }
            ConsensusWire::Vote(v) => {
                if v.vote.chain_id != chain_id {
                    return Err("vote for another chain".into());
                }
                v.verify().map_err(|e| format!("vote: {e}"))?;
            }
        }
        Ok(wire)
    }

    pub fn message(&self) -> Message {
        match self {
            ConsensusWire::Proposal { proposal, .. } => Message::Proposal(proposal.clone()),
            ConsensusWire::Vote(v) => Message::Vote(v.clone()),
        }
    }
}
