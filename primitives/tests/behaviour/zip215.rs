//! The chain's signature rule against ZIP-215's reference: every case of
//! `tests/data/zip215_vectors.txt` (ed25519-zebra 5's answers, with the chain's two key rules)
//! gets the same answer alone and in batches of every shape, and everything `verify_strict`
//! accepts, the rule accepts.

use proptest::prelude::*;
use tensorchain_primitives::{verify_many, AccountId, Signature};

struct Case {
    label: String,
    key: AccountId,
    signature: Signature,
    message: Vec<u8>,
    expected: Result<(), String>,
    strict: bool,
}

fn cases() -> Vec<Case> {
    include_str!("../data/zip215_vectors.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let bytes = |s: &str| hex::decode(s).expect("hex");
            Case {
                label: f[0].to_string(),
                key: AccountId(bytes(f[1]).try_into().expect("32 bytes")),
                signature: Signature(bytes(f[2]).try_into().expect("64 bytes")),
                message: bytes(f[3]),
                expected: match f[4] {
                    "ok" => Ok(()),
                    code => Err(code.to_string()),
                },
                strict: f[6] == "strict=1",
            }
        })
        .collect()
}

fn answer(r: Result<(), tensorchain_primitives::SignatureError>) -> Result<(), String> {
    r.map_err(|e| e.code().to_string())
}

fn many(cases: &[&Case]) -> Vec<Result<(), String>> {
    let items: Vec<(AccountId, &[u8], &Signature)> = cases
        .iter()
        .map(|c| (c.key, c.message.as_slice(), &c.signature))
        .collect();
    verify_many(&items).into_iter().map(answer).collect()
}

#[test]
fn every_vector_gets_the_reference_answer_alone_and_in_one_batch() {
    let cases = cases();
    assert!(cases.len() > 250, "{}", cases.len());
    for c in &cases {
        assert_eq!(
            answer(c.key.verify(&c.message, &c.signature)),
            c.expected,
            "{} {:?}",
            c.label,
            c.key
        );
        if c.strict {
            assert_eq!(c.expected, Ok(()), "verify_strict accepts {}", c.label);
        }
    }
    let all: Vec<&Case> = cases.iter().collect();
    let expected: Vec<_> = cases.iter().map(|c| c.expected.clone()).collect();
    assert_eq!(many(&all), expected);
    // Only valid ones: the batch equation alone decides, with no fallback.
    let good: Vec<&Case> = cases.iter().filter(|c| c.expected.is_ok()).collect();
    assert!(good.len() > 40, "{}", good.len());
    assert!(many(&good).iter().all(Result::is_ok));
    // The rule accepts what verify_strict refuses: mixed-order nonces and keys.
    for label in ["mixed_order_r", "mixed_order_key", "noncanonical_r_small_"] {
        assert!(
            cases
                .iter()
                .any(|c| c.label.starts_with(label) && !c.strict && c.expected.is_ok()),
            "{label}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any selection of cases, in any order, answers in a batch as each does alone: one bad
    /// signature among good ones is found, and fails nobody else.
    #[test]
    fn a_batch_answers_each_signature_as_alone(picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..40)) {
        let cases = cases();
        let chosen: Vec<&Case> = picks.iter().map(|i| &cases[i.index(cases.len())]).collect();
        let expected: Vec<_> = chosen.iter().map(|c| c.expected.clone()).collect();
        prop_assert_eq!(many(&chosen), expected);
    }
}
