//! A borsh `Block` → the checks a proposal's block passes (body against header, size) and its
//! execution against the head of the shared chain (parent commit verified against the validator
//! set, every transaction applied, the header checked against the result). Then the block's
//! transactions, proposer, time and commit go through block building on the same head.
//! Invariant: a block the ledger built, it re-executes.

use crate::fixture::chain;
use borsh::BorshDeserialize;
use tensorchain_primitives::Block;

pub fn run(data: &[u8]) {
    let Ok(block) = Block::try_from_slice(data) else {
        return;
    };
    let _ = block.body_matches_header();
    let _ = block.encoded_len();
    let ledger = &chain().0;
    let _ = ledger.execute_block(&block);
    let Ok(built) = ledger.build_block(
        block.txs,
        block.header.proposer,
        block.header.time_ms,
        block.last_commit,
    ) else {
        return;
    };
    if let Err(e) = ledger.execute_block(&built.executed.block) {
        // Blocks built by a proposer that is not a validator, or on a commit that is not the
        // parent's, are refused: the proposer and the commit come from the input.
        let refused = e.to_string();
        assert!(
            refused.contains("not a validator") || refused.contains("commit"),
            "a block this ledger built does not re-execute: {refused}"
        );
    }
}
