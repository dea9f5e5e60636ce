//! `tensorchain testnet init`: a kit for a multi-node test network, everything an operator copies
//! to the machines: the chain spec, one directory per validator holding its keys (hotkey, node
//! key, and on a funded network its coldkey) and a `node.env` for the systemd unit in `deploy/`,
//! and `nodes.json`: the command that starts each node, with its REST URL and p2p address (the
//! bootnode multiaddrs). A funded network (the default) gives each validator's coldkey TAO and
//! stake; `--no-premine` writes a chain where every rao comes from emission (docs/launch.md).
//! Nothing is started (docs/operators.md).

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

/// Validators a kit may list: the chain's default `max_validators`.
const MAX_BOOTSTRAP: usize = 32;

/// Where the systemd unit (`deploy/tensorchain-node.service`) expects a node's files on its host.
const DEPLOY_HOME: &str = "/var/lib/tensorchain";

#[derive(Subcommand)]
pub enum TestnetCmd {
    /// Write a test network's kit (spec, keys, node commands) to --out.
    Init(InitArgs),
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// No allocations and no stake: every rao comes from emission (a fair-launch rehearsal).
    #[arg(long)]
    no_premine: bool,
    /// Validators (1 to 32).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    #[arg(long)]
    out: PathBuf,
    /// One IP address per validator, comma separated (default: all on 127.0.0.1). With distinct
    /// addresses every node uses the same ports; on one address ports differ per node.
    #[arg(long, value_delimiter = ',')]
    hosts: Vec<String>,
    /// REST port (on one address: validator i listens on this + i).
    #[arg(long, default_value_t = 9100)]
    rpc_port: u16,
    /// Peer-to-peer port (on one address: validator i listens on this + i).
    #[arg(long, default_value_t = 31100)]
    p2p_port: u16,
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// Store the funded coldkeys unencrypted (throwaway test networks); otherwise they are
    /// encrypted with TENSORCHAIN_PASSWORD or a prompted password.
    #[arg(long)]
    no_password: bool,
    /// With --no-premine, the handover: the elected set needs this many validators (default 1) …
    #[arg(long)]
    handover_validators: Option<u32>,
    /// … holding this much stake in total (TAO; default 1).
    #[arg(long)]
    handover_stake: Option<String>,
}

/// One line of `nodes.json`.
#[derive(Serialize)]
struct NodeEntry {
    name: String,
    command: Vec<String>,
    rest_url: String,
    p2p_addr: String,
    hotkey: String,
    /// The coldkey that owns the validator's stake and funds (absent on a no-premine network).
    #[serde(skip_serializing_if = "Option::is_none")]
    coldkey: Option<String>,
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

/// `--hosts`: one usable address per validator. A wildcard or multicast address cannot be
/// dialled, so it would make a bootnode address no peer can reach.
fn parse_hosts(hosts: &[String], validators: usize) -> CliResult<Vec<IpAddr>> {
    if hosts.is_empty() {
        return Ok(vec![IpAddr::from([127, 0, 0, 1]); validators]);
    }
    if hosts.len() != validators {
        return Err(bad(
            "hosts_count_mismatch",
            format!("{} hosts for {validators} validators", hosts.len()),
            "give one address per validator, comma separated (or change --validators)",
        ));
    }
    hosts
        .iter()
        .map(|h| {
            let ip: IpAddr = h.trim().parse().map_err(|_| {
                bad(
                    "bad_host",
                    format!("'{h}' is not an IP address"),
                    "give IPv4 or IPv6 addresses, e.g. --hosts 10.0.0.1,10.0.0.2 (no names, no ports)",
                )
            })?;
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(bad(
                    "bad_host",
                    format!("{ip} is not an address a peer can dial"),
                    "give each host's own unicast address",
                ));
            }
            Ok(ip)
        })
        .collect()
}

