use super::envelope;
use crate::error::ApiError;
use crate::extract::parse_hash;
use crate::views::{BlockView, Envelope, HeaderView};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tensorchain_ledger::Ledger;
use utoipa::{IntoParams, ToSchema};

const MAX_PAGE: u64 = 100;

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Headers per page (1..=100, default 20).
    pub limit: Option<u64>,
    /// Height to start from, going down (default: the head).
    pub cursor: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct BlockPage {
    pub items: Vec<HeaderView>,
    /// Pass as `cursor` for the next (older) page; absent at genesis.
    pub next_cursor: Option<u64>,
}

/// Resolves `head|latest|finalized|genesis|<height>|0x<hash>` to a height.
pub fn resolve_block_id(ledger: &Ledger, id: &str) -> Result<u64, ApiError> {
    let height = match id {
        "head" | "latest" | "finalized" => ledger.head().height,
        "genesis" => 0,
        _ if id.starts_with("0x") => ledger.height_of(&parse_hash(id)?)?.ok_or_else(|| {
            ApiError::not_found("block_not_found", format!("no block with hash {id}"))
        })?,
        _ => id.parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                "bad_block_id",
                format!("'{id}' is not a block id"),
                "use a height, a 0x hash, head, finalized or genesis",
            )
        })?,
    };
    if height > ledger.head().height {
        return Err(ApiError::not_found(
            "block_not_found",
            format!("block {height} is beyond the head {}", ledger.head().height),
        ));
    }
    Ok(height)
}

#[utoipa::path(get, path = "/v1/blocks", tag = "blocks", params(ListQuery),
    responses((status = 200, body = BlockPage)))]
pub async fn list(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Envelope<BlockPage>>, ApiError> {
    let ledger = st.api.ledger();
    let head = ledger.head().height;
    let limit = q.limit.unwrap_or(20).clamp(1, MAX_PAGE);
    let top = q.cursor.unwrap_or(head).min(head);
    let mut items = Vec::new();
    let mut h = top as i128;
    while h >= 0 && (items.len() as u64) < limit {
        if let Some((block, _)) = ledger.block(h as u64)? {
            items.push(HeaderView::new(&block.header, block.txs.len()));
        }
        h -= 1;
    }
    let next_cursor = (h >= 0).then_some(h as u64);
    Ok(envelope(&st, BlockPage { items, next_cursor }))
}

/// One block with its transactions, events and commit certificate.
#[utoipa::path(get, path = "/v1/blocks/{id}", tag = "blocks",
    params(("id" = String, Path, description = "height, 0x hash, head, finalized or genesis")),
    responses((status = 200, body = BlockView), (status = 404, description = "block_not_found")))]
pub async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Envelope<BlockView>>, ApiError> {
    let ledger = st.api.ledger();
    let height = resolve_block_id(ledger, &id)?;
    let (block, events) = ledger.block(height)?.ok_or_else(|| {
        ApiError::not_found("block_not_found", format!("block {height} is not stored"))
    })?;
    let commit = ledger.commit(height)?;
    Ok(envelope(&st, BlockView::new(&block, events, commit)))
}
