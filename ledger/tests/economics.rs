//! The economics review (issue #11): nobody takes emission they did not earn. One test per finding,
//! each named after it, on a devnet-like chain: 1 TAO per block, tempo 10, so one epoch's pending
//! is 11 TAO and 9.02 TAO remain after the 18% owner cut.

mod common;
use common::*;
use proptest::prelude::*;
use tensorchain_ledger::runtime::staking;

const TAO: u64 = RAO_PER_TAO;

impl Chain {
    /// Subnet 1, owned by "owner" with its hotkey as the only neuron.
    fn owner_subnet(&self) {
        self.ok(
            &key("owner"),
            Call::RegisterSubnet {
                hotkey: hot("owner").account(),
                max_cost: u64::MAX,
                identity: String::new(),
            },
        );
    }

    fn add_stake(&self, who: &str, hotkey: &str, amount: u64) -> SignedTx {
        self.tx(
            &key(who),
            Call::AddStake {
                hotkey: hot(hotkey).account(),
                amount,
            },
        )
    }
}

#[test]
fn miner_incentive_goes_to_its_owner_not_to_whoever_stakes_on_its_hotkey() {
    let c = open();
    c.paying_subnet();
    assert_eq!(c.neuron(3).hotkey, hot("m1").account());
    assert_eq!(
        c.stake("m1", "m1"),
        0,
        "the miner's owner has no stake behind it"
    );
    c.block(vec![c.add_stake("e", "m1", 2_000_000)]);
    c.run_until_epoch();
    let earned = c.neuron(3).emission;
    assert!(
        earned.abs_diff(451 * TAO / 100) < 1_000,
        "m1 earned all the miners' half of 9.02 TAO: {earned}"
    );
    assert_eq!(
        c.stake("m1", "m1"),
        earned,
        "all of it to the owner coldkey, as stake"
    );
    assert_eq!(
        c.stake("m1", "e"),
        2_000_000,
        "the 0.002 TAO staker gains nothing"
    );
}

#[test]
fn stake_added_in_the_epoch_block_earns_nothing_from_that_epoch() {
    let c = open();
    c.paying_subnet();
    c.run_until_epoch();
    let epoch = c.until_before_epoch();
    let owner_before = c.stake("v1", "v1");
    // E joins v1 with more stake than v1 has, in the epoch block itself.
    c.block(vec![c.add_stake("e", "v1", 2_000 * TAO)]);
    assert_eq!(c.ledger.head().height, epoch);
    let paid = c.neuron(1).emission;
    assert!(paid > 0, "v1 earned dividends this epoch");
    assert_eq!(c.stake("v1", "e"), 2_000 * TAO, "E gains 0 from that epoch");
    assert_eq!(
        c.stake("v1", "v1") - owner_before,
        paid,
        "v1's owner keeps the full share"
    );
    // From the next epoch on E's stake is settled and earns its part.
    c.run_until_epoch();
    assert!(c.stake("v1", "e") > 2_000 * TAO);
}

#[test]
fn take_increases_wait_and_are_rate_limited_decreases_apply_at_once() {
    let c = open();
    c.demo_subnet();
    let hk = hot("v1").account();
    let take = |t: u16| Call::SetTake {
        hotkey: hk,
        take: t,
    };
    c.ok(&key("v1"), take(0));
    let info = |c: &Chain| c.ledger.hotkey(&hk).unwrap().unwrap();
    assert_eq!(
        info(&c).take_at(c.ledger.head().height),
        0,
        "a decrease applies at once"
    );
    c.ok(&key("v1"), take(11796));
    let now = c.ledger.head().height;
    let pending = info(&c).pending_take.expect("the increase waits");
    assert_eq!(pending.take, 11796);
    assert_eq!(pending.effective_at, now + 360);
    assert_eq!(
        info(&c).take_at(now + 359),
        0,
        "epochs before it still pay at 0%"
    );
    assert_eq!(info(&c).take_at(now + 360), 11796);
    assert_eq!(c.err(&key("v1"), take(11000)), "take_rate_limited");
    c.ok(&key("v1"), take(0));
    assert_eq!(
        info(&c).pending_take,
        None,
        "keeping the take low cancels the raise"
    );
}

