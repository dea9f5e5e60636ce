//! The subnet's metagraph as a miner or validator needs it, synced over REST: one
//! `GET /v1/subnets/{netuid}/metagraph` for the columns, then the event stream `/v1/events`
//! (epochs, registrations, weights of this subnet) says when to read it again. Stake and axon
//! changes have no event of their own, so it is also read again every `RESYNC_BLOCKS` blocks.

use crate::dendrite::Target;
use crate::error::{SdkError, SdkResult};
use crate::rest::Client;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tensorchain_primitives::AccountId;
use tokio::sync::watch;

/// The columns a subnet program uses (the API has more: see `/openapi.json`).
const COLUMNS: &str =
    "hotkey,coldkey,stake,validator_permit,axon,last_update,incentive,dividends,trust,consensus,emission,active";
/// Blocks between reads that no event asked for: a served axon or new stake shows within this
/// many blocks (a few seconds on a devnet), for one small read per miner or validator.
const RESYNC_BLOCKS: u64 = 5;
/// Wait before reconnecting a dropped event stream (the node restarting, a slow consumer).
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// The stream carries a block event per block and keep-alives; this much silence means the
/// connection is dead.
const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest event line read (and the most data of one event): a block event lists its
/// transaction hashes, under 2 MiB for the largest block (4 MiB of the smallest transactions).
const MAX_EVENT_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metagraph {
    pub netuid: u16,
    /// The head height the columns were read at.
    pub block: u64,
    pub hotkeys: Vec<AccountId>,
    pub coldkeys: Vec<AccountId>,
    /// Rao staked behind each hotkey.
    pub stake: Vec<u64>,
    pub validator_permit: Vec<bool>,
    /// Where each uid's axon serves, if it announced one.
    pub axons: Vec<Option<SocketAddr>>,
    pub last_update: Vec<u64>,
    pub incentive: Vec<f64>,
    pub dividends: Vec<f64>,
    pub trust: Vec<f64>,
    pub consensus: Vec<f64>,
    /// Rao each uid earned at the last epoch.
    pub emission: Vec<u64>,
    pub active: Vec<bool>,
}

fn column<T>(v: &Value, name: &str, f: impl Fn(&Value) -> Option<T>) -> SdkResult<Vec<T>> {
    v[name]
        .as_array()
        .ok_or_else(|| missing(name))?
        .iter()
        .map(|x| f(x).ok_or_else(|| missing(name)))
        .collect()
}

fn missing(name: &str) -> SdkError {
    SdkError::new(
        "bad_response",
        format!("the metagraph's {name} column is missing or malformed"),
        "is the node a tensorchain node of this version?",
    )
}

fn rao(x: &Value) -> Option<u64> {
    x.as_str()?.parse().ok()
}

impl Metagraph {
    /// Reads the metagraph in one call.
    pub fn fetch(client: &Client, netuid: u16) -> SdkResult<Metagraph> {
        let v: Value = client.get(&format!("/v1/subnets/{netuid}/metagraph?fields={COLUMNS}"))?;
        let m = Metagraph {
            netuid,
            block: v["block"].as_u64().ok_or_else(|| missing("block"))?,
            hotkeys: column(&v, "hotkey", |x| x.as_str()?.parse().ok())?,
            coldkeys: column(&v, "coldkey", |x| x.as_str()?.parse().ok())?,
            stake: column(&v, "stake", rao)?,
            validator_permit: column(&v, "validator_permit", Value::as_bool)?,
            // An address that does not parse is as good as none: nothing to query there.
            axons: column(&v, "axon", |x| {
                Some(x.as_str().and_then(|s| s.parse().ok()))
            })?,
            last_update: column(&v, "last_update", Value::as_u64)?,
            incentive: column(&v, "incentive", Value::as_f64)?,
            dividends: column(&v, "dividends", Value::as_f64)?,
            trust: column(&v, "trust", Value::as_f64)?,
            consensus: column(&v, "consensus", Value::as_f64)?,
            emission: column(&v, "emission", rao)?,
            active: column(&v, "active", Value::as_bool)?,
        };
        // Every column has one entry per uid: callers index them by uid.
        let n = m.hotkeys.len();
        let lens = [
            m.coldkeys.len(),
            m.stake.len(),
            m.validator_permit.len(),
            m.axons.len(),
            m.last_update.len(),
            m.incentive.len(),
            m.dividends.len(),
            m.trust.len(),
            m.consensus.len(),
            m.emission.len(),
            m.active.len(),
        ];
        if lens.iter().any(|&l| l != n) {
            return Err(SdkError::new(
                "bad_response",
                format!("the metagraph's columns differ in length ({n} hotkeys, {lens:?})"),
                "is --network a tensorchain node of this version?",
            ));
        }
        Ok(m)
    }

    pub fn n(&self) -> usize {
        self.hotkeys.len()
    }

