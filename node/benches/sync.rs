//! Block sync over real libp2p on 127.0.0.1: a node holding a chain of `SYNC_BLOCKS` (default
//! 10,000) blocks serves it; a fresh node joins by bootnode and syncs to its head. Prints blocks/s.
//! Run: `cargo bench -p tensorchain-node --bench sync`.

use std::time::{Duration, Instant};
use tensorchain_genesis::{dev_hotkey, ChainSpec};
use tensorchain_rpc::NodeApi;

#[path = "../tests/common/loopback.rs"]
mod loopback;

/// Writes a chain of `blocks` empty blocks finalized by the devnet's single validator.
fn build_chain(dir: &std::path::Path, spec: &ChainSpec, blocks: u64) {
    let ledger = loopback::open_chain(dir, spec);
    let alice = dev_hotkey("alice");
    for i in 1..=blocks {
        loopback::append_block(&ledger, vec![], &alice, i == blocks);
    }
}

fn main() {
    let blocks: u64 = std::env::var("SYNC_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let spec = ChainSpec::devnet(1, loopback::now_ms() - (blocks + 10) * 1000);
    let started = Instant::now();
    build_chain(&dir.path().join("source"), &spec, blocks);
    eprintln!(
        "built {blocks} blocks in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (source, fresh) = loopback::source_and_fresh(dir.path(), &spec).await;
        let t0 = Instant::now();
        let mut last_report = Instant::now();
        while fresh.node.ledger().head().height < blocks {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if last_report.elapsed() > Duration::from_secs(1) {
                eprintln!("  synced {} / {blocks}", fresh.node.ledger().head().height);
                last_report = Instant::now();
            }
            assert!(t0.elapsed() < Duration::from_secs(600), "sync stalled");
        }
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(
            fresh.node.ledger().head().hash,
            source.node.ledger().head().hash
        );
        println!(
            "sync: {blocks} blocks in {secs:.2} s = {:.0} blocks/s (from join to head, over libp2p on 127.0.0.1)",
            blocks as f64 / secs
        );
        fresh.shutdown().await;
        source.shutdown().await;
    });
}
