//! The JSON snapshot format of `docs/yuma-snapshot.md`: one epoch, or a sequence with `carry`,
//! `quantize`, `set_weights` and `reset_bonds_for`. Used by `tensorchain yuma simulate` and by the
//! reference-case tests. Malformed input gets an error naming the offending field, and a field
//! that is given always takes effect: nothing is silently ignored.

use crate::epoch::{run_epoch, top_k_nonzero};
use crate::fx::{from_u16, normalize_u64, to_u16, Fx, ZERO};
use crate::types::{BondRow, EpochInput, EpochOutput, Params, SparseRow};
use serde_json::{json, Map, Value};
use thiserror::Error;

/// Largest subnet the tool accepts (the chain's `max_allowed_uids` limit).
pub const MAX_UIDS: usize = 4096;
/// Above this many uids, matrices are printed sparse (`{"i": [[j, v], ...]}`) instead of dense.
const DENSE_OUTPUT_MAX: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct SnapshotError {
    pub path: String,
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> SnapshotError {
    SnapshotError {
        path: path.to_string(),
        message: message.into(),
    }
}

type R<T> = Result<T, SnapshotError>;

fn non_negative(v: &Value, path: &str) -> R<f64> {
    let x = v
        .as_f64()
        .ok_or_else(|| err(path, format!("expected a number, got {v}")))?;
    if !x.is_finite() {
        return Err(err(path, "must be a finite number"));
    }
    if x < 0.0 {
        return Err(err(path, format!("must not be negative, got {x}")));
    }
    Ok(x)
}

fn block(v: &Value, path: &str) -> R<u64> {
    if let Some(b) = v.as_u64() {
        return Ok(b);
    }
    let x = non_negative(v, path)?;
    if x.fract() != 0.0 || x > u64::MAX as f64 {
        return Err(err(path, format!("expected a whole block number, got {x}")));
    }
    Ok(x as u64)
}

fn rao(v: &Value, path: &str) -> R<u64> {
    if let Some(r) = v.as_u64() {
        return Ok(r);
    }
    let x = non_negative(v, path)?;
    if x >= u64::MAX as f64 {
        return Err(err(path, "does not fit in u64 rao"));
    }
    Ok(x.floor() as u64)
}

fn u16_value(v: &Value, path: &str) -> R<u16> {
    v.as_u64()
        .filter(|&x| x <= 65535)
        .map(|x| x as u16)
        .ok_or_else(|| err(path, format!("expected an integer in 0..=65535, got {v}")))
}

fn uid(v: &Value, n: usize, path: &str) -> R<u16> {
    match v.as_u64() {
        Some(x) if (x as usize) < n => Ok(x as u16),
        Some(x) => Err(err(path, format!("uid {x} is out of range for n = {n}"))),
        None => Err(err(path, format!("expected a uid, got {v}"))),
    }
}

fn array<'a>(v: &'a Value, path: &str) -> R<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| err(path, format!("expected a list, got {v}")))
}

fn vector<T>(v: &Value, n: usize, path: &str, f: impl Fn(&Value, &str) -> R<T>) -> R<Vec<T>> {
    let a = array(v, path)?;
    if a.len() != n {
        return Err(err(
            path,
            format!("has {} entries, expected n = {n}", a.len()),
        ));
    }
    a.iter()
        .enumerate()
        .map(|(i, x)| f(x, &format!("{path}[{i}]")))
        .collect()
}

/// A u16 matrix given dense (`[[u16; n]; n]`) or sparse (`{"i": [[j, v], ...]}`); null = empty.
fn matrix(v: &Value, n: usize, path: &str) -> R<Vec<SparseRow<u16>>> {
    let mut rows: Vec<SparseRow<u16>> = vec![Vec::new(); n];
    match v {
        Value::Null => {}
        Value::Array(dense) => {
            if dense.len() != n {
                return Err(err(
                    path,
                    format!("has {} rows, expected n = {n}", dense.len()),
                ));
            }
            for (i, row) in dense.iter().enumerate() {
                let p = format!("{path}[{i}]");
                for (j, x) in vector(row, n, &p, u16_value)?.into_iter().enumerate() {
                    if x > 0 {
                        rows[i].push((j as u16, x));
                    }
                }
            }
        }
        Value::Object(sparse) => {
            for (key, row) in sparse {
                let i: usize = key.parse().ok().filter(|&i: &usize| i < n).ok_or_else(|| {
                    err(path, format!("row key '{key}' is not a uid below n = {n}"))
                })?;
                for (k, entry) in array(row, &format!("{path}.{key}"))?.iter().enumerate() {
                    let p = format!("{path}.{key}[{k}]");
                    let pair = array(entry, &p)?;
                    if pair.len() != 2 {
                        return Err(err(&p, "expected [uid, value]"));
                    }
                    let j = uid(&pair[0], n, &p)?;
                    if rows[i].iter().any(|e| e.0 == j) {
                        return Err(err(&p, format!("uid {j} appears twice in row {i}")));
                    }
                    rows[i].push((j, u16_value(&pair[1], &p)?));
                }
                rows[i].sort_by_key(|e| e.0);
            }
        }
        other => {
            return Err(err(
                path,
                format!("expected a matrix (list of rows or {{\"i\": [[j, v]]}}), got {other}"),
            ))
        }
    }
    Ok(rows)
}

