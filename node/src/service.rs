//! The node: opens the chain in its data dir, joins the peer-to-peer network, runs the consensus
//! engine (as a validator, or following as a full node) and serves the REST API. Each concern is
//! one task; shutdown is a watch channel every task listens to.

use crate::engine::{Engine, EngineConfig};
use crate::node::Node;
use crate::supervisor::Supervisor;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tensorchain_consensus::WalError;
use tensorchain_genesis::ChainSpec;
use tensorchain_ledger::storage::cached::CachedStore;
use tensorchain_ledger::storage::rocks::RocksStore;
use tensorchain_ledger::{Ledger, LedgerError, StoreError};
use tensorchain_network::{Multiaddr, NetworkConfig, NetworkError, PeerId, PeerSharing};
use tensorchain_primitives::Keypair;
use tensorchain_rpc::{Metrics, NodeApi};
use tokio::sync::watch;

/// Why a node did not start; the CLI shows it as `node_start_failed`.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("creating {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("opening {}: {source}", path.display())]
    OpenStore {
        path: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("reading the validator set: {0}")]
    Validators(#[source] StoreError),
    #[error("loading the node key: {0}")]
    NodeKey(#[source] std::io::Error),
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("binding the REST API to {addr}: {source}")]
    BindRest {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Cors(#[from] tensorchain_rpc::BadCorsOrigin),
    #[error("opening the consensus WAL: {0}")]
    Wal(#[source] WalError),
}

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
    /// What Kademlia discovery hands out and learns: a validator behind sentries turns it off;
    /// a sentry lists its validator in `private_peers`.
    pub peer_sharing: PeerSharing,
    pub private_peers: Vec<PeerId>,
    /// Heights of state kept readable (`?at=`) and provable; None keeps all (an archive node).
    pub state_history: Option<u64>,
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

pub async fn start(config: NodeConfig) -> Result<RunningNode, StartError> {
    create_dir(&config.data_dir)?;
    let db_path = config.data_dir.join("db");
    let store = RocksStore::open(&db_path).map_err(|source| StartError::OpenStore {
        path: db_path.clone(),
        source,
    })?;
    let ledger = Arc::new(
        Ledger::open(
            Arc::new(CachedStore::new(store)),
            &config.spec.genesis_state(),
        )?
        .with_state_history(config.state_history),
    );
    let head = ledger.head();
    tracing::info!(height = head.height, hash = %head.hash, chain = %ledger.params().chain_id, "chain opened");

    let metrics = Arc::new(Metrics::new());
    let validator = config.validator_key.as_ref().map(|k| k.account());
    let node = Arc::new(Node::new(ledger.clone(), metrics.clone(), validator));
    let (shutdown, shutdown_rx) = watch::channel(false);

    let node_key = tensorchain_network::load_or_create_key(&config.data_dir.join("node_key"))
        .map_err(StartError::NodeKey)?;
    let (net, events, net_task) = tensorchain_network::start(
        NetworkConfig {
            chain_id: ledger.params().chain_id.clone(),
            key: node_key,
            listen: config.p2p_addr.clone(),
            bootnodes: config.bootnodes.clone(),
            agent: format!("tensorchain/{}", env!("CARGO_PKG_VERSION")),
            peer_sharing: config.peer_sharing,
            private_peers: config.private_peers.clone(),
        },
        shutdown_rx.clone(),
    )
    .await?;
    let _ = node.net.set(net.clone());
    let p2p_addrs = net.listen_addrs();
    let peer_id = net.local_peer_id().to_string();
    tracing::info!(%peer_id, addrs = ?p2p_addrs, "p2p listening");

    let bind_error = |source| StartError::BindRest {
        addr: config.rpc_addr,
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.rpc_addr)
        .await
        .map_err(bind_error)?;
    let rpc_addr = listener.local_addr().map_err(bind_error)?;
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
        let set = ledger.validators().map_err(StartError::Validators)?;
        if !set.iter().any(|x| x.hotkey == v) {
            tracing::warn!(validator = %v, "this hotkey is not in the current validator set; following until it is");
        }
    }
    let net_for_sync = net.clone();
    let engine = Engine::new(
        node.clone(),
        net,
        EngineConfig {
            key: config.validator_key,
            timeouts: crate::machine::timeouts(ledger.params().block_time_ms),
            consensus_dir: config.data_dir.join("consensus"),
        },
    )?;
    tasks.spawn(
        "sync server",
        crate::sync_server::run(
            ledger.clone(),
            net_for_sync.clone(),
            events.sync,
            shutdown_rx.clone(),
        ),
    );
    // Gossiped transactions are admitted on a task of their own, never the engine's.
    tasks.spawn(
        "transaction intake",
        crate::intake::run(
            crate::intake::TxIntake::new(node.clone()),
            net_for_sync,
            events.tx,
            shutdown_rx.clone(),
        ),
    );
    tasks.spawn(
        "consensus engine",
        engine.run(events.consensus, shutdown_rx),
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

pub(crate) fn create_dir(path: &std::path::Path) -> Result<(), StartError> {
    std::fs::create_dir_all(path).map_err(|source| StartError::CreateDir {
        path: path.to_path_buf(),
        source,
    })
}
