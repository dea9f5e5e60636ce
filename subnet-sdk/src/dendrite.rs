//! The dendrite: a validator's client for miners' axons. It signs every request with the
//! validator's hotkey, queries many axons at once, and returns one [`UidResponse`] per uid with
//! its latency and status: an answer, a timeout, a dead axon, no axon, or the axon's named
//! rejection. A miner's failure is data for scoring, never an error or a panic of the validator.

use crate::auth;
use crate::error::SdkError;
use crate::{now_ms, Synapse};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tensorchain_primitives::{AccountId, Keypair};
use tokio::sync::Semaphore;

/// Queries in flight at once, each on a blocking-pool thread: a metagraph of 256 uids is
/// queried in one wave, and tokio's blocking pool (512 threads) is never exhausted.
pub const MAX_CONCURRENT_QUERIES: usize = 256;
/// The largest answer read from an axon: a miner cannot make a validator buffer more.
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// The most of an error answer read: a code, a message and a hint.
const MAX_ERROR_BYTES: u64 = 16 * 1024;

/// An axon to query: a uid of the metagraph and where it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub uid: u16,
    pub hotkey: AccountId,
    pub addr: Option<SocketAddr>,
}

/// How a query ended; `as_str` gives its stable snake_case name.
#[derive(Debug, Clone)]
pub enum QueryStatus {
    Ok,
    /// No answer within the timeout.
    Timeout,
    /// Nothing listens at the announced address (connection refused or reset).
    Unreachable,
    /// The uid announced no axon.
    NoAxon,
    /// The axon answered with a named error (`rate_limited`, `caller_not_registered`, …).
    Rejected(SdkError),
    /// The answer is not the synapse's response type (shared: a status is cloned per summary).
    BadResponse(Arc<serde_json::Error>),
}

/// Statuses are equal when they name the same outcome, with the same axon error or, for
/// `BadResponse`, the same decoding error message (serde_json's errors have no `PartialEq`).
impl PartialEq for QueryStatus {
    fn eq(&self, other: &QueryStatus) -> bool {
        match (self, other) {
            (QueryStatus::Rejected(a), QueryStatus::Rejected(b)) => a == b,
            (QueryStatus::BadResponse(a), QueryStatus::BadResponse(b)) => {
                a.to_string() == b.to_string()
            }
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl QueryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            QueryStatus::Ok => "ok",
            QueryStatus::Timeout => "timeout",
            QueryStatus::Unreachable => "unreachable",
            QueryStatus::NoAxon => "no_axon",
            QueryStatus::Rejected(_) => "rejected",
            QueryStatus::BadResponse(_) => "bad_response",
        }
    }
}

#[derive(Debug, Clone)]
pub struct UidResponse<R> {
    pub uid: u16,
    pub hotkey: AccountId,
    pub status: QueryStatus,
    /// From sending the request to the end of the answer (or the failure).
    pub latency: Duration,
    /// The answer, when `status` is `Ok`.
    pub response: Option<R>,
}

#[derive(Clone)]
pub struct Dendrite {
    key: Arc<Keypair>,
    netuid: u16,
    agent: ureq::Agent,
    /// Request nonces: unique per process run (started from the clock, so a restarted
    /// validator does not reuse the nonces its previous run sent within the freshness window).
    nonce: Arc<AtomicU64>,
    slots: Arc<Semaphore>,
}