#[test]
fn replacement_at_the_cap_evicts_the_lowest_share_and_the_newcomer_inherits_nothing() {
    let c = open_with(SubnetParams {
        lock_decay_blocks: 1,
        network_immunity_blocks: 0,
        ..SubnetParams::devnet()
    });
    // Subnet 1 is the oldest, but root weights it; v1 validates it with stake.
    c.owner_subnet();
    c.block(vec![c.add_stake("owner", "owner", 1_000 * TAO)]);
    c.ok(
        &key("v1"),
        Call::BurnedRegister {
            netuid: 1,
            hotkey: hot("v1").account(),
            max_cost: u64::MAX,
        },
    );
    c.block(vec![c.add_stake("v1", "v1", 1_000 * TAO)]);
    c.settle_for_root();
    c.ok(
        &key("owner"),
        Call::RootRegister {
            hotkey: hot("owner").account(),
        },
    );
    for i in 2..=tensorchain_ledger::runtime::params::SUBNET_LIMIT {
        c.ok(
            &key("sudo"),
            Call::RegisterSubnet {
                hotkey: hot(&format!("s{i}")).account(),
                max_cost: u64::MAX,
                identity: String::new(),
            },
        );
    }
    c.ok(
        &hot("owner"),
        Call::SetRootWeights {
            netuids: vec![1, 2],
            values: vec![3, 1],
        },
    );
    // Two root epochs: the first settles the stake, the second weights with it.
    for _ in 0..2 {
        c.block(vec![]);
        while c.ledger.head().height % (c.subnet(1).hyper.tempo as u64 + 1) != 0 {
            c.block(vec![]);
        }
    }
    let shares = c.ledger.emission_shares().unwrap();
    assert!(
        shares.iter().find(|s| s.0 == 1).unwrap().1 > 0,
        "subnet 1 earns: {shares:?}"
    );
    c.ok(
        &key("e"),
        Call::RegisterSubnet {
            hotkey: hot("newcomer").account(),
            max_cost: u64::MAX,
            identity: "new".into(),
        },
    );
    assert_eq!(
        c.subnet(1).owner_coldkey,
        key("owner").account(),
        "the weighted subnet survives"
    );
    let newcomer = c.subnet(2);
    assert_eq!(
        newcomer.owner_coldkey,
        key("e").account(),
        "the oldest zero-share one went"
    );
    let view = c.ledger.view();
    assert_eq!(
        subnet::root::weights(&view, &hot("owner").account()).unwrap(),
        vec![(1, 65535)],
        "root weights on the dissolved netuid are gone"
    );
    assert!(subnet::root::shares(&view)
        .unwrap()
        .unwrap()
        .shares
        .iter()
        .all(|s| s.0 != 2));
    c.block(vec![]);
    assert_eq!(
        c.subnet(2).pending,
        0,
        "the newcomer mints nothing at first"
    );
}

#[test]
fn owner_hyperparameters_are_bounded_and_rate_limited() {
    let c = open();
    c.demo_subnet();
    let set = |name: &str, value: u64| Call::SetHyperparameter {
        netuid: 1,
        name: name.into(),
        value,
    };
    assert_eq!(
        c.err(&key("owner"), set("activity_cutoff", 1)),
        "hyperparameter_out_of_range"
    );
    assert_eq!(
        c.err(&key("owner"), set("weights_rate_limit", 1_000)),
        "hyperparameter_out_of_range"
    );
    assert_eq!(
        c.err(&key("owner"), set("min_burn", u64::MAX)),
        "hyperparameter_out_of_range"
    );
    c.ok(&key("owner"), set("immunity_period", 10));
    assert_eq!(
        c.err(&key("owner"), set("immunity_period", 20)),
        "hyperparameter_rate_limited"
    );
    c.ok(&key("sudo"), set("immunity_period", 20));
}

#[test]
fn the_burn_price_never_exceeds_max_burn() {
    let c = open();
    c.demo_subnet();
    assert!(c.subnet(1).burn > TAO / 2, "six registrations raised it");
    c.owner_sets("max_burn", TAO / 2);
    for _ in 0..3 {
        c.block(vec![]);
        assert!(c.subnet(1).burn <= TAO / 2, "clamped: {}", c.subnet(1).burn);
    }
}

