//! The REST API: axum routes under `/v1`, generated OpenAPI at `/openapi.json`, a docs page,
//! Prometheus metrics at `/metrics`, server-sent events at `/v1/events` and the block explorer
//! at `/explorer/` (built on those routes alone).

pub mod api;
pub mod config;
pub mod error;
pub mod explorer;
pub mod extract;
pub mod hints;
pub mod limits;
pub mod metrics;
mod openapi;
mod openapi_shapes;
pub mod routes;
pub mod views;

pub use api::{
    BlockEvent, GossipDrops, NetworkInfo, NodeApi, PeerView, SubmitError, TxFate, TxStatus,
};
pub use config::RpcConfig;
pub use error::ApiError;
pub use metrics::Metrics;

use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use limits::{RateLimited, RateLimits, StreamSlots};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted; a signed transaction is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// State reads running at once on the blocking pool: enough to keep both cores of a small
/// machine busy with RocksDB reads while leaving most of tokio's 512 blocking threads to the
/// node's own work.
pub const MAX_CONCURRENT_READS: usize = 32;

#[derive(Clone)]
pub struct AppState {
    pub api: Arc<dyn NodeApi>,
    pub metrics: Arc<Metrics>,
    limits: Arc<RateLimits>,
    streams: Arc<StreamSlots>,
    /// Transactions of REST batches under verification, in all and per client.
    verifying: Arc<StreamSlots>,
    reads: Arc<Semaphore>,
}

/// The client's address, as the guard saw it, for handlers that charge more once they know
/// what a request costs (`POST /v1/txs/batch`).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// Transactions one client may have under verification at once (one full batch): the node's
/// shared verify queue holds 8,192, so one client cannot fill it.
pub const MAX_VERIFYING_PER_CLIENT: usize = 1_024;
/// Transactions of REST batches under verification at once, from every client (the node's own
/// bound, `overloaded` beyond it, is the same).
const MAX_VERIFYING_REST: usize = 8_192;

/// A configuration the router cannot be built with.
#[derive(Debug, thiserror::Error)]
#[error("invalid --rpc-cors origin '{0}': use a full origin such as https://example.org, or *")]
pub struct BadCorsOrigin(pub String);

/// The API with the default limits (see `RpcConfig`).
pub fn router(api: Arc<dyn NodeApi>, metrics: Arc<Metrics>) -> Router {
    router_with(api, metrics, &RpcConfig::default()).expect("the default config is valid")
}

pub fn router_with(
    api: Arc<dyn NodeApi>,
    metrics: Arc<Metrics>,
    config: &RpcConfig,
) -> Result<Router, BadCorsOrigin> {
    let cors = cors_layer(&config.cors_origins)?;
    let state = AppState {
        api,
        metrics,
        limits: Arc::new(RateLimits::new(config)),
        streams: Arc::new(StreamSlots::new(
            config.max_streams,
            config.max_streams_per_client,
        )),
        verifying: Arc::new(StreamSlots::new(
            MAX_VERIFYING_REST,
            MAX_VERIFYING_PER_CLIENT,
        )),
        reads: Arc::new(Semaphore::new(MAX_CONCURRENT_READS)),
    };
    Ok(routes()
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Inner to the guard, so a timed-out request is still counted and answered in our shape;
        // it bounds the time to the response's head, not an event stream's body.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        // Outside the guard, so browsers can read a 429 too.
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .with_state(state))
}

fn routes() -> Router<AppState> {
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
        .route(
            "/v1/txs/batch",
            post(routes::txs::batch)
                .layer(DefaultBodyLimit::max(routes::txs::MAX_BATCH_BODY_BYTES)),
        )
        .route("/v1/txs/{hash}", get(routes::txs::status))
        .route("/v1/accounts/{addr}", get(routes::accounts::get))
        .route("/v1/accounts/{addr}/stakes", get(routes::accounts::stakes))
        .route("/v1/accounts/{addr}/txs", get(routes::accounts::txs))
        .route("/v1/hotkeys", get(routes::accounts::hotkeys))
        .route("/v1/hotkeys/{hk}", get(routes::accounts::hotkey))
        .route(
            "/v1/hotkeys/{hk}/nominators",
            get(routes::accounts::nominators),
        )
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
        .merge(explorer::routes())
}

