//! The fair launch with real processes (issue 18): `testnet init --no-premine` writes a spec with
//! no allocations and no stake; its bootstrap validators finalize from block 1; fresh wallets with
//! no TAO `pow-register` on genesis subnet 1, serve and set weights; every rao traces to an epoch
//! payout; an earner unstakes, registers as a validator and runs a node, the set leaves the
//! bootstrap keys while blocks keep finalizing, and an earner creates a subnet with earned TAO.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::{command_of, run_ok, spawn_logged, try_get as get, wait_until as wait, BIN};

mod support;

const TAO: u64 = 1_000_000_000;

/// Runs the CLI with `--json` and returns what it printed; panics on failure.
fn cli(args: &[&str]) -> Value {
    run_ok(Command::new(BIN).args(args).args(["--json", "-y"]))
}

fn data(url: &str) -> Value {
    get(url).map_or(Value::Null, |v| v["data"].clone())
}

fn height(url: &str) -> u64 {
    data(&format!("{url}/v1/blocks/head"))["header"]["height"]
        .as_u64()
        .unwrap_or(0)
}

fn rao(v: &Value) -> u64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A base port with `n` free consecutive ports after it (loopback), drawn between 20000 and
/// 32767: below Linux's ephemeral range, so an outgoing connection cannot take one first.
fn free_ports(n: u16) -> u16 {
    use std::hash::{BuildHasher, Hasher};
    loop {
        let draw = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let base = 20_000 + (draw % u64::from(12_700 - n)) as u16;
        if (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}

struct Wallet {
    name: &'static str,
    coldkey: String,
    hotkey: String,
}

fn account(url: &str, addr: &str) -> Value {
    data(&format!("{url}/v1/accounts/{addr}"))
}

#[test]
fn a_no_premine_network_launches_pays_by_work_and_hands_over_to_stake() {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().to_path_buf();
    let kit = root.join("kit");
    let (rpc, p2p) = (free_ports(3), free_ports(3));
    let (rpc_s, p2p_s) = (rpc.to_string(), p2p.to_string());
    let init = cli(&[
        "testnet",
        "init",
        "--no-premine",
        "--validators",
        "2",
        "--out",
        kit.to_str().unwrap(),
        "--rpc-port",
        &rpc_s,
        "--p2p-port",
        &p2p_s,
        "--block-time-ms",
        "500",
        "--handover-validators",
        "1",
        "--handover-stake",
        "1",
    ]);
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(kit.join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["allocations"], serde_json::json!([]), "no pre-mine");
    assert!(spec["validators"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["stake"] == "0"));
    assert_eq!(spec["subnets"]["genesis_subnets"][0]["registration"], "pow");
    let nodes: Value =
        serde_json::from_str(&std::fs::read_to_string(kit.join("nodes.json")).unwrap()).unwrap();
    assert_eq!(init["nodes"].as_array().unwrap().len(), 2);

    let mut net = Vec::new();
    for (i, n) in nodes.as_array().unwrap().iter().enumerate() {
        net.push(spawn_logged(
            &command_of(n),
            &root.join(format!("node{i}.log")),
        ));
    }
    let url = nodes[0]["rest_url"].as_str().unwrap().to_string();
    wait(
        Duration::from_secs(60),
        "the bootstrap validators finalize",
        || height(&url) >= 2,
    );

    // Fresh wallets with no TAO register by work.
    let home = root.join("home");
    let home_s = home.to_str().unwrap().to_string();
    let mut wallets = Vec::new();
    for name in ["v1", "m1", "m2"] {
        let w = cli(&[
            "--home",
            &home_s,
            "-w",
            name,
            "wallet",
            "create",
            "--no-password",
        ]);
        wallets.push(Wallet {
            name,
            coldkey: w["coldkey"].as_str().unwrap().to_string(),
            hotkey: w["hotkey"].as_str().unwrap().to_string(),
        });
    }
    for w in &wallets {
        assert_eq!(rao(&account(&url, &w.coldkey)["total"]), 0);
        let r = cli(&[
            "--home",
            &home_s,
            "-w",
            w.name,
            "--network",
            &url,
            "subnet",
            "pow-register",
            "--netuid",
            "1",
            "--threads",
            "2",
        ]);
        eprintln!(
            "{} pow-registered in {:.2} s ({} hashes at difficulty {})",
            w.name,
            r["seconds"].as_f64().unwrap(),
            r["hashes"],
            r["difficulty"]
        );
    }
    let as_user = |w: &Wallet, args: &[&str]| {
        let mut all = vec!["--home", &home_s, "-w", w.name, "--network", &url];
        all.extend_from_slice(args);
        cli(&all)
    };
    for m in &wallets[1..] {
        as_user(
            m,
            &[
                "axon",
                "set",
                "--netuid",
                "1",
                "--ip",
                "127.0.0.1",
                "--port",
                "8091",
            ],
        );
    }
    as_user(
        &wallets[0],
        &[
            "weights", "set", "--netuid", "1", "--uids", "1,2", "--values", "3,1",
        ],
    );

    // Epochs pay by work; wait until the miner has enough to create a subnet (10 TAO lock).
    let staked = |w: &Wallet| rao(&account(&url, &w.coldkey)["staked"]);
    wait(Duration::from_secs(120), "m1 earns 11 TAO of stake", || {
        staked(&wallets[1]) >= 11 * TAO
    });
    for w in &wallets {
        assert!(staked(w) > 0, "{} earned", w.name);
        assert_eq!(rao(&account(&url, &w.coldkey)["free"]), 0);
    }
    // Every rao is accounted for by the halving rule and the payout ledger.
    let supply = get(&format!("{url}/v1/supply")).unwrap();
    let at = supply["meta"]["height"].as_u64().unwrap();
    let s = &supply["data"];
    assert_eq!(
        rao(&s["total_issuance"]) + rao(&s["recycled"]),
        at * TAO,
        "issuance = Σ block rewards (1 TAO each before the first halving) − recycled"
    );
    assert!(s["invariant_ok"].as_bool().unwrap());
    let epochs = data(&format!("{url}/v1/subnets/1/epochs?limit=256"));
    assert!(epochs["next_cursor"].is_null(), "every epoch on one page");
    let paid: u64 = epochs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["block"].as_u64().unwrap() <= at)
        .map(|e| {
            assert_eq!(e["owner_cut"], "0", "an ownerless subnet pays no owner");
            rao(&e["to_miners"]) + rao(&e["to_validators"])
        })
        .sum();
    assert_eq!(
        rao(&s["staked"]),
        paid,
        "all stake is epoch payouts, nothing else"
    );

    // An earner creates a subnet with earned TAO (unstaking pays its fee from what it frees).
    let m1 = &wallets[1];
    as_user(
        m1,
        &[
            "stake",
            "remove",
            "--hotkey-address",
            &m1.hotkey,
            "--amount",
            "10.5",
        ],
    );
    let created = as_user(m1, &["subnet", "create", "--max-cost", "10.5"]);
    assert!(created["height"].as_u64().is_some(), "{created}");
    assert_eq!(
        data(&format!("{url}/v1/subnets"))["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // v1 runs a validator node and registers; the set leaves the bootstrap keys.
    let v1 = &wallets[0];
    as_user(
        v1,
        &[
            "stake",
            "remove",
            "--hotkey-address",
            &v1.hotkey,
            "--amount",
            "0.01",
        ],
    );
    let v1_rpc = (rpc + 2).to_string();
    let v1_p2p = (p2p + 2).to_string();
    let spec_path = kit.join("spec.json");
    let argv: Vec<String> = [
        BIN,
        "--home",
        &home_s,
        "-w",
        "v1",
        "node",
        "run",
        "--genesis",
        spec_path.to_str().unwrap(),
        "--data-dir",
        root.join("v1data").to_str().unwrap(),
        "--rpc-port",
        &v1_rpc,
        "--p2p-port",
        &v1_p2p,
        "--validator",
        "--bootnode",
        nodes[0]["p2p_addr"].as_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    net.push(spawn_logged(&argv, &root.join("v1node.log")));
    as_user(
        v1,
        &["validator", "register", "--hotkey-address", &v1.hotkey],
    );
    wait(
        Duration::from_secs(90),
        "the elected set takes over",
        || {
            let vs = data(&format!("{url}/v1/validators"));
            vs["validators"]
                .as_array()
                .is_some_and(|a| a.len() == 1 && a[0]["hotkey"] == v1.hotkey.as_str())
        },
    );
    let handed = height(&url);
    wait(
        Duration::from_secs(30),
        "blocks keep finalizing after the handover",
        || height(&url) >= handed + 5,
    );
}