#[test]
fn commits_are_rate_limited_expire_as_no_weights_and_survive_a_tempo_change() {
    let c = open();
    c.paying_subnet();
    c.enable_commit_reveal();
    c.owner_sets("weights_rate_limit", 5);
    let v1 = hot("v1");
    let hash = |salt: &[u8]| {
        tensorchain_primitives::weights_commit_hash(&v1.account(), 1, &[3], &[1], salt, 0)
    };
    let commit = |salt: &[u8]| Call::CommitWeights {
        netuid: 1,
        hash: hash(salt),
    };
    c.ok(&v1, commit(b"a"));
    assert_eq!(c.err(&v1, commit(b"b")), "weights_rate_limited");
    // A tempo change keeps the commit revealable in the next epoch.
    c.ok(
        &key("sudo"),
        Call::SetHyperparameter {
            netuid: 1,
            name: "tempo".into(),
            value: 20,
        },
    );
    c.run_until_epoch();
    // Left unrevealed, it expires at the following epoch: v1 counts as not having set weights.
    c.run_until_epoch();
    assert_eq!(c.neuron(1).dividends, 0, "no weights, no dividends");
    assert_eq!(
        c.err(
            &v1,
            Call::RevealWeights {
                netuid: 1,
                uids: vec![3],
                values: vec![1],
                salt: b"a".to_vec(),
                version_key: 0
            }
        ),
        "commit_expired"
    );
}

#[test]
fn free_calls_are_rate_limited() {
    let c = open();
    c.demo_subnet();
    let axon = |port: u16| Call::ServeAxon {
        netuid: 1,
        ip: [0; 16],
        port,
        protocol: 4,
    };
    c.ok(&hot("m1"), axon(8091));
    assert_eq!(c.err(&hot("m1"), axon(8092)), "serving_rate_limited");
    c.block(vec![]);
    c.ok(&hot("m1"), axon(8092));
    c.settle_for_root();
    c.ok(
        &key("v1"),
        Call::RootRegister {
            hotkey: hot("v1").account(),
        },
    );
    let root = Call::SetRootWeights {
        netuids: vec![1],
        values: vec![1],
    };
    c.ok(&hot("v1"), root.clone());
    assert_eq!(c.err(&hot("v1"), root), "weights_rate_limited");
}

/// Review M2: stake added for the registration block cannot buy a root seat.
#[test]
fn root_membership_needs_stake_settled_for_a_root_tempo() {
    let c = open();
    c.block(vec![c.add_stake("e", "e", 5_000 * TAO)]);
    assert_eq!(
        c.err(
            &key("e"),
            Call::RootRegister {
                hotkey: hot("e").account()
            }
        ),
        "root_stake_not_settled"
    );
    c.settle_for_root();
    c.ok(
        &key("e"),
        Call::RootRegister {
            hotkey: hot("e").account(),
        },
    );
}

/// Review M3: the owner cannot change the rules in the blocks just before an epoch.
#[test]
fn owner_changes_are_frozen_just_before_an_epoch() {
    let c = open();
    c.demo_subnet();
    c.until_before_epoch();
    assert_eq!(
        c.err(
            &key("owner"),
            Call::SetHyperparameter {
                netuid: 1,
                name: "activity_cutoff".into(),
                value: 10
            }
        ),
        "hyperparameter_freeze_window"
    );
    c.ok(
        &key("sudo"),
        Call::SetHyperparameter {
            netuid: 1,
            name: "activity_cutoff".into(),
            value: 10,
        },
    );
}

