//! Genesis: what block 0 puts into state, written once into an empty store.

use super::writer::{put_block, put_state};
use super::*;

/// Everything genesis puts into state.
#[derive(Debug, Clone)]
pub struct GenesisState {
    pub params: ChainParams,
    pub genesis_hash: Hash,
    pub time_ms: u64,
    pub balances: Vec<(AccountId, u64)>,
    /// (hotkey, coldkey, amount)
    pub stakes: Vec<(AccountId, AccountId, u64)>,
    pub validators: Vec<Validator>,
}

pub(super) fn write_genesis(store: &dyn Store, g: &GenesisState) -> Result<(), LedgerError> {
    let mut view = StateView::new(Arc::new(crate::storage::MemoryStore::new()));
    let mut issued: u128 = 0;
    for (id, amount) in &g.balances {
        let mut a = view.account(id)?.unwrap_or_default();
        a.free += amount;
        view.set_account(id, &a)?;
        issued += *amount as u128;
    }
    for (hotkey, coldkey, amount) in &g.stakes {
        crate::runtime::staking::bond(&mut view, coldkey, hotkey, *amount)
            .map_err(|e| LedgerError::InvalidBlock(format!("genesis stake: {e}")))?;
        issued += *amount as u128;
    }
    let mut globals = view.globals()?;
    if issued > MAX_SUPPLY as u128 {
        return Err(LedgerError::GenesisOverSupply(issued));
    }
    globals.total_issuance = issued as u64;
    view.set_globals(&globals);
    view.put(schema::params_key(), &g.params);
    validators::write_genesis(&mut view, &g.validators);
    crate::runtime::subnets::genesis::write(&mut view, &g.params.subnets);
    let changes = view.into_changes();
    let mut batch = WriteBatch::default();
    // Nothing written at genesis is superseded before genesis: no stale index.
    let state_root = tree::update(store, &changes, 0, false, &mut batch)?;
    crate::state::history::put(&mut batch, &changes, 0, false);
    put_state(&mut batch, &changes);
    let header = Header {
        chain_id: g.params.chain_id.clone(),
        height: 0,
        time_ms: g.time_ms,
        parent_hash: g.genesis_hash,
        tx_root: Hash::ZERO,
        state_root,
        proposer: AccountId::default(),
        validator_set_hash: validator_set_hash(&g.validators),
        next_validator_set_hash: validator_set_hash(&g.validators),
        last_commit_hash: Hash::ZERO,
    };
    let hash = header.hash();
    let block = Block {
        header,
        txs: vec![],
        last_commit: None,
    };
    put_block(&mut batch, &block, (&[], &[]), hash, g.time_ms);
    batch.put(
        Column::Meta,
        META_GENESIS.to_vec(),
        borsh::to_vec(&g.genesis_hash).expect("borsh"),
    );
    store.write(batch)?;
    Ok(())
}