    pub fn uid_of(&self, hotkey: &AccountId) -> Option<u16> {
        self.hotkeys
            .iter()
            .position(|h| h == hotkey)
            .map(|u| u as u16)
    }

    /// Every uid as a dendrite target (with its axon, if any).
    pub fn targets(&self) -> Vec<Target> {
        (0..self.n())
            .map(|u| Target {
                uid: u as u16,
                hotkey: self.hotkeys[u],
                addr: self.axons[u],
            })
            .collect()
    }
}

/// A metagraph kept up to date by a background thread; cheap to clone, read with [`current`].
/// The thread ends when the last clone is dropped.
///
/// [`current`]: MetagraphSync::current
#[derive(Clone)]
pub struct MetagraphSync {
    rx: watch::Receiver<Arc<Metagraph>>,
    _stop: Arc<StopOnDrop>,
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl MetagraphSync {
    /// Reads the metagraph once (failing if the subnet cannot be read), then follows the chain.
    pub fn start(client: Client, netuid: u16) -> SdkResult<MetagraphSync> {
        let first = Metagraph::fetch(&client, netuid)?;
        let (tx, rx) = watch::channel(Arc::new(first));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name(format!("metagraph-{netuid}"))
            .spawn(move || follow(client, netuid, tx, flag))
            .map_err(|e| {
                SdkError::new(
                    "thread_failed",
                    format!("cannot start the metagraph thread: {e}"),
                    "the process is out of threads or memory",
                )
            })?;
        Ok(MetagraphSync {
            rx,
            _stop: Arc::new(StopOnDrop(stop)),
        })
    }

    /// A metagraph the caller keeps up to date itself through the returned sender (a subnet
    /// program with its own view of the chain, or a test); no thread, no node.
    pub fn manual(m: Metagraph) -> (MetagraphSync, watch::Sender<Arc<Metagraph>>) {
        let (tx, rx) = watch::channel(Arc::new(m));
        let sync = MetagraphSync {
            rx,
            _stop: Arc::new(StopOnDrop(Arc::new(AtomicBool::new(false)))),
        };
        (sync, tx)
    }

    /// The latest metagraph read.
    pub fn current(&self) -> Arc<Metagraph> {
        self.rx.borrow().clone()
    }

    /// A receiver that wakes on every new read.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Metagraph>> {
        self.rx.clone()
    }
}

/// Follows the event stream, reconnecting after `RECONNECT_DELAY` from the last block seen,
/// and publishes every new read of the metagraph.
fn follow(client: Client, netuid: u16, tx: watch::Sender<Arc<Metagraph>>, stop: Arc<AtomicBool>) {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout_read(STREAM_READ_TIMEOUT)
        .build();
    // Block events come last for each block (topics are sent in the order asked for), so a
    // block's registrations and epochs are all seen before its block event triggers the read.
    let url = format!(
        "{}/v1/events?topics=epoch,registration,weights,block",
        client.base()
    );
    let mut last_id: Option<u64> = None;
    let mut last_read = tx.borrow().block;
    while !stop.load(Ordering::Relaxed) {
        let mut req = agent.get(&url);
        if let Some(id) = last_id {
            req = req.set("Last-Event-ID", &id.to_string());
        }
        let mut reader = match req.call() {
            Ok(resp) => BufReader::new(resp.into_reader()),
            Err(e) => {
                tracing::debug!(netuid, error = %e, "metagraph: event stream unavailable");
                std::thread::sleep(RECONNECT_DELAY);
                continue;
            }
        };
        let (mut kind, mut data, mut dirty) = (String::new(), String::new(), false);
        let mut raw = String::new();
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            raw.clear();
            // One line at most MAX_EVENT_BYTES; a longer one (or a broken stream) reconnects.
            match (&mut reader).take(MAX_EVENT_BYTES).read_line(&mut raw) {
                Ok(n) if n > 0 && raw.ends_with('\n') => {}
                _ => break,
            }
            let line = raw.trim_end_matches(['\n', '\r']);
            if let Some(k) = line.strip_prefix("event:") {
                kind = k.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                if data.len() + d.len() > MAX_EVENT_BYTES as usize {
                    break;
                }
                data.push_str(d.trim());
            } else if let Some(id) = line.strip_prefix("id:") {
                last_id = id.trim().parse().ok().or(last_id);
            } else if line.is_empty() && !kind.is_empty() {
                if kind == "block" {
                    // A block event's id is its height.
                    let height = last_id.unwrap_or(0);
                    if dirty || height >= last_read + RESYNC_BLOCKS {
                        if let Ok(m) = Metagraph::fetch(&client, netuid) {
                            last_read = m.block;
                            dirty = false;
                            tx.send_replace(Arc::new(m));
                        }
                    }
                } else {
                    let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                    dirty |= v["netuid"].as_u64() == Some(netuid as u64);
                }
                kind.clear();
                data.clear();
            }
        }
        std::thread::sleep(RECONNECT_DELAY);
    }
}
