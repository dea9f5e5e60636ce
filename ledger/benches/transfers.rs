//! Blocks of signed transfers on RocksDB, phase by phase: what one node spends on a full block.
//! 2,000 funded senders pay 1 rao each to recipients drawn from 100,000 accounts (so state reads
//! and writes spread as real traffic spreads them), in blocks of `BENCH_BLOCK_TXS` (default
//! 10,000) transfers. For each block it times:
//! - `verify`: the signatures, cold (nothing cached), on every core;
//! - `build`: a proposer's block from those transfers once verified (execution and the state
//!   root);
//! - `validate`: the same block received and re-executed (signatures cached, as after intake);
//! - `commit`: storing the block and its state durably.
//!
//! The store and ledger are set up as a node sets them up: RocksDB behind the read cache, with
//! the default state history (so the stale indexes pruning needs are written too).
//!
//! `cargo bench -p tensorchain-ledger --features rocksdb --bench transfers` (release); it prints
//! each phase's median and the transfers per second it stands for.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tensorchain_ledger::runtime::params::{SubnetParams, ValidatorParams};
use tensorchain_ledger::storage::cached::CachedStore;
use tensorchain_ledger::storage::rocks::RocksStore;
use tensorchain_ledger::{ChainParams, Fees, GenesisState, Ledger};
use tensorchain_primitives::{
    AccountId, Call, Commit, Hash, Keypair, SignedTx, Tx, Validator, RAO_PER_TAO,
};

const SENDERS: usize = 2_000;
const RECIPIENTS: u64 = 100_000;
const BLOCKS: usize = 8;
const FEE: u64 = 1_000;
/// A node's default `--state-history`.
const STATE_HISTORY: u64 = 10_000;

fn recipient(k: u64) -> AccountId {
    let pick = u64::from_le_bytes(Hash::digest(&k.to_le_bytes()).0[..8].try_into().unwrap());
    AccountId(Hash::digest(&(pick % RECIPIENTS).to_le_bytes()).0)
}

fn main() {
    let per_block: usize = std::env::var("BENCH_BLOCK_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let validator = Keypair::dev("bench/validator");
    let senders: Vec<Keypair> = (0..SENDERS)
        .map(|i| Keypair::dev(&format!("bench/sender/{i}")))
        .collect();
    let g = GenesisState {
        params: ChainParams {
            chain_id: "bench".into(),
            block_time_ms: 1000,
            fees: Fees {
                transfer: FEE,
                staking: FEE,
                subnet: 0,
            },
            sudo: None,
            subnets: SubnetParams::devnet(),
            validators: ValidatorParams::standard(32, 100),
            faucet: None,
        },
        genesis_hash: Hash::digest(b"bench"),
        time_ms: 1,
        balances: senders
            .iter()
            .map(|k| (k.account(), 1_000 * RAO_PER_TAO))
            .collect(),
        stakes: vec![],
        validators: vec![Validator {
            hotkey: validator.account(),
            power: 1,
        }],
    };
    let store = Arc::new(CachedStore::new(RocksStore::open(dir.path()).unwrap()));
    let ledger = Ledger::open(store, &g)
        .unwrap()
        .with_state_history(Some(STATE_HISTORY));
    let domain = ledger.signing_domain().clone();
    let mut phases: [Vec<Duration>; 4] = Default::default();
    let mut k = 0u64;
    for b in 0..BLOCKS {
        let txs: Vec<SignedTx> = (0..per_block)
            .map(|_| {
                let signer = &senders[k as usize % SENDERS];
                let tx = Tx {
                    chain_id: "bench".into(),
                    signer: signer.account(),
                    nonce: k / SENDERS as u64,
                    fee: FEE,
                    call: Call::Transfer {
                        to: recipient(k),
                        amount: 1,
                    },
                }
                .sign(signer, &domain);
                k += 1;
                tx
            })
            .collect();
        let t = Instant::now();
        let verified = ledger.verify_txs(txs.clone());
        phases[0].push(t.elapsed());
        for v in verified {
            ledger.verified().remember(&v.unwrap());
        }
        let head = ledger.head();
        let last = ledger.commit(head.height).unwrap();
        let t = Instant::now();
        let built = ledger
            .build_block(txs, validator.account(), head.time_ms + 1_000, last)
            .unwrap();
        phases[1].push(t.elapsed());
        assert!(built.rejected.is_empty(), "{:?}", built.rejected.first());
        let block = built.executed.block.clone();
        let t = Instant::now();
        let executed = ledger.execute_block(&block).unwrap();
        phases[2].push(t.elapsed());
        let commit = Commit::signed_by(&block, &domain, &[&validator]);
        let t = Instant::now();
        ledger
            .commit_block_durably(executed, &commit, true)
            .unwrap();
        phases[3].push(t.elapsed());
        eprintln!(
            "block {}: {per_block} transfers; verify {:?}, build {:?}, validate {:?}, commit {:?}",
            b + 1,
            phases[0][b],
            phases[1][b],
            phases[2][b],
            phases[3][b]
        );
    }
    println!("{per_block} transfers a block, {BLOCKS} blocks, median per phase:");
    for (name, times) in ["verify", "build", "validate", "commit"]
        .iter()
        .zip(&mut phases)
    {
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "  {name:<9} {:>8.1} ms  {:>9.0} transfers/s",
            median.as_secs_f64() * 1e3,
            per_block as f64 / median.as_secs_f64()
        );
    }
}
