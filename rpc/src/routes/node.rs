use super::envelope;
use crate::api::PeerView;
use crate::views::Envelope;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct HealthView {
    /// `ready`, `syncing` or `failed`.
    pub status: String,
    pub height: u64,
    /// Why the node failed (which core task ended), when `status` is `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub name: String,
    pub version: String,
    pub chain_id: String,
    pub genesis_hash: String,
}

/// Blocks behind the best peer before the node reports itself as syncing.
const SYNC_SLACK: u64 = 2;

/// 200 when the node serves the chain's head, 206 while it syncs from peers further ahead, 503
/// once a core task has died (the process is about to exit for its supervisor to restart it).
#[utoipa::path(get, path = "/v1/node/health", tag = "node",
    responses((status = 200, body = HealthView), (status = 206, body = HealthView, description = "syncing"),
        (status = 503, body = HealthView, description = "a core task died: `failed`, with the reason")))]
pub async fn health(State(st): State<AppState>) -> (StatusCode, Json<Envelope<HealthView>>) {
    let height = st.api.ledger().head().height;
    let net = st.api.network();
    let syncing = net.best_peer_height > height.saturating_add(SYNC_SLACK);
    let (code, status) = match (&net.failure, syncing) {
        (Some(_), _) => (StatusCode::SERVICE_UNAVAILABLE, "failed"),
        (None, true) => (StatusCode::PARTIAL_CONTENT, "syncing"),
        (None, false) => (StatusCode::OK, "ready"),
    };
    let body = envelope(
        &st,
        HealthView {
            status: status.into(),
            height,
            failure: net.failure,
        },
    );
    (code, body)
}

#[derive(Serialize, ToSchema)]
pub struct IdentityView {
    pub peer_id: String,
    /// Multiaddrs ending in `/p2p/<peer id>`: what other nodes pass as `--bootnode`.
    pub listen_addrs: Vec<String>,
    /// `validator` or `full`.
    pub role: String,
    /// The validator hotkey this node signs with, if any.
    pub validator: Option<String>,
    pub chain_id: String,
    pub genesis_hash: String,
}

/// Who this node is on the peer-to-peer network.
#[utoipa::path(get, path = "/v1/node/identity", tag = "node", responses((status = 200, body = IdentityView)))]
pub async fn identity(State(st): State<AppState>) -> Json<Envelope<IdentityView>> {
    let net = st.api.network();
    let ledger = st.api.ledger();
    envelope(
        &st,
        IdentityView {
            peer_id: net.peer_id,
            listen_addrs: net.listen_addrs,
            role: net.role,
            validator: net.validator.map(|v| v.to_ss58()),
            chain_id: ledger.params().chain_id.clone(),
            genesis_hash: ledger.genesis_hash().to_hex(),
        },
    )
}

#[derive(Serialize, ToSchema)]
pub struct SyncingView {
    pub syncing: bool,
    /// Highest committed height here (every committed block is final).
    pub head: u64,
    pub finalized: u64,
    /// Highest height a peer reported.
    pub best_peer_height: u64,
    /// How many blocks this node is behind its best peer.
    pub sync_distance: u64,
    /// The height and round consensus is working on.
    pub consensus_height: u64,
    pub consensus_round: u32,
    /// Transactions waiting in this node's mempool (load tools sample it for its trend).
    pub mempool: usize,
}

/// Head, finalized height and the distance to the best peer.
#[utoipa::path(get, path = "/v1/node/syncing", tag = "node", responses((status = 200, body = SyncingView)))]
pub async fn syncing(State(st): State<AppState>) -> Json<Envelope<SyncingView>> {
    let net = st.api.network();
    let head = st.api.ledger().head().height;
    let distance = net.best_peer_height.saturating_sub(head);
    envelope(
        &st,
        SyncingView {
            syncing: distance > SYNC_SLACK,
            head,
            finalized: head,
            best_peer_height: net.best_peer_height,
            sync_distance: distance,
            consensus_height: net.consensus_height,
            consensus_round: net.consensus_round,
            mempool: st.api.mempool_len(),
        },
    )
}

#[derive(Serialize, ToSchema)]
pub struct PeersView {
    pub count: usize,
    pub peers: Vec<PeerView>,
}

/// Connected peers.
#[utoipa::path(get, path = "/v1/node/peers", tag = "node", responses((status = 200, body = PeersView)))]
pub async fn peers(State(st): State<AppState>) -> Json<Envelope<PeersView>> {
    let peers = st.api.network().peers;
    envelope(
        &st,
        PeersView {
            count: peers.len(),
            peers,
        },
    )
}

#[utoipa::path(get, path = "/v1/node/version", tag = "node", responses((status = 200, body = VersionView)))]
pub async fn version(State(st): State<AppState>) -> Json<Envelope<VersionView>> {
    let ledger = st.api.ledger();
    envelope(
        &st,
        VersionView {
            name: "tensorchain".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            chain_id: ledger.params().chain_id.clone(),
            genesis_hash: ledger.genesis_hash().to_hex(),
        },
    )
}
