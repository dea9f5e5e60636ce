//! `tensorchain subnet pow-register` and `tensorchain wallet faucet`: solve proof-of-work against
//! the head block on every core, with a progress line, refresh the block before the solution goes
//! stale, and submit. Registering a miner this way needs no TAO.

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::wallet::submit;
use crate::Global;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tensorchain_primitives::pow::{meets_difficulty, work, WorkKind, POW_MAX_AGE};
use tensorchain_primitives::{AccountId, Call, Hash, Keypair};

/// Stale solutions or lost races retried before giving up (each retry solves afresh).
const MAX_ATTEMPTS: u32 = 8;
/// How often the solver looks at the head and redraws its progress line.
const TICK: Duration = Duration::from_millis(250);

/// One puzzle: work for `(hotkey, coldkey)` against block `block_number`.
#[derive(Clone)]
pub struct Puzzle {
    pub kind: WorkKind,
    pub genesis: Hash,
    pub block_number: u64,
    pub block_hash: Hash,
    pub hotkey: AccountId,
    pub coldkey: AccountId,
    pub difficulty: u64,
}

/// What the solver ended with.
pub enum Outcome {
    Solved {
        nonce: u64,
        hashes: u64,
    },
    /// `keep_going` said stop (the block went stale) before a solution.
    Stopped {
        hashes: u64,
    },
}

/// Searches nonces on `threads` threads (thread t tries start + t, start + t + threads, …) until
/// one meets the difficulty or `keep_going(hashes so far)` turns false; it is asked every TICK.
pub fn solve(p: &Puzzle, threads: usize, mut keep_going: impl FnMut(u64) -> bool) -> Outcome {
    let threads = threads.max(1);
    let found = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let winner = Arc::new(AtomicU64::new(0));
    let hashes = Arc::new(AtomicU64::new(0));
    let mut seed = [0u8; 8];
    // A random start, so two solvers for the same keys do not race on the same nonces.
    let _ = getrandom::fill(&mut seed);
    let start = u64::from_le_bytes(seed);
    let handles: Vec<_> = (0..threads as u64)
        .map(|t| {
            let (p, found, stop, winner, hashes) = (
                p.clone(),
                found.clone(),
                stop.clone(),
                winner.clone(),
                hashes.clone(),
            );
            std::thread::spawn(move || {
                let mut nonce = start.wrapping_add(t);
                while !found.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    // Batches keep the shared counters off the hot path.
                    for _ in 0..1024 {
                        let h = work(
                            p.kind,
                            &p.genesis,
                            &p.block_hash,
                            &p.hotkey,
                            &p.coldkey,
                            nonce,
                        );
                        if meets_difficulty(&h, p.difficulty) {
                            winner.store(nonce, Ordering::SeqCst);
                            found.store(true, Ordering::SeqCst);
                            break;
                        }
                        nonce = nonce.wrapping_add(threads as u64);
                    }
                    hashes.fetch_add(1024, Ordering::Relaxed);
                }
            })
        })
        .collect();
    while !found.load(Ordering::SeqCst) {
        std::thread::sleep(TICK);
        if !found.load(Ordering::SeqCst) && !keep_going(hashes.load(Ordering::Relaxed)) {
            stop.store(true, Ordering::SeqCst);
            break;
        }
    }
    for h in handles {
        let _ = h.join();
    }
    let total = hashes.load(Ordering::Relaxed);
    if found.load(Ordering::SeqCst) {
        Outcome::Solved {
            nonce: winner.load(Ordering::SeqCst),
            hashes: total,
        }
    } else {
        Outcome::Stopped { hashes: total }
    }
}

pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn head(client: &Client) -> CliResult<(u64, Hash)> {
    let h: Value = client.get("/v1/blocks/head")?;
    let height = h["header"]["height"].as_u64();
    let hash = h["header"]["hash"]
        .as_str()
        .and_then(|s| s.parse::<Hash>().ok());
    match (height, hash) {
        (Some(height), Some(hash)) => Ok((height, hash)),
        _ => Err(CliError::new(
            "bad_response",
            "the node's head block has no height or hash",
            "is --network a tensorchain node of this version?",
        )),
    }
}

fn genesis_hash(chain: &Value) -> CliResult<Hash> {
    chain["genesis_hash"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            CliError::new(
                "bad_response",
                "the node reports no genesis hash",
                "is --network a tensorchain node of this version?",
            )
        })
}

