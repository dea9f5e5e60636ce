//! The axon: the HTTP server a miner runs. Each synapse is a route, `POST /synapse/<name>`, taking
//! the synapse as JSON and the caller's signature as headers (see [`crate::auth`]). A request is
//! answered only if, in this order, it is signed (`unsigned_request`), fresh (`stale_request`),
//! correctly signed for this axon (`bad_signature`), from a hotkey registered on the subnet
//! (`caller_not_registered`) with enough stake (`insufficient_stake`), within the caller's rate
//! (`rate_limited`), and not a replay (`replayed_request`). Every rejection is a JSON error with
//! a stable code, a message and a hint, and the handler never runs.

use crate::auth::RequestAuth;
use crate::error::{SdkError, SdkResult};
use crate::metagraph::MetagraphSync;
use crate::rest::Client;
use crate::{blocking, now_ms, Synapse};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::future::BoxFuture;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tensorchain_primitives::{AccountId, Call, Keypair};
use tokio::sync::Semaphore;

/// Requests being answered at once; more get `axon_busy` at once rather than queueing without
/// bound. A template miner answers in milliseconds, so this is far above what validators need.
pub const MAX_CONCURRENT_REQUESTS: usize = 64;
/// Requests one caller may have in flight at once: a validator's dendrite sends one query per
/// round, so 4 is plenty, and a rival miner holding slow requests open cannot take the
/// `MAX_CONCURRENT_REQUESTS` slots every validator shares.
pub const MAX_IN_FLIGHT_PER_CALLER: usize = 4;
/// Signed requests remembered for replay protection. A caller is registered and rate-limited,
/// so it adds at most `rate_per_sec · 2 · freshness` entries: 65,536 holds 270 callers at the
/// default 10/s over the default 12 s window. When full of unexpired entries the axon refuses
/// (`axon_busy`) rather than accept a request it could not check for replay.
pub const MAX_REPLAY_ENTRIES: usize = 65_536;

#[derive(Debug, Clone)]
pub struct AxonConfig {
    pub netuid: u16,
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
    /// The IP announced on chain (default: the bound IP).
    pub external_ip: Option<IpAddr>,
    /// A request's timestamp may be this far from the axon's clock, either way.
    pub freshness_ms: u64,
    /// Least stake (rao) behind a caller's hotkey; 0 lets every registered hotkey call.
    pub min_stake: u64,
    /// Requests per second one caller may make, with a burst of as many.
    pub rate_per_sec: u32,
    /// The largest request body.
    pub max_body_bytes: usize,
    /// The longest a handler may take before the caller gets `handler_timeout`.
    pub handler_timeout: Duration,
}

impl AxonConfig {
    pub fn new(netuid: u16) -> AxonConfig {
        AxonConfig {
            netuid,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            external_ip: None,
            freshness_ms: 12_000,
            min_stake: 0,
            rate_per_sec: 10,
            max_body_bytes: 64 * 1024,
            handler_timeout: Duration::from_secs(10),
        }
    }
}

/// Who called, as the metagraph knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub hotkey: AccountId,
    pub uid: u16,
    pub stake: u64,
    pub validator_permit: bool,
}

type Handler =
    Arc<dyn Fn(Caller, Bytes) -> BoxFuture<'static, Result<Vec<u8>, SdkError>> + Send + Sync>;

pub struct Axon {
    key: Keypair,
    config: AxonConfig,
    handlers: BTreeMap<&'static str, Handler>,
}

/// A running axon: where it listens; dropping it stops the server.
pub struct ServingAxon {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for ServingAxon {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Axon {
    pub fn new(key: Keypair, config: AxonConfig) -> Axon {
        Axon {
            key,
            config,
            handlers: BTreeMap::new(),
        }
    }

    /// Answers synapse `S` with `f`; its errors reach the caller as they are.
    pub fn attach<S, F, Fut>(mut self, f: F) -> Axon
    where
        S: Synapse,
        F: Fn(Caller, S) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S::Response, SdkError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let handler: Handler = Arc::new(move |caller, body: Bytes| {
            let f = f.clone();
            Box::pin(async move {
                let synapse: S = serde_json::from_slice(&body).map_err(|e| {
                    SdkError::new(
                        "bad_synapse",
                        format!("the body is not a {} synapse: {e}", S::NAME),
                        "send the synapse's JSON as the body",
                    )
                })?;
                let answer = f(caller, synapse).await?;
                Ok(serde_json::to_vec(&answer).expect("a synapse response serializes"))
            })
        });
        self.handlers.insert(S::NAME, handler);
        self
    }

    /// Serves (see [`Axon::serve`]) and announces the address on chain: `external_ip` (or the
    /// bound IP) and the bound port.
    pub async fn serve_and_announce(
        self,
        metagraph: MetagraphSync,
        client: &Client,
    ) -> SdkResult<ServingAxon> {
        let (key, netuid, ip) = (
            self.key.clone(),
            self.config.netuid,
            self.config.external_ip,
        );
        let serving = self.serve(metagraph).await?;
        let addr = SocketAddr::new(ip.unwrap_or(serving.addr.ip()), serving.addr.port());
        announce(client, &key, netuid, addr).await?;
        Ok(serving)
    }

