//! `tensorchain yuma simulate` as a subnet designer runs it: each reference case's input piped in
//! prints its expected outputs; malformed snapshots get a named error and a non-zero exit.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::BIN;

mod support;

fn simulate(input: &str, extra: &[&str]) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(["yuma", "simulate"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// `got[key]` has exactly as many entries as `want[key]` (a zip alone would accept an empty or
/// truncated output), each within `tol`.
fn assert_close(case: &str, key: &str, got: &Value, want: &Value, tol: f64) {
    let g = got[key]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: no {key} printed"));
    let w = want[key].as_array().expect("the case has the key");
    assert_eq!(g.len(), w.len(), "{case}: {key} entries");
    for (uid, (g, w)) in g.iter().zip(w).enumerate() {
        let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
        assert!(
            (g - w).abs() <= tol,
            "{case}: {key}[{uid}] = {g}, expected {w} (±{tol})"
        );
    }
}

#[test]
fn reference_inputs_print_their_expected_emissions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../subnet-engine/tests/yuma-cases");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // Every other case is piped as the whole file, which the tool also accepts.
        let piped = if checked % 2 == 0 {
            case["input"].to_string()
        } else {
            case.to_string()
        };
        let (ok, stdout, stderr) = simulate(&piped, &["--table"]);
        assert!(ok, "{}: {stderr}", path.display());
        assert!(
            stderr.contains("INCENTIVE"),
            "--table prints the per-uid table"
        );
        let got: Value = serde_json::from_str(&stdout).unwrap();
        let case_name = path.display().to_string();
        // A sequence prints one output per epoch: every epoch is compared, not just the last.
        let epochs: Vec<(Value, Value)> = match (&got, &case["expected"]) {
            (Value::Array(g), Value::Array(w)) => {
                assert_eq!(g.len(), w.len(), "{case_name}: number of epochs");
                g.iter().cloned().zip(w.iter().cloned()).collect()
            }
            (g, w) => vec![(g.clone(), w.clone())],
        };
        for (got, want) in &epochs {
            let n = got["n"].as_u64().unwrap() as f64;
            assert_close(&case_name, "emission", got, want, n);
            assert_close(&case_name, "incentive", got, want, 1e-6);
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn malformed_snapshots_are_named_errors() {
    let base = r#""last_update":[1,1],"block_at_registration":[0,0],"current_block":5"#;
    for (input, needle) in [
        ("{not json".to_string(), "invalid_json"),
        (
            format!(r#"{{"stake":[1,-5],{base}}}"#),
            "must not be negative",
        ),
        (format!(r#"{{"stake":[1,2,3],{base}}}"#), "expected n = 3"),
        (
            format!(r#"{{"stake":[1,2],"weights":{{"0":[[9,1]]}},{base}}}"#),
            "out of range",
        ),
        (
            format!(r#"{{"stake":[1,"NaN"],{base}}}"#),
            "expected a number",
        ),
        (
            format!(r#"{{"stake":[1,2],"weights":[[0,70000],[0,0]],{base}}}"#),
            "0..=65535",
        ),
        (
            format!(r#"{{"stake":[1,2],"params":{{"kappa":1}},{base}}}"#),
            "unknown parameter",
        ),
    ] {
        let (ok, stdout, stderr) = simulate(&input, &["--json"]);
        assert!(!ok, "{input} should fail");
        assert!(
            stdout.contains(needle) || stderr.contains(needle),
            "{input}: {stdout}{stderr}"
        );
        let err: Value = serde_json::from_str(&stdout).unwrap();
        assert!(err["error"]["code"].as_str().is_some());
    }
}

#[test]
fn a_sequence_carries_bonds_between_epochs() {
    let input = r#"{"carry": true, "quantize": true, "epochs": [
        {"stake":[1000,0,0],"weights":[[0,65535,0],[0,0,0],[0,0,0]],"last_update":[100,0,0],
         "block_at_registration":[0,0,0],"current_block":100,"params":{"yuma3":true}},
        {"current_block":461,"set_weights":{"0":[[2],[1]]}}
    ]}"#;
    let (ok, stdout, stderr) = simulate(input, &[]);
    assert!(ok, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).unwrap();
    let epochs = out.as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    assert!(epochs[0]["new_bonds_u16"][0][1].as_u64().unwrap() > 0);
    // Second epoch: the old bond on uid 1 decays, a new one forms on uid 2.
    let b1_before = epochs[0]["new_bonds"][0][1].as_f64().unwrap();
    let b1_after = epochs[1]["new_bonds"][0][1].as_f64().unwrap();
    assert!(
        b1_after < b1_before && b1_after > 0.0,
        "{b1_before} → {b1_after}"
    );
    assert!(epochs[1]["new_bonds"][0][2].as_f64().unwrap() > 0.0);
    assert!(epochs[1]["incentive"][2].as_f64().unwrap() > 0.99);
}
