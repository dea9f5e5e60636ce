//! `tensorchain devnet up` and `tensorchain node run`: start a node in this process and run it
//! until Ctrl-C or SIGTERM.

use crate::error::{CliError, CliResult};
use crate::keystore::Wallets;
use crate::output::{print_json, table};
use crate::Global;
use clap::Subcommand;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tensorchain_genesis::{dev_coldkey, dev_hotkey, ChainSpec, DEV_ACCOUNTS};
use tensorchain_node::{NodeConfig, SoloFinalizer};
use tensorchain_primitives::{format_tao, Keypair};

#[derive(Subcommand)]
pub enum DevnetCmd {
    /// Start (or resume) the local devnet: one validator (alice), funded dev accounts.
    Up {
        /// Where the chain lives (default <home>/devnet). Created on first start, resumed after.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// REST port; 0 picks a free one.
        #[arg(long, default_value_t = 8080)]
        rpc_port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        rpc_addr: IpAddr,
        /// Block time of a new devnet (fixed once its genesis exists).
        #[arg(long)]
        block_time_ms: Option<u64>,
        /// Delete the devnet's data and start a new chain.
        #[arg(long)]
        reset: bool,
        /// Run the built-in demo subnet (subnet 1 with 2 validators and 4 miners); the default.
        #[arg(long, conflicts_with = "no_demo")]
        demo: bool,
        /// Skip the built-in demo subnet.
        #[arg(long)]
        no_demo: bool,
    },
}

