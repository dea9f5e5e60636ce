//! Subnets: the list, one subnet, its hyperparameters, prices, the columnar metagraph, neurons,
//! weights, bonds and past epochs.

use super::proofs::{proof_of, ProofQuery};
use super::{read_at, AtQuery, Page, PageQuery};
use crate::error::ApiError;
use crate::extract::{page_limit, parse_cursor, ApiPath, ApiQuery};
use crate::views::Envelope;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tensorchain_ledger::runtime::subnets::{self, EpochSummary, Neuron, Row, Subnet};
use tensorchain_ledger::Ledger;
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct SubnetView {
    pub netuid: u16,
    pub name: String,
    pub owner: String,
    pub owner_hotkey: String,
    pub tempo: u16,
    pub blocks_since_last_epoch: u64,
    pub n: u16,
    pub max_n: u16,
    /// Share of each block's reward this subnet receives: exactly what the emission split uses.
    pub emission_share: f64,
    /// False until a validator permit holder has stake: until then the subnet gets no emission.
    pub emission_enabled: bool,
    pub burn: String,
    pub pending_emission: String,
    pub registered_at: u64,
    /// Declared in the chain spec: no owner (`owner` is the all-zero key), owner cut recycled.
    pub genesis: bool,
    /// How neurons register: "burn", "pow" or "both".
    pub registration: String,
    /// Hashes per PoW solution on average, when PoW registration is on.
    pub pow_difficulty: Option<u64>,
}

/// The subnet's share of the block reward (I32F32 bits from the ledger) as a fraction.
fn share_of(shares: &[(u16, u64)], netuid: u16) -> f64 {
    shares.iter().find(|e| e.0 == netuid).map_or(0, |e| e.1) as f64 / (1u64 << 32) as f64
}

fn subnet_view(s: &Subnet, head: u64, share: f64) -> SubnetView {
    SubnetView {
        netuid: s.netuid,
        name: s.identity.clone(),
        owner: s.owner_coldkey.to_ss58(),
        owner_hotkey: s.owner_hotkey.to_ss58(),
        tempo: s.hyper.tempo,
        blocks_since_last_epoch: head.saturating_sub(s.last_epoch_block),
        n: s.n,
        max_n: s.hyper.max_allowed_uids,
        emission_share: share,
        emission_enabled: s.emission_enabled,
        burn: s.burn.to_string(),
        pending_emission: s.pending.to_string(),
        registered_at: s.registered_at,
        genesis: s.genesis,
        registration: s.registration.name().into(),
        pow_difficulty: s.pow.as_ref().map(|p| p.difficulty),
    }
}

fn not_found(netuid: u16) -> ApiError {
    ApiError::not_found(
        "subnet_not_found",
        format!("subnet {netuid} does not exist"),
    )
}

fn parse_u16(what: &'static str, s: &str) -> Result<u16, ApiError> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            if what == "netuid" {
                "bad_netuid"
            } else {
                "bad_uid"
            },
            format!("'{s}' is not a {what}"),
            "use a number from 0 to 65535",
        )
    })
}

fn load(ledger: &Ledger, netuid: u16) -> Result<Subnet, ApiError> {
    ledger.subnet(netuid)?.ok_or_else(|| not_found(netuid))
}

/// Subnets by netuid, a page at a time.
#[utoipa::path(get, path = "/v1/subnets", tag = "subnets", params(AtQuery, PageQuery),
    responses((status = 200, body = Page<SubnetView>), (status = 400, description = "bad_cursor")))]
pub async fn list(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Envelope<Page<SubnetView>>>, ApiError> {
    let after = parse_cursor::<u16>(q.cursor.as_deref())?;
    let limit = page_limit(q.limit)?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        // At most 128 subnets: their shares are one pass over the subnet records.
        let shares = ledger.emission_shares()?;
        let head = ledger.head().height;
        let page = ledger.subnets_page(after, limit)?;
        Ok(Page::new(page, limit, |s| s.netuid.to_string())
            .map(|s| subnet_view(&s, head, share_of(&shares, s.netuid))))
    })
    .await
}

/// The lock cost of creating a subnet now (burned; it doubles after each creation and decays).
#[utoipa::path(get, path = "/v1/subnets/registration-cost", tag = "subnets", params(AtQuery), responses((status = 200, description = "{lock_cost}")))]
pub async fn lock_cost(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    read_at(&st, at.at, |api| {
        let cost = api.ledger().subnet_lock_cost()?;
        Ok(json!({ "lock_cost": cost.to_string() }))
    })
    .await
}

