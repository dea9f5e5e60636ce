//! Reads of committed data: blocks, commits, indexes, and the head state's records. Every read
//! goes through a `Ledger`, which `Ledger::at` may pin to a past height (`versioned`).

use super::*;

/// A committed block with what each of its transactions did.
#[derive(Debug, Clone)]
pub struct CommittedBlock {
    pub block: Block,
    /// One list per transaction, in block order.
    pub events: Vec<Vec<Event>>,
}

/// A validator jailed for equivocation, until a height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jail {
    pub hotkey: AccountId,
    pub until: u64,
}

impl Ledger {
    pub fn state_root(&self) -> Result<Hash, StoreError> {
        let height = self.head().height;
        tree::root_at(self.store.as_ref(), height)?
            .ok_or_else(|| StoreError(format!("no state tree at height {height}")))
    }

    pub fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.view().account(id)
    }

    pub fn globals(&self) -> Result<Globals, StoreError> {
        self.view().globals()
    }

    /// The set that signs the next block.
    pub fn validators(&self) -> Result<ValidatorSet, StoreError> {
        Ok(self.validators_at(self.next_height())?.unwrap_or_default())
    }

    /// The set that signs block `height`, known from the head's height up to two blocks ahead.
    pub fn validators_at(&self, height: u64) -> Result<Option<ValidatorSet>, StoreError> {
        let sched = self.validator_schedule()?;
        Ok(sched
            .for_height(height)
            .filter(|_| {
                sched
                    .sets
                    .first()
                    .is_some_and(|(from, _)| *from <= height.max(1))
            })
            .cloned())
    }

    /// Every jail still running. Only equivocating validators are jailed, so this stays small.
    pub fn jails(&self) -> Result<Vec<Jail>, StoreError> {
        let head = self.head().height;
        Ok(validators::jailed(&self.view())
            .map_err(tx_storage)?
            .into_iter()
            .filter(|(_, until)| *until > head)
            .map(|(hotkey, until)| Jail { hotkey, until })
            .collect())
    }

    pub fn validator_schedule(&self) -> Result<validators::Schedule, StoreError> {
        validators::schedule(&self.view()).map_err(tx_storage)
    }

    pub fn header(&self, height: u64) -> Result<Option<Header>, StoreError> {
        self.store
            .get(Column::Headers, &height_key(height))?
            .map(|b| decode(&b, "header"))
            .transpose()
    }

    fn body(&self, height: u64) -> Result<Option<StoredBody>, StoreError> {
        self.store
            .get(Column::Bodies, &height_key(height))?
            .map(|b| decode(&b, "body"))
            .transpose()
    }

    pub fn block(&self, height: u64) -> Result<Option<CommittedBlock>, StoreError> {
        let (Some(header), Some(body)) = (self.header(height)?, self.body(height)?) else {
            return Ok(None);
        };
        let block = Block {
            header,
            txs: body.txs,
            last_commit: body.last_commit,
        };
        Ok(Some(CommittedBlock {
            block,
            events: body.events,
        }))
    }

    /// What the end of block `height` did on its own (unbonding releases), in order.
    pub fn end_events(&self, height: u64) -> Result<Vec<Event>, StoreError> {
        Ok(self.body(height)?.map(|b| b.end_events).unwrap_or_default())
    }

    /// The commit certificate that finalized the block at `height`.
    pub fn commit(&self, height: u64) -> Result<Option<Commit>, StoreError> {
        self.store
            .get(Column::Commits, &height_key(height))?
            .map(|b| decode(&b, "commit"))
            .transpose()
    }

    pub fn height_of(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        self.store
            .get(Column::BlockIndex, hash.as_bytes())?
            .map(|b| decode(&b, "block index"))
            .transpose()
    }

    /// Included transactions that touched `account` (see `account_txs`), newest first, strictly
    /// older than `before`: (height, index in block).
    pub fn account_txs_page(
        &self,
        account: &AccountId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<(u64, u32)>, StoreError> {
        crate::chain::account_txs::page(self.store.as_ref(), account, before, limit)
    }
}

/// Σ free + Σ stake + Σ unbonding + pending, from a scan of all accounts: must equal total
/// issuance (and the free part must equal the running `total_free`).
pub fn supply_accounted(store: &dyn Store) -> Result<(u128, Globals), StoreError> {
    let globals: Globals = store
        .get(Column::State, &schema::globals_key())?
        .map(|b| decode(&b, "globals"))
        .transpose()?
        .unwrap_or_default();
    let mut total: u128 = globals.pending_emission as u128;
    let mut free: u128 = 0;
    for (_, v) in store.scan_prefix(Column::State, &[schema::ACCOUNT])? {
        let a: Account = decode(&v, "account")?;
        total += a.free as u128 + a.staked as u128 + a.unbonding as u128;
        free += a.free as u128;
    }
    if free != globals.total_free as u128 {
        return Err(StoreError(format!(
            "the running free total {} differs from the accounts' sum {free}",
            globals.total_free
        )));
    }
    Ok((total, globals))
}
