//! How a built block becomes final. The seam between block building and consensus: today a single
//! validator signs its own precommit; the BFT engine will drive the same seam with a quorum.

use tensorchain_ledger::Ledger;
use tensorchain_primitives::{AccountId, Block, Commit, CommitSig, Keypair};

pub trait Finalizer: Send + Sync + 'static {
    /// The validator whose hotkey proposes (and is paid fees for) the blocks this node builds.
    fn proposer(&self) -> AccountId;
    /// A commit certificate for `block`, or `None` if it could not be finalized.
    fn finalize(&self, ledger: &Ledger, block: &Block) -> Option<Commit>;
}

/// A validator set of one: its own precommit is more than two thirds of the power.
pub struct SoloFinalizer {
    key: Keypair,
}

impl SoloFinalizer {
    pub fn new(key: Keypair) -> SoloFinalizer {
        SoloFinalizer { key }
    }
}

impl Finalizer for SoloFinalizer {
    fn proposer(&self) -> AccountId {
        self.key.account()
    }

    fn finalize(&self, ledger: &Ledger, block: &Block) -> Option<Commit> {
        let mut commit = Commit {
            height: block.header.height,
            round: 0,
            block_hash: block.hash(),
            signatures: vec![],
        };
        let vote = commit.precommit(&ledger.params().chain_id);
        commit.signatures.push(CommitSig {
            validator: self.key.account(),
            signature: vote.sign(&self.key),
        });
        let validators = ledger.validators().ok()?;
        match commit.verify(&ledger.params().chain_id, &validators) {
            Ok(()) => Some(commit),
            Err(e) => {
                tracing::error!(error = %e, "own commit does not finalize: this node alone is not a quorum");
                None
            }
        }
    }
}
