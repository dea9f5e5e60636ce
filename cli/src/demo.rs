//! The devnet's built-in demo: alice creates subnet 1, bob and charlie stake and register as its
//! validators, ferdie registers four miners (not alice: a subnet owner's own miners earn no
//! incentive on its subnet), and every tempo the validators score the miners and
//! set weights, all through the same public REST API a real validator uses.

use crate::client::Client;
use crate::error::CliResult;
use crate::wallet::submit;
use crate::Global;
use serde_json::Value;
use std::time::Duration;
use tensorchain_genesis::{dev_coldkey, dev_hotkey};
use tensorchain_primitives::{Call, Keypair, RAO_PER_TAO};

pub const NETUID: u16 = 1;
const VALIDATORS: [&str; 2] = ["bob", "charlie"];
const MINERS: usize = 4;

fn miner(i: usize) -> Keypair {
    Keypair::dev(&format!("demo/miner{i}"))
}

/// Runs until the process ends; errors are logged and retried, never fatal to the node.
pub fn run(rest_url: String) {
    let g = Global {
        network: rest_url,
        json: true,
        yes: true,
        wallet: "default".into(),
        hotkey: "default".into(),
        uri: None,
        home: None,
    };
    if let Err(e) = setup(&g) {
        tracing::warn!(error = %e, "demo setup failed; the devnet runs on without it");
        return;
    }
    tracing::info!("demo: subnet {NETUID} has 2 validators and {MINERS} miners; validators set weights every tempo");
    let client = Client::new(&g.network);
    let mut last_epoch_seen = 0;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let Ok(subnet) = client.get::<Value>(&format!("/v1/subnets/{NETUID}")) else {
            continue;
        };
        let since = subnet["blocks_since_last_epoch"].as_u64().unwrap_or(0);
        let head = client
            .get::<Value>("/v1/blocks/head")
            .ok()
            .and_then(|b| b["header"]["height"].as_u64())
            .unwrap_or(0);
        let epoch = head - since;
        if epoch == last_epoch_seen {
            continue;
        }
        last_epoch_seen = epoch;
        set_weights(&g, epoch);
    }
}

fn setup(g: &Global) -> CliResult<()> {
    let client = Client::new(&g.network);
    // Wait for the API, then skip what a resumed devnet already has.
    for _ in 0..50 {
        if client.get::<Value>("/v1/node/health").is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let alice = dev_coldkey("alice");
    if client
        .get::<Value>(&format!("/v1/subnets/{NETUID}"))
        .is_err()
    {
        let cost: Value = client.get("/v1/subnets/registration-cost")?;
        let max_cost = cost["lock_cost"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // A hotkey of its own: alice's dev hotkey carries her validator stake, which would
        // outvote the demo's validators.
        let call = Call::RegisterSubnet {
            hotkey: Keypair::dev("demo/owner").account(),
            max_cost,
            identity: "demo".into(),
        };
        submit(g, &alice, call, "create the demo subnet", false, false)?;
        tracing::info!("demo: alice created subnet {NETUID}");
    }
    let max_cost = 100 * RAO_PER_TAO;
    let mut last = None;
    let metagraph: Value = client.get(&format!("/v1/subnets/{NETUID}/metagraph?fields=hotkey"))?;
    let registered = |hk: String| {
        metagraph["hotkey"]
            .as_array()
            .is_some_and(|a| a.iter().any(|h| h.as_str() == Some(&hk)))
    };
    for v in VALIDATORS {
        let (cold, hot) = (dev_coldkey(v), dev_hotkey(v).account());
        if registered(hot.to_string()) {
            continue;
        }
        // In a multi-validator devnet bob and charlie already stake as chain validators.
        if client.get::<Value>(&format!("/v1/hotkeys/{hot}")).is_err() {
            submit(
                g,
                &cold,
                Call::AddStake {
                    hotkey: hot,
                    amount: 1000 * RAO_PER_TAO,
                },
                "stake",
                false,
                true,
            )?;
        }
        last = Some(submit(
            g,
            &cold,
            Call::BurnedRegister {
                netuid: NETUID,
                hotkey: hot,
                max_cost,
            },
            "register",
            false,
            true,
        )?);
    }
    let miner_owner = dev_coldkey("ferdie");
    for i in 0..MINERS {
        let hot = miner(i).account();
        if !registered(hot.to_string()) {
            last = Some(submit(
                g,
                &miner_owner,
                Call::BurnedRegister {
                    netuid: NETUID,
                    hotkey: hot,
                    max_cost,
                },
                "register a miner",
                false,
                true,
            )?);
        }
    }
    if let Some(last) = last {
        // The queued registrations land in the next block or two.
        let hash = last["hash"].as_str().unwrap_or_default().to_string();
        for _ in 0..100 {
            if client
                .get::<Value>(&format!("/v1/txs/{hash}"))
                .is_ok_and(|s| s["status"] == "included")
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// A simple scoring rule: each validator rates the miners by index, with its own twist that
/// rotates every epoch, so incentive moves between miners over time.
fn set_weights(g: &Global, epoch: u64) {
    let client = Client::new(&g.network);
    let Ok(m) = client.get::<Value>(&format!("/v1/subnets/{NETUID}/metagraph?fields=hotkey"))
    else {
        return;
    };
    let hotkeys: Vec<String> = m["hotkey"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let miner_uids: Vec<u16> = (0..MINERS)
        .filter_map(|i| {
            hotkeys
                .iter()
                .position(|h| *h == miner(i).account().to_string())
                .map(|u| u as u16)
        })
        .collect();
    if miner_uids.is_empty() {
        return;
    }
    for (k, v) in VALIDATORS.iter().enumerate() {
        let values: Vec<u16> = (0..miner_uids.len())
            .map(|i| {
                100 + 100 * ((i as u64 + epoch / 11 + k as u64) % miner_uids.len() as u64) as u16
            })
            .collect();
        let call = Call::SetWeights {
            netuid: NETUID,
            uids: miner_uids.clone(),
            values,
            version_key: 0,
        };
        match submit(g, &dev_hotkey(v), call, "set weights", false, true) {
            Ok(_) => tracing::info!(validator = v, epoch, "demo: weights set"),
            // Before the first epoch grants permits this is expected.
            Err(e) => tracing::debug!(validator = v, error = %e, "demo: weights not set"),
        }
    }
}
