//! State at past heights: reads pinned at a height, prefix scans over the history, the history
//! window's pruning, and proofs against old headers.

mod common;
use common::*;
use tensorchain_ledger::state::pinned::PinnedStore;
use tensorchain_ledger::state::proof;
use tensorchain_ledger::storage::schema;
use tensorchain_ledger::{Column, StateAtError, Store};

fn transfer(c: &Chain, amount: u64) {
    c.ok(
        &key("owner"),
        Call::Transfer {
            to: key("e").account(),
            amount,
        },
    );
}

fn free_at(c: &Chain, height: u64) -> u64 {
    c.ledger
        .at(height)
        .unwrap()
        .account(&key("e").account())
        .unwrap()
        .map_or(0, |a| a.free)
}

#[test]
fn a_balance_reads_by_height_before_and_after_a_transfer() {
    let c = open();
    let before = c.ledger.head().height;
    transfer(&c, 5);
    let after = c.ledger.head().height;
    assert_eq!(free_at(&c, before), FUNDS);
    assert_eq!(free_at(&c, after), FUNDS + 5);

    // A pinned ledger keeps its height and its state while blocks commit.
    let pinned = c.ledger.at(after).unwrap();
    transfer(&c, 7);
    let e = key("e").account();
    assert_eq!(pinned.head().height, after);
    assert_eq!(pinned.account(&e).unwrap().unwrap().free, FUNDS + 5);
    assert_eq!(c.free(&key("e")), FUNDS + 12);
    assert_eq!(free_at(&c, c.ledger.head().height), FUNDS + 12);

    let head = c.ledger.head().height;
    assert!(matches!(
        c.ledger.at(head + 1),
        Err(StateAtError::NotYet { height, head: h }) if height == head + 1 && h == head
    ));
}

/// Every height's whole state, read back through the history by prefix scans (forward, reverse,
/// paged) and point reads, equals the state column as it was at that height.
#[test]
fn history_scans_equal_the_state_at_each_height() {
    let c = open();
    c.demo_subnet();
    let mut snapshots = vec![];
    for i in 0..6 {
        transfer(&c, 1 + i);
        let h = c.ledger.head().height;
        snapshots.push((h, c.store.scan_prefix(Column::State, &[]).unwrap()));
    }
    let store: Arc<dyn Store> = c.store.clone();
    for (h, state) in snapshots {
        let pinned = PinnedStore::new(store.clone(), h);
        assert_eq!(
            pinned.scan_prefix(Column::State, &[]).unwrap(),
            state,
            "{h}"
        );
        for (k, v) in state.iter().step_by(7) {
            assert_eq!(pinned.get(Column::State, k).unwrap().as_ref(), Some(v));
        }
        let reversed: Vec<_> = state.iter().rev().take(5).cloned().collect();
        assert_eq!(
            pinned.scan_page(Column::State, &[], None, true, 5).unwrap(),
            reversed
        );
        let after = &state[3].0;
        assert_eq!(
            pinned
                .scan_page(Column::State, &[], Some(after), false, 4)
                .unwrap(),
            state[4..8].to_vec()
        );
        let prefix = [after[0]];
        let want: Vec<_> = state
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .cloned()
            .collect();
        assert_eq!(pinned.scan_prefix(Column::State, &prefix).unwrap(), want);
    }
}

#[test]
fn the_history_window_prunes_old_heights_and_bounds_storage() {
    let mut c = open();
    c.ledger = c.ledger.with_state_history(Some(5));
    let count = |col| c.store.scan_prefix(col, &[]).unwrap().len();
    for _ in 0..30 {
        c.block(vec![]);
    }
    let sizes = [
        Column::History,
        Column::TreeNodes,
        Column::TreeStale,
        Column::HistoryStale,
    ]
    .map(count);
    for _ in 0..30 {
        c.block(vec![]);
    }
    let later = [
        Column::History,
        Column::TreeNodes,
        Column::TreeStale,
        Column::HistoryStale,
    ]
    .map(count);
    assert!(
        later.iter().zip(sizes).all(|(l, s)| *l <= s),
        "storage grows under a window: {sizes:?} -> {later:?}"
    );

    let head = c.ledger.head().height;
    let oldest = head - 4;
    assert_eq!(c.ledger.oldest_state().unwrap(), oldest);
    assert!(c.ledger.at(oldest).is_ok());
    match c.ledger.at(oldest - 1) {
        Err(StateAtError::Pruned { height, oldest: o }) => {
            assert_eq!((height, o), (oldest - 1, oldest))
        }
        other => panic!("expected pruned, got {:?}", other.map(|l| l.head())),
    }
    // The oldest kept height still reads and proves in full.
    let at = c.ledger.at(oldest).unwrap();
    assert_eq!(at.globals().unwrap(), at.view().globals().unwrap());
    let key = schema::globals_key();
    let p = at.prove(&key).unwrap();
    let root = c.ledger.header(oldest).unwrap().unwrap().state_root;
    let value = p.value.clone().unwrap();
    proof::verify(root, &key, Some(&value), &proof::encode(&p.proof)).unwrap();
}

#[test]
fn proofs_at_old_heights_verify_against_that_header_only() {
    let c = open();
    transfer(&c, 5);
    let h = c.ledger.head().height;
    transfer(&c, 7);
    let key = schema::account_key(&key("e").account());
    let p = c.ledger.at(h).unwrap().prove(&key).unwrap();
    assert_eq!(p.height, h);
    let bytes = proof::encode(&p.proof);
    let value = p.value.unwrap();
    let root_at = |h| c.ledger.header(h).unwrap().unwrap().state_root;
    proof::verify(root_at(h), &key, Some(&value), &bytes).unwrap();
    assert!(proof::verify(root_at(h + 1), &key, Some(&value), &bytes).is_err());
    // The head's own proof shows the newer balance.
    let now = c.ledger.prove(&key).unwrap();
    assert_ne!(now.value.as_deref(), Some(value.as_slice()));
    proof::verify(
        root_at(h + 1),
        &key,
        now.value.as_deref(),
        &proof::encode(&now.proof),
    )
    .unwrap();
}
