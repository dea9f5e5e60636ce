//! `tensorchain bench verify`: the machine's limit for transfers, since every node checks each
//! transaction's signature at least once. It times a signature checked from nothing (the
//! signing hash, the key's decompression and `verify_strict`, as for a signer the node has not
//! seen: `AccountId::verify_strict_uncached`) on one thread, then on one thread per core, for a
//! fixed window each: the denominator the throughput issue defines. The chain's own rule,
//! ZIP-215 in batches (`verify_many`, as nodes check blocks and admissions), is timed too and
//! shown beside it: it is about twice as fast, which is what lets a node finalize more than
//! half this limit.

use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::Global;
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tensorchain_primitives::{verify_signatures, Call, Hash, Keypair, SignedTx, SigningDomain, Tx};

/// How long each measurement runs: long enough to average out scheduling, short enough for a
/// quick answer (two measurements).
const WINDOW: Duration = Duration::from_millis(1500);
/// Transactions cycled through, each from its own signer: no cache makes one check cheaper, and
/// a batch coalesces no two signatures of one key (as from a node's thousands of senders).
const SIGNERS: usize = 1024;
const SAMPLE: usize = SIGNERS;

fn sample() -> (Vec<SignedTx>, SigningDomain) {
    let domain = SigningDomain::new(
        "tensorchain-bench",
        Hash::digest(b"tensorchain/bench/verify"),
    );
    let keys: Vec<Keypair> = (0..SIGNERS)
        .map(|i| Keypair::dev(&format!("bench/verify/{i}")))
        .collect();
    let txs = (0..SAMPLE)
        .map(|i| {
            let key = &keys[i % SIGNERS];
            Tx {
                chain_id: domain.chain_id.clone(),
                signer: key.account(),
                nonce: i as u64,
                fee: 100_000,
                call: Call::Transfer {
                    to: keys[(i + 1) % SIGNERS].account(),
                    amount: 1,
                },
            }
            .sign(key, &domain)
        })
        .collect();
    (txs, domain)
}

/// Transactions checked in one step of a measurement.
const STEP: usize = 256;

/// `verify_strict` of each transaction of a step, from nothing.
fn strict(txs: &[SignedTx], domain: &SigningDomain) -> bool {
    txs.iter().all(|stx| {
        stx.tx
            .signer
            .verify_strict_uncached(stx.tx.signing_hash(domain).as_bytes(), &stx.signature)
            .is_ok()
    })
}

/// The chain's rule: a step's transactions as one ZIP-215 batch, signing hashes included.
fn batched(txs: &[SignedTx], domain: &SigningDomain) -> bool {
    verify_signatures(txs, domain).iter().all(Result::is_ok)
}

/// Verifications per second over `threads` threads, each verifying for `WINDOW`, `STEP`
/// transactions at a time with `check`.
fn rate(
    threads: usize,
    txs: &[SignedTx],
    domain: &SigningDomain,
    check: fn(&[SignedTx], &SigningDomain) -> bool,
) -> CliResult<u64> {
    let per_thread: Vec<Option<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let started = Instant::now();
                    // Each thread starts at its own offset, not in lockstep with the others.
                    let mut i = t * SAMPLE / threads;
                    let mut done = 0u64;
                    while started.elapsed() < WINDOW {
                        let start = i % (SAMPLE - STEP);
                        let step = black_box(&txs[start..start + STEP]);
                        if !check(step, domain) {
                            return None;
                        }
                        i += STEP / 4;
                        done += STEP as u64;
                    }
                    Some(done as f64 / started.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a verifying thread panicked"))
            .collect()
    });
    let rates: Option<Vec<f64>> = per_thread.into_iter().collect();
    let rates = rates.ok_or_else(|| {
        CliError::new(
            "verify_failed",
            "a correctly signed sample transaction did not verify",
            "this build's signature code is broken; report it",
        )
    })?;
    Ok(rates.iter().sum::<f64>().round() as u64)
}

pub fn run(g: &Global) -> CliResult<()> {
    let (txs, domain) = sample();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let per_core = rate(1, &txs, &domain, strict)?;
    let all_cores = rate(cores, &txs, &domain, strict)?;
    if g.json {
        print_json(&json!({"per_core": per_core, "all_cores": all_cores, "cores": cores}));
        return Ok(());
    }
    println!(
        "verify_strict (signed transfers): {per_core}/s on one core, {all_cores}/s on {cores} cores"
    );
    let batch_core = rate(1, &txs, &domain, batched)?;
    let batch_all = rate(cores, &txs, &domain, batched)?;
    println!(
        "the chain's rule, ZIP-215 batches of {STEP}: {batch_core}/s on one core, {batch_all}/s on {cores} cores"
    );
    Ok(())
}
