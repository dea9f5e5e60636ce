//! JSON shapes of the API. Amounts are decimal strings of rao; keys are SS58; hashes 0x-hex.

use serde::Serialize;
use tensorchain_ledger::{Event, Head};
use tensorchain_primitives::{Block, Commit, Header, SignedTx};
use utoipa::ToSchema;

/// Every successful response: the data and the chain position it was read at.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    pub data: T,
    pub meta: Meta,
}

#[derive(Serialize, ToSchema)]
pub struct Meta {
    pub height: u64,
    pub hash: String,
    /// Blocks are final when committed, so every served block is finalized.
    pub finalized: bool,
}

impl From<&Head> for Meta {
    fn from(h: &Head) -> Meta {
        Meta {
            height: h.height,
            hash: h.hash.to_hex(),
            finalized: true,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HeaderView {
    pub chain_id: String,
    pub height: u64,
    pub hash: String,
    pub time_ms: u64,
    pub parent_hash: String,
    pub tx_root: String,
    pub state_root: String,
    pub proposer: String,
    pub validator_set_hash: String,
    pub next_validator_set_hash: String,
    pub last_commit_hash: String,
    pub tx_count: usize,
}

impl HeaderView {
    pub fn new(h: &Header, tx_count: usize) -> HeaderView {
        HeaderView {
            chain_id: h.chain_id.clone(),
            height: h.height,
            hash: h.hash().to_hex(),
            time_ms: h.time_ms,
            parent_hash: h.parent_hash.to_hex(),
            tx_root: h.tx_root.to_hex(),
            state_root: h.state_root.to_hex(),
            proposer: h.proposer.to_ss58(),
            validator_set_hash: h.validator_set_hash.to_hex(),
            next_validator_set_hash: h.next_validator_set_hash.to_hex(),
            last_commit_hash: h.last_commit_hash.to_hex(),
            tx_count,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TxView {
    pub hash: String,
    pub signer: String,
    pub nonce: u64,
    pub fee: String,
    /// The call, tagged by `call` (e.g. `{"call": "transfer", "to": …, "amount": "…"}`).
    #[schema(value_type = Object)]
    pub call: serde_json::Value,
}

impl From<&SignedTx> for TxView {
    fn from(stx: &SignedTx) -> TxView {
        TxView {
            hash: stx.hash().to_hex(),
            signer: stx.tx.signer.to_ss58(),
            nonce: stx.tx.nonce,
            fee: stx.tx.fee.to_string(),
            call: serde_json::to_value(&stx.tx.call).unwrap_or_default(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BlockView {
    pub header: HeaderView,
    pub txs: Vec<TxView>,
    /// Events per transaction, in block order.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub events: Vec<Vec<Event>>,
    /// The certificate carried in this block for its parent.
    #[schema(value_type = Option<Object>)]
    pub last_commit: Option<Commit>,
    /// The certificate that finalized this block.
    #[schema(value_type = Option<Object>)]
    pub commit: Option<Commit>,
}

impl BlockView {
    pub fn new(block: &Block, events: Vec<Vec<Event>>, commit: Option<Commit>) -> BlockView {
        BlockView {
            header: HeaderView::new(&block.header, block.txs.len()),
            txs: block.txs.iter().map(TxView::from).collect(),
            events,
            last_commit: block.last_commit.clone(),
            commit,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnbondingView {
    pub hotkey: String,
    pub amount: String,
    /// The block at whose end it becomes free balance.
    pub release_at: u64,
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub address: String,
    pub hex: String,
    pub free: String,
    pub staked: String,
    /// Stake that left a validator and stays slashable until each entry's release block.
    pub unbonding: String,
    pub unbonding_entries: Vec<UnbondingView>,
    /// free + staked + unbonding.
    pub total: String,
    /// Included transactions signed by this account.
    pub nonce: u64,
    /// Nonce for the next transaction, counting ones waiting in this node's mempool.
    pub next_nonce: u64,
    /// False for an address that has never held funds.
    pub exists: bool,
    /// With `?proof=true`: the account record's proof (absent records are proved absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<crate::routes::proofs::ProofView>,
}