fn params(v: &Value, base: &Params, path: &str) -> R<Params> {
    let mut p = base.clone();
    let Some(obj) = v.as_object() else {
        return Err(err(path, "expected an object"));
    };
    for (k, x) in obj {
        let kp = format!("{path}.{k}");
        let b = |x: &Value| {
            x.as_bool()
                .ok_or_else(|| err(&kp, "expected true or false"))
        };
        match k.as_str() {
            "kappa_u16" => p.kappa_u16 = u16_value(x, &kp)?,
            "bonds_moving_average" => {
                p.bonds_moving_average = block(x, &kp)?;
                if p.bonds_moving_average > 1_000_000 {
                    return Err(err(&kp, "must be at most 1000000"));
                }
            }
            "bonds_penalty_u16" => p.bonds_penalty_u16 = u16_value(x, &kp)?,
            "tempo" => p.tempo = block(x, &kp)?,
            "activity_cutoff" => p.activity_cutoff = block(x, &kp)?,
            "max_allowed_validators" => p.max_allowed_validators = u16_value(x, &kp)?,
            "stake_threshold" => p.stake_threshold = rao(x, &kp)?,
            "yuma3" => p.yuma3 = b(x)?,
            "liquid_alpha" => p.liquid_alpha = b(x)?,
            "alpha_low_u16" => p.alpha_low_u16 = u16_value(x, &kp)?,
            "alpha_high_u16" => p.alpha_high_u16 = u16_value(x, &kp)?,
            "alpha_sigmoid_steepness" => {
                p.alpha_sigmoid_steepness = x
                    .as_i64()
                    .and_then(|s| i16::try_from(s).ok())
                    .ok_or_else(|| err(&kp, "expected an integer in -32768..=32767"))?
            }
            "commit_reveal" => p.commit_reveal = b(x)?,
            // Informational in the reference cases: every output is always computed.
            "legacy_outputs" => {}
            _ => return Err(err(&kp, "unknown parameter")),
        }
    }
    if p.alpha_low_u16 > p.alpha_high_u16 {
        return Err(err(path, "alpha_low_u16 must not exceed alpha_high_u16"));
    }
    Ok(p)
}

const EPOCH_KEYS: [&str; 15] = [
    "stake",
    "weights",
    "bonds",
    "last_update",
    "block_at_registration",
    "current_block",
    "validator_permit",
    "owner_uid",
    "last_epoch_block",
    "commit_block",
    "emission",
    "params",
    "set_weights",
    "reset_bonds_for",
    "description",
];

