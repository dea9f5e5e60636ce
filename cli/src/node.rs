//! `tensorchain node run`: one node in this process, as a validator or a full node, until Ctrl-C
//! or SIGTERM. It writes `node.json` in its data dir (pid, REST URL, p2p addresses) so launchers
//! and scripts can find it.

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::keystore::Wallets;
use crate::output::{print_json, table};
use crate::Global;
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use tensorchain_genesis::{dev_hotkey, ChainSpec};
use tensorchain_node::{Multiaddr, NodeConfig};
use tensorchain_primitives::Keypair;
use tensorchain_rpc::config as rpc_config;
use tensorchain_rpc::RpcConfig;

#[derive(Subcommand)]
pub enum NodeCmd {
    /// Run a node from a chain spec: a validator with --validator-uri/--validator, else a full node.
    Run(Box<RunArgs>),
    /// The node's identity, head, sync distance and consensus height (--network picks the node).
    Status,
    /// The node's connected peers.
    Peers,
}

#[derive(clap::Args)]
pub struct RunArgs {
    #[arg(long)]
    genesis: PathBuf,
    #[arg(long)]
    data_dir: PathBuf,
    /// REST port; 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    rpc_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    rpc_addr: IpAddr,
    /// Peer-to-peer port; 0 picks a free one.
    #[arg(long, default_value_t = 30333)]
    p2p_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    p2p_addr: IpAddr,
    /// A peer to join through, `/ip4/…/tcp/…/p2p/<peer id>`; repeat for several.
    #[arg(long)]
    bootnode: Vec<String>,
    /// Validate with a dev validator key (e.g. alice).
    #[arg(long, conflicts_with = "validator")]
    validator_uri: Option<String>,
    /// Validate with the wallet's hotkey (-w/-H).
    #[arg(long)]
    validator: bool,
    /// Never hand this peer's address to others in discovery (a sentry's validator behind it);
    /// repeat for several.
    #[arg(long, value_name = "PEER_ID")]
    private_peer: Vec<String>,
    /// Kademlia client mode: hand out no peers, learn none, dial only the bootnodes (a validator
    /// behind sentries).
    #[arg(long)]
    no_peer_sharing: bool,
    /// Log lines on stderr: `text` for people, `json` (one object per line) for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Heights of state kept for `?at=` reads and proofs; older state is pruned as blocks commit.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    state_history: u64,
    /// Keep the state of every height (an archive node); overrides --state-history.
    #[arg(long)]
    archive: bool,
    #[command(flatten)]
    rpc: RpcArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The REST API's limits (docs/api-limits.md).
#[derive(clap::Args)]
pub struct RpcArgs {
    /// Cost units one client (IPv4 address or IPv6 /64) may spend per second: a read costs 1,
    /// heavy routes (metagraph, lists, events, simulate) 10. 0 turns the limit off.
    #[arg(long, default_value_t = rpc_config::DEFAULT_RATE_LIMIT_PER_CLIENT)]
    rpc_rate_limit: u32,
    /// Cost units all clients together may spend per second. 0 turns the limit off.
    #[arg(long, default_value_t = rpc_config::DEFAULT_RATE_LIMIT_GLOBAL)]
    rpc_rate_limit_global: u32,
    /// Limit loopback clients (127.0.0.1, ::1) too; by default they are exempt from the rate
    /// limits and the per-client stream cap, so a devnet and local tools run unthrottled.
    #[arg(long)]
    rpc_limit_loopback: bool,
    /// Event streams (/v1/events) served at once, in all.
    #[arg(long, default_value_t = rpc_config::DEFAULT_MAX_STREAMS)]
    rpc_max_streams: usize,
    /// Event streams one client may hold at once.
    #[arg(long, default_value_t = rpc_config::DEFAULT_MAX_STREAMS_PER_CLIENT)]
    rpc_max_streams_per_client: usize,
    /// Origins browsers may call the API from, comma-separated (https://app.example), or * for
    /// any. Default: none.
    #[arg(long, value_delimiter = ',')]
    rpc_cors: Vec<String>,
    /// Seconds a request may take before it is answered 408 request_timeout.
    #[arg(long, default_value_t = rpc_config::DEFAULT_REQUEST_TIMEOUT.as_secs())]
    rpc_timeout_secs: u64,
}

impl RpcArgs {
    fn config(self) -> RpcConfig {
        RpcConfig {
            rate_limit_per_client: self.rpc_rate_limit,
            rate_limit_global: self.rpc_rate_limit_global,
            limit_loopback: self.rpc_limit_loopback,
            max_streams: self.rpc_max_streams,
            max_streams_per_client: self.rpc_max_streams_per_client,
            cors_origins: self.rpc_cors,
            request_timeout: std::time::Duration::from_secs(self.rpc_timeout_secs.max(1)),
        }
    }
}

/// What a running node writes to `<data dir>/node.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    pub pid: u32,
    pub rest_url: String,
    pub peer_id: String,
    pub p2p_addrs: Vec<String>,
    pub role: String,
}

