//! A small blocking client for the node's REST API (`ureq`), shared by the `tensorchain` CLI and
//! subnets: reads, paged lists, and signed transactions. API errors come back as [`SdkError`]s with
//! the node's own code, message and hint. Async code calls it through [`crate::blocking`].

use crate::error::{SdkError, SdkResult};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tensorchain_primitives::{Call, Hash, Keypair, SignedTx, SigningDomain, Tx};

/// How long a client waits for a node to accept a connection: a local node answers in
/// milliseconds, a remote one within a few round trips.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest single request (the largest pages of the API take well under a second).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a waiting client asks whether its transaction is in a block: a fraction of the
/// fastest block time a devnet allows (50 ms), without flooding the node.
const TX_POLL: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// `local` (or nothing) means the local devnet's default address.
pub fn resolve_network(network: &str) -> String {
    match network {
        "" | "local" => "http://127.0.0.1:8080".to_string(),
        url => url.trim_end_matches('/').to_string(),
    }
}

/// `/v1/chain`: what a transaction needs besides the signer's nonce.
#[derive(Debug, Clone, Deserialize)]
pub struct ChainInfo {
    pub chain_id: String,
    pub genesis_hash: Hash,
    /// Call name → fee in rao (as a string).
    pub fees: Value,
}

impl ChainInfo {
    /// What a transaction for this node's network is signed for: a signature over the chain id
    /// alone would also be valid on another network that reuses the id.
    pub fn signing_domain(&self) -> SigningDomain {
        SigningDomain::new(self.chain_id.clone(), self.genesis_hash)
    }

    /// The fee of a call by its name (`Call::name`).
    pub fn fee(&self, call_name: &str) -> SdkResult<u64> {
        self.fees[call_name]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                SdkError::new(
                    "bad_response",
                    format!("the node lists no {call_name} fee"),
                    "is --network a tensorchain node of this version?",
                )
            })
    }
}

impl Client {
    pub fn new(network: &str) -> Client {
        Client {
            base: resolve_network(network),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .build(),
        }
    }

    /// The node's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GETs `path` and returns the envelope's `data`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> SdkResult<T> {
        self.handle(self.agent.get(&format!("{}{path}", self.base)).call())
    }

    /// Every item of a paged list route (`{items, next_cursor}`), following its cursors, at
    /// most `MAX_PAGES` pages (a quarter of a million items at the API's largest page).
    pub fn get_all(&self, path: &str) -> SdkResult<Vec<Value>> {
        const MAX_PAGES: usize = 1_000;
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=256&cursor={c}"),
                None => format!("{path}{sep}limit=256"),
            };
            let page: Value = self.get(&url)?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        Ok(items)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> SdkResult<T> {
        self.handle(
            self.agent
                .post(&format!("{}{path}", self.base))
                .send_json(body),
        )
    }

    pub fn chain(&self) -> SdkResult<ChainInfo> {
        self.get("/v1/chain")
    }

    /// The signer's next nonce, counting its transactions still in the node's mempool.
    pub fn next_nonce(&self, key: &Keypair) -> SdkResult<u64> {
        let account: Value = self.get(&format!("/v1/accounts/{}", key.account()))?;
        account["next_nonce"]
            .as_u64()
            .ok_or_else(|| self.bad_response("the account has no next_nonce"))
    }

    /// `call` as a transaction of `key` with the chain's fee and the key's next nonce, signed.
    pub fn sign(&self, key: &Keypair, call: Call) -> SdkResult<SignedTx> {
        let chain = self.chain()?;
        let fee = chain.fee(call.name())?;
        let domain = chain.signing_domain();
        Ok(Tx {
            chain_id: chain.chain_id,
            signer: key.account(),
            nonce: self.next_nonce(key)?,
            fee,
            call,
        }
        .sign(key, &domain))
    }

    /// The body `POST /v1/txs` and `/v1/txs/simulate` take.
    pub fn tx_body(stx: &SignedTx) -> Value {
        json!({"tx": format!("0x{}", hex::encode(stx.to_bytes()))})
    }

    /// Submits a signed transaction; returns its hash. The node checks it against its state
    /// first, so most failures (the chain's named errors) come back here.
    pub fn submit(&self, stx: &SignedTx) -> SdkResult<String> {
        let submitted: Value = self.post("/v1/txs", &Self::tx_body(stx))?;
        Ok(submitted["hash"].as_str().unwrap_or_default().to_string())
    }

    /// Polls a transaction until it is included (its status, with `height`) or fails (its named
    /// error), at most `limit`; `tick` runs between polls (progress on a terminal).
    pub fn wait_included(
        &self,
        hash: &str,
        limit: Duration,
        mut tick: impl FnMut(Duration),
    ) -> SdkResult<Value> {
        let started = Instant::now();
        loop {
            let status: Value = self.get(&format!("/v1/txs/{hash}"))?;
            match status["status"].as_str() {
                Some("included") => return Ok(status),
                // Evicted: pushed out of a full mempool (nothing was charged).
                Some("failed" | "evicted") => {
                    return Err(SdkError::new(
                        status["code"].as_str().unwrap_or("tx_failed"),
                        status["message"]
                            .as_str()
                            .unwrap_or("the transaction failed")
                            .to_string(),
                        "check balances and nonces, then send again",
                    ))
                }
                _ => {}
            }
            if started.elapsed() > limit {
                return Err(SdkError::new(
                    "inclusion_timeout",
                    format!(
                        "transaction {hash} was not included within {} s",
                        limit.as_secs()
                    ),
                    "query it later with GET /v1/txs/{hash}",
                ));
            }
            tick(started.elapsed());
            std::thread::sleep(TX_POLL);
        }
    }

    /// Signs, submits and waits for inclusion (at most `limit`); returns the inclusion height.
    pub fn send(&self, key: &Keypair, call: Call, limit: Duration) -> SdkResult<u64> {
        let hash = self.submit(&self.sign(key, call)?)?;
        let status = self.wait_included(&hash, limit, |_| {})?;
        status["height"]
            .as_u64()
            .ok_or_else(|| self.bad_response("an included transaction has no height"))
    }

    fn handle<T: DeserializeOwned>(
        &self,
        result: Result<ureq::Response, ureq::Error>,
    ) -> SdkResult<T> {
        match result {
            Ok(resp) => {
                let v: Value = resp.into_json().map_err(|e| self.bad_response(e))?;
                serde_json::from_value(v["data"].clone()).map_err(|e| self.bad_response(e))
            }
            Err(ureq::Error::Status(status, resp)) => {
                let v: Value = resp.into_json().unwrap_or(Value::Null);
                let e = &v["error"];
                match e["code"].as_str() {
                    Some(code) => Err(SdkError {
                        code: code.to_string(),
                        message: e["message"].as_str().unwrap_or_default().to_string(),
                        hint: e["hint"].as_str().unwrap_or_default().to_string(),
                        details: e["details"].clone(),
                    }),
                    None => Err(SdkError::new(
                        "http_error",
                        format!("{} answered HTTP {status}", self.base),
                        "is --network pointing at a tensorchain node?",
                    )),
                }
            }
            Err(e) => Err(SdkError::new(
                "node_unreachable",
                format!("cannot reach {}: {e}", self.base),
                "start a devnet with `tensorchain devnet up` or pass --network URL",
            )),
        }
    }

    fn bad_response(&self, e: impl std::fmt::Display) -> SdkError {
        SdkError::new(
            "bad_response",
            format!("unexpected response from {}: {e}", self.base),
            "is --network pointing at a tensorchain node of the same version?",
        )
    }
}
