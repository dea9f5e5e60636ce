//! The block writer: builds a block from candidates (the proposer), executes one received (every
//! validator), and commits it with its state in one atomic batch.

use super::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Ledger {
    /// Builds the next block from `candidates` in order, leaving out any that fail, and stopping
    /// before the block would exceed `MAX_BLOCK_BYTES`.
    pub fn build_block(
        &self,
        candidates: impl IntoIterator<Item = SignedTx>,
        proposer: AccountId,
        time_ms: u64,
        last_commit: Option<Commit>,
    ) -> Result<BuiltBlock, LedgerError> {
        self.build_block_within(
            candidates,
            proposer,
            time_ms,
            last_commit,
            BlockLimits::default(),
        )
    }

    /// As `build_block`, within `limits`. Candidates after the first that does not fit, or after
    /// the deadline, stay out (not rejected: they wait for the next block), so a signer's
    /// transactions are never included out of nonce order.
    ///
    /// Signatures are checked a chunk at a time on every core, then the chunk is executed in
    /// order: with a deadline, at most one chunk's checks run past it. The deadline covers the
    /// seal too: filling stops early by what sealing cost per transaction in recent blocks
    /// (it grows with the transactions taken: the tree, history and indexes).
    pub fn build_block_within(
        &self,
        candidates: impl IntoIterator<Item = SignedTx>,
        proposer: AccountId,
        time_ms: u64,
        last_commit: Option<Commit>,
        limits: BlockLimits,
    ) -> Result<BuiltBlock, LedgerError> {
        const CHUNK: usize = 1_024;
        let mut view = self.view();
        let head_height = self.head().height;
        let mut txs = Vec::new();
        let mut events = Vec::new();
        let mut rejected = Vec::new();
        let mut size = self.empty_block_len(last_commit.as_ref());
        let mut candidates = candidates.into_iter();
        let seal_ns = self.seal_ns_per_tx.load(Ordering::Relaxed);
        let reserve = |taken: usize| Duration::from_nanos(seal_ns.saturating_mul(taken as u64 + 1));
        'fill: loop {
            let chunk: Vec<SignedTx> = candidates.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let checked = self.verified.check_all(&chunk, &self.params, &self.domain);
            for (stx, (hash, len, stateless)) in chunk.into_iter().zip(checked) {
                if size.saturating_add(len) > limits.max_bytes
                    || limits.past_deadline(reserve(txs.len()))
                {
                    break 'fill;
                }
                let applied = stateless.and_then(|()| {
                    apply_checked(
                        &mut view,
                        &stx,
                        self.block_context(&proposer, head_height + 1),
                    )
                });
                match applied {
                    Ok(ev) => {
                        // Kept: a re-proposal or the validation of this block finds it verified.
                        self.verified.insert_all([hash]);
                        size += len;
                        events.push(ev);
                        txs.push(stx);
                    }
                    Err(TxError::Storage(e)) => return Err(StoreError(e).into()),
                    Err(e) => rejected.push((hash, e)),
                }
            }
        }
        let taken = txs.len();
        let sealing = Instant::now();
        let executed = self.seal(view, txs, events, proposer, time_ms, last_commit)?;
        self.note_seal_cost(taken, sealing.elapsed());
        Ok(BuiltBlock { executed, rejected })
    }

    /// Keeps a moving average of the seal's cost per transaction, from blocks with enough
    /// transactions that the per-block costs (hooks, header, one tree root) do not dominate.
    fn note_seal_cost(&self, taken: usize, took: Duration) {
        const ENOUGH: usize = 256;
        if taken < ENOUGH {
            return;
        }
        let now = (took.as_nanos() / taken as u128).min(u64::MAX as u128) as u64;
        let before = self.seal_ns_per_tx.load(Ordering::Relaxed);
        let next = if before == 0 {
            now
        } else {
            (before.saturating_mul(3).saturating_add(now)) / 4
        };
        self.seal_ns_per_tx.store(next, Ordering::Relaxed);
    }

    /// The encoded size of this chain's next block without transactions: every header field
    /// but the chain id has a fixed size; then the (empty) transaction list and the certificate.
    fn empty_block_len(&self, last_commit: Option<&Commit>) -> usize {
        let header = Header {
            chain_id: self.params.chain_id.clone(),
            height: 0,
            time_ms: 0,
            parent_hash: Hash::ZERO,
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            proposer: AccountId::default(),
            validator_set_hash: Hash::ZERO,
            next_validator_set_hash: Hash::ZERO,
            last_commit_hash: Hash::ZERO,
        };
        let len = |r: Result<usize, _>| r.unwrap_or(usize::MAX);
        len(borsh::object_length(&header))
            .saturating_add(len(borsh::object_length(&Vec::<SignedTx>::new())))
            .saturating_add(len(borsh::object_length(&last_commit)))
    }

    /// Re-executes a block proposed elsewhere and checks every header field against the result.
    pub fn execute_block(&self, block: &Block) -> Result<ExecutedBlock, LedgerError> {
        let invalid = |m: String| LedgerError::InvalidBlock(m);
        let size = block.encoded_len();
        if size > MAX_BLOCK_BYTES {
            return Err(invalid(format!(
                "the block is {size} bytes; at most {MAX_BLOCK_BYTES} are valid"
            )));
        }
        let head = self.head();
        let h = &block.header;
        if h.chain_id != self.params.chain_id {
            return Err(invalid(format!("chain id {}", h.chain_id)));
        }
        if h.height != head.height + 1 || h.parent_hash != head.hash {
            return Err(invalid(format!(
                "height {} does not extend head {}",
                h.height, head.height
            )));
        }
        let validators = self.validators()?;
        if !validators.iter().any(|v| v.hotkey == h.proposer) {
            return Err(invalid(format!(
                "proposer {} is not a validator",
                h.proposer
            )));
        }
        if head.height > 0 {
            let commit = block
                .last_commit
                .as_ref()
                .ok_or_else(|| invalid("missing commit for the parent".into()))?;
            if commit.block_hash != head.hash || commit.height != head.height {
                return Err(invalid("last commit is not for the parent".into()));
            }
            let signers = self
                .validators_at(head.height)?
                .ok_or_else(|| invalid("the parent's validator set is unknown".into()))?;
            commit
                .verify(&self.domain, &signers)
                .map_err(|e: CommitError| invalid(format!("parent commit: {e}")))?;
        }
        // Signatures of transactions this node has not verified yet, on every core, before the
        // sequential execution pass.
        let checked = self
            .verified
            .check_all(&block.txs, &self.params, &self.domain);
        let mut view = self.view();
        let mut events = Vec::new();
        let mut hashes = Vec::with_capacity(block.txs.len());
        for (i, (stx, (hash, _, stateless))) in block.txs.iter().zip(checked).enumerate() {
            let ev = stateless
                .and_then(|()| {
                    apply_checked(&mut view, stx, self.block_context(&h.proposer, h.height))
                })
                .map_err(|e| invalid(format!("tx {i} ({hash}): {e}")))?;
            events.push(ev);
            hashes.push(hash);
        }
        // A valid block's transactions: a later round re-proposing it finds them verified.
        self.verified.insert_all(hashes);
        let executed = self.seal(
            view,
            block.txs.clone(),
            events,
            h.proposer,
            h.time_ms,
            block.last_commit.clone(),
        )?;
        let computed = &executed.block.header;
        if computed.state_root != h.state_root {
            return Err(LedgerError::StateRootMismatch {
                height: h.height,
                computed: computed.state_root,
                claimed: h.state_root,
            });
        }
        if computed != h {
            return Err(invalid("header fields differ from re-execution".into()));
        }
        Ok(executed)
    }

    /// Finishes a block: end-of-block state, state root, header, and the batch that stores it all.
    fn seal(
        &self,
        view: StateView,
        txs: Vec<SignedTx>,
        events: Vec<Vec<Event>>,
        proposer: AccountId,
        time_ms: u64,
        last_commit: Option<Commit>,
    ) -> Result<ExecutedBlock, LedgerError> {
        let head = self.head();
        let height = head.height + 1;
        let mut view = view;
        let end_of_block = |e| match e {
            TxError::Storage(s) => LedgerError::Store(StoreError(s)),
            other => LedgerError::InvalidBlock(format!("end of block: {other}")),
        };
        let end_events =
            crate::runtime::subnets::emission::on_block(&mut view, &self.params, height)
                .map_err(end_of_block)?;
        validators::end_of_block(&mut view, &self.params, height).map_err(end_of_block)?;
        let sched = validators::schedule(&view).map_err(end_of_block)?;
        let set_hash = |h: u64| validator_set_hash(sched.for_height(h).map_or(&[][..], |s| s));
        view.commit_tx();
        // Free + staked + unbonding + pending emission is exactly what was ever issued: every
        // path that moves rao keeps the running totals, so a block that breaks it is a bug here.
        debug_assert!(
            view.globals().map_or(true, |g| g.invariant_ok()),
            "block {height} breaks the supply invariant: {:?}",
            view.globals()
        );
        let changes = crate::state::view::drop_unchanged(self.store.as_ref(), view.into_changes())?;
        let mut batch = WriteBatch::default();
        // An archive node never prunes, so it keeps no index of what went stale.
        let index_stale = self.state_history.is_some();
        let state_root = tree::update(
            self.store.as_ref(),
            &changes,
            height,
            index_stale,
            &mut batch,
        )?;
        crate::state::history::put(&mut batch, &changes, height, index_stale);
        let tx_hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
        let header = Header {
            chain_id: self.params.chain_id.clone(),
            height: head.height + 1,
            time_ms,
            parent_hash: head.hash,
            tx_root: merkle_root(&tx_hashes),
            state_root,
            proposer,
            validator_set_hash: set_hash(height),
            next_validator_set_hash: set_hash(height + 1),
            last_commit_hash: last_commit_hash(last_commit.as_ref()),
        };
        let hash = header.hash();
        put_state(&mut batch, &changes);
        for (i, th) in tx_hashes.iter().enumerate() {
            batch.put(
                Column::TxIndex,
                th.0.to_vec(),
                borsh::to_vec(&(height, i as u32)).expect("borsh"),
            );
        }
        crate::chain::account_txs::put(&mut batch, height, &txs, &events);
        let block = Block {
            header,
            txs,
            last_commit,
        };
        put_block(&mut batch, &block, (&events, &end_events), hash, time_ms);
        Ok(ExecutedBlock {
            block,
            tx_hashes,
            events,
            end_events,
            batch,
            state: Arc::new(changes),
        })
    }

    /// Stores the block, its commit certificate and its state in one atomic, synced batch.
    pub fn commit_block(
        &self,
        executed: ExecutedBlock,
        commit: &Commit,
    ) -> Result<(), LedgerError> {
        self.commit_block_durably(executed, commit, true)
    }

    /// Makes every committed block durable, those committed unsynced included.
    pub fn sync(&self) -> Result<(), LedgerError> {
        Ok(self.store.sync()?)
    }

    /// As `commit_block`; with `synced` false the batch is not fsynced (still atomic and in
    /// order), for syncing many blocks whose last one is then written synced.
    pub fn commit_block_durably(
        &self,
        executed: ExecutedBlock,
        commit: &Commit,
        synced: bool,
    ) -> Result<(), LedgerError> {
        self.stage_commit(executed, commit, synced)?.finish()
    }
}

