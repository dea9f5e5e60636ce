//! What travels on the gossip topics, and the checks a message passes before it is an input.

use borsh::{BorshDeserialize, BorshSerialize};
use tensorchain_consensus::{Message, SignedProposal, SignedVote};
use tensorchain_primitives::{Block, SignatureError, SigningDomain};

/// Why a consensus gossip message was refused (its sender is scored down for it).
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("undecodable: {0}")]
    Undecodable(#[source] std::io::Error),
    #[error("proposal for another chain")]
    ProposalChain,
    #[error("proposal (signed for another network?): {0}")]
    ProposalSignature(#[source] SignatureError),
    #[error("the block is not the proposed value")]
    NotTheProposedBlock,
    #[error("the block's body is not the one its header commits to")]
    BodyMismatch,
    #[error("vote for another chain")]
    VoteChain,
    #[error("vote (signed for another network?): {0}")]
    VoteSignature(#[source] SignatureError),
}

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

    /// Decodes and checks what can be checked without state: the chain, the signature (made for
    /// this network: `domain`'s genesis), and that a proposal's block is the one it names.
    pub fn decode(bytes: &[u8], domain: &SigningDomain) -> Result<ConsensusWire, WireError> {
        let wire = ConsensusWire::try_from_slice(bytes).map_err(WireError::Undecodable)?;
        match &wire {
            ConsensusWire::Proposal { proposal, block } => {
                if proposal.proposal.chain_id != domain.chain_id {
                    return Err(WireError::ProposalChain);
                }
                proposal
                    .verify(domain)
                    .map_err(WireError::ProposalSignature)?;
                // The block's proposer may be another validator's: a round's proposer
                // re-proposes the value that already has a prevote quorum (Tendermint line 15),
                // a block built in an earlier round.
                if block.hash() != proposal.proposal.value
                    || block.header.height != proposal.proposal.height
                {
                    return Err(WireError::NotTheProposedBlock);
                }
                if !block.body_matches_header() {
                    return Err(WireError::BodyMismatch);
                }
            }
            ConsensusWire::Vote(v) => {
                if v.vote.chain_id != domain.chain_id {
                    return Err(WireError::VoteChain);
                }
                v.verify(domain).map_err(WireError::VoteSignature)?;
            }
        }
        Ok(wire)
    }

    /// A proposal's gossip bytes from its block's borsh encoding (which the proposer made once
    /// to save the block): what `encode` gives, without copying or encoding the block again.
    pub fn encode_proposal(proposal: &SignedProposal, block: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + block.len());
        out.push(0); // the `Proposal` variant
        proposal.serialize(&mut out).expect("borsh");
        out.extend_from_slice(block);
        out
    }

    pub fn message(&self) -> Message {
        match self {
            ConsensusWire::Proposal { proposal, .. } => Message::Proposal(proposal.clone()),
            ConsensusWire::Vote(v) => Message::Vote(v.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorchain_consensus::Proposal;
    use tensorchain_primitives::{merkle_root, Call, Commit, Hash, Header, Keypair, Tx};

    const CHAIN: &str = "wire-test";

    fn net() -> SigningDomain {
        SigningDomain::new(CHAIN, Hash::digest(b"genesis of wire-test"))
    }

    fn transfer(key: &Keypair, nonce: u64) -> tensorchain_primitives::SignedTx {
        Tx {
            chain_id: CHAIN.into(),
            signer: key.account(),
            nonce,
            fee: 0,
            call: Call::Transfer {
                to: Keypair::dev("bob").account(),
                amount: 1,
            },
        }
        .sign(key, &net())
    }

    /// A real proposal as an honest proposer gossips it: header committing to its body, signed.
    fn honest(proposer: &Keypair) -> (SignedProposal, Block) {
        let alice = Keypair::dev("alice");
        let txs = vec![transfer(&alice, 0), transfer(&alice, 1)];
        let parent = Block {
            header: Header {
                chain_id: CHAIN.into(),
                height: 1,
                time_ms: 1,
                parent_hash: Hash::ZERO,
                tx_root: Hash::ZERO,
                state_root: Hash::ZERO,
                proposer: proposer.account(),
                validator_set_hash: Hash::ZERO,
                next_validator_set_hash: Hash::ZERO,
                last_commit_hash: Hash::ZERO,
            },
            txs: vec![],
            last_commit: None,
        };
        let last_commit = Commit::signed_by(&parent, &net(), &[proposer]);
        let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
        let header = Header {
            height: 2,
            parent_hash: parent.hash(),
            tx_root: merkle_root(&hashes),
            last_commit_hash: last_commit.hash(),
            ..parent.header.clone()
        };
        let block = Block {
            header,
            txs,
            last_commit: Some(last_commit),
        };
        let proposal = SignedProposal::sign(
            Proposal {
                chain_id: CHAIN.into(),
                height: 2,
                round: 0,
                value: block.hash(),
                pol_round: None,
            },
            proposer,
            &net(),
        );
        (proposal, block)
    }

    fn gossip(proposal: SignedProposal, block: Block) -> Vec<u8> {
        ConsensusWire::Proposal {
            proposal,
            block: Box::new(block),
        }
        .encode()
    }

    #[test]
    fn a_proposal_encoded_from_block_bytes_is_the_usual_encoding() {
        let (proposal, block) = honest(&Keypair::dev("charlie"));
        let bytes = borsh::to_vec(&block).unwrap();
        assert_eq!(
            ConsensusWire::encode_proposal(&proposal, &bytes),
            gossip(proposal, block)
        );
    }

    /// Review of finding 1's fix: a round's proposer re-proposing an earlier round's block (its
    /// header names that round's proposer) was rejected, so with peer scoring on the honest
    /// re-proposer was graylisted and the height could stall.
    #[test]
    fn a_re_proposed_block_of_another_proposer_is_accepted() {
        let (proposal, block) = honest(&Keypair::dev("charlie"));
        let dave = Keypair::dev("dave");
        let again = SignedProposal::sign(
            Proposal {
                round: 1,
                pol_round: Some(0),
                ..proposal.proposal.clone()
            },
            &dave,
            &net(),
        );
        assert!(ConsensusWire::decode(&gossip(again, block), &net()).is_ok());
    }

    /// Finding 1 of the Byzantine-peers review: a peer without a key re-wrapped a real signed
    /// proposal around another body; nodes that saw that copy first judged the proposal invalid
    /// for the whole round. The altered copy must not decode, so it is never an input.
    #[test]
    fn finding_1_a_rewrapped_proposal_body_is_rejected() {
        let proposer = Keypair::dev("charlie");
        let (proposal, block) = honest(&proposer);
        assert!(ConsensusWire::decode(&gossip(proposal.clone(), block.clone()), &net()).is_ok());

        let mut fewer_txs = block.clone();
        fewer_txs.txs.pop();
        let mut other_tx = block.clone();
        other_tx.txs[1] = transfer(&Keypair::dev("alice"), 7);
        let mut reordered = block.clone();
        reordered.txs.swap(0, 1);
        let mut no_commit = block.clone();
        no_commit.last_commit = None;
        let mut other_commit = block.clone();
        other_commit.last_commit.as_mut().unwrap().round = 1;
        for altered in [fewer_txs, other_tx, reordered, no_commit, other_commit] {
            // (`other_commit` changes only the body: the header still names the honest one.)
            assert_eq!(altered.hash(), block.hash(), "the header is the honest one");
            let err =
                ConsensusWire::decode(&gossip(proposal.clone(), altered), &net()).unwrap_err();
            assert!(matches!(err, WireError::BodyMismatch), "{err}");
        }
    }

    /// Finding 11 of the Byzantine-peers review: a proposal or vote signed on another network
    /// that reuses this chain id must not decode here, so it is never an input, never relayed.
    #[test]
    fn finding_11_messages_signed_for_another_genesis_are_refused() {
        let relaunch = SigningDomain::new(CHAIN, Hash::digest(b"genesis of a relaunch"));
        let proposer = Keypair::dev("charlie");
        let (proposal, block) = honest(&proposer);
        let resigned = SignedProposal::sign(proposal.proposal.clone(), &proposer, &relaunch);
        let on_relaunch = gossip(resigned, block);
        assert!(ConsensusWire::decode(&on_relaunch, &relaunch).is_ok());
        let err = ConsensusWire::decode(&on_relaunch, &net()).unwrap_err();
        assert!(matches!(err, WireError::ProposalSignature(_)), "{err}");
        assert!(err.to_string().contains("another network"), "{err}");

        let vote = tensorchain_primitives::Vote {
            chain_id: CHAIN.into(),
            height: 2,
            round: 0,
            kind: tensorchain_primitives::VoteKind::Prevote,
            block_hash: None,
        };
        let on_relaunch =
            ConsensusWire::Vote(SignedVote::sign(vote, &proposer, &relaunch)).encode();
        assert!(ConsensusWire::decode(&on_relaunch, &relaunch).is_ok());
        let err = ConsensusWire::decode(&on_relaunch, &net()).unwrap_err();
        assert!(matches!(err, WireError::VoteSignature(_)), "{err}");
        assert!(err.to_string().contains("another network"), "{err}");
    }
}
