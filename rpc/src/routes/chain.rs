use super::{read_at, AtQuery};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::views::Envelope;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tensorchain_ledger::reward::{block_reward, halving_era, next_halving_at};
use tensorchain_primitives::MAX_SUPPLY;
use utoipa::ToSchema;

/// Subnets the chain supports (netuid 1..=128; root is 0).
const SUBNET_LIMIT: u16 = 128;

#[derive(Serialize, ToSchema)]
pub struct ChainView {
    pub chain_id: String,
    pub genesis_hash: String,
    pub block_time_ms: u64,
    pub token: String,
    pub decimals: u8,
    pub max_supply: String,
    pub total_issuance: String,
    pub block_reward: String,
    pub next_halving_at: Option<String>,
    pub subnet_limit: u16,
    /// Fixed fee per call name (`transfer`, `add_stake`, …), in rao.
    #[schema(value_type = Object)]
    pub fees: serde_json::Value,
    /// Devnets only: `{amount, difficulty}` of the proof-of-work faucet; null elsewhere.
    #[schema(value_type = Option<Object>)]
    pub faucet: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct SupplyView {
    pub max_supply: String,
    pub total_issuance: String,
    /// Σ free balances, a running total kept by every balance write (not derived from issuance).
    pub free: String,
    pub staked: String,
    /// Stake leaving validators, still slashable until its release block.
    pub unbonding: String,
    pub pending_emission: String,
    /// Taken out of issuance (and so mintable again): registration burns, epoch dust, slashes.
    pub recycled: String,
    /// The part of `recycled` cut from equivocating validators.
    pub slashed: String,
    /// total_issuance == free + staked + unbonding + pending_emission.
    pub invariant_ok: bool,
    pub block_reward: String,
    pub halvings: Option<u32>,
    pub next_halving_at: Option<String>,
}

#[utoipa::path(get, path = "/v1/chain", tag = "chain", params(AtQuery), responses((status = 200, body = ChainView)))]
pub async fn chain(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
) -> Result<Json<Envelope<ChainView>>, ApiError> {
    read_at(&st, at.at, |api| {
        let ledger = api.ledger();
        let g = ledger.globals()?;
        let params = ledger.params();
        Ok(ChainView {
            chain_id: params.chain_id.clone(),
            genesis_hash: ledger.genesis_hash().to_hex(),
            block_time_ms: params.block_time_ms,
            token: "TAO".into(),
            decimals: 9,
            max_supply: MAX_SUPPLY.to_string(),
            total_issuance: g.total_issuance.to_string(),
            block_reward: block_reward(g.total_issuance).to_string(),
            next_halving_at: next_halving_at(g.total_issuance).map(|v| v.to_string()),
            subnet_limit: SUBNET_LIMIT,
            fees: params
                .fees
                .by_call_name()
                .into_iter()
                .map(|(name, fee)| (name.to_string(), serde_json::Value::String(fee.to_string())))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            faucet: params.faucet.as_ref().map(
                |f| serde_json::json!({"amount": f.amount.to_string(), "difficulty": f.difficulty}),
            ),
        })
    })
    .await
}

#[utoipa::path(get, path = "/v1/supply", tag = "chain", params(AtQuery), responses((status = 200, body = SupplyView)))]
pub async fn supply(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
) -> Result<Json<Envelope<SupplyView>>, ApiError> {
    read_at(&st, at.at, |api| {
        let g = api.ledger().globals()?;
        Ok(SupplyView {
            max_supply: MAX_SUPPLY.to_string(),
            total_issuance: g.total_issuance.to_string(),
            free: g.total_free.to_string(),
            staked: g.total_stake.to_string(),
            unbonding: g.total_unbonding.to_string(),
            pending_emission: g.pending_emission.to_string(),
            recycled: g.total_recycled.to_string(),
            slashed: g.total_slashed.to_string(),
            invariant_ok: g.invariant_ok(),
            block_reward: block_reward(g.total_issuance).to_string(),
            halvings: halving_era(g.total_issuance),
            next_halving_at: next_halving_at(g.total_issuance).map(|v| v.to_string()),
        })
    })
    .await
}
