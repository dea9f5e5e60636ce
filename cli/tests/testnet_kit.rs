//! `testnet init`: the kit an operator copies to real machines (issue 14). A funded kit for four
//! hosts: one spec, each validator's keys, the same ports on every host, every other node as a
//! bootnode, a `node.env` for the systemd unit; bad `--hosts` are named errors that write nothing.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use support::{run_json, BIN};

mod support;

fn init(out: &Path, extra: &[&str]) -> (bool, Value) {
    run_json(
        Command::new(BIN)
            .args(["testnet", "init", "--json", "--out"])
            .arg(out)
            .args(extra),
    )
}

#[test]
fn a_funded_kit_for_four_hosts_has_keys_bootnodes_and_unit_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kit");
    let hosts = "10.213.7.1,10.213.7.2,10.213.7.3,10.213.7.4";
    let (ok, kit) = init(
        &out,
        &[
            "--validators",
            "4",
            "--hosts",
            hosts,
            "--no-password",
            "--p2p-port",
            "30333",
            "--rpc-port",
            "8080",
        ],
    );
    assert!(ok, "{kit}");
    assert_eq!(kit["kind"], "funded");
    assert_eq!(kit["chain_id"], "tensorchain-testnet");
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("spec.json")).unwrap()).unwrap();
    let nodes = kit["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    let bootnodes = kit["bootnodes"].as_array().unwrap();
    for (i, n) in nodes.iter().enumerate() {
        let ip = format!("10.213.7.{}", i + 1);
        // Separate hosts: the same ports everywhere.
        assert_eq!(n["rest_url"], format!("http://{ip}:8080"), "{n}");
        let p2p = n["p2p_addr"].as_str().unwrap();
        assert!(
            p2p.starts_with(&format!("/ip4/{ip}/tcp/30333/p2p/12D3")),
            "{p2p}"
        );
        assert_eq!(bootnodes[i], p2p);
        // Funded: the coldkey owns the stake and a balance; the hotkey validates.
        let v = &spec["validators"][i];
        assert_eq!(v["hotkey"], n["hotkey"]);
        assert_eq!(v["coldkey"], n["coldkey"]);
        assert_ne!(v["stake"], "0");
        assert_eq!(spec["allocations"][i]["address"], n["coldkey"]);
        let cmd: Vec<&str> = n["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let after = |flag: &str| cmd[cmd.iter().position(|a| *a == flag).unwrap() + 1];
        assert_eq!(after("--p2p-addr"), ip);
        assert_eq!(after("--rpc-addr"), ip);
        let dialled: Vec<&str> = cmd
            .windows(2)
            .filter(|w| w[0] == "--bootnode")
            .map(|w| w[1])
            .collect();
        assert_eq!(dialled.len(), 3, "every other node is a bootnode: {cmd:?}");
        assert!(!dialled.contains(&p2p), "a node dials itself: {cmd:?}");
        let home = Path::new(n["home"].as_str().unwrap());
        let coldkey: Value = serde_json::from_str(
            &std::fs::read_to_string(home.join("wallets/default/coldkey")).unwrap(),
        )
        .unwrap();
        assert_eq!(coldkey["public"], n["coldkey"]);
        assert!(home.join("wallets/default/hotkeys/default").exists());
        assert!(home.join("data/node_key").exists());
        let env = std::fs::read_to_string(home.join("node.env")).unwrap();
        assert!(
            env.contains(&format!(
                "--p2p-addr {ip} --p2p-port 30333 --validator --bootnode"
            )),
            "{env}"
        );
        assert!(
            env.contains("--genesis /var/lib/tensorchain/spec.json"),
            "{env}"
        );
        assert_eq!(env.matches("--bootnode").count(), 3, "{env}");
    }
    // The same directory again: refused, keys untouched.
    let (ok, again) = init(&out, &["--validators", "4", "--no-password"]);
    assert!(!ok);
    assert_eq!(again["error"]["code"], "kit_exists", "{again}");
}

#[test]
fn bad_input_is_a_named_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--validators", "4", "--hosts", "10.213.0.1,10.213.0.2"],
            "hosts_count_mismatch",
        ),
        (
            &["--validators", "2", "--hosts", "10.213.0.1,host-b"],
            "bad_host",
        ),
        (
            &[
                "--validators",
                "2",
                "--hosts",
                "10.213.0.1,10.213.0.2:30333",
            ],
            "bad_host",
        ),
        (
            &["--validators", "2", "--hosts", "0.0.0.0,10.213.0.2"],
            "bad_host",
        ),
        (&["--validators", "0"], "bad_validator_count"),
        (
            &["--validators", "1", "--handover-stake", "5"],
            "handover_needs_no_premine",
        ),
    ];
    for (i, (args, code)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("kit{i}"));
        let mut args = args.to_vec();
        args.push("--no-password");
        let (ok, err) = init(&out, &args);
        assert!(!ok, "{args:?} was accepted: {err}");
        assert_eq!(err["error"]["code"], *code, "{args:?}: {err}");
        assert!(!err["error"]["hint"].as_str().unwrap_or("").is_empty());
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// A funded kit without --no-password encrypts the coldkeys; with no password to be had (no
/// terminal, no TENSORCHAIN_PASSWORD) it is a named error, not a hang.
#[test]
fn funded_coldkeys_are_encrypted_unless_no_password() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kit");
    let output = Command::new(BIN)
        .args(["testnet", "init", "--json", "--validators", "1", "--out"])
        .arg(&out)
        .env("TENSORCHAIN_PASSWORD", "correct horse")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let coldkey: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("validator-0/wallets/default/coldkey")).unwrap(),
    )
    .unwrap();
    assert!(coldkey["secret"].is_null(), "{coldkey}");
    assert!(!coldkey["encrypted"].is_null(), "{coldkey}");

    let (ok, err) = init(&tmp.path().join("kit2"), &["--validators", "1"]);
    assert!(!ok, "{err}");
    assert!(err["error"]["code"].as_str().is_some(), "{err}");
}
