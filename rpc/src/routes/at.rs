//! `?at=`: which committed height a state read sees, and the pin that holds it for the read.

use super::blocks::resolve_block_id;
use crate::api::{BlockEvent, NetworkInfo, NodeApi, SubmitError, TxStatus};
use crate::error::ApiError;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tensorchain_ledger::{Ledger, StateAtError};
use tensorchain_primitives::{AccountId, Hash, SignedTx};
use tokio::sync::broadcast;
use utoipa::IntoParams;

/// `?at=` of every state route.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// The block whose state to read: a height, a block hash (0x…), `head`, `finalized` (the
    /// same: committed blocks are final) or `genesis`. Default: the head. Heights older than
    /// the node's state history answer 410 `state_pruned`.
    pub at: Option<String>,
}

fn bad_at(s: &str) -> ApiError {
    // Echo at most a cursor's worth of the value: it is user input.
    let shown: String = s.chars().take(crate::extract::MAX_CURSOR_CHARS).collect();
    ApiError::bad_request(
        "bad_at",
        format!("'{shown}' is not a height, a 0x block hash, head, finalized or genesis"),
        "pass ?at=<height>, ?at=0x<block hash>, ?at=head, ?at=finalized or ?at=genesis",
    )
}

/// The node's API with its ledger pinned at one height (`Ledger::at`).
pub struct Pinned {
    inner: Arc<dyn NodeApi>,
    ledger: Ledger,
}

/// Pins `at` (a block id as `/v1/blocks/{id}` takes; None: the head) for one read: 400
/// `bad_at` for what is no block id, 404 for a block not (yet) committed, 410 `state_pruned` for
/// a height below the state history.
pub fn pin(api: Arc<dyn NodeApi>, at: Option<String>) -> Result<Pinned, ApiError> {
    let ledger = api.ledger();
    let height = match at.as_deref() {
        None => ledger.head().height,
        Some(id) => resolve_block_id(ledger, id).map_err(|e| match e.code {
            "bad_block_id" | "bad_hash" => bad_at(id),
            _ => e,
        })?,
    };
    let pinned = ledger.at(height).map_err(|e| match e {
        StateAtError::Pruned { height, oldest } => ApiError::new(
            StatusCode::GONE,
            "state_pruned",
            e.to_string(),
            "ask an archive node, or a height at or above details.oldest_available",
        )
        .with_details(json!({ "height": height, "oldest_available": oldest })),
        StateAtError::NotYet { height, head } => ApiError::not_found(
            "block_not_found",
            format!("block {height} is not committed yet (head {head})"),
        )
        .with_details(json!({ "height": height, "head": head })),
        StateAtError::Store(e) => e.into(),
    })?;
    Ok(Pinned {
        inner: api,
        ledger: pinned,
    })
}

impl NodeApi for Pinned {
    fn ledger(&self) -> &Ledger {
        &self.ledger
    }
    fn submit_tx(&self, tx: SignedTx) -> Result<Hash, SubmitError> {
        self.inner.submit_tx(tx)
    }
    fn local_tx_status(&self, hash: &Hash) -> Option<TxStatus> {
        self.inner.local_tx_status(hash)
    }
    fn next_nonce(&self, account: &AccountId) -> u64 {
        self.inner.next_nonce(account)
    }
    fn mempool_len(&self) -> usize {
        self.inner.mempool_len()
    }
    fn subscribe(&self) -> broadcast::Receiver<BlockEvent> {
        self.inner.subscribe()
    }
    fn network(&self) -> NetworkInfo {
        self.inner.network()
    }
}
