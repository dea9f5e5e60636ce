use super::envelope;
use crate::error::ApiError;
use crate::extract::parse_address;
use crate::views::{AccountView, Envelope};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;

/// Balance and nonce of an account; an address never funded reads as zero with `exists: false`.
#[utoipa::path(get, path = "/v1/accounts/{addr}", tag = "accounts",
    params(("addr" = String, Path, description = "SS58 address or 0x hex public key")),
    responses((status = 200, body = AccountView), (status = 400, description = "bad_address")))]
pub async fn get(
    State(st): State<AppState>,
    Path(addr): Path<String>,
) -> Result<Json<Envelope<AccountView>>, ApiError> {
    let id = parse_address(&addr)?;
    let account = st.api.ledger().account(&id)?;
    let exists = account.is_some();
    let a = account.unwrap_or_default();
    Ok(envelope(
        &st,
        AccountView {
            address: id.to_ss58(),
            hex: id.to_hex(),
            free: a.free.to_string(),
            staked: a.staked.to_string(),
            total: (a.free as u128 + a.staked as u128).to_string(),
            nonce: a.nonce,
            next_nonce: st.api.next_nonce(&id).max(a.nonce),
            exists,
        },
    ))
}
