//! Multi-validator devnets as real processes on 127.0.0.1, through the one binary: four validators
//! finalize, survive kill -9 of one, halt without a quorum and resume with it; a full node joins
//! by bootnode and syncs to identical hashes; a transfer sent to any node is finalized; a staked
//! hotkey that registers as a validator joins the set at the next validator epoch and signs.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::{
    command_of, devnet_status, head_height as height, node_run, run_ok, same_chain, signed_by,
    spawn_logged, try_get, try_height, wait_until as wait, Killed, BIN,
};
use tensorchain_primitives::Keypair;

mod support;

/// One devnet at a time: the machine running the tests has few cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// A detached devnet; every process it started (and any added later) is killed on drop.
struct Devnet {
    dir: PathBuf,
    extra: Vec<Killed>,
    /// Nodes this test restarted itself, by index (devnet.json still names the old pid).
    restarted: std::collections::HashMap<usize, Killed>,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .args(["devnet", "down", "--json", "--data-dir"])
            .arg(&self.dir)
            .output();
    }
}

fn up(root: &Path, block_time_ms: u64, extra: &[&str]) -> Devnet {
    let dir = root.join("devnet");
    let bt = block_time_ms.to_string();
    let started = Instant::now();
    run_ok(
        Command::new(BIN)
            .args([
                "devnet",
                "up",
                "--detach",
                "--no-demo",
                "--validators",
                "4",
                "--rpc-port",
                "0",
                "--p2p-port",
                "0",
                "--block-time-ms",
                &bt,
            ])
            .args(extra)
            .args(["--json", "--data-dir"])
            .arg(&dir),
    );
    let d = Devnet {
        dir,
        extra: vec![],
        restarted: Default::default(),
    };
    let urls = d.urls();
    wait(
        Duration::from_secs(60),
        "every validator finalizes block 1",
        || urls.iter().all(|u| try_height(u).is_some_and(|h| h >= 1)),
    );
    eprintln!(
        "4 validators: first finalized block {:.2} s after `devnet up`",
        started.elapsed().as_secs_f64()
    );
    d
}

impl Devnet {
    fn status(&self) -> Value {
        devnet_status(&self.dir)
    }

    fn urls(&self) -> Vec<String> {
        self.status()["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["rest_url"].as_str().unwrap().to_string())
            .collect()
    }

    fn node(&self, i: usize) -> Value {
        self.status()["nodes"][i].clone()
    }

    fn kill9(&mut self, i: usize) {
        if self.restarted.remove(&i).is_some() {
            return; // killed as it is dropped
        }
        let pid = self.node(i)["pid"]
            .as_u64()
            .expect("a running node has a pid");
        Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        wait(Duration::from_secs(10), "the killed node is gone", || {
            self.node(i)["running"] == false
        });
    }

    /// Starts another node (`extra` args, e.g. a validator key) that joins through node
    /// `bootnode`'s address; returns what it printed about itself.
    fn join(&mut self, data_dir: &Path, bootnode: usize, extra: &[&str]) -> Value {
        let (process, info) = node_run(&self.status(), bootnode, data_dir, extra);
        self.extra.push(process);
        info
    }

    /// Restarts node `i` with the exact command the devnet recorded for it.
    fn restart(&mut self, i: usize) {
        let n = self.node(i);
        let node = spawn_logged(&command_of(&n), Path::new(n["log"].as_str().unwrap()));
        self.restarted.insert(i, node);
        let url = n["rest_url"].as_str().unwrap().to_string();
        wait(
            Duration::from_secs(30),
            "the restarted node serves REST",
            || try_get(&format!("{url}/v1/node/health")).is_some(),
        );
    }
}

/// No validator double-signed, restarted ones included: no node logged an equivocation, none
/// was reported on chain (nothing slashed, nobody jailed) and all four validators remain.
fn no_equivocation(d: &Devnet, url: &str) {
    let supply = try_get(&format!("{url}/v1/supply")).expect("supply");
    assert_eq!(supply["data"]["slashed"], "0", "a validator was slashed");
    let set = try_get(&format!("{url}/v1/validators")).expect("validators");
    assert_eq!(set["data"]["jailed"], serde_json::json!([]), "{set}");
    assert_eq!(set["data"]["validators"].as_array().unwrap().len(), 4);
    for n in d.status()["nodes"].as_array().unwrap() {
        let log = std::fs::read_to_string(n["log"].as_str().unwrap()).unwrap();
        assert!(
            !log.contains("equivocation seen"),
            "{} saw a double-sign",
            n["name"]
        );
    }
}

#[test]
fn validators_survive_a_crash_and_halt_without_quorum() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let mut d = up(root.path(), 500, &[]);
    let urls = d.urls();
    let u: Vec<&str> = urls.iter().map(String::as_str).collect();
    let status = d.status();
    assert!(status["genesis"]
        .as_str()
        .unwrap()
        .ends_with("genesis.json"));
    for n in status["nodes"].as_array().unwrap() {
        for field in ["name", "pid", "rest_url", "data_dir", "height"] {
            assert!(!n[field].is_null(), "status lacks {field}: {n}");
        }
        assert!(n["p2p_addr"].as_str().unwrap().contains("/p2p/12D3"));
    }

