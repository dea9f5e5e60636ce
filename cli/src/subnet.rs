//! `tensorchain subnet …`, `weights …` and `axon …`: create and join subnets, read the metagraph,
//! set weights and serve axons.

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::keystore::Wallets;
use crate::output::{print_json, table};
use crate::wallet::{parse_amount, send, signer};
use crate::Global;
use clap::Subcommand;
use serde_json::Value;
use tensorchain_primitives::{format_tao, Call, Keypair};

#[derive(Subcommand)]
pub enum SubnetCmd {
    /// All subnets.
    List,
    /// Create a subnet owned by the coldkey, with the hotkey as uid 0 (burns the lock cost).
    Create {
        /// Most TAO you accept to burn (default: the current lock cost).
        #[arg(long)]
        max_cost: Option<String>,
        #[arg(long, default_value = "")]
        identity: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Register the hotkey on a subnet (burns the current price).
    Register {
        #[arg(long)]
        netuid: u16,
        /// Most TAO you accept to burn (default: the current price).
        #[arg(long)]
        max_cost: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Register the hotkey by proof of work (free; subnets whose registration is pow or both).
    PowRegister {
        #[arg(long)]
        netuid: u16,
        /// Solver threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// A subnet's hyperparameters.
    Hyperparameters {
        #[arg(long)]
        netuid: u16,
    },
    /// Set a hyperparameter (subnet owner, or sudo).
    Set {
        #[arg(long)]
        netuid: u16,
        #[arg(long)]
        name: String,
        #[arg(long)]
        value: u64,
        #[arg(long)]
        dry_run: bool,
    },
    /// The metagraph: one row per uid, with totals.
    Metagraph {
        #[arg(long)]
        netuid: u16,
    },
    /// The price of registering on a subnet, and of creating one.
    BurnCost {
        #[arg(long)]
        netuid: Option<u16>,
    },
    /// The template subnets (quality, speed): run a miner or a validator of your own.
    #[command(subcommand)]
    Template(crate::template::TemplateCmd),
}

#[derive(Subcommand)]
pub enum WeightsCmd {
    /// Set the hotkey's weights: --uids 1,2,3 --values 10,20,70 (scaled so the largest is 65535).
    Set {
        #[arg(long)]
        netuid: u16,
        #[arg(long, value_delimiter = ',')]
        uids: Vec<u16>,
        #[arg(long, value_delimiter = ',')]
        values: Vec<u16>,
        #[arg(long, default_value_t = 0)]
        version_key: u64,
        #[arg(long)]
        dry_run: bool,
    },
    /// Commit a hash of weights (subnets with commit-reveal); reveal them next epoch.
    Commit {
        #[arg(long)]
        netuid: u16,
        #[arg(long, value_delimiter = ',')]
        uids: Vec<u16>,
        #[arg(long, value_delimiter = ',')]
        values: Vec<u16>,
        /// Secret salt; keep it for the reveal.
        #[arg(long)]
        salt: String,
        #[arg(long, default_value_t = 0)]
        version_key: u64,
        #[arg(long)]
        dry_run: bool,
    },
    /// Reveal committed weights: the same uids, values, salt and version.
    Reveal {
        #[arg(long)]
        netuid: u16,
        #[arg(long, value_delimiter = ',')]
        uids: Vec<u16>,
        #[arg(long, value_delimiter = ',')]
        values: Vec<u16>,
        #[arg(long)]
        salt: String,
        #[arg(long, default_value_t = 0)]
        version_key: u64,
        #[arg(long)]
        dry_run: bool,
    },
    /// Stored weight rows of a subnet.
    Get {
        #[arg(long)]
        netuid: u16,
    },
}

#[derive(Subcommand)]
pub enum AxonCmd {
    /// Announce where the hotkey's axon serves.
    Set {
        #[arg(long)]
        netuid: u16,
        #[arg(long)]
        ip: std::net::IpAddr,
        #[arg(long)]
        port: u16,
        #[arg(long, default_value_t = 4)]
        protocol: u8,
        #[arg(long)]
        dry_run: bool,
    },
}

/// The hotkey's secret: the dev hotkey of --uri, or the wallet's (-w/-H).
pub fn hotkey_key(g: &Global) -> CliResult<Keypair> {
    match &g.uri {
        Some(name) => Ok(tensorchain_genesis::dev_hotkey(name)),
        None => Wallets::new(&g.home()).hotkey(&g.wallet, &g.hotkey),
    }
}

fn rao_field(v: &Value) -> u64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn max_cost(given: Option<String>, current: u64) -> CliResult<u64> {
    given
        .map(|s| parse_amount(&s))
        .transpose()
        .map(|m| m.unwrap_or(current))
}

pub fn run(cmd: SubnetCmd, g: &Global) -> CliResult<()> {
    let client = Client::new(&g.network);
    match cmd {
        SubnetCmd::Template(cmd) => return crate::template::run(cmd, g),
        SubnetCmd::List => {
            let list = client.get_all("/v1/subnets")?;
            if g.json {
                print_json(&Value::Array(list));
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        s["netuid"].to_string(),
                        s["name"].as_str().unwrap_or("").to_string(),
                        format!("{}/{}", s["n"], s["max_n"]),
                        s["tempo"].to_string(),
                        format!("{:.4}", s["emission_share"].as_f64().unwrap_or(0.0)),
                        format!("{} TAO", format_tao(rao_field(&s["burn"]))),
                        format!("{} TAO", format_tao(rao_field(&s["pending_emission"]))),
                        s["owner"].as_str().unwrap_or("").to_string(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                println!("no subnets yet; create one with `tensorchain subnet create`");
            } else {
                println!(
                    "{}",
                    table(
                        &["NETUID", "NAME", "N", "TEMPO", "EMISSION", "BURN", "PENDING", "OWNER"],
                        &rows
                    )
                );
            }
        }
        SubnetCmd::Create {
            max_cost: given,
            identity,
            dry_run,
        } => {
            let cost: Value = client.get("/v1/subnets/registration-cost")?;
            let max = max_cost(given, rao_field(&cost["lock_cost"]))?;
            let hotkey = hotkey_key(g)?.account();
            let summary = format!(
                "create a subnet with hotkey {hotkey} for at most {} TAO",
                format_tao(max)
            );
            send(
                g,
                &signer(g)?,
                Call::RegisterSubnet {
                    hotkey,
                    max_cost: max,
                    identity,
                },
                &summary,
                dry_run,
                false,
            )?;
        }
        SubnetCmd::Register {
            netuid,
            max_cost: given,
            dry_run,
        } => {
            let cost: Value = client.get(&format!("/v1/subnets/{netuid}/registration-cost"))?;
            let max = max_cost(given, rao_field(&cost["burn"]))?;
            let hotkey = hotkey_key(g)?.account();
            let summary = format!(
                "register {hotkey} on subnet {netuid} for at most {} TAO",
                format_tao(max)
            );
            send(
                g,
                &signer(g)?,
                Call::BurnedRegister {
                    netuid,
                    hotkey,
                    max_cost: max,
                },
                &summary,
                dry_run,
                false,
            )?;
        }
        SubnetCmd::PowRegister { netuid, threads } => {
            let threads = threads.unwrap_or_else(crate::pow::default_threads);
            let coldkey = crate::wallet::coldkey_address(g)?;
            crate::pow::pow_register(g, netuid, threads, &hotkey_key(g)?, coldkey)?;
        }
        SubnetCmd::Hyperparameters { netuid } => {
            let h: Value = client.get(&format!("/v1/subnets/{netuid}/hyperparameters"))?;
            if g.json {
                print_json(&h);
            } else {
                let rows: Vec<Vec<String>> = h
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        vec![
                            k.clone(),
                            v["value"].to_string(),
                            if v["owner_settable"] == true {
                                "owner".into()
                            } else {
                                "sudo".into()
                            },
                        ]
                    })
                    .collect();
                println!("{}", table(&["HYPERPARAMETER", "VALUE", "SET BY"], &rows));
            }
        }
        SubnetCmd::Set {
            netuid,
            name,
            value,
            dry_run,
        } => {
            let summary = format!("set {name} = {value} on subnet {netuid}");
            send(
                g,
                &signer(g)?,
                Call::SetHyperparameter {
                    netuid,
                    name,
                    value,
                },
                &summary,
                dry_run,
                false,
            )?;
        }
        SubnetCmd::Metagraph { netuid } => {
            let m: Value = client.get(&format!("/v1/subnets/{netuid}/metagraph"))?;
            if g.json {
                print_json(&m);
            } else {
                println!("{}", metagraph_table(&m));
            }
        }
        SubnetCmd::BurnCost { netuid } => {
            let lock: Value = client.get("/v1/subnets/registration-cost")?;
            let burn = match netuid {
                Some(n) => {
                    Some(client.get::<Value>(&format!("/v1/subnets/{n}/registration-cost"))?)
                }
                None => None,
            };
            if g.json {
                print_json(
                    &serde_json::json!({"lock_cost": lock["lock_cost"], "burn": burn.as_ref().map(|b| b["burn"].clone())}),
                );
            } else {
                println!(
                    "creating a subnet: {} TAO",
                    format_tao(rao_field(&lock["lock_cost"]))
                );
                if let (Some(b), Some(n)) = (burn, netuid) {
                    println!(
                        "registering on subnet {n}: {} TAO",
                        format_tao(rao_field(&b["burn"]))
                    );
                }
            }
        }
    }
    Ok(())
}

/// btcli's metagraph table, with totals.
fn metagraph_table(m: &Value) -> String {
    let n = m["n"].as_u64().unwrap_or(0) as usize;
    let col = |name: &str, i: usize| m[name][i].clone();
    let f5 = |v: Value| format!("{:.5}", v.as_f64().unwrap_or(0.0));
    let short = |v: Value| {
        let s = v.as_str().unwrap_or("").to_string();
        if s.len() > 10 {
            format!("{}…", &s[..10])
        } else {
            s
        }
    };
    let (mut stake_total, mut emission_total) = (0u64, 0u64);
    let mut rows = Vec::new();
    for i in 0..n {
        let stake = rao_field(&col("stake", i));
        let emission = rao_field(&col("emission", i));
        stake_total += stake;
        emission_total += emission;
        rows.push(vec![
            i.to_string(),
            format_tao(stake),
            f5(col("rank", i)),
            f5(col("trust", i)),
            f5(col("consensus", i)),
            f5(col("incentive", i)),
            f5(col("dividends", i)),
            emission.to_string(),
            f5(col("validator_trust", i)),
            if col("validator_permit", i) == true {
                "*".into()
            } else {
                String::new()
            },
            (m["block"]
                .as_u64()
                .unwrap_or(0)
                .saturating_sub(col("last_update", i).as_u64().unwrap_or(0)))
            .to_string(),
            if col("active", i) == true {
                "1".into()
            } else {
                "0".into()
            },
            col("axon", i).as_str().unwrap_or("none").to_string(),
            short(col("hotkey", i)),
            short(col("coldkey", i)),
        ]);
    }
    let sum = |name: &str| {
        (0..n)
            .map(|i| col(name, i).as_f64().unwrap_or(0.0))
            .sum::<f64>()
    };
    rows.push(vec![
        n.to_string(),
        format_tao(stake_total),
        format!("{:.5}", sum("rank")),
        format!("{:.5}", sum("trust")),
        format!("{:.5}", sum("consensus")),
        format!("{:.5}", sum("incentive")),
        format!("{:.5}", sum("dividends")),
        emission_total.to_string(),
        format!("{:.5}", sum("validator_trust")),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    format!(
        "Metagraph of subnet {} at block {}: {} uids (last row: totals; EMISSION in rao, UPDATED in blocks ago)\n{}",
        m["netuid"],
        m["block"],
        n,
        table(
            &["UID", "STAKE", "RANK", "TRUST", "CONSENSUS", "INCENTIVE", "DIVIDENDS", "EMISSION", "VTRUST", "VAL", "UPDATED", "ACTIVE", "AXON", "HOTKEY", "COLDKEY"],
            &rows,
        )
    )
}

pub fn run_weights(cmd: WeightsCmd, g: &Global) -> CliResult<()> {
    match cmd {
        WeightsCmd::Set {
            netuid,
            uids,
            values,
            version_key,
            dry_run,
        } => {
            if uids.len() != values.len() {
                return Err(CliError::new(
                    "weights_length_mismatch",
                    format!("{} uids but {} values", uids.len(), values.len()),
                    "give one value per uid",
                ));
            }
            let summary = format!("set {} weights on subnet {netuid}", uids.len());
            send(
                g,
                &hotkey_key(g)?,
                Call::SetWeights {
                    netuid,
                    uids,
                    values,
                    version_key,
                },
                &summary,
                dry_run,
                false,
            )?;
        }
        WeightsCmd::Commit {
            netuid,
            uids,
            values,
            salt,
            version_key,
            dry_run,
        } => {
            let key = hotkey_key(g)?;
            let hash = tensorchain_primitives::weights_commit_hash(
                &key.account(),
                netuid,
                &uids,
                &values,
                salt.as_bytes(),
                version_key,
            );
            let summary = format!(
                "commit {} weights on subnet {netuid} (reveal next epoch with the same salt)",
                uids.len()
            );
            send(
                g,
                &key,
                Call::CommitWeights { netuid, hash },
                &summary,
                dry_run,
                false,
            )?;
        }
        WeightsCmd::Reveal {
            netuid,
            uids,
            values,
            salt,
            version_key,
            dry_run,
        } => {
            let summary = format!("reveal {} weights on subnet {netuid}", uids.len());
            let call = Call::RevealWeights {
                netuid,
                uids,
                values,
                salt: salt.into_bytes(),
                version_key,
            };
            send(g, &hotkey_key(g)?, call, &summary, dry_run, false)?;
        }
        WeightsCmd::Get { netuid } => {
            let w: Value = Client::new(&g.network).get(&format!("/v1/subnets/{netuid}/weights"))?;
            if g.json {
                print_json(&w);
            } else {
                let rows: Vec<Vec<String>> = w
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(uid, row)| vec![uid.clone(), row.to_string()])
                    .collect();
                println!("{}", table(&["UID", "WEIGHTS [[uid, u16]]"], &rows));
            }
        }
    }
    Ok(())
}

pub fn run_axon(cmd: AxonCmd, g: &Global) -> CliResult<()> {
    let AxonCmd::Set {
        netuid,
        ip,
        port,
        protocol,
        dry_run,
    } = cmd;
    let ip16 = match ip {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    };
    let summary = format!("serve an axon at {ip}:{port} on subnet {netuid}");
    send(
        g,
        &hotkey_key(g)?,
        Call::ServeAxon {
            netuid,
            ip: ip16,
            port,
            protocol,
        },
        &summary,
        dry_run,
        false,
    )?;
    Ok(())
}

#[derive(Subcommand)]
pub enum RootCmd {
    /// Put the hotkey in the root network (the top 64 stakes weight the subnets).
    Register {
        #[arg(long)]
        dry_run: bool,
    },
    /// Root weights over subnets.
    #[command(subcommand)]
    Weights(RootWeightsCmd),
    /// Each subnet's current share of the block reward.
    Shares,
}

#[derive(Subcommand)]
pub enum RootWeightsCmd {
    /// Set the hotkey's root weights: --netuids 1,2 --values 70,30.
    Set {
        #[arg(long, value_delimiter = ',')]
        netuids: Vec<u16>,
        #[arg(long, value_delimiter = ',')]
        values: Vec<u16>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Every root validator's weights.
    Get,
}

pub fn run_root(cmd: RootCmd, g: &Global) -> CliResult<()> {
    match cmd {
        RootCmd::Register { dry_run } => {
            let hotkey = hotkey_key(g)?.account();
            let summary = format!("register {hotkey} in the root network");
            send(
                g,
                &signer(g)?,
                Call::RootRegister { hotkey },
                &summary,
                dry_run,
                false,
            )?;
        }
        RootCmd::Weights(RootWeightsCmd::Set {
            netuids,
            values,
            dry_run,
        }) => {
            let summary = format!("set root weights on {} subnets", netuids.len());
            send(
                g,
                &hotkey_key(g)?,
                Call::SetRootWeights { netuids, values },
                &summary,
                dry_run,
                false,
            )?;
        }
        RootCmd::Weights(RootWeightsCmd::Get) | RootCmd::Shares => {
            let root: Value = Client::new(&g.network).get("/v1/root")?;
            if g.json {
                print_json(&root);
            } else if matches!(cmd, RootCmd::Shares) {
                let rows: Vec<Vec<String>> = root["shares"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| {
                        vec![
                            s["netuid"].to_string(),
                            format!("{:.6}", s["share"].as_f64().unwrap_or(0.0)),
                        ]
                    })
                    .collect();
                println!(
                    "{} ({})",
                    table(&["NETUID", "SHARE"], &rows),
                    root["rule"].as_str().unwrap_or("")
                );
            } else {
                let rows: Vec<Vec<String>> = root["validators"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| {
                        vec![
                            v["hotkey"].as_str().unwrap_or("").to_string(),
                            format!("{} TAO", format_tao(rao_field(&v["stake"]))),
                            v["weights"].to_string(),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(&["HOTKEY", "STAKE", "WEIGHTS [[netuid, u16]]"], &rows)
                );
            }
        }
    }
    Ok(())
}
