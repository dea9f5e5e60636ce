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
    let unbonding_entries = st
        .api
        .ledger()
        .unbonding_of(&id)?
        .into_iter()
        .map(|e| crate::views::UnbondingView {
            hotkey: e.hotkey.to_ss58(),
            amount: e.amount.to_string(),
            release_at: e.release_at,
        })
        .collect();
    Ok(envelope(
        &st,
        AccountView {
            address: id.to_ss58(),
            hex: id.to_hex(),
            free: a.free.to_string(),
            staked: a.staked.to_string(),
            unbonding: a.unbonding.to_string(),
            unbonding_entries,
            total: (a.free as u128 + a.staked as u128 + a.unbonding as u128).to_string(),
            nonce: a.nonce,
            next_nonce: st.api.next_nonce(&id).max(a.nonce),
            exists,
        },
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StakeView {
    pub hotkey: String,
    pub amount: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StakesView {
    pub coldkey: String,
    pub total: String,
    pub stakes: Vec<StakeView>,
}

/// A coldkey's stake behind each hotkey.
#[utoipa::path(get, path = "/v1/accounts/{addr}/stakes", tag = "accounts",
    params(("addr" = String, Path, description = "SS58 address or 0x hex public key")),
    responses((status = 200, body = StakesView), (status = 400, description = "bad_address")))]
pub async fn stakes(
    State(st): State<AppState>,
    Path(addr): Path<String>,
) -> Result<Json<Envelope<StakesView>>, ApiError> {
    let id = parse_address(&addr)?;
    let stakes = st.api.ledger().stakes_of(&id)?;
    let total: u128 = stakes.iter().map(|(_, a)| *a as u128).sum();
    Ok(envelope(
        &st,
        StakesView {
            coldkey: id.to_ss58(),
            total: total.to_string(),
            stakes: stakes
                .into_iter()
                .map(|(hk, a)| StakeView {
                    hotkey: hk.to_ss58(),
                    amount: a.to_string(),
                })
                .collect(),
        },
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NominatorView {
    pub coldkey: String,
    pub amount: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HotkeyView {
    pub hotkey: String,
    pub owner: String,
    pub total_stake: String,
    /// Share of validator dividends the owner keeps, as u16 / 65535 …
    pub take: u16,
    /// … and as a fraction.
    pub take_fraction: f64,
    /// A take increase that applies from `effective_at` (decreases apply at once).
    pub pending_take: Option<PendingTakeView>,
    pub nominators: Vec<NominatorView>,
    /// Subnets the hotkey is registered on: [netuid, uid].
    pub registrations: Vec<(u16, u16)>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PendingTakeView {
    pub take: u16,
    pub effective_at: u64,
}

/// A hotkey: its owner, total stake, take (current and pending) and nominators.
#[utoipa::path(get, path = "/v1/hotkeys/{hk}", tag = "accounts",
    params(("hk" = String, Path, description = "hotkey: SS58 address or 0x hex public key")),
    responses((status = 200, body = HotkeyView), (status = 404, description = "hotkey_not_found")))]
pub async fn hotkey(
    State(st): State<AppState>,
    Path(hk): Path<String>,
) -> Result<Json<Envelope<HotkeyView>>, ApiError> {
    let id = parse_address(&hk)?;
    let ledger = st.api.ledger();
    let info = ledger.hotkey(&id)?.ok_or_else(|| {
        ApiError::not_found(
            "hotkey_not_found",
            format!("hotkey {id} has no stake and no owner"),
        )
    })?;
    let nominators = ledger
        .nominators_of(&id)?
        .into_iter()
        .map(|(ck, a)| NominatorView {
            coldkey: ck.to_ss58(),
            amount: a.to_string(),
        })
        .collect();
    Ok(envelope(
        &st,
        HotkeyView {
            hotkey: id.to_ss58(),
            owner: info.owner.to_ss58(),
            total_stake: info.total_stake.to_string(),
            take: info.take_at(ledger.head().height),
            take_fraction: info.take_at(ledger.head().height) as f64 / 65535.0,
            pending_take: info
                .pending_take
                .filter(|p| p.effective_at > ledger.head().height)
                .map(|p| PendingTakeView {
                    take: p.take,
                    effective_at: p.effective_at,
                }),
            nominators,
            registrations: ledger.registrations(&id)?,
        },
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct DelegateView {
    pub hotkey: String,
    pub owner: String,
    pub total_stake: String,
    pub take: u16,
    pub nominators: usize,
}

/// Every hotkey with stake or an owner, most staked first: the delegates nominators choose from.
#[utoipa::path(get, path = "/v1/hotkeys", tag = "accounts", responses((status = 200, body = Vec<DelegateView>)))]
pub async fn hotkeys(
    State(st): State<AppState>,
) -> Result<Json<Envelope<Vec<DelegateView>>>, ApiError> {
    let ledger = st.api.ledger();
    let mut list = Vec::new();
    for (hk, info) in ledger.hotkeys()? {
        list.push(DelegateView {
            hotkey: hk.to_ss58(),
            owner: info.owner.to_ss58(),
            total_stake: info.total_stake.to_string(),
            take: info.take_at(ledger.head().height),
            nominators: ledger.nominators_of(&hk)?.len(),
        });
    }
    list.sort_by_key(|d| std::cmp::Reverse(d.total_stake.parse::<u64>().unwrap_or(0)));
    Ok(envelope(&st, list))
}