#[utoipa::path(get, path = "/v1/subnets/{netuid}", tag = "subnets",
    params(AtQuery, ("netuid" = u16, Path)), responses((status = 200, body = SubnetView), (status = 400, description = "bad_netuid"),
        (status = 404, description = "subnet_not_found")))]
pub async fn get(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(netuid): ApiPath<String>,
) -> Result<Json<Envelope<SubnetView>>, ApiError> {
    let netuid = parse_u16("netuid", &netuid)?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        let s = load(ledger, netuid)?;
        let share = share_of(&ledger.emission_shares()?, netuid);
        Ok(subnet_view(&s, ledger.head().height, share))
    })
    .await
}

#[utoipa::path(get, path = "/v1/subnets/{netuid}/hyperparameters", tag = "subnets",
    params(AtQuery, ("netuid" = u16, Path)), responses((status = 200, description = "name → {value, owner_settable}"),
        (status = 400, description = "bad_netuid"), (status = 404, description = "subnet_not_found")))]
pub async fn hyperparameters(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(netuid): ApiPath<String>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let netuid = parse_u16("netuid", &netuid)?;
    read_at(&st, at.at, move |api| {
        let s = load(api.ledger(), netuid)?;
        let map: Map<String, Value> = s
            .hyper
            .list()
            .into_iter()
            .map(|(name, value, owner)| {
                (
                    name.to_string(),
                    json!({"value": value, "owner_settable": owner}),
                )
            })
            .collect();
        Ok(Value::Object(map))
    })
    .await
}

/// The burn price of registering a neuron now.
#[utoipa::path(get, path = "/v1/subnets/{netuid}/registration-cost", tag = "subnets",
    params(AtQuery, ("netuid" = u16, Path)), responses((status = 200, description = "{burn}"),
        (status = 400, description = "bad_netuid"), (status = 404, description = "subnet_not_found")))]
pub async fn burn_cost(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(netuid): ApiPath<String>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let netuid = parse_u16("netuid", &netuid)?;
    read_at(&st, at.at, move |api| {
        let s = load(api.ledger(), netuid)?;
        Ok(json!({ "netuid": netuid, "burn": s.burn.to_string(), "min_burn": s.hyper.min_burn.to_string(), "max_burn": s.hyper.max_burn.to_string() }))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetagraphQuery {
    /// Comma-separated columns to return (default: all).
    pub fields: Option<String>,
}

const FIELDS: [&str; 17] = [
    "uid",
    "hotkey",
    "coldkey",
    "stake",
    "rank",
    "trust",
    "consensus",
    "incentive",
    "dividends",
    "emission",
    "validator_trust",
    "validator_permit",
    "active",
    "last_update",
    "registered_at",
    "immune_until",
    "axon",
];

fn score(v: u16) -> f64 {
    v as f64 / 65535.0
}

fn column(name: &str, neurons: &[(Neuron, u64)], s: &Subnet) -> Value {
    let col = |f: &dyn Fn(&Neuron, u64) -> Value| {
        Value::Array(neurons.iter().map(|(n, stake)| f(n, *stake)).collect())
    };
    match name {
        "uid" => Value::Array((0..neurons.len()).map(|u| json!(u)).collect()),
        "hotkey" => col(&|n, _| json!(n.hotkey)),
        "coldkey" => col(&|n, _| json!(n.coldkey)),
        "stake" => col(&|_, s| json!(s.to_string())),
        "rank" => col(&|n, _| json!(score(n.rank))),
        "trust" => col(&|n, _| json!(score(n.trust))),
        "consensus" => col(&|n, _| json!(score(n.consensus))),
        "incentive" => col(&|n, _| json!(score(n.incentive))),
        "dividends" => col(&|n, _| json!(score(n.dividends))),
        "emission" => col(&|n, _| json!(n.emission.to_string())),
        "validator_trust" => col(&|n, _| json!(score(n.validator_trust))),
        "validator_permit" => col(&|n, _| json!(n.validator_permit)),
        "active" => col(&|n, _| json!(n.active)),
        "last_update" => col(&|n, _| json!(n.last_update)),
        "registered_at" => col(&|n, _| json!(n.registered_at)),
        "immune_until" => col(&|n, _| json!(n.registered_at + s.hyper.immunity_period as u64)),
        "axon" => col(&|n, _| match &n.axon {
            Some(a) => json!(format!(
                "{}:{}",
                std::net::IpAddr::from(a.ip).to_canonical(),
                a.port
            )),
            None => Value::Null,
        }),
        _ => Value::Null,
    }
}

/// The requested metagraph columns, each once, in the order given (all of them if none are given).
fn parse_fields(list: Option<&str>) -> Result<Vec<&'static str>, ApiError> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(FIELDS.to_vec());
    };
    let mut fields = Vec::new();
    for name in list.split(',').map(str::trim) {
        let field = FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
            let shown: String = name.chars().take(40).collect();
            ApiError::bad_request(
                "unknown_field",
                format!("unknown metagraph field '{shown}'"),
                "fields are listed in /openapi.json",
            )
        })?;
        if !fields.contains(field) {
            fields.push(*field);
        }
    }
    Ok(fields)
}

