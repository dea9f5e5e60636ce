//! The node: opens the chain in its data dir, serves the REST API, and (as a validator) builds a
//! block every `block_time_ms` from the mempool. Each concern is one task; shutdown is a watch
//! channel every task listens to.

use crate::mempool::Mempool;
use crate::producer::Finalizer;
use anyhow::Context;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tensorchain_genesis::ChainSpec;
use tensorchain_ledger::rocks::RocksStore;
use tensorchain_ledger::Ledger;
use tensorchain_primitives::{AccountId, Hash, SignedTx};
use tensorchain_rpc::{BlockEvent, Metrics, NodeApi, SubmitError, TxStatus};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

const MAX_MEMPOOL: usize = 20_000;
const MAX_PENDING_PER_SIGNER: usize = 256;
const MAX_BLOCK_TXS: usize = 5_000;
/// Failed-transaction statuses remembered for `GET /v1/txs/{hash}`.
const MAX_REMEMBERED_FAILURES: usize = 10_000;

pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub spec: ChainSpec,
    pub rpc_addr: SocketAddr,
    /// Present on a validator: how its blocks are finalized.
    pub finalizer: Option<Arc<dyn Finalizer>>,
}

pub struct Node {
    ledger: Arc<Ledger>,
    mempool: Mutex<Mempool>,
    failures: Mutex<(HashMap<Hash, TxStatus>, VecDeque<Hash>)>,
    events: broadcast::Sender<BlockEvent>,
    metrics: Arc<Metrics>,
}

impl NodeApi for Node {
    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn submit_tx(&self, tx: SignedTx) -> Result<Hash, SubmitError> {
        let mut pool = self.mempool.lock().expect("mempool lock");
        pool.admit(tx, &self.ledger)
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
}

impl Node {
    pub fn new(ledger: Arc<Ledger>, metrics: Arc<Metrics>) -> Node {
        let (events, _) = broadcast::channel(1024);
        Node {
            ledger,
            mempool: Mutex::new(Mempool::new(MAX_MEMPOOL, MAX_PENDING_PER_SIGNER)),
            failures: Mutex::new((HashMap::new(), VecDeque::new())),
            events,
            metrics,
        }
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

    /// Builds, finalizes and commits one block on top of the head.
    pub fn produce_block(&self, finalizer: &dyn Finalizer) -> anyhow::Result<()> {
        let head = self.ledger.head();
        let candidates = self
            .mempool
            .lock()
            .expect("mempool lock")
            .candidates(MAX_BLOCK_TXS);
        let last_commit = self.ledger.commit(head.height)?;
        let time_ms = now_ms().max(head.time_ms + 1);
        let built =
            self.ledger
                .build_block(candidates, finalizer.proposer(), time_ms, last_commit)?;
        let Some(commit) = finalizer.finalize(&self.ledger, &built.executed.block) else {
            anyhow::bail!("block {} was not finalized", head.height + 1);
        };
        let block = built.executed.block.clone();
        self.ledger.commit_block(built.executed, &commit)?;

        let tx_hashes: Vec<Hash> = block.txs.iter().map(|t| t.hash()).collect();
        let mut done = tx_hashes.clone();
        for (hash, err) in &built.rejected {
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
        self.metrics
            .observe_block_interval((block.header.time_ms - head.time_ms) as f64 / 1000.0);
        tracing::info!(
            height = block.header.height,
            hash = %block.hash(),
            txs = block.txs.len(),
            rejected = built.rejected.len(),
            "block committed"
        );
        if let Some(event) = BlockEvent::of_block(&self.ledger, block.header.height)? {
            let _ = self.events.send(event);
        }
        Ok(())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A started node; dropping it does not stop it, `shutdown` does.
pub struct RunningNode {
    pub node: Arc<Node>,
    pub rpc_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningNode {
    /// Stops producing, lets in-flight requests finish, and waits for every task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
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
    let node = Arc::new(Node::new(ledger.clone(), metrics.clone()));
    let (shutdown, shutdown_rx) = watch::channel(false);

    let listener = tokio::net::TcpListener::bind(config.rpc_addr)
        .await
        .with_context(|| format!("binding the REST API to {}", config.rpc_addr))?;
    let rpc_addr = listener.local_addr()?;
    let router = tensorchain_rpc::router(node.clone(), metrics);
    let mut rx = shutdown_rx.clone();
    let rpc_task = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let Err(e) = tensorchain_rpc::serve(listener, router, stop).await {
            tracing::error!(error = %e, "REST server failed");
        }
    });
    let mut tasks = vec![rpc_task];

    if let Some(finalizer) = config.finalizer {
        let validators = ledger.validators()?;
        anyhow::ensure!(
            validators.iter().any(|v| v.hotkey == finalizer.proposer()),
            "validator key {} is not in the chain's validator set",
            finalizer.proposer()
        );
        tasks.push(tokio::spawn(produce_loop(
            node.clone(),
            finalizer,
            shutdown_rx,
        )));
    }
    Ok(RunningNode {
        node,
        rpc_addr,
        shutdown,
        tasks,
    })
}

/// One block per `block_time_ms`, timed from the parent's timestamp.
async fn produce_loop(
    node: Arc<Node>,
    finalizer: Arc<dyn Finalizer>,
    mut shutdown: watch::Receiver<bool>,
) {
    let block_time = node.ledger.params().block_time_ms;
    loop {
        let due = node.ledger.head().time_ms + block_time;
        let wait = Duration::from_millis(due.saturating_sub(now_ms()));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let n = node.clone();
        let f = finalizer.clone();
        // Block building does blocking storage I/O; keep it off the async workers.
        let result = tokio::task::spawn_blocking(move || n.produce_block(f.as_ref())).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "block production failed; halting production");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "block production panicked; halting production");
                return;
            }
        }
    }
}

impl RunningNode {
    pub fn node_height(&self) -> u64 {
        self.node.ledger().head().height
    }
}
