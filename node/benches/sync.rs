//! Block sync over real libp2p on 127.0.0.1: a node holding a chain of `SYNC_BLOCKS` (default
//! 10,000) blocks serves it; a fresh node joins by bootnode and syncs to its head. Prints blocks/s.
//! Run: `cargo bench -p tensorchain-node --bench sync`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tensorchain_genesis::{dev_hotkey, ChainSpec};
use tensorchain_ledger::storage::rocks::RocksStore;
use tensorchain_ledger::Ledger;
use tensorchain_node::NodeConfig;
use tensorchain_primitives::Commit;
use tensorchain_rpc::NodeApi;

/// Writes a chain of `blocks` empty blocks finalized by the devnet's single validator.
fn build_chain(dir: &std::path::Path, spec: &ChainSpec, blocks: u64) {
    let store = RocksStore::open(&dir.join("db")).unwrap();
    let ledger = Ledger::open(Arc::new(store), &spec.genesis_state()).unwrap();
    let alice = dev_hotkey("alice");
    for i in 1..=blocks {
        let head = ledger.head();
        let built = ledger
            .build_block(
                vec![],
                alice.account(),
                head.time_ms + spec.block_time_ms,
                ledger.commit(head.height).unwrap(),
            )
            .unwrap();
        let block = &built.executed.block;
        let commit = Commit::signed_by(block, ledger.signing_domain(), &[&alice]);
        let synced = i == blocks;
        ledger
            .commit_block_durably(built.executed, &commit, synced)
            .unwrap();
    }
}

fn config(
    dir: &std::path::Path,
    spec: &ChainSpec,
    bootnodes: Vec<tensorchain_node::Multiaddr>,
) -> NodeConfig {
    NodeConfig {
        data_dir: dir.to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        peer_sharing: Default::default(),
        private_peers: vec![],
        state_history: None,
        p2p_addr: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        bootnodes,
        validator_key: None,
        rpc: Default::default(),
    }
}

fn main() {
    let blocks: u64 = std::env::var("SYNC_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let spec = ChainSpec::devnet(1, now - (blocks + 10) * 1000);
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
        let source = tensorchain_node::start(config(&dir.path().join("source"), &spec, vec![]))
            .await
            .unwrap();
        let fresh = tensorchain_node::start(config(
            &dir.path().join("fresh"),
            &spec,
            source.p2p_addrs.clone(),
        ))
        .await
        .unwrap();
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