#[test]
fn a_subnet_without_staked_validators_gets_no_emission() {
    let c = open();
    c.owner_subnet();
    c.ok(
        &key("m1"),
        Call::BurnedRegister {
            netuid: 1,
            hotkey: hot("m1").account(),
            max_cost: u64::MAX,
        },
    );
    let owner_free = c.free(&key("owner"));
    let issuance = c.ledger.globals().unwrap().total_issuance;
    c.run_until_epoch();
    c.run_until_epoch();
    assert!(!c.subnet(1).emission_enabled);
    assert_eq!(c.ledger.emission_shares().unwrap(), vec![(1, 0)]);
    assert_eq!(
        c.free(&key("owner")),
        owner_free,
        "no owner cut from an empty subnet"
    );
    assert_eq!(
        c.ledger.globals().unwrap().total_issuance,
        issuance,
        "nothing minted"
    );
}

/// Review H1: the owner's forced permit plus a little (flash) stake on its own hotkey must not
/// turn emission on and hand the owner the whole subnet through the zero-weights fallback.
#[test]
fn owner_stake_alone_does_not_enable_a_subnet() {
    let c = open();
    c.owner_subnet();
    c.block(vec![c.add_stake("owner", "owner", 10_000 * TAO)]);
    // A second coldkey with a token stake is not enough either.
    c.ok(
        &key("e"),
        Call::BurnedRegister {
            netuid: 1,
            hotkey: hot("e").account(),
            max_cost: u64::MAX,
        },
    );
    c.block(vec![c.add_stake("e", "e", TAO)]);
    for _ in 0..3 {
        c.run_until_epoch();
    }
    assert!(!c.subnet(1).emission_enabled);
    assert_eq!(c.ledger.emission_shares().unwrap(), vec![(1, 0)]);
    // A validator with the minimum settled stake turns it on.
    c.block(vec![c.add_stake("v1", "e", 100 * TAO)]);
    c.run_until_epoch();
    c.run_until_epoch();
    assert!(c.subnet(1).emission_enabled);
}

/// Review H2: an owner who switches commit-reveal off (or changes any rule) after validators
/// committed cannot wipe their weights through the "expired commit = no weights" rule.
#[test]
fn changing_the_rules_after_a_commit_does_not_erase_the_committers_weights() {
    let c = open();
    c.paying_subnet();
    c.enable_commit_reveal();
    let v1 = hot("v1");
    let hash = tensorchain_primitives::weights_commit_hash(&v1.account(), 1, &[3], &[1], b"a", 0);
    c.ok(&v1, Call::CommitWeights { netuid: 1, hash });
    c.owner_sets("max_weight_limit", 30_000);
    c.run_until_epoch();
    c.run_until_epoch();
    assert!(
        c.neuron(1).dividends > 0,
        "v1's standing weights still count"
    );
}

#[test]
fn the_owners_other_hotkeys_earn_no_miner_incentive_on_its_subnet() {
    let c = open();
    c.demo_subnet();
    // The owner registers a second hotkey as a miner, and v1 weights only it.
    c.ok(
        &key("owner"),
        Call::BurnedRegister {
            netuid: 1,
            hotkey: hot("owner2").account(),
            max_cost: u64::MAX,
        },
    );
    c.run_until_epoch();
    c.run_until_epoch();
    c.ok(
        &hot("v1"),
        Call::SetWeights {
            netuid: 1,
            uids: vec![7],
            values: vec![1],
            version_key: 0,
        },
    );
    let recycled = c.ledger.globals().unwrap().total_recycled;
    c.run_until_epoch();
    assert!(c.neuron(7).incentive > 0, "Yuma ranks it");
    assert_eq!(
        staking::stake_of(
            &c.ledger.view(),
            &hot("owner2").account(),
            &key("owner").account()
        )
        .unwrap(),
        0,
        "its incentive is recycled"
    );
    assert!(c.ledger.globals().unwrap().total_recycled - recycled >= 451 * TAO / 100 - 1_000);
}

#[test]
fn the_api_reports_the_share_the_split_uses_and_a_free_total_that_is_summed() {
    let c = open();
    c.paying_subnet();
    let shares = c.ledger.emission_shares().unwrap();
    assert_eq!(
        shares,
        vec![(1, 1 << 32)],
        "the only enabled subnet takes the whole reward"
    );
    let before = c.subnet(1).pending;
    c.block(vec![]);
    let reward = 1_000_000_000; // 1 TAO at this issuance
    assert!(c.subnet(1).pending == before + reward || c.subnet(1).pending == 0);
    let g = c.ledger.globals().unwrap();
    assert!(g.invariant_ok());
    // `supply_accounted` (after every block of these tests) also fails if total_free drifts.
    let (accounted, _) = supply_accounted(c.store.as_ref()).unwrap();
    assert_eq!(accounted, g.total_issuance as u128);
}

