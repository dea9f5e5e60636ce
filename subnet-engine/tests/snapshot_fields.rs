//! `tensorchain yuma simulate` never ignores what it is given: a field takes effect, or the input
//! is refused with an error naming the field and what is missing.

use serde_json::{json, Value};
use tensorchain_subnet_engine::snapshot::simulate;

/// Two validators and two miners; validator 1 committed at block 150, after miner 3 registered
/// at block 100 — so under commit-reveal its weight on miner 3 is masked.
fn epoch() -> Value {
    json!({
        "stake": [600, 400, 0, 0],
        "weights": {"0": [[2, 65535], [3, 65535]], "1": [[2, 65535], [3, 65535]]},
        "last_update": [190, 190, 0, 0],
        "block_at_registration": [0, 0, 0, 170],
        "current_block": 200,
    })
}

#[test]
fn commit_blocks_apply_the_commit_reveal_mask_without_the_flag() {
    let plain = simulate(&epoch()).unwrap().0.remove(0);
    let mut with_commits = epoch();
    with_commits["commit_block"] = json!([150, 150, null, null]);
    let masked = simulate(&with_commits).unwrap().0.remove(0);
    assert_ne!(
        plain.incentive, masked.incentive,
        "the commits (before miner 3 registered) mask the weights on it"
    );
    let mut flagged = with_commits.clone();
    flagged["params"] = json!({"commit_reveal": true});
    assert_eq!(simulate(&flagged).unwrap().0[0].incentive, masked.incentive);
    flagged["params"] = json!({"commit_reveal": false});
    let e = simulate(&flagged).unwrap_err();
    assert_eq!(e.path, "input.commit_block");
    assert!(e.message.contains("commit_reveal is false"), "{e}");
}

#[test]
fn a_sequence_must_say_where_later_bonds_come_from() {
    let second = json!({"current_block": 560});
    let e = simulate(&json!({"epochs": [epoch(), second]})).unwrap_err();
    assert_eq!(e.path, "epochs[1].bonds");
    assert!(e.message.contains("\"carry\": true"), "{e}");
    let carried = simulate(&json!({"carry": true, "epochs": [epoch(), second]})).unwrap();
    let kept = simulate(&json!({"carry": false, "epochs": [epoch(), second]})).unwrap();
    assert_eq!(carried.0.len(), 2);
    assert_ne!(
        carried.0[1].new_bonds, kept.0[1].new_bonds,
        "carrying starts epoch 2 from epoch 1's bonds, not the empty input ones"
    );
    let e = simulate(&json!({"quantize": true, "epochs": [epoch(), second]})).unwrap_err();
    assert_eq!(e.path, "quantize");
}
