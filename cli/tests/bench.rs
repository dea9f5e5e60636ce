//! `tensorchain bench` as a user runs it: against a one-validator devnet at a low rate, one
//! transfer per request or in batches, it loses nothing and prints exactly the promised JSON keys
//! (one object, or an array for a sweep);
//! `bench verify --json` has its shape; bad flags are named errors with a non-zero exit, found
//! before any node is contacted.

use serde_json::Value;
use std::process::{Command, Stdio};

mod support;
use support::*;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn assert_report(r: &Value, rate: f64) {
    assert_eq!(
        keys(r),
        [
            "finalized_tps",
            "latency_ms",
            "lost",
            "offered_tps",
            "rejected",
            "rounds_above_zero"
        ],
        "{r}"
    );
    assert_eq!(keys(&r["latency_ms"]), ["max", "p50", "p90", "p99"]);
    assert_eq!(r["lost"], 0, "{r}");
    let offered = r["offered_tps"].as_f64().unwrap();
    assert!(offered > rate * 0.8 && offered <= rate * 1.05, "{r}");
    assert!(r["finalized_tps"].as_f64().unwrap() > 0.0, "{r}");
    let l = &r["latency_ms"];
    let at = |k: &str| l[k].as_u64().unwrap();
    assert!(
        at("p50") > 0 && at("p50") <= at("p90") && at("p90") <= at("p99") && at("p99") <= at("max")
    );
    assert!(r["rejected"].is_object());
    assert!(r["rounds_above_zero"].is_u64());
}

#[test]
fn bench_loses_nothing_and_reports_the_promised_keys() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = up(dir.path(), &["--validators", "1"]);
    wait_for_height(&d, 2);
    // 300 senders: funded through two intermediate accounts (the two-level path).
    let common = [
        "bench",
        "--uri",
        "alice",
        "--duration",
        "3",
        "--warmup",
        "1",
        "--senders",
        "300",
        "--connections",
        "2",
    ];
    // One transfer per request (`POST /v1/txs`).
    let (ok, r) = cli(
        &d,
        &home,
        &[&common[..], &["--rate", "40", "--batch", "1"]].concat(),
    );
    assert!(ok, "{r}");
    assert_report(&r, 40.0);

    // In batches (`POST /v1/txs/batch`, borsh).
    let (ok, sweep) = cli(
        &d,
        &home,
        &[&common[..], &["--sweep", "20,40", "--batch", "16"]].concat(),
    );
    assert!(ok, "{sweep}");
    let steps = sweep.as_array().unwrap_or_else(|| panic!("{sweep}"));
    assert_eq!(steps.len(), 2);
    assert_report(&steps[0], 20.0);
    assert_report(&steps[1], 40.0);
}

fn run(args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--json")
        // Nothing listens here: a flag error must come before any request.
        .args(["--network", "http://127.0.0.1:9"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    (out.status.code(), v)
}

#[test]
fn bench_verify_reports_per_core_and_all_cores() {
    let (code, v) = run(&["bench", "verify"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(keys(&v), ["all_cores", "cores", "per_core"]);
    let cores = v["cores"].as_u64().unwrap();
    let (one, all) = (
        v["per_core"].as_u64().unwrap(),
        v["all_cores"].as_u64().unwrap(),
    );
    assert!(cores >= 1 && one > 0 && all > 0, "{v}");
}

#[test]
fn bad_bench_flags_are_named_errors() {
    for (flags, expected) in [
        (&["--rate", "0"][..], "bad_rate"),
        (&["--sweep", "2000,lots"], "bad_sweep"),
        (&["--sweep", "2000,0"], "bad_rate"),
        (&["--batch", "5000"], "bad_batch"),
        (&["--connections", "0"], "bad_connections"),
        (&["--senders", "0"], "bad_senders"),
        (&["--duration", "0"], "bad_duration"),
        (
            &["--rate", "1000000", "--duration", "3600"],
            "run_too_large",
        ),
    ] {
        let (code, v) = run(&[&["bench", "--uri", "alice"][..], flags].concat());
        assert_eq!(code, Some(1), "{flags:?}: {v}");
        assert_eq!(v["error"]["code"], expected, "{flags:?}: {v}");
    }
    // Flags of a run given to `bench verify`, or a rate next to a sweep: refused by the parser.
    let (code, _) = run(&["bench", "verify", "--rate", "5"]);
    assert_ne!(code, Some(0));
    let (code, _) = run(&["bench", "--rate", "5", "--sweep", "5,10"]);
    assert_ne!(code, Some(0));
}
