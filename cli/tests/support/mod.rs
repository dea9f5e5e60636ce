//! A foreground `tensorchain devnet up` for tests, as a user runs it, and the calls tests make
//! to it: REST reads and the CLI pointed at it. Each test binary uses its own part.
#![allow(dead_code)] // each test binary uses its own part

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tensorchain");

/// A `devnet up` process and its node processes, all killed (-9) when dropped: a crash, and no
/// test leaves anything running.
pub struct Devnet {
    pub child: Child,
    pub url: String,
    pub dir: std::path::PathBuf,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let state: Value = std::fs::read(self.dir.join("devnet.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let pids: Vec<u64> = state["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["pid"].as_u64())
            .collect();
        for pid in &pids {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        // SIGKILL is delivered, not done: wait until the nodes are gone (or zombies) so the next
        // `devnet up` in this directory does not find them still running.
        let deadline = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|p| running(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether a process still runs: present in /proc and not a zombie.
pub fn running(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, rest) = stat.rsplit_once(')')?;
            rest.trim_start().chars().next()
        })
        .is_some_and(|state| !matches!(state, 'Z' | 'X'))
}

pub fn up(dir: &Path, extra: &[&str]) -> Devnet {
    up_with(dir, &[&["--no-demo"], extra].concat())
}

pub fn up_with(dir: &Path, extra: &[&str]) -> Devnet {
    let mut child = Command::new(BIN)
        .args([
            "devnet",
            "up",
            "--rpc-port",
            "0",
            "--p2p-port",
            "0",
            "--json",
            "--block-time-ms",
            "500",
            "--data-dir",
        ])
        .arg(dir.join("chain"))
        .args(extra)
        .env("TENSORCHAIN_HOME", dir.join("home"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the tensorchain binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("devnet up printed {line:?}: {e}"));
    Devnet {
        child,
        url: info["rest_url"]
            .as_str()
            .unwrap_or_else(|| panic!("devnet up printed {line}"))
            .to_string(),
        dir: dir.join("chain"),
    }
}

pub fn get(url: &str) -> Value {
    let resp = ureq::get(url)
        .timeout(Duration::from_secs(5))
        .call()
        .unwrap();
    resp.into_json().unwrap()
}

/// A JSON body, or None when the node does not answer (starting, stopped, cut off).
pub fn try_get(url: &str) -> Option<Value> {
    ureq::get(url)
        .timeout(Duration::from_secs(3))
        .call()
        .ok()?
        .into_json()
        .ok()
}

/// Polls `ok` every 200 ms until it holds; fails the test after `limit`, naming `what`.
pub fn wait_until(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn height(d: &Devnet) -> u64 {
    get(&format!("{}/v1/blocks/head", d.url))["data"]["header"]["height"]
        .as_u64()
        .unwrap()
}

pub fn wait_for_height(d: &Devnet, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while height(d) < target {
        assert!(
            Instant::now() < deadline,
            "height {target} not reached in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn cli(d: &Devnet, home: &Path, args: &[&str]) -> (bool, Value) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--json", "-y", "--network", &d.url])
        .env("TENSORCHAIN_HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed {text:?}: {e}"));
    (out.status.success(), v)
}

/// A full node (`node run`, no validator key) that joins the devnet through its first node, with
/// `extra` flags; killed (-9) when dropped.
pub struct FullNode {
    child: Child,
    pub url: String,
}

impl Drop for FullNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn full_node(d: &Devnet, data_dir: &Path, extra: &[&str]) -> FullNode {
    let out = Command::new(BIN)
        .args(["devnet", "status", "--json", "--data-dir"])
        .arg(&d.dir)
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "node",
            "run",
            "--json",
            "--rpc-port",
            "0",
            "--p2p-port",
            "0",
        ])
        .args(extra)
        .arg("--genesis")
        .arg(status["genesis"].as_str().unwrap())
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "--bootnode",
            status["nodes"][0]["p2p_addr"].as_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("node run printed {line:?}: {e}"));
    let url = info["rest_url"].as_str().unwrap().to_string();
    let node = FullNode { child, url };
    // Synced: within a block of the devnet's head.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let at = |u: &str| {
            ureq::get(&format!("{u}/v1/blocks/head"))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .and_then(|v| v["data"]["header"]["height"].as_u64())
        };
        if let (Some(mine), Some(theirs)) = (at(&node.url), at(&d.url)) {
            if mine + 1 >= theirs {
                return node;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the full node did not sync in 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