#[derive(Subcommand)]
pub enum NodeCmd {
    /// Run a node from a chain spec.
    Run {
        #[arg(long)]
        genesis: PathBuf,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 8080)]
        rpc_port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        rpc_addr: IpAddr,
        /// Produce blocks with a dev validator key (e.g. alice).
        #[arg(long, conflicts_with = "validator")]
        validator_uri: Option<String>,
        /// Produce blocks with the wallet's hotkey (-w/-H).
        #[arg(long)]
        validator: bool,
    },
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn runtime() -> CliResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::from)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads the devnet's spec from its data dir, or writes a new one there.
fn devnet_spec(data_dir: &Path, block_time_ms: Option<u64>) -> CliResult<(ChainSpec, PathBuf)> {
    let path = data_dir.join("genesis.json");
    if path.exists() {
        let spec = ChainSpec::load(&path).map_err(|e| {
            CliError::new(
                "bad_genesis",
                e.to_string(),
                "run with --reset to start a new devnet",
            )
        })?;
        if let Some(bt) = block_time_ms {
            if bt != spec.block_time_ms {
                return Err(CliError::new(
                    "genesis_mismatch",
                    format!(
                        "this devnet was created with a {} ms block time, not {bt} ms",
                        spec.block_time_ms
                    ),
                    "add --reset to start a new devnet with the new block time",
                ));
            }
        }
        return Ok((spec, path));
    }
    std::fs::create_dir_all(data_dir)?;
    let mut spec = ChainSpec::devnet(1, now_ms());
    if let Some(bt) = block_time_ms {
        spec.block_time_ms = bt;
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

pub fn run_devnet(cmd: DevnetCmd, g: &Global) -> CliResult<()> {
    let DevnetCmd::Up {
        data_dir,
        rpc_port,
        rpc_addr,
        block_time_ms,
        reset,
        no_demo,
        demo: _,
    } = cmd;
    let data_dir = data_dir.unwrap_or_else(|| g.home().join("devnet"));
    if reset && data_dir.exists() {
        std::fs::remove_dir_all(&data_dir)?;
    }
    let resumed = data_dir.join("genesis.json").exists();
    let (spec, genesis_path) = devnet_spec(&data_dir, block_time_ms)?;
    init_logging();
    let validator = dev_hotkey("alice");
    let config = NodeConfig {
        data_dir: data_dir.clone(),
        spec: spec.clone(),
        rpc_addr: SocketAddr::new(rpc_addr, rpc_port),
        finalizer: Some(Arc::new(SoloFinalizer::new(validator))),
    };
    runtime()?.block_on(async move {
        let node = tensorchain_node::start(config).await?;
        let url = format!("http://{}", node.rpc_addr);
        if !no_demo {
            let demo_url = url.clone();
            std::thread::spawn(move || crate::demo::run(demo_url));
        }
        let accounts: Vec<_> = DEV_ACCOUNTS
            .iter()
            .map(|n| (n, dev_coldkey(n).account(), dev_hotkey(n).account()))
            .collect();
        if g.json {
            let list: Vec<_> = accounts
                .iter()
                .map(|(n, c, h)| json!({"name": n, "coldkey": c, "hotkey": h, "uri": n}))
                .collect();
            println!(
                "{}",
                json!({
                    "rest_url": url, "chain_id": spec.chain_id, "genesis": genesis_path,
                    "data_dir": data_dir, "resumed": resumed, "height": node.node_height(),
                    "block_time_ms": spec.block_time_ms, "accounts": list,
                })
            );
        } else {
            let balance = spec
                .allocations
                .first()
                .map(|a| format_tao(a.balance))
                .unwrap_or_default();
            println!(
                "tensorchain devnet {} — chain {}",
                if resumed { "resumed" } else { "started" },
                spec.chain_id
            );
            println!("  REST API   {url}   (docs {url}/docs)");
            println!("  data dir   {}", data_dir.display());
            println!("  block time {} ms, validator alice", spec.block_time_ms);
            println!("\nDev accounts (use --uri NAME), each funded with {balance} TAO:");
            let rows: Vec<Vec<String>> = accounts
                .iter()
                .map(|(n, c, h)| vec![n.to_string(), c.to_string(), h.to_string()])
                .collect();
            println!("{}", table(&["NAME", "COLDKEY", "HOTKEY"], &rows));
            if !no_demo {
                println!("\nDemo: subnet {} with 2 validators (bob, charlie) and 4 miners; watch it with", crate::demo::NETUID);
                println!("  tensorchain subnet metagraph --netuid {} --network {url}", crate::demo::NETUID);
            }
            println!("\nPress Ctrl-C to stop; run the same command again to resume.");
        }
        wait_for_signal().await;
        tracing::info!("shutting down");
        node.shutdown().await;
        Ok::<(), CliError>(())
    })
}

pub fn run_node(cmd: NodeCmd, g: &Global) -> CliResult<()> {
    let NodeCmd::Run {
        genesis,
        data_dir,
        rpc_port,
        rpc_addr,
        validator_uri,
        validator,
    } = cmd;
    let spec = ChainSpec::load(&genesis).map_err(|e| {
        CliError::new(
            "bad_genesis",
            e.to_string(),
            "pass the chain's genesis.json",
        )
    })?;
    let key: Option<Keypair> = match (validator_uri, validator) {
        (Some(name), _) => Some(dev_hotkey(&name)),
        (None, true) => Some(Wallets::new(&g.home()).hotkey(&g.wallet, &g.hotkey)?),
        (None, false) => None,
    };
    init_logging();
    let config = NodeConfig {
        data_dir,
        spec,
        rpc_addr: SocketAddr::new(rpc_addr, rpc_port),
        finalizer: key
            .map(|k| Arc::new(SoloFinalizer::new(k)) as Arc<dyn tensorchain_node::Finalizer>),
    };
    runtime()?.block_on(async move {
        let node = tensorchain_node::start(config).await?;
        if g.json {
            print_json(&json!({"rest_url": format!("http://{}", node.rpc_addr), "height": node.node_height()}));
        } else {
            println!("node running: REST API http://{}", node.rpc_addr);
        }
        wait_for_signal().await;
        node.shutdown().await;
        Ok::<(), CliError>(())
    })
}

async fn wait_for_signal() {
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
