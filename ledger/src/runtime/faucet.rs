//! The devnet faucet: mints the chain's faucet amount to the signer for work (issuance grows with
//! it, so the supply invariant holds). Chains without a faucet refuse it.

use crate::runtime::balances::credit;
use crate::runtime::error::TxError;
use crate::runtime::event::Event;
use crate::runtime::params::ChainParams;
use crate::runtime::subnets;
use crate::state::view::StateView;
use crate::storage::schema::{self, FAUCET_BLOCK, FAUCET_LAST};
use tensorchain_primitives::AccountId;

/// Faucet payouts per block: enough for a few people starting wallets at once, while a flood of
/// fresh keys cannot mint without bound.
const MAX_FAUCET_PER_BLOCK: u32 = 4;

pub(crate) fn faucet(
    view: &mut StateView,
    signer: &AccountId,
    params: &ChainParams,
    solution: (u64, u64),
    height: u64,
) -> Result<Event, TxError> {
    let f = params.faucet.as_ref().ok_or(TxError::FaucetDisabled)?;
    subnets::pow::check_work(
        view,
        tensorchain_primitives::pow::WorkKind::Faucet,
        (signer, signer),
        solution,
        f.difficulty,
        height,
    )?;
    // A solution pays once: each signer's solutions must name ever newer blocks.
    let last_key = schema::account_keyed(FAUCET_LAST, signer);
    if let Some(last) = view.get::<u64>(&last_key)?.filter(|l| *l >= solution.0) {
        return Err(TxError::FaucetSolutionUsed { last_block: last });
    }
    view.put(last_key, &solution.0);
    // And the faucet as a whole pays a bounded amount per block, however many keys ask.
    let (at, paid): (u64, u32) = view.get(&[FAUCET_BLOCK])?.unwrap_or((height, 0));
    let paid = if at == height { paid } else { 0 };
    if paid >= MAX_FAUCET_PER_BLOCK {
        return Err(TxError::FaucetBusy {
            max: MAX_FAUCET_PER_BLOCK,
        });
    }
    view.put(vec![FAUCET_BLOCK], &(height, paid + 1));
    let mut g = view.globals()?;
    let room = tensorchain_primitives::MAX_SUPPLY.saturating_sub(g.total_issuance);
    let amount = f.amount.min(room);
    g.total_issuance += amount;
    view.set_globals(&g);
    credit(view, signer, amount)?;
    Ok(Event::FaucetPaid {
        to: *signer,
        amount,
    })
}
