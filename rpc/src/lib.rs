//! The REST API: axum routes under `/v1`, generated OpenAPI at `/openapi.json`, a docs page,
//! Prometheus metrics at `/metrics` and server-sent events at `/v1/events`.

pub mod api;
pub mod error;
pub mod extract;
pub mod limits;
pub mod metrics;
mod openapi;
pub mod routes;
pub mod views;

pub use api::{BlockEvent, NetworkInfo, NodeApi, PeerView, SubmitError, TxStatus};
pub use error::ApiError;
pub use metrics::Metrics;

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use limits::BadRequestLimiter;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Largest request body accepted; a signed transaction is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Bad (4xx) requests one client may send per window before it is answered `rate_limited`.
const MAX_BAD_REQUESTS: u32 = 300;
const BAD_REQUEST_WINDOW: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct AppState {
    pub api: Arc<dyn NodeApi>,
    pub metrics: Arc<Metrics>,
    limiter: Arc<BadRequestLimiter>,
}

pub fn router(api: Arc<dyn NodeApi>, metrics: Arc<Metrics>) -> Router {
    let state = AppState {
        api,
        metrics,
        limiter: Arc::new(BadRequestLimiter::new(BAD_REQUEST_WINDOW, MAX_BAD_REQUESTS)),
    };
    Router::new()
        .route("/v1/node/health", get(routes::node::health))
        .route("/v1/node/version", get(routes::node::version))
        .route("/v1/node/identity", get(routes::node::identity))
        .route("/v1/node/syncing", get(routes::node::syncing))
        .route("/v1/node/peers", get(routes::node::peers))
        .route("/v1/validators", get(routes::validators::list))
        .route("/v1/chain", get(routes::chain::chain))
        .route("/v1/supply", get(routes::chain::supply))
        .route("/v1/blocks", get(routes::blocks::list))
        .route("/v1/blocks/{id}", get(routes::blocks::get))
        .route("/v1/txs", post(routes::txs::submit))
        .route("/v1/txs/simulate", post(routes::txs::simulate))
        .route("/v1/txs/{hash}", get(routes::txs::status))
        .route("/v1/accounts/{addr}", get(routes::accounts::get))
        .route("/v1/accounts/{addr}/stakes", get(routes::accounts::stakes))
        .route("/v1/hotkeys", get(routes::accounts::hotkeys))
        .route("/v1/hotkeys/{hk}", get(routes::accounts::hotkey))
        .route("/v1/subnets", get(routes::subnets::list))
        .route(
            "/v1/subnets/registration-cost",
            get(routes::subnets::lock_cost),
        )
        .route("/v1/subnets/{netuid}", get(routes::subnets::get))
        .route(
            "/v1/subnets/{netuid}/hyperparameters",
            get(routes::subnets::hyperparameters),
        )
        .route(
            "/v1/subnets/{netuid}/registration-cost",
            get(routes::subnets::burn_cost),
        )
        .route(
            "/v1/subnets/{netuid}/metagraph",
            get(routes::subnets::metagraph),
        )
        .route(
            "/v1/subnets/{netuid}/neurons/{uid}",
            get(routes::subnets::neuron),
        )
        .route(
            "/v1/subnets/{netuid}/weights",
            get(routes::subnets::weights),
        )
        .route("/v1/subnets/{netuid}/bonds", get(routes::subnets::bonds))
        .route("/v1/subnets/{netuid}/epochs", get(routes::subnets::epochs))
        .route("/v1/root", get(routes::subnets::root))
        .route("/v1/events", get(routes::events::events))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs_page))
        .route("/metrics", get(metrics_page))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Serves the API until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Bounds bad requests per client and records HTTP metrics.
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(retry_after) = st.limiter.blocked_for(client) {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many bad requests from this client",
            "fix the requests the API rejected, then retry",
        )
        .with_details(serde_json::json!({ "retry_after_secs": retry_after }))
        .into_response();
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status();
    if status.is_client_error() {
        st.limiter.record_bad(client);
    }
    st.metrics.observe_http(
        metrics::HttpLabels {
            route,
            method,
            status: status.as_u16(),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "route_not_found",
        "no such route; see /openapi.json or /docs",
    )
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi::spec())
}

async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

async fn metrics_page(State(st): State<AppState>) -> Response {
    let ledger = st.api.ledger();
    let head = ledger.head().height as i64;
    st.metrics.best_height.set(head);
    st.metrics.finalized_height.set(head);
    st.metrics.mempool_size.set(st.api.mempool_len() as i64);
    st.metrics.peers.set(st.api.network().peers.len() as i64);
    if let Ok(g) = ledger.globals() {
        st.metrics.total_issuance.set(g.total_issuance as i64);
    }
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}
