//! The template subnets on a devnet, and `tensorchain subnet template run`.
//!
//! `devnet up` sets up two subnets with different objectives — 1 rewards the quality of a fitted
//! model, 2 the speed of a solved puzzle — each with two validators and one miner of every
//! strategy (careful, quick, wrong, copy, offline), then runs them all as tasks of its own process
//! on loopback: validators query the miners' axons with the dendrite, score the answers and set
//! weights, so emission follows what each subnet rewards. Everything goes through the node's
//! public REST API, as a subnet run by anyone else would.

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::subnet::hotkey_key;
use crate::Global;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tensorchain_genesis::{dev_coldkey, dev_hotkey};
use tensorchain_primitives::{AccountId, Call, Keypair, RAO_PER_TAO};
use tensorchain_subnet_sdk::template::miner::{self, MinerConfig};
use tensorchain_subnet_sdk::template::validator::{self, ValidatorConfig};
use tensorchain_subnet_sdk::template::{Objective, Strategy, STRATEGIES};
use tensorchain_subnet_sdk::{Metagraph, MetagraphSync};

/// The devnet's template subnets, in the order they are created (their netuids).
pub const SUBNETS: [(u16, Objective); 2] = [(1, Objective::Quality), (2, Objective::Speed)];
/// Stake a devnet template validator needs (it has more if it is also a chain validator).
const VALIDATOR_STAKE: u64 = 1000 * RAO_PER_TAO;
/// Most a devnet registration may burn (the price starts far lower and moves little).
const MAX_BURN: u64 = 100 * RAO_PER_TAO;
/// How long a devnet setup transaction may take to land.
const SETUP_TX_LIMIT: Duration = Duration::from_secs(60);

/// The coldkey that owns, and the hotkey that runs, each devnet validator of a subnet. Subnet 1's
/// are bob's and charlie's dev hotkeys; subnet 2's hotkeys of their own, so that no hotkey signs
/// for two validator loops at once (their nonces would collide).
fn validators(netuid: u16) -> Vec<(Keypair, Keypair)> {
    ["bob", "charlie"]
        .iter()
        .map(|name| {
            let hot = if netuid == 1 {
                dev_hotkey(name)
            } else {
                Keypair::dev(&format!("template/sn{netuid}/validator/{name}"))
            };
            (dev_coldkey(name), hot)
        })
        .collect()
}

/// A devnet template miner's hotkey (all owned by ferdie: not a subnet owner, whose miners would
/// earn nothing on its own subnet).
pub fn miner_key(netuid: u16, strategy: Strategy) -> Keypair {
    Keypair::dev(&format!("template/sn{netuid}/{}", strategy.name()))
}

/// Runs until `stop` fires (or its sender is dropped); a failed setup is logged and leaves the
/// devnet running without the template subnets.
pub fn run_devnet(rest_url: String, stop: tokio::sync::oneshot::Receiver<()>) {
    let client = Client::new(&rest_url);
    if let Err(e) = setup(&client) {
        tracing::warn!(error = %e, "template subnets: setup failed; the devnet runs on without them");
        return;
    }
    let rt = match crate::node::runtime() {
        Ok(rt) => rt,
        Err(e) => return tracing::warn!(error = %e, "template subnets: no runtime"),
    };
    rt.block_on(async move {
        // Both subnets at once: each miner waits a block or two for its serve_axon to land.
        let starts: Vec<_> = SUBNETS
            .into_iter()
            .map(|(netuid, objective)| {
                let client = client.clone();
                (netuid, tokio::spawn(async move { start_subnet(&client, netuid, objective).await }))
            })
            .collect();
        let mut miners = Vec::new();
        for (netuid, start) in starts {
            match start.await {
                Ok(Ok(m)) => miners.extend(m),
                Ok(Err(e)) => tracing::warn!(netuid, error = %e, "template subnet did not start"),
                Err(e) => tracing::warn!(netuid, error = %e, "template subnet did not start"),
            }
        }
        tracing::info!("template subnets: 1 rewards quality, 2 rewards speed; validators score miners every second");
        // The miners' axons live until the devnet stops.
        let _ = stop.await;
        drop(miners);
    });
    // Validator tasks are dropped with the runtime; requests in flight end by their timeouts.
    rt.shutdown_background();
}