/// Solves until a solution lands in a block: refreshes the block when the head gets within one
/// block of the solution going stale, and solves again if it went stale in flight.
fn solve_and_submit(
    g: &Global,
    signer: &Keypair,
    threads: usize,
    mut puzzle_at: impl FnMut(&Client, u64, Hash) -> CliResult<Puzzle>,
    call_for: impl Fn(&Puzzle, u64) -> Call,
    what: &str,
) -> CliResult<Value> {
    let client = Client::new(&g.network);
    let started = Instant::now();
    let mut total_hashes = 0u64;
    for attempt in 1..=MAX_ATTEMPTS {
        let (height, hash) = head(&client)?;
        let p = puzzle_at(&client, height, hash)?;
        let t0 = Instant::now();
        let outcome = solve(&p, threads, |hashes| {
            let rate = hashes as f64 / t0.elapsed().as_secs_f64().max(1e-3);
            if !g.json {
                eprint!(
                    "\r{what}: {:.0} H/s on {threads} threads, difficulty {}, expected {:.1} s, block {}   ",
                    rate,
                    p.difficulty,
                    p.difficulty as f64 / rate.max(1.0),
                    p.block_number
                );
                let _ = std::io::stderr().flush();
            }
            // Submitted at head h, a solution lands at h + 1; it must be ≤ block + POW_MAX_AGE.
            head(&client).map_or(true, |(h, _)| h < p.block_number + POW_MAX_AGE - 1)
        });
        let (nonce, hashes) = match outcome {
            Outcome::Solved { nonce, hashes } => (nonce, hashes),
            Outcome::Stopped { hashes } => {
                total_hashes += hashes;
                continue;
            }
        };
        total_hashes += hashes;
        if !g.json {
            eprintln!();
        }
        match submit(g, signer, call_for(&p, nonce), what, false, false) {
            Ok(mut result) => {
                result["block_number"] = json!(p.block_number);
                result["nonce"] = json!(nonce);
                result["difficulty"] = json!(p.difficulty);
                result["hashes"] = json!(total_hashes);
                result["attempts"] = json!(attempt);
                result["seconds"] = json!(started.elapsed().as_secs_f64());
                return Ok(result);
            }
            Err(e)
                if matches!(
                    e.code.as_str(),
                    "pow_block_stale" | "too_many_registrations_this_block" | "pow_work_too_easy"
                ) =>
            {
                // Too slow, a full block, or the difficulty rose meanwhile: solve again.
                if !g.json {
                    eprintln!("{what}: {} — solving again", e.code);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(CliError::new(
        "pow_gave_up",
        format!("no solution landed in {MAX_ATTEMPTS} attempts"),
        "blocks may be faster than this machine solves: retry with more --threads",
    ))
}

/// `subnet pow-register --netuid N`: the hotkey signs; the coldkey becomes its owner.
pub fn pow_register(
    g: &Global,
    netuid: u16,
    threads: usize,
    hotkey: &Keypair,
    coldkey: AccountId,
) -> CliResult<()> {
    let client = Client::new(&g.network);
    let chain: Value = client.get("/v1/chain")?;
    let genesis = genesis_hash(&chain)?;
    let hk = hotkey.account();
    let result = solve_and_submit(
        g,
        hotkey,
        threads,
        |client, height, hash| {
            let s: Value = client.get(&format!("/v1/subnets/{netuid}"))?;
            let difficulty = s["pow_difficulty"].as_u64().ok_or_else(|| {
                CliError::new(
                    "wrong_registration_mode",
                    format!("subnet {netuid} does not register by proof of work"),
                    "use `tensorchain subnet register` (burn) on this subnet",
                )
            })?;
            Ok(Puzzle {
                kind: WorkKind::Register,
                genesis,
                block_number: height,
                block_hash: hash,
                hotkey: hk,
                coldkey,
                difficulty,
            })
        },
        |p, nonce| Call::PowRegister {
            netuid,
            hotkey: p.hotkey,
            coldkey: p.coldkey,
            block_number: p.block_number,
            nonce,
        },
        &format!("pow-register {hk} on subnet {netuid}"),
    )?;
    if g.json {
        print_json(&result);
    } else {
        println!(
            "registered {hk} on subnet {netuid} in block {} ({} hashes, {:.1} s)",
            result["height"],
            result["hashes"],
            result["seconds"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
}

/// `wallet faucet`: work for the devnet faucet's amount, paid to the signing coldkey.
pub fn faucet(g: &Global, threads: usize, coldkey: &Keypair) -> CliResult<()> {
    let client = Client::new(&g.network);
    let chain: Value = client.get("/v1/chain")?;
    let genesis = genesis_hash(&chain)?;
    let Some(difficulty) = chain["faucet"]["difficulty"].as_u64() else {
        return Err(CliError::new(
            "faucet_disabled",
            "this chain has no faucet (devnets only)",
            "earn TAO by registering a miner with `tensorchain subnet pow-register`",
        ));
    };
    let me = coldkey.account();
    let result = solve_and_submit(
        g,
        coldkey,
        threads,
        |_, height, hash| {
            Ok(Puzzle {
                kind: WorkKind::Faucet,
                genesis,
                block_number: height,
                block_hash: hash,
                hotkey: me,
                coldkey: me,
                difficulty,
            })
        },
        |p, nonce| Call::Faucet {
            block_number: p.block_number,
            nonce,
        },
        &format!("faucet to {me}"),
    )?;
    if g.json {
        print_json(&result);
    } else {
        println!(
            "faucet paid {} TAO to {me} in block {}",
            tensorchain_primitives::format_tao(
                chain["faucet"]["amount"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            ),
            result["height"]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solver_finds_work_that_meets_the_difficulty_on_several_threads() {
        let p = Puzzle {
            kind: WorkKind::Register,
            genesis: Hash::digest(b"g"),
            block_number: 5,
            block_hash: Hash::digest(b"b"),
            hotkey: AccountId([1; 32]),
            coldkey: AccountId([2; 32]),
            difficulty: 5_000,
        };
        let Outcome::Solved { nonce, .. } = solve(&p, 3, |_| true) else {
            panic!("no solution");
        };
        let h = work(
            p.kind,
            &p.genesis,
            &p.block_hash,
            &p.hotkey,
            &p.coldkey,
            nonce,
        );
        assert!(meets_difficulty(&h, p.difficulty));
        let hard = Puzzle {
            difficulty: u64::MAX,
            ..p
        };
        assert!(matches!(
            solve(&hard, 2, |_| false),
            Outcome::Stopped { .. }
        ));
    }
}
