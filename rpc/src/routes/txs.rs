use super::{on_admission_pool, read};
use crate::api::{SubmitError, TxStatus};
use crate::error::{ApiError, ErrorDetail};
use crate::extract::{parse_hash, ApiJson, ApiPath};
use crate::limits::HEAVY_COST;
use crate::views::{Envelope, TxView};
use crate::{AppState, ClientIp, MAX_VERIFYING_PER_CLIENT};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::{Extension, Json};
use borsh::BorshDeserialize;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
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
    decode_hex_tx(
        &body.tx,
        "tx",
        "send {\"tx\": \"0x<hex of borsh(SignedTx)>\"}",
    )
}

/// One 0x-hex borsh `SignedTx`; `what` names it in the error.
fn decode_hex_tx(hex_tx: &str, what: &str, hint: &'static str) -> Result<SignedTx, ApiError> {
    let malformed = |m: String| ApiError::bad_request("malformed_tx", m, hint);
    let hex_digits = hex_tx.strip_prefix("0x").unwrap_or(hex_tx);
    let bytes =
        hex::decode(hex_digits).map_err(|e| malformed(format!("{what} is not hex: {e}")))?;
    SignedTx::try_from_slice(&bytes)
        .map_err(|e| malformed(format!("{what} is not a borsh SignedTx: {e}")))
}

/// Most transactions one batch may carry.
pub const MAX_BATCH_TXS: usize = 1_024;
/// The batch route's body limit (1 MiB; every other route has `MAX_BODY_BYTES`): 1,024 transfers
/// in JSON hex take about 400 KB.
pub const MAX_BATCH_BODY_BYTES: usize = 1024 * 1024;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// Up to 1,024 borsh-encoded `SignedTx`s, each as 0x-prefixed hex (signed as for `/v1/txs`).
    #[schema(value_type = Vec<String>, max_items = 1024)]
    pub txs: BoundedTxs,
}

/// The `txs` array as read: the first `MAX_BATCH_TXS` kept, any more only counted (skipped
/// without allocating), so a megabyte of tiny elements costs no more memory than a full batch.
pub struct BoundedTxs {
    pub kept: Vec<String>,
    /// Elements in the array, kept or not.
    pub total: usize,
}

impl<'de> Deserialize<'de> for BoundedTxs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Elements;
        impl<'de> serde::de::Visitor<'de> for Elements {
            type Value = BoundedTxs;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of hex strings")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<BoundedTxs, A::Error> {
                let mut kept = Vec::new();
                while kept.len() < MAX_BATCH_TXS {
                    match seq.next_element::<String>()? {
                        Some(t) => kept.push(t),
                        None => {
                            let total = kept.len();
                            return Ok(BoundedTxs { kept, total });
                        }
                    }
                }
                let mut total = kept.len();
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    total += 1;
                }
                Ok(BoundedTxs { kept, total })
            }
        }
        d.deserialize_seq(Elements)
    }
}

#[derive(Serialize, ToSchema)]
pub struct BatchView {
    /// One per transaction, in the order sent.
    pub results: Vec<BatchResult>,
}

/// A transaction of the batch: queued (`status` is `pending`), or refused with the error
/// `POST /v1/txs` would have answered for it alone.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchResult {
    Queued { hash: String, status: String },
    Refused { hash: String, error: ErrorDetail },
}

fn malformed_batch(message: String) -> ApiError {
    ApiError::bad_request(
        "malformed_tx",
        message,
        "send {\"txs\": [\"0x<hex of borsh(SignedTx)>\", …]} as JSON, or borsh(Vec<SignedTx>) as application/octet-stream",
    )
}

fn too_many_txs(n: usize) -> ApiError {
    ApiError::bad_request(
        "too_many_txs",
        format!("the batch has {n} transactions; at most {MAX_BATCH_TXS} are accepted"),
        "split it into batches of at most 1,024",
    )
}

/// The batch in the body: borsh `Vec<SignedTx>` for `application/octet-stream`, else JSON.
fn decode_batch(headers: &HeaderMap, body: &[u8]) -> Result<Vec<SignedTx>, ApiError> {
    let borsh_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/octet-stream"));
    if borsh_body {
        // The count first, so a made-up length allocates nothing.
        let count = body
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| malformed_batch("the body is not a borsh Vec<SignedTx>".into()))?;
        if count > MAX_BATCH_TXS {
            return Err(too_many_txs(count));
        }
        return Vec::<SignedTx>::try_from_slice(body)
            .map_err(|e| malformed_batch(format!("the body is not a borsh Vec<SignedTx>: {e}")));
    }
    let batch: BatchBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the body is not a batch: {e}"),
            "send {\"txs\": [\"0x…\", …]} with Content-Type: application/json",
        )
    })?;
    if batch.txs.total > MAX_BATCH_TXS {
        return Err(too_many_txs(batch.txs.total));
    }
    let hint = "send {\"txs\": [\"0x<hex of borsh(SignedTx)>\", …]}";
    batch
        .txs
        .kept
        .iter()
        .enumerate()
        .map(|(i, t)| decode_hex_tx(t, &format!("txs[{i}]"), hint))
        .collect()
}

