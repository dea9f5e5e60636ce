//! The node: opens the chain in its data dir, joins the peer-to-peer network, runs the consensus
//! engine (as a validator, or following as a full node) and serves the REST API. Each concern is
//! one task; shutdown is a watch channel every task listens to.

use crate::engine::{Engine, EngineConfig};
use crate::mempool::Mempool;
use crate::supervisor::Supervisor;
use anyhow::Context;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tensorchain_consensus::Timeouts;
use tensorchain_genesis::ChainSpec;
use tensorchain_ledger::rocks::RocksStore;
use tensorchain_ledger::{BuiltBlock, ExecutedBlock, Ledger, TxError};
use tensorchain_network::{Multiaddr, NetworkConfig, NetworkHandle};
use tensorchain_primitives::{AccountId, Commit, Hash, Keypair, SignedTx};
use tensorchain_rpc::{BlockEvent, Metrics, NetworkInfo, NodeApi, PeerView, SubmitError, TxStatus};
use tokio::sync::{broadcast, watch};

const MAX_MEMPOOL: usize = 20_000;
const MAX_PENDING_PER_SIGNER: usize = 256;
const MAX_BLOCK_TXS: usize = 5_000;
/// Failed-transaction statuses remembered for `GET /v1/txs/{hash}`.
const MAX_REMEMBERED_FAILURES: usize = 10_000;

pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub spec: ChainSpec,
    pub rpc_addr: SocketAddr,
    /// Where the peer-to-peer transport listens, e.g. `/ip4/127.0.0.1/tcp/30333`.
    pub p2p_addr: Multiaddr,
    /// Peers to join through, each ending in `/p2p/<peer id>`; redialed while the node runs.
    pub bootnodes: Vec<Multiaddr>,
    /// Present on a validator: the hotkey that signs its votes and proposals.
    pub validator_key: Option<Keypair>,
    /// The REST API's limits (rates, streams, CORS, timeout).
    pub rpc: tensorchain_rpc::RpcConfig,
}

/// What the engine reports for the REST API.
#[derive(Default)]
struct Progress {
    best_peer_height: u64,
    height: u64,
    round: u32,
    /// Which core task ended, once one has.
    failure: Option<String>,
}

pub struct Node {
    ledger: Arc<Ledger>,
    mempool: Mutex<Mempool>,
    failures: Mutex<(HashMap<Hash, TxStatus>, VecDeque<Hash>)>,
    events: broadcast::Sender<BlockEvent>,
    metrics: Arc<Metrics>,
    net: OnceLock<NetworkHandle>,
    validator: Option<AccountId>,
    progress: Mutex<Progress>,
}

impl NodeApi for Node {
    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn submit_tx(&self, tx: SignedTx) -> Result<Hash, SubmitError> {
        let bytes = self.net.get().map(|_| borsh::to_vec(&tx).expect("borsh"));
        let hash = self.admit(tx)?;
        if let (Some(net), Some(bytes)) = (self.net.get(), bytes) {
            net.publish_tx(bytes);
        }
        Ok(hash)
    }

    fn local_tx_status(&self, hash: &Hash) -> Option<TxStatus> {
        if self.mempool.lock().expect("mempool lock").contains(hash) {
            return Some(TxStatus::Pending);
        }
        self.failures
            .lock()
            .expect("failures lock")
            .0
            .get(hash)
            .cloned()
    }

    fn next_nonce(&self, account: &AccountId) -> u64 {
        let committed = self
            .ledger
            .account(account)
            .ok()
            .flatten()
            .map_or(0, |a| a.nonce);
        committed
            + self
                .mempool
                .lock()
                .expect("mempool lock")
                .pending_for(account) as u64
    }

    fn mempool_len(&self) -> usize {
        self.mempool.lock().expect("mempool lock").len()
    }

    fn subscribe(&self) -> broadcast::Receiver<BlockEvent> {
        self.events.subscribe()
    }

    fn network(&self) -> NetworkInfo {
        let progress = self.progress.lock().expect("progress lock");
        let mut info = NetworkInfo {
            role: if self.validator.is_some() {
                "validator"
            } else {
                "full"
            }
            .into(),
            validator: self.validator,
            best_peer_height: progress.best_peer_height,
            consensus_height: progress.height,
            consensus_round: progress.round,
            failure: progress.failure.clone(),
            ..NetworkInfo::default()
        };
        if let Some(net) = self.net.get() {
            info.peer_id = net.local_peer_id().to_string();
            info.listen_addrs = net.listen_addrs().iter().map(|a| a.to_string()).collect();
            info.peers = net
                .peers()
                .into_iter()
                .map(|p| PeerView {
                    peer_id: p.peer_id.to_string(),
                    addr: p.addr.map(|a| a.to_string()),
                    agent: p.agent,
                    direction: if p.outbound { "outbound" } else { "inbound" }.into(),
                })
                .collect();
        }
        info
    }
}