impl Dendrite {
    pub fn new(key: Keypair, netuid: u16) -> Dendrite {
        Dendrite {
            key: Arc::new(key),
            netuid,
            // No redirects: a miner's 302 would send the validator's signed request elsewhere.
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            nonce: Arc::new(AtomicU64::new(now_ms().saturating_mul(1000))),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_QUERIES)),
        }
    }

    pub fn hotkey(&self) -> AccountId {
        self.key.account()
    }

    /// Sends each target the synapse `make` builds for it, all at once; one response per target,
    /// in the targets' order, each within `timeout`.
    pub async fn query<S: Synapse>(
        &self,
        targets: &[Target],
        make: impl Fn(&Target) -> S,
        timeout: Duration,
    ) -> Vec<UidResponse<S::Response>> {
        let calls = targets
            .iter()
            .map(|t| self.call(t.clone(), make(t), timeout));
        futures::future::join_all(calls).await
    }

    /// One query.
    pub async fn call<S: Synapse>(
        &self,
        target: Target,
        synapse: S,
        timeout: Duration,
    ) -> UidResponse<S::Response> {
        let started = Instant::now();
        let done = |status, response| UidResponse {
            uid: target.uid,
            hotkey: target.hotkey,
            status,
            latency: started.elapsed(),
            response,
        };
        let Some(addr) = target.addr else {
            return done(QueryStatus::NoAxon, None);
        };
        let Ok(_slot) = self.slots.acquire().await else {
            return done(QueryStatus::Unreachable, None);
        };
        let body = serde_json::to_vec(&synapse).expect("a synapse serializes");
        let auth = auth::sign(
            &self.key,
            &target.hotkey,
            self.netuid,
            S::NAME,
            now_ms(),
            self.nonce.fetch_add(1, Ordering::Relaxed),
            &body,
        );
        let mut req = self
            .agent
            .post(&format!("http://{addr}/synapse/{}", S::NAME))
            .timeout(timeout)
            .set("content-type", "application/json");
        for (name, value) in auth.headers() {
            req = req.set(name, &value);
        }
        let work = tokio::task::spawn_blocking(move || send::<S::Response>(req, &body));
        // ureq's own timeout ends the request; this one covers a blocking pool slow to start it.
        let status = match tokio::time::timeout(timeout + Duration::from_millis(50), work).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(_) => Err(QueryStatus::Timeout),
        };
        match status {
            Ok(r) => done(QueryStatus::Ok, Some(r)),
            Err(s) => done(s, None),
        }
    }
}

fn send<R: serde::de::DeserializeOwned>(req: ureq::Request, body: &[u8]) -> Result<R, QueryStatus> {
    use std::io::Read;
    let resp = match req.send_bytes(body) {
        Ok(resp) => resp,
        Err(ureq::Error::Status(status, resp)) => {
            // An error body is read up to `MAX_ERROR_BYTES`: a miner cannot make the validator
            // buffer what it streams.
            let mut bytes = Vec::new();
            let _ = resp
                .into_reader()
                .take(MAX_ERROR_BYTES)
                .read_to_end(&mut bytes);
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let e: SdkError = serde_json::from_value(v["error"].clone()).unwrap_or_else(|_| {
                SdkError::new("http_error", format!("the axon answered {status}"), "")
            });
            return Err(QueryStatus::Rejected(e));
        }
        Err(ureq::Error::Transport(t)) => return Err(transport_status(&t)),
    };
    let mut bytes = Vec::new();
    let read = resp
        .into_reader()
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut bytes);
    if let Err(e) = read {
        return Err(if is_timeout(&e) {
            QueryStatus::Timeout
        } else {
            QueryStatus::Unreachable
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| QueryStatus::BadResponse(Arc::new(e)))
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn transport_status(t: &ureq::Transport) -> QueryStatus {
    let io = std::error::Error::source(t).and_then(|s| s.downcast_ref::<std::io::Error>());
    match io {
        Some(e) if is_timeout(e) => QueryStatus::Timeout,
        _ if t.to_string().contains("timed out") => QueryStatus::Timeout,
        _ => QueryStatus::Unreachable,
    }
}

/// A response's status and latency as JSON (for logs and `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct QuerySummary {
    pub uid: u16,
    pub status: &'static str,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl<R> UidResponse<R> {
    pub fn summary(&self) -> QuerySummary {
        QuerySummary {
            uid: self.uid,
            status: self.status.as_str(),
            latency_ms: self.latency.as_millis() as u64,
            error: match &self.status {
                QueryStatus::Rejected(e) => Some(e.code.clone()),
                QueryStatus::BadResponse(e) => Some(e.to_string()),
                _ => None,
            },
        }
    }
}