    /// Listens (checking callers against `metagraph`) and serves until the result is dropped.
    pub async fn serve(self, metagraph: MetagraphSync) -> SdkResult<ServingAxon> {
        let listener = tokio::net::TcpListener::bind(self.config.bind)
            .await
            .map_err(|e| {
                SdkError::new(
                    "bind_failed",
                    format!("cannot listen on {}: {e}", self.config.bind),
                    "pick another port (0 picks a free one)",
                )
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| SdkError::new("bind_failed", e.to_string(), "pick another port"))?;
        let max_body = self.config.max_body_bytes;
        let inner = Arc::new(Inner {
            hotkey: self.key.account(),
            config: self.config,
            handlers: self.handlers,
            metagraph,
            guard: Mutex::new(Guard::default()),
            busy: Semaphore::new(MAX_CONCURRENT_REQUESTS),
            in_flight: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/synapse/{name}", post(handle))
            .layer(DefaultBodyLimit::max(max_body))
            .with_state(inner);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(ServingAxon {
            addr,
            stop: Some(stop),
        })
    }
}

/// `serve_axon` is rate limited per hotkey (`serving_rate_limit` blocks, 2 on a devnet, 50 on
/// mainnet); a restarted miner retries its announcement this many times, a second apart.
const ANNOUNCE_ATTEMPTS: u32 = 60;

/// Announces an axon address on chain (`serve_axon`, signed by the miner's hotkey) and waits for
/// it to land, retrying while the chain answers with a transient named error
/// (`serving_rate_limited`, a busy mempool, …); an unregistered hotkey fails at once.
pub async fn announce(
    client: &Client,
    key: &Keypair,
    netuid: u16,
    addr: SocketAddr,
) -> SdkResult<u64> {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    let mut last = None;
    for _ in 0..ANNOUNCE_ATTEMPTS {
        let (client, key) = (client.clone(), key.clone());
        let call = Call::ServeAxon {
            netuid,
            ip,
            port: addr.port(),
            protocol: 4,
        };
        match blocking(move || client.send(&key, call, Duration::from_secs(60))).await {
            Ok(block) => return Ok(block),
            Err(e) if e.code == "hotkey_not_registered" => return Err(e),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(last.expect("at least one attempt"))
}

struct Inner {
    hotkey: AccountId,
    config: AxonConfig,
    handlers: BTreeMap<&'static str, Handler>,
    metagraph: MetagraphSync,
    guard: Mutex<Guard>,
    busy: Semaphore,
    /// Requests in flight per caller (entries removed at zero, so at most
    /// `MAX_CONCURRENT_REQUESTS` of them).
    in_flight: Mutex<HashMap<AccountId, usize>>,
}

/// One caller's request in flight, counted until dropped.
struct InFlight<'a> {
    inner: &'a Inner,
    caller: AccountId,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut map = self
            .inner
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.caller);
            }
        }
    }
}

impl Inner {
    /// Counts a request of `caller`, or None when it already has `MAX_IN_FLIGHT_PER_CALLER`.
    fn start(&self, caller: AccountId) -> Option<InFlight<'_>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(caller).or_default();
        if *n >= MAX_IN_FLIGHT_PER_CALLER {
            return None;
        }
        *n += 1;
        Some(InFlight {
            inner: self,
            caller,
        })
    }
}

/// Per-caller rate buckets and the replay cache, behind one lock (held for microseconds).
#[derive(Default)]
struct Guard {
    /// Caller → (tokens, when last refilled, ms). Only registered callers get here, so it holds
    /// at most one entry per uid of the subnet (4096 at most) plus callers since deregistered,
    /// which `retain` drops once they are no longer in the metagraph.
    buckets: HashMap<AccountId, (f64, u64)>,
    seen: HashSet<(AccountId, u64)>,
    /// (expiry ms, caller, nonce) in insertion order: the oldest expire first.
    expiry: VecDeque<(u64, AccountId, u64)>,
}

/// A refused request: its status and the error body the caller gets.
struct Rejection {
    status: StatusCode,
    code: String,
    message: String,
    hint: String,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "hint": self.hint}});
        (self.status, Json(body)).into_response()
    }
}

fn reject(status: StatusCode, code: &str, message: String, hint: &str) -> Rejection {
    Rejection {
        status,
        code: code.to_string(),
        message,
        hint: hint.to_string(),
    }
}

