//! Issue 19's calls on a real ledger: `swap_hotkey` moves everything the old hotkey held and
//! leaves it nothing; `move_stake` / `transfer_stake` move stake in one call; `remove_all_stake`
//! leaves exactly zero. The supply invariant is checked after every block, and every rejection is
//! named and changes nothing.

use std::sync::Arc;
use tensorchain_ledger::runtime::params::{Hyperparameters, SubnetParams};
use tensorchain_ledger::runtime::subnets::{self as subnet, root};
use tensorchain_ledger::runtime::wallet::swap::KEY_SWAP_COST;
use tensorchain_ledger::runtime::{staking, validators};
use tensorchain_ledger::{
    supply_accounted, ChainParams, Fees, GenesisState, Ledger, MemoryStore, TxError,
};
use tensorchain_primitives::{
    AccountId, Call, Commit, Hash, Keypair, SignedTx, Tx, Validator, RAO_PER_TAO,
};

const FEE: u64 = 1_000;
const FUNDS: u64 = 100_000 * RAO_PER_TAO;

fn key(n: &str) -> Keypair {
    Keypair::dev(n)
}

fn id(n: &str) -> AccountId {
    key(n).account()
}

struct Chain {
    store: Arc<MemoryStore>,
    ledger: Ledger,
}

fn open() -> Chain {
    let g = GenesisState {
        params: ChainParams {
            chain_id: "test".into(),
            block_time_ms: 1000,
            fees: Fees {
                transfer: FEE,
                staking: FEE,
                subnet: FEE,
            },
            sudo: None,
            // No subnet epoch within a test: stake and balances change only by the calls made.
            subnets: SubnetParams {
                defaults: Hyperparameters {
                    tempo: 10_000,
                    ..Hyperparameters::devnet()
                },
                ..SubnetParams::devnet()
            },
            validators: tensorchain_ledger::runtime::params::ValidatorParams::standard(32, 100),
            faucet: None,
        },
        genesis_hash: Hash::digest(b"wallet calls genesis"),
        time_ms: 1,
        balances: ["alice", "bob", "vcold"]
            .iter()
            .map(|n| (id(n), FUNDS))
            .collect(),
        stakes: vec![(id("validator"), id("vcold"), 100 * RAO_PER_TAO)],
        validators: vec![Validator {
            hotkey: id("validator"),
            power: 1,
        }],
    };
    let store = Arc::new(MemoryStore::new());
    let ledger = Ledger::open(store.clone(), &g).unwrap();
    Chain { store, ledger }
}

impl Chain {
    /// One block of `calls` by `signer` (consecutive nonces); returns the rejections' codes.
    fn block(&self, signer: &Keypair, calls: Vec<Call>) -> Vec<&'static str> {
        let first = self
            .ledger
            .account(&signer.account())
            .unwrap()
            .map_or(0, |a| a.nonce);
        let txs: Vec<SignedTx> = calls
            .into_iter()
            .enumerate()
            .map(|(i, call)| self.sign(signer, first + i as u64, call))
            .collect();
        let head = self.ledger.head();
        let v = key("validator");
        let built = self
            .ledger
            .build_block(
                txs,
                v.account(),
                head.time_ms + 1,
                self.ledger.commit(head.height).unwrap(),
            )
            .unwrap();
        let commit = Commit::signed_by(&built.executed.block, self.ledger.signing_domain(), &[&v]);
        self.ledger.commit_block(built.executed, &commit).unwrap();
        let (accounted, g) = supply_accounted(self.store.as_ref()).unwrap();
        assert_eq!(accounted, g.total_issuance as u128, "supply invariant");
        built
            .rejected
            .into_iter()
            .map(|(_, e): (_, TxError)| e.code())
            .collect()
    }

    fn ok(&self, signer: &Keypair, call: Call) {
        let rejected = self.block(signer, vec![call]);
        assert!(rejected.is_empty(), "{rejected:?}");
    }

    fn sign(&self, signer: &Keypair, nonce: u64, call: Call) -> SignedTx {
        Tx {
            chain_id: "test".into(),
            signer: signer.account(),
            nonce,
            fee: self.ledger.params().fees.for_call(&call),
            call,
        }
        .sign(signer, self.ledger.signing_domain())
    }

    /// The code a call is rejected with, from a block that is built but not committed. Building
    /// never writes to the store, so its root proves nothing: the block built with the call must
    /// instead hold no tx or events and commit the same state as the block built without it.
    fn err(&self, signer: &Keypair, call: Call) -> &'static str {
        let head = self.ledger.head();
        let nonce = self
            .ledger
            .account(&signer.account())
            .unwrap()
            .map_or(0, |a| a.nonce);
        let build = |txs: Vec<SignedTx>| {
            self.ledger
                .build_block(txs, id("validator"), head.time_ms + 1, None)
                .unwrap()
        };
        let with = build(vec![self.sign(signer, nonce, call)]);
        let Some((_, e)) = with.rejected.first() else {
            return "accepted";
        };
        let without = build(vec![]);
        let (a, b) = (&with.executed, &without.executed);
        assert!(a.block.txs.is_empty() && a.events.is_empty());
        assert_eq!(
            a.block.header.state_root, b.block.header.state_root,
            "the rejected call ({e}) changed state"
        );
        assert_eq!(a.end_events, b.end_events);
        e.code()
    }

    fn stake(&self, hotkey: &str, coldkey: &str) -> u64 {
        staking::stake_of(&self.ledger.view(), &id(hotkey), &id(coldkey)).unwrap()
    }

    fn account(&self, n: &str) -> (u64, u64) {
        let a = self.ledger.account(&id(n)).unwrap().unwrap_or_default();
        (a.free, a.staked)
    }
}

