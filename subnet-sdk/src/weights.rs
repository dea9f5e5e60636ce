//! Setting weights from scores: normalize to u16, then `set_weights` once per epoch — or, on a
//! subnet with commit-reveal, commit a hash this epoch and reveal it the next — never before
//! `weights_rate_limit` blocks have passed since the validator's last update. The decision is a
//! pure function ([`plan`]) over what the chain says, so its rules are tested over thousands of
//! simulated blocks; [`WeightSetter`] reads the chain, follows the plan and retries on the
//! chain's named errors.

use crate::error::{SdkError, SdkResult};
use crate::rest::Client;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use tensorchain_primitives::{weights_commit_hash, Call, Keypair};

/// Most a setter waits for its transaction to land before trying again at a later tick.
const INCLUSION_LIMIT: Duration = Duration::from_secs(30);

/// Scores (any non-negative scale) → `(uids, values)` with the largest value 65535; uids scored
/// zero, negative or not a number are left out. Empty if nothing scored above zero.
pub fn normalize(scores: &[(u16, f64)]) -> (Vec<u16>, Vec<u16>) {
    let mut kept: Vec<(u16, f64)> = scores
        .iter()
        .copied()
        .filter(|(_, s)| s.is_finite() && *s > 0.0)
        .collect();
    kept.sort_by_key(|(u, _)| *u);
    kept.dedup_by_key(|(u, _)| *u);
    let max = kept.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    let (uids, values) = kept
        .into_iter()
        .map(|(u, s)| (u, ((s / max) * 65535.0).round().clamp(0.0, 65535.0) as u16))
        .filter(|(_, v)| *v > 0)
        .unzip();
    (uids, values)
}

/// What the chain says, read at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainView {
    /// The head height (a transaction sent now runs at a later block).
    pub head: u64,
    /// The block the subnet's last epoch ran at: it identifies the epoch.
    pub last_epoch_block: u64,
    pub weights_rate_limit: u64,
    pub commit_reveal: bool,
    /// The validator's `last_update` in the metagraph.
    pub last_update: u64,
}

/// What the setter has done: the part of the decision the chain does not show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetterState {
    /// The epoch (its `last_epoch_block`) whose weights were set or committed.
    pub done_epoch: Option<u64>,
    /// The block of the last set or commit that landed.
    pub last_tx_block: Option<u64>,
    /// A commit waiting for its reveal: the epoch it was made in.
    pub commit_epoch: Option<u64>,
    /// Nothing before this height (after a named error that asks to wait).
    pub wait_until: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Wait,
    SetWeights,
    Commit,
    Reveal,
}

/// The rule: one set (or commit) per epoch; a commit is revealed in a later epoch before the
/// next commit; a set or commit only once `weights_rate_limit` blocks have passed since the
/// last update the setter knows of, counted from the head (the transaction lands later still).
pub fn plan(chain: &ChainView, state: &SetterState, have_scores: bool) -> Plan {
    if chain.head < state.wait_until {
        return Plan::Wait;
    }
    if chain.commit_reveal {
        if let Some(epoch) = state.commit_epoch {
            return if chain.last_epoch_block > epoch {
                Plan::Reveal
            } else {
                Plan::Wait
            };
        }
    }
    let last = chain.last_update.max(state.last_tx_block.unwrap_or(0));
    let rate_ok = chain.head >= last + chain.weights_rate_limit;
    let due = state.done_epoch != Some(chain.last_epoch_block);
    if !(have_scores && due && rate_ok) {
        return Plan::Wait;
    }
    if chain.commit_reveal {
        Plan::Commit
    } else {
        Plan::SetWeights
    }
}

/// Counts of what a setter did; `rate_limited` stays 0 if the plan holds.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct WeightStats {
    pub set: u64,
    pub committed: u64,
    pub revealed: u64,
    /// `weights_rate_limited` answers from the chain.
    pub rate_limited: u64,
    /// Other named errors (retried at a later tick or epoch).
    pub errors: u64,
    pub last_error: Option<String>,
}

/// What one tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Waited,
    /// Weights set (or revealed) at this block, over this many uids.
    Set {
        block: u64,
        uids: usize,
    },
    Committed {
        block: u64,
    },
    /// A named error from the chain; what happens next is in the setter's state.
    Failed {
        code: String,
    },
}

pub struct WeightSetter {
    client: Client,
    key: Keypair,
    netuid: u16,
    version_key: u64,
    state: SetterState,
    /// The committed weights and salt, kept for the reveal.
    committed: Option<(Vec<u16>, Vec<u16>, Vec<u8>)>,
    pub stats: WeightStats,
}

