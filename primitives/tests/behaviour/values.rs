//! Small value types whose exact behaviour other crates rely on: amounts in JSON, call names (the
//! fee table's keys), proof-of-work difficulty and the deterministic generator's sequence.

use serde::{Deserialize, Serialize};
use tensorchain_primitives::det_rng::SplitMix;
use tensorchain_primitives::pow::{meets_difficulty, work, WorkKind};
use tensorchain_primitives::{
    amount, format_tao, parse_tao, AccountId, AmountError, Call, DoubleSign, Hash, Keypair, Vote,
    VoteKind,
};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Payment {
    #[serde(with = "amount::as_string")]
    amount: u64,
}

#[test]
fn amounts_travel_in_json_as_decimal_strings() {
    let p = Payment { amount: u64::MAX };
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(json, r#"{"amount":"18446744073709551615"}"#);
    assert_eq!(serde_json::from_str::<Payment>(&json).unwrap(), p);
    let e = serde_json::from_str::<Payment>(r#"{"amount":"1.5"}"#).unwrap_err();
    assert!(e.to_string().contains("decimal string of rao"), "{e}");
    assert!(serde_json::from_str::<Payment>(r#"{"amount":15}"#).is_err());
}

#[test]
fn tao_amounts_parse_and_print_exactly() {
    assert_eq!(parse_tao(" 2.000000001 "), Ok(2_000_000_001));
    assert_eq!(parse_tao("0.123456789"), Ok(123_456_789));
    assert_eq!(parse_tao("3."), Ok(3_000_000_000));
    assert_eq!(parse_tao("."), Err(AmountError::Invalid(".".into())));
    assert_eq!(parse_tao("1.a"), Err(AmountError::Invalid("1.a".into())));
    assert_eq!(parse_tao("a.1"), Err(AmountError::Invalid("a.1".into())));
    // The largest amount that fits, and one rao more.
    assert_eq!(parse_tao("18446744073.709551615"), Ok(u64::MAX));
    assert_eq!(
        parse_tao("18446744073.709551616"),
        Err(AmountError::Overflow("18446744073.709551616".into()))
    );
    assert_eq!(format_tao(1), "0.000000001");
    assert_eq!(format_tao(12_300_000_000), "12.3");
    assert_eq!(format_tao(7_000_000_000), "7.0");
}

#[test]
fn every_call_has_its_stable_name() {
    let k = AccountId([1; 32]);
    let vote = Vote {
        chain_id: "t".into(),
        height: 1,
        round: 0,
        kind: VoteKind::Prevote,
        block_hash: None,
    };
    let sig = Keypair::dev("x").sign(b"");
    let calls = [
        (Call::Transfer { to: k, amount: 1 }, "transfer"),
        (
            Call::AddStake {
                hotkey: k,
                amount: 1,
            },
            "add_stake",
        ),
        (
            Call::RemoveStake {
                hotkey: k,
                amount: 1,
            },
            "remove_stake",
        ),
        (Call::SetTake { hotkey: k, take: 1 }, "set_take"),
        (
            Call::RegisterSubnet {
                hotkey: k,
                max_cost: 1,
                identity: String::new(),
            },
            "register_subnet",
        ),
        (
            Call::BurnedRegister {
                netuid: 1,
                hotkey: k,
                max_cost: 1,
            },
            "burned_register",
        ),
        (
            Call::SetHyperparameter {
                netuid: 1,
                name: String::new(),
                value: 1,
            },
            "set_hyperparameter",
        ),
        (
            Call::ServeAxon {
                netuid: 1,
                ip: [0; 16],
                port: 1,
                protocol: 4,
            },
            "serve_axon",
        ),
        (
            Call::SetWeights {
                netuid: 1,
                uids: vec![],
                values: vec![],
                version_key: 0,
            },
            "set_weights",
        ),
        (Call::RootRegister { hotkey: k }, "root_register"),
        (
            Call::CommitWeights {
                netuid: 1,
                hash: Hash::ZERO,
            },
            "commit_weights",
        ),
        (
            Call::RevealWeights {
                netuid: 1,
                uids: vec![],
                values: vec![],
                salt: vec![],
                version_key: 0,
            },
            "reveal_weights",
        ),
        (
            Call::SetRootWeights {
                netuids: vec![],
                values: vec![],
            },
            "set_root_weights",
        ),
        (Call::RegisterValidator { hotkey: k }, "register_validator"),
        (
            Call::UnregisterValidator { hotkey: k },
            "unregister_validator",
        ),
        (
            Call::ReportEquivocation {
                evidence: Box::new(DoubleSign {
                    validator: k,
                    first: vote.clone(),
                    first_signature: sig,
                    second: vote,
                    second_signature: sig,
                }),
            },
            "report_equivocation",
        ),
        (
            Call::PowRegister {
                netuid: 1,
                hotkey: k,
                coldkey: k,
                block_number: 1,
                nonce: 1,
            },
            "pow_register",
        ),
        (
            Call::Faucet {
                block_number: 1,
                nonce: 1,
            },
            "faucet",
        ),
        (Call::SwapHotkey { old: k, new: k }, "swap_hotkey"),
        (
            Call::MoveStake {
                from_hotkey: k,
                to_hotkey: k,
                amount: 1,
            },
            "move_stake",
        ),
        (
            Call::TransferStake {
                hotkey: k,
                dest: k,
                amount: 1,
            },
            "transfer_stake",
        ),
        (Call::RemoveAllStake { hotkey: k }, "remove_all_stake"),
    ];
    for (call, name) in &calls {
        assert_eq!(call.name(), *name);
        // The JSON tag is the same name.
        assert_eq!(serde_json::to_value(call).unwrap()["call"], *name);
    }
}

#[test]
fn difficulty_is_an_inclusive_bound_on_the_first_sixteen_bytes() {
    let with_head = |head: u128| {
        let mut h = [0xffu8; 32];
        h[..16].copy_from_slice(&head.to_be_bytes());
        Hash(h)
    };
    for d in [1u64, 2, 7, 1_000_000, u64::MAX] {
        let bound = u128::MAX / d as u128;
        assert!(meets_difficulty(&with_head(bound), d), "d = {d}");
        assert!(meets_difficulty(&with_head(0), d), "d = {d}");
        if d > 1 {
            assert!(!meets_difficulty(&with_head(bound + 1), d), "d = {d}");
        }
    }
    // Difficulty 0 is treated as 1: everything passes.
    assert!(meets_difficulty(&with_head(u128::MAX), 0));
    // The tail bytes do not matter.
    assert!(meets_difficulty(&with_head(u128::MAX / 7), 7));
    let k = AccountId([3; 32]);
    assert_ne!(
        work(WorkKind::Register, &Hash::ZERO, &Hash::ZERO, &k, &k, 0),
        Hash::ZERO
    );
}

#[test]
fn split_mix_is_the_reference_sequence() {
    // SplitMix64 from seed 0 (Vigna's reference implementation).
    let mut r = SplitMix(0);
    assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    assert_eq!(r.0, 3u64.wrapping_mul(0x9E37_79B9_7F4A_7C15));
}

#[test]
fn below_and_chance_stay_in_range() {
    let mut r = SplitMix(42);
    for n in [1u64, 2, 3, 10, 1000] {
        for _ in 0..200 {
            assert!(r.below(n) < n);
        }
    }
    assert_eq!(r.below(0), 0);
    let seen: std::collections::BTreeSet<u64> = (0..200).map(|_| r.below(5)).collect();
    assert_eq!(seen.len(), 5, "every value of 0..5 comes up");
    // below(n) is next_u64 mod n.
    let (mut a, mut b) = (SplitMix(9), SplitMix(9));
    for n in [7u64, 1 << 40, u64::MAX] {
        assert_eq!(a.below(n), b.next_u64() % n);
    }
    assert!((0..500).all(|_| !r.chance(0)));
    assert!((0..500).all(|_| r.chance(100)));
    let hits = (0..2000).filter(|_| r.chance(30)).count();
    assert!((500..700).contains(&hits), "{hits} of 2000 at 30%");
    // chance(p) is below(100) < p, exactly.
    let (mut a, mut b) = (SplitMix(5), SplitMix(5));
    for _ in 0..300 {
        assert_eq!(a.chance(50), b.below(100) < 50);
    }
}
