//! `tensorchain testnet init --no-premine`: a launch kit for a chain where every rao comes from
//! emission. It writes the spec (genesis subnet 1 registering by proof of work, bootstrap
//! validators with power but no stake, and the handover rule), one directory per bootstrap
//! validator holding its hotkey and node key, and `nodes.json`: the command that starts each node,
//! with its REST URL and p2p address. Nothing is started (docs/launch.md).

use crate::error::{CliError, CliResult};
use crate::keystore::Wallets;
use crate::output::print_json;
use crate::Global;
use clap::Subcommand;
use serde::Serialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use tensorchain_genesis::ChainSpec;
use tensorchain_primitives::{parse_tao, Keypair};

/// Bootstrap validators a kit may list: the chain's default `max_validators`.
const MAX_BOOTSTRAP: usize = 32;

#[derive(Subcommand)]
pub enum TestnetCmd {
    /// Write a no-premine launch kit to --out.
    Init(InitArgs),
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// No allocations and no stake: the only kind of network this command writes.
    #[arg(long)]
    no_premine: bool,
    /// Bootstrap validators (1 to 32).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    #[arg(long)]
    out: PathBuf,
    /// One address per validator (default: all on 127.0.0.1, ports differing per node).
    #[arg(long, value_delimiter = ',')]
    hosts: Vec<IpAddr>,
    /// First REST port; validator i listens on this + i.
    #[arg(long, default_value_t = 9100)]
    rpc_port: u16,
    /// First p2p port; validator i listens on this + i.
    #[arg(long, default_value_t = 31100)]
    p2p_port: u16,
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// Handover: the elected set needs this many validators …
    #[arg(long, default_value_t = 1)]
    handover_validators: u32,
    /// … holding this much stake in total (TAO).
    #[arg(long, default_value = "1")]
    handover_stake: String,
}

/// One line of `nodes.json`.
#[derive(Serialize)]
struct NodeEntry {
    name: String,
    command: Vec<String>,
    rest_url: String,
    p2p_addr: String,
    hotkey: String,
    home: PathBuf,
}

pub fn run(cmd: TestnetCmd, g: &Global) -> CliResult<()> {
    match cmd {
        TestnetCmd::Init(args) => init(args, g),
    }
}

fn bad(code: &str, message: String, hint: &str) -> CliError {
    CliError::new(code, message, hint)
}