impl WeightSetter {
    pub fn new(client: Client, key: Keypair, netuid: u16) -> WeightSetter {
        WeightSetter {
            client,
            key,
            netuid,
            version_key: 0,
            state: SetterState::default(),
            committed: None,
            stats: WeightStats::default(),
        }
    }

    /// Reads the chain: head, epoch, rate limit, commit-reveal, and this validator's last update.
    pub fn view(&self) -> SdkResult<ChainView> {
        let n = self.netuid;
        let subnet: Value = self.client.get(&format!("/v1/subnets/{n}"))?;
        let hyper: Value = self
            .client
            .get(&format!("/v1/subnets/{n}/hyperparameters"))?;
        let m: Value = self.client.get(&format!(
            "/v1/subnets/{n}/metagraph?fields=hotkey,last_update"
        ))?;
        let head = m["block"].as_u64().unwrap_or(0);
        let me = self.key.account().to_string();
        let uid = m["hotkey"]
            .as_array()
            .and_then(|a| a.iter().position(|h| h.as_str() == Some(me.as_str())))
            .ok_or_else(|| {
                SdkError::new(
                    "hotkey_not_registered",
                    format!("{me} is not registered on subnet {n}"),
                    "register it with `tensorchain subnet register`",
                )
            })?;
        let since = subnet["blocks_since_last_epoch"].as_u64().unwrap_or(0);
        Ok(ChainView {
            head,
            last_epoch_block: head.saturating_sub(since),
            weights_rate_limit: hyper["weights_rate_limit"]["value"].as_u64().unwrap_or(0),
            commit_reveal: hyper["commit_reveal_enabled"]["value"].as_u64() == Some(1),
            last_update: m["last_update"][uid].as_u64().unwrap_or(0),
        })
    }

    /// One step: reads the chain and sets, commits or reveals if the plan says so. Blocking.
    pub fn tick(&mut self, scores: &[(u16, f64)]) -> SdkResult<Outcome> {
        let chain = self.view()?;
        let (uids, values) = normalize(scores);
        let step = plan(&chain, &self.state, !uids.is_empty());
        let n = self.netuid;
        let vk = self.version_key;
        let result = match step {
            Plan::Wait => return Ok(Outcome::Waited),
            Plan::SetWeights => self
                .send(Call::SetWeights {
                    netuid: n,
                    uids: uids.clone(),
                    values,
                    version_key: vk,
                })
                .map(|block| Outcome::Set {
                    block,
                    uids: uids.len(),
                }),
            Plan::Commit => {
                let salt: Vec<u8> = chain
                    .head
                    .to_le_bytes()
                    .iter()
                    .chain(self.key.account().0.iter())
                    .copied()
                    .collect();
                let hash = weights_commit_hash(&self.key.account(), n, &uids, &values, &salt, vk);
                let sent = self.send(Call::CommitWeights { netuid: n, hash });
                if sent.is_ok() {
                    self.committed = Some((uids, values, salt));
                }
                sent.map(|block| Outcome::Committed { block })
            }
            Plan::Reveal => {
                let Some((uids, values, salt)) = self.committed.clone() else {
                    self.state.commit_epoch = None;
                    return Ok(Outcome::Waited);
                };
                self.send(Call::RevealWeights {
                    netuid: n,
                    uids: uids.clone(),
                    values,
                    salt,
                    version_key: vk,
                })
                .map(|block| Outcome::Set {
                    block,
                    uids: uids.len(),
                })
            }
        };
        match result {
            Ok(outcome) => {
                match (&outcome, step) {
                    (Outcome::Set { block, .. }, Plan::SetWeights) => {
                        self.stats.set += 1;
                        self.state.done_epoch = Some(chain.last_epoch_block);
                        self.state.last_tx_block = Some(*block);
                    }
                    (Outcome::Committed { block }, _) => {
                        self.stats.committed += 1;
                        self.state.done_epoch = Some(chain.last_epoch_block);
                        self.state.last_tx_block = Some(*block);
                        self.state.commit_epoch = Some(chain.last_epoch_block);
                    }
                    _ => {
                        self.stats.revealed += 1;
                        self.state.commit_epoch = None;
                        self.committed = None;
                    }
                }
                Ok(outcome)
            }
            Err(e) => {
                self.on_error(&e, &chain);
                Ok(Outcome::Failed { code: e.code })
            }
        }
    }

