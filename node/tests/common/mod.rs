//! The node the REST API tests drive: a real `Node` over an in-memory store on the devnet spec,
//! its router called in-process, and the helpers that make requests, sign and produce blocks.
//! `loopback`: nodes over real libp2p and RocksDB, for the network tests and the sync bench.
#![allow(dead_code, unused_imports)] // each test binary uses its own part

pub mod loopback;

pub use axum::body::Body;
pub use axum::http::{HeaderMap, Request, StatusCode};
pub use axum::Router;
pub use http_body_util::BodyExt;
pub use serde_json::{json, Value};
pub use std::sync::Arc;
pub use std::time::Duration;
pub use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec};
pub use tensorchain_ledger::{BlockLimits, GenesisState, Ledger, MemoryStore};
pub use tensorchain_node::Node;
pub use tensorchain_primitives::{AccountId, Call, Commit, Keypair, SignedTx, Tx};
pub use tensorchain_rpc::{Metrics, NodeApi};
pub use tower::ServiceExt;

pub struct TestNode {
    pub node: Arc<Node>,
    pub router: Router,
    pub validator: Keypair,
    pub spec: ChainSpec,
}

pub fn setup() -> TestNode {
    setup_with(|_| {})
}

/// As `setup`, with the devnet's genesis changed first (more accounts funded, say).
pub fn setup_with(change: impl FnOnce(&mut GenesisState)) -> TestNode {
    setup_keeping(None, change)
}

/// As `setup`, with each of `keys` funded with `amount` at genesis.
pub fn setup_funding(keys: &[Keypair], amount: u64) -> TestNode {
    setup_with(|g| {
        g.balances
            .extend(keys.iter().map(|k| (k.account(), amount)))
    })
}

/// As `setup_with`, keeping `state_history` heights of state (None: all).
pub fn setup_keeping(
    state_history: Option<u64>,
    change: impl FnOnce(&mut GenesisState),
) -> TestNode {
    let spec = ChainSpec::devnet(1, 1_000);
    let mut genesis = spec.genesis_state();
    change(&mut genesis);
    let ledger = Ledger::open(Arc::new(MemoryStore::new()), &genesis)
        .unwrap()
        .with_state_history(state_history);
    let ledger = Arc::new(ledger);
    let metrics = Arc::new(Metrics::new());
    let node = Arc::new(Node::new(ledger, metrics.clone(), None));
    let router = tensorchain_rpc::router(node.clone(), metrics);
    TestNode {
        node,
        router,
        validator: dev_hotkey("alice"),
        spec,
    }
}

impl TestNode {
    pub async fn request(&self, method: &str, uri: &str, body: Body) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body)
            .unwrap();
        let (status, _, v) = respond(&self.router, req).await;
        (status, v)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.request("GET", uri, Body::empty()).await
    }

    pub async fn post_tx(&self, stx: &SignedTx) -> (StatusCode, Value) {
        self.request("POST", "/v1/txs", Body::from(tx_body(stx)))
            .await
    }

    /// One block, finalized by the devnet's only validator signing its own precommit (the
    /// consensus engine is tested over real processes; here only the REST API is).
    pub fn produce(&self) {
        let head = self.node.ledger().head();
        let built = self
            .node
            .build_block(
                self.validator.account(),
                head.time_ms + 1_000,
                BlockLimits::default(),
            )
            .unwrap();
        let block = &built.executed.block;
        let domain = self.node.ledger().signing_domain();
        let commit = Commit::signed_by(block, domain, &[&self.validator]);
        self.node
            .commit_block(built.executed, &commit, &built.rejected, true)
            .unwrap();
    }

    /// `owner` (at `nonce`) creates the next subnet, run by `hotkey`, in a block of its own.
    pub fn create_subnet(&self, owner: &Keypair, nonce: u64, hotkey: AccountId) {
        let register = Call::RegisterSubnet {
            hotkey,
            max_cost: u64::MAX,
            identity: String::new(),
        };
        self.node
            .submit_tx(self.sign(owner, nonce, register))
            .unwrap();
        self.produce();
    }

    pub fn transfer(&self, from: &Keypair, to: AccountId, amount: u64, nonce: u64) -> SignedTx {
        self.sign(from, nonce, Call::Transfer { to, amount })
    }

    /// `call` signed by `key` with its fee on this chain.
    pub fn sign(&self, key: &Keypair, nonce: u64, call: Call) -> SignedTx {
        Tx {
            chain_id: self.spec.chain_id.clone(),
            signer: key.account(),
            nonce,
            fee: self.spec.fees.for_call(&call),
            call,
        }
        .sign(key, self.node.ledger().signing_domain())
    }

    /// What a client sees of an account: free, staked, nonce and next_nonce (which counts the
    /// signer's queued transactions).
    pub async fn account(&self, id: AccountId) -> Value {
        let (status, v) = self.get(&format!("/v1/accounts/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["data"].clone()
    }

    /// The node has never heard of this transaction: not queued, not included, not failed.
    pub async fn assert_unknown(&self, stx: &SignedTx) {
        let (status, v) = self.get(&format!("/v1/txs/{}", stx.hash())).await;
        assert_eq!(
            (status, code(&v)),
            (StatusCode::NOT_FOUND, "tx_not_found"),
            "{v}"
        );
    }
}

/// `router`'s answer to `req`: status, headers and the body as JSON (a string if it is not JSON;
/// null for an event stream, which is not read).
pub async fn respond(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let streaming = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streaming {
        return (status, headers, Value::Null);
    }
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, v)
}

/// The body of `POST /v1/txs` (and `/v1/txs/simulate`) carrying `stx`.
pub fn tx_body(stx: &SignedTx) -> String {
    json!({"tx": format!("0x{}", hex::encode(stx.to_bytes()))}).to_string()
}

pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<none>")
}
