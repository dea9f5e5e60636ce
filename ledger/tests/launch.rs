//! A fair launch on the ledger (issue 18): genesis subnets mint from block 1 with nobody staked,
//! PoW registration with its named refusals, the zero-stake rule, the recycled owner cut of an
//! ownerless subnet, difficulty adjustment on chain, the bootstrap handover and the faucet.

mod common;

use common::*;
use tensorchain_ledger::runtime::params::FaucetParams;
use tensorchain_ledger::runtime::params::GenesisSubnet;
use tensorchain_ledger::runtime::params::{PowParams, RegistrationMode, ValidatorParams};
use tensorchain_ledger::runtime::validators;
use tensorchain_primitives::pow::{meets_difficulty, work, WorkKind};
use tensorchain_primitives::AccountId;

const GENESIS: &[u8] = b"launch genesis";

fn pow_params() -> PowParams {
    PowParams {
        difficulty: 16,
        min_difficulty: 4,
        max_difficulty: 1 << 20,
        adjustment_interval: 10,
        target_registrations_per_interval: 2,
        max_registrations_per_block: 2,
    }
}

/// A chain with no allocations and no stake; subnet 1 declared in genesis, registering by PoW.
fn launch(validators: ValidatorParams, balances: &[&str], faucet: Option<FaucetParams>) -> Chain {
    let mut subnets = SubnetParams::devnet();
    subnets.genesis_subnets = vec![GenesisSubnet {
        netuid: 1,
        name: "genesis".into(),
        registration: RegistrationMode::Pow,
        pow: Some(pow_params()),
        hyperparameters: None,
    }];
    open_genesis(GenesisState {
        params: ChainParams {
            subnets,
            validators,
            faucet,
            ..params()
        },
        ..test_genesis(GENESIS, balances, FUNDS)
    })
}

fn fair() -> Chain {
    launch(ValidatorParams::standard(32, 100), &[], None)
}

/// A nonce whose work for (hotkey, coldkey) at `block` meets (or, with `pass` false, misses)
/// `difficulty`.
fn nonce_for(
    c: &Chain,
    kind: WorkKind,
    keys: (AccountId, AccountId),
    block: u64,
    difficulty: u64,
    pass: bool,
) -> u64 {
    let bh = c.ledger.header(block).unwrap().unwrap().hash();
    let genesis = c.ledger.genesis_hash();
    (0..)
        .find(|&n| {
            meets_difficulty(&work(kind, &genesis, &bh, &keys.0, &keys.1, n), difficulty) == pass
        })
        .unwrap()
}

fn pow_call(c: &Chain, name: &str, block: u64) -> Call {
    let (hk, ck) = (hot(name).account(), key(name).account());
    let difficulty = c.subnet(1).pow.unwrap().difficulty;
    Call::PowRegister {
        netuid: 1,
        hotkey: hk,
        coldkey: ck,
        block_number: block,
        nonce: nonce_for(c, WorkKind::Register, (hk, ck), block, difficulty, true),
    }
}

fn register(c: &Chain, name: &str) {
    let head = c.ledger.head().height;
    c.ok(&hot(name), pow_call(c, name, head));
}

fn stake_of(c: &Chain, hotkey: &Keypair) -> u64 {
    c.ledger
        .hotkey(&hotkey.account())
        .unwrap()
        .map_or(0, |h| h.total_stake)
}

#[test]
fn a_genesis_subnet_mints_from_block_one_with_nobody_staked() {
    let c = fair();
    let g0 = c.ledger.globals().unwrap();
    assert_eq!(g0.total_issuance, 0, "no pre-mine");
    let s = c.subnet(1);
    assert!(s.genesis && s.emission_enabled);
    assert_eq!(s.owner_coldkey, AccountId::default());
    c.block(vec![]);
    let g1 = c.ledger.globals().unwrap();
    assert_eq!(
        g1.total_issuance,
        tensorchain_ledger::reward::block_reward(0)
    );
    assert_eq!(c.subnet(1).pending, g1.total_issuance);
}

