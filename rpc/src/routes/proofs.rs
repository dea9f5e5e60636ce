//! `?proof=true`: a state value's Merkle proof against the state root of the header at the
//! height read, for a client to check with `tensorchain verify-proof` (or
//! `tensorchain_ledger::state::proof::verify`) instead of trusting this node.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use tensorchain_ledger::Ledger;
use utoipa::{IntoParams, ToSchema};

/// `?proof=` of the account, stake and neuron routes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// Add the value's proof against the state root of the block read (`meta.height`).
    #[serde(default)]
    pub proof: bool,
}

/// A state entry and its proof: `key` holds `value` (absent: nothing) in the state tree whose
/// root is the `state_root` of block `height`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProofView {
    pub height: u64,
    /// 0x-hex; the header's `state_root` at `height`.
    pub state_root: String,
    /// 0x-hex state key.
    pub key: String,
    /// 0x-hex borsh record, or null when the key holds nothing.
    pub value: Option<String>,
    /// 0x-hex borsh of jmt's `SparseMerkleProof` (see docs/state.md).
    pub proof: String,
}

/// The proof of `key` at the (pinned) ledger's head, or None when not asked for.
pub fn proof_of(ledger: &Ledger, key: &[u8], asked: bool) -> Result<Option<ProofView>, ApiError> {
    if !asked {
        return Ok(None);
    }
    let p = ledger.prove(key)?;
    let header = ledger
        .header(p.height)?
        .ok_or_else(|| tensorchain_ledger::StoreError(format!("missing header {}", p.height)))?;
    Ok(Some(ProofView {
        height: p.height,
        state_root: header.state_root.to_hex(),
        key: hex0x(&p.key),
        value: p.value.as_deref().map(hex0x),
        proof: hex0x(&tensorchain_ledger::state::proof::encode(&p.proof)),
    }))
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}
