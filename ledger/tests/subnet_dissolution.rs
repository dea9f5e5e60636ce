//! Dissolving a live subnet (a 129th registration replaces the subnet with the lowest emission
//! share): a subnet with staked validators, bonds, unrevealed commits, epoch history, pending
//! emission and root weights on it leaves nothing behind under its netuid, its pending emission
//! is recycled (every subnet's `pending` still sums to the global counter, issuance still adds
//! up), and the stake behind its hotkeys stays with them.

mod common;
use common::*;
use tensorchain_ledger::runtime::params::GenesisSubnet;
use tensorchain_ledger::runtime::params::RegistrationMode;
use tensorchain_ledger::{Column, Store};
use tensorchain_primitives::AccountId;

const TAO: u64 = RAO_PER_TAO;

/// Subnet 1 (the demo subnet) among 127 genesis subnets (2..=128) whose epochs do not come during
/// the test, so the chain is at the subnet limit and nothing but subnet 1's epochs recycles.
fn full_chain() -> Chain {
    let mut p = SubnetParams::devnet();
    p.network_immunity_blocks = 0;
    let mut slow = p.defaults.clone();
    slow.tempo = 1000;
    p.genesis_subnets = (2..=tensorchain_ledger::runtime::params::SUBNET_LIMIT)
        .map(|netuid| GenesisSubnet {
            netuid,
            name: format!("g{netuid}"),
            registration: RegistrationMode::Burn,
            pow: None,
            hyperparameters: Some(slow.clone()),
        })
        .collect();
    open_with(p)
}

/// Σ of the live subnets' pending emission, and the global counter.
fn pending(c: &Chain) -> (u64, u64) {
    let sum = c.ledger.subnets().unwrap().iter().map(|s| s.pending).sum();
    (sum, c.ledger.globals().unwrap().pending_emission)
}