#[test]
fn pow_register_refuses_stale_future_easy_foreign_and_replayed_work_by_name() {
    // m1's coldkey is funded only so that a burned registration reaches the mode check.
    let c = launch(ValidatorParams::standard(32, 100), &["m1"], None);
    for _ in 0..5 {
        c.block(vec![]);
    }
    let head = c.ledger.head().height; // 5; the next block is 6 and accepts blocks 3..=5
    let m1 = hot("m1");
    let (hk, ck) = (m1.account(), key("m1").account());
    let call = |block: u64, nonce: u64| Call::PowRegister {
        netuid: 1,
        hotkey: hk,
        coldkey: ck,
        block_number: block,
        nonce,
    };
    let d = c.subnet(1).pow.unwrap().difficulty;
    let stale = nonce_for(&c, WorkKind::Register, (hk, ck), head - 3, d, true);
    assert_eq!(c.err(&m1, call(head - 3, stale)), "pow_block_stale");
    assert_eq!(c.err(&m1, call(head + 1, 0)), "pow_block_in_future");
    let easy = nonce_for(&c, WorkKind::Register, (hk, ck), head, d, false);
    assert_eq!(c.err(&m1, call(head, easy)), "pow_work_too_easy");
    let good = nonce_for(&c, WorkKind::Register, (hk, ck), head - 2, d, true);
    // Work for m1 signed by someone else is refused (it cannot be stolen from the mempool).
    assert_eq!(
        c.err(&hot("m2"), call(head - 2, good)),
        "pow_signer_not_hotkey"
    );
    // Burned registration is not this subnet's mode.
    let burn = Call::BurnedRegister {
        netuid: 1,
        hotkey: hk,
        max_cost: u64::MAX,
    };
    assert_eq!(c.err(&key("m1"), burn), "wrong_registration_mode");
    c.ok(&m1, call(head - 2, good));
    let n = c.neuron(0);
    assert_eq!((n.hotkey, n.coldkey), (hk, ck));
    assert_eq!(
        c.ledger.hotkey(&hk).unwrap().unwrap().owner,
        ck,
        "the coldkey owns the hotkey"
    );
    // The same solution again: the hotkey is registered.
    assert_eq!(
        c.err(&m1, call(head - 2, good)),
        "hotkey_already_registered"
    );
    assert_eq!(c.free(&key("m1")), FUNDS, "registration was free");
    assert_eq!(c.free(&m1), 0);
}

#[test]
fn at_most_max_registrations_per_block() {
    let c = fair();
    c.block(vec![]);
    let head = c.ledger.head().height;
    let txs: Vec<SignedTx> = ["a", "b", "c"]
        .iter()
        .map(|n| c.tx(&hot(n), pow_call(&c, n, head)))
        .collect();
    let rejected = c.block(txs);
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].code(), "too_many_registrations_this_block");
    assert_eq!(c.subnet(1).n, 2);
    register(&c, "c"); // the next block has room again
    assert_eq!(c.subnet(1).n, 3);
}

#[test]
fn difficulty_follows_registrations_on_chain_within_its_clamp() {
    let c = fair();
    // Interval [0, 10): six registrations against a target of two: 16 · (6+2)/4 = 32.
    for n in ["a", "b", "c", "d", "e", "f"] {
        register(&c, n);
    }
    while c.ledger.head().height < 10 {
        c.block(vec![]);
    }
    assert_eq!(c.subnet(1).pow.unwrap().difficulty, 32);
    // Empty intervals halve it down to the floor (4), never below.
    while c.ledger.head().height < 60 {
        c.block(vec![]);
    }
    assert_eq!(c.subnet(1).pow.unwrap().difficulty, 4);
}

