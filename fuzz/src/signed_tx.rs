//! Borsh `SignedTx`s (up to `MAX_TXS`, back to back) → the stateless checks and a dry run against
//! the head state, as the mempool admits them; then, re-signed by the dev key that owns their
//! signer with the right chain id and fee, executed in order in a block built on the shared chain.
//! Invariant: a block the ledger built, it re-executes to the same result.

use crate::fixture::{chain, dev_key, proposer, spec};
use borsh::BorshDeserialize;
use tensorchain_ledger::check_stateless;
use tensorchain_primitives::SignedTx;

const MAX_TXS: usize = 8;

pub fn run(data: &[u8]) {
    let mut rest = data;
    let mut txs = Vec::new();
    while !rest.is_empty() && txs.len() < MAX_TXS {
        match SignedTx::deserialize(&mut rest) {
            Ok(stx) => txs.push(stx),
            Err(_) => break,
        }
    }
    if txs.is_empty() {
        return;
    }
    let ledger = &chain().0;
    let (params, domain) = (ledger.params(), ledger.signing_domain());
    for stx in &txs {
        let _ = stx.hash();
        let _ = check_stateless(stx, params, domain);
        let _ = ledger.simulate(stx);
    }
    let resigned: Vec<SignedTx> = txs
        .into_iter()
        .filter_map(|stx| {
            let key = dev_key(&stx.tx.signer)?;
            let mut tx = stx.tx;
            tx.chain_id = params.chain_id.clone();
            tx.fee = params.fees.for_call(&tx.call);
            Some(tx.sign(&key, domain))
        })
        .collect();
    let head = ledger.head();
    let height = head.height + 1;
    let last_commit = ledger.commit(head.height).expect("store");
    let built = ledger
        .build_block(
            resigned,
            proposer(ledger, height),
            head.time_ms + spec().block_time_ms,
            last_commit,
        )
        .expect("building a block over the in-memory store");
    let again = ledger
        .execute_block(&built.executed.block)
        .expect("a block this ledger built re-executes");
    assert_eq!(
        again.block.header.state_root, built.executed.block.header.state_root,
        "re-execution reaches the built state root"
    );
}