/// Reads one epoch; fields missing from `obj` come from `prev` (the previous epoch of a sequence).
fn epoch_input(obj: &Map<String, Value>, prev: Option<&EpochInput>, path: &str) -> R<EpochInput> {
    if let Some(k) = obj.keys().find(|k| !EPOCH_KEYS.contains(&k.as_str())) {
        return Err(err(&format!("{path}.{k}"), "unknown field"));
    }
    let field = |k: &str| obj.get(k);
    let p = |k: &str| format!("{path}.{k}");
    let stake = match (field("stake"), prev) {
        (Some(v), _) => {
            let a = array(v, &p("stake"))?;
            if a.len() > MAX_UIDS {
                return Err(err(
                    &p("stake"),
                    format!(
                        "{} uids is more than the {MAX_UIDS} a subnet may hold",
                        a.len()
                    ),
                ));
            }
            a.iter()
                .enumerate()
                .map(|(i, x)| rao(x, &format!("{}[{i}]", p("stake"))))
                .collect::<R<Vec<u64>>>()?
        }
        (None, Some(prev)) => prev.stake.clone(),
        (None, None) => return Err(err(&p("stake"), "is required")),
    };
    let n = stake.len();
    // Per-uid fields are inherited only while the subnet size stays the same.
    let prev_same_n = prev.filter(|pr| pr.stake.len() == n);
    let mut params = match field("params") {
        Some(v) => params(
            v,
            prev.map(|pr| &pr.params).unwrap_or(&Params::default()),
            &p("params"),
        )?,
        None => prev.map(|pr| pr.params.clone()).unwrap_or_default(),
    };
    let weights = match (field("weights"), prev_same_n) {
        (Some(v), _) => matrix(v, n, &p("weights"))?,
        (None, Some(pr)) => pr.weights.clone(),
        (None, None) => vec![Vec::new(); n],
    };
    let bonds = match (field("bonds"), prev_same_n) {
        (Some(v), _) => matrix(v, n, &p("bonds"))?
            .into_iter()
            .map(|row| row.into_iter().map(|(j, b)| (j, from_u16(b))).collect())
            .collect(),
        (None, Some(pr)) => pr.bonds.clone(),
        (None, None) => vec![Vec::new(); n],
    };
    let required_vec = |k: &str| -> R<Vec<u64>> {
        match (field(k), prev_same_n) {
            (Some(v), _) => vector(v, n, &p(k), block),
            (None, Some(pr)) if k == "last_update" => Ok(pr.last_update.clone()),
            (None, Some(pr)) => Ok(pr.block_at_registration.clone()),
            (None, None) => Err(err(&p(k), "is required")),
        }
    };
    let last_update = required_vec("last_update")?;
    let block_at_registration = required_vec("block_at_registration")?;
    let current_block = match (field("current_block"), prev) {
        (Some(v), _) => block(v, &p("current_block"))?,
        (None, Some(pr)) => pr.current_block,
        (None, None) => return Err(err(&p("current_block"), "is required")),
    };
    let validator_permit = match (field("validator_permit"), prev_same_n) {
        (Some(Value::Null), _) | (None, None) => top_k_nonzero(
            &normalize_u64(&stake),
            params.max_allowed_validators as usize,
        ),
        (Some(v), _) => vector(v, n, &p("validator_permit"), |x, q| {
            x.as_bool().ok_or_else(|| err(q, "expected true or false"))
        })?,
        (None, Some(pr)) => pr.validator_permit.clone(),
    };
    let owner_uid = match (field("owner_uid"), prev) {
        (Some(Value::Null), _) | (None, None) => None,
        (Some(v), _) => Some(uid(v, n, &p("owner_uid"))?),
        (None, Some(pr)) => pr.owner_uid.filter(|&o| (o as usize) < n),
    };
    let last_epoch_block = match (field("last_epoch_block"), prev) {
        (Some(v), _) => block(v, &p("last_epoch_block"))?,
        (None, Some(pr)) => pr.last_epoch_block,
        (None, None) => 0,
    };
    let commit_block = match (field("commit_block"), prev_same_n) {
        (Some(v), _) => vector(v, n, &p("commit_block"), |x, q| {
            if x.is_null() {
                Ok(None)
            } else {
                block(x, q).map(Some)
            }
        })?,
        (None, Some(pr)) => pr.commit_block.clone(),
        (None, None) => vec![None; n],
    };
    // Commit blocks mean commit-reveal: given ones switch the mask on, unless the snapshot says
    // explicitly that commit-reveal is off, which contradicts them.
    if field("commit_block").is_some() && commit_block.iter().any(Option::is_some) {
        let explicit = field("params").and_then(|v| v.get("commit_reveal"));
        if explicit == Some(&Value::Bool(false)) {
            return Err(err(
                &p("commit_block"),
                "is given but params.commit_reveal is false: drop one of them",
            ));
        }
        params.commit_reveal = true;
    }
    let emission = match (field("emission"), prev) {
        (Some(v), _) => rao(v, &p("emission"))?,
        (None, Some(pr)) => pr.emission,
        (None, None) => 1_000_000_000,
    };
    let mut input = EpochInput {
        stake,
        weights,
        bonds,
        last_update,
        block_at_registration,
        current_block,
        validator_permit,
        owner_uid,
        last_epoch_block,
        commit_block,
        emission,
        params,
    };
    if let Some(v) = field("set_weights") {
        apply_set_weights(&mut input, v, &p("set_weights"))?;
    }
    if let Some(v) = field("reset_bonds_for") {
        let reset = array(v, &p("reset_bonds_for"))?
            .iter()
            .enumerate()
            .map(|(k, x)| uid(x, n, &format!("{}[{k}]", p("reset_bonds_for"))))
            .collect::<R<Vec<u16>>>()?;
        for row in input.bonds.iter_mut() {
            row.retain(|e| !reset.contains(&e.0));
        }
    }
    Ok(input)
}