/// The whole metagraph, columnar; scores as floats in [0, 1] (stored as u16 / 65535).
#[utoipa::path(get, path = "/v1/subnets/{netuid}/metagraph", tag = "subnets",
    params(AtQuery, ("netuid" = u16, Path), MetagraphQuery),
    responses((status = 200, description = "columns: uid, hotkey, coldkey, stake, rank, trust, consensus, incentive, dividends, emission, validator_trust, validator_permit, active, last_update, registered_at, immune_until, axon"),
        (status = 400, description = "unknown_field, bad_netuid"), (status = 404, description = "subnet_not_found")))]
pub async fn metagraph(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(netuid): ApiPath<String>,
    ApiQuery(q): ApiQuery<MetagraphQuery>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let netuid = parse_u16("netuid", &netuid)?;
    let fields = parse_fields(q.fields.as_deref())?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        let s = load(ledger, netuid)?;
        let mut neurons = Vec::new();
        for (n, _, _) in ledger.neurons(netuid)? {
            let stake = ledger.hotkey(&n.hotkey)?.map_or(0, |h| h.total_stake);
            neurons.push((n, stake));
        }
        let mut out = Map::new();
        out.insert("netuid".into(), json!(netuid));
        out.insert("n".into(), json!(neurons.len()));
        out.insert("block".into(), json!(ledger.head().height));
        for f in fields {
            out.insert(f.to_string(), column(f, &neurons, &s));
        }
        Ok(Value::Object(out))
    })
    .await
}

#[utoipa::path(get, path = "/v1/subnets/{netuid}/neurons/{uid}", tag = "subnets",
    params(AtQuery, ProofQuery, ("netuid" = u16, Path), ("uid" = u16, Path)), responses((status = 200, description = "one neuron; with ?proof=true its record's proof"),
        (status = 400, description = "bad_netuid, bad_uid"), (status = 404, description = "subnet_not_found, neuron_not_found")))]
pub async fn neuron(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiQuery(proof): ApiQuery<ProofQuery>,
    ApiPath((netuid, uid)): ApiPath<(String, String)>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let (netuid, uid) = (parse_u16("netuid", &netuid)?, parse_u16("uid", &uid)?);
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        let s = load(ledger, netuid)?;
        // One neuron's three records, whatever the subnet's size.
        let view = ledger.view();
        let n: Neuron = view
            .get(&subnets::neuron_key(netuid, uid))?
            .ok_or_else(|| {
                ApiError::not_found(
                    "neuron_not_found",
                    format!("subnet {netuid} has no uid {uid} (n = {})", s.n),
                )
            })?;
        let w: Row = view
            .get(&subnets::weights_key(netuid, uid))?
            .unwrap_or_default();
        let b: Row = view
            .get(&subnets::bonds_key(netuid, uid))?
            .unwrap_or_default();
        let stake = ledger.hotkey(&n.hotkey)?.map_or(0, |h| h.total_stake);
        let one = vec![(n, stake)];
        let mut out = Map::new();
        for f in FIELDS {
            let v = column(f, &one, &s);
            out.insert(f.to_string(), v.get(0).cloned().unwrap_or(Value::Null));
        }
        out.insert("uid".into(), json!(uid));
        out.insert("weights".into(), json!(w));
        out.insert("bonds".into(), json!(b));
        if let Some(p) = proof_of(ledger, &subnets::neuron_key(netuid, uid), proof.proof)? {
            out.insert("proof".into(), json!(p));
        }
        Ok(Value::Object(out))
    })
    .await
}

