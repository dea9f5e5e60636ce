//! `tensorchain devnet`: a local chain of N validator processes on 127.0.0.1, each with its own
//! data dir, REST port and p2p port, all peered with each other. `up` starts (or resumes) them and
//! stays in the foreground running the template subnets until Ctrl-C (or, with `--detach`, returns at once);
//! `status`, `down` and `reset` work from any terminal through `<devnet>/devnet.json`.

use crate::error::{CliError, CliResult};
use crate::node::{init_logging, runtime, wait_for_signal, NodeInfo, NODE_INFO};
use crate::output::{print_json, table};
use crate::Global;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec, DEV_ACCOUNTS};
use tensorchain_primitives::format_tao;

const STATE_FILE: &str = "devnet.json";
/// How long a node may take to open its chain and start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the template subnets may take to stop (their requests are bounded by this).
const TEMPLATE_STOP_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(clap::Args, Clone)]
pub struct DevnetDir {
    /// Where the devnet lives (default <home>/devnet).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl DevnetDir {
    fn path(&self, g: &Global) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| g.home().join("devnet"))
    }
}

#[derive(Subcommand)]
pub enum DevnetCmd {
    /// Start (or resume) the devnet: N validator processes, funded dev accounts, two template subnets.
    Up {
        #[command(flatten)]
        dir: DevnetDir,
        /// Validator processes (alice, bob, charlie, dave); fixed once the devnet exists.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=4))]
        validators: u8,
        /// First REST port (node i gets port + i); 0 picks free ports. Default: the ports of the
        /// devnet's last run, else 8080.
        #[arg(long)]
        rpc_port: Option<u16>,
        /// First p2p port (node i gets port + i); 0 picks free ports. Default: the ports of the
        /// devnet's last run, else 30333.
        #[arg(long)]
        p2p_port: Option<u16>,
        /// Block time of a new devnet (fixed once its genesis exists).
        #[arg(long)]
        block_time_ms: Option<u64>,
        /// Blocks between validator set recomputations of a new devnet (default 100).
        #[arg(long)]
        validator_epoch: Option<u64>,
        /// Delete the devnet's data and start a new chain.
        #[arg(long)]
        reset: bool,
        /// Run the template subnets (1 rewards quality, 2 speed; 2 validators and 5 miners each);
        /// the default.
        #[arg(long, conflicts_with = "no_demo")]
        demo: bool,
        /// Skip the template subnets.
        #[arg(long)]
        no_demo: bool,
        /// Leave the nodes running in the background and return (no template subnets); stop them
        /// with `devnet down`.
        #[arg(long, conflicts_with = "demo")]
        detach: bool,
    },
    /// Heights, peers and finalized hash of every node.
    Status {
        #[command(flatten)]
        dir: DevnetDir,
    },
    /// Stop every node of the devnet (its data stays; `up` resumes it).
    Down {
        #[command(flatten)]
        dir: DevnetDir,
    },
    /// Stop the devnet and delete its data.
    Reset {
        #[command(flatten)]
        dir: DevnetDir,
    },
}

/// One node of the devnet, as recorded in `devnet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevnetNode {
    pub name: String,
    pub pid: Option<u32>,
    pub rest_url: String,
    /// Full multiaddr with `/p2p/<peer id>`.
    pub p2p_addr: String,
    pub peer_id: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    /// The exact command that runs this node (to restart it by hand).
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DevnetState {
    chain_id: String,
    genesis: PathBuf,
    nodes: Vec<DevnetNode>,
}

impl DevnetState {
    fn load(dir: &Path) -> Option<DevnetState> {
        serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).ok()?).ok()
    }

    fn save(&self, dir: &Path) -> CliResult<()> {
        let tmp = dir.join("devnet.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).expect("state serializes"),
        )?;
        std::fs::rename(tmp, dir.join(STATE_FILE))?;
        Ok(())
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn alive(pid: u32) -> bool {
    // A killed node whose parent is gone may linger as a zombie until something reaps it; it
    // still answers signal 0, so /proc's state letter decides.
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        return !matches!(state, Some('Z' | 'X'));
    }
    // Signal 0 checks that the process exists without touching it.
    signal(pid, 0)
}

