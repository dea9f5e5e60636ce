//! Route handlers, one module per resource.

pub mod accounts;
pub mod at;
pub mod blocks;
pub mod chain;
pub mod events;
pub mod node;
pub mod proofs;
pub mod subnets;
pub mod txs;
pub mod validators;

use crate::api::NodeApi;
use crate::error::ApiError;
use crate::views::{Envelope, Meta};
use crate::AppState;
pub use at::AtQuery;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Wraps data in the envelope with the head it was read at.
pub fn envelope<T: Serialize>(st: &AppState, data: T) -> Json<Envelope<T>> {
    Json(Envelope {
        data,
        meta: Meta::from(&st.api.ledger().head()),
    })
}

/// Runs a read of node state at the head: `read_at` without `?at=`.
pub async fn read<T, F>(st: &AppState, f: F) -> Result<Json<Envelope<T>>, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&dyn NodeApi) -> Result<T, ApiError> + Send + 'static,
{
    read_at(st, None, f).await
}

/// Runs a submission on the node's admission pool (`SigCache::spawn_admission`): decoding, the
/// signature checks and the mempool's admission on one of its threads, at its lower priority, in
/// one hand-off from the async worker and one back. Through the blocking pool, each request
/// woke a blocking thread that then waited on the admission pool: two more context switches a
/// request, which at thousands of requests a second took more of the cores than the signatures.
/// Bounded as reads are: at most `MAX_CONCURRENT_READS` queued or running at once.
pub async fn on_admission_pool<T, F>(st: &AppState, f: F) -> Result<Json<Envelope<T>>, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&dyn NodeApi) -> Result<T, ApiError> + Send + 'static,
{
    let permit = read_permit(st).await?;
    let api = st.api.clone();
    let (done, answer) = tokio::sync::oneshot::channel();
    st.api.ledger().verified().spawn_admission(move || {
        let _permit = permit;
        // A panic on a rayon pool aborts the process: caught here, it fails this request only,
        // as one on the blocking pool would.
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f(api.as_ref()).map(|data| {
                Json(Envelope {
                    data,
                    meta: Meta::from(&api.ledger().head()),
                })
            })
        }));
        let _ = done.send(answer);
    });
    match answer.await {
        Ok(Ok(answer)) => answer,
        _ => {
            tracing::error!("a submission panicked or ended without an answer");
            Err(internal("a submission failed; see the node's logs"))
        }
    }
}

/// One of the `MAX_CONCURRENT_READS` places for work off the async workers.
async fn read_permit(st: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    st.reads
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| internal("the read pool is closed"))
}

/// Runs a read of node state on the blocking pool, since RocksDB reads block the thread, at most
/// `MAX_CONCURRENT_READS` at once. The read sees the ledger pinned at `at` (`Ledger::at`): every
/// state query in `f` reads that height, and the envelope's `meta` is that same height, however
/// many blocks commit meanwhile. Requests beyond the limit wait here (bounded by the request
/// timeout), never in the blocking pool's queue, so the node's own blocking work (block sync)
/// always finds a thread.
pub async fn read_at<T, F>(
    st: &AppState,
    at: Option<String>,
    f: F,
) -> Result<Json<Envelope<T>>, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&dyn NodeApi) -> Result<T, ApiError> + Send + 'static,
{
    let permit = read_permit(st).await?;
    let api = st.api.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let pinned = at::pin(api, at)?;
        let data = f(&pinned)?;
        Ok(Json(Envelope {
            data,
            meta: Meta::from(&pinned.ledger().head()),
        }))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "a state read failed");
        internal("a state read failed; see the node's logs")
    })?
}

fn internal(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        message,
        "retry; if it persists, check the node's logs",
    )
}

/// `?limit=&cursor=` of every list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (1..=256, default 100).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (default: the first page).
    pub cursor: Option<String>,
}

/// One page of a list; pass `next_cursor` as `cursor` for the next one (absent on the last page).
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of up to `limit` items; a full page has a next one, resuming after its last item.
    pub fn new(items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> Page<T> {
        let next_cursor = (items.len() >= limit)
            .then(|| items.last().map(cursor_of))
            .flatten();
        Page { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
