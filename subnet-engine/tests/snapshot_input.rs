//! The snapshot reader of `docs/yuma-snapshot.md`: every malformed field is refused with its path,
//! every given field takes effect, sequences inherit what they leave out, and the output has the
//! documented shape (sparse past 1024 uids).

use serde_json::{json, Value};
use tensorchain_subnet_engine::fx::{from_u16, Fx};
use tensorchain_subnet_engine::snapshot::{output_json, simulate, SnapshotError, MAX_UIDS};
use tensorchain_subnet_engine::{run_epoch, BondRow, EpochInput, EpochOutput, Params};

/// Two validators (uids 0, 1) and two miners (2, 3).
fn epoch() -> Value {
    json!({
        "stake": [600, 400, 0, 0],
        "weights": {"0": [[2, 65535], [3, 30000]], "1": [[2, 10000], [3, 65535]]},
        "last_update": [190, 190, 0, 0],
        "block_at_registration": [0, 0, 0, 0],
        "current_block": 200,
    })
}

fn with(mut base: Value, key: &str, v: Value) -> Value {
    base[key] = v;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

fn one(snapshot: &Value) -> EpochOutput {
    let (mut outs, sequence) = simulate(snapshot).unwrap();
    assert!(!sequence);
    assert_eq!(outs.len(), 1);
    outs.remove(0)
}

fn refused(snapshot: Value) -> SnapshotError {
    simulate(&snapshot).expect_err(&format!("accepted {snapshot}"))
}

#[track_caller]
fn refused_at(snapshot: Value, path: &str, fragment: &str) {
    let e = refused(snapshot);
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(fragment), "{e}");
    assert_eq!(e.to_string(), format!("{}: {}", e.path, e.message));
}

/// What `run_epoch` gives on the input the snapshot describes, built by hand.
fn input() -> EpochInput {
    EpochInput {
        stake: vec![600, 400, 0, 0],
        weights: vec![
            vec![(2, 65535), (3, 30000)],
            vec![(2, 10000), (3, 65535)],
            vec![],
            vec![],
        ],
        bonds: vec![vec![]; 4],
        last_update: vec![190, 190, 0, 0],
        block_at_registration: vec![0; 4],
        current_block: 200,
        validator_permit: vec![true, true, false, false],
        owner_uid: None,
        last_epoch_block: 0,
        commit_block: vec![None; 4],
        emission: 1_000_000_000,
        params: Params::default(),
    }
}

#[test]
fn a_plain_epoch_is_the_documented_defaults() {
    assert_eq!(one(&epoch()), run_epoch(&input()));
    // A whole reference-case file runs its input; an "input" without "expected" is a field.
    let case = json!({"input": epoch(), "expected": {}});
    assert_eq!(one(&case), run_epoch(&input()));
    refused_at(json!({"input": epoch()}), "input.input", "unknown field");
    refused_at(json!([1, 2]), "input", "expected a JSON object");
}

#[test]
fn every_given_field_takes_effect() {
    let mut want = input();
    want.bonds = vec![
        vec![(2, from_u16(65535))],
        vec![(3, from_u16(1000))],
        vec![],
        vec![],
    ];
    want.validator_permit = vec![true, false, true, false];
    want.owner_uid = Some(1);
    want.last_epoch_block = 150;
    want.emission = 77;
    want.current_block = 201;
    want.last_update = vec![190, 180, 5, 0];
    want.block_at_registration = vec![0, 0, 1, 2];
    want.params = Params {
        kappa_u16: 30000,
        bonds_moving_average: 800_000,
        bonds_penalty_u16: 1000,
        tempo: 100,
        activity_cutoff: 15,
        max_allowed_validators: 3,
        stake_threshold: 500,
        yuma3: false,
        liquid_alpha: true,
        alpha_low_u16: 100,
        alpha_high_u16: 200,
        alpha_sigmoid_steepness: -7,
        commit_reveal: true,
    };
    let snapshot = json!({
        "stake": [600, 400.9, 0, 0],
        "weights": [[0, 0, 65535, 30000], [0, 0, 10000, 65535], [0, 0, 0, 0], [0, 0, 0, 0]],
        "bonds": {"0": [[2, 65535]], "1": [[3, 1000]]},
        "last_update": [190, 180.0, 5, 0],
        "block_at_registration": [0, 0, 1, 2],
        "current_block": 201,
        "validator_permit": [true, false, true, false],
        "owner_uid": 1,
        "last_epoch_block": 150,
        "emission": 77.9,
        "description": "ignored text",
        "params": {
            "kappa_u16": 30000, "bonds_moving_average": 800000, "bonds_penalty_u16": 1000,
            "tempo": 100, "activity_cutoff": 15, "max_allowed_validators": 3,
            "stake_threshold": 500, "yuma3": false, "liquid_alpha": true,
            "alpha_low_u16": 100, "alpha_high_u16": 200, "alpha_sigmoid_steepness": -7,
            "commit_reveal": true, "legacy_outputs": true
        }
    });
    assert_eq!(one(&snapshot), run_epoch(&want));
    // Null permits are the top stakes; null owner is none; commit blocks switch commit-reveal on.
    let mut want = input();
    want.commit_block = vec![Some(100), None, None, Some(3)];
    want.params.commit_reveal = true;
    let s = with(
        with(epoch(), "validator_permit", Value::Null),
        "owner_uid",
        Value::Null,
    );
    let s = with(s, "commit_block", json!([100, null, null, 3]));
    assert_eq!(one(&s), run_epoch(&want));
    // All-null commit blocks leave it off.
    let s = with(epoch(), "commit_block", json!([null, null, null, null]));
    assert_eq!(one(&s), run_epoch(&input()));
}