async fn start_subnet(
    client: &Client,
    netuid: u16,
    objective: Objective,
) -> CliResult<Vec<miner::Miner>> {
    let c = client.clone();
    let sync = tensorchain_subnet_sdk::blocking(move || MetagraphSync::start(c, netuid)).await?;
    let starts: Vec<_> = STRATEGIES
        .into_iter()
        .map(|strategy| {
            let cfg = MinerConfig {
                netuid,
                objective,
                strategy,
                bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            };
            let key = miner_key(netuid, strategy);
            tokio::spawn(miner::start(client.clone(), key, cfg, sync.clone()))
        })
        .collect();
    let mut miners = Vec::new();
    for start in starts {
        match start.await {
            Ok(Ok(miner)) => miners.push(miner),
            Ok(Err(e)) => tracing::warn!(netuid, error = %e, "a template miner did not start"),
            Err(e) => tracing::warn!(netuid, error = %e, "a template miner did not start"),
        }
    }
    for (_, hot) in validators(netuid) {
        let (client, sync) = (client.clone(), sync.clone());
        let cfg = ValidatorConfig::new(netuid, objective);
        tokio::spawn(async move {
            let who = hot.account();
            let result = validator::run(client, hot, cfg, sync, None, |r| {
                if r.weights != "waited" {
                    tracing::info!(netuid, validator = %who, round = r.round, weights = %r.weights, "template validator");
                }
            })
            .await;
            if let Err(e) = result {
                tracing::warn!(netuid, error = %e, "template validator stopped");
            }
        });
    }
    Ok(miners)
}

fn registered(client: &Client, netuid: u16) -> CliResult<Vec<AccountId>> {
    Ok(Metagraph::fetch(client, netuid)?.hotkeys)
}