    // kill -9 one validator: three of four are more than two thirds, finality goes on.
    d.kill9(3);
    let h = height(u[0]);
    wait(
        Duration::from_secs(30),
        "three validators keep finalizing",
        || u[..3].iter().all(|x| height(x) >= h + 3),
    );

    // Restarted, it catches up and signs again.
    d.restart(3);
    let back_at = height(u[0]);
    wait(
        Duration::from_secs(60),
        "the restarted validator catches up",
        || height(u[3]) >= back_at,
    );
    let dave = tensorchain_genesis::dev_hotkey("dave")
        .account()
        .to_string();
    wait(
        Duration::from_secs(60),
        "the restarted validator votes again",
        || {
            let top = height(u[0]);
            (back_at + 1..=top).any(|h| signed_by(u[0], h, &dave))
        },
    );

    // Two of four down: no quorum, no new block, no fork.
    d.kill9(2);
    d.kill9(3);
    std::thread::sleep(Duration::from_secs(2));
    let halted = height(u[0]).max(height(u[1]));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        height(u[0]).max(height(u[1])) <= halted,
        "blocks finalized without a quorum"
    );
    same_chain(&u[..2], height(u[0]).min(height(u[1])));

    // One of them back: three of four again, finality resumes.
    d.restart(2);
    wait(Duration::from_secs(60), "finality resumes", || {
        u[..3].iter().all(|x| height(x) >= halted + 2)
    });
    same_chain(&u[..3], height(u[0]).min(height(u[1])).min(height(u[2])));
    // Two more blocks, so a report of a double-sign made before the halt has been included.
    let now = height(u[0]);
    wait(Duration::from_secs(30), "two more blocks", || {
        height(u[0]) >= now + 2
    });
    no_equivocation(&d, u[0]);
}

