//! Subnets on chain: creation with the lock cost, burned registration, hyperparameters, weights
//! with every check of yuma.md §7.1, and epochs that pay miners, validators and the owner, with
//! the supply invariant after every block.

mod common;
use common::*;
use proptest::prelude::*;

#[test]
fn creating_a_subnet_burns_the_lock_cost_which_doubles_then_decays() {
    let c = open();
    let owner = key("owner");
    // What one block mints, read off an empty block, so the lock's burn can be checked exactly.
    let before_empty = c.ledger.globals().unwrap().total_issuance;
    c.block(vec![]);
    let issuance = c.ledger.globals().unwrap().total_issuance;
    let minted = issuance - before_empty;
    c.ok(
        &owner,
        Call::RegisterSubnet {
            hotkey: hot("owner").account(),
            max_cost: 10 * RAO_PER_TAO,
            identity: "text".into(),
        },
    );
    assert_eq!(c.free(&owner), FUNDS - 10 * RAO_PER_TAO - FEE);
    let g = c.ledger.globals().unwrap();
    assert_eq!(g.total_recycled, 10 * RAO_PER_TAO);
    assert_eq!(
        g.total_issuance,
        issuance + minted - 10 * RAO_PER_TAO,
        "the lock cost left circulation"
    );
    let s = c.subnet(1);
    assert_eq!(
        (s.owner_coldkey, s.owner_hotkey, s.n),
        (owner.account(), hot("owner").account(), 1)
    );
    assert_eq!(c.neuron(0).hotkey, hot("owner").account());
    // The next subnet costs double, decaying linearly back to the floor over 100 blocks.
    assert_eq!(
        c.err(
            &owner,
            Call::RegisterSubnet {
                hotkey: hot("x").account(),
                max_cost: 19 * RAO_PER_TAO,
                identity: String::new()
            }
        ),
        "registration_cost_exceeds_max"
    );
    for _ in 0..50 {
        c.block(vec![]);
    }
    c.ok(
        &owner,
        Call::RegisterSubnet {
            hotkey: hot("x").account(),
            max_cost: 16 * RAO_PER_TAO,
            identity: String::new(),
        },
    );
    assert_eq!(c.subnet(2).netuid, 2);
    assert_eq!(
        c.err(
            &owner,
            Call::RegisterSubnet {
                hotkey: hot("y").account(),
                max_cost: 10 * RAO_PER_TAO,
                identity: "z".repeat(65)
            }
        ),
        "identity_too_long"
    );
}

#[test]
fn registration_burns_the_price_and_checks_everything() {
    let c = open();
    c.demo_subnet();
    let s = c.subnet(1);
    assert_eq!(s.n, 7);
    assert!(s.burn > RAO_PER_TAO, "each registration raises the price");
    let m1 = key("m1");
    assert_eq!(
        c.err(
            &m1,
            Call::BurnedRegister {
                netuid: 1,
                hotkey: hot("m1").account(),
                max_cost: 100 * RAO_PER_TAO
            }
        ),
        "hotkey_already_registered"
    );
    assert_eq!(
        c.err(
            &m1,
            Call::BurnedRegister {
                netuid: 9,
                hotkey: hot("new").account(),
                max_cost: 100 * RAO_PER_TAO
            }
        ),
        "subnet_not_found"
    );
    assert_eq!(
        c.err(
            &m1,
            Call::BurnedRegister {
                netuid: 1,
                hotkey: hot("new").account(),
                max_cost: 1
            }
        ),
        "registration_cost_exceeds_max"
    );
    c.ok(
        &key("m2"),
        Call::AddStake {
            hotkey: hot("m2spare").account(),
            amount: RAO_PER_TAO,
        },
    );
    assert_eq!(
        c.err(
            &m1,
            Call::BurnedRegister {
                netuid: 1,
                hotkey: hot("m2spare").account(),
                max_cost: 100 * RAO_PER_TAO
            }
        ),
        "not_hotkey_owner"
    );
    // Full subnet: the lowest-emission non-immune uid is replaced, never the owner. Two epochs
    // without weights (the first hands out permits) pay the validators by stake, v1 (uid 1) twice
    // what v2 (uid 2) gets, and the miners (3..=6) nothing. The registration lands when the
    // validators' immunity has just ended and the miners' (registered later) has not: v2 goes,
    // not a miner with less emission (they are immune), not v1 (it earned more).
    c.sudo_max_uids(7);
    let immunity = 40;
    c.owner_sets("immunity_period", immunity);
    c.run_until_epoch();
    c.run_until_epoch();
    let (v2_at, m1_at) = (c.neuron(2).registered_at, c.neuron(3).registered_at);
    assert!(m1_at > v2_at && c.ledger.head().height < v2_at + immunity);
    while c.ledger.head().height + 1 < v2_at + immunity {
        c.block(vec![]);
    }
    assert!(c.neuron(1).emission > c.neuron(2).emission && c.neuron(2).emission > 0);
    assert!((3..7).all(|uid| c.neuron(uid).emission == 0));
    c.ok(
        &m1,
        Call::BurnedRegister {
            netuid: 1,
            hotkey: hot("late").account(),
            max_cost: 100 * RAO_PER_TAO,
        },
    );
    assert_eq!(c.subnet(1).n, 7);
    assert_eq!(c.neuron(0).hotkey, hot("owner").account());
    let uid_of = |name: &str| subnet::uid_of(&c.ledger.view(), 1, &hot(name).account()).unwrap();
    assert_eq!(
        uid_of("late"),
        Some(2),
        "v2's uid was given to the newcomer"
    );
    assert_eq!(uid_of("v2"), None, "v2 is no longer registered");
}