/// Creates what a resumed devnet does not have yet: the subnets, the validators' stake and every
/// registration. Sequential and waited for: a subnet's netuid is the order of creation.
fn setup(client: &Client) -> CliResult<()> {
    for _ in 0..50 {
        if client.get::<Value>("/v1/node/health").is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let alice = dev_coldkey("alice");
    for (netuid, objective) in SUBNETS {
        if client
            .get::<Value>(&format!("/v1/subnets/{netuid}"))
            .is_ok()
        {
            continue;
        }
        let cost: Value = client.get("/v1/subnets/registration-cost")?;
        let max_cost = cost["lock_cost"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // An owner hotkey of its own: alice's dev hotkey carries her validator stake.
        let call = Call::RegisterSubnet {
            hotkey: Keypair::dev(&format!("template/owner{netuid}")).account(),
            max_cost,
            identity: objective.subnet_name().into(),
        };
        client.send(&alice, call, SETUP_TX_LIMIT)?;
        tracing::info!(
            netuid,
            name = objective.subnet_name(),
            "template: alice created the subnet"
        );
    }
    let mut last = None;
    for (netuid, _) in SUBNETS {
        let on_chain = registered(client, netuid)?;
        for (cold, hot) in validators(netuid) {
            let hk = hot.account();
            let stake = client
                .get::<Value>(&format!("/v1/hotkeys/{hk}"))
                .ok()
                .and_then(|h| h["total_stake"].as_str()?.parse::<u64>().ok())
                .unwrap_or(0);
            if stake < VALIDATOR_STAKE {
                let call = Call::AddStake {
                    hotkey: hk,
                    amount: VALIDATOR_STAKE,
                };
                last = Some(client.submit(&client.sign(&cold, call)?)?);
            }
            if !on_chain.contains(&hk) {
                let call = Call::BurnedRegister {
                    netuid,
                    hotkey: hk,
                    max_cost: MAX_BURN,
                };
                last = Some(client.submit(&client.sign(&cold, call)?)?);
            }
        }
        let ferdie = dev_coldkey("ferdie");
        for strategy in STRATEGIES {
            let hk = miner_key(netuid, strategy).account();
            if !on_chain.contains(&hk) {
                let call = Call::BurnedRegister {
                    netuid,
                    hotkey: hk,
                    max_cost: MAX_BURN,
                };
                last = Some(client.submit(&client.sign(&ferdie, call)?)?);
            }
        }
    }
    if let Some(hash) = last {
        // A signer's transactions land in nonce order: the last one in means all are.
        client.wait_included(&hash, SETUP_TX_LIMIT, |_| {})?;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Miner,
    Validator,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObjectiveArg {
    Quality,
    Speed,
}

#[derive(clap::Subcommand)]
pub enum TemplateCmd {
    /// Run a template miner or validator with the hotkey (--uri NAME or -w/-H), registered on the
    /// subnet beforehand (`tensorchain subnet register`). Runs until Ctrl-C (or --rounds).
    Run {
        #[arg(long)]
        netuid: u16,
        #[arg(long, value_enum)]
        role: Role,
        /// A miner's strategy: careful, quick, wrong, copy or offline.
        #[arg(long, default_value = "quick")]
        strategy: String,
        /// The subnet's objective (default: from its name, template-quality or template-speed).
        #[arg(long, value_enum)]
        objective: Option<ObjectiveArg>,
        /// A miner's axon port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// A validator stops after this many rounds and prints its weight-setting counts.
        #[arg(long)]
        rounds: Option<u64>,
    },
}

pub fn run(cmd: TemplateCmd, g: &Global) -> CliResult<()> {
    let TemplateCmd::Run {
        netuid,
        role,
        strategy,
        objective,
        port,
        rounds,
    } = cmd;
    let strategy: Strategy = strategy.parse()?;
    let key = hotkey_key(g)?;
    let client = Client::new(&g.network);
    let subnet: Value = client.get(&format!("/v1/subnets/{netuid}"))?;
    let objective = match objective {
        Some(ObjectiveArg::Quality) => Objective::Quality,
        Some(ObjectiveArg::Speed) => Objective::Speed,
        None => {
            Objective::of_subnet(subnet["name"].as_str().unwrap_or_default()).ok_or_else(|| {
                CliError::new(
                    "not_a_template_subnet",
                    format!(
                        "subnet {netuid} is named {}, not template-quality or template-speed",
                        subnet["name"]
                    ),
                    "pass --objective quality or --objective speed",
                )
            })?
        }
    };
    let sync = MetagraphSync::start(client.clone(), netuid)?;
    let Some(uid) = sync.current().uid_of(&key.account()) else {
        return Err(CliError::new(
            "hotkey_not_registered",
            format!("{} is not registered on subnet {netuid}", key.account()),
            format!("register it first: tensorchain subnet register --netuid {netuid} (with the same --uri or -w/-H)"),
        ));
    };
    crate::node::init_logging();
    let rt = crate::node::runtime()?;
    match role {
        Role::Miner => rt.block_on(run_miner(
            g,
            client,
            key,
            uid,
            (netuid, objective, strategy),
            port,
            sync,
        )),
        Role::Validator => rt.block_on(async {
            let json = g.json;
            let cfg = ValidatorConfig::new(netuid, objective);
            let stats = validator::run(client, key, cfg, sync, rounds, |r| {
                if json {
                    json_line(r);
                } else {
                    let best = r.uids.iter().max_by(|a, b| a.average.total_cmp(&b.average));
                    println!(
                        "round {} at block {}: {} uids queried, best uid {}, weights {}",
                        r.round,
                        r.block,
                        r.uids.len(),
                        best.map_or("-".into(), |b| b.query.uid.to_string()),
                        r.weights
                    );
                }
            })
            .await?;
            if json {
                json_line(&json!({"rounds": rounds, "weights": stats}));
            } else {
                println!(
                    "weights: {} set, {} committed, {} revealed, {} rate limited, {} other errors",
                    stats.set, stats.committed, stats.revealed, stats.rate_limited, stats.errors
                );
            }
            Ok::<(), CliError>(())
        }),
    }
}

/// Serves until Ctrl-C, printing the miner's standing whenever the metagraph changes.
async fn run_miner(
    g: &Global,
    client: Client,
    key: Keypair,
    uid: u16,
    (netuid, objective, strategy): (u16, Objective, Strategy),
    port: u16,
    sync: MetagraphSync,
) -> CliResult<()> {
    let cfg = MinerConfig {
        netuid,
        objective,
        strategy,
        bind: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    let me = key.account();
    let m = miner::start(client, key, cfg, sync.clone()).await?;
    let start = json!({"netuid": netuid, "uid": uid, "axon": m.addr.to_string(),
        "objective": objective, "strategy": strategy});
    if g.json {
        json_line(&start);
    } else {
        println!(
            "miner uid {uid} ({}) serving {objective:?} on subnet {netuid} at {}",
            strategy.name(),
            m.addr
        );
    }
    let mut updates = sync.subscribe();
    let mut shown = None;
    loop {
        tokio::select! {
            changed = updates.changed() => if changed.is_err() { return Ok(()) },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let mg = updates.borrow_and_update().clone();
        let Some(u) = mg.uid_of(&me) else { continue };
        let incentive = mg.incentive[u as usize];
        if shown == Some(incentive.to_bits()) {
            continue;
        }
        shown = Some(incentive.to_bits());
        let rank = 1 + mg.incentive.iter().filter(|x| **x > incentive).count();
        let standing = json!({"block": mg.block, "uid": u, "incentive": incentive, "rank": rank,
            "emission": mg.emission[u as usize].to_string()});
        if g.json {
            json_line(&standing);
        } else {
            println!(
                "block {}: incentive {incentive:.4}, rank {rank} of {}",
                mg.block,
                mg.n()
            );
        }
    }
}

/// One JSON value per line: streamed output a program reads line by line.
fn json_line<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string(v).unwrap_or_default());
}