/// Sends `sig` to `pid`; false when there is no such process (or it is not ours to signal).
#[allow(unsafe_code)] // libc's kill(2): std has no way to signal a process it did not spawn.
fn signal(pid: u32, sig: i32) -> bool {
    // SAFETY: kill(2) takes two integers and touches no memory of this process.
    unsafe { libc::kill(pid as i32, sig) == 0 }
}

/// Loads the devnet's spec from its dir, or writes a new one there.
fn devnet_spec(
    dir: &Path,
    validators: usize,
    (block_time_ms, validator_epoch): (Option<u64>, Option<u64>),
) -> CliResult<(ChainSpec, PathBuf)> {
    let path = dir.join("genesis.json");
    if path.exists() {
        let spec = ChainSpec::load(&path).map_err(|e| {
            CliError::new(
                "bad_genesis",
                e.to_string(),
                "run `tensorchain devnet reset` to start a new devnet",
            )
        })?;
        if let Some(bt) = block_time_ms.filter(|bt| *bt != spec.block_time_ms) {
            return Err(CliError::new(
                "genesis_mismatch",
                format!(
                    "this devnet was created with a {} ms block time, not {bt} ms",
                    spec.block_time_ms
                ),
                "add --reset to start a new devnet with the new block time",
            ));
        }
        return Ok((spec, path));
    }
    std::fs::create_dir_all(dir)?;
    let mut spec = ChainSpec::devnet(validators, now_ms());
    if let Some(bt) = block_time_ms {
        spec.block_time_ms = bt;
    }
    if let Some(e) = validator_epoch {
        spec.validator_epoch = e.max(1);
    }
    spec.validate().map_err(|e| {
        CliError::new(
            "bad_genesis",
            e.to_string(),
            "use --block-time-ms of at least 50",
        )
    })?;
    std::fs::write(&path, spec.to_json())?;
    Ok((spec, path))
}

/// A port on 127.0.0.1 nobody listens on right now.
/// The lowest port `--rpc-port 0`/`--p2p-port 0` hands out: above the well-known and registered
/// services most hosts run.
const FREE_PORT_FLOOR: u16 = 20_000;

