//! One bench invocation: fund the senders once, then for each rate sign the step, send it on
//! schedule while the event stream times finalizations, drain, and report.

use super::fund::Funding;
use super::plan::{self, intended, txs_of_sender, Signed, Signing, AMOUNT};
use super::report::{self, finalized_rate, latency, per_second, Context, Report};
use super::send::{self, lanes, run_lanes, Counters, Target};
use super::watch::{self, discard_queued, Tracker, Watched};
use super::{progress, progress_done, Config};
use crate::client::Client;
use crate::error::CliResult;
use crate::output::print_json;
use crate::Global;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tensorchain_primitives::{AccountId, Keypair};

/// How often the mempool is sampled and the progress line redrawn.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Lead time between the end of setup and the first transaction's due time.
const LEAD: Duration = Duration::from_millis(200);

pub fn run(config: Config, g: &Global) -> CliResult<()> {
    let funder = crate::wallet::signer(g)?;
    let client = Client::new(&g.network);
    let (chain, fee) = crate::wallet::chain_and_fee(&client, "transfer")?;
    let domain = chain.signing_domain();
    if g.uri.is_some() {
        crate::wallet::refuse_dev_key_off_devnet(&domain.chain_id, "--uri")?;
    }
    let target = Target {
        base: client.base().to_string(),
        batch: config.batch,
    };
    if config.batch > 1 {
        send::probe_batch(&target)?;
    }
    let events = watch::start(client.base())?;
    let signing = Signing {
        domain: &domain,
        fee,
    };

    // Fresh senders each invocation: their nonces start at 0 and need no reading.
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let senders: Vec<Keypair> = (0..config.senders)
        .map(|i| Keypair::dev(&format!("bench/{run_id}/{i}")))
        .collect();
    let ids: Vec<AccountId> = senders.iter().map(Keypair::account).collect();
    let n = config.senders as u64;
    let most_per_sender: u64 = config
        .rates
        .iter()
        .map(|r| config.step_txs(*r).div_ceil(n))
        .sum();
    Funding {
        target: &target,
        connections: config.connections,
        signing: &signing,
        events: &events,
    }
    .fund(
        &funder,
        client.next_nonce(&funder)?,
        &ids,
        most_per_sender * (fee + AMOUNT),
        run_id,
    )?;

    let mut nonces = vec![0u64; senders.len()];
    let mut steps = Vec::new();
    for (i, &rate) in config.rates.iter().enumerate() {
        let count = config.step_txs(rate);
        let txs = plan::step(&signing, &senders, &nonces, rate, count, run_id ^ i as u64);
        let (report, context, unfinished) = step(&config, &target, &client, &events, rate, &txs)?;
        if config.sweep {
            eprintln!("{}", report::text(&report, &context));
        }
        // Senders with a refused or unfinished transaction have a nonce gap or a queue the
        // chain has not caught up with: read their next nonce; the rest advance by their count.
        for s in 0..senders.len() {
            nonces[s] = if unfinished[s] {
                client.next_nonce(&senders[s])?
            } else {
                nonces[s] + txs_of_sender(count, n, s as u64)
            };
        }
        steps.push((report, context));
    }
    print(&config, g, &steps);
    Ok(())
}

fn print(config: &Config, g: &Global, steps: &[(Report, Context)]) {
    match (g.json, config.sweep) {
        (true, true) => print_json(&steps.iter().map(|(r, _)| r).collect::<Vec<_>>()),
        (true, false) => print_json(&steps[0].0),
        (false, true) => println!("{}", report::sweep_table(steps)),
        (false, false) => println!("{}", report::text(&steps[0].0, &steps[0].1)),
    }
}

/// The node's mempool size, if it reports one.
fn mempool(client: &Client) -> Option<u64> {
    client
        .get::<Value>("/v1/node/syncing")
        .ok()
        .and_then(|v| v["mempool"].as_u64())
}

/// The height and round the node's consensus is working on.
fn consensus(client: &Client) -> Option<(u64, u64)> {
    let v = client.get::<Value>("/v1/node/syncing").ok()?;
    Some((
        v["consensus_height"].as_u64()?,
        v["consensus_round"].as_u64()?,
    ))
}

