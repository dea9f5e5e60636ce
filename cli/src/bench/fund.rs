//! Funding the senders before a run: the funder pays `FANOUT` intermediate accounts, each of
//! which pays up to `FANOUT` senders, so thousands of senders are funded in two blocks' time
//! without one signer queueing more than the node allows per signer (256). Every transfer is
//! signed ahead, sent like the run's own (batched when `--batch` > 1) and awaited on the event
//! stream.

use super::plan::{sign_all, Signed, Signing};
use super::report::rejected_text;
use super::send::{lanes, run_lanes, Counters, Target};
use super::watch::{discard_queued, Tracker, Watched};
use crate::error::{CliError, CliResult};
use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use tensorchain_primitives::{AccountId, Keypair};

/// Transfers one payer makes per level: under the node's per-signer queue of 256.
const FANOUT: usize = 200;
/// Sends of a level's refused transfers before giving up: a node may refuse a transfer for a
/// moment (a full queue, or a nonce race with a block being committed) and take it again later.
const ATTEMPTS: u32 = 5;
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// How long a level may take to finalize.
const LEVEL_TIMEOUT: Duration = Duration::from_secs(90);

/// One payment of a level: payer index, recipient, amount.
type Payment = (usize, AccountId, u64);

pub struct Funding<'a> {
    pub target: &'a Target,
    pub connections: usize,
    pub signing: &'a Signing<'a>,
    pub events: &'a Receiver<Watched>,
}

impl Funding<'_> {
    /// Pays `amount` to each of `senders` from `funder` (whose next nonce is `nonce`), through
    /// intermediate accounts derived from `run_id` when there are more than `FANOUT`.
    pub fn fund(
        &self,
        funder: &Keypair,
        nonce: u64,
        senders: &[AccountId],
        amount: u64,
        run_id: u64,
    ) -> CliResult<()> {
        let started = Instant::now();
        if senders.len() <= FANOUT {
            let pays = senders.iter().map(|s| (0, *s, amount)).collect();
            self.level("funding", &[(funder, nonce)], pays)?;
        } else {
            let middle: Vec<Keypair> = (0..senders.len().div_ceil(FANOUT))
                .map(|i| Keypair::dev(&format!("bench/{run_id}/fund/{i}")))
                .collect();
            let fee = self.signing.fee;
            let pays = senders
                .chunks(FANOUT)
                .zip(&middle)
                .map(|(group, m)| (0, m.account(), group.len() as u64 * (amount + fee)))
                .collect();
            self.level("funding (1/2)", &[(funder, nonce)], pays)?;
            let payers: Vec<(&Keypair, u64)> = middle.iter().map(|m| (m, 0)).collect();
            let pays = senders
                .iter()
                .enumerate()
                .map(|(i, s)| (i / FANOUT, *s, amount))
                .collect();
            self.level("funding (2/2)", &payers, pays)?;
        }
        eprintln!(
            "funded {} senders in {:.1} s",
            senders.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Signs and sends one level of payments and waits until all are finalized.
    fn level(&self, label: &str, payers: &[(&Keypair, u64)], pays: Vec<Payment>) -> CliResult<()> {
        // Each payer's nonces in the order its payments are listed.
        let mut next: Vec<u64> = payers.iter().map(|(_, n)| *n).collect();
        let nonces: Vec<u64> = pays
            .iter()
            .map(|(p, _, _)| {
                next[*p] += 1;
                next[*p] - 1
            })
            .collect();
        let txs: Vec<Signed> = sign_all(label, pays.len(), |i| {
            let (p, to, amount) = pays[i];
            self.signing.transfer(payers[p].0, nonces[i], to, amount)
        });
        discard_queued(self.events)?;
        let start = Instant::now();
        let mut tracker = Tracker::new(txs.iter().map(|t| &t.hash), start);
        let mut todo: Vec<u32> = (0..txs.len() as u32).collect();
        for attempt in 1..=ATTEMPTS {
            let refused = self.send(&txs, &todo, &pays, &mut tracker)?;
            if refused.is_empty() {
                break;
            }
            if attempt == ATTEMPTS {
                let mut codes = BTreeMap::new();
                for (_, code) in refused {
                    *codes.entry(code).or_insert(0u64) += 1;
                }
                return Err(CliError::new(
                    "funding_failed",
                    format!(
                        "{label}: the node kept refusing funding transfers: {}",
                        rejected_text(&codes)
                    ),
                    "is the funding key (--uri or the wallet) funded on this chain?",
                ));
            }
            todo = refused.into_iter().map(|(k, _)| k).collect();
            std::thread::sleep(RETRY_PAUSE);
        }
        while tracker.finalized < txs.len() {
            if start.elapsed() > LEVEL_TIMEOUT {
                return Err(CliError::new(
                    "funding_timeout",
                    format!(
                        "{label}: {} of {} funding transfers finalized in {} s",
                        tracker.finalized,
                        txs.len(),
                        LEVEL_TIMEOUT.as_secs()
                    ),
                    "is the chain finalizing blocks? check `tensorchain devnet status`",
                ));
            }
            tracker.poll(self.events, Duration::from_millis(200))?;
        }
        Ok(())
    }

    /// Sends `todo` (each payer's in nonce order, on its own lane) as fast as the node takes
    /// them, taking finalized blocks meanwhile; returns those refused, in order, with their codes.
    fn send(
        &self,
        txs: &[Signed],
        todo: &[u32],
        pays: &[Payment],
        tracker: &mut Tracker,
    ) -> CliResult<Vec<(u32, String)>> {
        let lanes = lanes(
            todo.iter().copied(),
            |k| pays[k as usize].0,
            self.connections,
        );
        let due = |_: u32| Duration::ZERO;
        let results = run_lanes(
            self.target,
            txs,
            &lanes,
            Instant::now(),
            &due,
            Duration::ZERO,
            &Counters::default(),
            || tracker.poll(self.events, Duration::from_millis(50)),
        )?;
        let mut refused: Vec<(u32, String)> = results
            .into_iter()
            .flat_map(|r| r.refused)
            // Sent before and taken: a retry that finds it already known is done.
            .filter(|(_, code)| code != "tx_already_known")
            .collect();
        refused.sort_unstable();
        Ok(refused)
    }
}
