//! The test chains of the ledger's tests: the parameters and genesis they share, blocks produced
//! and rejections checked on any of them, and the chain of the subnet and economics tests (an
//! in-memory ledger, dev keys, blocks with the supply invariant checked after each, subnet
//! helpers).
#![allow(dead_code)] // each test binary uses its own part

pub use std::sync::Arc;
pub use tensorchain_ledger::runtime::params::SubnetParams;
use tensorchain_ledger::runtime::staking;
pub use tensorchain_ledger::runtime::subnets as subnet;
pub use tensorchain_ledger::{
    supply_accounted, ChainParams, Event, Fees, GenesisState, Ledger, MemoryStore, TxError,
};
pub use tensorchain_primitives::{
    Call, Commit, Hash, Keypair, SignedTx, Tx, Validator, RAO_PER_TAO,
};

pub const FEE: u64 = 1_000;
pub const FUNDS: u64 = 100_000 * RAO_PER_TAO;

pub fn key(n: &str) -> Keypair {
    Keypair::dev(n)
}

pub fn hot(n: &str) -> Keypair {
    Keypair::dev(&format!("{n}/hot"))
}

pub struct Chain {
    pub store: Arc<MemoryStore>,
    pub ledger: Ledger,
}

pub fn open() -> Chain {
    open_with(SubnetParams::devnet())
}

pub fn open_with(subnets: SubnetParams) -> Chain {
    open_genesis(genesis(subnets))
}

/// The test chain's genesis, for a test that changes it (balances, validators) before opening.
pub fn genesis(subnets: SubnetParams) -> GenesisState {
    let funded = ["owner", "v1", "v2", "m1", "m2", "m3", "m4", "sudo", "e"];
    GenesisState {
        params: ChainParams {
            sudo: Some(key("sudo").account()),
            subnets,
            ..params()
        },
        ..test_genesis(b"subnets genesis", &funded, FUNDS)
    }
}

/// What every test chain of these tests shares: chain id "test", 1 s blocks, `FEE` for every
/// call, no sudo, the devnet's subnet rules, up to 32 validators elected every 100 blocks, no
/// faucet. A test changes fields with struct update syntax.
pub fn params() -> ChainParams {
    ChainParams {
        chain_id: "test".into(),
        block_time_ms: 1000,
        fees: Fees {
            transfer: FEE,
            staking: FEE,
            subnet: FEE,
        },
        sudo: None,
        subnets: SubnetParams::devnet(),
        validators: tensorchain_ledger::runtime::params::ValidatorParams::standard(32, 100),
        faucet: None,
    }
}

/// A genesis of `params()` whose hash is the digest of `name` (so each test file signs for a
/// network of its own): time 1, each of `funded` holding `funds`, nothing staked, and the
/// "validator" key alone in the set with power 1.
pub fn test_genesis(name: &[u8], funded: &[&str], funds: u64) -> GenesisState {
    GenesisState {
        params: params(),
        genesis_hash: Hash::digest(name),
        time_ms: 1,
        balances: funded.iter().map(|n| (key(n).account(), funds)).collect(),
        stakes: vec![],
        validators: vec![Validator {
            hotkey: key("validator").account(),
            power: 1,
        }],
    }
}

/// `g` with the "validator" key staked `stake` by `coldkey` and in the set with that power.
pub fn staked_validator(g: GenesisState, coldkey: &str, stake: u64) -> GenesisState {
    let v = key("validator").account();
    GenesisState {
        stakes: vec![(v, key(coldkey).account(), stake)],
        validators: vec![Validator {
            hotkey: v,
            power: stake,
        }],
        ..g
    }
}

/// `call` signed by `signer` at its next nonce, paying `fee`, for the chain of `ledger`.
pub fn signed(ledger: &Ledger, signer: &Keypair, fee: u64, call: Call) -> SignedTx {
    let nonce = ledger
        .account(&signer.account())
        .unwrap()
        .map_or(0, |a| a.nonce);
    Tx {
        chain_id: ledger.params().chain_id.clone(),
        signer: signer.account(),
        nonce,
        fee,
        call,
    }
    .sign(signer, ledger.signing_domain())
}

