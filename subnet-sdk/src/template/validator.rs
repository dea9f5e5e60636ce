//! A template validator: every round it sends each uid its own challenge with the dendrite,
//! scores the answers, keeps a moving average per uid, and hands the averages to a
//! [`WeightSetter`], which sets weights once per epoch within the subnet's rate limit.
//!
//! The loop of any validator is the same: read the synced metagraph, query the axons, score,
//! smooth, set weights; the objective lives entirely in how challenges are made and scored.

use super::quality;
use super::speed;
use super::Objective;
use crate::dendrite::{Dendrite, QuerySummary, Target};
use crate::error::SdkResult;
use crate::metagraph::MetagraphSync;
use crate::rest::Client;
use crate::weights::{Outcome, WeightSetter, WeightStats};
use crate::{blocking, now_ms};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use tensorchain_primitives::{AccountId, Hash, Keypair};

/// Weight of the newest round in a uid's moving average: a miner's standing follows its last
/// few rounds, and one unlucky round does not zero it.
const EMA_ALPHA: f64 = 0.3;

#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    pub netuid: u16,
    pub objective: Objective,
    /// Time between the starts of two rounds.
    pub round_interval: Duration,
    /// How long a miner has to answer.
    pub timeout: Duration,
}

impl ValidatorConfig {
    pub fn new(netuid: u16, objective: Objective) -> ValidatorConfig {
        ValidatorConfig {
            netuid,
            objective,
            round_interval: Duration::from_secs(1),
            timeout: match objective {
                Objective::Quality => Duration::from_secs(2),
                Objective::Speed => Duration::from_secs(1),
            },
        }
    }
}

/// One uid in one round.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    #[serde(flatten)]
    pub query: QuerySummary,
    pub score: f64,
    pub average: f64,
}

/// What a round did, for logs and `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct RoundReport {
    pub round: u64,
    pub block: u64,
    pub uids: Vec<Scored>,
    /// `waited`, `set`, `committed` or the chain's error code.
    pub weights: String,
    pub stats: WeightStats,
}

/// Runs `rounds` rounds (forever if `None`), calling `report` after each; returns the weight
/// setter's counts.
pub async fn run(
    client: Client,
    key: Keypair,
    cfg: ValidatorConfig,
    sync: MetagraphSync,
    rounds: Option<u64>,
    mut report: impl FnMut(&RoundReport),
) -> SdkResult<WeightStats> {
    let dendrite = Dendrite::new(key.clone(), cfg.netuid);
    let me = key.account();
    let mut setter = Some(WeightSetter::new(client, key, cfg.netuid));
    let mut averages: BTreeMap<u16, (AccountId, f64)> = BTreeMap::new();
    let mut round = 0u64;
    while rounds.is_none_or(|r| round < r) {
        let started = tokio::time::Instant::now();
        round += 1;
        let m = sync.current();
        let targets: Vec<Target> = m.targets().into_iter().filter(|t| t.hotkey != me).collect();
        // A fresh, unpredictable challenge per uid: answers cannot be shared between miners.
        let salt = now_ms();
        let seed = |t: &Target| {
            let h = Hash::digest_parts(
                b"tensorchain/template/challenge",
                &[&me.0, &salt.to_le_bytes(), &t.uid.to_le_bytes()],
            );
            u64::from_le_bytes(h.0[..8].try_into().expect("8 bytes"))
        };
        let scored: Vec<(QuerySummary, f64)> = match cfg.objective {
            Objective::Quality => dendrite
                .query(&targets, |t| quality::challenge(seed(t)), cfg.timeout)
                .await
                .into_iter()
                .zip(&targets)
                .map(|(r, t)| {
                    let s = r
                        .response
                        .as_ref()
                        .map_or(0.0, |f| quality::score(seed(t), f));
                    (r.summary(), s)
                })
                .collect(),
            Objective::Speed => dendrite
                .query(&targets, |t| speed::challenge(seed(t)), cfg.timeout)
                .await
                .into_iter()
                .zip(&targets)
                .map(|(r, t)| {
                    let latency = r.latency.as_millis() as u64;
                    (
                        r.summary(),
                        speed::score(&speed::challenge(seed(t)), r.response.as_ref(), latency),
                    )
                })
                .collect(),
        };
        let mut uids = Vec::new();
        for ((query, score), t) in scored.into_iter().zip(&targets) {
            let entry = averages.entry(t.uid).or_insert((t.hotkey, 0.0));
            if entry.0 != t.hotkey {
                // A new neuron took the uid: its standing starts from zero.
                *entry = (t.hotkey, 0.0);
            }
            entry.1 = EMA_ALPHA * score + (1.0 - EMA_ALPHA) * entry.1;
            uids.push(Scored {
                query,
                score,
                average: entry.1,
            });
        }
        averages.retain(|u, _| (*u as usize) < m.n());
        let scores: Vec<(u16, f64)> = averages.iter().map(|(u, (_, s))| (*u, *s)).collect();
        let mut s = setter.take().expect("the setter is put back every round");
        let (s, outcome) = blocking(move || {
            let outcome = s.tick(&scores);
            Ok((s, outcome))
        })
        .await?;
        let weights = match outcome {
            Ok(Outcome::Waited) => "waited".to_string(),
            Ok(Outcome::Set { .. }) => "set".to_string(),
            Ok(Outcome::Committed { .. }) => "committed".to_string(),
            Ok(Outcome::Failed { code }) => code,
            Err(e) => e.code,
        };
        report(&RoundReport {
            round,
            block: m.block,
            uids,
            weights,
            stats: s.stats.clone(),
        });
        setter = Some(s);
        tokio::time::sleep_until(started + cfg.round_interval).await;
    }
    Ok(setter.map(|s| s.stats).unwrap_or_default())
}
