//! Nodes over real libp2p and RocksDB on 127.0.0.1, for the network tests and the sync bench: the
//! node configuration, a bare network peer for attacks, and chains written straight to a store.
//! `benches/sync.rs` includes this file by its path: a bench cannot reach a test's modules, and
//! a public module of the node crate would ship test code.
#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tensorchain_genesis::ChainSpec;
use tensorchain_ledger::storage::rocks::RocksStore;
use tensorchain_ledger::Ledger;
use tensorchain_network::{Events, Multiaddr, NetworkConfig, NetworkHandle, NodeKey};
use tensorchain_node::{NodeConfig, RunningNode};
use tensorchain_primitives::{AccountId, Block, Call, Commit, Keypair, SignedTx, Tx};
use tokio::sync::watch;

/// Wall-clock ms since the epoch: a chain's genesis time (minus its blocks' span, for a chain
/// written ahead of its nodes, so that no block is in the future).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A full node on loopback with ports the OS picks, joining nobody, keeping all state; set
/// `bootnodes` and `validator_key` with struct update syntax.
pub fn config(data_dir: &Path, spec: &ChainSpec) -> NodeConfig {
    NodeConfig {
        data_dir: data_dir.to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        p2p_addr: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        bootnodes: vec![],
        validator_key: None,
        rpc: Default::default(),
        peer_sharing: Default::default(),
        private_peers: vec![],
        state_history: None,
    }
}

/// The chain a node started on `data_dir` runs on (RocksDB, `spec`'s genesis), opened to write
/// blocks ahead of the node; close it (drop) before starting the node.
pub fn open_chain(data_dir: &Path, spec: &ChainSpec) -> Ledger {
    let store = RocksStore::open(&data_dir.join("db")).unwrap();
    Ledger::open(Arc::new(store), &spec.genesis_state()).unwrap()
}

/// A node serving the chain in `dir/source` and a fresh node in `dir/fresh` that joins it by
/// bootnode to sync: (source, fresh).
pub async fn source_and_fresh(dir: &Path, spec: &ChainSpec) -> (RunningNode, RunningNode) {
    let source = tensorchain_node::start(config(&dir.join("source"), spec))
        .await
        .unwrap();
    let fresh = tensorchain_node::start(NodeConfig {
        bootnodes: source.p2p_addrs.clone(),
        ..config(&dir.join("fresh"), spec)
    })
    .await
    .unwrap();
    (source, fresh)
}

/// A bare network peer (no node behind it) that joins through `bootnodes` and publishes what a
/// test forges; it stops when dropped.
pub struct Attacker {
    pub net: NetworkHandle,
    _events: Events,
    _stop: watch::Sender<bool>,
}

pub async fn attacker(spec: &ChainSpec, bootnodes: Vec<Multiaddr>) -> Attacker {
    let (stop_tx, stop) = watch::channel(false);
    let (net, events, _) = tensorchain_network::start(
        NetworkConfig {
            chain_id: spec.chain_id.clone(),
            key: NodeKey::generate_ed25519(),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootnodes,
            agent: "attacker".into(),
            peer_sharing: Default::default(),
            private_peers: vec![],
        },
        stop,
    )
    .await
    .unwrap();
    Attacker {
        net,
        _events: events,
        _stop: stop_tx,
    }
}

/// A transfer signed by `from` with the chain's fee.
pub fn transfer(
    ledger: &Ledger,
    from: &Keypair,
    nonce: u64,
    to: AccountId,
    amount: u64,
) -> SignedTx {
    Tx {
        chain_id: ledger.params().chain_id.clone(),
        signer: from.account(),
        nonce,
        fee: ledger.params().fees.transfer,
        call: Call::Transfer { to, amount },
    }
    .sign(from, ledger.signing_domain())
}

/// Builds a block of `txs` on the head (the next `block_time_ms`), finalized by `validator`
/// alone, and stores it; `durable` waits for the disk (the last block of a run). Every
/// transaction must apply. Returns the block.
pub fn append_block(
    ledger: &Ledger,
    txs: Vec<SignedTx>,
    validator: &Keypair,
    durable: bool,
) -> Block {
    let head = ledger.head();
    let built = ledger
        .build_block(
            txs,
            validator.account(),
            head.time_ms + ledger.params().block_time_ms,
            ledger.commit(head.height).unwrap(),
        )
        .unwrap();
    assert!(built.rejected.is_empty(), "{:?}", built.rejected.first());
    let block = built.executed.block.clone();
    let commit = Commit::signed_by(&block, ledger.signing_domain(), &[validator]);
    ledger
        .commit_block_durably(built.executed, &commit, durable)
        .unwrap();
    block
}

/// Polls `done` every 100 ms without blocking the runtime; fails the test after `secs`.
pub async fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