impl Node {
    pub fn new(ledger: Arc<Ledger>, metrics: Arc<Metrics>, validator: Option<AccountId>) -> Node {
        let (events, _) = broadcast::channel(1024);
        Node {
            ledger,
            mempool: Mutex::new(Mempool::new(MAX_MEMPOOL, MAX_PENDING_PER_SIGNER)),
            failures: Mutex::new((HashMap::new(), VecDeque::new())),
            events,
            metrics,
            net: OnceLock::new(),
            validator,
            progress: Mutex::new(Progress::default()),
        }
    }

    /// Queues a transaction without gossiping it (it came from the network, which forwards it).
    pub fn admit(&self, tx: SignedTx) -> Result<Hash, SubmitError> {
        let mut pool = self.mempool.lock().expect("mempool lock");
        pool.admit(tx, &self.ledger)
    }

    pub(crate) fn set_round(&self, height: u64, round: u32) {
        let mut p = self.progress.lock().expect("progress lock");
        (p.height, p.round) = (height, round);
    }

    fn set_failure(&self, reason: String) {
        self.progress.lock().expect("progress lock").failure = Some(reason);
    }

    pub(crate) fn set_best_peer_height(&self, height: u64) {
        self.progress
            .lock()
            .expect("progress lock")
            .best_peer_height = height;
    }

