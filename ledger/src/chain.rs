//! The ledger: the chain of committed blocks and the state they produced, behind a `Store`.
//! One writer (the node) builds or executes a block and commits it in one atomic batch; any
//! number of readers (the REST API) read committed data concurrently.

use crate::commitment;
use crate::execute::{apply_checked, apply_tx, Event, TxError};
use crate::state::{self, Account, ChainParams, Globals, ValidatorSet};
use crate::store::{Column, Store, StoreError, WriteBatch};
use crate::validators;
use crate::verify::{SigCache, VerifiedTx, VERIFIED_CACHE_CAPACITY};
use crate::view::{Changes, StateView};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use std::sync::{Arc, RwLock};
use tensorchain_primitives::{
    last_commit_hash, merkle_root, validator_set_hash, AccountId, Block, Commit, CommitError, Hash,
    Header, SignedTx, SigningDomain, Validator, MAX_BLOCK_BYTES, MAX_SUPPLY,
};
use thiserror::Error;

const META_HEAD: &[u8] = b"head";
pub(crate) const META_GENESIS: &[u8] = b"genesis_hash";

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the data dir holds chain {found}, not genesis {expected}; use another data dir or reset it")]
    GenesisMismatch { expected: Hash, found: Hash },
    #[error("genesis allocations total {0} rao, more than the 21M TAO supply")]
    GenesisOverSupply(u128),
    #[error("invalid block: {0}")]
    InvalidBlock(String),
    #[error("block {height}: state root {computed} differs from the header's {claimed}; refusing to fork")]
    StateRootMismatch {
        height: u64,
        computed: Hash,
        claimed: Hash,
    },
}

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

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Head {
    pub height: u64,
    pub hash: Hash,
    pub time_ms: u64,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
struct StoredBody {
    txs: Vec<SignedTx>,
    last_commit: Option<Commit>,
    events: Vec<Vec<Event>>,
    /// What the end of the block did on its own (unbonding releases).
    end_events: Vec<Event>,
}

/// A block whose state changes are computed and ready to commit.
pub struct ExecutedBlock {
    pub block: Block,
    /// The hashes of `block.txs`, computed once when sealing.
    pub tx_hashes: Vec<Hash>,
    pub events: Vec<Vec<Event>>,
    pub end_events: Vec<Event>,
    batch: WriteBatch,
}

/// The result of building a block from candidate transactions.
pub struct BuiltBlock {
    pub executed: ExecutedBlock,
    /// Candidates left out, with the reason.
    pub rejected: Vec<(Hash, TxError)>,
}

pub struct Ledger {
    store: Arc<dyn Store>,
    params: ChainParams,
    /// The chain id and genesis hash every signature on this chain is made for.
    domain: SigningDomain,
    head: RwLock<Head>,
    /// The committed state tree's nodes, so a block's root needs no node reads.
    nodes: RwLock<commitment::NodeCache>,
    /// Transactions whose signature verified on this node (`verify.rs`).
    verified: SigCache,
}

/// A read through the state-transition code can only fail in storage.
fn tx_storage(e: TxError) -> StoreError {
    StoreError(e.to_string())
}

pub(crate) fn decode<T: BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    T::try_from_slice(bytes).map_err(|e| StoreError(format!("corrupt {what}: {e}")))
}

pub(crate) fn height_key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

impl Ledger {
    /// Opens the chain in `store`, writing genesis first if the store is empty.
    pub fn open(store: Arc<dyn Store>, genesis: &GenesisState) -> Result<Ledger, LedgerError> {
        match store.get(Column::Meta, META_GENESIS)? {
            Some(found) => {
                let found: Hash = decode(&found, "genesis hash")?;
                if found != genesis.genesis_hash {
                    return Err(LedgerError::GenesisMismatch {
                        expected: genesis.genesis_hash,
                        found,
                    });
                }
            }
            None => write_genesis(store.as_ref(), genesis)?,
        }
        let head: Head = decode(
            &store
                .get(Column::Meta, META_HEAD)?
                .ok_or_else(|| StoreError("missing head record".into()))?,
            "head",
        )?;
        let params: ChainParams = StateView::new(store.clone())
            .get(&state::params_key())?
            .ok_or_else(|| StoreError("missing chain params".into()))?;
        let nodes = RwLock::new(commitment::NodeCache::load(store.as_ref())?);
        let domain = SigningDomain::new(params.chain_id.clone(), genesis.genesis_hash);
        Ok(Ledger {
            store,
            params,
            domain,
            head: RwLock::new(head),
            nodes,
            verified: SigCache::new(VERIFIED_CACHE_CAPACITY),
        })
    }

    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    pub fn genesis_hash(&self) -> Hash {
        self.domain.genesis
    }

