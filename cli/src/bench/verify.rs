//! `tensorchain bench verify`: the machine's limit for transfers, since every node checks each
//! transaction's signature at least once. It times a signature checked from nothing (the
//! signing hash, the key's decompression and `verify_strict`, as for a signer the node has not
//! seen: `AccountId::verify_uncached`) on one thread, then on one thread per core, for a fixed
//! window each. Nodes keep recent signers' checked keys, so what they pay per transaction of a
//! known signer is less than this limit assumes.

use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::Global;
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tensorchain_primitives::{Call, Hash, Keypair, SignedTx, SigningDomain, Tx};

/// How long each measurement runs: long enough to average out scheduling, short enough for a
/// quick answer (two measurements).
const WINDOW: Duration = Duration::from_millis(1500);
/// Distinct signers and transactions cycled through, so no cache makes one check cheaper.
const SIGNERS: usize = 16;
const SAMPLE: usize = 256;

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

/// Verifications per second over `threads` threads, each verifying for `WINDOW`.
fn rate(threads: usize, txs: &[SignedTx], domain: &SigningDomain) -> CliResult<u64> {
    let per_thread: Vec<Option<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let started = Instant::now();
                    // Each thread starts at its own offset, not in lockstep with the others.
                    let mut i = t * SAMPLE / threads;
                    let mut done = 0u64;
                    while started.elapsed() < WINDOW {
                        for _ in 0..32 {
                            let stx = black_box(&txs[i % txs.len()]);
                            stx.tx
                                .signer
                                .verify_uncached(
                                    stx.tx.signing_hash(domain).as_bytes(),
                                    &stx.signature,
                                )
                                .ok()?;
                            i += 1;
                        }
                        done += 32;
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
    let per_core = rate(1, &txs, &domain)?;
    let all_cores = rate(cores, &txs, &domain)?;
    if g.json {
        print_json(&json!({"per_core": per_core, "all_cores": all_cores, "cores": cores}));
    } else {
        println!(
            "verify_strict (signed transfers): {per_core}/s on one core, {all_cores}/s on {cores} cores"
        );
    }
    Ok(())
}