pub const NODE_INFO: &str = "node.json";

impl NodeInfo {
    pub fn load(data_dir: &Path) -> Option<NodeInfo> {
        let text = std::fs::read_to_string(data_dir.join(NODE_INFO)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

pub fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::from)
}

pub fn init_logging() {
    init_logging_as(LogFormat::Text)
}

pub fn init_logging_as(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colour only on a terminal: a log file or a pipe to a log shipper gets plain text.
        LogFormat::Text => fmt
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => fmt.json().try_init(),
    };
}

pub fn parse_multiaddr(s: &str) -> CliResult<Multiaddr> {
    s.parse().map_err(|e| {
        CliError::new(
            "bad_multiaddr",
            format!("'{s}' is not a multiaddr: {e}"),
            "use the form /ip4/127.0.0.1/tcp/30333/p2p/<peer id> (see `devnet status`)",
        )
    })
}

fn tcp_multiaddr(ip: IpAddr, port: u16) -> Multiaddr {
    let proto = if ip.is_ipv4() { "ip4" } else { "ip6" };
    format!("/{proto}/{ip}/tcp/{port}")
        .parse()
        .expect("a valid tcp multiaddr")
}

pub fn run_node(cmd: NodeCmd, g: &Global) -> CliResult<()> {
    let client = Client::new(&g.network);
    match cmd {
        NodeCmd::Run(args) => run(*args, g),
        NodeCmd::Status => {
            let identity: Value = client.get("/v1/node/identity")?;
            let syncing: Value = client.get("/v1/node/syncing")?;
            let (id, sync) = (&identity, &syncing);
            if g.json {
                print_json(&json!({"identity": id, "syncing": sync}));
            } else {
                println!("peer id     {}", id["peer_id"].as_str().unwrap_or("-"));
                println!("role        {}", id["role"].as_str().unwrap_or("-"));
                for a in id["listen_addrs"].as_array().into_iter().flatten() {
                    println!("listening   {}", a.as_str().unwrap_or_default());
                }
                println!("chain       {}", id["chain_id"].as_str().unwrap_or("-"));
                println!(
                    "head        {} (best peer {}, {} behind{})",
                    sync["head"],
                    sync["best_peer_height"],
                    sync["sync_distance"],
                    if sync["syncing"] == true {
                        ", syncing"
                    } else {
                        ""
                    }
                );
                println!(
                    "consensus   height {} round {}",
                    sync["consensus_height"], sync["consensus_round"]
                );
            }
            Ok(())
        }
        NodeCmd::Peers => {
            let peers: Value = client.get("/v1/node/peers")?;
            let list = &peers["peers"];
            if g.json {
                print_json(list);
            } else {
                let rows: Vec<Vec<String>> = list
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        ["peer_id", "direction", "addr", "agent"]
                            .iter()
                            .map(|k| p[*k].as_str().unwrap_or("-").to_string())
                            .collect()
                    })
                    .collect();
                println!(
                    "{}",
                    table(&["PEER ID", "DIRECTION", "ADDRESS", "AGENT"], &rows)
                );
            }
            Ok(())
        }
    }
}