/// Validates a batch of signed transactions and queues those that pass, in order: one result per
/// transaction. Their signatures are checked in parallel; each is then admitted as `POST /v1/txs`
/// would admit it alone, so a later transaction of a signer may build on an earlier one.
#[utoipa::path(post, path = "/v1/txs/batch", tag = "txs",
    request_body(description = "JSON `{\"txs\": [\"0x<hex borsh SignedTx>\", …]}`, or with \
Content-Type `application/octet-stream` the borsh encoding of `Vec<SignedTx>`; at most 1,024 \
transactions and 1 MiB.",
        content((BatchBody = "application/json"), ("application/octet-stream"))),
    responses((status = 200, body = BatchView),
        (status = 400, description = "invalid_json, malformed_tx (a transaction or the borsh body does not decode), too_many_txs"),
        (status = 413, description = "payload_too_large: over 1 MiB"),
        (status = 429, description = "rate_limited: a batch costs one unit per transaction (at least 10), and one client may have 1,024 transactions under verification at once",
            headers(("Retry-After" = u64, description = "seconds to wait before retrying"))),
        (status = 503, description = "overloaded: the node is verifying as many transactions as it queues; retry in a second (the whole batch is refused, nothing was queued)",
            headers(("Retry-After" = u64, description = "seconds to wait before retrying")))))]
pub async fn batch(
    State(st): State<AppState>,
    client: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Envelope<BatchView>>, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body is larger than {MAX_BATCH_BODY_BYTES} bytes"),
                "split the batch",
            )
        } else {
            malformed_batch(r.body_text())
        }
    })?;
    let client = client.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0 .0);
    let (limits, verifying) = (st.limits.clone(), st.verifying.clone());
    // Decoding a megabyte is work too: on the admission pool, not an async worker.
    on_admission_pool(&st, move |api| {
        let txs = decode_batch(&headers, &body)?;
        // One unit per transaction (each is a signature to verify), the guard's HEAVY_COST
        // already paid: a batch costs what as many single submissions would.
        let n = u32::try_from(txs.len()).unwrap_or(u32::MAX);
        limits
            .charge_rest(client, n, HEAVY_COST)
            .map_err(crate::rate_limited)?;
        let _slots = verifying
            .acquire_n(client, txs.len(), limits.limits(client))
            .map_err(|_| too_many_verifying())?;
        let hashes: Vec<String> = txs.iter().map(|t| t.hash().to_hex()).collect();
        let results = api.submit_txs(txs);
        let overloaded = |r: &Result<_, SubmitError>| matches!(r, Err(SubmitError::Overloaded));
        if !results.is_empty() && results.iter().all(overloaded) {
            return Err(SubmitError::Overloaded.into());
        }
        let results = hashes
            .into_iter()
            .zip(results)
            .map(|(hash, r)| match r {
                Ok(_) => BatchResult::Queued {
                    hash,
                    status: "pending".into(),
                },
                Err(e) => BatchResult::Refused {
                    hash,
                    error: ApiError::from(e).detail(),
                },
            })
            .collect();
        Ok(BatchView { results })
    })
    .await
}

/// A client with `MAX_VERIFYING_PER_CLIENT` transactions under verification already (one full
/// batch at a time), or every REST verify slot taken.
fn too_many_verifying() -> ApiError {
    let mut e = crate::rate_limited(crate::limits::RateLimited {
        scope: "client",
        retry_after_secs: 1,
    });
    e.message = format!(
        "this client may have {MAX_VERIFYING_PER_CLIENT} transactions under verification at once; send the next batch when one is answered"
    );
    e
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
        (status = 503, description = "mempool_full: retry after the next block; overloaded: the node is verifying as many transactions as it queues, retry in a second")))]
pub async fn submit(
    State(st): State<AppState>,
    ApiJson(body): ApiJson<SubmitBody>,
) -> Result<Json<Envelope<SubmitView>>, ApiError> {
    let stx = decode_tx(&body)?;
    // Admission checks the signature, then the signer's account in state (a RocksDB read).
    on_admission_pool(&st, move |api| {
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
        // no longer holds is already in the ledger (`tx_location` counts a block being written).
        // (The other order could miss it between the two reads, and answer `tx_not_found` for a
        // transaction just included.)
        let local = api.local_tx_status(&hash);
        let ledger = api.ledger();
        if let Some((height, index)) = ledger.tx_location(&hash)? {
            let block = ledger.block(height)?;
            let at = index as usize;
            let tx = block
                .as_ref()
                .and_then(|c| c.block.txs.get(at).map(TxView::from));
            let events = block
                .as_ref()
                .and_then(|c| c.events.get(at).cloned())
                .unwrap_or_default();
            return Ok(TxStatusView {
                hash: hash.to_hex(),
                status: TxStatus::Included { height, index },
                tx,
                events,
                time_ms: block.map(|c| c.block.header.time_ms),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A megabyte of empty strings: counted, but only a full batch's worth kept.
    #[test]
    fn a_batch_array_keeps_at_most_a_full_batch() {
        let n = 340_000;
        let body = format!("{{\"txs\": [{}]}}", vec!["\"\""; n].join(","));
        let batch: BatchBody = serde_json::from_str(&body).unwrap();
        assert_eq!(batch.txs.total, n);
        assert_eq!(batch.txs.kept.len(), MAX_BATCH_TXS);
        assert!(batch.txs.kept.capacity() <= 2 * MAX_BATCH_TXS);
        let err = decode_batch(&HeaderMap::new(), body.as_bytes()).unwrap_err();
        assert_eq!(err.code, "too_many_txs");
    }
}
