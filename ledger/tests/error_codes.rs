//! Error codes are API: clients match on them. They are derived from the variant names, so a
//! renamed variant would silently change one; this list pins every code ever published.

use strum::IntoEnumIterator;
use tensorchain_ledger::TxError;

const CODES: &[&str] = &[
    "wrong_chain_id",
    "invalid_key",
    "weak_key",
    "bad_signature",
    "bad_fee",
    "bad_nonce",
    "account_not_found",
    "zero_amount",
    "insufficient_balance",
    "amount_overflow",
    "stake_below_minimum",
    "insufficient_stake",
    "hotkey_not_found",
    "not_hotkey_owner",
    "take_too_high",
    "registration_cost_exceeds_max",
    "subnet_limit_reached",
    "subnet_not_found",
    "registration_disabled",
    "hotkey_already_registered",
    "subnet_full",
    "hotkey_not_registered",
    "not_subnet_owner",
    "sudo_required",
    "unknown_hyperparameter",
    "hyperparameter_out_of_range",
    "identity_too_long",
    "tx_too_large",
    "salt_too_long",
    "weights_length_mismatch",
    "too_many_weights",
    "incorrect_weights_version",
    "weights_rate_limited",
    "no_validator_permit",
    "duplicate_uids",
    "uid_out_of_range",
    "not_enough_weights",
    "max_weight_exceeded",
    "bad_axon",
    "root_full",
    "commit_reveal_enabled",
    "commit_reveal_disabled",
    "too_many_commits",
    "no_matching_commit",
    "reveal_too_early",
    "commit_expired",
    "validator_already_registered",
    "validator_not_registered",
    "validator_jailed",
    "validator_without_stake",
    "invalid_evidence",
    "evidence_already_handled",
    "take_rate_limited",
    "hyperparameter_rate_limited",
    "serving_rate_limited",
    "root_stake_not_settled",
    "hyperparameter_freeze_window",
    "pow_block_stale",
    "pow_block_in_future",
    "pow_work_too_easy",
    "too_many_registrations_this_block",
    "pow_signer_not_hotkey",
    "wrong_registration_mode",
    "faucet_disabled",
    "faucet_solution_used",
    "faucet_busy",
    "same_hotkey",
    "same_coldkey",
    "no_stake",
    "new_hotkey_in_use",
    "hotkey_swap_rate_limited",
    "hotkey_is_active_validator",
    "stake_bonded_to_validator",
    "internal_error",
];

#[test]
fn every_published_code_is_still_produced_and_no_other() {
    let mut derived: Vec<&str> = TxError::iter().map(|e| e.code()).collect();
    let mut published = CODES.to_vec();
    derived.sort_unstable();
    published.sort_unstable();
    assert_eq!(derived, published);
}

#[test]
fn details_carry_the_fields_with_amounts_as_strings() {
    let e = TxError::InsufficientBalance {
        needed: 10,
        available: 3,
    };
    assert_eq!(
        e.details(),
        serde_json::json!({"needed": "10", "available": "3"})
    );
    let e = TxError::BadNonce {
        expected: 5,
        got: 2,
    };
    assert_eq!(
        e.details(),
        serde_json::json!({"expected": 5, "got": 2, "reason": "stale"})
    );
    let e = TxError::TakeRateLimited {
        last: 7,
        retry_after_blocks: 3,
    };
    assert_eq!(
        e.details(),
        serde_json::json!({"last_increase": 7, "retry_after_blocks": 3})
    );
    assert_eq!(TxError::BadSignature.details(), serde_json::json!({}));
    assert_eq!(
        TxError::Storage("disk".into()).details(),
        serde_json::json!({})
    );
}