#[test]
fn numbers_out_of_their_range_are_refused() {
    let cases = [
        (
            "current_block",
            json!(-1),
            "input.current_block",
            "must not be negative",
        ),
        (
            "current_block",
            json!(1.5),
            "input.current_block",
            "whole block number",
        ),
        (
            "current_block",
            json!(1e30),
            "input.current_block",
            "whole block number",
        ),
        (
            "current_block",
            json!("1"),
            "input.current_block",
            "expected a number",
        ),
        (
            "emission",
            json!(1.9e19),
            "input.emission",
            "does not fit in u64 rao",
        ),
        (
            "emission",
            json!(-0.5),
            "input.emission",
            "must not be negative",
        ),
        (
            "owner_uid",
            json!(4),
            "input.owner_uid",
            "uid 4 is out of range for n = 4",
        ),
        ("owner_uid", json!("x"), "input.owner_uid", "expected a uid"),
        ("owner_uid", json!(-1), "input.owner_uid", "expected a uid"),
        (
            "stake",
            json!([1, -2, 0, 0]),
            "input.stake[1]",
            "must not be negative",
        ),
        ("stake", json!(5), "input.stake", "expected a list"),
        (
            "last_update",
            json!([1, 2, 3]),
            "input.last_update",
            "has 3 entries, expected n = 4",
        ),
        (
            "last_update",
            json!([1, 2, 3, 4.5]),
            "input.last_update[3]",
            "whole block",
        ),
        (
            "validator_permit",
            json!([true, 1, true, true]),
            "input.validator_permit[1]",
            "true or false",
        ),
        (
            "commit_block",
            json!([1, 2, "x", null]),
            "input.commit_block[2]",
            "expected a number",
        ),
        (
            "last_epoch_block",
            json!(-3),
            "input.last_epoch_block",
            "must not be negative",
        ),
    ];
    for (key, v, path, fragment) in cases {
        refused_at(with(epoch(), key, v), path, fragment);
    }
    // The largest whole number is accepted as a block (and u64::MAX as rao).
    let s = with(epoch(), "emission", json!(u64::MAX));
    assert!(one(&s).emission.iter().sum::<u64>() > 0);
    let s = with(epoch(), "current_block", json!(1e15));
    assert_eq!(one(&s).last_tempo, 1_000_000_000_000_000 - 360);
}

#[test]
fn required_and_unknown_fields() {
    for key in [
        "stake",
        "last_update",
        "block_at_registration",
        "current_block",
    ] {
        refused_at(
            without(epoch(), key),
            &format!("input.{key}"),
            "is required",
        );
    }
    refused_at(
        with(epoch(), "stakes", json!([])),
        "input.stakes",
        "unknown field",
    );
    let too_many = vec![0u64; MAX_UIDS + 1];
    refused_at(
        with(epoch(), "stake", json!(too_many)),
        "input.stake",
        "4097 uids is more than the 4096",
    );
}

