//! Chain spec JSON → the checks `ChainSpec::load` makes, and for a spec that passes them: its
//! hash, its JSON read back, and a ledger opened on its genesis state.
//! Invariants: a valid spec round-trips to the same hash, and its genesis opens.

use std::sync::Arc;
use tensorchain_genesis::ChainSpec;
use tensorchain_ledger::{Ledger, MemoryStore};

pub fn run(data: &[u8]) {
    let Ok(spec) = serde_json::from_slice::<ChainSpec>(data) else {
        return;
    };
    if spec.validate().is_err() {
        return;
    }
    let back: ChainSpec = serde_json::from_str(&spec.to_json()).expect("a valid spec reads back");
    assert_eq!(back.hash(), spec.hash());
    let ledger = Ledger::open(Arc::new(MemoryStore::new()), &spec.genesis_state())
        .expect("the genesis of a valid spec opens");
    assert_eq!(ledger.genesis_hash(), spec.hash());
    let _ = ledger.validators_at(1);
}