/// One rate step, from the first due transaction to the end of the drain. Returns the report,
/// its context, and per sender whether any of its transactions was refused or not finalized.
fn step(
    config: &Config,
    target: &Target,
    client: &Client,
    events: &Receiver<Watched>,
    rate: u64,
    txs: &[Signed],
) -> CliResult<(Report, Context, Vec<bool>)> {
    let count = txs.len() as u64;
    let n = config.senders as u64;
    let lanes = lanes(
        0..count as u32,
        |k| (k as u64 % n) as usize,
        config.connections,
    );
    let due = move |k: u32| intended(k as u64, rate);
    let window = (config.warmup, config.warmup + config.duration);
    let counters = Counters::default();
    // Indexed before the clock starts (a million hashes take a while), then started.
    let mut tracker = Tracker::new(txs.iter().map(|t| &t.hash), Instant::now());
    let mut samples = Vec::new();
    discard_queued(events)?;
    let start = Instant::now() + LEAD;
    tracker.restart(start);
    let mut next_sample = start;
    eprintln!(
        "{rate}/s: sending {count} transfers over {} s ({} s warm-up)",
        window.1.as_secs(),
        window.0.as_secs()
    );
    let results = run_lanes(
        target,
        txs,
        &lanes,
        start,
        &due,
        window.0,
        &counters,
        || {
            tracker.poll(events, Duration::from_millis(100))?;
            if Instant::now() >= next_sample {
                next_sample += SAMPLE_EVERY;
                samples.extend(mempool(client));
                progress(&format!(
                "{rate}/s: {:>4.1} s, sent {}, accepted {}, rejected {}, finalized {}, mempool {}",
                start.elapsed().as_secs_f64(),
                counters.sent.load(Ordering::Relaxed),
                counters.accepted.load(Ordering::Relaxed),
                counters.rejected.load(Ordering::Relaxed),
                tracker.finalized,
                samples.last().map_or("-".into(), u64::to_string),
            ));
            }
            Ok(())
        },
    )?;
    progress_done();

    let mut accepted = vec![false; txs.len()];
    for k in results.iter().flat_map(|r| &r.accepted) {
        accepted[*k as usize] = true;
    }
    let accepted_count = accepted.iter().filter(|a| **a).count();
    let unfinished_accepted =
        |t: &Tracker| (0..txs.len()).any(|k| accepted[k] && t.finalized_at[k].is_none());
    let drain_until = Instant::now() + config.drain;
    while unfinished_accepted(&tracker) && Instant::now() < drain_until {
        tracker.poll(events, Duration::from_millis(200))?;
        if Instant::now() >= next_sample {
            next_sample += SAMPLE_EVERY;
            samples.extend(mempool(client));
        }
    }
    // Where the mempool ended up once the step's own transactions are through.
    samples.extend(mempool(client));

    let mut rejected = BTreeMap::new();
    for (_, code) in results.iter().flat_map(|r| &r.refused) {
        *rejected.entry(code.clone()).or_insert(0) += 1;
    }
    let measured_sent: u64 = results.iter().map(|r| r.measured_sent).sum();
    let last_sent = results
        .iter()
        .map(|r| r.last_sent)
        .max()
        .unwrap_or_default();
    let in_window = |d: Duration| d >= window.0 && d < window.1;
    let latencies: Vec<Duration> = (0..count)
        .filter(|k| in_window(intended(*k, rate)))
        .filter_map(|k| {
            tracker.finalized_at[k as usize].map(|at| at.saturating_sub(intended(k, rate)))
        })
        .collect();
    let lost = (0..txs.len())
        .filter(|k| accepted[*k] && tracker.finalized_at[*k].is_none())
        .count() as u64;
    let mut unfinished = vec![false; config.senders];
    for k in 0..txs.len() {
        if tracker.finalized_at[k].is_none() {
            unfinished[k % config.senders] = true;
        }
    }
    let measured = latencies.len() as u64;
    let report = Report {
        // Offered: what was actually sent in the window over the time it took (at least the
        // window): below the asked rate when the sender itself could not keep up.
        offered_tps: per_second(
            measured_sent,
            last_sent.saturating_sub(window.0).max(config.duration),
        ),
        finalized_tps: finalized_rate(&tracker.blocks, window),
        latency_ms: latency(latencies),
        rejected,
        lost,
        rounds_above_zero: tracker.extra_rounds,
    };
    let context = Context {
        rate,
        sent: count,
        accepted: accepted_count as u64,
        finalized: tracker.finalized as u64,
        measured,
        blocks: tracker.blocks.len() as u64,
        duration: config.duration,
        warmup: config.warmup,
        mempool: samples,
        consensus: consensus(client),
    };
    Ok((report, context, unfinished))
}
