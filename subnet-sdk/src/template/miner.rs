//! A template miner: an axon answering its subnet's synapse the way its [`Strategy`] says,
//! announced on chain at start.
//!
//! The loop of any miner is the same: build an `Axon` with a handler per synapse, serve it with a
//! synced metagraph (so only registered, staked callers get answers), announce its address with
//! `serve_axon`, and keep running; emission follows from the validators' scores.

use super::quality::{self, Fit, Regression};
use super::speed::{self, Puzzle, Solution};
use super::{Objective, Strategy, MIN_CALLER_STAKE};
use crate::axon::{self, Axon, AxonConfig, ServingAxon};
use crate::dendrite::{Dendrite, QueryStatus};
use crate::error::{SdkError, SdkResult};
use crate::metagraph::MetagraphSync;
use crate::rest::Client;
use crate::{blocking, Synapse};
use std::net::SocketAddr;
use std::time::Duration;
use tensorchain_primitives::Keypair;

/// How long a careful miner thinks before answering: slower than any quick miner, well inside a
/// validator's timeout.
pub const CAREFUL_DELAY: Duration = Duration::from_millis(300);
/// Points a quick miner fits its line to (of `quality::TRAIN_POINTS`).
pub const SLOPPY_POINTS: usize = 2;
/// How long a copying miner waits for the miner it copies.
const COPY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct MinerConfig {
    pub netuid: u16,
    pub objective: Objective,
    pub strategy: Strategy,
    /// Where the axon listens (port 0: any free port).
    pub bind: SocketAddr,
}

/// A running miner; dropping it stops its axon.
pub struct Miner {
    /// The address announced on chain.
    pub addr: SocketAddr,
    _axon: Option<ServingAxon>,
}

/// Starts the miner's axon and announces it on chain (waiting for the announcement to land).
pub async fn start(
    client: Client,
    key: Keypair,
    cfg: MinerConfig,
    sync: MetagraphSync,
) -> SdkResult<Miner> {
    let (addr, served) = if cfg.strategy == Strategy::Offline {
        // An address nobody will listen at: a dead axon, as a crashed miner leaves behind.
        let probe = std::net::TcpListener::bind(cfg.bind)
            .map_err(|e| SdkError::new("bind_failed", e.to_string(), "pick another address"))?;
        let addr = probe
            .local_addr()
            .map_err(|e| SdkError::new("bind_failed", e.to_string(), "pick another address"))?;
        (addr, None)
    } else {
        let mut config = AxonConfig::new(cfg.netuid);
        config.bind = cfg.bind;
        config.min_stake = MIN_CALLER_STAKE;
        let copier = Dendrite::new(key.clone(), cfg.netuid);
        let strategy = cfg.strategy;
        let axon = Axon::new(key.clone(), config);
        let axon = match cfg.objective {
            Objective::Quality => {
                let (copier, sync) = (copier.clone(), sync.clone());
                axon.attach(move |_, r: Regression| {
                    let (copier, sync) = (copier.clone(), sync.clone());
                    async move { answer_regression(strategy, r, &copier, &sync).await }
                })
            }
            Objective::Speed => {
                let (copier, sync) = (copier.clone(), sync.clone());
                axon.attach(move |_, p: Puzzle| {
                    let (copier, sync) = (copier.clone(), sync.clone());
                    async move { answer_puzzle(strategy, p, &copier, &sync).await }
                })
            }
        };
        let serving = axon.serve_and_announce(sync, &client).await?;
        (serving.addr, Some(serving))
    };
    if served.is_none() {
        axon::announce(&client, &key, cfg.netuid, addr).await?;
    }
    Ok(Miner {
        addr,
        _axon: served,
    })
}

async fn answer_regression(
    strategy: Strategy,
    r: Regression,
    copier: &Dendrite,
    sync: &MetagraphSync,
) -> SdkResult<Fit> {
    match strategy {
        Strategy::Careful => {
            tokio::time::sleep(CAREFUL_DELAY).await;
            Ok(quality::fit(&r, quality::TRAIN_POINTS))
        }
        Strategy::Quick => Ok(quality::fit(&r, SLOPPY_POINTS)),
        Strategy::Wrong | Strategy::Offline => Ok(Fit {
            a: r.y.first().copied().unwrap_or(1.0) * 7.0,
            b: -13.0,
        }),
        Strategy::Copy => copy(copier, sync, r).await,
    }
}

async fn answer_puzzle(
    strategy: Strategy,
    p: Puzzle,
    copier: &Dendrite,
    sync: &MetagraphSync,
) -> SdkResult<Solution> {
    let solve = |p: Puzzle| async move {
        blocking(move || {
            speed::solve(&p)
                .map(|nonce| Solution { nonce })
                .ok_or_else(|| {
                    SdkError::new("unsolvable", "the puzzle is malformed or too hard", "")
                })
        })
        .await
    };
    match strategy {
        Strategy::Careful => {
            let s = solve(p).await?;
            tokio::time::sleep(CAREFUL_DELAY).await;
            Ok(s)
        }
        Strategy::Quick => solve(p).await,
        Strategy::Wrong | Strategy::Offline => Ok(Solution { nonce: 7 }),
        Strategy::Copy => copy(copier, sync, p).await,
    }
}

/// Forwards the synapse to the miner with the highest incentive (not this one) and returns its
/// answer, if that miner answers it (template miners ask for stake this one does not have); with
/// nothing to copy, a copier has no answer.
async fn copy<S: Synapse>(copier: &Dendrite, sync: &MetagraphSync, s: S) -> SdkResult<S::Response> {
    let m = sync.current();
    let me = copier.hotkey();
    let best = m
        .targets()
        .into_iter()
        .filter(|t| t.hotkey != me && t.addr.is_some())
        .max_by(|a, b| m.incentive[a.uid as usize].total_cmp(&m.incentive[b.uid as usize]));
    let answer = match best {
        Some(best) => copier.call(best, s, COPY_TIMEOUT).await,
        None => return Err(nothing_to_copy("no other miner serves an axon")),
    };
    match answer.status {
        QueryStatus::Ok => answer
            .response
            .ok_or_else(|| nothing_to_copy("the copied miner's answer was empty")),
        QueryStatus::Rejected(e) => Err(nothing_to_copy(&format!(
            "the copied miner refused: {}",
            e.code
        ))),
        other => Err(nothing_to_copy(other.as_str())),
    }
}

fn nothing_to_copy(why: &str) -> SdkError {
    SdkError::new(
        "nothing_to_copy",
        format!("this miner copies others and got nothing: {why}"),
        "run a miner that does the work",
    )
}