#[test]
fn hyperparameters_respect_owner_and_sudo() {
    let c = open();
    c.demo_subnet();
    let (owner, sudo, m1) = (key("owner"), key("sudo"), key("m1"));
    c.ok(
        &owner,
        Call::SetHyperparameter {
            netuid: 1,
            name: "weights_rate_limit".into(),
            value: 5,
        },
    );
    assert_eq!(c.subnet(1).hyper.weights_rate_limit, 5);
    assert_eq!(
        c.err(
            &owner,
            Call::SetHyperparameter {
                netuid: 1,
                name: "tempo".into(),
                value: 20
            }
        ),
        "sudo_required"
    );
    c.ok(
        &sudo,
        Call::SetHyperparameter {
            netuid: 1,
            name: "tempo".into(),
            value: 20,
        },
    );
    assert_eq!(
        c.err(
            &m1,
            Call::SetHyperparameter {
                netuid: 1,
                name: "immunity_period".into(),
                value: 1
            }
        ),
        "not_subnet_owner"
    );
    assert_eq!(
        c.err(
            &owner,
            Call::SetHyperparameter {
                netuid: 1,
                name: "colour".into(),
                value: 1
            }
        ),
        "unknown_hyperparameter"
    );
    assert_eq!(
        c.err(
            &owner,
            Call::SetHyperparameter {
                netuid: 1,
                name: "yuma_version".into(),
                value: 7
            }
        ),
        "hyperparameter_out_of_range"
    );
}

#[test]
fn set_weights_runs_every_check_in_order() {
    let c = open();
    c.demo_subnet();
    let v1 = hot("v1");
    let weights = |uids: Vec<u16>, values: Vec<u16>| Call::SetWeights {
        netuid: 1,
        uids,
        values,
        version_key: 0,
    };
    assert_eq!(
        c.err(&v1, weights(vec![3, 4], vec![1])),
        "weights_length_mismatch"
    );
    assert_eq!(
        c.err(&hot("stranger"), weights(vec![3], vec![1])),
        "hotkey_not_registered"
    );
    assert_eq!(
        c.err(&hot("m1"), weights(vec![3, 4], vec![1, 1])),
        "no_validator_permit",
        "a miner without stake has no permit"
    );
    c.ok(&v1, weights(vec![1], vec![1])); // a self-weight needs no permit
    c.run_until_epoch();
    assert!(c.neuron(1).validator_permit, "v1 has the most stake");
    c.owner_sets("weights_rate_limit", 3);
    c.ok(&v1, weights(vec![3, 4], vec![10, 30]));
    assert_eq!(
        subnet::weights(&c.ledger.view(), 1, 1).unwrap(),
        vec![(3, 21845), (4, 65535)],
        "max-upscaled"
    );
    let code = c.err(&v1, weights(vec![3, 4], vec![1, 1]));
    assert_eq!(code, "weights_rate_limited");
    for _ in 0..3 {
        c.block(vec![]);
    }
    assert_eq!(
        c.err(&v1, weights(vec![3, 3], vec![1, 1])),
        "duplicate_uids"
    );
    assert_eq!(
        c.err(&v1, weights(vec![3, 40], vec![1, 1])),
        "uid_out_of_range"
    );
    assert_eq!(
        c.err(&v1, weights(vec![0, 1, 2, 3, 4, 5, 6, 6], vec![1; 8])),
        "too_many_weights"
    );
    c.owner_sets("weights_version", 2);
    assert_eq!(
        c.err(&v1, weights(vec![3], vec![1])),
        "incorrect_weights_version"
    );
}