    /// What transactions, votes and proposals on this chain are signed for: a signature made
    /// for another network (even one reusing the chain id) does not verify here.
    pub fn signing_domain(&self) -> &SigningDomain {
        &self.domain
    }

    /// The signatures verified on this node: what admission, block building, validation and
    /// sync share so each transaction's signature is checked once.
    pub fn verified(&self) -> &SigCache {
        &self.verified
    }

    /// The stateless checks of `txs` (signatures on every core, skipped for those this node
    /// already verified): each as a `VerifiedTx`, or its hash and error.
    pub fn verify_txs(&self, txs: Vec<SignedTx>) -> Vec<Result<VerifiedTx, (Hash, TxError)>> {
        self.verified.verify_all(txs, &self.params, &self.domain)
    }

    pub fn head(&self) -> Head {
        self.head.read().expect("head lock").clone()
    }

    /// A fresh view of the committed state.
    pub fn view(&self) -> StateView {
        StateView::new(self.store.clone())
    }

    pub fn state_root(&self) -> Result<Hash, StoreError> {
        commitment::root(self.store.as_ref())
    }

    pub fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.view().account(id)
    }

    pub fn globals(&self) -> Result<Globals, StoreError> {
        self.view().globals()
    }

    /// The set that signs the next block.
    pub fn validators(&self) -> Result<ValidatorSet, StoreError> {
        Ok(self
            .validators_at(self.head().height + 1)?
            .unwrap_or_default())
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

    /// Every hotkey offered as a validator: (hotkey, registered at, total stake), and every jail
    /// still running: (hotkey, jailed until).
    #[allow(clippy::type_complexity)]
    pub fn validator_candidates(
        &self,
    ) -> Result<(Vec<(AccountId, u64, u64)>, Vec<(AccountId, u64)>), StoreError> {
        let view = self.view();
        let err = |e: TxError| StoreError(e.to_string());
        let mut out = Vec::new();
        for (hotkey, c) in validators::candidates(&view).map_err(err)? {
            let stake = self.hotkey(&hotkey)?.map_or(0, |h| h.total_stake);
            out.push((hotkey, c.registered_at, stake));
        }
        Ok((out, self.jails()?))
    }

    /// Every jail still running: (hotkey, jailed until). Only equivocating validators are jailed,
    /// so this stays small.
    pub fn jails(&self) -> Result<Vec<(AccountId, u64)>, StoreError> {
        let head = self.head().height;
        Ok(validators::jailed(&self.view())
            .map_err(|e| StoreError(e.to_string()))?
            .into_iter()
            .filter(|(_, until)| *until > head)
            .collect())
    }

    pub fn validator_schedule(&self) -> Result<validators::Schedule, StoreError> {
        validators::schedule(&self.view()).map_err(|e| StoreError(e.to_string()))
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

    pub fn block(&self, height: u64) -> Result<Option<(Block, Vec<Vec<Event>>)>, StoreError> {
        let (Some(header), Some(body)) = (self.header(height)?, self.body(height)?) else {
            return Ok(None);
        };
        let block = Block {
            header,
            txs: body.txs,
            last_commit: body.last_commit,
        };
        Ok(Some((block, body.events)))
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
        crate::account_txs::page(self.store.as_ref(), account, before, limit)
    }

    /// Where an included transaction sits: (height, index in block).
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<(u64, u32)>, StoreError> {
        self.store
            .get(Column::TxIndex, hash.as_bytes())?
            .map(|b| decode(&b, "tx index"))
            .transpose()
    }

    /// Builds the next block from `candidates` in order, leaving out any that fail, and stopping
    /// before the block would exceed `MAX_BLOCK_BYTES`.
    pub fn build_block(
        &self,
        candidates: impl IntoIterator<Item = SignedTx>,
        proposer: AccountId,
        time_ms: u64,
        last_commit: Option<Commit>,
    ) -> Result<BuiltBlock, LedgerError> {
        self.build_block_within(candidates, proposer, time_ms, last_commit, MAX_BLOCK_BYTES)
    }

    /// As `build_block`, with the block's encoded size bounded by `max_bytes`. Candidates after
    /// the first that does not fit stay out (not rejected: they wait for the next block), so a
    /// signer's transactions are never included out of nonce order.
    pub fn build_block_within(
        &self,
        candidates: impl IntoIterator<Item = SignedTx>,
        proposer: AccountId,
        time_ms: u64,
        last_commit: Option<Commit>,
        max_bytes: usize,
    ) -> Result<BuiltBlock, LedgerError> {
        let mut view = self.view();
        let head_height = self.head().height;
        let candidates: Vec<SignedTx> = candidates.into_iter().collect();
        // Signatures first, on every core; the execution pass after is sequential.
        let checked = self
            .verified
            .check_all(&candidates, &self.params, &self.domain);
        let mut txs = Vec::new();
        let mut events = Vec::new();
        let mut rejected = Vec::new();
        let mut size = self.empty_block_len(last_commit.as_ref());
        for (stx, (hash, len, stateless)) in candidates.into_iter().zip(checked) {
            if size.saturating_add(len) > max_bytes {
                break;
            }
            let applied = stateless.and_then(|()| {
                apply_checked(
                    &mut view,
                    &stx,
                    &self.params,
                    &self.domain,
                    &proposer,
                    head_height + 1,
                )
            });
            match applied {
                Ok(ev) => {
                    size += len;
                    events.push(ev);
                    txs.push(stx);
                }
                Err(TxError::Storage(e)) => return Err(StoreError(e).into()),
                Err(e) => rejected.push((hash, e)),
            }
        }
        let executed = self.seal(view, txs, events, proposer, time_ms, last_commit)?;
        Ok(BuiltBlock { executed, rejected })
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
        for (i, (stx, (hash, _, stateless))) in block.txs.iter().zip(checked).enumerate() {
            let ev = stateless
                .and_then(|()| {
                    apply_checked(
                        &mut view,
                        stx,
                        &self.params,
                        &self.domain,
                        &h.proposer,
                        h.height,
                    )
                })
                .map_err(|e| invalid(format!("tx {i} ({hash}): {e}")))?;
            events.push(ev);
        }
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
        let end_events = crate::subnet::emission::on_block(&mut view, &self.params, height)
            .map_err(end_of_block)?;
        validators::end_of_block(&mut view, &self.params, height).map_err(end_of_block)?;
        let sched = validators::schedule(&view).map_err(end_of_block)?;
        let set_hash = |h: u64| validator_set_hash(sched.for_height(h).map_or(&[][..], |s| s));
        view.commit_tx();
        let changes = view.into_changes();
        let mut batch = WriteBatch::default();
        let state_root = {
            let cache = self.nodes.read().expect("node cache lock");
            commitment::update(self.store.as_ref(), Some(&cache), &changes, &mut batch)?
        };
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
        crate::account_txs::put(&mut batch, height, &txs, &events);
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
        let block = &executed.block;
        let hash = block.hash();
        if commit.block_hash != hash || commit.height != block.header.height {
            return Err(LedgerError::InvalidBlock(
                "commit is for another block".into(),
            ));
        }
        if block.header.parent_hash != self.head().hash {
            return Err(LedgerError::InvalidBlock(
                "block no longer extends the head".into(),
            ));
        }
        let mut batch = executed.batch;
        batch.unsynced = !synced;
        batch.put(
            Column::Commits,
            height_key(block.header.height).to_vec(),
            borsh::to_vec(commit).expect("borsh"),
        );
        let node_ops = commitment::NodeCache::node_ops(&batch);
        self.store.write(batch)?;
        // Committed transactions are never checked again (their hash is on chain).
        self.verified.forget(&executed.tx_hashes);
        self.nodes
            .write()
            .expect("node cache lock")
            .apply(node_ops)?;
        *self.head.write().expect("head lock") = Head {
            height: block.header.height,
            hash,
            time_ms: block.header.time_ms,
        };
        Ok(())
    }
}

fn put_state(batch: &mut WriteBatch, changes: &Changes) {
    for (k, v) in changes {
        match v {
            Some(v) => batch.put(Column::State, k.clone(), v.clone()),
            None => batch.delete(Column::State, k.clone()),
        }
    }
}

fn put_block(
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

fn write_genesis(store: &dyn Store, g: &GenesisState) -> Result<(), LedgerError> {
    let mut view = StateView::new(Arc::new(crate::store::MemoryStore::new()));
    let mut issued: u128 = 0;
    for (id, amount) in &g.balances {
        let mut a = view.account(id)?.unwrap_or_default();
        a.free += amount;
        view.set_account(id, &a)?;
        issued += *amount as u128;
    }
    for (hotkey, coldkey, amount) in &g.stakes {
        crate::staking::bond(&mut view, coldkey, hotkey, *amount)
            .map_err(|e| LedgerError::InvalidBlock(format!("genesis stake: {e}")))?;
        issued += *amount as u128;
    }
    let mut globals = view.globals()?;
    if issued > MAX_SUPPLY as u128 {
        return Err(LedgerError::GenesisOverSupply(issued));
    }
    globals.total_issuance = issued as u64;
    view.set_globals(&globals);
    view.put(state::params_key(), &g.params);
    validators::write_genesis(&mut view, &g.validators);
    crate::subnet::genesis::write(&mut view, &g.params.subnets);
    let changes = view.into_changes();
    let mut batch = WriteBatch::default();
    let state_root = commitment::update(store, None, &changes, &mut batch)?;
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

/// Σ free + Σ stake + Σ unbonding + pending, from a scan of all accounts: must equal total
/// issuance (and the free part must equal the running `total_free`).
pub fn supply_accounted(store: &dyn Store) -> Result<(u128, Globals), StoreError> {
    let globals: Globals = store
        .get(Column::State, &state::globals_key())?
        .map(|b| decode(&b, "globals"))
        .transpose()?
        .unwrap_or_default();
    let mut total: u128 = globals.pending_emission as u128;
    let mut free: u128 = 0;
    for (_, v) in store.scan_prefix(Column::State, &[state::ACCOUNT_PREFIX])? {
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

impl Ledger {
    /// Runs a transaction against the head state without keeping anything: its events or error.
    pub fn simulate(&self, stx: &SignedTx) -> Result<Vec<Event>, TxError> {
        let proposer = self
            .validators()?
            .first()
            .map(|v| v.hotkey)
            .unwrap_or_default();
        apply_tx(
            &mut self.view(),
            stx,
            &self.params,
            &self.domain,
            &proposer,
            self.head().height + 1,
        )
    }
}

impl Ledger {
    fn scan_amounts(&self, prefix: Vec<u8>) -> Result<Vec<(AccountId, u64)>, StoreError> {
        self.store
            .scan_prefix(Column::State, &prefix)?
            .into_iter()
            .map(|(k, v)| {
                let id: [u8; 32] = k[k.len() - 32..].try_into().expect("32-byte key suffix");
                Ok((AccountId(id), decode(&v, "stake")?))
            })
            .collect()
    }

    /// A coldkey's stakes: (hotkey, rao).
    pub fn stakes_of(&self, coldkey: &AccountId) -> Result<Vec<(AccountId, u64)>, StoreError> {
        let mut prefix = vec![state::COLDKEY_STAKE_PREFIX];
        prefix.extend_from_slice(&coldkey.0);
        self.scan_amounts(prefix)
    }

    /// Who stakes behind a hotkey: (coldkey, rao).
    pub fn nominators_of(&self, hotkey: &AccountId) -> Result<Vec<(AccountId, u64)>, StoreError> {
        let mut prefix = vec![state::STAKE_PREFIX];
        prefix.extend_from_slice(&hotkey.0);
        self.scan_amounts(prefix)
    }

    /// Every hotkey with an owner, with its record.
    pub fn hotkeys(&self) -> Result<Vec<(AccountId, state::HotkeyInfo)>, StoreError> {
        self.store
            .scan_prefix(Column::State, &[state::HOTKEY_PREFIX])?
            .into_iter()
            .map(|(k, v)| {
                let id: [u8; 32] = k[1..]
                    .try_into()
                    .map_err(|_| StoreError("corrupt hotkey key".into()))?;
                Ok((AccountId(id), decode(&v, "hotkey")?))
            })
            .collect()
    }

    /// (netuid, uid) of every subnet the hotkey is registered on.
    pub fn registrations(&self, hotkey: &AccountId) -> Result<Vec<(u16, u16)>, StoreError> {
        let view = self.view();
        let mut out = Vec::new();
        for s in self.subnets()? {
            if let Some(uid) = view.get::<u16>(&crate::subnet::uid_key(s.netuid, hotkey))? {
                out.push((s.netuid, uid));
            }
        }
        Ok(out)
    }

    pub fn hotkey(&self, hotkey: &AccountId) -> Result<Option<state::HotkeyInfo>, StoreError> {
        self.view().get(&state::hotkey_key(hotkey))
    }

    /// A coldkey's stake that is unbonding, with its release blocks.
    pub fn unbonding_of(
        &self,
        coldkey: &AccountId,
    ) -> Result<Vec<crate::unbonding::Entry>, StoreError> {
        crate::unbonding::of_coldkey(&self.view(), coldkey).map_err(tx_storage)
    }

    /// Each live subnet's share of the block reward, exactly as the emission split uses it
    /// (I32F32 bits: 2^32 = the whole reward).
    pub fn emission_shares(&self) -> Result<Vec<(u16, u64)>, StoreError> {
        crate::subnet::root::emission_shares(&self.view()).map_err(tx_storage)
    }
}

/// Reads of subnet state for the API.
impl Ledger {
    pub fn subnets(&self) -> Result<Vec<crate::subnet::Subnet>, StoreError> {
        self.store
            .scan_prefix(Column::State, &crate::subnet::subnets_prefix())?
            .into_iter()
            .map(|(_, v)| decode(&v, "subnet"))
            .collect()
    }

    pub fn subnet(&self, netuid: u16) -> Result<Option<crate::subnet::Subnet>, StoreError> {
        self.view().get(&crate::subnet::subnet_key(netuid))
    }

    /// All neurons of a subnet with their weight and bond rows, by uid.
    pub fn neurons(
        &self,
        netuid: u16,
    ) -> Result<
        Vec<(
            crate::subnet::Neuron,
            crate::subnet::Row,
            crate::subnet::Row,
        )>,
        StoreError,
    > {
        let Some(s) = self.subnet(netuid)? else {
            return Ok(vec![]);
        };
        let view = self.view();
        let mut out = Vec::with_capacity(s.n as usize);
        for uid in 0..s.n {
            let n = view
                .get(&crate::subnet::neuron_key(netuid, uid))?
                .ok_or_else(|| StoreError(format!("subnet {netuid} lacks uid {uid}")))?;
            let w = view
                .get(&crate::subnet::weights_key(netuid, uid))?
                .unwrap_or_default();
            let b = view
                .get(&crate::subnet::bonds_key(netuid, uid))?
                .unwrap_or_default();
            out.push((n, w, b));
        }
        Ok(out)
    }

    /// Past epochs of a subnet, newest first.
    pub fn epochs(
        &self,
        netuid: u16,
        limit: usize,
    ) -> Result<Vec<crate::subnet::EpochSummary>, StoreError> {
        let mut all: Vec<crate::subnet::EpochSummary> = self
            .store
            .scan_prefix(Column::State, &crate::subnet::epochs_prefix(netuid))?
            .into_iter()
            .map(|(_, v)| decode(&v, "epoch summary"))
            .collect::<Result<_, _>>()?;
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }

    pub fn epoch_at(
        &self,
        netuid: u16,
        block: u64,
    ) -> Result<Option<crate::subnet::EpochSummary>, StoreError> {
        self.view().get(&crate::subnet::epoch_key(netuid, block))
    }

    /// The price of creating a subnet at the next block.
    pub fn subnet_lock_cost(&self) -> Result<u64, StoreError> {
        let reg = self
            .view()
            .get(&crate::subnet::registry_key())?
            .unwrap_or_default();
        Ok(crate::subnet::calls::lock_cost(
            &reg,
            &self.params.subnets,
            self.head().height + 1,
        ))
    }
}

/// Reads of the root network for the API.
impl Ledger {
    /// Root members with their stake and subnet weights, and the last computed shares.
    #[allow(clippy::type_complexity)]
    pub fn root(
        &self,
    ) -> Result<
        (
            Vec<(AccountId, u64, crate::subnet::Row)>,
            Option<crate::subnet::root::RootShares>,
        ),
        StoreError,
    > {
        let view = self.view();
        let err = |e: TxError| StoreError(e.to_string());
        let mut out = Vec::new();
        for m in crate::subnet::root::members(&view).map_err(err)? {
            let stake = crate::staking::hotkey(&view, &m)
                .map_err(err)?
                .map_or(0, |h| h.total_stake);
            out.push((
                m,
                stake,
                crate::subnet::root::weights(&view, &m).map_err(err)?,
            ));
        }
        Ok((out, crate::subnet::root::shares(&view).map_err(err)?))
    }
}

/// Paged reads for the API: each reads at most `limit` entries from the store whatever the total,
/// resuming strictly after the cursor (the last item of the previous page).
impl Ledger {
    fn page(
        &self,
        prefix: &[u8],
        after: Option<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<crate::store::Entries, StoreError> {
        self.store
            .scan_page(Column::State, prefix, after.as_deref(), reverse, limit)
    }

    /// Hotkeys with an owner, in key order.
    pub fn hotkeys_page(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<(AccountId, state::HotkeyInfo)>, StoreError> {
        let after = after.map(state::hotkey_key);
        self.page(&[state::HOTKEY_PREFIX], after, false, limit)?
            .into_iter()
            .map(|(k, v)| Ok((account_suffix(&k)?, decode(&v, "hotkey")?)))
            .collect()
    }

    /// Who stakes behind a hotkey, (coldkey, rao), in coldkey order.
    pub fn nominators_page(
        &self,
        hotkey: &AccountId,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<(AccountId, u64)>, StoreError> {
        let mut prefix = vec![state::STAKE_PREFIX];
        prefix.extend_from_slice(&hotkey.0);
        let after = after.map(|a| [prefix.as_slice(), &a.0].concat());
        self.page(&prefix, after, false, limit)?
            .into_iter()
            .map(|(k, v)| Ok((account_suffix(&k)?, decode(&v, "stake")?)))
            .collect()
    }

    /// Subnets by netuid, from the first netuid above `after`.
    pub fn subnets_page(
        &self,
        after: Option<u16>,
        limit: usize,
    ) -> Result<Vec<crate::subnet::Subnet>, StoreError> {
        let after = after.map(crate::subnet::subnet_key);
        self.page(&crate::subnet::subnets_prefix(), after, false, limit)?
            .into_iter()
            .map(|(_, v)| decode(&v, "subnet"))
            .collect()
    }

    /// A subnet's past epochs, newest first, from the newest before block `before`.
    pub fn epochs_page(
        &self,
        netuid: u16,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<crate::subnet::EpochSummary>, StoreError> {
        let after = before.map(|b| crate::subnet::epoch_key(netuid, b));
        self.page(&crate::subnet::epochs_prefix(netuid), after, true, limit)?
            .into_iter()
            .map(|(_, v)| decode(&v, "epoch summary"))
            .collect()
    }

    /// Validator candidates, (hotkey, registered at, total stake), in hotkey order.
    pub fn validator_candidates_page(
        &self,
        after: Option<&AccountId>,
        limit: usize,
    ) -> Result<Vec<(AccountId, u64, u64)>, StoreError> {
        let prefix = [validators::CANDIDATES_PREFIX];
        let after = after.map(|a| [prefix.as_slice(), &a.0].concat());
        let mut out = Vec::new();
        for (k, v) in self.page(&prefix, after, false, limit)? {
            let hotkey = account_suffix(&k)?;
            let c: validators::Candidate = decode(&v, "validator candidate")?;
            let stake = self.hotkey(&hotkey)?.map_or(0, |h| h.total_stake);
            out.push((hotkey, c.registered_at, stake));
        }
        Ok(out)
    }
}

/// The account id a state key ends with.
fn account_suffix(key: &[u8]) -> Result<AccountId, StoreError> {
    key.len()
        .checked_sub(32)
        .and_then(|start| key[start..].try_into().ok())
        .map(AccountId)
        .ok_or_else(|| StoreError("state key too short for an account id".into()))
}
