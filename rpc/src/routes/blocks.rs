use super::{read, PageQuery};
use crate::error::ApiError;
use crate::extract::{page_limit, parse_cursor, parse_hash, ApiPath, ApiQuery};
use crate::views::{BlockView, Envelope, HeaderView};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tensorchain_ledger::Ledger;
use utoipa::ToSchema;

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
        // At most 20 digits: u64 parsing alone would take any number of leading zeros.
        _ => id
            .parse::<u64>()
            .ok()
            .filter(|_| id.len() <= 20)
            .ok_or_else(|| {
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

#[utoipa::path(get, path = "/v1/blocks", tag = "blocks", params(PageQuery),
    responses((status = 200, body = BlockPage)))]
pub async fn list(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Envelope<BlockPage>>, ApiError> {
    let limit = page_limit(q.limit)?;
    read(&st, move |api| {
        let ledger = api.ledger();
        let top = parse_cursor::<u64>(q.cursor.as_deref())?
            .unwrap_or(u64::MAX)
            .min(ledger.head().height);
        let mut items = Vec::new();
        // Heights top, top-1, … down to 0, at most `limit` of them.
        let mut next = Some(top);
        while let Some(h) = next.filter(|_| items.len() < limit) {
            if let Some(c) = ledger.block(h)? {
                let block = c.block;
                items.push(HeaderView::new(&block.header, block.txs.len()));
            }
            next = h.checked_sub(1);
        }
        Ok(BlockPage {
            items,
            next_cursor: next,
        })
    })
    .await
}

/// One block with its transactions, events and commit certificate.
#[utoipa::path(get, path = "/v1/blocks/{id}", tag = "blocks",
    params(("id" = String, Path, description = "height, 0x hash, head, finalized or genesis")),
    responses((status = 200, body = BlockView), (status = 400, description = "bad_block_id, bad_hash"),
        (status = 404, description = "block_not_found")))]
pub async fn get(
    State(st): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<BlockView>>, ApiError> {
    read(&st, move |api| {
        let ledger = api.ledger();
        let height = resolve_block_id(ledger, &id)?;
        let tensorchain_ledger::CommittedBlock { block, events } =
            ledger.block(height)?.ok_or_else(|| {
                ApiError::not_found("block_not_found", format!("block {height} is not stored"))
            })?;
        let commit = ledger.commit(height)?;
        Ok(BlockView::new(&block, events, commit))
    })
    .await
}