fn run(args: RunArgs, g: &Global) -> CliResult<()> {
    crate::alloc::keep_freed_memory();
    let RunArgs {
        genesis,
        data_dir,
        rpc_port,
        rpc_addr,
        p2p_port,
        p2p_addr,
        bootnode,
        validator_uri,
        validator,
        private_peer,
        no_peer_sharing,
        log_format,
        state_history,
        archive,
        rpc,
    } = args;
    let private_peers = private_peer
        .iter()
        .map(|p| {
            p.parse::<tensorchain_network::PeerId>().map_err(|e| {
                CliError::new(
                    "bad_peer_id",
                    format!("'{p}' is not a peer id: {e}"),
                    "pass the peer id a node prints (`devnet status --json`, /v1/node/identity)",
                )
            })
        })
        .collect::<CliResult<Vec<_>>>()?;
    let spec = ChainSpec::load(&genesis).map_err(|e| {
        CliError::new(
            "bad_genesis",
            e.to_string(),
            "pass the chain's genesis.json",
        )
    })?;
    let bootnodes = bootnode
        .iter()
        .map(|b| parse_multiaddr(b))
        .collect::<CliResult<Vec<_>>>()?;
    let key: Option<Keypair> = match (validator_uri, validator) {
        (Some(name), _) => {
            crate::wallet::refuse_dev_key_off_devnet(&spec.chain_id, "--validator-uri")?;
            Some(dev_hotkey(&name))
        }
        (None, true) => Some(Wallets::new(&g.home()).hotkey(&g.wallet, &g.hotkey)?),
        (None, false) => None,
    };
    let is_validator = key.is_some();
    let rpc = rpc.config();
    rpc.validate().map_err(|e| {
        CliError::new(
            "bad_cors_origin",
            e.to_string(),
            "pass --rpc-cors origins like https://app.example, comma-separated, or *",
        )
    })?;
    init_logging_as(log_format);
    let config = NodeConfig {
        data_dir: data_dir.clone(),
        spec,
        rpc_addr: SocketAddr::new(rpc_addr, rpc_port),
        p2p_addr: tcp_multiaddr(p2p_addr, p2p_port),
        bootnodes,
        validator_key: key,
        rpc,
        peer_sharing: if no_peer_sharing {
            tensorchain_network::PeerSharing::Off
        } else {
            tensorchain_network::PeerSharing::Share
        },
        private_peers,
        state_history: (!archive).then_some(state_history),
    };
    runtime()?.block_on(async move {
        let node = tensorchain_node::start(config).await.map_err(|e| {
            CliError::new(
                "node_start_failed",
                format!("{e:#}"),
                "is another node using this data dir or port? (`tensorchain devnet status`)",
            )
        })?;
        let info = NodeInfo {
            pid: std::process::id(),
            rest_url: format!("http://{}", node.rpc_addr),
            peer_id: node.peer_id.clone(),
            p2p_addrs: node.p2p_addrs.iter().map(|a| a.to_string()).collect(),
            role: if is_validator {
                "validator".into()
            } else {
                "full".into()
            },
        };
        let tmp = data_dir.join("node.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&info).expect("node info serializes"),
        )?;
        std::fs::rename(&tmp, data_dir.join(NODE_INFO))?;
        if g.json {
            // One line, so a launcher can read it before the logs start.
            println!(
                "{}",
                serde_json::to_string(&info).expect("node info serializes")
            );
        } else {
            println!(
                "node running ({}): REST API {}  explorer {}{}  p2p {}",
                info.role,
                info.rest_url,
                info.rest_url,
                tensorchain_rpc::explorer::PATH,
                info.p2p_addrs.join(" ")
            );
        }
        let mut node = node;
        tokio::select! {
            _ = wait_for_signal() => {}
            reason = node.failed() => {
                tracing::error!(%reason, "a core task died; exiting for the supervisor to restart the node");
                let _ = std::fs::remove_file(data_dir.join(NODE_INFO));
                return Err(CliError::new(
                    "node_failed",
                    reason,
                    "the node exits so that its supervisor (systemd, `devnet up`) restarts it; see the log",
                ));
            }
        }
        tracing::info!("shutting down");
        node.shutdown().await;
        let _ = std::fs::remove_file(data_dir.join(NODE_INFO));
        Ok::<(), CliError>(())
    })
}

pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