fn rows(ledger: &Ledger, netuid: u16, bonds: bool) -> Result<Value, ApiError> {
    load(ledger, netuid)?;
    let mut out = Map::new();
    for (uid, (_, w, b)) in ledger.neurons(netuid)?.into_iter().enumerate() {
        let row = if bonds { b } else { w };
        if !row.is_empty() {
            out.insert(uid.to_string(), json!(row));
        }
    }
    Ok(Value::Object(out))
}

/// Stored weight rows, sparse: {"uid": [[uid, u16], ...]}.
#[utoipa::path(get, path = "/v1/subnets/{netuid}/weights", tag = "subnets", params(AtQuery, ("netuid" = u16, Path)),
    responses((status = 200, description = "sparse rows"), (status = 400, description = "bad_netuid"),
        (status = 404, description = "subnet_not_found")))]
pub async fn weights(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(netuid): ApiPath<String>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let netuid = parse_u16("netuid", &netuid)?;
    read_at(&st, at.at, move |api| rows(api.ledger(), netuid, false)).await
}

/// Stored bond rows, sparse: {"uid": [[uid, u16], ...]}.
#[utoipa::path(get, path = "/v1/subnets/{netuid}/bonds", tag = "subnets", params(AtQuery, ("netuid" = u16, Path)),
    responses((status = 200, description = "sparse rows"), (status = 400, description = "bad_netuid"),
        (status = 404, description = "subnet_not_found")))]
pub async fn bonds(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(netuid): ApiPath<String>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    let netuid = parse_u16("netuid", &netuid)?;
    read_at(&st, at.at, move |api| rows(api.ledger(), netuid, true)).await
}

/// Past epochs, newest first, a page at a time: pending, owner cut, paid to miners and
/// validators, recycled. The cursor is a block height.
#[utoipa::path(get, path = "/v1/subnets/{netuid}/epochs", tag = "subnets", params(AtQuery, ("netuid" = u16, Path), PageQuery),
    responses((status = 200, description = "{items: epoch summaries, next_cursor}"), (status = 400, description = "bad_cursor, bad_netuid"),
        (status = 404, description = "subnet_not_found")))]
pub async fn epochs(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
    ApiPath(netuid): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Envelope<Page<EpochSummary>>>, ApiError> {
    let netuid = parse_u16("netuid", &netuid)?;
    let before = parse_cursor::<u64>(q.cursor.as_deref())?;
    let limit = page_limit(q.limit)?;
    read_at(&st, at.at, move |api| {
        let ledger = api.ledger();
        load(ledger, netuid)?;
        let list = ledger.epochs_page(netuid, before, limit)?;
        Ok(Page::new(list, limit, |e| e.block.to_string()))
    })
    .await
}

/// The root network: its validators and their subnet weights, and each subnet's current share.
#[utoipa::path(get, path = "/v1/root", tag = "subnets", params(AtQuery), responses((status = 200, description = "{validators, shares, computed_at}")))]
pub async fn root(
    State(st): State<AppState>,
    ApiQuery(at): ApiQuery<AtQuery>,
) -> Result<Json<Envelope<Value>>, ApiError> {
    read_at(&st, at.at, |api| {
        let ledger = api.ledger();
        let root = ledger.root()?;
        let (members, computed) = (root.members, root.shares);
        let subnets = ledger.subnets()?;
        let shares: Vec<Value> = match &computed {
            Some(c) => c
                .shares
                .iter()
                .map(|(n, bits)| json!({"netuid": n, "share": *bits as f64 / 4294967296.0}))
                .collect(),
            None => subnets
                .iter()
                .map(|s| json!({"netuid": s.netuid, "share": 1.0 / subnets.len() as f64}))
                .collect(),
        };
        let validators: Vec<Value> = members
            .into_iter()
            .map(|m| json!({"hotkey": m.hotkey, "stake": m.stake.to_string(), "weights": m.weights}))
            .collect();
        Ok(json!({
            "validators": validators,
            "shares": shares,
            "rule": if computed.is_some() { "root consensus" } else { "equal shares (no root weights yet)" },
            "computed_at": computed.map(|c| c.block),
        }))
    })
    .await
}