#[test]
fn zero_stake_rule_pays_weight_setters_equally_miners_by_incentive_and_recycles_the_owner_cut() {
    let c = fair();
    for n in ["v1", "v2", "m1", "m2"] {
        register(&c, n);
    }
    // Nobody has a permit (nobody has stake); on a genesis subnet weights are accepted anyway.
    for v in ["v1", "v2"] {
        c.ok(
            &hot(v),
            Call::SetWeights {
                netuid: 1,
                uids: vec![2, 3],
                values: vec![3, 1],
                version_key: 0,
            },
        );
    }
    let epoch = c.run_until_epoch();
    let summary = c.ledger.epoch_at(1, epoch).unwrap().unwrap();
    assert_eq!(summary.owner_cut, 0, "no owner is paid");
    let cut = (summary.pending as u128 * 180_000 / 1_000_000) as u64;
    assert!(summary.recycled >= cut, "the owner cut is recycled");
    assert!(
        summary.to_miners > 0 && summary.to_validators > 0,
        "{summary:?}"
    );
    let (v1, v2) = (stake_of(&c, &hot("v1")), stake_of(&c, &hot("v2")));
    assert!(v1 > 0 && v1 == v2, "validators weighted equally: {v1} {v2}");
    let (m1, m2) = (stake_of(&c, &hot("m1")), stake_of(&c, &hot("m2")));
    assert!(m1 > m2 && m2 > 0, "miners by incentive: {m1} {m2}");
    // Paid as stake owned by each hotkey's coldkey: every rao came from emission.
    let g = c.ledger.globals().unwrap();
    assert_eq!(g.total_stake, v1 + v2 + m1 + m2);
    assert_eq!(
        g.total_issuance,
        g.total_stake + g.pending_emission + g.total_free
    );
    assert!(c.subnet(1).emission_enabled);
    // An earner holds only stake: it can still unstake, paying the fee from what it frees.
    assert_eq!(c.free(&key("m1")), 0);
    c.ok(
        &key("m1"),
        Call::RemoveStake {
            hotkey: hot("m1").account(),
            amount: m1 / 2,
        },
    );
    assert_eq!(c.free(&key("m1")), m1 / 2 - FEE);
    let too_small = Call::RemoveStake {
        hotkey: hot("m2").account(),
        amount: FEE / 2,
    };
    assert_eq!(c.err(&key("m2"), too_small), "insufficient_balance");
    // From now on stake exists and Yuma's stake rule decides: the next epoch still pays.
    c.block(vec![]);
    let next = c.run_until_epoch();
    let s2 = c.ledger.epoch_at(1, next).unwrap().unwrap();
    assert!(s2.to_miners + s2.to_validators > 0, "{s2:?}");
    assert_eq!(s2.owner_cut, 0);
}

#[test]
fn bootstrap_validators_hand_over_only_when_the_elected_set_meets_the_rule() {
    let params = ValidatorParams {
        handover_stake: 1_000 * RAO_PER_TAO,
        handover_validators: 1,
        ..ValidatorParams::standard(32, 5)
    };
    let c = launch(params, &["s"], None);
    let bootstrap = c.ledger.validators().unwrap();
    let proposer_free = |c: &Chain| c.free(&key("validator"));
    let recycled = c.ledger.globals().unwrap().total_recycled;
    c.ok(
        &key("s"),
        Call::AddStake {
            hotkey: hot("s").account(),
            amount: 500 * RAO_PER_TAO,
        },
    );
    // The bootstrap proposer is the launcher's key: its fees are recycled, never paid to it.
    assert_eq!(proposer_free(&c), 0);
    assert_eq!(c.ledger.globals().unwrap().total_recycled, recycled + FEE);
    c.ok(
        &key("s"),
        Call::RegisterValidator {
            hotkey: hot("s").account(),
        },
    );
    while c.ledger.head().height < 6 {
        c.block(vec![]);
    }
    // 500 TAO elected: below the rule, the bootstrap set stays.
    assert_eq!(c.ledger.validators_at(8).unwrap().unwrap(), bootstrap);
    assert_eq!(validators::handed_over_at(&c.ledger.view()).unwrap(), None);
    c.ok(
        &key("s"),
        Call::AddStake {
            hotkey: hot("s").account(),
            amount: 600 * RAO_PER_TAO,
        },
    );
    while c.ledger.head().height < 10 {
        c.block(vec![]);
    }
    let set = c.ledger.validators_at(12).unwrap().unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].hotkey, hot("s").account(), "the bootstrap key left");
    assert_eq!(
        validators::handed_over_at(&c.ledger.view()).unwrap(),
        Some(10)
    );
    // The bootstrap keys still propose until the elected set signs (two heights later): fees
    // stay recycled until then, and are paid to proposers from there on.
    c.ok(
        &key("s"),
        Call::SetTake {
            hotkey: hot("s").account(),
            take: 0,
        },
    );
    assert_eq!(proposer_free(&c), 0, "block 11 is still a bootstrap key's");
    c.ok(
        &key("s"),
        Call::SetTake {
            hotkey: hot("s").account(),
            take: 0,
        },
    );
    assert_eq!(proposer_free(&c), FEE);
}