/// `{"i": [[uid...], [value...]]}`: replaces row i with max-upscaled u16 values and marks it updated.
fn apply_set_weights(input: &mut EpochInput, v: &Value, path: &str) -> R<()> {
    let n = input.stake.len();
    let obj = v
        .as_object()
        .ok_or_else(|| err(path, "expected {\"i\": [[uids], [values]]}"))?;
    for (key, pair) in obj {
        let p = format!("{path}.{key}");
        let i: usize = key
            .parse()
            .ok()
            .filter(|&i: &usize| i < n)
            .ok_or_else(|| err(&p, format!("'{key}' is not a uid below n = {n}")))?;
        let pair = array(pair, &p)?;
        if pair.len() != 2 {
            return Err(err(&p, "expected [[uids], [values]]"));
        }
        let uids = array(&pair[0], &p)?;
        let values = array(&pair[1], &p)?;
        if uids.len() != values.len() {
            return Err(err(
                &p,
                format!("{} uids but {} values", uids.len(), values.len()),
            ));
        }
        let values: Vec<f64> = values
            .iter()
            .enumerate()
            .map(|(k, x)| non_negative(x, &format!("{p}[1][{k}]")))
            .collect::<R<_>>()?;
        let max = values.iter().cloned().fold(0.0, f64::max);
        let mut row: SparseRow<u16> = Vec::new();
        for (k, (u, x)) in uids.iter().zip(&values).enumerate() {
            let j = uid(u, n, &format!("{p}[0][{k}]"))?;
            if row.iter().any(|e| e.0 == j) {
                return Err(err(&p, format!("uid {j} appears twice")));
            }
            let scaled = if max > 0.0 {
                (x / max * 65535.0).round() as u16
            } else {
                0
            };
            row.push((j, scaled));
        }
        row.sort_by_key(|e| e.0);
        input.weights[i] = row;
        input.last_update[i] = input.current_block;
    }
    Ok(())
}

/// Runs a snapshot: one epoch (returns one output) or a sequence (one output per epoch).
pub fn simulate(snapshot: &Value) -> R<(Vec<EpochOutput>, bool)> {
    // A whole reference-case file is accepted too: its snapshot is under "input".
    let snapshot = match snapshot.get("input") {
        Some(inner) if snapshot.get("expected").is_some() => inner,
        _ => snapshot,
    };
    let obj = snapshot
        .as_object()
        .ok_or_else(|| err("input", "expected a JSON object"))?;
    let Some(epochs) = obj.get("epochs") else {
        let input = epoch_input(obj, None, "input")?;
        return Ok((vec![run_epoch(&input)], false));
    };
    let flag = |k: &str| -> R<Option<bool>> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| err(k, "expected true or false")),
        }
    };
    let (carry_flag, quantize) = (flag("carry")?, flag("quantize")?.unwrap_or(false));
    let carry = carry_flag.unwrap_or(false);
    if quantize && !carry {
        return Err(err("quantize", "has no effect without \"carry\": true"));
    }
    let mut outputs = Vec::new();
    let mut prev: Option<EpochInput> = None;
    for (t, e) in array(epochs, "epochs")?.iter().enumerate() {
        let path = format!("epochs[{t}]");
        let e = e
            .as_object()
            .ok_or_else(|| err(&path, "expected an object"))?;
        // A later epoch without bonds must say where they come from: silently reusing the
        // previous input's bonds (not Yuma's new ones) surprised users.
        if t > 0 && carry_flag.is_none() && !e.contains_key("bonds") {
            return Err(err(
                &format!("{path}.bonds"),
                "missing: give them, or set \"carry\": true to start from the previous epoch's \
                 new bonds (\"carry\": false keeps the previous input's bonds)",
            ));
        }
        let mut input = epoch_input(e, prev.as_ref(), &path)?;
        if carry && t > 0 && !e.contains_key("bonds") {
            if let (Some(pr), Some(out)) = (&prev, outputs.last()) {
                input.bonds = carried_bonds(pr, out, quantize);
                if !e.contains_key("validator_permit") {
                    input.validator_permit = out.new_validator_permit.clone();
                }
            }
        }
        let out = run_epoch(&input);
        outputs.push(out);
        prev = Some(input);
    }
    Ok((outputs, true))
}

