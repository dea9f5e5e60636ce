//! `tensorchain verify-proof`: checks a `?proof=true` answer without trusting the node that
//! served it. The proof is checked against the `state_root` of the header at its height; the
//! header against the commit certificate that finalized it; the commit's signatures against the
//! validator set of a chain spec the user trusts (the light-client path, docs/state.md).

use crate::client::Client;
use crate::error::{CliError, CliResult};
use crate::Global;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Read;
use std::path::PathBuf;
use tensorchain_genesis::ChainSpec;
use tensorchain_ledger::state::proof;
use tensorchain_primitives::{
    validator_set_hash, AccountId, Commit, CommitSig, Hash, Header, Signature,
};

#[derive(clap::Args)]
pub struct VerifyProofArgs {
    /// A `?proof=true` response, or its `proof` object, as JSON; `-` reads stdin.
    #[arg(long)]
    proof: String,
    /// The chain spec whose validators are trusted to sign headers (a devnet's genesis.json).
    #[arg(long)]
    genesis: PathBuf,
}

/// The proof object of the API (`rpc::routes::proofs::ProofView`).
#[derive(Deserialize)]
struct ProofJson {
    height: u64,
    state_root: Hash,
    key: String,
    value: Option<String>,
    proof: String,
}

/// A header as `/v1/blocks/{id}` shows it.
#[derive(Deserialize)]
struct HeaderJson {
    chain_id: String,
    height: u64,
    hash: Hash,
    time_ms: u64,
    parent_hash: Hash,
    tx_root: Hash,
    state_root: Hash,
    proposer: AccountId,
    validator_set_hash: Hash,
    next_validator_set_hash: Hash,
    last_commit_hash: Hash,
}

#[derive(Deserialize)]
struct CommitJson {
    height: u64,
    round: u32,
    block_hash: Hash,
    signatures: Vec<SigJson>,
}

#[derive(Deserialize)]
struct SigJson {
    validator: AccountId,
    signature: Signature,
}

fn fail(code: &str, message: impl Into<String>) -> CliError {
    CliError::new(
        code,
        message,
        "the node served data that does not check out: do not trust this answer",
    )
}

fn bad_input(message: impl Into<String>) -> CliError {
    CliError::new(
        "bad_proof_file",
        message,
        "pass the JSON of a ?proof=true answer (or its proof object) to --proof",
    )
}

/// The first object with a proof's fields, searched depth-first (a whole response holds one).
fn find_proof(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(m) if m.contains_key("state_root") && m.contains_key("proof") => Some(v),
        Value::Object(m) => m.values().find_map(find_proof),
        Value::Array(a) => a.iter().find_map(find_proof),
        _ => None,
    }
}

fn hex_bytes(field: &str, s: &str) -> CliResult<Vec<u8>> {
    s.strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| bad_input(format!("{field} is not 0x-hex")))
}

pub fn run(args: VerifyProofArgs, g: &Global) -> CliResult<()> {
    let text = if args.proof == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.proof)?
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| bad_input(e.to_string()))?;
    let found = find_proof(&v).ok_or_else(|| bad_input("no proof object in the input"))?;
    let p: ProofJson =
        serde_json::from_value(found.clone()).map_err(|e| bad_input(e.to_string()))?;
    let spec = ChainSpec::load(&args.genesis).map_err(|e| {
        CliError::new(
            "bad_genesis",
            e.to_string(),
            "pass the chain spec (genesis.json) of the chain the proof is from",
        )
    })?;

    let block: Value = Client::new(&g.network).get(&format!("/v1/blocks/{}", p.height))?;
    let hj: HeaderJson = serde_json::from_value(block["header"].clone())
        .map_err(|e| fail("bad_header", format!("the node's header: {e}")))?;
    let header = Header {
        chain_id: hj.chain_id,
        height: hj.height,
        time_ms: hj.time_ms,
        parent_hash: hj.parent_hash,
        tx_root: hj.tx_root,
        state_root: hj.state_root,
        proposer: hj.proposer,
        validator_set_hash: hj.validator_set_hash,
        next_validator_set_hash: hj.next_validator_set_hash,
        last_commit_hash: hj.last_commit_hash,
    };
    let hash = header.hash();
    if hash != hj.hash || header.height != p.height {
        return Err(fail(
            "header_mismatch",
            format!("the header served for height {} hashes to {hash}", p.height),
        ));
    }
    let cj: CommitJson = serde_json::from_value(block["commit"].clone()).map_err(|e| {
        fail(
            "commit_missing",
            format!("no commit for block {}: {e}", p.height),
        )
    })?;
    let commit = Commit {
        height: cj.height,
        round: cj.round,
        block_hash: cj.block_hash,
        signatures: cj
            .signatures
            .into_iter()
            .map(|s| CommitSig {
                validator: s.validator,
                signature: s.signature,
            })
            .collect(),
    };
    if commit.block_hash != hash || commit.height != header.height {
        return Err(fail("commit_mismatch", "the commit is for another block"));
    }
    // The light client trusts the spec's validators; a header signed by another set cannot be
    // checked from the spec alone.
    let trusted = spec.genesis_state().validators;
    if header.validator_set_hash != validator_set_hash(&trusted) {
        return Err(CliError::new(
            "validator_set_changed",
            format!(
                "block {} is signed by a validator set other than the spec's",
                p.height
            ),
            "verify against a trusted node, or a spec whose validators sign that height",
        ));
    }
    commit
        .verify(&spec.signing_domain(), &trusted)
        .map_err(|e| fail("commit_invalid", e.to_string()))?;
    if header.state_root != p.state_root {
        return Err(fail(
            "state_root_mismatch",
            format!(
                "the proof claims root {} but block {} commits to {}",
                p.state_root, p.height, header.state_root
            ),
        ));
    }
    let key = hex_bytes("key", &p.key)?;
    let value = p
        .value
        .as_deref()
        .map(|v| hex_bytes("value", v))
        .transpose()?;
    let proof_bytes = hex_bytes("proof", &p.proof)?;
    proof::verify(header.state_root, &key, value.as_deref(), &proof_bytes)
        .map_err(|e| fail(e.code(), e.to_string()))?;
    if g.json {
        crate::output::print_json(&json!({
            "verified": true,
            "height": p.height,
            "block_hash": hash,
            "state_root": header.state_root,
            "key": p.key,
            "value": p.value,
            "signers": commit.signatures.len(),
        }));
    } else {
        println!(
            "verified: key {} {} at height {} (block {hash}, {} signatures)",
            p.key,
            if value.is_some() {
                "holds the value"
            } else {
                "is absent"
            },
            p.height,
            commit.signatures.len()
        );
    }
    Ok(())
}
