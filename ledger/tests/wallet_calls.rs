//! Issue 19's calls on a real ledger: `swap_hotkey` moves everything the old hotkey held and
//! leaves it nothing; `move_stake` / `transfer_stake` move stake in one call; `remove_all_stake`
//! leaves exactly zero. The supply invariant is checked after every block, and every rejection is
//! named and changes nothing.

mod common;

use common::{key, params, test_genesis, FEE};
use tensorchain_ledger::runtime::params::{Hyperparameters, SubnetParams};
use tensorchain_ledger::runtime::subnets::{self as subnet, root};
use tensorchain_ledger::runtime::wallet::swap::KEY_SWAP_COST;
use tensorchain_ledger::runtime::{staking, validators};
use tensorchain_ledger::{ChainParams, GenesisState};
use tensorchain_primitives::{AccountId, Call, Keypair, RAO_PER_TAO};

const FUNDS: u64 = 100_000 * RAO_PER_TAO;

fn id(n: &str) -> AccountId {
    key(n).account()
}

/// The test chain of `common` with its own genesis, and this file's helpers on it.
struct Chain(common::Chain);

fn open() -> Chain {
    let g = GenesisState {
        params: ChainParams {
            // No subnet epoch within a test: stake and balances change only by the calls made.
            subnets: SubnetParams {
                defaults: Hyperparameters {
                    tempo: 10_000,
                    ..Hyperparameters::devnet()
                },
                ..SubnetParams::devnet()
            },
            ..params()
        },
        stakes: vec![(id("validator"), id("vcold"), 100 * RAO_PER_TAO)],
        ..test_genesis(b"wallet calls genesis", &["alice", "bob", "vcold"], FUNDS)
    };
    Chain(common::open_genesis(g))
}

impl std::ops::Deref for Chain {
    type Target = common::Chain;
    fn deref(&self) -> &common::Chain {
        &self.0
    }
}

impl Chain {
    /// One block of `calls` by `signer` (consecutive nonces); returns the rejections' codes.
    fn block(&self, signer: &Keypair, calls: Vec<Call>) -> Vec<&'static str> {
        let rejected = self.0.block(self.txs(signer, calls));
        rejected.iter().map(|e| e.code()).collect()
    }

    fn ok(&self, signer: &Keypair, call: Call) {
        let rejected = self.block(signer, vec![call]);
        assert!(rejected.is_empty(), "{rejected:?}");
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