fn init(a: InitArgs, g: &Global) -> CliResult<()> {
    if !(1..=MAX_BOOTSTRAP).contains(&a.validators) {
        return Err(bad(
            "bad_validator_count",
            format!(
                "--validators {} is not in 1..={MAX_BOOTSTRAP}",
                a.validators
            ),
            "pick 1 to 32 validators",
        ));
    }
    let hosts = parse_hosts(&a.hosts, a.validators)?;
    // Distinct hosts listen on the same ports; nodes sharing an address need their own.
    let distinct = hosts
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        == hosts.len();
    let step = u16::from(!distinct);
    let last = (a.validators as u32 - 1) * step as u32;
    if a.rpc_port as u32 + last > u16::MAX as u32 || a.p2p_port as u32 + last > u16::MAX as u32 {
        return Err(bad(
            "bad_port",
            "ports run past 65535".into(),
            "pick lower base ports",
        ));
    }
    if a.rpc_port == 0 || a.p2p_port == 0 {
        return Err(bad(
            "bad_port",
            "a kit needs fixed ports: peers dial each other's p2p port".into(),
            "pick ports above 0, e.g. --rpc-port 9100 --p2p-port 31100",
        ));
    }
    if !a.no_premine && (a.handover_validators.is_some() || a.handover_stake.is_some()) {
        return Err(bad(
            "handover_needs_no_premine",
            "--handover-validators/--handover-stake apply to no-premine networks only".into(),
            "add --no-premine, or drop the handover flags (a funded network's validators are staked)",
        ));
    }
    let handover_validators = a.handover_validators.unwrap_or(1);
    let handover_stake = parse_tao(a.handover_stake.as_deref().unwrap_or("1"))
        .map_err(|e| bad("bad_amount", e.to_string(), "amounts are TAO, e.g. 1.5"))?;
    if a.out.join("spec.json").exists() {
        return Err(bad(
            "kit_exists",
            format!("{} already holds a kit", a.out.display()),
            "choose another --out (a kit's keys are never overwritten)",
        ));
    }
    let password = if a.no_premine || a.no_password {
        None
    } else {
        Some(crate::keystore::password(
            "Password for the validators' coldkeys: ",
            true,
        )?)
    };
    let keys: Vec<Keypair> = (0..a.validators).map(|_| Keypair::generate()).collect();
    let coldkeys: Vec<Keypair> = if a.no_premine {
        vec![]
    } else {
        (0..a.validators).map(|_| Keypair::generate()).collect()
    };
    let spec = if a.no_premine {
        let hotkeys: Vec<_> = keys.iter().map(Keypair::account).collect();
        ChainSpec::no_premine_testnet(
            &hotkeys,
            crate::devnet::now_ms(),
            a.block_time_ms,
            (handover_validators, handover_stake),
        )
    } else {
        let pairs: Vec<_> = keys
            .iter()
            .zip(&coldkeys)
            .map(|(h, c)| (h.account(), c.account()))
            .collect();
        ChainSpec::funded_testnet(&pairs, crate::devnet::now_ms(), a.block_time_ms)
    };
    spec.validate()
        .map_err(|e| bad("bad_spec", e.to_string(), "check the flags"))?;
    std::fs::create_dir_all(&a.out)?;
    let out = a.out.canonicalize()?;
    let spec_path = out.join("spec.json");
    std::fs::write(&spec_path, spec.to_json())?;

    let exe = std::env::current_exe()?;
    let mut nodes = Vec::with_capacity(a.validators);
    let mut listen = Vec::with_capacity(a.validators);
    for (i, key) in keys.iter().enumerate() {
        let name = format!("validator-{i}");
        let home = out.join(&name);
        let wallets = Wallets::new(&home);
        wallets.create_hotkey("default", "default", key, false)?;
        let coldkey = coldkeys.get(i).map(|c| {
            wallets
                .create_coldkey("default", c, password.as_deref().map(|p| p.as_str()), false)
                .map(|_| c.account().to_ss58())
        });
        let data_dir = home.join("data");
        std::fs::create_dir_all(&data_dir)?;
        let node_key = tensorchain_node::load_or_create_node_key(&data_dir.join("node_key"))?;
        let host = hosts[i];
        let (rpc, p2p) = (a.rpc_port + i as u16 * step, a.p2p_port + i as u16 * step);
        let peer = node_key.public().to_peer_id();
        listen.push((host, rpc, p2p));
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
            coldkey: coldkey.transpose()?,
            home,
            name,
        });
    }
    // Every node dials every other one.
    let bootnodes: Vec<String> = nodes.iter().map(|n| n.p2p_addr.clone()).collect();
    for (i, n) in nodes.iter_mut().enumerate() {
        let others: Vec<&String> = (0..bootnodes.len())
            .filter(|j| *j != i)
            .map(|j| &bootnodes[j])
            .collect();
        for addr in &others {
            n.command
                .extend(["--bootnode".to_string(), addr.to_string()]);
        }
        std::fs::write(
            n.home.join("node.env"),
            node_env(&n.name, listen[i], &others),
        )?;
    }
    let nodes_json = serde_json::to_string_pretty(&nodes).expect("nodes serialize");
    std::fs::write(out.join("nodes.json"), &nodes_json)?;
    let kind = if a.no_premine { "no-premine" } else { "funded" };
    if g.json {
        print_json(&serde_json::json!({
            "kind": kind, "spec": spec_path, "genesis_hash": spec.hash().to_hex(),
            "chain_id": spec.chain_id, "block_time_ms": spec.block_time_ms,
            "nodes_json": out.join("nodes.json"), "bootnodes": bootnodes, "nodes": nodes,
        }));
    } else {
        println!("{kind} testnet kit in {}", out.display());
        println!(
            "  spec         {} (genesis {})",
            spec_path.display(),
            spec.hash()
        );
        println!("  nodes        {}", out.join("nodes.json").display());
        for n in &nodes {
            println!("  {:<12} {}  {}", n.name, n.rest_url, n.p2p_addr);
        }
        println!(
            "start each node with its `command` from nodes.json, or copy validator-<i>/ and spec.json \
             to host i and use deploy/tensorchain-node.service (docs/operators.md)"
        );
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

/// The node's flags for the systemd unit, with paths as laid out on its own host: the
/// validator's directory copied to `DEPLOY_HOME`, `spec.json` beside it.
fn node_env(name: &str, (host, rpc, p2p): (IpAddr, u16, u16), peers: &[&String]) -> String {
    let bootnodes: String = peers.iter().map(|p| format!(" --bootnode {p}")).collect();
    format!(
        "# {name}: copy this directory to {DEPLOY_HOME} on its host and spec.json to \
         {DEPLOY_HOME}/spec.json;\n# deploy/tensorchain-node.service reads this file.\n\
         TENSORCHAIN_NODE_ARGS=--genesis {DEPLOY_HOME}/spec.json --data-dir {DEPLOY_HOME}/data \
         --rpc-addr {host} --rpc-port {rpc} --p2p-addr {host} --p2p-port {p2p} --validator{bootnodes}\n"
    )
}