/// The bonds the next epoch starts from: new rows where written, cleared rows empty, others kept.
fn carried_bonds(prev: &EpochInput, out: &EpochOutput, quantize: bool) -> Vec<SparseRow<Fx>> {
    (0..out.n)
        .map(|i| match &out.new_bonds_u16[i] {
            BondRow::Untouched => prev.bonds.get(i).cloned().unwrap_or_default(),
            BondRow::Cleared => Vec::new(),
            BondRow::Set(row) if quantize => row.iter().map(|&(j, b)| (j, from_u16(b))).collect(),
            BondRow::Set(_) => out.new_bonds[i]
                .iter()
                .filter(|e| e.1 > ZERO)
                .copied()
                .collect(),
        })
        .collect()
}

fn reals(v: &[Fx]) -> Value {
    json!(v.iter().map(|x| x.to_num::<f64>()).collect::<Vec<f64>>())
}

fn u16s(v: &[Fx]) -> Value {
    json!(v.iter().map(|&x| to_u16(x)).collect::<Vec<u16>>())
}

fn matrix_json<T: Copy>(n: usize, rows: &[SparseRow<T>], zero: T, f: impl Fn(T) -> Value) -> Value {
    if n <= DENSE_OUTPUT_MAX {
        json!(rows
            .iter()
            .map(|row| {
                let mut dense = vec![f(zero); n];
                for &(j, x) in row {
                    dense[j as usize] = f(x);
                }
                Value::Array(dense)
            })
            .collect::<Vec<_>>())
    } else {
        let mut m = Map::new();
        for (i, row) in rows.iter().enumerate().filter(|(_, r)| !r.is_empty()) {
            m.insert(
                i.to_string(),
                json!(row
                    .iter()
                    .map(|&(j, x)| json!([j, f(x)]))
                    .collect::<Vec<_>>()),
            );
        }
        Value::Object(m)
    }
}

/// The output object with the keys of the reference cases (and a few extra).
pub fn output_json(o: &EpochOutput) -> Value {
    let n = o.n;
    let real = |x: Fx| json!(x.to_num::<f64>());
    let bond_rows: Vec<Value> = o
        .new_bonds_u16
        .iter()
        .map(|row| match row {
            BondRow::Untouched => Value::Null,
            BondRow::Cleared => json!([]),
            BondRow::Set(r) if n <= DENSE_OUTPUT_MAX => {
                let mut dense = vec![0u16; n];
                for &(j, b) in r {
                    dense[j as usize] = b;
                }
                json!(dense)
            }
            BondRow::Set(r) => json!(r.iter().map(|&(j, b)| json!([j, b])).collect::<Vec<_>>()),
        })
        .collect();
    json!({
        "n": n,
        "active": o.active,
        "stake": reals(&o.stake),
        "stake_u16": u16s(&o.stake),
        "active_stake": reals(&o.active_stake),
        "validator_permit_used": o.validator_permit_used,
        "new_validator_permit": o.new_validator_permit,
        "weights_effective": matrix_json(n, &o.weights_effective, ZERO, real),
        "consensus": reals(&o.consensus),
        "consensus_u16": u16s(&o.consensus),
        "clipped_weights": matrix_json(n, &o.clipped_weights, ZERO, real),
        "validator_trust": reals(&o.validator_trust),
        "validator_trust_u16": u16s(&o.validator_trust),
        "rank_raw": reals(&o.rank_raw),
        "rank": reals(&o.incentive),
        "rank_u16": u16s(&o.incentive),
        "trust": reals(&o.trust),
        "trust_u16": u16s(&o.trust),
        "incentive": reals(&o.incentive),
        "incentive_u16": u16s(&o.incentive),
        "dividends": reals(&o.dividends),
        "dividends_u16": u16s(&o.dividends),
        "ema_bonds": matrix_json(n, &o.ema_bonds, ZERO, real),
        "new_bonds": matrix_json(n, &o.new_bonds, ZERO, real),
        "new_bonds_u16": bond_rows,
        "server_emission": o.server_emission,
        "validator_emission": o.validator_emission,
        "emission": o.emission,
        "normalized_server_emission": reals(&o.normalized_server_emission),
        "normalized_validator_emission": reals(&o.normalized_validator_emission),
        "normalized_combined_emission": reals(&o.normalized_combined_emission),
        "last_tempo": o.last_tempo,
        "bonds_alpha": o.bonds_alpha.map(|a| a.to_num::<f64>()),
    })
}
