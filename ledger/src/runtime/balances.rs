//! Free balances: crediting an account, creating it on first funding.

use crate::runtime::error::TxError;
use crate::state::view::StateView;
use crate::state::Account;
use tensorchain_primitives::AccountId;

/// Adds to an account's free balance, creating the account on first funding.
pub(crate) fn credit(view: &mut StateView, who: &AccountId, amount: u64) -> Result<(), TxError> {
    if amount == 0 {
        return Ok(());
    }
    let mut acct: Account = view.account(who)?.unwrap_or_default();
    acct.free = acct
        .free
        .checked_add(amount)
        .ok_or(TxError::AmountOverflow)?;
    view.set_account(who, &acct)?;
    Ok(())
}
