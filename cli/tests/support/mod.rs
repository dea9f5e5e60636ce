//! What the CLI's test binaries share: the binary run for its JSON, a foreground `tensorchain
//! devnet up` as a user runs it and nodes joining it, processes killed when a test ends (pass or
//! fail), and the REST reads and waits the tests make. Each test binary uses its own part.
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
    let info = first_line_json(&mut child, "devnet up");
    Devnet {
        child,
        url: info["rest_url"]
            .as_str()
            .unwrap_or_else(|| panic!("devnet up printed {info}"))
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
    head_height(&d.url)
}

/// The head height of the node at `url`, or None while it does not answer.
pub fn try_height(url: &str) -> Option<u64> {
    try_get(&format!("{url}/v1/blocks/head")).and_then(|v| v["data"]["header"]["height"].as_u64())
}

/// The head height of the node at `url`. A node that does not answer fails the test: read as 0,
/// a dead node would pass for a halted chain. (Use `try_height` while a node may be starting.)
pub fn head_height(url: &str) -> u64 {
    try_height(url).unwrap_or_else(|| panic!("{url} does not answer: did the node die?"))
}

/// The block at height `h` with its commit (`data` of `/v1/blocks/{h}`), or null.
pub fn block(url: &str, h: u64) -> Value {
    try_get(&format!("{url}/v1/blocks/{h}")).unwrap_or(Value::Null)["data"].clone()
}

/// Whether the commit of block `h` carries a signature of `hotkey`.
pub fn signed_by(url: &str, h: u64, hotkey: &str) -> bool {
    block(url, h)["commit"]["signatures"]
        .as_array()
        .is_some_and(|sigs| sigs.iter().any(|s| s["validator"] == hotkey))
}

/// Every node has every block from 1 to `up_to`, with the same hash and state root at each.
pub fn same_chain(urls: &[&str], up_to: u64) {
    assert!(up_to >= 1, "no common height to compare");
    for h in 1..=up_to {
        let headers: Vec<(String, String)> = urls
            .iter()
            .map(|u| {
                let header = &block(u, h)["header"];
                let field = |k: &str| header[k].as_str().unwrap_or_default().to_string();
                (field("hash"), field("state_root"))
            })
            .collect();
        assert!(
            headers.iter().all(|x| !x.0.is_empty()),
            "block {h} missing: {headers:?}"
        );
        assert!(
            headers.iter().all(|x| *x == headers[0]),
            "fork at {h}: {headers:?}"
        );
    }
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
    run_json(
        Command::new(BIN)
            .args(args)
            .args(["--json", "-y", "--network", &d.url])
            .env("TENSORCHAIN_HOME", home),
    )
}

/// Runs `cmd` with stdin closed and reads what it printed as JSON: (exit success, the JSON).
pub fn run_json(cmd: &mut Command) -> (bool, Value) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{cmd:?} printed {text:?}: {e}"));
    (out.status.success(), v)
}

/// As `run_json`, for a command that must succeed: a failure shows what it printed to both.
pub fn run_ok(cmd: &mut Command) -> Value {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{cmd:?} printed {text:?}: {e}"))
}

/// The first line a started process printed (its stdout piped) as JSON: what `devnet up` and
/// `node run --json` say about themselves once they serve.
pub fn first_line_json(child: &mut Child, what: &str) -> Value {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what} printed {line:?}: {e}"))
}

/// A process killed (-9) and reaped when dropped: a failed assertion leaves nothing running.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A node's recorded command line (`command` in `devnet status` and `nodes.json`) as arguments.
pub fn command_of(node: &Value) -> Vec<String> {
    node["command"]
        .as_array()
        .unwrap_or_else(|| panic!("no command in {node}"))
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Starts `argv` with its output appended to `log`; killed when dropped.
pub fn spawn_logged(argv: &[String], log: &Path) -> Killed {
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .unwrap();
    Killed(
        Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// `devnet status --json` of the devnet in `dir`: its genesis and every node's pid, addresses,
/// data dir, log and command.
pub fn devnet_status(dir: &Path) -> Value {
    run_ok(
        Command::new(BIN)
            .args(["devnet", "status", "--json", "--data-dir"])
            .arg(dir),
    )
}

/// `node run --json` on ports the OS picks with `extra` flags, on the genesis of the devnet whose
/// `status` is given, joining through its node `bootnode`: the process and what it printed
/// about itself.
pub fn node_run(
    status: &Value,
    bootnode: usize,
    data_dir: &Path,
    extra: &[&str],
) -> (Killed, Value) {
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
            status["nodes"][bootnode]["p2p_addr"].as_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let info = first_line_json(&mut child, "node run");
    (Killed(child), info)
}

/// A full node (`node run`, no validator key) that joins the devnet through its first node, with
/// `extra` flags; killed (-9) when dropped.
pub struct FullNode {
    _process: Killed,
    pub url: String,
}

pub fn full_node(d: &Devnet, data_dir: &Path, extra: &[&str]) -> FullNode {
    let (process, info) = node_run(&devnet_status(&d.dir), 0, data_dir, extra);
    let url = info["rest_url"].as_str().unwrap().to_string();
    let node = FullNode {
        _process: process,
        url,
    };
    // Synced: within a block of the devnet's head.
    wait_until(
        Duration::from_secs(60),
        "the full node syncs to within a block of the head",
        || match (try_height(&node.url), try_height(&d.url)) {
            (Some(mine), Some(theirs)) => mine + 1 >= theirs,
            _ => false,
        },
    );
    node
}
