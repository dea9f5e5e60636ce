use super::read;
use crate::api::TxStatus;
use crate::error::ApiError;
use crate::extract::{parse_hash, ApiJson, ApiPath};
use crate::views::{Envelope, TxView};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use borsh::BorshDeserialize;
use serde::{Deserialize, Serialize};
use tensorchain_ledger::Event;
use tensorchain_primitives::SignedTx;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// The borsh-encoded `SignedTx`, as 0x-prefixed hex. Its signature is over
    /// blake3("tensorchain/tx/v2" ‖ genesis_hash ‖ borsh(tx)), `genesis_hash` from `GET /v1/chain`:
    /// a transaction signed for another network is `bad_signature` here.
    pub tx: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubmitView {
    pub hash: String,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct SimulateView {
    pub hash: String,
    pub fee: String,
    /// What the transaction would do against the head state.
    #[schema(value_type = Vec<Object>)]
    pub effects: Vec<Event>,
}

#[derive(Serialize, ToSchema)]
pub struct TxStatusView {
    pub hash: String,
    /// `pending`, `included` or `failed` (with `code` and `message`).
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub status: TxStatus,
    pub tx: Option<TxView>,
    /// What it did, once included (empty before).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Event>,
    /// The time of the block that included it.
    pub time_ms: Option<u64>,
}

fn decode_tx(body: &SubmitBody) -> Result<SignedTx, ApiError> {
    let malformed = |m: String| {
        ApiError::bad_request(
            "malformed_tx",
            m,
            "send {\"tx\": \"0x<hex of borsh(SignedTx)>\"}",
        )
    };
    let hex_digits = body.tx.strip_prefix("0x").unwrap_or(&body.tx);
    let bytes = hex::decode(hex_digits).map_err(|e| malformed(format!("tx is not hex: {e}")))?;
    SignedTx::try_from_slice(&bytes)
        .map_err(|e| malformed(format!("tx is not a borsh SignedTx: {e}")))
}

/// Validates a signed transaction and queues it for the next block.
#[utoipa::path(post, path = "/v1/txs", tag = "txs", request_body = SubmitBody,
    responses((status = 200, body = SubmitView),
        (status = 400, description = "malformed_tx, invalid_json"),
        (status = 409, description = "bad_nonce, tx_already_known"),
        (status = 413, description = "payload_too_large"),
        (status = 422, description = "rejected: bad_signature, insufficient_balance, …"),
        (status = 429, description = "rate_limited (with Retry-After), too_many_pending: the signer has the most queued transactions one signer may",
            headers(("Retry-After" = u64, description = "seconds to wait before retrying (rate_limited)"))),
        (status = 503, description = "mempool_full: retry after the next block")))]
pub async fn submit(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<SubmitBody>,
) -> Result<Json<Envelope<SubmitView>>, ApiError> {
    let stx = decode_tx(&body)?;
    // Admission checks the signer's account in state: a RocksDB read.
    read(&st, move |api| {
        let hash = api.submit_tx(stx)?;
        Ok(SubmitView {
            hash: hash.to_hex(),
            status: "pending".into(),
        })
    })
    .await
}

/// Dry run against the head state: the fee and effects, or the error it would get.
#[utoipa::path(post, path = "/v1/txs/simulate", tag = "txs", request_body = SubmitBody,
    responses((status = 200, body = SimulateView), (status = 400, description = "malformed_tx, invalid_json"),
        (status = 409, description = "bad_nonce"), (status = 413, description = "payload_too_large"),
        (status = 422, description = "the error the tx would get")))]
pub async fn simulate(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<SubmitBody>,
) -> Result<Json<Envelope<SimulateView>>, ApiError> {
    let stx = decode_tx(&body)?;
    read(&st, move |api| {
        let effects = api.ledger().simulate(&stx)?;
        Ok(SimulateView {
            hash: stx.hash().to_hex(),
            fee: stx.tx.fee.to_string(),
            effects,
        })
    })
    .await
}

#[utoipa::path(get, path = "/v1/txs/{hash}", tag = "txs",
    params(("hash" = String, Path, description = "0x tx hash")),
    responses((status = 200, body = TxStatusView), (status = 400, description = "bad_hash"),
        (status = 404, description = "tx_not_found")))]
pub async fn status(
    State(st): State<AppState>,
    ApiPath(hash): ApiPath<String>,
) -> Result<Json<Envelope<TxStatusView>>, ApiError> {
    let hash = parse_hash(&hash)?;
    read(&st, move |api| {
        // The node's own status first, the ledger's second: a commit and the pool's pruning of
        // what it included happen under one hold of the pool's lock, so a transaction the pool
        // no longer holds is already in the ledger. (The other order could miss it between the
        // two reads, and answer `tx_not_found` for a transaction just included.)
        let local = api.local_tx_status(&hash);
        let ledger = api.ledger();
        if let Some((height, index)) = ledger.tx_location(&hash)? {
            let block = ledger.block(height)?;
            let at = index as usize;
            let tx = block
                .as_ref()
                .and_then(|(b, _)| b.txs.get(at).map(TxView::from));
            let events = block
                .as_ref()
                .and_then(|(_, ev)| ev.get(at).cloned())
                .unwrap_or_default();
            return Ok(TxStatusView {
                hash: hash.to_hex(),
                status: TxStatus::Included { height, index },
                tx,
                events,
                time_ms: block.map(|(b, _)| b.header.time_ms),
            });
        }
        let status = local.ok_or_else(|| {
            ApiError::not_found(
                "tx_not_found",
                format!("no transaction {hash} is known to this node"),
            )
        })?;
        Ok(TxStatusView {
            hash: hash.to_hex(),
            status,
            tx: None,
            events: vec![],
            time_ms: None,
        })
    })
    .await
}