    fn remember_failure(&self, hash: Hash, code: &str, message: String) {
        let mut guard = self.failures.lock().expect("failures lock");
        let (map, order) = &mut *guard;
        if map
            .insert(
                hash,
                TxStatus::Failed {
                    code: code.to_string(),
                    message,
                },
            )
            .is_none()
        {
            order.push_back(hash);
        }
        while order.len() > MAX_REMEMBERED_FAILURES {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// Builds the next block from the mempool, proposed by `proposer`.
    pub fn build_block(&self, proposer: AccountId, time_ms: u64) -> anyhow::Result<BuiltBlock> {
        let head = self.ledger.head();
        let candidates = self
            .mempool
            .lock()
            .expect("mempool lock")
            .candidates(MAX_BLOCK_TXS);
        let last_commit = self.ledger.commit(head.height)?;
        Ok(self
            .ledger
            .build_block(candidates, proposer, time_ms, last_commit)?)
    }

    /// Stores a finalized block with its commit certificate (`synced`: fsynced before returning),
    /// then updates the mempool, the transaction statuses, the metrics and the event stream.
    pub fn commit_block(
        &self,
        executed: ExecutedBlock,
        commit: &Commit,
        rejected: &[(Hash, TxError)],
        synced: bool,
    ) -> anyhow::Result<()> {
        let block = executed.block.clone();
        let parent_time = self.ledger.head().time_ms;
        self.ledger.commit_block_durably(executed, commit, synced)?;

        let mut done: Vec<Hash> = block.txs.iter().map(|t| t.hash()).collect();
        for (hash, err) in rejected {
            self.remember_failure(*hash, err.code(), err.to_string());
            done.push(*hash);
        }
        let orphaned = self
            .mempool
            .lock()
            .expect("mempool lock")
            .prune(&done, &self.ledger);
        for hash in orphaned {
            self.remember_failure(
                hash,
                "dropped",
                "an earlier transaction of its signer failed, leaving a nonce gap".into(),
            );
        }
        self.metrics.observe_block_interval(
            block.header.time_ms.saturating_sub(parent_time) as f64 / 1000.0,
        );
        // A bulk sync logs one line per run (the engine does), not one per block.
        if synced {
            tracing::info!(
                height = block.header.height,
                hash = %block.hash(),
                txs = block.txs.len(),
                round = commit.round,
                "block committed"
            );
        }
        self.metrics
            .consensus_extra_rounds
            .inc_by(commit.round as u64);
        let subscribed = self.events.receiver_count() > 0;
        if let Some(event) = subscribed
            .then(|| BlockEvent::of_block(&self.ledger, block.header.height))
            .transpose()?
            .flatten()
        {
            let _ = self.events.send(event);
        }
        Ok(())
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A started node; dropping it does not stop it, `shutdown` does.
pub struct RunningNode {
    pub node: Arc<Node>,
    pub rpc_addr: SocketAddr,
    /// Listen addresses ending in `/p2p/<peer id>`: what other nodes pass as `--bootnode`.
    pub p2p_addrs: Vec<Multiaddr>,
    pub peer_id: String,
    shutdown: watch::Sender<bool>,
    tasks: Supervisor,
}

impl RunningNode {
    /// Stops consensus and networking, lets in-flight requests finish, and waits for every task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.tasks.join_all().await;
    }

    /// Resolves when a core task ends before shutdown (it returned, panicked or was cancelled):
    /// health turns 503 with the reason, which is returned for the caller to log and exit on, so
    /// that a supervisor (systemd, the devnet launcher) restarts the node.
    pub async fn failed(&mut self) -> String {
        let reason = self.tasks.first_end().await;
        self.node.set_failure(reason.clone());
        reason
    }

    pub fn node_height(&self) -> u64 {
        self.node.ledger().head().height
    }
}

/// Consensus timeouts for a block time: short ones for fast (devnet) chains.
fn timeouts(block_time_ms: u64) -> Timeouts {
    if block_time_ms <= 2_000 {
        Timeouts::fast()
    } else {
        Timeouts::standard()
    }
}

pub async fn start(config: NodeConfig) -> anyhow::Result<RunningNode> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let db_path = config.data_dir.join("db");
    let store =
        RocksStore::open(&db_path).with_context(|| format!("opening {}", db_path.display()))?;
    let ledger = Arc::new(Ledger::open(Arc::new(store), &config.spec.genesis_state())?);
    let head = ledger.head();
    tracing::info!(height = head.height, hash = %head.hash, chain = %ledger.params().chain_id, "chain opened");

    let metrics = Arc::new(Metrics::new());
    let validator = config.validator_key.as_ref().map(|k| k.account());
    let node = Arc::new(Node::new(ledger.clone(), metrics.clone(), validator));
    let (shutdown, shutdown_rx) = watch::channel(false);

    let node_key = tensorchain_network::load_or_create_key(&config.data_dir.join("node_key"))
        .context("loading the node key")?;
    let (net, events, net_task) = tensorchain_network::start(
        NetworkConfig {
            chain_id: ledger.params().chain_id.clone(),
            key: node_key,
            listen: config.p2p_addr.clone(),
            bootnodes: config.bootnodes.clone(),
            agent: format!("tensorchain/{}", env!("CARGO_PKG_VERSION")),
            peer_sharing: Default::default(),
            private_peers: vec![],
        },
        shutdown_rx.clone(),
    )
    .await?;
    let _ = node.net.set(net.clone());
    let p2p_addrs = net.listen_addrs();
    let peer_id = net.local_peer_id().to_string();
    tracing::info!(%peer_id, addrs = ?p2p_addrs, "p2p listening");

    let listener = tokio::net::TcpListener::bind(config.rpc_addr)
        .await
        .with_context(|| format!("binding the REST API to {}", config.rpc_addr))?;
    let rpc_addr = listener.local_addr()?;
    let router = tensorchain_rpc::router_with(node.clone(), metrics, &config.rpc)?;
    let mut rx = shutdown_rx.clone();
    let mut tasks = Supervisor::default();
    tasks.adopt("network", net_task);
    tasks.spawn("REST server", async move {
        let stop = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let Err(e) = tensorchain_rpc::serve(listener, router, stop).await {
            tracing::error!(error = %e, "REST server failed");
        }
    });

    if let Some(v) = validator {
        if !ledger.validators()?.iter().any(|x| x.hotkey == v) {
            tracing::warn!(validator = %v, "this hotkey is not in the current validator set; following until it is");
        }
    }
    let net_for_sync = net.clone();
    let engine = Engine::new(
        node.clone(),
        net,
        EngineConfig {
            key: config.validator_key,
            timeouts: timeouts(ledger.params().block_time_ms),
            consensus_dir: config.data_dir.join("consensus"),
        },
    )?;
    tasks.spawn(
        "sync server",
        crate::sync_server::run(
            ledger.clone(),
            net_for_sync,
            events.sync,
            shutdown_rx.clone(),
        ),
    );
    tasks.spawn(
        "consensus engine",
        engine.run(events.consensus, events.tx, shutdown_rx),
    );
    Ok(RunningNode {
        node,
        rpc_addr,
        p2p_addrs,
        peer_id,
        shutdown,
        tasks,
    })
}