#[test]
fn epochs_pay_miners_validators_and_the_owner() {
    let c = open();
    c.demo_subnet();
    c.run_until_epoch(); // first epoch: validators get permits
    for n in ["v1", "v2"] {
        c.ok(
            &hot(n),
            Call::SetWeights {
                netuid: 1,
                uids: vec![3, 4, 5, 6],
                values: vec![1, 2, 3, 4],
                version_key: 0,
            },
        );
    }
    let owner_free = c.free(&key("owner"));
    let pending_before = c.subnet(1).pending;
    let h = c.run_until_epoch();
    let summary: subnet::EpochSummary = c
        .ledger
        .view()
        .get(&subnet::epoch_key(1, h))
        .unwrap()
        .unwrap();
    assert!(summary.pending >= pending_before);
    assert_eq!(
        summary.owner_cut,
        summary.pending * 18 / 100,
        "18% owner cut"
    );
    assert_eq!(c.free(&key("owner")), owner_free + summary.owner_cut);
    assert!(
        summary.to_miners > 0 && summary.to_validators > 0,
        "{summary:?}"
    );
    let distributable = summary.pending - summary.owner_cut;
    assert!(summary.to_miners + summary.to_validators <= distributable);
    assert!(summary.recycled >= distributable - summary.to_miners - summary.to_validators);
    assert!(
        summary.recycled <= 7 + distributable / 1000,
        "only dust is recycled: {summary:?}"
    );
    for uid in 3..7 {
        assert!(c.neuron(uid).incentive > 0, "miner {uid} earned incentive");
    }
    assert!(c.neuron(1).dividends > 0 && c.neuron(2).dividends > 0);
    // Miner 4 weighted highest earned most, as stake behind its hotkey.
    let m4_stake = c
        .ledger
        .hotkey(&hot("m4").account())
        .unwrap()
        .unwrap()
        .total_stake;
    let m1_stake = c
        .ledger
        .hotkey(&hot("m1").account())
        .unwrap()
        .unwrap()
        .total_stake;
    assert!(m4_stake > m1_stake && m1_stake > 0);
    assert_eq!(c.subnet(1).pending, 0);
}