async fn handle(
    State(st): State<Arc<Inner>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(_permit) = st.busy.try_acquire() else {
        return reject(
            StatusCode::SERVICE_UNAVAILABLE,
            "axon_busy",
            format!("the axon is answering {MAX_CONCURRENT_REQUESTS} requests already"),
            "retry in a moment",
        )
        .into_response();
    };
    let caller = match check(&st, &name, &headers, &body) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let Some(_in_flight) = st.start(caller.hotkey) else {
        return reject(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_in_flight",
            format!(
                "uid {} has {MAX_IN_FLIGHT_PER_CALLER} requests in flight already",
                caller.uid
            ),
            "wait for an answer before sending more",
        )
        .into_response();
    };
    let Some(handler) = st.handlers.get(name.as_str()) else {
        let known: Vec<&str> = st.handlers.keys().copied().collect();
        return reject(
            StatusCode::NOT_FOUND,
            "unknown_synapse",
            format!("this axon does not answer '{name}'"),
            &format!("it answers: {}", known.join(", ")),
        )
        .into_response();
    };
    match tokio::time::timeout(st.config.handler_timeout, handler(caller, body)).await {
        Ok(Ok(bytes)) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => {
            let status = if e.code == "bad_synapse" {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            reject(status, &e.code, e.message, &e.hint).into_response()
        }
        Err(_) => reject(
            StatusCode::GATEWAY_TIMEOUT,
            "handler_timeout",
            format!(
                "the miner did not answer within {} ms",
                st.config.handler_timeout.as_millis()
            ),
            "ask again later or with a smaller request",
        )
        .into_response(),
    }
}

/// The checks of the module doc, in order; the caller if all pass.
fn check(st: &Inner, name: &str, headers: &HeaderMap, body: &[u8]) -> Result<Caller, Rejection> {
    let auth = RequestAuth::from_headers(|h| headers.get(h).and_then(|v| v.to_str().ok()));
    let Some(auth) = auth else {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "unsigned_request",
            "the request lacks a valid hotkey, timestamp, nonce or signature header".into(),
            "send it with a Dendrite, which signs with your hotkey",
        ));
    };
    let now = now_ms();
    let window = st.config.freshness_ms;
    if auth.timestamp_ms.abs_diff(now) > window {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "stale_request",
            format!(
                "the request's timestamp is {} ms from the axon's clock (at most {window} ms)",
                auth.timestamp_ms.abs_diff(now)
            ),
            "sign each request when sending it, and keep your clock in sync (NTP)",
        ));
    }
    if !auth.verify(&st.hotkey, st.config.netuid, name, body) {
        return Err(reject(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "the signature does not match this axon, subnet, synapse and body".into(),
            "sign the exact body for this axon's hotkey and subnet",
        ));
    }
    let m = st.metagraph.current();
    let Some(uid) = m.uid_of(&auth.caller) else {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "caller_not_registered",
            format!(
                "{} is not registered on subnet {}",
                auth.caller, st.config.netuid
            ),
            "register the hotkey on the subnet first (tensorchain subnet register)",
        ));
    };
    let caller = Caller {
        hotkey: auth.caller,
        uid,
        stake: m.stake[uid as usize],
        validator_permit: m.validator_permit[uid as usize],
    };
    if caller.stake < st.config.min_stake {
        return Err(reject(
            StatusCode::FORBIDDEN,
            "insufficient_stake",
            format!(
                "uid {uid} has {} rao staked; this axon answers hotkeys with at least {}",
                caller.stake, st.config.min_stake
            ),
            "stake more behind the hotkey (tensorchain stake add)",
        ));
    }
    let mut g = st.guard.lock().unwrap_or_else(|e| e.into_inner());
    // Replays are refused before the rate is charged, so a replayed request does not use up
    // the real signer's budget.
    // Replay: a nonce is remembered until its request could no longer be fresh.
    while g.expiry.front().is_some_and(|e| e.0 <= now) {
        let (_, who, nonce) = g.expiry.pop_front().expect("front exists");
        g.seen.remove(&(who, nonce));
    }
    if g.seen.contains(&(auth.caller, auth.nonce)) {
        return Err(reject(
            StatusCode::CONFLICT,
            "replayed_request",
            format!("nonce {} was already used by this caller", auth.nonce),
            "use a new nonce for every request (a Dendrite does)",
        ));
    }
    if g.seen.len() >= MAX_REPLAY_ENTRIES {
        return Err(reject(
            StatusCode::SERVICE_UNAVAILABLE,
            "axon_busy",
            "the axon's replay cache is full".into(),
            "retry in a few seconds",
        ));
    }
    // Rate: a token bucket per caller, refilled continuously.
    let rate = st.config.rate_per_sec.max(1) as f64;
    let bucket = g.buckets.entry(auth.caller).or_insert((rate, now));
    bucket.0 = (bucket.0 + (now.saturating_sub(bucket.1)) as f64 * rate / 1000.0).min(rate);
    bucket.1 = now;
    if bucket.0 < 1.0 {
        return Err(reject(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("more than {rate} requests per second from uid {uid}"),
            "slow down: this axon answers each caller at a bounded rate",
        ));
    }
    bucket.0 -= 1.0;
    if g.buckets.len() > m.n() + 64 {
        g.buckets.retain(|k, _| m.uid_of(k).is_some());
    }
    g.seen.insert((auth.caller, auth.nonce));
    g.expiry
        .push_back((now + 2 * window + 1, auth.caller, auth.nonce));
    Ok(caller)
}