#[test]
fn matrices_dense_or_sparse_and_their_errors() {
    // Dense and sparse give the same weights.
    let dense = with(
        epoch(),
        "weights",
        json!([
            [0, 0, 65535, 30000],
            [0, 0, 10000, 65535],
            [0, 0, 0, 0],
            [0, 0, 0, 0]
        ]),
    );
    assert_eq!(one(&dense), one(&epoch()));
    let unsorted = with(
        epoch(),
        "weights",
        json!({"1": [[3, 65535], [2, 10000]], "0": [[3, 30000], [2, 65535]]}),
    );
    assert_eq!(one(&unsorted), one(&epoch()), "sparse rows are sorted");
    let null = with(epoch(), "weights", Value::Null);
    let mut want = input();
    want.weights = vec![vec![]; 4];
    assert_eq!(one(&null), run_epoch(&want));
    let cases = [
        (
            json!([[0, 0, 0, 0]]),
            "input.weights",
            "has 1 rows, expected n = 4",
        ),
        (
            json!([[0, 0, 0, 0], [0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]),
            "input.weights[1]",
            "has 3 entries",
        ),
        (
            json!([[0, 0, 0, 65536], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]),
            "input.weights[0][3]",
            "0..=65535",
        ),
        (
            json!({"4": []}),
            "input.weights",
            "row key '4' is not a uid below n = 4",
        ),
        (json!({"x": []}), "input.weights", "row key 'x'"),
        (json!({"0": 5}), "input.weights.0", "expected a list"),
        (
            json!({"0": [[1]]}),
            "input.weights.0[0]",
            "expected [uid, value]",
        ),
        (
            json!({"0": [[1, 2, 3]]}),
            "input.weights.0[0]",
            "expected [uid, value]",
        ),
        (json!({"0": [5]}), "input.weights.0[0]", "expected a list"),
        (
            json!({"0": [[4, 1]]}),
            "input.weights.0[0]",
            "uid 4 is out of range",
        ),
        (json!({"0": [[1, -1]]}), "input.weights.0[0]", "0..=65535"),
        (
            json!({"0": [[1, 2], [1, 3]]}),
            "input.weights.0[1]",
            "uid 1 appears twice in row 0",
        ),
        (json!("dense"), "input.weights", "expected a matrix"),
    ];
    for (m, path, fragment) in cases {
        refused_at(with(epoch(), "weights", m), path, fragment);
    }
    refused_at(
        with(epoch(), "bonds", json!({"0": [[9, 1]]})),
        "input.bonds.0[0]",
        "uid 9 is out of range",
    );
}

#[test]
fn params_are_checked_one_by_one() {
    let p = |v: Value| with(epoch(), "params", v);
    let cases = [
        (json!(3), "input.params", "expected an object"),
        (
            json!({"kappa": 1}),
            "input.params.kappa",
            "unknown parameter",
        ),
        (
            json!({"bonds_moving_average": 1000001}),
            "input.params.bonds_moving_average",
            "at most 1000000",
        ),
        (
            json!({"yuma3": 1}),
            "input.params.yuma3",
            "expected true or false",
        ),
        (
            json!({"liquid_alpha": "yes"}),
            "input.params.liquid_alpha",
            "expected true or false",
        ),
        (
            json!({"commit_reveal": 0}),
            "input.params.commit_reveal",
            "expected true or false",
        ),
        (
            json!({"alpha_sigmoid_steepness": 32768}),
            "input.params.alpha_sigmoid_steepness",
            "-32768..=32767",
        ),
        (
            json!({"alpha_sigmoid_steepness": 1.5}),
            "input.params.alpha_sigmoid_steepness",
            "-32768..=32767",
        ),
        (
            json!({"alpha_low_u16": 300, "alpha_high_u16": 200}),
            "input.params",
            "alpha_low_u16 must not exceed",
        ),
        (
            json!({"kappa_u16": 70000}),
            "input.params.kappa_u16",
            "0..=65535",
        ),
        (
            json!({"stake_threshold": -1}),
            "input.params.stake_threshold",
            "must not be negative",
        ),
    ];
    for (v, path, fragment) in cases {
        refused_at(p(v), path, fragment);
    }
    // The boundaries themselves are accepted.
    let ok = p(
        json!({"bonds_moving_average": 1000000, "alpha_low_u16": 200,
                      "alpha_high_u16": 200, "alpha_sigmoid_steepness": -32768}),
    );
    let mut want = input();
    want.params.bonds_moving_average = 1_000_000;
    want.params.alpha_low_u16 = 200;
    want.params.alpha_high_u16 = 200;
    want.params.alpha_sigmoid_steepness = -32768;
    assert_eq!(one(&ok), run_epoch(&want));
    // Explicit commit_reveal false contradicts commit blocks; true agrees with them.
    let s = with(
        with(epoch(), "commit_block", json!([1, 1, null, null])),
        "params",
        json!({"commit_reveal": false}),
    );
    refused_at(s, "input.commit_block", "commit_reveal is false");
    // Without commit blocks, commit_reveal false is fine.
    let s = with(
        with(epoch(), "commit_block", json!([null, null, null, null])),
        "params",
        json!({"commit_reveal": false}),
    );
    assert_eq!(one(&s), run_epoch(&input()));
}

fn seq(epochs: Value, carry: Option<bool>, quantize: Option<bool>) -> Value {
    let mut s = json!({ "epochs": epochs });
    if let Some(c) = carry {
        s["carry"] = json!(c);
    }
    if let Some(q) = quantize {
        s["quantize"] = json!(q);
    }
    s
}

#[test]
fn a_sequence_inherits_what_it_leaves_out() {
    let second = json!({"current_block": 560, "emission": 5, "last_epoch_block": 200,
                        "params": {"tempo": 10}, "owner_uid": 0});
    let (outs, sequence) = simulate(&seq(json!([epoch(), second]), Some(false), None)).unwrap();
    assert!(sequence);
    let mut want = input();
    want.current_block = 560;
    want.emission = 5;
    want.last_epoch_block = 200;
    want.params.tempo = 10;
    want.owner_uid = Some(0);
    assert_eq!(outs[1], run_epoch(&want));
    // Per-uid fields are not inherited across a change of n.
    let grown = json!({"stake": [600, 400, 0, 0, 0], "bonds": null});
    let e = simulate(&seq(json!([epoch(), grown]), Some(false), None)).unwrap_err();
    assert_eq!(e.path, "epochs[1].last_update");
    // Inherited with the same n: stake, weights, blocks, permits, commit blocks, owner.
    let first = with(
        with(epoch(), "owner_uid", json!(3)),
        "commit_block",
        json!([100, null, null, null]),
    );
    let first = with(first, "validator_permit", json!([true, false, false, true]));
    let first = with(first, "last_epoch_block", json!(7));
    let first = with(first, "emission", json!(3));
    let (outs, _) = simulate(&seq(json!([first, {}]), Some(false), None)).unwrap();
    assert_eq!(outs[0], outs[1]);
    // Registration blocks are inherited as themselves (not as the last updates): miners updated
    // after block 190 but registered at 0 keep the validators' weights.
    let first = with(epoch(), "last_update", json!([190, 190, 195, 195]));
    let (outs, _) = simulate(&seq(json!([first, {}]), Some(false), None)).unwrap();
    assert_eq!(outs[0], outs[1]);
    assert!(outs[1].weights_effective[0].len() == 2);
    // An owner uid beyond a shrunk subnet is dropped.
    let shrunk = json!({"stake": [1, 1], "last_update": [1, 1], "block_at_registration": [0, 0],
                        "bonds": null});
    let (outs, _) = simulate(&seq(
        json!([with(epoch(), "owner_uid", json!(3)), shrunk]),
        Some(false),
        None,
    ))
    .unwrap();
    assert_eq!(outs[1].n, 2);
    let mut small = EpochInput {
        stake: vec![1, 1],
        weights: vec![vec![]; 2],
        bonds: vec![vec![]; 2],
        last_update: vec![1, 1],
        block_at_registration: vec![0, 0],
        validator_permit: vec![true, true],
        commit_block: vec![None; 2],
        ..input()
    };
    small.owner_uid = None;
    assert_eq!(outs[1], run_epoch(&small));
}

#[test]
fn sequence_flags_and_shapes() {
    refused_at(seq(json!(5), None, None), "epochs", "expected a list");
    refused_at(
        seq(json!([5]), None, None),
        "epochs[0]",
        "expected an object",
    );
    refused_at(
        seq(json!([epoch()]), None, None).pipe(|mut s| {
            s["carry"] = json!("yes");
            s
        }),
        "carry",
        "expected true or false",
    );
    refused_at(
        seq(json!([epoch()]), Some(false), Some(true)),
        "quantize",
        "no effect without",
    );
    // A single-element sequence is still a sequence, and explicit bonds need no carry flag.
    let (outs, sequence) = simulate(&seq(json!([epoch()]), None, None)).unwrap();
    assert!(sequence);
    assert_eq!(outs, vec![run_epoch(&input())]);
    let two = json!([epoch(), with(epoch(), "bonds", json!({"0": [[2, 100]]}))]);
    assert_eq!(simulate(&seq(two, None, None)).unwrap().0.len(), 2);
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl Pipe for Value {}

#[test]
fn carrying_starts_from_the_new_bonds_and_permits_and_quantize_floors_them() {
    let first = one(&epoch());
    let second = json!({"current_block": 560});
    let (carried, _) = simulate(&seq(json!([epoch(), second]), Some(true), None)).unwrap();
    let mut want = input();
    want.current_block = 560;
    want.validator_permit = first.new_validator_permit.clone();
    want.bonds = (0..4)
        .map(|i| match &first.new_bonds_u16[i] {
            BondRow::Untouched => vec![],
            BondRow::Cleared => vec![],
            BondRow::Set(_) => first.new_bonds[i]
                .iter()
                .filter(|e| e.1 > Fx::ZERO)
                .copied()
                .collect(),
        })
        .collect();
    assert!(want.bonds.iter().any(|r| !r.is_empty()));
    assert_eq!(carried[1], run_epoch(&want));
    // Quantized: the stored u16 values.
    let (quantized, _) = simulate(&seq(json!([epoch(), second]), Some(true), Some(true))).unwrap();
    want.bonds = (0..4)
        .map(|i| match &first.new_bonds_u16[i] {
            BondRow::Set(row) => row.iter().map(|&(j, b)| (j, from_u16(b))).collect(),
            _ => vec![],
        })
        .collect();
    assert_eq!(quantized[1], run_epoch(&want));
    assert_ne!(quantized[1], carried[1]);
    // Given permits are kept when carrying.
    let second = json!({"current_block": 560, "validator_permit": [true, true, true, true]});
    let (outs, _) = simulate(&seq(json!([epoch(), second]), Some(true), None)).unwrap();
    assert_eq!(outs[1].validator_permit_used, vec![true; 4]);
}

#[test]
fn carrying_keeps_untouched_rows_and_empties_cleared_ones() {
    // Uid 1 held a permit and loses it (max one validator): its row is cleared. Uid 3 never had
    // one: its stored row is untouched and carried as it was.
    let first = with(
        with(epoch(), "params", json!({"max_allowed_validators": 1})),
        "bonds",
        json!({"1": [[2, 500]], "3": [[2, 700]]}),
    );
    let first = with(first, "validator_permit", json!([true, true, false, false]));
    let out = one(&first);
    assert_eq!(out.new_bonds_u16[1], BondRow::Cleared);
    assert_eq!(out.new_bonds_u16[3], BondRow::Untouched);
    let second = json!({"current_block": 560});
    let (outs, _) = simulate(&seq(json!([first.clone(), second]), Some(true), None)).unwrap();
    let mut want = input();
    want.current_block = 560;
    want.params.max_allowed_validators = 1;
    want.validator_permit = out.new_validator_permit.clone();
    want.bonds = vec![
        out.new_bonds[0]
            .iter()
            .filter(|e| e.1 > Fx::ZERO)
            .copied()
            .collect(),
        vec![],
        vec![],
        vec![(2, from_u16(700))],
    ];
    assert_eq!(outs[1], run_epoch(&want));
}

#[test]
fn set_weights_and_reset_bonds_for() {
    let second = json!({
        "current_block": 560,
        "set_weights": {"1": [[3, 2], [0.5, 1.0]], "0": [[1], [0]]},
        "reset_bonds_for": [2],
    });
    let first = with(
        epoch(),
        "bonds",
        json!({"0": [[2, 100], [3, 200]], "1": [[2, 5]]}),
    );
    let (outs, _) = simulate(&seq(json!([first, second]), Some(false), None)).unwrap();
    let mut want = input();
    want.current_block = 560;
    want.weights[1] = vec![(2, 65535), (3, 32768)];
    want.weights[0] = vec![(1, 0)];
    want.last_update = vec![560, 560, 0, 0];
    want.bonds = vec![vec![(3, from_u16(200))], vec![], vec![], vec![]];
    assert_eq!(outs[1], run_epoch(&want));
    let bad = |sw: Value, path: &str, fragment: &str| {
        refused_at(with(epoch(), "set_weights", sw), path, fragment)
    };
    bad(json!([1]), "input.set_weights", "expected {");
    bad(
        json!({"4": [[], []]}),
        "input.set_weights.4",
        "'4' is not a uid below n = 4",
    );
    bad(
        json!({"0": [[]]}),
        "input.set_weights.0",
        "expected [[uids], [values]]",
    );
    bad(
        json!({"0": [[1, 2], [1]]}),
        "input.set_weights.0",
        "2 uids but 1 values",
    );
    bad(
        json!({"0": [[1], [-1]]}),
        "input.set_weights.0[1][0]",
        "must not be negative",
    );
    bad(
        json!({"0": [[9], [1]]}),
        "input.set_weights.0[0][0]",
        "uid 9 is out of range",
    );
    bad(
        json!({"0": [[1, 1], [1, 2]]}),
        "input.set_weights.0",
        "uid 1 appears twice",
    );
    refused_at(
        with(epoch(), "reset_bonds_for", json!([1, 4])),
        "input.reset_bonds_for[1]",
        "uid 4 is out of range",
    );
}

#[test]
fn output_has_every_documented_key_with_its_values() {
    let out = one(&epoch());
    let j = output_json(&out);
    let real = |v: &[Fx]| json!(v.iter().map(|x| x.to_num::<f64>()).collect::<Vec<_>>());
    assert_eq!(j["n"], json!(4));
    assert_eq!(j["active"], json!(out.active));
    assert_eq!(j["stake"], real(&out.stake));
    assert_eq!(j["incentive"], real(&out.incentive));
    assert_eq!(j["rank"], real(&out.incentive));
    assert_eq!(j["dividends"], real(&out.dividends));
    assert_eq!(j["consensus"], real(&out.consensus));
    assert_eq!(j["emission"], json!(out.emission));
    assert_eq!(j["last_tempo"], json!(out.last_tempo));
    assert_eq!(
        j["bonds_alpha"],
        json!(out.bonds_alpha.unwrap().to_num::<f64>())
    );
    let u16s = |v: &[Fx]| {
        json!(v
            .iter()
            .map(|&x| tensorchain_subnet_engine::fx::to_u16(x))
            .collect::<Vec<_>>())
    };
    assert_eq!(j["incentive_u16"], u16s(&out.incentive));
    assert_eq!(j["consensus_u16"], u16s(&out.consensus));
    // Dense matrices: row i, column j.
    let w = &j["weights_effective"];
    assert_eq!(w.as_array().unwrap().len(), 4);
    assert_eq!(w[2], json!([0.0, 0.0, 0.0, 0.0]));
    for &(col, x) in &out.weights_effective[1] {
        assert_eq!(w[1][col as usize], json!(x.to_num::<f64>()));
    }
    // Bond rows: untouched null, set dense.
    let rows = j["new_bonds_u16"].as_array().unwrap();
    assert_eq!(rows[2], Value::Null);
    let BondRow::Set(r0) = &out.new_bonds_u16[0] else {
        panic!("uid 0 holds a permit")
    };
    let mut dense = vec![0u16; 4];
    for &(col, b) in r0 {
        dense[col as usize] = b;
    }
    assert_eq!(rows[0], json!(dense));
    // A cleared row prints as [].
    let cleared = one(&with(
        with(epoch(), "params", json!({"max_allowed_validators": 1})),
        "validator_permit",
        json!([true, true, false, false]),
    ));
    assert_eq!(output_json(&cleared)["new_bonds_u16"][1], json!([]));
}

#[test]
fn output_matrices_are_dense_up_to_1024_uids_and_sparse_beyond() {
    for n in [1024usize, 1025] {
        let mut stake = vec![0u64; n];
        stake[0] = 1000;
        let s = json!({
            "stake": stake,
            "weights": {"0": [[n - 1, 65535]]},
            "last_update": vec![10u64; n],
            "block_at_registration": vec![0u64; n],
            "current_block": 20,
        });
        let out = one(&s);
        let j = output_json(&out);
        let w = &j["weights_effective"];
        let bonds = &j["new_bonds_u16"][0];
        if n == 1024 {
            assert_eq!(w.as_array().unwrap().len(), n);
            assert_eq!(w[0][n - 1], json!(1.0));
            assert_eq!(bonds.as_array().unwrap().len(), n);
        } else {
            assert_eq!(w, &json!({"0": [[n - 1, 1.0]]}));
            let BondRow::Set(row) = &out.new_bonds_u16[0] else {
                panic!("uid 0 holds a permit")
            };
            assert_eq!(row.len(), 1);
            assert_eq!(bonds, &json!([[n - 1, row[0].1]]));
            assert_eq!(j["ema_bonds"].as_object().unwrap().len(), 1);
        }
    }
}