/// Builds a block of `txs` on the head (1 ms after it), proposed and finalized by "validator"
/// alone, and commits it: what block building left out, and the block's events.
pub fn produce(ledger: &Ledger, txs: Vec<SignedTx>) -> (Vec<TxError>, Vec<Event>) {
    let head = ledger.head();
    let v = key("validator");
    let built = ledger
        .build_block(
            txs,
            v.account(),
            head.time_ms + 1,
            ledger.commit(head.height).unwrap(),
        )
        .unwrap();
    let commit = Commit::signed_by(&built.executed.block, ledger.signing_domain(), &[&v]);
    let events = built.executed.events.concat();
    ledger.commit_block(built.executed, &commit).unwrap();
    (built.rejected.into_iter().map(|(_, e)| e).collect(), events)
}

/// The code `stx` is rejected with ("accepted" if it is not), after checking the rejection left
/// no trace. Building a block never writes to the store, so the store's root could not tell;
/// instead the block built with the tx must equal, in transactions, events and the state root
/// it would commit, the block built without it (fee, nonce and any partial write of the call
/// rolled back).
pub fn rejection(ledger: &Ledger, stx: SignedTx) -> String {
    let head = ledger.head();
    let build = |txs: Vec<SignedTx>| {
        ledger
            .build_block(
                txs,
                key("validator").account(),
                head.time_ms + 1,
                ledger.commit(head.height).unwrap(),
            )
            .unwrap()
    };
    let with = build(vec![stx]);
    let Some((_, e)) = with.rejected.first() else {
        return "accepted".into();
    };
    let without = build(vec![]);
    let (a, b) = (&with.executed, &without.executed);
    assert!(
        a.block.txs.is_empty() && a.events.is_empty(),
        "{e} left a tx"
    );
    assert_eq!(
        a.block.header.state_root, b.block.header.state_root,
        "the rejected call ({e}) changed state"
    );
    assert_eq!(a.end_events, b.end_events, "{e} changed the block's events");
    e.code().to_string()
}

pub fn open_genesis(g: GenesisState) -> Chain {
    let store = Arc::new(MemoryStore::new());
    let ledger = Ledger::open(store.clone(), &g).unwrap();
    Chain { store, ledger }
}

impl Chain {
    pub fn tx(&self, signer: &Keypair, call: Call) -> SignedTx {
        let fee = self.ledger.params().fees.for_call(&call);
        signed(&self.ledger, signer, fee, call)
    }

    /// Several calls of one signer, with consecutive nonces, for one block.
    pub fn txs(&self, signer: &Keypair, calls: Vec<Call>) -> Vec<SignedTx> {
        let first = self
            .ledger
            .account(&signer.account())
            .unwrap()
            .map_or(0, |a| a.nonce);
        calls
            .into_iter()
            .enumerate()
            .map(|(i, call)| {
                let fee = self.ledger.params().fees.for_call(&call);
                Tx {
                    chain_id: "test".into(),
                    signer: signer.account(),
                    nonce: first + i as u64,
                    fee,
                    call,
                }
                .sign(signer, self.ledger.signing_domain())
            })
            .collect()
    }

    /// One block; returns the rejections. Checks the supply invariant after it.
    pub fn block(&self, txs: Vec<SignedTx>) -> Vec<TxError> {
        let (rejected, _) = produce(&self.ledger, txs);
        let (accounted, g) = supply_accounted(self.store.as_ref()).unwrap();
        assert_eq!(
            accounted,
            g.total_issuance as u128,
            "supply invariant at height {}",
            self.ledger.head().height
        );
        rejected
    }

    pub fn ok(&self, signer: &Keypair, call: Call) {
        let rejected = self.block(vec![self.tx(signer, call)]);
        assert!(rejected.is_empty(), "{rejected:?}");
    }

    /// The code a call is rejected with ("accepted" if it is not): `rejection`.
    pub fn err(&self, signer: &Keypair, call: Call) -> String {
        rejection(&self.ledger, self.tx(signer, call))
    }

    pub fn free(&self, who: &Keypair) -> u64 {
        self.ledger
            .account(&who.account())
            .unwrap()
            .map_or(0, |a| a.free)
    }

    pub fn subnet(&self, netuid: u16) -> subnet::Subnet {
        subnet::subnet(&self.ledger.view(), netuid)
            .unwrap()
            .unwrap()
    }

    pub fn neuron(&self, uid: u16) -> subnet::Neuron {
        subnet::neuron(&self.ledger.view(), 1, uid)
            .unwrap()
            .unwrap()
    }

