//! `tensorchain bench`: a load generator. Funds a set of throwaway accounts from a dev key, sends
//! signed transfers at a target rate for a while, then reports what the chain finalized: TPS and
//! the latency from submission to the block that included each transaction.

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::wallet::submit;
use crate::Global;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tensorchain_primitives::{Call, Keypair, Tx, RAO_PER_TAO};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Transfers per second to send.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds to send for.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Throwaway sender accounts (each keeps its own nonce sequence).
    #[arg(long, default_value_t = 50)]
    accounts: usize,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn run(args: BenchArgs, g: &Global) -> CliResult<()> {
    if args.accounts == 0 || args.accounts > 200 || args.rate == 0 {
        return Err(CliError::new(
            "bad_argument",
            "--accounts must be 1..=200 and --rate positive",
            "try --rate 200 --accounts 50",
        ));
    }
    let funder = crate::wallet::signer(g)?;
    let client = Client::new(&g.network);
    // The network every transfer is signed for, asked once.
    let (chain, fee) = crate::wallet::chain_and_fee(&client, "transfer")?;
    let domain = chain.signing_domain();
    if g.uri.is_some() {
        crate::wallet::refuse_dev_key_off_devnet(&domain.chain_id, "--uri")?;
    }
    let run_id = now_ms();
    let senders: Vec<Keypair> = (0..args.accounts)
        .map(|i| Keypair::dev(&format!("bench/{run_id}/{i}")))
        .collect();
    eprintln!(
        "funding {} accounts from {}…",
        senders.len(),
        funder.account()
    );
    let mut last = Value::Null;
    for (i, s) in senders.iter().enumerate() {
        let call = Call::Transfer {
            to: s.account(),
            amount: 10 * RAO_PER_TAO,
        };
        let quiet = Global {
            json: true,
            yes: true,
            ..g.clone()
        };
        last = submit(&quiet, &funder, call, "fund", false, i + 1 < senders.len())?;
    }
    let start_height = last["height"].as_u64().unwrap_or(0);
    eprintln!("sending {} transfers/s for {} s…", args.rate, args.duration);
    let mut nonces = vec![0u64; senders.len()];
    let total = args.rate * args.duration;
    let started = Instant::now();
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut samples: Vec<(String, u64)> = Vec::new();
    let mut errors = std::collections::BTreeMap::new();
    for k in 0..total {
        let due = Duration::from_micros(k * 1_000_000 / args.rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        let i = (k as usize) % senders.len();
        let s = &senders[i];
        let to = senders[(i + 1) % senders.len()].account();
        let stx = Tx {
            chain_id: domain.chain_id.clone(),
            signer: s.account(),
            nonce: nonces[i],
            fee,
            call: Call::Transfer { to, amount: 1 },
        }
        .sign(s, &domain);
        let sent_at = now_ms();
        match client.post::<Value>(
            "/v1/txs",
            &json!({"tx": format!("0x{}", hex::encode(stx.to_bytes()))}),
        ) {
            Ok(r) => {
                accepted += 1;
                nonces[i] += 1;
                if k % 10 == 0 || k + 1 == total {
                    samples.push((r["hash"].as_str().unwrap_or_default().to_string(), sent_at));
                }
            }
            Err(e) => {
                rejected += 1;
                *errors.entry(e.code).or_insert(0u64) += 1;
            }
        }
        if k % args.rate == 0 && k > 0 {
            eprint!("\r{k}/{total} sent");
        }
    }
    let send_secs = started.elapsed().as_secs_f64();
    eprintln!("\rwaiting for the mempool to drain…");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut latencies = Vec::new();
    for (hash, sent_at) in &samples {
        loop {
            let st: Value = client.get(&format!("/v1/txs/{hash}"))?;
            if st["status"] == "included" {
                let h = st["height"].as_u64().unwrap_or(0);
                let block: Value = client.get(&format!("/v1/blocks/{h}"))?;
                latencies.push(
                    block["header"]["time_ms"]
                        .as_u64()
                        .unwrap_or(0)
                        .saturating_sub(*sent_at),
                );
                break;
            }
            if Instant::now() > deadline || st["status"] == "failed" {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let head: Value = client.get("/v1/blocks/head")?;
    let end_height = head["header"]["height"].as_u64().unwrap_or(0);
    let (mut included, mut first_ms, mut last_ms) = (0u64, u64::MAX, 0u64);
    for h in start_height + 1..=end_height {
        let b: Value = client.get(&format!("/v1/blocks/{h}"))?;
        let n = b["header"]["tx_count"].as_u64().unwrap_or(0);
        if n > 0 {
            included += n;
            let t = b["header"]["time_ms"].as_u64().unwrap_or(0);
            first_ms = first_ms.min(t);
            last_ms = last_ms.max(t);
        }
    }
    latencies.sort_unstable();
    let pct = |p: usize| {
        latencies
            .get((latencies.len().saturating_sub(1)) * p / 100)
            .copied()
            .unwrap_or(0)
    };
    let span = (last_ms.saturating_sub(first_ms) as f64 / 1000.0).max(send_secs);
    let report = json!({
        "target_rate": args.rate,
        "sent": total,
        "accepted": accepted,
        "rejected": rejected,
        "errors": errors,
        "included": included,
        "finalized_tps": (included as f64 / span * 10.0).round() / 10.0,
        "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "samples": latencies.len()},
        "blocks": end_height - start_height,
    });
    if g.json {
        print_json(&report);
    } else {
        println!(
            "sent {total} ({accepted} accepted, {rejected} rejected), {included} finalized in {} blocks: {} TPS; submit→final latency p50 {} ms, p90 {} ms, p99 {} ms",
            end_height - start_height, report["finalized_tps"], pct(50), pct(90), pct(99)
        );
    }
    Ok(())
}