#[test]
fn a_full_node_syncs_transfers_finalize_from_any_node_and_a_new_validator_joins() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let mut d = up(root.path(), 500, &["--validator-epoch", "10"]);
    let urls = d.urls();
    wait(Duration::from_secs(30), "a few blocks", || {
        height(&urls[0]) >= 5
    });

    // A fresh full node joins through one bootnode and reaches the head.
    let info = d.join(&root.path().join("full"), 0, &[]);
    assert_eq!(info["role"], "full");
    let full_url = info["rest_url"].as_str().unwrap().to_string();
    let target = height(&urls[0]);
    wait(
        Duration::from_secs(60),
        "the full node reaches the head",
        || try_height(&full_url).is_some_and(|h| h >= target),
    );
    same_chain(&[&urls[0], &full_url], target);
    let peers = try_get(&format!("{full_url}/v1/node/peers")).unwrap();
    assert!(peers["data"]["count"].as_u64().unwrap() >= 1);
    let identity = try_get(&format!("{full_url}/v1/node/identity")).unwrap();
    assert_eq!(identity["data"]["role"], "full");
    let validators = try_get(&format!("{}/v1/validators", urls[0])).unwrap();
    assert_eq!(
        validators["data"]["validators"].as_array().unwrap().len(),
        4
    );

    // Transfers sent to a validator that is not the next proposer, and to the full node.
    let home = root.path().join("home");
    let eve = Keypair::dev("eve").account().to_string();
    let balance = |url: &str| -> u64 {
        try_get(&format!("{url}/v1/accounts/{eve}")).unwrap()["data"]["free"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = balance(&urls[0]);
    for (url, from) in [(&urls[2], "bob"), (&full_url, "charlie")] {
        run_ok(
            Command::new(BIN)
                .args([
                    "wallet", "transfer", "--uri", from, "--dest", &eve, "--amount", "2",
                ])
                .args(["--json", "-y", "--network", url])
                .env("TENSORCHAIN_HOME", &home),
        );
    }
    let expected = before + 4_000_000_000;
    wait(
        Duration::from_secs(30),
        "both transfers are final everywhere",
        || {
            [&urls[0], &urls[3], &full_url]
                .iter()
                .all(|u| balance(u) == expected)
        },
    );

    // Eve stakes, registers her hotkey as a validator and runs a validator node: from the next
    // validator epoch (10 blocks here) on, commits carry her signature on every node's chain.
    let cli = |args: &[&str]| {
        run_ok(
            Command::new(BIN)
                .args(args)
                .args(["--uri", "eve", "--json", "-y", "--network", &urls[1]])
                .env("TENSORCHAIN_HOME", &home),
        )
    };
    cli(&["stake", "add", "--amount", "50000"]);
    cli(&["validator", "register"]);
    d.join(&root.path().join("eve"), 1, &["--validator-uri", "eve"]);
    let eve_hot = tensorchain_genesis::dev_hotkey("eve").account().to_string();
    wait(
        Duration::from_secs(60),
        "eve joins the validator set",
        || {
            try_get(&format!("{}/v1/validators", urls[0])).is_some_and(|v| {
                v["data"]["validators"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x["hotkey"] == eve_hot))
            })
        },
    );
    let joined = height(&urls[0]);
    wait(Duration::from_secs(60), "eve's node signs commits", || {
        let top = height(&urls[0]);
        (joined..=top).any(|h| signed_by(&urls[0], h, &eve_hot))
    });
    let top = height(&urls[0]).min(height(&full_url));
    same_chain(&[&urls[0], &urls[3], &full_url], top);
}

/// `tensorchain chaos`: every attack against a live 4-validator devnet. Blocks keep finalizing
/// at ≥ 80% of the undisturbed rate, no validator's consensus WAL grows with the junk, and the
/// peer that lies to block sync is cut off (docs/security.md).
#[test]
fn chaos_attacks_do_not_slow_a_devnet_down() {
    const WINDOW: Duration = Duration::from_secs(5);
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let d = up(root.path(), 500, &[]);
    let status = d.status();
    let url = status["nodes"][0]["rest_url"].as_str().unwrap().to_string();
    let genesis = status["genesis"].as_str().unwrap().to_string();
    let bootnode = status["nodes"][1]["p2p_addr"].as_str().unwrap().to_string();
    let blocks_in = |window: Duration, during: &mut dyn FnMut()| {
        let start = height(&url);
        let t = Instant::now();
        during();
        std::thread::sleep(window.saturating_sub(t.elapsed()));
        height(&url) - start
    };
    let baseline = blocks_in(WINDOW, &mut || {});
    assert!(
        baseline >= 4,
        "the devnet is too slow to measure: {baseline} blocks"
    );
    let secs = WINDOW.as_secs().to_string();
    for attack in [
        "altered-proposal",
        "junk-votes",
        "future-flood",
        "range-flood",
        "lying-tip",
        "oversized",
        "peer-flood",
    ] {
        let mut report = Value::Null;
        let blocks = blocks_in(WINDOW, &mut || {
            let out = Command::new(BIN)
                .args([
                    "chaos",
                    attack,
                    "--genesis",
                    &genesis,
                    "--bootnode",
                    &bootnode,
                ])
                .args(["--duration", &secs, "--rate", "100", "--json"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            assert!(out.status.success(), "{attack}: {report}");
        });
        eprintln!("chaos {attack}: {blocks} blocks (undisturbed {baseline}); {report}");
        assert!(
            blocks * 5 >= baseline * 4,
            "{attack} slowed finality: {blocks} blocks against {baseline}"
        );
        if attack == "lying-tip" {
            assert_eq!(report["disconnected_by_peers"], true, "{report}");
        }
        if attack != "altered-proposal" && attack != "lying-tip" {
            assert!(report["messages_sent"].as_u64().unwrap() > 0, "{report}");
        }
    }
    for n in d.status()["nodes"].as_array().unwrap() {
        let wal = Path::new(n["data_dir"].as_str().unwrap()).join("consensus/wal");
        let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert!(size < 256 * 1024, "{wal:?} grew to {size} bytes");
    }
}