pub(super) fn put_state(batch: &mut WriteBatch, changes: &Changes) {
    for (k, v) in changes {
        match v {
            Some(v) => batch.put(Column::State, k.clone(), v.clone()),
            None => batch.delete(Column::State, k.clone()),
        }
    }
}

pub(super) fn put_block(
    batch: &mut WriteBatch,
    block: &Block,
    (events, end_events): (&[Vec<Event>], &[Event]),
    hash: Hash,
    time_ms: u64,
) {
    let height = block.header.height;
    let body = StoredBody {
        txs: block.txs.clone(),
        last_commit: block.last_commit.clone(),
        events: events.to_vec(),
        end_events: end_events.to_vec(),
    };
    batch.put(
        Column::Headers,
        height_key(height).to_vec(),
        borsh::to_vec(&block.header).expect("borsh"),
    );
    batch.put(
        Column::Bodies,
        height_key(height).to_vec(),
        borsh::to_vec(&body).expect("borsh"),
    );
    batch.put(
        Column::BlockIndex,
        hash.0.to_vec(),
        borsh::to_vec(&height).expect("borsh"),
    );
    let head = Head {
        height,
        hash,
        time_ms,
    };
    batch.put(
        Column::Meta,
        META_HEAD.to_vec(),
        borsh::to_vec(&head).expect("borsh"),
    );
}
