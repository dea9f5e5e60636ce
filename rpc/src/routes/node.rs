use super::envelope;
use crate::views::Envelope;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct HealthView {
    pub status: String,
    pub height: u64,
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub name: String,
    pub version: String,
    pub chain_id: String,
    pub genesis_hash: String,
}

/// 200 when the node serves the chain's head.
#[utoipa::path(get, path = "/v1/node/health", tag = "node",
    responses((status = 200, body = HealthView), (status = 503, description = "not ready")))]
pub async fn health(State(st): State<AppState>) -> (StatusCode, Json<Envelope<HealthView>>) {
    let height = st.api.ledger().head().height;
    let body = envelope(
        &st,
        HealthView {
            status: "ready".into(),
            height,
        },
    );
    (StatusCode::OK, body)
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