#[test]
fn remove_all_leaves_exactly_zero_whatever_was_added_since() {
    let c = open();
    let alice = key("alice");
    let (free0, _) = c.account("alice");
    // A client that looked before these adds would have seen no stake: "all" is counted when
    // the block runs.
    let rejected = c.block(
        &alice,
        vec![
            Call::AddStake {
                hotkey: id("ha"),
                amount: 5 * RAO_PER_TAO + 1,
            },
            Call::AddStake {
                hotkey: id("ha"),
                amount: 7 * RAO_PER_TAO + 2,
            },
            Call::RemoveAllStake { hotkey: id("ha") },
        ],
    );
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(c.stake("ha", "alice"), 0);
    assert_eq!(c.account("alice"), (free0 - 3 * FEE, 0));
    assert!(
        staking::nominators(&c.ledger.view(), &id("ha"))
            .unwrap()
            .is_empty(),
        "no zero-stake record is left"
    );
    assert_eq!(
        c.err(&alice, Call::RemoveAllStake { hotkey: id("ha") }),
        "no_stake"
    );
}

#[test]
fn stake_moves_between_hotkeys_and_coldkeys_in_one_call() {
    let c = open();
    let alice = key("alice");
    c.ok(
        &alice,
        Call::AddStake {
            hotkey: id("ha"),
            amount: 10 * RAO_PER_TAO,
        },
    );
    let (free, staked) = c.account("alice");
    c.ok(
        &alice,
        Call::MoveStake {
            from_hotkey: id("ha"),
            to_hotkey: id("hb"),
            amount: 4 * RAO_PER_TAO,
        },
    );
    assert_eq!(c.stake("ha", "alice"), 6 * RAO_PER_TAO);
    assert_eq!(c.stake("hb", "alice"), 4 * RAO_PER_TAO);
    assert_eq!(
        c.account("alice"),
        (free - FEE, staked),
        "nothing passed through free"
    );
    c.ok(
        &alice,
        Call::TransferStake {
            hotkey: id("ha"),
            dest: id("bob"),
            amount: 6 * RAO_PER_TAO,
        },
    );
    assert_eq!(c.stake("ha", "alice"), 0);
    assert_eq!(c.stake("ha", "bob"), 6 * RAO_PER_TAO);
    assert_eq!(c.account("alice").1, 4 * RAO_PER_TAO);
    assert_eq!(c.account("bob").1, 6 * RAO_PER_TAO);
    let info = staking::hotkey(&c.ledger.view(), &id("ha"))
        .unwrap()
        .unwrap();
    assert_eq!(info.owner, id("alice"), "the hotkey keeps its owner");
    assert_eq!(info.total_stake, 6 * RAO_PER_TAO);

    let mv = |from: &str, to: &str, amount: u64| Call::MoveStake {
        from_hotkey: id(from),
        to_hotkey: id(to),
        amount,
    };
    assert_eq!(c.err(&alice, mv("hb", "hb", RAO_PER_TAO)), "same_hotkey");
    assert_eq!(c.err(&alice, mv("hb", "ha", 0)), "zero_amount");
    assert_eq!(c.err(&alice, mv("hb", "ha", 1)), "stake_below_minimum");
    assert_eq!(
        c.err(&alice, mv("hb", "ha", 5 * RAO_PER_TAO)),
        "insufficient_stake"
    );
    let give = |dest: &str, amount: u64| Call::TransferStake {
        hotkey: id("hb"),
        dest: id(dest),
        amount,
    };
    assert_eq!(c.err(&alice, give("alice", RAO_PER_TAO)), "same_coldkey");
    assert_eq!(
        c.err(&alice, give("bob", 5 * RAO_PER_TAO)),
        "insufficient_stake"
    );
    assert_eq!(
        c.stake("hb", "alice"),
        4 * RAO_PER_TAO,
        "rejections changed nothing"
    );
}