/// A port that is free now, for a node to listen on. It is drawn at random *below* the kernel's
/// ephemeral range: a port from `bind(0)` comes from that range, where any outgoing connection on
/// the host may take it before the node binds it (a CI run lost a devnet node that way).
fn free_port() -> CliResult<u16> {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = ephemeral_range_start().max(FREE_PORT_FLOOR + 1);
    for _ in 0..1_000 {
        // RandomState is seeded from the OS: a different draw per call and per process.
        let draw = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let port = FREE_PORT_FLOOR + (draw % u64::from(ceiling - FREE_PORT_FLOOR)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The first port of the kernel's ephemeral range (Linux's default where it cannot be read).
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Node `i`'s port: the flag's (an explicit flag wins over the last run's ports), else the one
/// it had last run, else the default's.
fn port(flag: Option<u16>, default: u16, i: usize, previous: Option<u16>) -> CliResult<u16> {
    match (flag, previous) {
        (Some(0), _) => free_port(),
        (Some(base), _) => Ok(base + i as u16),
        (None, Some(p)) => Ok(p),
        (None, None) => Ok(default + i as u16),
    }
}

fn port_of(url_or_addr: &str) -> Option<u16> {
    url_or_addr
        .rsplit([':', '/'])
        .find_map(|part| part.parse().ok())
}

fn tcp_port_of_multiaddr(addr: &str) -> Option<u16> {
    let parts: Vec<&str> = addr.split('/').collect();
    parts
        .iter()
        .position(|p| *p == "tcp")
        .and_then(|i| parts.get(i + 1))
        .and_then(|p| p.parse().ok())
}

pub fn run_devnet(cmd: DevnetCmd, g: &Global) -> CliResult<()> {
    match cmd {
        DevnetCmd::Up {
            dir,
            validators,
            rpc_port,
            p2p_port,
            block_time_ms,
            validator_epoch,
            reset,
            no_demo,
            detach,
            demo: _,
        } => up(
            &dir.path(g),
            validators as usize,
            (rpc_port, p2p_port),
            (block_time_ms, validator_epoch),
            reset,
            !(no_demo || detach),
            detach,
            g,
        ),
        DevnetCmd::Status { dir } => status(&dir.path(g), g),
        DevnetCmd::Down { dir } => {
            let stopped = down(&dir.path(g))?;
            if g.json {
                print_json(&json!({"stopped": stopped}));
            } else {
                println!("stopped {} node(s)", stopped.len());
            }
            Ok(())
        }
        DevnetCmd::Reset { dir } => {
            let dir = dir.path(g);
            let stopped = down(&dir)?;
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            if g.json {
                print_json(&json!({"stopped": stopped, "removed": dir}));
            } else {
                println!(
                    "stopped {} node(s), removed {}",
                    stopped.len(),
                    dir.display()
                );
            }
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)] // one per `devnet up` flag, as clap parsed them
fn up(
    dir: &Path,
    validators: usize,
    (rpc_base, p2p_base): (Option<u16>, Option<u16>),
    timing: (Option<u64>, Option<u64>),
    reset: bool,
    demo: bool,
    detach: bool,
    g: &Global,
) -> CliResult<()> {
    // The nodes are this process's children: have the kernel reap them when they exit, so a
    // stopped node never lingers as a zombie that still looks alive.
    #[allow(unsafe_code)] // libc's signal(2): std cannot set a signal's disposition.
    // SAFETY: SIG_IGN installs no handler of ours, so no code runs in signal context; it is set
    // before any child is spawned.
    unsafe {
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
    }
    if let Some(state) = DevnetState::load(dir) {
        if state.nodes.iter().any(|n| n.pid.is_some_and(alive)) {
            return Err(CliError::new(
                "devnet_running",
                format!("the devnet in {} is already running", dir.display()),
                "see `tensorchain devnet status`, or stop it with `tensorchain devnet down`",
            ));
        }
    }
    if reset && dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let resumed = dir.join("genesis.json").exists();
    let (spec, genesis) = devnet_spec(dir, validators, timing)?;
    let previous = DevnetState::load(dir);
    let names: Vec<&str> = DEV_ACCOUNTS[..spec.validators.len()].to_vec();
    let exe = std::env::current_exe()?;

    // Node keys first, so every node can list every other one as a bootnode.
    let mut nodes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let data_dir = dir.join("nodes").join(name);
        std::fs::create_dir_all(&data_dir)?;
        let key = tensorchain_node::load_or_create_node_key(&data_dir.join("node_key"))?;
        let prev = previous
            .as_ref()
            .and_then(|s| s.nodes.iter().find(|n| n.name == *name));
        let rpc = port(rpc_base, 8080, i, prev.and_then(|n| port_of(&n.rest_url)))?;
        let p2p = port(
            p2p_base,
            30333,
            i,
            prev.and_then(|n| tcp_port_of_multiaddr(&n.p2p_addr)),
        )?;
        let peer_id = key.public().to_peer_id().to_string();
        nodes.push(DevnetNode {
            name: name.to_string(),
            pid: None,
            rest_url: format!("http://127.0.0.1:{rpc}"),
            p2p_addr: format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer_id}"),
            peer_id,
            log: data_dir.join("node.log"),
            data_dir,
            command: vec![],
        });
    }
    for i in 0..nodes.len() {
        let mut command: Vec<String> = vec![
            exe.display().to_string(),
            "node".into(),
            "run".into(),
            "--genesis".into(),
            genesis.display().to_string(),
            "--data-dir".into(),
            nodes[i].data_dir.display().to_string(),
            "--rpc-port".into(),
            port_of(&nodes[i].rest_url).unwrap_or(0).to_string(),
            "--p2p-port".into(),
            tcp_port_of_multiaddr(&nodes[i].p2p_addr)
                .unwrap_or(0)
                .to_string(),
            "--validator-uri".into(),
            nodes[i].name.clone(),
        ];
        for (j, other) in nodes.iter().enumerate() {
            if j != i {
                command.push("--bootnode".into());
                command.push(other.p2p_addr.clone());
            }
        }
        nodes[i].command = command;
    }
    let mut state = DevnetState {
        chain_id: spec.chain_id.clone(),
        genesis: genesis.clone(),
        nodes,
    };
    let started = Instant::now();
    for n in &mut state.nodes {
        let _ = std::fs::remove_file(n.data_dir.join(NODE_INFO));
        n.pid = Some(spawn(&n.command, &n.log)?);
        if !g.json {
            eprintln!("starting {} …", n.name);
        }
    }
    state.save(dir)?;
    for n in &state.nodes {
        if let Err(e) = wait_started(n, started) {
            // Half a devnet is no use: stop the nodes that did start.
            down(dir)?;
            return Err(e);
        }
    }
    if !g.json {
        eprintln!(
            "all {} nodes up in {:.1} s",
            state.nodes.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let url = state.nodes[0].rest_url.clone();
    print_up(&state, &spec, resumed, demo, detach, g);
    if detach {
        return Ok(());
    }
    init_logging();
    let template = demo.then(|| {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let url = url.clone();
        std::thread::spawn(move || {
            crate::template::run_devnet(url, stopped);
            let _ = done.send(());
        });
        (stop, finished)
    });
    runtime()?.block_on(wait_for_signal());
    if let Some((stop, finished)) = template {
        // The subnets' event streams and requests end before the nodes they talk to.
        let _ = stop.send(());
        let _ = finished.recv_timeout(TEMPLATE_STOP_TIMEOUT);
    }
    let stopped = down(dir)?;
    if !g.json {
        println!("stopped {} node(s)", stopped.len());
    }
    Ok(())
}

fn spawn(command: &[String], log: &Path) -> CliResult<u32> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        // Its own process group: a terminal's Ctrl-C reaches `devnet up`, which stops the nodes
        // in order, and a detached devnet outlives the terminal.
        .process_group(0)
        .spawn()?;
    Ok(child.id())
}

fn wait_started(n: &DevnetNode, since: Instant) -> CliResult<()> {
    loop {
        if let Some(info) = NodeInfo::load(&n.data_dir) {
            if Some(info.pid) == n.pid {
                return Ok(());
            }
        }
        if !n.pid.is_some_and(alive) {
            let mut e = CliError::new(
                "node_start_failed",
                format!("node {} exited while starting", n.name),
                format!(
                    "see its log: {} (a port in use? --rpc-port/--p2p-port pick others, 0 free ones)",
                    n.log.display()
                ),
            );
            e.details = json!({ "log_tail": log_tail(&n.log) });
            return Err(e);
        }
        if since.elapsed() > START_TIMEOUT {
            return Err(CliError::new(
                "node_start_failed",
                format!(
                    "node {} did not start within {} s",
                    n.name,
                    START_TIMEOUT.as_secs()
                ),
                format!("see its log: {}", n.log.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of a node's log: why it stopped, without opening the file.
fn log_tail(log: &Path) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    const LINES: usize = 10;
    // Logs append across restarts: read only the end.
    const TAIL_BYTES: i64 = 8 * 1024;
    let mut bytes = Vec::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f
            .seek(SeekFrom::End(-TAIL_BYTES))
            .or_else(|_| f.rewind().map(|_| 0));
        let _ = f.read_to_end(&mut bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LINES)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

fn print_up(
    state: &DevnetState,
    spec: &ChainSpec,
    resumed: bool,
    demo: bool,
    detach: bool,
    g: &Global,
) {
    let accounts: Vec<_> = DEV_ACCOUNTS
        .iter()
        .map(|n| (n, dev_coldkey(n).account(), dev_hotkey(n).account()))
        .collect();
    let url = &state.nodes[0].rest_url;
    let explorer = explorer_url(url);
    if g.json {
        let list: Vec<_> = accounts
            .iter()
            .map(|(n, c, h)| json!({"name": n, "coldkey": c, "hotkey": h, "uri": n}))
            .collect();
        println!(
            "{}",
            json!({
                "rest_url": url, "explorer_url": explorer, "chain_id": spec.chain_id, "genesis": state.genesis,
                "resumed": resumed, "block_time_ms": spec.block_time_ms,
                "nodes": state.nodes, "accounts": list,
            })
        );
        return;
    }
    println!(
        "tensorchain devnet {} — chain {}, {} validator(s), block time {} ms",
        if resumed { "resumed" } else { "started" },
        spec.chain_id,
        state.nodes.len(),
        spec.block_time_ms
    );
    for n in &state.nodes {
        println!("  {:<8} {}   peer {}", n.name, n.rest_url, n.peer_id);
    }
    println!("  explorer {explorer}   (every node serves one at /explorer/)");
    println!("  genesis  {}", state.genesis.display());
    let balance = spec
        .allocations
        .first()
        .map(|a| format_tao(a.balance))
        .unwrap_or_default();
    println!("\nDev accounts (use --uri NAME), each funded with {balance} TAO:");
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|(n, c, h)| vec![n.to_string(), c.to_string(), h.to_string()])
        .collect();
    println!("{}", table(&["NAME", "COLDKEY", "HOTKEY"], &rows));
    if demo {
        println!(
            "\nTemplate subnets: 1 rewards quality (fit a line), 2 rewards speed (solve a puzzle);"
        );
        println!("each has validators bob and charlie and miners careful, quick, wrong, copy and offline. Watch:");
        for (netuid, _) in crate::template::SUBNETS {
            println!("  tensorchain subnet metagraph --netuid {netuid} --network {url}");
        }
    }
    if detach {
        println!(
            "\nRunning in the background: `tensorchain devnet status`, `tensorchain devnet down`."
        );
    } else {
        println!("\nPress Ctrl-C to stop; run the same command again to resume.");
    }
}

/// The block explorer a node serves beside its REST API (`rpc/src/explorer.rs`).
fn explorer_url(rest_url: &str) -> String {
    format!("{rest_url}{}", tensorchain_rpc::explorer::PATH)
}

fn get_json(url: &str) -> Option<Value> {
    ureq::get(url)
        .timeout(Duration::from_secs(2))
        .call()
        .ok()?
        .into_json()
        .ok()
}

fn status(dir: &Path, g: &Global) -> CliResult<()> {
    let state = DevnetState::load(dir).ok_or_else(|| {
        CliError::new(
            "no_devnet",
            format!("no devnet in {}", dir.display()),
            "start one with `tensorchain devnet up`",
        )
    })?;
    let mut rows = Vec::new();
    let mut list = Vec::new();
    for n in &state.nodes {
        let running = n.pid.is_some_and(alive);
        let head = running
            .then(|| get_json(&format!("{}/v1/blocks/head", n.rest_url)))
            .flatten();
        let peers = running
            .then(|| get_json(&format!("{}/v1/node/peers", n.rest_url)))
            .flatten()
            .and_then(|v| v["data"]["count"].as_u64());
        let height = head
            .as_ref()
            .and_then(|h| h["data"]["header"]["height"].as_u64());
        let hash = head
            .as_ref()
            .and_then(|h| h["data"]["header"]["hash"].as_str().map(String::from));
        let mut v = serde_json::to_value(n).expect("node serializes");
        v["running"] = json!(running);
        v["height"] = json!(height);
        v["finalized_hash"] = json!(hash);
        v["peers"] = json!(peers);
        v["explorer_url"] = json!(explorer_url(&n.rest_url));
        list.push(v);
        rows.push(vec![
            n.name.clone(),
            if running { "running" } else { "stopped" }.to_string(),
            n.pid
                .filter(|_| running)
                .map_or("-".into(), |p| p.to_string()),
            height.map_or("-".into(), |h| h.to_string()),
            peers.map_or("-".into(), |p| p.to_string()),
            hash.map_or("-".into(), |h| h.chars().take(18).collect()),
            n.rest_url.clone(),
        ]);
    }
    if g.json {
        print_json(&json!({"chain_id": state.chain_id, "genesis": state.genesis, "nodes": list}));
    } else {
        println!("devnet {} ({})", state.chain_id, dir.display());
        println!(
            "{}",
            table(
                &[
                    "NODE",
                    "STATE",
                    "PID",
                    "HEIGHT",
                    "PEERS",
                    "FINALIZED",
                    "REST"
                ],
                &rows
            )
        );
    }
    Ok(())
}

/// Stops every running node: SIGTERM, then SIGKILL after a grace period. Returns their names.
fn down(dir: &Path) -> CliResult<Vec<String>> {
    let Some(mut state) = DevnetState::load(dir) else {
        return Ok(vec![]);
    };
    let running: Vec<(String, u32)> = state
        .nodes
        .iter()
        .filter_map(|n| n.pid.filter(|p| alive(*p)).map(|p| (n.name.clone(), p)))
        .collect();
    for (_, pid) in &running {
        signal(*pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    while running.iter().any(|(_, p)| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (_, pid) in &running {
        if alive(*pid) {
            signal(*pid, libc::SIGKILL);
        }
    }
    for n in &mut state.nodes {
        n.pid = None;
    }
    state.save(dir)?;
    Ok(running.into_iter().map(|(n, _)| n).collect())
}