    /// What a named error means for the next tick.
    fn on_error(&mut self, e: &SdkError, chain: &ChainView) {
        self.stats.last_error = Some(format!("{e}"));
        match e.code.as_str() {
            "weights_rate_limited" => {
                self.stats.rate_limited += 1;
                let wait = e.details["retry_after_blocks"].as_u64().unwrap_or(1);
                self.state.wait_until = chain.head + wait;
            }
            // The commit can no longer be revealed: start again with a new one.
            "commit_expired" | "no_matching_commit" => {
                self.stats.errors += 1;
                self.state.commit_epoch = None;
                self.committed = None;
            }
            // Permits are granted at epochs; a subnet may switch commit-reveal on or off.
            "no_validator_permit" | "commit_reveal_enabled" | "commit_reveal_disabled" => {
                self.stats.errors += 1;
                self.state.done_epoch = Some(chain.last_epoch_block);
                self.state.commit_epoch = None;
            }
            // Transient (reveal_too_early, bad_nonce, mempool_full, rate_limited, timeouts…):
            // the next tick tries again.
            _ => {
                self.stats.errors += 1;
                self.state.wait_until = chain.head + 1;
            }
        }
    }

    fn send(&self, call: Call) -> SdkResult<u64> {
        self.client.send(&self.key, call, INCLUSION_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensorchain_primitives::det_rng::SplitMix;

    #[test]
    fn normalize_scales_the_best_to_65535_and_drops_zeros() {
        let (u, v) = normalize(&[(3, 0.5), (1, 1.0), (2, 0.0), (4, f64::NAN), (5, -1.0)]);
        assert_eq!(u, vec![1, 3]);
        assert_eq!(v, vec![65535, 32768]);
        assert_eq!(normalize(&[(1, 0.0)]), (vec![], vec![]));
    }

    /// A chain that enforces `weights_rate_limit` the way the ledger does (on set and commit,
    /// counted from the block a transaction lands in), with epochs every `tempo + 1` blocks and
    /// transactions landing 1 to 3 blocks after they are sent.
    fn simulate(tempo: u64, rate_limit: u64, commit_reveal: bool, seed: u64) -> (u64, u64) {
        let mut rng = SplitMix(seed);
        let (mut head, mut last_epoch, mut last_update, mut last_commit) = (0u64, 0u64, 0u64, None);
        let mut state = SetterState::default();
        let (mut landed, mut epochs_with_weights) = (0u64, std::collections::BTreeSet::new());
        let advance = |head: &mut u64, to: u64, last_epoch: &mut u64| {
            while *head < to {
                *head += 1;
                if *head % (tempo + 1) == 0 {
                    *last_epoch = *head;
                }
            }
        };
        while head < 5_000 {
            let next = head + 1;
            advance(&mut head, next, &mut last_epoch);
            let view = ChainView {
                head,
                last_epoch_block: last_epoch,
                weights_rate_limit: rate_limit,
                commit_reveal,
                // The metagraph may lag the head by a block.
                last_update: if rng.chance(20) {
                    last_update.saturating_sub(1)
                } else {
                    last_update
                },
            };
            let step = plan(&view, &state, true);
            if step == Plan::Wait {
                continue;
            }
            let at = head + 1 + rng.below(3);
            let limited_from = match step {
                Plan::Commit => last_commit.unwrap_or(0),
                Plan::Reveal => 0,
                _ => last_update,
            };
            if step != Plan::Reveal {
                assert!(
                    at >= limited_from + rate_limit,
                    "{step:?} at {at} trips the rate limit {rate_limit} (last {limited_from})"
                );
            }
            landed += 1;
            match step {
                Plan::SetWeights => {
                    last_update = at;
                    state.done_epoch = Some(last_epoch);
                    state.last_tx_block = Some(at);
                    epochs_with_weights.insert(last_epoch);
                }
                Plan::Commit => {
                    last_commit = Some(at);
                    state.done_epoch = Some(last_epoch);
                    state.last_tx_block = Some(at);
                    state.commit_epoch = Some(last_epoch);
                }
                Plan::Reveal => {
                    last_update = at;
                    state.commit_epoch = None;
                    epochs_with_weights.insert(last_epoch);
                }
                Plan::Wait => unreachable!(),
            }
            advance(&mut head, at, &mut last_epoch);
        }
        (landed, epochs_with_weights.len() as u64)
    }

    #[test]
    fn the_plan_never_trips_the_rate_limit_and_sets_weights_every_epoch_it_may() {
        for (tempo, rate_limit) in [(10, 1), (10, 5), (10, 30), (360, 100), (5, 5)] {
            for commit_reveal in [false, true] {
                for seed in 0..20 {
                    let (landed, epochs) = simulate(tempo, rate_limit, commit_reveal, seed);
                    assert!(landed > 0);
                    // Without commit-reveal and with a rate limit within a tempo, every epoch
                    // gets weights (to within the epochs a slow inclusion skips).
                    if !commit_reveal && rate_limit <= tempo {
                        let total = 5_000 / (tempo + 1);
                        assert!(epochs * 10 >= total * 6, "{epochs} of {total} epochs");
                    }
                }
            }
        }
    }
}
