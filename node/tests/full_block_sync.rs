//! Block sync of FULL blocks over real libp2p on 127.0.0.1, RocksDB on both sides (issue 12): a
//! chain whose blocks are filled to `MAX_BLOCK_BYTES` with transfers (~25,000 each, the block
//! byte limit binding, not the transaction count) is served by one node, and a fresh node joins
//! by bootnode and syncs it to the same block hashes and the same state root. A sync response
//! carries at most `MAX_SYNC_RESPONSE_BYTES` (32 MiB, 7 such blocks), so the chain spans two.

use std::time::{Duration, Instant};
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec};
use tensorchain_primitives::{AccountId, SignedTx, MAX_BLOCK_BYTES};
use tensorchain_rpc::NodeApi;

mod common;
use common::loopback;

const BLOCKS: u64 = 8;

/// Writes `BLOCKS` blocks, each as full as the byte limit allows, finalized by alice.
fn build_full_chain(dir: &std::path::Path, spec: &ChainSpec) {
    let ledger = loopback::open_chain(dir, spec);
    let alice = dev_hotkey("alice");
    let payer = dev_coldkey("alice");
    let recipients: Vec<AccountId> = ["bob", "charlie", "dave", "eve", "ferdie"]
        .iter()
        .map(|n| dev_coldkey(n).account())
        .collect();
    let mut nonce = 0u64;
    for height in 1..=BLOCKS {
        // Enough transfers to overflow a block: building stops at the byte limit.
        let txs: Vec<SignedTx> = (0..27_000u64)
            .map(|i| {
                let to = recipients[(i % 5) as usize];
                loopback::transfer(&ledger, &payer, nonce + i, to, 1 + i % 7)
            })
            .collect();
        let block = loopback::append_block(&ledger, txs, &alice, height == BLOCKS);
        assert!(
            block.encoded_len() > MAX_BLOCK_BYTES - 512,
            "block {height} is {} bytes: not full",
            block.encoded_len()
        );
        nonce += block.txs.len() as u64;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_syncs_full_blocks_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::devnet(1, loopback::now_ms() - (BLOCKS + 10) * 1000);
    let started = Instant::now();
    tokio::task::block_in_place(|| build_full_chain(&dir.path().join("source"), &spec));
    let built_in = started.elapsed();

    let (source, fresh) = loopback::source_and_fresh(dir.path(), &spec).await;
    let t0 = Instant::now();
    while fresh.node_height() < BLOCKS {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "sync stalled at {} of {BLOCKS}",
            fresh.node_height()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let synced_in = t0.elapsed();
    let (a, b) = (source.node.ledger(), fresh.node.ledger());
    let mut bytes = 0;
    let mut txs = 0;
    for h in 1..=BLOCKS {
        let ours = a.block(h).unwrap().unwrap().block;
        let theirs = b.block(h).unwrap().unwrap().block;
        assert_eq!(ours.hash(), theirs.hash(), "block {h}");
        bytes += theirs.encoded_len();
        txs += theirs.txs.len();
    }
    assert_eq!(a.state_root().unwrap(), b.state_root().unwrap());
    eprintln!(
        "{BLOCKS} full blocks ({txs} txs, {:.1} MiB) built in {:.1} s, synced in {:.1} s",
        bytes as f64 / (1 << 20) as f64,
        built_in.as_secs_f64(),
        synced_in.as_secs_f64()
    );
    fresh.shutdown().await;
    source.shutdown().await;
}