    /// Subnet 1 owned by "owner" with validators v1, v2 (staked 1000 and 500 TAO) and miners m1..m4.
    pub fn demo_subnet(&self) {
        let owner = key("owner");
        self.ok(
            &owner,
            Call::RegisterSubnet {
                hotkey: hot("owner").account(),
                max_cost: 10 * RAO_PER_TAO,
                identity: "demo".into(),
            },
        );
        for n in ["v1", "v2", "m1", "m2", "m3", "m4"] {
            self.ok(
                &key(n),
                Call::BurnedRegister {
                    netuid: 1,
                    hotkey: hot(n).account(),
                    max_cost: 100 * RAO_PER_TAO,
                },
            );
        }
        self.ok(
            &key("v1"),
            Call::AddStake {
                hotkey: hot("v1").account(),
                amount: 1000 * RAO_PER_TAO,
            },
        );
        self.ok(
            &key("v2"),
            Call::AddStake {
                hotkey: hot("v2").account(),
                amount: 500 * RAO_PER_TAO,
            },
        );
    }

    /// The owner of subnet 1 sets a hyperparameter, first waiting out its one-change-per-tempo
    /// limit and the freeze before an epoch.
    pub fn owner_sets(&self, name: &str, value: u64) {
        let s = self.subnet(1);
        let tempo = s.hyper.tempo as u64;
        loop {
            let next = self.ledger.head().height + 1;
            let limited = s.last_owner_change.is_some_and(|last| next < last + tempo);
            let frozen = subnet::emission::is_epoch_block(1, s.hyper.tempo, next)
                || (tempo >= 20
                    && (1..tempo / 10)
                        .any(|d| subnet::emission::is_epoch_block(1, s.hyper.tempo, next + d)));
            if !limited && !frozen {
                break;
            }
            self.block(vec![]);
        }
        self.ok(
            &key("owner"),
            Call::SetHyperparameter {
                netuid: 1,
                name: name.into(),
                value,
            },
        );
    }

    /// Sudo caps subnet 1 at `n` uids (validator permits first: they may not outnumber uids).
    pub fn sudo_max_uids(&self, n: u64) {
        for (name, value) in [
            ("max_allowed_validators", n.min(64)),
            ("max_allowed_uids", n),
        ] {
            self.ok(
                &key("sudo"),
                Call::SetHyperparameter {
                    netuid: 1,
                    name: name.into(),
                    value,
                },
            );
        }
    }

    /// Root membership counts stake in place for a whole root tempo.
    pub fn settle_for_root(&self) {
        for _ in 0..=self.ledger.params().subnets.defaults.tempo {
            self.block(vec![]);
        }
    }

    pub fn stake(&self, hotkey: &str, coldkey: &str) -> u64 {
        staking::stake_of(
            &self.ledger.view(),
            &hot(hotkey).account(),
            &key(coldkey).account(),
        )
        .unwrap()
    }

    /// Runs empty blocks until the next block is subnet 1's epoch block; returns its height.
    pub fn until_before_epoch(&self) -> u64 {
        loop {
            let next = self.ledger.head().height + 1;
            if subnet::emission::is_epoch_block(1, self.subnet(1).hyper.tempo, next) {
                return next;
            }
            self.block(vec![]);
        }
    }

    /// The demo subnet with emission flowing: two epochs (the first grants permits on settled
    /// stake) and v1's weights on m1 alone.
    pub fn paying_subnet(&self) {
        self.demo_subnet();
        self.run_until_epoch();
        self.run_until_epoch();
        assert!(
            self.subnet(1).emission_enabled,
            "v1 and v2 hold permits with stake"
        );
        self.ok(
            &hot("v1"),
            Call::SetWeights {
                netuid: 1,
                uids: vec![3],
                values: vec![1],
                version_key: 0,
            },
        );
    }

    pub fn enable_commit_reveal(&self) {
        self.ok(
            &key("sudo"),
            Call::SetHyperparameter {
                netuid: 1,
                name: "commit_reveal_enabled".into(),
                value: 1,
            },
        );
    }

    pub fn run_until_epoch(&self) -> u64 {
        loop {
            self.block(vec![]);
            let h = self.ledger.head().height;
            if subnet::emission::is_epoch_block(1, self.subnet(1).hyper.tempo, h) {
                return h;
            }
        }
    }
}
