//! The index of transactions by account, for explorers and wallets: which included transactions
//! touched an account, newest first. It lives in its own column (`Column::AccountTxs`), outside
//! the state and its root, so it is bookkeeping of this node and no part of consensus.
//!
//! An account is a party to a transaction when it signed it or an event of the transaction names
//! it (the recipient of a transfer, the hotkey staked to, the owner of a new subnet, …). The
//! proposer named by `FeePaid` is left out: it is paid by every transaction of its block, and its
//! own list would be every transaction of the chain.
//!
//! Key: account (32 bytes) ‖ height (8, big-endian) ‖ index in the block (4, big-endian), so one
//! account's entries are one prefix in block order, read newest first by a reverse scan. The
//! value is empty: the transaction itself is in its block.

use crate::runtime::Event;
use crate::storage::{Column, Store, StoreError, WriteBatch};
use std::collections::BTreeSet;
use tensorchain_primitives::{AccountId, SignedTx};

/// Bytes of a key: account, height, index.
const KEY_LEN: usize = 32 + 8 + 4;

/// Where an included transaction sits: (height, index in its block).
pub type TxLocation = (u64, u32);

fn key(account: &AccountId, (height, index): TxLocation) -> Vec<u8> {
    let mut k = Vec::with_capacity(KEY_LEN);
    k.extend_from_slice(&account.0);
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Every account an event names, except the proposer a fee is paid to.
fn named_by(event: &Event) -> Vec<AccountId> {
    match event {
        Event::Transfer { from, to, .. } => vec![*from, *to],
        Event::FeePaid { payer, .. } | Event::FeeRecycled { payer, .. } => vec![*payer],
        Event::StakeAdded {
            coldkey, hotkey, ..
        }
        | Event::StakeRemoved {
            coldkey, hotkey, ..
        }
        | Event::StakeUnbonding {
            coldkey, hotkey, ..
        }
        | Event::UnbondingReleased {
            coldkey, hotkey, ..
        } => vec![*coldkey, *hotkey],
        Event::TakeSet { hotkey, .. }
        | Event::ValidatorRegistered { hotkey }
        | Event::ValidatorUnregistered { hotkey }
        | Event::ValidatorPunished { hotkey, .. } => vec![*hotkey],
        Event::SubnetRegistered { owner, hotkey, .. } => vec![*owner, *hotkey],
        Event::NeuronRegistered {
            hotkey, replaced, ..
        } => std::iter::once(*hotkey).chain(*replaced).collect(),
        Event::HyperparameterSet { .. }
        | Event::AxonServed { .. }
        | Event::WeightsSet { .. }
        | Event::WeightsCommitted { .. } => vec![],
        Event::FaucetPaid { to, .. } => vec![*to],
        Event::HotkeySwapped {
            coldkey, old, new, ..
        } => vec![*coldkey, *old, *new],
        Event::StakeMoved {
            coldkey,
            from_hotkey,
            to_hotkey,
            ..
        } => vec![*coldkey, *from_hotkey, *to_hotkey],
        Event::StakeTransferred {
            from, to, hotkey, ..
        } => vec![*from, *to, *hotkey],
    }
}

/// The accounts a transaction touched: its signer and every account its events name, each once.
pub fn parties(stx: &SignedTx, events: &[Event]) -> BTreeSet<AccountId> {
    std::iter::once(stx.tx.signer)
        .chain(events.iter().flat_map(named_by))
        .collect()
}

/// Adds a block's transactions to the index of each of their parties.
pub fn put(batch: &mut WriteBatch, height: u64, txs: &[SignedTx], events: &[Vec<Event>]) {
    for (i, (stx, ev)) in txs.iter().zip(events).enumerate() {
        for account in parties(stx, ev) {
            batch.put(Column::AccountTxs, key(&account, (height, i as u32)), []);
        }
    }
}

/// Up to `limit` transactions that touched `account`, newest first, strictly older than `before`.
pub fn page(
    store: &dyn Store,
    account: &AccountId,
    before: Option<TxLocation>,
    limit: usize,
) -> Result<Vec<TxLocation>, StoreError> {
    let after = before.map(|at| key(account, at));
    store
        .scan_page(
            Column::AccountTxs,
            &account.0,
            after.as_deref(),
            true,
            limit,
        )?
        .into_iter()
        .map(|(k, _)| location(&k))
        .collect()
}

fn location(key: &[u8]) -> Result<TxLocation, StoreError> {
    let corrupt = || {
        StoreError(format!(
            "corrupt account tx index key of {} bytes",
            key.len()
        ))
    };
    if key.len() != KEY_LEN {
        return Err(corrupt());
    }
    let height = u64::from_be_bytes(key[32..40].try_into().map_err(|_| corrupt())?);
    let index = u32::from_be_bytes(key[40..44].try_into().map_err(|_| corrupt())?);
    Ok((height, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;
    use tensorchain_primitives::{Call, Hash, Keypair, SigningDomain, Tx};

    fn transfer(from: &Keypair, to: AccountId, nonce: u64) -> SignedTx {
        Tx {
            chain_id: "t".into(),
            signer: from.account(),
            nonce,
            fee: 1,
            call: Call::Transfer { to, amount: 5 },
        }
        .sign(from, &SigningDomain::new("t", Hash::digest(b"account txs")))
    }

    #[test]
    fn signer_and_named_accounts_are_parties_and_the_proposer_is_not() {
        let (a, b, p) = (Keypair::dev("a"), Keypair::dev("b"), Keypair::dev("p"));
        let stx = transfer(&a, b.account(), 0);
        let events = [
            Event::Transfer {
                from: a.account(),
                to: b.account(),
                amount: 5,
            },
            Event::FeePaid {
                payer: a.account(),
                proposer: p.account(),
                amount: 1,
            },
        ];
        let got = parties(&stx, &events);
        assert_eq!(got, BTreeSet::from([a.account(), b.account()]));
    }

    #[test]
    fn pages_run_newest_first_and_resume_after_the_cursor() {
        let store = MemoryStore::new();
        let (a, b, c) = (Keypair::dev("a"), Keypair::dev("b"), Keypair::dev("c"));
        let ev = |from: &Keypair, to: &Keypair| {
            vec![Event::Transfer {
                from: from.account(),
                to: to.account(),
                amount: 5,
            }]
        };
        // Block 7: a→b, c→b; block 9: a→c.
        let mut batch = WriteBatch::default();
        put(
            &mut batch,
            7,
            &[transfer(&a, b.account(), 0), transfer(&c, b.account(), 0)],
            &[ev(&a, &b), ev(&c, &b)],
        );
        put(
            &mut batch,
            9,
            &[transfer(&a, c.account(), 1)],
            &[ev(&a, &c)],
        );
        store.write(batch).unwrap();

        assert_eq!(
            page(&store, &a.account(), None, 10).unwrap(),
            [(9, 0), (7, 0)]
        );
        assert_eq!(
            page(&store, &b.account(), None, 10).unwrap(),
            [(7, 1), (7, 0)]
        );
        assert_eq!(page(&store, &b.account(), None, 1).unwrap(), [(7, 1)]);
        assert_eq!(
            page(&store, &b.account(), Some((7, 1)), 10).unwrap(),
            [(7, 0)]
        );
        assert_eq!(
            page(&store, &c.account(), None, 10).unwrap(),
            [(9, 0), (7, 1)]
        );
        let nobody = Keypair::dev("nobody").account();
        assert!(page(&store, &nobody, None, 10).unwrap().is_empty());
    }
}
