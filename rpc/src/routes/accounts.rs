use super::proofs::{proof_of, ProofQuery, ProofView};
use super::{read, read_at, AtQuery, Page, PageQuery};
use crate::error::ApiError;
use crate::extract::{
    bad_cursor, page_limit, parse_address, parse_cursor, ApiPath, ApiQuery, MAX_CURSOR_CHARS,
};
use crate::views::{AccountView, Envelope, TxView};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use tensorchain_ledger::storage::schema;
use tensorchain_ledger::Ledger;
use tensorchain_primitives::AccountId;

/// Balance and nonce of an account; an address never funded reads as zero with `exists: false`.
#[utoipa::path(get, path = "/v1/accounts/{addr}", tag = "accounts",
    params(AtQuery, ProofQuery, ("addr" = String, Path, description = "SS58 address or 0x hex public key")),
    responses((status = 200, body = AccountView), (status = 400, description = "bad_address")))]
pub async fn get(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiQuery(proof): ApiQuery<ProofQuery>,
    ApiPath(addr): ApiPath<String>,
) -> Result<Json<Envelope<AccountView>>, ApiError> {
    let id = parse_address(&addr)?;
    read_at(&st, at.at, move |api| {
        let account = api.ledger().account(&id)?;
        let exists = account.is_some();
        let a = account.unwrap_or_default();
        let unbonding_entries = api
            .ledger()
            .unbonding_of(&id)?
            .into_iter()
            .map(|e| crate::views::UnbondingView {
                hotkey: e.hotkey.to_ss58(),
                amount: e.amount.to_string(),
                release_at: e.release_at,
            })
            .collect();
        Ok(AccountView {
            address: id.to_ss58(),
            hex: id.to_hex(),
            free: a.free.to_string(),
            staked: a.staked.to_string(),
            unbonding: a.unbonding.to_string(),
            unbonding_entries,
            total: (a.free as u128 + a.staked as u128 + a.unbonding as u128).to_string(),
            nonce: a.nonce,
            next_nonce: api.next_nonce(&id).max(a.nonce),
            exists,
            proof: proof_of(api.ledger(), &schema::account_key(&id), proof.proof)?,
        })
    })
    .await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StakeView {
    pub hotkey: String,
    pub amount: String,
    /// With `?proof=true`: this stake record's proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<ProofView>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StakesView {
    pub coldkey: String,
    pub total: String,
    pub stakes: Vec<StakeView>,
}

/// A coldkey's stake behind each hotkey.
#[utoipa::path(get, path = "/v1/accounts/{addr}/stakes", tag = "accounts",
    params(AtQuery, ProofQuery, ("addr" = String, Path, description = "SS58 address or 0x hex public key")),
    responses((status = 200, body = StakesView), (status = 400, description = "bad_address")))]
pub async fn stakes(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiQuery(proof): ApiQuery<ProofQuery>,
    ApiPath(addr): ApiPath<String>,
) -> Result<Json<Envelope<StakesView>>, ApiError> {
    let id = parse_address(&addr)?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        let stakes = ledger.stakes_of(&id)?;
        let total: u128 = stakes.iter().map(|(_, a)| *a as u128).sum();
        let stakes = stakes
            .into_iter()
            .map(|(hk, a)| {
                Ok(StakeView {
                    hotkey: hk.to_ss58(),
                    amount: a.to_string(),
                    proof: proof_of(ledger, &schema::coldkey_stake_key(&id, &hk), proof.proof)?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(StakesView {
            coldkey: id.to_ss58(),
            total: total.to_string(),
            stakes,
        })
    })
    .await
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
    /// The first page of nominators (coldkey order); the rest at `/v1/hotkeys/{hk}/nominators`.
    pub nominators: Vec<NominatorView>,
    /// Cursor of the next page of nominators, if there are more.
    pub nominators_next_cursor: Option<String>,
    /// Subnets the hotkey is registered on: [netuid, uid].
    pub registrations: Vec<(u16, u16)>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PendingTakeView {
    pub take: u16,
    pub effective_at: u64,
}

fn nominators_page(
    ledger: &Ledger,
    hotkey: &AccountId,
    after: Option<&AccountId>,
    limit: usize,
) -> Result<Page<NominatorView>, ApiError> {
    let list = ledger.nominators_page(hotkey, after, limit)?;
    Ok(
        Page::new(list, limit, |(ck, _)| ck.to_ss58()).map(|(ck, a)| NominatorView {
            coldkey: ck.to_ss58(),
            amount: a.to_string(),
        }),
    )
}

fn hotkey_not_found(id: &AccountId) -> ApiError {
    ApiError::not_found(
        "hotkey_not_found",
        format!("hotkey {id} has no stake and no owner"),
    )
}

/// A hotkey: its owner, total stake, take (current and pending), registrations and the first
/// page of its nominators.
#[utoipa::path(get, path = "/v1/hotkeys/{hk}", tag = "accounts",
    params(AtQuery, ("hk" = String, Path, description = "hotkey: SS58 address or 0x hex public key")),
    responses((status = 200, body = HotkeyView), (status = 400, description = "bad_address"),
        (status = 404, description = "hotkey_not_found")))]
pub async fn hotkey(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(hk): ApiPath<String>,
) -> Result<Json<Envelope<HotkeyView>>, ApiError> {
    let id = parse_address(&hk)?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        let info = ledger.hotkey(&id)?.ok_or_else(|| hotkey_not_found(&id))?;
        let first = nominators_page(ledger, &id, None, crate::extract::DEFAULT_PAGE as usize)?;
        Ok(HotkeyView {
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
            nominators: first.items,
            nominators_next_cursor: first.next_cursor,
            registrations: ledger.registrations(&id)?,
        })
    })
    .await
}