impl RpcConfig {
    /// Checks what `router_with` would refuse, so a launcher can report it before starting.
    pub fn validate(&self) -> Result<(), BadCorsOrigin> {
        cors_layer(&self.cors_origins).map(|_| ())
    }
}

/// No origins: no CORS headers (browsers refuse cross-origin reads); `*`: any origin.
fn cors_layer(origins: &[String]) -> Result<CorsLayer, BadCorsOrigin> {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| HeaderValue::from_str(o).map_err(|_| BadCorsOrigin(o.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(list)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::RETRY_AFTER]))
}

/// How long a stopping server lets open connections finish. Requests end within milliseconds,
/// but an event stream never ends by itself: without a bound, one subscriber (a metagraph sync, a
/// `curl -N`) held the node's shutdown until its supervisor killed it.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves the API until `shutdown` resolves, then gives open connections `SHUTDOWN_GRACE`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use std::future::IntoFuture;
    let (stopping, mut stopped) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping.send(true);
    })
    .into_future();
    tokio::select! {
        result = server => result,
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    }
}

/// The client's address; a request without one was made in-process (tests) and counts as local.
pub(crate) fn client_ip(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip())
}

/// Charges each request to the rate limits and records it in the HTTP metrics, under labels
/// from fixed sets only.
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let client = client_ip(&parts.extensions);
    parts.extensions.insert(ClientIp(client));
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = metrics::method_label(&parts.method);
    let started = Instant::now();
    let response = match st.limits.check(client, limits::route_cost(&route)) {
        Err(refused) => {
            st.metrics.observe_rate_limited(refused.scope);
            rate_limited(refused).into_response()
        }
        Ok(()) => {
            let response = next.run(Request::from_parts(parts, body)).await;
            if response.status() == StatusCode::REQUEST_TIMEOUT {
                timed_out()
            } else {
                response
            }
        }
    };
    st.metrics.observe_http(
        metrics::HttpLabels {
            route,
            method,
            status: metrics::status_label(response.status()),
        },
        started.elapsed().as_secs_f64(),
    );
    response
}

pub(crate) fn rate_limited(refused: RateLimited) -> ApiError {
    let secs = refused.retry_after_secs;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!(
            "over the {} request budget; retry in {secs} s",
            refused.scope
        ),
        "slow down; heavy routes (metagraph, lists, events) cost more, see docs/api-limits.md",
    )
    .with_details(serde_json::json!({ "retry_after_secs": secs, "scope": refused.scope }))
    .with_retry_after(secs)
}

fn timed_out() -> Response {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request took longer than the node's request timeout",
        "retry later, or ask for a smaller page",
    )
    .into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "route_not_found",
        "no such route; see /openapi.json or /docs",
    )
}

async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(openapi::document())
}

async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}

async fn metrics_page(State(st): State<AppState>) -> Response {
    let api = st.api.clone();
    // The issuance gauge reads RocksDB: on the blocking pool like every other state read.
    let issuance = tokio::task::spawn_blocking(move || api.ledger().globals().ok())
        .await
        .ok()
        .flatten();
    if let Some(g) = issuance {
        st.metrics.total_issuance.set(g.total_issuance as i64);
    }
    let head = st.api.ledger().head().height as i64;
    st.metrics.best_height.set(head);
    st.metrics.finalized_height.set(head);
    st.metrics.mempool_size.set(st.api.mempool_len() as i64);
    let network = st.api.network();
    st.metrics.peers.set(network.peers.len() as i64);
    st.metrics.set_tx_gossip_dropped(&network.tx_gossip_dropped);
    st.metrics.streams_open.set(st.streams.open() as i64);
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}
