//! Finding 12 of the Byzantine-peers review: `--validator-uri` accepted a dev key (whose secret
//! anyone can derive) on any chain. Dev keys sign only on devnets.

use serde_json::Value;
use std::process::{Command, Stdio};
use support::{run_json, BIN};

mod support;

fn run(args: &[&str]) -> (bool, Value) {
    run_json(Command::new(BIN).args(args).arg("--json"))
}

/// A one-validator no-premine testnet's kit (`spec.json`, keys) under `dir`.
fn testnet_kit(dir: &std::path::Path) -> std::path::PathBuf {
    let kit = dir.join("kit");
    let (ok, init) = run(&[
        "testnet",
        "init",
        "--no-premine",
        "--validators",
        "1",
        "--out",
        kit.to_str().unwrap(),
    ]);
    assert!(ok, "{init}");
    kit
}

/// What `node run` with `extra` flags on a fresh one-validator testnet kit printed: it must
/// refuse to start.
fn refused_node_run(extra: &[&str]) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let kit = testnet_kit(tmp.path());
    let spec = kit.join("spec.json");
    let data = tmp.path().join("node");
    let node_run = [
        "node",
        "run",
        "--genesis",
        spec.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let (ok, err) = run(&[&node_run[..], extra].concat());
    assert!(!ok, "node run {extra:?} started: {err}");
    err
}

#[test]
fn finding_12_dev_validator_keys_are_refused_off_devnets() {
    let err = refused_node_run(&[
        "--rpc-port",
        "0",
        "--p2p-port",
        "0",
        "--validator-uri",
        "alice",
    ]);
    assert_eq!(err["error"]["code"], "dev_key_refused", "{err}");
}

/// `--private-peer` takes peer ids only: anything else is a named error before the node starts.
#[test]
fn a_private_peer_that_is_not_a_peer_id_is_refused() {
    let err = refused_node_run(&["--private-peer", "not-a-peer", "--no-peer-sharing"]);
    assert_eq!(err["error"]["code"], "bad_peer_id", "{err}");
}

/// What a node run for two seconds with `extra` flags wrote to its stderr, a pipe.
fn piped_node_log(extra: &[&str]) -> String {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let kit = testnet_kit(tmp.path());
    let mut node = Command::new(BIN)
        .args(["node", "run", "--genesis"])
        .arg(kit.join("spec.json"))
        .arg("--data-dir")
        .arg(tmp.path().join("node"))
        .args(["--rpc-port", "0", "--p2p-port", "0"])
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let _ = node.kill();
    let mut log = String::new();
    node.stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let _ = node.wait();
    log
}

/// A node logging to a file or a pipe writes plain text: no terminal colour codes for a log
/// shipper to choke on.
#[test]
fn a_node_logging_to_a_pipe_writes_no_colour_codes() {
    let log = piped_node_log(&[]);
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a piped log: {log:?}"
    );
}

/// `--log-format json`: every line a log shipper reads is one JSON object with a level, a
/// timestamp and the message.
#[test]
fn a_node_logging_json_writes_one_object_per_line() {
    let log = piped_node_log(&["--log-format", "json"]);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 2, "too few log lines: {log}");
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not one JSON object ({e}): {line:?}"));
        assert!(v.is_object(), "{line}");
        for field in ["timestamp", "level", "fields"] {
            assert!(!v[field].is_null(), "{field} missing: {line}");
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("\"chain opened\"")),
        "no 'chain opened' event: {log}"
    );
}

/// `devnet up --rpc-port` on an existing devnet is honoured (it used to keep the first run's
/// ports silently); without the flag a resumed devnet keeps its ports.
#[test]
fn devnet_up_honours_an_explicit_port_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = tmp.path().join("chain");
    let home = tmp.path().join("home");
    let up = |extra: &[&str]| -> String {
        let out = Command::new(BIN)
            .args([
                "devnet",
                "up",
                "--detach",
                "--json",
                "--validators",
                "1",
                "--data-dir",
            ])
            .arg(&chain)
            .args(extra)
            .env("TENSORCHAIN_HOME", &home)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let down = Command::new(BIN)
            .args(["devnet", "down", "--json", "--data-dir"])
            .arg(&chain)
            .env("TENSORCHAIN_HOME", &home)
            .output()
            .unwrap();
        assert!(down.status.success());
        let v: Value = serde_json::from_str(text.lines().next().unwrap_or(""))
            .unwrap_or_else(|e| panic!("devnet up printed {text:?}: {e}"));
        v["rest_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{v}"))
            .to_string()
    };
    let first = up(&["--rpc-port", "0", "--p2p-port", "0"]);
    assert_eq!(up(&[]), first, "a resumed devnet keeps its ports");
    let moved = up(&["--rpc-port", "0", "--p2p-port", "0"]);
    assert_ne!(moved, first, "an explicit --rpc-port is honoured on resume");
}