/// What one step of the property test does.
#[derive(Debug, Clone)]
enum Op {
    Transfer(usize, usize, u64),
    AddStake(usize, usize, u64),
    RemoveStake(usize, usize, u8),
    SetTake(usize, u16),
    Weights(usize, Vec<u16>),
    Wait(u8),
}

const ACTORS: [&str; 5] = ["v1", "v2", "m1", "m2", "e"];
/// Hotkeys the actors stake on (each owned by the coldkey of the same name).
const HOTKEYS: [&str; 4] = ["v1", "v2", "m1", "m2"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..5usize, 0..5usize, 1..50 * TAO).prop_map(|(a, b, x)| Op::Transfer(a, b, x)),
        (0..5usize, 0..4usize, 2_000_000..500 * TAO).prop_map(|(a, h, x)| Op::AddStake(a, h, x)),
        (0..5usize, 0..4usize, 1..=100u8).prop_map(|(a, h, p)| Op::RemoveStake(a, h, p)),
        (0..4usize, 0..=11796u16).prop_map(|(h, t)| Op::SetTake(h, t)),
        (0..2usize, prop::collection::vec(0..100u16, 4)).prop_map(|(v, w)| Op::Weights(v, w)),
        (1..12u8).prop_map(Op::Wait),
    ]
}

/// The amount a `RemoveStake` op takes: its percentage of the current stake, at least 1 rao.
fn removal(c: &Chain, a: usize, h: usize, op: &Op) -> u64 {
    let Op::RemoveStake(_, _, p) = op else {
        return 0;
    };
    let have = c.stake(HOTKEYS[h], ACTORS[a]);
    ((have as u128 * *p as u128 / 100) as u64).max(1)
}