#[test]
fn a_dissolved_subnet_leaves_nothing_and_its_pending_is_recycled() {
    let c = full_chain();
    c.paying_subnet();
    assert_eq!(c.subnet(1).owner_coldkey, key("owner").account());
    c.run_until_epoch(); // v1's weights on m1 become bonds
    c.enable_commit_reveal();
    c.ok(
        &hot("v2"),
        Call::CommitWeights {
            netuid: 1,
            hash: Hash::digest(b"v2's weights"),
        },
    );
    c.ok(
        &key("v1"),
        Call::RootRegister {
            hotkey: hot("v1").account(),
        },
    );
    // Root weights on every subnet, subnet 1 least: it earns, but has the lowest share.
    let netuids: Vec<u16> = (1..=tensorchain_ledger::runtime::params::SUBNET_LIMIT).collect();
    let values = netuids
        .iter()
        .map(|&n| if n == 1 { 30_000 } else { 65_535 })
        .collect();
    c.ok(&hot("v1"), Call::SetRootWeights { netuids, values });
    while subnet::root::shares(&c.ledger.view()).unwrap().is_none() {
        c.block(vec![]);
    }
    let shares = c.ledger.emission_shares().unwrap();
    assert_eq!(shares.len(), 128);
    let share_of_1 = shares[0].1;
    assert!(
        share_of_1 > 0 && shares[1..].iter().all(|s| s.1 > share_of_1),
        "{shares:?}"
    );
    // Stop where subnet 1 holds pending emission and the next block runs no epoch (neither
    // subnet 1's, which would give the newcomer one, nor root's).
    loop {
        let next = c.ledger.head().height + 1;
        let quiet = !subnet::emission::is_epoch_block(1, c.subnet(1).hyper.tempo, next)
            && next % (c.ledger.params().subnets.defaults.tempo as u64 + 1) != 0;
        if quiet && c.subnet(1).pending > 0 {
            break;
        }
        c.block(vec![]);
    }

    // What subnet 1 holds now.
    let per_subnet = |make: fn(u16) -> Vec<u8>| {
        let prefix = make(1)[..3].to_vec();
        c.store
            .scan_prefix(Column::State, &prefix)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    let neurons = || per_subnet(|n| subnet::neuron_key(n, 0));
    let uids = || per_subnet(|n| subnet::uid_key(n, &AccountId::default()));
    let weights = || per_subnet(|n| subnet::weights_key(n, 0));
    let bonds = || per_subnet(|n| subnet::bonds_key(n, 0));
    let epochs = || per_subnet(subnet::epochs_prefix);
    let commits = || per_subnet(|n| subnet::commits_key(n, &AccountId::default()));
    assert_eq!(
        (neurons().len(), uids().len()),
        (7, 7),
        "owner, v1, v2, m1..m4"
    );
    assert!(!weights().is_empty() && !bonds().is_empty());
    assert!(!epochs().is_empty() && !commits().is_empty());
    let root_row = |c: &Chain| subnet::root::weights(&c.ledger.view(), &hot("v1").account());
    assert_eq!(root_row(&c).unwrap().len(), 128);
    let doomed = c.subnet(1);
    assert!(doomed.pending > 0);
    assert_eq!(pending(&c).0, pending(&c).1);
    let stakers = ["owner", "v1", "v2", "m1", "m2", "m3", "m4"];
    let staked = |c: &Chain| -> Vec<(u64, AccountId)> {
        stakers
            .iter()
            .map(|n| {
                let h = c.ledger.hotkey(&hot(n).account()).unwrap().unwrap();
                (h.total_stake, h.owner)
            })
            .collect()
    };
    let stake_before = staked(&c);
    assert!(stake_before[1].0 >= 1000 * TAO && stake_before[2].0 >= 500 * TAO);
    let g = c.ledger.globals().unwrap();
    let lock_cost = c.ledger.subnet_lock_cost().unwrap();

    // The 129th subnet replaces subnet 1, the one with the lowest share.
    c.ok(
        &key("e"),
        Call::RegisterSubnet {
            hotkey: hot("newcomer").account(),
            max_cost: u64::MAX,
            identity: "new".into(),
        },
    );
    let fresh = c.subnet(1);
    assert_eq!(fresh.owner_coldkey, key("e").account());
    assert_eq!((fresh.n, fresh.pending, fresh.epoch_count), (1, 0, 0));
    assert_eq!(c.ledger.subnets().unwrap().len(), 128);

    // Its pending emission was recycled, not left in the global counter or lost.
    let after = c.ledger.globals().unwrap();
    let (sum, global) = pending(&c);
    assert_eq!(
        sum, global,
        "every subnet's pending sums to the global counter"
    );
    assert_eq!(
        after.total_recycled - g.total_recycled,
        doomed.pending + lock_cost,
        "recycled: the dissolved subnet's pending and the newcomer's lock"
    );
    let (accounted, _) = supply_accounted(c.store.as_ref()).unwrap();
    assert_eq!(accounted, after.total_issuance as u128);

    // Nothing of the old subnet is left under netuid 1: only the newcomer's own neuron.
    let newcomer = subnet::uid_key(1, &hot("newcomer").account());
    assert_eq!(neurons(), vec![subnet::neuron_key(1, 0)]);
    assert_eq!(uids(), vec![newcomer]);
    assert_eq!(c.neuron(0).hotkey, hot("newcomer").account());
    assert!(weights().is_empty(), "weights");
    assert!(bonds().is_empty(), "bonds");
    assert!(epochs().is_empty(), "epoch history");
    assert!(commits().is_empty(), "unrevealed commits");
    for n in stakers {
        assert!(
            c.ledger
                .registrations(&hot(n).account())
                .unwrap()
                .is_empty(),
            "{n} is registered nowhere"
        );
    }
    // Root forgot it: no member's weight and no stored share names netuid 1.
    let row = root_row(&c).unwrap();
    assert_eq!(row.len(), 127);
    assert!(row.iter().all(|e| e.0 != 1), "{row:?}");
    let stored = subnet::root::shares(&c.ledger.view()).unwrap().unwrap();
    assert!(stored.shares.iter().all(|s| s.0 != 1));
    // The stake behind its hotkeys is the hotkeys' and stays with them, owners unchanged.
    assert_eq!(staked(&c), stake_before);
}
