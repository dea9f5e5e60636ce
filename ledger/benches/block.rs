//! Executing one block on a chain with 128 subnets of 256 uids (64 staked validators each,
//! weighting ~10% of uids): emission into every subnet plus the Yuma epochs due at that block.
//! Prints the per-block time over a whole tempo and the state size as well.

use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Arc;
use std::time::Instant;
use tensorchain_ledger::runtime::params::SubnetParams;
use tensorchain_ledger::{ChainParams, Column, Fees, GenesisState, Ledger, MemoryStore, Store};
use tensorchain_primitives::det_rng::SplitMix;
use tensorchain_primitives::{
    Call, Commit, CommitSig, Hash, Keypair, SignedTx, Tx, Validator, RAO_PER_TAO,
};

const SUBNETS: u16 = 128;
const UIDS: u16 = 256;
const VALIDATORS: u16 = 64;

struct Bench {
    store: Arc<MemoryStore>,
    ledger: Ledger,
    validator: Keypair,
    nonces: std::collections::HashMap<[u8; 32], u64>,
}

impl Bench {
    fn tx(&mut self, signer: &Keypair, call: Call) -> SignedTx {
        let nonce = self.nonces.entry(signer.account().0).or_insert(0);
        let fee = self.ledger.params().fees.for_call(&call);
        let tx = Tx {
            chain_id: "bench".into(),
            signer: signer.account(),
            nonce: *nonce,
            fee,
            call,
        }
        .sign(signer, self.ledger.signing_domain());
        *nonce += 1;
        tx
    }

    fn commit(&self, txs: Vec<SignedTx>) {
        let head = self.ledger.head();
        let built = self
            .ledger
            .build_block(
                txs,
                self.validator.account(),
                head.time_ms + 1,
                self.ledger.commit(head.height).unwrap(),
            )
            .unwrap();
        assert!(built.rejected.is_empty(), "{:?}", built.rejected.first());
        let b = &built.executed.block;
        let mut c = Commit {
            height: b.header.height,
            round: 0,
            block_hash: b.hash(),
            signatures: vec![],
        };
        c.signatures.push(CommitSig {
            validator: self.validator.account(),
            signature: c
                .precommit(self.ledger.signing_domain())
                .sign(&self.validator, self.ledger.signing_domain()),
        });
        self.ledger.commit_block(built.executed, &c).unwrap();
    }
}

fn setup() -> Bench {
    let owner = Keypair::dev("bench/owner");
    let validator = Keypair::dev("bench/validator");
    let mut subnets = SubnetParams::devnet();
    subnets.lock_decay_blocks = 0;
    subnets.defaults.min_burn = 1000;
    subnets.defaults.max_burn = 1000;
    subnets.defaults.weights_rate_limit = 0;
    let g = GenesisState {
        params: ChainParams {
            chain_id: "bench".into(),
            block_time_ms: 1000,
            fees: Fees {
                transfer: 0,
                staking: 0,
                subnet: 0,
            },
            sudo: None,
            subnets,
            validators: tensorchain_ledger::runtime::params::ValidatorParams::standard(32, 100),
            faucet: None,
        },
        genesis_hash: Hash::digest(b"bench"),
        time_ms: 1,
        balances: vec![(owner.account(), 10_000_000 * RAO_PER_TAO)],
        stakes: vec![],
        validators: vec![Validator {
            hotkey: validator.account(),
            power: 1,
        }],
    };
    let store = Arc::new(MemoryStore::new());
    let ledger = Ledger::open(store.clone(), &g).unwrap();
    let mut b = Bench {
        store,
        ledger,
        validator,
        nonces: Default::default(),
    };
    let hot = |netuid: u16, uid: u16| Keypair::dev(&format!("bench/{netuid}/{uid}"));
    let started = Instant::now();
    let txs = (1..=SUBNETS)
        .map(|n| {
            b.tx(
                &owner,
                Call::RegisterSubnet {
                    hotkey: hot(n, 0).account(),
                    max_cost: 100 * RAO_PER_TAO,
                    identity: String::new(),
                },
            )
        })
        .collect();
    b.commit(txs);
    let mut txs = Vec::new();
    for n in 1..=SUBNETS {
        for uid in 1..UIDS {
            txs.push(b.tx(
                &owner,
                Call::BurnedRegister {
                    netuid: n,
                    hotkey: hot(n, uid).account(),
                    max_cost: RAO_PER_TAO,
                },
            ));
            if uid <= VALIDATORS {
                txs.push(b.tx(
                    &owner,
                    Call::AddStake {
                        hotkey: hot(n, uid).account(),
                        amount: (1000 + uid as u64) * RAO_PER_TAO,
                    },
                ));
            }
        }
    }
    for chunk in txs.chunks(8000) {
        b.commit(chunk.to_vec());
    }
    // Two tempos of empty blocks: every subnet runs an epoch that counts the new stake (stake
    // timing counts only stake in place at the previous epoch) and hands out permits.
    for _ in 0..24 {
        b.commit(vec![]);
    }
    let mut rng = SplitMix(7);
    let mut txs = Vec::new();
    for n in 1..=SUBNETS {
        for v in 1..=VALIDATORS {
            let mut uids: Vec<u16> = (0..UIDS / 10)
                .map(|_| rng.below(UIDS as u64) as u16)
                .collect();
            uids.sort_unstable();
            uids.dedup();
            let values = uids.iter().map(|_| 1 + rng.below(65535) as u16).collect();
            txs.push(b.tx(
                &hot(n, v),
                Call::SetWeights {
                    netuid: n,
                    uids,
                    values,
                    version_key: 0,
                },
            ));
        }
    }
    for chunk in txs.chunks(8000) {
        b.commit(chunk.to_vec());
    }
    // A second tempo, so bonds exist too.
    for _ in 0..12 {
        b.commit(vec![]);
    }
    eprintln!(
        "setup: {SUBNETS} subnets × {UIDS} uids in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    b
}

fn blocks(c: &mut Criterion) {
    let b = setup();
    let state: Vec<(Vec<u8>, Vec<u8>)> = b.store.scan_prefix(Column::State, &[]).unwrap();
    let bytes: usize = state.iter().map(|(k, v)| k.len() + v.len()).sum();
    let size = |col| -> usize {
        b.store
            .scan_prefix(col, &[])
            .unwrap()
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum()
    };
    eprintln!(
        "state: {} entries, {:.1} MiB; state tree {:.1} MiB; history {:.1} MiB",
        state.len(),
        bytes as f64 / 1048576.0,
        size(Column::TreeNodes) as f64 / 1048576.0,
        size(Column::History) as f64 / 1048576.0
    );
    let mut times = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        b.commit(vec![]);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, x| a.partial_cmp(x).unwrap());
    eprintln!(
        "one tempo of blocks (11), each emitting to 128 subnets with ~12 epochs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        times[0], times[5], times[10]
    );
    c.bench_function("next_block_128_subnets_256_uids", |bench| {
        bench.iter(|| {
            let head = b.ledger.head();
            b.ledger
                .build_block(vec![], b.validator.account(), head.time_ms + 1, None)
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = blocks
}
criterion_main!(benches);