#[test]
fn the_faucet_mints_for_work_on_chains_that_have_one() {
    let faucet = FaucetParams {
        amount: 7 * RAO_PER_TAO,
        difficulty: 8,
    };
    let c = launch(ValidatorParams::standard(32, 100), &[], Some(faucet));
    c.block(vec![]);
    let head = c.ledger.head().height;
    let me = key("newcomer");
    let nonce = nonce_for(
        &c,
        WorkKind::Faucet,
        (me.account(), me.account()),
        head,
        8,
        true,
    );
    let before = c.ledger.globals().unwrap().total_issuance;
    c.ok(
        &me,
        Call::Faucet {
            block_number: head,
            nonce,
        },
    );
    assert_eq!(c.free(&me), 7 * RAO_PER_TAO);
    let after = c.ledger.globals().unwrap().total_issuance;
    assert_eq!(
        after - before,
        7 * RAO_PER_TAO + tensorchain_ledger::reward::block_reward(before)
    );
    // The same solution does not pay twice (review: it could be resent for its 3-block window).
    assert_eq!(
        c.err(
            &me,
            Call::Faucet {
                block_number: head,
                nonce
            }
        ),
        "faucet_solution_used"
    );
    // And one block pays at most four requests, however many fresh keys ask.
    let head = c.ledger.head().height;
    let many: Vec<_> = (0..6)
        .map(|i| {
            let k = key(&format!("fresh{i}"));
            let nonce = nonce_for(
                &c,
                WorkKind::Faucet,
                (k.account(), k.account()),
                head,
                8,
                true,
            );
            Tx {
                chain_id: "test".into(),
                signer: k.account(),
                nonce: 0,
                fee: 0,
                call: Call::Faucet {
                    block_number: head,
                    nonce,
                },
            }
            .sign(&k, c.ledger.signing_domain())
        })
        .collect();
    let rejected = c.block(many);
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected.iter().all(|e| e.code() == "faucet_busy"));
    let plain = fair();
    plain.block(vec![]);
    let call = Call::Faucet {
        block_number: 1,
        nonce: 0,
    };
    assert_eq!(plain.err(&me, call), "faucet_disabled");
}

/// Review: the all-zero "no owner" hotkey of genesis subnets could be claimed by staking to it
/// and then swapped to an attacker's key, making it every genesis subnet's owner hotkey.
#[test]
fn the_ownerless_key_cannot_be_claimed() {
    let c = launch(ValidatorParams::standard(32, 100), &["s"], None);
    let zero = AccountId::default();
    assert_eq!(c.subnet(1).owner_hotkey, zero);
    assert_eq!(
        c.err(
            &key("s"),
            Call::AddStake {
                hotkey: zero,
                amount: RAO_PER_TAO
            }
        ),
        "weak_key"
    );
    assert!(c.ledger.hotkey(&zero).unwrap().is_none());
}
