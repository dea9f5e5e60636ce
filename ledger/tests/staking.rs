//! Staking calls: add, remove and take, every rejection, and stake accounting that always adds up.

mod common;

use common::{key, open_genesis, staked_validator, test_genesis, FEE};
use proptest::prelude::*;
use std::sync::Arc;
use tensorchain_ledger::state::{MAX_TAKE, MIN_STAKE};
use tensorchain_ledger::storage::schema::STAKE as STAKE_PREFIX;
use tensorchain_ledger::{supply_accounted, Column, Ledger, MemoryStore, Store, TxError};
use tensorchain_primitives::{Call, Keypair, SignedTx, RAO_PER_TAO};

const FUNDS: u64 = 1_000 * RAO_PER_TAO;

fn open() -> (Arc<MemoryStore>, Ledger) {
    let g = test_genesis(b"staking genesis", &["alice", "bob", "carol"], FUNDS);
    let c = open_genesis(staked_validator(g, "alice", FUNDS));
    (c.store, c.ledger)
}

fn tx(from: &Keypair, ledger: &Ledger, call: Call) -> SignedTx {
    common::signed(ledger, from, FEE, call)
}

fn produce(ledger: &Ledger, txs: Vec<SignedTx>) -> Vec<TxError> {
    common::produce(ledger, txs).0
}

fn assert_accounts_add_up(store: &MemoryStore) {
    let (accounted, g) = supply_accounted(store).unwrap();
    assert_eq!(accounted, g.total_issuance as u128);
    let stake_records: u64 = store
        .scan_prefix(Column::State, &[STAKE_PREFIX])
        .unwrap()
        .iter()
        .map(|(_, v)| u64::from_le_bytes(v[..8].try_into().unwrap()))
        .sum();
    assert_eq!(
        stake_records, g.total_stake,
        "stake records sum to the chain's total stake"
    );
}

#[test]
fn stake_moves_between_free_and_bonded() {
    let (store, ledger) = open();
    let (bob, hot) = (key("bob"), key("bob/hot").account());
    assert!(produce(
        &ledger,
        vec![tx(
            &bob,
            &ledger,
            Call::AddStake {
                hotkey: hot,
                amount: 10 * RAO_PER_TAO
            }
        )]
    )
    .is_empty());
    let a = ledger.account(&bob.account()).unwrap().unwrap();
    assert_eq!(
        (a.free, a.staked),
        (FUNDS - 10 * RAO_PER_TAO - FEE, 10 * RAO_PER_TAO)
    );
    let info = ledger.hotkey(&hot).unwrap().unwrap();
    assert_eq!(
        (info.owner, info.total_stake, info.take),
        (bob.account(), 10 * RAO_PER_TAO, MAX_TAKE)
    );
    assert_eq!(
        ledger.stakes_of(&bob.account()).unwrap(),
        vec![(hot, 10 * RAO_PER_TAO)]
    );

    // Carol nominates bob's hotkey; bob lowers his take.
    let carol = key("carol");
    assert!(produce(
        &ledger,
        vec![
            tx(
                &carol,
                &ledger,
                Call::AddStake {
                    hotkey: hot,
                    amount: RAO_PER_TAO
                }
            ),
            tx(
                &bob,
                &ledger,
                Call::SetTake {
                    hotkey: hot,
                    take: 6553
                }
            ),
        ]
    )
    .is_empty());
    assert_eq!(ledger.nominators_of(&hot).unwrap().len(), 2);
    assert_eq!(ledger.hotkey(&hot).unwrap().unwrap().take, 6553);

    assert!(produce(
        &ledger,
        vec![tx(
            &carol,
            &ledger,
            Call::RemoveStake {
                hotkey: hot,
                amount: RAO_PER_TAO
            }
        )]
    )
    .is_empty());
    assert_eq!(
        ledger.account(&carol.account()).unwrap().unwrap().free,
        FUNDS - 2 * FEE
    );
    assert_eq!(
        ledger.nominators_of(&hot).unwrap().len(),
        1,
        "an emptied stake leaves no record"
    );
    assert_accounts_add_up(&store);
}

#[test]
fn every_staking_rejection_is_named_and_changes_nothing() {
    let (store, ledger) = open();
    let (bob, carol) = (key("bob"), key("carol"));
    let hot = key("bob/hot").account();
    produce(
        &ledger,
        vec![tx(
            &bob,
            &ledger,
            Call::AddStake {
                hotkey: hot,
                amount: RAO_PER_TAO,
            },
        )],
    );
    let root = ledger.state_root().unwrap();
    let cases: Vec<(SignedTx, &str)> = vec![
        (
            tx(
                &bob,
                &ledger,
                Call::AddStake {
                    hotkey: hot,
                    amount: MIN_STAKE - 1,
                },
            ),
            "stake_below_minimum",
        ),
        (
            tx(
                &bob,
                &ledger,
                Call::AddStake {
                    hotkey: hot,
                    amount: 0,
                },
            ),
            "zero_amount",
        ),
        (
            tx(
                &bob,
                &ledger,
                Call::AddStake {
                    hotkey: hot,
                    amount: 2 * FUNDS,
                },
            ),
            "insufficient_balance",
        ),
        (
            tx(
                &bob,
                &ledger,
                Call::RemoveStake {
                    hotkey: hot,
                    amount: 2 * RAO_PER_TAO,
                },
            ),
            "insufficient_stake",
        ),
        (
            tx(
                &carol,
                &ledger,
                Call::RemoveStake {
                    hotkey: hot,
                    amount: 1,
                },
            ),
            "insufficient_stake",
        ),
        (
            tx(
                &carol,
                &ledger,
                Call::SetTake {
                    hotkey: hot,
                    take: 0,
                },
            ),
            "not_hotkey_owner",
        ),
        (
            tx(
                &bob,
                &ledger,
                Call::SetTake {
                    hotkey: hot,
                    take: MAX_TAKE + 1,
                },
            ),
            "take_too_high",
        ),
        (
            tx(
                &bob,
                &ledger,
                Call::SetTake {
                    hotkey: key("nobody").account(),
                    take: 0,
                },
            ),
            "hotkey_not_found",
        ),
    ];
    for (stx, code) in cases {
        let rejected = produce(&ledger, vec![stx]);
        assert_eq!(rejected.len(), 1, "{code}");
        assert_eq!(rejected[0].code(), code);
        assert_eq!(ledger.state_root().unwrap(), root, "{code} changed state");
    }
    assert_accounts_add_up(&store);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random stake, unstake, take and transfer sequences: supply and stake totals always add up.
    #[test]
    fn stake_accounting_always_adds_up(ops in prop::collection::vec((0usize..3, 0usize..3, 0u8..4, 0u64..5 * RAO_PER_TAO), 1..30)) {
        let (store, ledger) = open();
        let names = ["alice", "bob", "carol"];
        for chunk in ops.chunks(4) {
            let txs = chunk.iter().map(|&(who, hot, op, amount)| {
                let signer = key(names[who]);
                let hotkey = key(&format!("{}/hot", names[hot])).account();
                let call = match op {
                    0 => Call::AddStake { hotkey, amount },
                    1 => Call::RemoveStake { hotkey, amount },
                    2 => Call::SetTake { hotkey, take: (amount % 20_000) as u16 },
                    _ => Call::Transfer { to: hotkey, amount },
                };
                tx(&signer, &ledger, call)
            }).collect();
            produce(&ledger, txs);
            assert_accounts_add_up(&store);
        }
    }
}