/// Who stakes behind a hotkey, a page at a time in coldkey order.
#[utoipa::path(get, path = "/v1/hotkeys/{hk}/nominators", tag = "accounts",
    params(AtQuery, ("hk" = String, Path, description = "hotkey: SS58 address or 0x hex public key"), PageQuery),
    responses((status = 200, body = Page<NominatorView>), (status = 400, description = "bad_address, bad_cursor"),
        (status = 404, description = "hotkey_not_found")))]
pub async fn nominators(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(hk): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Envelope<Page<NominatorView>>>, ApiError> {
    let id = parse_address(&hk)?;
    let after = parse_cursor::<AccountId>(q.cursor.as_deref())?;
    let limit = page_limit(q.limit)?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        ledger.hotkey(&id)?.ok_or_else(|| hotkey_not_found(&id))?;
        nominators_page(ledger, &id, after.as_ref(), limit)
    })
    .await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct DelegateView {
    pub hotkey: String,
    pub owner: String,
    pub total_stake: String,
    pub take: u16,
}

/// Hotkeys with an owner (the delegates nominators choose from), a page at a time in hotkey
/// order; sort by stake on the client (`tensorchain stake delegates` does).
#[utoipa::path(get, path = "/v1/hotkeys", tag = "accounts", params(AtQuery, PageQuery),
    responses((status = 200, body = Page<DelegateView>), (status = 400, description = "bad_cursor")))]
pub async fn hotkeys(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Envelope<Page<DelegateView>>>, ApiError> {
    let after = parse_cursor::<AccountId>(q.cursor.as_deref())?;
    let limit = page_limit(q.limit)?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        let height = ledger.head().height;
        let list = ledger.hotkeys_page(after.as_ref(), limit)?;
        Ok(
            Page::new(list, limit, |(hk, _)| hk.to_ss58()).map(|(hk, info)| DelegateView {
                hotkey: hk.to_ss58(),
                owner: info.owner.to_ss58(),
                total_stake: info.total_stake.to_string(),
                take: info.take_at(height),
            }),
        )
    })
    .await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AccountTxView {
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// The block's time.
    pub time_ms: u64,
    pub tx: TxView,
}

/// `height.index` of the last item of a page of an account's transactions.
fn account_tx_cursor(c: &str) -> Result<(u64, u32), ApiError> {
    c.split_once('.')
        .filter(|_| c.len() <= MAX_CURSOR_CHARS)
        .and_then(|(h, i)| Some((h.parse().ok()?, i.parse().ok()?)))
        .ok_or_else(|| bad_cursor(c))
}

/// Included transactions that touched an account, newest first: ones it signed and ones whose
/// events name it (a transfer's recipient, a hotkey staked to, …). The cursor is `height.index`.
/// Indexed as blocks are committed: a data dir from before the index lists no older ones.
#[utoipa::path(get, path = "/v1/accounts/{addr}/txs", tag = "accounts",
    params(("addr" = String, Path, description = "SS58 address or 0x hex public key"), PageQuery),
    responses((status = 200, body = Page<AccountTxView>), (status = 400, description = "bad_address, bad_cursor")))]
pub async fn txs(
    State(st): State<AppState>,
    ApiPath(addr): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Envelope<Page<AccountTxView>>>, ApiError> {
    let id = parse_address(&addr)?;
    let before = q.cursor.as_deref().map(account_tx_cursor).transpose()?;
    let limit = page_limit(q.limit)?;
    read(&st, move |api| {
        let ledger = api.ledger();
        let found = ledger.account_txs_page(&id, before, limit)?;
        // The cursor comes from the index, so a page is never cut short by what it reads next.
        let next_cursor = (found.len() >= limit)
            .then(|| found.last().map(|(h, i)| format!("{h}.{i}")))
            .flatten();
        let mut items: Vec<AccountTxView> = Vec::new();
        // Newest first, so one block's transactions are adjacent: each block is read once.
        let mut block: Option<tensorchain_primitives::Block> = None;
        for (height, index) in found {
            if block.as_ref().is_none_or(|b| b.header.height != height) {
                block = ledger.block(height)?.map(|c| c.block);
            }
            let Some(b) = &block else { continue };
            if let Some(stx) = b.txs.get(index as usize) {
                items.push(AccountTxView {
                    height,
                    index,
                    time_ms: b.header.time_ms,
                    tx: TxView::from(stx),
                });
            }
        }
        Ok(Page { items, next_cursor })
    })
    .await
}
