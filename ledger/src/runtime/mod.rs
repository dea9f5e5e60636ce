//! Transaction validity and execution. A failing transaction returns a named error and leaves
//! the view exactly as it was.

pub mod balances;
pub mod error;
pub mod event;
pub mod faucet;
pub mod params;
pub mod staking;
pub mod subnets;
pub mod unbonding;
pub mod validators;
pub mod wallet;

use crate::runtime::params::ChainParams;
use crate::state::view::StateView;
use crate::state::MIN_STAKE;
pub use error::TxError;
pub use event::Event;
use tensorchain_primitives::{
    AccountId, Call, SignatureError, SignedTx, SigningDomain, MAX_TX_BYTES,
};

/// Checks that need no state: size, chain id, signature (made for `domain`'s network), fee.
pub fn check_stateless(
    stx: &SignedTx,
    params: &ChainParams,
    domain: &SigningDomain,
) -> Result<(), TxError> {
    let size = borsh::object_length(stx).unwrap_or(usize::MAX);
    check_stateless_given(stx, params, size, || stx.verify_signature(domain))
}

/// As `check_stateless` for a transaction of encoded `size`, with the signature check handed in
/// (`crate::verify` answers it from the verified-signature cache or a ZIP-215 batch), in the
/// same order, so a transaction fails with the same error either way.
pub(crate) fn check_stateless_given(
    stx: &SignedTx,
    params: &ChainParams,
    size: usize,
    signature: impl FnOnce() -> Result<(), SignatureError>,
) -> Result<(), TxError> {
    check_envelope(stx, params, size)?;
    signature()?;
    let tx = &stx.tx;
    let expected = params.fees.for_call(&tx.call);
    if tx.fee != expected {
        return Err(TxError::BadFee {
            call: tx.call.name(),
            expected,
            got: tx.fee,
        });
    }
    Ok(())
}

/// The checks before the signature: size and chain id. A transaction failing them has its
/// signature never checked.
pub(crate) fn check_envelope(
    stx: &SignedTx,
    params: &ChainParams,
    size: usize,
) -> Result<(), TxError> {
    // First, before any hashing or signature check: the size bounds the work of everything after.
    if size > MAX_TX_BYTES {
        return Err(TxError::TxTooLarge {
            size,
            max: MAX_TX_BYTES,
        });
    }
    if stx.tx.chain_id != params.chain_id {
        return Err(TxError::WrongChainId {
            expected: params.chain_id.clone(),
            got: stx.tx.chain_id.clone(),
        });
    }
    Ok(())
}

/// What a transaction executes against besides the state: the chain's rules and network, and
/// the block it goes into (its proposer takes the fees).
#[derive(Clone, Copy)]
pub struct BlockContext<'a> {
    pub params: &'a ChainParams,
    pub domain: &'a SigningDomain,
    pub proposer: &'a AccountId,
    pub height: u64,
}

/// Validates and executes one transaction inside `view`'s transaction scope: on success the
/// writes are kept, on error they are dropped.
pub fn apply_tx(
    view: &mut StateView,
    stx: &SignedTx,
    ctx: BlockContext<'_>,
) -> Result<Vec<Event>, TxError> {
    check_stateless(stx, ctx.params, ctx.domain)?;
    apply_checked(view, stx, ctx)
}

/// The stateful part of `apply_tx`. Crate-private: outside the ledger only a `VerifiedTx` (whose
/// stateless checks passed) may skip them, through `apply_verified`.
pub(crate) fn apply_checked(
    view: &mut StateView,
    stx: &SignedTx,
    ctx: BlockContext<'_>,
) -> Result<Vec<Event>, TxError> {
    let result = execute(view, stx, ctx);
    match result {
        Ok(_) => view.commit_tx(),
        Err(_) => view.rollback_tx(),
    }
    result
}

