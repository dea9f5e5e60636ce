//! What to do about each transaction error, by its code. The ledger names the error; the hints
//! name REST routes and CLI commands, so they live here, beside the routes (issue 13).

/// The hint for a `TxError` code; "" for a code without one (a test keeps every code covered).
pub fn tx_hint(code: &str) -> &'static str {
    match code {
        "wrong_chain_id" => "sign for the chain id shown by GET /v1/chain",
        "invalid_key" | "weak_key" => "sign with a key made by `tensorchain wallet create`",
        "bad_signature" => {
            "sign blake3(\"tensorchain/tx/v2\" ‖ genesis_hash ‖ borsh(tx)) with the signer's key, \
             using genesis_hash from GET /v1/chain: a tx signed for another network (even one \
             with this chain id) fails here"
        }
        "bad_fee" => "use the fee listed under `fees` in GET /v1/chain",
        "bad_nonce" => "use `next_nonce` from GET /v1/accounts/{addr}",
        "account_not_found" => "fund the account with a transfer first",
        "zero_amount" => "send a positive amount",
        "insufficient_balance" => "check the balance with `tensorchain wallet balance`",
        "amount_overflow" => "send a smaller amount",
        "stake_below_minimum" => "stake at least 0.002 TAO",
        "insufficient_stake" => "check your stakes with `tensorchain stake list`",
        "hotkey_not_found" => "stake to the hotkey first; its first staker becomes its owner",
        "not_hotkey_owner" => "sign with the coldkey that owns the hotkey",
        "take_too_high" => "choose a take of at most 18%",
        "registration_cost_exceeds_max" => {
            "raise --max-cost, or wait: the price decays every block"
        }
        "subnet_limit_reached" => "wait until an existing subnet's immunity ends",
        "subnet_not_found" => "list subnets with `tensorchain subnet list`",
        "registration_disabled" => "ask the subnet owner to allow registrations",
        "hotkey_already_registered" => "use another hotkey (-H NAME)",
        "subnet_full" => "wait until a uid's immunity period ends",
        "hotkey_not_registered" => "register the hotkey with `tensorchain subnet register` first",
        "not_subnet_owner" => "sign with the subnet owner's coldkey",
        "sudo_required" => "this hyperparameter is chain-governed",
        "unknown_hyperparameter" => "list them with `tensorchain subnet hyperparameters`",
        "hyperparameter_out_of_range" => "choose a value within the range",
        "identity_too_long" => "shorten the subnet identity",
        "tx_too_large" => "split the call (fewer weights or a shorter field)",
        "salt_too_long" => "commit again with a shorter salt (16 bytes is plenty)",
        "weights_length_mismatch" => "give one value per uid",
        "too_many_weights" => "weight at most one entry per uid",
        "incorrect_weights_version" => {
            "upgrade the validator software to the subnet's weights_version"
        }
        "weights_rate_limited" => "wait the number of blocks in details.retry_after_blocks",
        "no_validator_permit" => "stake more: permits go to the top stakes at each epoch",
        "duplicate_uids" => "list each uid once",
        "uid_out_of_range" => "see the metagraph for valid uids",
        "not_enough_weights" => "weight more uids (min_allowed_weights)",
        "max_weight_exceeded" => "spread weight over more uids (max_weight_limit)",
        "bad_axon" => "give the port the axon listens on",
        "root_full" => "stake more behind the hotkey than the lowest root member",
        "commit_reveal_enabled" => {
            "use `tensorchain weights commit`, then `weights reveal` next epoch"
        }
        "commit_reveal_disabled" => "use `tensorchain weights set`",
        "too_many_commits" => "reveal or let old commits expire",
        "no_matching_commit" => {
            "reveal exactly the uids, values, salt and version_key you committed"
        }
        "reveal_too_early" => "wait for the subnet's next epoch",
        "commit_expired" => "commit again and reveal in the following epoch",
        "validator_already_registered" => {
            "it is ranked by stake at the next validator epoch; see `tensorchain validator list`"
        }
        "validator_not_registered" => "register it with `tensorchain validator register`",
        "validator_jailed" => "wait until the jail ends, then register again",
        "validator_without_stake" => "stake to the hotkey first (`tensorchain stake add`)",
        "invalid_evidence" => {
            "evidence is two votes of one validator, same height/round/kind, different blocks"
        }
        "evidence_already_handled" => "nothing to do: the offender was punished",
        "take_rate_limited" => {
            "lowering the take is always allowed; a raise waits details.retry_after_blocks"
        }
        "hyperparameter_rate_limited" | "serving_rate_limited" => {
            "wait the number of blocks in details.retry_after_blocks"
        }
        "root_stake_not_settled" => {
            "stake behind the hotkey, then register after the next root epoch"
        }
        "hyperparameter_freeze_window" => {
            "send it after the subnet's next epoch (details.blocks_to_epoch)"
        }
        "pow_block_stale" | "pow_block_in_future" => {
            "solve again against the head block (`tensorchain subnet pow-register` does this)"
        }
        "pow_work_too_easy" => "search more nonces until the work meets the subnet's difficulty",
        "too_many_registrations_this_block" => "retry in the next block",
        "pow_signer_not_hotkey" => "sign pow_register with the hotkey's own key",
        "wrong_registration_mode" => {
            "see `registration` in GET /v1/subnets/{netuid}: pow_register or burned_register"
        }
        "faucet_disabled" => "earn TAO by registering a miner with `subnet pow-register`",
        "faucet_solution_used" => "solve again against the head block",
        "faucet_busy" => "retry in the next block",
        "same_hotkey" => "give two different hotkeys",
        "same_coldkey" => "to move stake between your hotkeys use `tensorchain stake move`",
        "no_stake" => "check your stakes with `tensorchain stake list`",
        "new_hotkey_in_use" => "swap to a fresh hotkey (`tensorchain wallet new-hotkey -H NEW`)",
        "hotkey_swap_rate_limited" => "wait the number of blocks in details.retry_after_blocks",
        "stake_bonded_to_validator" => {
            "use `tensorchain stake remove` (unbonding), then stake the freed TAO"
        }
        "hotkey_is_active_validator" => {
            "unregister the validator; swap once it left the set and the evidence window passed"
        }
        "internal_error" => "the node's storage failed; check its logs",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::tx_hint;
    use strum::IntoEnumIterator;
    use tensorchain_ledger::TxError;

    #[test]
    fn every_transaction_error_has_a_hint() {
        let missing: Vec<&str> = TxError::iter()
            .map(|e| e.code())
            .filter(|c| tx_hint(c).is_empty())
            .collect();
        assert!(missing.is_empty(), "codes without a hint: {missing:?}");
    }

    #[test]
    fn a_signature_from_another_network_is_explained() {
        assert!(tx_hint(TxError::BadSignature.code()).contains("genesis_hash"));
    }
}
