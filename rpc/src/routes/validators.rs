use super::{read_at, AtQuery, PageQuery};
use crate::error::ApiError;
use crate::extract::{page_limit, parse_cursor, ApiQuery};
use crate::views::Envelope;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use tensorchain_primitives::AccountId;
use utoipa::ToSchema;

/// Commits looked back through for each validator's last signature.
const SIGNED_LOOKBACK: u64 = 100;

#[derive(Serialize, ToSchema)]
pub struct ValidatorView {
    pub hotkey: String,
    /// Voting power: the hotkey's total stake (rao) when the set was computed.
    pub voting_power: String,
    /// Share of the set's power, 0..1.
    pub power_share: f64,
    /// The latest block (among the last 100) whose commit carries its precommit.
    pub last_signed_height: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct CandidateView {
    pub hotkey: String,
    pub registered_at: u64,
    pub stake: String,
}

#[derive(Serialize, ToSchema)]
pub struct JailView {
    pub hotkey: String,
    pub jailed_until: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ValidatorsView {
    /// The set that signs the next block, ordered by hotkey.
    pub validators: Vec<ValidatorView>,
    pub total_power: String,
    /// A different set already scheduled, and the first height it signs.
    pub next_set_from: Option<u64>,
    pub next_set: Vec<ValidatorView>,
    /// Hotkeys that sent register_validator, a page at a time in hotkey order (`?limit=&cursor=`
    /// page them); the top `max_validators` by stake form the set at each validator epoch.
    pub candidates: Vec<CandidateView>,
    /// Cursor of the next page of candidates, if there are more.
    pub next_cursor: Option<String>,
    pub jailed: Vec<JailView>,
    pub max_validators: u32,
    pub validator_epoch: u64,
}

fn views(
    set: &[tensorchain_primitives::Validator],
    last: &BTreeMap<AccountId, u64>,
) -> (Vec<ValidatorView>, u128) {
    let total: u128 = set.iter().map(|v| v.power as u128).sum();
    let list = set
        .iter()
        .map(|v| ValidatorView {
            hotkey: v.hotkey.to_ss58(),
            voting_power: v.power.to_string(),
            power_share: if total == 0 {
                0.0
            } else {
                v.power as f64 / total as f64
            },
            last_signed_height: last.get(&v.hotkey).copied(),
        })
        .collect();
    (list, total)
}

/// The chain's validator set (at most `max_validators`), what is scheduled next, the jailed and a
/// page of candidates.
#[utoipa::path(get, path = "/v1/validators", tag = "chain", params(AtQuery, PageQuery),
    responses((status = 200, body = ValidatorsView), (status = 400, description = "bad_cursor")))]
pub async fn list(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Envelope<ValidatorsView>>, ApiError> {
    let after = parse_cursor::<AccountId>(q.cursor.as_deref())?;
    let limit = page_limit(q.limit)?;
    read_at(&st, at.at, move |api| view(api.ledger(), after, limit)).await
}

fn view(
    ledger: &tensorchain_ledger::Ledger,
    after: Option<AccountId>,
    limit: usize,
) -> Result<ValidatorsView, ApiError> {
    let head = ledger.head().height;
    let mut last: BTreeMap<AccountId, u64> = BTreeMap::new();
    for h in (head.saturating_sub(SIGNED_LOOKBACK - 1).max(1)..=head).rev() {
        if let Some(c) = ledger.commit(h)? {
            for s in c.signatures {
                last.entry(s.validator).or_insert(h);
            }
        }
    }
    let current = ledger.validators()?;
    let sched = ledger.validator_schedule()?;
    let next = sched
        .sets
        .iter()
        .find(|(from, set)| *from > head + 1 && *set != current);
    let (validators, total) = views(&current, &last);
    let candidates = ledger.validator_candidates_page(after.as_ref(), limit)?;
    let next_cursor = (candidates.len() >= limit)
        .then(|| candidates.last().map(|c| c.hotkey.to_ss58()))
        .flatten();
    let jailed = ledger.jails()?;
    let params = &ledger.params().validators;
    Ok(ValidatorsView {
        validators,
        total_power: total.to_string(),
        next_set_from: next.map(|(f, _)| *f),
        next_set: next.map(|(_, s)| views(s, &last).0).unwrap_or_default(),
        candidates: candidates
            .into_iter()
            .map(|c| CandidateView {
                hotkey: c.hotkey.to_ss58(),
                registered_at: c.registered_at,
                stake: c.stake.to_string(),
            })
            .collect(),
        jailed: jailed
            .into_iter()
            .map(|j| JailView {
                hotkey: j.hotkey.to_ss58(),
                jailed_until: j.until,
            })
            .collect(),
        next_cursor,
        max_validators: params.max_validators,
        validator_epoch: params.epoch,
    })
}