fn any_call(seed: u64) -> (Keypair, Call) {
    let names = ["owner", "v1", "v2", "m1", "m2", "m3", "m4"];
    let n = names[(seed % 7) as usize];
    let amount = (seed >> 8) % (50 * RAO_PER_TAO) + 1;
    let target = names[((seed >> 4) % 7) as usize];
    match (seed >> 20) % 7 {
        0 => (
            key(n),
            Call::AddStake {
                hotkey: hot(target).account(),
                amount,
            },
        ),
        1 => (
            key(n),
            Call::RemoveStake {
                hotkey: hot(target).account(),
                amount,
            },
        ),
        2 => (
            key(n),
            Call::BurnedRegister {
                netuid: 1,
                hotkey: hot(&format!("{n}{}", seed % 3)).account(),
                max_cost: amount,
            },
        ),
        3 => (
            hot(n),
            Call::SetWeights {
                netuid: 1,
                uids: vec![(seed % 9) as u16, ((seed >> 3) % 9) as u16],
                values: vec![1, 2],
                version_key: 0,
            },
        ),
        4 => (
            key(n),
            Call::Transfer {
                to: key(target).account(),
                amount,
            },
        ),
        5 => (
            key("owner"),
            Call::SetHyperparameter {
                netuid: 1,
                name: "immunity_period".into(),
                value: seed % 20,
            },
        ),
        _ => (
            key(n),
            Call::SetTake {
                hotkey: hot(n).account(),
                take: (seed % 11796) as u16,
            },
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random sequences of every call over several epochs: the supply invariant holds after each
    /// block (checked inside `block`) and no epoch pays out more than was pending.
    #[test]
    fn supply_holds_through_random_calls_and_epochs(seeds in prop::collection::vec(any::<u64>(), 40..80)) {
        let c = open();
        c.demo_subnet();
        for chunk in seeds.chunks(3) {
            let txs = chunk.iter().map(|&s| { let (k, call) = any_call(s); c.tx(&k, call) }).collect();
            c.block(txs);
        }
        for block in c.subnet(1).registered_at..=c.ledger.head().height {
            if let Some(s) = c.ledger.view().get::<subnet::EpochSummary>(&subnet::epoch_key(1, block)).unwrap() {
                prop_assert!(s.owner_cut + s.to_miners + s.to_validators <= s.pending, "{:?}", s);
                prop_assert!(s.recycled <= s.pending - s.owner_cut);
            }
        }
    }
}

#[test]
fn root_weights_decide_the_subnets_shares() {
    let c = open();
    c.demo_subnet();
    let owner = key("owner");
    c.ok(
        &owner,
        Call::RegisterSubnet {
            hotkey: hot("owner2").account(),
            max_cost: 100 * RAO_PER_TAO,
            identity: "second".into(),
        },
    );
    // v2 validates subnet 2 as well, so both receive emission; the stakes settle meanwhile.
    c.ok(
        &key("v2"),
        Call::BurnedRegister {
            netuid: 2,
            hotkey: hot("v2").account(),
            max_cost: 100 * RAO_PER_TAO,
        },
    );
    for _ in 0..3 {
        c.run_until_epoch();
    }
    assert!(c.subnet(1).emission_enabled && c.subnet(2).emission_enabled);
    let (v1, v1h) = (key("v1"), hot("v1"));
    assert_eq!(
        c.err(
            &key("m1"),
            Call::RootRegister {
                hotkey: v1h.account()
            }
        ),
        "not_hotkey_owner"
    );
    c.ok(
        &v1,
        Call::RootRegister {
            hotkey: v1h.account(),
        },
    );
    assert_eq!(
        c.err(
            &v1,
            Call::RootRegister {
                hotkey: v1h.account()
            }
        ),
        "hotkey_already_registered"
    );
    assert_eq!(
        c.err(
            &hot("v2"),
            Call::SetRootWeights {
                netuids: vec![1],
                values: vec![1]
            }
        ),
        "hotkey_not_registered"
    );
    assert_eq!(
        c.err(
            &v1h,
            Call::SetRootWeights {
                netuids: vec![9],
                values: vec![1]
            }
        ),
        "subnet_not_found"
    );
    assert_eq!(
        c.err(
            &v1h,
            Call::SetRootWeights {
                netuids: vec![1, 2],
                values: vec![1]
            }
        ),
        "weights_length_mismatch"
    );
    // Equal shares until root weights exist.
    let (first, second) = one_blocks_emission(&c);
    assert!(first > 0);
    assert_eq!(first, second);
    // The only root validator backs subnet 1 alone: after the next root epoch it gets (nearly) all.
    c.ok(
        &v1h,
        Call::SetRootWeights {
            netuids: vec![1],
            values: vec![1],
        },
    );
    while subnet::root::shares(&c.ledger.view()).unwrap().is_none() {
        c.block(vec![]);
    }
    let (first, second) = one_blocks_emission(&c);
    assert!(first > 990_000_000, "subnet 1 gets nearly the whole reward");
    assert_eq!(second, 0, "subnet 2 gets nothing");
}

/// What one block adds to the pending emission of subnets 1 and 2. The block is one that runs
/// neither subnet's epoch (an epoch pays `pending` out), found from their actual tempos and
/// checked, so the measurement cannot be skipped silently.
fn one_blocks_emission(c: &Chain) -> (u64, u64) {
    let epoch_at = |h: u64| {
        [1, 2]
            .iter()
            .any(|&n| subnet::emission::is_epoch_block(n, c.subnet(n).hyper.tempo, h))
    };
    while epoch_at(c.ledger.head().height + 1) {
        c.block(vec![]);
    }
    let before = (c.subnet(1).pending, c.subnet(2).pending);
    c.block(vec![]);
    assert!(!epoch_at(c.ledger.head().height));
    (
        c.subnet(1).pending - before.0,
        c.subnet(2).pending - before.1,
    )
}

#[test]
fn commit_reveal_binds_weights_to_the_next_epoch() {
    let c = open();
    c.demo_subnet();
    c.run_until_epoch();
    c.owner_sets("commit_reveal_enabled", 1);
    let v1 = hot("v1");
    let (uids, values, salt) = (vec![3u16, 4], vec![1u16, 3], b"pepper".to_vec());
    assert_eq!(
        c.err(
            &v1,
            Call::SetWeights {
                netuid: 1,
                uids: uids.clone(),
                values: values.clone(),
                version_key: 0
            }
        ),
        "commit_reveal_enabled"
    );
    let hash =
        tensorchain_primitives::weights_commit_hash(&v1.account(), 1, &uids, &values, &salt, 0);
    let updated = c.neuron(1).last_update;
    c.ok(&v1, Call::CommitWeights { netuid: 1, hash });
    assert_eq!(
        c.neuron(1).last_update,
        updated,
        "a commit does not count as an update"
    );
    let reveal = Call::RevealWeights {
        netuid: 1,
        uids: uids.clone(),
        values: values.clone(),
        salt: salt.clone(),
        version_key: 0,
    };
    assert_eq!(c.err(&v1, reveal.clone()), "reveal_too_early");
    let wrong = Call::RevealWeights {
        netuid: 1,
        uids: uids.clone(),
        values: vec![3, 1],
        salt: salt.clone(),
        version_key: 0,
    };
    assert_eq!(c.err(&v1, wrong), "no_matching_commit");
    c.run_until_epoch();
    c.ok(&v1, reveal.clone());
    assert_eq!(
        subnet::weights(&c.ledger.view(), 1, 1).unwrap(),
        vec![(3, 21845), (4, 65535)]
    );
    assert!(c.neuron(1).last_update > updated);
    assert_eq!(
        c.err(&v1, reveal),
        "no_matching_commit",
        "a commit reveals once"
    );
    // A commit left for two epochs expires.
    let hash2 =
        tensorchain_primitives::weights_commit_hash(&v1.account(), 1, &uids, &values, b"salt2", 0);
    c.ok(
        &v1,
        Call::CommitWeights {
            netuid: 1,
            hash: hash2,
        },
    );
    c.run_until_epoch();
    c.run_until_epoch();
    assert_eq!(
        c.err(
            &v1,
            Call::RevealWeights {
                netuid: 1,
                uids,
                values,
                salt: b"salt2".to_vec(),
                version_key: 0
            }
        ),
        "commit_expired"
    );
}

#[test]
fn the_remaining_rejections_are_named() {
    let c = open();
    c.demo_subnet();
    c.run_until_epoch();
    let v1 = hot("v1");
    let set = |name: &str, value: u64| c.owner_sets(name, value);
    set("registration_allowed", 0);
    assert_eq!(
        c.err(
            &key("m1"),
            Call::BurnedRegister {
                netuid: 1,
                hotkey: hot("n").account(),
                max_cost: 100 * RAO_PER_TAO
            }
        ),
        "registration_disabled"
    );
    set("min_allowed_weights", 3);
    assert_eq!(
        c.err(
            &v1,
            Call::SetWeights {
                netuid: 1,
                uids: vec![3, 4],
                values: vec![1, 1],
                version_key: 0
            }
        ),
        "not_enough_weights"
    );
    set("min_allowed_weights", 1);
    set("max_weight_limit", 40000);
    assert_eq!(
        c.err(
            &v1,
            Call::SetWeights {
                netuid: 1,
                uids: vec![3, 4],
                values: vec![9, 1],
                version_key: 0
            }
        ),
        "max_weight_exceeded"
    );
    assert_eq!(
        c.err(
            &v1,
            Call::ServeAxon {
                netuid: 1,
                ip: [0; 16],
                port: 0,
                protocol: 4
            }
        ),
        "bad_axon"
    );
    c.ok(
        &v1,
        Call::ServeAxon {
            netuid: 1,
            ip: [0; 16],
            port: 8091,
            protocol: 4,
        },
    );
    assert_eq!(c.neuron(1).axon.as_ref().map(|a| a.port), Some(8091));
    set("commit_reveal_enabled", 1);
    for i in 0..10u8 {
        c.ok(
            &v1,
            Call::CommitWeights {
                netuid: 1,
                hash: Hash::digest(&[i]),
            },
        );
    }
    assert_eq!(
        c.err(
            &v1,
            Call::CommitWeights {
                netuid: 1,
                hash: Hash::digest(b"11th")
            }
        ),
        "too_many_commits"
    );
}

#[test]
fn a_full_subnet_of_immune_uids_replaces_the_lowest_emission_immune_one() {
    let c = open();
    c.demo_subnet();
    c.sudo_max_uids(7);
    c.owner_sets("immunity_period", 1000);
    c.run_until_epoch();
    c.run_until_epoch();
    // Every uid is immune; the validators earned, the miners did not: m1 (uid 3), the earliest
    // registered miner, is replaced rather than the registration refused.
    assert!(c.neuron(1).emission > 0 && c.neuron(2).emission > 0);
    assert!((3..7).all(|uid| c.neuron(uid).emission == 0));
    c.ok(
        &key("m1"),
        Call::BurnedRegister {
            netuid: 1,
            hotkey: hot("n2").account(),
            max_cost: 100 * RAO_PER_TAO,
        },
    );
    let uid_of = |name: &str| subnet::uid_of(&c.ledger.view(), 1, &hot(name).account()).unwrap();
    assert_eq!(uid_of("n2"), Some(3));
    assert_eq!(uid_of("m1"), None);
    assert_eq!(
        c.neuron(0).hotkey,
        hot("owner").account(),
        "never the owner"
    );
}

#[test]
fn at_the_cap_the_oldest_subnet_past_its_immunity_is_replaced() {
    let mut p = SubnetParams::devnet();
    p.lock_decay_blocks = 0; // every creation costs the floor
    p.network_immunity_blocks = 20;
    let c = open_with(p);
    let owner = key("owner");
    let create = |i: u32| Call::RegisterSubnet {
        hotkey: hot(&format!("s{i}")).account(),
        max_cost: 10 * RAO_PER_TAO,
        identity: String::new(),
    };
    let txs = c.txs(&owner, (0..128u32).map(create).collect());
    assert!(c.block(txs).is_empty());
    assert_eq!(c.ledger.subnets().unwrap().len(), 128);
    assert_eq!(
        c.err(&owner, create(200)),
        "subnet_limit_reached",
        "all are still immune"
    );
    for _ in 0..20 {
        c.block(vec![]);
    }
    c.ok(&owner, create(201));
    let replaced = c.subnet(1);
    assert_eq!(
        replaced.owner_hotkey,
        hot("s201").account(),
        "netuid 1, the oldest, was replaced"
    );
    assert_eq!(c.ledger.subnets().unwrap().len(), 128);
}

#[test]
fn a_full_root_network_admits_only_more_stake() {
    let c = open();
    let funder = key("owner");
    let stakes = (0..64u64).map(|i| Call::AddStake {
        hotkey: hot(&format!("r{i}")).account(),
        amount: (10 + i) * RAO_PER_TAO,
    });
    assert!(c.block(c.txs(&funder, stakes.collect())).is_empty());
    c.settle_for_root();
    let registrations = (0..64u64).map(|i| Call::RootRegister {
        hotkey: hot(&format!("r{i}")).account(),
    });
    assert!(c.block(c.txs(&funder, registrations.collect())).is_empty());
    let v1 = key("v1");
    c.ok(
        &v1,
        Call::AddStake {
            hotkey: hot("small").account(),
            amount: 5 * RAO_PER_TAO,
        },
    );
    c.settle_for_root();
    assert_eq!(
        c.err(
            &v1,
            Call::RootRegister {
                hotkey: hot("small").account()
            }
        ),
        "root_full"
    );
    c.ok(
        &v1,
        Call::AddStake {
            hotkey: hot("big").account(),
            amount: 500 * RAO_PER_TAO,
        },
    );
    assert_eq!(
        c.err(
            &v1,
            Call::RootRegister {
                hotkey: hot("big").account()
            }
        ),
        "root_stake_not_settled",
        "stake added for the registration does not count yet"
    );
    c.settle_for_root();
    c.ok(
        &v1,
        Call::RootRegister {
            hotkey: hot("big").account(),
        },
    );
    let members = subnet::root::members(&c.ledger.view()).unwrap();
    assert_eq!(members.len(), 64);
    assert!(
        members.contains(&hot("big").account()) && !members.contains(&hot("r0").account()),
        "the weakest left"
    );
}

#[test]
fn a_subnet_holding_only_its_owner_is_full_and_commits_need_commit_reveal() {
    let c = open();
    let owner = key("owner");
    c.ok(
        &owner,
        Call::RegisterSubnet {
            hotkey: hot("owner").account(),
            max_cost: 10 * RAO_PER_TAO,
            identity: String::new(),
        },
    );
    assert_eq!(
        c.err(
            &hot("owner"),
            Call::CommitWeights {
                netuid: 1,
                hash: Hash::digest(b"w")
            }
        ),
        "commit_reveal_disabled"
    );
    c.sudo_max_uids(1);
    assert_eq!(
        c.err(
            &key("m1"),
            Call::BurnedRegister {
                netuid: 1,
                hotkey: hot("m1").account(),
                max_cost: 100 * RAO_PER_TAO
            }
        ),
        "subnet_full"
    );
}
