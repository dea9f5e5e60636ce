//! Every reference epoch in `tests/yuma-cases/` (a copy of the design's reference cases kept in
//! the repository; the folder is read at test time, so new cases are picked up) must be reproduced within the README's tolerances.

use serde_json::Value;
use std::path::PathBuf;
use tensorchain_subnet_engine::snapshot::{output_json, simulate};

fn cases_dir() -> PathBuf {
    std::env::var_os("YUMA_CASES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/yuma-cases"))
}

#[derive(Clone, Copy)]
enum Tol {
    Exact,
    Abs(f64),
}

fn tolerance(key: &str, n: usize) -> Option<Tol> {
    Some(match key {
        "consensus"
        | "incentive"
        | "dividends"
        | "validator_trust"
        | "ema_bonds"
        | "new_bonds"
        | "normalized_server_emission"
        | "normalized_validator_emission"
        | "normalized_combined_emission"
        | "stake"
        | "active_stake"
        | "weights_effective"
        | "clipped_weights"
        | "rank_raw"
        | "rank"
        | "trust"
        | "bonds_alpha" => Tol::Abs(1e-6),
        "server_emission" | "validator_emission" | "emission" => Tol::Abs(n as f64),
        k if k.ends_with("_u16") => Tol::Abs(1.0),
        "n" | "active" | "validator_permit_used" | "new_validator_permit" | "last_tempo" => {
            Tol::Exact
        }
        _ => return None,
    })
}

/// Reference keys deliberately not compared, each with the reason. Any other key without a
/// tolerance fails the test, so a key added to the cases cannot go unchecked unnoticed.
const IGNORED: &[(&str, &str)] = &[
    (
        "activity_cutoff",
        "an input parameter echoed back by the reference, not an epoch output",
    ),
    (
        "alphas",
        "the reference's per-entry liquid-alpha matrix: the engine applies α inside the bond \
         update without storing it, so it is checked through ema_bonds and new_bonds",
    ),
    (
        "pruning_score",
        "the chain prunes by emission, then registration block (ledger prune_candidate), \
         so the engine computes no pruning score",
    ),
];

fn compare(path: &str, want: &Value, got: &Value, tol: Tol, failures: &mut Vec<String>) {
    match (want, got, tol) {
        (Value::Array(w), Value::Array(g), _) => {
            if w.len() != g.len() {
                failures.push(format!(
                    "{path}: expected {} entries, got {}",
                    w.len(),
                    g.len()
                ));
                return;
            }
            for (i, (w, g)) in w.iter().zip(g).enumerate() {
                compare(&format!("{path}[{i}]"), w, g, tol, failures);
            }
        }
        (Value::Number(w), Value::Number(g), Tol::Abs(eps)) => {
            let (w, g) = (w.as_f64().unwrap(), g.as_f64().unwrap());
            if (w - g).abs() > eps + 1e-12 {
                failures.push(format!("{path}: expected {w}, got {g} (tolerance {eps})"));
            }
        }
        (w, g, _) if w == g => {}
        (w, g, _) => failures.push(format!("{path}: expected {w}, got {g}")),
    }
}

fn check_epoch(name: &str, expected: &Value, got: &Value, failures: &mut Vec<String>) {
    let n = got["n"].as_u64().unwrap() as usize;
    let mut checked = 0;
    for (key, want) in expected.as_object().expect("expected is an object") {
        let Some(tol) = tolerance(key, n) else {
            if !IGNORED.iter().any(|(k, _)| k == key) {
                failures.push(format!(
                    "{name}.{key}: no tolerance and not in IGNORED; compare it or say why not"
                ));
            }
            continue;
        };
        if want.is_null() && got.get(key).is_none_or(Value::is_null) {
            continue;
        }
        let Some(g) = got.get(key) else {
            failures.push(format!("{name}.{key}: missing from the output"));
            continue;
        };
        compare(&format!("{name}.{key}"), want, g, tol, failures);
        checked += 1;
    }
    assert!(
        checked >= 20,
        "{name}: only {checked} keys compared; is the case format different?"
    );
}

#[test]
fn every_reference_case_matches() {
    let dir = cases_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let (outputs, sequence) =
            simulate(&case["input"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<Value> = outputs.iter().map(output_json).collect();
        if sequence {
            let expected = case["expected"]
                .as_array()
                .expect("a sequence expects a list");
            assert_eq!(expected.len(), got.len(), "{name}: number of epochs");
            for (t, (e, g)) in expected.iter().zip(&got).enumerate() {
                check_epoch(&format!("{name}[{t}]"), e, g, &mut failures);
            }
        } else {
            check_epoch(&name, &case["expected"], &got[0], &mut failures);
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let ignored: Vec<&str> = IGNORED.iter().map(|(k, _)| *k).collect();
    eprintln!(
        "{} reference cases match; deliberately not compared: {}",
        files.len(),
        ignored.join(", ")
    );
}