#[test]
fn swap_hotkey_moves_everything_and_the_old_hotkey_holds_nothing() {
    let c = open();
    let alice = key("alice");
    let bob = key("bob");
    let (old, new) = (key("alice/old"), key("alice/new"));
    // The old hotkey: owns subnet 1 (uid 0), with alice's stake and bob's nomination, a take,
    // a root seat with weights and a validator candidacy.
    c.ok(
        &alice,
        Call::RegisterSubnet {
            hotkey: old.account(),
            max_cost: 100 * RAO_PER_TAO,
            identity: "swap".into(),
        },
    );
    c.ok(
        &alice,
        Call::AddStake {
            hotkey: old.account(),
            amount: 300 * RAO_PER_TAO,
        },
    );
    c.ok(
        &bob,
        Call::AddStake {
            hotkey: old.account(),
            amount: 200 * RAO_PER_TAO,
        },
    );
    c.ok(
        &alice,
        Call::SetTake {
            hotkey: old.account(),
            take: 1000,
        },
    );
    // Root seats need stake settled for a whole root tempo (10,000 blocks here).
    for _ in 0..=10_000 {
        c.block(&alice, vec![]);
    }
    c.ok(
        &alice,
        Call::RootRegister {
            hotkey: old.account(),
        },
    );
    c.ok(
        &old,
        Call::SetRootWeights {
            netuids: vec![1],
            values: vec![1],
        },
    );
    c.ok(
        &alice,
        Call::RegisterValidator {
            hotkey: old.account(),
        },
    );
    let swap = |o: &Keypair, n: &Keypair| Call::SwapHotkey {
        old: o.account(),
        new: n.account(),
    };
    assert_eq!(c.err(&bob, swap(&old, &new)), "not_hotkey_owner");
    assert_eq!(c.err(&alice, swap(&old, &old)), "same_hotkey");
    c.ok(
        &bob,
        Call::AddStake {
            hotkey: id("bob/used"),
            amount: RAO_PER_TAO,
        },
    );
    assert_eq!(
        c.err(&alice, swap(&old, &key("bob/used"))),
        "new_hotkey_in_use"
    );
    assert_eq!(
        c.err(&key("vcold"), swap(&key("validator"), &key("vcold/new"))),
        "hotkey_is_active_validator"
    );

    let recycled = c.ledger.globals().unwrap().total_recycled;
    let (alice_free, alice_staked) = c.account("alice");
    let (bob_free, bob_staked) = c.account("bob");
    c.ok(&alice, swap(&old, &new));

    let view = c.ledger.view();
    // The old hotkey holds nothing.
    assert!(staking::hotkey(&view, &old.account()).unwrap().is_none());
    assert!(staking::nominators(&view, &old.account())
        .unwrap()
        .is_empty());
    assert!(subnet::uid_of(&view, 1, &old.account()).unwrap().is_none());
    assert!(!root::members(&view).unwrap().contains(&old.account()));
    assert!(root::weights(&view, &old.account()).unwrap().is_empty());
    assert!(validators::candidate(&view, &old.account())
        .unwrap()
        .is_none());
    // The new one holds all of it.
    let info = staking::hotkey(&view, &new.account()).unwrap().unwrap();
    assert_eq!(
        (info.owner, info.total_stake, info.take),
        (alice.account(), 500 * RAO_PER_TAO, 1000)
    );
    assert_eq!(c.stake("alice/new", "alice"), 300 * RAO_PER_TAO);
    assert_eq!(c.stake("alice/new", "bob"), 200 * RAO_PER_TAO);
    assert_eq!(subnet::uid_of(&view, 1, &new.account()).unwrap(), Some(0));
    assert_eq!(
        subnet::neuron(&view, 1, 0).unwrap().unwrap().hotkey,
        new.account()
    );
    assert_eq!(
        subnet::subnet(&view, 1).unwrap().unwrap().owner_hotkey,
        new.account()
    );
    assert!(root::members(&view).unwrap().contains(&new.account()));
    assert_eq!(root::weights(&view, &new.account()).unwrap().len(), 1);
    assert!(validators::candidate(&view, &new.account())
        .unwrap()
        .is_some());
    // Only the fee and the burn left the coldkey; the nominator is untouched.
    assert_eq!(
        c.account("alice"),
        (alice_free - FEE - KEY_SWAP_COST, alice_staked)
    );
    assert_eq!(c.account("bob"), (bob_free, bob_staked));
    assert_eq!(
        c.ledger.globals().unwrap().total_recycled,
        recycled + KEY_SWAP_COST,
        "the burn is recycled"
    );
    // The new hotkey holds the root seat, with its rate limit (a swap does not reset it: the
    // answer would be hotkey_not_registered for a non-member); one swap per cool-down.
    assert_eq!(
        c.err(
            &new,
            Call::SetRootWeights {
                netuids: vec![1],
                values: vec![2],
            },
        ),
        "weights_rate_limited"
    );
    assert_eq!(
        c.err(&alice, swap(&new, &key("alice/third"))),
        "hotkey_swap_rate_limited"
    );
}