fn init(a: InitArgs, g: &Global) -> CliResult<()> {
    if !a.no_premine {
        return Err(bad(
            "no_premine_required",
            "testnet init writes no-premine networks only".into(),
            "pass --no-premine (a funded dev network is `tensorchain devnet up`)",
        ));
    }
    if !(1..=MAX_BOOTSTRAP).contains(&a.validators) {
        return Err(bad(
            "bad_validator_count",
            format!(
                "--validators {} is not in 1..={MAX_BOOTSTRAP}",
                a.validators
            ),
            "pick 1 to 32 bootstrap validators",
        ));
    }
    if !a.hosts.is_empty() && a.hosts.len() != a.validators {
        return Err(bad(
            "bad_hosts",
            format!("{} hosts for {} validators", a.hosts.len(), a.validators),
            "give one address per validator, comma separated",
        ));
    }
    let last = a.validators as u32 - 1;
    if a.rpc_port as u32 + last > u16::MAX as u32 || a.p2p_port as u32 + last > u16::MAX as u32 {
        return Err(bad(
            "bad_port",
            "ports run past 65535".into(),
            "pick lower base ports",
        ));
    }
    let handover_stake = parse_tao(&a.handover_stake)
        .map_err(|e| bad("bad_amount", e.to_string(), "amounts are TAO, e.g. 1.5"))?;
    if a.out.join("spec.json").exists() {
        return Err(bad(
            "kit_exists",
            format!("{} already holds a launch kit", a.out.display()),
            "choose another --out (a kit's keys are never overwritten)",
        ));
    }
    std::fs::create_dir_all(&a.out)?;
    let out = a.out.canonicalize()?;
    let keys: Vec<Keypair> = (0..a.validators).map(|_| Keypair::generate()).collect();
    let hotkeys: Vec<_> = keys.iter().map(Keypair::account).collect();
    let spec = ChainSpec::no_premine_testnet(
        &hotkeys,
        crate::devnet::now_ms(),
        a.block_time_ms,
        (a.handover_validators, handover_stake),
    );
    spec.validate()
        .map_err(|e| bad("bad_spec", e.to_string(), "check the flags"))?;
    let spec_path = out.join("spec.json");
    std::fs::write(&spec_path, spec.to_json())?;

    let exe = std::env::current_exe()?;
    let mut nodes = Vec::with_capacity(a.validators);
    for (i, key) in keys.iter().enumerate() {
        let name = format!("validator-{i}");
        let home = out.join(&name);
        Wallets::new(&home).create_hotkey("default", "default", key, false)?;
        let data_dir = home.join("data");
        std::fs::create_dir_all(&data_dir)?;
        let node_key = tensorchain_node::load_or_create_node_key(&data_dir.join("node_key"))?;
        let host = a
            .hosts
            .get(i)
            .copied()
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let (rpc, p2p) = (a.rpc_port + i as u16, a.p2p_port + i as u16);
        let peer = node_key.public().to_peer_id();
        let ip = match host {
            IpAddr::V4(_) => "ip4",
            IpAddr::V6(_) => "ip6",
        };
        nodes.push(NodeEntry {
            command: node_command(&exe, &home, &spec_path, &data_dir, (host, rpc, p2p)),
            rest_url: match host {
                IpAddr::V4(_) => format!("http://{host}:{rpc}"),
                IpAddr::V6(_) => format!("http://[{host}]:{rpc}"),
            },
            p2p_addr: format!("/{ip}/{host}/tcp/{p2p}/p2p/{peer}"),
            hotkey: key.account().to_ss58(),
            home,
            name,
        });
    }
    // Every node dials every other one.
    let addrs: Vec<String> = nodes.iter().map(|n| n.p2p_addr.clone()).collect();
    for (i, n) in nodes.iter_mut().enumerate() {
        for (j, addr) in addrs.iter().enumerate() {
            if i != j {
                n.command.extend(["--bootnode".to_string(), addr.clone()]);
            }
        }
    }
    let nodes_json = serde_json::to_string_pretty(&nodes).expect("nodes serialize");
    std::fs::write(out.join("nodes.json"), &nodes_json)?;
    if g.json {
        print_json(&serde_json::json!({
            "spec": spec_path, "genesis_hash": spec.hash().to_hex(), "chain_id": spec.chain_id,
            "nodes_json": out.join("nodes.json"), "nodes": nodes,
        }));
    } else {
        println!("no-premine launch kit in {}", out.display());
        println!(
            "  spec         {} (genesis {})",
            spec_path.display(),
            spec.hash()
        );
        println!("  nodes        {}", out.join("nodes.json").display());
        for n in &nodes {
            println!("  {:<12} {}  {}", n.name, n.rest_url, n.hotkey);
        }
        println!("start each node with its `command` from nodes.json (docs/launch.md)");
    }
    Ok(())
}

fn node_command(
    exe: &Path,
    home: &Path,
    spec: &Path,
    data_dir: &Path,
    (host, rpc, p2p): (IpAddr, u16, u16),
) -> Vec<String> {
    [
        exe.display().to_string(),
        "--home".into(),
        home.display().to_string(),
        "node".into(),
        "run".into(),
        "--genesis".into(),
        spec.display().to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--rpc-addr".into(),
        host.to_string(),
        "--rpc-port".into(),
        rpc.to_string(),
        "--p2p-addr".into(),
        host.to_string(),
        "--p2p-port".into(),
        p2p.to_string(),
        "--validator".into(),
    ]
    .into()
}