fn holdings(c: &Chain, who: &str) -> u64 {
    c.ledger
        .account(&key(who).account())
        .unwrap()
        .map_or(0, |a| a.free + a.staked + a.unbonding)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Over random stake, unstake, take, weights and transfers across many epochs: the supply
    /// invariant holds after every block (checked by `block`), and an actor's holdings rise only
    /// by a rule of docs/economics.md — a transfer in, the owner cut, or emission of a hotkey it
    /// owns or had stake behind at the subnet's previous epoch (its "earned-by" allowance).
    #[test]
    fn nobody_gains_except_by_a_payout_rule(ops in prop::collection::vec(op(), 1..40)) {
        let c = open();
        c.paying_subnet();
        // (coldkey, hotkey) -> blocks of additions, to know what was settled at an epoch.
        let mut adds: std::collections::BTreeMap<(usize, usize), Vec<(u64, u64)>> =
            Default::default();
        for op in ops {
            let removed = match op {
                Op::RemoveStake(a, h, _) => Some(removal(&c, a, h, &op)),
                _ => None,
            };
            let txs = match &op {
                Op::Transfer(a, b, x) => vec![c.tx(&key(ACTORS[*a]), Call::Transfer {
                    to: key(ACTORS[*b]).account(), amount: *x })],
                Op::AddStake(a, h, x) => vec![c.add_stake(ACTORS[*a], HOTKEYS[*h], *x)],
                Op::RemoveStake(a, h, _) => vec![c.tx(&key(ACTORS[*a]), Call::RemoveStake {
                    hotkey: hot(HOTKEYS[*h]).account(), amount: removal(&c, *a, *h, &op) })],
                Op::SetTake(h, t) => vec![c.tx(&key(HOTKEYS[*h]), Call::SetTake {
                    hotkey: hot(HOTKEYS[*h]).account(), take: *t })],
                Op::Weights(v, w) => vec![c.tx(&hot(HOTKEYS[*v]), Call::SetWeights {
                    netuid: 1, uids: vec![3, 4, 5, 6], values: w.clone(), version_key: 0 })],
                Op::Wait(_) => vec![],
            };
            let steps = if let Op::Wait(k) = op { k } else { 1 };
            for step in 0..steps {
                let since = c.subnet(1).last_epoch_block;
                let before: Vec<u64> = ACTORS.iter().map(|a| holdings(&c, a)).collect();
                let stakes_before: Vec<Vec<u64>> = ACTORS.iter()
                    .map(|a| HOTKEYS.iter().map(|h| c.stake(h, a)).collect()).collect();
                let rejected = c.block(if step == 0 { txs.clone() } else { vec![] });
                let height = c.ledger.head().height;
                if rejected.is_empty() {
                    match op {
                        Op::AddStake(a, h, x) => adds.entry((a, h)).or_default().push((height, x)),
                        Op::RemoveStake(a, h, _) => {
                            // Removals take the newest additions first, as the ledger does. (The
                            // stake after the block may include emission paid in it: count the
                            // amount the transaction removed, not the difference.)
                            let mut gone = removed.expect("a removal was sent");
                            let list = adds.entry((a, h)).or_default();
                            while let Some(last) = list.last_mut() {
                                let cut = gone.min(last.1);
                                last.1 -= cut;
                                gone -= cut;
                                if last.1 > 0 {
                                    break;
                                }
                                list.pop();
                            }
                        }
                        _ => {}
                    }
                }
                let epoch = c.ledger.epoch_at(1, height).unwrap();
                for (i, actor) in ACTORS.iter().enumerate() {
                    let mut allowance = 0u64;
                    if let (Op::Transfer(_, b, x), true) = (&op, step == 0 && rejected.is_empty()) {
                        if *b == i { allowance += x; }
                    }
                    if epoch.is_some() {
                        for (h, hk) in HOTKEYS.iter().enumerate() {
                            let uid = subnet::uid_of(&c.ledger.view(), 1, &hot(hk).account())
                                .unwrap();
                            let Some(uid) = uid else { continue };
                            let emission = c.neuron(uid).emission;
                            // Stake added since the previous epoch earns nothing from this one.
                            let late: u64 = adds.get(&(i, h)).map_or(0, |v| {
                                v.iter()
                                    .filter(|a| a.0 > since && a.0 < height)
                                    .map(|a| a.1)
                                    .sum()
                            });
                            if *hk == *actor || stakes_before[i][h] > late {
                                allowance += emission;
                            }
                        }
                    }
                    let after = holdings(&c, actor);
                    prop_assert!(
                        after <= before[i] + allowance,
                        "{actor} rose by {} with an allowance of {allowance} at {height} after {op:?}",
                        after - before[i]
                    );
                }
            }
        }
    }
}

/// Moving stake is adding stake where it arrives: a move into a validator in the epoch block
/// earns nothing from that epoch, and stake behind a consensus validator leaves only by unbonding.
#[test]
fn stake_moves_keep_the_timing_and_unbonding_rules() {
    let c = open();
    c.paying_subnet();
    c.block(vec![c.add_stake("e", "m1", 1_000 * TAO)]);
    c.run_until_epoch();
    c.run_until_epoch();
    let epoch = c.until_before_epoch();
    c.block(vec![c.tx(
        &key("e"),
        Call::MoveStake {
            from_hotkey: hot("m1").account(),
            to_hotkey: hot("v1").account(),
            amount: 1_000 * TAO,
        },
    )]);
    assert_eq!(c.ledger.head().height, epoch);
    assert!(c.neuron(1).emission > 0);
    assert_eq!(
        c.stake("v1", "e"),
        1_000 * TAO,
        "moved in the epoch block: nothing from it"
    );
    // The chain validator's stake cannot be moved away from a slash.
    let validator = key("validator").account();
    c.ok(
        &key("e"),
        Call::AddStake {
            hotkey: validator,
            amount: 10 * TAO,
        },
    );
    assert_eq!(
        c.err(
            &key("e"),
            Call::MoveStake {
                from_hotkey: validator,
                to_hotkey: hot("v1").account(),
                amount: TAO
            }
        ),
        "stake_bonded_to_validator"
    );
}