fn execute(
    view: &mut StateView,
    stx: &SignedTx,
    ctx: BlockContext<'_>,
) -> Result<Vec<Event>, TxError> {
    let BlockContext {
        params,
        domain,
        proposer,
        height,
    } = ctx;
    let tx = &stx.tx;
    // Free calls (signed by hotkeys) may come from accounts that never held TAO.
    let mut sender = match view.account(&tx.signer)? {
        Some(a) => a,
        None if tx.fee == 0 => Default::default(),
        None => return Err(TxError::AccountNotFound { account: tx.signer }),
    };
    if tx.nonce != sender.nonce {
        return Err(TxError::BadNonce {
            expected: sender.nonce,
            got: tx.nonce,
        });
    }
    // What leaves the free balance besides the fee.
    let spend = match &tx.call {
        Call::Transfer { amount, .. }
        | Call::AddStake { amount, .. }
        | Call::RemoveStake { amount, .. }
            if *amount == 0 =>
        {
            return Err(TxError::ZeroAmount)
        }
        Call::Transfer { amount, .. } | Call::AddStake { amount, .. } => *amount,
        // Registration costs are checked and burned by the subnet calls themselves.
        _ => 0,
    };
    let needed = spend.checked_add(tx.fee).ok_or(TxError::AmountOverflow)?;
    // On a no-premine chain everything earned is stake: an unstake may pay its fee out of the
    // rao it frees (checked after the call; a failure rolls it all back).
    let fee_from_removal = matches!(
        tx.call,
        Call::RemoveStake { .. } | Call::RemoveAllStake { .. }
    ) && sender.free < needed;
    if !fee_from_removal {
        if sender.free < needed {
            return Err(TxError::InsufficientBalance {
                needed,
                available: sender.free,
            });
        }
        sender.free -= needed;
    }
    sender.nonce += 1;
    view.set_account(&tx.signer, &sender)?;
    let signer = tx.signer;
    let event = match &tx.call {
        Call::Transfer { to, amount } => {
            balances::credit(view, to, *amount)?;
            Event::Transfer {
                from: signer,
                to: *to,
                amount: *amount,
            }
        }
        Call::AddStake { hotkey, amount } => {
            if *amount < MIN_STAKE {
                return Err(TxError::StakeBelowMinimum {
                    amount: *amount,
                    minimum: MIN_STAKE,
                });
            }
            staking::add(view, &signer, hotkey, *amount, height)?;
            Event::StakeAdded {
                coldkey: signer,
                hotkey: *hotkey,
                amount: *amount,
            }
        }
        Call::RemoveStake { hotkey, amount } => {
            wallet::stake_moves::remove_stake(view, &signer, hotkey, *amount, (params, height))?
        }
        Call::SetTake { hotkey, take } => {
            validators::set_take(view, &signer, hotkey, *take, params, height)?
        }
        Call::RegisterValidator { hotkey } => validators::register(view, &signer, hotkey, height)?,
        Call::UnregisterValidator { hotkey } => validators::unregister(view, &signer, hotkey)?,
        Call::ReportEquivocation { evidence } => {
            validators::punish(view, evidence, params, domain, height)?
        }
        Call::Faucet {
            block_number,
            nonce,
        } => faucet::faucet(view, &signer, params, (*block_number, *nonce), height)?,
        // Issue 19: wallet calls.
        Call::SwapHotkey { old, new } => {
            wallet::swap::swap_hotkey(view, &signer, old, new, (params, height))?
        }
        Call::MoveStake {
            from_hotkey,
            to_hotkey,
            amount,
        } => wallet::stake_moves::move_stake(
            view,
            &signer,
            from_hotkey,
            to_hotkey,
            *amount,
            (params, height),
        )?,
        Call::TransferStake {
            hotkey,
            dest,
            amount,
        } => wallet::stake_moves::transfer_stake(view, &signer, hotkey, dest, *amount, height)?,
        Call::RemoveAllStake { hotkey } => {
            wallet::stake_moves::remove_all_stake(view, &signer, hotkey, (params, height))?
        }
        Call::RegisterSubnet {
            hotkey,
            max_cost,
            identity,
        } => subnets::calls::register_subnet(
            view,
            &signer,
            hotkey,
            *max_cost,
            identity,
            &params.subnets,
            height,
        )?,
        Call::BurnedRegister {
            netuid,
            hotkey,
            max_cost,
        } => subnets::calls::burned_register(view, &signer, *netuid, hotkey, *max_cost, height)?,
        Call::SetHyperparameter {
            netuid,
            name,
            value,
        } => subnets::calls::set_hyperparameter(
            view,
            &signer,
            *netuid,
            name,
            *value,
            params.sudo,
            height,
        )?,
        Call::ServeAxon {
            netuid,
            ip,
            port,
            protocol,
        } => subnets::calls::serve_axon(view, &signer, *netuid, *ip, *port, *protocol, height)?,
        Call::SetWeights {
            netuid,
            uids,
            values,
            version_key,
        } => {
            subnets::calls::set_weights(view, &signer, *netuid, uids, values, *version_key, height)?
        }
        Call::RootRegister { hotkey } => subnets::root::register(
            view,
            &signer,
            hotkey,
            (params.subnets.defaults.tempo, height),
        )?,
        Call::CommitWeights { netuid, hash } => {
            subnets::calls::commit_weights(view, &signer, *netuid, *hash, height)?
        }
        Call::RevealWeights {
            netuid,
            uids,
            values,
            salt,
            version_key,
        } => subnets::calls::reveal_weights(
            view,
            &signer,
            *netuid,
            uids,
            values,
            salt,
            *version_key,
            height,
        )?,
        Call::SetRootWeights { netuids, values } => subnets::root::set_weights(
            view,
            &signer,
            netuids,
            values,
            // Root weights matter once per root tempo, so that is how often they may change.
            params.subnets.defaults.tempo as u64,
            height,
        )?,
        Call::PowRegister {
            netuid,
            hotkey,
            coldkey,
            block_number,
            nonce,
        } => subnets::pow::register(
            view,
            &signer,
            (*netuid, hotkey, coldkey),
            (*block_number, *nonce),
            height,
        )?,
    };
    if fee_from_removal {
        let mut after = view.account(&tx.signer)?.unwrap_or_default();
        if after.free < tx.fee {
            return Err(TxError::InsufficientBalance {
                needed: tx.fee,
                available: after.free,
            });
        }
        after.free -= tx.fee;
        view.set_account(&tx.signer, &after)?;
    }
    let mut events = vec![event];
    // Until the handover, proposers are the launcher's bootstrap keys: a fair launch pays them
    // nothing, so fees are recycled instead (docs/launch.md).
    if validators::bootstrapping(view, params, height)? {
        crate::runtime::subnets::calls::recycle(view, tx.fee)?;
        events.push(Event::FeeRecycled {
            payer: tx.signer,
            amount: tx.fee,
        });
    } else {
        balances::credit(view, proposer, tx.fee)?;
        events.push(Event::FeePaid {
            payer: tx.signer,
            proposer: *proposer,
            amount: tx.fee,
        });
    }
    Ok(events)
}
