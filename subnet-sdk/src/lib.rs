//! Build a subnet on tensorchain, through the node's public REST API only.
//!
//! - [`axon::Axon`]: the HTTP server a miner runs; every request is a typed [`Synapse`], signed by
//!   the caller's hotkey and checked (signature, freshness, replay, registration, stake, rate).
//! - [`dendrite::Dendrite`]: the validator's client; queries many axons at once with timeouts and
//!   reports each uid's answer, latency and status.
//! - [`metagraph::MetagraphSync`]: the subnet's metagraph, one REST call for the columns and the
//!   event stream (`/v1/events`) for updates.
//! - [`weights::WeightSetter`]: scores → normalized u16 weights → `set_weights` (or commit and
//!   reveal), once per epoch, never inside `weights_rate_limit`.
//! - [`rest::Client`]: the blocking REST client (shared with the `tensorchain` CLI), which also
//!   signs and submits transactions.
//! - [`template`]: two complete example subnets (quality and speed) the devnet runs.

pub mod auth;
pub mod axon;
pub mod dendrite;
pub mod error;
pub mod metagraph;
pub mod rest;
pub mod template;
pub mod weights;

pub use axon::{Axon, AxonConfig, Caller};
pub use dendrite::{Dendrite, QueryStatus, Target, UidResponse};
pub use error::SdkError;
pub use metagraph::{Metagraph, MetagraphSync};
pub use rest::Client;
pub use weights::{WeightSetter, WeightStats};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A typed request a validator sends to miners, and the type of their answer; both travel as JSON.
pub trait Synapse: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The route segment (`POST /synapse/<NAME>`) and part of what is signed: lowercase, stable.
    const NAME: &'static str;
    type Response: Serialize + DeserializeOwned + Send + 'static;
}

/// Milliseconds since the Unix epoch (0 if the clock is before it): request timestamps.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs blocking work (the REST client) on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SdkError> + Send + 'static,
) -> Result<T, SdkError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        SdkError::new(
            "task_failed",
            format!("a blocking task failed: {e}"),
            "see the logs above; this is a bug",
        )
    })?
}
